//! The classic test functions of optimization, as burn tensor code.
//!
//! Formulas, parameters, standard domains and global minima follow the Virtual Library of
//! Simulation Experiments (S. Surjanovic and D. Bingham, <https://www.sfu.ca/~ssurjano/optimization.html>)
//! and argmin-testfunctions (<https://github.com/argmin-rs/argmin>), cited per function. None of
//! them reads the noise terms; an expression surface adds noise where it wants it
//! (`rastrigin(x, y) + 0.05 * r`).

use super::Surface;
use burn::tensor::{FloatDType, Tensor};
use std::f64::consts::{E, PI};

type T = Tensor<1>;

/// `v - round(v)`: the same phase of a period-1 function, exactly (subtracting a nearby whole
/// number is exact in f32), so that `cos(2 pi v)` loses no accuracy for large `v`; the rounded
/// part is constant, so the gradient is unchanged.
fn phase(v: T) -> T {
    v.clone() - crate::capture::detach(v).round()
}

/// `f` computed in f64 and rounded back to f32 (autodiff follows the casts), for functions
/// whose f32 gradient would lose digits to cancellation.
fn in_f64(x: T, y: T, f: impl Fn(T, T) -> T) -> T {
    f(x.cast(FloatDType::F64), y.cast(FloatDType::F64)).cast(FloatDType::F32)
}

/// Rosenbrock's banana, `a = 1`, `b = 100`:
/// `f(x, y) = (a - x)^2 + b (y - x^2)^2`.
/// Domain `[-2, 2] x [-1, 3]` (the peers' view of the valley); global minimum `f(1, 1) = 0`.
/// Rosenbrock (1960); VLSE "Rosenbrock Function"; argmin-testfunctions `rosenbrock`.
pub(crate) fn rosenbrock(x: T, y: T, _r: T, _c: T) -> T {
    x.clone().neg().add_scalar(1.0).square() + (y - x.square()).square().mul_scalar(100.0)
}

/// Rastrigin, `A = 10`: `f(x, y) = 2 A + x^2 - A cos(2 pi x) + y^2 - A cos(2 pi y)`.
/// Domain `[-5.12, 5.12]^2`; global minimum `f(0, 0) = 0`, surrounded by a lattice of local
/// minima near the integers. VLSE "Rastrigin Function"; argmin-testfunctions `rastrigin`.
pub(crate) fn rastrigin(x: T, y: T, _r: T, _c: T) -> T {
    let term = |v: T| v.clone().square() - phase(v).mul_scalar(2.0 * PI).cos().mul_scalar(10.0);
    term(x) + term(y).add_scalar(20.0)
}

/// Beale: `f(x, y) = (1.5 - x + x y)^2 + (2.25 - x + x y^2)^2 + (2.625 - x + x y^3)^2`.
/// Domain `[-4.5, 4.5]^2`; global minimum `f(3, 0.5) = 0`. VLSE "Beale Function";
/// argmin-testfunctions `beale`.
pub(crate) fn beale(x: T, y: T, _r: T, _c: T) -> T {
    let term = |k: f64, yn: T| (x.clone() * yn - x.clone()).add_scalar(k).square();
    term(1.5, y.clone()) + term(2.25, y.clone().square()) + term(2.625, y.powi_scalar(3))
}

/// Himmelblau: `f(x, y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2`.
/// Domain `[-5, 5]^2`; four global minima of value 0: `(3, 2)`, `(-2.805118, 3.131312)`,
/// `(-3.779310, -3.283186)`, `(3.584428, -1.848126)`. Himmelblau (1972); argmin-testfunctions
/// `himmelblau`.
pub(crate) fn himmelblau(x: T, y: T, _r: T, _c: T) -> T {
    (x.clone().square() + y.clone()).sub_scalar(11.0).square() + (x + y.square()).sub_scalar(7.0).square()
}

/// Ackley, `a = 20`, `b = 0.2`, `c = 2 pi`:
/// `f(x, y) = -a exp(-b sqrt((x^2 + y^2) / 2)) - exp((cos(c x) + cos(c y)) / 2) + a + e`.
/// Domain `[-32.768, 32.768]^2`; global minimum `f(0, 0) = 0`, a kink (the gradient there is
/// taken as 0). VLSE "Ackley Function"; argmin-testfunctions `ackley`.
pub(crate) fn ackley(x: T, y: T, _r: T, _c: T) -> T {
    // The square root's derivative is infinite at 0; flooring its argument at 1e-30 changes no
    // value that f32 can show and gives the minimum a zero gradient instead of NaN.
    let radius = (x.clone().square() + y.clone().square())
        .mul_scalar(0.5)
        .clamp_min(1e-30)
        .sqrt();
    let waves = (phase(x).mul_scalar(2.0 * PI).cos() + phase(y).mul_scalar(2.0 * PI).cos()).mul_scalar(0.5);
    // Grouped as 20 (1 - exp(..)) + (e - exp(..)), so that the minimum is 0 exactly in f32.
    radius.mul_scalar(-0.2).exp().neg().add_scalar(1.0).mul_scalar(20.0) + waves.exp().neg().add_scalar(E)
}

/// Styblinski-Tang: `f(x, y) = (x^4 - 16 x^2 + 5 x + y^4 - 16 y^2 + 5 y) / 2`.
/// Domain `[-5, 5]^2`; global minimum `f(-2.903534, -2.903534) = -78.332331`.
/// VLSE "Styblinski-Tang Function"; argmin-testfunctions `styblinski_tang`.
pub(crate) fn styblinski_tang(x: T, y: T, _r: T, _c: T) -> T {
    let term = |v: T| v.clone().powi_scalar(4) - v.clone().square().mul_scalar(16.0) + v.mul_scalar(5.0);
    (term(x) + term(y)).mul_scalar(0.5)
}

/// Goldstein-Price:
/// `f(x, y) = [1 + (x + y + 1)^2 (19 - 14 x + 3 x^2 - 14 y + 6 x y + 3 y^2)]
///          * [30 + (2 x - 3 y)^2 (18 - 32 x + 12 x^2 + 48 y - 36 x y + 27 y^2)]`.
/// Domain `[-2, 2]^2`; global minimum `f(0, -1) = 3`. VLSE "Goldstein-Price Function";
/// argmin-testfunctions `goldsteinprice`.
pub(crate) fn goldstein_price(x: T, y: T, _r: T, _c: T) -> T {
    // In f64: near the minimum its gradient is a difference of terms hundreds of times larger,
    // which f32 would get wrong in the third digit.
    in_f64(x, y, goldstein_price_terms)
}

fn goldstein_price_terms(x: T, y: T) -> T {
    let (xx, yy, xy) = (x.clone().square(), y.clone().square(), x.clone() * y.clone());
    let a = (x.clone() + y.clone()).add_scalar(1.0).square()
        * (x.clone().mul_scalar(-14.0) + xx.clone().mul_scalar(3.0) - y.clone().mul_scalar(14.0)
            + xy.clone().mul_scalar(6.0)
            + yy.clone().mul_scalar(3.0))
        .add_scalar(19.0);
    let b = (x.clone().mul_scalar(2.0) - y.clone().mul_scalar(3.0)).square()
        * (x.mul_scalar(-32.0) + xx.mul_scalar(12.0) + y.mul_scalar(48.0) - xy.mul_scalar(36.0) + yy.mul_scalar(27.0))
            .add_scalar(18.0);
    a.add_scalar(1.0) * b.add_scalar(30.0)
}

/// Booth: `f(x, y) = (x + 2 y - 7)^2 + (2 x + y - 5)^2`.
/// Domain `[-10, 10]^2`; global minimum `f(1, 3) = 0`. VLSE "Booth Function";
/// argmin-testfunctions `booth`.
pub(crate) fn booth(x: T, y: T, _r: T, _c: T) -> T {
    (x.clone() + y.clone().mul_scalar(2.0)).sub_scalar(7.0).square() + (x.mul_scalar(2.0) + y).sub_scalar(5.0).square()
}

/// Six-hump camel: `f(x, y) = (4 - 2.1 x^2 + x^4 / 3) x^2 + x y + (-4 + 4 y^2) y^2`.
/// Domain `[-3, 3] x [-2, 2]`; two global minima `f(0.0898, -0.7126) = f(-0.0898, 0.7126) =
/// -1.031628`. VLSE "Six-Hump Camel Function"; argmin-testfunctions `sixhumpcamel`.
pub(crate) fn six_hump_camel(x: T, y: T, _r: T, _c: T) -> T {
    let xx = x.clone().square();
    let yy = y.clone().square();
    (xx.clone().mul_scalar(-2.1) + xx.clone().square().div_scalar(3.0)).add_scalar(4.0) * xx
        + x * y
        + yy.clone().mul_scalar(4.0).sub_scalar(4.0) * yy
}

/// Three-hump camel: `f(x, y) = 2 x^2 - 1.05 x^4 + x^6 / 6 + x y + y^2`.
/// Domain `[-5, 5]^2`; global minimum `f(0, 0) = 0` (two local minima beside it).
/// VLSE "Three-Hump Camel Function"; argmin-testfunctions `threehumpcamel`.
pub(crate) fn three_hump_camel(x: T, y: T, _r: T, _c: T) -> T {
    let xx = x.clone().square();
    xx.clone().mul_scalar(2.0) - xx.clone().square().mul_scalar(1.05)
        + xx.powi_scalar(3).div_scalar(6.0)
        + x * y.clone()
        + y.square()
}

/// Matyas: `f(x, y) = 0.26 (x^2 + y^2) - 0.48 x y`.
/// Domain `[-10, 10]^2`; global minimum `f(0, 0) = 0`. VLSE "Matyas Function";
/// argmin-testfunctions `matyas`.
pub(crate) fn matyas(x: T, y: T, _r: T, _c: T) -> T {
    (x.clone().square() + y.clone().square()).mul_scalar(0.26) - (x * y).mul_scalar(0.48)
}

/// Lévy N. 13: `f(x, y) = sin^2(3 pi x) + (x - 1)^2 (1 + sin^2(3 pi y)) + (y - 1)^2 (1 + sin^2(2 pi y))`.
/// Domain `[-10, 10]^2`; global minimum `f(1, 1) = 0`. VLSE "Levy Function N. 13";
/// argmin-testfunctions `levy_n13`.
pub(crate) fn levy13(x: T, y: T, _r: T, _c: T) -> T {
    // In f64: its y-derivative sums terms up to ~1000 that nearly cancel in places.
    in_f64(x, y, |x, y| {
        // sin^2(k pi v) has period 1/k, so whole numbers can be taken off v first.
        let sin2 = |v: T, k: f64| phase(v).mul_scalar(k * PI).sin().square();
        sin2(x.clone(), 3.0)
            + x.sub_scalar(1.0).square() * sin2(y.clone(), 3.0).add_scalar(1.0)
            + y.clone().sub_scalar(1.0).square() * sin2(y, 2.0).add_scalar(1.0)
    })
}

/// Branin-Hoo, `a = 1`, `b = 5.1 / (4 pi^2)`, `c = 5 / pi`, `r = 6`, `s = 10`, `t = 1 / (8 pi)`:
/// `f(x, y) = a (y - b x^2 + c x - r)^2 + s (1 - t) cos(x) + s`.
/// Domain `[-5, 10] x [0, 15]`; three global minima of value `10 / (8 pi) = 0.397887`:
/// `(-pi, 12.275)`, `(pi, 2.275)`, `(3 pi, 2.475)`. VLSE "Branin Function";
/// argmin-testfunctions `branin`.
pub(crate) fn branin(x: T, y: T, _r: T, _c: T) -> T {
    let (b, c, t) = (5.1 / (4.0 * PI * PI), 5.0 / PI, 1.0 / (8.0 * PI));
    (y - x.clone().square().mul_scalar(b) + x.clone().mul_scalar(c))
        .sub_scalar(6.0)
        .square()
        + x.cos().mul_scalar(10.0 * (1.0 - t)).add_scalar(10.0)
}

/// Easom: `f(x, y) = -cos(x) cos(y) exp(-((x - pi)^2 + (y - pi)^2))`.
/// Domain `[-100, 100]^2`; global minimum `f(pi, pi) = -1`, a narrow well in a flat plain.
/// VLSE "Easom Function"; argmin-testfunctions `easom`.
pub(crate) fn easom(x: T, y: T, _r: T, _c: T) -> T {
    let well = (x.clone().sub_scalar(PI).square() + y.clone().sub_scalar(PI).square())
        .neg()
        .exp();
    (x.cos() * y.cos() * well).neg()
}

/// The classic test functions with their standard domains and global minima.
pub(crate) fn surfaces() -> Vec<Surface> {
    let s = |name: &str, formula: &str, f: fn(T, T, T, T) -> T, domain: [[f64; 2]; 2]| {
        Surface::new(name, formula, f).with_domain(domain).noiseless()
    };
    let b = 5.1 / (4.0 * PI * PI);
    let st = -2.903_534_027_771_177;
    let (camel_x, camel_y) = (0.089_842_013_683_013_31, -0.712_656_403_270_413_5);
    vec![
        s("rosenbrock", "(1 - x)^2 + 100 (y - x^2)^2", rosenbrock, [[-2.0, 2.0], [-1.0, 3.0]])
            .with_minimum([1.0, 1.0], 0.0),
        s(
            "rastrigin",
            "20 + x^2 - 10 cos(2 pi x) + y^2 - 10 cos(2 pi y)",
            rastrigin,
            [[-5.12, 5.12], [-5.12, 5.12]],
        )
        .with_minimum([0.0, 0.0], 0.0),
        s(
            "beale",
            "(1.5 - x + x y)^2 + (2.25 - x + x y^2)^2 + (2.625 - x + x y^3)^2",
            beale,
            [[-4.5, 4.5], [-4.5, 4.5]],
        )
        .with_minimum([3.0, 0.5], 0.0),
        s(
            "himmelblau",
            "(x^2 + y - 11)^2 + (x + y^2 - 7)^2",
            himmelblau,
            [[-5.0, 5.0], [-5.0, 5.0]],
        )
        .with_minimum([3.0, 2.0], 0.0)
        .with_minimum([-2.805_118_086_952_745, 3.131_312_518_250_573], 0.0)
        .with_minimum([-3.779_310_253_377_747, -3.283_185_991_286_17], 0.0)
        .with_minimum([3.584_428_340_330_492, -1.848_126_526_964_404], 0.0),
        s(
            "ackley",
            "-20 exp(-0.2 sqrt((x^2 + y^2) / 2)) - exp((cos(2 pi x) + cos(2 pi y)) / 2) + 20 + e",
            ackley,
            [[-32.768, 32.768], [-32.768, 32.768]],
        )
        .with_minimum([0.0, 0.0], 0.0),
        s(
            "styblinski_tang",
            "(x^4 - 16 x^2 + 5 x + y^4 - 16 y^2 + 5 y) / 2",
            styblinski_tang,
            [[-5.0, 5.0], [-5.0, 5.0]],
        )
        .with_minimum([st, st], st.powi(4) - 16.0 * st * st + 5.0 * st),
        s(
            "goldstein_price",
            "[1 + (x+y+1)^2 (19 - 14x + 3x^2 - 14y + 6xy + 3y^2)] [30 + (2x-3y)^2 (18 - 32x + 12x^2 + 48y - 36xy + 27y^2)]",
            goldstein_price,
            [[-2.0, 2.0], [-2.0, 2.0]],
        )
        .with_minimum([0.0, -1.0], 3.0),
        s(
            "booth",
            "(x + 2y - 7)^2 + (2x + y - 5)^2",
            booth,
            [[-10.0, 10.0], [-10.0, 10.0]],
        )
        .with_minimum([1.0, 3.0], 0.0),
        s(
            "six_hump_camel",
            "(4 - 2.1 x^2 + x^4 / 3) x^2 + x y + (-4 + 4 y^2) y^2",
            six_hump_camel,
            [[-3.0, 3.0], [-2.0, 2.0]],
        )
        .with_minimum([camel_x, camel_y], -1.031_628_453_489_877)
        .with_minimum([-camel_x, -camel_y], -1.031_628_453_489_877),
        s(
            "three_hump_camel",
            "2 x^2 - 1.05 x^4 + x^6 / 6 + x y + y^2",
            three_hump_camel,
            [[-5.0, 5.0], [-5.0, 5.0]],
        )
        .with_minimum([0.0, 0.0], 0.0),
        s(
            "matyas",
            "0.26 (x^2 + y^2) - 0.48 x y",
            matyas,
            [[-10.0, 10.0], [-10.0, 10.0]],
        )
        .with_minimum([0.0, 0.0], 0.0),
        s(
            "levy13",
            "sin^2(3 pi x) + (x - 1)^2 (1 + sin^2(3 pi y)) + (y - 1)^2 (1 + sin^2(2 pi y))",
            levy13,
            [[-10.0, 10.0], [-10.0, 10.0]],
        )
        .with_minimum([1.0, 1.0], 0.0),
        s(
            "branin",
            "(y - 5.1/(4 pi^2) x^2 + 5/pi x - 6)^2 + 10 (1 - 1/(8 pi)) cos(x) + 10",
            branin,
            [[-5.0, 10.0], [0.0, 15.0]],
        )
        .with_minimum([-PI, b * PI * PI + 5.0 + 6.0], 10.0 / (8.0 * PI))
        .with_minimum([PI, b * PI * PI - 5.0 + 6.0], 10.0 / (8.0 * PI))
        .with_minimum([3.0 * PI, 9.0 * b * PI * PI - 15.0 + 6.0], 10.0 / (8.0 * PI)),
        s(
            "easom",
            "-cos(x) cos(y) exp(-((x - pi)^2 + (y - pi)^2))",
            easom,
            [[-100.0, 100.0], [-100.0, 100.0]],
        )
        .with_minimum([PI, PI], -1.0),
    ]
}
