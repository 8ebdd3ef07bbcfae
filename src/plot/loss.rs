//! The loss-over-time chart: one line per run (x = step), each run's value in a column right of
//! the lines (spread apart, with a leader line to where its line is when it had to move), a
//! "Losses" legend with each run's latest value, y limits from the median to the maximum of all
//! finite losses (plus a margin) as the post computes them, or given.

use super::axes2d::{Axes2d, Room};
use super::canvas::{Canvas, Stroke};
use super::colormap::Rgb;
use super::declutter::spread;
use super::figure::{LegendRoom, Plot, Sheet};
use super::legend::{Fitted, Handle, Legend};
use super::target::Target;
use super::text::{self, Cut, Face, HAlign, Place, VAlign};
use super::{MARGIN, Metrics, clip_loss};
use crate::experiment::plot_spec::{PlotSpec, YLim};

/// One line on the chart: a run's loss (or another quantity) per step, or at the steps `steps`
/// names; dashed for a held-out set.
pub(crate) struct Series {
    pub color: Rgb,
    pub label: String,
    pub loss: Vec<f32>,
    /// The step of each value (`None`: value `i` is step `i`).
    pub steps: Option<Vec<usize>>,
    pub dashed: bool,
}

impl Series {
    /// A run's loss at every step, solid.
    pub(crate) fn per_step(color: Rgb, label: String, loss: Vec<f32>) -> Self {
        Series {
            color,
            label,
            loss,
            steps: None,
            dashed: false,
        }
    }

    /// The step of value `i`.
    fn step(&self, i: usize) -> f64 {
        self.steps.as_ref().map_or(i, |s| s[i]) as f64
    }
}

/// What a chart shows: its y-axis title, its legend's title and its fixed range, if any.
#[derive(Clone, Copy)]
pub(crate) struct Quantity {
    pub axis: &'static str,
    pub legend: &'static str,
    pub range: Option<[f64; 2]>,
}

impl Quantity {
    /// The post's loss chart.
    pub(crate) const LOSS: Quantity = Quantity {
        axis: "loss",
        legend: "Losses",
        range: None,
    };
    /// A classifier's accuracy.
    pub(crate) const ACCURACY: Quantity = Quantity {
        axis: "accuracy",
        legend: "Accuracy",
        range: Some([-MARGIN, 1.0 + MARGIN]),
    };
}

/// The loss chart's layout and content.
pub(crate) struct LossChart<'a> {
    pub axes: Axes2d,
    m: Metrics,
    series: &'a [Series],
    sheet: Sheet,
    label_em: f64,
    /// The series that have a legend row and an end label: the solid ones (a dashed series is
    /// its run's held-out twin, in the run's color).
    labeled: Vec<usize>,
    /// Each labeled series' name in its end label (shortened when long).
    names: Vec<String>,
    /// Left edge of the end labels' column.
    column: f64,
    legend: Option<Fitted>,
    quantity: Quantity,
}

/// The post's automatic y limits: `[median - MARGIN, max + MARGIN]` of every finite loss.
pub(crate) fn auto_ylim(series: &[Series]) -> [f64; 2] {
    let mut all: Vec<f64> = series
        .iter()
        .flat_map(|s| s.loss.iter())
        .filter(|v| v.is_finite())
        .map(|&v| clip_loss(v))
        .collect();
    if all.is_empty() {
        return [-MARGIN, MARGIN];
    }
    all.sort_by(f64::total_cmp);
    let n = all.len();
    // numpy's default (linear) quantile at 0.5.
    let pos = 0.5 * (n - 1) as f64;
    let (i, frac) = (pos.floor() as usize, pos - pos.floor());
    let median = all[i] + (all[(i + 1).min(n - 1)] - all[i]) * frac;
    [median - MARGIN, all[n - 1] + MARGIN]
}

/// A value as the end labels print it.
fn value_text(v: f32) -> String {
    format!("{:.2}", clip_loss(v))
}

/// The widest the end labels' column gets, as a share of the figure's width.
const COLUMN_SHARE: f64 = 0.22;

impl<'a> LossChart<'a> {
    /// Lays out the chart for `frames` steps of `series`: the end labels' column (names
    /// shortened to fit it), the axes left of it, and the legend fitted inside the axes.
    pub(crate) fn new(spec: &PlotSpec, series: &'a [Series], frames: usize, quantity: Quantity) -> Self {
        let (w, h) = (spec.size[0] as usize, spec.size[1] as usize);
        let m = Metrics::new(w, h);
        let label_em = m.pt(11.0);
        let em = label_em as f32;
        let ylim = match (quantity.range, &spec.loss_ylim) {
            (Some(r), _) | (None, &YLim::Range(r)) => r,
            (None, &YLim::Auto) => auto_ylim(series),
        };
        // Names fit the column with room for the widest value their line prints.
        let leader = m.pt(16.0);
        let column_w = COLUMN_SHARE * w as f64;
        let mut widest = 0.0f64;
        let labeled: Vec<usize> = (0..series.len()).filter(|&i| !series[i].dashed).collect();
        let names: Vec<String> = labeled
            .iter()
            .map(|&i| {
                let s = &series[i];
                let values = s
                    .loss
                    .iter()
                    .map(|&v| value_text(v))
                    .max_by_key(|t| t.len())
                    .unwrap_or_default();
                let value_w = text::text_width(&format!(" {values}"), Face::Sans, em);
                let name = text::ellipsize(&s.label, Face::Sans, em, column_w - value_w, Cut::Middle);
                widest = widest.max(text::text_width(&format!("{name} {values}"), Face::Sans, em));
                name
            })
            .collect();
        let right = if widest > 0.0 { leader + widest + m.pt(6.0) } else { 0.0 };
        let xlim = [-MARGIN, frames as f64 + MARGIN];
        let room = Room {
            right,
            ..Room::titles("step", quantity.axis)
        };
        let axes = Axes2d::new(w, h, xlim, ylim, room);
        let column = axes.area[2] + leader;
        let mut chart = LossChart {
            axes,
            m,
            series,
            sheet: Sheet {
                size: [w, h],
                points: frames,
                colors: series.iter().map(|s| s.color).collect(),
            },
            label_em,
            labeled,
            names,
            column,
            legend: None,
            quantity,
        };
        chart.legend = chart.fit_legend();
        chart
    }

    /// The "Losses" legend fitted inside the plot area (at most 60% of its width).
    fn fit_legend(&self) -> Option<Fitted> {
        let [x0, y0, x1, y1] = self.axes.area;
        let pad = 2.0 * self.legend_pad();
        let legend = Legend {
            title: match self.labeled.len() < self.series.len() {
                true => format!("{} (dashed: test)", self.quantity.legend),
                false => self.quantity.legend.into(),
            },
            rows: self
                .labeled
                .iter()
                .map(|&i| (self.series[i].color, self.series[i].label.clone()))
                .collect(),
            value_chars: 10,
            handle: Handle::Line,
            em: self.m.pt(11.0),
            title_em: self.m.pt(12.0),
            line_width: self.m.pt(1.5),
            dot_radius: self.m.pt(4.2),
        };
        legend.fit(0.6 * (x1 - x0 - pad), y1 - y0 - pad)
    }

    /// The pixel of series `s` at step `i` (NaN when its loss is not finite).
    fn point(&self, s: &Series, i: usize) -> [f64; 2] {
        let v = s.loss[i];
        if v.is_finite() {
            [self.axes.x(s.step(i)), self.axes.y(clip_loss(v))]
        } else {
            [f64::NAN, f64::NAN]
        }
    }

    /// Each run's value at step `k` (its last when it has fewer), NaN for none.
    fn value(&self, s: &Series, k: usize) -> f32 {
        match s.loss.len() {
            0 => f32::NAN,
            n => s.loss[k.min(n - 1)],
        }
    }

    /// Pixels between the legend and the plot area's edges.
    pub(crate) fn legend_pad(&self) -> f64 {
        0.5 * self.m.pt(11.0)
    }
}

impl Plot for LossChart<'_> {
    fn sheet(&self) -> &Sheet {
        &self.sheet
    }

    /// The frame with no lines: grid, spines, tick labels, axis titles.
    fn draw_static(&self, c: &mut dyn Target) {
        self.axes.draw_frame(c, true);
    }

    /// Every line up to step `k`.
    fn draw_paths(&self, c: &mut dyn Target, k: usize) {
        c.set_clip(Some(self.axes.clip()));
        for s in self.series {
            let n = s.loss.len().min(k + 1);
            let pts: Vec<[f64; 2]> = (0..n).map(|i| self.point(s, i)).collect();
            c.begin_group("run", &s.label);
            let width = self.m.pt(1.5);
            let stroke = Stroke {
                dash: s.dashed.then_some([3.7 * width, 1.6 * width]),
                ..Stroke::solid(s.color, width)
            };
            c.stroke(&pts, &stroke);
            c.end_group();
        }
        c.set_clip(None);
    }

    /// Adds each line's segment into step `k` (lines only grow).
    fn grow(&self, c: &mut Canvas, k: usize) {
        c.set_clip(Some(self.axes.clip()));
        let stroke = Stroke::solid(Rgb::default(), self.m.pt(1.5));
        for s in self.series {
            if k >= 1 && k < s.loss.len() {
                let prev = (k >= 2).then(|| (self.point(s, k - 2), self.point(s, k - 1)));
                c.extend(
                    prev,
                    self.point(s, k - 1),
                    self.point(s, k),
                    &Stroke {
                        color: s.color,
                        ..stroke
                    },
                );
            }
        }
        c.set_clip(None);
    }

    /// Labels of the lines at step `k`: in a column right of the plot area (a column that stays
    /// put keeps the animation calm and its GIF small), each at its line's current value,
    /// spread so they do not overlap, with a leader line where one had to move. Labels the
    /// column cannot hold are left out (the legend has every value).
    fn draw_marks(&self, c: &mut dyn Target, k: usize, _avoid: &[[f64; 4]]) {
        let a = &self.axes;
        let em = self.label_em as f32;
        let want: Vec<f64> = self
            .labeled
            .iter()
            .map(|&i| {
                let v = self.value(&self.series[i], k);
                if v.is_finite() {
                    a.y(clip_loss(v)).clamp(a.area[1], a.area[3])
                } else {
                    f64::NAN
                }
            })
            .collect();
        let gap = 1.15 * self.label_em;
        let ys = spread(&want, gap, a.area[1] + gap / 2.0, a.area[3] - gap / 2.0);
        let leader = |c: &mut dyn Target, color: Rgb, from: f64, to: f64| {
            let (x0, x1) = (a.area[2] + self.m.pt(1.5), self.column - self.m.pt(1.5));
            let s = Stroke {
                alpha: 0.8,
                ..Stroke::solid(color, self.m.pt(0.75))
            };
            c.stroke(&[[x0, from], [x1, to]], &s);
        };
        for (i, s) in self.labeled.iter().map(|&i| &self.series[i]).enumerate() {
            let Some(y) = ys[i] else {
                continue;
            };
            if (y - want[i]).abs() > 0.3 * gap {
                leader(c, s.color, want[i], y);
            }
            let at = Place {
                x: self.column,
                y,
                h: HAlign::Left,
                v: VAlign::Center,
            };
            let t = format!("{} {}", self.names[i], value_text(self.value(s, k)));
            text::label(c, &t, Face::Sans, em, at, s.color);
        }
    }

    fn legend(&self) -> Option<&Fitted> {
        self.legend.as_ref()
    }

    fn legend_value(&self, run: usize, k: usize) -> String {
        format!("{:10.5}", clip_loss(self.value(&self.series[self.labeled[run]], k)))
    }

    fn legend_room(&self) -> LegendRoom {
        LegendRoom {
            area: self.axes.area,
            pad: self.legend_pad(),
            avoid: Vec::new(),
        }
    }
}
