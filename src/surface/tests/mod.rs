//! Surfaces against their definitions: the post's noise construction and surfaces
//! (`surfaces.rs`), TensorFlow's graph gradients bit for bit (`tf_gradients.rs`), and the
//! classic test functions at their minima and against finite differences (`classics.rs`).

mod classics;
mod surfaces;
mod tf_gradients;
