//! The figures of a model's landscapes: `landscape_contour.png`, the plane's loss as the contour
//! view draws a surface with every run's projected path over it (points further off the plane
//! than the threshold drawn hollow, the centre starred), axes titled with the variance each PCA
//! direction explains; and `interpolation.png`, the train (solid) and test (dashed) loss along
//! each interpolation.

use super::Metrics;
use super::axes2d::{Axes2d, Room};
use super::canvas::{Canvas, Cap, Stroke};
use super::colormap::{self, Rgb, WHITE};
use super::contour::{ContourLayout, circle};
use super::figure::{self, LegendRoom, Plot, Sheet};
use super::legend::{Fitted, Handle, Legend};
use super::target::Target;
use crate::error::Result;
use crate::experiment::plot_spec::PlotSpec;
use crate::landscape::{Interpolation, Landscape, PlaneLandscape, numbered};
use crate::surface::Domain;
use crate::surface::noise::GRID;
use std::path::{Path, PathBuf};

/// The plane's losses resampled (bilinearly) onto the contour view's `GRID x GRID` mesh of
/// `domain`, `x` index first.
fn resample(plane: &PlaneLandscape, domain: Domain) -> Vec<f32> {
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
        let ends = |v: &[f32]| [v[0] as f64, v[v.len() - 1] as f64];
        let domain = Domain::from([ends(&plane.a), ends(&plane.b)]);
        let titles = match plane.explained_variance {
            Some([e0, e1]) => Room::titles(
                &format!("PC 1: {:.1}% of the variance", 100.0 * e0),
                &format!("PC 2: {:.1}% of the variance", 100.0 * e1),
            ),
            None => Room::titles(
                &format!("direction 0 ({} normalized)", plane.normalize),
                &format!("direction 1 ({} normalized)", plane.normalize),
            ),
        };
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
                off: r
                    .residual
                    .iter()
                    .map(|&e| e.is_nan() || e > plane.residual_threshold)
                    .collect(),
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
                if off {
                    t.disc(q, radius, WHITE, 0.8);
                    t.stroke(&circle(q, radius), &Stroke::solid(p.color, self.m.pt(1.0)));
                } else {
                    t.disc(q, radius, p.color, 1.0);
                }
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

/// The interpolation chart.
struct LineFigure {
    m: Metrics,
    axes: Axes2d,
    a: Vec<f64>,
    /// `(colour, values, dashed)`.
    lines: Vec<(Rgb, Vec<f32>, bool)>,
    sheet: Sheet,
    legend: Option<Fitted>,
}

impl LineFigure {
    fn new(line: &Interpolation, spec: &PlotSpec) -> Result<Self> {
        let m = Metrics::new(spec.size[0] as usize, spec.size[1] as usize);
        let colors = colormap::run_colors(spec, line.curves.len())?;
        let mut lines = Vec::new();
        for (c, &color) in line.curves.iter().zip(&colors) {
            lines.push((color, c.train_loss.clone(), false));
            if let Some(test) = &c.test_loss {
                lines.push((color, test.clone(), true));
            }
        }
        let finite: Vec<f64> = lines
            .iter()
            .flat_map(|l| l.1.iter())
            .filter(|v| v.is_finite())
            .map(|&v| super::clip_loss(v))
            .collect();
        let lo = finite.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let margin = 0.05 * (hi - lo).max(1e-6);
        let a: Vec<f64> = line.a.iter().map(|&v| v as f64).collect();
        let axes = Axes2d::new(
            m.w,
            m.h,
            [a[0], a[a.len() - 1]],
            [lo - margin, hi + margin],
            Room::titles("a: (1 - a) w_from + a w_to", "loss (solid: train, dashed: test)"),
        );
        let [x0, y0, x1, y1] = axes.area;
        let legend = Legend {
            title: "Interpolations".into(),
            rows: line
                .curves
                .iter()
                .zip(&colors)
                .map(|(c, &col)| (col, c.label.clone()))
                .collect(),
            value_chars: 0,
            handle: Handle::Line,
            em: m.pt(11.0),
            title_em: m.pt(12.0),
            line_width: m.pt(1.5),
            dot_radius: m.pt(4.2),
        }
        .fit(0.6 * (x1 - x0), y1 - y0);
        Ok(LineFigure {
            m,
            axes,
            a,
            lines,
            sheet: Sheet {
                size: [m.w, m.h],
                points: 1,
                colors,
            },
            legend,
        })
    }
}

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
        let [_, y0, _, y1] = self.axes.area;
        for a in [0.0, 1.0] {
            let x = self.axes.x(a);
            t.stroke(&[[x, y0], [x, y1]], &marker);
        }
        t.set_clip(None);
    }

    fn draw_paths(&self, t: &mut dyn Target, _k: usize) {
        t.set_clip(Some(self.axes.clip()));
        for (color, values, dashed) in &self.lines {
            let px: Vec<[f64; 2]> = self
                .a
                .iter()
                .zip(values)
                .filter(|(_, v)| v.is_finite())
                .map(|(&a, &v)| [self.axes.x(a), self.axes.y(super::clip_loss(v))])
                .collect();
            let mut stroke = Stroke::solid(*color, self.m.pt(1.5));
            if *dashed {
                stroke.dash = Some([self.m.pt(4.0), self.m.pt(2.5)]);
                stroke.cap = Cap::Butt;
            }
            t.stroke(&px, &stroke);
        }
        t.set_clip(None);
    }

    fn grow(&self, _c: &mut Canvas, _k: usize) {}

    fn draw_marks(&self, _t: &mut dyn Target, _k: usize, _avoid: &[[f64; 4]]) {}

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

/// Draws each landscape's figure into `dir` (numbered as their files are): returns the paths.
pub(crate) fn draw_landscapes(landscapes: &[Landscape], spec: &PlotSpec, dir: &Path) -> Result<Vec<PathBuf>> {
    super::text::check_fonts()?;
    let (mut planes, mut lines) = (0, 0);
    let mut written = Vec::new();
    for landscape in landscapes {
        let (figure, name) = match landscape {
            Landscape::Plane(plane) => {
                planes += 1;
                (
                    figure::render(&PlaneFigure::new(plane, spec)?, spec, false, None)?,
                    numbered("landscape_contour", planes - 1, "png"),
                )
            }
            Landscape::Line(line) => {
                lines += 1;
                (
                    figure::render(&LineFigure::new(line, spec)?, spec, false, None)?,
                    numbered("interpolation", lines - 1, "png"),
                )
            }
        };
        let path = dir.join(name);
        crate::io::write_atomic(&path, &figure.png)?;
        written.push(path);
    }
    Ok(written)
}
