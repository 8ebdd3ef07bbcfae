//! LAMB (layer-wise adaptive moments), as Keras's `Lamb`.

use super::common::{AdamColumns, one_minus_power, positive_or_one, row_norm};
use super::{LearningRate, Range, Rule, RuleConfig, Step, Update};
use crate::params::columns;
use burn::tensor::{Device, Tensor};

crate::hyperparameters! {
    /// Keras `Lamb(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7)`
    /// (You et al. 2019).
    ///
    /// With `t` the 1-based step, `m = v = 0` at the start, and norms over the whole row:
    /// ```text
    /// m <- m + (1 - beta_1) (g - m);   v <- v + (1 - beta_2) (g^2 - v)
    /// r  = (m / (1 - beta_1^t)) / (sqrt(v / (1 - beta_2^t)) + eps)
    /// rho = ||w|| / ||r||   if ||w|| > 0 and ||r|| > 0, else 1
    /// w <- w - rho eta r
    /// ```
    /// `w` is the row after this step's decoupled weight decay, so while both norms are positive
    /// every step has norm exactly `eta ||w||`. The paper scales `r + lambda w` by
    /// `phi(||w||) / ||r + lambda w||`; Keras has no `phi` and no trust coefficient, applies the
    /// decay separately (unscaled by the ratio, before `||w||` is measured) and defaults `eps` to
    /// 1e-7 instead of 1e-6.
    pub(crate) struct LambConfig {
        /// `eta`.
        learning_rate: LearningRate = 0.001, Range::POSITIVE;
        /// `beta_1`, decay of the first moment.
        beta_1: f64 = 0.9, Range::UNIT;
        /// `beta_2`, decay of the second moment.
        beta_2: f64 = 0.999, Range::UNIT;
        /// `eps`, outside the square root of the corrected second moment.
        epsilon: f64 = 1e-7, Range::NON_NEGATIVE;
        /// Decoupled weight decay `lambda` (none by default).
        weight_decay: Option<f64> = None, Range::NON_NEGATIVE;
    }
}

/// Batched LAMB.
pub(crate) struct Lamb {
    h: AdamColumns,
}

/// LAMB's state.
pub(crate) struct LambState {
    m: Tensor<2>,
    v: Tensor<2>,
}

impl RuleConfig for LambConfig {
    type Rule = Lamb;
    const NAME: &'static str = "lamb";
    const DESCRIPTION: &'static str = "LAMB: Adam-like direction rescaled to a step of norm lr * |w| per row";

    fn learning_rate(&self) -> &LearningRate {
        &self.learning_rate
    }
    fn weight_decay(&self) -> Option<f64> {
        self.weight_decay
    }
    fn rule(rows: &[Self], device: &Device) -> Lamb {
        Lamb {
            h: AdamColumns::new(rows.iter().map(|c| (c.beta_1, c.beta_2, c.epsilon)), device),
        }
    }
}

impl Rule for Lamb {
    type State = LambState;

    fn init(&self, params: &Tensor<2>) -> LambState {
        LambState {
            m: params.zeros_like(),
            v: params.zeros_like(),
        }
    }

    fn update(&self, w: Tensor<2>, g: Tensor<2>, s: LambState, step: &Step) -> (Update, LambState) {
        let h = &self.h;
        let (m, v) = h.moments(s.m, s.v, g);
        let m_hat = m.clone() / one_minus_power(&h.beta_1, step.t);
        let v_sqrt = (v.clone() / one_minus_power(&h.beta_2, step.t)).sqrt() + h.epsilon.clone();
        let r = m_hat / v_sqrt;
        // Keras: each variable's own ratio |w| / |r|, 1 where either norm is 0.
        let ratio = step.layout.per_variable(|cols| {
            let (w_norm, r_norm) = (row_norm(columns(&w, cols.clone())), row_norm(columns(&r, cols)));
            positive_or_one(&w_norm, &r_norm, w_norm.clone() / r_norm.clone())
        });
        let w = w - r * (ratio * step.lr.clone());
        (Update::Next(w), LambState { m, v })
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::test_util::{assert_close, steps};
    use super::*;

    #[test]
    fn steps_have_norm_lr_times_norm_w() {
        let c = LambConfig {
            learning_rate: 0.1.into(),
            ..Default::default()
        };
        let w = steps(&[c], &[vec![3.0, 4.0]], &[vec![vec![1.0, -2.0]]]);
        // r = g / (|g| + eps) ~ (1, -1) per coordinate: a step of norm 0.1 * 5 along (1, -1).
        let s = 0.5 / 2f64.sqrt();
        assert_close(&w[0], &[vec![3.0 - s, 4.0 + s]], 1e-6);
    }

    #[test]
    fn ratio_falls_back_to_one_at_w_zero_and_zero_gradient_stays() {
        let c = LambConfig {
            learning_rate: 0.1.into(),
            ..Default::default()
        };
        // Row 0 starts at w = 0: ratio 1, an Adam-like first step of about eta sign(g).
        // Row 1 has g = 0: r = 0 / (0 + eps) = 0, so nothing moves.
        let w = steps(
            &[c.clone(), c],
            &[vec![0.0, 0.0], vec![1.0, -1.0]],
            &[vec![vec![2.0, -0.5], vec![0.0, 0.0]]],
        );
        assert_close(&w[0][..1], &[vec![-0.1, 0.1]], 1e-5);
        assert_eq!(w[0][1], vec![1.0, -1.0]);
    }

    #[test]
    fn the_norm_is_taken_after_the_decoupled_decay() {
        let c = LambConfig {
            learning_rate: 0.1.into(),
            weight_decay: Some(0.5),
            ..Default::default()
        };
        let w = steps(&[c], &[vec![3.0, 4.0]], &[vec![vec![1.0, 1.0]]]);
        // Decay: w = 0.95 (3, 4), |w| = 4.75; then a step of norm 0.475 along -(1, 1).
        let s = 0.475 / 2f64.sqrt();
        assert_close(&w[0], &[vec![2.85 - s, 3.8 - s]], 1e-6);
    }

    #[test]
    fn validation() {
        let d = LambConfig::default();
        assert_eq!(LambConfig { beta_2: 1.0, ..d }.validate().unwrap_err().path(), "beta_2");
    }
}
