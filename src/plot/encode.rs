//! Encoding: PNG for still frames (the `png` crate); GIF for animations (the `gif` crate's
//! encoder) with one global palette, only the changed rectangle written per frame
//! (`DisposalMethod::Keep`) and unchanged pixels inside it transparent.

use super::canvas::{Canvas, Rect};
use super::colormap::Rgb;
use crate::error::{Error, Result};
use std::borrow::Cow;
use std::sync::mpsc::SyncSender;
use std::thread::JoinHandle;

/// A canvas as PNG bytes.
pub(crate) fn png(canvas: &Canvas) -> Result<Vec<u8>> {
    encode_png(canvas.w, canvas.h, png::ColorType::Rgb, &canvas.rgb())
}

/// A straight-alpha RGBA image as PNG bytes (an SVG's embedded raster layer).
pub(crate) fn png_rgba(w: usize, h: usize, rgba: &[u8]) -> Result<Vec<u8>> {
    encode_png(w, h, png::ColorType::Rgba, rgba)
}

fn encode_png(w: usize, h: usize, color: png::ColorType, data: &[u8]) -> Result<Vec<u8>> {
    let err = |e: png::EncodingError| Error::Plot(format!("cannot encode PNG: {e}"));
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w as u32, h as u32);
        enc.set_color(color);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Fast);
        let mut writer = enc.write_header().map_err(err)?;
        writer.write_image_data(data).map_err(err)?;
        writer.finish().map_err(err)?;
    }
    Ok(out)
}

/// The index of the transparent palette entry.
const CLEAR: u8 = 255;

/// A 256-entry palette: exact reserved colours, NeuQuant for the rest, and one transparent entry,
/// with a cache from colour to index.
struct Palette {
    colors: Vec<Rgb>,
    cache: Vec<u32>,
}

const CACHE_BITS: u32 = 18;
const EMPTY: u32 = u32::MAX;

impl Palette {
    /// Learns the palette from `frames` (every pixel not already reserved).
    fn learn(frames: &[&Canvas], reserved: &[Rgb]) -> Palette {
        let mut colors: Vec<Rgb> = Vec::with_capacity(256);
        for c in reserved {
            if !colors.contains(c) && colors.len() < 64 {
                colors.push(*c);
            }
        }
        let mut sample = Vec::new();
        for f in frames {
            // Every 7th pixel (coprime with typical widths) is sample enough.
            for p in f.rgba().chunks_exact(4).step_by(7) {
                let c = [p[0], p[1], p[2]];
                if !colors.contains(&c) {
                    sample.extend_from_slice(&[p[0], p[1], p[2], 255]);
                }
            }
        }
        let learned = 255 - colors.len();
        if sample.len() >= 4 * learned {
            let nq = color_quant::NeuQuant::new(2, learned, &sample);
            for c in nq.color_map_rgb().chunks_exact(3) {
                colors.push([c[0], c[1], c[2]]);
            }
        } else {
            // Few distinct colours: take them as they come.
            for p in sample.chunks_exact(4) {
                let c = [p[0], p[1], p[2]];
                if colors.len() < 255 && !colors.contains(&c) {
                    colors.push(c);
                }
            }
        }
        while colors.len() < 256 {
            colors.push([0, 0, 0]);
        }
        Palette {
            colors,
            cache: vec![EMPTY; 1 << CACHE_BITS],
        }
    }

    /// The bytes of the global colour table.
    fn table(&self) -> Vec<u8> {
        self.colors.iter().flatten().copied().collect()
    }

    /// The nearest palette entry (never the transparent one).
    #[inline]
    fn index(&mut self, c: &[u8]) -> u8 {
        let key = (c[0] as u32) << 16 | (c[1] as u32) << 8 | c[2] as u32;
        let mask = (1usize << CACHE_BITS) - 1;
        let mut slot = (key.wrapping_mul(2_654_435_761) >> (32 - CACHE_BITS)) as usize;
        for _ in 0..16 {
            let e = self.cache[slot];
            if e == EMPTY {
                let i = self.nearest(c);
                self.cache[slot] = key << 8 | i as u32;
                return i;
            }
            if e >> 8 == key {
                return e as u8;
            }
            slot = (slot + 1) & mask;
        }
        self.nearest(c)
    }

    fn nearest(&self, c: &[u8]) -> u8 {
        let mut best = (u32::MAX, 0u8);
        for (i, p) in self.colors.iter().enumerate().take(CLEAR as usize) {
            let d: u32 = (0..3).map(|k| (p[k] as i32 - c[k] as i32).pow(2) as u32).sum();
            if d < best.0 {
                best = (d, i as u8);
                if d == 0 {
                    break;
                }
            }
        }
        best.1
    }
}

/// The index of the first byte where `a` and `b` differ (compared eight bytes at a time).
fn first_diff(a: &[u8], b: &[u8]) -> Option<usize> {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 8 <= n {
        let x = u64::from_le_bytes(a[i..i + 8].try_into().unwrap_or([0; 8]));
        let y = u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or([0; 8]));
        if x != y {
            return Some(i + ((x ^ y).trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    (i..n).find(|&k| a[k] != b[k])
}

/// An animated GIF being written frame by frame. Frames are LZW-compressed and written by the
/// `gif` crate's encoder on a thread of their own, while the next frame is drawn.
pub(crate) struct GifWriter {
    /// Frames in order, to the encoder thread (dropped when the file is finished).
    to_encoder: Option<SyncSender<gif::Frame<'static>>>,
    /// The encoder thread: the file's bytes, or why it could not write them.
    encoder: Option<JoinHandle<Result<Vec<u8>>>>,
    palette: Palette,
    shown: Vec<u8>,
    prev: Vec<u8>,
    w: usize,
    h: usize,
    delay: u16,
    frames: usize,
}

fn gif_err(e: gif::EncodingError) -> Error {
    Error::Plot(format!("cannot encode GIF: {e}"))
}

impl GifWriter {
    /// Starts a looping GIF of `w` x `h` whose palette is learnt from `palette_frames` (the
    /// static background and the fullest frame), keeping `reserved` colours exact.
    pub(crate) fn new(w: usize, h: usize, palette_frames: &[&Canvas], reserved: &[Rgb], frame_ms: u32) -> Result<Self> {
        if w > u16::MAX as usize || h > u16::MAX as usize {
            return Err(Error::Plot(format!(
                "plot.size: a GIF holds at most 65535x65535 pixels, got {w}x{h}"
            )));
        }
        let palette = Palette::learn(palette_frames, reserved);
        let mut enc = gif::Encoder::new(Vec::new(), w as u16, h as u16, &palette.table()).map_err(gif_err)?;
        enc.set_repeat(gif::Repeat::Infinite).map_err(gif_err)?;
        // A few frames in flight keep the encoder busy without holding the whole animation.
        let (to_encoder, frames) = std::sync::mpsc::sync_channel::<gif::Frame<'static>>(4);
        let encoder = std::thread::Builder::new()
            .name("gif-encoder".into())
            .spawn(move || {
                for f in frames {
                    enc.write_frame(&f).map_err(gif_err)?;
                }
                enc.into_inner()
                    .map_err(|e| Error::Plot(format!("cannot finish GIF: {e}")))
            })
            .map_err(|e| Error::Plot(format!("cannot start the GIF encoder thread: {e}")))?;
        Ok(GifWriter {
            to_encoder: Some(to_encoder),
            encoder: Some(encoder),
            palette,
            shown: Vec::new(),
            prev: Vec::new(),
            w,
            h,
            delay: ((frame_ms + 5) / 10).clamp(1, u16::MAX as u32) as u16,
            frames: 0,
        })
    }

    /// Hands a frame to the encoder thread.
    fn send(&mut self, f: gif::Frame<'static>) -> Result<()> {
        let sent = self.to_encoder.as_ref().is_some_and(|tx| tx.send(f).is_ok());
        if sent {
            return Ok(());
        }
        // The encoder stopped: its error says why.
        Err(self.join().err().unwrap_or_else(stopped))
    }

    /// Closes the frame channel and waits for the encoder: the file's bytes, or why it failed.
    fn join(&mut self) -> Result<Vec<u8>> {
        self.to_encoder = None;
        match self.encoder.take().map(JoinHandle::join) {
            Some(Ok(done)) => done,
            _ => Err(stopped()),
        }
    }

    /// Appends `frame`; only pixels inside the rectangles `regions` may differ from the previous
    /// frame.
    pub(crate) fn push(&mut self, frame: &Canvas, regions: &[Rect]) -> Result<()> {
        if frame.w != self.w || frame.h != self.h {
            return Err(Error::Plot("GIF frames must all have the same size".into()));
        }
        let w = self.w;
        if self.frames == 0 {
            self.shown = frame.rgba().chunks_exact(4).map(|c| self.palette.index(c)).collect();
            self.prev = frame.rgba().to_vec();
            let f = gif::Frame {
                width: w as u16,
                height: self.h as u16,
                buffer: Cow::Owned(self.shown.clone()),
                delay: self.delay,
                dispose: gif::DisposalMethod::Keep,
                transparent: None,
                ..gif::Frame::default()
            };
            self.send(f)?;
            self.frames = 1;
            return Ok(());
        }
        // Pass 1: which pixels change their palette index, and where.
        let mut changed = Rect {
            x0: usize::MAX,
            y0: usize::MAX,
            x1: 0,
            y1: 0,
        };
        let mut new_idx: Vec<(usize, u8)> = Vec::new();
        let px = frame.rgba();
        for region in regions {
            let r = Rect {
                x0: region.x0,
                y0: region.y0,
                x1: region.x1.min(w),
                y1: region.y1.min(self.h),
            };
            if r.is_empty() {
                continue;
            }
            for y in r.y0..r.y1 {
                let row = y * w;
                let (a, b) = ((row + r.x0) * 4, (row + r.x1) * 4);
                // Jump from difference to difference, eight bytes at a time in between.
                let mut from = 0;
                while let Some(d) = first_diff(&px[a + from..b], &self.prev[a + from..b]) {
                    let x = r.x0 + (from + d) / 4;
                    from = (x + 1 - r.x0) * 4;
                    let i = row + x;
                    let o = i * 4;
                    let c = [px[o], px[o + 1], px[o + 2]];
                    self.prev[o..o + 3].copy_from_slice(&c);
                    let idx = self.palette.index(&c);
                    if idx != self.shown[i] {
                        new_idx.push((i, idx));
                        changed.x0 = changed.x0.min(x);
                        changed.x1 = changed.x1.max(x + 1);
                        changed.y0 = changed.y0.min(y);
                        changed.y1 = changed.y1.max(y + 1);
                    }
                }
            }
        }
        if changed.is_empty() {
            changed = Rect {
                x0: 0,
                y0: 0,
                x1: 1,
                y1: 1,
            };
        }
        // Pass 2: the changed rectangle, transparent where nothing changed.
        let (cw, ch) = (changed.x1 - changed.x0, changed.y1 - changed.y0);
        let mut buf = vec![CLEAR; cw * ch];
        for (i, idx) in new_idx {
            let (x, y) = (i % w, i / w);
            buf[(y - changed.y0) * cw + (x - changed.x0)] = idx;
            self.shown[i] = idx;
        }
        let f = gif::Frame {
            left: changed.x0 as u16,
            top: changed.y0 as u16,
            width: cw as u16,
            height: ch as u16,
            buffer: Cow::Owned(buf),
            delay: self.delay,
            dispose: gif::DisposalMethod::Keep,
            transparent: Some(CLEAR),
            ..gif::Frame::default()
        };
        self.send(f)?;
        self.frames += 1;
        Ok(())
    }

    /// Finishes the file and returns its bytes.
    pub(crate) fn finish(mut self) -> Result<Vec<u8>> {
        self.join()
    }
}

fn stopped() -> Error {
    Error::Plot("the GIF encoder stopped unexpectedly".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diffs() {
        let a = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
        for k in 0..a.len() {
            let mut b = a;
            b[k] = 0;
            assert_eq!(first_diff(&a, &b), Some(k));
        }
        assert_eq!(first_diff(&a, &a), None);
    }
}
