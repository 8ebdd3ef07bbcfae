//! The post's surfaces f0..f5 and the quadric of its first figure, written exactly as its code
//! defines them (same operation order and noise coefficients).

use super::Surface;
use burn::tensor::Tensor;

/// f0, quadratic bowl: `(x/10)^2 + (y/10)^2 + 0.04 r + 0.01 c`. Minimum 0 at the origin.
pub fn f0(x: Tensor<1>, y: Tensor<1>, r: Tensor<1>, c: Tensor<1>) -> Tensor<1> {
    (x.div_scalar(10.0).square() + y.div_scalar(10.0).square()) + r.mul_scalar(0.04) + c.mul_scalar(0.01)
}

/// f1, cubic: `(x^2 + y^2 + 0.5 y + 0.06 (x+1)^3 + 0.1 (y-1)^3) / 400 + 0.01 r + 0.01 c`.
/// A local minimum at (-0.0767, -2/3) and a saddle at (-0.0767, -4); it falls away for very
/// negative coordinates.
pub fn f1(x: Tensor<1>, y: Tensor<1>, r: Tensor<1>, c: Tensor<1>) -> Tensor<1> {
    (x.clone().square()
        + y.clone().square()
        + y.clone().mul_scalar(0.5)
        + x.add_scalar(1.0).powi_scalar(3).mul_scalar(0.06)
        + y.sub_scalar(1.0).powi_scalar(3).mul_scalar(0.1))
    .div_scalar(400.0)
        + r.mul_scalar(0.01)
        + c.mul_scalar(0.01)
}

/// f2, saddle: `(x^2/2 - y^2/2) / 40 + 0.01 r + 0.01 c`. Saddle at the origin.
pub fn f2(x: Tensor<1>, y: Tensor<1>, r: Tensor<1>, c: Tensor<1>) -> Tensor<1> {
    (x.square().div_scalar(2.0) - y.square().div_scalar(2.0)).div_scalar(40.0) + r.mul_scalar(0.01) + c.mul_scalar(0.01)
}

/// f3, tilted saddle: `(x^2/2 - y^2/2 - 1.5 x (0.5 y)) / 60 + 0.05 r + 0.01 c`. Saddle at the
/// origin.
pub fn f3(x: Tensor<1>, y: Tensor<1>, r: Tensor<1>, c: Tensor<1>) -> Tensor<1> {
    (x.clone().square().div_scalar(2.0) - y.clone().square().div_scalar(2.0) - x.mul_scalar(1.5) * y.mul_scalar(0.5))
        .div_scalar(60.0)
        + r.mul_scalar(0.05)
        + c.mul_scalar(0.01)
}

/// f4, ramp: `((-sin(x/5) - cos(y/10)) + 2) / 2 + 0.05 r + 0.01 c`. Minimum 0 at
/// `(5 pi / 2, 0)`.
pub fn f4(x: Tensor<1>, y: Tensor<1>, r: Tensor<1>, c: Tensor<1>) -> Tensor<1> {
    // TensorFlow's graph optimizer computes the post's `x/5.`, `y/10.` and `/2` as products with
    // the reciprocals; near the minimum cos(x/5) ~ 1e-8, so that last bit decides the gradient's
    // sign, and we round as TensorFlow does.
    ((x.mul_scalar(0.2).sin().neg() - y.mul_scalar(0.1).cos()).add_scalar(2.0)).mul_scalar(0.5)
        + r.mul_scalar(0.05)
        + c.mul_scalar(0.01)
}

/// f5, elliptic bowl: `((x/8)^2 + (y/12)^2) / 2 + 0.04 r + 0.01 c`. Minimum 0 at the origin.
pub fn f5(x: Tensor<1>, y: Tensor<1>, r: Tensor<1>, c: Tensor<1>) -> Tensor<1> {
    (x.div_scalar(8.0).square() + y.div_scalar(12.0).square()).div_scalar(2.0) + r.mul_scalar(0.04) + c.mul_scalar(0.01)
}

/// The quadric of the post's first figure: `x^2 - y^2 - x y`, no noise. Saddle at the origin.
pub fn quadric(x: Tensor<1>, y: Tensor<1>, _r: Tensor<1>, _c: Tensor<1>) -> Tensor<1> {
    x.clone().square() - y.clone().square() - x * y
}

/// The post's surfaces with their stationary points, over the post's box `[-10, 10)^2`.
pub fn surfaces() -> Vec<Surface> {
    // f1's stationary points solve 2x + 0.18 (x+1)^2 = 0 and 2y + 0.5 + 0.3 (y-1)^2 = 0:
    // x = (-2.36 + sqrt(2.36^2 - 4 * 0.18^2)) / 0.36 and y in {-2/3, -4}.
    const F1_X: f64 = -0.076_720_116_838_555_37;
    vec![
        Surface::new("f0", "(x/10)^2 + (y/10)^2 + 0.04 r + 0.01 c", f0).with_minimum([0.0, 0.0], 0.0),
        Surface::new(
            "f1",
            "(x^2 + y^2 + 0.5 y + 0.06 (x+1)^3 + 0.1 (y-1)^3) / 400 + 0.01 r + 0.01 c",
            f1,
        )
        .with_minimum([F1_X, -2.0 / 3.0], -7.468_577_879_589_362e-4)
        .with_saddle([F1_X, -4.0], 3.882_771_841_670_696e-3),
        Surface::new("f2", "(x^2/2 - y^2/2) / 40 + 0.01 r + 0.01 c", f2).with_saddle([0.0, 0.0], 0.0),
        Surface::new("f3", "(x^2/2 - y^2/2 - 1.5 x (0.5 y)) / 60 + 0.05 r + 0.01 c", f3).with_saddle([0.0, 0.0], 0.0),
        Surface::new("f4", "((-sin(x/5) - cos(y/10)) + 2) / 2 + 0.05 r + 0.01 c", f4)
            .with_minimum([5.0 * std::f64::consts::FRAC_PI_2, 0.0], 0.0),
        Surface::new("f5", "((x/8)^2 + (y/12)^2) / 2 + 0.04 r + 0.01 c", f5).with_minimum([0.0, 0.0], 0.0),
        Surface::new("quadric", "x^2 - y^2 - x y", quadric)
            .with_saddle([0.0, 0.0], 0.0)
            .noiseless(),
    ]
}
