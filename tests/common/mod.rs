//! Helpers the integration tests share: running the binary, writing files, reading its output,
//! and the check that a bad file is refused as it should be.
#![allow(dead_code)] // each test crate uses some of them

#[path = "temp_dir.rs"]
pub mod tempfile;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the `optsurf` binary in `dir`.
pub fn optsurf(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_optsurf"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("optsurf runs")
}

/// Writes `text` to `dir/rel`, creating folders; returns the path.
pub fn write(dir: &Path, rel: &str, text: &str) -> PathBuf {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

/// The process's standard error.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The process's standard output.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A JSON file's value.
pub fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Runs a bad experiment or study file and checks: exit code 2, one line naming the file and
/// `field`, that mentions `expected`, and nothing written.
pub fn rejects(text: &str, field: &str, expected: &str) {
    rejects_beside(&[], text, field, expected);
}

/// [`rejects`] with `files` (name, bytes) written beside the file first.
pub fn rejects_beside(files: &[(&str, &[u8])], text: &str, field: &str, expected: &str) {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    write(dir.path(), "bad.json", text);
    let out = optsurf(dir.path(), &["run", "bad.json", "--out", "o", "--no-plots"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line expected:\n{err}");
    assert!(err.contains("bad.json"), "no file name in: {err}");
    assert!(err.contains(&format!("`{field}`")), "no field `{field}` in: {err}");
    assert!(err.contains(expected), "no {expected:?} in: {err}");
    assert!(!dir.path().join("o").exists(), "something was written");
}

/// Every file (not folder) under `root`, links included, for checks of what a command wrote.
pub fn all_files(root: &Path) -> std::collections::BTreeSet<PathBuf> {
    let mut out = std::collections::BTreeSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(entry.path()),
                _ => {
                    out.insert(entry.path());
                }
            }
        }
    }
    out
}

/// A small seeded generator for test inputs (splitmix64).
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// From `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The device the reference suites (Keras, optax, the Keras MLPs, the stochastic runs) run on:
/// the default backend (flex), or the one `OPTSURF_TEST_BACKEND` names (`ndarray`), to measure
/// another backend against the same references.
pub fn reference_device() -> burn::tensor::Device {
    reference_backend().device().unwrap()
}

/// The backend of [`reference_device`].
pub fn reference_backend() -> optsurf::backend::Backend {
    use optsurf::backend::Backend;
    match std::env::var("OPTSURF_TEST_BACKEND").as_deref() {
        Err(_) | Ok("" | "flex") => Backend::Flex,
        Ok("ndarray") => Backend::Ndarray,
        Ok(other) => panic!("OPTSURF_TEST_BACKEND={other}: expected flex or ndarray"),
    }
}
