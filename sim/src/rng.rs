//! The simulation's own random numbers: SplitMix64, seeded per stream.
//!
//! This is for drawing a synthetic city (who goes where, when), never for keys:
//! every key, nonce and seal in the simulation comes from the protocol crate with a
//! cryptographic generator. Streams are keyed by `(seed, kind, a, b)`, so a person's
//! day can be regenerated on its own and comes out the same in every pass and run.

/// A SplitMix64 generator (Steele, Lea and Flood 2014): fast, 64-bit state, fine for
/// simulation; not a cryptographic generator.
#[derive(Clone, Debug)]
pub struct SimRng {
    state: u64,
}

const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Stream kinds, so that streams of different purposes never coincide.
#[derive(Clone, Copy, Debug)]
pub enum Stream {
    /// The city: venues and people.
    City = 1,
    /// One person's day.
    PersonDay = 2,
    /// Cases: who, when, consent.
    Cases = 3,
    /// Choosing sampled phones.
    Sample = 4,
    /// Venue master keys (through the protocol's deterministic generator).
    VenueKeys = 5,
}

impl SimRng {
    /// The stream `(seed, kind, a, b)`.
    pub fn stream(seed: u64, kind: Stream, a: u64, b: u64) -> SimRng {
        let s = mix64(seed ^ mix64((kind as u64).wrapping_mul(GOLDEN_GAMMA) ^ mix64(a ^ mix64(b))));
        SimRng { state: s }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        mix64(self.state)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `0..n` (`n > 0`; 0 when `n == 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub fn between(&mut self, lo: u32, hi: u32) -> u32 {
        if hi <= lo {
            return lo;
        }
        lo + self.below(u64::from(hi - lo) + 1) as u32
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// A Poisson draw with mean `lambda` (Knuth's method; the means used are small).
    pub fn poisson(&mut self, lambda: f64) -> u32 {
        let l = (-lambda).exp();
        let mut k = 0u32;
        let mut p = 1.0;
        loop {
            p *= self.unit();
            if p <= l || k > 64 {
                return k;
            }
            k += 1;
        }
    }

    /// An index drawn with the given weights (the last index if all are zero).
    pub fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut x = self.unit() * total;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len().saturating_sub(1)
    }

    /// An index in `0..n` skewed towards small indices (popular venues first): the
    /// square of a uniform draw, so the first tenth gets about 32 % of the draws.
    pub fn skewed(&mut self, n: u64) -> u64 {
        let u = self.unit();
        ((u * u) * n as f64) as u64 % n.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4)
            .map(|_| SimRng::stream(7, Stream::City, 1, 2).next_u64())
            .collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        let mut x = SimRng::stream(7, Stream::City, 1, 2);
        let mut y = SimRng::stream(7, Stream::City, 2, 1);
        assert_ne!(x.next_u64(), y.next_u64());
    }

    #[test]
    fn draws_stay_in_range_with_plausible_means() {
        let mut r = SimRng::stream(1, Stream::Cases, 0, 0);
        let n = 20_000;
        let mut sum = 0.0;
        for _ in 0..n {
            assert!(r.below(10) < 10);
            let b = r.between(3, 5);
            assert!((3..=5).contains(&b));
            sum += f64::from(r.poisson(2.0));
        }
        let mean = sum / f64::from(n);
        assert!((mean - 2.0).abs() < 0.1, "poisson mean {mean}");
        assert_eq!(r.weighted(&[0.0, 0.0, 1.0]), 2);
    }
}
