//! Sharpness-aware minimisation, as optax's `contrib.sam` in opaque mode, around any registered
//! optimizer.

use super::common::{column, div_s, norm};
use super::{
    Built, Config, Env, Hyperparameters, LearningRate, Optimizer, OptimizerSpec, Range, Source, Update, Wrapped,
};
use crate::error::Parsed;
use burn::tensor::{Device, Tensor};

crate::hyperparameters! {
    /// optax `contrib.sam(outer, chain(contrib.normalize(), sgd(rho)), sync_period=2,
    /// opaque_mode=True)` (Foret, Kleiner, Mobahi & Neyshabur, *Sharpness-Aware Minimization for
    /// Efficiently Improving Generalization*, ICLR 2021, arXiv:2010.01412), written
    /// `{"optimizer": "sam", "outer": {"optimizer": "adam_optax", "learning_rate": 0.3},
    /// "rho": 0.05}`.
    ///
    /// Each step takes one more gradient, at the point `rho` up the normalised gradient, and
    /// steps the outer optimizer from the current point with it:
    /// ```text
    /// w_adv = w + rho g / |g|
    /// w <- outer step from w with the gradient at w_adv
    /// ```
    /// With `sync_period = k` optax takes `k - 1` such adversarial steps (each from the last
    /// perturbed point, with its gradient) before the outer step: `k = 2` is the paper's SAM,
    /// `k = 1` the outer optimizer alone. `rho` is not an optax argument but the rate of the
    /// adversarial `sgd` (0.05, the paper's). The trajectory's `points` are the outer iterates;
    /// an outer optimizer that uses the loss sees the loss at the last perturbed point. A zero
    /// gradient has no direction: as in optax, the step is NaN.
    pub(crate) struct SamConfig {
        /// Required: the outer optimizer, any registered one with its hyperparameters
        /// (`{"optimizer": name, ...}`).
        outer: Wrapped = Wrapped::default() => shared;
        /// `rho`, the radius of the adversarial step, >= 0.
        rho: f64 = 0.05, Range::NON_NEGATIVE;
        /// `k`: `k - 1` adversarial steps per outer step, >= 1.
        sync_period: u64 = 2u64, Range::AT_LEAST_ONE => shared;
    }
}

impl Config for SamConfig {
    const NAME: &'static str = "sam";
    const SOURCE: Source = Source::Optax;
    const DESCRIPTION: &'static str =
        "SAM: the outer optimizer stepped with the gradient rho up the normalised gradient (one more gradient a step)";

    fn learning_rate(&self) -> &LearningRate {
        self.outer.spec().learning_rate()
    }
    fn validate(&self) -> Parsed<()> {
        self.check_ranges()?;
        self.outer.get("outer").map(|_| ())
    }
    fn max_parameters(&self) -> Option<usize> {
        self.outer.spec().max_parameters()
    }
    fn build(rows: &[Self], device: &Device) -> Built {
        let outer: Vec<&OptimizerSpec> = rows.iter().map(|c| c.outer.spec()).collect();
        Box::new(Sam {
            outer: OptimizerSpec::build(&outer, device),
            minus_rho: column(rows.iter().map(|c| -c.rho), device),
            // Shared by a batch (declared `=> shared`).
            sync_period: rows[0].sync_period,
        })
    }
}

/// Batched SAM.
pub(crate) struct Sam {
    outer: Built,
    minus_rho: Tensor<2>,
    sync_period: u64,
}

impl Optimizer for Sam {
    /// The outer optimizer's update of `params`, with the gradient at the last perturbed point.
    fn update(&mut self, params: Tensor<2>, grad: Tensor<2>, env: &Env) -> Update {
        let (mut adv, mut grad, mut loss) = (params.clone(), grad, env.loss.clone());
        for _ in 1..self.sync_period {
            // normalize: g * (1 / |g|); sgd(rho): -rho times that; sam negates the update.
            let step = div_s(grad.clone(), norm(grad)) * self.minus_rho.clone();
            adv = adv + step.neg();
            (loss, grad) = (env.gradient_at)(adv.clone());
        }
        let env = Env {
            loss: &loss,
            layout: env.layout,
            gradient_at: env.gradient_at,
        };
        Update::Increment(self.outer.increment(params, grad, &env))
    }

    fn eval_points(&self) -> Option<Tensor<2>> {
        self.outer.eval_points()
    }
}

#[cfg(test)]
mod tests {
    use super::super::Entry;
    use super::super::common::test_util::{assert_close, device, rows, tensor};
    use super::*;
    use serde_json::{Value, json};
    use std::cell::RefCell;

    fn parse(given: Value) -> Parsed<OptimizerSpec> {
        Entry::of::<SamConfig>().parse(given.as_object().unwrap().clone())
    }

    fn sam(given: Value) -> Built {
        OptimizerSpec::build(&[&parse(given).unwrap()], &device())
    }

    /// Steps `opt` once on `x^2 + y^2` from `w` and returns the new point and the points it
    /// asked gradients at.
    fn on_bowl(opt: &mut Built, w: Vec<f32>) -> (Vec<f32>, Vec<Vec<f32>>) {
        let asked = RefCell::new(Vec::new());
        let gradient_at = |p: Tensor<2>| {
            asked.borrow_mut().push(rows(p.clone())[0].clone());
            ((p.clone() * p.clone()).sum_dim(1), p * 2.0)
        };
        let w = tensor(&[w]);
        let loss = (w.clone() * w.clone()).sum_dim(1);
        let layout = crate::params::Layout::whole(2);
        let env = Env {
            loss: &loss,
            layout: &layout,
            gradient_at: &gradient_at,
        };
        let next = opt.step(w.clone(), w * 2.0, &env);
        (rows(next)[0].clone(), asked.into_inner())
    }

    #[test]
    fn the_outer_step_uses_the_gradient_rho_up_the_normalised_gradient() {
        let mut opt = sam(json!({"outer": {"optimizer": "sgd_optax", "learning_rate": 0.25}, "rho": 0.5}));
        // At (3, 4): g / |g| = (0.6, 0.8), the perturbed point (3.3, 4.4), its gradient
        // (6.6, 8.8); the outer step goes from (3, 4).
        let (next, asked) = on_bowl(&mut opt, vec![3.0, 4.0]);
        assert_close(&[asked[0].clone()], &[vec![3.3, 4.4]], 1e-6);
        assert_close(&[next], &[vec![3.0 - 1.65, 4.0 - 2.2]], 1e-6);
    }

    #[test]
    fn sync_period_counts_the_adversarial_steps() {
        let mut alone = sam(json!({"outer": {"optimizer": "sgd_optax", "learning_rate": 0.25},
                                   "sync_period": 1}));
        let (next, asked) = on_bowl(&mut alone, vec![3.0, 4.0]);
        assert!(asked.is_empty());
        assert_close(&[next], &[vec![1.5, 2.0]], 0.0);
        let mut twice = sam(json!({"outer": {"optimizer": "sgd_optax", "learning_rate": 0.25},
                                   "rho": 0.5, "sync_period": 3}));
        let (_, asked) = on_bowl(&mut twice, vec![3.0, 4.0]);
        assert_close(&asked, &[vec![3.3, 4.4], vec![3.6, 4.8]], 1e-6);
    }

    #[test]
    fn the_outer_optimizer_is_checked() {
        assert_eq!(
            parse(json!({"outer": {"optimizer": "sgd"}, "rho": -1.0}))
                .unwrap_err()
                .path(),
            "rho"
        );
        assert_eq!(
            parse(json!({"outer": {"optimizer": "nope"}})).unwrap_err().path(),
            "outer.optimizer"
        );
        assert_eq!(parse(json!({"outer": 3})).unwrap_err().path(), "outer");
        let nested = json!({"outer": {"optimizer": "lookahead", "fast": {"optimizer": "sgd", "momentum": 2.0}}});
        assert_eq!(parse(nested).unwrap_err().path(), "outer.fast.momentum");
    }
}
