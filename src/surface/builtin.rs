//! The post's surfaces f0..f5 and the quadric of its first figure, with the post's formulas and
//! noise coefficients, written in the float32 operation order of TensorFlow's graph (after
//! grappler's rewrites) so that values and autodiff gradients round as the post's do.

use super::{Stationary, Surface};
use burn::tensor::Tensor;

const ORIGIN_MIN: &[Stationary] = &[Stationary {
    point: [0.0, 0.0],
    value: 0.0,
    kind: "minimum",
}];
const ORIGIN_SADDLE: &[Stationary] = &[Stationary {
    point: [0.0, 0.0],
    value: 0.0,
    kind: "saddle",
}];

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
// - what cannot be matched: grappler also folds constants across the power rule (f1) and across
//   a product (f3's `1.5 x`), rounding once where autodiff rounds twice, and TF's per-point sin
//   and cos are the C library's `sinf`/`cosf` where burn-ndarray rounds f64 results (f4).
//   tests/tf_gradients.rs counts the points where each differs.

/// f0, quadratic bowl: `(x/10)^2 + (y/10)^2 + 0.04 r + 0.01 c`. Minimum 0 at the origin.
/// Order: TF's graph, `(x * 0.1)^2 + (y * 0.1)^2`; gradient `0.2 (x * 0.1)`, as TF's, bit for bit.
pub fn f0(x: Tensor<1>, y: Tensor<1>, r: Tensor<1>, c: Tensor<1>) -> Tensor<1> {
    (x.mul_scalar(0.1).square() + y.mul_scalar(0.1).square()) + r.mul_scalar(0.04) + c.mul_scalar(0.01)
}

/// f1, cubic: `(x^2 + y^2 + 0.5 y + 0.06 (x+1)^3 + 0.1 (y-1)^3) / 400 + 0.01 r + 0.01 c`.
/// A local minimum at (-0.0767, -2/3) and a saddle at (-0.0767, -4); it falls away for very
/// negative coordinates.
/// Order: value as TF's graph, `(0.5 y + 0.06 (x+1)^2 (x+1) + 0.1 (y-1)^2 (y-1) + x^2 + y^2) * 0.0025`
/// summed left to right; gradient from the formula with `powf` cubes, TF's in the last bit more often.
pub fn f1(x: Tensor<1>, y: Tensor<1>, r: Tensor<1>, c: Tensor<1>) -> Tensor<1> {
    let (t, u) = (x.clone().add_scalar(1.0), y.clone().sub_scalar(1.0));
    let cube_x = t.clone().square().mul_scalar(0.06) * t.clone();
    let cube_y = u.clone().square().mul_scalar(0.1) * u.clone();
    // `a + b` rounds as `b + a`: swapped operands make autodiff reach `y` from `y^2`, then `0.5 y`,
    // then the cube, which sums `y`'s gradient as TF's AddN does: `(0.00125 + 0.005 y) + cube`.
    let sum = |cube_x: Tensor<1>, cube_y: Tensor<1>| {
        let partial = cube_y + (y.clone().mul_scalar(0.5) + cube_x);
        ((partial + x.clone().square()) + y.clone().square()).mul_scalar(0.0025)
    };
    // TF differentiates a cube as `(t^2) * (3 * 0.06 * 0.0025)`, one rounding; autodiff through
    // `t^2 * 0.06 * t` rounds three products, through `powf` two (`3 t^2`, then times 0.00015).
    let slope = sum(t.powf_scalar(3.0).mul_scalar(0.06), u.powf_scalar(3.0).mul_scalar(0.1));
    value_with_gradient_of(sum(cube_x, cube_y), slope) + r.mul_scalar(0.01) + c.mul_scalar(0.01)
}

/// f2, saddle: `(x^2/2 - y^2/2) / 40 + 0.01 r + 0.01 c`. Saddle at the origin.
/// Order: TF's graph, `(x^2 * 0.5 - y^2 * 0.5) * 0.025`; gradient `0.025 x`, bit for bit.
pub fn f2(x: Tensor<1>, y: Tensor<1>, r: Tensor<1>, c: Tensor<1>) -> Tensor<1> {
    (x.square().mul_scalar(0.5) - y.square().mul_scalar(0.5)).mul_scalar(0.025)
        + r.mul_scalar(0.01)
        + c.mul_scalar(0.01)
}

/// f3, tilted saddle: `(x^2/2 - y^2/2 - 1.5 x (0.5 y)) / 60 + 0.05 r + 0.01 c`. Saddle at the
/// origin.
/// Order: TF's graph, `((x^2 * 0.5 - y^2 * 0.5) - (1.5 x)(0.5 y)) * (1/60)`; `gx` differs from TF's
/// in the last bits (grappler folds the 1.5 into the constant that multiplies `0.5 y`).
pub fn f3(x: Tensor<1>, y: Tensor<1>, r: Tensor<1>, c: Tensor<1>) -> Tensor<1> {
    let cross = x.clone().mul_scalar(1.5) * y.clone().mul_scalar(0.5);
    // `a - b` rounds as `-b + a`, which autodiff enters from the squares, as TF's AddN sums.
    (cross.neg() + (x.square().mul_scalar(0.5) - y.square().mul_scalar(0.5))).mul_scalar(1.0f32 / 60.0)
        + r.mul_scalar(0.05)
        + c.mul_scalar(0.01)
}

/// f4, ramp: `((-sin(x/5) - cos(y/10)) + 2) / 2 + 0.05 r + 0.01 c`. Minimum 0 at
/// `(5 pi / 2, 0)`.
/// Order: TF's graph (grappler reorders the sum), `((2 - cos(y * 0.1)) - sin(x * 0.2)) * 0.5`;
/// TF's sin/cos are the C library's `sinf`/`cosf`, 1 ulp off burn's at 1-2% of arguments.
pub fn f4(x: Tensor<1>, y: Tensor<1>, r: Tensor<1>, c: Tensor<1>) -> Tensor<1> {
    // Near the minimum cos(x/5) ~ 1e-8, so the last bit of `x * 0.2` decides the gradient's sign.
    (y.mul_scalar(0.1).cos().neg().add_scalar(2.0) - x.mul_scalar(0.2).sin()).mul_scalar(0.5)
        + r.mul_scalar(0.05)
        + c.mul_scalar(0.01)
}

/// f5, elliptic bowl: `((x/8)^2 + (y/12)^2) / 2 + 0.04 r + 0.01 c`. Minimum 0 at the origin.
/// Order: TF's graph, `((x * 0.125)^2 + (y * (1/12))^2) * 0.5`; gradient bit for bit.
pub fn f5(x: Tensor<1>, y: Tensor<1>, r: Tensor<1>, c: Tensor<1>) -> Tensor<1> {
    (x.mul_scalar(0.125).square() + y.mul_scalar(1.0f32 / 12.0).square()).mul_scalar(0.5)
        + r.mul_scalar(0.04)
        + c.mul_scalar(0.01)
}

/// The quadric of the post's first figure: `x^2 - y^2 - x y`, no noise. Saddle at the origin.
/// Order: TF's graph, `(x^2 - y^2) - x y`, written `-xy + (..)` so that autodiff adds `2x - y` once.
pub fn quadric(x: Tensor<1>, y: Tensor<1>, _r: Tensor<1>, _c: Tensor<1>) -> Tensor<1> {
    (x.clone() * y.clone()).neg() + (x.square() - y.square())
}

/// `value`'s bits with the gradient of `slope`, the same formula in another order. TF's graph
/// computes a loss and its gradient as two separately rewritten expressions, so one burn
/// expression cannot always round like both. `slope.detach() - slope` is +0 for a finite slope,
/// and `v - 0` is `v`, even for `v = -0`.
fn value_with_gradient_of(value: Tensor<1>, slope: Tensor<1>) -> Tensor<1> {
    value.detach() - (slope.clone().detach() - slope)
}

/// Registry entry of [`f0`].
pub const F0: Surface = Surface {
    name: "f0",
    formula: "(x/10)^2 + (y/10)^2 + 0.04 r + 0.01 c",
    f: f0,
    stationary: ORIGIN_MIN,
};
/// Registry entry of [`f1`].
pub const F1: Surface = Surface {
    name: "f1",
    formula: "(x^2 + y^2 + 0.5 y + 0.06 (x+1)^3 + 0.1 (y-1)^3) / 400 + 0.01 r + 0.01 c",
    f: f1,
    stationary: F1_STATIONARY,
};
/// Registry entry of [`f2`].
pub const F2: Surface = Surface {
    name: "f2",
    formula: "(x^2/2 - y^2/2) / 40 + 0.01 r + 0.01 c",
    f: f2,
    stationary: ORIGIN_SADDLE,
};
/// Registry entry of [`f3`].
pub const F3: Surface = Surface {
    name: "f3",
    formula: "(x^2/2 - y^2/2 - 1.5 x (0.5 y)) / 60 + 0.05 r + 0.01 c",
    f: f3,
    stationary: ORIGIN_SADDLE,
};
/// Registry entry of [`f4`].
pub const F4: Surface = Surface {
    name: "f4",
    formula: "((-sin(x/5) - cos(y/10)) + 2) / 2 + 0.05 r + 0.01 c",
    f: f4,
    stationary: &[Stationary {
        point: [5.0 * std::f64::consts::FRAC_PI_2, 0.0],
        value: 0.0,
        kind: "minimum",
    }],
};
/// Registry entry of [`f5`].
pub const F5: Surface = Surface {
    name: "f5",
    formula: "((x/8)^2 + (y/12)^2) / 2 + 0.04 r + 0.01 c",
    f: f5,
    stationary: ORIGIN_MIN,
};
/// Registry entry of [`quadric`].
pub const QUADRIC: Surface = Surface {
    name: "quadric",
    formula: "x^2 - y^2 - x y",
    f: quadric,
    stationary: ORIGIN_SADDLE,
};

// f1's stationary points solve 2x + 0.18 (x+1)^2 = 0 and 2y + 0.5 + 0.3 (y-1)^2 = 0:
// x = (-2.36 + sqrt(2.36^2 - 4 * 0.18^2)) / 0.36 and y in {-2/3, -4}.
const F1_STATIONARY: &[Stationary] = &[
    Stationary {
        point: [-0.076_720_116_838_555_37, -2.0 / 3.0],
        value: -7.468_577_879_589_362e-4,
        kind: "minimum",
    },
    Stationary {
        point: [-0.076_720_116_838_555_37, -4.0],
        value: 3.882_771_841_670_696e-3,
        kind: "saddle",
    },
];
