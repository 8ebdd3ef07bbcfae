//! Multi-layer perceptrons as Keras builds them from `Dense` layers, batched over runs.
//!
//! Hidden layer `k`: `h = act(h W_k + b_k)`; with `skip`, a hidden layer `k > 0` whose input is
//! as wide as its output adds its input: `h = h + act(h W_k + b_k)`. The output layer is linear,
//! `z = h W + b`, as wide as the classes for `cross_entropy` and 1 otherwise. The losses are
//! Keras's, the mean over the batch:
//! - `cross_entropy`: `SparseCategoricalCrossentropy(from_logits=True)`,
//!   `logsumexp(z) - z[label]`;
//! - `binary_cross_entropy`: `BinaryCrossentropy(from_logits=True)`,
//!   `max(z, 0) - z t + ln(1 + e^-|z|)`;
//! - `mse`: `MeanSquaredError`, `(z - t)^2`.
//!
//! Activations: `relu`, `tanh`, `sigmoid`, and `gelu` exact (`x/2 erfc(-x / sqrt 2)`, as
//! TensorFlow computes `keras.activations.gelu(approximate=False)`).
//!
//! The parameters are Keras's `trainable_variables` in order: each layer's kernel `[in, out]`
//! (row-major), then its bias `[out]`; `R` runs step as one computation, `W_k` a batch
//! `[R, in, out]` of matrices.

use super::ModelLoss;
use crate::params::{Layout, Variable};
use burn::tensor::activation;
use burn::tensor::{Int, Tensor, TensorData};

/// A hidden layer's activation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Activation {
    /// `max(x, 0)`.
    Relu,
    /// `tanh x`.
    Tanh,
    /// `x/2 erfc(-x / sqrt 2)`.
    Gelu,
    /// `1 / (1 + e^-x)`.
    Sigmoid,
}

impl Activation {
    /// The names experiment files use.
    pub(crate) const NAMES: [&'static str; 4] = ["relu", "tanh", "gelu", "sigmoid"];

    /// The activation called `name`.
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        match name {
            "relu" => Some(Activation::Relu),
            "tanh" => Some(Activation::Tanh),
            "gelu" => Some(Activation::Gelu),
            "sigmoid" => Some(Activation::Sigmoid),
            _ => None,
        }
    }

    /// Its name in files.
    pub(crate) fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    fn apply(self, z: Tensor<3>) -> Tensor<3> {
        match self {
            Activation::Relu => activation::relu(z),
            Activation::Tanh => tanh(z),
            Activation::Gelu => z
                .clone()
                .mul(erfc(z.mul_scalar(-std::f64::consts::FRAC_1_SQRT_2)))
                .mul_scalar(0.5),
            Activation::Sigmoid => activation::sigmoid(z),
        }
    }
}

/// `tanh z` with autodiff's gradient `1 - tanh^2 z`, the value computed once (the backward
/// pass reuses it). On the CPU backends the value is [`tanh_f32`] over the host's copy of `z`,
/// one vectorised pass; on a GPU, the device's own `tanh`.
fn tanh<const D: usize>(z: Tensor<D>) -> Tensor<D> {
    let fixed = z.clone().detach();
    let device = fixed.device();
    let t = if crate::backend::is_cpu(&device) {
        let shape = fixed.shape();
        let mut values = crate::tensor::to_vec(fixed.clone());
        values.iter_mut().for_each(|v| *v = tanh_f32(*v));
        Tensor::from_data(TensorData::new(values, shape), &device)
    } else {
        fixed.clone().tanh()
    };
    let slope = t.clone().powi_scalar(2).neg().add_scalar(1.0);
    t + (z - fixed).mul(slope)
}

/// `tanh x` by Eigen's `generic_fast_tanh_float` (without FMA), the rational approximation
/// TensorFlow's CPU kernels use: `x P(x^2) / Q(x^2)` of degrees 13/6 on `x` clamped to `[-c, c]`
/// (where it reaches 1 in float32), and `x` itself where `|x| < 0.0004`. Within 6 ulp of the
/// exact value, as TensorFlow 2.21's own `tanh` (which differs from it by at most 4e-7); a loop
/// of it vectorises, several times faster than the C library's `tanhf`.
pub(crate) fn tanh_f32(x: f32) -> f32 {
    const CLAMP: f32 = 7.905_311;
    const ALPHA: [f32; 7] = [
        4.893_524_6e-3,
        6.372_619_5e-4,
        1.485_722_35e-5,
        5.122_297_3e-8,
        -8.604_672e-11,
        2.000_188e-13,
        -2.760_768_4e-16,
    ];
    const BETA: [f32; 4] = [4.893_525e-3, 2.268_434_7e-3, 1.185_347_1e-4, 1.198_258_4e-6];
    let c = x.clamp(-CLAMP, CLAMP);
    let c2 = c * c;
    // Horner's rule from the highest coefficient, a multiply then an add per step (no FMA).
    let horner = |k: &[f32]| k.iter().rev().skip(1).fold(k[k.len() - 1], |acc, &ki| acc * c2 + ki);
    let rational = c * horner(&ALPHA) / horner(&BETA);
    // A select, not a branch, so that a loop of it vectorises.
    if x.abs() < 4e-4 { x } else { rational }
}

/// `erfc z`, elementwise, as TensorFlow's float32 `erfc` gives it to within float32's
/// precision everywhere: Numerical Recipes' Chebyshev fit (`t exp(-z^2 + P(t))`, `t = 1 / (1 +
/// |z| / 2)`, fractional error below 1.2e-7), so that its small values (a GELU of a negative
/// input) keep their digits where `1 - erf z` cancels; its gradient is the exact
/// `-2/sqrt(pi) exp(-z^2)`, as TensorFlow's.
fn erfc<const D: usize>(z: Tensor<D>) -> Tensor<D> {
    const P: [f64; 10] = [
        0.170_872_77,
        -0.822_152_23,
        1.488_515_87,
        -1.135_203_98,
        0.278_868_07,
        -0.186_288_06,
        0.096_784_18,
        0.374_091_96,
        1.000_023_68,
        -1.265_512_23,
    ];
    let fixed = z.clone().detach();
    let a = fixed.clone().abs();
    let t = a.clone().mul_scalar(0.5).add_scalar(1.0).recip();
    let mut poly = t.clone().mul_scalar(P[0]);
    for &c in &P[1..P.len() - 1] {
        poly = poly.add_scalar(c).mul(t.clone());
    }
    let poly = poly.add_scalar(P[P.len() - 1]);
    let upper = t.mul((poly - a.clone().mul(a)).exp());
    let negative = fixed.clone().lower_elem(0.0);
    let value = upper.clone().mask_where(negative, upper.neg().add_scalar(2.0));
    let slope = fixed
        .clone()
        .mul(fixed.clone())
        .neg()
        .exp()
        .mul_scalar(-2.0 / std::f64::consts::PI.sqrt());
    value + (z - fixed).mul(slope)
}

/// The loss of the output layer's linear outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Loss {
    /// Softmax cross-entropy of integer classes.
    CrossEntropy,
    /// Sigmoid cross-entropy of targets 0 or 1, one output.
    BinaryCrossEntropy,
    /// Squared error, one output.
    Mse,
}

impl Loss {
    /// The names experiment files use.
    pub(crate) const NAMES: [&'static str; 3] = ["cross_entropy", "binary_cross_entropy", "mse"];

    /// The loss called `name`.
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        match name {
            "cross_entropy" => Some(Loss::CrossEntropy),
            "binary_cross_entropy" => Some(Loss::BinaryCrossEntropy),
            "mse" => Some(Loss::Mse),
            _ => None,
        }
    }

    /// Its name in files.
    pub(crate) fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    /// What the targets must be.
    pub(crate) fn targets(self) -> super::Targets {
        match self {
            Loss::CrossEntropy => super::Targets::Classes,
            Loss::BinaryCrossEntropy => super::Targets::Binary,
            Loss::Mse => super::Targets::Numbers,
        }
    }
}

/// A multi-layer perceptron with its loss.
#[derive(Clone, Debug)]
pub(crate) struct Mlp {
    /// Layer widths: the features, each hidden layer, the outputs.
    widths: Vec<usize>,
    activation: Activation,
    loss: Loss,
    skip: bool,
    layout: Layout,
}

impl Mlp {
    /// An MLP from `features` inputs through `hidden` layers to `outputs`.
    pub(crate) fn new(
        features: usize,
        hidden: &[usize],
        outputs: usize,
        activation: Activation,
        loss: Loss,
        skip: bool,
    ) -> Self {
        let widths: Vec<usize> = std::iter::once(features)
            .chain(hidden.iter().copied())
            .chain(std::iter::once(outputs))
            .collect();
        let layout = Layout::new(
            widths
                .windows(2)
                .enumerate()
                .flat_map(|(k, w)| {
                    let name = if k == 0 {
                        "dense".to_string()
                    } else {
                        format!("dense_{k}")
                    };
                    [
                        Variable::new(format!("{name}/kernel"), [w[0], w[1]]),
                        Variable::new(format!("{name}/bias"), [w[1]]),
                    ]
                })
                .collect(),
        );
        Mlp {
            widths,
            activation,
            loss,
            skip,
            layout,
        }
    }

    /// The parameter count of such an MLP, without building it (saturating).
    pub(crate) fn count(features: usize, hidden: &[usize], outputs: usize) -> usize {
        let widths: Vec<usize> = std::iter::once(features)
            .chain(hidden.iter().copied())
            .chain(std::iter::once(outputs))
            .collect();
        widths.windows(2).fold(0usize, |n, w| {
            n.saturating_add(w[0].saturating_mul(w[1]).saturating_add(w[1]))
        })
    }

    /// The output layer's linear outputs `[R, B, out]` for `params [R, P]` and `x [G, B, F]`.
    fn logits(&self, params: Tensor<2>, x: Tensor<3>) -> Tensor<3> {
        let r = params.dims()[0];
        let layers = self.widths.len() - 1;
        let mut at = 0;
        let mut h = x;
        for (k, w) in self.widths.windows(2).enumerate() {
            let (input, output) = (w[0], w[1]);
            let kernel = params.clone().narrow(1, at, input * output).reshape([r, input, output]);
            at += input * output;
            let bias = params.clone().narrow(1, at, output).reshape([r, 1, output]);
            at += output;
            let z = h.clone().matmul(kernel) + bias;
            h = if k + 1 == layers {
                z
            } else if self.skip && k > 0 && input == output {
                h + self.activation.apply(z)
            } else {
                self.activation.apply(z)
            };
        }
        h
    }

    /// The class (or binary label) each run predicts for each row, `[R, B]`, for a classifier.
    fn predictions(&self, logits: Tensor<3>) -> Option<Tensor<2, Int>> {
        let [r, b, _] = logits.dims();
        match self.loss {
            Loss::CrossEntropy => Some(logits.argmax(2).reshape([r, b])),
            Loss::BinaryCrossEntropy => Some(logits.greater_elem(0.0).int().reshape([r, b])),
            Loss::Mse => None,
        }
    }
}

impl ModelLoss for Mlp {
    fn layout(&self) -> &Layout {
        &self.layout
    }

    fn features(&self) -> usize {
        self.widths[0]
    }

    fn loss(&self, params: Tensor<2>, x: Tensor<3>, y: Tensor<2>) -> Tensor<1> {
        self.loss_of(self.logits(params, x), y)
    }

    fn accuracy(&self, params: Tensor<2>, x: Tensor<3>, y: Tensor<2>) -> Option<Tensor<1>> {
        self.accuracy_of(self.logits(params, x), y)
    }

    /// The logits once, for both.
    fn loss_and_accuracy(&self, params: Tensor<2>, x: Tensor<3>, y: Tensor<2>) -> (Tensor<1>, Option<Tensor<1>>) {
        let z = self.logits(params, x);
        (self.loss_of(z.clone(), y.clone()), self.accuracy_of(z, y))
    }
}

impl Mlp {
    /// Each run's mean loss of the logits `z` `[R, B, out]` against `y`.
    fn loss_of(&self, z: Tensor<3>, y: Tensor<2>) -> Tensor<1> {
        let [r, b, out] = z.dims();
        let per_row: Tensor<2> = match self.loss {
            Loss::CrossEntropy => {
                // logsumexp(z) - z[label], the max taken out (and held constant) for stability.
                let top = z.clone().max_dim(2).detach();
                let lse = (z.clone() - top.clone()).exp().sum_dim(2).log() + top;
                let g = y.dims()[0];
                let labels = y.int().reshape([g, b, 1]).expand([r, b, 1]);
                (lse - z.gather(2, labels)).reshape([r, b])
            }
            Loss::BinaryCrossEntropy => {
                let z = z.reshape([r, b]);
                z.clone().clamp_min(0.0) - z.clone() * y + z.abs().neg().exp().log1p()
            }
            Loss::Mse => {
                debug_assert_eq!(out, 1);
                (z.reshape([r, b]) - y).square()
            }
        };
        per_row.mean_dim(1).reshape([r])
    }

    /// Each run's share of rows whose logits `z` predict `y` (a classifier's).
    fn accuracy_of(&self, z: Tensor<3>, y: Tensor<2>) -> Option<Tensor<1>> {
        let predicted = self.predictions(z)?;
        let [r, b] = predicted.dims();
        let right = predicted.equal(y.int().expand([r, b])).float();
        Some(right.mean_dim(1).reshape([r]))
    }
}
