//! Expression surfaces: a formula written in an experiment file, compiled once into burn tensor
//! operations, so its gradient comes from autodiff like any built-in surface's.
//!
//! ```text
//! expr       := comparison
//! comparison := sum (("<" | "<=" | ">" | ">=" | "==" | "!=") sum)?   (1.0 or 0.0; no chains)
//! sum        := product (("+" | "-") product)*
//! product    := unary (("*" | "/") unary)*
//! unary      := ("-" | "+") unary | power
//! power      := atom (("^" | "**") unary)?          (right-associative: 2^3^2 = 2^9)
//! atom       := number | name | name "(" expr ("," expr)* ")" | "(" expr ")"
//! ```
//! As in Python, comparisons bind loosest and `-x^2` is `-(x^2)`. Names: the coordinates `x`,
//! `y`, the noise terms `r` (coarse) and `c` (fine), the constants `pi` and `e`; the functions
//! of [`FUNCTIONS`] (`sin`, `log` (natural, as NumPy's), `atan2(y, x)`, `where(cond, a, b)`, ...);
//! and every registered surface as a function of two arguments (`rastrigin(x, y) + 0.05 * r`),
//! which sees the noise terms of the point.
//!
//! Parentheses, calls, unary signs and powers may nest [`MAX_NESTING`] (256) deep: far past any
//! formula written by hand, and an error at the column where a generated or runaway text goes
//! past it. Parsing (shunting-yard with an explicit stack), compiling and evaluating (a flat
//! program, see `program.rs`) never recurse, so a sum of 100,000 terms compiles and runs.
//!
//! Compilation folds constant subexpressions (in `f64`) and maps each operation to the burn
//! operation a hand-written surface would use: a constant operand becomes a scalar operation
//! (`x / 10` is `div_scalar(10)`), `a^2` is `square()`, other whole powers up to 64 exact
//! products (`powi_scalar`), so an expression written with a built-in's operations gives its bits
//! exactly. A constant expression (`3`, `sin(1)`) is a flat surface: its value everywhere, a zero
//! gradient; a non-finite one (`1 / 0`) is an error.

pub(crate) mod error;
pub(crate) mod func;
mod lex;
pub(crate) mod parse;
mod program;

pub(crate) use error::ExprError;

use super::Surface;
use burn::tensor::Tensor;
use program::Program;
use std::fmt;
use std::sync::Arc;

type T = Tensor<1>;

/// A compiled expression: evaluate it with [`Expr::eval`], or make it a [`Surface`].
#[derive(Clone)]
pub(crate) struct Expr {
    program: Program,
}

impl fmt::Debug for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Expr")
            .field("noisy", &self.is_noisy())
            .field("operations", &self.program.len())
            .finish_non_exhaustive()
    }
}

impl Expr {
    /// Parses and compiles `text`; `surfaces` are callable by name.
    pub(crate) fn compile(text: &str, surfaces: &[Surface]) -> Result<Expr, ExprError> {
        let chars: Vec<char> = text.chars().collect();
        let compiled = || {
            let tokens = lex::lex(&chars)?;
            let items = parse::parse(&tokens, chars.len() + 1, surfaces)?;
            let program = Program::compile(items);
            match program.constant() {
                Some(v) if !v.is_finite() => Err(ExprError::new(
                    1,
                    chars.len(),
                    format!("the expression is the constant {v}, not a finite surface"),
                )),
                _ => Ok(Expr { program }),
            }
        };
        compiled().map_err(|e| e.in_text(&chars))
    }

    /// Whether the expression reads the noise terms (directly or through a noisy surface).
    pub(crate) fn is_noisy(&self) -> bool {
        self.program.is_noisy()
    }

    /// The expression's value when it does not depend on the point.
    #[cfg(test)]
    pub(crate) fn constant(&self) -> Option<f64> {
        self.program.constant()
    }

    /// The expression at a batch: coordinates `x`, `y` and noise terms `r`, `c`, each `[N]`.
    pub(crate) fn eval(&self, x: T, y: T, r: T, c: T) -> T {
        self.program.eval([x, y, r, c])
    }

    /// A surface named `name` whose formula is this expression (and whose text is `text`);
    /// replayable when every surface it calls is (one of `surfaces`, replayable).
    pub(crate) fn into_surface(
        self,
        name: impl Into<String>,
        text: impl Into<String>,
        surfaces: &[Surface],
    ) -> Surface {
        let noisy = self.is_noisy();
        let replayable = self
            .program
            .formulas()
            .all(|f| surfaces.iter().any(|s| s.replayable && Arc::ptr_eq(&s.f, f)));
        let mut surface = Surface::new(name, text, move |x, y, r, c| self.eval(x, y, r, c));
        surface.noisy = noisy;
        surface.replayable = replayable;
        surface
    }
}

#[cfg(test)]
mod tests {
    use super::parse::MAX_NESTING;
    use super::*;

    fn compile(text: &str) -> Result<Expr, ExprError> {
        Expr::compile(text, &super::super::builtins())
    }

    fn err(text: &str) -> ExprError {
        compile(text).unwrap_err()
    }

    #[test]
    fn errors_name_the_column() {
        assert_eq!(err("(1 - x)^2 + )").column, 13);
        assert!(err("(1 - x)^2 + )").message.starts_with("unexpected ')'"));
        assert_eq!(err("x + foo").column, 5);
        assert!(err("x + foo").message.contains("unknown name \"foo\""));
        assert_eq!(err("sin(x, y)").message, "sin takes 1 argument, got 2");
        assert_eq!(err("(x + y").column, 7);
        assert!(err("(x + y").message.contains("end of expression"));
        assert_eq!(err("x # y").column, 3);
        assert!(err("x y").message.starts_with("unexpected name \"y\""));
        assert!(err("1 / 0").message.contains("not a finite surface"));
        assert!(err("sin + 1").message.contains("sin is a function"));
        assert!(err("rastrigin(x)").message.contains("takes 2 arguments, got 1"));
        assert!(err("x(y)").message.contains("x is not a function"));
        assert!(err("(x, y)").expected.as_deref() == Some("')'"));
        assert!(err("x)").message.starts_with("unexpected ')'"));
        assert_eq!(err("").column, 1);
    }

    #[test]
    fn errors_hint_at_the_usual_slips() {
        let hint = |text: &str| err(text).hint.unwrap_or_default();
        assert_eq!(hint("x^^2"), "did you mean ^ or **?");
        assert_eq!(hint("x * * 2"), "did you mean ^ or **?");
        assert_eq!(hint("atan3(y, x)"), "did you mean atan2?");
        assert_eq!(hint("arctan2(y, x)"), "did you mean atan2?");
        assert_eq!(hint("Sin(x)"), "did you mean sin?");
        assert_eq!(hint("rastrign(x, y)"), "did you mean rastrigin?");
        assert_eq!(hint("maximum(x, y)"), "did you mean max?");
        assert_eq!(hint("x = y"), "did you mean ==?");
        assert!(hint("np.sin(x)").contains("module prefix"));
        assert!(hint("2x").contains("write * to multiply"));
        assert!(hint("x < y < 1").contains("do not chain"));
        let list = hint("x + foo");
        assert!(list.starts_with("known names: x, y, r, c, pi, e, sin"), "{list}");
        assert!(list.len() <= 130 && list.contains(" more"), "{list}");
    }

    #[test]
    fn an_error_is_one_line_with_an_excerpt_at_the_column() {
        let e = err("(x + y))^2");
        assert_eq!(e.column, 8);
        assert_eq!(
            e.to_string(),
            "unexpected ')' at column 8: \"(x + y))^2\" -> \"(x + y)) <- here\"; no '(' is open here"
        );
        let long = format!("{} + atan3(x, y)", "x * y + ".repeat(200));
        let line = err(&long).to_string();
        assert!(line.len() < 200, "{line}");
        assert!(
            line.contains("atan3 <- here") && line.contains("did you mean atan2?"),
            "{line}"
        );
        assert!(err("x +").to_string().ends_with("\"x +\" -> \"x + <- here\""));
        // However long the offending name or number, the line stays short.
        for text in [
            format!("x + {}", "a".repeat(100_000)),
            format!("x {}", "1.".repeat(50_000)),
        ] {
            let line = err(&text).to_string();
            assert!(line.len() < 300, "{line}");
        }
    }

    #[test]
    fn nesting_is_limited_and_reported_at_its_column() {
        let ok = |n: usize| format!("{}x{}", "(".repeat(n), ")".repeat(n));
        assert!(compile(&ok(MAX_NESTING)).is_ok());
        let e = err(&ok(MAX_NESTING + 1));
        assert_eq!(e.message, format!("nesting deeper than {MAX_NESTING}"));
        assert_eq!(e.column, MAX_NESTING + 1);
        for deep in [
            ok(10_000),
            format!("{}x", "-".repeat(3000)),
            vec!["x"; 20_000].join("^"),
            format!("{}x{}", "sin(".repeat(20_000), ")".repeat(20_000)),
            format!("{}x", "2**-".repeat(5000)),
        ] {
            let e = err(&deep);
            assert!(e.message.starts_with("nesting deeper than 256"), "{e}");
            assert!(e.to_string().len() < 300, "{e}");
        }
    }

    #[test]
    fn noise_is_detected() {
        let noisy = |t: &str| compile(t).unwrap().is_noisy();
        assert!(!noisy("rosenbrock(x, y) + x"));
        assert!(noisy("x + 0.01 * r"));
        assert!(noisy("f0(x, y)"));
        assert!(!noisy("quadric(y, x)"));
        assert!(noisy("c"));
        // A branch a constant condition drops is not read.
        assert!(!noisy("where(1, x, r)"));
        assert!(noisy("where(0, x, r)"));
    }

    #[test]
    fn constants_fold_and_long_expressions_use_few_slots() {
        for (text, value) in [
            ("-2^2", -4.0),
            ("2**3**2", 512.0),
            ("where(0, 1, 2)", 2.0),
            ("(1 < 2) + (2 <= 2) + (3 == 3) + (1 != 1) + (1 > 2) + (2 >= 3)", 3.0),
            ("sign(0) + sign(-3)", -1.0),
        ] {
            assert_eq!(compile(text).unwrap().constant(), Some(value), "{text}");
        }
        let sum = compile(&vec!["x * y"; 100_000].join(" + ")).unwrap();
        assert_eq!(sum.program.len(), 199_999);
        assert!(sum.program.slots() <= 3, "{} slots", sum.program.slots());
        assert_eq!(compile("where(x > 0, x, sin(y))").unwrap().program.len(), 3);
        assert_eq!(compile("where(1, x, sin(y))").unwrap().program.len(), 0);
    }
}
