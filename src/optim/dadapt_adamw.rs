//! D-Adaptation's AdamW, as optax's `contrib.dadapt_adamw`.

use super::common::{Ema, adam_correction, column, maximum, vdot};
use super::{LearningRate, Range, Rule, RuleConfig, Source, Step, Update};
use burn::tensor::{Device, Tensor};

crate::hyperparameters! {
    /// optax `contrib.dadapt_adamw(learning_rate=1.0, betas=(0.9, 0.999), eps=1e-8,
    /// estim_lr0=1e-6, weight_decay=0.0)` (Defazio & Mishchenko, *Learning-Rate-Free Learning by
    /// D-Adaptation*, ICML 2023, arXiv:2301.07733; the Adam variant of the authors'
    /// `dadaptation.DAdaptAdam`).
    ///
    /// Adam whose rate is `eta d`, with `d` (from `estim_lr0`) a lower bound of the distance to
    /// the solution that only grows; `t` the 1-based step, `b = sqrt(beta2)`:
    /// ```text
    /// eta_t = d eta sqrt(1 - beta2^t) / (1 - beta1^t)
    /// r <- b r + (1 - b) eta_t <g, s / (sqrt(v) + eps)>      (the old s and v)
    /// m <- beta1 m + (1 - beta1) eta_t g,   v <- beta2 v + (1 - beta2) g^2
    /// s <- b s + (1 - b) eta_t g
    /// d <- max(d, r / ((1 - b) |s|_1))
    /// w <- w - eta_t lambda w - m / (sqrt(v) + eps)
    /// ```
    /// Departures of optax from `DAdaptAdam`: the bias correction is always on (off by default
    /// there), the weight decay always decoupled (coupled L2 by default there), no
    /// `growth_rate`, and no early return when `|s|_1 = 0` (from a stationary start it is NaN
    /// from step 2).
    pub(crate) struct DadaptAdamwConfig {
        /// `eta`, a multiplier of the estimated rate.
        learning_rate: LearningRate = 1.0, Range::POSITIVE;
        /// `(beta1, beta2)`, decays of Adam's moments.
        betas: [f64; 2] = [0.9, 0.999], Range::UNIT;
        /// `eps`, added to the root.
        eps: f64 = 1e-8, Range::NON_NEGATIVE;
        /// `d0`, the initial estimate, > 0.
        estim_lr0: f64 = 1e-6, Range::POSITIVE;
        /// `lambda`, decoupled weight decay.
        weight_decay: f64 = 0.0, Range::NON_NEGATIVE;
    }
}

/// Batched D-Adaptation AdamW.
pub(crate) struct DadaptAdamw {
    /// `beta1`, `beta2` and `sqrt(beta2)` with their complements, Python floats.
    beta1: Ema,
    beta2: Ema,
    sb2: Ema,
    eps: Tensor<2>,
    d0: Tensor<2>,
    minus_weight_decay: Tensor<2>,
}

/// Adam's moments (the first holds rate-scaled gradients), the sums behind `d` and `d`
/// (`[N, 1]`).
pub(crate) struct DadaptAdamwState {
    exp_avg: Tensor<2>,
    exp_avg_sq: Tensor<2>,
    grad_sum: Tensor<2>,
    numerator: Tensor<2>,
    d: Tensor<2>,
}

impl RuleConfig for DadaptAdamwConfig {
    type Rule = DadaptAdamw;
    const NAME: &'static str = "dadapt_adamw";
    const DESCRIPTION: &'static str =
        "D-Adaptation AdamW: Adam at a rate from a growing lower bound of the distance to the solution";
    const SOURCE: Source = Source::Optax;

    fn learning_rate(&self) -> &LearningRate {
        &self.learning_rate
    }
    fn rule(rows: &[Self], device: &Device) -> DadaptAdamw {
        let col = |f: &dyn Fn(&DadaptAdamwConfig) -> f64| column(rows.iter().map(f), device);
        // beta2 ** 0.5, a Python float (glibc's pow).
        let sb2 = |c: &DadaptAdamwConfig| c.betas[1].powf(0.5);
        DadaptAdamw {
            beta1: Ema::new(rows.iter().map(|c| c.betas[0]), device),
            beta2: Ema::new(rows.iter().map(|c| c.betas[1]), device),
            sb2: Ema::new(rows.iter().map(sb2), device),
            eps: col(&|c| c.eps),
            d0: col(&|c| c.estim_lr0),
            minus_weight_decay: col(&|c| -c.weight_decay),
        }
    }
}

impl Rule for DadaptAdamw {
    type State = DadaptAdamwState;

    fn init(&self, params: &Tensor<2>) -> DadaptAdamwState {
        DadaptAdamwState {
            exp_avg: params.zeros_like(),
            exp_avg_sq: params.zeros_like(),
            grad_sum: params.zeros_like(),
            numerator: self.d0.zeros_like(),
            d: self.d0.clone(),
        }
    }

    fn update(&self, w: Tensor<2>, g: Tensor<2>, s: DadaptAdamwState, step: &Step) -> (Update, DadaptAdamwState) {
        let bc = adam_correction(&self.beta1, &self.beta2, step.t);
        let dlr = (s.d.clone() * step.lr.clone()) * bc;
        let weighted = s.grad_sum.clone() / (s.exp_avg_sq.clone().sqrt() + self.eps.clone());
        let numerator_acum = vdot(g.clone(), weighted);
        let exp_avg =
            s.exp_avg * self.beta1.decay().clone() + (self.beta1.complement().clone() * dlr.clone()) * g.clone();
        let exp_avg_sq =
            s.exp_avg_sq * self.beta2.decay().clone() + (g.clone() * self.beta2.complement().clone()) * g.clone();
        let step_sb2 = self.sb2.complement().clone() * dlr.clone();
        let grad_sum = s.grad_sum * self.sb2.decay().clone() + step_sb2.clone() * g;
        let l1 = grad_sum.clone().abs().sum_dim(1);
        let numerator = s.numerator * self.sb2.decay().clone() + step_sb2 * numerator_acum;
        let d = maximum(s.d, numerator.clone() / (self.sb2.complement().clone() * l1));
        let u = w * (dlr * self.minus_weight_decay.clone())
            - exp_avg.clone() / (exp_avg_sq.clone().sqrt() + self.eps.clone());
        let state = DadaptAdamwState {
            exp_avg,
            exp_avg_sq,
            grad_sum,
            numerator,
            d,
        };
        (Update::Increment(u), state)
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::test_util::{assert_close, device, increments, rows, steps};
    use super::*;

    #[test]
    fn the_first_step_is_eta_d0_and_d_grows_from_the_second() {
        let c = DadaptAdamwConfig {
            estim_lr0: 0.01,
            ..Default::default()
        };
        let rule = DadaptAdamwConfig::rule(std::slice::from_ref(&c), &device());
        let trace = increments(&rule, &[vec![1.0, -1.0]], &[vec![0.5, -2.0]], 5, 1.0, |s| {
            rows(s.d.clone())[0][0]
        });
        assert_close(&trace[0].0, &[vec![-0.01, 0.01]], 1e-4);
        let ds: Vec<f32> = trace.iter().map(|(_, d)| *d).collect();
        // The numerator uses the gradient sums, not the displacement: d grows from step 2.
        assert_eq!(ds[0], 0.01);
        assert!(ds[1] > 0.01 && ds.windows(2).all(|p| p[1] >= p[0]), "{ds:?}");
    }

    #[test]
    fn a_stationary_start_is_nan_from_step_two() {
        let grads = vec![vec![vec![0.0f32, 0.0]]; 2];
        let w = steps(&[DadaptAdamwConfig::default()], &[vec![0.0, 0.0]], &grads);
        assert!(w[0][0].iter().all(|x| x.is_finite()), "{w:?}");
        assert!(w[1][0].iter().all(|x| x.is_nan()), "{w:?}");
    }
}
