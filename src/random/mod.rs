//! Seeded randomness, the same on every backend, platform and release: splitmix64 with
//! Box-Muller normals (noise fields, random points), and numpy's legacy `RandomState` for the
//! post's own draws.

pub(crate) mod numpy;

pub(crate) use numpy::RandomState;

/// splitmix64: a tiny, well-mixed 64-bit generator (Steele, Lea & Flood 2014).
#[derive(Clone, Debug)]
pub(crate) struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// The generator of `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1]: 53 random bits, never 0 (so a logarithm of it is finite).
    pub(crate) fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }
}

/// Standard normal draws: splitmix64 for uniform bits, Box-Muller for the normals (the cosine
/// first, then the sine of each pair).
pub(crate) struct Normals {
    bits: SplitMix64,
    spare: Option<f32>,
}

impl Normals {
    /// The draws of `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        Normals {
            bits: SplitMix64::new(seed),
            spare: None,
        }
    }

    /// The next standard normal draw, as `f32`.
    #[allow(clippy::should_implement_trait)]
    pub(crate) fn next(&mut self) -> f32 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        let radius = (-2.0 * self.bits.uniform().ln()).sqrt();
        let angle = 2.0 * std::f64::consts::PI * self.bits.uniform();
        self.spare = Some((radius * angle.sin()) as f32);
        (radius * angle.cos()) as f32
    }
}
