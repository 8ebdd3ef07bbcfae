//! An experiment's `landscape` block: which plane (or line) of a model's parameter space to
//! evaluate once the runs are done, read into types here and checked against the experiment
//! (its runs' labels, its data) in [`check`].
//!
//! ```json
//! "landscape": {"plane": "pca", "center": "final", "runs": "all", "range": [[-1, 1], [-1, 1]],
//!               "resolution": [51, 51], "data": "train"}
//! ```
//!
//! `plane` is `"pca"` (the two leading principal directions of the runs' snapshots about the
//! centre), `"random"` (two seeded Gaussian directions) or `"interpolate"` (the loss along
//! `(1 - a) w_1 + a w_2`). A plane's directions may instead be given: `"directions":
//! "dirs.npy"` (with `"plane"` left out, or `"file"`) names a `float32 [2, P]` `.npy` in
//! `params.npy`'s layout (a `directions.npy` optsurf wrote, or NumPy's), found as data files
//! are (relative to the experiment file, no `..`, no absolute path) and read when the
//! experiment is; with `"pca"` or `"random"` it is refused, as the two would say different
//! planes. `normalize` (`"filter"`, `"layer"`, `"none"`) and `ignore` apply to any plane's
//! directions, computed or given: a random plane's default is `"filter"`, a PCA or given
//! plane's `"none"` (a PCA plane's directions are then unit vectors). More than one block is
//! a list.

use super::file::FromJson;
use crate::error::{FieldError, Parsed};
use crate::surface::data::Split;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value, json};
use std::path::Path;
use std::sync::Arc;

/// Which plane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Plane {
    /// The two leading principal directions of the snapshots about the centre.
    Pca,
    /// Two seeded Gaussian directions.
    Random,
    /// The two directions of a `.npy` file (`"directions"`).
    File,
    /// Not a plane: the line between two points.
    Interpolate,
}

/// Where a plane is centred.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Center {
    /// The final point of the run (of `runs`) with the lowest final training loss.
    Final,
    /// The start of the first run of `runs`.
    Start,
    /// The final point of the run with this label.
    Run(String),
}

/// How a plane's directions are scaled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Normalize {
    /// Each neuron's incoming weights to the norm of the same weights at the centre (Li et al. §4).
    Filter,
    /// Each variable to the norm of the same variable at the centre.
    Layer,
    /// Not at all.
    None,
}

/// One `landscape` block, defaults filled in.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LandscapeSpec {
    pub(crate) plane: Plane,
    pub(crate) center: Center,
    /// The runs' labels (`None`: all runs).
    pub(crate) runs: Option<Vec<String>>,
    pub(crate) normalize: Normalize,
    /// Zero the directions' biases (`"ignore": "biasbn"`).
    pub(crate) ignore_biasbn: bool,
    /// `[[a_min, a_max], [b_min, b_max]]` of a plane (`None`: `[-1, 1]` for a random plane, the
    /// paths' extent for a PCA plane); `range[0]` is an interpolation's `[a_min, a_max]`.
    pub(crate) range: Option<[[f64; 2]; 2]>,
    /// Grid points along `a` and `b` (an interpolation uses `resolution[0]`).
    pub(crate) resolution: [usize; 2],
    /// The seed of random directions and of the sharpness's power iteration.
    pub(crate) seed: u64,
    /// The rows the losses are taken over.
    pub(crate) data: Split,
    /// An interpolation between two runs' final points instead of each run's start and end.
    pub(crate) between: Option<[String; 2]>,
    /// The directions file of a `Plane::File`.
    pub(crate) directions: Option<Given>,
}

/// Directions given in a file: its name as written, and its `2 x P` values once read
/// ([`resolve`]).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Given {
    pub(crate) file: String,
    /// `[d_0, d_1]`, row after row (empty until read).
    pub(crate) values: Arc<Vec<f32>>,
}

/// The most grid points along one axis of a plane.
pub(crate) const MAX_RESOLUTION: usize = 1001;
/// The most points along an interpolation.
const MAX_LINE: usize = 100_001;

const KEYS: [&str; 11] = [
    "plane",
    "center",
    "runs",
    "normalize",
    "ignore",
    "range",
    "resolution",
    "seed",
    "data",
    "between",
    "directions",
];

/// A string field's value among `allowed`.
fn choice<'a>(v: &'a Value, allowed: &[&str]) -> Parsed<&'a str> {
    match v.as_str() {
        Some(s) if allowed.contains(&s) => Ok(s),
        _ => Err(FieldError::new(format!(
            "expected one of {}, got {v}",
            allowed.iter().map(|a| format!("{a:?}")).collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// A non-empty label.
fn label(v: &Value) -> Parsed<String> {
    match v.as_str() {
        Some(s) if !s.trim().is_empty() => Ok(s.to_string()),
        _ => Err(FieldError::new(format!(
            "expected a run's label (a non-empty string), got {v}"
        ))),
    }
}

/// `[lo, hi]` with finite `lo < hi`.
fn interval(v: &Value) -> Option<[f64; 2]> {
    let a = v.as_array().filter(|a| a.len() == 2)?;
    let (lo, hi) = (a[0].as_f64()?, a[1].as_f64()?);
    (lo.is_finite() && hi.is_finite() && lo < hi).then_some([lo, hi])
}

/// A grid size from 2 to `max`.
fn count(v: &Value, max: usize) -> Option<usize> {
    v.as_u64()
        .filter(|&n| (2..=max as u64).contains(&n))
        .map(|n| n as usize)
}

impl LandscapeSpec {
    fn parse(v: Value) -> Parsed<Self> {
        let Value::Object(m) = v else {
            return Err(FieldError::new(format!(
                "expected an object such as {{\"plane\": \"pca\"}} (or a list of them), got {v}"
            )));
        };
        if let Some(k) = m.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(FieldError::new(format!("unknown field; a landscape takes: {}", KEYS.join(", "))).at(k));
        }
        let get = |k: &str| m.get(k).filter(|v| !v.is_null());
        let directions = match get("directions") {
            None => None,
            Some(Value::String(f)) if !f.is_empty() => Some(Given {
                file: f.clone(),
                values: Arc::default(),
            }),
            Some(d) => {
                return Err(FieldError::new(format!(
                    "expected the name of a float32 [2, P] .npy file (\"dirs.npy\"), got {d}"
                ))
                .at("directions"));
            }
        };
        let plane = match (get("plane"), &directions) {
            (None, None) => {
                return Err(FieldError::new(
                    "missing; give \"plane\": \"pca\", \"random\" or \"interpolate\", or the plane's \"directions\": \"dirs.npy\"",
                )
                .at("plane"));
            }
            (None, Some(_)) => Plane::File,
            (Some(p), _) => match choice(p, &["pca", "random", "interpolate", "file"]).map_err(|e| e.at("plane"))? {
                "pca" => Plane::Pca,
                "random" => Plane::Random,
                "interpolate" => Plane::Interpolate,
                _ => Plane::File,
            },
        };
        match (plane, &directions) {
            (Plane::File, None) => {
                return Err(FieldError::new(
                    "missing; a plane of given directions names their file: \"directions\": \"dirs.npy\"",
                )
                .at("directions"));
            }
            (Plane::Pca | Plane::Random | Plane::Interpolate, Some(_)) => {
                return Err(FieldError::new(format!(
                    "a {} computes its own directions, so a file of them would say another plane; remove \"directions\", or remove \"plane\" to use the file's",
                    match plane {
                        Plane::Pca => "PCA plane",
                        Plane::Random => "random plane",
                        _ => "interpolation",
                    }
                ))
                .at("directions"));
            }
            _ => {}
        }
        let line = plane == Plane::Interpolate;
        let only_planes = |k: &str, why: &str| match get(k) {
            Some(_) if line => Err(FieldError::new(format!("an interpolation has no {k}: {why}")).at(k)),
            _ => Ok(()),
        };
        only_planes(
            "center",
            "it runs from each run's start to its end, or between two runs' final points (\"between\")",
        )?;
        only_planes("normalize", "it runs between two points of the parameter space")?;
        only_planes("ignore", "it runs between two points of the parameter space")?;
        if get("between").is_some() && !line {
            return Err(FieldError::new(
                "only an interpolation (\"plane\": \"interpolate\") runs between two runs; remove it or change the plane",
            )
            .at("between"));
        }
        let center = match get("center") {
            None => Center::Final,
            Some(Value::Object(c)) => {
                if let Some(k) = c.keys().find(|k| *k != "run") {
                    return Err(FieldError::new("unknown field; a centre takes: run").at(k).at("center"));
                }
                match c.get("run") {
                    Some(r) => Center::Run(label(r).map_err(|e| e.at("run").at("center"))?),
                    None => {
                        return Err(FieldError::new("missing; give {\"run\": \"label\"}")
                            .at("run")
                            .at("center"));
                    }
                }
            }
            Some(c) => match choice(c, &["final", "start"]).map_err(|_| {
                FieldError::new(format!(
                    "expected \"final\", \"start\" or {{\"run\": \"label\"}}, got {c}"
                ))
                .at("center")
            })? {
                "final" => Center::Final,
                _ => Center::Start,
            },
        };
        let runs = match get("runs") {
            None => None,
            Some(Value::String(s)) if s == "all" => None,
            Some(Value::Array(a)) if !a.is_empty() => {
                let mut labels: Vec<String> = Vec::with_capacity(a.len());
                for (i, v) in a.iter().enumerate() {
                    let l = label(v).map_err(|e| e.index(i).at("runs"))?;
                    if labels.contains(&l) {
                        return Err(FieldError::new(format!("{l:?} is named twice; name each run once"))
                            .index(i)
                            .at("runs"));
                    }
                    labels.push(l);
                }
                Some(labels)
            }
            Some(other) => {
                return Err(FieldError::new(format!(
                    "expected \"all\" or a non-empty list of run labels, got {other}"
                ))
                .at("runs"));
            }
        };
        let normalize = match get("normalize") {
            None if plane == Plane::Random => Normalize::Filter,
            None => Normalize::None,
            Some(n) => match choice(n, &["filter", "layer", "none"]).map_err(|e| e.at("normalize"))? {
                "none" => Normalize::None,
                "filter" => Normalize::Filter,
                _ => Normalize::Layer,
            },
        };
        let ignore_biasbn = match get("ignore") {
            None => false,
            Some(i) => {
                choice(i, &["biasbn"]).map_err(|e| e.at("ignore"))?;
                true
            }
        };
        let range = match get("range") {
            None => None,
            Some(r) if line => match interval(r) {
                Some(ab) => Some([ab, [0.0, 1.0]]),
                None => {
                    return Err(FieldError::new(format!(
                        "expected [a_min, a_max] with finite a_min < a_max (e.g. [-0.5, 1.5]), got {r}"
                    ))
                    .at("range"));
                }
            },
            Some(r) => match r
                .as_array()
                .filter(|a| a.len() == 2)
                .and_then(|a| Some([interval(&a[0])?, interval(&a[1])?]))
            {
                Some(ab) => Some(ab),
                None => {
                    return Err(FieldError::new(format!(
                        "expected [[a_min, a_max], [b_min, b_max]] with finite limits, min < max, got {r}"
                    ))
                    .at("range"));
                }
            },
        };
        let resolution = match get("resolution") {
            None if line => [81, 1],
            None => [51, 51],
            Some(r) if line => match count(r, MAX_LINE) {
                Some(n) => [n, 1],
                None => {
                    return Err(FieldError::new(format!(
                        "expected a whole number of points from 2 to {MAX_LINE}, got {r}"
                    ))
                    .at("resolution"));
                }
            },
            Some(r) => {
                let pair = r
                    .as_array()
                    .filter(|a| a.len() == 2)
                    .and_then(|a| Some([count(&a[0], MAX_RESOLUTION)?, count(&a[1], MAX_RESOLUTION)?]));
                match (pair, count(r, MAX_RESOLUTION)) {
                    (Some(p), _) => p,
                    (None, Some(n)) => [n, n],
                    _ => {
                        return Err(FieldError::new(format!(
                            "expected [n_a, n_b] (or one n for both) with whole numbers from 2 to {MAX_RESOLUTION}, got {r}"
                        ))
                        .at("resolution"));
                    }
                }
            }
        };
        let seed = match get("seed") {
            None => 0,
            Some(s) => s
                .as_u64()
                .ok_or_else(|| FieldError::new(format!("expected a whole number >= 0, got {s}")).at("seed"))?,
        };
        let data = match get("data") {
            None => Split::Train,
            Some(d) => match choice(d, &["train", "test"]).map_err(|e| e.at("data"))? {
                "train" => Split::Train,
                _ => Split::Test,
            },
        };
        let between = match get("between") {
            None => None,
            Some(b) => {
                let pair = b.as_array().filter(|a| a.len() == 2);
                match pair.map(|a| (label(&a[0]), label(&a[1]))) {
                    Some((Ok(x), Ok(y))) if x != y => Some([x, y]),
                    _ => {
                        return Err(FieldError::new(format!(
                            "expected two different run labels [\"label A\", \"label B\"], got {b}"
                        ))
                        .at("between"));
                    }
                }
            }
        };
        Ok(LandscapeSpec {
            plane,
            center,
            runs,
            normalize,
            ignore_biasbn,
            range,
            resolution,
            seed,
            data,
            between,
            directions,
        })
    }

    /// The block as a file writes it (every default spelled out).
    fn to_json(&self) -> Value {
        let mut m = Map::new();
        let plane = match self.plane {
            Plane::Pca => "pca",
            Plane::Random => "random",
            Plane::File => "file",
            Plane::Interpolate => "interpolate",
        };
        m.insert("plane".into(), json!(plane));
        if let Some(d) = &self.directions {
            m.insert("directions".into(), json!(d.file));
        }
        if self.plane != Plane::Interpolate {
            m.insert(
                "center".into(),
                match &self.center {
                    Center::Final => json!("final"),
                    Center::Start => json!("start"),
                    Center::Run(r) => json!({ "run": r }),
                },
            );
            let normalize = match self.normalize {
                Normalize::Filter => "filter",
                Normalize::Layer => "layer",
                Normalize::None => "none",
            };
            m.insert("normalize".into(), json!(normalize));
            if self.ignore_biasbn {
                m.insert("ignore".into(), json!("biasbn"));
            }
        }
        m.insert(
            "runs".into(),
            match &self.runs {
                None => json!("all"),
                Some(r) => json!(r),
            },
        );
        match (self.plane, self.range) {
            (_, None) => {}
            (Plane::Interpolate, Some(r)) => {
                m.insert("range".into(), json!(r[0]));
            }
            (_, Some(r)) => {
                m.insert("range".into(), json!(r));
            }
        }
        m.insert(
            "resolution".into(),
            match self.plane {
                Plane::Interpolate => json!(self.resolution[0]),
                _ => json!(self.resolution),
            },
        );
        m.insert("seed".into(), json!(self.seed));
        m.insert(
            "data".into(),
            json!(if self.data == Split::Train { "train" } else { "test" }),
        );
        if let Some(b) = &self.between {
            m.insert("between".into(), json!(b));
        }
        Value::Object(m)
    }

    /// The labels this block names, with the field that names each.
    fn named(&self) -> Vec<(String, &str)> {
        let mut out = Vec::new();
        if let Center::Run(r) = &self.center {
            out.push((r.clone(), "center"));
        }
        for r in self.runs.iter().flatten() {
            out.push((r.clone(), "runs"));
        }
        for r in self.between.iter().flatten() {
            out.push((r.clone(), "between"));
        }
        out
    }
}

/// The `landscape` field: one block or a list of them.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Landscapes(pub(crate) Vec<LandscapeSpec>);

impl Landscapes {
    /// Whether there are none (then the file does not write the field).
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromJson for Landscapes {
    fn from_json(v: Value) -> Parsed<Self> {
        match v {
            Value::Array(blocks) if !blocks.is_empty() => blocks
                .into_iter()
                .enumerate()
                .map(|(i, b)| LandscapeSpec::parse(b).map_err(|e| e.index(i)))
                .collect::<Parsed<Vec<_>>>()
                .map(Landscapes),
            Value::Array(_) => Err(FieldError::new(
                "an empty list; give at least one block or remove the field",
            )),
            other => LandscapeSpec::parse(other).map(|s| Landscapes(vec![s])),
        }
    }
}

super::file::deserialize_from_json!(Landscapes);

impl Serialize for Landscapes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0[..] {
            [one] => one.to_json().serialize(s),
            many => Value::Array(many.iter().map(LandscapeSpec::to_json).collect()).serialize(s),
        }
    }
}

/// Reads the directions files of `landscapes`' given planes, found as data files are (beside
/// the experiment file in `base`, or under the working folder; see [`crate::io::locate_data`])
/// and read as weights files are: each a `float32 [2, parameters]` `.npy`, finite, its two
/// directions independent. Errors name the file, below the block's `directions`.
pub(crate) fn resolve(landscapes: &mut Landscapes, base: &Path, parameters: usize) -> Parsed<()> {
    let many = landscapes.0.len() > 1;
    for (i, spec) in landscapes.0.iter_mut().enumerate() {
        let at = |e: FieldError| {
            if many {
                e.at("directions").index(i)
            } else {
                e.at("directions")
            }
        };
        if let Some(given) = &mut spec.directions {
            given.values = Arc::new(read_directions(&given.file, base, parameters).map_err(at)?);
        }
    }
    Ok(())
}

/// The two directions of the file `given` names (see [`resolve`]), row after row.
fn read_directions(given: &str, base: &Path, parameters: usize) -> Parsed<Vec<f32>> {
    let path = crate::io::locate_data(given, base)?;
    let shown = path.display();
    let (shape, values) =
        crate::io::npy::read(&path, crate::io::Input::WEIGHTS).map_err(|e| FieldError::new(e.to_string()))?;
    if shape != [2, parameters] {
        return Err(FieldError::new(format!(
            "{shown}: shape {shape:?}, expected [2, {parameters}]: two directions of the model's {parameters} parameters in params.npy's layout (a directions.npy optsurf wrote for this model)"
        )));
    }
    if let Some(k) = values.iter().position(|v| !v.is_finite()) {
        return Err(FieldError::new(format!(
            "{shown}: direction {} has {} at parameter {}; expected finite numbers",
            k / parameters,
            values[k],
            k % parameters
        )));
    }
    let (d0, d1) = values.split_at(parameters);
    let dot = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(a, b)| *a as f64 * *b as f64).sum::<f64>();
    let (g00, g01, g11) = (dot(d0, d0), dot(d0, d1), dot(d1, d1));
    if g00 * g11 - g01 * g01 <= 1e-12 * g00 * g11 || g00 == 0.0 || g11 == 0.0 {
        return Err(FieldError::new(format!(
            "{shown}: its two directions are parallel (or one is zero), so they span no plane; give two independent directions"
        )));
    }
    Ok(values)
}

/// Checks the blocks against the experiment: a model of more than two parameters, labels of its
/// runs, held-out rows when `data` is `"test"`. Errors name the field below `landscape`.
pub(crate) fn check(landscapes: &Landscapes, labels: &[&str], parameters: usize, has_test: bool) -> Parsed<()> {
    let many = landscapes.0.len() > 1;
    for (i, spec) in landscapes.0.iter().enumerate() {
        let at = |e: FieldError| if many { e.index(i) } else { e };
        if parameters <= 2 {
            return Err(at(FieldError::new(format!(
                "a landscape is a plane through a model's parameter space; this surface has {parameters} parameters and its own figures are its landscape: remove the block, or use a model (\"surface\": {{\"model\": \"mlp\", ...}})"
            ))));
        }
        for (name, field) in spec.named() {
            if !labels.contains(&name.as_str()) {
                return Err(at(FieldError::new(format!(
                    "no run is labelled {name:?}; the runs are {}",
                    labels.iter().map(|l| format!("{l:?}")).collect::<Vec<_>>().join(", ")
                ))
                .at(field)));
            }
        }
        if spec.data == Split::Test && !has_test {
            return Err(at(FieldError::new(
                "the model holds out no rows; give the surface a \"test_fraction\" (or test data), or use \"train\"",
            )
            .at("data")));
        }
        if labels.is_empty() {
            return Err(at(FieldError::new("the experiment has no runs to draw a landscape of")));
        }
    }
    Ok(())
}
