//! Errors in expressions: one line with the column, a short excerpt marking it, and a hint.

use crate::error::distance;
use std::fmt;

/// A parse or compile error: what is wrong and at which (1-based) column. It displays as one
/// line, with at most ~40 characters of the expression around the column:
/// `unexpected ')' at column 8; expected ...: "(x + y))^2" -> "(x + y)) <- here"`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ExprError {
    /// 1-based character column of the offending token (one past the end for a missing one).
    pub column: usize,
    /// What was wrong.
    pub message: String,
    /// What would have been right there, when that is known.
    pub expected: Option<String>,
    /// A likely fix (`did you mean atan2?`), when one is known.
    pub hint: Option<String>,
    /// The expression around the column, quoted, then up to the offending token with a marker.
    pub excerpt: String,
    /// How many characters the offending token spans.
    width: usize,
}

/// Characters of context shown up to the end of the offending token, and after it.
const BEFORE: usize = 30;
const AFTER: usize = 10;

impl ExprError {
    pub(super) fn new(column: usize, width: usize, message: impl Into<String>) -> Self {
        ExprError {
            column,
            message: message.into(),
            expected: None,
            hint: None,
            excerpt: String::new(),
            width,
        }
    }

    pub(super) fn expected(mut self, expected: impl Into<String>) -> Self {
        self.expected = Some(expected.into());
        self
    }

    pub(super) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Quotes the part of `text` around the column.
    pub(super) fn in_text(mut self, text: &[char]) -> Self {
        let at = (self.column - 1).min(text.len());
        let end = (at + self.width).min(text.len());
        let start = end.saturating_sub(BEFORE);
        let stop = (end + AFTER).min(text.len());
        let lead = if start > 0 { "..." } else { "" };
        let tail = if stop < text.len() { "..." } else { "" };
        let part = |a: usize, b: usize| text[a..b].iter().collect::<String>();
        // Debug quoting escapes newlines and control characters: the error stays one line.
        self.excerpt = format!(
            "{:?} -> {:?}",
            format!("{lead}{}{tail}", part(start, stop)),
            format!("{lead}{} <- here", part(start, end))
        );
        self
    }
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at column {}", self.message, self.column)?;
        if let Some(e) = &self.expected {
            write!(f, "; expected {e}")?;
        }
        if !self.excerpt.is_empty() {
            write!(f, ": {}", self.excerpt)?;
        }
        if let Some(h) = &self.hint {
            write!(f, "; {h}")?;
        }
        Ok(())
    }
}

/// `text` quoted, cut to its first 30 characters when longer (an error line stays short).
pub(super) fn quoted(text: &str) -> String {
    const MAX: usize = 30;
    if text.chars().count() <= MAX {
        format!("{text:?}")
    } else {
        format!("{:?}...", text.chars().take(MAX).collect::<String>())
    }
}

/// The hint for an unknown `name`: the closest of `known` by edit distance ("did you mean
/// atan2?"), or else the known names, cut to about 120 characters.
pub(super) fn unknown_name_hint<'a>(name: &str, known: impl Iterator<Item = &'a str> + Clone) -> String {
    const ALIASES: &[(&str, &str)] = &[
        ("maximum", "max"),
        ("minimum", "min"),
        ("power", "pow"),
        ("absolute", "abs"),
        ("arctan2", "atan2"),
        ("logistic", "sigmoid"),
        ("expit", "sigmoid"),
    ];
    if let Some((_, to)) = ALIASES.iter().find(|(from, _)| *from == name) {
        return format!("did you mean {to}?");
    }
    let lower = name.to_lowercase();
    let limit = match name.chars().count() {
        0..=1 => 0,
        2..=4 => 1,
        5..=8 => 2,
        _ => 3,
    };
    // The nearest, and of those the one closest in length (atan3 is atan2 rather than atan).
    let closest = known
        .clone()
        .filter(|k| k.len().abs_diff(name.len()) <= limit)
        .map(|k| (distance(&lower, &k.to_lowercase()), k.len().abs_diff(name.len()), k))
        .filter(|&(d, ..)| d <= limit)
        .min_by_key(|&(d, len, _)| (d, len));
    if let Some((.., k)) = closest {
        return format!("did you mean {k}?");
    }
    let mut list = String::from("known names: ");
    let total = known.clone().count();
    let mut shown = 0;
    for k in known {
        if list.len() + k.len() > 110 {
            break;
        }
        if shown > 0 {
            list.push_str(", ");
        }
        list.push_str(k);
        shown += 1;
    }
    if shown < total {
        list.push_str(&format!(" and {} more", total - shown));
    }
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_transpositions_once() {
        assert_eq!(distance("atan2", "atan2"), 0);
        assert_eq!(distance("atna2", "atan2"), 1);
        assert_eq!(distance("arctan2", "atan2"), 2);
        assert_eq!(distance("", "sin"), 3);
    }

    #[test]
    fn the_excerpt_is_bounded_and_one_line() {
        let text: Vec<char> = format!("{}\n)", "x + ".repeat(100)).chars().collect();
        let e = ExprError::new(text.len(), 1, "unexpected ')'").in_text(&text);
        assert!(e.excerpt.len() < 100, "{}", e.excerpt);
        assert!(e.excerpt.ends_with("\\n) <- here\""), "{}", e.excerpt);
        assert_eq!(e.to_string().lines().count(), 1);
    }
}
