#!/usr/bin/env python3
"""Picks each optimizer's learning rate for the experiments of this folder, as
experiments/classics/README.md describes: a log grid 10^(k/4) (1e-5 to 100, three significant
digits), all of it run in one batched experiment per surface, and per optimizer the rate whose
runs reach the lowest mean loss over the last tenth of the steps among those that did not
diverge and stayed inside the surface's domain over that tenth (outside it the post's noise is
not drawn, and a run that has left has not found anything). On f0 and f4 the grid runs without
the post's noise: with `"lookup": "nearest"` the noise is in the loss but not in the gradient, so
the trajectories are the same, and the noise-free loss ranks them by where they are rather than
by the noise cell they stand on. Writes experiments/modern/<surface>.json.

    cargo build --release && python3 experiments/modern/tune.py [--optsurf target/release/optsurf]
"""

import argparse
import json
import os
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

# (label, optimizer, the hyperparameter tuned, fixed hyperparameters). The wrappers tune the
# rate of the optimizer they wrap (optax's Adam); polyak_sgd its cap on the step size.
OPTIMIZERS = [
    ("SGD", "sgd", "learning_rate", {}),
    ("Adam", "adam", "learning_rate", {}),
    ("AdaBelief", "adabelief", "learning_rate", {}),
    ("RAdam", "radam", "learning_rate", {}),
    ("Yogi", "yogi", "learning_rate", {}),
    ("Adan", "adan", "learning_rate", {}),
    ("NovoGrad", "novograd", "learning_rate", {}),
    ("Rprop", "rprop", "learning_rate", {}),
    ("signSGD", "sign_sgd", "learning_rate", {}),
    ("Signum", "signum", "learning_rate", {}),
    ("Lookahead (Adam)", "lookahead", "fast.learning_rate",
     {"fast": {"optimizer": "adam_optax"}, "sync_period": 6, "slow_step_size": 0.5}),
    ("Polyak SGD", "polyak_sgd", "max_learning_rate", {}),
    ("Schedule-free AdamW", "schedule_free_adamw", "learning_rate", {}),
    ("Prodigy", "prodigy", "learning_rate", {}),
    ("D-Adapt AdamW", "dadapt_adamw", "learning_rate", {}),
    ("AdEMAMix", "ademamix", "learning_rate", {}),
    ("ADOPT", "adopt", "learning_rate", {}),
    ("SAM (Adam)", "sam", "outer.learning_rate", {"outer": {"optimizer": "adam_optax"}, "rho": 0.05}),
    ("DoG", "dog", "learning_rate", {}),
    ("COCOB", "cocob", "learning_rate", {}),
    ("MoMo", "momo", "learning_rate", {}),
]

# The surfaces' domains (`optsurf list`), [[x_min, x_max], [y_min, y_max]].
DOMAINS = {"f0": [[-10, 10], [-10, 10]], "f4": [[-10, 10], [-10, 10]], "rosenbrock": [[-2, 2], [-1, 3]],
           "rastrigin": [[-5.12, 5.12], [-5.12, 5.12]]}

# name -> the experiment without runs (starts, steps and views as experiments/blog and classics).
SURFACES = {
    "f0": {"title": "The newer optimizers over f0", "surface": "f0", "noise": {"seed": 0, "lookup": "nearest"},
           "start": [9.0, 9.0], "steps": 100,
           "plot": {"view": [50, -70], "zlim": [0.0, 1.5], "legend": False, "animate": True, "loss": True}},
    "f4": {"title": "The newer optimizers over f4", "surface": "f4", "noise": {"seed": 0, "lookup": "nearest"},
           "start": [-7.5, -1.0], "steps": 100,
           "plot": {"view": [20, -70], "zlim": [-0.2, 1.3], "legend": False, "animate": True, "loss": True}},
    "rosenbrock": {"title": "The newer optimizers over Rosenbrock", "surface": "rosenbrock", "start": [-2, 2],
                   "steps": 400, "plot": {"view": "contour", "legend": False, "animate": True, "loss": True}},
    "rastrigin": {"title": "The newer optimizers over Rastrigin", "surface": "rastrigin", "start": [-2, 3.5],
                  "steps": 150, "plot": {"view": "contour", "legend": False, "animate": True, "loss": True}},
}

# One colour per run (matplotlib's tab20, then black): Set2's eight would repeat.
COLORS = ["#1f77b4", "#aec7e8", "#ff7f0e", "#ffbb78", "#2ca02c", "#98df8a", "#d62728", "#ff9896", "#9467bd",
          "#c5b0d5", "#8c564b", "#c49c94", "#e377c2", "#f7b6d2", "#7f7f7f", "#c7c7c7", "#bcbd22", "#dbdb8d",
          "#17becf", "#9edae5", "#111111"]
for spec in SURFACES.values():
    spec["plot"]["colors"] = COLORS

GRID = [float(f"{10 ** (k / 4):.3g}") for k in range(-20, 9)]


def run_with(optimizer, param, lr, fixed):
    run = {"optimizer": optimizer, **json.loads(json.dumps(fixed))}
    if "." in param:
        outer, inner = param.split(".")
        run[outer][inner] = lr
    else:
        run[param] = lr
    return run


def lr_label(lr):
    return f"{lr:.3g}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--optsurf", default=os.path.join(HERE, "..", "..", "target", "release", "optsurf"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for name, base in SURFACES.items():
            runs = []
            for label, optimizer, param, fixed in OPTIMIZERS:
                for lr in GRID:
                    runs.append({"label": f"{label} {lr_label(lr)}", **run_with(optimizer, param, lr, fixed)})
            grid = {"name": f"grid-{name}", **base, "runs": runs}
            if "noise" in grid:
                grid["noise"] = {"lookup": "off"}
            path = os.path.join(tmp, f"grid-{name}.json")
            with open(path, "w") as f:
                json.dump(grid, f)
            subprocess.run([args.optsurf, "run", path, "--no-plots", "--out", os.path.join(tmp, "out")], check=True,
                           stdout=subprocess.DEVNULL)
            with open(os.path.join(tmp, "out", f"grid-{name}", "trajectories.json")) as f:
                result = json.load(f)
            steps = base["steps"]
            tail = max(1, steps // 10)
            chosen = []
            for i, (label, optimizer, param, fixed) in enumerate(OPTIMIZERS):
                best = None
                for j, lr in enumerate(GRID):
                    run = result["runs"][i * len(GRID) + j]
                    (x0, x1), (y0, y1) = DOMAINS[name]
                    inside = all(x0 <= x <= x1 and y0 <= y <= y1 for x, y in run["points"][-tail:])
                    if run["status"] != "ok" or not inside:
                        continue
                    score = sum(run["loss"][-tail:]) / tail
                    if best is None or score < best[0]:
                        best = (score, lr)
                lr = best[1]
                print(f"{name:<10} {label:<20} lr {lr_label(lr):>8}  mean loss over the last {tail} steps {best[0]:.4g}")
                chosen.append({"label": f"{label} lr={lr_label(lr)}", **run_with(optimizer, param, lr, fixed)})
            experiment = {"name": name, **base, "runs": chosen}
            with open(os.path.join(HERE, f"{name}.json"), "w") as f:
                f.write(format_experiment(experiment))


def format_experiment(e):
    """One key per line, one run per line, as the other experiment files are written."""
    head = {k: v for k, v in e.items() if k != "runs"}
    lines = ["{"]
    for k, v in head.items():
        lines.append(f"  {json.dumps(k)}: {json.dumps(v)},")
    lines.append('  "runs": [')
    lines.append(",\n".join(f"    {json.dumps(r)}" for r in e["runs"]))
    lines.append("  ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
