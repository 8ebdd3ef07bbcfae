//! Nadam, Adam with Nesterov momentum, as Keras's `Nadam`.

use super::common::{column, ema, one_minus_power};
use super::{LearningRate, Range, Rule, RuleConfig, Step, Update};
use burn::tensor::{Device, Tensor};

crate::hyperparameters! {
    /// Keras `Nadam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7)` (Dozat 2016).
    ///
    /// With `t` the 1-based step, the momentum schedule `mu_t = beta_1 (1 - 0.5 * 0.96^t)` and
    /// its running product `P_t = mu_1 ... mu_t` (`P_0 = 1`), starting from `m = v = 0`:
    /// ```text
    /// m <- m + (1 - beta_1) (g - m)
    /// v <- v + (1 - beta_2) (g^2 - v)
    /// m_hat = mu_{t+1} m / (1 - P_t mu_{t+1}) + (1 - mu_t) g / (1 - P_t)
    /// v_hat = v / (1 - beta_2^t)
    /// w <- w - eta m_hat / (sqrt(v_hat) + eps)
    /// ```
    /// Dozat's schedule is `0.96^(t/250)` (`0.96^(0.004 t)`, also PyTorch's and Keras 2's);
    /// Keras 3 uses `0.96^t`, so `mu_t` reaches 99% of `beta_1` within about 100 steps. `eps` is
    /// added to the bias-corrected root, unlike Keras's Adam. `P` is one scalar per run (per row
    /// here); as in Keras, it is updated once per step before the update, as
    /// `(P beta_1) (1 - 0.5 * 0.96^t)`, and every hyperparameter is rounded to `f32` before use
    /// (`1 - beta_1` is computed in `f32`).
    pub(crate) struct NadamConfig {
        /// `eta`.
        learning_rate: LearningRate = 0.001, Range::POSITIVE;
        /// `beta_1`, decay of the first moment and scale of the momentum schedule.
        beta_1: f64 = 0.9, Range::UNIT;
        /// `beta_2`, decay of the second moment.
        beta_2: f64 = 0.999, Range::UNIT;
        /// `eps`, outside the square root of the corrected second moment.
        epsilon: f64 = 1e-7, Range::NON_NEGATIVE;
        /// Decoupled weight decay `lambda` (none by default).
        weight_decay: Option<f64> = None, Range::NON_NEGATIVE;
    }
}

/// Batched Nadam.
pub(crate) struct Nadam {
    beta_1: Tensor<2>,
    beta_2: Tensor<2>,
    one_minus_beta_1: Tensor<2>,
    one_minus_beta_2: Tensor<2>,
    epsilon: Tensor<2>,
}

/// Nadam's state, with the per-row product `P` of the momentum schedule as an `[N, 1]` column.
pub(crate) struct NadamState {
    m: Tensor<2>,
    v: Tensor<2>,
    product: Tensor<2>,
}

/// `1 - 0.5 * 0.96^t` in `f32`, as Keras computes it.
fn schedule(t: u64) -> f32 {
    1.0f32 - 0.5f32 * 0.96f32.powf(t as f32)
}

impl RuleConfig for NadamConfig {
    type Rule = Nadam;
    const NAME: &'static str = "nadam";
    const DESCRIPTION: &'static str = "Nadam: Adam with Nesterov momentum and Keras 3's 0.96^t momentum schedule";

    fn learning_rate(&self) -> &LearningRate {
        &self.learning_rate
    }
    fn weight_decay(&self) -> Option<f64> {
        self.weight_decay
    }
    fn rule(rows: &[Self], device: &Device) -> Nadam {
        let col = |f: fn(&NadamConfig) -> f64| column(rows.iter().map(f), device);
        Nadam {
            beta_1: col(|c| c.beta_1),
            beta_2: col(|c| c.beta_2),
            // Keras casts beta to the variable's dtype first: `1 - beta` is an f32 subtraction.
            one_minus_beta_1: col(|c| (1.0f32 - c.beta_1 as f32) as f64),
            one_minus_beta_2: col(|c| (1.0f32 - c.beta_2 as f32) as f64),
            epsilon: col(|c| c.epsilon),
        }
    }
}

impl Rule for Nadam {
    type State = NadamState;

    fn init(&self, params: &Tensor<2>) -> NadamState {
        NadamState {
            m: params.zeros_like(),
            v: params.zeros_like(),
            product: self.beta_1.ones_like(),
        }
    }

    fn update(&self, w: Tensor<2>, g: Tensor<2>, s: NadamState, step: &Step) -> (Update, NadamState) {
        let t = step.t;
        let (now, next) = (schedule(t), schedule(t + 1));
        // The shared product, once per step before the update: P_t = (P_{t-1} beta_1) s_t.
        let product = (s.product * self.beta_1.clone()).mul_scalar(now);
        let u_t = self.beta_1.clone().mul_scalar(now);
        let u_next = self.beta_1.clone().mul_scalar(next);
        let product_next = product.clone() * u_next.clone();

        let m = ema(s.m, g.clone(), &self.one_minus_beta_1);
        let v = ema(s.v, g.clone().square(), &self.one_minus_beta_2);
        let m_hat = (m.clone() * u_next) / product_next.neg().add_scalar(1.0)
            + (g * u_t.neg().add_scalar(1.0)) / product.clone().neg().add_scalar(1.0);
        let v_hat = v.clone() / one_minus_power(&self.beta_2, t);
        let w = w - (m_hat * step.lr.clone()) / (v_hat.sqrt() + self.epsilon.clone());
        (Update::Next(w), NadamState { m, v, product })
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::test_util::{assert_close, device, rows, steps, tensor};
    use super::*;

    #[test]
    fn the_schedule_product_matches_the_worked_numbers() {
        // OPTIMIZERS.md: u_1 = 0.468, u_2 = 0.48528, P_3 = 0.1139799 for beta_1 = 0.9.
        let rule = NadamConfig::rule(&[NadamConfig::default()], &device());
        let mut s = rule.init(&tensor(&[vec![0.0]]));
        let mut w = tensor(&[vec![0.0]]);
        let mut products = Vec::new();
        for t in 1..=3 {
            let ctx = super::super::common::test_util::Ctx::new(t, &[0.001], 1);
            let (u, next) = rule.update(w.clone(), tensor(&[vec![1.0]]), s, &ctx.step());
            (w, s) = (u.apply(w), next);
            products.push(rows(s.product.clone())[0][0] as f64);
        }
        assert_close(&[vec![products[0] as f32]], &[vec![0.468]], 1e-7);
        assert_close(&[vec![products[1] as f32]], &[vec![0.468 * 0.48528]], 1e-7);
        assert_close(&[vec![products[2] as f32]], &[vec![0.1139799]], 1e-7);
    }

    #[test]
    fn first_step() {
        let c = NadamConfig {
            learning_rate: 0.1.into(),
            epsilon: 0.0,
            ..Default::default()
        };
        let w = steps(&[c], &[vec![1.0, 1.0]], &[vec![vec![2.0, -0.5]]]);
        // m = 0.1 g, v_hat = g^2: m_hat = 0.48528 * 0.1 g / (1 - 0.468 * 0.48528) + 0.532 g / 0.532.
        let factor = 0.48528 * 0.1 / (1.0 - 0.468 * 0.48528) + 1.0;
        assert_close(&w[0], &[vec![1.0 - 0.1 * factor, 1.0 + 0.1 * factor]], 1e-6);
    }

    #[test]
    fn validation() {
        let d = NadamConfig::default();
        assert_eq!(
            NadamConfig {
                beta_1: 1.0,
                ..d.clone()
            }
            .validate()
            .unwrap_err()
            .path(),
            "beta_1"
        );
        assert_eq!(
            NadamConfig { epsilon: -1.0, ..d }.validate().unwrap_err().path(),
            "epsilon"
        );
    }
}
