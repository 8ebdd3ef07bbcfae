#!/usr/bin/env python3
"""JAX peer of optsurf's study and throughput benchmarks: the same work in JAX (jax.jit around a
lax.scan over the steps, float32, CPU), one JSON line per run on stdout, so that `optsurf bench`'s
figures have a reference point on the same machine.

Usage (from the repository root, in the reference venv: see scripts/make_reference.py):

    /tmp/refvenv/bin/python scripts/peer_jax.py study --grid 256 --steps 200
    /tmp/refvenv/bin/python scripts/peer_jax.py study-million --grid 1000 --steps 50
    /tmp/refvenv/bin/python scripts/peer_jax.py throughput --points 1000000 --steps 5
    ... add --check to print (on stderr) checksums to compare with optsurf's results

Works (each mirrors a `cargo run --release -- bench ...` of src/cli/bench.rs):

  study           `bench study`: a grid x grid study of Adam over Himmelblau,
                  (x^2 + y - 11)^2 + (x + y^2 - 7)^2, the starts the cell centres of a grid x grid grid
                  over its domain [-5, 5]^2 (x index outer: run i * grid + j starts at
                  (-5 + (i + 0.5) 10 / grid, -5 + (j + 0.5) 10 / grid)), `steps` steps, each run keeping
                  its best loss and its final loss (losses at the steps + 1 points, the start first, as
                  optsurf's study metrics). optsurf's figure also writes runs.csv, study.json and the
                  figures; this one only computes.
  study-million   `bench study-million`: the same with --grid 1000 --steps 50 (a million runs).
  throughput      `bench throughput`: `points` points from the fixed spread of bench.rs (side =
                  ceil(sqrt(points)), point k at (-10 + 20 (k / side) / side, -10 + 20 (k % side) / side))
                  through f4 = ((2 - cos(y * 0.1)) - sin(x * 0.2)) * 0.5 + 0.05 r + 0.01 c with the
                  post's nearest-cell noise lookup (no gradient through it) and Adam (lr 0.1), one
                  untimed warm-up step then `steps` timed steps, as bench.rs does. The noise fields are
                  optsurf's seed-0 draw (src/surface/noise.rs) rebuilt in numpy: splitmix64, Box-Muller in
                  float64 (cosine first), the 25 x 25 coarse draw resized to 200 x 200 as
                  tf.image.resize(bilinear) does, the fine draw times |u| |v| / 100. numpy's float64
                  log/sin/cos may differ from Rust's in a last bit, so a rare cell may differ by an ulp
                  after the cast to float32.

Adam is Keras's, as optsurf's `adam`: m += (g - m)(1 - beta_1); v += (g^2 - v)(1 - beta_2);
alpha = lr sqrt(1 - beta_2^t) / (1 - beta_1^t); p -= (m alpha) / (sqrt(v) + epsilon), epsilon 1e-7
added to sqrt(v) un-corrected; beta_1 0.9, beta_2 0.999; 1 - beta_1 and 1 - beta_2 rounded from
float64 as Keras's Python floats are, the powers in float32. Gradients by jax.grad. Under jit XLA
fuses (and may contract a * b + c), so single runs agree with Keras/optsurf to a few ulps, not bit
for bit. Measured against optsurf (a release build of main) on one machine: the study sums agree within 5e-7
relative (256 x 256 x 200: points 6261.6019 here, 6261.6044 optsurf; 1000 x 1000 x 50: best losses
234864.463 / 234864.434), and throughput's final points match optsurf's to 1 ulp (99.5% bit for bit
on 10,310 sampled points); bench.rs's own throughput checksum is a float32 sum, off by ~1e-4
relative from this float64 one (322707.56 there, 322726.52 here).

Output, one line per work:
  {"peer": "jax", "work": ..., "seconds": <the compiled computation, after compilation>,
   "compile_seconds": <jit lowering + compilation>, "point_steps_per_second": runs x steps / seconds,
   "runs": ..., "steps": ..., "jax": <version>, "backend": "cpu"}
With --check, the line also carries "checksum": study works: the sum (float64) of every run's best
loss, "final_checksum" the sum of final losses and "points_checksum" the sum of the final points'
coordinates (compare with the best_loss, final_loss, final_x and final_y columns of the runs.csv of
the same study run by optsurf; when most runs end at a minimum the loss sums are sums of rounding
noise near 0, the points' sum is the telling one); throughput: the sum of the points' coordinates
after the run, as bench.rs's "checksum" (the sum over the [n, 2] points; the noise has no gradient,
so it does not move them), and "loss_checksum" the sum of the last step's losses (noise included).

Exit codes: 0 done, 2 bad arguments, 3 jax (or numpy) not installed. Nothing heavy is imported
until a work runs, so the module imports anywhere.
"""

import argparse
import json
import sys
import time


def _need_jax():
    try:
        import numpy  # noqa: F401
        import jax  # noqa: F401
    except ImportError as e:
        print(f"peer_jax.py: needs jax and numpy ({e}); install them with: pip install -r scripts/requirements.txt",
              file=sys.stderr)
        sys.exit(3)
    jax.config.update("jax_platforms", "cpu")
    return jax


def keras_adam(lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    """(init, update) of Keras's Adam over a parameter array, float32, in Keras's order of operations."""
    import jax.numpy as jnp

    lr, b1, b2, eps = (jnp.float32(v) for v in (lr, beta_1, beta_2, epsilon))
    # Keras writes `(g - m) * (1 - self.beta_1)` with beta_1 a Python float: 1 - beta_1 is taken in
    # float64, then rounded to float32 (0.1, not 1 - float32(0.9) = 0.100000024), while the powers
    # beta^t are float32.
    c1, c2 = jnp.float32(1.0 - beta_1), jnp.float32(1.0 - beta_2)

    def init(p):
        return (jnp.zeros_like(p), jnp.zeros_like(p), jnp.float32(0.0))

    def update(p, g, state):
        m, v, t = state
        t = t + 1.0
        alpha = lr * jnp.sqrt(1.0 - b2 ** t) / (1.0 - b1 ** t)
        m = m + (g - m) * c1
        v = v + (jnp.square(g) - v) * c2
        p = p - (m * alpha) / (jnp.sqrt(v) + eps)
        return p, (m, v, t)

    return init, update


def himmelblau(p):
    x, y = p[:, 0], p[:, 1]
    return (x * x + y - 11.0) ** 2 + (x + y * y - 7.0) ** 2


def grid_starts(grid, lo=-5.0, hi=5.0):
    import numpy as np
    c = lo + (np.arange(grid, dtype=np.float64) + 0.5) * (hi - lo) / grid
    xs, ys = np.meshgrid(c, c, indexing="ij")  # x index outer, as optsurf's grid
    return np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float32)


def run_study(grid, steps, check):
    jax = _need_jax()
    import jax.numpy as jnp
    import numpy as np

    starts = jnp.asarray(grid_starts(grid))
    init, update = keras_adam(0.1)

    def losses_and_grads(p):
        # f is per point, so the gradient of the sum is every point's own gradient
        (_, loss), g = jax.value_and_grad(lambda q: (jnp.sum(himmelblau(q)), himmelblau(q)), has_aux=True)(p)
        return loss, g

    def study(p):
        def step(carry, _):
            p, state, best = carry
            loss, g = losses_and_grads(p)
            best = jnp.minimum(best, jnp.where(jnp.isfinite(loss), loss, jnp.inf))
            p, state = update(p, g, state)
            return (p, state, best), None

        best0 = jnp.full(p.shape[0], jnp.inf, jnp.float32)
        (p, _, best), _ = jax.lax.scan(step, (p, init(p), best0), None, length=steps)
        final = himmelblau(p)
        final = jnp.where(jnp.isfinite(final), final, jnp.inf)
        return jnp.minimum(best, final), final, p

    t0 = time.perf_counter()
    compiled = jax.jit(study).lower(starts).compile()
    compile_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    best, final, p = compiled(starts)
    best.block_until_ready()
    final.block_until_ready()
    seconds = time.perf_counter() - t0
    out = {"runs": grid * grid, "steps": steps, "seconds": seconds, "compile_seconds": compile_seconds}
    if check:
        b, f = np.asarray(best, np.float64), np.asarray(final, np.float64)
        out["checksum"] = float(np.sum(b[np.isfinite(b)]))
        out["final_checksum"] = float(np.sum(f[np.isfinite(f)]))
        out["diverged"] = int(np.sum(~np.isfinite(f)))
        pts = np.asarray(p, np.float64)
        out["points_checksum"] = float(np.sum(pts[np.all(np.isfinite(pts), axis=1)]))
    return out


# --- optsurf's noise fields (src/surface/noise.rs, src/random/mod.rs), rebuilt in numpy ---------
GRID, COARSE = 200, 25
_MASK = (1 << 64) - 1


def splitmix_uniforms(seed, n):
    """n uniforms in (0, 1] from splitmix64(seed): ((next_u64 >> 11) + 1) / 2^53."""
    import numpy as np
    k = np.arange(1, n + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = np.uint64(seed) + k * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return ((z >> np.uint64(11)) + np.uint64(1)).astype(np.float64) / float(1 << 53)


def normals(seed, n):
    """optsurf's Normals: Box-Muller over pairs of uniforms, the cosine first, then the sine; float32."""
    import numpy as np
    pairs = (n + 1) // 2
    u = splitmix_uniforms(seed, 2 * pairs).reshape(pairs, 2)
    radius = np.sqrt(-2.0 * np.log(u[:, 0]))
    angle = 2.0 * np.pi * u[:, 1]
    out = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1).ravel()[:n]
    return out.astype(np.float32)


def resize_bilinear(src, n, m):
    """TensorFlow 2's bilinear resize (half-pixel centres) of an n x n float32 image to m x m, as noise.rs."""
    import numpy as np
    f32 = np.float32
    scale = f32(n) / f32(m)
    axis = []
    for o in range(m):
        pos = (f32(o) + f32(0.5)) * scale - f32(0.5)
        lo = np.floor(pos)
        lower = int(max(lo, f32(0.0)))
        upper = int(min(max(int(np.ceil(pos)), 0), n - 1))
        axis.append((lower, upper, f32(pos - lo)))
    out = np.empty(m * m, np.float32)
    k = 0
    for (y0, y1, wy) in axis:
        for (x0, x1, wx) in axis:
            top = src[y0 * n + x0] + (src[y0 * n + x1] - src[y0 * n + x0]) * wx
            bottom = src[y1 * n + x0] + (src[y1 * n + x1] - src[y1 * n + x0]) * wx
            out[k] = top + (bottom - top) * wy
            k += 1
    return out


def noise_field(seed=0):
    """(coarse, fine), each GRID * GRID float32, x index first: NoiseField::generate(seed)."""
    import numpy as np
    draws = normals(seed, COARSE * COARSE + GRID * GRID)
    coarse = resize_bilinear(draws[:COARSE * COARSE], COARSE, GRID)
    spacing = np.float32(20.0) / np.float32(GRID)
    mesh = np.float32(-10.0) + np.arange(GRID, dtype=np.float32) * spacing
    scale = (np.abs(mesh)[:, None] * np.abs(mesh)[None, :]) / np.float32(100.0)
    fine = draws[COARSE * COARSE:] * scale.ravel()
    return coarse.astype(np.float32), fine.astype(np.float32)


def run_throughput(n, steps, check):
    jax = _need_jax()
    import jax.numpy as jnp
    import numpy as np

    coarse, fine = (jnp.asarray(a) for a in noise_field(0))
    side = int(np.ceil(np.sqrt(n)))
    k = np.arange(n)
    i, j = k // side, k % side
    f32 = np.float32
    starts = np.stack([f32(-10.0) + f32(20.0) * i.astype(f32) / f32(side),
                       f32(-10.0) + f32(20.0) * j.astype(f32) / f32(side)], axis=1).astype(np.float32)
    init, update = keras_adam(0.1)

    def cell(v):  # floor((v + 10) * 10) clipped to the mesh, NaN to 0; no gradient
        u = jnp.floor((jax.lax.stop_gradient(v) + 10.0) * 10.0)
        u = jnp.clip(jnp.where(jnp.isnan(u), 0.0, u), 0.0, GRID - 1.0)
        return u.astype(jnp.int32)

    def f4(p):
        x, y = p[:, 0], p[:, 1]
        flat = cell(x) * GRID + cell(y)
        r, c = coarse[flat], fine[flat]
        return ((2.0 - jnp.cos(y * 0.1)) - jnp.sin(x * 0.2)) * 0.5 + r * 0.05 + c * 0.01

    def run(p, state, length):
        # The loss (noise included) is computed every step, as optsurf's evaluation does, and carried
        # out of the loop so that XLA cannot drop the noise lookups (only the gradient moves points).
        def step(carry, _):
            p, state, _ = carry
            (_, loss), g = jax.value_and_grad(lambda q: (jnp.sum(f4(q)), f4(q)), has_aux=True)(p)
            p, state = update(p, g, state)
            return (p, state, loss), None
        loss0 = jnp.zeros(p.shape[0], jnp.float32)
        (p, state, loss), _ = jax.lax.scan(step, (p, state, loss0), None, length=length)
        return p, state, loss

    p0 = jnp.asarray(starts)
    s0 = init(p0)
    t0 = time.perf_counter()
    warm = jax.jit(lambda p, s: run(p, s, 1)).lower(p0, s0).compile()
    timed = jax.jit(lambda p, s: run(p, s, steps)).lower(p0, s0).compile()
    compile_seconds = time.perf_counter() - t0
    p1, s1, _ = warm(p0, s0)  # bench.rs's untimed warm-up step
    p1.block_until_ready()
    t0 = time.perf_counter()
    p, _, loss = timed(p1, s1)
    p.block_until_ready()
    loss.block_until_ready()
    seconds = time.perf_counter() - t0
    out = {"runs": n, "steps": steps, "seconds": seconds, "compile_seconds": compile_seconds}
    if check:
        out["checksum"] = float(np.sum(np.asarray(p, np.float64)))
        out["loss_checksum"] = float(np.sum(np.asarray(loss, np.float64)))  # the last step's losses, noise included
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("work", choices=("study", "study-million", "throughput"))
    ap.add_argument("--grid", type=int, default=None, help="study: starts per side (default 256; study-million 1000)")
    ap.add_argument("--steps", type=int, default=None,
                    help="steps (default: study 200, study-million 50, throughput 5)")
    ap.add_argument("--points", type=int, default=1_000_000, help="throughput: points (default 1000000)")
    ap.add_argument("--check", action="store_true", help="add checksums to the line")
    args = ap.parse_args(argv)
    defaults = {"study": (256, 200), "study-million": (1000, 50), "throughput": (None, 5)}[args.work]
    grid = args.grid or defaults[0]
    steps = args.steps or defaults[1]
    if steps < 1 or (grid is not None and grid < 1) or args.points < 1:
        ap.error("--grid, --steps and --points must be at least 1")
    jax = _need_jax()
    if args.work == "throughput":
        out = run_throughput(args.points, steps, args.check)
    else:
        out = run_study(grid, steps, args.check)
    line = {"peer": "jax", "work": args.work, "seconds": round(out.pop("seconds"), 6),
            "compile_seconds": round(out.pop("compile_seconds"), 6)}
    line["point_steps_per_second"] = round(out["runs"] * out["steps"] / line["seconds"], 1)
    line.update(out)
    line.update({"jax": jax.__version__, "backend": jax.default_backend()})
    print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
