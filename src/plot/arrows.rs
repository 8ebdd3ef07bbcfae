//! The post's AdaGrad figure (`plot_adagrads`): gradients `g_t` (grey) and update directions
//! `v_t` (teal) as arrows from the origin, fading in and out over the steps, each annotated with
//! its norm.

use super::axes2d::{Axes2d, Room};
use super::canvas::{Canvas, Cap, Stroke};
use super::colormap::Rgb;
use super::target::Target;
use super::text::{self, Face, HAlign, Place, Span, VAlign};
use super::{Metrics, encode};
use crate::error::{Error, Result};
use crate::io::write_atomic;
use std::path::Path;

/// matplotlib's "gray".
pub(crate) const GRAY: Rgb = [0x80, 0x80, 0x80];
/// matplotlib's "teal".
pub(crate) const TEAL: Rgb = [0x00, 0x80, 0x80];

/// Figure size of the arrow figure.
const SIZE: usize = 900;

/// Draws the post's AdaGrad arrow figure to a 900x900 PNG at `path`: for each step `t`, the
/// gradient `grads[t]` (grey) and the update `updates[t]` (teal) as arrows from the origin with
/// the post's opacity `min((t + 1 - n/2)^2 / (n/2)^2 + 0.1, 1)`, each labelled `‖g_t‖ = 1.2` /
/// `‖v_t‖ = 0.9`, over `xlim` x `ylim`. Vectors with non-finite components are skipped.
pub(crate) fn draw_vectors(
    grads: &[[f64; 2]],
    updates: &[[f64; 2]],
    xlim: [f64; 2],
    ylim: [f64; 2],
    path: &Path,
) -> Result<()> {
    if grads.len() != updates.len() {
        return Err(Error::Plot(format!(
            "draw_vectors needs one update per gradient, got {} gradients and {} updates",
            grads.len(),
            updates.len()
        )));
    }
    for (field, [lo, hi]) in [("xlim", xlim), ("ylim", ylim)] {
        if !(lo.is_finite() && hi.is_finite() && lo < hi) {
            return Err(Error::Plot(format!(
                "{field}: expected finite [low, high] with low < high, got [{lo}, {hi}]"
            )));
        }
    }
    super::text::check_fonts()?;
    let mut c = Canvas::new(SIZE, SIZE);
    draw(&mut c, grads, updates, xlim, ylim);
    write_atomic(path, &encode::png(&c)?)
}

/// The arrows, their labels and the frame.
fn draw(c: &mut dyn Target, grads: &[[f64; 2]], updates: &[[f64; 2]], xlim: [f64; 2], ylim: [f64; 2]) {
    let axes = Axes2d::new(SIZE, SIZE, xlim, ylim, Room::default());
    let m = Metrics::new(SIZE, SIZE);
    axes.draw_frame(c, false);
    let a_u = grads.len() as f64 / 2.0;
    for (t, (g, v)) in grads.iter().zip(updates).enumerate() {
        let alpha = ((t as f64 + 1.0 - a_u).powi(2) / (a_u * a_u) + 0.1).min(1.0) as f32;
        for (vec, color, name) in [(g, GRAY, "g"), (v, TEAL, "v")] {
            if !(vec[0].is_finite() && vec[1].is_finite()) {
                continue;
            }
            c.set_clip(Some(axes.clip()));
            arrow(c, &axes, &m, *vec, color, alpha);
            c.set_clip(None);
            // matplotlib draws an annotation only when the annotated point is inside the axes.
            let inside = (xlim[0]..=xlim[1]).contains(&vec[0]) && (ylim[0]..=ylim[1]).contains(&vec[1]);
            if inside {
                let norm = format!("\u{2016} = {:.1}", vec[0].hypot(vec[1]));
                let index = t.to_string();
                let spans = [
                    Span::plain("\u{2016}", Face::Sans),
                    Span::plain(name, Face::Italic),
                    Span::sub(&index),
                    Span::plain(&norm, Face::Sans),
                ];
                let at = Place {
                    x: axes.x(vec[0] + 0.02),
                    y: axes.y(vec[1] - 0.02),
                    h: HAlign::Left,
                    v: VAlign::Baseline,
                };
                text::draw(c, &spans, m.pt(12.0) as f32, at, color, alpha);
            }
        }
    }
}

/// `plt.arrow(0, 0, dx, dy, head_width=0.02, head_length=0.03)`: the head (in data units, after
/// the vector's end, as matplotlib draws it without `length_includes_head`) and a thin shaft.
fn arrow(c: &mut dyn Target, axes: &Axes2d, m: &Metrics, d: [f64; 2], color: Rgb, alpha: f32) {
    let len = d[0].hypot(d[1]);
    if len < 1e-12 {
        return;
    }
    let (ux, uy) = (d[0] / len, d[1] / len);
    let (head_w, head_l) = (0.02, 0.03);
    let base = [d[0], d[1]];
    let tip = [d[0] + ux * head_l, d[1] + uy * head_l];
    let side = |s: f64| [base[0] - uy * head_w / 2.0 * s, base[1] + ux * head_w / 2.0 * s];
    let px = |p: [f64; 2]| [axes.x(p[0]), axes.y(p[1])];
    let shaft = Stroke {
        color,
        alpha,
        width: m.pt(1.0),
        dash: None,
        cap: Cap::Butt,
    };
    c.stroke(&[px([0.0, 0.0]), px(base)], &shaft);
    c.convex(&[px(side(1.0)), px(tip), px(side(-1.0))], color, alpha);
}
