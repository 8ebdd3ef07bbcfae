//! The surface figure as layout steps: the scene (the 3D camera or the contour view), every run
//! projected to pixels, the static part, the paths, each run's dot with its value (labels kept
//! apart), and the "Optimizers & losses" legend.

use super::canvas::{Canvas, Rect, Stroke};
use super::colormap::{self, Rgb};
use super::contour::{ContourLayout, point_mark};
use super::declutter::{Beside, beside};
use super::figure::{LegendRoom, Plot, Sheet};
use super::legend::{Fitted, Handle, Legend, overlaps};
use super::surface3d::SurfaceLayout;
use super::target::Target;
use super::text::{self, Face, HAlign, Place, VAlign};
use super::{Metrics, clip_loss, frame_count, shown};
use crate::error::Result;
use crate::experiment::plot_spec::{PlotSpec, View};
use crate::results::trajectory::Trajectories;
use crate::surface::Surface;

/// Where the surface figure puts a point, and its static part: the 3D camera or the contour view.
enum Scene {
    Camera(SurfaceLayout),
    Contour(ContourLayout),
}

impl Scene {
    fn to_pixel(&self, x: f64, y: f64, z: f64) -> [f64; 2] {
        match self {
            Scene::Camera(l) => l.to_pixel(x, y, z),
            Scene::Contour(l) => l.to_pixel(x, y),
        }
    }

    /// Where runs are drawn: the contour view clips them to its axes; the 3D view lets them
    /// leave the box, as matplotlib does.
    fn clip(&self) -> Option<Rect> {
        match self {
            Scene::Camera(_) => None,
            Scene::Contour(l) => Some(l.clip()),
        }
    }
}

/// One run as drawn: colour, label, and every point already projected.
struct RunView {
    color: Rgb,
    label: String,
    px: Vec<[f64; 2]>,
    loss: Vec<f32>,
    /// Which points lie off the plane they are drawn on (empty: none, and only the current
    /// point is marked).
    off: Vec<bool>,
}

impl RunView {
    /// The index of the point shown at point `k` (its last when it has fewer).
    fn at(&self, k: usize) -> Option<usize> {
        (!self.px.is_empty()).then(|| k.min(self.px.len() - 1))
    }
}

/// A run to draw: its label, its points `(x, y, z)`, the loss it shows at each, and which
/// points lie off the plane they are drawn on (empty: none).
pub(crate) struct Track {
    pub(crate) label: String,
    pub(crate) points: Vec<[f64; 3]>,
    pub(crate) loss: Vec<f32>,
    pub(crate) off: Vec<bool>,
}

/// The surface figure's layout.
pub(crate) struct SurfacePlot<'a> {
    m: Metrics,
    scene: Scene,
    mesh: &'a [f32],
    runs: Vec<RunView>,
    sheet: Sheet,
    /// Known minima and each run's start with its colour (marked on the contour view).
    minima: Vec<[f64; 2]>,
    /// The minima's stars go over the runs' end dots: a data surface's optimum, where the runs
    /// gather (a known minimum of a formula stays under them, its runs' dots shown).
    stars_on_top: bool,
    starts: Vec<([f64; 2], Rgb)>,
    legend: Option<Fitted>,
    /// The boxes of the 3D view's tick and axis labels (value labels keep out of them).
    decorations: Vec<[f64; 4]>,
}

impl<'a> SurfacePlot<'a> {
    /// Lays out the figure: the scene for the spec's view, the legend fitted to the figure (on
    /// the 3D view, a band at the top is left free for it when every corner would cover tick
    /// labels), then each run projected.
    pub(crate) fn new(traj: &Trajectories, surface: &Surface, mesh: &'a [f32]) -> Result<Self> {
        let spec = &traj.plot;
        let m = Metrics::new(spec.size[0] as usize, spec.size[1] as usize);
        let scene = match spec.view {
            View::Camera(_) => Scene::Camera(SurfaceLayout::new(spec, mesh, surface.domain)?),
            View::Contour => Scene::Contour(ContourLayout::new(m.w, m.h, surface.domain)),
        };
        let tracks = traj
            .runs
            .iter()
            .map(|r| {
                let points = shown(r, spec);
                let n = r.drawable().min(points.len());
                Track {
                    label: r.label.clone(),
                    points: (0..n)
                        .map(|i| [points[i][0] as f64, points[i][1] as f64, r.loss[i] as f64])
                        .collect(),
                    loss: r.loss[..n].to_vec(),
                    off: Vec::new(),
                }
            })
            .collect();
        let colors = colormap::run_colors(spec, traj.runs.len())?;
        let mut plot = Self::with_tracks(spec, scene, mesh, tracks, colors, "Optimizers & losses")?;
        plot.sheet.points = frame_count(traj);
        plot.minima = surface.minima().map(|s| s.point).collect();
        plot.stars_on_top = surface.data.is_some();
        plot.starts = traj
            .runs
            .iter()
            .zip(&plot.sheet.colors)
            .filter_map(|(r, &c)| shown(r, spec).first().map(|p| ([p[0] as f64, p[1] as f64], c)))
            .collect();
        Ok(plot)
    }

    /// The 3D figure of `tracks` over `mesh` seen through `layout` (a model's plane): each
    /// track's points all marked, hollow where off the plane, the legend titled `title`.
    pub(crate) fn over_plane(
        spec: &PlotSpec,
        layout: SurfaceLayout,
        mesh: &'a [f32],
        tracks: Vec<Track>,
        colors: Vec<Rgb>,
        title: &str,
    ) -> Result<Self> {
        Self::with_tracks(spec, Scene::Camera(layout), mesh, tracks, colors, title)
    }

    /// The figure of `tracks` in `scene`; one point an animation frame.
    fn with_tracks(
        spec: &PlotSpec,
        mut scene: Scene,
        mesh: &'a [f32],
        tracks: Vec<Track>,
        colors: Vec<Rgb>,
        title: &str,
    ) -> Result<Self> {
        let m = Metrics::new(spec.size[0] as usize, spec.size[1] as usize);
        let labels: Vec<&str> = tracks.iter().map(|t| t.label.as_str()).collect();
        let mut legend = match spec.legend && !tracks.is_empty() {
            true => Self::fit_legend(&m, &scene, title, &labels, &colors, 0.5),
            false => None,
        };
        if let (Scene::Camera(layout), Some(l)) = (&mut scene, &legend) {
            let area = [0.0, 0.0, m.w as f64, m.h as f64];
            let boxes = layout.text_boxes();
            let pad = Self::legend_pad(&m);
            let blocked = |(x, y): (f64, f64)| {
                let (w, h) = l.size();
                boxes.iter().any(|b| overlaps(*b, [x, y, x + w, y + h]))
            };
            if l.corners(area, pad).into_iter().all(blocked) {
                // A band at the top for a legend of at most a quarter of the height.
                legend = Self::fit_legend(&m, &Scene::Camera(layout.clone()), title, &labels, &colors, 0.25);
                let h = legend.as_ref().map_or(0.0, |l| l.size().1);
                layout.leave_top(h + 2.0 * pad);
            }
        }
        let points = tracks.iter().map(|t| t.points.len()).max().unwrap_or(0).max(1);
        let runs = tracks
            .into_iter()
            .zip(&colors)
            .map(|(t, &color)| RunView {
                color,
                px: t.points.iter().map(|p| scene.to_pixel(p[0], p[1], p[2])).collect(),
                label: t.label,
                loss: t.loss,
                off: t.off,
            })
            .collect();
        let decorations = match &scene {
            Scene::Camera(layout) => layout.text_boxes(),
            Scene::Contour(_) => Vec::new(),
        };
        Ok(SurfacePlot {
            m,
            scene,
            mesh,
            runs,
            sheet: Sheet {
                size: [m.w, m.h],
                points,
                colors,
            },
            minima: Vec::new(),
            stars_on_top: false,
            starts: Vec::new(),
            legend,
            decorations,
        })
    }

    /// Where run `run`'s point `k` is drawn.
    #[cfg(test)]
    pub(crate) fn pixel(&self, run: usize, k: usize) -> [f64; 2] {
        self.runs[run].px[k]
    }

    fn legend_pad(m: &Metrics) -> f64 {
        0.5 * m.pt(11.0)
    }

    /// The legend fitted to at most 60% of the figure's width and `share` of its height (the
    /// plot area on the contour view).
    fn fit_legend(
        m: &Metrics,
        scene: &Scene,
        title: &str,
        labels: &[&str],
        colors: &[Rgb],
        share: f64,
    ) -> Option<Fitted> {
        let [x0, y0, x1, y1] = match scene {
            Scene::Camera(_) => [0.0, 0.0, m.w as f64, m.h as f64],
            Scene::Contour(l) => l.area(),
        };
        let pad = 2.0 * Self::legend_pad(m);
        let legend = Legend {
            title: title.into(),
            rows: labels.iter().zip(colors).map(|(l, &c)| (c, l.to_string())).collect(),
            value_chars: 10,
            handle: Handle::Dot,
            em: m.pt(11.0),
            title_em: m.pt(12.0),
            line_width: m.pt(1.5),
            dot_radius: m.pt(4.2),
        };
        let max_h = match scene {
            Scene::Camera(_) => share * (y1 - y0),
            Scene::Contour(_) => y1 - y0 - pad,
        };
        legend.fit(0.6 * (x1 - x0 - pad), max_h)
    }

    /// The value labels beside each run's dot at point `k`: runs whose dots coincide and whose
    /// values print alike share one label; the others are kept apart (nudged with a leader line,
    /// or left out when there is no room: the legend has every value).
    fn draw_values(&self, c: &mut dyn Target, k: usize, avoid: &[[f64; 4]]) {
        let radius = self.m.pt(4.2);
        let em = self.m.pt(10.0) as f32;
        let mut shown: Vec<(usize, String)> = Vec::new();
        for (i, r) in self.runs.iter().enumerate() {
            let Some(last) = r.at(k) else {
                continue;
            };
            let [x, y] = r.px[last];
            if !(x.is_finite() && y.is_finite()) {
                continue;
            }
            let t = format!("{:.2}", clip_loss(r.loss.get(last).copied().unwrap_or(f32::NAN)));
            let same = |(j, u): &(usize, String)| {
                let q = self.runs[*j].px[self.runs[*j].at(k).unwrap_or(0)];
                *u == t && (q[0] - x).hypot(q[1] - y) < 1.0
            };
            if !shown.iter().any(same) {
                shown.push((i, t));
            }
        }
        let cap = 0.729 * em as f64;
        let wanted: Vec<Beside> = shown
            .iter()
            .map(|(i, t)| {
                let r = &self.runs[*i];
                let h = cap + 0.25 * em as f64;
                Beside {
                    at: r.px[r.at(k).unwrap_or(0)],
                    radius,
                    size: [text::text_width(t, Face::Sans, em), h],
                    // The baseline 0.3 radius above the dot's centre.
                    lift: 0.3 * radius + cap - h / 2.0,
                }
            })
            .collect();
        let bounds = match &self.scene {
            Scene::Camera(_) => [0.0, 0.0, self.m.w as f64, self.m.h as f64],
            Scene::Contour(l) => l.area(),
        };
        let avoid: Vec<[f64; 4]> = self.decorations.iter().chain(avoid).copied().collect();
        let spots = beside(&wanted, bounds, &avoid, 6);
        for (((i, t), want), spot) in shown.iter().zip(&wanted).zip(spots) {
            let Some(spot) = spot else {
                continue;
            };
            let color = colormap::halved(self.runs[*i].color);
            let [x0, _, _, y1] = spot.bbox;
            if spot.moved {
                leader(c, want.at, radius, spot.bbox, color, self.m.pt(0.75));
            }
            let at = Place {
                x: x0,
                y: y1 - 0.25 * em as f64,
                h: HAlign::Left,
                v: VAlign::Baseline,
            };
            text::label(c, t, Face::Sans, em, at, color);
        }
    }
}

/// A thin line from the edge of a dot at `at` (radius `r`) to the nearer side of a label's box.
fn leader(c: &mut dyn Target, at: [f64; 2], r: f64, bbox: [f64; 4], color: Rgb, width: f64) {
    let [x0, y0, x1, y1] = bbox;
    let end = [if x0 >= at[0] { x0 - 1.0 } else { x1 + 1.0 }, (y0 + y1) / 2.0];
    let (dx, dy) = (end[0] - at[0], end[1] - at[1]);
    let len = dx.hypot(dy);
    if len <= r + 1.0 {
        return;
    }
    let start = [at[0] + dx / len * r, at[1] + dy / len * r];
    let s = Stroke {
        alpha: 0.8,
        ..Stroke::solid(color, width)
    };
    c.stroke(&[start, end], &s);
}

impl Plot for SurfacePlot<'_> {
    fn sheet(&self) -> &Sheet {
        &self.sheet
    }

    /// The 3D box and the surface, or the contour view with minima and start rings.
    fn draw_static(&self, t: &mut dyn Target) {
        match &self.scene {
            Scene::Camera(layout) => layout.draw_static(t, self.mesh),
            Scene::Contour(layout) => layout.draw_static(t, self.mesh, &self.minima, &self.starts),
        }
    }

    /// Each run's path from its start to point `k`, one group a run.
    fn draw_paths(&self, t: &mut dyn Target, k: usize) {
        t.set_clip(self.scene.clip());
        let lw = self.m.pt(1.5);
        for r in &self.runs {
            let n = r.px.len().min(k + 1);
            t.begin_group("run", &r.label);
            t.stroke(&r.px[..n], &Stroke::solid(r.color, lw));
            t.end_group();
        }
        t.set_clip(None);
    }

    fn grow(&self, c: &mut Canvas, k: usize) {
        c.set_clip(self.scene.clip());
        let lw = self.m.pt(1.5);
        for r in &self.runs {
            if k >= 1 && k < r.px.len() {
                let prev = (k >= 2).then(|| (r.px[k - 2], r.px[k - 1]));
                c.extend(prev, r.px[k - 1], r.px[k], &Stroke::solid(r.color, lw));
            }
        }
        c.set_clip(None);
    }

    /// Each run's dot at its current point (point `k`, or its last) and its loss beside it.
    fn draw_marks(&self, t: &mut dyn Target, k: usize, avoid: &[[f64; 4]]) {
        t.set_clip(self.scene.clip());
        let radius = self.m.pt(4.2);
        for r in &self.runs {
            let Some(last) = r.at(k) else {
                continue;
            };
            if r.off.is_empty() {
                t.disc(r.px[last], radius, r.color, 1.0);
                continue;
            }
            // A plane's path: every point so far, hollow where it lies off the plane.
            let off = |i: usize| r.off.get(i).copied().unwrap_or(false);
            for i in 0..last {
                point_mark(t, r.px[i], 0.7 * radius, r.color, off(i), self.m.pt(1.0));
            }
            point_mark(t, r.px[last], radius, r.color, off(last), self.m.pt(1.2));
        }
        // A data surface's optimum over the runs' dots, which gather there.
        if let (Scene::Contour(layout), true) = (&self.scene, self.stars_on_top) {
            for p in &self.minima {
                layout.minimum_marker(t, *p);
            }
        }
        self.draw_values(t, k, avoid);
        t.set_clip(None);
    }

    fn legend(&self) -> Option<&Fitted> {
        self.legend.as_ref()
    }

    fn legend_value(&self, run: usize, k: usize) -> String {
        let r = &self.runs[run];
        let v = r.at(k).and_then(|i| r.loss.get(i).copied()).unwrap_or(f32::NAN);
        format!("{:10.5}", clip_loss(v))
    }

    fn legend_room(&self) -> LegendRoom {
        let pad = Self::legend_pad(&self.m);
        match &self.scene {
            Scene::Camera(_) => LegendRoom {
                area: [0.0, 0.0, self.m.w as f64, self.m.h as f64],
                pad,
                avoid: self.decorations.clone(),
            },
            Scene::Contour(layout) => LegendRoom {
                area: layout.area(),
                pad,
                avoid: Vec::new(),
            },
        }
    }
}
