//! Models against Keras: every optimizer of the post (and optax's LARS) training an MLP from
//! the same initial weights, full batch, as Keras 3 does in TensorFlow's graph mode
//! (`tests/fixtures/keras-mlp.json`, from `scripts/make_reference.py --set mlp`; its `_meta`
//! says how each case was computed).
//!
//! Each case goes through the whole file path a user takes: the table written as a CSV, the
//! initial weights as a Keras-layout `init.json`, an experiment naming both. The loss of every
//! step and the final weights must agree to `|ours - keras| <= 1e-4 (1 + |keras|)` up to the
//! case's `stable_until`.

use optsurf::experiment::Experiment;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;

mod common;
use common::tempfile;

const TOLERANCE: f64 = 1e-4;

fn cases() -> BTreeMap<String, Value> {
    let text = std::fs::read_to_string("tests/fixtures/keras-mlp.json").unwrap();
    let all: BTreeMap<String, Value> = serde_json::from_str(&text).unwrap();
    all.into_iter().filter(|(k, _)| !k.starts_with('_')).collect()
}

/// The table of `case` as a CSV.
fn csv(case: &Value) -> String {
    let data = &case["data"];
    let columns: Vec<&str> = data["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let mut out = columns.join(",") + "\n";
    for row in data["rows"].as_array().unwrap() {
        let cells: Vec<String> = row.as_array().unwrap().iter().map(|v| v.to_string()).collect();
        out += &(cells.join(",") + "\n");
    }
    out
}

/// Keras's layout flattened in `trainable_variables` order: each layer's kernel row-major,
/// then its bias.
fn flatten(weights: &Value) -> Vec<f64> {
    let mut out = Vec::new();
    for layer in weights["layers"].as_array().unwrap() {
        for row in layer["kernel"].as_array().unwrap() {
            out.extend(row.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()));
        }
        out.extend(layer["bias"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()));
    }
    out
}

fn close(ours: f64, keras: f64) -> bool {
    (ours - keras).abs() <= TOLERANCE * (1.0 + keras.abs())
}

/// Runs one case through an experiment file and returns what disagrees with Keras.
fn check(name: &str, case: &Value, dir: &Path) -> Vec<String> {
    let dir = dir.join(name);
    common::write(&dir, "data.csv", &csv(case));
    common::write(&dir, "init.json", &case["init"].to_string());
    let model = &case["model"];
    let steps = case["steps"].as_u64().unwrap() as usize;
    let experiment = json!({
        "name": name,
        "surface": {
            "model": model["model"], "layers": model["layers"], "activation": model["activation"],
            "loss": model["loss"], "skip": model["skip"],
            "data": {"csv": "data.csv", "x": case["data"]["x"], "y": case["data"]["y"]},
            "standardize": case["standardize"], "test_fraction": 0, "record_every": steps,
        },
        "start": {"file": "init.json"},
        "steps": steps,
        "runs": [case["optimizer"]],
    });
    let path = common::write(&dir, "experiment.json", &experiment.to_string());
    let device = common::reference_device();
    let e = Experiment::load(&path, &optsurf::Registry::builtin(), &device).unwrap_or_else(|e| panic!("{name}: {e}"));
    let traj = e.run(&device);
    let run = &traj.runs[0];
    let stable = case["stable_until"].as_u64().unwrap() as usize;
    let keras: Vec<f64> = case["loss"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let mut failures = Vec::new();
    if run.diverged_at.is_some() || run.loss.len() != keras.len() {
        return vec![format!(
            "{name}: {} losses (diverged at {:?}), Keras has {}",
            run.loss.len(),
            run.diverged_at,
            keras.len()
        )];
    }
    let worst = (0..=stable)
        .map(|t| (run.loss[t] as f64 - keras[t]).abs() / (1.0 + keras[t].abs()))
        .fold(0.0, f64::max);
    eprintln!("  {name:<28} max relative loss error {worst:.2e} (to step {stable})");
    if let Some(t) = (0..=stable).find(|&t| !close(run.loss[t] as f64, keras[t])) {
        failures.push(format!(
            "{name}: loss at step {t} is {}, Keras's {}",
            run.loss[t], keras[t]
        ));
    }
    if stable == steps {
        let theirs = flatten(&case["final"]);
        let snapshots = run.snapshots.as_ref().expect("a model run keeps its snapshots");
        let ours = &snapshots[snapshots.len() - theirs.len()..];
        if let Some(i) = (0..theirs.len()).find(|&i| !close(ours[i] as f64, theirs[i])) {
            failures.push(format!(
                "{name}: final weight {i} is {}, Keras's {}",
                ours[i], theirs[i]
            ));
        }
    }
    failures
}

#[test]
fn every_optimizer_trains_an_mlp_as_keras_does() {
    let dir = tempfile::tempdir().unwrap();
    let cases = cases();
    assert!(cases.len() >= 39, "the fixture has {} cases", cases.len());
    let optimizers: std::collections::BTreeSet<&str> = cases
        .values()
        .map(|c| c["optimizer"]["optimizer"].as_str().unwrap())
        .collect();
    for o in [
        "sgd", "rmsprop", "adagrad", "adadelta", "adam", "adamw", "adamax", "nadam", "lion", "lamb", "ftrl", "lars",
    ] {
        assert!(optimizers.contains(o), "no case trains with {o}");
    }
    let failures: Vec<String> = cases
        .iter()
        .flat_map(|(name, case)| check(name, case, dir.path()))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases disagree with Keras:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
