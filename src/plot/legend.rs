//! Legends as matplotlib draws them: a rounded, translucent white box with a title and one row
//! per run (a handle in the run's colour and a monospace text column), placed in the corner that
//! hides the least.

use super::canvas::{Canvas, Rect, Stroke};
use super::colormap::{LABEL, Rgb, SPINE, WHITE};
use super::text::{self, Face, HAlign, Place, VAlign};
use crate::error::Result;

/// What stands before each row's text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handle {
    /// A short line (line charts).
    Line,
    /// A dot (markers).
    Dot,
}

/// A legend's content and text sizes.
pub struct Legend {
    /// Title above the rows.
    pub title: String,
    /// `(colour, text)` of each row.
    pub rows: Vec<(Rgb, String)>,
    /// Handle kind.
    pub handle: Handle,
    /// Row text size, pixels per em.
    pub em: f64,
    /// Title size, pixels per em.
    pub title_em: f64,
    /// Width of handle lines.
    pub line_width: f64,
    /// Radius of handle dots.
    pub dot_radius: f64,
}

impl Legend {
    fn pitch(&self) -> f64 {
        1.5 * self.em
    }

    fn title_height(&self) -> f64 {
        if self.title.is_empty() {
            0.0
        } else {
            1.45 * self.title_em
        }
    }

    /// Width and height of the box.
    pub fn size(&self) -> Result<(f64, f64)> {
        let bp = 0.4 * self.em;
        let mut text_w = 0.0f64;
        for (_, t) in &self.rows {
            text_w = text_w.max(text::text_width(t, Face::Mono, self.em as f32)? as f64);
        }
        let rows_w = 2.0 * self.em + 0.8 * self.em + text_w;
        let title_w = text::text_width(&self.title, Face::Sans, self.title_em as f32)? as f64;
        let w = 2.0 * bp + rows_w.max(title_w);
        let h = 2.0 * bp + self.title_height() + self.rows.len() as f64 * self.pitch();
        Ok((w, h))
    }

    /// Draws the legend with its top-left corner at `(x0, y0)`.
    pub fn draw(&self, c: &mut Canvas, x0: f64, y0: f64) -> Result<()> {
        let (w, h) = self.size()?;
        let bp = 0.4 * self.em;
        c.round_rect(
            [x0, y0, x0 + w, y0 + h],
            0.35 * self.em,
            Some((WHITE, 0.8)),
            Some((SPINE, 1.0, self.em / 15.0)),
        );
        if !self.title.is_empty() {
            let at = Place {
                x: x0 + w / 2.0,
                y: y0 + bp + 0.7 * self.title_em,
                h: HAlign::Center,
                v: VAlign::Center,
            };
            text::label(c, &self.title, Face::Sans, self.title_em as f32, at, LABEL)?;
        }
        let top = y0 + bp + self.title_height();
        for (i, (color, t)) in self.rows.iter().enumerate() {
            let cy = top + (i as f64 + 0.5) * self.pitch();
            let hx = x0 + bp;
            match self.handle {
                Handle::Line => c.stroke(
                    &[[hx, cy], [hx + 2.0 * self.em, cy]],
                    &Stroke::solid(*color, self.line_width),
                ),
                Handle::Dot => c.disc([hx + self.em, cy], self.dot_radius, *color, 1.0),
            }
            let at = Place {
                x: hx + 2.8 * self.em,
                y: cy,
                h: HAlign::Left,
                v: VAlign::Center,
            };
            text::label(c, t, Face::Mono, self.em as f32, at, LABEL)?;
        }
        Ok(())
    }

    /// The top-left corner for the legend inside `area` `[x0, y0, x1, y1]`, `pad` pixels from its
    /// edges: as matplotlib's "best", the corner (upper right first) whose box hides the fewest
    /// pixels of the data drawn over the static `base` in `canvas`.
    pub fn best_corner(&self, canvas: &Canvas, base: &Canvas, area: [f64; 4], pad: f64) -> Result<(f64, f64)> {
        let (w, h) = self.size()?;
        let [ax0, ay0, ax1, ay1] = area;
        let corners = [
            (ax1 - pad - w, ay0 + pad),
            (ax0 + pad, ay0 + pad),
            (ax0 + pad, ay1 - pad - h),
            (ax1 - pad - w, ay1 - pad - h),
        ];
        let mut best = (usize::MAX, corners[0]);
        for (x, y) in corners {
            let r = Rect {
                x0: x.max(0.0) as usize,
                y0: y.max(0.0) as usize,
                x1: (x + w).max(0.0) as usize,
                y1: (y + h).max(0.0) as usize,
            };
            let ink = canvas.differing(base, r);
            if ink < best.0 {
                best = (ink, (x, y));
            }
        }
        Ok(best.1)
    }
}
