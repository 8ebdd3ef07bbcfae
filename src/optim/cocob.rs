//! COCOB-Backprop, as optax's `contrib.cocob`.

use super::common::{AddDecayed, column, maximum};
use super::{LearningRate, Range, Rule, RuleConfig, Source, Step, Update};
use burn::tensor::{Device, Tensor};

crate::hyperparameters! {
    /// optax `contrib.cocob(learning_rate=1.0, alpha=100.0, eps=1e-8, weight_decay=0.0)`
    /// (Orabona & Tommasi, *Training Deep Networks without Learning Rates Through Coin
    /// Betting*, NeurIPS 2017, arXiv:1705.07795, Algorithm 2, COCOB-Backprop).
    ///
    /// Per coordinate, betting on the sign of the negative gradient; `c = eta (g + lambda w)`,
    /// `L = eps`, `G = R = C = 0` at the start:
    /// ```text
    /// L <- max(L, |c|)                 (the largest gradient seen)
    /// G <- G + |c|
    /// R <- max(R - c (w - w_0), 0)     (the reward)
    /// C <- C - c
    /// w <- w_0 + C (L + R) / (L max(G + L, alpha L))
    /// ```
    /// optax follows the paper exactly, with `L_0 = eps`. `learning_rate` scales `c`, hence
    /// `L, G, R, C` alike, and the step is invariant to that: it only moves results through
    /// `eps` and rounding. The update is the new point minus the old, as optax returns it.
    pub(crate) struct CocobConfig {
        /// `eta`, a scale of the gradients (almost no effect).
        learning_rate: LearningRate = 1.0, Range::POSITIVE;
        /// `alpha`, the bound on the early bets, > 0.
        alpha: f64 = 100.0, Range::POSITIVE;
        /// `eps`, the initial largest gradient `L_0`, > 0.
        eps: f64 = 1e-8, Range::POSITIVE;
        /// `lambda`, weight decay added to the gradient.
        weight_decay: f64 = 0.0, Range::NON_NEGATIVE;
    }
}

/// Batched COCOB.
pub(crate) struct Cocob {
    alpha: Tensor<2>,
    eps: Tensor<2>,
    decay: AddDecayed,
}

/// The start, the largest gradient, the sums of |gradient|, the reward and the sum of negative
/// gradients.
pub(crate) struct CocobState {
    w0: Tensor<2>,
    l: Tensor<2>,
    g: Tensor<2>,
    r: Tensor<2>,
    c: Tensor<2>,
}

impl RuleConfig for CocobConfig {
    type Rule = Cocob;
    const NAME: &'static str = "cocob";
    const DESCRIPTION: &'static str = "COCOB: coin betting on each coordinate (learning-rate free)";
    const SOURCE: Source = Source::Optax;

    fn learning_rate(&self) -> &LearningRate {
        &self.learning_rate
    }
    fn rule(rows: &[Self], device: &Device) -> Cocob {
        Cocob {
            alpha: column(rows.iter().map(|c| c.alpha), device),
            eps: column(rows.iter().map(|c| c.eps), device),
            decay: AddDecayed::new(rows.iter().map(|c| c.weight_decay), device),
        }
    }
}

impl Rule for Cocob {
    type State = CocobState;

    fn init(&self, params: &Tensor<2>) -> CocobState {
        let zero = params.zeros_like();
        CocobState {
            w0: params.clone(),
            l: self.eps.clone().expand(params.dims()) * params.ones_like(),
            g: zero.clone(),
            r: zero.clone(),
            c: zero,
        }
    }

    fn update(&self, w: Tensor<2>, g: Tensor<2>, s: CocobState, step: &Step) -> (Update, CocobState) {
        // scale_by_learning_rate(lr, flip_sign=False): + lr.
        let c = self.decay.apply(g, w.clone()) * step.lr.clone();
        let l = maximum(s.l, c.clone().abs());
        let big_g = s.g + c.clone().abs();
        let r = s.r - c.clone() * (w.clone() - s.w0.clone());
        let r = maximum(r.clone(), r.zeros_like());
        let big_c = s.c - c;
        let bet = big_c.clone() / (l.clone() * maximum(big_g.clone() + l.clone(), l.clone() * self.alpha.clone()));
        let u = w.neg() + (s.w0.clone() + bet * (l.clone() + r.clone()));
        let state = CocobState {
            w0: s.w0,
            l,
            g: big_g,
            r,
            c: big_c,
        };
        (Update::Increment(u), state)
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::test_util::{assert_close, steps};
    use super::*;

    #[test]
    fn bets_grow_with_the_reward() {
        let c = CocobConfig {
            alpha: 1.0,
            eps: 1e-30,
            ..Default::default()
        };
        // A constant gradient 1: step 1: L = 1, G = 1, R = 0, C = -1:
        // w = w0 - 1 (1 + 0) / (1 max(2, 1)) = -0.5.
        // Step 2: R = 0 - 1 (-0.5) = 0.5, G = 2, C = -2: w = -2 (1.5) / 3 = -1.
        let grads = vec![vec![vec![1.0f32, -1.0]]; 2];
        let w = steps(&[c], &[vec![0.0, 0.0]], &grads);
        assert_close(&w[0], &[vec![-0.5, 0.5]], 1e-7);
        assert_close(&w[1], &[vec![-1.0, 1.0]], 1e-7);
    }

    #[test]
    fn the_learning_rate_scales_everything_alike() {
        let one = CocobConfig {
            eps: 1e-30,
            ..Default::default()
        };
        let tenth = CocobConfig {
            learning_rate: 0.1.into(),
            ..one.clone()
        };
        let grads = vec![vec![vec![0.3f32, -2.0]; 2]; 5];
        let w = steps(&[one, tenth], &vec![vec![1.0, 2.0]; 2], &grads);
        assert_close(&w[4][..1], &[w[4][1].iter().map(|&x| f64::from(x)).collect()], 1e-6);
    }
}
