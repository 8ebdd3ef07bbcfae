//! Small tensor helpers shared by surfaces, optimizers and the runner.

use burn::tensor::Tensor;

/// Reads a float tensor back to the host as `f32`.
pub fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().iter::<f32>().collect()
}
