//! LARS (layer-wise adaptive rate scaling), in the form of optax's `lars`; Keras has none.

use super::common::{column, lr_scale, positive_or_one, row_norm};
use super::{LearningRate, Range, Rule, RuleConfig, Source, Step, Update};
use crate::params::columns;
use burn::tensor::{Device, Tensor};

crate::hyperparameters! {
    /// optax `lars(learning_rate, weight_decay=0.0, trust_coefficient=0.001, eps=0.0,
    /// momentum=0.9, nesterov=False)` (You, Gitman & Ginsburg 2017), with each row as one layer.
    ///
    /// With `beta` the weight decay, `eta_tc` the trust coefficient, `mu` the momentum and the
    /// buffer `b = 0` at the start, norms over the whole row:
    /// ```text
    /// u    = g + beta w
    /// rho  = eta_tc ||w|| / (||u|| + eps)     (1 if ||w|| = 0 or ||u|| = 0)
    /// u   <- -eta rho u
    /// b   <- u + mu b
    /// w   <- w + b                  (nesterov = false)
    /// w   <- w + u + mu b           (nesterov = true, with the new b)
    /// ```
    /// The paper's ratio is `eta_tc ||w|| / (||g|| + beta ||w|| + eps)`; optax (and so this rule)
    /// divides by `||g + beta w||` instead, which is never larger, so its ratio is never smaller;
    /// the two agree when `beta = 0`. The L2 term `beta w` goes through the trust ratio and the
    /// momentum, so it is not Keras's decoupled decay: this config has no `Option` weight decay
    /// and [`Config::weight_decay`] is `None`, so [`super::Stateful`] adds none on top.
    pub(crate) struct LarsConfig {
        /// `eta`, the global learning rate (optax has no default; 0.01 as Keras's SGD).
        learning_rate: LearningRate = 0.01, Range::POSITIVE;
        /// `mu`, in [0, 1].
        momentum: f64 = 0.9, Range::UNIT_CLOSED;
        /// Nesterov momentum.
        nesterov: bool = false => shared;
        /// `beta`, the L2 weight decay inside the trust ratio, >= 0.
        weight_decay: f64 = 0.0, Range::NON_NEGATIVE;
        /// `eta_tc`, the trust coefficient, > 0.
        trust_coefficient: f64 = 0.001, Range::POSITIVE;
        /// `eps` in the ratio's denominator, >= 0.
        eps: f64 = 0.0, Range::NON_NEGATIVE;
    }
}

/// Batched LARS.
pub(crate) struct Lars {
    momentum: Tensor<2>,
    nesterov: bool,
    weight_decay: Tensor<2>,
    trust_coefficient: Tensor<2>,
    eps: Tensor<2>,
}

/// LARS's state: the momentum buffer (of learning-rate-scaled, signed steps).
pub(crate) struct LarsState {
    b: Tensor<2>,
}

impl RuleConfig for LarsConfig {
    type Rule = Lars;
    const NAME: &'static str = "lars";
    const DESCRIPTION: &'static str = "LARS (optax form): momentum SGD with a per-row trust ratio |w| / |g + beta w|";
    const SOURCE: Source = Source::Optax;

    fn learning_rate(&self) -> &LearningRate {
        &self.learning_rate
    }
    /// Always `None`: LARS's `weight_decay` is an L2 term inside the rule.
    fn weight_decay(&self) -> Option<f64> {
        None
    }
    fn rule(rows: &[Self], device: &Device) -> Lars {
        let col = |f: fn(&LarsConfig) -> f64| column(rows.iter().map(f), device);
        Lars {
            momentum: col(|c| c.momentum),
            nesterov: rows.iter().any(|c| c.nesterov),
            weight_decay: col(|c| c.weight_decay),
            trust_coefficient: col(|c| c.trust_coefficient),
            eps: col(|c| c.eps),
        }
    }
}

impl Rule for Lars {
    type State = LarsState;

    fn init(&self, params: &Tensor<2>) -> LarsState {
        LarsState { b: params.zeros_like() }
    }

    fn update(&self, w: Tensor<2>, g: Tensor<2>, s: LarsState, step: &Step) -> (Update, LarsState) {
        let u = g + w.clone() * self.weight_decay.clone();
        // optax, per leaf (variable): trust_coefficient * |w| / (|u| + eps), 1 where either norm
        // is 0.
        let ratio = step.layout.per_variable(|cols| {
            let (w_norm, u_norm) = (row_norm(columns(&w, cols.clone())), row_norm(columns(&u, cols)));
            positive_or_one(
                &w_norm,
                &u_norm,
                (w_norm.clone() * self.trust_coefficient.clone()) / (u_norm.clone() + self.eps.clone()),
            )
        });
        let u = lr_scale(u * ratio, step.lr);
        let b = u.clone() + s.b * self.momentum.clone();
        let step = if self.nesterov {
            u + b.clone() * self.momentum.clone()
        } else {
            b.clone()
        };
        (Update::Next(w + step), LarsState { b })
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::test_util::{assert_close, steps};
    use super::*;

    #[test]
    fn first_step_has_norm_lr_tc_norm_w() {
        let c = LarsConfig {
            learning_rate: 10.0.into(),
            ..Default::default()
        };
        let w = steps(&[c], &[vec![3.0, 4.0]], &[vec![vec![0.6, 0.8]]]);
        // rho = 0.001 * 5 / 1: step = -10 * 0.005 * (0.6, 0.8).
        assert_close(&w[0], &[vec![3.0 - 0.03, 4.0 - 0.04]], 1e-6);
    }

    #[test]
    fn momentum_and_nesterov() {
        let plain = LarsConfig {
            learning_rate: 1.0.into(),
            momentum: 0.5,
            trust_coefficient: 1.0,
            ..Default::default()
        };
        let nesterov = LarsConfig {
            nesterov: true,
            ..plain.clone()
        };
        // Step 1: rho = |w| / |g| = 1 / 2, u1 = -(1, 0), b = u1: w = 0.
        let grads = vec![vec![vec![2.0f32, 0.0]]; 2];
        let w = steps(&[plain], &[vec![1.0, 0.0]], &grads);
        assert_close(&w[0], &[vec![0.0, 0.0]], 1e-7);
        // w = 0: ratio falls back to 1, u2 = -1 * 1 * g = (-2, 0); b = u2 + 0.5 b1 = -2.5.
        assert_close(&w[1], &[vec![-2.5, 0.0]], 1e-6);
        // Nesterov, step 1: u1 = -(1, 0), b = u1, step = u1 + 0.5 b = -1.5: w = -0.5;
        // step 2: rho = 0.5 / 2, u2 = -(0.5, 0), b = -0.5 - 0.5 = -1, step = -0.5 - 0.5: w = -1.5.
        let w = steps(&[nesterov], &[vec![1.0, 0.0]], &grads);
        assert_close(&w[0], &[vec![-0.5, 0.0]], 1e-7);
        assert_close(&w[1], &[vec![-1.5, 0.0]], 1e-6);
    }

    #[test]
    fn weight_decay_goes_through_the_ratio_and_no_decoupled_decay_is_added() {
        let c = LarsConfig {
            learning_rate: 1.0.into(),
            momentum: 0.0,
            weight_decay: 0.5,
            trust_coefficient: 0.1,
            eps: 0.5,
            ..Default::default()
        };
        assert_eq!(c.weight_decay(), None);
        let w = steps(&[c], &[vec![2.0, 0.0]], &[vec![vec![1.0, 3.0]]]);
        // u = (1 + 1, 3), |u| = sqrt(13), rho = 0.1 * 2 / (sqrt(13) + 0.5).
        let rho = 0.2 / (13f64.sqrt() + 0.5);
        assert_close(&w[0], &[vec![2.0 - 2.0 * rho, -3.0 * rho]], 1e-6);
    }

    #[test]
    fn validation() {
        let bad = |c: LarsConfig| c.validate().unwrap_err().path().to_string();
        let d = LarsConfig::default();
        assert_eq!(
            bad(LarsConfig {
                momentum: 1.5,
                ..d.clone()
            }),
            "momentum"
        );
        assert_eq!(
            bad(LarsConfig {
                weight_decay: -0.1,
                ..d.clone()
            }),
            "weight_decay"
        );
        assert_eq!(
            bad(LarsConfig {
                trust_coefficient: 0.0,
                ..d.clone()
            }),
            "trust_coefficient"
        );
        assert_eq!(bad(LarsConfig { eps: -1.0, ..d }), "eps");
    }
}
