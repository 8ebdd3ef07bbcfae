//! Expression surfaces from the outside: hostile input through the binary (deep nesting, long
//! sums, constants, huge powers; never a crash), the NumPy-style functions against `f64`
//! formulas and central differences, and the README's list of functions.

use burn::tensor::{Device, Tensor, TensorData};
use optsurf::Registry;
use optsurf::backend::Backend;

use optsurf::results::{Status, Trajectories};
use optsurf::surface::{FUNCTIONS, Lookup, MAX_NESTING, NoiseSpec, Surface, to_vec};
use serde_json::json;
use std::path::Path;

mod common;
use common::*;

fn device() -> Device {
    Backend::default().device().unwrap()
}

/// An experiment over `{"expr": expr}` from (0.5, -0.25): SGD and Adam, `steps` steps.
fn experiment(expr: &str, steps: usize) -> String {
    json!({"name": "e", "surface": {"expr": expr}, "start": [0.5, -0.25], "steps": steps,
           "runs": [{"label": "SGD", "optimizer": "sgd", "learning_rate": 1e-6},
                    {"label": "Adam", "optimizer": "adam", "learning_rate": 0.1}]})
    .to_string()
}

/// Runs `text` as `e.json` in `dir` (no figures); results in `dir/o/e`.
fn run(dir: &Path, text: &str) -> std::process::Output {
    write(dir, "e.json", text);
    optsurf(dir, &["run", "e.json", "--no-plots", "--out", "o"])
}

/// Checks a refused run: exit 2 and one line naming the file, the field and `expected`.
fn refused(out: &std::process::Output, expected: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.starts_with("error: e.json: field `surface.expr`: "), "{err}");
    assert!(err.contains(expected), "no {expected:?} in {err}");
    assert!(err.len() < 400, "a short line: {err}");
}

/// The texts that used to overflow the stack, each well past the old crash points.
fn too_deep() -> Vec<String> {
    vec![
        format!("{}x{}", "(".repeat(10_000), ")".repeat(10_000)),
        format!("{}x", "-".repeat(3_000)),
        vec!["x"; 20_000].join("^"),
        vec!["y"; 20_000].join(" ** "),
        format!("{}x{}", "sin(".repeat(20_000), ")".repeat(20_000)),
        format!("{}x, y{}", "min(1, ".repeat(20_000), ")".repeat(20_000)),
    ]
}

#[test]
fn deep_nesting_is_a_one_line_error_at_its_column() {
    let dir = tempfile::tempdir().unwrap();
    for text in too_deep() {
        let out = run(dir.path(), &experiment(&text, 2));
        refused(&out, &format!("nesting deeper than {MAX_NESTING} at column"));
    }
    // At the limit it still compiles.
    let limit = format!("{}x{}", "(".repeat(MAX_NESTING), ")".repeat(MAX_NESTING));
    let out = run(dir.path(), &experiment(&limit, 2));
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn a_sum_of_100000_terms_compiles_and_steps_through_the_binary() {
    let text = vec!["x * y"; 100_000].join(" + ");
    // In this test's thread (2 MB of stack): compiling, evaluating, autodiff's backward and
    // dropping recurse nowhere. Multiples of 1/8 below 2^24 / 8 add exactly in f32.
    let surface = self::surface(&text);
    let (loss, grad) = loss_and_grad(&surface, &[[0.5, -0.25], [2.0, 1.0]]);
    assert_eq!(loss, [-12_500.0, 200_000.0]);
    assert_eq!(grad, [-25_000.0, 50_000.0, 100_000.0, 200_000.0]);
    drop(surface);

    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &experiment(&text, 2));
    assert!(out.status.success(), "{}", stderr(&out));
    let file = trajectories(dir.path());
    assert_eq!(file.runs[0].loss[0], -12_500.0);
    assert_eq!(file.runs[0].grads[0], [-25_000.0, 50_000.0]);
    assert_eq!(file.runs[1].points.len(), 3);
}

#[test]
fn constant_surfaces_run_with_zero_gradients() {
    let dir = tempfile::tempdir().unwrap();
    for (text, value) in [
        ("3", 3.0),
        ("pi", std::f64::consts::PI),
        ("1+2", 3.0),
        ("sin(1)", 1f64.sin()),
        ("min(1,2)", 1.0),
        ("where(x > 0, 1, 2)", 1.0), // piecewise constant: autodiff tracks nothing
    ] {
        let out = run(dir.path(), &experiment(text, 3));
        assert!(out.status.success(), "{text}: {}", stderr(&out));
        for run in trajectories(dir.path()).runs {
            let label = &run.label;
            assert_eq!(run.status, Status::Ok, "{text} {label}");
            assert_eq!(run.points, vec![[0.5, -0.25]; 4], "{text} {label}: the point stays");
            assert_eq!(run.grads, vec![[0.0, 0.0]; 3], "{text} {label}: zero gradient");
            assert_eq!(run.loss, vec![value as f32; 4], "{text} {label}: its value everywhere");
        }
    }
    // Surface::loss_and_grad itself: any surface whose loss ignores the point.
    let flat = Surface::new("flat", "2", |x, _y, _r, _c| x.zeros_like().add_scalar(2.0)).noiseless();
    assert_eq!(
        loss_and_grad(&flat, &[[1.0, 2.0], [3.0, 4.0]]),
        (vec![2.0, 2.0], vec![0.0; 4])
    );
    // A non-finite constant is an error, as before.
    for text in ["1 / 0", "2^1e19", "ln(0)", "sqrt(-1)"] {
        refused(&run(dir.path(), &experiment(text, 2)), "not a finite surface");
    }
}

#[test]
fn huge_powers_use_the_general_power_and_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    for text in [
        "x^1e19",
        "x^-1e300",
        "y^1e400 + x",
        "x^(1e308 * 10)",
        "x^-1e19 * y^1e18",
        "(x + 2)^65 + y^-65",
        "x ** 9.2e18",
    ] {
        let out = run(dir.path(), &experiment(text, 2));
        assert!(out.status.success(), "{text}: {}", stderr(&out));
    }
    // Whole powers past 64 and fractional ones still have the right values and gradients.
    for (text, f) in [
        ("x^65 + y^-66", (|x, y| x.powi(65) + y.powi(-66)) as fn(f64, f64) -> f64),
        ("x^1e19 + y", |x: f64, y| x.powf(1e19) + y),
        ("x^2.5 + 2^y", |x: f64, y: f64| x.powf(2.5) + 2f64.powf(y)),
    ] {
        agrees(text, f, &[[0.9, 0.99], [0.5, 1.02], [0.99, 1.0]], 1e-4);
    }
}

#[test]
fn figures_and_reports_survive_hostile_trajectory_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &experiment("x^2 + y^2", 2));
    assert!(out.status.success(), "{}", stderr(&out));
    let mut file = read_json(&dir.path().join("o/e/trajectories.json"));
    let cases: Vec<(String, bool)> = too_deep()
        .into_iter()
        .map(|t| (t, false))
        .chain(
            ["3", "sin(1)", "x^1e19", "x^-1e300 + y", "where(x < y, x, -y)"]
                .into_iter()
                .map(|t| (t.to_string(), true)),
        )
        .chain([(vec!["x * y"; 2_000].join(" + "), true)])
        .collect();
    for (k, (text, ok)) in cases.iter().enumerate() {
        file["surface"] = json!({"expr": text});
        let path = dir.path().join(format!("o/case{k}/trajectories.json"));
        write(dir.path(), &format!("o/case{k}/trajectories.json"), &file.to_string());
        let out = optsurf(dir.path(), &["plot", path.to_str().unwrap()]);
        let err = stderr(&out);
        if *ok {
            assert!(out.status.success(), "{}: {err}", &text[..text.len().min(40)]);
            assert!(path.with_file_name("surface.png").exists());
        } else {
            assert_eq!(out.status.code(), Some(2), "{err}");
            assert_eq!(err.trim_end().lines().count(), 1, "{err}");
            assert!(err.contains("nesting deeper than 256"), "{err}");
        }
    }
    let out = optsurf(dir.path(), &["report", "o"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// Values against `f64` formulas and gradients against central differences of them, at random
/// points of `[-3, 3]^2` away from each case's kinks and branch cuts.
#[test]
fn numpy_style_functions_match_f64_and_central_differences() {
    type F = fn(f64, f64) -> f64;
    type Guard = fn(f64, f64) -> bool;
    fn smooth(_: f64, _: f64) -> bool {
        true
    }
    fn away(a: f64) -> bool {
        a.abs() > 0.05
    }
    let cases: [(&str, F, Guard); 8] = [
        (
            "log(x^2 + 1) + log2(y^2 + 2) + log1p(x^2) + expm1(y / 3) + ln(3) * log10(2 + x^2)",
            |x, y| {
                (x * x + 1.0).ln()
                    + (y * y + 2.0).log2()
                    + (x * x).ln_1p()
                    + (y / 3.0).exp_m1()
                    + 3f64.ln() * (2.0 + x * x).log10()
            },
            smooth,
        ),
        (
            "x ** 2 * pow(y, 2) + pow(2, x) + square(x - y) + hypot(x, y + 5) + hypot(3, y)",
            |x, y| x * x * y * y + 2f64.powf(x) + (x - y).powi(2) + x.hypot(y + 5.0) + 3f64.hypot(y),
            smooth,
        ),
        (
            "sigmoid(x * y) + sigmoid(-3) * x + atan2(y, x + 5) + atan2(2, y - 4) + atan2(x, 1)",
            |x, y| {
                1.0 / (1.0 + (-x * y).exp())
                    + x / (1.0 + 3f64.exp())
                    + y.atan2(x + 5.0)
                    + 2f64.atan2(y - 4.0)
                    + x.atan2(1.0)
            },
            smooth,
        ),
        (
            "atan2(y, x)",
            |x, y| y.atan2(x),
            |x, y| x.hypot(y) > 0.2 && !(x < 0.0 && y.abs() < 0.05),
        ),
        (
            "where(x > y, x^2, y^3) + (x < 0) * sin(y) + (y >= 1) - (x <= y) * cos(x) + (y != 2) * y + 2 * (x == y)",
            |x, y| {
                let m = |b: bool| if b { 1.0 } else { 0.0 };
                (if x > y { x * x } else { y * y * y }) + m(x < 0.0) * y.sin() + m(y >= 1.0) - m(x <= y) * x.cos()
                    + m(y != 2.0) * y
                    + 2.0 * m(x == y)
            },
            |x, y| away(x - y) && away(x) && away(y - 1.0) && away(y - 2.0),
        ),
        (
            "floor(x) * y + ceil(y) + sign(x - 1) * x + abs(y) + sign(0) + where(x, 2, 3)",
            |x, y| x.floor() * y + y.ceil() + (x - 1.0).signum() * x + y.abs() + 2.0,
            |x, y| away(x - x.round()) && away(y - y.round()) && away(x - 1.0) && away(y),
        ),
        (
            "-x^2 + 2^-x^2 * 3 - -y + +x - 2**-1",
            |x, y| -x * x + 2f64.powf(-x * x) * 3.0 + y + x - 0.5,
            smooth,
        ),
        (
            "(x > 0) + (x > 0) * (y > 0) + min(x, 1) - max(2, y) + where(x - y, 1, 0)",
            |x, y| {
                let m = |b: bool| if b { 1.0 } else { 0.0 };
                m(x > 0.0) + m(x > 0.0) * m(y > 0.0) + x.min(1.0) - 2f64.max(y) + m(x != y)
            },
            |x, y| away(x) && away(y) && away(x - 1.0) && away(y - 2.0) && away(x - y),
        ),
    ];
    let mut rng = SplitMix64::new(11);
    for (text, f, ok) in cases {
        let mut points = Vec::new();
        while points.len() < 200 {
            let p = [6.0 * rng.uniform() - 3.0, 6.0 * rng.uniform() - 3.0];
            // The f32 point, so that both sides see the same input.
            let p = [p[0] as f32 as f64, p[1] as f32 as f64];
            if ok(p[0], p[1]) {
                points.push(p);
            }
        }
        agrees(text, f, &points, 1e-4);
    }
    // expm1 and log1p keep their precision near 0, where exp(a) - 1 and ln(1 + a) lose it.
    let (loss, _) = loss_and_grad(&surface("expm1(x * 1e-6) + log1p(y * 1e-6) * 1e3"), &[[0.5, 0.25]]);
    let exact = (0.5e-6f64).exp_m1() + (0.25e-6f64).ln_1p() * 1e3;
    assert!(
        ((loss[0] as f64 - exact) / exact).abs() < 1e-5,
        "{} vs {exact}",
        loss[0]
    );
}

#[test]
fn the_readme_documents_every_function_and_the_nesting_limit() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme
        .split("### In the experiment file")
        .nth(1)
        .and_then(|s| s.split("\n### ").next())
        .unwrap();
    let words: Vec<&str> = section
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .collect();
    for f in FUNCTIONS {
        assert!(words.contains(&f.name), "README's expression section lacks {}", f.name);
    }
    assert!(
        section.contains(&MAX_NESTING.to_string()),
        "README names the nesting limit"
    );
}

fn trajectories(dir: &Path) -> Trajectories {
    Trajectories::load(&dir.join("o/e/trajectories.json")).unwrap()
}

/// The surface an experiment file's `{"expr": text}` is, over [-3, 3]^2.
fn surface(text: &str) -> Surface {
    let file = json!({"name": "e", "surface": {"expr": text, "domain": [[-3, 3], [-3, 3]]}, "steps": 1, "runs": []});
    optsurf::experiment::Experiment::parse(&file.to_string(), Path::new("e.json"), &Registry::builtin(), &device())
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .surface
}

/// Loss and gradient (flattened) at `points`, noise off.
fn loss_and_grad(surface: &Surface, points: &[[f64; 2]]) -> (Vec<f32>, Vec<f32>) {
    let device = device();
    let xy: Vec<f32> = points.iter().flat_map(|p| [p[0] as f32, p[1] as f32]).collect();
    let batch = Tensor::<2>::from_data(TensorData::new(xy, [points.len(), 2]), &device);
    let off = NoiseSpec {
        seed: 0,
        lookup: Lookup::Off,
    };
    let (loss, grad) = surface.loss_and_grad(batch, &surface.noise(off, &device));
    (to_vec(loss), to_vec(grad))
}

/// The expression's values and autodiff gradients against `f` and its central differences.
fn agrees(text: &str, f: fn(f64, f64) -> f64, points: &[[f64; 2]], tolerance: f64) {
    let (loss, grad) = loss_and_grad(&surface(text), points);
    let h = 1e-6;
    for (i, p) in points.iter().enumerate() {
        let v = f(p[0], p[1]);
        let err = (loss[i] as f64 - v).abs() / (1.0 + v.abs());
        assert!(err <= tolerance, "{text} at {p:?}: {} vs {v}", loss[i]);
        let fd = [
            (f(p[0] + h, p[1]) - f(p[0] - h, p[1])) / (2.0 * h),
            (f(p[0], p[1] + h) - f(p[0], p[1] - h)) / (2.0 * h),
        ];
        for axis in 0..2 {
            let ours = grad[2 * i + axis] as f64;
            let err = (ours - fd[axis]).abs() / (1.0 + fd[axis].abs());
            assert!(
                err <= 10.0 * tolerance,
                "{text} at {p:?} axis {axis}: gradient {ours} vs central differences {}",
                fd[axis]
            );
        }
    }
}
