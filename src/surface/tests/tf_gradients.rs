//! Gradients and smooth values of the built-in surfaces against TensorFlow's graph, bit for bit.
//!
//! `tests/fixtures/tf-gradients.json` (from `scripts/make_reference.py --gradients`) holds, for
//! f0..f5 and the quadric, TensorFlow 2.21's float32 `tf.function` + `GradientTape` gradient and
//! value at 10,240 points each (one [1, 2] variable at a time, as the post computes them): a grid
//! over [-10, 10)^2, seeded random points, and points where the last bit decides a sign (near
//! stationary points and on the curves where a component vanishes). Every array is base64 of
//! little-endian float32. Here every surface is evaluated at all its points in one batch with
//! the noise off, and every gradient component and value must have TensorFlow's exact bits on
//! the default backend (flex). On ndarray the few listed in [`NDARRAY_NOT_BITWISE`] cannot round
//! as TensorFlow does; there they must stay within float32 noise of it.

use crate::backend::Backend;
use crate::surface::{Lookup, Noise, NoiseSpec, to_vec};
use burn::tensor::{Tensor, TensorData};
use serde_json::Value;

const FIXTURE: &str = "tests/fixtures/tf-gradients.json";

/// Where a backend cannot round as TensorFlow's graph does.
type NotBitwise = &'static [(&'static str, &'static [&'static str], &'static str)];

/// (surface, quantities, why): where TensorFlow's graph rounds in a way ndarray cannot follow.
/// These are held to `|ours - TF| <= 2^-21 (1 + |TF|)` instead of bit equality.
const NDARRAY_NOT_BITWISE: NotBitwise = &[(
    "f4",
    &["gx", "gy", "value"],
    "TF's per-point sin/cos are the C library's sinf/cosf; ndarray rounds f64 results",
)];

/// Decodes standard base64 (with `=` padding) into little-endian float32 values.
fn f32s(b64: &Value) -> Vec<f32> {
    let text = b64.as_str().expect("a base64 string");
    let sextet = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {:?}", c as char),
    };
    let mut bytes = Vec::with_capacity(text.len() / 4 * 3);
    for chunk in text.as_bytes().chunks(4) {
        let digits: Vec<u8> = chunk.iter().filter(|&&c| c != b'=').map(|&c| sextet(c)).collect();
        let word = digits.iter().fold(0u32, |w, &d| (w << 6) | d as u32) << (6 * (4 - digits.len()));
        bytes.extend_from_slice(&word.to_be_bytes()[1..digits.len()]);
    }
    assert_eq!(bytes.len() % 4, 0, "not a whole number of float32 values");
    bytes
        .chunks(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

#[test]
fn gradients_and_values_round_as_tensorflows_graph() {
    assert_eq!(Backend::default(), Backend::Flex);
    compare(Backend::default(), &[]);
}

#[test]
fn on_ndarray_only_f4_departs_and_within_float32_noise() {
    compare(Backend::Ndarray, NDARRAY_NOT_BITWISE);
}

/// Every surface of the fixture on `backend`: bit for bit, except `not_bitwise`.
fn compare(backend: Backend, not_bitwise: NotBitwise) {
    let text = std::fs::read_to_string(FIXTURE).unwrap_or_else(|e| panic!("{FIXTURE}: {e}"));
    let fixture: serde_json::Map<String, Value> = serde_json::from_str(&text).unwrap();
    let (common_x, common_y) = (f32s(&fixture["common"]["x"]), f32s(&fixture["common"]["y"]));
    let device = backend.device().unwrap();
    let noise = Noise::new(
        NoiseSpec {
            seed: 0,
            lookup: Lookup::Off,
        },
        crate::surface::Domain::POST,
        &device,
    );
    let registry = crate::Registry::builtin();

    let mut report = Vec::new();
    let mut failures = Vec::new();
    let mut surfaces = 0;
    for (name, case) in fixture.iter().filter(|(k, _)| !k.starts_with('_') && *k != "common") {
        let s = registry
            .surface(name)
            .unwrap_or_else(|| panic!("the fixture has {name}, the registry does not"));
        let x: Vec<f32> = common_x.iter().copied().chain(f32s(&case["extra_x"])).collect();
        let y: Vec<f32> = common_y.iter().copied().chain(f32s(&case["extra_y"])).collect();
        let tf = [f32s(&case["gx"]), f32s(&case["gy"]), f32s(&case["loss"])];
        let n = x.len();
        assert!(n >= 10_000 && tf.iter().all(|v| v.len() == n), "{name}: sizes");

        let xy: Vec<f32> = x.iter().zip(&y).flat_map(|(&a, &b)| [a, b]).collect();
        let points = Tensor::<2>::from_data(TensorData::new(xy, [n, 2]), &device);
        let (loss, grad) = s.loss_and_grad(points, &noise);
        let grad = to_vec(grad);
        let ours = [
            grad.iter().step_by(2).copied().collect::<Vec<f32>>(),
            grad.iter().skip(1).step_by(2).copied().collect(),
            to_vec(loss),
        ];

        let mut counts = Vec::new();
        for (quantity, (ours, theirs)) in ["gx", "gy", "value"].into_iter().zip(ours.iter().zip(&tf)) {
            let at = |k: usize| {
                format!(
                    "({:e}, {:e}): ours {:e}, TensorFlow {:e}",
                    x[k], y[k], ours[k], theirs[k]
                )
            };
            let differ: Vec<usize> = (0..n).filter(|&k| ours[k].to_bits() != theirs[k].to_bits()).collect();
            let exempt = not_bitwise.iter().any(|&(s, q, _)| s == name && q.contains(&quantity));
            if exempt {
                let noise = |k: usize| (1.0 + theirs[k].abs() as f64) / f64::from(1u32 << 21);
                let far: Vec<usize> = differ
                    .iter()
                    .copied()
                    .filter(|&k| {
                        let gap = (ours[k] as f64 - theirs[k] as f64).abs();
                        gap.is_nan() || gap > noise(k)
                    })
                    .collect();
                if let Some(&k) = far.first() {
                    failures.push(format!(
                        "{name} {quantity}: {} points beyond float32 noise, e.g. {}",
                        far.len(),
                        at(k)
                    ));
                }
                if differ.is_empty() {
                    failures.push(format!(
                        "{name} {quantity}: exact everywhere, drop it from the exemptions"
                    ));
                }
            } else if let Some(&k) = differ.first() {
                failures.push(format!(
                    "{name} {quantity}: {} points differ, e.g. {}",
                    differ.len(),
                    at(k)
                ));
            }
            let note = if exempt { " (not bitwise)" } else { "" };
            counts.push(format!("{quantity} {}/{n}{note}", n - differ.len()));
        }
        let why = not_bitwise
            .iter()
            .find(|&&(s, _, _)| s == name)
            .map(|(_, _, why)| format!(" ({why})"));
        report.push(format!("{name}: {}{}", counts.join(", "), why.unwrap_or_default()));
        surfaces += 1;
    }
    assert_eq!(surfaces, 7, "the fixture should cover f0..f5 and the quadric");
    println!(
        "{backend:?} bit-identical to TensorFlow's graph:\n  {}",
        report.join("\n  ")
    );
    assert!(
        failures.is_empty(),
        "{backend:?}: surfaces differ from TensorFlow's graph:\n  {}\nbit-identical per surface:\n  {}",
        failures.join("\n  "),
        report.join("\n  ")
    );
}
