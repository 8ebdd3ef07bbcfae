//! Experiments are data: a JSON file names a surface, a start, a step count and the runs to
//! compare ([`file`] reads it into types); this module resolves it against a [`Registry`]
//! into an [`Experiment`] or a [`study::Study`], and [`runner`] steps it.
//!
//! ```json
//! {"name": "f0-sgd-lrs", "title": "SGD over f0", "surface": "f0",
//!  "noise": {"seed": 0, "lookup": "nearest"}, "start": [9.0, 9.0], "steps": 100,
//!  "runs": [{"label": "SGD lr: 0.1", "optimizer": "sgd", "learning_rate": 0.1},
//!           {"label": "NAG lr: 10", "optimizer": "sgd", "learning_rate": 10.0,
//!            "momentum": 0.9, "nesterov": true, "start": [9, 9]}]}
//! ```

pub(crate) mod file;
pub(crate) mod fused;
pub(crate) mod landscape;
pub(crate) mod model_spec;
pub(crate) mod plot_spec;
pub mod runner;
pub mod study;
pub(crate) mod surface;
pub(crate) mod tiles;
pub(crate) mod vectors;

pub use self::{
    file::{ExperimentFile, Objective, RunFile, StudyFile},
    plot_spec::{PlotSpec, Shown, View, YLim},
    surface::{ExprSpec, ModelSpec, SurfaceSpec},
    vectors::{Vectors, VectorsResult},
};
use crate::error::{Error, FieldContext, FieldError, Result};
use crate::optim::OptimizerSpec;
use crate::registry::Registry;
use crate::surface::{Domain, NoiseSpec, Surface};
use burn::tensor::Device;
use file::StartSpec;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What an experiment file describes: runs over a surface, a study of many runs, or the post's
/// AdaGrad vectors (`"kind": "adagrad_vectors"`).
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
    /// Reads and checks an experiment file of any kind; `registry` says which surfaces and
    /// optimizers it may name, `device` evaluates what resolving the surface needs.
    pub fn load(path: &Path, registry: &Registry, device: &Device) -> Result<Self> {
        let text = crate::io::read_input(path, crate::io::Input::EXPERIMENT)?;
        Self::parse(&text, path, registry, device)
    }

    /// Parses and checks an experiment file's text; `path` names it in errors and locates its
    /// data files.
    pub fn parse(text: &str, path: &Path, registry: &Registry, device: &Device) -> Result<Self> {
        let kind = file::read::<file::KindOnly>(text, path).map(|k| k.kind).unwrap_or(None);
        match kind {
            None => Experiment::parse(text, path, registry, device).map(|e| Job::Runs(Box::new(e))),
            Some(Value::String(k)) if k == "adagrad_vectors" => Vectors::parse(text, path).map(Job::Vectors),
            Some(Value::String(k)) if k == "study" => {
                study::Study::parse(text, path, registry, device).map(|s| Job::Study(Box::new(s)))
            }
            Some(other) => Err(Error::input(
                path,
                "kind",
                format!("unknown kind {other}; expected \"study\", \"adagrad_vectors\" or no kind (optimizer runs)"),
            )),
        }
    }

    /// The experiment's name.
    pub(crate) fn name(&self) -> &str {
        match self {
            Job::Runs(e) => &e.name,
            Job::Vectors(v) => v.name.as_str(),
            Job::Study(s) => &s.name,
        }
    }

    /// The file it was read from.
    pub(crate) fn source(&self) -> &Path {
        match self {
            Job::Runs(e) => &e.source,
            Job::Vectors(v) => &v.source,
            Job::Study(s) => &s.source,
        }
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
    /// Figure settings.
    pub plot: PlotSpec,
    /// The landscapes evaluated after the runs (a model's).
    pub(crate) landscapes: Vec<landscape::LandscapeSpec>,
    /// The file it was read from.
    pub source: PathBuf,
    /// The file's text (a shard of its landscape planes carries it to `merge`).
    pub(crate) text: String,
}

/// One run of an experiment: an optimizer with its hyperparameters from a start.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSpec {
    /// Label in legends and reports (unique within the experiment).
    pub label: String,
    /// The optimizer, every hyperparameter set.
    pub optimizer: OptimizerSpec,
    /// Where it starts.
    pub start: Start,
    /// Seed of its minibatch order and gradient noise (the experiment's unless it sets one).
    pub seed: u64,
    /// Standard deviation of its additive gradient noise (0: none).
    pub sigma: f64,
    /// Its minibatch size on a data surface, when it sets its own.
    pub batch_size: Option<usize>,
}

/// Where a run starts: a point of a surface, or a model's initial weights.
#[derive(Clone, Debug, PartialEq)]
pub enum Start {
    /// A point `[x, y]` of a surface (or `[w, b]` of a regression).
    Point([f64; 2]),
    /// A model's initial weights drawn from a seed (Keras's default initializers, see
    /// [`ModelLoss::init`](crate::surface::ModelLoss::init)).
    Seed(u64),
    /// A model's initial weights read from a file in Keras's layout.
    Weights {
        /// The file, as the experiment wrote it.
        file: String,
        /// The weights, in the model's parameter order.
        values: Arc<Vec<f32>>,
    },
}

impl Start {
    /// The start as an experiment file writes it.
    pub(crate) fn spec(&self) -> StartSpec {
        match self {
            Start::Point(p) => StartSpec::Point(file::Point(*p)),
            Start::Seed(k) => StartSpec::Seed { seed: file::Seed(*k) },
            Start::Weights { file, .. } => StartSpec::File { file: file.clone() },
        }
    }

    /// The point of a surface run (`None` for a model's weights).
    pub fn point(&self) -> Option<[f64; 2]> {
        match self {
            Start::Point(p) => Some(*p),
            _ => None,
        }
    }

    /// The parameter vector it starts from over `surface`.
    pub(crate) fn values(&self, surface: &Surface) -> Vec<f32> {
        match (self, &surface.data) {
            (Start::Point(p), _) => p.map(|v| v as f32).to_vec(),
            (Start::Seed(k), Some(data)) => data.model.loss_fn().init(*k),
            // A surface has no initial weights to draw: Keras's initializers give a bias's zeros.
            (Start::Seed(_), None) => vec![0.0; 2],
            (Start::Weights { values, .. }, _) => values.to_vec(),
        }
    }

    /// `spec`, the start a file gives, resolved over `surface`: a point for a surface, initial
    /// weights for a model of `P > 2` parameters (`{"seed": 0}` when none is given). `base` is
    /// the experiment file's folder (init files are relative to it).
    pub(crate) fn resolve(spec: Option<&StartSpec>, surface: &Surface, base: &Path) -> crate::error::Parsed<Start> {
        let model = surface.model();
        match (spec, model) {
            (Some(StartSpec::Point(p)), None) => Ok(Start::Point(p.0)),
            (None, None) => Err(FieldError::new(
                "missing; give the run a \"start\": [x, y], or the experiment one for all its runs",
            )),
            (Some(_), None) => Err(FieldError::new(
                "a surface's runs start at a point [x, y]; {\"seed\": k} and {\"file\": ...} give a model's initial weights",
            )),
            (None, Some(_)) => Ok(Start::Seed(0)),
            (Some(StartSpec::Point(_)), Some(m)) => Err(FieldError::new(format!(
                "a model of {} parameters starts from initial weights: {{\"seed\": k}} (Keras's initializers) or {{\"file\": \"init.json\"}}, not a point",
                m.layout().len()
            ))),
            (Some(StartSpec::Seed { seed }), Some(_)) => Ok(Start::Seed(seed.0)),
            (Some(StartSpec::File { file }), Some(m)) => Ok(Start::Weights {
                file: file.clone(),
                values: Arc::new(model_spec::load_init(file, base, m.layout())?),
            }),
        }
    }
}

/// The surface a file names, over its domain: resolved from `registry`, with data files beside
/// the file at `path`; errors name `surface` (or `domain`) in that file.
pub(crate) fn resolve_surface(
    spec: &SurfaceSpec,
    domain: Option<Domain>,
    path: &Path,
    registry: &Registry,
    device: &Device,
) -> Result<Surface> {
    let base = path.parent().unwrap_or(Path::new(""));
    let mut surface = spec.resolve(registry, base, device).at("surface").in_file(path)?;
    if let Some(d) = domain {
        surface.domain = d;
    }
    Ok(surface)
}

impl Experiment {
    /// Reads and checks an experiment file.
    pub fn load(path: &Path, registry: &Registry, device: &Device) -> Result<Self> {
        let text = crate::io::read_input(path, crate::io::Input::EXPERIMENT)?;
        Self::parse(&text, path, registry, device)
    }

    /// Parses and checks experiment JSON; `path` names it in errors and locates its data files.
    pub fn parse(text: &str, path: &Path, registry: &Registry, device: &Device) -> Result<Self> {
        let file = OptimizerSpec::reading(registry.optimizers(), || file::read::<ExperimentFile>(text, path))?;
        let mut experiment = Self::from_file(file, path, registry, device)?;
        experiment.text = text.to_string();
        Ok(experiment)
    }

    /// Checks an experiment file's contents, read from (or to be written to) `path`: resolves
    /// its surface, fills in each run's start, seed and gradient noise, and checks what only
    /// the whole can tell (unique labels, batch sizes on data surfaces).
    pub fn from_file(file: ExperimentFile, path: &Path, registry: &Registry, device: &Device) -> Result<Self> {
        let text = file.to_text();
        let domain = file.domain.map(|d| d.domain());
        let surface = resolve_surface(&file.surface, domain, path, registry, device)?;
        let base = path.parent().unwrap_or(Path::new(""));
        let seed = file.seed.map_or(0, |s| s.0);
        let sigma = file.gradient_noise.map_or(0.0, |g| g.sigma);
        let mut runs = Vec::with_capacity(file.runs.len());
        let mut labels = BTreeMap::new();
        let parameters = surface.parameters();
        for (i, run) in file.runs.into_iter().enumerate() {
            let at = |e: FieldError| e.index(i).at("runs").in_file(path);
            run.optimizer.check_parameters(parameters).map_err(at)?;
            let start = match &run.start {
                Some(own) => Start::resolve(Some(own), &surface, base).map_err(|e| at(e.at("start")))?,
                None => Start::resolve(file.start.as_ref(), &surface, base).map_err(|e| match file.start {
                    Some(_) => e.at("start").in_file(path),
                    None => at(e.at("start")),
                })?,
            };
            if let Some(first) = labels.insert(run.label.clone(), i) {
                return Err(at(FieldError::new(format!(
                    "label {:?} is already used by runs[{first}]; labels must be unique (give the runs distinct \"label\"s)",
                    run.label
                ))
                .at("label")));
            }
            if surface.data.is_none()
                && let Some(b) = run.batch_size
            {
                return Err(at(FieldError::new(format!(
                    "a batch size ({}) needs a data surface ({{\"model\": ..., \"data\": ...}}); this surface has no data",
                    b.0
                ))
                .at("batch_size")));
            }
            runs.push(RunSpec {
                label: run.label,
                optimizer: run.optimizer,
                start,
                seed: run.seed.map_or(seed, |s| s.0),
                sigma: run.gradient_noise.map_or(sigma, |g| g.sigma),
                batch_size: run.batch_size.map(|b| b.0),
            });
        }
        file.plot.validate().at("plot").in_file(path)?;
        let labels: Vec<&str> = runs.iter().map(|r| r.label.as_str()).collect();
        let has_test = surface.model().is_some_and(|d| d.test.is_some());
        landscape::check(&file.landscape, &labels, parameters, has_test)
            .at("landscape")
            .in_file(path)?;
        let mut landscapes = file.landscape;
        landscape::resolve(&mut landscapes, base, parameters)
            .at("landscape")
            .in_file(path)?;
        Ok(Experiment {
            name: file.name.as_str().to_string(),
            title: file.title,
            surface,
            surface_spec: file.surface,
            domain,
            noise: file.noise,
            steps: file.steps.0,
            runs,
            plot: file.plot,
            landscapes: landscapes.0,
            source: path.to_path_buf(),
            text,
        })
    }

    /// True when its runs depend on their seeds: minibatches are drawn, or gradients get noise.
    pub(crate) fn is_stochastic(&self) -> bool {
        let minibatches = self
            .surface
            .data
            .as_ref()
            .is_some_and(|d| d.batching.batch_size.is_some_and(|b| b < d.data.rows()));
        let own = self.runs.iter().any(|r| r.batch_size.is_some());
        minibatches || own || self.runs.iter().any(|r| r.sigma > 0.0)
    }
}

/// Every experiment file named by `paths`: files as given, folders searched recursively for
/// `*.json`, in sorted order.
pub(crate) fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            files.extend(crate::io::walk(path, |p| p.extension().is_some_and(|e| e == "json"))?);
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
