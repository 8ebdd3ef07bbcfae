//! Which burn backend runs the tensors.

use crate::error::{Error, Result};
use burn::tensor::Device;

/// A CPU backend of burn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Backend {
    /// burn-ndarray (the default).
    #[default]
    Ndarray,
    /// burn-flex, burn's newer CPU backend (needs the `flex` cargo feature).
    Flex,
}

impl Backend {
    /// The device of this backend (without autodiff; surfaces add it where they need it).
    pub fn device(self) -> Result<Device> {
        match self {
            #[allow(deprecated)] // burn marks ndarray deprecated in favour of flex; it is our default
            Backend::Ndarray => Ok(Device::ndarray()),
            #[cfg(feature = "flex")]
            Backend::Flex => Ok(Device::flex()),
            #[cfg(not(feature = "flex"))]
            Backend::Flex => Err(Error::Environment(
                "--backend flex: this optsurf was built without the flex backend; rebuild with `cargo build --release --features flex`".into(),
            )),
        }
    }
}
