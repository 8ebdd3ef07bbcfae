//! A 2D chart frame in seaborn's "whitegrid" look: light grid (dashed or solid) at matplotlib's
//! ticks, light spines on all four sides, no tick marks, grey tick labels.

use super::Metrics;
use super::canvas::{Canvas, Cap, Rect, Stroke};
use super::colormap::{GRID, SPINE, TICK};
use super::text::{self, Face, HAlign, Place, VAlign};
use super::ticks::{nice_ticks, tick_labels};
use crate::error::{Error, Result};

/// The plot area of a chart and its data-to-pixel mapping.
pub struct Axes2d {
    /// Plot area `[x0, y0, x1, y1]` in pixels.
    pub area: [f64; 4],
    xlim: [f64; 2],
    ylim: [f64; 2],
    xticks: Vec<f64>,
    yticks: Vec<f64>,
    m: Metrics,
}

impl Axes2d {
    /// Lays out a `w` x `h` chart of `xlim` x `ylim`, keeping `right_extra` pixels free on the
    /// right (for labels at line ends).
    pub fn new(w: usize, h: usize, xlim: [f64; 2], ylim: [f64; 2], right_extra: f64) -> Result<Self> {
        Self::within(
            [0.0, 0.0, w as f64, h as f64],
            Metrics::new(w, h),
            xlim,
            ylim,
            right_extra,
        )
    }

    /// Lays out a chart inside `frame` (`[x0, y0, x1, y1]` pixels of a larger figure whose sizes
    /// are `m`), as [`Axes2d::new`] does on a whole figure.
    pub fn within(frame: [f64; 4], m: Metrics, xlim: [f64; 2], ylim: [f64; 2], right_extra: f64) -> Result<Self> {
        let [fx0, fy0, fx1, fy1] = frame;
        let (w, h) = (fx1 - fx0, fy1 - fy0);
        for (name, [lo, hi]) in [("x", xlim), ("y", ylim)] {
            if !(lo.is_finite() && hi.is_finite() && lo < hi) {
                return Err(Error::Plot(format!(
                    "{name} limits must be finite with low < high, got [{lo}, {hi}]"
                )));
            }
        }
        let em = m.pt(11.0) as f32;
        let xticks = nice_ticks(xlim[0], xlim[1], 9.0);
        let yticks = nice_ticks(ylim[0], ylim[1], 9.0);
        let mut label_w = 0.0f64;
        for l in tick_labels(&yticks) {
            label_w = label_w.max(text::text_width(&l, Face::Sans, em)? as f64);
        }
        let pad = m.pt(1.08 * 12.0);
        let gap = m.pt(3.5);
        let last_x = tick_labels(&xticks)
            .last()
            .map_or(Ok(0.0), |l| text::text_width(l, Face::Sans, em))? as f64;
        let area = [
            fx0 + pad + label_w + gap,
            fy0 + pad,
            fx0 + w - pad - right_extra.max(last_x / 2.0),
            fy0 + h - pad - gap - 1.2 * em as f64,
        ];
        if area[2] - area[0] < 20.0 || area[3] - area[1] < 20.0 {
            return Err(Error::Plot(format!("a {w}x{h} frame leaves no room for the chart")));
        }
        Ok(Axes2d {
            area,
            xlim,
            ylim,
            xticks,
            yticks,
            m,
        })
    }

    /// Pixel column of data `x`.
    pub fn x(&self, x: f64) -> f64 {
        self.area[0] + (x - self.xlim[0]) / (self.xlim[1] - self.xlim[0]) * (self.area[2] - self.area[0])
    }

    /// Pixel row of data `y`.
    pub fn y(&self, y: f64) -> f64 {
        self.area[3] - (y - self.ylim[0]) / (self.ylim[1] - self.ylim[0]) * (self.area[3] - self.area[1])
    }

    /// The plot area as a clip rectangle.
    pub fn clip(&self) -> Rect {
        Rect {
            x0: self.area[0].floor().max(0.0) as usize,
            y0: self.area[1].floor().max(0.0) as usize,
            x1: self.area[2].ceil().max(0.0) as usize,
            y1: self.area[3].ceil().max(0.0) as usize,
        }
    }

    /// Grid (dashed or solid), spines and tick labels.
    pub fn draw_frame(&self, c: &mut Canvas, dashed: bool) -> Result<()> {
        let m = &self.m;
        let [x0, y0, x1, y1] = self.area;
        let lw = m.pt(1.0);
        let grid = Stroke {
            color: GRID,
            alpha: 1.0,
            width: lw,
            dash: dashed.then_some([3.7 * lw, 1.6 * lw]),
            cap: Cap::Butt,
        };
        for &t in &self.xticks {
            c.stroke(&[[self.x(t), y1], [self.x(t), y0]], &grid);
        }
        for &t in &self.yticks {
            c.stroke(&[[x0, self.y(t)], [x1, self.y(t)]], &grid);
        }
        let spine = Stroke {
            color: SPINE,
            alpha: 1.0,
            width: m.pt(1.25),
            dash: None,
            cap: Cap::Round,
        };
        c.stroke(&[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]], &spine);
        let em = m.pt(11.0) as f32;
        let gap = m.pt(3.5);
        for (t, l) in self.xticks.iter().zip(tick_labels(&self.xticks)) {
            let at = Place {
                x: self.x(*t),
                y: y1 + gap,
                h: HAlign::Center,
                v: VAlign::Top,
            };
            text::label(c, &l, Face::Sans, em, at, TICK)?;
        }
        for (t, l) in self.yticks.iter().zip(tick_labels(&self.yticks)) {
            let at = Place {
                x: x0 - gap,
                y: self.y(*t),
                h: HAlign::Right,
                v: VAlign::Center,
            };
            text::label(c, &l, Face::Sans, em, at, TICK)?;
        }
        Ok(())
    }
}
