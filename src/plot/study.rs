//! A study's figures: `heatmap.png` (the tuning objective over two swept axes),
//! `basins.png` (each grid start coloured by the minimum it reached, shaded by how fast) and
//! `sensitivity.png` (success rate and final loss against the learning rate).

use super::axes2d::{Axes2d, Room};
use super::canvas::{Canvas, Stroke};
use super::colormap::{self, LABEL, Rgb, WHITE};
use super::target::Target;
use super::text::{self, Cut, Face, HAlign, Place, VAlign};
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

impl ColourRange {
    /// Where `v` falls on the colour scale, in `[0, 1]`.
    fn scale(&self, v: f64) -> f64 {
        let (v, lo, hi) = if self.log {
            (v.log10(), self.lo.log10(), self.hi.log10())
        } else {
            (v, self.lo, self.hi)
        };
        if hi > lo {
            ((v - lo) / (hi - lo)).clamp(0.0, 1.0)
        } else {
            0.5
        }
    }
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
pub(crate) const DIVERGED: Rgb = [150, 150, 150];
/// Runs that ended near no known minimum.
pub(crate) const NO_BASIN: Rgb = [228, 228, 228];

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

/// Sizes of the study figures: matplotlib's defaults at 100 dpi (text of 10 points, titles of
/// 12), whatever the figure's height, so that a short heatmap's text is as readable as a tall
/// one's.
fn metrics(w: usize, h: usize) -> Metrics {
    Metrics::at_dpi(w, h, 100.0)
}

/// Draws every figure the study's shape allows into `dir`; returns the files written.
pub(crate) fn draw_all(study: &Study, outcomes: &[Outcome], dir: &Path) -> Result<Vec<PathBuf>> {
    text::check_fonts()?;
    let summaries = study.summaries(outcomes);
    let mut written = Vec::new();
    let mut write = |name: &str, c: &Canvas| -> Result<()> {
        let path = dir.join(name);
        write_atomic(&path, &encode::png(c)?)?;
        written.push(path);
        Ok(())
    };
    if let Some(c) = heatmap(study, &summaries) {
        write("heatmap.png", &c)?;
    }
    if study.grid.is_some() {
        write("basins.png", &basins(study, outcomes, &summaries))?;
    }
    if let Some(c) = sensitivity(study, outcomes, &summaries) {
        write("sensitivity.png", &c)?;
    }
    Ok(written)
}

/// The objective's value for the heatmap (lower is better except for the success rate and
/// accuracy).
fn metric(s: &Summary, objective: Objective) -> f64 {
    match objective {
        Objective::SuccessRate => s.success_rate,
        Objective::MedianTestAccuracy => s.model[2].unwrap_or(f64::NAN),
        _ => s.rank(objective),
    }
}

/// A heatmap cell: its extent along the x axis (in the axis's units) and its configuration.
#[derive(Clone, Debug, PartialEq)]
struct Cell {
    x: [f64; 2],
    config: usize,
}

/// A heatmap row: its name and cells.
#[derive(Clone, Debug, PartialEq)]
struct Row {
    name: String,
    cells: Vec<Cell>,
}

/// What a heatmap shows: rows of cells over one x axis, its extent, ticks and titles.
#[derive(Clone, Debug, PartialEq)]
struct Grid {
    xlabel: String,
    ylabel: String,
    rows: Vec<Row>,
    xlim: [f64; 2],
    /// Tick positions (axis units) and labels.
    ticks: Vec<(f64, String)>,
}

/// Of the configurations `ids`, the best by the study's objective.
fn best_of(study: &Study, summaries: &[Summary], ids: impl Iterator<Item = usize>) -> Option<usize> {
    let objective = study.objective();
    ids.reduce(|a, b| {
        if summaries[b].better(&summaries[a], objective) {
            b
        } else {
            a
        }
    })
}

/// The heatmap's grid: when an optimizer sweeps two hyperparameters, its two (the learning rate
/// across) as a table; else each optimizer a row over one learning-rate axis.
fn heatmap_grid(study: &Study, summaries: &[Summary]) -> Option<Grid> {
    match study.configs.iter().position(|c| c.swept.len() >= 2) {
        Some(c0) => Some(two_parameter_grid(study, summaries, c0)),
        None => rate_grid(study, summaries),
    }
}

/// The table of the first optimizer that sweeps two hyperparameters: one column a value of the
/// first (the learning rate when swept), one row a value of the second.
fn two_parameter_grid(study: &Study, summaries: &[Summary], c0: usize) -> Grid {
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
    let rows = ys
        .iter()
        .map(|y| Row {
            name: value_label(y),
            cells: xs
                .iter()
                .enumerate()
                .filter_map(|(k, x)| {
                    let at = members.iter().copied().filter(|&i| {
                        let s = &study.configs[i].swept;
                        s.get(&kx) == Some(x) && s.get(&ky) == Some(y)
                    });
                    best_of(study, summaries, at).map(|config| Cell {
                        x: [k as f64, k as f64 + 1.0],
                        config,
                    })
                })
                .collect(),
        })
        .collect();
    Grid {
        xlabel: format!("{name}: {kx}"),
        ylabel: ky,
        rows,
        xlim: [0.0, xs.len() as f64],
        ticks: xs
            .iter()
            .enumerate()
            .map(|(k, x)| (k as f64 + 0.5, value_label(x)))
            .collect(),
    }
}

/// Each optimizer a row of its own learning rates over one shared axis (log10 of the rate when
/// the rates are positive and span a decade or more): a cell reaches halfway to its row's
/// neighbouring rates, so grids that differ between optimizers (0.001, 0.01, 0.1 against 0.003,
/// 0.03) leave no empty columns, and equal grids line up as columns.
fn rate_grid(study: &Study, summaries: &[Summary]) -> Option<Grid> {
    let mut all: Vec<f64> = study.configs.iter().filter_map(Configuration::swept_rate).collect();
    all.sort_by(f64::total_cmp);
    all.dedup();
    if all.len() < 2 {
        return None;
    }
    let log = all[0] > 0.0 && all[all.len() - 1] / all[0] >= 10.0;
    let pos = |r: f64| if log { r.log10() } else { r };
    let mut names: Vec<&str> = Vec::new();
    for c in &study.configs {
        if !names.contains(&c.label.as_str()) {
            names.push(c.label.as_str());
        }
    }
    // Each row's rates, and its best configuration at each.
    let rows: Vec<(String, Vec<(f64, usize)>)> = names
        .iter()
        .map(|name| {
            let mut rates: Vec<f64> = study
                .configs
                .iter()
                .filter(|c| c.label == *name)
                .filter_map(Configuration::swept_rate)
                .collect();
            rates.sort_by(f64::total_cmp);
            rates.dedup();
            let cells = rates
                .iter()
                .filter_map(|&r| {
                    let at = (0..study.configs.len()).filter(|&i| {
                        let c = &study.configs[i];
                        c.label == *name && c.swept_rate() == Some(r)
                    });
                    best_of(study, summaries, at).map(|i| (pos(r), i))
                })
                .collect();
            (name.to_string(), cells)
        })
        .collect();
    // A row of one rate gets the width of a typical step of the others.
    let mut steps: Vec<f64> = rows
        .iter()
        .flat_map(|(_, c)| c.windows(2).map(|w| w[1].0 - w[0].0))
        .collect();
    steps.sort_by(f64::total_cmp);
    let lone = steps
        .get(steps.len() / 2)
        .copied()
        .unwrap_or(if log { 1.0 } else { 0.1 });
    let rows: Vec<Row> = rows
        .into_iter()
        .map(|(name, cells)| Row {
            name,
            cells: cell_edges(&cells.iter().map(|c| c.0).collect::<Vec<_>>(), lone)
                .into_iter()
                .zip(&cells)
                .map(|(x, &(_, config))| Cell { x, config })
                .collect(),
        })
        .collect();
    let lo = rows
        .iter()
        .flat_map(|r| r.cells.iter().map(|c| c.x[0]))
        .fold(f64::INFINITY, f64::min);
    let hi = rows
        .iter()
        .flat_map(|r| r.cells.iter().map(|c| c.x[1]))
        .fold(f64::NEG_INFINITY, f64::max);
    Some(Grid {
        xlabel: if log {
            "learning rate (log scale)"
        } else {
            "learning rate"
        }
        .into(),
        ylabel: "optimizer".into(),
        rows,
        xlim: [lo, hi],
        ticks: rate_ticks(&all, [lo, hi], log),
    })
}

/// Ticks of the learning-rate axis over `xlim`: every decade on a log axis (each rate when
/// fewer than two decades show), matplotlib's ticks on a linear one.
fn rate_ticks(rates: &[f64], xlim: [f64; 2], log: bool) -> Vec<(f64, String)> {
    let [lo, hi] = xlim;
    if !log {
        let t = super::ticks::nice_ticks(lo, hi, 8.0);
        return t.iter().copied().zip(super::ticks::tick_labels(&t)).collect();
    }
    let decades: Vec<(f64, String)> = ((lo.ceil() as i32)..=(hi.floor() as i32))
        .map(|k| (k as f64, decade(k)))
        .collect();
    if decades.len() >= 2 {
        decades
    } else {
        rates.iter().map(|&r| (r.log10(), short(r))).collect()
    }
}

/// The edges of cells centred at increasing positions `xs`: halfway between neighbours, the
/// outer ones as far out as the inner; a lone cell is `lone` wide.
fn cell_edges(xs: &[f64], lone: f64) -> Vec<[f64; 2]> {
    let n = xs.len();
    (0..n)
        .map(|i| {
            let left = if i > 0 {
                (xs[i] - xs[i - 1]) / 2.0
            } else if n > 1 {
                (xs[1] - xs[0]) / 2.0
            } else {
                lone / 2.0
            };
            let right = if i + 1 < n {
                (xs[i + 1] - xs[i]) / 2.0
            } else if n > 1 {
                (xs[n - 1] - xs[n - 2]) / 2.0
            } else {
                lone / 2.0
            };
            [xs[i] - left, xs[i] + right]
        })
        .collect()
}

/// `10^k` as a tick label: `0.001`, `1`, `100`, or `1e-5` beyond.
fn decade(k: i32) -> String {
    match k {
        0..=4 => format!("{}", 10i64.pow(k as u32)),
        -3..=-1 => format!("{:.*}", (-k) as usize, 10f64.powi(k)),
        _ => format!("1e{k}"),
    }
}

/// The heatmap's layout: sizes, the cell area, and its texts fitted to their room.
struct HeatLayout {
    m: Metrics,
    w: usize,
    h: usize,
    /// The cells' area `[x0, y0, x1, y1]`.
    area: [f64; 4],
    /// The x axis's extent.
    xlim: [f64; 2],
    title: Vec<String>,
    names: Vec<String>,
    /// Row label size (smaller when rows are many).
    name_em: f64,
    /// Cell value size, or `None` when values do not fit the cells.
    value_em: Option<f64>,
}

/// Pixels between a figure's edge and its text.
const EDGE: f64 = 10.0;
/// Width of the colour bar and its gap to the cells.
const BAR: [f64; 2] = [16.0, 22.0];

/// The heatmap's title text.
fn heatmap_title(study: &Study, log: bool) -> String {
    format!(
        "{} ({} x {} runs each; {})",
        study.objective().name().replace('_', " "),
        study.starts.len(),
        study.seeds.len(),
        if log { "colour on a log scale" } else { "colour linear" }
    )
}

impl HeatLayout {
    /// Lays out a 900-pixel-wide heatmap of `grid`: rows 46 pixels high (fewer when many, so
    /// the figure stays under 1400), the title wrapped over two lines at most, row labels
    /// shortened to a third of the width, the colour bar's labels `bar_labels` on the right.
    fn new(grid: &Grid, title: &str, bar_labels: &[String], values: &[Vec<String>]) -> HeatLayout {
        let w = 900usize;
        let m0 = metrics(w, w);
        let (tick_em, title_em) = (m0.pt(10.0), m0.pt(12.0));
        let title = text::wrap(title, Face::Sans, title_em as f32, w as f64 - 2.0 * EDGE, 2);
        let top = EDGE + title.len() as f64 * 1.3 * title_em + 0.8 * tick_em;
        let bottom = 0.5 * tick_em + 1.3 * tick_em + 0.6 * tick_em + 1.3 * tick_em + EDGE;
        let rows = grid.rows.len().max(1);
        let row_h = ((1400.0 - top - bottom) / rows as f64).clamp(16.0, 46.0);
        let h = (top + bottom + row_h * rows as f64).ceil() as usize;
        let m = metrics(w, h);
        let name_em = tick_em.min(0.62 * row_h);
        let names: Vec<String> = grid
            .rows
            .iter()
            .map(|r| text::ellipsize(&r.name, Face::Sans, name_em as f32, w as f64 / 3.0, Cut::Middle))
            .collect();
        let names_w = names
            .iter()
            .map(|n| text::text_width(n, Face::Sans, name_em as f32))
            .fold(0.0f64, f64::max);
        let bar_w = bar_labels
            .iter()
            .map(|l| text::text_width(l, Face::Sans, tick_em as f32))
            .fold(0.0f64, f64::max);
        let left = EDGE + 1.3 * tick_em + 0.6 * tick_em + names_w + 8.0;
        let right = w as f64 - EDGE - bar_w - 5.0 - BAR[0] - BAR[1];
        let area = [left, top, right.max(left + 100.0), top + row_h * rows as f64];
        let mut layout = HeatLayout {
            m,
            w,
            h,
            area,
            xlim: grid.xlim,
            title,
            names,
            name_em,
            value_em: None,
        };
        layout.value_em = layout.value_size(grid, values, row_h);
        layout
    }

    /// The largest size up to 9 points at which every cell's value fits its cell, if that is
    /// at least 6.5 points.
    fn value_size(&self, grid: &Grid, values: &[Vec<String>], row_h: f64) -> Option<f64> {
        let mut em = self.m.pt(9.0).min(0.55 * row_h);
        for (row, texts) in grid.rows.iter().zip(values) {
            for (cell, t) in row.cells.iter().zip(texts) {
                let [x0, x1] = [self.x(cell.x[0]), self.x(cell.x[1])];
                let at_one = text::text_width(t, Face::Sans, 1.0);
                if at_one > 0.0 {
                    em = em.min((x1 - x0 - 6.0) / at_one);
                }
            }
        }
        (em >= self.m.pt(6.5)).then_some(em)
    }

    /// Pixel column of axis position `x`.
    fn x(&self, x: f64) -> f64 {
        let [lo, hi] = self.xlim;
        self.area[0] + (x - lo) / (hi - lo).max(1e-300) * (self.area[2] - self.area[0])
    }

    /// Top and bottom of row `r`.
    fn row(&self, r: usize, rows: usize) -> [f64; 2] {
        let rh = (self.area[3] - self.area[1]) / rows.max(1) as f64;
        [self.area[1] + r as f64 * rh, self.area[1] + (r + 1) as f64 * rh]
    }
}

/// A rectangle `[x0, y0, x1, y1]` as a closed polyline.
fn outline(b: [f64; 4]) -> [[f64; 2]; 5] {
    let [x0, y0, x1, y1] = b;
    [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
}

/// A rectangle `[x0, y0, x1, y1]` as a polygon.
fn rect(b: [f64; 4]) -> [[f64; 2]; 4] {
    let [x0, y0, x1, y1] = b;
    [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]
}

/// The heatmap figure (`None` when the study sweeps no learning rate nor two hyperparameters):
/// title, cells coloured by the objective (best of each row framed, values printed when they
/// fit), the x axis, row names, and the colour bar.
fn heatmap(study: &Study, summaries: &[Summary]) -> Option<Canvas> {
    let grid = heatmap_grid(study, summaries)?;
    let objective = study.objective();
    let value = |c: &Cell| metric(&summaries[c.config], objective);
    let finite: Vec<f64> = grid
        .rows
        .iter()
        .flat_map(|r| r.cells.iter().map(value))
        .filter(|v| v.is_finite())
        .collect();
    let range = colour_range(&finite);
    let bar = bar_ticks(&range, !finite.is_empty());
    let texts: Vec<Vec<String>> = grid
        .rows
        .iter()
        .map(|r| {
            r.cells
                .iter()
                .map(|c| {
                    let v = value(c);
                    if v.is_finite() { short(v) } else { "inf".into() }
                })
                .collect()
        })
        .collect();
    let bar_labels: Vec<String> = bar.iter().map(|b| b.1.clone()).collect();
    let l = HeatLayout::new(&grid, &heatmap_title(study, range.log), &bar_labels, &texts);
    let mut c = Canvas::new(l.w, l.h);
    draw_heat_title(&mut c, &l);
    draw_cells(&mut c, &l, &grid, &range, &|cell| value(cell), &texts);
    let best: Vec<usize> = study.best(summaries).into_iter().map(|(_, i)| i).collect();
    draw_best(&mut c, &l, &grid, &best);
    draw_heat_axes(&mut c, &l, &grid);
    if !finite.is_empty() {
        draw_colour_bar(&mut c, &l, &bar);
    }
    Some(c)
}

/// The title, centred above the cells.
fn draw_heat_title(c: &mut dyn Target, l: &HeatLayout) {
    let em = l.m.pt(12.0);
    for (k, line) in l.title.iter().enumerate() {
        let at = Place {
            x: l.w as f64 / 2.0,
            y: EDGE + (k as f64 + 0.5) * 1.3 * em,
            h: HAlign::Center,
            v: VAlign::Center,
        };
        text::label(c, line, Face::Sans, em as f32, at, LABEL);
    }
}

/// The cells, whole pixels wide so that neighbours meet without seams, each in the colour of
/// its value (grey when diverged) with the value printed in it when values fit.
fn draw_cells(
    c: &mut dyn Target,
    l: &HeatLayout,
    grid: &Grid,
    range: &ColourRange,
    value: &dyn Fn(&Cell) -> f64,
    texts: &[Vec<String>],
) {
    let n = grid.rows.len();
    for (r, row) in grid.rows.iter().enumerate() {
        let [y0, y1] = l.row(r, n).map(f64::round);
        for (cell, t) in row.cells.iter().zip(&texts[r]) {
            let [x0, x1] = [l.x(cell.x[0]).round(), l.x(cell.x[1]).round()];
            let v = value(cell);
            let fill = if v.is_finite() {
                colormap::cool(range.scale(v))
            } else {
                DIVERGED
            };
            c.convex(&rect([x0, y0, x1, y1]), fill, 1.0);
            if let Some(em) = l.value_em {
                let at = Place {
                    x: (x0 + x1) / 2.0,
                    y: (y0 + y1) / 2.0,
                    h: HAlign::Center,
                    v: VAlign::Center,
                };
                text::label(c, t, Face::Sans, em as f32, at, LABEL);
            }
        }
    }
    c.stroke(&outline(l.area), &Stroke::solid(colormap::SPINE, 1.0));
}

/// A white frame inside the cell of each optimizer's best configuration.
fn draw_best(c: &mut dyn Target, l: &HeatLayout, grid: &Grid, best: &[usize]) {
    let n = grid.rows.len();
    for (r, row) in grid.rows.iter().enumerate() {
        let [y0, y1] = l.row(r, n);
        for cell in row.cells.iter().filter(|cell| best.contains(&cell.config)) {
            let b = [l.x(cell.x[0]) + 1.5, y0 + 1.5, l.x(cell.x[1]) - 1.5, y1 - 1.5];
            c.stroke(&outline(b), &Stroke::solid(WHITE, 2.5));
        }
    }
}

/// Tick marks and labels under the cells (a label that would run into the previous one is left
/// out), the x title, the row names and the y title reading upwards.
fn draw_heat_axes(c: &mut dyn Target, l: &HeatLayout, grid: &Grid) {
    let em = l.m.pt(10.0);
    let [ax0, ay0, ax1, ay1] = l.area;
    let mut right = f64::NEG_INFINITY;
    for (x, label) in &grid.ticks {
        let px = l.x(*x);
        let half = text::text_width(label, Face::Sans, em as f32) / 2.0;
        if px - half < right + 6.0 || px < ax0 - 0.5 || px > ax1 + 0.5 {
            continue;
        }
        c.stroke(&[[px, ay1], [px, ay1 + 4.0]], &Stroke::solid(colormap::TICK, 1.0));
        let at = Place {
            x: px,
            y: ay1 + 0.5 * em,
            h: HAlign::Center,
            v: VAlign::Top,
        };
        right = text::label(c, label, Face::Sans, em as f32, at, colormap::TICK)[2];
    }
    let xlabel = text::ellipsize(&grid.xlabel, Face::Sans, em as f32, ax1 - ax0, Cut::End);
    let at = Place {
        x: (ax0 + ax1) / 2.0,
        y: ay1 + 0.5 * em + 1.3 * em + 0.6 * em,
        h: HAlign::Center,
        v: VAlign::Top,
    };
    text::label(c, &xlabel, Face::Sans, em as f32, at, LABEL);
    let n = grid.rows.len();
    for (r, name) in l.names.iter().enumerate() {
        let [y0, y1] = l.row(r, n);
        let at = Place {
            x: ax0 - 8.0,
            y: (y0 + y1) / 2.0,
            h: HAlign::Right,
            v: VAlign::Center,
        };
        text::label(c, name, Face::Sans, l.name_em as f32, at, colormap::TICK);
    }
    let ylabel = text::ellipsize(&grid.ylabel, Face::Sans, em as f32, ay1 - ay0, Cut::End);
    text::label_up(
        c,
        &ylabel,
        Face::Sans,
        em as f32,
        EDGE + 0.6 * em,
        (ay0 + ay1) / 2.0,
        LABEL,
    );
}

/// The colour bar's ticks: its ends and middle as fractions of its height, and their labels.
fn bar_ticks(r: &ColourRange, any: bool) -> Vec<(f64, String)> {
    if !any {
        return Vec::new();
    }
    [0.0, 0.5, 1.0]
        .iter()
        .map(|&t| {
            let v = if r.log {
                10f64.powf(r.lo.log10() + t * (r.hi.log10() - r.lo.log10()))
            } else {
                r.lo + t * (r.hi - r.lo)
            };
            let label = if r.capped && t == 1.0 {
                format!("\u{2265} {}", short(v))
            } else {
                short(v)
            };
            (t, label)
        })
        .collect()
}

/// The colour bar right of the cells, with its ticks.
fn draw_colour_bar(c: &mut dyn Target, l: &HeatLayout, ticks: &[(f64, String)]) {
    let [_, ay0, ax1, ay1] = l.area;
    let (bx, bw) = (ax1 + BAR[1], BAR[0]);
    let n = 64;
    for k in 0..n {
        let y1 = ay1 - k as f64 * (ay1 - ay0) / n as f64;
        let y0 = ay1 - (k + 1) as f64 * (ay1 - ay0) / n as f64;
        let t = k as f64 / (n - 1) as f64;
        c.convex(&rect([bx, y0.floor(), bx + bw, y1.ceil()]), colormap::cool(t), 1.0);
    }
    c.stroke(&outline([bx, ay0, bx + bw, ay1]), &Stroke::solid(colormap::SPINE, 1.0));
    let em = l.m.pt(10.0) as f32;
    for (t, label) in ticks {
        let at = Place {
            x: bx + bw + 5.0,
            y: ay1 - t * (ay1 - ay0),
            h: HAlign::Left,
            v: VAlign::Center,
        };
        text::label(c, label, Face::Sans, em, at, colormap::TICK);
    }
}

/// The basins figure's panels: one per configuration while they fit, else the best of each
/// label; their columns, rows and side in pixels.
fn basin_panels(study: &Study, summaries: &[Summary]) -> (Vec<usize>, usize, usize, usize) {
    let panels: Vec<usize> = if study.configs.len() <= MAX_PANELS {
        (0..study.configs.len()).collect()
    } else {
        study.best(summaries).into_iter().map(|(_, i)| i).collect()
    };
    let cols = (panels.len() as f64).sqrt().ceil().max(1.0) as usize;
    let rows = panels.len().div_ceil(cols);
    let side = (900 / cols).clamp(260, 450);
    (panels, cols, rows, side)
}

/// The basins' minima: the surface's known ones, or those found from the runs' ends (see
/// `results::basins`), with their legend labels.
fn basin_minima(study: &Study, outcomes: &[Outcome]) -> Vec<([f64; 2], String)> {
    match study.found_basins(outcomes) {
        None => study
            .surface
            .minima()
            .enumerate()
            .map(|(k, q)| {
                (
                    q.point,
                    format!("minimum {k} ({}, {})", short(q.point[0]), short(q.point[1])),
                )
            })
            .collect(),
        Some(found) => found
            .minima
            .into_iter()
            .map(|m| {
                let label = format!(
                    "{} ({}, {}) loss {}",
                    m.label,
                    short(m.point[0]),
                    short(m.point[1]),
                    short(m.loss)
                );
                (m.point, label)
            })
            .collect(),
    }
}

/// The basins legend: a swatch per minimum, then "near no known (found) minimum" and "diverged".
fn basin_entries(study: &Study, minima: &[([f64; 2], String)]) -> Vec<(Rgb, String)> {
    let mut entries: Vec<(Rgb, String)> = minima
        .iter()
        .enumerate()
        .map(|(k, (_, label))| (TAB10[k % 10], label.clone()))
        .collect();
    let none = if study.finds_basins() {
        "near no found minimum"
    } else {
        "near no known minimum"
    };
    entries.push((NO_BASIN, none.into()));
    entries.push((DIVERGED, "diverged".into()));
    entries
}

/// Places `entries` (swatch and label) in lines from `(x0, y)` within `w` pixels, wrapping;
/// returns each entry's place and the last line's y.
fn flow(entries: &[(Rgb, String)], em: f32, x0: f64, y: f64, w: f64, pitch: f64) -> (Vec<[f64; 2]>, f64) {
    let (mut x, mut y) = (x0, y);
    let mut places = Vec::with_capacity(entries.len());
    for (_, label) in entries {
        let width = 20.0 + text::text_width(label, Face::Sans, em) + 18.0;
        if x > x0 && x + width > w - 8.0 {
            (x, y) = (x0, y + pitch);
        }
        places.push([x, y]);
        x += width;
    }
    (places, y)
}

/// The basins figure: a panel per configuration (each grid start coloured by the minimum its
/// first seed reached, paler when slower), the legend and a note under them.
fn basins(study: &Study, outcomes: &[Outcome], summaries: &[Summary]) -> Canvas {
    let (panels, cols, rows, side) = basin_panels(study, summaries);
    let w = side * cols;
    let m = metrics(w, side * rows);
    let em = m.pt(10.0) as f32;
    let pitch = 1.6 * em as f64;
    let minima = basin_minima(study, outcomes);
    let entries: Vec<(Rgb, String)> = basin_entries(study, &minima)
        .into_iter()
        .map(|(c, l)| (c, text::ellipsize(&l, Face::Sans, em, w as f64 - 60.0, Cut::Middle)))
        .collect();
    let (places, legend_bottom) = flow(&entries, em, 14.0, (rows * side) as f64 + 30.0, w as f64, pitch);
    let note = if study.finds_basins() {
        "no known minima: basins and stars are minima found from the runs' end points; crosses: saddles; paler: more \
         steps to the threshold (an absolute loss here); palest: never reached it (first seed of each start)"
    } else {
        "stars: known minima; crosses: saddles; paler: more steps to the threshold; palest: never reached it (first seed of each start)"
    };
    let note = text::wrap(note, Face::Sans, em, w as f64 - 28.0, 3);
    let h = (legend_bottom + pitch * (note.len() as f64 + 0.5) + 14.0).ceil() as usize;
    let mut c = Canvas::new(w, h);
    for (p, &config) in panels.iter().enumerate() {
        let (px, py) = ((p % cols) * side, (p / cols) * side);
        let at = [px as f64, py as f64, side as f64];
        draw_basin_panel(&mut c, study, outcomes, &minima, config, at, &m);
    }
    for ((color, label), [x, y]) in entries.iter().zip(places) {
        c.convex(&rect([x, y - 7.0, x + 14.0, y + 7.0]), *color, 1.0);
        let at = Place {
            x: x + 20.0,
            y,
            h: HAlign::Left,
            v: VAlign::Center,
        };
        text::label(&mut c, label, Face::Sans, em, at, LABEL);
    }
    for (k, line) in note.iter().enumerate() {
        let at = Place {
            x: 14.0,
            y: legend_bottom + pitch * (k as f64 + 1.2),
            h: HAlign::Left,
            v: VAlign::Center,
        };
        text::label(&mut c, line, Face::Sans, em, at, colormap::TICK);
    }
    c
}

/// One basins panel at `[x, y, side]`: its title (shortened to the panel), the grid of starts,
/// the minima (stars) and saddles (crosses), and a frame.
fn draw_basin_panel(
    c: &mut dyn Target,
    study: &Study,
    outcomes: &[Outcome],
    minima: &[([f64; 2], String)],
    config: usize,
    at: [f64; 3],
    m: &Metrics,
) {
    let [nx, ny] = study.grid.unwrap_or([1, 1]);
    let [px, py, side] = at;
    let area = [px + 12.0, py + 34.0, px + side - 12.0, py + side - 8.0];
    let em = m.pt(10.5) as f32;
    let title = text::ellipsize(
        &config_label(study, config),
        Face::Sans,
        em,
        area[2] - area[0],
        Cut::Middle,
    );
    let place = Place {
        x: (area[0] + area[2]) / 2.0,
        y: py + 18.0,
        h: HAlign::Center,
        v: VAlign::Center,
    };
    text::label(c, &title, Face::Sans, em, place, LABEL);
    let per = study.starts.len() * study.seeds.len();
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
            let b = [
                (area[0] + i as f64 * cw).round(),
                (area[3] - (j + 1) as f64 * ch).round(),
                (area[0] + (i + 1) as f64 * cw).round(),
                (area[3] - j as f64 * ch).round(),
            ];
            c.convex(&rect(b), color, 1.0);
        }
    }
    let d = study.surface.domain;
    let to_px = |q: [f64; 2]| {
        [
            area[0] + (q[0] - d.x[0]) / (d.x[1] - d.x[0]) * (area[2] - area[0]),
            area[3] - (q[1] - d.y[0]) / (d.y[1] - d.y[0]) * (area[3] - area[1]),
        ]
    };
    for (q, _) in minima {
        super::contour::star(c, to_px(*q), 6.0, [(WHITE, 3.4), (colormap::LABEL, 1.6)]);
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
    c.stroke(&outline(area), &Stroke::solid(colormap::SPINE, 1.0));
}

/// One line of the sensitivity figure: an optimizer (with its other swept values) against the
/// learning rate.
struct Line {
    label: String,
    /// `(lr, success rate, median gap, quartiles of the gap)`.
    points: Vec<(f64, f64, f64, [f64; 2])>,
}

/// The sensitivity figure's lines: every configuration with a swept rate, grouped by label and
/// other swept values, each point its success rate and the quartiles of its final gap above the
/// global minimum; lines of fewer than two rates are left out.
fn sensitivity_lines(study: &Study, outcomes: &[Outcome], summaries: &[Summary]) -> Vec<Line> {
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
    for l in &mut lines {
        l.points.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    lines
}

/// `[lo, hi]` of `values`, or a unit range about a single value.
fn extent(values: impl Iterator<Item = f64>) -> [f64; 2] {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if hi > lo { [lo, hi] } else { [lo - 1.0, lo + 1.0] }
}

/// Up to ten lines, the legend sits in the top panel; more go in four columns below.
const IN_PANEL: usize = 10;

/// The sensitivity figure (`None` without lines): success rate (top) and the final gap above
/// the minimum (bottom) against log10 of the learning rate, one line per optimizer, the middle
/// half of starts and seeds shaded, and the legend.
fn sensitivity(study: &Study, outcomes: &[Outcome], summaries: &[Summary]) -> Option<Canvas> {
    let lines = sensitivity_lines(study, outcomes, summaries);
    if lines.is_empty() {
        return None;
    }
    let xlim = extent(lines.iter().flat_map(|l| l.points.iter().map(|p| p.0.log10())));
    let gaps = extent(
        lines
            .iter()
            .flat_map(|l| l.points.iter().flat_map(|p| [p.3[0], p.3[1], p.2]))
            .filter(|g| g.is_finite())
            .map(f64::log10),
    );
    let glim = [gaps[0].max(-12.0) - 0.2, gaps[1] + 0.2];
    let below = lines.len() > IN_PANEL;
    let w = 900usize;
    let m = metrics(w, w);
    let pitch = 1.35 * m.pt(10.0);
    let legend_rows = if below { lines.len().div_ceil(4) } else { 0 };
    let h = (900.0 + pitch * legend_rows as f64 + if below { 16.0 } else { 0.0 }).ceil() as usize;
    let mut c = Canvas::new(w, h);
    let top = Axes2d::within(
        [0.0, 34.0, w as f64, 430.0],
        m,
        xlim,
        [-0.05, 1.05],
        Room {
            ylabel: Some("success rate".into()),
            ..Room::default()
        },
    );
    let bottom = Axes2d::within(
        [0.0, 466.0, w as f64, 892.0],
        m,
        xlim,
        glim,
        Room::titles("log10 learning rate", "log10 final loss gap"),
    );
    top.draw_frame(&mut c, true);
    bottom.draw_frame(&mut c, true);
    let threshold = short(study.threshold);
    draw_panel_title(
        &mut c,
        &m,
        &format!("success rate (within {threshold} of the minimum) against log10 learning rate"),
        18.0,
    );
    draw_panel_title(
        &mut c,
        &m,
        "log10 of the final loss above the minimum: median, and the middle half of starts and seeds",
        450.0,
    );
    let palette = line_colors(lines.len());
    for (k, line) in lines.iter().enumerate() {
        draw_sensitivity_line(&mut c, line, palette[k % palette.len()], &top, &bottom, glim);
    }
    let labels: Vec<(Rgb, &str)> = lines
        .iter()
        .enumerate()
        .map(|(k, l)| (palette[k % palette.len()], l.label.as_str()))
        .collect();
    draw_sensitivity_legend(&mut c, &m, &labels, &top, below);
    Some(c)
}

/// The lines' legend: a dot and a label (shortened to its room) each, in the top panel, or in
/// four columns under the figure when `below`.
fn draw_sensitivity_legend(c: &mut dyn Target, m: &Metrics, labels: &[(Rgb, &str)], top: &Axes2d, below: bool) {
    let em = m.pt(10.0) as f32;
    let pitch = 1.35 * m.pt(10.0);
    let places: Vec<(f64, f64, f64)> = (0..labels.len())
        .map(|k| match below {
            true => (40.0 + 215.0 * (k % 4) as f64, 905.0 + pitch * (k / 4) as f64, 195.0),
            false => (
                top.area[0] + 10.0,
                top.area[1] + 14.0 + pitch * k as f64,
                0.45 * (top.area[2] - top.area[0]),
            ),
        })
        .collect();
    for (&(color, label), (x, y, room)) in labels.iter().zip(places) {
        c.disc([x, y], 4.0, color, 1.0);
        let label = text::ellipsize(label, Face::Sans, em, room - 10.0, Cut::Middle);
        let at = Place {
            x: x + 10.0,
            y,
            h: HAlign::Left,
            v: VAlign::Center,
        };
        text::label(c, &label, Face::Sans, em, at, LABEL);
    }
}

/// A panel's title centred at height `y`, shortened to the figure's width.
fn draw_panel_title(c: &mut dyn Target, m: &Metrics, t: &str, y: f64) {
    let em = m.pt(11.0) as f32;
    let t = text::ellipsize(t, Face::Sans, em, m.w as f64 - 2.0 * EDGE, Cut::End);
    let at = Place {
        x: m.w as f64 / 2.0,
        y,
        h: HAlign::Center,
        v: VAlign::Center,
    };
    text::label(c, &t, Face::Sans, em, at, LABEL);
}

/// One line on both panels: the band of the middle half and the median in the bottom panel,
/// the success rate in the top one, dots at every rate.
fn draw_sensitivity_line(c: &mut dyn Target, line: &Line, color: Rgb, top: &Axes2d, bottom: &Axes2d, glim: [f64; 2]) {
    // A gap's pixel height in the bottom panel: its log10, clamped; infinite ones at the top.
    let gap_y = |g: f64| {
        bottom.y(if g.is_finite() {
            g.log10().clamp(glim[0], glim[1])
        } else {
            glim[1]
        })
    };
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
    fn cells_reach_halfway_to_their_neighbours() {
        assert_eq!(cell_edges(&[0.0, 1.0, 3.0], 1.0), [[-0.5, 0.5], [0.5, 2.0], [2.0, 4.0]]);
        assert_eq!(cell_edges(&[2.0], 0.5), [[1.75, 2.25]]);
        assert_eq!(
            [-5, -3, -1, 0, 2, 4, 5].map(decade),
            ["1e-5", "0.001", "0.1", "1", "100", "10000", "1e5"]
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
