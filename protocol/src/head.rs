//! The signed bulletin head: what the authority says its feed is, right now.
//!
//! ```text
//! head = u8 version (1) || u32 authority id || u8 signing key id || u64 descriptor serial
//!        || u64 latest sequence || [32] latest hash
//!        || u64 oldest live sequence || [32] oldest live hash
//!        || u64 issued at || u64 expires at
//!        || [64] Ed25519 signature over "quet/v1/head-signature" || all of the above
//! ```
//!
//! 174 bytes. The authority re-signs a head at a fixed cadence (hourly by default)
//! and whenever it publishes, with a short lifetime (at most
//! [`MAX_HEAD_LIFETIME_SECS`]). A client fetches and verifies it on every sync and
//! trusts nothing else about which bulletins exist: not an index, not a mirror's
//! directory listing. `latest` is the newest bulletin ever issued (0: none yet);
//! `oldest` the oldest one still served (`latest + 1` with a zero hash when none is
//! live any more). A mirror cannot forge a head; it can only replay an old one,
//! which expires within hours, or withhold it, which the client reports as "alerts
//! may be out of date". The rules a client applies are in [`crate::chain`].

use ed25519_dalek::{Signature, Signer};

use crate::authority::{AuthorityDescriptor, AuthorityId, AuthorityKeys};
use crate::codec::{Reader, Writer};
use crate::error::{Error, Result};
use crate::kdf::HEAD_SIGNATURE_CONTEXT;
use crate::time::UnixTime;

/// Head wire version.
pub const HEAD_VERSION: u8 = 1;
/// Encoded head length.
pub const HEAD_LEN: usize = 1 + 4 + 1 + 8 + 8 + 32 + 8 + 32 + 8 + 8 + 64;
/// Longest lifetime a head may claim (a day): a replayed head is useless after it.
pub const MAX_HEAD_LIFETIME_SECS: u64 = 86_400;
/// Default lifetime of a head: six hours, so a static mirror re-exported hourly
/// has a comfortable margin.
pub const DEFAULT_HEAD_LIFETIME_SECS: u64 = 6 * 3_600;
/// Default cadence at which the authority signs a new head.
pub const DEFAULT_HEAD_INTERVAL_SECS: u64 = 3_600;
/// How far in the future a head's issue time may be from the client's clock.
pub const HEAD_CLOCK_SKEW_SECS: u64 = 300;

/// A bulletin's position in the chain: sequence and chain hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ChainPoint {
    /// Sequence number (0: none).
    pub sequence: u64,
    /// Chain hash (zero for none).
    pub hash: [u8; 32],
}

/// The fields of a head before signing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeadDraft {
    /// Serial of the descriptor in force.
    pub descriptor_serial: u64,
    /// The newest bulletin issued (sequence 0, zero hash: none yet).
    pub latest: ChainPoint,
    /// The oldest bulletin still served (`latest + 1`, zero hash: none).
    pub oldest: ChainPoint,
    /// Issue time.
    pub issued_at: UnixTime,
    /// Expiry.
    pub expires_at: UnixTime,
}

/// A signed, verified bulletin head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BulletinHead {
    /// The authority.
    pub authority: AuthorityId,
    /// Its signing key id.
    pub key_id: u8,
    /// Serial of the descriptor in force when it was signed.
    pub descriptor_serial: u64,
    /// The newest bulletin issued.
    pub latest: ChainPoint,
    /// The oldest bulletin still served.
    pub oldest: ChainPoint,
    /// Issue time.
    pub issued_at: UnixTime,
    /// Expiry.
    pub expires_at: UnixTime,
    bytes: Vec<u8>,
}

fn signed_message(bytes: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(HEAD_SIGNATURE_CONTEXT.len() + bytes.len());
    m.extend_from_slice(HEAD_SIGNATURE_CONTEXT);
    m.extend_from_slice(bytes);
    m
}

fn check_fields(d: &HeadDraft) -> Result<()> {
    if d.expires_at <= d.issued_at || d.expires_at.0 - d.issued_at.0 > MAX_HEAD_LIFETIME_SECS {
        return Err(Error::InvalidField {
            field: "head lifetime",
        });
    }
    let zero = [0u8; 32];
    let consistent = if d.latest.sequence == 0 {
        d.latest.hash == zero && d.oldest.sequence == 1 && d.oldest.hash == zero
    } else if d.oldest.sequence == d.latest.sequence.saturating_add(1) {
        d.oldest.hash == zero
    } else {
        d.oldest.sequence >= 1 && d.oldest.sequence <= d.latest.sequence
    };
    if !consistent {
        return Err(Error::InvalidField {
            field: "head sequences",
        });
    }
    Ok(())
}

impl BulletinHead {
    /// Signs a head with the authority's current signing key.
    pub fn sign(
        draft: &HeadDraft,
        keys: &AuthorityKeys,
        authority: &AuthorityDescriptor,
    ) -> Result<BulletinHead> {
        check_fields(draft)?;
        let key_id = authority.current_signing_key;
        let signer = keys.signing_key(key_id)?;
        if authority.signing_key(key_id)? != &signer.verifying_key() {
            return Err(Error::KeyMismatch {
                what: "head signer",
            });
        }
        let mut w = Writer::with_capacity(HEAD_LEN);
        w.u8(HEAD_VERSION)
            .u32(authority.id.0)
            .u8(key_id)
            .u64(draft.descriptor_serial)
            .u64(draft.latest.sequence)
            .bytes(&draft.latest.hash)
            .u64(draft.oldest.sequence)
            .bytes(&draft.oldest.hash)
            .u64(draft.issued_at.0)
            .u64(draft.expires_at.0);
        let sig = signer.sign(&signed_message(w.as_slice()));
        w.bytes(&sig.to_bytes());
        Ok(BulletinHead {
            authority: authority.id,
            key_id,
            descriptor_serial: draft.descriptor_serial,
            latest: draft.latest,
            oldest: draft.oldest,
            issued_at: draft.issued_at,
            expires_at: draft.expires_at,
            bytes: w.into_vec(),
        })
    }

    /// The signed bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Whether any bulletin is still served.
    pub fn has_live_bulletins(&self) -> bool {
        self.oldest.sequence <= self.latest.sequence && self.latest.sequence > 0
    }

    /// Parses and verifies a head against the pinned descriptor, without any clock
    /// rule ([`crate::chain::ChainView::check_head`] adds those). In order: length
    /// (`TooLong`/`Truncated`), version, authority (`UnknownAuthority`), a
    /// signing key the descriptor lacks (`DescriptorOutdated` when the head names a
    /// newer descriptor serial, else `UnknownKeyId`), the signature (`BadSignature`),
    /// a newer descriptor serial (`DescriptorOutdated`), the lifetime and sequences
    /// (`InvalidField`).
    pub fn decode_and_verify(
        bytes: &[u8],
        authority: &AuthorityDescriptor,
    ) -> Result<BulletinHead> {
        const WHAT: &str = "bulletin head";
        if bytes.len() > HEAD_LEN {
            return Err(Error::TooLong {
                what: WHAT,
                max: HEAD_LEN,
            });
        }
        let mut r = Reader::new(bytes, WHAT);
        let version = r.u8()?;
        if version != HEAD_VERSION {
            return Err(Error::UnsupportedVersion {
                what: WHAT,
                version,
            });
        }
        let id = AuthorityId(r.u32()?);
        if id != authority.id {
            return Err(Error::UnknownAuthority(id));
        }
        let key_id = r.u8()?;
        let descriptor_serial = r.u64()?;
        let latest = ChainPoint {
            sequence: r.u64()?,
            hash: r.array()?,
        };
        let oldest = ChainPoint {
            sequence: r.u64()?,
            hash: r.array()?,
        };
        let issued_at = UnixTime(r.u64()?);
        let expires_at = UnixTime(r.u64()?);
        let signed_len = bytes.len() - r.remaining();
        let sig = Signature::from_bytes(&r.array()?);
        r.finish()?;
        let key = match authority.signing_key(key_id) {
            Ok(k) => k,
            Err(_) if descriptor_serial > authority.serial => {
                return Err(Error::DescriptorOutdated {
                    serial: descriptor_serial,
                });
            }
            Err(e) => return Err(e),
        };
        let signed = bytes
            .get(..signed_len)
            .ok_or(Error::Truncated { what: WHAT })?;
        key.verify_strict(&signed_message(signed), &sig)
            .map_err(|_| Error::BadSignature { what: WHAT })?;
        if descriptor_serial > authority.serial {
            return Err(Error::DescriptorOutdated {
                serial: descriptor_serial,
            });
        }
        let draft = HeadDraft {
            descriptor_serial,
            latest,
            oldest,
            issued_at,
            expires_at,
        };
        check_fields(&draft)?;
        Ok(BulletinHead {
            authority: id,
            key_id,
            descriptor_serial,
            latest,
            oldest,
            issued_at,
            expires_at,
            bytes: bytes.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::test_rng;

    fn draft() -> HeadDraft {
        HeadDraft {
            descriptor_serial: 1,
            latest: ChainPoint {
                sequence: 5,
                hash: [5; 32],
            },
            oldest: ChainPoint {
                sequence: 2,
                hash: [2; 32],
            },
            issued_at: UnixTime(1_000_000),
            expires_at: UnixTime(1_000_000 + DEFAULT_HEAD_LIFETIME_SECS),
        }
    }

    #[test]
    fn head_round_trips_and_rejects_tampering() {
        let keys = AuthorityKeys::generate(&mut test_rng(1));
        let d = keys.descriptor(AuthorityId(3), "HA", "https://q.example");
        let head = BulletinHead::sign(&draft(), &keys, &d).unwrap();
        assert_eq!(head.as_bytes().len(), HEAD_LEN);
        assert_eq!(
            BulletinHead::decode_and_verify(head.as_bytes(), &d).unwrap(),
            head
        );
        for i in 0..HEAD_LEN {
            let mut b = head.as_bytes().to_vec();
            b[i] ^= 0x40;
            assert!(BulletinHead::decode_and_verify(&b, &d).is_err(), "byte {i}");
        }
        assert!(BulletinHead::decode_and_verify(&head.as_bytes()[..HEAD_LEN - 1], &d).is_err());
    }

    #[test]
    fn rejects_inconsistent_heads() {
        let keys = AuthorityKeys::generate(&mut test_rng(1));
        let d = keys.descriptor(AuthorityId(3), "HA", "https://q.example");
        let mut long = draft();
        long.expires_at = UnixTime(long.issued_at.0 + MAX_HEAD_LIFETIME_SECS + 1);
        assert!(BulletinHead::sign(&long, &keys, &d).is_err());
        let mut backwards = draft();
        backwards.oldest.sequence = 6;
        assert!(BulletinHead::sign(&backwards, &keys, &d).is_err());
        let mut none_live = draft();
        none_live.oldest = ChainPoint {
            sequence: 6,
            hash: [0; 32],
        };
        assert!(
            !BulletinHead::sign(&none_live, &keys, &d)
                .unwrap()
                .has_live_bulletins()
        );
    }

    #[test]
    fn a_head_from_a_newer_descriptor_asks_for_the_descriptor() {
        let keys = AuthorityKeys::generate(&mut test_rng(1));
        let d = keys.descriptor(AuthorityId(3), "HA", "https://q.example");
        let mut newer = d.clone();
        newer.serial = 2;
        let mut dr = draft();
        dr.descriptor_serial = 2;
        let head = BulletinHead::sign(&dr, &keys, &newer).unwrap();
        assert_eq!(
            BulletinHead::decode_and_verify(head.as_bytes(), &d),
            Err(Error::DescriptorOutdated { serial: 2 })
        );
    }
}
