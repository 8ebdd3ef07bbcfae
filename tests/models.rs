//! Models through the command line: what a run writes (`params.npy` read back with its
//! layout), a user's own model from `examples/custom_model.rs`, a study over a model, and bad
//! model files refused with the file and field named.

use serde_json::{Value, json};
use std::path::{Path, PathBuf};

mod common;
use common::tempfile;
use common::{optsurf, read_json, rejects, stderr, write};

/// Fisher's iris table, shipped with the repository.
fn iris() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("data/iris.csv")).unwrap()
}

/// A `.npy` file's shape and float32 values, read as NumPy's format 1.0 says.
fn read_npy(path: &Path) -> (Vec<usize>, Vec<f32>) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00", "not a .npy 1.0 file");
    let len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = std::str::from_utf8(&bytes[10..10 + len]).unwrap();
    assert_eq!((10 + len) % 64, 0, "the data is 64-byte aligned");
    assert!(
        header.contains("'descr': '<f4'") && header.contains("'fortran_order': False"),
        "{header}"
    );
    let shape: Vec<usize> = header[header.find("'shape': (").unwrap() + 10..]
        .split(')')
        .next()
        .unwrap()
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let values = bytes[10 + len..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    (shape, values)
}

fn mlp_experiment(extra: Value) -> Value {
    let mut e = json!({
        "name": "m",
        "surface": {"model": "mlp", "layers": [8], "activation": "tanh", "loss": "cross_entropy",
                    "data": {"csv": "iris.csv", "x": ["sepal_length", "petal_length"], "y": "species_id"},
                    "test_fraction": 0.2, "record_every": 10},
        "start": {"seed": 1},
        "steps": 40,
        "runs": [{"label": "Adam", "optimizer": "adam", "learning_rate": 0.01},
                 {"label": "SGD", "optimizer": "sgd", "learning_rate": 0.1, "start": {"seed": 2}}]
    });
    for (k, v) in extra.as_object().unwrap() {
        e["surface"][k] = v.clone();
    }
    e
}

#[test]
fn a_model_run_writes_its_parameters_with_their_layout() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "iris.csv", &iris());
    write(dir.path(), "m.json", &mlp_experiment(json!({})).to_string());
    let out = optsurf(dir.path(), &["run", "m.json", "--out", "o"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let folder = dir.path().join("o/m");
    let t = read_json(&folder.join("trajectories.json"));
    // [2, 8, 3]: kernel 2x8, bias 8, kernel 8x3, bias 3.
    let layout: Vec<(String, Vec<usize>)> = t["params"]["layout"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["name"].as_str().unwrap().to_string(),
                serde_json::from_value(v["shape"].clone()).unwrap(),
            )
        })
        .collect();
    let names: Vec<&str> = layout.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias"]);
    let p: usize = layout.iter().map(|(_, s)| s.iter().product::<usize>()).sum();
    assert_eq!(p, 2 * 8 + 8 + 8 * 3 + 3);
    assert_eq!(t["params"]["steps"], json!([0, 10, 20, 30, 40]));
    let (shape, values) = read_npy(&folder.join(t["params"]["file"].as_str().unwrap()));
    assert_eq!(shape, [2, 5, p]);
    // The first snapshot is the seed's Keras initialisation: glorot-uniform kernels within
    // sqrt(6 / (fan_in + fan_out)), zero biases; the two runs' seeds differ.
    let first = |run: usize| &values[run * 5 * p..run * 5 * p + p];
    let limit = (6.0f32 / (2.0 + 8.0)).sqrt();
    assert!(first(0)[..16].iter().all(|w| w.abs() <= limit) && first(0)[..16].iter().any(|w| *w != 0.0));
    assert!(first(0)[16..24].iter().all(|b| *b == 0.0));
    assert_ne!(first(0), first(1));
    // Training moved the weights, and the losses are recorded at every step.
    for (run, r) in t["runs"].as_array().unwrap().iter().enumerate() {
        let last = &values[run * 5 * p + 4 * p..run * 5 * p + 5 * p];
        assert_ne!(first(run), last);
        assert_eq!(r["loss"].as_array().unwrap().len(), 41);
        assert_eq!(r["test_loss"].as_array().unwrap().len(), 41);
        let acc = r["test_accuracy"].as_array().unwrap();
        assert!(acc.iter().all(|a| (0.0..=1.0).contains(&a.as_f64().unwrap())));
        assert!(r["loss"][40].as_f64() < r["loss"][0].as_f64(), "{}", r["label"]);
    }
    for figure in ["loss.png", "accuracy.png"] {
        assert!(folder.join(figure).is_file(), "no {figure}");
    }
    assert!(!folder.join("surface.png").exists(), "a model has no surface figure");
    // The same run again is byte-identical, and `diff` finds nothing.
    let again = optsurf(dir.path(), &["run", "m.json", "--out", "o2", "--no-plots"]);
    assert!(again.status.success());
    for f in ["trajectories.json", "params.npy"] {
        assert_eq!(
            std::fs::read(folder.join(f)).unwrap(),
            std::fs::read(dir.path().join("o2/m").join(f)).unwrap(),
            "{f}"
        );
    }
}

#[test]
fn diff_sees_moved_weights_and_accept_takes_them() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "experiments/iris.csv", &iris());
    write(dir.path(), "experiments/m.json", &mlp_experiment(json!({})).to_string());
    let run = optsurf(dir.path(), &["run", "experiments", "--no-plots"]);
    assert!(run.status.success(), "{}", stderr(&run));
    let clean = optsurf(dir.path(), &["diff", "experiments"]);
    assert!(clean.status.success(), "{}{}", common::stdout(&clean), stderr(&clean));
    // Move one weight of the baseline's last snapshot: the losses still agree, the weights do not.
    let npy = dir.path().join("results/m/params.npy");
    let mut bytes = std::fs::read(&npy).unwrap();
    let at = bytes.len() - 4;
    let v = f32::from_le_bytes(bytes[at..].try_into().unwrap()) + 0.5;
    bytes[at..].copy_from_slice(&v.to_le_bytes());
    std::fs::write(&npy, &bytes).unwrap();
    let moved = optsurf(dir.path(), &["diff", "experiments", "--write-new"]);
    let report = common::stdout(&moved) + &stderr(&moved);
    assert_eq!(moved.status.code(), Some(1), "{report}");
    assert!(report.contains("weights depart at step 40"), "{report}");
    assert!(dir.path().join("results/m/params.npy.new").is_file(), "{report}");
    let accept = optsurf(dir.path(), &["accept"]);
    assert!(accept.status.success(), "{}", stderr(&accept));
    let after = optsurf(dir.path(), &["diff", "experiments"]);
    assert!(after.status.success(), "{}", common::stdout(&after));
}

/// The example binary `cargo test` builds beside the tests.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap().join("examples");
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "{} is not built: run the tests with `cargo test`",
        path.display()
    );
    path
}

#[test]
fn a_users_own_model_runs_through_the_whole_command_line() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "data/iris.csv", &iris());
    let json =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/custom_model.json")).unwrap();
    write(dir.path(), "examples/custom_model.json", &json);
    let bin = example("custom_model");
    let run = std::process::Command::new(&bin)
        .args(["run", "examples/custom_model.json", "--out", "o"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", stderr(&run));
    let t = read_json(&dir.path().join("o/cubic-iris/trajectories.json"));
    assert_eq!(t["params"]["layout"], json!([{"name": "coefficients", "shape": [4]}]));
    for r in t["runs"].as_array().unwrap() {
        let loss = r["loss"].as_array().unwrap();
        assert!(
            loss.last().unwrap().as_f64().unwrap() < 0.5 * loss[0].as_f64().unwrap(),
            "{}: {loss:?}",
            r["label"]
        );
        assert!(r.get("accuracy").is_none(), "a regression has no accuracy");
    }
    assert!(dir.path().join("o/cubic-iris/loss.png").is_file());
    // The stock binary does not know the model, and says so.
    let stock = optsurf(dir.path(), &["run", "examples/custom_model.json", "--out", "o2"]);
    assert_eq!(stock.status.code(), Some(2));
    assert!(stderr(&stock).contains("cubic"), "{}", stderr(&stock));
}

#[test]
fn a_study_over_a_model_varies_initial_weights_and_tunes_on_held_out_loss() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "iris.csv", &iris());
    let study = json!({
        "kind": "study", "name": "s",
        "surface": {"model": "mlp", "layers": [8], "activation": "tanh", "loss": "cross_entropy",
                    "data": {"csv": "iris.csv", "x": ["sepal_length", "petal_length"], "y": "species_id"},
                    "test_fraction": 0.2, "batch_size": 32},
        "steps": 30, "seeds": [0, 1, 2],
        "optimizers": [{"optimizer": "adam", "learning_rate": [0.001, 0.03]},
                       {"optimizer": "sgd", "learning_rate": [0.01, 0.3]}],
        "threshold": 0.3,
        "tune": {"objective": "median_test_loss"}
    });
    write(dir.path(), "s.json", &study.to_string());
    let out = optsurf(dir.path(), &["run", "s.json", "--out", "o"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let csv = std::fs::read_to_string(dir.path().join("o/s/runs.csv")).unwrap();
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .ends_with(",basin,test_loss,accuracy,test_accuracy")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 4 * 3);
    for r in &rows {
        assert_eq!(r.len(), 15);
        let acc: f64 = r[14].parse().unwrap();
        assert!((0.0..=1.0).contains(&acc));
    }
    // Each seed draws its own initial weights: the same configuration ends apart.
    assert_ne!(rows[0][7], rows[1][7]);
    let summary = read_json(&dir.path().join("o/s/study.json"));
    let configs = summary["configurations"].as_array().unwrap();
    assert!(
        configs
            .iter()
            .all(|c| c["median_test_loss"].is_f64() && c["median_test_accuracy"].is_f64())
    );
    // The tuned comparison takes, per optimizer, the rate with the lower median test loss.
    for (label, pair) in [("adam", [0, 1]), ("sgd", [2, 3])] {
        let loss = |i: usize| configs[i]["median_test_loss"].as_f64().unwrap();
        let best = if loss(pair[1]) < loss(pair[0]) {
            pair[1]
        } else {
            pair[0]
        };
        assert_eq!(summary["best"][label]["config"], json!(best), "{label}");
    }
    let tuned = read_json(&dir.path().join("o/s/tuned/trajectories.json"));
    assert_eq!(tuned["runs"].as_array().unwrap().len(), 2);
    assert!(tuned["params"].is_object());
}

fn iris_rejects(surface: Value, field: &str, expected: &str) {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "iris.csv", &iris());
    let e = json!({"name": "m", "surface": surface, "steps": 5, "runs": [{"optimizer": "sgd"}]});
    let path = write(dir.path(), "bad.json", &e.to_string());
    let out = optsurf(dir.path(), &["run", path.to_str().unwrap(), "--out", "o", "--no-plots"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line expected:\n{err}");
    assert!(
        err.contains("bad.json") && err.contains(&format!("`{field}`")),
        "{field}: {err}"
    );
    assert!(err.contains(expected), "{expected:?} not in: {err}");
    assert!(!dir.path().join("o").exists());
}

#[test]
fn bad_models_are_refused_with_the_file_and_field() {
    let iris = json!({"csv": "iris.csv", "x": ["sepal_length", "petal_length"], "y": "species_id"});
    let mlp = |extra: Value| {
        let mut m = json!({"model": "mlp", "layers": [8], "data": iris});
        for (k, v) in extra.as_object().unwrap() {
            m[k] = v.clone();
        }
        m
    };
    iris_rejects(
        mlp(json!({"layers": []})),
        "surface.layers",
        "at least one hidden layer",
    );
    iris_rejects(mlp(json!({"layers": [8, 0]})), "surface.layers[1]", "a width from 1");
    iris_rejects(
        mlp(json!({"layers": [2000, 2000]})),
        "surface.layers",
        "at most 1000000",
    );
    iris_rejects(mlp(json!({"activation": "swish"})), "surface.activation", "relu");
    iris_rejects(mlp(json!({"loss": "hinge"})), "surface.loss", "cross_entropy");
    let width = json!({"csv": "iris.csv", "x": ["sepal_length"], "y": "petal_width"});
    iris_rejects(mlp(json!({"data": width})), "surface.data.y", "whole-number classes");
    let missing = json!({"csv": "iris.csv", "x": ["sepal_length", "petal_size"], "y": "species_id"});
    iris_rejects(
        mlp(json!({"data": missing})),
        "surface.data.csv",
        "no column \"petal_size\"",
    );
    iris_rejects(mlp(json!({"test_fraction": 1.5})), "surface.test_fraction", "");
    rejects(
        &json!({"name": "m", "surface": {"model": "mlp", "layers": [4], "data": {"generate": "moons", "n": 50}},
                "start": [1, 2], "steps": 5, "runs": [{"optimizer": "sgd"}]})
        .to_string(),
        "start",
        "initial weights",
    );
    // Full-matrix AdaGrad keeps P x P numbers per run: [2, 32, 32, 1] has P = 1185.
    rejects(
        &json!({"name": "m", "surface": {"model": "mlp", "layers": [32, 32], "loss": "binary_cross_entropy",
                                         "data": {"generate": "moons", "n": 50}},
                "steps": 5, "runs": [{"optimizer": "adagrad_full"}]})
        .to_string(),
        "runs[0].optimizer",
        "at most 1024 parameters, this model has 1185",
    );
}

#[test]
fn an_init_file_must_match_the_model() {
    let dir = tempfile::tempdir().unwrap();
    // [2, 3, 1]: the second kernel is 3 x 1, the file gives 2 x 1.
    let init = json!({"layers": [{"kernel": [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]], "bias": [0, 0, 0]},
                                 {"kernel": [[0.1], [0.2]], "bias": [0]}]});
    write(dir.path(), "init.json", &init.to_string());
    let e = json!({"name": "m", "surface": {"model": "mlp", "layers": [3], "loss": "binary_cross_entropy",
                                            "data": {"generate": "moons", "n": 50}},
                   "start": {"file": "init.json"}, "steps": 5, "runs": [{"optimizer": "sgd"}]});
    write(dir.path(), "bad.json", &e.to_string());
    let out = optsurf(dir.path(), &["run", "bad.json", "--out", "o", "--no-plots"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("bad.json") && err.contains("`start`") && err.contains("init.json"),
        "{err}"
    );
    assert!(err.contains("layers[1].kernel") && err.contains("3 x 1"), "{err}");
    // The right shapes run, from exactly those weights.
    let init = json!({"layers": [{"kernel": [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]], "bias": [0, 0, 0]},
                                 {"kernel": [[0.1], [0.2], [0.3]], "bias": [0.5]}]});
    write(dir.path(), "init.json", &init.to_string());
    let out = optsurf(dir.path(), &["run", "bad.json", "--out", "o", "--no-plots"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (_, values) = read_npy(&dir.path().join("o/m/params.npy"));
    assert_eq!(
        &values[..13],
        &[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.0, 0.0, 0.0, 0.1, 0.2, 0.3, 0.5]
    );
}

#[test]
fn the_report_lists_a_model_with_its_architecture_data_and_metrics() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "experiments/iris.csv", &iris());
    write(dir.path(), "experiments/m.json", &mlp_experiment(json!({})).to_string());
    let run = optsurf(dir.path(), &["run", "experiments", "--no-plots"]);
    assert!(run.status.success(), "{}", stderr(&run));
    let report = optsurf(dir.path(), &["report"]);
    assert!(report.status.success(), "{}", stderr(&report));
    let index = std::fs::read_to_string(dir.path().join("results/index.html")).unwrap();
    // [2, 8, 3] tanh with cross-entropy: P = 2*8 + 8 + 8*3 + 3 = 51.
    assert!(
        index.contains("mlp [2, 8, 3] tanh, cross_entropy (P = 51)"),
        "no architecture in the page"
    );
    assert!(
        index.contains("iris.csv (sepal_length, petal_length → species_id)"),
        "no data in the page"
    );
    for column in ["final test loss", "accuracy", "test accuracy"] {
        assert!(
            index.contains(&format!("<th class=\"num\">{column}</th>")),
            "no {column} column"
        );
    }
    // The last test accuracy of each run, as trajectories.json has it.
    let t = read_json(&dir.path().join("results/m/trajectories.json"));
    for r in t["runs"].as_array().unwrap() {
        let last = r["test_accuracy"].as_array().unwrap().last().unwrap().as_f64().unwrap();
        let shown = format!("{}", (last * 1e6).round() / 1e6);
        assert!(index.contains(&shown[..shown.len().min(6)]), "{shown} not in the page");
    }
    assert!(!index.contains("noise seed"), "a model has no noise");
    assert!(
        !dir.path().join("results/m/view.html").exists(),
        "a model has no 2D view"
    );
}

#[test]
fn init_files_are_found_as_data_files_are_and_hostile_ones_refused() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "deep.json", &("[".repeat(100_000) + &"]".repeat(100_000)));
    write(dir.path(), "empty.json", "");
    let cases = [
        ("../x.json", "`..` is not allowed"),
        ("/etc/passwd", "absolute paths are not allowed"),
        ("deep.json", "not JSON"),
        ("empty.json", "not JSON"),
        ("nope.json", "no such file"),
    ];
    for (file, expected) in cases {
        let e = json!({"name": "m", "surface": {"model": "mlp", "layers": [3], "loss": "binary_cross_entropy",
                                                "data": {"generate": "moons", "n": 50}},
                       "start": {"file": file}, "steps": 3, "runs": [{"optimizer": "sgd"}]});
        write(dir.path(), "e.json", &e.to_string());
        let out = optsurf(dir.path(), &["run", "e.json", "--out", "o", "--no-plots"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{file}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{file}: {err}");
        assert!(
            err.contains("e.json") && err.contains("`start`") && err.contains(expected),
            "{file}: {err}"
        );
        assert!(!dir.path().join("o").exists(), "{file}: something was written");
    }
}
