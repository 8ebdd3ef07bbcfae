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

use super::file::{DomainField, FromJson, Point, Written, deserialize_from_json};
pub use super::model_spec::ModelSpec;
use super::model_spec::typed;
use crate::error::{FieldContext, FieldError, Parsed};
use crate::registry::Registry;
use crate::surface::expr::Expr;
use crate::surface::{Lookup, NoiseSpec, Surface};
use crate::tensor::to_vec;
use burn::tensor::{Device, Tensor, TensorData};
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
    /// A model's loss over data (boxed: it has many fields).
    Model(Box<ModelSpec>),
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

/// An expression's text.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub(crate) struct ExprText(pub String);

/// A surface's own name: a non-empty string.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub(crate) struct SurfaceName(pub String);

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

impl FromJson for SurfaceSpec {
    fn from_json(v: Value) -> Parsed<Self> {
        match v {
            Value::String(s) => Ok(SurfaceSpec::Name(s)),
            Value::Object(m) if m.contains_key("model") => typed(Value::Object(m)).map(|m| SurfaceSpec::Model(Box::new(m))),
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

deserialize_from_json!(SurfaceSpec, ExprText, SurfaceName, Minima);

impl SurfaceSpec {
    /// The surface this names, from `registry`; `base` is the folder of the file that names it
    /// (data files may be relative to it), and `device` evaluates what must be computed (the
    /// value of a minimum given without one). Errors name the field below `surface`.
    pub(crate) fn resolve(&self, registry: &Registry, base: &Path, device: &Device) -> Parsed<Surface> {
        match self {
            SurfaceSpec::Name(name) => registry.require_surface(name).cloned(),
            SurfaceSpec::Model(spec) => spec.resolve(registry, base),
            SurfaceSpec::Expr(spec) => spec.resolve(registry, device),
        }
    }
}

impl ExprSpec {
    fn resolve(&self, registry: &Registry, device: &Device) -> Parsed<Surface> {
        let text = &self.expr.0;
        let expr = Expr::compile(text, registry.surfaces()).map_err(|e| FieldError::new(e.to_string()).at("expr"))?;
        let name = self.name.as_ref().map_or_else(|| "expr".to_string(), |n| n.0.clone());
        let mut surface = expr.into_surface(name, text.clone(), registry.surfaces());
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
