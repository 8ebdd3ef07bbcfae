//! Full-matrix AdaGrad from an experiment file, through the runner.

use optsurf::experiment::Experiment;
use std::path::Path;

#[test]
fn runs_from_an_experiment_file() {
    let text = r#"{"name": "adagrad-full", "surface": "f0", "start": [9.0, 9.0], "steps": 60,
      "runs": [{"label": "full lr 1", "optimizer": "adagrad_full", "learning_rate": 1.0},
               {"label": "full lr 0.1", "optimizer": "adagrad_full", "learning_rate": 0.1, "epsilon": 0.0},
               {"label": "adam", "optimizer": "adam", "learning_rate": 0.1}]}"#;
    let experiment = Experiment::parse(
        text,
        Path::new("adagrad-full.json"),
        &optsurf::Registry::builtin(),
        &optsurf::backend::Backend::default().device().unwrap(),
    )
    .unwrap();
    let result = experiment.run(&optsurf::backend::Backend::default().device().unwrap());
    for run in &result.runs[..2] {
        assert_eq!(run.points.len(), 61, "{}", run.label);
        assert!(run.points.iter().flatten().all(|v| v.is_finite()));
        // The first step has length eta.
        let [x0, y0] = run.points[0];
        let [x1, y1] = run.points[1];
        let eta = run.hyperparameters["learning_rate"].as_f64().unwrap();
        let length = ((x1 - x0) as f64).hypot((y1 - y0) as f64);
        assert!((length - eta).abs() < 1e-5 * (1.0 + eta), "{length} vs {eta}");
    }
}
