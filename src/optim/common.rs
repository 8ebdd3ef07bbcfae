//! Pieces every rule shares, written once: per-row hyperparameter columns and learning rates,
//! bias correction, the Adam-family moments and Keras's decoupled weight decay.

use super::LearningRate;
use burn::tensor::{Device, Tensor, TensorData};

/// One value per row as an `[N, 1]` column of `f32`, so it broadcasts over a row's `d`
/// coordinates. Values are computed in `f64` first, as Keras computes Python-float expressions
/// such as `1 - beta_1` before casting them to the variable's dtype.
pub fn column(values: impl IntoIterator<Item = f64>, device: &Device) -> Tensor<2> {
    let values: Vec<f32> = values.into_iter().map(|v| v as f32).collect();
    let n = values.len();
    Tensor::from_data(TensorData::new(values, [n, 1]), device)
}

/// `beta^t` per row, in `f32` as Keras computes `ops.power(cast(beta), t)`.
pub fn power(beta: &Tensor<2>, t: u64) -> Tensor<2> {
    beta.clone().powf_scalar(t as f32)
}

/// Keras's bias-correction factor `1 - beta^t` per row.
pub fn one_minus_power(beta: &Tensor<2>, t: u64) -> Tensor<2> {
    power(beta, t).neg().add_scalar(1.0)
}

/// The Euclidean norm of each row, as an `[N, 1]` column: the norm over "the whole layer"
/// that LAMB and LARS take, with each row its own run.
pub fn row_norm(x: Tensor<2>) -> Tensor<2> {
    x.square().sum_dim(1).sqrt()
}

/// `value` in the rows where both norm columns `a` and `b` are positive, 1 elsewhere: the
/// trust ratio with its fallback (LAMB, LARS). All three are `[N, 1]` columns.
pub fn positive_or_one(a: &Tensor<2>, b: &Tensor<2>, value: Tensor<2>) -> Tensor<2> {
    let both = a.clone().greater_elem(0.0).bool_and(b.clone().greater_elem(0.0));
    value.ones_like().mask_where(both, value)
}

/// Every row's learning rate, as the `[N, 1]` column of each step: built once when all rows
/// are constants, evaluated on the host each step when some row has a schedule.
pub enum Rates {
    /// The same every step.
    Constant(Tensor<2>, Vec<f32>),
    /// Some row is scheduled.
    Scheduled(Vec<LearningRate>, Device),
}

impl Rates {
    /// From each row's learning rate.
    pub fn new(rows: Vec<LearningRate>, device: &Device) -> Self {
        if rows.iter().all(|r| r.constant().is_some()) {
            let host: Vec<f32> = rows.iter().map(|r| r.at(0)).collect();
            Rates::Constant(column(host.iter().map(|&v| v as f64), device), host)
        } else {
            Rates::Scheduled(rows, device.clone())
        }
    }

    /// The rates at iteration `k` (0-based): the column and its host values.
    pub fn at(&self, k: u64) -> (Tensor<2>, Vec<f32>) {
        match self {
            Rates::Constant(col, host) => (col.clone(), host.clone()),
            Rates::Scheduled(rows, device) => {
                let host: Vec<f32> = rows.iter().map(|r| r.at(k)).collect();
                (column(host.iter().map(|&v| v as f64), device), host)
            }
        }
    }
}

/// Keras's decoupled weight decay, shared by every optimizer: before each update,
/// `w <- w - (w * lambda) * eta_t`. Never added to the gradient; scaled by the step's learning
/// rate. Rows without decay get `lambda = 0`, which leaves them bit-for-bit unchanged.
///
/// In graph mode TensorFlow's optimizer reassociates Keras's `w * lambda * eta` to
/// `w * (lambda * eta)` (one broadcast instead of two), so the factor is the `f32` product of
/// the `f32` values, rounded once, as here.
pub enum WeightDecay {
    /// No row decays.
    None,
    /// Constant rates: the `lambda * eta` column, computed once.
    Constant(Tensor<2>),
    /// Scheduled rates: each row's `lambda` in `f32`, multiplied by each step's rate.
    Scheduled(Vec<f32>, Device),
}

impl WeightDecay {
    /// From each row's decay (`None`: no decay) and learning rates.
    pub fn new(rows: impl IntoIterator<Item = Option<f64>>, rates: &Rates, device: &Device) -> Self {
        let rows: Vec<Option<f64>> = rows.into_iter().collect();
        if rows.iter().all(Option::is_none) {
            return WeightDecay::None;
        }
        let lambda: Vec<f32> = rows.iter().map(|wd| wd.unwrap_or(0.0) as f32).collect();
        match rates {
            Rates::Constant(_, lr) => WeightDecay::Constant(factor(&lambda, lr, device)),
            Rates::Scheduled(..) => WeightDecay::Scheduled(lambda, device.clone()),
        }
    }

    /// Applies the decay to every row, with this step's learning rates.
    pub fn apply(&self, w: Tensor<2>, lr_host: &[f32]) -> Tensor<2> {
        match self {
            WeightDecay::None => w,
            WeightDecay::Constant(f) => w.clone() - w * f.clone(),
            WeightDecay::Scheduled(lambda, device) => w.clone() - w * factor(lambda, lr_host, device),
        }
    }
}

/// The `lambda * eta` column, each product rounded once in `f32`.
fn factor(lambda: &[f32], lr: &[f32], device: &Device) -> Tensor<2> {
    column(lambda.iter().zip(lr).map(|(l, r)| (l * r) as f64), device)
}

/// Keras's exponential moving average in increment form, `m + (1 - beta) (x - m)`, with
/// `1 - beta` a per-row column (Adam's, Adamax's, LAMB's and Nadam's moments).
pub fn ema(m: Tensor<2>, x: Tensor<2>, one_minus_beta: &Tensor<2>) -> Tensor<2> {
    m.clone() + (x - m) * one_minus_beta.clone()
}

/// The per-row hyperparameters of the Adam family (Adam, Adamax, Nadam, LAMB): `beta_1`,
/// `beta_2`, `1 - beta_1`, `1 - beta_2` (subtracted in `f64`, as Keras subtracts Python floats)
/// and `eps`.
pub struct AdamColumns {
    /// `beta_1`.
    pub beta_1: Tensor<2>,
    /// `beta_2`.
    pub beta_2: Tensor<2>,
    /// `1 - beta_1`.
    pub one_minus_beta_1: Tensor<2>,
    /// `1 - beta_2`.
    pub one_minus_beta_2: Tensor<2>,
    /// `eps`.
    pub epsilon: Tensor<2>,
}

impl AdamColumns {
    /// From each row's `(beta_1, beta_2, epsilon)`.
    pub fn new(rows: impl IntoIterator<Item = (f64, f64, f64)>, device: &Device) -> Self {
        let rows: Vec<(f64, f64, f64)> = rows.into_iter().collect();
        let col = |f: fn(&(f64, f64, f64)) -> f64| column(rows.iter().map(f), device);
        AdamColumns {
            beta_1: col(|r| r.0),
            beta_2: col(|r| r.1),
            one_minus_beta_1: col(|r| 1.0 - r.0),
            one_minus_beta_2: col(|r| 1.0 - r.1),
            epsilon: col(|r| r.2),
        }
    }

    /// Both moments after gradient `g`: `m + (1 - beta_1) (g - m)` and
    /// `v + (1 - beta_2) (g^2 - v)`.
    pub fn moments(&self, m: Tensor<2>, v: Tensor<2>, g: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        (
            ema(m, g.clone(), &self.one_minus_beta_1),
            ema(v, g.square(), &self.one_minus_beta_2),
        )
    }
}

/// Helpers for the rules' unit tests: rows in, rows out, stepping through [`super::stateful`]
/// (so the decoupled weight decay is included, as the runner steps them).
#[cfg(test)]
pub mod test_util {
    use super::super::{Config, stateful};
    use burn::tensor::{Device, Tensor, TensorData};

    /// The CPU device the unit tests run on.
    pub fn device() -> Device {
        crate::backend::Backend::Ndarray.device().unwrap()
    }

    /// A batch `[N, d]` from its rows.
    pub fn tensor(rows: &[Vec<f32>]) -> Tensor<2> {
        let (n, d) = (rows.len(), rows[0].len());
        let flat: Vec<f32> = rows.iter().flatten().copied().collect();
        Tensor::from_data(TensorData::new(flat, [n, d]), &device())
    }

    /// The rows of a batch.
    pub fn rows(t: Tensor<2>) -> Vec<Vec<f32>> {
        let d = t.dims()[1];
        let flat: Vec<f32> = t.into_data().iter::<f32>().collect();
        flat.chunks(d).map(<[f32]>::to_vec).collect()
    }

    /// Steps rows configured by `configs` from `w0` with the given gradients (one batch per
    /// step) and returns the rows after every step.
    pub fn steps<C: Config>(configs: &[C], w0: &[Vec<f32>], grads: &[Vec<Vec<f32>>]) -> Vec<Vec<Vec<f32>>> {
        let mut opt = stateful(configs, &device());
        let mut w = tensor(w0);
        grads
            .iter()
            .map(|g| {
                w = super::super::step_with_gradient(&mut opt, w.clone(), tensor(g));
                rows(w.clone())
            })
            .collect()
    }

    /// The context of step `t` with learning rates `lr`, for calling a rule directly.
    pub struct Ctx {
        t: u64,
        lr: Tensor<2>,
        host: Vec<f32>,
        loss: Tensor<2>,
    }

    impl Ctx {
        /// Step `t` (1-based) with one rate per row.
        pub fn new(t: u64, lr: &[f32]) -> Self {
            Ctx {
                t,
                lr: super::column(lr.iter().map(|&v| v as f64), &device()),
                host: lr.to_vec(),
                loss: super::column(lr.iter().map(|_| f64::NAN), &device()),
            }
        }

        /// As the rule sees it.
        pub fn step(&self) -> super::super::Step<'_> {
            super::super::Step {
                t: self.t,
                lr: &self.lr,
                lr_host: &self.host,
                loss: &self.loss,
            }
        }
    }

    /// `|a - b| <= tol (1 + |b|)` for every coordinate.
    pub fn assert_close(a: &[Vec<f32>], b: &[Vec<f64>], tol: f64) {
        for (ra, rb) in a.iter().zip(b) {
            for (&x, &y) in ra.iter().zip(rb) {
                assert!(
                    (x as f64 - y).abs() <= tol * (1.0 + y.abs()),
                    "{a:?} != {b:?} (tolerance {tol})"
                );
            }
        }
    }
}
