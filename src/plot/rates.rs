//! `learning_rate.png`: the learning rate each scheduled run used at each step, in its run's
//! colour (runs with a constant rate have no line), on a log scale when the rates span more than
//! two decades.

use super::Metrics;
use super::axes2d::Axes2d;
use super::canvas::{Canvas, Stroke};
use super::colormap::{self, LABEL};
use super::text::{self, Face, HAlign, Place, VAlign};
use crate::error::Result;
use crate::results::trajectory::Trajectories;

/// The chart, or `None` when no run has a schedule.
pub fn learning_rate_figure(traj: &Trajectories) -> Result<Option<Canvas>> {
    let colors = colormap::run_colors(&traj.plot, traj.runs.len())?;
    let lines: Vec<(&str, &[f32], colormap::Rgb)> = traj
        .runs
        .iter()
        .zip(colors)
        .filter_map(|(r, c)| r.learning_rates.as_deref().map(|l| (r.label.as_str(), l, c)))
        .filter(|(_, l, _)| !l.is_empty())
        .collect();
    if lines.is_empty() {
        return Ok(None);
    }
    let values: Vec<f64> = lines
        .iter()
        .flat_map(|(_, l, _)| l.iter().map(|&v| v as f64))
        .filter(|v| v.is_finite())
        .collect();
    let lo = values.iter().cloned().fold(f64::INFINITY, f64::min);
    let hi = values.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let log = lo > 0.0 && hi / lo > 100.0;
    let f = |v: f64| if log { v.log10() } else { v };
    let (ylo, yhi) = if values.is_empty() { (0.0, 1.0) } else { (f(lo), f(hi)) };
    let pad = if yhi > ylo {
        0.05 * (yhi - ylo)
    } else {
        0.5 * ylo.abs().max(1e-3)
    };
    let steps = lines.iter().map(|(_, l, _)| l.len()).max().unwrap_or(1);
    let (w, h) = (900usize, 480usize);
    let m = Metrics::new(w, h);
    let mut c = Canvas::new(w, h);
    let axes = Axes2d::within(
        [0.0, 30.0, w as f64, h as f64],
        m,
        [0.0, (steps.max(2) - 1) as f64],
        [ylo - pad, yhi + pad],
        0.0,
    )?;
    axes.draw_frame(&mut c, true)?;
    let title = if log {
        "log10 of the learning rate at each step"
    } else {
        "learning rate at each step"
    };
    let at = Place {
        x: w as f64 / 2.0,
        y: 16.0,
        h: HAlign::Center,
        v: VAlign::Center,
    };
    text::label(&mut c, title, Face::Sans, m.pt(11.0) as f32, at, LABEL)?;
    c.set_clip(Some(axes.clip()));
    for (_, l, color) in &lines {
        let pts: Vec<[f64; 2]> = l
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(k, &v)| [axes.x(k as f64), axes.y(f(v as f64))])
            .collect();
        c.stroke(&pts, &Stroke::solid(*color, 2.0));
    }
    c.set_clip(None);
    for (k, (label, _, color)) in lines.iter().enumerate() {
        let at = Place {
            x: axes.area[2] - 10.0,
            y: axes.area[1] + 14.0 + 18.0 * k as f64,
            h: HAlign::Right,
            v: VAlign::Center,
        };
        let b = text::label(&mut c, label, Face::Sans, m.pt(9.5) as f32, at, LABEL)?;
        c.disc([b[0] - 8.0, at.y], 4.0, *color, 1.0);
    }
    Ok(Some(c))
}
