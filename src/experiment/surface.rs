//! The `surface` of an experiment file: a registered surface's name, an expression, or a model
//! over data.
//!
//! ```json
//! "surface": "rosenbrock"
//! "surface": {"expr": "(1 - x)^2 + 100 * (y - x^2)^2 + 0.01 * r", "domain": [[-2, 2], [-1, 3]],
//!             "minima": [[1, 1]]}
//! "surface": {"model": "linear_regression",
//!             "data": {"csv": "data/iris.csv", "x": "petal_length", "y": "petal_width"},
//!             "batch_size": 16, "domain": [[-3, 3], [-3, 3]]}
//! ```
//! A data file's relative path is read from the current folder, or else from the experiment
//! file's folder. Trajectory files record the surface as the file wrote it, so figures and diffs
//! rebuild the same surface.

use super::file::{BatchSize, DomainField, FromJson, Point, Seed, Written, deserialize_from_json};
use crate::error::{FieldContext, FieldError, Parsed};
use crate::registry::Registry;
use crate::surface::data::{Batching, DataSurface, Dataset, Model, Unfit};
use crate::surface::expr::Expr;
use crate::surface::{Domain, Lookup, NoiseSpec, Surface};
use crate::tensor::to_vec;
use burn::tensor::{Device, Tensor, TensorData};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::Path;

/// A surface as an experiment names it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum SurfaceSpec {
    /// A registered surface, by name.
    Name(String),
    /// An expression.
    Expr(ExprSpec),
    /// A model's loss over data.
    Model(ModelSpec),
}

/// `{"expr": ..., "name": ..., "domain": ..., "minima": ...}`: a formula compiled into tensor
/// operations (see `crate::surface::expr`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExprSpec {
    /// The formula of `x`, `y`, `r` and `c`.
    pub(crate) expr: ExprText,
    /// Its name in figures (`expr` by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<SurfaceName>,
    /// Its domain (the post's box by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) domain: Option<DomainField>,
    /// Its known minima: `[x, y]` (the value computed) or `{"point": [x, y], "value": v}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) minima: Option<Minima>,
}

/// `{"model": ..., "data": ..., ...}`: the loss of a model over a dataset, with minibatches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// The model.
    pub(crate) model: ModelName,
    /// The data.
    pub(crate) data: DataSpec,
    /// The domain of its figures (around the optimum by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) domain: Option<DomainField>,
    /// Rows per minibatch (the full batch by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) batch_size: Option<BatchSize>,
    /// Drop an epoch's last, smaller batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) drop_remainder: Option<bool>,
    /// Scale the feature to mean 0 and standard deviation 1 (by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) standardize: Option<bool>,
    /// Its name in figures (the model's by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<SurfaceName>,
}

/// A model's data: a CSV file's columns, or rows generated from a seed.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub(crate) enum DataSpec {
    /// `{"csv": FILE, "x": COLUMN, "y": COLUMN}`.
    Csv(CsvSpec),
    /// `{"generate": "linear" | "logistic", "n": ..., "w": ..., "b": ..., "noise": ..., "seed": ...}`.
    Generate(GenerateSpec),
}

/// A CSV file's feature and target columns.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CsvSpec {
    /// The file (relative to the working folder, else to the experiment file's).
    pub(crate) csv: String,
    /// The feature column.
    pub(crate) x: String,
    /// The target column.
    pub(crate) y: String,
}

/// Rows drawn from a seed (see [`Dataset::generate`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GenerateSpec {
    /// `"linear"` or `"logistic"` targets.
    pub(crate) generate: Generated,
    /// Rows, 2 to 10,000,000 (512 by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) n: Option<Rows>,
    /// The slope (2 by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) w: Option<Finite>,
    /// The intercept (-1 by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) b: Option<Finite>,
    /// The noise's standard deviation (0.5 by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) noise: Option<Finite>,
    /// The seed (0 by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) seed: Option<Seed>,
}

/// The kind of generated targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Generated {
    /// `v = w u + b + noise`.
    Linear,
    /// `v = 1` with probability `sigmoid(w u + b + noise)`.
    Logistic,
}

impl Generated {
    /// Its name in files.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Generated::Linear => "linear",
            Generated::Logistic => "logistic",
        }
    }
}

/// An expression's text.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub(crate) struct ExprText(pub String);

/// A surface's own name: a non-empty string.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub(crate) struct SurfaceName(pub String);

/// A model's name (see [`Model::NAMES`]).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub(crate) struct ModelName(#[serde(serialize_with = "model_name")] pub Model);

fn model_name<S: serde::Serializer>(m: &Model, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(m.name())
}

/// A number of generated rows, 2 to 10,000,000.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub(crate) struct Rows(pub usize);

/// A finite number, as written.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub(crate) struct Finite(pub Written);

/// An expression surface's known minima.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub(crate) struct Minima(pub Vec<MinimumSpec>);

/// A point `[x, y]` as the file wrote it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub(crate) struct WrittenPoint(pub [Written; 2]);

impl FromJson for WrittenPoint {
    fn from_json(v: Value) -> Parsed<Self> {
        let p = Point::from_json(v.clone())?;
        let mut out = p.0.map(Written::from);
        for (k, w) in out.iter_mut().enumerate() {
            w.whole = v[k].is_i64() || v[k].is_u64();
        }
        Ok(WrittenPoint(out))
    }
}

/// A known minimum: `[x, y]`, or `{"point": [x, y], "value": v}`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub(crate) enum MinimumSpec {
    /// Its value computed from the surface.
    Point(WrittenPoint),
    /// With its value.
    Valued {
        /// Where.
        point: WrittenPoint,
        /// The smooth surface's value there (computed when absent or not finite).
        #[serde(skip_serializing_if = "Option::is_none")]
        value: Option<f64>,
    },
}

/// Reads `v` as `T` with serde, the error at the path below `v`.
fn typed<T: DeserializeOwned>(v: Value) -> Parsed<T> {
    serde_path_to_error::deserialize(v).map_err(FieldError::from_serde)
}

impl FromJson for SurfaceSpec {
    fn from_json(v: Value) -> Parsed<Self> {
        match v {
            Value::String(s) => Ok(SurfaceSpec::Name(s)),
            Value::Object(m) if m.contains_key("model") => typed(Value::Object(m)).map(SurfaceSpec::Model),
            // An expression's own mistakes first (an unknown field), then a missing `expr`.
            Value::Object(m) => typed(Value::Object(m)).map(SurfaceSpec::Expr).map_err(|e| {
                if e.path() == "expr" && e.message() == "missing" {
                    FieldError::new(
                        "a surface object needs \"expr\", e.g. {\"expr\": \"(1 - x)^2 + 100 * (y - x^2)^2\"}, or \"model\"",
                    )
                } else {
                    e
                }
            }),
            other => Err(FieldError::new(format!(
                "expected a surface name or an object such as {{\"expr\": \"x^2 + y^2\"}}, got {other}"
            ))),
        }
    }
}

impl FromJson for DataSpec {
    fn from_json(v: Value) -> Parsed<Self> {
        match v {
            Value::Object(m) if m.contains_key("csv") => typed(Value::Object(m)).map(DataSpec::Csv),
            Value::Object(m) if m.contains_key("generate") => typed(Value::Object(m)).map(DataSpec::Generate),
            Value::Object(_) => Err(FieldError::new(
                "expected {\"csv\": FILE, \"x\": COLUMN, \"y\": COLUMN} or {\"generate\": \"linear\" | \"logistic\", ...}",
            )),
            other => Err(FieldError::new(format!("expected an object, got {other}"))),
        }
    }
}

impl FromJson for Generated {
    fn from_json(v: Value) -> Parsed<Self> {
        match v.as_str() {
            Some("linear") => Ok(Generated::Linear),
            Some("logistic") => Ok(Generated::Logistic),
            _ => Err(FieldError::new(format!("expected \"linear\" or \"logistic\", got {v}"))),
        }
    }
}

impl FromJson for ExprText {
    fn from_json(v: Value) -> Parsed<Self> {
        match v {
            Value::String(s) => Ok(ExprText(s)),
            other => Err(FieldError::new(format!(
                "expected the expression as a string, got {other}"
            ))),
        }
    }
}

impl FromJson for SurfaceName {
    fn from_json(v: Value) -> Parsed<Self> {
        match v {
            Value::String(s) if !s.is_empty() => Ok(SurfaceName(s)),
            other => Err(FieldError::new(format!("expected a non-empty string, got {other}"))),
        }
    }
}

impl FromJson for ModelName {
    fn from_json(v: Value) -> Parsed<Self> {
        v.as_str().and_then(Model::from_name).map(ModelName).ok_or_else(|| {
            FieldError::new(format!(
                "unknown model {v}; expected one of: {}",
                Model::NAMES.join(", ")
            ))
        })
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

impl FromJson for Finite {
    fn from_json(v: Value) -> Parsed<Self> {
        match Written::from_json(v.clone()) {
            Ok(w) if w.value.is_finite() => Ok(Finite(w)),
            _ => Err(FieldError::new(format!("expected a finite number, got {v}"))),
        }
    }
}

impl FromJson for Minima {
    fn from_json(v: Value) -> Parsed<Self> {
        let Value::Array(points) = v else {
            return Err(FieldError::new(format!(
                "expected a list of points [[x, y], ...], got {v}"
            )));
        };
        let minimum = |p: Value| match p {
            Value::Object(mut m) => {
                let point = match m.remove("point") {
                    Some(p) => WrittenPoint::from_json(p).at("point")?,
                    None => return Err(FieldError::new("missing").at("point")),
                };
                let value = m.get("value").and_then(Value::as_f64).filter(|v| v.is_finite());
                Ok(MinimumSpec::Valued { point, value })
            }
            other => WrittenPoint::from_json(other).map(MinimumSpec::Point),
        };
        points
            .into_iter()
            .enumerate()
            .map(|(i, p)| minimum(p).index(i))
            .collect::<Parsed<Vec<_>>>()
            .map(Minima)
    }
}

deserialize_from_json!(
    SurfaceSpec,
    DataSpec,
    Generated,
    ExprText,
    SurfaceName,
    ModelName,
    Rows,
    Finite,
    Minima
);

impl SurfaceSpec {
    /// The surface this names, from `registry`; `base` is the folder of the file that names it
    /// (data files may be relative to it), and `device` evaluates what must be computed (the
    /// value of a minimum given without one). Errors name the field below `surface`.
    pub(crate) fn resolve(&self, registry: &Registry, base: &Path, device: &Device) -> Parsed<Surface> {
        match self {
            SurfaceSpec::Name(name) => registry.require_surface(name).cloned(),
            SurfaceSpec::Model(spec) => spec.resolve(base),
            SurfaceSpec::Expr(spec) => spec.resolve(registry, device),
        }
    }
}

impl ModelSpec {
    fn resolve(&self, base: &Path) -> Parsed<Surface> {
        let model = self.model.0;
        let data = self.data.load(base).at("data")?;
        let data = if self.standardize.unwrap_or(true) {
            data.standardized()
        } else {
            data
        };
        data.check(model).map_err(|unfit| unfit_message(unfit, &self.data))?;
        let batching = Batching {
            batch_size: self.batch_size.map(|b| b.0),
            drop_remainder: self.drop_remainder.unwrap_or(false),
        };
        let formula = match model {
            Model::LinearRegression => "mean of 1/2 (x u + y - v)^2 over the data (x = w, y = b)",
            Model::LogisticRegression => "mean cross-entropy of sigmoid(x u + y) against v (x = w, y = b)",
        };
        let name = self
            .name
            .as_ref()
            .map_or_else(|| model.name().to_string(), |n| n.0.clone());
        let mut surface = Surface::from_data(name, formula, DataSurface::new(model, data, batching));
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
}

impl DataSpec {
    /// The rows: a CSV file's two columns, or generated ones. Errors name the field below `data`.
    fn load(&self, base: &Path) -> Parsed<Dataset> {
        match self {
            DataSpec::Csv(c) => crate::io::locate_data(&c.csv, base)
                .and_then(|path| Dataset::from_csv(&path, &c.x, &c.y))
                .at("csv"),
            DataSpec::Generate(g) => {
                let model = match g.generate {
                    Generated::Linear => Model::LinearRegression,
                    Generated::Logistic => Model::LogisticRegression,
                };
                let number = |v: Option<Finite>, default: f64| v.map_or(default, |f| f.0.value);
                Ok(Dataset::generate(
                    model,
                    g.n.map_or(512, |n| n.0),
                    number(g.w, 2.0),
                    number(g.b, -1.0),
                    number(g.noise, 0.5),
                    g.seed.map_or(0, |s| s.0),
                ))
            }
        }
    }
}

/// Names where a dataset's unfitness shows: a CSV's target column and row as a spreadsheet
/// counts them (the header is row 1), or the generated data.
fn unfit_message(unfit: Unfit, data: &DataSpec) -> FieldError {
    match (unfit, data) {
        (Unfit::TooFewRows(n), _) => FieldError::new(format!("expected at least 2 rows of data, got {n}")).at("data"),
        (Unfit::NotALabel { row, value }, DataSpec::Csv(c)) => FieldError::new(format!(
            "{}: row {}, column {:?}: {value} is not a label; logistic_regression needs targets 0 or 1",
            c.csv,
            row + 2,
            c.y
        ))
        .at("y")
        .at("data"),
        (Unfit::NotALabel { row, value }, DataSpec::Generate(_)) => FieldError::new(format!(
            "generated row {} has target {value}; logistic_regression needs targets 0 or 1 (generate \"logistic\" data)",
            row + 1
        ))
        .at("generate")
        .at("data"),
    }
}

impl ExprSpec {
    fn resolve(&self, registry: &Registry, device: &Device) -> Parsed<Surface> {
        let text = &self.expr.0;
        let expr = Expr::compile(text, registry.surfaces()).map_err(|e| FieldError::new(e.to_string()).at("expr"))?;
        let name = self.name.as_ref().map_or_else(|| "expr".to_string(), |n| n.0.clone());
        let mut surface = expr.into_surface(name, text.clone());
        if let Some(domain) = self.domain {
            surface.domain = domain.domain();
        }
        for m in self.minima.iter().flat_map(|m| &m.0) {
            let (point, value) = match m {
                MinimumSpec::Point(p) => (p.0.map(|w| w.value), None),
                MinimumSpec::Valued { point, value } => (point.0.map(|w| w.value), *value),
            };
            let value = value.unwrap_or_else(|| smooth_value(&surface, point, device));
            surface = surface.with_minimum(point, value);
        }
        Ok(surface)
    }
}

/// The surface's value at `point` with the noise off (how the value of a minimum given without
/// one is found).
fn smooth_value(surface: &Surface, point: [f64; 2], device: &Device) -> f64 {
    let off = NoiseSpec {
        seed: 0,
        lookup: Lookup::Off,
    };
    let p = Tensor::<2>::from_data(TensorData::new(vec![point[0] as f32, point[1] as f32], [1, 2]), device);
    to_vec(surface.eval(p, &surface.noise(off, device)))[0] as f64
}
