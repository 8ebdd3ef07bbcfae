//! Lion (evolved sign momentum), as Keras's `Lion`.

use super::common::column;
use super::{LearningRate, Range, Rule, RuleConfig, Step, Update};
use burn::tensor::{Device, Tensor};

crate::hyperparameters! {
    /// Keras `Lion(learning_rate=0.001, beta_1=0.9, beta_2=0.99)` (Chen et al. 2023).
    ///
    /// With `m = 0` at the start:
    /// ```text
    /// c  = beta_1 m + (1 - beta_1) g
    /// w <- w - eta sign(c)              (sign(0) = 0: a coordinate with c = 0 does not move)
    /// m <- beta_2 m + (1 - beta_2) g
    /// ```
    /// The paper's decoupled decay `w <- w - eta (sign(c) + lambda w)` is Keras's shared
    /// `weight_decay` applied before the step, which is the same update since `sign(c)` does not
    /// depend on `w`. Keras rounds the betas to `f32` first (`1 - beta` is an `f32` subtraction).
    pub(crate) struct LionConfig {
        /// `eta`.
        learning_rate: LearningRate = 0.001, Range::POSITIVE;
        /// `beta_1`, the interpolation that is signed, in (0, 1].
        beta_1: f64 = 0.9, Range::UNIT_OPEN_BELOW;
        /// `beta_2`, decay of the momentum, in [0, 1].
        beta_2: f64 = 0.99, Range::UNIT_CLOSED;
        /// Decoupled weight decay `lambda` (none by default).
        weight_decay: Option<f64> = None, Range::NON_NEGATIVE;
    }
}

/// Batched Lion.
pub(crate) struct Lion {
    beta_1: Tensor<2>,
    beta_2: Tensor<2>,
    one_minus_beta_1: Tensor<2>,
    one_minus_beta_2: Tensor<2>,
}

/// Lion's state: the momentum.
pub(crate) struct LionState {
    m: Tensor<2>,
}

impl RuleConfig for LionConfig {
    type Rule = Lion;
    const NAME: &'static str = "lion";
    const DESCRIPTION: &'static str = "Lion: signed interpolation of momentum and gradient, fixed-size steps";

    fn learning_rate(&self) -> &LearningRate {
        &self.learning_rate
    }
    fn weight_decay(&self) -> Option<f64> {
        self.weight_decay
    }
    fn rule(rows: &[Self], device: &Device) -> Lion {
        let col = |f: fn(&LionConfig) -> f64| column(rows.iter().map(f), device);
        Lion {
            beta_1: col(|c| c.beta_1),
            beta_2: col(|c| c.beta_2),
            one_minus_beta_1: col(|c| (1.0f32 - c.beta_1 as f32) as f64),
            one_minus_beta_2: col(|c| (1.0f32 - c.beta_2 as f32) as f64),
        }
    }
}

impl Rule for Lion {
    type State = LionState;

    fn init(&self, params: &Tensor<2>) -> LionState {
        LionState { m: params.zeros_like() }
    }

    fn update(&self, w: Tensor<2>, g: Tensor<2>, s: LionState, step: &Step) -> (Update, LionState) {
        let c = s.m.clone() * self.beta_1.clone() + g.clone() * self.one_minus_beta_1.clone();
        let w = w - c.sign() * step.lr.clone();
        let m = s.m * self.beta_2.clone() + g * self.one_minus_beta_2.clone();
        (Update::Next(w), LionState { m })
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::test_util::steps;
    use super::*;

    #[test]
    fn steps_are_signs_of_the_interpolation() {
        let c = LionConfig {
            learning_rate: 0.25.into(),
            ..Default::default()
        };
        // Step 1: c = 0.1 g. Step 2: m = 0.01 g1, c = 0.009 g1 + 0.1 g2.
        let grads = vec![vec![vec![1.0f32, -3.0, 0.0]], vec![vec![-0.05, -0.05, 0.0]]];
        let w = steps(&[c], &[vec![0.0, 0.0, 2.0]], &grads);
        assert_eq!(w[0], vec![vec![-0.25, 0.25, 2.0]]);
        // x: c = 0.009 - 0.005 > 0; y: c = -0.027 - 0.005 < 0; z: c = 0 stays.
        assert_eq!(w[1], vec![vec![-0.5, 0.5, 2.0]]);
    }

    #[test]
    fn where_c_is_zero_nothing_moves() {
        // beta_1 = 1 signs the momentum alone, which is 0 on the first step: no move at all,
        // whatever the gradient; the second step follows the sign of m = (1 - beta_2) g.
        let c = LionConfig {
            learning_rate: 0.5.into(),
            beta_1: 1.0,
            ..Default::default()
        };
        let grads = vec![vec![vec![3.0f32, -1.0]]; 2];
        let w = steps(&[c], &[vec![1.0, 1.0]], &grads);
        assert_eq!(w[0], vec![vec![1.0, 1.0]]);
        assert_eq!(w[1], vec![vec![0.5, 1.5]]);
    }

    #[test]
    fn a_zero_gradient_from_rest_does_not_move() {
        let w = steps(&[LionConfig::default()], &[vec![1.5, -2.0]], &[vec![vec![0.0, 0.0]]]);
        assert_eq!(w[0], vec![vec![1.5, -2.0]]);
    }

    #[test]
    fn validation() {
        let d = LionConfig::default();
        assert_eq!(
            LionConfig {
                beta_1: 0.0,
                ..d.clone()
            }
            .validate()
            .unwrap_err()
            .path(),
            "beta_1"
        );
        assert_eq!(
            LionConfig {
                beta_1: 1.5,
                ..d.clone()
            }
            .validate()
            .unwrap_err()
            .path(),
            "beta_1"
        );
        assert!(
            LionConfig {
                beta_1: 1.0,
                ..d.clone()
            }
            .validate()
            .is_ok()
        );
        assert_eq!(LionConfig { beta_2: 1.1, ..d }.validate().unwrap_err().path(), "beta_2");
    }
}
