//! Lookahead, as optax's `lookahead`, around any registered optimizer.

use super::common::column;
use super::{
    Built, Config, Env, Hyperparameters, LearningRate, Optimizer, OptimizerSpec, Range, Source, Update, Wrapped,
};
use crate::error::Parsed;
use burn::tensor::{Device, Tensor};

crate::hyperparameters! {
    /// optax `lookahead(fast_optimizer, sync_period, slow_step_size, reset_state=False)` (Zhang,
    /// Lucas, Hinton & Ba, *Lookahead Optimizer: k steps forward, 1 step back*, NeurIPS 2019,
    /// arXiv:1907.08610, Algorithm 1), written
    /// `{"optimizer": "lookahead", "fast": {"optimizer": "adam_optax", "learning_rate": 0.3},
    /// "sync_period": 6, "slow_step_size": 0.5}`.
    ///
    /// The fast optimizer steps `k = sync_period` times from the slow weights `phi` (gradients
    /// are taken at the fast weights `theta`, the trajectory's `points`; `phi` are its
    /// `eval_points`); on every `k`-th step, with `u` that step's fast update:
    /// ```text
    /// d = (theta + u) - phi
    /// phi   <- phi + alpha d
    /// theta <- theta + (u - (1 - alpha) d)      (= phi, up to rounding: optax keeps both)
    /// ```
    /// with `alpha = slow_step_size`. The fast optimizer keeps its state across syncs unless
    /// `reset_state` (the paper discusses both). optax has no defaults for `sync_period` and
    /// `slow_step_size`: these are the paper's (`k = 5`, `alpha = 0.5`).
    pub(crate) struct LookaheadConfig {
        /// Required: the fast optimizer, any registered one with its hyperparameters
        /// (`{"optimizer": name, ...}`).
        fast: Wrapped = Wrapped::default() => shared;
        /// `k`, fast steps per slow step, >= 1.
        sync_period: u64 = 5u64, Range::AT_LEAST_ONE => shared;
        /// `alpha`, how far the slow weights move towards the fast ones, in [0, 1].
        slow_step_size: f64 = 0.5, Range::UNIT_CLOSED;
        /// Restart the fast optimizer's state at every sync.
        reset_state: bool = false => shared;
    }
}

impl Config for LookaheadConfig {
    const NAME: &'static str = "lookahead";
    const SOURCE: Source = Source::Optax;
    const DESCRIPTION: &'static str =
        "Lookahead: k steps of a fast optimizer, then the slow weights (eval_points) move alpha of the way";

    fn learning_rate(&self) -> &LearningRate {
        self.fast.spec().learning_rate()
    }
    fn validate(&self) -> Parsed<()> {
        self.check_ranges()?;
        self.fast.get("fast").map(|_| ())
    }
    fn max_parameters(&self) -> Option<usize> {
        self.fast.spec().max_parameters()
    }
    fn build(rows: &[Self], device: &Device) -> Built {
        let fast: Vec<OptimizerSpec> = rows.iter().map(|c| c.fast.spec().clone()).collect();
        let on = device.clone();
        let rebuild = move || OptimizerSpec::build(&fast.iter().collect::<Vec<_>>(), &on);
        Box::new(Lookahead {
            alpha: column(rows.iter().map(|c| c.slow_step_size), device),
            one_minus_alpha: column(rows.iter().map(|c| 1.0 - c.slow_step_size), device),
            // Shared by a batch (declared `=> shared`).
            sync_period: rows[0].sync_period,
            reset_state: rows[0].reset_state,
            fast: rebuild(),
            rebuild: Box::new(rebuild),
            slow: None,
            steps_since_sync: 0,
        })
    }
}

/// Batched Lookahead.
pub(crate) struct Lookahead {
    fast: Built,
    alpha: Tensor<2>,
    one_minus_alpha: Tensor<2>,
    sync_period: u64,
    reset_state: bool,
    /// A fresh fast optimizer, for `reset_state`.
    rebuild: Box<dyn Fn() -> Built>,
    slow: Option<Tensor<2>>,
    steps_since_sync: u64,
}

impl Optimizer for Lookahead {
    /// One step of the fast weights `params`: their update, and the slow weights moved on a sync
    /// step.
    fn update(&mut self, params: Tensor<2>, grad: Tensor<2>, env: &Env) -> Update {
        let slow = self.slow.take().unwrap_or_else(|| params.clone());
        let u = self.fast.increment(params.clone(), grad, env);
        let sync = self.steps_since_sync + 1 == self.sync_period;
        self.steps_since_sync = (self.steps_since_sync + 1) % self.sync_period;
        if !sync {
            // optax adds (alpha * 0) d to the slow weights and 0 d to the update: nothing.
            self.slow = Some(slow);
            return Update::Increment(u);
        }
        let diff = (params + u.clone()) - slow.clone();
        self.slow = Some(slow + diff.clone() * self.alpha.clone());
        if self.reset_state {
            self.fast = (self.rebuild)();
        }
        Update::Increment(u - diff * self.one_minus_alpha.clone())
    }

    fn eval_points(&self) -> Option<Tensor<2>> {
        self.slow.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::test_util::{assert_close, device, rows, tensor};
    use super::super::{Entry, step_with_gradient};
    use super::*;
    use serde_json::{Value, json};

    fn parse(given: Value) -> Parsed<OptimizerSpec> {
        Entry::of::<LookaheadConfig>().parse(given.as_object().unwrap().clone())
    }

    fn lookahead(given: Value) -> Built {
        OptimizerSpec::build(&[&parse(given).unwrap()], &device())
    }

    #[test]
    fn k_fast_steps_then_the_slow_weights_move_alpha_of_the_way() {
        let mut opt = lookahead(json!({"fast": {"optimizer": "sgd_optax", "learning_rate": 1.0},
                                       "sync_period": 2, "slow_step_size": 0.25}));
        let g = tensor(&[vec![1.0, -2.0]]);
        let w = step_with_gradient(opt.as_mut(), tensor(&[vec![0.0, 0.0]]), g.clone());
        assert_close(&rows(w.clone()), &[vec![-1.0, 2.0]], 0.0);
        assert_close(&rows(opt.eval_points().unwrap()), &[vec![0.0, 0.0]], 0.0);
        // Step 2: the fast weights reach (-2, 4); the slow ones move a quarter of the way and the
        // fast ones restart from there.
        let w = step_with_gradient(opt.as_mut(), w, g.clone());
        assert_close(&rows(opt.eval_points().unwrap()), &[vec![-0.5, 1.0]], 0.0);
        assert_close(&rows(w.clone()), &[vec![-0.5, 1.0]], 0.0);
        let w = step_with_gradient(opt.as_mut(), w, g);
        assert_close(&rows(w), &[vec![-1.5, 3.0]], 0.0);
    }

    #[test]
    fn reset_state_restarts_the_fast_optimizer_at_each_sync() {
        let fast = json!({"optimizer": "sgd_optax", "learning_rate": 1.0, "momentum": 0.5});
        let mut kept = lookahead(json!({"fast": fast, "sync_period": 1, "slow_step_size": 1.0}));
        let mut reset = lookahead(json!({"fast": fast, "sync_period": 1, "slow_step_size": 1.0,
                                         "reset_state": true}));
        let g = tensor(&[vec![1.0, 0.0]]);
        let (mut a, mut b) = (tensor(&[vec![0.0, 0.0]]), tensor(&[vec![0.0, 0.0]]));
        for _ in 0..2 {
            a = step_with_gradient(kept.as_mut(), a, g.clone());
            b = step_with_gradient(reset.as_mut(), b, g.clone());
        }
        // With alpha = 1 and k = 1 lookahead is its fast optimizer: momentum 1 + 1.5, or two
        // fresh first steps.
        assert_close(&rows(a), &[vec![-2.5, 0.0]], 0.0);
        assert_close(&rows(b), &[vec![-2.0, 0.0]], 0.0);
    }

    #[test]
    fn the_fast_optimizer_is_checked_and_recorded_with_its_defaults() {
        let ok = parse(json!({"fast": {"optimizer": "adam_optax", "learning_rate": 0.3}}))
            .unwrap()
            .hyperparameters();
        assert_eq!(ok["fast"]["optimizer"], "adam_optax");
        assert_eq!(ok["fast"]["b2"], 0.999);
        assert_eq!(ok["sync_period"], 5);
        let err = |v: Value| parse(v).unwrap_err();
        assert_eq!(
            err(json!({"fast": {"optimizer": "adam", "learning_rate": -1.0}})).path(),
            "fast.learning_rate"
        );
        let e = err(json!({"fast": {"optimizer": "adamm"}}));
        let (field, message) = (e.path(), e.message());
        assert_eq!(field, "fast.optimizer");
        assert!(
            message.contains("expected one of: sgd") && message.contains("adam_optax"),
            "{message}"
        );
        assert_eq!(err(json!({})).path(), "fast");
        assert_eq!(
            err(json!({"fast": {"optimizer": "sgd"}, "sync_period": 0})).path(),
            "sync_period"
        );
        assert_eq!(
            err(json!({"fast": {"optimizer": "sgd"}, "slow_step_size": 1.5})).path(),
            "slow_step_size"
        );
    }
}
