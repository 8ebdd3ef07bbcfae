//! The HTML of the report: the index over every result and each experiment's interactive view.
//! Styles and scripts are the files beside this one, included at build time and inlined, so the
//! pages need nothing but the figures beside them.

use super::{Content, Entry, RunsEntry, StudyEntry};
use crate::experiment::SurfaceSpec;
use crate::experiment::model_spec::DataSpec;
use crate::experiment::vectors::VectorsResult;
use crate::landscape::PlaneLandscape;
use crate::params::Layout;
use crate::plot::{self, ContourImage, PlotSpec};
use crate::results::trajectory::{RunTrajectory, Status, Trajectories};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

const STYLE: &str = include_str!("style.css");
const INDEX_JS: &str = include_str!("index.js");
const VIEW_JS: &str = include_str!("view.js");

/// `s` with `& < > " '` escaped, for text and attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A relative URL to `rel` (a path below the page's folder), each segment percent-encoded.
pub(crate) fn url(rel: &Path) -> String {
    let mut out = String::new();
    for (i, part) in rel.components().enumerate() {
        if i > 0 {
            out.push('/');
        }
        for b in part.as_os_str().to_string_lossy().bytes() {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                out.push(b as char);
            } else {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// A number with six significant digits, in exponent form when very small or large.
pub(crate) fn num(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-4..1e6).contains(&a) {
        let s = format!("{v:.5e}");
        // Trim the mantissa's trailing zeros: 1.20000e-7 -> 1.2e-7.
        match s.split_once('e') {
            Some((m, e)) => format!("{}e{e}", trim_zeros(m)),
            None => s,
        }
    } else {
        let decimals = (5 - a.log10().floor() as i64).max(0) as usize;
        trim_zeros(&format!("{v:.decimals$}")).to_string()
    }
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// The surface as the page names it: the name, the expression (with its name, if given), or a
/// model over its data.
pub(crate) fn surface_text(spec: &SurfaceSpec) -> String {
    surface_with_layout(spec, None)
}

/// The surface of `t` as the page names it; a model with its architecture (widths, activation,
/// loss and parameter count) when the trajectories carry its parameter layout.
pub(crate) fn trajectories_surface(t: &Trajectories) -> String {
    surface_with_layout(&t.surface, t.params.as_ref().map(|p| &p.layout))
}

fn surface_with_layout(spec: &SurfaceSpec, layout: Option<&Layout>) -> String {
    match spec {
        SurfaceSpec::Name(n) => n.clone(),
        SurfaceSpec::Model(m) => {
            let model = layout.map_or_else(|| m.model.as_str().to_string(), |l| m.describe(l));
            let data = match &m.data {
                DataSpec::Csv(c) => format!(" on {} ({} → {})", c.csv, c.x.names().join(", "), c.y),
                DataSpec::Generate(g) => format!(" on generated {} data", g.generate.name()),
            };
            match &m.name {
                Some(name) => format!("{}: {model}{data}", name.0),
                None => format!("{model}{data}"),
            }
        }
        SurfaceSpec::Expr(e) => match &e.name {
            Some(name) => format!("{}: {}", name.0, e.expr.0),
            None => e.expr.0.clone(),
        },
    }
}

fn color_hex(c: plot::Rgb) -> String {
    format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2])
}

/// The colour of each run, as its figures draw it.
fn run_colors(t: &Trajectories) -> Vec<String> {
    let n = t.runs.len();
    plot::run_colors(&t.plot, n)
        .or_else(|_| plot::run_colors(&PlotSpec::default(), n))
        .unwrap_or_default()
        .into_iter()
        .map(color_hex)
        .collect()
}

fn head(out: &mut String, title: &str) {
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>\n{STYLE}</style>\n</head>\n",
        esc(title)
    );
}

/// The index page over `entries` (sorted by folder), for a results folder called `title`.
pub(crate) fn index(title: &str, entries: &[Entry]) -> String {
    let mut groups: BTreeMap<PathBuf, Vec<&Entry>> = BTreeMap::new();
    for e in entries {
        groups.entry(e.group()).or_default().push(e);
    }
    let count = |f: fn(&Content) -> bool| entries.iter().filter(|e| f(&e.content)).count();
    let experiments = count(|c| matches!(c, Content::Runs(_) | Content::Vectors(_)));
    let studies = count(|c| matches!(c, Content::Study(_)));
    let broken = entries
        .iter()
        .filter(|e| match &e.content {
            Content::Broken { .. } => true,
            Content::Study(s) => s.unreadable.is_some(),
            _ => false,
        })
        .count();
    let mut out = String::with_capacity(64 * 1024);
    head(&mut out, &format!("optsurf report: {title}"));
    let _ = write!(
        out,
        "<body class=\"index\">\n<header class=\"top\">\n<h1>optsurf report <span class=\"dim\">{}</span></h1>\n\
         <p class=\"summary\"><span id=\"count-experiments\">{experiments}</span> experiment(s), \
         <span id=\"count-studies\">{studies}</span> stud{} and <span id=\"count-broken\">{broken}</span> \
         unreadable in {} folder(s). Open an experiment's interactive view to scrub through its steps.</p>\n<nav>",
        esc(title),
        if studies == 1 { "y" } else { "ies" },
        groups.len()
    );
    for (group, members) in &groups {
        let _ = write!(
            out,
            "<a href=\"#{}\">{}</a> <span class=\"dim\">({})</span> ",
            esc(&group_id(group)),
            esc(&group_name(group, title)),
            members.len()
        );
    }
    out.push_str("</nav>\n</header>\n<main>\n");
    for (group, members) in &groups {
        let _ = writeln!(
            out,
            "<section class=\"group\" id=\"{}\">\n<h2>{}</h2>",
            esc(&group_id(group)),
            esc(&group_name(group, title))
        );
        for e in members {
            entry(&mut out, e);
        }
        out.push_str("</section>\n");
    }
    let _ = write!(
        out,
        "</main>\n<footer>Written by <code>optsurf report</code>. Figures are the files beside this page; \
         rerun <code>optsurf report</code> after a run to refresh it.</footer>\n<script>\n{INDEX_JS}</script>\n</body>\n</html>\n"
    );
    out
}

fn group_id(group: &Path) -> String {
    format!("group-{}", url(group))
}

fn group_name(group: &Path, title: &str) -> String {
    if group.as_os_str().is_empty() {
        title.to_string()
    } else {
        group.display().to_string()
    }
}

fn entry(out: &mut String, e: &Entry) {
    let kind = match &e.content {
        Content::Runs(_) => "runs",
        Content::Vectors(_) => "vectors",
        Content::Study(s) if s.unreadable.is_some() => "study broken",
        Content::Study(_) => "study",
        Content::Broken { .. } => "broken",
    };
    let dir = url(&e.dir);
    let _ = writeln!(
        out,
        "<article class=\"entry {kind}\" id=\"{}\" data-dir=\"{}\" data-name=\"{}\">",
        esc(&format!("x-{dir}")),
        esc(&e.dir.display().to_string()),
        esc(&e.name())
    );
    match &e.content {
        Content::Runs(r) => runs_entry(out, e, r),
        Content::Vectors(v) => vectors_entry(out, e, v),
        Content::Study(s) => study_entry(out, e, s),
        Content::Broken { file, reason } => {
            let _ = write!(
                out,
                "<h3>{} <span class=\"badge bad\">unreadable</span></h3>\n\
                 <p class=\"reason\"><code>{}</code>: {}</p>\n",
                esc(&e.name()),
                esc(&file.display().to_string()),
                esc(reason)
            );
            figures(out, e);
        }
    }
    out.push_str("</article>\n");
}

/// `<dir>/<file>` as a URL relative to the index.
fn link(e: &Entry, file: &str) -> String {
    url(&e.dir.join(file))
}

fn figures(out: &mut String, e: &Entry) {
    if let Some(command) = &e.not_run {
        let _ = writeln!(
            out,
            "<p class=\"not-run\">not run yet: <code>{}</code> (draws its figures)</p>",
            esc(command)
        );
    }
    let has = |f: &str| e.figures.iter().any(|g| g == f);
    let mut shown = Vec::new();
    // Each still with its animation beside it, when the folder has one.
    let stills = super::EXPERIMENT_FIGURES.iter().chain(&super::STUDY_FIGURES);
    for png in stills.filter(|f| f.ends_with(".png")) {
        let gif = png.replace(".png", ".gif");
        let (png, gif) = (*png, gif.as_str());
        let (has_png, has_gif) = (has(png), has(gif));
        if !has_png && !has_gif {
            continue;
        }
        let still = if has_png { png } else { gif };
        let mut caption = format!("<a href=\"{}\">{still}</a>", esc(&link(e, still)));
        let mut attrs = String::new();
        if has_png && has_gif {
            let _ = write!(
                caption,
                " · <button type=\"button\" class=\"animate\">play GIF</button> <a href=\"{}\">{gif}</a>",
                esc(&link(e, gif))
            );
            let _ = write!(
                attrs,
                " data-still=\"{}\" data-anim=\"{}\"",
                esc(&link(e, png)),
                esc(&link(e, gif))
            );
        }
        shown.push(format!(
            "<figure><img src=\"{}\" alt=\"{} of {}\"{attrs}><figcaption>{caption}</figcaption></figure>",
            esc(&link(e, still)),
            still,
            esc(&e.name())
        ));
    }
    if !shown.is_empty() {
        let _ = writeln!(out, "<div class=\"figures\">{}</div>", shown.join(""));
    }
}

fn runs_entry(out: &mut String, e: &Entry, r: &RunsEntry) {
    let t = &r.trajectories;
    let title = t.title.as_deref().unwrap_or(&t.name);
    let _ = write!(
        out,
        "<h3>{} <span class=\"dim name\">{}</span></h3>\n<p class=\"meta\">surface <code class=\"surface\">{}</code>",
        esc(title),
        esc(&e.dir.display().to_string()),
        esc(&trajectories_surface(t))
    );
    if let Some(d) = t.domain {
        let _ = write!(out, " over {}", esc(&d.to_string()));
    }
    let _ = write!(out, " · <span class=\"steps\">{}</span> steps · ", t.steps);
    // Data surfaces have no noise.
    if !matches!(t.surface, SurfaceSpec::Model(_)) {
        let lookup = serde_json::to_value(t.noise.lookup).map_or_else(|_| String::new(), |v| super::value_text(&v));
        let _ = write!(out, "noise seed {}, {} · ", t.noise.seed, esc(&lookup));
    }
    match &r.view {
        Ok(_) => {
            let _ = write!(
                out,
                "<a class=\"view-link\" href=\"{}\">interactive view</a> · ",
                esc(&link(e, "view.html"))
            );
        }
        Err(reason) => {
            let _ = write!(out, "<span class=\"dim\">no view: {}</span> · ", esc(reason));
        }
    }
    let _ = writeln!(
        out,
        "<a href=\"{}\">trajectories.json</a></p>",
        esc(&link(e, "trajectories.json"))
    );
    if let Some(reason) = &r.contour_error {
        let _ = writeln!(
            out,
            "<p class=\"reason\">The view has no contour image: {}</p>",
            esc(reason)
        );
    }
    figures(out, e);
    let colors = run_colors(t);
    // A model's runs also show their last held-out loss and accuracies.
    let metrics = |r: &RunTrajectory| {
        [&r.test_loss, &r.accuracy, &r.test_accuracy].map(|m| m.as_ref().and_then(|v| v.last().copied()))
    };
    let shown: Vec<bool> = (0..3).map(|k| t.runs.iter().any(|r| metrics(r)[k].is_some())).collect();
    let mut header = String::new();
    for (name, &show) in ["final test loss", "accuracy", "test accuracy"].iter().zip(&shown) {
        if show {
            let _ = write!(header, "<th class=\"num\">{name}</th>");
        }
    }
    let _ = write!(
        out,
        "<table class=\"runs\">\n<thead><tr><th>run</th><th>optimizer</th><th>hyperparameters (not default)</th>\
         <th class=\"num\">final loss</th>{header}<th>status</th></tr></thead>\n<tbody>\n",
    );
    for (i, (run, s)) in t.runs.iter().zip(&r.runs).enumerate() {
        let status = match (run.status, run.diverged_at) {
            (Status::Ok, _) => "ok".to_string(),
            (Status::Diverged, Some(k)) => format!("diverged at step {k}"),
            (Status::Diverged, None) => "diverged".to_string(),
        };
        let loss = match (s.final_loss, s.last) {
            (Some(l), _) => num(l),
            (None, Some((k, l))) => format!("<span class=\"dim\">— (last finite {} at step {k})</span>", num(l)),
            (None, None) => "—".to_string(),
        };
        let mut hyper = s.hyper.iter().map(|h| esc(h)).collect::<Vec<_>>().join(", ");
        if !s.known_optimizer {
            hyper.push_str(" <span class=\"dim\">(optimizer not registered: all shown)</span>");
        }
        let _ = writeln!(
            out,
            "<tr class=\"run{}{}\" data-label=\"{}\"><td><span class=\"swatch\" style=\"background:{}\"></span>{}</td>\
             <td>{}</td><td class=\"hyper\">{hyper}</td><td class=\"num loss\">{loss}{}</td>{}<td class=\"status\">{}</td></tr>",
            if s.best { " best" } else { "" },
            if run.status == Status::Diverged {
                " diverged"
            } else {
                ""
            },
            esc(&run.label),
            colors.get(i).map_or("#999", String::as_str),
            esc(&run.label),
            esc(&run.optimizer),
            if s.best {
                " <span class=\"badge\">best</span>"
            } else {
                ""
            },
            metrics(run)
                .iter()
                .zip(&shown)
                .filter(|(_, show)| **show)
                .map(|(v, _)| format!("<td class=\"num\">{}</td>", v.map_or("—".into(), |v| num(v as f64))))
                .collect::<String>(),
            esc(&status)
        );
    }
    out.push_str("</tbody>\n</table>\n");
    planes_entry(out, e, r);
}

fn vectors_entry(out: &mut String, e: &Entry, v: &VectorsResult) {
    let _ = writeln!(
        out,
        "<h3>{} AdaGrad's update directions <span class=\"dim name\">{}</span></h3>\n\
         <p class=\"meta\">{} random gradients <var>g<sub>t</sub></var> and the directions <var>v<sub>t</sub></var> \
         that {} AdaGrad makes of them · <a href=\"{}\">vectors.json</a></p>",
        if v.full { "Full-matrix" } else { "Diagonal" },
        esc(&e.dir.display().to_string()),
        v.grads.len(),
        if v.full { "full-matrix" } else { "diagonal" },
        esc(&link(e, "vectors.json"))
    );
    figures(out, e);
    out.push_str(
        "<table class=\"runs vectors\">\n<thead><tr><th>t</th><th>gradient g<sub>t</sub></th>\
         <th>direction v<sub>t</sub></th><th class=\"num\">|v<sub>t</sub>|</th></tr></thead>\n<tbody>\n",
    );
    for (t, (g, u)) in v.grads.iter().zip(&v.updates).enumerate() {
        let _ = writeln!(
            out,
            "<tr><td>{t}</td><td>({}, {})</td><td>({}, {})</td><td class=\"num\">{}</td></tr>",
            num(g[0]),
            num(g[1]),
            num(u[0]),
            num(u[1]),
            num(u[0].hypot(u[1]))
        );
    }
    out.push_str("</tbody>\n</table>\n");
}

fn study_entry(out: &mut String, e: &Entry, s: &StudyEntry) {
    let field = |k: &str| s.json.as_ref().and_then(|j| j.get(k)).map(super::value_text);
    let title = field("title").or_else(|| field("name")).unwrap_or_else(|| e.name());
    let _ = write!(
        out,
        "<h3>{} <span class=\"badge study\">study</span> <span class=\"dim name\">{}</span></h3>\n<p class=\"meta\">",
        esc(&title),
        esc(&e.dir.display().to_string())
    );
    if let Some(surface) = s.json.as_ref().and_then(|j| j.get("surface")) {
        let text = serde_json::from_value::<SurfaceSpec>(surface.clone())
            .map_or_else(|_| surface.to_string(), |s| surface_text(&s));
        let _ = write!(out, "surface <code class=\"surface\">{}</code> · ", esc(&text));
    }
    if let Some(steps) = field("steps") {
        let _ = write!(out, "<span class=\"steps\">{}</span> steps · ", esc(&steps));
    }
    for (key, what) in [("runs", "runs"), ("objective", "objective")] {
        if let Some(v) = field(key) {
            let _ = write!(out, "{what} {} · ", esc(&v));
        }
    }
    if s.tuned {
        let _ = write!(
            out,
            "<a class=\"tuned-link\" href=\"#{}\">tuned comparison</a> · ",
            esc(&format!("x-{}", url(&e.dir.join("tuned"))))
        );
    }
    let _ = write!(out, "<a href=\"{}\">study.json</a>", esc(&link(e, "study.json")));
    let _ = writeln!(out, " · <a href=\"{}\">runs.csv</a></p>", esc(&link(e, "runs.csv")));
    if let Some(reason) = &s.unreadable {
        let _ = writeln!(
            out,
            "<p class=\"reason\"><span class=\"badge bad\">unreadable</span> {}</p>",
            esc(reason)
        );
    }
    figures(out, e);
    if !s.best.is_empty() {
        out.push_str(
            "<table class=\"runs best-configs\">\n<thead><tr><th>best of</th><th>optimizer</th>\
             <th>hyperparameters (not default)</th><th>metrics</th></tr></thead>\n<tbody>\n",
        );
        for b in &s.best {
            let fields: Vec<String> = b
                .fields
                .iter()
                .map(|(k, v)| {
                    if k.is_empty() {
                        esc(v)
                    } else {
                        format!("{}={}", esc(k), esc(v))
                    }
                })
                .collect();
            let (optimizer, hyper) = match &b.configuration {
                Some((o, h)) => (esc(o), h.iter().map(|h| esc(h)).collect::<Vec<_>>().join(", ")),
                None => ("—".to_string(), "—".to_string()),
            };
            let _ = writeln!(
                out,
                "<tr class=\"config\" data-label=\"{}\"><td>{}</td><td>{optimizer}</td><td class=\"hyper\">{hyper}</td>\
                 <td class=\"hyper metrics\">{}</td></tr>",
                esc(&b.name),
                esc(&b.name),
                fields.join(", ")
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
}

/// JSON to put inside `<script type="application/json">`: `<`, `>` and `&` escaped so that
/// nothing in a label can close the element. Floats keep their shortest text (`f32` as `f32`).
fn script_json(v: &impl Serialize) -> String {
    serde_json::to_string(v)
        .expect("values serialize")
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// What an interactive view's script reads (`<script id="optsurf-data">`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ViewData<'a> {
    name: &'a str,
    title: &'a str,
    surface: String,
    steps: usize,
    frame_ms: u32,
    /// The data rectangle the image shows (`[[x_min, x_max], [y_min, y_max]]`).
    domain: Option<[[f64; 2]; 2]>,
    image: Option<ViewImage>,
    image_error: Option<&'a str>,
    runs: Vec<ViewRun<'a>>,
    /// The step of each point, when the points are snapshots (a plane's paths).
    #[serde(skip_serializing_if = "Option::is_none")]
    step_labels: Option<&'a [usize]>,
    /// Points whose residual is above it lie off the plane (drawn hollow).
    #[serde(skip_serializing_if = "Option::is_none")]
    threshold: Option<f32>,
}

#[derive(Serialize)]
struct ViewImage {
    src: String,
    size: [usize; 2],
    /// Plot area `[x0, y0, x1, y1]` in pixels.
    area: [f64; 4],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ViewRun<'a> {
    label: &'a str,
    optimizer: &'a str,
    hyper: String,
    color: String,
    points: &'a [[f32; 2]],
    grads: &'a [[f32; 2]],
    loss: &'a [f32],
    /// The rate of each step, for a run whose rate is a schedule.
    learning_rates: Option<&'a [f32]>,
    status: Status,
    diverged_at: Option<usize>,
    final_loss: Option<f64>,
    best: bool,
    /// A plane's path: each point's residual and the loss of the plane there.
    #[serde(skip_serializing_if = "Option::is_none")]
    residual: Option<&'a [f32]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    plane_loss: Option<&'a [f32]>,
}

/// The interactive view of `r`, written `depth` folders below the index; `image` is its contour
/// image (`contour.png` beside the page), when the surface could be rebuilt.
pub(crate) fn view(r: &RunsEntry, image: Option<&ContourImage>, depth: usize, figures: &[String]) -> String {
    let t = &r.trajectories;
    let title = t.title.as_deref().unwrap_or(&t.name);
    let colors = run_colors(t);
    let runs = t
        .runs
        .iter()
        .zip(&r.runs)
        .enumerate()
        .map(|(i, (run, s))| ViewRun {
            label: &run.label,
            optimizer: &run.optimizer,
            hyper: s.hyper.join(", "),
            color: colors.get(i).cloned().unwrap_or_else(|| "#999999".into()),
            points: &run.points,
            grads: &run.grads,
            loss: &run.loss,
            learning_rates: run.learning_rates.as_deref(),
            status: run.status,
            diverged_at: run.diverged_at,
            final_loss: s.final_loss,
            best: s.best,
            residual: None,
            plane_loss: None,
        })
        .collect();
    let data = ViewData {
        name: &t.name,
        title,
        surface: trajectories_surface(t),
        steps: t.steps,
        frame_ms: t.plot.frame_ms.clamp(16, 2000),
        domain: image.map(|i| i.domain).or(t.domain).map(Into::into),
        image: image.map(|i| ViewImage {
            src: "contour.png".into(),
            size: i.size,
            area: i.area,
        }),
        image_error: r.contour_error.as_deref(),
        runs,
        step_labels: None,
        threshold: None,
    };
    let mut meta = format!(
        "surface <code>{}</code> · {} steps · {} run(s)",
        esc(&trajectories_surface(t)),
        t.steps,
        t.runs.len()
    );
    for f in figures {
        let _ = write!(meta, " · <a href=\"{}\">{}</a>", esc(&url(Path::new(f))), esc(f));
    }
    meta.push_str(" · <a href=\"trajectories.json\">trajectories.json</a>");
    if let Some(reason) = &r.contour_error {
        let _ = write!(
            meta,
            "</p>\n<p class=\"reason\">No contour image: {}. The paths are drawn over the runs' own extent.",
            esc(reason)
        );
    }
    let alt = format!("{} from above", trajectories_surface(t));
    view_page(&data, [title, &t.name], &meta, image.map(|_| alt.as_str()), depth, "")
}

/// A view page over `data`: the heading `[title, name]`, the `meta` line (HTML), the image
/// `data.image` (described by `alt`) under the paths' canvas with the step slider, loss chart
/// and run list beside it, then `after` (HTML); `depth` folders below the index.
fn view_page(
    data: &ViewData,
    [title, name]: [&str; 2],
    meta: &str,
    alt: Option<&str>,
    depth: usize,
    after: &str,
) -> String {
    let up = "../".repeat(depth);
    let [w, h] = data.image.as_ref().map_or(super::VIEW_SIZE, |i| i.size);
    let mut out = String::with_capacity(64 * 1024);
    head(&mut out, &format!("{title} · optsurf"));
    let _ = write!(
        out,
        "<body class=\"view\">\n<header class=\"top\">\n<p><a class=\"back\" href=\"{}index.html\">← all results</a></p>\n\
         <h1>{} <span class=\"dim\">{}</span></h1>\n<p class=\"meta\">{meta}</p>\n</header>\n",
        esc(&up),
        esc(title),
        esc(name),
    );
    let _ = write!(
        out,
        "<main class=\"view-main\">\n<section class=\"panel\">\n<div class=\"stage\" style=\"width:{w}px;height:{h}px\">\n{}\
         <canvas id=\"paths\" width=\"{w}\" height=\"{h}\" aria-label=\"paths of the runs over the surface\"></canvas>\n</div>\n</section>\n\
         <section class=\"panel side\">\n<div class=\"controls\">\
         <button id=\"play\" type=\"button\">▶ play</button> \
         <input id=\"step\" type=\"range\" min=\"0\" max=\"0\" value=\"0\" aria-label=\"step\"> \
         <output id=\"step-label\" for=\"step\"></output></div>\n\
         <canvas id=\"loss\" width=\"560\" height=\"300\" aria-label=\"loss over steps\"></canvas>\n\
         <p class=\"hint dim\">Hover a path or a curve for its values; drag the slider or use the arrow keys to step.</p>\n\
         <table id=\"run-list\" class=\"runs\"><thead><tr><th>show</th><th>run</th><th>hyperparameters (not default)</th>\
         <th class=\"num\">loss at step</th><th class=\"num\">final loss</th></tr></thead><tbody></tbody></table>\n\
         </section>\n</main>\n{after}<div id=\"tooltip\" role=\"status\" hidden></div>\n",
        match (&data.image, alt) {
            (Some(image), Some(alt)) => format!(
                "<img id=\"contour\" src=\"{}\" width=\"{w}\" height=\"{h}\" alt=\"{}\">\n",
                esc(&url(Path::new(&image.src))),
                esc(alt)
            ),
            _ => String::new(),
        }
    );
    let _ = write!(
        out,
        "<script type=\"application/json\" id=\"optsurf-data\">{}</script>\n<script>\n{VIEW_JS}</script>\n</body>\n</html>\n",
        script_json(data)
    );
    out
}

/// What a plane is, as a sentence's start: its kind, centre and explained variance (HTML).
fn plane_meta(plane: &PlaneLandscape) -> String {
    let kind = match plane.explained_variance {
        Some([e0, e1]) => format!(
            "PCA plane (<span class=\"explained\">PC 1: {:.1}%, PC 2: {:.1}%</span> of the snapshots' variance)",
            100.0 * e0,
            100.0 * e1
        ),
        None => format!("random plane ({} normalized)", esc(plane.normalize)),
    };
    format!(
        "{kind} centred at <b>{}</b> step {} · {} loss · points with residual above {} drawn hollow",
        esc(&plane.center.label),
        plane.center.step,
        plane.data,
        num(plane.residual_threshold as f64)
    )
}

/// The table of a plane's runs: sharpness at the final point, residuals along the path, and
/// the final loss against the plane's there.
fn plane_table(out: &mut String, colors: &BTreeMap<&str, String>, plane: &PlaneLandscape) {
    out.push_str(
        "<table class=\"runs plane\">\n<thead><tr><th>run</th><th class=\"num\">λ<sub>max</sub></th>\
         <th class=\"num\">|λ<sub>min</sub>/λ<sub>max</sub>|</th><th class=\"num\">max residual</th>\
         <th class=\"num\">mean residual</th><th class=\"num\">points off the plane</th>\
         <th class=\"num\">final loss</th><th class=\"num\">plane's loss there</th></tr></thead>\n<tbody>\n",
    );
    let cell = |v: f32| if v.is_finite() { num(v as f64) } else { "—".into() };
    for r in &plane.runs {
        let (max, mean, off, n) = super::landscape::residual_summary(plane, r);
        let last = |v: &[f32]| v.last().copied().unwrap_or(f32::NAN);
        let _ = writeln!(
            out,
            "<tr class=\"run\" data-label=\"{}\"><td><span class=\"swatch\" style=\"background:{}\"></span>{}</td>\
             <td class=\"num lambda-max\">{}</td><td class=\"num ratio\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{off} of {n}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(&r.label),
            colors.get(r.label.as_str()).map_or("#999", String::as_str),
            esc(&r.label),
            cell(r.sharpness.lambda_max),
            cell(r.sharpness.ratio),
            cell(max),
            cell(mean),
            cell(last(&r.path_loss)),
            cell(last(&r.plane_loss)),
        );
    }
    out.push_str("</tbody>\n</table>\n");
}

/// Each run's colour by label.
fn colors_by_label(t: &Trajectories) -> BTreeMap<&str, String> {
    t.runs.iter().map(|r| r.label.as_str()).zip(run_colors(t)).collect()
}

/// The index's part on a model's planes: each one's kind, links and table, or why it cannot be
/// shown.
fn planes_entry(out: &mut String, e: &Entry, r: &RunsEntry) {
    let colors = colors_by_label(&r.trajectories);
    for p in &r.landscapes {
        let _ = write!(
            out,
            "<section class=\"plane\" data-file=\"{}\">\n<h4>Plane {}</h4>\n<p class=\"meta\">",
            esc(&p.file),
            p.k + 1
        );
        match &p.plane {
            Ok(plane) => {
                out.push_str(&plane_meta(plane));
                if let Some(view) = &p.view {
                    let _ = write!(
                        out,
                        " · <a class=\"plane-view\" href=\"{}\">interactive view</a>",
                        esc(&link(e, view))
                    );
                }
                let _ = writeln!(
                    out,
                    " · <a href=\"{}\">{}</a></p>",
                    esc(&link(e, &p.file)),
                    esc(&p.file)
                );
                plane_table(out, &colors, plane);
            }
            Err(reason) => {
                let _ = writeln!(out, "</p>\n<p class=\"reason\">{}</p>", esc(reason));
            }
        }
        out.push_str("</section>\n");
    }
}

/// The view of plane `k` of `r` (its image `src` beside the page, `depth` folders below the
/// index): each run's projected point moved along its path by the step slider, hollow where it
/// lies off the plane, its own loss charted; the plane's table under it.
pub(crate) fn plane_view(r: &RunsEntry, k: usize, image: &ContourImage, src: &str, depth: usize) -> String {
    let t = &r.trajectories;
    let entry = &r.landscapes[k];
    let Ok(plane) = &entry.plane else {
        unreachable!("views are written for readable planes")
    };
    let colors = colors_by_label(t);
    let runs = plane
        .runs
        .iter()
        .map(|p| {
            let own = t.runs.iter().zip(&r.runs).find(|(run, _)| run.label == p.label);
            ViewRun {
                label: &p.label,
                optimizer: own.map_or("", |(run, _)| run.optimizer.as_str()),
                hyper: own.map_or_else(String::new, |(_, s)| s.hyper.join(", ")),
                color: colors
                    .get(p.label.as_str())
                    .cloned()
                    .unwrap_or_else(|| "#999999".into()),
                points: &p.path,
                grads: &[],
                loss: &p.path_loss,
                learning_rates: None,
                status: Status::Ok,
                diverged_at: None,
                final_loss: p.path_loss.last().map(|&v| v as f64).filter(|v| v.is_finite()),
                best: own.is_some_and(|(_, s)| s.best),
                residual: Some(&p.residual),
                plane_loss: Some(&p.plane_loss),
            }
        })
        .collect();
    // Every run's snapshots share their steps; the longest run's label them.
    let steps = plane
        .runs
        .iter()
        .map(|p| p.steps.as_slice())
        .max_by_key(|s| s.len())
        .unwrap_or(&[]);
    let title = t.title.as_deref().unwrap_or(&t.name);
    let data = ViewData {
        name: &t.name,
        title,
        surface: trajectories_surface(t),
        steps: steps.last().copied().unwrap_or(0),
        frame_ms: t.plot.frame_ms.clamp(16, 2000),
        domain: Some(image.domain.into()),
        image: Some(ViewImage {
            src: src.to_string(),
            size: image.size,
            area: image.area,
        }),
        image_error: None,
        runs,
        step_labels: Some(steps),
        threshold: Some(plane.residual_threshold),
    };
    let meta = format!(
        "{} · <a href=\"{}\">{}</a> · <a href=\"trajectories.json\">trajectories.json</a>",
        plane_meta(plane),
        esc(&url(Path::new(&entry.file))),
        esc(&entry.file)
    );
    let mut after = String::from("<section class=\"panel plane-table\">\n<h2>Sharpness and residuals</h2>\n");
    plane_table(&mut after, &colors, plane);
    after.push_str("</section>\n");
    let heading = format!("{title}: plane {}", entry.k + 1);
    let alt = format!("the plane's {} loss from above", plane.data);
    view_page(&data, [&heading, &t.name], &meta, Some(&alt), depth, &after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_six_significant_digits() {
        assert_eq!(num(0.0), "0");
        assert_eq!(num(0.034_25), "0.03425");
        assert_eq!(num(123.456_789), "123.457");
        assert_eq!(num(1.2e-7), "1.2e-7");
        assert_eq!(num(-2.5e7), "-2.5e7");
        assert_eq!(num(10.0), "10");
    }

    #[test]
    fn surfaces_are_named_by_name_expression_or_model() {
        let spec = |v: serde_json::Value| serde_json::from_value::<SurfaceSpec>(v).unwrap();
        assert_eq!(surface_text(&spec(serde_json::json!("f0"))), "f0");
        assert_eq!(
            surface_text(&spec(serde_json::json!({"expr": "x^2 + y^2"}))),
            "x^2 + y^2"
        );
        assert_eq!(
            surface_text(&spec(serde_json::json!({"expr": "x^2", "name": "bowl"}))),
            "bowl: x^2"
        );
        assert_eq!(
            surface_text(&spec(serde_json::json!({"model": "linear_regression",
                "data": {"csv": "data/iris.csv", "x": "petal_length", "y": "petal_width"}}))),
            "linear_regression on data/iris.csv (petal_length → petal_width)"
        );
        assert_eq!(
            surface_text(&spec(
                serde_json::json!({"model": "logistic_regression", "data": {"generate": "logistic"}})
            )),
            "logistic_regression on generated logistic data"
        );
    }

    #[test]
    fn urls_and_text_are_escaped() {
        assert_eq!(url(Path::new("blog/all f0/view.html")), "blog/all%20f0/view.html");
        assert_eq!(esc("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
        let v = serde_json::json!({"label": "</script><b>"});
        assert!(!script_json(&v).contains('<'));
    }
}
