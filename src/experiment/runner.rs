//! The runner: steps every run of an experiment as one batch and tells observers.
//!
//! Each step evaluates the surface at all runs' points in one autodiff pass, then lets each
//! optimizer update its own rows (runs of one optimizer with the same boolean flags form one
//! batched group). Writing JSON, progress bars and figures are [`Observer`]s; the runner only
//! loops.

use super::Experiment;
use super::trajectory::{RunTrajectory, Status, Trajectories};
use crate::error::Result;
use crate::optim::{self, Env, Optimizer, Schedule};
use crate::surface::{Noise, Surface, to_vec};
use burn::tensor::{Device, Tensor, TensorData};
use std::ops::Range;

/// Watches a run: called at its start, after every step and with its result.
pub trait Observer {
    /// Before the first step.
    fn on_start(&mut self, _experiment: &Experiment) {}
    /// After step `step` (1-based) of `experiment.steps`.
    fn on_step(&mut self, _experiment: &Experiment, _step: usize) {}
    /// With the finished trajectories.
    fn on_finish(&mut self, _experiment: &Experiment, _trajectories: &Trajectories) -> Result<()> {
        Ok(())
    }
}

/// All runs of an experiment as one batch of points `[N, 2]`, grouped by optimizer.
pub struct Batch {
    surface: Surface,
    noise: Noise,
    points: Tensor<2>,
    groups: Vec<(Range<usize>, Box<dyn Optimizer>)>,
    /// Run index of each batch row (rows are ordered by group).
    order: Vec<usize>,
}

impl Batch {
    /// Uploads the start points and builds one batched optimizer per group of runs.
    pub fn new(experiment: &Experiment, device: &Device) -> Self {
        let mut keys: Vec<String> = Vec::new();
        let mut members: Vec<Vec<usize>> = Vec::new();
        for (i, run) in experiment.runs.iter().enumerate() {
            let key = optim::group_key(run.optimizer.name, &run.hyperparameters);
            match keys.iter().position(|k| *k == key) {
                Some(g) => members[g].push(i),
                None => {
                    keys.push(key);
                    members.push(vec![i]);
                }
            }
        }
        let order: Vec<usize> = members.iter().flatten().copied().collect();
        let mut groups = Vec::with_capacity(members.len());
        let mut at = 0;
        for rows in &members {
            let first = &experiment.runs[rows[0]];
            let hypers: Vec<_> = rows
                .iter()
                .map(|&i| experiment.runs[i].hyperparameters.clone())
                .collect();
            groups.push((
                at..at + rows.len(),
                first.optimizer.build_in(&experiment.optimizers, &hypers, device),
            ));
            at += rows.len();
        }
        let starts: Vec<f32> = order
            .iter()
            .flat_map(|&i| experiment.runs[i].start.map(|v| v as f32))
            .collect();
        let points = Tensor::from_data(TensorData::new(starts, [order.len(), 2]), device);
        Batch {
            surface: experiment.surface.clone(),
            noise: experiment.surface.noise(experiment.noise, device),
            points,
            groups,
            order,
        }
    }

    /// A batch of one optimizer configuration from many start points: the shape of a sweep over
    /// start points, and of the throughput benchmark.
    pub fn from_points(surface: Surface, noise: Noise, points: Tensor<2>, optimizer: Box<dyn Optimizer>) -> Self {
        let n = points.dims()[0];
        Batch {
            surface,
            noise,
            points,
            groups: vec![(0..n, optimizer)],
            order: (0..n).collect(),
        }
    }

    /// The current points `[N, 2]`, in batch order.
    pub fn points(&self) -> &Tensor<2> {
        &self.points
    }

    /// Loss `[N]` and gradient `[N, 2]` at the current points, in one autodiff pass.
    pub fn evaluate(&self) -> (Tensor<1>, Tensor<2>) {
        self.surface.loss_and_grad(self.points.clone(), &self.noise)
    }

    /// Loss at the current points, without gradient.
    pub fn loss(&self) -> Tensor<1> {
        self.surface.eval(self.points.clone(), &self.noise)
    }

    /// One optimizer step of every row, given the loss `[N]` and gradient `[N, 2]` at the
    /// current points.
    pub fn advance(&mut self, loss: Tensor<1>, grad: Tensor<2>) {
        let n = loss.dims()[0];
        let loss = loss.reshape([n, 1]);
        let (surface, noise) = (&self.surface, &self.noise);
        let gradient_at = |p: Tensor<2>| {
            let (loss, grad) = surface.loss_and_grad(p, noise);
            let n = loss.dims()[0];
            (loss.reshape([n, 1]), grad)
        };
        if let [(_, optimizer)] = self.groups.as_mut_slice() {
            let env = Env {
                loss: &loss,
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
                optimizer.step(
                    p,
                    g,
                    &Env {
                        loss: &l,
                        gradient_at: &gradient_at,
                    },
                )
            })
            .collect();
        self.points = Tensor::cat(parts, 0);
    }

    /// Where each row's optimizer would evaluate the model, when some optimizer keeps such a
    /// point apart from where it takes gradients (`[N, 2]`, the current point for the others),
    /// with which rows have one.
    pub fn eval_points(&self) -> Option<(Tensor<2>, Vec<bool>)> {
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
        Some((Tensor::cat(parts, 0), has))
    }
}

/// Host-side record of one run while it steps.
#[derive(Default)]
struct Record {
    points: Vec<[f32; 2]>,
    grads: Vec<[f32; 2]>,
    loss: Vec<f32>,
    eval: Vec<[f32; 2]>,
    has_eval: bool,
    diverged_at: Option<usize>,
}

impl Record {
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
        self.eval.push(eval);
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

/// The rate of each of `steps` steps, when the run's `learning_rate` is a schedule.
fn scheduled_rates(hyperparameters: &serde_json::Map<String, serde_json::Value>, steps: usize) -> Option<Vec<f32>> {
    let Some(serde_json::Value::Object(schedule)) = hyperparameters.get("learning_rate") else {
        return None;
    };
    let schedule = Schedule::from_json(schedule).ok()?;
    Some((0..steps as u64).map(|k| schedule.at(k)).collect())
}

/// Runs an experiment on `device`, telling `observers` as it goes.
pub fn run(experiment: &Experiment, device: &Device, observers: &mut [&mut dyn Observer]) -> Result<Trajectories> {
    for o in observers.iter_mut() {
        o.on_start(experiment);
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
        let (loss, grad) = if last {
            (batch.loss(), None)
        } else {
            let (loss, grad) = batch.evaluate();
            (loss, Some(grad))
        };
        // One read-back per step: [points | eval points? | grad? | loss].
        let eval = batch.eval_points();
        let mut columns = vec![batch.points.clone()];
        columns.extend(eval.as_ref().map(|(e, _)| e.clone()));
        columns.extend(grad.clone());
        columns.push(loss.clone().reshape([n, 1]));
        let width = 3 + 2 * usize::from(eval.is_some()) + 2 * usize::from(!last);
        let host = to_vec(Tensor::cat(columns, 1));
        let g_at = 2 + 2 * usize::from(eval.is_some());
        for (row, &run) in batch.order.iter().enumerate() {
            let v = &host[row * width..(row + 1) * width];
            let point = [v[0], v[1]];
            let e = match &eval {
                Some((_, has)) if has[row] => {
                    records[run].has_eval = true;
                    [v[2], v[3]]
                }
                _ => point,
            };
            let g = (!last).then(|| [v[g_at], v[g_at + 1]]);
            records[run].push(step, point, e, v[width - 1], g);
        }
        if let Some(grad) = grad {
            batch.advance(loss, grad);
            for o in observers.iter_mut() {
                o.on_step(experiment, step + 1);
            }
        }
    }
    let runs = experiment
        .runs
        .iter()
        .zip(records)
        .map(|(spec, record)| RunTrajectory {
            learning_rates: scheduled_rates(&spec.hyperparameters, record.grads.len()),
            label: spec.label.clone(),
            optimizer: spec.optimizer.name.to_string(),
            hyperparameters: spec.hyperparameters.clone(),
            status: if record.diverged_at.is_some() {
                Status::Diverged
            } else {
                Status::Ok
            },
            eval_points: record.has_eval.then_some(record.eval),
            points: record.points,
            grads: record.grads,
            loss: record.loss,
            diverged_at: record.diverged_at,
        })
        .collect();
    let trajectories = Trajectories {
        name: experiment.name.clone(),
        title: experiment.title.clone(),
        surface: experiment.surface_spec.clone(),
        domain: experiment.domain,
        steps: experiment.steps,
        noise: experiment.noise,
        plot: experiment.plot.clone(),
        runs,
    };
    for o in observers.iter_mut() {
        o.on_finish(experiment, &trajectories)?;
    }
    Ok(trajectories)
}
