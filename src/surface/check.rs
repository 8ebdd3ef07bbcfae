//! Checking a surface's autodiff gradient against central differences.

use super::{Lookup, Noise, NoiseSpec, Surface, to_vec};
use crate::random::SplitMix64;
use burn::tensor::{Device, Tensor, TensorData};
use std::fmt;

/// The outcome of [`check`]: the worst disagreement between the autodiff gradient and central
/// differences over random points of the surface's domain (noise off).
#[derive(Clone, Debug, PartialEq)]
pub struct GradientCheck {
    /// How many points were compared.
    pub points: usize,
    /// The worst error, `|autodiff - numeric| / (1 + |numeric|)`.
    pub worst: f64,
    /// Where it occurred.
    pub at: [f32; 2],
    /// Along which axis (0 for x, 1 for y).
    pub axis: usize,
    /// The autodiff component there.
    pub autodiff: f64,
    /// The central-difference estimate there.
    pub numeric: f64,
}

impl GradientCheck {
    /// True when the worst error is at most `tolerance` (and finite).
    pub fn passes(&self, tolerance: f64) -> bool {
        self.worst <= tolerance
    }
}

impl fmt::Display for GradientCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "worst relative error {:.2e} over {} points, at {:?} along {}: autodiff {} vs central difference {}",
            self.worst,
            self.points,
            self.at,
            ["x", "y"][self.axis],
            self.autodiff,
            self.numeric
        )
    }
}

/// Compares `surface`'s autodiff gradient with central differences at 1,000 random points of its
/// domain (seed 0, the default backend, noise off) and reports the worst error; see `check_with`.
///
/// ```
/// let surface = optsurf::Registry::builtin().surface("himmelblau").unwrap().clone();
/// let report = optsurf::surface::check(&surface);
/// assert!(report.passes(5e-2), "{report}");
/// ```
pub fn check(surface: &Surface) -> GradientCheck {
    let device = crate::backend::Backend::default()
        .device()
        .expect("the default backend is always built");
    check_with(surface, 1000, 0, &device)
}

/// Compares `surface`'s autodiff gradient with fourth-order central differences at `points`
/// seeded random points of its domain, with the noise off, and reports the worst error.
///
/// The differences are taken in `f32` (the surface's own arithmetic) with a step
/// `h = 1e-3 max(1, |p|)` per coordinate; the error is measured against
/// `1 + |numeric| + 1e-5 |f| / h` (the last term bounds the estimate's own f32 rounding), so a correct gradient stays
/// well under `5e-2` and a wrong one (a sign, a factor, a missing term) shows as order 1.
pub(crate) fn check_with(surface: &Surface, points: usize, seed: u64, device: &Device) -> GradientCheck {
    let noise = Noise::new(
        NoiseSpec {
            seed: 0,
            lookup: Lookup::Off,
        },
        surface.domain,
        device,
    );
    let mut bits = SplitMix64::new(seed ^ 0x5DEE_CE66_D1CE_5EED);
    let mut uniform = || bits.uniform();
    let d = surface.domain;
    let pts: Vec<[f32; 2]> = (0..points.max(1))
        .map(|_| {
            let x = d.x[0] + (d.x[1] - d.x[0]) * uniform();
            let y = d.y[0] + (d.y[1] - d.y[0]) * uniform();
            [x as f32, y as f32]
        })
        .collect();
    let upload = |p: &[[f32; 2]]| {
        let flat: Vec<f32> = p.iter().flatten().copied().collect();
        Tensor::<2>::from_data(TensorData::new(flat, [p.len(), 2]), device)
    };
    let (_, grad) = surface.loss_and_grad(upload(&pts), &noise);
    let grad = to_vec(grad);
    let mut worst = GradientCheck {
        points: pts.len(),
        worst: 0.0,
        at: pts[0],
        axis: 0,
        autodiff: 0.0,
        numeric: 0.0,
    };
    let values = to_vec(surface.eval(upload(&pts), &noise));
    for axis in 0..2 {
        let h: Vec<f32> = pts.iter().map(|p| 1e-3 * p[axis].abs().max(1.0)).collect();
        let shifted = |k: f32| {
            let moved: Vec<[f32; 2]> = pts
                .iter()
                .zip(&h)
                .map(|(p, h)| {
                    let mut p = *p;
                    p[axis] += k * h;
                    p
                })
                .collect();
            to_vec(surface.eval(upload(&moved), &noise))
        };
        let (p2, p1, m1, m2) = (shifted(2.0), shifted(1.0), shifted(-1.0), shifted(-2.0));
        for (i, p) in pts.iter().enumerate() {
            // The step actually taken in f32, so that rounding of p +- h does not bias the estimate.
            let step = (p[axis] + h[i]) as f64 - (p[axis] - h[i]) as f64;
            let numeric = (8.0 * (p1[i] as f64 - m1[i] as f64) - (p2[i] as f64 - m2[i] as f64)) / (6.0 * step);
            let autodiff = grad[2 * i + axis] as f64;
            let floor = 1e-5 * (values[i] as f64).abs() / h[i] as f64;
            let error = (autodiff - numeric).abs() / (1.0 + numeric.abs() + floor);
            let error = if error.is_nan() { f64::INFINITY } else { error };
            if error > worst.worst {
                worst = GradientCheck {
                    points: pts.len(),
                    worst: error,
                    at: *p,
                    axis,
                    autodiff,
                    numeric,
                };
            }
        }
    }
    worst
}
