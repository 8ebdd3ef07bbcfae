//! `learning_rate.png`: the learning rate each scheduled run used at each step, in its run's
//! colour (runs with a constant rate have no line), on a log scale when the rates span more than
//! two decades, with a legend of the scheduled runs.

use super::axes2d::{Axes2d, Room};
use super::canvas::{Canvas, Stroke};
use super::colormap::{self, LABEL, Rgb};
use super::figure::{Figure, LegendRoom, Plot, Sheet, render};
use super::legend::{Fitted, Handle, Legend};
use super::target::Target;
use super::text::{self, Cut, Face, HAlign, Place, VAlign};
use super::{Metrics, checked_spec};
use crate::error::Result;
use crate::results::trajectory::Trajectories;

/// Size of the figure.
const SIZE: [usize; 2] = [900, 480];
/// Pixels above the title.
const TOP: f64 = 8.0;

/// The learning-rate chart's layout.
struct RatesChart<'a> {
    m: Metrics,
    axes: Axes2d,
    title: &'static str,
    /// `(label, rates, colour)` of each scheduled run.
    lines: Vec<(&'a str, &'a [f32], Rgb)>,
    sheet: Sheet,
    log: bool,
    legend: Option<Fitted>,
}

/// The chart, or `None` when no run has a schedule.
pub(crate) fn learning_rate_figure(traj: &Trajectories) -> Result<Option<Figure>> {
    let spec = checked_spec(traj)?;
    let colors = colormap::run_colors(spec, traj.runs.len())?;
    let lines: Vec<(&str, &[f32], Rgb)> = traj
        .runs
        .iter()
        .zip(colors)
        .filter_map(|(r, c)| r.learning_rates.as_deref().map(|l| (r.label.as_str(), l, c)))
        .filter(|(_, l, _)| !l.is_empty())
        .collect();
    if lines.is_empty() {
        return Ok(None);
    }
    let chart = RatesChart::new(lines);
    render(&chart, spec, false, None).map(Some)
}

impl<'a> RatesChart<'a> {
    /// Lays out the axes over every finite rate (log10 when they span more than two decades),
    /// with "step" and "learning rate" titles, and the legend fitted inside them.
    fn new(lines: Vec<(&'a str, &'a [f32], Rgb)>) -> Self {
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
        let [w, h] = SIZE;
        // Text at 100 dpi whatever the height, as the study figures: readable in a short figure.
        let m = Metrics::at_dpi(w, h, 100.0);
        let ylabel = if log { "log10 learning rate" } else { "learning rate" };
        let axes = Axes2d::within(
            [0.0, TOP + 1.4 * m.pt(11.0), w as f64, h as f64],
            m,
            [0.0, (steps.max(2) - 1) as f64],
            [ylo - pad, yhi + pad],
            Room::titles("step", ylabel),
        );
        let [x0, y0, x1, y1] = axes.area;
        let legend = Legend {
            title: String::new(),
            rows: lines.iter().map(|(l, _, c)| (*c, l.to_string())).collect(),
            value_chars: 0,
            handle: Handle::Line,
            em: m.pt(10.0),
            title_em: m.pt(10.0),
            line_width: 2.0,
            dot_radius: 4.0,
        }
        .fit(0.6 * (x1 - x0 - 20.0), y1 - y0 - 20.0);
        RatesChart {
            m,
            axes,
            title: if log {
                "log10 of the learning rate at each step"
            } else {
                "learning rate at each step"
            },
            sheet: Sheet {
                size: [w, h],
                points: 1,
                colors: lines.iter().map(|l| l.2).collect(),
            },
            lines,
            log,
            legend,
        }
    }

    fn y(&self, v: f32) -> f64 {
        let v = v as f64;
        self.axes.y(if self.log { v.log10() } else { v })
    }
}

impl Plot for RatesChart<'_> {
    fn sheet(&self) -> &Sheet {
        &self.sheet
    }

    /// The frame and the title above it.
    fn draw_static(&self, c: &mut dyn Target) {
        self.axes.draw_frame(c, true);
        let em = self.m.pt(11.0) as f32;
        let title = text::ellipsize(self.title, Face::Sans, em, self.m.w as f64 - 20.0, Cut::End);
        let at = Place {
            x: self.m.w as f64 / 2.0,
            y: TOP + 0.7 * self.m.pt(11.0),
            h: HAlign::Center,
            v: VAlign::Center,
        };
        text::label(c, &title, Face::Sans, em, at, LABEL);
    }

    /// Every run's rates, one line a run.
    fn draw_paths(&self, c: &mut dyn Target, _k: usize) {
        c.set_clip(Some(self.axes.clip()));
        for (label, l, color) in &self.lines {
            let pts: Vec<[f64; 2]> = l
                .iter()
                .enumerate()
                .filter(|(_, v)| v.is_finite())
                .map(|(k, &v)| [self.axes.x(k as f64), self.y(v)])
                .collect();
            c.begin_group("run", label);
            c.stroke(&pts, &Stroke::solid(*color, 2.0));
            c.end_group();
        }
        c.set_clip(None);
    }

    fn grow(&self, _c: &mut Canvas, _k: usize) {}

    fn draw_marks(&self, _c: &mut dyn Target, _k: usize, _avoid: &[[f64; 4]]) {}

    fn legend(&self) -> Option<&Fitted> {
        self.legend.as_ref()
    }

    fn legend_room(&self) -> LegendRoom {
        LegendRoom {
            area: self.axes.area,
            pad: 10.0,
            avoid: Vec::new(),
        }
    }
}
