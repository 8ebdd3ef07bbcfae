//! Lexing: an expression's characters into numbers, names and symbols, each with its column.

use super::error::{ExprError, quoted};
use std::fmt;

/// An operator or punctuation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Sym {
    Plus,
    Minus,
    Star,
    Slash,
    /// `^` or `**`.
    Power,
    Lt,
    Le,
    Gt,
    Ge,
    EqEq,
    Ne,
    Open,
    Close,
    Comma,
}

#[derive(Clone, Debug, PartialEq)]
pub(super) enum Kind {
    Number(f64),
    Name(String),
    Sym(Sym),
}

/// A token: what it is, where it starts (1-based character column), its text.
#[derive(Clone, Debug)]
pub(super) struct Token {
    pub kind: Kind,
    pub column: usize,
    pub text: String,
}

impl Token {
    /// Its width in characters.
    pub(crate) fn width(&self) -> usize {
        self.text.chars().count()
    }

    pub(crate) fn is(&self, sym: Sym) -> bool {
        self.kind == Kind::Sym(sym)
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Number(v) => write!(f, "number {v}"),
            Kind::Name(n) => write!(f, "name {}", quoted(n)),
            Kind::Sym(_) => write!(f, "'{}'", self.text),
        }
    }
}

/// The symbols, longest first (so `**` is one token and `<=` is not `<` then `=`).
const SYMBOLS: &[(&str, Sym)] = &[
    ("**", Sym::Power),
    ("<=", Sym::Le),
    (">=", Sym::Ge),
    ("==", Sym::EqEq),
    ("!=", Sym::Ne),
    ("+", Sym::Plus),
    ("-", Sym::Minus),
    ("*", Sym::Star),
    ("/", Sym::Slash),
    ("^", Sym::Power),
    ("<", Sym::Lt),
    (">", Sym::Gt),
    ("(", Sym::Open),
    (")", Sym::Close),
    (",", Sym::Comma),
];

/// Hints for characters an expression cannot contain but a NumPy or C user might type.
fn stray_hint(ch: char, after_name: bool) -> Option<&'static str> {
    Some(match ch {
        '.' if after_name => "drop the module prefix: sin(x), not np.sin(x)",
        '=' => "did you mean ==?",
        '!' => "did you mean !=?",
        '&' | '|' => "combine 1/0 masks with * (and) or max(a, b) (or)",
        '[' | ']' | '{' | '}' => "group with ( and )",
        '\u{2212}' => "write the minus sign as -",
        '\u{00d7}' | '\u{00b7}' => "write * to multiply",
        _ => return None,
    })
}

pub(super) fn lex(chars: &[char]) -> Result<Vec<Token>, ExprError> {
    let mut tokens: Vec<Token> = Vec::new();
    let mut i = 0;
    let text = |a: usize, b: usize| chars[a..b].iter().collect::<String>();
    while i < chars.len() {
        let ch = chars[i];
        let column = i + 1;
        let start = i;
        let kind = if ch.is_whitespace() {
            i += 1;
            continue;
        } else if ch.is_ascii_digit() || (ch == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
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
            let literal = text(start, i);
            let value = literal
                .parse::<f64>()
                .map_err(|_| ExprError::new(column, i - start, format!("malformed number {}", quoted(&literal))))?;
            Kind::Number(value)
        } else if ch.is_ascii_alphabetic() || ch == '_' {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            Kind::Name(text(start, i))
        } else if let Some(&(s, sym)) = SYMBOLS
            .iter()
            .find(|(s, _)| chars[i..].iter().take(s.len()).copied().eq(s.chars()))
        {
            i += s.len();
            Kind::Sym(sym)
        } else {
            let after_name = tokens
                .last()
                .is_some_and(|t| matches!(t.kind, Kind::Name(_)) && t.column + t.width() == column);
            let error = ExprError::new(column, 1, format!("unexpected character {ch:?}"))
                .expected("a number, a name, an operator (+ - * / ^ ** < <= > >= == !=), '(', ')' or ','");
            return Err(match stray_hint(ch, after_name) {
                Some(h) => error.hint(h),
                None => error,
            });
        };
        tokens.push(Token {
            kind,
            column,
            text: text(start, i),
        });
    }
    Ok(tokens)
}
