//! NovoGrad, as optax's `novograd`.

use super::common::{column, fma, linalg_norm, lr_scale};
use super::{LearningRate, Range, Rule, RuleConfig, Source, Step, Update};
use crate::params::columns;
use burn::tensor::{Device, Tensor};

crate::hyperparameters! {
    /// optax `novograd(learning_rate, b1=0.9, b2=0.25, eps=1e-6, eps_root=0.0,
    /// weight_decay=0.0)` (Ginsburg et al., *Stochastic Gradient Methods with Layer-wise Adaptive
    /// Moments for Training of Deep Networks*, 2019, arXiv:1905.11286, Algorithm 1), each row one
    /// layer.
    ///
    /// With `t` the 1-based step; `v` is one number per row (the layer's):
    /// ```text
    /// v <- |g|^2                                   (t = 1)
    /// v <- b2 v + (1 - b2) |g|^2                   (t > 1)
    /// a = g / (sqrt(v + eps_root) + eps) + lambda w
    /// m <- a (t = 1),  m <- b1 m + a (t > 1)       (momentum, not an average)
    /// w <- w - eta m
    /// ```
    /// optax follows the paper, the weight decay coupled inside the momentum as there, except
    /// that `eps` is added at the first step too (the paper's `m_1 = g_1 / sqrt(v_1) + lambda w`).
    /// optax picks the first or a later step with `lax.cond`, whose branches XLA compiles with
    /// fused multiply-adds; this rule fuses where XLA does.
    pub(crate) struct NovogradConfig {
        /// `eta` (optax has no default; 0.01 as the paper's).
        learning_rate: LearningRate = 0.01, Range::POSITIVE;
        /// `b1`, the momentum.
        b1: f64 = 0.9, Range::UNIT;
        /// `b2`, decay of the layer's squared gradient norm.
        b2: f64 = 0.25, Range::UNIT;
        /// `eps`, added to the root.
        eps: f64 = 1e-6, Range::NON_NEGATIVE;
        /// `eps_root`, added under the root.
        eps_root: f64 = 0.0, Range::NON_NEGATIVE;
        /// `lambda`, weight decay added to the normalised gradient (inside the momentum).
        weight_decay: f64 = 0.0, Range::NON_NEGATIVE;
    }
}

/// Batched NovoGrad.
pub(crate) struct Novograd {
    b1: Tensor<2>,
    b2: Tensor<2>,
    one_minus_b2: Tensor<2>,
    eps: Tensor<2>,
    eps_root: Tensor<2>,
    weight_decay: Tensor<2>,
}

/// The momentum and each row's second moment (`[N, 1]`).
pub(crate) struct NovogradState {
    mu: Tensor<2>,
    nu: Tensor<2>,
}

impl RuleConfig for NovogradConfig {
    type Rule = Novograd;
    const NAME: &'static str = "novograd";
    const DESCRIPTION: &'static str = "NovoGrad: momentum of g normalised by a moving average of the layer's |g|^2";
    const SOURCE: Source = Source::Optax;

    fn learning_rate(&self) -> &LearningRate {
        &self.learning_rate
    }
    fn rule(rows: &[Self], device: &Device) -> Novograd {
        let col = |f: fn(&NovogradConfig) -> f64| column(rows.iter().map(f), device);
        Novograd {
            b1: col(|c| c.b1),
            b2: col(|c| c.b2),
            one_minus_b2: col(|c| 1.0 - c.b2),
            eps: col(|c| c.eps),
            eps_root: col(|c| c.eps_root),
            weight_decay: col(|c| c.weight_decay),
        }
    }
}

impl Rule for Novograd {
    type State = NovogradState;

    fn init(&self, params: &Tensor<2>) -> NovogradState {
        NovogradState {
            mu: params.zeros_like(),
            nu: self.b1.zeros_like(),
        }
    }

    fn update(&self, w: Tensor<2>, g: Tensor<2>, s: NovogradState, step: &Step) -> (Update, NovogradState) {
        // Per leaf (variable), jnp.linalg.norm(g) ** 2: the fused norm, rounded, then squared.
        let gn2 = step.layout.per_variable(|cols| {
            let gn = linalg_norm(columns(&g, cols));
            gn.clone() * gn
        });
        let nu = if step.t == 1 {
            gn2
        } else {
            fma(self.one_minus_b2.clone(), gn2, s.nu * self.b2.clone())
        };
        let r = ((nu.clone() + self.eps_root.clone()).sqrt() + self.eps.clone()).recip();
        // g / denom + lambda w, fused by XLA as fma(g, 1 / denom, lambda w) (also for lambda = 0).
        let a = fma(g, r, w * self.weight_decay.clone());
        let mu = if step.t == 1 { a } else { fma(self.b1.clone(), s.mu, a) };
        (
            Update::Increment(lr_scale(mu.clone(), step.lr)),
            NovogradState { mu, nu },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::test_util::{assert_close, steps};
    use super::*;

    #[test]
    fn normalised_by_the_layer_norm_with_momentum() {
        let c = NovogradConfig {
            learning_rate: 1.0.into(),
            b1: 0.5,
            b2: 0.5,
            eps: 0.0,
            ..Default::default()
        };
        // Step 1: v = |g|^2 = 25, m = g / 5. Step 2, g' = (0, 5): v = (25 + 25) / 2 = 25,
        // m = m / 2 + g' / 5.
        let grads = vec![vec![vec![3.0f32, 4.0]], vec![vec![0.0, 5.0]]];
        let w = steps(&[c], &[vec![0.0, 0.0]], &grads);
        assert_close(&w[0], &[vec![-0.6, -0.8]], 1e-6);
        assert_close(&w[1], &[vec![-0.6 - 0.3, -0.8 - 0.4 - 1.0]], 1e-6);
    }

    #[test]
    fn weight_decay_enters_the_momentum() {
        let c = NovogradConfig {
            learning_rate: 1.0.into(),
            b1: 0.5,
            eps: 0.0,
            weight_decay: 0.1,
            ..Default::default()
        };
        // m1 = g / |g| + 0.1 w = (1, 0) + (1, -1).
        let w = steps(&[c], &[vec![10.0, -10.0]], &[vec![vec![2.0, 0.0]]]);
        assert_close(&w[0], &[vec![8.0, -9.0]], 1e-6);
    }
}
