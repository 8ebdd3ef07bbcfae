//! The optax optimizers against optax 0.2.8 (`tests/fixtures/optax-reference.json`, written by
//! `scripts/make_reference.py --set optax`: 237 cases, 19 optimizers over f0, f1, f4 and
//! Rosenbrock, 100 steps each, optax run eagerly in float32).

use burn::tensor::{Tensor, TensorData};
use optsurf::optim::Env;
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::collections::BTreeMap;

fn load() -> BTreeMap<String, Value> {
    let text = std::fs::read_to_string("tests/fixtures/optax-reference.json").unwrap();
    let all: BTreeMap<String, Value> = serde_json::from_str(&text).unwrap();
    all.into_iter().filter(|(k, _)| !k.starts_with('_')).collect()
}

/// A case's kwargs as an optsurf run's hyperparameters: the optimizers that lookahead and sam
/// wrap are optax's `adam` and `sgd`, registered in optsurf as `adam_optax` and `sgd_optax`
/// (optsurf's `adam` and `sgd` are Keras's).
fn hyperparameters(case: &Value) -> Map<String, Value> {
    let mut kwargs = case["kwargs"].as_object().unwrap().clone();
    for field in ["fast", "outer"] {
        if let Some(Value::Object(inner)) = kwargs.get_mut(field) {
            let name = inner["optimizer"].as_str().unwrap();
            let ours = match name {
                "adam" => "adam_optax",
                "sgd" => "sgd_optax",
                other => panic!("no optax {other} in optsurf"),
            };
            inner.insert("optimizer".into(), Value::String(ours.into()));
        }
    }
    kwargs
}

fn vector(v: &Value) -> Vec<f32> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

/// Distance in `f32` steps between `a` and `b` (0 when equal, also for `0` and `-0`).
fn ulps(a: f32, b: f32) -> u64 {
    if a.is_nan() || b.is_nan() {
        return if a.is_nan() && b.is_nan() { 0 } else { u64::MAX };
    }
    let key = |x: f32| {
        let bits = x.to_bits() as i64;
        if bits < 0x8000_0000 { bits } else { -(bits & 0x7FFF_FFFF) }
    };
    (key(a) - key(b)).unsigned_abs()
}

/// Largest distance in ulps seen per optimizer, and the cases and steps past `allowed`.
struct Replay {
    worst: BTreeMap<String, (u64, String)>,
    failures: Vec<String>,
}

impl Replay {
    fn compare(&mut self, optimizer: &str, what: &str, ours: &[f32], optax: &[f32], allowed: u64) {
        for (axis, (&a, &b)) in ours.iter().zip(optax).enumerate() {
            let d = ulps(a, b);
            let entry = self.worst.entry(optimizer.to_string()).or_insert((0, String::new()));
            if d > entry.0 {
                *entry = (d, what.to_string());
            }
            if d > allowed {
                self.failures
                    .push(format!("{what} axis {axis}: ours {a:e} optax {b:e} ({d} ulps)"));
            }
        }
    }
}

/// Steps each case's optimizer (one row) with optax's own recorded gradients, from the recorded
/// points: the loss optax was given (`value`) for polyak_sgd and momo, and for sam the gradient
/// optax took at its perturbed point (whose coordinates are checked too). The optimizer's state
/// is its own throughout, so after `t` steps it holds exactly what optax's did if every step
/// matched. Every new point, and every evaluation point (Lookahead's slow weights,
/// schedule-free's `x`), is compared with optax's in `f32` ulps.
fn replay(cases: &BTreeMap<String, Value>, allowed: u64) -> Replay {
    let device = optsurf::backend::Backend::Ndarray.device().unwrap();
    let row = |v: &[f32]| Tensor::<2>::from_data(TensorData::new(v.to_vec(), [1, v.len()]), &device);
    let registry = optsurf::Registry::builtin();
    let mut out = Replay {
        worst: BTreeMap::new(),
        failures: Vec::new(),
    };
    for (name, case) in cases {
        let optimizer = case["optimizer"].as_str().unwrap();
        let entry = *registry.optimizer(optimizer).unwrap_or_else(|| panic!("{optimizer} is not registered"));
        let hyper = entry
            .parse(hyperparameters(case))
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let mut stepper = entry.build(&[hyper], &device);
        let points = case["points"].as_array().unwrap();
        let eval = case.get("eval_points").and_then(Value::as_array);
        for (k, grad) in case["grads"].as_array().unwrap().iter().enumerate() {
            let value = case.get("value").map_or(f32::NAN, |v| v[k].as_f64().unwrap() as f32);
            let loss = Tensor::<2>::from_data(TensorData::new(vec![value], [1, 1]), &device);
            let asked = RefCell::new(Vec::new());
            let gradient_at = |p: Tensor<2>| {
                asked.borrow_mut().push(optsurf::surface::to_vec(p));
                let g = vector(&case["adv_grads"][k]);
                (Tensor::full([1, 1], f32::NAN, &device), row(&g))
            };
            let env = Env {
                loss: &loss,
                gradient_at: &gradient_at,
            };
            let next = stepper.step(row(&vector(&points[k])), row(&vector(grad)), &env);
            let what = |field: &str| format!("{name}: {field}[{}]", k + 1);
            out.compare(
                optimizer,
                &what("points"),
                &optsurf::surface::to_vec(next),
                &vector(&points[k + 1]),
                allowed,
            );
            if let Some(eval) = eval {
                let ours = stepper.eval_points().map(optsurf::surface::to_vec);
                let ours = ours.unwrap_or_else(|| panic!("{name}: no evaluation points"));
                out.compare(optimizer, &what("eval_points"), &ours, &vector(&eval[k + 1]), allowed);
            }
            if let Some(adv) = case.get("adv_points") {
                let asked = asked.borrow();
                assert_eq!(asked.len(), 1, "{name}: sam takes one extra gradient a step");
                out.compare(optimizer, &format!("{name}: adv_points[{k}]"), &asked[0], &vector(&adv[k]), allowed);
            }
        }
    }
    out
}

#[test]
fn update_rules_replay_optax_steps_bit_for_bit() {
    let cases = load();
    assert_eq!(cases.len(), 237);
    let only = std::env::var("OPTAX_ONLY").ok();
    let cases: BTreeMap<String, Value> = cases
        .into_iter()
        .filter(|(name, _)| only.as_deref().is_none_or(|o| name.starts_with(o)))
        .collect();
    let result = replay(&cases, 0);
    for (optimizer, (ulps, at)) in &result.worst {
        eprintln!("  {optimizer:<20} max {ulps} ulps from optax ({at})");
    }
    assert!(
        result.failures.is_empty(),
        "{} values differ from optax's:\n{}",
        result.failures.len(),
        result.failures.iter().take(40).cloned().collect::<Vec<_>>().join("\n")
    );
}
