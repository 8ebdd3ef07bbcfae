//! Benchmarks that print figures (`optsurf bench`): speed targets are checked here, not in
//! timed unit tests.

use crate::backend::Backend;
use crate::error::Result;
use crate::experiment::Experiment;
use crate::experiment::runner::{self, Batch};
use crate::optim::{self, adam::AdamConfig};
use crate::registry::Registry;
use crate::surface::{NoiseSpec, to_vec};
use burn::tensor::{Tensor, TensorData};
use std::path::Path;
use std::time::Instant;

/// Steps an experiment file (no figures, no files) `repeats` times; prints the best time.
pub fn stepping(path: &Path, backend: Backend, repeats: usize, registry: &Registry) -> Result<f64> {
    let experiment = Experiment::load(path, registry)?;
    best_stepping(&experiment, backend, repeats)
}

/// Steps `experiment` `repeats` times (after a warm-up); prints and returns the best time.
fn best_stepping(experiment: &Experiment, backend: Backend, repeats: usize) -> Result<f64> {
    let device = backend.device()?;
    runner::run(experiment, &device, &mut [])?; // warm-up
    let mut best = f64::INFINITY;
    for _ in 0..repeats {
        let start = Instant::now();
        runner::run(experiment, &device, &mut [])?;
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

/// Every registered optimizer in one comparison over f0 (the post's noise, from (9, 9), 100
/// steps): each with its defaults, the wrappers (Lookahead, SAM) around optax's Adam at 0.3.
/// Prints the best stepping time (target: under 100 ms on ndarray) and returns it.
pub fn all_optimizers(backend: Backend, registry: &Registry) -> Result<f64> {
    let runs: Vec<String> = registry
        .optimizers()
        .iter()
        .map(|o| {
            let wrapped = r#"{"optimizer": "adam_optax", "learning_rate": 0.3}"#;
            let inner = o
                .params
                .iter()
                .find(|p| p.name == "fast" || p.name == "outer")
                .map_or(String::new(), |p| format!(r#", "{}": {wrapped}"#, p.name));
            format!(r#"{{"label": "{0}", "optimizer": "{0}"{inner}}}"#, o.name)
        })
        .collect();
    let text = format!(
        r#"{{"name": "all-optimizers", "surface": "f0", "noise": {{"seed": 0, "lookup": "nearest"}},
            "start": [9, 9], "steps": 100, "runs": [{}]}}"#,
        runs.join(",")
    );
    let experiment = Experiment::parse(&text, Path::new("bench-all-optimizers"), registry)?;
    let seconds = best_stepping(&experiment, backend, 10)?;
    println!(
        "all optimizers: the {} registered optimizers over f0 step 100 times in {:.1} ms (target < 100 ms)",
        runs.len(),
        seconds * 1e3
    );
    Ok(seconds)
}

/// The ten optimizers of the post over Rosenbrock (200 steps from (-2, 2)), once over the
/// built-in `rosenbrock` and once over the same formula written as an expression; prints both
/// and their ratio (an expression is compiled once, so it should step about as fast).
pub fn expressions(backend: Backend, registry: &Registry) -> Result<f64> {
    let runs = r#"[
        {"label": "SGD", "optimizer": "sgd", "learning_rate": 0.0002},
        {"label": "NAG", "optimizer": "sgd", "learning_rate": 0.0002, "momentum": 0.9, "nesterov": true},
        {"label": "RMS", "optimizer": "rmsprop", "learning_rate": 0.01},
        {"label": "AdaGrad", "optimizer": "adagrad", "learning_rate": 0.5},
        {"label": "Adam", "optimizer": "adam", "learning_rate": 0.05},
        {"label": "Adamax", "optimizer": "adamax", "learning_rate": 0.05},
        {"label": "NAdam", "optimizer": "nadam", "learning_rate": 0.05},
        {"label": "Lion", "optimizer": "lion", "learning_rate": 0.01},
        {"label": "Lamb", "optimizer": "lamb", "learning_rate": 0.01},
        {"label": "FTRL", "optimizer": "ftrl", "learning_rate": 0.5}]"#;
    let experiment = |surface: &str| {
        let text =
            format!(r#"{{"name": "bench", "surface": {surface}, "start": [-2, 2], "steps": 200, "runs": {runs}}}"#);
        Experiment::parse(&text, Path::new("bench"), registry)
    };
    let builtin = best_stepping(&experiment(r#""rosenbrock""#)?, backend, 10)?;
    let expr = experiment(r#"{"expr": "(1 - x)^2 + 100 * (y - x^2)^2", "domain": [[-2, 2], [-1, 3]]}"#)?;
    let compiled = best_stepping(&expr, backend, 10)?;
    println!(
        "expressions: {{\"expr\": <Rosenbrock>}} steps in {:.2}x the time of the built-in rosenbrock (target < 1.5x)",
        compiled / builtin
    );
    Ok(compiled / builtin)
}

/// The stepping experiment as given and with every run's learning rate turned into a Keras
/// schedule (`CosineDecay` from the same rate over the run); prints both and their ratio (a
/// schedule is evaluated once per step per row on the host, so it should cost little).
pub fn schedules(path: &Path, backend: Backend, registry: &Registry) -> Result<f64> {
    let text = std::fs::read_to_string(path).map_err(|e| crate::Error::io(path, "read", e))?;
    let mut file: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| crate::Error::input(path, "", e.to_string()))?;
    let steps = file["steps"].clone();
    let plain = Experiment::parse(&file.to_string(), path, registry)?;
    for run in file["runs"].as_array_mut().into_iter().flatten() {
        let lr = run
            .get("learning_rate")
            .and_then(serde_json::Value::as_f64)
            .unwrap_or(0.001);
        run["learning_rate"] = serde_json::json!({"schedule": "CosineDecay", "initial_learning_rate": lr,
                                                   "decay_steps": steps, "alpha": 0.1});
    }
    let scheduled = Experiment::parse(&file.to_string(), path, registry)?;
    let constant = best_stepping(&plain, backend, 10)?;
    let with = best_stepping(&scheduled, backend, 10)?;
    println!(
        "schedules: a CosineDecay on every run steps in {:.2}x the time of constant rates (target < 1.5x)",
        with / constant
    );
    Ok(with / constant)
}

/// A wide experiment: `runs` runs (SGD, Adam and RMSprop from a spread of starts over f4) of
/// `steps` steps, run and written as `optsurf run --no-plots` would, the file streamed; prints
/// the time, the file size and the process's peak memory (run it alone: the peak is the
/// process's).
pub fn wide(runs: usize, steps: usize, backend: Backend, registry: &Registry) -> Result<f64> {
    let side = (runs as f64).sqrt().ceil() as usize;
    let optimizers = [
        r#""optimizer": "sgd", "learning_rate": 10.0"#,
        r#""optimizer": "adam", "learning_rate": 0.3"#,
        r#""optimizer": "rmsprop", "learning_rate": 0.1"#,
    ];
    let list: Vec<String> = (0..runs)
        .map(|k| {
            let (x, y) = (
                -9.5 + 19.0 * (k / side) as f64 / side as f64,
                -9.5 + 19.0 * (k % side) as f64 / side as f64,
            );
            format!(r#"{{"label": "run {k}", {}, "start": [{x}, {y}]}}"#, optimizers[k % 3])
        })
        .collect();
    let text = format!(
        r#"{{"name": "wide", "surface": "f4", "start": [0, 0], "steps": {steps}, "runs": [{}]}}"#,
        list.join(",")
    );
    let experiment = Experiment::parse(&text, Path::new("bench-wide"), registry)?;
    drop(text);
    let device = backend.device()?;
    let dir = std::env::temp_dir().join(format!("optsurf-bench-wide-{}", std::process::id()));
    let start = Instant::now();
    let trajectories = runner::run(&experiment, &device, &mut [])?;
    let path = dir.join("trajectories.json");
    trajectories.write(&path)?;
    let seconds = start.elapsed().as_secs_f64();
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "wide      {runs} runs x {steps} steps over f4 on {backend:?}, run and written: {seconds:.2} s, {:.0} MB file, peak memory {:.0} MB (target < 250 MB)",
        bytes as f64 / 1e6,
        super::peak_rss_mb()
    );
    Ok(seconds)
}

/// Minibatch stepping: 64 runs (SGD, Adam, RMSprop, Lion from a spread of starts) of linear
/// regression over a 10,000-row CSV in batches of 64, 1,000 steps; prints the time (target:
/// under 1 s on ndarray).
pub fn data(backend: Backend, registry: &Registry) -> Result<f64> {
    let dir = std::env::temp_dir().join(format!("optsurf-bench-data-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| crate::Error::io(&dir, "create the folder", e))?;
    let data = crate::surface::data::Dataset::generate(
        crate::surface::data::Model::LinearRegression,
        10_000,
        2.0,
        -1.0,
        0.5,
        0,
    );
    let mut csv = String::from("u,v\n");
    for (u, v) in data.u.iter().zip(&data.v) {
        csv.push_str(&format!("{u},{v}\n"));
    }
    let file = dir.join("data.csv");
    crate::io::write_atomic(&file, csv.as_bytes())?;
    let optimizers = [
        r#""optimizer": "sgd", "learning_rate": 0.1"#,
        r#""optimizer": "adam", "learning_rate": 0.05"#,
        r#""optimizer": "rmsprop", "learning_rate": 0.01"#,
        r#""optimizer": "lion", "learning_rate": 0.01"#,
    ];
    let runs: Vec<String> = (0..64)
        .map(|k| {
            let (x, y) = (-2.5 + 5.0 * (k % 8) as f64 / 7.0, -2.5 + 5.0 * (k / 8) as f64 / 7.0);
            format!(r#"{{"label": "run {k}", {}, "start": [{x}, {y}]}}"#, optimizers[k % 4])
        })
        .collect();
    let text = format!(
        r#"{{"name": "data", "surface": {{"model": "linear_regression", "data": {{"csv": {:?}, "x": "u", "y": "v"}},
            "batch_size": 64}}, "start": [0, 0], "steps": 1000, "runs": [{}]}}"#,
        file.display().to_string(),
        runs.join(",")
    );
    let experiment = Experiment::parse(&text, Path::new("bench-data"), registry)?;
    let _ = std::fs::remove_dir_all(&dir);
    let seconds = best_stepping(&experiment, backend, 3)?;
    println!(
        "data      64 runs x 1000 steps, linear regression over 10,000 CSV rows in batches of 64: {seconds:.2} s (target < 1 s)"
    );
    Ok(seconds)
}

/// `n` points from a fixed spread over the mesh through f4 (nearest noise) with Adam, `steps`
/// steps; prints point-steps per second.
pub fn throughput(n: usize, steps: usize, backend: Backend, registry: &Registry) -> Result<f64> {
    let device = backend.device()?;
    let f4 = registry
        .require_surface("f4")
        .map_err(|m| crate::Error::input("bench", "", m))?
        .clone();
    let noise = f4.noise(NoiseSpec::default(), &device);
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
        learning_rate: 0.1.into(),
        ..AdamConfig::default()
    };
    let optimizer = Box::new(optim::stateful(&vec![config; n], &device));
    let mut batch = Batch::from_points(f4, noise, points, optimizer);
    let evaluation = batch.evaluate(); // warm-up
    batch.advance(evaluation);
    let start = Instant::now();
    for _ in 0..steps {
        let evaluation = batch.evaluate();
        batch.advance(evaluation);
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

/// Full-matrix AdaGrad on the post's "Performance" problem: one vector of `features`
/// dimensions, `steps` gradients `RandomState(32).rand(features) * scales` with log-normal
/// per-feature scales (`RandomState(0).lognormal(size=features)`; the post's are unseeded),
/// `delta = 1e-5`. Times optsurf's optimizer (tensors in and out, best of 20), its host
/// accumulator alone, the direct O(d^3) method (eigendecomposition of the d x d `G` every step,
/// once) and diagonal AdaGrad (`RandomState(53)`, host and tensors); prints them with the
/// largest relative error against the direct method. Returns the optimizer's seconds.
pub fn adagrad_full(features: usize, steps: usize, backend: Backend) -> Result<f64> {
    use crate::experiment::vectors::POST_DELTA;
    use crate::optim::adagrad_full::{Accumulator, AdagradFullConfig};
    use crate::random::RandomState;

    const REPEATS: usize = 20;
    let device = backend.device()?;
    let d = features.max(1);
    let mut scale_draws = RandomState::new(0);
    let scales: Vec<f64> = (0..d).map(|_| scale_draws.lognormal(0.0, 1.0)).collect();
    // Rounded to f32 up front: every method solves the problem the f32 optimizer receives.
    let draw = |seed: u32| -> Vec<Vec<f64>> {
        let mut random = RandomState::new(seed);
        (0..steps)
            .map(|_| scales.iter().map(|s| (random.rand() * s) as f32 as f64).collect())
            .collect()
    };
    let (grads, grads_diagonal) = (draw(32), draw(53));
    let upload = |grads: &[Vec<f64>]| -> Vec<Tensor<2>> {
        grads
            .iter()
            .map(|g| {
                let g: Vec<f32> = g.iter().map(|&v| v as f32).collect();
                Tensor::from_data(TensorData::new(g, [1, d]), &device)
            })
            .collect()
    };
    let (tensors, tensors_diagonal) = (upload(&grads), upload(&grads_diagonal));
    let best_of = |f: &mut dyn FnMut()| {
        let mut best = f64::INFINITY;
        for _ in 0..REPEATS {
            let start = Instant::now();
            f();
            best = best.min(start.elapsed().as_secs_f64());
        }
        best
    };

    // optsurf's optimizer, eta = 1 from w = 0, so w_T = -sum_t v_t.
    let config = AdagradFullConfig {
        learning_rate: 1.0.into(),
        epsilon: POST_DELTA,
        ..AdagradFullConfig::default()
    };
    let mut w_fast = Vec::new();
    let optimizer_time = best_of(&mut || {
        let mut optimizer = optim::stateful(std::slice::from_ref(&config), &device);
        let mut w = Tensor::<2>::zeros([1, d], &device);
        for g in &tensors {
            w = optim::step_with_gradient(&mut optimizer, w, g.clone());
        }
        w_fast = to_vec(w);
    });
    let mut v_fast: Vec<Vec<f64>> = Vec::new();
    let host_time = best_of(&mut || {
        let mut accumulator = Accumulator::new(d, 0.0, POST_DELTA);
        v_fast = grads.iter().map(|g| accumulator.update(g).to_vec()).collect();
    });

    let start = Instant::now();
    let mut direct = Accumulator::direct(d, 0.0, POST_DELTA);
    let v_direct: Vec<Vec<f64>> = grads.iter().map(|g| direct.update(g).to_vec()).collect();
    let direct_time = start.elapsed().as_secs_f64();

    let mut v_diagonal = Vec::new();
    let diagonal_host_time = best_of(&mut || {
        let mut a = vec![0.0f64; d];
        v_diagonal = grads_diagonal
            .iter()
            .map(|g| {
                a.iter_mut()
                    .zip(g)
                    .map(|(a, g)| {
                        *a += g * g;
                        g / (a.sqrt() + POST_DELTA)
                    })
                    .collect::<Vec<f64>>()
            })
            .collect();
    });
    let mut w_diagonal = Vec::new();
    let diagonal_tensor_time = best_of(&mut || {
        let mut a = Tensor::<2>::zeros([1, d], &device);
        let mut w = Tensor::<2>::zeros([1, d], &device);
        for g in &tensors_diagonal {
            a = a + g.clone().square();
            w = w - g.clone() / (a.clone().sqrt().add_scalar(POST_DELTA));
        }
        w_diagonal = to_vec(w);
    });

    let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    let v_error = v_fast
        .iter()
        .zip(&v_direct)
        .map(|(a, b)| {
            let diff: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
            norm(&diff) / norm(b)
        })
        .fold(0.0f64, f64::max);
    let w_direct: Vec<f64> = (0..d).map(|k| -v_direct.iter().map(|v| v[k]).sum::<f64>()).collect();
    let w_error = w_fast
        .iter()
        .zip(&w_direct)
        .fold(0.0f64, |m, (a, b)| m.max((*a as f64 - b).abs()))
        / w_direct.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    std::hint::black_box((&w_diagonal, &v_diagonal));

    println!(
        "adagrad_full d={d} x {steps} steps on {backend:?}: {:.3} ms optimizer (f32 tensors in and out, best of {REPEATS}), {:.3} ms host accumulator (f64)",
        optimizer_time * 1e3,
        host_time * 1e3
    );
    println!(
        "  direct O(d^3) method (eigendecomposition of the {d}x{d} G every step): {:.2} s, {:.0}x the optimizer",
        direct_time,
        direct_time / optimizer_time
    );
    println!(
        "  diagonal AdaGrad: {:.3} ms host (f64, as the post's numpy), {:.3} ms tensors",
        diagonal_host_time * 1e3,
        diagonal_tensor_time * 1e3
    );
    println!(
        "  largest relative error against the direct method: v_t {v_error:.1e} (f64), w after {steps} steps {w_error:.1e} (f32 result)"
    );
    println!(
        "  the post (numpy + scipy sqrtm/inv): 27.4 s full-matrix (72.6 s on this kind of machine), 619 us diagonal"
    );
    Ok(optimizer_time)
}

/// A `side` x `side`-start study of Adam (lr 0.1) over Himmelblau, `steps` steps, run whole as
/// `optsurf run` runs it: metrics, `runs.csv`, `study.json` and the figures written; prints the
/// point-steps per second and the process's peak memory (run it alone: the peak is the
/// process's). Targets: 256 x 256 x 200 at >= 4 million point-steps/s under 500 MB on ndarray;
/// 1000 x 1000 under 1.5 GB.
pub fn study(side: usize, steps: usize, backend: Backend, registry: &Registry) -> Result<f64> {
    let text = format!(
        r#"{{"kind": "study", "name": "bench-study", "surface": "himmelblau", "steps": {steps},
            "starts": {{"grid": [{side}, {side}]}}, "optimizers": [{{"optimizer": "adam", "learning_rate": 0.1}}]}}"#
    );
    let study = crate::experiment::study::Study::parse(&text, Path::new("bench-study"), registry)?;
    let device = backend.device()?;
    let dir = std::env::temp_dir().join(format!("optsurf-bench-study-{}", std::process::id()));
    let mut tuned = |e: &Experiment, _: &Path| runner::run(e, &device, &mut []).map(|_| ());
    let finish = super::study::Finish {
        plots: true,
        device: &device,
        registry,
        run_experiment: &mut tuned,
    };
    let start = Instant::now();
    super::study::run(&study, &dir, None, &indicatif::ProgressBar::hidden(), finish)?;
    let seconds = start.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&dir);
    let rate = (study.rows() * steps) as f64 / seconds;
    println!(
        "study     {side} x {side} starts ({} runs) x {steps} steps of Adam over Himmelblau on {backend:?}, files and figures included: {seconds:.2} s, {:.2} million point-steps/s, peak memory {:.0} MB",
        study.rows(),
        rate / 1e6,
        super::peak_rss_mb()
    );
    Ok(rate)
}
