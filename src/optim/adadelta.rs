//! Adadelta in Keras's learning-rate-scaled form, as Keras's `Adadelta`.

use super::common::column;
use super::{LearningRate, Range, Rule, RuleConfig, Step, Update};
use burn::tensor::{Device, Tensor};

crate::hyperparameters! {
    /// Keras `Adadelta(learning_rate=0.001, rho=0.95, epsilon=1e-7)` (Zeiler 2012).
    ///
    /// With the running averages `E[g^2] = E[dx^2] = 0` at the start:
    /// ```text
    /// E[g^2]  <- rho E[g^2] + (1 - rho) g^2
    /// dx       = -sqrt(E[dx^2] + eps) g / sqrt(E[g^2] + eps)      (the old E[dx^2])
    /// E[dx^2] <- rho E[dx^2] + (1 - rho) dx^2
    /// w       <- w + eta dx
    /// ```
    /// Zeiler's method has no learning rate (it is this rule with `eta = 1`); Keras scales the
    /// applied step by `eta` (0.001 by default) while `E[dx^2]` still accumulates the unscaled `dx`.
    pub(crate) struct AdadeltaConfig {
        /// `eta` (1.0 gives the paper's method).
        learning_rate: LearningRate = 0.001, Range::POSITIVE;
        /// `rho`, decay of both running averages, in [0, 1).
        rho: f64 = 0.95, Range::UNIT;
        /// `eps`, inside both square roots.
        epsilon: f64 = 1e-7, Range::NON_NEGATIVE;
        /// Decoupled weight decay `lambda` (none by default).
        weight_decay: Option<f64> = None, Range::NON_NEGATIVE;
    }
}

/// Batched Adadelta.
pub(crate) struct Adadelta {
    rho: Tensor<2>,
    one_minus_rho: Tensor<2>,
    epsilon: Tensor<2>,
}

/// Adadelta's state: the running averages of squared gradients and of squared steps.
pub(crate) struct AdadeltaState {
    eg: Tensor<2>,
    ex: Tensor<2>,
}

impl RuleConfig for AdadeltaConfig {
    type Rule = Adadelta;
    const NAME: &'static str = "adadelta";
    const DESCRIPTION: &'static str = "Adadelta: step sized by the RMS of past steps over the RMS of gradients";

    fn learning_rate(&self) -> &LearningRate {
        &self.learning_rate
    }
    fn weight_decay(&self) -> Option<f64> {
        self.weight_decay
    }
    fn rule(rows: &[Self], device: &Device) -> Adadelta {
        let col = |f: fn(&AdadeltaConfig) -> f64| column(rows.iter().map(f), device);
        Adadelta {
            rho: col(|c| c.rho),
            one_minus_rho: col(|c| 1.0 - c.rho),
            epsilon: col(|c| c.epsilon),
        }
    }
}

impl Rule for Adadelta {
    type State = AdadeltaState;

    fn init(&self, params: &Tensor<2>) -> AdadeltaState {
        AdadeltaState {
            eg: params.zeros_like(),
            ex: params.zeros_like(),
        }
    }

    fn update(&self, w: Tensor<2>, g: Tensor<2>, s: AdadeltaState, step: &Step) -> (Update, AdadeltaState) {
        let rms = |x: Tensor<2>| (x + self.epsilon.clone()).sqrt();
        let eg = s.eg * self.rho.clone() + g.clone().square() * self.one_minus_rho.clone();
        // Keras divides by `rms(E[g^2])`; TensorFlow's graph optimizer multiplies by its `rsqrt`
        // instead, which rounds differently: followed here.
        let dx = ((rms(s.ex.clone()) * g) * rms(eg.clone()).recip()).neg();
        let ex = s.ex * self.rho.clone() + dx.clone().square() * self.one_minus_rho.clone();
        let w = w + dx * step.lr.clone();
        (Update::Next(w), AdadeltaState { eg, ex })
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::test_util::{assert_close, steps};
    use super::*;

    #[test]
    fn first_step_is_tiny_and_second_uses_the_old_average() {
        let c = AdadeltaConfig {
            learning_rate: 1.0.into(),
            rho: 0.9,
            epsilon: 1e-4,
            weight_decay: None,
        };
        let grads = vec![vec![vec![2.0f32, -1.0]]; 2];
        let w = steps(&[c], &[vec![0.0, 0.0]], &grads);
        // Step 1: E[g^2] = 0.1 g^2, dx = -sqrt(eps) g / sqrt(0.1 g^2 + eps).
        let dx1 = |g: f64| -(1e-4f64).sqrt() * g / (0.1 * g * g + 1e-4).sqrt();
        assert_close(&w[0], &[vec![dx1(2.0), dx1(-1.0)]], 1e-6);
        // Step 2: E[g^2] = 0.19 g^2, E[dx^2] = 0.1 dx1^2.
        let dx2 = |g: f64| -(0.1 * dx1(g) * dx1(g) + 1e-4).sqrt() * g / (0.19 * g * g + 1e-4).sqrt();
        assert_close(&w[1], &[vec![dx1(2.0) + dx2(2.0), dx1(-1.0) + dx2(-1.0)]], 1e-6);
    }

    #[test]
    fn the_learning_rate_scales_the_applied_step_only() {
        let at = |lr: f64| {
            let c = AdadeltaConfig {
                learning_rate: lr.into(),
                ..Default::default()
            };
            steps(&[c], &[vec![0.0]], &vec![vec![vec![1.0f32]]; 3])
        };
        let (one, small) = (at(1.0), at(0.001));
        for t in 0..3 {
            assert_close(&small[t], &[vec![one[t][0][0] as f64 * 0.001]], 1e-5);
        }
    }

    #[test]
    fn validation() {
        let d = AdadeltaConfig::default();
        assert_eq!(
            AdadeltaConfig { rho: -0.1, ..d.clone() }.validate().unwrap_err().path(),
            "rho"
        );
        assert_eq!(
            AdadeltaConfig { epsilon: -1.0, ..d }.validate().unwrap_err().path(),
            "epsilon"
        );
    }
}
