//! Small tensor helpers shared by surfaces, optimizers and the runner.

use burn::tensor::Tensor;

/// Reads a float tensor back to the host as `f32`.
pub fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    // One cast at most, reusing the backend's buffer when it is already f32.
    t.into_data()
        .try_into_vec_as::<f32>()
        .expect("a float tensor reads back as f32")
}
