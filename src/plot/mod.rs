//! Figures: the surface with trajectories (PNG, SVG, animated GIF), the loss over time (PNG,
//! SVG, animated GIF), the learning rates of scheduled runs, the post's AdaGrad arrows, and the
//! study figures (`study`).
//!
//! Figures observe a finished run: they read [`Trajectories`] and the experiment's `"plot"`
//! settings ([`PlotSpec`]), never the runner's internals. A figure's layout draws into a drawing
//! target: the raster (lines and shapes with tiny-skia, text with ab_glyph from the DejaVu fonts
//! the build carries, so no system fonts; the surface mesh in its own supersampled raster) or an
//! SVG document (`plot.format`). Animations draw their static part once and encode only what
//! each frame changes (the `gif` crate's encoder, one global palette). Labels of any length and
//! any number of runs are fitted, never refused.
//!
//! ```no_run
//! # fn main() -> optsurf::Result<()> {
//! use optsurf::results::Trajectories;
//! let path = std::path::Path::new("results/f0/trajectories.json");
//! let traj = Trajectories::load(path)?;
//! let device = optsurf::backend::Backend::default().device()?;
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
mod declutter;
mod encode;
mod figure;
mod landscape;
mod legend;
mod loss;
mod rates;
mod scene;
pub(crate) mod study;
mod surface3d;
mod svg;
mod target;
mod text;
mod ticks;

pub(crate) use self::{
    arrows::draw_vectors,
    landscape::{draw_landscapes, plane_image},
    study::draw_all as draw_study,
};
pub(crate) use figure::Figure;
pub use {
    self::colormap::{Rgb, run_colors},
    self::contour::{ContourImage, ContourLayout, contour_image},
    crate::experiment::plot_spec::{Format, PlotSpec, Shown, View, YLim},
};

use crate::error::{Error, Result};
use crate::io::write_atomic;
use crate::results::trajectory::{RunTrajectory, Trajectories};
use crate::surface::Surface;
use burn::tensor::Device;
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
pub(crate) const MAX_LOSS_VALUE: f64 = 999.99999;
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

    /// Sizes of a `w` x `h` figure at `dpi` dots per inch whatever its size (matplotlib's own
    /// rule; the study figures and the learning-rate chart).
    fn at_dpi(w: usize, h: usize, dpi: f64) -> Self {
        Metrics { w, h, sc: dpi / 100.0 }
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

/// The points a figure draws of run `r`: its evaluation points when the spec asks for them and
/// the run has them, else where its gradients were taken.
fn shown<'a>(r: &'a RunTrajectory, spec: &PlotSpec) -> &'a [[f32; 2]] {
    match (&r.eval_points, spec.points) {
        (Some(eval), Shown::Eval) => eval,
        _ => &r.points,
    }
}

/// Points of an animation: one per point of the longest run (at least one).
pub(crate) fn frame_count(traj: &Trajectories) -> usize {
    traj.runs.iter().map(RunTrajectory::drawable).max().unwrap_or(0).max(1)
}

/// The points an animation of `n` points shows as frames: all of them, or `max` evenly spaced
/// ones, the first and the last always among them.
pub(crate) fn shown_frames(n: usize, max: usize) -> Vec<usize> {
    if n <= max.max(2) {
        return (0..n).collect();
    }
    let m = max.max(2);
    let mut out: Vec<usize> = (0..m).map(|i| (i * (n - 1) + (m - 1) / 2) / (m - 1)).collect();
    out.dedup();
    out
}

/// The number of frames the GIFs of `traj` have.
pub(crate) fn gif_frame_count(traj: &Trajectories) -> usize {
    shown_frames(frame_count(traj), traj.plot.max_frames as usize).len()
}

/// The spec of `traj` once checked, and the fonts loaded: what every figure starts with.
fn checked_spec(traj: &Trajectories) -> Result<&PlotSpec> {
    traj.plot
        .validate()
        .map_err(|e| Error::Plot(format!("plot.{}: {}", e.path(), e.message())))?;
    text::check_fonts()?;
    Ok(&traj.plot)
}

/// The surface figure: PNG of the last frame (and SVG when `plot.format` asks), and, if
/// `animated`, the GIF with one frame per point. `mesh` is `surface` on the `GRID` x `GRID` mesh
/// of its domain (`Surface::on_mesh`); the view is the spec's 3D camera, or the contour view with
/// the surface's known minima and each run's start marked. Advances `frames` once per GIF frame.
pub(crate) fn surface_figure(
    traj: &Trajectories,
    surface: &Surface,
    mesh: &[f32],
    animated: bool,
    frames: Option<&dyn FrameProgress>,
) -> Result<Figure> {
    let spec = checked_spec(traj)?;
    let plot = scene::SurfacePlot::new(traj, surface, mesh)?;
    figure::render(&plot, spec, animated, frames)
}

/// The loss-over-time chart: PNG of the last frame (and SVG when `plot.format` asks), and, if
/// `animated`, the GIF with one frame per point. `None` when no run has a point to chart.
/// Advances `frames` once per GIF frame.
pub(crate) fn loss_figure(
    traj: &Trajectories,
    animated: bool,
    frames: Option<&dyn FrameProgress>,
) -> Result<Option<Figure>> {
    let spec = checked_spec(traj)?;
    if traj.runs.iter().all(|r| r.drawable() == 0) {
        return Ok(None);
    }
    let colors = colormap::run_colors(spec, traj.runs.len())?;
    let series: Vec<loss::Series> = traj
        .runs
        .iter()
        .zip(&colors)
        .map(|(r, &color)| loss::Series::per_step(color, r.label.clone(), r.loss[..r.drawable()].to_vec()))
        .collect();
    let chart = loss::LossChart::new(spec, &series, frame_count(traj), loss::Quantity::LOSS);
    figure::render(&chart, spec, animated, frames).map(Some)
}

/// Draws every figure `traj.plot` asks for into `dir`: `surface.png` (last frame) and, if
/// `plot.animate`, `surface.gif`; if `plot.loss` (and some run has points), `loss.png` and, if
/// animated, `loss.gif`; with a learning-rate schedule, `learning_rate.png`. Each still is
/// written in every `plot.format` (`surface.svg` beside `surface.png`). Files are written
/// atomically; returns their paths. `mesh` is `surface` on the `GRID` x `GRID` mesh of its
/// domain. `frames`, if given, is told the number of GIF frames and each frame rendered. The two
/// figures are drawn in parallel.
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
    let rates = match spec.loss {
        true => rates::learning_rate_figure(traj)?,
        false => None,
    };
    write_figures(
        dir,
        spec,
        [("surface", Some(surface)), ("loss", loss), ("learning_rate", rates)],
    )
}

/// Every figure of `traj` into `dir`: a model's charts ([`draw_model`]), or the surface and loss
/// figures over `surface`'s mesh ([`draw_all`]).
pub(crate) fn draw_figures(
    traj: &Trajectories,
    surface: &Surface,
    device: &Device,
    dir: &Path,
    frames: Option<&dyn FrameProgress>,
) -> Result<Vec<PathBuf>> {
    if surface.model().is_some() {
        return draw_model(traj, dir);
    }
    let mesh = surface.on_mesh(&surface.noise(traj.noise, device), device);
    draw_all(traj, surface, &mesh, dir, frames)
}

/// A model experiment's figures (a model has no surface to draw): `loss.png`, each run's
/// training loss (solid) and test loss (dashed, when rows are held out) at the evaluation
/// steps; `accuracy.png` for a classifier, training and test alike; `learning_rate.png` with a
/// schedule. Each is written in every `plot.format`, as stills; returns the paths.
pub(crate) fn draw_model(traj: &Trajectories, dir: &Path) -> Result<Vec<PathBuf>> {
    let spec = checked_spec(traj)?;
    let colors = colormap::run_colors(spec, traj.runs.len())?;
    let steps = traj.eval_steps.clone().unwrap_or_else(|| (0..=traj.steps).collect());
    let chart = |quantity: loss::Quantity, pick: &dyn Fn(&RunTrajectory) -> [Option<&Vec<f32>>; 2]| {
        let mut series = Vec::new();
        for (r, &color) in traj.runs.iter().zip(&colors) {
            let [train, test] = pick(r);
            for (values, dashed) in [(train, false), (test, true)] {
                let Some(values) = values else {
                    continue;
                };
                series.push(loss::Series {
                    color,
                    label: r.label.clone(),
                    loss: values.clone(),
                    steps: Some(steps[..values.len().min(steps.len())].to_vec()),
                    dashed,
                });
            }
        }
        if series.iter().all(|s| s.loss.is_empty()) {
            return Ok(None);
        }
        let chart = loss::LossChart::new(spec, &series, traj.steps, quantity);
        figure::render(&chart, spec, false, None).map(Some)
    };
    let losses = chart(loss::Quantity::LOSS, &|r| [Some(&r.loss), r.test_loss.as_ref()])?;
    let accuracy = chart(loss::Quantity::ACCURACY, &|r| {
        [r.accuracy.as_ref(), r.test_accuracy.as_ref()]
    })?;
    let rates = rates::learning_rate_figure(traj)?;
    write_figures(
        dir,
        spec,
        [("loss", losses), ("accuracy", accuracy), ("learning_rate", rates)],
    )
}

/// Writes each figure into `dir` as `NAME.EXT` in every `plot.format` (and `NAME.gif` when
/// animated); returns the paths.
fn write_figures(dir: &Path, spec: &PlotSpec, figures: [(&str, Option<Figure>); 3]) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for (name, figure) in figures {
        let Some(figure) = figure else {
            continue;
        };
        for format in &spec.format {
            let bytes: &[u8] = match format {
                Format::Png => &figure.png,
                Format::Svg => figure.svg.as_deref().map_or(&[], str::as_bytes),
            };
            written.push(write(dir, &format!("{name}.{}", format.extension()), bytes)?);
        }
        if let Some(gif) = &figure.gif {
            written.push(write(dir, &format!("{name}.gif"), gif)?);
        }
    }
    Ok(written)
}

/// Writes `bytes` to `dir/name` atomically; returns the path.
fn write(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf> {
    let path = dir.join(name);
    write_atomic(&path, bytes)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    //! The figures drawn and read back: their layout, pixels, SVG and animations
    //! (`figures.rs`), and the contour view (`contour.rs`).
    use super::*;

    mod contour;
    mod figures;
    mod landscape;

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
