//! numpy's legacy generator `np.random.RandomState(seed)`, bit for bit: MT19937 seeded with
//! `init_genrand`, `rand()` as `genrand_res53`, and the polar-method Gaussian behind
//! `standard_normal` and `lognormal`. The post draws its AdaGrad gradients from it, so the
//! figures can use the post's exact numbers.

const N: usize = 624;
const M: usize = 397;
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7fff_ffff;

/// `np.random.RandomState(seed)` for an integer seed in `[0, 2^32)`.
#[derive(Clone)]
pub(crate) struct RandomState {
    mt: [u32; N],
    index: usize,
    /// The second Gaussian of the last polar-method pair, as numpy keeps it.
    gauss: Option<f64>,
}

impl std::fmt::Debug for RandomState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RandomState").field("index", &self.index).finish()
    }
}

impl RandomState {
    /// `np.random.RandomState(seed)`: MT19937's `init_genrand(seed)`.
    pub(crate) fn new(seed: u32) -> Self {
        let mut mt = [0u32; N];
        mt[0] = seed;
        for i in 1..N {
            mt[i] = 1_812_433_253u32
                .wrapping_mul(mt[i - 1] ^ (mt[i - 1] >> 30))
                .wrapping_add(i as u32);
        }
        RandomState {
            mt,
            index: N,
            gauss: None,
        }
    }

    fn generate(&mut self) {
        for k in 0..N {
            let y = (self.mt[k] & UPPER_MASK) | (self.mt[(k + 1) % N] & LOWER_MASK);
            let mag = if y & 1 == 1 { MATRIX_A } else { 0 };
            self.mt[k] = self.mt[(k + M) % N] ^ (y >> 1) ^ mag;
        }
        self.index = 0;
    }

    /// The next tempered 32-bit output (`genrand_int32`).
    pub(crate) fn next_u32(&mut self) -> u32 {
        if self.index >= N {
            self.generate();
        }
        let mut y = self.mt[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// `rand()`: a double in `[0, 1)` with 53 random bits (`genrand_res53`).
    pub(crate) fn rand(&mut self) -> f64 {
        let a = (self.next_u32() >> 5) as f64;
        let b = (self.next_u32() >> 6) as f64;
        (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }

    /// `rand(n)`.
    #[cfg(test)]
    pub(crate) fn rand_n(&mut self, n: usize) -> Vec<f64> {
        (0..n).map(|_| self.rand()).collect()
    }

    /// `standard_normal()`: numpy's legacy polar (Marsaglia) method, which draws a pair and
    /// returns the second value first.
    pub(crate) fn standard_normal(&mut self) -> f64 {
        if let Some(g) = self.gauss.take() {
            return g;
        }
        loop {
            let x1 = 2.0 * self.rand() - 1.0;
            let x2 = 2.0 * self.rand() - 1.0;
            let r2 = x1 * x1 + x2 * x2;
            if r2 < 1.0 && r2 != 0.0 {
                let f = (-2.0 * r2.ln() / r2).sqrt();
                self.gauss = Some(f * x1);
                return f * x2;
            }
        }
    }

    /// `lognormal(mean, sigma)`: `exp(mean + sigma * standard_normal())`.
    pub(crate) fn lognormal(&mut self, mean: f64, sigma: f64) -> f64 {
        (mean + sigma * self.standard_normal()).exp()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values printed by numpy 2.4.6: `np.random.RandomState(seed).rand(4).tolist()`.
    #[test]
    fn rand_matches_numpy() {
        let expected: [(u32, [f64; 4]); 4] = [
            (
                32,
                [
                    0.8588892672930397,
                    0.37271115497527996,
                    0.5551287779985967,
                    0.9556565489917677,
                ],
            ),
            (
                53,
                [
                    0.8466624072101339,
                    0.5611655402650342,
                    0.45487540240575286,
                    0.35217491369196174,
                ],
            ),
            (
                0,
                [
                    0.5488135039273248,
                    0.7151893663724195,
                    0.6027633760716439,
                    0.5448831829968969,
                ],
            ),
            (
                4294967295,
                [
                    0.0976320289940138,
                    0.9123828453026218,
                    0.78903530185164,
                    0.7800035981134678,
                ],
            ),
        ];
        for (seed, values) in expected {
            assert_eq!(RandomState::new(seed).rand_n(4), values.to_vec(), "seed {seed}");
        }
    }

    /// `np.random.RandomState(0).lognormal(size=5)` and a mixed sequence of `RandomState(7)`:
    /// `[rand(), standard_normal(), rand(), standard_normal(), standard_normal()]`.
    #[test]
    fn gaussians_match_numpy() {
        let close = |a: f64, b: f64| (a - b).abs() <= 4.0 * f64::EPSILON * b.abs();
        let mut r = RandomState::new(0);
        for expected in [
            5.836039190663969,
            1.4920592434019648,
            2.661095776728801,
            9.401725151586074,
            6.472471246024121,
        ] {
            let got = r.lognormal(0.0, 1.0);
            assert!(close(got, expected), "{got} vs {expected}");
        }
        let mut r = RandomState::new(7);
        let got = [
            r.rand(),
            r.standard_normal(),
            r.rand(),
            r.standard_normal(),
            r.standard_normal(),
        ];
        let expected = [
            0.07630828937395717,
            -0.3206032549443759,
            0.7234651778309412,
            1.4570832287334776,
            0.0328201636785844,
        ];
        for (g, e) in got.iter().zip(expected) {
            assert!(close(*g, e), "{g} vs {e}");
        }
    }
}
