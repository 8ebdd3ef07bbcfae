//! What a run produces: trajectories, written as diffable JSON.
//!
//! Keys come out in a fixed order, floats as the shortest text that reads back to the same
//! `f32`, and nothing depends on the clock or the machine, so the same experiment and seed give
//! byte-identical files.

use super::SurfaceSpec;
use super::plot_spec::PlotSpec;
use crate::error::{Error, Result};
use crate::io::write_atomic;
use crate::registry::Registry;
use crate::surface::{Domain, NoiseSpec, Surface};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
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
    /// One entry per run, in the experiment's order.
    pub runs: Vec<RunTrajectory>,
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
    /// Points visited, the start first: `steps + 1` rows unless the run diverged.
    pub points: Vec<[f32; 2]>,
    /// The gradient used at each step (at `points[i]`).
    pub grads: Vec<[f32; 2]>,
    /// The loss (noise included) at each point.
    pub loss: Vec<f32>,
    /// The learning rate of each step, for a run whose rate is a schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learning_rates: Option<Vec<f32>>,
    /// `ok` or `diverged`.
    pub status: Status,
    /// The step whose point (or loss) was not finite; the arrays end just before it.
    pub diverged_at: Option<usize>,
}

impl Trajectories {
    /// Reads a trajectory file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "read the trajectory file", e))?;
        let mut de = serde_json::Deserializer::from_str(&text);
        serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let field = e.path().to_string();
            Error::input(
                path,
                if field == "." { String::new() } else { field },
                e.into_inner().to_string(),
            )
        })
    }

    /// The JSON text: pretty-printed, one point per line.
    pub fn to_json(&self) -> String {
        let mut out = serde_json::to_string_pretty(self).expect("trajectories serialize");
        out = compact_pairs(&out);
        out.push('\n');
        out
    }

    /// Writes the file atomically (temporary file, then rename).
    pub fn write(&self, path: &Path) -> Result<()> {
        write_atomic(path, self.to_json().as_bytes())
    }

    /// The surface these trajectories ran over, rebuilt from `registry` (with the experiment's
    /// domain); `path` is the file they were read from, for error messages.
    pub fn resolve_surface(&self, registry: &Registry, path: &Path) -> Result<Surface> {
        let mut surface = self.surface.resolve(registry).map_err(|(field, message)| {
            let at = if field.is_empty() {
                "surface".to_string()
            } else {
                format!("surface.{field}")
            };
            Error::input(path, at, message)
        })?;
        if let Some(domain) = self.domain {
            surface.domain = domain;
        }
        Ok(surface)
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
            let is_num = |s: &str| s.trim_end_matches(',').parse::<f64>().is_ok() || s.trim_end_matches(',') == "null";
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
