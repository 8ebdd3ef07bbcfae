//! Rprop, as optax's `rprop`.

use super::common::column;
use super::{Hyperparameters, LearningRate, Range, Rule, RuleConfig, Source, Step, Update};
use burn::tensor::{Device, Tensor};

crate::hyperparameters! {
    /// optax `rprop(learning_rate, eta_minus=0.5, eta_plus=1.2, min_step_size=1e-6,
    /// max_step_size=50.0)` (Riedmiller & Braun, *A Direct Adaptive Method for Faster
    /// Backpropagation Learning: The RPROP Algorithm*, ICNN 1993; the variant without weight
    /// backtracking, iRprop- of Igel & Hüsken 2000).
    ///
    /// Per coordinate, with `s = eta` (the learning rate) and the previous move `p = 0` at the
    /// start:
    /// ```text
    /// c = g p
    /// s <- clip(s eta_plus, min, max)    if c > 0 (same sign: grow)
    /// s <- clip(s eta_minus, min, max)   if c < 0 (sign flip: shrink)
    /// move = 0 if c < 0 else p_prev      (optax: the previous step's move, see below)
    /// p <- 0 if c < 0 else s sign(g)
    /// w <- w - move
    /// ```
    /// optax returns the *previous* step's `s sign(g)` rather than this step's (the lambda that
    /// forms the update reads the old state), so it moves one step late: the first step does not
    /// move at all, and each later move uses the last gradient's sign. This rule does the same.
    /// `learning_rate` is only the initial step size and, as in optax, must be a number.
    pub(crate) struct RpropConfig {
        /// `eta`, the initial step size (optax has no default; 0.001).
        learning_rate: LearningRate = 0.001, Range::POSITIVE;
        /// `eta_minus`, the factor after a sign change, in (0, 1].
        eta_minus: f64 = 0.5, Range::UNIT_OPEN_BELOW;
        /// `eta_plus`, the factor while the sign holds, >= 1.
        eta_plus: f64 = 1.2, Range::AT_LEAST_ONE;
        /// `min_step_size`, > 0.
        min_step_size: f64 = 1e-6, Range::POSITIVE;
        /// `max_step_size`, >= `min_step_size`.
        max_step_size: f64 = 50.0, Range::POSITIVE;
    }
}

/// Batched Rprop.
pub(crate) struct Rprop {
    eta_minus: Tensor<2>,
    eta_plus: Tensor<2>,
    min_step: Tensor<2>,
    max_step: Tensor<2>,
}

/// Each coordinate's step size (the learning rate until the first step) and previous move.
pub(crate) struct RpropState {
    step_sizes: Option<Tensor<2>>,
    prev: Tensor<2>,
}

impl RuleConfig for RpropConfig {
    type Rule = Rprop;
    const NAME: &'static str = "rprop";
    const DESCRIPTION: &'static str = "Rprop: per-coordinate steps of fixed size, grown while the gradient's sign holds (moves one step late, as optax)";
    const SOURCE: Source = Source::Optax;

    fn learning_rate(&self) -> &LearningRate {
        &self.learning_rate
    }
    fn validate(&self) -> crate::error::Parsed<()> {
        self.check_ranges()?;
        if self.learning_rate.constant().is_none() {
            return Err(crate::error::FieldError::new(
                "expected a number: rprop's learning_rate is its initial step size, not a schedule",
            )
            .at("learning_rate"));
        }
        if self.max_step_size < self.min_step_size {
            return Err(crate::error::FieldError::new(format!(
                "expected a number >= min_step_size ({}), got {}",
                self.min_step_size, self.max_step_size
            ))
            .at("max_step_size"));
        }
        Ok(())
    }
    fn rule(rows: &[Self], device: &Device) -> Rprop {
        let col = |f: fn(&RpropConfig) -> f64| column(rows.iter().map(f), device);
        Rprop {
            eta_minus: col(|c| c.eta_minus),
            eta_plus: col(|c| c.eta_plus),
            min_step: col(|c| c.min_step_size),
            max_step: col(|c| c.max_step_size),
        }
    }
}

impl Rule for Rprop {
    type State = RpropState;

    fn init(&self, params: &Tensor<2>) -> RpropState {
        RpropState {
            step_sizes: None,
            prev: params.zeros_like(),
        }
    }

    fn update(&self, _w: Tensor<2>, g: Tensor<2>, s: RpropState, step: &Step) -> (Update, RpropState) {
        let dims = g.dims();
        let wide = |col: &Tensor<2>| col.clone().expand(dims);
        let sizes = s.step_sizes.unwrap_or_else(|| wide(step.lr));
        let c = g.clone() * s.prev.clone();
        let factor = wide(&self.eta_minus).mask_where(c.clone().greater_elem(0.0), wide(&self.eta_plus));
        // jnp.clip(x, lo, hi) = min(max(x, lo), hi).
        let grown = (sizes.clone() * factor)
            .max_pair(wide(&self.min_step))
            .min_pair(wide(&self.max_step));
        let sizes = grown.mask_where(c.clone().equal_elem(0.0), sizes);
        let flipped = c.lower_elem(0.0);
        let zero = g.zeros_like();
        let prev = (sizes.clone() * g.sign()).mask_where(flipped.clone(), zero.clone());
        // The update optax returns: the previous move (zero after a sign flip), negated.
        let u = s.prev.mask_where(flipped, zero).neg();
        (
            Update::Increment(u),
            RpropState {
                step_sizes: Some(sizes),
                prev,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::test_util::{assert_close, steps};
    use super::*;

    #[test]
    fn moves_one_step_late_growing_while_the_sign_holds() {
        let c = RpropConfig {
            learning_rate: 0.1.into(),
            eta_plus: 2.0,
            ..Default::default()
        };
        let grads = vec![vec![vec![1.0f32, -3.0]]; 4];
        let w = steps(&[c], &[vec![0.0, 0.0]], &grads);
        // Moves 0, 0.1, 0.2, 0.4 (each step's own would be 0.1, 0.2, 0.4, 0.8).
        let xs: Vec<f32> = w.iter().map(|r| r[0][0]).collect();
        assert_close(&[xs], &[vec![0.0, -0.1, -0.3, -0.7]], 1e-6);
        assert_close(&w[3], &[vec![-0.7, 0.7]], 1e-6);
    }

    #[test]
    fn a_sign_flip_shrinks_the_step_and_skips_the_move() {
        let c = RpropConfig {
            learning_rate: 0.1.into(),
            max_step_size: 0.15,
            ..Default::default()
        };
        let grads = vec![
            vec![vec![1.0f32, 1.0]],
            vec![vec![1.0, 1.0]],
            vec![vec![-1.0, 1.0]],
            vec![vec![-1.0, 1.0]],
        ];
        let w = steps(&[c], &[vec![0.0, 0.0]], &grads);
        // x: moves 0 and 0.1 (step 1's move), then the flip: no move, the step halves to 0.06 and
        // the move is forgotten, so step 4 (which sees no previous move) moves 0 too.
        // y: the step grows to min(0.1 * 1.2^k, 0.15): moves 0, 0.1, 0.12, 0.144.
        assert_close(&w[1], &[vec![-0.1, -0.1]], 1e-6);
        assert_close(&w[2], &[vec![-0.1, -0.22]], 1e-6);
        assert_close(&w[3], &[vec![-0.1, -0.364]], 1e-6);
    }

    #[test]
    fn validation() {
        let bad = |c: RpropConfig| c.validate().unwrap_err().path().to_string();
        let d = RpropConfig::default();
        assert_eq!(
            bad(RpropConfig {
                eta_minus: 1.5,
                ..d.clone()
            }),
            "eta_minus"
        );
        assert_eq!(
            bad(RpropConfig {
                eta_plus: 0.9,
                ..d.clone()
            }),
            "eta_plus"
        );
        assert_eq!(
            bad(RpropConfig {
                min_step_size: 1.0,
                max_step_size: 0.5,
                ..d
            }),
            "max_step_size"
        );
    }
}
