//! Fused stepping: a tile's whole run recorded once, then replayed block by block.
//!
//! Eager stepping runs each tensor operation over every row of a tile before the next one starts,
//! so each of a step's ~100 operations streams its operands through memory. Here the same tensor
//! code (the surface, its gradient, the optimizer) runs once on burn's non-executing capture
//! device, which records every operation with its shapes and constants; [`Program`] turns that
//! record into a list of element-wise instructions, and [`Program::run`] executes all of them for
//! a block of 4,096 rows (every step, start to end) before it moves to the next block,
//! so every intermediate stays in the core's cache.
//!
//! Outcomes are bit for bit those of eager stepping on flex: each instruction is the f32
//! arithmetic flex performs for that operation, in the same order; the gradient, which burn's
//! autodiff computes eagerly and the capture device cannot record, is rebuilt as the same
//! backward operations burn-autodiff runs, visited in its order (see `program.rs`). Anything the
//! program does not know (reductions over rows, matrix products, f64 tensors, data read back
//! mid-step, an integer past what f32 holds exactly) makes [`Program::record`] or
//! [`Program::run`] return `None`, and the caller steps those rows eagerly.

mod exec;
mod program;

pub(crate) use program::Program;

/// How a study's rows step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stepping {
    /// Every tensor operation over the whole tile, in turn.
    Eager,
    /// Recorded and replayed block by block where the rows can be (on flex, a surface that is
    /// not a model, operations the program knows); eagerly otherwise. The same outcomes.
    Fused,
}
