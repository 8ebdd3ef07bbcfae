//! The contour view (`"plot": {"view": "contour"}`): the surface seen from above as filled
//! contours in the "cool" colormap with level lines, over the domain's axes, with a marker at
//! each known minimum and each run's start. Runs, dots and losses are drawn as on the 3D view.
//!
//! Levels are evenly spaced in the value, or in `log10(z - z_min + delta)` when the surface spans
//! decades (most of it far below its maximum, as Rosenbrock's valley), so that the low ground
//! still shows its shape.

use super::Metrics;
use super::axes2d::{Axes2d, Room};
use super::canvas::{Canvas, Cap, Stroke};
use super::colormap::{self, Rgb, WHITE};
use super::target::{Image, Target};
use crate::error::Result;
use crate::surface::noise::GRID;
use crate::surface::{Domain, Surface};

/// Number of filled bands.
const BANDS: usize = 14;
/// Minimum markers: black.
pub(crate) const MINIMUM: Rgb = [0, 0, 0];

/// How values map to level positions.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Scale {
    Linear,
    /// `log10(z - zmin + delta)`.
    Log {
        zmin: f64,
        delta: f64,
    },
}

/// The level boundaries of a mesh: `BANDS + 1` values of the scaled surface.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Levels {
    scale: Scale,
    bounds: Vec<f64>,
}

impl Levels {
    /// Levels for a mesh: logarithmic when the 5th percentile lies more than two decades below
    /// the range above the minimum, linear otherwise.
    pub(crate) fn new(mesh: &[f32]) -> Levels {
        let mut finite: Vec<f64> = mesh.iter().filter(|z| z.is_finite()).map(|&z| z as f64).collect();
        if finite.is_empty() {
            finite.push(0.0);
        }
        finite.sort_by(f64::total_cmp);
        let (zmin, zmax) = (finite[0], finite[finite.len() - 1]);
        let q05 = finite[finite.len() / 20] - zmin;
        let range = zmax - zmin;
        let scale = if range > 0.0 && q05 > 0.0 && range / q05 > 100.0 {
            Scale::Log {
                zmin,
                delta: q05 * 0.05,
            }
        } else {
            Scale::Linear
        };
        let levels = Levels {
            scale,
            bounds: Vec::new(),
        };
        let (lo, hi) = (levels.scaled(zmin), levels.scaled(zmax));
        let hi = if hi > lo { hi } else { lo + 1.0 };
        Levels {
            bounds: (0..=BANDS).map(|k| lo + (hi - lo) * k as f64 / BANDS as f64).collect(),
            ..levels
        }
    }

    /// True when the levels are logarithmic.
    #[cfg(test)]
    fn is_log(&self) -> bool {
        matches!(self.scale, Scale::Log { .. })
    }

    fn scaled(&self, z: f64) -> f64 {
        match self.scale {
            Scale::Linear => z,
            Scale::Log { zmin, delta } => ((z - zmin).max(0.0) + delta).log10(),
        }
    }

    /// The band of value `z` (0 to `BANDS - 1`), `None` for NaN.
    pub(crate) fn band(&self, z: f64) -> Option<usize> {
        if z.is_nan() {
            return None;
        }
        let s = self.scaled(z);
        let k = self.bounds[1..BANDS].partition_point(|&b| b <= s);
        Some(k.min(BANDS - 1))
    }

    /// The fill colour of band `k`.
    pub(crate) fn color(k: usize) -> Rgb {
        colormap::cool((k as f64 + 0.5) / BANDS as f64)
    }

    /// The inner level values (between bands), in the surface's own units.
    pub(crate) fn lines(&self) -> Vec<f64> {
        self.bounds[1..BANDS]
            .iter()
            .map(|&s| match self.scale {
                Scale::Linear => s,
                Scale::Log { zmin, delta } => 10f64.powf(s) - delta + zmin,
            })
            .collect()
    }
}

/// The axes of a contour figure and where a point of the surface lands.
pub struct ContourLayout {
    axes: Axes2d,
    domain: Domain,
    m: Metrics,
}

impl ContourLayout {
    /// Lays out a `w` x `h` figure over `domain`.
    pub fn new(w: usize, h: usize, domain: Domain) -> Self {
        Self::with_room(w, h, domain, Room::default())
    }

    /// Lays out a `w` x `h` figure over `domain` with `room` (axis titles) besides the ticks.
    pub(crate) fn with_room(w: usize, h: usize, domain: Domain, room: Room) -> Self {
        ContourLayout {
            axes: Axes2d::new(w, h, domain.x, domain.y, room),
            domain,
            m: Metrics::new(w, h),
        }
    }

    /// The pixel of data point `(x, y)` (NaN for non-finite input).
    pub fn to_pixel(&self, x: f64, y: f64) -> [f64; 2] {
        [self.axes.x(x), self.axes.y(y)]
    }

    /// The plot area as a clip rectangle.
    pub(crate) fn clip(&self) -> super::canvas::Rect {
        self.axes.clip()
    }

    /// The plot area `[x0, y0, x1, y1]` in pixels.
    pub fn area(&self) -> [f64; 4] {
        self.axes.area
    }

    /// The mesh value at data point `(x, y)`, bilinear between mesh points (clamped to the mesh).
    fn sample(&self, mesh: &[f32], x: f64, y: f64) -> f64 {
        let g = GRID as f64;
        let pos = |v: f64, [lo, hi]: [f64; 2]| ((v - lo) / (hi - lo) * g).clamp(0.0, g - 1.0);
        let (u, v) = (pos(x, self.domain.x), pos(y, self.domain.y));
        let (i0, j0) = ((u.floor() as usize).min(GRID - 2), (v.floor() as usize).min(GRID - 2));
        let (fu, fv) = (u - i0 as f64, v - j0 as f64);
        let at = |i: usize, j: usize| mesh[i * GRID + j] as f64;
        let a = at(i0, j0) + (at(i0 + 1, j0) - at(i0, j0)) * fu;
        let b = at(i0, j0 + 1) + (at(i0 + 1, j0 + 1) - at(i0, j0 + 1)) * fu;
        a + (b - a) * fv
    }

    /// The filled contours over the plot area, a pixel a cell.
    fn fill(&self, levels: &Levels, mesh: &[f32]) -> Image {
        let (w, h) = (self.m.w, self.m.h);
        let [x0, y0, x1, y1] = self.axes.area;
        let (xw, yh) = (self.domain.x[1] - self.domain.x[0], self.domain.y[1] - self.domain.y[0]);
        let (cx0, cy0) = (x0.ceil().max(0.0) as usize, y0.ceil().max(0.0) as usize);
        let (cx1, cy1) = ((x1.floor() as usize).min(w), (y1.floor() as usize).min(h));
        let mut img = Image::new(cx0, cy0, cx1.saturating_sub(cx0), cy1.saturating_sub(cy0));
        for py in cy0..cy1 {
            let y = self.domain.y[1] - (py as f64 + 0.5 - y0) / (y1 - y0) * yh;
            for px in cx0..cx1 {
                let x = self.domain.x[0] + (px as f64 + 0.5 - x0) / (x1 - x0) * xw;
                let color = levels.band(self.sample(mesh, x, y)).map_or(WHITE, Levels::color);
                let o = ((py - cy0) * img.w + px - cx0) * 4;
                img.rgba[o..o + 3].copy_from_slice(&color);
                img.rgba[o + 3] = 255;
            }
        }
        img
    }

    /// The figure without runs: frame, filled contours, level lines, minima and start markers.
    pub(crate) fn draw_static(
        &self,
        c: &mut dyn Target,
        mesh: &[f32],
        minima: &[[f64; 2]],
        starts: &[([f64; 2], Rgb)],
    ) {
        self.axes.draw_frame(c, true);
        let levels = Levels::new(mesh);
        c.image(&self.fill(&levels, mesh));
        c.set_clip(Some(self.axes.clip()));
        let line = Stroke {
            color: [40, 40, 60],
            alpha: 0.45,
            width: self.m.pt(0.6),
            dash: None,
            cap: Cap::Round,
        };
        for level in levels.lines() {
            let segments: Vec<Vec<[f64; 2]>> = iso_segments(mesh, self.domain, level)
                .iter()
                .map(|seg| vec![self.to_pixel(seg[0][0], seg[0][1]), self.to_pixel(seg[1][0], seg[1][1])])
                .collect();
            c.stroke_all(&segments, &line);
        }
        for &(p, color) in starts {
            let q = self.to_pixel(p[0], p[1]);
            c.disc(q, self.m.pt(5.0), WHITE, 1.0);
            c.stroke(
                &circle(q, self.m.pt(4.0)),
                &Stroke {
                    color,
                    alpha: 1.0,
                    width: self.m.pt(1.6),
                    dash: None,
                    cap: Cap::Round,
                },
            );
        }
        for p in minima {
            self.minimum_marker(c, *p);
        }
        c.set_clip(None);
    }

    /// A star of four strokes, black with a white halo, at a known minimum.
    pub(super) fn minimum_marker(&self, c: &mut dyn Target, p: [f64; 2]) {
        let q = self.to_pixel(p[0], p[1]);
        star(
            c,
            q,
            self.m.pt(5.0),
            [(WHITE, self.m.pt(3.2)), (MINIMUM, self.m.pt(1.4))],
        );
    }
}

/// A star of four strokes of radius `r` at pixel `q`, each `(colour, width)` layer over the last
/// (a halo, then the mark): how figures mark a known minimum.
pub(super) fn star(c: &mut dyn Target, q: [f64; 2], r: f64, layers: [(Rgb, f64); 2]) {
    let arms: Vec<[[f64; 2]; 2]> = (0..4)
        .map(|k| {
            let a = std::f64::consts::FRAC_PI_4 * k as f64;
            let (s, co) = a.sin_cos();
            [[q[0] - r * co, q[1] - r * s], [q[0] + r * co, q[1] + r * s]]
        })
        .collect();
    for (color, width) in layers {
        for arm in &arms {
            c.stroke(arm, &Stroke::solid(color, width));
        }
    }
}

/// A surface seen from above as a PNG, and where its data coordinates land on the image: what
/// the report's interactive views draw runs over.
#[derive(Clone, Debug)]
pub struct ContourImage {
    /// PNG bytes.
    pub png: Vec<u8>,
    /// `[width, height]` in pixels.
    pub size: [usize; 2],
    /// The plot area `[x0, y0, x1, y1]` in pixels: `domain.x[0]` is at column `x0`,
    /// `domain.x[1]` at `x1`, `domain.y[1]` at row `y0` (the top) and `domain.y[0]` at `y1`.
    pub area: [f64; 4],
    /// The data rectangle the area shows.
    pub domain: Domain,
}

impl ContourImage {}

/// `surface` from above over its domain as a `size[0]` x `size[1]` PNG: the contour view's
/// filled contours, level lines, axes and a star at each known minimum, without runs. `mesh` is
/// `surface` on the mesh of its domain (`Surface::on_mesh`).
pub fn contour_image(surface: &Surface, mesh: &[f32], size: [usize; 2]) -> Result<ContourImage> {
    super::text::check_fonts()?;
    let layout = ContourLayout::new(size[0], size[1], surface.domain);
    let minima: Vec<[f64; 2]> = surface.minima().map(|s| s.point).collect();
    let mut canvas = Canvas::new(size[0], size[1]);
    layout.draw_static(&mut canvas, mesh, &minima, &[]);
    Ok(ContourImage {
        png: super::encode::png(&canvas)?,
        size,
        area: layout.area(),
        domain: surface.domain,
    })
}

/// A path's point: a disc in its run's colour, or, off the plane the path is drawn on, a
/// hollow ring (`width` its line).
pub(super) fn point_mark(t: &mut dyn Target, at: [f64; 2], radius: f64, color: Rgb, off: bool, width: f64) {
    if off {
        t.disc(at, radius, WHITE, 0.8);
        t.stroke(&circle(at, radius), &Stroke::solid(color, width));
    } else {
        t.disc(at, radius, color, 1.0);
    }
}

/// A closed polyline approximating a circle.
pub(super) fn circle(c: [f64; 2], r: f64) -> Vec<[f64; 2]> {
    (0..=32)
        .map(|k| {
            let a = std::f64::consts::TAU * k as f64 / 32.0;
            [c[0] + r * a.cos(), c[1] + r * a.sin()]
        })
        .collect()
}

/// The segments where the mesh crosses `level`, by marching squares (saddle cells resolved by
/// the cell's mean), in data coordinates.
pub(crate) fn iso_segments(mesh: &[f32], domain: Domain, level: f64) -> Vec<[[f64; 2]; 2]> {
    let coord = |axis: usize, k: f64| {
        let [lo, hi] = domain.axis(axis);
        lo + k * (hi - lo) / GRID as f64
    };
    let mut out = Vec::new();
    for i in 0..GRID - 1 {
        for j in 0..GRID - 1 {
            // Corners counter-clockwise from (i, j): values and positions in mesh units.
            let corners = [(i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1)];
            let z = corners.map(|(a, b)| mesh[a * GRID + b] as f64);
            if z.iter().any(|v| !v.is_finite()) {
                continue;
            }
            let above = z.map(|v| v > level);
            // Crossing points on the edges whose ends disagree (none allocated: this runs for
            // every cell of every level).
            let mut cross = [[0.0; 2]; 4];
            let mut n = 0;
            for e in 0..4 {
                let (a, b) = (e, (e + 1) % 4);
                if above[a] != above[b] {
                    let t = (level - z[a]) / (z[b] - z[a]);
                    let (pa, pb) = (corners[a], corners[b]);
                    let u = pa.0 as f64 + t * (pb.0 as f64 - pa.0 as f64);
                    let v = pa.1 as f64 + t * (pb.1 as f64 - pa.1 as f64);
                    cross[n] = [coord(0, u), coord(1, v)];
                    n += 1;
                }
            }
            match n {
                2 => out.push([cross[0], cross[1]]),
                4 => {
                    // A saddle cell: pair the crossings so that the mean's side stays connected.
                    let mean_above = z.iter().sum::<f64>() / 4.0 > level;
                    if mean_above == above[0] {
                        out.push([cross[0], cross[3]]);
                        out.push([cross[1], cross[2]]);
                    } else {
                        out.push([cross[0], cross[1]]);
                        out.push([cross[2], cross[3]]);
                    }
                }
                _ => {}
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bowl(scale: f64) -> Vec<f32> {
        let d = Domain::POST;
        let mut mesh = Vec::with_capacity(GRID * GRID);
        for i in 0..GRID {
            for j in 0..GRID {
                let (x, y) = (d.mesh_coord(0, i) as f64, d.mesh_coord(1, j) as f64);
                mesh.push((scale * (x * x + y * y)) as f32);
            }
        }
        mesh
    }

    #[test]
    fn bowls_are_linear_and_valleys_logarithmic() {
        assert!(!Levels::new(&bowl(1.0)).is_log());
        // A Rosenbrock-like valley: tiny almost everywhere near a curve, huge at the edges.
        let d = Domain::from([[-2.0, 2.0], [-1.0, 3.0]]);
        let mut mesh = Vec::new();
        for i in 0..GRID {
            for j in 0..GRID {
                let (x, y) = (d.mesh_coord(0, i) as f64, d.mesh_coord(1, j) as f64);
                mesh.push(((1.0 - x).powi(2) + 100.0 * (y - x * x).powi(2)) as f32);
            }
        }
        let levels = Levels::new(&mesh);
        assert!(levels.is_log());
        // Bands increase with the value and cover the range.
        assert_eq!(levels.band(0.0), Some(0));
        assert_eq!(levels.band(1e9), Some(BANDS - 1));
        assert!(levels.band(1.0) < levels.band(100.0));
        assert_eq!(levels.band(f64::NAN), None);
    }

    #[test]
    fn iso_lines_of_a_bowl_are_circles() {
        let mesh = bowl(1.0);
        let segments = iso_segments(&mesh, Domain::POST, 25.0);
        assert!(segments.len() > 50);
        for s in segments {
            for p in s {
                let r = (p[0] * p[0] + p[1] * p[1]).sqrt();
                assert!((r - 5.0).abs() < 0.05, "{p:?} is not on the circle of radius 5");
            }
        }
    }
}
