//! What a figure's layout draws into. Layout code (axes, surfaces, runs, legends, labels) works
//! out every position in pixels and hands the target primitives: strokes, discs, polygons,
//! rounded rectangles, positioned text and raster images. The raster [`Canvas`] paints them
//! (the PNG and the GIF frames); [`Svg`] writes them as vector elements, so a figure's PNG and
//! SVG come from one layout.
//!
//! [`Canvas`]: super::canvas::Canvas
//! [`Svg`]: super::svg::Svg

use super::canvas::{Rect, Stroke};
use super::colormap::Rgb;
use super::text::Span;

/// A positioned piece of text: its spans start at `x` on the baseline `base`, `em` pixels per
/// em, reading left to right, or bottom to top when `up` (turned a quarter anticlockwise about
/// `(x, base)`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Glyphs<'a> {
    /// The runs of text, each in its face, size and baseline shift.
    pub spans: &'a [Span<'a>],
    /// Pixels per em.
    pub em: f32,
    /// Where the first glyph starts.
    pub x: f64,
    /// The baseline.
    pub base: f64,
    /// Colour.
    pub color: Rgb,
    /// Opacity.
    pub alpha: f32,
    /// Reads bottom to top (a y-axis title).
    pub up: bool,
}

/// A raster layer placed at whole pixels: straight (not premultiplied) RGBA, row by row.
#[derive(Clone, Debug)]
pub(crate) struct Image {
    /// Left column on the figure.
    pub x0: usize,
    /// Top row on the figure.
    pub y0: usize,
    /// Width in pixels.
    pub w: usize,
    /// Height in pixels.
    pub h: usize,
    /// `w * h * 4` bytes.
    pub rgba: Vec<u8>,
}

impl Image {
    /// A transparent `w` x `h` image at `(x0, y0)`.
    pub(crate) fn new(x0: usize, y0: usize, w: usize, h: usize) -> Self {
        Image {
            x0,
            y0,
            w,
            h,
            rgba: vec![0; w * h * 4],
        }
    }

    /// The smallest part holding every pixel that is not fully transparent (none when all are).
    pub(crate) fn trimmed(&self) -> Option<Image> {
        let opaque = |x: usize, y: usize| self.rgba[(y * self.w + x) * 4 + 3] != 0;
        let rows: Vec<usize> = (0..self.h).filter(|&y| (0..self.w).any(|x| opaque(x, y))).collect();
        let (&y0, &y1) = (rows.first()?, rows.last()?);
        let x0 = (0..self.w).find(|&x| (y0..=y1).any(|y| opaque(x, y)))?;
        let x1 = (0..self.w).rev().find(|&x| (y0..=y1).any(|y| opaque(x, y)))?;
        let (w, h) = (x1 + 1 - x0, y1 + 1 - y0);
        let mut rgba = Vec::with_capacity(w * h * 4);
        for y in y0..=y1 {
            let row = (y * self.w + x0) * 4;
            rgba.extend_from_slice(&self.rgba[row..row + w * 4]);
        }
        Some(Image {
            x0: self.x0 + x0,
            y0: self.y0 + y0,
            w,
            h,
            rgba,
        })
    }
}

/// A surface a figure is drawn on. Coordinates are pixels of the figure, y down.
pub(crate) trait Target {
    /// Limits drawing to `r`; `None` lifts the limit.
    fn set_clip(&mut self, r: Option<Rect>);
    /// Strokes a polyline; non-finite points break it.
    fn stroke(&mut self, pts: &[[f64; 2]], s: &Stroke);
    /// Strokes many separate polylines in one style (level lines, grids).
    fn stroke_all(&mut self, lines: &[Vec<[f64; 2]>], s: &Stroke) {
        for l in lines {
            self.stroke(l, s);
        }
    }
    /// A filled disc.
    fn disc(&mut self, c: [f64; 2], r: f64, color: Rgb, alpha: f32);
    /// A filled convex polygon.
    fn convex(&mut self, poly: &[[f64; 2]], color: Rgb, alpha: f32);
    /// A rounded rectangle `[x0, y0, x1, y1]` with corner radius `r`: filled, and/or outlined
    /// with a line of `edge.2` pixels.
    fn round_rect(&mut self, b: [f64; 4], r: f64, fill: Option<(Rgb, f32)>, edge: Option<(Rgb, f32, f64)>);
    /// Positioned text.
    fn text(&mut self, g: &Glyphs);
    /// A raster layer blended over what is drawn.
    fn image(&mut self, img: &Image);
    /// Starts a named group of what follows (a run's path and marks); [`end_group`] ends it.
    /// Only vector output keeps groups.
    ///
    /// [`end_group`]: Target::end_group
    fn begin_group(&mut self, _class: &str, _title: &str) {}
    /// Ends the group [`begin_group`](Target::begin_group) started.
    fn end_group(&mut self) {}
}
