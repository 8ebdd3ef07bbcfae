//! Landscapes through the command line: what a model experiment with `landscape` blocks writes
//! (`landscape.json`, `directions.npy`, `interpolation.json`, the figures), its values checked
//! against the runs' own records and recomputed from `directions.npy` and `params.npy`, the
//! same file twice byte for byte, and bad blocks refused naming the field.

use serde_json::{Value, json};
use std::path::Path;

mod common;
use common::tempfile;
use common::{optsurf, read_json, rejects, rejects_beside, stderr, write};

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

/// `values` as a float32 `.npy` of `shape` (format 1.0, as NumPy writes it).
fn npy_bytes(shape: &[usize], values: &[f32]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let mut header = format!(
        "{{'descr': '<f4', 'fortran_order': False, 'shape': ({}), }}",
        dims.join(", ")
    );
    header.push_str(&" ".repeat((64 - (11 + header.len()) % 64) % 64));
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((header.len() as u16).to_le_bytes());
    bytes.extend(header.as_bytes());
    bytes.extend(values.iter().flat_map(|v| v.to_le_bytes()));
    bytes
}

/// The parameters of [`experiment`]'s model: [2, 6, 1].
const P: usize = 2 * 6 + 6 + 6 + 1;

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
            let diff = minus(snapshot(run, k), center);
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

/// `w - c` in `f64`.
fn minus(w: &[f32], c: &[f32]) -> Vec<f64> {
    w.iter().zip(c).map(|(w, c)| (*w - *c) as f64).collect()
}

/// Least-squares `[a, b]` of `diff` on the directions `d0`, `d1` (the 2 x 2 Gram system).
fn least_squares(diff: &[f64], d0: &[f32], d1: &[f32]) -> [f64; 2] {
    let dot = |x: &[f64], y: &[f32]| x.iter().zip(y).map(|(a, b)| a * *b as f64).sum::<f64>();
    let (d0f, d1f): (Vec<f64>, Vec<f64>) = (
        d0.iter().map(|&v| v as f64).collect(),
        d1.iter().map(|&v| v as f64).collect(),
    );
    let (g00, g01, g11) = (dot(&d0f, d0), dot(&d0f, d1), dot(&d1f, d1));
    let (r0, r1) = (dot(diff, d0), dot(diff, d1));
    let det = g00 * g11 - g01 * g01;
    [(r0 * g11 - r1 * g01) / det, (r1 * g00 - r0 * g01) / det]
}

/// The issue's own example: a PCA plane filter-normalised with biases ignored. Its directions
/// are the principal ones scaled per neuron (no longer orthonormal); each path point is the
/// least-squares projection on them; the explained variance is the raw principal directions'.
#[test]
fn the_issues_pca_example_with_filter_normalisation_runs() {
    let dir = tempfile::tempdir().unwrap();
    let block = json!({"plane": "pca", "center": "final", "runs": "all", "normalize": "filter", "ignore": "biasbn",
                       "range": [[-1, 1], [-1, 1]], "resolution": [51, 51], "seed": 0, "data": "train"});
    write(dir.path(), "l.json", &experiment(block).to_string());
    let out = optsurf(dir.path(), &["run", "l.json", "--out", "o", "--no-plots"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let folder = dir.path().join("o/l");
    let l = read_json(&folder.join("landscape.json"));
    assert_eq!(
        (l["plane"].as_str(), l["normalize"].as_str()),
        (Some("pca"), Some("filter"))
    );
    assert_eq!(l["loss"].as_array().unwrap().len(), 51);
    let explained = floats(&l["explained_variance"]);
    assert!(
        explained[0] > 0.5 && explained[0] + explained[1] <= 1.0 + 1e-6,
        "{explained:?}"
    );
    let (_, dirs) = read_npy(&folder.join("directions.npy"));
    let (_, params) = read_npy(&folder.join("params.npy"));
    let snaps = params.len() / (2 * P);
    let snapshot = |run: usize, k: usize| &params[(run * snaps + k) * P..(run * snaps + k + 1) * P];
    let best = if l["center"]["label"] == "Adam" { 0 } else { 1 };
    let center = snapshot(best, snaps - 1);
    let (d0, d1) = dirs.split_at(P);
    for d in [d0, d1] {
        for j in 0..6 {
            let col = |v: &[f32]| (0..2).map(|i| (v[i * 6 + j] as f64).powi(2)).sum::<f64>().sqrt();
            assert!(
                close(col(d), col(center), 1e-4),
                "neuron {j}: {} vs {}",
                col(d),
                col(center)
            );
        }
        assert!(d[12..18].iter().chain(&d[24..]).all(|&b| b == 0.0), "biases ignored");
    }
    let unit = |d: &[f32]| (d.iter().map(|v| (*v as f64).powi(2)).sum::<f64>().sqrt() - 1.0).abs() < 1e-3;
    assert!(!unit(d0) || !unit(d1), "scaled, not unit vectors");
    for run in 0..2 {
        for k in 0..snaps {
            let diff = minus(snapshot(run, k), center);
            let ab = least_squares(&diff, d0, d1);
            let path = floats(&l["runs"][run]["path"][k]);
            assert!(
                close(path[0], ab[0], 1e-3) && close(path[1], ab[1], 1e-3),
                "{path:?} {ab:?}"
            );
        }
    }
}

/// A plane of given directions: the random plane's own `directions.npy` given back gives its
/// losses byte for byte; bad files are refused naming the file and the field.
#[test]
fn directions_given_in_a_file_make_the_same_plane() {
    let dir = tempfile::tempdir().unwrap();
    let random = json!({"plane": "random", "center": {"run": "SGD"}, "resolution": [5, 4], "seed": 3});
    let mut r = experiment(random);
    r["name"] = json!("r");
    write(dir.path(), "r.json", &r.to_string());
    let out = optsurf(dir.path(), &["run", "r.json", "--out", "o", "--no-plots"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let made = dir.path().join("o/r/directions.npy");
    std::fs::create_dir_all(dir.path().join("given")).unwrap();
    std::fs::copy(&made, dir.path().join("given/dirs.npy")).unwrap();
    let given = json!({"directions": "dirs.npy", "center": {"run": "SGD"}, "resolution": [5, 4], "seed": 3});
    let mut e = experiment(given);
    e["name"] = json!("g");
    write(dir.path(), "given/g.json", &e.to_string());
    let out = optsurf(dir.path(), &["run", "given/g.json", "--out", "o", "--no-plots"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (r, g) = (
        read_json(&dir.path().join("o/r/landscape.json")),
        read_json(&dir.path().join("o/g/landscape.json")),
    );
    assert_eq!(g["plane"], "file");
    assert_eq!(g["normalize"], "none", "given directions are used as given");
    assert_eq!(g["loss"], r["loss"]);
    assert_eq!(g["runs"], r["runs"]);
    assert_eq!(
        std::fs::read(&made).unwrap(),
        std::fs::read(dir.path().join("o/g/directions.npy")).unwrap()
    );

    let file = |landscape: Value| experiment(landscape).to_string();
    let d = |values: &[f32], shape: &[usize]| npy_bytes(shape, values);
    let good: Vec<f32> = (0..2 * P).map(|k| ((k * 7 % 11) as f32 - 5.0) / 5.0).collect();
    let refuse = |files: &[(&str, &[u8])], landscape: Value, expected: &str| {
        rejects_beside(files, &file(landscape), "landscape.directions", expected);
    };
    let block = json!({"directions": "d.npy"});
    refuse(&[], block.clone(), "\"d.npy\": no such file");
    refuse(
        &[("d.npy", &d(&good[..P], &[1, P]))],
        block.clone(),
        "shape [1, 25], expected [2, 25]",
    );
    refuse(
        &[("d.npy", &d(&[good.clone(), vec![0.0; 2]].concat(), &[2, P + 1]))],
        block.clone(),
        "expected [2, 25]",
    );
    let mut nan = good.clone();
    nan[P + 4] = f32::NAN;
    refuse(
        &[("d.npy", &d(&nan, &[2, P]))],
        block.clone(),
        "direction 1 has NaN at parameter 4",
    );
    let parallel: Vec<f32> = good[..P].iter().chain(&good[..P]).map(|v| v * 2.0).collect();
    refuse(&[("d.npy", &d(&parallel, &[2, P]))], block.clone(), "parallel");
    let mut f8 = d(&good, &[2, P]);
    f8[20..23].copy_from_slice(b"<f8");
    refuse(&[("d.npy", &f8)], block.clone(), "'<f4'");
    refuse(&[("d.npy", b"not numpy")], block.clone(), "d.npy: not a float32 .npy");
    refuse(
        &[],
        json!({"directions": "/etc/passwd"}),
        "absolute paths are not allowed",
    );
    refuse(&[], json!({"directions": "../d.npy"}), "`..` is not allowed");
    refuse(
        &[],
        json!({"directions": 3}),
        "expected the name of a float32 [2, P] .npy file",
    );
    refuse(
        &[],
        json!({"plane": "pca", "directions": "d.npy"}),
        "a PCA plane computes its own directions",
    );
    refuse(
        &[],
        json!({"plane": "random", "directions": "d.npy"}),
        "remove \"plane\" to use the file's",
    );
    refuse(&[], json!({"plane": "file"}), "missing");
    rejects(
        &file(json!([{"plane": "pca"}, {"directions": "d.npy"}])),
        "landscape[1].directions",
        "no such file",
    );
}

/// A model's planes run in shards (`--shard I/N` splits the planes' grid rows, block after
/// block; an interpolation is the merge's) and merged give the unsharded run's files byte for
/// byte, however the rows fall; a shard's losses that are not its rows are refused.
#[test]
fn plane_shards_merge_into_the_unsharded_files_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let blocks = json!([
        {"plane": "pca", "resolution": [9, 7]},
        {"plane": "interpolate", "resolution": 5},
        {"plane": "random", "resolution": [6, 5], "normalize": "layer", "seed": 2}
    ]);
    write(d, "l.json", &experiment(blocks).to_string());
    let out = optsurf(d, &["run", "l.json", "--out", "whole", "--no-plots"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let files = [
        "trajectories.json",
        "params.npy",
        "landscape.json",
        "directions.npy",
        "landscape-2.json",
        "directions-2.npy",
        "interpolation.json",
    ];
    // 12 grid rows: 5 shards of 2 or 3 rows, one across both planes; 13 shards, one empty.
    for n in [5usize, 13] {
        let mut shards = Vec::new();
        for i in (0..n).rev() {
            let out_dir = format!("s{n}-{i}");
            let o = optsurf(
                d,
                &[
                    "run",
                    "l.json",
                    "--out",
                    &out_dir,
                    "--shard",
                    &format!("{i}/{n}"),
                    "--no-plots",
                ],
            );
            assert!(o.status.success(), "{}", stderr(&o));
            let shard = d.join(&out_dir).join("l");
            assert!(shard.join("shard.json").is_file() && shard.join("plane_rows.npy").is_file());
            assert!(!shard.join("landscape.json").exists(), "a shard writes only its rows");
            shards.push(shard.to_str().unwrap().to_string());
        }
        let merged = format!("merged{n}");
        let mut args = vec!["merge", "--out", &merged, "--no-plots"];
        args.extend(shards.iter().map(String::as_str));
        let o = optsurf(d, &args);
        assert!(o.status.success(), "{}", stderr(&o));
        for f in files {
            let (a, b) = (
                std::fs::read(d.join("whole/l").join(f)).unwrap(),
                std::fs::read(d.join(&merged).join(f)).unwrap(),
            );
            assert!(a == b, "{f} differs after merging {n} shards");
        }
    }
    // A shard whose losses are cut is named, with what it should hold.
    let cut = d.join("s5-1/l/plane_rows.npy");
    std::fs::write(&cut, npy_bytes(&[2], &[0.5, 0.25])).unwrap();
    let all: Vec<String> = (0..5).map(|i| format!("s5-{i}/l")).collect();
    let mut args = vec!["merge", "--out", "bad", "--no-plots"];
    args.extend(all.iter().map(String::as_str));
    let o = optsurf(d, &args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("plane_rows.npy") && err.contains("shape [2], but shard 1/5") && err.contains("re-run that shard"),
        "{err}"
    );
    // An experiment without planes runs whole under --shard, so there is nothing to merge.
    let mut plain = experiment(json!({"plane": "interpolate"}));
    plain["name"] = json!("p");
    write(d, "p.json", &plain.to_string());
    let o = optsurf(d, &["run", "p.json", "--out", "plain", "--shard", "0/2", "--no-plots"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(d.join("plain/p/interpolation.json").is_file() && !d.join("plain/p/shard.json").exists());
}

/// `diff` recomputes a model's landscapes and compares them with the committed files beside
/// its trajectories: a moved loss, interpolation value or direction is named with its file and
/// value; a missing file is named; `--write-new` and `accept` restore agreement.
#[test]
fn diff_names_the_landscape_value_that_moved() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let blocks = json!([{"plane": "pca", "resolution": [5, 4]}, {"plane": "interpolate", "resolution": 5}]);
    write(d, "experiments/l.json", &experiment(blocks).to_string());
    let out = optsurf(d, &["run", "experiments", "--no-plots"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let diff = || {
        let o = optsurf(d, &["diff"]);
        (o.status.code(), common::stdout(&o))
    };
    let (code, text) = diff();
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("1 ok, 0 drift"), "{text}");

    let folder = d.join("results/l");
    let original = std::fs::read(folder.join("landscape.json")).unwrap();
    let mut l = read_json(&folder.join("landscape.json"));
    let old = l["loss"][2][3].as_f64().unwrap() as f32;
    l["loss"][2][3] = json!(9.5);
    std::fs::write(folder.join("landscape.json"), serde_json::to_string_pretty(&l).unwrap()).unwrap();
    let (code, text) = diff();
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains(&format!("landscape.json: loss[2][3]: {old} vs baseline 9.5")),
        "{text}"
    );
    // --write-new puts the recomputed files beside the baselines; accept moves them on.
    let o = optsurf(d, &["diff", "--write-new"]);
    assert!(
        common::stdout(&o).contains("landscape.json.new"),
        "{}",
        common::stdout(&o)
    );
    assert!(optsurf(d, &["accept"]).status.success());
    assert_eq!(std::fs::read(folder.join("landscape.json")).unwrap(), original);
    assert_eq!(diff().0, Some(0));

    let mut line = read_json(&folder.join("interpolation.json"));
    line["curves"][1]["test_loss"][4] = json!(123.0);
    std::fs::write(folder.join("interpolation.json"), line.to_string()).unwrap();
    let (code, text) = diff();
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("interpolation.json: curves[1].test_loss[4]: "), "{text}");
    assert!(text.contains("vs baseline 123"), "{text}");

    let (shape, mut dirs) = read_npy(&folder.join("directions.npy"));
    dirs[P + 3] += 0.5;
    std::fs::write(folder.join("directions.npy"), npy_bytes(&shape, &dirs)).unwrap();
    std::fs::remove_file(folder.join("landscape.json")).unwrap();
    let (code, text) = diff();
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("landscape.json: no baseline"), "{text}");
    assert!(
        text.contains("directions.npy: 1 of 50 values moved; first, direction 1 parameter 3: "),
        "{text}"
    );
}

/// `rows` names the data rows every loss of a plane is over: the training rows, or the held-out
/// ones, by their index in the data as read; together they are every row, once.
#[test]
fn a_plane_names_the_rows_its_losses_are_over() {
    let dir = tempfile::tempdir().unwrap();
    let blocks = json!([
        {"plane": "random", "resolution": 3},
        {"plane": "random", "resolution": 3, "data": "test"}
    ]);
    write(dir.path(), "l.json", &experiment(blocks).to_string());
    let out = optsurf(dir.path(), &["run", "l.json", "--out", "o"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = |file: &str| -> Vec<usize> {
        let l = read_json(&dir.path().join("o/l").join(file));
        l["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect()
    };
    let (train, test) = (rows("landscape.json"), rows("landscape-2.json"));
    // 120 spiral rows, a quarter held out.
    assert_eq!((train.len(), test.len()), (90, 30));
    assert!(train.windows(2).all(|w| w[0] < w[1]) && test.windows(2).all(|w| w[0] < w[1]));
    let mut all = [train, test].concat();
    all.sort_unstable();
    assert_eq!(all, (0..120).collect::<Vec<_>>());
}
