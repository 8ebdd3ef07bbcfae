//! FTRL-Proximal, as Keras's `Ftrl`.

use super::common::column;
use super::{LearningRate, Range, Rule, RuleConfig, Step, Update};
use burn::tensor::{Device, Tensor};

crate::hyperparameters! {
    /// Keras `Ftrl(learning_rate=0.001, learning_rate_power=-0.5, initial_accumulator_value=0.1,
    /// l1_regularization_strength=0.0, l2_regularization_strength=0.0,
    /// l2_shrinkage_regularization_strength=0.0, beta=0.0)` (McMahan et al. 2013).
    ///
    /// With `p = -learning_rate_power`, `n` filled with `initial_accumulator_value` and `z = 0` at
    /// the start, and `l1, l2, l2_s` the regularization strengths:
    /// ```text
    /// g~    = g + 2 l2_s w                       (shrinkage; n still sums the raw g)
    /// n'    = n + g^2
    /// sigma = (n'^p - n^p) / eta
    /// z    <- z + g~ - sigma w
    /// q     = n'^p / eta + 2 (l2 + beta / (2 eta))
    /// w    <- (clip(z, -l1, l1) - z) / q          (exactly 0 where |z| <= l1)
    /// n    <- n'
    /// ```
    /// The weight is rebuilt from `z` at every step; the old `w` (after the decoupled weight decay,
    /// which therefore only perturbs `sigma w` and `g~`) enters only through `sigma w` and the
    /// shrinkage. Keras's `l2` is half the paper's `lambda_2` (it enters as `2 l2`), its `beta`
    /// enters as `beta / eta`, and the shrinkage term is TensorFlow's addition. With
    /// `initial_accumulator_value = l2 = beta = 0`, a coordinate whose gradient is 0 gets
    /// `q = 0` and a NaN weight, as in Keras.
    pub(crate) struct FtrlConfig {
        /// `eta`.
        learning_rate: LearningRate = 0.001, Range::POSITIVE;
        /// `-p`, <= 0 (0 gives a fixed learning rate).
        learning_rate_power: f64 = -0.5, Range::NON_POSITIVE;
        /// `n`'s starting value, >= 0.
        initial_accumulator_value: f64 = 0.1, Range::NON_NEGATIVE;
        /// `l1`, >= 0.
        l1_regularization_strength: f64 = 0.0, Range::NON_NEGATIVE;
        /// `l2` (half the paper's `lambda_2`), >= 0.
        l2_regularization_strength: f64 = 0.0, Range::NON_NEGATIVE;
        /// `l2_s`, the shrinkage folded into the gradient, >= 0.
        l2_shrinkage_regularization_strength: f64 = 0.0, Range::NON_NEGATIVE;
        /// The paper's `beta`.
        beta: f64 = 0.0, Range::ANY;
        /// Decoupled weight decay `lambda` (none by default).
        weight_decay: Option<f64> = None, Range::NON_NEGATIVE;
    }
}

/// Batched FTRL.
pub(crate) struct Ftrl {
    power: Tensor<2>,
    /// Rows whose `p` is 0.5 (Keras's default), where TensorFlow's graph takes a square root.
    square_root: Option<burn::tensor::Tensor<2, burn::tensor::Bool>>,
    initial: Tensor<2>,
    l1: Tensor<2>,
    l2: Tensor<2>,
    two_shrinkage: Tensor<2>,
    beta: Tensor<2>,
}

/// FTRL's state: the accumulator `n` and the linear term `z`.
pub(crate) struct FtrlState {
    n: Tensor<2>,
    z: Tensor<2>,
}

impl RuleConfig for FtrlConfig {
    type Rule = Ftrl;
    const NAME: &'static str = "ftrl";
    const DESCRIPTION: &'static str = "FTRL-Proximal: weights rebuilt from accumulated gradients, with L1/L2/shrinkage";

    fn learning_rate(&self) -> &LearningRate {
        &self.learning_rate
    }
    fn weight_decay(&self) -> Option<f64> {
        self.weight_decay
    }
    fn rule(rows: &[Self], device: &Device) -> Ftrl {
        let col = |f: fn(&FtrlConfig) -> f64| column(rows.iter().map(f), device);
        Ftrl {
            power: col(|c| -c.learning_rate_power),
            square_root: rows
                .iter()
                .any(|c| c.learning_rate_power == -0.5)
                .then(|| col(|c| -c.learning_rate_power).equal_elem(0.5)),
            initial: col(|c| c.initial_accumulator_value),
            l1: col(|c| c.l1_regularization_strength),
            l2: col(|c| c.l2_regularization_strength),
            // Keras multiplies by the Python float `2 * l2_s`.
            two_shrinkage: col(|c| 2.0 * c.l2_shrinkage_regularization_strength),
            beta: col(|c| c.beta),
        }
    }
}

impl Rule for Ftrl {
    type State = FtrlState;

    fn init(&self, params: &Tensor<2>) -> FtrlState {
        FtrlState {
            n: params.zeros_like() + self.initial.clone(),
            z: params.zeros_like(),
        }
    }

    fn update(&self, w: Tensor<2>, g: Tensor<2>, s: FtrlState, step: &Step) -> (Update, FtrlState) {
        let lr = step.lr.clone();
        // Keras: l2_reg = l2 + beta / (2 lr), in f32 since lr is a tensor; then 2 * l2_reg.
        let two_l2 = (self.l2.clone() + self.beta.clone() / lr.clone().mul_scalar(2.0)).mul_scalar(2.0);
        let g_shrunk = g.clone() + w.clone() * self.two_shrinkage.clone();
        let n_new = s.n.clone() + g.square();
        // The exponent is per row; expand it over the row for the elementwise power.
        // TensorFlow's graph optimizer turns pow(n, 0.5) into sqrt(n), which rounds differently
        // from powf now and then: those rows take the root.
        let power = self.power.clone().expand(w.shape());
        let root = |n: Tensor<2>| match &self.square_root {
            Some(mask) => n
                .clone()
                .powf(power.clone())
                .mask_where(mask.clone().expand(n.shape()), n.sqrt()),
            None => n.powf(power.clone()),
        };
        let root_new = root(n_new.clone());
        let root_old = root(s.n);
        let sigma_w = ((root_new.clone() - root_old) / lr.clone()) * w;
        let z = s.z + (g_shrunk - sigma_w);
        let q = root_new / lr + two_l2;
        let l1 = self.l1.clone().expand(z.shape());
        let z_clipped = z.clone().max_pair(l1.clone().neg()).min_pair(l1);
        let w = (z_clipped - z.clone()) / q;
        (Update::Next(w), FtrlState { n: n_new, z })
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::test_util::{assert_close, rows, steps, tensor};
    use super::*;

    #[test]
    fn first_step_by_hand() {
        let c = FtrlConfig {
            learning_rate: 0.5.into(),
            ..Default::default()
        };
        let w = steps(&[c], &[vec![1.0, -2.0]], &[vec![vec![0.3, 0.0]]]);
        // x: n' = 0.19, sigma = (sqrt(0.19) - sqrt(0.1)) / 0.5, z = 0.3 - sigma, q = sqrt(0.19) / 0.5.
        let sigma = (0.19f64.sqrt() - 0.1f64.sqrt()) / 0.5;
        let x = -(0.3 - sigma) / (0.19f64.sqrt() / 0.5);
        // y: g = 0, so n' = n, sigma = 0, z = 0: the weight is rebuilt as 0.
        assert_close(&w[0], &[vec![x, 0.0]], 1e-6);
        assert_eq!(w[0][0][1], 0.0);
    }

    #[test]
    fn z_within_l1_gives_exactly_zero() {
        let c = FtrlConfig {
            learning_rate: 1.0.into(),
            l1_regularization_strength: 0.5,
            ..Default::default()
        };
        // From w = 0 (sigma w = 0): z = g. |z| <= l1 -> 0 exactly (both signs, and at the
        // boundary); beyond it w = -(z - sign(z) l1) / q.
        let w = steps(&[c], &[vec![0.0, 0.0, 0.0, 0.0]], &[vec![vec![0.4, -0.5, 0.5, 1.5]]]);
        assert_eq!(&w[0][0][..3], &[0.0, 0.0, 0.0]);
        let q = (0.1f64 + 1.5 * 1.5).sqrt();
        assert_close(&[vec![w[0][0][3]]], &[vec![-(1.5 - 0.5) / q]], 1e-6);
    }

    #[test]
    fn l2_enters_twice_and_beta_over_lr() {
        let c = FtrlConfig {
            learning_rate: 0.5.into(),
            l2_regularization_strength: 0.25,
            beta: 0.2,
            initial_accumulator_value: 0.0,
            ..Default::default()
        };
        let w = steps(&[c], &[vec![0.0]], &[vec![vec![2.0]]]);
        // n' = 4, q = 2 / 0.5 + 2 (0.25 + 0.2 / 1) = 4.9, z = 2.
        assert_close(&w[0], &[vec![-2.0 / 4.9]], 1e-6);
    }

    #[test]
    fn shrinkage_adds_to_z_but_not_to_n() {
        let c = FtrlConfig {
            learning_rate: 1.0.into(),
            l2_shrinkage_regularization_strength: 0.5,
            ..Default::default()
        };
        // g~ = g + 2 * 0.5 * w = 1 + 3, but n' = 0.1 + g^2 = 1.1 with the raw g.
        let w = steps(&[c], &[vec![3.0]], &[vec![vec![1.0]]]);
        let sigma = 1.1f64.sqrt() - 0.1f64.sqrt();
        assert_close(&w[0], &[vec![-(4.0 - sigma * 3.0) / 1.1f64.sqrt()]], 1e-6);
    }

    #[test]
    fn zero_accumulator_without_l2_is_nan_where_the_gradient_is_zero() {
        let c = FtrlConfig {
            learning_rate: 0.1.into(),
            initial_accumulator_value: 0.0,
            ..Default::default()
        };
        let w = steps(&[c], &[vec![3.0, 4.0]], &[vec![vec![1.0, 0.0]]]);
        assert!(w[0][0][0].is_finite() && w[0][0][1].is_nan(), "{w:?}");
    }

    #[test]
    fn rows_with_different_powers_share_a_batch() {
        let a = FtrlConfig {
            learning_rate: 1.0.into(),
            ..Default::default()
        };
        let b = FtrlConfig {
            learning_rate_power: -1.0,
            ..a.clone()
        };
        let rule = FtrlConfig::rule(&[a, b], &super::super::common::test_util::device());
        let w0 = tensor(&[vec![0.0], vec![0.0]]);
        let s = rule.init(&w0);
        let ctx = super::super::common::test_util::Ctx::new(1, &[1.0, 1.0], 1);
        let (u, _) = rule.update(w0.clone(), tensor(&[vec![1.0], vec![1.0]]), s, &ctx.step());
        let w = u.apply(w0);
        // q = n'^p with n' = 1.1: sqrt(1.1) and 1.1.
        assert_close(&rows(w), &[vec![-1.0 / 1.1f64.sqrt()], vec![-1.0 / 1.1]], 1e-6);
    }

    #[test]
    fn validation() {
        let bad = |c: FtrlConfig| c.validate().unwrap_err().path().to_string();
        let d = FtrlConfig::default();
        assert!(
            FtrlConfig {
                learning_rate_power: 0.0,
                ..d.clone()
            }
            .validate()
            .is_ok()
        );
        assert_eq!(
            bad(FtrlConfig {
                learning_rate_power: 0.5,
                ..d.clone()
            }),
            "learning_rate_power"
        );
        assert_eq!(
            bad(FtrlConfig {
                initial_accumulator_value: -1.0,
                ..d.clone()
            }),
            "initial_accumulator_value"
        );
        assert_eq!(
            bad(FtrlConfig {
                l1_regularization_strength: -1.0,
                ..d.clone()
            }),
            "l1_regularization_strength"
        );
        assert_eq!(
            bad(FtrlConfig {
                l2_regularization_strength: -1.0,
                ..d.clone()
            }),
            "l2_regularization_strength"
        );
        assert_eq!(
            bad(FtrlConfig {
                l2_shrinkage_regularization_strength: -1.0,
                ..d
            }),
            "l2_shrinkage_regularization_strength"
        );
    }
}
