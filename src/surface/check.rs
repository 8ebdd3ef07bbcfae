//! Checking a surface's autodiff gradient against central differences.

use super::{Lookup, Noise, NoiseSpec, Surface, to_vec};
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

/// Compares `surface`'s autodiff gradient with fourth-order central differences at `points`
/// seeded random points of its domain, with the noise off, and reports the worst error.
///
/// The differences are taken in `f32` (the surface's own arithmetic) with a step of `1e-3` of
/// the domain's width, so the error of the estimate itself is about `1e-6 |f| / h`: a correct
/// gradient stays well under `1e-2`, a wrong one (a sign, a factor, a missing term) shows as
/// order 1.
pub fn check(surface: &Surface, points: usize, seed: u64, device: &Device) -> GradientCheck {
    let noise = Noise::new(
        NoiseSpec {
            seed: 0,
            lookup: Lookup::Off,
        },
        surface.domain,
        device,
    );
    let mut state = seed ^ 0x5DEE_CE66_D1CE_5EED;
    let mut uniform = || {
        // splitmix64, 24 random bits
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 40) as f64 / (1u64 << 24) as f64
    };
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
    for axis in 0..2 {
        let h = (1e-3 * (d.axis(axis)[1] - d.axis(axis)[0])) as f32;
        let shifted = |k: f32| {
            let moved: Vec<[f32; 2]> = pts
                .iter()
                .map(|p| {
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
            let step = (p[axis] + h) as f64 - (p[axis] - h) as f64;
            let numeric = (8.0 * (p1[i] as f64 - m1[i] as f64) - (p2[i] as f64 - m2[i] as f64)) / (6.0 * step);
            let autodiff = grad[2 * i + axis] as f64;
            let error = (autodiff - numeric).abs() / (1.0 + numeric.abs());
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
