//! A surface of your own, written outside optsurf, with the whole optsurf command line for it.
//!
//! ```sh
//! cargo run --release --example custom_surface -- run examples/custom_surface.json
//! cargo run --release --example custom_surface -- check double_well
//! cargo run --release --example custom_surface -- list
//! ```
//! The figures and `trajectories.json` land in `results/double-well/`; `plot` and `diff` work on
//! them through the same binary, since it knows the surface.

use optsurf::Registry;
use optsurf::burn::tensor::Tensor;
use optsurf::surface::Surface;
use std::process::ExitCode;

/// A tilted double well: `(x^2 - 4)^2 / 16 + (y - x / 2)^2 + 0.02 r`.
///
/// Two minima of value 0 at `(-2, -1)` and `(2, 1)`, a saddle of value 1 at the origin between
/// them; `r` is the post's coarse noise, which adds to the loss but not to the gradient with the
/// default `nearest` lookup.
fn double_well(x: Tensor<1>, y: Tensor<1>, r: Tensor<1>, _c: Tensor<1>) -> Tensor<1> {
    let well = x.clone().square().sub_scalar(4.0).square().div_scalar(16.0);
    let valley = (y - x.mul_scalar(0.5)).square();
    well + valley + r.mul_scalar(0.02)
}

fn main() -> ExitCode {
    let surface = Surface::new("double_well", "(x^2 - 4)^2 / 16 + (y - x / 2)^2 + 0.02 r", double_well)
        .with_domain([[-3.0, 3.0], [-3.0, 3.0]])
        .with_minimum([-2.0, -1.0], 0.0)
        .with_minimum([2.0, 1.0], 0.0)
        .with_saddle([0.0, 0.0], 1.0);
    optsurf::cli::main(Registry::builtin().with_surface(surface))
}
