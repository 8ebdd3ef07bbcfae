//! Data surfaces against plain float64 computations: full-batch runs are gradient descent,
//! minibatch gradients average to the full one over an epoch, generated data follows its model.

use crate::Registry;
use crate::backend::Backend;
use crate::experiment::Experiment;
use crate::results::Trajectories;
use crate::surface::data::Dataset;
use crate::surface::data::Kind::{self, Linear, Logistic};
use crate::surface::data::regression::{gradient_f64, loss_f64, optimum};
use serde_json::{Value, json};
use std::path::Path;

fn run(experiment: &Value) -> Trajectories {
    let device = Backend::default().device().unwrap();
    let exp = Experiment::parse(
        &experiment.to_string(),
        Path::new("s.json"),
        &Registry::builtin(),
        &device,
    )
    .unwrap();
    exp.run(&Backend::default().device().unwrap())
}

const IRIS: &str = "data/iris.csv";

fn iris(model: &str, y: &str) -> Value {
    json!({"model": model, "data": {"csv": IRIS, "x": "petal_length", "y": y}})
}

/// The iris columns as the surface uses them (feature standardized).
fn iris_data(y: &str) -> Dataset {
    Dataset::from_csv(Path::new(IRIS), &["petal_length".to_string()], y)
        .unwrap()
        .standardized()
}

#[test]
fn full_batch_runs_are_float64_gradient_descent() {
    for (model, y, lr) in [(Linear, "petal_width", 0.3), (Logistic, "is_virginica", 2.0)] {
        let name = Kind::name(model);
        let t = run(
            &json!({"name": "e", "surface": iris(name, y), "start": [-1.5, 2.0], "steps": 60,
                             "runs": [{"label": "SGD", "optimizer": "sgd", "learning_rate": lr}]}),
        );
        let data = iris_data(y);
        let rows: Vec<usize> = (0..data.rows()).collect();
        let (mut w, mut b) = (-1.5f64, 2.0f64);
        let r = &t.runs[0];
        assert_eq!(r.points.len(), 61);
        for (k, p) in r.points.iter().enumerate() {
            for (ours, exact) in [(p[0] as f64, w), (p[1] as f64, b)] {
                assert!(
                    (ours - exact).abs() <= 1e-4 * (1.0 + exact.abs()),
                    "{name} step {k}: {p:?} vs ({w}, {b})"
                );
            }
            let loss = loss_f64(&data, model, w, b);
            assert!(
                (r.loss[k] as f64 - loss).abs() <= 1e-4 * (1.0 + loss),
                "{name} step {k}: loss"
            );
            let g = gradient_f64(&data, model, w, b, &rows);
            w -= lr * g[0];
            b -= lr * g[1];
        }
        // The full batch is the surface: its loss is the recorded loss.
        let batch = r.batch_loss.as_ref().unwrap();
        for (k, l) in batch.iter().enumerate() {
            assert!(
                (l - r.loss[k]).abs() <= 1e-5 * (1.0 + l.abs()),
                "{name} step {k}: batch loss {l} vs {}",
                r.loss[k]
            );
        }
        assert_eq!(r.seed, None, "a full batch draws nothing");
    }
}

#[test]
fn minibatch_gradients_average_to_the_full_gradient_over_an_epoch() {
    // 150 rows in batches of 10: an epoch is 15 steps. A rate so small that the point stays put.
    let t = run(
        &json!({"name": "e", "surface": iris("logistic_regression", "is_versicolor"), "start": [0.7, -0.4],
                         "steps": 45, "seed": 4,
                         "runs": [{"label": "SGD", "optimizer": "sgd", "learning_rate": 1e-30, "batch_size": 10}]}),
    );
    let data = iris_data("is_versicolor");
    let rows: Vec<usize> = (0..150).collect();
    let full = gradient_f64(&data, Logistic, 0.7, -0.4, &rows);
    let grads = &t.runs[0].grads;
    for epoch in 0..3 {
        let slice = &grads[epoch * 15..(epoch + 1) * 15];
        // Batches differ from one another...
        assert!(slice.windows(2).any(|w| w[0] != w[1]));
        // ...and average to the full-data gradient.
        for axis in 0..2 {
            let mean = slice.iter().map(|g| g[axis] as f64).sum::<f64>() / 15.0;
            assert!(
                (mean - full[axis]).abs() < 1e-5,
                "epoch {epoch} axis {axis}: {mean} vs {}",
                full[axis]
            );
        }
    }
    assert_eq!(t.runs[0].batch_size, Some(10));
    assert_eq!(t.runs[0].seed, Some(4));
}

#[test]
fn generated_data_follows_its_model() {
    let linear = Dataset::line(false, 4000, 2.0, -1.0, 0.1, 3);
    let (p, _) = optimum(Linear, &linear).unwrap();
    assert!((p[0] - 2.0).abs() < 0.02 && (p[1] + 1.0).abs() < 0.02, "{p:?}");
    let logistic = Dataset::line(true, 4000, 2.0, -1.0, 0.0, 3);
    assert!(logistic.y.iter().all(|&v| v == 0.0 || v == 1.0));
    let (p, _) = optimum(Logistic, &logistic).unwrap();
    assert!((p[0] - 2.0).abs() < 0.3 && (p[1] + 1.0).abs() < 0.3, "{p:?}");
    assert_ne!(
        Dataset::line(false, 10, 1.0, 0.0, 1.0, 1),
        Dataset::line(false, 10, 1.0, 0.0, 1.0, 2)
    );
}
