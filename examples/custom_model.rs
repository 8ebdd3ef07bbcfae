//! A model of your own, written outside optsurf as burn tensor code, with the whole optsurf
//! command line for it.
//!
//! ```sh
//! cargo run --release --example custom_model -- run examples/custom_model.json
//! cargo run --release --example custom_model -- list
//! ```
//! The loss and learning-rate figures, `trajectories.json` and `params.npy` land in
//! `results/cubic-iris/`; `plot` and `diff` work on them through the same binary, since it knows
//! the model.

use optsurf::Registry;
use optsurf::burn::tensor::Tensor;
use optsurf::params::{Layout, Variable};
use optsurf::surface::ModelLoss;
use std::process::ExitCode;

/// A cubic `a + b u + c u^2 + d u^3` of one feature `u`, fitted by mean squared error: four
/// parameters, one variable `coefficients` `[a, b, c, d]` (zeros from any seed, as Keras starts
/// a bias).
struct Cubic {
    layout: Layout,
}

impl ModelLoss for Cubic {
    fn layout(&self) -> &Layout {
        &self.layout
    }

    fn features(&self) -> usize {
        1
    }

    /// `params` `[R, 4]`, `x` `[G, B, 1]`, `y` `[G, B]` (`G` is `R` or 1): each run's mean
    /// squared error `[R]`, by Horner's rule.
    fn loss(&self, params: Tensor<2>, x: Tensor<3>, y: Tensor<2>) -> Tensor<1> {
        let r = params.dims()[0];
        let [g, b, _] = x.dims();
        let u = x.reshape([g, b]);
        let coefficient = |k: usize| params.clone().narrow(1, k, 1);
        let mut prediction = coefficient(3);
        for k in (0..3).rev() {
            prediction = prediction * u.clone() + coefficient(k);
        }
        (prediction - y).square().mean_dim(1).reshape([r])
    }
}

fn main() -> ExitCode {
    let cubic = Cubic {
        layout: Layout::new(vec![Variable::new("coefficients", [4])]),
    };
    optsurf::cli::main(Registry::builtin().with_model("cubic", cubic))
}
