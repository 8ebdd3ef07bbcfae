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

pub(crate) mod run;
pub(crate) mod summary;

pub use self::{run::Outcome, summary::Summary};
pub(crate) use super::file::Objective;
use super::file::{self, Starts, StudyFile, TuneSpec};
use super::{Start, SurfaceSpec, resolve_surface};
use crate::error::{Error, FieldContext, FieldError, Parsed, Result};
use crate::optim::OptimizerSpec;
use crate::registry::Registry;
use crate::surface::{Domain, NoiseSpec, Surface};
use burn::tensor::Device;
use serde::{Serialize, Serializer};
use serde_json::Value;
use std::fmt;
use std::path::{Path, PathBuf};

/// One configuration of a study: an optimizer with every hyperparameter set.
#[derive(Clone, Debug)]
pub struct Configuration {
    /// The entry's `label` (its optimizer's name by default): configurations are grouped by it
    /// when tuning, plotting and comparing, so `{"label": "NAG", "optimizer": "sgd", ...}` and
    /// plain SGD are tuned apart.
    pub label: String,
    /// The optimizer, every hyperparameter set.
    pub optimizer: OptimizerSpec,
    /// The swept hyperparameters' values (those given as lists or ranges), in file order.
    pub swept: Swept,
    /// The minibatch size of its runs on a data surface (`batch_size`, sweepable like a
    /// hyperparameter; the surface's own by default).
    pub batch_size: Option<usize>,
}

/// True for the name of a swept learning rate: `learning_rate`, a cap such as Polyak SGD's
/// `max_learning_rate`, or a wrapped optimizer's (`fast.learning_rate`, `outer.learning_rate`).
pub(crate) fn is_rate(key: &str) -> bool {
    key.rsplit('.')
        .next()
        .is_some_and(|name| name.ends_with("learning_rate"))
}

impl Configuration {
    /// The swept learning rate (the entry's own, else a wrapped optimizer's), when one is swept.
    pub fn swept_rate(&self) -> Option<f64> {
        let own = self.swept.get("learning_rate");
        own.or_else(|| self.swept.iter().find(|(k, _)| is_rate(k)).map(|(_, v)| v))
            .and_then(SweptValue::as_f64)
    }
}

/// The values a configuration takes on a study's swept axes, by path (`learning_rate`,
/// `fast.learning_rate`), in file order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Swept(pub(crate) Vec<(String, SweptValue)>);

impl Swept {
    /// The value on axis `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&SweptValue> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Every axis and value, in file order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &SweptValue)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The axes.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }

    /// How many axes.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
}

impl Serialize for Swept {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

/// A swept value as the study file gave it (a whole number stays whole: `sync_period=5`).
#[derive(Clone, Debug, PartialEq)]
pub enum SweptValue {
    /// A whole number.
    Int(i64),
    /// Any other number.
    Float(f64),
    /// A flag.
    Bool(bool),
    /// A string (a variant's name).
    Text(String),
    /// Anything else (a schedule, an optimizer object), as compact JSON.
    Json(String),
}

impl SweptValue {
    pub(crate) fn of(v: &Value) -> Self {
        match v {
            Value::Number(n) if n.is_i64() => SweptValue::Int(n.as_i64().unwrap_or_default()),
            Value::Number(n) => SweptValue::Float(n.as_f64().unwrap_or(f64::NAN)),
            Value::Bool(b) => SweptValue::Bool(*b),
            Value::String(s) => SweptValue::Text(s.clone()),
            other => SweptValue::Json(other.to_string()),
        }
    }

    /// The number, if it is one.
    pub(crate) fn as_f64(&self) -> Option<f64> {
        match self {
            SweptValue::Int(i) => Some(*i as f64),
            SweptValue::Float(f) => Some(*f),
            _ => None,
        }
    }
}

/// As JSON writes it (`0.001`, `5`, `true`, `"sps"`).
impl fmt::Display for SweptValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SweptValue::Int(i) => write!(f, "{i}"),
            SweptValue::Float(x) => write!(f, "{}", Value::from(*x)),
            SweptValue::Bool(b) => write!(f, "{b}"),
            SweptValue::Text(t) => write!(f, "{}", Value::from(t.as_str())),
            SweptValue::Json(j) => write!(f, "{j}"),
        }
    }
}

impl Serialize for SweptValue {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            SweptValue::Int(i) => s.serialize_i64(*i),
            SweptValue::Float(x) => s.serialize_f64(*x),
            SweptValue::Bool(b) => s.serialize_bool(*b),
            SweptValue::Text(t) => s.serialize_str(t),
            SweptValue::Json(j) => serde_json::from_str::<Value>(j)
                .map_err(serde::ser::Error::custom)?
                .serialize(s),
        }
    }
}

/// A study's optimizer entry, expanded: its label and every configuration of its lists and
/// ranges.
#[derive(Clone, Debug)]
pub struct StudyEntry {
    /// The entry's label (its optimizer's name by default).
    pub label: String,
    /// The Cartesian product of its lists, the last list varying fastest.
    pub configs: Vec<Configuration>,
}

/// The `tune` object: pick the best configuration per optimizer and run them as an experiment.
#[derive(Clone, Debug, PartialEq)]
pub struct Tune {
    /// What "best" means.
    pub objective: Objective,
    /// Where the tuned comparison starts (by default the median start, see `Study::median_start`).
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
    pub domain: Option<Domain>,
    /// The noise draw and lookup.
    pub noise: NoiseSpec,
    /// Steps per run.
    pub steps: usize,
    /// Starts, in order (a grid's x index first): points of a surface, or a model's initial
    /// weights.
    pub starts: Vec<Start>,
    /// A model study without `starts`: each run's initial weights are drawn from its own seed
    /// (`starts` then holds the first seed's, once).
    pub init_from_seed: bool,
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
    /// The file's own text (shards carry it, so merging needs nothing else).
    pub text: String,
    /// The file it was read from.
    pub source: PathBuf,
}

/// The largest number of runs a study may have.
pub(crate) const MAX_RUNS: u64 = file::MAX_RUNS;
/// The largest number of configurations a study may have: each is held with its summary (about
/// 2.6 KB with `study.json`'s text), so 100,000 take about 260 MB. An entry's product of lists
/// is checked against what is left of it before any configuration is made.
pub(crate) const MAX_CONFIGS: usize = 100_000;

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
    pub fn parse(text: &str, path: &Path, registry: &Registry, device: &Device) -> Result<Study> {
        let file = OptimizerSpec::reading(registry.optimizers(), || file::read::<StudyFile>(text, path))?;
        let mut study = Self::from_file(file, path, registry, device)?;
        study.text = text.to_string();
        Ok(study)
    }

    /// Checks a study file's contents, read from `path`.
    pub(crate) fn from_file(file: StudyFile, path: &Path, registry: &Registry, device: &Device) -> Result<Study> {
        let configs = file.optimizers.0.iter().map(|e| e.configs.len() as u64).sum();
        check_size(
            configs,
            file.starts.as_ref().map_or(1, Starts::count),
            file.seeds.0.len() as u64,
        )
        .in_file(path)?;
        let domain = file.domain.map(|d| d.domain());
        let surface = resolve_surface(&file.surface, domain, path, registry, device)?;
        let seeds = file.seeds.0;
        let base = path.parent().unwrap_or(Path::new(""));
        let init_from_seed = file.starts.is_none() && surface.model().is_some();
        let (starts, grid) = match &file.starts {
            _ if init_from_seed => (vec![Start::Seed(seeds[0])], None),
            None => {
                return Err(Error::input(
                    path,
                    "starts",
                    "missing; give {\"grid\": [nx, ny]}, {\"random\": n, \"seed\": s} or a list of points",
                ));
            }
            Some(Starts::List(list)) => {
                let starts = list
                    .iter()
                    .enumerate()
                    .map(|(i, spec)| Start::resolve(Some(spec), &surface, base).map_err(|e| e.index(i)))
                    .collect::<crate::error::Parsed<Vec<Start>>>()
                    .map_err(|e| e.at("starts").in_file(path))?;
                (starts, None)
            }
            Some(_) if surface.model().is_some() => {
                return Err(Error::input(
                    path,
                    "starts",
                    "a model's starts are initial weights: a list of {\"seed\": k} or {\"file\": \"init.json\"}, or none (each run's weights from its own seed)",
                ));
            }
            Some(Starts::Grid(g)) => (
                grid_points(*g, surface.domain).into_iter().map(Start::Point).collect(),
                Some(*g),
            ),
            Some(Starts::Random { random, seed }) => {
                let points = random_points(*random, *seed, surface.domain);
                (points.into_iter().map(Start::Point).collect(), None)
            }
        };
        if surface.data.is_none() {
            for (i, entry) in file.optimizers.0.iter().enumerate() {
                if let Some(b) = entry.configs.iter().find_map(|c| c.batch_size) {
                    return Err(FieldError::new(format!(
                        "a batch size ({b}) needs a data surface ({{\"model\": ..., \"data\": ...}}); this surface has no data"
                    ))
                    .at("batch_size")
                    .index(i)
                    .at("optimizers")
                    .in_file(path));
                }
            }
        }
        for (i, entry) in file.optimizers.0.iter().enumerate() {
            if let Some(c) = entry.configs.first() {
                c.optimizer
                    .check_parameters(surface.parameters())
                    .map_err(|e| e.index(i).at("optimizers").in_file(path))?;
            }
        }
        let configs: Vec<Configuration> = file.optimizers.0.into_iter().flat_map(|e| e.configs).collect();
        Ok(Study {
            name: file.name.as_str().to_string(),
            title: file.title,
            surface,
            surface_spec: file.surface,
            domain,
            noise: file.noise,
            steps: file.steps.0,
            starts,
            init_from_seed,
            grid,
            seeds,
            sigma: file.gradient_noise.map_or(0.0, |g| g.sigma),
            configs,
            threshold: file.threshold.0,
            tune: file.tune.map(|TuneSpec { objective, start }| Tune {
                objective,
                start: start.map(|p| p.0),
            }),
            text: String::new(),
            source: path.to_path_buf(),
        })
    }
}

/// Cell centres of an `[nx, ny]` grid over the domain, x index first.
fn grid_points([nx, ny]: [usize; 2], d: Domain) -> Vec<[f64; 2]> {
    let centre = |k: usize, n: usize, [lo, hi]: [f64; 2]| lo + (k as f64 + 0.5) * (hi - lo) / n as f64;
    (0..nx)
        .flat_map(|i| (0..ny).map(move |j| (i, j)))
        .map(|(i, j)| [centre(i, nx, d.x), centre(j, ny, d.y)])
        .collect()
}

/// `n` points uniform over the domain, drawn from `seed`.
fn random_points(n: usize, seed: u64, d: Domain) -> Vec<[f64; 2]> {
    let mut bits = crate::random::SplitMix64::new(seed);
    (0..n)
        .map(|_| {
            let x = d.x[0] + (d.x[1] - d.x[0]) * bits.uniform();
            [x, d.y[0] + (d.y[1] - d.y[0]) * bits.uniform()]
        })
        .collect()
}

/// Checks a study's size from its counts, before any start or outcome is made: at most
/// [`MAX_RUNS`] runs, or an error naming the factor that is largest (`starts`, `optimizers` or
/// `seeds`) with the limit and its reason.
fn check_size(configs: u64, starts: u64, seeds: u64) -> Parsed<()> {
    let runs = configs as u128 * starts as u128 * seeds as u128;
    if runs <= MAX_RUNS as u128 {
        return Ok(());
    }
    let plural = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let (field, fewer) = if starts >= configs && starts >= seeds {
        ("starts", "use fewer starts")
    } else if configs >= seeds {
        ("optimizers", "sweep fewer configurations")
    } else {
        ("seeds", "use fewer seeds")
    };
    Err(FieldError::new(format!(
        "a study keeps every run's outcome in memory (for exact medians and its figures): at most {MAX_RUNS} runs; this one has {runs} ({} x {} x {}); {fewer}, or split it into several studies",
        plural(configs, "configuration", "configurations"),
        plural(starts, "start", "starts"),
        plural(seeds, "seed", "seeds"),
    ))
    .at(field))
}
