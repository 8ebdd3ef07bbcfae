//! Learning-rate schedules from the command line: what trajectories record, and every mistake a
//! user can make in a schedule object (exit 2, one line naming the field).

use serde_json::{Value, json};

mod common;
use common::*;

fn experiment(rate: Value) -> String {
    json!({"name": "s", "surface": "f0", "start": [9, 9], "steps": 12,
           "runs": [{"label": "const", "optimizer": "adam", "learning_rate": 0.5},
                    {"label": "sched", "optimizer": "ftrl", "learning_rate": rate, "weight_decay": 0.01}]})
    .to_string()
}

#[test]
fn scheduled_runs_record_the_schedule_with_defaults_and_every_rate() {
    let dir = tempfile::tempdir().unwrap();
    let rate = json!({"schedule": "PolynomialDecay", "initial_learning_rate": 1.0, "decay_steps": 8});
    std::fs::write(dir.path().join("s.json"), experiment(rate)).unwrap();
    let out = optsurf(dir.path(), &["run", "s.json", "--no-plots", "--out", "o"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let t: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("o/s/trajectories.json")).unwrap()).unwrap();
    let (constant, scheduled) = (&t["runs"][0], &t["runs"][1]);
    assert!(
        constant.get("learning_rates").is_none(),
        "only scheduled runs record rates"
    );
    assert_eq!(
        scheduled["hyperparameters"]["learning_rate"],
        json!({"schedule": "PolynomialDecay", "initial_learning_rate": 1.0, "decay_steps": 8.0,
               "end_learning_rate": 0.0001, "power": 1.0, "cycle": false})
    );
    let rates: Vec<f64> = scheduled["learning_rates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(rates.len(), 12, "one per step");
    // Linear from 1 to 0.0001 over 8 steps, then flat.
    for (k, r) in rates.iter().enumerate() {
        let p = (k as f64).min(8.0) / 8.0;
        let expected = (1.0 - 0.0001) * (1.0 - p) + 0.0001;
        assert!((r - expected).abs() < 1e-6, "step {k}: {r} vs {expected}");
    }
}

#[test]
fn bad_schedules_name_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            json!({"schedule": "StepDecay", "initial_learning_rate": 1.0}),
            "runs[1].learning_rate.schedule",
            "ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay, InverseTimeDecay, CosineDecay, CosineDecayRestarts",
        ),
        (
            json!({"initial_learning_rate": 1.0}),
            "runs[1].learning_rate.schedule",
            "missing",
        ),
        (
            json!({"schedule": "ExponentialDecay", "initial_learning_rate": 1.0, "decay_rate": 0.5}),
            "runs[1].learning_rate.decay_steps",
            "missing field",
        ),
        (
            json!({"schedule": "CosineDecay", "initial_learning_rate": 1.0, "decay_steps": 0}),
            "runs[1].learning_rate.decay_steps",
            "expected a number > 0",
        ),
        (
            json!({"schedule": "CosineDecayRestarts", "initial_learning_rate": 1.0, "first_decay_steps": -3}),
            "runs[1].learning_rate.first_decay_steps",
            "expected a number > 0",
        ),
        (
            json!({"schedule": "PiecewiseConstantDecay", "boundaries": [10, 5], "values": [1.0, 0.5, 0.1]}),
            "runs[1].learning_rate.boundaries",
            "strictly increasing",
        ),
        (
            json!({"schedule": "PiecewiseConstantDecay", "boundaries": [10, 20], "values": [1.0, 0.5]}),
            "runs[1].learning_rate.values",
            "one more value than boundaries",
        ),
        (
            json!({"schedule": "InverseTimeDecay", "initial_learning_rate": 1.0, "decay_steps": 5, "decay_rate": 0.5, "gamma": 1}),
            "runs[1].learning_rate.gamma",
            "unknown field",
        ),
        (
            json!({"schedule": "PolynomialDecay", "initial_learning_rate": "fast", "decay_steps": 5}),
            "runs[1].learning_rate.initial_learning_rate",
            "expected f64",
        ),
        (json!("fast"), "runs[1].learning_rate", "expected f64"),
        (json!(-1.0), "runs[1].learning_rate", "positive"),
    ];
    for (rate, field, expected) in cases {
        std::fs::write(dir.path().join("s.json"), experiment(rate.clone())).unwrap();
        let out = optsurf(dir.path(), &["run", "s.json", "--no-plots", "--out", "o"]);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(2), "{rate}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{rate}: {err}");
        assert!(
            err.contains(&format!("s.json: field `{field}`")),
            "{rate}: no field {field} in {err}"
        );
        assert!(err.contains(expected), "{rate}: no {expected:?} in {err}");
        assert!(!dir.path().join("o").exists(), "{rate}: nothing is written");
    }
}

/// Pixels of `png` within 12 (per channel) of `color`.
fn count_color(png: &[u8], color: [u8; 3]) -> usize {
    let mut r = png::Decoder::new(std::io::Cursor::new(png)).read_info().unwrap();
    let mut buf = vec![0; r.output_buffer_size().unwrap()];
    let info = r.next_frame(&mut buf).unwrap();
    buf[..info.buffer_size()]
        .chunks(info.color_type.samples())
        .filter(|p| (0..3).all(|k| (p[k] as i32 - color[k] as i32).abs() <= 12))
        .count()
}

/// `learning_rate.png` draws each scheduled run's rates in its colour, and is only written when
/// some run has a schedule.
#[test]
fn the_learning_rate_figure_shows_scheduled_runs() {
    let dir = tempfile::tempdir().unwrap();
    let rate = json!({"schedule": "CosineDecay", "initial_learning_rate": 1.0, "decay_steps": 10});
    let mut e: Value = serde_json::from_str(&experiment(rate)).unwrap();
    e["plot"] = json!({"animate": false, "colors": ["#ff0000", "#0000ff"]});
    std::fs::write(dir.path().join("s.json"), e.to_string()).unwrap();
    let mut constant = e.clone();
    constant["name"] = json!("c");
    constant["runs"][1]["learning_rate"] = json!(0.5);
    std::fs::write(dir.path().join("c.json"), constant.to_string()).unwrap();
    let out = optsurf(dir.path(), &["run", "s.json", "c.json", "--out", "o"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let png = std::fs::read(dir.path().join("o/s/learning_rate.png")).unwrap();
    // The scheduled run's line (blue, with its legend dot); the constant run has none.
    assert!(
        count_color(&png, [0, 0, 255]) > 400,
        "{}",
        count_color(&png, [0, 0, 255])
    );
    assert!(count_color(&png, [255, 0, 0]) < 5);
    assert!(!dir.path().join("o/c/learning_rate.png").exists());
}
