//! What a run produces: trajectories, written as diffable JSON.
//!
//! Keys come out in a fixed order, floats as the shortest text that reads back to the same
//! `f32`, and nothing depends on the clock or the machine, so the same experiment and seed give
//! byte-identical files.

use super::{ResultDir, npy};
use crate::error::{Error, FieldError, Result};
use crate::experiment::file::StartSpec;
use crate::experiment::runner::RunRecord;
use crate::experiment::{Experiment, PlotSpec, SurfaceSpec, resolve_surface};
use crate::io::write_atomic_with;
use crate::params::Layout;
use crate::registry::Registry;
use crate::surface::{Domain, NoiseSpec, Surface};
use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::io::Write;
use std::path::Path;

/// Everything one experiment produced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trajectories {
    /// Experiment name.
    pub name: String,
    /// Experiment title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The surface as the experiment names it: a name, or an expression object as given.
    pub surface: SurfaceSpec,
    /// The experiment's `domain`, when it overrides the surface's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<Domain>,
    /// Steps asked for.
    pub steps: usize,
    /// Noise draw and lookup.
    pub noise: NoiseSpec,
    /// Figure settings, so figures can be redrawn from this file alone.
    #[serde(default)]
    pub plot: PlotSpec,
    /// A model's evaluation steps: where each run's `loss` (the full training loss),
    /// `test_loss` and accuracies were taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_steps: Option<Vec<usize>>,
    /// A model's parameter snapshots: the sidecar file holding them, their steps and the
    /// layout of each vector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Params>,
    /// One entry per run, in the experiment's order.
    pub runs: Vec<RunTrajectory>,
}

/// Where a model's parameter snapshots are: a NumPy `.npy` file beside `trajectories.json`,
/// `float32 [runs, snapshots, P]` (NaN from the step a run diverged).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The file's name (`params.npy`).
    pub file: String,
    /// The step of each snapshot (the start is step 0).
    pub steps: Vec<usize>,
    /// The variables of a parameter vector, in order: Keras's `trainable_variables`, each
    /// kernel `[in, out]` row-major, then its bias.
    pub layout: Layout,
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Every step stayed finite.
    Ok,
    /// A point or its loss became NaN or infinite.
    Diverged,
}

/// One run's trajectory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunTrajectory {
    /// Label.
    pub label: String,
    /// Optimizer name.
    pub optimizer: String,
    /// Every hyperparameter used, defaults filled in.
    pub hyperparameters: Map<String, Value>,
    /// A model's start: `{"seed": k}` or `{"file": ...}` as the experiment gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) start: Option<StartSpec>,
    /// Points visited (where the gradients are taken), the start first: `steps + 1` rows unless
    /// the run diverged (none for a model of `P > 2` parameters: see [`Params`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub points: Vec<[f32; 2]>,
    /// Where the optimizer would evaluate the model at each point, for optimizers that keep it
    /// apart (Lookahead's slow weights, schedule-free's averaged iterate); as long as `points`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_points: Option<Vec<[f32; 2]>>,
    /// The gradient used at each step (at `points[i]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grads: Vec<[f32; 2]>,
    /// The loss (noise included) at each point; a model's full training loss at each of
    /// [`Trajectories::eval_steps`].
    pub loss: Vec<f32>,
    /// The loss of the minibatch each step's gradient came from, on a data surface (one per
    /// step; `loss` is the full-data loss).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_loss: Option<Vec<f32>>,
    /// The run's minibatch size on a data surface (none: the full batch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<usize>,
    /// The run's seed (its minibatch order and gradient noise), when either is drawn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// The standard deviation of the run's additive gradient noise, when the experiment has any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sigma: Option<f64>,
    /// The learning rate of each step, for a run whose rate is a schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learning_rates: Option<Vec<f32>>,
    /// A model's mean loss over the held-out rows at each evaluation step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_loss: Option<Vec<f32>>,
    /// A classifier's share of training rows predicted right at each evaluation step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy: Option<Vec<f32>>,
    /// A classifier's share of held-out rows predicted right at each evaluation step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_accuracy: Option<Vec<f32>>,
    /// A model's parameters at each snapshot step, `[snapshots, P]` row after row (kept in the
    /// `.npy` sidecar, not in the JSON).
    #[serde(skip)]
    pub snapshots: Option<Vec<f32>>,
    /// `ok` or `diverged`.
    pub status: Status,
    /// The step whose point (or loss) was not finite; the arrays end just before it.
    pub diverged_at: Option<usize>,
}

impl RunTrajectory {
    /// How many points of the run can be drawn: both its point and its loss known, or, for a
    /// model (no points), its losses.
    pub(crate) fn drawable(&self) -> usize {
        if self.points.is_empty() {
            // A model's run: its losses alone.
            return self.loss.len();
        }
        self.points.len().min(self.loss.len())
    }
}

impl Experiment {
    /// Runs the experiment on `device` and returns its trajectories (no files written; see
    /// [`Job::run_into`](crate::experiment::Job::run_into) for that).
    pub fn run(&self, device: &Device) -> Trajectories {
        Trajectories::new(self, crate::experiment::runner::run(self, device, &mut []))
    }
}

impl Trajectories {
    /// What `experiment`'s runs came to, as the file records them: each run's label, optimizer
    /// and every hyperparameter with its record; the seed, noise and batch size of runs that
    /// depend on them.
    pub(crate) fn new(experiment: &Experiment, records: Vec<RunRecord>) -> Self {
        // Minibatches or gradient noise make the runs depend on their seeds: record them.
        let stochastic = experiment.is_stochastic();
        let model = experiment.surface.model();
        let runs = experiment
            .runs
            .iter()
            .zip(records)
            .map(|(spec, record)| {
                let evaluations = record.model.unwrap_or_default();
                RunTrajectory {
                    label: spec.label.clone(),
                    optimizer: spec.optimizer.name().to_string(),
                    hyperparameters: spec.optimizer.hyperparameters(),
                    status: if record.diverged_at.is_some() {
                        Status::Diverged
                    } else {
                        Status::Ok
                    },
                    start: model.map(|_| spec.start.spec()),
                    seed: stochastic.then_some(spec.seed),
                    batch_size: experiment
                        .surface
                        .data
                        .as_ref()
                        .and_then(|d| spec.batch_size.or(d.batching.batch_size).filter(|&b| b < d.data.rows())),
                    sigma: stochastic.then_some(spec.sigma),
                    points: record.points,
                    eval_points: record.eval_points,
                    grads: record.grads,
                    loss: record.loss,
                    batch_loss: record.batch_loss,
                    learning_rates: record.learning_rates,
                    test_loss: evaluations.test_loss,
                    accuracy: evaluations.accuracy,
                    test_accuracy: evaluations.test_accuracy,
                    snapshots: model.map(|_| evaluations.snapshots),
                    diverged_at: record.diverged_at,
                }
            })
            .collect();
        Trajectories {
            name: experiment.name.clone(),
            title: experiment.title.clone(),
            surface: experiment.surface_spec.clone(),
            domain: experiment.domain,
            steps: experiment.steps,
            noise: experiment.noise,
            plot: experiment.plot.clone(),
            eval_steps: model.map(|m| m.eval_steps(experiment.steps)),
            params: model.map(|m| Params {
                file: ResultDir::PARAMS.to_string(),
                steps: m.snapshot_steps(experiment.steps),
                layout: m.layout().clone(),
            }),
            runs,
        }
    }

    /// The snapshots of every run as one `[runs, snapshots, P]` array (row-major), when this is
    /// a model's.
    pub(crate) fn snapshot_array(&self) -> Option<([usize; 3], Vec<f32>)> {
        let params = self.params.as_ref()?;
        let shape = [self.runs.len(), params.steps.len(), params.layout.len()];
        let mut values = Vec::with_capacity(shape.iter().product());
        for run in &self.runs {
            let own = run.snapshots.as_deref().unwrap_or(&[]);
            values.extend_from_slice(&own[..own.len().min(shape[1] * shape[2])]);
            values.resize(
                values.len() + shape[1] * shape[2] - own.len().min(shape[1] * shape[2]),
                f32::NAN,
            );
        }
        Some((shape, values))
    }

    /// The files `write(path)` writes and their bytes: the trajectory file, and the snapshots'
    /// sidecar when there are snapshots.
    pub(crate) fn files(&self, path: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
        let mut files = vec![(path.to_path_buf(), self.to_json().into_bytes())];
        if let (Some(sidecar), Some((shape, values))) = (self.sidecar(path), self.snapshot_array()) {
            let mut bytes = Vec::new();
            npy::write(&mut bytes, &shape, &values).expect("writing to memory");
            files.push((sidecar, bytes));
        }
        files
    }

    /// The sidecar of the trajectory file `path`: the snapshots' file beside it (with the same
    /// suffix, for a `trajectories.json.new`).
    fn sidecar(&self, path: &Path) -> Option<std::path::PathBuf> {
        let params = self.params.as_ref()?;
        let name = path.file_name()?.to_string_lossy();
        let suffix = name.strip_prefix(ResultDir::TRAJECTORIES).unwrap_or("");
        Some(path.with_file_name(format!("{}{suffix}", params.file)))
    }

    /// Reads a trajectory file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = crate::io::read_input(path, crate::io::Input::RESULT)?;
        let mut de = serde_json::Deserializer::from_str(&text);
        let mut t: Trajectories =
            serde_path_to_error::deserialize(&mut de).map_err(|e| FieldError::from_serde(e).in_file(path))?;
        if let (Some(sidecar), Some(params)) = (t.sidecar(path), &t.params) {
            let expected = [t.runs.len(), params.steps.len(), params.layout.len()];
            let (shape, values) = npy::read(&sidecar, crate::io::Input::RESULT)?;
            if shape != expected {
                return Err(Error::input(
                    &sidecar,
                    "",
                    format!(
                        "shape {shape:?}; {} says [runs, snapshots, P] = {expected:?}",
                        path.display()
                    ),
                ));
            }
            let per = expected[1] * expected[2];
            for (k, run) in t.runs.iter_mut().enumerate() {
                run.snapshots = Some(values[k * per..(k + 1) * per].to_vec());
            }
        }
        Ok(t)
    }

    /// The JSON text: pretty-printed, one point per line.
    pub fn to_json(&self) -> String {
        let mut out = Vec::new();
        self.write_json(&mut out).expect("writing to memory cannot fail");
        String::from_utf8(out).expect("JSON is UTF-8")
    }

    /// Streams the JSON text to `w` one run at a time, so that a wide experiment never holds its
    /// whole text in memory. The same bytes as pretty-printing the whole value at once.
    pub(crate) fn write_json(&self, w: &mut impl Write) -> std::io::Result<()> {
        let head = serde_json::to_string_pretty(&self.clone_without_runs()).expect("trajectories serialize");
        if self.runs.is_empty() {
            return writeln!(w, "{}", compact_pairs(&head));
        }
        let open = head
            .strip_suffix("[]\n}")
            .expect("the runs come last and serialize as [] when empty");
        write!(w, "{}", compact_pairs(open))?;
        w.write_all(b"[\n")?;
        for (i, run) in self.runs.iter().enumerate() {
            let text = compact_pairs(&serde_json::to_string_pretty(run).expect("runs serialize"));
            for (k, line) in text.lines().enumerate() {
                if k > 0 {
                    w.write_all(b"\n")?;
                }
                write!(w, "    {line}")?;
            }
            w.write_all(if i + 1 < self.runs.len() { b",\n" } else { b"\n" })?;
        }
        w.write_all(b"  ]\n}\n")
    }

    /// A copy of everything but the runs (which may be large).
    fn clone_without_runs(&self) -> Trajectories {
        Trajectories {
            name: self.name.clone(),
            title: self.title.clone(),
            surface: self.surface.clone(),
            domain: self.domain,
            steps: self.steps,
            noise: self.noise,
            plot: self.plot.clone(),
            eval_steps: self.eval_steps.clone(),
            params: self.params.clone(),
            runs: Vec::new(),
        }
    }

    /// Writes the file atomically (temporary file, then rename), streaming the text; a model's
    /// snapshots go first to their `.npy` sidecar.
    pub(crate) fn write(&self, path: &Path) -> Result<()> {
        if let (Some(sidecar), Some((shape, values))) = (self.sidecar(path), self.snapshot_array()) {
            write_atomic_with(&sidecar, |w| npy::write(w, &shape, &values))?;
        }
        write_atomic_with(path, |w| self.write_json(w))
    }

    /// The surface these trajectories ran over, rebuilt from `registry` (with the experiment's
    /// domain); `path` is the file they were read from, for error messages and data files.
    pub fn resolve_surface(&self, registry: &Registry, path: &Path, device: &Device) -> Result<Surface> {
        resolve_surface(&self.surface, self.domain, path, registry, device)
    }
}

/// Folds serde_json's pretty arrays of two numbers onto one line: `[\n  1.0,\n  2.0\n]` becomes
/// `[1.0, 2.0]`, which keeps files short and diffs one line per point.
fn compact_pairs(pretty: &str) -> String {
    let lines: Vec<&str> = pretty.lines().collect();
    let mut out = String::with_capacity(pretty.len());
    let mut i = 0;
    while i < lines.len() {
        let open = lines[i];
        if open.trim_end().ends_with('[') && i + 3 < lines.len() {
            let (a, b, close) = (lines[i + 1].trim(), lines[i + 2].trim(), lines[i + 3].trim());
            // A line of pretty JSON that starts with a digit or a minus sign is a number (strings,
            // objects, arrays and literals start otherwise), so no number needs parsing here.
            let is_num = |s: &str| {
                let s = s.trim_end_matches(',');
                s == "null" || s.starts_with(|c: char| c.is_ascii_digit() || c == '-')
            };
            if a.ends_with(',') && is_num(a) && is_num(b) && !b.ends_with(',') && close.starts_with(']') {
                out.push_str(open.trim_end());
                out.push_str(a);
                out.push(' ');
                out.push_str(b);
                out.push_str(close);
                out.push('\n');
                i += 4;
                continue;
            }
        }
        out.push_str(open);
        out.push('\n');
        i += 1;
    }
    out.pop();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streamed_json_is_the_pretty_printed_value() {
        let run = |label: &str, n: usize| RunTrajectory {
            label: label.into(),
            optimizer: "sgd".into(),
            hyperparameters: serde_json::json!({"learning_rate": 0.1, "nesterov": false})
                .as_object()
                .unwrap()
                .clone(),
            points: (0..n).map(|k| [k as f32 * 0.5, -1.25]).collect(),
            eval_points: None,
            batch_loss: None,
            batch_size: None,
            seed: None,
            sigma: None,
            test_loss: None,
            accuracy: None,
            test_accuracy: None,
            snapshots: None,
            start: None,
            grads: (1..n).map(|k| [k as f32, 2.0]).collect(),
            loss: (0..n).map(|k| k as f32 / 3.0).collect(),
            learning_rates: (n > 2).then(|| vec![0.1; n - 1]),
            status: Status::Ok,
            diverged_at: None,
        };
        for runs in [vec![], vec![run("a", 3)], vec![run("a", 4), run("b", 1), run("c", 2)]] {
            let t = Trajectories {
                name: "n".into(),
                title: Some("t".into()),
                surface: SurfaceSpec::Name("f0".into()),
                domain: None,
                steps: 3,
                noise: NoiseSpec::default(),
                plot: PlotSpec::default(),
                eval_steps: None,
                params: None,
                runs,
            };
            let whole = compact_pairs(&serde_json::to_string_pretty(&t).unwrap()) + "\n";
            assert_eq!(t.to_json(), whole);
            let back: Trajectories = serde_json::from_str(&t.to_json()).unwrap();
            assert_eq!(back, t);
        }
    }
}
