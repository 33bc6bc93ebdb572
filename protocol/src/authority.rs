//! Health authorities: the descriptor that phones and venues pin, and the HA's keys.
//!
//! An [`AuthorityDescriptor`] names an authority (id, name, base URL) and lists its
//! Ed25519 bulletin-signing keys and X25519 capsule keys, each with a one-byte key
//! id so keys can rotate: a new key is listed before it is used, and old keys stay
//! listed while bulletins signed with them are live. The descriptor is signed by one
//! of its own signing keys; an update is accepted only if signed by a key the pinned
//! descriptor already lists ([`AuthorityDescriptor::verify_update`]).

use core::fmt;

use data_encoding::BASE32_NOPAD;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rand_core::CryptoRng;
use x25519_dalek::{PublicKey, StaticSecret};

use crate::codec::{Reader, Writer, check_len};
use crate::error::{Error, Result};
use crate::kdf::{DESCRIPTOR_SIGNATURE_CONTEXT, FINGERPRINT_CONTEXT, sha256};

/// Descriptor wire version.
pub const DESCRIPTOR_VERSION: u8 = 1;
/// Longest authority name, in bytes.
pub const MAX_AUTHORITY_NAME: usize = 128;
/// Longest base URL, in bytes.
pub const MAX_BASE_URL: usize = 200;
/// Most keys of one kind a descriptor lists.
pub const MAX_KEYS: usize = 8;

/// A health authority's short identifier, named in every code and bulletin.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AuthorityId(pub u32);

impl fmt::Display for AuthorityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}", self.0)
    }
}

/// A listed Ed25519 bulletin-signing key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigningKeyEntry {
    /// Key id named by bulletins.
    pub key_id: u8,
    /// The public key.
    pub key: VerifyingKey,
}

/// A listed X25519 capsule key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapsuleKeyEntry {
    /// Key id named by capsules and envelopes.
    pub key_id: u8,
    /// The public key.
    pub key: [u8; 32],
}

/// What phones and venues pin about an authority.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorityDescriptor {
    /// The authority's id.
    pub id: AuthorityId,
    /// Human name, e.g. "Sở Y tế Hà Nội / Hanoi Department of Health".
    pub name: String,
    /// Base URL of the diagnosis server, e.g. `https://quet.soyte.hanoi.gov.vn`.
    pub base_url: String,
    /// Bulletin-signing keys, old and new.
    pub signing_keys: Vec<SigningKeyEntry>,
    /// Capsule keys, old and new.
    pub capsule_keys: Vec<CapsuleKeyEntry>,
    /// The signing key id bulletins are signed with now.
    pub current_signing_key: u8,
    /// The capsule key id venues and phones seal to now.
    pub current_capsule_key: u8,
}

impl AuthorityDescriptor {
    /// The signing key with this id.
    pub fn signing_key(&self, key_id: u8) -> Result<&VerifyingKey> {
        self.signing_keys
            .iter()
            .find(|k| k.key_id == key_id)
            .map(|k| &k.key)
            .ok_or(Error::UnknownKeyId {
                what: "bulletin signing",
                key_id,
            })
    }

    /// The capsule key with this id.
    pub fn capsule_key(&self, key_id: u8) -> Result<&[u8; 32]> {
        self.capsule_keys
            .iter()
            .find(|k| k.key_id == key_id)
            .map(|k| &k.key)
            .ok_or(Error::UnknownKeyId {
                what: "capsule",
                key_id,
            })
    }

    /// The capsule key venues and phones should seal to now.
    pub fn current_capsule(&self) -> Result<(u8, &[u8; 32])> {
        let id = self.current_capsule_key;
        Ok((id, self.capsule_key(id)?))
    }

    fn check(&self) -> Result<()> {
        check_len("authority name", &self.name, MAX_AUTHORITY_NAME)?;
        check_len("base URL", &self.base_url, MAX_BASE_URL)?;
        if self.signing_keys.is_empty() || self.signing_keys.len() > MAX_KEYS {
            return Err(Error::InvalidField {
                field: "signing keys",
            });
        }
        if self.capsule_keys.is_empty() || self.capsule_keys.len() > MAX_KEYS {
            return Err(Error::InvalidField {
                field: "capsule keys",
            });
        }
        let mut ids: Vec<u8> = self.signing_keys.iter().map(|k| k.key_id).collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.len() != self.signing_keys.len() {
            return Err(Error::InvalidField {
                field: "duplicate signing key id",
            });
        }
        let mut ids: Vec<u8> = self.capsule_keys.iter().map(|k| k.key_id).collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.len() != self.capsule_keys.len() {
            return Err(Error::InvalidField {
                field: "duplicate capsule key id",
            });
        }
        self.signing_key(self.current_signing_key)?;
        self.capsule_key(self.current_capsule_key)?;
        if !(self.base_url.starts_with("https://") || self.base_url.starts_with("http://")) {
            return Err(Error::InvalidField { field: "base URL" });
        }
        Ok(())
    }

    /// The unsigned body bytes.
    fn body_bytes(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(512);
        w.u8(DESCRIPTOR_VERSION)
            .u32(self.id.0)
            .str8(&self.name)
            .str8(&self.base_url);
        w.u8(u8::try_from(self.signing_keys.len()).unwrap_or(u8::MAX));
        for k in &self.signing_keys {
            w.u8(k.key_id).bytes(k.key.as_bytes());
        }
        w.u8(u8::try_from(self.capsule_keys.len()).unwrap_or(u8::MAX));
        for k in &self.capsule_keys {
            w.u8(k.key_id).bytes(&k.key);
        }
        w.u8(self.current_signing_key).u8(self.current_capsule_key);
        w.into_vec()
    }

    /// Signs the descriptor with `signer` (one of the listed keys, `signer_id`).
    pub fn sign(&self, signer_id: u8, signer: &SigningKey) -> Result<Vec<u8>> {
        self.check()?;
        if self.signing_key(signer_id)? != &signer.verifying_key() {
            return Err(Error::KeyMismatch {
                what: "descriptor signer",
            });
        }
        let mut bytes = self.body_bytes();
        bytes.push(signer_id);
        let sig = signer.sign(&signed_message(&bytes));
        bytes.extend_from_slice(&sig.to_bytes());
        Ok(bytes)
    }

    /// Parses a signed descriptor and checks it is self-consistent and signed by one
    /// of its own keys. Pinning it is the caller's decision (compare fingerprints).
    pub fn decode(bytes: &[u8]) -> Result<AuthorityDescriptor> {
        let (desc, signer_id, signed, sig) = Self::parse(bytes)?;
        let key = desc.signing_key(signer_id)?;
        key.verify_strict(&signed_message(signed), &sig)
            .map_err(|_| Error::BadSignature { what: "descriptor" })?;
        Ok(desc)
    }

    /// Accepts `bytes` as a new version of this (pinned) descriptor only if it has the
    /// same id and is signed by a key this descriptor lists.
    pub fn verify_update(&self, bytes: &[u8]) -> Result<AuthorityDescriptor> {
        let (desc, signer_id, signed, sig) = Self::parse(bytes)?;
        if desc.id != self.id {
            return Err(Error::UnknownAuthority(desc.id));
        }
        let key = self.signing_key(signer_id)?;
        key.verify_strict(&signed_message(signed), &sig)
            .map_err(|_| Error::BadSignature { what: "descriptor" })?;
        Ok(desc)
    }

    fn parse(bytes: &[u8]) -> Result<(AuthorityDescriptor, u8, &[u8], Signature)> {
        const WHAT: &str = "authority descriptor";
        if bytes.len() > 4096 {
            return Err(Error::TooLong {
                what: WHAT,
                max: 4096,
            });
        }
        let mut r = Reader::new(bytes, WHAT);
        let version = r.u8()?;
        if version != DESCRIPTOR_VERSION {
            return Err(Error::UnsupportedVersion {
                what: WHAT,
                version,
            });
        }
        let id = AuthorityId(r.u32()?);
        let name = r.str8("authority name", MAX_AUTHORITY_NAME)?;
        let base_url = r.str8("base URL", MAX_BASE_URL)?;
        let n = usize::from(r.u8()?);
        if n > MAX_KEYS {
            return Err(Error::TooLong {
                what: "signing key list",
                max: MAX_KEYS,
            });
        }
        let mut signing_keys = Vec::with_capacity(n);
        for _ in 0..n {
            let key_id = r.u8()?;
            let key = VerifyingKey::from_bytes(&r.array()?).map_err(|_| Error::InvalidField {
                field: "signing key",
            })?;
            signing_keys.push(SigningKeyEntry { key_id, key });
        }
        let n = usize::from(r.u8()?);
        if n > MAX_KEYS {
            return Err(Error::TooLong {
                what: "capsule key list",
                max: MAX_KEYS,
            });
        }
        let mut capsule_keys = Vec::with_capacity(n);
        for _ in 0..n {
            let key_id = r.u8()?;
            let key = r.array()?;
            capsule_keys.push(CapsuleKeyEntry { key_id, key });
        }
        let current_signing_key = r.u8()?;
        let current_capsule_key = r.u8()?;
        let signer_id = r.u8()?;
        let signed_len = bytes.len() - r.remaining();
        let sig = Signature::from_bytes(&r.array()?);
        r.finish()?;
        let desc = AuthorityDescriptor {
            id,
            name,
            base_url,
            signing_keys,
            capsule_keys,
            current_signing_key,
            current_capsule_key,
        };
        desc.check()?;
        let signed = bytes
            .get(..signed_len)
            .ok_or(Error::Truncated { what: WHAT })?;
        Ok((desc, signer_id, signed, sig))
    }

    /// A fingerprint for people to compare over a second channel: SHA-256 over the id
    /// and every key, first 20 bytes, base32 in groups of four (e.g. `ABCD-EFGH-…`).
    pub fn fingerprint(&self) -> String {
        let mut w = Writer::with_capacity(512);
        w.u32(self.id.0);
        for k in &self.signing_keys {
            w.u8(b'S').u8(k.key_id).bytes(k.key.as_bytes());
        }
        for k in &self.capsule_keys {
            w.u8(b'C').u8(k.key_id).bytes(&k.key);
        }
        let digest = sha256(&[FINGERPRINT_CONTEXT, w.as_slice()]);
        let text = BASE32_NOPAD.encode(digest.get(..20).unwrap_or_default());
        text.as_bytes()
            .chunks(4)
            .map(|c| core::str::from_utf8(c).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("-")
    }
}

fn signed_message(bytes: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(DESCRIPTOR_SIGNATURE_CONTEXT.len() + bytes.len());
    m.extend_from_slice(DESCRIPTOR_SIGNATURE_CONTEXT);
    m.extend_from_slice(bytes);
    m
}

/// Looks up authorities by id: the set a phone or venue has pinned.
pub trait AuthorityLookup {
    /// The pinned descriptor for `id`, if any.
    fn authority(&self, id: AuthorityId) -> Option<&AuthorityDescriptor>;
}

impl AuthorityLookup for AuthorityDescriptor {
    fn authority(&self, id: AuthorityId) -> Option<&AuthorityDescriptor> {
        (self.id == id).then_some(self)
    }
}

impl AuthorityLookup for [AuthorityDescriptor] {
    fn authority(&self, id: AuthorityId) -> Option<&AuthorityDescriptor> {
        self.iter().find(|d| d.id == id)
    }
}

impl AuthorityLookup for Vec<AuthorityDescriptor> {
    fn authority(&self, id: AuthorityId) -> Option<&AuthorityDescriptor> {
        self.as_slice().authority(id)
    }
}

/// The health authority's secret keys. Both dalek key types zeroize on drop.
pub struct AuthorityKeys {
    /// Signing keys by id.
    pub signing: Vec<(u8, SigningKey)>,
    /// Capsule secrets by id.
    pub capsule: Vec<(u8, StaticSecret)>,
}

impl fmt::Debug for AuthorityKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorityKeys")
            .field(
                "signing_key_ids",
                &self.signing.iter().map(|k| k.0).collect::<Vec<_>>(),
            )
            .field(
                "capsule_key_ids",
                &self.capsule.iter().map(|k| k.0).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl AuthorityKeys {
    /// Fresh keys with id 1 of each kind.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> AuthorityKeys {
        let mut seed = zeroize::Zeroizing::new([0u8; 32]);
        rng.fill_bytes(seed.as_mut());
        let signing = SigningKey::from_bytes(&seed);
        let capsule = StaticSecret::random_from_rng(rng);
        AuthorityKeys {
            signing: vec![(1, signing)],
            capsule: vec![(1, capsule)],
        }
    }

    /// The signing key with this id.
    pub fn signing_key(&self, key_id: u8) -> Result<&SigningKey> {
        self.signing
            .iter()
            .find(|k| k.0 == key_id)
            .map(|k| &k.1)
            .ok_or(Error::UnknownKeyId {
                what: "bulletin signing",
                key_id,
            })
    }

    /// The capsule secret with this id.
    pub fn capsule_secret(&self, key_id: u8) -> Result<&StaticSecret> {
        self.capsule
            .iter()
            .find(|k| k.0 == key_id)
            .map(|k| &k.1)
            .ok_or(Error::UnknownKeyId {
                what: "capsule",
                key_id,
            })
    }

    /// A descriptor listing all these keys, current = the highest ids.
    pub fn descriptor(&self, id: AuthorityId, name: &str, base_url: &str) -> AuthorityDescriptor {
        AuthorityDescriptor {
            id,
            name: name.to_owned(),
            base_url: base_url.to_owned(),
            signing_keys: self
                .signing
                .iter()
                .map(|(key_id, k)| SigningKeyEntry {
                    key_id: *key_id,
                    key: k.verifying_key(),
                })
                .collect(),
            capsule_keys: self
                .capsule
                .iter()
                .map(|(key_id, k)| CapsuleKeyEntry {
                    key_id: *key_id,
                    key: PublicKey::from(k).to_bytes(),
                })
                .collect(),
            current_signing_key: self.signing.iter().map(|k| k.0).max().unwrap_or(0),
            current_capsule_key: self.capsule.iter().map(|k| k.0).max().unwrap_or(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::test_rng;

    fn sample() -> (AuthorityKeys, AuthorityDescriptor) {
        let keys = AuthorityKeys::generate(&mut test_rng(1));
        let d = keys.descriptor(AuthorityId(7), "Sở Y tế Hà Nội", "https://quet.example");
        (keys, d)
    }

    #[test]
    fn descriptor_round_trips_and_verifies() {
        let (keys, d) = sample();
        let bytes = d.sign(1, keys.signing_key(1).unwrap()).unwrap();
        assert_eq!(AuthorityDescriptor::decode(&bytes).unwrap(), d);
    }

    #[test]
    fn rejects_descriptor_with_flipped_bit() {
        let (keys, d) = sample();
        let mut bytes = d.sign(1, keys.signing_key(1).unwrap()).unwrap();
        bytes[10] ^= 1;
        assert!(AuthorityDescriptor::decode(&bytes).is_err());
    }

    #[test]
    fn update_must_be_signed_by_a_pinned_key() {
        let (keys, d) = sample();
        // A rotation: key 2 is added and signed by old key 1: accepted.
        let mut rotated_keys = AuthorityKeys::generate(&mut test_rng(2));
        rotated_keys.signing[0].0 = 2;
        let mut new = d.clone();
        new.signing_keys.push(SigningKeyEntry {
            key_id: 2,
            key: rotated_keys.signing[0].1.verifying_key(),
        });
        new.current_signing_key = 2;
        let bytes = new.sign(1, keys.signing_key(1).unwrap()).unwrap();
        assert_eq!(d.verify_update(&bytes).unwrap(), new);
        // The same update signed only by the new key is not accepted by the old pin.
        let bytes = new.sign(2, &rotated_keys.signing[0].1).unwrap();
        assert!(matches!(
            d.verify_update(&bytes),
            Err(Error::UnknownKeyId { .. })
        ));
        // An impostor authority with the same id and its own keys is refused.
        let (other_keys, _) = (AuthorityKeys::generate(&mut test_rng(3)), ());
        let impostor = other_keys.descriptor(AuthorityId(7), "fake", "https://evil.example");
        let bytes = impostor
            .sign(1, other_keys.signing_key(1).unwrap())
            .unwrap();
        assert!(matches!(
            d.verify_update(&bytes),
            Err(Error::BadSignature { .. })
        ));
    }

    #[test]
    fn fingerprint_changes_with_keys_and_is_grouped() {
        let (_, d) = sample();
        let (_, mut e) = sample();
        let fp = d.fingerprint();
        assert_eq!(fp.len(), 32 + 7);
        assert_eq!(fp, e.fingerprint());
        e.capsule_keys[0].key[0] ^= 1;
        assert_ne!(fp, e.fingerprint());
    }
}
