//! optsurf: watch gradient-based optimizers travel over loss surfaces.
//!
//! The path of data is one line: an experiment file ([`experiment`]) is stepped by the
//! [`experiment::runner`] over a [`surface`] with the [`optim`] rules, which yields
//! [`experiment::trajectory::Trajectories`]; figures ([`plot`]) and baselines ([`diff`]) read
//! those.

pub mod backend;
pub mod bench;
pub mod diff;
pub mod error;
pub mod experiment;
pub mod optim;
pub mod plot;
pub mod surface;

pub use error::{Error, Result};
