//! The surface figure: a 3D box seen through matplotlib's `view_init(elev, azim)` camera
//! (orthographic), its panes, dashed grids, ticks and labels, the mesh as ~40k quads in the "cool"
//! colormap (each coloured by its mean z and painted far to near, supersampled for smooth edges,
//! with the post's faint white mesh lines every fourth row), and each run's trajectory, dot and
//! loss on top.

use super::Metrics;
use super::canvas::{Cap, Stroke};
use super::colormap::{self, GRID as GRID_RGB, PANE, Rgb, SPINE, TICK};
use super::legend::overlaps;
use super::target::{Image, Target};
use super::text::{self, Face, HAlign, Place, Span, VAlign};
use crate::error::{Error, Result};
use crate::experiment::plot_spec::{PlotSpec, View, YLim};
use crate::surface::Domain;
use crate::surface::noise::GRID;

/// Half extents of matplotlib's 4:4:3 box.
const HALF: [f64; 3] = [2.0, 2.0, 1.5];
/// Samples of the supersampled surface raster (about 3x3 per pixel at 900x900, fewer for very
/// large figures so that the raster stays under ~10 million samples).
const SAMPLES: f64 = 9.0e6;
/// Every how many mesh rows the post's (matplotlib's default 50x50 stride) mesh lines fall.
const STRIDE: usize = 4;

/// The camera of a surface figure and its fit to the canvas: where a point of the surface lands
/// in the image.
#[derive(Clone, Debug)]
pub(crate) struct SurfaceLayout {
    domain: Domain,
    w: usize,
    h: usize,
    lim: [[f64; 2]; 3],
    u: [f64; 3],
    v: [f64; 3],
    d: [f64; 3],
    s: f64,
    cx: f64,
    cy: f64,
    /// Pixels kept free above the box and its labels (for a legend).
    top: f64,
    /// The axes' titles when not the post's `x1`, `x2`, `f`.
    titles: Option<[String; 3]>,
    m: Metrics,
}

/// A text of the axes decoration.
#[derive(Clone, Debug)]
enum Content {
    Tick(String),
    Axis(usize),
    Title(String),
}

impl Content {
    fn is_title(&self) -> bool {
        !matches!(self, Content::Tick(_))
    }
}

#[derive(Clone, Debug)]
struct TextItem {
    content: Content,
    em: f64,
    center: [f64; 2],
}

/// Everything static drawn around the surface, in pixels.
struct Decorations {
    lines: Vec<(Vec<[f64; 2]>, Stroke)>,
    texts: Vec<TextItem>,
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn spans(c: &Content) -> Vec<Span<'_>> {
    match c {
        Content::Tick(s) | Content::Title(s) => vec![Span::plain(s, Face::Sans)],
        Content::Axis(0) => vec![Span::plain("x", Face::Italic), Span::sub("1")],
        Content::Axis(1) => vec![Span::plain("x", Face::Italic), Span::sub("2")],
        Content::Axis(_) => vec![Span::plain("f", Face::Italic)],
    }
}

/// Half width and half height of a centred text item.
fn half_size(t: &TextItem) -> [f64; 2] {
    let w = text::width(&spans(&t.content), t.em as f32);
    [w / 2.0, 0.729 * t.em / 2.0]
}

/// The box a centred text item takes, descenders and a little air included.
fn item_box(t: &TextItem) -> [f64; 4] {
    let [hw, hh] = half_size(t);
    let air = 0.2 * t.em;
    [
        t.center[0] - hw - air,
        t.center[1] - 1.4 * hh,
        t.center[0] + hw + air,
        t.center[1] + 1.4 * hh,
    ]
}

impl SurfaceLayout {
    /// Fits the camera of `spec` (view, z limits, size) to a `GRID` x `GRID` mesh of values over
    /// `domain`. Fails only when `mesh` is not such a mesh.
    pub(crate) fn new(spec: &PlotSpec, mesh: &[f32], domain: Domain) -> Result<Self> {
        if mesh.len() != GRID * GRID {
            return Err(Error::Plot(format!(
                "expected a {GRID}x{GRID} mesh ({} values), got {}",
                GRID * GRID,
                mesh.len()
            )));
        }
        let zlim = match spec.zlim {
            YLim::Range(r) => r,
            YLim::Auto => {
                let (lo, hi) = mesh
                    .iter()
                    .filter(|z| z.is_finite())
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &z| {
                        (lo.min(z as f64), hi.max(z as f64))
                    });
                if !(lo.is_finite() && hi.is_finite()) {
                    [0.0, 1.0]
                } else if hi - lo < 1e-12 {
                    [lo - 0.5, hi + 0.5]
                } else {
                    [lo, hi]
                }
            }
        };
        let [elev, azim] = match spec.view {
            View::Camera(angles) => angles.map(f64::to_radians),
            View::Contour => [90f64.to_radians(), -90f64.to_radians()],
        };
        let (w, h) = (spec.size[0] as usize, spec.size[1] as usize);
        let mut l = SurfaceLayout {
            domain,
            w,
            h,
            lim: [domain.x, domain.y, zlim],
            u: [-azim.sin(), azim.cos(), 0.0],
            v: [-elev.sin() * azim.cos(), -elev.sin() * azim.sin(), elev.cos()],
            d: [elev.cos() * azim.cos(), elev.cos() * azim.sin(), elev.sin()],
            s: 1.0,
            cx: 0.0,
            cy: 0.0,
            top: 0.0,
            titles: None,
            m: Metrics::new(w, h),
        };
        l.fit();
        Ok(l)
    }

    /// The same camera with the axes titled `titles` (x, y, z), refitted.
    pub(crate) fn with_titles(mut self, titles: [String; 3]) -> Self {
        self.titles = Some(titles);
        self.fit();
        self
    }

    /// Refits the box below a band of `top` pixels left free at the top of the figure.
    pub(crate) fn leave_top(&mut self, top: f64) {
        self.top = top.clamp(0.0, self.h as f64 / 3.0);
        self.fit();
    }

    /// The boxes `[x0, y0, x1, y1]` of the tick and axis labels (what a legend must not cover).
    pub(crate) fn text_boxes(&self) -> Vec<[f64; 4]> {
        self.decorations().texts.iter().map(item_box).collect()
    }

    /// Centred box coordinates of a data point.
    fn boxed(&self, p: [f64; 3]) -> [f64; 3] {
        let mut b = [0.0; 3];
        for k in 0..3 {
            let [lo, hi] = self.lim[k];
            b[k] = ((p[k] - lo) / (hi - lo) * 2.0 - 1.0) * HALF[k];
        }
        b
    }

    /// The pixel where data point `(x, y, z)` is drawn (NaN for non-finite input).
    pub(crate) fn to_pixel(&self, x: f64, y: f64, z: f64) -> [f64; 2] {
        let b = self.boxed([x, y, z]);
        [self.cx + self.s * dot(b, self.u), self.cy - self.s * dot(b, self.v)]
    }

    /// How near the viewer a data point is (larger is nearer).
    fn depth(&self, p: [f64; 3]) -> f64 {
        dot(self.boxed(p), self.d)
    }

    fn px(&self, p: [f64; 3]) -> [f64; 2] {
        self.to_pixel(p[0], p[1], p[2])
    }

    /// The far and near limit of axis `k`.
    fn far_near(&self, k: usize) -> (f64, f64) {
        let [lo, hi] = self.lim[k];
        if self.d[k] >= 0.0 { (lo, hi) } else { (hi, lo) }
    }

    /// Scales and centres the box so that it and its labels fill the canvas below the band
    /// `top`. On a canvas too small for the labels, the box alone fills it.
    fn fit(&mut self) {
        let pad = 6.0 * self.m.sc;
        let top = pad + self.top;
        // Pass 1: the box alone fills the canvas; measure how far the labels stick out.
        let corners: Vec<[f64; 2]> = (0..8)
            .map(|i| {
                let b = [HALF[0] * sign(i & 1), HALF[1] * sign(i & 2), HALF[2] * sign(i & 4)];
                [dot(b, self.u), -dot(b, self.v)]
            })
            .collect();
        let (bx0, bx1) = minmax(corners.iter().map(|c| c[0]));
        let (by0, by1) = minmax(corners.iter().map(|c| c[1]));
        let (bw, bh) = ((bx1 - bx0).max(1e-9), (by1 - by0).max(1e-9));
        let place = |l: &mut SurfaceLayout, area: [f64; 4]| {
            let s = ((area[2] - area[0]) / bw).min((area[3] - area[1]) / bh).max(1e-6);
            l.s = s;
            l.cx = (area[0] + area[2]) / 2.0 - s * (bx0 + bx1) / 2.0;
            l.cy = (area[1] + area[3]) / 2.0 - s * (by0 + by1) / 2.0;
        };
        let (w, h) = (self.w as f64, self.h as f64);
        place(self, [pad, top, w - pad, h - pad]);
        let deco = self.decorations();
        let (mut ex0, mut ey0, mut ex1, mut ey1) = (
            self.cx + self.s * bx0,
            self.cy + self.s * by0,
            self.cx + self.s * bx1,
            self.cy + self.s * by1,
        );
        let (box_x0, box_y0, box_x1, box_y1) = (ex0, ey0, ex1, ey1);
        for t in &deco.texts {
            let [hw, hh] = half_size(t);
            ex0 = ex0.min(t.center[0] - hw);
            ex1 = ex1.max(t.center[0] + hw);
            ey0 = ey0.min(t.center[1] - hh * 1.4);
            ey1 = ey1.max(t.center[1] + hh * 1.4);
        }
        // Pass 2: the box shrinks to leave room for what sticks out.
        let area = [
            pad + (box_x0 - ex0),
            top + (box_y0 - ey0),
            w - pad - (ex1 - box_x1),
            h - pad - (ey1 - box_y1),
        ];
        if area[2] - area[0] >= 10.0 && area[3] - area[1] >= 10.0 {
            place(self, area);
        }
        // Long axis titles may still stick out: shrink the box by what does.
        let mut area = area;
        for _ in 0..4 {
            let mut e = [
                self.cx + self.s * bx0,
                self.cy + self.s * by0,
                self.cx + self.s * bx1,
                self.cy + self.s * by1,
            ];
            for t in &self.decorations().texts {
                let [hw, hh] = half_size(t);
                let [x, y] = t.center;
                e = [
                    e[0].min(x - hw),
                    e[1].min(y - 1.4 * hh),
                    e[2].max(x + hw),
                    e[3].max(y + 1.4 * hh),
                ];
            }
            let over = [pad - e[0], top - e[1], e[2] - (w - pad), e[3] - (h - pad)].map(|o| o.max(0.0));
            let next = [
                area[0] + over[0],
                area[1] + over[1],
                area[2] - over[2],
                area[3] - over[3],
            ];
            if over.iter().all(|&o| o <= 0.5) || next[2] - next[0] < 10.0 || next[3] - next[1] < 10.0 {
                break;
            }
            area = next;
            place(self, area);
        }
    }

    /// Panes, grids, axis lines, ticks and labels at the current fit. A tick label that would
    /// touch an axis label or an earlier tick label (two axes' end labels meeting at a corner,
    /// `10.0` and `-10.0`) is left out.
    fn decorations(&self) -> Decorations {
        let nbins = 9.0 * 24.0 / 23.0;
        let ticks: Vec<Vec<f64>> = (0..3)
            .map(|k| super::ticks::nice_ticks(self.lim[k][0], self.lim[k][1], nbins))
            .collect();
        let mut lines = self.panes();
        lines.extend(self.grids(&ticks));
        let mut texts = Vec::new();
        for (k, ticks) in ticks.iter().enumerate() {
            self.axis(k, ticks, &mut lines, &mut texts);
        }
        Decorations {
            lines,
            texts: without_collisions(texts),
        }
    }

    /// The outlines of the three far panes.
    fn panes(&self) -> Vec<(Vec<[f64; 2]>, Stroke)> {
        let (f0, f1, f2) = (self.far_near(0).0, self.far_near(1).0, self.far_near(2).0);
        let [[xlo, xhi], [ylo, yhi], [zlo, zhi]] = self.lim;
        let pane = Stroke::solid(PANE, 0.9 * self.m.sc);
        [
            [[f0, ylo, zlo], [f0, yhi, zlo], [f0, yhi, zhi], [f0, ylo, zhi]],
            [[xlo, f1, zlo], [xhi, f1, zlo], [xhi, f1, zhi], [xlo, f1, zhi]],
            [[xlo, ylo, f2], [xhi, ylo, f2], [xhi, yhi, f2], [xlo, yhi, f2]],
        ]
        .iter()
        .map(|quad| {
            let mut pts: Vec<[f64; 2]> = quad.iter().map(|&p| self.px(p)).collect();
            pts.push(pts[0]);
            (pts, pane)
        })
        .collect()
    }

    /// The dashed grid lines at each axis's ticks, across the far panes.
    fn grids(&self, ticks: &[Vec<f64>]) -> Vec<(Vec<[f64; 2]>, Stroke)> {
        let sc = self.m.sc;
        let (f0, n0) = self.far_near(0);
        let (f1, n1) = self.far_near(1);
        let (f2, n2) = self.far_near(2);
        let grid = Stroke {
            color: GRID_RGB,
            alpha: 1.0,
            width: 0.9 * sc,
            dash: Some([4.6 * sc, 2.0 * sc]),
            cap: Cap::Butt,
        };
        let line = |pts: [[f64; 3]; 3]| (pts.iter().map(|&p| self.px(p)).collect(), grid);
        let mut lines = Vec::new();
        lines.extend(ticks[0].iter().map(|&t| line([[t, n1, f2], [t, f1, f2], [t, f1, n2]])));
        lines.extend(ticks[1].iter().map(|&t| line([[n0, t, f2], [f0, t, f2], [f0, t, n2]])));
        lines.extend(ticks[2].iter().map(|&t| line([[n0, f1, t], [f0, f1, t], [f0, n1, t]])));
        lines
    }

    /// Axis `k`: its line, tick marks, tick labels and title. Seen end-on (a top or side view),
    /// an axis has no room for ticks or labels and gets its line alone.
    fn axis(&self, k: usize, ticks: &[f64], lines: &mut Vec<(Vec<[f64; 2]>, Stroke)>, texts: &mut Vec<TextItem>) {
        let sc = self.m.sc;
        let (f0, n0) = self.far_near(0);
        let (f1, n1) = self.far_near(1);
        let f2 = self.far_near(2).0;
        // The axis line's ends (as functions of the running coordinate) and the outward
        // direction of its ticks, in data units.
        let (base, out) = [
            ([0.0, n1, f2], [0.0, n1 - f1, 0.0]),
            ([n0, 0.0, f2], [n0 - f0, 0.0, 0.0]),
            ([n0, f1, 0.0], [n0 - f0, 0.0, 0.0]),
        ][k];
        let at = |t: f64| {
            let mut p = base;
            p[k] = t;
            p
        };
        let [lo, hi] = self.lim[k];
        let (a, b) = (self.px(at(lo)), self.px(at(hi)));
        lines.push((vec![a, b], Stroke::solid(SPINE, 1.5 * sc)));
        if (b[0] - a[0]).hypot(b[1] - a[1]) < 0.6 * HALF[k] * self.s {
            return;
        }
        let mid = self.px(at((lo + hi) / 2.0));
        // Ticks point along the outward direction of the axis's tick axis.
        let away_from_centre = [mid[0] - self.cx, mid[1] - self.cy];
        let dir = self.screen_dir(at((lo + hi) / 2.0), out, unit(away_from_centre));
        // Labels move away from the box centre along both other axes, as matplotlib's
        // `_move_from_center` does: this keeps the labels of axes meeting at a corner apart.
        let label_dir = |p: [f64; 3]| {
            let mut away = [0.0; 3];
            for j in (0..3).filter(|&j| j != k) {
                let c = (self.lim[j][0] + self.lim[j][1]) / 2.0;
                away[j] = (p[j] - c).signum() * (self.lim[j][1] - self.lim[j][0]) * HALF[j] / 2.0;
            }
            self.screen_dir(p, away, dir)
        };
        let tick_line = Stroke {
            color: TICK,
            alpha: 1.0,
            width: 1.3 * sc,
            dash: None,
            cap: Cap::Butt,
        };
        let tick_out = 5.0 * sc;
        let mut reach = tick_out;
        for (&t, lab) in ticks.iter().zip(super::ticks::tick_labels(ticks)) {
            let p = self.px(at(t));
            lines.push((
                vec![
                    [p[0] - dir[0] * 2.0 * sc, p[1] - dir[1] * 2.0 * sc],
                    [p[0] + dir[0] * tick_out, p[1] + dir[1] * tick_out],
                ],
                tick_line,
            ));
            let item = TextItem {
                content: Content::Tick(lab),
                em: self.m.pt(11.0),
                center: p,
            };
            let (item, off) = self.pushed_out(item, label_dir(at(t)), tick_out + 5.0 * sc);
            reach = reach.max(off);
            texts.push(item);
        }
        let content = match &self.titles {
            Some(titles) => Content::Title(titles[k].clone()),
            None => Content::Axis(k),
        };
        let item = TextItem {
            content,
            em: self.m.pt(12.0),
            center: mid,
        };
        texts.push(
            self.pushed_out(item, label_dir(at((lo + hi) / 2.0)), reach + 8.0 * sc)
                .0,
        );
    }

    /// `item` moved from its anchor along `dir` until its near edge is `gap` away; also how far
    /// its far edge is.
    fn pushed_out(&self, mut item: TextItem, dir: [f64; 2], gap: f64) -> (TextItem, f64) {
        let [hw, hh] = half_size(&item);
        let along = hw * dir[0].abs() + hh * 1.3 * dir[1].abs();
        let off = gap + along;
        item.center = [item.center[0] + dir[0] * off, item.center[1] + dir[1] * off];
        (item, off + along)
    }

    /// The unit screen direction of moving from data point `p` by `delta` (data units); when the
    /// view makes it (nearly) degenerate, `fallback`.
    fn screen_dir(&self, p: [f64; 3], delta: [f64; 3], fallback: [f64; 2]) -> [f64; 2] {
        let q = [p[0] + delta[0] * 0.1, p[1] + delta[1] * 0.1, p[2] + delta[2] * 0.1];
        let (a, b) = (self.px(p), self.px(q));
        let d = [b[0] - a[0], b[1] - a[1]];
        // How long the move is on screen, relative to its length in the box.
        let (bp, bq) = (self.boxed(p), self.boxed(q));
        let in_box = ((0..3).map(|k| (bq[k] - bp[k]).powi(2)).sum::<f64>()).sqrt() * self.s;
        if d[0].hypot(d[1]) > 0.15 * in_box {
            unit(d)
        } else {
            fallback
        }
    }

    /// The figure without trajectories: axes decoration, then the surface over it.
    pub(crate) fn draw_static(&self, c: &mut dyn Target, mesh: &[f32]) {
        let deco = self.decorations();
        for (pts, stroke) in &deco.lines {
            c.stroke(pts, stroke);
        }
        for t in &deco.texts {
            let at = Place {
                x: t.center[0],
                y: t.center[1],
                h: HAlign::Center,
                v: VAlign::Center,
            };
            text::draw(c, &spans(&t.content), t.em as f32, at, TICK, 1.0);
        }
        if let Some(img) = self.mesh_image(mesh) {
            c.image(&img);
        }
    }

    /// The surface as a raster layer: the mesh quads painted far to near into a supersampled
    /// raster, averaged down (`None` when no quad is finite).
    fn mesh_image(&self, mesh: &[f32]) -> Option<Image> {
        let g = GRID;
        let ss = ((SAMPLES / (self.w * self.h) as f64).sqrt().floor() as usize).clamp(1, 3);
        let ssf = ss as f64;
        let mut verts = Vec::with_capacity(g * g);
        let mut depth = Vec::with_capacity(g * g);
        for i in 0..g {
            for j in 0..g {
                let p = [
                    self.domain.mesh_coord(0, i) as f64,
                    self.domain.mesh_coord(1, j) as f64,
                    mesh[i * g + j] as f64,
                ];
                let q = self.px(p);
                verts.push([q[0] * ssf, q[1] * ssf]);
                depth.push(self.depth(p));
            }
        }
        // Quads: mean z (colour) and mean depth (order).
        let mut quads: Vec<(f64, f32, u32)> = Vec::with_capacity((g - 1) * (g - 1));
        let (mut zmin, mut zmax) = (f32::INFINITY, f32::NEG_INFINITY);
        for i in 0..g - 1 {
            for j in 0..g - 1 {
                let ids = [i * g + j, (i + 1) * g + j, (i + 1) * g + j + 1, i * g + j + 1];
                let z = ids.iter().map(|&k| mesh[k]).sum::<f32>() / 4.0;
                let dp = ids.iter().map(|&k| depth[k]).sum::<f64>() / 4.0;
                if !(z.is_finite() && dp.is_finite())
                    || ids
                        .iter()
                        .any(|&k| !(verts[k][0].is_finite() && verts[k][1].is_finite()))
                {
                    continue;
                }
                zmin = zmin.min(z);
                zmax = zmax.max(z);
                quads.push((dp, z, (i * g + j) as u32));
            }
        }
        if quads.is_empty() {
            return None;
        }
        quads.sort_by(|a, b| a.0.total_cmp(&b.0));
        let span = (zmax - zmin).max(1e-30) as f64;
        let mut r = Raster::new(self.w * ss, self.h * ss, ss);
        let seam_w = 0.33 * self.m.sc * ssf;
        for &(_, z, id) in &quads {
            let id = id as usize;
            let (i, j) = (id / g, id % g);
            let ids = [i * g + j, (i + 1) * g + j, (i + 1) * g + j + 1, i * g + j + 1];
            let color = colormap::cool((z - zmin) as f64 / span);
            r.fill_quad(&ids.map(|k| verts[k]), color);
            let line_at = |k: usize| k.is_multiple_of(STRIDE) || k == g - 1;
            if line_at(i) {
                r.seam(verts[ids[0]], verts[ids[3]], seam_w);
            }
            if line_at(i + 1) {
                r.seam(verts[ids[1]], verts[ids[2]], seam_w);
            }
            if line_at(j) {
                r.seam(verts[ids[0]], verts[ids[1]], seam_w);
            }
            if line_at(j + 1) {
                r.seam(verts[ids[3]], verts[ids[2]], seam_w);
            }
        }
        Some(r.resolve(self.w))
    }
}

/// The text items with every tick label that touches an axis label or an earlier tick label
/// left out.
fn without_collisions(texts: Vec<TextItem>) -> Vec<TextItem> {
    let mut kept: Vec<[f64; 4]> = texts.iter().filter(|t| t.content.is_title()).map(item_box).collect();
    texts
        .into_iter()
        .filter(|t| {
            if t.content.is_title() {
                return true;
            }
            let b = item_box(t);
            if kept.iter().any(|k| overlaps(*k, b)) {
                return false;
            }
            kept.push(b);
            true
        })
        .collect()
}

/// `d` scaled to length one (straight down when it is zero).
fn unit(d: [f64; 2]) -> [f64; 2] {
    let len = d[0].hypot(d[1]);
    if len > 1e-9 {
        [d[0] / len, d[1] / len]
    } else {
        [0.0, 1.0]
    }
}

fn sign(bit: usize) -> f64 {
    if bit != 0 { 1.0 } else { -1.0 }
}

fn minmax(it: impl Iterator<Item = f64>) -> (f64, f64) {
    it.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| (a.min(x), b.max(x)))
}

/// A supersampled opaque raster of the surface: colour and whether a sample is covered.
struct Raster {
    w: usize,
    h: usize,
    ss: usize,
    rgb: Vec<u8>,
    covered: Vec<bool>,
}

impl Raster {
    /// A `w` x `h` raster of samples for an image `ss` times smaller on each axis.
    fn new(w: usize, h: usize, ss: usize) -> Self {
        Raster {
            w,
            h,
            ss,
            rgb: vec![0; w * h * 3],
            covered: vec![false; w * h],
        }
    }

    /// Fills a quad (pixel centres inside it), so that quads sharing an edge tile exactly.
    fn fill_quad(&mut self, q: &[[f64; 2]; 4], color: Rgb) {
        let (y0, y1) = minmax(q.iter().map(|p| p[1]));
        let row0 = ((y0 - 0.5).ceil().max(0.0)) as usize;
        let row1 = ((y1 - 0.5).floor().min(self.h as f64 - 1.0)) as i64;
        if row1 < row0 as i64 {
            return;
        }
        for y in row0..=row1 as usize {
            let yc = y as f64 + 0.5;
            let (mut xa, mut xb) = (f64::INFINITY, f64::NEG_INFINITY);
            for e in 0..4 {
                let (p, r) = (q[e], q[(e + 1) % 4]);
                if (p[1] <= yc && yc < r[1]) || (r[1] <= yc && yc < p[1]) {
                    let x = p[0] + (yc - p[1]) * (r[0] - p[0]) / (r[1] - p[1]);
                    xa = xa.min(x);
                    xb = xb.max(x);
                }
            }
            if xa >= xb {
                continue;
            }
            let x0 = ((xa - 0.5).ceil().max(0.0)) as usize;
            let x1 = ((xb - 0.5).ceil().min(self.w as f64)).max(0.0) as usize;
            let row = y * self.w;
            for x in x0..x1 {
                let i = row + x;
                self.rgb[i * 3..i * 3 + 3].copy_from_slice(&color);
                self.covered[i] = true;
            }
        }
    }

    /// A faint white line along a quad edge, only over covered samples.
    fn seam(&mut self, a: [f64; 2], b: [f64; 2], width: f64) {
        let hw = width / 2.0;
        let x0 = ((a[0].min(b[0]) - hw - 1.0).floor().max(0.0)) as usize;
        let y0 = ((a[1].min(b[1]) - hw - 1.0).floor().max(0.0)) as usize;
        let x1 = ((a[0].max(b[0]) + hw + 1.0).ceil().min(self.w as f64)).max(0.0) as usize;
        let y1 = ((a[1].max(b[1]) + hw + 1.0).ceil().min(self.h as f64)).max(0.0) as usize;
        let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
        let len2 = (dx * dx + dy * dy).max(1e-12);
        for y in y0..y1 {
            for x in x0..x1 {
                let i = y * self.w + x;
                if !self.covered[i] {
                    continue;
                }
                let (px, py) = (x as f64 + 0.5 - a[0], y as f64 + 0.5 - a[1]);
                let t = ((px * dx + py * dy) / len2).clamp(0.0, 1.0);
                let d = ((px - dx * t).powi(2) + (py - dy * t).powi(2)).sqrt();
                let cov = if width >= 1.0 {
                    (hw + 0.5 - d).clamp(0.0, 1.0)
                } else {
                    width * (1.0 - d).clamp(0.0, 1.0)
                };
                if cov > 0.0 {
                    for k in 0..3 {
                        let p = self.rgb[i * 3 + k] as f64;
                        self.rgb[i * 3 + k] = (p + (255.0 - p) * cov * 0.85 + 0.5) as u8;
                    }
                }
            }
        }
    }

    /// Averages each `ss` x `ss` block into an image `w` pixels wide: its colour the mean of the
    /// covered samples, its opacity the share covered.
    fn resolve(&self, w: usize) -> Image {
        let ss = self.ss;
        let n = (ss * ss) as u32;
        let mut img = Image::new(0, 0, w, self.h / ss);
        for y in 0..self.h / ss {
            for x in 0..w {
                let (mut cnt, mut sum) = (0u32, [0u32; 3]);
                for sy in 0..ss {
                    let row = (y * ss + sy) * self.w + x * ss;
                    for sx in 0..ss {
                        let i = row + sx;
                        if self.covered[i] {
                            cnt += 1;
                            for (acc, &v) in sum.iter_mut().zip(&self.rgb[i * 3..i * 3 + 3]) {
                                *acc += v as u32;
                            }
                        }
                    }
                }
                if cnt == 0 {
                    continue;
                }
                let o = (y * w + x) * 4;
                for (p, &acc) in img.rgba[o..o + 3].iter_mut().zip(&sum) {
                    *p = ((acc + cnt / 2) / cnt) as u8;
                }
                img.rgba[o + 3] = ((cnt * 255 + n / 2) / n) as u8;
            }
        }
        img
    }
}
