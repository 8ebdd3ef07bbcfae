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

pub mod adabelief;
pub mod adadelta;
pub mod adagrad;
pub mod adagrad_full;
pub mod adam;
pub mod adam_optax;
pub mod adamax;
pub mod adan;
pub mod ademamix;
pub mod adopt;
pub mod cocob;
pub mod common;
pub mod dadapt_adamw;
pub mod dog;
pub mod ftrl;
pub mod hyper;
pub mod lamb;
pub mod lars;
pub mod lion;
pub mod lookahead;
pub mod momo;
pub mod nadam;
pub mod novograd;
pub mod polyak_sgd;
pub mod prodigy;
pub mod radam;
pub mod rmsprop;
pub mod rprop;
pub mod sam;
pub mod schedule;
pub mod schedule_free_adamw;
pub mod sgd;
pub mod sgd_optax;
pub mod sign_sgd;
pub mod signum;
pub mod yogi;

use burn::tensor::{Device, Tensor};
use serde::Serialize;
use serde_json::{Map, Value};

pub use hyper::{Bound, Checked, Hyperparameters, Param, Range};
pub use schedule::{LearningRate, Schedule};

/// What a rule is told at each step besides the parameters and their gradient.
pub struct Step<'a> {
    /// The 1-based step (Keras's iteration count after its increment).
    pub t: u64,
    /// This step's learning rate of every row, an `[N, 1]` column (a schedule's value at
    /// iteration `t - 1`, or the constant).
    pub lr: &'a Tensor<2>,
    /// The same rates on the host.
    pub lr_host: &'a [f32],
    /// The loss at the parameters, an `[N, 1]` column (from the same autodiff pass as the
    /// gradient; Polyak's step size and MoMo use it).
    pub loss: &'a Tensor<2>,
}

/// What the runner offers an optimizer besides the gradient, for the rows it steps.
pub struct Env<'a> {
    /// The loss at the current parameters, an `[N, 1]` column.
    pub loss: &'a Tensor<2>,
    /// Loss `[N, 1]` and gradient `[N, 2]` at other points of these rows (one more batched
    /// autodiff pass: SAM's perturbed point).
    pub gradient_at: &'a dyn Fn(Tensor<2>) -> (Tensor<2>, Tensor<2>),
}

/// A pure, batched update rule. Implement [`Rule::step`] (Keras's rules: the new parameters) or
/// [`Rule::increment`] (optax's: the update `u`, which `apply_updates` adds), or both.
pub trait Rule {
    /// What the rule carries from one step to the next (moments, accumulators).
    type State;
    /// The state before the first step, for parameters shaped like `params`.
    fn init(&self, params: &Tensor<2>) -> Self::State;
    /// One update of every row: `(params, grad, state) -> (params, state)`; by default
    /// `params + u` with `u` from [`Rule::increment`] (optax's `apply_updates`).
    fn step(&self, params: Tensor<2>, grad: Tensor<2>, state: Self::State, step: &Step) -> (Tensor<2>, Self::State) {
        let (u, state) = self.increment(params.clone(), grad, state, step);
        (params + u, state)
    }
    /// One update of every row as the increment `u` that [`Rule::step`] adds to the
    /// parameters; by default the difference of [`Rule::step`]'s result and `params`. Wrappers
    /// that combine updates (Lookahead) need optax's `u` itself: `(p + u) - p` is not `u` bit
    /// for bit.
    fn increment(
        &self,
        params: Tensor<2>,
        grad: Tensor<2>,
        state: Self::State,
        step: &Step,
    ) -> (Tensor<2>, Self::State) {
        let (next, state) = self.step(params.clone(), grad, state, step);
        (next - params, state)
    }
    /// Where the rule would evaluate the model, when that is not where it takes gradients
    /// (schedule-free's averaged iterate), from its state after a step.
    fn eval_points(&self, _state: &Self::State) -> Option<Tensor<2>> {
        None
    }
}

/// Where an optimizer's semantics come from, for `optsurf list`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// Keras 3's optimizers (the post's).
    Keras,
    /// optax's.
    Optax,
    /// Neither: written from the paper.
    Paper,
}

/// One run's optimizer configuration, declared with [`hyperparameters!`](crate::hyperparameters)
/// (names and defaults of the library it follows).
pub trait Config: Hyperparameters {
    /// The rule that steps a batch of rows configured like this.
    type Rule: Rule + 'static;
    /// Name in experiment files.
    const NAME: &'static str;
    /// One line for `optsurf list`.
    const DESCRIPTION: &'static str;
    /// Whose semantics it follows.
    const SOURCE: Source = Source::Keras;
    /// The learning rate of this run.
    fn learning_rate(&self) -> &LearningRate;
    /// Keras's decoupled weight decay `lambda`, applied by [`Stateful`] before each step, if set.
    fn weight_decay(&self) -> Option<f64> {
        None
    }
    /// Checks the values: the declared ranges, then anything more the library checks.
    fn validate(&self) -> Result<(), (String, String)> {
        self.check_ranges()
    }
    /// The batched rule for `rows` (one config per row, same boolean flags).
    fn rule(rows: &[Self], device: &Device) -> Self::Rule;
}

/// A rule with its state and the shared decoupled weight decay: what the runner steps.
/// Implement [`Optimizer::step`] or [`Optimizer::increment`], or both.
pub trait Optimizer {
    /// Updates every row of `params` given its gradient (and what else `env` offers); by
    /// default `params + u` with `u` from [`Optimizer::increment`].
    fn step(&mut self, params: Tensor<2>, grad: Tensor<2>, env: &Env) -> Tensor<2> {
        let u = self.increment(params.clone(), grad, env);
        params + u
    }
    /// As [`Optimizer::step`], returning the increment `u` (the new parameters are
    /// `params + u`) instead of the new parameters; see [`Rule::increment`].
    fn increment(&mut self, params: Tensor<2>, grad: Tensor<2>, env: &Env) -> Tensor<2> {
        let next = self.step(params.clone(), grad, env);
        next - params
    }
    /// Where the optimizer would evaluate the model now, when that is not where it takes
    /// gradients (Lookahead's slow weights, schedule-free's averaged iterate): `[N, 2]`.
    fn eval_points(&self) -> Option<Tensor<2>> {
        None
    }
}

/// A [`Rule`] carrying its state between steps, with each row's learning rate (constant or
/// scheduled) and Keras's decoupled weight decay applied before each update.
pub struct Stateful<R: Rule> {
    rule: R,
    rates: common::Rates,
    decay: common::WeightDecay,
    state: Option<R::State>,
    t: u64,
}

/// [`Rule::step`] or [`Rule::increment`] of a rule `R`.
type RuleFn<R> = fn(&R, Tensor<2>, Tensor<2>, <R as Rule>::State, &Step) -> (Tensor<2>, <R as Rule>::State);

impl<R: Rule> Stateful<R> {
    /// Applies `update` (the rule's step or increment) to the decayed parameters with this
    /// step's context, carrying the state.
    fn advance(&mut self, params: Tensor<2>, grad: Tensor<2>, env: &Env, update: RuleFn<R>) -> Tensor<2> {
        let state = match self.state.take() {
            Some(state) => state,
            None => self.rule.init(&params),
        };
        let (lr, lr_host) = self.rates.at(self.t);
        self.t += 1;
        let params = self.decay.apply(params, &lr_host);
        let step = Step {
            t: self.t,
            lr: &lr,
            lr_host: &lr_host,
            loss: env.loss,
        };
        let (out, state) = update(&self.rule, params, grad, state, &step);
        self.state = Some(state);
        out
    }
}

impl<R: Rule> Optimizer for Stateful<R> {
    fn step(&mut self, params: Tensor<2>, grad: Tensor<2>, env: &Env) -> Tensor<2> {
        self.advance(params, grad, env, R::step)
    }

    fn increment(&mut self, params: Tensor<2>, grad: Tensor<2>, env: &Env) -> Tensor<2> {
        if matches!(self.decay, common::WeightDecay::None) {
            self.advance(params, grad, env, R::increment)
        } else {
            let next = self.step(params.clone(), grad, env);
            next - params
        }
    }

    fn eval_points(&self) -> Option<Tensor<2>> {
        self.state.as_ref().and_then(|s| self.rule.eval_points(s))
    }
}

/// Steps `optimizer` with a gradient alone, as a replay of recorded gradients does: the loss is
/// unknown (NaN) and no other gradient can be taken (NaN).
pub fn step_with_gradient(optimizer: &mut dyn Optimizer, params: Tensor<2>, grad: Tensor<2>) -> Tensor<2> {
    let [n, _] = params.dims();
    let loss = Tensor::<2>::full([n, 1], f32::NAN, &params.device());
    let nan = |p: Tensor<2>| {
        let [n, _] = p.dims();
        (Tensor::full([n, 1], f32::NAN, &p.device()), p.full_like(f32::NAN))
    };
    optimizer.step(
        params,
        grad,
        &Env {
            loss: &loss,
            gradient_at: &nan,
        },
    )
}

/// Builds the batched optimizer for rows of one config type.
pub fn stateful<C: Config>(rows: &[C], device: &Device) -> Stateful<C::Rule> {
    let rates = common::Rates::new(rows.iter().map(|c| c.learning_rate().clone()).collect(), device);
    Stateful {
        rule: C::rule(rows, device),
        decay: common::WeightDecay::new(rows.iter().map(C::weight_decay), &rates, device),
        rates,
        state: None,
        t: 0,
    }
}

/// Checked hyperparameters with defaults filled in, or the field and what was expected.
pub type Parsed = Result<Map<String, Value>, (String, String)>;

/// A batched optimizer, type-erased.
pub type Built = Box<dyn Optimizer>;

/// How an [`Entry`] checks a run's hyperparameters, given the optimizers known.
pub type ParseFn = fn(&[Entry], Map<String, Value>) -> Parsed;

/// How an [`Entry`] builds the batched optimizer of rows, given the optimizers known.
pub type BuildFn = fn(&[Entry], &[Map<String, Value>], &Device) -> Built;

/// A registry entry: an optimizer by name, with type-erased parsing and building. Make one
/// for your own [`Config`] with [`Entry::of`] and register it with
/// [`Registry::with_optimizer`](crate::Registry::with_optimizer).
#[derive(Clone, Copy)]
pub struct Entry {
    /// Name in experiment files.
    pub name: &'static str,
    /// One line for `optsurf list`.
    pub description: &'static str,
    /// Whose semantics it follows.
    pub source: Source,
    /// Every hyperparameter with its range and doc.
    pub params: &'static [Param],
    defaults: fn() -> Map<String, Value>,
    parse: ParseFn,
    build: BuildFn,
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
            source: C::SOURCE,
            params: C::PARAMS,
            defaults: defaults::<C>,
            parse: |_, given| parse::<C>(given),
            build: |_, rows, device| build::<C>(rows, device),
        }
    }

    /// An entry that wraps other optimizers (Lookahead, SAM): its parsing and building get the
    /// optimizers known, to resolve the ones it names.
    pub const fn wrapper(
        name: &'static str,
        description: &'static str,
        source: Source,
        params: &'static [Param],
        defaults: fn() -> Map<String, Value>,
        parse: ParseFn,
        build: BuildFn,
    ) -> Self {
        Entry {
            name,
            description,
            source,
            params,
            defaults,
            parse,
            build,
        }
    }

    /// Every hyperparameter with its default, in declaration order.
    pub fn defaults(&self) -> Map<String, Value> {
        (self.defaults)()
    }

    /// Checks a run's hyperparameters and fills in the defaults, with the built-in optimizers
    /// known (see [`Entry::parse_in`]). On error, returns the field and what was expected.
    pub fn parse(&self, given: Map<String, Value>) -> Parsed {
        self.parse_in(BUILTIN, given)
    }

    /// Checks a run's hyperparameters and fills in the defaults; `known` are the optimizers a
    /// wrapper may name.
    pub fn parse_in(&self, known: &[Entry], given: Map<String, Value>) -> Parsed {
        (self.parse)(known, given)
    }

    /// The batched optimizer for rows whose hyperparameters came from [`Entry::parse`] and share
    /// their boolean flags (see [`group_key`]), with the built-in optimizers known.
    pub fn build(&self, rows: &[Map<String, Value>], device: &Device) -> Built {
        self.build_in(BUILTIN, rows, device)
    }

    /// As [`Entry::build`], with `known` the optimizers a wrapper may name.
    pub fn build_in(&self, known: &[Entry], rows: &[Map<String, Value>], device: &Device) -> Built {
        (self.build)(known, rows, device)
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
    Entry::of::<adam_optax::AdamOptaxConfig>(),
    Entry::of::<sgd_optax::SgdOptaxConfig>(),
    Entry::of::<adabelief::AdabeliefConfig>(),
    Entry::of::<radam::RadamConfig>(),
    Entry::of::<yogi::YogiConfig>(),
    Entry::of::<adan::AdanConfig>(),
    Entry::of::<novograd::NovogradConfig>(),
    Entry::of::<rprop::RpropConfig>(),
    Entry::of::<sign_sgd::SignSgdConfig>(),
    Entry::of::<signum::SignumConfig>(),
    lookahead::ENTRY,
    Entry::of::<polyak_sgd::PolyakSgdConfig>(),
    Entry::of::<schedule_free_adamw::ScheduleFreeAdamwConfig>(),
    Entry::of::<prodigy::ProdigyConfig>(),
    Entry::of::<dadapt_adamw::DadaptAdamwConfig>(),
    Entry::of::<ademamix::AdemamixConfig>(),
    Entry::of::<adopt::AdoptConfig>(),
    sam::ENTRY,
    Entry::of::<dog::DogConfig>(),
    Entry::of::<cocob::CocobConfig>(),
    Entry::of::<momo::MomoConfig>(),
];

/// Rows of one optimizer can share a batch when their boolean flags, their whole-number
/// settings (periods, step counts) and the optimizers they wrap (by the same rule, recursively)
/// agree; this is the key. Numbers that are not whole (rates, decays) may differ per row.
pub fn group_key(name: &str, hyper: &Map<String, Value>) -> String {
    let flags: Vec<String> = hyper
        .iter()
        .filter_map(|(k, v)| match v {
            Value::Bool(_) => Some(format!("{k}={v}")),
            Value::Number(n) if n.is_u64() || n.is_i64() => Some(format!("{k}={v}")),
            Value::Object(inner) => inner
                .get("optimizer")
                .and_then(Value::as_str)
                .map(|wrapped| format!("{k}={}", group_key(wrapped, inner))),
            _ => None,
        })
        .collect();
    format!("{name}[{}]", flags.join(","))
}

fn defaults<C: Config>() -> Map<String, Value> {
    to_map(&C::default())
}

fn parse<C: Config>(given: Map<String, Value>) -> Result<Map<String, Value>, (String, String)> {
    let config: C = parse_fields(C::NAME, given)?;
    config.validate()?;
    Ok(to_map(&config))
}

/// Reads a config of `name` from a run's fields: serde with the field named on error (a
/// schedule's own errors name its argument, `learning_rate.decay_steps`). The ranges are
/// checked by the caller ([`Config::validate`]).
pub fn parse_fields<C: Hyperparameters>(name: &str, given: Map<String, Value>) -> Result<C, (String, String)> {
    // `learning_rate`, or another rate written as a schedule (polyak_sgd's `scaling`).
    for (key, value) in &given {
        if let Value::Object(schedule) = value
            && (key == "learning_rate" || schedule.contains_key("schedule"))
        {
            Schedule::from_json(schedule).map_err(|(field, m)| {
                let at = if field.is_empty() {
                    key.clone()
                } else {
                    format!("{key}.{field}")
                };
                (at, m)
            })?;
        }
    }
    let config: C = serde_path_to_error::deserialize(Value::Object(given)).map_err(|e| {
        let field = e.path().to_string();
        let message = e.into_inner().to_string();
        if message.starts_with("unknown field") {
            let accepted: Vec<&str> = C::PARAMS.iter().map(|p| p.name).collect();
            let unknown = message.split('`').nth(1).unwrap_or_default().to_string();
            (
                unknown,
                format!("not a hyperparameter of {name}; it accepts: {}", accepted.join(", ")),
            )
        } else {
            (field, message)
        }
    })?;
    Ok(config)
}

/// The optimizer a wrapper names (Lookahead's `fast`, SAM's `outer`): `{"optimizer": name,
/// ...}`, checked against the optimizers known by [`parse_wrapper`] (none before).
#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Wrapped(pub Option<Map<String, Value>>);

impl Checked for Wrapped {
    fn check(&self, _field: &str, _range: Option<Range>) -> Result<(), (String, String)> {
        Ok(())
    }
}

/// Checks a wrapper's hyperparameters: its own (config `C`, named `name` in messages) and the
/// optimizer object in `field`, resolved among `known` ([`parse_wrapped`]), which the result
/// holds with its defaults filled in.
pub fn parse_wrapper<C: Hyperparameters>(
    name: &str,
    field: &str,
    known: &[Entry],
    mut given: Map<String, Value>,
) -> Parsed {
    let inner = given.remove(field);
    let config: C = parse_fields(name, given)?;
    config.check_ranges()?;
    let mut out = to_map(&config);
    out.insert(field.into(), parse_wrapped(known, field, inner)?);
    Ok(out)
}

/// Checks the optimizer object a wrapper names in `field` (`{"optimizer": name, ...}`) among
/// `known` and returns it with its defaults filled in, the name first; errors name the nested
/// field (`fast.learning_rate`).
pub fn parse_wrapped(known: &[Entry], field: &str, value: Option<Value>) -> Result<Value, (String, String)> {
    let example = r#"{"optimizer": "adam_optax", "learning_rate": 0.1}"#;
    let mut inner = match value {
        Some(Value::Object(inner)) => inner,
        Some(other) => {
            return Err((
                field.into(),
                format!("expected an optimizer object such as {example}, got {other}"),
            ));
        }
        None => {
            return Err((
                field.into(),
                format!("missing; the optimizer it wraps, such as {example}"),
            ));
        }
    };
    let at = |f: &str| format!("{field}.{f}");
    let name = match inner.remove("optimizer") {
        Some(Value::String(name)) => name,
        Some(other) => return Err((at("optimizer"), format!("expected a string, got {other}"))),
        None => return Err((at("optimizer"), "missing; the wrapped optimizer's name".into())),
    };
    let Some(entry) = known.iter().find(|e| e.name == name) else {
        let names: Vec<&str> = known.iter().map(|e| e.name).collect();
        return Err((
            at("optimizer"),
            format!("unknown optimizer {name:?}; expected one of: {}", names.join(", ")),
        ));
    };
    let hyper = entry.parse_in(known, inner).map_err(|(f, m)| (at(&f), m))?;
    let mut out = Map::new();
    out.insert("optimizer".into(), Value::String(name));
    out.extend(hyper);
    Ok(Value::Object(out))
}

/// Builds the optimizer that rows of a wrapper name in `field` (checked by [`parse_wrapped`];
/// rows of one batch wrap the same optimizer with the same flags, see [`group_key`]).
pub fn build_wrapped(known: &[Entry], field: &str, rows: &[Map<String, Value>], device: &Device) -> Built {
    let inner: Vec<Map<String, Value>> = rows
        .iter()
        .map(|row| {
            let mut m = row[field].as_object().expect("checked by parse_wrapped").clone();
            m.remove("optimizer");
            m
        })
        .collect();
    let name = rows[0][field]["optimizer"].as_str().expect("checked by parse_wrapped");
    let entry = known.iter().find(|e| e.name == name).expect("checked by parse_wrapped");
    entry.build_in(known, &inner, device)
}

/// The JSON object of a serializable config.
pub fn to_map<C: Serialize>(config: &C) -> Map<String, Value> {
    match serde_json::to_value(config) {
        Ok(Value::Object(map)) => map,
        _ => unreachable!("configs serialize to JSON objects"),
    }
}

fn build<C: Config>(rows: &[Map<String, Value>], device: &Device) -> Box<dyn Optimizer> {
    Box::new(stateful(&configs::<C>(rows), device))
}

/// The configs of rows whose hyperparameters their entry's parse checked.
pub fn configs<C: serde::de::DeserializeOwned>(rows: &[Map<String, Value>]) -> Vec<C> {
    rows.iter()
        .map(|m| serde_json::from_value(Value::Object(m.clone())).expect("rows were checked by Entry::parse"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(name: &str, given: Value) -> String {
        let entry = BUILTIN.iter().find(|e| e.name == name).unwrap();
        group_key(name, &entry.parse(given.as_object().unwrap().clone()).unwrap())
    }

    #[test]
    fn batches_split_on_flags_whole_numbers_and_wrapped_optimizers_only() {
        // Rates and decays may differ per row; flags may not.
        assert_eq!(
            key("adam_optax", json!({"learning_rate": 0.1})),
            key("adam_optax", json!({"b1": 0.5}))
        );
        assert_ne!(
            key("adam_optax", json!({})),
            key("adam_optax", json!({"nesterov": true}))
        );
        // Whole numbers (periods, step counts) are shared by a batch.
        let lookahead = |fast: Value, k: u64| key("lookahead", json!({"fast": fast, "sync_period": k}));
        let adam = json!({"optimizer": "adam_optax", "learning_rate": 0.3});
        assert_eq!(
            lookahead(adam.clone(), 6),
            lookahead(json!({"optimizer": "adam_optax", "b2": 0.9}), 6)
        );
        assert_ne!(lookahead(adam.clone(), 6), lookahead(adam.clone(), 2));
        // So are the wrapped optimizer and its flags.
        assert_ne!(lookahead(adam, 6), lookahead(json!({"optimizer": "sgd_optax"}), 6));
        assert_ne!(
            lookahead(json!({"optimizer": "sgd_optax"}), 6),
            lookahead(json!({"optimizer": "sgd_optax", "nesterov": true}), 6)
        );
        // The keys of the post's optimizers are unchanged: flags only.
        assert_eq!(
            key("sgd", json!({"momentum": 0.9, "nesterov": true})),
            "sgd[nesterov=true]"
        );
    }

    #[test]
    fn every_optax_optimizer_is_registered_once_with_its_source() {
        let optax: Vec<&str> = BUILTIN
            .iter()
            .filter(|e| e.source == Source::Optax)
            .map(|e| e.name)
            .collect();
        for name in [
            "adabelief",
            "radam",
            "yogi",
            "adan",
            "novograd",
            "rprop",
            "sign_sgd",
            "signum",
            "lookahead",
            "polyak_sgd",
            "schedule_free_adamw",
            "prodigy",
            "dadapt_adamw",
            "ademamix",
            "adopt",
            "sam",
            "dog",
            "cocob",
            "momo",
            "lars",
            "adam_optax",
            "sgd_optax",
        ] {
            assert_eq!(optax.iter().filter(|&&n| n == name).count(), 1, "{name}");
        }
        assert_eq!(optax.len(), 22);
        let mut names: Vec<&str> = BUILTIN.iter().map(|e| e.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), BUILTIN.len());
    }
}
