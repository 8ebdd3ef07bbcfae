//! Which burn backend runs the tensors.
//!
//! The CPU backends `flex` (the default; baselines are recorded on it) and `ndarray` are always
//! built; `wgpu` and `cuda` are cargo features (`cargo build --release --features wgpu`). All are
//! chosen at run time with `--backend`. flex is the default because it is the faster CPU backend
//! and the more exact one: its sin and cos round as TensorFlow's (the C library's `sinf`/`cosf`),
//! where ndarray rounds f64 results. The GPU backends are for large studies (hundreds of
//! thousands of runs per batch); the post's experiments are faster on the CPU.

use crate::error::{Error, Result};
use burn::tensor::Device;

/// A burn backend optsurf can run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Backend {
    /// burn-flex, burn's newer CPU backend: the default, baselines are recorded on it.
    #[default]
    Flex,
    /// burn-ndarray, the default before flex (always built).
    Ndarray,
    /// burn-wgpu on the best GPU wgpu finds (Vulkan, Metal or DirectX; the `wgpu` cargo
    /// feature). `CUBECL_WGPU_DEFAULT_DEVICE` picks another adapter.
    Wgpu,
    /// burn-cuda on the default CUDA device (the `cuda` cargo feature; needs the CUDA toolkit).
    Cuda,
}

impl Backend {
    /// The cargo feature that builds this backend in (none for the CPU backends).
    pub(crate) fn feature(self) -> Option<&'static str> {
        match self {
            Backend::Ndarray | Backend::Flex => None,
            Backend::Wgpu => Some("wgpu"),
            Backend::Cuda => Some("cuda"),
        }
    }

    /// The device of this backend (without autodiff; surfaces add it where they need it), or
    /// an environment error (exit 3) saying how to build it in when this binary lacks it.
    pub fn device(self) -> Result<Device> {
        match self {
            Backend::Flex => Ok(Device::flex()),
            #[allow(deprecated)] // burn marks ndarray deprecated in favour of flex; we keep it selectable
            Backend::Ndarray => Ok(Device::ndarray()),
            #[cfg(feature = "wgpu")]
            Backend::Wgpu => Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
            #[cfg(feature = "cuda")]
            Backend::Cuda => Ok(Device::cuda(burn::tensor::DeviceIndex::Default)),
            #[allow(unreachable_patterns)] // every backend may be built in
            missing => {
                let feature = missing.feature().unwrap_or("flex");
                Err(Error::Environment(format!(
                    "--backend {feature}: this optsurf was built without it; rebuild with `cargo build --release --features {feature}`"
                )))
            }
        }
    }
}

/// Whether `device` is one of the CPU backends (flex or ndarray), where host-side loops and one
/// thread per core pay; on a GPU they would cost a round trip.
pub(crate) fn is_cpu(device: &Device) -> bool {
    #[allow(deprecated)] // burn marks ndarray deprecated in favour of flex; we keep it selectable
    let ndarray = Device::ndarray();
    *device == Device::flex() || *device == ndarray
}
