//! A run's parameters: a vector of `P` numbers, split into the variables a model declares (Keras's
//! `trainable_variables`: each layer's kernel, then its bias), in that order. A surface's two
//! coordinates are one variable of two.
//!
//! Rules that Keras and optax apply per variable (LAMB's and LARS's trust ratios, NovoGrad's
//! second moment) take their norms over each variable's columns of the `[N, P]` batch.

use crate::random::SplitMix64;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// One variable of a model: its name, its shape, and its columns in the parameter vector.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variable {
    /// Its name (`dense_0/kernel`).
    pub name: String,
    /// Its shape (`[in, out]` for a kernel, row-major in the vector; `[out]` for a bias).
    pub shape: Vec<usize>,
}

impl Variable {
    /// A variable `name` of `shape`.
    pub fn new(name: impl Into<String>, shape: impl Into<Vec<usize>>) -> Self {
        Variable {
            name: name.into(),
            shape: shape.into(),
        }
    }

    /// How many numbers it holds.
    pub(crate) fn len(&self) -> usize {
        self.shape.iter().product()
    }
}

/// The variables of a parameter vector, in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Layout(Vec<Variable>);

impl Layout {
    /// The variables `vars`, in order.
    pub fn new(vars: Vec<Variable>) -> Self {
        Layout(vars)
    }

    /// One variable of `p` numbers (a surface's point: `Layout::whole(2)`).
    pub(crate) fn whole(p: usize) -> Self {
        Layout(vec![Variable::new("point", [p])])
    }

    /// The variables.
    pub fn variables(&self) -> &[Variable] {
        &self.0
    }

    /// The length `P` of the parameter vector.
    pub(crate) fn len(&self) -> usize {
        self.0.iter().map(Variable::len).sum()
    }

    /// Each variable's columns.
    pub(crate) fn ranges(&self) -> impl Iterator<Item = Range<usize>> + '_ {
        self.0.iter().scan(0, |at, v| {
            let r = *at..*at + v.len();
            *at = r.end;
            Some(r)
        })
    }

    /// A per-variable value over a batch `[N, P]`: `f` gives each variable's `[N, 1]` column from
    /// its columns; the result holds it in every column of the variable (`[N, P]`), or is the
    /// `[N, 1]` column itself when there is one variable (which broadcasts over the row, as
    /// when the whole row is one variable).
    pub(crate) fn per_variable(&self, f: impl Fn(Range<usize>) -> Tensor<2>) -> Tensor<2> {
        if self.0.len() == 1 {
            return f(0..self.len());
        }
        let parts: Vec<Tensor<2>> = self
            .ranges()
            .map(|r| {
                let column = f(r.clone());
                let n = column.dims()[0];
                column.expand([n, r.len()])
            })
            .collect();
        Tensor::cat(parts, 1)
    }
}

impl Layout {
    /// Keras's default initial values, drawn from `seed` with optsurf's own generator: every
    /// two-dimensional variable (a kernel `[in, out]`) `glorot_uniform`, uniform in
    /// `[-l, l]` with `l = sqrt(6 / (in + out))`; every other variable (a bias) zeros.
    pub fn keras_init(&self, seed: u64) -> Vec<f32> {
        let mut values = Vec::with_capacity(self.len());
        for (k, v) in self.0.iter().enumerate() {
            match v.shape[..] {
                [fan_in, fan_out] if fan_in + fan_out > 0 => {
                    let limit = (6.0 / (fan_in + fan_out) as f64).sqrt();
                    let mut bits = SplitMix64::new(seed ^ (k as u64).wrapping_mul(0xA24B_AED4_963E_E407));
                    values.extend((0..v.len()).map(|_| ((2.0 * bits.uniform() - 1.0) * limit) as f32));
                }
                _ => values.extend(std::iter::repeat_n(0.0, v.len())),
            }
        }
        values
    }
}

/// The columns `r` of a batch `[N, P]`.
pub(crate) fn columns(x: &Tensor<2>, r: Range<usize>) -> Tensor<2> {
    if r.start == 0 && r.end == x.dims()[1] {
        x.clone()
    } else {
        x.clone().narrow(1, r.start, r.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::to_vec;
    use burn::tensor::TensorData;

    #[test]
    fn per_variable_values_fill_each_variable_and_one_variable_is_a_column() {
        let device = crate::backend::Backend::default().device().unwrap();
        let x = Tensor::<2>::from_data(TensorData::new(vec![3.0f32, 4.0, 1.0, 0.0, 0.0, 2.0], [2, 3]), &device);
        let layout = Layout::new(vec![Variable::new("kernel", [2, 1]), Variable::new("bias", [1])]);
        assert_eq!(layout.len(), 3);
        let norms = layout.per_variable(|r| columns(&x, r).square().sum_dim(1).sqrt());
        assert_eq!(to_vec(norms), [5.0, 5.0, 1.0, 0.0, 0.0, 2.0]);
        let whole = Layout::whole(3).per_variable(|r| columns(&x, r).square().sum_dim(1));
        assert_eq!(whole.dims(), [2, 1]);
        assert_eq!(to_vec(whole), [26.0, 4.0]);
    }

    #[test]
    fn keras_init_is_glorot_uniform_kernels_and_zero_biases() {
        let layout = Layout::new(vec![
            Variable::new("dense/kernel", [40, 60]),
            Variable::new("dense/bias", [60]),
        ]);
        let v = layout.keras_init(3);
        assert_eq!(v.len(), 2460);
        let limit = (6.0f32 / 100.0).sqrt();
        let kernel = &v[..2400];
        assert!(kernel.iter().all(|x| x.abs() <= limit));
        // Uniform on [-l, l]: mean 0, variance l^2 / 3.
        let mean = kernel.iter().sum::<f32>() / 2400.0;
        let var = kernel.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / 2400.0;
        assert!(
            mean.abs() < 0.02 && (var / (limit * limit / 3.0) - 1.0).abs() < 0.1,
            "{mean} {var}"
        );
        assert!(v[2400..].iter().all(|&b| b == 0.0));
        assert_eq!(layout.keras_init(3), v, "a seed gives one draw");
        assert_ne!(layout.keras_init(4)[..2400], v[..2400]);
    }
}
