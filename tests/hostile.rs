//! Hostile but realistic inputs (issue 19, items 5 to 10): nothing is written outside the output
//! folder, no local file is echoed, reads are bounded and of regular files only, `shard.json` is
//! checked before use, a study's size is checked before anything is allocated, and the smaller
//! cases (shard overflow, stale temporary files, old figures, unreadable inputs, long names). Each
//! ends with exit 0, 2 or 3 and one line naming the file.

mod common;
use common::tempfile;
use common::{all_files, optsurf, read_json, rejects, stderr, write};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Output;

/// A small experiment called `name`.
fn experiment(name: &str) -> String {
    json!({"name": name, "surface": "himmelblau", "start": [1.0, 1.0], "steps": 3,
           "runs": [{"label": "SGD", "optimizer": "sgd", "learning_rate": 0.01}]})
    .to_string()
}

/// An experiment over a CSV `csv` with columns `x` and `y`.
fn data_experiment(csv: &str, x: &str, y: &str) -> String {
    json!({"name": "d", "surface": {"model": "linear_regression", "data": {"csv": csv, "x": x, "y": y}},
           "start": [0.0, 0.0], "steps": 3, "runs": [{"label": "SGD", "optimizer": "sgd", "learning_rate": 0.1}]})
    .to_string()
}

const STUDY: &str = r#"{"kind": "study", "name": "small", "surface": "himmelblau", "steps": 5,
  "starts": {"grid": [3, 2]}, "optimizers": [{"optimizer": "sgd", "learning_rate": [0.001, 0.01]}]}"#;

/// Asserts an exit 2 with one line that names `file` and contains every one of `expected`.
fn refused(out: &Output, file: &str, expected: &[&str]) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line expected:\n{err}");
    assert!(err.contains(file), "no {file} in: {err}");
    for e in expected {
        assert!(err.contains(e), "no {e:?} in: {err}");
    }
    err
}

/// Item 5: `..` and absolute paths to experiments never lead a result out of `--out`.
#[test]
fn run_with_dot_dot_and_absolute_paths_writes_only_inside_the_output_folder() {
    let root = tempfile::tempdir().unwrap();
    let work = root.path().join("work");
    write(&work, "experiments/e.json", &experiment("e"));
    write(&work, "other/x.json", &experiment("x"));
    let abs = work.join("other/x.json");
    // Up past the root and down again.
    let deep = format!("{}/experiments/{}{}", work.display(), "../".repeat(40), abs.display());
    let cases = [
        "experiments/../other/x.json".to_string(),
        "experiments/../../work/other/x.json".to_string(),
        "./experiments/./../other/../other/x.json".to_string(),
        abs.display().to_string(),
        format!("{}/experiments/../other/x.json", work.display()),
        deep,
    ];
    for (k, path) in cases.iter().enumerate() {
        let before = all_files(root.path());
        let out = format!("out/esc{k}");
        // The first case draws the figures too.
        let mut args = vec!["run", path.as_str(), "--out", &out];
        if k > 0 {
            args.push("--no-plots");
        }
        let o = optsurf(&work, &args);
        assert!(o.status.success(), "{path}: {}", stderr(&o));
        let output = work.join(&out);
        let new: Vec<PathBuf> = all_files(root.path()).difference(&before).cloned().collect();
        assert!(!new.is_empty());
        for file in &new {
            assert!(
                file.starts_with(&output),
                "{path} wrote {} outside {out}",
                file.display()
            );
        }
        assert!(output.join("x/trajectories.json").is_file(), "{path}: {new:?}");
    }
    // Under `experiments`, the mirror still holds.
    let o = optsurf(&work, &["run", "experiments/e.json", "--out", "out/m", "--no-plots"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(work.join("out/m/e/trajectories.json").is_file());
}

/// Item 5: `merge` without `--out` follows a tampered `source` only into `results`.
#[test]
fn merge_follows_a_shard_source_only_into_results() {
    let root = tempfile::tempdir().unwrap();
    let work = root.path().join("work");
    write(&work, "small.json", STUDY);
    let o = optsurf(
        &work,
        &["run", "small.json", "--shard", "0/1", "--out", "sh", "--no-plots"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let shard = work.join("sh/small/shard.json");
    let original = read_json(&shard);
    let sources = [
        "experiments/../../../escape/small.json".to_string(),
        "../../../../../../../../escape/experiments/../../small.json".to_string(),
        format!("{}/../escape/experiments/../x/small.json", work.display()),
        "/tmp/experiments/../../etc/small.json".to_string(),
    ];
    for source in sources {
        let mut tampered = original.clone();
        tampered["source"] = json!(source);
        std::fs::write(&shard, serde_json::to_string(&tampered).unwrap()).unwrap();
        let _ = std::fs::remove_dir_all(work.join("results"));
        let before = all_files(root.path());
        let o = optsurf(&work, &["merge", "sh/small", "--no-plots"]);
        assert!(o.status.success(), "{source}: {}", stderr(&o));
        for file in all_files(root.path()).difference(&before) {
            assert!(
                file.starts_with(work.join("results")),
                "{source}: wrote {}",
                file.display()
            );
        }
        assert!(work.join("results/small/runs.csv").is_file(), "{source}");
    }
}

/// Item 6: data files are relative paths without `..`; nothing of a file that is not a CSV is
/// echoed, in the terminal or in the report.
#[test]
fn data_files_outside_the_project_are_refused_and_never_echoed() {
    let root = tempfile::tempdir().unwrap();
    let work = root.path().join("work");
    let secret = write(
        root.path(),
        "secret.txt",
        "root:SECRET:0:0:root:/root:/bin/bash\n1\n2\n",
    );
    write(&work, "passwd.csv", "root:SECRET:0:0:root:/root:/bin/bash\n1\n2\n");
    write(&work, "wide.csv", &format!("u,{}\n1,2\n", "SECRET".repeat(20)));
    write(&work, "cell.csv", "u,v\n1,2\n3,SECRET\n");
    let abs = secret.display().to_string();
    let cases: [(&str, &[&str]); 6] = [
        (&abs, &["surface.data.csv", "absolute paths are not allowed"]),
        ("../secret.txt", &["surface.data.csv", "`..` is not allowed"]),
        ("data/../../secret.txt", &["surface.data.csv", "`..` is not allowed"]),
        (
            "passwd.csv",
            &["surface.data.csv", "no column \"a\"", "not a CSV header"],
        ),
        ("wide.csv", &["surface.data.csv", "no column \"a\"", "not a CSV header"]),
        ("nowhere.csv", &["surface.data.csv", "no such file"]),
    ];
    for (csv, expected) in cases {
        write(&work, "e.json", &data_experiment(csv, "a", "v"));
        let o = optsurf(&work, &["run", "e.json", "--out", "o", "--no-plots"]);
        let err = refused(&o, "e.json", expected);
        assert!(!err.contains("SECRET"), "{csv}: {err}");
        assert!(
            err.contains("relative path without `..`") || csv.ends_with(".csv"),
            "{err}"
        );
    }
    // A cell of a file whose header is a CSV's is quoted, but not of one whose is not.
    write(&work, "e.json", &data_experiment("cell.csv", "u", "v"));
    let o = optsurf(&work, &["run", "e.json", "--out", "o", "--no-plots"]);
    refused(
        &o,
        "e.json",
        &["row 3, column \"v\": \"SECRET\" is not a finite number"],
    );
    assert!(!work.join("o").exists());

    // The report: a trajectories.json naming such a file gets no line of it into the pages.
    write(&work, "data.csv", "u,v\n1,2\n2,3\n3,5\n4,4\n");
    write(&work, "e.json", &data_experiment("data.csv", "u", "v"));
    let o = optsurf(&work, &["run", "e.json", "--out", "res", "--no-plots"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let trajectories = work.join("res/d/trajectories.json");
    let text = std::fs::read_to_string(&trajectories).unwrap();
    assert!(text.contains("\"data.csv\""));
    // Found under the working folder: a file that is no CSV, one whose names are too long, one
    // whose cell an error quotes; and files outside.
    for csv in [
        abs.as_str(),
        "../../../secret.txt",
        "passwd.csv",
        "wide.csv",
        "cell.csv",
    ] {
        std::fs::write(&trajectories, text.replace("\"data.csv\"", &json!(csv).to_string())).unwrap();
        let o = optsurf(&work, &["report", "res"]);
        assert!(o.status.success(), "{csv}: {}", stderr(&o));
        for page in all_files(&work.join("res")) {
            if page.extension().is_some_and(|e| e == "html") {
                let html = std::fs::read_to_string(&page).unwrap();
                assert!(!html.contains("SECRET"), "{csv}: {} shows the file", page.display());
            }
        }
        let view = std::fs::read_to_string(work.join("res/d/view.html")).unwrap();
        assert!(view.contains("surface.data.csv"), "{csv}: the view says which field");
        // `optsurf plot` says why, in one line that echoes nothing of the file either.
        let o = optsurf(&work, &["plot", "res/d/trajectories.json"]);
        let err = refused(&o, "trajectories.json", &["`surface.data.csv`"]);
        assert!(!err.contains("SECRET") || csv == "cell.csv", "{csv}: {err}");
    }
}

/// Item 7: only regular files are read, up to a cap; an error quotes at most 80 characters.
#[test]
fn devices_fifos_huge_files_and_huge_cells_are_refused_in_one_short_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::os::unix::fs::symlink("/dev/zero", d.join("zero.csv")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", d.join("zero.json")).unwrap();
    let fifo = std::process::Command::new("mkfifo").arg(d.join("fifo.csv")).status();
    let fifo = fifo.is_ok_and(|s| s.success());
    std::fs::create_dir(d.join("folder.csv")).unwrap();
    let mut sources = vec!["zero.csv", "folder.csv"];
    if fifo {
        sources.push("fifo.csv");
    }
    for csv in sources {
        write(d, "e.json", &data_experiment(csv, "u", "v"));
        let o = optsurf(d, &["run", "e.json", "--out", "o", "--no-plots"]);
        refused(&o, "e.json", &["surface.data.csv", csv, "is not a regular file"]);
    }
    // An experiment file that is a device: the same rule.
    let o = optsurf(d, &["run", "zero.json", "--out", "o", "--no-plots"]);
    refused(&o, "zero.json", &["a character device is not a regular file"]);
    // A file larger than an experiment file may be (sparse: nothing is written or read).
    let big = std::fs::File::create(d.join("big.json")).unwrap();
    big.set_len(65 << 20).unwrap();
    let o = optsurf(d, &["run", "big.json", "--out", "o", "--no-plots"]);
    refused(
        &o,
        "big.json",
        &["65 MB is more than the 64 MB an experiment file may have"],
    );
    // A 20 MB cell is quoted as 80 characters and an ellipsis.
    write(d, "huge.csv", &format!("u,v\n1,2\n2,{}\n", "7a".repeat(10 << 20)));
    write(d, "e.json", &data_experiment("huge.csv", "u", "v"));
    let o = optsurf(d, &["run", "e.json", "--out", "o", "--no-plots"]);
    let err = refused(&o, "e.json", &["row 3, column \"v\"", "\"… is not a finite number"]);
    assert!(err.len() < 400, "{} bytes: {}", err.len(), &err[..400]);
    assert!(!d.join("o").exists());
}

/// Item 8: every field of `shard.json` is checked before `merge` uses it.
#[test]
fn tampered_shard_files_are_refused_naming_the_file_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "small.json", STUDY);
    let o = optsurf(d, &["run", "small.json", "--shard", "0/1", "--out", "sh", "--no-plots"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let shard = d.join("sh/small/shard.json");
    let original = std::fs::read_to_string(&shard).unwrap();
    let valid: Value = serde_json::from_str(&original).unwrap();
    let with = |field: &str, value: Value| {
        let mut v = valid.clone();
        v[field] = value;
        v.to_string()
    };
    let cases = [
        (with("shard", json!([5, 3])), "shard", "0 <= i < n"),
        (with("shard", json!([0, 1e18])), "shard", "floating point"),
        (
            with("shard", json!([0, 1_000_000_000_000_000_000u64])),
            "shard",
            "<= 10000000",
        ),
        (with("shard", json!([0])), "shard", "expected"),
        (with("rows", json!([0, 1e18])), "rows", "floating point"),
        (
            with("rows", json!([0, 1_000_000_000_000_000_000u64])),
            "rows",
            "first <= end <= total",
        ),
        (with("rows", json!([4, 2])), "rows", "first <= end <= total"),
        (with("total", json!(u64::MAX)), "total", "more than a study may have"),
        (with("total", json!(-1)), "total", "expected"),
        (with("source", json!("")), "source", "the study file's path"),
        (
            with("source", json!("a/".repeat(3000))),
            "source",
            "the study file's path",
        ),
        (with("study", json!("{")), "study", "not a valid study"),
        (
            with("study", json!(STUDY.replace("\"small\"", "\"../up\""))),
            "study",
            "not a valid name",
        ),
        (with("extra", json!(1)), "extra", "unknown field"),
        ("[1, 2]".to_string(), "", "expected"),
        (original[..original.len() / 2].to_string(), "", "EOF"),
    ];
    for (text, field, expected) in cases {
        std::fs::write(&shard, &text).unwrap();
        let o = optsurf(d, &["merge", "sh/small", "--out", "m", "--no-plots"]);
        let mut wanted = vec![expected];
        // The field, or one below it (`shard[1]`).
        let field = format!("`{field}");
        if field != "`" {
            wanted.push(&field);
        }
        refused(&o, "shard.json", &wanted);
        assert!(!d.join("m").exists());
    }
    // Rows that do not match the study (a consistent but false shard) are the shard's too.
    std::fs::write(&shard, with("rows", json!([0, 3]))).unwrap();
    let o = optsurf(d, &["merge", "sh/small", "--out", "m", "--no-plots"]);
    refused(&o, "shard.json", &["`rows`", "not this shard's"]);
    // A shard.json that is a device.
    std::fs::remove_file(&shard).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &shard).unwrap();
    let o = optsurf(d, &["merge", "sh/small", "--out", "m", "--no-plots"]);
    refused(&o, "shard.json", &["is not a regular file"]);
}

/// Item 9: a study's size is checked from its counts, before anything is allocated, and the
/// error names the factor that is too large with the limit.
#[test]
fn large_studies_are_refused_up_front_naming_the_real_cause() {
    let study = |starts: Value, optimizers: Value, seeds: Value| {
        json!({"kind": "study", "name": "big", "surface": "himmelblau", "steps": 5,
               "starts": starts, "optimizers": optimizers, "seeds": seeds})
        .to_string()
    };
    let sgd = json!([{"optimizer": "sgd", "learning_rate": 0.01}]);
    let started = std::time::Instant::now();
    rejects(
        &study(json!({"grid": [10_000, 10_000]}), sgd.clone(), json!([0])),
        "starts",
        "at most 10000000 runs; this one has 100000000 (1 configuration x 100000000 starts x 1 seed); use fewer starts",
    );
    rejects(
        &study(json!({"random": 200_000_000, "seed": 1}), sgd.clone(), json!([0, 1])),
        "starts",
        "this one has 400000000 (1 configuration x 200000000 starts x 2 seeds); use fewer starts",
    );
    rejects(
        &study(
            json!({"grid": [4_294_967_295u64, 4_294_967_295u64]}),
            sgd.clone(),
            json!([0]),
        ),
        "starts",
        "use fewer starts",
    );
    // Far below the old 5.6 GB allocation: refused in well under a second each.
    assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
    let seeds: Vec<u32> = (0..501).collect();
    rejects(
        &study(
            json!([[0.0, 0.0]]),
            json!([{"optimizer": "sgd", "learning_rate": {"logspace": [0.0001, 0.1, 20_000]}}]),
            json!(seeds),
        ),
        "optimizers",
        "(20000 configurations x 1 start x 501 seeds); sweep fewer configurations",
    );
    rejects(
        &study(
            json!([[0.0, 0.0]]),
            json!([{"optimizer": "sgd", "learning_rate": {"logspace": [0.0001, 0.1, 1000]}, "momentum": {"linspace": [0, 0.9, 1000]}}]),
            json!([0]),
        ),
        "optimizers[0]",
        "too many configurations",
    );
}

/// Item 10: shard overflow, stale temporary files, old figures, unreadable inputs, long names.
#[test]
fn an_overflowing_shard_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "small.json", STUDY);
    for shard in [
        "9223372036854775807/9223372036854775808",
        "0/10000001",
        "18446744073709551615/18446744073709551616",
    ] {
        let o = optsurf(dir.path(), &["run", "small.json", "--shard", shard, "--out", "o"]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{shard}: {err}");
        assert!(
            err.contains("--shard") && err.contains("0 <= I < N <= 10000000"),
            "{err}"
        );
        assert!(!dir.path().join("o").exists());
    }
    let o = optsurf(
        dir.path(),
        &[
            "run",
            "small.json",
            "--shard",
            "9999999/10000000",
            "--out",
            "o",
            "--no-plots",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn stale_temporary_files_of_killed_runs_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "e.json", &experiment("e"));
    // A process id above Linux's largest (2^22) never runs; this test's own process does.
    let stale = write(d, "o/e/.trajectories.json.tmp-4294967", "half");
    let stale_csv = write(d, "o/e/.runs.csv.tmp-4194305", "half");
    let live = write(d, &format!("o/e/.loss.png.tmp-{}", std::process::id()), "in progress");
    let other = write(d, "o/e/.notes.tmp", "not ours");
    let o = optsurf(d, &["run", "e.json", "--out", "o", "--no-plots"]);
    assert!(o.status.success(), "{}", stderr(&o));
    if Path::new("/proc/self").exists() {
        assert!(!stale.exists() && !stale_csv.exists());
    }
    assert!(live.exists() && other.exists());
}

#[test]
fn new_results_never_sit_beside_the_previous_runs_figures() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "e.json", &experiment("e"));
    let o = optsurf(d, &["run", "e.json", "--out", "o"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let figure = d.join("o/e/loss.png");
    assert!(figure.exists());
    // As a run killed after its trajectories and before its figures leaves the folder.
    let o = optsurf(d, &["run", "e.json", "--out", "o", "--no-plots"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(d.join("o/e/trajectories.json").exists());
    let left: Vec<String> = std::fs::read_dir(d.join("o/e"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["trajectories.json"], "old figures left beside the new results");
}

#[test]
fn unreadable_experiments_and_csv_files_both_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::os::unix::fs::symlink("/dev/zero", d.join("zero.csv")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", d.join("zero.json")).unwrap();
    std::fs::write(d.join("latin1.json"), b"{\"name\": \"caf\xe9\"}").unwrap();
    std::fs::write(d.join("latin1.csv"), b"u,v\n1,caf\xe9\n").unwrap();
    write(d, "e.json", &data_experiment("zero.csv", "u", "v"));
    write(d, "l.json", &data_experiment("latin1.csv", "u", "v"));
    let mut cases = vec![
        ("zero.json", "zero.json"),
        ("e.json", "zero.csv"),
        ("latin1.json", "not UTF-8"),
        ("l.json", "latin1.csv"),
    ];
    // Permissions bind only a user who is not root.
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if !root {
        use std::os::unix::fs::PermissionsExt;
        write(d, "locked.json", &experiment("locked"));
        write(d, "locked.csv", "u,v\n1,2\n2,3\n");
        write(d, "lc.json", &data_experiment("locked.csv", "u", "v"));
        for f in ["locked.json", "locked.csv"] {
            std::fs::set_permissions(d.join(f), std::fs::Permissions::from_mode(0o000)).unwrap();
        }
        cases.extend([("locked.json", "permission denied"), ("lc.json", "permission denied")]);
    }
    for (file, expected) in cases {
        let o = optsurf(d, &["run", file, "--out", "o", "--no-plots"]);
        refused(&o, file, &[expected]);
    }
}

#[test]
fn a_5000_character_name_is_refused_naming_the_field_and_the_limit() {
    let name = "a".repeat(5000);
    rejects(
        &experiment(&name),
        "name",
        "a name of 5000 characters is too long: at most 100",
    );
    rejects(
        &STUDY.replace("\"small\"", &format!("\"{name}\"")),
        "name",
        "at most 100",
    );
    // A name at the limit runs, and so does its study's tuned comparison (`-tuned` fits).
    let dir = tempfile::tempdir().unwrap();
    let name = "b".repeat(100);
    write(dir.path(), "e.json", &experiment(&name));
    let o = optsurf(dir.path(), &["run", "e.json", "--out", "o", "--no-plots"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(dir.path().join("o").join(&name).join("trajectories.json").is_file());
}

/// Item 7: whatever field holds a 100,000-character value, its error quotes 80 characters of it.
#[test]
fn long_values_are_quoted_short_in_every_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "d.csv", "u,v\n1,2\n2,3\n");
    let big = "Z".repeat(100_000);
    let base: Value = serde_json::from_str(&experiment("e")).unwrap();
    let cases: Vec<(&str, Value)> = vec![
        ("surface", json!(big)),
        ("surface.expr", json!({"expr": format!("x + {big}")})),
        ("surface.model", json!({"model": big, "data": {"generate": "linear"}})),
        (
            "surface.data.csv",
            json!({"model": "linear_regression", "data": {"csv": "d.csv", "x": big, "y": "v"}}),
        ),
        (
            "surface.data.csv",
            json!({"model": "linear_regression", "data": {"csv": big, "x": "u", "y": "v"}}),
        ),
        ("kind", json!(big)),
        ("start", json!([big, 1])),
        ("plot.view", json!({"view": big})),
        ("noise.lookup", json!({"lookup": big})),
        ("runs[0].optimizer", json!(big)),
        ("runs[0].learning_rate", json!(big)),
        ("runs[0].learning_rate.schedule", json!({"schedule": big})),
    ];
    for (field, value) in cases {
        let mut v = base.clone();
        match field.split_once('.') {
            Some(("runs[0]", key)) => v["runs"][0][key.split('.').next().unwrap()] = value,
            _ => v[field.split('.').next().unwrap()] = value,
        }
        std::fs::write(d.join("e.json"), v.to_string()).unwrap();
        let o = optsurf(d, &["run", "e.json", "--out", "o", "--no-plots"]);
        let err = refused(&o, "e.json", &[&format!("`{field}")]);
        assert!(err.len() < 2500, "{field}: {} bytes", err.len());
        assert!(!err.contains(&"Z".repeat(81)), "{field}: {err}");
    }
    // An unknown field's 100,000-character name, too.
    let mut v = base.clone();
    v[big.as_str()] = json!(1);
    std::fs::write(d.join("e.json"), v.to_string()).unwrap();
    let o = optsurf(d, &["run", "e.json", "--out", "o", "--no-plots"]);
    let err = refused(&o, "e.json", &["unknown field"]);
    assert!(err.len() < 2500 && !err.contains(&"Z".repeat(81)), "{err}");
}
