//! The post's AdaGrad arrow figures as an experiment: random gradients `g_t` and the update
//! directions `v_t` that full-matrix or diagonal AdaGrad makes of them.
//!
//! ```json
//! {"name": "adagrad-vectors-full", "kind": "adagrad_vectors", "full": true, "seed": 32,
//!  "steps": 8, "scales": [0.5, 2.0], "delta": 1e-5, "xlim": [-1, 1], "ylim": [0, 2]}
//! ```
//! The gradients are the post's own draws, `np.random.RandomState(seed).rand(2) * scales`.

use crate::error::{Error, Result};
use crate::optim::adagrad_full::adagrad_vectors;
use crate::random::RandomState;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// `delta` in the post's arrow figures (its `1e-5`).
pub(crate) const POST_DELTA: f64 = 1e-5;
/// Seed of the post's full-matrix arrow figure (`np.random.RandomState(32)`).
#[cfg(test)]
pub(crate) const POST_FULL_SEED: u32 = 32;
/// Seed of the post's diagonal arrow figure (`np.random.RandomState(53)`).
#[cfg(test)]
pub(crate) const POST_DIAGONAL_SEED: u32 = 53;
/// Number of gradients in the post's arrow figures.
#[cfg(test)]
pub(crate) const POST_STEPS: usize = 8;

/// The post's gradient scales.
#[cfg(test)]
pub(crate) const POST_SCALES: [f64; 2] = [0.5, 2.0];

/// `n` gradients `RandomState(seed).rand(2) * scales`, as the post draws them:
/// `adagrad_vectors(&gradients(POST_FULL_SEED, POST_STEPS, POST_SCALES), POST_DELTA, true)` is
/// its full-matrix figure, `POST_DIAGONAL_SEED` with `full = false` its diagonal one.
pub(crate) fn gradients(seed: u32, n: usize, scales: [f64; 2]) -> Vec<[f64; 2]> {
    let mut random = RandomState::new(seed);
    (0..n)
        .map(|_| [random.rand() * scales[0], random.rand() * scales[1]])
        .collect()
}

/// A checked AdaGrad-vectors experiment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vectors {
    /// Name (`[a-z0-9_-]+`).
    pub(crate) name: super::file::Name,
    /// Optional title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Always `"adagrad_vectors"`.
    pub kind: String,
    /// Full-matrix (`true`) or diagonal (`false`) AdaGrad.
    pub full: bool,
    /// Seed of numpy's `RandomState` the gradients are drawn from.
    pub seed: u32,
    /// Number of gradients.
    pub steps: usize,
    /// Gradient scales: `g_t = rand(2) * scales`.
    pub scales: [f64; 2],
    /// `delta` added to the square roots.
    pub delta: f64,
    /// x limits of the figure.
    pub xlim: [f64; 2],
    /// y limits of the figure.
    pub ylim: [f64; 2],
    /// The file it was read from.
    #[serde(skip)]
    pub source: PathBuf,
}

/// What a vectors experiment produces (`vectors.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VectorsResult {
    /// Experiment name.
    pub name: String,
    /// Full-matrix or diagonal.
    pub full: bool,
    /// The gradients `g_t`.
    pub grads: Vec<[f64; 2]>,
    /// The update directions `v_t`.
    pub updates: Vec<[f64; 2]>,
}

impl Vectors {
    /// Parses and checks a vectors experiment; `path` is used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let mut v: Vectors = super::file::read(text, path)?;
        let err = |field: &str, message: String| Err(Error::input(path, field, message));
        if !(1..=1000).contains(&v.steps) {
            return err("steps", format!("expected 1 to 1000 gradients, got {}", v.steps));
        }
        if !(v.delta.is_finite() && v.delta >= 0.0) {
            return err("delta", format!("expected a number >= 0, got {}", v.delta));
        }
        for (field, [lo, hi]) in [("xlim", v.xlim), ("ylim", v.ylim)] {
            if !(lo.is_finite() && hi.is_finite() && lo < hi) {
                return err(field, format!("expected [low, high] with low < high, got [{lo}, {hi}]"));
            }
        }
        if !v.scales.iter().all(|s| s.is_finite()) {
            return err("scales", "expected two finite numbers".into());
        }
        v.source = path.to_path_buf();
        Ok(v)
    }

    /// Draws the gradients and computes the update directions.
    pub fn compute(&self) -> VectorsResult {
        let grads = gradients(self.seed, self.steps, self.scales);
        let updates = adagrad_vectors(&grads, self.delta, self.full);
        VectorsResult {
            name: self.name.as_str().to_string(),
            full: self.full,
            grads,
            updates,
        }
    }
}

impl VectorsResult {
    /// The JSON text of `vectors.json`.
    pub(crate) fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("vectors serialize") + "\n"
    }

    /// Reads a `vectors.json`.
    pub(crate) fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "read", e))?;
        serde_json::from_str(&text).map_err(|e| Error::input(path, "", e.to_string()))
    }
}
