//! Surfaces: autodiff gradients against finite differences, known stationary points, and the
//! noise fields' shape, statistics, lookup, domains and determinism.

use crate::Registry;
use crate::backend::Backend;
use crate::surface::noise::NoiseField;
use crate::surface::noise::{COARSE, GRID, mesh_coord};
use crate::surface::{Domain, Lookup, Noise, NoiseSpec, Surface, to_vec};
use burn::tensor::{Device, Tensor, TensorData};

fn builtin(name: &str) -> Surface {
    Registry::builtin().surface(name).unwrap().clone()
}

/// The post's surfaces (the ones that read the noise terms on the post's box).
fn post_surfaces() -> Vec<Surface> {
    ["f0", "f1", "f2", "f3", "f4", "f5", "quadric"].map(builtin).to_vec()
}

fn noise(seed: u64, lookup: Lookup, device: &Device) -> Noise {
    Noise::new(NoiseSpec { seed, lookup }, Domain::POST, device)
}

fn device() -> Device {
    Backend::default().device().unwrap()
}

fn batch(points: &[[f32; 2]], device: &Device) -> Tensor<2> {
    let flat: Vec<f32> = points.iter().flatten().copied().collect();
    Tensor::from_data(TensorData::new(flat, [points.len(), 2]), device)
}

/// Points spread over the mesh, each inside a cell (away from its edges, so the bilinear noise
/// is smooth within +-h).
fn probe_points() -> Vec<[f32; 2]> {
    let mut points = Vec::new();
    for i in 0..9 {
        for j in 0..9 {
            let x = mesh_coord(10 + 20 * i) + 0.05 + 0.003 * j as f32;
            let y = mesh_coord(7 + 21 * j) + 0.04 + 0.002 * i as f32;
            points.push([x, y]);
        }
    }
    points
}

fn check_gradients(lookup: Lookup) {
    let device = device();
    let noise = noise(7, lookup, &device);
    let points = probe_points();
    let h = 0.005f32;
    for s in post_surfaces() {
        let (_, grad) = s.loss_and_grad(batch(&points, &device), &noise);
        let grad = to_vec(grad);
        for axis in 0..2 {
            let shifted = |d: f32| {
                let moved: Vec<[f32; 2]> = points
                    .iter()
                    .map(|p| {
                        let mut p = *p;
                        p[axis] += d;
                        p
                    })
                    .collect();
                to_vec(s.eval(batch(&moved, &device), &noise))
            };
            let (plus, minus) = (shifted(h), shifted(-h));
            for (k, p) in points.iter().enumerate() {
                let fd = (plus[k] as f64 - minus[k] as f64) / (2.0 * h as f64);
                let ad = grad[2 * k + axis] as f64;
                // f32 central differences: rounding error ~ ulp(f) / h, truncation ~ h^2 f'''.
                assert!(
                    (fd - ad).abs() <= 2e-4 + 2e-3 * ad.abs(),
                    "{} ({lookup:?}) at {p:?} axis {axis}: autodiff {ad} vs finite difference {fd}",
                    s.name
                );
            }
        }
    }
}

#[test]
fn gradients_match_finite_differences_without_noise() {
    check_gradients(Lookup::Off);
}

#[test]
fn gradients_match_finite_differences_with_bilinear_noise() {
    check_gradients(Lookup::Bilinear);
}

#[test]
fn nearest_noise_adds_to_the_loss_but_not_to_the_gradient() {
    let device = device();
    let off = noise(1, Lookup::Off, &device);
    let near = noise(1, Lookup::Nearest, &device);
    let field = NoiseField::generate(1);
    let points = probe_points();
    for s in post_surfaces() {
        let (loss_off, g_off) = s.loss_and_grad(batch(&points, &device), &off);
        let (loss_near, g_near) = s.loss_and_grad(batch(&points, &device), &near);
        assert_eq!(
            to_vec(g_off),
            to_vec(g_near),
            "{}: nearest noise changed the gradient",
            s.name
        );
        let (a, b) = (to_vec(loss_off), to_vec(loss_near));
        assert!(
            a.iter().zip(&b).any(|(a, b)| a != b) || s.name == "quadric",
            "{}: noise had no effect",
            s.name
        );
    }
    // f0 adds 0.04 r + 0.01 c of the point's cell, found as the post finds it.
    let (loss_off, _) = builtin("f0").loss_and_grad(batch(&points, &device), &off);
    let (loss_near, _) = builtin("f0").loss_and_grad(batch(&points, &device), &near);
    for (k, p) in points.iter().enumerate() {
        let cell = |v: f32| (((v + 10.0) * 10.0).floor() as usize).min(GRID - 1);
        let at = cell(p[0]) * GRID + cell(p[1]);
        let expected = 0.04 * field.coarse[at] + 0.01 * field.fine[at];
        let got = to_vec(loss_near.clone())[k] - to_vec(loss_off.clone())[k];
        assert!((got - expected).abs() < 1e-5, "at {p:?}: noise {got} vs {expected}");
    }
}

#[test]
fn nearest_lookup_clips_to_the_mesh() {
    let device = device();
    let near = noise(2, Lookup::Nearest, &device);
    let field = NoiseField::generate(2);
    let f0 = builtin("f0");
    let points = [[-30.0, 25.0], [9.99, -9.99], [-10.0, 10.0]];
    let loss = to_vec(f0.eval(batch(&points, &device), &near));
    let cells = [(0, GRID - 1), (GRID - 1, 0), (0, GRID - 1)];
    for ((p, (i, j)), l) in points.iter().zip(cells).zip(loss) {
        let smooth = (p[0] / 10.0).powi(2) + (p[1] / 10.0).powi(2);
        let noise = 0.04 * field.coarse[i * GRID + j] + 0.01 * field.fine[i * GRID + j];
        assert!(
            (l - smooth - noise).abs() < 1e-4 * (1.0 + smooth.abs()),
            "{p:?}: {l} vs {}",
            smooth + noise
        );
    }
}

#[test]
fn stationary_points_have_zero_gradient_and_the_listed_value() {
    let device = device();
    let off = noise(0, Lookup::Off, &device);
    for s in Registry::builtin().surfaces() {
        assert!(!s.stationary.is_empty(), "{} lists no stationary point", s.name);
        for st in &s.stationary {
            let p = [st.point[0] as f32, st.point[1] as f32];
            let (loss, grad) = s.loss_and_grad(batch(&[p], &device), &off);
            let (loss, grad) = (to_vec(loss)[0] as f64, to_vec(grad));
            // f32 evaluation at the f32-rounded point: a few ulps of the value, and the
            // curvature times half an ulp of the point for the gradient.
            assert!(
                (loss - st.value).abs() < 1e-6 + 2e-7 * st.value.abs(),
                "{} at {:?}: value {loss} vs {}",
                s.name,
                st.point,
                st.value
            );
            assert!(
                grad.iter().all(|g| g.abs() < 5e-4),
                "{} at {:?}: gradient {grad:?}",
                s.name,
                st.point
            );
        }
    }
}

#[test]
fn noise_fields_have_the_posts_shape_and_statistics() {
    let field = NoiseField::generate(0);
    assert_eq!(field.coarse.len(), GRID * GRID);
    assert_eq!(field.fine.len(), GRID * GRID);
    let stats = |v: &[f64]| {
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64;
        (mean, var.sqrt())
    };
    // Fine noise divided by its |x| |y| / 100 scale is a standard normal draw.
    let unscaled: Vec<f64> = (0..GRID * GRID)
        .filter_map(|k| {
            let scale = mesh_coord(k / GRID).abs() * mesh_coord(k % GRID).abs() / 100.0;
            (scale > 0.01).then(|| (field.fine[k] / scale) as f64)
        })
        .collect();
    let (mean, std) = stats(&unscaled);
    assert!(
        mean.abs() < 0.02 && (std - 1.0).abs() < 0.02,
        "fine: mean {mean} std {std}"
    );
    // The fine noise vanishes on the axes and is largest in the corners.
    assert_eq!(field.fine[100 * GRID + 37], 0.0);
    // Coarse noise: a 25x25 standard normal draw resized, so mean ~0 and std below 1.
    let coarse: Vec<f64> = field.coarse.iter().map(|&v| v as f64).collect();
    let (mean, std) = stats(&coarse);
    assert!(
        mean.abs() < 0.15 && std > 0.5 && std < 1.1,
        "coarse: mean {mean} std {std}"
    );
    // Smooth: neighbours differ far less than independent draws would.
    let step: f64 = (0..GRID - 1)
        .map(|j| (field.coarse[50 * GRID + j + 1] - field.coarse[50 * GRID + j]).abs() as f64)
        .sum::<f64>()
        / (GRID - 1) as f64;
    assert!(step < 0.2, "coarse noise is not smooth: mean step {step}");
    // 8x8 mesh cells per coarse cell: half-pixel centres put coarse values at mesh 3.5 + 8k.
    assert_eq!(COARSE * 8, GRID);
}

#[test]
fn noise_is_deterministic_per_seed() {
    assert_eq!(NoiseField::generate(5), NoiseField::generate(5));
    assert_ne!(NoiseField::generate(5).coarse, NoiseField::generate(6).coarse);
    assert_ne!(NoiseField::generate(5).fine, NoiseField::generate(6).fine);
}
