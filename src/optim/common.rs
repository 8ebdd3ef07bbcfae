//! Pieces every rule shares, written once: per-row hyperparameter columns and learning rates,
//! bias correction, the Adam-family moments and Keras's decoupled weight decay; then optax's
//! numerics (its moving averages, bias correction, norms and fused operations, rounded as jax
//! rounds them eagerly in `float32`: see [`Ema`]).

use super::LearningRate;
use burn::tensor::{Device, Tensor, TensorData};

/// One value per row as an `[N, 1]` column of `f32`, so it broadcasts over a row's `d`
/// coordinates. Values are computed in `f64` first, as Keras computes Python-float expressions
/// such as `1 - beta_1` before casting them to the variable's dtype.
pub(crate) fn column(values: impl IntoIterator<Item = f64>, device: &Device) -> Tensor<2> {
    let values: Vec<f32> = values.into_iter().map(|v| v as f32).collect();
    let n = values.len();
    Tensor::from_data(TensorData::new(values, [n, 1]), device)
}

/// `beta^t` per row, in `f32` as Keras computes `ops.power(cast(beta), t)`.
pub(crate) fn power(beta: &Tensor<2>, t: u64) -> Tensor<2> {
    beta.clone().powf_scalar(t as f32)
}

/// Keras's bias-correction factor `1 - beta^t` per row.
pub(crate) fn one_minus_power(beta: &Tensor<2>, t: u64) -> Tensor<2> {
    power(beta, t).neg().add_scalar(1.0)
}

/// The Euclidean norm of each row, as an `[N, 1]` column: the norm over "the whole layer"
/// that LAMB and LARS take, with each row its own run.
pub(crate) fn row_norm(x: Tensor<2>) -> Tensor<2> {
    x.square().sum_dim(1).sqrt()
}

/// `value` in the rows where both norm columns `a` and `b` are positive, 1 elsewhere: the
/// trust ratio with its fallback (LAMB, LARS). All three are `[N, 1]` columns.
pub(crate) fn positive_or_one(a: &Tensor<2>, b: &Tensor<2>, value: Tensor<2>) -> Tensor<2> {
    let both = a.clone().greater_elem(0.0).bool_and(b.clone().greater_elem(0.0));
    value.ones_like().mask_where(both, value)
}

/// Every row's learning rate, as the `[N, 1]` column of each step: built once when all rows
/// are constants, evaluated on the host each step when some row has a schedule.
// (A tensor's size depends on the backends built in: ~660 bytes with the GPU ones. One value
// per optimizer, not worth a box.)
#[allow(clippy::large_enum_variant)]
pub(crate) enum Rates {
    /// The same every step.
    Constant(Tensor<2>, Vec<f32>),
    /// Some row is scheduled.
    Scheduled(Vec<LearningRate>, Device),
}

impl Rates {
    /// From each row's learning rate.
    pub(crate) fn new(rows: Vec<LearningRate>, device: &Device) -> Self {
        if rows.iter().all(|r| r.constant().is_some()) {
            let host: Vec<f32> = rows.iter().map(|r| r.at(0)).collect();
            Rates::Constant(column(host.iter().map(|&v| v as f64), device), host)
        } else {
            Rates::Scheduled(rows, device.clone())
        }
    }

    /// The rates at iteration `k` (0-based): the column and its host values.
    pub(crate) fn at(&self, k: u64) -> (Tensor<2>, Vec<f32>) {
        match self {
            Rates::Constant(col, host) => (col.clone(), host.clone()),
            Rates::Scheduled(rows, device) => {
                let host: Vec<f32> = rows.iter().map(|r| r.at(k)).collect();
                (column(host.iter().map(|&v| v as f64), device), host)
            }
        }
    }
}

/// Keras's decoupled weight decay, shared by every optimizer: before each update,
/// `w <- w - (w * lambda) * eta_t`. Never added to the gradient; scaled by the step's learning
/// rate. Rows without decay get `lambda = 0`, which leaves them bit-for-bit unchanged.
///
/// In graph mode TensorFlow's optimizer reassociates Keras's `w * lambda * eta` to
/// `w * (lambda * eta)` (one broadcast instead of two), so the factor is the `f32` product of
/// the `f32` values, rounded once, as here.
#[allow(clippy::large_enum_variant)] // (as `Rates`)
pub(crate) enum WeightDecay {
    /// No row decays.
    None,
    /// Constant rates: the `lambda * eta` column, computed once.
    Constant(Tensor<2>),
    /// Scheduled rates: each row's `lambda` in `f32`, multiplied by each step's rate.
    Scheduled(Vec<f32>, Device),
}

impl WeightDecay {
    /// From each row's decay (`None`: no decay) and learning rates.
    pub(crate) fn new(rows: impl IntoIterator<Item = Option<f64>>, rates: &Rates, device: &Device) -> Self {
        let rows: Vec<Option<f64>> = rows.into_iter().collect();
        if rows.iter().all(Option::is_none) {
            return WeightDecay::None;
        }
        let lambda: Vec<f32> = rows.iter().map(|wd| wd.unwrap_or(0.0) as f32).collect();
        match rates {
            Rates::Constant(_, lr) => WeightDecay::Constant(factor(&lambda, lr, device)),
            Rates::Scheduled(..) => WeightDecay::Scheduled(lambda, device.clone()),
        }
    }

    /// Applies the decay to every row, with this step's learning rates.
    pub(crate) fn apply(&self, w: Tensor<2>, lr_host: &[f32]) -> Tensor<2> {
        match self {
            WeightDecay::None => w,
            WeightDecay::Constant(f) => w.clone() - w * f.clone(),
            WeightDecay::Scheduled(lambda, device) => w.clone() - w * factor(lambda, lr_host, device),
        }
    }
}

/// The `lambda * eta` column, each product rounded once in `f32`.
fn factor(lambda: &[f32], lr: &[f32], device: &Device) -> Tensor<2> {
    column(lambda.iter().zip(lr).map(|(l, r)| (l * r) as f64), device)
}

/// Keras's exponential moving average in increment form, `m + (1 - beta) (x - m)`, with
/// `1 - beta` a per-row column (Adam's, Adamax's, LAMB's and Nadam's moments).
pub(crate) fn ema(m: Tensor<2>, x: Tensor<2>, one_minus_beta: &Tensor<2>) -> Tensor<2> {
    m.clone() + (x - m) * one_minus_beta.clone()
}

/// The per-row hyperparameters of the Adam family (Adam, Adamax, Nadam, LAMB): `beta_1`,
/// `beta_2`, `1 - beta_1`, `1 - beta_2` (subtracted in `f64`, as Keras subtracts Python floats)
/// and `eps`.
pub(crate) struct AdamColumns {
    /// `beta_1`.
    pub beta_1: Tensor<2>,
    /// `beta_2`.
    pub beta_2: Tensor<2>,
    /// `1 - beta_1`.
    pub one_minus_beta_1: Tensor<2>,
    /// `1 - beta_2`.
    pub one_minus_beta_2: Tensor<2>,
    /// `eps`.
    pub epsilon: Tensor<2>,
}

impl AdamColumns {
    /// From each row's `(beta_1, beta_2, epsilon)`.
    pub(crate) fn new(rows: impl IntoIterator<Item = (f64, f64, f64)>, device: &Device) -> Self {
        let rows: Vec<(f64, f64, f64)> = rows.into_iter().collect();
        let col = |f: fn(&(f64, f64, f64)) -> f64| column(rows.iter().map(f), device);
        AdamColumns {
            beta_1: col(|r| r.0),
            beta_2: col(|r| r.1),
            one_minus_beta_1: col(|r| 1.0 - r.0),
            one_minus_beta_2: col(|r| 1.0 - r.1),
            epsilon: col(|r| r.2),
        }
    }

    /// Both moments after gradient `g`: `m + (1 - beta_1) (g - m)` and
    /// `v + (1 - beta_2) (g^2 - v)`.
    pub(crate) fn moments(&self, m: Tensor<2>, v: Tensor<2>, g: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        (
            ema(m, g.clone(), &self.one_minus_beta_1),
            ema(v, g.square(), &self.one_minus_beta_2),
        )
    }
}

// ---------------------------------------------------------------------------------------------
// optax's numerics. optax runs op by op in float32 (the fixture's jax is eager); these follow its
// rounding: Python-float hyperparameters are combined in f64 and rounded once (`f32(1 - b)`),
// `b ** count` inside `bias_correction` is glibc's `powf` (XLA calls it; `f32::powf` on linux-gnu
// is the same function) but jax's `integer_pow` where optax writes it eagerly ([`ipow`]), a
// division of a row by a scalar is a multiplication by the scalar's reciprocal ([`div_s`]), and
// dots and `jnp.linalg.norm` are fused multiply-adds ([`vdot`], [`linalg_norm`], [`fma`]).
// ---------------------------------------------------------------------------------------------

/// One `f32` value per row as an `[N, 1]` column, for values already rounded as optax rounds
/// them (per-row scalars computed on the host).
pub(crate) fn column32(values: impl IntoIterator<Item = f32>, device: &Device) -> Tensor<2> {
    column(values.into_iter().map(f64::from), device)
}

/// A batch from its values, row after row.
fn from_host(values: Vec<f32>, shape: [usize; 2], device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// `a * b + c` rounded once, elementwise (`[N, 1]` columns broadcast over the rows): XLA's fused
/// multiply-add where it fuses optax's arithmetic. burn has no fused multiply-add, so it is
/// computed on the host with [`f32::mul_add`] (a round trip of an `[N, 2]` batch costs about a
/// microsecond on the CPU backends).
pub(crate) fn fma(a: Tensor<2>, b: Tensor<2>, c: Tensor<2>) -> Tensor<2> {
    let shape = [0, 1].map(|k| a.dims()[k].max(b.dims()[k]).max(c.dims()[k]));
    if crate::capture::recording() {
        return crate::capture::fused_multiply_add(&a, &b, &c, shape);
    }
    let device = c.device();
    // One read-back of the three (each a sync on a GPU backend).
    let host = crate::tensor::to_vec(Tensor::cat(vec![a.expand(shape), b.expand(shape), c.expand(shape)], 0));
    let (a, rest) = host.split_at(shape[0] * shape[1]);
    let (b, c) = rest.split_at(a.len());
    let out = a.iter().zip(b).zip(c).map(|((a, b), c)| a.mul_add(*b, *c)).collect();
    from_host(out, shape, &device)
}

/// `optax.tree.vdot` of each pair of rows, an `[N, 1]` column: XLA's dot, `a0 b0` then
/// `fma(a_i, b_i, acc)` for each further coordinate (`fma(a1, b1, a0 b0)` for two).
pub(crate) fn vdot(a: Tensor<2>, b: Tensor<2>) -> Tensor<2> {
    let [n, d] = a.dims();
    if crate::capture::recording() {
        // The same arithmetic column by column, so that a recording sees it.
        let col = |t: &Tensor<2>, i: usize| t.clone().narrow(1, i, 1);
        return (1..d).fold(col(&a, 0) * col(&b, 0), |acc, i| fma(col(&a, i), col(&b, i), acc));
    }
    let device = a.device();
    let host = crate::tensor::to_vec(Tensor::cat(vec![a, b], 0));
    let (a, b) = host.split_at(n * d);
    let out = a
        .chunks(d)
        .zip(b.chunks(d))
        .map(|(a, b)| (1..d).fold(a[0] * b[0], |acc, i| a[i].mul_add(b[i], acc)))
        .collect();
    from_host(out, [n, 1], &device)
}

/// `jnp.linalg.norm` of each row, an `[N, 1]` column: a jitted reduction, `sqrt(fma(x0, x0,
/// x1 x1))` for two coordinates (the last square first, then fused from the end).
pub(crate) fn linalg_norm(x: Tensor<2>) -> Tensor<2> {
    let [n, d] = x.dims();
    if crate::capture::recording() {
        // The same arithmetic column by column, so that a recording sees it.
        let col = |i: usize| x.clone().narrow(1, i, 1);
        let last = col(d - 1) * col(d - 1);
        return (0..d - 1).rev().fold(last, |acc, i| fma(col(i), col(i), acc)).sqrt();
    }
    let device = x.device();
    let out = crate::tensor::to_vec(x)
        .chunks(d)
        .map(|x| {
            (0..d - 1)
                .rev()
                .fold(x[d - 1] * x[d - 1], |acc, i| x[i].mul_add(x[i], acc))
                .sqrt()
        })
        .collect();
    from_host(out, [n, 1], &device)
}

/// `optax.tree.norm(x, squared=True)` of each row, an `[N, 1]` column: `x0 x0 + x1 x1`, each
/// product rounded (not fused).
pub(crate) fn sumsq(x: Tensor<2>) -> Tensor<2> {
    (x.clone() * x).sum_dim(1)
}

/// `optax.tree.norm(x)` of each row: `sqrt(x0 x0 + x1 x1)`, not fused.
pub(crate) fn norm(x: Tensor<2>) -> Tensor<2> {
    sumsq(x).sqrt()
}

/// `x / s` for a per-row scalar `s` (`[N, 1]`) as XLA computes it: `x * (1 / s)`.
pub(crate) fn div_s(x: Tensor<2>, s: Tensor<2>) -> Tensor<2> {
    x * s.recip()
}

/// `jax.lax.integer_pow(x, n)`, `n >= 1`: binary exponentiation in `f32` (the lowest set bit
/// first, squaring between bits), as jax computes `x ** n` for a concrete integer `n`.
pub(crate) fn ipow(mut x: f32, mut n: u64) -> f32 {
    let mut acc: Option<f32> = None;
    while n > 0 {
        if n & 1 == 1 {
            acc = Some(acc.map_or(x, |a| a * x));
        }
        n >>= 1;
        if n > 0 {
            x *= x;
        }
    }
    acc.unwrap_or(1.0)
}

/// Adam's step correction `sqrt(1 - b2^n) / (1 - b1^n)` of each row (an `[N, 1]` column) as
/// prodigy and dadapt_adamw compute it eagerly, from the float32 betas: the integer powers are
/// jax's `integer_pow` ([`ipow`]), the root `powf(x, 0.5)`.
pub(crate) fn adam_correction(b1: &Ema, b2: &Ema, n: u64) -> Tensor<2> {
    let rows = b1.host.iter().zip(&b2.host);
    column32(
        rows.map(|(&b1, &b2)| (1.0 - ipow(b2, n)).powf(0.5) / (1.0 - ipow(b1, n))),
        &b1.decay.device(),
    )
}

/// `jnp.maximum(a, b)`: the larger, NaN if either is NaN (burn's `max_pair` keeps `a` when `b`
/// is NaN). Same shapes.
pub(crate) fn maximum(a: Tensor<2>, b: Tensor<2>) -> Tensor<2> {
    let nan = b.clone().is_nan();
    a.max_pair(b.clone()).mask_where(nan, b)
}

/// `jnp.minimum(a, b)`: the smaller, NaN if either is NaN. Same shapes.
pub(crate) fn minimum(a: Tensor<2>, b: Tensor<2>) -> Tensor<2> {
    let nan = b.clone().is_nan();
    a.min_pair(b.clone()).mask_where(nan, b)
}

/// `jnp.where(mask, yes, no)` with an `[N, 1]` mask of rows (host booleans) over `[N, d]` values.
pub(crate) fn where_rows(rows: &[bool], yes: Tensor<2>, no: Tensor<2>) -> Tensor<2> {
    if rows.iter().all(|&r| r) {
        return yes;
    }
    if !rows.iter().any(|&r| r) {
        return no;
    }
    let dims = no.dims();
    let mask = column32(rows.iter().map(|&r| f32::from(u8::from(r))), &no.device()).equal_elem(1.0);
    no.mask_where(mask.expand(dims), yes.expand(dims))
}

/// `scale_by_learning_rate`: `(-lr) u`, with this step's rate of every row (optax scales by the
/// Python float `-lr`; negation is exact, so this is the same product).
pub(crate) fn lr_scale(u: Tensor<2>, lr: &Tensor<2>) -> Tensor<2> {
    u * lr.clone().neg()
}

/// optax's exponential moving average with per-row decay `b` (`optax.tree.update_moment`):
/// `(1 - b) x + b m`, with `b` and `1 - b` Python floats (`1 - b` in `f64`, rounded once), and
/// its bias correction (`optax.tree.bias_correction`).
pub(crate) struct Ema {
    decay: Tensor<2>,
    complement: Tensor<2>,
    host: Vec<f32>,
}

impl Ema {
    /// From each row's decay.
    pub(crate) fn new(decays: impl IntoIterator<Item = f64>, device: &Device) -> Self {
        let decays: Vec<f64> = decays.into_iter().collect();
        Ema {
            decay: column(decays.iter().copied(), device),
            complement: column(decays.iter().map(|b| 1.0 - b), device),
            host: decays.iter().map(|&b| b as f32).collect(),
        }
    }

    /// `b`, an `[N, 1]` column.
    pub(crate) fn decay(&self) -> &Tensor<2> {
        &self.decay
    }

    /// `1 - b` (rounded once from `f64`), an `[N, 1]` column.
    pub(crate) fn complement(&self) -> &Tensor<2> {
        &self.complement
    }

    /// `(1 - b) x + b m` (`update_moment(x, m, b, 1)`).
    pub(crate) fn update(&self, x: Tensor<2>, m: Tensor<2>) -> Tensor<2> {
        x * self.complement.clone() + m * self.decay.clone()
    }

    /// `(1 - b) x^2 + b m` (`update_moment_per_elem_norm(x, m, b, 2)`, `x ** 2` being `x * x`).
    pub(crate) fn update_squared(&self, x: Tensor<2>, m: Tensor<2>) -> Tensor<2> {
        (x.clone() * x) * self.complement.clone() + m * self.decay.clone()
    }

    /// `m / (1 - b^n)` as `bias_correction` computes it: `m * (1 / (1 - powf(b, n)))`, the power
    /// glibc's `powf` (the function is jitted, `n` traced).
    pub(crate) fn debias(&self, m: Tensor<2>, n: u64) -> Tensor<2> {
        let factor = self.host.iter().map(|&b| 1.0 / (1.0 - b.powf(n as f32)));
        m * column32(factor, &self.decay.device())
    }

    /// Adam's corrected first moment `mu_hat` after `n` updates, with optax's Nesterov form
    /// `b debias(mu, n + 1) + (1 - b) debias(g, n)` when `nesterov`.
    pub(crate) fn debias_momentum(&self, mu: Tensor<2>, g: Tensor<2>, n: u64, nesterov: bool) -> Tensor<2> {
        if nesterov {
            self.debias(mu, n + 1) * self.decay.clone() + self.debias(g, n) * self.complement.clone()
        } else {
            self.debias(mu, n)
        }
    }
}

/// `add_decayed_weights(weight_decay)`: `u + lambda p` per row, skipped altogether when no row
/// decays (optax skips it for the constant `0.0`; a row with `lambda = 0` batched with decaying
/// rows adds `0 p`, which can only change the sign of a zero).
pub(crate) struct AddDecayed(Option<Tensor<2>>);

impl AddDecayed {
    /// From each row's `lambda`.
    pub(crate) fn new(lambdas: impl IntoIterator<Item = f64>, device: &Device) -> Self {
        let lambdas: Vec<f64> = lambdas.into_iter().collect();
        AddDecayed(lambdas.iter().any(|&l| l != 0.0).then(|| column(lambdas, device)))
    }

    /// `u + lambda p`.
    pub(crate) fn apply(&self, u: Tensor<2>, p: Tensor<2>) -> Tensor<2> {
        match &self.0 {
            Some(lambda) => u + p * lambda.clone(),
            None => u,
        }
    }
}

/// This step's rate of every row in `f64`: the constant as written (so Python-float expressions
/// of it such as MoMo's `1 + lr lambda` round as optax's do), or a schedule's `f32` value.
pub(crate) fn rates_f64(constants: &[Option<f64>], lr_host: &[f32]) -> Vec<f64> {
    constants
        .iter()
        .zip(lr_host)
        .map(|(c, &lr)| c.unwrap_or(f64::from(lr)))
        .collect()
}

/// Helpers for the rules' unit tests: rows in, rows out, stepping through [`super::stateful`]
/// (so the decoupled weight decay is included, as the runner steps them).
#[cfg(test)]
pub(crate) mod test_util {
    use super::super::Config;
    use burn::tensor::{Device, Tensor, TensorData};

    /// The CPU device the unit tests run on.
    pub(crate) fn device() -> Device {
        crate::backend::Backend::default().device().unwrap()
    }

    /// A batch `[N, d]` from its rows.
    pub(crate) fn tensor(rows: &[Vec<f32>]) -> Tensor<2> {
        let (n, d) = (rows.len(), rows[0].len());
        let flat: Vec<f32> = rows.iter().flatten().copied().collect();
        Tensor::from_data(TensorData::new(flat, [n, d]), &device())
    }

    /// The rows of a batch.
    pub(crate) fn rows(t: Tensor<2>) -> Vec<Vec<f32>> {
        let d = t.dims()[1];
        let flat: Vec<f32> = t.into_data().iter::<f32>().collect();
        flat.chunks(d).map(<[f32]>::to_vec).collect()
    }

    /// Steps rows configured by `configs` from `w0` with the given gradients (one batch per
    /// step) and returns the rows after every step.
    pub(crate) fn steps<C: Config>(configs: &[C], w0: &[Vec<f32>], grads: &[Vec<Vec<f32>>]) -> Vec<Vec<Vec<f32>>> {
        let mut opt = C::build(configs, &device());
        let mut w = tensor(w0);
        grads
            .iter()
            .map(|g| {
                w = super::super::step_with_gradient(opt.as_mut(), w.clone(), tensor(g));
                rows(w.clone())
            })
            .collect()
    }

    /// As [`steps`], with the loss of every row at every step (`losses[step][row]`), for the
    /// rules that use it.
    pub(crate) fn steps_with_loss<C: Config>(
        configs: &[C],
        w0: &[Vec<f32>],
        grads: &[Vec<Vec<f32>>],
        losses: &[Vec<f32>],
    ) -> Vec<Vec<Vec<f32>>> {
        let mut opt = C::build(configs, &device());
        let mut w = tensor(w0);
        let nan = |p: Tensor<2>| (p.clone().sum_dim(1).mul_scalar(f32::NAN), p.full_like(f32::NAN));
        grads
            .iter()
            .zip(losses)
            .map(|(g, l)| {
                let loss = super::column(l.iter().map(|&v| f64::from(v)), &device());
                let layout = crate::params::Layout::whole(w0[0].len());
                let env = super::super::Env {
                    loss: &loss,
                    layout: &layout,
                    gradient_at: &nan,
                };
                w = opt.step(w.clone(), tensor(g), &env);
                rows(w.clone())
            })
            .collect()
    }

    /// Calls `rule` directly `n` times from `w0` with the same gradient `g` and rate `lr` for
    /// every row (steps 1 to `n`, each moving by its increment): each step's increment, with
    /// `observe` of the state after it.
    pub(crate) fn increments<R: super::super::Rule, T>(
        rule: &R,
        w0: &[Vec<f32>],
        g: &[Vec<f32>],
        n: u64,
        lr: f32,
        observe: impl Fn(&R::State) -> T,
    ) -> Vec<(Vec<Vec<f32>>, T)> {
        let (mut w, g) = (tensor(w0), tensor(g));
        let mut state = Some(rule.init(&w));
        (1..=n)
            .map(|t| {
                let ctx = Ctx::new(t, &vec![lr; w0.len()], w0[0].len());
                let before = state.take().expect("put back every step");
                let (u, next) = rule.update(w.clone(), g.clone(), before, &ctx.step());
                let u = u.increment(w.clone());
                let seen = observe(&next);
                state = Some(next);
                w = w.clone() + u.clone();
                (rows(u), seen)
            })
            .collect()
    }

    /// The context of step `t` with learning rates `lr`, for calling a rule directly.
    pub(crate) struct Ctx {
        t: u64,
        lr: Tensor<2>,
        host: Vec<f32>,
        loss: Tensor<2>,
        layout: crate::params::Layout,
    }

    impl Ctx {
        /// Step `t` (1-based) with one rate per row.
        pub(crate) fn new(t: u64, lr: &[f32], d: usize) -> Self {
            Ctx {
                t,
                lr: super::column(lr.iter().map(|&v| v as f64), &device()),
                host: lr.to_vec(),
                loss: super::column(lr.iter().map(|_| f64::NAN), &device()),
                layout: crate::params::Layout::whole(d),
            }
        }

        /// As the rule sees it.
        pub(crate) fn step(&self) -> super::super::Step<'_> {
            super::super::Step {
                t: self.t,
                lr: &self.lr,
                lr_host: &self.host,
                loss: &self.loss,
                layout: &self.layout,
            }
        }
    }

    /// `|a - b| <= tol (1 + |b|)` for every coordinate.
    pub(crate) fn assert_close(a: &[Vec<f32>], b: &[Vec<f64>], tol: f64) {
        for (ra, rb) in a.iter().zip(b) {
            for (&x, &y) in ra.iter().zip(rb) {
                assert!(
                    (x as f64 - y).abs() <= tol * (1.0 + y.abs()),
                    "{a:?} != {b:?} (tolerance {tol})"
                );
            }
        }
    }
}
