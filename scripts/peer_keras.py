#!/usr/bin/env python3
"""Keras peer of optsurf's MLP benchmarks: the same training in Keras 3 on TensorFlow (graph mode,
float32, CPU), one JSON line on stdout, so that optsurf's figures have a reference point on the same
machine.

Usage (from the repository root, in the reference venv: see scripts/make_reference.py):

    /tmp/refvenv/bin/python scripts/peer_keras.py mlp-ten                 # 10 runs x 1,000 steps
    /tmp/refvenv/bin/python scripts/peer_keras.py mlp-wide                # 100 runs x 1,000 steps
    /tmp/refvenv/bin/python scripts/peer_keras.py mlp-wide --steps 100    # shorter
    ... --check adds each run's final loss (mlp-ten) or their mean (mlp-wide) to the line

Works:

  mlp-ten   The post's ten optimizers (the runs of experiments/blog/all-f0.json, same Keras classes and
            flags: SGD, NAG = SGD with momentum 0.9 and nesterov, RMSprop, Adagrad, "Adam" = AdamW with
            weight_decay 0, Adamax, Nadam, Lion, Lamb, Ftrl) with learning rates for an MLP (TEN below),
            each training a [4, 16, 16, 3] tanh MLP on data/iris.csv (the four measurements standardized
            per column, population std, float64 then float32; species_id the label; sparse softmax
            cross-entropy from logits), full batch (150 rows), --steps steps (default 1,000). Each run is
            a keras.Sequential of Dense layers (Keras's default initializers, seeded); its whole loop is
            one @tf.function (a tf.range loop around GradientTape + apply_gradients), traced and run for
            one warm-up step first: compile_seconds is that, summed over the runs; seconds is the
            stepping of the timed loops, summed.
  mlp-wide  --runs runs (default 100) of a [10, 64, 64, 2] relu MLP, each on its own minibatches of 32
            rows (a fresh permutation per epoch of 31 batches, the last 8 rows left over, per run and
            epoch, seeded) from one generated table of 1,000 rows x 10 standard-normal features with a
            nonlinear two-class label, Adam (lr 0.001, Keras's defaults), --steps steps. The runs are
            stacked: every kernel is one variable [runs, in, out] (batched matmuls), so one Keras Adam
            steps them all, which is each run's own Adam exactly (Adam is elementwise; the loss is the
            sum over runs of each run's mean cross-entropy, so each run's gradient is its own). The loop
            is one @tf.function, warmed up for one step (compile_seconds), then timed (seconds).
            rows_steps_per_second = runs x steps / seconds (a "row" is a run, as in optsurf's studies);
            examples_per_second = runs x steps x 32 / seconds.

Output: one line,
  mlp-ten:  {"peer": "keras", "work": "mlp-ten", "seconds": ..., "compile_seconds": ..., "steps": 1000,
             "runs": 10, ...versions}
  mlp-wide: {"peer": "keras", "work": "mlp-wide", "seconds": ..., "compile_seconds": ..., "steps": 1000,
             "runs": 100, "batch_size": 32, "rows_steps_per_second": ..., "examples_per_second": ...}

Exit codes: 0 done, 2 bad arguments, 3 TensorFlow or Keras not installed. Nothing heavy is imported
until a work runs, so the module imports anywhere.
"""

import argparse
import json
import os
import sys
import time

IRIS_CSV = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "iris.csv")
IRIS_X = ["sepal_length", "sepal_width", "petal_length", "petal_width"]

# The runs of experiments/blog/all-f0.json: (label, Keras class, kwargs), learning rates for the MLP.
TEN = [
    ("SGD", "SGD", {"learning_rate": 0.1}),
    ("NAG", "SGD", {"learning_rate": 0.02, "momentum": 0.9, "nesterov": True}),
    ("RMS", "RMSprop", {"learning_rate": 0.001}),
    ("AdaGrad", "Adagrad", {"learning_rate": 0.05}),
    ("Adam", "AdamW", {"learning_rate": 0.005, "weight_decay": 0.0}),
    ("Adamax", "Adamax", {"learning_rate": 0.01}),
    ("NAdam", "Nadam", {"learning_rate": 0.005}),
    ("Lion", "Lion", {"learning_rate": 0.001}),
    ("Lamb", "Lamb", {"learning_rate": 0.005}),
    ("FTRL", "Ftrl", {"learning_rate": 0.1}),
]


def _need_keras():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
    try:
        import numpy  # noqa: F401
        import tensorflow as tf
        import keras
    except ImportError as e:
        print(f"peer_keras.py: needs tensorflow-cpu, keras and numpy ({e}); install them with: "
              f"pip install -r scripts/requirements.txt", file=sys.stderr)
        sys.exit(3)
    if keras.backend.backend() != "tensorflow":
        print(f"peer_keras.py: Keras runs on {keras.backend.backend()}, not tensorflow (set KERAS_BACKEND=tensorflow)",
              file=sys.stderr)
        sys.exit(3)
    return tf, keras


def iris():
    """(X float32 [150, 4] standardized, y int32 species_id)."""
    import csv
    import numpy as np
    with open(IRIS_CSV, newline="") as fh:
        rows = list(csv.DictReader(fh))
    u = np.array([[float(r[c]) for c in IRIS_X] for r in rows], np.float64)
    u = (u - u.mean(axis=0)) * (1.0 / u.std(axis=0))
    return u.astype(np.float32), np.array([int(r["species_id"]) for r in rows], np.int32)


def mlp_ten(steps, check):
    tf, keras = _need_keras()
    X, y = iris()
    Xt, yt = tf.constant(X), tf.constant(y)
    compile_seconds = seconds = 0.0
    finals = {}
    for k, (label, cls, kwargs) in enumerate(TEN):
        keras.utils.set_random_seed(k)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(16, activation="tanh"),
                                  keras.layers.Dense(16, activation="tanh"), keras.layers.Dense(3)])
        loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        opt = getattr(keras.optimizers, cls)(**kwargs)
        tv = model.trainable_variables
        opt.build(tv)

        @tf.function
        def train(n):
            loss = tf.constant(0.0)
            for _ in tf.range(n):
                with tf.GradientTape() as tape:
                    loss = loss_fn(yt, model(Xt, training=True))
                grads = tape.gradient(loss, tv)
                opt.apply_gradients(zip(grads, tv))
            return loss

        t0 = time.perf_counter()
        train(tf.constant(1)).numpy()  # trace + one warm-up step
        compile_seconds += time.perf_counter() - t0
        t0 = time.perf_counter()
        last = train(tf.constant(steps)).numpy()
        seconds += time.perf_counter() - t0
        finals[label] = float(last)
    out = {"seconds": seconds, "compile_seconds": compile_seconds, "steps": steps, "runs": len(TEN)}
    if check:
        out["final_losses"] = finals  # the loss at the last step's start
    return out


def wide_data(rows=1000, features=10, seed=0):
    import numpy as np
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, features))
    w = rng.normal(size=features)
    y = ((X @ w + 2.0 * np.sin(X[:, 0] * X[:, 1])) > 0).astype(np.int32)
    return X.astype(np.float32), y


def wide_batches(runs, steps, rows, batch, seed=1):
    """[steps, runs, batch] row indices: per run, a fresh permutation each epoch, cut into whole batches."""
    import numpy as np
    rng = np.random.default_rng(seed)
    per_epoch = rows // batch
    epochs = -(-steps // per_epoch)
    idx = np.empty((runs, epochs * per_epoch, batch), np.int32)
    for r in range(runs):
        for e in range(epochs):
            perm = rng.permutation(rows)[: per_epoch * batch].reshape(per_epoch, batch)
            idx[r, e * per_epoch:(e + 1) * per_epoch] = perm
    return np.ascontiguousarray(idx[:, :steps].transpose(1, 0, 2))


def mlp_wide(runs, steps, batch, check):
    tf, keras = _need_keras()
    import numpy as np
    X, y = wide_data()
    idx = tf.constant(wide_batches(runs, steps + 1, len(X), batch))  # + 1: the warm-up step
    Xt, yt = tf.constant(X), tf.constant(y)
    rng = np.random.default_rng(2)
    widths = [X.shape[1], 64, 64, 2]
    variables = []
    for fan_in, fan_out in zip(widths[:-1], widths[1:]):
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        variables.append(keras.Variable(rng.uniform(-limit, limit, (runs, fan_in, fan_out)).astype(np.float32)))
        variables.append(keras.Variable(np.zeros((runs, 1, fan_out), np.float32)))
    opt = keras.optimizers.Adam(learning_rate=0.001)
    opt.build(variables)

    def loss_of(xb, yb):  # xb [runs, batch, features], yb [runs, batch]
        h = xb
        for k in range(0, len(variables) - 2, 2):
            h = tf.nn.relu(tf.linalg.matmul(h, variables[k]) + variables[k + 1])
        logits = tf.linalg.matmul(h, variables[-2]) + variables[-1]
        per_row = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=yb, logits=logits)
        return tf.reduce_sum(tf.reduce_mean(per_row, axis=1))  # the sum of each run's mean

    @tf.function
    def train(start, n):
        loss = tf.constant(0.0)
        for s in tf.range(start, start + n):
            rows = idx[s]
            xb, yb = tf.gather(Xt, rows), tf.gather(yt, rows)
            with tf.GradientTape() as tape:
                loss = loss_of(xb, yb)
            grads = tape.gradient(loss, variables)
            opt.apply_gradients(zip(grads, variables))
        return loss

    t0 = time.perf_counter()
    train(tf.constant(0), tf.constant(1)).numpy()  # trace + one warm-up step
    compile_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    last = train(tf.constant(1), tf.constant(steps)).numpy()
    seconds = time.perf_counter() - t0
    out = {"seconds": seconds, "compile_seconds": compile_seconds, "steps": steps, "runs": runs,
           "batch_size": batch, "rows_steps_per_second": runs * steps / seconds,
           "examples_per_second": runs * steps * batch / seconds}
    if check:
        out["mean_final_loss"] = float(last) / runs  # the last minibatch's loss, averaged over the runs
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("work", choices=("mlp-ten", "mlp-wide"))
    ap.add_argument("--steps", type=int, default=1000, help="steps per run (default 1000)")
    ap.add_argument("--runs", type=int, default=100, help="mlp-wide: runs (default 100)")
    ap.add_argument("--batch-size", type=int, default=32, help="mlp-wide: rows per minibatch (default 32)")
    ap.add_argument("--check", action="store_true", help="add final losses to the line")
    args = ap.parse_args(argv)
    if args.steps < 1 or args.runs < 1 or not 1 <= args.batch_size <= 1000:
        ap.error("--steps and --runs must be at least 1, --batch-size in 1..1000")
    tf, keras = _need_keras()
    if args.work == "mlp-ten":
        out = mlp_ten(args.steps, args.check)
    else:
        out = mlp_wide(args.runs, args.steps, args.batch_size, args.check)
    line = {"peer": "keras", "work": args.work, "seconds": round(out.pop("seconds"), 6),
            "compile_seconds": round(out.pop("compile_seconds"), 6)}
    for key in ("rows_steps_per_second", "examples_per_second"):
        if key in out:
            out[key] = round(out[key], 1)
    line.update(out)
    line.update({"tensorflow": tf.__version__, "keras": keras.__version__})
    print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
