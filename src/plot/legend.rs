//! Legends as matplotlib draws them: a rounded, translucent white box with a title and one row
//! per run (a handle in the run's colour, its label and, in a right-aligned monospace column,
//! its value), placed in the corner that hides the least.
//!
//! A legend is fitted to the room it has once ([`Legend::fit`]), then drawn every frame with that
//! frame's values: long labels are shortened in the middle, many rows go into columns, and when
//! even columns of smaller text cannot hold them, the last row says how many are left out.

use super::canvas::{Canvas, Rect, Stroke};
use super::colormap::{LABEL, Rgb, SPINE, WHITE};
use super::target::Target;
use super::text::{self, Cut, Face, HAlign, Place, VAlign};

/// What stands before each row's text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Handle {
    /// A short line (line charts).
    Line,
    /// A dot (markers).
    Dot,
}

/// A legend's content and text sizes.
pub(crate) struct Legend {
    /// Title above the rows.
    pub title: String,
    /// `(colour, label)` of each row.
    pub rows: Vec<(Rgb, String)>,
    /// Characters of the value column (0: no values).
    pub value_chars: usize,
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

/// Text sizes tried, as fractions of the legend's own, before rows are left out.
const SCALES: [f64; 4] = [1.0, 0.9, 0.8, 0.7];
/// The narrowest a shortened label gets, in characters, before a smaller size or fewer rows.
const MIN_LABEL_CHARS: f64 = 8.0;

/// A legend fitted to its room: sizes, columns and the text of each row shown.
pub(crate) struct Fitted {
    em: f64,
    title_em: f64,
    title: String,
    handle: Handle,
    line_width: f64,
    dot_radius: f64,
    /// Rows shown: the index of the run, its colour and its (shortened) label.
    rows: Vec<(usize, Rgb, String)>,
    /// "+ 12 more" when rows are left out.
    more: Option<String>,
    rows_per_col: usize,
    title_h: f64,
    col_w: f64,
    col_gap: f64,
    value_w: f64,
    w: f64,
    h: f64,
}

impl Legend {
    /// Fits the legend into `max_w` x `max_h` pixels; `None` when not even its title fits.
    pub(crate) fn fit(&self, max_w: f64, max_h: f64) -> Option<Fitted> {
        let n = self.rows.len();
        let natural = self
            .rows
            .iter()
            .map(|(_, l)| text::text_width(l, Face::Mono, self.em as f32))
            .fold(0.0f64, f64::max);
        for scale in SCALES {
            let (em, title_em) = (self.em * scale, self.title_em * scale);
            let g = Geometry::new(self, em, title_em);
            let natural = natural * scale;
            let need = natural.min(MIN_LABEL_CHARS * g.char_w);
            for cols in 1..=n.max(1) {
                let per = n.div_ceil(cols);
                if g.height(per) > max_h {
                    continue;
                }
                let budget = g.label_budget(max_w, cols);
                if budget < need {
                    break;
                }
                return self.fitted(&g, natural.min(budget), per, n, max_w);
            }
        }
        // Even the smallest text in columns cannot show every row: show what fits.
        let scale = SCALES[SCALES.len() - 1];
        let g = Geometry::new(self, self.em * scale, self.title_em * scale);
        if g.height(0) > max_h {
            return None;
        }
        let per = ((max_h - g.height(0)) / g.pitch).floor().max(0.0) as usize;
        let need = (natural * scale).min(MIN_LABEL_CHARS * g.char_w);
        let cols = (1..=n.max(1))
            .take_while(|&c| c == 1 || g.label_budget(max_w, c) >= need)
            .last()
            .unwrap_or(1);
        let budget = g.label_budget(max_w, cols).max(0.0);
        let shown = (per * cols).saturating_sub(1).min(n);
        self.fitted(&g, (natural * scale).min(budget), per, shown, max_w)
    }

    /// The fitted legend showing the first `shown` rows, `per` a column.
    fn fitted(&self, g: &Geometry, label_w: f64, per: usize, shown: usize, max_w: f64) -> Option<Fitted> {
        if per == 0 && shown > 0 {
            return None;
        }
        let em = g.em as f32;
        let rows: Vec<(usize, Rgb, String)> = self.rows[..shown]
            .iter()
            .enumerate()
            .map(|(i, (c, l))| (i, *c, text::ellipsize(l, Face::Mono, em, label_w + 0.5, Cut::Middle)))
            .collect();
        let more = (shown < self.rows.len()).then(|| format!("+ {} more", self.rows.len() - shown));
        let per = per.max(1);
        let cols = (rows.len() + more.is_some() as usize).div_ceil(per).max(1);
        let rows_w = cols as f64 * g.col_w(label_w) + (cols - 1) as f64 * g.col_gap;
        let title = text::ellipsize(
            &self.title,
            Face::Sans,
            g.title_em as f32,
            (max_w - 2.0 * g.bp).max(0.0),
            Cut::End,
        );
        let title_w = text::text_width(&title, Face::Sans, g.title_em as f32);
        let shown_rows = rows.len() + more.is_some() as usize;
        Some(Fitted {
            em: g.em,
            title_em: g.title_em,
            title_h: g.title_h,
            title,
            handle: self.handle,
            line_width: self.line_width * g.em / self.em,
            dot_radius: self.dot_radius * g.em / self.em,
            rows,
            more,
            rows_per_col: per,
            col_w: g.col_w(label_w),
            col_gap: g.col_gap,
            value_w: g.value_w,
            w: 2.0 * g.bp + rows_w.max(title_w),
            h: g.height(shown_rows.min(per)),
        })
    }
}

/// The sizes of a legend at one text size.
struct Geometry {
    em: f64,
    title_em: f64,
    /// Padding inside the box.
    bp: f64,
    pitch: f64,
    title_h: f64,
    char_w: f64,
    value_w: f64,
    col_gap: f64,
}

impl Geometry {
    fn new(l: &Legend, em: f64, title_em: f64) -> Self {
        let char_w = text::text_width("0", Face::Mono, em as f32);
        Geometry {
            em,
            title_em,
            bp: 0.4 * em,
            pitch: 1.5 * em,
            title_h: if l.title.is_empty() { 0.0 } else { 1.45 * title_em },
            char_w,
            value_w: l.value_chars as f64 * char_w,
            col_gap: 1.2 * em,
        }
    }

    /// Height of the box with `rows` rows a column.
    fn height(&self, rows: usize) -> f64 {
        2.0 * self.bp + self.title_h + rows as f64 * self.pitch
    }

    /// Width of a column whose labels are `label_w` wide.
    fn col_w(&self, label_w: f64) -> f64 {
        let value = if self.value_w > 0.0 {
            self.char_w + self.value_w
        } else {
            0.0
        };
        2.8 * self.em + label_w + value
    }

    /// How wide labels may be in `cols` columns inside `max_w`.
    fn label_budget(&self, max_w: f64, cols: usize) -> f64 {
        let per_col = (max_w - 2.0 * self.bp - (cols - 1) as f64 * self.col_gap) / cols as f64;
        per_col - self.col_w(0.0)
    }
}

impl Fitted {
    /// Width and height of the box.
    pub(crate) fn size(&self) -> (f64, f64) {
        (self.w, self.h)
    }

    /// Draws the legend with its top-left corner at `(x0, y0)`; `value(i)` is run `i`'s value
    /// (drawn right-aligned after its label when the legend has a value column).
    pub(crate) fn draw(&self, c: &mut dyn Target, x0: f64, y0: f64, value: &dyn Fn(usize) -> String) {
        let (w, h) = (self.w, self.h);
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
            text::label(c, &self.title, Face::Sans, self.title_em as f32, at, LABEL);
        }
        let top = y0 + bp + self.title_h;
        let em = self.em as f32;
        let per = self.rows_per_col.max(1);
        let cell = |k: usize| {
            let col = (k / per) as f64;
            (
                x0 + bp + col * (self.col_w + self.col_gap),
                top + ((k % per) as f64 + 0.5) * 1.5 * self.em,
            )
        };
        for (k, (run, color, label)) in self.rows.iter().enumerate() {
            let (hx, cy) = cell(k);
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
            text::label(c, label, Face::Mono, em, at, LABEL);
            if self.value_w > 0.0 {
                let at = Place {
                    x: hx + self.col_w,
                    h: HAlign::Right,
                    ..at
                };
                text::label(c, value(*run).trim(), Face::Mono, em, at, LABEL);
            }
        }
        if let Some(more) = &self.more {
            let (hx, cy) = cell(self.rows.len());
            let at = Place {
                x: hx + 2.8 * self.em,
                y: cy,
                h: HAlign::Left,
                v: VAlign::Center,
            };
            text::label(c, more, Face::Sans, em, at, super::colormap::TICK);
        }
    }

    /// The top-left corner for the legend inside `area` `[x0, y0, x1, y1]`, `pad` pixels from its
    /// edges: as matplotlib's "best", the corner (upper right first) whose box hides the fewest
    /// pixels of the data drawn over the static `base` in `canvas`, among those that cover none
    /// of the boxes `avoid` (tick labels) if any does not.
    pub(crate) fn best_corner(
        &self,
        canvas: &Canvas,
        base: &Canvas,
        area: [f64; 4],
        pad: f64,
        avoid: &[[f64; 4]],
    ) -> (f64, f64) {
        let mut best = ((usize::MAX, usize::MAX), (0.0, 0.0));
        for (x, y) in self.corners(area, pad) {
            let r = Rect {
                x0: x.max(0.0) as usize,
                y0: y.max(0.0) as usize,
                x1: (x + self.w).max(0.0) as usize,
                y1: (y + self.h).max(0.0) as usize,
            };
            let hidden = avoid
                .iter()
                .filter(|b| overlaps(**b, [x, y, x + self.w, y + self.h]))
                .count();
            let cost = (hidden, canvas.differing(base, r));
            if cost < best.0 {
                best = (cost, (x, y));
            }
        }
        best.1
    }

    /// The four corners the legend may take in `area`, upper right first.
    pub(crate) fn corners(&self, area: [f64; 4], pad: f64) -> [(f64, f64); 4] {
        let [ax0, ay0, ax1, ay1] = area;
        let (w, h) = (self.w, self.h);
        [
            (ax1 - pad - w, ay0 + pad),
            (ax0 + pad, ay0 + pad),
            (ax0 + pad, ay1 - pad - h),
            (ax1 - pad - w, ay1 - pad - h),
        ]
    }
}

/// True when boxes `[x0, y0, x1, y1]` share some area.
pub(crate) fn overlaps(a: [f64; 4], b: [f64; 4]) -> bool {
    a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]
}
