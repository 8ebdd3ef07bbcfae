//! Experiments are data: a JSON file names a surface, a start, a step count and the runs to
//! compare. This module reads and checks them; [`runner`] steps them; [`trajectory`] is what a
//! run produces.
//!
//! ```json
//! {"name": "f0-sgd-lrs", "title": "SGD over f0", "surface": "f0",
//!  "noise": {"seed": 0, "lookup": "nearest"}, "start": [9.0, 9.0], "steps": 100,
//!  "runs": [{"label": "SGD lr: 0.1", "optimizer": "sgd", "learning_rate": 0.1},
//!           {"label": "NAG lr: 10", "optimizer": "sgd", "learning_rate": 10.0,
//!            "momentum": 0.9, "nesterov": true, "start": [9, 9]}]}
//! ```

pub mod plot_spec;
pub mod runner;
pub mod study;
pub mod surface;
pub mod trajectory;
pub mod vectors;

use crate::error::{Error, Result};
use crate::optim;
use crate::registry::Registry;
use crate::surface::{Domain, NoiseSpec, Surface};
pub use plot_spec::PlotSpec;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
pub use surface::SurfaceSpec;
use surface::{parse_domain, parse_point};
use vectors::Vectors;

/// What an experiment file describes: runs over a surface, or the post's AdaGrad vectors
/// (`"kind": "adagrad_vectors"`).
#[derive(Clone, Debug)]
pub enum Job {
    /// Optimizer runs over a surface.
    Runs(Box<Experiment>),
    /// AdaGrad's update directions for random gradients.
    Vectors(Vectors),
    /// Many runs summarised (`"kind": "study"`).
    Study(Box<study::Study>),
}

impl Job {
    /// Reads and checks an experiment file of either kind; `registry` says which surfaces and
    /// optimizers it may name.
    pub fn load(path: &Path, registry: &Registry) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "read the experiment file", e))?;
        let kind = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v.get("kind").cloned());
        match kind {
            None => Experiment::parse(&text, path, registry).map(|e| Job::Runs(Box::new(e))),
            Some(Value::String(k)) if k == "adagrad_vectors" => Vectors::parse(&text, path).map(Job::Vectors),
            Some(Value::String(k)) if k == "study" => {
                study::Study::parse(&text, path, registry).map(|s| Job::Study(Box::new(s)))
            }
            Some(other) => Err(Error::input(
                path,
                "kind",
                format!("unknown kind {other}; expected \"study\", \"adagrad_vectors\" or no kind (optimizer runs)"),
            )),
        }
    }

    /// The experiment's name.
    pub fn name(&self) -> &str {
        match self {
            Job::Runs(e) => &e.name,
            Job::Vectors(v) => &v.name,
            Job::Study(s) => &s.name,
        }
    }

    /// The file it was read from.
    pub fn source(&self) -> &Path {
        match self {
            Job::Runs(e) => &e.source,
            Job::Vectors(v) => &v.source,
            Job::Study(s) => &s.source,
        }
    }

    /// Where its results go under `results` (see [`mirror`]).
    pub fn output_dir(&self, results: &Path) -> PathBuf {
        mirror(self.source().parent().unwrap_or(Path::new("")), results).join(self.name())
    }
}

/// Checks an experiment name: `[a-z0-9_-]+`.
pub fn check_name(name: &str) -> std::result::Result<(), String> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a valid name: expected lower-case letters, digits, '-' or '_' ([a-z0-9_-]+)"
        ))
    }
}

/// A checked experiment, ready to run.
#[derive(Clone, Debug)]
pub struct Experiment {
    /// Name (`[a-z0-9_-]+`); names its output folder.
    pub name: String,
    /// Optional human title.
    pub title: Option<String>,
    /// The surface, over the experiment's domain.
    pub surface: Surface,
    /// The surface as the file names it (recorded in trajectories).
    pub surface_spec: SurfaceSpec,
    /// The file's `domain`, when it overrides the surface's own.
    pub domain: Option<Domain>,
    /// The noise draw and lookup.
    pub noise: NoiseSpec,
    /// Number of optimizer steps.
    pub steps: usize,
    /// The runs, in file order (none for a figure of the surface alone).
    pub runs: Vec<RunSpec>,
    /// The optimizers known where the file was read (wrappers such as Lookahead name others).
    pub optimizers: Vec<optim::Entry>,
    /// Figure settings.
    pub plot: PlotSpec,
    /// The file it was read from.
    pub source: PathBuf,
}

/// One run of an experiment: an optimizer with its hyperparameters from a start point.
#[derive(Clone, Debug)]
pub struct RunSpec {
    /// Label in legends and reports (unique within the experiment).
    pub label: String,
    /// The optimizer.
    pub optimizer: optim::Entry,
    /// Every hyperparameter, defaults filled in.
    pub hyperparameters: Map<String, Value>,
    /// Start point.
    pub start: [f64; 2],
    /// Seed of its minibatch order and gradient noise (the experiment's unless it sets one).
    pub seed: u64,
    /// Standard deviation of its additive gradient noise (0: none).
    pub sigma: f64,
    /// Its minibatch size on a data surface, when it sets its own.
    pub batch_size: Option<usize>,
}

/// The file's shape, before checking.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExperimentFile {
    name: String,
    #[serde(default)]
    title: Option<String>,
    surface: Value,
    #[serde(default)]
    domain: Option<Value>,
    #[serde(default)]
    noise: NoiseSpec,
    #[serde(default)]
    seed: Option<Value>,
    #[serde(default)]
    gradient_noise: Option<Value>,
    #[serde(default)]
    start: Option<Value>,
    steps: Value,
    runs: Vec<Map<String, Value>>,
    #[serde(default)]
    plot: PlotSpec,
}

impl Experiment {
    /// Reads and checks an experiment file.
    pub fn load(path: &Path, registry: &Registry) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "read the experiment file", e))?;
        Self::parse(&text, path, registry)
    }

    /// Parses and checks experiment JSON; `path` is used in error messages.
    pub fn parse(text: &str, path: &Path, registry: &Registry) -> Result<Self> {
        let mut de = serde_json::Deserializer::from_str(text);
        let file: ExperimentFile = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let field = e.path().to_string();
            let inner = e.into_inner();
            let field = if field == "." { String::new() } else { field };
            if inner.is_syntax() || inner.is_eof() {
                Error::input(path, "", format!("invalid JSON: {inner}"))
            } else {
                Error::input(path, field, inner.to_string())
            }
        })?;
        let err = |field: &str, message: String| Error::input(path, field, message);

        check_name(&file.name).map_err(|m| err("name", m))?;
        let surface_spec = SurfaceSpec::from_value(file.surface).map_err(|m| err("surface", m))?;
        let mut surface = surface_spec.resolve_in(registry, path)?;
        let domain = match &file.domain {
            Some(d) => Some(parse_domain(d).map_err(|m| err("domain", m))?),
            None => None,
        };
        if let Some(d) = domain {
            surface.domain = d;
        }
        let steps = match file.steps.as_u64() {
            Some(s) if s > 0 && s <= 1_000_000 => s as usize,
            _ => {
                return Err(err(
                    "steps",
                    format!(
                        "expected a positive whole number of steps (at most 1000000), got {}",
                        file.steps
                    ),
                ));
            }
        };
        let start = match &file.start {
            Some(v) => Some(parse_point(v).map_err(|m| err("start", m))?),
            None => None,
        };
        let seed = match &file.seed {
            Some(v) => parse_seed(v).map_err(|m| err("seed", m))?,
            None => 0,
        };
        let sigma = match &file.gradient_noise {
            Some(v) => parse_gradient_noise(v).map_err(|(f, m)| err(&format!("gradient_noise{f}"), m))?,
            None => 0.0,
        };
        let mut runs = Vec::with_capacity(file.runs.len());
        let mut labels = BTreeMap::new();
        for (i, run) in file.runs.into_iter().enumerate() {
            let run = parse_run(run, (start, seed, sigma), registry).map_err(|(field, message)| {
                let at = if field.is_empty() {
                    format!("runs[{i}]")
                } else {
                    format!("runs[{i}].{field}")
                };
                err(&at, message)
            })?;
            if let Some(first) = labels.insert(run.label.clone(), i) {
                return Err(err(
                    &format!("runs[{i}].label"),
                    format!(
                        "label {:?} is already used by runs[{first}]; labels must be unique (give the runs distinct \"label\"s)",
                        run.label
                    ),
                ));
            }
            runs.push(run);
        }
        if surface.data.is_none()
            && let Some(i) = runs.iter().position(|r| r.batch_size.is_some())
        {
            return Err(err(
                &format!("runs[{i}].batch_size"),
                "a batch size needs a data surface ({\"model\": ..., \"data\": ...}); this surface has no data".into(),
            ));
        }
        file.plot
            .validate()
            .map_err(|(field, message)| err(&format!("plot.{field}"), message))?;
        Ok(Experiment {
            name: file.name,
            title: file.title,
            surface,
            surface_spec,
            domain,
            optimizers: registry.optimizers().to_vec(),
            noise: file.noise,
            steps,
            runs,
            plot: file.plot,
            source: path.to_path_buf(),
        })
    }
}

/// A seed: a whole number from 0 to 2^64 - 1.
pub(crate) fn parse_seed(v: &Value) -> std::result::Result<u64, String> {
    v.as_u64()
        .ok_or_else(|| format!("expected a whole number >= 0, got {v}"))
}

/// A minibatch size: a whole number >= 1.
pub(crate) fn parse_batch_size(v: &Value) -> std::result::Result<usize, String> {
    match v.as_u64() {
        Some(b) if b >= 1 => Ok(b as usize),
        _ => Err(format!("expected a whole number >= 1, got {v}")),
    }
}

/// `{"sigma": s}` with `s >= 0`: the standard deviation of additive gradient noise. Errors
/// name the field below `gradient_noise` (`.sigma`).
pub(crate) fn parse_gradient_noise(v: &Value) -> std::result::Result<f64, (String, String)> {
    let Value::Object(m) = v else {
        return Err((String::new(), format!("expected {{\"sigma\": NUMBER}}, got {v}")));
    };
    if let Some(k) = m.keys().find(|k| *k != "sigma") {
        return Err((format!(".{k}"), "unknown field; gradient_noise takes: sigma".into()));
    }
    match m.get("sigma").map(|s| (s, s.as_f64())) {
        Some((_, Some(s))) if s.is_finite() && s >= 0.0 => Ok(s),
        Some((s, _)) => Err((".sigma".into(), format!("expected a finite number >= 0, got {s}"))),
        None => Err((".sigma".into(), "missing; gradient_noise needs sigma".into())),
    }
}

/// The label of a run that gives none: its optimizer and the settings it states, in file order
/// (`"adam lr=0.1 beta_1=0.8"`; a schedule or a wrapped optimizer by its class or name).
fn default_label(run: &Map<String, Value>) -> String {
    let mut label = match run.get("optimizer") {
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    };
    for (key, value) in run.iter().filter(|(k, _)| *k != "optimizer") {
        let key = if key == "learning_rate" { "lr" } else { key.as_str() };
        let value = match value {
            Value::String(s) => s.clone(),
            Value::Object(m) => match m.get("schedule").or_else(|| m.get("optimizer")) {
                Some(Value::String(s)) => s.clone(),
                _ => value.to_string(),
            },
            other => other.to_string(),
        };
        label.push_str(&format!(" {key}={value}"));
    }
    label
}

fn parse_run(
    mut run: Map<String, Value>,
    (default_start, default_seed, default_sigma): (Option<[f64; 2]>, u64, f64),
    registry: &Registry,
) -> std::result::Result<RunSpec, (String, String)> {
    let label = match run.remove("label") {
        Some(Value::String(s)) if !s.is_empty() => s,
        Some(other) => return Err(("label".into(), format!("expected a non-empty string, got {other}"))),
        None => default_label(&run),
    };
    let name = match run.remove("optimizer") {
        Some(Value::String(s)) => s,
        Some(other) => return Err(("optimizer".into(), format!("expected a string, got {other}"))),
        None => return Err(("optimizer".into(), "missing; every run needs an optimizer".into())),
    };
    let optimizer = *registry
        .require_optimizer(&name)
        .map_err(|m| ("optimizer".to_string(), m))?;
    let start = match run.remove("start") {
        Some(v) => parse_point(&v).map_err(|m| ("start".to_string(), m))?,
        None => default_start.ok_or_else(|| {
            (
                "start".to_string(),
                "missing; give the run a \"start\": [x, y], or the experiment one for all its runs".to_string(),
            )
        })?,
    };
    let seed = match run.remove("seed") {
        Some(v) => parse_seed(&v).map_err(|m| ("seed".to_string(), m))?,
        None => default_seed,
    };
    let sigma = match run.remove("gradient_noise") {
        Some(v) => parse_gradient_noise(&v).map_err(|(f, m)| (format!("gradient_noise{f}"), m))?,
        None => default_sigma,
    };
    let batch_size = match run.remove("batch_size") {
        Some(v) => Some(parse_batch_size(&v).map_err(|m| ("batch_size".to_string(), m))?),
        None => None,
    };
    let hyperparameters = optimizer.parse_in(registry.optimizers(), run)?;
    Ok(RunSpec {
        label,
        optimizer,
        hyperparameters,
        start,
        seed,
        sigma,
        batch_size,
    })
}

impl Experiment {
    /// True when its runs depend on their seeds: minibatches are drawn, or gradients get noise.
    pub fn is_stochastic(&self) -> bool {
        let minibatches = self
            .surface
            .data
            .as_ref()
            .is_some_and(|d| d.batching.batch_size.is_some_and(|b| b < d.data.u.len()));
        let own = self.runs.iter().any(|r| r.batch_size.is_some());
        minibatches || own || self.runs.iter().any(|r| r.sigma > 0.0)
    }
}

/// The results folder that mirrors an experiments folder: `experiments/<sub>` maps to
/// `<results>/<sub>`; a folder outside `experiments` maps to `<results>`.
pub fn mirror(folder: &Path, results: &Path) -> PathBuf {
    let mut sub = PathBuf::new();
    let mut found = false;
    for part in folder.components() {
        if found {
            sub.push(part);
        } else if part.as_os_str() == "experiments" {
            found = true;
        }
    }
    results.join(sub)
}

/// Every experiment file named by `paths`: files as given, folders searched recursively for
/// `*.json`, in sorted order.
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            walk(path, &mut files)?;
        } else if path.exists() {
            files.push(path.clone());
        } else {
            return Err(Error::input(
                path,
                "",
                "no such file or folder; expected an experiment .json file or a folder of them",
            ));
        }
    }
    Ok(files)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, "list the folder", e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, files)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            files.push(path);
        }
    }
    Ok(())
}

/// Loads every experiment under `paths` and checks that no two share an output folder; returns
/// each with its output folder under `results`.
pub fn load_all(paths: &[PathBuf], results: &Path, registry: &Registry) -> Result<Vec<(Job, PathBuf)>> {
    let files = collect_files(paths)?;
    if files.is_empty() {
        let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(Error::input(shown.join(" "), "", "no experiment files (*.json) found"));
    }
    let mut seen: BTreeMap<PathBuf, PathBuf> = BTreeMap::new();
    let mut out = Vec::with_capacity(files.len());
    for file in files {
        let job = Job::load(&file, registry)?;
        let dir = job.output_dir(results);
        if let Some(other) = seen.insert(dir.clone(), file.clone()) {
            return Err(Error::input(
                &file,
                "name",
                format!(
                    "writes to {} like {}; give one of them another name",
                    dir.display(),
                    other.display()
                ),
            ));
        }
        out.push((job, dir));
    }
    Ok(out)
}
