//! The loss-over-time chart: one line per run (x = step), labels at the lines' ends, a "Losses"
//! legend with each run's latest value, y limits from the median to the maximum of all finite
//! losses (plus a margin) as the post computes them, or given.

use super::axes2d::Axes2d;
use super::canvas::{Canvas, Stroke};
use super::colormap::Rgb;
use super::legend::{Handle, Legend};
use super::text::{self, Face, HAlign, Place, VAlign};
use super::{MARGIN, Metrics, clip_loss};
use crate::error::Result;
use crate::experiment::plot_spec::{PlotSpec, YLim};

/// One run on the chart.
pub(crate) struct Series {
    pub color: Rgb,
    pub label: String,
    pub loss: Vec<f32>,
}

/// The loss chart's layout and content.
pub(crate) struct LossChart<'a> {
    pub axes: Axes2d,
    m: Metrics,
    series: &'a [Series],
    label_em: f64,
    frames: usize,
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

fn end_label(s: &Series, v: f32) -> String {
    format!("{} {:.2}", s.label, clip_loss(v))
}

impl<'a> LossChart<'a> {
    /// Lays out the chart for `frames` steps of `series`.
    pub fn new(spec: &PlotSpec, series: &'a [Series], frames: usize) -> Result<Self> {
        let (w, h) = (spec.size[0] as usize, spec.size[1] as usize);
        let m = Metrics::new(w, h);
        let label_em = m.pt(11.0);
        let ylim = match spec.loss_ylim {
            YLim::Range(r) => r,
            YLim::Auto => auto_ylim(series),
        };
        // Room on the right for the widest label a line end will carry.
        let mut extra = 0.0f64;
        for s in series {
            let mut widest = String::new();
            for &v in &s.loss {
                let l = end_label(s, v);
                if l.len() > widest.len() {
                    widest = l;
                }
            }
            extra = extra.max(text::text_width(&widest, Face::Sans, label_em as f32)? as f64);
        }
        let extra = if extra > 0.0 { extra + m.pt(6.0) } else { 0.0 };
        let xlim = [-MARGIN, frames as f64 + MARGIN];
        let axes = Axes2d::new(w, h, xlim, ylim, extra)?;
        Ok(LossChart {
            axes,
            m,
            series,
            label_em,
            frames,
        })
    }

    /// The frame with no lines: grid, spines, tick labels.
    pub fn render_static(&self) -> Result<Canvas> {
        let mut c = Canvas::new(self.m.w, self.m.h);
        self.axes.draw_frame(&mut c, true)?;
        c.take_dirty();
        Ok(c)
    }

    /// The pixel of series `s` at step `i` (NaN when its loss is not finite).
    fn point(&self, s: &Series, i: usize) -> [f64; 2] {
        let v = s.loss[i];
        if v.is_finite() {
            [self.axes.x(i as f64), self.axes.y(clip_loss(v))]
        } else {
            [f64::NAN, f64::NAN]
        }
    }

    /// Adds each line's segment into step `k` (lines only grow).
    pub fn grow(&self, c: &mut Canvas, k: usize) {
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

    /// Labels of the lines at step `k`: at each line's current value, spread so they do not
    /// overlap, in a column where the lines end in the last frame (a column that stays put keeps
    /// the animation calm and its GIF small).
    pub fn draw_labels(&self, c: &mut Canvas, k: usize) -> Result<()> {
        let a = &self.axes;
        let mut ends = Vec::new();
        for s in self.series {
            if s.loss.is_empty() {
                continue;
            }
            let last = k.min(s.loss.len() - 1);
            let v = s.loss[last];
            if v.is_finite() {
                ends.push((a.y(clip_loss(v)).clamp(a.area[1], a.area[3]), s, v));
            }
        }
        // Spread the end labels vertically: at least a line apart, inside the plot area.
        ends.sort_by(|p, q| p.0.total_cmp(&q.0));
        let gap = 1.15 * self.label_em;
        let mut ys: Vec<f64> = ends.iter().map(|e| e.0).collect();
        for i in 1..ys.len() {
            ys[i] = ys[i].max(ys[i - 1] + gap);
        }
        if let Some(last) = ys.last_mut() {
            *last = last.min(a.area[3] - gap / 2.0);
        }
        for i in (0..ys.len().saturating_sub(1)).rev() {
            ys[i] = ys[i].min(ys[i + 1] - gap);
        }
        let x = a.x(self.frames.saturating_sub(1) as f64).max(a.area[2]);
        for ((_, s, v), y) in ends.iter().zip(ys) {
            let at = Place {
                x: x + self.m.pt(3.0),
                y,
                h: HAlign::Left,
                v: VAlign::Center,
            };
            text::label(c, &end_label(s, *v), Face::Sans, self.label_em as f32, at, s.color)?;
        }
        Ok(())
    }

    /// The "Losses" legend with each run's value at step `k`.
    pub fn legend(&self, k: usize) -> Legend {
        let width = self.series.iter().map(|s| s.label.chars().count()).max().unwrap_or(0);
        let rows = self
            .series
            .iter()
            .map(|s| {
                let v = if s.loss.is_empty() {
                    f32::NAN
                } else {
                    s.loss[k.min(s.loss.len() - 1)]
                };
                (s.color, format!("{:<width$} {:10.5}", s.label, clip_loss(v)))
            })
            .collect();
        Legend {
            title: "Losses".into(),
            rows,
            handle: Handle::Line,
            em: self.m.pt(11.0),
            title_em: self.m.pt(12.0),
            line_width: self.m.pt(1.5),
            dot_radius: self.m.pt(4.2),
        }
    }

    /// Pixels between the legend and the plot area's edges.
    pub fn legend_pad(&self) -> f64 {
        0.5 * self.m.pt(11.0)
    }
}
