//! The venue key schedule: master key → day keys → venue-time keys and notice secrets.
//!
//! ```text
//! day_key(d)            = HKDF(ikm = master,        info = "quet/v1/day"    || d)
//! venue_time_secret(e)  = HKDF(ikm = day_key(day(e)), info = "quet/v1/epoch"  || e)  (X25519 scalar)
//! P_e                   = X25519(venue_time_secret(e), 9)
//! notice_secret(e)      = HKDF(ikm = day_key(day(e)), info = "quet/v1/notice" || e)  (16 bytes)
//! venue signing key     = Ed25519 seed HKDF(ikm = master, info = "quet/v1/sign")
//! ```
//!
//! `d` is a big-endian u32 UTC day; `e` is the epoch's five bytes (kind, index). HKDF's
//! one-wayness means that publishing `venue_time_secret(e)` reveals nothing about other
//! epochs, other days' keys or the master.

use data_encoding::BASE32_NOPAD;
use ed25519_dalek::SigningKey;
use rand_core::CryptoRng;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};
use crate::kdf::{
    DAY_LABEL, EPOCH_LABEL, HEARTBEAT_LABEL, NOTICE_LABEL, SHEET_CHECKSUM_LABEL, SIGN_LABEL,
    derive, sha256,
};
use crate::secret::secret_bytes;
use crate::time::{Day, Epoch};

secret_bytes!(
    /// The venue's 32-byte master key, printed only on the private tracing sheet.
    VenueMasterKey,
    32
);

secret_bytes!(
    /// The 32-byte secret for one UTC day; the HA receives it in trace capsules.
    DayKeyBytes,
    32
);

secret_bytes!(
    /// The 16-byte notice secret of one epoch, shown in that epoch's codes.
    NoticeSecret,
    16
);

secret_bytes!(
    /// The X25519 scalar of one epoch. Secret until the HA publishes it in a notice.
    VenueTimeSecret,
    32
);

impl VenueMasterKey {
    /// A fresh random master key.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut b = [0u8; 32];
        rng.fill_bytes(&mut b);
        let key = VenueMasterKey::from_bytes(b);
        b.zeroize();
        key
    }

    /// The key of UTC day `day`.
    pub fn day_key(&self, day: Day) -> DayKey {
        DayKey {
            day,
            key: DayKeyBytes::from_bytes(derive(
                None,
                self.expose(),
                DAY_LABEL,
                &day.0.to_be_bytes(),
            )),
        }
    }

    /// The venue's Ed25519 signing key.
    pub fn signing_key(&self) -> SigningKey {
        let seed: Zeroizing<[u8; 32]> =
            Zeroizing::new(derive(None, self.expose(), SIGN_LABEL, &[]));
        SigningKey::from_bytes(&seed)
    }

    /// The venue's pseudonym for usage statistics on `day`: 16 bytes that change
    /// every day and cannot be linked across days without the master key.
    pub fn heartbeat_pseudonym(&self, day: Day) -> [u8; 16] {
        derive(None, self.expose(), HEARTBEAT_LABEL, &day.0.to_be_bytes())
    }

    /// The tracing-sheet text: the key in base32 (52 characters) plus a 4-character
    /// checksum, in groups of four, e.g. `ABCD-EFGH-…-WXYZ`. Typos are caught by the
    /// checksum. This is an export of the secret: show it only where the user asked.
    pub fn to_sheet_text(&self) -> String {
        let mut payload = Zeroizing::new(Vec::with_capacity(35));
        payload.extend_from_slice(self.expose());
        let check = sha256(&[SHEET_CHECKSUM_LABEL, self.expose()]);
        payload.extend_from_slice(check.get(..3).unwrap_or_default());
        let text = Zeroizing::new(BASE32_NOPAD.encode(&payload));
        text.as_bytes()
            .chunks(4)
            .map(|c| core::str::from_utf8(c).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("-")
    }

    /// Parses tracing-sheet text: case, spaces and dashes are ignored; `0`/`1`/`8`
    /// are read as `O`/`I`/`B` (base32 has no such digits). Fails on a bad checksum.
    pub fn from_sheet_text(text: &str) -> Result<Self> {
        let cleaned: Zeroizing<String> = Zeroizing::new(
            text.chars()
                .filter(|c| !c.is_whitespace() && *c != '-')
                .map(|c| match c.to_ascii_uppercase() {
                    '0' => 'O',
                    '1' => 'I',
                    '8' => 'B',
                    c => c,
                })
                .collect(),
        );
        let bytes = Zeroizing::new(BASE32_NOPAD.decode(cleaned.as_bytes()).map_err(|_| {
            Error::InvalidField {
                field: "tracing sheet text",
            }
        })?);
        if bytes.len() != 35 {
            return Err(Error::InvalidField {
                field: "tracing sheet text",
            });
        }
        let mut key = [0u8; 32];
        key.copy_from_slice(bytes.get(..32).unwrap_or_default());
        let master = VenueMasterKey::from_bytes(key);
        key.zeroize();
        let check = sha256(&[SHEET_CHECKSUM_LABEL, master.expose()]);
        if !crate::secret::ct_eq_bytes(
            check.get(..3).unwrap_or_default(),
            bytes.get(32..).unwrap_or_default(),
        ) {
            return Err(Error::BadChecksum);
        }
        Ok(master)
    }
}

/// One UTC day's key with its day number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DayKey {
    /// The day.
    pub day: Day,
    /// The key.
    pub key: DayKeyBytes,
}

impl DayKey {
    fn check_epoch(&self, epoch: Epoch) -> Result<()> {
        if epoch.day() == self.day {
            Ok(())
        } else {
            Err(Error::MissingDayKey)
        }
    }

    /// The venue-time secret of `epoch`, which must lie in this day.
    pub fn venue_time_secret(&self, epoch: Epoch) -> Result<VenueTimeSecret> {
        self.check_epoch(epoch)?;
        Ok(VenueTimeSecret::from_bytes(derive(
            None,
            self.key.expose(),
            EPOCH_LABEL,
            &epoch.to_bytes(),
        )))
    }

    /// The notice secret of `epoch`, which must lie in this day.
    pub fn notice_secret(&self, epoch: Epoch) -> Result<NoticeSecret> {
        self.check_epoch(epoch)?;
        Ok(NoticeSecret::from_bytes(derive(
            None,
            self.key.expose(),
            NOTICE_LABEL,
            &epoch.to_bytes(),
        )))
    }
}

impl VenueTimeSecret {
    /// `P_e`, the X25519 public key shown in the epoch's codes.
    pub fn public(&self) -> [u8; 32] {
        PublicKey::from(&StaticSecret::from(*self.expose())).to_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::test_rng;
    use crate::time::{EpochKind, UnixTime};

    #[test]
    fn schedule_separates_days_epochs_and_kinds() {
        let m = VenueMasterKey::generate(&mut test_rng(1));
        let t = UnixTime(1_760_000_000);
        let day = t.day().unwrap();
        let dk = m.day_key(day);
        assert_ne!(dk.key, m.day_key(day.next().unwrap()).key);
        let h = Epoch::hour_of(t).unwrap();
        let h2 = Epoch {
            index: h.index + 1,
            ..h
        };
        let d = Epoch::day_of(t).unwrap();
        let a = dk.venue_time_secret(h).unwrap();
        assert_ne!(
            a,
            dk.venue_time_secret(h2)
                .unwrap_or_else(|_| m.day_key(h2.day()).venue_time_secret(h2).unwrap())
        );
        assert_ne!(a, dk.venue_time_secret(d).unwrap());
        assert_ne!(dk.notice_secret(h).unwrap().expose()[..], a.expose()[..16]);
        // Another venue's keys differ.
        let other = VenueMasterKey::generate(&mut test_rng(2));
        assert_ne!(a, other.day_key(day).venue_time_secret(h).unwrap());
        assert_eq!(d.kind, EpochKind::Day);
    }

    #[test]
    fn epoch_outside_day_is_refused() {
        let m = VenueMasterKey::generate(&mut test_rng(1));
        let dk = m.day_key(Day(100));
        let e = Epoch {
            kind: EpochKind::Hour,
            index: 101 * 24,
        };
        assert_eq!(dk.venue_time_secret(e), Err(Error::MissingDayKey));
    }

    #[test]
    fn debug_is_redacted() {
        let m = VenueMasterKey::from_bytes([0xAB; 32]);
        let s = format!("{m:?}");
        assert!(
            !s.to_lowercase().contains("ab, ") && !s.contains("171"),
            "{s}"
        );
        assert!(s.contains("redacted"));
    }

    #[test]
    fn sheet_text_round_trips_and_catches_typos() {
        let m = VenueMasterKey::generate(&mut test_rng(9));
        let text = m.to_sheet_text();
        assert_eq!(VenueMasterKey::from_sheet_text(&text).unwrap(), m);
        assert_eq!(
            VenueMasterKey::from_sheet_text(&text.to_lowercase().replace('-', " ")).unwrap(),
            m
        );
        // Change one character.
        let mut chars: Vec<char> = text.chars().collect();
        chars[0] = if chars[0] == 'A' { 'B' } else { 'A' };
        let typo: String = chars.into_iter().collect();
        assert!(VenueMasterKey::from_sheet_text(&typo).is_err());
    }
}
