//! The committed baselines under `results/blog` are the post's runs: every Keras case of
//! `tests/fixtures/keras-blog-trajectories.json` is found among them and agrees with Keras to
//! |ours - keras| <= 1e-4 (1 + |keras|) up to the case's `stable_until`.

use optsurf::results::{RunTrajectory, Trajectories};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

fn baselines() -> Vec<Trajectories> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("results/blog").expect("results/blog is committed") {
        let file = entry.unwrap().path().join("trajectories.json");
        if file.is_file() {
            out.push(Trajectories::load(&file).unwrap());
        }
    }
    out
}

/// The baseline runs that are this Keras case: same surface, optimizer, start and kwargs.
fn matches<'a>(case: &Value, all: &'a [Trajectories]) -> Vec<(&'a str, &'a RunTrajectory)> {
    let start = [
        case["p0"][0].as_f64().unwrap() as f32,
        case["p0"][1].as_f64().unwrap() as f32,
    ];
    // The case's kwargs with Keras's defaults filled in, as a baseline run records them.
    let entry = *optsurf::Registry::builtin()
        .optimizer(case["optimizer"].as_str().unwrap())
        .unwrap();
    let full = entry.parse(case["kwargs"].as_object().unwrap().clone()).unwrap();
    let mut found = Vec::new();
    for t in all
        .iter()
        .filter(|t| serde_json::to_value(&t.surface).unwrap() == case["surface"])
    {
        for run in &t.runs {
            let same_kwargs = run.hyperparameters == full.hyperparameters();
            if run.optimizer == case["optimizer"] && same_kwargs && run.points.first() == Some(&start) {
                found.push((t.name.as_str(), run));
            }
        }
    }
    found
}

#[test]
fn every_keras_case_is_a_baseline_run_and_agrees() {
    let text = std::fs::read_to_string("tests/fixtures/keras-blog-trajectories.json").unwrap();
    let text = text
        .replace("-Infinity", "null")
        .replace("Infinity", "null")
        .replace("NaN", "null");
    let cases: BTreeMap<String, Value> = serde_json::from_str(&text).unwrap();
    let all = baselines();
    assert!(all.len() >= 30, "only {} baselines under results/blog", all.len());
    let mut failures = Vec::new();
    for (name, case) in &cases {
        let found = matches(case, &all);
        if found.is_empty() {
            failures.push(format!("{name}: no run in results/blog is this case"));
            continue;
        }
        let stable = case["stable_until"].as_u64().unwrap() as usize;
        for (experiment, run) in found {
            for (t, (ours, keras)) in run
                .points
                .iter()
                .zip(case["points"].as_array().unwrap())
                .enumerate()
                .take(stable + 1)
            {
                let bad = (0..2).find(|&i| {
                    keras[i]
                        .as_f64()
                        .is_some_and(|k| ((ours[i] as f64) - k).abs() > 1e-4 * (1.0 + k.abs()))
                });
                if let Some(i) = bad {
                    failures.push(format!(
                        "{name} in {experiment} ({:?}): step {t} axis {i}: {} vs keras {}",
                        run.label, ours[i], keras[i]
                    ));
                    break;
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_blog_experiment_has_a_committed_baseline() {
    for entry in std::fs::read_dir("experiments/blog").unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let job = optsurf::experiment::Job::load(
                &path,
                &optsurf::Registry::builtin(),
                &optsurf::backend::Backend::default().device().unwrap(),
            )
            .unwrap();
            let dir = job.output_dir(Path::new("results"));
            let file = if matches!(job, optsurf::experiment::Job::Vectors(_)) {
                "vectors.json"
            } else {
                "trajectories.json"
            };
            assert!(
                dir.file(file).is_file(),
                "{} has no baseline at {}",
                path.display(),
                dir.path().display()
            );
        }
    }
}
