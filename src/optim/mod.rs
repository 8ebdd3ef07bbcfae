//! Optimizers: our own update rules, batched, with the exact semantics of Keras 3.
//!
//! Every rule steps a batch `[N, d]` of N independent parameter vectors at once; each row is
//! its own run, and anything a rule takes a norm over (LAMB, LARS, full-matrix AdaGrad) is per
//! row. Numeric hyperparameters may differ per row, so a learning-rate sweep is one batched
//! computation; boolean ones (`nesterov`, `amsgrad`, `centered`) are shared by a batch.
//!
//! One file per rule holds its config (Keras constructor names and defaults, declared once with
//! [`hyperparameters!`](crate::hyperparameters)), its state and a pure [`Rule::update`]. What all
//! rules share is written once in `common.rs`: per-row hyperparameter columns, bias correction
//! and Keras's decoupled weight decay, which [`stateful`] applies before every rule's own update
//! (`w <- w - (w * lambda) * eta`).
//!
//! Your own optimizer is a config type implementing [`Config`] (its `build` usually
//! [`stateful`] around a [`Rule`]), registered with
//! `Registry::builtin().with_optimizer(Entry::of::<MyConfig>())`.

pub(crate) mod adabelief;
pub(crate) mod adadelta;
pub(crate) mod adagrad;
pub(crate) mod adagrad_full;
pub(crate) mod adam;
pub(crate) mod adam_optax;
pub(crate) mod adamax;
pub(crate) mod adan;
pub(crate) mod ademamix;
pub(crate) mod adopt;
pub(crate) mod cocob;
pub(crate) mod common;
pub(crate) mod dadapt_adamw;
pub(crate) mod dog;
pub(crate) mod ftrl;
pub(crate) mod hyper;
pub(crate) mod lamb;
pub(crate) mod lars;
pub(crate) mod lion;
pub(crate) mod lookahead;
pub(crate) mod momo;
pub(crate) mod nadam;
pub(crate) mod novograd;
pub(crate) mod polyak_sgd;
pub(crate) mod prodigy;
pub(crate) mod radam;
pub(crate) mod rmsprop;
pub(crate) mod rprop;
pub(crate) mod sam;
pub(crate) mod schedule;
pub(crate) mod schedule_free_adamw;
pub(crate) mod sgd;
pub(crate) mod sgd_optax;
pub(crate) mod sign_sgd;
pub(crate) mod signum;
pub(crate) mod yogi;

use crate::error::{FieldError, Parsed};
use crate::params::Layout;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;

pub use self::{
    hyper::{Bound, Checked, Hyperparameters, Param, Range, Shared},
    schedule::{LearningRate, Schedule},
};

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
    /// The variables of the parameter vector (what LAMB, LARS and NovoGrad take norms over).
    pub layout: &'a Layout,
}

/// What the runner offers an optimizer besides the gradient, for the rows it steps.
pub struct Env<'a> {
    /// The loss at the current parameters, an `[N, 1]` column.
    pub loss: &'a Tensor<2>,
    /// The variables of the parameter vector.
    pub layout: &'a Layout,
    /// Loss `[N, 1]` and gradient `[N, P]` at other points of these rows (one more batched
    /// autodiff pass: SAM's perturbed point).
    pub gradient_at: &'a dyn Fn(Tensor<2>) -> (Tensor<2>, Tensor<2>),
}

/// What one update of every row gives: the increment `u` that optax's `apply_updates` adds, or
/// the new parameters, which Keras's rules compute directly (`w - a` is not `w + (-a)` rounded
/// the same way in every rule, and FTRL computes `w` from its accumulators).
pub enum Update {
    /// `u`: the new parameters are `params + u`.
    Increment(Tensor<2>),
    /// The new parameters.
    Next(Tensor<2>),
}

impl Update {
    /// The new parameters from `params`.
    pub(crate) fn apply(self, params: Tensor<2>) -> Tensor<2> {
        match self {
            Update::Increment(u) => params + u,
            Update::Next(w) => w,
        }
    }

    /// The increment from `params` (wrappers such as Lookahead combine increments: `(p + u) - p`
    /// is not `u` bit for bit, so a rule that has `u` gives it).
    pub(crate) fn increment(self, params: Tensor<2>) -> Tensor<2> {
        match self {
            Update::Increment(u) => u,
            Update::Next(w) => w - params,
        }
    }
}

/// A pure, batched update rule: `(params, grad, state) -> (update, state)`.
pub trait Rule {
    /// What the rule carries from one step to the next (moments, accumulators).
    type State;
    /// The state before the first step, for parameters shaped like `params`.
    fn init(&self, params: &Tensor<2>) -> Self::State;
    /// One update of every row.
    fn update(&self, params: Tensor<2>, grad: Tensor<2>, state: Self::State, step: &Step) -> (Update, Self::State);
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

/// One run's configuration of an optimizer, declared with
/// [`hyperparameters!`](crate::hyperparameters) (names and defaults of the library it follows).
/// Register it with [`Entry::of`].
///
/// A rule's config builds its rows' optimizer with [`stateful`]: the rule (a [`Rule`], written
/// as tensor operations) with each row's learning rate and Keras's decoupled weight decay.
/// A wrapper's (Lookahead, SAM) builds its own [`Optimizer`] around the [`OptimizerSpec`] it
/// wraps.
pub trait Config: Hyperparameters {
    /// Name in experiment files.
    const NAME: &'static str;
    /// One line for `optsurf list`.
    const DESCRIPTION: &'static str;
    /// Whose semantics it follows.
    const SOURCE: Source = Source::Keras;
    /// The rate it steps with (a schedule gives each step's); a wrapper's is the wrapped one's.
    fn learning_rate(&self) -> &LearningRate;
    /// Keras's decoupled weight decay `lambda`, applied by [`stateful`] before each step, if set.
    fn weight_decay(&self) -> Option<f64> {
        None
    }
    /// Checks the values: the declared ranges, then anything more the library checks.
    fn validate(&self) -> Parsed<()> {
        self.check_ranges()
    }
    /// The most parameters a run may have, for a rule whose state grows faster than `P` (none
    /// by default; a wrapper's is its wrapped optimizer's).
    fn max_parameters(&self) -> Option<usize> {
        None
    }
    /// The batched optimizer for `rows` (one config per row, the same
    /// [shared](Shared) settings).
    fn build(rows: &[Self], device: &Device) -> Built;
}

/// The config of one of optsurf's own rules: [`Config`] with the rule it steps, which
/// [`stateful`] carries (the rules' types stay inside the crate).
pub(crate) trait RuleConfig: Hyperparameters {
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
    /// Keras's decoupled weight decay `lambda`, if set.
    fn weight_decay(&self) -> Option<f64> {
        None
    }
    /// Checks the values: the declared ranges, then anything more the library checks.
    fn validate(&self) -> Parsed<()> {
        self.check_ranges()
    }
    /// The most parameters a run may have (none by default).
    const MAX_PARAMETERS: Option<usize> = None;
    /// The batched rule for `rows` (one config per row, same shared settings).
    fn rule(rows: &[Self], device: &Device) -> Self::Rule;
}

impl<C: RuleConfig> Config for C {
    const NAME: &'static str = <C as RuleConfig>::NAME;
    const DESCRIPTION: &'static str = <C as RuleConfig>::DESCRIPTION;
    const SOURCE: Source = <C as RuleConfig>::SOURCE;
    fn learning_rate(&self) -> &LearningRate {
        RuleConfig::learning_rate(self)
    }
    fn max_parameters(&self) -> Option<usize> {
        C::MAX_PARAMETERS
    }
    fn weight_decay(&self) -> Option<f64> {
        RuleConfig::weight_decay(self)
    }
    fn validate(&self) -> Parsed<()> {
        RuleConfig::validate(self)
    }
    fn build(rows: &[Self], device: &Device) -> Built {
        stateful(rows, C::rule(rows, device), device)
    }
}

/// A rule with its state and the shared decoupled weight decay, or a wrapper around such: what
/// the runner steps.
pub trait Optimizer {
    /// One update of every row of `params` given its gradient (and what else `env` offers).
    fn update(&mut self, params: Tensor<2>, grad: Tensor<2>, env: &Env) -> Update;
    /// Where the optimizer would evaluate the model now, when that is not where it takes
    /// gradients (Lookahead's slow weights, schedule-free's averaged iterate): `[N, 2]`.
    fn eval_points(&self) -> Option<Tensor<2>> {
        None
    }
    /// The new parameters after one update.
    fn step(&mut self, params: Tensor<2>, grad: Tensor<2>, env: &Env) -> Tensor<2> {
        self.update(params.clone(), grad, env).apply(params)
    }
    /// The increment of one update (the new parameters are `params + u`).
    fn increment(&mut self, params: Tensor<2>, grad: Tensor<2>, env: &Env) -> Tensor<2> {
        self.update(params.clone(), grad, env).increment(params)
    }
}

/// A [`Rule`] carrying its state between steps, with each row's learning rate (constant or
/// scheduled) and Keras's decoupled weight decay applied before each update.
pub(crate) struct Stateful<R: Rule> {
    rule: R,
    rates: common::Rates,
    decay: common::WeightDecay,
    state: Option<R::State>,
    t: u64,
}

impl<R: Rule> Optimizer for Stateful<R> {
    fn update(&mut self, params: Tensor<2>, grad: Tensor<2>, env: &Env) -> Update {
        let state = match self.state.take() {
            Some(state) => state,
            None => self.rule.init(&params),
        };
        let (lr, lr_host) = self.rates.at(self.t);
        self.t += 1;
        let decayed = self.decay.apply(params, &lr_host);
        let step = Step {
            t: self.t,
            lr: &lr,
            lr_host: &lr_host,
            loss: env.loss,
            layout: env.layout,
        };
        let (update, state) = self.rule.update(decayed.clone(), grad, state, &step);
        self.state = Some(state);
        match self.decay {
            // The update is relative to the decayed parameters: as new parameters it is exact.
            common::WeightDecay::None => update,
            _ => Update::Next(update.apply(decayed)),
        }
    }

    fn eval_points(&self) -> Option<Tensor<2>> {
        self.state.as_ref().and_then(|s| self.rule.eval_points(s))
    }
}

/// Steps `optimizer` with a gradient alone, as a replay of recorded gradients does: the loss is
/// unknown (NaN) and no other gradient can be taken (NaN).
pub fn step_with_gradient(optimizer: &mut dyn Optimizer, params: Tensor<2>, grad: Tensor<2>) -> Tensor<2> {
    let [n, p] = params.dims();
    let loss = Tensor::<2>::full([n, 1], f32::NAN, &params.device());
    let layout = Layout::whole(p);
    let nan = |p: Tensor<2>| {
        let [n, _] = p.dims();
        (Tensor::full([n, 1], f32::NAN, &p.device()), p.full_like(f32::NAN))
    };
    optimizer.step(
        params,
        grad,
        &Env {
            loss: &loss,
            layout: &layout,
            gradient_at: &nan,
        },
    )
}

/// The batched optimizer of `rows` that steps by `rule`: the rule's state carried from step to
/// step, each row's learning rate (constant or scheduled) and Keras's decoupled weight decay
/// (`w <- w - (w lambda) eta`, before the rule's update) from its config.
pub fn stateful<C: Config, R: Rule + 'static>(rows: &[C], rule: R, device: &Device) -> Built {
    Box::new(Stateful::new(rows, rule, device))
}

impl<R: Rule> Stateful<R> {
    /// `rule` over `rows`, before the first step.
    pub(crate) fn new<C: Config>(rows: &[C], rule: R, device: &Device) -> Self {
        let rates = common::Rates::new(rows.iter().map(|c| c.learning_rate().clone()).collect(), device);
        Stateful {
            rule,
            decay: common::WeightDecay::new(rows.iter().map(C::weight_decay), &rates, device),
            rates,
            state: None,
            t: 0,
        }
    }
}

/// A batched optimizer, type-erased.
pub type Built = Box<dyn Optimizer>;

/// How an [`Entry`] reads a run's fields into its config.
type Reader = fn(Map<String, Value>) -> Parsed<Arc<dyn Erased>>;

/// A registry entry: an optimizer by name, with how to read its configuration from a file and
/// how to build the batched optimizer of rows. Make one for your own [`Config`] with
/// [`Entry::of`] and register it with [`Registry::with_optimizer`](crate::Registry::with_optimizer).
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
    defaults: fn() -> Arc<dyn Erased>,
    read: Reader,
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry").field("name", &self.name).finish()
    }
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Entry {
    /// The entry of config type `C` (a wrapper's wrapped optimizer is read with the optimizers
    /// known where the file is read).
    pub const fn of<C: Config>() -> Self {
        Entry {
            name: C::NAME,
            description: C::DESCRIPTION,
            source: C::SOURCE,
            params: C::PARAMS,
            defaults: || Arc::new(C::default()),
            read: |fields| {
                let config: C = read_fields(C::NAME, C::PARAMS, fields)?;
                config.validate()?;
                Ok(Arc::new(config))
            },
        }
    }

    /// Its configuration with every default, for `optsurf list` and the report.
    pub fn defaults(&self) -> OptimizerSpec {
        OptimizerSpec {
            entry: *self,
            config: (self.defaults)(),
        }
    }

    /// Reads a run's hyperparameters (the file's fields other than `optimizer`), checks them and
    /// fills in the defaults. Wrapped optimizers are resolved among the optimizers known (see
    /// `OptimizerSpec::reading`).
    pub fn parse(&self, fields: Map<String, Value>) -> Parsed<OptimizerSpec> {
        Ok(OptimizerSpec {
            entry: *self,
            config: (self.read)(fields)?,
        })
    }
}

/// A checked optimizer configuration: the optimizer and every hyperparameter, defaults filled
/// in, as its own typed config. Cheap to clone. In a file it is `{"optimizer": NAME, ...}`.
#[derive(Clone)]
pub struct OptimizerSpec {
    entry: Entry,
    config: Arc<dyn Erased>,
}

impl OptimizerSpec {
    /// `config`, registered as [`Entry::of`]`::<C>()`, checked.
    pub fn new<C: Config>(config: C) -> Parsed<Self> {
        config.validate()?;
        Ok(OptimizerSpec {
            entry: Entry::of::<C>(),
            config: Arc::new(config),
        })
    }

    /// Reads `{"optimizer": NAME, ...}` from a file's object, resolving the name among the
    /// optimizers known (see [`OptimizerSpec::reading`]). Errors name the field below the object.
    pub(crate) fn from_fields(mut fields: Map<String, Value>) -> Parsed<Self> {
        let name = match fields.remove("optimizer") {
            Some(Value::String(name)) => name,
            Some(other) => return Err(FieldError::new(format!("expected a string, got {other}")).at("optimizer")),
            None => {
                return Err(
                    FieldError::new("missing; name the optimizer, such as \"optimizer\": \"adam\"").at("optimizer"),
                );
            }
        };
        let entry = KNOWN.with(|k| match &*k.borrow() {
            Some(known) => known
                .iter()
                .find(|e| e.name == name)
                .copied()
                .ok_or_else(|| unknown(&name, known)),
            None => BUILTIN
                .iter()
                .find(|e| e.name == name)
                .copied()
                .ok_or_else(|| unknown(&name, BUILTIN)),
        });
        entry.map_err(|e| e.at("optimizer"))?.parse(fields)
    }

    /// Runs `read` with `known` as the optimizers a file may name (its runs, and the optimizers
    /// wrappers wrap); outside it they are the built-in ones.
    pub(crate) fn reading<T>(known: &[Entry], read: impl FnOnce() -> T) -> T {
        let before = KNOWN.with(|k| k.replace(Some(known.to_vec())));
        let out = read();
        KNOWN.with(|k| *k.borrow_mut() = before);
        out
    }

    /// The optimizer's name.
    pub fn name(&self) -> &'static str {
        self.entry.name
    }

    /// The rate it steps with (a wrapper's is its wrapped optimizer's).
    pub fn learning_rate(&self) -> &LearningRate {
        self.config.learning_rate()
    }

    /// The most parameters a run may have, if the rule limits them.
    pub(crate) fn max_parameters(&self) -> Option<usize> {
        self.config.max_parameters()
    }

    /// Checks that a run of `p` parameters fits the rule (full-matrix AdaGrad keeps a `P x P`
    /// matrix per run).
    pub(crate) fn check_parameters(&self, p: usize) -> Parsed<()> {
        match self.max_parameters() {
            Some(max) if p > max => Err(FieldError::new(format!(
                "{} keeps state of P x P numbers per run: at most {max} parameters, this model has {p}; use a diagonal rule (e.g. adagrad)",
                self.name()
            ))
            .at("optimizer")),
            _ => Ok(()),
        }
    }

    /// Which rows can share one batch: rows of one optimizer whose [shared](Shared) settings
    /// (flags, whole numbers, the optimizers they wrap) agree have the same key. Other values
    /// (rates, decays) may differ per row.
    pub(crate) fn batch_key(&self) -> String {
        format!("{}[{}]", self.name(), self.config.batch_key())
    }

    /// The batched optimizer of `rows`, which share their `OptimizerSpec::batch_key`.
    pub fn build(rows: &[&OptimizerSpec], device: &Device) -> Built {
        let configs: Vec<&dyn Erased> = rows.iter().map(|r| r.config.as_ref()).collect();
        configs[0].build(&configs, device)
    }

    /// Every hyperparameter and its value, in declaration order, as the file would write them
    /// (for trajectories, labels and the report).
    pub fn hyperparameters(&self) -> Map<String, Value> {
        self.config.to_map()
    }
}

impl fmt::Debug for OptimizerSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?}", self.name(), self.hyperparameters())
    }
}

impl PartialEq for OptimizerSpec {
    fn eq(&self, other: &Self) -> bool {
        self.entry == other.entry && self.hyperparameters() == other.hyperparameters()
    }
}

impl Serialize for OptimizerSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let fields = self.hyperparameters();
        let mut map = s.serialize_map(Some(fields.len() + 1))?;
        map.serialize_entry("optimizer", self.name())?;
        for (k, v) in &fields {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for OptimizerSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Object(fields) => OptimizerSpec::from_fields(fields).map_err(|e| e.to_serde()),
            other => Err(FieldError::new(format!(
                "expected an optimizer object such as {{\"optimizer\": \"adam_optax\", \"learning_rate\": 0.1}}, got {other}"
            ))
            .to_serde()),
        }
    }
}

/// The optimizer a wrapper wraps (Lookahead's `fast`, SAM's `outer`): required, checked by the
/// wrapper's validation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Wrapped(Option<OptimizerSpec>);

impl Wrapped {
    /// The wrapped optimizer, or the error of its absence at field `field`.
    pub(crate) fn get(&self, field: &str) -> Parsed<&OptimizerSpec> {
        self.0.as_ref().ok_or_else(|| {
            FieldError::new(
                "missing; the optimizer it wraps, such as {\"optimizer\": \"adam_optax\", \"learning_rate\": 0.1}",
            )
            .at(field)
        })
    }

    /// Wraps `spec`.
    pub(crate) fn of(spec: OptimizerSpec) -> Self {
        Wrapped(Some(spec))
    }

    /// The wrapped optimizer of a checked config (every [`OptimizerSpec`] is checked, and a
    /// wrapper's check requires it).
    pub(crate) fn spec(&self) -> &OptimizerSpec {
        self.0
            .as_ref()
            .expect("a checked wrapper config has its wrapped optimizer")
    }
}

impl Checked for Wrapped {
    fn check(&self, _field: &str, _range: Option<Range>) -> Parsed<()> {
        Ok(())
    }
}

impl Shared for Wrapped {
    fn key(&self) -> String {
        self.0.as_ref().map_or_else(String::new, OptimizerSpec::batch_key)
    }
}

thread_local! {
    /// The optimizers a file being read may name (see [`OptimizerSpec::reading`]).
    static KNOWN: RefCell<Option<Vec<Entry>>> = const { RefCell::new(None) };
}

fn unknown(name: &str, known: &[Entry]) -> FieldError {
    let names: Vec<&str> = known.iter().map(|e| e.name).collect();
    crate::error::unknown_name("optimizer", name, &names)
}

/// Reads config `C` of optimizer `name` from a run's fields: serde, with the field named on
/// error (a schedule's own errors name its argument, `learning_rate.decay_steps`). The ranges
/// are checked by the caller.
fn read_fields<C: Hyperparameters>(name: &str, params: &[Param], fields: Map<String, Value>) -> Parsed<C> {
    serde_path_to_error::deserialize(Value::Object(fields)).map_err(|e| {
        let message = e.inner().to_string();
        if message.starts_with("unknown field") {
            let accepted: Vec<&str> = params.iter().map(|p| p.name).collect();
            let unknown = message.split('`').nth(1).unwrap_or_default().to_string();
            FieldError::new(format!(
                "not a hyperparameter of {name}{}; it accepts: {}",
                crate::error::field_hint(&unknown, accepted.iter().copied()),
                accepted.join(", ")
            ))
            .at(&unknown)
        } else {
            FieldError::from_serde(e)
        }
    })
}

/// A config behind an [`OptimizerSpec`], with what the runner and the files need of it.
trait Erased: Send + Sync {
    fn as_any(&self) -> &dyn Any;
    fn learning_rate(&self) -> &LearningRate;
    fn batch_key(&self) -> String;
    fn to_map(&self) -> Map<String, Value>;
    fn max_parameters(&self) -> Option<usize>;
    fn build(&self, rows: &[&dyn Erased], device: &Device) -> Built;
}

/// The configs of rows that [`OptimizerSpec::batch_key`] put in one batch: one entry, one type.
fn typed<'a, T: 'static>(rows: &[&'a dyn Erased]) -> Vec<&'a T> {
    rows.iter()
        .map(|r| {
            r.as_any()
                .downcast_ref::<T>()
                .expect("a batch holds configs of one optimizer")
        })
        .collect()
}

impl<C: Config> Erased for C {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn learning_rate(&self) -> &LearningRate {
        Config::learning_rate(self)
    }
    fn batch_key(&self) -> String {
        Hyperparameters::batch_key(self)
    }
    fn to_map(&self) -> Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(map)) => map,
            _ => unreachable!("hyperparameters! structs serialize to JSON objects"),
        }
    }
    fn max_parameters(&self) -> Option<usize> {
        Config::max_parameters(self)
    }
    fn build(&self, rows: &[&dyn Erased], device: &Device) -> Built {
        let rows: Vec<C> = typed::<C>(rows).into_iter().cloned().collect();
        C::build(&rows, device)
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
    Entry::of::<lookahead::LookaheadConfig>(),
    Entry::of::<polyak_sgd::PolyakSgdConfig>(),
    Entry::of::<schedule_free_adamw::ScheduleFreeAdamwConfig>(),
    Entry::of::<prodigy::ProdigyConfig>(),
    Entry::of::<dadapt_adamw::DadaptAdamwConfig>(),
    Entry::of::<ademamix::AdemamixConfig>(),
    Entry::of::<adopt::AdoptConfig>(),
    Entry::of::<sam::SamConfig>(),
    Entry::of::<dog::DogConfig>(),
    Entry::of::<cocob::CocobConfig>(),
    Entry::of::<momo::MomoConfig>(),
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(name: &str, given: Value) -> String {
        let entry = BUILTIN.iter().find(|e| e.name == name).unwrap();
        entry.parse(given.as_object().unwrap().clone()).unwrap().batch_key()
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
