//! The command line itself: `run`, `list`, bad input, divergence and determinism.

use std::path::Path;

mod common;
use common::*;

const GOOD: &str = r#"{"name": "f0-sgd", "title": "SGD over f0", "surface": "f0",
  "noise": {"seed": 3, "lookup": "nearest"}, "start": [9.0, 9.0], "steps": 20,
  "runs": [{"label": "SGD lr: 10", "optimizer": "sgd", "learning_rate": 10.0},
           {"label": "NAG lr: 10", "optimizer": "sgd", "learning_rate": 10.0, "momentum": 0.9, "nesterov": true, "start": [-5, 2]},
           {"label": "Adam", "optimizer": "adam", "learning_rate": 1.0}]}"#;

fn trajectories(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn run_writes_trajectories_under_out() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "exp.json", GOOD);
    let out = optsurf(dir.path(), &["run", "exp.json", "--out", "o", "--no-plots"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let t = trajectories(&dir.path().join("o/f0-sgd/trajectories.json"));
    assert_eq!(t["name"], "f0-sgd");
    assert_eq!(t["surface"], "f0");
    assert_eq!(t["steps"], 20);
    assert_eq!(t["noise"]["seed"], 3);
    let runs = t["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3);
    let nag = &runs[1];
    assert_eq!(nag["label"], "NAG lr: 10");
    assert_eq!(nag["points"].as_array().unwrap().len(), 21);
    assert_eq!(nag["grads"].as_array().unwrap().len(), 20);
    assert_eq!(nag["loss"].as_array().unwrap().len(), 21);
    assert_eq!(nag["points"][0], serde_json::json!([-5.0, 2.0]));
    assert_eq!(nag["status"], "ok");
    assert_eq!(nag["diverged_at"], serde_json::Value::Null);
    // Defaults are filled in, given values kept.
    let adam = &runs[2]["hyperparameters"];
    assert_eq!(adam["learning_rate"], 1.0);
    assert_eq!(adam["beta_2"], 0.999);
    assert_eq!(adam["amsgrad"], false);
    // SGD over f0 from (9, 9) at lr 10: x <- x - 10 * x / 50 = 0.8 x.
    assert_eq!(runs[0]["points"][1], serde_json::json!([7.2, 7.2]));
}

#[test]
fn results_mirror_the_experiments_folder() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "experiments/blog/a.json", GOOD);
    write(dir.path(), "elsewhere/b.json", &GOOD.replace("f0-sgd", "other"));
    let out = optsurf(dir.path(), &["run", "experiments", "elsewhere/b.json", "--no-plots"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(dir.path().join("results/blog/f0-sgd/trajectories.json").is_file());
    assert!(dir.path().join("results/other/trajectories.json").is_file());
}

#[test]
fn same_experiment_gives_byte_identical_json() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "exp.json", &GOOD.replace("\"nearest\"", "\"bilinear\""));
    let read = |o: &str| {
        let out = optsurf(dir.path(), &["run", "exp.json", "--out", o, "--no-plots"]);
        assert!(out.status.success(), "{}", stderr(&out));
        std::fs::read(dir.path().join(o).join("f0-sgd/trajectories.json")).unwrap()
    };
    assert_eq!(read("a"), read("b"));
}

#[test]
fn a_diverging_run_is_marked_and_the_others_go_on() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "exp.json",
        r#"{"name": "blowup", "surface": "quadric", "start": [1.0, 2.0], "steps": 200,
            "runs": [{"label": "huge", "optimizer": "sgd", "learning_rate": 50.0},
                     {"label": "tame", "optimizer": "sgd", "learning_rate": 0.001}]}"#,
    );
    let out = optsurf(dir.path(), &["run", "exp.json", "--out", "o", "--no-plots"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let t = trajectories(&dir.path().join("o/blowup/trajectories.json"));
    let huge = &t["runs"][0];
    assert_eq!(huge["status"], "diverged");
    let at = huge["diverged_at"].as_u64().unwrap() as usize;
    assert!(at > 1 && at < 200, "diverged at {at}");
    assert_eq!(huge["points"].as_array().unwrap().len(), at);
    assert_eq!(huge["loss"].as_array().unwrap().len(), at);
    for p in huge["points"].as_array().unwrap() {
        assert!(
            p[0].as_f64().is_some() && p[1].as_f64().is_some(),
            "non-finite point written: {p}"
        );
    }
    let tame = &t["runs"][1];
    assert_eq!(tame["status"], "ok");
    assert_eq!(tame["points"].as_array().unwrap().len(), 201);
}

#[test]
fn list_shows_surfaces_and_optimizers_with_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let out = optsurf(dir.path(), &["list"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for name in ["f0", "f1", "f2", "f3", "f4", "f5", "quadric", "sgd", "adam", "adamw"] {
        assert!(text.contains(name), "list lacks {name}:\n{text}");
    }
    assert!(text.contains("learning_rate=0.01"), "{text}");
    assert!(text.contains("beta_2=0.999"), "{text}");
}

fn good_with(from: &str, to: &str) -> String {
    assert!(GOOD.contains(from), "{from}");
    GOOD.replacen(from, to, 1)
}

#[test]
fn bad_input_names_file_and_field() {
    rejects(&good_with("\"f0\"", "\"f9\""), "surface", "expected one of: f0, f1");
    rejects(
        &good_with("\"sgd\"", "\"sgdd\""),
        "runs[0].optimizer",
        "expected one of: sgd",
    );
    rejects(&good_with("\"title\"", "\"titel\""), "titel", "expected one of");
    rejects(
        &good_with("\"learning_rate\": 10.0}", "\"learning_rat\": 10.0}"),
        "runs[0].learning_rat",
        "it accepts: learning_rate",
    );
    rejects(
        &good_with("\"learning_rate\": 10.0}", "\"learning_rate\": \"fast\"}"),
        "runs[0].learning_rate",
        "expected f64",
    );
    rejects(
        &good_with("\"learning_rate\": 10.0}", "\"learning_rate\": -1.0}"),
        "runs[0].learning_rate",
        "positive",
    );
    rejects(
        &good_with("\"momentum\": 0.9", "\"momentum\": 1.5"),
        "runs[1].momentum",
        "[0, 1]",
    );
    rejects(
        &good_with("\"steps\": 20", "\"steps\": 0"),
        "steps",
        "positive whole number",
    );
    rejects(
        &good_with("\"steps\": 20", "\"steps\": -3"),
        "steps",
        "positive whole number",
    );
    rejects(
        &good_with("\"steps\": 20", "\"steps\": 2.5"),
        "steps",
        "positive whole number",
    );
    rejects(&good_with("[9.0, 9.0]", "[9.0]"), "start", "two finite numbers");
    rejects(&good_with("[9.0, 9.0]", "[9.0, \"x\"]"), "start", "two finite numbers");
    rejects(
        &good_with("\"start\": [-5, 2]", "\"start\": [-5, null]"),
        "runs[1].start",
        "two finite numbers",
    );
    rejects(&good_with("\"f0-sgd\"", "\"F0 sgd\""), "name", "[a-z0-9_-]+");
    rejects(
        &good_with("\"seed\": 3", "\"seed\": 3, \"lookup\": \"cubic\""),
        "noise.lookup",
        "nearest",
    );
    rejects(
        &good_with("\"label\": \"Adam\"", "\"label\": \"SGD lr: 10\""),
        "runs[2].label",
        "unique",
    );
    // Without an experiment start, every run needs its own.
    rejects(
        &good_with("\"start\": [9.0, 9.0], ", ""),
        "runs[0].start",
        "missing; give the run a \"start\"",
    );
    // Default labels that collide ask for labels.
    rejects(
        &good_with(
            "\"label\": \"Adam\", \"optimizer\": \"adam\", \"learning_rate\": 1.0",
            "\"optimizer\": \"sgd\", \"learning_rate\": 10.0",
        )
        .replacen("\"label\": \"SGD lr: 10\", ", "", 1),
        "runs[2].label",
        "label \"sgd lr=10.0\" is already used by runs[0]; labels must be unique (give the runs distinct \"label\"s)",
    );
}

#[test]
fn runs_without_labels_are_named_by_their_settings_and_may_carry_their_own_starts() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "exp.json",
        r#"{"name": "unlabelled", "surface": "quadric", "steps": 3,
            "runs": [{"optimizer": "adam", "learning_rate": 0.1, "beta_1": 0.8, "start": [1, 2]},
                     {"optimizer": "sgd", "start": [-1, 0.5]},
                     {"optimizer": "lookahead", "fast": {"optimizer": "adam"}, "start": [0, 1]},
                     {"optimizer": "sgd", "learning_rate": {"schedule": "ExponentialDecay", "initial_learning_rate": 0.1, "decay_steps": 2, "decay_rate": 0.5}, "start": [0, 1]}]}"#,
    );
    let out = optsurf(dir.path(), &["run", "exp.json", "--out", "o", "--no-plots"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let t = trajectories(&dir.path().join("o/unlabelled/trajectories.json"));
    let labels: Vec<&str> = t["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["label"].as_str().unwrap())
        .collect();
    assert_eq!(
        labels,
        [
            "adam lr=0.1 beta_1=0.8 start=[1,2]",
            "sgd start=[-1,0.5] lr=0.01 (default)",
            "lookahead fast=adam start=[0,1]",
            "sgd lr=ExponentialDecay start=[0,1]"
        ]
    );
    assert_eq!(t["runs"][1]["points"][0], serde_json::json!([-1.0, 0.5]));
}

/// An experiment with one run of `optimizer` and the given hyperparameters (a JSON fragment).
fn one_run(optimizer: &str, hyper: &str) -> String {
    format!(
        r#"{{"name": "one", "surface": "f5", "start": [3.0, -4.0], "steps": 5,
  "runs": [{{"label": "it", "optimizer": "{optimizer}"{hyper}}}]}}"#
    )
}

#[test]
fn optimizer_hyperparameters_are_checked_as_keras_does() {
    // The run is valid without the bad value.
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "ok.json",
        &one_run("ftrl", r#", "learning_rate_power": 0.0"#),
    );
    let out = optsurf(dir.path(), &["run", "ok.json", "--out", "o", "--no-plots"]);
    assert!(out.status.success(), "{}", stderr(&out));

    rejects(
        &one_run("ftrl", r#", "learning_rate_power": 0.5"#),
        "runs[0].learning_rate_power",
        "<= 0",
    );
    for field in [
        "initial_accumulator_value",
        "l1_regularization_strength",
        "l2_regularization_strength",
        "l2_shrinkage_regularization_strength",
    ] {
        rejects(
            &one_run("ftrl", &format!(r#", "{field}": -0.1"#)),
            &format!("runs[0].{field}"),
            ">= 0",
        );
    }
    rejects(&one_run("lion", r#", "beta_1": 0.0"#), "runs[0].beta_1", "(0, 1]");
    rejects(&one_run("lion", r#", "beta_1": 1.5"#), "runs[0].beta_1", "(0, 1]");
    rejects(
        &one_run("adagrad", r#", "initial_accumulator_value": -1.0"#),
        "runs[0].initial_accumulator_value",
        ">= 0",
    );
    rejects(&one_run("rmsprop", r#", "rho": 1.0"#), "runs[0].rho", "[0, 1)");
    rejects(&one_run("adadelta", r#", "epsilon": -1e-7"#), "runs[0].epsilon", ">= 0");
    rejects(&one_run("nadam", r#", "beta_2": 1.0"#), "runs[0].beta_2", "[0, 1)");
    rejects(&one_run("lamb", r#", "beta_1": -0.5"#), "runs[0].beta_1", "[0, 1)");
    rejects(
        &one_run("adamax", r#", "learning_rate": 0.0"#),
        "runs[0].learning_rate",
        "positive",
    );
    rejects(&one_run("lars", r#", "momentum": 1.5"#), "runs[0].momentum", "[0, 1]");
    rejects(
        &one_run("lars", r#", "trust_coefficient": 0.0"#),
        "runs[0].trust_coefficient",
        "positive",
    );
    rejects(
        &one_run("lars", r#", "weight_decay": -0.1"#),
        "runs[0].weight_decay",
        ">= 0",
    );
    // An unknown hyperparameter names the ones the optimizer accepts.
    rejects(
        &one_run("nadam", r#", "momentum": 0.9"#),
        "runs[0].momentum",
        "not a hyperparameter of nadam; it accepts: learning_rate, beta_1, beta_2, epsilon, weight_decay",
    );
    rejects(
        &one_run("lars", r#", "epsilon": 1e-9"#),
        "runs[0].epsilon",
        "it accepts: learning_rate, momentum, nesterov, weight_decay, trust_coefficient, eps",
    );
    rejects(
        &one_run("lion", r#", "epsilon": 1e-7"#),
        "runs[0].epsilon",
        "it accepts: learning_rate, beta_1, beta_2, weight_decay",
    );
}

#[test]
fn list_shows_every_optimizer_with_its_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let out = optsurf(dir.path(), &["list"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for name in [
        "rmsprop", "adagrad", "adadelta", "adamax", "nadam", "lion", "lamb", "ftrl", "lars",
    ] {
        assert!(text.contains(&format!("  {name} ")), "list lacks {name}:\n{text}");
    }
    // Keras's default learning rate is what a run without one gets, and list says so.
    assert!(
        text.contains("learning_rate=0.001 (Keras's default, used when a run omits it)"),
        "{text}"
    );
    assert!(
        text.contains("A run without learning_rate gets Keras's default (0.001 for most)"),
        "{text}"
    );
    for default in [
        "rho=0.95",
        "initial_accumulator_value=0.1",
        "learning_rate_power=-0.5",
        "l2_shrinkage_regularization_strength=0.0",
        "centered=false",
        "trust_coefficient=0.001",
        "beta_2=0.99",
    ] {
        assert!(text.contains(default), "list lacks {default}:\n{text}");
    }
}

#[test]
fn invalid_json_and_missing_files_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "broken.json", "{\"name\": \"x\",");
    let out = optsurf(dir.path(), &["run", "broken.json", "--out", "o"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("broken.json: invalid JSON"), "{}", stderr(&out));

    let out = optsurf(dir.path(), &["run", "nowhere.json", "--out", "o"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("nowhere.json: no such file"), "{}", stderr(&out));
    assert!(!dir.path().join("o").exists());
}

#[test]
fn two_experiments_with_one_output_folder_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.json", GOOD);
    write(dir.path(), "b.json", GOOD);
    let out = optsurf(dir.path(), &["run", "a.json", "b.json", "--out", "o"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("b.json: field `name`") && err.contains("a.json"), "{err}");
    assert!(!dir.path().join("o").exists());
}

#[test]
fn formats_are_checked() {
    let good = r#"{"name": "f", "surface": "f0", "start": [1, 1], "steps": 3,
        "runs": [{"optimizer": "sgd", "learning_rate": 0.1}], "plot": {"format": FORMAT}}"#;
    rejects(
        &good.replace("FORMAT", r#"["png", "pdf"]"#),
        "plot.format",
        r#""png", "svg""#,
    );
    rejects(&good.replace("FORMAT", "[]"), "plot.format", r#""png", "svg""#);
    rejects(&good.replace("FORMAT", "3"), "plot.format", r#""png", "svg""#);
    let path = std::path::Path::new("f.json");
    let one = optsurf::experiment::Experiment::parse(
        &good.replace("FORMAT", r#""svg""#),
        path,
        &optsurf::Registry::builtin(),
        &optsurf::backend::Backend::default().device().unwrap(),
    )
    .unwrap();
    assert_eq!(one.plot.format, [optsurf::plot::Format::Svg]);
    // The default is left out of trajectories, so baselines do not change.
    let exp = optsurf::experiment::Experiment::parse(
        &good.replace(r#", "plot": {"format": FORMAT}"#, ""),
        path,
        &optsurf::Registry::builtin(),
        &optsurf::backend::Backend::default().device().unwrap(),
    )
    .unwrap();
    assert_eq!(exp.plot.format, [optsurf::plot::Format::Png]);
    let json = serde_json::to_string(&exp.plot).unwrap();
    assert!(!json.contains("format"), "{json}");
}

/// Mistakes a user makes often get a "did you mean": an optimizer's name misspelt or in
/// another case, a hyperparameter written as another library spells it.
#[test]
fn close_misspellings_get_a_did_you_mean() {
    rejects(
        &good_with("\"sgd\"", "\"adma\""),
        "runs[0].optimizer",
        "unknown optimizer \"adma\"; did you mean \"adam\"? expected one of: sgd",
    );
    rejects(
        &good_with("\"sgd\"", "\"Adam\""),
        "runs[0].optimizer",
        "did you mean \"adam\"?",
    );
    rejects(
        &good_with("\"optimizer\": \"adam\"", "\"optimizer\": \"adam\", \"beta1\": 0.8"),
        "runs[2].beta1",
        "not a hyperparameter of adam (did you mean `beta_1`?); it accepts: learning_rate",
    );
    rejects(
        &good_with("\"learning_rate\": 10.0}", "\"lr\": 10.0}"),
        "runs[0].lr",
        "not a hyperparameter of sgd (did you mean `learning_rate`?)",
    );
    rejects(&good_with("\"steps\"", "\"stpes\""), "stpes", "did you mean `steps`?");
    rejects(&good_with("\"f0\"", "\"F0\""), "surface", "did you mean \"f0\"?");
    // Nothing close, no guess.
    rejects(
        &good_with("\"sgd\"", "\"lbfgs\""),
        "runs[0].optimizer",
        "unknown optimizer \"lbfgs\"; expected one of",
    );
}

/// A folder with several wrong files: every one is reported, one line each, and none of the
/// files (not even the good ones) runs.
#[test]
fn a_folder_is_checked_whole_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "exps/a-good.json", GOOD);
    write(
        dir.path(),
        "exps/b-name.json",
        &good_with("\"sgd\"", "\"adma\"").replace("\"f0-sgd\"", "\"b\""),
    );
    write(dir.path(), "exps/c-broken.json", "{\"name\": \"x\",");
    write(
        dir.path(),
        "exps/d-field.json",
        &good_with("\"learning_rate\": 10.0}", "\"lr\": 10.0}").replace("\"f0-sgd\"", "\"d\""),
    );
    let out = optsurf(dir.path(), &["run", "exps", "--out", "o"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines[0], "error: 3 experiment files have mistakes; none was run (fix each and run again):",
        "{err}"
    );
    assert_eq!(lines.len(), 4, "one line per wrong file:\n{err}");
    let sep = std::path::MAIN_SEPARATOR;
    assert!(
        lines[1].starts_with(&format!(
            "  exps{sep}b-name.json: field `runs[0].optimizer`: unknown optimizer \"adma\"; did you mean \"adam\"?"
        )),
        "{err}"
    );
    assert!(
        lines[2].starts_with(&format!("  exps{sep}c-broken.json: invalid JSON")),
        "{err}"
    );
    assert!(
        lines[3].starts_with(&format!("  exps{sep}d-field.json: field `runs[0].lr`")),
        "{err}"
    );
    assert!(lines[3].contains("did you mean `learning_rate`?"), "{err}");
    assert!(!dir.path().join("o").exists(), "the good file did not run either");
}
