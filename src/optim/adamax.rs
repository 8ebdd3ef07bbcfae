//! Adamax, Adam's infinity-norm variant, as Keras's `Adamax`.

use super::common::{AdamColumns, ema, one_minus_power};
use super::{LearningRate, Range, Rule, RuleConfig, Step, Update};
use burn::tensor::{Device, Tensor};

crate::hyperparameters! {
    /// Keras `Adamax(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7)`
    /// (Kingma & Ba 2014, section 7.1).
    ///
    /// With `t` the 1-based step and `m = u = 0` at the start:
    /// ```text
    /// m <- m + (1 - beta_1) (g - m)
    /// u <- max(beta_2 u, |g|)
    /// w <- w - eta m / ((1 - beta_1^t) (u + eps))
    /// ```
    /// The paper has no `eps`; Keras adds it to `u` (optax puts it inside the max instead).
    pub(crate) struct AdamaxConfig {
        /// `eta`.
        learning_rate: LearningRate = 0.001, Range::POSITIVE;
        /// `beta_1`, decay of the first moment.
        beta_1: f64 = 0.9, Range::UNIT;
        /// `beta_2`, decay of the infinity norm.
        beta_2: f64 = 0.999, Range::UNIT;
        /// `eps`, added to `u`.
        epsilon: f64 = 1e-7, Range::NON_NEGATIVE;
        /// Decoupled weight decay `lambda` (none by default).
        weight_decay: Option<f64> = None, Range::NON_NEGATIVE;
    }
}

/// Batched Adamax.
pub(crate) struct Adamax {
    h: AdamColumns,
}

/// Adamax's state.
pub(crate) struct AdamaxState {
    m: Tensor<2>,
    u: Tensor<2>,
}

impl RuleConfig for AdamaxConfig {
    type Rule = Adamax;
    const NAME: &'static str = "adamax";
    const DESCRIPTION: &'static str = "Adamax: Adam with an exponentially weighted infinity norm";

    fn learning_rate(&self) -> &LearningRate {
        &self.learning_rate
    }
    fn weight_decay(&self) -> Option<f64> {
        self.weight_decay
    }
    fn rule(rows: &[Self], device: &Device) -> Adamax {
        Adamax {
            h: AdamColumns::new(rows.iter().map(|c| (c.beta_1, c.beta_2, c.epsilon)), device),
        }
    }
}

impl Rule for Adamax {
    type State = AdamaxState;

    fn init(&self, params: &Tensor<2>) -> AdamaxState {
        AdamaxState {
            m: params.zeros_like(),
            u: params.zeros_like(),
        }
    }

    fn update(&self, w: Tensor<2>, g: Tensor<2>, s: AdamaxState, step: &Step) -> (Update, AdamaxState) {
        let h = &self.h;
        let m = ema(s.m, g.clone(), &h.one_minus_beta_1);
        let u = (s.u * h.beta_2.clone()).max_pair(g.abs());
        let denominator = one_minus_power(&h.beta_1, step.t) * (u.clone() + h.epsilon.clone());
        let w = w - (m.clone() * step.lr.clone()) / denominator;
        (Update::Next(w), AdamaxState { m, u })
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::test_util::{assert_close, steps};
    use super::*;

    #[test]
    fn first_step_has_magnitude_lr_and_u_keeps_the_max() {
        let c = AdamaxConfig {
            learning_rate: 0.1.into(),
            epsilon: 0.0,
            ..Default::default()
        };
        let grads = vec![vec![vec![4.0f32, -0.5]], vec![vec![1.0, -0.5]]];
        let w = steps(&[c], &[vec![0.0, 0.0]], &grads);
        // Step 1: m = 0.1 g, u = |g|, 1 - beta_1 = 0.1: step = eta sign(g).
        assert_close(&w[0], &[vec![-0.1, 0.1]], 1e-6);
        // Step 2, x: m = 0.09 * 4 + 0.1 = 0.46, u = max(0.999 * 4, 1) = 3.996, 1 - 0.81 = 0.19.
        let x2 = -0.1 - 0.1 * 0.46 / (0.19 * 3.996);
        // y: m = -0.05 * 0.9 - 0.05 = -0.095, u = max(0.4995, 0.5) = 0.5.
        let y2 = 0.1 + 0.1 * 0.095 / (0.19 * 0.5);
        assert_close(&w[1], &[vec![x2, y2]], 1e-6);
    }

    #[test]
    fn validation() {
        let d = AdamaxConfig::default();
        assert_eq!(
            AdamaxConfig {
                beta_1: 1.0,
                ..d.clone()
            }
            .validate()
            .unwrap_err()
            .path(),
            "beta_1"
        );
        assert_eq!(
            AdamaxConfig { beta_2: -0.5, ..d }.validate().unwrap_err().path(),
            "beta_2"
        );
    }
}
