//! DoG, as optax's `contrib.dog`.

use super::common::{AddDecayed, column, column32, lr_scale, maximum, norm, sumsq, where_rows};
use super::{Checked, LearningRate, Range, Rule, RuleConfig, Source, Step, Update};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

/// How DoG's first step is set: optax's `init_step`, written `[kind, value]`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum InitKind {
    /// `r_eps = value (1 + |w_0|)`.
    Heuristic,
    /// `r_eps = value`: the first step's distance.
    Distance,
    /// The first step's rate is `value` itself.
    LearningRate,
}

/// optax's `init_step` pair: a kind and its value (> 0).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct InitStep(pub InitKind, pub f64);

impl From<(InitKind, f64)> for InitStep {
    fn from((kind, value): (InitKind, f64)) -> Self {
        InitStep(kind, value)
    }
}

impl Checked for InitStep {
    fn check(&self, field: &str, _range: Option<Range>) -> crate::error::Parsed<()> {
        self.1.check(&format!("{field}[1]"), Some(Range::POSITIVE))
    }
}

crate::hyperparameters! {
    /// optax `contrib.dog(learning_rate=1.0, init_step=("heuristic", 1e-6), eps=1e-8,
    /// weight_decay=None)` (Ivgi, Hinder & Carmon, *DoG is SGD's Best Friend: A Parameter-Free
    /// Dynamic Step Size Schedule*, ICML 2023, arXiv:2302.12022).
    ///
    /// SGD whose step size is the largest distance travelled so far over the root of the summed
    /// squared gradient norms (norms over the row); `r_0` from `init_step`:
    /// ```text
    /// g <- g + lambda w                      (weight_decay, coupled: it enters the norms)
    /// r <- max(r, |w - w_0|)
    /// G <- G + |g|^2
    /// w <- w - eta (r / sqrt(G + eps)) g     (first step with ["learning_rate", v]: eta v g)
    /// ```
    /// `init_step` is `["heuristic", a]` (`r_0 = a (1 + |w_0|)`, the paper's), `["distance",
    /// r_0]` or `["learning_rate", v]`. optax adds `eps` under the root and the factor `eta`
    /// (the paper has neither: `eta < 1` slows DoG's geometric start a lot), and does not do the
    /// paper's iterate averaging.
    pub(crate) struct DogConfig {
        /// `eta`, a multiplier of DoG's step size.
        learning_rate: LearningRate = 1.0, Range::POSITIVE;
        /// `[kind, value]`: "heuristic", "distance" or "learning_rate", value > 0.
        init_step: InitStep = (InitKind::Heuristic, 1e-6);
        /// `eps`, added under the root.
        eps: f64 = 1e-8, Range::NON_NEGATIVE;
        /// `lambda`, weight decay added to the gradient (none by default).
        weight_decay: Option<f64> = None, Range::NON_NEGATIVE;
    }
}

/// Batched DoG.
pub(crate) struct Dog {
    init: Vec<InitStep>,
    eps: Tensor<2>,
    decay: AddDecayed,
    device: Device,
}

/// The start, the largest distance from it and the sum of squared gradient norms (`[N, 1]`).
pub(crate) struct DogState {
    w0: Tensor<2>,
    max_dist: Tensor<2>,
    sum_sq: Tensor<2>,
}

impl RuleConfig for DogConfig {
    type Rule = Dog;
    const NAME: &'static str = "dog";
    const DESCRIPTION: &'static str =
        "DoG: SGD at the distance travelled over the root of the summed |g|^2 (learning-rate free)";
    const SOURCE: Source = Source::Optax;

    fn learning_rate(&self) -> &LearningRate {
        &self.learning_rate
    }
    fn rule(rows: &[Self], device: &Device) -> Dog {
        Dog {
            init: rows.iter().map(|c| c.init_step).collect(),
            eps: column(rows.iter().map(|c| c.eps), device),
            decay: AddDecayed::new(rows.iter().map(|c| c.weight_decay.unwrap_or(0.0)), device),
            device: device.clone(),
        }
    }
}

impl Rule for Dog {
    type State = DogState;

    fn init(&self, params: &Tensor<2>) -> DogState {
        let col = |f: &dyn Fn(&InitStep) -> f32| column32(self.init.iter().map(f), &self.device);
        // r_eps: value (1 + |w0|), value, or 0.
        let heuristic = (norm(params.clone()) + 1.0) * col(&|i| i.1 as f32);
        let distance = col(&|i| if i.0 == InitKind::Distance { i.1 as f32 } else { 0.0 });
        let rows: Vec<bool> = self.init.iter().map(|i| i.0 == InitKind::Heuristic).collect();
        DogState {
            w0: params.clone(),
            max_dist: where_rows(&rows, heuristic, distance),
            sum_sq: col(&|_| 0.0),
        }
    }

    fn update(&self, w: Tensor<2>, g: Tensor<2>, s: DogState, step: &Step) -> (Update, DogState) {
        let g = self.decay.apply(g, w.clone());
        let max_dist = maximum(s.max_dist, norm(s.w0.clone() - w));
        let sum_sq = s.sum_sq + sumsq(g.clone());
        let eta = max_dist.clone() / (sum_sq.clone() + self.eps.clone()).sqrt();
        let eta = if step.t == 1 {
            let given: Vec<bool> = self.init.iter().map(|i| i.0 == InitKind::LearningRate).collect();
            where_rows(
                &given,
                column32(self.init.iter().map(|i| i.1 as f32), &self.device),
                eta,
            )
        } else {
            eta
        };
        let state = DogState {
            w0: s.w0,
            max_dist,
            sum_sq,
        };
        (Update::Increment(lr_scale(g * eta, step.lr)), state)
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::test_util::{assert_close, steps};
    use super::*;

    #[test]
    fn the_step_is_the_distance_over_the_root_of_the_summed_norms() {
        let c = DogConfig {
            init_step: InitStep(InitKind::Distance, 0.5),
            eps: 0.0,
            ..Default::default()
        };
        // Step 1: r = 0.5, G = 25: w1 = w0 - 0.1 g = (-0.3, -0.4).
        // Step 2: r = 0.5 (|w1 - w0| = 0.5), G = 50: w2 = w1 - (0.5 / sqrt(50)) g.
        let grads = vec![vec![vec![3.0f32, 4.0]]; 2];
        let w = steps(&[c], &[vec![0.0, 0.0]], &grads);
        assert_close(&w[0], &[vec![-0.3, -0.4]], 1e-6);
        let k = 0.5 / 50f64.sqrt();
        assert_close(&w[1], &[vec![-0.3 - 3.0 * k, -0.4 - 4.0 * k]], 1e-6);
    }

    #[test]
    fn init_kinds() {
        let heuristic = DogConfig {
            eps: 0.0,
            init_step: InitStep(InitKind::Heuristic, 0.1),
            ..Default::default()
        };
        let rate = DogConfig {
            init_step: InitStep(InitKind::LearningRate, 0.1),
            ..heuristic.clone()
        };
        // From w0 = (3, 4): heuristic r = 0.1 (1 + 5) = 0.6, the step 0.6 / |g| g;
        // learning_rate: the step 0.1 g.
        let w = steps(&[heuristic, rate], &vec![vec![3.0, 4.0]; 2], &[vec![vec![0.0, 2.0]; 2]]);
        assert_close(&w[0], &[vec![3.0, 3.4], vec![3.0, 3.8]], 1e-6);
    }

    #[test]
    fn validation() {
        let bad = DogConfig {
            init_step: InitStep(InitKind::Distance, 0.0),
            ..Default::default()
        };
        assert_eq!(bad.validate().unwrap_err().path(), "init_step[1]");
    }
}
