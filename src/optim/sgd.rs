//! SGD with optional momentum and Nesterov momentum, as Keras's `SGD`.

use super::common::column;
use super::{LearningRate, Range, Rule, RuleConfig, Step, Update};
use burn::tensor::{Device, Tensor};

crate::hyperparameters! {
    /// Keras `SGD(learning_rate=0.01, momentum=0.0, nesterov=False)`.
    ///
    /// Without momentum: `w <- w - eta g`. With momentum `mu` (velocity `m`, starting at 0):
    /// ```text
    /// m <- mu m - eta g
    /// w <- w + m                  (nesterov = false)
    /// w <- w + mu m - eta g       (nesterov = true, with the new m)
    /// ```
    /// The velocity holds learning-rate-scaled steps (Sutskever et al. 2013), so it matches
    /// PyTorch's form only for a constant learning rate.
    pub(crate) struct SgdConfig {
        /// `eta`.
        learning_rate: LearningRate = 0.01, Range::POSITIVE;
        /// `mu`.
        momentum: f64 = 0.0, Range::UNIT_CLOSED;
        /// Nesterov momentum.
        nesterov: bool = false => shared;
        /// Decoupled weight decay `lambda` (none by default).
        weight_decay: Option<f64> = None, Range::NON_NEGATIVE;
    }
}

/// Batched SGD.
pub(crate) struct Sgd {
    momentum: Option<Tensor<2>>,
    nesterov: bool,
}

/// SGD's state: the velocity, when any row has momentum.
pub(crate) struct SgdState {
    m: Option<Tensor<2>>,
}

impl RuleConfig for SgdConfig {
    type Rule = Sgd;
    const NAME: &'static str = "sgd";
    const DESCRIPTION: &'static str = "Stochastic gradient descent, with optional (Nesterov) momentum";

    fn learning_rate(&self) -> &LearningRate {
        &self.learning_rate
    }
    fn weight_decay(&self) -> Option<f64> {
        self.weight_decay
    }
    fn rule(rows: &[Self], device: &Device) -> Sgd {
        // A row with momentum 0 steps exactly like plain SGD on the momentum path
        // (m = 0 m - eta g = -eta g), so one batch can mix them.
        let momentum = rows
            .iter()
            .any(|c| c.momentum != 0.0)
            .then(|| column(rows.iter().map(|c| c.momentum), device));
        Sgd {
            momentum,
            nesterov: rows.iter().any(|c| c.nesterov),
        }
    }
}

impl Rule for Sgd {
    type State = SgdState;

    fn init(&self, params: &Tensor<2>) -> SgdState {
        SgdState {
            m: self.momentum.as_ref().map(|_| params.zeros_like()),
        }
    }

    fn update(&self, w: Tensor<2>, g: Tensor<2>, state: SgdState, step: &Step) -> (Update, SgdState) {
        let lr_g = g * step.lr.clone();
        match (&self.momentum, state.m) {
            (Some(mu), Some(m)) => {
                let m = m * mu.clone() - lr_g.clone();
                let w = if self.nesterov {
                    w + (m.clone() * mu.clone() - lr_g)
                } else {
                    w + m.clone()
                };
                (Update::Next(w), SgdState { m: Some(m) })
            }
            _ => (Update::Next(w - lr_g), SgdState { m: None }),
        }
    }
}
