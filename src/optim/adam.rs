//! Adam (with AMSGrad) and AdamW, as Keras's `Adam` and `AdamW`.

use super::common::{AdamColumns, check, check_learning_rate, ema, one_minus_power};
use super::{Config, Rule};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

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
/// Keras departs from the paper's Algorithm 1 in two places, kept here: epsilon is added to the
/// uncorrected `sqrt(v)` ("epsilon hat"), and AMSGrad keeps the maximum of the raw `v` and
/// still bias-corrects through `alpha`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdamConfig {
    /// `eta`.
    pub learning_rate: f64,
    /// `beta_1`, decay of the first moment.
    pub beta_1: f64,
    /// `beta_2`, decay of the second moment.
    pub beta_2: f64,
    /// `eps`.
    pub epsilon: f64,
    /// Use the running maximum of `v` (AMSGrad).
    pub amsgrad: bool,
    /// Decoupled weight decay `lambda` (none by default).
    pub weight_decay: Option<f64>,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            learning_rate: 0.001,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
            amsgrad: false,
            weight_decay: None,
        }
    }
}

/// Keras `AdamW(learning_rate=0.001, weight_decay=0.004, ...)` (Loshchilov & Hutter 2019):
/// exactly [`AdamConfig`]'s rule, preceded by the decoupled decay `w <- w - (w lambda) eta`.
/// Keras scales the decay by the full learning rate, as PyTorch does, not by the schedule
/// multiplier alone as the paper does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdamWConfig {
    /// `eta`.
    pub learning_rate: f64,
    /// Decoupled weight decay `lambda`.
    pub weight_decay: f64,
    /// `beta_1`.
    pub beta_1: f64,
    /// `beta_2`.
    pub beta_2: f64,
    /// `eps`.
    pub epsilon: f64,
    /// AMSGrad.
    pub amsgrad: bool,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        let adam = AdamConfig::default();
        AdamWConfig {
            learning_rate: adam.learning_rate,
            weight_decay: 0.004,
            beta_1: adam.beta_1,
            beta_2: adam.beta_2,
            epsilon: adam.epsilon,
            amsgrad: adam.amsgrad,
        }
    }
}

impl From<&AdamWConfig> for AdamConfig {
    fn from(c: &AdamWConfig) -> Self {
        AdamConfig {
            learning_rate: c.learning_rate,
            beta_1: c.beta_1,
            beta_2: c.beta_2,
            epsilon: c.epsilon,
            amsgrad: c.amsgrad,
            weight_decay: Some(c.weight_decay),
        }
    }
}

/// Batched Adam.
pub struct Adam {
    h: AdamColumns,
    amsgrad: bool,
}

/// Adam's state.
pub struct AdamState {
    t: u64,
    m: Tensor<2>,
    v: Tensor<2>,
    v_max: Option<Tensor<2>>,
}

/// Checks shared by Adam-like rules: `beta_1`, `beta_2` in [0, 1), `epsilon >= 0`.
pub fn check_betas(beta_1: f64, beta_2: f64, epsilon: f64) -> Result<(), (String, String)> {
    check((0.0..1.0).contains(&beta_1), "beta_1", "expected a number in [0, 1)")?;
    check((0.0..1.0).contains(&beta_2), "beta_2", "expected a number in [0, 1)")?;
    check(epsilon >= 0.0, "epsilon", "expected a number >= 0")
}

impl Config for AdamConfig {
    type Rule = Adam;
    const NAME: &'static str = "adam";
    const DESCRIPTION: &'static str = "Adam: bias-corrected first and second moments (optionally AMSGrad)";

    fn learning_rate(&self) -> f64 {
        self.learning_rate
    }
    fn weight_decay(&self) -> Option<f64> {
        self.weight_decay
    }
    fn validate(&self) -> Result<(), (String, String)> {
        check_learning_rate(self.learning_rate)?;
        check_betas(self.beta_1, self.beta_2, self.epsilon)
    }
    fn rule(rows: &[Self], device: &Device) -> Adam {
        Adam {
            h: AdamColumns::new(
                rows.iter().map(|c| (c.learning_rate, c.beta_1, c.beta_2, c.epsilon)),
                device,
            ),
            amsgrad: rows.iter().any(|c| c.amsgrad),
        }
    }
}

impl Config for AdamWConfig {
    type Rule = Adam;
    const NAME: &'static str = "adamw";
    const DESCRIPTION: &'static str = "AdamW: Adam with decoupled weight decay (default 0.004)";

    fn learning_rate(&self) -> f64 {
        self.learning_rate
    }
    fn weight_decay(&self) -> Option<f64> {
        Some(self.weight_decay)
    }
    fn validate(&self) -> Result<(), (String, String)> {
        AdamConfig::from(self).validate()
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
            t: 0,
            m: params.zeros_like(),
            v: params.zeros_like(),
            v_max: self.amsgrad.then(|| params.zeros_like()),
        }
    }

    fn step(&self, w: Tensor<2>, g: Tensor<2>, s: AdamState) -> (Tensor<2>, AdamState) {
        let t = s.t + 1;
        let h = &self.h;
        let alpha = h.lr.clone() * one_minus_power(&h.beta_2, t).sqrt() / one_minus_power(&h.beta_1, t);
        let m = ema(s.m, g.clone(), &h.one_minus_beta_1);
        let v = ema(s.v, g.square(), &h.one_minus_beta_2);
        let v_max = s.v_max.map(|v_max| v_max.max_pair(v.clone()));
        let denom = v_max.clone().unwrap_or_else(|| v.clone()).sqrt() + h.epsilon.clone();
        let w = w - (m.clone() * alpha) / denom;
        (w, AdamState { t, m, v, v_max })
    }
}
