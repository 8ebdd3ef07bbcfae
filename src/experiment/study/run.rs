//! Running a study: its rows as tensor batches through the runner, in chunks of bounded size,
//! keeping only streaming metrics per run (no trajectories), so memory grows with the runs,
//! not with runs x steps.

use super::Study;
use crate::capture;
use crate::experiment::Start;
use crate::experiment::fused::{Engine, Program, Stepping};
use crate::experiment::runner::{self, Batch, Row};
use crate::experiment::tiles::Tiling;
use crate::surface::data::Split;
use crate::tensor::to_vec;
use burn::tensor::Device;
use std::ops::Range;

/// What one run came to.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Outcome {
    /// Where it ended (left at the start, and not written, when it diverged).
    pub final_point: [f32; 2],
    /// The loss there (infinite when it diverged).
    pub final_loss: f32,
    /// The lowest loss it saw.
    pub best_loss: f32,
    /// The first step at which the loss was within the threshold of the global minimum.
    pub steps_to_threshold: Option<usize>,
    /// The first step whose point or loss was not finite.
    pub diverged_at: Option<usize>,
    /// The known minimum it ended in (index), -1 for none near, -2 when it diverged.
    pub basin: i64,
    /// A model's final loss over the held-out rows, accuracy and held-out accuracy (each when
    /// the model and its data have it; none when the run diverged).
    pub model: [Option<f32>; 3],
}

impl Study {
    /// The loss a run must reach: the global minimum plus the threshold, or the threshold when
    /// no minimum is known.
    pub fn target(&self) -> f64 {
        self.surface.global_minimum().unwrap_or(0.0) + self.threshold
    }

    /// The basin of a final point: the nearest known minimum within 5% of the domain's width,
    /// -1 when none is that near.
    pub(crate) fn basin(&self, p: [f32; 2]) -> i64 {
        let reach = 0.05 * self.surface.domain.width();
        self.surface
            .minima()
            .enumerate()
            .map(|(i, m)| (i, (p[0] as f64 - m.point[0]).hypot(p[1] as f64 - m.point[1])))
            .filter(|(_, d)| *d <= reach)
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map_or(-1, |(i, _)| i as i64)
    }

    /// Runs rows `range` (see [`Study::row`]) on `device`, `progress` told the row-steps done
    /// so far; returns each row's outcome, in row order. The rows go in tiles, one per core at a
    /// time on a CPU backend (see [`Tiling`]); the outcomes do not depend on the cut.
    pub fn run_rows(&self, range: Range<usize>, device: &Device, progress: &mut dyn FnMut(u64)) -> Vec<Outcome> {
        self.run_tiled(range, device, Tiling::for_device(device), Stepping::Fused, progress)
    }

    /// [`Study::run_rows`] cut as `tiling` says.
    pub(crate) fn run_tiled(
        &self,
        range: Range<usize>,
        device: &Device,
        tiling: Tiling,
        stepping: Stepping,
        progress: &mut dyn FnMut(u64),
    ) -> Vec<Outcome> {
        tiling
            .run(
                range,
                |tile, progress| self.run_chunk(tile, device, stepping, progress),
                progress,
            )
            .concat()
    }

    fn run_chunk(
        &self,
        range: Range<usize>,
        device: &Device,
        stepping: Stepping,
        progress: &mut dyn FnMut(u64),
    ) -> Vec<Outcome> {
        let seeded: Vec<Start> = match self.init_from_seed {
            true => self.seeds.iter().map(|&s| Start::Seed(s)).collect(),
            false => Vec::new(),
        };
        let rows: Vec<Row> = range
            .clone()
            .map(|r| {
                let (c, s, k) = self.row(r);
                let config = &self.configs[c];
                Row {
                    optimizer: &config.optimizer,
                    start: if self.init_from_seed {
                        &seeded[k]
                    } else {
                        &self.starts[s]
                    },
                    seed: self.seeds[k],
                    sigma: self.sigma,
                    batch_size: config.batch_size,
                }
            })
            .collect();
        if stepping.may_replay(&self.surface, device) {
            return self.run_fused(&rows, device, stepping, progress);
        }
        self.run_eager(&rows, device, progress)
    }

    /// `rows` stepped eagerly: every tensor operation over all of them, in turn.
    fn run_eager(&self, rows: &[Row], device: &Device, progress: &mut dyn FnMut(u64)) -> Vec<Outcome> {
        let mut batch = Batch::from_rows(&self.surface, self.noise, rows, device);
        let mut tracker = Tracker::new(self, rows, batch.order().to_vec());
        let n = rows.len();
        // A model steps on its minibatch's loss (tracked as the loss) and ends on the full data's.
        let model = self.surface.model().is_some();
        // Each step reads back only the losses; the points once, at the end.
        for k in 0..self.steps {
            let evaluation = if model {
                batch.evaluate_minibatch()
            } else {
                batch.evaluate()
            };
            tracker.observe(k, 0, &to_vec(evaluation.loss.clone()));
            batch.advance(evaluation);
            progress(((k + 1) * n) as u64);
        }
        if model {
            return self.end_model(&batch, tracker);
        }
        tracker.observe(self.steps, 0, &to_vec(batch.loss()));
        tracker.end(&to_vec(batch.points().clone()))
    }

    /// `rows` on the fused path (see [`crate::experiment::fused`]): each optimizer group's rows
    /// (rows of different groups never meet) recorded once on the capture device and replayed
    /// block by block; the groups that cannot be recorded step eagerly, together.
    fn run_fused(
        &self,
        rows: &[Row],
        device: &Device,
        stepping: Stepping,
        progress: &mut dyn FnMut(u64),
    ) -> Vec<Outcome> {
        let mut outcomes: Vec<Option<Outcome>> = vec![None; rows.len()];
        let mut eager = Vec::new();
        let mut done = 0;
        for members in runner::groups(rows) {
            let group: Vec<Row> = members.iter().map(|&i| rows[i]).collect();
            let replayed = match stepping.replays(group.len(), self.steps) {
                true => self.replay(&group, stepping.engine(group.len(), device)),
                false => None,
            };
            match replayed {
                Some(out) => {
                    done += (self.steps * group.len()) as u64;
                    progress(done);
                    for (i, o) in members.into_iter().zip(out) {
                        outcomes[i] = Some(o);
                    }
                }
                None => eager.extend(members),
            }
        }
        if !eager.is_empty() {
            let group: Vec<Row> = eager.iter().map(|&i| rows[i]).collect();
            let out = self.run_eager(&group, device, &mut |d| progress(done + d));
            for (i, o) in eager.into_iter().zip(out) {
                outcomes[i] = Some(o);
            }
        }
        outcomes.into_iter().map(|o| o.expect("every row ran")).collect()
    }

    /// The outcomes of `rows` (one optimizer group) recorded and replayed; `None` when they
    /// cannot be recorded.
    fn replay(&self, rows: &[Row], engine: Engine) -> Option<Vec<Outcome>> {
        let steps = self.steps;
        let (program, order) = Program::record(rows.len(), |capture| {
            let mut batch = Batch::from_rows(&self.surface, self.noise, rows, capture);
            let mut ids = Vec::with_capacity(steps + 2);
            for _ in 0..steps {
                let evaluation = batch.evaluate();
                ids.push(capture::id(&evaluation.loss));
                batch.advance(evaluation);
            }
            ids.push(capture::id(&batch.loss()));
            ids.push(capture::id(batch.points()));
            (ids, batch.order().to_vec())
        })?;
        // Each step's losses are observed block by block as the replay makes them.
        let mut tracker = Tracker::new(self, rows, order);
        let mut points = vec![0.0; 2 * rows.len()];
        let complete = program.run(engine, |output, first, values| match output {
            k if k <= steps => tracker.observe(k, first, values),
            _ => points[2 * first..2 * first + values.len()].copy_from_slice(values),
        });
        if !complete {
            return None;
        }
        #[cfg(test)]
        tests::FUSED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Some(tracker.end(&points))
    }

    /// A model's outcomes at the end: the full training loss (final and, if lower, best), the
    /// held-out loss and the accuracies; no point, no basin.
    fn end_model(&self, batch: &Batch, mut tracker: Tracker) -> Vec<Outcome> {
        let read = |t: Option<burn::tensor::Tensor<1>>| t.map(to_vec);
        let (train, accuracy) = batch
            .model_metrics(Split::Train)
            .expect("training rows are always there");
        let (test_loss, test_accuracy) = batch
            .model_metrics(Split::Test)
            .map_or((None, None), |(l, a)| (Some(l), a));
        let train = to_vec(train);
        let others = [read(test_loss), read(accuracy), read(test_accuracy)];
        let target = self.target() as f32;
        tracker.settle();
        for (row, m) in tracker.metrics.iter_mut().enumerate() {
            let l = train[row];
            if m.diverged_at.is_none() && !l.is_finite() {
                m.diverged_at = Some(self.steps);
            }
            if m.diverged_at.is_some() {
                m.final_loss = f32::INFINITY;
                m.basin = -2;
                continue;
            }
            m.final_loss = l;
            m.best_loss = m.best_loss.min(l);
            if m.steps_to_threshold.is_none() && l <= target {
                m.steps_to_threshold = Some(self.steps);
            }
            m.model = others.each_ref().map(|v| v.as_ref().map(|v| v[row]));
        }
        tracker.in_run_order()
    }
}

/// Each run's outcome, told the losses of every step in batch order.
struct Tracker<'a> {
    study: &'a Study,
    /// Run index of each batch row.
    order: Vec<usize>,
    /// Each batch row's outcome so far, in batch order; the fields a step updates are kept
    /// apart (below), one array each, and put in at the end.
    metrics: Vec<Outcome>,
    best: Vec<f32>,
    last: Vec<f32>,
    /// The step each row diverged at, and first reached the threshold at ([`NOT_YET`]: not yet).
    diverged: Vec<u32>,
    reached: Vec<u32>,
    target: f32,
}

/// [`Tracker::observe`] over its rows' arrays, compiled again for AVX2 and AVX-512 (their
/// blends let the loop's selects vectorise; the baseline x86-64 target has none).
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl+avx2+fma", "x86_64+avx2+fma"))]
fn observe_rows(
    k: u32,
    target: f32,
    loss: &[f32],
    best: &mut [f32],
    last: &mut [f32],
    diverged: &mut [u32],
    reached: &mut [u32],
) {
    let rows = best
        .iter_mut()
        .zip(last.iter_mut())
        .zip(diverged.iter_mut())
        .zip(reached.iter_mut());
    for ((((best, last), diverged), reached), &l) in rows.zip(loss) {
        let alive = *diverged == NOT_YET;
        let finite = l.is_finite();
        let told = alive && finite;
        *diverged = if alive && !finite { k } else { *diverged };
        *best = if told { best.min(l) } else { *best };
        *last = if told { l } else { *last };
        *reached = if told && *reached == NOT_YET && l <= target {
            k
        } else {
            *reached
        };
    }
}

/// A step not reached (steps are at most [`crate::experiment::file::MAX_STEPS`]).
const NOT_YET: u32 = u32::MAX;

impl<'a> Tracker<'a> {
    fn new(study: &'a Study, rows: &[Row], order: Vec<usize>) -> Self {
        let metrics = order
            .iter()
            .map(|&i| Outcome {
                final_point: rows[i].start.point().map_or([f32::NAN; 2], |p| p.map(|v| v as f32)),
                final_loss: f32::INFINITY,
                best_loss: f32::INFINITY,
                steps_to_threshold: None,
                diverged_at: None,
                basin: -1,
                model: [None; 3],
            })
            .collect();
        let n = order.len();
        Tracker {
            study,
            order,
            metrics,
            best: vec![f32::INFINITY; n],
            last: vec![f32::INFINITY; n],
            diverged: vec![NOT_YET; n],
            reached: vec![NOT_YET; n],
            target: study.target() as f32,
        }
    }

    /// The losses of step `k` of the batch rows from `first` on (batch order): a row's first
    /// non-finite loss is where it diverged, and it is told no more; else the loss is its last,
    /// its best if lower, and the step it reached the threshold if first.
    fn observe(&mut self, k: usize, first: usize, loss: &[f32]) {
        let k = k as u32;
        let n = loss.len();
        let best = &mut self.best[first..first + n];
        let last = &mut self.last[first..first + n];
        let diverged = &mut self.diverged[first..first + n];
        let reached = &mut self.reached[first..first + n];
        observe_rows(k, self.target, loss, best, last, diverged, reached);
    }

    /// The outcomes, given the final points (`[N, 2]`, batch order).
    fn end(mut self, points: &[f32]) -> Vec<Outcome> {
        self.settle();
        for (m, p) in self.metrics.iter_mut().zip(points.chunks_exact(2)) {
            let p = [p[0], p[1]];
            if m.diverged_at.is_none() && !(p[0].is_finite() && p[1].is_finite()) {
                m.diverged_at = Some(self.study.steps);
            }
            if m.diverged_at.is_some() {
                m.final_loss = f32::INFINITY;
                m.basin = -2;
            } else {
                m.final_point = p;
                m.basin = self.study.basin(p);
            }
        }
        self.in_run_order()
    }

    /// Puts what the steps told into each row's outcome.
    fn settle(&mut self) {
        let step = |s: u32| (s != NOT_YET).then_some(s as usize);
        for (row, m) in self.metrics.iter_mut().enumerate() {
            m.best_loss = self.best[row];
            m.final_loss = self.last[row];
            m.diverged_at = step(self.diverged[row]);
            m.steps_to_threshold = step(self.reached[row]);
        }
    }

    /// The outcomes in the rows' order.
    fn in_run_order(self) -> Vec<Outcome> {
        let mut outcomes: Vec<Option<Outcome>> = self.metrics.iter().map(|_| None).collect();
        for (i, m) in self.order.into_iter().zip(self.metrics) {
            outcomes[i] = Some(m);
        }
        outcomes
            .into_iter()
            .map(|o| o.expect("one batch row per run"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Registry;
    use crate::backend::Backend;
    use std::path::Path;

    /// Tiles that ran fused, for the tests that need to know.
    pub(super) static FUSED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    /// The vectorised observation keeps each row's best, last, divergence and threshold steps
    /// as a row-by-row reading does, bit for bit, over losses with ±0, NaN, ±inf and ties.
    #[test]
    fn observing_rows_together_is_observing_them_one_by_one() {
        let values = [
            0.0,
            -0.0,
            1.0,
            0.5,
            f32::NAN,
            f32::INFINITY,
            -f32::INFINITY,
            1e-40,
            0.01,
            -3.0,
            0.01,
        ];
        let (n, steps, target) = (203, 9, 0.01);
        let mut arrays = (
            vec![f32::INFINITY; n],
            vec![f32::INFINITY; n],
            vec![NOT_YET; n],
            vec![NOT_YET; n],
        );
        let mut expected = arrays.clone();
        for k in 0..steps {
            let loss: Vec<f32> = (0..n)
                .map(|i| values[(i * 7 + k * (i % 5 + 1)) % values.len()])
                .collect();
            let (best, last, diverged, reached) = &mut arrays;
            observe_rows(k as u32, target, &loss, best, last, diverged, reached);
            let (best, last, diverged, reached) = &mut expected;
            for (i, &l) in loss.iter().enumerate() {
                if diverged[i] != NOT_YET {
                    continue;
                }
                if !l.is_finite() {
                    diverged[i] = k as u32;
                    continue;
                }
                best[i] = best[i].min(l);
                last[i] = l;
                if reached[i] == NOT_YET && l <= target {
                    reached[i] = k as u32;
                }
            }
        }
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&arrays.0), bits(&expected.0), "best");
        assert_eq!(bits(&arrays.1), bits(&expected.1), "last");
        assert_eq!((&arrays.2, &arrays.3), (&expected.2, &expected.3), "diverged, reached");
        assert!(expected.2.iter().any(|&d| d != NOT_YET) && expected.3.iter().any(|&r| r != NOT_YET));
        assert!(expected.0.iter().any(|&b| b.to_bits() == (-0.0f32).to_bits()));
    }

    /// Expression surfaces of every operation the program knows.
    const EXPRESSIONS: [&str; 3] = [
        r#"{"expr": "sin(x) * cos(y) + 0.1 * x^2 + exp(-y^2 / 4)"}"#,
        r#"{"expr": "sqrt(x^2 + y^2 + 1) + log(1 + x^2) - tanh(y) / 3 + abs(x - y)"}"#,
        r#"{"expr": "x^3 / 30 + y^4 / 40 - x * y / (2 + x^2) + 1 / (3 + y^2)"}"#,
    ];

    /// One small study per pair of a surface and an optimizer, as (label, study file): every
    /// built-in surface but the models and three expression surfaces, with every optimizer (two
    /// learning rates each, so that the rows' hyperparameters differ; wrappers around Adam), from
    /// a grid that reaches into the corners.
    fn every_pair() -> Vec<(String, String)> {
        let registry = Registry::builtin();
        let surfaces = registry
            .surfaces()
            .iter()
            .filter(|s| s.model().is_none())
            .map(|s| format!("\"{}\"", s.name))
            .chain(EXPRESSIONS.iter().map(|e| e.to_string()));
        let mut pairs = Vec::new();
        for surface in surfaces {
            for entry in registry.optimizers() {
                let json = format!(
                    r#"{{"kind": "study", "name": "f", "surface": {surface}, "steps": 12,
                        "starts": {{"grid": [9, 8]}}, "seeds": [0],
                        "optimizers": [{{"optimizer": "{}"{}}}],
                        "threshold": 0.01}}"#,
                    entry.name,
                    // Wrappers (Lookahead's `fast`, SAM's `outer`) around Adam.
                    match entry
                        .params
                        .iter()
                        .map(|p| p.name)
                        .find(|n| ["learning_rate", "fast", "outer"].contains(n))
                    {
                        Some("learning_rate") => r#", "learning_rate": [0.003, 0.3]"#.to_string(),
                        Some(wrapped) => format!(r#", "{wrapped}": {{"optimizer": "adam", "learning_rate": 0.1}}"#),
                        None => String::new(),
                    }
                );
                pairs.push((format!("{surface} {}", entry.name), json));
            }
        }
        pairs
    }

    /// Every pair ([`every_pair`]): where the rows run fused, the outcomes are the eager ones
    /// bit for bit. The pairs the program covers must run fused; the others fall back (printed).
    #[test]
    fn fused_stepping_gives_the_eager_outcomes_bit_for_bit() {
        let device = Backend::default().device().unwrap();
        let (mut fused, mut compiled, mut eager) = (Vec::new(), Vec::new(), Vec::new());
        let ran_compiled = crate::experiment::fused::compiled_runs;
        for (label, json) in every_pair() {
            let s = study(&json, &device);
            let one = Tiling {
                rows: s.rows(),
                threads: 1,
            };
            let before = FUSED.load(std::sync::atomic::Ordering::Relaxed);
            let compiled_before = ran_compiled();
            let out = |stepping| s.run_tiled(0..s.rows(), &device, one, stepping, &mut |_| {});
            let (e, f) = (out(Stepping::Eager), out(Stepping::Everywhere));
            assert_eq!(format!("{f:?}"), format!("{e:?}"), "{label}");
            match (
                FUSED.load(std::sync::atomic::Ordering::Relaxed) > before,
                ran_compiled() > compiled_before,
            ) {
                (true, true) => compiled.push(label),
                (true, false) => fused.push(label),
                (false, _) => eager.push(label),
            }
        }
        println!(
            "compiled: {}\ninterpreted: {}\neager: {}",
            compiled.join(", "),
            fused.join(", "),
            eager.join(", ")
        );
        // The compiled kernel covers every pair replayed: the noise lookup (f0) included.
        for covered in [
            r#""himmelblau" adam"#,
            r#""rosenbrock" lion"#,
            r#""beale" rprop"#,
            r#""f0" adam"#,
        ] {
            assert!(compiled.iter().any(|c| c == covered), "{covered} compiled");
        }
        assert!(
            compiled.iter().any(|c| c.contains("tanh(y)")),
            "an expression surface compiled"
        );
        assert!(compiled.len() > fused.len(), "most replayed pairs compiled");
        // Several optimizer groups in one tile, with gradient noise: each group its own program,
        // the groups the program does not cover (full-matrix AdaGrad) stepped eagerly beside them.
        let s = study(
            r#"{"kind": "study", "name": "g", "surface": "himmelblau", "steps": 30,
                "starts": {"grid": [10, 9]}, "seeds": [0, 1], "gradient_noise": {"sigma": 0.5},
                "optimizers": [{"optimizer": "sgd", "learning_rate": [0.001, 0.01], "momentum": [0, 0.9]},
                               {"optimizer": "adagrad_full", "learning_rate": 0.1},
                               {"optimizer": "adam", "learning_rate": 0.1, "amsgrad": true},
                               {"optimizer": "rmsprop", "learning_rate": 0.01, "centered": true}],
                "threshold": 0.01}"#,
            &device,
        );
        let before = FUSED.load(std::sync::atomic::Ordering::Relaxed);
        let whole = Tiling {
            rows: s.rows(),
            threads: 1,
        };
        let e = s.run_tiled(0..s.rows(), &device, whole, Stepping::Eager, &mut |_| {});
        let f = s.run_tiled(
            0..s.rows(),
            &device,
            Tiling { rows: 400, threads: 2 },
            Stepping::Everywhere,
            &mut |_| {},
        );
        assert_eq!(format!("{f:?}"), format!("{e:?}"));
        assert!(
            FUSED.load(std::sync::atomic::Ordering::Relaxed) >= before + 3,
            "the groups ran fused"
        );
        // What the program does not cover: full-matrix AdaGrad reads its rows back mid-step.
        let uncovered = ["adagrad_full"];
        let covered: Vec<&str> = Registry::builtin()
            .optimizers()
            .iter()
            .map(|e| e.name)
            .filter(|n| !uncovered.contains(n))
            .collect();
        let surfaces = [
            "\"himmelblau\"",
            "\"rosenbrock\"",
            "\"beale\"",
            "\"easom\"",
            "\"branin\"",
            "\"f0\"",
            "\"f4\"",
        ];
        for label in surfaces
            .iter()
            .chain(&EXPRESSIONS)
            .flat_map(|s| covered.iter().map(move |o| format!("{s} {o}")))
        {
            assert!(
                fused.contains(&label) || compiled.contains(&label),
                "{label} should run fused"
            );
        }
    }

    /// Tiles of several replay blocks, the last one partial, over a noisy surface with a
    /// learning-rate sweep (two groups' worth of different columns): the eager outcomes.
    #[test]
    fn replay_blocks_join_up() {
        let device = Backend::default().device().unwrap();
        let s = study(
            r#"{"kind": "study", "name": "b", "surface": "f4", "steps": 6,
                "starts": {"grid": [100, 91]}, "seeds": [0],
                "optimizers": [{"optimizer": "adam", "learning_rate": [0.05, 0.5]},
                               {"optimizer": "lamb", "learning_rate": 0.1}], "threshold": 0.01}"#,
            &device,
        );
        let before = FUSED.load(std::sync::atomic::Ordering::Relaxed);
        let tiles = Tiling {
            rows: 1 << 15,
            threads: 2,
        };
        let out = |stepping| s.run_tiled(0..s.rows(), &device, tiles, stepping, &mut |_| {});
        assert_eq!(
            format!("{:?}", out(Stepping::Fused)),
            format!("{:?}", out(Stepping::Eager))
        );
        assert!(
            FUSED.load(std::sync::atomic::Ordering::Relaxed) > before,
            "the tiles ran fused"
        );
    }

    /// The noise fields are tables of 200 x 200 = 40,000 values: a tile of exactly 40,000 rows
    /// must not read them as per-row columns (those rows step eagerly, with the same outcomes).
    /// The starts sit in the mesh's first cells, so that a table misread as a column would be
    /// indexed inside the block it was cut to, unnoticed.
    #[test]
    fn a_tile_as_long_as_the_noise_table_gives_the_eager_outcomes() {
        let device = Backend::default().device().unwrap();
        let starts: Vec<String> = (0..40_000)
            .map(|k| {
                format!(
                    "[{}, {}]",
                    -9.99 + 0.001 * (k % 7) as f64,
                    -9.99 + 0.0001 * (k % 401) as f64
                )
            })
            .collect();
        let s = study(
            &format!(
                r#"{{"kind": "study", "name": "t", "surface": "f0", "steps": 3,
                    "starts": [{}], "seeds": [0],
                    "optimizers": [{{"optimizer": "sgd", "learning_rate": 0.001}}], "threshold": 0.01}}"#,
                starts.join(", ")
            ),
            &device,
        );
        let one = Tiling {
            rows: 40_000,
            threads: 1,
        };
        let out = |stepping| s.run_tiled(0..s.rows(), &device, one, stepping, &mut |_| {});
        assert_eq!(
            format!("{:?}", out(Stepping::Fused)),
            format!("{:?}", out(Stepping::Eager))
        );
    }

    /// Every row starting from one point (a learning-rate sweep from one start): the first
    /// losses are the same in every row, so the program folds them to one value; the outcomes
    /// are still the eager ones, row by row.
    #[test]
    fn rows_from_one_start_give_the_eager_outcomes() {
        let device = Backend::default().device().unwrap();
        let rates: Vec<String> = (1..=80).map(|k| format!("{}", 0.001 * f64::from(k))).collect();
        let s = study(
            &format!(
                r#"{{"kind": "study", "name": "u", "surface": "himmelblau", "steps": 5,
                    "starts": [[1.5, -0.5]], "seeds": [0],
                    "optimizers": [{{"optimizer": "adam", "learning_rate": [{}]}}], "threshold": 0.01}}"#,
                rates.join(", ")
            ),
            &device,
        );
        let before = FUSED.load(std::sync::atomic::Ordering::Relaxed);
        let one = Tiling {
            rows: s.rows(),
            threads: 1,
        };
        let out = |stepping| s.run_tiled(0..s.rows(), &device, one, stepping, &mut |_| {});
        assert_eq!(
            format!("{:?}", out(Stepping::Everywhere)),
            format!("{:?}", out(Stepping::Eager))
        );
        assert!(
            FUSED.load(std::sync::atomic::Ordering::Relaxed) > before,
            "the rows ran fused"
        );
    }

    fn study(json: &str, device: &Device) -> Study {
        Study::parse(json, Path::new("study.json"), &Registry::builtin(), device).unwrap()
    }

    /// Outcomes as text, so that NaN fields compare too and floats compare bit for bit.
    fn run(s: &Study, device: &Device, rows: usize, threads: usize) -> Vec<String> {
        let mut last = 0;
        let out = s.run_tiled(
            0..s.rows(),
            device,
            Tiling { rows, threads },
            Stepping::Eager,
            &mut |done| {
                assert!(done >= last, "progress goes forward ({last} then {done})");
                last = done;
            },
        );
        assert_eq!(last, (s.rows() * s.steps) as u64, "progress ends at every row-step");
        out.iter().map(|o| format!("{o:?}")).collect()
    }

    /// However a study's rows are cut into tiles and threads, every run's outcome is the same
    /// to the bit: noisy gradients and minibatches are seeded per run, not per tile.
    #[test]
    fn tiles_and_threads_do_not_change_any_outcome() {
        let device = Backend::default().device().unwrap();
        let points = study(
            r#"{"kind": "study", "name": "p", "surface": "himmelblau", "steps": 30,
                "starts": {"grid": [9, 7]}, "seeds": [0, 3], "gradient_noise": {"sigma": 0.1},
                "optimizers": [{"optimizer": "sgd", "learning_rate": [0.001, 0.3], "momentum": 0.8},
                               {"optimizer": "adam", "learning_rate": 0.1}],
                "threshold": 0.01}"#,
            &device,
        );
        let model = study(
            r#"{"kind": "study", "name": "m",
                "surface": {"model": "mlp", "layers": [5], "activation": "tanh", "loss": "cross_entropy",
                            "data": {"generate": "blobs", "n": 90, "seed": 2},
                            "test_fraction": 0.2, "batch_size": 16},
                "steps": 12, "seeds": [0, 1, 2, 3, 4],
                "optimizers": [{"optimizer": "adam", "learning_rate": [0.01, 0.1]},
                               {"optimizer": "lamb", "learning_rate": 0.01}],
                "threshold": 0.3}"#,
            &device,
        );
        for s in [&points, &model] {
            let whole = run(s, &device, s.rows(), 1);
            assert!(whole.len() > 10);
            for (rows, threads) in [(1, 1), (7, 3), (8, 2), (s.rows() - 1, 2)] {
                assert_eq!(
                    run(s, &device, rows, threads),
                    whole,
                    "tiles of {rows} on {threads} threads"
                );
            }
        }
    }

    /// On a GPU a study's optimizer groups run as shaders (`fused/gpu.rs`), in the GPU's
    /// arithmetic: over every surface of the post and two classic ones, three optimizers, the
    /// outcomes are flex's eager ones but where the GPU's rounding tells (the noise lookup's
    /// floors and Lion's signs can tip a run onto another path).
    #[cfg(feature = "wgpu")]
    #[test]
    fn a_study_on_the_gpu_runs_its_groups_as_shaders() {
        let (gpu, flex) = (Backend::Wgpu.device().unwrap(), Backend::Flex.device().unwrap());
        let before = crate::experiment::fused::gpu_runs();
        for surface in ["f0", "f1", "f2", "f3", "f4", "f5", "himmelblau", "rosenbrock"] {
            let json = format!(
                r#"{{"kind": "study", "name": "g", "surface": "{surface}", "steps": 25,
                    "starts": {{"grid": [48, 48]}}, "seeds": [0],
                    "optimizers": [{{"optimizer": "adam", "learning_rate": 0.05}},
                                   {{"optimizer": "sgd", "learning_rate": 0.001, "momentum": 0.9}},
                                   {{"optimizer": "lion", "learning_rate": 0.01}}],
                    "threshold": 0.01}}"#
            );
            let on = |device: &Device, stepping| {
                study(&json, device).run_tiled(
                    0..3 * 48 * 48,
                    device,
                    Tiling::for_device(device),
                    stepping,
                    &mut |_| {},
                )
            };
            let (g, c) = (on(&gpu, Stepping::Fused), on(&flex, Stepping::Eager));
            let close = |a: f32, b: f32| a == b || (a - b).abs() <= 1e-4 * b.abs().max(1.0);
            let agree = g
                .iter()
                .zip(&c)
                .filter(|(g, c)| {
                    g.diverged_at == c.diverged_at
                        && close(g.best_loss, c.best_loss)
                        && close(g.final_point[0], c.final_point[0])
                        && close(g.final_point[1], c.final_point[1])
                })
                .count();
            eprintln!("{surface}: {agree} of {} agree", g.len());
            assert!(
                agree * 100 >= 98 * g.len(),
                "{surface}: {agree} of {} runs agree",
                g.len()
            );
        }
        let runs = crate::experiment::fused::gpu_runs() - before;
        assert_eq!(runs, 8 * 3, "every group ran as a shader");
    }

    /// Every pair the CPU replays ([`every_pair`]) runs on the GPU too: each pair's outcomes are
    /// flex's eager ones within the GPU's rounding for nearly every run.
    #[cfg(feature = "wgpu")]
    #[test]
    fn every_pair_runs_on_the_gpu_near_flex() {
        let (gpu, flex) = (Backend::Wgpu.device().unwrap(), Backend::Flex.device().unwrap());
        let mut worst = Vec::new();
        for (label, json) in every_pair() {
            let on = |device: &Device, stepping| {
                let s = study(&json, device);
                let one = Tiling {
                    rows: s.rows(),
                    threads: 1,
                };
                s.run_tiled(0..s.rows(), device, one, stepping, &mut |_| {})
            };
            let before = crate::experiment::fused::gpu_runs();
            let (g, c) = (on(&gpu, Stepping::Everywhere), on(&flex, Stepping::Eager));
            if crate::experiment::fused::gpu_runs() == before {
                continue;
            }
            let close = |a: f32, b: f32| a == b || (a - b).abs() <= 1e-3 * b.abs().max(1.0);
            let agree = g
                .iter()
                .zip(&c)
                .filter(|(g, c)| g.diverged_at == c.diverged_at && close(g.best_loss, c.best_loss))
                .count();
            worst.push((agree as f64 / g.len() as f64, label));
        }
        // Pairs the program does not cover (full-matrix AdaGrad, the classics computed in f64)
        // stepped eagerly on the GPU and were skipped; the rest ran as shaders.
        for covered in [
            r#""himmelblau" adam"#,
            r#""rosenbrock" lion"#,
            r#""beale" rprop"#,
            r#""f0" adam"#,
            r#""f4" lamb"#,
        ] {
            assert!(worst.iter().any(|(_, l)| l == covered), "{covered} ran on the GPU");
        }
        assert!(
            worst.iter().any(|(_, l)| l.contains("tanh(y)")),
            "an expression surface ran on the GPU"
        );
        worst.sort_by(|a, b| a.0.total_cmp(&b.0));
        eprintln!(
            "{} pairs on the GPU; the least agreeing: {:?}",
            worst.len(),
            &worst[..3]
        );
        for (share, label) in &worst {
            assert!(*share >= 0.95, "{label}: {share:.3} of its runs agree");
        }
    }
}
