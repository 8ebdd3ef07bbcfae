//! Models over data: the loss of a model's parameters over a dataset, with minibatches, as a
//! surface.
//!
//! A row of the data is a feature vector `x` (`F` numbers) and a target `y`. A model
//! ([`ModelLoss`]) turns a batch of runs' parameter vectors `[R, P]` and a batch of rows into
//! each run's mean loss `[R]`, as burn tensor code, so its gradient comes from autodiff:
//! - [`regression`]: `linear_regression` and `logistic_regression` of one feature, the
//!   two-parameter surfaces `(x, y) = (w, b)` whose figures are the loss over that plane;
//! - [`mlp`]: multi-layer perceptrons with Keras's layers, activations and losses;
//! - a user's own model, registered with [`Registry::with_model`](crate::Registry::with_model).
//!
//! The surface's loss (each recorded `loss`) is the mean over all training rows; an optimizer
//! steps on the mean over a minibatch. Each epoch is a seeded permutation of the rows, cut into
//! batches of `batch_size` in order (the last one smaller, or dropped); all of it is tensor code
//! over `[runs, batch]`.

pub(crate) mod dataset;
pub(crate) mod mlp;
pub(crate) mod regression;
#[cfg(test)]
mod tests;

use crate::params::Layout;
use burn::tensor::{Device, Int, Tensor, TensorData};
pub(crate) use dataset::{Dataset, Targets, Unfit};
pub(crate) use mlp::{Activation, Loss, Mlp};
pub(crate) use regression::{Kind, Regression};
use std::sync::{Arc, Mutex};

/// A model's loss over rows of data, batched over runs: the tensor code of a model surface.
///
/// `params` is `[R, P]` (one run a row, in [`ModelLoss::layout`]'s order); `x` is `[G, B, F]` and
/// `y` `[G, B]` with `G = R` (each run its own rows) or `G = 1` (every run the same rows).
///
/// The gradient of [`ModelLoss::loss`] comes from burn's autodiff; a model never writes one.
pub trait ModelLoss: Send + Sync {
    /// The variables of the parameter vector.
    fn layout(&self) -> &Layout;
    /// The number `F` of feature columns a row must have.
    fn features(&self) -> usize;
    /// Each run's mean loss over its rows: `[R]`, differentiable.
    fn loss(&self, params: Tensor<2>, x: Tensor<3>, y: Tensor<2>) -> Tensor<1>;
    /// Each run's share of rows predicted right, `[R]`, for a classifier (none by default).
    fn accuracy(&self, params: Tensor<2>, x: Tensor<3>, y: Tensor<2>) -> Option<Tensor<1>> {
        let _ = (params, x, y);
        None
    }
    /// Each run's mean loss and, for a classifier, accuracy over the same rows: what an
    /// evaluation reads. The default calls [`ModelLoss::loss`] and [`ModelLoss::accuracy`]; a
    /// model whose two share a forward pass computes it once.
    fn loss_and_accuracy(&self, params: Tensor<2>, x: Tensor<3>, y: Tensor<2>) -> (Tensor<1>, Option<Tensor<1>>) {
        let accuracy = self.accuracy(params.clone(), x.clone(), y.clone());
        (self.loss(params, x, y), accuracy)
    }
    /// The initial parameters a seed draws (`"start": {"seed": k}`): Keras's defaults by
    /// shape unless the model says otherwise (see [`Layout::keras_init`]).
    fn init(&self, seed: u64) -> Vec<f32> {
        self.layout().keras_init(seed)
    }
}

/// Rows uploaded to a device, `(x [n, F], y [n])`: the training rows', then the test rows'.
type Uploaded = [Option<(Tensor<2>, Tensor<1>)>; 2];

/// How minibatches are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Batching {
    /// Rows per batch; `None` (or at least the rows) is the full batch, in data order.
    pub(crate) batch_size: Option<usize>,
    /// Drop an epoch's last, smaller batch.
    pub(crate) drop_remainder: bool,
}

impl Batching {
    /// The batch size actually used for `n` rows, `None` for the full batch.
    pub(crate) fn size(&self, n: usize) -> Option<usize> {
        self.batch_size.filter(|&b| b < n)
    }

    /// Batches per epoch of `n` rows.
    fn per_epoch(&self, n: usize) -> usize {
        match self.size(n) {
            None => 1,
            Some(b) if self.drop_remainder => n / b,
            Some(b) => n.div_ceil(b),
        }
    }

    /// The rows of the batch of step `step` (0-based) for `seed`: the step's place in its
    /// epoch's seeded permutation.
    pub(crate) fn rows(&self, n: usize, step: usize, seed: u64) -> Vec<usize> {
        let Some(b) = self.size(n) else {
            return (0..n).collect();
        };
        let per = self.per_epoch(n);
        let (epoch, k) = (step / per, step % per);
        let permutation = dataset::permutation(n, seed, epoch as u64);
        permutation[k * b..((k + 1) * b).min(n)].to_vec()
    }
}

/// The model a data surface trains.
#[derive(Clone)]
pub(crate) enum Model {
    /// A two-parameter regression (its loss surface is a plane's).
    Regression(Regression),
    /// Any model of `P` parameters: an MLP, or a user's own.
    Net(Arc<dyn ModelLoss>),
}

impl Model {
    /// The model's loss code.
    pub(crate) fn loss_fn(&self) -> &dyn ModelLoss {
        match self {
            Model::Regression(r) => r,
            Model::Net(m) => m.as_ref(),
        }
    }
}

/// A data surface: a model, its training (and test) data and how minibatches are drawn.
pub(crate) struct DataSurface {
    /// The model.
    pub(crate) model: Model,
    /// The training rows (features standardized when asked).
    pub(crate) data: Dataset,
    /// The held-out rows, when some are.
    pub(crate) test: Option<Dataset>,
    /// Which rows of the data as read (a CSV's data rows in file order, a generated set's in
    /// optsurf's order) are the held-out ones, 0-based and increasing; the others, in order,
    /// are the training rows.
    pub(crate) held_out: Vec<usize>,
    /// The minibatches.
    pub(crate) batching: Batching,
    /// Steps between evaluations of the full training and test losses (and accuracies) of a
    /// model of `P > 2` parameters.
    pub(crate) eval_every: usize,
    /// Steps between snapshots of a model's parameters (`None`: at most 200 per run).
    pub(crate) record_every: Option<usize>,
    /// The data uploaded to a device: `(x [n, F], y [n])` of the training rows, then the test
    /// rows.
    uploaded: Mutex<Vec<(Device, Uploaded)>>,
}

impl std::fmt::Debug for DataSurface {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataSurface")
            .field("rows", &self.data.rows())
            .field("parameters", &self.layout().len())
            .field("batching", &self.batching)
            .finish()
    }
}

/// The most parameter snapshots a run keeps by default.
const SNAPSHOTS: usize = 200;

/// `0, e, 2e, ...` up to `steps`, and `steps`.
fn every(e: usize, steps: usize) -> Vec<usize> {
    let mut at: Vec<usize> = (0..=steps).step_by(e.max(1)).collect();
    if at.last() != Some(&steps) {
        at.push(steps);
    }
    at
}

/// Elements of the `[runs, rows]` matrix a full-data pass may hold at once.
const CHUNK: usize = 1 << 22;

/// Which rows: the training or the test rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Split {
    /// Training rows.
    Train,
    /// Held-out rows.
    Test,
}

impl DataSurface {
    /// A data surface of `model` over `data`, `test` held out.
    pub(crate) fn new(model: Model, data: Dataset, test: Option<Dataset>, batching: Batching) -> Self {
        DataSurface {
            model,
            data,
            test,
            held_out: Vec::new(),
            batching,
            eval_every: 1,
            record_every: None,
            uploaded: Mutex::new(Vec::new()),
        }
    }

    /// The indices of `split`'s rows in the data as read (see [`DataSurface::held_out`]).
    pub(crate) fn rows_of(&self, split: Split) -> Vec<usize> {
        let all = self.data.rows() + self.held_out.len();
        match split {
            Split::Test => self.held_out.clone(),
            Split::Train => (0..all).filter(|i| self.held_out.binary_search(i).is_err()).collect(),
        }
    }

    /// The variables of the parameter vector.
    pub(crate) fn layout(&self) -> &Layout {
        self.model.loss_fn().layout()
    }

    /// The steps (of `0..=steps`) at which the full training loss, the test loss and the
    /// accuracies are evaluated: every `eval_every`-th, and the last.
    pub(crate) fn eval_steps(&self, steps: usize) -> Vec<usize> {
        every(self.eval_every, steps)
    }

    /// The steps (of `0..=steps`) whose parameters are kept: every `record_every`-th (by
    /// default the fewest that keep at most 200), the first and the last.
    pub(crate) fn snapshot_steps(&self, steps: usize) -> Vec<usize> {
        let e = self
            .record_every
            .unwrap_or_else(|| steps.div_ceil(SNAPSHOTS - 1).max(1));
        every(e, steps)
    }

    /// True when every row of `rows` steps on the full training data, in order (its minibatch
    /// loss is then the training loss).
    pub(crate) fn full_batch(&self, rows: &[(u64, Option<usize>)]) -> bool {
        let n = self.data.rows();
        rows.iter().all(|r| {
            Batching {
                batch_size: r.1.or(self.batching.batch_size),
                ..self.batching
            }
            .size(n)
            .is_none()
        })
    }

    /// True for a two-parameter regression (a plane of `(w, b)`).
    pub(crate) fn is_plane(&self) -> bool {
        matches!(self.model, Model::Regression(_))
    }

    /// `(x [n, F], y [n])` of `split` on `device`, uploaded once.
    fn columns(&self, split: Split, device: &Device) -> Option<(Tensor<2>, Tensor<1>)> {
        let data = match split {
            Split::Train => &self.data,
            Split::Test => self.test.as_ref()?,
        };
        let k = split as usize;
        let mut cache = self.uploaded.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, slots)) = cache.iter().find(|(d, _)| d == device)
            && let Some(c) = &slots[k]
        {
            return Some(c.clone());
        }
        let x: Vec<f32> = data.x.iter().map(|&v| v as f32).collect();
        let y: Vec<f32> = data.y.iter().map(|&v| v as f32).collect();
        let n = data.rows();
        let uploaded = (
            Tensor::<2>::from_data(TensorData::new(x, [n, data.width]), device),
            Tensor::<1>::from_data(TensorData::new(y, [n]), device),
        );
        match cache.iter_mut().find(|(d, _)| d == device) {
            Some((_, slots)) => slots[k] = Some(uploaded.clone()),
            None => {
                let mut slots = [None, None];
                slots[k] = Some(uploaded.clone());
                cache.push((device.clone(), slots));
            }
        }
        Some(uploaded)
    }

    /// The mean loss over every row of `split` at `params [R, P]`: `[R]` (`None` without test
    /// rows); in chunks of at most [`CHUNK`] elements.
    pub(crate) fn full_loss(&self, params: Tensor<2>, split: Split) -> Option<Tensor<1>> {
        if let (Model::Regression(r), Split::Train) = (&self.model, split)
            && let Some(loss) = r.closed_form(&params)
        {
            return Some(loss);
        }
        self.full_pass(params, split, |m, p, x, y| Some(m.loss(p, x, y)))
    }

    /// Each run's accuracy over `split` (a classifier's; `None` otherwise or without test rows).
    pub(crate) fn accuracy(&self, params: Tensor<2>, split: Split) -> Option<Tensor<1>> {
        self.full_pass(params, split, |m, p, x, y| m.accuracy(p, x, y))
    }

    /// Each run's loss and accuracy over `split` in one pass of a model over the rows (`None`
    /// without such rows): [`DataSurface::full_loss`] and [`DataSurface::accuracy`] together.
    pub(crate) fn loss_and_accuracy(&self, params: Tensor<2>, split: Split) -> Option<(Tensor<1>, Option<Tensor<1>>)> {
        if let Model::Regression(_) = self.model {
            // Its training loss has a closed form.
            return Some((self.full_loss(params.clone(), split)?, self.accuracy(params, split)));
        }
        let mut accuracies = Vec::new();
        let loss = self.full_pass(params, split, |m, p, x, y| {
            let (loss, accuracy) = m.loss_and_accuracy(p, x, y);
            accuracies.extend(accuracy);
            Some(loss)
        })?;
        let accuracy = match accuracies.len() {
            0 => None,
            1 => accuracies.pop(),
            _ => Some(Tensor::cat(accuracies, 0)),
        };
        Some((loss, accuracy))
    }

    fn full_pass(
        &self,
        params: Tensor<2>,
        split: Split,
        mut f: impl FnMut(&dyn ModelLoss, Tensor<2>, Tensor<3>, Tensor<2>) -> Option<Tensor<1>>,
    ) -> Option<Tensor<1>> {
        let (x, y) = self.columns(split, &params.device())?;
        let ([n, width], r) = (x.dims(), params.dims()[0]);
        let step = (CHUNK / n.max(1)).max(1);
        let (x, y) = (x.reshape([1, n, width]), y.reshape([1, n]));
        let mut parts = Vec::new();
        for at in (0..r).step_by(step) {
            let m = step.min(r - at);
            parts.push(f(
                self.model.loss_fn(),
                params.clone().narrow(0, at, m),
                x.clone(),
                y.clone(),
            )?);
        }
        Some(if parts.len() == 1 {
            parts.pop().expect("one part")
        } else {
            Tensor::cat(parts, 0)
        })
    }

    /// The mean loss over the minibatch each row uses at step `step` (0-based): `rows` gives each
    /// row's seed and batch size (`None`: the surface's). `[R]`, differentiable. Rows with one
    /// batch size are computed together, and those that also share a seed share one gather.
    pub(crate) fn batch_loss(&self, params: Tensor<2>, step: usize, rows: &[(u64, Option<usize>)]) -> Tensor<1> {
        let sizes: Vec<Option<usize>> = rows.iter().map(|r| r.1.or(self.batching.batch_size)).collect();
        if sizes.iter().all(|s| *s == sizes[0]) {
            let batching = Batching {
                batch_size: sizes.first().copied().flatten(),
                ..self.batching
            };
            let seeds: Vec<u64> = rows.iter().map(|r| r.0).collect();
            return self.same_size_loss(params, step, &seeds, batching);
        }
        // Several batch sizes: each group on its own, then back in row order.
        let device = params.device();
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_by_key(|&i| (sizes[i].map_or(usize::MAX, |s| s), i));
        let mut parts = Vec::new();
        let mut at = 0;
        while at < order.len() {
            let size = sizes[order[at]];
            let end = at + order[at..].iter().take_while(|&&i| sizes[i] == size).count();
            let members = &order[at..end];
            let index = Tensor::<1, Int>::from_data(
                TensorData::new(members.iter().map(|&i| i as i64).collect::<Vec<_>>(), [members.len()]),
                &device,
            );
            let seeds: Vec<u64> = members.iter().map(|&i| rows[i].0).collect();
            let batching = Batching {
                batch_size: size,
                ..self.batching
            };
            parts.push(self.same_size_loss(params.clone().select(0, index), step, &seeds, batching));
            at = end;
        }
        let mut inverse = vec![0i64; order.len()];
        for (position, &row) in order.iter().enumerate() {
            inverse[row] = position as i64;
        }
        let inverse = Tensor::<1, Int>::from_data(TensorData::new(inverse, [order.len()]), &device);
        Tensor::cat(parts, 0).select(0, inverse)
    }

    /// [`DataSurface::batch_loss`] for rows that share `batching`.
    fn same_size_loss(&self, params: Tensor<2>, step: usize, seeds: &[u64], batching: Batching) -> Tensor<1> {
        let device = params.device();
        let (x, y) = self
            .columns(Split::Train, &device)
            .expect("training rows are always there");
        let (n, width) = (self.data.rows(), self.data.width);
        let same = seeds.windows(2).all(|s| s[0] == s[1]);
        let rows: Vec<Vec<usize>> = if same {
            vec![batching.rows(n, step, seeds.first().copied().unwrap_or(0))]
        } else {
            seeds.iter().map(|&s| batching.rows(n, step, s)).collect()
        };
        let (g, size) = (rows.len(), rows[0].len());
        let flat: Vec<i64> = rows.iter().flatten().map(|&i| i as i64).collect();
        let index = Tensor::<1, Int>::from_data(TensorData::new(flat, [g * size]), &device);
        let x = x.select(0, index.clone()).reshape([g, size, width]);
        let y = y.select(0, index).reshape([g, size]);
        self.model.loss_fn().loss(params, x, y)
    }
}
