//! The image a figure is drawn into: a white RGBA pixmap that tiny-skia draws on (strokes, solid
//! or dashed, discs, convex polygons and rounded rectangles, anti-aliased at float coordinates,
//! alpha-blended, within a clip rectangle), with our record of the rectangles touched since the
//! last reset (what an animation frame changed).
//!
//! The canvas is opaque: its background is white and everything is blended over it, so its
//! premultiplied RGBA bytes are plain RGB plus an alpha of 255.

use super::colormap::Rgb;
use super::target::{Glyphs, Image, Target};
use tiny_skia::{FillRule, LineCap, LineJoin, Mask, Paint, Path, PathBuilder, Pixmap, StrokeDash, Transform};

/// A pixel rectangle `[x0, x1) x [y0, y1)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rect {
    /// Left column.
    pub x0: usize,
    /// Top row.
    pub y0: usize,
    /// One past the right column.
    pub x1: usize,
    /// One past the bottom row.
    pub y1: usize,
}

impl Rect {
    /// The smallest rectangle holding both.
    pub(crate) fn union(self, o: Rect) -> Rect {
        if self.is_empty() {
            return o;
        }
        if o.is_empty() {
            return self;
        }
        Rect {
            x0: self.x0.min(o.x0),
            y0: self.y0.min(o.y0),
            x1: self.x1.max(o.x1),
            y1: self.y1.max(o.y1),
        }
    }

    /// True when it holds no pixel.
    pub(crate) fn is_empty(&self) -> bool {
        self.x1 <= self.x0 || self.y1 <= self.y0
    }

    /// The empty rectangle.
    pub(crate) const EMPTY: Rect = Rect {
        x0: 0,
        y0: 0,
        x1: 0,
        y1: 0,
    };
}

/// Line end style.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cap {
    /// Round ends and joins (trajectories, chart lines).
    Round,
    /// Square-cut ends (dashes, ticks).
    Butt,
}

/// How to stroke a path.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Stroke {
    /// Colour.
    pub color: Rgb,
    /// Opacity in `[0, 1]`.
    pub alpha: f32,
    /// Width in pixels.
    pub width: f64,
    /// `[on, off]` lengths in pixels for a dashed line.
    pub dash: Option<[f64; 2]>,
    /// End style.
    pub cap: Cap,
}

impl Stroke {
    /// A solid, opaque, round-capped stroke.
    pub(crate) fn solid(color: Rgb, width: f64) -> Self {
        Stroke {
            color,
            alpha: 1.0,
            width,
            dash: None,
            cap: Cap::Round,
        }
    }

    /// tiny-skia's stroke: round joins; dashes have butt ends.
    fn skia(&self) -> Option<tiny_skia::Stroke> {
        let dash = match self.dash {
            Some([on, off]) if on > 0.0 && off >= 0.0 => Some(StrokeDash::new(vec![on as f32, off as f32], 0.0)?),
            _ => None,
        };
        let line_cap = match (self.cap, dash.is_some()) {
            (Cap::Round, false) => LineCap::Round,
            _ => LineCap::Butt,
        };
        Some(tiny_skia::Stroke {
            width: self.width as f32,
            line_cap,
            line_join: LineJoin::Round,
            dash,
            ..tiny_skia::Stroke::default()
        })
    }
}

/// A solid anti-aliased paint.
fn paint(color: Rgb, alpha: f32) -> Paint<'static> {
    let mut p = Paint::default();
    let [r, g, b] = color.map(|c| c as f32 / 255.0);
    p.set_color(tiny_skia::Color::from_rgba(r, g, b, alpha.clamp(0.0, 1.0)).unwrap_or(tiny_skia::Color::BLACK));
    p
}

/// An RGBA image being drawn (opaque: alpha is always 255).
#[derive(Clone)]
pub(crate) struct Canvas {
    /// Width in pixels.
    pub w: usize,
    /// Height in pixels.
    pub h: usize,
    pix: Pixmap,
    clip: Rect,
    /// The clip as a tiny-skia mask, while the clip is not the whole canvas (kept for reuse).
    clip_mask: Option<(Rect, Mask)>,
    dirty: Vec<Rect>,
    pending: Rect,
}

impl Canvas {
    /// A white canvas.
    ///
    /// # Panics
    /// When `w` or `h` is zero or too large for a pixmap (figure sizes are validated before).
    pub(crate) fn new(w: usize, h: usize) -> Self {
        let mut pix = Pixmap::new(w as u32, h as u32).expect("a figure of a valid size");
        pix.fill(tiny_skia::Color::WHITE);
        Canvas {
            w,
            h,
            pix,
            clip: Rect {
                x0: 0,
                y0: 0,
                x1: w,
                y1: h,
            },
            clip_mask: None,
            dirty: Vec::new(),
            pending: Rect::EMPTY,
        }
    }

    /// The pixels as RGBA bytes, row by row (alpha is 255).
    pub(crate) fn rgba(&self) -> &[u8] {
        self.pix.data()
    }

    /// The pixels as RGB bytes, row by row.
    pub(crate) fn rgb(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.w * self.h * 3);
        for p in self.pix.data().chunks_exact(4) {
            out.extend_from_slice(&p[..3]);
        }
        out
    }

    /// Runs a tiny-skia drawing call on the pixmap with the clip as its mask (none when the clip
    /// is the whole canvas; the mask is built once per clip rectangle).
    fn draw(&mut self, f: impl FnOnce(&mut Pixmap, Option<&Mask>)) {
        let c = self.clip;
        if c == (Rect {
            x0: 0,
            y0: 0,
            x1: self.w,
            y1: self.h,
        }) {
            return f(&mut self.pix, None);
        }
        if self.clip_mask.as_ref().is_none_or(|(r, _)| *r != c) {
            let Some(mut m) = Mask::new(self.w as u32, self.h as u32) else {
                return;
            };
            if !c.is_empty() {
                for row in m.data_mut().chunks_exact_mut(self.w).take(c.y1).skip(c.y0) {
                    row[c.x0..c.x1].fill(255);
                }
            }
            self.clip_mask = Some((c, m));
        }
        f(&mut self.pix, self.clip_mask.as_ref().map(|(_, m)| m));
    }

    /// The rectangles drawn into since the last call (and resets them).
    pub(crate) fn take_dirty(&mut self) -> Vec<Rect> {
        self.flush_marks();
        std::mem::take(&mut self.dirty)
    }

    /// Copies the pixels of the rectangles `rs` from `src` (a canvas of the same size).
    pub(crate) fn restore(&mut self, src: &Canvas, rs: &[Rect]) {
        let w = self.w;
        let (dst, src) = (self.pix.data_mut(), src.pix.data());
        for r in rs {
            let (x1, y1) = (r.x1.min(w), r.y1.min(self.h));
            if x1 <= r.x0 || y1 <= r.y0 {
                continue;
            }
            for y in r.y0..y1 {
                let (a, b) = ((y * w + r.x0) * 4, (y * w + x1) * 4);
                dst[a..b].copy_from_slice(&src[a..b]);
            }
        }
    }

    /// Blends `color` at opacity `a` over pixel `(x, y)`, if inside the clip (text is drawn
    /// this way, glyph coverage a pixel at a time).
    #[inline]
    pub(crate) fn blend(&mut self, x: i64, y: i64, color: Rgb, a: f32) {
        if x < self.clip.x0 as i64
            || y < self.clip.y0 as i64
            || x >= self.clip.x1 as i64
            || y >= self.clip.y1 as i64
            || a <= 0.0
        {
            return;
        }
        let (x, y) = (x as usize, y as usize);
        self.blend_index(y * self.w + x, color, a);
        self.mark(x, y);
    }

    /// Records the pixels [`blend`](Self::blend) touched as one changed rectangle.
    pub(crate) fn flush_marks(&mut self) {
        let p = std::mem::replace(&mut self.pending, Rect::EMPTY);
        self.mark_rect(p);
    }

    #[inline]
    fn blend_index(&mut self, i: usize, color: Rgb, a: f32) {
        let o = i * 4;
        let a = (a.min(1.0) * 255.0 + 0.5) as u32;
        for (p, &c) in self.pix.data_mut()[o..o + 3].iter_mut().zip(&color) {
            let v = *p as u32 * (255 - a) + c as u32 * a + 128;
            *p = ((v + (v >> 8)) >> 8) as u8;
        }
    }

    #[inline]
    fn mark(&mut self, x: usize, y: usize) {
        let d = &mut self.pending;
        if d.is_empty() {
            *d = Rect {
                x0: x,
                y0: y,
                x1: x + 1,
                y1: y + 1,
            };
        } else {
            d.x0 = d.x0.min(x);
            d.y0 = d.y0.min(y);
            d.x1 = d.x1.max(x + 1);
            d.y1 = d.y1.max(y + 1);
        }
    }

    /// Records a changed rectangle, merged with those it touches (a few separate rectangles
    /// are cheaper to copy and compare than their common bounding box).
    fn mark_rect(&mut self, r: Rect) {
        if r.is_empty() {
            return;
        }
        let near = |a: &Rect, b: &Rect| a.x0 <= b.x1 + 4 && b.x0 <= a.x1 + 4 && a.y0 <= b.y1 + 4 && b.y0 <= a.y1 + 4;
        let mut r = r;
        while let Some(i) = self.dirty.iter().position(|d| near(d, &r)) {
            r = r.union(self.dirty.swap_remove(i));
        }
        self.dirty.push(r);
        if self.dirty.len() > 32 {
            let all = self.dirty.drain(..).fold(Rect::EMPTY, Rect::union);
            self.dirty.push(all);
        }
    }

    /// The clip rectangle intersected with a float box grown by `pad` pixels.
    fn clipped_box(&self, x0: f64, y0: f64, x1: f64, y1: f64, pad: f64) -> Option<Rect> {
        let c = self.clip;
        let fx0 = (x0 - pad).floor().max(c.x0 as f64);
        let fy0 = (y0 - pad).floor().max(c.y0 as f64);
        let fx1 = (x1 + pad).ceil().min(c.x1 as f64);
        let fy1 = (y1 + pad).ceil().min(c.y1 as f64);
        if !(fx0 < fx1 && fy0 < fy1) {
            return None;
        }
        Some(Rect {
            x0: fx0 as usize,
            y0: fy0 as usize,
            x1: fx1 as usize,
            y1: fy1 as usize,
        })
    }

    /// Records the path's bounds grown by `pad` (within the clip) as changed.
    fn mark_path(&mut self, path: &Path, pad: f64) {
        let b = path.bounds();
        let (x0, y0, x1, y1) = (b.left() as f64, b.top() as f64, b.right() as f64, b.bottom() as f64);
        if let Some(r) = self.clipped_box(x0, y0, x1, y1, pad) {
            self.mark_rect(r);
        }
    }

    /// The part of polyline `pts` that can show, as a path: non-finite points break it, and each
    /// segment is cut to the clip grown by `pad` (so that far-away points stay within float
    /// range).
    fn polyline(&self, pts: &[[f64; 2]], pad: f64) -> Option<Path> {
        let mut pb = PathBuilder::new();
        for piece in visible_pieces(pts, self.clip, pad) {
            pb.move_to(piece[0][0] as f32, piece[0][1] as f32);
            for q in &piece[1..] {
                pb.line_to(q[0] as f32, q[1] as f32);
            }
        }
        pb.finish()
    }

    /// Extends a stroked polyline by its segment `a`-`b`, given its previous segment: the result
    /// is what stroking the whole polyline at once gives where the two segments meet (the
    /// coverage of the joined path, not the two segments blended twice), so a growing path can be
    /// drawn one segment per frame.
    pub(crate) fn extend(&mut self, prev: Option<([f64; 2], [f64; 2])>, a: [f64; 2], b: [f64; 2], s: &Stroke) {
        if !(s.width > 0.0 && s.alpha > 0.0) {
            return;
        }
        let pad = s.width / 2.0 + 2.0;
        let Some((t0, t1)) = clip_segment(self.clip, a, b, pad) else {
            return;
        };
        let at = |t: f64| [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t];
        let (p, q) = (at(t0), at(t1));
        let Some(bb) = self.clipped_box(
            p[0].min(q[0]),
            p[1].min(q[1]),
            p[0].max(q[0]),
            p[1].max(q[1]),
            s.width / 2.0 + 1.0,
        ) else {
            return;
        };
        let Some(stroke) = Stroke { dash: None, ..*s }.skia() else {
            return;
        };
        // Coverage over `bb` of the path up to `a` (its previous segment) and of the path up
        // to `b`.
        let (bw, bh) = (bb.x1 - bb.x0, bb.y1 - bb.y0);
        let to_bb = Transform::from_translate(-(bb.x0 as f32), -(bb.y0 as f32));
        let coverage = |pts: &[[f64; 2]]| -> Option<Mask> {
            let outline = self.polyline(pts, pad)?.stroke(&stroke, 1.0)?;
            let mut m = Mask::new(bw as u32, bh as u32)?;
            m.fill_path(&outline, FillRule::Winding, true, to_bb);
            Some(m)
        };
        let prev = prev.filter(|(u, v)| u[0].is_finite() && u[1].is_finite() && v[0].is_finite() && v[1].is_finite());
        let (before, after) = match prev {
            // The previous segment ends where this one starts (else they are drawn as two
            // pieces: the NaN breaks the path).
            Some((u, v)) if v == a => (coverage(&[u, v]), coverage(&[u, v, b])),
            Some((u, v)) => (coverage(&[u, v]), coverage(&[u, v, [f64::NAN; 2], a, b])),
            None => (None, coverage(&[a, b])),
        };
        let Some(after) = after else {
            return;
        };
        let alpha = s.alpha.min(1.0);
        for y in 0..bh {
            for x in 0..bw {
                let i = y * bw + x;
                let cov_before = before.as_ref().map_or(0.0, |m| m.data()[i] as f32 / 255.0);
                let cov_after = after.data()[i] as f32 / 255.0;
                if cov_after > cov_before && cov_before < 1.0 {
                    let add = (cov_after - cov_before) * alpha / (1.0 - cov_before * alpha);
                    self.blend_index((bb.y0 + y) * self.w + bb.x0 + x, s.color, add);
                    self.mark(bb.x0 + x, bb.y0 + y);
                }
            }
        }
        self.flush_marks();
    }

    /// Fills `path` and records its bounds as changed.
    fn fill(&mut self, path: &Path, color: Rgb, alpha: f32) {
        let paint = paint(color, alpha);
        self.draw(|pix, mask| pix.fill_path(path, &paint, FillRule::Winding, Transform::identity(), mask));
        self.mark_path(path, 1.0);
    }

    /// Blends a straight-alpha image over the canvas (within the clip) and records it as changed.
    fn blend_image(&mut self, img: &Image) {
        let c = self.clip;
        let (x0, y0) = (img.x0.max(c.x0), img.y0.max(c.y0));
        let (x1, y1) = ((img.x0 + img.w).min(c.x1), (img.y0 + img.h).min(c.y1));
        if x1 <= x0 || y1 <= y0 {
            return;
        }
        let w = self.w;
        let px = self.pix.data_mut();
        for y in y0..y1 {
            for x in x0..x1 {
                let s = ((y - img.y0) * img.w + x - img.x0) * 4;
                let a = img.rgba[s + 3] as u32;
                let o = (y * w + x) * 4;
                if a == 255 {
                    px[o..o + 3].copy_from_slice(&img.rgba[s..s + 3]);
                } else if a > 0 {
                    for k in 0..3 {
                        let v = img.rgba[s + k] as u32 * a + px[o + k] as u32 * (255 - a) + 127;
                        px[o + k] = (v / 255) as u8;
                    }
                }
            }
        }
        self.mark_rect(Rect { x0, y0, x1, y1 });
    }

    /// Counts pixels in `r` that differ from `other` (a canvas of the same size).
    pub(crate) fn differing(&self, other: &Canvas, r: Rect) -> usize {
        let (a, b) = (self.pix.data(), other.pix.data());
        let mut n = 0;
        for y in r.y0..r.y1.min(self.h) {
            let (s, e) = ((y * self.w + r.x0.min(self.w)) * 4, (y * self.w + r.x1.min(self.w)) * 4);
            n += a[s..e]
                .chunks_exact(4)
                .zip(b[s..e].chunks_exact(4))
                .filter(|(p, q)| p != q)
                .count();
        }
        n
    }
}

impl Target for Canvas {
    /// Limits drawing to `r` (within the canvas); `None` lifts the limit.
    fn set_clip(&mut self, r: Option<Rect>) {
        let full = Rect {
            x0: 0,
            y0: 0,
            x1: self.w,
            y1: self.h,
        };
        self.clip = match r {
            Some(r) => Rect {
                x0: r.x0.min(self.w),
                y0: r.y0.min(self.h),
                x1: r.x1.min(self.w),
                y1: r.y1.min(self.h),
            },
            None => full,
        };
    }

    /// Strokes a polyline; non-finite points break it.
    fn stroke(&mut self, pts: &[[f64; 2]], s: &Stroke) {
        if !(s.width > 0.0 && s.alpha > 0.0) {
            return;
        }
        let pad = s.width / 2.0 + 2.0;
        let (Some(path), Some(stroke)) = (self.polyline(pts, pad), s.skia()) else {
            return;
        };
        let paint = paint(s.color, s.alpha);
        self.draw(|pix, mask| pix.stroke_path(&path, &paint, &stroke, Transform::identity(), mask));
        self.mark_path(&path, s.width / 2.0 + 1.0);
    }

    /// A filled anti-aliased disc.
    fn disc(&mut self, c: [f64; 2], r: f64, color: Rgb, alpha: f32) {
        if !(c[0].is_finite() && c[1].is_finite() && r > 0.0 && alpha > 0.0) {
            return;
        }
        if self.clipped_box(c[0], c[1], c[0], c[1], r + 1.0).is_none() {
            return;
        }
        let Some(path) = PathBuilder::from_circle(c[0] as f32, c[1] as f32, r as f32) else {
            return;
        };
        self.fill(&path, color, alpha);
    }

    /// A filled anti-aliased convex polygon.
    fn convex(&mut self, poly: &[[f64; 2]], color: Rgb, alpha: f32) {
        if poly.len() < 3
            || poly
                .iter()
                .any(|p| !(p[0].is_finite() && p[1].is_finite() && p[0].abs() < 1e7 && p[1].abs() < 1e7))
        {
            return;
        }
        let mut pb = PathBuilder::new();
        pb.move_to(poly[0][0] as f32, poly[0][1] as f32);
        for p in &poly[1..] {
            pb.line_to(p[0] as f32, p[1] as f32);
        }
        pb.close();
        if let Some(path) = pb.finish() {
            self.fill(&path, color, alpha);
        }
    }

    /// A rounded rectangle `[x0, x1] x [y0, y1]` with corner radius `r`: filled, and/or outlined
    /// with a line of `edge.2` pixels.
    fn round_rect(&mut self, b: [f64; 4], r: f64, fill: Option<(Rgb, f32)>, edge: Option<(Rgb, f32, f64)>) {
        let [x0, y0, x1, y1] = b.map(|v| v as f32);
        if !(b.iter().all(|v| v.is_finite() && v.abs() < 1e7) && x0 < x1 && y0 < y1) {
            return;
        }
        let r = (r as f32).min((x1 - x0) / 2.0).min((y1 - y0) / 2.0).max(0.0);
        // A quarter circle as one cubic.
        let k = r * 0.552_284_8;
        let mut pb = PathBuilder::new();
        pb.move_to(x0 + r, y0);
        pb.line_to(x1 - r, y0);
        pb.cubic_to(x1 - r + k, y0, x1, y0 + r - k, x1, y0 + r);
        pb.line_to(x1, y1 - r);
        pb.cubic_to(x1, y1 - r + k, x1 - r + k, y1, x1 - r, y1);
        pb.line_to(x0 + r, y1);
        pb.cubic_to(x0 + r - k, y1, x0, y1 - r + k, x0, y1 - r);
        pb.line_to(x0, y0 + r);
        pb.cubic_to(x0, y0 + r - k, x0 + r - k, y0, x0 + r, y0);
        pb.close();
        let Some(path) = pb.finish() else {
            return;
        };
        if let Some((c, a)) = fill {
            self.fill(&path, c, a);
        }
        if let Some((c, a, w)) = edge
            && w > 0.0
        {
            let stroke = tiny_skia::Stroke {
                width: w as f32,
                line_join: LineJoin::Round,
                ..tiny_skia::Stroke::default()
            };
            let paint = paint(c, a);
            self.draw(|pix, mask| pix.stroke_path(&path, &paint, &stroke, Transform::identity(), mask));
            self.mark_path(&path, w / 2.0 + 1.0);
        }
    }

    fn text(&mut self, g: &Glyphs) {
        super::text::rasterize(self, g);
    }

    fn image(&mut self, img: &Image) {
        self.blend_image(img);
    }
}

/// The parameter range of segment `a`-`b` inside `clip` grown by `pad` (Liang-Barsky);
/// `None` when it is outside or not finite.
fn clip_segment(clip: Rect, a: [f64; 2], b: [f64; 2], pad: f64) -> Option<(f64, f64)> {
    if !(a[0].is_finite() && a[1].is_finite() && b[0].is_finite() && b[1].is_finite()) {
        return None;
    }
    let (xmin, ymin) = (clip.x0 as f64 - pad, clip.y0 as f64 - pad);
    let (xmax, ymax) = (clip.x1 as f64 + pad, clip.y1 as f64 + pad);
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for (p, q) in [
        (-dx, a[0] - xmin),
        (dx, xmax - a[0]),
        (-dy, a[1] - ymin),
        (dy, ymax - a[1]),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let r = q / p;
            if p < 0.0 {
                t0 = t0.max(r);
            } else {
                t1 = t1.min(r);
            }
        }
    }
    (t0 <= t1).then_some((t0, t1))
}

/// The pieces of polyline `pts` that can show inside `clip` grown by `pad`: non-finite points
/// break it, and segments are cut where they leave (so that far-away points stay within float
/// range).
pub(super) fn visible_pieces(pts: &[[f64; 2]], clip: Rect, pad: f64) -> Vec<Vec<[f64; 2]>> {
    let mut out: Vec<Vec<[f64; 2]>> = Vec::new();
    let mut open = false;
    for pair in pts.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let Some((t0, t1)) = clip_segment(clip, a, b, pad) else {
            open = false;
            continue;
        };
        let at = |t: f64| [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t];
        let (p, q) = (at(t0), at(t1));
        match out.last_mut() {
            Some(piece) if open && t0 <= 0.0 => piece.push(q),
            _ => out.push(vec![p, q]),
        }
        open = t1 >= 1.0;
    }
    out
}
