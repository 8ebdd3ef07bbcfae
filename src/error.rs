//! The one error type of optsurf.
//!
//! Every message says what was wrong, where (file and field when there is one) and what was
//! expected, so a user can fix the input without reading the code.

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

/// Result type of optsurf.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Bad input in `file` at `field`.
    pub fn input(file: impl AsRef<Path>, field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Input {
            file: file.as_ref().display().to_string(),
            field: field.into(),
            message: message.into(),
        }
    }

    /// An I/O failure on `path`.
    pub fn io(path: impl AsRef<Path>, action: &'static str, source: std::io::Error) -> Self {
        Error::Io {
            path: path.as_ref().display().to_string(),
            action,
            source,
        }
    }

    /// The process exit code this error gives: 2 for bad input (the file's fault), 3 for I/O
    /// and environment failures.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Input { .. } | Error::Plot(_) => 2,
            Error::Io { .. } | Error::Environment(_) => 3,
        }
    }

    /// The same error, with `prefix.` prepended to its field (for nested input such as a run
    /// inside an experiment).
    pub fn within(self, prefix: &str) -> Self {
        match self {
            Error::Input { file, field, message } => Error::Input {
                file,
                field: if field.is_empty() {
                    prefix.to_string()
                } else {
                    format!("{prefix}.{field}")
                },
                message,
            },
            other => other,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Input { file, field, message } if field.is_empty() => write!(f, "{file}: {message}"),
            Error::Input { file, field, message } => write!(f, "{file}: field `{field}`: {message}"),
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
