//! Bulletins (version 2): signed, hash-chained batches of exposure notices.
//!
//! ```text
//! bulletin = u8 version (2) || u32 authority id || u8 signing key id || u64 sequence
//!            || [32] previous hash || u64 issued at || u64 expires at
//!            || u32 notice count || notices (sorted by encoding, no two equal)
//!            || u16 withdrawn count || withdrawn × [16] nonce (sorted, no two equal)
//!            || u16 revoked count || revoked × ([32] venue key || u32 until day)
//!               (sorted by key, no two equal)
//!            || [64] Ed25519 signature over "quet/v2/bulletin-signature" || all of the above
//! hash(bulletin) = SHA-256("quet/v2/bulletin-hash" || bulletin bytes)
//! ```
//!
//! Sequence numbers start at 1 (previous hash all zero). Sorting hides the order in
//! which notices were made; readers enforce it, so every bulletin has exactly one
//! encoding. Decoys ([`BulletinDraft::pad_with_decoys`]) copy the shapes of real
//! notices and fill the bulletin up to a key-count bucket, so its size tells an
//! observer only the bucket. Revoked venue keys are repeated in every bulletin until
//! their `until` day, so a phone that joins late still learns them. Which bulletins
//! exist is said by the signed head ([`crate::head`]); how a client follows the
//! chain is [`crate::chain`].

use ed25519_dalek::{Signature, Signer};
use rand_core::CryptoRng;

use crate::authority::{AuthorityDescriptor, AuthorityId, AuthorityKeys};
use crate::codec::{Reader, Writer};
use crate::error::{Error, Result};
use crate::kdf::{BULLETIN_HASH_V2_CONTEXT, BULLETIN_SIGNATURE_V2_CONTEXT, sha256};
use crate::notice::{ExposureNotice, NoticeShape};
use crate::time::{Day, UnixTime, UtcOffset};

/// Bulletin wire version.
pub const BULLETIN_VERSION: u8 = 2;
/// Most revoked venue keys in one bulletin.
pub const MAX_REVOKED: usize = 10_000;
/// Default smallest number of published keys in a bulletin (decoys fill the rest).
pub const DEFAULT_MIN_KEYS: usize = 256;

/// A revoked venue key: phones refuse its codes until the end of `until`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Revocation {
    /// The venue's Ed25519 public key.
    pub venue_key: [u8; 32],
    /// The last day (UTC) the revocation must be remembered: the end of the revoked
    /// certificate's validity.
    pub until: Day,
}

/// The key-count bucket a bulletin is padded to: the smallest `min_keys · 1.25^k`
/// (rounded up at each step) that is at least `keys`.
pub fn key_bucket(keys: usize, min_keys: usize) -> usize {
    let mut bucket = min_keys.max(1);
    while bucket < keys {
        bucket = bucket.saturating_add(bucket.div_ceil(4));
    }
    bucket
}
/// Largest bulletin accepted, in bytes.
pub const MAX_BULLETIN_LEN: usize = 32 * 1024 * 1024;
/// Most withdrawn nonces in one bulletin.
pub const MAX_WITHDRAWN: usize = 10_000;
/// How long bulletins stay live by default (14 days).
pub const DEFAULT_BULLETIN_LIFETIME_SECS: u64 = 14 * 86_400;

/// The fields of a bulletin before signing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BulletinDraft {
    /// Sequence number, from 1.
    pub sequence: u64,
    /// Hash of the previous bulletin (zeros for sequence 1).
    pub prev_hash: [u8; 32],
    /// When it was issued.
    pub issued_at: UnixTime,
    /// When clients stop using it.
    pub expires_at: UnixTime,
    /// The notices.
    pub notices: Vec<ExposureNotice>,
    /// Nonces of earlier notices withdrawn by this bulletin.
    pub withdrawn: Vec<[u8; 16]>,
    /// Revoked venue keys still to be remembered.
    pub revoked: Vec<Revocation>,
}

impl BulletinDraft {
    /// Number of published keys in the draft.
    pub fn key_count(&self) -> usize {
        self.notices.iter().map(ExposureNotice::key_count).sum()
    }

    /// Adds decoy notices until the draft holds at least [`key_bucket`]`(real keys,
    /// min_keys)` keys. Each decoy takes the shape of a notice drawn from `shapes`
    /// (the shapes of the authority's recent real notices), jittered
    /// ([`NoticeShape::jittered`]), or, when there are none, a
    /// [`NoticeShape::prior`]; it ends about as long before the issue time as its
    /// model did, and never after it. An observer then learns the bucket, not the
    /// number of real notices. Returns the number of decoys added.
    pub fn pad_with_decoys<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        min_keys: usize,
        shapes: &[NoticeShape],
        offset: UtcOffset,
    ) -> Result<usize> {
        let target = key_bucket(self.key_count(), min_keys);
        let mut have = self.key_count();
        let mut added = 0;
        while have < target {
            let drawn;
            let shape = if shapes.is_empty() {
                drawn = NoticeShape::prior(rng, self.issued_at, offset)?;
                &drawn
            } else {
                let i = usize::try_from(rng.next_u64() % shapes.len() as u64).unwrap_or(0);
                drawn = shapes.get(i).ok_or(Error::InvalidWindow)?.jittered(rng);
                &drawn
            };
            let decoy = ExposureNotice::decoy_like(rng, shape, self.issued_at, offset)?;
            have += decoy.key_count();
            self.notices.push(decoy);
            added += 1;
        }
        Ok(added)
    }

    /// Sorts, encodes and signs with the authority's current signing key.
    pub fn sign(
        mut self,
        keys: &AuthorityKeys,
        authority: &AuthorityDescriptor,
    ) -> Result<Bulletin> {
        let key_id = authority.current_signing_key;
        let signer = keys.signing_key(key_id)?;
        if authority.signing_key(key_id)? != &signer.verifying_key() {
            return Err(Error::KeyMismatch {
                what: "bulletin signer",
            });
        }
        self.withdrawn.sort_unstable();
        self.withdrawn.dedup();
        self.revoked.sort_unstable();
        self.revoked.dedup_by(|a, b| a.venue_key == b.venue_key);
        if self.withdrawn.len() > MAX_WITHDRAWN {
            return Err(Error::TooLong {
                what: "withdrawn list",
                max: MAX_WITHDRAWN,
            });
        }
        if self.revoked.len() > MAX_REVOKED {
            return Err(Error::TooLong {
                what: "revoked list",
                max: MAX_REVOKED,
            });
        }
        let mut encoded: Vec<(Vec<u8>, ExposureNotice)> = Vec::with_capacity(self.notices.len());
        for n in self.notices.drain(..) {
            encoded.push((n.to_bytes()?, n));
        }
        encoded.sort_by(|a, b| a.0.cmp(&b.0));
        encoded.dedup_by(|a, b| a.0 == b.0);
        let total: usize = encoded.iter().map(|e| e.0.len()).sum();
        let mut w = Writer::with_capacity(total + 256 + self.withdrawn.len() * 16);
        w.u8(BULLETIN_VERSION)
            .u32(authority.id.0)
            .u8(key_id)
            .u64(self.sequence)
            .bytes(&self.prev_hash)
            .u64(self.issued_at.0)
            .u64(self.expires_at.0)
            .u32(u32::try_from(encoded.len()).map_err(|_| Error::TooLong {
                what: "bulletin",
                max: MAX_BULLETIN_LEN,
            })?);
        for (bytes, _) in &encoded {
            w.bytes(bytes);
        }
        w.u16(u16::try_from(self.withdrawn.len()).unwrap_or(u16::MAX));
        for n in &self.withdrawn {
            w.bytes(n);
        }
        w.u16(u16::try_from(self.revoked.len()).unwrap_or(u16::MAX));
        for r in &self.revoked {
            w.bytes(&r.venue_key).u32(r.until.0);
        }
        let sig = signer.sign(&signed_message(w.as_slice()));
        w.bytes(&sig.to_bytes());
        let bytes = w.into_vec();
        if bytes.len() > MAX_BULLETIN_LEN {
            return Err(Error::TooLong {
                what: "bulletin",
                max: MAX_BULLETIN_LEN,
            });
        }
        Ok(Bulletin {
            authority: authority.id,
            key_id,
            sequence: self.sequence,
            prev_hash: self.prev_hash,
            issued_at: self.issued_at,
            expires_at: self.expires_at,
            notices: encoded.into_iter().map(|e| e.1).collect(),
            withdrawn: self.withdrawn,
            revoked: self.revoked,
            bytes,
        })
    }
}

fn signed_message(bytes: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(BULLETIN_SIGNATURE_V2_CONTEXT.len() + bytes.len());
    m.extend_from_slice(BULLETIN_SIGNATURE_V2_CONTEXT);
    m.extend_from_slice(bytes);
    m
}

/// A signed bulletin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bulletin {
    /// The issuing authority.
    pub authority: AuthorityId,
    /// The signing key id.
    pub key_id: u8,
    /// Sequence number.
    pub sequence: u64,
    /// Hash of the previous bulletin.
    pub prev_hash: [u8; 32],
    /// Issue time.
    pub issued_at: UnixTime,
    /// Expiry time.
    pub expires_at: UnixTime,
    /// The notices, sorted by encoding.
    pub notices: Vec<ExposureNotice>,
    /// Withdrawn notice nonces, sorted.
    pub withdrawn: Vec<[u8; 16]>,
    /// Revoked venue keys, sorted.
    pub revoked: Vec<Revocation>,
    bytes: Vec<u8>,
}

/// What a client remembers of the last bulletin it accepted from an authority.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainState {
    /// Its sequence number.
    pub sequence: u64,
    /// Its hash.
    pub hash: [u8; 32],
    /// Its expiry: bulletins after it cannot expire before this.
    pub expires_at: UnixTime,
}

impl Bulletin {
    /// The signed bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The chain hash of this bulletin.
    pub fn hash(&self) -> [u8; 32] {
        bulletin_hash(&self.bytes)
    }

    /// The chain state after accepting this bulletin.
    pub fn chain_state(&self) -> ChainState {
        ChainState {
            sequence: self.sequence,
            hash: self.hash(),
            expires_at: self.expires_at,
        }
    }

    /// Number of published keys.
    pub fn key_count(&self) -> usize {
        self.notices.iter().map(ExposureNotice::key_count).sum()
    }

    /// Parses and verifies the signature against `authority`, with no chain or clock
    /// rule. Use [`Bulletin::verify_next`] on clients.
    pub fn decode_and_verify_signature(
        bytes: &[u8],
        authority: &AuthorityDescriptor,
    ) -> Result<Bulletin> {
        const WHAT: &str = "bulletin";
        if bytes.len() > MAX_BULLETIN_LEN {
            return Err(Error::TooLong {
                what: WHAT,
                max: MAX_BULLETIN_LEN,
            });
        }
        let mut r = Reader::new(bytes, WHAT);
        let version = r.u8()?;
        if version != BULLETIN_VERSION {
            return Err(Error::UnsupportedVersion {
                what: WHAT,
                version,
            });
        }
        let authority_id = AuthorityId(r.u32()?);
        if authority_id != authority.id {
            return Err(Error::UnknownAuthority(authority_id));
        }
        let key_id = r.u8()?;
        let key = authority.signing_key(key_id)?;
        // Check the signature before parsing the (large) body.
        let signed_len = bytes
            .len()
            .checked_sub(64)
            .ok_or(Error::Truncated { what: WHAT })?;
        let (signed, sig) = bytes.split_at(signed_len);
        let sig: [u8; 64] = sig
            .try_into()
            .map_err(|_| Error::Truncated { what: WHAT })?;
        key.verify_strict(&signed_message(signed), &Signature::from_bytes(&sig))
            .map_err(|_| Error::BadSignature { what: WHAT })?;
        let sequence = r.u64()?;
        let prev_hash = r.array()?;
        let issued_at = UnixTime(r.u64()?);
        let expires_at = UnixTime(r.u64()?);
        let count = usize::try_from(r.u32()?).map_err(|_| Error::TooLong {
            what: WHAT,
            max: MAX_BULLETIN_LEN,
        })?;
        let mut body = Reader::new(r.take(r.remaining().saturating_sub(64))?, WHAT);
        let mut notices = Vec::with_capacity(count.min(body.remaining() / 90));
        let mut previous: Option<&[u8]> = None;
        for _ in 0..count {
            let before = body.rest();
            let notice = ExposureNotice::read(&mut body)?;
            let encoding = before
                .get(..before.len() - body.remaining())
                .ok_or(Error::Truncated { what: WHAT })?;
            if previous.is_some_and(|p| p >= encoding) {
                return Err(Error::InvalidField {
                    field: "notice order",
                });
            }
            previous = Some(encoding);
            notices.push(notice);
        }
        let withdrawn_count = usize::from(body.u16()?);
        if withdrawn_count > MAX_WITHDRAWN {
            return Err(Error::TooLong {
                what: "withdrawn list",
                max: MAX_WITHDRAWN,
            });
        }
        let mut withdrawn: Vec<[u8; 16]> =
            Vec::with_capacity(withdrawn_count.min(body.remaining() / 16));
        for _ in 0..withdrawn_count {
            let nonce: [u8; 16] = body.array()?;
            if withdrawn.last().is_some_and(|p| *p >= nonce) {
                return Err(Error::InvalidField {
                    field: "withdrawn order",
                });
            }
            withdrawn.push(nonce);
        }
        let revoked_count = usize::from(body.u16()?);
        if revoked_count > MAX_REVOKED {
            return Err(Error::TooLong {
                what: "revoked list",
                max: MAX_REVOKED,
            });
        }
        let mut revoked: Vec<Revocation> =
            Vec::with_capacity(revoked_count.min(body.remaining() / 36));
        for _ in 0..revoked_count {
            let venue_key: [u8; 32] = body.array()?;
            let until = Day(body.u32()?);
            if revoked.last().is_some_and(|p| p.venue_key >= venue_key) {
                return Err(Error::InvalidField {
                    field: "revoked order",
                });
            }
            revoked.push(Revocation { venue_key, until });
        }
        body.finish()?;
        if sequence == 0 {
            return Err(Error::InvalidField {
                field: "bulletin sequence",
            });
        }
        Ok(Bulletin {
            authority: authority_id,
            key_id,
            sequence,
            prev_hash,
            issued_at,
            expires_at,
            notices,
            withdrawn,
            revoked,
            bytes: bytes.to_vec(),
        })
    }

    /// What a client does with a downloaded bulletin: verify the signature, that it
    /// has not expired at `now`, and that it extends `last` (if the client has
    /// accepted one before; otherwise it becomes the anchor of the chain).
    pub fn verify_next(
        bytes: &[u8],
        authority: &AuthorityDescriptor,
        last: Option<&ChainState>,
        now: UnixTime,
    ) -> Result<Bulletin> {
        let b = Bulletin::decode_and_verify_signature(bytes, authority)?;
        if b.expires_at <= now {
            return Err(Error::BulletinExpired {
                sequence: b.sequence,
            });
        }
        if let Some(last) = last {
            let expected = last.sequence.checked_add(1).ok_or(Error::InvalidField {
                field: "bulletin sequence",
            })?;
            if b.sequence != expected {
                return Err(Error::BulletinOutOfOrder {
                    expected,
                    found: b.sequence,
                });
            }
            if b.prev_hash != last.hash {
                return Err(Error::BulletinChainBroken {
                    sequence: b.sequence,
                });
            }
        } else if b.sequence == 1 && b.prev_hash != [0u8; 32] {
            return Err(Error::BulletinChainBroken { sequence: 1 });
        }
        Ok(b)
    }
}

/// The chain hash of a bulletin's bytes: `SHA-256("quet/v2/bulletin-hash" || bytes)`.
pub fn bulletin_hash(bytes: &[u8]) -> [u8; 32] {
    sha256(&[BULLETIN_HASH_V2_CONTEXT, bytes])
}
