//! A small anti-aliased RGB rasterizer: strokes (solid or dashed), discs, convex polygons and
//! rounded rectangles, alpha-blended over a white canvas, with a clip rectangle and a record of
//! the rectangle touched since the last reset (what an animation frame changed).

use super::colormap::Rgb;

/// A pixel rectangle `[x0, x1) x [y0, y1)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rect {
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
    pub fn union(self, o: Rect) -> Rect {
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
    pub fn is_empty(&self) -> bool {
        self.x1 <= self.x0 || self.y1 <= self.y0
    }

    /// The empty rectangle.
    pub const EMPTY: Rect = Rect {
        x0: 0,
        y0: 0,
        x1: 0,
        y1: 0,
    };
}

/// Line end style.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cap {
    /// Round ends and joins (trajectories, chart lines).
    Round,
    /// Square-cut ends (dashes, ticks).
    Butt,
}

/// How to stroke a path.
#[derive(Clone, Copy, Debug)]
pub struct Stroke {
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
    pub fn solid(color: Rgb, width: f64) -> Self {
        Stroke {
            color,
            alpha: 1.0,
            width,
            dash: None,
            cap: Cap::Round,
        }
    }
}

/// An RGB image being drawn.
#[derive(Clone)]
pub struct Canvas {
    /// Width in pixels.
    pub w: usize,
    /// Height in pixels.
    pub h: usize,
    /// Row-major RGB bytes.
    pub px: Vec<u8>,
    clip: Rect,
    dirty: Vec<Rect>,
    pending: Rect,
    mask: Vec<f32>,
    touched: Vec<u32>,
}

impl Canvas {
    /// A white canvas.
    pub fn new(w: usize, h: usize) -> Self {
        Canvas {
            w,
            h,
            px: vec![255; w * h * 3],
            clip: Rect {
                x0: 0,
                y0: 0,
                x1: w,
                y1: h,
            },
            dirty: Vec::new(),
            pending: Rect::EMPTY,
            mask: Vec::new(),
            touched: Vec::new(),
        }
    }

    /// Limits drawing to `r` (within the canvas); `None` lifts the limit.
    pub fn set_clip(&mut self, r: Option<Rect>) {
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

    /// The rectangles drawn into since the last call (and resets them).
    pub fn take_dirty(&mut self) -> Vec<Rect> {
        self.flush_marks();
        std::mem::take(&mut self.dirty)
    }

    /// Copies the pixels of the rectangles `rs` from `src` (a canvas of the same size).
    pub fn restore(&mut self, src: &Canvas, rs: &[Rect]) {
        for r in rs {
            let (x1, y1) = (r.x1.min(self.w), r.y1.min(self.h));
            if x1 <= r.x0 || y1 <= r.y0 {
                continue;
            }
            for y in r.y0..y1 {
                let a = (y * self.w + r.x0) * 3;
                let b = (y * self.w + x1) * 3;
                self.px[a..b].copy_from_slice(&src.px[a..b]);
            }
        }
    }

    /// Blends `color` at opacity `a` over pixel `(x, y)`, if inside the clip.
    #[inline]
    pub fn blend(&mut self, x: i64, y: i64, color: Rgb, a: f32) {
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
    pub fn flush_marks(&mut self) {
        let p = std::mem::replace(&mut self.pending, Rect::EMPTY);
        self.mark_rect(p);
    }

    #[inline]
    fn blend_index(&mut self, i: usize, color: Rgb, a: f32) {
        let o = i * 3;
        let a = (a.min(1.0) * 255.0 + 0.5) as u32;
        for (p, &c) in self.px[o..o + 3].iter_mut().zip(&color) {
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

    /// Strokes a polyline; non-finite points break it.
    pub fn stroke(&mut self, pts: &[[f64; 2]], s: &Stroke) {
        if s.width <= 0.0 || s.alpha <= 0.0 {
            return;
        }
        if self.mask.len() != self.w * self.h {
            self.mask = vec![0.0; self.w * self.h];
        }
        let mut phase = 0.0;
        for pair in pts.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            if !(a[0].is_finite() && a[1].is_finite() && b[0].is_finite() && b[1].is_finite()) {
                phase = 0.0;
                continue;
            }
            let len = ((b[0] - a[0]).powi(2) + (b[1] - a[1]).powi(2)).sqrt();
            let Some((t0, t1)) = self.clip_segment(a, b, s.width / 2.0 + 2.0) else {
                phase += len;
                continue;
            };
            let at = |t: f64| [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t];
            match s.dash {
                Some([on, off]) if on > 0.0 && off >= 0.0 && len > 0.0 => {
                    let period = on + off;
                    // Distance along the path at the clipped start, and the dash it falls in.
                    let start = phase + t0 * len;
                    let end = phase + t1 * len;
                    let mut k = (start / period).floor();
                    loop {
                        let d0 = k * period;
                        if d0 >= end {
                            break;
                        }
                        let (s0, s1) = (d0.max(start), (d0 + on).min(end));
                        if s1 > s0 {
                            self.cover_segment(at((s0 - phase) / len), at((s1 - phase) / len), s.width, Cap::Butt);
                        }
                        k += 1.0;
                    }
                }
                _ => self.cover_segment(at(t0), at(t1), s.width, s.cap),
            }
            phase += len;
        }
        self.composite(s.color, s.alpha);
    }

    /// The parameter range of segment `a`-`b` inside the clip grown by `pad` (Liang-Barsky).
    fn clip_segment(&self, a: [f64; 2], b: [f64; 2], pad: f64) -> Option<(f64, f64)> {
        let (xmin, ymin) = (self.clip.x0 as f64 - pad, self.clip.y0 as f64 - pad);
        let (xmax, ymax) = (self.clip.x1 as f64 + pad, self.clip.y1 as f64 + pad);
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

    /// Adds a segment's coverage to the mask (max with what is there).
    fn cover_segment(&mut self, a: [f64; 2], b: [f64; 2], width: f64, cap: Cap) {
        let seg = Segment::new(a, b, width, cap);
        let w = self.w;
        self.for_segment_pixels(&seg, |canvas, x, y, cov| {
            let i = y * w + x;
            let m = &mut canvas.mask[i];
            if *m == 0.0 {
                canvas.touched.push(i as u32);
            }
            if cov > *m {
                *m = cov;
            }
        });
    }

    /// Calls `f(self, x, y, coverage)` for every pixel (inside the clip) the segment covers.
    fn for_segment_pixels(&mut self, seg: &Segment, mut f: impl FnMut(&mut Self, usize, usize, f32)) {
        let (a, b) = (seg.a, seg.b);
        let reach = seg.hw + 1.0;
        let Some(bb) = self.clipped_box(a[0].min(b[0]), a[1].min(b[1]), a[0].max(b[0]), a[1].max(b[1]), reach) else {
            return;
        };
        let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
        for y in bb.y0..bb.y1 {
            let py = y as f64 + 0.5;
            // The columns this row can touch: the part of the segment within `reach` rows.
            let (mut xa, mut xb) = (a[0].min(b[0]), a[0].max(b[0]));
            if dy.abs() > 1e-12 {
                let ta = ((py - reach - a[1]) / dy).clamp(0.0, 1.0);
                let tb = ((py + reach - a[1]) / dy).clamp(0.0, 1.0);
                let (x_a, x_b) = (a[0] + dx * ta, a[0] + dx * tb);
                xa = x_a.min(x_b);
                xb = x_a.max(x_b);
            }
            let x0 = ((xa - reach).floor().max(bb.x0 as f64)) as usize;
            let x1 = ((xb + reach).ceil().min(bb.x1 as f64)) as usize;
            for x in x0..x1 {
                let cov = seg.coverage([x as f64 + 0.5, py]);
                if cov > 0.0 {
                    f(self, x, y, cov);
                }
            }
        }
    }

    /// Extends a stroked polyline by its segment `a`-`b`, given its previous segment: the result
    /// is what stroking the whole polyline at once gives where the two segments meet (coverage
    /// is the maximum of both, not blended twice), so a growing path can be drawn one segment
    /// per frame.
    pub fn extend(&mut self, prev: Option<([f64; 2], [f64; 2])>, a: [f64; 2], b: [f64; 2], s: &Stroke) {
        let finite = |p: [f64; 2]| p[0].is_finite() && p[1].is_finite();
        if !(finite(a) && finite(b)) || s.width <= 0.0 {
            return;
        }
        let Some((t0, t1)) = self.clip_segment(a, b, s.width / 2.0 + 2.0) else {
            return;
        };
        let at = |t: f64| [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t];
        let seg = Segment::new(at(t0), at(t1), s.width, s.cap);
        let prev = prev
            .filter(|(p, q)| finite(*p) && finite(*q))
            .map(|(p, q)| Segment::new(p, q, s.width, s.cap));
        let (color, alpha) = (s.color, s.alpha);
        let w = self.w;
        self.for_segment_pixels(&seg, |canvas, x, y, cov| {
            let before = prev
                .as_ref()
                .map_or(0.0, |p| p.coverage([x as f64 + 0.5, y as f64 + 0.5]));
            let after = cov.max(before);
            if after > before && before < 1.0 {
                let add = (after - before) * alpha / (1.0 - before * alpha);
                canvas.blend_index(y * w + x, color, add);
                canvas.mark(x, y);
            }
        });
        self.flush_marks();
    }

    /// Blends the mask's coverage in `color` and clears it.
    fn composite(&mut self, color: Rgb, alpha: f32) {
        let touched = std::mem::take(&mut self.touched);
        for &i in &touched {
            let i = i as usize;
            let a = self.mask[i] * alpha;
            self.mask[i] = 0.0;
            self.blend_index(i, color, a);
            self.mark(i % self.w, i / self.w);
        }
        self.touched = touched;
        self.touched.clear();
        self.flush_marks();
    }

    /// A filled anti-aliased disc.
    pub fn disc(&mut self, c: [f64; 2], r: f64, color: Rgb, alpha: f32) {
        if !(c[0].is_finite() && c[1].is_finite()) || r <= 0.0 {
            return;
        }
        let Some(bb) = self.clipped_box(c[0], c[1], c[0], c[1], r + 1.0) else {
            return;
        };
        for y in bb.y0..bb.y1 {
            for x in bb.x0..bb.x1 {
                let d = ((x as f64 + 0.5 - c[0]).powi(2) + (y as f64 + 0.5 - c[1]).powi(2)).sqrt();
                let cov = (r + 0.5 - d).clamp(0.0, 1.0) as f32;
                if cov > 0.0 {
                    self.blend_index(y * self.w + x, color, cov * alpha);
                }
            }
        }
        self.mark_rect(bb);
    }

    /// A filled anti-aliased convex polygon.
    pub fn convex(&mut self, poly: &[[f64; 2]], color: Rgb, alpha: f32) {
        if poly.len() < 3 || poly.iter().any(|p| !(p[0].is_finite() && p[1].is_finite())) {
            return;
        }
        let area: f64 = (0..poly.len())
            .map(|i| {
                let (p, q) = (poly[i], poly[(i + 1) % poly.len()]);
                p[0] * q[1] - q[0] * p[1]
            })
            .sum();
        if area.abs() < 1e-9 {
            return;
        }
        let sign = area.signum();
        // Inward unit normals as (nx, ny, offset): signed distance = nx*x + ny*y + offset.
        let edges: Vec<[f64; 3]> = (0..poly.len())
            .filter_map(|i| {
                let (p, q) = (poly[i], poly[(i + 1) % poly.len()]);
                let (dx, dy) = (q[0] - p[0], q[1] - p[1]);
                let l = (dx * dx + dy * dy).sqrt();
                (l > 1e-12).then(|| {
                    let (nx, ny) = (-dy * sign / l, dx * sign / l);
                    [nx, ny, -(nx * p[0] + ny * p[1])]
                })
            })
            .collect();
        let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for p in poly {
            x0 = x0.min(p[0]);
            y0 = y0.min(p[1]);
            x1 = x1.max(p[0]);
            y1 = y1.max(p[1]);
        }
        let Some(bb) = self.clipped_box(x0, y0, x1, y1, 1.0) else {
            return;
        };
        for y in bb.y0..bb.y1 {
            for x in bb.x0..bb.x1 {
                let (px, py) = (x as f64 + 0.5, y as f64 + 0.5);
                let d = edges
                    .iter()
                    .map(|e| e[0] * px + e[1] * py + e[2])
                    .fold(f64::MAX, f64::min);
                let cov = (d + 0.5).clamp(0.0, 1.0) as f32;
                if cov > 0.0 {
                    self.blend_index(y * self.w + x, color, cov * alpha);
                }
            }
        }
        self.mark_rect(bb);
    }

    /// A rounded rectangle `[x0, x1] x [y0, y1]` with corner radius `r`: filled, and/or outlined
    /// with a line of `edge.2` pixels.
    pub fn round_rect(&mut self, b: [f64; 4], r: f64, fill: Option<(Rgb, f32)>, edge: Option<(Rgb, f32, f64)>) {
        let [x0, y0, x1, y1] = b;
        let (cx, cy) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
        let (hx, hy) = ((x1 - x0) / 2.0, (y1 - y0) / 2.0);
        let r = r.min(hx).min(hy).max(0.0);
        let ew = edge.map_or(0.0, |e| e.2);
        let Some(bb) = self.clipped_box(x0, y0, x1, y1, ew + 1.0) else {
            return;
        };
        let margin = ew + 1.5;
        // Interior pixels all get the same blend: a lookup table per channel.
        let lut: Option<[[u8; 256]; 3]> = fill.map(|(c, a)| {
            let a = (a.min(1.0) * 255.0 + 0.5) as u32;
            let mut t = [[0u8; 256]; 3];
            for (k, row) in t.iter_mut().enumerate() {
                for (p, v) in row.iter_mut().enumerate() {
                    let x = p as u32 * (255 - a) + c[k] as u32 * a + 128;
                    *v = ((x + (x >> 8)) >> 8) as u8;
                }
            }
            t
        });
        for y in bb.y0..bb.y1 {
            let iy = hy - (y as f64 + 0.5 - cy).abs();
            // The columns of this row that are well inside the shape (no edge, no corner).
            let inner = if iy > r + margin {
                hx - margin
            } else if iy > margin {
                hx - r - margin
            } else {
                -1.0
            };
            let (ix0, ix1) = if inner > 0.0 {
                (
                    ((cx - inner).ceil().max(bb.x0 as f64)) as usize,
                    ((cx + inner - 1.0).floor().max(0.0) as usize + 1).min(bb.x1),
                )
            } else {
                (bb.x0, bb.x0)
            };
            if let Some(t) = &lut {
                for x in ix0..ix1.max(ix0) {
                    let o = (y * self.w + x) * 3;
                    for k in 0..3 {
                        self.px[o + k] = t[k][self.px[o + k] as usize];
                    }
                }
            }
            for x in (bb.x0..bb.x1).filter(|x| !(ix0..ix1).contains(x)) {
                let qx = (x as f64 + 0.5 - cx).abs() - (hx - r);
                let qy = (y as f64 + 0.5 - cy).abs() - (hy - r);
                let sd = (qx.max(0.0).powi(2) + qy.max(0.0).powi(2)).sqrt() + qx.max(qy).min(0.0) - r;
                let i = y * self.w + x;
                if let Some((c, a)) = fill {
                    let cov = (0.5 - sd).clamp(0.0, 1.0) as f32;
                    if cov > 0.0 {
                        self.blend_index(i, c, cov * a);
                    }
                }
                if let Some((c, a, w)) = edge {
                    let cov = (w / 2.0 + 0.5 - sd.abs()).clamp(0.0, 1.0) as f32;
                    if cov > 0.0 {
                        self.blend_index(i, c, cov * a);
                    }
                }
            }
        }
        self.mark_rect(bb);
    }

    /// Counts pixels in `r` that differ from `other` (a canvas of the same size).
    pub fn differing(&self, other: &Canvas, r: Rect) -> usize {
        let mut n = 0;
        for y in r.y0..r.y1.min(self.h) {
            for x in r.x0..r.x1.min(self.w) {
                let o = (y * self.w + x) * 3;
                if self.px[o..o + 3] != other.px[o..o + 3] {
                    n += 1;
                }
            }
        }
        n
    }
}

/// A stroked segment: its ends, half width and cap, and the coverage it gives a pixel centre.
struct Segment {
    a: [f64; 2],
    b: [f64; 2],
    hw: f64,
    width: f64,
    cap: Cap,
    d: [f64; 2],
    len: f64,
    len2: f64,
}

impl Segment {
    fn new(a: [f64; 2], b: [f64; 2], width: f64, cap: Cap) -> Self {
        let d = [b[0] - a[0], b[1] - a[1]];
        let len2 = d[0] * d[0] + d[1] * d[1];
        Segment {
            a,
            b,
            hw: width / 2.0,
            width,
            cap,
            d,
            len: len2.sqrt(),
            len2,
        }
    }

    /// Coverage of the pixel centred at `p`: `width` wide, anti-aliased over one pixel.
    #[inline]
    fn coverage(&self, p: [f64; 2]) -> f32 {
        let profile = |dist: f64| -> f32 {
            if self.width >= 1.0 {
                (self.hw + 0.5 - dist).clamp(0.0, 1.0) as f32
            } else {
                (self.width * (1.0 - dist).clamp(0.0, 1.0)) as f32
            }
        };
        let (ax, ay) = (p[0] - self.a[0], p[1] - self.a[1]);
        let [dx, dy] = self.d;
        if self.len2 < 1e-12 {
            return if self.cap == Cap::Round {
                profile((ax * ax + ay * ay).sqrt())
            } else {
                0.0
            };
        }
        let t = (ax * dx + ay * dy) / self.len2;
        match self.cap {
            Cap::Round => {
                let tc = t.clamp(0.0, 1.0);
                let (ex, ey) = (ax - dx * tc, ay - dy * tc);
                profile((ex * ex + ey * ey).sqrt())
            }
            Cap::Butt => {
                let along = t * self.len;
                let perp = (ax * dy - ay * dx).abs() / self.len;
                let ends = ((along + 0.5).clamp(0.0, 1.0) * (self.len - along + 0.5).clamp(0.0, 1.0)) as f32;
                profile(perp) * ends
            }
        }
    }
}
