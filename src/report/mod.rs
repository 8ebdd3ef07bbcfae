//! The report: one HTML page over a results folder, and an interactive view per experiment.
//!
//! `optsurf report [RESULTS_DIR]` finds every result under the folder (each `trajectories.json`,
//! each AdaGrad-vectors `vectors.json`, each study's `study.json`) and writes
//! `RESULTS_DIR/index.html`: the results grouped by folder, each with its title, surface, steps,
//! figures and a table of its runs (non-default hyperparameters, final loss, status, the best run
//! marked). Beside each trajectory file it writes `view.html`, the runs drawn over a contour image
//! of the surface (`contour.png`, drawn by [`plot::contour_image`]) with a step slider, a loss
//! chart, hover and a toggle per run, in plain JavaScript with the data inline, so both pages work
//! from `file://` with no network.
//!
//! A file that cannot be read is listed with the reason; nothing under the folder stops the
//! report except failing to write it.
//!
//! ```no_run
//! # fn main() -> optsurf::Result<()> {
//! let device = optsurf::backend::Backend::default().device()?;
//! let report = optsurf::report::write("results".as_ref(), &optsurf::Registry::builtin(), &device)?;
//! println!("{}", report.index.display());
//! # Ok(()) }
//! ```

mod html;
mod landscape;

use crate::error::{Error, Result};
use crate::experiment::vectors::VectorsResult;
use crate::io::write_atomic;
use crate::plot;
use crate::registry::Registry;
use crate::results::ResultDir;
use crate::results::trajectory::{Status, Trajectories};
use burn::tensor::Device;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Size of the contour image of an interactive view, in pixels.
pub(crate) const VIEW_SIZE: [usize; 2] = [600, 600];
/// The figures an experiment folder may hold, in the order the page shows them.
pub(crate) const EXPERIMENT_FIGURES: [&str; 12] = [
    "surface.png",
    "surface.gif",
    "loss.png",
    "loss.gif",
    "accuracy.png",
    "learning_rate.png",
    "vectors.png",
    "landscape_contour.png",
    "landscape.png",
    "landscape.gif",
    "residual.png",
    "interpolation.png",
];
/// The figures a study folder may hold.
pub(crate) const STUDY_FIGURES: [&str; 3] = ["heatmap.png", "basins.png", "sensitivity.png"];

/// What the report wrote.
#[derive(Debug)]
pub struct Report {
    /// The page: `RESULTS_DIR/index.html`.
    pub index: PathBuf,
    /// Everything listed, in page order.
    pub(crate) entries: Vec<Entry>,
    /// The interactive views written (`<experiment>/view.html`).
    pub(crate) views: Vec<PathBuf>,
}

impl Report {
    /// The entries that could not be read, with their reasons.
    pub(crate) fn broken(&self) -> impl Iterator<Item = (&Entry, &str)> {
        self.entries.iter().filter_map(|e| match &e.content {
            Content::Broken { reason, .. } => Some((e, reason.as_str())),
            Content::Study(s) => s.unreadable.as_deref().map(|r| (e, r)),
            _ => None,
        })
    }

    /// The experiments whose view has no contour image, with the reasons (a surface this
    /// registry does not know, most often).
    pub(crate) fn undrawn(&self) -> impl Iterator<Item = (&Entry, &str)> {
        self.entries.iter().filter_map(|e| match &e.content {
            Content::Runs(r) => r.contour_error.as_deref().map(|reason| (e, reason)),
            _ => None,
        })
    }
}

/// One result on the page.
#[derive(Debug)]
pub(crate) struct Entry {
    /// Its folder, relative to the results folder (`blog/all-f0`).
    pub dir: PathBuf,
    /// What the folder holds.
    pub content: Content,
    /// The figures present in the folder, by file name.
    pub figures: Vec<String>,
    /// When the folder has results but no figures (a committed baseline never run here): the
    /// command that runs it.
    pub not_run: Option<String>,
}

impl Entry {
    /// The folder's name (the experiment's output folder).
    pub(crate) fn name(&self) -> String {
        self.dir
            .file_name()
            .map_or_else(|| ".".into(), |n| n.to_string_lossy().into_owned())
    }

    /// The group the page lists it under: its parent folder (`blog`), empty at the top.
    pub(crate) fn group(&self) -> PathBuf {
        self.dir.parent().map(Path::to_path_buf).unwrap_or_default()
    }
}

/// What a result folder holds.
#[derive(Debug)]
pub(crate) enum Content {
    /// An experiment's trajectories.
    Runs(Box<RunsEntry>),
    /// An AdaGrad-vectors experiment.
    Vectors(VectorsResult),
    /// A study (`study.json`).
    Study(StudyEntry),
    /// A trajectory file that is missing or cannot be read.
    Broken {
        /// The file, relative to the results folder.
        file: PathBuf,
        /// Why it cannot be shown.
        reason: String,
    },
}

/// An experiment's trajectories with what the page says about them.
#[derive(Debug)]
pub(crate) struct RunsEntry {
    /// The trajectories as read.
    pub trajectories: Trajectories,
    /// One summary per run, in order.
    pub runs: Vec<RunSummary>,
    /// The view, or why there is none.
    pub view: std::result::Result<PathBuf, String>,
    /// Why the view has no contour image (the surface could not be rebuilt), if so.
    pub contour_error: Option<String>,
    /// A model's planes (`landscape.json`, ...), each with its view.
    pub landscapes: Vec<landscape::PlaneEntry>,
}

/// The page's row for one run.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RunSummary {
    /// The hyperparameters that differ from the optimizer's defaults, as `name=value`, in the
    /// trajectory file's order; every hyperparameter when the optimizer is not registered.
    pub hyper: Vec<String>,
    /// False when the registry does not know the optimizer (then `hyper` lists them all).
    pub known_optimizer: bool,
    /// The last loss, for a run that did not diverge and whose last loss is finite.
    pub final_loss: Option<f64>,
    /// The last finite loss and its step, whatever the status.
    pub last: Option<(usize, f64)>,
    /// The lowest final loss among the experiment's finite ones (ties all marked).
    pub best: bool,
}

/// A study's folder, read generically.
#[derive(Debug)]
pub(crate) struct StudyEntry {
    /// `study.json` as read (when it parses).
    pub json: Option<Value>,
    /// The best configuration per optimizer.
    pub best: Vec<BestConfig>,
    /// Why `study.json` (or its `best`) could not be read, if so.
    pub unreadable: Option<String>,
    /// The study has a tuned comparison (`tuned/trajectories.json`).
    pub tuned: bool,
}

/// One optimizer's best configuration in a study.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct BestConfig {
    /// What `best` calls it (the optimizer's label).
    pub name: String,
    /// The optimizer and its hyperparameters that differ from the defaults, from the entry of
    /// `configurations` the best one points to (`"config": i`), when there is one.
    pub configuration: Option<(String, Vec<String>)>,
    /// The rest: the best entry's own fields (objects inside it flattened; the swept values
    /// left out when the configuration is known) and the configuration's success and divergence
    /// rates, numbers to six digits.
    pub fields: Vec<(String, String)>,
}

/// Writes `results/index.html`, and `view.html` and `contour.png` beside every trajectory file.
/// `device` evaluates the surfaces for the contour images.
pub fn write(results: &Path, registry: &Registry, device: &Device) -> Result<Report> {
    if !results.is_dir() {
        return Err(Error::input(
            results,
            "",
            "expected a results folder (run `optsurf run <experiments>` first)",
        ));
    }
    let mut entries = scan(results, registry);
    let views = write_views(results, &mut entries, registry, device)?;
    let index = results.join(ResultDir::INDEX);
    let title = results.display().to_string();
    write_atomic(&index, html::index(&title, &entries).as_bytes())?;
    Ok(Report { index, entries, views })
}

/// Every result under `results`, sorted by folder, read but nothing written.
pub(crate) fn scan(results: &Path, registry: &Registry) -> Vec<Entry> {
    let mut entries = Vec::new();
    for (rel, files) in crate::results::folders(results) {
        let dir = results.join(&rel);
        let has = |name: &str| files.iter().any(|f| f == name);
        let figures_of =
            |names: &[&str]| -> Vec<String> { names.iter().filter(|n| has(n)).map(|n| n.to_string()).collect() };
        let mut found = false;
        let dir = ResultDir::new(dir);
        if has(ResultDir::STUDY) {
            found = true;
            entries.push(Entry {
                dir: rel.clone(),
                content: Content::Study(StudyEntry {
                    tuned: dir.tuned().trajectories().is_file(),
                    ..read_study(&dir.study(), registry)
                }),
                figures: figures_of(&STUDY_FIGURES),
                not_run: None,
            });
        }
        if has(ResultDir::TRAJECTORIES) {
            found = true;
            let content = match Trajectories::load(&dir.trajectories()) {
                Ok(t) => Content::Runs(Box::new(RunsEntry {
                    landscapes: landscape::planes(dir.path(), has),
                    ..summarize(t, registry)
                })),
                Err(e) => Content::Broken {
                    file: rel.join(ResultDir::TRAJECTORIES),
                    reason: e.to_string(),
                },
            };
            entries.push(Entry {
                dir: rel.clone(),
                content,
                figures: figures_of(&EXPERIMENT_FIGURES),
                not_run: None,
            });
        }
        if has(ResultDir::VECTORS) {
            found = true;
            let content = match VectorsResult::load(&dir.vectors()) {
                Ok(v) => Content::Vectors(v),
                Err(e) => Content::Broken {
                    file: rel.join(ResultDir::VECTORS),
                    reason: e.to_string(),
                },
            };
            entries.push(Entry {
                dir: rel.clone(),
                content,
                figures: figures_of(&EXPERIMENT_FIGURES),
                not_run: None,
            });
        }
        // Figures (or a baseline awaiting review) without their trajectories.
        let pending = crate::results::new_file(Path::new(ResultDir::TRAJECTORIES));
        let pending = pending.to_string_lossy();
        let leftovers: Vec<&String> = files
            .iter()
            .filter(|f| EXPERIMENT_FIGURES.contains(&f.as_str()) || **f == pending || *f == ResultDir::VIEW)
            .collect();
        if !found && !leftovers.is_empty() {
            let list: Vec<&str> = leftovers.iter().map(|s| s.as_str()).collect();
            let mut reason = format!("trajectories.json is missing (the folder holds {})", list.join(", "));
            if has(&pending) {
                reason.push_str("; `optsurf accept` moves trajectories.json.new into place");
            }
            entries.push(Entry {
                dir: rel.clone(),
                content: Content::Broken {
                    file: rel.join(ResultDir::TRAJECTORIES),
                    reason,
                },
                figures: figures_of(&EXPERIMENT_FIGURES),
                not_run: None,
            });
        }
    }
    for e in &mut entries {
        if e.figures.is_empty() && !matches!(e.content, Content::Broken { .. }) {
            e.not_run = Some(run_command(results, &e.dir));
        }
    }
    entries
}

/// `optsurf run PATH` for the result folder `rel` under `results`: the experiment file under
/// `experiments/` (beside `results`) whose results it holds (named after the folder, or with
/// that `name` inside), looking up the folders above for a study's `tuned/`; else the folder
/// of experiments it mirrors.
fn run_command(results: &Path, rel: &Path) -> String {
    let experiments = results.parent().unwrap_or(Path::new("")).join("experiments");
    let named = |dir: &Path, name: &str| -> Option<PathBuf> {
        let file = dir.join(format!("{name}.json"));
        if file.is_file() {
            return Some(file);
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        files.into_iter().find(|p| {
            std::fs::read_to_string(p)
                .ok()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                .is_some_and(|v| v["name"] == name)
        })
    };
    let found = rel.ancestors().filter(|a| !a.as_os_str().is_empty()).find_map(|a| {
        let name = a.file_name()?.to_string_lossy().into_owned();
        named(&experiments.join(a.parent().unwrap_or(Path::new(""))), &name)
    });
    let path = found.unwrap_or_else(|| experiments.join(rel.parent().unwrap_or(Path::new(""))));
    format!("optsurf run {}", path.display())
}

/// Reads a study's `study.json` without knowing its exact shape: a `best` that is an object
/// (optimizer -> configuration) or a list of configurations; each may point into
/// `configurations` (`"config": i`) for its optimizer and hyperparameters.
fn read_study(path: &Path, registry: &Registry) -> StudyEntry {
    let text = match crate::io::read_input(path, crate::io::Input::RESULT) {
        Ok(t) => t,
        Err(e) => {
            return StudyEntry {
                json: None,
                best: Vec::new(),
                unreadable: Some(e.to_string()),
                tuned: false,
            };
        }
    };
    let json: Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            return StudyEntry {
                json: None,
                best: Vec::new(),
                unreadable: Some(format!("{}: not JSON: {e}", path.display())),
                tuned: false,
            };
        }
    };
    // A configuration's fields, metrics to six digits; an object inside it (the swept
    // hyperparameters, say) gives its own fields in its place.
    let text = |v: &Value| match v {
        Value::Number(n) if n.is_f64() => html::num(n.as_f64().unwrap_or(f64::NAN)),
        v => value_text(v),
    };
    let fields = |v: &Value| -> Vec<(String, String)> {
        match v {
            Value::Object(m) => m
                .iter()
                .flat_map(|(k, v)| match v {
                    Value::Object(inner) => inner.iter().map(|(k, v)| (k.clone(), text(v))).collect(),
                    v => vec![(k.clone(), text(v))],
                })
                .collect(),
            other => vec![(String::new(), text(other))],
        }
    };
    let configurations = json.get("configurations").and_then(Value::as_array);
    let entry = |name: String, v: &Value| -> BestConfig {
        let config = v
            .get("config")
            .and_then(Value::as_u64)
            .and_then(|i| configurations?.get(i as usize));
        let known = config.and_then(|c| {
            let optimizer = c.get("optimizer")?.as_str()?;
            let Value::Object(hyper) = c.get("hyperparameters")? else {
                return None;
            };
            let defaults = registry
                .optimizer(optimizer)
                .map(|o| o.defaults().hyperparameters())
                .unwrap_or_default();
            Some((optimizer.to_string(), non_defaults(hyper, &defaults)))
        });
        let fields = match (&known, v, config) {
            (Some(_), Value::Object(m), Some(c)) => {
                let mut f: Vec<(String, String)> = m
                    .iter()
                    .filter(|(k, v)| *k != "config" && !v.is_object())
                    .map(|(k, v)| (k.clone(), text(v)))
                    .collect();
                for key in ["success_rate", "divergence_rate"] {
                    if let Some(x) = c.get(key).filter(|_| !m.contains_key(key)) {
                        f.push((key.to_string(), text(x)));
                    }
                }
                f
            }
            _ => fields(v),
        };
        BestConfig {
            name,
            configuration: known,
            fields,
        }
    };
    let (best, unreadable) = match json.get("best") {
        Some(Value::Object(m)) => (m.iter().map(|(k, v)| entry(k.clone(), v)).collect(), None),
        Some(Value::Array(list)) => (
            list.iter()
                .enumerate()
                .map(|(i, v)| {
                    let name = v
                        .get("optimizer")
                        .and_then(Value::as_str)
                        .map_or_else(|| format!("#{}", i + 1), str::to_string);
                    entry(name, v)
                })
                .collect(),
            None,
        ),
        Some(other) => (
            Vec::new(),
            Some(format!(
                "{}: field `best`: expected an object or a list of configurations, got {}",
                path.display(),
                kind_of(other)
            )),
        ),
        None => (
            Vec::new(),
            Some(format!(
                "{}: no field `best` (the best configuration per optimizer)",
                path.display()
            )),
        ),
    };
    StudyEntry {
        json: Some(json),
        best,
        unreadable,
        tuned: false,
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A JSON value as the page prints it: strings bare, numbers as JSON writes them, the rest as
/// compact JSON.
pub(crate) fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The hyperparameters of `run` that differ from `defaults`, as `name=value`; a learning-rate
/// schedule as Keras writes its constructor, `CosineDecay(initial_learning_rate=0.5, ...)`.
pub(crate) fn non_defaults(hyper: &Map<String, Value>, defaults: &Map<String, Value>) -> Vec<String> {
    hyper
        .iter()
        .filter(|(k, v)| !defaults.get(*k).is_some_and(|d| same_value(d, v)))
        .map(|(k, v)| match v {
            Value::Object(m) if m.get("schedule").is_some_and(Value::is_string) => {
                let args: Vec<String> = m
                    .iter()
                    .filter(|(a, _)| *a != "schedule")
                    .map(|(a, x)| format!("{a}={}", value_text(x)))
                    .collect();
                format!("{k}={}({})", value_text(&m["schedule"]), args.join(", "))
            }
            _ => format!("{k}={}", value_text(v)),
        })
        .collect()
}

/// Equal JSON values, numbers compared as numbers (`1` equals `1.0`).
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn summarize(trajectories: Trajectories, registry: &Registry) -> RunsEntry {
    let mut runs: Vec<RunSummary> = trajectories
        .runs
        .iter()
        .map(|r| {
            let (hyper, known_optimizer) = match registry.optimizer(&r.optimizer) {
                Some(entry) => (
                    non_defaults(&r.hyperparameters, &entry.defaults().hyperparameters()),
                    true,
                ),
                None => (non_defaults(&r.hyperparameters, &Map::new()), false),
            };
            let n = r.drawable();
            let last = r.loss[..n]
                .iter()
                .enumerate()
                .rev()
                .find(|(_, l)| l.is_finite())
                .map(|(i, &l)| (i, l as f64));
            let final_loss = match (r.status, r.loss[..n].last()) {
                (Status::Ok, Some(&l)) if l.is_finite() => Some(l as f64),
                _ => None,
            };
            RunSummary {
                hyper,
                known_optimizer,
                final_loss,
                last,
                best: false,
            }
        })
        .collect();
    let best = runs.iter().filter_map(|r| r.final_loss).min_by(f64::total_cmp);
    for r in &mut runs {
        r.best = best.is_some() && r.final_loss == best;
    }
    RunsEntry {
        trajectories,
        runs,
        view: Err("not written yet".into()),
        contour_error: None,
        landscapes: Vec::new(),
    }
}

/// Writes `contour.png` and `view.html` beside each trajectory file. A contour image is drawn
/// once per distinct surface (surface, domain and noise), in parallel.
fn write_views(results: &Path, entries: &mut [Entry], registry: &Registry, device: &Device) -> Result<Vec<PathBuf>> {
    // Distinct surfaces, and the experiments over each.
    let mut views = Vec::new();
    let mut keys: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, e) in entries.iter_mut().enumerate() {
        if let Content::Runs(r) = &mut e.content {
            let t = &r.trajectories;
            // A model's P parameters have no plane to draw the runs on but its landscapes'.
            if t.params.is_some() {
                r.view = Err("a model has no 2D view; see its loss chart and planes".into());
                views.extend(write_plane_views(&results.join(&e.dir), e.dir.components().count(), r)?);
                continue;
            }
            let key = serde_json::to_string(&(&t.surface, &t.domain, &t.noise)).expect("surfaces serialize");
            keys.entry(key).or_default().push(i);
        }
    }
    let jobs: Vec<(usize, Vec<usize>)> = keys.into_values().map(|v| (v[0], v)).collect();
    let images = render_contours(results, entries, &jobs, registry, device);
    for ((_, members), image) in jobs.iter().zip(images) {
        for &i in members {
            let entry = &mut entries[i];
            let dir = results.join(&entry.dir);
            let depth = entry.dir.components().count();
            let figures = entry.figures.clone();
            let Content::Runs(runs) = &mut entry.content else {
                unreachable!("only experiments have views")
            };
            let image = match &image {
                Ok(image) => {
                    write_atomic(&dir.join(ResultDir::CONTOUR), &image.png)?;
                    Some(image)
                }
                Err(reason) => {
                    runs.contour_error = Some(shown_reason(reason));
                    None
                }
            };
            let page = html::view(runs, image, depth, &figures);
            let path = dir.join(ResultDir::VIEW);
            write_atomic(&path, page.as_bytes())?;
            runs.view = Ok(path.clone());
            views.push(path);
        }
    }
    Ok(views)
}

/// Writes each readable plane's image (`landscape_plane.png`, ...) and view
/// (`landscape_view.html`, ...) into `dir`, `depth` folders below the index; returns the views.
fn write_plane_views(dir: &Path, depth: usize, r: &mut RunsEntry) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for k in 0..r.landscapes.len() {
        let Ok(plane) = &r.landscapes[k].plane else {
            continue;
        };
        let image = match plot::plane_image(plane, VIEW_SIZE) {
            Ok(image) => image,
            Err(e) => {
                r.landscapes[k].plane = Err(format!("its image could not be drawn: {e}"));
                continue;
            }
        };
        let n = r.landscapes[k].k;
        let src = crate::landscape::numbered("landscape_plane", n, "png");
        write_atomic(&dir.join(&src), &image.png)?;
        let name = crate::landscape::numbered("landscape_view", n, "html");
        let path = dir.join(&name);
        write_atomic(&path, html::plane_view(r, k, &image, &src, depth).as_bytes())?;
        r.landscapes[k].view = Some(name);
        written.push(path);
    }
    Ok(written)
}

/// Why a view has no contour image, as the page shows it. The reason a data surface failed is
/// left out: it may quote the data file, and a page is made to be shared (`optsurf plot` on the
/// file gives it whole).
fn shown_reason(e: &crate::Error) -> String {
    match e {
        crate::Error::Input { file, field, .. } if field.starts_with("surface.data") => {
            format!("{file}: field `{field}`: its data could not be read (`optsurf plot {file}` says why)")
        }
        e => e.to_string(),
    }
}

/// The contour image of each job's first experiment (or why there is none), on up to two
/// threads.
fn render_contours(
    results: &Path,
    entries: &[Entry],
    jobs: &[(usize, Vec<usize>)],
    registry: &Registry,
    device: &Device,
) -> Vec<Result<plot::ContourImage>> {
    let render = |i: usize| -> Result<plot::ContourImage> {
        let Content::Runs(r) = &entries[i].content else {
            unreachable!("only experiments have views")
        };
        let t = &r.trajectories;
        let path = ResultDir::new(results.join(&entries[i].dir)).trajectories();
        let surface = t.resolve_surface(registry, &path, device)?;
        let mesh = surface.on_mesh(&surface.noise(t.noise, device), device);
        plot::contour_image(&surface, &mesh, VIEW_SIZE)
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 2)
        .min(jobs.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut out: Vec<Option<Result<plot::ContourImage>>> = Vec::new();
    out.resize_with(jobs.len(), || None);
    let slots = std::sync::Mutex::new(&mut out);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if k >= jobs.len() {
                        break;
                    }
                    // A surface that fails to evaluate costs its view the image, not the report.
                    let image = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| render(jobs[k].0)))
                        .unwrap_or_else(|_| {
                            Err(Error::Plot(
                                "evaluating the surface failed (see the message above)".into(),
                            ))
                        });
                    slots.lock().expect("no thread panicked holding the lock")[k] = Some(image);
                }
            });
        }
    });
    out.into_iter()
        .map(|o| o.unwrap_or_else(|| Err(Error::Plot("the contour image was not drawn".into()))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tempfile;
    use serde_json::json;

    #[test]
    fn non_defaults_compare_numbers_as_numbers() {
        let defaults = json!({"learning_rate": 0.01, "momentum": 0.0, "nesterov": false, "weight_decay": null});
        let given = json!({"learning_rate": 0.5, "momentum": 0, "nesterov": true, "weight_decay": null});
        let (Value::Object(d), Value::Object(g)) = (defaults, given) else {
            unreachable!()
        };
        assert_eq!(non_defaults(&g, &d), ["learning_rate=0.5", "nesterov=true"]);
        let scheduled = json!({"learning_rate": {"schedule": "ExponentialDecay", "initial_learning_rate": 50.0,
                                                 "decay_steps": 30.0, "staircase": false}, "momentum": 0.0});
        let Value::Object(s) = scheduled else { unreachable!() };
        assert_eq!(
            non_defaults(&s, &d),
            ["learning_rate=ExponentialDecay(initial_learning_rate=50.0, decay_steps=30.0, staircase=false)"]
        );
    }

    #[test]
    fn studies_are_read_whatever_the_shape_of_best() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("study.json");
        let registry = Registry::builtin();
        let pairs = |p: &[(&str, &str)]| -> Vec<(String, String)> {
            p.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        std::fs::write(
            &path,
            r#"{"best": {"adam": {"learning_rate": 0.1, "median_final_loss": 0.002}}}"#,
        )
        .unwrap();
        let s = read_study(&path, &registry);
        assert_eq!(s.unreadable, None);
        assert_eq!(s.best[0].name, "adam");
        assert_eq!(s.best[0].configuration, None);
        assert_eq!(
            s.best[0].fields,
            pairs(&[("learning_rate", "0.1"), ("median_final_loss", "0.002")])
        );
        // As optsurf's studies write it: the best entry points into `configurations`.
        std::fs::write(
            &path,
            r#"{"configurations": [
                  {"config": 0, "optimizer": "sgd", "hyperparameters": {"learning_rate": 0.01, "momentum": 0.0}},
                  {"config": 1, "optimizer": "sgd", "hyperparameters": {"learning_rate": 0.01, "momentum": 0.9},
                   "success_rate": 1.0, "divergence_rate": 0.0}],
                "best": {"NAG": {"config": 1, "swept": {"momentum": 0.9}, "median_final_loss": 0.0123456789}}}"#,
        )
        .unwrap();
        let s = read_study(&path, &registry);
        assert_eq!(
            s.best[0].configuration,
            Some(("sgd".to_string(), vec!["momentum=0.9".to_string()]))
        );
        assert_eq!(
            s.best[0].fields,
            pairs(&[
                ("median_final_loss", "0.0123457"),
                ("success_rate", "1"),
                ("divergence_rate", "0")
            ])
        );
        // Without a configuration to point to, nested objects are flattened.
        std::fs::write(
            &path,
            r#"{"best": {"sgd": {"config": 5, "swept": {"learning_rate": 0.01, "momentum": 0.9}}}}"#,
        )
        .unwrap();
        assert_eq!(
            read_study(&path, &registry).best[0].fields,
            pairs(&[("config", "5"), ("learning_rate", "0.01"), ("momentum", "0.9")])
        );
        std::fs::write(&path, r#"{"best": [{"optimizer": "sgd", "momentum": 0.9}, 3]}"#).unwrap();
        let s = read_study(&path, &registry);
        assert_eq!(s.best[0].name, "sgd");
        assert_eq!(s.best[1].name, "#2");
        assert_eq!(s.best[1].fields, pairs(&[("", "3")]));
        std::fs::write(&path, r#"{"best": "adam"}"#).unwrap();
        assert!(
            read_study(&path, &registry)
                .unreadable
                .unwrap()
                .contains("got a string")
        );
        std::fs::write(&path, "{").unwrap();
        assert!(read_study(&path, &registry).unreadable.unwrap().contains("not JSON"));
    }
}
