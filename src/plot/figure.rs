//! How a figure becomes files. A figure is a [`Plot`]: a layout whose steps draw into any
//! [`Target`]. [`render`] draws the still (every path to its end, the marks, the legend) into the
//! raster for the PNG and, when asked, into an SVG document; an animation replays the layout a
//! point at a time into GIF frames, drawing the static part once and growing the paths a segment
//! a frame.

use super::FrameProgress;
use super::canvas::{Canvas, Rect};
use super::colormap::{self, Rgb};
use super::encode;
use super::legend::Fitted;
use super::svg::Svg;
use super::target::Target;
use crate::error::Result;
use crate::experiment::plot_spec::{Format, PlotSpec};

/// An encoded figure: the still (last frame) as PNG and, when asked, SVG, and, when animated,
/// the GIF.
#[derive(Clone, Debug)]
pub(crate) struct Figure {
    /// PNG bytes of the last frame.
    pub png: Vec<u8>,
    /// GIF bytes, one frame per point, when animated.
    pub gif: Option<Vec<u8>>,
    /// The last frame as an SVG document, when the spec's `format` asks for it.
    pub svg: Option<String>,
}

/// Where a legend may go: the area whose corners it tries, its distance from the edges, and
/// boxes it should not cover (tick labels).
pub(crate) struct LegendRoom {
    /// `[x0, y0, x1, y1]` in pixels.
    pub area: [f64; 4],
    /// Pixels between the legend and the area's edges.
    pub pad: f64,
    /// Boxes `[x0, y0, x1, y1]` to keep clear.
    pub avoid: Vec<[f64; 4]>,
}

/// What every figure tells its renderer besides its drawing steps.
pub(crate) struct Sheet {
    /// Width and height in pixels.
    pub size: [usize; 2],
    /// Points to show (at least one).
    pub points: usize,
    /// The runs' colours (kept exact in GIF palettes).
    pub colors: Vec<Rgb>,
}

/// A figure's layout as drawing steps. Point `k` is the state after step `k`: the still shows
/// the last point, an animation one point a frame.
pub(crate) trait Plot {
    /// Size, points and colours.
    fn sheet(&self) -> &Sheet;
    /// Everything that does not move: axes, panes, the surface.
    fn draw_static(&self, t: &mut dyn Target);
    /// Every path from its start to point `k`.
    fn draw_paths(&self, t: &mut dyn Target, k: usize);
    /// Adds each path's segment into point `k` (paths only grow, so the raster of point `k` is
    /// that of `k - 1` plus these).
    fn grow(&self, c: &mut Canvas, k: usize);
    /// What else point `k` shows: dots, values (whose labels keep out of the boxes `avoid`:
    /// the legend's).
    fn draw_marks(&self, t: &mut dyn Target, k: usize, avoid: &[[f64; 4]]);
    /// The legend, fitted to its room, if the figure has one.
    fn legend(&self) -> Option<&Fitted> {
        None
    }
    /// Run `run`'s value in the legend at point `k`.
    fn legend_value(&self, _run: usize, _k: usize) -> String {
        String::new()
    }
    /// Where the legend may go.
    fn legend_room(&self) -> LegendRoom {
        let [w, h] = self.sheet().size;
        LegendRoom {
            area: [0.0, 0.0, w as f64, h as f64],
            pad: 0.0,
            avoid: Vec::new(),
        }
    }
}

/// Draws the legend of `p` at point `k` with its corner at `at`.
fn draw_legend(p: &dyn Plot, t: &mut dyn Target, at: Option<(f64, f64)>, k: usize) {
    if let (Some(legend), Some((x, y))) = (p.legend(), at) {
        legend.draw(t, x, y, &|run| p.legend_value(run, k));
    }
}

/// The box the legend takes with its corner at `at`.
fn legend_box(p: &dyn Plot, at: Option<(f64, f64)>) -> Vec<[f64; 4]> {
    match (p.legend(), at) {
        (Some(l), Some((x, y))) => {
            let (w, h) = l.size();
            vec![[x, y, x + w, y + h]]
        }
        _ => Vec::new(),
    }
}

/// The still of `p` at point `k` into any target: all but the static part, which `t` has.
fn draw_still(p: &dyn Plot, t: &mut dyn Target, legend_at: Option<(f64, f64)>, k: usize) {
    p.draw_paths(t, k);
    p.draw_marks(t, k, &legend_box(p, legend_at));
    draw_legend(p, t, legend_at, k);
}

/// Renders `p`: the still as PNG (and SVG when `spec.format` asks), and, if `animated`, the GIF
/// with one frame per shown point. Advances `frames` once per GIF frame.
pub(crate) fn render(
    p: &dyn Plot,
    spec: &PlotSpec,
    animated: bool,
    frames: Option<&dyn FrameProgress>,
) -> Result<Figure> {
    let [w, h] = p.sheet().size;
    let last_k = p.sheet().points.max(1) - 1;
    let mut base = Canvas::new(w, h);
    p.draw_static(&mut base);
    base.take_dirty();
    // The still without its legend decides where the legend goes: where it hides the least.
    let legend_at = p.legend().map(|l| {
        let mut data = base.clone();
        p.draw_paths(&mut data, last_k);
        p.draw_marks(&mut data, last_k, &[]);
        let room = p.legend_room();
        l.best_corner(&data, &base, room.area, room.pad, &room.avoid)
    });
    let mut last = base.clone();
    draw_still(p, &mut last, legend_at, last_k);
    let png = encode::png(&last)?;
    let svg = match spec.format.contains(&Format::Svg) {
        true => {
            let mut s = Svg::new(w, h);
            p.draw_static(&mut s);
            draw_still(p, &mut s, legend_at, last_k);
            Some(s.finish()?)
        }
        false => None,
    };
    let gif = match animated {
        true => Some(animate(p, &base, &last, spec, legend_at, frames)?),
        false => None,
    };
    Ok(Figure { png, gif, svg })
}

/// Colours that must stay exact in GIF palettes.
fn reserved(runs: &[Rgb]) -> Vec<Rgb> {
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

/// The GIF of `p`, its palette learnt from `base` and `last`. Paths grow one segment a point on a
/// trail raster; each frame copies the trail where the previous frame's marks were or the paths
/// grew, draws its marks and legend, and only the changed rectangle is encoded.
fn animate(
    p: &dyn Plot,
    base: &Canvas,
    last: &Canvas,
    spec: &PlotSpec,
    legend_at: Option<(f64, f64)>,
    frames: Option<&dyn FrameProgress>,
) -> Result<Vec<u8>> {
    let mut gif = encode::GifWriter::new(
        base.w,
        base.h,
        &[base, last],
        &reserved(&p.sheet().colors),
        spec.frame_ms,
    )?;
    let mut trail = base.clone();
    let mut cur = base.clone();
    let mut prev: Vec<Rect> = Vec::new();
    let n = p.sheet().points.max(1);
    let avoid = legend_box(p, legend_at);
    let shown = super::shown_frames(n, spec.max_frames as usize);
    let mut next = shown.iter().copied().peekable();
    for k in 0..n {
        // Paths grow at every point; only the shown points become frames.
        p.grow(&mut trail, k);
        if next.peek() != Some(&k) {
            continue;
        }
        next.next();
        let mut region = prev;
        region.extend(trail.take_dirty());
        cur.restore(&trail, &region);
        cur.take_dirty();
        p.draw_marks(&mut cur, k, &avoid);
        draw_legend(p, &mut cur, legend_at, k);
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
