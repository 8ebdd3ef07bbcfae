#!/usr/bin/env python3
"""Recompute a landscape.json with NumPy alone, from directions.npy, params.npy and the data.

Usage (from the repository root; NumPy is all it needs):

    python3 scripts/check_landscape.py results/landscapes/iris-ten-pca

For an MLP over a CSV (the model and data as trajectories.json records them), it rebuilds the
rows the losses are over (`rows` of landscape.json, standardized with the training rows' mean and
population standard deviation), the centre, every grid value, every run's projection, residual,
path loss and plane loss, and prints the largest relative difference of each against the file
(float32 noise, ~1e-6, is agreement). Generated data sets (moons, spirals, blobs) are optsurf's
own draws: write them out first, or check a CSV experiment.
"""

import csv
import json
import math
import sys
from pathlib import Path

import numpy as np


def forward_loss(w, layout, surface, X, y):
    """The model's mean loss over (X, y) at the flat parameter vector w (Keras's layout)."""
    at, params = 0, []
    for var in layout:
        n = int(np.prod(var["shape"]))
        params.append(w[at:at + n].reshape(var["shape"]))
        at += n
    layers = list(zip(params[0::2], params[1::2]))
    act = {
        "tanh": np.tanh,
        "relu": lambda z: np.maximum(z, 0),
        "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
        "gelu": lambda z: z / 2 * np.vectorize(math.erfc)(-z / math.sqrt(2)),
    }[surface.get("activation", "relu")]
    h = X
    for k, (kernel, bias) in enumerate(layers):
        z = h @ kernel + bias
        if k == len(layers) - 1:
            h = z
        else:
            a = act(z)
            skip = surface.get("skip", False) and 0 < k and a.shape == h.shape
            h = a + h if skip else a
    loss = surface.get("loss", "cross_entropy")
    if loss == "cross_entropy":
        z = h - h.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return -logp[np.arange(len(y)), y.astype(int)].mean()
    if loss == "binary_cross_entropy":
        z = h[:, 0]
        return (np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))).mean()
    return ((h[:, 0] - y) ** 2).mean()


def main(folder):
    folder = Path(folder)
    L = json.loads((folder / "landscape.json").read_text())
    T = json.loads((folder / "trajectories.json").read_text())
    D = np.load(folder / "directions.npy").astype(np.float64)
    P = np.load(folder / "params.npy").astype(np.float64)
    surface, layout = T["surface"], T["params"]["layout"]
    data = surface["data"]
    if "csv" not in data:
        print(f"{folder}: the data is generated ({data}), optsurf's own draw; check an experiment over a CSV")
        return 2
    with open(data["csv"]) as f:
        table = list(csv.DictReader(f))
    columns = data["x"] if isinstance(data["x"], list) else [data["x"]]
    X = np.array([[float(r[c]) for c in columns] for r in table])
    y = np.array([float(r[data["y"]]) for r in table])
    train = L["rows"] if L["data"] == "train" else sorted(set(range(len(table))) - set(L["rows"]))
    if surface.get("standardize", True):
        mean, std = X[train].mean(axis=0), X[train].std(axis=0)
        X = (X - mean) / np.where(std > 0, std, 1)
    X, y = X[L["rows"]], y[L["rows"]]
    loss = lambda w: forward_loss(w, layout, surface, X, y)

    labels = [r["label"] for r in T["runs"]]
    steps = T["params"]["steps"]
    c = P[labels.index(L["center"]["label"]), steps.index(L["center"]["step"])]
    worst = {}

    def note(what, ours, theirs):
        rel = abs(ours - theirs) / max(abs(theirs), 1e-12)
        worst[what] = max(worst.get(what, 0.0), rel)

    a, b = L["a"], L["b"]
    for j in range(0, len(b), max(1, len(b) // 7)):
        for i in range(0, len(a), max(1, len(a) // 7)):
            note("loss", loss(c + a[i] * D[0] + b[j] * D[1]), L["loss"][j][i])
    for run in L["runs"]:
        k = labels.index(run["label"])
        for s, step in enumerate(run["steps"]):
            w = P[k, steps.index(step)]
            ab, *_ = np.linalg.lstsq(D.T, w - c, rcond=None)
            note("path", np.hypot(*(ab - run["path"][s])) / max(np.hypot(*ab), 1e-3) + 1, 1.0)
            dist = np.linalg.norm(w - c)
            if dist > 0:
                note("residual", np.linalg.norm(w - c - D.T @ ab) / dist + 1, run["residual"][s] + 1)
            note("path_loss", loss(w), run["path_loss"][s])
            note("plane_loss", loss(c + ab[0] * D[0] + ab[1] * D[1]), run["plane_loss"][s])
    for what, rel in worst.items():
        print(f"{what:<10} largest relative difference {rel:.1e}")
    return 0 if max(worst.values()) < 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
