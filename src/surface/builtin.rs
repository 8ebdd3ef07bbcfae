//! The post's surfaces f0..f5 and the quadric of its first figure, with the post's formulas and
//! noise coefficients, written in the float32 operation order of TensorFlow's graph (after
//! grappler's rewrites) so that values and autodiff gradients round as the post's do.

use super::Surface;
use burn::tensor::Tensor;

// How TensorFlow's graph (the post's `tf.function`, after grappler) computes each surface, and
// how burn's autodiff is made to round alike:
// - grappler turns every division by a constant into a product with its float32 reciprocal
//   (`x/10` -> `x * 0.1`, `/400` -> `* 0.0025`), `x**2` into `Square(x)` and `x**3` into
//   `Square(x) * x`; here `square()` is `x * x` and a division is `mul_scalar` of the reciprocal
//   (burn's `div_scalar` would divide forward and multiply by the reciprocal backward);
// - TF's gradient of `Square(t) * c` is `t * (2c)` in one rounding; burn's is `c t + c t`, the same
//   bits as long as the two halves are summed before anything else reaches `t`. burn
//   differentiates the deepest nodes first and, within a depth, the right operand's subtree
//   first, so the surfaces below put the squares where they are differentiated first;
// - grappler also folds constants across the power rule (f1) and across a product (f3's `1.5 x`),
//   rounding once where autodiff of the value's own expression rounds twice; there the value keeps
//   TF's expression and the gradient comes from autodiff of a second expression of the same
//   function (`value_with_gradient_of`), arranged so that its constants meet first, as TF's do;
// - what cannot be matched: TF's per-point sin and cos are the C library's `sinf`/`cosf` where
//   burn-ndarray rounds f64 results (f4, `--backend ndarray`; on flex, the default, they agree).
//   tests/tf_gradients.rs counts the points where it differs.

/// f0, quadratic bowl: `(x/10)^2 + (y/10)^2 + 0.04 r + 0.01 c`. Minimum 0 at the origin.
/// Order: TF's graph, `(x * 0.1)^2 + (y * 0.1)^2`; gradient `0.2 (x * 0.1)`, as TF's, bit for bit.
pub(crate) fn f0(x: Tensor<1>, y: Tensor<1>, r: Tensor<1>, c: Tensor<1>) -> Tensor<1> {
    (x.mul_scalar(0.1).square() + y.mul_scalar(0.1).square()) + r.mul_scalar(0.04) + c.mul_scalar(0.01)
}

/// f1, cubic: `(x^2 + y^2 + 0.5 y + 0.06 (x+1)^3 + 0.1 (y-1)^3) / 400 + 0.01 r + 0.01 c`.
/// A local minimum at (-0.0767, -2/3) and a saddle at (-0.0767, -4); it falls away for very
/// negative coordinates.
/// Order: value as TF's graph, `(0.5 y + 0.06 (x+1)^2 (x+1) + 0.1 (y-1)^2 (y-1) + x^2 + y^2) * 0.0025`
/// summed left to right; gradient as TF's, bit for bit, from the same sum with each cube written
/// so that autodiff applies the power rule as grappler folds it.
pub(crate) fn f1(x: Tensor<1>, y: Tensor<1>, r: Tensor<1>, c: Tensor<1>) -> Tensor<1> {
    let (t, u) = (x.clone().add_scalar(1.0), y.clone().sub_scalar(1.0));
    let cube_x = t.clone().square().mul_scalar(0.06) * t.clone();
    let cube_y = u.clone().square().mul_scalar(0.1) * u.clone();
    // `a + b` rounds as `b + a`: swapped operands make autodiff reach `y` from `y^2`, then `0.5 y`,
    // then the cube, which sums `y`'s gradient as TF's AddN does: `(0.00125 + 0.005 y) + cube`.
    let sum = |cube_x: Tensor<1>, cube_y: Tensor<1>| {
        let partial = cube_y + (y.clone().mul_scalar(0.5) + cube_x);
        ((partial + x.clone().square()) + y.clone().square()).mul_scalar(0.0025)
    };
    // TF differentiates a cube as `(t^2) * (3 * 0.06 * 0.0025)`, one rounding, the power rule's
    // 3 folded into the constant; autodiff rounds `3 t^2` first. In the slope, `t * (t^2 frozen)`
    // has the derivative `t^2` exactly and the 3 joins the constants, which autodiff multiplies
    // together before they meet `t^2`: TF's rounding.
    let power_rule = |t: Tensor<1>, k: f64| {
        (t.clone() * crate::capture::detach(t.square()))
            .mul_scalar(k)
            .mul_scalar(3.0)
    };
    let slope = sum(power_rule(t, 0.06), power_rule(u, 0.1));
    value_with_gradient_of(sum(cube_x, cube_y), slope) + r.mul_scalar(0.01) + c.mul_scalar(0.01)
}

/// f2, saddle: `(x^2/2 - y^2/2) / 40 + 0.01 r + 0.01 c`. Saddle at the origin.
/// Order: TF's graph, `(x^2 * 0.5 - y^2 * 0.5) * 0.025`; gradient `0.025 x`, bit for bit.
pub(crate) fn f2(x: Tensor<1>, y: Tensor<1>, r: Tensor<1>, c: Tensor<1>) -> Tensor<1> {
    (x.square().mul_scalar(0.5) - y.square().mul_scalar(0.5)).mul_scalar(0.025)
        + r.mul_scalar(0.01)
        + c.mul_scalar(0.01)
}

/// f3, tilted saddle: `(x^2/2 - y^2/2 - 1.5 x (0.5 y)) / 60 + 0.05 r + 0.01 c`. Saddle at the
/// origin.
/// Order: TF's graph, `((x^2 * 0.5 - y^2 * 0.5) - (1.5 x)(0.5 y)) * (1/60)`; the gradient as TF's,
/// bit for bit (grappler folds the 1.5 of `1.5 x` into the constant that multiplies `0.5 y`).
pub(crate) fn f3(x: Tensor<1>, y: Tensor<1>, r: Tensor<1>, c: Tensor<1>) -> Tensor<1> {
    let (m, n) = (x.clone().mul_scalar(1.5), y.clone().mul_scalar(0.5));
    // `a - b` rounds as `-b + a`, which autodiff enters from the squares, as TF's AddN sums.
    let sum = |cross: Tensor<1>| {
        (cross.neg() + (x.clone().square().mul_scalar(0.5) - y.clone().square().mul_scalar(0.5)))
            .mul_scalar(1.0f32 / 60.0)
    };
    // In the slope the product rule is split in two, each half with the other factor frozen, so
    // that `x`'s half multiplies `0.5 y` by `-(1/60) * 1.5`, folded first as grappler does.
    let slope =
        sum(crate::capture::detach(m.clone()) * n.clone()
            + (x.clone() * crate::capture::detach(n.clone())).mul_scalar(1.5));
    value_with_gradient_of(sum(m * n), slope) + r.mul_scalar(0.05) + c.mul_scalar(0.01)
}

/// f4, ramp: `((-sin(x/5) - cos(y/10)) + 2) / 2 + 0.05 r + 0.01 c`. Minimum 0 at
/// `(5 pi / 2, 0)`.
/// Order: TF's graph (grappler reorders the sum), `((2 - cos(y * 0.1)) - sin(x * 0.2)) * 0.5`;
/// TF's sin/cos are the C library's `sinf`/`cosf`, 1 ulp off burn's at 1-2% of arguments.
pub(crate) fn f4(x: Tensor<1>, y: Tensor<1>, r: Tensor<1>, c: Tensor<1>) -> Tensor<1> {
    // Near the minimum cos(x/5) ~ 1e-8, so the last bit of `x * 0.2` decides the gradient's sign.
    (y.mul_scalar(0.1).cos().neg().add_scalar(2.0) - x.mul_scalar(0.2).sin()).mul_scalar(0.5)
        + r.mul_scalar(0.05)
        + c.mul_scalar(0.01)
}

/// f5, elliptic bowl: `((x/8)^2 + (y/12)^2) / 2 + 0.04 r + 0.01 c`. Minimum 0 at the origin.
/// Order: TF's graph, `((x * 0.125)^2 + (y * (1/12))^2) * 0.5`; gradient bit for bit.
pub(crate) fn f5(x: Tensor<1>, y: Tensor<1>, r: Tensor<1>, c: Tensor<1>) -> Tensor<1> {
    (x.mul_scalar(0.125).square() + y.mul_scalar(1.0f32 / 12.0).square()).mul_scalar(0.5)
        + r.mul_scalar(0.04)
        + c.mul_scalar(0.01)
}

/// The quadric of the post's first figure: `x^2 - y^2 - x y`, no noise. Saddle at the origin.
/// Order: TF's graph, `(x^2 - y^2) - x y`, written `-xy + (..)` so that autodiff adds `2x - y` once.
pub(crate) fn quadric(x: Tensor<1>, y: Tensor<1>, _r: Tensor<1>, _c: Tensor<1>) -> Tensor<1> {
    (x.clone() * y.clone()).neg() + (x.square() - y.square())
}

/// `value`'s bits with the gradient of `slope`, the same formula in another order. TF's graph
/// computes a loss and its gradient as two separately rewritten expressions, so one burn
/// expression cannot always round like both. `slope.detach() - slope` is +0 for a finite slope,
/// and `v - 0` is `v`, even for `v = -0`.
fn value_with_gradient_of(value: Tensor<1>, slope: Tensor<1>) -> Tensor<1> {
    crate::capture::detach(value) - (crate::capture::detach(slope.clone()) - slope)
}

/// The post's surfaces with their stationary points, over the post's box `[-10, 10)^2`.
pub(crate) fn surfaces() -> Vec<Surface> {
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
