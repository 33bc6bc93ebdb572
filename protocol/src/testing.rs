//! A deterministic random-number generator for test vectors and tests.
//!
//! **Not for production.** The protocol's `seal`/`build` functions take any
//! `CryptoRng`; real callers pass the system RNG (`UnwrapErr(getrandom::SysRng)`).
//! Test vectors in `spec/vectors/` are generated with this RNG from fixed seeds so
//! that anyone can reproduce every byte.

use core::convert::Infallible;

use rand_core::{TryCryptoRng, TryRng};

use crate::kdf::derive;

/// Label of the deterministic test RNG's output blocks.
pub const TEST_RNG_LABEL: &[u8] = b"quet/v1/test-rng";

/// HKDF-SHA256 in counter mode over a fixed seed. Reproducible, not secret.
#[derive(Clone, Debug)]
pub struct DeterministicRng {
    seed: [u8; 32],
    counter: u64,
    block: [u8; 32],
    used: usize,
}

impl DeterministicRng {
    /// A generator from a 32-byte seed.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        DeterministicRng {
            seed,
            counter: 0,
            block: [0; 32],
            used: 32,
        }
    }

    fn next_byte(&mut self) -> u8 {
        if self.used >= self.block.len() {
            self.block = derive(
                None,
                &self.seed,
                TEST_RNG_LABEL,
                &self.counter.to_be_bytes(),
            );
            self.counter = self.counter.wrapping_add(1);
            self.used = 0;
        }
        let b = self.block.get(self.used).copied().unwrap_or(0);
        self.used += 1;
        b
    }
}

impl TryRng for DeterministicRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for d in dst {
            *d = self.next_byte();
        }
        Ok(())
    }
}

impl TryCryptoRng for DeterministicRng {}

/// A deterministic RNG seeded by a small number (tests).
pub fn test_rng(n: u8) -> DeterministicRng {
    DeterministicRng::from_seed([n; 32])
}
