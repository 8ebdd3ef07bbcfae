//! Surfaces: loss functions of two parameters, written as burn tensor code.
//!
//! A surface is a `Formula`, `f(x, y, r, c)`, over batches: `x` and `y` are the two
//! coordinates of `N` points and `r`, `c` the coarse and fine noise terms at those points (see
//! `noise`). Its gradient comes from burn's autodiff, never from hand-written derivatives.
//!
//! A [`Surface`] is that formula with a name, a domain and its known stationary points. The
//! built-in ones are the post's (`builtin`) and the classic test functions (`classic`);
//! a user's own surface is a value registered with
//! [`Registry::with_surface`](crate::Registry::with_surface), and an experiment file may write
//! one as an expression (`expr`):
//!
//! ```
//! use burn::tensor::Tensor;
//! use optsurf::surface::Surface;
//!
//! /// Rosenbrock's banana: `(1 - x)^2 + 100 (y - x^2)^2`.
//! fn banana(x: Tensor<1>, y: Tensor<1>, _r: Tensor<1>, _c: Tensor<1>) -> Tensor<1> {
//!     x.clone().neg().add_scalar(1.0).square() + (y - x.square()).square().mul_scalar(100.0)
//! }
//!
//! let surface = Surface::new("banana", "(1 - x)^2 + 100 (y - x^2)^2", banana)
//!     .with_domain([[-2.0, 2.0], [-1.0, 3.0]])
//!     .with_minimum([1.0, 1.0], 0.0)
//!     .noiseless();
//! assert_eq!(surface.domain.x, [-2.0, 2.0]);
//! ```

pub(crate) mod builtin;
pub(crate) mod check;
pub(crate) mod classic;
pub(crate) mod data;
pub(crate) mod expr;
pub(crate) mod noise;
#[cfg(test)]
mod tests;

use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

pub(crate) use self::check::check_with;
pub use {
    self::check::{GradientCheck, check},
    self::data::ModelLoss,
    self::expr::{
        func::{FUNCTIONS, Function},
        parse::MAX_NESTING,
    },
    self::noise::{Lookup, Noise, NoiseSpec},
    crate::tensor::to_vec,
};

/// A surface's formula over a batch: `f(x [N], y [N], r [N], c [N]) -> loss [N]`.
pub(crate) type Formula = dyn Fn(Tensor<1>, Tensor<1>, Tensor<1>, Tensor<1>) -> Tensor<1> + Send + Sync;

/// The rectangle a surface is drawn over: `[[x_min, x_max], [y_min, y_max]]`. The mesh of
/// figures and the noise fields span it; points outside it still have a loss (the noise is
/// clipped to the mesh's edge).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(from = "[[f64; 2]; 2]", into = "[[f64; 2]; 2]")]
pub struct Domain {
    /// `[x_min, x_max]`.
    pub x: [f64; 2],
    /// `[y_min, y_max]`.
    pub y: [f64; 2],
}

impl From<[[f64; 2]; 2]> for Domain {
    fn from([x, y]: [[f64; 2]; 2]) -> Self {
        Domain { x, y }
    }
}

impl From<Domain> for [[f64; 2]; 2] {
    fn from(d: Domain) -> Self {
        [d.x, d.y]
    }
}

impl Domain {
    /// The post's box `[-10, 10)^2`, with its 200 x 200 mesh of spacing 0.1.
    pub(crate) const POST: Domain = Domain {
        x: [-10.0, 10.0],
        y: [-10.0, 10.0],
    };

    /// The limits of axis `k` (0 for x, 1 for y).
    pub(crate) fn axis(&self, k: usize) -> [f64; 2] {
        if k == 0 { self.x } else { self.y }
    }

    /// The larger of the two side lengths.
    pub(crate) fn width(&self) -> f64 {
        (self.x[1] - self.x[0]).max(self.y[1] - self.y[0])
    }

    /// True when `p` lies in the closed rectangle.
    #[cfg(test)]
    pub(crate) fn contains(&self, p: [f64; 2]) -> bool {
        (self.x[0]..=self.x[1]).contains(&p[0]) && (self.y[0]..=self.y[1]).contains(&p[1])
    }

    /// Checks that both sides are finite, ordered and of positive length; says what is wrong.
    pub(crate) fn validate(&self) -> crate::error::Parsed<()> {
        let ok = |[lo, hi]: [f64; 2]| lo.is_finite() && hi.is_finite() && lo < hi;
        if ok(self.x) && ok(self.y) {
            Ok(())
        } else {
            Err(crate::error::FieldError::new(format!(
                "expected [[x_min, x_max], [y_min, y_max]] with finite limits and min < max, got {:?}",
                [self.x, self.y]
            )))
        }
    }

    /// The mesh coordinate of cell `k` (of [`noise::GRID`]) on axis `axis`: `lo + k (hi - lo) /
    /// GRID`, in `f32` (for the post's box exactly `-10 + 0.1 k`, as the post's `np.arange`).
    pub(crate) fn mesh_coord(&self, axis: usize, k: usize) -> f32 {
        let [lo, hi] = self.axis(axis);
        let spacing = (hi - lo) as f32 / noise::GRID as f32;
        lo as f32 + k as f32 * spacing
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}, {}] x [{}, {}]", self.x[0], self.x[1], self.y[0], self.y[1])
    }
}

/// What kind of stationary point.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A (local or global) minimum.
    Minimum,
    /// A saddle point.
    Saddle,
}

/// A known stationary point of a surface's smooth part (noise off).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stationary {
    /// Where it is.
    pub point: [f64; 2],
    /// The smooth surface's value there.
    pub value: f64,
    /// Minimum or saddle.
    pub kind: Kind,
}

/// A named surface: its tensor code, a formula to show, its domain and known stationary
/// points. Cloning is cheap (the code is shared).
#[derive(Clone)]
pub struct Surface {
    /// The name experiment files use.
    pub name: String,
    /// Its formula as text.
    pub formula: String,
    /// The tensor code.
    pub(crate) f: Arc<Formula>,
    /// The rectangle figures show and the noise spans.
    pub domain: Domain,
    /// Known stationary points of the smooth part.
    pub stationary: Vec<Stationary>,
    /// Whether the formula reads the noise terms `r` and `c` (when not, they are not looked up).
    pub noisy: bool,
    /// For a model's loss over data: its minibatches (the formula is then the full-data loss,
    /// and optimizers step on minibatch gradients).
    pub(crate) data: Option<Arc<data::DataSurface>>,
    /// Whether its formula can be recorded and replayed (see `experiment::fused`): the
    /// built-ins and expressions of them, whose detaches go through `capture::detach`. Your
    /// own tensor code may detach unseen, so it steps eagerly.
    pub(crate) replayable: bool,
}

impl fmt::Debug for Surface {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Surface")
            .field("name", &self.name)
            .field("formula", &self.formula)
            .field("domain", &self.domain)
            .field("stationary", &self.stationary)
            .field("noisy", &self.noisy)
            .field("data", &self.data)
            .finish()
    }
}

impl Surface {
    /// A surface over the post's box `[-10, 10)^2` that reads the noise terms, with no known
    /// stationary points; the `with_*` methods and [`Surface::noiseless`] say more.
    pub fn new(
        name: impl Into<String>,
        formula: impl Into<String>,
        f: impl Fn(Tensor<1>, Tensor<1>, Tensor<1>, Tensor<1>) -> Tensor<1> + Send + Sync + 'static,
    ) -> Self {
        Surface {
            name: name.into(),
            formula: formula.into(),
            f: Arc::new(f),
            domain: Domain::POST,
            stationary: Vec::new(),
            noisy: true,
            data: None,
            replayable: false,
        }
    }

    /// The loss of a model over data, `name`d: the surface is the full training loss and
    /// optimizers step on minibatches. A two-parameter regression is a surface over the plane
    /// `(w, b)` (its optimum, when there is one, the known minimum); a model of `P` parameters
    /// has no plane, its figures are its loss curves, and its formula here is not a number
    /// (NaN).
    pub(crate) fn from_data(name: impl Into<String>, formula: impl Into<String>, data: data::DataSurface) -> Self {
        let data = Arc::new(data);
        let full = Arc::clone(&data);
        let mut surface = Surface::new(name, formula, move |x, y, _r, _c| {
            let n = x.dims()[0];
            if !full.is_plane() {
                return x.mul_scalar(f32::NAN);
            }
            let params = Tensor::cat(vec![x.reshape([n, 1]), y.reshape([n, 1])], 1);
            full.full_loss(params, data::Split::Train)
                .expect("training rows are always there")
        })
        .noiseless();
        if let data::Model::Regression(r) = &data.model
            && let Some((point, value)) = r.optimum
        {
            surface = surface.with_minimum(point, value);
        }
        surface.data = Some(data);
        surface
    }

    /// The model over data this surface is the loss of, when it has `P > 2` parameters (no
    /// plane to draw).
    pub(crate) fn model(&self) -> Option<&data::DataSurface> {
        self.data.as_deref().filter(|d| !d.is_plane())
    }

    /// The number `P` of parameters a run over it steps: a model's, or the plane's 2.
    pub(crate) fn parameters(&self) -> usize {
        self.model().map_or(2, |m| m.layout().len())
    }

    /// The same surface over another domain `[[x_min, x_max], [y_min, y_max]]`.
    pub fn with_domain(mut self, domain: impl Into<Domain>) -> Self {
        self.domain = domain.into();
        self
    }

    /// Adds a known minimum (global or local) with the smooth surface's value there.
    pub fn with_minimum(mut self, point: [f64; 2], value: f64) -> Self {
        self.stationary.push(Stationary {
            point,
            value,
            kind: Kind::Minimum,
        });
        self
    }

    /// Adds a known saddle point with the smooth surface's value there.
    pub fn with_saddle(mut self, point: [f64; 2], value: f64) -> Self {
        self.stationary.push(Stationary {
            point,
            value,
            kind: Kind::Saddle,
        });
        self
    }

    /// Marks the formula as not reading `r` and `c`, so no noise is looked up for it.
    pub fn noiseless(mut self) -> Self {
        self.noisy = false;
        self
    }

    /// The known minima, in the order they were listed.
    pub fn minima(&self) -> impl Iterator<Item = &Stationary> {
        self.stationary.iter().filter(|s| s.kind == Kind::Minimum)
    }

    /// The lowest known minimum value, if any minimum is known.
    pub fn global_minimum(&self) -> Option<f64> {
        self.minima().map(|s| s.value).reduce(f64::min)
    }

    /// The formula applied to coordinate columns `x`, `y` `[N]`, with the noise terms at those
    /// points (zeros for a noiseless surface).
    pub(crate) fn apply(&self, x: Tensor<1>, y: Tensor<1>, noise: &Noise) -> Tensor<1> {
        let (r, c) = if self.noisy {
            noise.terms(&x, &y)
        } else {
            (x.zeros_like(), x.zeros_like())
        };
        (self.f)(x, y, r, c)
    }

    /// The loss at a batch of points `[N, 2]`, noise included: `[N]`.
    pub(crate) fn eval(&self, points: Tensor<2>, noise: &Noise) -> Tensor<1> {
        let n = points.dims()[0];
        let x = points.clone().narrow(1, 0, 1).reshape([n]);
        let y = points.narrow(1, 1, 1).reshape([n]);
        self.apply(x, y, noise)
    }

    /// Loss and gradient at a batch of points `[N, 2]` in one autodiff pass. `points` may live on
    /// a plain device. Returns `(loss [N], grad [N, 2])`, both without autodiff.
    ///
    /// A loss that does not depend on the points (a constant surface such as `{"expr": "3"}`,
    /// or one built only from operations autodiff does not track) has a zero gradient.
    pub fn loss_and_grad(&self, points: Tensor<2>, noise: &Noise) -> (Tensor<1>, Tensor<2>) {
        if crate::capture::recording() {
            return crate::capture::deferred_gradient(points, |p| self.eval(p, noise));
        }
        let p = points.autodiff().require_grad();
        let loss = self.eval(p.clone(), noise);
        let total = loss.clone().sum();
        let grad = if total.is_tracked() {
            p.grad(&total.backward())
        } else {
            None
        };
        let grad = grad.unwrap_or_else(|| p.inner().zeros_like());
        (loss.inner(), grad)
    }

    /// The loss over the 200 x 200 mesh of the surface's domain, row-major with the `x` index
    /// first, as the post computes it for its surface figures.
    pub fn on_mesh(&self, noise: &Noise, device: &Device) -> Vec<f32> {
        let g = noise::GRID;
        let mut xy = Vec::with_capacity(g * g * 2);
        for i in 0..g {
            for j in 0..g {
                xy.push(self.domain.mesh_coord(0, i));
                xy.push(self.domain.mesh_coord(1, j));
            }
        }
        let points = Tensor::<2>::from_data(TensorData::new(xy, [g * g, 2]), device);
        to_vec(self.eval(points, noise))
    }

    /// The noise of `spec` over this surface's domain, on `device`.
    pub fn noise(&self, spec: NoiseSpec, device: &Device) -> Noise {
        Noise::new(spec, self.domain, device)
    }
}

/// Every built-in surface: the post's, then the classic test functions.
pub(crate) fn builtins() -> Vec<Surface> {
    let mut all = builtin::surfaces();
    all.extend(classic::surfaces());
    for s in &mut all {
        s.replayable = true;
    }
    all
}
