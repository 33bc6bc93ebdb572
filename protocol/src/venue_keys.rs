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
//! For the seeded epoch kinds of version 2 codes (`SeededHour`, `LocalDay`):
//!
//! ```text
//! venue_time_seed(e)    = HKDF(ikm = day_key(day(e)), info = "quet/v2/epoch-seed"   || e)  (16 bytes)
//! venue_time_secret(e)  = HKDF(ikm = venue_time_seed(e), info = "quet/v2/epoch-secret" || e)
//! ```
//!
//! and a notice publishes the 16-byte seed instead of the 32-byte secret.
//!
//! `d` is a big-endian u32 day; `e` is the epoch's five bytes (kind, index). HKDF's
//! one-wayness means that publishing `venue_time_secret(e)` (or its seed) reveals
//! nothing about other epochs, other days' keys or the master.

use data_encoding::BASE32_NOPAD;
use ed25519_dalek::SigningKey;
use rand_core::CryptoRng;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};
use crate::kdf::{
    DAY_KEYS_CHECKSUM_LABEL, DAY_LABEL, EPOCH_LABEL, EPOCH_SECRET_LABEL, EPOCH_SEED_LABEL,
    HEARTBEAT_LABEL, NOTICE_LABEL, SHEET_CHECKSUM_LABEL, SIGN_LABEL, derive, sha256,
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

secret_bytes!(
    /// The 16-byte seed of a seeded epoch's secret; what a notice publishes.
    VenueTimeSeed,
    16
);

secret_bytes!(
    /// The 32-byte Ed25519 seed of the venue's signing key (what a display holds
    /// instead of the master).
    VenueSigningSeed,
    32
);

impl VenueTimeSeed {
    /// Expands the seed of `epoch` (a seeded kind) into its X25519 scalar.
    pub fn secret(&self, epoch: Epoch) -> VenueTimeSecret {
        VenueTimeSecret::from_bytes(derive(
            None,
            self.expose(),
            EPOCH_SECRET_LABEL,
            &epoch.to_bytes(),
        ))
    }
}

impl VenueSigningSeed {
    /// The Ed25519 signing key.
    pub fn signing_key(&self) -> SigningKey {
        SigningKey::from_bytes(self.expose())
    }
}

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
        self.signing_seed().signing_key()
    }

    /// The seed of the venue's Ed25519 signing key.
    pub fn signing_seed(&self) -> VenueSigningSeed {
        let seed: Zeroizing<[u8; 32]> =
            Zeroizing::new(derive(None, self.expose(), SIGN_LABEL, &[]));
        VenueSigningSeed::from_bytes(*seed)
    }

    /// What a display needs to show codes for days `first..=last` and nothing
    /// more: the signing seed and the day keys of `first − 1 ..= last + 1` (a day's
    /// trace capsule carries its neighbours' keys).
    pub fn display_keys(&self, first: Day, last: Day) -> Result<DisplayKeys> {
        if last < first || last.0 - first.0 > MAX_DISPLAY_DAYS {
            return Err(Error::InvalidWindow);
        }
        let from = first.prev().ok_or(Error::TimeOutOfRange)?;
        let to = last.next().ok_or(Error::TimeOutOfRange)?;
        Ok(DisplayKeys {
            signing: self.signing_seed(),
            day_keys: (from.0..=to.0).map(|d| self.day_key(Day(d))).collect(),
        })
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

/// Most days one day-key sheet may hold.
pub const MAX_SHEET_DAYS: usize = 31;

/// A **day-key sheet**: what a venue hands an investigator instead of its master,
/// so a venue-initiated trace takes only the days it needs:
/// `base32(u32 first day || u8 count || count × [32] day key || SHA-256(
/// "quet/v1/keysheet-checksum" || all before)[0..3])` in groups of four joined by
/// `-`. The keys must be of consecutive days, 1 to [`MAX_SHEET_DAYS`].
pub fn day_keys_to_text(keys: &[DayKey]) -> Result<String> {
    let first = keys.first().ok_or(Error::InvalidField {
        field: "day-key sheet",
    })?;
    if keys.len() > MAX_SHEET_DAYS
        || keys.iter().enumerate().any(|(i, k)| {
            u32::try_from(i)
                .ok()
                .and_then(|i| first.day.0.checked_add(i))
                != Some(k.day.0)
        })
    {
        return Err(Error::InvalidField {
            field: "day-key sheet",
        });
    }
    let mut payload = Zeroizing::new(Vec::with_capacity(8 + 32 * keys.len()));
    payload.extend_from_slice(&first.day.0.to_be_bytes());
    payload.push(u8::try_from(keys.len()).unwrap_or(0));
    for k in keys {
        payload.extend_from_slice(k.key.expose());
    }
    let check = sha256(&[DAY_KEYS_CHECKSUM_LABEL, &payload]);
    payload.extend_from_slice(check.get(..3).unwrap_or_default());
    let text = Zeroizing::new(BASE32_NOPAD.encode(&payload));
    Ok(text
        .as_bytes()
        .chunks(4)
        .map(|c| core::str::from_utf8(c).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("-"))
}

/// Parses a day-key sheet (white space, `-` and case ignored; `0`/`1`/`8` read as
/// `O`/`I`/`B`). Anything malformed is `InvalidField("day-key sheet")`; a checksum
/// mismatch is `BadChecksum`.
pub fn day_keys_from_text(text: &str) -> Result<Vec<DayKey>> {
    const FIELD: Error = Error::InvalidField {
        field: "day-key sheet",
    };
    if text.len() > 4096 {
        return Err(FIELD);
    }
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
    let bytes = Zeroizing::new(BASE32_NOPAD.decode(cleaned.as_bytes()).map_err(|_| FIELD)?);
    if bytes.len() < 5 + 32 + 3 {
        return Err(FIELD);
    }
    let (payload, check) = bytes.split_at(bytes.len() - 3);
    let first = u32::from_be_bytes(
        payload
            .get(..4)
            .and_then(|b| b.try_into().ok())
            .ok_or(FIELD)?,
    );
    let count = usize::from(*payload.get(4).ok_or(FIELD)?);
    if count == 0 || count > MAX_SHEET_DAYS || payload.len() != 5 + 32 * count {
        return Err(FIELD);
    }
    let expected = sha256(&[DAY_KEYS_CHECKSUM_LABEL, payload]);
    if !crate::secret::ct_eq_bytes(expected.get(..3).unwrap_or_default(), check) {
        return Err(Error::BadChecksum);
    }
    let mut keys = Vec::with_capacity(count);
    for (i, chunk) in payload
        .get(5..)
        .unwrap_or_default()
        .chunks_exact(32)
        .enumerate()
    {
        let day = first
            .checked_add(u32::try_from(i).map_err(|_| FIELD)?)
            .ok_or(FIELD)?;
        let mut k = [0u8; 32];
        k.copy_from_slice(chunk);
        keys.push(DayKey {
            day: Day(day),
            key: DayKeyBytes::from_bytes(k),
        });
        k.zeroize();
    }
    Ok(keys)
}

/// Most days one [`DisplayKeys`] may cover (a year).
pub const MAX_DISPLAY_DAYS: u32 = 366;

/// The keys a venue display holds: its signing seed and the day keys of the days it
/// shows (plus one on each side for the capsules). Without the master, the holder
/// cannot derive any other day's keys; losing a display exposes only its days.
#[derive(Clone, Debug)]
pub struct DisplayKeys {
    /// The venue's signing seed.
    pub signing: VenueSigningSeed,
    /// Consecutive day keys, in order.
    pub day_keys: Vec<DayKey>,
}

impl DisplayKeys {
    /// The key of `day`, if held.
    pub fn day_key(&self, day: Day) -> Result<&DayKey> {
        self.day_keys
            .iter()
            .find(|k| k.day == day)
            .ok_or(Error::MissingDayKey)
    }

    /// The days codes can be made for: every held day whose neighbours are held.
    pub fn code_days(&self) -> Option<(Day, Day)> {
        let first = self.day_keys.first()?.day.next()?;
        let last = self.day_keys.last()?.day.prev()?;
        (first <= last).then_some((first, last))
    }
}

/// One day's key with its day number.
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
        if epoch.kind.is_seeded() {
            return Ok(self.venue_time_seed(epoch)?.secret(epoch));
        }
        self.check_epoch(epoch)?;
        Ok(VenueTimeSecret::from_bytes(derive(
            None,
            self.key.expose(),
            EPOCH_LABEL,
            &epoch.to_bytes(),
        )))
    }

    /// The published seed of a seeded `epoch` (version 2 kinds), which must lie in
    /// this day. Version 1 kinds have no seed (`InvalidField("epoch kind")`).
    pub fn venue_time_seed(&self, epoch: Epoch) -> Result<VenueTimeSeed> {
        self.check_epoch(epoch)?;
        if !epoch.kind.is_seeded() {
            return Err(Error::InvalidField {
                field: "epoch kind",
            });
        }
        Ok(VenueTimeSeed::from_bytes(derive(
            None,
            self.key.expose(),
            EPOCH_SEED_LABEL,
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
    fn day_key_sheet_round_trips_and_catches_typos() {
        let m = VenueMasterKey::generate(&mut test_rng(10));
        let keys: Vec<DayKey> = (100..103).map(|d| m.day_key(Day(d))).collect();
        let text = day_keys_to_text(&keys).unwrap();
        assert_eq!(day_keys_from_text(&text.to_lowercase()).unwrap(), keys);
        let mut chars: Vec<char> = text.chars().collect();
        chars[9] = if chars[9] == 'A' { 'B' } else { 'A' };
        assert!(day_keys_from_text(&chars.into_iter().collect::<String>()).is_err());
        // Not consecutive, or none: refused.
        assert!(day_keys_to_text(&[keys[0].clone(), keys[2].clone()]).is_err());
        assert!(day_keys_to_text(&[]).is_err());
        // A master sheet is not a day-key sheet.
        assert!(day_keys_from_text(&m.to_sheet_text()).is_err());
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
