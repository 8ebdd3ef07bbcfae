//! The `surface` of an experiment file: a registered surface's name, or an expression.
//!
//! ```json
//! "surface": "rosenbrock"
//! "surface": {"expr": "(1 - x)^2 + 100 * (y - x^2)^2 + 0.01 * r", "domain": [[-2, 2], [-1, 3]],
//!             "minima": [[1, 1]]}
//! ```
//! Trajectory files record it as given, so figures and diffs rebuild the same surface.

use crate::backend::Backend;
use crate::registry::Registry;
use crate::surface::expr::Expr;
use crate::surface::{Domain, Lookup, NoiseSpec, Surface, to_vec};
use burn::tensor::{Tensor, TensorData};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A surface as an experiment names it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SurfaceSpec {
    /// A registered surface, by name.
    Name(String),
    /// An object: `{"expr": ..., "domain": ..., "minima": ..., "name": ...}`.
    Object(Map<String, Value>),
}

/// An error inside the `surface` field: the path below it (empty for the field itself) and
/// the message.
type FieldError = (String, String);

impl SurfaceSpec {
    /// Reads the JSON value of a `surface` field.
    pub fn from_value(value: Value) -> Result<Self, String> {
        match value {
            Value::String(s) => Ok(SurfaceSpec::Name(s)),
            Value::Object(m) => Ok(SurfaceSpec::Object(m)),
            other => Err(format!(
                "expected a surface name or an object such as {{\"expr\": \"x^2 + y^2\"}}, got {other}"
            )),
        }
    }

    /// A short label for reports: the name, or the expression.
    pub fn label(&self) -> String {
        match self {
            SurfaceSpec::Name(n) => n.clone(),
            SurfaceSpec::Object(m) => match (m.get("name"), m.get("expr")) {
                (Some(Value::String(n)), _) => n.clone(),
                (_, Some(Value::String(e))) => e.clone(),
                _ => Value::Object(m.clone()).to_string(),
            },
        }
    }

    /// The surface this names, from `registry`; errors name the field below `surface`.
    pub fn resolve(&self, registry: &Registry) -> Result<Surface, FieldError> {
        match self {
            SurfaceSpec::Name(name) => registry.require_surface(name).cloned().map_err(|m| (String::new(), m)),
            SurfaceSpec::Object(object) => expression(object, registry),
        }
    }
}

fn expression(object: &Map<String, Value>, registry: &Registry) -> Result<Surface, FieldError> {
    const KEYS: &[&str] = &["expr", "name", "domain", "minima"];
    if let Some(unknown) = object.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err((
            unknown.clone(),
            format!("unknown field; a surface object takes: {}", KEYS.join(", ")),
        ));
    }
    let text = match object.get("expr") {
        Some(Value::String(s)) => s,
        Some(other) => {
            return Err((
                "expr".into(),
                format!("expected the expression as a string, got {other}"),
            ));
        }
        None => {
            return Err((
                String::new(),
                "a surface object needs \"expr\", e.g. {\"expr\": \"(1 - x)^2 + 100 * (y - x^2)^2\"}".into(),
            ));
        }
    };
    let name = match object.get("name") {
        None => "expr".to_string(),
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(other) => return Err(("name".into(), format!("expected a non-empty string, got {other}"))),
    };
    let expr = Expr::compile(text, registry.surfaces()).map_err(|e| ("expr".to_string(), e.to_string()))?;
    let mut surface = expr.into_surface(name, text.clone());
    if let Some(domain) = object.get("domain") {
        surface.domain = parse_domain(domain).map_err(|m| ("domain".to_string(), m))?;
    }
    if let Some(minima) = object.get("minima") {
        let Value::Array(points) = minima else {
            return Err((
                "minima".into(),
                format!("expected a list of points [[x, y], ...], got {minima}"),
            ));
        };
        for (i, p) in points.iter().enumerate() {
            let field = format!("minima[{i}]");
            let (point, value) = match p {
                Value::Object(m) => {
                    let point = m.get("point").map(parse_point).unwrap_or(Err("missing".into()));
                    let point = point.map_err(|e| (format!("{field}.point"), e))?;
                    let value = m.get("value").and_then(Value::as_f64).filter(|v| v.is_finite());
                    (point, value)
                }
                other => (parse_point(other).map_err(|e| (field.clone(), e))?, None),
            };
            let value = value.unwrap_or_else(|| smooth_value(&surface, point));
            surface = surface.with_minimum(point, value);
        }
    }
    Ok(surface)
}

/// The surface's value at `point` with the noise off (how the value of a minimum given without
/// one is found).
fn smooth_value(surface: &Surface, point: [f64; 2]) -> f64 {
    let device = Backend::Ndarray.device().expect("the ndarray backend is always built");
    let off = NoiseSpec {
        seed: 0,
        lookup: Lookup::Off,
    };
    let p = Tensor::<2>::from_data(TensorData::new(vec![point[0] as f32, point[1] as f32], [1, 2]), &device);
    to_vec(surface.eval(p, &surface.noise(off, &device)))[0] as f64
}

/// Reads `[x, y]`.
pub fn parse_point(value: &Value) -> Result<[f64; 2], String> {
    let coords: Option<Vec<f64>> = value.as_array().and_then(|a| a.iter().map(Value::as_f64).collect());
    match coords.as_deref() {
        Some(&[x, y]) if x.is_finite() && y.is_finite() => Ok([x, y]),
        _ => Err(format!("expected two finite numbers [x, y], got {value}")),
    }
}

/// Reads `[[x_min, x_max], [y_min, y_max]]`.
pub fn parse_domain(value: &Value) -> Result<Domain, String> {
    let domain: Domain = serde_json::from_value(value.clone())
        .map_err(|_| format!("expected [[x_min, x_max], [y_min, y_max]], got {value}"))?;
    domain.validate()?;
    Ok(domain)
}
