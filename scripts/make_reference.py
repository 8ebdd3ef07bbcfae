#!/usr/bin/env python3
"""Regenerate tests/fixtures/keras-extra.json (and, with --set, keras-schedules.json,
keras-long.json, optax-reference.json or keras-mlp.json): reference optimizer trajectories computed
with real TensorFlow/Keras (and optax for LARS, which Keras lacks), with optax 0.2.8 for its newer
optimizers (--set optax), and MLPs trained by every Keras optimizer and optax's LARS (--set mlp).

CI never runs this script (it does not install TensorFlow); it only reads the
committed JSON.  To regenerate the fixture, from the repository root:

    python3.11 -m venv /tmp/refvenv
    /tmp/refvenv/bin/pip install -r scripts/requirements.txt
    /tmp/refvenv/bin/python scripts/make_reference.py                  # writes tests/fixtures/keras-extra.json
    /tmp/refvenv/bin/python scripts/make_reference.py --set schedules  # writes tests/fixtures/keras-schedules.json
    /tmp/refvenv/bin/python scripts/make_reference.py --set long       # writes tests/fixtures/keras-long.json
    /tmp/refvenv/bin/python scripts/make_reference.py --set optax --jobs 2   # tests/fixtures/optax-reference.json
    nice -n 10 /tmp/refvenv/bin/python scripts/make_reference.py --set mlp   # tests/fixtures/keras-mlp.json (~4 min)

Options:
    --set NAME              which cases (and which fixture they are written to by default):
                              extra      (default) Keras's optimizers with non-default hyperparameters
                                         and optax's LARS, 40 steps: keras-extra.json
                              schedules  Keras learning-rate schedules, 100 steps: keras-schedules.json
                              long       high learning rates, 300 steps: keras-long.json
                              optax      optax 0.2.8's newer optimizers (19 of them, defaults and each
                                         main hyperparameter), 100 steps over f0, f1, f4 and Rosenbrock:
                                         optax-reference.json (needs only jax, optax and numpy; see
                                         "The optax set" below)
                              mlp        multilayer perceptrons over iris and two moons, every Keras
                                         optimizer and optax.lars, 200 full-batch steps: keras-mlp.json
                                         (see "The MLP set" below)
    --out PATH              write somewhere else
    --only SUBSTRING        only run cases whose name contains SUBSTRING (does not write unless --out is given);
                            with --verify-against, only verify those cases of FILE
    --verify-against FILE   first re-run every case of an existing reference file of the same
                            format (e.g. shared/reference/keras-blog-trajectories.json, or
                            tests/fixtures/optax-reference.json: a file written by --set optax is re-run
                            with the optax set's stepping, every recorded array compared) and report
                            whether this script's stepping reproduces it bit for bit (then runs --set as usual)
    --steps N               steps per case instead of the set's own (a trial: does not write unless
                            --out is given)
    --jobs N                optax set only: cases in N worker processes (nice -n 10 on a small machine)
    --gradients             instead, write tests/fixtures/tf-gradients.json (or --out): TensorFlow's
                            graph-mode gradients and smooth values of f0..f5 and the quadric at >= 10,000
                            points each (needs only tensorflow-cpu and numpy; see "Gradient fixture" below)

How a trajectory is made (the original blog post's stepping, float32 throughout):
  Keras: point = tf.Variable([[x0, y0]]); opt.build([point]); each step, inside one @tf.function:
         with tf.GradientTape() as tape: loss = f(point[..., 0], point[..., 1])   # shape [1]
         grads = tape.gradient(loss, [point]); opt.apply_gradients(zip(grads, [point]))
         (graph mode matters for the last bit: with it, --verify-against reproduces the blog post's
         reference trajectories bit for bit; eager mode does not)
  optax: params of shape [1, 2]; grads from jax.grad of sum(f(p[..., 0], p[..., 1]));
         updates, state = opt.update(grads, state, params); params = optax.apply_updates(params, updates)
         (the optax set: run eagerly, plus value=loss, sam's grad_fn and lookahead's fast/slow
         params where the optimizer needs them; see run_optax_case)

Each case records points (steps + 1 rows, start first), grads (one per step), smooth_loss (loss at
the point before each step) and stable_until: the last step k such that a rerun started with x0
moved one float32 ulp toward +inf agrees on every coordinate of points[0..=k] to
|a - b| <= 1e-4 * (1 + |b|) (== steps for non-chaotic cases; equal infinities or both NaN agree, which is
how shared/reference/keras-blog-trajectories.json counts them: --verify-against reproduces all its values).

Learning-rate schedules (--set schedules): a case's kwargs["learning_rate"] is the schedule as
experiment files write it, {"schedule": <Keras class name>, <constructor arguments>...}; the script
builds keras.optimizers.schedules.<class>(**arguments) from it. Such a case also records
learning_rates: the rate the optimizer used at each step (float32; the schedule evaluated inside the
step at the optimizer's iteration count before the update, i.e. schedule(0) on the first step), and
replay_until: the last step k up to which Keras re-run with a plain float learning rate set to
learning_rates[i] before step i reproduces points[0..=k] bit for bit (== steps unless grappler merges
the schedule's final product into the optimizer's arithmetic; see schedule_checks). The script checks
that the run reading the rate has the same points as the run that does not, and that the replay
stays within REL_TOL / 10 of the trajectory everywhere.

The optax set (--set optax): optax 0.2.8's adabelief, radam, yogi, adan, novograd, rprop, sign_sgd,
signum, lookahead, polyak_sgd and optax.contrib's schedule_free_adamw, prodigy, dadapt_adamw,
ademamix, adopt, sam, dog, cocob and momo (OPTAX_SETTINGS: each at its defaults and with each main
hyperparameter changed), over f0 and f1 from (9, 9), f4 from (-7.5, -1) and Rosenbrock
(1 - x)^2 + 100 (y - x^2)^2 from (-1.5, 2). Every step runs eagerly (op by op, no jax.jit: under
jit XLA contracts a * b + c into fused multiply-adds, which moves the last bits). A case's kwargs
are as passed to optax.<optimizer> or optax.contrib.<optimizer>; the wrappers take their inner
optimizer as {"optimizer": name, **kwargs} (lookahead's "fast", sam's "outer"; see make_optax).
Besides points, grads, smooth_loss and stable_until (over every recorded trajectory), a case
records, by optimizer: value (polyak_sgd, momo: the loss passed as update(..., value=...)),
eval_points (lookahead: the slow weights; schedule_free_adamw: schedule_free_eval_params),
adv_points and adv_grads (sam: the perturbed point of each step and the gradient there). The
fixture's _meta describes every field.

The MLP set (--set mlp): 39 cases (MLP_CASES), each an MLP trained full batch for 200 steps:
iris (data/iris.csv: the four measurements -> species_id, cross_entropy) with [16, 16] tanh under
every optimizer (sgd plain, momentum, nesterov + weight decay; rmsprop plain and centered + momentum;
adagrad; adadelta; adam and amsgrad; adamw; adamax; nadam; lion; lamb x2; ftrl x2; lars x2), then
relu, gelu and sigmoid hidden layers, widths and depths [4], [32], [8, 8, 8], residual [8, 8, 8]
(skip), unstandardized iris, binary_cross_entropy (iris is_virginica from 2 or 3 measurements; a
200-row two-moons table made with numpy, moons_data) and mse (petal_width from the other three
measurements); lamb at 6 settings and lars at 5, since their trust ratios are per variable (per
kernel and per bias). Keras: a functional keras.Model of Dense layers (a residual layer is
keras.layers.Add()([h, Dense(h)])), its trainable_variables set to the case's init, the loss Keras's
loss class; each step, inside one @tf.function (graph mode, as the other sets):
    with tf.GradientTape() as tape: loss = loss_fn(y, model(X, training=True))
    grads = tape.gradient(loss, model.trainable_variables); opt.apply_gradients(zip(grads, ...))
lars: optax.lars(**kwargs) eagerly (no jax.jit), params = [k0, b0, k1, b1, ...] (a leaf per kernel
and bias: its trust ratio is per leaf), the same forward pass and losses in jax.numpy (run_mlp_lars).
What the Rust side must compute (the fixture's _meta describes every field):
  data      standardize: per feature column, mean and population std (ddof=0) in float64, then
            (u - mean) * (1.0 / std) in float64 (a constant column is only centred), cast to float32;
            targets: int labels (cross_entropy), float32 (binary_cross_entropy, mse)
  model     hidden layer k: h = act(h @ W_k + b_k); with skip, a hidden layer k > 0 whose input width
            equals its width is h = h + act(h @ W_k + b_k); logits = h @ W_out + b_out (linear), width
            max(label) + 1 for cross_entropy, else 1. gelu is the exact form as Keras's
            activations.gelu (approximate=False; careful: Keras's backend op ops.gelu defaults to the
            tanh approximation) computes it through tf.nn.gelu: 0.5 * x * erfc(-x * 0.70710677f)
            (erfc, not 1 + erf: the same value, more exact for negative x)
  losses    mean over the batch (Keras's sum_over_batch_size: sum / N); cross_entropy is
            tf.nn.sparse_softmax_cross_entropy_with_logits (log-sum-exp with the row max subtracted,
            gradient softmax - onehot); binary_cross_entropy is tf.nn.sigmoid_cross_entropy_with_logits,
            max(z, 0) - z * t + log1p(exp(-|z|)) (at z = 0 the gradient takes the z >= 0 branch);
            mse: mean((y - z)^2)
  optimizer each kernel and each bias is its own Keras variable: the elementwise optimizers are as on a
            surface, but Lamb's w_norm = ||var||_2 and g_norm = ||m_hat / (sqrt(v_hat) + eps)||_2 are
            per variable, ratio = w_norm / g_norm (1 where either is 0), var -= ratio * lr * update.
            Keras's weight_decay (every optimizer, Lamb included) is applied first, to every variable
            (biases too: exclude_from_weight_decay is empty by default): var -= var * wd * lr; only then
            the update step, so Lamb's w_norm is the norm after that decay. optax.lars, per leaf:
            u = g + wd * w; trust = tc * ||w|| / (||u|| + eps) (1 where ||w|| or ||u|| is 0); u *= trust;
            u *= -lr; then m = u + momentum * m and the update is m (nesterov: u + momentum * m, the new
            m); the trust ratio is taken before the momentum
Each case records its data inline (columns, rows as in the source, x, y), standardize, model, init
(Keras layout {layers: [{kernel: [in][out], bias: [out]}]}), optimizer ({optimizer: optsurf's name,
...kwargs}), steps, loss (steps + 1: the tape's loss of each step, then the loss at the final weights),
final (the weights after the last step) and stable_until (over loss, init nudged one ulp toward +inf).
Before writing, each case is run twice (bit-identical), its loss[0] is recomputed in numpy float64
(within 1e-5 relative), Keras's trainable_variables are checked to be k0, b0, k1, b1, ... with the
layout's shapes, and every case must lose 30% of its loss. The rates were chosen so that, besides
stable_until == steps, the run stays within ~1e-5 of itself under other roundings (TF eager instead
of graph, oneDNN off, jax.jit for lars, init nudged either way): normalised steps (Lamb, LARS) and
RMSprop bounce chaotically once the loss flattens, so their rates stop short of that.

Gradient fixture (--gradients): for every surface of the post and the quadric (f0..f5, quadric;
not rosenbrock, which only the optax set uses), the float32 gradient (gx, gy) and smooth value
(noise terms left out) that TensorFlow's graph computes, one point at a time, exactly as the post
does: point = tf.Variable([[x, y]]), then inside one @tf.function
    with tf.GradientTape() as tape: loss = f(point[..., 0], point[..., 1])    # shape [1]
    grad = tape.gradient(loss, point)
(a batched [N, 2] graph rounds some surfaces differently, so each point gets its own call.)
The points: a 64 x 64 grid over [-10, 10)^2 (step 0.3125, exact in float32), 4096 seeded random points
(3072 uniform in [-10, 10)^2, 512 uniform in [-50, 50)^2, 512 with log-uniform magnitudes in
[1e-6, 1) and random signs), the same for every surface; then per surface 2048 points near its
stationary points and on the curves where gx or gy vanishes, each nudged by 0..4 float32 ulps
(there the last bit decides a component's sign), plus signed zeros. No coordinate is subnormal or
below 1e-15 in magnitude (other than 0): TensorFlow's CPU kernels flush denormals to zero and burn
does not, so points whose intermediates leave the normal range differ for that reason alone.
Before writing, the script checks on a few hundred points that the post's own noise-included
step (its approximate_positional_noise: nearest cell through an int cast, no gradient) gives the
same gradient bits as the smooth surface.

Format of tf-gradients.json (every array: base64 of little-endian float32, i.e. exact bits):
  "_meta": versions, seed, this description
  "common": {"x": ..., "y": ...}                      the shared grid + random points
  "<surface>": {"formula": ..., "extra_x": ..., "extra_y": ...,   its own special points
                "gx": ..., "gy": ..., "loss": ...,  one value per point: common points, then extra ones
                "groups": {"grid": [start, end], "random": [...], "special": [...]}}
"""

import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np

STEPS = 40
REL_TOL = 1e-4
DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "keras-extra.json")

# ---------------------------------------------------------------------------------------------
# The cases: (name, surface, optimizer (Keras class lower case, or "lars" for optax), kwargs, p0)
# kwargs are the constructor kwargs exactly as passed (Keras), or exactly as passed to optax.lars.
# ---------------------------------------------------------------------------------------------
P_A, P_B, P_C, P_D, P_E = [9.0, 9.0], [7.5, -0.5], [-9.0, -2.5], [-7.5, -1.0], [3.0, -4.0]

CASES = [
    # --- SGD
    ("sgd-momentum-f1", "f1", "sgd", {"learning_rate": 5.0, "momentum": 0.8}, P_A),
    ("sgd-nesterov-f3", "f3", "sgd", {"learning_rate": 1.0, "momentum": 0.5, "nesterov": True}, P_C),
    ("sgd-wd-f5", "f5", "sgd", {"learning_rate": 2.0, "weight_decay": 0.05}, P_E),
    ("sgd-nesterov-wd-f4", "f4", "sgd", {"learning_rate": 5.0, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}, P_D),
    # --- RMSprop
    ("rmsprop-momentum-f0", "f0", "rmsprop", {"learning_rate": 0.05, "momentum": 0.9}, P_A),
    ("rmsprop-centered-f5", "f5", "rmsprop", {"learning_rate": 0.1, "centered": True}, P_E),
    ("rmsprop-centered-momentum-f4", "f4", "rmsprop", {"learning_rate": 0.05, "momentum": 0.5, "centered": True}, P_D),
    ("rmsprop-rho-eps-f1", "f1", "rmsprop", {"learning_rate": 0.1, "rho": 0.8, "epsilon": 0.001}, P_A),
    ("rmsprop-wd-f2", "f2", "rmsprop", {"learning_rate": 0.05, "weight_decay": 0.05}, P_B),
    # --- Adagrad
    ("adagrad-init0.5-f0", "f0", "adagrad", {"learning_rate": 1.0, "initial_accumulator_value": 0.5}, P_A),
    ("adagrad-init0-f4", "f4", "adagrad", {"learning_rate": 0.5, "initial_accumulator_value": 0.0}, P_D),
    ("adagrad-eps-f3", "f3", "adagrad", {"learning_rate": 0.5, "epsilon": 0.01}, P_C),
    ("adagrad-wd-f1", "f1", "adagrad", {"learning_rate": 1.0, "weight_decay": 0.05}, P_A),
    # --- Adadelta
    ("adadelta-lr1-rho0.9-f0", "f0", "adadelta", {"learning_rate": 1.0, "rho": 0.9}, P_A),
    ("adadelta-eps-f4", "f4", "adadelta", {"learning_rate": 1.0, "epsilon": 0.01}, P_D),
    ("adadelta-smalllr-f5", "f5", "adadelta", {"learning_rate": 0.1, "rho": 0.9, "epsilon": 0.001}, P_E),
    ("adadelta-wd-f1", "f1", "adadelta", {"learning_rate": 1.0, "epsilon": 0.0001, "weight_decay": 0.02}, P_A),
    # --- Adam
    ("adam-amsgrad-f3", "f3", "adam", {"learning_rate": 0.1, "amsgrad": True}, P_C),
    ("adam-betas-eps-f4", "f4", "adam", {"learning_rate": 0.2, "beta_1": 0.8, "beta_2": 0.99, "epsilon": 0.001}, P_D),
    ("adam-wd-f5", "f5", "adam", {"learning_rate": 0.3, "weight_decay": 0.02}, P_E),
    # --- AdamW
    ("adamw-wd0.05-f0", "f0", "adamw", {"learning_rate": 0.3, "weight_decay": 0.05}, P_A),
    ("adamw-amsgrad-f1", "f1", "adamw", {"learning_rate": 0.2, "weight_decay": 0.05, "amsgrad": True}, P_A),
    ("adamw-betas-f2", "f2", "adamw", {"learning_rate": 0.1, "weight_decay": 0.01, "beta_1": 0.5, "beta_2": 0.9}, P_B),
    # --- Adamax
    ("adamax-betas-f5", "f5", "adamax", {"learning_rate": 0.3, "beta_1": 0.7, "beta_2": 0.95}, P_A),
    ("adamax-eps-f4", "f4", "adamax", {"learning_rate": 0.5, "epsilon": 0.01}, P_D),
    ("adamax-wd-f3", "f3", "adamax", {"learning_rate": 0.2, "weight_decay": 0.05}, P_C),
    # --- Nadam
    ("nadam-betas-f1", "f1", "nadam", {"learning_rate": 0.3, "beta_1": 0.8, "beta_2": 0.99}, P_A),
    ("nadam-eps-f5", "f5", "nadam", {"learning_rate": 0.3, "epsilon": 0.01}, P_E),
    ("nadam-wd-f0", "f0", "nadam", {"learning_rate": 0.3, "weight_decay": 0.05}, P_A),
    # --- Lion
    ("lion-betas-f4", "f4", "lion", {"learning_rate": 0.2, "beta_1": 0.5, "beta_2": 0.9}, P_D),
    ("lion-beta2-f1", "f1", "lion", {"learning_rate": 0.3, "beta_2": 0.999}, P_A),
    ("lion-wd-f5", "f5", "lion", {"learning_rate": 0.2, "weight_decay": 0.1}, P_E),
    # --- Lamb (small learning rates: every Lamb step has norm lr * |w|, large ones are chaotic)
    ("lamb-betas-eps-f5", "f5", "lamb", {"learning_rate": 0.05, "beta_1": 0.8, "beta_2": 0.99, "epsilon": 0.0001}, P_A),
    ("lamb-wd-f0", "f0", "lamb", {"learning_rate": 0.02, "weight_decay": 0.05}, P_A),
    ("lamb-beta1-f3", "f3", "lamb", {"learning_rate": 0.03, "beta_1": 0.95}, P_C),
    # --- Ftrl
    ("ftrl-l1-f5", "f5", "ftrl", {"learning_rate": 1.0, "l1_regularization_strength": 0.01}, P_A),
    ("ftrl-l2-f4", "f4", "ftrl", {"learning_rate": 1.0, "l2_regularization_strength": 0.1}, P_D),
    ("ftrl-l1-l2-f4", "f4", "ftrl", {"learning_rate": 1.0, "l1_regularization_strength": 0.01, "l2_regularization_strength": 0.01}, P_D),
    ("ftrl-l2shrink-f0", "f0", "ftrl", {"learning_rate": 1.0, "l2_shrinkage_regularization_strength": 0.1}, P_A),
    ("ftrl-beta-f1", "f1", "ftrl", {"learning_rate": 1.0, "beta": 0.5}, P_A),
    ("ftrl-lrpow0.3-f5", "f5", "ftrl", {"learning_rate": 0.5, "learning_rate_power": -0.3}, P_E),
    ("ftrl-lrpow1-f0", "f0", "ftrl", {"learning_rate": 0.1, "learning_rate_power": -1.0}, P_A),
    ("ftrl-init0.5-f4", "f4", "ftrl", {"learning_rate": 1.0, "initial_accumulator_value": 0.5}, P_D),
    ("ftrl-all-wd-f3", "f3", "ftrl", {"learning_rate": 1.0, "learning_rate_power": -0.7, "initial_accumulator_value": 0.5,
                                      "l1_regularization_strength": 0.01, "l2_regularization_strength": 0.02,
                                      "l2_shrinkage_regularization_strength": 0.05, "beta": 0.3, "weight_decay": 0.02}, P_C),
    # --- LARS (optax.lars; every argument passed explicitly)
    ("lars-lr10-f0", "f0", "lars", {"learning_rate": 10.0, "momentum": 0.9, "nesterov": False, "weight_decay": 0.0,
                                    "trust_coefficient": 0.001, "eps": 0.0}, P_A),
    ("lars-tc0.1-f4", "f4", "lars", {"learning_rate": 0.2, "momentum": 0.9, "nesterov": False, "weight_decay": 0.0,
                                     "trust_coefficient": 0.1, "eps": 0.0}, P_D),
    ("lars-nesterov-f5", "f5", "lars", {"learning_rate": 10.0, "momentum": 0.9, "nesterov": True, "weight_decay": 0.0,
                                        "trust_coefficient": 0.001, "eps": 0.0}, P_E),
    ("lars-wd-f1", "f1", "lars", {"learning_rate": 10.0, "momentum": 0.9, "nesterov": False, "weight_decay": 0.01,
                                  "trust_coefficient": 0.001, "eps": 0.0}, P_A),
    ("lars-eps-f3", "f3", "lars", {"learning_rate": 10.0, "momentum": 0.9, "nesterov": False, "weight_decay": 0.0,
                                   "trust_coefficient": 0.001, "eps": 0.1}, P_C),
    ("lars-nomomentum-f2", "f2", "lars", {"learning_rate": 1.0, "momentum": 0.0, "nesterov": False, "weight_decay": 0.001,
                                          "trust_coefficient": 0.05, "eps": 0.01}, P_B),
]

# ---------------------------------------------------------------------------------------------
# --set schedules: every Keras learning-rate schedule with several optimizers (all 11 Keras ones
# across the set), 100 steps from starts other than the post's (9, 9).
# kwargs["learning_rate"] is the schedule object exactly as experiment files write it.
# ---------------------------------------------------------------------------------------------
SCHEDULE_STEPS = 100
SCHEDULE_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "keras-schedules.json")


def sched(name, **args):
    return {"schedule": name, **args}


SCHEDULE_CASES = [
    # --- ExponentialDecay
    ("exp-sgd-nesterov-f5", "f5", "sgd", {"learning_rate": sched("ExponentialDecay", initial_learning_rate=60.0, decay_steps=10,
                                                                  decay_rate=0.8), "momentum": 0.9, "nesterov": True}, [-7.5, 6.0]),
    ("exp-staircase-adam-f1", "f1", "adam", {"learning_rate": sched("ExponentialDecay", initial_learning_rate=0.5, decay_steps=7,
                                                                     decay_rate=0.5, staircase=True)}, [7.5, -0.5]),
    ("exp-ftrl-f4", "f4", "ftrl", {"learning_rate": sched("ExponentialDecay", initial_learning_rate=3.0, decay_steps=20,
                                                           decay_rate=0.7)}, [-7.5, -1.0]),
    # decay_steps=41: step * (1/41) at step 41 and 82 rounds below 1 and 2, so the stairs come one step late
    ("exp-staircase41-lion-f3", "f3", "lion", {"learning_rate": sched("ExponentialDecay", initial_learning_rate=0.3, decay_steps=41,
                                                                       decay_rate=0.5, staircase=True)}, [-9.0, -2.5]),
    # --- PiecewiseConstantDecay
    ("piecewise-sgd-f0", "f0", "sgd", {"learning_rate": sched("PiecewiseConstantDecay", boundaries=[20, 50],
                                                              values=[60.0, 20.0, 5.0])}, [8.0, -6.0]),
    ("piecewise-rmsprop-centered-f2", "f2", "rmsprop", {"learning_rate": sched("PiecewiseConstantDecay", boundaries=[30, 60],
                                                                               values=[0.3, 0.1, 0.03]), "centered": True}, [7.5, -0.5]),
    ("piecewise-adadelta-f5", "f5", "adadelta", {"learning_rate": sched("PiecewiseConstantDecay", boundaries=[40],
                                                                        values=[20.0, 5.0]), "rho": 0.9}, [3.0, -4.0]),
    ("piecewise-lamb-wd-f4", "f4", "lamb", {"learning_rate": sched("PiecewiseConstantDecay", boundaries=[25, 50, 75],
                                                                   values=[0.05, 0.02, 0.01, 0.005]), "weight_decay": 0.01}, [-7.5, -1.0]),
    # --- PolynomialDecay
    ("poly-power2-adagrad-f3", "f3", "adagrad", {"learning_rate": sched("PolynomialDecay", initial_learning_rate=2.0, decay_steps=60,
                                                                        end_learning_rate=0.1, power=2.0)}, [-8.0, 3.0]),
    # cycle with decay_steps=7: step * (1/7) rounds above 3 at step 21, so Keras starts the next cycle there
    ("poly-cycle-nadam-f1", "f1", "nadam", {"learning_rate": sched("PolynomialDecay", initial_learning_rate=0.5, decay_steps=7,
                                                                   end_learning_rate=0.01, cycle=True)}, [-6.0, 7.0]),
    ("poly-sqrt-adamw-f5", "f5", "adamw", {"learning_rate": sched("PolynomialDecay", initial_learning_rate=0.8, decay_steps=80,
                                                                  end_learning_rate=0.05, power=0.5), "weight_decay": 0.05}, [-5.0, 8.0]),
    ("poly-cube-adamax-f2", "f2", "adamax", {"learning_rate": sched("PolynomialDecay", initial_learning_rate=0.5, decay_steps=50,
                                                                    power=3.0)}, [6.0, 0.5]),
    # --- InverseTimeDecay
    ("invtime-sgd-momentum-f4", "f4", "sgd", {"learning_rate": sched("InverseTimeDecay", initial_learning_rate=30.0, decay_steps=10,
                                                                     decay_rate=0.5), "momentum": 0.5}, [-7.5, -1.0]),
    ("invtime-staircase-adamax-f0", "f0", "adamax", {"learning_rate": sched("InverseTimeDecay", initial_learning_rate=1.0, decay_steps=5,
                                                                            decay_rate=1.0, staircase=True)}, [8.0, -6.0]),
    ("invtime-ftrl-l1-f1", "f1", "ftrl", {"learning_rate": sched("InverseTimeDecay", initial_learning_rate=3.0, decay_steps=10,
                                                                 decay_rate=0.3), "l1_regularization_strength": 0.01}, [-6.0, 7.0]),
    ("invtime-rmsprop-momentum-f5", "f5", "rmsprop", {"learning_rate": sched("InverseTimeDecay", initial_learning_rate=0.2, decay_steps=10,
                                                                             decay_rate=0.5), "momentum": 0.5}, [3.0, -4.0]),
    # --- CosineDecay (the issue's example schedule first)
    ("cosine-warmup-nadam-f0", "f0", "nadam", {"learning_rate": sched("CosineDecay", initial_learning_rate=0.5, decay_steps=80, alpha=0.0,
                                                                      warmup_target=2.0, warmup_steps=10)}, [8.0, -6.0]),
    ("cosine-alpha-lamb-f5", "f5", "lamb", {"learning_rate": sched("CosineDecay", initial_learning_rate=0.1, decay_steps=100,
                                                                   alpha=0.1)}, [-5.0, 8.0]),
    ("cosine-warmup-adadelta-f3", "f3", "adadelta", {"learning_rate": sched("CosineDecay", initial_learning_rate=1.0, decay_steps=60,
                                                                            alpha=0.05, warmup_target=5.0, warmup_steps=15)}, [-8.0, 3.0]),
    ("cosine-adam-f4", "f4", "adam", {"learning_rate": sched("CosineDecay", initial_learning_rate=0.8, decay_steps=90)}, [-7.5, -1.0]),
    # --- CosineDecayRestarts
    ("restarts-sgd-f1", "f1", "sgd", {"learning_rate": sched("CosineDecayRestarts", initial_learning_rate=150.0, first_decay_steps=10,
                                                             t_mul=2.0, m_mul=0.7)}, [-6.0, 7.0]),
    ("restarts-tmul1-adagrad-f5", "f5", "adagrad", {"learning_rate": sched("CosineDecayRestarts", initial_learning_rate=2.0,
                                                                           first_decay_steps=15, t_mul=1.0, m_mul=0.9, alpha=0.1)}, [3.0, -4.0]),
    ("restarts-lion-wd-f0", "f0", "lion", {"learning_rate": sched("CosineDecayRestarts", initial_learning_rate=0.8, first_decay_steps=9,
                                                                  t_mul=1.5, m_mul=0.8, alpha=0.05), "weight_decay": 0.02}, [8.0, -6.0]),
    # first_decay_steps=41, t_mul=1: at steps 41 and 82 the restart index rounds down, so the rate is 0, not a restart
    # (not with Ftrl: it divides by the rate, so a rate of 0 makes its point NaN)
    ("restarts41-adam-f5", "f5", "adam", {"learning_rate": sched("CosineDecayRestarts", initial_learning_rate=1.0, first_decay_steps=41,
                                                                 t_mul=1.0)}, [-5.0, 8.0]),
    ("restarts-tmul3-adamw-f3", "f3", "adamw", {"learning_rate": sched("CosineDecayRestarts", initial_learning_rate=0.5, first_decay_steps=7,
                                                                       t_mul=3.0, m_mul=1.2)}, [-8.0, 3.0]),
]

# ---------------------------------------------------------------------------------------------
# --set long: high constant learning rates near each optimizer's edge of stability, over f1..f5,
# 300 steps from starts other than the post's (9, 9).
# ---------------------------------------------------------------------------------------------
LONG_STEPS = 300
LONG_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "keras-long.json")

LONG_CASES = [
    # --- SGD: plain GD is stable below lr = 2 / curvature (f5: 128 along x, f4: 100 along x at the minimum)
    ("sgd-f1-lr120", "f1", "sgd", {"learning_rate": 120.0}, [-6.0, 7.0]),
    ("sgd-f4-lr90", "f4", "sgd", {"learning_rate": 90.0}, [-7.5, -1.0]),
    ("sgd-f5-lr120", "f5", "sgd", {"learning_rate": 120.0}, [3.0, -4.0]),
    ("sgd-momentum-f5-lr200", "f5", "sgd", {"learning_rate": 200.0, "momentum": 0.9}, [-5.0, 8.0]),
    ("sgd-momentum-f4-lr120", "f4", "sgd", {"learning_rate": 120.0, "momentum": 0.9}, [-7.5, -1.0]),
    ("sgd-nesterov-f4-lr80", "f4", "sgd", {"learning_rate": 80.0, "momentum": 0.9, "nesterov": True}, [-3.0, 6.0]),
    ("sgd-nesterov-f5-lr80", "f5", "sgd", {"learning_rate": 80.0, "momentum": 0.9, "nesterov": True}, [3.0, -4.0]),
    # --- RMSprop (the issue's centered rho 0.8 lr 0.3 over f1 first)
    ("rmsprop-centered-rho0.8-f1-lr0.3", "f1", "rmsprop", {"learning_rate": 0.3, "rho": 0.8, "centered": True}, [-6.0, 7.0]),
    ("rmsprop-centered-rho0.8-f4-lr8", "f4", "rmsprop", {"learning_rate": 8.0, "rho": 0.8, "centered": True}, [-7.5, -1.0]),
    ("rmsprop-f4-lr8", "f4", "rmsprop", {"learning_rate": 8.0}, [-7.5, -1.0]),
    ("rmsprop-f5-lr1", "f5", "rmsprop", {"learning_rate": 1.0}, [-5.0, 8.0]),
    ("rmsprop-f2-lr0.3", "f2", "rmsprop", {"learning_rate": 0.3}, [7.5, -0.5]),
    ("rmsprop-momentum-f1-lr0.2", "f1", "rmsprop", {"learning_rate": 0.2, "momentum": 0.5}, [-6.0, 7.0]),
    ("rmsprop-momentum-f4-lr0.2", "f4", "rmsprop", {"learning_rate": 0.2, "momentum": 0.5}, [-7.5, -1.0]),
    ("rmsprop-momentum-f5-lr0.1", "f5", "rmsprop", {"learning_rate": 0.1, "momentum": 0.5}, [3.0, -4.0]),
    # --- Adagrad
    ("adagrad-f1-lr50", "f1", "adagrad", {"learning_rate": 50.0}, [-6.0, 7.0]),
    ("adagrad-f4-lr50", "f4", "adagrad", {"learning_rate": 50.0}, [-7.5, -1.0]),
    ("adagrad-f5-lr80", "f5", "adagrad", {"learning_rate": 80.0}, [3.0, -4.0]),
    ("adagrad-init0-f1-lr8", "f1", "adagrad", {"learning_rate": 8.0, "initial_accumulator_value": 0.0}, [-6.0, 7.0]),
    ("adagrad-init0-f4-lr20", "f4", "adagrad", {"learning_rate": 20.0, "initial_accumulator_value": 0.0}, [-3.0, 6.0]),
    ("adagrad-init0-f5-lr5", "f5", "adagrad", {"learning_rate": 5.0, "initial_accumulator_value": 0.0}, [3.0, -4.0]),
    # --- Adadelta (its steps are tiny unless the learning rate is large)
    ("adadelta-f1-lr500", "f1", "adadelta", {"learning_rate": 500.0}, [-6.0, 7.0]),
    ("adadelta-f4-lr300", "f4", "adadelta", {"learning_rate": 300.0}, [-7.5, -1.0]),
    ("adadelta-rho0.9-f1-lr200", "f1", "adadelta", {"learning_rate": 200.0, "rho": 0.9, "epsilon": 0.001}, [-6.0, 7.0]),
    ("adadelta-rho0.9-f4-lr120", "f4", "adadelta", {"learning_rate": 120.0, "rho": 0.9, "epsilon": 0.001}, [-7.5, -1.0]),
    ("adadelta-rho0.9-f5-lr200", "f5", "adadelta", {"learning_rate": 200.0, "rho": 0.9, "epsilon": 0.001}, [3.0, -4.0]),
    ("adadelta-rho0.9-f2-lr300", "f2", "adadelta", {"learning_rate": 300.0, "rho": 0.9, "epsilon": 0.001}, [7.5, -0.5]),
    # --- Adam
    ("adam-f4-lr20", "f4", "adam", {"learning_rate": 20.0}, [-7.5, -1.0]),
    ("adam-f5-lr8", "f5", "adam", {"learning_rate": 8.0}, [3.0, -4.0]),
    ("adam-amsgrad-f4-lr20", "f4", "adam", {"learning_rate": 20.0, "amsgrad": True}, [-3.0, 6.0]),
    ("adam-amsgrad-f5-lr8", "f5", "adam", {"learning_rate": 8.0, "amsgrad": True}, [-5.0, 8.0]),
    ("adam-betas-f1-lr1.5", "f1", "adam", {"learning_rate": 1.5, "beta_1": 0.8, "beta_2": 0.99}, [-6.0, 7.0]),
    ("adam-betas-f4-lr8", "f4", "adam", {"learning_rate": 8.0, "beta_1": 0.8, "beta_2": 0.99}, [-7.5, -1.0]),
    ("adam-betas-f5-lr2", "f5", "adam", {"learning_rate": 2.0, "beta_1": 0.8, "beta_2": 0.99}, [3.0, -4.0]),
    # --- AdamW
    ("adamw-f5-lr30", "f5", "adamw", {"learning_rate": 30.0, "weight_decay": 0.05}, [3.0, -4.0]),
    ("adamw-f5-lr8", "f5", "adamw", {"learning_rate": 8.0, "weight_decay": 0.05}, [-5.0, 8.0]),
    ("adamw-f4-lr30", "f4", "adamw", {"learning_rate": 30.0, "weight_decay": 0.05}, [-7.5, -1.0]),
    ("adamw-f2-lr30", "f2", "adamw", {"learning_rate": 30.0, "weight_decay": 0.05}, [7.5, -0.5]),
    ("adamw-f3-lr30", "f3", "adamw", {"learning_rate": 30.0, "weight_decay": 0.05}, [-8.0, 3.0]),
    ("adamw-wd0.004-f1-lr3", "f1", "adamw", {"learning_rate": 3.0}, [-6.0, 7.0]),
    # --- Adamax (the issue's lr 0.7 beta_1 0.7 beta_2 0.9 over f3 and f5 first)
    ("adamax-betas-f3-lr0.7", "f3", "adamax", {"learning_rate": 0.7, "beta_1": 0.7, "beta_2": 0.9}, [-8.0, 3.0]),
    ("adamax-betas-f5-lr0.7", "f5", "adamax", {"learning_rate": 0.7, "beta_1": 0.7, "beta_2": 0.9}, [-5.0, 8.0]),
    ("adamax-betas-f5-lr0.5", "f5", "adamax", {"learning_rate": 0.5, "beta_1": 0.7, "beta_2": 0.9}, [3.0, -4.0]),
    ("adamax-betas-f4-lr0.7", "f4", "adamax", {"learning_rate": 0.7, "beta_1": 0.7, "beta_2": 0.9}, [-7.5, -1.0]),
    ("adamax-betas-f1-lr0.5", "f1", "adamax", {"learning_rate": 0.5, "beta_1": 0.7, "beta_2": 0.9}, [-6.0, 7.0]),
    ("adamax-f4-lr30", "f4", "adamax", {"learning_rate": 30.0}, [-7.5, -1.0]),
    ("adamax-f5-lr20", "f5", "adamax", {"learning_rate": 20.0}, [3.0, -4.0]),
    # --- Nadam
    ("nadam-f1-lr5", "f1", "nadam", {"learning_rate": 5.0}, [-6.0, 7.0]),
    ("nadam-f4-lr5", "f4", "nadam", {"learning_rate": 5.0}, [-7.5, -1.0]),
    ("nadam-f5-lr12", "f5", "nadam", {"learning_rate": 12.0}, [3.0, -4.0]),
    ("nadam-betas-f1-lr2", "f1", "nadam", {"learning_rate": 2.0, "beta_1": 0.8, "beta_2": 0.99}, [-6.0, 7.0]),
    ("nadam-betas-f4-lr20", "f4", "nadam", {"learning_rate": 20.0, "beta_1": 0.8, "beta_2": 0.99}, [-7.5, -1.0]),
    ("nadam-betas-f5-lr8", "f5", "nadam", {"learning_rate": 8.0, "beta_1": 0.8, "beta_2": 0.99}, [3.0, -4.0]),
    # --- Lion (every step is exactly lr per coordinate)
    ("lion-f1-lr0.3", "f1", "lion", {"learning_rate": 0.3}, [-6.0, 7.0]),
    ("lion-f4-lr2", "f4", "lion", {"learning_rate": 2.0}, [-7.5, -1.0]),
    ("lion-f5-lr1.5", "f5", "lion", {"learning_rate": 1.5}, [-5.0, 8.0]),
    ("lion-betas-f2-lr0.3", "f2", "lion", {"learning_rate": 0.3, "beta_1": 0.5, "beta_2": 0.9}, [7.5, -0.5]),
    ("lion-betas-f4-lr2", "f4", "lion", {"learning_rate": 2.0, "beta_1": 0.5, "beta_2": 0.9}, [-7.5, -1.0]),
    ("lion-betas-f5-lr0.7", "f5", "lion", {"learning_rate": 0.7, "beta_1": 0.5, "beta_2": 0.9}, [3.0, -4.0]),
    # --- Lamb (every step has norm lr * |w|: chaotic early above small learning rates)
    ("lamb-f1-lr0.02", "f1", "lamb", {"learning_rate": 0.02}, [-6.0, 7.0]),
    ("lamb-f3-lr0.02", "f3", "lamb", {"learning_rate": 0.02}, [-8.0, 3.0]),
    ("lamb-f4-lr0.05", "f4", "lamb", {"learning_rate": 0.05}, [-7.5, -1.0]),
    ("lamb-f5-lr1", "f5", "lamb", {"learning_rate": 1.0}, [3.0, -4.0]),
    ("lamb-betas-f4-lr0.2", "f4", "lamb", {"learning_rate": 0.2, "beta_1": 0.8, "beta_2": 0.99}, [-7.5, -1.0]),
    ("lamb-betas-f5-lr1", "f5", "lamb", {"learning_rate": 1.0, "beta_1": 0.8, "beta_2": 0.99}, [-5.0, 8.0]),
    # --- Ftrl
    ("ftrl-f4-lr50", "f4", "ftrl", {"learning_rate": 50.0}, [-7.5, -1.0]),
    ("ftrl-f5-lr80", "f5", "ftrl", {"learning_rate": 80.0}, [3.0, -4.0]),
    ("ftrl-l1-f4-lr50", "f4", "ftrl", {"learning_rate": 50.0, "l1_regularization_strength": 0.01}, [-3.0, 6.0]),
    ("ftrl-l1-f5-lr80", "f5", "ftrl", {"learning_rate": 80.0, "l1_regularization_strength": 0.01}, [3.0, -4.0]),
    ("ftrl-beta-f4-lr120", "f4", "ftrl", {"learning_rate": 120.0, "beta": 0.5}, [-7.5, -1.0]),
    ("ftrl-beta-f5-lr120", "f5", "ftrl", {"learning_rate": 120.0, "beta": 0.5}, [-5.0, 8.0]),
]

KERAS_CLASSES = {
    "sgd": "SGD", "rmsprop": "RMSprop", "adagrad": "Adagrad", "adadelta": "Adadelta", "adam": "Adam",
    "adamw": "AdamW", "adamax": "Adamax", "nadam": "Nadam", "lion": "Lion", "lamb": "Lamb", "ftrl": "Ftrl",
}


# ---------------------------------------------------------------------------------------------
# Surfaces (smooth part only), written identically for TF and jax.numpy.
# ---------------------------------------------------------------------------------------------
def surfaces(sin, cos):
    return {
        "f0": lambda x, y: (x / 10) ** 2 + (y / 10) ** 2,
        "f1": lambda x, y: (x ** 2 + y ** 2 + 0.5 * y + 0.06 * (x + 1) ** 3 + 0.1 * (y - 1) ** 3) / 400,
        "f2": lambda x, y: (x ** 2 / 2 - y ** 2 / 2) / 40.,
        "f3": lambda x, y: (x ** 2 / 2 - y ** 2 / 2 - 1.5 * x * (0.5 * y)) / 60,
        "f4": lambda x, y: ((-sin(x / 5.) - cos(y / 10.)) + 2) / 2,
        "f5": lambda x, y: ((x / 8) ** 2 + (y / 12) ** 2) / 2,
        "quadric": lambda x, y: x ** 2 - y ** 2 - x * y,
        # not one of the post's surfaces: the optax fixture's fourth surface (smooth, unscaled; not in
        # the gradient fixture, see GRAD_SURFACES)
        "rosenbrock": lambda x, y: (1 - x) ** 2 + 100 * (y - x ** 2) ** 2,
    }


# ---------------------------------------------------------------------------------------------
# Keras (TensorFlow backend)
# ---------------------------------------------------------------------------------------------
def keras_kwargs(kwargs):
    """Constructor kwargs for Keras: a learning_rate {"schedule": name, ...} becomes the schedule object."""
    import keras

    kwargs = dict(kwargs)
    lr = kwargs.get("learning_rate")
    if isinstance(lr, dict):
        args = {k: v for k, v in lr.items() if k != "schedule"}
        kwargs["learning_rate"] = getattr(keras.optimizers.schedules, lr["schedule"])(**args)
    return kwargs


def run_keras(surface, optimizer, kwargs, p0, steps, record_lr=False, lr_per_step=None):
    """Points, grads and losses of one Keras run (and, with record_lr, the rate used at each step).

    lr_per_step: replace the learning rate (schedule or not) by a float variable set to
    lr_per_step[i] before step i (a check that a recorded list of rates reproduces the run)."""
    import tensorflow as tf
    import keras

    f = surfaces(tf.sin, tf.cos)[surface]
    kw = keras_kwargs(kwargs)
    if lr_per_step is not None:
        kw["learning_rate"] = float(lr_per_step[0])
    opt = getattr(keras.optimizers, KERAS_CLASSES[optimizer])(**kw)
    point = tf.Variable([[p0[0], p0[1]]], dtype=tf.float32)
    opt.build([point])

    # The whole step runs as one tf.function (graph mode, grappler on), as in the original post:
    # eager execution rounds differently in the last bit (e.g. grappler turns x / 10 into x * 0.1),
    # and only the graph-mode step reproduces shared/reference/keras-blog-trajectories.json bit for bit.
    # The step returns values: without outputs grappler skips its constant push-down, which changes
    # how a schedule rounds.
    @tf.function
    def step():
        # A schedule is evaluated at the optimizer's iteration count before this update's increment,
        # exactly as apply_gradients evaluates it below.
        lr = opt.learning_rate if record_lr else None
        with tf.GradientTape() as tape:
            loss = f(point[..., 0], point[..., 1])
        grad = tape.gradient(loss, [point])
        opt.apply_gradients(zip(grad, [point]))
        return (loss, grad, lr) if record_lr else (loss, grad)

    points, grads, losses, rates = [point.numpy()[0].copy()], [], [], []
    for i in range(steps):
        if lr_per_step is not None:
            opt.learning_rate = float(lr_per_step[i])
        out = step()
        loss, grad = out[0], out[1]
        if record_lr:
            rates.append(np.float32(out[2].numpy()))
        losses.append(loss.numpy()[0])
        grads.append(grad[0].numpy()[0].copy())
        points.append(point.numpy()[0].copy())
    result = (np.array(points, np.float32), np.array(grads, np.float32), np.array(losses, np.float32))
    return result + (np.array(rates, np.float32),) if record_lr else result


# ---------------------------------------------------------------------------------------------
# optax (JAX on CPU, float32), for LARS
# ---------------------------------------------------------------------------------------------
def run_optax(surface, optimizer, kwargs, p0, steps):
    import jax
    import jax.numpy as jnp
    import optax

    assert optimizer == "lars"
    # Same formulas as the TF surfaces; note jnp's `x ** 2` is lax.integer_pow (multiplications) where
    # TF's is tf.pow, so losses/gradients can differ from the Keras runs in the last bit (e.g. f1's loss0).
    f = surfaces(jnp.sin, jnp.cos)[surface]
    opt = optax.lars(**kwargs)
    params = jnp.array([[p0[0], p0[1]]], dtype=jnp.float32)
    state = opt.init(params)
    loss_and_grad = jax.value_and_grad(lambda p: jnp.sum(f(p[..., 0], p[..., 1])))
    points, grads, losses = [np.asarray(params)[0].copy()], [], []
    for _ in range(steps):
        loss, grad = loss_and_grad(params)
        updates, state = opt.update(grad, state, params)
        params = optax.apply_updates(params, updates)
        assert params.dtype == jnp.float32
        losses.append(np.float32(loss))
        grads.append(np.asarray(grad)[0].copy())
        points.append(np.asarray(params)[0].copy())
    return np.array(points, np.float32), np.array(grads, np.float32), np.array(losses, np.float32)


def run(surface, optimizer, kwargs, p0, steps):
    fn = run_optax if optimizer == "lars" else run_keras
    return fn(surface, optimizer, kwargs, p0, steps)


# ---------------------------------------------------------------------------------------------
# The optax set (--set optax): tests/fixtures/optax-reference.json
#
# Every case runs optax 0.2.8 eagerly (op by op, no jax.jit around the step), float32, one [1, 2]
# parameter array: each step
#     loss, grad = jax.value_and_grad(lambda p: jnp.sum(f(p[..., 0], p[..., 1])))(point)
#     updates, state = opt.update(grad, state, params[, value=loss][, grad_fn=...])
#     params = optax.apply_updates(params, updates)
# Eager on purpose: under jax.jit XLA fuses the step and contracts a * b + c into fused
# multiply-adds, which moves the last bits (an op-by-op implementation cannot follow that).
# ---------------------------------------------------------------------------------------------
OPTAX_STEPS = 100
DEFAULT_OPTAX_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures",
                                 "optax-reference.json")
# optax function names: optax.<name> and optax.contrib.<name> (adam and sgd: the inner optimizers of
# lookahead and sam, as optax.adam / optax.sgd with optax's argument names).
OPTAX_CORE = ("adabelief", "radam", "yogi", "adan", "novograd", "rprop", "sign_sgd", "signum", "lookahead",
              "polyak_sgd", "adam", "sgd")
OPTAX_CONTRIB = ("schedule_free_adamw", "prodigy", "dadapt_adamw", "ademamix", "adopt", "sam", "dog", "cocob",
                 "momo")
OPTAX_NEEDS_VALUE = ("polyak_sgd", "momo")  # update(..., value=loss)
OPTAX_SURFACES = {  # the exact jnp expressions (surfaces(jnp.sin, jnp.cos)), recorded in the fixture's _meta
    "f0": "(x / 10) ** 2 + (y / 10) ** 2",
    "f1": "(x ** 2 + y ** 2 + 0.5 * y + 0.06 * (x + 1) ** 3 + 0.1 * (y - 1) ** 3) / 400",
    "f4": "((-jnp.sin(x / 5.) - jnp.cos(y / 10.)) + 2) / 2",
    "rosenbrock": "(1 - x) ** 2 + 100 * (y - x ** 2) ** 2",
}
OPTAX_P0 = {"f0": [9.0, 9.0], "f1": [9.0, 9.0], "f4": [-7.5, -1.0], "rosenbrock": [-1.5, 2.0]}


def optax_cases():
    """(name, surface, optimizer, kwargs, p0) for the optax set, from OPTAX_SETTINGS below."""
    cases = []
    for optimizer, lrs, settings in OPTAX_SETTINGS:
        for label, kwargs, surfs in settings:
            for surface in surfs:
                kw = dict(kwargs)
                lr = lrs.get(surface)
                if lr is not None and label != "all-defaults":
                    kw = _with_lr(optimizer, kw, lr)
                cases.append((f"{optimizer}-{label}-{surface}", surface, optimizer, kw, OPTAX_P0[surface]))
    return cases


def _with_lr(optimizer, kwargs, lr):
    """Puts the surface's learning rate first (into the inner optimizer for lookahead and sam) unless the
    setting gives one itself."""
    if optimizer in ("lookahead", "sam"):
        key = "fast" if optimizer == "lookahead" else "outer"
        inner = kwargs[key]
        if "learning_rate" not in inner:
            inner = {"optimizer": inner["optimizer"], "learning_rate": lr[inner["optimizer"]],
                     **{k: v for k, v in inner.items() if k != "optimizer"}}
        return {key: inner, **{k: v for k, v in kwargs.items() if k != key}}
    if "learning_rate" in kwargs:
        return kwargs
    return {"learning_rate": lr, **kwargs}


def make_optax(optimizer, kwargs):
    """The optax transformation of a case.

    Plain optimizers: optax.<optimizer>(**kwargs) or optax.contrib.<optimizer>(**kwargs). The two wrappers
    take their inner optimizer as an object {"optimizer": name, **its kwargs}:
      lookahead  {"fast": {...}, "sync_period": k, "slow_step_size": a[, "reset_state": b]}
                 -> optax.lookahead(fast_optimizer, sync_period=k, slow_step_size=a[, reset_state=b])
      sam        {"outer": {...}, "rho": r}
                 -> optax.contrib.sam(outer, optax.chain(optax.contrib.normalize(), optax.sgd(r)),
                                      sync_period=2, opaque_mode=True)
    """
    import optax

    kwargs = dict(kwargs)
    if optimizer == "lookahead":
        fast = kwargs.pop("fast")
        return optax.lookahead(make_optax(fast["optimizer"], {k: v for k, v in fast.items() if k != "optimizer"}),
                               **kwargs)
    if optimizer == "sam":
        outer = kwargs.pop("outer")
        rho = kwargs.pop("rho")
        assert not kwargs, kwargs
        return optax.contrib.sam(make_optax(outer["optimizer"], {k: v for k, v in outer.items() if k != "optimizer"}),
                                 optax.chain(optax.contrib.normalize(), optax.sgd(rho)),
                                 sync_period=2, opaque_mode=True)
    if optimizer in OPTAX_CORE:
        return getattr(optax, optimizer)(**kwargs)
    if optimizer in OPTAX_CONTRIB:
        return getattr(optax.contrib, optimizer)(**kwargs)
    raise ValueError(f"not an optimizer of the optax set: {optimizer}")


def run_optax_case(surface, optimizer, kwargs, p0, steps):
    """One optax case. Returns float32 arrays: points (steps + 1 rows: where the gradients are taken, the
    start first), grads, smooth_loss (the loss at points[i]) and, by optimizer,
      value        polyak_sgd, momo: the loss passed as update(..., value=...) (== smooth_loss)
      eval_points  lookahead: the slow weights; schedule_free_adamw: schedule_free_eval_params(state, params)
                   (steps + 1 rows, row 0 from the initial state)
      adv_points   sam: the perturbed point of each step, point + rho g / |g| as optax computes it
      adv_grads    sam: the gradient there, which the outer optimizer steps with
    """
    import jax
    import jax.numpy as jnp
    import optax

    f = surfaces(jnp.sin, jnp.cos)[surface]
    loss_fn = lambda p: jnp.sum(f(p[..., 0], p[..., 1]))  # noqa: E731
    loss_and_grad = jax.value_and_grad(loss_fn)
    opt = make_optax(optimizer, kwargs)
    params = jnp.array([[p0[0], p0[1]]], dtype=jnp.float32)
    if optimizer == "lookahead":
        params = optax.LookaheadParams.init_synced(params)
    state = opt.init(params)

    def row(a):
        a = np.asarray(a)
        assert a.dtype == np.float32 and a.shape == (1, 2), (a.dtype, a.shape)
        return a[0].copy()

    def at(params):  # where the gradient is taken
        return params.fast if optimizer == "lookahead" else params

    def evaluated(params, state):
        if optimizer == "lookahead":
            return row(params.slow)
        return row(optax.contrib.schedule_free_eval_params(state, params))

    has_eval = optimizer in ("lookahead", "schedule_free_adamw")
    out = {"points": [row(at(params))], "grads": [], "smooth_loss": []}
    if has_eval:
        out["eval_points"] = [evaluated(params, state)]
    if optimizer in OPTAX_NEEDS_VALUE:
        out["value"] = []
    if optimizer == "sam":
        out["adv_points"], out["adv_grads"] = [], []

    def sam_grad_fn(p, i):
        assert i == 0
        loss, g = loss_and_grad(p)
        out["adv_points"].append(row(p))
        out["adv_grads"].append(row(g))
        return g

    for _ in range(steps):
        loss, grad = loss_and_grad(at(params))
        assert loss.dtype == jnp.float32
        out["smooth_loss"].append(np.float32(loss))
        out["grads"].append(row(grad))
        extra = {}
        if optimizer in OPTAX_NEEDS_VALUE:
            extra["value"] = loss
            out["value"].append(np.float32(loss))
        if optimizer == "sam":
            extra["grad_fn"] = sam_grad_fn
        updates, state = opt.update(grad, state, params, **extra)
        params = optax.apply_updates(params, updates)
        out["points"].append(row(at(params)))
        if has_eval:
            out["eval_points"].append(evaluated(params, state))
    return {k: np.array(v, np.float32) for k, v in out.items()}


OPTAX_TRAJECTORIES = ("points", "eval_points", "adv_points")
OPTAX_ARRAYS = ("points", "grads", "smooth_loss", "value", "eval_points", "adv_points", "adv_grads")


def optax_stable_until(res, surface, optimizer, kwargs, p0, steps):
    """As stable_until, over every recorded trajectory of the case (points, eval_points, adv_points: row k
    of each belongs to step k)."""
    x0 = np.nextafter(np.float32(p0[0]), np.float32(np.inf))
    other = run_optax_case(surface, optimizer, kwargs, [float(x0), p0[1]], steps)
    ok = np.ones(steps + 1, bool)
    for key in OPTAX_TRAJECTORIES:
        if key not in res:
            continue
        a, b = other[key].astype(np.float64), res[key].astype(np.float64)
        with np.errstate(invalid="ignore"):
            close = (a == b) | (np.isnan(a) & np.isnan(b)) | (np.abs(a - b) <= REL_TOL * (1 + np.abs(b)))
        ok[:len(b)] &= np.all(close, axis=1)
    bad = np.nonzero(~ok)[0]
    return steps if len(bad) == 0 else int(bad[0]) - 1


def optax_versions():
    import jax
    import jaxlib
    import optax
    return {"optax": optax.__version__, "jax": jax.__version__, "jaxlib": jaxlib.__version__,
            "numpy": np.__version__, "generated_by": "scripts/make_reference.py --set optax",
            "float": "float32; optax run eagerly (op by op, no jax.jit), jax on CPU",
            "surfaces": {k: v for k, v in OPTAX_SURFACES.items()},
            "loss": "jnp.sum(f(p[..., 0], p[..., 1])) for params p of shape [1, 2]; grads = jax.grad of it",
            "fields": {
                "kwargs": "as passed to optax.<optimizer> / optax.contrib.<optimizer>; lookahead's 'fast' is "
                          "fast_optimizer and sam's 'outer' its optimizer, both {'optimizer': name, **kwargs} of "
                          "optax.<name>; sam is optax.contrib.sam(outer, optax.chain(optax.contrib.normalize(), "
                          "optax.sgd(rho)), sync_period=2, opaque_mode=True)",
                "points": "steps + 1 rows, where the gradients are taken (lookahead: the fast weights; "
                          "schedule_free_adamw: optax's params y; sam: the outer iterates)",
                "grads": "grads[i] = gradient at points[i]",
                "smooth_loss": "loss at points[i]",
                "value": "polyak_sgd, momo: the loss passed as update(..., value=value[i]) (== smooth_loss[i])",
                "eval_points": "lookahead: the slow weights; schedule_free_adamw: "
                               "optax.contrib.schedule_free_eval_params(state, params); steps + 1 rows",
                "adv_points": "sam: step i's perturbed point points[i] + rho g / |g| (as optax rounds it)",
                "adv_grads": "sam: the gradient at adv_points[i], which the outer optimizer steps with",
                "stable_until": "last step k such that a rerun from x0 moved one float32 ulp toward +inf agrees "
                                "on rows 0..=k of points, eval_points and adv_points to "
                                "|a - b| <= 1e-4 * (1 + |b|)",
            }}


def _optax_job(job):
    surface, optimizer, kwargs, p0, steps = job
    res = run_optax_case(surface, optimizer, kwargs, p0, steps)
    return res, optax_stable_until(res, surface, optimizer, kwargs, p0, steps)


def main_optax(args):
    cases = optax_cases()
    names = [c[0] for c in cases]
    assert len(set(names)) == len(names), "duplicate case names"
    result = {"_meta": optax_versions()}
    problems = []
    steps = args.steps or OPTAX_STEPS
    print(f"{'case':44s} {'surf':10s} {'end point':>25s} {'loss0':>9s} {'lossN':>9s} stable")
    todo = [c for c in cases if not args.only or args.only in c[0]]
    for c in todo:
        assert all(ch in "abcdefghijklmnopqrstuvwxyz0123456789_.-" for ch in c[0]), c[0]
    jobs = [(surface, optimizer, kwargs, p0, steps) for _, surface, optimizer, kwargs, p0 in todo]
    if args.jobs > 1:
        import multiprocessing
        pool = multiprocessing.get_context("spawn").Pool(args.jobs)
        done = pool.imap(_optax_job, jobs)
    else:
        done = map(_optax_job, jobs)
    for (name, surface, optimizer, kwargs, p0), (res, su) in zip(todo, done):
        pts, grads, losses = res["points"], res["grads"], res["smooth_loss"]
        if pts.shape != (steps + 1, 2) or grads.shape != (steps, 2) or losses.shape != (steps,):
            problems.append(f"{name}: bad shapes {pts.shape} {grads.shape} {losses.shape}")
        if not all(np.all(np.isfinite(v)) for v in res.values()):
            problems.append(f"{name}: non-finite values")
        if np.max(np.abs(pts[-1] - pts[0])) < 1e-2:
            problems.append(f"{name}: barely moves ({pts[0]} -> {pts[-1]})")
        if "value" in res and not np.array_equal(res["value"], losses):
            problems.append(f"{name}: value differs from smooth_loss")
        case = {"surface": surface, "optimizer": optimizer, "kwargs": kwargs, "p0": [float(p0[0]), float(p0[1])],
                "steps": steps, "points": to_list(pts), "grads": to_list(grads), "smooth_loss": to_list(losses)}
        for key in ("value", "eval_points", "adv_points", "adv_grads"):
            if key in res:
                case[key] = to_list(res[key])
        case["stable_until"] = su
        result[name] = case
        end = f"[{pts[-1][0]:.4g}, {pts[-1][1]:.4g}]"
        print(f"{name:44s} {surface:10s} {end:>25s} {losses[0]:9.4g} {losses[-1]:9.4g} "
              f"{su}{'' if su == steps else '  <-- chaotic'}", flush=True)
    if args.jobs > 1:
        pool.close()
        pool.join()

    seen = {}
    for name, c in result.items():
        if name.startswith("_"):
            continue
        key = json.dumps(c["points"])
        if key in seen:
            problems.append(f"{name}: same trajectory as {seen[key]}")
        seen[key] = name

    per_opt, per_surface, chaotic = {}, {}, 0
    for name, c in result.items():
        if not name.startswith("_"):
            per_opt[c["optimizer"]] = per_opt.get(c["optimizer"], 0) + 1
            per_surface[c["surface"]] = per_surface.get(c["surface"], 0) + 1
            chaotic += c["stable_until"] < c["steps"]
    print("cases per optimizer:", ", ".join(f"{k}={v}" for k, v in per_opt.items()), f"(total {sum(per_opt.values())})")
    print("cases per surface:", ", ".join(f"{k}={v}" for k, v in per_surface.items()), f"; chaotic: {chaotic}")
    if problems:
        print("PROBLEMS:\n  " + "\n  ".join(problems))
        sys.exit(1)

    out = args.out or (None if args.only or args.steps else DEFAULT_OPTAX_OUT)
    if out:
        write_fixture(out, result)


def write_fixture(out, result):
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as fh:  # one case per line, so diffs stay readable
        fh.write("{\n" + ",\n".join(f"{json.dumps(k)}: {json.dumps(v, allow_nan=False)}" for k, v in result.items()) + "\n}\n")
    json.load(open(out))  # must round-trip
    print("wrote", os.path.normpath(out))


# The optax set: (optimizer, learning rate per surface (injected as "learning_rate", or into the inner
# optimizer of lookahead and sam, unless a setting gives one or is labelled "all-defaults"; {} for
# optimizers whose own defaults move), [(label, kwargs, surfaces)]). "defaults" is every optional argument
# at optax's default; each other setting changes one main hyperparameter (or two that go together) on two
# surfaces.
ALL4 = ("f0", "f1", "f4", "rosenbrock")
OPTAX_SETTINGS = [
    ("adabelief", {"f0": 0.3, "f1": 0.3, "f4": 0.3, "rosenbrock": 0.1}, [
        ("defaults", {}, ALL4),
        ("b1-0.5", {"b1": 0.5}, ("f0", "rosenbrock")),
        ("b2-0.99", {"b2": 0.99}, ("f1", "f4")),
        ("eps-paper", {"eps": 1e-8, "eps_root": 0.0}, ("f0", "f4")),
        ("nesterov", {"nesterov": True}, ("f0", "f1")),
    ]),
    ("radam", {"f0": 1.0, "f1": 1.0, "f4": 1.0, "rosenbrock": 0.003}, [
        ("defaults", {}, ALL4),
        ("b1-0.5", {"b1": 0.5}, ("f0", "f4")),
        ("b2-0.99", {"b2": 0.99}, ("f1", "rosenbrock")),
        ("eps-0.1", {"eps": 0.1}, ("f0", "f4")),
        ("threshold-20", {"threshold": 20.0}, ("f1", "f4")),
        ("nesterov", {"nesterov": True}, ("f0", "f1")),
    ]),
    ("yogi", {"f0": 0.3, "f1": 0.3, "f4": 0.3, "rosenbrock": 0.3}, [
        ("defaults", {}, ALL4),
        ("b1-0.5", {"b1": 0.5}, ("f0", "rosenbrock")),
        ("b2-0.9", {"b2": 0.9}, ("f1", "f4")),
        ("eps-1e-6", {"eps": 1e-6}, ("f4", "rosenbrock")),
    ]),
    ("adan", {"f0": 0.1, "f1": 0.1, "f4": 0.3, "rosenbrock": 0.1}, [
        ("defaults", {}, ALL4),
        ("b1-0.9", {"b1": 0.9}, ("f0", "f4")),
        ("b2-0.5", {"b2": 0.5}, ("f1", "rosenbrock")),
        ("b3-0.9", {"b3": 0.9}, ("f0", "rosenbrock")),
        ("eps", {"eps": 1e-3, "eps_root": 0.0}, ("f4", "f1")),
        ("weight_decay-0.1", {"weight_decay": 0.1}, ("f1", "f4")),
    ]),
    ("novograd", {"f0": 0.1, "f1": 0.1, "f4": 0.1, "rosenbrock": 0.1}, [
        ("defaults", {}, ALL4),
        ("b1-0.5", {"b1": 0.5}, ("f0", "rosenbrock")),
        ("b2-0.9", {"b2": 0.9}, ("f1", "f4")),
        ("eps-0.1", {"eps": 0.1, "eps_root": 1e-4}, ("f1", "rosenbrock")),
        ("weight_decay-0.1", {"weight_decay": 0.1}, ("f0", "f4")),
    ]),
    ("rprop", {"f0": 0.1, "f1": 0.1, "f4": 0.1, "rosenbrock": 0.01}, [
        ("defaults", {}, ALL4),
        ("etas", {"eta_minus": 0.3, "eta_plus": 1.5}, ("f0", "rosenbrock")),
        ("step-bounds", {"min_step_size": 0.01, "max_step_size": 0.5}, ("f1", "f4")),
    ]),
    ("sign_sgd", {"f0": 0.1, "f1": 0.1, "f4": 0.1, "rosenbrock": 0.03}, [
        ("defaults", {}, ALL4),
        ("lr-0.03", {"learning_rate": 0.03}, ("f0", "f4")),
        ("lr-0.3", {"learning_rate": 0.3}, ("f0", "f4")),
    ]),
    ("signum", {"f0": 0.1, "f1": 0.1, "f4": 0.1, "rosenbrock": 0.03}, [
        ("defaults", {}, ALL4),
        ("beta-0.5", {"beta": 0.5}, ("f0", "rosenbrock")),
        ("beta-0.99", {"beta": 0.99}, ("f4", "rosenbrock")),  # f0/f1 from (9, 9): the same straight line
    ]),
    ("lookahead", {s: {"adam": 0.1 if s == "rosenbrock" else 0.3, "sgd": 0.001 if s == "rosenbrock" else 10.0}
                   for s in ALL4}, [
        ("adam", {"fast": {"optimizer": "adam"}, "sync_period": 6, "slow_step_size": 0.5}, ALL4),
        ("sgd", {"fast": {"optimizer": "sgd", "momentum": 0.9}, "sync_period": 6, "slow_step_size": 0.5}, ("f4", "rosenbrock")),
        ("sgd-nomomentum", {"fast": {"optimizer": "sgd"}, "sync_period": 6, "slow_step_size": 0.5}, ("f0", "f1")),
        ("adam-sync2-slow0.8", {"fast": {"optimizer": "adam"}, "sync_period": 2, "slow_step_size": 0.8}, ("f1", "rosenbrock")),
        ("sgd-sync5-slow0.3-reset", {"fast": {"optimizer": "sgd", "momentum": 0.5}, "sync_period": 5,
                                     "slow_step_size": 0.3, "reset_state": True}, ("f0", "f4")),
        ("adam-b1-reset", {"fast": {"optimizer": "adam", "b1": 0.5}, "sync_period": 4, "slow_step_size": 0.5,
                           "reset_state": True}, ("f1", "rosenbrock")),
    ]),
    ("polyak_sgd", {}, [
        ("defaults", {}, ALL4),
        ("max_lr-10", {"max_learning_rate": 10.0}, ("f0", "f4")),
        ("scaling-2", {"scaling": 2.0}, ("f0", "rosenbrock")),
        ("f_min-0.5", {"f_min": 0.5}, ("f0", "f1")),  # above the minimum: sps climbs back when f < f_min
        ("f_min-minus0.5", {"f_min": -0.5}, ("rosenbrock",)),
        ("sps-plus", {"variant": "sps+", "f_min": 0.1}, ("f0", "rosenbrock")),
        ("eps-10", {"eps": 10.0}, ("f4", "rosenbrock")),
    ]),
    ("schedule_free_adamw", {"f0": 0.3, "f1": 0.3, "f4": 0.3, "rosenbrock": 0.3}, [
        ("defaults", {}, ALL4),
        ("all-defaults", {}, ("rosenbrock",)),  # optax's own learning_rate=0.0025
        ("b1-0.5", {"b1": 0.5}, ("f0", "rosenbrock")),
        ("b2-0.99", {"b2": 0.99}, ("f1", "f4")),
        ("weight_decay-0.1", {"weight_decay": 0.1}, ("f0", "f4")),
        ("warmup-10", {"warmup_steps": 10}, ("f1", "rosenbrock")),
        ("weight_lr_power-0", {"weight_lr_power": 0.0}, ("f0", "f4")),
    ]),
    ("prodigy", {}, [
        ("defaults", {}, ("f0", "f4", "rosenbrock")),
        ("safeguard_warmup", {"safeguard_warmup": True}, ("f1", "f4")),
        ("betas", {"betas": [0.8, 0.99]}, ("f0", "rosenbrock")),
        ("beta3-0.9", {"beta3": 0.9}, ("f4", "rosenbrock")),
        ("estim_lr0-1e-3", {"estim_lr0": 1e-3}, ("f0", "f4")),
        ("estim_lr_coef-0.5", {"estim_lr_coef": 0.5}, ("f0", "rosenbrock")),
        ("weight_decay-0.1", {"weight_decay": 0.1}, ("f4", "rosenbrock")),
        ("lr-0.5", {"learning_rate": 0.5}, ("f4",)),
    ]),
    ("dadapt_adamw", {}, [
        ("defaults", {}, ("f0", "f4", "rosenbrock")),
        ("lr-0.5", {"learning_rate": 0.5}, ("f1", "f4")),
        ("betas", {"betas": [0.8, 0.99]}, ("f0", "rosenbrock")),
        ("estim_lr0-1e-3", {"estim_lr0": 1e-3}, ("f0", "f4")),
        ("weight_decay-0.1", {"weight_decay": 0.1}, ("f0", "rosenbrock")),
    ]),
    ("ademamix", {"f0": 0.3, "f1": 0.1, "f4": 0.3, "rosenbrock": 0.1}, [
        ("defaults", {}, ALL4),
        ("b1-0.5", {"b1": 0.5}, ("f0", "rosenbrock")),
        ("b2-0.99", {"b2": 0.99}, ("f1", "f4")),
        ("b3-0.999", {"b3": 0.999}, ("f0", "f4")),
        ("alpha-2", {"alpha": 2.0}, ("f1", "rosenbrock")),
        ("weight_decay-0.1", {"weight_decay": 0.1}, ("f0", "f4")),
    ]),
    ("adopt", {"f0": 0.3, "f1": 0.3, "f4": 0.3, "rosenbrock": 0.3}, [
        ("defaults", {}, ALL4),
        ("b1-0.5", {"b1": 0.5}, ("f0", "rosenbrock")),
        ("b2-0.99", {"b2": 0.99}, ("f1", "f4")),
        ("eps-0.1", {"eps": 0.1}, ("f1", "f4")),
        ("nesterov", {"nesterov": True}, ("f1", "rosenbrock")),
        ("no-clipping", {"use_clipping": False}, ("f4",)),  # the clip binds only where gradients grow
    ]),
    ("sam", {s: {"adam": 0.1 if s == "rosenbrock" else 0.3, "sgd": 0.001 if s == "rosenbrock" else 10.0}
             for s in ALL4}, [
        ("adam", {"outer": {"optimizer": "adam"}, "rho": 0.05}, ALL4),
        ("sgd", {"outer": {"optimizer": "sgd"}, "rho": 0.05}, ("f0", "f1", "f4")),
        ("sgd-momentum", {"outer": {"optimizer": "sgd", "momentum": 0.9}, "rho": 0.05}, ("f4", "rosenbrock")),
        ("adam-rho-0.5", {"outer": {"optimizer": "adam"}, "rho": 0.5}, ("f0", "f4")),
        ("adam-b1-rho-0.2", {"outer": {"optimizer": "adam", "b1": 0.5}, "rho": 0.2}, ("f1", "rosenbrock")),
    ]),
    ("dog", {}, [
        ("defaults", {}, ALL4),
        ("init-distance", {"init_step": ["distance", 0.5]}, ("f1", "rosenbrock")),
        ("init-lr", {"init_step": ["learning_rate", 0.1]}, ("f0", "f1")),
        ("weight_decay-0.01", {"weight_decay": 0.01}, ("f1", "f4")),
        ("eps-0.01", {"eps": 0.01}, ("f0", "f1")),
        ("lr-0.8", {"learning_rate": 0.8}, ("f0", "f4")),
    ]),
    ("cocob", {}, [
        ("defaults", {}, ALL4),
        ("alpha-10", {"alpha": 10.0}, ("f1", "rosenbrock")),
        ("eps-0.3", {"eps": 0.3}, ("f0",)),
        ("eps-0.1", {"eps": 0.1}, ("f4",)),
        ("weight_decay-0.01", {"weight_decay": 0.01}, ("f1", "f4")),
        ("lr-0.3", {"learning_rate": 0.3}, ("f0", "rosenbrock")),
    ]),
    ("momo", {}, [
        ("defaults", {}, ALL4),
        ("lr-10", {"learning_rate": 10.0}, ("f0", "f4")),
        ("beta-0.5", {"beta": 0.5}, ("f1", "rosenbrock")),
        ("lower_bound-0.5", {"lower_bound": 0.5}, ("f0",)),
        ("lower_bound-minus0.5", {"lower_bound": -0.5}, ("rosenbrock",)),
        ("weight_decay", {"learning_rate": 10.0, "weight_decay": 0.05}, ("f1", "f4")),
        ("adapt_lower_bound", {"learning_rate": 3.0, "lower_bound": -1.0, "adapt_lower_bound": True}, ("f0", "f1")),
    ]),
]


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------
def stable_until(points, surface, optimizer, kwargs, p0, steps):
    """Last step k such that the run from x0 + 1 ulp agrees with `points` on rows 0..=k."""
    x0 = np.nextafter(np.float32(p0[0]), np.float32(np.inf))
    other, _, _ = run(surface, optimizer, kwargs, [float(x0), p0[1]], steps)
    a, b = other.astype(np.float64), points.astype(np.float64)
    with np.errstate(invalid="ignore"):  # equal infinities and NaN == NaN count as agreeing, as in the blog reference
        close = (a == b) | (np.isnan(a) & np.isnan(b)) | (np.abs(a - b) <= REL_TOL * (1 + np.abs(b)))
    ok = np.all(close, axis=1)
    bad = np.nonzero(~ok)[0]
    return steps if len(bad) == 0 else int(bad[0]) - 1


def to_list(a):
    return [float(np.float32(v)) for v in a] if a.ndim == 1 else [to_list(r) for r in a]


def versions():
    import tensorflow as tf
    import keras
    import jax
    import optax
    return {"tensorflow": tf.__version__, "keras": keras.__version__, "optax": optax.__version__,
            "jax": jax.__version__, "generated_by": "scripts/make_reference.py"}


def verify_against(path, only=None):
    """Re-run every case of an existing reference file (those whose name contains `only`, if given);
    report bit-exact matches. A file of the optax set (its _meta.generated_by) goes to verify_against_optax."""
    ref = json.load(open(path))
    if "--set optax" in ref.get("_meta", {}).get("generated_by", ""):
        return verify_against_optax(ref, path, only)
    if "--set mlp" in ref.get("_meta", {}).get("generated_by", ""):
        return verify_against_mlp(ref, path, only)
    exact = 0
    cases = [(k, v) for k, v in ref.items() if not k.startswith("_") and (not only or only in k)]
    for name, c in cases:
        pts, grads, losses = run(c["surface"], c["optimizer"], c["kwargs"], c["p0"], c["steps"])
        same = (to_list(pts) == c["points"] or np.array_equal(pts, np.array(c["points"], np.float32), equal_nan=True)) \
            and np.array_equal(grads, np.array(c["grads"], np.float32), equal_nan=True) \
            and np.array_equal(losses, np.array(c["smooth_loss"], np.float32), equal_nan=True)
        su = stable_until(pts, c["surface"], c["optimizer"], c["kwargs"], c["p0"], c["steps"])
        exact += same
        if not same or su != c["stable_until"]:
            print(f"  verify: {name}: bit-exact={same} stable_until={su} (file: {c['stable_until']})")
    print(f"verify: {exact}/{len(cases)} cases of {path} reproduced bit for bit")
    return exact == len(cases)


def verify_against_optax(ref, path, only=None):
    """verify_against for a file of the optax set: every recorded array and stable_until."""
    exact = 0
    cases = [(k, v) for k, v in ref.items() if not k.startswith("_") and (not only or only in k)]
    for name, c in cases:
        res = run_optax_case(c["surface"], c["optimizer"], c["kwargs"], c["p0"], c["steps"])
        same = set(res) == {k for k in OPTAX_ARRAYS if k in c} \
            and all(np.array_equal(v, np.array(c[k], np.float32), equal_nan=True) for k, v in res.items())
        su = optax_stable_until(res, c["surface"], c["optimizer"], c["kwargs"], c["p0"], c["steps"])
        exact += same
        if not same or su != c["stable_until"]:
            print(f"  verify: {name}: bit-exact={same} stable_until={su} (file: {c['stable_until']})")
    print(f"verify: {exact}/{len(cases)} cases of {path} reproduced bit for bit")
    return exact == len(cases)


# ---------------------------------------------------------------------------------------------
# The MLP set (--set mlp): tests/fixtures/keras-mlp.json
#
# A multilayer perceptron over a small table, full batch, every optimizer stepping the whole
# parameter vector (one variable per kernel and per bias). Keras (TensorFlow graph mode: the step
# inside one @tf.function, as in the other sets) for Keras's optimizers; optax.lars eagerly (params a
# list of per-layer leaves [k0, b0, k1, b1, ...]), for LARS. See the module docstring, "The MLP set".
# ---------------------------------------------------------------------------------------------
MLP_STEPS = 200
MLP_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "keras-mlp.json")
MLP_ACTIVATIONS = ("relu", "tanh", "gelu", "sigmoid")
MLP_LOSSES = ("cross_entropy", "binary_cross_entropy", "mse")
IRIS_CSV = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "iris.csv")
IRIS_X = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def _iris_table():
    """(columns, rows) of data/iris.csv: numbers as in the source (int where the text is an integer)."""
    import csv
    with open(IRIS_CSV, newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        rows = [r for r in reader]
    def num(t):
        return int(t) if t.lstrip("-").isdigit() else float(t)
    return header, rows, num


def iris_data(x, y):
    """The data object of a case over iris: only the columns it uses (x, then y), rows in the source's order."""
    header, rows, num = _iris_table()
    cols = list(x) + [y]
    idx = [header.index(c) for c in cols]
    return {"columns": cols, "rows": [[num(r[i]) for i in idx] for r in rows], "x": list(x), "y": y}


def moons_data(n=200, noise=0.15, seed=7):
    """Two interleaving half circles (scikit-learn's make_moons, written out with numpy), coordinates
    rounded to 3 decimals so that the inline table is what the source is; label 0 (upper) / 1 (lower)."""
    rng = np.random.default_rng(seed)
    n0 = n // 2
    t0, t1 = rng.uniform(0, np.pi, n0), rng.uniform(0, np.pi, n - n0)
    pts = np.concatenate([np.stack([np.cos(t0), np.sin(t0)], 1),
                          np.stack([1 - np.cos(t1), 0.5 - np.sin(t1)], 1)]) + rng.normal(0, noise, (n, 2))
    labels = np.concatenate([np.zeros(n0, int), np.ones(n - n0, int)])
    order = rng.permutation(n)
    rows = [[round(float(pts[k, 0]), 3), round(float(pts[k, 1]), 3), int(labels[k])] for k in order]
    return {"columns": ["x1", "x2", "label"], "rows": rows, "x": ["x1", "x2"], "y": "label"}


MLP_DATA = {  # name -> (data builder, standardize)
    "iris": (lambda: iris_data(IRIS_X, "species_id"), True),
    "iris-raw": (lambda: iris_data(IRIS_X, "species_id"), False),
    "iris-virginica": (lambda: iris_data(["petal_length", "petal_width"], "is_virginica"), True),
    "iris-virginica-sepal": (lambda: iris_data(["sepal_length", "sepal_width", "petal_length"], "is_virginica"), True),
    "iris-petal-width": (lambda: iris_data(["sepal_length", "sepal_width", "petal_length"], "petal_width"), True),
    "moons": (moons_data, True),
    "moons-raw": (moons_data, False),
}

# (name, data, hidden layers, activation, loss, skip, optimizer (optsurf name), kwargs, init seed)
# kwargs: Keras constructor kwargs exactly as passed (lars: optax.lars's, every argument explicit).
MLP_CASES = [
    # --- iris, [16, 16] tanh, cross_entropy: every optimizer
    ("iris-sgd", "iris", [16, 16], "tanh", "cross_entropy", False, "sgd", {"learning_rate": 0.1}, 1),
    ("iris-sgd-momentum", "iris", [16, 16], "tanh", "cross_entropy", False, "sgd",
     {"learning_rate": 0.02, "momentum": 0.9}, 2),
    ("iris-sgd-nesterov-wd", "iris", [16, 16], "tanh", "cross_entropy", False, "sgd",
     {"learning_rate": 0.02, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}, 3),
    ("iris-rmsprop", "iris", [16, 16], "tanh", "cross_entropy", False, "rmsprop", {"learning_rate": 0.001}, 4),
    ("iris-rmsprop-centered-momentum", "iris", [16, 16], "tanh", "cross_entropy", False, "rmsprop",
     {"learning_rate": 0.0005, "rho": 0.95, "momentum": 0.5, "centered": True}, 5),
    ("iris-adagrad", "iris", [16, 16], "tanh", "cross_entropy", False, "adagrad", {"learning_rate": 0.05}, 6),
    ("iris-adadelta", "iris", [16, 16], "tanh", "cross_entropy", False, "adadelta",
     {"learning_rate": 1.0, "rho": 0.9}, 7),
    ("iris-adam", "iris", [16, 16], "tanh", "cross_entropy", False, "adam", {"learning_rate": 0.005}, 8),
    ("iris-adam-amsgrad", "iris", [16, 16], "tanh", "cross_entropy", False, "adam",
     {"learning_rate": 0.005, "beta_2": 0.99, "amsgrad": True}, 9),
    ("iris-adamw", "iris", [16, 16], "tanh", "cross_entropy", False, "adamw",
     {"learning_rate": 0.005, "weight_decay": 0.1}, 10),
    ("iris-adamax", "iris", [16, 16], "tanh", "cross_entropy", False, "adamax", {"learning_rate": 0.01}, 11),
    ("iris-nadam", "iris", [16, 16], "tanh", "cross_entropy", False, "nadam", {"learning_rate": 0.005}, 12),
    ("iris-lion-wd", "iris", [16, 16], "tanh", "cross_entropy", False, "lion",
     {"learning_rate": 0.001, "weight_decay": 0.1}, 13),
    ("iris-lamb", "iris", [16, 16], "tanh", "cross_entropy", False, "lamb", {"learning_rate": 0.005}, 14),
    ("iris-lamb-betas-wd", "iris", [16, 16], "tanh", "cross_entropy", False, "lamb",
     {"learning_rate": 0.005, "beta_1": 0.8, "beta_2": 0.99, "weight_decay": 0.05}, 15),
    ("iris-ftrl", "iris", [16, 16], "tanh", "cross_entropy", False, "ftrl", {"learning_rate": 0.1}, 16),
    ("iris-ftrl-l1-l2", "iris", [16, 16], "tanh", "cross_entropy", False, "ftrl",
     {"learning_rate": 0.1, "l1_regularization_strength": 0.001, "l2_regularization_strength": 0.01,
      "l2_shrinkage_regularization_strength": 0.01, "beta": 0.5}, 17),
    ("iris-lars", "iris", [16, 16], "tanh", "cross_entropy", False, "lars",
     {"learning_rate": 0.5, "weight_decay": 0.0, "trust_coefficient": 0.001, "eps": 0.0, "momentum": 0.9,
      "nesterov": False}, 18),
    ("iris-lars-nesterov-wd", "iris", [16, 16], "tanh", "cross_entropy", False, "lars",
     {"learning_rate": 0.5, "weight_decay": 0.001, "trust_coefficient": 0.001, "eps": 0.001, "momentum": 0.9,
      "nesterov": True}, 19),
    # --- other activations, widths, depths, skip connections
    ("iris-relu-adam", "iris", [16, 16], "relu", "cross_entropy", False, "adam", {"learning_rate": 0.005}, 20),
    ("iris-gelu-rmsprop-wd", "iris", [16, 16], "gelu", "cross_entropy", False, "rmsprop",
     {"learning_rate": 0.001, "weight_decay": 0.01}, 21),
    ("iris-sigmoid-sgd-momentum", "iris", [16, 16], "sigmoid", "cross_entropy", False, "sgd",
     {"learning_rate": 0.1, "momentum": 0.9}, 22),
    ("iris-w4-sgd", "iris", [4], "tanh", "cross_entropy", False, "sgd", {"learning_rate": 0.2}, 23),
    ("iris-w32-nadam-wd", "iris", [32], "relu", "cross_entropy", False, "nadam",
     {"learning_rate": 0.003, "weight_decay": 0.02}, 24),
    ("iris-d3-adamax", "iris", [8, 8, 8], "tanh", "cross_entropy", False, "adamax", {"learning_rate": 0.01}, 25),
    ("iris-skip-adam", "iris", [8, 8, 8], "tanh", "cross_entropy", True, "adam", {"learning_rate": 0.005}, 26),
    ("iris-skip-relu-lamb", "iris", [8, 8, 8], "relu", "cross_entropy", True, "lamb",
     {"learning_rate": 0.005, "epsilon": 1e-4}, 27),
    ("iris-skip-gelu-lars", "iris", [8, 8, 8], "gelu", "cross_entropy", True, "lars",
     {"learning_rate": 0.2, "weight_decay": 0.0, "trust_coefficient": 0.01, "eps": 0.0, "momentum": 0.0,
      "nesterov": False}, 28),
    ("iris-raw-adam", "iris-raw", [16, 16], "tanh", "cross_entropy", False, "adam", {"learning_rate": 0.005}, 29),
    ("iris-raw-lamb", "iris-raw", [16, 16], "relu", "cross_entropy", False, "lamb", {"learning_rate": 0.003}, 30),
    # --- binary cross-entropy
    ("virginica-adam", "iris-virginica", [16, 16], "tanh", "binary_cross_entropy", False, "adam",
     {"learning_rate": 0.005}, 31),
    ("virginica-sepal-sgd", "iris-virginica-sepal", [8], "sigmoid", "binary_cross_entropy", False, "sgd",
     {"learning_rate": 0.5, "momentum": 0.5}, 32),
    ("moons-relu-adam", "moons", [16, 16], "relu", "binary_cross_entropy", False, "adam",
     {"learning_rate": 0.01}, 33),
    ("moons-gelu-lamb-wd", "moons", [32], "gelu", "binary_cross_entropy", False, "lamb",
     {"learning_rate": 0.01, "weight_decay": 0.01}, 34),
    ("moons-raw-tanh-lars", "moons-raw", [16, 16], "tanh", "binary_cross_entropy", False, "lars",
     {"learning_rate": 0.5, "weight_decay": 0.0001, "trust_coefficient": 0.002, "eps": 0.0, "momentum": 0.9,
      "nesterov": False}, 35),
    # --- mean squared error
    ("petal-width-adam", "iris-petal-width", [16], "tanh", "mse", False, "adam", {"learning_rate": 0.005}, 36),
    ("petal-width-sgd-nesterov", "iris-petal-width", [8, 8], "relu", "mse", False, "sgd",
     {"learning_rate": 0.01, "momentum": 0.9, "nesterov": True}, 37),
    ("petal-width-lamb", "iris-petal-width", [16, 16], "sigmoid", "mse", False, "lamb",
     {"learning_rate": 0.01, "beta_1": 0.95}, 38),
    ("petal-width-lars", "iris-petal-width", [16], "tanh", "mse", False, "lars",
     {"learning_rate": 0.5, "weight_decay": 0.0, "trust_coefficient": 0.001, "eps": 0.0, "momentum": 0.9,
      "nesterov": True}, 39),
]


def mlp_arrays(data, standardize, loss):
    """(X float32 [N, d], y) exactly as the Rust side builds them: features standardized per column in
    float64 ((u - mean) * (1 / std), population std; a constant column only centred), then cast to
    float32; y int32 labels (cross_entropy) or float32 [N, 1] (binary_cross_entropy, mse)."""
    cols = data["columns"]
    table = np.array(data["rows"], dtype=np.float64)
    u = table[:, [cols.index(c) for c in data["x"]]]
    if standardize:
        mean = u.mean(axis=0)
        std = u.std(axis=0)  # ddof=0
        scale = np.array([1.0 / s if s > 0 else 1.0 for s in std])
        u = (u - mean) * scale
    X = u.astype(np.float32)
    t = table[:, cols.index(data["y"])]
    if loss == "cross_entropy":
        assert np.all(t == np.round(t)) and t.min() >= 0, "cross_entropy needs labels 0..k-1"
        return X, t.astype(np.int32)
    if loss == "binary_cross_entropy":
        assert set(np.unique(t)) <= {0.0, 1.0}, "binary_cross_entropy needs 0/1 labels"
    return X, t.astype(np.float32)[:, None]


def mlp_widths(model, n_features, y):
    """Every layer's (in, out), the output layer last."""
    n_out = int(y.max()) + 1 if model["loss"] == "cross_entropy" else 1
    widths = [n_features] + list(model["layers"]) + [n_out]
    return list(zip(widths[:-1], widths[1:]))


def mlp_init(shapes, seed):
    """Initial weights, Keras layout: kernels glorot-uniform (limit sqrt(6 / (in + out))), biases uniform
    in [-0.1, 0.1] (not zero, so that they are exercised, LAMB's and LARS's bias norms included)."""
    rng = np.random.default_rng(seed)
    layers = []
    for fan_in, fan_out in shapes:
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        layers.append({"kernel": rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32),
                       "bias": rng.uniform(-0.1, 0.1, fan_out).astype(np.float32)})
    return layers


def mlp_residual(model, k, fan_in, fan_out):
    return bool(model.get("skip")) and k > 0 and fan_in == fan_out


def _erf64(v):
    import math
    return np.vectorize(math.erf, otypes=[np.float64])(v)


def mlp_loss_numpy(model, X, y, layers):
    """The loss in plain numpy float64 (the self-check of the fixture's loss[0])."""
    acts = {"relu": lambda a: np.maximum(a, 0.0), "tanh": np.tanh, "sigmoid": lambda a: 1.0 / (1.0 + np.exp(-a)),
            "gelu": lambda a: 0.5 * a * (1.0 + _erf64(a / np.sqrt(2.0)))}
    act = acts[model["activation"]]
    h = X.astype(np.float64)
    hidden = layers[:-1]
    for k, layer in enumerate(hidden):
        W, b = layer["kernel"].astype(np.float64), layer["bias"].astype(np.float64)
        out = act(h @ W + b)
        h = h + out if mlp_residual(model, k, W.shape[0], W.shape[1]) else out
    z = h @ layers[-1]["kernel"].astype(np.float64) + layers[-1]["bias"].astype(np.float64)
    if model["loss"] == "cross_entropy":
        m = z.max(axis=1, keepdims=True)
        lse = m[:, 0] + np.log(np.exp(z - m).sum(axis=1))
        return float(np.mean(lse - z[np.arange(len(y)), y]))
    if model["loss"] == "binary_cross_entropy":
        t = y.astype(np.float64)
        return float(np.mean(np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))))
    return float(np.mean((z - y.astype(np.float64)) ** 2))


def run_mlp_keras(model, X, y, layers, optimizer, kwargs, steps):
    """Keras: losses (steps + 1, float32) and the final weights. The model is a functional Keras model
    of Dense layers (activation by name; gelu is keras.activations.gelu, approximate=False), a residual
    layer as keras.layers.Add()([h, Dense(h)]); the loss is Keras's loss class, reduction
    sum_over_batch_size; every step is one @tf.function: tape, loss, gradient, apply_gradients."""
    import tensorflow as tf
    import keras

    keras.backend.clear_session()
    act = model["activation"]
    activation = (lambda a: keras.activations.gelu(a, approximate=False)) if act == "gelu" else act
    inp = keras.Input((X.shape[1],), dtype="float32")
    h = inp
    for k, layer in enumerate(layers[:-1]):
        fan_in, fan_out = layer["kernel"].shape
        out = keras.layers.Dense(fan_out, activation=activation, name=f"hidden_{k}")(h)
        h = keras.layers.Add(name=f"skip_{k}")([h, out]) if mlp_residual(model, k, fan_in, fan_out) else out
    logits = keras.layers.Dense(layers[-1]["kernel"].shape[1], name="output")(h)
    net = keras.Model(inp, logits)
    tv = net.trainable_variables
    expected = [s for layer in layers for s in (layer["kernel"].shape, layer["bias"].shape)]
    if [tuple(v.shape) for v in tv] != [tuple(s) for s in expected]:
        raise SystemExit(f"Keras's trainable_variables {[tuple(v.shape) for v in tv]} are not the layout {expected}")
    for v, w in zip(tv, [a for layer in layers for a in (layer["kernel"], layer["bias"])]):
        v.assign(w)
    # the order is layer by layer, kernel then bias: check it by name too
    names = [v.path for v in tv]
    want = [f"{n}/{p}" for n in [f"hidden_{k}" for k in range(len(layers) - 1)] + ["output"] for p in ("kernel", "bias")]
    if names != want:
        raise SystemExit(f"Keras's trainable_variables are {names}, expected {want}")
    loss_fn = {"cross_entropy": lambda: keras.losses.SparseCategoricalCrossentropy(from_logits=True),
               "binary_cross_entropy": lambda: keras.losses.BinaryCrossentropy(from_logits=True),
               "mse": lambda: keras.losses.MeanSquaredError()}[model["loss"]]()
    opt = getattr(keras.optimizers, KERAS_CLASSES[optimizer])(**keras_kwargs(kwargs))
    opt.build(tv)
    Xt, yt = tf.constant(X), tf.constant(y)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = loss_fn(yt, net(Xt, training=True))
        grads = tape.gradient(loss, tv)
        opt.apply_gradients(zip(grads, tv))
        return loss

    @tf.function
    def forward():
        return loss_fn(yt, net(Xt, training=True))

    losses = [step().numpy() for _ in range(steps)]
    losses.append(forward().numpy())
    final = [{"kernel": tv[2 * i].numpy().copy(), "bias": tv[2 * i + 1].numpy().copy()} for i in range(len(layers))]
    return np.array(losses, np.float32), final


def run_mlp_lars(model, X, y, layers, kwargs, steps):
    """optax.lars, eagerly, float32; params a list [k0, b0, k1, b1, ...] (the trust ratio is per leaf).
    The forward pass as Keras's: h = act(h @ W + b) (h + act(...) when residual), logits = h @ W + b;
    losses as TensorFlow writes them (sparse softmax cross-entropy as max-shifted log-sum-exp minus the
    label's logit; sigmoid cross-entropy as max(z, 0) - z t + log1p(exp(-|z|)); squared error), mean
    over the batch; gelu as 0.5 x erfc(-x sqrt(1/2))."""
    import jax
    import jax.numpy as jnp
    import optax

    acts = {"relu": jax.nn.relu, "tanh": jnp.tanh, "sigmoid": jax.nn.sigmoid,
            "gelu": lambda a: 0.5 * a * jax.lax.erfc(-a * np.float32(np.sqrt(0.5)))}
    act = acts[model["activation"]]
    n = len(layers)
    Xj = jnp.asarray(X)
    yj = jnp.asarray(y)

    def loss_fn(params):
        h = Xj
        for k in range(n - 1):
            W, b = params[2 * k], params[2 * k + 1]
            out = act(h @ W + b)
            h = h + out if mlp_residual(model, k, W.shape[0], W.shape[1]) else out
        z = h @ params[-2] + params[-1]
        if model["loss"] == "cross_entropy":
            m = jax.lax.stop_gradient(jnp.max(z, axis=1, keepdims=True))
            lse = jnp.log(jnp.sum(jnp.exp(z - m), axis=1)) + m[:, 0]
            return jnp.mean(lse - jnp.take_along_axis(z, yj[:, None], axis=1)[:, 0])
        if model["loss"] == "binary_cross_entropy":
            return jnp.mean(jnp.maximum(z, 0) - z * yj + jnp.log1p(jnp.exp(-jnp.abs(z))))
        return jnp.mean(jnp.square(yj - z))

    opt = optax.lars(**kwargs)
    params = [jnp.asarray(a) for layer in layers for a in (layer["kernel"], layer["bias"])]
    state = opt.init(params)
    value_and_grad = jax.value_and_grad(loss_fn)
    losses = []
    for _ in range(steps):
        loss, grads = value_and_grad(params)
        updates, state = opt.update(grads, state, params)
        params = optax.apply_updates(params, updates)
        assert all(p.dtype == jnp.float32 for p in params)
        losses.append(np.float32(loss))
    losses.append(np.float32(loss_fn(params)))
    final = [{"kernel": np.asarray(params[2 * i]).copy(), "bias": np.asarray(params[2 * i + 1]).copy()}
             for i in range(n)]
    return np.array(losses, np.float32), final


def run_mlp(model, X, y, layers, optimizer, kwargs, steps):
    if optimizer == "lars":
        return run_mlp_lars(model, X, y, layers, kwargs, steps)
    return run_mlp_keras(model, X, y, layers, optimizer, kwargs, steps)


def mlp_case_inputs(case):
    """(model, data, standardize, X, y, init layers) of an MLP_CASES entry."""
    name, data_key, hidden, activation, loss, skip, optimizer, kwargs, seed = case
    build, standardize = MLP_DATA[data_key]
    data = build()
    model = {"model": "mlp", "layers": list(hidden), "activation": activation, "loss": loss, "skip": skip}
    X, y = mlp_arrays(data, standardize, loss)
    init = mlp_init(mlp_widths(model, X.shape[1], y), seed)
    return model, data, standardize, X, y, init


def mlp_layout(layers):
    return {"layers": [{"kernel": to_list(layer["kernel"]), "bias": to_list(layer["bias"])} for layer in layers]}


def mlp_from_layout(layout):
    return [{"kernel": np.array(layer["kernel"], np.float32), "bias": np.array(layer["bias"], np.float32)}
            for layer in layout["layers"]]


def mlp_stable_until(losses, model, X, y, init, optimizer, kwargs, steps):
    """Last step k such that a rerun from the initial weights all nudged one float32 ulp toward +inf
    agrees on loss[0..=k] to |a - b| <= 1e-4 (1 + |b|)."""
    up = [{k: np.nextafter(v, np.float32(np.inf)) for k, v in layer.items()} for layer in init]
    other, _ = run_mlp(model, X, y, up, optimizer, kwargs, steps)
    a, b = other.astype(np.float64), losses.astype(np.float64)
    with np.errstate(invalid="ignore"):
        ok = (a == b) | (np.isnan(a) & np.isnan(b)) | (np.abs(a - b) <= REL_TOL * (1 + np.abs(b)))
    bad = np.nonzero(~ok)[0]
    return steps if len(bad) == 0 else int(bad[0]) - 1


def mlp_versions():
    import tensorflow as tf
    import keras
    import jax
    import optax
    return {
        "tensorflow": tf.__version__, "keras": keras.__version__, "optax": optax.__version__, "jax": jax.__version__,
        "numpy": np.__version__, "generated_by": "scripts/make_reference.py --set mlp",
        "how": "Keras optimizers: a functional keras.Model of Dense layers (float32) built from the case, its "
               "trainable_variables set to init; each step one @tf.function (graph mode): with tf.GradientTape() "
               "as tape: loss = loss_fn(y, model(X, training=True)); grads = tape.gradient(loss, "
               "model.trainable_variables); opt.apply_gradients(zip(grads, model.trainable_variables)); returns "
               "loss. lars: optax.lars(**kwargs) run eagerly (no jax.jit) on params = [k0, b0, k1, b1, ...] (one "
               "leaf per kernel and bias, so its trust ratio is per leaf), loss and grads from jax.value_and_grad "
               "of the same forward pass written in jax.numpy (float32).",
        "fields": {
            "name": "the case's name (also its key)",
            "data": "the table, self-contained: columns (names), rows (raw values as in the source, one list per "
                    "row, in columns' order), x (feature columns, in order), y (target column)",
            "standardize": "true: each feature column u becomes (u - mean) * (1 / std) in float64, mean and "
                           "population std (ddof=0) over the rows (a constant column is only centred), then cast "
                           "to float32; false: the values cast to float32. Targets: int labels for "
                           "cross_entropy, float32 for binary_cross_entropy and mse",
            "model": "{model: 'mlp', layers: hidden widths, activation: relu|tanh|gelu|sigmoid (gelu exact: "
                     "0.5 x erfc(-x * float32(sqrt(1/2))), as tf.nn.gelu(approximate=False)), loss: "
                     "cross_entropy|binary_cross_entropy|mse, skip}. Hidden layer k: h = act(h @ W_k + b_k); with "
                     "skip, a hidden layer k > 0 whose input width equals its width is h = h + act(h @ W_k + b_k). "
                     "Output: logits = h @ W + b, width max(label) + 1 (cross_entropy) or 1. Losses, mean over "
                     "the batch (sum / N): keras.losses.SparseCategoricalCrossentropy(from_logits=True), "
                     "BinaryCrossentropy(from_logits=True) (= max(z, 0) - z t + log1p(exp(-|z|))), "
                     "MeanSquaredError()",
            "init": "initial weights, Keras layout {layers: [{kernel: [in][out], bias: [out]}, ...]}, hidden "
                    "layers then the output layer; Keras's trainable_variables order is k0, b0, k1, b1, ...",
            "optimizer": "{optimizer: optsurf's name (Keras class in lower case, or lars = optax.lars), ...the "
                         "constructor kwargs exactly as passed}",
            "steps": "number of optimizer steps (full batch: every row each step)",
            "loss": "steps + 1 float32 values: loss[t] for t < steps is the loss the step t + 1 computed (the "
                    "tape's, at the weights before that step); loss[steps] the same forward at the final weights",
            "final": "the weights after the last step, Keras layout as init",
            "stable_until": "last step k such that a rerun whose initial weights are all moved one float32 ulp "
                            "toward +inf agrees on loss[0..=k] to |a - b| <= 1e-4 (1 + |b|) (== steps: not chaotic)",
        },
    }


def main_mlp(args):
    steps = args.steps or MLP_STEPS
    names = [c[0] for c in MLP_CASES]
    assert len(set(names)) == len(names), "duplicate case names"
    result = {"_meta": mlp_versions()}
    problems = []
    print(f"{'case':32s} {'opt':8s} {'layers':>10s} {'act':7s} {'loss':5s} {'loss0':>9s} {'loss/2':>9s} "
          f"{'lossN':>9s} {'|dw|':>7s} stable")
    for case in MLP_CASES:
        name, optimizer, kwargs = case[0], case[6], case[7]
        if args.only and args.only not in name:
            continue
        assert all(ch in "abcdefghijklmnopqrstuvwxyz0123456789_.-" for ch in name), name
        model, data, standardize, X, y, init = mlp_case_inputs(case)
        losses, final = run_mlp(model, X, y, init, optimizer, kwargs, steps)
        again, final_again = run_mlp(model, X, y, init, optimizer, kwargs, steps)
        if not (np.array_equal(again, losses) and all(np.array_equal(a[k], b[k]) for a, b in zip(final, final_again)
                                                        for k in ("kernel", "bias"))):
            problems.append(f"{name}: a second run differs (nondeterminism)")
        check = mlp_loss_numpy(model, X, y, init)
        if abs(check - float(losses[0])) > 1e-5 * abs(check):
            problems.append(f"{name}: loss[0] {losses[0]} but numpy float64 gives {check}")
        su = mlp_stable_until(losses, model, X, y, init, optimizer, kwargs, steps)
        if losses.shape != (steps + 1,) or not np.all(np.isfinite(losses)):
            problems.append(f"{name}: bad losses (shape {losses.shape}, finite {np.all(np.isfinite(losses))})")
        for layer in final:
            if not all(np.all(np.isfinite(v)) for v in layer.values()):
                problems.append(f"{name}: non-finite final weights")
        if losses[-1] > 0.7 * losses[0]:
            problems.append(f"{name}: trains too little ({losses[0]:.4g} -> {losses[-1]:.4g})")
        moved = max(float(np.max(np.abs(f[k] - i[k]))) for f, i in zip(final, init) for k in ("kernel", "bias"))
        result[name] = {"name": name, "data": data, "standardize": standardize, "model": model,
                        "init": mlp_layout(init), "optimizer": {"optimizer": optimizer, **kwargs}, "steps": steps,
                        "loss": to_list(losses), "final": mlp_layout(final), "stable_until": su}
        print(f"{name:32s} {optimizer:8s} {str(model['layers']):>10s} {model['activation']:7s} "
              f"{model['loss'][:5]:5s} {losses[0]:9.4g} {losses[steps // 2]:9.4g} {losses[-1]:9.4g} {moved:7.3g} "
              f"{su}{'' if su == steps else '  <-- chaotic'}", flush=True)

    per_opt = {}
    for name, c in result.items():
        if not name.startswith("_"):
            per_opt[c["optimizer"]["optimizer"]] = per_opt.get(c["optimizer"]["optimizer"], 0) + 1
    chaotic = sum(1 for k, c in result.items() if not k.startswith("_") and c["stable_until"] < c["steps"])
    print("cases per optimizer:", ", ".join(f"{k}={v}" for k, v in per_opt.items()), f"(total {sum(per_opt.values())})")
    print(f"chaotic (stable_until < steps): {chaotic}")
    if problems:
        print("PROBLEMS:\n  " + "\n  ".join(problems))
        sys.exit(1)
    out = args.out or (None if args.only or args.steps else MLP_OUT)
    if out:
        write_fixture(out, result)


def verify_against_mlp(ref, path, only=None):
    """verify_against for a file of the MLP set: loss, final weights and stable_until, bit for bit."""
    exact = 0
    cases = [(k, v) for k, v in ref.items() if not k.startswith("_") and (not only or only in k)]
    for name, c in cases:
        X, y = mlp_arrays(c["data"], c["standardize"], c["model"]["loss"])
        init = mlp_from_layout(c["init"])
        opt = dict(c["optimizer"])
        optimizer = opt.pop("optimizer")
        losses, final = run_mlp(c["model"], X, y, init, optimizer, opt, c["steps"])
        same = to_list(losses) == c["loss"] and mlp_layout(final) == c["final"]
        su = mlp_stable_until(losses, c["model"], X, y, init, optimizer, opt, c["steps"])
        exact += same
        if not same or su != c["stable_until"]:
            print(f"  verify: {name}: bit-exact={same} stable_until={su} (file: {c['stable_until']})")
    print(f"verify: {exact}/{len(cases)} cases of {path} reproduced bit for bit")
    return exact == len(cases)


SETS = {  # --set NAME: (cases, steps, default output); optax: see main_optax
    "extra": (CASES, STEPS, DEFAULT_OUT),
    "schedules": (SCHEDULE_CASES, SCHEDULE_STEPS, SCHEDULE_OUT),
    "long": (LONG_CASES, LONG_STEPS, LONG_OUT),
}
SET_NAMES = ("extra", "schedules", "long", "optax", "mlp")


def schedule_checks(name, surface, optimizer, kwargs, p0, steps, pts, rates):
    """(replay_until, problems) for a schedule case.

    replay_until: the last step k such that Keras with a plain float learning rate set to
    learning_rates[i] before step i reproduces points[0..=k] bit for bit (== steps for most cases).
    Where a schedule ends in a product (ExponentialDecay, CosineDecay without warmup,
    CosineDecayRestarts, PolynomialDecay with end_learning_rate=0), grappler may merge that product
    into the optimizer's own (weight decay, Adagrad's and RMSprop's lr * g * rsqrt(.)), which rounds
    differently in the last bit; the replay then drifts by a few ulps, which must stay small."""
    problems = []
    plain, _, _ = run(surface, optimizer, kwargs, p0, steps)  # the step without the extra output
    if not np.array_equal(plain, pts, equal_nan=True):
        problems.append(f"{name}: reading the rate inside the step changes the trajectory")
    replay, _, _ = run_keras(surface, optimizer, kwargs, p0, steps, lr_per_step=rates)
    same = np.all((replay == pts) | (np.isnan(replay) & np.isnan(pts)), axis=1)
    replay_until = steps if np.all(same) else int(np.nonzero(~same)[0][0]) - 1
    a, b = replay.astype(np.float64), pts.astype(np.float64)
    with np.errstate(invalid="ignore"):
        worst = float(np.nanmax(np.abs(a - b) / (1 + np.abs(b))))
    if worst > REL_TOL / 10:
        problems.append(f"{name}: replaying learning_rates leaves Keras's trajectory by {worst:.2e} (relative)")
    return replay_until, worst, problems


def largest_lr(kwargs, rates):
    lr = kwargs.get("learning_rate", 0.001)
    return float(np.max(rates)) if isinstance(lr, dict) else float(lr)

# ---------------------------------------------------------------------------------------------
# Gradient fixture (--gradients): TensorFlow's graph gradients of the smooth surfaces, point by point
# ---------------------------------------------------------------------------------------------
GRAD_SEED = 20250911
GRAD_GRID = 64  # grid points per side over [-10, 10)
GRAD_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "tf-gradients.json")
F32 = np.float32
# the surfaces of tf-gradients.json, in its order (not every entry of surfaces(): rosenbrock is the optax set's)
GRAD_SURFACES = ("f0", "f1", "f2", "f3", "f4", "f5", "quadric")


def f32_b64(a):
    import base64
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f4").tobytes()).decode("ascii")


def nudged(values, rng, ulps=4):
    """float32 values moved by a random whole number of ulps in [-ulps, ulps]; a zero becomes a
    tiny normal number of either sign instead (ulps of zero are subnormal, see TINY)."""
    v = np.asarray(values, F32).copy()
    steps = rng.integers(-ulps, ulps + 1, size=v.shape)
    for k in range(v.size):
        if v[k] == 0:
            v[k] = F32(tiny(rng))
            continue
        toward = F32(np.inf) if steps[k] > 0 else F32(-np.inf)
        for _ in range(abs(int(steps[k]))):
            v[k] = np.nextafter(v[k], toward)
    return v


# TensorFlow's CPU kernels run with denormals flushed to zero (FTZ/DAZ), burn computes them, so
# the fixture keeps every coordinate (and hence every intermediate) of the surfaces normal: the
# smallest nonzero magnitude is TINY, whose squares times the surfaces' constants stay >= 1e-33.
TINY = 1e-15


def tiny(rng, size=None):
    """Magnitudes log-uniform in [TINY, 1e-6], random signs."""
    return 10.0 ** rng.uniform(np.log10(TINY), -6, size=size) * rng.choice([-1.0, 1.0], size=size)


def common_points(rng):
    g = (np.arange(GRAD_GRID) * (20.0 / GRAD_GRID) - 10.0).astype(F32)  # exact: 20/64 = 0.3125
    gx, gy = np.meshgrid(g, g, indexing="ij")
    uni = rng.uniform(-10, 10, size=(3072, 2))
    wide = rng.uniform(-50, 50, size=(512, 2))
    small = 10.0 ** rng.uniform(-6, 0, size=(512, 2)) * rng.choice([-1.0, 1.0], size=(512, 2))
    rnd = np.concatenate([uni, wide, small]).astype(F32)
    x = np.concatenate([gx.ravel(), rnd[:, 0]]).astype(F32)
    y = np.concatenate([gy.ravel(), rnd[:, 1]]).astype(F32)
    return x, y, {"grid": [0, GRAD_GRID ** 2], "random": [GRAD_GRID ** 2, len(x)]}


def special_points(name, rng, n=2048):
    """Points where a last bit decides a sign: around the stationary points (offsets from 1 ulp
    or TINY to 1e-2) and on the zero curves of gx and gy (nudged by up to 4 ulps), plus signed zeros."""
    d = np.sqrt(2.36 ** 2 - 4 * 0.18 ** 2)
    f1x = [(-2.36 + d) / 0.36, (-2.36 - d) / 0.36]
    f4x = [5 * np.pi / 2 + 5 * np.pi * k for k in range(-3, 3)]
    f4y = [10 * np.pi * k for k in range(-2, 3)]
    stationary, gx_zero, gy_zero = {
        # gx_zero(y): the x values where gx vanishes; gy_zero(x): the y values where gy vanishes
        "f0": ([(0, 0)], lambda y: [0.0], lambda x: [0.0]),
        "f1": ([(f1x[0], -2.0 / 3.0), (f1x[0], -4.0)], lambda y: f1x, lambda x: [-2.0 / 3.0, -4.0]),
        "f2": ([(0, 0)], lambda y: [0.0], lambda x: [0.0]),
        "f3": ([(0, 0)], lambda y: [0.75 * y], lambda x: [-0.75 * x]),
        "f4": ([(5 * np.pi / 2, 0)] + [(a, b) for a in f4x for b in f4y], lambda y: f4x, lambda x: f4y),
        "f5": ([(0, 0)], lambda y: [0.0], lambda x: [0.0]),
        "quadric": ([(0, 0)], lambda y: [0.5 * y], lambda x: [-0.5 * x]),
    }[name]
    pts = []
    zeros = [0.0, -0.0]
    pts += [(a, b) for a in zeros for b in zeros]
    # around each stationary point: 0-4 ulps, then offsets of log-uniform size in [TINY, 1e-2]
    per = (n // 2 - len(pts)) // len(stationary)
    for (sx, sy) in stationary:
        base = np.full(per, sx, F32), np.full(per, sy, F32)
        k = per // 4
        near = (nudged(base[0][:k], rng), nudged(base[1][:k], rng))
        off = 10.0 ** rng.uniform(np.log10(TINY), -2, size=(per - k, 2)) * rng.choice([-1.0, 1.0], size=(per - k, 2))
        far = ((sx + off[:, 0]).astype(F32), (sy + off[:, 1]).astype(F32))
        pts += list(zip(near[0], near[1])) + list(zip(far[0], far[1]))
    # on the zero curves: the other coordinate uniform in [-10, 10) (and a few anywhere in [-50, 50))
    rest = n - len(pts)
    for axis in (0, 1):
        m = rest // 2 if axis == 0 else rest - rest // 2
        other = np.concatenate([rng.uniform(-10, 10, size=m - m // 8), rng.uniform(-50, 50, size=m // 8)])
        other = other.astype(F32)
        curve = gx_zero if axis == 0 else gy_zero
        roots = np.array([rng.choice(curve(float(o))) for o in other])
        on = nudged(roots.astype(F32), rng)
        pts += [(a, o) if axis == 0 else (o, a) for a, o in zip(on, other)]
    pts = np.array(pts, F32)
    assert pts.shape == (n, 2), pts.shape
    assert np.all((pts == 0) | (np.abs(pts) >= TINY * 0.99)), "subnormal-prone coordinates"
    return pts[:, 0].copy(), pts[:, 1].copy()


def tf_gradients(name, x, y):
    """TensorFlow's graph-mode gradient and smooth value at each point, one [1, 2] variable at a time."""
    import tensorflow as tf

    f = surfaces(tf.sin, tf.cos)[name]
    point = tf.Variable([[0.0, 0.0]], dtype=tf.float32)

    @tf.function(reduce_retracing=True)
    def grad_and_loss(fn, point):  # the post's compute_grads_scratch without its noise lookup
        with tf.GradientTape() as tape:
            loss = fn(point[..., 0], point[..., 1])
        return tape.gradient(loss, point), loss

    gx, gy, loss = (np.empty(len(x), F32) for _ in range(3))
    for k in range(len(x)):
        point.assign([[x[k], y[k]]])
        g, l = grad_and_loss(f, point)
        g, l = g.numpy(), l.numpy()
        gx[k], gy[k], loss[k] = g[0, 0], g[0, 1], l[0]
    return gx, gy, loss


def check_post_noise(name, x, y, gx, gy, loss):
    """The post's own step, noise included (its r, c and approximate_positional_noise): the gradient
    must be the smooth surface's, bit for bit. Returns the number of points checked."""
    import tensorflow as tf

    XY_RANGE, B = 10, 8
    tf.random.set_seed(GRAD_SEED)
    mesh = tf.reshape(tf.range(-XY_RANGE, XY_RANGE, 0.1, dtype=tf.float32), (-1, 1))
    z = tf.stack(tf.meshgrid(mesh, mesh), axis=-1)
    a, b = z.shape[:2]
    r = tf.random.normal((a // B, b // B))
    r = tf.image.resize(r[..., None], (a, b), method="bilinear")[..., 0]
    c = tf.random.normal((a, b))
    c *= tf.abs(z[..., 0]) * tf.abs(z[..., 1]) / 100.0

    def approximate_positional_noise(z):
        s = tf.shape(r)
        indices = tf.cast((z + XY_RANGE) * tf.cast(s, tf.float32) / (2 * XY_RANGE), tf.int32)
        indices = tf.clip_by_value(indices, 0, s[0] - 1)
        return tf.gather_nd(r, indices), tf.gather_nd(c, indices)

    smooth = surfaces(tf.sin, tf.cos)[name]
    noises = {"f0": (0.04, 0.01), "f1": (0.01, 0.01), "f2": (0.01, 0.01), "f3": (0.05, 0.01),
              "f4": (0.05, 0.01), "f5": (0.04, 0.01), "quadric": (0.0, 0.0)}
    wr, wc = noises[name]

    def fn(x, y, r, c):  # the post's f0..f5 (smooth part + 0.0w r + 0.01 c)
        return smooth(x, y) + wr * r + wc * c

    @tf.function(reduce_retracing=True)
    def compute_grads_scratch(fn, point):  # verbatim from the post
        with tf.GradientTape() as tape:
            x, y = point[..., 0], point[..., 1]
            noise = approximate_positional_noise(point)
            loss = fn(x, y, *noise)
            grad = tape.gradient(loss, point)
        return grad, loss

    point = tf.Variable([[0.0, 0.0]], dtype=tf.float32)
    bad = 0
    for k in range(len(x)):
        point.assign([[x[k], y[k]]])
        g = compute_grads_scratch(fn, point)[0].numpy()
        same = np.array_equal(g.view(np.uint32), np.array([[gx[k], gy[k]]], F32).view(np.uint32))
        if not same:
            bad += 1
            if bad <= 5:
                print(f"  noise check {name}: ({x[k]}, {y[k]}): with noise {g[0]}, smooth ({gx[k]}, {gy[k]})")
    if bad:
        raise SystemExit(f"{name}: the post's noise-included gradient differs from the smooth one at {bad} points")
    return len(x)


def write_gradients(out):
    import tensorflow as tf

    rng = np.random.default_rng(GRAD_SEED)
    cx, cy, groups = common_points(rng)
    names = list(GRAD_SURFACES)
    result = {"_meta": {
        "tensorflow": tf.__version__, "numpy": np.__version__, "generated_by": "scripts/make_reference.py --gradients",
        "seed": GRAD_SEED,
        "how": "per point: point = tf.Variable([[x, y]]) (float32); in one @tf.function, "
               "with tf.GradientTape() as tape: loss = f(point[..., 0], point[..., 1]); grad = tape.gradient(loss, point)",
        "format": "every array is base64 of little-endian float32 (exact bits). common.x/common.y: points shared by "
                  "all surfaces (grid, then random); per surface: extra_x/extra_y its special points; gx, gy, loss: one "
                  "value per point, the common points first, then the extra ones; groups: index ranges [start, end) "
                  "into that order. loss is the smooth surface (no noise terms).",
    }}
    result["common"] = {"x": f32_b64(cx), "y": f32_b64(cy)}
    print(f"{'surface':8s} {'points':>6s} {'noise check':>11s}  {'|gx| max':>9s} {'|gy| max':>9s} {'gx=0':>5s} {'gy=0':>5s}")
    for name in names:
        ex, ey = special_points(name, rng)
        x, y = np.concatenate([cx, ex]), np.concatenate([cy, ey])
        gx, gy, loss = tf_gradients(name, x, y)
        assert np.all(np.isfinite(gx)) and np.all(np.isfinite(gy)) and np.all(np.isfinite(loss)), name
        # the post's noise-included step on a few hundred points (grid, random and special ones)
        pick = np.concatenate([rng.choice(len(cx), 200, replace=False), len(cx) + rng.choice(len(ex), 100, replace=False)])
        checked = check_post_noise(name, x[pick], y[pick], gx[pick], gy[pick], loss[pick])
        result[name] = {
            "formula": {"f0": "(x/10)**2 + (y/10)**2", "f1": "(x**2 + y**2 + 0.5*y + 0.06*(x+1)**3 + 0.1*(y-1)**3)/400",
                        "f2": "(x**2/2 - y**2/2) / 40.", "f3": "(x**2/2 - y**2/2 - 1.5*x*(0.5*y))/60",
                        "f4": "((-tf.sin(x/5.) - tf.cos(y/10.)) + 2)/2", "f5": "((x/8)**2 + (y/12)**2)/2",
                        "quadric": "x**2 - y**2 - x*y"}[name],
            "extra_x": f32_b64(ex), "extra_y": f32_b64(ey),
            "gx": f32_b64(gx), "gy": f32_b64(gy), "loss": f32_b64(loss),
            "groups": dict(groups, special=[len(cx), len(x)]),
        }
        print(f"{name:8s} {len(x):6d} {checked:6d} same  {np.abs(gx).max():9.3g} {np.abs(gy).max():9.3g} "
              f"{int(np.sum(gx == 0)):5d} {int(np.sum(gy == 0)):5d}")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as fh:  # one entry per line
        fh.write("{\n" + ",\n".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in result.items()) + "\n}\n")
    json.load(open(out))
    print("wrote", os.path.normpath(out), f"({os.path.getsize(out)} bytes)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", default="extra", choices=SET_NAMES, help="which cases (default: extra)")
    ap.add_argument("--out", default=None, metavar="PATH")
    ap.add_argument("--only", default=None, metavar="SUBSTRING")
    ap.add_argument("--verify-against", default=None, metavar="FILE")
    ap.add_argument("--steps", type=int, default=None, metavar="N")
    ap.add_argument("--jobs", type=int, default=1, metavar="N")
    ap.add_argument("--gradients", action="store_true")
    args = ap.parse_args()
    if args.steps is not None and args.steps < 1:
        ap.error("--steps must be at least 1")
    if args.jobs < 1:
        ap.error("--jobs must be at least 1")
    if args.jobs > 1 and args.set != "optax":
        ap.error("--jobs is for --set optax only")

    if args.gradients:
        write_gradients(args.out or GRAD_OUT)
        return

    if args.verify_against:
        verify_against(args.verify_against, args.only)
    if args.set == "optax":
        return main_optax(args)
    if args.set == "mlp":
        return main_mlp(args)

    cases, steps, default_out = SETS[args.set]
    steps = args.steps or steps
    names = [c[0] for c in cases]
    assert len(set(names)) == len(names), "duplicate case names"
    result = {"_meta": versions()}
    problems = []
    print(f"{'case':32s} {'opt':9s} {'surf':4s} {'p0':>13s} {'end point':>25s} {'loss0':>9s} {'lossN':>9s} "
          f"{'max lr':>8s} stable")
    for name, surface, optimizer, kwargs, p0 in cases:
        if args.only and args.only not in name:
            continue
        assert all(ch in "abcdefghijklmnopqrstuvwxyz0123456789_.-" for ch in name), name
        scheduled = isinstance(kwargs.get("learning_rate"), dict)
        rates = None
        if scheduled:
            pts, grads, losses, rates = run_keras(surface, optimizer, kwargs, p0, steps, record_lr=True)
            replay_until, replay_error, found = schedule_checks(name, surface, optimizer, kwargs, p0, steps, pts, rates)
            problems += found
        else:
            pts, grads, losses = run(surface, optimizer, kwargs, p0, steps)
        su = stable_until(pts, surface, optimizer, kwargs, p0, steps)
        if pts.shape != (steps + 1, 2) or grads.shape != (steps, 2) or losses.shape != (steps,):
            problems.append(f"{name}: bad shapes {pts.shape} {grads.shape} {losses.shape}")
        if not (np.all(np.isfinite(pts)) and np.all(np.isfinite(grads)) and np.all(np.isfinite(losses))):
            problems.append(f"{name}: non-finite values")
        if np.max(np.abs(pts[-1] - pts[0])) < 1e-2:
            problems.append(f"{name}: barely moves ({pts[0]} -> {pts[-1]})")
        result[name] = {"surface": surface, "optimizer": optimizer, "kwargs": kwargs, "p0": [float(p0[0]), float(p0[1])],
                        "steps": steps, "points": to_list(pts), "grads": to_list(grads),
                        "smooth_loss": to_list(losses), "stable_until": su}
        if scheduled:
            result[name]["learning_rates"] = to_list(rates)
            result[name]["replay_until"] = replay_until
        end = f"[{pts[-1][0]:.4g}, {pts[-1][1]:.4g}]"
        replay = "" if not scheduled or replay_until == steps else f"  (rates replay bit for bit to step {replay_until}, then within {replay_error:.1e})"
        print(f"{name:32s} {optimizer:9s} {surface:4s} {str(p0):>13s} {end:>25s} {losses[0]:9.4g} {losses[-1]:9.4g} "
              f"{largest_lr(kwargs, rates):8.4g} {su}{'' if su == steps else '  <-- chaotic'}{replay}")

    # Distinct trajectories: no two cases may have identical points.
    seen = {}
    for name, c in result.items():
        if name.startswith("_"):
            continue
        key = json.dumps(c["points"])
        if key in seen:
            problems.append(f"{name}: same trajectory as {seen[key]}")
        seen[key] = name

    per_opt, per_schedule = {}, {}
    for name, c in result.items():
        if not name.startswith("_"):
            per_opt[c["optimizer"]] = per_opt.get(c["optimizer"], 0) + 1
            lr = c["kwargs"].get("learning_rate")
            if isinstance(lr, dict):
                per_schedule.setdefault(lr["schedule"], set()).add(c["optimizer"])
    chaotic = sum(1 for k, c in result.items() if not k.startswith("_") and c["stable_until"] < c["steps"])
    print("cases per optimizer:", ", ".join(f"{k}={v}" for k, v in per_opt.items()), f"(total {sum(per_opt.values())})")
    if per_schedule:
        print("optimizers per schedule:", "; ".join(f"{k}: {', '.join(sorted(v))}" for k, v in per_schedule.items()))
    print(f"chaotic (stable_until < steps): {chaotic}")
    print("versions:", result["_meta"])
    if problems:
        print("PROBLEMS:\n  " + "\n  ".join(problems))
        sys.exit(1)

    out = args.out or (None if args.only or args.steps else default_out)
    if out:
        write_fixture(out, result)


if __name__ == "__main__":
    main()
