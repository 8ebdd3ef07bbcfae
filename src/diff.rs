//! Baselines: compare trajectories with committed ones and say what moved.
//!
//! Committed `results/**/trajectories.json` files are baselines. [`compare`] reports, for each
//! run, the first step where points or losses depart beyond `atol + rtol |baseline|`, a changed
//! status, and runs added or removed.

use crate::error::{Error, Result};
use crate::experiment::study::run::Outcome;
use crate::experiment::vectors::VectorsResult;
use crate::experiment::{Experiment, Job, runner};
use crate::io::write_atomic;
use crate::registry::Registry;
use crate::results::{self, ResultDir, RunTrajectory, StudySummary, Trajectories, baseline_of, new_file};
use burn::tensor::Device;
use std::fmt;
use std::path::{Path, PathBuf};

/// Tolerances of a comparison: values agree when `|new - old| <= atol + rtol |old|`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Tolerance {
    /// Relative tolerance.
    pub rtol: f64,
    /// Absolute tolerance.
    pub atol: f64,
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance { rtol: 1e-5, atol: 1e-6 }
    }
}

/// One difference between a run and its baseline.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Change {
    /// The run is new.
    Added { label: String },
    /// The baseline has a run this one lacks.
    Removed { label: String },
    /// A hyperparameter changed.
    Hyperparameter {
        label: String,
        name: String,
        old: String,
        new: String,
    },
    /// The status changed (for example a run now diverges).
    Status { label: String, old: String, new: String },
    /// A value departs beyond the tolerance.
    Departs {
        /// The run.
        label: String,
        /// `points`, `loss` or `length`.
        what: &'static str,
        /// First step where it departs.
        step: usize,
        /// Baseline value.
        old: f64,
        /// New value.
        new: f64,
    },
    /// A result file beside the trajectories differs: a study's summary or runs, a model's
    /// landscapes.
    File {
        /// `study.json`, `runs.csv`, `landscape.json`, `directions.npy`, ...
        file: String,
        /// What moved.
        what: String,
    },
    /// Experiment-level field differs (surface, steps, noise).
    Setting {
        name: &'static str,
        old: String,
        new: String,
    },
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Added { label } => write!(f, "run {label:?} is new (not in the baseline)"),
            Change::Removed { label } => write!(f, "run {label:?} is in the baseline but no longer runs"),
            Change::Hyperparameter { label, name, old, new } => {
                write!(f, "run {label:?}: hyperparameter {name} {old} -> {new}")
            }
            Change::Status { label, old, new } => write!(f, "run {label:?}: status {old} -> {new}"),
            Change::Departs {
                label,
                what: "length",
                step,
                ..
            } => {
                write!(f, "run {label:?}: trajectory length differs from step {step} on")
            }
            Change::Departs {
                label,
                what,
                step,
                old,
                new,
            } => write!(
                f,
                "run {label:?}: {what} depart at step {step}: {new} vs baseline {old} (|diff| {:.3e})",
                (new - old).abs()
            ),
            Change::Setting { name, old, new } => write!(f, "{name} {old} -> {new}"),
            Change::File { file, what } => write!(f, "{file}: {what}"),
        }
    }
}

/// Every difference between `new` and `baseline`, runs matched by label.
pub(crate) fn compare(baseline: &Trajectories, new: &Trajectories, tol: Tolerance) -> Vec<Change> {
    let mut changes = Vec::new();
    let setting = |name: &'static str, old: String, new: String, changes: &mut Vec<Change>| {
        if old != new {
            changes.push(Change::Setting { name, old, new });
        }
    };
    setting("surface", json(&baseline.surface), json(&new.surface), &mut changes);
    setting("domain", json(&baseline.domain), json(&new.domain), &mut changes);
    setting("steps", baseline.steps.to_string(), new.steps.to_string(), &mut changes);
    setting(
        "noise",
        format!("{:?}", baseline.noise),
        format!("{:?}", new.noise),
        &mut changes,
    );
    // A model's evaluation and snapshot steps, and its parameters per snapshot.
    let model = ModelSteps {
        eval: new.eval_steps.as_deref().unwrap_or(&[]),
        snapshots: new.params.as_ref().map_or(&[], |p| &p.steps),
        width: new.params.as_ref().map_or(1, |p| p.layout.len()),
    };
    for run in &new.runs {
        match baseline.runs.iter().find(|b| b.label == run.label) {
            None => changes.push(Change::Added {
                label: run.label.clone(),
            }),
            Some(old) => compare_run(old, run, tol, &model, &mut changes),
        }
    }
    for old in &baseline.runs {
        if !new.runs.iter().any(|r| r.label == old.label) {
            changes.push(Change::Removed {
                label: old.label.clone(),
            });
        }
    }
    changes
}

/// Differences between a study's new outcomes and its baselines: `study.json` compared value by
/// value (numbers within the tolerance), `runs.csv` row by row.
fn compare_study(
    study: &crate::experiment::study::Study,
    outcomes: &[Outcome],
    summary: &Path,
    runs: &Path,
    tol: Tolerance,
) -> Result<Vec<Change>> {
    let mut changes = Vec::new();
    let text = crate::io::read_input(summary, crate::io::Input::RESULT)?;
    let old: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| Error::input(summary, "", format!("invalid JSON: {e}")))?;
    let new = serde_json::to_value(StudySummary::new(study, outcomes)).expect("summaries serialize");
    if let Some(what) = json_difference(&old, &new, "", tol) {
        changes.push(Change::File {
            file: "study.json".into(),
            what,
        });
    }
    match study.read_runs(runs, 0) {
        Err(e) => changes.push(Change::File {
            file: "runs.csv".into(),
            what: e.to_string(),
        }),
        Ok(old) if old.len() != outcomes.len() => changes.push(Change::File {
            file: "runs.csv".into(),
            what: format!("{} rows, baseline {}", outcomes.len(), old.len()),
        }),
        Ok(old) => {
            let close =
                |a: f32, b: f32| (a == b) || (a as f64 - b as f64).abs() <= tol.atol + tol.rtol * (b as f64).abs();
            let moved = |o: &Outcome, n: &Outcome| -> Vec<String> {
                let mut what = Vec::new();
                let mut number = |name: &str, a: f32, b: f32| {
                    if !close(b, a) {
                        what.push(format!("{name} {b} vs baseline {a}"));
                    }
                };
                number("final_x", o.final_point[0], n.final_point[0]);
                number("final_y", o.final_point[1], n.final_point[1]);
                number("final_loss", o.final_loss, n.final_loss);
                number("best_loss", o.best_loss, n.best_loss);
                let mut step = |name: &str, a: Option<usize>, b: Option<usize>| {
                    if a != b {
                        let show = |v: Option<usize>| v.map_or("none".to_string(), |v| v.to_string());
                        what.push(format!("{name} {} vs baseline {}", show(b), show(a)));
                    }
                };
                step("steps_to_threshold", o.steps_to_threshold, n.steps_to_threshold);
                step("diverged_at", o.diverged_at, n.diverged_at);
                if o.basin != n.basin {
                    what.push(format!("basin {} vs baseline {}", n.basin, o.basin));
                }
                what
            };
            let rows: Vec<(usize, Vec<String>)> = old
                .iter()
                .zip(outcomes)
                .map(|(o, n)| moved(o, n))
                .enumerate()
                .filter(|(_, what)| !what.is_empty())
                .collect();
            if let Some((r, what)) = rows.first() {
                let (c, s, k) = study.row(*r);
                let config = &study.configs[c];
                let swept: Vec<String> = config.swept.iter().map(|(k, v)| format!(" {k}={v}")).collect();
                let [x, y] = study.starts[s].point().unwrap_or([f64::NAN; 2]);
                changes.push(Change::File {
                    file: "runs.csv".into(),
                    what: format!(
                        "{} of {} runs moved; first, line {} (config {c}: {}{}, start ({x}, {y}), seed {}): {}",
                        rows.len(),
                        outcomes.len(),
                        r + 2,
                        config.label,
                        swept.concat(),
                        study.seeds[k],
                        what.join(", ")
                    ),
                });
            }
        }
    }
    Ok(changes)
}

/// The first place where two JSON values differ (numbers within the tolerance), as `path: new vs
/// baseline old`.
fn json_difference(old: &serde_json::Value, new: &serde_json::Value, path: &str, tol: Tolerance) -> Option<String> {
    use serde_json::Value;
    match (old, new) {
        (Value::Number(a), Value::Number(b)) => {
            let (a, b) = (a.as_f64()?, b.as_f64()?);
            ((b - a).abs() > tol.atol + tol.rtol * a.abs()).then(|| format!("{path}: {b} vs baseline {a}"))
        }
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get(k) {
                    Some(w) => {
                        if let Some(d) = json_difference(w, v, &format!("{path}.{k}"), tol) {
                            return Some(d);
                        }
                    }
                    None => return Some(format!("{path}.{k} is new")),
                }
            }
            a.keys()
                .find(|k| !b.contains_key(*k))
                .map(|k| format!("{path}.{k} is gone"))
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (x, y))| json_difference(x, y, &format!("{path}[{i}]"), tol)),
        _ => (old != new).then(|| format!("{path}: {new} vs baseline {old}")),
    }
}

/// A value as compact JSON, to compare and show settings.
fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Differences between two AdaGrad-vectors results.
pub(crate) fn compare_vectors(old: &VectorsResult, new: &VectorsResult, tol: Tolerance) -> Vec<Change> {
    let mut changes = Vec::new();
    let close = |a: f64, b: f64| (a - b).abs() <= tol.atol + tol.rtol * b.abs();
    for (label, a, b) in [("g_t", &old.grads, &new.grads), ("v_t", &old.updates, &new.updates)] {
        let first = a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(t, (o, n))| (0..2).find(|&i| !close(n[i], o[i])).map(|i| (t, o[i], n[i])));
        if let Some((step, o, n)) = first {
            changes.push(Change::Departs {
                label: label.into(),
                what: "vectors",
                step,
                old: o,
                new: n,
            });
        } else if a.len() != b.len() {
            changes.push(Change::Departs {
                label: label.into(),
                what: "length",
                step: a.len().min(b.len()),
                old: 0.0,
                new: 0.0,
            });
        }
    }
    changes
}

/// Where a model's recorded values are: the steps of its evaluations and of its snapshots,
/// and the parameters of a snapshot.
struct ModelSteps<'a> {
    eval: &'a [usize],
    snapshots: &'a [usize],
    width: usize,
}

fn compare_run(
    old: &RunTrajectory,
    new: &RunTrajectory,
    tol: Tolerance,
    model: &ModelSteps,
    changes: &mut Vec<Change>,
) {
    let label = || new.label.clone();
    for (name, value) in &new.hyperparameters {
        let before = old.hyperparameters.get(name);
        if before != Some(value) {
            changes.push(Change::Hyperparameter {
                label: label(),
                name: name.clone(),
                old: before.map_or("(absent)".into(), |v| v.to_string()),
                new: value.to_string(),
            });
        }
    }
    if old.status != new.status || old.diverged_at != new.diverged_at {
        let describe = |r: &RunTrajectory| match r.diverged_at {
            Some(at) => format!("diverged at step {at}"),
            None => "ok".to_string(),
        };
        changes.push(Change::Status {
            label: label(),
            old: describe(old),
            new: describe(new),
        });
    }
    let close = |a: f64, b: f64| (a - b).abs() <= tol.atol + tol.rtol * b.abs();
    let first_point = old.points.iter().zip(&new.points).enumerate().find_map(|(t, (b, a))| {
        (0..2)
            .find(|&i| !close(a[i] as f64, b[i] as f64))
            .map(|i| (t, b[i] as f64, a[i] as f64))
    });
    let first_loss = old
        .loss
        .iter()
        .zip(&new.loss)
        .enumerate()
        .find(|(_, (b, a))| !close(**a as f64, **b as f64))
        .map(|(t, (b, a))| (t, *b as f64, *a as f64));
    if let Some((step, b, a)) = first_point {
        changes.push(Change::Departs {
            label: label(),
            what: "points",
            step,
            old: b,
            new: a,
        });
    } else if let Some((step, b, a)) = first_loss {
        changes.push(Change::Departs {
            label: label(),
            what: "loss",
            step,
            old: b,
            new: a,
        });
    } else if let Some((what, step, b, a)) = model_departs(old, new, model, &close) {
        changes.push(Change::Departs {
            label: label(),
            what,
            step,
            old: b,
            new: a,
        });
    } else if old.points.len() != new.points.len() || old.loss.len() != new.loss.len() {
        let step = old.points.len().min(new.points.len());
        changes.push(Change::Departs {
            label: label(),
            what: "length",
            step,
            old: 0.0,
            new: 0.0,
        });
    }
}

/// Where a model's run first departs from its baseline, within the tolerance: its held-out
/// loss or accuracies, or its weights, with the step of that evaluation or snapshot. `None`
/// when they agree (or the run is not a model's).
fn model_departs(
    old: &RunTrajectory,
    new: &RunTrajectory,
    model: &ModelSteps,
    close: &dyn Fn(f64, f64) -> bool,
) -> Option<(&'static str, usize, f64, f64)> {
    let series = [
        ("test loss", &old.test_loss, &new.test_loss, model.eval, 1),
        ("accuracy", &old.accuracy, &new.accuracy, model.eval, 1),
        ("test accuracy", &old.test_accuracy, &new.test_accuracy, model.eval, 1),
        ("weights", &old.snapshots, &new.snapshots, model.snapshots, model.width),
    ];
    for (what, b, a, steps, width) in series {
        let step = |i: usize| steps.get(i / width.max(1)).copied().unwrap_or(i / width.max(1));
        let (b, a) = (b.as_deref().unwrap_or(&[]), a.as_deref().unwrap_or(&[]));
        let differs = |(x, y): (&f32, &f32)| !(close(*y as f64, *x as f64) || x.is_nan() && y.is_nan());
        if let Some(i) = b.iter().zip(a).position(differs) {
            return Some((what, step(i), b[i] as f64, a[i] as f64));
        }
        if b.len() != a.len() {
            return Some((what, step(b.len().min(a.len())), 0.0, 0.0));
        }
    }
    None
}

/// The verdict on one experiment (or one pair of trajectory files).
#[derive(Debug)]
pub(crate) enum Verdict {
    /// Agrees with its baseline.
    Ok,
    /// Differs from its baseline: what moved.
    Drift(Vec<Change>),
    /// No baseline where `optsurf run` would write it.
    MissingBaseline,
    /// A baseline whose experiment is gone.
    Orphan,
}

/// One line of a diff report.
#[derive(Debug)]
pub(crate) struct Entry {
    /// What was compared (output folder relative to the baseline root, or file names).
    pub name: String,
    /// The baseline file.
    pub baseline: PathBuf,
    /// The command that rewrites the baseline from the experiment, if there is one.
    pub accept: Option<String>,
    /// The new result's files (`baseline`, and for a study its `runs.csv`) and their text, when it
    /// differs from the baseline or there is none (what [`Report::write_new`] writes beside them).
    pub new: Vec<(PathBuf, Vec<u8>)>,
    /// The verdict.
    pub verdict: Verdict,
}

/// A whole diff: one entry per experiment or baseline.
#[derive(Debug, Default)]
pub(crate) struct Report {
    /// Entries in a stable order.
    pub entries: Vec<Entry>,
    /// The `.new` files written by [`Report::write_new`].
    pub written: Vec<PathBuf>,
}

impl Report {
    /// True when every entry agrees.
    pub(crate) fn clean(&self) -> bool {
        self.entries.iter().all(|e| matches!(e.verdict, Verdict::Ok))
    }

    /// Writes each drifted or missing result beside its baseline as `<baseline>.new`, never
    /// touching the baseline itself, for review and [`accept`].
    pub(crate) fn write_new(&mut self) -> Result<()> {
        for e in &self.entries {
            for (file, text) in &e.new {
                let path = new_file(file);
                write_atomic(&path, text)?;
                self.written.push(path);
            }
        }
        Ok(())
    }
}

/// Moves every `*.json.new` (`*.csv.new`, `*.npy.new`) under `paths` (files or folders) onto the baseline it stands beside;
/// returns the baselines replaced, in order.
pub(crate) fn accept(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut pending = Vec::new();
    for path in paths {
        if path.is_dir() {
            pending.extend(crate::io::walk(path, |p| {
                let name = p.to_string_lossy();
                name.ends_with(".json.new") || name.ends_with(".csv.new") || name.ends_with(".npy.new")
            })?);
        } else if path.is_file() && baseline_of(path).is_some() {
            pending.push(path.clone());
        } else if path.is_file() && new_file(path).is_file() {
            pending.push(new_file(path));
        } else {
            return Err(Error::input(
                path,
                "",
                "no such folder or pending result; expected a folder, a `*.new` file or a baseline with one beside it",
            ));
        }
    }
    let mut accepted = Vec::new();
    for new in pending {
        let baseline = baseline_of(&new).unwrap_or_else(|| new.with_extension(""));
        std::fs::rename(&new, &baseline).map_err(|e| Error::io(&baseline, "replace the baseline", e))?;
        accepted.push(baseline);
    }
    Ok(accepted)
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut counts = [0usize; 4];
        for e in &self.entries {
            match &e.verdict {
                Verdict::Ok => {
                    counts[0] += 1;
                    writeln!(f, "ok       {}", e.name)?;
                }
                Verdict::Drift(changes) => {
                    counts[1] += 1;
                    writeln!(f, "drift    {}", e.name)?;
                    for c in changes {
                        writeln!(f, "           {c}")?;
                    }
                    if let Some(accept) = &e.accept {
                        writeln!(f, "           to accept: {accept} (rewrites {})", e.baseline.display())?;
                    }
                }
                Verdict::MissingBaseline => {
                    counts[2] += 1;
                    let create = e.accept.clone().unwrap_or_else(|| "optsurf run <experiment>".into());
                    writeln!(
                        f,
                        "missing  {}: no baseline at {}; create it with {create}",
                        e.name,
                        e.baseline.display()
                    )?;
                }
                Verdict::Orphan => {
                    counts[3] += 1;
                    writeln!(
                        f,
                        "orphan   {}: baseline without experiment; delete {} if the experiment is gone",
                        e.name,
                        e.baseline.display()
                    )?;
                }
            }
        }
        write!(
            f,
            "{} ok, {} drift, {} missing baseline, {} baseline without experiment",
            counts[0], counts[1], counts[2], counts[3]
        )?;
        if !self.written.is_empty() {
            let files: Vec<String> = self.written.iter().map(|p| p.display().to_string()).collect();
            write!(
                f,
                "\nwrote {} new result(s) beside their baselines; review them, then accept with:\n  optsurf accept {}",
                files.len(),
                files.join(" ")
            )?;
        } else if self.entries.iter().any(|e| !e.new.is_empty()) {
            let dirs: Vec<String> = self
                .entries
                .iter()
                .filter(|e| !e.new.is_empty())
                .map(|e| e.baseline.parent().unwrap_or(&e.baseline).display().to_string())
                .collect();
            write!(
                f,
                "\nto review: rerun with --write-new (each new result goes beside its baseline as *.new), then accept with:\n  optsurf accept {}",
                dirs.join(" ")
            )?;
        }
        Ok(())
    }
}

/// Compares two trajectory files, already read from `old` and `new`.
pub(crate) fn files(old: (&Path, &Trajectories), new: (&Path, &Trajectories), tol: Tolerance) -> Result<Report> {
    let ((old, a), (new, b)) = (old, new);
    let changes = compare(a, b, tol);
    Ok(Report {
        entries: vec![Entry {
            name: format!("{} vs {}", old.display(), new.display()),
            baseline: old.to_path_buf(),
            accept: None,
            new: Vec::new(),
            verdict: if changes.is_empty() {
                Verdict::Ok
            } else {
                Verdict::Drift(changes)
            },
        }],
        written: Vec::new(),
    })
}

/// A re-run's baseline file, its changes (`None` without a baseline) and the new files' text.
type Rerun = (PathBuf, Option<Vec<Change>>, Vec<(PathBuf, Vec<u8>)>);

/// True when a result agrees with its baseline: then its new text is not needed (it is only
/// written with `--write-new` for results that moved), so it is not built.
fn agrees(changes: &Option<Vec<Change>>) -> bool {
    matches!(changes, Some(c) if c.is_empty())
}

/// Re-runs an experiment whose baseline is `dir/trajectories.json`: the baseline, the changes
/// (`None` when there is no baseline) and the new result's text. A model's landscapes are
/// recomputed and compared with the files beside it.
fn rerun(exp: &Experiment, dir: &ResultDir, tol: Tolerance, device: &Device) -> Result<Rerun> {
    let baseline = dir.trajectories();
    let new = Trajectories::new(exp, runner::run(exp, device, &mut []));
    let mut changes = baseline
        .is_file()
        .then(|| Trajectories::load(&baseline).map(|old| compare(&old, &new, tol)))
        .transpose()?;
    let landscapes = crate::landscape::all_files(&crate::landscape::compute_all(exp, &new, device, None)?);
    if let Some(changes) = &mut changes {
        for (name, bytes) in &landscapes {
            if let Some(what) = file_difference(&dir.file(name), bytes, tol)? {
                changes.push(Change::File {
                    file: name.clone(),
                    what,
                });
            }
        }
    }
    let text = if agrees(&changes) {
        Vec::new()
    } else {
        let mut text = new.files(&baseline);
        text.extend(landscapes.into_iter().map(|(name, bytes)| (dir.file(&name), bytes)));
        text
    };
    Ok((baseline, changes, text))
}

/// What moved between the baseline `path` and a new result file's `bytes` (a JSON or a
/// `float32` `.npy`), numbers within the tolerance; `None` when they agree.
fn file_difference(path: &Path, bytes: &[u8], tol: Tolerance) -> Result<Option<String>> {
    if std::fs::symlink_metadata(path).is_err() {
        return Ok(Some(
            "no baseline beside the trajectories; write it with `optsurf run`".into(),
        ));
    }
    if path.extension().is_some_and(|e| e == "npy") {
        let (shape, old) = results::npy::read(path, crate::io::Input::RESULT)?;
        let (_, new) = results::npy::decode(bytes, path)?;
        let p = shape.last().copied().unwrap_or(1).max(1);
        if new.len() != old.len() {
            return Ok(Some(format!(
                "{} values, baseline {} (shape {shape:?})",
                new.len(),
                old.len()
            )));
        }
        let close = |a: f32, b: f32| (a as f64 - b as f64).abs() <= tol.atol + tol.rtol * (b as f64).abs();
        let moved: Vec<usize> = (0..old.len()).filter(|&i| !close(new[i], old[i])).collect();
        return Ok(moved.first().map(|&i| {
            format!(
                "{} of {} values moved; first, direction {} parameter {}: {} vs baseline {}",
                moved.len(),
                old.len(),
                i / p,
                i % p,
                new[i],
                old[i]
            )
        }));
    }
    let text = crate::io::read_input(path, crate::io::Input::RESULT)?;
    let old: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| Error::input(path, "", format!("invalid JSON: {e}")))?;
    let new: serde_json::Value = serde_json::from_slice(bytes).expect("results are JSON");
    Ok(json_difference(&old, &new, "", tol).map(|d| d.trim_start_matches('.').to_string()))
}

/// Re-runs experiments in memory (no figures) and compares each with its baseline under
/// `baseline_root`, found where `optsurf run --out baseline_root` would write it. Baselines
/// under the folders that mirror the given experiment folders, with no experiment, are
/// reported too.
pub(crate) fn experiments(
    paths: &[PathBuf],
    baseline_root: &Path,
    tol: Tolerance,
    registry: &Registry,
    device: &Device,
) -> Result<Report> {
    let loaded = results::load_all(paths, baseline_root, registry, device)?;
    let mut report = Report::default();
    let out = if baseline_root == Path::new("results") {
        String::new()
    } else {
        format!(" --out {}", baseline_root.display())
    };
    for (job, dir) in &loaded {
        let accept = Some(format!("optsurf run {} --no-plots{out}", job.source().display()));
        let mut push =
            |dir: &ResultDir, baseline: PathBuf, changes: Option<Vec<Change>>, new: Vec<(PathBuf, Vec<u8>)>| {
                let dir = dir.path();
                let verdict = match changes {
                    None => Verdict::MissingBaseline,
                    Some(c) if c.is_empty() => Verdict::Ok,
                    Some(c) => Verdict::Drift(c),
                };
                report.entries.push(Entry {
                    name: dir.strip_prefix(baseline_root).unwrap_or(dir).display().to_string(),
                    baseline,
                    accept: accept.clone(),
                    new: if matches!(verdict, Verdict::Ok) {
                        Vec::new()
                    } else {
                        new
                    },
                    verdict,
                });
            };
        match job {
            Job::Runs(exp) => {
                let (baseline, changes, new) = rerun(exp, dir, tol, device)?;
                push(dir, baseline, changes, new);
            }
            Job::Vectors(v) => {
                let baseline = dir.vectors();
                let new = v.compute();
                let changes = baseline
                    .is_file()
                    .then(|| VectorsResult::load(&baseline).map(|old| compare_vectors(&old, &new, tol)))
                    .transpose()?;
                let text = if agrees(&changes) {
                    Vec::new()
                } else {
                    vec![(baseline.clone(), new.to_json().into_bytes())]
                };
                push(dir, baseline, changes, text);
            }
            Job::Study(study) => {
                let mut outcomes = study.run_rows(0..study.rows(), device, &mut |_| {});
                study.find_basins(&mut outcomes, device);
                let (baseline, runs) = (dir.study(), dir.runs());
                let changes = match (baseline.is_file(), runs.is_file()) {
                    (true, true) => Some(compare_study(study, &outcomes, &baseline, &runs, tol)?),
                    _ => None,
                };
                let text = if agrees(&changes) {
                    Vec::new()
                } else {
                    let mut csv = Vec::new();
                    study.write_csv(&mut csv, 0, &outcomes).expect("writing to memory");
                    vec![
                        (
                            baseline.clone(),
                            StudySummary::new(study, &outcomes).to_text().into_bytes(),
                        ),
                        (runs, csv),
                    ]
                };
                push(dir, baseline, changes, text);
                // The tuned comparison is an experiment of its own, with its own baseline.
                if study.tune.is_some() {
                    let tuned = dir.tuned();
                    let path = tuned.experiment();
                    let file = study.tuned_experiment(&outcomes);
                    let text = file.to_text();
                    let exp = Experiment::from_file(file, &path, registry, device)?;
                    let (baseline, changes, mut new) = rerun(&exp, &tuned, tol, device)?;
                    new.push((path, text.into_bytes()));
                    push(&tuned, baseline, changes, new);
                }
            }
        }
    }
    // Baselines without an experiment, under the result folders of the experiment folders given.
    let expected: Vec<PathBuf> = report.entries.iter().map(|e| e.baseline.clone()).collect();
    for path in paths.iter().filter(|p| p.is_dir()) {
        for baseline in results::baselines(&results::mirror(path, baseline_root)) {
            if !expected.contains(&baseline) {
                let dir = baseline.parent().unwrap_or(&baseline);
                let name = dir.strip_prefix(baseline_root).unwrap_or(dir).display().to_string();
                report.entries.push(Entry {
                    name,
                    baseline,
                    accept: None,
                    new: Vec::new(),
                    verdict: Verdict::Orphan,
                });
            }
        }
    }
    Ok(report)
}
