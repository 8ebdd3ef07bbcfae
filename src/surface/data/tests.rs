//! Models over data against plain float64 code: an MLP's loss against a hand-written forward
//! pass, its autodiff gradient against finite differences of that pass, runs batched as one
//! computation against each run alone, accuracies, and the minibatch order.

use super::*;
use crate::backend::Backend;
use crate::tensor::to_vec;

fn device() -> Device {
    Backend::default().device().unwrap().autodiff()
}

/// A small dataset of `n` rows, `f` features, targets by `target(row)`.
fn rows(n: usize, f: usize, target: impl Fn(&[f64]) -> f64) -> Dataset {
    let x: Vec<f64> = (0..n * f).map(|k| ((k * 37 % 23) as f64 / 11.0 - 1.0) * 1.3).collect();
    let y = x.chunks(f).map(target).collect();
    Dataset { x, width: f, y }
}

fn upload(d: &Dataset, device: &Device) -> (Tensor<3>, Tensor<2>) {
    let n = d.rows();
    let x: Vec<f32> = d.x.iter().map(|&v| v as f32).collect();
    let y: Vec<f32> = d.y.iter().map(|&v| v as f32).collect();
    (
        Tensor::from_data(TensorData::new(x, [1, n, d.width]), device),
        Tensor::from_data(TensorData::new(y, [1, n]), device),
    )
}

/// The MLP's mean loss in f64, written out by hand.
fn loss_f64(widths: &[usize], act: Activation, loss: Loss, skip: bool, p: &[f64], d: &Dataset) -> f64 {
    let layers = widths.len() - 1;
    let mut total = 0.0;
    for (row, &t) in d.x.chunks(d.width).zip(&d.y) {
        let mut h: Vec<f64> = row.to_vec();
        let mut at = 0;
        for k in 0..layers {
            let (i, o) = (widths[k], widths[k + 1]);
            let kernel = &p[at..at + i * o];
            let bias = &p[at + i * o..at + i * o + o];
            at += i * o + o;
            let z: Vec<f64> = (0..o)
                .map(|c| bias[c] + (0..i).map(|r| h[r] * kernel[r * o + c]).sum::<f64>())
                .collect();
            if k + 1 == layers {
                h = z;
            } else {
                let a: Vec<f64> = z
                    .iter()
                    .map(|&z| match act {
                        Activation::Relu => z.max(0.0),
                        Activation::Tanh => z.tanh(),
                        Activation::Sigmoid => 1.0 / (1.0 + (-z).exp()),
                        Activation::Gelu => 0.5 * z * (1.0 + erf(z / 2f64.sqrt())),
                    })
                    .collect();
                h = if skip && k > 0 && i == o {
                    h.iter().zip(&a).map(|(h, a)| h + a).collect()
                } else {
                    a
                };
            }
        }
        total += match loss {
            Loss::CrossEntropy => {
                let m = h.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                m + h.iter().map(|z| (z - m).exp()).sum::<f64>().ln() - h[t as usize]
            }
            Loss::BinaryCrossEntropy => h[0].max(0.0) - h[0] * t + (-h[0].abs()).exp().ln_1p(),
            Loss::Mse => (h[0] - t).powi(2),
        };
    }
    total / d.rows() as f64
}

/// erf to ~1e-15 (series, then continued fraction).
fn erf(x: f64) -> f64 {
    if x.abs() < 3.0 {
        let (mut term, mut sum, mut k) = (x, x, 0.0);
        while term.abs() > 1e-17 * sum.abs().max(1e-300) {
            k += 1.0;
            term *= -x * x / k;
            sum += term / (2.0 * k + 1.0);
        }
        2.0 / std::f64::consts::PI.sqrt() * sum
    } else {
        let t = x.abs();
        let mut f = 0.0;
        for k in (1..60).rev() {
            f = k as f64 / 2.0 / (t + f);
        }
        let erfc = (-t * t).exp() / std::f64::consts::PI.sqrt() / (t + f);
        x.signum() * (1.0 - erfc)
    }
}

fn params(n: usize, seed: u64) -> Vec<f64> {
    let mut bits = crate::random::SplitMix64::new(seed);
    (0..n).map(|_| bits.uniform() * 1.6 - 0.8).collect()
}

#[test]
fn mlp_losses_and_gradients_match_float64_and_finite_differences() {
    let device = device();
    let cases = [
        (vec![3, 5, 4], Activation::Tanh, Loss::CrossEntropy, false),
        (vec![3, 4, 4, 4, 2], Activation::Gelu, Loss::CrossEntropy, true),
        (vec![3, 6, 1], Activation::Sigmoid, Loss::BinaryCrossEntropy, false),
        (vec![3, 5, 5, 1], Activation::Relu, Loss::Mse, true),
    ];
    for (widths, act, loss, skip) in cases {
        let classes = *widths.last().unwrap();
        let data = rows(17, 3, |r| match loss {
            Loss::CrossEntropy => ((r[0] + 2.0 * r[1]).abs() * 3.0) as usize as f64 % classes as f64,
            Loss::BinaryCrossEntropy => f64::from(r[0] > r[2]),
            Loss::Mse => r[0] * r[1] - 0.5 * r[2],
        });
        let mlp = Mlp::new(3, &widths[1..widths.len() - 1], classes, act, loss, skip);
        let n = mlp.layout().len();
        assert_eq!(n, Mlp::count(3, &widths[1..widths.len() - 1], classes));
        let p = params(n, 7);
        let (x, y) = upload(&data, &device);
        let pt = Tensor::<2>::from_data(TensorData::new(p.iter().map(|&v| v as f32).collect(), [1, n]), &device)
            .require_grad();
        let l = mlp.loss(pt.clone(), x, y);
        let grad = to_vec(pt.grad(&l.clone().sum().backward()).unwrap());
        let what = format!("{widths:?} {act:?} {loss:?} skip {skip}");
        let exact = loss_f64(&widths, act, loss, skip, &p, &data);
        let ours = to_vec(l.inner())[0] as f64;
        assert!(
            (ours - exact).abs() <= 1e-5 * (1.0 + exact.abs()),
            "{what}: loss {ours} vs {exact}"
        );
        for i in 0..n {
            let h = 1e-6;
            let (mut up, mut down) = (p.clone(), p.clone());
            up[i] += h;
            down[i] -= h;
            let fd = (loss_f64(&widths, act, loss, skip, &up, &data)
                - loss_f64(&widths, act, loss, skip, &down, &data))
                / (2.0 * h);
            // relu's kink: a coordinate whose step crosses it is not differentiable there.
            assert!(
                (grad[i] as f64 - fd).abs() <= 2e-4 * (1.0 + fd.abs()),
                "{what}: d/dp[{i}] = {} vs finite difference {fd}",
                grad[i]
            );
        }
    }
}

#[test]
fn runs_batched_together_are_each_run_alone() {
    let device = Backend::default().device().unwrap();
    let mlp = Mlp::new(2, &[6, 6], 3, Activation::Tanh, Loss::CrossEntropy, true);
    let data = rows(11, 2, |r| ((r[0] * 5.0).abs() as usize % 3) as f64);
    let n = mlp.layout().len();
    let (x, y) = upload(&data, &device);
    let all: Vec<f32> = (0..4).flat_map(|k| params(n, k)).map(|v| v as f32).collect();
    let batch = Tensor::<2>::from_data(TensorData::new(all.clone(), [4, n]), &device);
    let together = to_vec(mlp.loss(batch.clone(), x.clone(), y.clone()));
    let accuracy = to_vec(mlp.accuracy(batch.clone(), x.clone(), y.clone()).unwrap());
    // One forward pass for both gives both bit for bit.
    let (loss, right) = mlp.loss_and_accuracy(batch, x.clone(), y.clone());
    assert_eq!(
        (to_vec(loss), to_vec(right.unwrap())),
        (together.clone(), accuracy.clone())
    );
    for k in 0..4 {
        let one = Tensor::<2>::from_data(TensorData::new(all[k * n..(k + 1) * n].to_vec(), [1, n]), &device);
        let alone = to_vec(mlp.loss(one.clone(), x.clone(), y.clone()))[0];
        assert!((together[k] - alone).abs() <= 1e-6 * (1.0 + alone.abs()), "run {k}");
        assert_eq!(to_vec(mlp.accuracy(one, x.clone(), y.clone()).unwrap())[0], accuracy[k]);
        // Each run on its own rows (G = R) is the same as all on shared rows here.
        let twice_x = Tensor::cat(vec![x.clone(), x.clone()], 0);
        let twice_y = Tensor::cat(vec![y.clone(), y.clone()], 0);
        let pair = Tensor::<2>::from_data(TensorData::new(all[..2 * n].to_vec(), [2, n]), &device);
        let own = to_vec(mlp.loss(pair, twice_x, twice_y));
        assert!((own[0] - together[0]).abs() <= 1e-6 && (own[1] - together[1]).abs() <= 1e-6);
    }
}

#[test]
fn accuracy_counts_the_rows_predicted_right() {
    let device = Backend::default().device().unwrap();
    // One input, no hidden nonlinearity worth the name: logits (w x + b) for 2 classes.
    let mlp = Mlp::new(1, &[1], 2, Activation::Relu, Loss::CrossEntropy, false);
    // Hidden h = relu(x); logits = [0, h]: class 1 wins when x > 0.
    let p = vec![1.0f32, 0.0, 0.0, 1.0, 0.0, 0.0];
    let data = Dataset {
        x: vec![-1.0, 2.0, 3.0, -4.0, 5.0],
        width: 1,
        y: vec![0.0, 1.0, 0.0, 0.0, 1.0],
    };
    let (x, y) = upload(&data, &device);
    let p = Tensor::<2>::from_data(TensorData::new(p, [1, 6]), &device);
    assert_eq!(to_vec(mlp.accuracy(p, x, y).unwrap()), [0.8]);
}

#[test]
fn cross_entropy_stays_finite_for_huge_logits() {
    let device = Backend::default().device().unwrap();
    let mlp = Mlp::new(1, &[1], 2, Activation::Relu, Loss::CrossEntropy, false);
    // logits [0, 1e4 x] for x = 1: the loss of class 0 is 1e4, of class 1 is 0.
    let p = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 0.0, 0.0, 1e4, 0.0, 0.0], [1, 6]), &device);
    let data = Dataset {
        x: vec![1.0, 1.0],
        width: 1,
        y: vec![0.0, 1.0],
    };
    let (x, y) = upload(&data, &device);
    assert_eq!(to_vec(mlp.loss(p, x, y)), [5000.0]);
}

#[test]
fn epochs_are_permutations_cut_in_order() {
    let batching = Batching {
        batch_size: Some(4),
        drop_remainder: false,
    };
    // 10 rows, batches of 4: 4, 4, 2 per epoch; together a permutation.
    let epoch: Vec<usize> = (0..3).flat_map(|k| batching.rows(10, k, 7)).collect();
    let mut sorted = epoch.clone();
    sorted.sort();
    assert_eq!(sorted, (0..10).collect::<Vec<_>>());
    assert_eq!(batching.rows(10, 2, 7).len(), 2);
    assert_ne!(
        batching.rows(10, 3, 7),
        batching.rows(10, 0, 7),
        "a new epoch, a new order"
    );
    assert_ne!(batching.rows(10, 0, 8), batching.rows(10, 0, 7), "another seed");
    let dropped = Batching {
        drop_remainder: true,
        ..batching
    };
    assert_eq!(dropped.rows(10, 2, 7).len(), 4, "step 2 starts the next epoch");
    let full = Batching {
        batch_size: Some(10),
        drop_remainder: false,
    };
    assert_eq!(full.rows(10, 5, 1), (0..10).collect::<Vec<_>>());
}

#[test]
fn evaluation_and_snapshot_steps_keep_the_first_and_last() {
    let data = DataSurface::new(
        Model::Regression(Regression::new(Kind::Linear, &rows(4, 1, |r| r[0]))),
        rows(4, 1, |r| r[0]),
        None,
        Batching {
            batch_size: None,
            drop_remainder: false,
        },
    );
    assert_eq!(data.eval_steps(5), [0, 1, 2, 3, 4, 5]);
    let snapshots = data.snapshot_steps(1000);
    assert!(snapshots.len() <= 200 && snapshots[0] == 0 && *snapshots.last().unwrap() == 1000);
    assert_eq!(data.snapshot_steps(150).len(), 151);
    let every = DataSurface {
        eval_every: 4,
        record_every: Some(3),
        ..data
    };
    assert_eq!(every.eval_steps(10), [0, 4, 8, 10]);
    assert_eq!(every.snapshot_steps(9), [0, 3, 6, 9]);
}

#[test]
fn tanh_is_within_a_few_ulp_of_the_exact_value_and_keeps_its_shape() {
    use super::mlp::tanh_f32;
    // A dense grid over the curved part, the tiny branch's edge and the saturated tails.
    let grid = (-100_000..=100_000).map(|i| i as f32 * 1e-4);
    let edges = [
        0.0f32, -0.0, 3.9e-4, 4.0e-4, 4.1e-4, 7.9, 7.905_311, 8.0, 9.0, 20.0, 1e30,
    ];
    for x in grid.chain(edges.iter().copied()).chain(edges.iter().map(|e| -e)) {
        let exact = (x as f64).tanh();
        let got = tanh_f32(x);
        let ulp = f64::from(f32::EPSILON) * exact.abs().max(f64::from(f32::MIN_POSITIVE));
        assert!(
            (got as f64 - exact).abs() <= 6.0 * ulp.max(1e-45),
            "tanh({x}) = {got}, exact {exact}"
        );
        assert_eq!(tanh_f32(-x), -got, "tanh is odd at {x}");
        assert!(got.abs() <= 1.0, "tanh({x}) = {got} leaves [-1, 1]");
    }
    assert_eq!(tanh_f32(3e-4), 3e-4, "tanh x = x for |x| < 0.0004");
    assert_eq!(tanh_f32(f32::INFINITY), 1.0);
    assert!(tanh_f32(f32::NAN).is_nan());
}
