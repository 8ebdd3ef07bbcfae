//! Studies: many runs at once — hyperparameters x start points x seeds — summarised by
//! streaming metrics instead of trajectories, to tune optimizers fairly and to map basins and
//! sensitivities.
//!
//! ```json
//! {"kind": "study", "name": "himmelblau-adam-sgd", "surface": "himmelblau", "steps": 200,
//!  "starts": {"grid": [128, 128]},
//!  "seeds": [0, 1, 2],
//!  "optimizers": [
//!    {"optimizer": "adam", "learning_rate": {"logspace": [0.001, 1.0, 13]}},
//!    {"optimizer": "sgd", "learning_rate": {"logspace": [0.0001, 0.1, 13]}, "momentum": [0.0, 0.9]}],
//!  "threshold": 0.001,
//!  "tune": {"objective": "median_final_loss"}}
//! ```
//! A hyperparameter is a value, a list, `{"logspace": [a, b, n]}` or `{"linspace": [a, b, n]}`;
//! each optimizer entry is the Cartesian product of its lists, and the study every
//! configuration x start x seed. Surface, noise, domain, gradient noise and every
//! hyperparameter's name and check are those of experiment files.

pub mod results;
pub mod run;

use super::surface::{parse_domain, parse_point};
use super::{SurfaceSpec, check_name, parse_batch_size, parse_seed};
use crate::error::{Error, Result};
use crate::optim::Entry;
use crate::registry::Registry;
use crate::surface::{NoiseSpec, Surface};
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};

/// One configuration of a study: an optimizer with every hyperparameter set.
#[derive(Clone, Debug)]
pub struct Configuration {
    /// The entry's `label` (its optimizer's name by default): configurations are grouped by it
    /// when tuning, plotting and comparing, so `{"label": "NAG", "optimizer": "sgd", ...}` and
    /// plain SGD are tuned apart.
    pub label: String,
    /// The optimizer.
    pub optimizer: Entry,
    /// Every hyperparameter, defaults filled in.
    pub hyperparameters: Map<String, Value>,
    /// The swept hyperparameters' values (those given as lists or ranges).
    pub swept: Map<String, Value>,
    /// The minibatch size of its runs on a data surface (`batch_size`, sweepable like a
    /// hyperparameter; the surface's own by default).
    pub batch_size: Option<usize>,
}

/// True for the name of a swept learning rate: `learning_rate`, a cap such as Polyak SGD's
/// `max_learning_rate`, or a wrapped optimizer's (`fast.learning_rate`, `outer.learning_rate`).
pub fn is_rate(key: &str) -> bool {
    key.rsplit('.')
        .next()
        .is_some_and(|name| name.ends_with("learning_rate"))
}

impl Configuration {
    /// The swept learning rate (the entry's own, else a wrapped optimizer's), when one is swept.
    pub fn swept_rate(&self) -> Option<f64> {
        let own = self.swept.get("learning_rate");
        own.or_else(|| self.swept.iter().find(|(k, _)| is_rate(k)).map(|(_, v)| v))
            .and_then(Value::as_f64)
    }
}

/// What tuning optimizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Objective {
    /// The lowest median final loss (diverged runs count as infinite).
    MedianFinalLoss,
    /// The lowest mean final loss (diverged runs count as infinite).
    MeanFinalLoss,
    /// The highest share of runs reaching the threshold.
    SuccessRate,
    /// The fewest median steps to the threshold, over the runs that reach it (configurations
    /// where none does come last).
    MedianStepsToThreshold,
}

impl Objective {
    /// The names study files use.
    pub const NAMES: [&'static str; 4] = [
        "median_final_loss",
        "mean_final_loss",
        "success_rate",
        "median_steps_to_threshold",
    ];

    fn from_name(name: &str) -> Option<Objective> {
        Some(match name {
            "median_final_loss" => Objective::MedianFinalLoss,
            "mean_final_loss" => Objective::MeanFinalLoss,
            "success_rate" => Objective::SuccessRate,
            "median_steps_to_threshold" => Objective::MedianStepsToThreshold,
            _ => return None,
        })
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

/// The `tune` object: pick the best configuration per optimizer and run them as an experiment.
#[derive(Clone, Debug, PartialEq)]
pub struct Tune {
    /// What "best" means.
    pub objective: Objective,
    /// Where the tuned comparison starts (the study's first start by default).
    pub start: Option<[f64; 2]>,
}

/// A checked study, ready to run.
#[derive(Clone, Debug)]
pub struct Study {
    /// Name (`[a-z0-9_-]+`); names its output folder.
    pub name: String,
    /// Optional title.
    pub title: Option<String>,
    /// The surface, over the study's domain.
    pub surface: Surface,
    /// The surface as the file names it.
    pub surface_spec: SurfaceSpec,
    /// The file's `domain`, when it overrides the surface's own.
    pub domain: Option<crate::surface::Domain>,
    /// The noise draw and lookup.
    pub noise: NoiseSpec,
    /// Steps per run.
    pub steps: usize,
    /// Start points, in order (a grid's x index first).
    pub starts: Vec<[f64; 2]>,
    /// The grid's shape `[nx, ny]` when the starts are a grid.
    pub grid: Option<[usize; 2]>,
    /// The stochastic seeds.
    pub seeds: Vec<u64>,
    /// Additive gradient noise's standard deviation (0: none).
    pub sigma: f64,
    /// Every configuration, optimizer entries in file order, each entry's product in order.
    pub configs: Vec<Configuration>,
    /// The loss margin that counts as reaching the minimum.
    pub threshold: f64,
    /// Tuning, when asked.
    pub tune: Option<Tune>,
    /// The optimizers known where the file was read.
    pub optimizers: Vec<Entry>,
    /// The file's own JSON (shards carry it, so merging needs nothing else).
    pub text: Value,
    /// The file it was read from.
    pub source: PathBuf,
}

/// The largest number of runs a study may have.
const MAX_RUNS: u64 = 100_000_000;
/// The largest number of configurations a study may have.
const MAX_CONFIGS: u64 = 1_000_000;

impl Study {
    /// Every run: `(config, start, seed)` indices in row order (configuration-major, then
    /// start, then seed).
    pub fn rows(&self) -> usize {
        self.configs.len() * self.starts.len() * self.seeds.len()
    }

    /// The `(config, start, seed)` of row `r`.
    pub fn row(&self, r: usize) -> (usize, usize, usize) {
        let per_config = self.starts.len() * self.seeds.len();
        (
            r / per_config,
            (r % per_config) / self.seeds.len(),
            r % self.seeds.len(),
        )
    }

    /// Reads and checks a study file; `registry` says which surfaces and optimizers it may name.
    pub fn parse(text: &str, path: &Path, registry: &Registry) -> Result<Study> {
        let err = |field: &str, message: String| Error::input(path, field, message);
        let value: Value =
            serde_json::from_str(text).map_err(|e| Error::input(path, "", format!("invalid JSON: {e}")))?;
        let Value::Object(file) = &value else {
            return Err(err("", "expected a study object {\"kind\": \"study\", ...}".into()));
        };
        const KEYS: &[&str] = &[
            "kind",
            "name",
            "title",
            "surface",
            "domain",
            "noise",
            "steps",
            "starts",
            "seeds",
            "gradient_noise",
            "optimizers",
            "threshold",
            "tune",
        ];
        if let Some(k) = file.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(err(k, format!("unknown field; a study takes: {}", KEYS.join(", "))));
        }
        let get = |key: &str| {
            file.get(key)
                .ok_or_else(|| err(key, "missing; a study needs it".into()))
        };
        let name = match get("name")? {
            Value::String(s) => s.clone(),
            other => return Err(err("name", format!("expected a string, got {other}"))),
        };
        check_name(&name).map_err(|m| err("name", m))?;
        let title = match file.get("title") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => return Err(err("title", format!("expected a string, got {other}"))),
        };
        let surface_spec = SurfaceSpec::from_value(get("surface")?.clone()).map_err(|m| err("surface", m))?;
        let mut surface = surface_spec.resolve_in(registry, path)?;
        let domain = match file.get("domain") {
            Some(d) => Some(parse_domain(d).map_err(|m| err("domain", m))?),
            None => None,
        };
        if let Some(d) = domain {
            surface.domain = d;
        }
        let noise: NoiseSpec = match file.get("noise") {
            None => NoiseSpec::default(),
            Some(v) => serde_json::from_value(v.clone()).map_err(|e| err("noise", e.to_string()))?,
        };
        let steps = match get("steps")?.as_u64() {
            Some(s) if (1..=1_000_000).contains(&s) => s as usize,
            _ => {
                return Err(err(
                    "steps",
                    format!(
                        "expected a whole number of steps from 1 to 1000000, got {}",
                        file["steps"]
                    ),
                ));
            }
        };
        let (starts, grid) = parse_starts(get("starts")?, &surface).map_err(|(f, m)| err(&format!("starts{f}"), m))?;
        let seeds = match file.get("seeds") {
            None => vec![0],
            Some(Value::Array(a)) if !a.is_empty() => a
                .iter()
                .enumerate()
                .map(|(i, v)| parse_seed(v).map_err(|m| err(&format!("seeds[{i}]"), m)))
                .collect::<Result<Vec<u64>>>()?,
            Some(other) => return Err(err("seeds", format!("expected a non-empty list of seeds, got {other}"))),
        };
        let sigma = match file.get("gradient_noise") {
            None => 0.0,
            Some(v) => super::parse_gradient_noise(v).map_err(|(f, m)| err(&format!("gradient_noise{f}"), m))?,
        };
        let configs = match get("optimizers")? {
            Value::Array(entries) if !entries.is_empty() => {
                let mut configs = Vec::new();
                // Configurations are expanded up front: cap them before allocating.
                let per_config = (starts.len() * seeds.len()) as u64;
                let cap = MAX_CONFIGS.min(MAX_RUNS / per_config) as usize;
                for (i, entry) in entries.iter().enumerate() {
                    let field = format!("optimizers[{i}]");
                    configs.extend(expand(entry, registry, cap - configs.len()).map_err(|(f, m)| {
                        err(
                            &if f.is_empty() {
                                field.clone()
                            } else {
                                format!("{field}.{f}")
                            },
                            m,
                        )
                    })?);
                }
                configs
            }
            other => {
                return Err(err(
                    "optimizers",
                    format!("expected a non-empty list of optimizer entries, got {other}"),
                ));
            }
        };
        if surface.data.is_none()
            && let Some(c) = configs.iter().find(|c| c.batch_size.is_some())
        {
            let i = file["optimizers"]
                .as_array()
                .and_then(|a| a.iter().position(|e| e.get("batch_size").is_some()))
                .unwrap_or(0);
            return Err(err(
                &format!("optimizers[{i}].batch_size"),
                format!(
                    "a batch size ({}) needs a data surface ({{\"model\": ..., \"data\": ...}}); this surface has no data",
                    c.batch_size.unwrap_or(0)
                ),
            ));
        }
        let runs = configs.len() as u64 * starts.len() as u64 * seeds.len() as u64;
        if runs > MAX_RUNS {
            return Err(err(
                "optimizers",
                format!("{runs} runs (configurations x starts x seeds) is more than {MAX_RUNS}; split the study"),
            ));
        }
        let threshold = match file.get("threshold") {
            None => 1e-3,
            Some(v) => match v.as_f64() {
                Some(t) if t.is_finite() && t >= 0.0 => t,
                _ => return Err(err("threshold", format!("expected a finite number >= 0, got {v}"))),
            },
        };
        let tune = match file.get("tune") {
            None | Some(Value::Null) => None,
            Some(v) => Some(parse_tune(v).map_err(|(f, m)| err(&format!("tune{f}"), m))?),
        };
        Ok(Study {
            name,
            title,
            surface,
            surface_spec,
            domain,
            noise,
            steps,
            starts,
            grid,
            seeds,
            sigma,
            configs,
            threshold,
            tune,
            optimizers: registry.optimizers().to_vec(),
            text: value.clone(),
            source: path.to_path_buf(),
        })
    }
}

type FieldError = (String, String);

/// Start points, and the grid's shape when they are a grid.
type Starts = (Vec<[f64; 2]>, Option<[usize; 2]>);

/// `{"grid": [nx, ny]}` (cell centres over the domain), `{"random": n, "seed": s}` or a list of
/// points. Errors name the field below `starts` (`.grid`, `[3]`).
fn parse_starts(v: &Value, surface: &Surface) -> std::result::Result<Starts, FieldError> {
    let d = surface.domain;
    match v {
        Value::Array(points) if !points.is_empty() => {
            let pts = points
                .iter()
                .enumerate()
                .map(|(i, p)| parse_point(p).map_err(|m| (format!("[{i}]"), m)))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            Ok((pts, None))
        }
        Value::Object(m) if m.contains_key("grid") => {
            if let Some(k) = m.keys().find(|k| *k != "grid") {
                return Err((format!(".{k}"), "unknown field; a grid takes: grid".into()));
            }
            let g = m["grid"].as_array().and_then(|a| {
                let n: Vec<u64> = a.iter().filter_map(Value::as_u64).collect();
                (a.len() == 2 && n.len() == 2).then(|| [n[0] as usize, n[1] as usize])
            });
            match g {
                Some([nx, ny]) if nx >= 1 && ny >= 1 && nx.checked_mul(ny).is_some_and(|n| n as u64 <= MAX_RUNS) => {
                    let centre = |k: usize, n: usize, [lo, hi]: [f64; 2]| lo + (k as f64 + 0.5) * (hi - lo) / n as f64;
                    let pts = (0..nx)
                        .flat_map(|i| (0..ny).map(move |j| (i, j)))
                        .map(|(i, j)| [centre(i, nx, d.x), centre(j, ny, d.y)])
                        .collect();
                    Ok((pts, Some([nx, ny])))
                }
                _ => Err((
                    ".grid".into(),
                    format!("expected [nx, ny] with whole numbers >= 1, got {}", m["grid"]),
                )),
            }
        }
        Value::Object(m) if m.contains_key("random") => {
            if let Some(k) = m.keys().find(|k| *k != "random" && *k != "seed") {
                return Err((
                    format!(".{k}"),
                    "unknown field; random starts take: random, seed".into(),
                ));
            }
            let n = match m["random"].as_u64() {
                Some(n) if (1..=MAX_RUNS).contains(&n) => n as usize,
                _ => {
                    return Err((
                        ".random".into(),
                        format!("expected a whole number >= 1, got {}", m["random"]),
                    ));
                }
            };
            let seed = match m.get("seed") {
                None => 0,
                Some(s) => parse_seed(s).map_err(|m| (".seed".to_string(), m))?,
            };
            let mut bits = crate::random::SplitMix64::new(seed);
            let pts = (0..n)
                .map(|_| {
                    let x = d.x[0] + (d.x[1] - d.x[0]) * bits.uniform();
                    [x, d.y[0] + (d.y[1] - d.y[0]) * bits.uniform()]
                })
                .collect();
            Ok((pts, None))
        }
        other => Err((
            String::new(),
            format!(
                "expected {{\"grid\": [nx, ny]}}, {{\"random\": n, \"seed\": s}} or a non-empty list of points, got {other}"
            ),
        )),
    }
}

/// The values a hyperparameter takes: a value, a list, `{"logspace": [a, b, n]}` or
/// `{"linspace": [a, b, n]}` (a schedule object is one value). `Err(message)`.
fn values(v: &Value) -> std::result::Result<(Vec<Value>, bool), String> {
    let range = |spec: &Value, log: bool| -> std::result::Result<Vec<Value>, String> {
        let name = if log { "logspace" } else { "linspace" };
        let parts: Option<Vec<f64>> = spec.as_array().and_then(|a| a.iter().map(Value::as_f64).collect());
        let Some(&[a, b, n]) = parts.as_deref() else {
            return Err(format!("expected {{\"{name}\": [start, stop, count]}}, got {spec}"));
        };
        if !(a.is_finite() && b.is_finite()) || n < 1.0 || n.fract() != 0.0 || n > 1e6 {
            return Err(format!(
                "{name} needs finite bounds and a whole count from 1 to 1000000, got [{a}, {b}, {n}]"
            ));
        }
        if log && (a <= 0.0 || b <= 0.0) {
            return Err(format!("logspace needs bounds > 0, got [{a}, {b}, {n}]"));
        }
        let n = n as usize;
        Ok((0..n)
            .map(|k| {
                let f = if n == 1 { 0.0 } else { k as f64 / (n - 1) as f64 };
                let x = if log {
                    (a.ln() + f * (b.ln() - a.ln())).exp()
                } else {
                    a + f * (b - a)
                };
                // Round to 12 significant digits, so the configurations print as people write them.
                json!(format!("{x:.11e}").parse::<f64>().unwrap_or(x))
            })
            .collect())
    };
    match v {
        Value::Array(a) if a.is_empty() => Err("expected a non-empty list of values".into()),
        Value::Array(a) => Ok((a.clone(), true)),
        Value::Object(m) if m.len() == 1 && m.contains_key("logspace") => Ok((range(&m["logspace"], true)?, true)),
        Value::Object(m) if m.len() == 1 && m.contains_key("linspace") => Ok((range(&m["linspace"], false)?, true)),
        other => Ok((vec![other.clone()], false)),
    }
}

/// An optimizer entry's configurations (`{"label": ..., "optimizer": NAME, hyperparameters}`):
/// the Cartesian product of its lists, the last list varying fastest; each checked as an
/// experiment's run would be.
fn expand(entry: &Value, registry: &Registry, cap: usize) -> std::result::Result<Vec<Configuration>, FieldError> {
    let Value::Object(m) = entry else {
        return Err((
            String::new(),
            format!("expected an object {{\"optimizer\": NAME, ...}}, got {entry}"),
        ));
    };
    let name = match m.get("optimizer") {
        Some(Value::String(s)) => s.as_str(),
        Some(other) => return Err(("optimizer".into(), format!("expected a string, got {other}"))),
        None => return Err(("optimizer".into(), "missing; every entry names its optimizer".into())),
    };
    let optimizer = *registry
        .require_optimizer(name)
        .map_err(|m| ("optimizer".to_string(), m))?;
    let label = match m.get("label") {
        None => name.to_string(),
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(other) => return Err(("label".into(), format!("expected a non-empty string, got {other}"))),
    };
    // Each axis: its path (a wrapped optimizer's fields below its key), its values, and whether
    // the file sweeps it.
    let mut axes: Vec<Axis> = Vec::new();
    let own: Map<String, Value> = m
        .iter()
        .filter(|(k, _)| *k != "optimizer" && *k != "label")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    collect_axes(&own, &mut Vec::new(), &mut axes)?;
    let total = axes
        .iter()
        .try_fold(1usize, |n, a| n.checked_mul(a.1.len()).filter(|&n| n <= cap))
        .ok_or_else(|| {
            (
                String::new(),
                format!(
                    "too many configurations (the product of the lists): at most {MAX_CONFIGS} in all, and {MAX_RUNS} runs with the starts and seeds; split the study"
                ),
            )
        })?;
    let mut configs = Vec::with_capacity(total);
    for index in 0..total {
        let mut given = own.clone();
        let mut chosen = vec![0; axes.len()];
        let mut rest = index;
        for (a, (_, vals, _)) in axes.iter().enumerate().rev() {
            chosen[a] = rest % vals.len();
            rest /= vals.len();
        }
        let mut swept = Map::new();
        for ((path, vals, is_swept), &c) in axes.iter().zip(&chosen) {
            set_path(&mut given, path, vals[c].clone());
            if *is_swept {
                swept.insert(path.join("."), vals[c].clone());
            }
        }
        let with = |msg: String| {
            let values: Vec<String> = swept.iter().map(|(k, v)| format!("{k}={v}")).collect();
            if values.is_empty() {
                msg
            } else {
                format!("{msg} (with {})", values.join(", "))
            }
        };
        // A run setting, not a hyperparameter: the minibatch size on a data surface.
        let batch_size = match given.remove("batch_size") {
            None => None,
            Some(v) => Some(parse_batch_size(&v).map_err(|m| ("batch_size".to_string(), with(m)))?),
        };
        let hyperparameters = optimizer
            .parse_in(registry.optimizers(), given)
            .map_err(|(f, msg)| (f, with(msg)))?;
        configs.push(Configuration {
            label: label.clone(),
            optimizer,
            hyperparameters,
            swept,
            batch_size,
        });
    }
    Ok(configs)
}

/// The axes of an entry's fields: a field's values (see [`values`]), and, inside a wrapped
/// optimizer (an object naming an `optimizer`), its own fields' under the wrapper's key.
type Axis = (Vec<String>, Vec<Value>, bool);

fn collect_axes(
    m: &Map<String, Value>,
    path: &mut Vec<String>,
    axes: &mut Vec<Axis>,
) -> std::result::Result<(), FieldError> {
    for (k, v) in m {
        path.push(k.clone());
        match v {
            Value::Object(inner) if inner.contains_key("optimizer") => collect_axes(inner, path, axes)?,
            _ if path.len() > 1 && k == "optimizer" => {}
            _ => {
                let (vals, swept) = values(v).map_err(|msg| (path.join("."), msg))?;
                axes.push((path.clone(), vals, swept));
            }
        }
        path.pop();
    }
    Ok(())
}

/// Sets the field at `path` (a wrapped optimizer's below its key) to `value`.
fn set_path(m: &mut Map<String, Value>, path: &[String], value: Value) {
    match path {
        [] => {}
        [last] => {
            m.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            if let Some(Value::Object(inner)) = m.get_mut(first) {
                set_path(inner, rest, value);
            }
        }
    }
}

fn parse_tune(v: &Value) -> std::result::Result<Tune, FieldError> {
    let Value::Object(m) = v else {
        return Err((String::new(), format!("expected {{\"objective\": NAME}}, got {v}")));
    };
    if let Some(k) = m.keys().find(|k| *k != "objective" && *k != "start") {
        return Err((format!(".{k}"), "unknown field; tune takes: objective, start".into()));
    }
    let objective = match m.get("objective") {
        None => Objective::MedianFinalLoss,
        Some(Value::String(s)) => Objective::from_name(s).ok_or_else(|| {
            (
                ".objective".to_string(),
                format!(
                    "unknown objective {s:?}; expected one of: {}",
                    Objective::NAMES.join(", ")
                ),
            )
        })?,
        Some(other) => return Err((".objective".into(), format!("expected a string, got {other}"))),
    };
    let start = match m.get("start") {
        None => None,
        Some(p) => Some(parse_point(p).map_err(|msg| (".start".to_string(), msg))?),
    };
    Ok(Tune { objective, start })
}
