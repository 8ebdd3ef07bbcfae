//! Datasets: rows of features and a target, read from a CSV file or drawn from a seed, split
//! into training and test rows and standardized.

use crate::error::{FieldError, Parsed};
use crate::random::{Normals, SplitMix64};

/// Rows of features (`width` numbers each, row after row) and one target each.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Dataset {
    /// The features, row-major: row `i` is `x[i * width..(i + 1) * width]`.
    pub(crate) x: Vec<f64>,
    /// Features per row.
    pub(crate) width: usize,
    /// The target of each row.
    pub(crate) y: Vec<f64>,
}

/// Why a dataset does not suit a model (see [`Dataset::check_targets`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Unfit {
    /// Fewer than two rows.
    TooFewRows(usize),
    /// The target of row `row` (0-based) is not what the model needs.
    NotALabel {
        /// The row, counting from 0.
        row: usize,
        /// Its target.
        value: f64,
    },
}

/// What the targets must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Targets {
    /// Any finite numbers.
    Numbers,
    /// 0 or 1.
    Binary,
    /// Whole numbers from 0.
    Classes,
}

impl Dataset {
    /// The number of rows.
    pub(crate) fn rows(&self) -> usize {
        self.y.len()
    }

    /// Reads feature columns `x` and target column `y` of a CSV file with a header row. Errors
    /// say what is wrong: the file, the column, the row.
    pub(crate) fn from_csv(path: &std::path::Path, x: &[String], y: &str) -> Parsed<Dataset> {
        let shown = path.display();
        let file = crate::io::open_input(path, crate::io::Input::DATA).map_err(|e| FieldError::new(e.to_string()))?;
        let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(file);
        let headers = reader
            .headers()
            .map_err(|e| FieldError::new(format!("{shown}: cannot read its header row: {e}")))?
            .clone();
        // Nothing of a file that is not a CSV is quoted (`io::Header`).
        let header = crate::io::Header::new(headers.iter());
        let column = |name: &str| {
            header
                .position(name)
                .ok_or_else(|| FieldError::new(format!("{shown}: {}", header.no_column(name))))
        };
        let xs = x.iter().map(|name| column(name)).collect::<Parsed<Vec<usize>>>()?;
        let cy = column(y)?;
        let (mut features, mut targets) = (Vec::new(), Vec::new());
        for (i, record) in reader.records().enumerate() {
            // Row numbers as a spreadsheet shows them: the header is row 1.
            let row = i + 2;
            let record = record.map_err(|e| FieldError::new(format!("{shown}: row {row}: {e}")))?;
            let cell = |c: usize, name: &str| -> Parsed<f64> {
                let text = record.get(c).unwrap_or("");
                text.parse::<f64>().ok().filter(|v| v.is_finite()).ok_or_else(|| {
                    FieldError::new(format!(
                        "{shown}: row {row}, column {}: {} is not a finite number",
                        crate::io::quote(name),
                        header.quote(text)
                    ))
                })
            };
            for (&c, name) in xs.iter().zip(x) {
                features.push(cell(c, name)?);
            }
            targets.push(cell(cy, y)?);
        }
        Ok(Dataset {
            x: features,
            width: x.len(),
            y: targets,
        })
    }

    /// `n` rows of one feature drawn from `seed`: `u ~ N(0, 1)`; `v = w u + b + noise N(0, 1)`
    /// (`linear`), or `v = 1` with probability `sigmoid(w u + b + noise N(0, 1))`, else 0
    /// (`logistic`).
    pub(crate) fn line(logistic: bool, n: usize, w: f64, b: f64, noise: f64, seed: u64) -> Dataset {
        let mut normals = Normals::new(seed);
        let mut bits = SplitMix64::new(seed ^ 0xD1B5_4A32_D192_ED03);
        let (mut u, mut v) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for _ in 0..n {
            let x = normals.next() as f64;
            let z = w * x + b + noise * normals.next() as f64;
            u.push(x);
            v.push(if logistic {
                f64::from(bits.uniform() < 1.0 / (1.0 + (-z).exp()))
            } else {
                z
            });
        }
        Dataset { x: u, width: 1, y: v }
    }

    /// scikit-learn's `make_moons(n, noise)`: two interleaving half circles (the outer one class
    /// 0, the inner one class 1), Gaussian noise of standard deviation `noise` added to both
    /// coordinates; drawn from `seed` with optsurf's generator, rows in a seeded shuffle.
    pub(crate) fn moons(n: usize, noise: f64, seed: u64) -> Dataset {
        let (outer, inner) = (n / 2, n - n / 2);
        let spread = |k: usize, m: usize| {
            if m > 1 {
                std::f64::consts::PI * k as f64 / (m - 1) as f64
            } else {
                0.0
            }
        };
        let mut rows: Vec<([f64; 2], f64)> = (0..outer)
            .map(|k| ([spread(k, outer).cos(), spread(k, outer).sin()], 0.0))
            .chain((0..inner).map(|k| ([1.0 - spread(k, inner).cos(), 0.5 - spread(k, inner).sin()], 1.0)))
            .collect();
        let mut normals = Normals::new(seed);
        for (p, _) in &mut rows {
            p[0] += noise * normals.next() as f64;
            p[1] += noise * normals.next() as f64;
        }
        Self::shuffled(rows, seed)
    }

    /// scikit-learn's `make_blobs(n, centers, n_features=2, cluster_std)`: `centers` centres
    /// uniform in `[-10, 10]^2`, each with `n / centers` rows (the first `n % centers` one
    /// more) drawn around it with standard deviation `cluster_std`; class `k` for centre `k`.
    pub(crate) fn blobs(n: usize, centers: usize, cluster_std: f64, seed: u64) -> Dataset {
        let mut bits = SplitMix64::new(seed ^ 0x5EED_B10B);
        let middles: Vec<[f64; 2]> = (0..centers)
            .map(|_| [20.0 * bits.uniform() - 10.0, 20.0 * bits.uniform() - 10.0])
            .collect();
        let mut normals = Normals::new(seed);
        let rows = (0..centers)
            .flat_map(|k| (0..n / centers + usize::from(k < n % centers)).map(move |_| k))
            .map(|k| {
                let p = [
                    middles[k][0] + cluster_std * normals.next() as f64,
                    middles[k][1] + cluster_std * normals.next() as f64,
                ];
                (p, k as f64)
            })
            .collect();
        Self::shuffled(rows, seed)
    }

    /// Interleaved spirals (the classic neural-network benchmark; scikit-learn has none): class
    /// `k` of `classes` has `n / classes` rows at radius `r` evenly in `[0, 1]` and angle
    /// `4 (k + r) + noise N(0, 1)`, the point `(r sin t, r cos t)`.
    pub(crate) fn spirals(n: usize, classes: usize, noise: f64, seed: u64) -> Dataset {
        let mut normals = Normals::new(seed);
        let per = n / classes;
        let mut rows = Vec::with_capacity(per * classes);
        for k in 0..classes {
            for i in 0..per {
                let r = if per > 1 { i as f64 / (per - 1) as f64 } else { 0.0 };
                let t = 4.0 * (k as f64 + r) + noise * normals.next() as f64;
                rows.push(([r * t.sin(), r * t.cos()], k as f64));
            }
        }
        Self::shuffled(rows, seed)
    }

    /// Two-feature rows in a seeded shuffle.
    fn shuffled(rows: Vec<([f64; 2], f64)>, seed: u64) -> Dataset {
        let order = permutation(rows.len(), seed ^ 0x5A0F_F1E5, 0);
        Dataset {
            x: order.iter().flat_map(|&i| rows[i].0).collect(),
            width: 2,
            y: order.iter().map(|&i| rows[i].1).collect(),
        }
    }

    /// Every feature scaled to mean 0 and (population) standard deviation 1 with the statistics
    /// of `fit` (this dataset's own, or the training rows' for test rows); a constant feature is
    /// only centred.
    pub(crate) fn standardized_as(mut self, fit: &Dataset) -> Dataset {
        let n = fit.rows() as f64;
        for c in 0..self.width {
            let column = || fit.x.iter().skip(c).step_by(fit.width);
            let mean = column().sum::<f64>() / n;
            let std = (column().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
            let scale = if std > 0.0 { 1.0 / std } else { 1.0 };
            for x in self.x.iter_mut().skip(c).step_by(self.width) {
                *x = (*x - mean) * scale;
            }
        }
        self
    }

    /// Every feature standardized with its own statistics.
    pub(crate) fn standardized(self) -> Dataset {
        let fit = self.clone();
        self.standardized_as(&fit)
    }

    /// The rows `rows`, in that order.
    fn subset(&self, rows: &[usize]) -> Dataset {
        Dataset {
            x: rows
                .iter()
                .flat_map(|&i| &self.x[i * self.width..(i + 1) * self.width])
                .copied()
                .collect(),
            width: self.width,
            y: rows.iter().map(|&i| self.y[i]).collect(),
        }
    }

    /// Training and test rows: the rows not in `test` (increasing indices, from [`held_out`]),
    /// then those in it, both parts in the data's order; no test rows when `test` is empty.
    pub(crate) fn split(self, test: &[usize]) -> (Dataset, Option<Dataset>) {
        if test.is_empty() {
            return (self, None);
        }
        let train: Vec<usize> = (0..self.rows()).filter(|i| test.binary_search(i).is_err()).collect();
        (self.subset(&train), Some(self.subset(test)))
    }

    /// Checks what a model needs: at least two rows, and targets of the kind it takes.
    pub(crate) fn check_targets(&self, targets: Targets) -> Result<(), Unfit> {
        if self.rows() < 2 {
            return Err(Unfit::TooFewRows(self.rows()));
        }
        let fits = |v: f64| match targets {
            Targets::Numbers => true,
            Targets::Binary => v == 0.0 || v == 1.0,
            Targets::Classes => v >= 0.0 && v.fract() == 0.0 && v < 1e6,
        };
        match self.y.iter().position(|&v| !fits(v)) {
            Some(row) => Err(Unfit::NotALabel {
                row,
                value: self.y[row],
            }),
            None => Ok(()),
        }
    }

    /// The number of classes of whole-number targets: the largest plus one.
    pub(crate) fn classes(&self) -> usize {
        self.y.iter().fold(0.0f64, |m, &v| m.max(v)) as usize + 1
    }
}

/// The rows held out of `n` for [`Dataset::split`]: `round(fraction n)` of a seeded
/// permutation, in increasing order.
pub(crate) fn held_out(n: usize, fraction: f64, seed: u64) -> Vec<usize> {
    let held = ((fraction * n as f64).round() as usize).min(n);
    let mut test: Vec<usize> = permutation(n, seed ^ 0x7E57_5EED, 0)[..held].to_vec();
    test.sort_unstable();
    test
}

/// Epoch `epoch`'s permutation of `n` rows for `seed` (Fisher-Yates over splitmix64).
pub(crate) fn permutation(n: usize, seed: u64, epoch: u64) -> Vec<usize> {
    let mut bits =
        SplitMix64::new(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ epoch.wrapping_add(0x632B_E59B_D9B4_E019));
    let mut p: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = (bits.next_u64() % (i as u64 + 1)) as usize;
        p.swap(i, j);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moons_blobs_and_spirals_follow_their_definitions() {
        // Noise-free moons lie on their circles: class 0 at radius 1 around the origin, class 1
        // around (1, 0.5).
        let m = Dataset::moons(100, 0.0, 3);
        assert_eq!((m.rows(), m.width), (100, 2));
        for i in 0..100 {
            let (x, y) = (m.x[2 * i], m.x[2 * i + 1]);
            let r = if m.y[i] == 0.0 {
                x.hypot(y)
            } else {
                (x - 1.0).hypot(y - 0.5)
            };
            assert!((r - 1.0).abs() < 1e-12, "row {i}: radius {r}");
        }
        assert_eq!(m.y.iter().filter(|&&c| c == 1.0).count(), 50);
        let b = Dataset::blobs(301, 3, 0.5, 1);
        assert_eq!(b.classes(), 3);
        assert_eq!(b.y.iter().filter(|&&c| c == 0.0).count(), 101);
        let s = Dataset::spirals(200, 2, 0.0, 0);
        for i in 0..200 {
            assert!(s.x[2 * i].hypot(s.x[2 * i + 1]) <= 1.0 + 1e-12);
        }
        assert_ne!(Dataset::moons(50, 0.1, 1), Dataset::moons(50, 0.1, 2));
    }

    #[test]
    fn splits_hold_out_a_seeded_fraction_and_standardize_with_the_training_rows() {
        let d = Dataset {
            x: (0..20).map(f64::from).collect(),
            width: 2,
            y: (0..10).map(f64::from).collect(),
        };
        let (train, test) = d.clone().split(&held_out(10, 0.3, 5));
        let test = test.unwrap();
        assert_eq!((train.rows(), test.rows()), (7, 3));
        let mut all: Vec<f64> = train.y.iter().chain(&test.y).copied().collect();
        all.sort_by(f64::total_cmp);
        assert_eq!(all, d.y);
        // The rows landscape.json names are the split's: y is the row index here.
        let held = held_out(10, 0.3, 5);
        assert_eq!(test.y, held.iter().map(|&i| i as f64).collect::<Vec<_>>());
        assert!(d.clone().split(&held_out(10, 0.0, 5)).1.is_none());
        let standard = train.clone().standardized();
        for c in 0..2 {
            let column: Vec<f64> = standard.x.iter().skip(c).step_by(2).copied().collect();
            let mean = column.iter().sum::<f64>() / 7.0;
            let var = column.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 7.0;
            assert!(mean.abs() < 1e-12 && (var - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn a_header_that_is_not_one_is_not_quoted() {
        let dir = crate::tempfile::tempdir().unwrap();
        let path = dir.path().join("x.csv");
        std::fs::write(&path, format!("root:{}:0:0\n1\n", "x".repeat(200))).unwrap();
        let e = Dataset::from_csv(&path, &["a".into()], "b").unwrap_err();
        assert!(!e.message().contains("root:"), "{}", e.message());
        assert!(e.message().contains("no column \"a\""), "{}", e.message());
    }
}
