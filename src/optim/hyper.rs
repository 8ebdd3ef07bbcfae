//! Hyperparameters declared once: [`hyperparameters!`](crate::hyperparameters) writes a config
//! struct (serde, defaults) and its table of names, ranges and doc strings, from which parsing,
//! defaults, validation and `optsurf list` follow.
//!
//! A field is `/// doc` `name: Type = default[, range][ => shared];`. Numbers may differ from
//! row to row of a batch (a learning-rate sweep is one computation); a field marked `=> shared`
//! (flags, whole numbers such as periods, wrapped optimizers) must be the same in every row of a
//! batch, and runs that differ in it form batches of their own.
//!
//! ```
//! use optsurf::optim::{LearningRate, Range};
//! optsurf::hyperparameters! {
//!     /// A made-up rule's config.
//!     pub struct MyConfig {
//!         /// `eta`.
//!         learning_rate: LearningRate = 0.1, Range::POSITIVE;
//!         /// `beta`, a decay rate.
//!         beta: f64 = 0.9, Range::UNIT;
//!         /// A flag (no range), the same for a whole batch.
//!         fancy: bool = false => shared;
//!     }
//! }
//! use optsurf::optim::Hyperparameters;
//! assert_eq!(MyConfig::default().beta, 0.9);
//! assert_eq!(MyConfig::PARAMS[1].name, "beta");
//! let bad = MyConfig { beta: 1.0, ..Default::default() };
//! assert_eq!(bad.check_ranges().unwrap_err().path(), "beta");
//! assert_eq!(MyConfig { fancy: true, ..Default::default() }.batch_key(), "fancy=true");
//! ```

use super::schedule::LearningRate;
use crate::error::{FieldError, Parsed};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;

/// One end of a [`Range`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Bound {
    /// No limit on this side (values must still be finite).
    Open,
    /// The value itself is allowed.
    Inclusive(f64),
    /// The value itself is not.
    Exclusive(f64),
}

/// Where a numeric hyperparameter's values may lie (always finite).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Range {
    /// The lower end.
    pub lo: Bound,
    /// The upper end.
    pub hi: Bound,
}

impl Range {
    /// Any finite number.
    pub const ANY: Range = Range::new(Bound::Open, Bound::Open);
    /// `(0, inf)`: learning rates, trust coefficients.
    pub const POSITIVE: Range = Range::new(Bound::Exclusive(0.0), Bound::Open);
    /// `[0, inf)`: epsilons, strengths, accumulators.
    pub const NON_NEGATIVE: Range = Range::new(Bound::Inclusive(0.0), Bound::Open);
    /// `(-inf, 0]`.
    pub(crate) const NON_POSITIVE: Range = Range::new(Bound::Open, Bound::Inclusive(0.0));
    /// `[0, 1)`: decay rates of moving averages.
    pub const UNIT: Range = Range::new(Bound::Inclusive(0.0), Bound::Exclusive(1.0));
    /// `[0, 1]`: momenta.
    pub(crate) const UNIT_CLOSED: Range = Range::new(Bound::Inclusive(0.0), Bound::Inclusive(1.0));
    /// `(0, 1]`.
    pub(crate) const UNIT_OPEN_BELOW: Range = Range::new(Bound::Exclusive(0.0), Bound::Inclusive(1.0));
    /// `(0, 1)`: a decay something is divided by.
    pub(crate) const UNIT_OPEN: Range = Range::new(Bound::Exclusive(0.0), Bound::Exclusive(1.0));
    /// `[1, inf)`: periods and step counts.
    pub const AT_LEAST_ONE: Range = Range::new(Bound::Inclusive(1.0), Bound::Open);

    /// The range between `lo` and `hi`.
    pub const fn new(lo: Bound, hi: Bound) -> Self {
        Range { lo, hi }
    }

    /// True when `v` is finite and inside.
    pub(crate) fn contains(&self, v: f64) -> bool {
        let above = match self.lo {
            Bound::Open => true,
            Bound::Inclusive(l) => v >= l,
            Bound::Exclusive(l) => v > l,
        };
        let below = match self.hi {
            Bound::Open => true,
            Bound::Inclusive(h) => v <= h,
            Bound::Exclusive(h) => v < h,
        };
        v.is_finite() && above && below
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.lo, self.hi) {
            (Bound::Open, Bound::Open) => write!(f, "a finite number"),
            (Bound::Exclusive(0.0), Bound::Open) => write!(f, "a positive finite number"),
            (Bound::Inclusive(l), Bound::Open) => write!(f, "a finite number >= {l}"),
            (Bound::Exclusive(l), Bound::Open) => write!(f, "a finite number > {l}"),
            (Bound::Open, Bound::Inclusive(h)) => write!(f, "a finite number <= {h}"),
            (Bound::Open, Bound::Exclusive(h)) => write!(f, "a finite number < {h}"),
            (lo, hi) => {
                let (open, l) = match lo {
                    Bound::Inclusive(l) => ('[', l),
                    Bound::Exclusive(l) => ('(', l),
                    Bound::Open => unreachable!("handled above"),
                };
                let (h, close) = match hi {
                    Bound::Inclusive(h) => (h, ']'),
                    Bound::Exclusive(h) => (h, ')'),
                    Bound::Open => unreachable!("handled above"),
                };
                write!(f, "a number in {open}{l}, {h}{close}")
            }
        }
    }
}

/// One hyperparameter as declared: its name, range (none for flags and nested values) and doc.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Param {
    /// Name in experiment files.
    pub name: &'static str,
    /// Allowed values, if numeric.
    pub range: Option<Range>,
    /// Its doc comment.
    pub doc: &'static str,
}

/// A config declared with [`hyperparameters!`](crate::hyperparameters).
pub trait Hyperparameters: Serialize + DeserializeOwned + Default + Clone + Send + Sync + 'static {
    /// Every hyperparameter, in declaration order.
    const PARAMS: &'static [Param];
    /// Checks every value against its declared range; the error names the field.
    fn check_ranges(&self) -> Parsed<()>;
    /// The values of the fields declared `=> shared`, which rows of one batch must agree on
    /// (`"nesterov=true,sync_period=5"`).
    fn batch_key(&self) -> String;
}

/// A value that can be checked against a declared range.
pub trait Checked {
    /// An error at `field` when the value is outside `range`.
    fn check(&self, field: &str, range: Option<Range>) -> Parsed<()>;
}

/// A value that rows of one batch share (declared `=> shared`): its part of the batch key.
pub trait Shared {
    /// The value as a batch key shows it.
    fn key(&self) -> String;
}

impl Shared for bool {
    fn key(&self) -> String {
        self.to_string()
    }
}

impl Shared for u64 {
    fn key(&self) -> String {
        self.to_string()
    }
}

impl Shared for Option<u64> {
    fn key(&self) -> String {
        self.map_or_else(|| "none".into(), |v| v.to_string())
    }
}

fn outside(field: &str, range: Range, got: impl fmt::Display) -> FieldError {
    FieldError::new(format!("expected {range}, got {got}")).at(field)
}

impl Checked for f64 {
    fn check(&self, field: &str, range: Option<Range>) -> Parsed<()> {
        match range {
            Some(r) if !r.contains(*self) => Err(outside(field, r, self)),
            _ => Ok(()),
        }
    }
}

impl Checked for Option<f64> {
    fn check(&self, field: &str, range: Option<Range>) -> Parsed<()> {
        self.map_or(Ok(()), |v| v.check(field, range))
    }
}

impl Checked for bool {
    fn check(&self, _field: &str, _range: Option<Range>) -> Parsed<()> {
        Ok(())
    }
}

impl Checked for u64 {
    fn check(&self, field: &str, range: Option<Range>) -> Parsed<()> {
        (*self as f64).check(field, range)
    }
}

impl Checked for Option<u64> {
    fn check(&self, field: &str, range: Option<Range>) -> Parsed<()> {
        self.map_or(Ok(()), |v| v.check(field, range))
    }
}

/// A pair such as optax's `betas`: each checked against the range (`betas[1]`).
impl Checked for [f64; 2] {
    fn check(&self, field: &str, range: Option<Range>) -> Parsed<()> {
        for (i, v) in self.iter().enumerate() {
            v.check("", range).map_err(|e| e.index(i).at(field))?;
        }
        Ok(())
    }
}

impl Checked for LearningRate {
    fn check(&self, field: &str, range: Option<Range>) -> Parsed<()> {
        match self {
            LearningRate::Constant(v) => v.check(field, range),
            LearningRate::Schedule(s) => s.validate().map_err(|e| e.at(field)),
        }
    }
}

/// Declares an optimizer's config once: the struct (serde with defaults, unknown fields
/// refused) and its [`Hyperparameters`] table. Each field is
/// `/// doc` `name: Type = default[, range][ => shared];`; fields marked `=> shared` must agree in
/// every row of a batch.
#[macro_export]
macro_rules! hyperparameters {
    (
        $(#[$attr:meta])*
        $vis:vis struct $name:ident {
            $(
                $(#[doc = $doc:literal])*
                $field:ident : $ty:ty = $default:expr $(, $range:expr)? $(=> $shared:ident)?;
            )*
        }
    ) => {
        $(#[$attr])*
        #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(default, deny_unknown_fields)]
        $vis struct $name {
            $( $(#[doc = $doc])* pub $field: $ty, )*
        }

        impl Default for $name {
            fn default() -> Self {
                $name { $( $field: ($default).into(), )* }
            }
        }

        impl $crate::optim::Hyperparameters for $name {
            const PARAMS: &'static [$crate::optim::Param] = &[
                $( $crate::optim::Param {
                    name: stringify!($field),
                    range: $crate::__optsurf_range!($($range)?),
                    doc: concat!($($doc),*),
                }, )*
            ];

            fn check_ranges(&self) -> $crate::Parsed<()> {
                $(
                    $crate::optim::Checked::check(
                        &self.$field,
                        stringify!($field),
                        $crate::__optsurf_range!($($range)?),
                    )?;
                )*
                Ok(())
            }

            fn batch_key(&self) -> String {
                #[allow(unused_mut)]
                let mut parts: Vec<String> = Vec::new();
                $( $(
                    $crate::__optsurf_shared!($shared);
                    parts.push(format!(
                        "{}={}",
                        stringify!($field),
                        $crate::optim::Shared::key(&self.$field)
                    ));
                )? )*
                parts.join(",")
            }
        }
    };
}

/// Accepts only the word `shared` after a field's `=>`.
#[doc(hidden)]
#[macro_export]
macro_rules! __optsurf_shared {
    (shared) => {};
}

/// `Some(range)`, or `None` when a hyperparameter declares no range.
#[doc(hidden)]
#[macro_export]
macro_rules! __optsurf_range {
    () => {
        None
    };
    ($range:expr) => {
        Some($range)
    };
}
