//! A study's files: `runs.csv` (one row per run), `study.json` (per configuration summaries and
//! the best configuration per label, a [`StudySummary`]), `shard.json` (a [`Shard`]) and the
//! tuned comparison's `experiment.json`.
//!
//! Everything in `study.json` is computed from the rows as `runs.csv` writes them, so a study
//! run in shards and merged gives the same bytes as one run whole.

use super::basins::FoundBasins;
use crate::error::{Error, FieldError, Result};
use crate::experiment::Start;
use crate::experiment::file::{ExperimentFile, GradientNoise, Name, Point, Seed, StartSpec, Steps};
use crate::experiment::plot_spec::{MANY_COLORS, TEN_COLORS, View};
use crate::experiment::study::run::Outcome;
use crate::experiment::study::{Objective, Study};
use crate::experiment::{PlotSpec, RunFile, SurfaceSpec};
use crate::io::write_atomic_with;
use crate::surface::Domain;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};

/// The columns of `runs.csv`.
pub(crate) const HEADER: &str =
    "config,optimizer,start_x,start_y,seed,final_x,final_y,final_loss,best_loss,steps_to_threshold,diverged_at,basin";
/// The columns a model study's `runs.csv` adds (its start and final columns left empty).
const MODEL_COLUMNS: &str = ",test_loss,accuracy,test_accuracy";

/// A number to three significant digits for labels (`0.000464`, `1780`); other values as JSON.
fn three_digits(v: &crate::experiment::study::SweptValue) -> String {
    match v {
        crate::experiment::study::SweptValue::Float(x) if x.is_finite() && *x != 0.0 => format!("{x:.2e}")
            .parse::<f64>()
            .map_or_else(|_| v.to_string(), |r| r.to_string()),
        _ => v.to_string(),
    }
}

/// One configuration of `study.json`: what it is and how it did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct ConfigSummary {
    /// Its index among the study's configurations.
    pub config: usize,
    /// Its entry's label.
    pub label: String,
    /// The optimizer.
    pub optimizer: String,
    /// The swept values, by path.
    pub swept: Map<String, Value>,
    /// Every hyperparameter.
    pub hyperparameters: Map<String, Value>,
    /// Its minibatch size, when it sets one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<usize>,
    /// Runs (starts x seeds).
    pub runs: usize,
    /// Median, mean, minimum and maximum final loss (null when diverged runs decide it).
    pub final_loss: FinalLoss,
    /// Share of runs that reached the threshold without diverging.
    pub success_rate: f64,
    /// Median steps to the threshold over the runs that reached it.
    pub median_steps_to_threshold: Option<f64>,
    /// Share of runs that diverged.
    pub divergence_rate: f64,
    /// A model's median held-out loss over the runs that did not diverge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_test_loss: Option<f64>,
    /// A classifier's median accuracy over its training rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_accuracy: Option<f64>,
    /// A classifier's median accuracy over its held-out rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_test_accuracy: Option<f64>,
}

/// The final losses of a configuration's runs (null when not finite).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct FinalLoss {
    /// Median.
    pub median: Option<f64>,
    /// Mean.
    pub mean: Option<f64>,
    /// Minimum.
    pub min: Option<f64>,
    /// Maximum.
    pub max: Option<f64>,
}

/// The best configuration of a label.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct BestConfig {
    /// Its index among the configurations.
    pub config: usize,
    /// Its swept values.
    pub swept: Map<String, Value>,
    /// The objective and its value (null when not finite).
    pub objective: (Objective, Option<f64>),
}

/// `study.json`: the study's settings, every configuration's summary and the best per label.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StudySummary {
    /// The study's name.
    pub(crate) name: String,
    /// Its title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) title: Option<String>,
    /// The surface as the file names it.
    pub(crate) surface: SurfaceSpec,
    /// The file's domain, when it overrides the surface's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) domain: Option<Domain>,
    /// Steps per run.
    pub(crate) steps: usize,
    /// Runs in all.
    pub(crate) runs: usize,
    /// Start points.
    pub(crate) starts: usize,
    /// The seeds.
    pub(crate) seeds: Vec<u64>,
    /// The loss margin.
    pub(crate) threshold: f64,
    /// The loss a run must reach.
    pub(crate) target: f64,
    /// What tuning optimizes.
    pub(crate) objective: Objective,
    /// Every configuration.
    pub(crate) configurations: Vec<ConfigSummary>,
    /// The best configuration per label, in the order labels first appear.
    pub(crate) best: Labelled<BestConfig>,
    /// On a surface without known minima, the minima found from the runs' end points (the
    /// basins' minima) and how.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) basins: Option<FoundBasins>,
    /// What the threshold cannot mean here (no known minimum).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) warnings: Vec<String>,
}

/// A map from label to value that keeps its order (labels in the order they first appear).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Labelled<T>(pub Vec<(String, T)>);

impl<T: Serialize> Serialize for Labelled<T> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Labelled<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Entries<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Entries<T> {
            type Value = Labelled<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of labels")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Labelled<T>, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry()? {
                    out.push((k, v));
                }
                Ok(Labelled(out))
            }
        }
        d.deserialize_map(Entries(std::marker::PhantomData))
    }
}

impl Serialize for BestConfig {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("config", &self.config)?;
        m.serialize_entry("swept", &self.swept)?;
        m.serialize_entry(self.objective.0.name(), &self.objective.1)?;
        m.end()
    }
}

impl<'de> Deserialize<'de> for BestConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let mut m = Map::<String, Value>::deserialize(d)?;
        let bad = |what: &str| serde::de::Error::custom(format!("a best configuration needs {what}"));
        let config = m
            .remove("config")
            .and_then(|v| v.as_u64())
            .ok_or_else(|| bad("\"config\""))? as usize;
        let swept = match m.remove("swept") {
            Some(Value::Object(s)) => s,
            _ => return Err(bad("\"swept\"")),
        };
        let objective = Objective::NAMES
            .iter()
            .find_map(|name| {
                let v = m.get(*name)?;
                let o = serde_json::from_value::<Objective>(Value::from(*name)).ok()?;
                Some((o, v.as_f64()))
            })
            .ok_or_else(|| bad("the objective's value"))?;
        Ok(BestConfig {
            config,
            swept,
            objective,
        })
    }
}

/// A value as a JSON map (a record of typed values).
fn record(v: &impl Serialize) -> Map<String, Value> {
    match serde_json::to_value(v) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// `Some(v)` when finite.
fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

impl StudySummary {
    /// The summary of `study` from every row's outcome.
    pub fn new(study: &Study, outcomes: &[Outcome]) -> Self {
        let summaries = study.summaries(outcomes);
        let objective = study.objective();
        let configurations = study
            .configs
            .iter()
            .zip(&summaries)
            .enumerate()
            .map(|(i, (c, s))| {
                let [median, mean, min, max] = s.final_loss.map(finite);
                ConfigSummary {
                    config: i,
                    label: c.label.clone(),
                    optimizer: c.optimizer.name().to_string(),
                    swept: record(&c.swept),
                    hyperparameters: c.optimizer.hyperparameters(),
                    batch_size: c.batch_size,
                    runs: s.runs,
                    final_loss: FinalLoss { median, mean, min, max },
                    success_rate: s.success_rate,
                    median_steps_to_threshold: s.median_steps,
                    divergence_rate: s.divergence_rate,
                    median_test_loss: s.model[0],
                    median_accuracy: s.model[1],
                    median_test_accuracy: s.model[2],
                }
            })
            .collect();
        let best = study
            .best(&summaries)
            .into_iter()
            .map(|(name, i)| {
                let s = &summaries[i];
                let value = match objective {
                    Objective::SuccessRate => Some(s.success_rate),
                    Objective::MedianStepsToThreshold => s.median_steps,
                    Objective::MedianTestAccuracy => s.model[2],
                    _ => finite(s.rank(objective)),
                };
                let best = BestConfig {
                    config: i,
                    swept: record(&study.configs[i].swept),
                    objective: (objective, value),
                };
                (name, best)
            })
            .collect();
        let basins = study.found_basins(outcomes);
        let warnings = study.threshold_warnings(outcomes, basins.as_ref());
        StudySummary {
            basins,
            warnings,
            name: study.name.clone(),
            title: study.title.clone(),
            surface: study.surface_spec.clone(),
            domain: study.domain,
            steps: study.steps,
            runs: study.rows(),
            starts: study.starts.len(),
            seeds: study.seeds.clone(),
            threshold: study.threshold,
            target: study.target(),
            objective,
            configurations,
            best: Labelled(best),
        }
    }

    /// The text of `study.json`.
    pub fn to_text(&self) -> String {
        serde_json::to_string_pretty(self).expect("summaries serialize") + "\n"
    }
}

impl Outcome {
    /// The final loss as summaries rank it: infinite when the run diverged.
    pub(crate) fn ranked_loss(&self) -> f64 {
        if self.diverged_at.is_some() {
            f64::INFINITY
        } else {
            self.final_loss as f64
        }
    }
}

impl Study {
    /// The header of `runs.csv`: a model's adds its held-out loss and accuracies.
    fn header(&self) -> String {
        match self.surface.model() {
            Some(_) => format!("{HEADER}{MODEL_COLUMNS}"),
            None => HEADER.to_string(),
        }
    }

    /// Appends the `runs.csv` line of row `r`, newline included, to `out`.
    pub(crate) fn csv_line(&self, r: usize, o: &Outcome, out: &mut String) {
        use std::fmt::Write as _;
        let (c, s, k) = self.row(r);
        let diverged = o.diverged_at.is_some();
        let cell = |out: &mut String, v: f32| {
            if v.is_finite() {
                let _ = write!(out, "{v:?}");
            }
        };
        let _ = write!(out, "{c},{},", self.configs[c].optimizer.name());
        for i in 0..2 {
            if let Some(p) = self.starts[s].point() {
                let _ = write!(out, "{:?}", p[i]);
            }
            out.push(',');
        }
        let _ = write!(out, "{},", self.seeds[k]);
        for v in [o.final_point[0], o.final_point[1], o.final_loss] {
            if !diverged {
                cell(out, v);
            }
            out.push(',');
        }
        cell(out, o.best_loss);
        for v in [o.steps_to_threshold, o.diverged_at] {
            out.push(',');
            if let Some(v) = v {
                let _ = write!(out, "{v}");
            }
        }
        let _ = write!(out, ",{}", o.basin);
        if self.surface.model().is_some() {
            for v in o.model {
                out.push(',');
                if let Some(v) = v {
                    cell(out, v);
                }
            }
        }
        out.push('\n');
    }

    /// Writes `runs.csv`'s text for rows `first..` with their outcomes to `w`: lines formatted
    /// in chunks on every core, written in order.
    pub(crate) fn write_csv(&self, w: &mut impl Write, first: usize, outcomes: &[Outcome]) -> std::io::Result<()> {
        const LINES: usize = 1 << 14;
        writeln!(w, "{}", self.header())?;
        let cores = crate::experiment::tiles::cores();
        let format = |at: usize, chunk: &[Outcome]| {
            let mut text = String::with_capacity(chunk.len() * 96);
            for (i, o) in chunk.iter().enumerate() {
                self.csv_line(first + at + i, o, &mut text);
            }
            text
        };
        for round in outcomes
            .chunks(LINES * cores)
            .enumerate()
            .map(|(k, r)| (k * LINES * cores, r))
        {
            let (at, rows) = round;
            let texts: Vec<String> = std::thread::scope(|scope| {
                let handles: Vec<_> = rows
                    .chunks(LINES)
                    .enumerate()
                    .map(|(j, chunk)| scope.spawn(move || format(at + j * LINES, chunk)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("formatting runs.csv"))
                    .collect()
            });
            for text in texts {
                w.write_all(text.as_bytes())?;
            }
        }
        Ok(())
    }

    /// Writes `runs.csv` for rows `first..` with their outcomes.
    pub fn write_runs(&self, path: &Path, first: usize, outcomes: &[Outcome]) -> Result<()> {
        write_atomic_with(path, |w| self.write_csv(w, first, outcomes))
    }

    /// Reads the outcomes back from a `runs.csv` of rows `first..` (a shard's, or the whole),
    /// line by line: what is held is the outcomes, and a line or a file longer than a study's
    /// ever are is refused (`io::Input::runs`).
    pub(crate) fn read_runs(&self, path: &Path, first: usize) -> Result<Vec<Outcome>> {
        let header = self.header();
        let columns = header.split(',').count();
        let kind = crate::io::Input::runs(self.rows().saturating_sub(first));
        let mut reader = std::io::BufReader::new(crate::io::open_input(path, kind)?);
        let mut lines = std::iter::from_fn(|| {
            let mut line = String::new();
            match (&mut reader).take(crate::io::RUNS_LINE).read_line(&mut line) {
                Ok(0) => None,
                Ok(_) if !line.ends_with('\n') && line.len() as u64 == crate::io::RUNS_LINE => Some(Err(format!(
                    "a line longer than the {} bytes of a runs.csv line",
                    crate::io::RUNS_LINE
                ))),
                Ok(_) => Some(Ok(line.trim_end_matches(['\n', '\r']).to_string())),
                Err(e) => Some(Err(format!("cannot read it: {e}"))),
            }
        });
        let bad = |line: usize, what: &str| Error::input(path, "", format!("line {}: {what}", line + 2));
        match lines.next() {
            Some(Ok(first_line)) if first_line == header => {}
            Some(Err(e)) => return Err(Error::input(path, "", e)),
            _ => {
                return Err(Error::input(
                    path,
                    "",
                    format!("expected a runs.csv with the header {header}"),
                ));
            }
        }
        lines
            .enumerate()
            .map(|(i, line)| {
                let line = line.map_err(|e| bad(i, &e))?;
                let f: Vec<&str> = line.split(',').collect();
                if f.len() != columns
                    || first + i >= self.rows()
                    || f[0].parse::<usize>().ok() != Some(self.row(first + i).0)
                {
                    return Err(bad(i, "not the row this study has there"));
                }
                let num = |s: &str| -> f32 {
                    if s.is_empty() {
                        f32::INFINITY
                    } else {
                        s.parse().unwrap_or(f32::NAN)
                    }
                };
                let opt = |s: &str| -> Result<Option<usize>> {
                    if s.is_empty() {
                        Ok(None)
                    } else {
                        s.parse().map(Some).map_err(|_| bad(i, "a step is not a whole number"))
                    }
                };
                Ok(Outcome {
                    final_point: [num(f[5]), num(f[6])],
                    final_loss: num(f[7]),
                    best_loss: num(f[8]),
                    steps_to_threshold: opt(f[9])?,
                    diverged_at: opt(f[10])?,
                    basin: f[11].parse().map_err(|_| bad(i, "the basin is not a whole number"))?,
                    model: [12, 13, 14].map(|k| f.get(k).filter(|s| !s.is_empty()).map(|s| num(s))),
                })
            })
            .collect()
    }

    /// The tuned comparison: the best configuration per label as an ordinary experiment, from
    /// the tune's start (or the median start, see [`Study::median_start`]; a model's initial
    /// weights, a weights file named from the study's folder).
    pub fn tuned_experiment(&self, outcomes: &[Outcome]) -> ExperimentFile {
        let summaries = self.summaries(outcomes);
        let best = self.best(&summaries);
        let start = match self.tune.as_ref().and_then(|t| t.start) {
            Some(p) => StartSpec::Point(Point(p)),
            None => match &self.starts[self.median_start(outcomes, &best)] {
                Start::Weights { file, .. } => StartSpec::File {
                    file: self
                        .source
                        .parent()
                        .unwrap_or(Path::new(""))
                        .join(file)
                        .display()
                        .to_string(),
                },
                other => other.spec(),
            },
        };
        let runs: Vec<RunFile> = best
            .into_iter()
            .map(|(name, i)| {
                let c = &self.configs[i];
                let swept: Vec<String> = c
                    .swept
                    .iter()
                    .map(|(k, v)| format!("{}={}", k.replace("learning_rate", "lr"), three_digits(v)))
                    .collect();
                let label = if swept.is_empty() {
                    name
                } else {
                    format!("{name} {}", swept.join(" "))
                };
                RunFile {
                    batch_size: c.batch_size.map(crate::experiment::file::BatchSize),
                    ..RunFile::new(label, c.optimizer.clone())
                }
            })
            .collect();
        let colors = match runs.len() {
            0..=8 => None,
            9..=10 => Some(TEN_COLORS.iter().map(|c| c.to_string()).collect()),
            _ => Some(MANY_COLORS.iter().map(|c| c.to_string()).collect()),
        };
        ExperimentFile {
            // `-tuned` after the study's name, cut to keep it a name.
            name: Name::new(format!(
                "{}-tuned",
                &self.name[..self.name.len().min(crate::experiment::file::MAX_NAME - 6)]
            ))
            .expect("a study's name with -tuned is a name"),
            title: Some(format!(
                "{}: each optimizer at its best ({})",
                self.title.as_deref().unwrap_or(&self.name),
                self.objective().name()
            )),
            surface: self.surface_spec.clone(),
            domain: self.domain.map(Into::into),
            noise: self.noise,
            seed: Some(Seed(self.seeds[0])),
            gradient_noise: (self.sigma > 0.0).then_some(GradientNoise { sigma: self.sigma }),
            start: Some(start),
            steps: Steps(self.steps),
            plot: PlotSpec {
                view: View::Contour,
                legend: true,
                colors,
                ..PlotSpec::default()
            },
            runs,
            landscape: Default::default(),
        }
    }

    /// The start a reader would pick to compare the `best` configurations: where they do as
    /// they do typically, not the grid's first corner. Each start is scored by the median over
    /// the best configurations of their median final loss over seeds there (a diverged run
    /// counts as infinite); the start of the median score is it (ties go to the start nearer
    /// the domain's centre, then the earlier). Its index in `starts`.
    pub(crate) fn median_start(&self, outcomes: &[Outcome], best: &[(String, usize)]) -> usize {
        if best.is_empty() {
            return 0;
        }
        let seeds = self.seeds.len();
        let median = |mut v: Vec<f64>| -> f64 {
            v.sort_by(f64::total_cmp);
            v[(v.len() - 1) / 2]
        };
        let score = |s: usize| -> f64 {
            median(
                best.iter()
                    .map(|&(_, c)| {
                        let first = (c * self.starts.len() + s) * seeds;
                        median(
                            outcomes[first..first + seeds]
                                .iter()
                                .map(Outcome::ranked_loss)
                                .collect(),
                        )
                    })
                    .collect(),
            )
        };
        let d = self.surface.domain;
        let centre = [(d.x[0] + d.x[1]) / 2.0, (d.y[0] + d.y[1]) / 2.0];
        let from_centre = |s: &Start| s.point().map_or(0.0, |p| (p[0] - centre[0]).hypot(p[1] - centre[1]));
        let mut ranked: Vec<(f64, f64, usize)> = (0..self.starts.len())
            .map(|s| (score(s), from_centre(&self.starts[s]), s))
            .collect();
        ranked.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)).then(a.2.cmp(&b.2)));
        ranked[(ranked.len() - 1) / 2].2
    }

    /// What shard `[i, n]` of rows `rows` says of itself.
    pub(crate) fn shard(&self, shard: [usize; 2], rows: std::ops::Range<usize>) -> Shard {
        Shard {
            study: self.text.clone(),
            source: self.source.clone(),
            shard,
            rows: [rows.start, rows.end],
            total: self.rows(),
        }
    }

    /// Rows of shard `i` of `n`: a contiguous, deterministic slice.
    pub(crate) fn shard_rows(&self, i: usize, n: usize) -> std::ops::Range<usize> {
        slice(i, n, self.rows())
    }
}

/// Rows of shard `i` of `n` of `total` rows (a study's runs, a landscape's grid rows): a
/// contiguous, deterministic slice.
pub(crate) fn slice(i: usize, n: usize, total: usize) -> std::ops::Range<usize> {
    let r = total as u128;
    let (i, n) = (i as u128, n as u128);
    ((i * r / n) as usize)..(((i + 1) * r / n) as usize)
}

/// `shard.json`: which shard of which study (or of which experiment's landscape planes) a
/// folder holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Shard {
    /// The study (or experiment) file's text.
    pub study: String,
    /// The study (or experiment) file's path.
    pub source: PathBuf,
    /// `[i, n]`: shard `i` of `n`.
    pub shard: [usize; 2],
    /// Its rows (a study's runs, or the planes' grid rows), `[first, end)`.
    pub rows: [usize; 2],
    /// The study's rows (or the planes' grid rows) in all.
    pub total: usize,
}

impl Shard {
    /// The text of `shard.json`.
    pub(crate) fn to_text(&self) -> String {
        serde_json::to_string_pretty(self).expect("shards serialize") + "\n"
    }

    /// Reads `shard.json` in `dir`, every field checked before anything is made of it: the
    /// study's text no longer than an experiment file, its source a path, `shard` `[i, n]` with
    /// `i < n <= MAX_RUNS`, `rows` inside `total` and `total` at most a study's runs. Whether the rows are
    /// the study's is checked by `merge`, once the study is read.
    pub(crate) fn load(dir: &Path) -> Result<Shard> {
        let path = super::ResultDir::new(dir).shard();
        if std::fs::symlink_metadata(&path).is_err() {
            return Err(Error::input(
                &path,
                "",
                "not a shard folder (no shard.json); expected the folder a `run --shard I/N` wrote",
            ));
        }
        let text = crate::io::read_input(&path, crate::io::Input::SHARD)?;
        let shard: Shard = crate::experiment::file::read(&text, &path)?;
        if shard.study.len() as u64 > crate::io::Input::EXPERIMENT.cap() {
            return Err(FieldError::new(format!(
                "a study text of {} bytes, more than an experiment file may have ({})",
                shard.study.len(),
                crate::io::Input::EXPERIMENT.cap()
            ))
            .at("study")
            .in_file(&path));
        }
        let source = shard.source.as_os_str().len();
        if source == 0 || source > 4096 || shard.source.file_name().is_none() {
            return Err(FieldError::new(format!(
                "expected the study file's path (1 to 4096 bytes), got {source} bytes"
            ))
            .at("source")
            .in_file(&path));
        }
        if shard.total as u64 > crate::experiment::study::MAX_RUNS {
            return Err(FieldError::new(format!(
                "{} runs is more than a study may have ({})",
                shard.total,
                crate::experiment::study::MAX_RUNS
            ))
            .at("total")
            .in_file(&path));
        }
        let [i, n] = shard.shard;
        let max = crate::experiment::study::MAX_RUNS;
        if n == 0 || i >= n || n as u64 > max {
            return Err(
                FieldError::new(format!("expected [i, n] with 0 <= i < n <= {max}, got [{i}, {n}]"))
                    .at("shard")
                    .in_file(&path),
            );
        }
        if shard.rows[0] > shard.rows[1] || shard.rows[1] > shard.total {
            return Err(FieldError::new(format!(
                "expected [first, end] with first <= end <= total ({}), got {:?}",
                shard.total, shard.rows
            ))
            .at("rows")
            .in_file(&path));
        }
        Ok(shard)
    }
}
