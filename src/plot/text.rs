//! Text from the DejaVu fonts the build carries (the `dejavu` crate), rasterized with `ab_glyph`
//! at sub-pixel positions: no system fonts are needed.

use super::canvas::Canvas;
use super::colormap::Rgb;
use super::target::{Glyphs, Target};
use crate::error::{Error, Result};
use ab_glyph::{Font, FontRef, GlyphId, PxScale, ScaleFont, point};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::OnceLock;

/// A typeface.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Face {
    /// DejaVu Sans, matplotlib's default.
    Sans,
    /// DejaVu Sans Oblique, for mathtext variables.
    Italic,
    /// DejaVu Sans Mono, for legends' columns.
    Mono,
}

/// Horizontal anchor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HAlign {
    /// Text starts at x.
    Left,
    /// Text is centred on x.
    Center,
    /// Text ends at x.
    Right,
}

/// Vertical anchor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum VAlign {
    /// y is the baseline.
    Baseline,
    /// y is the middle of a capital letter.
    Center,
    /// y is the top of a capital letter.
    Top,
}

/// A run of text in one face: size relative to the label's and baseline shift (em, up).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Span<'a> {
    /// The characters.
    pub text: &'a str,
    /// Typeface.
    pub face: Face,
    /// Size as a fraction of the label's size.
    pub rel: f32,
    /// Baseline shift in em of the label's size, up positive.
    pub rise: f32,
}

impl<'a> Span<'a> {
    /// Plain text in `face` at full size.
    pub(crate) fn plain(text: &'a str, face: Face) -> Self {
        Span {
            text,
            face,
            rel: 1.0,
            rise: 0.0,
        }
    }

    /// A subscript (mathtext's `_{...}`).
    pub(crate) fn sub(text: &'a str) -> Self {
        Span {
            text,
            face: Face::Sans,
            rel: 0.7,
            rise: -0.2,
        }
    }
}

/// Cap height of DejaVu Sans, in em.
const CAP: f32 = 0.729;

struct Fonts {
    sans: FontRef<'static>,
    italic: FontRef<'static>,
    mono: FontRef<'static>,
}

fn fonts() -> Result<&'static Fonts> {
    static FONTS: OnceLock<std::result::Result<Fonts, String>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let load = |name: &str, bytes: &'static [u8]| {
                FontRef::try_from_slice(bytes).map_err(|e| format!("cannot read the embedded font {name}: {e}"))
            };
            Ok(Fonts {
                sans: load("DejaVu Sans", dejavu::sans::regular())?,
                italic: load("DejaVu Sans Oblique", dejavu::sans::oblique())?,
                mono: load("DejaVu Sans Mono", dejavu::sans_mono::regular())?,
            })
        })
        .as_ref()
        .map_err(|e| Error::Plot(e.clone()))
}

/// Checks that the embedded fonts load (they always do unless the build is broken); figures
/// call it once before measuring or drawing any text, which then cannot fail.
pub(crate) fn check_fonts() -> Result<()> {
    fonts().map(|_| ())
}

fn font(face: Face) -> Option<&'static FontRef<'static>> {
    let f = fonts().ok()?;
    Some(match face {
        Face::Sans => &f.sans,
        Face::Italic => &f.italic,
        Face::Mono => &f.mono,
    })
}

/// The `PxScale` that makes one em `em` pixels.
fn scale_for(f: &FontRef<'static>, em: f32) -> PxScale {
    let upem = f.units_per_em().unwrap_or(2048.0);
    PxScale::from(em * f.height_unscaled() / upem)
}

/// Width in pixels of `spans` at `em` pixels per em.
pub(crate) fn width(spans: &[Span], em: f32) -> f64 {
    let mut w = 0.0f32;
    for s in spans {
        let Some(f) = font(s.face) else {
            continue;
        };
        let sf = f.as_scaled(scale_for(f, em * s.rel));
        let mut prev = None;
        for ch in s.text.chars() {
            let id = sf.glyph_id(ch);
            if let Some(p) = prev {
                w += sf.kern(p, id);
            }
            w += sf.h_advance(id);
            prev = Some(id);
        }
    }
    w as f64
}

/// Width of one plain string.
pub(crate) fn text_width(text: &str, face: Face, em: f32) -> f64 {
    width(&[Span::plain(text, face)], em)
}

/// Where [`ellipsize`] cuts a text that is too wide.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cut {
    /// Keeps both ends (`adam lr=0.1 b…decay=0.01`): labels that differ at either end stay apart.
    Middle,
    /// Keeps the start (`Rosenbrock, each optimizer at…`).
    End,
}

/// The ellipsis.
const ELLIPSIS: char = '\u{2026}';

/// `text` shortened with an ellipsis to at most `max` pixels in `face` at `em` (as it is when it
/// fits; empty when not even the ellipsis fits).
pub(crate) fn ellipsize(text: &str, face: Face, em: f32, max: f64, cut: Cut) -> String {
    if text_width(text, face, em) <= max {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    let with = |keep: usize| -> String {
        let (head, tail) = match cut {
            Cut::End => (keep, 0),
            Cut::Middle => (keep.div_ceil(2), keep / 2),
        };
        let mut s: String = chars[..head].iter().collect::<String>().trim_end().to_string();
        s.push(ELLIPSIS);
        s.push_str(chars[chars.len() - tail..].iter().collect::<String>().trim_start());
        s
    };
    // The most characters kept that fit (widths grow with what is kept).
    let (mut lo, mut hi) = (0usize, chars.len());
    if text_width(&with(0), face, em) > max {
        return String::new();
    }
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if text_width(&with(mid), face, em) <= max {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    with(lo)
}

/// `text` broken at spaces into at most `lines` lines of at most `max` pixels each; a word wider
/// than a line is cut (middle ellipsis), and what does not fit in the last line is cut off
/// (ellipsis at its end).
pub(crate) fn wrap(text: &str, face: Face, em: f32, max: f64, lines: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut line = String::new();
    let mut words = text.split_whitespace().peekable();
    while let Some(word) = words.next() {
        let joined = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        if text_width(&joined, face, em) <= max {
            line = joined;
            continue;
        }
        if out.len() + 1 == lines.max(1) {
            // The last line: the rest of the text, cut at its end.
            let rest: Vec<&str> = std::iter::once(word).chain(words.by_ref()).collect();
            line = if line.is_empty() {
                rest.join(" ")
            } else {
                format!("{line} {}", rest.join(" "))
            };
            break;
        }
        if !line.is_empty() {
            out.push(std::mem::take(&mut line));
        }
        line = ellipsize(word, face, em, max, Cut::Middle);
        if words.peek().is_none() {
            break;
        }
    }
    if !line.is_empty() || out.is_empty() {
        out.push(ellipsize(&line, face, em, max, Cut::End));
    }
    out
}

/// How to place a label.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Place {
    /// Anchor x.
    pub x: f64,
    /// Anchor y.
    pub y: f64,
    /// Horizontal anchor.
    pub h: HAlign,
    /// Vertical anchor.
    pub v: VAlign,
}

/// Where the first glyph of `w` pixels of text anchored `at` starts, and its baseline (whole
/// pixels: a label that moves less than half a pixel stays identical).
fn origin(w: f64, em: f32, at: Place) -> (f64, f64) {
    let x0 = match at.h {
        HAlign::Left => at.x,
        HAlign::Center => at.x - w / 2.0,
        HAlign::Right => at.x - w,
    };
    let cap = (CAP * em) as f64;
    let base = match at.v {
        VAlign::Baseline => at.y,
        VAlign::Center => at.y + cap / 2.0,
        VAlign::Top => at.y + cap,
    };
    (x0.round(), base.round())
}

/// The box `[x0, y0, x1, y1]` that `spans` at `em` pixels per em take when anchored `at` (cap
/// height to baseline, plus descenders), without drawing them.
pub(crate) fn bounds(spans: &[Span], em: f32, at: Place) -> [f64; 4] {
    let w = width(spans, em);
    let (x0, base) = origin(w, em, at);
    text_box(x0, base, w, em)
}

fn text_box(x0: f64, base: f64, w: f64, em: f32) -> [f64; 4] {
    [x0, base - (CAP * em) as f64, x0 + w, base + 0.25 * em as f64]
}

/// Draws `spans` at `em` pixels per em; returns the box `[x0, y0, x1, y1]` it occupies (cap
/// height to baseline, plus descenders).
pub(crate) fn draw(t: &mut dyn Target, spans: &[Span], em: f32, at: Place, color: Rgb, alpha: f32) -> [f64; 4] {
    let w = width(spans, em);
    let (x0, base) = origin(w, em, at);
    if !(x0.is_finite() && base.is_finite() && x0.abs() < 1e7 && base.abs() < 1e7) {
        return [at.x, at.y, at.x, at.y];
    }
    t.text(&Glyphs {
        spans,
        em,
        x: x0,
        base,
        color,
        alpha,
        up: false,
    });
    text_box(x0, base, w, em)
}

/// Draws one plain string reading bottom to top, centred on `(x, y)` (a y-axis title); returns
/// the box it occupies.
pub(crate) fn label_up(t: &mut dyn Target, text: &str, face: Face, em: f32, x: f64, y: f64, color: Rgb) -> [f64; 4] {
    let spans = [Span::plain(text, face)];
    let w = width(&spans, em);
    let cap = (CAP * em) as f64;
    // Turned a quarter anticlockwise, the baseline is a column right of the glyphs' middle.
    let (bx, by) = ((x + cap / 2.0).round(), (y + w / 2.0).round());
    if !(bx.is_finite() && by.is_finite() && bx.abs() < 1e7 && by.abs() < 1e7) {
        return [x, y, x, y];
    }
    t.text(&Glyphs {
        spans: &spans,
        em,
        x: bx,
        base: by,
        color,
        alpha: 1.0,
        up: true,
    });
    [bx - cap, by - w, bx + 0.25 * em as f64, by]
}

/// Paints positioned text into the raster, glyph coverage a pixel at a time at quarter-pixel
/// positions along the line.
pub(super) fn rasterize(canvas: &mut Canvas, g: &Glyphs) {
    let mut caret = g.x as f32;
    let (ox, oy) = (g.x.round() as i64, g.base.round() as i64);
    for s in g.spans {
        let Some(f) = font(s.face) else {
            return;
        };
        let scale = scale_for(f, g.em * s.rel);
        let sf = f.as_scaled(scale);
        let y = (g.base as f32 - s.rise * g.em).round() as i64;
        let mut prev = None;
        for ch in s.text.chars() {
            let id = sf.glyph_id(ch);
            if let Some(p) = prev {
                caret += sf.kern(p, id);
            }
            let (cell, frac) = (caret.floor(), ((caret - caret.floor()) * SUBPIXEL).round() as u8);
            caret += sf.h_advance(id);
            prev = Some(id);
            let Some(b) = bitmap(f, s.face, scale, id, frac) else {
                continue;
            };
            let (gx0, gy0) = (cell as i64 + b.left as i64, y + b.top as i64);
            for gy in 0..b.h {
                for gx in 0..b.w {
                    let c = b.cov[gy * b.w + gx];
                    if c <= 0.0 {
                        continue;
                    }
                    let (px, py) = (gx0 + gx as i64, gy0 + gy as i64);
                    if g.up {
                        // A quarter turn anticlockwise about the origin.
                        canvas.blend(ox + (py - oy), oy - (px - ox), g.color, c * g.alpha);
                    } else {
                        canvas.blend(px, py, g.color, c * g.alpha);
                    }
                }
            }
        }
    }
    canvas.flush_marks();
}

/// Horizontal sub-pixel positions a glyph is rasterized at (per pixel).
const SUBPIXEL: f32 = 4.0;

/// A rasterized glyph: coverage and its offset from the pen's pixel.
struct Bitmap {
    left: i32,
    top: i32,
    w: usize,
    h: usize,
    cov: Vec<f32>,
}

type GlyphKey = (Face, u32, u16, u8);

thread_local! {
    static GLYPHS: RefCell<HashMap<GlyphKey, Option<Rc<Bitmap>>>> = RefCell::new(HashMap::new());
}

/// The glyph `id` at `scale`, `frac / SUBPIXEL` pixels right of a pixel boundary (cached).
fn bitmap(f: &FontRef<'static>, face: Face, scale: PxScale, id: GlyphId, frac: u8) -> Option<Rc<Bitmap>> {
    let key = (face, scale.y.to_bits(), id.0, frac);
    GLYPHS.with(|cache| {
        if let Some(hit) = cache.borrow().get(&key) {
            return hit.clone();
        }
        let glyph = id.with_scale_and_position(scale, point(frac as f32 / SUBPIXEL, 0.0));
        let made = f.outline_glyph(glyph).map(|outline| {
            let b = outline.px_bounds();
            let (w, h) = (b.width() as usize, b.height() as usize);
            let mut cov = vec![0.0; w * h];
            outline.draw(|x, y, c| {
                if let Some(v) = cov.get_mut(y as usize * w + x as usize) {
                    *v = c;
                }
            });
            Rc::new(Bitmap {
                left: b.min.x as i32,
                top: b.min.y as i32,
                w,
                h,
                cov,
            })
        });
        let mut cache = cache.borrow_mut();
        if cache.len() > 20_000 {
            cache.clear();
        }
        cache.insert(key, made.clone());
        made
    })
}

/// Draws one plain string; returns its box.
pub(crate) fn label(canvas: &mut dyn Target, text: &str, face: Face, em: f32, at: Place, color: Rgb) -> [f64; 4] {
    draw(canvas, &[Span::plain(text, face)], em, at, color, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Labels of 1 to 300 characters.
    fn labels() -> impl Iterator<Item = String> {
        let words = "adam lr=CosineDecayRestarts beta_1=0.8 beta_2=0.99 epsilon=1e-06 amsgrad=true ";
        [1, 2, 7, 30, 90, 97, 150, 300]
            .into_iter()
            .map(move |n| words.chars().cycle().take(n).collect())
    }

    #[test]
    fn shortened_text_fits_and_keeps_both_ends() {
        for face in [Face::Sans, Face::Mono] {
            for label in labels() {
                for max in [0.0, 5.0, 40.0, 150.0, 600.0] {
                    for cut in [Cut::Middle, Cut::End] {
                        let s = ellipsize(&label, face, 15.0, max, cut);
                        assert!(text_width(&s, face, 15.0) <= max + 1e-6, "{s:?} wider than {max}");
                        if text_width(&label, face, 15.0) <= max {
                            assert_eq!(s, label);
                        }
                    }
                }
            }
        }
        let long = "adam lr=CosineDecayRestarts beta_1=0.8 beta_2=0.99 epsilon=1e-06 amsgrad=true weight_decay=0.01";
        let s = ellipsize(long, Face::Sans, 15.0, 200.0, Cut::Middle);
        assert!(
            s.starts_with("adam lr=") && s.ends_with("0.01") && s.contains('\u{2026}'),
            "{s}"
        );
    }

    #[test]
    fn wrapped_titles_fit_their_lines() {
        let title: String = labels().last().unwrap_or_default();
        assert_eq!(title.chars().count(), 300);
        for max in [20.0, 120.0, 880.0] {
            for lines in [1, 2, 3] {
                let out = wrap(&title, Face::Sans, 16.0, max, lines);
                assert!(!out.is_empty() && out.len() <= lines, "{out:?}");
                for l in &out {
                    assert!(text_width(l, Face::Sans, 16.0) <= max + 1e-6, "{l:?} wider than {max}");
                }
            }
        }
        assert_eq!(wrap("short title", Face::Sans, 16.0, 500.0, 2), ["short title"]);
    }
}
