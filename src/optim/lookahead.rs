//! Lookahead, as optax's `lookahead`, around any registered optimizer.

use super::common::column;
use super::{
    Built, Entry, Env, Optimizer, Parsed, Range, Source, Wrapped, build_wrapped, configs, parse_wrapper, to_map,
};
use burn::tensor::{Device, Tensor};
use serde_json::{Map, Value};

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
    pub struct LookaheadConfig {
        /// Required: the fast optimizer, any registered one with its hyperparameters
        /// (`{"optimizer": name, ...}`).
        fast: Wrapped = Wrapped::default();
        /// `k`, fast steps per slow step, >= 1.
        sync_period: u64 = 5u64, Range::AT_LEAST_ONE;
        /// `alpha`, how far the slow weights move towards the fast ones, in [0, 1].
        slow_step_size: f64 = 0.5, Range::UNIT_CLOSED;
        /// Restart the fast optimizer's state at every sync.
        reset_state: bool = false;
    }
}

const NAME: &str = "lookahead";

/// The registry entry: a wrapper, whose `fast` names another optimizer.
pub const ENTRY: Entry = Entry::wrapper(
    NAME,
    "Lookahead: k steps of a fast optimizer, then the slow weights (eval_points) move alpha of the way",
    Source::Optax,
    <LookaheadConfig as super::Hyperparameters>::PARAMS,
    || to_map(&LookaheadConfig::default()),
    parse,
    build,
);

fn parse(known: &[Entry], given: Map<String, Value>) -> Parsed {
    parse_wrapper::<LookaheadConfig>(NAME, "fast", known, given)
}

fn build(known: &[Entry], rows: &[Map<String, Value>], device: &Device) -> Built {
    let configs: Vec<LookaheadConfig> = configs(rows);
    let (known, rows, device) = (known.to_vec(), rows.to_vec(), device.clone());
    let fast = build_wrapped(&known, "fast", &rows, &device);
    Box::new(Lookahead {
        alpha: column(configs.iter().map(|c| c.slow_step_size), &device),
        one_minus_alpha: column(configs.iter().map(|c| 1.0 - c.slow_step_size), &device),
        // Whole numbers and flags are shared by a batch (see `group_key`).
        sync_period: configs[0].sync_period,
        reset_state: configs[0].reset_state,
        rebuild: Box::new(move || build_wrapped(&known, "fast", &rows, &device)),
        fast,
        slow: None,
        steps_since_sync: 0,
    })
}

/// Batched Lookahead.
pub struct Lookahead {
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
    /// One step of the fast weights `params`: returns their update, and moves the slow weights
    /// on a sync step.
    fn increment(&mut self, params: Tensor<2>, grad: Tensor<2>, env: &Env) -> Tensor<2> {
        let slow = self.slow.take().unwrap_or_else(|| params.clone());
        let u = self.fast.increment(params.clone(), grad, env);
        let sync = self.steps_since_sync + 1 == self.sync_period;
        self.steps_since_sync = (self.steps_since_sync + 1) % self.sync_period;
        if !sync {
            // optax adds (alpha * 0) d to the slow weights and 0 d to the update: nothing.
            self.slow = Some(slow);
            return u;
        }
        let diff = (params + u.clone()) - slow.clone();
        self.slow = Some(slow + diff.clone() * self.alpha.clone());
        if self.reset_state {
            self.fast = (self.rebuild)();
        }
        u - diff * self.one_minus_alpha.clone()
    }

    fn eval_points(&self) -> Option<Tensor<2>> {
        self.slow.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::test_util::{assert_close, device, rows, tensor};
    use super::super::{BUILTIN, step_with_gradient};
    use super::*;
    use serde_json::json;

    fn lookahead(given: Value) -> Built {
        let hyper = ENTRY.parse_in(BUILTIN, given.as_object().unwrap().clone()).unwrap();
        ENTRY.build_in(BUILTIN, &[hyper], &device())
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
        let parse = |v: Value| ENTRY.parse_in(BUILTIN, v.as_object().unwrap().clone());
        let ok = parse(json!({"fast": {"optimizer": "adam_optax", "learning_rate": 0.3}})).unwrap();
        assert_eq!(ok["fast"]["optimizer"], "adam_optax");
        assert_eq!(ok["fast"]["b2"], 0.999);
        assert_eq!(ok["sync_period"], 5);
        let err = |v: Value| parse(v).unwrap_err();
        assert_eq!(
            err(json!({"fast": {"optimizer": "adam", "learning_rate": -1.0}})).0,
            "fast.learning_rate"
        );
        let (field, message) = err(json!({"fast": {"optimizer": "adamm"}}));
        assert_eq!(field, "fast.optimizer");
        assert!(
            message.contains("expected one of: sgd") && message.contains("adam_optax"),
            "{message}"
        );
        assert_eq!(err(json!({})).0, "fast");
        assert_eq!(
            err(json!({"fast": {"optimizer": "sgd"}, "sync_period": 0})).0,
            "sync_period"
        );
        assert_eq!(
            err(json!({"fast": {"optimizer": "sgd"}, "slow_step_size": 1.5})).0,
            "slow_step_size"
        );
    }
}
