//! Figures: the surface with trajectories (PNG, animated GIF), the loss over time (PNG, animated
//! GIF) and the post's AdaGrad arrows.
//!
//! Figures observe a finished run: they read [`Trajectories`] and the experiment's `"plot"`
//! settings ([`PlotSpec`]), never the runner's internals. Lines and shapes are drawn with
//! tiny-skia, text with ab_glyph from the DejaVu fonts the build carries (so no system fonts),
//! the surface mesh into its own supersampled raster; animations draw their static part once and
//! encode only what each frame changes (the `gif` crate's encoder, one global palette).
//!
//! ```no_run
//! # fn main() -> optsurf::Result<()> {
//! use optsurf::results::Trajectories;
//! let path = std::path::Path::new("results/f0/trajectories.json");
//! let traj = Trajectories::load(path)?;
//! let device = optsurf::backend::Backend::Ndarray.device()?;
//! let surface = traj.resolve_surface(&optsurf::Registry::builtin(), path, &device)?;
//! let mesh = surface.on_mesh(&surface.noise(traj.noise, &device), &device);
//! let written = optsurf::plot::draw_all(&traj, &surface, &mesh, "results/f0".as_ref(), None)?;
//! # let _ = written; Ok(()) }
//! ```

mod arrows;
mod axes2d;
mod canvas;
mod colormap;
mod contour;
mod encode;
mod legend;
mod loss;
mod rates;
pub mod study;
mod surface3d;
mod text;
mod ticks;

pub use crate::experiment::plot_spec::{PlotSpec, Shown, View, YLim};
pub use arrows::draw_vectors;
pub use colormap::{Rgb, run_colors};
pub use contour::{ContourImage, ContourLayout, contour_image};
pub use surface3d::SurfaceLayout;

use crate::error::{Error, Result};
use crate::io::write_atomic;
use crate::results::trajectory::{RunTrajectory, Trajectories};
use crate::surface::Surface;
use canvas::Canvas;
use std::path::{Path, PathBuf};

/// Told how GIF frames progress while figures are drawn (a progress bar, say). Figures may be
/// drawn on two threads at once, hence `Sync`.
pub trait FrameProgress: Sync {
    /// `frames` frames are about to be rendered in all.
    fn start(&self, frames: u64);
    /// One more frame was rendered.
    fn advance(&self);
}

/// Losses are printed clipped to `±MAX_LOSS_VALUE`, as the post does.
pub const MAX_LOSS_VALUE: f64 = 999.99999;
/// The post's margin around automatic limits.
pub(crate) const MARGIN: f64 = 0.05;

/// Sizes of a figure: matplotlib's points at 100 dpi for a 900-pixel figure; smaller or larger
/// figures scale text and lines with the square root of their smaller side, so that small
/// figures stay legible.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Metrics {
    pub w: usize,
    pub h: usize,
    pub sc: f64,
}

impl Metrics {
    fn new(w: usize, h: usize) -> Self {
        Metrics {
            w,
            h,
            sc: (w.min(h) as f64 / 900.0).clamp(0.3, 5.0),
        }
    }

    /// Pixels for `points` typographic points.
    fn pt(&self, points: f64) -> f64 {
        points * 100.0 / 72.0 * self.sc
    }
}

/// A loss as the post prints it: clipped to `±MAX_LOSS_VALUE` (NaN stays NaN).
pub(crate) fn clip_loss(v: f32) -> f64 {
    (v as f64).clamp(-MAX_LOSS_VALUE, MAX_LOSS_VALUE)
}

/// An encoded figure: the still (last frame) and, when animated, the GIF.
#[derive(Clone, Debug)]
pub struct Figure {
    /// PNG bytes of the last frame.
    pub png: Vec<u8>,
    /// GIF bytes, one frame per point, when animated.
    pub gif: Option<Vec<u8>>,
}

/// The points a figure draws of run `r`: its evaluation points when the spec asks for them and
/// the run has them, else where its gradients were taken.
fn shown<'a>(r: &'a RunTrajectory, spec: &PlotSpec) -> &'a [[f32; 2]] {
    match (&r.eval_points, spec.points) {
        (Some(eval), Shown::Eval) => eval,
        _ => &r.points,
    }
}

/// Points of an animation: one per point of the longest run (at least one).
pub fn frame_count(traj: &Trajectories) -> usize {
    traj.runs.iter().map(RunTrajectory::drawable).max().unwrap_or(0).max(1)
}

/// The points an animation of `n` points shows as frames: all of them, or `max` evenly spaced
/// ones, the first and the last always among them.
pub fn shown_frames(n: usize, max: usize) -> Vec<usize> {
    if n <= max.max(2) {
        return (0..n).collect();
    }
    let m = max.max(2);
    let mut out: Vec<usize> = (0..m).map(|i| (i * (n - 1) + (m - 1) / 2) / (m - 1)).collect();
    out.dedup();
    out
}

/// The number of frames the GIFs of `traj` have.
pub fn gif_frame_count(traj: &Trajectories) -> usize {
    shown_frames(frame_count(traj), traj.plot.max_frames as usize).len()
}

fn checked_spec(traj: &Trajectories) -> Result<&PlotSpec> {
    traj.plot
        .validate()
        .map_err(|e| Error::Plot(format!("plot.{}: {}", e.path(), e.message())))?;
    Ok(&traj.plot)
}

/// Colours that must stay exact in GIF palettes.
fn reserved(runs: &[colormap::Rgb]) -> Vec<colormap::Rgb> {
    let mut v = vec![
        colormap::WHITE,
        colormap::TICK,
        colormap::SPINE,
        colormap::GRID,
        colormap::PANE,
        colormap::LABEL,
    ];
    for &c in runs {
        v.push(c);
        v.push(colormap::halved(c));
    }
    v
}

/// An animation: the static part, how paths grow into frame `k`, and what else frame `k` shows.
struct Animation<'a> {
    base: &'a Canvas,
    n: usize,
    grow: &'a dyn Fn(&mut Canvas, usize),
    marks: &'a dyn Fn(&mut Canvas, usize) -> Result<()>,
}

impl Animation<'_> {
    /// The static part with every path fully grown.
    fn trails(&self) -> Canvas {
        let mut t = self.base.clone();
        for k in 0..self.n {
            (self.grow)(&mut t, k);
        }
        t.take_dirty();
        t
    }

    /// Renders frames `0..n` into a GIF whose palette comes from `base` and `last`. Paths are
    /// grown one segment a frame on a trail canvas; each frame copies the trail where the previous
    /// frame's marks were or the paths grew, draws its marks, and only the changed rectangle is
    /// encoded.
    fn gif(
        &self,
        last: &Canvas,
        spec: &PlotSpec,
        colors: &[colormap::Rgb],
        frames: Option<&dyn FrameProgress>,
    ) -> Result<Vec<u8>> {
        let mut gif = encode::GifWriter::new(
            self.base.w,
            self.base.h,
            &[self.base, last],
            &reserved(colors),
            spec.frame_ms,
        )?;
        let mut trail = self.base.clone();
        let mut cur = self.base.clone();
        let mut prev: Vec<canvas::Rect> = Vec::new();
        let shown = shown_frames(self.n, spec.max_frames as usize);
        let mut next = shown.iter().copied().peekable();
        for k in 0..self.n {
            // Paths grow at every point; only the shown points become frames.
            (self.grow)(&mut trail, k);
            if next.peek() != Some(&k) {
                continue;
            }
            next.next();
            let mut region = prev;
            region.extend(trail.take_dirty());
            cur.restore(&trail, &region);
            cur.take_dirty();
            (self.marks)(&mut cur, k)?;
            let drawn = cur.take_dirty();
            region.extend(drawn.iter().copied());
            gif.push(&cur, &region)?;
            prev = drawn;
            if let Some(progress) = frames {
                progress.advance();
            }
        }
        gif.finish()
    }
}

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
}

/// The surface figure: PNG of the last frame and, if `animated`, the GIF with one frame per point.
/// `mesh` is `surface` on the `GRID` x `GRID` mesh of its domain (`Surface::on_mesh`); the view
/// is the spec's 3D camera, or the contour view with the surface's known minima and each run's
/// start marked. Advances `frames` once per GIF frame.
pub fn surface_figure(
    traj: &Trajectories,
    surface: &Surface,
    mesh: &[f32],
    animated: bool,
    frames: Option<&dyn FrameProgress>,
) -> Result<Figure> {
    let spec = checked_spec(traj)?;
    let m = Metrics::new(spec.size[0] as usize, spec.size[1] as usize);
    let colors = colormap::run_colors(spec, traj.runs.len())?;
    let scene = match spec.view {
        View::Camera(_) => Scene::Camera(SurfaceLayout::new(spec, mesh, surface.domain)?),
        View::Contour => Scene::Contour(ContourLayout::new(m.w, m.h, surface.domain)?),
    };
    let runs: Vec<surface3d::RunView> = traj
        .runs
        .iter()
        .zip(&colors)
        .map(|(r, &color)| {
            let points = shown(r, spec);
            let n = r.drawable().min(points.len());
            surface3d::RunView {
                color,
                label: r.label.clone(),
                px: (0..n)
                    .map(|i| scene.to_pixel(points[i][0] as f64, points[i][1] as f64, r.loss[i] as f64))
                    .collect(),
                loss: r.loss[..n].to_vec(),
            }
        })
        .collect();
    let n = frame_count(traj);
    let base = match &scene {
        Scene::Camera(layout) => layout.render_static(mesh)?,
        Scene::Contour(layout) => {
            let minima: Vec<[f64; 2]> = surface.minima().map(|s| s.point).collect();
            let starts: Vec<([f64; 2], colormap::Rgb)> = traj
                .runs
                .iter()
                .zip(&colors)
                .filter_map(|(r, &c)| shown(r, spec).first().map(|p| ([p[0] as f64, p[1] as f64], c)))
                .collect();
            layout.render_static(mesh, &minima, &starts)?
        }
    };
    // The contour view clips runs to its axes; the 3D view lets them leave the box, as matplotlib.
    let clip = match &scene {
        Scene::Camera(_) => None,
        Scene::Contour(layout) => Some(layout.clip()),
    };
    let grow = |c: &mut Canvas, k: usize| {
        c.set_clip(clip);
        surface3d::grow_runs(c, &m, &runs, k);
        c.set_clip(None);
    };
    let draw_marks = |c: &mut Canvas, k: usize| -> Result<()> {
        c.set_clip(clip);
        let drawn = surface3d::draw_marks(c, &m, &runs, k);
        c.set_clip(None);
        drawn
    };
    let mut last = Animation {
        base: &base,
        n,
        grow: &grow,
        marks: &|_, _| Ok(()),
    }
    .trails();
    draw_marks(&mut last, n - 1)?;
    let legend_at = if spec.legend && !runs.is_empty() {
        let legend = surface3d::legend_at(&m, &runs, n - 1);
        let area = match &scene {
            Scene::Camera(_) => [0.0, 0.0, m.w as f64, m.h as f64],
            Scene::Contour(layout) => layout.area(),
        };
        let at = legend.best_corner(&last, &base, area, 0.5 * m.pt(11.0))?;
        legend.draw(&mut last, at.0, at.1)?;
        Some(at)
    } else {
        None
    };
    let png = encode::png(&last)?;
    let marks = |c: &mut Canvas, k: usize| -> Result<()> {
        draw_marks(c, k)?;
        if let Some((x, y)) = legend_at {
            surface3d::legend_at(&m, &runs, k).draw(c, x, y)?;
        }
        Ok(())
    };
    let gif = match animated {
        true => Some(
            Animation {
                base: &base,
                n,
                grow: &grow,
                marks: &marks,
            }
            .gif(&last, spec, &colors, frames)?,
        ),
        false => None,
    };
    Ok(Figure { png, gif })
}

/// The loss-over-time chart: PNG of the last frame and, if `animated`, the GIF with one frame
/// per point. `None` when no run has a point to chart. Advances `frames` once per GIF frame.
pub fn loss_figure(traj: &Trajectories, animated: bool, frames: Option<&dyn FrameProgress>) -> Result<Option<Figure>> {
    let spec = checked_spec(traj)?;
    if traj.runs.iter().all(|r| r.drawable() == 0) {
        return Ok(None);
    }
    let colors = colormap::run_colors(spec, traj.runs.len())?;
    let series: Vec<loss::Series> = traj
        .runs
        .iter()
        .zip(&colors)
        .map(|(r, &color)| loss::Series {
            color,
            label: r.label.clone(),
            loss: r.loss[..r.drawable()].to_vec(),
        })
        .collect();
    let n = frame_count(traj);
    let chart = loss::LossChart::new(spec, &series, n)?;
    let base = chart.render_static()?;
    let grow = |c: &mut Canvas, k: usize| chart.grow(c, k);
    let mut last = Animation {
        base: &base,
        n,
        grow: &grow,
        marks: &|_, _| Ok(()),
    }
    .trails();
    chart.draw_labels(&mut last, n - 1)?;
    let legend = chart.legend(n - 1);
    let (lx, ly) = legend.best_corner(&last, &base, chart.axes.area, chart.legend_pad())?;
    legend.draw(&mut last, lx, ly)?;
    let png = encode::png(&last)?;
    let marks = |c: &mut Canvas, k: usize| -> Result<()> {
        chart.draw_labels(c, k)?;
        chart.legend(k).draw(c, lx, ly)
    };
    let gif = match animated {
        true => Some(
            Animation {
                base: &base,
                n,
                grow: &grow,
                marks: &marks,
            }
            .gif(&last, spec, &colors, frames)?,
        ),
        false => None,
    };
    Ok(Some(Figure { png, gif }))
}

/// Draws every figure `traj.plot` asks for into `dir`: `surface.png` (last frame) and, if
/// `plot.animate`, `surface.gif`; if `plot.loss` (and some run has points), `loss.png` and, if
/// animated, `loss.gif`. Files are written atomically; returns their paths. `mesh` is `surface`
/// on the `GRID` x `GRID` mesh of its domain. `frames`, if given, is told the number of GIF frames
/// and each frame rendered. The two figures are drawn in parallel.
pub fn draw_all(
    traj: &Trajectories,
    surface: &Surface,
    mesh: &[f32],
    dir: &Path,
    frames: Option<&dyn FrameProgress>,
) -> Result<Vec<PathBuf>> {
    let spec = checked_spec(traj)?;
    let with_loss = spec.loss && traj.runs.iter().any(|r| r.drawable() > 0);
    if let Some(progress) = frames {
        let per = if spec.animate { gif_frame_count(traj) as u64 } else { 0 };
        progress.start(per * if with_loss { 2 } else { 1 });
    }
    let (surface, loss) = std::thread::scope(|s| {
        let loss = with_loss.then(|| s.spawn(|| loss_figure(traj, spec.animate, frames)));
        let surface = surface_figure(traj, surface, mesh, spec.animate, frames);
        let loss = match loss {
            Some(h) => h
                .join()
                .unwrap_or_else(|_| Err(Error::Plot("drawing the loss chart failed unexpectedly".into()))),
            None => Ok(None),
        };
        (surface, loss)
    });
    let (surface, loss) = (surface?, loss?);
    let mut written = Vec::new();
    let mut write = |name: &str, bytes: &[u8]| -> Result<()> {
        let path = dir.join(name);
        write_atomic(&path, bytes)?;
        written.push(path);
        Ok(())
    };
    write("surface.png", &surface.png)?;
    if let Some(gif) = &surface.gif {
        write("surface.gif", gif)?;
    }
    if let Some(loss) = &loss {
        write("loss.png", &loss.png)?;
        if let Some(gif) = &loss.gif {
            write("loss.gif", gif)?;
        }
    }
    if spec.loss
        && let Some(c) = rates::learning_rate_figure(traj)?
    {
        write("learning_rate.png", &encode::png(&c)?)?;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn losses_print_like_the_post() {
        assert_eq!(format!("{:10.5}", clip_loss(5e8)), " 999.99999");
        // As Python's `f"{-999.99999:.2f}"`.
        assert_eq!(format!("{:.2}", clip_loss(-f32::INFINITY)), "-1000.00");
        assert_eq!(
            format!("{:<7} {:10.5}", "SGD", clip_loss(0.034_25)),
            "SGD        0.03425"
        );
        assert!(clip_loss(f32::NAN).is_nan());
    }
}
