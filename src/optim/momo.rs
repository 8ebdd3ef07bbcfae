//! MoMo, as optax's `contrib.momo`.

use super::common::{column, column32, maximum, minimum, rates_f64, sumsq, vdot};
use super::{LearningRate, Range, Rule, RuleConfig, Source, Step, Update};
use burn::tensor::{Device, Tensor};

crate::hyperparameters! {
    /// optax `contrib.momo(learning_rate=1.0, beta=0.9, lower_bound=0.0, weight_decay=0.0,
    /// adapt_lower_bound=False)` (Schaipp, Ohana, Eickenberg, Defazio & Gower, *MoMo: Momentum
    /// Models for Adaptive Learning Rates*, ICML 2024, arXiv:2305.07583). Needs the loss `f` at
    /// the point, which the runner has from the same pass as the gradient.
    ///
    /// Averages of the loss, the gradient and `<g, w>` (`beta_1 = 0`: the first step takes the
    /// values as they are), then a Polyak-type step on the model they define, capped at `eta`:
    /// ```text
    /// f_bar <- beta f_bar + (1 - beta) f
    /// d     <- beta d + (1 - beta) g
    /// gamma <- beta gamma + (1 - beta) <g, w>
    /// k = 1 + eta lambda
    /// tau = min(eta, max(k (f_bar - lb - gamma) + <d, w>, 0) / |d|^2)    (0 if |d|^2 <= 2.2e-16)
    /// w <- (w - tau d) / k            (optax: w - eta lambda / k w - tau d)
    /// ```
    /// With `adapt_lower_bound` the bound `lb` (from `lower_bound`) is re-estimated each step
    /// from the model, the paper's online estimate (MoMo*). optax's update is the paper's
    /// algorithm with its weight-decay form; the first step is the Polyak step `(f - lb) / |g|^2`
    /// capped at `eta`.
    pub(crate) struct MomoConfig {
        /// `eta`, the cap on the step size.
        learning_rate: LearningRate = 1.0, Range::POSITIVE;
        /// `beta`, decay of the averages.
        beta: f64 = 0.9, Range::UNIT;
        /// `lb`, a lower bound of the loss.
        lower_bound: f64 = 0.0, Range::ANY;
        /// `lambda`, weight decay (a proximal step).
        weight_decay: f64 = 0.0, Range::NON_NEGATIVE;
        /// Re-estimate the lower bound each step.
        adapt_lower_bound: bool = false => shared;
    }
}

/// Batched MoMo.
pub(crate) struct Momo {
    beta: Vec<f32>,
    lower_bound: Tensor<2>,
    weight_decay: Vec<f64>,
    constant_rates: Vec<Option<f64>>,
    adapt: bool,
    device: Device,
}

/// The averages (`f_bar`, `gamma`, `lb` are `[N, 1]`).
pub(crate) struct MomoState {
    exp_avg: Tensor<2>,
    barf: Tensor<2>,
    gamma: Tensor<2>,
    lb: Tensor<2>,
}

impl RuleConfig for MomoConfig {
    type Rule = Momo;
    const NAME: &'static str = "momo";
    const DESCRIPTION: &'static str =
        "MoMo: momentum with Polyak-type adaptive steps from a model of the loss (needs the loss)";
    const SOURCE: Source = Source::Optax;

    fn learning_rate(&self) -> &LearningRate {
        &self.learning_rate
    }
    fn rule(rows: &[Self], device: &Device) -> Momo {
        Momo {
            beta: rows.iter().map(|c| c.beta as f32).collect(),
            lower_bound: column(rows.iter().map(|c| c.lower_bound), device),
            weight_decay: rows.iter().map(|c| c.weight_decay).collect(),
            constant_rates: rows.iter().map(|c| c.learning_rate.constant()).collect(),
            adapt: rows.iter().any(|c| c.adapt_lower_bound),
            device: device.clone(),
        }
    }
}

impl Rule for Momo {
    type State = MomoState;

    fn init(&self, params: &Tensor<2>) -> MomoState {
        let zero = self.lower_bound.zeros_like();
        MomoState {
            exp_avg: params.zeros_like(),
            barf: zero.clone(),
            gamma: zero,
            lb: self.lower_bound.clone(),
        }
    }

    fn update(&self, w: Tensor<2>, g: Tensor<2>, s: MomoState, step: &Step) -> (Update, MomoState) {
        let col = |v: Vec<f32>| column32(v, &self.device);
        // optax's beta_t is a float32 array (0 on the first step), so 1 - beta_t is float32's.
        let bt: Vec<f32> = self.beta.iter().map(|&b| if step.t == 1 { 0.0 } else { b }).collect();
        let (b, one_minus_b) = (col(bt.clone()), col(bt.iter().map(|b| 1.0 - b).collect()));
        let ema = |x: Tensor<2>, m: Tensor<2>| m * b.clone() + x * one_minus_b.clone();
        let barf = ema(step.loss.clone(), s.barf);
        let exp_avg = ema(g.clone(), s.exp_avg);
        let gamma = ema(vdot(g, w.clone()), s.gamma);
        let norm2 = sumsq(exp_avg.clone());
        let iprod = vdot(exp_avg.clone(), w.clone());
        // Python floats of the rate and the decay: 1 + eta lambda, 2 (1 + eta lambda) and
        // -(eta lambda) / (1 + eta lambda), each rounded once.
        let rates = rates_f64(&self.constant_rates, step.lr_host);
        let per_row = |f: &dyn Fn(f64, f64) -> f64| {
            col(rates
                .iter()
                .zip(&self.weight_decay)
                .map(|(&a, &l)| f(a, l) as f32)
                .collect())
        };
        let k = per_row(&|a, l| 1.0 + a * l);
        let this_lb = if self.adapt {
            let cap = (barf.clone() - gamma.clone()) * k.clone() + iprod.clone();
            let lowered = maximum(
                cap.clone() / per_row(&|a, l| 2.0 * (1.0 + a * l)),
                self.lower_bound.clone(),
            );
            s.lb.clone().mask_where(cap.lower(s.lb.clone() * k.clone()), lowered)
        } else {
            s.lb.clone()
        };
        let t1 = ((barf.clone() - this_lb) - gamma.clone()) * k + iprod.clone();
        let t1 = maximum(t1.clone(), t1.zeros_like()) / norm2.clone();
        let t1 = t1
            .clone()
            .mask_where(norm2.clone().lower_equal_elem(f64::EPSILON as f32), t1.zeros_like());
        let tau = minimum(step.lr.clone(), t1);
        let u = w * per_row(&|a, l| -(a * l) / (1.0 + a * l)) - exp_avg.clone() * tau.clone();
        let lb = if self.adapt {
            let estimate = ((barf.clone() + iprod) - gamma.clone()) - (tau * 0.5) * norm2;
            maximum(estimate, self.lower_bound.clone())
        } else {
            s.lb
        };
        (
            Update::Increment(u),
            MomoState {
                exp_avg,
                barf,
                gamma,
                lb,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::test_util::{assert_close, steps_with_loss};
    use super::*;

    #[test]
    fn first_step_is_the_capped_polyak_step() {
        let free = MomoConfig {
            learning_rate: 10.0.into(),
            ..Default::default()
        };
        let capped = MomoConfig {
            learning_rate: 0.1.into(),
            ..Default::default()
        };
        let bounded = MomoConfig {
            lower_bound: 1.0,
            ..free.clone()
        };
        // g = (3, 4), f = 5: (f - lb) / |g|^2 = 0.2, or 0.16 with lb = 1, or the cap 0.1.
        let w = steps_with_loss(
            &[free, capped, bounded],
            &vec![vec![0.0, 0.0]; 3],
            &[vec![vec![3.0, 4.0]; 3]],
            &[vec![5.0; 3]],
        );
        assert_close(&w[0], &[vec![-0.6, -0.8], vec![-0.3, -0.4], vec![-0.48, -0.64]], 1e-6);
    }

    #[test]
    fn the_model_of_the_second_step() {
        let c = MomoConfig {
            learning_rate: 10.0.into(),
            beta: 0.5,
            ..Default::default()
        };
        // Step 1 from w = 0: tau = 4 / 4 = 1 along g = (2, 0): w1 = (-2, 0).
        // Step 2 at w1, g = (1, 0), f = 1: f_bar = 2.5, d = 1.5, gamma = (0 + <g, w1>) / 2 = -1,
        // <d, w1> = -3: tau = (2.5 + 1 - 3) / 2.25 = 2 / 9, w2 = w1 - tau d = -2 - 1/3.
        let w = steps_with_loss(
            &[c],
            &[vec![0.0, 0.0]],
            &[vec![vec![2.0, 0.0]], vec![vec![1.0, 0.0]]],
            &[vec![4.0], vec![1.0]],
        );
        assert_close(&w[0], &[vec![-2.0, 0.0]], 1e-6);
        assert_close(&w[1], &[vec![-2.0 - 1.0 / 3.0, 0.0]], 1e-6);
    }

    #[test]
    fn weight_decay_shrinks_the_point() {
        let c = MomoConfig {
            learning_rate: 1.0.into(),
            weight_decay: 1.0,
            ..Default::default()
        };
        // A zero gradient: no Polyak step, w <- w - (eta lambda / (1 + eta lambda)) w = w / 2.
        let w = steps_with_loss(&[c], &[vec![4.0, -2.0]], &[vec![vec![0.0, 0.0]]], &[vec![1.0]]);
        assert_close(&w[0], &[vec![2.0, -1.0]], 1e-7);
    }
}
