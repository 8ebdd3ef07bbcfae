//! Fused stepping: a tile's whole run recorded once, then replayed block by block.
//!
//! Eager stepping runs each tensor operation over every row of a tile before the next one starts,
//! so each of a step's ~100 operations streams its operands through memory. Here the same tensor
//! code (the surface, its gradient, the optimizer) runs once on burn's non-executing capture
//! device, which records every operation with its shapes and constants; [`Program`] turns that
//! record into a list of element-wise instructions, and [`Program::run`] executes all of them for
//! a block of a few hundred rows (every step, start to end) before it moves to the next block,
//! so every intermediate stays in the core's cache.
//!
//! Outcomes are bit for bit those of eager stepping on flex: each instruction is the f32
//! arithmetic flex performs for that operation, in the same order; the gradient, which burn's
//! autodiff computes eagerly and the capture device cannot record, is rebuilt as the same
//! backward operations burn-autodiff runs, visited in its order (see `program.rs`). Anything the
//! program does not know (integer and boolean tensors, reductions, matrix products, data read
//! back mid-step) makes [`Program::record`] return `None`, and the caller steps eagerly.

mod exec;
mod program;

pub(crate) use program::Program;

use burn::tensor::{Device, Tensor, TensorId};
use std::cell::RefCell;
use std::sync::{Mutex, Once};

/// How a study's rows step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stepping {
    /// Every tensor operation over the whole tile, in turn.
    Eager,
    /// Recorded and replayed block by block where the rows can be (on flex, a surface that is
    /// not a model, operations the program knows); eagerly otherwise. The same outcomes.
    Fused,
}

/// A gradient the recorded code asked for: `d(sum of loss) / d points`, to be computed where the
/// placeholder `grad` was created; `start` marks where the loss's operations begin.
#[derive(Clone, Copy, Debug)]
pub(crate) struct GradientRequest {
    pub(crate) start: u64,
    pub(crate) points: u64,
    pub(crate) loss: u64,
    pub(crate) grad: u64,
}

thread_local! {
    /// The gradient requests of the recording under way on this thread (`None`: not recording).
    static RECORDING: RefCell<Option<Vec<GradientRequest>>> = const { RefCell::new(None) };
}

/// Whether tensor code on this thread is being recorded: a surface then defers its gradient
/// ([`deferred_gradient`]) instead of running autodiff, which the capture device cannot.
pub(crate) fn recording() -> bool {
    RECORDING.with(|r| r.borrow().is_some())
}

/// While recording: `loss(points)` evaluated (plain, untracked) and a placeholder for its
/// gradient, which the program computes as burn-autodiff would.
pub(crate) fn deferred_gradient<L>(points: Tensor<2>, loss: L) -> (Tensor<1>, Tensor<2>)
where
    L: FnOnce(Tensor<2>) -> Tensor<1>,
{
    let start = id(&Tensor::<1>::zeros([1], &points.device()));
    let value = loss(points.clone());
    let grad = points.zeros_like();
    let request = GradientRequest {
        start,
        points: id(&points),
        loss: id(&value),
        grad: id(&grad),
    };
    RECORDING.with(|r| r.borrow_mut().as_mut().expect("recording").push(request));
    (value, grad)
}

/// The id a recorded tensor has in the capture.
pub(crate) fn id<const D: usize>(tensor: &Tensor<D>) -> u64 {
    let primitive = tensor.clone().try_into_primitive::<burn::backend::Capture>();
    let id: TensorId = primitive.expect("a tensor on the capture device").id();
    id.value()
}

/// Capture devices, reused: burn numbers them with 16 bits, so they are not made per tile.
static DEVICES: Mutex<Vec<Device>> = Mutex::new(Vec::new());

/// Runs `body` on a capture device, recording what it does. `None` when the body cannot be
/// recorded (it read a computed tensor back, or used what the capture device refuses).
fn capture<T>(body: impl FnOnce(&Device) -> T) -> Option<(burn::tensor::CapturedGraph, Vec<GradientRequest>, T)> {
    quiet_panics();
    let device = DEVICES.lock().unwrap().pop().unwrap_or_else(Device::capture);
    RECORDING.with(|r| *r.borrow_mut() = Some(Vec::new()));
    let mut result = None;
    let captured = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        device.capture_scope(|scope| {
            result = Some(body(&device));
            scope.complete([], [])
        })
    }));
    let requests = RECORDING.with(|r| r.borrow_mut().take()).unwrap_or_default();
    DEVICES.lock().unwrap().push(device);
    let graph = captured.ok()?.ok()?;
    Some((graph, requests, result?))
}

/// A panic while recording means "cannot be recorded", not a bug to report: the panic hook stays
/// silent on a recording thread (and as before everywhere else).
fn quiet_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !recording() {
                previous(info)
            }
        }));
    });
}
