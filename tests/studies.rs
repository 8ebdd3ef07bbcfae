//! Studies: tuning finds the known best learning rate, basins agree with a float64
//! gradient-descent simulation, study rows agree with ordinary experiment runs, shards merge
//! into the unsharded files byte for byte, and every bad study file or shard is rejected with
//! one line naming the file and field.

use optsurf::Registry;
use optsurf::backend::Backend;
use optsurf::experiment::Experiment;
use optsurf::experiment::study::Outcome;
use optsurf::experiment::study::Study;
use serde_json::{Value, json};
use std::path::Path;

mod common;
use common::*;

fn study(v: &Value) -> Study {
    Study::parse(
        &v.to_string(),
        Path::new("study.json"),
        &Registry::builtin(),
        &optsurf::backend::Backend::default().device().unwrap(),
    )
    .unwrap()
}

fn outcomes(s: &Study) -> Vec<Outcome> {
    s.run_rows(0..s.rows(), &Backend::default().device().unwrap(), &mut |_| {})
}

/// SGD over f0 with the noise off: `f = (x/10)^2 + (y/10)^2` has gradient `x / 50`, so a learning
/// rate of 50 lands on the minimum in one step from anywhere; every other rate does worse.
#[test]
fn tuning_picks_the_known_best_learning_rate() {
    for objective in [
        "median_final_loss",
        "mean_final_loss",
        "success_rate",
        "median_steps_to_threshold",
    ] {
        let s = study(&json!({
            "kind": "study", "name": "f0-sgd", "surface": "f0", "noise": {"lookup": "off"}, "steps": 8,
            "starts": {"random": 9, "seed": 11}, "seeds": [0, 1],
            "optimizers": [{"optimizer": "sgd", "learning_rate": [1, 5, 20, 40, 50, 60, 90]}],
            "threshold": 1e-9, "tune": {"objective": objective}}));
        let o = outcomes(&s);
        let summaries = s.summaries(&o);
        let best = s.best(&summaries);
        assert_eq!(best.len(), 1);
        assert_eq!(
            swept(&s.configs[best[0].1])["learning_rate"],
            json!(50),
            "{objective}: {summaries:?}"
        );
        // lr 50: one step to the minimum, from every start and seed.
        let at50 = &summaries[4];
        assert_eq!(at50.runs, 18);
        assert_eq!(at50.success_rate, 1.0, "{objective}");
        assert_eq!(at50.median_steps, Some(1.0), "{objective}");
        assert_eq!(at50.divergence_rate, 0.0);
        // lr 1 creeps (x shrinks by 2% a step); lr 90 overshoots but still contracts.
        assert_eq!(summaries[0].success_rate, 0.0);
        assert!(summaries[0].final_loss[0] > 0.1, "{:?}", summaries[0]);
    }
}

/// The tuned experiment the study writes runs the best configuration from the tune's start.
#[test]
fn the_tuned_experiment_is_an_ordinary_experiment_of_the_best_configurations() {
    let s = study(&json!({
        "kind": "study", "name": "two", "surface": "himmelblau", "steps": 60,
        "starts": [[0.5, 0.5], [-1, 1], [1, -1]],
        "optimizers": [{"optimizer": "sgd", "learning_rate": [0.001, 0.01], "momentum": [0.0, 0.5]},
                       {"label": "NAG", "optimizer": "sgd", "learning_rate": [0.001, 0.005], "momentum": 0.9, "nesterov": true},
                       {"optimizer": "adam", "learning_rate": {"logspace": [0.01, 1, 3]}}],
        "tune": {"objective": "median_final_loss", "start": [0.25, -0.75]}}));
    assert_eq!(s.configs.len(), 4 + 2 + 3);
    assert_eq!(s.configs[4].label, "NAG");
    assert_eq!(s.configs[4].optimizer.hyperparameters()["nesterov"], json!(true));
    let o = outcomes(&s);
    let summaries = s.summaries(&o);
    let e = serde_json::to_value(s.tuned_experiment(&o)).unwrap();
    assert_eq!(e["start"], json!([0.25, -0.75]));
    let runs = e["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3);
    let labels: Vec<&str> = runs.iter().map(|r| r["label"].as_str().unwrap()).collect();
    assert!(
        labels[0].starts_with("sgd lr=") && labels[1].starts_with("NAG lr=") && labels[2].starts_with("adam lr="),
        "{labels:?}"
    );
    for (run, (name, i)) in runs.iter().zip(s.best(&summaries)) {
        assert_eq!(run["optimizer"], json!(s.configs[i].optimizer.name()));
        assert_eq!(name, s.configs[i].label);
        for (k, v) in &s.configs[i].optimizer.hyperparameters() {
            assert_eq!(&run[k], v, "{name} {k}");
        }
        // No other configuration of this optimizer has a lower median final loss.
        for (j, c) in s.configs.iter().enumerate() {
            if c.label == name {
                assert!(
                    summaries[i].final_loss[0] <= summaries[j].final_loss[0],
                    "{name}: {j} beats {i}"
                );
            }
        }
    }
    Experiment::parse(
        &e.to_string(),
        Path::new("tuned/experiment.json"),
        &Registry::builtin(),
        &optsurf::backend::Backend::default().device().unwrap(),
    )
    .unwrap();
}

/// Without a tune `start`, the tuned comparison starts where the best configurations do as
/// they do typically (the median start), not at the grid's first corner.
#[test]
fn the_tuned_comparison_starts_at_the_median_start() {
    let s = study(&json!({
        "kind": "study", "name": "mid", "surface": "f0", "noise": {"lookup": "off"}, "steps": 5,
        "starts": {"grid": [5, 5]},
        "optimizers": [{"optimizer": "sgd", "learning_rate": [1, 2]}, {"optimizer": "adam", "learning_rate": [0.1, 0.5]}],
        "tune": {"objective": "median_final_loss"}}));
    let o = outcomes(&s);
    let e = serde_json::to_value(s.tuned_experiment(&o)).unwrap();
    let start: [f64; 2] = serde_json::from_value(e["start"].clone()).unwrap();
    assert_ne!(Some(start), s.starts[0].point(), "not the first corner");
    // On f0 without noise a run ends the lower the nearer it starts to the centre: the median
    // start is neither the centre nor a corner, and half the starts do no better there.
    let r = |p: [f64; 2]| p[0].hypot(p[1]);
    let radii: Vec<f64> = s.starts.iter().map(|p| r(p.point().unwrap())).collect();
    let (lo, hi) = radii.iter().fold((f64::MAX, 0.0f64), |(a, b), &x| (a.min(x), b.max(x)));
    assert!(r(start) > lo && r(start) < hi, "{start:?} of {:?}", s.starts);
    let nearer = radii.iter().filter(|&&x| x < r(start) - 1e-9).count();
    let farther = radii.iter().filter(|&&x| x > r(start) + 1e-9).count();
    assert!(
        nearer <= s.starts.len() / 2 && farther <= s.starts.len() / 2,
        "{nearer} nearer, {farther} farther"
    );
}

/// Himmelblau's gradient in float64.
fn himmelblau_grad(x: f64, y: f64) -> [f64; 2] {
    let a = x * x + y - 11.0;
    let b = x + y * y - 7.0;
    [4.0 * x * a + 2.0 * b, 2.0 * a + 4.0 * y * b]
}

/// Keras SGD with momentum in float64 from `p`: the basin index as studies define it (nearest
/// minimum within 5% of the domain's width, -1 none, -2 diverged).
fn gd_basin(p: [f64; 2], lr: f64, momentum: f64, steps: usize, minima: &[[f64; 2]]) -> i64 {
    let (mut p, mut v) = (p, [0.0f64; 2]);
    for _ in 0..steps {
        let g = himmelblau_grad(p[0], p[1]);
        for k in 0..2 {
            v[k] = momentum * v[k] - lr * g[k];
            p[k] += v[k];
        }
        if !(p[0].is_finite() && p[1].is_finite()) || p[0].abs() > 1e18 || p[1].abs() > 1e18 {
            return -2;
        }
    }
    minima
        .iter()
        .enumerate()
        .map(|(i, m)| (i, (p[0] - m[0]).hypot(p[1] - m[1])))
        .filter(|(_, d)| *d <= 0.05 * 10.0)
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map_or(-1, |(i, _)| i as i64)
}

/// Every grid start whose neighbours (one cell away, diagonals included) all end in the same
/// basin in float64 must end in that basin in the study too.
#[test]
fn basins_agree_with_float64_gradient_descent_away_from_boundaries() {
    let n = 40;
    let configs = [(0.01, 0.0), (0.002, 0.9), (0.005, 0.5)];
    let s = study(&json!({
        "kind": "study", "name": "basins", "surface": "himmelblau", "steps": 300,
        "starts": {"grid": [n, n]},
        "optimizers": [{"optimizer": "sgd", "learning_rate": 0.01},
                       {"optimizer": "sgd", "learning_rate": 0.002, "momentum": 0.9},
                       {"optimizer": "sgd", "learning_rate": 0.005, "momentum": 0.5}]}));
    let minima: Vec<[f64; 2]> = s.surface.minima().map(|m| m.point).collect();
    assert_eq!(minima.len(), 4);
    let o = outcomes(&s);
    assert_eq!(o.len(), configs.len() * n * n);
    for (c, &(lr, momentum)) in configs.iter().enumerate() {
        let exact: Vec<i64> = (0..n * n)
            .map(|k| gd_basin(s.starts[k].point().unwrap(), lr, momentum, s.steps, &minima))
            .collect();
        let (mut compared, mut reached) = (0, [0usize; 4]);
        for i in 0..n {
            for j in 0..n {
                let k = i * n + j;
                let interior = (i.saturating_sub(1)..(i + 2).min(n))
                    .all(|a| (j.saturating_sub(1)..(j + 2).min(n)).all(|b| exact[a * n + b] == exact[k]));
                if !interior {
                    continue;
                }
                compared += 1;
                let ours = o[c * n * n + k].basin;
                assert_eq!(ours, exact[k], "config {c} start {:?}", s.starts[k]);
                if ours >= 0 {
                    reached[ours as usize] += 1;
                }
            }
        }
        // Most starts are compared, and all four minima are reached from some.
        assert!(
            compared >= n * n / 2,
            "config {c}: only {compared} starts away from boundaries"
        );
        if momentum == 0.0 && lr == 0.01 {
            assert!(reached.iter().all(|&r| r > 20), "config {c}: {reached:?}");
        }
    }
}

/// The rows of a `runs.csv`: each one's cells.
fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(String::from).collect())
        .collect()
}

/// Himmelblau with its minima removed (the same formula as an expression with none): the study
/// finds its four minima from the runs' ends, gives every run the basin the known minima give
/// it, says so in its output and study.json, and warns that the threshold is an absolute loss.
#[test]
fn basins_are_found_from_the_runs_where_no_minima_are_known() {
    let dir = tempfile::tempdir().unwrap();
    let study_of = |name: &str, surface: Value| {
        json!({"kind": "study", "name": name, "surface": surface, "steps": 300, "starts": {"grid": [16, 16]},
               "threshold": 0.01,
               "optimizers": [{"optimizer": "sgd", "learning_rate": 0.01},
                              {"optimizer": "sgd", "learning_rate": 0.005, "momentum": 0.5}]})
        .to_string()
    };
    write(dir.path(), "known.json", &study_of("known", json!("himmelblau")));
    let expr = json!({"expr": "(x^2 + y - 11)^2 + (x + y^2 - 7)^2", "domain": [[-5, 5], [-5, 5]]});
    write(dir.path(), "unknown.json", &study_of("unknown", expr));
    let known = optsurf(dir.path(), &["run", "known.json", "--out", "o"]);
    assert!(known.status.success(), "{}", stderr(&known));
    assert!(
        !stderr(&known).contains("note:") && !stderr(&known).contains("warning:"),
        "{}",
        stderr(&known)
    );
    let unknown = optsurf(dir.path(), &["run", "unknown.json", "--out", "o"]);
    assert!(unknown.status.success(), "{}", stderr(&unknown));
    let said = stderr(&unknown);
    assert!(
        said.contains(
            "note: unknown: the surface has no known minima: basins are minima found from the runs' end points"
        ),
        "{said}"
    );
    assert!(said.contains("found minimum 0 at ("), "{said}");
    assert!(
        said.contains("warning: unknown: the surface has no known minimum, so success means a loss <= 0.01 (the threshold itself), not reaching a minimum"),
        "{said}"
    );
    let summary = read_json(&dir.path().join("o/known/study.json"));
    assert!(
        summary.get("basins").is_none() && summary.get("warnings").is_none(),
        "{summary}"
    );
    let summary = read_json(&dir.path().join("o/unknown/study.json"));
    assert!(
        summary["basins"]["how"].as_str().unwrap().contains("no known minima"),
        "{summary}"
    );
    assert_eq!(summary["warnings"].as_array().unwrap().len(), 1, "{summary}");
    let found = summary["basins"]["minima"].as_array().unwrap();
    assert_eq!(found.len(), 4, "{summary}");
    // Each found minimum is one of Himmelblau's, at its loss, each a different one.
    let himmelblau = study(
        &json!({"kind": "study", "name": "h", "surface": "himmelblau", "steps": 1,
                                    "starts": [[0, 0]], "optimizers": [{"optimizer": "sgd"}]}),
    );
    let minima: Vec<[f64; 2]> = himmelblau.surface.minima().map(|m| m.point).collect();
    let mut which = Vec::new();
    for (k, m) in found.iter().enumerate() {
        assert_eq!(m["label"], json!(format!("found minimum {k}")));
        let p: [f64; 2] = serde_json::from_value(m["point"].clone()).unwrap();
        let near = minima.iter().position(|q| (q[0] - p[0]).hypot(q[1] - p[1]) < 0.01);
        assert!(near.is_some(), "found minimum {k} at {p:?} is none of {minima:?}");
        assert!(m["loss"].as_f64().unwrap() < 1e-4, "{m}");
        which.push(near.unwrap() as i64);
    }
    which.sort();
    which.dedup();
    assert_eq!(which.len(), 4, "four different minima");
    // Every run is in the basin of the same minimum both ways.
    let rows = csv_rows(&dir.path().join("o/known/runs.csv"));
    let found_rows = csv_rows(&dir.path().join("o/unknown/runs.csv"));
    assert_eq!(rows.len(), found_rows.len());
    let mut agree = 0;
    for (a, b) in rows.iter().zip(&found_rows) {
        let (known_basin, found_basin): (i64, i64) = (a[11].parse().unwrap(), b[11].parse().unwrap());
        let mapped = if found_basin >= 0 {
            let p: [f64; 2] = serde_json::from_value(found[found_basin as usize]["point"].clone()).unwrap();
            minima
                .iter()
                .position(|q| (q[0] - p[0]).hypot(q[1] - p[1]) < 0.01)
                .unwrap() as i64
        } else {
            found_basin
        };
        agree += usize::from(mapped == known_basin);
    }
    assert!(agree * 100 >= rows.len() * 99, "{agree} of {} runs agree", rows.len());
    assert!(dir.path().join("o/unknown/basins.png").is_file());
}

/// Checks every row of `s` against the same run made as an experiment over `surface` with the
/// study's `gradient_noise` sigma: the same final point and loss, best loss and first step under
/// the threshold as the trajectory shows.
fn assert_rows_are_experiment_runs(s: &Study, surface: Value, sigma: f64) {
    let o = outcomes(s);
    let device = Backend::default().device().unwrap();
    for (r, outcome) in o.iter().enumerate() {
        let (c, k, seed) = s.row(r);
        let config = &s.configs[c];
        let mut run = json!({"label": "r", "optimizer": config.optimizer.name()});
        run.as_object_mut().unwrap().extend(config.optimizer.hyperparameters());
        if let Some(b) = config.batch_size {
            run["batch_size"] = json!(b);
        }
        let e = json!({"name": "e", "surface": surface, "start": s.starts[k].point().unwrap(), "steps": s.steps,
                       "seed": s.seeds[seed], "gradient_noise": {"sigma": sigma}, "runs": [run]});
        let e = Experiment::parse(
            &e.to_string(),
            Path::new("e.json"),
            &Registry::builtin(),
            &optsurf::backend::Backend::default().device().unwrap(),
        )
        .unwrap();
        let t = e.run(&device);
        let run = &t.runs[0];
        let last = *run.points.last().unwrap();
        assert_eq!(outcome.final_point, last, "row {r}");
        assert_eq!(outcome.final_loss, *run.loss.last().unwrap(), "row {r}");
        let best = run.loss.iter().copied().fold(f32::INFINITY, f32::min);
        assert_eq!(outcome.best_loss, best, "row {r}");
        let first = run.loss.iter().position(|&l| l as f64 <= s.target());
        assert_eq!(outcome.steps_to_threshold, first, "row {r}");
        assert_eq!(outcome.diverged_at, None);
    }
    assert!(o.iter().any(|r| r.steps_to_threshold.is_some()));
}

/// A study's row is the same computation as an experiment's run.
#[test]
fn study_rows_are_the_runs_of_an_experiment() {
    let s = study(&json!({
        "kind": "study", "name": "rows", "surface": "himmelblau", "steps": 80,
        "starts": [[0.5, 0.5], [-4.0, 4.5], [2.0, -3.0], [-0.3, -0.2]], "seeds": [0, 7],
        "gradient_noise": {"sigma": 0.5}, "threshold": 0.01,
        "optimizers": [{"optimizer": "adam", "learning_rate": [0.05, 0.2]},
                       {"optimizer": "rmsprop", "learning_rate": 0.02, "momentum": [0.0, 0.5]},
                       {"optimizer": "lookahead", "fast": {"optimizer": "adam", "learning_rate": [0.1, 0.3]}, "sync_period": 4}]}));
    assert_rows_are_experiment_runs(&s, json!("himmelblau"), 0.5);
}

/// Lists inside a wrapped optimizer sweep too, named by their path; the learning rate found
/// there is the one the figures plot and the tuned label shows.
#[test]
fn sweeps_reach_inside_wrapped_optimizers() {
    let s = study(&json!({
        "kind": "study", "name": "nested", "surface": "himmelblau", "steps": 5, "starts": [[1, 1]],
        "optimizers": [{"optimizer": "lookahead", "sync_period": [4, 8],
                        "fast": {"optimizer": "sgd", "learning_rate": {"logspace": [0.001, 0.1, 3]}, "momentum": [0.0, 0.9]}},
                       {"optimizer": "sam", "outer": {"optimizer": "adam", "learning_rate": 0.1}, "rho": [0.01, 0.1]}]}));
    assert_eq!(s.configs.len(), 2 * 3 * 2 + 2);
    // The last list varies fastest: sync_period, then fast.learning_rate, then fast.momentum.
    let c = &s.configs[3];
    assert_eq!(
        swept(c),
        json!({"sync_period": 4, "fast.learning_rate": 0.01, "fast.momentum": 0.9})
    );
    assert_eq!(c.optimizer.hyperparameters()["fast"]["learning_rate"], 0.01);
    assert_eq!(c.optimizer.hyperparameters()["fast"]["momentum"], 0.9);
    assert_eq!(
        c.optimizer.hyperparameters()["fast"]["nesterov"],
        false,
        "defaults filled in below the wrapper"
    );
    assert_eq!(c.swept_rate(), Some(0.01));
    let sam = &s.configs[13];
    assert_eq!(swept(sam), json!({"rho": 0.1}));
    assert_eq!(sam.optimizer.hyperparameters()["outer"]["learning_rate"], 0.1);
    assert_eq!(sam.swept_rate(), None);
    let polyak = study(&json!({
        "kind": "study", "name": "cap", "surface": "himmelblau", "steps": 5, "starts": [[1, 1]],
        "optimizers": [{"optimizer": "polyak_sgd", "max_learning_rate": [0.5, 2.0]}]}));
    assert_eq!(
        polyak.configs[1].swept_rate(),
        Some(2.0),
        "Polyak SGD's cap is its learning rate"
    );
    // A bad value below the wrapper names its path and the configuration.
    let bad = json!({"kind": "study", "name": "nested", "surface": "himmelblau", "steps": 5, "starts": [[1, 1]],
        "optimizers": [{"optimizer": "lookahead", "fast": {"optimizer": "sgd", "learning_rate": {"logspace": [0.0, 0.1, 3]}}}]});
    let err = Study::parse(
        &bad.to_string(),
        Path::new("study.json"),
        &Registry::builtin(),
        &optsurf::backend::Backend::default().device().unwrap(),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("field `optimizers[0].fast.learning_rate`: logspace needs bounds > 0"),
        "{err}"
    );
}

/// On a data surface, `batch_size` sweeps like a hyperparameter and seeds reorder the
/// minibatches, as in experiments.
#[test]
fn study_rows_on_data_are_minibatch_runs() {
    let surface = json!({"model": "linear_regression", "data": {"csv": "data/iris.csv", "x": "petal_length", "y": "petal_width"}});
    let s = study(&json!({
        "kind": "study", "name": "iris", "surface": surface, "steps": 60,
        "starts": [[-1.5, 2.0], [1.0, -1.0]], "seeds": [0, 5], "threshold": 0.01,
        "optimizers": [{"optimizer": "sgd", "learning_rate": 0.1, "batch_size": [8, 150]},
                       {"optimizer": "adam", "learning_rate": 0.05, "batch_size": 16}]}));
    assert_eq!(
        s.configs.iter().map(|c| c.batch_size).collect::<Vec<_>>(),
        [Some(8), Some(150), Some(16)]
    );
    assert_eq!(swept(&s.configs[0])["batch_size"], json!(8));
    assert!(!s.configs[0].optimizer.hyperparameters().contains_key("batch_size"));
    assert_rows_are_experiment_runs(&s, surface, 0.0);
    // Seeds matter with minibatches of 8, not with the full batch of 150.
    let o = outcomes(&s);
    assert_ne!(o[0].final_point, o[1].final_point);
    assert_eq!(o[4].final_point, o[5].final_point);
    let e = serde_json::to_value(s.tuned_experiment(&o)).unwrap();
    assert!(e["runs"][0]["batch_size"].as_u64().is_some());
}

const SMALL: &str = r#"{"kind": "study", "name": "small", "surface": "himmelblau", "steps": 40,
  "starts": {"grid": [7, 5]}, "seeds": [0, 3], "gradient_noise": {"sigma": 0.1},
  "optimizers": [{"optimizer": "sgd", "learning_rate": {"logspace": [0.001, 0.05, 3]}, "momentum": [0.0, 0.8]},
                 {"optimizer": "adam", "learning_rate": [0.1, 2.0]}],
  "threshold": 0.01, "tune": {"objective": "success_rate", "start": [0.0, 0.0]}}"#;

/// The files of a study run, by relative path, except the figures when `figures` is false.
fn files(dir: &Path, figures: bool) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if figures || !matches!(path.extension().and_then(|e| e.to_str()), Some("png" | "gif")) {
                let rel = path.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.push((rel, std::fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// Basins found from the runs are found from `runs.csv`'s rows: a sharded study merges into the
/// same files, and `diff` finds no drift against them.
#[test]
fn found_basins_shard_merge_and_diff_like_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = SMALL
        .replace(
            "\"surface\": \"himmelblau\"",
            "\"surface\": {\"expr\": \"(x^2 + y - 11)^2 + (x + y^2 - 7)^2\", \"domain\": [[-5, 5], [-5, 5]]}",
        )
        .replace("\"steps\": 40", "\"steps\": 150");
    write(d, "exps/small.json", &text);
    let whole = optsurf(d, &["run", "exps/small.json", "--out", "whole", "--no-plots"]);
    assert!(whole.status.success(), "{}", stderr(&whole));
    let summary = read_json(&d.join("whole/small/study.json"));
    assert!(!summary["basins"]["minima"].as_array().unwrap().is_empty(), "{summary}");
    for i in 0..2 {
        let o = optsurf(
            d,
            &[
                "run",
                "exps/small.json",
                "--out",
                &format!("s{i}"),
                "--shard",
                &format!("{i}/2"),
                "--no-plots",
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let o = optsurf(d, &["merge", "s0/small", "s1/small", "--out", "merged", "--no-plots"]);
    assert!(o.status.success(), "{}", stderr(&o));
    for f in ["runs.csv", "study.json"] {
        assert_eq!(
            std::fs::read(d.join("merged").join(f)).unwrap(),
            std::fs::read(d.join("whole/small").join(f)).unwrap(),
            "{f}"
        );
    }
    let o = optsurf(d, &["diff", "exps", "--baseline", "whole"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("2 ok, 0 drift"), "{}", stdout(&o));
}

#[test]
fn shards_merge_into_the_unsharded_files_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "small.json", SMALL);
    let whole = optsurf(d, &["run", "small.json", "--out", "whole"]);
    assert!(whole.status.success(), "{}", stderr(&whole));
    let expected = files(&d.join("whole/small"), true);
    let names: Vec<&str> = expected.iter().map(|(n, _)| n.as_str()).collect();
    for f in [
        "runs.csv",
        "study.json",
        "basins.png",
        "sensitivity.png",
        "heatmap.png",
        "tuned/experiment.json",
        "tuned/trajectories.json",
    ] {
        assert!(names.contains(&f), "{f} missing from {names:?}");
    }
    // 8 configurations x 35 starts x 2 seeds = 560 rows over 3 uneven shards; 5 shards of a
    // 3-row study leave some empty.
    for n in [3usize, 7] {
        let mut dirs = Vec::new();
        for i in 0..n {
            let out = format!("s{n}-{i}");
            let o = optsurf(d, &["run", "small.json", "--out", &out, "--shard", &format!("{i}/{n}")]);
            assert!(o.status.success(), "{}", stderr(&o));
            assert!(d.join(&out).join("small/shard.json").exists());
            dirs.push(format!("{out}/small"));
        }
        // Any order of the folders.
        dirs.reverse();
        let merged = format!("merged{n}");
        let mut args = vec!["merge"];
        args.extend(dirs.iter().map(String::as_str));
        args.extend(["--out", &merged]);
        let o = optsurf(d, &args);
        assert!(o.status.success(), "{}", stderr(&o));
        let got = files(&d.join(&merged), true);
        assert_eq!(
            got.len(),
            expected.len(),
            "{:?}",
            got.iter().map(|g| &g.0).collect::<Vec<_>>()
        );
        for ((name, a), (_, b)) in got.iter().zip(&expected) {
            assert!(a == b, "{name} differs after merging {n} shards");
        }
    }
    // The same study run twice gives the same bytes.
    let again = optsurf(d, &["run", "small.json", "--out", "again", "--no-plots"]);
    assert!(again.status.success());
    assert_eq!(
        files(&d.join("again/small"), false),
        files(&d.join("whole/small"), false)
    );
}

#[test]
fn tiny_studies_shard_into_empty_slices() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "tiny.json",
        r#"{"kind": "study", "name": "tiny", "surface": "f2", "steps": 10, "starts": [[1, 1], [-2, 3], [4, -1]],
            "optimizers": [{"optimizer": "adam", "learning_rate": 0.5}]}"#,
    );
    let whole = optsurf(d, &["run", "tiny.json", "--out", "whole", "--no-plots"]);
    assert!(whole.status.success(), "{}", stderr(&whole));
    let mut args = vec!["merge".to_string()];
    for i in 0..5 {
        let o = optsurf(
            d,
            &[
                "run",
                "tiny.json",
                "--out",
                &format!("s{i}"),
                "--shard",
                &format!("{i}/5"),
                "--no-plots",
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        args.push(format!("s{i}/tiny"));
    }
    args.extend(["--out".into(), "merged".into(), "--no-plots".into()]);
    let o = optsurf(d, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(files(&d.join("merged"), false), files(&d.join("whole/tiny"), false));
}

fn small_with(from: &str, to: &str) -> String {
    assert!(SMALL.contains(from), "{from}");
    SMALL.replacen(from, to, 1)
}

#[test]
fn bad_study_files_name_the_file_and_field() {
    rejects(
        &small_with("[0.0, 0.8]", "[]"),
        "optimizers[0].momentum",
        "non-empty list",
    );
    rejects(
        &small_with("[0.1, 2.0]", "[]"),
        "optimizers[1].learning_rate",
        "non-empty list",
    );
    rejects(
        &small_with("[0.001, 0.05, 3]", "[0, 0.05, 3]"),
        "optimizers[0].learning_rate",
        "bounds > 0",
    );
    rejects(
        &small_with("[0.001, 0.05, 3]", "[0.001, -1, 3]"),
        "optimizers[0].learning_rate",
        "bounds > 0",
    );
    rejects(
        &small_with("[0.001, 0.05, 3]", "[0.001, 0.05, 0]"),
        "optimizers[0].learning_rate",
        "count from 1",
    );
    rejects(
        &small_with("[0.001, 0.05, 3]", "[0.001, 0.05, 2.5]"),
        "optimizers[0].learning_rate",
        "count from 1",
    );
    rejects(
        &small_with("[0.001, 0.05, 3]", "[0.001, 0.05]"),
        "optimizers[0].learning_rate",
        "[start, stop, count]",
    );
    rejects(
        &small_with("[0.1, 2.0]", "{\"linspace\": [1, 2, -3]}"),
        "optimizers[1].learning_rate",
        "count from 1",
    );
    rejects(&small_with("[7, 5]", "[0, 5]"), "starts.grid", "whole numbers >= 1");
    rejects(&small_with("[7, 5]", "[7]"), "starts.grid", "[nx, ny]");
    rejects(
        &small_with("{\"grid\": [7, 5]}", "[]"),
        "starts",
        "non-empty list of points",
    );
    rejects(
        &small_with("{\"grid\": [7, 5]}", "{\"random\": 0}"),
        "starts.random",
        ">= 1",
    );
    rejects(
        &small_with("\"success_rate\"", "\"fastest\""),
        "tune.objective",
        "expected one of: median_final_loss",
    );
    rejects(
        &small_with("\"start\": [0.0, 0.0]", "\"start\": [0.0]"),
        "tune.start",
        "[x, y]",
    );
    rejects(&small_with("[0, 3]", "[]"), "seeds", "non-empty list");
    rejects(&small_with("[0, 3]", "[0, -3]"), "seeds[1]", ">= 0");
    rejects(
        &small_with("\"sgd\"", "\"sgdd\""),
        "optimizers[0].optimizer",
        "expected one of",
    );
    rejects(
        &small_with("\"momentum\"", "\"momentun\""),
        "optimizers[0].momentun",
        "not a hyperparameter of sgd",
    );
    rejects(
        &small_with("[0.0, 0.8]", "[0.0, 1.5]"),
        "optimizers[0].momentum",
        "momentum=1.5",
    );
    rejects(
        &small_with("{\"optimizer\": \"adam\"", "{\"label\": 3, \"optimizer\": \"adam\""),
        "optimizers[1].label",
        "non-empty string",
    );
    rejects(
        &small_with("\"optimizer\": \"adam\"", "\"optimizer\": \"adam\", \"batch_size\": 8"),
        "optimizers[1].batch_size",
        "needs a data surface",
    );
    rejects(&small_with("\"steps\": 40", "\"steps\": 0"), "steps", "from 1");
    rejects(
        &small_with("\"threshold\": 0.01", "\"threshold\": -1"),
        "threshold",
        ">= 0",
    );
    rejects(
        &small_with("\"threshold\"", "\"treshold\""),
        "treshold",
        "unknown field",
    );
    rejects(
        &small_with("\"himmelblau\"", "\"himmelblou\""),
        "surface",
        "expected one of",
    );
    rejects(
        r#"{"kind": "study", "name": "e", "surface": "f0", "steps": 5, "starts": [[1, 1]], "optimizers": []}"#,
        "optimizers",
        "non-empty list of optimizer entries",
    );
    rejects(
        r#"{"kind": "study", "name": "e", "surface": "f0", "steps": 5, "optimizers": [{"optimizer": "sgd"}]}"#,
        "starts",
        "missing",
    );
}

#[test]
fn bad_shards_and_merges_say_which() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "small.json", SMALL);
    write(d, "other.json", &SMALL.replace("\"steps\": 40", "\"steps\": 30"));
    for shard in ["3/3", "1/0", "-1/2", "2", "a/b"] {
        let o = optsurf(d, &["run", "small.json", &format!("--shard={shard}"), "--out", "o"]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{shard}: {err}");
        assert!(err.contains("--shard") && err.contains("0 <= I < N"), "{shard}: {err}");
        assert!(!d.join("o").exists());
    }
    for (file, i, n) in [
        ("small.json", 0, 3),
        ("small.json", 2, 3),
        ("other.json", 1, 3),
        ("small.json", 1, 2),
    ] {
        let out = format!("{}-{i}-{n}", &file[..5]);
        let o = optsurf(
            d,
            &["run", file, "--out", &out, "--shard", &format!("{i}/{n}"), "--no-plots"],
        );
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let merge = |dirs: &[&str]| {
        let mut args = vec!["merge"];
        args.extend(dirs);
        args.extend(["--out", "m", "--no-plots"]);
        let o = optsurf(d, &args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(!d.join("m").exists());
        err
    };
    let err = merge(&["small-0-3/small", "small-2-3/small"]);
    assert!(err.contains("shard 1/3 missing"), "{err}");
    let err = merge(&["small-0-3/small", "other-1-3/small", "small-2-3/small"]);
    assert!(err.contains("other-1-3") && err.contains("another study"), "{err}");
    let err = merge(&["small-0-3/small", "small-1-2/small", "small-2-3/small"]);
    assert!(err.contains("small-1-2") && err.contains("shard 1 of 2"), "{err}");
    let err = merge(&["small-0-3/small", "small-0-3/small", "small-2-3/small"]);
    assert!(err.contains("given twice"), "{err}");
    let err = merge(&["small-0-3/small", "nowhere"]);
    assert!(err.contains("nowhere") && err.contains("shard.json"), "{err}");
    // A damaged runs.csv is named with its line.
    let csv = d.join("small-2-3/small/runs.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.remove(3);
    std::fs::write(&csv, lines.join("\n") + "\n").unwrap();
    let o = optsurf(
        d,
        &["run", "small.json", "--out", "fill", "--shard", "1/3", "--no-plots"],
    );
    assert!(o.status.success());
    let err = merge(&["small-0-3/small", "fill/small", "small-2-3/small"]);
    assert!(err.contains("runs.csv"), "{err}");
}

#[test]
fn studies_report_divergence_per_run_and_go_on() {
    let s = study(&json!({
        "kind": "study", "name": "div", "surface": "rosenbrock", "steps": 50,
        "starts": [[-1.5, 2.0], [0.5, 0.5], [1.2, 1.2]],
        "optimizers": [{"optimizer": "sgd", "learning_rate": [0.0005, 0.5]}]}));
    let o = outcomes(&s);
    let summaries = s.summaries(&o);
    assert_eq!(summaries[0].divergence_rate, 0.0);
    assert_eq!(summaries[1].divergence_rate, 1.0);
    for r in &o[3..] {
        assert!(r.diverged_at.is_some_and(|k| k <= 50), "{r:?}");
        assert_eq!(r.basin, -2);
    }
    let json = serde_json::to_value(optsurf::results::StudySummary::new(&s, &o)).unwrap();
    assert_eq!(json["configurations"][1]["final_loss"]["median"], Value::Null);
    assert_eq!(json["best"]["sgd"]["config"], json!(0));
    // runs.csv leaves a diverged run's end empty.
    let dir = tempfile::tempdir().unwrap();
    s.write_runs(&dir.path().join("runs.csv"), 0, &o).unwrap();
    let text = std::fs::read_to_string(dir.path().join("runs.csv")).unwrap();
    let line = text.lines().nth(4).unwrap();
    assert!(line.starts_with("1,sgd,-1.5,2.0,0,,,,"), "{line}");
    assert!(line.ends_with(",-2"), "{line}");
}

#[test]
fn missing_gpu_backends_exit_3_and_say_how_to_build_them() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "small.json", SMALL);
    for (backend, built) in [("wgpu", cfg!(feature = "wgpu")), ("cuda", cfg!(feature = "cuda"))] {
        if built {
            continue;
        }
        let o = optsurf(dir.path(), &["--backend", backend, "run", "small.json", "--out", "o"]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(3), "{err}");
        assert!(err.contains(&format!("--features {backend}")), "{err}");
    }
}

#[test]
fn both_cpu_backends_are_always_built() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "small.json", SMALL);
    for backend in ["flex", "ndarray"] {
        let o = optsurf(
            dir.path(),
            &[
                "--backend",
                backend,
                "run",
                "small.json",
                "--out",
                backend,
                "--no-plots",
            ],
        );
        assert!(o.status.success(), "--backend {backend}: {}", stderr(&o));
    }
}

#[test]
fn diff_covers_studies() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "experiments/s/small.json", SMALL);
    let o = optsurf(d, &["run", "experiments", "--no-plots"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(d.join("results/s/small/runs.csv").exists());
    let o = optsurf(d, &["diff", "experiments"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stdout));
    // Move one run's outcome in the baseline: the diff names the file, the row and the column.
    let csv = d.join("results/s/small/runs.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    let line = text.lines().nth(17).unwrap().to_string();
    let mut cells: Vec<String> = line.split(',').map(String::from).collect();
    cells[7] = "123.5".into();
    std::fs::write(&csv, text.replacen(&line, &cells.join(","), 1)).unwrap();
    let o = optsurf(d, &["diff", "experiments"]);
    let report = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status.code(), Some(1), "{report}");
    assert!(report.contains("runs.csv") && report.contains("final_loss"), "{report}");
    let study = read_json(&d.join("results/s/small/study.json"));
    assert_eq!(study["runs"], json!(560));
}

/// A PNG's width, height and RGB bytes.
fn decode_rgb(bytes: &[u8]) -> (usize, usize, Vec<u8>) {
    let mut r = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().unwrap();
    let mut buf = vec![0; r.output_buffer_size().unwrap()];
    let info = r.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    (info.width as usize, info.height as usize, buf)
}

/// Rates every decade against every third of a decade.
const GRIDS: &str = r#"{"kind": "study", "name": "grids", "surface": "f0", "steps": 20,
  "starts": [[3, 3], [-4, 2]],
  "optimizers": [{"label": "SGD", "optimizer": "sgd", "learning_rate": {"logspace": [0.0001, 1.0, 5]}},
                 {"label": "Adam", "optimizer": "adam", "learning_rate": {"logspace": [0.0001, 1.0, 13]}}]}"#;

/// Runs study `text` with its figures into a temporary folder; returns the folder and the study's
/// results folder in it.
fn figures_of(text: &str, name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "study.json", text);
    let o = optsurf(tmp.path(), &["run", "study.json", "--out", "o"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = tmp.path().join("o").join(name);
    (tmp, out)
}

#[test]
fn heatmap_rows_of_different_grids_have_no_gaps_and_readable_text() {
    // One shared axis, no empty columns.
    let (_tmp, out) = figures_of(GRIDS, "grids");
    let (w, h, rgb) = decode_rgb(&std::fs::read(out.join("heatmap.png")).unwrap());
    let px = |x: usize, y: usize| [rgb[(y * w + x) * 3], rgb[(y * w + x) * 3 + 1], rgb[(y * w + x) * 3 + 2]];
    // The cool colormap is (t, 1 - t, 1): far from grey. The colour bar is right of x = 0.85 w.
    let colourful = |p: [u8; 3]| p.iter().max().unwrap() - p.iter().min().unwrap() > 100;
    // Each row of cells: the pixel rows where the cells span the same columns.
    let mut bands: Vec<(usize, usize, usize, usize)> = Vec::new();
    for y in 0..h {
        let cells: Vec<usize> = (0..w * 85 / 100).filter(|&x| colourful(px(x, y))).collect();
        let (Some(&x0), Some(&x1)) = (cells.first(), cells.last()) else {
            continue;
        };
        match bands.last_mut() {
            Some(b) if b.3 + 1 == y && b.0.abs_diff(x0) <= 1 && b.1.abs_diff(x1) <= 1 => b.3 = y,
            _ => bands.push((x0, x1, y, y)),
        }
    }
    bands.retain(|b| b.3 - b.2 >= 10 && b.1 - b.0 > 100);
    assert_eq!(bands.len(), 2, "two rows of cells: {bands:?}");
    let first_x = bands.iter().map(|b| b.0).min().unwrap();
    for (x0, x1, y0, y1) in bands {
        // Across the middle of the row (clear of the best cell's white frame).
        let y = (y0 + y1) / 2;
        let (mut run, mut longest) = (0, 0);
        for x in x0..=x1 {
            run = if px(x, y) == [255, 255, 255] { run + 1 } else { 0 };
            longest = longest.max(run);
        }
        assert!(longest <= 5, "row {y}: a white gap of {longest} pixels between cells");
    }
    // Row names at matplotlib's 10 points at 100 dpi: capitals about 10 pixels high.
    let dark = |y: usize| (40..first_x.saturating_sub(4)).any(|x| px(x, y).iter().all(|&c| c < 150));
    let (mut run, mut tallest) = (0, 0);
    for y in 0..h {
        run = if dark(y) { run + 1 } else { 0 };
        tallest = tallest.max(run);
    }
    assert!((9..=20).contains(&tallest), "row names {tallest} pixels high");
}

#[test]
fn study_figures_take_labels_of_any_length() {
    let long: String = "Lookahead (Adam) with a long description "
        .chars()
        .cycle()
        .take(300)
        .collect();
    let study = json!({"kind": "study", "name": "long", "title": long.clone(), "surface": "himmelblau", "steps": 10,
        "starts": {"grid": [4, 4]},
        "optimizers": [{"label": long.clone(), "optimizer": "sgd", "learning_rate": {"logspace": [0.001, 0.1, 3]}},
                       {"label": format!("{long} 2"), "optimizer": "adam", "learning_rate": {"logspace": [0.01, 1.0, 4]}},
                       {"label": "x", "optimizer": "adam", "learning_rate": [0.1, 0.2], "beta_1": [0.8, 0.9]}]});
    let (_tmp, out) = figures_of(&study.to_string(), "long");
    for f in ["heatmap.png", "basins.png", "sensitivity.png"] {
        let (w, h, _) = decode_rgb(&std::fs::read(out.join(f)).unwrap());
        assert!(w >= 300 && h >= 100, "{f}: {w}x{h}");
    }
}

/// A configuration's swept values as `study.json` records them.
fn swept(c: &optsurf::experiment::study::Configuration) -> Value {
    serde_json::to_value(&c.swept).unwrap()
}
