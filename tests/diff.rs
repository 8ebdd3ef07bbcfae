//! `optsurf diff`: deliberate changes are caught with the right message and exit code.

mod common;
use common::*;

const A: &str = r#"{"name": "a", "surface": "f5", "start": [9.0, 9.0], "steps": 30,
  "runs": [{"label": "SGD", "optimizer": "sgd", "learning_rate": 10.0},
           {"label": "Adam", "optimizer": "adam", "learning_rate": 0.5}]}"#;
const B: &str = r#"{"name": "b", "surface": "f4", "start": [-7.5, -1.0], "steps": 20,
  "runs": [{"label": "NAG", "optimizer": "sgd", "learning_rate": 10.0, "momentum": 0.9, "nesterov": true}]}"#;

/// A folder with two experiments and their baselines.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("experiments/blog")).unwrap();
    std::fs::write(dir.path().join("experiments/blog/a.json"), A).unwrap();
    std::fs::write(dir.path().join("experiments/blog/b.json"), B).unwrap();
    let out = optsurf(dir.path(), &["run", "experiments", "--no-plots"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    dir
}

#[test]
fn unchanged_experiments_agree() {
    let dir = project();
    let out = optsurf(dir.path(), &["diff"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains("ok       blog/a") && text.contains("ok       blog/b"),
        "{text}"
    );
    assert!(text.contains("2 ok, 0 drift"), "{text}");
    // Named folder and named file work too.
    assert_eq!(
        optsurf(dir.path(), &["diff", "experiments/blog"]).status.code(),
        Some(0)
    );
    assert_eq!(
        optsurf(dir.path(), &["diff", "experiments/blog/b.json"]).status.code(),
        Some(0)
    );
}

#[test]
fn a_perturbed_learning_rate_is_drift_with_where_and_how_to_accept() {
    let dir = project();
    std::fs::write(dir.path().join("experiments/blog/a.json"), A.replace("0.5}", "0.51}")).unwrap();
    let out = optsurf(dir.path(), &["diff", "experiments"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("drift    blog/a"), "{text}");
    assert!(text.contains("ok       blog/b"), "{text}");
    assert!(
        text.contains("run \"Adam\": hyperparameter learning_rate 0.5 -> 0.51"),
        "{text}"
    );
    assert!(text.contains("run \"Adam\": points depart at step 1:"), "{text}");
    assert!(!text.contains("run \"SGD\""), "the untouched run is reported:\n{text}");
    assert!(
        text.contains("to accept: optsurf run experiments/blog/a.json"),
        "{text}"
    );
    // A loose enough tolerance accepts it.
    let out = optsurf(dir.path(), &["diff", "--rtol", "1.0", "--atol", "1.0"]);
    assert!(
        stdout(&out).contains("learning_rate"),
        "hyperparameter changes are always reported"
    );
}

#[test]
fn a_removed_run_and_a_missing_baseline_are_reported() {
    let dir = project();
    let without_sgd = A.replace(
        "{\"label\": \"SGD\", \"optimizer\": \"sgd\", \"learning_rate\": 10.0},",
        "",
    );
    std::fs::write(dir.path().join("experiments/blog/a.json"), without_sgd).unwrap();
    std::fs::write(dir.path().join("experiments/blog/c.json"), B.replace("\"b\"", "\"c\"")).unwrap();
    let out = optsurf(dir.path(), &["diff"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("run \"SGD\" is in the baseline but no longer runs"),
        "{text}"
    );
    assert!(
        text.contains("missing  blog/c: no baseline at results/blog/c/trajectories.json"),
        "{text}"
    );
    assert!(
        text.contains("1 ok, 1 drift, 1 missing baseline, 0 baseline without experiment"),
        "{text}"
    );
}

#[test]
fn a_baseline_without_experiment_is_reported() {
    let dir = project();
    std::fs::remove_file(dir.path().join("experiments/blog/b.json")).unwrap();
    let out = optsurf(dir.path(), &["diff"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("orphan   blog/b: baseline without experiment"), "{text}");
}

#[test]
fn two_trajectory_files_compare_directly() {
    let dir = project();
    let a = dir.path().join("results/blog/a/trajectories.json");
    let copy = dir.path().join("copy.json");
    std::fs::copy(&a, &copy).unwrap();
    let out = optsurf(dir.path(), &["diff", a.to_str().unwrap(), "copy.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    // Move one point of the second run at step 7.
    let mut t: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&copy).unwrap()).unwrap();
    t["runs"][1]["points"][7][1] = serde_json::json!(123.0);
    std::fs::write(&copy, serde_json::to_string(&t).unwrap()).unwrap();
    let out = optsurf(dir.path(), &["diff", a.to_str().unwrap(), "copy.json"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("run \"Adam\": points depart at step 7: 123 vs baseline"),
        "{text}"
    );
}

#[test]
fn bad_input_exits_2() {
    let dir = project();
    std::fs::write(
        dir.path().join("experiments/blog/a.json"),
        A.replace("\"f5\"", "\"f55\""),
    )
    .unwrap();
    let out = optsurf(dir.path(), &["diff"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("a.json: field `surface`"));
}

#[test]
fn drift_is_reviewed_beside_the_baseline_and_accepted() {
    let dir = project();
    let baseline = dir.path().join("results/blog/a/trajectories.json");
    let before = std::fs::read(&baseline).unwrap();
    std::fs::write(dir.path().join("experiments/blog/a.json"), A.replace("0.5}", "0.51}")).unwrap();
    std::fs::write(dir.path().join("experiments/blog/c.json"), B.replace("\"b\"", "\"c\"")).unwrap();
    // Without --write-new nothing is written; the report ends with how to review and accept.
    let out = optsurf(dir.path(), &["diff", "experiments"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(!dir.path().join("results/blog/a/trajectories.json.new").exists());
    let last = text.trim_end().lines().last().unwrap();
    assert!(
        last.starts_with("  optsurf accept results/blog/a results/blog/c"),
        "{text}"
    );
    // --write-new writes the new results beside their baselines, never over them.
    let out = optsurf(dir.path(), &["diff", "experiments", "--write-new"]);
    let text = stdout(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "still drift: CI asserts, it does not accept\n{text}"
    );
    let new = dir.path().join("results/blog/a/trajectories.json.new");
    assert!(new.is_file() && dir.path().join("results/blog/c/trajectories.json.new").is_file());
    assert!(
        !dir.path().join("results/blog/b/trajectories.json.new").exists(),
        "b agrees"
    );
    assert_eq!(std::fs::read(&baseline).unwrap(), before, "the baseline is untouched");
    let last = text.trim_end().lines().last().unwrap();
    assert!(
        last.contains("optsurf accept") && last.contains("trajectories.json.new"),
        "{text}"
    );
    // The .new file is what `optsurf run` would write.
    let out = optsurf(
        dir.path(),
        &["run", "experiments/blog/a.json", "--no-plots", "--out", "fresh"],
    );
    assert!(out.status.success());
    assert_eq!(
        std::fs::read(&new).unwrap(),
        std::fs::read(dir.path().join("fresh/blog/a/trajectories.json")).unwrap()
    );
    // Accepting moves them into place; then everything agrees.
    let out = optsurf(dir.path(), &["accept"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("accepted results/blog/a/trajectories.json"), "{text}");
    assert!(!new.exists());
    assert_eq!(optsurf(dir.path(), &["diff", "experiments"]).status.code(), Some(0));
    let out = optsurf(dir.path(), &["accept", "results"]);
    assert!(stdout(&out).contains("nothing to accept"));
    let out = optsurf(dir.path(), &["accept", "nowhere"]);
    assert_eq!(out.status.code(), Some(2));
}
