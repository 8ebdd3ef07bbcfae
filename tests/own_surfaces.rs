//! A user's own surfaces: registered from another crate (the registry value and
//! `cli::main_with_args`), written as expressions in experiment files, over any domain, drawn as
//! contours; and every error a user can make on the way.

use optsurf::Registry;
use optsurf::backend::Backend;
use optsurf::burn::tensor::Tensor;
use optsurf::experiment::Experiment;
use optsurf::results::Trajectories;
use optsurf::surface::{Domain, Surface};
use serde_json::{Value, json};
use std::path::Path;
use std::process::ExitCode;

mod common;
use common::*;

fn run(json: &str) -> Trajectories {
    let exp = Experiment::parse(
        json,
        Path::new("e.json"),
        &Registry::builtin(),
        &optsurf::backend::Backend::default().device().unwrap(),
    )
    .unwrap();
    exp.run(&Backend::default().device().unwrap())
}

/// Runs `experiment` with the built-in surface and with an expression; the trajectories must be
/// the same bits.
fn same_bits(surface: &str, expr: &str, start: [f64; 2], runs: &Value) {
    let exp = |s: Value| json!({"name": "e", "surface": s, "start": start, "steps": 60, "runs": runs}).to_string();
    let builtin = run(&exp(json!(surface)));
    let compiled = run(&exp(json!({"expr": expr})));
    for (a, b) in builtin.runs.iter().zip(&compiled.runs) {
        assert_eq!(a.points, b.points, "{surface} vs {expr}: {} moved", a.label);
        assert_eq!(a.grads, b.grads, "{surface} vs {expr}: {} gradients", a.label);
        assert_eq!(a.loss, b.loss, "{surface} vs {expr}: {} losses", a.label);
    }
}

#[test]
fn expressions_written_with_a_builtins_operations_give_its_bits() {
    let runs = json!([
        {"label": "SGD", "optimizer": "sgd", "learning_rate": 0.0005},
        {"label": "Adam", "optimizer": "adam", "learning_rate": 0.05},
        {"label": "RMS", "optimizer": "rmsprop", "learning_rate": 0.01, "momentum": 0.5}]);
    same_bits("rosenbrock", "(1 - x)^2 + 100 * (y - x^2)^2", [-1.5, 2.0], &runs);
    same_bits("rastrigin", "rastrigin(x, y)", [-2.0, 3.5], &runs);
    // With the post's noise, looked up at the expression's own points.
    let runs = json!([{"label": "SGD", "optimizer": "sgd", "learning_rate": 10.0},
                      {"label": "Adam", "optimizer": "adam", "learning_rate": 1.0}]);
    same_bits(
        "f5",
        "((x * 0.125)^2 + (y * (1/12))^2) * 0.5 + 0.04 * r + 0.01 * c",
        [9.0, 9.0],
        &runs,
    );
    same_bits("f2", "f2(x, y)", [7.5, -0.5], &runs);
}

#[test]
fn an_expression_is_compiled_once_and_differs_where_it_should() {
    // Not the same bits as rosenbrock: another operation order.
    let runs = json!([{"label": "Adam", "optimizer": "adam", "learning_rate": 0.05}]);
    let exp =
        |s: Value| json!({"name": "e", "surface": s, "start": [-1.5, 2.0], "steps": 30, "runs": runs}).to_string();
    let a = run(&exp(json!("rosenbrock")));
    let b = run(&exp(json!({"expr": "100 * (y - x*x)^2 + (x - 1)^2 + 0 * x"})));
    for (p, q) in a.runs[0].points.iter().zip(&b.runs[0].points) {
        for k in 0..2 {
            assert!((p[k] - q[k]).abs() <= 1e-4 * (1.0 + p[k].abs()), "{p:?} vs {q:?}");
        }
    }
}

#[test]
fn a_surface_from_another_crate_gets_the_whole_command_line() {
    fn tilted(x: Tensor<1>, y: Tensor<1>, _r: Tensor<1>, _c: Tensor<1>) -> Tensor<1> {
        (x.clone() - y.clone()).square() + (x + y).sub_scalar(1.0).square().mul_scalar(0.1)
    }
    let surface = Surface::new("tilted", "(x - y)^2 + 0.1 (x + y - 1)^2", tilted)
        .with_domain([[-1.0, 2.0], [-1.0, 2.0]])
        .with_minimum([0.5, 0.5], 0.0)
        .noiseless();
    let registry = Registry::builtin().with_surface(surface);
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "mine.json",
        r#"{"name": "mine", "surface": "tilted", "start": [1.8, -0.5], "steps": 40,
            "plot": {"view": "contour", "animate": false},
            "runs": [{"label": "Adam", "optimizer": "adam", "learning_rate": 0.1}]}"#,
    );
    let out = dir.path().join("out");
    let args = |a: &[&str]| -> Vec<String> {
        std::iter::once("optsurf")
            .chain(a.iter().copied())
            .map(String::from)
            .collect()
    };
    let code = optsurf::cli::main_with_args(
        registry.clone(),
        args(&["run", file.to_str().unwrap(), "--out", out.to_str().unwrap()]),
    );
    assert_eq!(code, ExitCode::SUCCESS);
    let traj = out.join("mine/trajectories.json");
    assert!(out.join("mine/surface.png").is_file());
    let t = Trajectories::load(&traj).unwrap();
    let last = t.runs[0].points.last().unwrap();
    assert!((last[0] - 0.5).abs() < 0.2 && (last[1] - 0.5).abs() < 0.2, "{last:?}");
    // plot and diff know the surface through the same registry...
    let code = optsurf::cli::main_with_args(registry.clone(), args(&["plot", traj.to_str().unwrap()]));
    assert_eq!(code, ExitCode::SUCCESS);
    let code = optsurf::cli::main_with_args(
        registry.clone(),
        args(&["diff", file.to_str().unwrap(), "--baseline", out.to_str().unwrap()]),
    );
    assert_eq!(code, ExitCode::SUCCESS);
    let code = optsurf::cli::main_with_args(registry.clone(), args(&["check", "tilted"]));
    assert_eq!(code, ExitCode::SUCCESS);
    // ...and optsurf's own binary does not: its report warns on stderr and says which binary
    // draws it.
    let report = optsurf(dir.path(), &["report", out.to_str().unwrap()]);
    assert_eq!(report.status.code(), Some(0), "{}", stderr(&report));
    let warned = stderr(&report);
    assert!(
        warned.contains(&format!(
            "warning: {}: its view has no contour image",
            out.join("mine").display()
        )),
        "{warned}"
    );
    assert!(warned.contains("unknown surface \"tilted\""), "{warned}");
    assert!(
        warned.contains("run the report with the binary that knows the surface"),
        "{warned}"
    );
    let code = optsurf::cli::main_with_args(registry, args(&["report", out.to_str().unwrap()]));
    assert_eq!(code, ExitCode::SUCCESS);
    let view = std::fs::read_to_string(out.join("mine/view.html")).unwrap();
    assert!(!view.contains("unknown surface"), "the registry that knows it draws it");
    let out = optsurf(dir.path(), &["run", "mine.json", "--no-plots"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unknown surface \"tilted\""), "{}", stderr(&out));
}

#[test]
fn registries_add_and_replace_by_name() {
    let registry = Registry::builtin();
    let n = registry.surfaces().len();
    assert!(n >= 21, "the post's 7 and the 14 classics");
    let flat = Surface::new("f0", "0", |x, _y, _r, _c| x.zeros_like()).noiseless();
    let registry = registry.with_surface(flat);
    assert_eq!(registry.surfaces().len(), n, "same name replaces");
    assert_eq!(registry.surface("f0").unwrap().formula, "0");
    assert!(Registry::empty().surface("f0").is_none());
    let entry = *registry.optimizer("adam").unwrap();
    let only = Registry::empty().with_optimizer(entry);
    assert_eq!(only.optimizers().len(), 1);
    let err = only.require_optimizer("sgd").unwrap_err().to_string();
    assert!(err.contains("expected one of: adam"), "{err}");
}

#[test]
fn trajectories_record_the_expression_and_figures_and_diffs_use_it() {
    let dir = tempfile::tempdir().unwrap();
    let text = r#"{"name": "banana", "surface": {"expr": "(1 - x)^2 + 100 * (y - x^2)^2 + 0.01 * r",
        "domain": [[-2, 2], [-1, 3]], "minima": [[1, 1]]},
      "start": [-1.5, 2.5], "steps": 50, "plot": {"view": "contour", "animate": false},
      "runs": [{"label": "Adam", "optimizer": "adam", "learning_rate": 0.05}]}"#;
    write(dir.path(), "experiments/e.json", text);
    let out = optsurf(dir.path(), &["run", "experiments"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let traj = dir.path().join("results/banana/trajectories.json");
    let t = read_json(&traj);
    // As given, key order kept.
    assert_eq!(
        serde_json::to_string(&t["surface"]).unwrap(),
        r#"{"expr":"(1 - x)^2 + 100 * (y - x^2)^2 + 0.01 * r","domain":[[-2,2],[-1,3]],"minima":[[1,1]]}"#
    );
    let out = optsurf(dir.path(), &["plot", "results/banana/trajectories.json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = optsurf(dir.path(), &["diff", "experiments"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    // Editing the expression is drift, and the report says what changed.
    write(dir.path(), "experiments/e.json", &text.replace("0.01 * r", "0.02 * r"));
    let out = optsurf(dir.path(), &["diff", "experiments"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("surface"));
}

#[test]
fn an_experiment_may_override_the_domain() {
    let t = run(
        r#"{"name": "e", "surface": "rosenbrock", "domain": [[-3, 3], [-2, 4]], "start": [0, 0], "steps": 1,
                    "runs": [{"label": "SGD", "optimizer": "sgd"}]}"#,
    );
    assert_eq!(t.domain, Some(Domain::from([[-3.0, 3.0], [-2.0, 4.0]])));
    let json = t.to_json();
    assert!(json.contains("\"domain\": ["), "{json}");
    // Without an override, nothing is written (the post's baselines stay byte for byte).
    let t = run(r#"{"name": "e", "surface": "f0", "start": [0, 0], "steps": 1, "runs": []}"#);
    assert_eq!(t.domain, None);
    assert!(!t.to_json().contains("domain"));
}

#[test]
fn minima_of_expressions_get_their_values() {
    let exp = Experiment::parse(
        r#"{"name": "e", "surface": {"expr": "(x - 1)^2 + (y + 2)^2 + 3", "minima": [[1, -2], {"point": [0, 0], "value": 7.5}]},
            "start": [0, 0], "steps": 1, "runs": []}"#,
        Path::new("e.json"),
        &Registry::builtin(), &optsurf::backend::Backend::default().device().unwrap())
    .unwrap();
    let minima: Vec<([f64; 2], f64)> = exp.surface.minima().map(|m| (m.point, m.value)).collect();
    assert_eq!(minima, vec![([1.0, -2.0], 3.0), ([0.0, 0.0], 7.5)]);
    assert_eq!(exp.surface.global_minimum(), Some(3.0));
    assert_eq!(
        exp.surface.domain,
        Domain::from([[-10.0, 10.0], [-10.0, 10.0]]),
        "the post's box by default"
    );
    assert!(!exp.surface.noisy);
}

/// Each bad file exits 2 with one line that names the file, the field and what is wrong.
#[test]
fn bad_surfaces_and_domains_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str, &[&str])] = &[
        (
            r#"{"expr": "(1 - x)^2 + )"}"#,
            "surface.expr",
            &["unexpected ')' at column 13"],
        ),
        (
            r#"{"expr": "x + foo"}"#,
            "surface.expr",
            &[
                "unknown name \"foo\"",
                "column 5",
                "known names: x, y, r, c, pi, e, sin",
            ],
        ),
        (
            r#"{"expr": "rastrign(x, y)"}"#,
            "surface.expr",
            &["unknown name \"rastrign\"", "column 1", "did you mean rastrigin?"],
        ),
        (
            r#"{"expr": "sin(x, y)"}"#,
            "surface.expr",
            &["sin takes 1 argument, got 2"],
        ),
        (
            r#"{"expr": "x ^"}"#,
            "surface.expr",
            &["unexpected end of expression", "column 4"],
        ),
        (
            r#"{"expr": "x $ y"}"#,
            "surface.expr",
            &["unexpected character '$'", "column 3"],
        ),
        (
            r#"{"expr": 3}"#,
            "surface.expr",
            &["expected the expression as a string"],
        ),
        (
            r#"{"exp": "x"}"#,
            "surface.exp",
            &["unknown field", "expr, name, domain, minima"],
        ),
        (r#"{"domain": [[0, 1], [0, 1]]}"#, "surface", &["needs \"expr\""]),
        (
            r#"{"expr": "x", "domain": [[1, 0], [0, 1]]}"#,
            "surface.domain",
            &["min < max"],
        ),
        (
            r#"{"expr": "x", "domain": [0, 1]}"#,
            "surface.domain",
            &["[[x_min, x_max], [y_min, y_max]]"],
        ),
        (
            r#"{"expr": "x", "minima": [[1]]}"#,
            "surface.minima[0]",
            &["two finite numbers"],
        ),
        (
            r#""banana""#,
            "surface",
            &["unknown surface \"banana\"", "rosenbrock", "himmelblau"],
        ),
        (r#"12"#, "surface", &["expected a surface name or an object"]),
    ];
    for (surface, field, expected) in cases {
        let text = format!(
            r#"{{"name": "e", "surface": {surface}, "start": [0, 0], "steps": 5,
                "runs": [{{"label": "a", "optimizer": "sgd"}}]}}"#
        );
        write(dir.path(), "e.json", &text);
        let out = optsurf(dir.path(), &["run", "e.json", "--no-plots", "--out", "o"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{surface}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{surface}: one line: {err}");
        assert!(err.starts_with("error: e.json: "), "{surface}: {err}");
        assert!(
            err.contains(&format!("`{field}`")),
            "{surface}: no field {field} in {err}"
        );
        for e in *expected {
            assert!(err.contains(e), "{surface}: no {e:?} in {err}");
        }
        assert!(!dir.path().join("o").exists(), "{surface}: nothing is written");
    }
    write(
        dir.path(),
        "e.json",
        r#"{"name": "e", "surface": "f0", "domain": [[-1, -1], [0, 1]], "start": [0, 0], "steps": 5, "runs": []}"#,
    );
    let out = optsurf(dir.path(), &["run", "e.json", "--no-plots"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("field `domain`"), "{}", stderr(&out));
}

#[test]
fn list_shows_domains_and_minima_and_check_reports() {
    let dir = tempfile::tempdir().unwrap();
    let out = optsurf(dir.path(), &["list"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("rosenbrock"), "{text}");
    assert!(
        text.contains("domain [-2, 2] x [-1, 3]; minimum f(1.000000, 1.000000) = 0.000000"),
        "{text}"
    );
    assert!(text.contains("minimum f(-2.805118, 3.131313)"), "{text}");
    let out = optsurf(dir.path(), &["check", "himmelblau", "f4", "--points", "200"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 ok, 0 failed"));
    let out = optsurf(dir.path(), &["check", "nope"]);
    assert_eq!(out.status.code(), Some(2));
}

/// The optsurf library this test binary was linked with (`target/<profile>/deps/liboptsurf-*.rlib`,
/// the newest) and its dependencies' folder.
fn own_rlib() -> (std::path::PathBuf, std::path::PathBuf) {
    let deps = std::env::current_exe().unwrap().parent().unwrap().to_path_buf();
    let rlib = std::fs::read_dir(&deps)
        .unwrap()
        .flatten()
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with("liboptsurf-") && name.ends_with(".rlib")
        })
        .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok())
        .expect("the optsurf library beside the test binary")
        .path();
    (rlib, deps)
}

/// Type-checks `source` as a user's binary crate whose only dependency is optsurf (rustc with
/// `--extern optsurf` and nothing else, so a `use burn::...` cannot resolve); rustc's stderr on
/// failure.
fn compile_with_only_optsurf(source: &Path) -> Result<(), String> {
    let (rlib, deps) = own_rlib();
    let out = tempfile::tempdir().unwrap();
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let output = std::process::Command::new(rustc)
        .args([
            "--edition",
            "2024",
            "--crate-type",
            "bin",
            "--emit=metadata",
            "--crate-name",
            "user",
        ])
        .arg("-o")
        .arg(out.path().join("user.rmeta"))
        .arg("--extern")
        .arg(format!("optsurf={}", rlib.display()))
        .arg("-L")
        .arg(format!("dependency={}", deps.display()))
        .arg(source)
        .output()
        .expect("rustc runs");
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// The README's "In your own crate": every example compiles in a crate whose only dependency is
/// optsurf (burn comes as `optsurf::burn`), and the README shows that crate's `Cargo.toml` and
/// the example's code as it is.
#[test]
fn examples_compile_with_optsurf_as_the_only_dependency() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut compiled = 0;
    for entry in std::fs::read_dir(root.join("examples")).unwrap().flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "rs") {
            if let Err(e) = compile_with_only_optsurf(&path) {
                panic!("{} does not compile with only optsurf:\n{e}", path.display());
            }
            compiled += 1;
        }
    }
    assert!(compiled >= 1);
    // The check can fail: a direct `use burn` does not resolve with optsurf alone.
    let dir = tempfile::tempdir().unwrap();
    let direct = dir.path().join("direct.rs");
    std::fs::write(
        &direct,
        "use burn::tensor::Tensor;\nfn main() { let _: Option<Tensor<1>> = None; }\n",
    )
    .unwrap();
    let e = compile_with_only_optsurf(&direct).unwrap_err();
    assert!(e.contains("burn"), "{e}");

    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let section = &readme[readme.find("### In your own crate").unwrap()..];
    let section = &section[..section[4..].find("\n### ").map_or(section.len(), |i| i + 4)];
    assert!(
        section.contains("[dependencies]\noptsurf = "),
        "the README shows the user's Cargo.toml:\n{section}"
    );
    assert!(!section.contains("\nburn = "), "burn is not the user's dependency");
    assert!(section.contains("use optsurf::burn::tensor::Tensor;"));
    // The README's program compiles as it is shown.
    let code = section.split("```rust\n").nth(1).unwrap().split("```").next().unwrap();
    let shown = dir.path().join("readme.rs");
    std::fs::write(&shown, code).unwrap();
    if let Err(e) = compile_with_only_optsurf(&shown) {
        panic!("the README's program does not compile with only optsurf:\n{e}");
    }
    let example = std::fs::read_to_string(root.join("examples/custom_surface.rs")).unwrap();
    for line in [
        "use optsurf::burn::tensor::Tensor;",
        "optsurf::cli::main(Registry::builtin().with_surface(surface))",
    ] {
        assert!(example.contains(line), "examples/custom_surface.rs lacks {line}");
    }
}
