//! A study's files: `runs.csv` (one row per run), `study.json` (per configuration summaries and
//! the best configuration per optimizer), shards and their merge, and the tuned experiment.
//!
//! Everything in `study.json` is computed from the rows as `runs.csv` writes them, so a study
//! run in shards and merged gives the same bytes as one run whole.

use super::run::Outcome;
use super::{Objective, Study};
use crate::error::{Error, Result};
use crate::io::write_atomic_with;
use serde_json::{Map, Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The columns of `runs.csv`.
pub const HEADER: &str =
    "config,optimizer,start_x,start_y,seed,final_x,final_y,final_loss,best_loss,steps_to_threshold,diverged_at,basin";

/// A number (shortest text that reads back to the same `f32`, exponent for very large or small
/// magnitudes), or an empty cell when it is not finite.
fn cell(v: f32) -> String {
    if v.is_finite() { format!("{v:?}") } else { String::new() }
}

/// A number to three significant digits for labels (`0.000464`, `1780`); other values as JSON.
fn three_digits(v: &Value) -> String {
    match v.as_f64() {
        Some(x) if x.is_finite() && x != 0.0 && v.is_f64() => format!("{x:.2e}")
            .parse::<f64>()
            .map_or_else(|_| v.to_string(), |r| r.to_string()),
        _ => v.to_string(),
    }
}

/// A start coordinate as the study computed it (shortest round-trip text).
struct Start(f64);

impl std::fmt::Display for Start {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

fn optional(v: Option<usize>) -> String {
    v.map_or(String::new(), |v| v.to_string())
}

impl Study {
    /// The `runs.csv` line of row `r` (without the newline).
    pub fn csv_line(&self, r: usize, o: &Outcome) -> String {
        let (c, s, k) = self.row(r);
        let diverged = o.diverged_at.is_some();
        let end = |v: f32| if diverged { String::new() } else { cell(v) };
        format!(
            "{c},{},{},{},{},{},{},{},{},{},{},{}",
            self.configs[c].optimizer.name,
            Start(self.starts[s][0]),
            Start(self.starts[s][1]),
            self.seeds[k],
            end(o.final_point[0]),
            end(o.final_point[1]),
            end(o.final_loss),
            cell(o.best_loss),
            optional(o.steps_to_threshold),
            optional(o.diverged_at),
            o.basin
        )
    }

    /// Writes `runs.csv`'s text for rows `first..` with their outcomes to `w`.
    pub fn write_csv(&self, w: &mut impl Write, first: usize, outcomes: &[Outcome]) -> std::io::Result<()> {
        writeln!(w, "{HEADER}")?;
        for (i, o) in outcomes.iter().enumerate() {
            writeln!(w, "{}", self.csv_line(first + i, o))?;
        }
        Ok(())
    }

    /// Writes `runs.csv` for rows `first..` with their outcomes.
    pub fn write_runs(&self, path: &Path, first: usize, outcomes: &[Outcome]) -> Result<()> {
        write_atomic_with(path, |w| self.write_csv(w, first, outcomes))
    }

    /// The text of `tuned/experiment.json`: [`Study::tuned_experiment`], pretty-printed.
    pub fn tuned_text(&self, outcomes: &[Outcome]) -> String {
        serde_json::to_string_pretty(&self.tuned_experiment(outcomes)).expect("experiments serialize") + "\n"
    }

    /// Reads the outcomes back from a `runs.csv` of rows `first..` (a shard's, or the whole).
    pub fn read_runs(&self, path: &Path, first: usize) -> Result<Vec<Outcome>> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "read", e))?;
        let mut lines = text.lines();
        if lines.next() != Some(HEADER) {
            return Err(Error::input(
                path,
                "",
                format!("expected a runs.csv with the header {HEADER}"),
            ));
        }
        let bad = |line: usize, what: &str| Error::input(path, "", format!("line {}: {what}", line + 2));
        lines
            .enumerate()
            .map(|(i, line)| {
                let f: Vec<&str> = line.split(',').collect();
                if f.len() != 12 || f[0].parse::<usize>().ok() != Some(self.row(first + i).0) {
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
                })
            })
            .collect()
    }

    /// The objective tuning uses (the tune's, or the median final loss).
    pub fn objective(&self) -> Objective {
        self.tune.as_ref().map_or(Objective::MedianFinalLoss, |t| t.objective)
    }

    /// Each configuration's summary (over all its starts and seeds) from every row's outcome.
    pub fn summaries(&self, outcomes: &[Outcome]) -> Vec<Summary> {
        let per = self.starts.len() * self.seeds.len();
        outcomes.chunks(per).map(Summary::of).collect()
    }

    /// The best configuration per label (optimizer), in the order labels first appear.
    pub fn best(&self, summaries: &[Summary]) -> Vec<(String, usize)> {
        let objective = self.objective();
        let mut best: Vec<(String, usize)> = Vec::new();
        for (i, config) in self.configs.iter().enumerate() {
            let name = config.label.clone();
            match best.iter_mut().find(|(n, _)| *n == name) {
                None => best.push((name, i)),
                Some((_, b)) => {
                    if summaries[i].better(&summaries[*b], objective) {
                        *b = i;
                    }
                }
            }
        }
        best
    }

    /// The `study.json` value.
    pub fn summary_json(&self, outcomes: &[Outcome]) -> Value {
        let summaries = self.summaries(outcomes);
        let objective = self.objective();
        let configurations: Vec<Value> = self
            .configs
            .iter()
            .zip(&summaries)
            .enumerate()
            .map(|(i, (c, s))| {
                let mut v = json!({"config": i, "label": c.label, "optimizer": c.optimizer.name, "swept": c.swept,
                                   "hyperparameters": c.hyperparameters});
                if let Some(b) = c.batch_size {
                    v["batch_size"] = json!(b);
                }
                v.as_object_mut()
                    .expect("an object")
                    .append(s.to_json().as_object_mut().expect("an object"));
                v
            })
            .collect();
        let best: Map<String, Value> = self
            .best(&summaries)
            .into_iter()
            .map(|(name, i)| {
                let v = json!({"config": i, "swept": self.configs[i].swept,
                               objective.name(): summaries[i].objective_value(objective)});
                (name, v)
            })
            .collect();
        let mut out = json!({"name": self.name});
        let o = out.as_object_mut().expect("an object");
        if let Some(t) = &self.title {
            o.insert("title".into(), json!(t));
        }
        o.insert(
            "surface".into(),
            serde_json::to_value(&self.surface_spec).expect("specs serialize"),
        );
        if let Some(d) = self.domain {
            o.insert("domain".into(), serde_json::to_value(d).expect("domains serialize"));
        }
        o.insert("steps".into(), json!(self.steps));
        o.insert("runs".into(), json!(self.rows()));
        o.insert("starts".into(), json!(self.starts.len()));
        o.insert("seeds".into(), json!(self.seeds));
        o.insert("threshold".into(), json!(self.threshold));
        o.insert("target".into(), json!(self.target()));
        o.insert("objective".into(), json!(objective.name()));
        o.insert("configurations".into(), Value::Array(configurations));
        o.insert("best".into(), Value::Object(best));
        out
    }

    /// The text of `study.json`.
    pub fn summary_text(&self, outcomes: &[Outcome]) -> String {
        serde_json::to_string_pretty(&self.summary_json(outcomes)).expect("summaries serialize") + "\n"
    }

    /// The tuned comparison: the best configuration per optimizer as an ordinary experiment
    /// file, from the tune's start (or the study's first).
    pub fn tuned_experiment(&self, outcomes: &[Outcome]) -> Value {
        let summaries = self.summaries(outcomes);
        let start = self.tune.as_ref().and_then(|t| t.start).unwrap_or(self.starts[0]);
        let runs: Vec<Value> = self
            .best(&summaries)
            .into_iter()
            .map(|(name, i)| {
                let c = &self.configs[i];
                let swept: Vec<String> = c
                    .swept
                    .iter()
                    .map(|(k, v)| format!("{}={}", k.replace("learning_rate", "lr"), three_digits(v)))
                    .collect();
                let label = if swept.is_empty() {
                    name.clone()
                } else {
                    format!("{name} {}", swept.join(" "))
                };
                let mut run = Map::new();
                run.insert("label".into(), json!(label));
                run.insert("optimizer".into(), json!(c.optimizer.name));
                run.extend(c.hyperparameters.clone());
                if let Some(b) = c.batch_size {
                    run.insert("batch_size".into(), json!(b));
                }
                Value::Object(run)
            })
            .collect();
        let mut e = Map::new();
        e.insert("name".into(), json!(format!("{}-tuned", self.name)));
        e.insert(
            "title".into(),
            json!(format!(
                "{}: each optimizer at its best ({})",
                self.title.as_deref().unwrap_or(&self.name),
                self.objective().name()
            )),
        );
        e.insert(
            "surface".into(),
            serde_json::to_value(&self.surface_spec).expect("specs serialize"),
        );
        if let Some(d) = self.domain {
            e.insert("domain".into(), serde_json::to_value(d).expect("domains serialize"));
        }
        e.insert(
            "noise".into(),
            serde_json::to_value(self.noise).expect("noise serializes"),
        );
        e.insert("seed".into(), json!(self.seeds[0]));
        if self.sigma > 0.0 {
            e.insert("gradient_noise".into(), json!({"sigma": self.sigma}));
        }
        e.insert("start".into(), json!(start));
        e.insert("steps".into(), json!(self.steps));
        let mut plot = json!({"view": "contour", "legend": true});
        match runs.len() {
            0..=8 => {}
            9..=10 => plot["colors"] = json!(crate::experiment::plot_spec::TEN_COLORS),
            _ => plot["colors"] = json!(crate::experiment::plot_spec::MANY_COLORS),
        }
        e.insert("plot".into(), plot);
        e.insert("runs".into(), Value::Array(runs));
        Value::Object(e)
    }

    /// Where each shard's files go, and what they say of themselves.
    pub fn shard_json(&self, shard: [usize; 2], rows: std::ops::Range<usize>) -> Value {
        json!({"study": self.text, "source": self.source, "shard": shard, "rows": [rows.start, rows.end],
               "total": self.rows()})
    }

    /// Rows of shard `i` of `n`: a contiguous, deterministic slice.
    pub fn shard_rows(&self, i: usize, n: usize) -> std::ops::Range<usize> {
        let r = self.rows();
        (i * r / n)..((i + 1) * r / n)
    }
}

/// One configuration's results over its starts and seeds. Diverged runs count as an infinite
/// final loss.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// Runs.
    pub runs: usize,
    /// Median, mean, minimum and maximum final loss (infinite when diverged runs decide it).
    pub final_loss: [f64; 4],
    /// Share of runs that reached the threshold without diverging.
    pub success_rate: f64,
    /// Median steps to the threshold over the runs that reached it.
    pub median_steps: Option<f64>,
    /// Share of runs that diverged.
    pub divergence_rate: f64,
}

fn median(sorted: &[f64]) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => {
            let (a, b) = (sorted[n / 2 - 1], sorted[n / 2]);
            if a == b { a } else { a + (b - a) / 2.0 }
        }
    }
}

impl Summary {
    fn of(outcomes: &[Outcome]) -> Summary {
        let n = outcomes.len();
        let mut losses: Vec<f64> = outcomes
            .iter()
            .map(|o| {
                if o.diverged_at.is_some() {
                    f64::INFINITY
                } else {
                    o.final_loss as f64
                }
            })
            .collect();
        losses.sort_by(f64::total_cmp);
        let mean = losses.iter().sum::<f64>() / n as f64;
        let mut steps: Vec<f64> = outcomes
            .iter()
            .filter(|o| o.diverged_at.is_none())
            .filter_map(|o| o.steps_to_threshold.map(|s| s as f64))
            .collect();
        steps.sort_by(f64::total_cmp);
        Summary {
            runs: n,
            final_loss: [median(&losses), mean, losses[0], losses[n - 1]],
            success_rate: steps.len() as f64 / n as f64,
            median_steps: (!steps.is_empty()).then(|| median(&steps)),
            divergence_rate: outcomes.iter().filter(|o| o.diverged_at.is_some()).count() as f64 / n as f64,
        }
    }

    /// The value ranked by `objective` (lower is better; success rate negated).
    pub fn rank(&self, objective: Objective) -> f64 {
        match objective {
            Objective::MedianFinalLoss => self.final_loss[0],
            Objective::MeanFinalLoss => self.final_loss[1],
            Objective::SuccessRate => -self.success_rate,
            Objective::MedianStepsToThreshold => self.median_steps.unwrap_or(f64::INFINITY),
        }
    }

    /// True when strictly better by `objective`; ties go to the fewer median steps to the
    /// threshold, then the lower median final loss, then the earlier configuration. NaN ranks
    /// last.
    pub fn better(&self, other: &Summary, objective: Objective) -> bool {
        let key = |s: &Summary| {
            [objective, Objective::MedianStepsToThreshold, Objective::MedianFinalLoss].map(|o| {
                let v = s.rank(o);
                if v.is_nan() { f64::INFINITY } else { v }
            })
        };
        key(self).partial_cmp(&key(other)) == Some(std::cmp::Ordering::Less)
    }

    /// The objective's value as `study.json` shows it.
    fn objective_value(&self, objective: Objective) -> Value {
        match objective {
            Objective::SuccessRate => json!(self.success_rate),
            Objective::MedianStepsToThreshold => json!(self.median_steps),
            _ => finite(self.rank(objective)),
        }
    }

    fn to_json(&self) -> Value {
        let [median, mean, min, max] = self.final_loss.map(finite);
        json!({"runs": self.runs, "final_loss": {"median": median, "mean": mean, "min": min, "max": max},
               "success_rate": self.success_rate, "median_steps_to_threshold": self.median_steps,
               "divergence_rate": self.divergence_rate})
    }
}

/// A number, or null when it is not finite.
fn finite(v: f64) -> Value {
    if v.is_finite() { json!(v) } else { Value::Null }
}

/// A shard's description, read back for merging.
pub struct Shard {
    /// Its folder.
    pub dir: PathBuf,
    /// The study file's JSON.
    pub study: Value,
    /// The study file's path.
    pub source: PathBuf,
    /// `[i, n]`.
    pub shard: [usize; 2],
    /// Its rows.
    pub rows: std::ops::Range<usize>,
}

impl Shard {
    /// Reads `shard.json` in `dir`.
    pub fn load(dir: &Path) -> Result<Shard> {
        let path = dir.join("shard.json");
        let text = std::fs::read_to_string(&path).map_err(|e| {
            Error::input(
                &path,
                "",
                format!("not a shard folder (no shard.json: {e}); expected the folder a `run --shard I/N` wrote"),
            )
        })?;
        let v: Value =
            serde_json::from_str(&text).map_err(|e| Error::input(&path, "", format!("invalid JSON: {e}")))?;
        let pair = |key: &str| -> Option<[usize; 2]> {
            let a = v.get(key)?.as_array()?;
            Some([a.first()?.as_u64()? as usize, a.get(1)?.as_u64()? as usize])
        };
        let (Some(shard), Some(rows), Some(study), Some(source)) = (
            pair("shard"),
            pair("rows"),
            v.get("study"),
            v.get("source").and_then(Value::as_str),
        ) else {
            return Err(Error::input(&path, "", "expected shard, rows, study and source"));
        };
        Ok(Shard {
            dir: dir.to_path_buf(),
            study: study.clone(),
            source: PathBuf::from(source),
            shard,
            rows: rows[0]..rows[1],
        })
    }
}
