//! RMSprop, plain or centered, with optional heavy-ball momentum, as Keras's `RMSprop`.

use super::common::column;
use super::{LearningRate, Range, Rule, RuleConfig, Step, Update};
use burn::tensor::{Device, Tensor};

crate::hyperparameters! {
    /// Keras `RMSprop(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False)`
    /// (Hinton 2012, lecture 6e; centered form: Graves 2013).
    ///
    /// With `v = a = mom = 0` at the start:
    /// ```text
    /// v <- rho v + (1 - rho) g^2
    /// a <- rho a + (1 - rho) g;  D = v - a^2 + eps   (centered)
    ///                            D = v + eps         (otherwise)
    /// delta = eta g / sqrt(D)
    /// mom <- mu mom + delta;  w <- w - mom           (momentum mu > 0)
    /// w <- w - delta                                 (otherwise)
    /// ```
    /// Keras departs from the lecture's form in putting `eps` inside the square root and starting
    /// `v` at 0 without bias correction (the first step is about `eta / sqrt(1 - rho)`); its
    /// momentum is heavy-ball on the already scaled step, and a negative `momentum` is silently
    /// ignored (treated as 0), as Keras does.
    pub(crate) struct RmspropConfig {
        /// `eta`.
        learning_rate: LearningRate = 0.001, Range::POSITIVE;
        /// `rho`, decay of the squared-gradient average, in [0, 1).
        rho: f64 = 0.9, Range::UNIT;
        /// `mu`, heavy-ball momentum on the step (none unless > 0).
        momentum: f64 = 0.0, Range::ANY;
        /// `eps`, inside the square root.
        epsilon: f64 = 1e-7, Range::NON_NEGATIVE;
        /// Divide by the estimated variance `v - a^2` instead of the second moment `v`.
        centered: bool = false => shared;
        /// Decoupled weight decay `lambda` (none by default).
        weight_decay: Option<f64> = None, Range::NON_NEGATIVE;
    }
}

/// Batched RMSprop.
pub(crate) struct Rmsprop {
    rho: Tensor<2>,
    one_minus_rho: Tensor<2>,
    epsilon: Tensor<2>,
    momentum: Option<Tensor<2>>,
    centered: bool,
}

/// RMSprop's state.
pub(crate) struct RmspropState {
    v: Tensor<2>,
    a: Option<Tensor<2>>,
    mom: Option<Tensor<2>>,
}

impl RuleConfig for RmspropConfig {
    type Rule = Rmsprop;
    const NAME: &'static str = "rmsprop";
    const DESCRIPTION: &'static str =
        "RMSprop: step scaled by a running RMS of gradients (optionally centered, with momentum)";

    fn learning_rate(&self) -> &LearningRate {
        &self.learning_rate
    }
    fn weight_decay(&self) -> Option<f64> {
        self.weight_decay
    }
    fn rule(rows: &[Self], device: &Device) -> Rmsprop {
        let col = |f: fn(&RmspropConfig) -> f64| column(rows.iter().map(f), device);
        // Keras tracks momentum only when `momentum > 0`. A row without it steps exactly as
        // plain RMSprop on the momentum path (mom = 0 mom + delta = delta), so a batch can mix.
        let momentum = rows
            .iter()
            .any(|c| c.momentum > 0.0)
            .then(|| col(|c| c.momentum.max(0.0)));
        Rmsprop {
            rho: col(|c| c.rho),
            one_minus_rho: col(|c| 1.0 - c.rho),
            epsilon: col(|c| c.epsilon),
            momentum,
            centered: rows.iter().any(|c| c.centered),
        }
    }
}

impl Rule for Rmsprop {
    type State = RmspropState;

    fn init(&self, params: &Tensor<2>) -> RmspropState {
        RmspropState {
            v: params.zeros_like(),
            a: self.centered.then(|| params.zeros_like()),
            mom: self.momentum.as_ref().map(|_| params.zeros_like()),
        }
    }

    fn update(&self, w: Tensor<2>, g: Tensor<2>, s: RmspropState, step: &Step) -> (Update, RmspropState) {
        let v = s.v * self.rho.clone() + g.clone().square() * self.one_minus_rho.clone();
        let a =
            s.a.map(|a| a * self.rho.clone() + g.clone() * self.one_minus_rho.clone());
        // TensorFlow's graph optimizer (grappler) runs Keras's step as written only up to
        // rounding: it turns `(v - a^2) + eps` into `v - (a^2 - eps)` and `x / sqrt(D)` into
        // `x * rsqrt(D)`; both are followed here so the results agree bit for bit.
        let denominator = match &a {
            Some(a) => v.clone() - (a.clone().square() - self.epsilon.clone()),
            None => v.clone() + self.epsilon.clone(),
        };
        let delta = (g * step.lr.clone()) * denominator.sqrt().recip();
        match (&self.momentum, s.mom) {
            (Some(mu), Some(mom)) => {
                let mom = mom * mu.clone() + delta;
                (Update::Next(w - mom.clone()), RmspropState { v, a, mom: Some(mom) })
            }
            _ => (Update::Next(w - delta), RmspropState { v, a, mom: None }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::test_util::{assert_close, steps};
    use super::*;

    #[test]
    fn first_step_is_about_lr_over_sqrt_one_minus_rho() {
        let c = RmspropConfig {
            learning_rate: 0.1.into(),
            ..Default::default()
        };
        let w = steps(&[c], &[vec![1.0, -2.0]], &[vec![vec![3.0, -0.5]]]);
        // v = 0.1 g^2, step = 0.1 g / sqrt(0.1 g^2 + 1e-7) ~ 0.1 sign(g) / sqrt(0.1).
        let step = |g: f64| 0.1 * g / (0.1 * g * g + 1e-7).sqrt();
        assert_close(&w[0], &[vec![1.0 - step(3.0), -2.0 - step(-0.5)]], 1e-6);
    }

    #[test]
    fn rows_with_and_without_momentum_share_a_batch() {
        let plain = RmspropConfig {
            learning_rate: 0.01.into(),
            ..Default::default()
        };
        let heavy = RmspropConfig {
            momentum: 0.5,
            ..plain.clone()
        };
        let w0 = vec![vec![1.0f32, 1.0]; 2];
        let grads = vec![vec![vec![1.0f32, 2.0]; 2]; 2];
        let w = steps(&[plain.clone(), heavy], &w0, &grads);
        // Step 1: v = 0.1 g^2 for both. Step 2: v = 0.19 g^2; the heavy row adds 0.5 delta_1.
        let d1 = |g: f64| 0.01 * g / (0.1 * g * g + 1e-7).sqrt();
        let d2 = |g: f64| 0.01 * g / (0.19 * g * g + 1e-7).sqrt();
        let x = |g: f64| 1.0 - d1(g);
        assert_close(&w[0], &[vec![x(1.0), x(2.0)], vec![x(1.0), x(2.0)]], 1e-6);
        let (p, h) = (|g: f64| x(g) - d2(g), |g: f64| x(g) - 0.5 * d1(g) - d2(g));
        assert_close(&w[1], &[vec![p(1.0), p(2.0)], vec![h(1.0), h(2.0)]], 1e-6);
        // The plain row is bit for bit what it is alone.
        let alone = steps(&[plain], &w0[..1], &[grads[0][..1].to_vec(), grads[1][..1].to_vec()]);
        assert_eq!(alone[1][0], w[1][0]);
    }

    #[test]
    fn centered_divides_by_the_variance() {
        let c = RmspropConfig {
            learning_rate: 0.01.into(),
            momentum: 0.5,
            centered: true,
            ..Default::default()
        };
        let w = steps(&[c], &[vec![1.0, 1.0]], &vec![vec![vec![1.0f32, 2.0]]; 2]);
        // Step 1: v = 0.1 g^2, a = 0.1 g, D = 0.09 g^2 + eps.
        let d1 = |g: f64| 0.01 * g / (0.09 * g * g + 1e-7).sqrt();
        assert_close(&w[0], &[vec![1.0 - d1(1.0), 1.0 - d1(2.0)]], 1e-6);
        // Step 2: v = 0.19 g^2, a = 0.19 g, D = (0.19 - 0.19^2) g^2 + eps; mom = 0.5 d1 + d2.
        let d2 = |g: f64| 0.01 * g / ((0.19 - 0.19 * 0.19) * g * g + 1e-7).sqrt();
        let x = |g: f64| 1.0 - d1(g) - (0.5 * d1(g) + d2(g));
        assert_close(&w[1], &[vec![x(1.0), x(2.0)]], 1e-6);
    }

    #[test]
    fn negative_momentum_is_ignored_as_keras_does() {
        let with = RmspropConfig {
            momentum: -0.5,
            ..Default::default()
        };
        let grads = vec![vec![vec![1.0f32, -1.0]]; 3];
        let a = steps(&[with], &[vec![0.0, 0.0]], &grads);
        let b = steps(&[RmspropConfig::default()], &[vec![0.0, 0.0]], &grads);
        assert_eq!(a, b);
    }

    #[test]
    fn validation() {
        let bad = |c: RmspropConfig| c.validate().unwrap_err().path().to_string();
        let d = RmspropConfig::default();
        assert_eq!(bad(RmspropConfig { rho: 1.0, ..d.clone() }), "rho");
        assert_eq!(
            bad(RmspropConfig {
                epsilon: -1.0,
                ..d.clone()
            }),
            "epsilon"
        );
        assert_eq!(
            bad(RmspropConfig {
                learning_rate: 0.0.into(),
                ..d
            }),
            "learning_rate"
        );
    }
}
