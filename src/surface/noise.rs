//! The post's two noise fields and how a point looks them up.
//!
//! Both fields live on a 200x200 mesh over the surface's domain (for the post's box
//! `[-10, 10)^2`, spacing 0.1: cell `(i, j)` is the square whose lower corner is
//! `(-10 + 0.1 i, -10 + 0.1 j)`; the first index follows `x`):
//! - `r`, coarse: a standard normal draw on a 25x25 grid, resized bilinearly to 200x200 the way
//!   `tf.image.resize(..., method="bilinear")` does (half-pixel centres);
//! - `c`, fine: a standard normal draw on the mesh, times `|u| |v| / 100`, where `(u, v)` is the
//!   mesh point carried to the post's box (`u = -10 + 0.1 i`).
//!
//! The fields depend on the seed alone; another domain stretches the same fields over itself.
//! Draws come from our own seeded generator (splitmix64 + Box-Muller), so a seed gives the same
//! fields on every backend, platform and release.

use super::Domain;
use crate::random::Normals;
use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

/// Cells per side of the mesh.
pub(crate) const GRID: usize = 200;
/// Cells per side of the coarse draw before it is resized.
pub(crate) const COARSE: usize = GRID / 8;

/// How a point reads the noise fields.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Lookup {
    /// The post's lookup: the value of the cell the point falls in (clipped to the mesh). It adds
    /// to the loss but carries no gradient, like `tf.cast(..., tf.int32)` + `tf.gather_nd`.
    #[default]
    Nearest,
    /// Bilinear between the four mesh points around the point: differentiable, so the gradient
    /// feels the bumps.
    Bilinear,
    /// No noise: `r = c = 0`.
    Off,
}

/// The `noise` object of an experiment: which draw, and how points read it.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct NoiseSpec {
    /// Seed of the draw (default 0).
    #[serde(default)]
    pub seed: u64,
    /// Lookup mode (default `nearest`).
    #[serde(default)]
    pub lookup: Lookup,
}

/// The post's mesh coordinate of cell `k` on either axis: `-10 + 0.1 k`.
pub(crate) fn mesh_coord(k: usize) -> f32 {
    Domain::POST.mesh_coord(0, k)
}

/// Both noise fields on the host, row-major with the `x` index first (`field[i * GRID + j]`).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct NoiseField {
    /// Coarse noise `r`, resized to the mesh.
    pub coarse: Vec<f32>,
    /// Fine noise `c`, already scaled by `|x| |y| / 100`.
    pub fine: Vec<f32>,
}

impl NoiseField {
    /// Draws both fields from `seed`: first the 25x25 coarse draw, then the 200x200 fine one.
    pub(crate) fn generate(seed: u64) -> Self {
        let mut normals = Normals::new(seed);
        let small: Vec<f32> = (0..COARSE * COARSE).map(|_| normals.next()).collect();
        let coarse = resize_bilinear(&small, COARSE, GRID);
        let mut fine = Vec::with_capacity(GRID * GRID);
        for i in 0..GRID {
            for j in 0..GRID {
                let scale = mesh_coord(i).abs() * mesh_coord(j).abs() / 100.0;
                fine.push(normals.next() * scale);
            }
        }
        NoiseField { coarse, fine }
    }
}

/// Resizes an `n x n` image to `m x m` like TensorFlow 2's bilinear `tf.image.resize`
/// (half-pixel centres, no antialiasing).
fn resize_bilinear(src: &[f32], n: usize, m: usize) -> Vec<f32> {
    let scale = n as f32 / m as f32;
    let axis: Vec<(usize, usize, f32)> = (0..m)
        .map(|o| {
            let pos = (o as f32 + 0.5) * scale - 0.5;
            let lo = pos.floor();
            let lower = lo.max(0.0) as usize;
            let upper = (pos.ceil() as isize).clamp(0, n as isize - 1) as usize;
            (lower, upper, pos - lo)
        })
        .collect();
    let mut out = Vec::with_capacity(m * m);
    for &(y0, y1, wy) in &axis {
        for &(x0, x1, wx) in &axis {
            let top = src[y0 * n + x0] + (src[y0 * n + x1] - src[y0 * n + x0]) * wx;
            let bottom = src[y1 * n + x0] + (src[y1 * n + x1] - src[y1 * n + x0]) * wx;
            out.push(top + (bottom - top) * wy);
        }
    }
    out
}

/// The noise fields on a device, ready to be looked up by batches of points.
#[derive(Clone, Debug)]
pub struct Noise {
    lookup: Lookup,
    coarse: Tensor<1>,
    fine: Tensor<1>,
    /// Per axis, `(-lo, GRID / (hi - lo))`: a coordinate's position in cell units is
    /// `(v + -lo) * scale`.
    axes: [(f32, f32); 2],
}

impl Noise {
    /// Draws the fields of `spec`, spreads them over `domain` and uploads them to `device`.
    pub(crate) fn new(spec: NoiseSpec, domain: Domain, device: &Device) -> Self {
        let field = match spec.lookup {
            // Nothing is looked up: no need to draw.
            Lookup::Off => NoiseField {
                coarse: vec![0.0],
                fine: vec![0.0],
            },
            _ => NoiseField::generate(spec.seed),
        };
        Self::from_field(&field, spec.lookup, domain, device)
    }

    /// Uploads an existing draw, spread over `domain`.
    pub(crate) fn from_field(field: &NoiseField, lookup: Lookup, domain: Domain, device: &Device) -> Self {
        let upload = |v: &Vec<f32>| Tensor::<1>::from_data(TensorData::new(v.clone(), [v.len()]), device);
        let axis = |[lo, hi]: [f64; 2]| ((-lo) as f32, (GRID as f64 / (hi - lo)) as f32);
        Noise {
            lookup,
            coarse: upload(&field.coarse),
            fine: upload(&field.fine),
            axes: [axis(domain.x), axis(domain.y)],
        }
    }

    /// The noise terms `(r, c)` at a batch of points given as `x` and `y` columns `[N]`.
    pub(crate) fn terms(&self, x: &Tensor<1>, y: &Tensor<1>) -> (Tensor<1>, Tensor<1>) {
        match self.lookup {
            Lookup::Off => (x.zeros_like(), x.zeros_like()),
            Lookup::Nearest => {
                let flat = cell(x, self.axes[0]).mul_scalar(GRID as i64).add(cell(y, self.axes[1]));
                (
                    self.coarse.clone().select(0, flat.clone()),
                    self.fine.clone().select(0, flat),
                )
            }
            Lookup::Bilinear => {
                let (i0, fx) = corner(x, self.axes[0]);
                let (j0, fy) = corner(y, self.axes[1]);
                let flat = i0.mul_scalar(GRID as i64).add(j0);
                let blend = |field: &Tensor<1>| {
                    let at = |di: i64, dj: i64| field.clone().select(0, flat.clone().add_scalar(di * GRID as i64 + dj));
                    let (v00, v10, v01, v11) = (at(0, 0), at(1, 0), at(0, 1), at(1, 1));
                    let cross = v11 - v10.clone() - v01.clone() + v00.clone();
                    v00.clone()
                        + (v10 - v00.clone()) * fx.clone()
                        + (v01 - v00) * fy.clone()
                        + cross * fx.clone() * fy.clone()
                };
                (blend(&self.coarse), blend(&self.fine))
            }
        }
    }
}

/// Position of a coordinate in cell units, `(v - lo) GRID / (hi - lo)`, computed as the post
/// does for its box (`(v + 10) * 10`).
fn cell_units(v: Tensor<1>, (neg_lo, scale): (f32, f32)) -> Tensor<1> {
    v.add_scalar(neg_lo).mul_scalar(scale)
}

/// Clamps to `[lo, hi]`, sending NaN (a diverged point) to `lo`, so that indices stay valid.
fn clamp_finite(v: Tensor<1>, lo: f32, hi: f32) -> Tensor<1> {
    v.clone().mask_fill(v.is_nan(), lo).clamp(lo, hi)
}

/// The cell a coordinate falls in, clipped to the mesh; no gradient.
fn cell(v: &Tensor<1>, axis: (f32, f32)) -> Tensor<1, Int> {
    clamp_finite(
        cell_units(crate::capture::detach(v.clone()), axis).floor(),
        0.0,
        (GRID - 1) as f32,
    )
    .int()
}

/// The lower mesh index around a coordinate (no gradient) and the fraction past it (with
/// gradient), both clipped so that the four corners stay on the mesh.
fn corner(v: &Tensor<1>, axis: (f32, f32)) -> (Tensor<1, Int>, Tensor<1>) {
    let units = clamp_finite(cell_units(v.clone(), axis), 0.0, (GRID - 1) as f32);
    let lower = clamp_finite(crate::capture::detach(units.clone()).floor(), 0.0, (GRID - 2) as f32);
    let frac = units - lower.clone();
    (lower.int(), frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resize_matches_tensorflow_half_pixel_bilinear() {
        // tf.image.resize([[1, 2], [3, 4]], (4, 4), method="bilinear")
        let out = resize_bilinear(&[1.0, 2.0, 3.0, 4.0], 2, 4);
        let expected = [
            1.0, 1.25, 1.75, 2.0, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3.0, 3.25, 3.75, 4.0,
        ];
        assert_eq!(out, expected);
    }

    #[test]
    fn mesh_spans_minus_ten_to_ten_by_tenths() {
        assert_eq!(mesh_coord(0), -10.0);
        assert!((mesh_coord(100) - 0.0).abs() < 1e-6);
        assert!((mesh_coord(GRID - 1) - 9.9).abs() < 1e-5);
    }
}
