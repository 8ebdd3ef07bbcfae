//! Tests of full-matrix AdaGrad against a direct O(d^3) reference written plainly here (cyclic Jacobi on
//! the d x d accumulator in f64), and its properties: the diagonal special case, rotation
//! equivariance, the first step, independent batch rows, and the post's arrow figures.

use super::{Accumulator, AdagradFullConfig};
use crate::optim;
use crate::random::RandomState;
use burn::tensor::{Device, Tensor, TensorData};

fn device() -> Device {
    crate::backend::Backend::default().device().unwrap()
}

// ---------------------------------------------------------------------------------------------
// The reference: G = c I + sum g g^T, eigendecomposed by cyclic Jacobi, every step.

/// Eigenvalues and eigenvectors (columns of `v`, row-major) of the symmetric `n x n` matrix `a`.
fn jacobi(mut a: Vec<f64>, n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut v = vec![0.0; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    let norm: f64 = a.iter().map(|x| x * x).sum();
    let mut last = f64::INFINITY;
    for _sweep in 0..50 {
        // Converged when the off-diagonal part is at round-off level or stops shrinking.
        let off: f64 = (0..n * n).filter(|k| k / n != k % n).map(|k| a[k] * a[k]).sum();
        if off <= 1e-30 * norm || (off >= last && off <= 1e-28 * norm) {
            break;
        }
        last = off;
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..n).map(|i| a[i * n + i]).collect(), v)
}

/// The direct method: `G <- G + g g^T`, `v = (G^{1/2} + delta I)^{-1} g` from the
/// eigendecomposition of the whole `G` (negative round-off eigenvalues clamped to 0; with
/// `delta = 0`, the pseudo-inverse).
///
/// `range_only` also skips round-off eigenvalues when `delta > 0`: `g` lies in the range of
/// `G`, so in exact arithmetic they contribute nothing, but the plain form adds the round-off
/// components of `g` on them (~eps |g|) divided by `delta`, an error floor of its own.
struct Reference {
    d: usize,
    delta: f64,
    range_only: bool,
    g: Vec<f64>,
}

impl Reference {
    fn new(d: usize, c: f64, delta: f64) -> Self {
        let mut g = vec![0.0; d * d];
        for i in 0..d {
            g[i * d + i] = c;
        }
        Reference {
            d,
            delta,
            range_only: false,
            g,
        }
    }

    fn range_only(d: usize, c: f64, delta: f64) -> Self {
        Reference {
            range_only: true,
            ..Reference::new(d, c, delta)
        }
    }

    fn update(&mut self, grad: &[f64]) -> Vec<f64> {
        let d = self.d;
        for r in 0..d {
            for c in 0..d {
                self.g[r * d + c] += grad[r] * grad[c];
            }
        }
        let (lambda, q) = jacobi(self.g.clone(), d);
        let max = lambda.iter().fold(0.0f64, |m, &l| m.max(l));
        let mut v = vec![0.0; d];
        for i in 0..d {
            let l = lambda[i].max(0.0);
            if (self.delta == 0.0 || self.range_only) && l <= d as f64 * 1e-14 * max {
                continue; // pseudo-inverse: nothing on the null space
            }
            let qi: Vec<f64> = (0..d).map(|k| q[k * d + i]).collect();
            let y: f64 = qi.iter().zip(grad).map(|(a, b)| a * b).sum();
            let weight = y / (l.sqrt() + self.delta);
            for k in 0..d {
                v[k] += weight * qi[k];
            }
        }
        v
    }
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// `|a - b| / |b|` in the 2-norm.
fn relative(a: &[f64], b: &[f64]) -> f64 {
    let diff: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    norm(&diff) / norm(b)
}

/// `steps` gradients of dimension `d`: signed uniforms times log-normal per-coordinate scales
/// (as the post's benchmark), rounded to f32 as the optimizer receives them.
fn gradients(d: usize, steps: usize, seed: u32) -> Vec<Vec<f64>> {
    let mut random = RandomState::new(seed);
    let scales: Vec<f64> = (0..d).map(|_| random.lognormal(0.0, 1.0)).collect();
    (0..steps)
        .map(|_| {
            scales
                .iter()
                .map(|s| ((2.0 * random.rand() - 1.0) * s) as f32 as f64)
                .collect()
        })
        .collect()
}

/// Steps one batch through the registered optimizer (weight decay included) and returns the
/// rows after every step.
fn run(configs: &[AdagradFullConfig], w0: &[Vec<f64>], grads: &[Vec<Vec<f64>>]) -> Vec<Vec<Vec<f64>>> {
    let device = device();
    let (n, d) = (w0.len(), w0[0].len());
    let tensor = |rows: &[Vec<f64>]| {
        let flat: Vec<f32> = rows.iter().flatten().map(|&v| v as f32).collect();
        Tensor::<2>::from_data(TensorData::new(flat, [n, d]), &device)
    };
    let mut optimizer = <AdagradFullConfig as optim::Config>::build(configs, &device);
    let mut w = tensor(w0);
    let mut out = Vec::new();
    for step in grads {
        w = crate::optim::step_with_gradient(optimizer.as_mut(), w, tensor(step));
        let host: Vec<f64> = w.to_data().iter::<f64>().collect();
        out.push(host.chunks(d).map(|r| r.to_vec()).collect());
    }
    out
}

// ---------------------------------------------------------------------------------------------

/// The settings compared: (initial_accumulator_value, epsilon).
const SETTINGS: [(f64, f64); 4] = [(0.0, 1e-7), (0.0, 0.0), (0.1, 1e-5), (0.0, 1e-5)];

#[test]
fn matches_the_direct_method_on_random_problems() {
    // d = 2, 5, 17 cross from the span form to the dense form (t = d); d = 64 at 70 steps too.
    for (d, steps) in [(2, 8), (5, 12), (17, 24), (64, 12), (64, 70)] {
        for (k, &(c, delta)) in SETTINGS.iter().enumerate() {
            let (mut worst, mut worst_plain) = (0.0f64, 0.0f64);
            let grads = gradients(d, steps, 1000 + d as u32 + 7 * k as u32);
            let mut fast = Accumulator::new(d, c, delta);
            let mut reference = Reference::range_only(d, c, delta);
            let mut plain = Reference::new(d, c, delta);
            for (t, g) in grads.iter().enumerate() {
                let v = fast.update(g).to_vec();
                let error = relative(&v, &reference.update(g));
                let error_plain = relative(&v, &plain.update(g));
                worst = worst.max(error);
                worst_plain = worst_plain.max(error_plain);
                assert!(
                    error < 1e-9,
                    "d={d} c={c} delta={delta} step {t}: relative error {error:e}"
                );
                // The plain form's own floor is about eps |g| / delta per null direction of G:
                // with c = 0 and delta = 1e-7 it reaches 1e-5 at d = 64, so it is only reported.
                if c > 0.0 || delta == 0.0 || delta >= 1e-6 {
                    assert!(
                        error_plain < 1e-5,
                        "d={d} c={c} delta={delta} step {t}: {error_plain:e} (plain)"
                    );
                }
            }
            assert_eq!(fast.is_dense(), steps >= d);
            println!(
                "d={d:>2} steps={steps:>2} c={c} delta={delta:e}: worst relative error {worst:.1e} \
                 ({worst_plain:.1e} against the plain direct form)"
            );
        }
    }
}

#[test]
fn optimizer_trajectories_match_the_direct_method() {
    // Through the registered optimizer on f32 tensors: w_t against the f64 reference trajectory.
    for (d, steps) in [(2, 8), (5, 12), (17, 20), (64, 10)] {
        let configs: Vec<AdagradFullConfig> = SETTINGS
            .iter()
            .map(|&(c, delta)| AdagradFullConfig {
                learning_rate: 0.3.into(),
                epsilon: delta,
                initial_accumulator_value: c,
                weight_decay: None,
            })
            .collect();
        let n = configs.len();
        let mut random = RandomState::new(d as u32);
        let w0: Vec<Vec<f64>> = (0..n)
            .map(|_| (0..d).map(|_| (random.rand() * 4.0 - 2.0) as f32 as f64).collect())
            .collect();
        let per_row: Vec<Vec<Vec<f64>>> = (0..n).map(|i| gradients(d, steps, 77 + i as u32)).collect();
        let grads: Vec<Vec<Vec<f64>>> = (0..steps)
            .map(|t| (0..n).map(|i| per_row[i][t].clone()).collect())
            .collect();
        let got = run(&configs, &w0, &grads);
        for (i, config) in configs.iter().enumerate() {
            let mut reference = Reference::new(d, config.initial_accumulator_value, config.epsilon);
            let mut w = w0[i].clone();
            for t in 0..steps {
                let v = reference.update(&per_row[i][t]);
                for k in 0..d {
                    w[k] -= config.learning_rate.constant().unwrap() * v[k];
                }
                let ours = &got[t][i];
                let scale = w.iter().fold(0.0f64, |m, x| m.max(x.abs()));
                let error = ours.iter().zip(&w).fold(0.0f64, |m, (a, b)| m.max((a - b).abs())) / scale;
                assert!(error < 1e-5, "d={d} row {i} step {t}: relative error {error:e}");
            }
        }
    }
}

#[test]
fn axis_aligned_gradients_give_diagonal_adagrad() {
    let (d, steps, eta, delta) = (6, 25, 0.5, 1e-7);
    let mut random = RandomState::new(5);
    let grads: Vec<Vec<f64>> = (0..steps)
        .map(|_| {
            let mut g = vec![0.0; d];
            let axis = (random.rand() * d as f64) as usize;
            g[axis] = ((random.rand() * 2.0 - 1.0) * 3.0) as f32 as f64;
            g
        })
        .collect();
    let config = AdagradFullConfig {
        learning_rate: eta.into(),
        epsilon: delta,
        ..AdagradFullConfig::default()
    };
    let got = run(
        &[config],
        &[vec![0.0; d]],
        &grads.iter().map(|g| vec![g.clone()]).collect::<Vec<_>>(),
    );
    let mut accumulator = Accumulator::new(d, 0.0, delta);
    let (mut a, mut w) = (vec![0.0; d], vec![0.0; d]);
    for (t, g) in grads.iter().enumerate() {
        let v = accumulator.update(g).to_vec();
        for k in 0..d {
            a[k] += g[k] * g[k];
            let diagonal = g[k] / (a[k].sqrt() + delta);
            assert!(
                (v[k] - diagonal).abs() <= 1e-12 * (1.0 + diagonal.abs()),
                "step {t}: {v:?}"
            );
            w[k] -= eta * diagonal;
            assert!((got[t][0][k] - w[k]).abs() <= 1e-5 * (1.0 + w[k].abs()), "step {t}");
        }
    }
}

/// A random orthogonal matrix (Gram-Schmidt of random columns), row-major.
fn orthogonal(d: usize, seed: u32) -> Vec<f64> {
    let mut random = RandomState::new(seed);
    let mut q: Vec<Vec<f64>> = Vec::new();
    while q.len() < d {
        let mut x: Vec<f64> = (0..d).map(|_| random.standard_normal()).collect();
        for _ in 0..2 {
            for b in &q {
                let p: f64 = x.iter().zip(b).map(|(a, b)| a * b).sum();
                for k in 0..d {
                    x[k] -= p * b[k];
                }
            }
        }
        let n = norm(&x);
        q.push(x.iter().map(|v| v / n).collect());
    }
    (0..d * d).map(|k| q[k / d][k % d]).collect()
}

fn apply(r: &[f64], x: &[f64]) -> Vec<f64> {
    let d = x.len();
    (0..d).map(|i| (0..d).map(|j| r[i * d + j] * x[j]).sum()).collect()
}

#[test]
fn rotation_equivariance() {
    for (d, steps) in [(2, 6), (5, 9), (17, 8)] {
        let r = orthogonal(d, 11 + d as u32);
        let grads = gradients(d, steps, 3 + d as u32);
        let mut plain = Accumulator::new(d, 0.0, 1e-5);
        let mut rotated = Accumulator::new(d, 0.0, 1e-5);
        for g in &grads {
            let v = plain.update(g).to_vec();
            let v_rotated = rotated.update(&apply(&r, g)).to_vec();
            let error = relative(&v_rotated, &apply(&r, &v));
            assert!(error < 1e-10, "d={d}: {error:e}");
        }
    }
}

#[test]
fn first_step_is_g_over_its_norm_plus_delta() {
    let d = 5;
    let configs: Vec<AdagradFullConfig> = [(0.1, 0.0), (1.0, 1e-7), (2.0, 0.5)]
        .iter()
        .map(|&(eta, delta)| AdagradFullConfig {
            learning_rate: eta.into(),
            epsilon: delta,
            ..AdagradFullConfig::default()
        })
        .collect();
    let w0: Vec<Vec<f64>> = vec![vec![1.0, -2.0, 0.5, 0.0, 3.0]; 3];
    let g: Vec<Vec<f64>> = vec![
        vec![0.5, 0.25, -1.0, 2.0, 0.0],
        vec![3.0, 0.0, 0.0, 4.0, 0.0],
        vec![-1e-3, 2e-3, 0.0, 0.0, 1e-3],
    ];
    let got = run(&configs, &w0, std::slice::from_ref(&g));
    for (i, config) in configs.iter().enumerate() {
        let scale = config.learning_rate.constant().unwrap() / (norm(&g[i]) + config.epsilon);
        for k in 0..d {
            let expected = (w0[i][k] - scale * g[i][k]) as f32 as f64;
            assert_eq!(got[0][i][k], expected, "row {i}");
        }
    }
}

#[test]
fn batch_rows_are_independent() {
    let d = 7;
    let configs: Vec<AdagradFullConfig> = [
        (0.1, 1e-7, 0.0, None),
        (0.5, 0.0, 0.2, Some(0.01)),
        (2.0, 1e-3, 0.0, None),
    ]
    .iter()
    .map(|&(eta, delta, c, wd)| AdagradFullConfig {
        learning_rate: eta.into(),
        epsilon: delta,
        initial_accumulator_value: c,
        weight_decay: wd,
    })
    .collect();
    let per_row: Vec<Vec<Vec<f64>>> = (0..3).map(|i| gradients(d, 10, 40 + i)).collect();
    let w0: Vec<Vec<f64>> = (0..3).map(|i| vec![i as f64 - 1.0; d]).collect();
    let together = run(
        &configs,
        &w0,
        &(0..10)
            .map(|t| (0..3).map(|i| per_row[i][t].clone()).collect())
            .collect::<Vec<_>>(),
    );
    for i in 0..3 {
        let alone = run(
            &configs[i..=i],
            &w0[i..=i],
            &per_row[i].iter().map(|g| vec![g.clone()]).collect::<Vec<_>>(),
        );
        for t in 0..10 {
            assert_eq!(together[t][i], alone[t][0], "row {i} step {t}");
        }
    }
}

#[test]
fn a_diverged_row_leaves_the_others_alone() {
    let d = 3;
    let configs = vec![AdagradFullConfig::default(); 2];
    let w0 = vec![vec![1.0; d]; 2];
    let steps = vec![
        vec![vec![1.0, 2.0, 3.0], vec![f64::NAN, 0.0, 1.0]],
        vec![vec![-1.0, 0.0, 1.0], vec![1.0, 1.0, 1.0]],
    ];
    let got = run(&configs, &w0, &steps);
    let alone = run(
        &configs[..1],
        &w0[..1],
        &[vec![steps[0][0].clone()], vec![steps[1][0].clone()]],
    );
    assert_eq!(got[1][0], alone[1][0]);
    assert!(got[1][1].iter().all(|v| v.is_nan()));
}

// ---------------------------------------------------------------------------------------------
// The post's arrow figures.
