//! Text from the DejaVu fonts the build carries (the `dejavu` crate), rasterized with `ab_glyph`
//! at sub-pixel positions: no system fonts are needed.

use super::canvas::Canvas;
use super::colormap::Rgb;
use crate::error::{Error, Result};
use ab_glyph::{Font, FontRef, GlyphId, PxScale, ScaleFont, point};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::OnceLock;

/// A typeface.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Face {
    /// DejaVu Sans, matplotlib's default.
    Sans,
    /// DejaVu Sans Oblique, for mathtext variables.
    Italic,
    /// DejaVu Sans Mono, for legends' columns.
    Mono,
}

/// Horizontal anchor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HAlign {
    /// Text starts at x.
    Left,
    /// Text is centred on x.
    Center,
    /// Text ends at x.
    Right,
}

/// Vertical anchor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VAlign {
    /// y is the baseline.
    Baseline,
    /// y is the middle of a capital letter.
    Center,
    /// y is the top of a capital letter.
    Top,
}

/// A run of text in one face: size relative to the label's and baseline shift (em, up).
#[derive(Clone, Copy, Debug)]
pub struct Span<'a> {
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
    pub fn plain(text: &'a str, face: Face) -> Self {
        Span {
            text,
            face,
            rel: 1.0,
            rise: 0.0,
        }
    }

    /// A subscript (mathtext's `_{...}`).
    pub fn sub(text: &'a str) -> Self {
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

fn font(face: Face) -> Result<&'static FontRef<'static>> {
    let f = fonts()?;
    Ok(match face {
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
pub fn width(spans: &[Span], em: f32) -> Result<f32> {
    let mut w = 0.0;
    for s in spans {
        let f = font(s.face)?;
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
    Ok(w)
}

/// Width of one plain string.
pub fn text_width(text: &str, face: Face, em: f32) -> Result<f32> {
    width(&[Span::plain(text, face)], em)
}

/// How to place a label.
#[derive(Clone, Copy, Debug)]
pub struct Place {
    /// Anchor x.
    pub x: f64,
    /// Anchor y.
    pub y: f64,
    /// Horizontal anchor.
    pub h: HAlign,
    /// Vertical anchor.
    pub v: VAlign,
}

/// Draws `spans` at `em` pixels per em; returns the box `[x0, y0, x1, y1]` it occupies (cap
/// height to baseline, plus descenders).
pub fn draw(canvas: &mut Canvas, spans: &[Span], em: f32, at: Place, color: Rgb, alpha: f32) -> Result<[f64; 4]> {
    let w = width(spans, em)? as f64;
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
    if !(x0.is_finite() && base.is_finite() && x0.abs() < 1e7 && base.abs() < 1e7) {
        return Ok([at.x, at.y, at.x, at.y]);
    }
    // Whole-pixel origin: a label that moves less than half a pixel stays identical.
    let (x0, base) = (x0.round(), base.round());
    let mut caret = x0 as f32;
    for s in spans {
        let f = font(s.face)?;
        let size = em * s.rel;
        let scale = scale_for(f, size);
        let sf = f.as_scaled(scale);
        let y = (base as f32 - s.rise * em).round() as i64;
        let mut prev = None;
        for ch in s.text.chars() {
            let id = sf.glyph_id(ch);
            if let Some(p) = prev {
                caret += sf.kern(p, id);
            }
            let (cell, frac) = (caret.floor(), ((caret - caret.floor()) * SUBPIXEL).round() as u8);
            caret += sf.h_advance(id);
            prev = Some(id);
            if let Some(g) = bitmap(f, s.face, scale, id, frac) {
                let (gx0, gy0) = (cell as i64 + g.left as i64, y + g.top as i64);
                for gy in 0..g.h {
                    for gx in 0..g.w {
                        let c = g.cov[gy * g.w + gx];
                        if c > 0.0 {
                            canvas.blend(gx0 + gx as i64, gy0 + gy as i64, color, c * alpha);
                        }
                    }
                }
            }
        }
    }
    canvas.flush_marks();
    Ok([x0, base - cap, x0 + w, base + 0.25 * em as f64])
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
pub fn label(canvas: &mut Canvas, text: &str, face: Face, em: f32, at: Place, color: Rgb) -> Result<[f64; 4]> {
    draw(canvas, &[Span::plain(text, face)], em, at, color, 1.0)
}
