//! Which burn backend runs the tensors.
//!
//! `ndarray` is always built; `flex`, `wgpu` and `cuda` are cargo features
//! (`cargo build --release --features wgpu`), chosen at run time with `--backend`. The GPU
//! backends are for large studies (hundreds of thousands of runs per batch); the post's
//! experiments are faster on the CPU, and baselines are recorded on `ndarray`.

use crate::error::{Error, Result};
use burn::tensor::Device;

/// A burn backend optsurf can run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Backend {
    /// burn-ndarray (the default; baselines are recorded on it).
    #[default]
    Ndarray,
    /// burn-flex, burn's newer CPU backend (the `flex` cargo feature).
    Flex,
    /// burn-wgpu on the best GPU wgpu finds (Vulkan, Metal or DirectX; the `wgpu` cargo
    /// feature). `CUBECL_WGPU_DEFAULT_DEVICE` picks another adapter.
    Wgpu,
    /// burn-cuda on the default CUDA device (the `cuda` cargo feature; needs the CUDA toolkit).
    Cuda,
}

impl Backend {
    /// The cargo feature that builds this backend in (none for ndarray).
    pub(crate) fn feature(self) -> Option<&'static str> {
        match self {
            Backend::Ndarray => None,
            Backend::Flex => Some("flex"),
            Backend::Wgpu => Some("wgpu"),
            Backend::Cuda => Some("cuda"),
        }
    }

    /// The device of this backend (without autodiff; surfaces add it where they need it), or
    /// an environment error (exit 3) saying how to build it in when this binary lacks it.
    pub fn device(self) -> Result<Device> {
        match self {
            #[allow(deprecated)] // burn marks ndarray deprecated in favour of flex; it is our default
            Backend::Ndarray => Ok(Device::ndarray()),
            #[cfg(feature = "flex")]
            Backend::Flex => Ok(Device::flex()),
            #[cfg(feature = "wgpu")]
            Backend::Wgpu => Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
            #[cfg(feature = "cuda")]
            Backend::Cuda => Ok(Device::cuda(burn::tensor::DeviceIndex::Default)),
            #[allow(unreachable_patterns)] // every backend may be built in
            missing => {
                let feature = missing.feature().unwrap_or("ndarray");
                Err(Error::Environment(format!(
                    "--backend {feature}: this optsurf was built without it; rebuild with `cargo build --release --features {feature}`"
                )))
            }
        }
    }
}
