//! Adan, as optax's `adan`.

use super::common::{AddDecayed, Ema, column, lr_scale};
use super::{LearningRate, Range, Rule, RuleConfig, Source, Step, Update};
use burn::tensor::{Device, Tensor};

crate::hyperparameters! {
    /// optax `adan(learning_rate, b1=0.98, b2=0.92, b3=0.99, eps=1e-8, eps_root=1e-8,
    /// weight_decay=0.0)` (Xie, Zhou, Li, Lin & Yan, *Adan: Adaptive Nesterov Momentum Algorithm
    /// for Faster Optimizing Deep Models*, 2022, arXiv:2208.06677, Algorithm 1).
    ///
    /// With `t` the 1-based step, `m = v = n = 0` and `d = g - g_prev` (0 at the first step):
    /// ```text
    /// m <- b1 m + (1 - b1) g
    /// v <- b2 v + (1 - b2) d
    /// n <- b3 n + (1 - b3) (g + (1 - b2) d)^2
    /// u = (m / (1 - b1^t) + (1 - b2) v / (1 - b2^t)) / (sqrt(n / (1 - b3^t) + eps_root) + eps)
    /// w <- w - eta (u + lambda w)
    /// ```
    /// The paper writes its averages with `beta` the weight of the new term (0.02, 0.08, 0.01);
    /// optax's `b = 1 - beta`. optax bias-corrects all three moments (the authors' code does, the
    /// algorithm does not), and decays the weights as AdamW does, inside the step, where the
    /// paper takes a proximal step `w <- (w - eta u) / (1 + lambda eta)`. The alias's
    /// `eps_root = 1e-8` differs from its `scale_by_adan`'s 0.
    pub(crate) struct AdanConfig {
        /// `eta` (optax has no default; 0.001 as the paper's).
        learning_rate: LearningRate = 0.001, Range::POSITIVE;
        /// `b1`, decay of the gradient average.
        b1: f64 = 0.98, Range::UNIT;
        /// `b2`, decay of the gradient-difference average.
        b2: f64 = 0.92, Range::UNIT;
        /// `b3`, decay of the second moment.
        b3: f64 = 0.99, Range::UNIT;
        /// `eps`, added to the root.
        eps: f64 = 1e-8, Range::NON_NEGATIVE;
        /// `eps_root`, added under the root.
        eps_root: f64 = 1e-8, Range::NON_NEGATIVE;
        /// `lambda`, decoupled weight decay (added to the update before the rate).
        weight_decay: f64 = 0.0, Range::NON_NEGATIVE;
    }
}

/// Batched Adan.
pub(crate) struct Adan {
    b1: Ema,
    b2: Ema,
    b3: Ema,
    eps: Tensor<2>,
    eps_root: Tensor<2>,
    decay: AddDecayed,
}

/// The three moments and the previous gradient.
pub(crate) struct AdanState {
    m: Tensor<2>,
    v: Tensor<2>,
    n: Tensor<2>,
    g_prev: Tensor<2>,
}

impl RuleConfig for AdanConfig {
    type Rule = Adan;
    const NAME: &'static str = "adan";
    const DESCRIPTION: &'static str = "Adan: Adam with a Nesterov-like average of gradient differences";
    const SOURCE: Source = Source::Optax;

    fn learning_rate(&self) -> &LearningRate {
        &self.learning_rate
    }
    fn rule(rows: &[Self], device: &Device) -> Adan {
        Adan {
            b1: Ema::new(rows.iter().map(|c| c.b1), device),
            b2: Ema::new(rows.iter().map(|c| c.b2), device),
            b3: Ema::new(rows.iter().map(|c| c.b3), device),
            eps: column(rows.iter().map(|c| c.eps), device),
            eps_root: column(rows.iter().map(|c| c.eps_root), device),
            decay: AddDecayed::new(rows.iter().map(|c| c.weight_decay), device),
        }
    }
}

impl Rule for Adan {
    type State = AdanState;

    fn init(&self, params: &Tensor<2>) -> AdanState {
        AdanState {
            m: params.zeros_like(),
            v: params.zeros_like(),
            n: params.zeros_like(),
            g_prev: params.zeros_like(),
        }
    }

    fn update(&self, w: Tensor<2>, g: Tensor<2>, s: AdanState, step: &Step) -> (Update, AdanState) {
        let diff = if step.t == 1 {
            g.zeros_like()
        } else {
            g.clone() - s.g_prev
        };
        let m = self.b1.update(g.clone(), s.m);
        let v = self.b2.update(diff.clone(), s.v);
        let sq = g.clone() + diff * self.b2.complement().clone();
        let n = self.b3.update_squared(sq, s.n);
        let m_hat = self.b1.debias(m.clone(), step.t);
        let v_hat = self.b2.debias(v.clone(), step.t);
        let n_hat = self.b3.debias(n.clone(), step.t);
        let u = (m_hat + v_hat * self.b2.complement().clone())
            / ((n_hat + self.eps_root.clone()).sqrt() + self.eps.clone());
        let u = lr_scale(self.decay.apply(u, w), step.lr);
        (Update::Increment(u), AdanState { m, v, n, g_prev: g })
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::test_util::{assert_close, steps};
    use super::*;

    #[test]
    fn the_difference_term_pushes_along_the_change_of_gradient() {
        let c = AdanConfig {
            learning_rate: 1.0.into(),
            b1: 0.5,
            b2: 0.5,
            b3: 0.5,
            eps: 0.0,
            eps_root: 0.0,
            ..Default::default()
        };
        // Step 1 (no difference): m_hat = g, n_hat = g^2: the step is sign(g).
        // Step 2, x: g 1 -> 3, d = 2: m = (3 + 0.5) / 2, v = d / 2, n = ((3 + 1)^2 + 0.5) / 2.
        // y: a constant gradient 2 has no difference: m_hat = 2, n_hat = 4, the step is 1 again.
        let grads = vec![vec![vec![1.0f32, 2.0]], vec![vec![3.0, 2.0]]];
        let w = steps(&[c], &[vec![0.0, 0.0]], &grads);
        assert_close(&w[0], &[vec![-1.0, -1.0]], 1e-6);
        let (m, v, n) = (1.75 / 0.75, 1.0 / 0.75, 8.25 / 0.75);
        assert_close(&w[1], &[vec![-1.0 - (m + 0.5 * v) / f64::sqrt(n), -2.0]], 1e-6);
    }

    #[test]
    fn weight_decay_is_added_to_the_update() {
        let c = AdanConfig {
            learning_rate: 0.1.into(),
            eps: 0.0,
            eps_root: 0.0,
            weight_decay: 0.5,
            ..Default::default()
        };
        // Step 1: u = sign(g) + lambda w.
        let w = steps(&[c], &[vec![2.0, -4.0]], &[vec![vec![1.0, 1.0]]]);
        assert_close(&w[0], &[vec![2.0 - 0.1 * (1.0 + 1.0), -4.0 - 0.1 * (1.0 - 2.0)]], 1e-6);
    }
}
