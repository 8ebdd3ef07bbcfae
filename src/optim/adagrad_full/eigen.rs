//! Symmetric eigendecomposition in `f64` on the host: Householder reduction to tridiagonal form
//! followed by the implicit QL algorithm (EISPACK `tred2` + `tql2`, as in JAMA's
//! `EigenvalueDecomposition`), O(n^3) time, O(n^2) memory.
//!
//! The eigenvectors are kept as the rows of a row-major matrix (the transpose of JAMA's `V`),
//! so every O(n^3) inner loop runs over contiguous memory.

/// `A = sum_i values[i] * v_i v_i^T`, with `v_i = vectors[i * n..(i + 1) * n]` orthonormal and
/// `values` ascending.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SymmetricEigen {
    /// The order `n` of the matrix.
    pub n: usize,
    /// Eigenvalues, ascending.
    pub values: Vec<f64>,
    /// Eigenvectors as rows, `n x n` row-major: row `i` belongs to `values[i]`.
    pub vectors: Vec<f64>,
}

impl SymmetricEigen {
    /// Eigenvector `i`.
    pub(crate) fn vector(&self, i: usize) -> &[f64] {
        &self.vectors[i * self.n..(i + 1) * self.n]
    }
}

/// QL iterations allowed per eigenvalue before giving up (a finite symmetric matrix needs 1-3).
const MAX_ITERATIONS: usize = 64;

/// Eigendecomposition of the symmetric `n x n` row-major matrix `a` (the reduction reads one
/// triangle; the caller keeps both equal).
///
/// Returns `None` when `a` is not `n x n`, holds a non-finite value, or QL fails to converge.
pub(crate) fn symmetric_eigen(mut a: Vec<f64>, n: usize) -> Option<SymmetricEigen> {
    if a.len() != n * n || a.iter().any(|v| !v.is_finite()) {
        return None;
    }
    match n {
        0 | 1 => {
            let values = a.clone();
            a.fill(1.0);
            return Some(SymmetricEigen { n, values, vectors: a });
        }
        2 => return Some(two_by_two(a[0], a[1], a[3])),
        _ => {}
    }
    let mut d = vec![0.0; n];
    let mut e = vec![0.0; n];
    // For a symmetric `a`, its row-major storage is also the transpose of JAMA's `V = A`.
    tred2(n, &mut a, &mut d, &mut e);
    if !tql2(n, &mut a, &mut d, &mut e) {
        return None;
    }
    sort_ascending(n, &mut a, &mut d);
    Some(SymmetricEigen {
        n,
        values: d,
        vectors: a,
    })
}

/// `[[p, q], [q, r]]` by one Jacobi rotation (Numerical Recipes' form, accurate to round-off):
/// the 2D surfaces' case, without the general reduction's overhead.
fn two_by_two(p: f64, q: f64, r: f64) -> SymmetricEigen {
    let (values, vectors) = if q == 0.0 {
        ([p, r], [1.0, 0.0, 0.0, 1.0])
    } else {
        let theta = (r - p) / (2.0 * q);
        let t = theta.signum() / (theta.abs() + theta.hypot(1.0));
        let c = 1.0 / t.hypot(1.0);
        let s = t * c;
        ([p - t * q, r + t * q], [c, -s, s, c])
    };
    if values[0] <= values[1] {
        SymmetricEigen {
            n: 2,
            values: values.to_vec(),
            vectors: vectors.to_vec(),
        }
    } else {
        SymmetricEigen {
            n: 2,
            values: vec![values[1], values[0]],
            vectors: vec![vectors[2], vectors[3], vectors[0], vectors[1]],
        }
    }
}

/// Householder tridiagonalization with accumulated transformations. `z` holds `V^T`:
/// JAMA's `V[r][c]` is `z[c * n + r]`. On return `d` is the diagonal, `e[1..]` the
/// subdiagonal and `z` the orthogonal transformation (as `V^T`).
fn tred2(n: usize, z: &mut [f64], d: &mut [f64], e: &mut [f64]) {
    for j in 0..n {
        d[j] = z[j * n + n - 1];
    }
    for i in (1..n).rev() {
        let scale: f64 = d[..i].iter().map(|v| v.abs()).sum();
        let mut h = 0.0;
        if scale == 0.0 {
            e[i] = d[i - 1];
            for j in 0..i {
                d[j] = z[j * n + i - 1];
                z[j * n + i] = 0.0;
                z[i * n + j] = 0.0;
            }
        } else {
            for v in &mut d[..i] {
                *v /= scale;
                h += *v * *v;
            }
            let mut f = d[i - 1];
            let mut g = if f > 0.0 { -h.sqrt() } else { h.sqrt() };
            e[i] = scale * g;
            h -= f * g;
            d[i - 1] = f - g;
            e[..i].fill(0.0);
            // Apply the similarity transformation to the remaining columns.
            for j in 0..i {
                f = d[j];
                z[i * n + j] = f;
                g = e[j] + z[j * n + j] * f;
                let column = &z[j * n + j + 1..j * n + i];
                for ((vkj, dk), ek) in column.iter().zip(&d[j + 1..i]).zip(&mut e[j + 1..i]) {
                    g += vkj * dk;
                    *ek += vkj * f;
                }
                e[j] = g;
            }
            f = 0.0;
            for (ej, dj) in e[..i].iter_mut().zip(&d[..i]) {
                *ej /= h;
                f += *ej * dj;
            }
            let hh = f / (h + h);
            for (ej, dj) in e[..i].iter_mut().zip(&d[..i]) {
                *ej -= hh * dj;
            }
            for j in 0..i {
                f = d[j];
                g = e[j];
                let column = &mut z[j * n + j..j * n + i];
                for ((vkj, ek), dk) in column.iter_mut().zip(&e[j..i]).zip(&d[j..i]) {
                    *vkj -= f * ek + g * dk;
                }
                d[j] = z[j * n + i - 1];
                z[j * n + i] = 0.0;
            }
        }
        d[i] = h;
    }
    // Accumulate the transformations.
    for i in 0..n - 1 {
        z[i * n + n - 1] = z[i * n + i];
        z[i * n + i] = 1.0;
        let h = d[i + 1];
        if h != 0.0 {
            let (head, tail) = z.split_at_mut((i + 1) * n);
            let next = &mut tail[..i + 1];
            for (dk, vk) in d[..=i].iter_mut().zip(next.iter()) {
                *dk = vk / h;
            }
            for j in 0..=i {
                let column = &mut head[j * n..j * n + i + 1];
                let g: f64 = next.iter().zip(column.iter()).map(|(a, b)| a * b).sum();
                for (vk, dk) in column.iter_mut().zip(&d[..=i]) {
                    *vk -= g * dk;
                }
            }
        }
        z[(i + 1) * n..(i + 1) * n + i + 1].fill(0.0);
    }
    for j in 0..n {
        d[j] = z[j * n + n - 1];
        z[j * n + n - 1] = 0.0;
    }
    z[(n - 1) * n + n - 1] = 1.0;
    e[0] = 0.0;
}

/// Implicit QL on the tridiagonal `(d, e)` from [`tred2`], rotating the rows of `z`. Returns
/// `false` if an eigenvalue does not converge.
fn tql2(n: usize, z: &mut [f64], d: &mut [f64], e: &mut [f64]) -> bool {
    for i in 1..n {
        e[i - 1] = e[i];
    }
    e[n - 1] = 0.0;
    let mut f = 0.0;
    let mut tst1: f64 = 0.0;
    let eps = f64::EPSILON;
    for l in 0..n {
        // Find a small subdiagonal element.
        tst1 = tst1.max(d[l].abs() + e[l].abs());
        let mut m = l;
        while m < n - 1 && e[m].abs() > eps * tst1 {
            m += 1;
        }
        // If m == l, d[l] is an eigenvalue; otherwise iterate.
        if m > l {
            let mut iterations = 0;
            loop {
                iterations += 1;
                if iterations > MAX_ITERATIONS {
                    return false;
                }
                // Implicit shift.
                let mut g = d[l];
                let mut p = (d[l + 1] - g) / (2.0 * e[l]);
                let mut r = p.hypot(1.0);
                if p < 0.0 {
                    r = -r;
                }
                d[l] = e[l] / (p + r);
                d[l + 1] = e[l] * (p + r);
                let dl1 = d[l + 1];
                let mut h = g - d[l];
                for v in &mut d[l + 2..n] {
                    *v -= h;
                }
                f += h;
                // Implicit QL transformation.
                p = d[m];
                let (mut c, mut c2, mut c3) = (1.0, 1.0, 1.0);
                let el1 = e[l + 1];
                let (mut s, mut s2) = (0.0, 0.0);
                for i in (l..m).rev() {
                    c3 = c2;
                    c2 = c;
                    s2 = s;
                    g = c * e[i];
                    h = c * p;
                    r = p.hypot(e[i]);
                    e[i + 1] = s * r;
                    s = e[i] / r;
                    c = p / r;
                    p = c * d[i] - s * g;
                    d[i + 1] = h + s * (c * g + s * d[i]);
                    // Accumulate: columns i and i + 1 of V are rows i and i + 1 of z.
                    let (head, tail) = z.split_at_mut((i + 1) * n);
                    let zi = &mut head[i * n..];
                    for (a, b) in zi.iter_mut().zip(tail[..n].iter_mut()) {
                        let hb = *b;
                        *b = s * *a + c * hb;
                        *a = c * *a - s * hb;
                    }
                }
                p = -s * s2 * c3 * el1 * e[l] / dl1;
                e[l] = s * p;
                d[l] = c * p;
                if e[l].abs() <= eps * tst1 {
                    break;
                }
                if !e[l].is_finite() {
                    return false;
                }
            }
        }
        d[l] += f;
        e[l] = 0.0;
    }
    true
}

/// Sorts the eigenvalues ascending, moving their eigenvector rows along.
fn sort_ascending(n: usize, z: &mut [f64], d: &mut [f64]) {
    for i in 0..n.saturating_sub(1) {
        let mut k = i;
        for j in i + 1..n {
            if d[j] < d[k] {
                k = j;
            }
        }
        if k != i {
            d.swap(i, k);
            let (head, tail) = z.split_at_mut(k * n);
            head[i * n..(i + 1) * n].swap_with_slice(&mut tail[..n]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random symmetric matrix.
    fn random_symmetric(n: usize, seed: u64) -> Vec<f64> {
        let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        };
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                let v = next();
                a[i * n + j] = v;
                a[j * n + i] = v;
            }
        }
        a
    }

    /// max |A - V^T diag(values) V| and max |V V^T - I|.
    fn residuals(a: &[f64], eig: &SymmetricEigen) -> (f64, f64) {
        let n = eig.n;
        let (mut reconstruction, mut orthogonality) = (0.0f64, 0.0f64);
        for r in 0..n {
            for c in 0..n {
                let sum: f64 = (0..n)
                    .map(|i| eig.values[i] * eig.vector(i)[r] * eig.vector(i)[c])
                    .sum();
                reconstruction = reconstruction.max((sum - a[r * n + c]).abs());
                let dot: f64 = eig.vector(r).iter().zip(eig.vector(c)).map(|(x, y)| x * y).sum();
                orthogonality = orthogonality.max((dot - if r == c { 1.0 } else { 0.0 }).abs());
            }
        }
        (reconstruction, orthogonality)
    }

    #[test]
    fn decomposes_random_symmetric_matrices() {
        for (n, seed) in [(1, 1), (2, 2), (2, 12), (2, 22), (3, 3), (7, 4), (16, 5), (50, 6)] {
            let a = random_symmetric(n, seed);
            let eig = symmetric_eigen(a.clone(), n).unwrap();
            let (reconstruction, orthogonality) = residuals(&a, &eig);
            assert!(reconstruction < 1e-12 * n as f64, "n={n}: {reconstruction}");
            assert!(orthogonality < 1e-12 * n as f64, "n={n}: {orthogonality}");
            assert!(eig.values.windows(2).all(|w| w[0] <= w[1]));
        }
    }

    #[test]
    fn handles_degenerate_matrices() {
        // Zero, identity, a rank-one matrix and repeated eigenvalues.
        let n = 5;
        let zero = vec![0.0; n * n];
        let identity: Vec<f64> = (0..n * n).map(|k| if k % (n + 1) == 0 { 1.0 } else { 0.0 }).collect();
        let u = [1.0, -2.0, 0.5, 3.0, 0.0];
        let rank_one: Vec<f64> = (0..n * n).map(|k| u[k / n] * u[k % n]).collect();
        for a in [zero, identity, rank_one] {
            let eig = symmetric_eigen(a.clone(), n).unwrap();
            let (reconstruction, orthogonality) = residuals(&a, &eig);
            assert!(reconstruction < 1e-13 && orthogonality < 1e-13);
        }
        let diagonal = vec![2.0, 0.0, 0.0, -1.0];
        let eig = symmetric_eigen(diagonal, 2).unwrap();
        assert_eq!(eig.values, vec![-1.0, 2.0]);
        assert_eq!(eig.vector(0), &[0.0, 1.0]);
        // 2 x 2: rank one, equal diagonal, and an off-diagonal tiny against the diagonal.
        for a in [
            vec![1.0, 2.0, 2.0, 4.0],
            vec![3.0, 1.0, 1.0, 3.0],
            vec![1e10, 1e-20, 1e-20, 1.0],
        ] {
            let eig = symmetric_eigen(a.clone(), 2).unwrap();
            let (reconstruction, orthogonality) = residuals(&a, &eig);
            assert!(
                reconstruction <= 1e-14 * a[0].abs().max(4.0) && orthogonality < 1e-15,
                "{a:?}"
            );
        }
    }

    #[test]
    fn rejects_bad_input() {
        assert!(symmetric_eigen(vec![1.0, f64::NAN, f64::NAN, 1.0], 2).is_none());
        assert!(symmetric_eigen(vec![f64::INFINITY], 1).is_none());
        assert!(symmetric_eigen(vec![1.0, 2.0], 2).is_none());
        assert_eq!(symmetric_eigen(Vec::new(), 0).unwrap().values, Vec::<f64>::new());
    }
}
