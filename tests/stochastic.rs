//! Stochastic gradients: data surfaces with minibatches against plain float64 computations, the
//! additive gradient noise's statistics, seeds and determinism, and every data mistake a user can
//! make.

mod common;
use common::tempfile;
use optsurf::Registry;
use optsurf::experiment::Experiment;
use optsurf::results::Trajectories;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

fn run(experiment: &Value) -> Trajectories {
    let exp = Experiment::parse(
        &experiment.to_string(),
        Path::new("s.json"),
        &Registry::builtin(),
        &common::reference_device(),
    )
    .unwrap();
    exp.run(&common::reference_device())
}

const IRIS: &str = "data/iris.csv";

fn iris(model: &str, y: &str) -> Value {
    json!({"model": model, "data": {"csv": IRIS, "x": "petal_length", "y": y}})
}

#[test]
fn gradient_noise_has_mean_zero_and_standard_deviation_sigma() {
    // A flat surface: every recorded gradient is pure noise. 64 runs with their own seeds.
    let sigma = 0.7;
    let runs: Vec<Value> = (0..64)
        .map(|k| json!({"label": format!("r{k}"), "optimizer": "sgd", "learning_rate": 1e-30, "seed": 1000 + k}))
        .collect();
    let t = run(
        &json!({"name": "e", "surface": {"expr": "0 * x + 0 * y"}, "start": [1, 1], "steps": 400,
                         "gradient_noise": {"sigma": sigma}, "runs": runs}),
    );
    let samples: Vec<[f64; 2]> = t
        .runs
        .iter()
        .flat_map(|r| r.grads.iter().map(|g| [g[0] as f64, g[1] as f64]))
        .collect();
    let n = samples.len() as f64;
    assert_eq!(n, 64.0 * 400.0);
    for axis in 0..2 {
        let mean = samples.iter().map(|s| s[axis]).sum::<f64>() / n;
        let std = (samples.iter().map(|s| (s[axis] - mean).powi(2)).sum::<f64>() / n).sqrt();
        // Standard errors: sigma / sqrt(n) = 0.0044 for the mean, about sigma / sqrt(2 n) = 0.003
        // for the deviation; the bounds are six of them, so only a wrong noise fails them.
        assert!(mean.abs() < 6.0 * sigma / n.sqrt(), "axis {axis}: mean {mean}");
        assert!(
            (std - sigma).abs() < 6.0 * sigma / (2.0 * n).sqrt(),
            "axis {axis}: std {std}"
        );
    }
    // The two components and successive steps are uncorrelated.
    let cross = samples.iter().map(|s| s[0] * s[1]).sum::<f64>() / n / (sigma * sigma);
    assert!(cross.abs() < 6.0 / n.sqrt(), "correlation of x and y noise {cross}");
    let lag: f64 = t
        .runs
        .iter()
        .flat_map(|r| r.grads.windows(2).map(|w| w[0][0] as f64 * w[1][0] as f64))
        .sum::<f64>()
        / (64.0 * 399.0)
        / (sigma * sigma);
    assert!(lag.abs() < 6.0 / n.sqrt(), "lag-1 correlation {lag}");
    assert!(t.runs.iter().all(|r| r.sigma == Some(sigma)));
}

#[test]
fn no_noise_and_zero_noise_are_the_same_bits_and_seeds_decide_the_path() {
    let base = json!({"name": "e", "surface": "f4", "start": [-7.5, -1.0], "steps": 50,
                      "runs": [{"label": "Adam", "optimizer": "adam", "learning_rate": 0.5},
                               {"label": "NAG", "optimizer": "sgd", "learning_rate": 5.0, "momentum": 0.9, "nesterov": true}]});
    let plain = run(&base);
    let mut zero = base.clone();
    zero["gradient_noise"] = json!({"sigma": 0.0});
    let zero = run(&zero);
    for (a, b) in plain.runs.iter().zip(&zero.runs) {
        assert_eq!((&a.points, &a.grads, &a.loss), (&b.points, &b.grads, &b.loss));
    }
    // With noise: the same seed gives the same path, another seed another one, and runs that
    // share a seed share their noise (common random numbers).
    let mut noisy = base.clone();
    noisy["gradient_noise"] = json!({"sigma": 0.05});
    noisy["runs"] = json!([{"label": "a", "optimizer": "adam", "learning_rate": 0.5},
                           {"label": "b", "optimizer": "adam", "learning_rate": 0.5},
                           {"label": "c", "optimizer": "adam", "learning_rate": 0.5, "seed": 9}]);
    let (first, second) = (run(&noisy), run(&noisy));
    assert_eq!(first.to_json(), second.to_json(), "same seed, same bytes");
    assert_eq!(first.runs[0].points, first.runs[1].points, "common random numbers");
    assert_ne!(first.runs[0].points, first.runs[2].points, "another seed, another path");
    assert_eq!((first.runs[2].seed, first.runs[2].sigma), (Some(9), Some(0.05)));
    // Minibatch order follows the seed too.
    let batches = |seed: u64| {
        run(
            &json!({"name": "e", "surface": iris("linear_regression", "petal_width"), "start": [0, 0], "steps": 30, "seed": seed,
                     "runs": [{"label": "SGD", "optimizer": "sgd", "learning_rate": 0.1, "batch_size": 4}]}),
        )
    };
    assert_eq!(batches(1).to_json(), batches(1).to_json());
    assert_ne!(batches(1).runs[0].points, batches(2).runs[0].points);
}

/// Each mistake exits 2 with one line naming the experiment file, the field and the problem.
#[test]
fn bad_data_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let csv = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    csv("words.csv", "u,v\n1,2\n3,abc\n");
    csv("one.csv", "u,v\n1,2\n");
    csv("labels.csv", "u,v\n1,0\n2,1\n3,2\n");
    let data = |file: &str, x: &str, y: &str| json!({"csv": file, "x": x, "y": y});
    let cases = [
        (
            json!({"model": "linear_regression", "data": data("missing.csv", "u", "v")}),
            "surface.data.csv",
            "missing.csv",
        ),
        (
            json!({"model": "linear_regression", "data": data("words.csv", "u", "w")}),
            "surface.data.csv",
            "no column \"w\"; its columns are: u, v",
        ),
        (
            json!({"model": "linear_regression", "data": data("words.csv", "u", "v")}),
            "surface.data.csv",
            "row 3, column \"v\": \"abc\" is not a finite number",
        ),
        (
            json!({"model": "linear_regression", "data": data("one.csv", "u", "v")}),
            "surface.data",
            "at least 2 rows",
        ),
        (
            json!({"model": "logistic_regression", "data": data("labels.csv", "u", "v")}),
            "surface.data.y",
            "labels.csv: row 4, column \"v\": 2 is not a label; logistic_regression needs targets 0 or 1",
        ),
        (
            json!({"model": "logistic_regression", "data": {"generate": "linear", "noise": 0.5}}),
            "surface.data.generate",
            "has target",
        ),
        (
            json!({"model": "linear_regression", "data": data("one.csv", "u", "v"), "batch_size": 0}),
            "surface.batch_size",
            ">= 1",
        ),
        (
            json!({"model": "ridge", "data": data("one.csv", "u", "v")}),
            "surface.model",
            "linear_regression, logistic_regression",
        ),
        (
            json!({"model": "linear_regression", "data": {"generate": "cubic"}}),
            "surface.data.generate",
            "\"linear\", \"logistic\", \"moons\", \"spirals\" or \"blobs\"",
        ),
        (
            json!({"model": "linear_regression", "data": {"generate": "linear", "n": 1}}),
            "surface.data.n",
            "from 2",
        ),
        (json!({"model": "linear_regression"}), "surface.data", "missing"),
        (
            json!({"model": "linear_regression", "data": {"generate": "linear"}, "batchsize": 3}),
            "surface.batchsize",
            "unknown field",
        ),
    ];
    for (surface, field, expected) in cases {
        let text = json!({"name": "e", "surface": surface, "start": [0, 0], "steps": 3,
                          "runs": [{"label": "SGD", "optimizer": "sgd"}]});
        std::fs::write(dir.path().join("e.json"), text.to_string()).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_optsurf"))
            .args(["run", "e.json", "--no-plots", "--out", "o"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{surface}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{surface}: {err}");
        assert!(
            err.contains(&format!("e.json: field `{field}`")),
            "{surface}: no field {field} in {err}"
        );
        assert!(err.contains(expected), "{surface}: no {expected:?} in {err}");
        assert!(!dir.path().join("o").exists());
    }
    // Run-level mistakes.
    let runs = [
        (
            json!({"label": "a", "optimizer": "sgd", "batch_size": 0}),
            "runs[0].batch_size",
            ">= 1",
        ),
        (
            json!({"label": "a", "optimizer": "sgd", "seed": -1}),
            "runs[0].seed",
            ">= 0",
        ),
        (
            json!({"label": "a", "optimizer": "sgd", "gradient_noise": {"sigma": -0.1}}),
            "runs[0].gradient_noise.sigma",
            ">= 0",
        ),
        (
            json!({"label": "a", "optimizer": "sgd", "gradient_noise": 0.1}),
            "runs[0].gradient_noise",
            "{\"sigma\": NUMBER}",
        ),
    ];
    for (run, field, expected) in runs {
        let text = json!({"name": "e", "surface": {"model": "linear_regression", "data": {"generate": "linear", "n": 20}},
                          "start": [0, 0], "steps": 3, "runs": [run]});
        std::fs::write(dir.path().join("e.json"), text.to_string()).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_optsurf"))
            .args(["run", "e.json", "--no-plots", "--out", "o"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{run}: {err}");
        assert!(
            err.contains(&format!("field `{field}`")) && err.contains(expected),
            "{run}: {err}"
        );
    }
    let text = json!({"name": "e", "surface": "f0", "start": [0, 0], "steps": 3,
                      "runs": [{"label": "a", "optimizer": "sgd", "batch_size": 4}]});
    std::fs::write(dir.path().join("e.json"), text.to_string()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_optsurf"))
        .args(["run", "e.json", "--no-plots"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("field `runs[0].batch_size`") && err.contains("needs a data surface"),
        "{err}"
    );
}

/// On a contour view of a data surface, the data optimum's star is drawn over the runs' end
/// dots that gather on it (the SVG's elements are in drawing order).
#[test]
fn the_data_optimum_star_is_drawn_over_the_end_markers() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let experiment = json!({"name": "iris-star", "surface": iris("linear_regression", "petal_width"),
        "start": [0.5, 0.5], "steps": 200, "plot": {"view": "contour", "format": ["svg"], "animate": false},
        "runs": [{"label": "SGD", "optimizer": "sgd", "learning_rate": 0.05},
                 {"label": "Adam", "optimizer": "adam", "learning_rate": 0.05}]});
    let file = d.join("star.json");
    std::fs::write(&file, experiment.to_string()).unwrap();
    let out = common::optsurf(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &["run", file.to_str().unwrap(), "--out", d.join("o").to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", common::stderr(&out));
    let svg = std::fs::read_to_string(d.join("o/iris-star/surface.svg")).unwrap();
    let lines: Vec<&str> = svg.lines().collect();
    let centre = |l: &str| -> Option<[f64; 2]> {
        let num = |k: &str| {
            l.split(&format!(" {k}=\""))
                .nth(1)?
                .split('"')
                .next()?
                .parse::<f64>()
                .ok()
        };
        Some([num("cx")?, num("cy")?])
    };
    // The runs' end dots: their last circles in their own colours (not the white start rings).
    let dots: Vec<(usize, [f64; 2])> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.starts_with("<circle") && !l.contains("fill=\"#ffffff\""))
        .filter_map(|(i, l)| centre(l).map(|c| (i, c)))
        .collect();
    let (last_dot, at) = *dots.last().expect("end dots");
    // A star arm (black) through the last dot's centre comes after it.
    let over = lines[last_dot..].iter().any(|l| {
        l.starts_with("<polyline") && l.contains("stroke=\"#000000\"") && {
            let pts: Vec<f64> = l
                .split("points=\"")
                .nth(1)
                .and_then(|s| s.split('"').next())
                .map(|s| s.split([' ', ',']).filter_map(|v| v.parse().ok()).collect())
                .unwrap_or_default();
            pts.len() == 4
                && ((pts[0] + pts[2]) / 2.0 - at[0]).abs() < 3.0
                && ((pts[1] + pts[3]) / 2.0 - at[1]).abs() < 3.0
        }
    });
    assert!(
        over,
        "no star over the end dot at {at:?}:\n{}",
        lines[last_dot..].join("\n")
    );
}
