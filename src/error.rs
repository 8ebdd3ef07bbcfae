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
    /// The mistakes of several files, found together: `run` and `diff` read every experiment
    /// file first and run none while one is wrong.
    Several(Vec<Error>),
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
            Error::Several(errors) => errors.iter().map(Error::exit_code).max().unwrap_or(2),
        }
    }

    /// One error for all of `errors`: none, the one, or [`Error::Several`].
    pub(crate) fn all(mut errors: Vec<Error>) -> std::result::Result<(), Error> {
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.remove(0)),
            _ => Err(Error::Several(errors)),
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
            Error::Several(errors) => {
                write!(
                    f,
                    "{} experiment files have mistakes; none was run (fix each and run again):",
                    errors.len()
                )?;
                for e in errors {
                    // One line each.
                    let text = e.to_string();
                    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
                    write!(f, "\n  {}", lines.join(" "))?;
                }
                Ok(())
            }
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

/// The known name `wrong` was most likely meant to be, for a "did you mean" hint: the same name
/// but for case, `_` and `-` (`Adam`, `beta1`), a common alias from other libraries (`lr`,
/// `eps`, `b1`), or the nearest within one edit for short names and two for longer ones (a swap
/// of neighbours is one edit: `adma`).
pub(crate) fn closest<'a>(wrong: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    const ALIASES: [(&str, &str); 6] = [
        ("lr", "learningrate"),
        ("eps", "epsilon"),
        ("b1", "beta1"),
        ("b2", "beta2"),
        ("wd", "weightdecay"),
        ("rate", "learningrate"),
    ];
    let norm = |s: &str| -> String {
        s.chars()
            .filter(|c| *c != '_' && *c != '-')
            .flat_map(char::to_lowercase)
            .collect()
    };
    let w = norm(wrong);
    let w = ALIASES
        .iter()
        .find(|(a, _)| *a == w)
        .map_or(w, |(_, to)| to.to_string());
    let reach = if w.chars().count() <= 4 { 1 } else { 2 };
    known
        .into_iter()
        .filter(|k| *k != wrong)
        .map(|k| (distance(&w, &norm(k)), k))
        .filter(|(d, _)| *d <= reach)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Edit distance with adjacent transpositions (optimal string alignment): the command line's
/// and the expression language's "did you mean".
pub(crate) fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    rows[0] = (0..=b.len()).collect();
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = d;
        }
    }
    rows[a.len()][b.len()]
}

/// `unknown {what} "name"; did you mean "other"? expected one of: ...` (the hint when a known
/// name is close).
pub(crate) fn unknown_name(what: &str, name: &str, known: &[&str]) -> FieldError {
    let hint = closest(name, known.iter().copied()).map_or_else(String::new, |k| format!(" did you mean {k:?}?"));
    FieldError::new(format!(
        "unknown {what} {name:?};{hint} expected one of: {}",
        known.join(", ")
    ))
}

/// ` (did you mean `name`?)` when a known field is close to the unknown `field`, else nothing.
pub(crate) fn field_hint<'a>(field: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    closest(field, known).map_or_else(String::new, |k| format!(" (did you mean `{k}`?)"))
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
            format!(
                "unknown field{}; expected one of: {}",
                field_hint(field, known.iter().copied()),
                known.join(", ")
            )
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
    fn close_names_are_suggested_and_far_ones_not() {
        let optimizers = ["sgd", "adam", "adamax", "adagrad", "nadam", "rmsprop"];
        assert_eq!(closest("adma", optimizers), Some("adam"), "a swap is one edit");
        assert_eq!(closest("Adam", optimizers), Some("adam"));
        assert_eq!(closest("ADAGRAD", optimizers), Some("adagrad"));
        assert_eq!(closest("rmsprp", optimizers), Some("rmsprop"));
        assert_eq!(closest("lbfgs", optimizers), None);
        assert_eq!(closest("sdg", optimizers), Some("sgd"));
        let fields = ["learning_rate", "beta_1", "beta_2", "epsilon", "amsgrad"];
        assert_eq!(closest("beta1", fields), Some("beta_1"));
        assert_eq!(closest("lr", fields), Some("learning_rate"));
        assert_eq!(closest("eps", fields), Some("epsilon"));
        assert_eq!(closest("learning_rat", fields), Some("learning_rate"));
        assert_eq!(closest("momentum", fields), None);
        assert_eq!(
            unknown_name("optimizer", "adma", &optimizers).message(),
            "unknown optimizer \"adma\"; did you mean \"adam\"? expected one of: sgd, adam, adamax, adagrad, nadam, rmsprop"
        );
        assert_eq!(
            unknown_name("optimizer", "lbfgs", &["sgd"]).message(),
            "unknown optimizer \"lbfgs\"; expected one of: sgd"
        );
        let e = named_field("unknown field `stpes`, expected one of `name`, `steps`, `start`");
        assert_eq!(e.path(), "stpes");
        assert_eq!(
            e.message(),
            "unknown field (did you mean `steps`?); expected one of: name, steps, start"
        );
    }

    #[test]
    fn several_files_mistakes_are_one_line_each() {
        // A message's own line break is escaped (`\n`), so each file stays one line.
        let e = Error::all(vec![
            Error::input("a.json", "runs[0].optimizer", "unknown optimizer \"adma\""),
            Error::input("b.json", "", "invalid JSON:\nline 2"),
        ])
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "2 experiment files have mistakes; none was run (fix each and run again):\n  \
             a.json: field `runs[0].optimizer`: unknown optimizer \"adma\"\n  b.json: invalid JSON:\\nline 2"
        );
        assert_eq!(e.exit_code(), 2);
        assert!(Error::all(Vec::new()).is_ok());
        let one = Error::all(vec![Error::input("a.json", "", "bad")]).unwrap_err();
        assert_eq!(one.to_string(), "a.json: bad");
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
