//! The results folder: where each kind of result lives, what its files are called, and the
//! file formats themselves (`trajectory` for runs, `study` for studies).
//!
//! `optsurf run experiments/blog/all-f0.json` writes `results/blog/all-f0/`: the results
//! folder mirrors the experiments folder, and each job has a folder named after it
//! (`output_dir`). Inside, a [`ResultDir`] names every file: `trajectories.json` and the
//! figures of runs; `study.json`, `runs.csv`, the study figures and `tuned/` of a study;
//! `vectors.json` of the AdaGrad vectors; `shard.json` of a shard; a reviewed baseline's
//! `<file>.new`. `run`, `merge`, `diff`, `accept` and `report` all find files through it.

pub(crate) mod basins;
pub(crate) use crate::io::npy;
pub(crate) mod study;
#[cfg(test)]
mod tests;
pub(crate) mod trajectory;

use crate::error::{Error, Result};
use crate::experiment::Job;
use crate::registry::Registry;
use burn::tensor::Device;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use self::{
    study::StudySummary,
    trajectory::{Params, RunTrajectory, Status, Trajectories},
};

/// The default results folder.
pub(crate) const RESULTS: &str = "results";

/// The folder of one result, and the names of its files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResultDir(PathBuf);

impl ResultDir {
    /// The trajectories of an experiment's runs.
    pub(crate) const TRAJECTORIES: &'static str = "trajectories.json";
    /// A model's parameter snapshots, beside its trajectories.
    pub(crate) const PARAMS: &'static str = "params.npy";
    /// A study's summary.
    pub(crate) const STUDY: &'static str = "study.json";
    /// A study's runs, one per line.
    pub(crate) const RUNS: &'static str = "runs.csv";
    /// What a shard of a study says of itself.
    pub(crate) const SHARD: &'static str = "shard.json";
    /// A shard's grid losses of an experiment's landscape planes (`float32`, row after row).
    pub(crate) const PLANE_ROWS: &'static str = "plane_rows.npy";
    /// The AdaGrad vectors.
    pub(crate) const VECTORS: &'static str = "vectors.json";
    /// The tuned comparison's folder inside a study's.
    pub(crate) const TUNED: &'static str = "tuned";
    /// The tuned comparison's experiment file.
    pub(crate) const EXPERIMENT: &'static str = "experiment.json";
    /// The interactive view the report writes beside trajectories.
    pub(crate) const VIEW: &'static str = "view.html";
    /// The contour image of the interactive view.
    pub(crate) const CONTOUR: &'static str = "contour.png";
    /// The report's index, at the top of a results folder.
    pub(crate) const INDEX: &'static str = "index.html";
    /// The suffix of a result that `diff --write-new` wrote beside its baseline.
    pub(crate) const NEW: &'static str = ".new";
    /// Every file drawn from a folder's results: the figures of runs (`surface`, `loss` and
    /// `learning_rate`, as PNG, SVG and GIF), of the AdaGrad vectors and of studies, and the
    /// report's view. A job removes them before it writes new results
    /// ([`ResultDir::clear_figures`]), so a folder never shows figures of another run beside
    /// its results, even when a run is killed between the two. A model's landscapes (their
    /// JSON, directions and figures) go with them: they are computed from the runs.
    const DRAWN: [&'static str; 25] = [
        "surface.png",
        "surface.svg",
        "surface.gif",
        "loss.png",
        "loss.svg",
        "loss.gif",
        "learning_rate.png",
        "learning_rate.svg",
        "learning_rate.gif",
        "vectors.png",
        "heatmap.png",
        "basins.png",
        "sensitivity.png",
        Self::VIEW,
        Self::CONTOUR,
        "landscape.json",
        "directions.npy",
        "landscape_contour.png",
        "landscape.png",
        "landscape.gif",
        "residual.png",
        "landscape_plane.png",
        "landscape_view.html",
        "interpolation.json",
        "interpolation.png",
    ];

    /// The folder `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        ResultDir(dir.into())
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// A file of the folder.
    pub fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// `trajectories.json`.
    pub fn trajectories(&self) -> PathBuf {
        self.file(Self::TRAJECTORIES)
    }

    /// `study.json`.
    pub(crate) fn study(&self) -> PathBuf {
        self.file(Self::STUDY)
    }

    /// `runs.csv`.
    pub(crate) fn runs(&self) -> PathBuf {
        self.file(Self::RUNS)
    }

    /// `shard.json`.
    pub(crate) fn shard(&self) -> PathBuf {
        self.file(Self::SHARD)
    }

    /// `plane_rows.npy`.
    pub(crate) fn plane_rows(&self) -> PathBuf {
        self.file(Self::PLANE_ROWS)
    }

    /// `vectors.json`.
    pub(crate) fn vectors(&self) -> PathBuf {
        self.file(Self::VECTORS)
    }

    /// The tuned comparison's folder.
    pub(crate) fn tuned(&self) -> ResultDir {
        ResultDir(self.file(Self::TUNED))
    }

    /// The tuned comparison's experiment file (in [`ResultDir::tuned`]).
    pub(crate) fn experiment(&self) -> PathBuf {
        self.file(Self::EXPERIMENT)
    }

    /// Removes the figures drawn from the folder's previous results (see `DRAWN`); a figure
    /// that cannot be removed is an I/O failure (exit 3).
    pub(crate) fn clear_figures(&self) -> Result<()> {
        for name in Self::DRAWN {
            let path = self.file(name);
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(Error::io(&path, "remove the figure of the previous results", e));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// `<file>.new`: where `diff --write-new` puts a moved result beside its baseline.
pub(crate) fn new_file(baseline: &Path) -> PathBuf {
    let mut name = baseline.as_os_str().to_owned();
    name.push(ResultDir::NEW);
    PathBuf::from(name)
}

/// The baseline a `.new` file stands beside, if `path` is one.
pub(crate) fn baseline_of(path: &Path) -> Option<PathBuf> {
    let name = path.to_str()?;
    name.strip_suffix(ResultDir::NEW).map(PathBuf::from)
}

/// The results folder that mirrors an experiments folder: `experiments/<sub>` maps to
/// `<results>/<sub>`; a folder outside `experiments` maps to `<results>`. The folder is
/// normalised first (`experiments/../other` is `other`, outside), so `<sub>` is plain names:
/// no `..` or root leads the result out of `results`.
pub(crate) fn mirror(folder: &Path, results: &Path) -> PathBuf {
    let folder = crate::io::normalize(folder);
    let sub: PathBuf = folder
        .components()
        .skip_while(|part| part.as_os_str() != "experiments")
        .skip(1)
        .collect();
    results.join(sub)
}

/// Where a job read from `source` and called `name` writes its results under `results`.
pub(crate) fn output_dir(source: &Path, name: &str, results: &Path) -> ResultDir {
    ResultDir(mirror(source.parent().unwrap_or(Path::new("")), results).join(name))
}

impl Job {
    /// Where its results go under `results` (see `output_dir`).
    pub fn output_dir(&self, results: &Path) -> ResultDir {
        output_dir(self.source(), self.name(), results)
    }
}

/// `dir`, the output folder of the job read from `file`, when it lies inside `results`; a job
/// whose results would land outside is refused, naming `file` (exit 2).
pub(crate) fn contained(dir: ResultDir, results: &Path, file: &Path) -> Result<ResultDir> {
    if crate::io::inside(results, dir.path()) {
        return Ok(dir);
    }
    Err(Error::input(
        file,
        "",
        format!(
            "its results would go to {}, outside the output folder {}",
            dir.path().display(),
            results.display()
        ),
    ))
}

/// Loads every experiment under `paths` and checks that no two share an output folder; returns
/// each with its output folder under `results`.
pub(crate) fn load_all(
    paths: &[PathBuf],
    results: &Path,
    registry: &Registry,
    device: &Device,
) -> Result<Vec<(Job, ResultDir)>> {
    let files = crate::experiment::collect_files(paths)?;
    if files.is_empty() {
        let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(Error::input(shown.join(" "), "", "no experiment files (*.json) found"));
    }
    // Every file is read (and each wrong one reported) before any runs.
    let mut seen: BTreeMap<PathBuf, PathBuf> = BTreeMap::new();
    let mut out = Vec::with_capacity(files.len());
    let mut errors = Vec::new();
    for file in files {
        let job = match Job::load(&file, registry, device) {
            Ok(job) => job,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let dir = match contained(job.output_dir(results), results, &file) {
            Ok(dir) => dir,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        if let Some(other) = seen.insert(dir.path().to_path_buf(), file.clone()) {
            errors.push(Error::input(
                &file,
                "name",
                format!(
                    "writes to {} like {}; give one of them another name",
                    dir.path().display(),
                    other.display()
                ),
            ));
            continue;
        }
        out.push((job, dir));
    }
    Error::all(errors)?;
    Ok(out)
}

/// Every baseline file (`trajectories.json`, `vectors.json`) under `dir`, in sorted order.
pub(crate) fn baselines(dir: &Path) -> Vec<PathBuf> {
    if !dir.is_dir() {
        return Vec::new();
    }
    crate::io::walk(dir, |p| {
        p.file_name()
            .is_some_and(|n| n == ResultDir::TRAJECTORIES || n == ResultDir::VECTORS)
    })
    .unwrap_or_default()
}

/// Every folder under `root` (itself first, then depth first in name order) with the names of
/// its files; hidden entries are skipped.
pub(crate) fn folders(root: &Path) -> Vec<(PathBuf, Vec<String>)> {
    let mut files: BTreeMap<PathBuf, Vec<String>> = BTreeMap::new();
    files.insert(PathBuf::new(), Vec::new());
    let hidden = |p: &Path| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'));
    let all = crate::io::walk(root, |p| !hidden(p)).unwrap_or_default();
    for path in all {
        let Ok(rel) = path.strip_prefix(root) else { continue };
        if rel.ancestors().skip(1).any(hidden) {
            continue;
        }
        let dir = rel.parent().unwrap_or(Path::new("")).to_path_buf();
        for ancestor in dir.ancestors() {
            files.entry(ancestor.to_path_buf()).or_default();
        }
        let name = rel
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        files.entry(dir).or_default().push(name);
    }
    // Paths order by their components: depth first, in name order.
    files.into_iter().collect()
}
