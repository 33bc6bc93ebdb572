//! Report envelopes: what a phone uploads if its user tests positive and agrees.
//!
//! ```text
//! plaintext (640 B) = u8 kind (1 check-in, 0 padding) || u64 arrival || u64 departure
//!                     || u16 code length || signed code (v1 or v2, ≤ 600 B) || zero padding
//! envelope = u8 version (2) || u8 capsule key id
//!            || seal(HA capsule key, "quet/v2/envelope", aad = version || key id, plaintext)
//! ```
//!
//! Sealed at check-in with fresh randomness, to the capsule key whose period covers
//! the arrival, so it is unlinkable to the code and to the token, and cannot be
//! opened by anyone once that key's secret is destroyed. The HA opens it, verifies the code, opens the capsule and re-derives
//! `P_e` and the notice secret from the day key; any mismatch is an error.

use rand_core::CryptoRng;

use crate::authority::{AuthorityDescriptor, AuthorityKeys};
use crate::certificate::Registration;
use crate::code::{CheckInCode, CodeKind, MAX_CODE_LEN, SCREEN_FRESHNESS_SECS};
use crate::codec::{Reader, Writer, check_zero_padding};
use crate::error::{Error, Result};
use crate::kdf::ENVELOPE_V2_LABEL as ENVELOPE_LABEL;
use crate::sealed_box::{SEALED_BOX_OVERHEAD, open, seal};
use crate::secret::ct_eq_bytes;
use crate::time::{Epoch, UnixTime};
use crate::venue_keys::DayKey;

/// Envelope wire version.
pub const ENVELOPE_VERSION: u8 = 2;
/// Fixed plaintext length.
pub const ENVELOPE_PLAINTEXT_LEN: usize = 640;
/// Encoded envelope length.
pub const ENVELOPE_LEN: usize = 2 + ENVELOPE_PLAINTEXT_LEN + SEALED_BOX_OVERHEAD;

/// How many envelopes one case report uploads: real ones first, then padding, so
/// the upload's size says nothing about how many places the case visited.
pub const REPORT_ENVELOPE_COUNT: usize = 100;

const KIND_PADDING: u8 = 0;
const KIND_CHECK_IN: u8 = 1;

/// A sealed report envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportEnvelope {
    bytes: Vec<u8>,
}

/// A check-in the HA has verified from an envelope, with the venue-day keys.
#[derive(Debug)]
pub struct VerifiedVisit {
    /// The verified code (venue info, epoch, venue key).
    pub code: CheckInCode,
    /// The code's epoch.
    pub epoch: Epoch,
    /// Reported arrival.
    pub arrival: UnixTime,
    /// Reported departure.
    pub departure: UnixTime,
    /// Day keys of the epoch's day and its neighbours, from the capsule.
    pub day_keys: Vec<DayKey>,
    /// What the code's certificate says on the arrival's day.
    pub registration: Registration,
}

impl VerifiedVisit {
    /// How far the claimed arrival is from the code's own time, in seconds (for a
    /// poster, from the start of its day). The HA's review flags large values.
    pub fn arrival_offset_secs(&self) -> u64 {
        self.arrival.0.abs_diff(self.code.timestamp.0)
    }
}

fn aad(key_id: u8) -> [u8; 2] {
    [ENVELOPE_VERSION, key_id]
}

impl ReportEnvelope {
    fn seal_plaintext<R: CryptoRng + ?Sized>(
        rng: &mut R,
        authority: &AuthorityDescriptor,
        at: UnixTime,
        plaintext: &[u8],
    ) -> Result<ReportEnvelope> {
        let (key_id, key) = authority.capsule_for(at)?;
        let sealed = seal(rng, key, ENVELOPE_LABEL, &aad(key_id), plaintext)?;
        let mut bytes = Vec::with_capacity(ENVELOPE_LEN);
        bytes.push(ENVELOPE_VERSION);
        bytes.push(key_id);
        bytes.extend_from_slice(&sealed);
        Ok(ReportEnvelope { bytes })
    }

    /// Seals the report of a check-in: the whole signed code and the stay, to the
    /// capsule key of the arrival's time.
    pub fn seal<R: CryptoRng + ?Sized>(
        rng: &mut R,
        authority: &AuthorityDescriptor,
        code: &CheckInCode,
        arrival: UnixTime,
        departure: UnixTime,
    ) -> Result<ReportEnvelope> {
        let code_bytes = code.as_bytes();
        let mut w = Writer::with_capacity(ENVELOPE_PLAINTEXT_LEN);
        w.u8(KIND_CHECK_IN)
            .u64(arrival.0)
            .u64(departure.0)
            .u16(u16::try_from(code_bytes.len()).map_err(|_| Error::TooLong {
                what: "check-in code",
                max: MAX_CODE_LEN,
            })?)
            .bytes(code_bytes)
            .pad_to(ENVELOPE_PLAINTEXT_LEN);
        Self::seal_plaintext(
            rng,
            authority,
            arrival,
            &zeroize::Zeroizing::new(w.into_vec()),
        )
    }

    /// A padding envelope, indistinguishable from a real one without the HA's key,
    /// sealed to the capsule key of time `at` (use the upload's time).
    pub fn padding<R: CryptoRng + ?Sized>(
        rng: &mut R,
        authority: &AuthorityDescriptor,
        at: UnixTime,
    ) -> Result<ReportEnvelope> {
        let mut w = Writer::with_capacity(ENVELOPE_PLAINTEXT_LEN);
        w.u8(KIND_PADDING).pad_to(ENVELOPE_PLAINTEXT_LEN);
        Self::seal_plaintext(rng, authority, at, w.as_slice())
    }

    /// The wire bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Parses wire bytes (length and version only: the content is sealed).
    pub fn from_bytes(bytes: &[u8]) -> Result<ReportEnvelope> {
        const WHAT: &str = "report envelope";
        let version = *bytes.first().ok_or(Error::Truncated { what: WHAT })?;
        if version != ENVELOPE_VERSION {
            return Err(Error::UnsupportedVersion {
                what: WHAT,
                version,
            });
        }
        match bytes.len().cmp(&ENVELOPE_LEN) {
            core::cmp::Ordering::Less => Err(Error::Truncated { what: WHAT }),
            core::cmp::Ordering::Greater => Err(Error::TrailingBytes { what: WHAT }),
            core::cmp::Ordering::Equal => Ok(ReportEnvelope {
                bytes: bytes.to_vec(),
            }),
        }
    }

    /// The HA opens and verifies the envelope. Returns `None` for a padding envelope.
    pub fn open_and_verify(
        &self,
        keys: &AuthorityKeys,
        authority: &AuthorityDescriptor,
    ) -> Result<Option<VerifiedVisit>> {
        const WHAT: &str = "report envelope";
        let key_id = *self.bytes.get(1).ok_or(Error::Truncated { what: WHAT })?;
        let sealed = self.bytes.get(2..).ok_or(Error::Truncated { what: WHAT })?;
        let secret = keys.capsule_secret(key_id)?;
        let plain = open(secret, ENVELOPE_LABEL, &aad(key_id), sealed, WHAT)?;
        let mut r = Reader::new(&plain, WHAT);
        match r.u8()? {
            KIND_PADDING => {
                check_zero_padding(r.take_rest(), "envelope padding")?;
                return Ok(None);
            }
            KIND_CHECK_IN => {}
            _ => {
                return Err(Error::InvalidField {
                    field: "envelope kind",
                });
            }
        }
        let arrival = UnixTime(r.u64()?);
        let departure = UnixTime(r.u64()?);
        let len = usize::from(r.u16()?);
        if len > MAX_CODE_LEN {
            return Err(Error::TooLong {
                what: "check-in code",
                max: MAX_CODE_LEN,
            });
        }
        let code = CheckInCode::parse_signed(r.take(len)?)?;
        check_zero_padding(r.take_rest(), "envelope padding")?;
        verify_visit(code, arrival, departure, keys, authority).map(Some)
    }
}

/// The HA's checks on an uploaded code: authority, capsule, re-derived keys, times.
fn verify_visit(
    code: CheckInCode,
    arrival: UnixTime,
    departure: UnixTime,
    keys: &AuthorityKeys,
    authority: &AuthorityDescriptor,
) -> Result<VerifiedVisit> {
    if code.authority != authority.id {
        return Err(Error::UnknownAuthority(code.authority));
    }
    let epoch = code.epoch()?;
    let secret = keys.capsule_secret(code.capsule.key_id)?;
    let contents = code
        .capsule
        .open(secret, code.venue_key.as_bytes(), authority.id)?;
    if contents.day != epoch.day() {
        return Err(Error::KeyMismatch {
            what: "capsule day",
        });
    }
    let day_key = contents
        .day_keys
        .iter()
        .find(|k| k.day == epoch.day())
        .ok_or(Error::MissingDayKey)?;
    let derived_public = day_key.venue_time_secret(epoch)?.public();
    if !ct_eq_bytes(&derived_public, &code.venue_time_public) {
        return Err(Error::KeyMismatch {
            what: "venue-time key",
        });
    }
    if day_key.notice_secret(epoch)? != code.notice_secret {
        return Err(Error::KeyMismatch {
            what: "notice secret",
        });
    }
    // The stay must start when the code was fresh and last at most the max stay.
    let (earliest, latest) = match code.kind {
        CodeKind::Screen => (
            code.timestamp.saturating_sub(SCREEN_FRESHNESS_SECS),
            code.timestamp.checked_add(SCREEN_FRESHNESS_SECS)?,
        ),
        // The poster's day: from its first second to its last (start + 86 399).
        CodeKind::Poster => (
            epoch.start_with(code.utc_offset),
            epoch.end_with(code.utc_offset).saturating_sub(1),
        ),
    };
    if arrival < earliest || arrival > latest {
        return Err(Error::InvalidField {
            field: "arrival time",
        });
    }
    if departure < arrival || departure > arrival.checked_add(code.venue.max_stay_secs())? {
        return Err(Error::InvalidField {
            field: "departure time",
        });
    }
    let registration = code.registration(authority, arrival.day()?);
    Ok(VerifiedVisit {
        code,
        epoch,
        arrival,
        departure,
        day_keys: contents.day_keys,
        registration,
    })
}
