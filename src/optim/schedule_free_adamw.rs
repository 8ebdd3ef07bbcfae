//! Schedule-free AdamW, as optax's `contrib.schedule_free_adamw`.

use super::common::{AddDecayed, Ema, column, column32, div_s};
use super::{Hyperparameters, LearningRate, Range, Rule, RuleConfig, Source, Step, Update};
use burn::tensor::{Device, Tensor};

crate::hyperparameters! {
    /// optax `contrib.schedule_free_adamw(learning_rate=0.0025, warmup_steps=None, b1=0.9,
    /// b2=0.999, eps=1e-8, weight_decay=0.0, weight_lr_power=2.0)` (Defazio, Yang, Mehta,
    /// Mishchenko, Khaled & Cutkosky, *The Road Less Scheduled*, NeurIPS 2024,
    /// arXiv:2405.15682). Gradients are taken at `y` (the trajectory's `points`); the point to
    /// evaluate is the average `x` (its `eval_points`).
    ///
    /// With `t` the 1-based step, `z = x = y = w_0`, `v = 0`:
    /// ```text
    /// eta_t = eta (or the linear warmup 0 -> eta over warmup_steps)
    /// c = max_{i<=t} eta_i^power / sum_{i<=t} max_{j<=i} eta_j^power    (1/t for a constant eta)
    /// v <- b2 v + (1 - b2) g^2
    /// z <- z - eta_t (g / (sqrt(v / (1 - b2^t)) + eps) + lambda y)
    /// x <- (1 - c) x + c z
    /// y <- b1 x + (1 - b1) z
    /// ```
    /// optax follows the authors' implementation (the weight is the running maximum of the rate,
    /// as there), with `x` recomputed from `y` and `z` rather than stored: `x = (y - (1 - b1) z)
    /// / b1`, which is why `b1` must be in (0, 1). With `warmup_steps` the averaging weight and
    /// the `z` step see the warmup one step apart, as in optax. optax's `state_dtype` is not
    /// offered (float32 only).
    pub(crate) struct ScheduleFreeAdamwConfig {
        /// `eta`.
        learning_rate: LearningRate = 0.0025, Range::POSITIVE;
        /// Steps of linear warmup from 0 (none by default), >= 1; only with a constant rate.
        warmup_steps: Option<u64> = None, Range::AT_LEAST_ONE => shared;
        /// `b1`, the interpolation between `x` and `z`, in (0, 1).
        b1: f64 = 0.9, Range::UNIT_OPEN;
        /// `b2`, decay of the second moment.
        b2: f64 = 0.999, Range::UNIT;
        /// `eps`, added to the root.
        eps: f64 = 1e-8, Range::NON_NEGATIVE;
        /// `lambda`, decoupled weight decay, at `y`.
        weight_decay: f64 = 0.0, Range::NON_NEGATIVE;
        /// `power` of the averaging weights `eta^power`, >= 0 (0: uniform).
        weight_lr_power: f64 = 2.0, Range::NON_NEGATIVE;
    }
}

/// Batched schedule-free AdamW.
pub(crate) struct ScheduleFreeAdamw {
    b1: Ema,
    b2: Ema,
    eps: Tensor<2>,
    decay: AddDecayed,
    /// Per row: `(warmup_steps, constant eta, weight_lr_power)`.
    rows: Vec<(Option<u64>, Option<f64>, f32)>,
    /// `1 - b1` and `b1` in float32, for the evaluation point.
    eval_b1: (Tensor<2>, Tensor<2>),
    device: Device,
}

/// The base optimizer's second moment, `z`, the averaging weights (host: they depend on the
/// rates alone) and the last `y`, for the evaluation point.
pub(crate) struct ScheduleFreeAdamwState {
    nu: Tensor<2>,
    z: Tensor<2>,
    max_lr: Vec<f32>,
    weight_sum: Vec<f32>,
    y: Option<Tensor<2>>,
}

impl RuleConfig for ScheduleFreeAdamwConfig {
    type Rule = ScheduleFreeAdamw;
    const NAME: &'static str = "schedule_free_adamw";
    const DESCRIPTION: &'static str =
        "Schedule-free AdamW: gradients at an interpolation y of the average x (eval_points) and the Adam iterate z";
    const SOURCE: Source = Source::Optax;

    fn learning_rate(&self) -> &LearningRate {
        &self.learning_rate
    }
    fn validate(&self) -> crate::error::Parsed<()> {
        self.check_ranges()?;
        if self.warmup_steps.is_some() && self.learning_rate.constant().is_none() {
            return Err(crate::error::FieldError::new(
                "expected none with a learning-rate schedule (optax warms up a constant rate)",
            )
            .at("warmup_steps"));
        }
        Ok(())
    }
    fn rule(rows: &[Self], device: &Device) -> ScheduleFreeAdamw {
        ScheduleFreeAdamw {
            b1: Ema::new(rows.iter().map(|c| c.b1), device),
            b2: Ema::new(rows.iter().map(|c| c.b2), device),
            eps: column(rows.iter().map(|c| c.eps), device),
            decay: AddDecayed::new(rows.iter().map(|c| c.weight_decay), device),
            rows: rows
                .iter()
                .map(|c| (c.warmup_steps, c.learning_rate.constant(), c.weight_lr_power as f32))
                .collect(),
            eval_b1: (
                column32(rows.iter().map(|c| 1.0 - c.b1 as f32), device),
                column32(rows.iter().map(|c| c.b1 as f32), device),
            ),
            device: device.clone(),
        }
    }
}

/// optax's `warmup_constant_schedule(0, lr, warmup_steps)` (a `linear_schedule`) at `count`:
/// `(0 - lr) (1 - min(count, W) / W) + lr` in float32.
fn warmup(lr: f64, steps: u64, count: u64) -> f32 {
    let frac = 1.0 - count.min(steps) as f32 / steps as f32;
    (-lr) as f32 * frac + lr as f32
}

impl Rule for ScheduleFreeAdamw {
    type State = ScheduleFreeAdamwState;

    fn init(&self, params: &Tensor<2>) -> ScheduleFreeAdamwState {
        ScheduleFreeAdamwState {
            nu: params.zeros_like(),
            z: params.clone(),
            max_lr: vec![0.0; self.rows.len()],
            weight_sum: vec![0.0; self.rows.len()],
            y: None,
        }
    }

    fn update(
        &self,
        y: Tensor<2>,
        g: Tensor<2>,
        s: ScheduleFreeAdamwState,
        step: &Step,
    ) -> (Update, ScheduleFreeAdamwState) {
        let t = step.t;
        let (mut max_lr, mut weight_sum) = (s.max_lr, s.weight_sum);
        let mut ck = Vec::with_capacity(self.rows.len());
        let mut base_lr = Vec::with_capacity(self.rows.len());
        for (i, &(warmup_steps, constant, power)) in self.rows.iter().enumerate() {
            // The averaging weight sees the schedule at optax's step_count (from 1), the base
            // optimizer's rate at its own count (from 0).
            let (lr, base) = match (warmup_steps, constant) {
                (Some(w), Some(lr)) => (warmup(lr, w, t), warmup(lr, w, t - 1)),
                _ => (step.lr_host[i], step.lr_host[i]),
            };
            max_lr[i] = if max_lr[i].is_nan() || lr.is_nan() {
                f32::NAN
            } else {
                max_lr[i].max(lr)
            };
            let weight = max_lr[i].powf(power);
            let total = weight_sum[i] + weight;
            let c = weight / total;
            // jnp.nan_to_num: 0 / 0 is 0, a NaN weight stays NaN.
            ck.push(if c.is_nan() && !weight.is_nan() && !total.is_nan() {
                0.0
            } else {
                c
            });
            weight_sum[i] = total;
            base_lr.push(base);
        }
        let nu = self.b2.update_squared(g.clone(), s.nu);
        let nu_hat = self.b2.debias(nu.clone(), t);
        let u = (nu_hat.sqrt() + self.eps.clone()).recip() * g;
        let u = self.decay.apply(u, y.clone()) * column32(base_lr.iter().map(|l| -l), &self.device);
        let z = s.z.clone() + u;
        let prev_x = div_s(y.clone() - s.z * self.b1.complement().clone(), self.b1.decay().clone());
        let ck_col = column32(ck.iter().copied(), &self.device);
        let x = prev_x * column32(ck.iter().map(|c| 1.0 - c), &self.device) + z.clone() * ck_col;
        let y_new = x * self.b1.decay().clone() + z.clone() * self.b1.complement().clone();
        let update = y_new - y.clone();
        let state = ScheduleFreeAdamwState {
            nu,
            z,
            max_lr,
            weight_sum,
            y: Some(y + update.clone()),
        };
        (Update::Increment(update), state)
    }

    /// optax's `schedule_free_eval_params`: `(y - (1 - b1) z) / b1`, here with `1 - b1` in
    /// float32 (the state's `b1` is a float32 array), not the Python float of the update.
    fn eval_points(&self, s: &ScheduleFreeAdamwState) -> Option<Tensor<2>> {
        let y = s.y.clone()?;
        let (one_minus, b1) = &self.eval_b1;
        Some(div_s(y - s.z.clone() * one_minus.clone(), b1.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::test_util::{assert_close, device, tensor};
    use super::super::step_with_gradient;
    use super::*;

    #[test]
    fn y_interpolates_the_uniform_average_x_and_the_adam_iterate_z() {
        let c = ScheduleFreeAdamwConfig {
            learning_rate: 1.0.into(),
            b1: 0.5,
            eps: 0.0,
            ..Default::default()
        };
        let mut opt = super::super::Config::build(&[c], &device());
        // Step 1: z = w0 - sign(g) = (-1, 1), c = 1: x = z, y = z.
        let w = step_with_gradient(opt.as_mut(), tensor(&[vec![0.0, 0.0]]), tensor(&[vec![2.0, -2.0]]));
        let rows = |t: Tensor<2>| super::super::common::test_util::rows(t);
        // (float32's 1 - 0.999 corrects v to within 2e-5.)
        assert_close(&rows(w.clone()), &[vec![-1.0, 1.0]], 2e-5);
        assert_close(&rows(opt.eval_points().unwrap()), &[vec![-1.0, 1.0]], 2e-5);
        // Step 2, the same g (v_hat = g^2): z = (-2, 2), c = 1/2: x = (-1.5, 1.5),
        // y = (x + z) / 2 = (-1.75, 1.75).
        let w = step_with_gradient(opt.as_mut(), w, tensor(&[vec![2.0, -2.0]]));
        assert_close(&rows(w), &[vec![-1.75, 1.75]], 2e-5);
        assert_close(&rows(opt.eval_points().unwrap()), &[vec![-1.5, 1.5]], 2e-5);
    }

    #[test]
    fn warmup_ramps_the_rate_from_zero() {
        assert_eq!(warmup(0.3, 10, 0), 0.0);
        assert!((warmup(0.3, 10, 5) - 0.15).abs() < 1e-7);
        assert_eq!(warmup(0.3, 10, 10), 0.3);
        assert_eq!(warmup(0.3, 10, 20), 0.3);
        // The first z step uses the rate at count 0: no move at all.
        let c = ScheduleFreeAdamwConfig {
            learning_rate: 0.3.into(),
            warmup_steps: Some(10),
            ..Default::default()
        };
        let mut opt = super::super::Config::build(&[c], &device());
        let w = step_with_gradient(opt.as_mut(), tensor(&[vec![1.0, 2.0]]), tensor(&[vec![1.0, 1.0]]));
        assert_close(&super::super::common::test_util::rows(w), &[vec![1.0, 2.0]], 0.0);
    }

    #[test]
    fn validation() {
        let bad = |c: ScheduleFreeAdamwConfig| c.validate().unwrap_err().path().to_string();
        let d = ScheduleFreeAdamwConfig::default();
        assert_eq!(bad(ScheduleFreeAdamwConfig { b1: 0.0, ..d.clone() }), "b1");
        assert_eq!(
            bad(ScheduleFreeAdamwConfig {
                warmup_steps: Some(0),
                ..d.clone()
            }),
            "warmup_steps"
        );
        assert_eq!(
            bad(ScheduleFreeAdamwConfig {
                weight_lr_power: -1.0,
                ..d
            }),
            "weight_lr_power"
        );
    }
}
