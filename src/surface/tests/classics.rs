//! The classic test functions and expression surfaces against hand-derived `f64` values and
//! gradients at random points of their domains, and the public gradient check.

use crate::Registry;
use crate::backend::Backend;
use crate::surface::expr::Expr;
use crate::surface::{self, Lookup, NoiseSpec, Surface, to_vec};
use burn::tensor::{Device, Tensor, TensorData};
use std::f64::consts::{E, PI};

fn device() -> Device {
    Backend::default().device().unwrap()
}

/// A function, its gradient, in `f64`.
type Exact = fn(f64, f64) -> (f64, [f64; 2]);

fn rosenbrock(x: f64, y: f64) -> (f64, [f64; 2]) {
    let v = (1.0 - x).powi(2) + 100.0 * (y - x * x).powi(2);
    (v, [-2.0 * (1.0 - x) - 400.0 * x * (y - x * x), 200.0 * (y - x * x)])
}

fn rastrigin(x: f64, y: f64) -> (f64, [f64; 2]) {
    let t = |v: f64| v * v - 10.0 * (2.0 * PI * v).cos();
    let d = |v: f64| 2.0 * v + 20.0 * PI * (2.0 * PI * v).sin();
    (20.0 + t(x) + t(y), [d(x), d(y)])
}

fn beale(x: f64, y: f64) -> (f64, [f64; 2]) {
    let (a, b, c) = (1.5 - x + x * y, 2.25 - x + x * y * y, 2.625 - x + x * y.powi(3));
    (
        a * a + b * b + c * c,
        [
            2.0 * a * (y - 1.0) + 2.0 * b * (y * y - 1.0) + 2.0 * c * (y.powi(3) - 1.0),
            2.0 * a * x + 2.0 * b * 2.0 * x * y + 2.0 * c * 3.0 * x * y * y,
        ],
    )
}

fn himmelblau(x: f64, y: f64) -> (f64, [f64; 2]) {
    let (a, b) = (x * x + y - 11.0, x + y * y - 7.0);
    (a * a + b * b, [4.0 * x * a + 2.0 * b, 2.0 * a + 4.0 * y * b])
}

fn ackley(x: f64, y: f64) -> (f64, [f64; 2]) {
    let r = (0.5 * (x * x + y * y)).sqrt();
    let w = 0.5 * ((2.0 * PI * x).cos() + (2.0 * PI * y).cos());
    let v = -20.0 * (-0.2 * r).exp() - w.exp() + 20.0 + E;
    let d = |u: f64| 2.0 * u * (-0.2 * r).exp() / r + PI * (2.0 * PI * u).sin() * w.exp();
    (v, [d(x), d(y)])
}

fn styblinski_tang(x: f64, y: f64) -> (f64, [f64; 2]) {
    let t = |v: f64| v.powi(4) - 16.0 * v * v + 5.0 * v;
    let d = |v: f64| 0.5 * (4.0 * v.powi(3) - 32.0 * v + 5.0);
    (0.5 * (t(x) + t(y)), [d(x), d(y)])
}

fn goldstein_price(x: f64, y: f64) -> (f64, [f64; 2]) {
    let s = x + y + 1.0;
    let p = 19.0 - 14.0 * x + 3.0 * x * x - 14.0 * y + 6.0 * x * y + 3.0 * y * y;
    let dp = -14.0 + 6.0 * x + 6.0 * y; // the same along x and y
    let a = 1.0 + s * s * p;
    let da = 2.0 * s * p + s * s * dp;
    let u = 2.0 * x - 3.0 * y;
    let q = 18.0 - 32.0 * x + 12.0 * x * x + 48.0 * y - 36.0 * x * y + 27.0 * y * y;
    let b = 30.0 + u * u * q;
    let bx = 4.0 * u * q + u * u * (-32.0 + 24.0 * x - 36.0 * y);
    let by = -6.0 * u * q + u * u * (48.0 - 36.0 * x + 54.0 * y);
    (a * b, [da * b + a * bx, da * b + a * by])
}

fn booth(x: f64, y: f64) -> (f64, [f64; 2]) {
    let (a, b) = (x + 2.0 * y - 7.0, 2.0 * x + y - 5.0);
    (a * a + b * b, [2.0 * a + 4.0 * b, 4.0 * a + 2.0 * b])
}

fn six_hump_camel(x: f64, y: f64) -> (f64, [f64; 2]) {
    let v = (4.0 - 2.1 * x * x + x.powi(4) / 3.0) * x * x + x * y + (-4.0 + 4.0 * y * y) * y * y;
    (
        v,
        [
            8.0 * x - 8.4 * x.powi(3) + 2.0 * x.powi(5) + y,
            x - 8.0 * y + 16.0 * y.powi(3),
        ],
    )
}

fn three_hump_camel(x: f64, y: f64) -> (f64, [f64; 2]) {
    let v = 2.0 * x * x - 1.05 * x.powi(4) + x.powi(6) / 6.0 + x * y + y * y;
    (v, [4.0 * x - 4.2 * x.powi(3) + x.powi(5) + y, x + 2.0 * y])
}

fn matyas(x: f64, y: f64) -> (f64, [f64; 2]) {
    (
        0.26 * (x * x + y * y) - 0.48 * x * y,
        [0.52 * x - 0.48 * y, 0.52 * y - 0.48 * x],
    )
}

fn levy13(x: f64, y: f64) -> (f64, [f64; 2]) {
    let s2 = |v: f64, k: f64| (k * PI * v).sin().powi(2);
    let ds2 = |v: f64, k: f64| k * PI * (2.0 * k * PI * v).sin();
    let v = s2(x, 3.0) + (x - 1.0).powi(2) * (1.0 + s2(y, 3.0)) + (y - 1.0).powi(2) * (1.0 + s2(y, 2.0));
    (
        v,
        [
            ds2(x, 3.0) + 2.0 * (x - 1.0) * (1.0 + s2(y, 3.0)),
            (x - 1.0).powi(2) * ds2(y, 3.0) + 2.0 * (y - 1.0) * (1.0 + s2(y, 2.0)) + (y - 1.0).powi(2) * ds2(y, 2.0),
        ],
    )
}

fn branin(x: f64, y: f64) -> (f64, [f64; 2]) {
    let (b, c, t) = (5.1 / (4.0 * PI * PI), 5.0 / PI, 1.0 / (8.0 * PI));
    let u = y - b * x * x + c * x - 6.0;
    (
        u * u + 10.0 * (1.0 - t) * x.cos() + 10.0,
        [2.0 * u * (-2.0 * b * x + c) - 10.0 * (1.0 - t) * x.sin(), 2.0 * u],
    )
}

fn easom(x: f64, y: f64) -> (f64, [f64; 2]) {
    let w = (-((x - PI).powi(2) + (y - PI).powi(2))).exp();
    (
        -x.cos() * y.cos() * w,
        [
            y.cos() * w * (x.sin() + 2.0 * (x - PI) * x.cos()),
            x.cos() * w * (y.sin() + 2.0 * (y - PI) * y.cos()),
        ],
    )
}

const CLASSICS: [(&str, Exact); 14] = [
    ("rosenbrock", rosenbrock),
    ("rastrigin", rastrigin),
    ("beale", beale),
    ("himmelblau", himmelblau),
    ("ackley", ackley),
    ("styblinski_tang", styblinski_tang),
    ("goldstein_price", goldstein_price),
    ("booth", booth),
    ("six_hump_camel", six_hump_camel),
    ("three_hump_camel", three_hump_camel),
    ("matyas", matyas),
    ("levy13", levy13),
    ("branin", branin),
    ("easom", easom),
];

/// Seeded uniform points of the surface's domain, rounded to `f32`.
fn random_points(surface: &Surface, n: usize, seed: u64) -> Vec<[f32; 2]> {
    let mut state = seed;
    let mut uniform = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let d = surface.domain;
    (0..n)
        .map(|_| {
            let x = d.x[0] + (d.x[1] - d.x[0]) * uniform();
            let y = d.y[0] + (d.y[1] - d.y[0]) * uniform();
            [x as f32, y as f32]
        })
        .collect()
}

/// Checks `surface` against `exact` at random points: loss and gradient within
/// `1e-4 (1 + |exact|)`. Returns the worst relative errors of value and gradient.
fn agrees(surface: &Surface, exact: Exact, seed: u64) -> (f64, f64) {
    let device = device();
    let points = random_points(surface, 2000, seed);
    let flat: Vec<f32> = points.iter().flatten().copied().collect();
    let batch = Tensor::<2>::from_data(TensorData::new(flat, [points.len(), 2]), &device);
    let off = surface.noise(
        NoiseSpec {
            seed: 0,
            lookup: Lookup::Off,
        },
        &device,
    );
    let (loss, grad) = surface.loss_and_grad(batch, &off);
    let (loss, grad) = (to_vec(loss), to_vec(grad));
    let (mut worst_v, mut worst_g) = (0.0f64, 0.0f64);
    for (i, p) in points.iter().enumerate() {
        let (v, g) = exact(p[0] as f64, p[1] as f64);
        let err = (loss[i] as f64 - v).abs() / (1.0 + v.abs());
        assert!(
            err <= 1e-4,
            "{} at {p:?}: value {} vs exact {v} (relative error {err:.2e})",
            surface.name,
            loss[i]
        );
        worst_v = worst_v.max(err);
        for axis in 0..2 {
            let ours = grad[2 * i + axis] as f64;
            let err = (ours - g[axis]).abs() / (1.0 + g[axis].abs());
            assert!(
                err <= 1e-4,
                "{} at {p:?} axis {axis}: gradient {ours} vs exact {} (relative error {err:.2e})",
                surface.name,
                g[axis]
            );
            worst_g = worst_g.max(err);
        }
    }
    (worst_v, worst_g)
}

#[test]
fn classic_functions_match_their_hand_derived_values_and_gradients() {
    let registry = Registry::builtin();
    for (k, (name, exact)) in CLASSICS.iter().enumerate() {
        let surface = registry.surface(name).unwrap_or_else(|| panic!("{name} is built in"));
        assert!(!surface.noisy, "{name} reads no noise");
        let (v, g) = agrees(surface, *exact, 17 + k as u64);
        println!("{name:<18} worst relative error: value {v:.1e}, gradient {g:.1e}");
    }
}

#[test]
fn classic_minima_are_where_the_exact_functions_say() {
    let registry = Registry::builtin();
    for (name, exact) in CLASSICS {
        let surface = registry.surface(name).unwrap();
        assert!(surface.minima().count() >= 1, "{name} lists its global minima");
        let global = surface.global_minimum().unwrap();
        for m in surface.minima() {
            let (v, g) = exact(m.point[0], m.point[1]);
            assert!(
                (v - m.value).abs() < 1e-9,
                "{name}: f{:?} = {v}, listed {}",
                m.point,
                m.value
            );
            assert!((v - global).abs() < 1e-9, "{name}: every listed minimum is global");
            // Ackley's minimum is a kink: its one-sided derivatives are +-2 / sqrt(2).
            if name != "ackley" {
                assert!(
                    g.iter().all(|c| c.abs() < 1e-6),
                    "{name}: gradient {g:?} at {:?}",
                    m.point
                );
            }
            assert!(surface.domain.contains(m.point), "{name}: minimum outside the domain");
        }
    }
}

/// Expressions with every function and operator, against hand-derived `f64`.
#[test]
fn expression_surfaces_match_hand_derived_values_and_gradients() {
    let registry = Registry::builtin();
    let cases: [(&str, Exact); 6] = [
        ("(1 - x)^2 + 100 * (y - x^2)^2", rosenbrock),
        ("rastrigin(x, y)", rastrigin),
        (
            "sin(x) * cos(y) + tan(x / 4) + asin(y / 12) + acos(x / 12) + atan(x * y) / 2",
            |x, y| {
                let v =
                    x.sin() * y.cos() + (x / 4.0).tan() + (y / 12.0).asin() + (x / 12.0).acos() + (x * y).atan() / 2.0;
                let dx = x.cos() * y.cos() + 0.25 / (x / 4.0).cos().powi(2)
                    - (1.0 / 12.0) / (1.0 - (x / 12.0).powi(2)).sqrt()
                    + 0.5 * y / (1.0 + (x * y).powi(2));
                let dy = -x.sin() * y.sin()
                    + (1.0 / 12.0) / (1.0 - (y / 12.0).powi(2)).sqrt()
                    + 0.5 * x / (1.0 + (x * y).powi(2));
                (v, [dx, dy])
            },
        ),
        (
            "tanh(x) + sinh(y / 5) + cosh(x / 5) + exp(-x^2 / 10) + ln(2 + x^2) + log10(3 + y^2)",
            |x, y| {
                let v = x.tanh()
                    + (y / 5.0).sinh()
                    + (x / 5.0).cosh()
                    + (-x * x / 10.0).exp()
                    + (2.0 + x * x).ln()
                    + (3.0 + y * y).log10();
                let dx = 1.0 - x.tanh().powi(2) + (x / 5.0).sinh() / 5.0 - x / 5.0 * (-x * x / 10.0).exp()
                    + 2.0 * x / (2.0 + x * x);
                let dy = (y / 5.0).cosh() / 5.0 + 2.0 * y / ((3.0 + y * y) * std::f64::consts::LN_10);
                (v, [dx, dy])
            },
        ),
        (
            "sqrt(1 + x^2 + y^2) + abs(x - 2 * y) + min(x, y) + max(x^2, 3 * y) - x^3 / 50 + 2^(y / 4)",
            |x, y| {
                let s = (1.0 + x * x + y * y).sqrt();
                let v =
                    s + (x - 2.0 * y).abs() + x.min(y) + (x * x).max(3.0 * y) - x.powi(3) / 50.0 + 2f64.powf(y / 4.0);
                let sign = (x - 2.0 * y).signum();
                let (min_x, min_y) = if x < y { (1.0, 0.0) } else { (0.0, 1.0) };
                let (max_x, max_y) = if x * x > 3.0 * y { (2.0 * x, 0.0) } else { (0.0, 3.0) };
                let dx = x / s + sign + min_x + max_x - 3.0 * x * x / 50.0;
                let dy = y / s - 2.0 * sign + min_y + max_y + 2f64.powf(y / 4.0) * 2f64.ln() / 4.0;
                (v, [dx, dy])
            },
        ),
        (
            "-x^2 / 4 + 3 / (1 + y^2) - (2 + x^2)^(y / 10) + 1e-3 * x * y + 2^3^2 / 512",
            |x, y| {
                let p = (2.0 + x * x).powf(y / 10.0);
                let v = -x * x / 4.0 + 3.0 / (1.0 + y * y) - p + 1e-3 * x * y + 1.0;
                let dx = -x / 2.0 - p * (y / 10.0) * 2.0 * x / (2.0 + x * x) + 1e-3 * y;
                let dy = -6.0 * y / (1.0 + y * y).powi(2) - p * (2.0 + x * x).ln() / 10.0 + 1e-3 * x;
                (v, [dx, dy])
            },
        ),
    ];
    for (k, (text, exact)) in cases.iter().enumerate() {
        let expr = Expr::compile(text, registry.surfaces()).unwrap_or_else(|e| panic!("{text}: {e}"));
        let domain = if k < 2 {
            registry.surface(["rosenbrock", "rastrigin"][k]).unwrap().domain
        } else {
            surface::Domain::from([[-5.0, 5.0], [-5.0, 5.0]])
        };
        let surface = expr.into_surface("expr", *text, &[]).with_domain(domain);
        let (v, g) = agrees(&surface, *exact, 100 + k as u64);
        println!("{text}: worst relative error: value {v:.1e}, gradient {g:.1e}");
    }
}

#[test]
fn gradient_check_passes_every_builtin_and_catches_a_wrong_gradient() {
    let registry = Registry::builtin();
    for s in registry.surfaces() {
        let report = surface::check(s);
        assert!(report.passes(5e-2), "{}: {report}", s.name);
    }
    // A surface that hides part of itself from autodiff: its gradient misses the y^2 term.
    let broken = Surface::new("broken", "x^2 + y^2, y's part detached", |x, y, _r, _c| {
        x.square() + y.detach().square()
    })
    .noiseless();
    let report = surface::check(&broken);
    assert!(!report.passes(5e-2), "{report}");
    assert_eq!(report.axis, 1, "{report}");
    assert!(report.to_string().contains("worst relative error"), "{report}");
}
