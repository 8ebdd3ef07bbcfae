//! The two-parameter models: `linear_regression` and `logistic_regression` of one feature, whose
//! loss is a surface over the plane `(x, y) = (w, b)`.
//!
//! A row of the data is a feature `u` and a target `v`:
//! - `linear_regression`: prediction `w u + b`, loss `1/2 (w u + b - v)^2`;
//! - `logistic_regression`: `p = sigmoid(w u + b)`, the binary cross-entropy of `v` in {0, 1},
//!   written stably as `max(z, 0) - z v + ln(1 + e^-|z|)` with `z = w u + b`.

use super::{Dataset, ModelLoss};
use crate::params::Layout;
use burn::tensor::Tensor;

/// Which regression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `1/2 (w u + b - v)^2`.
    Linear,
    /// Binary cross-entropy of `sigmoid(w u + b)` against `v` in {0, 1}.
    Logistic,
}

impl Kind {
    /// Its name in experiment files.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Linear => "linear_regression",
            Kind::Logistic => "logistic_regression",
        }
    }

    /// The regression called `name`.
    pub(crate) fn from_name(name: &str) -> Option<Kind> {
        match name {
            "linear_regression" => Some(Kind::Linear),
            "logistic_regression" => Some(Kind::Logistic),
            _ => None,
        }
    }

    /// Its formula, for figures.
    pub(crate) fn formula(self) -> &'static str {
        match self {
            Kind::Linear => "mean of 1/2 (x u + y - v)^2 over the data (x = w, y = b)",
            Kind::Logistic => "mean cross-entropy of sigmoid(x u + y) against v (x = w, y = b)",
        }
    }

    /// The per-row loss for `z = w u + b` and targets `v` (tensors of one shape).
    fn loss<const D: usize>(self, z: Tensor<D>, v: Tensor<D>) -> Tensor<D> {
        match self {
            Kind::Linear => (z - v).square().mul_scalar(0.5),
            // max(z, 0) - z v + ln(1 + e^-|z|): never overflows.
            Kind::Logistic => z.clone().clamp_min(0.0) - z.clone() * v + z.abs().neg().exp().log1p(),
        }
    }

    /// The loss of one row in `f64` (for the optimum and the tests).
    pub(crate) fn loss_f64(self, z: f64, v: f64) -> f64 {
        match self {
            Kind::Linear => 0.5 * (z - v) * (z - v),
            Kind::Logistic => z.max(0.0) - z * v + (-z.abs()).exp().ln_1p(),
        }
    }
}

/// A regression over its data: the model, with least squares' loss as the quadratic it is.
#[derive(Clone, Debug)]
pub(crate) struct Regression {
    /// Which regression.
    pub(crate) kind: Kind,
    /// The minimizing `(w, b)` and the loss there, when there is a minimum.
    pub(crate) optimum: Option<([f64; 2], f64)>,
    /// Linear regression's full-data loss as the quadratic it is (see [`Quadratic`]).
    quadratic: Option<Quadratic>,
    layout: Layout,
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

impl Regression {
    /// `kind` over `data` (one feature column).
    pub(crate) fn new(kind: Kind, data: &Dataset) -> Self {
        let optimum = optimum(kind, data);
        let quadratic = match kind {
            Kind::Linear => optimum.map(|(optimum, minimum)| {
                let n = data.rows() as f64;
                Quadratic {
                    optimum,
                    minimum,
                    mean_uu: data.x.iter().map(|u| u * u).sum::<f64>() / n,
                    mean_u: data.x.iter().sum::<f64>() / n,
                }
            }),
            Kind::Logistic => None,
        };
        Regression {
            kind,
            optimum,
            quadratic,
            layout: Layout::whole(2),
        }
    }

    /// The full-data loss at `params [R, 2]` in closed form, when there is one (least squares).
    pub(crate) fn closed_form(&self, params: &Tensor<2>) -> Option<Tensor<1>> {
        let q = self.quadratic?;
        let r = params.dims()[0];
        let w = params.clone().narrow(1, 0, 1).reshape([r]);
        let b = params.clone().narrow(1, 1, 1).reshape([r]);
        let (dw, db) = (w.sub_scalar(q.optimum[0]), b.sub_scalar(q.optimum[1]));
        let form =
            dw.clone().square().mul_scalar(q.mean_uu) + (dw * db.clone()).mul_scalar(2.0 * q.mean_u) + db.square();
        Some(form.mul_scalar(0.5).add_scalar(q.minimum))
    }
}

impl ModelLoss for Regression {
    fn layout(&self) -> &Layout {
        &self.layout
    }

    fn features(&self) -> usize {
        1
    }

    fn loss(&self, params: Tensor<2>, x: Tensor<3>, y: Tensor<2>) -> Tensor<1> {
        let r = params.dims()[0];
        let [g, b, _] = x.dims();
        let u = x.reshape([g, b]);
        let w = params.clone().narrow(1, 0, 1);
        let bias = params.narrow(1, 1, 1);
        let z = u * w + bias;
        self.kind.loss(z, y).mean_dim(1).reshape([r])
    }
}

/// The mean loss of `kind` at `(w, b)` over all rows, in `f64`.
pub(crate) fn loss_f64(data: &Dataset, kind: Kind, w: f64, b: f64) -> f64 {
    let sum: f64 = data
        .x
        .iter()
        .zip(&data.y)
        .map(|(u, v)| kind.loss_f64(w * u + b, *v))
        .sum();
    sum / data.rows() as f64
}

/// The mean loss's gradient at `(w, b)` over the rows `rows`, in `f64` (for the tests).
#[cfg(test)]
pub(crate) fn gradient_f64(data: &Dataset, kind: Kind, w: f64, b: f64, rows: &[usize]) -> [f64; 2] {
    let (mut gw, mut gb) = (0.0, 0.0);
    for &i in rows {
        let (u, v) = (data.x[i], data.y[i]);
        let z = w * u + b;
        let r = match kind {
            Kind::Linear => z - v,
            Kind::Logistic => 1.0 / (1.0 + (-z).exp()) - v,
        };
        gw += r * u;
        gb += r;
    }
    let n = rows.len() as f64;
    [gw / n, gb / n]
}

/// The minimizing `(w, b)` and the loss there: least squares in closed form; Newton's method for
/// logistic regression, `None` when the classes are separable (no minimum).
pub(crate) fn optimum(kind: Kind, data: &Dataset) -> Option<([f64; 2], f64)> {
    let (u, v) = (&data.x, &data.y);
    let n = data.rows() as f64;
    let mean = |f: &dyn Fn(usize) -> f64| (0..u.len()).map(f).sum::<f64>() / n;
    let (mu, mv) = (mean(&|i| u[i]), mean(&|i| v[i]));
    let var = mean(&|i| (u[i] - mu).powi(2));
    let cov = mean(&|i| (u[i] - mu) * (v[i] - mv));
    let point = match kind {
        Kind::Linear => {
            let w = if var > 0.0 { cov / var } else { 0.0 };
            [w, mv - w * mu]
        }
        Kind::Logistic => {
            let (mut w, mut b) = (0.0f64, 0.0f64);
            for _ in 0..100 {
                let (mut g, mut h) = ([0.0f64; 2], [0.0f64; 3]);
                for (u, v) in u.iter().zip(v) {
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
    Some((point, loss_f64(data, kind, point[0], point[1])))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(u: &[f64], v: &[f64]) -> Dataset {
        Dataset {
            x: u.to_vec(),
            width: 1,
            y: v.to_vec(),
        }
    }

    #[test]
    fn optimum_of_least_squares_and_of_logistic_regression() {
        let line = data(&[0.0, 1.0, 2.0, 3.0], &[1.0, 3.0, 5.0, 7.0]);
        let (p, l) = optimum(Kind::Linear, &line).unwrap();
        assert!((p[0] - 2.0).abs() < 1e-12 && (p[1] - 1.0).abs() < 1e-12 && l.abs() < 1e-20);
        let labels = data(&[-2.0, -1.0, -0.5, 0.5, 1.0, 2.0], &[0.0, 0.0, 1.0, 0.0, 1.0, 1.0]);
        let (p, _) = optimum(Kind::Logistic, &labels).unwrap();
        let g = gradient_f64(&labels, Kind::Logistic, p[0], p[1], &[0, 1, 2, 3, 4, 5]);
        assert!(g[0].abs() < 1e-10 && g[1].abs() < 1e-10, "{g:?}");
        let separable = data(&[-1.0, -0.5, 0.5, 1.0], &[0.0, 0.0, 1.0, 1.0]);
        assert!(optimum(Kind::Logistic, &separable).is_none());
    }
}
