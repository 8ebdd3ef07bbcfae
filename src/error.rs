//! The one error type of optsurf, and the one shape of a mistake inside a file.
//!
//! Every message says what was wrong, where (file and field when there is one) and what was
//! expected, so a user can fix the input without reading the code. Code that reads part of a
//! file returns a [`FieldError`] (the path below the part and the message); the caller that knows
//! where the part sits prefixes the path ([`FieldError::at`], [`FieldError::index`]), and the one
//! that knows the file turns it into [`Error::Input`] ([`FieldError::in_file`]).

use std::fmt;
use std::path::Path;

/// Everything that can go wrong in optsurf.
#[derive(Debug)]
pub enum Error {
    /// Bad input: a file, the field inside it (a JSON path such as `runs[2].learning_rate`, or
    /// empty for the whole file) and what was expected there.
    Input {
        /// The file (or command-line argument) that was wrong.
        file: String,
        /// Where in the file, as a JSON path; empty for the whole file.
        field: String,
        /// What was wrong and what was expected.
        message: String,
    },
    /// Reading or writing a file failed.
    Io {
        /// The path being read or written.
        path: String,
        /// What optsurf was doing ("read", "write", "create folder", ...).
        action: &'static str,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// Drawing or encoding a figure failed (a setting that makes no figure).
    Plot(String),
    /// The machine or the build cannot do what was asked (a backend feature not built in).
    Environment(String),
}

/// The most characters of a value from a file that an error quotes.
pub(crate) const QUOTE_CHARS: usize = 80;

/// The most characters of an error's field and message shown.
const MESSAGE_CHARS: usize = 2000;

/// An error's field and message as they are shown: what lies in double quotes or backquotes (a
/// value from a file) cut after [`QUOTE_CHARS`] characters with an ellipsis, as `io::quote` does,
/// control characters escaped, and the whole cut after [`MESSAGE_CHARS`]. Whatever a file holds,
/// its error is one short line.
fn bounded(text: &str) -> String {
    let mut out = String::new();
    // The open quote: its delimiter, the characters inside so far, whether the last was `\`.
    let mut open: Option<(char, usize, bool)> = None;
    let mut shown = 0;
    for c in text.chars() {
        if shown >= MESSAGE_CHARS {
            out.push('…');
            return out;
        }
        let (inside, closes) = match open {
            Some((d, n, escaped)) if c == d && !escaped => {
                open = None;
                (n, true)
            }
            Some((d, n, escaped)) => {
                open = Some((d, n + 1, !escaped && c == '\\' && d == '"'));
                (n, false)
            }
            None => {
                if c == '"' || c == '`' {
                    open = Some((c, 0, false));
                }
                (0, false)
            }
        };
        if inside < QUOTE_CHARS || closes {
            shown += 1;
            match c.is_control() {
                true => out.extend(c.escape_debug()),
                false => out.push(c),
            }
        }
        if closes && inside > QUOTE_CHARS {
            out.push('…');
        }
    }
    if open.is_some_and(|(_, n, _)| n > QUOTE_CHARS) {
        out.push('…');
    }
    out
}

/// Result type of optsurf.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Bad input in `file` at `field`.
    pub(crate) fn input(file: impl AsRef<Path>, field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Input {
            file: file.as_ref().display().to_string(),
            field: field.into(),
            message: message.into(),
        }
    }

    /// An I/O failure on `path`.
    pub(crate) fn io(path: impl AsRef<Path>, action: &'static str, source: std::io::Error) -> Self {
        Error::Io {
            path: path.as_ref().display().to_string(),
            action,
            source,
        }
    }

    /// The process exit code this error gives: 2 for bad input (the file's fault), 3 for I/O
    /// and environment failures.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Error::Input { .. } | Error::Plot(_) => 2,
            Error::Io { .. } | Error::Environment(_) => 3,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // What a file holds is quoted short (`bounded`).
            Error::Input { file, field, message } if field.is_empty() => {
                write!(f, "{file}: {}", bounded(message))
            }
            Error::Input { file, field, message } => {
                write!(f, "{file}: {}", bounded(&format!("field `{field}`: {message}")))
            }
            Error::Io { path, action, source } => write!(f, "{path}: cannot {action}: {source}"),
            Error::Plot(message) => write!(f, "plot: {message}"),
            Error::Environment(message) => write!(f, "{message}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// A mistake inside a file: where (a JSON path below whatever was being read, empty for the
/// value itself) and what was wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    path: String,
    message: String,
}

impl FieldError {
    /// A mistake in the value being read itself.
    pub fn new(message: impl Into<String>) -> Self {
        FieldError {
            path: String::new(),
            message: message.into(),
        }
    }

    /// The same mistake, found inside the value of field `key` (`runs` then `beta_1`: the path
    /// `runs.beta_1`; prefixes compose from the inside out).
    pub fn at(mut self, key: &str) -> Self {
        self.path = match self.path.as_str() {
            "" => key.to_string(),
            p if p.starts_with('[') => format!("{key}{p}"),
            p => format!("{key}.{p}"),
        };
        self
    }

    /// The same mistake, found inside item `i` of a list (`.index(2).at("runs")` is `runs[2]`).
    pub fn index(mut self, i: usize) -> Self {
        self.path = match self.path.as_str() {
            "" => format!("[{i}]"),
            p if p.starts_with('[') => format!("[{i}]{p}"),
            p => format!("[{i}].{p}"),
        };
        self
    }

    /// The path below the value that was read (`runs[2].learning_rate`), empty for the value.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// What was wrong.
    pub(crate) fn message(&self) -> &str {
        &self.message
    }

    /// The error of this mistake in `file`.
    pub(crate) fn in_file(self, file: impl AsRef<Path>) -> Error {
        Error::input(file, self.path, self.message)
    }

    /// The mistake as a serde error, so that it can travel through a `Deserialize` impl and keep
    /// its path below the value (see [`FieldError::from_serde`]).
    pub(crate) fn to_serde<E: serde::de::Error>(&self) -> E {
        E::custom(format_args!("{MARK}{}{MARK}{}", self.path, self.message))
    }

    /// The mistake serde reports while reading a value: its path (from `serde_path_to_error`),
    /// extended by the path a [`FieldError`] carried through a `Deserialize` impl.
    pub(crate) fn from_serde(e: serde_path_to_error::Error<serde_json::Error>) -> Self {
        let outer = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return FieldError::new(format!("invalid JSON: {inner}"));
        }
        let text = inner.to_string();
        let error = match text.strip_prefix(MARK).and_then(|t| t.split_once(MARK)) {
            Some((path, message)) => FieldError {
                path: path.to_string(),
                message: strip_position(message).to_string(),
            },
            None => named_field(strip_position(&text)),
        };
        if outer == "." || outer == "?" || outer.is_empty() {
            error
        } else if !error.path.is_empty() && (outer == error.path || outer.ends_with(&format!(".{}", error.path))) {
            // serde's path already ends at the field its message names.
            FieldError { path: outer, ..error }
        } else {
            prefixed(error, &outer)
        }
    }
}

/// Marks a [`FieldError`] carried inside a serde message.
const MARK: char = '\u{1f}';

/// serde_json appends ` at line L column C` to the messages of text it parses.
fn strip_position(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(i) if message[i..].contains(" column ") => &message[..i],
        _ => message,
    }
}

/// serde's own messages name an unknown or missing field in the text (`unknown field `exp`,
/// expected one of `expr`, `name``); the field goes into the path, the list into the message.
fn named_field(message: &str) -> FieldError {
    let quoted: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    if let (Some(rest), Some(field)) = (message.strip_prefix("unknown field"), quoted.first()) {
        let known = &quoted[1..];
        let message = if known.is_empty() || rest.contains("there are no fields") {
            "unknown field; this object takes none".to_string()
        } else {
            format!("unknown field; expected one of: {}", known.join(", "))
        };
        return FieldError::new(message).at(field);
    }
    if let (true, Some(field)) = (message.starts_with("missing field"), quoted.first()) {
        return FieldError::new("missing").at(field);
    }
    FieldError::new(message)
}

/// `error` with the JSON path `outer` (`runs[2].fast`) in front.
fn prefixed(error: FieldError, outer: &str) -> FieldError {
    let path = match error.path.as_str() {
        "" => outer.to_string(),
        p if p.starts_with('[') => format!("{outer}{p}"),
        p => format!("{outer}.{p}"),
    };
    FieldError { path, ..error }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "field `{}`: {}", self.path, self.message)
        }
    }
}

/// Reading part of a file.
pub type Parsed<T> = std::result::Result<T, FieldError>;

/// [`FieldError::at`] and [`FieldError::index`] on a result: `parse_point(v).at("start")?`.
pub(crate) trait FieldContext<T> {
    /// The error, if any, found inside field `key`.
    fn at(self, key: &str) -> Parsed<T>;
    /// The error, if any, found inside item `i`.
    fn index(self, i: usize) -> Parsed<T>;
    /// The error, if any, as an [`Error::Input`] of `file`.
    fn in_file(self, file: impl AsRef<Path>) -> Result<T>;
}

impl<T> FieldContext<T> for Parsed<T> {
    fn at(self, key: &str) -> Parsed<T> {
        self.map_err(|e| e.at(key))
    }
    fn index(self, i: usize) -> Parsed<T> {
        self.map_err(|e| e.index(i))
    }
    fn in_file(self, file: impl AsRef<Path>) -> Result<T> {
        self.map_err(|e| e.in_file(file))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_bounded_whatever_they_quote() {
        let long = "Z".repeat(100_000);
        let shown = bounded(&format!("unknown surface \"{long}\"; expected one of: `f0`, `{long}`"));
        let cut = "Z".repeat(QUOTE_CHARS);
        assert_eq!(
            shown,
            format!("unknown surface \"{cut}\"…; expected one of: `f0`, `{cut}`…")
        );
        assert_eq!(bounded("got \"a\\\"b\" and \"c\""), "got \"a\\\"b\" and \"c\"");
        assert_eq!(bounded(&format!("open \"{long}")), format!("open \"{cut}…"));
        assert_eq!(bounded("a\nb\u{1b}[2J"), "a\\nb\\u{1b}[2J");
        let words = "word ".repeat(10_000);
        assert_eq!(bounded(&words).chars().count(), MESSAGE_CHARS + 1);
        // Quotes as `io::quote` makes them pass unchanged.
        let quoted = format!("{:?}…", "Z".repeat(QUOTE_CHARS));
        assert_eq!(bounded(&quoted), quoted);
    }

    #[test]
    fn paths_compose_from_the_inside_out() {
        let e = FieldError::new("expected a positive number")
            .at("decay_steps")
            .at("learning_rate");
        assert_eq!(e.path(), "learning_rate.decay_steps");
        let e = e.index(2).at("runs");
        assert_eq!(e.path(), "runs[2].learning_rate.decay_steps");
        assert_eq!(FieldError::new("m").index(3).at("starts").path(), "starts[3]");
        let whole = FieldError::new("bad").in_file("e.json");
        assert_eq!(whole.to_string(), "e.json: bad");
    }

    #[test]
    fn a_field_error_survives_a_trip_through_serde() {
        #[derive(Debug)]
        struct Inner;
        impl<'de> serde::Deserialize<'de> for Inner {
            fn deserialize<D: serde::Deserializer<'de>>(_: D) -> std::result::Result<Self, D::Error> {
                Err(FieldError::new("expected 1").at("beta_1").to_serde())
            }
        }
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Outer {
            runs: Vec<Inner>,
        }
        let text = r#"{"runs": [{"beta_1": 2}]}"#;
        let e =
            serde_path_to_error::deserialize::<_, Outer>(&mut serde_json::Deserializer::from_str(text)).unwrap_err();
        let e = FieldError::from_serde(e);
        assert_eq!(e.path(), "runs[0].beta_1");
        assert_eq!(e.message(), "expected 1");
    }
}
