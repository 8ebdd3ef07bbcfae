//! The files optsurf reads, as serde types: experiment and study files and the values inside
//! them. This is where JSON ends: each value is read into its type with its own check, and a
//! mistake is a [`FieldError`] naming the field; past this module everything is typed.
//!
//! The fields an experiment and a study share (name, title, surface, domain, noise, steps,
//! gradient noise) are declared once ([`shared_fields!`]) and read the same way in both.

use super::landscape::Landscapes;
use super::plot_spec::PlotSpec;
use super::study::{Configuration, StudyEntry, Swept, SweptValue};
use super::surface::SurfaceSpec;
use crate::error::{FieldError, Parsed, Result};
use crate::optim::OptimizerSpec;
use crate::surface::{Domain, NoiseSpec};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use std::path::Path;

/// Reads a file's text as `T`; errors name the file and the field.
pub(crate) fn read<T: DeserializeOwned>(text: &str, path: &Path) -> Result<T> {
    let mut de = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut de).map_err(|e| FieldError::from_serde(e).in_file(path))
}

/// A value read from a file's JSON with its own check and message.
pub(crate) trait FromJson: Sized {
    /// The value, or what was wrong with `v`.
    fn from_json(v: Value) -> Parsed<Self>;
}

/// `Deserialize` through [`FromJson`], so serde reports the value's own message at its path.
macro_rules! deserialize_from_json {
    ($($t:ty),* $(,)?) => {$(
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                <$t as $crate::experiment::file::FromJson>::from_json(
                    <serde_json::Value as serde::Deserialize>::deserialize(d)?,
                )
                .map_err(|e| e.to_serde())
            }
        }
    )*};
}
pub(crate) use deserialize_from_json;

/// An experiment's name, `[a-z0-9_-]+` of at most [`MAX_NAME`] characters: it names the output
/// folder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub(crate) struct Name(String);

/// The longest name: a folder name with room for a study's `-tuned`, far below the 255 bytes
/// file systems take.
pub(crate) const MAX_NAME: usize = 100;

impl Name {
    /// Checks `name`.
    pub(crate) fn new(name: impl Into<String>) -> Parsed<Self> {
        let name = name.into();
        if name.chars().count() > MAX_NAME {
            return Err(FieldError::new(format!(
                "a name of {} characters is too long: at most {MAX_NAME} (it names the output folder)",
                name.chars().count()
            )));
        }
        let ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if ok {
            Ok(Name(name))
        } else {
            Err(FieldError::new(format!(
                "{} is not a valid name: expected lower-case letters, digits, '-' or '_' ([a-z0-9_-]+)",
                crate::io::quote(&name)
            )))
        }
    }

    /// The name.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromJson for Name {
    fn from_json(v: Value) -> Parsed<Self> {
        match v {
            Value::String(s) => Name::new(s),
            other => Err(FieldError::new(format!("expected a string, got {other}"))),
        }
    }
}

/// A point `[x, y]` of finite numbers.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub(crate) struct Point(pub [f64; 2]);

impl FromJson for Point {
    fn from_json(v: Value) -> Parsed<Self> {
        let coords: Option<Vec<f64>> = v.as_array().and_then(|a| a.iter().map(Value::as_f64).collect());
        match coords.as_deref() {
            Some(&[x, y]) if x.is_finite() && y.is_finite() => Ok(Point([x, y])),
            _ => Err(FieldError::new(format!("expected two finite numbers [x, y], got {v}"))),
        }
    }
}

/// Where a run starts: a point `[x, y]` of a surface, or a model's initial weights:
/// `{"seed": k}` draws Keras's default initializers from `k`, `{"file": "init.json"}` reads
/// them in Keras's layout (relative to the experiment file's folder).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub(crate) enum StartSpec {
    /// A point of the surface.
    Point(Point),
    /// Initial weights drawn from a seed.
    Seed {
        /// The seed.
        seed: Seed,
    },
    /// Initial weights from a file.
    File {
        /// The file, as written.
        file: String,
    },
}

impl FromJson for StartSpec {
    fn from_json(v: Value) -> Parsed<Self> {
        let expected =
            "expected a point [x, y], or a model's initial weights {\"seed\": k} or {\"file\": \"init.json\"}";
        match v {
            Value::Object(mut m) => {
                if let Some(k) = m.keys().find(|k| *k != "seed" && *k != "file") {
                    return Err(FieldError::new(format!("unknown field; {expected}")).at(k));
                }
                match (m.remove("seed"), m.remove("file")) {
                    (Some(s), None) => Ok(StartSpec::Seed {
                        seed: Seed::from_json(s).map_err(|e| e.at("seed"))?,
                    }),
                    (None, Some(Value::String(file))) if !file.is_empty() => Ok(StartSpec::File { file }),
                    (None, Some(other)) => {
                        Err(FieldError::new(format!("expected a file name, got {other}")).at("file"))
                    }
                    _ => Err(FieldError::new(format!(
                        "give one of \"seed\" and \"file\"; {expected}"
                    ))),
                }
            }
            Value::Array(_) => Point::from_json(v).map(StartSpec::Point),
            other => Err(FieldError::new(format!("{expected}, got {other}"))),
        }
    }
}

/// A seed: a whole number from 0 to 2^64 - 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub(crate) struct Seed(pub u64);

impl FromJson for Seed {
    fn from_json(v: Value) -> Parsed<Self> {
        v.as_u64()
            .map(Seed)
            .ok_or_else(|| FieldError::new(format!("expected a whole number >= 0, got {v}")))
    }
}

/// A minibatch size: a whole number >= 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub(crate) struct BatchSize(pub usize);

impl FromJson for BatchSize {
    fn from_json(v: Value) -> Parsed<Self> {
        match v.as_u64() {
            Some(b) if b >= 1 => Ok(BatchSize(b as usize)),
            _ => Err(FieldError::new(format!("expected a whole number >= 1, got {v}"))),
        }
    }
}

/// The most steps a run may take.
pub(crate) const MAX_STEPS: u64 = 1_000_000;

/// A number of optimizer steps, 1 to [`MAX_STEPS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub(crate) struct Steps(pub usize);

impl FromJson for Steps {
    fn from_json(v: Value) -> Parsed<Self> {
        match v.as_u64() {
            Some(s) if (1..=MAX_STEPS).contains(&s) => Ok(Steps(s as usize)),
            _ => Err(FieldError::new(format!(
                "expected a positive whole number of steps from 1 to {MAX_STEPS}, got {v}"
            ))),
        }
    }
}

/// `{"sigma": s}`, `s >= 0`: the standard deviation of additive gradient noise.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub(crate) struct GradientNoise {
    /// The standard deviation.
    pub sigma: f64,
}

impl FromJson for GradientNoise {
    fn from_json(v: Value) -> Parsed<Self> {
        let Value::Object(m) = v else {
            return Err(FieldError::new(format!("expected {{\"sigma\": NUMBER}}, got {v}")));
        };
        if let Some(k) = m.keys().find(|k| *k != "sigma") {
            return Err(FieldError::new("unknown field; gradient_noise takes: sigma").at(k));
        }
        match m.get("sigma").map(|s| (s, s.as_f64())) {
            Some((_, Some(s))) if s.is_finite() && s >= 0.0 => Ok(GradientNoise { sigma: s }),
            Some((s, _)) => Err(FieldError::new(format!("expected a finite number >= 0, got {s}")).at("sigma")),
            None => Err(FieldError::new("missing; gradient_noise needs sigma").at("sigma")),
        }
    }
}

/// A label: a non-empty string.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub(crate) struct Label(pub String);

impl FromJson for Label {
    fn from_json(v: Value) -> Parsed<Self> {
        match v {
            Value::String(s) if !s.trim().is_empty() => Ok(Label(s)),
            other => Err(FieldError::new(format!("expected a non-empty string, got {other}"))),
        }
    }
}

/// A number as a file wrote it, so that it is written back the same way (`3`, not `3.0`): the
/// recorded surface of a trajectory file is the file's own.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Written {
    /// The value.
    pub value: f64,
    /// Written as a whole number.
    pub whole: bool,
}

impl From<f64> for Written {
    fn from(value: f64) -> Self {
        Written { value, whole: false }
    }
}

impl Serialize for Written {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        if self.whole && self.value.fract() == 0.0 && self.value.abs() < 9e15 {
            s.serialize_i64(self.value as i64)
        } else {
            s.serialize_f64(self.value)
        }
    }
}

impl FromJson for Written {
    fn from_json(v: Value) -> Parsed<Self> {
        match &v {
            Value::Number(n) => Ok(Written {
                value: n.as_f64().unwrap_or(f64::NAN),
                whole: n.is_i64() || n.is_u64(),
            }),
            other => Err(FieldError::new(format!("expected a number, got {other}"))),
        }
    }
}

/// A domain `[[x_min, x_max], [y_min, y_max]]` with finite, ordered limits, as the file wrote it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub(crate) struct DomainField(pub [[Written; 2]; 2]);

impl DomainField {
    /// The domain.
    pub(crate) fn domain(&self) -> Domain {
        Domain::from(self.0.map(|axis| axis.map(|w| w.value)))
    }
}

impl From<Domain> for DomainField {
    fn from(d: Domain) -> Self {
        DomainField([d.x, d.y].map(|axis| axis.map(Written::from)))
    }
}

impl FromJson for DomainField {
    fn from_json(v: Value) -> Parsed<Self> {
        let shape = || FieldError::new(format!("expected [[x_min, x_max], [y_min, y_max]], got {v}"));
        let axes = v.as_array().filter(|a| a.len() == 2).ok_or_else(shape)?;
        let mut out = [[Written::from(0.0); 2]; 2];
        for (k, axis) in axes.iter().enumerate() {
            let ends = axis.as_array().filter(|a| a.len() == 2).ok_or_else(shape)?;
            for (j, end) in ends.iter().enumerate() {
                out[k][j] = Written::from_json(end.clone()).map_err(|_| shape())?;
            }
        }
        let field = DomainField(out);
        field.domain().validate()?;
        Ok(field)
    }
}

deserialize_from_json!(
    Name,
    Point,
    Seed,
    BatchSize,
    Steps,
    GradientNoise,
    Label,
    Written,
    DomainField
);

/// Declares a file type with the fields every experiment and study file has, in their order,
/// then its own: one declaration, one way of reading them, one set of messages.
macro_rules! shared_fields {
    ($(#[$meta:meta])* pub struct $name:ident { $($own:tt)* }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// Name (`[a-z0-9_-]+`); names the output folder.
            pub(crate) name: Name,
            /// A human title.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub(crate) title: Option<String>,
            /// The surface: a registered name, an expression or a model over data.
            pub(crate) surface: SurfaceSpec,
            /// Overrides the surface's own domain.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub(crate) domain: Option<DomainField>,
            /// The noise draw and lookup.
            #[serde(default)]
            pub(crate) noise: NoiseSpec,
            $($own)*
        }
    };
}

shared_fields! {
    /// An experiment file: runs over a surface, each stepped and recorded.
    ///
    /// ```json
    /// {"name": "f0-sgd-lrs", "title": "SGD over f0", "surface": "f0",
    ///  "noise": {"seed": 0, "lookup": "nearest"}, "start": [9.0, 9.0], "steps": 100,
    ///  "runs": [{"label": "SGD lr: 0.1", "optimizer": "sgd", "learning_rate": 0.1},
    ///           {"label": "NAG lr: 10", "optimizer": "sgd", "learning_rate": 10.0,
    ///            "momentum": 0.9, "nesterov": true, "start": [9, 9]}]}
    /// ```
    #[derive(Serialize)]
    pub struct ExperimentFile {
        /// The seed of every run's minibatches and gradient noise, unless a run sets its own.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub(crate) seed: Option<Seed>,
        /// Additive gradient noise of every run, unless a run sets its own.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub(crate) gradient_noise: Option<GradientNoise>,
        /// Where every run starts, unless a run sets its own.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub(crate) start: Option<StartSpec>,
        /// Optimizer steps of every run.
        pub(crate) steps: Steps,
        /// Figure settings (only those that differ from the defaults are written).
        #[serde(default, skip_serializing_if = "PlotSpec::is_default", serialize_with = "PlotSpec::serialize_given")]
        pub(crate) plot: PlotSpec,
        /// The runs, in order.
        pub(crate) runs: Vec<RunFile>,
        /// The landscapes of a model's parameter space evaluated after the runs.
        #[serde(default, skip_serializing_if = "Landscapes::is_empty")]
        pub(crate) landscape: Landscapes,
    }
}

shared_fields! {
    /// A study file (`"kind": "study"`): every configuration of its optimizer entries from
    /// every start with every seed, summarised.
    pub struct StudyFile {
        /// `"study"` (read to check that the file says it is one).
        #[allow(dead_code)]
        pub(crate) kind: StudyKind,
        /// Optimizer steps of every run.
        pub(crate) steps: Steps,
        /// The starts: a grid, random points or a list of points; a model's a list of initial
        /// weights (`{"seed": k}`, `{"file": ...}`), or none: each run's from its own seed.
        #[serde(default)]
        pub(crate) starts: Option<Starts>,
        /// The seeds of every configuration and start (`[0]` by default).
        #[serde(default = "one_seed")]
        pub(crate) seeds: Seeds,
        /// Additive gradient noise of every run.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub(crate) gradient_noise: Option<GradientNoise>,
        /// The optimizer entries, each swept over its lists and ranges.
        pub(crate) optimizers: Entries,
        /// The loss margin that counts as reaching the minimum.
        #[serde(default = "default_threshold")]
        pub(crate) threshold: Threshold,
        /// Pick the best configuration per label and run them as an experiment.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub(crate) tune: Option<TuneSpec>,
    }
}

/// The `kind` of a study file: `"study"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum StudyKind {
    /// A study.
    Study,
}

/// How a study's start points are given.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Starts {
    /// `{"grid": [nx, ny]}`: cell centres over the domain.
    Grid([usize; 2]),
    /// `{"random": n, "seed": s}`: uniform over the domain.
    Random {
        /// How many.
        random: usize,
        /// Their seed.
        seed: u64,
    },
    /// A non-empty list of starts: points, or a model's initial weights.
    List(Vec<StartSpec>),
}

/// The most runs a study may have (configurations x starts x seeds): a study keeps every run's
/// outcome in memory, about 100 bytes each (its medians are exact and its figures show every
/// start), so 10,000,000 runs take about 1 GB. Checked from the file's counts, before any start
/// or outcome is made (`Study::from_file`).
pub(crate) const MAX_RUNS: u64 = 10_000_000;

impl Starts {
    /// How many start points: the grid's product, the random count or the list's length.
    pub(crate) fn count(&self) -> u64 {
        match self {
            Starts::List(starts) => starts.len() as u64,
            Starts::Grid([nx, ny]) => *nx as u64 * *ny as u64,
            Starts::Random { random, .. } => *random as u64,
        }
    }
}

impl FromJson for Starts {
    fn from_json(v: Value) -> Parsed<Self> {
        match v {
            Value::Array(starts) if !starts.is_empty() => starts
                .into_iter()
                .enumerate()
                .map(|(i, p)| StartSpec::from_json(p).map_err(|e| e.index(i)))
                .collect::<Parsed<Vec<_>>>()
                .map(Starts::List),
            Value::Object(m) if m.contains_key("grid") => {
                if let Some(k) = m.keys().find(|k| *k != "grid") {
                    return Err(FieldError::new("unknown field; a grid takes: grid").at(k));
                }
                let g = m["grid"].as_array().and_then(|a| {
                    let n: Vec<u64> = a.iter().filter_map(Value::as_u64).collect();
                    (a.len() == 2 && n.len() == 2).then(|| [n[0] as usize, n[1] as usize])
                });
                match g {
                    // The study checks the count against MAX_RUNS, with the configurations and seeds.
                    Some([nx, ny]) if nx >= 1 && ny >= 1 && (nx as u64).checked_mul(ny as u64).is_some() => {
                        Ok(Starts::Grid([nx, ny]))
                    }
                    _ => Err(
                        FieldError::new(format!("expected [nx, ny] with whole numbers >= 1, got {}", m["grid"]))
                            .at("grid"),
                    ),
                }
            }
            Value::Object(m) if m.contains_key("random") => {
                if let Some(k) = m.keys().find(|k| *k != "random" && *k != "seed") {
                    return Err(FieldError::new("unknown field; random starts take: random, seed").at(k));
                }
                let random = match m["random"].as_u64() {
                    Some(n) if n >= 1 && usize::try_from(n).is_ok() => n as usize,
                    _ => {
                        return Err(
                            FieldError::new(format!("expected a whole number >= 1, got {}", m["random"])).at("random"),
                        );
                    }
                };
                let seed = match m.get("seed") {
                    None => 0,
                    Some(s) => Seed::from_json(s.clone()).map_err(|e| e.at("seed"))?.0,
                };
                Ok(Starts::Random { random, seed })
            }
            other => Err(FieldError::new(format!(
                "expected {{\"grid\": [nx, ny]}}, {{\"random\": n, \"seed\": s}} or a non-empty list of points (a model's: of {{\"seed\": k}} or {{\"file\": ...}}), got {other}"
            ))),
        }
    }
}

/// A study's seeds: a non-empty list.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Seeds(pub Vec<u64>);

fn one_seed() -> Seeds {
    Seeds(vec![0])
}

impl FromJson for Seeds {
    fn from_json(v: Value) -> Parsed<Self> {
        match v {
            Value::Array(a) if !a.is_empty() => a
                .into_iter()
                .enumerate()
                .map(|(i, s)| Seed::from_json(s).map(|s| s.0).map_err(|e| e.index(i)))
                .collect::<Parsed<Vec<_>>>()
                .map(Seeds),
            other => Err(FieldError::new(format!(
                "expected a non-empty list of seeds, got {other}"
            ))),
        }
    }
}

/// A study's loss margin: a finite number >= 0.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Threshold(pub f64);

fn default_threshold() -> Threshold {
    Threshold(1e-3)
}

impl FromJson for Threshold {
    fn from_json(v: Value) -> Parsed<Self> {
        match v.as_f64() {
            Some(t) if t.is_finite() && t >= 0.0 => Ok(Threshold(t)),
            _ => Err(FieldError::new(format!("expected a finite number >= 0, got {v}"))),
        }
    }
}

/// A study's optimizer entries: a non-empty list, each expanded into its configurations.
#[derive(Clone, Debug)]
pub(crate) struct Entries(pub Vec<StudyEntry>);

impl FromJson for Entries {
    fn from_json(v: Value) -> Parsed<Self> {
        match v {
            Value::Array(entries) if !entries.is_empty() => {
                let mut budget = super::study::MAX_CONFIGS;
                let mut out = Vec::with_capacity(entries.len());
                for (i, entry) in entries.into_iter().enumerate() {
                    let entry = StudyEntry::expand(entry, budget).map_err(|e| e.index(i))?;
                    budget -= entry.configs.len();
                    out.push(entry);
                }
                Ok(Entries(out))
            }
            other => Err(FieldError::new(format!(
                "expected a non-empty list of optimizer entries, got {other}"
            ))),
        }
    }
}

/// What tuning optimizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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
    /// A model's lowest median loss over its held-out rows.
    MedianTestLoss,
    /// A classifier's highest median accuracy over its held-out rows.
    MedianTestAccuracy,
}

impl Objective {
    /// The names study files use.
    pub(crate) const NAMES: [&'static str; 6] = [
        "median_final_loss",
        "mean_final_loss",
        "success_rate",
        "median_steps_to_threshold",
        "median_test_loss",
        "median_test_accuracy",
    ];

    /// Its name.
    pub(crate) fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

/// The `tune` object: pick the best configuration per label and run them as an experiment.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TuneSpec {
    /// What "best" means.
    pub objective: Objective,
    /// Where the tuned comparison starts (the study's first start by default).
    pub start: Option<Point>,
}

impl FromJson for TuneSpec {
    fn from_json(v: Value) -> Parsed<Self> {
        let Value::Object(m) = v else {
            return Err(FieldError::new(format!("expected {{\"objective\": NAME}}, got {v}")));
        };
        if let Some(k) = m.keys().find(|k| *k != "objective" && *k != "start") {
            return Err(FieldError::new("unknown field; tune takes: objective, start").at(k));
        }
        let objective = match m.get("objective") {
            None => Objective::MedianFinalLoss,
            Some(Value::String(s)) => serde_json::from_value(Value::String(s.clone())).map_err(|_| {
                FieldError::new(format!(
                    "unknown objective {s:?}; expected one of: {}",
                    Objective::NAMES.join(", ")
                ))
                .at("objective")
            })?,
            Some(other) => return Err(FieldError::new(format!("expected a string, got {other}")).at("objective")),
        };
        let start = match m.get("start") {
            None => None,
            Some(p) => Some(Point::from_json(p.clone()).map_err(|e| e.at("start"))?),
        };
        Ok(TuneSpec { objective, start })
    }
}

deserialize_from_json!(StartSpec, Starts, Seeds, Threshold, Entries, TuneSpec);

/// One run of an experiment file: an optimizer with its hyperparameters, and what of the
/// experiment's settings (start, seed, gradient noise) it overrides.
#[derive(Clone, Debug, PartialEq)]
pub struct RunFile {
    /// Label in legends and reports (by default the optimizer and the settings the run states,
    /// in file order: `"adam lr=0.1 beta_1=0.8"`).
    pub(crate) label: String,
    /// The optimizer and its hyperparameters.
    pub(crate) optimizer: OptimizerSpec,
    /// Its start, when not the experiment's.
    pub(crate) start: Option<StartSpec>,
    /// Its seed, when not the experiment's.
    pub(crate) seed: Option<Seed>,
    /// Its gradient noise, when not the experiment's.
    pub(crate) gradient_noise: Option<GradientNoise>,
    /// Its minibatch size on a data surface, when not the surface's.
    pub(crate) batch_size: Option<BatchSize>,
}

impl RunFile {
    /// A run labelled `label` of `optimizer`, with the experiment's settings.
    pub fn new(label: impl Into<String>, optimizer: OptimizerSpec) -> Self {
        RunFile {
            label: label.into(),
            optimizer,
            start: None,
            seed: None,
            gradient_noise: None,
            batch_size: None,
        }
    }

    fn from_fields(mut fields: Map<String, Value>) -> Parsed<Self> {
        let label = default_label(&fields);
        let rate_omitted = !fields.contains_key("learning_rate");
        let given = take::<Label>(&mut fields, "label")?;
        let start = take(&mut fields, "start")?;
        let seed = take(&mut fields, "seed")?;
        let gradient_noise = take(&mut fields, "gradient_noise")?;
        let batch_size = take(&mut fields, "batch_size")?;
        if !fields.contains_key("optimizer") {
            return Err(FieldError::new("missing; every run needs an optimizer").at("optimizer"));
        }
        let optimizer = OptimizerSpec::from_fields(fields)?;
        Ok(RunFile {
            label: given.map_or_else(|| omitted_rate(label, rate_omitted, &optimizer), |l| l.0),
            optimizer,
            start,
            seed,
            gradient_noise,
            batch_size,
        })
    }
}

/// Removes `key` from `fields` and reads it as `T`.
pub(crate) fn take<T: FromJson>(fields: &mut Map<String, Value>, key: &str) -> Parsed<Option<T>> {
    fields
        .shift_remove(key)
        .map(|v| T::from_json(v).map_err(|e| e.at(key)))
        .transpose()
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

/// A default label says the learning rate a run leaves out, the optimizer's default (Keras's,
/// 0.001 for most, which barely moves a run in 100 steps): `"adam lr=0.001 (default)"`.
fn omitted_rate(label: String, omitted: bool, optimizer: &OptimizerSpec) -> String {
    match optimizer.hyperparameters().get("learning_rate") {
        Some(rate) if omitted => format!("{label} lr={rate} (default)"),
        _ => label,
    }
}

impl<'de> Deserialize<'de> for RunFile {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Object(fields) => RunFile::from_fields(fields).map_err(|e| e.to_serde()),
            other => Err(FieldError::new(format!(
                "expected a run object {{\"optimizer\": NAME, ...}}, got {other}"
            ))
            .to_serde()),
        }
    }
}

impl Serialize for RunFile {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("label", &self.label)?;
        map.serialize_entry("optimizer", self.optimizer.name())?;
        for (k, v) in &self.optimizer.hyperparameters() {
            map.serialize_entry(k, v)?;
        }
        if let Some(p) = &self.start {
            map.serialize_entry("start", p)?;
        }
        if let Some(v) = &self.seed {
            map.serialize_entry("seed", v)?;
        }
        if let Some(v) = &self.gradient_noise {
            map.serialize_entry("gradient_noise", v)?;
        }
        if let Some(v) = &self.batch_size {
            map.serialize_entry("batch_size", v)?;
        }
        map.end()
    }
}

/// What kind of job a file describes, from its `"kind"` (none: optimizer runs).
#[derive(Deserialize)]
pub(crate) struct KindOnly {
    #[serde(default)]
    pub(crate) kind: Option<Value>,
}

impl ExperimentFile {
    /// The file's text as written: pretty-printed JSON with a final newline.
    pub fn to_text(&self) -> String {
        serde_json::to_string_pretty(self).expect("experiment files serialize") + "\n"
    }
}

// ----- study entries: lists and ranges expanded into typed configurations ------------------

/// The values a hyperparameter takes: a value, a list, `{"logspace": [a, b, n]}` or
/// `{"linspace": [a, b, n]}` (a schedule object is one value), and whether it is swept.
fn values(v: &Value) -> Parsed<(Vec<Value>, bool)> {
    let range = |spec: &Value, log: bool| -> Parsed<Vec<Value>> {
        let name = if log { "logspace" } else { "linspace" };
        let parts: Option<Vec<f64>> = spec.as_array().and_then(|a| a.iter().map(Value::as_f64).collect());
        let Some(&[a, b, n]) = parts.as_deref() else {
            return Err(FieldError::new(format!(
                "expected {{\"{name}\": [start, stop, count]}}, got {spec}"
            )));
        };
        if !(a.is_finite() && b.is_finite()) || n < 1.0 || n.fract() != 0.0 || n > 1e6 {
            return Err(FieldError::new(format!(
                "{name} needs finite bounds and a whole count from 1 to 1000000, got [{a}, {b}, {n}]"
            )));
        }
        if log && (a <= 0.0 || b <= 0.0) {
            return Err(FieldError::new(format!(
                "logspace needs bounds > 0, got [{a}, {b}, {n}]"
            )));
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
                Value::from(format!("{x:.11e}").parse::<f64>().unwrap_or(x))
            })
            .collect())
    };
    match v {
        Value::Array(a) if a.is_empty() => Err(FieldError::new("expected a non-empty list of values")),
        Value::Array(a) => Ok((a.clone(), true)),
        Value::Object(m) if m.len() == 1 && m.contains_key("logspace") => Ok((range(&m["logspace"], true)?, true)),
        Value::Object(m) if m.len() == 1 && m.contains_key("linspace") => Ok((range(&m["linspace"], false)?, true)),
        other => Ok((vec![other.clone()], false)),
    }
}

/// One axis of an entry: its path (a wrapped optimizer's fields below its key), its values, and
/// whether the file sweeps it.
struct Axis {
    path: Vec<String>,
    values: Vec<Value>,
    swept: bool,
}

impl StudyEntry {
    /// An entry's configurations (`{"label": ..., "optimizer": NAME, hyperparameters}`): the
    /// Cartesian product of its lists, the last list varying fastest, each checked as an
    /// experiment's run would be; at most `budget` of them.
    pub(crate) fn expand(entry: Value, budget: usize) -> Parsed<StudyEntry> {
        let Value::Object(mut m) = entry else {
            return Err(FieldError::new(format!(
                "expected an object {{\"optimizer\": NAME, ...}}, got {entry}"
            )));
        };
        let name = match m.get("optimizer") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => return Err(FieldError::new(format!("expected a string, got {other}")).at("optimizer")),
            None => return Err(FieldError::new("missing; every entry names its optimizer").at("optimizer")),
        };
        let label = take::<Label>(&mut m, "label")?.map_or_else(|| name.clone(), |l| l.0);
        m.shift_remove("optimizer");
        let mut axes = Vec::new();
        collect_axes(&m, &mut Vec::new(), &mut axes)?;
        let total = axes
            .iter()
            .try_fold(1usize, |n, a| n.checked_mul(a.values.len()).filter(|&n| n <= budget))
            .ok_or_else(|| {
                FieldError::new(format!(
                    "too many configurations (the product of the lists): at most {} in all, and {MAX_RUNS} runs with the starts and seeds; split the study",
                    super::study::MAX_CONFIGS
                ))
            })?;
        let mut configs = Vec::with_capacity(total);
        for index in 0..total {
            let mut given = m.clone();
            let mut chosen = vec![0; axes.len()];
            let mut rest = index;
            for (a, axis) in axes.iter().enumerate().rev() {
                chosen[a] = rest % axis.values.len();
                rest /= axis.values.len();
            }
            let mut swept = Vec::new();
            for (axis, &c) in axes.iter().zip(&chosen) {
                set_path(&mut given, &axis.path, axis.values[c].clone());
                if axis.swept {
                    swept.push((axis.path.join("."), SweptValue::of(&axis.values[c])));
                }
            }
            let with = |e: FieldError| {
                let values: Vec<String> = swept.iter().map(|(k, v)| format!("{k}={v}")).collect();
                if values.is_empty() {
                    e
                } else {
                    let path = e.path().to_string();
                    let message = format!("{} (with {})", e.message(), values.join(", "));
                    let e = FieldError::new(message);
                    if path.is_empty() { e } else { e.at(&path) }
                }
            };
            // A run setting, not a hyperparameter: the minibatch size on a data surface.
            let batch_size = take::<BatchSize>(&mut given, "batch_size").map_err(with)?;
            given.insert("optimizer".into(), Value::String(name.clone()));
            let optimizer = OptimizerSpec::from_fields(given).map_err(with)?;
            configs.push(Configuration {
                label: label.clone(),
                optimizer,
                swept: Swept(swept),
                batch_size: batch_size.map(|b| b.0),
            });
        }
        Ok(StudyEntry { label, configs })
    }
}

fn collect_axes(m: &Map<String, Value>, path: &mut Vec<String>, axes: &mut Vec<Axis>) -> Parsed<()> {
    for (k, v) in m {
        path.push(k.clone());
        match v {
            Value::Object(inner) if inner.contains_key("optimizer") => collect_axes(inner, path, axes)?,
            _ if path.len() > 1 && k == "optimizer" => {}
            _ => {
                let (values, swept) = values(v).map_err(|e| FieldError::new(e.message()).at(&path.join(".")))?;
                axes.push(Axis {
                    path: path.clone(),
                    values,
                    swept,
                });
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
