//! AdEMAMix, as optax's `contrib.ademamix`.

use super::common::{AddDecayed, Ema, column, lr_scale};
use super::{LearningRate, Range, Rule, RuleConfig, Source, Step, Update};
use burn::tensor::{Device, Tensor};

crate::hyperparameters! {
    /// optax `contrib.ademamix(learning_rate, b1=0.9, b2=0.999, b3=0.9999, alpha=5.0, eps=1e-8,
    /// eps_root=0.0, weight_decay=0.0)` (Pagliardini, Ablin & Grangier, *The AdEMAMix Optimizer:
    /// Better, Faster, Older*, 2024, arXiv:2409.03137, Algorithm 1).
    ///
    /// With `t` the 1-based step and `m1 = m2 = nu = 0` at the start:
    /// ```text
    /// m1 <- b1 m1 + (1 - b1) g         (fast, bias-corrected)
    /// m2 <- b3 m2 + (1 - b3) g         (slow, not corrected)
    /// nu <- b2 nu + (1 - b2) g^2
    /// u = (m1 / (1 - b1^t) + alpha m2) / (sqrt(nu / (1 - b2^t) + eps_root) + eps)
    /// w <- w - eta (u + lambda w)
    /// ```
    /// The paper warms `alpha` and `b3` up with schedules over `T_{alpha, b3}` steps; optax (and
    /// this rule) uses constants. optax's alias defaults `alpha = 5` (its `scale_by_ademamix`,
    /// 6). With `b3 = 0.9999` the uncorrected slow average is about `t / 10^4` of the gradient,
    /// so in 100 steps it barely contributes.
    pub(crate) struct AdemamixConfig {
        /// `eta` (optax has no default; 0.001 as Adam's).
        learning_rate: LearningRate = 0.001, Range::POSITIVE;
        /// `b1`, decay of the fast average.
        b1: f64 = 0.9, Range::UNIT;
        /// `b2`, decay of the second moment.
        b2: f64 = 0.999, Range::UNIT;
        /// `b3`, decay of the slow average.
        b3: f64 = 0.9999, Range::UNIT;
        /// `alpha`, the weight of the slow average.
        alpha: f64 = 5.0, Range::NON_NEGATIVE;
        /// `eps`, added to the root.
        eps: f64 = 1e-8, Range::NON_NEGATIVE;
        /// `eps_root`, added under the root.
        eps_root: f64 = 0.0, Range::NON_NEGATIVE;
        /// `lambda`, decoupled weight decay (added to the update before the rate).
        weight_decay: f64 = 0.0, Range::NON_NEGATIVE;
    }
}

/// Batched AdEMAMix.
pub(crate) struct Ademamix {
    b1: Ema,
    b2: Ema,
    b3: Ema,
    alpha: Tensor<2>,
    eps: Tensor<2>,
    eps_root: Tensor<2>,
    decay: AddDecayed,
}

/// The fast and slow averages and the second moment.
pub(crate) struct AdemamixState {
    m1: Tensor<2>,
    m2: Tensor<2>,
    nu: Tensor<2>,
}

impl RuleConfig for AdemamixConfig {
    type Rule = Ademamix;
    const NAME: &'static str = "ademamix";
    const DESCRIPTION: &'static str = "AdEMAMix: Adam plus alpha times a much slower gradient average";
    const SOURCE: Source = Source::Optax;

    fn learning_rate(&self) -> &LearningRate {
        &self.learning_rate
    }
    fn rule(rows: &[Self], device: &Device) -> Ademamix {
        Ademamix {
            b1: Ema::new(rows.iter().map(|c| c.b1), device),
            b2: Ema::new(rows.iter().map(|c| c.b2), device),
            b3: Ema::new(rows.iter().map(|c| c.b3), device),
            alpha: column(rows.iter().map(|c| c.alpha), device),
            eps: column(rows.iter().map(|c| c.eps), device),
            eps_root: column(rows.iter().map(|c| c.eps_root), device),
            decay: AddDecayed::new(rows.iter().map(|c| c.weight_decay), device),
        }
    }
}

impl Rule for Ademamix {
    type State = AdemamixState;

    fn init(&self, params: &Tensor<2>) -> AdemamixState {
        AdemamixState {
            m1: params.zeros_like(),
            m2: params.zeros_like(),
            nu: params.zeros_like(),
        }
    }

    fn update(&self, w: Tensor<2>, g: Tensor<2>, s: AdemamixState, step: &Step) -> (Update, AdemamixState) {
        let m1 = self.b1.update(g.clone(), s.m1);
        let m2 = self.b3.update(g.clone(), s.m2);
        let nu = self.b2.update_squared(g, s.nu);
        let m1_hat = self.b1.debias(m1.clone(), step.t);
        let nu_hat = self.b2.debias(nu.clone(), step.t);
        let u =
            (m1_hat + m2.clone() * self.alpha.clone()) / ((nu_hat + self.eps_root.clone()).sqrt() + self.eps.clone());
        let u = lr_scale(self.decay.apply(u, w), step.lr);
        (Update::Increment(u), AdemamixState { m1, m2, nu })
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::test_util::{assert_close, steps};
    use super::*;

    #[test]
    fn the_slow_average_adds_alpha_times_its_uncorrected_value() {
        let c = AdemamixConfig {
            learning_rate: 1.0.into(),
            b3: 0.5,
            alpha: 2.0,
            eps: 0.0,
            ..Default::default()
        };
        // Step 1: m1_hat = g, nu_hat = g^2, m2 = g / 2: u = (g + g) / |g| = 2 sign(g) (up to
        // float32's 1 - 0.999 = 0.00099998713 in the correction of nu).
        let w = steps(std::slice::from_ref(&c), &[vec![0.0, 0.0]], &[vec![vec![3.0, -0.5]]]);
        assert_close(&w[0], &[vec![-2.0, 2.0]], 2e-5);
        // alpha = 0 is Adam (optax's, eps outside the corrected root).
        let adam = AdemamixConfig { alpha: 0.0, ..c };
        let w = steps(&[adam], &[vec![0.0, 0.0]], &[vec![vec![3.0, -0.5]]]);
        assert_close(&w[0], &[vec![-1.0, 1.0]], 2e-5);
    }

    #[test]
    fn weight_decay_is_added_to_the_update() {
        let c = AdemamixConfig {
            learning_rate: 0.1.into(),
            alpha: 0.0,
            eps: 0.0,
            weight_decay: 0.5,
            ..Default::default()
        };
        let w = steps(&[c], &[vec![2.0, -4.0]], &[vec![vec![1.0, 1.0]]]);
        assert_close(&w[0], &[vec![2.0 - 0.1 * 2.0, -4.0 + 0.1]], 2e-5);
    }
}
