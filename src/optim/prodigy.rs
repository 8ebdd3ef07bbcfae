//! Prodigy, as optax's `contrib.prodigy`.

use super::common::{Ema, adam_correction, column, column32, maximum, vdot};
use super::{LearningRate, Range, Rule, RuleConfig, Source, Step, Update};
use burn::tensor::{Device, Tensor};

crate::hyperparameters! {
    /// optax `contrib.prodigy(learning_rate=1.0, betas=(0.9, 0.999), beta3=None, eps=1e-8,
    /// estim_lr0=1e-6, estim_lr_coef=1.0, weight_decay=0.0, safeguard_warmup=False)`
    /// (Mishchenko & Defazio, *Prodigy: An Expeditiously Adaptive Parameter-Free Learner*, ICML
    /// 2024, arXiv:2306.06101, and its reference code `prodigyopt`).
    ///
    /// Adam whose rate is `eta d`, with `d` (from `estim_lr0`) an estimate of the distance to the
    /// solution that only grows; `t` the 1-based step, `beta3 = sqrt(beta2)` unless given:
    /// ```text
    /// eta_t = d eta sqrt(1 - beta2^t) / (1 - beta1^t)
    /// m <- beta1 m + (1 - beta1) d g,   v <- beta2 v + (1 - beta2) d^2 g^2
    /// s <- beta3 s + eta_t d g / d0                  (safeguard_warmup: d^2 g / d0)
    /// r <- beta3 r + (d / d0) eta_t <g, w_0 - w>
    /// d <- max(d, coef r / |s|_1)
    /// w <- w - eta_t lambda w - eta_t m / (sqrt(v) + d eps)
    /// ```
    /// optax follows `prodigyopt` line by line except: it always applies the bias correction
    /// inside `eta_t` (`prodigyopt`'s `use_bias_correction` is off by default), has no
    /// `growth_rate` limit, and does not skip the `d` update when `|s|_1 = 0` (from a stationary
    /// start prodigy is NaN after one step). Its first step moves each coordinate by about
    /// `eta d0`; when that is below half an ulp of every coordinate the point never moves and `d`
    /// never grows (from (9, 9), any `eta < 0.477`).
    pub(crate) struct ProdigyConfig {
        /// `eta`, a multiplier of the estimated rate.
        learning_rate: LearningRate = 1.0, Range::POSITIVE;
        /// `(beta1, beta2)`, decays of Adam's moments.
        betas: [f64; 2] = [0.9, 0.999], Range::UNIT;
        /// `beta3`, decay of the sums behind `d` (`sqrt(beta2)` when none).
        beta3: Option<f64> = None, Range::UNIT;
        /// `eps`, scaled by `d` in the denominator.
        eps: f64 = 1e-8, Range::NON_NEGATIVE;
        /// `d0`, the initial estimate, > 0.
        estim_lr0: f64 = 1e-6, Range::POSITIVE;
        /// `coef`, a multiplier of the estimate (`prodigyopt`'s `d_coef`), > 0.
        estim_lr_coef: f64 = 1.0, Range::POSITIVE;
        /// `lambda`, decoupled weight decay.
        weight_decay: f64 = 0.0, Range::NON_NEGATIVE;
        /// Leave the rate out of the sum `s` (for the first steps).
        safeguard_warmup: bool = false => shared;
    }
}

/// Batched Prodigy.
pub(crate) struct Prodigy {
    beta1: Ema,
    beta2: Ema,
    beta3: Tensor<2>,
    eps: Tensor<2>,
    d0: Tensor<2>,
    inv_d0: Tensor<2>,
    coef: Tensor<2>,
    minus_weight_decay: Tensor<2>,
    safeguard: bool,
}

/// Adam's moments, the sums behind `d`, `d` itself (`[N, 1]`) and the start.
pub(crate) struct ProdigyState {
    exp_avg: Tensor<2>,
    exp_avg_sq: Tensor<2>,
    grad_sum: Tensor<2>,
    numerator: Tensor<2>,
    d: Tensor<2>,
    w0: Tensor<2>,
}

impl RuleConfig for ProdigyConfig {
    type Rule = Prodigy;
    const NAME: &'static str = "prodigy";
    const DESCRIPTION: &'static str =
        "Prodigy: Adam at a rate it estimates from the distance travelled (learning-rate free)";
    const SOURCE: Source = Source::Optax;

    fn learning_rate(&self) -> &LearningRate {
        &self.learning_rate
    }
    fn rule(rows: &[Self], device: &Device) -> Prodigy {
        let col = |f: &dyn Fn(&ProdigyConfig) -> f64| column(rows.iter().map(f), device);
        Prodigy {
            beta1: Ema::new(rows.iter().map(|c| c.betas[0]), device),
            beta2: Ema::new(rows.iter().map(|c| c.betas[1]), device),
            // beta2 ** 0.5, a Python float (glibc's pow).
            beta3: col(&|c| c.beta3.unwrap_or(c.betas[1].powf(0.5))),
            eps: col(&|c| c.eps),
            d0: col(&|c| c.estim_lr0),
            inv_d0: column32(rows.iter().map(|c| 1.0 / c.estim_lr0 as f32), device),
            coef: col(&|c| c.estim_lr_coef),
            minus_weight_decay: col(&|c| -c.weight_decay),
            safeguard: rows.iter().any(|c| c.safeguard_warmup),
        }
    }
}

impl Rule for Prodigy {
    type State = ProdigyState;

    fn init(&self, params: &Tensor<2>) -> ProdigyState {
        ProdigyState {
            exp_avg: params.zeros_like(),
            exp_avg_sq: params.zeros_like(),
            grad_sum: params.zeros_like(),
            numerator: self.d0.zeros_like(),
            d: self.d0.clone(),
            w0: params.clone(),
        }
    }

    fn update(&self, w: Tensor<2>, g: Tensor<2>, s: ProdigyState, step: &Step) -> (Update, ProdigyState) {
        let bc = adam_correction(&self.beta1, &self.beta2, step.t);
        let d = s.d;
        let dlr = (d.clone() * step.lr.clone()) * bc;
        let dg = g.clone() * d.clone();
        let numerator_acum = vdot(g, s.w0.clone() - w.clone());
        let exp_avg = self.beta1.update(dg.clone(), s.exp_avg);
        let exp_avg_sq =
            (dg.clone() * self.beta2.complement().clone()) * dg.clone() + s.exp_avg_sq * self.beta2.decay().clone();
        // A division of the row by the Python float d0 is a product with float32's 1 / d0.
        let added = if self.safeguard {
            dg * d.clone()
        } else {
            dg * dlr.clone()
        };
        let grad_sum = s.grad_sum * self.beta3.clone() + added * self.inv_d0.clone();
        let numerator =
            s.numerator * self.beta3.clone() + ((d.clone() / self.d0.clone()) * dlr.clone()) * numerator_acum;
        let denominator = grad_sum.clone().abs().sum_dim(1);
        let d_new = maximum(d, (numerator.clone() * self.coef.clone()) / denominator);
        let u = w * (dlr.clone() * self.minus_weight_decay.clone())
            - (exp_avg.clone() * dlr) / (exp_avg_sq.clone().sqrt() + d_new.clone() * self.eps.clone());
        let state = ProdigyState {
            exp_avg,
            exp_avg_sq,
            grad_sum,
            numerator,
            d: d_new,
            w0: s.w0,
        };
        (Update::Increment(u), state)
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::test_util::{assert_close, device, increments, rows, steps};
    use super::*;

    #[test]
    fn the_first_step_is_eta_d0_and_d_grows_with_the_distance() {
        let c = ProdigyConfig {
            estim_lr0: 0.01,
            ..Default::default()
        };
        let rule = ProdigyConfig::rule(std::slice::from_ref(&c), &device());
        let trace = increments(&rule, &[vec![1.0, -1.0]], &[vec![0.5, -2.0]], 5, 1.0, |s| {
            rows(s.d.clone())[0][0]
        });
        // The bias correction cancels m / sqrt(v)'s (1 - beta1) / sqrt(1 - beta2).
        assert_close(&trace[0].0, &[vec![-0.01, 0.01]], 1e-4);
        let ds: Vec<f32> = trace.iter().map(|(_, d)| *d).collect();
        // d stays d0 while the point has not moved (<g, w0 - w> = 0), then grows.
        assert_eq!(ds[0], 0.01);
        assert!(ds.windows(2).all(|p| p[1] >= p[0]) && ds[4] > 0.011, "{ds:?}");
    }

    #[test]
    fn a_first_step_below_half_an_ulp_freezes_it() {
        // From (9, 9) the first step 0.3e-6 is below half of ulp(9) = 9.5e-7: the point never
        // moves, so <g, w0 - w> stays 0 and d never grows.
        let c = ProdigyConfig {
            learning_rate: 0.3.into(),
            ..Default::default()
        };
        let grads = vec![vec![vec![0.18f32, 0.18]]; 20];
        let w = steps(&[c], &[vec![9.0, 9.0]], &grads);
        assert_close(&w[19], &[vec![9.0, 9.0]], 0.0);
    }

    #[test]
    fn a_stationary_start_is_nan_after_one_step() {
        let w = steps(&[ProdigyConfig::default()], &[vec![0.0, 0.0]], &[vec![vec![0.0, 0.0]]]);
        assert!(w[0][0].iter().all(|x| x.is_nan()), "{w:?}");
    }
}
