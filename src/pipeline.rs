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
use crate::landscape;
use crate::plot::{self, FrameProgress};
use crate::registry::Registry;
use crate::results::study::{Shard, slice};
use crate::results::{ResultDir, StudySummary, Trajectories, npy};
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

/// Runs an experiment into `dir`: its trajectories, and its figures when asked; with
/// `run.shard`, an experiment with landscape planes writes only its shard of the planes'
/// grid rows.
pub(crate) fn run_experiment(experiment: &Experiment, dir: &ResultDir, run: &Run) -> Result<Trajectories> {
    run_experiment_with(experiment, dir, run, None)
}

/// [`run_experiment`], the planes' grid losses `grids` given (its shards merged).
fn run_experiment_with(
    experiment: &Experiment,
    dir: &ResultDir,
    run: &Run,
    grids: Option<&[f32]>,
) -> Result<Trajectories> {
    let records = runner::run(experiment, run.device, &mut [&mut Steps(run.progress)]);
    let trajectories = Trajectories::new(experiment, records);
    let total = landscape::grid_rows(experiment);
    if let Some([i, n]) = run.shard.filter(|_| total > 0 && grids.is_none()) {
        let rows = slice(i, n, total);
        let losses = landscape::shard(experiment, &trajectories, rows.clone(), run.device)?;
        dir.clear_figures()?;
        let path = dir.plane_rows();
        let mut bytes = Vec::new();
        npy::write(&mut bytes, &[losses.len()], &losses).map_err(|e| Error::io(&path, "write", e))?;
        write_atomic(&path, &bytes)?;
        let shard = Shard {
            study: experiment.text.clone(),
            source: experiment.source.clone(),
            shard: [i, n],
            rows: [rows.start, rows.end],
            total,
        };
        write_atomic(&dir.shard(), shard.to_text().as_bytes())?;
        return Ok(trajectories);
    }
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
    let landscapes = landscape::run_all(experiment, &trajectories, dir, run.device, grids)?;
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

/// Merges shard folders into the study's files (or the experiment's, its landscape planes
/// sharded), as one unsharded run writes them; returns the folder written (`out`, or where
/// `optsurf run` would write it under `results`).
pub(crate) fn merge(dirs: &[PathBuf], out: Option<&Path>, run: &Run) -> Result<ResultDir> {
    if dirs.is_empty() {
        return Err(Error::input("merge", "", "name the shard folders to merge"));
    }
    let shards = dirs.iter().map(|d| Shard::load(d)).collect::<Result<Vec<_>>>()?;
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
    let ordered: Vec<(&Shard, &PathBuf)> = ordered.into_iter().flatten().collect();
    // The file a shard carries is the shard file's content: its mistakes are that file's.
    let job = Job::parse(&first.study, &first.source, run.registry, run.device).map_err(|e| {
        Error::input(
            shard_file(&dirs[0]),
            "study",
            format!("not a valid study or landscape experiment: {e}"),
        )
    })?;
    let dir = match out {
        Some(d) => ResultDir::new(d),
        None => {
            let results = Path::new(crate::results::RESULTS);
            crate::results::contained(job.output_dir(results), results, &shard_file(&dirs[0]))?
        }
    };
    match &job {
        Job::Study(study) => merge_study(study, &ordered, n, &dir, run)?,
        Job::Runs(experiment) if landscape::grid_rows(experiment) > 0 => {
            merge_planes(experiment, &ordered, n, &dir, run)?;
        }
        _ => {
            return Err(Error::input(
                shard_file(&dirs[0]),
                "study",
                "neither a study nor an experiment with landscape planes, which are what shards split",
            ));
        }
    }
    Ok(dir)
}

/// `shard.json` in `dir`.
fn shard_file(dir: &Path) -> PathBuf {
    ResultDir::new(dir).shard()
}

/// The error of a shard whose rows are not its shard's of the file it carries.
fn not_its_rows(rows: [usize; 2], s: &Shard, dir: &Path, total: usize) -> Option<Error> {
    (s.rows != rows || s.total != total)
        .then(|| Error::input(shard_file(dir), "rows", "these rows are not this shard's"))
}

/// A study's shards merged into its files.
fn merge_study(study: &Study, ordered: &[(&Shard, &PathBuf)], n: usize, dir: &ResultDir, run: &Run) -> Result<()> {
    let mut outcomes = Vec::with_capacity(study.rows().min(crate::experiment::tiles::CHUNK_ROWS));
    for (s, shard_dir) in ordered {
        let rows = study.shard_rows(s.shard[0], n);
        if let Some(e) = not_its_rows([rows.start, rows.end], s, shard_dir, study.rows()) {
            return Err(e);
        }
        let csv = ResultDir::new(shard_dir).runs();
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
    complete(study, &outcomes, dir, run)
}

/// An experiment's plane shards merged: the experiment run whole, its planes' grid losses
/// taken from the shards' `plane_rows.npy`.
fn merge_planes(
    experiment: &Experiment,
    ordered: &[(&Shard, &PathBuf)],
    n: usize,
    dir: &ResultDir,
    run: &Run,
) -> Result<()> {
    let total = landscape::grid_rows(experiment);
    let mut grids = Vec::with_capacity(landscape::grid_values(experiment, 0..total));
    for (s, shard_dir) in ordered {
        let rows = slice(s.shard[0], n, total);
        if let Some(e) = not_its_rows([rows.start, rows.end], s, shard_dir, total) {
            return Err(e);
        }
        let path = ResultDir::new(shard_dir).plane_rows();
        let (shape, values) = npy::read(&path, crate::io::Input::RESULT)?;
        let expected = landscape::grid_values(experiment, rows);
        if shape != [expected] {
            return Err(Error::input(
                &path,
                "",
                format!(
                    "shape {shape:?}, but shard {}/{n}'s grid rows hold [{expected}] losses; re-run that shard",
                    s.shard[0]
                ),
            ));
        }
        grids.extend(values);
    }
    run_experiment_with(experiment, dir, run, Some(&grids)).map(|_| ())
}
