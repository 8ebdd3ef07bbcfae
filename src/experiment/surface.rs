//! The `surface` of an experiment file: a registered surface's name, or an expression.
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
//! file's folder.
//! Trajectory files record it as given, so figures and diffs rebuild the same surface.

use crate::backend::Backend;
use crate::registry::Registry;
use crate::surface::data::{Batching, DataSurface, Dataset, Model, Unfit};
use crate::surface::expr::Expr;
use crate::surface::{Domain, Lookup, NoiseSpec, Surface, to_vec};
use burn::tensor::{Tensor, TensorData};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::path::Path;

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

    /// The surface this names in the file at `path` (data files may be relative to its folder);
    /// errors name the file and the field, `surface` or below it.
    pub fn resolve_in(&self, registry: &Registry, path: &Path) -> crate::error::Result<Surface> {
        let base = path.parent().unwrap_or(Path::new(""));
        self.resolve(registry, base)
            .map_err(|(field, m)| crate::error::Error::input(path, field, m).within("surface"))
    }

    /// The surface this names, from `registry`; `base` is the folder of the file that names it
    /// (data files may be relative to it). Errors name the field below `surface`.
    pub fn resolve(&self, registry: &Registry, base: &Path) -> Result<Surface, FieldError> {
        match self {
            SurfaceSpec::Name(name) => registry.require_surface(name).cloned().map_err(|m| (String::new(), m)),
            SurfaceSpec::Object(object) if object.contains_key("model") => data_surface(object, base),
            SurfaceSpec::Object(object) => expression(object, registry),
        }
    }
}

fn data_surface(object: &Map<String, Value>, base: &Path) -> Result<Surface, FieldError> {
    const KEYS: &[&str] = &[
        "model",
        "data",
        "batch_size",
        "drop_remainder",
        "standardize",
        "domain",
        "name",
    ];
    if let Some(unknown) = object.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err((
            unknown.clone(),
            format!("unknown field; a model surface takes: {}", KEYS.join(", ")),
        ));
    }
    let model_name = object.get("model").and_then(Value::as_str).unwrap_or_default();
    let model = Model::from_name(model_name).ok_or_else(|| {
        (
            "model".to_string(),
            format!(
                "unknown model {}; expected one of: {}",
                object["model"],
                Model::NAMES.join(", ")
            ),
        )
    })?;
    let flag = |key: &str, default: bool| match object.get(key) {
        None => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err((key.to_string(), format!("expected true or false, got {other}"))),
    };
    let (standardize, drop_remainder) = (flag("standardize", true)?, flag("drop_remainder", false)?);
    let batch_size = match object.get("batch_size") {
        None | Some(Value::Null) => None,
        Some(v) => Some(super::parse_batch_size(v).map_err(|m| ("batch_size".to_string(), m))?),
    };
    let data = match object.get("data") {
        Some(Value::Object(d)) => dataset(d, base).map_err(|(f, m)| (format!("data.{f}"), m))?,
        Some(other) => return Err(("data".into(), format!("expected an object, got {other}"))),
        None => {
            return Err((
                "data".into(),
                "missing; give {\"csv\": FILE, \"x\": COLUMN, \"y\": COLUMN} or {\"generate\": \"linear\", ...}".into(),
            ));
        }
    };
    let data = if standardize { data.standardized() } else { data };
    data.check(model)
        .map_err(|unfit| unfit_message(unfit, object.get("data")))?;
    let name = match object.get("name") {
        None => model_name.to_string(),
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(other) => return Err(("name".into(), format!("expected a non-empty string, got {other}"))),
    };
    let batching = Batching {
        batch_size,
        drop_remainder,
    };
    let formula = match model {
        Model::LinearRegression => "mean of 1/2 (x u + y - v)^2 over the data (x = w, y = b)",
        Model::LogisticRegression => "mean cross-entropy of sigmoid(x u + y) against v (x = w, y = b)",
    };
    let mut surface = Surface::from_data(name, formula, DataSurface::new(model, data, batching));
    surface.domain = match object.get("domain") {
        Some(d) => parse_domain(d).map_err(|m| ("domain".to_string(), m))?,
        // Around the optimum, or the origin, 3 on either side.
        None => {
            let c = surface.minima().next().map_or([0.0, 0.0], |m| m.point);
            Domain::from([[c[0] - 3.0, c[0] + 3.0], [c[1] - 3.0, c[1] + 3.0]])
        }
    };
    Ok(surface)
}

/// Names where a dataset's unfitness shows: a CSV's target column and row as a spreadsheet
/// counts them (the header is row 1), or the generated data.
fn unfit_message(unfit: Unfit, data: Option<&Value>) -> FieldError {
    let csv = data.and_then(|d| Some((d.get("csv")?.as_str()?, d.get("y")?.as_str()?)));
    match (unfit, csv) {
        (Unfit::TooFewRows(n), _) => ("data".into(), format!("expected at least 2 rows of data, got {n}")),
        (Unfit::NotALabel { row, value }, Some((file, y))) => (
            "data.y".into(),
            format!(
                "{file}: row {}, column {y:?}: {value} is not a label; logistic_regression needs targets 0 or 1",
                row + 2
            ),
        ),
        (Unfit::NotALabel { row, value }, None) => (
            "data.generate".into(),
            format!(
                "generated row {} has target {value}; logistic_regression needs targets 0 or 1 (generate \"logistic\" data)",
                row + 1
            ),
        ),
    }
}

/// Reads the `data` object: a CSV file's two columns, or generated rows.
fn dataset(d: &Map<String, Value>, base: &Path) -> Result<Dataset, FieldError> {
    let text = |key: &str| match d.get(key) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err((key.to_string(), format!("expected a string, got {other}"))),
        None => Err((key.to_string(), "missing".to_string())),
    };
    if d.contains_key("csv") {
        if let Some(k) = d.keys().find(|k| !["csv", "x", "y"].contains(&k.as_str())) {
            return Err((k.clone(), "unknown field; CSV data takes: csv, x, y".into()));
        }
        let (file, x, y) = (text("csv")?, text("x")?, text("y")?);
        let path = locate(&file, base);
        return Dataset::from_csv(&path, &x, &y).map_err(|m| ("csv".to_string(), m));
    }
    if d.contains_key("generate") {
        const KEYS: [&str; 6] = ["generate", "n", "w", "b", "noise", "seed"];
        if let Some(k) = d.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err((
                k.clone(),
                format!("unknown field; generated data takes: {}", KEYS.join(", ")),
            ));
        }
        let kind = match text("generate")?.as_str() {
            "linear" => Model::LinearRegression,
            "logistic" => Model::LogisticRegression,
            other => {
                return Err((
                    "generate".into(),
                    format!("expected \"linear\" or \"logistic\", got {other:?}"),
                ));
            }
        };
        let number = |key: &str, default: f64| match d.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_f64()
                .filter(|x| x.is_finite())
                .ok_or_else(|| (key.to_string(), format!("expected a finite number, got {v}"))),
        };
        let n = match d.get("n") {
            None => 512,
            Some(v) => match v.as_u64() {
                Some(n) if (2..=10_000_000).contains(&n) => n as usize,
                _ => {
                    return Err((
                        "n".into(),
                        format!("expected a whole number of rows from 2 to 10000000, got {v}"),
                    ));
                }
            },
        };
        let seed = match d.get("seed") {
            None => 0,
            Some(v) => super::parse_seed(v).map_err(|m| ("seed".to_string(), m))?,
        };
        return Ok(Dataset::generate(
            kind,
            n,
            number("w", 2.0)?,
            number("b", -1.0)?,
            number("noise", 0.5)?,
            seed,
        ));
    }
    Err((
        String::new(),
        "expected {\"csv\": FILE, \"x\": COLUMN, \"y\": COLUMN} or {\"generate\": \"linear\" | \"logistic\", ...}"
            .into(),
    ))
}

/// A data file's path: as given when it exists from the current folder, else beside `base`.
fn locate(file: &str, base: &Path) -> std::path::PathBuf {
    let path = Path::new(file);
    if path.is_absolute() || path.exists() {
        return path.to_path_buf();
    }
    let beside = base.join(path);
    if beside.exists() { beside } else { path.to_path_buf() }
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
