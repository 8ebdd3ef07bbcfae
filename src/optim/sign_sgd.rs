//! signSGD, as optax's `sign_sgd`.

use super::common::lr_scale;
use super::{LearningRate, Range, Rule, RuleConfig, Source, Step, Update};
use burn::tensor::{Device, Tensor};

crate::hyperparameters! {
    /// optax `sign_sgd(learning_rate)` (Bernstein, Wang, Azizzadenesheli & Anandkumar, *signSGD:
    /// Compressed Optimisation for Non-Convex Problems*, ICML 2018, arXiv:1802.04434):
    /// ```text
    /// w <- w - eta sign(g)        (sign(0) = 0)
    /// ```
    /// optax follows the paper. Each coordinate moves by `eta` before rounding.
    pub(crate) struct SignSgdConfig {
        /// `eta` (optax has no default; 0.001).
        learning_rate: LearningRate = 0.001, Range::POSITIVE;
    }
}

/// Batched signSGD (no state).
pub(crate) struct SignSgd;

impl RuleConfig for SignSgdConfig {
    type Rule = SignSgd;
    const NAME: &'static str = "sign_sgd";
    const DESCRIPTION: &'static str = "signSGD: steps of eta along the sign of each coordinate of g";
    const SOURCE: Source = Source::Optax;

    fn learning_rate(&self) -> &LearningRate {
        &self.learning_rate
    }
    fn rule(_rows: &[Self], _device: &Device) -> SignSgd {
        SignSgd
    }
}

impl Rule for SignSgd {
    type State = ();

    fn init(&self, _params: &Tensor<2>) {}

    fn update(&self, _w: Tensor<2>, g: Tensor<2>, _s: (), step: &Step) -> (Update, ()) {
        (Update::Increment(lr_scale(g.sign(), step.lr)), ())
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::test_util::{assert_close, steps};
    use super::*;

    #[test]
    fn steps_by_the_rate_along_the_sign() {
        let c = SignSgdConfig {
            learning_rate: 0.25.into(),
        };
        let w = steps(
            &[c],
            &[vec![1.0, 1.0]],
            &[vec![vec![-100.0, 0.0]], vec![vec![1e-9, 3.0]]],
        );
        assert_close(&w[0], &[vec![1.25, 1.0]], 0.0);
        assert_close(&w[1], &[vec![1.0, 0.75]], 0.0);
    }
}
