//! Recording tensor code on burn's capture device (`Device::capture`), which records every
//! operation as burn IR instead of running it: what the fused stepping path
//! (`experiment::fused`) replays. burn's autodiff does not run on that device, so while a
//! recording is under way a surface asked for its gradient leaves a placeholder
//! ([`deferred_gradient`]) that the replay computes as burn-autodiff would.

use burn::tensor::{Device, Tensor, TensorId};
use std::cell::RefCell;
use std::sync::{Mutex, Once};

/// A gradient the recorded code asked for: `d(sum of loss) / d points`, to be computed where the
/// placeholder `grad` was created; `start` marks where the loss's operations begin.
#[derive(Clone, Copy, Debug)]
pub(crate) struct GradientRequest {
    pub(crate) start: u64,
    pub(crate) points: u64,
    pub(crate) loss: u64,
    pub(crate) grad: u64,
}

/// What a recording gathers besides the operations.
#[derive(Default)]
pub(crate) struct Recorded {
    /// The gradients asked for.
    pub(crate) gradients: Vec<GradientRequest>,
    /// Tensors made by [`detach`]: no gradient flows through them.
    pub(crate) detached: Vec<u64>,
    /// Fused multiply-adds `[out, a, b, c]` ([`fused_multiply_add`]).
    pub(crate) fmas: Vec<[u64; 4]>,
}

thread_local! {
    /// The recording under way on this thread (`None`: not recording).
    static RECORDING: RefCell<Option<Recorded>> = const { RefCell::new(None) };
}

/// `t.detach()`, visible to a recording: the capture device records nothing for a detach (it has
/// no autodiff), so while recording the tensor goes through an exact `* 1` whose result is
/// marked detached. Surfaces that may be replayed detach with this.
pub(crate) fn detach<const D: usize>(t: Tensor<D>) -> Tensor<D> {
    if !recording() {
        return t.detach();
    }
    let d = t.mul_scalar(1.0);
    RECORDING.with(|r| r.borrow_mut().as_mut().expect("recording").detached.push(id(&d)));
    d
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
    RECORDING.with(|r| r.borrow_mut().as_mut().expect("recording").gradients.push(request));
    (value, grad)
}

/// While recording: a placeholder `shape`d like `a * b + c` broadcast, which the replay computes
/// as `a.mul_add(b, c)` (burn has no fused multiply-add; eagerly it is computed on the host,
/// which a recording cannot read back).
pub(crate) fn fused_multiply_add(a: &Tensor<2>, b: &Tensor<2>, c: &Tensor<2>, shape: [usize; 2]) -> Tensor<2> {
    let out = Tensor::<2>::zeros(shape, &c.device());
    let ids = [id(&out), id(a), id(b), id(c)];
    RECORDING.with(|r| r.borrow_mut().as_mut().expect("recording").fmas.push(ids));
    out
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
pub(crate) fn capture<T>(body: impl FnOnce(&Device) -> T) -> Option<(burn::tensor::CapturedGraph, Recorded, T)> {
    quiet_panics();
    let device = DEVICES.lock().unwrap().pop().unwrap_or_else(Device::capture);
    RECORDING.with(|r| *r.borrow_mut() = Some(Recorded::default()));
    let mut result = None;
    let captured = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        device.capture_scope(|scope| {
            result = Some(body(&device));
            scope.complete([], [])
        })
    }));
    let recorded = RECORDING.with(|r| r.borrow_mut().take()).unwrap_or_default();
    DEVICES.lock().unwrap().push(device);
    let graph = captured.ok()?.ok()?;
    Some((graph, recorded, result?))
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
