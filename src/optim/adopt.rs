//! ADOPT, as optax's `contrib.adopt`.

use super::common::{column, column32, lr_scale, maximum};
use super::{LearningRate, Range, Rule, RuleConfig, Source, Step, Update};
use burn::tensor::{Device, Tensor};

crate::hyperparameters! {
    /// optax `contrib.adopt(learning_rate, b1=0.9, b2=0.9999, eps=1e-6, *, nesterov=False,
    /// use_clipping=True)` (Taniguchi et al., *ADOPT: Modified Adam Can Converge with Any beta_2
    /// with the Optimal Rate*, NeurIPS 2024, arXiv:2411.02853).
    ///
    /// The gradient is normalised by the second moment *before* it is updated with it, and then
    /// averaged; with `t` the 1-based step and `v_0 = g_1^2` (the first step only sets `v`):
    /// ```text
    /// q = clip(g / max(sqrt(v), eps), -(t-1)^(1/4), (t-1)^(1/4))     (the old v)
    /// m <- b1 m + (1 - b1) q             (t > 1; nesterov: the step is (1 - b1) q + b1 m)
    /// v <- b2 v + (1 - b2) g^2
    /// w <- w - eta m
    /// ```
    /// optax matches the paper, its first update (exactly zero: the clip bound is `0^(1/4)`)
    /// being the paper's initialisation; `use_clipping = false` is the unclipped ADOPT and
    /// Nesterov is optax's addition. optax holds `b1` and `b2` as float32 arrays here, so
    /// `1 - b` is float32 arithmetic.
    pub(crate) struct AdoptConfig {
        /// `eta` (optax has no default; 0.001 as the paper's).
        learning_rate: LearningRate = 0.001, Range::POSITIVE;
        /// `b1`, decay of the momentum.
        b1: f64 = 0.9, Range::UNIT;
        /// `b2`, decay of the second moment.
        b2: f64 = 0.9999, Range::UNIT;
        /// `eps`, the floor of `sqrt(v)`, > 0.
        eps: f64 = 1e-6, Range::POSITIVE;
        /// Nesterov momentum.
        nesterov: bool = false => shared;
        /// Clip the normalised gradient to `(t - 1)^(1/4)`.
        use_clipping: bool = true => shared;
    }
}

/// Batched ADOPT.
pub(crate) struct Adopt {
    b1: Vec<f32>,
    b2: Vec<f32>,
    eps: Tensor<2>,
    nesterov: bool,
    clip: bool,
    device: Device,
}

/// The momentum and the second moment.
pub(crate) struct AdoptState {
    mu: Tensor<2>,
    nu: Tensor<2>,
}

impl RuleConfig for AdoptConfig {
    type Rule = Adopt;
    const NAME: &'static str = "adopt";
    const DESCRIPTION: &'static str = "ADOPT: momentum of g normalised by the previous second moment, clipped";
    const SOURCE: Source = Source::Optax;

    fn learning_rate(&self) -> &LearningRate {
        &self.learning_rate
    }
    fn rule(rows: &[Self], device: &Device) -> Adopt {
        Adopt {
            b1: rows.iter().map(|c| c.b1 as f32).collect(),
            b2: rows.iter().map(|c| c.b2 as f32).collect(),
            eps: column(rows.iter().map(|c| c.eps), device),
            nesterov: rows.iter().any(|c| c.nesterov),
            clip: rows.iter().any(|c| c.use_clipping),
            device: device.clone(),
        }
    }
}

impl Rule for Adopt {
    type State = AdoptState;

    fn init(&self, params: &Tensor<2>) -> AdoptState {
        AdoptState {
            mu: params.zeros_like(),
            nu: params.zeros_like(),
        }
    }

    fn update(&self, _w: Tensor<2>, g: Tensor<2>, s: AdoptState, step: &Step) -> (Update, AdoptState) {
        // jnp.where(count > 0, b, 0 or 1): float32 arrays, so 1 - b is float32's.
        let first = step.t == 1;
        let pair = |b: &[f32], at_first: f32| {
            let b: Vec<f32> = b.iter().map(|&b| if first { at_first } else { b }).collect();
            let complement: Vec<f32> = b.iter().map(|b| 1.0 - b).collect();
            (column32(b, &self.device), column32(complement, &self.device))
        };
        let (b1, one_minus_b1) = pair(&self.b1, 1.0);
        let (b2, one_minus_b2) = pair(&self.b2, 0.0);
        let nu = (g.clone() * g.clone()) * one_minus_b2 + s.nu.clone() * b2;
        let dims = g.dims();
        let mut q = g / maximum(s.nu.sqrt(), self.eps.clone().expand(dims));
        if self.clip {
            // count ** 0.25 with the count before this step: 0 on the first.
            let c = ((step.t - 1) as f32).powf(0.25);
            q = q.clamp(-c, c);
        }
        let mu = q.clone() * one_minus_b1.clone() + s.mu * b1.clone();
        let u = if self.nesterov {
            q * one_minus_b1 + mu.clone() * b1
        } else {
            mu.clone()
        };
        (Update::Increment(lr_scale(u, step.lr)), AdoptState { mu, nu })
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::test_util::{assert_close, steps};
    use super::*;

    #[test]
    fn the_first_step_only_sets_v_then_the_clipped_normalised_gradient() {
        let c = AdoptConfig {
            learning_rate: 1.0.into(),
            b1: 0.5,
            ..Default::default()
        };
        // Step 1: no move, v = g^2 = (4, 0.25). Step 2 (bound 1): q = g / sqrt(v) = (1, -1) for
        // the same g, m = q / 2.
        let grads = vec![vec![vec![2.0f32, -0.5]]; 3];
        let w = steps(&[c], &[vec![1.0, 1.0]], &grads);
        assert_close(&w[0], &[vec![1.0, 1.0]], 0.0);
        assert_close(&w[1], &[vec![0.5, 1.5]], 1e-6);
        // Step 3 (bound 2^(1/4)): v moved by 1e-4 of nothing (g^2 = v): q = (1, -1) again,
        // m = 0.25 + 0.5.
        assert_close(&w[2], &[vec![-0.25, 2.25]], 1e-6);
    }

    #[test]
    fn clipping_bounds_a_sudden_large_gradient() {
        let clipped = AdoptConfig {
            learning_rate: 1.0.into(),
            b1: 0.0,
            ..Default::default()
        };
        let free = AdoptConfig {
            use_clipping: false,
            ..clipped.clone()
        };
        let grads = vec![vec![vec![1.0f32, 1.0]], vec![vec![100.0, 1.0]]];
        // Step 2: q = 100 / 1, clipped to 1^(1/4) = 1.
        let w = steps(&[clipped], &[vec![0.0, 0.0]], &grads);
        assert_close(&w[1], &[vec![-1.0, -1.0]], 1e-6);
        let w = steps(&[free], &[vec![0.0, 0.0]], &grads);
        assert_close(&w[1], &[vec![-100.0, -1.0]], 1e-6);
    }
}
