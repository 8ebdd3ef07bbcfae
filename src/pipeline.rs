//! Running a job into a results folder, the whole path of data: the file's typed spec
//! ([`crate::experiment`]) goes through the runner, its results are written
//! ([`crate::results`]) and drawn ([`crate::plot`]). The command line's `run` and `merge` are
//! this; a library user calls it the same way:
//!
//! ```
//! use optsurf::{Registry, experiment::Job, pipeline::Run, results::{ResultDir, Trajectories}};
//! # fn main() -> optsurf::Result<()> {
//! let registry = Registry::builtin();
//! let device = optsurf::backend::Backend::default().device()?;
//! let text = r#"{"name": "bowl", "surface": {"expr": "x^2 + y^2"}, "start": [3, 4], "steps": 20,
//!                "runs": [{"label": "SGD", "optimizer": "sgd", "learning_rate": 0.1}]}"#;
//! let job = Job::parse(text, "bowl.json".as_ref(), &registry, &device)?;
//! let dir = ResultDir::new(std::env::temp_dir().join(format!("optsurf-doc-{}", std::process::id())));
//! job.run_into(&dir, &Run { figures: false, ..Run::new(&registry, &device) })?;
//! let trajectories = Trajectories::load(&dir.trajectories())?;
//! assert_eq!(trajectories.runs[0].points.len(), 21);
//! assert!(trajectories.runs[0].loss[20] < 0.01 * trajectories.runs[0].loss[0]);
//! # std::fs::remove_dir_all(dir.path()).ok();
//! # Ok(())
//! # }
//! ```

use crate::error::{Error, Result};
use crate::experiment::runner::{self, Observer};
use crate::experiment::study::Study;
use crate::experiment::study::run::Outcome;
use crate::experiment::vectors::Vectors;
use crate::experiment::{Experiment, Job};
use crate::io::write_atomic;
use crate::plot::{self, FrameProgress};
use crate::registry::Registry;
use crate::results::study::Shard;
use crate::results::{ResultDir, StudySummary, Trajectories};
use burn::tensor::Device;
use std::path::{Path, PathBuf};

/// Where a job's progress is shown (the command line's bars); every method does nothing by
/// default.
pub trait Progress {
    /// A job called `name` starts `total` units of work (steps, or a study's row-steps).
    fn start(&self, _name: &str, _total: u64) {}
    /// `done` units of the job's work are done.
    fn set(&self, _done: u64) {}
    /// A line for the user (a note or a warning on what a job's results mean).
    fn say(&self, _line: &str) {}
    /// Where the frames of animations are counted.
    fn frames(&self) -> Option<&dyn FrameProgress> {
        None
    }
}

/// No progress shown.
pub struct Quiet;

impl Progress for Quiet {}

/// How jobs are run into folders.
pub struct Run<'a> {
    /// The surfaces and optimizers a study's tuned comparison may name.
    pub registry: &'a Registry,
    /// The device.
    pub device: &'a Device,
    /// Draw the figures.
    pub figures: bool,
    /// Run only shard `[i, n]` of each study, written with its `shard.json`.
    pub shard: Option<[usize; 2]>,
    /// Where progress is shown.
    pub progress: &'a dyn Progress,
}

impl<'a> Run<'a> {
    /// Whole jobs with their figures, quietly.
    pub fn new(registry: &'a Registry, device: &'a Device) -> Self {
        Run {
            registry,
            device,
            figures: true,
            shard: None,
            progress: &Quiet,
        }
    }
}

/// Tells [`Progress`] of an experiment's steps.
struct Steps<'a>(&'a dyn Progress);

impl Observer for Steps<'_> {
    fn on_start(&mut self, experiment: &Experiment) {
        self.0.start(&experiment.name, experiment.steps as u64);
    }
    fn on_step(&mut self, _experiment: &Experiment, step: usize) {
        self.0.set(step as u64);
    }
}

impl Job {
    /// Runs the job and writes its results into `dir` (a study's shard, when `run.shard` says).
    pub fn run_into(&self, dir: &ResultDir, run: &Run) -> Result<()> {
        match self {
            Job::Runs(experiment) => run_experiment(experiment, dir, run).map(|_| ()),
            Job::Vectors(vectors) => run_vectors(vectors, dir, run.figures),
            Job::Study(study) => run_study(study, dir, run),
        }
    }
}

/// Runs an experiment into `dir`: its trajectories, and its figures when asked.
pub(crate) fn run_experiment(experiment: &Experiment, dir: &ResultDir, run: &Run) -> Result<Trajectories> {
    let records = runner::run(experiment, run.device, &mut [&mut Steps(run.progress)]);
    let trajectories = Trajectories::new(experiment, records);
    dir.clear_figures()?;
    trajectories.write(&dir.trajectories())?;
    if run.figures {
        plot::draw_figures(
            &trajectories,
            &experiment.surface,
            run.device,
            dir.path(),
            run.progress.frames(),
        )?;
    }
    let landscapes = crate::landscape::run_all(experiment, &trajectories, dir, run.device)?;
    if run.figures && !landscapes.is_empty() {
        plot::draw_landscapes(&landscapes, &trajectories.plot, dir.path())?;
    }
    Ok(trajectories)
}

/// Computes the AdaGrad vectors into `dir`, with their figure when asked.
fn run_vectors(vectors: &Vectors, dir: &ResultDir, figures: bool) -> Result<()> {
    let result = vectors.compute();
    dir.clear_figures()?;
    write_atomic(&dir.vectors(), result.to_json().as_bytes())?;
    if figures {
        plot::draw_vectors(
            &result.grads,
            &result.updates,
            vectors.xlim,
            vectors.ylim,
            &dir.file("vectors.png"),
        )?;
    }
    Ok(())
}

/// Runs a study (or the shard `run.shard` names) into `dir`.
fn run_study(study: &Study, dir: &ResultDir, run: &Run) -> Result<()> {
    let rows = match run.shard {
        Some([i, n]) => study.shard_rows(i, n),
        None => 0..study.rows(),
    };
    run.progress.start(&study.name, (rows.len() * study.steps) as u64);
    let outcomes = study.run_rows(rows.clone(), run.device, &mut |done| run.progress.set(done));
    match run.shard {
        Some(shard) => {
            dir.clear_figures()?;
            study.write_runs(&dir.runs(), rows.start, &outcomes)?;
            write_atomic(&dir.shard(), study.shard(shard, rows).to_text().as_bytes())
        }
        None => complete(study, &outcomes, dir, run),
    }
}

/// Writes a whole study's files: `runs.csv`, `study.json`, the figures and the tuned comparison.
fn complete(study: &Study, outcomes: &[Outcome], dir: &ResultDir, run: &Run) -> Result<()> {
    dir.clear_figures()?;
    let mut outcomes = outcomes.to_vec();
    study.find_basins(&mut outcomes, run.device);
    let outcomes = &outcomes[..];
    study.write_runs(&dir.runs(), 0, outcomes)?;
    let summary = StudySummary::new(study, outcomes);
    if let Some(found) = &summary.basins {
        let minima: Vec<String> = found
            .minima
            .iter()
            .map(|m| {
                format!(
                    "{} at ({:.4}, {:.4}), loss {:.6}, {} runs",
                    m.label, m.point[0], m.point[1], m.loss, m.runs
                )
            })
            .collect();
        let which = if minima.is_empty() {
            "no runs' ends gather anywhere, so basins.png shows none".to_string()
        } else {
            minima.join("; ")
        };
        run.progress
            .say(&format!("note: {}: {}: {which}", study.name, found.how));
    }
    for warning in &summary.warnings {
        run.progress.say(&format!("warning: {}: {warning}", study.name));
    }
    write_atomic(&dir.study(), summary.to_text().as_bytes())?;
    if run.figures {
        plot::draw_study(study, outcomes, dir.path())?;
    }
    if study.tune.is_some() {
        let tuned = dir.tuned();
        let file = study.tuned_experiment(outcomes);
        let path = tuned.experiment();
        write_atomic(&path, file.to_text().as_bytes())?;
        let experiment = Experiment::from_file(file, &path, run.registry, run.device)?;
        run_experiment(&experiment, &tuned, run)?;
    }
    Ok(())
}

/// Merges shard folders into the study's files, as one unsharded run writes them; returns the
/// folder written (`out`, or where `optsurf run` would write the study under `results`).
pub(crate) fn merge(dirs: &[PathBuf], out: Option<&Path>, run: &Run) -> Result<ResultDir> {
    if dirs.is_empty() {
        return Err(Error::input("merge", "", "name the shard folders to merge"));
    }
    let shards = dirs.iter().map(|d| Shard::load(d)).collect::<Result<Vec<_>>>()?;
    let shard_file = |d: &Path| ResultDir::new(d).shard();
    let first = &shards[0];
    for (s, dir) in shards.iter().zip(dirs).skip(1) {
        if s.study != first.study {
            return Err(Error::input(
                shard_file(dir),
                "study",
                format!(
                    "this shard is of another study than {}; merge shards of one study",
                    dirs[0].display()
                ),
            ));
        }
        if s.shard[1] != first.shard[1] {
            return Err(Error::input(
                shard_file(dir),
                "shard",
                format!(
                    "shard {} of {}, but {} is of {}",
                    s.shard[0],
                    s.shard[1],
                    dirs[0].display(),
                    first.shard[1]
                ),
            ));
        }
    }
    let n = first.shard[1];
    if n > shards.len() {
        let given: Vec<usize> = shards.iter().map(|s| s.shard[0]).collect();
        let missing: Vec<String> = (0..n)
            .filter(|i| !given.contains(i))
            .take(10)
            .map(|i| format!("{i}/{n}"))
            .collect();
        return Err(Error::input(
            &dirs[0],
            "",
            format!("shard {} missing; merge needs all {n} shards", missing.join(", ")),
        ));
    }
    let mut ordered: Vec<Option<(&Shard, &PathBuf)>> = vec![None; n];
    for (s, dir) in shards.iter().zip(dirs) {
        if let Some((_, other)) = ordered[s.shard[0]] {
            return Err(Error::input(
                shard_file(dir),
                "shard",
                format!("shard {} of {n} is given twice (also {})", s.shard[0], other.display()),
            ));
        }
        ordered[s.shard[0]] = Some((s, dir));
    }
    // The study a shard carries is the shard file's content: its mistakes are that file's.
    let study = Study::parse(&first.study, &first.source, run.registry, run.device)
        .map_err(|e| Error::input(shard_file(&dirs[0]), "study", format!("not a valid study: {e}")))?;
    let mut outcomes = Vec::with_capacity(study.rows().min(crate::experiment::tiles::CHUNK_ROWS));
    for (s, dir) in ordered.into_iter().flatten() {
        let rows = study.shard_rows(s.shard[0], n);
        if s.rows != [rows.start, rows.end] || s.total != study.rows() {
            return Err(Error::input(shard_file(dir), "rows", "these rows are not this shard's"));
        }
        let csv = ResultDir::new(dir).runs();
        let runs = study.read_runs(&csv, rows.start)?;
        if runs.len() != rows.len() {
            return Err(Error::input(
                &csv,
                "",
                format!(
                    "{} runs, but shard {}/{n} has {}; re-run that shard",
                    runs.len(),
                    s.shard[0],
                    rows.len()
                ),
            ));
        }
        outcomes.extend(runs);
    }
    let dir = match out {
        Some(d) => ResultDir::new(d),
        None => {
            let results = Path::new(crate::results::RESULTS);
            let dir = crate::results::output_dir(&study.source, &study.name, results);
            crate::results::contained(dir, results, &shard_file(&dirs[0]))?
        }
    };
    complete(&study, &outcomes, &dir, run)?;
    Ok(dir)
}
