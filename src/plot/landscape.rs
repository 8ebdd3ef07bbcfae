//! The figures of a model's landscapes: `landscape_contour.png`, the plane's loss as the contour
//! view draws a surface with every run's projected path over it (points further off the plane
//! than the threshold drawn hollow, the centre starred), axes titled with the variance each PCA
//! direction explains; and `interpolation.png`, the train (solid) and test (dashed) loss along
//! each interpolation; `landscape.png` (and `.gif`), the plane's loss as the post's 3D surface
//! with the paths moving over it; `residual.png`, each run's residual over its steps.

use super::Metrics;
use super::axes2d::{Axes2d, Room};
use super::canvas::{Canvas, Cap, Stroke};
use super::colormap::{self, Rgb, WHITE};
use super::contour::{ContourImage, ContourLayout, point_mark};
use super::figure::{self, LegendRoom, Plot, Sheet};
use super::legend::{Fitted, Handle, Legend};
use super::scene::{SurfacePlot, Track};
use super::surface3d::SurfaceLayout;
use super::target::Target;
use crate::error::{Error, Result};
use crate::experiment::plot_spec::{PlotSpec, View};
use crate::landscape::{Interpolation, Landscape, PlaneLandscape, RunOnPlane, numbered};
use crate::surface::Domain;
use crate::surface::noise::GRID;
use std::path::{Path, PathBuf};

/// The plane's losses resampled (bilinearly) onto the contour view's `GRID x GRID` mesh of
/// `domain`, `x` index first.
pub(super) fn resample(plane: &PlaneLandscape, domain: Domain) -> Vec<f32> {
    let (na, nb) = (plane.a.len(), plane.b.len());
    let at = |v: f64, [lo, hi]: [f64; 2], n: usize| ((v - lo) / (hi - lo) * (n - 1) as f64).clamp(0.0, (n - 1) as f64);
    let mut mesh = vec![0.0f32; GRID * GRID];
    for i in 0..GRID {
        let u = at(domain.mesh_coord(0, i) as f64, domain.x, na);
        let i0 = (u.floor() as usize).min(na - 2);
        let fu = u - i0 as f64;
        for j in 0..GRID {
            let v = at(domain.mesh_coord(1, j) as f64, domain.y, nb);
            let j0 = (v.floor() as usize).min(nb - 2);
            let fv = v - j0 as f64;
            let z = |ii: usize, jj: usize| plane.loss[jj][ii] as f64;
            let lo = z(i0, j0) + (z(i0 + 1, j0) - z(i0, j0)) * fu;
            let hi = z(i0, j0 + 1) + (z(i0 + 1, j0 + 1) - z(i0, j0 + 1)) * fu;
            mesh[i * GRID + j] = (lo + (hi - lo) * fv) as f32;
        }
    }
    mesh
}

/// The rectangle of a plane's grid.
pub(super) fn plane_domain(plane: &PlaneLandscape) -> Domain {
    let ends = |v: &[f32]| [v[0] as f64, v[v.len() - 1] as f64];
    Domain::from([ends(&plane.a), ends(&plane.b)])
}

/// The titles of a plane's two axes: the variance each PCA direction explains, or how the
/// random directions are normalised.
fn axis_titles(plane: &PlaneLandscape) -> [String; 2] {
    match plane.explained_variance {
        Some(e) => [0, 1].map(|k| format!("PC {}: {:.1}% of the variance", k + 1, 100.0 * e[k])),
        None => [0, 1].map(|k| format!("direction {k} ({} normalized)", plane.normalize)),
    }
}

/// Which of a run's points lie further off the plane than its threshold (or have no residual).
fn off_plane(plane: &PlaneLandscape, run: &RunOnPlane) -> Vec<bool> {
    run.residual
        .iter()
        .map(|&e| e.is_nan() || e > plane.residual_threshold)
        .collect()
}

/// A run's path in pixels, with which points lie off the plane.
struct PathView {
    color: Rgb,
    px: Vec<[f64; 2]>,
    off: Vec<bool>,
}

/// The contour figure of a plane.
struct PlaneFigure {
    m: Metrics,
    layout: ContourLayout,
    mesh: Vec<f32>,
    center: [f64; 2],
    paths: Vec<PathView>,
    sheet: Sheet,
    legend: Option<Fitted>,
    finals: Vec<f32>,
}

impl PlaneFigure {
    fn new(plane: &PlaneLandscape, spec: &PlotSpec) -> Result<Self> {
        let m = Metrics::new(spec.size[0] as usize, spec.size[1] as usize);
        let colors = colormap::run_colors(spec, plane.runs.len())?;
        let domain = plane_domain(plane);
        let [x, y] = axis_titles(plane);
        let titles = Room::titles(&x, &y);
        let layout = ContourLayout::with_room(m.w, m.h, domain, titles);
        let paths = plane
            .runs
            .iter()
            .zip(&colors)
            .map(|(r, &color)| PathView {
                color,
                px: r
                    .path
                    .iter()
                    .map(|q| layout.to_pixel(q[0] as f64, q[1] as f64))
                    .collect(),
                off: off_plane(plane, r),
            })
            .collect();
        let [x0, y0, x1, y1] = layout.area();
        let pad = m.pt(11.0);
        let legend = Legend {
            title: format!("Runs & final {} loss", plane.data),
            rows: plane
                .runs
                .iter()
                .zip(&colors)
                .map(|(r, &c)| (c, r.label.clone()))
                .collect(),
            value_chars: 10,
            handle: Handle::Dot,
            em: m.pt(11.0),
            title_em: m.pt(12.0),
            line_width: m.pt(1.5),
            dot_radius: m.pt(4.2),
        }
        .fit(0.6 * (x1 - x0 - pad), y1 - y0 - pad);
        Ok(PlaneFigure {
            mesh: resample(plane, domain),
            center: layout.to_pixel(0.0, 0.0),
            m,
            layout,
            paths,
            sheet: Sheet {
                size: [m.w, m.h],
                points: 1,
                colors,
            },
            legend,
            finals: plane
                .runs
                .iter()
                .map(|r| r.path_loss.last().copied().unwrap_or(f32::NAN))
                .collect(),
        })
    }
}

impl Plot for PlaneFigure {
    fn sheet(&self) -> &Sheet {
        &self.sheet
    }

    fn draw_static(&self, t: &mut dyn Target) {
        self.layout.draw_static(t, &self.mesh, &[], &[]);
    }

    fn draw_paths(&self, t: &mut dyn Target, _k: usize) {
        t.set_clip(Some(self.layout.clip()));
        for p in &self.paths {
            t.stroke(&p.px, &Stroke::solid(p.color, self.m.pt(1.2)));
        }
        t.set_clip(None);
    }

    fn grow(&self, _c: &mut Canvas, _k: usize) {}

    fn draw_marks(&self, t: &mut dyn Target, _k: usize, _avoid: &[[f64; 4]]) {
        t.set_clip(Some(self.layout.clip()));
        let r = self.m.pt(2.4);
        for p in &self.paths {
            for (k, (&q, &off)) in p.px.iter().zip(&p.off).enumerate() {
                let last = k + 1 == p.px.len();
                let radius = if last { 1.6 * r } else { r };
                point_mark(t, q, radius, p.color, off, self.m.pt(1.0));
            }
        }
        super::contour::star(
            t,
            self.center,
            self.m.pt(6.0),
            [(WHITE, self.m.pt(3.2)), (super::contour::MINIMUM, self.m.pt(1.4))],
        );
        t.set_clip(None);
    }

    fn legend(&self) -> Option<&Fitted> {
        self.legend.as_ref()
    }

    fn legend_value(&self, run: usize, _k: usize) -> String {
        format!("{:10.5}", super::clip_loss(self.finals[run]))
    }

    fn legend_room(&self) -> LegendRoom {
        LegendRoom {
            area: self.layout.area(),
            pad: 0.5 * self.m.pt(11.0),
            avoid: Vec::new(),
        }
    }
}

/// The plane from above without its paths, as a `size[0]` x `size[1]` PNG (the report's view
/// moves the runs over it).
pub(crate) fn plane_image(plane: &PlaneLandscape, size: [usize; 2]) -> Result<ContourImage> {
    super::text::check_fonts()?;
    let spec = PlotSpec {
        size: size.map(|v| v as u32),
        ..PlotSpec::default()
    };
    let figure = PlaneFigure::new(plane, &spec)?;
    let mut canvas = Canvas::new(size[0], size[1]);
    figure.draw_static(&mut canvas);
    Ok(ContourImage {
        png: super::encode::png(&canvas)?,
        size,
        area: figure.layout.area(),
        domain: plane_domain(plane),
    })
}

/// A line of a chart: its colour, points, whether it is dashed, and which points are marked
/// hollow (off their plane) or filled (empty: no marks).
struct Line {
    color: Rgb,
    xs: Vec<f64>,
    ys: Vec<f64>,
    dashed: bool,
    off: Vec<bool>,
}

/// A grey dashed guide line: at `x = v` (vertical) or `y = v`.
#[derive(Clone, Copy)]
enum Guide {
    X(f64),
    Y(f64),
}

/// A line chart: the interpolation chart and the residual chart.
pub(super) struct LineFigure {
    m: Metrics,
    pub(super) axes: Axes2d,
    lines: Vec<Line>,
    guides: Vec<Guide>,
    sheet: Sheet,
    legend: Option<Fitted>,
}

impl LineFigure {
    /// The chart of `lines` over a figure of `m` (`rows`: the legend's, at most `share` of the
    /// plot's height), its y range `ylim` or fitted to the finite values, the axes and legend
    /// titled `titles`.
    fn new(
        m: Metrics,
        rows: Vec<(Rgb, String)>,
        lines: Vec<Line>,
        (ylim, share): (Option<[f64; 2]>, f64),
        guides: Vec<Guide>,
        titles: [&str; 3],
    ) -> Self {
        let finite = |f: fn(&Line) -> &Vec<f64>| -> Vec<f64> {
            lines
                .iter()
                .flat_map(|l| f(l).iter().copied())
                .filter(|v| v.is_finite())
                .collect()
        };
        let range = |v: Vec<f64>| {
            let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            [lo, hi]
        };
        let xlim = range(finite(|l| &l.xs));
        let ylim = ylim.unwrap_or_else(|| {
            let [lo, hi] = range(finite(|l| &l.ys));
            let margin = 0.05 * (hi - lo).max(1e-6);
            [lo - margin, hi + margin]
        });
        let axes = Axes2d::within(
            [0.0, 0.0, m.w as f64, m.h as f64],
            m,
            xlim,
            ylim,
            Room::titles(titles[0], titles[1]),
        );
        let [x0, y0, x1, y1] = axes.area;
        let colors = rows.iter().map(|r| r.0).collect();
        let legend = Legend {
            title: titles[2].into(),
            rows,
            value_chars: 0,
            handle: Handle::Line,
            em: m.pt(11.0),
            title_em: m.pt(12.0),
            line_width: m.pt(1.5),
            dot_radius: m.pt(4.2),
        }
        .fit(0.6 * (x1 - x0), share * (y1 - y0));
        LineFigure {
            m,
            axes,
            lines,
            guides,
            sheet: Sheet {
                size: [m.w, m.h],
                points: 1,
                colors,
            },
            legend,
        }
    }

    /// The interpolation chart: train (solid) and test (dashed) loss along each line.
    fn interpolation(line: &Interpolation, spec: &PlotSpec) -> Result<Self> {
        let m = Metrics::new(spec.size[0] as usize, spec.size[1] as usize);
        let colors = colormap::run_colors(spec, line.curves.len())?;
        let a: Vec<f64> = line.a.iter().map(|&v| v as f64).collect();
        let mut lines = Vec::new();
        for (c, &color) in line.curves.iter().zip(&colors) {
            let losses = std::iter::once((&c.train_loss, false)).chain(c.test_loss.iter().map(|t| (t, true)));
            for (values, dashed) in losses {
                lines.push(Line {
                    color,
                    xs: a.clone(),
                    ys: values
                        .iter()
                        .map(|&v| if v.is_finite() { super::clip_loss(v) } else { f64::NAN })
                        .collect(),
                    dashed,
                    off: Vec::new(),
                });
            }
        }
        let rows = line
            .curves
            .iter()
            .zip(&colors)
            .map(|(c, &col)| (col, c.label.clone()))
            .collect();
        Ok(Self::new(
            m,
            rows,
            lines,
            (None, 1.0),
            vec![Guide::X(0.0), Guide::X(1.0)],
            [
                "a: (1 - a) w_from + a w_to",
                "loss (solid: train, dashed: test)",
                "Interpolations",
            ],
        ))
    }

    /// The residual chart of a plane: each run's residual at its snapshot steps, the threshold
    /// above which its points are drawn hollow dashed. Wider than tall: a strip under the plane.
    pub(super) fn residual(plane: &PlaneLandscape, spec: &PlotSpec) -> Result<Self> {
        let full = Metrics::new(spec.size[0] as usize, spec.size[1] as usize);
        let m = Metrics {
            h: (full.h as f64 * RESIDUAL_HEIGHT) as usize,
            ..full
        };
        let colors = colormap::run_colors(spec, plane.runs.len())?;
        let lines: Vec<Line> = plane
            .runs
            .iter()
            .zip(&colors)
            .map(|(r, &color)| Line {
                color,
                xs: r.steps.iter().map(|&s| s as f64).collect(),
                ys: r.residual.iter().map(|&v| v as f64).collect(),
                dashed: false,
                off: off_plane(plane, r),
            })
            .collect();
        let threshold = plane.residual_threshold as f64;
        let rows = plane
            .runs
            .iter()
            .zip(&colors)
            .map(|(r, &c)| (c, r.label.clone()))
            .collect();
        Ok(Self::new(
            m,
            rows,
            lines,
            // A residual lies in [0, 1]; the legend keeps to the upper part, mostly free.
            (Some([0.0, 1.05]), 0.45),
            vec![Guide::Y(threshold)],
            [
                "step",
                "residual (off the plane / from the centre)",
                &format!("Runs (dashed: threshold {threshold})"),
            ],
        ))
    }
}

/// The residual chart's height, as a share of the figure's.
const RESIDUAL_HEIGHT: f64 = 0.6;

impl Plot for LineFigure {
    fn sheet(&self) -> &Sheet {
        &self.sheet
    }

    fn draw_static(&self, t: &mut dyn Target) {
        self.axes.draw_frame(t, false);
        t.set_clip(Some(self.axes.clip()));
        let marker = Stroke {
            color: [120, 120, 120],
            alpha: 0.8,
            width: self.m.pt(0.8),
            dash: Some([self.m.pt(3.0), self.m.pt(3.0)]),
            cap: Cap::Butt,
        };
        let [x0, y0, x1, y1] = self.axes.area;
        for g in &self.guides {
            let ends = match *g {
                Guide::X(v) => [[self.axes.x(v), y0], [self.axes.x(v), y1]],
                Guide::Y(v) => [[x0, self.axes.y(v)], [x1, self.axes.y(v)]],
            };
            t.stroke(&ends, &marker);
        }
        t.set_clip(None);
    }

    fn draw_paths(&self, t: &mut dyn Target, _k: usize) {
        t.set_clip(Some(self.axes.clip()));
        for line in &self.lines {
            let px: Vec<[f64; 2]> = line
                .xs
                .iter()
                .zip(&line.ys)
                .filter(|(_, v)| v.is_finite())
                .map(|(&x, &y)| [self.axes.x(x), self.axes.y(y)])
                .collect();
            let mut stroke = Stroke::solid(line.color, self.m.pt(1.5));
            if line.dashed {
                stroke.dash = Some([self.m.pt(4.0), self.m.pt(2.5)]);
                stroke.cap = Cap::Butt;
            }
            t.stroke(&px, &stroke);
        }
        t.set_clip(None);
    }

    fn grow(&self, _c: &mut Canvas, _k: usize) {}

    fn draw_marks(&self, t: &mut dyn Target, _k: usize, _avoid: &[[f64; 4]]) {
        t.set_clip(Some(self.axes.clip()));
        for line in &self.lines {
            for ((&x, &y), &off) in line.xs.iter().zip(&line.ys).zip(&line.off) {
                if y.is_finite() {
                    let at = [self.axes.x(x), self.axes.y(y)];
                    point_mark(t, at, self.m.pt(2.4), line.color, off, self.m.pt(1.0));
                }
            }
        }
        t.set_clip(None);
    }

    fn legend(&self) -> Option<&Fitted> {
        self.legend.as_ref()
    }

    fn legend_room(&self) -> LegendRoom {
        LegendRoom {
            area: self.axes.area,
            pad: 0.5 * self.m.pt(11.0),
            avoid: Vec::new(),
        }
    }
}

/// Frames at most in a plane's GIF (one a snapshot).
const PLANE_FRAMES: u32 = 16;

/// `spec` for a plane's 3D figure: the post's camera when it asks for the contour view (which
/// `landscape_contour.png` is), a legend (as the contour view's), at most [`PLANE_FRAMES`]
/// frames.
pub(super) fn camera(spec: &PlotSpec) -> PlotSpec {
    let mut spec = spec.clone();
    spec.legend = true;
    if spec.view == View::Contour {
        spec.view = PlotSpec::default().view;
    }
    spec.max_frames = spec.max_frames.min(PLANE_FRAMES);
    spec
}

/// The plane's 3D figure over `mesh` (the plane resampled), as the post draws a surface: each
/// run's path at the plane's loss over its projected points (hollow where off the plane), the
/// legend giving each run's own loss. `spec` is [`camera`]'s.
pub(super) fn plane_plot<'m>(plane: &PlaneLandscape, spec: &PlotSpec, mesh: &'m [f32]) -> Result<SurfacePlot<'m>> {
    let [x, y] = axis_titles(plane);
    let layout =
        SurfaceLayout::new(spec, mesh, plane_domain(plane))?.with_titles([x, y, format!("{} loss", plane.data)]);
    let tracks = plane
        .runs
        .iter()
        .map(|r| Track {
            label: r.label.clone(),
            points: r
                .path
                .iter()
                .zip(&r.plane_loss)
                .map(|(q, &z)| [q[0] as f64, q[1] as f64, z as f64])
                .collect(),
            loss: r.path_loss.clone(),
            off: off_plane(plane, r),
        })
        .collect();
    let colors = colormap::run_colors(spec, plane.runs.len())?;
    let title = format!("Runs & {} loss", plane.data);
    SurfacePlot::over_plane(spec, layout, mesh, tracks, colors, &title)
}

/// `landscape.png` and, when `animated`, `landscape.gif` (the runs moving a snapshot a frame).
pub(super) fn surface_figure(plane: &PlaneLandscape, spec: &PlotSpec, animated: bool) -> Result<figure::Figure> {
    let spec = camera(spec);
    let mesh = resample(plane, plane_domain(plane));
    figure::render(&plane_plot(plane, &spec, &mesh)?, &spec, animated, None)
}

/// Draws each landscape's figures into `dir` (numbered as their files are): a plane's
/// `landscape_contour.png`, `landscape.png` (and `landscape.gif` when `plot.animate`) and
/// `residual.png`; a line's `interpolation.png`. Returns the paths.
pub(crate) fn draw_landscapes(landscapes: &[Landscape], spec: &PlotSpec, dir: &Path) -> Result<Vec<PathBuf>> {
    super::text::check_fonts()?;
    let (mut planes, mut lines) = (0, 0);
    let mut written = Vec::new();
    let mut write = |name: String, bytes: &[u8]| -> Result<()> {
        let path = dir.join(name);
        crate::io::write_atomic(&path, bytes)?;
        written.push(path);
        Ok(())
    };
    for landscape in landscapes {
        match landscape {
            Landscape::Plane(plane) => {
                let k = planes;
                planes += 1;
                // The 3D figure and its GIF on a second thread, the flat ones on this one.
                let (surface, flat) = std::thread::scope(|s| {
                    let surface = s.spawn(|| surface_figure(plane, spec, spec.animate));
                    let flat = figure::render(&PlaneFigure::new(plane, spec)?, spec, false, None).and_then(|c| {
                        Ok((
                            c,
                            figure::render(&LineFigure::residual(plane, spec)?, spec, false, None)?,
                        ))
                    });
                    let surface = surface
                        .join()
                        .unwrap_or_else(|_| Err(Error::Plot("drawing the 3D landscape failed unexpectedly".into())));
                    Ok::<_, Error>((surface?, flat?))
                })?;
                let (contour, residual) = flat;
                write(numbered("landscape_contour", k, "png"), &contour.png)?;
                write(numbered("landscape", k, "png"), &surface.png)?;
                if let Some(gif) = &surface.gif {
                    write(numbered("landscape", k, "gif"), gif)?;
                }
                write(numbered("residual", k, "png"), &residual.png)?;
            }
            Landscape::Line(line) => {
                lines += 1;
                let chart = figure::render(&LineFigure::interpolation(line, spec)?, spec, false, None)?;
                write(numbered("interpolation", lines - 1, "png"), &chart.png)?;
            }
        }
    }
    Ok(written)
}
