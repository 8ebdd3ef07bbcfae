//! SGD as optax's `sgd`: the inner optimizer of optax's Lookahead and SAM examples, registered
//! as `sgd_optax` beside Keras's `sgd`.

use super::common::{column, lr_scale};
use super::{LearningRate, Range, Rule, RuleConfig, Source, Step, Update};
use burn::tensor::{Device, Tensor};

crate::hyperparameters! {
    /// optax `sgd(learning_rate, momentum=None, nesterov=False)` (Robbins & Monro 1951; momentum:
    /// Polyak 1964; Nesterov as in Sutskever et al. 2013).
    ///
    /// Without momentum `w <- w - eta g`; with momentum `mu` (trace `b = 0` at the start):
    /// ```text
    /// b <- g + mu b
    /// w <- w - eta b                  (nesterov = false)
    /// w <- w - eta (g + mu b)         (nesterov = true, with the new b)
    /// ```
    /// The trace holds raw gradients and the rate is applied after it, unlike Keras's `sgd`,
    /// whose velocity holds rate-scaled steps (the two agree for a constant rate, up to
    /// rounding).
    pub(crate) struct SgdOptaxConfig {
        /// `eta` (optax has no default; 0.01 as Keras's).
        learning_rate: LearningRate = 0.01, Range::POSITIVE;
        /// `mu`, the momentum (none by default: no trace at all).
        momentum: Option<f64> = None, Range::UNIT_CLOSED;
        /// Nesterov momentum.
        nesterov: bool = false => shared;
    }
}

/// Batched optax SGD.
pub(crate) struct SgdOptax {
    momentum: Option<Tensor<2>>,
    nesterov: bool,
}

/// The trace, when some row has momentum.
pub(crate) struct SgdOptaxState {
    trace: Option<Tensor<2>>,
}

impl RuleConfig for SgdOptaxConfig {
    type Rule = SgdOptax;
    const NAME: &'static str = "sgd_optax";
    const DESCRIPTION: &'static str =
        "SGD as optax's sgd (the trace holds raw gradients): the inner optimizer of optax's examples";
    const SOURCE: Source = Source::Optax;

    fn learning_rate(&self) -> &LearningRate {
        &self.learning_rate
    }
    fn rule(rows: &[Self], device: &Device) -> SgdOptax {
        // A row without momentum in a batch with momentum traces with mu = 0: b = g + 0 b = g.
        let momentum = rows
            .iter()
            .any(|c| c.momentum.is_some())
            .then(|| column(rows.iter().map(|c| c.momentum.unwrap_or(0.0)), device));
        SgdOptax {
            momentum,
            nesterov: rows.iter().any(|c| c.nesterov),
        }
    }
}

impl Rule for SgdOptax {
    type State = SgdOptaxState;

    fn init(&self, params: &Tensor<2>) -> SgdOptaxState {
        SgdOptaxState {
            trace: self.momentum.as_ref().map(|_| params.zeros_like()),
        }
    }

    fn update(&self, _w: Tensor<2>, g: Tensor<2>, s: SgdOptaxState, step: &Step) -> (Update, SgdOptaxState) {
        match (&self.momentum, s.trace) {
            (Some(mu), Some(trace)) => {
                let trace = g.clone() + trace * mu.clone();
                let u = if self.nesterov {
                    g + trace.clone() * mu.clone()
                } else {
                    trace.clone()
                };
                (
                    Update::Increment(lr_scale(u, step.lr)),
                    SgdOptaxState { trace: Some(trace) },
                )
            }
            _ => (Update::Increment(lr_scale(g, step.lr)), SgdOptaxState { trace: None }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::test_util::{assert_close, steps};
    use super::*;

    #[test]
    fn plain_momentum_and_nesterov() {
        let plain = SgdOptaxConfig {
            learning_rate: 0.5.into(),
            ..Default::default()
        };
        let heavy = SgdOptaxConfig {
            momentum: Some(0.5),
            ..plain.clone()
        };
        let nesterov = SgdOptaxConfig {
            nesterov: true,
            ..heavy.clone()
        };
        // Flags are shared by a batch: Nesterov steps on its own.
        let grads = vec![vec![vec![2.0f32, 0.0]; 2]; 2];
        let w = steps(&[plain, heavy], &[vec![0.0, 0.0], vec![0.0, 0.0]], &grads);
        // The trace: 2, then 2 + 0.5 * 2 = 3.
        assert_close(&w[0], &[vec![-1.0, 0.0], vec![-1.0, 0.0]], 1e-7);
        assert_close(&w[1], &[vec![-2.0, 0.0], vec![-2.5, 0.0]], 1e-7);
        // Nesterov steps g + mu b: 2 + 1 = 3, then 2 + 1.5 = 3.5.
        let w = steps(
            &[nesterov],
            &[vec![0.0, 0.0]],
            &[vec![vec![2.0, 0.0]], vec![vec![2.0, 0.0]]],
        );
        assert_close(&w[0], &[vec![-1.5, 0.0]], 1e-7);
        assert_close(&w[1], &[vec![-3.25, 0.0]], 1e-7);
    }
}
