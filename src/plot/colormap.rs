//! Colours: matplotlib's "cool" colormap, seaborn's Set2 palette and the figures' fixed greys.

use crate::error::{Error, Result};
use crate::experiment::plot_spec::{PlotSpec, parse_hex};

/// An RGB colour, 8 bits a channel.
pub type Rgb = [u8; 3];

/// White: the figures' background.
pub(crate) const WHITE: Rgb = [255, 255, 255];
/// Tick labels and ticks (the post's `xtick.color` `#555`).
pub(crate) const TICK: Rgb = [0x55, 0x55, 0x55];
/// Axis lines, spines and legend frames (seaborn whitegrid's `.8`).
pub(crate) const SPINE: Rgb = [204, 204, 204];
/// Grid lines (seaborn whitegrid's `.8`).
pub(crate) const GRID: Rgb = [204, 204, 204];
/// Outlines of the 3D panes.
pub(crate) const PANE: Rgb = [225, 225, 225];
/// Labels and titles (seaborn's `.15`).
pub(crate) const LABEL: Rgb = [38, 38, 38];

/// seaborn's `color_palette("Set2")`: the post's trajectory colours.
pub(crate) const SET2: [Rgb; 8] = [
    [0x66, 0xc2, 0xa5],
    [0xfc, 0x8d, 0x62],
    [0x8d, 0xa0, 0xcb],
    [0xe7, 0x8a, 0xc3],
    [0xa6, 0xd8, 0x54],
    [0xff, 0xd9, 0x2f],
    [0xe5, 0xc4, 0x94],
    [0xb3, 0xb3, 0xb3],
];

/// matplotlib's "cool" colormap (256 entries): `(t, 1 - t, 1)`, `t` clamped to `[0, 1]`.
pub(crate) fn cool(t: f64) -> Rgb {
    let i = if t.is_nan() {
        0.0
    } else {
        (t * 256.0).floor().clamp(0.0, 255.0)
    };
    let i = i as u8;
    [i, 255 - i, 255]
}

/// The colour of each of `n` runs: the spec's `colors` (cycled) or Set2 (cycled).
pub fn run_colors(spec: &PlotSpec, n: usize) -> Result<Vec<Rgb>> {
    let palette: Vec<Rgb> = match &spec.colors {
        Some(colors) if !colors.is_empty() => colors
            .iter()
            .enumerate()
            .map(|(i, c)| {
                parse_hex(c)
                    .map(|(r, g, b)| [r, g, b])
                    .ok_or_else(|| Error::Plot(format!("plot.colors[{i}]: expected a colour \"#rrggbb\", got {c:?}")))
            })
            .collect::<Result<_>>()?,
        _ => SET2.to_vec(),
    };
    Ok((0..n).map(|i| palette[i % palette.len()]).collect())
}

/// The post's text colour for a run: its colour halved.
pub(crate) fn halved(c: Rgb) -> Rgb {
    [c[0] / 2, c[1] / 2, c[2] / 2]
}
