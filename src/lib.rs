//! optsurf: watch gradient-based optimizers travel over loss surfaces.
//!
//! The path of data is one line: an experiment file is read into types (`experiment::file`),
//! checked against a [`Registry`] of [`surface`]s and [`optim`]izers into an
//! [`experiment::Experiment`] (or a study), stepped by the [`experiment::runner`]; its
//! [`results`] (trajectories, a study's summary) are written by the [`pipeline`] and read by the
//! figures ([`plot`]), the baselines' diff and the HTML [`report`]. [`cli::main`] is the whole
//! command line, for the built-in registry or a user's own.
#![warn(missing_docs)]

pub mod backend;
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
pub(crate) mod tensor;

pub use error::{Error, FieldError, Parsed, Result};
pub use registry::Registry;
