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

    /// Streams the JSON text to `w` a few runs at a time, so that a wide experiment never holds
    /// its whole text in memory. The same bytes as pretty-printing the whole value at once.
    pub(crate) fn write_json(&self, w: &mut impl Write) -> std::io::Result<()> {
        self.write_json_with(w, RUNS_PER_CHUNK, crate::experiment::tiles::cores())
    }

    /// [`Trajectories::write_json`], the runs' text made `chunk` runs at a time on `threads`
    /// threads (chunk `k` on thread `k % threads`) while this one writes the chunks in order.
    fn write_json_with(&self, w: &mut impl Write, chunk: usize, threads: usize) -> std::io::Result<()> {
        let head = serde_json::to_string_pretty(&self.clone_without_runs()).expect("trajectories serialize");
        if self.runs.is_empty() {
            return writeln!(w, "{}", compact_pairs(&head));
        }
        let open = head
            .strip_suffix("[]\n}")
            .expect("the runs come last and serialize as [] when empty");
        write!(w, "{}", compact_pairs(open))?;
        w.write_all(b"[\n")?;
        let chunks: &Vec<&[RunTrajectory]> = &self.runs.chunks(chunk.max(1)).collect();
        let threads = threads.clamp(1, chunks.len());
        let text = |k: usize, mut out: Vec<u8>| {
            out.clear();
            for (i, run) in chunks[k].iter().enumerate() {
                write_run(&mut out, run);
                let last = k + 1 == chunks.len() && i + 1 == chunks[k].len();
                out.extend_from_slice(if last { b"\n" } else { b",\n" });
            }
            out
        };
        std::thread::scope(|scope| {
            // A few chunks made ahead per thread at most, so memory stays bounded; their buffers
            // come back to be filled again (fresh ones cost page faults).
            let made: Vec<_> = (0..threads)
                .map(|t| {
                    let (send, made) = std::sync::mpsc::sync_channel::<Vec<u8>>(2);
                    let (give_back, given_back) = std::sync::mpsc::channel::<Vec<u8>>();
                    let text = &text;
                    scope.spawn(move || {
                        for k in (t..chunks.len()).step_by(threads) {
                            let out = text(k, given_back.try_recv().unwrap_or_default());
                            if send.send(out).is_err() {
                                // The writer stopped (an error): so do the others.
                                break;
                            }
                        }
                    });
                    (made, give_back)
                })
                .collect();
            for k in 0..chunks.len() {
                let (made, give_back) = &made[k % threads];
                // A thread that panicked ends the channel; the scope then passes its panic on.
                let Ok(out) = made.recv() else { break };
                w.write_all(&out)?;
                // The thread may have finished: the buffer is then dropped.
                let _ = give_back.send(out);
            }
            std::io::Result::Ok(())
        })?;
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

/// Runs a thread of [`Trajectories::write_json`] makes the text of at once.
const RUNS_PER_CHUNK: usize = 64;

/// Writes `run` as an element of a trajectory file's `runs` (four spaces in): the bytes that
/// pretty-printing it with serde_json and folding its number pairs ([`compact_pairs`]) give,
/// the long number arrays written straight out rather than printed and folded.
fn write_run(out: &mut Vec<u8>, run: &RunTrajectory) {
    // Every field named (none skipped with `..`), so that a new one cannot be missed here; the
    // order is the derived `Serialize`'s.
    let RunTrajectory {
        label,
        optimizer,
        hyperparameters,
        start,
        points,
        eval_points,
        grads,
        loss,
        batch_loss,
        batch_size,
        seed,
        sigma,
        learning_rates,
        test_loss,
        accuracy,
        test_accuracy,
        snapshots: _,
        status,
        diverged_at,
    } = run;
    out.extend_from_slice(b"    {");
    let mut fields = Fields { out, first: true };
    fields.scalar("label", label);
    fields.scalar("optimizer", optimizer);
    fields.nested("hyperparameters", hyperparameters);
    if let Some(start) = start {
        fields.nested("start", start);
    }
    if !points.is_empty() {
        fields.pairs("points", points);
    }
    if let Some(eval_points) = eval_points {
        fields.pairs("eval_points", eval_points);
    }
    if !grads.is_empty() {
        fields.pairs("grads", grads);
    }
    fields.numbers("loss", loss);
    if let Some(batch_loss) = batch_loss {
        fields.numbers("batch_loss", batch_loss);
    }
    if let Some(batch_size) = batch_size {
        fields.scalar("batch_size", batch_size);
    }
    if let Some(seed) = seed {
        fields.scalar("seed", seed);
    }
    if let Some(sigma) = sigma {
        fields.scalar("sigma", sigma);
    }
    for (key, values) in [
        ("learning_rates", learning_rates),
        ("test_loss", test_loss),
        ("accuracy", accuracy),
        ("test_accuracy", test_accuracy),
    ] {
        if let Some(values) = values {
            fields.numbers(key, values);
        }
    }
    fields.scalar("status", status);
    fields.scalar("diverged_at", diverged_at);
    fields.out.extend_from_slice(b"\n    }");
}

/// The fields of a run's object being written (see [`write_run`]).
struct Fields<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl Fields<'_> {
    /// The indent of a run's fields.
    const INDENT: &'static [u8] = b"      ";

    /// Starts the field `key`: the comma after the one before, a new line, the key.
    fn key(&mut self, key: &str) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'\n');
        self.out.extend_from_slice(Self::INDENT);
        self.scalar_value(key);
        self.out.extend_from_slice(b": ");
    }

    /// A value serde_json prints on one line, pretty or not (a string, number, null).
    fn scalar_value(&mut self, value: &(impl Serialize + ?Sized)) {
        serde_json::to_writer(&mut *self.out, value).expect("writing to memory cannot fail");
    }

    /// A field whose value takes one line.
    fn scalar(&mut self, key: &str, value: &(impl Serialize + ?Sized)) {
        self.key(key);
        self.scalar_value(value);
    }

    /// A field of any value: pretty-printed, its pairs folded, its lines indented as the
    /// field's.
    fn nested(&mut self, key: &str, value: &impl Serialize) {
        self.key(key);
        let text = compact_pairs(&serde_json::to_string_pretty(value).expect("runs serialize"));
        for (k, line) in text.lines().enumerate() {
            if k > 0 {
                self.out.push(b'\n');
                self.out.extend_from_slice(Self::INDENT);
            }
            self.out.extend_from_slice(line.as_bytes());
        }
    }

    /// A field of numbers, one a line, or folded onto one line when there are two.
    fn numbers(&mut self, key: &str, values: &[f32]) {
        self.key(key);
        if let [a, b] = values {
            return self.pair(*a, *b);
        }
        self.array(values, |fields, &v| fields.scalar_value(&v));
    }

    /// A field of number pairs, one pair a line.
    fn pairs(&mut self, key: &str, values: &[[f32; 2]]) {
        self.key(key);
        self.array(values, |fields, &[a, b]| fields.pair(a, b));
    }

    /// `[a, b]`.
    fn pair(&mut self, a: f32, b: f32) {
        self.out.push(b'[');
        self.scalar_value(&a);
        self.out.extend_from_slice(b", ");
        self.scalar_value(&b);
        self.out.push(b']');
    }

    /// A field's array, `[]` when empty, else one element a line.
    fn array<T>(&mut self, values: &[T], mut element: impl FnMut(&mut Self, &T)) {
        if values.is_empty() {
            return self.out.extend_from_slice(b"[]");
        }
        self.out.push(b'[');
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            self.out.push(b'\n');
            self.out.extend_from_slice(Self::INDENT);
            self.out.extend_from_slice(b"  ");
            element(self, v);
        }
        self.out.push(b'\n');
        self.out.extend_from_slice(Self::INDENT);
        self.out.push(b']');
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

    /// A run of `n` points, its numbers drawn in turn from `values`, with every optional field
    /// set when `full`.
    fn run(label: &str, n: usize, values: &[f32], full: bool) -> RunTrajectory {
        let even = n.is_multiple_of(2);
        let mut next = values.iter().copied().cycle();
        let mut take = |k: usize| (0..k).map(|_| next.next().unwrap()).collect::<Vec<f32>>();
        let pairs = |v: Vec<f32>| v.chunks(2).map(|p| [p[0], p[1]]).collect::<Vec<_>>();
        let (points, eval_points) = (pairs(take(2 * n)), pairs(take(2 * n)));
        let grads = pairs(take(2 * n.saturating_sub(1)));
        RunTrajectory {
            label: label.into(),
            optimizer: "s\"gd\u{e9}\n".into(),
            hyperparameters: serde_json::json!({"learning_rate": 0.1, "nesterov": false, "betas": [0.9, 0.999],
                "ks": [1, 2, 3], "pair": [[1, 2], [3, -4]], "one": [5], "n": null, "o": {}, "l": []})
            .as_object()
            .unwrap()
            .clone(),
            start: full.then(|| {
                if even {
                    StartSpec::Point(crate::experiment::file::Point([-0.0, 1e300]))
                } else {
                    StartSpec::Seed {
                        seed: crate::experiment::file::Seed(7),
                    }
                }
            }),
            points,
            eval_points: full.then_some(eval_points),
            grads,
            loss: take(n),
            batch_loss: full.then(|| take(n.saturating_sub(1))),
            batch_size: full.then_some(32),
            seed: full.then_some(u64::MAX),
            sigma: full.then_some(if even { 1e-300 } else { f64::NAN }),
            learning_rates: full.then(|| take(2)),
            test_loss: full.then(|| take(1)),
            accuracy: full.then(|| take(3)),
            test_accuracy: full.then(Vec::new),
            snapshots: None,
            status: if even { Status::Ok } else { Status::Diverged },
            diverged_at: (!even).then_some(n),
        }
    }

    /// Trajectories of `runs`.
    fn trajectories(runs: Vec<RunTrajectory>) -> Trajectories {
        Trajectories {
            name: "n".into(),
            title: Some("t".into()),
            surface: SurfaceSpec::Name("f0".into()),
            domain: None,
            steps: 3,
            noise: NoiseSpec::default(),
            plot: PlotSpec::default(),
            eval_steps: Some(vec![0, 2]),
            params: None,
            runs,
        }
    }

    #[test]
    fn streamed_json_is_the_pretty_printed_value() {
        let plain: Vec<f32> = (0..40).map(|k| k as f32 / 3.0 - 4.0).collect();
        let odd = [
            f32::NAN,
            f32::INFINITY,
            -0.0,
            0.0,
            1.0,
            -2.0,
            f32::NEG_INFINITY,
            1e-45,
            f32::MIN_POSITIVE,
            3.4028235e38,
            -1.2345678e-20,
            1e7,
            1e16,
            123456.79,
            0.1,
        ];
        let cases = [
            vec![],
            vec![run("a", 3, &plain, false)],
            vec![
                run("a", 4, &plain, false),
                run("b", 1, &plain, false),
                run("c", 2, &plain, false),
            ],
            vec![run("", 0, &odd, false), run("e", 0, &odd, true)],
            (0..9).map(|n| run(&format!("r{n}"), n, &odd, n % 3 != 0)).collect(),
        ];
        for (k, runs) in cases.into_iter().enumerate() {
            let t = trajectories(runs);
            let whole = compact_pairs(&serde_json::to_string_pretty(&t).unwrap()) + "\n";
            assert_eq!(t.to_json(), whole, "case {k}");
            for (chunk, threads) in [(1, 1), (1, 2), (2, 3), (4, 2), (100, 2)] {
                let mut out = Vec::new();
                t.write_json_with(&mut out, chunk, threads).unwrap();
                assert_eq!(
                    String::from_utf8(out).unwrap(),
                    whole,
                    "case {k}: chunks of {chunk} on {threads}"
                );
            }
            if k < 3 {
                let back: Trajectories = serde_json::from_str(&t.to_json()).unwrap();
                assert_eq!(back, t);
            }
        }
    }
}
