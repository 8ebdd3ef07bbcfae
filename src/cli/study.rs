//! Running studies from the command line: whole or in shards, merging shards, and finishing a
//! study (its summary, figures and tuned comparison).

use crate::error::{Error, Result};
use crate::experiment::study::Study;
use crate::experiment::study::results::Shard;
use crate::experiment::{Experiment, mirror};
use crate::io::write_atomic;
use crate::registry::Registry;
use burn::tensor::Device;
use indicatif::ProgressBar;
use std::path::{Path, PathBuf};

/// Parses `I/N` (0 <= I < N): `--shard 2/8`.
pub fn parse_shard(text: &str) -> std::result::Result<[usize; 2], String> {
    let parts: Option<(usize, usize)> = text
        .split_once('/')
        .and_then(|(i, n)| Some((i.trim().parse().ok()?, n.trim().parse().ok()?)));
    match parts {
        Some((i, n)) if n >= 1 && i < n => Ok([i, n]),
        _ => Err(format!(
            "expected I/N with 0 <= I < N (shard I of N, from 0), got {text:?}"
        )),
    }
}

/// What to do once a study's rows are known.
pub struct Finish<'a> {
    /// Draw the figures.
    pub plots: bool,
    /// The device.
    pub device: &'a Device,
    /// The surfaces and optimizers the tuned comparison may name.
    pub registry: &'a Registry,
    /// Runs the tuned comparison (an ordinary experiment) into a folder.
    pub run_experiment: &'a mut dyn FnMut(&Experiment, &Path) -> Result<()>,
}

/// Runs a study (or shard `[i, n]` of it) into `dir`, the bar following its row-steps.
pub fn run(study: &Study, dir: &Path, shard: Option<[usize; 2]>, bar: &ProgressBar, finish: Finish) -> Result<()> {
    let rows = match shard {
        Some([i, n]) => study.shard_rows(i, n),
        None => 0..study.rows(),
    };
    bar.set_length((rows.len() * study.steps) as u64);
    bar.set_position(0);
    bar.set_message(study.name.clone());
    let outcomes = study.run_rows(rows.clone(), finish.device, &mut |done| bar.set_position(done));
    match shard {
        Some(shard) => {
            study.write_runs(&dir.join("runs.csv"), rows.start, &outcomes)?;
            let json = serde_json::to_string_pretty(&study.shard_json(shard, rows)).expect("shards serialize") + "\n";
            write_atomic(&dir.join("shard.json"), json.as_bytes())
        }
        None => complete(study, &outcomes, dir, finish),
    }
}

/// Writes a whole study's files: `runs.csv`, `study.json`, the figures and the tuned comparison.
fn complete(
    study: &Study,
    outcomes: &[crate::experiment::study::run::Outcome],
    dir: &Path,
    finish: Finish,
) -> Result<()> {
    study.write_runs(&dir.join("runs.csv"), 0, outcomes)?;
    write_atomic(&dir.join("study.json"), study.summary_text(outcomes).as_bytes())?;
    if finish.plots {
        crate::plot::study::draw_all(study, outcomes, dir)?;
    }
    if study.tune.is_some() {
        let tuned = dir.join("tuned");
        let text = study.tuned_text(outcomes);
        let file = tuned.join("experiment.json");
        write_atomic(&file, text.as_bytes())?;
        let experiment = Experiment::parse(&text, &file, finish.registry)?;
        (finish.run_experiment)(&experiment, &tuned)?;
    }
    Ok(())
}

/// Merges shard folders into the study's files, as one unsharded run writes them; returns the
/// folder written (`out`, or where `optsurf run` would write the study under `results`).
pub fn merge(dirs: &[PathBuf], out: Option<&Path>, finish: Finish) -> Result<PathBuf> {
    if dirs.is_empty() {
        return Err(Error::input("merge", "", "name the shard folders to merge"));
    }
    let shards = dirs.iter().map(|d| Shard::load(d)).collect::<Result<Vec<_>>>()?;
    let first = &shards[0];
    for s in &shards[1..] {
        if s.study != first.study {
            return Err(Error::input(
                s.dir.join("shard.json"),
                "study",
                format!(
                    "this shard is of another study than {}; merge shards of one study",
                    first.dir.display()
                ),
            ));
        }
        if s.shard[1] != first.shard[1] {
            return Err(Error::input(
                s.dir.join("shard.json"),
                "shard",
                format!(
                    "shard {} of {}, but {} is of {}",
                    s.shard[0],
                    s.shard[1],
                    first.dir.display(),
                    first.shard[1]
                ),
            ));
        }
    }
    let n = first.shard[1];
    let mut ordered: Vec<Option<&Shard>> = vec![None; n];
    for s in &shards {
        if let Some(other) = ordered[s.shard[0]] {
            return Err(Error::input(
                s.dir.join("shard.json"),
                "shard",
                format!(
                    "shard {} of {n} is given twice (also {})",
                    s.shard[0],
                    other.dir.display()
                ),
            ));
        }
        ordered[s.shard[0]] = Some(s);
    }
    let missing: Vec<String> = (0..n)
        .filter(|&i| ordered[i].is_none())
        .map(|i| format!("{i}/{n}"))
        .collect();
    if !missing.is_empty() {
        return Err(Error::input(
            &first.dir,
            "",
            format!("shard {} missing; merge needs all {n} shards", missing.join(", ")),
        ));
    }
    let text = serde_json::to_string(&first.study).expect("studies serialize");
    let study = Study::parse(&text, &first.source, finish.registry)?;
    let mut outcomes = Vec::with_capacity(study.rows());
    for s in ordered.into_iter().flatten() {
        if s.rows != study.shard_rows(s.shard[0], n) {
            return Err(Error::input(
                s.dir.join("shard.json"),
                "rows",
                "these rows are not this shard's",
            ));
        }
        let csv = s.dir.join("runs.csv");
        let runs = study.read_runs(&csv, s.rows.start)?;
        if runs.len() != s.rows.len() {
            return Err(Error::input(
                &csv,
                "",
                format!(
                    "{} runs, but shard {}/{n} has {}; re-run that shard",
                    runs.len(),
                    s.shard[0],
                    s.rows.len()
                ),
            ));
        }
        outcomes.extend(runs);
    }
    let dir = match out {
        Some(d) => d.to_path_buf(),
        None => mirror(study.source.parent().unwrap_or(Path::new("")), Path::new("results")).join(&study.name),
    };
    complete(&study, &outcomes, &dir, finish)?;
    Ok(dir)
}
