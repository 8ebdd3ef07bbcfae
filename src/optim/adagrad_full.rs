//! Full-matrix AdaGrad (Duchi, Hazan & Singer 2011), exact and fast: the work is done in the
//! span of the gradients seen so far.
//!
//! Not in Keras. Each row of the batch is its own parameter vector of dimension `d` with its own
//! `d x d` accumulator `G`, held on the host in `f64` by an [`Accumulator`]; the gradients and
//! parameters cross to the host once per step and the new parameters go back as an `f32` tensor.
//! The per-step products are O(d t) and the eigenproblem is t x t (t gradients so far), so a
//! tensor round trip would cost more than the arithmetic, and `f32` products would lose the
//! accuracy the small eigenvalues need.

/// `delta` in the post's arrow figures and its full-matrix benchmark (its `1e-5`).
pub(crate) const POST_DELTA: f64 = 1e-5;

pub(crate) mod eigen;
#[cfg(test)]
mod reference;

use super::{LearningRate, Range, Rule, RuleConfig, Source, Step, Update};
use burn::tensor::{Device, Tensor, TensorData};
use eigen::symmetric_eigen;

crate::hyperparameters! {
    /// Full-matrix AdaGrad, `adagrad_full(learning_rate=0.001, epsilon=1e-7,
    /// initial_accumulator_value=0.0)` (Duchi, Hazan & Singer 2011, "Adaptive subgradient methods
    /// for online learning and stochastic optimization", JMLR 12).
    ///
    /// Per row, with `G = initial_accumulator_value * I` at the start:
    /// ```text
    /// G <- G + g g^T
    /// w <- w - eta (G^{1/2} + delta I)^{-1} g
    /// ```
    /// With `weight_decay = lambda`, `w <- w - (w lambda) eta` comes first, as for every rule.
    /// `delta` is `epsilon`, added to the square roots of `G`'s eigenvalues. With `delta = 0` the
    /// inverse is the pseudo-inverse (`1/sqrt(lambda)` on the range of `G`, 0 on its null space),
    /// which is exact because `g` lies in that range. The first step is `w - eta g/(|g| + delta)`
    /// (with `initial_accumulator_value = 0`), so every first step has length about `eta`: on the
    /// post's surfaces (scale 10) useful learning rates are 0.1 to 1. The defaults 0.001 and
    /// `epsilon = 1e-7` are Keras Adagrad's; the post's arrow figure uses `delta = 1e-5`, and the
    /// paper `G_0 = 0`. Hyperparameters are used in `f64` and each new parameter is rounded to
    /// `f32` once.
    ///
    /// Computed exactly, without forming `G` while there are fewer gradients than dimensions: with
    /// `U = [g_1 .. g_t]` and `K = U^T U` (t x t), `f(cI + U U^T) U = U f(cI + K)` for
    /// `f(x) = (x^{1/2} + delta)^{-1}`, so the step is `U f(cI + K) e_t`, which costs O(d t) plus a
    /// t x t eigendecomposition per step instead of O(d^3). Once `t >= d`, `G` itself (d x d) is
    /// decomposed. Eigenvalues at round-off level (`<= n eps lambda_max`) count as 0. If every
    /// gradient is axis-aligned this is diagonal AdaGrad `w - eta g/(sqrt(A) + delta)` with
    /// `A_0 = 0`; Keras's `adagrad` is that diagonal form with epsilon inside the sqrt and
    /// `A_0 = 0.1`.
    pub(crate) struct AdagradFullConfig {
        /// `eta`.
        learning_rate: LearningRate = 0.001, Range::POSITIVE;
        /// `delta`, added to the square roots of `G`'s eigenvalues; `>= 0` (0: pseudo-inverse).
        epsilon: f64 = 1e-7, Range::NON_NEGATIVE;
        /// `c` in `G_0 = c I`; `>= 0`. The paper starts at 0.
        initial_accumulator_value: f64 = 0.0, Range::NON_NEGATIVE;
        /// Decoupled weight decay `lambda` (none by default).
        weight_decay: Option<f64> = None, Range::NON_NEGATIVE;
    }
}

impl RuleConfig for AdagradFullConfig {
    type Rule = AdagradFull;
    const NAME: &'static str = "adagrad_full";
    const DESCRIPTION: &'static str =
        "Full-matrix AdaGrad (Duchi et al. 2011): (G^1/2 + delta I)^-1 g with G = sum g g^T, exact, per row";
    const SOURCE: Source = Source::Paper;
    /// `G` is `P x P` per run, and each step an eigendecomposition of it.
    const MAX_PARAMETERS: Option<usize> = Some(1024);

    fn learning_rate(&self) -> &LearningRate {
        &self.learning_rate
    }
    fn weight_decay(&self) -> Option<f64> {
        self.weight_decay
    }
    fn rule(rows: &[Self], _device: &Device) -> AdagradFull {
        AdagradFull { rows: rows.to_vec() }
    }
}

/// Batched full-matrix AdaGrad: one [`Accumulator`] per row.
pub(crate) struct AdagradFull {
    rows: Vec<AdagradFullConfig>,
}

impl AdagradFull {
    fn row(&self, i: usize) -> AdagradFullConfig {
        self.rows.get(i).or(self.rows.last()).cloned().unwrap_or_default()
    }
}

/// Full-matrix AdaGrad's state: each row's accumulator.
pub(crate) struct AdagradFullState {
    rows: Vec<Accumulator>,
}

impl Rule for AdagradFull {
    type State = AdagradFullState;

    fn init(&self, params: &Tensor<2>) -> AdagradFullState {
        let [n, d] = params.dims();
        AdagradFullState {
            rows: (0..n)
                .map(|i| {
                    let c = self.row(i);
                    Accumulator::new(d, c.initial_accumulator_value, c.epsilon)
                })
                .collect(),
        }
    }

    fn update(
        &self,
        w: Tensor<2>,
        g: Tensor<2>,
        mut state: AdagradFullState,
        step: &Step,
    ) -> (Update, AdagradFullState) {
        let [n, d] = w.dims();
        let device = w.device();
        let w_host: Vec<f64> = w.into_data().iter::<f64>().collect();
        let g_host: Vec<f64> = g.into_data().iter::<f64>().collect();
        while state.rows.len() < n {
            let c = self.row(state.rows.len());
            state
                .rows
                .push(Accumulator::new(d, c.initial_accumulator_value, c.epsilon));
        }
        let rows = &mut state.rows[..n];
        let mut out = vec![0.0f32; n * d];
        // Rows are independent: split big batches over the cores (results do not change).
        let cost: f64 = rows.iter().map(Accumulator::cost).sum();
        let threads = std::thread::available_parallelism().map_or(1, |t| t.get()).min(n);
        if threads > 1 && cost > 2e5 && d > 0 {
            let chunk = n.div_ceil(threads);
            std::thread::scope(|scope| {
                for (k, (rows, out)) in rows.chunks_mut(chunk).zip(out.chunks_mut(chunk * d)).enumerate() {
                    let (w, g) = (&w_host, &g_host);
                    scope.spawn(move || self.step_rows(k * chunk, rows, w, g, step.lr_host, out));
                }
            });
        } else {
            self.step_rows(0, rows, &w_host, &g_host, step.lr_host, &mut out);
        }
        (
            Update::Next(Tensor::from_data(TensorData::new(out, [n, d]), &device)),
            state,
        )
    }
}

impl AdagradFull {
    /// Steps rows `first..first + rows.len()`: `out` receives their new parameters, `w`, `g`
    /// and this step's rates `lr` are the whole batch's.
    fn step_rows(&self, first: usize, rows: &mut [Accumulator], w: &[f64], g: &[f64], lr: &[f32], out: &mut [f32]) {
        let d = out.len() / rows.len().max(1);
        for (k, (accumulator, out)) in rows.iter_mut().zip(out.chunks_mut(d.max(1))).enumerate() {
            let i = first + k;
            // A constant rate is used in f64, as every hyperparameter here; a schedule's is its f32 value.
            let eta = self.row(i).learning_rate.constant().unwrap_or(lr[i] as f64);
            // A gradient of the wrong shape makes the row diverge (NaN) rather than panic.
            let v = accumulator.update(g.get(i * d..(i + 1) * d).unwrap_or(&[]));
            let w = w.get(i * d..(i + 1) * d).unwrap_or(&[]);
            for ((o, w), v) in out.iter_mut().zip(w).zip(v) {
                *o = (w - eta * v) as f32;
            }
        }
    }
}

/// One parameter vector's full-matrix AdaGrad accumulator `G` (d x d), kept on the host in
/// `f64`: the gradients themselves while there are fewer than `d`, then `G`.
///
/// [`Accumulator::update`] adds `g g^T` and returns `v = (G^{1/2} + delta I)^{-1} g`.
#[derive(Clone, Debug)]
pub(crate) struct Accumulator {
    dim: usize,
    initial: f64,
    delta: f64,
    form: Form,
    direction: Vec<f64>,
}

#[derive(Clone, Debug)]
enum Form {
    /// The `t < d` gradients one after another (`U^T`, `t x d` row-major) and their Gram
    /// matrix `K = U^T U` as a packed lower triangle (row `i` holds `K[i][0..=i]`).
    Span {
        grads: Vec<f64>,
        gram: Vec<f64>,
        count: usize,
    },
    /// `G` itself, `d x d` row-major.
    Dense { matrix: Vec<f64> },
    /// A non-finite gradient was seen: every direction is NaN from then on.
    Diverged,
}

impl Accumulator {
    /// An empty accumulator (`G = initial_accumulator_value * I`) for vectors of dimension `dim`,
    /// with `delta` added to the square roots of the eigenvalues.
    pub(crate) fn new(dim: usize, initial_accumulator_value: f64, delta: f64) -> Self {
        Accumulator {
            dim,
            initial: initial_accumulator_value,
            delta,
            form: Form::Span {
                grads: Vec::new(),
                gram: Vec::new(),
                count: 0,
            },
            direction: vec![0.0; dim],
        }
    }

    /// The direct O(d^3) method from the first step: `G` is formed and decomposed every step.
    /// The same results as [`Accumulator::new`], for reference and benchmarks.
    pub(crate) fn direct(dim: usize, initial_accumulator_value: f64, delta: f64) -> Self {
        let mut matrix = vec![0.0; dim * dim];
        for i in 0..dim {
            matrix[i * dim + i] = initial_accumulator_value;
        }
        Accumulator {
            form: Form::Dense { matrix },
            ..Accumulator::new(dim, initial_accumulator_value, delta)
        }
    }

    /// Whether `G` is held as a `d x d` matrix (after `d` non-zero gradients, or [`Self::direct`]).
    #[cfg(test)]
    pub(crate) fn is_dense(&self) -> bool {
        matches!(self.form, Form::Dense { .. })
    }

    /// A rough cost of the next update in nanoseconds, to decide whether a batch is worth
    /// splitting over threads.
    pub(crate) fn cost(&self) -> f64 {
        let d = self.dim as f64;
        match &self.form {
            Form::Span { count, .. } => {
                let t = *count as f64 + 1.0;
                300.0 + 2.0 * d * t + 10.0 * t * t * t
            }
            Form::Dense { .. } => 300.0 + 10.0 * d * d * d,
            Form::Diverged => 10.0,
        }
    }

    /// Whether a non-finite gradient was seen (every direction is NaN from then on).
    #[cfg(test)]
    pub(crate) fn is_diverged(&self) -> bool {
        matches!(self.form, Form::Diverged)
    }

    /// `G <- G + g g^T`, then returns `v = (G^{1/2} + delta I)^{-1} g`. A zero gradient leaves
    /// `G` as it is and gives `v = 0`; a non-finite one, or one of the wrong length, makes this
    /// and every later `v` NaN.
    pub(crate) fn update(&mut self, g: &[f64]) -> &[f64] {
        let d = self.dim;
        self.direction.clear();
        self.direction.resize(d, 0.0);
        if g.len() != d || g.iter().any(|v| !v.is_finite()) {
            self.form = Form::Diverged;
        }
        if matches!(self.form, Form::Diverged) {
            self.direction.fill(f64::NAN);
            return &self.direction;
        }
        if g.iter().all(|&v| v == 0.0) {
            return &self.direction;
        }
        let ok = match &mut self.form {
            Form::Span { grads, gram, count } => {
                for j in 0..*count {
                    gram.push(dot(&grads[j * d..(j + 1) * d], g));
                }
                gram.push(dot(g, g));
                grads.extend_from_slice(g);
                *count += 1;
                if *count >= d {
                    let mut matrix = vec![0.0; d * d];
                    for i in 0..d {
                        matrix[i * d + i] = self.initial;
                    }
                    for u in grads.chunks_exact(d) {
                        add_outer(&mut matrix, u);
                    }
                    let ok = dense_direction(&matrix, g, self.delta, &mut self.direction);
                    self.form = Form::Dense { matrix };
                    ok
                } else {
                    span_direction(grads, gram, *count, self.initial, self.delta, &mut self.direction)
                }
            }
            Form::Dense { matrix } => {
                add_outer(matrix, g);
                dense_direction(matrix, g, self.delta, &mut self.direction)
            }
            Form::Diverged => false,
        };
        if !ok {
            self.form = Form::Diverged;
            self.direction.fill(f64::NAN);
        }
        &self.direction
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `out += alpha * x`.
fn axpy(out: &mut [f64], alpha: f64, x: &[f64]) {
    for (o, v) in out.iter_mut().zip(x) {
        *o += alpha * v;
    }
}

/// `matrix += u u^T` (`d x d`, row-major).
fn add_outer(matrix: &mut [f64], u: &[f64]) {
    let d = u.len();
    for (r, &ur) in u.iter().enumerate() {
        if ur != 0.0 {
            axpy(&mut matrix[r * d..(r + 1) * d], ur, u);
        }
    }
}

/// `(x^{1/2} + delta)^{-1}` for the eigenvalues of `G` that are not round-off (`> n eps
/// lambda_max`), 0 for the others (they belong to the null space, which `g` does not reach).
fn spectral_weights(lambda: &[f64], delta: f64) -> impl Iterator<Item = f64> + '_ {
    let max = lambda.iter().fold(0.0, |m: f64, &l| m.max(l));
    let tol = lambda.len() as f64 * f64::EPSILON * max;
    lambda
        .iter()
        .map(move |&l| if l > tol { 1.0 / (l.sqrt() + delta) } else { 0.0 })
}

/// `v = U f(cI + K) e_t` with `U`'s rows the `t` gradients (the last one is `g`).
fn span_direction(grads: &[f64], gram: &[f64], t: usize, c: f64, delta: f64, out: &mut [f64]) -> bool {
    let d = out.len();
    let mut k = vec![0.0; t * t];
    for i in 0..t {
        for j in 0..=i {
            let v = gram[i * (i + 1) / 2 + j];
            k[i * t + j] = v;
            k[j * t + i] = v;
        }
    }
    let Some(eig) = symmetric_eigen(k, t) else {
        return false;
    };
    // G's eigenvalues on span(U) are c + s_i (s_i >= 0 up to round-off).
    let lambda: Vec<f64> = eig.values.iter().map(|&s| c + s.max(0.0)).collect();
    let mut a = vec![0.0; t];
    for (i, weight) in spectral_weights(&lambda, delta).enumerate() {
        if weight != 0.0 {
            let v = eig.vector(i);
            axpy(&mut a, weight * v[t - 1], v);
        }
    }
    for (aj, u) in a.iter().zip(grads.chunks_exact(d)) {
        axpy(out, *aj, u);
    }
    true
}

/// `v = Q f(Lambda) Q^T g` from the eigendecomposition of `G` (`d x d`).
fn dense_direction(matrix: &[f64], g: &[f64], delta: f64, out: &mut [f64]) -> bool {
    let Some(eig) = symmetric_eigen(matrix.to_vec(), g.len()) else {
        return false;
    };
    let lambda: Vec<f64> = eig.values.iter().map(|&l| l.max(0.0)).collect();
    for (i, weight) in spectral_weights(&lambda, delta).enumerate() {
        if weight != 0.0 {
            let q = eig.vector(i);
            axpy(out, weight * dot(q, g), q);
        }
    }
    true
}

/// The post's AdaGrad arrow figures: for each gradient `g_t`, the update direction
/// `v_t = (G_t^{1/2} + delta I)^{-1} g_t` (`full`, through [`Accumulator`], the optimizer's own
/// code) or `v_t = g_t / (sqrt(diag G_t) + delta)` (diagonal), with `G_0 = 0`. With `delta = 0`
/// a coordinate whose accumulator is still 0 gets 0 (pseudo-inverse).
pub(crate) fn adagrad_vectors(grads: &[[f64; 2]], delta: f64, full: bool) -> Vec<[f64; 2]> {
    if full {
        let mut accumulator = Accumulator::new(2, 0.0, delta);
        grads
            .iter()
            .map(|g| {
                let v = accumulator.update(g);
                [v[0], v[1]]
            })
            .collect()
    } else {
        let mut a = [0.0f64; 2];
        grads
            .iter()
            .map(|g| {
                let mut v = [0.0; 2];
                for k in 0..2 {
                    a[k] += g[k] * g[k];
                    let denominator = a[k].sqrt() + delta;
                    v[k] = if denominator > 0.0 { g[k] / denominator } else { 0.0 };
                }
                v
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim;
    use serde_json::{Value, json};

    #[test]
    fn first_step_is_normalized() {
        for (c, delta) in [(0.0, 0.0), (0.0, 1e-3), (0.5, 1e-7)] {
            let g = [3.0, -4.0, 12.0];
            let mut accumulator = Accumulator::new(3, c, delta);
            let v = accumulator.update(&g).to_vec();
            let scale = 1.0 / ((c + 169.0f64).sqrt() + delta);
            for (vk, gk) in v.iter().zip(g) {
                assert!((vk - gk * scale).abs() < 1e-15, "{v:?}");
            }
        }
    }

    #[test]
    fn switches_to_the_dense_form_at_d_gradients() {
        let mut accumulator = Accumulator::new(3, 0.0, 1e-7);
        for (t, g) in [[1.0, 2.0, 0.5], [0.0, 0.0, 0.0], [-1.0, 0.5, 2.0], [0.3, 0.3, -1.0]]
            .iter()
            .enumerate()
        {
            let v = accumulator.update(g).to_vec();
            assert!(v.iter().all(|x| x.is_finite()));
            assert_eq!(accumulator.is_dense(), t == 3, "step {t}");
        }
    }

    #[test]
    fn repeated_gradient_uses_the_pseudo_inverse() {
        // G = 2 g g^T is rank one: v = g / (sqrt(2) |g| + delta), nothing from the null space.
        for delta in [0.0, 1e-7] {
            let g = [1.0, -2.0, 2.0];
            let mut accumulator = Accumulator::new(3, 0.0, delta);
            accumulator.update(&g);
            let v = accumulator.update(&g).to_vec();
            for (vk, gk) in v.iter().zip(g) {
                let expected = gk / (2.0f64.sqrt() * 3.0 + delta);
                assert!((vk - expected).abs() < 1e-14, "{v:?}");
            }
        }
    }

    #[test]
    fn non_finite_gradients_diverge_without_panicking() {
        let mut accumulator = Accumulator::new(2, 0.0, 1e-7);
        accumulator.update(&[1.0, 1.0]);
        assert!(accumulator.update(&[f64::NAN, 1.0]).iter().all(|v| v.is_nan()));
        assert!(accumulator.update(&[1.0, 1.0]).iter().all(|v| v.is_nan()));
        assert!(accumulator.is_diverged());
        let mut wrong_length = Accumulator::new(2, 0.0, 1e-7);
        assert!(wrong_length.update(&[1.0]).iter().all(|v| v.is_nan()));
        let mut huge = Accumulator::new(2, 0.0, 0.0);
        let v = huge.update(&[f32::MAX as f64, -(f32::MAX as f64)]).to_vec();
        assert!(v.iter().all(|x| x.is_finite()));
    }

    #[test]
    fn diagonal_vectors_match_the_formula() {
        let v = adagrad_vectors(&[[3.0, 0.0], [4.0, 1.0]], 0.0, false);
        assert_eq!(v, vec![[1.0, 0.0], [0.8, 1.0]]);
    }

    fn entry() -> optim::Entry {
        optim::Entry::of::<AdagradFullConfig>()
    }

    fn parse(given: Value) -> crate::error::Parsed<optim::OptimizerSpec> {
        entry().parse(given.as_object().unwrap().clone())
    }

    #[test]
    fn defaults_and_validation() {
        let defaults = entry().defaults().hyperparameters();
        assert_eq!(
            Value::Object(defaults),
            json!({"learning_rate": 0.001, "epsilon": 1e-7, "initial_accumulator_value": 0.0, "weight_decay": null})
        );
        assert!(parse(json!({"learning_rate": 0.5, "epsilon": 0.0, "weight_decay": 0.01})).is_ok());
        for (given, field) in [
            (json!({"learning_rate": 0.0}), "learning_rate"),
            (json!({"learning_rate": -1.0}), "learning_rate"),
            (json!({"epsilon": -1e-7}), "epsilon"),
            (json!({"initial_accumulator_value": -0.1}), "initial_accumulator_value"),
            (json!({"weight_decay": -0.1}), "weight_decay"),
            (json!({"epsilon": "small"}), "epsilon"),
        ] {
            let got = parse(given.clone()).expect_err(&given.to_string());
            assert_eq!(got.path(), field, "{given}");
        }
        let e = parse(json!({"rho": 0.9})).unwrap_err();
        let (field, message) = (e.path(), e.message());
        assert_eq!(field, "rho");
        assert!(
            message.contains("learning_rate, epsilon, initial_accumulator_value, weight_decay"),
            "{message}"
        );
    }

    #[test]
    fn weight_decay_is_decoupled() {
        let device = crate::backend::Backend::default().device().unwrap();
        let config = AdagradFullConfig {
            learning_rate: 0.5.into(),
            weight_decay: Some(0.1),
            ..AdagradFullConfig::default()
        };
        let mut optimizer = <AdagradFullConfig as optim::Config>::build(&[config], &device);
        let w = Tensor::<2>::from_data(TensorData::new(vec![2.0f32, -1.0], [1, 2]), &device);
        let g = Tensor::<2>::from_data(TensorData::new(vec![3.0f32, 4.0], [1, 2]), &device);
        let got: Vec<f32> = crate::optim::step_with_gradient(optimizer.as_mut(), w, g)
            .into_data()
            .iter::<f32>()
            .collect();
        // w <- w - w * 0.1 * 0.5 (in f32, as WeightDecay does), then w - 0.5 g / (5 + 1e-7).
        let decayed = [2.0f32, -1.0f32].map(|w| w - w * 0.1f32 * 0.5f32);
        for (k, gk) in [3.0, 4.0].iter().enumerate() {
            let expected = (decayed[k] as f64 - 0.5 * gk / (5.0 + 1e-7)) as f32;
            assert_eq!(got[k], expected);
        }
    }
}
