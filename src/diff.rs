//! Baselines: compare trajectories with committed ones and say what moved.
//!
//! Committed `results/**/trajectories.json` files are baselines. [`compare`] reports, for each
//! run, the first step where points or losses depart beyond `atol + rtol |baseline|`, a changed
//! status, and runs added or removed.

use crate::experiment::trajectory::{RunTrajectory, Trajectories};
use std::fmt;

/// Tolerances of a comparison: values agree when `|new - old| <= atol + rtol |old|`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerance {
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
pub enum Change {
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
        }
    }
}

/// Every difference between `new` and `baseline`, runs matched by label.
pub fn compare(baseline: &Trajectories, new: &Trajectories, tol: Tolerance) -> Vec<Change> {
    let mut changes = Vec::new();
    let setting = |name: &'static str, old: String, new: String, changes: &mut Vec<Change>| {
        if old != new {
            changes.push(Change::Setting { name, old, new });
        }
    };
    setting("surface", baseline.surface.clone(), new.surface.clone(), &mut changes);
    setting("steps", baseline.steps.to_string(), new.steps.to_string(), &mut changes);
    setting(
        "noise",
        format!("{:?}", baseline.noise),
        format!("{:?}", new.noise),
        &mut changes,
    );
    for run in &new.runs {
        match baseline.runs.iter().find(|b| b.label == run.label) {
            None => changes.push(Change::Added {
                label: run.label.clone(),
            }),
            Some(old) => compare_run(old, run, tol, &mut changes),
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

fn compare_run(old: &RunTrajectory, new: &RunTrajectory, tol: Tolerance, changes: &mut Vec<Change>) {
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
