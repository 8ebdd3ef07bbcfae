//! The runner: steps every run of an experiment as one batch and tells observers.
//!
//! Each step evaluates the surface at all runs' points in one autodiff pass, then lets each
//! optimizer update its own rows (runs of one optimizer with the same shared settings form one
//! batched group). What it yields is a [`RunRecord`] per run; writing them
//! (the results module), progress bars and figures are done by others: the runner only loops.

use super::{Experiment, RunSpec, Start};
use crate::experiment::fused::{Engine, Program, Stepping};
use crate::experiment::tiles::Tiling;
use crate::optim::{Env, Optimizer, OptimizerSpec};
use crate::params::Layout;
use crate::random::Normals;
use crate::surface::data::{DataSurface, Split};
use crate::surface::{Noise, NoiseSpec, Surface};
use crate::tensor::to_vec;
use burn::tensor::{Device, Tensor, TensorData};
use std::collections::HashMap;
use std::ops::Range;

/// Watches a run: called at its start and after every step.
pub trait Observer {
    /// Before the first step.
    fn on_start(&mut self, _experiment: &Experiment) {}
    /// After step `step` (1-based) of `experiment.steps`.
    fn on_step(&mut self, _experiment: &Experiment, _step: usize) {}
}

/// What one run came to: every point it visited, with the gradient and loss there.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunRecord {
    /// Points visited (where the gradients are taken), the start first: `steps + 1` rows unless
    /// the run diverged.
    pub points: Vec<[f32; 2]>,
    /// Where the optimizer would evaluate the model at each point, for optimizers that keep it
    /// apart (Lookahead's slow weights, schedule-free's averaged iterate).
    pub eval_points: Option<Vec<[f32; 2]>>,
    /// The gradient used at each step (at `points[i]`).
    pub grads: Vec<[f32; 2]>,
    /// The loss (noise included) at each point.
    pub loss: Vec<f32>,
    /// The loss of the minibatch each step's gradient came from, on a data surface.
    pub batch_loss: Option<Vec<f32>>,
    /// The learning rate of each step, for a run whose rate is a schedule.
    pub learning_rates: Option<Vec<f32>>,
    /// The step whose point (or loss) was not finite; the arrays end just before it.
    pub diverged_at: Option<usize>,
    /// A model's evaluations (`loss` is then the full training loss at its evaluation steps).
    pub(crate) model: Option<ModelRecord>,
}

/// What a run of a model of `P` parameters records besides its losses: the test loss and the
/// accuracies at each evaluation step, and its parameters at each snapshot step.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct ModelRecord {
    /// The mean loss over the held-out rows at each evaluation step, when rows are held out.
    pub test_loss: Option<Vec<f32>>,
    /// The share of training rows predicted right at each evaluation step, for a classifier.
    pub accuracy: Option<Vec<f32>>,
    /// The share of held-out rows predicted right, for a classifier with held-out rows.
    pub test_accuracy: Option<Vec<f32>>,
    /// The parameters at each snapshot step, `[snapshots, P]` row after row (NaN from the step
    /// the run diverged).
    pub snapshots: Vec<f32>,
}

/// All runs of an experiment as one batch of parameter vectors `[N, P]` (points `[N, 2]` of a
/// surface), grouped by optimizer.
pub(crate) struct Batch {
    surface: Surface,
    noise: Noise,
    points: Tensor<2>,
    groups: Vec<(Range<usize>, Box<dyn Optimizer>)>,
    /// Run index of each batch row (rows are ordered by group).
    order: Vec<usize>,
    /// Each row's seed with its batch size (`None`: the surface's), for a data surface.
    minibatches: Vec<(u64, Option<usize>)>,
    /// Additive gradient noise, when some row has it.
    gradient_noise: Option<GradientNoise>,
    /// Steps taken.
    step: usize,
    /// The variables of a row's parameters.
    layout: Layout,
}

/// What one evaluation of the batch gives: the surface's loss (the full-data loss of a data
/// surface), the gradient the optimizers step on (a minibatch's, noise added) and, for a data
/// surface, the minibatch loss.
pub(crate) struct Evaluation {
    /// The surface's loss at each row's point, `[N]` (a model's minibatch loss when only that
    /// was evaluated).
    pub loss: Tensor<1>,
    /// The gradient each row's optimizer uses, `[N, P]`.
    pub grad: Tensor<2>,
    /// The minibatch loss, `[N]`, for a data surface.
    pub batch_loss: Option<Tensor<1>>,
}

/// `g + sigma xi` with `xi ~ N(0, I)` per step, drawn on the host from each row's seed so that
/// rows with one seed see the same draws on every backend.
struct GradientNoise {
    /// `sigma` of each row, as an `[N, 1]` column.
    sigma: Tensor<2>,
    /// Rows with `sigma > 0` (the others keep their gradient bit for bit).
    noisy: burn::tensor::Tensor<2, burn::tensor::Bool>,
    /// One stream of normals per distinct seed of a noisy row.
    streams: Vec<Normals>,
    /// Each row's stream (`None`: no noisy row has its seed; it keeps its gradient anyway).
    row_stream: Vec<Option<usize>>,
}

impl GradientNoise {
    /// For rows with `sigmas` and `seeds`; `None` when no row has noise.
    fn new(sigmas: &[f64], seeds: &[u64], device: &Device) -> Option<Self> {
        if sigmas.iter().all(|&s| s == 0.0) {
            return None;
        }
        let column = |v: Vec<f32>| Tensor::<2>::from_data(TensorData::new(v, [sigmas.len(), 1]), device);
        let sigma = column(sigmas.iter().map(|&s| s as f32).collect());
        let mut noisy_seeds: Vec<u64> = seeds
            .iter()
            .zip(sigmas)
            .filter(|(_, s)| **s > 0.0)
            .map(|(&k, _)| k)
            .collect();
        noisy_seeds.sort_unstable();
        noisy_seeds.dedup();
        Some(GradientNoise {
            noisy: sigma.clone().greater_elem(0.0),
            sigma,
            streams: noisy_seeds.iter().map(|&k| Normals::new(k ^ NOISE_SALT)).collect(),
            row_stream: seeds.iter().map(|k| noisy_seeds.binary_search(k).ok()).collect(),
        })
    }

    /// The gradient `[N, P]` with this step's noise added.
    fn add(&mut self, grad: Tensor<2>) -> Tensor<2> {
        let [n, p] = grad.dims();
        let draws: Vec<Vec<f32>> = self
            .streams
            .iter_mut()
            .map(|normals| (0..p).map(|_| normals.next()).collect())
            .collect();
        let zeros = vec![0.0; p];
        let xi: Vec<f32> = self
            .row_stream
            .iter()
            .flat_map(|s| s.map_or(&zeros, |s| &draws[s]))
            .copied()
            .collect();
        let xi = Tensor::<2>::from_data(TensorData::new(xi, [n, p]), &grad.device());
        let noisy = grad.clone() + xi * self.sigma.clone();
        grad.mask_where(self.noisy.clone().expand([n, p]), noisy)
    }
}

/// Separates the gradient-noise stream of a seed from its minibatch order.
const NOISE_SALT: u64 = 0x6E6F_6973_655F_7869;

/// The rows' optimizer groups, in order of first appearance: rows whose optimizers share their
/// [`OptimizerSpec::batch_key`] step as one batched optimizer (the key made once per spec).
pub(crate) fn groups(rows: &[Row]) -> Vec<Vec<usize>> {
    let mut group_of_spec: HashMap<*const OptimizerSpec, usize> = HashMap::new();
    let mut keys: Vec<String> = Vec::new();
    let mut members: Vec<Vec<usize>> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let g = *group_of_spec
            .entry(std::ptr::from_ref(row.optimizer))
            .or_insert_with(|| {
                let key = row.optimizer.batch_key();
                keys.iter().position(|k| *k == key).unwrap_or_else(|| {
                    keys.push(key);
                    members.push(Vec::new());
                    keys.len() - 1
                })
            });
        members[g].push(i);
    }
    members
}

/// One row of a batch: an optimizer configuration from a start, with its seed, gradient noise
/// and (on a data surface) batch size.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Row<'a> {
    /// The optimizer.
    pub optimizer: &'a OptimizerSpec,
    /// Where it starts.
    pub start: &'a Start,
    /// Its minibatch order and gradient noise.
    pub seed: u64,
    /// Its gradient noise's standard deviation (0: none).
    pub sigma: f64,
    /// Its minibatch size, when it sets its own.
    pub batch_size: Option<usize>,
}

/// The rows of an experiment's runs, in its order.
fn rows(experiment: &Experiment) -> Vec<Row<'_>> {
    experiment
        .runs
        .iter()
        .map(|r| Row {
            optimizer: &r.optimizer,
            start: &r.start,
            seed: r.seed,
            sigma: r.sigma,
            batch_size: r.batch_size,
        })
        .collect()
}

impl Batch {
    /// Uploads the start points of an experiment's runs and builds one batched optimizer per
    /// group of runs.
    pub(crate) fn new(experiment: &Experiment, device: &Device) -> Self {
        Self::from_rows(&experiment.surface, experiment.noise, &rows(experiment), device)
    }

    /// A batch of any rows over `surface`: rows of one optimizer with the same shared settings
    /// form one batched group.
    pub(crate) fn from_rows(surface: &Surface, noise: NoiseSpec, rows: &[Row], device: &Device) -> Self {
        let members = groups(rows);
        let order: Vec<usize> = members.iter().flatten().copied().collect();
        let mut groups = Vec::with_capacity(members.len());
        let mut at = 0;
        for group in &members {
            let specs: Vec<&OptimizerSpec> = group.iter().map(|&i| rows[i].optimizer).collect();
            let optimizer = OptimizerSpec::build(&specs, device);
            groups.push((at..at + group.len(), optimizer));
            at += group.len();
        }
        let layout = surface
            .data
            .as_ref()
            .map_or_else(|| Layout::whole(2), |d| d.layout().clone());
        let starts: Vec<f32> = order.iter().flat_map(|&i| rows[i].start.values(surface)).collect();
        let points = Tensor::from_data(TensorData::new(starts, [order.len(), layout.len()]), device);
        let seeds: Vec<u64> = order.iter().map(|&i| rows[i].seed).collect();
        let sigmas: Vec<f64> = order.iter().map(|&i| rows[i].sigma).collect();
        let minibatches = order.iter().map(|&i| (rows[i].seed, rows[i].batch_size)).collect();
        Batch {
            surface: surface.clone(),
            noise: surface.noise(noise, device),
            points,
            groups,
            order,
            gradient_noise: GradientNoise::new(&sigmas, &seeds, device),
            minibatches,
            step: 0,
            layout,
        }
    }

    /// The input row of each batch row (rows are ordered by group).
    pub(crate) fn order(&self) -> &[usize] {
        &self.order
    }

    /// A batch of one optimizer configuration from many start points: the shape of a sweep over
    /// start points, and of the throughput benchmark.
    pub(crate) fn from_points(
        surface: Surface,
        noise: Noise,
        points: Tensor<2>,
        optimizer: Box<dyn Optimizer>,
    ) -> Self {
        let n = points.dims()[0];
        Batch {
            surface,
            noise,
            points,
            groups: vec![(0..n, optimizer)],
            order: (0..n).collect(),
            minibatches: vec![(0, None); n],
            gradient_noise: None,
            step: 0,
            layout: Layout::whole(2),
        }
    }

    /// The current points `[N, P]`, in batch order.
    pub(crate) fn points(&self) -> &Tensor<2> {
        &self.points
    }

    /// The loss and the gradient the optimizers use at the current points, in one autodiff
    /// pass (two for a data surface: the minibatch's, and the full-data loss without gradient).
    pub(crate) fn evaluate(&mut self) -> Evaluation {
        let (loss, grad, batch_loss) = match &self.surface.data {
            None => {
                let (loss, grad) = self.surface.loss_and_grad(self.points.clone(), &self.noise);
                (loss, grad, None)
            }
            Some(data) => {
                let (batch_loss, grad) =
                    minibatch_loss_and_grad(data, self.points.clone(), self.step, &self.minibatches);
                (self.loss(), grad, Some(batch_loss))
            }
        };
        let grad = match &mut self.gradient_noise {
            Some(noise) => noise.add(grad),
            None => grad,
        };
        Evaluation { loss, grad, batch_loss }
    }

    /// A model's minibatch loss (as `loss` and `batch_loss`) and gradient at the current
    /// parameters, in one autodiff pass: its full-data losses are evaluated apart (see
    /// [`Batch::model_loss`]).
    pub(crate) fn evaluate_minibatch(&mut self) -> Evaluation {
        let data = self.surface.data.as_ref().expect("a model surface has data");
        let (batch_loss, grad) = minibatch_loss_and_grad(data, self.points.clone(), self.step, &self.minibatches);
        let grad = match &mut self.gradient_noise {
            Some(noise) => noise.add(grad),
            None => grad,
        };
        Evaluation {
            loss: batch_loss.clone(),
            grad,
            batch_loss: Some(batch_loss),
        }
    }

    /// Loss at the current points, without gradient.
    pub(crate) fn loss(&self) -> Tensor<1> {
        self.surface.eval(self.points.clone(), &self.noise)
    }

    /// A classifier's accuracy over `split` at the current parameters, `[N]`.
    pub(crate) fn model_accuracy(&self, split: Split) -> Option<Tensor<1>> {
        self.surface.data.as_ref()?.accuracy(self.points.clone(), split)
    }

    /// A model's full-data loss and (a classifier's) accuracy over `split` in one pass, `[N]`
    /// each (`None` without such rows).
    pub(crate) fn model_metrics(&self, split: Split) -> Option<(Tensor<1>, Option<Tensor<1>>)> {
        self.surface
            .data
            .as_ref()?
            .loss_and_accuracy(self.points.clone(), split)
    }

    /// Each row's seed and batch size.
    pub(crate) fn minibatches(&self) -> &[(u64, Option<usize>)] {
        &self.minibatches
    }

    /// One optimizer step of every row, given this step's evaluation at the current points
    /// (optimizers that use the loss see the minibatch's on a data surface).
    pub(crate) fn advance(&mut self, eval: Evaluation) {
        let (loss, grad) = (eval.batch_loss.unwrap_or(eval.loss), eval.grad);
        let n = loss.dims()[0];
        let loss = loss.reshape([n, 1]);
        let (surface, noise, step, layout) = (&self.surface, &self.noise, self.step, &self.layout);
        self.step += 1;
        let all_rows = &self.minibatches;
        // Another gradient of some rows (SAM's): at the same minibatch, for a data surface.
        let gradient_at_rows = |p: Tensor<2>, rows: Range<usize>| {
            let (loss, grad) = match &surface.data {
                None => surface.loss_and_grad(p, noise),
                Some(data) => minibatch_loss_and_grad(data, p, step, &all_rows[rows]),
            };
            let n = loss.dims()[0];
            (loss.reshape([n, 1]), grad)
        };
        let everything = 0..n;
        let gradient_at = |p: Tensor<2>| gradient_at_rows(p, everything.clone());
        if let [(_, optimizer)] = self.groups.as_mut_slice() {
            let env = Env {
                loss: &loss,
                layout,
                gradient_at: &gradient_at,
            };
            self.points = optimizer.step(self.points.clone(), grad, &env);
            return;
        }
        let parts: Vec<Tensor<2>> = self
            .groups
            .iter_mut()
            .map(|(rows, optimizer)| {
                let p = self.points.clone().narrow(0, rows.start, rows.len());
                let g = grad.clone().narrow(0, rows.start, rows.len());
                let l = loss.clone().narrow(0, rows.start, rows.len());
                let at = |p: Tensor<2>| gradient_at_rows(p, rows.clone());
                optimizer.step(
                    p,
                    g,
                    &Env {
                        loss: &l,
                        layout,
                        gradient_at: &at,
                    },
                )
            })
            .collect();
        self.points = Tensor::cat(parts, 0);
    }

    /// Where each row's optimizer would evaluate the model, when some optimizer keeps such a
    /// point apart from where it takes gradients (`[N, P]`, the current point for the others),
    /// with which rows have one.
    pub(crate) fn eval_points(&self) -> Option<(Tensor<2>, Vec<bool>)> {
        let eval: Vec<Option<Tensor<2>>> = self.groups.iter().map(|(_, o)| o.eval_points()).collect();
        if eval.iter().all(Option::is_none) {
            return None;
        }
        let mut has = Vec::with_capacity(self.order.len());
        let parts: Vec<Tensor<2>> = self
            .groups
            .iter()
            .zip(eval)
            .map(|((rows, _), e)| {
                has.extend(std::iter::repeat_n(e.is_some(), rows.len()));
                e.unwrap_or_else(|| self.points.clone().narrow(0, rows.start, rows.len()))
            })
            .collect();
        let eval = match <[Tensor<2>; 1]>::try_from(parts) {
            Ok([one]) => one,
            Err(parts) => Tensor::cat(parts, 0),
        };
        Some((eval, has))
    }
}

/// The minibatch loss `[N]` and its gradient `[N, P]` at `points`, each row with the batch of
/// its seed at `step`.
fn minibatch_loss_and_grad(
    data: &DataSurface,
    points: Tensor<2>,
    step: usize,
    rows: &[(u64, Option<usize>)],
) -> (Tensor<1>, Tensor<2>) {
    let p = points.autodiff().require_grad();
    let loss = data.batch_loss(p.clone(), step, rows);
    let grads = loss.clone().sum().backward();
    let grad = p.grad(&grads).expect("the points require grad");
    (loss.inner(), grad)
}

/// Host-side record of one run while it steps.
#[derive(Default)]
struct Record {
    points: Vec<[f32; 2]>,
    grads: Vec<[f32; 2]>,
    loss: Vec<f32>,
    /// The optimizer's evaluation points, once it has had one apart from its point (until
    /// then they are the points, and go unrecorded).
    eval: Vec<[f32; 2]>,
    has_eval: bool,
    batch_loss: Vec<f32>,
    diverged_at: Option<usize>,
}

impl Record {
    /// Records the evaluation points from now on: the points so far, then each one pushed.
    fn keep_eval(&mut self) {
        if !self.has_eval {
            self.has_eval = true;
            self.eval = Vec::with_capacity(self.points.capacity());
            self.eval.extend_from_slice(&self.points);
        }
    }

    /// Records point `k` with its loss, the optimizer's evaluation point and the gradient there
    /// (none after the last step), and stops the record at the first non-finite value.
    fn push(&mut self, k: usize, point: [f32; 2], eval: [f32; 2], loss: f32, grad: Option<[f32; 2]>) {
        if self.diverged_at.is_some() {
            return;
        }
        if !(point.iter().chain(&eval).all(|v| v.is_finite()) && loss.is_finite()) {
            self.diverged_at = Some(k);
            return;
        }
        self.points.push(point);
        if self.has_eval {
            self.eval.push(eval);
        }
        self.loss.push(loss);
        if let Some(g) = grad {
            if g.iter().all(|v| v.is_finite()) {
                self.grads.push(g);
            } else {
                self.diverged_at = Some(k + 1);
            }
        }
    }
}

/// The rate of each of `steps` steps, when the run's rate is a schedule.
fn scheduled_rates(run: &RunSpec, steps: usize) -> Option<Vec<f32>> {
    let rate = run.optimizer.learning_rate();
    rate.constant()
        .is_none()
        .then(|| (0..steps as u64).map(|k| rate.at(k)).collect())
}

/// Runs an experiment on `device`, telling `observers` as it goes; returns each run's record, in
/// the experiment's order. The runs step as one batch, or, when there are more of them than a
/// tile holds or enough to give every core thousands, in tiles of runs one per core at a time
/// (see [`Tiling::splits`]); runs never interact, so the records are the same either way.
pub fn run(experiment: &Experiment, device: &Device, observers: &mut [&mut dyn Observer]) -> Vec<RunRecord> {
    for o in observers.iter_mut() {
        o.on_start(experiment);
    }
    run_tiled(
        experiment,
        device,
        Tiling::for_device(device),
        Stepping::Fused,
        observers,
    )
}

/// [`run`] with the runs cut as `tiling` says (after `on_start`). Observers hear of a step once
/// every tile has made it.
pub(crate) fn run_tiled(
    experiment: &Experiment,
    device: &Device,
    tiling: Tiling,
    stepping: Stepping,
    observers: &mut [&mut dyn Observer],
) -> Vec<RunRecord> {
    let runs = experiment.runs.len();
    if !tiling.splits(runs) {
        return run_batch(experiment, device, stepping, observers);
    }
    let mut told = 0;
    let mut tell = |done: u64| {
        for step in told + 1..=(done / runs as u64) as usize {
            for o in observers.iter_mut() {
                o.on_step(experiment, step);
            }
            told = step;
        }
    };
    let work = |tile: Range<usize>, progress: &mut dyn FnMut(u64)| {
        let part = Experiment {
            runs: experiment.runs[tile.clone()].to_vec(),
            ..experiment.clone()
        };
        let mut counter = Counter {
            runs: tile.len() as u64,
            progress,
        };
        run_batch(&part, device, stepping, &mut [&mut counter])
    };
    // Moved, not cloned as `concat` would.
    tiling.run(0..runs, work, &mut tell).into_iter().flatten().collect()
}

/// Tells `progress` the run-steps a tile has made.
struct Counter<'a> {
    runs: u64,
    progress: &'a mut dyn FnMut(u64),
}

impl Observer for Counter<'_> {
    fn on_step(&mut self, _experiment: &Experiment, step: usize) {
        (self.progress)(self.runs * step as u64);
    }
}

/// Runs every run of `experiment` as one batch: replayed (see [`crate::experiment::fused`])
/// when `stepping` says so and every optimizer group can be, else eagerly; the same records.
fn run_batch(
    experiment: &Experiment,
    device: &Device,
    stepping: Stepping,
    observers: &mut [&mut dyn Observer],
) -> Vec<RunRecord> {
    if let Some(data) = experiment.surface.model()
        && !experiment.runs.is_empty()
    {
        return run_model(experiment, data, device, observers);
    }
    if stepping.may_replay(&experiment.surface, device)
        && let Some(records) = replay_batch(experiment, stepping, device)
    {
        for step in 1..=experiment.steps {
            for o in observers.iter_mut() {
                o.on_step(experiment, step);
            }
        }
        return records;
    }
    let steps = if experiment.runs.is_empty() {
        0
    } else {
        experiment.steps
    };
    let mut batch = Batch::new(experiment, device);
    let n = batch.order.len();
    let mut records: Vec<Record> = (0..n)
        .map(|_| Record {
            points: Vec::with_capacity(experiment.steps + 1),
            grads: Vec::with_capacity(experiment.steps),
            loss: Vec::with_capacity(experiment.steps + 1),
            ..Record::default()
        })
        .collect();
    for step in 0..=steps {
        if n == 0 {
            break;
        }
        let last = step == steps;
        let evaluation = if last { None } else { Some(batch.evaluate()) };
        let loss = match &evaluation {
            Some(e) => e.loss.clone(),
            None => batch.loss(),
        };
        // One read-back per step: [points | eval points? | grad? | batch loss? | loss].
        let eval = batch.eval_points();
        let mut columns = vec![batch.points.clone()];
        columns.extend(eval.as_ref().map(|(e, _)| e.clone()));
        columns.extend(evaluation.as_ref().map(|e| e.grad.clone()));
        let batch_loss = evaluation.as_ref().and_then(|e| e.batch_loss.clone());
        columns.extend(batch_loss.map(|l| l.reshape([n, 1])));
        columns.push(loss.reshape([n, 1]));
        let width: usize = columns.iter().map(|c| c.dims()[1]).sum();
        let host = to_vec(Tensor::cat(columns, 1));
        let g_at = 2 + 2 * usize::from(eval.is_some());
        let has_batch_loss = evaluation.as_ref().is_some_and(|e| e.batch_loss.is_some());
        for (row, &run) in batch.order.iter().enumerate() {
            let v = &host[row * width..(row + 1) * width];
            let point = [v[0], v[1]];
            let e = match &eval {
                Some((_, has)) if has[row] => {
                    records[run].keep_eval();
                    [v[2], v[3]]
                }
                _ => point,
            };
            let g = evaluation.is_some().then(|| [v[g_at], v[g_at + 1]]);
            if has_batch_loss && records[run].diverged_at.is_none() {
                records[run].batch_loss.push(v[width - 2]);
            }
            records[run].push(step, point, e, v[width - 1], g);
        }
        if let Some(evaluation) = evaluation {
            step_and_tell(&mut batch, evaluation, experiment, step, observers);
        }
    }
    run_records(experiment, records)
}

/// What one step of a group's replay hands out, as program outputs: the points, the
/// optimizer's evaluation points (where it keeps them apart), the gradient (all but the last
/// step) and the loss.
struct StepOutputs {
    points: usize,
    eval: Option<usize>,
    grad: Option<usize>,
    loss: usize,
}

/// `experiment`'s records with each optimizer group recorded once and replayed block by block;
/// `None` when a group cannot be, or `stepping` says it would not pay (the caller then steps
/// the whole batch eagerly).
fn replay_batch(experiment: &Experiment, stepping: Stepping, device: &Device) -> Option<Vec<RunRecord>> {
    let rows = rows(experiment);
    let mut records: Vec<Record> = rows.iter().map(|_| Record::default()).collect();
    for members in groups(&rows) {
        if !stepping.replays(members.len(), experiment.steps) {
            return None;
        }
        let group: Vec<Row> = members.iter().map(|&i| rows[i]).collect();
        for (i, record) in
            members
                .into_iter()
                .zip(replay_group(experiment, &group, stepping.engine(group.len(), device))?)
        {
            records[i] = record;
        }
    }
    Some(run_records(experiment, records))
}

/// The records of one optimizer group's rows (in their order), as [`run_batch`] keeps them.
fn replay_group(experiment: &Experiment, rows: &[Row], engine: Engine) -> Option<Vec<Record>> {
    let steps = experiment.steps;
    let (program, (order, outputs)) = Program::record(rows.len(), |capture| {
        let mut batch = Batch::from_rows(&experiment.surface, experiment.noise, rows, capture);
        let mut ids = Vec::new();
        let mut id = |t: &Tensor<2>| {
            ids.push(crate::capture::id(t));
            ids.len() - 1
        };
        let mut outputs = Vec::with_capacity(steps + 1);
        for step in 0..=steps {
            let evaluation = (step < steps).then(|| batch.evaluate());
            let loss = match &evaluation {
                Some(e) => e.loss.clone(),
                None => batch.loss(),
            };
            let n = loss.dims()[0];
            outputs.push(StepOutputs {
                points: id(batch.points()),
                // One group: its rows all keep evaluation points, or none do.
                eval: batch.eval_points().map(|(e, _)| id(&e)),
                grad: evaluation.as_ref().map(|e| id(&e.grad)),
                loss: id(&loss.reshape([n, 1])),
            });
            if let Some(evaluation) = evaluation {
                batch.advance(evaluation);
            }
        }
        (ids, (batch.order().to_vec(), outputs))
    })?;
    let mut records: Vec<Record> = rows
        .iter()
        .map(|_| Record {
            points: Vec::with_capacity(steps + 1),
            grads: Vec::with_capacity(steps),
            loss: Vec::with_capacity(steps + 1),
            ..Record::default()
        })
        .collect();
    // A block's outputs (every step of its rows), told to the records once the block is whole.
    let mut block: Vec<Vec<f32>> = vec![Vec::new(); outputs.last().map_or(0, |o| o.loss + 1)];
    let mut first = 0;
    let tell = |block: &[Vec<f32>], first: usize, records: &mut [Record]| {
        let n = block[outputs[0].loss].len();
        for row in 0..n {
            let record = &mut records[order[first + row]];
            let pair = |o: usize| [block[o][2 * row], block[o][2 * row + 1]];
            for (step, out) in outputs.iter().enumerate() {
                let point = pair(out.points);
                let eval = match out.eval {
                    Some(e) => {
                        record.keep_eval();
                        pair(e)
                    }
                    None => point,
                };
                record.push(step, point, eval, block[out.loss][row], out.grad.map(pair));
            }
        }
    };
    let complete = program.run(engine, |output, start, values| {
        if start != first {
            tell(&block, first, &mut records);
            first = start;
        }
        block[output].clear();
        block[output].extend_from_slice(values);
    });
    if !complete {
        return None;
    }
    tell(&block, first, &mut records);
    Some(records)
}

/// The runs' records as [`RunRecord`]s, in the experiment's order.
fn run_records(experiment: &Experiment, records: Vec<Record>) -> Vec<RunRecord> {
    experiment
        .runs
        .iter()
        .zip(records)
        .map(|(spec, record)| RunRecord {
            learning_rates: scheduled_rates(spec, record.grads.len()),
            eval_points: record.has_eval.then_some(record.eval),
            batch_loss: experiment.surface.data.is_some().then(|| {
                let mut b = record.batch_loss;
                b.truncate(record.grads.len());
                b
            }),
            points: record.points,
            grads: record.grads,
            loss: record.loss,
            diverged_at: record.diverged_at,
            model: None,
        })
        .collect()
}

/// Runs an experiment over a model of `P` parameters: each step reads back the minibatch
/// losses; the evaluation steps the full training and test losses and the accuracies; the
/// snapshot steps the parameters. A run diverges at the first non-finite loss.
fn run_model(
    experiment: &Experiment,
    data: &DataSurface,
    device: &Device,
    observers: &mut [&mut dyn Observer],
) -> Vec<RunRecord> {
    let steps = experiment.steps;
    let mut batch = Batch::new(experiment, device);
    let n = batch.order.len();
    let p = data.layout().len();
    let evals = data.eval_steps(steps);
    let snapshots = data.snapshot_steps(steps);
    // Full batch, data in order: a step's minibatch loss is the training loss there.
    let full_batch = data.full_batch(batch.minibatches());
    let mut records: Vec<RunRecord> = (0..n)
        .map(|_| RunRecord {
            loss: Vec::with_capacity(evals.len()),
            batch_loss: Some(Vec::with_capacity(steps)),
            model: Some(ModelRecord {
                snapshots: Vec::with_capacity(snapshots.len() * p),
                ..ModelRecord::default()
            }),
            ..RunRecord::default()
        })
        .collect();
    let (mut next_eval, mut next_snapshot) = (0, 0);
    for step in 0..=steps {
        let evaluation = (step < steps).then(|| batch.evaluate_minibatch());
        let evaluating = evals.get(next_eval) == Some(&step);
        let snapshot = snapshots.get(next_snapshot) == Some(&step);
        // One read-back per step: [batch loss? | train loss | test loss | accuracy | test
        // accuracy (at evaluations) | parameters (at snapshots)].
        let mut columns: Vec<Tensor<2>> = Vec::new();
        let column = |t: Tensor<1>| t.reshape([n, 1]);
        columns.extend(evaluation.as_ref().map(|e| column(e.loss.clone())));
        let mut kinds = Vec::new();
        if evaluating {
            // Each split's loss and accuracy in one pass (a full batch's loss is the step's own).
            let (train, accuracy) = match &evaluation {
                Some(e) if full_batch => (e.loss.clone(), batch.model_accuracy(Split::Train)),
                _ => batch
                    .model_metrics(Split::Train)
                    .expect("training rows are always there"),
            };
            let (test_loss, test_accuracy) = batch
                .model_metrics(Split::Test)
                .map_or((None, None), |(l, a)| (Some(l), a));
            columns.push(column(train));
            kinds.push(Metric::Loss);
            for (metric, value) in [
                (Metric::TestLoss, test_loss),
                (Metric::Accuracy, accuracy),
                (Metric::TestAccuracy, test_accuracy),
            ] {
                if let Some(v) = value {
                    columns.push(column(v));
                    kinds.push(metric);
                }
            }
            next_eval += 1;
        }
        if snapshot {
            columns.push(batch.points.clone());
            next_snapshot += 1;
        }
        let width: usize = columns.iter().map(|c| c.dims()[1]).sum();
        let host = if columns.is_empty() {
            Vec::new()
        } else {
            to_vec(Tensor::cat(columns, 1))
        };
        for (row, &run) in batch.order.iter().enumerate() {
            let v = &host[row * width..(row + 1) * width];
            let record = &mut records[run];
            let mut at = 0;
            if evaluation.is_some() {
                let l = v[0];
                at = 1;
                if record.diverged_at.is_none() {
                    if l.is_finite() {
                        record
                            .batch_loss
                            .as_mut()
                            .expect("a model records minibatch losses")
                            .push(l);
                    } else {
                        record.diverged_at = Some(step);
                    }
                }
            }
            let model = record.model.as_mut().expect("a model run has a model record");
            for metric in &kinds {
                let value = v[at];
                at += 1;
                if record.diverged_at.is_some() {
                    continue;
                }
                match metric {
                    Metric::Loss if !value.is_finite() => {
                        record.diverged_at = Some(step);
                    }
                    Metric::Loss => record.loss.push(value),
                    Metric::TestLoss => model.test_loss.get_or_insert_with(Vec::new).push(value),
                    Metric::Accuracy => model.accuracy.get_or_insert_with(Vec::new).push(value),
                    Metric::TestAccuracy => model.test_accuracy.get_or_insert_with(Vec::new).push(value),
                }
            }
            if snapshot {
                let params = &v[at..at + p];
                if record.diverged_at.is_none() && params.iter().all(|x| x.is_finite()) {
                    model.snapshots.extend_from_slice(params);
                } else {
                    record.diverged_at.get_or_insert(step);
                    model.snapshots.extend(std::iter::repeat_n(f32::NAN, p));
                }
            }
        }
        if let Some(evaluation) = evaluation {
            step_and_tell(&mut batch, evaluation, experiment, step, observers);
        }
    }
    experiment
        .runs
        .iter()
        .zip(records)
        .map(|(spec, mut record)| {
            record.learning_rates = scheduled_rates(spec, record.batch_loss.as_ref().map_or(0, Vec::len));
            record
        })
        .collect()
}

/// Steps every row with `evaluation` (step `step`'s) and tells the observers.
fn step_and_tell(
    batch: &mut Batch,
    evaluation: Evaluation,
    experiment: &Experiment,
    step: usize,
    observers: &mut [&mut dyn Observer],
) {
    batch.advance(evaluation);
    for o in observers.iter_mut() {
        o.on_step(experiment, step + 1);
    }
}

/// What a model's evaluation step reads back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Metric {
    Loss,
    TestLoss,
    Accuracy,
    TestAccuracy,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Registry;
    use crate::backend::Backend;
    use std::path::Path;

    /// Counts the steps observers hear of.
    struct Heard(Vec<usize>);

    impl Observer for Heard {
        fn on_step(&mut self, _experiment: &Experiment, step: usize) {
            self.0.push(step);
        }
    }

    /// An experiment's runs cut into tiles on threads give the records of one batch, to the bit
    /// (noise, minibatches and schedules are per run), and observers hear of each step once.
    #[test]
    fn tiles_of_runs_give_the_records_of_one_batch() {
        let device = Backend::default().device().unwrap();
        let run = |label: usize, optimizer: &str| {
            serde_json::json!({"label": format!("r{label}"), "optimizer": optimizer, "learning_rate": 0.05,
                               "start": [label as f64 * 0.3 - 4.0, 1.5], "seed": label})
        };
        let points: Vec<_> = (0..23).map(|k| run(k, ["sgd", "adam", "rmsprop"][k % 3])).collect();
        let model: Vec<_> = (0..9)
            .map(|k| {
                let optimizer = ["adam", "lamb", "sgd"][k % 3];
                serde_json::json!({"label": format!("m{k}"), "optimizer": optimizer,
                                   "learning_rate": 0.05, "start": {"seed": k}, "seed": k})
            })
            .collect();
        let files = [
            serde_json::json!({"name": "p", "surface": "f4", "steps": 15, "runs": points,
                               "gradient_noise": {"sigma": 0.2}}),
            serde_json::json!({"name": "m", "steps": 8, "runs": model,
                               "surface": {"model": "mlp", "layers": [4], "activation": "tanh", "loss": "cross_entropy",
                                           "data": {"generate": "blobs", "n": 60, "seed": 1},
                                           "test_fraction": 0.2, "batch_size": 16}}),
        ];
        for file in files {
            let e = Experiment::parse(&file.to_string(), Path::new("e.json"), &Registry::builtin(), &device).unwrap();
            let text = |records: Vec<RunRecord>| records.iter().map(|r| format!("{r:?}")).collect::<Vec<_>>();
            let whole = text(run_batch(&e, &device, Stepping::Eager, &mut []));
            assert_eq!(whole.len(), e.runs.len());
            for (rows, threads) in [(1, 1), (4, 3), (5, 2)] {
                let mut heard = Heard(Vec::new());
                let tiling = Tiling { rows, threads };
                let tiled = text(run_tiled(&e, &device, tiling, Stepping::Fused, &mut [&mut heard]));
                assert_eq!(tiled, whole, "{}: tiles of {rows} on {threads} threads", e.name);
                assert_eq!(heard.0, (1..=e.steps).collect::<Vec<_>>(), "{}", e.name);
            }
        }
    }

    /// Experiments of many runs replay (see `experiment/fused`) with the records of eager
    /// stepping, to the bit: every built-in surface and a few expression surfaces with every
    /// optimizer, from starts that reach the domain's corners (some runs diverge); then
    /// several groups with schedules, gradient noise and evaluation points in one batch.
    #[test]
    fn replayed_experiments_give_the_eager_records() {
        let device = Backend::default().device().unwrap();
        let registry = Registry::builtin();
        let expressions = [
            serde_json::json!({"expr": "sin(x) * cos(y) + 0.1 * x^2 + exp(-y^2 / 4)"}),
            serde_json::json!({"expr": "x^3 / 30 + y^4 / 40 - x * y / (2 + x^2) + 1 / (3 + y^2)"}),
        ];
        let surfaces = registry
            .surfaces()
            .iter()
            .filter(|s| s.model().is_none() && s.data.is_none())
            .map(|s| (serde_json::json!(s.name), s.domain))
            .chain(expressions.map(|e| (e, crate::surface::Domain::POST)));
        let records = |e: &Experiment, stepping| {
            let one = Tiling {
                rows: e.runs.len(),
                threads: 1,
            };
            format!("{:?}", run_tiled(e, &device, one, stepping, &mut []))
        };
        let (mut replayed, mut diverged) = (0, false);
        for (surface, domain) in surfaces {
            let at = |[lo, hi]: [f64; 2], t: f64| lo + (hi - lo) * t;
            for entry in registry.optimizers() {
                // 72 runs over the domain, corners included, two learning rates where the
                // optimizer has one.
                let runs: Vec<_> = (0..72)
                    .map(|k| {
                        let start = [at(domain.x, (k % 9) as f64 / 8.0), at(domain.y, (k / 9) as f64 / 7.0)];
                        let mut run = serde_json::json!({"label": format!("r{k}"), "optimizer": entry.name,
                            "start": start});
                        let params: Vec<&str> = entry.params.iter().map(|p| p.name).collect();
                        if params.contains(&"learning_rate") {
                            run["learning_rate"] = serde_json::json!([0.003, 0.3][k % 2]);
                        }
                        for wrapped in ["fast", "outer"] {
                            if params.contains(&wrapped) {
                                run[wrapped] = serde_json::json!({"optimizer": "adam", "learning_rate": 0.1});
                            }
                        }
                        run
                    })
                    .collect();
                let file = serde_json::json!({"name": "x", "surface": surface, "steps": 9, "runs": runs});
                let e = Experiment::parse(&file.to_string(), Path::new("x.json"), &registry, &device).unwrap();
                let fused = records(&e, Stepping::Everywhere);
                assert_eq!(fused, records(&e, Stepping::Eager), "{surface} {}", entry.name);
                replayed += usize::from(replay_batch(&e, Stepping::Everywhere, &device).is_some());
                diverged |= fused.contains("diverged_at: Some");
            }
        }
        assert!(replayed > 100, "most pairs replay ({replayed})");
        assert!(diverged, "some runs diverged");
        let runs: Vec<_> = (0..280)
            .map(|k| match k % 4 {
                0 => serde_json::json!({"optimizer": "sgd", "momentum": 0.9, "seed": k,
                    "learning_rate": {"schedule": "CosineDecay", "initial_learning_rate": 0.01, "decay_steps": 10}}),
                1 => serde_json::json!({"optimizer": "lookahead", "seed": k,
                    "fast": {"optimizer": "adam", "learning_rate": 0.05}}),
                2 => serde_json::json!({"optimizer": "schedule_free_adamw", "learning_rate": 0.01, "seed": k}),
                _ => serde_json::json!({"optimizer": "adam", "learning_rate": 0.5, "seed": k}),
            })
            .enumerate()
            .map(|(k, mut run)| {
                run["label"] = serde_json::json!(format!("r{k}"));
                run["start"] = serde_json::json!([k as f64 * 0.035 - 4.9, 2.5 - k as f64 * 0.015]);
                run
            })
            .collect();
        let file = serde_json::json!({"name": "g", "surface": "f4", "steps": 14, "runs": runs,
                                      "gradient_noise": {"sigma": 0.3}});
        let e = Experiment::parse(&file.to_string(), Path::new("g.json"), &registry, &device).unwrap();
        assert!(
            replay_batch(&e, Stepping::Everywhere, &device).is_some(),
            "the groups replay"
        );
        assert_eq!(records(&e, Stepping::Everywhere), records(&e, Stepping::Eager));
    }

    /// On a GPU an experiment's optimizer groups of 2,048 runs or more replay as shaders: each
    /// run's trajectory (its points, gradients and losses at every step) is flex's eager one
    /// within float32 noise, but for a few runs the GPU's rounding sends elsewhere.
    #[cfg(feature = "wgpu")]
    #[test]
    fn an_experiment_on_the_gpu_replays_its_groups_as_shaders() {
        let registry = Registry::builtin();
        let (gpu, flex) = (Backend::Wgpu.device().unwrap(), Backend::Flex.device().unwrap());
        let runs: Vec<_> = (0..2 * 2048)
            .map(|k| {
                let (i, j) = ((k / 2) % 64, (k / 2) / 64);
                serde_json::json!({"label": format!("r{k}"), "learning_rate": 0.05,
                    "optimizer": if k % 2 == 0 { "adam" } else { "rmsprop" },
                    "start": [-4.5 + 9.0 * i as f64 / 63.0, -4.5 + 9.0 * j as f64 / 31.0]})
            })
            .collect();
        let file = serde_json::json!({"name": "g", "surface": "f2", "steps": 30, "runs": runs});
        let on = |device: &Device, stepping| {
            let e = Experiment::parse(&file.to_string(), Path::new("g.json"), &registry, device).unwrap();
            run_tiled(&e, device, Tiling::for_device(device), stepping, &mut [])
        };
        let before = crate::experiment::fused::gpu_runs();
        let (g, c) = (on(&gpu, Stepping::Fused), on(&flex, Stepping::Eager));
        let runs = crate::experiment::fused::gpu_runs() - before;
        assert_eq!(runs, 2, "both groups ran as shaders");
        let close = |a: f32, b: f32| a == b || (a - b).abs() <= 1e-4 * b.abs().max(1.0);
        let pairs = |p: &[[f32; 2]]| p.iter().flatten().copied().collect::<Vec<f32>>();
        let agree = g
            .iter()
            .zip(&c)
            .filter(|(g, c)| {
                let same = |a: &[f32], b: &[f32]| a.len() == b.len() && a.iter().zip(b).all(|(&a, &b)| close(a, b));
                g.diverged_at == c.diverged_at
                    && same(&pairs(&g.points), &pairs(&c.points))
                    && same(&pairs(&g.grads), &pairs(&c.grads))
                    && same(&g.loss, &c.loss)
            })
            .count();
        eprintln!("{agree} of {} runs agree", g.len());
        assert!(agree * 100 >= 98 * g.len(), "{agree} of {} runs agree", g.len());
    }
}
