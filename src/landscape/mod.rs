//! Loss landscapes of a model, evaluated after its runs (an experiment's `landscape` blocks):
//! the loss over a plane of parameter space through a centre, with every run's recorded
//! snapshots projected onto it and the residual that says how far each lies off it; the loss
//! along a line between two points; and each run's sharpness at its final point.
//!
//! A plane is `center + a d_0 + b d_1`: its grid's points are rows of one batched loss
//! evaluation (in chunks), the machinery that steps runs. `landscape.json` records the grid's
//! losses (`loss[j][i]` at `(a[i], b[j])`), each run's path `[a, b]` at its snapshot steps with
//! the residual, the loss of the plane there (`plane_loss`) and the path's own loss
//! (`path_loss`); `directions.npy` holds `[d_0, d_1]` (`float32 [2, P]`, `params.npy`'s layout).
//! `interpolation.json` records an interpolation's train and test losses.
//!
//! A plane's directions are computed (PCA, random) or given (a `.npy` file), then scaled as the
//! block's `normalize` and `ignore` say, whatever the plane; paths are least-squares
//! projections, right for directions that are not orthonormal. The grid rows of an
//! experiment's planes (all planes', block after block) split into shards as a study's runs
//! do ([`shard`], `optsurf run --shard I/N`), and [`compute_all`] given every shard's losses
//! writes what one whole run writes, byte for byte.

pub(crate) mod directions;
#[cfg(test)]
mod tests;

use crate::error::{Error, Result};
use crate::experiment::Experiment;
use crate::experiment::landscape::{Center, LandscapeSpec, Normalize, Plane};
use crate::experiment::tiles::Tiling;
use crate::io::write_atomic;
use crate::results::{ResultDir, Trajectories, npy};
use crate::surface::data::{DataSurface, Split};
use crate::tensor::to_vec;
use burn::tensor::{Device, Tensor, TensorData};
use serde::Serialize;
use std::ops::Range;

/// Points off their plane by more than this share of their distance from the centre are drawn
/// hollow.
pub(crate) const RESIDUAL_THRESHOLD: f32 = 0.5;

/// Elements of the widest activation (`rows x data rows x widest layer`) one chunk of a batched
/// evaluation may hold: 8 MB, under the C allocator's 32 MB threshold above which every buffer is
/// a fresh mapping the kernel must fault in and clear.
const BUDGET: usize = 1 << 21;

/// Power iterations for each Hessian eigenvalue.
const POWER_ITERATIONS: usize = 100;

/// The finite-difference step of Hessian-vector products.
const EPSILON: f64 = 1e-3;

/// One run's recorded snapshots (up to the last finite one).
#[derive(Clone, Debug)]
pub(crate) struct Walk {
    pub(crate) label: String,
    /// The step of each snapshot.
    pub(crate) steps: Vec<usize>,
    /// `[snapshots, P]`, row after row.
    pub(crate) values: Vec<f32>,
    /// The run's last recorded training loss (NaN when none).
    pub(crate) final_loss: f32,
}

impl Walk {
    fn row(&self, k: usize, p: usize) -> &[f32] {
        &self.values[k * p..(k + 1) * p]
    }
    fn last(&self, p: usize) -> &[f32] {
        self.row(self.steps.len() - 1, p)
    }
}

/// Every run's walk from `traj`'s snapshots (`None` without snapshots).
pub(crate) fn walks(traj: &Trajectories) -> Option<Vec<Walk>> {
    let params = traj.params.as_ref()?;
    let p = params.layout.len();
    let walks = traj
        .runs
        .iter()
        .map(|r| {
            let own = r.snapshots.as_deref().unwrap_or(&[]);
            let finite = own
                .chunks(p)
                .zip(&params.steps)
                .take_while(|(row, _)| row.len() == p && row.iter().all(|v| v.is_finite()))
                .count();
            Walk {
                label: r.label.clone(),
                steps: params.steps[..finite].to_vec(),
                values: own[..finite * p].to_vec(),
                final_loss: r.loss.iter().rev().copied().find(|v| v.is_finite()).unwrap_or(f32::NAN),
            }
        })
        .collect();
    Some(walks)
}

/// Where a point came from: a run's label and the step.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct Origin {
    pub(crate) label: String,
    pub(crate) step: usize,
}

/// The top and bottom Hessian eigenvalues at a point, and `|lambda_min / lambda_max|`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub(crate) struct Sharpness {
    pub(crate) lambda_max: f32,
    pub(crate) lambda_min: f32,
    pub(crate) ratio: f32,
}

/// One run on a plane.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct RunOnPlane {
    pub(crate) label: String,
    /// The snapshot steps.
    pub(crate) steps: Vec<usize>,
    /// `[a, b]` of each snapshot's projection.
    pub(crate) path: Vec<[f32; 2]>,
    /// Each snapshot's distance from the plane over its distance from the centre.
    pub(crate) residual: Vec<f32>,
    /// The loss at each snapshot.
    pub(crate) path_loss: Vec<f32>,
    /// The loss at each snapshot's projection.
    pub(crate) plane_loss: Vec<f32>,
    /// At the run's final point.
    pub(crate) sharpness: Sharpness,
}

/// A plane's landscape: what `landscape.json` holds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct PlaneLandscape {
    /// `"pca"`, `"random"` or `"file"` (directions given).
    pub(crate) plane: &'static str,
    pub(crate) center: Origin,
    /// `"train"` or `"test"`: the rows of every loss.
    pub(crate) data: &'static str,
    /// Those rows: 0-based indices into the data as read (a CSV's data rows in file order, a
    /// generated set's in optsurf's order), standardized with the training rows' mean and
    /// population standard deviation unless the model says `"standardize": false`.
    pub(crate) rows: Vec<usize>,
    pub(crate) normalize: &'static str,
    pub(crate) ignore_biasbn: bool,
    pub(crate) a: Vec<f32>,
    pub(crate) b: Vec<f32>,
    /// `loss[j][i]` at `(a[i], b[j])`.
    pub(crate) loss: Vec<Vec<f32>>,
    /// The share of the snapshots' spread about the centre each PCA direction explains.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) explained_variance: Option<[f32; 2]>,
    pub(crate) residual_threshold: f32,
    pub(crate) runs: Vec<RunOnPlane>,
    /// `[d_0, d_1]`, each `P` numbers (written to `directions.npy`).
    #[serde(skip)]
    pub(crate) directions: [Vec<f32>; 2],
}

/// One line of an interpolation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct Curve {
    pub(crate) label: String,
    pub(crate) from: Origin,
    pub(crate) to: Origin,
    pub(crate) train_loss: Vec<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) test_loss: Option<Vec<f32>>,
}

/// A run's sharpness at its final point.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct RunSharpness {
    pub(crate) label: String,
    pub(crate) sharpness: Sharpness,
}

/// An interpolation: what `interpolation.json` holds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct Interpolation {
    pub(crate) plane: &'static str,
    /// The rows of the sharpness (both losses are given).
    pub(crate) data: &'static str,
    /// The point `(1 - a) w_from + a w_to` of each value.
    pub(crate) a: Vec<f32>,
    pub(crate) curves: Vec<Curve>,
    pub(crate) runs: Vec<RunSharpness>,
}

/// A computed landscape.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Landscape {
    Plane(Box<PlaneLandscape>),
    Line(Interpolation),
}

fn split_name(s: Split) -> &'static str {
    match s {
        Split::Train => "train",
        Split::Test => "test",
    }
}

/// `n` evenly spaced values from `lo` to `hi`, both included.
pub(crate) fn linspace([lo, hi]: [f64; 2], n: usize) -> Vec<f32> {
    (0..n)
        .map(|k| (lo + (hi - lo) * k as f64 / (n - 1).max(1) as f64) as f32)
        .collect()
}

/// Rows of parameters that fit in one chunk of a full-data pass of `data`.
fn chunk_rows(data: &DataSurface, split: Split) -> usize {
    let rows = match split {
        Split::Train => data.data.rows(),
        Split::Test => data.test.as_ref().map_or(1, |t| t.rows()),
    };
    let widest = data
        .layout()
        .variables()
        .iter()
        .map(|v| v.shape.last().copied().unwrap_or(1))
        .chain([data.data.width])
        .max()
        .unwrap_or(1);
    (BUDGET / (rows.max(1) * widest.max(1))).max(1)
}

/// The loss over `split` at `n` parameter rows, `build(range)` making the rows `[len, P]` of a
/// chunk; `None` without those rows. The chunks are evaluated one per core at a time.
pub(crate) fn losses(
    data: &DataSurface,
    split: Split,
    n: usize,
    build: impl Fn(Range<usize>) -> Tensor<2> + Sync,
) -> Option<Vec<f32>> {
    let tiling = Tiling {
        rows: chunk_rows(data, split),
        threads: crate::experiment::tiles::cores(),
    };
    let chunks = tiling.run(
        0..n,
        |range, _| data.full_loss(build(range), split).map(to_vec),
        &mut |_| {},
    );
    chunks.into_iter().collect::<Option<Vec<_>>>().map(|c| c.concat())
}

/// Rows `range` of the host matrix `values` (`P` columns) on `device`.
fn upload(values: &[f32], p: usize, range: Range<usize>, device: &Device) -> Tensor<2> {
    let rows = values[range.start * p..range.end * p].to_vec();
    Tensor::from_data(TensorData::new(rows, [range.len(), p]), device)
}

/// Points `center + a d_0 + b d_1` for each `[a, b]` of `coefs[range]`.
fn plane_rows(center: &Tensor<2>, dirs: &Tensor<2>, coefs: &[[f32; 2]], range: Range<usize>) -> Tensor<2> {
    let flat: Vec<f32> = coefs[range.clone()].iter().flatten().copied().collect();
    let c = Tensor::<2>::from_data(TensorData::new(flat, [range.len(), 2]), &center.device());
    c.matmul(dirs.clone()) + center.clone()
}

/// The gradient of the loss over `split` at each row of `w` (`[R, P]` host rows).
fn gradients(data: &DataSurface, split: Split, w: &[f32], p: usize, device: &Device) -> Vec<f32> {
    let r = w.len() / p;
    let x = Tensor::<2>::from_data(TensorData::new(w.to_vec(), [r, p]), device)
        .autodiff()
        .require_grad();
    let loss = data.full_loss(x.clone(), split).expect("the split's rows exist");
    let grads = loss.sum().backward();
    to_vec(x.grad(&grads).expect("the parameters require grad"))
}

/// Each point's largest and smallest Hessian eigenvalue of the loss over `split`, by power
/// iteration on Hessian-vector products (central differences of autodiff gradients), the
/// smallest by the same iteration on `H - lambda_max I`. `points` is `[R, P]`.
pub(crate) fn sharpness(
    data: &DataSurface,
    split: Split,
    points: &[f32],
    seed: u64,
    device: &Device,
) -> Vec<Sharpness> {
    let p = data.layout().len();
    let r = points.len() / p;
    if r == 0 {
        return Vec::new();
    }
    let hvp = |v: &[f64]| -> Vec<f64> {
        let mut both = Vec::with_capacity(2 * r * p);
        for sign in [1.0, -1.0] {
            both.extend(
                points
                    .iter()
                    .zip(v)
                    .map(|(&w, &v)| (w as f64 + sign * EPSILON * v) as f32),
            );
        }
        let g = gradients(data, split, &both, p, device);
        let (plus, minus) = g.split_at(r * p);
        plus.iter()
            .zip(minus)
            .map(|(a, b)| (*a as f64 - *b as f64) / (2.0 * EPSILON))
            .collect()
    };
    let unit = |v: &mut [f64]| {
        for row in v.chunks_mut(p) {
            let n = row.iter().map(|x| x * x).sum::<f64>().sqrt();
            if n > 0.0 {
                row.iter_mut().for_each(|x| *x /= n);
            }
        }
    };
    let rayleigh = |v: &[f64], hv: &[f64]| -> Vec<f64> {
        v.chunks(p)
            .zip(hv.chunks(p))
            .map(|(a, b)| a.iter().zip(b).map(|(x, y)| x * y).sum())
            .collect()
    };
    let iterate = |shift: &[f64], seed: u64| -> Vec<f64> {
        let [mut v, _] = directions::gaussian(r * p, seed);
        unit(&mut v);
        let mut value = vec![0.0; r];
        for _ in 0..POWER_ITERATIONS {
            let mut hv = hvp(&v);
            for (k, row) in hv.chunks_mut(p).enumerate() {
                for (h, x) in row.iter_mut().zip(&v[k * p..(k + 1) * p]) {
                    *h -= shift[k] * x;
                }
            }
            let next = rayleigh(&v, &hv);
            let settled = next
                .iter()
                .zip(&value)
                .all(|(a, b)| (a - b).abs() <= 1e-6 * a.abs().max(1e-12));
            value = next;
            v = hv;
            unit(&mut v);
            if settled {
                break;
            }
        }
        value
    };
    let max = iterate(&vec![0.0; r], seed);
    let shifted = iterate(&max, seed.wrapping_add(1));
    max.iter()
        .zip(&shifted)
        .map(|(&hi, &s)| {
            let lo = s + hi;
            Sharpness {
                lambda_max: hi as f32,
                lambda_min: lo as f32,
                ratio: if hi != 0.0 { (lo / hi).abs() as f32 } else { f32::NAN },
            }
        })
        .collect()
}

/// The error of a landscape that cannot be computed, naming the block's field.
fn refuse(experiment: &Experiment, field: &str, message: String) -> Error {
    Error::input(&experiment.source, format!("landscape.{field}"), message)
}

/// The walks a block covers, in the experiment's order.
fn selected<'w>(spec: &LandscapeSpec, walks: &'w [Walk]) -> Vec<&'w Walk> {
    walks
        .iter()
        .filter(|w| !w.steps.is_empty())
        .filter(|w| spec.runs.as_ref().is_none_or(|r| r.contains(&w.label)))
        .collect()
}

/// The model and every run's walk, for any block of `experiment`.
fn inputs<'e>(experiment: &'e Experiment, traj: &Trajectories) -> Result<(&'e DataSurface, Vec<Walk>)> {
    let data = experiment
        .surface
        .model()
        .ok_or_else(|| refuse(experiment, "plane", "a landscape needs a model".into()))?;
    let walks =
        walks(traj).ok_or_else(|| refuse(experiment, "plane", "the runs kept no parameter snapshots".into()))?;
    Ok((data, walks))
}

/// The walks `spec` covers, refused when none has a snapshot.
fn chosen<'w>(spec: &LandscapeSpec, experiment: &Experiment, walks: &'w [Walk]) -> Result<Vec<&'w Walk>> {
    let chosen = selected(spec, walks);
    if chosen.is_empty() {
        return Err(refuse(
            experiment,
            "runs",
            "every run it names diverged before its first snapshot; name runs that did not".into(),
        ));
    }
    Ok(chosen)
}

/// Computes the landscape `spec` over `experiment`'s model after its runs (`traj`); a plane's
/// grid losses are `grid` when given (shards merged, see [`shard`]), else evaluated here.
pub(crate) fn compute(
    spec: &LandscapeSpec,
    experiment: &Experiment,
    traj: &Trajectories,
    device: &Device,
    grid: Option<&[f32]>,
) -> Result<Landscape> {
    let (data, walks) = inputs(experiment, traj)?;
    let chosen = chosen(spec, experiment, &walks)?;
    match spec.plane {
        Plane::Interpolate => interpolate(spec, data, &walks, &chosen, device).map(Landscape::Line),
        _ => {
            let frame = frame(spec, experiment, data, &walks, &chosen)?;
            let grid = match grid {
                Some(g) => g.to_vec(),
                None => frame.losses(data, spec.data, &frame.grid(0..frame.b.len()), device),
            };
            Ok(Landscape::Plane(Box::new(frame.finish(spec, data, grid, device))))
        }
    }
}

/// Each plane block of `experiment` (interpolations have no grid) with the index of its first
/// grid row among all the planes' rows, block after block: the rows shards split.
fn planes(experiment: &Experiment) -> Vec<(&LandscapeSpec, usize)> {
    let mut first = 0;
    experiment
        .landscapes
        .iter()
        .filter(|s| s.plane != Plane::Interpolate)
        .map(|s| {
            first += s.resolution[1];
            (s, first - s.resolution[1])
        })
        .collect()
}

/// The grid rows of all of `experiment`'s planes (0 without planes).
pub(crate) fn grid_rows(experiment: &Experiment) -> usize {
    planes(experiment)
        .last()
        .map_or(0, |(s, first)| first + s.resolution[1])
}

/// Each plane's share of the grid rows `rows`, as its own rows.
fn shares<'e>(experiment: &'e Experiment, rows: &Range<usize>) -> Vec<(&'e LandscapeSpec, Range<usize>)> {
    planes(experiment)
        .into_iter()
        .map(|(s, first)| {
            let lo = rows.start.clamp(first, first + s.resolution[1]);
            let hi = rows.end.clamp(lo, first + s.resolution[1]);
            (s, lo - first..hi - first)
        })
        .collect()
}

/// How many losses the grid rows `rows` hold.
pub(crate) fn grid_values(experiment: &Experiment, rows: Range<usize>) -> usize {
    shares(experiment, &rows)
        .iter()
        .map(|(s, own)| own.len() * s.resolution[0])
        .sum()
}

/// The losses of grid rows `rows` of `experiment`'s planes after its runs (`traj`), row after
/// row: a shard's share of the planes, which [`run_all`] given every share writes as one
/// whole run does.
pub(crate) fn shard(
    experiment: &Experiment,
    traj: &Trajectories,
    rows: Range<usize>,
    device: &Device,
) -> Result<Vec<f32>> {
    let mut out = Vec::with_capacity(grid_values(experiment, rows.clone()));
    for (spec, own) in shares(experiment, &rows) {
        if own.is_empty() {
            continue;
        }
        let (data, walks) = inputs(experiment, traj)?;
        let chosen = chosen(spec, experiment, &walks)?;
        let frame = frame(spec, experiment, data, &walks, &chosen)?;
        out.extend(frame.losses(data, spec.data, &frame.grid(own), device));
    }
    Ok(out)
}

fn find<'w>(walks: &'w [Walk], label: &str) -> Option<&'w Walk> {
    walks.iter().find(|w| w.label == label && !w.steps.is_empty())
}

/// A plane before its losses: the centre, the directions, the grid and the runs' projections.
struct Frame<'w> {
    origin: Origin,
    center: Vec<f32>,
    directions: [Vec<f32>; 2],
    explained: Option<[f32; 2]>,
    a: Vec<f32>,
    b: Vec<f32>,
    /// Each run covered, with its path `[a, b]` and residual at every snapshot.
    runs: Vec<Projected<'w>>,
}

/// A run's walk with its path `[a, b]` and residual at every snapshot.
type Projected<'w> = (&'w Walk, Vec<[f32; 2]>, Vec<f32>);

impl Frame<'_> {
    /// The points `[a, b]` of the grid's rows `rows` (row `j` at `b[j]`), row after row.
    fn grid(&self, rows: Range<usize>) -> Vec<[f32; 2]> {
        self.b[rows]
            .iter()
            .flat_map(|&bj| self.a.iter().map(move |&ai| [ai, bj]))
            .collect()
    }

    /// The loss over `split` at each point `[a, b]` of `coefs`, in chunks of one batched pass.
    fn losses(&self, data: &DataSurface, split: Split, coefs: &[[f32; 2]], device: &Device) -> Vec<f32> {
        let p = self.center.len();
        let center = Tensor::<2>::from_data(TensorData::new(self.center.clone(), [1, p]), device);
        let dirs = Tensor::<2>::from_data(TensorData::new(self.directions.concat(), [2, p]), device);
        losses(data, split, coefs.len(), |r| plane_rows(&center, &dirs, coefs, r)).expect("the split's rows exist")
    }

    /// The landscape, given the grid's losses (row after row): the runs' losses on and off
    /// the plane and their sharpness computed.
    fn finish(self, spec: &LandscapeSpec, data: &DataSurface, grid: Vec<f32>, device: &Device) -> PlaneLandscape {
        let p = self.center.len();
        let split = spec.data;
        let loss: Vec<Vec<f32>> = grid.chunks(self.a.len()).map(<[f32]>::to_vec).collect();
        let finals: Vec<f32> = self.runs.iter().flat_map(|(w, ..)| w.last(p).iter().copied()).collect();
        let sharp = sharpness(data, split, &finals, spec.seed, device);
        let mut runs = Vec::with_capacity(self.runs.len());
        for ((w, path, residual), sharpness) in self.runs.iter().zip(sharp) {
            let plane_loss = self.losses(data, split, path, device);
            let path_loss = losses(data, split, w.steps.len(), |r| upload(&w.values, p, r, device))
                .expect("the split's rows exist");
            runs.push(RunOnPlane {
                label: w.label.clone(),
                steps: w.steps.clone(),
                path: path.clone(),
                residual: residual.clone(),
                path_loss,
                plane_loss,
                sharpness,
            });
        }
        PlaneLandscape {
            plane: match spec.plane {
                Plane::Pca => "pca",
                Plane::File => "file",
                _ => "random",
            },
            center: self.origin,
            data: split_name(split),
            rows: data.rows_of(split),
            normalize: match spec.normalize {
                Normalize::Filter => "filter",
                Normalize::Layer => "layer",
                Normalize::None => "none",
            },
            ignore_biasbn: spec.ignore_biasbn,
            a: self.a,
            b: self.b,
            loss,
            explained_variance: self.explained,
            residual_threshold: RESIDUAL_THRESHOLD,
            runs,
            directions: self.directions,
        }
    }
}

/// A plane's frame: its centre, its directions (computed or given, then scaled as `spec`
/// says), the runs' projections and the grid.
fn frame<'w>(
    spec: &LandscapeSpec,
    experiment: &Experiment,
    data: &DataSurface,
    walks: &[Walk],
    chosen: &[&'w Walk],
) -> Result<Frame<'w>> {
    let p = data.layout().len();
    let (origin, center): (Origin, Vec<f32>) = match &spec.center {
        Center::Start => (
            Origin {
                label: chosen[0].label.clone(),
                step: 0,
            },
            chosen[0].row(0, p).to_vec(),
        ),
        Center::Final | Center::Run(_) => {
            let walk = match &spec.center {
                Center::Run(label) => find(walks, label).ok_or_else(|| {
                    refuse(
                        experiment,
                        "center",
                        format!("run {label:?} diverged before its first snapshot"),
                    )
                })?,
                _ => chosen
                    .iter()
                    .copied()
                    .min_by(|x, y| {
                        let key = |w: &Walk| {
                            if w.final_loss.is_finite() {
                                w.final_loss
                            } else {
                                f32::INFINITY
                            }
                        };
                        key(x).total_cmp(&key(y))
                    })
                    .expect("some run is chosen"),
            };
            (
                Origin {
                    label: walk.label.clone(),
                    step: *walk.steps.last().expect("a walk has a snapshot"),
                },
                walk.last(p).to_vec(),
            )
        }
    };
    let scale = |d: &mut [Vec<f64>; 2]| {
        for d in d {
            directions::normalize(d, &center, data.layout(), spec.normalize, spec.ignore_biasbn);
        }
    };
    let (dirs, explained) = match spec.plane {
        Plane::Pca => {
            let mut m = Vec::new();
            for w in chosen {
                for k in 0..w.steps.len() {
                    m.extend(w.row(k, p).iter().zip(&center).map(|(&x, &c)| x as f64 - c as f64));
                }
            }
            if spec.ignore_biasbn {
                let mask: Vec<bool> = biases(data, p);
                for row in m.chunks_mut(p) {
                    for (x, &bias) in row.iter_mut().zip(&mask) {
                        if bias {
                            *x = 0.0;
                        }
                    }
                }
            }
            let n = m.len() / p;
            let (mut d, e) = directions::pca(&m, n, p).ok_or_else(|| {
                refuse(
                    experiment,
                    "plane",
                    format!(
                        "the {n} snapshots of these runs span fewer than two directions about the centre; record more snapshots (\"record_every\") or use \"plane\": \"random\""
                    ),
                )
            })?;
            // Scaled (when asked) after the principal directions are found: the explained
            // variance is theirs.
            scale(&mut d);
            (d, Some(e.map(|v| v as f32)))
        }
        Plane::File => {
            let given = &spec.directions.as_ref().expect("a given plane has its file").values;
            let mut d = [0, 1].map(|k| given[k * p..(k + 1) * p].iter().map(|&v| v as f64).collect());
            scale(&mut d);
            (d, None)
        }
        _ => {
            let mut d = directions::gaussian(p, spec.seed);
            scale(&mut d);
            (d, None)
        }
    };
    let dirs32: [Vec<f32>; 2] = dirs.clone().map(|d| d.iter().map(|&v| v as f32).collect());
    let exact: [Vec<f64>; 2] = dirs32.clone().map(|d| d.iter().map(|&v| v as f64).collect());
    // Every run's snapshots on the plane.
    let runs: Vec<Projected> = chosen
        .iter()
        .map(|&w| {
            let (path, residual) = (0..w.steps.len())
                .map(|k| {
                    let (ab, res) = directions::project(&exact, &center, w.row(k, p));
                    (ab.map(|v| v as f32), res as f32)
                })
                .unzip();
            (w, path, residual)
        })
        .collect();
    let range = spec.range.unwrap_or_else(|| match spec.plane {
        Plane::Pca => fit(runs.iter().flat_map(|(_, path, _)| path.iter())),
        _ => [[-1.0, 1.0], [-1.0, 1.0]],
    });
    Ok(Frame {
        origin,
        center,
        directions: dirs32,
        explained,
        a: linspace(range[0], spec.resolution[0]),
        b: linspace(range[1], spec.resolution[1]),
        runs,
    })
}

/// Which columns of a parameter vector are biases (one-dimensional variables of a layout of
/// several).
fn biases(data: &DataSurface, p: usize) -> Vec<bool> {
    let layout = data.layout();
    let mut mask = vec![false; p];
    if layout.variables().len() > 1 {
        for (v, r) in layout.variables().iter().zip(layout.ranges()) {
            if v.shape.len() <= 1 {
                mask[r].fill(true);
            }
        }
    }
    mask
}

/// A range around `points` and the origin, a fifth of each side's span added on both sides.
fn fit<'a>(points: impl Iterator<Item = &'a [f32; 2]>) -> [[f64; 2]; 2] {
    let mut r = [[0.0f64, 0.0]; 2];
    for q in points {
        for k in 0..2 {
            let v = q[k] as f64;
            if v.is_finite() {
                r[k] = [r[k][0].min(v), r[k][1].max(v)];
            }
        }
    }
    r.map(|[lo, hi]| {
        let pad = ((hi - lo) * 0.2).max(1e-3);
        [lo - pad, hi + pad]
    })
}

fn interpolate(
    spec: &LandscapeSpec,
    data: &DataSurface,
    walks: &[Walk],
    chosen: &[&Walk],
    device: &Device,
) -> Result<Interpolation> {
    let p = data.layout().len();
    let range = spec.range.map_or([-0.5, 1.5], |r| r[0]);
    let a = linspace(range, spec.resolution[0]);
    // Each line: where it starts (and the point), where it ends, its label.
    type Line<'w> = (Origin, &'w [f32], Origin, &'w [f32], String);
    let mut lines: Vec<Line> = Vec::new();
    let ends: Vec<&Walk> = match &spec.between {
        Some([x, y]) => {
            let (wx, wy) = (
                find(walks, x).expect("checked labels have walks"),
                find(walks, y).expect("checked labels have walks"),
            );
            let at = |w: &Walk| Origin {
                label: w.label.clone(),
                step: *w.steps.last().expect("a walk has a snapshot"),
            };
            lines.push((at(wx), wx.last(p), at(wy), wy.last(p), format!("{x} to {y}")));
            vec![wx, wy]
        }
        None => {
            for w in chosen {
                let start = Origin {
                    label: w.label.clone(),
                    step: w.steps[0],
                };
                let end = Origin {
                    label: w.label.clone(),
                    step: *w.steps.last().expect("a walk has a snapshot"),
                };
                lines.push((start, w.row(0, p), end, w.last(p), w.label.clone()));
            }
            chosen.to_vec()
        }
    };
    let mut curves = Vec::with_capacity(lines.len());
    for (from, w1, to, w2, label) in lines {
        let delta: Vec<f32> = w2.iter().zip(w1).map(|(y, x)| y - x).collect();
        let start = Tensor::<2>::from_data(TensorData::new(w1.to_vec(), [1, p]), device);
        let dir = Tensor::<2>::from_data(TensorData::new(delta, [1, p]), device);
        let along = |split: Split| {
            losses(data, split, a.len(), |r| {
                let coefs = Tensor::<2>::from_data(TensorData::new(a[r.clone()].to_vec(), [r.len(), 1]), device);
                coefs.matmul(dir.clone()) + start.clone()
            })
        };
        curves.push(Curve {
            label,
            from,
            to,
            train_loss: along(Split::Train).expect("training rows exist"),
            test_loss: along(Split::Test),
        });
    }
    let finals: Vec<f32> = ends.iter().flat_map(|w| w.last(p).iter().copied()).collect();
    let sharp = sharpness(data, spec.data, &finals, spec.seed, device);
    Ok(Interpolation {
        plane: "interpolate",
        data: split_name(spec.data),
        a,
        curves,
        runs: ends
            .iter()
            .zip(sharp)
            .map(|(w, sharpness)| RunSharpness {
                label: w.label.clone(),
                sharpness,
            })
            .collect(),
    })
}

/// The file name of the `k`-th (0-based) output called `stem` with extension `ext`: `stem.ext`,
/// then `stem-2.ext`, ...
pub(crate) fn numbered(stem: &str, k: usize, ext: &str) -> String {
    match k {
        0 => format!("{stem}.{ext}"),
        k => format!("{stem}-{}.{ext}", k + 1),
    }
}

/// A landscape's files (`k`: its place among the blocks of its kind), each name with its
/// bytes: `directions.npy` and `landscape.json` of a plane, `interpolation.json` of a line.
fn files(landscape: &Landscape, k: usize) -> Vec<(String, Vec<u8>)> {
    match landscape {
        Landscape::Plane(plane) => {
            let p = plane.directions[0].len();
            let mut bytes = Vec::new();
            npy::write(&mut bytes, &[2, p], &plane.directions.concat()).expect("writing to memory");
            vec![
                (numbered("directions", k, "npy"), bytes),
                (numbered("landscape", k, "json"), pretty(plane.as_ref())),
            ]
        }
        Landscape::Line(line) => vec![(numbered("interpolation", k, "json"), pretty(line))],
    }
}

/// Every file of `landscapes` (an experiment's, in block order), numbered per kind.
pub(crate) fn all_files(landscapes: &[Landscape]) -> Vec<(String, Vec<u8>)> {
    let (mut planes, mut lines) = (0, 0);
    let mut out = Vec::new();
    for landscape in landscapes {
        let k = match landscape {
            Landscape::Plane(_) => &mut planes,
            Landscape::Line(_) => &mut lines,
        };
        out.extend(files(landscape, *k));
        *k += 1;
    }
    out
}

/// `v` as pretty JSON with a final newline.
fn pretty<T: Serialize>(v: &T) -> Vec<u8> {
    let mut text = serde_json::to_string_pretty(v).expect("landscapes serialize");
    text.push('\n');
    text.into_bytes()
}

/// Computes every landscape of `experiment` after its runs (`traj`), in block order. `grids`,
/// when given, holds every plane's grid losses, block after block (the shards' [`shard`]s
/// joined).
pub(crate) fn compute_all(
    experiment: &Experiment,
    traj: &Trajectories,
    device: &Device,
    grids: Option<&[f32]>,
) -> Result<Vec<Landscape>> {
    let mut at = 0;
    experiment
        .landscapes
        .iter()
        .map(|spec| {
            let grid = match (grids, spec.plane) {
                (Some(g), Plane::File | Plane::Pca | Plane::Random) => {
                    let n = spec.resolution[0] * spec.resolution[1];
                    at += n;
                    Some(&g[at - n..at])
                }
                _ => None,
            };
            compute(spec, experiment, traj, device, grid)
        })
        .collect()
}

/// Computes every landscape of `experiment` after its runs and writes their files into `dir`
/// (see [`compute_all`]); returns them in order.
pub(crate) fn run_all(
    experiment: &Experiment,
    traj: &Trajectories,
    dir: &ResultDir,
    device: &Device,
    grids: Option<&[f32]>,
) -> Result<Vec<Landscape>> {
    let landscapes = compute_all(experiment, traj, device, grids)?;
    for (name, bytes) in all_files(&landscapes) {
        write_atomic(&dir.file(&name), &bytes)?;
    }
    Ok(landscapes)
}
