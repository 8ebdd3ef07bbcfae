//! Surfaces: loss functions of two parameters, written as burn tensor code.
//!
//! A surface is a [`Formula`], `f(x, y, r, c)`, over batches: `x` and `y` are the two
//! coordinates of `N` points and `r`, `c` the coarse and fine noise terms at those points (see
//! [`noise`]). Its gradient comes from burn's autodiff, never from hand-written derivatives.
//!
//! Adding a surface takes a function and one line in [`REGISTRY`]:
//!
//! ```
//! use burn::tensor::Tensor;
//!
//! /// Rosenbrock's banana, scaled to the mesh: `((1 - x)^2 + 100 (y - x^2)^2) / 1e4`.
//! fn banana(x: Tensor<1>, y: Tensor<1>, r: Tensor<1>, c: Tensor<1>) -> Tensor<1> {
//!     ((x.clone().neg().add_scalar(1.0)).square() + (y - x.square()).square().mul_scalar(100.0))
//!         .div_scalar(1e4)
//!         + r.mul_scalar(0.01)
//!         + c.mul_scalar(0.01)
//! }
//! ```

pub mod builtin;
pub mod noise;

use burn::tensor::{Device, Tensor, TensorData};

pub use noise::{Lookup, Noise, NoiseField, NoiseSpec};

/// A surface's formula over a batch: `f(x [N], y [N], r [N], c [N]) -> loss [N]`.
pub type Formula = fn(Tensor<1>, Tensor<1>, Tensor<1>, Tensor<1>) -> Tensor<1>;

/// A known stationary point of a surface's smooth part (noise off).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stationary {
    /// Where it is.
    pub point: [f64; 2],
    /// The smooth surface's value there.
    pub value: f64,
    /// `"minimum"` or `"saddle"`.
    pub kind: &'static str,
}

/// A named surface of the registry.
#[derive(Clone, Copy, Debug)]
pub struct Surface {
    /// The name experiment files use.
    pub name: &'static str,
    /// Its formula as text.
    pub formula: &'static str,
    /// The tensor code.
    pub f: Formula,
    /// Known stationary points of the smooth part inside the mesh `[-10, 10)^2`.
    pub stationary: &'static [Stationary],
}

/// Every built-in surface; experiment files refer to them by name.
pub const REGISTRY: &[Surface] = &[
    builtin::F0,
    builtin::F1,
    builtin::F2,
    builtin::F3,
    builtin::F4,
    builtin::F5,
    builtin::QUADRIC,
];

/// The surface called `name`, if there is one.
pub fn get(name: &str) -> Option<&'static Surface> {
    REGISTRY.iter().find(|s| s.name == name)
}

/// The names of every surface, for error messages.
pub fn names() -> Vec<&'static str> {
    REGISTRY.iter().map(|s| s.name).collect()
}

impl Surface {
    /// The loss at a batch of points `[N, 2]`, noise included: `[N]`.
    pub fn eval(&self, points: Tensor<2>, noise: &Noise) -> Tensor<1> {
        let n = points.dims()[0];
        let x = points.clone().narrow(1, 0, 1).reshape([n]);
        let y = points.narrow(1, 1, 1).reshape([n]);
        let (r, c) = noise.terms(&x, &y);
        (self.f)(x, y, r, c)
    }

    /// Loss and gradient at a batch of points `[N, 2]` in one autodiff pass. `points` may live on
    /// a plain device; `device` must be its autodiff twin. Returns `(loss [N], grad [N, 2])`,
    /// both without autodiff.
    pub fn loss_and_grad(&self, points: Tensor<2>, noise: &Noise) -> (Tensor<1>, Tensor<2>) {
        let p = points.autodiff().require_grad();
        let loss = self.eval(p.clone(), noise);
        let grads = loss.clone().sum().backward();
        let grad = p
            .grad(&grads)
            .expect("the points require grad, so backward yields their gradient");
        (loss.inner(), grad)
    }

    /// The loss over the whole 200x200 mesh, row-major with the `x` index first, as the post
    /// computes it for its surface figures.
    pub fn on_mesh(&self, noise: &Noise, device: &Device) -> Vec<f32> {
        let g = noise::GRID;
        let mut xy = Vec::with_capacity(g * g * 2);
        for i in 0..g {
            for j in 0..g {
                xy.push(noise::mesh_coord(i));
                xy.push(noise::mesh_coord(j));
            }
        }
        let points = Tensor::<2>::from_data(TensorData::new(xy, [g * g, 2]), device);
        to_vec(self.eval(points, noise))
    }
}

/// Reads a float tensor back to the host as `f32`.
pub fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().iter::<f32>().collect()
}
