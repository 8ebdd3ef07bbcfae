//! The registry: which surfaces and optimizers experiment files may name.
//!
//! It is a value, passed through parsing, running, plotting and diffing, so a crate that uses
//! optsurf adds its own surfaces and optimizers and gets the whole command line for them:
//!
//! ```no_run
//! use optsurf::{Registry, surface::Surface};
//! # use burn::tensor::Tensor;
//! # fn bowl(x: Tensor<1>, y: Tensor<1>, _r: Tensor<1>, _c: Tensor<1>) -> Tensor<1> { x.square() + y.square() }
//! fn main() -> std::process::ExitCode {
//!     let registry = Registry::builtin().with_surface(Surface::new("bowl", "x^2 + y^2", bowl).noiseless());
//!     optsurf::cli::main(registry)
//! }
//! ```

use crate::error::Parsed;
use crate::optim::{self, Entry};
use crate::surface::{self, ModelLoss, Surface};
use std::sync::Arc;

/// The surfaces, models and optimizers experiment files may name.
#[derive(Clone)]
pub struct Registry {
    surfaces: Vec<Surface>,
    models: Vec<(String, Arc<dyn ModelLoss>)>,
    optimizers: Vec<Entry>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("surfaces", &self.surfaces)
            .field("models", &self.models.iter().map(|(n, _)| n).collect::<Vec<_>>())
            .field("optimizers", &self.optimizers)
            .finish()
    }
}

impl Registry {
    /// Nothing registered.
    pub fn empty() -> Self {
        Registry {
            surfaces: Vec::new(),
            models: Vec::new(),
            optimizers: Vec::new(),
        }
    }

    /// optsurf's own: the post's surfaces, the classic test functions and every built-in
    /// optimizer.
    pub fn builtin() -> Self {
        Registry {
            surfaces: surface::builtins(),
            models: Vec::new(),
            optimizers: optim::BUILTIN.to_vec(),
        }
    }

    /// Adds a surface, replacing one of the same name.
    pub fn with_surface(mut self, surface: Surface) -> Self {
        self.surfaces.retain(|s| s.name != surface.name);
        self.surfaces.push(surface);
        self
    }

    /// Adds a model of `P` parameters named `name` (replacing one of the same name), which a
    /// surface object names as `{"model": name, "data": ...}`: its loss is burn tensor code over
    /// a batch of parameter vectors and a batch of rows (see [`ModelLoss`]).
    pub fn with_model(mut self, name: impl Into<String>, model: impl ModelLoss + 'static) -> Self {
        let name = name.into();
        self.models.retain(|(n, _)| *n != name);
        self.models.push((name, Arc::new(model)));
        self
    }

    /// The model registered as `name`.
    pub(crate) fn model(&self, name: &str) -> Option<&Arc<dyn ModelLoss>> {
        self.models.iter().find(|(n, _)| n == name).map(|(_, m)| m)
    }

    /// The names of the registered models.
    pub(crate) fn model_names(&self) -> impl Iterator<Item = &str> {
        self.models.iter().map(|(n, _)| n.as_str())
    }

    /// Adds an optimizer (`Entry::of::<MyConfig>()`), replacing one of the same name.
    pub fn with_optimizer(mut self, entry: Entry) -> Self {
        self.optimizers.retain(|o| o.name != entry.name);
        self.optimizers.push(entry);
        self
    }

    /// The surface called `name`.
    pub fn surface(&self, name: &str) -> Option<&Surface> {
        self.surfaces.iter().find(|s| s.name == name)
    }

    /// Every surface, in registration order.
    pub fn surfaces(&self) -> &[Surface] {
        &self.surfaces
    }

    /// The optimizer called `name`.
    pub fn optimizer(&self, name: &str) -> Option<&Entry> {
        self.optimizers.iter().find(|o| o.name == name)
    }

    /// Every optimizer, in registration order.
    pub fn optimizers(&self) -> &[Entry] {
        &self.optimizers
    }

    /// The surface called `name`, or an error that lists the known ones.
    pub(crate) fn require_surface(&self, name: &str) -> Parsed<&Surface> {
        self.surface(name).ok_or_else(|| {
            let names: Vec<&str> = self.surfaces.iter().map(|s| s.name.as_str()).collect();
            crate::error::unknown_name("surface", name, &names)
        })
    }

    /// The optimizer called `name`, or an error that lists the known ones.
    pub fn require_optimizer(&self, name: &str) -> Parsed<&Entry> {
        self.optimizer(name).ok_or_else(|| {
            let names: Vec<&str> = self.optimizers.iter().map(|o| o.name).collect();
            crate::error::unknown_name("optimizer", name, &names)
        })
    }
}

impl Default for Registry {
    fn default() -> Self {
        Registry::builtin()
    }
}
