//! The diary key: what keeps a seized phone's visit history closed.
//!
//! Venue names, addresses, times and alert details are sealed (X25519 sealed box,
//! `quet_protocol::sealed_box`) to the **diary public key**, which the phone keeps
//! in the clear: checking in and matching never need the user. The private half
//! is stored only **wrapped** in key slots, each opened by something the user
//! holds:
//!
//! ```text
//! passphrase slot: KEK = Argon2id(passphrase, salt[16]; m, t, p; 32 B)
//! PRF slot:        KEK = HKDF-SHA256(salt = salt[16], ikm = WebAuthn PRF output[32],
//!                                    info = "quet/v1/client/prf-wrap")
//! wrapped secret:  XChaCha20-Poly1305(KEK, nonce[24],
//!                                     aad = "quet/v1/client/keyslot" ‖ kind ‖ diary public key,
//!                                     diary secret[32])
//! slot bytes:      u8 version (1) ‖ u8 kind ‖ [passphrase: u32 m_kib ‖ u32 t ‖ u32 p]
//!                  ‖ salt[16] ‖ nonce[24] ‖ wrapped[48]
//! ```
//!
//! Both kinds may wrap the same secret. A fresh phone that checks in before the
//! user chose a PIN holds the secret in an **unprotected** slot (kind 0, the raw
//! 32 bytes) until a PIN or PRF slot replaces it; UIs ask right after the first
//! check-in. Failed unlocks are counted in the store and, from the fourth on,
//! refused until a back-off has passed ([`unlock_delay_secs`]).

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use rand_core::CryptoRng;
use sha2::Sha256;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use crate::error::{ClientError, Result};

/// Sealed-box label of diary entries.
pub const DIARY_LABEL: &[u8] = b"quet/v1/client/diary";
/// Sealed-box label of alert details.
pub const ALERT_LABEL: &[u8] = b"quet/v1/client/alert";
/// HKDF info turning a WebAuthn PRF output into a key-encryption key.
pub const PRF_WRAP_LABEL: &[u8] = b"quet/v1/client/prf-wrap";
/// Prefix of the associated data of every wrapped diary secret.
pub const KEY_SLOT_AAD: &[u8] = b"quet/v1/client/keyslot";

/// Every label of this module (tested to be distinct and prefix-free).
pub const LABELS: &[&[u8]] = &[DIARY_LABEL, ALERT_LABEL, PRF_WRAP_LABEL, KEY_SLOT_AAD];

const SLOT_VERSION: u8 = 1;
const SALT_LEN: usize = 16;
const NONCE_LEN: usize = 24;
const WRAPPED_LEN: usize = 32 + 16;

/// Argon2id cost parameters of a passphrase slot (stored in the slot, so they can
/// be raised later without breaking old slots).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Argon2Settings {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Argon2Settings {
    /// The parameters new passphrase slots use: 64 MiB, 3 passes, 1 lane (RFC 9106's
    /// second recommended option with one lane, since a browser runs one thread).
    /// Measured by `cargo bench -p quet-client --bench unlock`.
    pub const DEFAULT: Argon2Settings = Argon2Settings {
        memory_kib: 64 * 1024,
        iterations: 3,
        parallelism: 1,
    };

    /// The smallest parameters a slot may carry: 8 MiB, 1 pass (refuses slots an
    /// attacker weakened to make guessing cheap).
    pub const MINIMUM: Argon2Settings = Argon2Settings {
        memory_kib: 8 * 1024,
        iterations: 1,
        parallelism: 1,
    };

    /// Largest accepted memory (1 GiB), so a corrupt slot cannot exhaust memory.
    pub const MAX_MEMORY_KIB: u32 = 1024 * 1024;

    fn check(self) -> Result<()> {
        let ok = self.memory_kib >= Self::MINIMUM.memory_kib
            && self.memory_kib <= Self::MAX_MEMORY_KIB
            && self.iterations >= 1
            && self.iterations <= 64
            && (1..=16).contains(&self.parallelism);
        if ok {
            Ok(())
        } else {
            Err(ClientError::Storage(
                "key slot: Argon2id parameters out of range".into(),
            ))
        }
    }

    /// Stretches `passphrase` with these parameters and `salt` to a 32-byte key.
    pub fn stretch(self, passphrase: &[u8], salt: &[u8]) -> Result<Zeroizing<[u8; 32]>> {
        self.check()?;
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, Some(32))
            .map_err(|e| ClientError::Storage(format!("Argon2id parameters: {e}")))?;
        let mut out = Zeroizing::new([0u8; 32]);
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(passphrase, salt, &mut *out)
            .map_err(|e| ClientError::Storage(format!("Argon2id: {e}")))?;
        Ok(out)
    }
}

/// The kind of a key slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SlotKind {
    /// The secret in the clear: a fresh phone before the user chose a PIN.
    Unprotected,
    /// Wrapped under a passphrase or PIN stretched with Argon2id.
    Passphrase,
    /// Wrapped under a WebAuthn PRF output.
    Prf,
}

impl SlotKind {
    fn byte(self) -> u8 {
        match self {
            SlotKind::Unprotected => 0,
            SlotKind::Passphrase => 1,
            SlotKind::Prf => 2,
        }
    }

    /// The store's metadata key of this slot.
    pub(crate) fn meta_key(self) -> &'static str {
        match self {
            SlotKind::Unprotected => "slot.unprotected",
            SlotKind::Passphrase => "slot.passphrase",
            SlotKind::Prf => "slot.prf",
        }
    }
}

/// A stored key slot.
#[derive(Clone, PartialEq, Eq)]
pub enum KeySlot {
    /// The raw diary secret (no protection yet).
    Unprotected {
        /// The secret.
        secret: Zeroizing<[u8; 32]>,
    },
    /// The secret wrapped under an Argon2id-stretched passphrase.
    Passphrase {
        /// Argon2id parameters.
        settings: Argon2Settings,
        /// Argon2id salt.
        salt: [u8; SALT_LEN],
        /// XChaCha20-Poly1305 nonce.
        nonce: [u8; NONCE_LEN],
        /// The wrapped secret and its tag.
        wrapped: [u8; WRAPPED_LEN],
    },
    /// The secret wrapped under a key derived from a WebAuthn PRF output.
    Prf {
        /// HKDF salt.
        salt: [u8; SALT_LEN],
        /// XChaCha20-Poly1305 nonce.
        nonce: [u8; NONCE_LEN],
        /// The wrapped secret and its tag.
        wrapped: [u8; WRAPPED_LEN],
    },
}

impl core::fmt::Debug for KeySlot {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "KeySlot({:?}, <redacted>)", self.kind())
    }
}

/// Why key-slot bytes were refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlotError {
    /// Shorter than its kind's layout.
    Truncated,
    /// Bytes after the layout.
    TrailingBytes,
    /// A version other than 1.
    UnsupportedVersion(u8),
    /// An unknown kind byte.
    UnknownKind(u8),
}

impl core::fmt::Display for SlotError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SlotError::Truncated => f.write_str("key slot truncated"),
            SlotError::TrailingBytes => f.write_str("bytes after the key slot"),
            SlotError::UnsupportedVersion(v) => write!(f, "key slot version {v} unsupported"),
            SlotError::UnknownKind(k) => write!(f, "unknown key slot kind {k}"),
        }
    }
}

impl std::error::Error for SlotError {}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take<const N: usize>(&mut self) -> core::result::Result<[u8; N], SlotError> {
        if self.0.len() < N {
            return Err(SlotError::Truncated);
        }
        let (head, rest) = self.0.split_at(N);
        self.0 = rest;
        head.try_into().map_err(|_| SlotError::Truncated)
    }

    fn u32(&mut self) -> core::result::Result<u32, SlotError> {
        self.take::<4>().map(u32::from_be_bytes)
    }

    fn finish(self) -> core::result::Result<(), SlotError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(SlotError::TrailingBytes)
        }
    }
}

impl KeySlot {
    /// The slot's kind.
    pub fn kind(&self) -> SlotKind {
        match self {
            KeySlot::Unprotected { .. } => SlotKind::Unprotected,
            KeySlot::Passphrase { .. } => SlotKind::Passphrase,
            KeySlot::Prf { .. } => SlotKind::Prf,
        }
    }

    /// The slot's bytes (module docs).
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(vec![SLOT_VERSION, self.kind().byte()]);
        match self {
            KeySlot::Unprotected { secret } => out.extend_from_slice(&secret[..]),
            KeySlot::Passphrase {
                settings,
                salt,
                nonce,
                wrapped,
            } => {
                out.extend_from_slice(&settings.memory_kib.to_be_bytes());
                out.extend_from_slice(&settings.iterations.to_be_bytes());
                out.extend_from_slice(&settings.parallelism.to_be_bytes());
                out.extend_from_slice(salt);
                out.extend_from_slice(nonce);
                out.extend_from_slice(wrapped);
            }
            KeySlot::Prf {
                salt,
                nonce,
                wrapped,
            } => {
                out.extend_from_slice(salt);
                out.extend_from_slice(nonce);
                out.extend_from_slice(wrapped);
            }
        }
        out
    }

    /// Parses slot bytes; never panics.
    pub fn from_bytes(bytes: &[u8]) -> core::result::Result<KeySlot, SlotError> {
        let mut r = Reader(bytes);
        let [version] = r.take::<1>()?;
        if version != SLOT_VERSION {
            return Err(SlotError::UnsupportedVersion(version));
        }
        let [kind] = r.take::<1>()?;
        let slot = match kind {
            0 => KeySlot::Unprotected {
                secret: Zeroizing::new(r.take::<32>()?),
            },
            1 => KeySlot::Passphrase {
                settings: Argon2Settings {
                    memory_kib: r.u32()?,
                    iterations: r.u32()?,
                    parallelism: r.u32()?,
                },
                salt: r.take()?,
                nonce: r.take()?,
                wrapped: r.take()?,
            },
            2 => KeySlot::Prf {
                salt: r.take()?,
                nonce: r.take()?,
                wrapped: r.take()?,
            },
            k => return Err(SlotError::UnknownKind(k)),
        };
        r.finish()?;
        Ok(slot)
    }

    fn aad(kind: SlotKind, public: &DiaryPublicKey) -> Vec<u8> {
        let mut aad = KEY_SLOT_AAD.to_vec();
        aad.push(kind.byte());
        aad.extend_from_slice(&public.0);
        aad
    }

    fn wrap<R: CryptoRng + ?Sized>(
        rng: &mut R,
        kek: &[u8; 32],
        kind: SlotKind,
        secret: &DiarySecret,
    ) -> Result<([u8; NONCE_LEN], [u8; WRAPPED_LEN])> {
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let ct = XChaCha20Poly1305::new(&Key::from(*kek))
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &secret.0.to_bytes(),
                    aad: &Self::aad(kind, &secret.public()),
                },
            )
            .map_err(|_| ClientError::Storage("key wrap failed".into()))?;
        let wrapped: [u8; WRAPPED_LEN] = ct
            .as_slice()
            .try_into()
            .map_err(|_| ClientError::Storage("key wrap length".into()))?;
        Ok((nonce, wrapped))
    }

    fn unwrap_with(
        kek: &[u8; 32],
        kind: SlotKind,
        nonce: &[u8; NONCE_LEN],
        wrapped: &[u8; WRAPPED_LEN],
        public: &DiaryPublicKey,
    ) -> Option<DiarySecret> {
        let plain = Zeroizing::new(
            XChaCha20Poly1305::new(&Key::from(*kek))
                .decrypt(
                    &XNonce::from(*nonce),
                    Payload {
                        msg: wrapped,
                        aad: &Self::aad(kind, public),
                    },
                )
                .ok()?,
        );
        let bytes: [u8; 32] = plain.as_slice().try_into().ok()?;
        DiarySecret::from_bytes_checked(bytes, public)
    }

    /// A passphrase slot wrapping `secret`.
    pub fn passphrase<R: CryptoRng + ?Sized>(
        rng: &mut R,
        settings: Argon2Settings,
        passphrase: &[u8],
        secret: &DiarySecret,
    ) -> Result<KeySlot> {
        let mut salt = [0u8; SALT_LEN];
        rng.fill_bytes(&mut salt);
        let kek = settings.stretch(passphrase, &salt)?;
        let (nonce, wrapped) = Self::wrap(rng, &kek, SlotKind::Passphrase, secret)?;
        Ok(KeySlot::Passphrase {
            settings,
            salt,
            nonce,
            wrapped,
        })
    }

    /// A PRF slot wrapping `secret`.
    pub fn prf<R: CryptoRng + ?Sized>(
        rng: &mut R,
        prf_output: &[u8; 32],
        secret: &DiarySecret,
    ) -> Result<KeySlot> {
        let mut salt = [0u8; SALT_LEN];
        rng.fill_bytes(&mut salt);
        let kek = prf_kek(&salt, prf_output)?;
        let (nonce, wrapped) = Self::wrap(rng, &kek, SlotKind::Prf, secret)?;
        Ok(KeySlot::Prf {
            salt,
            nonce,
            wrapped,
        })
    }

    /// Opens a passphrase slot; `None` for a wrong passphrase (or another kind).
    pub fn open_passphrase(
        &self,
        passphrase: &[u8],
        public: &DiaryPublicKey,
    ) -> Result<Option<DiarySecret>> {
        let KeySlot::Passphrase {
            settings,
            salt,
            nonce,
            wrapped,
        } = self
        else {
            return Ok(None);
        };
        let kek = settings.stretch(passphrase, salt)?;
        Ok(Self::unwrap_with(
            &kek,
            SlotKind::Passphrase,
            nonce,
            wrapped,
            public,
        ))
    }

    /// Opens a PRF slot; `None` for a wrong PRF output (or another kind).
    pub fn open_prf(
        &self,
        prf_output: &[u8; 32],
        public: &DiaryPublicKey,
    ) -> Result<Option<DiarySecret>> {
        let KeySlot::Prf {
            salt,
            nonce,
            wrapped,
        } = self
        else {
            return Ok(None);
        };
        let kek = prf_kek(salt, prf_output)?;
        Ok(Self::unwrap_with(
            &kek,
            SlotKind::Prf,
            nonce,
            wrapped,
            public,
        ))
    }
}

fn prf_kek(salt: &[u8; SALT_LEN], prf_output: &[u8; 32]) -> Result<Zeroizing<[u8; 32]>> {
    let mut kek = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(Some(salt), prf_output)
        .expand(PRF_WRAP_LABEL, &mut *kek)
        .map_err(|_| ClientError::Storage("HKDF length".into()))?;
    Ok(kek)
}

/// The diary public key (kept in the clear; check-in seals to it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiaryPublicKey(pub [u8; 32]);

/// The diary secret (X25519). Zeroized on drop; never printed.
#[derive(Clone)]
pub struct DiarySecret(StaticSecret);

impl core::fmt::Debug for DiarySecret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("DiarySecret(<redacted>)")
    }
}

impl DiarySecret {
    /// A fresh random secret.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> DiarySecret {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(&mut *bytes);
        DiarySecret(StaticSecret::from(*bytes))
    }

    /// The secret from bytes, if its public key is `public`.
    fn from_bytes_checked(bytes: [u8; 32], public: &DiaryPublicKey) -> Option<DiarySecret> {
        let secret = DiarySecret(StaticSecret::from(bytes));
        (secret.public() == *public).then_some(secret)
    }

    /// Its public key.
    pub fn public(&self) -> DiaryPublicKey {
        DiaryPublicKey(PublicKey::from(&self.0).to_bytes())
    }

    /// The unprotected slot holding this secret.
    pub fn unprotected_slot(&self) -> KeySlot {
        KeySlot::Unprotected {
            secret: Zeroizing::new(self.0.to_bytes()),
        }
    }

    /// Opens an unprotected slot.
    pub fn from_unprotected(slot: &KeySlot, public: &DiaryPublicKey) -> Option<DiarySecret> {
        match slot {
            KeySlot::Unprotected { secret } => Self::from_bytes_checked(**secret, public),
            _ => None,
        }
    }

    /// Opens something sealed to the diary key under `label` and `aad`.
    pub fn open(&self, label: &[u8], aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        quet_protocol::sealed_box::open(&self.0, label, aad, sealed, "diary")
            .map_err(|_| ClientError::LocalDecrypt)
    }
}

impl DiaryPublicKey {
    /// Seals `plaintext` to this key under `label` and `aad` (no secret needed).
    pub fn seal<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        label: &[u8],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>> {
        quet_protocol::sealed_box::seal(rng, &self.0, label, aad, plaintext)
            .map_err(|e| ClientError::Storage(format!("sealing to the diary key: {e}")))
    }
}

/// Seconds a phone must wait before the next unlock attempt after `failures`
/// consecutive wrong passphrases: none for the first three, then 30 s doubling up
/// to one hour. (An attacker with a copy of the store is slowed only by Argon2id;
/// this back-off protects the PIN against someone holding the phone.)
pub fn unlock_delay_secs(failures: u32) -> u64 {
    match failures {
        0..=2 => 0,
        n => 30u64.saturating_mul(1u64 << (n - 3).min(7)).min(3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quet_protocol::testing::test_rng;

    const CHEAP: Argon2Settings = Argon2Settings::MINIMUM;

    #[test]
    fn labels_are_versioned_distinct_and_prefix_free() {
        for (i, a) in LABELS.iter().enumerate() {
            assert!(a.starts_with(b"quet/v1/client/"));
            for (j, b) in LABELS.iter().enumerate() {
                if i != j {
                    assert!(!b.starts_with(a), "{:?} prefixes {:?}", a, b);
                }
            }
        }
    }

    #[test]
    fn slots_round_trip_and_open_only_with_their_secret() {
        let mut rng = test_rng(9);
        let secret = DiarySecret::generate(&mut rng);
        let public = secret.public();
        let pass = KeySlot::passphrase(&mut rng, CHEAP, b"246810", &secret).unwrap();
        let prf = KeySlot::prf(&mut rng, &[7; 32], &secret).unwrap();
        for slot in [&pass, &prf, &secret.unprotected_slot()] {
            let bytes = slot.to_bytes();
            assert_eq!(&KeySlot::from_bytes(&bytes).unwrap(), slot);
            assert_eq!(
                KeySlot::from_bytes(&bytes[..bytes.len() - 1]),
                Err(SlotError::Truncated)
            );
            let mut longer = bytes.to_vec();
            longer.push(0);
            assert_eq!(KeySlot::from_bytes(&longer), Err(SlotError::TrailingBytes));
        }
        let opened = pass.open_passphrase(b"246810", &public).unwrap().unwrap();
        assert_eq!(opened.public(), public);
        assert!(pass.open_passphrase(b"246811", &public).unwrap().is_none());
        assert!(prf.open_prf(&[7; 32], &public).unwrap().is_some());
        assert!(prf.open_prf(&[8; 32], &public).unwrap().is_none());
        // A slot moved to another diary key does not open (the key is in the aad).
        let other = DiarySecret::generate(&mut rng).public();
        assert!(pass.open_passphrase(b"246810", &other).unwrap().is_none());
        assert_eq!(format!("{secret:?}"), "DiarySecret(<redacted>)");
        assert_eq!(format!("{pass:?}"), "KeySlot(Passphrase, <redacted>)");
    }

    #[test]
    fn weakened_argon2_parameters_are_refused() {
        let weak = Argon2Settings {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        };
        assert!(weak.stretch(b"1234", &[0; 16]).is_err());
    }

    #[test]
    fn back_off_starts_at_the_fourth_failure_and_is_capped() {
        assert_eq!(unlock_delay_secs(2), 0);
        assert_eq!(unlock_delay_secs(3), 30);
        assert_eq!(unlock_delay_secs(4), 60);
        assert_eq!(unlock_delay_secs(40), 3600);
    }
}
