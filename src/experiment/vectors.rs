//! The post's AdaGrad arrow figures as an experiment: random gradients `g_t` and the update
//! directions `v_t` that full-matrix or diagonal AdaGrad makes of them.
//!
//! ```json
//! {"name": "adagrad-vectors-full", "kind": "adagrad_vectors", "full": true, "seed": 32,
//!  "steps": 8, "scales": [0.5, 2.0], "delta": 1e-5, "xlim": [-1, 1], "ylim": [0, 2]}
//! ```
//! The gradients are the post's own draws, `np.random.RandomState(seed).rand(2) * scales`.

use crate::error::{Error, Result};
use crate::io::write_atomic;
use crate::optim::adagrad_full::{MersenneTwister, adagrad_vectors};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A checked AdaGrad-vectors experiment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vectors {
    /// Name (`[a-z0-9_-]+`).
    pub name: String,
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
        let mut de = serde_json::Deserializer::from_str(text);
        let mut v: Vectors = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let field = e.path().to_string();
            Error::input(
                path,
                if field == "." { String::new() } else { field },
                e.into_inner().to_string(),
            )
        })?;
        let err = |field: &str, message: String| Err(Error::input(path, field, message));
        super::check_name(&v.name).map_err(|m| Error::input(path, "name", m))?;
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
        let mut rng = MersenneTwister::new(self.seed);
        let grads: Vec<[f64; 2]> = (0..self.steps)
            .map(|_| [rng.rand() * self.scales[0], rng.rand() * self.scales[1]])
            .collect();
        let updates = adagrad_vectors(&grads, self.delta, self.full);
        VectorsResult {
            name: self.name.clone(),
            full: self.full,
            grads,
            updates,
        }
    }

    /// Computes, writes `vectors.json` and (unless `plots` is false) `vectors.png` into `dir`.
    pub fn run(&self, dir: &Path, plots: bool) -> Result<VectorsResult> {
        let result = self.compute();
        let json = serde_json::to_string_pretty(&result).expect("vectors serialize") + "\n";
        write_atomic(&dir.join("vectors.json"), json.as_bytes())?;
        if plots {
            crate::plot::draw_vectors(
                &result.grads,
                &result.updates,
                self.xlim,
                self.ylim,
                &dir.join("vectors.png"),
            )?;
        }
        Ok(result)
    }
}

impl VectorsResult {
    /// Reads a `vectors.json`.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "read", e))?;
        serde_json::from_str(&text).map_err(|e| Error::input(path, "", e.to_string()))
    }
}
