//! The directions of a plane and where a point lies on it, host-side in `f64`: seeded Gaussian
//! directions normalised per neuron (Li et al. 2018, §4), per variable or not at all; the two
//! leading principal directions of a set of points about a centre (§7); least-squares
//! projections with their residuals.

use crate::experiment::landscape::Normalize;
use crate::optim::adagrad_full::eigen::symmetric_eigen;
use crate::params::Layout;
use crate::random::Normals;

fn dot(x: &[f64], y: &[f64]) -> f64 {
    x.iter().zip(y).map(|(a, b)| a * b).sum()
}

fn norm(x: &[f64]) -> f64 {
    dot(x, x).sqrt()
}

/// Scales `direction` to `center`'s size, variable by variable, as Li et al. §4 do.
///
/// With `Normalize::Filter`, a variable of shape `[..., out]` (a kernel `[in, out]`) is `out`
/// neurons: neuron `j`'s incoming weights (its column, indices `k * out + j`) are scaled to the
/// norm of the same weights at the centre. `Normalize::Layer` scales each variable as a whole;
/// `Normalize::None` leaves it. A one-dimensional variable (a bias) is zeroed when
/// `ignore_biasbn`, and otherwise, when normalising, set to the centre's own values (what the
/// reference code does for biases).
pub(crate) fn normalize(direction: &mut [f64], center: &[f32], layout: &Layout, how: Normalize, ignore_biasbn: bool) {
    for (var, range) in layout.variables().iter().zip(layout.ranges()) {
        let d = &mut direction[range.clone()];
        let w = &center[range];
        if var.shape.len() <= 1 && layout.variables().len() > 1 {
            if ignore_biasbn {
                d.fill(0.0);
            } else if how != Normalize::None {
                for (d, &w) in d.iter_mut().zip(w) {
                    *d = w as f64;
                }
            }
            continue;
        }
        let out = match how {
            Normalize::None => continue,
            Normalize::Layer => 1,
            Normalize::Filter => var.shape.last().copied().unwrap_or(1).max(1),
        };
        for j in 0..out {
            let column = (j..d.len()).step_by(out);
            let wn = column.clone().map(|k| (w[k] as f64).powi(2)).sum::<f64>().sqrt();
            let dn = column.clone().map(|k| d[k].powi(2)).sum::<f64>().sqrt();
            let scale = wn / (dn + 1e-10);
            for k in column {
                d[k] *= scale;
            }
        }
    }
}

/// Two seeded standard Gaussian directions of `p` numbers, the first drawn first.
pub(crate) fn gaussian(p: usize, seed: u64) -> [Vec<f64>; 2] {
    let mut normals = Normals::new(seed);
    let mut draw = || (0..p).map(|_| normals.next() as f64).collect::<Vec<f64>>();
    let d0 = draw();
    [d0, draw()]
}

/// The two leading principal directions of the rows of `m` (`n` rows of `p` numbers, already
/// taken about the centre; not mean-centred, as Li et al.'s PCA of `w_i - w_final`), unit
/// length, each with its largest component positive; and the share of `sum ||row||^2` each
/// explains. From the eigenvectors of the smaller of `m m^T` and `m^T m`. `None` when fewer
/// than two independent directions exist.
pub(crate) fn pca(m: &[f64], n: usize, p: usize) -> Option<([Vec<f64>; 2], [f64; 2])> {
    if n == 0 || p < 2 {
        return None;
    }
    let total: f64 = m.iter().map(|v| v * v).sum();
    let row = |i: usize| &m[i * p..(i + 1) * p];
    let (values, mut dirs) = if n <= p {
        let mut gram = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                let v = dot(row(i), row(j));
                gram[i * n + j] = v;
                gram[j * n + i] = v;
            }
        }
        let eig = symmetric_eigen(gram, n)?;
        let mut values = [0.0; 2];
        let mut dirs: [Vec<f64>; 2] = [vec![0.0; p], vec![0.0; p]];
        for k in 0..2.min(n) {
            let idx = n - 1 - k;
            values[k] = eig.values[idx];
            let u = eig.vector(idx);
            for (i, &ui) in u.iter().enumerate() {
                for (d, &x) in dirs[k].iter_mut().zip(row(i)) {
                    *d += ui * x;
                }
            }
        }
        (values, dirs)
    } else {
        let mut cov = vec![0.0; p * p];
        for i in 0..n {
            let r = row(i);
            for a in 0..p {
                for b in 0..=a {
                    cov[a * p + b] += r[a] * r[b];
                }
            }
        }
        for a in 0..p {
            for b in 0..a {
                cov[b * p + a] = cov[a * p + b];
            }
        }
        let eig = symmetric_eigen(cov, p)?;
        let pick = |k: usize| (eig.values[p - 1 - k], eig.vector(p - 1 - k).to_vec());
        let ((v0, d0), (v1, d1)) = (pick(0), pick(1));
        ([v0, v1], [d0, d1])
    };
    if total.is_nan() || total <= 0.0 || values[1] <= total * 1e-12 {
        return None;
    }
    for d in &mut dirs {
        let n = norm(d);
        d.iter_mut().for_each(|v| *v /= n);
        let largest = d
            .iter()
            .copied()
            .fold(0.0f64, |a, v| if v.abs() > a.abs() { v } else { a });
        if largest < 0.0 {
            d.iter_mut().for_each(|v| *v = -*v);
        }
    }
    Some((dirs, [values[0] / total, values[1] / total]))
}

/// Where `w` lies on the plane `center + a d_0 + b d_1`: the least-squares `[a, b]`, and the
/// residual `||w - (center + a d_0 + b d_1)|| / ||w - center||` (0 at the centre itself).
pub(crate) fn project(dirs: &[Vec<f64>; 2], center: &[f32], w: &[f32]) -> ([f64; 2], f64) {
    let diff: Vec<f64> = w.iter().zip(center).map(|(&w, &c)| w as f64 - c as f64).collect();
    let (g00, g01, g11) = (
        dot(&dirs[0], &dirs[0]),
        dot(&dirs[0], &dirs[1]),
        dot(&dirs[1], &dirs[1]),
    );
    let (r0, r1) = (dot(&dirs[0], &diff), dot(&dirs[1], &diff));
    let det = g00 * g11 - g01 * g01;
    let (a, b) = if det.abs() > 0.0 {
        ((r0 * g11 - r1 * g01) / det, (r1 * g00 - r0 * g01) / det)
    } else {
        (0.0, 0.0)
    };
    let distance = norm(&diff);
    if distance == 0.0 {
        return ([a, b], 0.0);
    }
    let off: f64 = diff
        .iter()
        .zip(dirs[0].iter().zip(&dirs[1]))
        .map(|(x, (d0, d1))| (x - a * d0 - b * d1).powi(2))
        .sum::<f64>()
        .sqrt();
    ([a, b], off / distance)
}
