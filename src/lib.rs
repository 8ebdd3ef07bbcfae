//! optsurf: watch gradient-based optimizers travel over loss surfaces.
//!
//! The path of data is one line: an experiment file is read into types (`experiment::file`),
//! checked against a [`Registry`] of [`surface`]s and [`optim`]izers into an
//! [`experiment::Experiment`] (or a study), stepped by the [`experiment::runner`]; its
//! [`results`] (trajectories, a study's summary) are written by the [`pipeline`] and read by the
//! figures ([`plot`]), the baselines' diff and the HTML [`report`]. [`cli::main`] is the whole
//! command line, for the built-in registry or a user's own.
//!
//! A surface of your own needs no other dependency than `optsurf`: burn comes re-exported as
//! [`burn`] (the exact version optsurf is built with).
//!
//! ```
//! use optsurf::burn::tensor::Tensor;
//! use optsurf::{Registry, surface::Surface};
//!
//! fn bowl(x: Tensor<1>, y: Tensor<1>, _r: Tensor<1>, _c: Tensor<1>) -> Tensor<1> {
//!     x.square() + y.square()
//! }
//!
//! let surface = Surface::new("bowl", "x^2 + y^2", bowl).noiseless().with_minimum([0.0, 0.0], 0.0);
//! let registry = Registry::builtin().with_surface(surface);
//! assert!(registry.surface("bowl").is_some());
//! ```
#![warn(missing_docs)]

pub mod backend;
pub(crate) mod capture;
pub mod cli;
pub(crate) mod diff;
pub(crate) mod error;
pub mod experiment;
pub(crate) mod io;
pub(crate) mod landscape;
pub mod optim;
pub mod params;
pub mod pipeline;
pub mod plot;
pub(crate) mod random;
pub(crate) mod registry;
pub mod report;
pub mod results;
pub mod surface;
/// Temporary folders for the crate's own tests (see the file).
#[cfg(test)]
#[path = "../tests/common/temp_dir.rs"]
pub(crate) mod tempfile;
pub(crate) mod tensor;

/// The burn optsurf is built on (`=0.22.1`, CPU `ndarray` backend with autodiff): a surface of
/// your own is written with `optsurf::burn::tensor::Tensor`, so `optsurf` is your crate's only
/// dependency and the tensor types are the very ones optsurf's surfaces take.
pub use burn;
pub use error::{Error, FieldError, Parsed, Result};
pub use registry::Registry;
