//! Structured fuzzing of experiment and study files: thousands of mutations of valid files (wrong types,
//! huge and tiny numbers, NaN/inf text, unicode, deep nesting, missing, unknown and duplicated
//! fields, truncation, hostile expression surfaces) never panic; each is accepted or refused with
//! one line naming the file. A sample goes through the binary to check the exit codes (0 or 2) and
//! the one-line message.

mod common;
use common::{SplitMix64, all_files, tempfile};
use optsurf::Registry;
use optsurf::backend::Backend;
use optsurf::experiment::study::Study;
use optsurf::experiment::{Experiment, runner};

use serde_json::{Map, Value, json};
use std::path::Path;
use std::process::Command;

/// Valid files to start from: the post's kind, a classic with a contour view, an expression
/// surface, schedules, two studies, a data surface and a vectors experiment.
fn seeds() -> Vec<Value> {
    vec![
        json!({"name": "a", "title": "t", "surface": "f0", "noise": {"seed": 3, "lookup": "nearest"},
               "start": [9.0, 9.0], "steps": 6, "plot": {"view": [40, -70], "zlim": [0, 1.5], "legend": true},
               "runs": [{"label": "SGD", "optimizer": "sgd", "learning_rate": 10.0, "momentum": 0.9, "nesterov": true},
                        {"label": "Adam", "optimizer": "adamw", "learning_rate": 1.0, "weight_decay": 0.0, "start": [-5, 2]},
                        {"label": "F", "optimizer": "ftrl", "learning_rate": 1.0, "l1_regularization_strength": 0.01}]}),
        json!({"name": "b", "surface": "himmelblau", "domain": [[-5, 5], [-5, 5]], "start": [0, 0], "steps": 5,
               "plot": {"view": "contour", "animate": false, "colors": ["#112233", "#445566"], "max_frames": 10},
               "runs": [{"label": "L", "optimizer": "lion", "learning_rate": 0.05, "beta_1": 0.9},
                        {"label": "N", "optimizer": "nadam", "learning_rate": {"schedule": "CosineDecay",
                         "initial_learning_rate": 0.3, "decay_steps": 4, "warmup_target": 0.5, "warmup_steps": 1}}]}),
        json!({"name": "c", "surface": {"expr": "(1 - x)^2 + 100 * (y - x^2)^2 + 0.01 * r", "domain": [[-2, 2], [-1, 3]],
                                         "minima": [[1, 1]]},
               "start": [-1.5, 2], "steps": 4,
               "runs": [{"label": "R", "optimizer": "rmsprop", "learning_rate": {"schedule": "PiecewiseConstantDecay",
                         "boundaries": [2], "values": [0.01, 0.001]}, "centered": true},
                        {"label": "G", "optimizer": "adagrad_full", "learning_rate": 0.1}]}),
        json!({"kind": "study", "name": "s", "surface": "himmelblau", "steps": 6, "starts": {"grid": [3, 2]},
               "seeds": [0, 4], "gradient_noise": {"sigma": 0.1}, "threshold": 0.01,
               "optimizers": [{"optimizer": "sgd", "learning_rate": {"logspace": [0.001, 0.1, 3]}, "momentum": [0.0, 0.9]},
                              {"label": "A", "optimizer": "adam", "learning_rate": {"linspace": [0.1, 1.0, 2]}}],
               "tune": {"objective": "success_rate", "start": [1, 1]}}),
        json!({"kind": "study", "name": "r", "surface": "f1", "noise": {"seed": 1}, "steps": 4,
               "starts": {"random": 5, "seed": 9}, "optimizers": [{"optimizer": "lion", "learning_rate": [0.1, 1.0]}]}),
        json!({"name": "d", "surface": {"model": "linear_regression", "batch_size": 16,
                                         "data": {"csv": "data/iris.csv", "x": "petal_length", "y": "petal_width"}},
               "start": [0, 0], "steps": 4, "runs": [{"label": "S", "optimizer": "sgd", "learning_rate": 0.1}]}),
        json!({"name": "v", "kind": "adagrad_vectors", "full": true, "seed": 32, "steps": 8, "scales": [0.5, 2.0],
               "delta": 1e-5, "xlim": [-1, 1], "ylim": [0, 2]}),
    ]
}

/// Replacement values for a node.
fn odd_value(rng: &mut SplitMix64) -> Value {
    let deep = (0..150).fold(json!(1), |v, _| json!([v]));
    let choices = [
        json!("fast"),
        json!(""),
        json!("αβγ \u{202e}émoji 😀"),
        json!(0),
        json!(-1),
        json!(1e308),
        json!(-1e308),
        json!(1e-320),
        json!(3.5),
        json!(u64::MAX),
        json!(-9_223_372_036_854_775_807i64),
        json!(true),
        Value::Null,
        json!([]),
        json!([1, 2, 3]),
        json!({}),
        json!({"schedule": "Nope"}),
        json!({"expr": "x ^ ^"}),
        deep,
        // Paths that leave the project, files that are not regular, a long name.
        json!("../../../etc/passwd"),
        json!("/etc/passwd"),
        json!("/dev/zero"),
        json!("data/../../Cargo.toml"),
        json!("a".repeat(5000)),
    ];
    choices[(rng.next_u64() % choices.len() as u64) as usize].clone()
}

/// Every path to a node of `v` (object keys and array indices).
fn paths(v: &Value, prefix: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
    out.push(prefix.clone());
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                prefix.push(json!(k));
                paths(c, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                prefix.push(json!(i));
                paths(c, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

fn node<'a>(v: &'a mut Value, path: &[Value]) -> &'a mut Value {
    path.iter().fold(v, |v, p| match p {
        Value::String(k) => &mut v[k.as_str()],
        Value::Number(i) => &mut v[i.as_u64().unwrap() as usize],
        _ => unreachable!(),
    })
}

/// Expressions that used to crash the binary (deep nesting, long sums, constants, huge powers),
/// at depths around and far past the nesting limit, and the NumPy-style functions and slips.
fn hostile_expression(rng: &mut SplitMix64) -> String {
    let mut pick = |n: usize| (rng.next_u64() % n as u64) as usize;
    let depth = [1, 255, 256, 257, 3_000, 20_000][pick(6)];
    let one = |list: &[&str], k: usize| list[k % list.len()].to_string();
    match pick(8) {
        0 => format!("{}x{}", "(".repeat(depth), ")".repeat(depth)),
        1 => format!("{}x", "-".repeat(depth)),
        2 => vec!["x"; depth + 1].join(["^", "**"][pick(2)]),
        3 => format!("{}y{}", "sin(".repeat(depth), ")".repeat(depth)),
        4 => {
            let terms = ["x * y", "sin(x)", "0.01 * r", "y / 3"];
            let n = [1, 10, 1_000, 3_000][pick(4)];
            (0..n)
                .map(|k| terms[k % 4])
                .collect::<Vec<_>>()
                .join([" + ", " - ", " * "][pick(3)])
        }
        5 => one(
            &[
                "3",
                "pi",
                "1+2",
                "sin(1)",
                "min(1,2)",
                "-e",
                "where(0, x, 2)",
                "1/0",
                "ln(0)",
                "0 * r",
            ],
            pick(10),
        ),
        6 => one(
            &[
                "x^1e19",
                "x^-1e300",
                "y^1e400 + x",
                "2^1e19",
                "x ** -65",
                "(x - 1)^65 * y",
                "x^(0/0)",
                "x^9.2e18",
            ],
            pick(8),
        ),
        _ => one(
            &[
                "where(x > y, log(1 + x^2), atan2(y, x))",
                "sigmoid(x * y) + hypot(x, y) - (x <= 0) * expm1(y)",
                "pow(abs(x), 1.5) + floor(y) + ceil(x) * sign(y)",
                "log2(1 + square(x)) + log1p(abs(y)) == 1",
                "x < y < 1",
                "x^^2",
                "atan3(y, x)",
                "np.sin(x)",
            ],
            pick(8),
        ),
    }
}

/// One structured mutation of a valid file, as text.
fn mutate(seed: &Value, rng: &mut SplitMix64) -> String {
    let mut v = seed.clone();
    if v.get("surface").is_some() && rng.next_u64().is_multiple_of(4) {
        v["surface"] = json!({"expr": hostile_expression(rng)});
    }
    let rounds = 1 + rng.next_u64() % 3;
    for _ in 0..rounds {
        let mut all = Vec::new();
        paths(&v, &mut Vec::new(), &mut all);
        let path = all[(rng.next_u64() % all.len() as u64) as usize].clone();
        match rng.next_u64() % 5 {
            0 | 1 => *node(&mut v, &path) = odd_value(rng),
            2 => {
                // Remove a field (or empty an array).
                if let Some((last, parent)) = path.split_last() {
                    match (node(&mut v, parent), last) {
                        (Value::Object(m), Value::String(k)) => {
                            m.remove(k);
                        }
                        (Value::Array(a), Value::Number(i)) => {
                            a.remove(i.as_u64().unwrap() as usize);
                        }
                        _ => {}
                    }
                }
            }
            3 => {
                // An unknown field beside a known one.
                if let Value::Object(m) = node(&mut v, &path) {
                    m.insert("bogus_field".into(), json!(1));
                }
            }
            _ => {
                // Huge or tiny numbers where numbers are.
                if let Value::Number(_) = node(&mut v, &path) {
                    let n = [1e300, -1e300, 1e-300, 0.0, -0.0, 1e9, 123_456_789.0];
                    *node(&mut v, &path) = json!(n[(rng.next_u64() % n.len() as u64) as usize]);
                }
            }
        }
    }
    let mut text = serde_json::to_string(&v).unwrap();
    // Textual mutations JSON values cannot carry: NaN/inf tokens, duplicated fields, truncation.
    match rng.next_u64() % 8 {
        0 => text = text.replacen("9.0", "NaN", 1),
        1 => text = text.replacen("1.0", "Infinity", 1),
        2 => text = text.replacen("{\"", "{\"name\": \"dup\", \"", 1),
        3 => {
            let cut = (rng.next_u64() % text.len() as u64) as usize;
            text = text.chars().take(cut).collect();
        }
        4 => text = text.replacen('"', "\"\u{00e9}", 1),
        _ => {}
    }
    text
}

/// Parses (and, when it parses, runs a few steps of) a mutated file; panics are caught.
fn check_in_process(text: &str, registry: &Registry) -> Result<bool, String> {
    let path = Path::new("fuzz-case.json");
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let kind = serde_json::from_str::<Map<String, Value>>(text)
            .ok()
            .and_then(|m| m.get("kind").cloned());
        if kind == Some(json!("study")) {
            return Study::parse(
                text,
                path,
                registry,
                &optsurf::backend::Backend::default().device().unwrap(),
            )
            .map(|mut s| {
                s.steps = s.steps.min(5);
                let rows = s.rows().min(2000);
                let outcomes = s.run_rows(0..rows, &Backend::default().device().unwrap(), &mut |_| {});
                if rows == s.rows() {
                    optsurf::results::StudySummary::new(&s, &outcomes).to_text();
                    // The tuned comparison a study writes is always a valid experiment.
                    let tuned = s.tuned_experiment(&outcomes).to_text();
                    Experiment::parse(
                        &tuned,
                        Path::new("tuned.json"),
                        registry,
                        &optsurf::backend::Backend::default().device().unwrap(),
                    )
                    .unwrap_or_else(|e| panic!("tuned experiment refused: {e}"));
                }
            })
            .map_err(|e| e.to_string());
        }
        if kind.is_some() {
            return optsurf::experiment::Vectors::parse(text, path)
                .map(|v| {
                    v.compute();
                })
                .map_err(|e| e.to_string());
        }
        match Experiment::parse(
            text,
            path,
            registry,
            &optsurf::backend::Backend::default().device().unwrap(),
        ) {
            Ok(mut e) => {
                e.steps = e.steps.min(5);
                let device = Backend::default().device().unwrap();
                runner::run(&e, &device, &mut []);
                Ok(())
            }
            Err(e) => Err(e.to_string()),
        }
    }));
    match outcome {
        Err(_) => Err(format!("panicked on: {text}")),
        Ok(Ok(())) => Ok(true),
        Ok(Err(message)) => {
            if message.lines().count() != 1 || !message.starts_with("fuzz-case.json") {
                return Err(format!("not one line naming the file: {message:?}\non: {text}"));
            }
            Ok(false)
        }
    }
}

#[test]
fn thousands_of_mutated_files_never_panic_and_errors_name_the_file() {
    let registry = Registry::builtin();
    let seeds = seeds();
    let mut rng = SplitMix64::new(2026);
    let (mut accepted, mut refused) = (0, 0);
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {})); // panics are reported below, with their input
    let mut failures = Vec::new();
    for k in 0..3000 {
        let text = mutate(&seeds[k % seeds.len()], &mut rng);
        match check_in_process(&text, &registry) {
            Ok(true) => accepted += 1,
            Ok(false) => refused += 1,
            Err(e) => failures.push(e),
        }
    }
    std::panic::set_hook(previous);
    assert!(
        failures.is_empty(),
        "{} failures, first: {}",
        failures.len(),
        failures[0]
    );
    // Both outcomes occur: the mutations are neither all harmless nor all fatal.
    assert!(
        accepted > 100 && refused > 1000,
        "accepted {accepted}, refused {refused}"
    );
}

#[test]
fn the_binary_exits_0_or_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let seeds = seeds();
    let mut rng = SplitMix64::new(7);
    for k in 0..60 {
        let mut text = mutate(&seeds[k % seeds.len()], &mut rng);
        // Keep accepted runs short.
        text = text.replace("\"steps\":6", "\"steps\":2");
        let file = dir.path().join(format!("case{k}.json"));
        std::fs::write(&file, &text).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_optsurf"))
            .args(["run", file.to_str().unwrap(), "--no-plots", "--out"])
            .arg(dir.path().join("out"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        match out.status.code() {
            Some(0) => {}
            Some(2) => {
                assert_eq!(err.trim_end().lines().count(), 1, "{text}\n{err}");
                assert!(err.starts_with(&format!("error: {}", file.display())), "{text}\n{err}");
            }
            other => panic!("exit {other:?} for {text}\n{err}"),
        }
    }
}

/// A hostile file mutation as `(experiment path to run, text)`: a data file named by `..` or
/// an absolute path, or one that is a device, a FIFO, a folder or no CSV; a long or odd name;
/// the experiment itself reached through `..` or an absolute path.
fn hostile_case(seed: &Value, work: &Path, rng: &mut SplitMix64) -> (String, String) {
    let mut pick = |n: usize| (rng.next_u64() % n as u64) as usize;
    let mut v = seed.clone();
    let secret = work.parent().unwrap().join("secret.txt").display().to_string();
    let long = |c: &str, n: usize| c.repeat(n);
    match pick(3) {
        0 => {
            let csv = [
                "../secret.txt",
                "../../../../../../../../etc/passwd",
                &secret,
                "/dev/zero",
                "zero.csv",
                "fifo.csv",
                "folder.csv",
                "passwd.csv",
                "data/../data.csv",
                "./data.csv",
                "data.csv",
                "",
                "..",
                "/",
                &long("a/", 3000),
            ][pick(15)]
            .to_string();
            let column = |k: usize| ["u", "v", "a", "w\u{1b}[2J"][k].to_string();
            let (x, y) = (column(pick(4)), column(pick(4)));
            v["surface"] = json!({"model": "linear_regression", "data": {"csv": csv, "x": x, "y": y}});
            v["domain"] = json!([[-3, 3], [-3, 3]]);
        }
        1 => {
            let unit = ["a", "é", "-", "a/b", "..", "\u{0}", "😀"][pick(7)];
            v["name"] = json!(long(unit, [1, 99, 100, 101, 255, 5000][pick(6)]));
        }
        _ => {}
    }
    let path = [
        "case.json".to_string(),
        "experiments/../case.json".to_string(),
        "experiments/../../work/case.json".to_string(),
        work.join("case.json").display().to_string(),
        format!(
            "{}/experiments/{}{}/case.json",
            work.display(),
            "../".repeat(30),
            work.display()
        ),
    ][pick(5)]
    .clone();
    (path, v.to_string())
}

#[test]
fn hostile_paths_files_and_names_exit_0_or_2_and_write_only_inside_out() {
    let root = tempfile::tempdir().unwrap();
    let work = root.path().join("work");
    std::fs::create_dir_all(work.join("experiments")).unwrap();
    std::fs::create_dir(work.join("folder.csv")).unwrap();
    std::fs::write(root.path().join("secret.txt"), "root:SECRET:0:0\n1\n").unwrap();
    std::fs::write(work.join("passwd.csv"), "root:SECRET:0:0:/root\n1\n").unwrap();
    std::fs::write(work.join("data.csv"), "u,v\n1,2\n2,3\n3,5\n").unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("/dev/zero", work.join("zero.csv")).unwrap();
        let _ = Command::new("mkfifo").arg(work.join("fifo.csv")).status();
    }
    let seeds = seeds();
    let mut rng = SplitMix64::new(19);
    let (mut accepted, mut refused) = (0, 0);
    for k in 0..48 {
        // The post's kind, the classic and the expression surface: steps cut to 2.
        let (path, text) = hostile_case(&seeds[k % 3], &work, &mut rng);
        let text = text.replace("\"steps\":6", "\"steps\":2");
        std::fs::write(work.join("case.json"), &text).unwrap();
        let _ = std::fs::remove_dir_all(work.join("out"));
        let before = all_files(root.path());
        let out = Command::new(env!("CARGO_BIN_EXE_optsurf"))
            .args(["run", &path, "--no-plots", "--out", "out"])
            .current_dir(&work)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        // Nothing of a file outside is echoed, and no control character reaches the terminal.
        assert!(
            !err.contains("SECRET") && !err.contains('\u{1b}'),
            "{path}: {text}\n{err}"
        );
        match out.status.code() {
            Some(0) => accepted += 1,
            Some(2) => {
                refused += 1;
                assert_eq!(err.trim_end().lines().count(), 1, "{text}\n{err}");
                assert!(err.starts_with(&format!("error: {path}")), "{text}\n{err}");
            }
            other => panic!("exit {other:?} for {path}: {text}\n{err}"),
        }
        for file in all_files(root.path()).difference(&before) {
            assert!(file.starts_with(work.join("out")), "{path} wrote {}", file.display());
        }
    }
    assert!(accepted > 5 && refused > 5, "accepted {accepted}, refused {refused}");
}

#[test]
fn tampered_shard_files_exit_0_or_2_naming_the_shard_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let study = json!({"kind": "study", "name": "s", "surface": "himmelblau", "steps": 3, "starts": {"grid": [2, 2]},
                       "optimizers": [{"optimizer": "sgd", "learning_rate": [0.01, 0.1]}]});
    std::fs::write(d.join("s.json"), study.to_string()).unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_optsurf"))
            .args(args)
            .current_dir(d)
            .output()
            .unwrap()
    };
    let o = run(&["run", "s.json", "--shard", "0/1", "--out", "sh", "--no-plots"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let file = d.join("sh/s/shard.json");
    let valid: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let mut rng = SplitMix64::new(8);
    let mut refused = 0;
    for _ in 0..40 {
        let mut v = valid.clone();
        let mut all = Vec::new();
        paths(&v, &mut Vec::new(), &mut all);
        // Not the study's text: its mutations are the in-process test's.
        all.retain(|p| p.first() != Some(&json!("study")));
        let path = all[(rng.next_u64() % all.len() as u64) as usize].clone();
        *node(&mut v, &path) = match rng.next_u64() % 3 {
            0 => odd_value(&mut rng),
            1 => json!([5, 3]),
            _ => json!(1e18),
        };
        std::fs::write(&file, v.to_string()).unwrap();
        let _ = std::fs::remove_dir_all(d.join("m"));
        let o = run(&["merge", "sh/s", "--out", "m", "--no-plots"]);
        let err = String::from_utf8_lossy(&o.stderr);
        match o.status.code() {
            Some(0) => {}
            Some(2) => {
                refused += 1;
                assert_eq!(err.trim_end().lines().count(), 1, "{v}\n{err}");
                assert!(err.contains("shard.json"), "{v}\n{err}");
                assert!(!d.join("m").exists(), "{v}");
            }
            other => panic!("exit {other:?} for {v}\n{err}"),
        }
    }
    assert!(refused > 20, "refused {refused}");
}

#[test]
fn an_unwritable_results_folder_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("e.json");
    std::fs::write(&file, seeds()[0].to_string()).unwrap();
    let blocker = dir.path().join("blocker");
    std::fs::write(&blocker, "a file, not a folder").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_optsurf"))
        .args(["run", file.to_str().unwrap(), "--no-plots", "--out"])
        .arg(blocker.join("sub"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("blocker") && err.contains("cannot"), "{err}");
}
