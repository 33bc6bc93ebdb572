//! The X25519 sealed box used for trace capsules and report envelopes.
//!
//! ```text
//! seal(pk, label, aad, m):  r random; E = X25519(r, 9); s = X25519(r, pk)
//!                           k = HKDF(salt = E || pk, ikm = s, info = label)
//!                           output E || ChaCha20-Poly1305(k, nonce = 0, aad, m)
//! ```
//! Each key is used once (fresh `r`), so the all-zero nonce is safe. An identity
//! shared secret (small-order `pk` or `E`) is refused on both sides.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand_core::CryptoRng;
use x25519_dalek::{EphemeralSecret, PublicKey, StaticSecret};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::kdf::derive;

/// Bytes a sealed box adds to its plaintext: ephemeral key and tag.
pub const SEALED_BOX_OVERHEAD: usize = 32 + 16;

fn aead_key(
    shared: &[u8; 32],
    eph: &[u8; 32],
    recipient: &[u8; 32],
    label: &[u8],
) -> Zeroizing<[u8; 32]> {
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(eph);
    salt[32..].copy_from_slice(recipient);
    Zeroizing::new(derive(Some(&salt), shared, label, &[]))
}

/// Seals `plaintext` to `recipient` under `label`, binding `aad`.
pub fn seal<R: CryptoRng + ?Sized>(
    rng: &mut R,
    recipient: &[u8; 32],
    label: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>> {
    let eph = EphemeralSecret::random_from_rng(rng);
    let eph_pub = PublicKey::from(&eph).to_bytes();
    let shared = eph.diffie_hellman(&PublicKey::from(*recipient));
    if !shared.was_contributory() {
        return Err(Error::WeakPublicKey);
    }
    let key = aead_key(shared.as_bytes(), &eph_pub, recipient, label);
    let cipher = ChaCha20Poly1305::new(&Key::from(*key));
    let ct = cipher
        .encrypt(
            &Nonce::default(),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| Error::TooLong {
            what: "sealed box plaintext",
            max: usize::MAX,
        })?;
    let mut out = Vec::with_capacity(32 + ct.len());
    out.extend_from_slice(&eph_pub);
    out.extend_from_slice(&ct);
    Ok(out)
}

/// Opens a sealed box with the recipient's secret.
pub fn open(
    secret: &StaticSecret,
    label: &[u8],
    aad: &[u8],
    sealed: &[u8],
    what: &'static str,
) -> Result<Zeroizing<Vec<u8>>> {
    if sealed.len() < SEALED_BOX_OVERHEAD {
        return Err(Error::Truncated { what });
    }
    let (eph, ct) = sealed.split_at(32);
    let mut eph_pub = [0u8; 32];
    eph_pub.copy_from_slice(eph);
    let recipient = PublicKey::from(secret).to_bytes();
    let shared = secret.diffie_hellman(&PublicKey::from(eph_pub));
    if !shared.was_contributory() {
        return Err(Error::DecryptionFailed { what });
    }
    let key = aead_key(shared.as_bytes(), &eph_pub, &recipient, label);
    let cipher = ChaCha20Poly1305::new(&Key::from(*key));
    cipher
        .decrypt(&Nonce::default(), Payload { msg: ct, aad })
        .map(Zeroizing::new)
        .map_err(|_| Error::DecryptionFailed { what })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::test_rng;

    #[test]
    fn round_trip_and_binding() {
        let mut rng = test_rng(1);
        let sk = StaticSecret::random_from_rng(&mut rng);
        let pk = PublicKey::from(&sk).to_bytes();
        let sealed = seal(&mut rng, &pk, b"quet/v1/capsule", b"aad", b"hello").unwrap();
        assert_eq!(sealed.len(), 5 + SEALED_BOX_OVERHEAD);
        assert_eq!(
            &open(&sk, b"quet/v1/capsule", b"aad", &sealed, "t").unwrap()[..],
            b"hello"
        );
        // Wrong label, wrong aad, wrong key, flipped bit: all fail.
        assert!(open(&sk, b"quet/v1/envelope", b"aad", &sealed, "t").is_err());
        assert!(open(&sk, b"quet/v1/capsule", b"aaD", &sealed, "t").is_err());
        let other = StaticSecret::random_from_rng(&mut rng);
        assert!(open(&other, b"quet/v1/capsule", b"aad", &sealed, "t").is_err());
        let mut bad = sealed.clone();
        bad[40] ^= 1;
        assert!(open(&sk, b"quet/v1/capsule", b"aad", &bad, "t").is_err());
        assert!(open(&sk, b"quet/v1/capsule", b"aad", &sealed[..20], "t").is_err());
    }

    #[test]
    fn refuses_small_order_recipient() {
        let mut rng = test_rng(1);
        assert_eq!(
            seal(&mut rng, &[0u8; 32], b"l", b"", b"m"),
            Err(Error::WeakPublicKey)
        );
    }

    #[test]
    fn fresh_randomness_each_time() {
        let mut rng = test_rng(1);
        let sk = StaticSecret::random_from_rng(&mut rng);
        let pk = PublicKey::from(&sk).to_bytes();
        let a = seal(&mut rng, &pk, b"l", b"", b"same").unwrap();
        let b = seal(&mut rng, &pk, b"l", b"", b"same").unwrap();
        assert_ne!(a, b);
    }
}
