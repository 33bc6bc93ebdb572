//! Health authorities: the descriptor that phones and venues pin, and the HA's keys.
//!
//! An [`AuthorityDescriptor`] (version 2) names an authority (id, name, base URL, UTC
//! offset), carries a **serial** that must increase with every update, the offline
//! **root key** that signs descriptors, the Ed25519 bulletin-signing keys (each with
//! a one-byte id) and the X25519 **capsule keys**, each with the period during which
//! venues and phones seal to it. Capsule keys rotate on a schedule (weekly by
//! default, announced in advance); their secrets are destroyed
//! [`CAPSULE_SECRET_RETENTION_SECS`] after their period ends, which gives forward
//! secrecy to old codes and envelopes.
//!
//! A phone pins a descriptor after comparing its fingerprint (id, root key, base URL)
//! over a second channel. An update is accepted ([`AuthorityDescriptor::verify_update`])
//! only with the same id, a higher serial, and a signature of the pinned root key
//! (directly, or as the cross-signature of a root-key rotation).

use core::fmt;

use data_encoding::BASE32_NOPAD;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rand_core::CryptoRng;
use x25519_dalek::{PublicKey, StaticSecret};

use crate::codec::{Reader, Writer, check_len};
use crate::error::{Error, Result};
use crate::kdf::{DESCRIPTOR_SIGNATURE_V2_CONTEXT, FINGERPRINT_V2_CONTEXT, sha256};
use crate::time::{DAY_SECS, UnixTime, UtcOffset};

/// Descriptor wire version.
pub const DESCRIPTOR_VERSION: u8 = 2;
/// Longest authority name, in bytes.
pub const MAX_AUTHORITY_NAME: usize = 128;
/// Longest base URL, in bytes.
pub const MAX_BASE_URL: usize = 200;
/// Most bulletin-signing keys a descriptor lists.
pub const MAX_KEYS: usize = 8;
/// Most capsule keys a descriptor lists (past periods still held, the current one,
/// and those announced in advance).
pub const MAX_CAPSULE_KEYS: usize = 32;
/// Largest encoded descriptor.
pub const MAX_DESCRIPTOR_LEN: usize = 4096;
/// Default capsule-key period: one week.
pub const CAPSULE_PERIOD_SECS: u64 = 7 * DAY_SECS;
/// How long a capsule secret is kept after its period ends: the longest phone
/// retention (21 days) plus the server's deadline for reviewing an upload (3 days).
/// After that no code or envelope sealed to it can still be asked for, and the
/// secret is destroyed.
pub const CAPSULE_SECRET_RETENTION_SECS: u64 = 24 * DAY_SECS;

const FLAG_CROSS_SIGNED: u8 = 1;

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
    /// Key id named by bulletins, heads and certificates.
    pub key_id: u8,
    /// The public key.
    pub key: VerifyingKey,
}

/// A listed X25519 capsule key and the period venues and phones seal to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapsuleKeyEntry {
    /// Key id named by capsules and envelopes.
    pub key_id: u8,
    /// The public key.
    pub key: [u8; 32],
    /// Start of the sealing period (inclusive).
    pub not_before: UnixTime,
    /// End of the sealing period (exclusive).
    pub not_after: UnixTime,
}

impl CapsuleKeyEntry {
    /// Whether `t` lies in the sealing period.
    pub fn covers(&self, t: UnixTime) -> bool {
        self.not_before <= t && t < self.not_after
    }
}

/// Whether a base URL may be pinned: `https://`, or `http://` to a loopback host
/// (tests and local demos) only.
pub fn base_url_allowed(url: &str) -> bool {
    if url.starts_with("https://") {
        return url.len() > "https://".len();
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let host_port = rest.split('/').next().unwrap_or_default();
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    host == "localhost"
        || host
            .parse::<core::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// What phones and venues pin about an authority.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorityDescriptor {
    /// The authority's id.
    pub id: AuthorityId,
    /// Serial number; every update has a higher one.
    pub serial: u64,
    /// Human name, e.g. "Sở Y tế Hà Nội / Hanoi Department of Health".
    pub name: String,
    /// Base URL of the diagnosis server, e.g. `https://quet.soyte.hanoi.gov.vn`.
    pub base_url: String,
    /// The authority's local time (posters are valid per local day).
    pub utc_offset: UtcOffset,
    /// The offline root key that signs descriptors.
    pub root_key: VerifyingKey,
    /// Bulletin-signing keys, old and new.
    pub signing_keys: Vec<SigningKeyEntry>,
    /// The signing key id bulletins and heads are signed with now.
    pub current_signing_key: u8,
    /// Capsule keys with their sealing periods.
    pub capsule_keys: Vec<CapsuleKeyEntry>,
}

/// A parsed descriptor before its signatures are checked.
struct Parsed<'a> {
    desc: AuthorityDescriptor,
    signed: &'a [u8],
    root_signature: Signature,
    cross_signature: Option<Signature>,
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

    /// The capsule key entry with this id.
    pub fn capsule_entry(&self, key_id: u8) -> Result<&CapsuleKeyEntry> {
        self.capsule_keys
            .iter()
            .find(|k| k.key_id == key_id)
            .ok_or(Error::UnknownKeyId {
                what: "capsule",
                key_id,
            })
    }

    /// The capsule key with this id.
    pub fn capsule_key(&self, key_id: u8) -> Result<&[u8; 32]> {
        self.capsule_entry(key_id).map(|k| &k.key)
    }

    /// The capsule key to seal to at time `t`: among the keys whose period covers
    /// `t`, the one whose period began last (then the highest id).
    pub fn capsule_for(&self, t: UnixTime) -> Result<(u8, &[u8; 32])> {
        self.capsule_keys
            .iter()
            .filter(|k| k.covers(t))
            .max_by_key(|k| (k.not_before, k.key_id))
            .map(|k| (k.key_id, &k.key))
            .ok_or(Error::NoCapsuleKey { at: t })
    }

    fn check(&self) -> Result<()> {
        check_len("authority name", &self.name, MAX_AUTHORITY_NAME)?;
        check_len("base URL", &self.base_url, MAX_BASE_URL)?;
        self.utc_offset.check()?;
        if self.signing_keys.is_empty() || self.signing_keys.len() > MAX_KEYS {
            return Err(Error::InvalidField {
                field: "signing keys",
            });
        }
        if self.capsule_keys.is_empty() || self.capsule_keys.len() > MAX_CAPSULE_KEYS {
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
        if self
            .capsule_keys
            .iter()
            .any(|k| k.not_before >= k.not_after)
        {
            return Err(Error::InvalidField {
                field: "capsule key period",
            });
        }
        self.signing_key(self.current_signing_key)?;
        if !base_url_allowed(&self.base_url) {
            return Err(Error::InvalidField { field: "base URL" });
        }
        Ok(())
    }

    /// The bytes covered by the signatures (everything before them, flags included).
    fn body_bytes(&self, cross_signed: bool) -> Vec<u8> {
        let mut w = Writer::with_capacity(1024);
        w.u8(DESCRIPTOR_VERSION)
            .u32(self.id.0)
            .u64(self.serial)
            .str8(&self.name)
            .str8(&self.base_url)
            .u16(self.utc_offset.0.cast_unsigned())
            .bytes(self.root_key.as_bytes());
        w.u8(u8::try_from(self.signing_keys.len()).unwrap_or(u8::MAX));
        for k in &self.signing_keys {
            w.u8(k.key_id).bytes(k.key.as_bytes());
        }
        w.u8(self.current_signing_key);
        w.u8(u8::try_from(self.capsule_keys.len()).unwrap_or(u8::MAX));
        for k in &self.capsule_keys {
            w.u8(k.key_id)
                .bytes(&k.key)
                .u64(k.not_before.0)
                .u64(k.not_after.0);
        }
        w.u8(if cross_signed { FLAG_CROSS_SIGNED } else { 0 });
        w.into_vec()
    }

    /// Signs the descriptor with the root key it names; with `previous_root`, also
    /// cross-signs it so that phones pinned to the previous root accept the rotation.
    pub fn sign(&self, root: &SigningKey, previous_root: Option<&SigningKey>) -> Result<Vec<u8>> {
        self.check()?;
        if root.verifying_key() != self.root_key {
            return Err(Error::KeyMismatch {
                what: "descriptor root key",
            });
        }
        let mut bytes = self.body_bytes(previous_root.is_some());
        let message = signed_message(&bytes);
        let root_sig = root.sign(&message);
        bytes.extend_from_slice(&root_sig.to_bytes());
        if let Some(prev) = previous_root {
            bytes.extend_from_slice(&prev.sign(&message).to_bytes());
        }
        Ok(bytes)
    }

    /// Parses a signed descriptor and checks it is self-consistent and signed by its
    /// own root key. Pinning it is the caller's decision (compare fingerprints).
    pub fn decode(bytes: &[u8]) -> Result<AuthorityDescriptor> {
        let parsed = Self::parse(bytes)?;
        parsed
            .desc
            .root_key
            .verify_strict(&signed_message(parsed.signed), &parsed.root_signature)
            .map_err(|_| Error::BadSignature { what: "descriptor" })?;
        Ok(parsed.desc)
    }

    /// Accepts `bytes` as a new version of this (pinned) descriptor only if it
    /// verifies by itself, has the same id, a higher serial (the same serial only
    /// with identical content), and is signed by this descriptor's root key, either
    /// as its own root or through the cross-signature of a root rotation.
    pub fn verify_update(&self, bytes: &[u8]) -> Result<AuthorityDescriptor> {
        let parsed = Self::parse(bytes)?;
        let message = signed_message(parsed.signed);
        let desc = parsed.desc;
        desc.root_key
            .verify_strict(&message, &parsed.root_signature)
            .map_err(|_| Error::BadSignature { what: "descriptor" })?;
        if desc.id != self.id {
            return Err(Error::UnknownAuthority(desc.id));
        }
        if desc.serial < self.serial || (desc.serial == self.serial && desc != *self) {
            return Err(Error::DescriptorRollback {
                pinned: self.serial,
                offered: desc.serial,
            });
        }
        if desc.root_key != self.root_key {
            let cross = parsed.cross_signature.ok_or(Error::BadSignature {
                what: "descriptor root rotation",
            })?;
            self.root_key
                .verify_strict(&message, &cross)
                .map_err(|_| Error::BadSignature {
                    what: "descriptor root rotation",
                })?;
        }
        Ok(desc)
    }

    fn parse(bytes: &[u8]) -> Result<Parsed<'_>> {
        const WHAT: &str = "authority descriptor";
        if bytes.len() > MAX_DESCRIPTOR_LEN {
            return Err(Error::TooLong {
                what: WHAT,
                max: MAX_DESCRIPTOR_LEN,
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
        let serial = r.u64()?;
        let name = r.str8("authority name", MAX_AUTHORITY_NAME)?;
        let base_url = r.str8("base URL", MAX_BASE_URL)?;
        let utc_offset = UtcOffset(r.u16()?.cast_signed());
        let root_key = VerifyingKey::from_bytes(&r.array()?)
            .map_err(|_| Error::InvalidField { field: "root key" })?;
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
        let current_signing_key = r.u8()?;
        let n = usize::from(r.u8()?);
        if n > MAX_CAPSULE_KEYS {
            return Err(Error::TooLong {
                what: "capsule key list",
                max: MAX_CAPSULE_KEYS,
            });
        }
        let mut capsule_keys = Vec::with_capacity(n);
        for _ in 0..n {
            capsule_keys.push(CapsuleKeyEntry {
                key_id: r.u8()?,
                key: r.array()?,
                not_before: UnixTime(r.u64()?),
                not_after: UnixTime(r.u64()?),
            });
        }
        let flags = r.u8()?;
        if flags & !FLAG_CROSS_SIGNED != 0 {
            return Err(Error::InvalidField {
                field: "descriptor flags",
            });
        }
        let signed_len = bytes.len() - r.remaining();
        let root_signature = Signature::from_bytes(&r.array()?);
        let cross_signature = if flags & FLAG_CROSS_SIGNED != 0 {
            Some(Signature::from_bytes(&r.array()?))
        } else {
            None
        };
        r.finish()?;
        let desc = AuthorityDescriptor {
            id,
            serial,
            name,
            base_url,
            utc_offset,
            root_key,
            signing_keys,
            current_signing_key,
            capsule_keys,
        };
        desc.check()?;
        let signed = bytes
            .get(..signed_len)
            .ok_or(Error::Truncated { what: WHAT })?;
        Ok(Parsed {
            desc,
            signed,
            root_signature,
            cross_signature,
        })
    }

    /// A fingerprint for people to compare over a second channel: SHA-256 over the
    /// id, the root key and the base URL, first 20 bytes, base32 in groups of four
    /// (e.g. `ABCD-EFGH-…`). Rotating signing or capsule keys does not change it;
    /// a new root key or base URL does.
    pub fn fingerprint(&self) -> String {
        let mut w = Writer::with_capacity(256);
        w.u32(self.id.0)
            .bytes(self.root_key.as_bytes())
            .str8(&self.base_url);
        let digest = sha256(&[FINGERPRINT_V2_CONTEXT, w.as_slice()]);
        let text = BASE32_NOPAD.encode(digest.get(..20).unwrap_or_default());
        text.as_bytes()
            .chunks(4)
            .map(|c| core::str::from_utf8(c).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("-")
    }
}

fn signed_message(bytes: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(DESCRIPTOR_SIGNATURE_V2_CONTEXT.len() + bytes.len());
    m.extend_from_slice(DESCRIPTOR_SIGNATURE_V2_CONTEXT);
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

/// One capsule secret with its sealing period. Zeroized on drop (dalek).
pub struct CapsuleSecret {
    /// Key id.
    pub key_id: u8,
    /// The X25519 secret.
    pub secret: StaticSecret,
    /// Start of the sealing period.
    pub not_before: UnixTime,
    /// End of the sealing period (exclusive).
    pub not_after: UnixTime,
}

impl CapsuleSecret {
    /// When this secret must be destroyed: the period's end plus
    /// [`CAPSULE_SECRET_RETENTION_SECS`].
    pub fn destroy_after(&self) -> UnixTime {
        self.not_after.saturating_add(CAPSULE_SECRET_RETENTION_SECS)
    }

    /// The public entry for a descriptor.
    pub fn entry(&self) -> CapsuleKeyEntry {
        CapsuleKeyEntry {
            key_id: self.key_id,
            key: PublicKey::from(&self.secret).to_bytes(),
            not_before: self.not_before,
            not_after: self.not_after,
        }
    }
}

/// The health authority's secret keys. The dalek key types zeroize on drop. The root
/// key is kept offline: a running server has `root = None` and serves the
/// descriptor it was given.
pub struct AuthorityKeys {
    /// The root key's public half.
    pub root_public: VerifyingKey,
    /// The root key, when this process holds it (key ceremonies, tests).
    pub root: Option<SigningKey>,
    /// Signing keys by id.
    pub signing: Vec<(u8, SigningKey)>,
    /// Capsule secrets with their periods.
    pub capsule: Vec<CapsuleSecret>,
}

impl fmt::Debug for AuthorityKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorityKeys")
            .field("root_held", &self.root.is_some())
            .field(
                "signing_key_ids",
                &self.signing.iter().map(|k| k.0).collect::<Vec<_>>(),
            )
            .field(
                "capsule_key_ids",
                &self.capsule.iter().map(|k| k.key_id).collect::<Vec<_>>(),
            )
            .finish()
    }
}

fn random_signing_key<R: CryptoRng + ?Sized>(rng: &mut R) -> SigningKey {
    let mut seed = zeroize::Zeroizing::new([0u8; 32]);
    rng.fill_bytes(seed.as_mut());
    SigningKey::from_bytes(&seed)
}

impl AuthorityKeys {
    /// Fresh keys: a root key, signing key 1, and capsule key 1 valid for all time
    /// (tests and examples; a real authority uses [`AuthorityKeys::generate_scheduled`]).
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> AuthorityKeys {
        let root = random_signing_key(rng);
        let signing = random_signing_key(rng);
        let capsule = StaticSecret::random_from_rng(&mut *rng);
        AuthorityKeys {
            root_public: root.verifying_key(),
            root: Some(root),
            signing: vec![(1, signing)],
            capsule: vec![CapsuleSecret {
                key_id: 1,
                secret: capsule,
                not_before: UnixTime(0),
                not_after: UnixTime(u64::MAX),
            }],
        }
    }

    /// Fresh keys with `periods` weekly capsule keys, the first beginning at
    /// `start` (ids 1, 2, …).
    pub fn generate_scheduled<R: CryptoRng + ?Sized>(
        rng: &mut R,
        start: UnixTime,
        periods: u8,
    ) -> AuthorityKeys {
        let mut keys = AuthorityKeys::generate(rng);
        keys.capsule.clear();
        let mut nb = start;
        for _ in 0..periods.max(1) {
            keys.add_capsule_period(rng, nb, CAPSULE_PERIOD_SECS);
            nb = nb.saturating_add(CAPSULE_PERIOD_SECS);
        }
        keys
    }

    /// Adds a capsule key for `[not_before, not_before + length)` with the next free
    /// id (ids wrap after 255 and skip those still held). Returns the id.
    pub fn add_capsule_period<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        not_before: UnixTime,
        length_secs: u64,
    ) -> u8 {
        let last = self.capsule.iter().map(|k| k.key_id).max().unwrap_or(0);
        let mut id = last.wrapping_add(1).max(1);
        while self.capsule.iter().any(|k| k.key_id == id) {
            id = id.wrapping_add(1).max(1);
        }
        self.capsule.push(CapsuleSecret {
            key_id: id,
            secret: StaticSecret::random_from_rng(&mut *rng),
            not_before,
            not_after: not_before.saturating_add(length_secs.max(1)),
        });
        id
    }

    /// Destroys every capsule secret whose retention has ended at `now`; returns the
    /// ids destroyed. Codes and envelopes sealed to them can no longer be opened by
    /// anyone (forward secrecy).
    pub fn destroy_expired_capsule_secrets(&mut self, now: UnixTime) -> Vec<u8> {
        let gone: Vec<u8> = self
            .capsule
            .iter()
            .filter(|k| k.destroy_after() <= now)
            .map(|k| k.key_id)
            .collect();
        self.capsule.retain(|k| k.destroy_after() > now);
        gone
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
            .find(|k| k.key_id == key_id)
            .map(|k| &k.secret)
            .ok_or(Error::UnknownKeyId {
                what: "capsule",
                key_id,
            })
    }

    /// A descriptor (serial 1, Vietnam's UTC offset) listing all these keys; the
    /// current signing key is the highest id.
    pub fn descriptor(&self, id: AuthorityId, name: &str, base_url: &str) -> AuthorityDescriptor {
        AuthorityDescriptor {
            id,
            serial: 1,
            name: name.to_owned(),
            base_url: base_url.to_owned(),
            utc_offset: UtcOffset::VIETNAM,
            root_key: self.root_public,
            signing_keys: self
                .signing
                .iter()
                .map(|(key_id, k)| SigningKeyEntry {
                    key_id: *key_id,
                    key: k.verifying_key(),
                })
                .collect(),
            current_signing_key: self.signing.iter().map(|k| k.0).max().unwrap_or(0),
            capsule_keys: self.capsule.iter().map(CapsuleSecret::entry).collect(),
        }
    }

    /// Signs `descriptor` with the root key this process holds.
    pub fn sign_descriptor(&self, descriptor: &AuthorityDescriptor) -> Result<Vec<u8>> {
        let root = self.root.as_ref().ok_or(Error::KeyMismatch {
            what: "descriptor root key (not held)",
        })?;
        descriptor.sign(root, None)
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
        let bytes = keys.sign_descriptor(&d).unwrap();
        assert_eq!(AuthorityDescriptor::decode(&bytes).unwrap(), d);
    }

    #[test]
    fn rejects_descriptor_with_flipped_bit() {
        let (keys, d) = sample();
        let mut bytes = keys.sign_descriptor(&d).unwrap();
        bytes[10] ^= 1;
        assert!(AuthorityDescriptor::decode(&bytes).is_err());
    }

    #[test]
    fn update_needs_higher_serial_and_the_pinned_root() {
        let (keys, d) = sample();
        let mut rng = test_rng(2);
        // A rotation of the signing key, serial 2, signed by the root: accepted.
        let mut next = d.clone();
        next.serial = 2;
        let new_signing = random_signing_key(&mut rng);
        next.signing_keys.push(SigningKeyEntry {
            key_id: 2,
            key: new_signing.verifying_key(),
        });
        next.current_signing_key = 2;
        let next_bytes = keys.sign_descriptor(&next).unwrap();
        assert_eq!(d.verify_update(&next_bytes).unwrap(), next);
        // Replaying serial 1 to a phone that has serial 2 is a rollback.
        let old_bytes = keys.sign_descriptor(&d).unwrap();
        assert_eq!(
            next.verify_update(&old_bytes),
            Err(Error::DescriptorRollback {
                pinned: 2,
                offered: 1
            })
        );
        // The same serial with other content is refused too; identical is a no-op.
        let mut same_serial = next.clone();
        same_serial.name = "khác".into();
        let bytes = keys.sign_descriptor(&same_serial).unwrap();
        assert!(matches!(
            next.verify_update(&bytes),
            Err(Error::DescriptorRollback { .. })
        ));
        assert_eq!(next.verify_update(&next_bytes).unwrap(), next);
        // An impostor with the same id and its own root is refused.
        let other = AuthorityKeys::generate(&mut test_rng(3));
        let mut impostor = other.descriptor(AuthorityId(7), "fake", "https://evil.example");
        impostor.serial = 9;
        let bytes = other.sign_descriptor(&impostor).unwrap();
        assert!(matches!(
            d.verify_update(&bytes),
            Err(Error::BadSignature { .. })
        ));
    }

    #[test]
    fn root_rotation_needs_the_previous_roots_cross_signature() {
        let (keys, d) = sample();
        let new_root = random_signing_key(&mut test_rng(4));
        let mut next = d.clone();
        next.serial = 2;
        next.root_key = new_root.verifying_key();
        let without = next.sign(&new_root, None).unwrap();
        assert!(matches!(
            d.verify_update(&without),
            Err(Error::BadSignature {
                what: "descriptor root rotation"
            })
        ));
        let with = next
            .sign(&new_root, Some(keys.root.as_ref().unwrap()))
            .unwrap();
        assert_eq!(d.verify_update(&with).unwrap(), next);
        // A first-time phone verifies it by itself.
        assert_eq!(AuthorityDescriptor::decode(&with).unwrap(), next);
        assert_ne!(d.fingerprint(), next.fingerprint());
    }

    #[test]
    fn fingerprint_covers_id_root_and_base_url_not_rotating_keys() {
        let (_, d) = sample();
        let fp = d.fingerprint();
        assert_eq!(fp.len(), 32 + 7);
        let mut e = d.clone();
        e.capsule_keys[0].key[0] ^= 1;
        e.serial = 5;
        assert_eq!(fp, e.fingerprint());
        e.base_url = "https://quet.example.evil".into();
        assert_ne!(fp, e.fingerprint());
    }

    #[test]
    fn http_only_to_loopback() {
        for ok in [
            "https://quet.example",
            "http://127.0.0.1:8080",
            "http://localhost/x",
            "http://[::1]:9",
        ] {
            assert!(base_url_allowed(ok), "{ok}");
        }
        for bad in [
            "http://quet.example",
            "http://127.0.0.1.evil.example",
            "ftp://x",
            "https://",
            "http://localhost.evil",
        ] {
            assert!(!base_url_allowed(bad), "{bad}");
        }
    }

    #[test]
    fn capsule_keys_rotate_by_period_and_are_destroyed_after_retention() {
        let start = UnixTime(1_790_000_000);
        let mut keys = AuthorityKeys::generate_scheduled(&mut test_rng(5), start, 3);
        let d = keys.descriptor(AuthorityId(1), "x", "https://q.example");
        assert_eq!(d.capsule_for(start).unwrap().0, 1);
        let week2 = start.saturating_add(CAPSULE_PERIOD_SECS);
        assert_eq!(d.capsule_for(week2).unwrap().0, 2);
        assert!(matches!(
            d.capsule_for(start.saturating_add(3 * CAPSULE_PERIOD_SECS)),
            Err(Error::NoCapsuleKey { .. })
        ));
        // Key 1's secret lives until its period ends plus the retention, then goes.
        let end1 = week2.saturating_add(CAPSULE_SECRET_RETENTION_SECS);
        assert!(
            keys.destroy_expired_capsule_secrets(UnixTime(end1.0 - 1))
                .is_empty()
        );
        assert_eq!(keys.destroy_expired_capsule_secrets(end1), vec![1]);
        assert!(keys.capsule_secret(1).is_err() && keys.capsule_secret(2).is_ok());
    }
}
