//! Diagonal AdaGrad, as Keras's `Adagrad`.

use super::common::column;
use super::{LearningRate, Range, Rule, RuleConfig, Step, Update};
use burn::tensor::{Device, Tensor};

crate::hyperparameters! {
    /// Keras `Adagrad(learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7)`
    /// (Duchi, Hazan & Singer 2011, diagonal form).
    ///
    /// With the accumulator `A` filled with `initial_accumulator_value` at the start:
    /// ```text
    /// A <- A + g^2
    /// w <- w - eta g / sqrt(A + eps)
    /// ```
    /// The paper starts at `A = 0` and adds its `delta` outside the square root
    /// (`sqrt(A) + delta`); Keras starts at 0.1 and puts `eps` inside.
    pub(crate) struct AdagradConfig {
        /// `eta`.
        learning_rate: LearningRate = 0.001, Range::POSITIVE;
        /// The accumulator's starting value, >= 0.
        initial_accumulator_value: f64 = 0.1, Range::NON_NEGATIVE;
        /// `eps`, inside the square root.
        epsilon: f64 = 1e-7, Range::NON_NEGATIVE;
        /// Decoupled weight decay `lambda` (none by default).
        weight_decay: Option<f64> = None, Range::NON_NEGATIVE;
    }
}

/// Batched AdaGrad.
pub(crate) struct Adagrad {
    initial: Tensor<2>,
    epsilon: Tensor<2>,
}

/// AdaGrad's state: the accumulated squared gradients.
pub(crate) struct AdagradState {
    a: Tensor<2>,
}

impl RuleConfig for AdagradConfig {
    type Rule = Adagrad;
    const NAME: &'static str = "adagrad";
    const DESCRIPTION: &'static str = "AdaGrad: step scaled by the root of the summed squared gradients";

    fn learning_rate(&self) -> &LearningRate {
        &self.learning_rate
    }
    fn weight_decay(&self) -> Option<f64> {
        self.weight_decay
    }
    fn rule(rows: &[Self], device: &Device) -> Adagrad {
        let col = |f: fn(&AdagradConfig) -> f64| column(rows.iter().map(f), device);
        Adagrad {
            initial: col(|c| c.initial_accumulator_value),
            epsilon: col(|c| c.epsilon),
        }
    }
}

impl Rule for Adagrad {
    type State = AdagradState;

    fn init(&self, params: &Tensor<2>) -> AdagradState {
        AdagradState {
            a: params.zeros_like() + self.initial.clone(),
        }
    }

    fn update(&self, w: Tensor<2>, g: Tensor<2>, s: AdagradState, step: &Step) -> (Update, AdagradState) {
        let a = s.a + g.clone().square();
        // Keras divides by the root; TensorFlow's graph optimizer multiplies by `rsqrt` instead,
        // which rounds differently: followed here.
        let w = w - (g * step.lr.clone()) * (a.clone() + self.epsilon.clone()).sqrt().recip();
        (Update::Next(w), AdagradState { a })
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::test_util::{assert_close, steps};
    use super::*;

    #[test]
    fn steps_scale_by_the_accumulated_root() {
        let c = AdagradConfig {
            learning_rate: 0.5.into(),
            ..Default::default()
        };
        let grads = vec![vec![vec![1.0f32, -2.0]], vec![vec![3.0, 0.0]]];
        let w = steps(&[c], &[vec![0.0, 0.0]], &grads);
        // Step 1: A = 0.1 + g^2 = (1.1, 4.1).
        let x1 = -0.5 / (1.1f64 + 1e-7).sqrt();
        let y1 = 0.5 * 2.0 / (4.1f64 + 1e-7).sqrt();
        assert_close(&w[0], &[vec![x1, y1]], 1e-6);
        // Step 2: A = (10.1, 4.1); a zero gradient does not move its coordinate.
        let x2 = x1 - 0.5 * 3.0 / (10.1f64 + 1e-7).sqrt();
        assert_close(&w[1], &[vec![x2, y1]], 1e-6);
        assert_eq!(w[1][0][1], w[0][0][1]);
    }

    #[test]
    fn a_zero_start_gives_a_sign_step_first() {
        let c = AdagradConfig {
            learning_rate: 0.1.into(),
            initial_accumulator_value: 0.0,
            epsilon: 0.0,
            weight_decay: None,
        };
        let w = steps(&[c], &[vec![1.0, 1.0]], &[vec![vec![4.0, -0.25]]]);
        assert_close(&w[0], &[vec![0.9, 1.1]], 1e-7);
    }

    #[test]
    fn validation() {
        let bad = |c: AdagradConfig| c.validate().unwrap_err().path().to_string();
        let d = AdagradConfig::default();
        assert_eq!(
            bad(AdagradConfig {
                initial_accumulator_value: -0.1,
                ..d.clone()
            }),
            "initial_accumulator_value"
        );
        assert_eq!(bad(AdagradConfig { epsilon: -1e-7, ..d }), "epsilon");
    }
}
