//! The `"plot"` object of an experiment file.

use crate::error::{FieldError, Parsed};
use serde::{Deserialize, Serialize};

/// Ten distinct trajectory colours (ColorBrewer Dark2, then grey, near-black and dark red), for
/// figures with more runs than the post's eight-colour palette.
pub(crate) const TEN_COLORS: [&str; 10] = [
    "#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666", "#111111", "#b2182b",
];

/// Twenty-one trajectory colours (matplotlib's tab20, its dark and light shades in pairs, then
/// near-black), for figures with more than ten runs.
pub(crate) const MANY_COLORS: [&str; 21] = [
    "#1f77b4", "#aec7e8", "#ff7f0e", "#ffbb78", "#2ca02c", "#98df8a", "#d62728", "#ff9896", "#9467bd", "#c5b0d5",
    "#8c564b", "#c49c94", "#e377c2", "#f7b6d2", "#7f7f7f", "#c7c7c7", "#bcbd22", "#dbdb8d", "#17becf", "#9edae5",
    "#111111",
];

/// Figure settings of an experiment (all optional).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlotSpec {
    /// The view of the surface figure: a 3D camera `[elevation, azimuth]` in degrees
    /// (matplotlib's `view_init` convention), or `"contour"` (from above).
    pub view: View,
    /// z limits of the surface figure; `"auto"` fits the surface.
    pub zlim: YLim,
    /// Legend with each run's label and loss.
    pub legend: bool,
    /// Draw animated GIFs (one frame per step) besides the PNGs.
    pub animate: bool,
    /// Draw the loss-over-time chart.
    pub loss: bool,
    /// y limits of the loss chart; `"auto"` spans the median to the maximum of finite losses.
    pub loss_ylim: YLim,
    /// Delay between GIF frames, in milliseconds.
    pub frame_ms: u32,
    /// Figure size `[width, height]` in pixels.
    pub size: [u32; 2],
    /// Trajectory colours as `"#rrggbb"`, one per run (seaborn's Set2 palette by default).
    pub colors: Option<Vec<String>>,
    /// At most this many GIF frames (evenly spaced steps, the first and last always shown);
    /// written only when not the default 300.
    #[serde(skip_serializing_if = "is_default_max_frames")]
    pub max_frames: u32,
    /// Which points the figures draw for runs that have two sets: `"points"` (where gradients
    /// are taken, the default) or `"eval"` (the evaluation points of Lookahead's slow weights and
    /// schedule-free's average; runs without them draw their points). Written only when `"eval"`.
    #[serde(skip_serializing_if = "Shown::is_points")]
    pub points: Shown,
    /// The formats stills are written in: `"png"` (the default) and/or `"svg"` (`surface.svg`
    /// beside `surface.png`, from the same layout); GIFs are unaffected. Written only when not
    /// the default.
    #[serde(
        skip_serializing_if = "Format::is_png_only",
        deserialize_with = "Format::one_or_many"
    )]
    pub format: Vec<Format>,
}

/// A file format of still figures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// A PNG raster.
    Png,
    /// An SVG document: vector lines, markers and text; the surface mesh embedded as a raster.
    Svg,
}

impl Format {
    /// Every format, as experiment files name them.
    pub(crate) const ALL: [(&'static str, Format); 2] = [("png", Format::Png), ("svg", Format::Svg)];

    /// The file extension (and name in experiment files).
    pub(crate) fn extension(self) -> &'static str {
        match self {
            Format::Png => "png",
            Format::Svg => "svg",
        }
    }

    fn is_png_only(v: &[Format]) -> bool {
        v == [Format::Png]
    }

    /// A format name or a list of them.
    fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Format>, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        let items = match &value {
            serde_json::Value::Array(items) => items.iter().collect(),
            one => vec![one],
        };
        items
            .into_iter()
            .map(|item| {
                let name = item.as_str().unwrap_or_default();
                Format::ALL
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, f)| *f)
                    .ok_or_else(|| {
                        let allowed: Vec<String> = Format::ALL.iter().map(|(n, _)| format!("{n:?}")).collect();
                        serde::de::Error::custom(format!(
                            "expected one or more of {} (a name or a list of names), got {item}",
                            allowed.join(", ")
                        ))
                    })
            })
            .collect()
    }
}

/// The points a figure draws of each run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Shown {
    /// Where the gradients are taken (`points`).
    #[default]
    Points,
    /// The evaluation points (`eval_points`) where a run has them.
    Eval,
}

impl Shown {
    fn is_points(&self) -> bool {
        *self == Shown::Points
    }
}

/// The default of [`PlotSpec::max_frames`].
pub(crate) const MAX_FRAMES: u32 = 300;

fn is_default_max_frames(v: &u32) -> bool {
    *v == MAX_FRAMES
}

/// How the surface figure looks at the surface.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum View {
    /// A 3D camera: `[elevation, azimuth]` in degrees.
    Camera([f64; 2]),
    /// Filled contours seen from above.
    Contour,
}

impl Serialize for View {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            View::Camera(angles) => angles.serialize(s),
            View::Contour => s.serialize_str("contour"),
        }
    }
}

impl<'de> Deserialize<'de> for View {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        if value == "contour" {
            return Ok(View::Contour);
        }
        serde_json::from_value::<[f64; 2]>(value.clone())
            .map(View::Camera)
            .map_err(|_| {
                serde::de::Error::custom(format!(
                    "expected [elevation, azimuth] in degrees or \"contour\", got {value}"
                ))
            })
    }
}

/// Axis limits: fitted to the data, or given.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(untagged)]
pub enum YLim {
    /// Fitted to the data.
    #[default]
    #[serde(with = "auto")]
    Auto,
    /// Given `[low, high]`.
    Range([f64; 2]),
}

mod auto {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("auto")
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<(), D::Error> {
        let s = String::deserialize(d)?;
        if s == "auto" {
            Ok(())
        } else {
            Err(serde::de::Error::custom(format!(
                "expected \"auto\" or [low, high], got {s:?}"
            )))
        }
    }
}

impl Default for PlotSpec {
    fn default() -> Self {
        PlotSpec {
            view: View::Camera([30.0, -70.0]),
            zlim: YLim::Auto,
            legend: false,
            animate: true,
            loss: true,
            loss_ylim: YLim::Auto,
            frame_ms: 100,
            size: [900, 900],
            colors: None,
            max_frames: MAX_FRAMES,
            points: Shown::Points,
            format: vec![Format::Png],
        }
    }
}

impl PlotSpec {
    /// True when every setting is the default.
    pub(crate) fn is_default(&self) -> bool {
        *self == PlotSpec::default()
    }

    /// Writes the settings that differ from the defaults (an experiment file's `plot` as a
    /// person would write it).
    pub(crate) fn serialize_given<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (Ok(serde_json::Value::Object(given)), Ok(serde_json::Value::Object(defaults))) =
            (serde_json::to_value(self), serde_json::to_value(PlotSpec::default()))
        else {
            unreachable!("plot settings serialize to JSON objects")
        };
        s.collect_map(given.iter().filter(|(k, v)| defaults.get(*k) != Some(v)))
    }

    /// Checks values that deserialize but make no figure; the error names the setting.
    pub(crate) fn validate(&self) -> Parsed<()> {
        let fail = |field: &str, message: String| Err(FieldError::new(message).at(field));
        if let View::Camera(angles) = self.view
            && !angles.iter().all(|v| v.is_finite())
        {
            return fail(
                "view",
                "expected two finite angles [elevation, azimuth] in degrees".into(),
            );
        }
        for (field, lim) in [("zlim", &self.zlim), ("loss_ylim", &self.loss_ylim)] {
            if let YLim::Range([lo, hi]) = lim
                && !(lo.is_finite() && hi.is_finite() && lo < hi)
            {
                return fail(
                    field,
                    format!("expected \"auto\" or [low, high] with low < high, got [{lo}, {hi}]"),
                );
            }
        }
        if !(10..=10_000).contains(&self.frame_ms) {
            return fail(
                "frame_ms",
                format!("expected 10 to 10000 milliseconds, got {}", self.frame_ms),
            );
        }
        if self.max_frames < 2 {
            return fail(
                "max_frames",
                format!(
                    "expected at least 2 frames (the first and the last), got {}",
                    self.max_frames
                ),
            );
        }
        if !self.size.iter().all(|s| (100..=4000).contains(s)) {
            return fail(
                "size",
                format!(
                    "expected [width, height] of 100 to 4000 pixels each, got {:?}",
                    self.size
                ),
            );
        }
        if self.format.is_empty() {
            return fail(
                "format",
                "expected one or more of \"png\", \"svg\", got an empty list".into(),
            );
        }
        if let Some(colors) = &self.colors {
            for (i, c) in colors.iter().enumerate() {
                if parse_hex(c).is_none() {
                    return fail(
                        &format!("colors[{i}]"),
                        format!("expected a colour \"#rrggbb\", got {c:?}"),
                    );
                }
            }
        }
        Ok(())
    }
}

/// `"#rrggbb"` to RGB.
pub(crate) fn parse_hex(s: &str) -> Option<(u8, u8, u8)> {
    let hex = s.strip_prefix('#')?;
    if hex.len() != 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    Some((byte(0)?, byte(2)?, byte(4)?))
}
