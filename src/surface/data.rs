//! Data surfaces: the loss of a two-parameter model over a dataset, with minibatches.
//!
//! The parameters are `(x, y) = (w, b)`; a row of the data is a feature `u` and a target `v`:
//! - `linear_regression`: prediction `w u + b`, loss `1/2 (w u + b - v)^2`;
//! - `logistic_regression`: `p = sigmoid(w u + b)`, the binary cross-entropy of `v` in {0, 1},
//!   written stably as `max(z, 0) - z v + ln(1 + e^-|z|)` with `z = w u + b`.
//!
//! The surface (its figures and each point's recorded `loss`) is the mean loss over all rows; an
//! optimizer steps on the mean over a minibatch. Each epoch is a seeded permutation of the rows,
//! cut into batches of `batch_size` in order (the last one smaller, or dropped); all of it is
//! burn tensor code over `[runs, batch]`, so minibatch gradients come from autodiff.

use crate::error::FieldError;
use crate::random::{Normals, SplitMix64};
use burn::tensor::{Device, Int, Tensor, TensorData};
use std::sync::Mutex;

/// The model whose loss the surface is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Model {
    /// `1/2 (w u + b - v)^2`.
    LinearRegression,
    /// Binary cross-entropy of `sigmoid(w u + b)` against `v` in {0, 1}.
    LogisticRegression,
}

impl Model {
    /// The names experiment files use.
    pub(crate) const NAMES: [&'static str; 2] = ["linear_regression", "logistic_regression"];

    /// Its name in experiment files.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Model::LinearRegression => "linear_regression",
            Model::LogisticRegression => "logistic_regression",
        }
    }

    /// The model called `name`.
    pub(crate) fn from_name(name: &str) -> Option<Model> {
        match name {
            "linear_regression" => Some(Model::LinearRegression),
            "logistic_regression" => Some(Model::LogisticRegression),
            _ => None,
        }
    }

    /// The per-row loss for `z = w u + b` and targets `v` (tensors of one shape).
    fn loss<const D: usize>(self, z: Tensor<D>, v: Tensor<D>) -> Tensor<D> {
        match self {
            Model::LinearRegression => (z - v).square().mul_scalar(0.5),
            Model::LogisticRegression => {
                // max(z, 0) - z v + ln(1 + e^-|z|): never overflows.
                z.clone().clamp_min(0.0) - z.clone() * v + z.abs().neg().exp().log1p()
            }
        }
    }

    /// The loss of one row in `f64` (for the optimum and the tests).
    pub(crate) fn loss_f64(self, z: f64, v: f64) -> f64 {
        match self {
            Model::LinearRegression => 0.5 * (z - v) * (z - v),
            Model::LogisticRegression => z.max(0.0) - z * v + (-z.abs()).exp().ln_1p(),
        }
    }
}

/// Why a dataset does not suit a model (see [`Dataset::check`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Unfit {
    /// Fewer than two rows.
    TooFewRows(usize),
    /// Logistic regression's target of row `row` (0-based) is not 0 or 1.
    NotALabel {
        /// The row, counting from 0.
        row: usize,
        /// Its target.
        value: f64,
    },
}

/// A dataset of features `u` and targets `v`, rows in order.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Dataset {
    /// The feature of each row (standardized when asked).
    pub u: Vec<f64>,
    /// The target of each row.
    pub v: Vec<f64>,
}

impl Dataset {
    /// Reads columns `x` (feature) and `y` (target) of a CSV file with a header row. Errors say
    /// what is wrong: the file, the column, the row.
    pub(crate) fn from_csv(path: &std::path::Path, x: &str, y: &str) -> crate::error::Parsed<Dataset> {
        let shown = path.display();
        let file = crate::io::open_input(path, crate::io::Input::DATA).map_err(|e| FieldError::new(e.to_string()))?;
        let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(file);
        let headers = reader
            .headers()
            .map_err(|e| FieldError::new(format!("{shown}: cannot read its header row: {e}")))?
            .clone();
        // Nothing of a file that is not a CSV is quoted (`io::Header`).
        let header = crate::io::Header::new(headers.iter());
        let column = |name: &str| {
            header
                .position(name)
                .ok_or_else(|| FieldError::new(format!("{shown}: {}", header.no_column(name))))
        };
        let (cx, cy) = (column(x)?, column(y)?);
        let (mut u, mut v) = (Vec::new(), Vec::new());
        for (i, record) in reader.records().enumerate() {
            // Row numbers as a spreadsheet shows them: the header is row 1.
            let row = i + 2;
            let record = record.map_err(|e| FieldError::new(format!("{shown}: row {row}: {e}")))?;
            let cell = |c: usize, name: &str| -> crate::error::Parsed<f64> {
                let text = record.get(c).unwrap_or("");
                text.parse::<f64>().ok().filter(|v| v.is_finite()).ok_or_else(|| {
                    FieldError::new(format!(
                        "{shown}: row {row}, column {}: {} is not a finite number",
                        crate::io::quote(name),
                        header.quote(text)
                    ))
                })
            };
            u.push(cell(cx, x)?);
            v.push(cell(cy, y)?);
        }
        Ok(Dataset { u, v })
    }

    /// `n` rows drawn from `seed`: `u ~ N(0, 1)`; for `linear`, `v = w u + b + noise N(0, 1)`; for
    /// `logistic`, `v = 1` with probability `sigmoid(w u + b + noise N(0, 1))`, else 0.
    pub(crate) fn generate(model: Model, n: usize, w: f64, b: f64, noise: f64, seed: u64) -> Dataset {
        let mut normals = Normals::new(seed);
        let mut bits = SplitMix64::new(seed ^ 0xD1B5_4A32_D192_ED03);
        let (mut u, mut v) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for _ in 0..n {
            let x = normals.next() as f64;
            let z = w * x + b + noise * normals.next() as f64;
            u.push(x);
            v.push(match model {
                Model::LinearRegression => z,
                Model::LogisticRegression => f64::from(bits.uniform() < 1.0 / (1.0 + (-z).exp())),
            });
        }
        Dataset { u, v }
    }

    /// The feature scaled to mean 0 and (population) standard deviation 1; a constant feature
    /// is only centred.
    pub(crate) fn standardized(mut self) -> Dataset {
        let n = self.u.len() as f64;
        let mean = self.u.iter().sum::<f64>() / n;
        let std = (self.u.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
        let scale = if std > 0.0 { 1.0 / std } else { 1.0 };
        for x in &mut self.u {
            *x = (*x - mean) * scale;
        }
        self
    }

    /// Checks what a model needs: at least two rows, and labels in {0, 1} for logistic
    /// regression.
    pub(crate) fn check(&self, model: Model) -> Result<(), Unfit> {
        if self.u.len() < 2 {
            return Err(Unfit::TooFewRows(self.u.len()));
        }
        if model == Model::LogisticRegression
            && let Some(row) = self.v.iter().position(|&v| v != 0.0 && v != 1.0)
        {
            return Err(Unfit::NotALabel {
                row,
                value: self.v[row],
            });
        }
        Ok(())
    }

    /// The mean loss of `model` at `(w, b)` over all rows, in `f64`.
    pub(crate) fn loss_f64(&self, model: Model, w: f64, b: f64) -> f64 {
        let sum: f64 = self
            .u
            .iter()
            .zip(&self.v)
            .map(|(u, v)| model.loss_f64(w * u + b, *v))
            .sum();
        sum / self.u.len() as f64
    }

    /// The mean loss's gradient at `(w, b)` over the rows `rows`, in `f64`.
    #[cfg(test)]
    pub(crate) fn gradient_f64(&self, model: Model, w: f64, b: f64, rows: &[usize]) -> [f64; 2] {
        let (mut gw, mut gb) = (0.0, 0.0);
        for &i in rows {
            let (u, v) = (self.u[i], self.v[i]);
            let z = w * u + b;
            let r = match model {
                Model::LinearRegression => z - v,
                Model::LogisticRegression => 1.0 / (1.0 + (-z).exp()) - v,
            };
            gw += r * u;
            gb += r;
        }
        let n = rows.len() as f64;
        [gw / n, gb / n]
    }

    /// The minimizing `(w, b)` and the loss there: least squares in closed form; Newton's
    /// method for logistic regression, `None` when the classes are separable (no minimum).
    pub(crate) fn optimum(&self, model: Model) -> Option<([f64; 2], f64)> {
        let n = self.u.len() as f64;
        let mean = |f: &dyn Fn(usize) -> f64| (0..self.u.len()).map(f).sum::<f64>() / n;
        let (mu, mv) = (mean(&|i| self.u[i]), mean(&|i| self.v[i]));
        let var = mean(&|i| (self.u[i] - mu).powi(2));
        let cov = mean(&|i| (self.u[i] - mu) * (self.v[i] - mv));
        let point = match model {
            Model::LinearRegression => {
                let w = if var > 0.0 { cov / var } else { 0.0 };
                [w, mv - w * mu]
            }
            Model::LogisticRegression => {
                let (mut w, mut b) = (0.0f64, 0.0f64);
                for _ in 0..100 {
                    let (mut g, mut h) = ([0.0f64; 2], [0.0f64; 3]);
                    for (u, v) in self.u.iter().zip(&self.v) {
                        let p = 1.0 / (1.0 + (-(w * u + b)).exp());
                        let s = p * (1.0 - p);
                        g[0] += (p - v) * u;
                        g[1] += p - v;
                        h[0] += s * u * u;
                        h[1] += s * u;
                        h[2] += s;
                    }
                    let det = h[0] * h[2] - h[1] * h[1];
                    if !(det.is_finite() && det > 1e-300) {
                        return None;
                    }
                    let (dw, db) = ((h[2] * g[0] - h[1] * g[1]) / det, (h[0] * g[1] - h[1] * g[0]) / det);
                    w -= dw;
                    b -= db;
                    if !(w.is_finite() && b.is_finite()) || w.abs() > 1e6 {
                        return None;
                    }
                    if dw.abs() + db.abs() < 1e-14 * (1.0 + w.abs() + b.abs()) {
                        break;
                    }
                }
                [w, b]
            }
        };
        Some((point, self.loss_f64(model, point[0], point[1])))
    }
}

/// How minibatches are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Batching {
    /// Rows per batch; `None` (or at least the rows) is the full batch, in data order.
    pub batch_size: Option<usize>,
    /// Drop an epoch's last, smaller batch.
    pub drop_remainder: bool,
}

impl Batching {
    /// The batch size actually used for `n` rows, `None` for the full batch.
    fn size(&self, n: usize) -> Option<usize> {
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
        let permutation = permutation(n, seed, epoch as u64);
        permutation[k * b..((k + 1) * b).min(n)].to_vec()
    }
}

/// Epoch `epoch`'s permutation of `n` rows for `seed` (Fisher-Yates over splitmix64).
fn permutation(n: usize, seed: u64, epoch: u64) -> Vec<usize> {
    let mut bits =
        SplitMix64::new(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ epoch.wrapping_add(0x632B_E59B_D9B4_E019));
    let mut p: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = (bits.next_u64() % (i as u64 + 1)) as usize;
        p.swap(i, j);
    }
    p
}

/// A data surface: a model, its data and how minibatches are drawn.
pub(crate) struct DataSurface {
    /// The model.
    pub model: Model,
    /// The data (feature already standardized when asked).
    pub data: Dataset,
    /// The minibatches.
    pub batching: Batching,
    /// Linear regression's full-data loss as the quadratic it is (see [`Quadratic`]).
    quadratic: Option<Quadratic>,
    /// The data uploaded to a device, `(u, v)` each `[n]`.
    uploaded: Mutex<Vec<(Device, Tensor<1>, Tensor<1>)>>,
}

/// Least squares' mean loss, exactly, around its minimum `(w*, b*)`:
/// `L(w, b) = L* + (E[u^2] dw^2 + 2 E[u] dw db + db^2) / 2` with `dw = w - w*`, `db = b - b*`.
/// Evaluating it costs the same whatever the number of rows, and it has no cancellation.
#[derive(Clone, Copy, Debug)]
struct Quadratic {
    optimum: [f64; 2],
    minimum: f64,
    mean_uu: f64,
    mean_u: f64,
}

impl std::fmt::Debug for DataSurface {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataSurface")
            .field("model", &self.model)
            .field("rows", &self.data.u.len())
            .field("batching", &self.batching)
            .finish()
    }
}

/// Elements of the `[points, rows]` matrix a full-data pass may hold at once.
const CHUNK: usize = 1 << 22;

impl DataSurface {
    /// A data surface of `model` over `data`.
    pub(crate) fn new(model: Model, data: Dataset, batching: Batching) -> Self {
        let quadratic = match model {
            Model::LinearRegression => data.optimum(model).map(|(optimum, minimum)| {
                let n = data.u.len() as f64;
                Quadratic {
                    optimum,
                    minimum,
                    mean_uu: data.u.iter().map(|u| u * u).sum::<f64>() / n,
                    mean_u: data.u.iter().sum::<f64>() / n,
                }
            }),
            Model::LogisticRegression => None,
        };
        DataSurface {
            model,
            data,
            batching,
            quadratic,
            uploaded: Mutex::new(Vec::new()),
        }
    }

    /// `(u, v)` on `device`, `[n]` each, uploaded once.
    fn columns(&self, device: &Device) -> (Tensor<1>, Tensor<1>) {
        let mut cache = self.uploaded.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, u, v)) = cache.iter().find(|(d, _, _)| d == device) {
            return (u.clone(), v.clone());
        }
        let upload = |x: &[f64]| {
            let x: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            let n = x.len();
            Tensor::<1>::from_data(TensorData::new(x, [n]), device)
        };
        let (u, v) = (upload(&self.data.u), upload(&self.data.v));
        cache.push((device.clone(), u.clone(), v.clone()));
        (u, v)
    }

    /// The mean loss over every row at points `(w [P], b [P])`: `[P]`, differentiable; for
    /// linear regression the quadratic it is, otherwise a pass over the rows in chunks of at
    /// most [`CHUNK`] elements.
    pub(crate) fn full_loss(&self, w: Tensor<1>, b: Tensor<1>) -> Tensor<1> {
        if let Some(q) = &self.quadratic {
            let (dw, db) = (w.sub_scalar(q.optimum[0]), b.sub_scalar(q.optimum[1]));
            let form =
                dw.clone().square().mul_scalar(q.mean_uu) + (dw * db.clone()).mul_scalar(2.0 * q.mean_u) + db.square();
            return form.mul_scalar(0.5).add_scalar(q.minimum);
        }
        let (u, v) = self.columns(&w.device());
        let (p, n) = (w.dims()[0], u.dims()[0]);
        let step = (CHUNK / n).max(1);
        let parts: Vec<Tensor<1>> = (0..p)
            .step_by(step)
            .map(|at| {
                let m = step.min(p - at);
                let (w, b) = (w.clone().narrow(0, at, m), b.clone().narrow(0, at, m));
                self.mean_loss(w, b, u.clone().reshape([1, n]), v.clone().reshape([1, n]))
            })
            .collect();
        if parts.len() == 1 {
            parts.into_iter().next().expect("one part")
        } else {
            Tensor::cat(parts, 0)
        }
    }

    /// The mean over each row of `u`, `v` (`[R or 1, B]`) of the loss at `(w [R], b [R])`: `[R]`.
    fn mean_loss(&self, w: Tensor<1>, b: Tensor<1>, u: Tensor<2>, v: Tensor<2>) -> Tensor<1> {
        let r = w.dims()[0];
        let z = u * w.reshape([r, 1]) + b.reshape([r, 1]);
        self.model.loss(z, v).mean_dim(1).reshape([r])
    }

    /// The mean loss over the minibatch each row uses at step `step` (0-based): `rows` gives each
    /// row's seed and batch size (`None`: the surface's). `[R]`, differentiable. Rows with one
    /// batch size are computed together, and those that also share a seed share one gather.
    pub(crate) fn batch_loss(
        &self,
        w: Tensor<1>,
        b: Tensor<1>,
        step: usize,
        rows: &[(u64, Option<usize>)],
    ) -> Tensor<1> {
        let sizes: Vec<Option<usize>> = rows.iter().map(|r| r.1.or(self.batching.batch_size)).collect();
        if sizes.iter().all(|s| *s == sizes[0]) {
            let batching = Batching {
                batch_size: sizes.first().copied().flatten(),
                ..self.batching
            };
            let seeds: Vec<u64> = rows.iter().map(|r| r.0).collect();
            return self.same_size_loss(w, b, step, &seeds, batching);
        }
        // Several batch sizes: each group on its own, then back in row order.
        let device = w.device();
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
            parts.push(self.same_size_loss(
                w.clone().select(0, index.clone()),
                b.clone().select(0, index),
                step,
                &seeds,
                batching,
            ));
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
    fn same_size_loss(&self, w: Tensor<1>, b: Tensor<1>, step: usize, seeds: &[u64], batching: Batching) -> Tensor<1> {
        let device = w.device();
        let (u, v) = self.columns(&device);
        let n = self.data.u.len();
        let same = seeds.windows(2).all(|s| s[0] == s[1]);
        let rows: Vec<Vec<usize>> = if same {
            vec![batching.rows(n, step, seeds.first().copied().unwrap_or(0))]
        } else {
            seeds.iter().map(|&s| batching.rows(n, step, s)).collect()
        };
        let (g, size) = (rows.len(), rows[0].len());
        let flat: Vec<i64> = rows.iter().flatten().map(|&i| i as i64).collect();
        let index = Tensor::<1, Int>::from_data(TensorData::new(flat, [g * size]), &device);
        let pick = |t: Tensor<1>| t.select(0, index.clone()).reshape([g, size]);
        self.mean_loss(w, b, pick(u), pick(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_are_permutations_cut_in_order() {
        let batching = Batching {
            batch_size: Some(4),
            drop_remainder: false,
        };
        // 10 rows, batches of 4: 4, 4, 2 per epoch; together a permutation.
        let epoch: Vec<usize> = (0..3).flat_map(|k| batching.rows(10, k, 7)).collect();
        let mut sorted = epoch.clone();
        sorted.sort();
        assert_eq!(sorted, (0..10).collect::<Vec<_>>());
        assert_eq!(batching.rows(10, 2, 7).len(), 2);
        assert_ne!(
            batching.rows(10, 3, 7),
            batching.rows(10, 0, 7),
            "a new epoch, a new order"
        );
        assert_ne!(batching.rows(10, 0, 8), batching.rows(10, 0, 7), "another seed");
        let dropped = Batching {
            drop_remainder: true,
            ..batching
        };
        assert_eq!(dropped.rows(10, 2, 7).len(), 4, "step 2 starts the next epoch");
        let full = Batching {
            batch_size: Some(10),
            drop_remainder: false,
        };
        assert_eq!(full.rows(10, 5, 1), (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn optimum_of_least_squares_and_of_logistic_regression() {
        let data = Dataset {
            u: vec![0.0, 1.0, 2.0, 3.0],
            v: vec![1.0, 3.0, 5.0, 7.0],
        };
        let (p, l) = data.optimum(Model::LinearRegression).unwrap();
        assert!((p[0] - 2.0).abs() < 1e-12 && (p[1] - 1.0).abs() < 1e-12 && l.abs() < 1e-20);
        let labels = Dataset {
            u: vec![-2.0, -1.0, -0.5, 0.5, 1.0, 2.0],
            v: vec![0.0, 0.0, 1.0, 0.0, 1.0, 1.0],
        };
        let (p, _) = labels.optimum(Model::LogisticRegression).unwrap();
        let g = labels.gradient_f64(Model::LogisticRegression, p[0], p[1], &[0, 1, 2, 3, 4, 5]);
        assert!(g[0].abs() < 1e-10 && g[1].abs() < 1e-10, "{g:?}");
        let separable = Dataset {
            u: vec![-1.0, -0.5, 0.5, 1.0],
            v: vec![0.0, 0.0, 1.0, 1.0],
        };
        assert!(separable.optimum(Model::LogisticRegression).is_none());
    }
}
