//! Reference operations timed in the same run, so every figure can be quoted as a
//! ratio: constant-time X25519, Ed25519 strict verification, and one BLS12-381
//! pairing with `blst` (the cost CrowdNotifier pays per candidate).

use std::hint::black_box;
use std::time::Instant;

use ed25519_dalek::{Signer, SigningKey};
use x25519_dalek::{PublicKey, StaticSecret};

/// Median seconds per operation of each reference.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct References {
    /// Constant-time X25519 (x25519-dalek `diffie_hellman`).
    pub x25519: f64,
    /// Ed25519 `verify_strict`.
    pub ed25519_verify: f64,
    /// One BLS12-381 pairing (Miller loop and final exponentiation), blst.
    pub pairing: f64,
}

/// Times `f` in `rounds` rounds of `per_round` calls; the median round, per call.
fn median_per_call(rounds: usize, per_round: usize, mut f: impl FnMut()) -> f64 {
    let mut samples: Vec<f64> = (0..rounds)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..per_round {
                f();
            }
            t.elapsed().as_secs_f64() / per_round as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// Measures the three references (about a second in all).
pub fn measure() -> References {
    let a = StaticSecret::from([7u8; 32]);
    let b = PublicKey::from(&StaticSecret::from([9u8; 32]));
    let x25519 = median_per_call(9, 400, || {
        black_box(a.diffie_hellman(black_box(&b)));
    });
    let sk = SigningKey::from_bytes(&[3u8; 32]);
    let vk = sk.verifying_key();
    let msg = b"quet-sim reference";
    let sig = sk.sign(msg);
    let ed25519_verify = median_per_call(9, 300, || {
        black_box(vk.verify_strict(black_box(msg), &sig).is_ok());
    });
    // Any valid G1 and G2 points will do: the cost of a pairing does not depend on
    // them. A public key (G1) and a signature (G2) from blst's own key generation.
    let key = blst::min_pk::SecretKey::key_gen(&[9u8; 32], &[]).ok();
    let pairing = match key {
        Some(sk) => {
            let g1: blst::blst_p1_affine = sk.sk_to_pk().into();
            let g2: blst::blst_p2_affine = sk.sign(b"quet-sim", b"BASELINE", &[]).into();
            median_per_call(7, 40, || {
                black_box(blst::blst_fp12::miller_loop(black_box(&g2), black_box(&g1)).final_exp());
            })
        }
        None => f64::NAN,
    };
    References {
        x25519,
        ed25519_verify,
        pairing,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn references_are_positive_and_ordered() {
        let r = super::measure();
        assert!(r.x25519 > 0.0 && r.ed25519_verify > 0.0);
        // A pairing costs far more than an X25519 on any machine.
        assert!(r.pairing > 3.0 * r.x25519, "{r:?}");
    }
}
