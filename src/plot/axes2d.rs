//! A 2D chart frame in seaborn's "whitegrid" look: light grid (dashed or solid) at matplotlib's
//! ticks, light spines on all four sides, no tick marks, grey tick labels, and optional axis
//! titles ("step", "loss").

use super::Metrics;
use super::canvas::{Cap, Rect, Stroke};
use super::colormap::{GRID, LABEL, SPINE, TICK};
use super::legend::overlaps;
use super::target::Target;
use super::text::{self, Cut, Face, HAlign, Place, VAlign};
use super::ticks::{nice_ticks, tick_labels};

/// What a chart keeps room for besides its tick labels.
#[derive(Clone, Debug, Default)]
pub(crate) struct Room {
    /// Pixels free on the right (labels at line ends); at most a third of the frame is kept.
    pub(crate) right: f64,
    /// Title of the x axis, under its tick labels.
    pub(crate) xlabel: Option<String>,
    /// Title of the y axis, left of its tick labels, reading upwards.
    pub(crate) ylabel: Option<String>,
}

impl Room {
    /// Room for axis titles `x` and `y`.
    pub(crate) fn titles(x: &str, y: &str) -> Self {
        Room {
            right: 0.0,
            xlabel: Some(x.into()),
            ylabel: Some(y.into()),
        }
    }
}

/// The plot area of a chart and its data-to-pixel mapping.
pub(crate) struct Axes2d {
    /// Plot area `[x0, y0, x1, y1]` in pixels.
    pub area: [f64; 4],
    frame: [f64; 4],
    xlim: [f64; 2],
    ylim: [f64; 2],
    xticks: Vec<f64>,
    yticks: Vec<f64>,
    room: Room,
    m: Metrics,
}

/// `[lo, hi]` if finite and increasing, else a unit range about what is usable.
fn usable(lim: [f64; 2]) -> [f64; 2] {
    let [lo, hi] = lim;
    match (lo.is_finite(), hi.is_finite()) {
        (true, true) if lo < hi => lim,
        (true, _) => [lo - 0.5, lo + 0.5],
        (false, true) => [hi - 0.5, hi + 0.5],
        _ => [0.0, 1.0],
    }
}

impl Axes2d {
    /// Lays out a `w` x `h` chart of `xlim` x `ylim` with `room` besides its tick labels.
    pub(crate) fn new(w: usize, h: usize, xlim: [f64; 2], ylim: [f64; 2], room: Room) -> Self {
        Self::within([0.0, 0.0, w as f64, h as f64], Metrics::new(w, h), xlim, ylim, room)
    }

    /// Lays out a chart inside `frame` (`[x0, y0, x1, y1]` pixels of a larger figure whose sizes
    /// are `m`), as [`Axes2d::new`] does on a whole figure. Limits that are not finite and
    /// increasing are replaced by a unit range (callers validate them); the plot area keeps at
    /// least half of the frame whatever the labels need.
    pub(crate) fn within(frame: [f64; 4], m: Metrics, xlim: [f64; 2], ylim: [f64; 2], room: Room) -> Self {
        let (xlim, ylim) = (usable(xlim), usable(ylim));
        let [fx0, fy0, fx1, fy1] = frame;
        let (w, h) = (fx1 - fx0, fy1 - fy0);
        let em = m.pt(11.0) as f32;
        let xticks = nice_ticks(xlim[0], xlim[1], 9.0);
        let yticks = nice_ticks(ylim[0], ylim[1], 9.0);
        let label_w = tick_labels(&yticks)
            .iter()
            .map(|l| text::text_width(l, Face::Sans, em))
            .fold(0.0f64, f64::max);
        let pad = m.pt(1.08 * 12.0);
        let gap = m.pt(3.5);
        let last_x = tick_labels(&xticks)
            .last()
            .map_or(0.0, |l| text::text_width(l, Face::Sans, em));
        let title = Self::title_room(&m);
        let left = pad + label_w + gap + if room.ylabel.is_some() { title } else { 0.0 };
        let bottom = pad + gap + 1.2 * em as f64 + if room.xlabel.is_some() { title } else { 0.0 };
        let right = pad + room.right.min(w / 3.0).max(last_x / 2.0);
        // Whatever the labels ask, the plot keeps half the frame.
        let squeeze = |a: f64, b: f64, total: f64| {
            let need = a + b;
            if need <= total / 2.0 {
                (a, b)
            } else {
                let k = total / 2.0 / need;
                (a * k, b * k)
            }
        };
        let (left, right) = squeeze(left, right, w);
        let (top, bottom) = squeeze(pad, bottom, h);
        Axes2d {
            area: [fx0 + left, fy0 + top, fx1 - right, fy1 - bottom],
            frame,
            xlim,
            ylim,
            xticks,
            yticks,
            room,
            m,
        }
    }

    /// Pixels an axis title takes with its gap.
    fn title_room(m: &Metrics) -> f64 {
        m.pt(4.0) + 1.2 * m.pt(12.0)
    }

    /// Pixel column of data `x`.
    pub(crate) fn x(&self, x: f64) -> f64 {
        self.area[0] + (x - self.xlim[0]) / (self.xlim[1] - self.xlim[0]) * (self.area[2] - self.area[0])
    }

    /// Pixel row of data `y`.
    pub(crate) fn y(&self, y: f64) -> f64 {
        self.area[3] - (y - self.ylim[0]) / (self.ylim[1] - self.ylim[0]) * (self.area[3] - self.area[1])
    }

    /// The plot area as a clip rectangle.
    pub(crate) fn clip(&self) -> Rect {
        Rect {
            x0: self.area[0].floor().max(0.0) as usize,
            y0: self.area[1].floor().max(0.0) as usize,
            x1: self.area[2].ceil().max(0.0) as usize,
            y1: self.area[3].ceil().max(0.0) as usize,
        }
    }

    /// Grid (dashed or solid), spines, tick labels and axis titles.
    pub(crate) fn draw_frame(&self, c: &mut dyn Target, dashed: bool) {
        self.draw_grid(c, dashed);
        self.draw_tick_labels(c);
        self.draw_titles(c);
    }

    /// Grid lines at the ticks and the four spines.
    fn draw_grid(&self, c: &mut dyn Target, dashed: bool) {
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
    }

    /// The tick labels' places: x labels under the area, y labels left of it; a y label that
    /// would touch an x label (at the lower left corner) is left out.
    fn tick_places(&self) -> Vec<(String, Place)> {
        let [x0, _, _, y1] = self.area;
        let gap = self.m.pt(3.5);
        let xs = self.xticks.iter().zip(tick_labels(&self.xticks)).map(|(t, l)| {
            let at = Place {
                x: self.x(*t),
                y: y1 + gap,
                h: HAlign::Center,
                v: VAlign::Top,
            };
            (l, at)
        });
        let ys = self.yticks.iter().zip(tick_labels(&self.yticks)).map(|(t, l)| {
            let at = Place {
                x: x0 - gap,
                y: self.y(*t),
                h: HAlign::Right,
                v: VAlign::Center,
            };
            (l, at)
        });
        let em = self.m.pt(11.0) as f32;
        let mut kept: Vec<[f64; 4]> = Vec::new();
        xs.chain(ys)
            .filter(|(l, at)| {
                let b = text::bounds(&[text::Span::plain(l, Face::Sans)], em, *at);
                let free = !kept.iter().any(|k| overlaps(*k, b));
                if free {
                    kept.push(b);
                }
                free
            })
            .collect()
    }

    fn draw_tick_labels(&self, c: &mut dyn Target) {
        let em = self.m.pt(11.0) as f32;
        for (l, at) in self.tick_places() {
            text::label(c, &l, Face::Sans, em, at, TICK);
        }
    }

    /// The axis titles: centred under the x tick labels, and left of the y tick labels reading
    /// upwards (shortened to the area's extent when longer).
    fn draw_titles(&self, c: &mut dyn Target) {
        let m = &self.m;
        let em = m.pt(12.0) as f32;
        let [x0, y0, x1, y1] = self.area;
        if let Some(t) = &self.room.xlabel {
            let t = text::ellipsize(t, Face::Sans, em, x1 - x0, Cut::End);
            let at = Place {
                x: (x0 + x1) / 2.0,
                y: y1 + m.pt(3.5) + 1.2 * m.pt(11.0) + m.pt(4.0),
                h: HAlign::Center,
                v: VAlign::Top,
            };
            text::label(c, &t, Face::Sans, em, at, LABEL);
        }
        if let Some(t) = &self.room.ylabel {
            let t = text::ellipsize(t, Face::Sans, em, y1 - y0, Cut::End);
            let x = self.frame[0] + m.pt(1.08 * 12.0) + 0.5 * em as f64;
            text::label_up(c, &t, Face::Sans, em, x.min(x0), (y0 + y1) / 2.0, LABEL);
        }
    }
}
