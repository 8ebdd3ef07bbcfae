//! Adam (with AMSGrad) and AdamW, as Keras's `Adam` and `AdamW`.

use super::common::{AdamColumns, one_minus_power};
use super::{LearningRate, Range, Rule, RuleConfig, Step, Update};
use burn::tensor::{Device, Tensor};

crate::hyperparameters! {
    /// Keras `Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False)`
    /// (Kingma & Ba 2014; AMSGrad: Reddi et al. 2018).
    ///
    /// With `t` the 1-based step, `m = v = v_max = 0` at the start:
    /// ```text
    /// alpha <- eta sqrt(1 - beta_2^t) / (1 - beta_1^t)
    /// m <- m + (1 - beta_1) (g - m)
    /// v <- v + (1 - beta_2) (g^2 - v)
    /// v_max <- max(v_max, v); s = v_max if amsgrad else v
    /// w <- w - alpha m / (sqrt(s) + eps)
    /// ```
    /// Keras departs from the paper's Algorithm 1 in two places, kept here: epsilon is added to
    /// the uncorrected `sqrt(v)` ("epsilon hat"), and AMSGrad keeps the maximum of the raw `v`
    /// and still bias-corrects through `alpha`.
    pub(crate) struct AdamConfig {
        /// `eta`.
        learning_rate: LearningRate = 0.001, Range::POSITIVE;
        /// `beta_1`, decay of the first moment.
        beta_1: f64 = 0.9, Range::UNIT;
        /// `beta_2`, decay of the second moment.
        beta_2: f64 = 0.999, Range::UNIT;
        /// `eps`.
        epsilon: f64 = 1e-7, Range::NON_NEGATIVE;
        /// Use the running maximum of `v` (AMSGrad).
        amsgrad: bool = false => shared;
        /// Decoupled weight decay `lambda` (none by default).
        weight_decay: Option<f64> = None, Range::NON_NEGATIVE;
    }
}

crate::hyperparameters! {
    /// Keras `AdamW(learning_rate=0.001, weight_decay=0.004, ...)` (Loshchilov & Hutter 2019):
    /// exactly [`AdamConfig`]'s rule, preceded by the decoupled decay `w <- w - (w lambda) eta`.
    /// Keras scales the decay by the full learning rate, as PyTorch does, not by the schedule
    /// multiplier alone as the paper does.
    pub(crate) struct AdamWConfig {
        /// `eta`.
        learning_rate: LearningRate = 0.001, Range::POSITIVE;
        /// Decoupled weight decay `lambda`.
        weight_decay: f64 = 0.004, Range::NON_NEGATIVE;
        /// `beta_1`.
        beta_1: f64 = 0.9, Range::UNIT;
        /// `beta_2`.
        beta_2: f64 = 0.999, Range::UNIT;
        /// `eps`.
        epsilon: f64 = 1e-7, Range::NON_NEGATIVE;
        /// AMSGrad.
        amsgrad: bool = false => shared;
    }
}

impl From<&AdamWConfig> for AdamConfig {
    fn from(c: &AdamWConfig) -> Self {
        AdamConfig {
            learning_rate: c.learning_rate.clone(),
            beta_1: c.beta_1,
            beta_2: c.beta_2,
            epsilon: c.epsilon,
            amsgrad: c.amsgrad,
            weight_decay: Some(c.weight_decay),
        }
    }
}

/// Batched Adam.
pub(crate) struct Adam {
    h: AdamColumns,
    amsgrad: bool,
}

/// Adam's state.
pub(crate) struct AdamState {
    m: Tensor<2>,
    v: Tensor<2>,
    v_max: Option<Tensor<2>>,
}

impl RuleConfig for AdamConfig {
    type Rule = Adam;
    const NAME: &'static str = "adam";
    const DESCRIPTION: &'static str = "Adam: bias-corrected first and second moments (optionally AMSGrad)";

    fn learning_rate(&self) -> &LearningRate {
        &self.learning_rate
    }
    fn weight_decay(&self) -> Option<f64> {
        self.weight_decay
    }
    fn rule(rows: &[Self], device: &Device) -> Adam {
        Adam {
            h: AdamColumns::new(rows.iter().map(|c| (c.beta_1, c.beta_2, c.epsilon)), device),
            amsgrad: rows.iter().any(|c| c.amsgrad),
        }
    }
}

impl RuleConfig for AdamWConfig {
    type Rule = Adam;
    const NAME: &'static str = "adamw";
    const DESCRIPTION: &'static str = "AdamW: Adam with decoupled weight decay (default 0.004)";

    fn learning_rate(&self) -> &LearningRate {
        &self.learning_rate
    }
    fn weight_decay(&self) -> Option<f64> {
        Some(self.weight_decay)
    }
    fn rule(rows: &[Self], device: &Device) -> Adam {
        let rows: Vec<AdamConfig> = rows.iter().map(AdamConfig::from).collect();
        AdamConfig::rule(&rows, device)
    }
}

impl Rule for Adam {
    type State = AdamState;

    fn init(&self, params: &Tensor<2>) -> AdamState {
        AdamState {
            m: params.zeros_like(),
            v: params.zeros_like(),
            v_max: self.amsgrad.then(|| params.zeros_like()),
        }
    }

    fn update(&self, w: Tensor<2>, g: Tensor<2>, s: AdamState, step: &Step) -> (Update, AdamState) {
        let h = &self.h;
        let alpha = step.lr.clone() * one_minus_power(&h.beta_2, step.t).sqrt() / one_minus_power(&h.beta_1, step.t);
        let (m, v) = h.moments(s.m, s.v, g);
        let v_max = s.v_max.map(|v_max| v_max.max_pair(v.clone()));
        let denom = v_max.clone().unwrap_or_else(|| v.clone()).sqrt() + h.epsilon.clone();
        let w = w - (m.clone() * alpha) / denom;
        (Update::Next(w), AdamState { m, v, v_max })
    }
}
