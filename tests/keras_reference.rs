//! Trajectories against TensorFlow/Keras: the post's 145 runs recomputed with Keras
//! (`tests/fixtures/keras-blog-trajectories.json`, from `../shared/reference/`) and our own
//! extra Keras/optax cases (`tests/fixtures/keras-extra.json`, from `scripts/make_reference.py`).
//!
//! Every point must agree to |ours - keras| <= 1e-4 (1 + |keras|) up to the case's
//! `stable_until`: past it, Keras itself moves by more than that when the start moves by one
//! float32 ulp (chaotic LAMB runs), so no implementation can be held to it.
//!
//! The optimizers alone are held to more: stepped from each recorded point with the recorded
//! gradient, every step must land on the next recorded point bit for bit (see
//! [`optimizers_replay_the_reference_steps_bit_for_bit`]), so a trajectory drifting from Keras
//! points at the surface's gradient, not at the update rule.

use burn::tensor::{Tensor, TensorData};
use optsurf::experiment::Experiment;

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;

mod common;

const TOLERANCE: f64 = 1e-4;

fn load(path: &str) -> BTreeMap<String, Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    // Python writes overflowed values as -Infinity / NaN, which JSON lacks: read them as null.
    let text = text
        .replace("-Infinity", "null")
        .replace("Infinity", "null")
        .replace("NaN", "null");
    let all: BTreeMap<String, Value> = serde_json::from_str(&text).unwrap();
    all.into_iter().filter(|(k, _)| !k.starts_with('_')).collect()
}

/// Runs every case as one experiment per surface, all its cases batched together, and returns
/// the failures. Prints the largest relative error `|ours - keras| / (1 + |keras|)` seen per
/// optimizer (over every step up to `stable_until`).
fn check(cases: &BTreeMap<String, Value>) -> Vec<String> {
    let device = common::reference_device();
    let mut by_surface: BTreeMap<String, Vec<(&String, &Value)>> = BTreeMap::new();
    for (name, case) in cases {
        by_surface
            .entry(case["surface"].as_str().unwrap().to_string())
            .or_default()
            .push((name, case));
    }
    let mut failures = Vec::new();
    let mut worst: BTreeMap<String, (f64, String)> = BTreeMap::new();
    for (surface, cases) in by_surface {
        let steps = cases[0].1["steps"].as_u64().unwrap();
        let runs: Vec<Value> = cases
            .iter()
            .map(|(name, case)| {
                let mut run = case["kwargs"].as_object().unwrap().clone();
                run.insert("label".into(), json!(name));
                run.insert("optimizer".into(), case["optimizer"].clone());
                run.insert("start".into(), case["p0"].clone());
                Value::Object(run)
            })
            .collect();
        // The fixtures are trajectories over the smooth surfaces: no noise.
        let experiment = json!({"name": "reference", "surface": surface, "noise": {"lookup": "off"},
                                "start": [0, 0], "steps": steps, "runs": runs});
        let experiment = Experiment::parse(
            &experiment.to_string(),
            Path::new("reference"),
            &optsurf::Registry::builtin(),
            &common::reference_device(),
        )
        .unwrap();
        let result = experiment.run(&device);
        for ((name, case), run) in cases.iter().zip(&result.runs) {
            // A scheduled run records the rate of every step: Keras's, bit for bit.
            if let Some(rates) = case.get("learning_rates").and_then(Value::as_array) {
                let keras: Vec<f32> = rates.iter().map(|r| r.as_f64().unwrap() as f32).collect();
                let ours = run.learning_rates.clone().unwrap_or_default();
                let n = ours.len().min(keras.len());
                if ours[..n] != keras[..n] || n == 0 {
                    let k = (0..n).find(|&k| ours[k] != keras[k]).unwrap_or(0);
                    failures.push(format!(
                        "{name}: learning rate of step {} is {:?}, Keras's {:?}",
                        k + 1,
                        ours.get(k),
                        keras.get(k)
                    ));
                }
            }
            let stable = case["stable_until"].as_u64().unwrap() as usize;
            let expected = case["points"].as_array().unwrap();
            // Keras keeps stepping past an overflow of the point or of its loss; we stop the run
            // at the first one and mark it diverged.
            let finite_point = expected.iter().take_while(|p| p[0].is_f64() && p[1].is_f64()).count();
            let finite_loss = case["smooth_loss"]
                .as_array()
                .unwrap()
                .iter()
                .take_while(|l| l.is_f64())
                .count();
            let finite = finite_point.min(finite_loss);
            if finite < expected.len() - 1 {
                // Past `stable_until` Keras's own overflow step moves with a one-ulp change of
                // the start, so we only ask that ours does not come earlier than that horizon.
                let agrees = if finite <= stable {
                    run.diverged_at == Some(finite)
                } else {
                    run.diverged_at.is_none_or(|d| d > stable)
                };
                if !agrees {
                    failures.push(format!(
                        "{name}: Keras overflows at step {finite}, ours diverged at {:?}",
                        run.diverged_at
                    ));
                }
            } else if run.points.len() != expected.len() {
                failures.push(format!(
                    "{name}: {} points, Keras has {}",
                    run.points.len(),
                    expected.len()
                ));
                continue;
            }
            for (t, (ours, keras)) in run.points.iter().zip(expected).enumerate().take(stable + 1) {
                for (axis, &v) in ours.iter().enumerate() {
                    let k = keras[axis].as_f64().unwrap();
                    let err = (v as f64 - k).abs();
                    let optimizer = case["optimizer"].as_str().unwrap().to_string();
                    let entry = worst.entry(optimizer).or_insert((0.0, String::new()));
                    let relative = err / (1.0 + k.abs());
                    if relative > entry.0 || relative.is_nan() {
                        *entry = (relative, format!("{name} step {t}"));
                    }
                    if err > TOLERANCE * (1.0 + k.abs()) {
                        failures.push(format!(
                            "{name}: step {t} axis {axis}: ours {v} keras {k} (|diff| {err:.3e})"
                        ));
                        break;
                    }
                }
                if failures.last().is_some_and(|f| f.starts_with(&format!("{name}:"))) {
                    break;
                }
            }
        }
    }
    for (optimizer, (relative, at)) in worst {
        eprintln!("  {optimizer:<9} max relative error {relative:.2e} ({at})");
    }
    failures
}

#[test]
fn blog_cases_match_keras() {
    let cases = load("tests/fixtures/keras-blog-trajectories.json");
    assert_eq!(cases.len(), 145);
    // Every optimizer of the post is registered: no case may be skipped.
    for (name, case) in &cases {
        let optimizer = case["optimizer"].as_str().unwrap();
        assert!(
            optsurf::Registry::builtin().optimizer(optimizer).is_some(),
            "{name}: {optimizer} is not registered"
        );
    }
    let failures = check(&cases);
    assert!(
        failures.is_empty(),
        "{} of {} cases drift from Keras:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn extra_cases_match_keras_and_optax() {
    // scripts/make_reference.py: non-default hyperparameters, weight decay, AMSGrad, centered
    // RMSprop with momentum, FTRL's l1/l2/shrinkage/beta, and optax's LARS.
    let cases = load("tests/fixtures/keras-extra.json");
    assert_eq!(cases.len(), 50);
    for (name, case) in &cases {
        let optimizer = case["optimizer"].as_str().unwrap();
        assert!(
            optsurf::Registry::builtin().optimizer(optimizer).is_some(),
            "{name}: {optimizer} is not registered"
        );
    }
    let failures = check(&cases);
    assert!(
        failures.is_empty(),
        "{} of {} cases drift from the reference:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn schedule_cases_match_keras() {
    // scripts/make_reference.py --set schedules: every Keras schedule with several optimizers
    // (Ftrl and Adadelta among them, weight decay in some); each step's rate recorded.
    let cases = load("tests/fixtures/keras-schedules.json");
    assert!(cases.len() >= 25);
    let mut classes = std::collections::BTreeSet::new();
    for case in cases.values() {
        classes.insert(
            case["kwargs"]["learning_rate"]["schedule"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(classes.len(), 6, "every schedule class: {classes:?}");
    let failures = check(&cases);
    assert!(
        failures.is_empty(),
        "{} of {} cases drift from Keras:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn long_high_learning_rate_cases_match_keras() {
    // scripts/make_reference.py --set long: 300 steps near each optimizer's edge of stability
    // over f1..f5, from starts other than the post's. They only agree if every gradient does.
    let cases = load("tests/fixtures/keras-long.json");
    assert!(cases.len() >= 60);
    let failures = check(&cases);
    assert!(
        failures.is_empty(),
        "{} of {} cases drift from Keras:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Steps each case's optimizer (one row) from the recorded point with the recorded gradient and
/// compares the result with the next recorded point, in `f32` bits; the state carries over, so
/// after `t` steps it is exactly the state Keras had. Returns the failures and the largest
/// difference in ulps seen per optimizer.
fn replay(cases: &BTreeMap<String, Value>) -> (Vec<String>, BTreeMap<String, u32>) {
    let device = common::reference_device();
    let row = |v: &[f32]| Tensor::<2>::from_data(TensorData::new(v.to_vec(), [1, v.len()]), &device);
    let mut failures = Vec::new();
    let mut worst = BTreeMap::new();
    for (name, case) in cases {
        let optimizer = case["optimizer"].as_str().unwrap();
        let entry = *optsurf::Registry::builtin().optimizer(optimizer).unwrap();
        let hyper = entry.parse(case["kwargs"].as_object().unwrap().clone()).unwrap();
        let mut stepper = optsurf::optim::OptimizerSpec::build(&[&hyper], &device);
        let vector = |v: &Value| -> Option<Vec<f32>> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().map(|x| x as f32))
                .collect()
        };
        let points = case["points"].as_array().unwrap();
        // With a schedule, Keras's graph sometimes fuses the rate's last product into the
        // update (notes in make_reference.py): bit for bit only up to `replay_until`.
        let until = case.get("replay_until").and_then(Value::as_u64).unwrap_or(u64::MAX) as usize;
        for (t, grad) in case["grads"].as_array().unwrap().iter().enumerate().take(until) {
            let (Some(w), Some(g), Some(next)) = (vector(&points[t]), vector(grad), vector(&points[t + 1])) else {
                break; // Keras overflowed
            };
            if !next.iter().all(|x| x.is_finite()) {
                break;
            }
            let ours: Vec<f32> = optsurf::optim::step_with_gradient(stepper.as_mut(), row(&w), row(&g))
                .into_data()
                .iter::<f32>()
                .collect();
            for (axis, (&a, &k)) in ours.iter().zip(&next).enumerate() {
                let ulps = (a.to_bits() as i64 - k.to_bits() as i64)
                    .unsigned_abs()
                    .min(u32::MAX as u64) as u32;
                // TensorFlow runs with subnormals flushed to zero: below 1e-30 only the size counts.
                let tiny = a.abs() < 1e-30 && k.abs() < 1e-30;
                // optax's norm is a jitted XLA reduction that fuses x0^2 + x1^2 into an FMA.
                let allowed = if optimizer == "lars" { 2 } else { 0 };
                if !tiny {
                    let w = worst.entry(optimizer.to_string()).or_insert(0);
                    *w = (*w).max(ulps);
                }
                if ulps > allowed && !tiny {
                    failures.push(format!(
                        "{name}: step {} axis {axis}: ours {a:e} reference {k:e} ({ulps} ulps)",
                        t + 1
                    ));
                }
            }
        }
    }
    (failures, worst)
}

#[test]
fn optimizers_replay_the_reference_steps_bit_for_bit() {
    let mut cases = load("tests/fixtures/keras-blog-trajectories.json");
    cases.extend(load("tests/fixtures/keras-extra.json"));
    cases.extend(load("tests/fixtures/keras-schedules.json"));
    cases.extend(load("tests/fixtures/keras-long.json"));
    assert!(cases.len() >= 195 + 25 + 60);
    let (failures, worst) = replay(&cases);
    for (optimizer, ulps) in worst {
        eprintln!("  {optimizer:<9} max {ulps} ulps from the reference step");
    }
    assert!(
        failures.is_empty(),
        "{} steps differ from the reference:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
