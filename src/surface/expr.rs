//! Expression surfaces: a formula written in an experiment file, compiled once into burn tensor
//! operations, so its gradient comes from autodiff like any built-in surface's.
//!
//! ```text
//! expr    := sum
//! sum     := product (("+" | "-") product)*
//! product := unary (("*" | "/") unary)*
//! unary   := "-" unary | power
//! power   := atom ("^" unary)?                  (right-associative: 2^3^2 = 2^9)
//! atom    := number | name | name "(" expr ("," expr)* ")" | "(" expr ")"
//! ```
//! Names: the coordinates `x`, `y`, the noise terms `r` (coarse) and `c` (fine), the constants
//! `pi` and `e`; functions `sin cos tan asin acos atan tanh sinh cosh exp ln log10 sqrt abs`
//! of one argument and `min max` of two; and every registered surface as a function of two
//! arguments (`rastrigin(x, y) + 0.05 * r`), which sees the noise terms of the point.
//!
//! Compilation folds constant subexpressions (in `f64`) and maps each operation to the burn
//! operation a hand-written surface would use: a constant operand becomes a scalar operation
//! (`x / 10` is `div_scalar(10)`), `a^2` is `square()`, other whole powers `powi_scalar`, so an
//! expression written with a built-in's operations gives its bits exactly.

use super::{Formula, Surface};
use burn::tensor::Tensor;
use std::fmt;
use std::sync::Arc;

type T = Tensor<1>;

/// A parse or compile error: what is wrong and at which (1-based) column.
#[derive(Clone, Debug, PartialEq)]
pub struct ExprError {
    /// 1-based character column of the offending token (one past the end for a missing one).
    pub column: usize,
    /// What was wrong.
    pub message: String,
    /// What would have been right there, when that is known.
    pub expected: Option<String>,
}

impl ExprError {
    fn new(column: usize, message: impl Into<String>) -> Self {
        ExprError {
            column,
            message: message.into(),
            expected: None,
        }
    }
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at column {}", self.message, self.column)?;
        match &self.expected {
            Some(e) => write!(f, "; expected {e}"),
            None => Ok(()),
        }
    }
}

/// The noise-free scalar functions of one argument.
const FUNCTIONS: &[&str] = &[
    "sin", "cos", "tan", "asin", "acos", "atan", "tanh", "sinh", "cosh", "exp", "ln", "log10", "sqrt", "abs",
];

#[derive(Clone, Copy, Debug, PartialEq)]
enum Var {
    X,
    Y,
    R,
    C,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    Min,
    Max,
}

#[derive(Clone)]
enum Node {
    Const(f64),
    Var(Var),
    Neg(Box<Node>),
    Binary(Op, Box<Node>, Box<Node>),
    Func(&'static str, Box<Node>),
    Surface(Arc<Formula>, Box<Node>, Box<Node>),
}

/// A compiled expression: evaluate it with [`Expr::eval`], or make it a [`Surface`].
#[derive(Clone)]
pub struct Expr {
    root: Node,
    noisy: bool,
}

impl fmt::Debug for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Expr")
            .field("noisy", &self.noisy)
            .finish_non_exhaustive()
    }
}

impl Expr {
    /// Parses and compiles `text`; `surfaces` are callable by name.
    pub fn compile(text: &str, surfaces: &[Surface]) -> Result<Expr, ExprError> {
        let tokens = lex(text)?;
        let mut parser = Parser {
            tokens,
            at: 0,
            end: text.chars().count() + 1,
            surfaces,
            noisy: false,
        };
        let root = parser.expr()?;
        if let Some(t) = parser.tokens.get(parser.at) {
            return Err(ExprError::new(t.column, format!("unexpected {}", t.kind)));
        }
        if let Node::Const(v) = root
            && !v.is_finite()
        {
            return Err(ExprError::new(
                1,
                format!("the expression is the constant {v}, not a finite surface"),
            ));
        }
        Ok(Expr {
            root,
            noisy: parser.noisy,
        })
    }

    /// Whether the expression reads the noise terms (directly or through a noisy surface).
    pub fn is_noisy(&self) -> bool {
        self.noisy
    }

    /// The expression at a batch: coordinates `x`, `y` and noise terms `r`, `c`, each `[N]`.
    pub fn eval(&self, x: T, y: T, r: T, c: T) -> T {
        let vars = [x, y, r, c];
        match eval(&self.root, &vars) {
            Value::Tensor(t) => t,
            Value::Const(k) => vars[0].zeros_like().add_scalar(k),
        }
    }

    /// A surface named `name` whose formula is this expression (and whose text is `text`).
    pub fn into_surface(self, name: impl Into<String>, text: impl Into<String>) -> Surface {
        let noisy = self.noisy;
        let mut surface = Surface::new(name, text, move |x, y, r, c| self.eval(x, y, r, c));
        surface.noisy = noisy;
        surface
    }
}

// ----- lexing -------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
enum Kind {
    Number(f64),
    Name(String),
    Sym(char),
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Number(v) => write!(f, "number {v}"),
            Kind::Name(n) => write!(f, "name {n:?}"),
            Kind::Sym(c) => write!(f, "'{c}'"),
        }
    }
}

#[derive(Clone, Debug)]
struct Token {
    kind: Kind,
    column: usize,
}

fn lex(text: &str) -> Result<Vec<Token>, ExprError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let ch = chars[i];
        let column = i + 1;
        if ch.is_whitespace() {
            i += 1;
        } else if ch.is_ascii_digit() || (ch == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            if i < chars.len() && (chars[i] == 'e' || chars[i] == 'E') {
                let mut j = i + 1;
                if j < chars.len() && (chars[j] == '+' || chars[j] == '-') {
                    j += 1;
                }
                if j < chars.len() && chars[j].is_ascii_digit() {
                    i = j;
                    while i < chars.len() && chars[i].is_ascii_digit() {
                        i += 1;
                    }
                }
            }
            let literal: String = chars[start..i].iter().collect();
            let value = literal
                .parse::<f64>()
                .map_err(|_| ExprError::new(column, format!("malformed number {literal:?}")))?;
            tokens.push(Token {
                kind: Kind::Number(value),
                column,
            });
        } else if ch.is_ascii_alphabetic() || ch == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push(Token {
                kind: Kind::Name(chars[start..i].iter().collect()),
                column,
            });
        } else if "+-*/^(),".contains(ch) {
            tokens.push(Token {
                kind: Kind::Sym(ch),
                column,
            });
            i += 1;
        } else {
            return Err(ExprError::new(
                column,
                format!("unexpected character {ch:?}; expected numbers, names, + - * / ^ ( ) ,"),
            ));
        }
    }
    Ok(tokens)
}

// ----- parsing ------------------------------------------------------------------------------

struct Parser<'a> {
    tokens: Vec<Token>,
    at: usize,
    end: usize,
    surfaces: &'a [Surface],
    noisy: bool,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Kind> {
        self.tokens.get(self.at).map(|t| &t.kind)
    }

    fn column(&self) -> usize {
        self.tokens.get(self.at).map_or(self.end, |t| t.column)
    }

    fn eat(&mut self, sym: char) -> bool {
        if self.peek() == Some(&Kind::Sym(sym)) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn unexpected(&self, expected: &str) -> ExprError {
        let message = match self.tokens.get(self.at) {
            Some(t) => format!("unexpected {}", t.kind),
            None => "unexpected end of expression".to_string(),
        };
        ExprError {
            expected: Some(expected.to_string()),
            ..ExprError::new(self.column(), message)
        }
    }

    fn expr(&mut self) -> Result<Node, ExprError> {
        let mut left = self.product()?;
        loop {
            let op = if self.eat('+') {
                Op::Add
            } else if self.eat('-') {
                Op::Sub
            } else {
                return Ok(left);
            };
            left = binary(op, left, self.product()?);
        }
    }

    fn product(&mut self) -> Result<Node, ExprError> {
        let mut left = self.unary()?;
        loop {
            let op = if self.eat('*') {
                Op::Mul
            } else if self.eat('/') {
                Op::Div
            } else {
                return Ok(left);
            };
            left = binary(op, left, self.unary()?);
        }
    }

    fn unary(&mut self) -> Result<Node, ExprError> {
        if self.eat('-') {
            return Ok(match self.unary()? {
                Node::Const(v) => Node::Const(-v),
                other => Node::Neg(Box::new(other)),
            });
        }
        self.power()
    }

    fn power(&mut self) -> Result<Node, ExprError> {
        let base = self.atom()?;
        if self.eat('^') {
            let exponent = self.unary()?;
            return Ok(binary(Op::Pow, base, exponent));
        }
        Ok(base)
    }

    fn atom(&mut self) -> Result<Node, ExprError> {
        let column = self.column();
        match self.peek().cloned() {
            Some(Kind::Number(v)) => {
                self.at += 1;
                Ok(Node::Const(v))
            }
            Some(Kind::Sym('(')) => {
                self.at += 1;
                let inner = self.expr()?;
                if !self.eat(')') {
                    return Err(self.unexpected("')'"));
                }
                Ok(inner)
            }
            Some(Kind::Name(name)) => {
                self.at += 1;
                if self.eat('(') {
                    let mut args = vec![self.expr()?];
                    while self.eat(',') {
                        args.push(self.expr()?);
                    }
                    if !self.eat(')') {
                        return Err(self.unexpected("',' or ')'"));
                    }
                    self.call(&name, args, column)
                } else {
                    self.name(&name, column)
                }
            }
            _ => Err(self.unexpected("a number, a name or '('")),
        }
    }

    fn name(&mut self, name: &str, column: usize) -> Result<Node, ExprError> {
        Ok(match name {
            "x" => Node::Var(Var::X),
            "y" => Node::Var(Var::Y),
            "r" => {
                self.noisy = true;
                Node::Var(Var::R)
            }
            "c" => {
                self.noisy = true;
                Node::Var(Var::C)
            }
            "pi" => Node::Const(std::f64::consts::PI),
            "e" => Node::Const(std::f64::consts::E),
            _ if FUNCTIONS.contains(&name) || ["min", "max"].contains(&name) || self.surface(name).is_some() => {
                return Err(ExprError::new(
                    column,
                    format!("{name} is a function; call it as {name}(...)"),
                ));
            }
            _ => return Err(self.unknown(name, column)),
        })
    }

    fn surface(&self, name: &str) -> Option<&Surface> {
        self.surfaces.iter().find(|s| s.name == name)
    }

    fn unknown(&self, name: &str, column: usize) -> ExprError {
        let surfaces: Vec<&str> = self.surfaces.iter().map(|s| s.name.as_str()).collect();
        ExprError::new(
            column,
            format!(
                "unknown name {name:?}; known names: x, y, r, c, pi, e; functions: {}, min, max; surfaces: {}",
                FUNCTIONS.join(", "),
                surfaces.join(", ")
            ),
        )
    }

    fn call(&mut self, name: &str, mut args: Vec<Node>, column: usize) -> Result<Node, ExprError> {
        let arity = |n: usize, args: &Vec<Node>| {
            if args.len() == n {
                Ok(())
            } else {
                Err(ExprError::new(
                    column,
                    format!(
                        "{name} takes {n} argument{}, got {}",
                        if n == 1 { "" } else { "s" },
                        args.len()
                    ),
                ))
            }
        };
        if let Some(&f) = FUNCTIONS.iter().find(|&&f| f == name) {
            arity(1, &args)?;
            let arg = args.pop().expect("one argument");
            return Ok(match arg {
                Node::Const(v) => Node::Const(apply_f64(f, v)),
                arg => Node::Func(f, Box::new(arg)),
            });
        }
        if name == "min" || name == "max" {
            arity(2, &args)?;
            let b = args.pop().expect("two arguments");
            let a = args.pop().expect("two arguments");
            return Ok(binary(if name == "min" { Op::Min } else { Op::Max }, a, b));
        }
        if let Some(surface) = self.surface(name).cloned() {
            arity(2, &args)?;
            self.noisy |= surface.noisy;
            let b = args.pop().expect("two arguments");
            let a = args.pop().expect("two arguments");
            return Ok(Node::Surface(surface.f, Box::new(a), Box::new(b)));
        }
        if matches!(name, "x" | "y" | "r" | "c" | "pi" | "e") {
            return Err(ExprError::new(
                column,
                format!("{name} is not a function; write {name} * (...) to multiply"),
            ));
        }
        Err(self.unknown(name, column))
    }
}

/// A binary node, folded when both sides are constants.
fn binary(op: Op, a: Node, b: Node) -> Node {
    match (&a, &b) {
        (Node::Const(x), Node::Const(y)) => Node::Const(fold(op, *x, *y)),
        _ => Node::Binary(op, Box::new(a), Box::new(b)),
    }
}

fn fold(op: Op, a: f64, b: f64) -> f64 {
    match op {
        Op::Add => a + b,
        Op::Sub => a - b,
        Op::Mul => a * b,
        Op::Div => a / b,
        Op::Pow => a.powf(b),
        Op::Min => a.min(b),
        Op::Max => a.max(b),
    }
}

fn apply_f64(f: &str, v: f64) -> f64 {
    match f {
        "sin" => v.sin(),
        "cos" => v.cos(),
        "tan" => v.tan(),
        "asin" => v.asin(),
        "acos" => v.acos(),
        "atan" => v.atan(),
        "tanh" => v.tanh(),
        "sinh" => v.sinh(),
        "cosh" => v.cosh(),
        "exp" => v.exp(),
        "ln" => v.ln(),
        "log10" => v.log10(),
        "sqrt" => v.sqrt(),
        "abs" => v.abs(),
        _ => unreachable!("{f} is one of FUNCTIONS"),
    }
}

// ----- evaluation ---------------------------------------------------------------------------

enum Value {
    Const(f64),
    Tensor(T),
}

fn eval(node: &Node, vars: &[T; 4]) -> Value {
    match node {
        Node::Const(v) => Value::Const(*v),
        Node::Var(v) => Value::Tensor(vars[*v as usize].clone()),
        Node::Neg(a) => match eval(a, vars) {
            Value::Const(v) => Value::Const(-v),
            Value::Tensor(t) => Value::Tensor(t.neg()),
        },
        Node::Func(f, a) => match eval(a, vars) {
            Value::Const(v) => Value::Const(apply_f64(f, v)),
            Value::Tensor(t) => Value::Tensor(apply(f, t)),
        },
        Node::Surface(f, a, b) => {
            let (a, b) = (tensor(eval(a, vars), &vars[0]), tensor(eval(b, vars), &vars[0]));
            Value::Tensor(f(a, b, vars[2].clone(), vars[3].clone()))
        }
        Node::Binary(op, a, b) => match (eval(a, vars), eval(b, vars)) {
            (Value::Const(x), Value::Const(y)) => Value::Const(fold(*op, x, y)),
            (Value::Tensor(t), Value::Const(k)) => Value::Tensor(tensor_scalar(*op, t, k)),
            (Value::Const(k), Value::Tensor(t)) => Value::Tensor(scalar_tensor(*op, k, t)),
            (Value::Tensor(s), Value::Tensor(t)) => Value::Tensor(match op {
                Op::Add => s + t,
                Op::Sub => s - t,
                Op::Mul => s * t,
                Op::Div => s / t,
                Op::Pow => s.powf(t),
                Op::Min => s.min_pair(t),
                Op::Max => s.max_pair(t),
            }),
        },
    }
}

fn tensor(v: Value, like: &T) -> T {
    match v {
        Value::Tensor(t) => t,
        Value::Const(k) => like.zeros_like().add_scalar(k),
    }
}

fn apply(f: &str, t: T) -> T {
    match f {
        "sin" => t.sin(),
        "cos" => t.cos(),
        "tan" => t.tan(),
        "asin" => t.asin(),
        "acos" => t.acos(),
        "atan" => t.atan(),
        "tanh" => t.tanh(),
        "sinh" => t.sinh(),
        "cosh" => t.cosh(),
        "exp" => t.exp(),
        "ln" => t.log(),
        "log10" => t.log().div_scalar(std::f64::consts::LN_10),
        "sqrt" => t.sqrt(),
        "abs" => t.abs(),
        _ => unreachable!("{f} is one of FUNCTIONS"),
    }
}

/// `t op k` for a constant `k`, as the scalar operation a hand-written surface would use.
fn tensor_scalar(op: Op, t: T, k: f64) -> T {
    match op {
        Op::Add => t.add_scalar(k),
        Op::Sub => t.sub_scalar(k),
        Op::Mul => t.mul_scalar(k),
        Op::Div => t.div_scalar(k),
        Op::Pow if k == 2.0 => t.square(),
        Op::Pow if k.fract() == 0.0 && k.abs() <= 64.0 => t.powi_scalar(k as i32),
        Op::Pow => t.powf_scalar(k),
        Op::Min => t.clamp_max(k),
        Op::Max => t.clamp_min(k),
    }
}

/// `k op t` for a constant `k`: the commutative operations as [`tensor_scalar`] (IEEE addition
/// and multiplication commute exactly), the others exactly as written.
fn scalar_tensor(op: Op, k: f64, t: T) -> T {
    match op {
        Op::Add | Op::Mul | Op::Min | Op::Max => tensor_scalar(op, t, k),
        // k - t == -t + k exactly: negation is exact and addition commutes.
        Op::Sub => t.neg().add_scalar(k),
        Op::Div if k == 1.0 => t.recip(),
        Op::Div => t.full_like(k) / t,
        // k^t = exp(t ln k) for k > 0, as burn's pow computes it.
        Op::Pow if k > 0.0 => t.mul_scalar(k.ln()).exp(),
        Op::Pow => t.full_like(k).powf(t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> ExprError {
        Expr::compile(text, &super::super::builtins()).unwrap_err()
    }

    #[test]
    fn errors_name_the_column() {
        assert_eq!(err("(1 - x)^2 + )").column, 13);
        assert!(err("(1 - x)^2 + )").message.starts_with("unexpected ')'"));
        assert_eq!(err("x + foo").column, 5);
        assert!(err("x + foo").message.contains("unknown name \"foo\""));
        assert!(err("x + foo").message.contains("rosenbrock"));
        assert_eq!(err("sin(x, y)").message, "sin takes 1 argument, got 2");
        assert_eq!(err("(x + y").column, 7);
        assert!(err("(x + y").message.contains("end of expression"));
        assert_eq!(err("x # y").column, 3);
        assert!(err("x y").message.starts_with("unexpected name \"y\""));
        assert!(err("1 / 0").message.contains("not a finite surface"));
        assert!(err("sin + 1").message.contains("sin is a function"));
        assert!(err("rastrigin(x)").message.contains("takes 2 arguments, got 1"));
    }

    #[test]
    fn noise_is_detected() {
        let surfaces = super::super::builtins();
        let noisy = |t: &str| Expr::compile(t, &surfaces).unwrap().is_noisy();
        assert!(!noisy("rosenbrock(x, y) + x"));
        assert!(noisy("x + 0.01 * r"));
        assert!(noisy("f0(x, y)"));
        assert!(!noisy("quadric(y, x)"));
    }
}
