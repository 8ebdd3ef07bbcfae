//! Fused stepping: a tile's whole run recorded once, then replayed block by block.
//!
//! Eager stepping runs each tensor operation over every row of a tile before the next one starts,
//! so each of a step's ~100 operations streams its operands through memory. Here the same tensor
//! code (the surface, its gradient, the optimizer) runs once on burn's non-executing capture
//! device, which records every operation with its shapes and constants; [`Program`] turns that
//! record into a list of element-wise instructions, and [`Program::run`] executes all of them for
//! a block of 1,024 rows (every step, start to end) before it moves to the next block: compiled
//! to machine code where it can be (`jit.rs`: the steps as one loop, found by `steps.rs`, every
//! value in vector registers), else interpreted (`exec.rs`: every intermediate in the core's
//! cache); on a GPU backend, as a compute shader (`wgsl.rs`, run by `gpu.rs`). Studies
//! replay their tiles this way (their losses observed block by block), and so do experiments of
//! 64 or more runs per optimizer group (each step's points, gradients and losses handed to the
//! records as eager stepping keeps them).
//!
//! Outcomes on the CPU are bit for bit those of eager stepping on flex: each instruction is the f32
//! arithmetic flex performs for that operation, in the same order; the gradient, which burn's
//! autodiff computes eagerly and the capture device cannot record, is rebuilt as the same
//! backward operations burn-autodiff runs, visited in its order (see `program.rs`). Anything the
//! program does not know (reductions over rows, matrix products, f64 tensors, data read back
//! mid-step, an integer past what f32 holds exactly) makes [`Program::record`] or
//! [`Program::run`] return `None`, and the caller steps those rows eagerly.

mod exec;
#[cfg(test)]
mod fixtures;
#[cfg(any(feature = "wgpu", feature = "cuda"))]
mod gpu;
mod jit;
mod program;
mod steps;
#[cfg(any(test, feature = "wgpu", feature = "cuda"))]
mod wgsl;

/// Programs this thread has run compiled (for the tests).
#[cfg(test)]
pub(crate) fn compiled_runs() -> usize {
    exec::COMPILED.with(|c| c.get())
}
/// Programs this thread has run on the GPU (the tests that read it run on `--backend wgpu`).
#[cfg(all(test, feature = "wgpu"))]
pub(crate) fn gpu_runs() -> usize {
    gpu::RUNS.with(|r| r.get())
}
pub(crate) use program::Program;

/// The GPU the fused path runs on for `device`, by name: `None` on the CPU backends, or where
/// wgpu finds no GPU.
pub(crate) fn adapter(device: &burn::tensor::Device) -> Option<String> {
    #[cfg(any(feature = "wgpu", feature = "cuda"))]
    if !crate::backend::is_cpu(device) {
        return gpu::adapter();
    }
    let _ = device;
    None
}

/// What runs a replayed program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Engine {
    /// Instruction by instruction over blocks of rows (`exec.rs`).
    Interpreter,
    /// Machine code (`jit.rs`) where the program compiles, else the interpreter.
    Compiled,
    /// A compute shader on the GPU (`gpu.rs`) where there is one and the program has a shader,
    /// else compiled on the CPU.
    Gpu,
}

/// How a batch of rows (a study's tile, an experiment's runs) steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stepping {
    /// Every tensor operation over the whole tile, in turn.
    Eager,
    /// Recorded and replayed block by block where the rows can be (on flex or a GPU, a surface
    /// that is not a model, operations the program knows) and where it pays (see [`Stepping::replays`]);
    /// eagerly otherwise. The same outcomes.
    Fused,
    /// Replayed wherever the rows can be, however few: how the tests compare the two paths on
    /// small batches.
    #[cfg(test)]
    Everywhere,
}

/// Fewer rows of an optimizer group step eagerly under [`Stepping::Fused`]: recording costs
/// about 1-2 us per operation whatever the rows, about what eager stepping spends on an
/// operation over a thousand rows (Adam over f0, 200 steps, one thread: fused / eager = 1.1x at
/// 1,024 rows, 1.3x at 2,025, 1.5x at 4,096, 1.9x at 8,100).
const MIN_ROWS: usize = 2048;

/// More steps step eagerly: the record holds every step's operations (about 90 KB a step of
/// Adam, recorded on every core at once), so a long run would hold gigabytes where eager
/// stepping holds only its state (20,000 steps of 256 rows replayed: 26 s and 1.8 GB; eagerly:
/// 1.1 s and 14 MB; 2,000 steps of 16,384 rows replayed: 0.66 s and 187 MB).
const MAX_STEPS: usize = 1000;

/// Fewer rows are interpreted under [`Stepping::Fused`]: compiling costs ~2-5 ms a program,
/// about what compiled code saves over the interpreter on some 8,000 rows (`bench wide`, groups
/// of 3,333 rows over f4: 0.144 s stepping compiled against 0.110 s interpreted).
const COMPILE_ROWS: usize = 8192;

impl Stepping {
    /// Whether rows over `surface` on `device` may be replayed at all: replayed outcomes are
    /// flex's, bit for bit, and a surface over data reads minibatches mid-step.
    /// On a GPU (the `wgpu`/`cuda` builds), the program runs as a shader: the GPU's arithmetic
    /// then, as eager stepping there is.
    pub(crate) fn may_replay(self, surface: &crate::surface::Surface, device: &burn::tensor::Device) -> bool {
        let gpu = cfg!(any(feature = "wgpu", feature = "cuda")) && !crate::backend::is_cpu(device);
        self != Stepping::Eager
            && (*device == burn::tensor::Device::flex() || gpu)
            && surface.data.is_none()
            && surface.replayable
    }

    /// What runs a replayed group of `rows` rows on `device`.
    pub(crate) fn engine(self, rows: usize, device: &burn::tensor::Device) -> Engine {
        if !crate::backend::is_cpu(device) {
            Engine::Gpu
        } else if self.compiles(rows) {
            Engine::Compiled
        } else {
            Engine::Interpreter
        }
    }

    /// Whether a replayed group of `rows` rows is compiled to machine code (where the program
    /// can be) rather than interpreted.
    fn compiles(self, rows: usize) -> bool {
        match self {
            Stepping::Eager => false,
            Stepping::Fused => rows >= COMPILE_ROWS,
            #[cfg(test)]
            Stepping::Everywhere => true,
        }
    }

    /// Whether an optimizer group of `rows` rows stepping `steps` times is replayed (where the
    /// program can replay it).
    pub(crate) fn replays(self, rows: usize, steps: usize) -> bool {
        match self {
            Stepping::Eager => false,
            Stepping::Fused => rows >= MIN_ROWS && steps <= MAX_STEPS,
            #[cfg(test)]
            Stepping::Everywhere => steps <= MAX_STEPS,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fused stepping replays groups of enough rows and not too many steps, and compiles the
    /// larger ones; the tests' way replays and compiles any size; eager never.
    #[test]
    fn replays_where_it_pays() {
        assert!(Stepping::Fused.replays(MIN_ROWS, MAX_STEPS));
        assert!(!Stepping::Fused.replays(MIN_ROWS - 1, 10));
        assert!(!Stepping::Fused.replays(1 << 20, MAX_STEPS + 1));
        assert!(Stepping::Everywhere.replays(64, 10));
        assert!(!Stepping::Everywhere.replays(64, MAX_STEPS + 1));
        assert!(!Stepping::Eager.replays(1 << 20, 10));
        let flex = burn::tensor::Device::flex();
        assert_eq!(Stepping::Fused.engine(COMPILE_ROWS, &flex), Engine::Compiled);
        assert_eq!(Stepping::Fused.engine(COMPILE_ROWS - 1, &flex), Engine::Interpreter);
        assert_eq!(Stepping::Everywhere.engine(64, &flex), Engine::Compiled);
        assert!(!Stepping::Eager.compiles(1 << 20));
    }
}
