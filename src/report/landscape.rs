//! A model's planes as the report shows them: each `landscape.json` of its folder read back (its
//! view moves each run's projected point over the plane with a step slider) and summarised per
//! run (sharpness, residuals, the loss of the path against the plane's).

use crate::error::{Error, Result};
use crate::landscape::{Origin, PlaneLandscape, RunOnPlane, Sharpness, numbered};
use serde::Deserialize;
use std::path::Path;

/// A number of `landscape.json` (JSON writes NaN as `null`).
#[derive(Clone, Copy, Deserialize)]
#[serde(transparent)]
struct Num(Option<f32>);

impl Num {
    fn get(self) -> f32 {
        self.0.unwrap_or(f32::NAN)
    }
}

fn nums(v: &[Num]) -> Vec<f32> {
    v.iter().map(|n| n.get()).collect()
}

#[derive(Deserialize)]
struct CenterFile {
    label: String,
    step: usize,
}

#[derive(Deserialize)]
struct SharpnessFile {
    lambda_max: Num,
    lambda_min: Num,
    ratio: Num,
}

#[derive(Deserialize)]
struct RunFile {
    label: String,
    steps: Vec<usize>,
    path: Vec<[Num; 2]>,
    residual: Vec<Num>,
    path_loss: Vec<Num>,
    plane_loss: Vec<Num>,
    sharpness: SharpnessFile,
}

/// What the report reads of `landscape.json`.
#[derive(Deserialize)]
struct PlaneFile {
    plane: String,
    center: CenterFile,
    data: String,
    #[serde(default)]
    normalize: String,
    #[serde(default)]
    ignore_biasbn: bool,
    a: Vec<f32>,
    b: Vec<f32>,
    loss: Vec<Vec<Num>>,
    #[serde(default)]
    explained_variance: Option<[f32; 2]>,
    residual_threshold: f32,
    runs: Vec<RunFile>,
}

/// One plane of a model's folder.
#[derive(Debug)]
pub(crate) struct PlaneEntry {
    /// Its file (`landscape.json`, `landscape-2.json`, ...).
    pub file: String,
    /// The plane, or why it cannot be shown (never the file's content).
    pub plane: std::result::Result<Box<PlaneLandscape>, String>,
    /// Its interactive view (`landscape_view.html`, ...) once written.
    pub view: Option<String>,
    /// Its place among the folder's planes.
    pub k: usize,
}

/// A run's residual summary: the largest and mean residual and how many points lie further off
/// the plane than its threshold, of how many.
pub(crate) fn residual_summary(plane: &PlaneLandscape, run: &RunOnPlane) -> (f32, f32, usize, usize) {
    let finite: Vec<f32> = run.residual.iter().copied().filter(|v| v.is_finite()).collect();
    let max = finite.iter().copied().fold(f32::NAN, f32::max);
    let mean = finite.iter().sum::<f32>() / finite.len().max(1) as f32;
    let off = run
        .residual
        .iter()
        .filter(|&&e| e.is_nan() || e > plane.residual_threshold)
        .count();
    (
        max,
        if finite.is_empty() { f32::NAN } else { mean },
        off,
        run.residual.len(),
    )
}

/// Every plane a folder holds, in order: `landscape.json`, `landscape-2.json`, ... while `has`
/// them.
pub(crate) fn planes(dir: &Path, has: impl Fn(&str) -> bool) -> Vec<PlaneEntry> {
    (0..)
        .map(|k| (k, numbered("landscape", k, "json")))
        .take_while(|(_, file)| has(file))
        .map(|(k, file)| PlaneEntry {
            plane: read(&dir.join(&file), &file).map_err(|e| e.to_string()),
            file,
            view: None,
            k,
        })
        .collect()
}

/// Reads a `landscape.json`; the reason it cannot be shown names the file and where, not what
/// it holds.
fn read(path: &Path, name: &str) -> Result<Box<PlaneLandscape>> {
    let text = crate::io::read_input(path, crate::io::Input::RESULT).map_err(|_| refuse(name, "could not be read"))?;
    let file: PlaneFile = serde_json::from_str(&text).map_err(|e| {
        let what = format!(
            "not a landscape the report can read (line {}, column {})",
            e.line(),
            e.column()
        );
        refuse(name, &what)
    })?;
    plane(file, name)
}

/// Why the report cannot show the plane of file `name`.
fn refuse(name: &str, what: &str) -> Error {
    Error::input(name, "", format!("{what}; `optsurf run` writes it again"))
}

/// The plane of a file that parsed (`name`), once its shapes agree.
fn plane(f: PlaneFile, name: &str) -> Result<Box<PlaneLandscape>> {
    let disagrees = |what: &str| refuse(name, &format!("not a plane the report can draw: {what}"));
    let (na, nb) = (f.a.len(), f.b.len());
    if na < 2 || nb < 2 || f.loss.len() != nb || f.loss.iter().any(|row| row.len() != na) {
        return Err(disagrees(
            "its loss is not a grid of len(b) rows of len(a) values, two or more each way",
        ));
    }
    let grid_ok = |v: &[f32]| v.iter().all(|x| x.is_finite()) && v.windows(2).all(|w| w[0] < w[1]);
    if !(grid_ok(&f.a) && grid_ok(&f.b)) {
        return Err(disagrees("its a and b are not increasing finite coordinates"));
    }
    let mut runs = Vec::with_capacity(f.runs.len());
    for r in f.runs {
        let n = r.steps.len();
        if [r.path.len(), r.residual.len(), r.path_loss.len(), r.plane_loss.len()] != [n; 4] {
            return Err(disagrees(
                "a run's path, residual, path_loss and plane_loss do not each have one value a step",
            ));
        }
        runs.push(RunOnPlane {
            label: r.label,
            steps: r.steps,
            path: r.path.iter().map(|q| q.map(Num::get)).collect(),
            residual: nums(&r.residual),
            path_loss: nums(&r.path_loss),
            plane_loss: nums(&r.plane_loss),
            sharpness: Sharpness {
                lambda_max: r.sharpness.lambda_max.get(),
                lambda_min: r.sharpness.lambda_min.get(),
                ratio: r.sharpness.ratio.get(),
            },
        });
    }
    let known = |s: &str, names: &[&'static str]| names.iter().copied().find(|n| *n == s).unwrap_or(names[0]);
    Ok(Box::new(PlaneLandscape {
        plane: known(&f.plane, &["random", "pca", "file"]),
        center: Origin {
            label: f.center.label,
            step: f.center.step,
        },
        data: known(&f.data, &["train", "test"]),
        rows: Vec::new(),
        normalize: known(&f.normalize, &["filter", "layer", "none"]),
        ignore_biasbn: f.ignore_biasbn,
        a: f.a,
        b: f.b,
        loss: f.loss.iter().map(|row| nums(row)).collect(),
        explained_variance: f.explained_variance,
        residual_threshold: f.residual_threshold,
        runs,
        directions: [Vec::new(), Vec::new()],
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(loss: &str, path: &str) -> String {
        format!(
            r#"{{"plane": "pca", "center": {{"label": "A", "step": 2}}, "data": "train", "a": [-1, 0, 1],
                "b": [-1, 1], "loss": {loss}, "explained_variance": [0.5, 0.25], "residual_threshold": 0.5,
                "runs": [{{"label": "A", "steps": [0, 2], "path": {path}, "residual": [0.75, null],
                          "path_loss": [1, 0.5], "plane_loss": [1.5, 0.5],
                          "sharpness": {{"lambda_max": 3, "lambda_min": null, "ratio": null}}}}]}}"#
        )
    }

    #[test]
    fn planes_read_back_with_nan_for_null_and_mismatched_shapes_refused() {
        let dir = crate::tempfile::tempdir().unwrap();
        let good = file("[[1, 2, 3], [4, null, 6]]", "[[0.5, 0.25], [0, 0]]");
        std::fs::write(dir.path().join("landscape.json"), good).unwrap();
        let bad = file("[[1, 2, 3], [4, 5]]", "[[0.5, 0.25], [0, 0]]");
        std::fs::write(dir.path().join("landscape-2.json"), bad).unwrap();
        std::fs::write(dir.path().join("landscape-4.json"), "{}").unwrap();
        let found = planes(dir.path(), |f| dir.path().join(f).is_file());
        assert_eq!(found.len(), 2, "numbered files read while there are");
        let p = found[0].plane.as_ref().unwrap();
        assert_eq!(
            (p.plane, p.data, p.explained_variance),
            ("pca", "train", Some([0.5, 0.25]))
        );
        assert!(p.loss[1][1].is_nan() && p.runs[0].residual[1].is_nan());
        assert!(p.runs[0].sharpness.ratio.is_nan() && p.runs[0].sharpness.lambda_max == 3.0);
        assert_eq!(
            residual_summary(p, &p.runs[0]),
            (0.75, 0.75, 2, 2),
            "NaN counts off the plane"
        );
        let e = found[1].plane.as_ref().unwrap_err();
        assert!(
            e.starts_with("landscape-2.json: not a plane the report can draw: its loss"),
            "{e}"
        );
    }
}
