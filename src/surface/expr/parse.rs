//! Parsing: tokens into a postfix program, with an explicit operator stack (shunting-yard), so
//! that no input, however deep, recurses; nesting deeper than [`MAX_NESTING`] is an error.

use super::error::{ExprError, quoted, unknown_name_hint};
use super::func::{Binary, Call, Cmp, FUNCTIONS, Function, Unary};
use super::lex::{Kind, Sym, Token};
use super::program::{Item, Var};
use crate::surface::Surface;

/// How deep parentheses, calls, unary signs and powers (`x^x^x` nests to the right) may nest.
pub const MAX_NESTING: usize = 256;

/// The names that are values: the coordinates, the noise terms and two constants.
pub(super) const VARIABLES: &[&str] = &["x", "y", "r", "c", "pi", "e"];

const OPERAND: &str = "a number, a name or '('";

// Binding strength, loosest first; the sign binds between products and powers (-x^2 = -(x^2)).
const COMPARISON: u8 = 1;
const SUM: u8 = 2;
const PRODUCT: u8 = 3;
const SIGN: u8 = 4;
const POWER: u8 = 5;

fn infix(sym: Sym) -> Option<(Binary, u8)> {
    Some(match sym {
        Sym::Plus => (Binary::Add, SUM),
        Sym::Minus => (Binary::Sub, SUM),
        Sym::Star => (Binary::Mul, PRODUCT),
        Sym::Slash => (Binary::Div, PRODUCT),
        Sym::Power => (Binary::Pow, POWER),
        Sym::Lt => (Binary::Compare(Cmp::Lt), COMPARISON),
        Sym::Le => (Binary::Compare(Cmp::Le), COMPARISON),
        Sym::Gt => (Binary::Compare(Cmp::Gt), COMPARISON),
        Sym::Ge => (Binary::Compare(Cmp::Ge), COMPARISON),
        Sym::EqEq => (Binary::Compare(Cmp::Eq), COMPARISON),
        Sym::Ne => (Binary::Compare(Cmp::Ne), COMPARISON),
        Sym::Open | Sym::Close | Sym::Comma => return None,
    })
}

/// What a call's parentheses apply when they close.
struct Callee {
    name: String,
    column: usize,
    arity: usize,
    item: Item,
}

/// An entry of the operator stack.
enum Pending {
    /// An open parenthesis, of a call or a group, and the commas seen in it.
    Group {
        callee: Option<Callee>,
        commas: usize,
    },
    /// A unary sign (`+` is kept only to count its nesting).
    Sign {
        neg: bool,
    },
    Infix {
        op: Binary,
        prec: u8,
    },
}

impl Pending {
    /// Whether it counts towards the nesting depth.
    fn nests(&self) -> bool {
        match self {
            Pending::Group { .. } | Pending::Sign { .. } => true,
            Pending::Infix { prec, .. } => *prec == POWER,
        }
    }
}

struct Parser<'a> {
    tokens: &'a [Token],
    surfaces: &'a [Surface],
    out: Vec<Item>,
    stack: Vec<Pending>,
    depth: usize,
}

/// Parses `tokens` (of a text whose end is column `end`) into postfix order; `surfaces` are
/// callable by name.
pub(super) fn parse(tokens: &[Token], end: usize, surfaces: &[Surface]) -> Result<Vec<Item>, ExprError> {
    let mut p = Parser {
        tokens,
        surfaces,
        out: Vec::with_capacity(tokens.len()),
        stack: Vec::new(),
        depth: 0,
    };
    let mut want_operand = true;
    let mut i = 0;
    while let Some(t) = tokens.get(i) {
        if want_operand {
            match &t.kind {
                Kind::Number(v) => {
                    p.out.push(Item::Const(*v));
                    want_operand = false;
                }
                Kind::Name(name) if tokens.get(i + 1).is_some_and(|n| n.is(Sym::Open)) => {
                    let callee = p.callee(name, t)?;
                    p.push(
                        Pending::Group {
                            callee: Some(callee),
                            commas: 0,
                        },
                        t,
                    )?;
                    i += 1; // its '('
                }
                Kind::Name(name) => {
                    let item = p.value(name, t)?;
                    p.out.push(item);
                    want_operand = false;
                }
                Kind::Sym(Sym::Open) => p.push(
                    Pending::Group {
                        callee: None,
                        commas: 0,
                    },
                    t,
                )?,
                Kind::Sym(Sym::Minus) => p.push(Pending::Sign { neg: true }, t)?,
                Kind::Sym(Sym::Plus) => p.push(Pending::Sign { neg: false }, t)?,
                Kind::Sym(_) => return Err(p.unexpected(i, Some(OPERAND))),
            }
        } else {
            match &t.kind {
                Kind::Sym(Sym::Close) => p.close(t)?,
                Kind::Sym(Sym::Comma) => {
                    p.comma(i)?;
                    want_operand = true;
                }
                Kind::Sym(sym) => {
                    let Some((op, prec)) = infix(*sym) else {
                        return Err(p.unexpected(i, None));
                    };
                    p.infix(op, prec, t)?;
                    want_operand = true;
                }
                Kind::Number(_) | Kind::Name(_) => return Err(p.unexpected(i, None)),
            }
        }
        i += 1;
    }
    if want_operand {
        return Err(ExprError::new(end, 0, "unexpected end of expression").expected(OPERAND));
    }
    p.unwind();
    if let Some(Pending::Group { callee, .. }) = p.stack.last() {
        let expected = if callee.is_some() { "',' or ')'" } else { "')'" };
        return Err(ExprError::new(end, 0, "unexpected end of expression").expected(expected));
    }
    Ok(p.out)
}

impl Parser<'_> {
    fn push(&mut self, entry: Pending, at: &Token) -> Result<(), ExprError> {
        if entry.nests() {
            if self.depth == MAX_NESTING {
                return Err(
                    ExprError::new(at.column, at.width(), format!("nesting deeper than {MAX_NESTING}"))
                        .hint("parentheses, calls, unary signs and powers (x^x^x) nest; split the expression"),
                );
            }
            self.depth += 1;
        }
        self.stack.push(entry);
        Ok(())
    }

    /// Moves a popped operator to the output.
    fn emit(&mut self, entry: Pending) {
        if entry.nests() {
            self.depth -= 1;
        }
        match entry {
            Pending::Sign { neg: true } => self.out.push(Item::Unary(Unary::Neg)),
            Pending::Infix { op, .. } => self.out.push(Item::Binary(op)),
            Pending::Sign { neg: false } | Pending::Group { .. } => {}
        }
    }

    /// Emits operators down to the innermost open parenthesis (or all of them).
    fn unwind(&mut self) {
        while let Some(top) = self.stack.pop() {
            if let Pending::Group { .. } = top {
                self.stack.push(top);
                return;
            }
            self.emit(top);
        }
    }

    fn infix(&mut self, op: Binary, prec: u8, at: &Token) -> Result<(), ExprError> {
        // Left-associative: pop operators binding at least as tightly; `^` is right-associative.
        while let Some(top) = self.stack.pop() {
            let top_prec = match top {
                Pending::Group { .. } => 0,
                Pending::Sign { .. } => SIGN,
                Pending::Infix { prec, .. } => prec,
            };
            if top_prec < prec || (prec == POWER && top_prec == POWER) {
                self.stack.push(top);
                break;
            }
            if prec == COMPARISON && top_prec == COMPARISON {
                return Err(ExprError::new(at.column, at.width(), format!("unexpected {at}"))
                    .hint("comparisons do not chain: write (a < b) * (b < c)"));
            }
            self.emit(top);
        }
        self.push(Pending::Infix { op, prec }, at)
    }

    fn close(&mut self, at: &Token) -> Result<(), ExprError> {
        self.unwind();
        let Some(Pending::Group { callee, commas }) = self.stack.pop() else {
            return Err(ExprError::new(at.column, 1, "unexpected ')'").hint("no '(' is open here"));
        };
        self.depth -= 1;
        if let Some(c) = callee {
            let got = commas + 1;
            if got != c.arity {
                return Err(ExprError::new(
                    c.column,
                    c.name.chars().count(),
                    format!(
                        "{} takes {} argument{}, got {got}",
                        c.name,
                        c.arity,
                        if c.arity == 1 { "" } else { "s" }
                    ),
                ));
            }
            self.out.push(c.item);
        }
        Ok(())
    }

    fn comma(&mut self, i: usize) -> Result<(), ExprError> {
        self.unwind();
        match self.stack.last_mut() {
            Some(Pending::Group {
                callee: Some(_),
                commas,
            }) => {
                *commas += 1;
                Ok(())
            }
            Some(_) => Err(self.unexpected(i, Some("')'"))),
            None => Err(self.unexpected(i, None)),
        }
    }

    fn surface(&self, name: &str) -> Option<&Surface> {
        self.surfaces.iter().find(|s| s.name == name)
    }

    /// A name used as a value.
    fn value(&self, name: &str, at: &Token) -> Result<Item, ExprError> {
        Ok(match name {
            "x" => Item::Var(Var::X),
            "y" => Item::Var(Var::Y),
            "r" => Item::Var(Var::R),
            "c" => Item::Var(Var::C),
            "pi" => Item::Const(std::f64::consts::PI),
            "e" => Item::Const(std::f64::consts::E),
            _ if Function::named(name).is_some() || self.surface(name).is_some() => {
                return Err(ExprError::new(
                    at.column,
                    at.width(),
                    format!("{name} is a function; call it as {name}(...)"),
                ));
            }
            _ => return Err(self.unknown(name, at, false)),
        })
    }

    /// A name called as a function.
    fn callee(&self, name: &str, at: &Token) -> Result<Callee, ExprError> {
        let callee = |arity, item| Callee {
            name: name.to_string(),
            column: at.column,
            arity,
            item,
        };
        if let Some(f) = Function::named(name) {
            let item = match f.call {
                Call::Unary(op) => Item::Unary(op),
                Call::Binary(op) => Item::Binary(op),
                Call::Where => Item::Where,
            };
            return Ok(callee(f.arity(), item));
        }
        if let Some(s) = self.surface(name) {
            return Ok(callee(2, Item::Surface(s.f.clone(), s.noisy)));
        }
        if VARIABLES.contains(&name) {
            return Err(ExprError::new(
                at.column,
                at.width(),
                format!("{name} is not a function; write {name} * (...) to multiply"),
            ));
        }
        Err(self.unknown(name, at, true))
    }

    fn unknown(&self, name: &str, at: &Token, called: bool) -> ExprError {
        let values = VARIABLES.iter().copied().filter(|_| !called);
        let known = values
            .chain(FUNCTIONS.iter().map(|f| f.name))
            .chain(self.surfaces.iter().map(|s| s.name.as_str()));
        ExprError::new(at.column, at.width(), format!("unknown name {}", quoted(name)))
            .hint(unknown_name_hint(name, known))
    }

    /// "unexpected TOKEN" for token `i`, with a hint for the usual slips.
    fn unexpected(&self, i: usize, expected: Option<&str>) -> ExprError {
        let t = &self.tokens[i];
        let mut e = ExprError::new(t.column, t.width(), format!("unexpected {t}"));
        if let Some(x) = expected {
            e = e.expected(x);
        }
        let prev = i.checked_sub(1).map(|j| &self.tokens[j]);
        let starry = |t: &Token| t.is(Sym::Power) || t.is(Sym::Star);
        let value_end = |t: &Token| matches!(t.kind, Kind::Number(_) | Kind::Name(_)) || t.is(Sym::Close);
        if starry(t) && prev.is_some_and(starry) {
            e = e.hint("did you mean ^ or **?");
        } else if expected.is_none() && (value_end(t) || t.is(Sym::Open)) && prev.is_some_and(value_end) {
            e = e.hint("write * to multiply: 2 * x, not 2x");
        }
        e
    }
}
