//! SGD with Polyak's step size, as optax's `polyak_sgd`.

use super::common::{column, lr_scale, minimum, sumsq, where_rows};
use super::{LearningRate, Range, Rule, RuleConfig, Source, Step, Update};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

/// Which of the stochastic Polyak step sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Variant {
    /// `SPS_max`: the gap `f - f_min` as is (negative below `f_min`: the step climbs).
    #[serde(rename = "sps")]
    Sps,
    /// `SPS+`: the gap clipped at 0.
    #[serde(rename = "sps+")]
    SpsPlus,
}

impl super::Checked for Variant {
    fn check(&self, _field: &str, _range: Option<Range>) -> crate::error::Parsed<()> {
        Ok(())
    }
}

crate::hyperparameters! {
    /// optax `polyak_sgd(max_learning_rate=1.0, scaling=1.0, f_min=0.0, eps=0.0,
    /// variant='sps')` (Loizou, Vaswani, Laradji & Lacoste-Julien, *Stochastic Polyak Step-size
    /// for SGD*, AISTATS 2021, `SPS_max`; `sps+`: Garrigos, Gower & Schaipp 2023). Needs the loss
    /// `f` at the point, which the runner has from the same pass as the gradient.
    ///
    /// With `s` the scaling (optax's `sgd(learning_rate=scaling)` in front):
    /// ```text
    /// u = -s g
    /// gap = f - f_min                    (sps+: max(gap, 0))
    /// gamma = 0 if |u|^2 + eps <= 2.2e-16, else min(gap / (|u|^2 + eps), max_learning_rate)
    /// w <- w + gamma u
    /// ```
    /// So `scaling` is the paper's `c` (it divides the Polyak step) unless the cap binds, where it
    /// multiplies it. `scaling` may be a schedule (it is optax's `ScalarOrSchedule`): it is the
    /// rate this optimizer takes from `learning_rate` schedules. With `sps` and `f < f_min` the
    /// step is negative and the point climbs to the level set `f = f_min`.
    pub(crate) struct PolyakSgdConfig {
        /// `gamma_b`, the cap on the step size, > 0.
        max_learning_rate: f64 = 1.0, Range::POSITIVE;
        /// `c`, the scaling of the gradient (optax's learning rate of the inner `sgd`).
        scaling: LearningRate = 1.0, Range::POSITIVE;
        /// `f_min`, the value the step aims at (a lower bound of the loss).
        f_min: f64 = 0.0, Range::ANY;
        /// `eps`, added to `|u|^2`, >= 0.
        eps: f64 = 0.0, Range::NON_NEGATIVE;
        /// `"sps"` or `"sps+"` (the gap clipped at 0).
        variant: Variant = Variant::Sps;
    }
}

/// Batched Polyak SGD (no state).
pub(crate) struct PolyakSgd {
    max_lr: Tensor<2>,
    f_min: Tensor<2>,
    eps: Tensor<2>,
    plus: Vec<bool>,
}

impl RuleConfig for PolyakSgdConfig {
    type Rule = PolyakSgd;
    const NAME: &'static str = "polyak_sgd";
    const DESCRIPTION: &'static str = "Polyak SGD: step size (f - f_min) / |g|^2, capped (needs the loss)";
    const SOURCE: Source = Source::Optax;

    fn learning_rate(&self) -> &LearningRate {
        &self.scaling
    }
    fn rule(rows: &[Self], device: &Device) -> PolyakSgd {
        PolyakSgd {
            max_lr: column(rows.iter().map(|c| c.max_learning_rate), device),
            f_min: column(rows.iter().map(|c| c.f_min), device),
            eps: column(rows.iter().map(|c| c.eps), device),
            plus: rows.iter().map(|c| c.variant == Variant::SpsPlus).collect(),
        }
    }
}

impl Rule for PolyakSgd {
    type State = ();

    fn init(&self, _params: &Tensor<2>) {}

    fn update(&self, _w: Tensor<2>, g: Tensor<2>, _s: (), step: &Step) -> (Update, ()) {
        // sgd(scaling): -scaling g; the Polyak step is on the norm of that.
        let u = lr_scale(g, step.lr);
        let gap = step.loss.clone() - self.f_min.clone();
        let gap = where_rows(&self.plus, gap.clone().max_pair(gap.zeros_like()), gap);
        let denom = sumsq(u.clone()) + self.eps.clone();
        // float64's machine epsilon, compared in float32.
        let tiny = denom.clone().lower_equal_elem(f64::EPSILON as f32);
        let gamma = minimum(gap / denom, self.max_lr.clone());
        let gamma = gamma.clone().mask_where(tiny, gamma.zeros_like());
        (Update::Increment(u * gamma), ())
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::test_util::{assert_close, steps_with_loss};
    use super::*;

    #[test]
    fn polyak_step_capped_and_scaled() {
        let plain = PolyakSgdConfig {
            max_learning_rate: 10.0,
            ..Default::default()
        };
        let scaled = PolyakSgdConfig {
            scaling: 2.0.into(),
            ..plain.clone()
        };
        let capped = PolyakSgdConfig {
            max_learning_rate: 0.1,
            ..Default::default()
        };
        // g = (3, 4), f = 5: gamma = 5 / 25 = 0.2 (step 0.2 g); scaling 2: u = -2 g,
        // gamma = 5 / 100, the step 0.1 g (scaling divides); capped: 0.1 g.
        let w = steps_with_loss(
            &[plain, scaled, capped],
            &vec![vec![0.0, 0.0]; 3],
            &[vec![vec![3.0, 4.0]; 3]],
            &[vec![5.0; 3]],
        );
        assert_close(&w[0], &[vec![-0.6, -0.8], vec![-0.3, -0.4], vec![-0.3, -0.4]], 1e-6);
    }

    #[test]
    fn below_f_min_sps_climbs_and_sps_plus_stays() {
        let sps = PolyakSgdConfig {
            f_min: 2.0,
            ..Default::default()
        };
        let plus = PolyakSgdConfig {
            variant: Variant::SpsPlus,
            ..sps.clone()
        };
        let w = steps_with_loss(
            &[sps, plus],
            &vec![vec![0.0, 0.0]; 2],
            &[vec![vec![1.0, 0.0]; 2]],
            &[vec![1.0; 2]],
        );
        assert_close(&w[0], &[vec![1.0, 0.0], vec![0.0, 0.0]], 1e-7);
    }

    #[test]
    fn a_vanishing_gradient_gives_no_step() {
        let w = steps_with_loss(
            &[PolyakSgdConfig::default()],
            &[vec![1.0, 1.0]],
            &[vec![vec![1e-9, 0.0]]],
            &[vec![1.0]],
        );
        assert_close(&w[0], &[vec![1.0, 1.0]], 0.0);
    }
}
