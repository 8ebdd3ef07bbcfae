//! Landscapes against direct computations: filter normalisation per neuron, PCA against the
//! eigenvectors of the covariance, projections of constructed points, a plane's values against
//! the model evaluated point by point, and the Hessian's extreme eigenvalues of a quadratic.

use super::directions::{normalize, pca, project};
use super::*;
use crate::backend::Backend;
use crate::params::{Layout, Variable};
use crate::surface::data::{Batching, Dataset, Model, ModelLoss};
use std::sync::Arc;

fn device() -> Device {
    Backend::default().device().unwrap()
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

#[test]
fn filter_normalisation_scales_each_neurons_incoming_weights_to_the_centres() {
    let layout = Layout::new(vec![Variable::new("k", [3, 2]), Variable::new("b", [2])]);
    // Kernel [in 3, out 2] row-major: neuron 0 is indices 0, 2, 4; neuron 1 is 1, 3, 5.
    let center = [1.0f32, 0.0, 2.0, 3.0, 2.0, 4.0, 7.0, 8.0];
    let mut d = vec![1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 5.0, 5.0];
    normalize(&mut d, &center, &layout, Normalize::Filter, true);
    let col = |v: &[f64], j: usize| [v[j], v[2 + j], v[4 + j]];
    // ||(1, 2, 2)|| = 3 and ||(0, 3, 4)|| = 5, each direction column of norm sqrt(3) before.
    assert!((norm(&col(&d, 0)) - 3.0).abs() < 1e-9, "{d:?}");
    assert!((norm(&col(&d, 1)) - 5.0).abs() < 1e-9, "{d:?}");
    assert!((d[0] - 3.0 / 3f64.sqrt()).abs() < 1e-9);
    assert_eq!(&d[6..], &[0.0, 0.0], "ignore biasbn zeroes the biases");
    let mut kept = vec![1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 5.0, 5.0];
    normalize(&mut kept, &center, &layout, Normalize::Filter, false);
    assert_eq!(
        &kept[6..],
        &[7.0, 8.0],
        "without ignore, a bias direction is the centre's bias"
    );
    let mut layer = vec![1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 5.0, 5.0];
    normalize(&mut layer, &center, &layout, Normalize::Layer, true);
    assert!(
        (norm(&layer[..6]) - 34f64.sqrt()).abs() < 1e-9,
        "the whole kernel to its norm"
    );
    let mut none = vec![1.0; 8];
    normalize(&mut none, &center, &layout, Normalize::None, false);
    assert_eq!(none, vec![1.0; 8]);
}

/// `n` points of `p` numbers with a dominant and a second direction plus a little noise.
fn cloud(n: usize, p: usize) -> Vec<f64> {
    let [u, v] = directions::gaussian(p, 7);
    let [noise, _] = directions::gaussian(n * p, 8);
    (0..n)
        .flat_map(|i| {
            let (s, t) = ((i as f64 * 0.7).sin() * 5.0, (i as f64 * 1.3).cos() * 2.0);
            let (u, v, noise) = (&u, &v, &noise);
            (0..p).map(move |k| s * u[k] + t * v[k] + 0.05 * noise[i * p + k])
        })
        .collect()
}

#[test]
fn pca_directions_and_explained_variance_are_the_covariances_top_eigenvectors() {
    // Both paths: through the Gram matrix (n <= p) and through the covariance (n > p).
    for (n, p) in [(12, 30), (40, 6)] {
        let m = cloud(n, p);
        let (dirs, explained) = pca(&m, n, p).unwrap();
        // Direct: the eigenvectors of m^T m, by plain power iteration with deflation.
        let mut cov = vec![0.0; p * p];
        for row in m.chunks(p) {
            for a in 0..p {
                for b in 0..p {
                    cov[a * p + b] += row[a] * row[b];
                }
            }
        }
        let total: f64 = m.iter().map(|x| x * x).sum();
        let mut found: Vec<(f64, Vec<f64>)> = Vec::new();
        for _ in 0..2 {
            let mut x: Vec<f64> = (0..p).map(|k| 1.0 + k as f64 * 0.01).collect();
            let mut lambda = 0.0;
            for _ in 0..5000 {
                let mut y: Vec<f64> = (0..p).map(|a| (0..p).map(|b| cov[a * p + b] * x[b]).sum()).collect();
                for (l, e) in &found {
                    let c: f64 = e.iter().zip(&x).map(|(a, b)| a * b).sum();
                    y.iter_mut().zip(e).for_each(|(y, e)| *y -= l * c * e);
                }
                lambda = norm(&y);
                x = y.iter().map(|v| v / lambda).collect();
            }
            found.push((lambda, x));
        }
        for k in 0..2 {
            let cos: f64 = dirs[k].iter().zip(&found[k].1).map(|(a, b)| a * b).sum();
            assert!((cos.abs() - 1.0).abs() < 1e-6, "direction {k}: cos {cos}");
            assert!((norm(&dirs[k]) - 1.0).abs() < 1e-9);
            assert!(
                (explained[k] - found[k].0 / total).abs() < 1e-6,
                "{explained:?} {}",
                found[k].0 / total
            );
        }
        assert!(explained[0] > explained[1] && explained[0] + explained[1] > 0.99);
    }
    assert!(
        pca(&[1.0, 2.0, 3.0, 2.0, 4.0, 6.0], 2, 3).is_none(),
        "two collinear points span one direction"
    );
}

#[test]
fn projections_recover_points_on_the_plane_and_residuals_measure_the_rest() {
    let dirs = [vec![1.0, 0.0, 0.0, 0.0], vec![1.0, 1.0, 0.0, 0.0]];
    let center = [1.0f32, 1.0, 1.0, 1.0];
    // center + 2 d0 - 3 d1 lies on the plane.
    let (ab, res) = project(&dirs, &center, &[0.0, -2.0, 1.0, 1.0]);
    assert!(
        (ab[0] - 2.0).abs() < 1e-12 && (ab[1] + 3.0).abs() < 1e-12 && res < 1e-12,
        "{ab:?} {res}"
    );
    // Off the plane by (0, 0, 3, 4): distance 5 of a total sqrt(1 + 9 + 9 + 16) from the centre.
    let (ab, res) = project(&dirs, &center, &[0.0, -2.0, 4.0, 5.0]);
    assert!((ab[0] - 2.0).abs() < 1e-12 && (ab[1] + 3.0).abs() < 1e-12);
    assert!((res - 5.0 / 35f64.sqrt()).abs() < 1e-12, "{res}");
    assert_eq!(project(&dirs, &center, &center).1, 0.0, "the centre itself");
}

/// `0.5 * sum_k h_k p_k^2 + 0 * data`: a quadratic whose Hessian is `diag(h)`.
struct Quadratic {
    layout: Layout,
    h: Vec<f32>,
}

impl ModelLoss for Quadratic {
    fn layout(&self) -> &Layout {
        &self.layout
    }
    fn features(&self) -> usize {
        1
    }
    fn loss(&self, params: Tensor<2>, x: Tensor<3>, _y: Tensor<2>) -> Tensor<1> {
        let [r, p] = params.dims();
        let h = Tensor::<2>::from_data(TensorData::new(self.h.clone(), [1, p]), &params.device());
        let rows = (params.clone() * params * h).sum_dim(1).reshape([r]) * 0.5;
        rows + x.sum().reshape([1]) * 0.0
    }
}

fn surface_of(model: Arc<dyn ModelLoss>, rows: usize) -> DataSurface {
    let data = Dataset {
        x: (0..rows).map(|k| k as f64 * 0.1).collect(),
        width: 1,
        y: vec![0.0; rows],
    };
    DataSurface::new(
        Model::Net(model),
        data,
        None,
        Batching {
            batch_size: None,
            drop_remainder: false,
        },
    )
}

#[test]
fn the_hessians_extreme_eigenvalues_of_a_quadratic_are_its_known_values() {
    let h = vec![3.0f32, -2.0, 0.5, 7.5, 1.0, -0.25];
    let p = h.len();
    let model = Quadratic {
        layout: Layout::new(vec![Variable::new("w", [p])]),
        h: h.clone(),
    };
    let data = surface_of(Arc::new(model), 4);
    // Two points: the Hessian of a quadratic is the same everywhere.
    let points: Vec<f32> = (0..2 * p).map(|k| k as f32 * 0.3 - 1.0).collect();
    let s = sharpness(&data, Split::Train, &points, 0, &device());
    assert_eq!(s.len(), 2);
    for s in s {
        assert!((s.lambda_max - 7.5).abs() < 1e-2, "{s:?}");
        assert!((s.lambda_min + 2.0).abs() < 1e-2, "{s:?}");
        assert!((s.ratio - 2.0 / 7.5).abs() < 1e-2, "{s:?}");
    }
}

/// A small tanh MLP over a few rows.
fn mlp() -> DataSurface {
    let model = crate::surface::data::Mlp::new(
        3,
        &[5],
        2,
        crate::surface::data::Activation::Tanh,
        crate::surface::data::Loss::CrossEntropy,
        false,
    );
    let x: Vec<f64> = (0..30).map(|k| ((k * 37 % 23) as f64 / 11.0 - 1.0) * 1.3).collect();
    let y: Vec<f64> = x.chunks(3).map(|r| if r[0] + r[1] > 0.0 { 1.0 } else { 0.0 }).collect();
    DataSurface::new(
        Model::Net(Arc::new(model)),
        Dataset { x, width: 3, y },
        None,
        Batching {
            batch_size: None,
            drop_remainder: false,
        },
    )
}

#[test]
fn a_planes_batched_values_are_the_model_evaluated_point_by_point() {
    let data = mlp();
    let device = device();
    let p = data.layout().len();
    let center: Vec<f32> = data.layout().keras_init(3);
    let [d0, d1] = directions::gaussian(p, 5).map(|d| d.iter().map(|&v| v as f32 * 0.3).collect::<Vec<f32>>());
    let (a, b) = (linspace([-1.0, 1.0], 7), linspace([-0.5, 2.0], 4));
    let grid: Vec<[f32; 2]> = b.iter().flat_map(|&bj| a.iter().map(move |&ai| [ai, bj])).collect();
    let center_t = Tensor::<2>::from_data(TensorData::new(center.clone(), [1, p]), &device);
    let dirs_t = Tensor::<2>::from_data(TensorData::new([d0.clone(), d1.clone()].concat(), [2, p]), &device);
    let batched = losses(&data, Split::Train, grid.len(), |r| {
        plane_rows(&center_t, &dirs_t, &grid, r)
    })
    .unwrap();
    for (k, &[ai, bj]) in grid.iter().enumerate() {
        let w: Vec<f32> = (0..p).map(|i| center[i] + ai * d0[i] + bj * d1[i]).collect();
        let one = to_vec(
            data.full_loss(Tensor::from_data(TensorData::new(w, [1, p]), &device), Split::Train)
                .unwrap(),
        )[0];
        assert!(
            (one - batched[k]).abs() <= 1e-5 * one.abs().max(1.0),
            "point {k}: {one} vs {}",
            batched[k]
        );
    }
}
