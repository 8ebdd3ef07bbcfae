//! Adam as optax's `adam`: the inner optimizer of optax's Lookahead and SAM examples, registered
//! as `adam_optax` beside Keras's `adam`.

use super::common::{Ema, column, lr_scale};
use super::{LearningRate, Range, Rule, RuleConfig, Source, Step, Update};
use burn::tensor::{Device, Tensor};

crate::hyperparameters! {
    /// optax `adam(learning_rate, b1=0.9, b2=0.999, eps=1e-8, eps_root=0.0, *, nesterov=False)`
    /// (Kingma & Ba, *Adam: A Method for Stochastic Optimization*, ICLR 2015, arXiv:1412.6980).
    ///
    /// With `t` the 1-based step and `m = v = 0` at the start:
    /// ```text
    /// m <- b1 m + (1 - b1) g
    /// v <- b2 v + (1 - b2) g^2
    /// m_hat = m / (1 - b1^t)      (nesterov: b1 m / (1 - b1^(t+1)) + (1 - b1) g / (1 - b1^t))
    /// v_hat = v / (1 - b2^t)
    /// w <- w - eta m_hat / (sqrt(v_hat + eps_root) + eps)
    /// ```
    /// This is the paper's Algorithm 1 (with `eps_root`, and Nesterov momentum as in Dozat's
    /// NAdam), and not Keras's `adam`: Keras adds its epsilon to the uncorrected `sqrt(v)`,
    /// defaults it to 1e-7 and names the arguments `beta_1, beta_2, epsilon`.
    pub(crate) struct AdamOptaxConfig {
        /// `eta` (optax has no default; 0.001 as Keras's).
        learning_rate: LearningRate = 0.001, Range::POSITIVE;
        /// `b1`, decay of the first moment.
        b1: f64 = 0.9, Range::UNIT;
        /// `b2`, decay of the second moment.
        b2: f64 = 0.999, Range::UNIT;
        /// `eps`, added to the root of the corrected second moment.
        eps: f64 = 1e-8, Range::NON_NEGATIVE;
        /// `eps_root`, added under the root.
        eps_root: f64 = 0.0, Range::NON_NEGATIVE;
        /// Nesterov momentum (NAdam's correction).
        nesterov: bool = false => shared;
    }
}

/// Batched optax Adam.
pub(crate) struct AdamOptax {
    b1: Ema,
    b2: Ema,
    eps: Tensor<2>,
    eps_root: Tensor<2>,
    nesterov: bool,
}

/// The two moments.
pub(crate) struct AdamOptaxState {
    mu: Tensor<2>,
    nu: Tensor<2>,
}

impl RuleConfig for AdamOptaxConfig {
    type Rule = AdamOptax;
    const NAME: &'static str = "adam_optax";
    const DESCRIPTION: &'static str =
        "Adam as optax's adam (eps outside the corrected root, 1e-8): the inner optimizer of optax's examples";
    const SOURCE: Source = Source::Optax;

    fn learning_rate(&self) -> &LearningRate {
        &self.learning_rate
    }
    fn rule(rows: &[Self], device: &Device) -> AdamOptax {
        AdamOptax {
            b1: Ema::new(rows.iter().map(|c| c.b1), device),
            b2: Ema::new(rows.iter().map(|c| c.b2), device),
            eps: column(rows.iter().map(|c| c.eps), device),
            eps_root: column(rows.iter().map(|c| c.eps_root), device),
            nesterov: rows.iter().any(|c| c.nesterov),
        }
    }
}

impl Rule for AdamOptax {
    type State = AdamOptaxState;

    fn init(&self, params: &Tensor<2>) -> AdamOptaxState {
        AdamOptaxState {
            mu: params.zeros_like(),
            nu: params.zeros_like(),
        }
    }

    fn update(&self, _w: Tensor<2>, g: Tensor<2>, s: AdamOptaxState, step: &Step) -> (Update, AdamOptaxState) {
        let mu = self.b1.update(g.clone(), s.mu);
        let nu = self.b2.update_squared(g.clone(), s.nu);
        let mu_hat = self.b1.debias_momentum(mu.clone(), g, step.t, self.nesterov);
        let nu_hat = self.b2.debias(nu.clone(), step.t);
        let u = mu_hat / ((nu_hat + self.eps_root.clone()).sqrt() + self.eps.clone());
        (Update::Increment(lr_scale(u, step.lr)), AdamOptaxState { mu, nu })
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::test_util::{assert_close, steps};
    use super::*;

    #[test]
    fn first_step_moves_lr_per_coordinate_and_eps_is_outside_the_corrected_root() {
        // m_hat = g, v_hat = g^2 at t = 1: the step is eta g / (|g| + eps).
        let c = AdamOptaxConfig {
            learning_rate: 0.1.into(),
            eps: 0.5,
            ..Default::default()
        };
        let w = steps(&[c], &[vec![1.0, -2.0]], &[vec![vec![2.0, -0.5]]]);
        assert_close(&w[0], &[vec![1.0 - 0.1 * 2.0 / 2.5, -2.0 + 0.1 * 0.5 / 1.0]], 1e-6);
    }

    #[test]
    fn nesterov_weighs_the_gradient_in() {
        let plain = AdamOptaxConfig {
            learning_rate: 1.0.into(),
            eps: 0.0,
            ..Default::default()
        };
        let nesterov = AdamOptaxConfig {
            nesterov: true,
            ..plain.clone()
        };
        let grads = vec![vec![vec![1.0f32, 1.0]], vec![vec![-1.0, 1.0]]];
        let w = steps(&[plain], &[vec![0.0, 0.0]], &grads);
        // Step 2, x: m = 0.9 * 0.1 - 0.1 = -0.01, y: m = 0.19; v_hat = 1 (g^2 = 1 twice).
        let plain_x = -1.0 - (-0.01 / (1.0 - 0.81));
        assert_close(&w[1], &[vec![plain_x, -2.0]], 1e-5);
        // Nesterov (a flag: a batch of its own): b1 m / (1 - b1^(t+1)) + (1 - b1) g / (1 - b1^t).
        let w = steps(&[nesterov], &[vec![0.0, 0.0]], &grads);
        let nag = |m: f64, g: f64, t: i32| 0.9 * m / (1.0 - 0.9f64.powi(t + 1)) + 0.1 * g / (1.0 - 0.9f64.powi(t));
        let first = -nag(0.1, 1.0, 1);
        assert_close(
            &w[1],
            &[vec![first - nag(-0.01, -1.0, 2), first - nag(0.19, 1.0, 2)]],
            1e-5,
        );
    }
}
