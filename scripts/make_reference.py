#!/usr/bin/env python3
"""Regenerate tests/fixtures/keras-extra.json: reference optimizer trajectories
computed with real TensorFlow/Keras (and optax for LARS, which Keras lacks), and, with
--set optax, tests/fixtures/optax-reference.json: optax 0.2.8's newer optimizers.

CI never runs this script (it does not install TensorFlow); it only reads the
committed JSON.  To regenerate the fixture, from the repository root:

    python3.11 -m venv /tmp/refvenv
    /tmp/refvenv/bin/pip install -r scripts/requirements.txt
    /tmp/refvenv/bin/python scripts/make_reference.py            # writes tests/fixtures/keras-extra.json
    /tmp/refvenv/bin/python scripts/make_reference.py --set optax --jobs 2   # tests/fixtures/optax-reference.json

Options:
    --out PATH              write somewhere else
    --only SUBSTRING        only run cases whose name contains SUBSTRING (does not write unless --out is given)
    --verify-against FILE   first re-run every case of an existing reference file of the same
                            format (e.g. shared/reference/keras-blog-trajectories.json, or an optax set
                            fixture) and report whether this script's stepping reproduces it bit for bit
    --set keras|optax       keras (default): the Keras/LARS cases above, tests/fixtures/keras-extra.json;
                            optax: the optax set below (optax 0.2.8's newer optimizers, 100 steps over
                            f0, f1, f4 and Rosenbrock), tests/fixtures/optax-reference.json
    --steps N               optax set only: steps per case (a trial: does not write unless --out is given)
    --jobs N                optax set only: cases in N worker processes (nice -n 10 on a small machine)

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
        # not one of the post's surfaces: the optax fixture's fourth surface (smooth, unscaled)
        "rosenbrock": lambda x, y: (1 - x) ** 2 + 100 * (y - x ** 2) ** 2,
    }


# ---------------------------------------------------------------------------------------------
# Keras (TensorFlow backend)
# ---------------------------------------------------------------------------------------------
def run_keras(surface, optimizer, kwargs, p0, steps):
    import tensorflow as tf
    import keras

    f = surfaces(tf.sin, tf.cos)[surface]
    opt = getattr(keras.optimizers, KERAS_CLASSES[optimizer])(**kwargs)
    point = tf.Variable([[p0[0], p0[1]]], dtype=tf.float32)
    opt.build([point])

    # The whole step runs as one tf.function (graph mode, grappler on), as in the original post:
    # eager execution rounds differently in the last bit (e.g. grappler turns x / 10 into x * 0.1),
    # and only the graph-mode step reproduces shared/reference/keras-blog-trajectories.json bit for bit.
    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = f(point[..., 0], point[..., 1])
        grad = tape.gradient(loss, [point])
        opt.apply_gradients(zip(grad, [point]))
        return loss, grad

    points, grads, losses = [point.numpy()[0].copy()], [], []
    for _ in range(steps):
        loss, grad = step()
        losses.append(loss.numpy()[0])
        grads.append(grad[0].numpy()[0].copy())
        points.append(point.numpy()[0].copy())
    return np.array(points, np.float32), np.array(grads, np.float32), np.array(losses, np.float32)


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


def verify_against(path):
    """Re-run every case of an existing reference file; report bit-exact matches."""
    ref = json.load(open(path))
    if "--set optax" in ref.get("_meta", {}).get("generated_by", ""):
        return verify_against_optax(ref, path)
    exact = 0
    cases = [(k, v) for k, v in ref.items() if not k.startswith("_")]
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


def verify_against_optax(ref, path):
    """verify_against for a file of the optax set: every recorded array and stable_until."""
    exact = 0
    cases = [(k, v) for k, v in ref.items() if not k.startswith("_")]
    for name, c in cases:
        res = run_optax_case(c["surface"], c["optimizer"], c["kwargs"], c["p0"], c["steps"])
        same = all(np.array_equal(v, np.array(c[k], np.float32), equal_nan=True) for k, v in res.items())
        su = optax_stable_until(res, c["surface"], c["optimizer"], c["kwargs"], c["p0"], c["steps"])
        exact += same
        if not same or su != c["stable_until"]:
            print(f"  verify: {name}: bit-exact={same} stable_until={su} (file: {c['stable_until']})")
    print(f"verify: {exact}/{len(cases)} cases of {path} reproduced bit for bit")
    return exact == len(cases)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=None)
    ap.add_argument("--only", default=None)
    ap.add_argument("--verify-against", default=None)
    ap.add_argument("--set", choices=("keras", "optax"), default="keras")
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--jobs", type=int, default=1)
    args = ap.parse_args()

    if args.verify_against:
        verify_against(args.verify_against)
    if args.set == "optax":
        return main_optax(args)

    names = [c[0] for c in CASES]
    assert len(set(names)) == len(names), "duplicate case names"
    result = {"_meta": versions()}
    problems = []
    print(f"{'case':32s} {'opt':9s} {'surf':4s} {'p0':>13s} {'end point':>25s} {'loss0':>9s} {'lossN':>9s} stable")
    for name, surface, optimizer, kwargs, p0 in CASES:
        if args.only and args.only not in name:
            continue
        assert all(ch in "abcdefghijklmnopqrstuvwxyz0123456789_.-" for ch in name), name
        pts, grads, losses = run(surface, optimizer, kwargs, p0, STEPS)
        su = stable_until(pts, surface, optimizer, kwargs, p0, STEPS)
        if pts.shape != (STEPS + 1, 2) or grads.shape != (STEPS, 2) or losses.shape != (STEPS,):
            problems.append(f"{name}: bad shapes {pts.shape} {grads.shape} {losses.shape}")
        if not (np.all(np.isfinite(pts)) and np.all(np.isfinite(grads)) and np.all(np.isfinite(losses))):
            problems.append(f"{name}: non-finite values")
        if np.max(np.abs(pts[-1] - pts[0])) < 1e-2:
            problems.append(f"{name}: barely moves ({pts[0]} -> {pts[-1]})")
        result[name] = {"surface": surface, "optimizer": optimizer, "kwargs": kwargs, "p0": [float(p0[0]), float(p0[1])],
                        "steps": STEPS, "points": to_list(pts), "grads": to_list(grads),
                        "smooth_loss": to_list(losses), "stable_until": su}
        end = f"[{pts[-1][0]:.4g}, {pts[-1][1]:.4g}]"
        print(f"{name:32s} {optimizer:9s} {surface:4s} {str(p0):>13s} {end:>25s} {losses[0]:9.4g} {losses[-1]:9.4g} "
              f"{su}{'' if su == STEPS else '  <-- chaotic'}")

    # Distinct trajectories: no two cases may have identical points.
    seen = {}
    for name, c in result.items():
        if name.startswith("_"):
            continue
        key = json.dumps(c["points"])
        if key in seen:
            problems.append(f"{name}: same trajectory as {seen[key]}")
        seen[key] = name

    per_opt = {}
    for name, c in result.items():
        if not name.startswith("_"):
            per_opt[c["optimizer"]] = per_opt.get(c["optimizer"], 0) + 1
    print("cases per optimizer:", ", ".join(f"{k}={v}" for k, v in per_opt.items()), f"(total {sum(per_opt.values())})")
    print("versions:", result["_meta"])
    if problems:
        print("PROBLEMS:\n  " + "\n  ".join(problems))
        sys.exit(1)

    out = args.out or (None if args.only else DEFAULT_OUT)
    if out:
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        with open(out, "w") as fh:  # one case per line, so diffs stay readable
            fh.write("{\n" + ",\n".join(f"{json.dumps(k)}: {json.dumps(v, allow_nan=False)}" for k, v in result.items()) + "\n}\n")
        json.load(open(out))  # must round-trip
        print("wrote", os.path.normpath(out))


if __name__ == "__main__":
    main()
