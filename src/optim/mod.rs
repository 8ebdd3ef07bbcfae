//! Optimizers: our own update rules, batched, with the exact semantics of Keras 3.
//!
//! Every rule steps a batch `[N, d]` of N independent parameter vectors at once; each row is
//! its own run, and anything a rule takes a norm over (LAMB, LARS, full-matrix AdaGrad) is per
//! row. Numeric hyperparameters may differ per row, so a learning-rate sweep is one batched
//! computation; boolean ones (`nesterov`, `amsgrad`, `centered`) are shared by a batch.
//!
//! One file per rule holds its [`Config`] (Keras constructor names and defaults, serde), its
//! state and a pure [`Rule::step`]. What all rules share is written once in [`common`]:
//! per-row hyperparameter columns, bias correction and Keras's decoupled weight decay, which
//! [`Stateful`] applies before every rule's own step (`w <- w - (w * lambda) * eta`).

pub mod adadelta;
pub mod adagrad;
pub mod adagrad_full;
pub mod adam;
pub mod adamax;
pub mod common;
pub mod ftrl;
pub mod lamb;
pub mod lars;
pub mod lion;
pub mod nadam;
pub mod rmsprop;
pub mod sgd;

use burn::tensor::{Device, Tensor};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// A pure, batched update rule.
pub trait Rule {
    /// What the rule carries from one step to the next (moments, accumulators, step count).
    type State;
    /// The state before the first step, for parameters shaped like `params`.
    fn init(&self, params: &Tensor<2>) -> Self::State;
    /// One update of every row: `(params, grad, state) -> (params, state)`.
    fn step(&self, params: Tensor<2>, grad: Tensor<2>, state: Self::State) -> (Tensor<2>, Self::State);
}

/// One run's optimizer configuration: the Keras constructor arguments, with Keras's defaults.
pub trait Config: Serialize + DeserializeOwned + Default + Clone + 'static {
    /// The rule that steps a batch of rows configured like this.
    type Rule: Rule + 'static;
    /// Name in experiment files (the Keras class name in lower case).
    const NAME: &'static str;
    /// One line for `optsurf list`.
    const DESCRIPTION: &'static str;
    /// The learning rate of this run.
    fn learning_rate(&self) -> f64;
    /// Keras's decoupled weight decay `lambda`, if set (applied by [`Stateful`]).
    fn weight_decay(&self) -> Option<f64>;
    /// Checks the values as Keras's constructor does: `Err((field, what was expected))`.
    fn validate(&self) -> Result<(), (String, String)>;
    /// The batched rule for `rows` (one config per row, same boolean flags).
    fn rule(rows: &[Self], device: &Device) -> Self::Rule;
}

/// A rule with its state and the shared decoupled weight decay: what the runner steps.
pub trait Optimizer {
    /// Updates every row of `params` given its gradient.
    fn step(&mut self, params: Tensor<2>, grad: Tensor<2>) -> Tensor<2>;
}

/// A [`Rule`] carrying its state between steps, with Keras's decoupled weight decay applied
/// before each update.
pub struct Stateful<R: Rule> {
    rule: R,
    decay: common::WeightDecay,
    state: Option<R::State>,
}

impl<R: Rule> Optimizer for Stateful<R> {
    fn step(&mut self, params: Tensor<2>, grad: Tensor<2>) -> Tensor<2> {
        let state = match self.state.take() {
            Some(state) => state,
            None => self.rule.init(&params),
        };
        let params = self.decay.apply(params);
        let (params, state) = self.rule.step(params, grad, state);
        self.state = Some(state);
        params
    }
}

/// Builds the batched optimizer for rows of one config type.
pub fn stateful<C: Config>(rows: &[C], device: &Device) -> Stateful<C::Rule> {
    Stateful {
        rule: C::rule(rows, device),
        decay: common::WeightDecay::new(rows.iter().map(|c| (c.weight_decay(), c.learning_rate())), device),
        state: None,
    }
}

/// A run's hyperparameters as JSON, by Keras name.
pub type Hyperparameters = Map<String, Value>;

/// A registry entry: an optimizer by name, with type-erased parsing and building. Make one
/// for your own [`Config`] with [`Entry::of`] and register it with
/// [`Registry::with_optimizer`](crate::Registry::with_optimizer).
#[derive(Clone, Copy)]
pub struct Entry {
    /// Name in experiment files.
    pub name: &'static str,
    /// One line for `optsurf list`.
    pub description: &'static str,
    defaults: fn() -> Map<String, Value>,
    parse: fn(Hyperparameters) -> Result<Hyperparameters, (String, String)>,
    build: fn(&[Hyperparameters], &Device) -> Box<dyn Optimizer>,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry").field("name", &self.name).finish()
    }
}

impl Entry {
    /// The entry of config type `C`.
    pub const fn of<C: Config>() -> Self {
        Entry {
            name: C::NAME,
            description: C::DESCRIPTION,
            defaults: defaults::<C>,
            parse: parse::<C>,
            build: build::<C>,
        }
    }

    /// Every hyperparameter with its default, in declaration order.
    pub fn defaults(&self) -> Map<String, Value> {
        (self.defaults)()
    }

    /// Checks a run's hyperparameters and fills in the defaults. On error, returns the field
    /// and what was expected.
    pub fn parse(&self, given: Map<String, Value>) -> Result<Map<String, Value>, (String, String)> {
        (self.parse)(given)
    }

    /// The batched optimizer for rows whose hyperparameters came from [`Entry::parse`] and share
    /// their boolean flags (see [`group_key`]).
    pub fn build(&self, rows: &[Map<String, Value>], device: &Device) -> Box<dyn Optimizer> {
        (self.build)(rows, device)
    }
}

/// Every built-in optimizer, in the order `optsurf list` shows them.
pub const BUILTIN: &[Entry] = &[
    Entry::of::<sgd::SgdConfig>(),
    Entry::of::<rmsprop::RmspropConfig>(),
    Entry::of::<adagrad::AdagradConfig>(),
    Entry::of::<adadelta::AdadeltaConfig>(),
    Entry::of::<adam::AdamConfig>(),
    Entry::of::<adam::AdamWConfig>(),
    Entry::of::<adamax::AdamaxConfig>(),
    Entry::of::<nadam::NadamConfig>(),
    Entry::of::<lion::LionConfig>(),
    Entry::of::<lamb::LambConfig>(),
    Entry::of::<ftrl::FtrlConfig>(),
    Entry::of::<lars::LarsConfig>(),
    Entry::of::<adagrad_full::AdagradFullConfig>(),
];

/// Rows of one optimizer can share a batch when their boolean flags agree; this is the key.
pub fn group_key(name: &str, hyper: &Map<String, Value>) -> String {
    let flags: Vec<String> = hyper
        .iter()
        .filter(|(_, v)| v.is_boolean())
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    format!("{name}[{}]", flags.join(","))
}

fn defaults<C: Config>() -> Map<String, Value> {
    match serde_json::to_value(C::default()) {
        Ok(Value::Object(map)) => map,
        _ => unreachable!("configs serialize to JSON objects"),
    }
}

fn parse<C: Config>(given: Map<String, Value>) -> Result<Map<String, Value>, (String, String)> {
    let config: C = serde_path_to_error::deserialize(Value::Object(given)).map_err(|e| {
        let field = e.path().to_string();
        let message = e.into_inner().to_string();
        if message.starts_with("unknown field") {
            let accepted: Vec<String> = defaults::<C>().keys().cloned().collect();
            let unknown = message.split('`').nth(1).unwrap_or_default().to_string();
            (
                unknown,
                format!(
                    "not a hyperparameter of {}; it accepts: {}",
                    C::NAME,
                    accepted.join(", ")
                ),
            )
        } else {
            (field, message)
        }
    })?;
    config.validate()?;
    defaults_of(&config)
}

fn defaults_of<C: Config>(config: &C) -> Result<Map<String, Value>, (String, String)> {
    match serde_json::to_value(config) {
        Ok(Value::Object(map)) => Ok(map),
        _ => unreachable!("configs serialize to JSON objects"),
    }
}

fn build<C: Config>(rows: &[Map<String, Value>], device: &Device) -> Box<dyn Optimizer> {
    let configs: Vec<C> = rows
        .iter()
        .map(|m| serde_json::from_value(Value::Object(m.clone())).expect("rows were checked by Entry::parse"))
        .collect();
    Box::new(stateful(&configs, device))
}
