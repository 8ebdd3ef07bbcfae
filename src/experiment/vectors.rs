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

pub(crate) use crate::optim::adagrad_full::POST_DELTA;
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
        let text = crate::io::read_input(path, crate::io::Input::RESULT)?;
        serde_json::from_str(&text).map_err(|e| Error::input(path, "", e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(v: &[f64]) -> f64 {
        v.iter().map(|x| x * x).sum::<f64>().sqrt()
    }

    fn relative(a: &[f64], b: &[f64]) -> f64 {
        let diff: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
        norm(&diff) / norm(b).max(1e-300)
    }

    /// The post's code (scipy `sqrtm` + `inv`, delta = 1e-5) run with numpy 2.4.6 / scipy 1.17.1:
    /// `(g_t, v_t)` for `RandomState(32)`, full matrix.
    const POST_FULL: [([f64; 2], [f64; 2]); 8] = [
        (
            [0.42944463364651986, 0.7454223099505599],
            [0.49918743451957476, 0.866480615650998],
        ),
        (
            [0.27756438899929836, 1.9113130979835353],
            [-0.19598571549519006, 0.9805973285756806],
        ),
        (
            [0.3683347990056119, 1.6324102782249617],
            [0.19275691705615736, 0.5971949345536467],
        ),
        (
            [0.050543280154312364, 1.856976140815874],
            [-0.4738932953913434, 0.6460052528997556],
        ),
        (
            [0.30455458449565465, 1.1931068722465499],
            [0.3063452943845492, 0.30747005583820103],
        ),
        (
            [0.04589206739810103, 0.6903724866107153],
            [-0.1185507047827664, 0.2161934873398418],
        ),
        (
            [0.3313762615927938, 0.8834269769224716],
            [0.4148264968188548, 0.18476283361971402],
        ),
        (
            [0.2757438931969803, 1.4074249828541672],
            [0.11791609138118582, 0.3496000628307952],
        ),
    ];

    /// The same for `RandomState(53)`, diagonal.
    const POST_DIAGONAL: [([f64; 2], [f64; 2]); 8] = [
        (
            [0.42333120360506693, 1.1223310805300684],
            [0.9999763783919098, 0.9999910900525931],
        ),
        (
            [0.22743770120287643, 0.7043498273839235],
            [0.47326725507601414, 0.5315640000064139],
        ),
        (
            [0.29292569206741864, 1.0714994885461515],
            [0.5204709046689108, 0.6287855646270566],
        ),
        (
            [0.41372813838967304, 0.5290843974440689],
            [0.592294033487499, 0.29651808541315616],
        ),
        (
            [0.23918953066935789, 0.6955700456914438],
            [0.3239575626055194, 0.3632017435882561],
        ),
        (
            [0.06723916115448686, 0.5199547006861183],
            [0.09069320309749807, 0.26201632118292517],
        ),
        (
            [0.02381733808464287, 0.7885866094581555],
            [0.03210862336322526, 0.36929521161280143],
        ),
        (
            [0.18580809604410575, 1.1134658465710856],
            [0.24298428326262816, 0.4623546426224884],
        ),
    ];

    #[test]
    fn reproduces_the_posts_arrow_figures() {
        for (seed, full, expected, tolerance) in [
            (POST_FULL_SEED, true, &POST_FULL, 1e-8),
            (POST_DIAGONAL_SEED, false, &POST_DIAGONAL, 1e-15),
        ] {
            let grads = gradients(seed, POST_STEPS, POST_SCALES);
            let vectors = crate::optim::adagrad_full::adagrad_vectors(&grads, POST_DELTA, full);
            for (t, (g, v)) in grads.iter().zip(&vectors).enumerate() {
                assert_eq!(*g, expected[t].0, "seed {seed} step {t}: the post's gradient");
                let error = relative(v, &expected[t].1);
                assert!(
                    error < tolerance,
                    "seed {seed} step {t}: {v:?} vs {:?} ({error:e})",
                    expected[t].1
                );
            }
            // |v_0| = |g_0| / (|g_0| + delta) for the full form, sqrt(2) for the diagonal one.
            let v0 = norm(&vectors[0]);
            assert!((v0 - if full { 1.0 } else { 2.0f64.sqrt() }).abs() < 1e-4);
        }
    }
}
