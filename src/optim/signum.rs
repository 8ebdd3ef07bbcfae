//! Signum, as optax's `signum`.

use super::common::{Ema, lr_scale};
use super::{LearningRate, Range, Rule, RuleConfig, Source, Step, Update};
use burn::tensor::{Device, Tensor};

crate::hyperparameters! {
    /// optax `signum(learning_rate, beta=0.9)` (Bernstein, Wang, Azizzadenesheli & Anandkumar,
    /// *signSGD: Compressed Optimisation for Non-Convex Problems*, ICML 2018, arXiv:1802.04434):
    /// ```text
    /// m <- beta m + (1 - beta) g         (m = 0 at the start)
    /// w <- w - eta sign(m)
    /// ```
    /// optax follows the paper (momentum as an average, no bias correction: the sign does not
    /// need one).
    pub(crate) struct SignumConfig {
        /// `eta` (optax has no default; 0.001).
        learning_rate: LearningRate = 0.001, Range::POSITIVE;
        /// `beta`, decay of the momentum.
        beta: f64 = 0.9, Range::UNIT;
    }
}

/// Batched Signum.
pub(crate) struct Signum {
    beta: Ema,
}

/// The momentum.
pub(crate) struct SignumState {
    m: Tensor<2>,
}

impl RuleConfig for SignumConfig {
    type Rule = Signum;
    const NAME: &'static str = "signum";
    const DESCRIPTION: &'static str = "Signum: signSGD on a moving average of the gradient";
    const SOURCE: Source = Source::Optax;

    fn learning_rate(&self) -> &LearningRate {
        &self.learning_rate
    }
    fn rule(rows: &[Self], device: &Device) -> Signum {
        Signum {
            beta: Ema::new(rows.iter().map(|c| c.beta), device),
        }
    }
}

impl Rule for Signum {
    type State = SignumState;

    fn init(&self, params: &Tensor<2>) -> SignumState {
        SignumState { m: params.zeros_like() }
    }

    fn update(&self, _w: Tensor<2>, g: Tensor<2>, s: SignumState, step: &Step) -> (Update, SignumState) {
        let m = self.beta.update(g, s.m);
        (
            Update::Increment(lr_scale(m.clone().sign(), step.lr)),
            SignumState { m },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::test_util::{assert_close, steps};
    use super::*;

    #[test]
    fn follows_the_sign_of_the_momentum_not_of_the_gradient() {
        let c = SignumConfig {
            learning_rate: 0.5.into(),
            beta: 0.9,
        };
        // m_x = 0.1 * 10 = 1, then 0.9 - 0.1 = 0.8 > 0 although g < 0: x keeps going down.
        let w = steps(&[c], &[vec![0.0, 0.0]], &[vec![vec![10.0, 0.0]], vec![vec![-1.0, 0.0]]]);
        assert_close(&w[0], &[vec![-0.5, 0.0]], 0.0);
        assert_close(&w[1], &[vec![-1.0, 0.0]], 0.0);
    }
}
