//! Benchmarks that print figures (`optsurf bench`): speed targets are checked here, not in
//! timed unit tests.

use crate::backend::Backend;
use crate::error::Result;
use crate::experiment::Experiment;
use crate::experiment::runner::{self, Batch};
use crate::optim::{self, adam::AdamConfig};
use crate::surface::{self, Noise, NoiseSpec, to_vec};
use burn::tensor::{Tensor, TensorData};
use std::path::Path;
use std::time::Instant;

/// Peak resident memory of this process so far, in MB (Linux; 0 elsewhere).
pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Steps an experiment file (no figures, no files) `repeats` times; prints the best time.
pub fn stepping(path: &Path, backend: Backend, repeats: usize) -> Result<f64> {
    let experiment = Experiment::load(path)?;
    let device = backend.device()?;
    runner::run(&experiment, &device, &mut [])?; // warm-up
    let mut best = f64::INFINITY;
    for _ in 0..repeats {
        let start = Instant::now();
        runner::run(&experiment, &device, &mut [])?;
        best = best.min(start.elapsed().as_secs_f64());
    }
    let runs = experiment.runs.len();
    println!(
        "stepping  {:<28} {runs} runs x {} steps on {backend:?}: {:.1} ms (best of {repeats}), {:.1} us per step",
        experiment.name,
        experiment.steps,
        best * 1e3,
        best * 1e6 / experiment.steps as f64
    );
    Ok(best)
}

/// `n` points from a fixed spread over the mesh through f4 (nearest noise) with Adam, `steps`
/// steps; prints point-steps per second.
pub fn throughput(n: usize, steps: usize, backend: Backend) -> Result<f64> {
    let device = backend.device()?;
    let f4 = surface::get("f4").expect("f4 is built in");
    let noise = Noise::new(NoiseSpec::default(), &device);
    let side = (n as f64).sqrt().ceil() as usize;
    let starts: Vec<f32> = (0..n)
        .flat_map(|k| {
            let (i, j) = (k / side, k % side);
            [
                -10.0 + 20.0 * i as f32 / side as f32,
                -10.0 + 20.0 * j as f32 / side as f32,
            ]
        })
        .collect();
    let points = Tensor::<2>::from_data(TensorData::new(starts, [n, 2]), &device);
    let config = AdamConfig {
        learning_rate: 0.1,
        ..AdamConfig::default()
    };
    let optimizer = Box::new(optim::stateful(&vec![config; n], &device));
    let mut batch = Batch::from_points(f4, noise, points, optimizer);
    let (_, grad) = batch.evaluate(); // warm-up
    batch.advance(grad);
    let start = Instant::now();
    for _ in 0..steps {
        let (_, grad) = batch.evaluate();
        batch.advance(grad);
    }
    let checksum = to_vec(batch.points().clone().sum())[0];
    let seconds = start.elapsed().as_secs_f64();
    let rate = (n * steps) as f64 / seconds;
    println!(
        "throughput f4+adam {n} points x {steps} steps on {backend:?}: {:.2} s, {:.2} M point-steps/s (checksum {checksum:.3})",
        seconds,
        rate / 1e6
    );
    Ok(rate)
}
