//! What an expression can compute: its operations (operators and named functions) and the one
//! table of functions by name, each with its arity, what it compiles to and its doc.
//!
//! Each operation has two forms: on `f64` constants (how constant subexpressions fold) and on
//! burn tensors (what a compiled expression runs). Where a hand-written surface has a cheaper or
//! exact form for a constant operand (`x / 10` as `div_scalar(10)`, `a^2` as `square()`), the
//! tensor form uses it, so an expression written with a built-in's operations gives its bits.

use burn::tensor::Tensor;
use burn::tensor::activation::sigmoid;
use std::f64::consts::{LN_2, LN_10};
use std::ops;

type T = Tensor<1>;

/// The largest whole exponent `a^n` computes as exact repeated products (`powi`); larger ones,
/// and infinite ones, use the general power.
pub(crate) const MAX_EXACT_POWER: f64 = 64.0;

/// An operation of one argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Unary {
    Neg,
    Sin,
    Cos,
    Tan,
    Asin,
    Acos,
    Atan,
    Sinh,
    Cosh,
    Tanh,
    Exp,
    Expm1,
    Ln,
    Log2,
    Log10,
    Log1p,
    Sqrt,
    Square,
    Abs,
    Sign,
    Floor,
    Ceil,
    Sigmoid,
}

/// An operation of two arguments: an operator or a function of two arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Binary {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    Min,
    Max,
    Atan2,
    Hypot,
    /// 1.0 where the comparison holds, else 0.0.
    Compare(Cmp),
}

/// A comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

/// What a named function compiles to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Call {
    Unary(Unary),
    Binary(Binary),
    /// `where(cond, a, b)`.
    Where,
}

/// A function an expression can call by name: one row of [`FUNCTIONS`].
#[derive(Clone, Copy, Debug)]
pub struct Function {
    /// Its name in expressions.
    pub name: &'static str,
    /// What it computes, in a few words.
    pub doc: &'static str,
    pub(super) call: Call,
}

impl Function {
    const fn unary(name: &'static str, op: Unary, doc: &'static str) -> Self {
        Function {
            name,
            doc,
            call: Call::Unary(op),
        }
    }

    const fn binary(name: &'static str, op: Binary, doc: &'static str) -> Self {
        Function {
            name,
            doc,
            call: Call::Binary(op),
        }
    }

    /// How many arguments it takes.
    pub(crate) fn arity(&self) -> usize {
        match self.call {
            Call::Unary(_) => 1,
            Call::Binary(_) => 2,
            Call::Where => 3,
        }
    }

    /// The function called `name`, if there is one.
    pub(crate) fn named(name: &str) -> Option<&'static Function> {
        FUNCTIONS.iter().find(|f| f.name == name)
    }
}

/// Every function an expression can call, besides the registered surfaces (functions of two
/// arguments). Comparisons (`<`, `==`, ...) give 1.0 or 0.0; `where`, `sign`, `floor` and `ceil`
/// are piecewise, with autodiff's gradient on each piece (zero for the steps).
pub const FUNCTIONS: &[Function] = &[
    Function::unary("sin", Unary::Sin, "sine"),
    Function::unary("cos", Unary::Cos, "cosine"),
    Function::unary("tan", Unary::Tan, "tangent"),
    Function::unary("asin", Unary::Asin, "arcsine"),
    Function::unary("acos", Unary::Acos, "arccosine"),
    Function::unary("atan", Unary::Atan, "arctangent"),
    Function::unary("sinh", Unary::Sinh, "hyperbolic sine"),
    Function::unary("cosh", Unary::Cosh, "hyperbolic cosine"),
    Function::unary("tanh", Unary::Tanh, "hyperbolic tangent"),
    Function::unary("exp", Unary::Exp, "e^a"),
    Function::unary("expm1", Unary::Expm1, "e^a - 1, accurate near 0"),
    Function::unary("ln", Unary::Ln, "natural logarithm"),
    Function::unary("log", Unary::Ln, "natural logarithm (as NumPy's log)"),
    Function::unary("log2", Unary::Log2, "base-2 logarithm"),
    Function::unary("log10", Unary::Log10, "base-10 logarithm"),
    Function::unary("log1p", Unary::Log1p, "ln(1 + a), accurate near 0"),
    Function::unary("sqrt", Unary::Sqrt, "square root"),
    Function::unary("square", Unary::Square, "a^2"),
    Function::unary("abs", Unary::Abs, "absolute value"),
    Function::unary("sign", Unary::Sign, "-1, 0 or 1"),
    Function::unary("floor", Unary::Floor, "largest whole number <= a"),
    Function::unary("ceil", Unary::Ceil, "smallest whole number >= a"),
    Function::unary("sigmoid", Unary::Sigmoid, "1 / (1 + e^-a)"),
    Function::binary("min", Binary::Min, "the smaller of a and b"),
    Function::binary("max", Binary::Max, "the larger of a and b"),
    Function::binary("pow", Binary::Pow, "a^b"),
    Function::binary(
        "atan2",
        Binary::Atan2,
        "atan2(y, x): the angle of the point (x, y), NumPy's order",
    ),
    Function::binary("hypot", Binary::Hypot, "sqrt(a^2 + b^2)"),
    Function {
        name: "where",
        doc: "where(cond, a, b): a where cond is nonzero, else b",
        call: Call::Where,
    },
];

impl Unary {
    /// The operation on a constant.
    pub(super) fn fold(self, v: f64) -> f64 {
        match self {
            Unary::Neg => -v,
            Unary::Sin => v.sin(),
            Unary::Cos => v.cos(),
            Unary::Tan => v.tan(),
            Unary::Asin => v.asin(),
            Unary::Acos => v.acos(),
            Unary::Atan => v.atan(),
            Unary::Sinh => v.sinh(),
            Unary::Cosh => v.cosh(),
            Unary::Tanh => v.tanh(),
            Unary::Exp => v.exp(),
            Unary::Expm1 => v.exp_m1(),
            Unary::Ln => v.ln(),
            Unary::Log2 => v.log2(),
            Unary::Log10 => v.log10(),
            Unary::Log1p => v.ln_1p(),
            Unary::Sqrt => v.sqrt(),
            Unary::Square => v * v,
            Unary::Abs => v.abs(),
            // NumPy's sign: 0 at 0 (Rust's signum is 1 there).
            Unary::Sign if v == 0.0 || v.is_nan() => v,
            Unary::Sign => v.signum(),
            Unary::Floor => v.floor(),
            Unary::Ceil => v.ceil(),
            Unary::Sigmoid => 1.0 / (1.0 + (-v).exp()),
        }
    }

    /// The operation on a tensor.
    pub(super) fn apply(self, t: T) -> T {
        match self {
            Unary::Neg => t.neg(),
            Unary::Sin => t.sin(),
            Unary::Cos => t.cos(),
            Unary::Tan => t.tan(),
            Unary::Asin => t.asin(),
            Unary::Acos => t.acos(),
            Unary::Atan => t.atan(),
            Unary::Sinh => t.sinh(),
            Unary::Cosh => t.cosh(),
            Unary::Tanh => t.tanh(),
            Unary::Exp => t.exp(),
            Unary::Expm1 => expm1(t),
            Unary::Ln => t.log(),
            Unary::Log2 => t.log().div_scalar(LN_2),
            Unary::Log10 => t.log().div_scalar(LN_10),
            Unary::Log1p => t.log1p(),
            Unary::Sqrt => t.sqrt(),
            Unary::Square => t.square(),
            Unary::Abs => t.abs(),
            Unary::Sign => t.sign(),
            Unary::Floor => t.floor(),
            Unary::Ceil => t.ceil(),
            Unary::Sigmoid => sigmoid(t),
        }
    }
}

/// `e^t - 1`: `exp(t) - 1` cancels for small `|t|`, where `2 tanh(t/2) / (1 - tanh(t/2))` keeps
/// full precision. Both are computed, the second on `t` clamped to where it is used, so that
/// neither its value nor its gradient overflows where the other is chosen.
fn expm1(t: T) -> T {
    const NEAR: f64 = 0.5;
    let near = t.clone().abs().lower_elem(NEAR);
    let h = t.clone().clamp(-NEAR, NEAR).div_scalar(2.0).tanh();
    let small = h.clone().mul_scalar(2.0) / h.neg().add_scalar(1.0);
    t.exp().sub_scalar(1.0).mask_where(near, small)
}

impl Cmp {
    /// Whether it holds between two constants.
    fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Cmp::Lt => a < b,
            Cmp::Le => a <= b,
            Cmp::Gt => a > b,
            Cmp::Ge => a >= b,
            Cmp::Eq => a == b,
            Cmp::Ne => a != b,
        }
    }

    /// Where it holds between two tensors, as 1.0 and 0.0.
    fn mask(self, a: T, b: T) -> T {
        let holds = match self {
            Cmp::Lt => a.lower(b),
            Cmp::Le => a.lower_equal(b),
            Cmp::Gt => a.greater(b),
            Cmp::Ge => a.greater_equal(b),
            Cmp::Eq => a.equal(b),
            Cmp::Ne => a.not_equal(b),
        };
        holds.float()
    }
}

impl Binary {
    /// The operation on two constants.
    pub(super) fn fold(self, a: f64, b: f64) -> f64 {
        let f: fn(f64, f64) -> f64 = match self {
            Binary::Add => ops::Add::add,
            Binary::Sub => ops::Sub::sub,
            Binary::Mul => ops::Mul::mul,
            Binary::Div => ops::Div::div,
            Binary::Pow => f64::powf,
            Binary::Min => f64::min,
            Binary::Max => f64::max,
            Binary::Atan2 => f64::atan2,
            Binary::Hypot => f64::hypot,
            Binary::Compare(cmp) => return if cmp.holds(a, b) { 1.0 } else { 0.0 },
        };
        f(a, b)
    }

    /// The operation on two tensors.
    pub(super) fn apply(self, a: T, b: T) -> T {
        match self {
            Binary::Add => a + b,
            Binary::Sub => a - b,
            Binary::Mul => a * b,
            Binary::Div => a / b,
            Binary::Pow => a.powf(b),
            Binary::Min => a.min_pair(b),
            Binary::Max => a.max_pair(b),
            Binary::Atan2 => a.atan2(b),
            Binary::Hypot => a.hypot(b),
            Binary::Compare(cmp) => cmp.mask(a, b),
        }
    }

    /// `t op k` for a constant `k`, as the scalar operation a hand-written surface would use.
    pub(super) fn apply_scalar(self, t: T, k: f64) -> T {
        match self {
            Binary::Add => t.add_scalar(k),
            Binary::Sub => t.sub_scalar(k),
            Binary::Mul => t.mul_scalar(k),
            Binary::Div => t.div_scalar(k),
            Binary::Pow => power(t, k),
            Binary::Min => t.clamp_max(k),
            Binary::Max => t.clamp_min(k),
            Binary::Atan2 | Binary::Hypot | Binary::Compare(_) => {
                let k = t.full_like(k);
                self.apply(t, k)
            }
        }
    }

    /// `k op t` for a constant `k`: the commutative arithmetic as [`Binary::apply_scalar`] (IEEE
    /// addition and multiplication commute exactly), the others exactly as written.
    pub(super) fn scalar_apply(self, k: f64, t: T) -> T {
        match self {
            Binary::Add | Binary::Mul | Binary::Min | Binary::Max => self.apply_scalar(t, k),
            // k - t == -t + k exactly: negation is exact and addition commutes.
            Binary::Sub => t.neg().add_scalar(k),
            Binary::Div if k == 1.0 => t.recip(),
            // k^t = exp(t ln k) for k > 0, as burn's pow computes it.
            Binary::Pow if k > 0.0 => t.mul_scalar(k.ln()).exp(),
            Binary::Div | Binary::Pow | Binary::Atan2 | Binary::Hypot | Binary::Compare(_) => {
                self.apply(t.full_like(k), t)
            }
        }
    }
}

/// `t^k` for a constant `k`: `square()` for 2, exact repeated products for other whole `k` up to
/// [`MAX_EXACT_POWER`], burn's scalar power for fractional (or NaN) `k`, and the general
/// tensor power otherwise (burn's scalar power takes a whole exponent as a 64-bit integer, which
/// `1e19` or infinity are not).
fn power(t: T, k: f64) -> T {
    let whole = k.is_finite() && k.fract() == 0.0;
    if k == 2.0 {
        t.square()
    } else if whole && k.abs() <= MAX_EXACT_POWER {
        t.powi_scalar(k as i32)
    } else if whole || k.is_infinite() {
        let k = t.full_like(k);
        t.powf(k)
    } else {
        t.powf_scalar(k)
    }
}

/// `where(c, a, b)` on tensors: `a` where `c` is nonzero (NaN included, as NumPy's truth), else `b`.
pub(super) fn select(c: T, a: T, b: T) -> T {
    b.mask_where(c.not_equal_elem(0.0), a)
}
