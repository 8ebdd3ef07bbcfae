//! Landscapes through the command line: what a model experiment with `landscape` blocks writes
//! (`landscape.json`, `directions.npy`, `interpolation.json`, the figures), its values checked
//! against the runs' own records and recomputed from `directions.npy` and `params.npy`, the
//! same file twice byte for byte, and bad blocks refused naming the field.

use serde_json::{Value, json};
use std::path::Path;

mod common;
use common::tempfile;
use common::{optsurf, read_json, rejects, stderr, write};

/// A `.npy` file's shape and float32 values (format 1.0, little-endian, C order).
fn read_npy(path: &Path) -> (Vec<usize>, Vec<f32>) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
    let len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = std::str::from_utf8(&bytes[10..10 + len]).unwrap();
    let shape = header[header.find("'shape': (").unwrap() + 10..]
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

fn experiment(landscape: Value) -> Value {
    json!({
        "name": "l",
        "surface": {"model": "mlp", "layers": [6], "activation": "tanh", "loss": "binary_cross_entropy",
                    "data": {"generate": "spirals", "n": 120, "noise": 0.2, "seed": 1},
                    "test_fraction": 0.25, "record_every": 10},
        "start": {"seed": 0},
        "steps": 60,
        "landscape": landscape,
        "runs": [{"label": "Adam", "optimizer": "adam", "learning_rate": 0.02},
                 {"label": "SGD", "optimizer": "sgd", "learning_rate": 0.5}]
    })
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * a.abs().max(b.abs()).max(1.0)
}

#[test]
fn a_landscape_run_writes_values_its_own_records_and_directions_reproduce() {
    let dir = tempfile::tempdir().unwrap();
    let blocks = json!([
        {"plane": "pca", "center": "final", "resolution": [7, 5]},
        {"plane": "random", "center": {"run": "SGD"}, "range": [[-1, 1], [-1, 1]], "resolution": 5,
         "normalize": "filter", "ignore": "biasbn", "seed": 3},
        {"plane": "interpolate", "resolution": 9}
    ]);
    write(dir.path(), "l.json", &experiment(blocks.clone()).to_string());
    let out = optsurf(dir.path(), &["run", "l.json", "--out", "o"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let folder = dir.path().join("o/l");
    for f in [
        "landscape.json",
        "directions.npy",
        "landscape_contour.png",
        "landscape.png",
        "landscape.gif",
        "residual.png",
        "landscape-2.json",
        "directions-2.npy",
        "landscape_contour-2.png",
        "landscape-2.png",
        "landscape-2.gif",
        "residual-2.png",
        "interpolation.json",
        "interpolation.png",
    ] {
        assert!(folder.join(f).is_file(), "{f} missing");
    }
    let t = read_json(&folder.join("trajectories.json"));
    let (pshape, params) = read_npy(&folder.join("params.npy"));
    let (runs, snaps, p) = (pshape[0], pshape[1], pshape[2]);
    assert_eq!(runs, 2);
    let snapshot = |run: usize, k: usize| &params[(run * snaps + k) * p..(run * snaps + k + 1) * p];
    let final_loss = |run: usize| *floats(&t["runs"][run]["loss"]).last().unwrap();

    // The PCA plane: centred at the final point of the run with the lowest final loss.
    let pca = read_json(&folder.join("landscape.json"));
    assert_eq!(pca["plane"], "pca");
    let best = if final_loss(0) <= final_loss(1) { 0 } else { 1 };
    assert_eq!(pca["center"]["label"], t["runs"][best]["label"]);
    assert_eq!(pca["center"]["step"], 60);
    let explained = floats(&pca["explained_variance"]);
    assert!(
        explained[0] >= explained[1] && explained[0] + explained[1] <= 1.0 + 1e-6,
        "{explained:?}"
    );
    assert_eq!(pca["loss"].as_array().unwrap().len(), 5, "rows: b");
    assert_eq!(pca["loss"][0].as_array().unwrap().len(), 7, "columns: a");
    let (dshape, dirs) = read_npy(&folder.join("directions.npy"));
    assert_eq!(dshape, [2, p]);
    let center = snapshot(best, snaps - 1);
    for run in 0..2 {
        let r = &pca["runs"][run];
        assert_eq!(r["label"], t["runs"][run]["label"]);
        // The recorded loss at the last snapshot is the run's own final training loss.
        assert!(
            close(*floats(&r["path_loss"]).last().unwrap(), final_loss(run), 1e-5),
            "{r}"
        );
        assert!(close(
            floats(&r["path_loss"])[0],
            floats(&t["runs"][run]["loss"])[0],
            1e-5
        ));
        // Each path point and residual from directions.npy and params.npy: the projection of the
        // snapshot minus the centre onto the (orthonormal) directions.
        for k in 0..snaps {
            let diff: Vec<f64> = snapshot(run, k)
                .iter()
                .zip(center)
                .map(|(w, c)| (*w - *c) as f64)
                .collect();
            let ab: Vec<f64> = (0..2)
                .map(|d| {
                    diff.iter()
                        .zip(&dirs[d * p..(d + 1) * p])
                        .map(|(x, y)| x * *y as f64)
                        .sum()
                })
                .collect();
            let path = floats(&r["path"][k]);
            assert!(
                close(path[0], ab[0], 1e-4) && close(path[1], ab[1], 1e-4),
                "{path:?} {ab:?}"
            );
            let dist: f64 = diff.iter().map(|x| x * x).sum::<f64>().sqrt();
            let off: f64 = (0..p)
                .map(|i| diff[i] - ab[0] * dirs[i] as f64 - ab[1] * dirs[p + i] as f64)
                .map(|x| x * x)
                .sum::<f64>()
                .sqrt();
            let residual = r["residual"][k].as_f64().unwrap();
            let expected = if dist == 0.0 { 0.0 } else { off / dist };
            assert!((residual - expected).abs() < 1e-3, "{residual} vs {expected}");
        }
        let s = &r["sharpness"];
        assert!(s["lambda_max"].as_f64().unwrap() > 0.0, "{s}");
    }
    // The centre run's last point lies on the plane at (0, 0): no residual, and the plane's loss
    // there is the path's.
    let c = &pca["runs"][best];
    assert_eq!(floats(&c["path"][snaps - 1]), [0.0, 0.0]);
    assert_eq!(c["residual"][snaps - 1], 0.0);
    assert!(close(*floats(&c["plane_loss"]).last().unwrap(), final_loss(best), 1e-5));

    // The random plane through SGD's final point: (0, 0) is on its 5 x 5 grid.
    let random = read_json(&folder.join("landscape-2.json"));
    assert_eq!(random["plane"], "random");
    assert_eq!(random["center"], json!({"label": "SGD", "step": 60}));
    assert!(random.get("explained_variance").is_none());
    assert_eq!(floats(&random["a"]), [-1.0, -0.5, 0.0, 0.5, 1.0]);
    assert!(close(random["loss"][2][2].as_f64().unwrap(), final_loss(1), 1e-5));
    // Filter-normalised with biases ignored: each hidden neuron's incoming weights have the norm
    // of the centre's; the biases are zero.
    let (_, rdirs) = read_npy(&folder.join("directions-2.npy"));
    let sgd_final = snapshot(1, snaps - 1);
    let (inputs, hidden) = (2, 6);
    for d in 0..2 {
        let dir = &rdirs[d * p..(d + 1) * p];
        for j in 0..hidden {
            let col = |v: &[f32]| {
                (0..inputs)
                    .map(|i| (v[i * hidden + j] as f64).powi(2))
                    .sum::<f64>()
                    .sqrt()
            };
            assert!(close(col(dir), col(sgd_final), 1e-4), "neuron {j}");
        }
        assert!(dir[inputs * hidden..inputs * hidden + hidden].iter().all(|&b| b == 0.0));
    }

    // The interpolation from each run's start to its end: its end points are the run's own
    // first and last training losses.
    let line = read_json(&folder.join("interpolation.json"));
    let a = floats(&line["a"]);
    assert_eq!(a.len(), 9);
    let (i0, i1) = (
        a.iter().position(|&x| x == 0.0).unwrap(),
        a.iter().position(|&x| x == 1.0).unwrap(),
    );
    for run in 0..2 {
        let curve = &line["curves"][run];
        let train = floats(&curve["train_loss"]);
        assert!(close(train[i0], floats(&t["runs"][run]["loss"])[0], 1e-5), "{curve}");
        assert!(close(train[i1], final_loss(run), 1e-5), "{curve}");
        let test = floats(&curve["test_loss"]);
        assert!(close(
            test[i1],
            *floats(&t["runs"][run]["test_loss"]).last().unwrap(),
            1e-5
        ));
        assert!(line["runs"][run]["sharpness"]["lambda_max"].as_f64().unwrap() > 0.0);
    }

    // The same experiment again gives the same files, byte for byte.
    let out = optsurf(dir.path(), &["run", "l.json", "--out", "again", "--no-plots"]);
    assert!(out.status.success(), "{}", stderr(&out));
    for f in [
        "landscape.json",
        "directions.npy",
        "landscape-2.json",
        "interpolation.json",
    ] {
        assert_eq!(
            std::fs::read(folder.join(f)).unwrap(),
            std::fs::read(dir.path().join("again/l").join(f)).unwrap(),
            "{f} differs"
        );
    }
}

#[test]
fn interpolation_between_two_runs_goes_from_one_final_point_to_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let block = json!({"plane": "interpolate", "between": ["Adam", "SGD"], "range": [0, 1], "resolution": 3});
    write(dir.path(), "l.json", &experiment(block).to_string());
    let out = optsurf(dir.path(), &["run", "l.json", "--out", "o", "--no-plots"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let t = read_json(&dir.path().join("o/l/trajectories.json"));
    let line = read_json(&dir.path().join("o/l/interpolation.json"));
    assert_eq!(floats(&line["a"]), [0.0, 0.5, 1.0]);
    let curve = &line["curves"][0];
    assert_eq!(curve["label"], "Adam to SGD");
    assert_eq!(curve["from"], json!({"label": "Adam", "step": 60}));
    let train = floats(&curve["train_loss"]);
    let last = |run: usize| *floats(&t["runs"][run]["loss"]).last().unwrap();
    assert!(
        close(train[0], last(0), 1e-5) && close(train[2], last(1), 1e-5),
        "{train:?}"
    );
    assert_eq!(line["runs"].as_array().unwrap().len(), 2, "both ends' sharpness");
}

#[test]
fn bad_landscape_blocks_are_refused_naming_the_field() {
    let bad = |landscape: Value, field: &str, expected: &str| {
        rejects(&experiment(landscape).to_string(), field, expected);
    };
    bad(json!({"plane": "pcaa"}), "landscape.plane", "\"pca\"");
    bad(json!({}), "landscape.plane", "missing");
    bad(json!({"plane": "pca", "size": 3}), "landscape.size", "unknown field");
    bad(
        json!({"plane": "pca", "normalize": "filter"}),
        "landscape.normalize",
        "random planes",
    );
    bad(
        json!({"plane": "random", "normalize": "neuron"}),
        "landscape.normalize",
        "\"filter\"",
    );
    bad(
        json!({"plane": "random", "resolution": [1, 5]}),
        "landscape.resolution",
        "from 2",
    );
    bad(
        json!({"plane": "random", "range": [[1, -1], [0, 1]]}),
        "landscape.range",
        "min < max",
    );
    bad(
        json!({"plane": "pca", "runs": ["Adam", "RMS"]}),
        "landscape.runs",
        "no run is labelled \"RMS\"",
    );
    bad(json!({"plane": "pca", "runs": [3]}), "landscape.runs[0]", "label");
    bad(
        json!({"plane": "pca", "center": {"run": "Nope"}}),
        "landscape.center",
        "no run is labelled",
    );
    bad(
        json!({"plane": "pca", "center": "middle"}),
        "landscape.center",
        "\"final\"",
    );
    bad(
        json!({"plane": "pca", "between": ["Adam", "SGD"]}),
        "landscape.between",
        "interpolation",
    );
    bad(
        json!({"plane": "interpolate", "between": ["Adam", "Adam"]}),
        "landscape.between",
        "two different",
    );
    bad(
        json!({"plane": "interpolate", "center": "final"}),
        "landscape.center",
        "no center",
    );
    bad(
        json!({"plane": "pca", "ignore": "bias"}),
        "landscape.ignore",
        "\"biasbn\"",
    );
    bad(json!({"plane": "pca", "data": "valid"}), "landscape.data", "\"test\"");
    bad(
        json!([{"plane": "pca"}, {"plane": "line"}]),
        "landscape[1].plane",
        "\"interpolate\"",
    );
    bad(json!([]), "landscape", "empty list");
    // Without held-out rows there is no test loss to take.
    let mut no_test = experiment(json!({"plane": "random", "data": "test"}));
    no_test["surface"].as_object_mut().unwrap().remove("test_fraction");
    rejects(&no_test.to_string(), "landscape.data", "holds out no rows");
    // A two-parameter surface is its own landscape.
    let surface = json!({"name": "s", "surface": {"expr": "x^2 + y^2"}, "start": [1, 1], "steps": 3,
                         "landscape": {"plane": "pca"},
                         "runs": [{"label": "SGD", "optimizer": "sgd", "learning_rate": 0.1}]});
    rejects(&surface.to_string(), "landscape", "2 parameters");
}
