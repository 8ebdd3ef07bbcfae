//! AdaBelief, as optax's `adabelief`.

use super::common::{Ema, column, lr_scale};
use super::{LearningRate, Range, Rule, RuleConfig, Source, Step, Update};
use burn::tensor::{Device, Tensor};

crate::hyperparameters! {
    /// optax `adabelief(learning_rate, b1=0.9, b2=0.999, eps=1e-16, eps_root=1e-16, *,
    /// nesterov=False)` (Zhuang et al., *AdaBelief Optimizer: Adapting Stepsizes by the Belief in
    /// Observed Gradients*, NeurIPS 2020, arXiv:2010.07468, Algorithm 2).
    ///
    /// With `t` the 1-based step and `m = s = 0` at the start:
    /// ```text
    /// m <- b1 m + (1 - b1) g
    /// s <- b2 s + (1 - b2) (g - m)^2 + eps_root        (the new m: the "belief" error)
    /// m_hat = m / (1 - b1^t)      (nesterov: b1 m / (1 - b1^(t+1)) + (1 - b1) g / (1 - b1^t))
    /// s_hat = s / (1 - b2^t)
    /// w <- w - eta m_hat / (sqrt(s_hat) + eps)
    /// ```
    /// optax follows the paper, `eps_root` accumulating in `s` as the paper's `epsilon` does;
    /// its defaults differ: `eps = eps_root = 1e-16` where the paper uses 1e-8 for both (so with
    /// the defaults the epsilons are invisible for gradients above ~1e-7). Nesterov is optax's
    /// addition.
    pub(crate) struct AdabeliefConfig {
        /// `eta` (optax has no default; 0.001 as Adam's).
        learning_rate: LearningRate = 0.001, Range::POSITIVE;
        /// `b1`, decay of the first moment.
        b1: f64 = 0.9, Range::UNIT;
        /// `b2`, decay of the belief `s`.
        b2: f64 = 0.999, Range::UNIT;
        /// `eps`, added to `sqrt(s_hat)`.
        eps: f64 = 1e-16, Range::NON_NEGATIVE;
        /// `eps_root`, added to `s` every step.
        eps_root: f64 = 1e-16, Range::NON_NEGATIVE;
        /// Nesterov momentum (NAdam's correction).
        nesterov: bool = false => shared;
    }
}

/// Batched AdaBelief.
pub(crate) struct Adabelief {
    b1: Ema,
    b2: Ema,
    eps: Tensor<2>,
    eps_root: Tensor<2>,
    nesterov: bool,
}

/// The first moment and the belief.
pub(crate) struct AdabeliefState {
    mu: Tensor<2>,
    nu: Tensor<2>,
}

impl RuleConfig for AdabeliefConfig {
    type Rule = Adabelief;
    const NAME: &'static str = "adabelief";
    const DESCRIPTION: &'static str = "AdaBelief: Adam scaled by the variance of g around its moving average";
    const SOURCE: Source = Source::Optax;

    fn learning_rate(&self) -> &LearningRate {
        &self.learning_rate
    }
    fn rule(rows: &[Self], device: &Device) -> Adabelief {
        Adabelief {
            b1: Ema::new(rows.iter().map(|c| c.b1), device),
            b2: Ema::new(rows.iter().map(|c| c.b2), device),
            eps: column(rows.iter().map(|c| c.eps), device),
            eps_root: column(rows.iter().map(|c| c.eps_root), device),
            nesterov: rows.iter().any(|c| c.nesterov),
        }
    }
}

impl Rule for Adabelief {
    type State = AdabeliefState;

    fn init(&self, params: &Tensor<2>) -> AdabeliefState {
        AdabeliefState {
            mu: params.zeros_like(),
            nu: params.zeros_like(),
        }
    }

    fn update(&self, _w: Tensor<2>, g: Tensor<2>, s: AdabeliefState, step: &Step) -> (Update, AdabeliefState) {
        let mu = self.b1.update(g.clone(), s.mu);
        // optax stores s with eps_root added, so eps_root accumulates (also when it is 0: + 0).
        let nu = self.b2.update_squared(g.clone() - mu.clone(), s.nu) + self.eps_root.clone();
        let mu_hat = self.b1.debias_momentum(mu.clone(), g, step.t, self.nesterov);
        let nu_hat = self.b2.debias(nu.clone(), step.t);
        let u = mu_hat / (nu_hat.sqrt() + self.eps.clone());
        (Update::Increment(lr_scale(u, step.lr)), AdabeliefState { mu, nu })
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::test_util::{assert_close, device, increments, rows, steps};
    use super::*;

    #[test]
    fn the_belief_is_the_squared_error_of_the_prediction() {
        let c = AdabeliefConfig {
            learning_rate: 1.0.into(),
            b1: 0.5,
            b2: 0.5,
            eps: 0.0,
            eps_root: 0.0,
            ..Default::default()
        };
        // Step 1: m = g/2, s = (g - g/2)^2 / 2 = g^2 / 8; m_hat = g, s_hat = g^2 / 4: the step is
        // 2 sign(g), twice Adam's.
        let grads = vec![vec![vec![4.0f32, -1.0]], vec![vec![4.0, -1.0]]];
        let w = steps(&[c], &[vec![0.0, 0.0]], &grads);
        assert_close(&w[0], &[vec![-2.0, 2.0]], 1e-6);
        // Step 2 with the same g: m = 3g/4, s = (g^2/8 + g^2/16) / 2 = 3 g^2 / 32;
        // m_hat = g, s_hat = g^2 / 8: the step is sqrt(8) sign(g).
        let r8 = 8f64.sqrt();
        assert_close(&w[1], &[vec![-2.0 - r8, 2.0 + r8]], 1e-5);
    }

    #[test]
    fn eps_root_accumulates_in_the_state() {
        // A zero gradient: m = 0, s = eps_root each step added: s_t = sum of b2^k eps_root.
        let c = AdabeliefConfig {
            learning_rate: 1.0.into(),
            b2: 0.5,
            eps: 0.0,
            eps_root: 1.0,
            ..Default::default()
        };
        let rule = AdabeliefConfig::rule(std::slice::from_ref(&c), &device());
        let trace = increments(&rule, &[vec![1.0, 1.0]], &[vec![0.0, 0.0]], 3, 1.0, |s| {
            rows(s.nu.clone())
        });
        // 1, 1.5, 1.75.
        assert_close(&trace[2].1, &[vec![1.75, 1.75]], 1e-7);
    }
}
