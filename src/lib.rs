//! optsurf: watch gradient-based optimizers travel over loss surfaces.
//!
//! The path of data is one line: an experiment file ([`experiment`]) names a [`surface`] and
//! [`optim`] rules from a [`Registry`]; the [`experiment::runner`] steps it, which yields
//! [`experiment::trajectory::Trajectories`]; figures ([`plot`]), baselines ([`diff`]) and the HTML
//! [`report`] read those. [`cli::main`] is the whole command line, for the built-in registry or a user's own.

pub mod backend;
pub mod cli;
pub mod diff;
pub mod error;
pub mod experiment;
pub mod io;
pub mod optim;
pub mod pipeline;
pub mod plot;
pub mod random;
pub mod registry;
pub mod report;
pub mod results;
pub mod surface;
pub mod tensor;

pub use error::{Error, Result};
pub use registry::Registry;
