//! Yogi, as optax's `yogi`.

use super::common::{Ema, column, lr_scale};
use super::{LearningRate, Range, Rule, RuleConfig, Source, Step, Update};
use burn::tensor::{Device, Tensor};

crate::hyperparameters! {
    /// optax `yogi(learning_rate, b1=0.9, b2=0.999, eps=1e-3)` (Zaheer, Reddi, Sachan, Kale &
    /// Kumar, *Adaptive Methods for Nonconvex Optimization*, NeurIPS 2018).
    ///
    /// With `t` the 1-based step and `m = v = 1e-6` at the start:
    /// ```text
    /// m <- b1 m + (1 - b1) g
    /// v <- v - (1 - b2) sign(v - g^2) g^2          (additive, not Adam's multiplicative decay)
    /// w <- w - eta (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
    /// ```
    /// optax starts both moments at 1e-6 (its `scale_by_yogi`'s `initial_accumulator_value`,
    /// which `optax.yogi` cannot change, nor `eps_root = 0`) and bias-corrects both as Adam
    /// does; `eps = 1e-3` is the paper's recommendation and matters whenever |g| < ~1e-2.
    pub(crate) struct YogiConfig {
        /// `eta` (optax has no default; 0.01 as the paper's).
        learning_rate: LearningRate = 0.01, Range::POSITIVE;
        /// `b1`, decay of the first moment.
        b1: f64 = 0.9, Range::UNIT;
        /// `b2`, rate of the additive second-moment update.
        b2: f64 = 0.999, Range::UNIT;
        /// `eps`, added to the root of the corrected second moment.
        eps: f64 = 1e-3, Range::NON_NEGATIVE;
    }
}

/// Batched Yogi.
pub(crate) struct Yogi {
    b1: Ema,
    b2: Ema,
    eps: Tensor<2>,
}

/// The two moments.
pub(crate) struct YogiState {
    mu: Tensor<2>,
    nu: Tensor<2>,
}

impl RuleConfig for YogiConfig {
    type Rule = Yogi;
    const NAME: &'static str = "yogi";
    const DESCRIPTION: &'static str = "Yogi: Adam whose second moment moves additively, by (1 - b2) g^2 at most";
    const SOURCE: Source = Source::Optax;

    fn learning_rate(&self) -> &LearningRate {
        &self.learning_rate
    }
    fn rule(rows: &[Self], device: &Device) -> Yogi {
        Yogi {
            b1: Ema::new(rows.iter().map(|c| c.b1), device),
            b2: Ema::new(rows.iter().map(|c| c.b2), device),
            eps: column(rows.iter().map(|c| c.eps), device),
        }
    }
}

impl Rule for Yogi {
    type State = YogiState;

    fn init(&self, params: &Tensor<2>) -> YogiState {
        YogiState {
            mu: params.full_like(1e-6),
            nu: params.full_like(1e-6),
        }
    }

    fn update(&self, _w: Tensor<2>, g: Tensor<2>, s: YogiState, step: &Step) -> (Update, YogiState) {
        let mu = self.b1.update(g.clone(), s.mu);
        let g2 = g.clone() * g;
        let nu = s.nu.clone() - ((s.nu - g2.clone()).sign() * self.b2.complement().clone()) * g2;
        let mu_hat = self.b1.debias(mu.clone(), step.t);
        let nu_hat = self.b2.debias(nu.clone(), step.t);
        // optax's eps_root = 0 is still added under the root (x + 0 = x).
        let u = mu_hat / (nu_hat.sqrt() + self.eps.clone());
        (Update::Increment(lr_scale(u, step.lr)), YogiState { mu, nu })
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::test_util::{assert_close, steps};
    use super::*;

    #[test]
    fn moments_start_at_1e_6_and_v_moves_additively() {
        let c = YogiConfig {
            learning_rate: 1.0.into(),
            b1: 0.5,
            b2: 0.5,
            eps: 0.0,
        };
        // Step 1: m = (g + 1e-6) / 2, v = 1e-6 + g^2 / 2 (v < g^2); corrected by 1/2 each:
        // m_hat = g + 1e-6, v_hat = g^2 + 2e-6.
        let g = 3.0f64;
        let w = steps(std::slice::from_ref(&c), &[vec![0.0, 0.0]], &[vec![vec![3.0, 0.0]]]);
        let step_x = (g + 1e-6) / (g * g + 2e-6).sqrt();
        // y: g = 0, m_hat = 1e-6, v = 1e-6 (sign(v - 0) g^2 = 0): v_hat = 2e-6.
        let step_y = 1e-6 / 2e-6f64.sqrt();
        assert_close(&w[0], &[vec![-step_x, -step_y]], 1e-6);
        // A gradient far below sqrt(v): v shrinks by (1 - b2) g^2 only, not by half.
        let w = steps(&[c], &[vec![0.0, 0.0]], &[vec![vec![3.0, 0.0]], vec![vec![1.0, 0.0]]]);
        let (v1, m1) = (1e-6 + 4.5, (3.0 + 1e-6) / 2.0);
        let (v2, m2) = (v1 - 0.5 * 1.0, (1.0 + m1) / 2.0);
        let second = (m2 / 0.75) / (v2 / 0.75f64).sqrt();
        // y: m = 1e-6 / 4, v = 1e-6 still.
        let second_y = (0.25e-6 / 0.75) / (1e-6 / 0.75f64).sqrt();
        assert_close(&w[1], &[vec![-step_x - second, -step_y - second_y]], 1e-5);
    }
}
