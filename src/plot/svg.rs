//! SVG output: the same layout as the PNG, written as vector elements. Lines are `<polyline>`s
//! (a `<path>` for many at once), markers `<circle>`s and `<polygon>`s, legend boxes `<rect>`s,
//! text `<text>` in the DejaVu faces the raster uses, placed and stretched to the widths ab_glyph
//! measures (`textLength`), so it lines up even where a viewer substitutes another font. Raster
//! layers (the 3D surface's ~40k quads, the contour view's fill) are embedded as PNG `<image>`s,
//! as matplotlib's `rasterized=True` does: as polygons the mesh alone would be over 2 MB.

use super::canvas::{Cap, Rect, Stroke, visible_pieces};
use super::colormap::Rgb;
use super::target::{Glyphs, Image, Target};
use super::text::{self, Face};
use crate::error::Result;
use std::fmt::Write;

/// An SVG document being drawn.
pub(crate) struct Svg {
    w: usize,
    h: usize,
    defs: String,
    body: String,
    /// The current clip, and its `clipPath` id.
    clip: Option<(Rect, usize)>,
    clips: Vec<Rect>,
    /// Why an embedded image could not be encoded, if one could not.
    failed: Option<crate::Error>,
}

/// A coordinate with at most two decimals.
fn num(v: f64) -> String {
    let r = (v * 100.0).round() / 100.0;
    if r == r.trunc() && r.abs() < 1e15 {
        format!("{}", r as i64)
    } else {
        let s = format!("{r:.2}");
        s.trim_end_matches('0').to_string()
    }
}

fn hex(c: Rgb) -> String {
    format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2])
}

/// `text` with XML's special characters escaped, and the control characters XML 1.0 cannot hold
/// replaced.
fn escape(text: &str) -> String {
    let held = |c: char| (c as u32) >= 0x20 || matches!(c, '\t' | '\n' | '\r');
    let text: String = text.chars().map(|c| if held(c) { c } else { '\u{fffd}' }).collect();
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn points(pts: &[[f64; 2]]) -> String {
    let mut s = String::with_capacity(pts.len() * 14);
    for (i, p) in pts.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        let _ = write!(s, "{},{}", num(p[0]), num(p[1]));
    }
    s
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn family(face: Face) -> &'static str {
    match face {
        Face::Sans | Face::Italic => "DejaVu Sans, Bitstream Vera Sans, Verdana, sans-serif",
        Face::Mono => "DejaVu Sans Mono, Bitstream Vera Sans Mono, Menlo, monospace",
    }
}

impl Svg {
    /// An empty `w` x `h` figure on white.
    pub(crate) fn new(w: usize, h: usize) -> Self {
        Svg {
            w,
            h,
            defs: String::new(),
            body: String::new(),
            clip: None,
            clips: Vec::new(),
            failed: None,
        }
    }

    /// The document.
    pub(crate) fn finish(self) -> Result<String> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let (w, h) = (self.w, self.h);
        let mut out = String::with_capacity(self.body.len() + self.defs.len() + 512);
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{w}\" height=\"{h}\" \
             viewBox=\"0 0 {w} {h}\" xml:space=\"preserve\" style=\"white-space:pre\">"
        );
        if !self.defs.is_empty() {
            let _ = writeln!(out, "<defs>\n{}</defs>", self.defs);
        }
        let _ = writeln!(out, "<rect width=\"{w}\" height=\"{h}\" fill=\"#ffffff\"/>");
        out.push_str(&self.body);
        out.push_str("</svg>\n");
        Ok(out)
    }

    /// ` clip-path="..."` for the current clip, or nothing.
    fn clip_attr(&self) -> String {
        match self.clip {
            Some((_, id)) => format!(" clip-path=\"url(#clip{id})\""),
            None => String::new(),
        }
    }

    fn paint(name: &str, color: Rgb, alpha: f32) -> String {
        let mut s = format!(" {name}=\"{}\"", hex(color));
        if alpha < 1.0 {
            let _ = write!(s, " {name}-opacity=\"{}\"", num(alpha.max(0.0) as f64));
        }
        s
    }

    fn stroke_attrs(s: &Stroke) -> String {
        let mut a = format!(
            " fill=\"none\"{} stroke-width=\"{}\" stroke-linejoin=\"round\"",
            Self::paint("stroke", s.color, s.alpha),
            num(s.width)
        );
        match (s.dash, s.cap) {
            (Some([on, off]), _) if on > 0.0 && off >= 0.0 => {
                let _ = write!(a, " stroke-dasharray=\"{} {}\"", num(on), num(off));
            }
            (_, Cap::Round) => a.push_str(" stroke-linecap=\"round\""),
            (_, Cap::Butt) => {}
        }
        a
    }

    /// The pieces of polyline `pts` worth writing: cut to the figure (or clip), grown by `pad`.
    fn pieces(&self, pts: &[[f64; 2]], pad: f64) -> Vec<Vec<[f64; 2]>> {
        let area = self.clip.map_or(
            Rect {
                x0: 0,
                y0: 0,
                x1: self.w,
                y1: self.h,
            },
            |(r, _)| r,
        );
        visible_pieces(pts, area, pad)
    }
}

impl Target for Svg {
    fn set_clip(&mut self, r: Option<Rect>) {
        let full = |r: &Rect| r.x0 == 0 && r.y0 == 0 && r.x1 >= self.w && r.y1 >= self.h;
        self.clip = match r {
            Some(r) if !full(&r) => {
                let id = match self.clips.iter().position(|c| *c == r) {
                    Some(id) => id,
                    None => {
                        let id = self.clips.len();
                        self.clips.push(r);
                        let _ = writeln!(
                            self.defs,
                            "<clipPath id=\"clip{id}\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/></clipPath>",
                            r.x0,
                            r.y0,
                            r.x1.saturating_sub(r.x0),
                            r.y1.saturating_sub(r.y0)
                        );
                        id
                    }
                };
                Some((r, id))
            }
            _ => None,
        };
    }

    fn stroke(&mut self, pts: &[[f64; 2]], s: &Stroke) {
        if !(s.width > 0.0 && s.alpha > 0.0) {
            return;
        }
        let attrs = Self::stroke_attrs(s);
        let clip = self.clip_attr();
        for piece in self.pieces(pts, s.width + 2.0) {
            let _ = writeln!(self.body, "<polyline points=\"{}\"{attrs}{clip}/>", points(&piece));
        }
    }

    fn stroke_all(&mut self, lines: &[Vec<[f64; 2]>], s: &Stroke) {
        if !(s.width > 0.0 && s.alpha > 0.0) {
            return;
        }
        let mut d = String::new();
        for l in lines {
            for piece in self.pieces(l, s.width + 2.0) {
                for (i, p) in piece.iter().enumerate() {
                    let _ = write!(d, "{}{} {}", if i == 0 { "M" } else { "L" }, num(p[0]), num(p[1]));
                }
            }
        }
        if !d.is_empty() {
            let _ = writeln!(
                self.body,
                "<path d=\"{d}\"{}{}/>",
                Self::stroke_attrs(s),
                self.clip_attr()
            );
        }
    }

    fn disc(&mut self, c: [f64; 2], r: f64, color: Rgb, alpha: f32) {
        if !(c[0].is_finite() && c[1].is_finite() && c[0].abs() < 1e7 && c[1].abs() < 1e7 && r > 0.0 && alpha > 0.0) {
            return;
        }
        let _ = writeln!(
            self.body,
            "<circle cx=\"{}\" cy=\"{}\" r=\"{}\"{}{}/>",
            num(c[0]),
            num(c[1]),
            num(r),
            Self::paint("fill", color, alpha),
            self.clip_attr()
        );
    }

    fn convex(&mut self, poly: &[[f64; 2]], color: Rgb, alpha: f32) {
        if poly.len() < 3 || alpha <= 0.0 || poly.iter().any(|p| !(p[0].abs() < 1e7 && p[1].abs() < 1e7)) {
            return;
        }
        let _ = writeln!(
            self.body,
            "<polygon points=\"{}\"{}{}/>",
            points(poly),
            Self::paint("fill", color, alpha),
            self.clip_attr()
        );
    }

    fn round_rect(&mut self, b: [f64; 4], r: f64, fill: Option<(Rgb, f32)>, edge: Option<(Rgb, f32, f64)>) {
        let [x0, y0, x1, y1] = b;
        if !(b.iter().all(|v| v.abs() < 1e7) && x0 < x1 && y0 < y1) {
            return;
        }
        let r = r.min((x1 - x0) / 2.0).min((y1 - y0) / 2.0).max(0.0);
        let mut a = match fill {
            Some((c, alpha)) => Self::paint("fill", c, alpha),
            None => " fill=\"none\"".into(),
        };
        if let Some((c, alpha, w)) = edge
            && w > 0.0
        {
            a.push_str(&Self::paint("stroke", c, alpha));
            let _ = write!(a, " stroke-width=\"{}\" stroke-linejoin=\"round\"", num(w));
        }
        let _ = writeln!(
            self.body,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"{}\"{a}{}/>",
            num(x0),
            num(y0),
            num(x1 - x0),
            num(y1 - y0),
            num(r),
            self.clip_attr()
        );
    }

    fn text(&mut self, g: &Glyphs) {
        let rotate = if g.up {
            format!(" transform=\"rotate(-90 {} {})\"", num(g.x), num(g.base))
        } else {
            String::new()
        };
        let mut caret = g.x;
        for s in g.spans {
            let em = g.em * s.rel;
            let w = text::width(std::slice::from_ref(s), g.em);
            if !s.text.trim().is_empty() {
                let style = match s.face {
                    Face::Italic => " font-style=\"oblique\"",
                    _ => "",
                };
                let _ = writeln!(
                    self.body,
                    "<text x=\"{}\" y=\"{}\" font-family=\"{}\" font-size=\"{}\"{style}{} textLength=\"{}\" \
                     lengthAdjust=\"spacingAndGlyphs\"{rotate}{}>{}</text>",
                    num(caret),
                    num((g.base as f32 - s.rise * g.em).round() as f64),
                    family(s.face),
                    num(em as f64),
                    Self::paint("fill", g.color, g.alpha),
                    num(w),
                    self.clip_attr(),
                    escape(s.text)
                );
            }
            caret += w;
        }
    }

    fn image(&mut self, img: &Image) {
        let Some(img) = img.trimmed() else {
            return;
        };
        let png = match super::encode::png_rgba(img.w, img.h, &img.rgba) {
            Ok(png) => png,
            Err(e) => {
                self.failed.get_or_insert(e);
                return;
            }
        };
        let _ = writeln!(
            self.body,
            "<image x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" preserveAspectRatio=\"none\"{} \
             href=\"data:image/png;base64,{}\"/>",
            img.x0,
            img.y0,
            img.w,
            img.h,
            self.clip_attr(),
            base64(&png)
        );
    }

    fn begin_group(&mut self, class: &str, title: &str) {
        let _ = writeln!(
            self.body,
            "<g class=\"{}\"><title>{}</title>",
            escape(class),
            escape(title)
        );
    }

    fn end_group(&mut self) {
        self.body.push_str("</g>\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_escapes_and_base64() {
        let numbers = [3.0, 2.5, -0.125].map(num);
        assert_eq!(numbers, ["3", "2.5", "-0.13"]);
        assert_eq!(escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
        let encoded = [&b"Man"[..], b"Ma", b"M"].map(base64);
        assert_eq!(encoded, ["TWFu", "TWE=", "TQ=="]);
    }
}
