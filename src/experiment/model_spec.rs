//! A `surface` that is a model's loss over data, as an experiment file writes it:
//!
//! ```json
//! "surface": {"model": "linear_regression",
//!             "data": {"csv": "data/iris.csv", "x": "petal_length", "y": "petal_width"},
//!             "batch_size": 16, "domain": [[-3, 3], [-3, 3]]}
//! "surface": {"model": "mlp", "layers": [16, 16], "activation": "tanh", "loss": "cross_entropy",
//!             "data": {"csv": "data/iris.csv",
//!                      "x": ["sepal_length", "sepal_width", "petal_length", "petal_width"],
//!                      "y": "species_id"},
//!             "test_fraction": 0.2, "batch_size": 32}
//! "surface": {"model": "mlp", "layers": [32, 32], "data": {"generate": "moons", "n": 400, "noise": 0.2}}
//! ```
//!
//! `linear_regression` and `logistic_regression` (one feature column) are surfaces over the
//! plane `(w, b)`; `mlp` and a model registered with
//! [`Registry::with_model`](crate::Registry::with_model) have `P` parameters (at most
//! [`MAX_PARAMETERS`]) and start from initial weights (`"start": {"seed": k}` or
//! `{"file": "init.json"}`, see [`load_init`]).
//!
//! A data file's relative path is read from the current folder, or else from the experiment
//! file's folder.

use super::file::{BatchSize, DomainField, FromJson, Seed, Written, deserialize_from_json};
use super::surface::SurfaceName;
use crate::error::{FieldContext, FieldError, Parsed};
use crate::params::Layout;
use crate::registry::Registry;
use crate::surface::data::{
    Activation, Batching, DataSurface, Dataset, Kind, Loss, Mlp, Model, Regression, Targets, Unfit,
};
use crate::surface::{Domain, Surface};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;

/// The most parameters a run's model may have.
pub(crate) const MAX_PARAMETERS: usize = 1_000_000;

/// `{"model": ..., "data": ..., ...}`: the loss of a model over a dataset, with minibatches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// The model.
    pub(crate) model: ModelName,
    /// The data.
    pub(crate) data: DataSpec,
    /// An MLP's hidden layer widths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) layers: Option<Layers>,
    /// An MLP's hidden activation (`relu` by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) activation: Option<ActivationName>,
    /// An MLP's loss (`cross_entropy` by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) loss: Option<LossName>,
    /// Residual connections between an MLP's equal-width hidden layers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) skip: Option<bool>,
    /// The domain of a regression's figures (around the optimum by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) domain: Option<DomainField>,
    /// Rows per minibatch (the full batch by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) batch_size: Option<BatchSize>,
    /// Drop an epoch's last, smaller batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) drop_remainder: Option<bool>,
    /// Scale the features to mean 0 and standard deviation 1 (by default), with the training
    /// rows' statistics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) standardize: Option<bool>,
    /// The share of rows held out to test on (none by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) test_fraction: Option<Fraction>,
    /// The seed of the train/test split (0 by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) split_seed: Option<Seed>,
    /// Steps between evaluations of the full training loss, the test loss and the accuracies
    /// (every step by default; the last step always).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) eval_every: Option<Every>,
    /// Steps between snapshots of the parameters (by default at most 200 per run; the first
    /// and last always).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) record_every: Option<Every>,
    /// Its name in figures (the model's by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<SurfaceName>,
}

/// Which model: a regression, an MLP, or one registered by name.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ModelName {
    /// `linear_regression` or `logistic_regression`.
    Regression(Kind),
    /// `mlp`.
    Mlp,
    /// A model registered with `Registry::with_model`.
    Registered(String),
}

impl ModelName {
    /// Its name in files.
    pub(crate) fn as_str(&self) -> &str {
        match self {
            ModelName::Regression(k) => k.name(),
            ModelName::Mlp => "mlp",
            ModelName::Registered(name) => name,
        }
    }
}

impl Serialize for ModelName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A model's data: a CSV file's columns, or rows generated from a seed.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub(crate) enum DataSpec {
    /// `{"csv": FILE, "x": COLUMN or [COLUMN, ...], "y": COLUMN}`.
    Csv(CsvSpec),
    /// `{"generate": KIND, "n": ..., "seed": ..., ...}`.
    Generate(GenerateSpec),
}

/// A CSV file's feature and target columns.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CsvSpec {
    /// The file (relative to the working folder, else to the experiment file's).
    pub(crate) csv: String,
    /// The feature columns.
    pub(crate) x: Columns,
    /// The target column.
    pub(crate) y: String,
}

/// Feature columns: one name, or a list of them.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub(crate) enum Columns {
    /// One column.
    One(String),
    /// Several, in order.
    Many(Vec<String>),
}

impl Columns {
    /// The column names, in order.
    pub(crate) fn names(&self) -> Vec<String> {
        match self {
            Columns::One(c) => vec![c.clone()],
            Columns::Many(c) => c.clone(),
        }
    }
}

/// Rows drawn from a seed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GenerateSpec {
    /// What to draw.
    pub(crate) generate: Generated,
    /// Rows, 2 to 10,000,000 (512 by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) n: Option<Rows>,
    /// `linear` and `logistic`: the slope (2 by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) w: Option<Finite>,
    /// `linear` and `logistic`: the intercept (-1 by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) b: Option<Finite>,
    /// The noise's standard deviation (0.5 for `linear` and `logistic`, 0.1 for `moons`, 0.2
    /// for `spirals` by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) noise: Option<Finite>,
    /// `spirals`: the number of arms, each a class (2 by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) classes: Option<Count>,
    /// `blobs`: the number of clusters, each a class (3 by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) centers: Option<Count>,
    /// `blobs`: each cluster's standard deviation (1 by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) cluster_std: Option<Finite>,
    /// The seed (0 by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) seed: Option<Seed>,
}

/// What generated data is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Generated {
    /// One feature, `v = w u + b + noise`.
    Linear,
    /// One feature, `v = 1` with probability `sigmoid(w u + b + noise)`.
    Logistic,
    /// scikit-learn's two moons.
    Moons,
    /// Interleaved spirals.
    Spirals,
    /// scikit-learn's Gaussian blobs.
    Blobs,
}

impl Generated {
    const NAMES: [&'static str; 5] = ["linear", "logistic", "moons", "spirals", "blobs"];

    /// Its name in files.
    pub(crate) fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

/// A number of generated rows, 2 to 10,000,000.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub(crate) struct Rows(pub usize);

/// A count of classes or clusters, 1 to 1000.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub(crate) struct Count(pub usize);

/// A finite number, as written.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub(crate) struct Finite(pub Written);

/// A share, at least 0 and below 1, as written.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub(crate) struct Fraction(pub Written);

/// A number of steps, at least 1.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub(crate) struct Every(pub usize);

/// An MLP's hidden layer widths: a non-empty list of whole numbers from 1 to 65,536.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub(crate) struct Layers(pub Vec<usize>);

/// A hidden activation, by name.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub(crate) struct ActivationName(#[serde(serialize_with = "activation_name")] pub Activation);

fn activation_name<S: serde::Serializer>(a: &Activation, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(a.name())
}

/// A loss, by name.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub(crate) struct LossName(#[serde(serialize_with = "loss_name")] pub Loss);

fn loss_name<S: serde::Serializer>(l: &Loss, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(l.name())
}

/// Reads `v` as `T` with serde, the error at the path below `v`.
pub(crate) fn typed<T: serde::de::DeserializeOwned>(v: Value) -> Parsed<T> {
    serde_path_to_error::deserialize(v).map_err(FieldError::from_serde)
}

/// `text`, cut with an ellipsis past 64 characters (a file's own text in a message).
fn shortened(text: &str) -> String {
    match text.char_indices().nth(64) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_string(),
    }
}

/// `"one"`, `"one" or "two"`, `"one", "two" or "three"`.
fn one_of(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => quoted.join(""),
    }
}

impl FromJson for ModelName {
    fn from_json(v: Value) -> Parsed<Self> {
        match v.as_str() {
            Some("mlp") => Ok(ModelName::Mlp),
            Some(name) => Ok(Kind::from_name(name)
                .map(ModelName::Regression)
                .unwrap_or_else(|| ModelName::Registered(name.to_string()))),
            None => Err(FieldError::new(format!(
                "expected a model name (linear_regression, logistic_regression, mlp or a registered model), got {v}"
            ))),
        }
    }
}

impl FromJson for DataSpec {
    fn from_json(v: Value) -> Parsed<Self> {
        match v {
            Value::Object(m) if m.contains_key("csv") => typed(Value::Object(m)).map(DataSpec::Csv),
            Value::Object(m) if m.contains_key("generate") => typed(Value::Object(m)).map(DataSpec::Generate),
            Value::Object(_) => Err(FieldError::new(format!(
                "expected {{\"csv\": FILE, \"x\": COLUMN or [COLUMN, ...], \"y\": COLUMN}} or {{\"generate\": {}, ...}}",
                one_of(&Generated::NAMES)
            ))),
            other => Err(FieldError::new(format!("expected an object, got {other}"))),
        }
    }
}

impl FromJson for Columns {
    fn from_json(v: Value) -> Parsed<Self> {
        let names: Option<Vec<String>> = match &v {
            Value::String(s) => return Ok(Columns::One(s.clone())),
            Value::Array(a) if !a.is_empty() => a.iter().map(|c| c.as_str().map(str::to_string)).collect(),
            _ => None,
        };
        let names = names.ok_or_else(|| {
            FieldError::new(format!(
                "expected a column name or a non-empty list of column names, got {}",
                shortened(&v.to_string())
            ))
        })?;
        for (i, name) in names.iter().enumerate() {
            if names[..i].contains(name) {
                return Err(FieldError::new(format!("column {name:?} is listed twice")).index(i));
            }
        }
        Ok(Columns::Many(names))
    }
}

impl FromJson for Generated {
    fn from_json(v: Value) -> Parsed<Self> {
        let all = [
            Generated::Linear,
            Generated::Logistic,
            Generated::Moons,
            Generated::Spirals,
            Generated::Blobs,
        ];
        all.into_iter()
            .find(|g| v.as_str() == Some(g.name()))
            .ok_or_else(|| FieldError::new(format!("expected {}, got {v}", one_of(&Generated::NAMES))))
    }
}

impl FromJson for Rows {
    fn from_json(v: Value) -> Parsed<Self> {
        match v.as_u64() {
            Some(n) if (2..=10_000_000).contains(&n) => Ok(Rows(n as usize)),
            _ => Err(FieldError::new(format!(
                "expected a whole number of rows from 2 to 10000000, got {v}"
            ))),
        }
    }
}

impl FromJson for Count {
    fn from_json(v: Value) -> Parsed<Self> {
        match v.as_u64() {
            Some(n) if (1..=1000).contains(&n) => Ok(Count(n as usize)),
            _ => Err(FieldError::new(format!(
                "expected a whole number from 1 to 1000, got {v}"
            ))),
        }
    }
}

impl FromJson for Finite {
    fn from_json(v: Value) -> Parsed<Self> {
        match Written::from_json(v.clone()) {
            Ok(w) if w.value.is_finite() => Ok(Finite(w)),
            _ => Err(FieldError::new(format!("expected a finite number, got {v}"))),
        }
    }
}

impl FromJson for Fraction {
    fn from_json(v: Value) -> Parsed<Self> {
        match Written::from_json(v.clone()) {
            Ok(w) if (0.0..1.0).contains(&w.value) => Ok(Fraction(w)),
            _ => Err(FieldError::new(format!(
                "expected a share of the rows, at least 0 and below 1 (0.2 holds out a fifth), got {v}"
            ))),
        }
    }
}

impl FromJson for Every {
    fn from_json(v: Value) -> Parsed<Self> {
        match v.as_u64() {
            Some(n) if n >= 1 => Ok(Every(n as usize)),
            _ => Err(FieldError::new(format!(
                "expected a whole number of steps >= 1, got {v}"
            ))),
        }
    }
}

impl FromJson for Layers {
    fn from_json(v: Value) -> Parsed<Self> {
        let Value::Array(widths) = v else {
            return Err(FieldError::new(format!(
                "expected the hidden layers' widths, e.g. [16, 16], got {v}"
            )));
        };
        if widths.is_empty() {
            return Err(FieldError::new(
                "expected at least one hidden layer, e.g. [16]; an MLP without one is a linear model",
            ));
        }
        widths
            .into_iter()
            .enumerate()
            .map(|(i, w)| match w.as_u64() {
                Some(n) if (1..=65_536).contains(&n) => Ok(n as usize),
                _ => Err(FieldError::new(format!("expected a width from 1 to 65536, got {w}")).index(i)),
            })
            .collect::<Parsed<Vec<_>>>()
            .map(Layers)
    }
}

impl FromJson for ActivationName {
    fn from_json(v: Value) -> Parsed<Self> {
        v.as_str()
            .and_then(Activation::from_name)
            .map(ActivationName)
            .ok_or_else(|| {
                FieldError::new(format!(
                    "unknown activation {v}; expected {}",
                    one_of(&Activation::NAMES)
                ))
            })
    }
}

impl FromJson for LossName {
    fn from_json(v: Value) -> Parsed<Self> {
        v.as_str()
            .and_then(Loss::from_name)
            .map(LossName)
            .ok_or_else(|| FieldError::new(format!("unknown loss {v}; expected {}", one_of(&Loss::NAMES))))
    }
}

deserialize_from_json!(
    ModelName,
    DataSpec,
    Columns,
    Generated,
    Rows,
    Count,
    Finite,
    Fraction,
    Every,
    Layers,
    ActivationName,
    LossName
);

impl ModelSpec {
    /// `model` over `data`, every other setting its default.
    pub(crate) fn new(model: ModelName, data: DataSpec) -> Self {
        ModelSpec {
            model,
            data,
            layers: None,
            activation: None,
            loss: None,
            skip: None,
            domain: None,
            batch_size: None,
            drop_remainder: None,
            standardize: None,
            test_fraction: None,
            split_seed: None,
            eval_every: None,
            record_every: None,
            name: None,
        }
    }

    /// The surface: the model over its data, split and standardized. Errors name the field
    /// below `surface`.
    pub(crate) fn resolve(&self, registry: &Registry, base: &Path) -> Parsed<Surface> {
        let rows = self.data.load(base).at("data")?;
        match &self.model {
            ModelName::Regression(kind) => self.regression(*kind, rows),
            ModelName::Mlp => {
                let mlp = self.mlp(&rows)?;
                self.net(Arc::new(mlp), rows, "mlp")
            }
            ModelName::Registered(name) => {
                let Some(model) = registry.model(name) else {
                    let mut known = vec!["linear_regression", "logistic_regression", "mlp"];
                    known.extend(registry.model_names());
                    return Err(FieldError::new(format!(
                        "unknown model {name:?}; expected one of: {}",
                        known.join(", ")
                    ))
                    .at("model"));
                };
                if let Some(field) = self.mlp_fields().next() {
                    return Err(
                        FieldError::new(format!("applies to \"mlp\" only, not to the model {name:?}")).at(field),
                    );
                }
                if model.features() != rows.width {
                    return Err(FieldError::new(format!(
                        "the model {name:?} reads {} feature column(s); the data gives {}",
                        model.features(),
                        rows.width
                    ))
                    .at("data"));
                }
                if model.layout().len() > MAX_PARAMETERS {
                    return Err(FieldError::new(format!(
                        "the model {name:?} has {} parameters; at most {MAX_PARAMETERS} per run",
                        model.layout().len()
                    ))
                    .at("model"));
                }
                self.net(Arc::clone(model), rows, name)
            }
        }
    }

    /// The MLP-only fields this spec sets.
    fn mlp_fields(&self) -> impl Iterator<Item = &'static str> + '_ {
        [
            ("layers", self.layers.is_some()),
            ("activation", self.activation.is_some()),
            ("loss", self.loss.is_some()),
            ("skip", self.skip.is_some()),
        ]
        .into_iter()
        .filter(|(_, set)| *set)
        .map(|(f, _)| f)
    }

    /// The fields of models over `P > 2` parameters this spec sets.
    fn net_fields(&self) -> impl Iterator<Item = &'static str> + '_ {
        [
            ("test_fraction", self.test_fraction.is_some()),
            ("split_seed", self.split_seed.is_some()),
            ("eval_every", self.eval_every.is_some()),
            ("record_every", self.record_every.is_some()),
        ]
        .into_iter()
        .filter(|(_, set)| *set)
        .map(|(f, _)| f)
        .chain(self.mlp_fields())
    }

    fn batching(&self) -> Batching {
        Batching {
            batch_size: self.batch_size.map(|b| b.0),
            drop_remainder: self.drop_remainder.unwrap_or(false),
        }
    }

    /// `rows` checked for `targets`, named in errors as the model `model` needs them.
    fn check(&self, rows: &Dataset, targets: Targets, model: &str) -> Parsed<()> {
        rows.check_targets(targets)
            .map_err(|unfit| unfit_message(unfit, &self.data, targets, model))
    }

    /// A two-parameter regression: a surface over the plane `(w, b)`.
    fn regression(&self, kind: Kind, rows: Dataset) -> Parsed<Surface> {
        if let Some(field) = self.net_fields().next() {
            return Err(FieldError::new(format!(
                "applies to models of more than two parameters (\"mlp\" or a registered one), not to {}",
                kind.name()
            ))
            .at(field));
        }
        if rows.width != 1 {
            return Err(FieldError::new(format!(
                "{} takes one feature column; the data gives {} (use \"mlp\" for several)",
                kind.name(),
                rows.width
            ))
            .at("data"));
        }
        let targets = match kind {
            Kind::Linear => Targets::Numbers,
            Kind::Logistic => Targets::Binary,
        };
        self.check(&rows, targets, kind.name())?;
        let rows = if self.standardize.unwrap_or(true) {
            rows.standardized()
        } else {
            rows
        };
        let regression = Regression::new(kind, &rows);
        let name = self
            .name
            .as_ref()
            .map_or_else(|| kind.name().to_string(), |n| n.0.clone());
        let data = DataSurface::new(Model::Regression(regression), rows, None, self.batching());
        let mut surface = Surface::from_data(name, kind.formula(), data);
        surface.domain = match self.domain {
            Some(d) => d.domain(),
            // Around the optimum, or the origin, 3 on either side.
            None => {
                let c = surface.minima().next().map_or([0.0, 0.0], |m| m.point);
                Domain::from([[c[0] - 3.0, c[0] + 3.0], [c[1] - 3.0, c[1] + 3.0]])
            }
        };
        Ok(surface)
    }

    /// The MLP this spec describes over `rows`.
    fn mlp(&self, rows: &Dataset) -> Parsed<Mlp> {
        let Some(layers) = &self.layers else {
            return Err(FieldError::new("missing; an MLP needs its hidden layers' widths, e.g. [16, 16]").at("layers"));
        };
        let loss = self.loss.map_or(Loss::CrossEntropy, |l| l.0);
        self.check(rows, loss.targets(), loss.name())?;
        let outputs = match loss {
            Loss::CrossEntropy => {
                let classes = rows.classes();
                if classes < 2 {
                    return Err(FieldError::new(
                        "cross_entropy needs at least two classes; every target is 0 (use binary_cross_entropy or mse?)",
                    )
                    .at("data"));
                }
                classes
            }
            Loss::BinaryCrossEntropy | Loss::Mse => 1,
        };
        let count = Mlp::count(rows.width, &layers.0, outputs);
        if count > MAX_PARAMETERS {
            return Err(FieldError::new(format!(
                "this MLP has {count} parameters; at most {MAX_PARAMETERS} per run (narrower or fewer layers)"
            ))
            .at("layers"));
        }
        Ok(Mlp::new(
            rows.width,
            &layers.0,
            outputs,
            self.activation.map_or(Activation::Relu, |a| a.0),
            loss,
            self.skip.unwrap_or(false),
        ))
    }

    /// A model of `P` parameters over `rows`: split, standardized with the training rows.
    fn net(&self, model: Arc<dyn crate::surface::ModelLoss>, rows: Dataset, default_name: &str) -> Parsed<Surface> {
        if self.domain.is_some() {
            return Err(FieldError::new(
                "a model of more than two parameters has no plane to draw; domain applies to linear_regression and logistic_regression",
            )
            .at("domain"));
        }
        let (fraction, seed) = (
            self.test_fraction.map_or(0.0, |f| f.0.value),
            self.split_seed.map_or(0, |s| s.0),
        );
        let held_out = crate::surface::data::dataset::held_out(rows.rows(), fraction, seed);
        let (train, test) = rows.split(&held_out);
        if train.rows() < 2 {
            return Err(
                FieldError::new(format!("leaves {} training rows; at least 2 are needed", train.rows()))
                    .at("test_fraction"),
            );
        }
        let (train, test) = if self.standardize.unwrap_or(true) {
            let fit = train.clone();
            (train.standardized_as(&fit), test.map(|t| t.standardized_as(&fit)))
        } else {
            (train, test)
        };
        let name = self
            .name
            .as_ref()
            .map_or_else(|| default_name.to_string(), |n| n.0.clone());
        let formula = self.describe(model.layout());
        let mut data = DataSurface::new(Model::Net(model), train, test, self.batching());
        data.held_out = held_out;
        data.eval_every = self.eval_every.map_or(1, |e| e.0);
        data.record_every = self.record_every.map(|e| e.0);
        Ok(Surface::from_data(name, formula, data))
    }

    /// The model in words, for figures and the report: `mlp [4, 16, 16, 3] tanh, cross_entropy
    /// (P = 387)`.
    pub(crate) fn describe(&self, layout: &Layout) -> String {
        let p = layout.len();
        match &self.model {
            ModelName::Mlp => {
                let widths: Vec<String> = layout
                    .variables()
                    .iter()
                    .filter(|v| v.shape.len() == 2)
                    .enumerate()
                    .flat_map(|(k, v)| {
                        let first = (k == 0).then(|| v.shape[0].to_string());
                        first.into_iter().chain(std::iter::once(v.shape[1].to_string()))
                    })
                    .collect();
                format!(
                    "mlp [{}] {}{}, {} (P = {p})",
                    widths.join(", "),
                    self.activation.map_or(Activation::Relu, |a| a.0).name(),
                    if self.skip == Some(true) { " with skips" } else { "" },
                    self.loss.map_or(Loss::CrossEntropy, |l| l.0).name()
                )
            }
            other => format!("{} (P = {p})", other.as_str()),
        }
    }
}

impl DataSpec {
    /// The rows: a CSV file's columns, or generated ones. Errors name the field below `data`.
    fn load(&self, base: &Path) -> Parsed<Dataset> {
        match self {
            DataSpec::Csv(c) => crate::io::locate_data(&c.csv, base)
                .and_then(|path| Dataset::from_csv(&path, &c.x.names(), &c.y))
                .at("csv"),
            DataSpec::Generate(g) => g.draw(),
        }
    }
}

impl GenerateSpec {
    /// The rows drawn; a field that does not apply to what is drawn is an error.
    fn draw(&self) -> Parsed<Dataset> {
        let line = matches!(self.generate, Generated::Linear | Generated::Logistic);
        let applies = [
            ("w", self.w.is_some(), line),
            ("b", self.b.is_some(), line),
            ("noise", self.noise.is_some(), self.generate != Generated::Blobs),
            ("classes", self.classes.is_some(), self.generate == Generated::Spirals),
            ("centers", self.centers.is_some(), self.generate == Generated::Blobs),
            (
                "cluster_std",
                self.cluster_std.is_some(),
                self.generate == Generated::Blobs,
            ),
        ];
        if let Some((field, _, _)) = applies.iter().find(|(_, set, ok)| *set && !ok) {
            return Err(
                FieldError::new(format!("does not apply to generated {:?} data", self.generate.name())).at(field),
            );
        }
        let number = |v: Option<Finite>, default: f64| v.map_or(default, |f| f.0.value);
        let (n, seed) = (self.n.map_or(512, |n| n.0), self.seed.map_or(0, |s| s.0));
        Ok(match self.generate {
            Generated::Linear | Generated::Logistic => Dataset::line(
                self.generate == Generated::Logistic,
                n,
                number(self.w, 2.0),
                number(self.b, -1.0),
                number(self.noise, 0.5),
                seed,
            ),
            Generated::Moons => Dataset::moons(n, number(self.noise, 0.1), seed),
            Generated::Spirals => Dataset::spirals(n, self.classes.map_or(2, |c| c.0), number(self.noise, 0.2), seed),
            Generated::Blobs => Dataset::blobs(n, self.centers.map_or(3, |c| c.0), number(self.cluster_std, 1.0), seed),
        })
    }
}

/// Names where a dataset's unfitness shows: a CSV's target column and row as a spreadsheet
/// counts them (the header is row 1), or the generated data.
fn unfit_message(unfit: Unfit, data: &DataSpec, targets: Targets, model: &str) -> FieldError {
    let needs = match targets {
        Targets::Numbers => "finite numbers",
        Targets::Binary => "targets 0 or 1",
        Targets::Classes => "whole-number classes 0, 1, 2, ...",
    };
    match (unfit, data) {
        (Unfit::TooFewRows(n), _) => FieldError::new(format!("expected at least 2 rows of data, got {n}")).at("data"),
        (Unfit::NotALabel { row, value }, DataSpec::Csv(c)) => FieldError::new(format!(
            "{}: row {}, column {:?}: {value} is not a label; {model} needs {needs}",
            c.csv,
            row + 2,
            c.y
        ))
        .at("y")
        .at("data"),
        (Unfit::NotALabel { row, value }, DataSpec::Generate(_)) => FieldError::new(format!(
            "generated row {} has target {value}; {model} needs {needs} (generate {})",
            row + 1,
            match targets {
                Targets::Binary => "\"logistic\" or \"moons\" data",
                _ => "\"moons\", \"spirals\" or \"blobs\" data",
            }
        ))
        .at("generate")
        .at("data"),
    }
}

/// Initial weights in Keras's layout: `{"layers": [{"kernel": [[...in x out...]], "bias":
/// [...]}, ...]}`, each layer's kernel then its bias, layer by layer (Keras's
/// `trainable_variables` order).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InitFile {
    layers: Vec<InitLayer>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InitLayer {
    kernel: Vec<Vec<f64>>,
    bias: Vec<f64>,
}

/// Reads initial weights for `layout` from `file` (found as data files are, see
/// [`crate::io::locate_data`]: beside the experiment file in `base`, or under the working folder): the file's kernels and biases, in order, must have the layout's variables' shapes.
pub(crate) fn load_init(file: &str, base: &Path, layout: &Layout) -> Parsed<Vec<f32>> {
    let path = crate::io::locate_data(file, base)?;
    let shown = path.display();
    let text = crate::io::read_input(&path, crate::io::Input::WEIGHTS).map_err(|e| FieldError::new(e.to_string()))?;
    let init: InitFile = serde_json::from_str::<Value>(&text)
        .map_err(|e| FieldError::new(format!("{shown}: not JSON: {e}")))
        .and_then(|v| typed(v).map_err(|e| FieldError::new(format!("{shown}: {}: {}", e.path(), e.message()))))?;
    let variables = layout.variables();
    let given = 2 * init.layers.len();
    if given != variables.len() {
        return Err(FieldError::new(format!(
            "{shown}: layers: {} layers give {given} variables; the model has {} ({})",
            init.layers.len(),
            variables.len(),
            variables
                .iter()
                .map(|v| format!("{} {:?}", v.name, v.shape))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let mut values = Vec::with_capacity(layout.len());
    for (k, layer) in init.layers.iter().enumerate() {
        let (kernel, bias) = (&variables[2 * k], &variables[2 * k + 1]);
        let rows = layer.kernel.len();
        let cols = layer.kernel.first().map_or(0, Vec::len);
        let rectangular = layer.kernel.iter().all(|r| r.len() == cols);
        if !rectangular || kernel.shape != [rows, cols] {
            let got = if rectangular {
                format!("{rows} x {cols}")
            } else {
                "rows of different lengths".to_string()
            };
            return Err(FieldError::new(format!(
                "{shown}: layers[{k}].kernel: expected {} ({}), got {got}",
                kernel
                    .shape
                    .iter()
                    .map(usize::to_string)
                    .collect::<Vec<_>>()
                    .join(" x "),
                kernel.name
            )));
        }
        if bias.shape != [layer.bias.len()] {
            return Err(FieldError::new(format!(
                "{shown}: layers[{k}].bias: expected {} numbers ({} {:?}), got {}",
                bias.len(),
                bias.name,
                bias.shape,
                layer.bias.len()
            )));
        }
        let all = layer.kernel.iter().flatten().chain(&layer.bias);
        for v in all {
            if !v.is_finite() {
                return Err(FieldError::new(format!(
                    "{shown}: layers[{k}]: {v} is not a finite number"
                )));
            }
            values.push(*v as f32);
        }
    }
    Ok(values)
}
