//! The trace capsule: a venue's day keys sealed to the health authority.
//!
//! A venue puts the same capsule in all of one day's codes:
//! `seal(HA capsule key, "quet/v1/capsule", aad = venue_key || authority_id,
//!       d || day_key(d−1) || day_key(d) || day_key(d+1))`. When a confirmed case
//! uploads a code, the HA opens the capsule and can trace that venue-day (and a
//! buffer across midnight) without contacting the owner. Binding the venue's
//! public key as associated data stops one venue from passing off another's capsule.

use rand_core::CryptoRng;
use x25519_dalek::StaticSecret;
use zeroize::Zeroizing;

use crate::authority::AuthorityId;
use crate::codec::{Reader, Writer};
use crate::error::{Error, Result};
use crate::kdf::CAPSULE_LABEL;
use crate::sealed_box::{SEALED_BOX_OVERHEAD, open, seal};
use crate::time::Day;
use crate::venue_keys::{DayKey, DayKeyBytes};

/// Plaintext length: day number and three day keys.
pub const CAPSULE_PLAINTEXT_LEN: usize = 4 + 3 * 32;
/// Encoded capsule length: key id and sealed box.
pub const CAPSULE_LEN: usize = 1 + CAPSULE_PLAINTEXT_LEN + SEALED_BOX_OVERHEAD;

/// A sealed capsule as carried in a code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceCapsule {
    /// The HA capsule key id it is sealed to.
    pub key_id: u8,
    /// The sealed box (ephemeral key, ciphertext, tag).
    pub sealed: [u8; CAPSULE_LEN - 1],
}

/// The day keys a capsule hands to the HA: the day and both neighbours.
#[derive(Debug)]
pub struct CapsuleContents {
    /// The day the capsule is for.
    pub day: Day,
    /// Keys of `day − 1`, `day`, `day + 1` (neighbours absent at the ends of time).
    pub day_keys: Vec<DayKey>,
}

fn aad(venue_key: &[u8; 32], authority: AuthorityId) -> [u8; 36] {
    let mut a = [0u8; 36];
    a[..32].copy_from_slice(venue_key);
    a[32..].copy_from_slice(&authority.0.to_be_bytes());
    a
}

impl TraceCapsule {
    /// Seals day `day`'s keys (and its neighbours', all three taken from
    /// `day_keys`) to the HA capsule key.
    pub fn seal<R: CryptoRng + ?Sized>(
        rng: &mut R,
        day_keys: &[DayKey],
        day: Day,
        venue_key: &[u8; 32],
        authority: AuthorityId,
        capsule_key: (u8, &[u8; 32]),
    ) -> Result<TraceCapsule> {
        let prev = day.prev().ok_or(Error::TimeOutOfRange)?;
        let next = day.next().ok_or(Error::TimeOutOfRange)?;
        let mut w = Writer::with_capacity(CAPSULE_PLAINTEXT_LEN);
        w.u32(day.0);
        for d in [prev, day, next] {
            let key = day_keys
                .iter()
                .find(|k| k.day == d)
                .ok_or(Error::MissingDayKey)?;
            w.bytes(key.key.expose());
        }
        let plaintext = Zeroizing::new(w.into_vec());
        let sealed = seal(
            rng,
            capsule_key.1,
            CAPSULE_LABEL,
            &aad(venue_key, authority),
            &plaintext,
        )?;
        let sealed: [u8; CAPSULE_LEN - 1] = sealed
            .try_into()
            .map_err(|_| Error::InvalidField { field: "capsule" })?;
        Ok(TraceCapsule {
            key_id: capsule_key.0,
            sealed,
        })
    }

    /// Opens the capsule with the HA's capsule secret of its key id.
    pub fn open(
        &self,
        secret: &StaticSecret,
        venue_key: &[u8; 32],
        authority: AuthorityId,
    ) -> Result<CapsuleContents> {
        let plain = open(
            secret,
            CAPSULE_LABEL,
            &aad(venue_key, authority),
            &self.sealed,
            "trace capsule",
        )?;
        let mut r = Reader::new(&plain, "trace capsule");
        let day = Day(r.u32()?);
        let prev = day.prev().ok_or(Error::TimeOutOfRange)?;
        let next = day.next().ok_or(Error::TimeOutOfRange)?;
        let mut day_keys = Vec::with_capacity(3);
        for d in [prev, day, next] {
            let mut k: [u8; 32] = r.array()?;
            day_keys.push(DayKey {
                day: d,
                key: DayKeyBytes::from_bytes(k),
            });
            zeroize::Zeroize::zeroize(&mut k);
        }
        r.finish()?;
        Ok(CapsuleContents { day, day_keys })
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.u8(self.key_id).bytes(&self.sealed);
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<TraceCapsule> {
        Ok(TraceCapsule {
            key_id: r.u8()?,
            sealed: r.array()?,
        })
    }
}
