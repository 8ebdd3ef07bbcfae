//! Rectified Adam, as optax's `radam`.

use super::common::{Ema, column, column32, ipow, lr_scale, where_rows};
use super::{LearningRate, Range, Rule, RuleConfig, Source, Step, Update};
use burn::tensor::{Device, Tensor};

crate::hyperparameters! {
    /// optax `radam(learning_rate, b1=0.9, b2=0.999, eps=1e-8, eps_root=0.0, threshold=5.0, *,
    /// nesterov=False)` (Liu et al., *On the Variance of the Adaptive Learning Rate and Beyond*,
    /// ICLR 2020, arXiv:1908.03265, Algorithm 2).
    ///
    /// With `t` the 1-based step, `m = v = 0` at the start and `rho_inf = 2 / (1 - b2) - 1`:
    /// ```text
    /// m <- b1 m + (1 - b1) g,  v <- b2 v + (1 - b2) g^2
    /// m_hat, v_hat = m / (1 - b1^t), v / (1 - b2^t)      (m_hat: Nesterov's form if nesterov)
    /// rho_t = rho_inf - 2 t b2^t / (1 - b2^t)
    /// r_t = sqrt((rho_t - 4) (rho_t - 2) rho_inf / ((rho_inf - 4) (rho_inf - 2) rho_t))
    /// w <- w - eta r_t m_hat / (sqrt(v_hat + eps_root) + eps)    if rho_t >= threshold
    /// w <- w - eta m_hat                                         otherwise
    /// ```
    /// The paper switches on `rho_t > 4`; optax on `rho_t >= threshold` (5, the authors' code).
    /// Until then the step is bias-corrected momentum with no normalisation at all (the first
    /// five steps with b2 = 0.999), so it needs SGD-sized rates on steep surfaces.
    pub(crate) struct RadamConfig {
        /// `eta` (optax has no default; 0.001 as Adam's).
        learning_rate: LearningRate = 0.001, Range::POSITIVE;
        /// `b1`, decay of the first moment.
        b1: f64 = 0.9, Range::UNIT;
        /// `b2`, decay of the second moment.
        b2: f64 = 0.999, Range::UNIT;
        /// `eps`, added to the root of the corrected second moment.
        eps: f64 = 1e-8, Range::NON_NEGATIVE;
        /// `eps_root`, added under the root.
        eps_root: f64 = 0.0, Range::NON_NEGATIVE;
        /// `rho_t` from which the step is rectified (at most 4 selects the rectifier while it is
        /// NaN, on the first steps).
        threshold: f64 = 5.0, Range::ANY;
        /// Nesterov momentum (NAdam's correction).
        nesterov: bool = false => shared;
    }
}

/// Batched RAdam.
pub(crate) struct Radam {
    b1: Ema,
    b2: Ema,
    eps: Tensor<2>,
    eps_root: Tensor<2>,
    /// `(b2, rho_inf, (rho_inf - 4)(rho_inf - 2), threshold)` per row, each a Python float.
    rows: Vec<(f64, f64, f64, f64)>,
    nesterov: bool,
    device: Device,
}

/// The two moments.
pub(crate) struct RadamState {
    mu: Tensor<2>,
    nu: Tensor<2>,
}

impl RuleConfig for RadamConfig {
    type Rule = Radam;
    const NAME: &'static str = "radam";
    const DESCRIPTION: &'static str =
        "RAdam: Adam with the variance of its adaptive rate rectified (momentum SGD at first)";
    const SOURCE: Source = Source::Optax;

    fn learning_rate(&self) -> &LearningRate {
        &self.learning_rate
    }
    fn rule(rows: &[Self], device: &Device) -> Radam {
        Radam {
            b1: Ema::new(rows.iter().map(|c| c.b1), device),
            b2: Ema::new(rows.iter().map(|c| c.b2), device),
            eps: column(rows.iter().map(|c| c.eps), device),
            eps_root: column(rows.iter().map(|c| c.eps_root), device),
            rows: rows
                .iter()
                .map(|c| {
                    let ro_inf = 2.0 / (1.0 - c.b2) - 1.0;
                    (c.b2, ro_inf, (ro_inf - 4.0) * (ro_inf - 2.0), c.threshold)
                })
                .collect(),
            nesterov: rows.iter().any(|c| c.nesterov),
            device: device.clone(),
        }
    }
}

impl Radam {
    /// `r_t` of every row and whether the row rectifies at step `t` (host scalars, as optax's
    /// eager `b2 ** t` is jax's `integer_pow`).
    fn rectifier(&self, t: u64) -> (Tensor<2>, Vec<bool>) {
        let (r, rectify): (Vec<f32>, Vec<bool>) = self
            .rows
            .iter()
            .map(|&(b2, ro_inf, product, threshold)| {
                let b2t = ipow(b2 as f32, t);
                let ro = ro_inf as f32 - ((2 * t) as f32 * b2t) / (1.0 - b2t);
                let r = (((ro - 4.0) * (ro - 2.0)) * ro_inf as f32 / (product as f32 * ro)).sqrt();
                (r, ro >= threshold as f32)
            })
            .unzip();
        (column32(r, &self.device), rectify)
    }
}

impl Rule for Radam {
    type State = RadamState;

    fn init(&self, params: &Tensor<2>) -> RadamState {
        RadamState {
            mu: params.zeros_like(),
            nu: params.zeros_like(),
        }
    }

    fn update(&self, _w: Tensor<2>, g: Tensor<2>, s: RadamState, step: &Step) -> (Update, RadamState) {
        let mu = self.b1.update(g.clone(), s.mu);
        let nu = self.b2.update_squared(g.clone(), s.nu);
        let mu_hat = self.b1.debias_momentum(mu.clone(), g, step.t, self.nesterov);
        let (r, rectify) = self.rectifier(step.t);
        let u = if rectify.iter().any(|&x| x) {
            let nu_hat = self.b2.debias(nu.clone(), step.t);
            let rectified = (mu_hat.clone() * r) / ((nu_hat + self.eps_root.clone()).sqrt() + self.eps.clone());
            where_rows(&rectify, rectified, mu_hat)
        } else {
            mu_hat
        };
        (Update::Increment(lr_scale(u, step.lr)), RadamState { mu, nu })
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::test_util::{assert_close, device, steps};
    use super::*;

    #[test]
    fn the_first_five_steps_are_momentum_then_the_rectified_adam_step() {
        let c = RadamConfig {
            learning_rate: 0.1.into(),
            ..Default::default()
        };
        let rule = RadamConfig::rule(std::slice::from_ref(&c), &device());
        // rho_t in float32: 0.974, 1.960, 2.946, 3.960, 4.961, 5.955 (about t, less the
        // cancellation of 1999 - 1998.03).
        let rectifies: Vec<bool> = (1..=6).map(|t| rule.rectifier(t).1[0]).collect();
        assert_eq!(rectifies, [false, false, false, false, false, true]);
        // With a constant gradient m_hat = g: five plain steps of eta g.
        let grads = vec![vec![vec![2.0f32, -4.0]]; 5];
        let w = steps(&[c], &[vec![0.0, 0.0]], &grads);
        assert_close(&w[4], &[vec![-1.0, 2.0]], 1e-5);
    }

    #[test]
    fn rectified_step_is_r_times_the_normalised_step() {
        let c = RadamConfig {
            learning_rate: 1.0.into(),
            b1: 0.0,
            eps: 0.0,
            ..Default::default()
        };
        let rule = RadamConfig::rule(std::slice::from_ref(&c), &device());
        let r6 = super::super::common::test_util::rows(rule.rectifier(6).0)[0][0] as f64;
        // The exact r_6 (float32's rho_6 is 5.955 for 5.994: r is a little smaller).
        let ro_inf: f64 = 1999.0;
        let ro: f64 = ro_inf - 12.0 * 0.999f64.powi(6) / (1.0 - 0.999f64.powi(6));
        let exact = ((ro - 4.0) * (ro - 2.0) * ro_inf / ((ro_inf - 4.0) * (ro_inf - 2.0) * ro)).sqrt();
        assert!((r6 - exact).abs() < 0.02 * exact, "{r6} vs {exact}");
        // b1 = 0, a constant g: five steps of g, then v_hat = g^2 and the step is r_6 sign(g).
        let grads = vec![vec![vec![2.0f32, -4.0]]; 6];
        let w = steps(&[c], &[vec![0.0, 0.0]], &grads);
        assert_close(&w[5], &[vec![-10.0 - r6, 20.0 + r6]], 1e-6);
    }
}
