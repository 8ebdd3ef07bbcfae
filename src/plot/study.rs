//! A study's figures: `heatmap.png` (the tuning objective over two swept axes),
//! `basins.png` (each grid start coloured by the minimum it reached, shaded by how fast) and
//! `sensitivity.png` (success rate and final loss against the learning rate).

use super::axes2d::Axes2d;
use super::canvas::{Canvas, Stroke};
use super::colormap::{self, LABEL, Rgb, WHITE};
use super::text::{self, Face, HAlign, Place, VAlign};
use super::{Metrics, encode};
use crate::error::Result;
use crate::experiment::plot_spec::{MANY_COLORS, parse_hex};
use crate::experiment::study::run::Outcome;
use crate::experiment::study::summary::Summary;
use crate::experiment::study::{Configuration, Objective, Study, SweptValue, is_rate};
use crate::io::write_atomic;
use crate::surface::Kind;
use std::path::{Path, PathBuf};

/// Distinct, dark-enough colours for basins and lines (matplotlib's "tab10").
const TAB10: [Rgb; 10] = [
    [0x1f, 0x77, 0xb4],
    [0xff, 0x7f, 0x0e],
    [0x2c, 0xa0, 0x2c],
    [0xd6, 0x27, 0x28],
    [0x94, 0x67, 0xbd],
    [0x8c, 0x56, 0x4b],
    [0xe3, 0x77, 0xc2],
    [0x7f, 0x7f, 0x7f],
    [0xbc, 0xbd, 0x22],
    [0x17, 0xbe, 0xcf],
];
/// Line colours of a figure with `n` lines: tab10, or for more than ten lines the 21 colours of
/// [`MANY_COLORS`] (tab20 and near-black), cycled.
fn line_colors(n: usize) -> Vec<Rgb> {
    if n <= TAB10.len() {
        return TAB10.to_vec();
    }
    MANY_COLORS
        .iter()
        .filter_map(|c| parse_hex(c).map(|(r, g, b)| [r, g, b]))
        .collect()
}
/// The heatmap's colour scale over its finite values.
#[derive(Debug, PartialEq)]
struct ColourRange {
    lo: f64,
    hi: f64,
    /// Log scale (positive values spanning more than two decades).
    log: bool,
    /// `hi` is below the largest value, whose cells take the top colour.
    capped: bool,
}

/// The lowest and highest value, on a log scale when they span more than two decades. A few
/// cells far above the rest (a rate that all but diverged) would flatten every other colour, so
/// on a log scale the top stops at the 95th percentile when the largest value is over 1000
/// times it.
fn colour_range(finite: &[f64]) -> ColourRange {
    let mut sorted = finite.to_vec();
    sorted.sort_by(f64::total_cmp);
    let (lo, hi) = match (sorted.first(), sorted.last()) {
        (Some(&lo), Some(&hi)) => (lo, hi),
        _ => (f64::INFINITY, f64::NEG_INFINITY),
    };
    let log = lo > 0.0 && hi / lo > 100.0;
    let p95 = sorted
        .get((sorted.len().saturating_sub(1) as f64 * 0.95).round() as usize)
        .copied();
    match p95 {
        Some(p) if log && p > lo && hi > 1e3 * p => ColourRange {
            lo,
            hi: p,
            log,
            capped: true,
        },
        _ => ColourRange {
            lo,
            hi,
            log,
            capped: false,
        },
    }
}

/// The most basin panels drawn, one per configuration; more configurations show the best per label.
const MAX_PANELS: usize = 16;
/// Diverged runs.
pub const DIVERGED: Rgb = [150, 150, 150];
/// Runs that ended near no known minimum.
pub const NO_BASIN: Rgb = [228, 228, 228];

/// `c` blended towards white by `t` in [0, 1].
fn lighten(c: Rgb, t: f64) -> Rgb {
    c.map(|v| (v as f64 + (255.0 - v as f64) * t).round() as u8)
}

/// A value as a short label: three significant digits.
fn short(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let digits = (2 - v.abs().log10().floor() as i32).clamp(0, 6) as usize;
    if !(1e-3..1e5).contains(&v.abs()) {
        // 3.16e-5, 1e-6: no trailing zeros in the mantissa.
        let text = format!("{v:.2e}");
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
        format!("{mantissa}e{exponent}")
    } else {
        format!("{v:.digits$}")
    }
}

fn value_label(v: &SweptValue) -> String {
    match v {
        // Whole numbers as written (`sync_period=5`, not `5.00`).
        SweptValue::Int(i) => i.to_string(),
        _ => v.as_f64().map_or_else(|| v.to_string(), short),
    }
}

/// A configuration's label: its optimizer and swept values.
fn config_label(study: &Study, i: usize) -> String {
    let c = &study.configs[i];
    let swept: Vec<String> = c
        .swept
        .iter()
        .map(|(k, v)| format!("{}={}", k.replace("learning_rate", "lr"), value_label(v)))
        .collect();
    std::iter::once(c.label.clone())
        .chain(swept)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Draws every figure the study's shape allows into `dir`; returns the files written.
pub fn draw_all(study: &Study, outcomes: &[Outcome], dir: &Path) -> Result<Vec<PathBuf>> {
    let summaries = study.summaries(outcomes);
    let mut written = Vec::new();
    let mut write = |name: &str, c: &Canvas| -> Result<()> {
        let path = dir.join(name);
        write_atomic(&path, &encode::png(c)?)?;
        written.push(path);
        Ok(())
    };
    if let Some(c) = heatmap(study, &summaries)? {
        write("heatmap.png", &c)?;
    }
    if study.grid.is_some() {
        write("basins.png", &basins(study, outcomes, &summaries)?)?;
    }
    if let Some(c) = sensitivity(study, outcomes, &summaries)? {
        write("sensitivity.png", &c)?;
    }
    Ok(written)
}

/// The objective's value for the heatmap (lower is better except for the success rate).
fn metric(s: &Summary, objective: Objective) -> f64 {
    match objective {
        Objective::SuccessRate => s.success_rate,
        _ => s.rank(objective),
    }
}

/// The heatmap's grid: column labels, row labels and each cell's configuration.
type Grid = (String, Vec<String>, String, Vec<String>, Vec<Vec<Option<usize>>>);

/// The two axes: the first optimizer that sweeps two hyperparameters (the learning rate across),
/// else the learning rate across and the optimizers down.
fn heatmap_grid(study: &Study, summaries: &[Summary]) -> Option<Grid> {
    let objective = study.objective();
    let key = |v: Option<&SweptValue>| v.map(SweptValue::to_string);
    if let Some(c0) = study.configs.iter().position(|c| c.swept.len() >= 2) {
        let name = &study.configs[c0].label;
        let mut keys: Vec<&str> = study.configs[c0].swept.keys().collect();
        if let Some(p) = keys.iter().position(|k| is_rate(k)) {
            keys.swap(0, p);
        }
        let (kx, ky) = (keys[0].to_string(), keys[1].to_string());
        let members: Vec<usize> = (0..study.configs.len())
            .filter(|&i| study.configs[i].label == *name && study.configs[i].swept.len() >= 2)
            .collect();
        let mut xs: Vec<SweptValue> = Vec::new();
        let mut ys: Vec<SweptValue> = Vec::new();
        for &i in &members {
            let s = &study.configs[i].swept;
            if let Some(x) = s.get(&kx).filter(|x| !xs.contains(x)) {
                xs.push(x.clone());
            }
            if let Some(y) = s.get(&ky).filter(|y| !ys.contains(y)) {
                ys.push(y.clone());
            }
        }
        let cells = ys
            .iter()
            .map(|y| {
                xs.iter()
                    .map(|x| {
                        members
                            .iter()
                            .copied()
                            .filter(|&i| {
                                key(study.configs[i].swept.get(&kx)) == key(Some(x))
                                    && key(study.configs[i].swept.get(&ky)) == key(Some(y))
                            })
                            .reduce(|a, b| {
                                if summaries[b].better(&summaries[a], objective) {
                                    b
                                } else {
                                    a
                                }
                            })
                    })
                    .collect()
            })
            .collect();
        return Some((
            format!("{name}: {kx}"),
            xs.iter().map(value_label).collect(),
            ky,
            ys.iter().map(value_label).collect(),
            cells,
        ));
    }
    let mut xs: Vec<f64> = study.configs.iter().filter_map(Configuration::swept_rate).collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    if xs.len() < 2 {
        return None;
    }
    let mut names: Vec<&str> = Vec::new();
    for c in &study.configs {
        if !names.contains(&c.label.as_str()) {
            names.push(c.label.as_str());
        }
    }
    let cells = names
        .iter()
        .map(|name| {
            xs.iter()
                .map(|x| {
                    (0..study.configs.len())
                        .filter(|&i| {
                            let c = &study.configs[i];
                            c.label == *name && c.swept_rate() == Some(*x)
                        })
                        .reduce(|a, b| {
                            if summaries[b].better(&summaries[a], objective) {
                                b
                            } else {
                                a
                            }
                        })
                })
                .collect()
        })
        .collect();
    Some((
        "learning_rate".into(),
        xs.iter().map(|&x| short(x)).collect(),
        "optimizer".into(),
        names.iter().map(|n| n.to_string()).collect(),
        cells,
    ))
}

fn heatmap(study: &Study, summaries: &[Summary]) -> Result<Option<Canvas>> {
    let Some((xlabel, xs, ylabel, ys, cells)) = heatmap_grid(study, summaries) else {
        return Ok(None);
    };
    let objective = study.objective();
    let values: Vec<Vec<Option<f64>>> = cells
        .iter()
        .map(|row| {
            row.iter()
                .map(|c| c.map(|i| metric(&summaries[i], objective)))
                .collect()
        })
        .collect();
    let finite: Vec<f64> = values
        .iter()
        .flatten()
        .flatten()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    let ColourRange { lo, hi, log, capped } = colour_range(&finite);
    let scale = |v: f64| {
        let (v, lo, hi) = if log {
            (v.log10(), lo.log10(), hi.log10())
        } else {
            (v, lo, hi)
        };
        if hi > lo { ((v - lo) / (hi - lo)).min(1.0) } else { 0.5 }
    };
    let (w, h) = (900usize, (200 + 46 * ys.len()).clamp(360, 1400));
    let m = Metrics::new(w, h);
    let mut c = Canvas::new(w, h);
    let em = m.pt(11.0) as f32;
    let label_w = ys
        .iter()
        .map(|l| text::text_width(l, Face::Sans, em))
        .collect::<Result<Vec<f32>>>()?
        .into_iter()
        .fold(0.0f32, f32::max) as f64;
    // Room on the right for the colour bar.
    let area = [label_w + 30.0, 70.0, w as f64 - 110.0, h as f64 - 70.0];
    let (cw, ch) = (
        (area[2] - area[0]) / xs.len() as f64,
        (area[3] - area[1]) / ys.len() as f64,
    );
    let title = format!(
        "{} ({} x {} runs each; {})",
        objective.name().replace('_', " "),
        study.starts.len(),
        study.seeds.len(),
        if log { "colour on a log scale" } else { "colour linear" }
    );
    text::label(
        &mut c,
        &title,
        Face::Sans,
        m.pt(12.0) as f32,
        Place {
            x: w as f64 / 2.0,
            y: 30.0,
            h: HAlign::Center,
            v: VAlign::Center,
        },
        LABEL,
    )?;
    for (r, row) in values.iter().enumerate() {
        for (k, v) in row.iter().enumerate() {
            let (x0, y0) = (area[0] + k as f64 * cw, area[1] + r as f64 * ch);
            let fill = match v {
                None => WHITE,
                Some(v) if !v.is_finite() => DIVERGED,
                Some(v) => colormap::cool(scale(*v)),
            };
            c.convex(&[[x0, y0], [x0 + cw, y0], [x0 + cw, y0 + ch], [x0, y0 + ch]], fill, 1.0);
            if let Some(v) = v
                && cw > 34.0
            {
                let t = if v.is_finite() { short(*v) } else { "inf".into() };
                let at = Place {
                    x: x0 + cw / 2.0,
                    y: y0 + ch / 2.0,
                    h: HAlign::Center,
                    v: VAlign::Center,
                };
                text::label(&mut c, &t, Face::Sans, (m.pt(8.5)).min(cw / 4.0) as f32, at, LABEL)?;
            }
        }
    }
    let frame = Stroke::solid(colormap::SPINE, 1.0);
    c.stroke(
        &[
            [area[0], area[1]],
            [area[2], area[1]],
            [area[2], area[3]],
            [area[0], area[3]],
            [area[0], area[1]],
        ],
        &frame,
    );
    // The best configuration of each row, framed.
    let best: Vec<usize> = study.best(summaries).into_iter().map(|(_, i)| i).collect();
    for (r, row) in cells.iter().enumerate() {
        for (k, cell) in row.iter().enumerate() {
            if cell.is_some_and(|i| best.contains(&i)) {
                let (x0, y0) = (area[0] + k as f64 * cw + 1.5, area[1] + r as f64 * ch + 1.5);
                let (x1, y1) = (x0 + cw - 3.0, y0 + ch - 3.0);
                c.stroke(
                    &[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]],
                    &Stroke::solid(WHITE, 2.5),
                );
            }
        }
    }
    // Column labels, skipping those that would run into the previous one.
    let tick = m.pt(9.5) as f32;
    let mut right = f64::NEG_INFINITY;
    for (k, l) in xs.iter().enumerate() {
        let x = area[0] + (k as f64 + 0.5) * cw;
        let half = text::text_width(l, Face::Sans, tick)? as f64 / 2.0;
        if x - half < right + 6.0 {
            continue;
        }
        let at = Place {
            x,
            y: area[3] + 6.0,
            h: HAlign::Center,
            v: VAlign::Top,
        };
        right = text::label(&mut c, l, Face::Sans, tick, at, colormap::TICK)?[2];
    }
    // The colour bar: the scale's ends and middle.
    if !finite.is_empty() {
        let (bx, bw) = (area[2] + 22.0, 16.0);
        let n = 64;
        for k in 0..n {
            let t = k as f64 / (n - 1) as f64;
            let y1 = area[3] - k as f64 * (area[3] - area[1]) / n as f64;
            let y0 = area[3] - (k + 1) as f64 * (area[3] - area[1]) / n as f64;
            c.convex(
                &[
                    [bx, y0.floor()],
                    [bx + bw, y0.floor()],
                    [bx + bw, y1.ceil()],
                    [bx, y1.ceil()],
                ],
                colormap::cool(t),
                1.0,
            );
        }
        c.stroke(
            &[
                [bx, area[1]],
                [bx + bw, area[1]],
                [bx + bw, area[3]],
                [bx, area[3]],
                [bx, area[1]],
            ],
            &frame,
        );
        for t in [0.0, 0.5, 1.0] {
            let v = if log {
                10f64.powf(lo.log10() + t * (hi.log10() - lo.log10()))
            } else {
                lo + t * (hi - lo)
            };
            let at = Place {
                x: bx + bw + 5.0,
                y: area[3] - t * (area[3] - area[1]),
                h: HAlign::Left,
                v: VAlign::Center,
            };
            let label = if capped && t == 1.0 {
                format!(">= {}", short(v))
            } else {
                short(v)
            };
            text::label(&mut c, &label, Face::Sans, tick, at, colormap::TICK)?;
        }
    }
    for (r, l) in ys.iter().enumerate() {
        let at = Place {
            x: area[0] - 8.0,
            y: area[1] + (r as f64 + 0.5) * ch,
            h: HAlign::Right,
            v: VAlign::Center,
        };
        text::label(&mut c, l, Face::Sans, em, at, colormap::TICK)?;
    }
    let at = Place {
        x: (area[0] + area[2]) / 2.0,
        y: h as f64 - 22.0,
        h: HAlign::Center,
        v: VAlign::Center,
    };
    text::label(&mut c, &xlabel, Face::Sans, m.pt(11.5) as f32, at, LABEL)?;
    let at = Place {
        x: 8.0,
        y: area[1] - 16.0,
        h: HAlign::Left,
        v: VAlign::Center,
    };
    text::label(&mut c, &ylabel, Face::Sans, m.pt(11.5) as f32, at, LABEL)?;
    Ok(Some(c))
}

fn basins(study: &Study, outcomes: &[Outcome], summaries: &[Summary]) -> Result<Canvas> {
    let [nx, ny] = study.grid.expect("basins need grid starts");
    // One panel per configuration while they fit, else the best of each label.
    let panels: Vec<usize> = if study.configs.len() <= MAX_PANELS {
        (0..study.configs.len()).collect()
    } else {
        study.best(summaries).into_iter().map(|(_, i)| i).collect()
    };
    let cols = (panels.len() as f64).sqrt().ceil().max(1.0) as usize;
    let rows = panels.len().div_ceil(cols);
    let side = (900 / cols).clamp(260, 450);
    let w = side * cols;
    let m = Metrics::new(w.min(side * rows), w.min(side * rows));
    let d = study.surface.domain;
    let per = study.starts.len() * study.seeds.len();
    let minima: Vec<[f64; 2]> = study.surface.minima().map(|s| s.point).collect();
    // Legend: one swatch per known minimum, then none and diverged, wrapped to the width.
    let mut entries: Vec<(Rgb, String)> = minima
        .iter()
        .enumerate()
        .map(|(k, q)| (TAB10[k % 10], format!("minimum {k} ({}, {})", short(q[0]), short(q[1]))))
        .collect();
    entries.push((NO_BASIN, "near no known minimum".into()));
    entries.push((DIVERGED, "diverged".into()));
    let em = m.pt(9.5) as f32;
    let (mut x, mut y) = (14.0, (rows * side) as f64 + 30.0);
    let mut places = Vec::with_capacity(entries.len());
    for (_, label) in &entries {
        let width = 20.0 + text::text_width(label, Face::Sans, em)? as f64 + 18.0;
        if x > 14.0 && x + width > w as f64 - 8.0 {
            (x, y) = (14.0, y + 22.0);
        }
        places.push([x, y]);
        x += width;
    }
    let legend_bottom = y;
    let h = legend_bottom as usize + 50;
    let mut c = Canvas::new(w, h);
    for (p, &config) in panels.iter().enumerate() {
        let (px, py) = ((p % cols) * side, (p / cols) * side);
        let area = [
            px as f64 + 12.0,
            py as f64 + 34.0,
            (px + side) as f64 - 12.0,
            (py + side) as f64 - 8.0,
        ];
        let at = Place {
            x: (area[0] + area[2]) / 2.0,
            y: py as f64 + 18.0,
            h: HAlign::Center,
            v: VAlign::Center,
        };
        text::label(
            &mut c,
            &config_label(study, config),
            Face::Sans,
            m.pt(10.5) as f32,
            at,
            LABEL,
        )?;
        let (cw, ch) = ((area[2] - area[0]) / nx as f64, (area[3] - area[1]) / ny as f64);
        for i in 0..nx {
            for j in 0..ny {
                // The first seed's run from this start (x index first, y up).
                let o = &outcomes[config * per + (i * ny + j) * study.seeds.len()];
                let color = match (o.basin, o.steps_to_threshold) {
                    (-2, _) => DIVERGED,
                    (b, _) if b < 0 => NO_BASIN,
                    (b, Some(s)) => lighten(TAB10[b as usize % 10], 0.55 * s as f64 / study.steps.max(1) as f64),
                    (b, None) => lighten(TAB10[b as usize % 10], 0.7),
                };
                // Edges on whole pixels, so neighbouring cells meet without anti-aliased seams.
                let (x0, x1) = (
                    (area[0] + i as f64 * cw).round(),
                    (area[0] + (i + 1) as f64 * cw).round(),
                );
                let (y0, y1) = (
                    (area[3] - (j + 1) as f64 * ch).round(),
                    (area[3] - j as f64 * ch).round(),
                );
                c.convex(&[[x0, y0], [x1, y0], [x1, y1], [x0, y1]], color, 1.0);
            }
        }
        let to_px = |q: [f64; 2]| {
            [
                area[0] + (q[0] - d.x[0]) / (d.x[1] - d.x[0]) * (area[2] - area[0]),
                area[3] - (q[1] - d.y[0]) / (d.y[1] - d.y[0]) * (area[3] - area[1]),
            ]
        };
        for q in &minima {
            super::contour::star(&mut c, to_px(*q), 6.0, [(WHITE, 3.4), (colormap::LABEL, 1.6)]);
        }
        for q in study.surface.stationary.iter().filter(|s| s.kind == Kind::Saddle) {
            let q = to_px(q.point);
            for (color, width) in [(WHITE, 3.4), (colormap::LABEL, 1.6)] {
                for (a, b) in [([-5.0, -5.0], [5.0, 5.0]), ([-5.0, 5.0], [5.0, -5.0])] {
                    c.stroke(
                        &[[q[0] + a[0], q[1] + a[1]], [q[0] + b[0], q[1] + b[1]]],
                        &Stroke::solid(color, width),
                    );
                }
            }
        }
        let frame = Stroke::solid(colormap::SPINE, 1.0);
        c.stroke(
            &[
                [area[0], area[1]],
                [area[2], area[1]],
                [area[2], area[3]],
                [area[0], area[3]],
                [area[0], area[1]],
            ],
            &frame,
        );
    }
    for ((color, label), [x, y]) in entries.iter().zip(places) {
        c.convex(
            &[[x, y - 7.0], [x + 14.0, y - 7.0], [x + 14.0, y + 7.0], [x, y + 7.0]],
            *color,
            1.0,
        );
        text::label(
            &mut c,
            label,
            Face::Sans,
            em,
            Place {
                x: x + 20.0,
                y,
                h: HAlign::Left,
                v: VAlign::Center,
            },
            LABEL,
        )?;
    }
    let note = "stars: known minima; crosses: saddles; paler: more steps to the threshold; palest: never reached it (first seed of each start)";
    text::label(
        &mut c,
        note,
        Face::Sans,
        em,
        Place {
            x: 14.0,
            y: legend_bottom + 28.0,
            h: HAlign::Left,
            v: VAlign::Center,
        },
        colormap::TICK,
    )?;
    Ok(c)
}

/// One line of the sensitivity figure: an optimizer (with its other swept values) against the
/// learning rate.
struct Line {
    label: String,
    /// `(lr, success rate, median gap, quartiles of the gap)`.
    points: Vec<(f64, f64, f64, [f64; 2])>,
}

fn sensitivity(study: &Study, outcomes: &[Outcome], summaries: &[Summary]) -> Result<Option<Canvas>> {
    let per = study.starts.len() * study.seeds.len();
    let floor = study.surface.global_minimum().unwrap_or(0.0);
    let mut lines: Vec<Line> = Vec::new();
    for (i, c) in study.configs.iter().enumerate() {
        let Some(lr) = c.swept_rate() else {
            continue;
        };
        let others: Vec<String> = c
            .swept
            .iter()
            .filter(|(k, _)| !is_rate(k))
            .map(|(k, v)| format!("{k}={}", value_label(v)))
            .collect();
        let label = std::iter::once(c.label.clone())
            .chain(others)
            .collect::<Vec<_>>()
            .join(" ");
        let runs = &outcomes[i * per..(i + 1) * per];
        let mut gaps: Vec<f64> = runs
            .iter()
            .map(|o| {
                if o.diverged_at.is_some() {
                    f64::INFINITY
                } else {
                    (o.final_loss as f64 - floor).max(1e-12)
                }
            })
            .collect();
        gaps.sort_by(f64::total_cmp);
        let q = |f: f64| gaps[((gaps.len() - 1) as f64 * f).round() as usize];
        let point = (lr, summaries[i].success_rate, q(0.5), [q(0.25), q(0.75)]);
        match lines.iter_mut().find(|l| l.label == label) {
            Some(l) => l.points.push(point),
            None => lines.push(Line {
                label,
                points: vec![point],
            }),
        }
    }
    lines.retain(|l| l.points.len() >= 2);
    if lines.is_empty() {
        return Ok(None);
    }
    for l in &mut lines {
        l.points.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    let lrs: Vec<f64> = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.0.log10()))
        .collect();
    let xlim = [
        lrs.iter().cloned().fold(f64::INFINITY, f64::min),
        lrs.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
    ];
    let xlim = if xlim[1] > xlim[0] {
        xlim
    } else {
        [xlim[0] - 1.0, xlim[0] + 1.0]
    };
    let gaps: Vec<f64> = lines
        .iter()
        .flat_map(|l| l.points.iter().flat_map(|p| [p.3[0], p.3[1], p.2]))
        .filter(|g| g.is_finite())
        .map(f64::log10)
        .collect();
    let ylo = gaps.iter().cloned().fold(f64::INFINITY, f64::min).max(-12.0);
    let yhi = gaps.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let glim = if yhi > ylo { [ylo - 0.2, yhi + 0.2] } else { [-1.0, 1.0] };
    // Up to ten lines, the legend sits in the top panel; more go in four columns below the figure.
    let below = lines.len() > 10;
    let legend_rows = if below { lines.len().div_ceil(4) } else { 0 };
    let (w, h) = (900usize, 900 + 18 * legend_rows + if below { 10 } else { 0 });
    let m = Metrics::new(w, h);
    let mut c = Canvas::new(w, h);
    let palette = line_colors(lines.len());
    let top = Axes2d::within([0.0, 30.0, w as f64, 430.0], m, xlim, [-0.05, 1.05], 0.0)?;
    let bottom = Axes2d::within([0.0, 460.0, w as f64, 880.0], m, xlim, glim, 0.0)?;
    top.draw_frame(&mut c, true)?;
    bottom.draw_frame(&mut c, true)?;
    let em = m.pt(11.0) as f32;
    let title = |c: &mut Canvas, t: &str, y: f64| {
        text::label(
            c,
            t,
            Face::Sans,
            em,
            Place {
                x: w as f64 / 2.0,
                y,
                h: HAlign::Center,
                v: VAlign::Center,
            },
            LABEL,
        )
    };
    title(
        &mut c,
        &format!(
            "success rate (within {} of the minimum) against log10 learning rate",
            short(study.threshold)
        ),
        18.0,
    )?;
    title(
        &mut c,
        "log10 of the final loss above the minimum: median, and the middle half of starts and seeds",
        448.0,
    )?;
    // A gap's pixel height in the bottom panel: its log10, clamped; infinite ones at the top.
    let gap_y = |g: f64| {
        bottom.y(if g.is_finite() {
            g.log10().clamp(glim[0], glim[1])
        } else {
            glim[1]
        })
    };
    for (k, line) in lines.iter().enumerate() {
        let color = palette[k % palette.len()];
        // The band of the middle half, then the median and the success rate.
        let (lo, hi): (Vec<[f64; 2]>, Vec<[f64; 2]>) = line
            .points
            .iter()
            .map(|p| {
                let x = bottom.x(p.0.log10());
                ([x, gap_y(p.3[0])], [x, gap_y(p.3[1])])
            })
            .unzip();
        c.set_clip(Some(bottom.clip()));
        for k in 0..line.points.len() - 1 {
            c.convex(&[lo[k], lo[k + 1], hi[k + 1], hi[k]], color, 0.18);
        }
        let median: Vec<[f64; 2]> = line
            .points
            .iter()
            .map(|p| [bottom.x(p.0.log10()), gap_y(p.2)])
            .collect();
        c.stroke(&median, &Stroke::solid(color, 2.0));
        c.set_clip(Some(top.clip()));
        let success: Vec<[f64; 2]> = line.points.iter().map(|p| [top.x(p.0.log10()), top.y(p.1)]).collect();
        c.stroke(&success, &Stroke::solid(color, 2.0));
        c.set_clip(None);
        for q in success.iter().chain(&median) {
            c.disc(*q, 3.0, color, 1.0);
        }
        let at = if below {
            Place {
                x: 40.0 + 215.0 * (k % 4) as f64,
                y: 905.0 + 18.0 * (k / 4) as f64,
                h: HAlign::Left,
                v: VAlign::Center,
            }
        } else {
            Place {
                x: top.area[0] + 10.0,
                y: top.area[1] + 14.0 + 18.0 * k as f64,
                h: HAlign::Left,
                v: VAlign::Center,
            }
        };
        c.disc([at.x, at.y], 4.0, color, 1.0);
        text::label(
            &mut c,
            &line.label,
            Face::Sans,
            m.pt(9.5) as f32,
            Place { x: at.x + 10.0, ..at },
            LABEL,
        )?;
    }
    Ok(Some(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_few_huge_cells_do_not_flatten_the_heatmap_colours() {
        // 40 cells from 1e-3 to 10, and one at 1e31: the bar stops at the 95th percentile.
        let mut v: Vec<f64> = (0..40).map(|k| 10f64.powf(-3.0 + 4.0 * k as f64 / 39.0)).collect();
        v.push(1e31);
        let r = colour_range(&v);
        assert!(r.log && r.capped, "{r:?}");
        assert_eq!(r.lo, 1e-3);
        assert!(r.hi > 1.0 && r.hi < 10.0, "{r:?}");
        // Without the outlier, the whole range; a narrow range stays linear.
        v.pop();
        let r = colour_range(&v);
        assert!(r.log && !r.capped && (r.hi - 10.0).abs() < 1e-9, "{r:?}");
        let r = colour_range(&[1.0, 2.0, 3.0]);
        assert_eq!(
            r,
            ColourRange {
                lo: 1.0,
                hi: 3.0,
                log: false,
                capped: false
            }
        );
    }

    #[test]
    fn more_than_ten_lines_get_distinct_colours() {
        assert_eq!(line_colors(10), TAB10.to_vec());
        let many = line_colors(21);
        assert_eq!(many.len(), 21);
        for (i, a) in many.iter().enumerate() {
            assert!(!many[..i].contains(a), "colour {i} repeats");
        }
    }
}
