//! What the client shows a person (check-ins, alerts) and the private records it
//! seals to the diary key (diary entries) or keeps only during a stay (the active
//! stay).

use quet_protocol::category::Category;
use quet_protocol::code::{CheckInCode, CodeKind};
use quet_protocol::notice::Severity;
use serde::{Deserialize, Serialize};

use crate::error::{ClientError, Result};

/// Diary plaintexts are padded to a multiple of this, so their length says
/// nothing about the venue's name.
pub(crate) const DIARY_PAD: usize = 512;
/// Alert plaintexts are padded to a multiple of this.
pub(crate) const ALERT_PAD: usize = 2048 + 512;

/// The diary entry of one check-in, sealed to the diary key.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct DiaryEntry {
    pub authority: u32,
    pub poster: bool,
    pub venue_name: String,
    pub venue_address: String,
    pub category: String,
    pub max_stay_minutes: u16,
    pub arrival: u64,
    pub departure: u64,
    /// When this check-in was sent in a case report, if it was.
    #[serde(default)]
    pub reported_at: Option<u64>,
    /// The authority the venue is registered with (its code carried a valid
    /// certificate for exactly these details), or `None`: an unregistered venue.
    #[serde(default)]
    pub registered_with: Option<String>,
}

impl DiaryEntry {
    /// The entry for a stay at `code` over `[arrival, departure]`.
    pub fn for_code(code: &CheckInCode, arrival: u64, departure: u64) -> DiaryEntry {
        DiaryEntry {
            authority: code.authority.0,
            poster: code.kind == CodeKind::Poster,
            venue_name: code.venue.name.clone(),
            venue_address: code.venue.address.clone(),
            category: code.venue.category.slug().to_string(),
            max_stay_minutes: code.venue.max_stay_minutes,
            arrival,
            departure,
            reported_at: None,
            registered_with: None,
        }
    }

    /// The padded JSON plaintext.
    pub fn to_padded(&self) -> Result<zeroize::Zeroizing<Vec<u8>>> {
        padded_json(self, DIARY_PAD)
    }

    /// The view of this entry.
    pub fn view(&self, id: u64, active: bool) -> CheckIn {
        let cat = Category::from_slug(&self.category);
        CheckIn {
            id,
            authority: self.authority,
            venue_name: self.venue_name.clone(),
            venue_address: self.venue_address.clone(),
            category: self.category.clone(),
            category_vi: cat.map_or("", Category::label_vi).to_string(),
            category_en: cat.map_or("", Category::label_en).to_string(),
            max_stay_minutes: self.max_stay_minutes,
            poster: self.poster,
            arrival: self.arrival,
            departure: self.departure,
            checked_in: active,
            reported: self.reported_at.is_some(),
            registered_with: self.registered_with.clone(),
            chain_check: None,
        }
    }
}

/// JSON of `value`, padded with spaces to a multiple of `block`.
pub(crate) fn padded_json<T: Serialize>(
    value: &T,
    block: usize,
) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    let mut plain = zeroize::Zeroizing::new(
        serde_json::to_vec(value).map_err(|e| ClientError::Storage(e.to_string()))?,
    );
    let padded = plain.len().div_ceil(block).max(1) * block;
    plain.resize(padded, b' ');
    Ok(plain)
}

/// A check-in as the user sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckIn {
    /// Local id, for `check-out`, `stay` and `diary delete`.
    pub id: u64,
    /// The venue's health authority.
    pub authority: u32,
    /// Venue name.
    pub venue_name: String,
    /// Venue address.
    pub venue_address: String,
    /// Category slug (e.g. `restaurant`).
    pub category: String,
    /// Category label in Vietnamese.
    pub category_vi: String,
    /// Category label in English.
    pub category_en: String,
    /// The venue's maximum stay in minutes.
    pub max_stay_minutes: u16,
    /// Whether the code was a printed poster (day epoch) rather than a screen.
    pub poster: bool,
    /// Arrival (Unix seconds).
    pub arrival: u64,
    /// Departure (Unix seconds): planned auto check-out while checked in.
    pub departure: u64,
    /// Whether the stay is still ongoing.
    pub checked_in: bool,
    /// Whether this check-in was sent in a case report (it then raises no alert).
    pub reported: bool,
    /// "Registered with <authority>": the name of the authority whose certificate
    /// the code carried; `None` for an unregistered venue (show a warning).
    pub registered_with: Option<String>,
    /// At check-in only: how the code's chain checkpoint compared with this
    /// phone's view of the feed (`None`: the code carries none).
    pub chain_check: Option<CheckpointCheck>,
}

/// How a venue code's chain checkpoint compared with what the phone verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckpointCheck {
    /// The same bulletin.
    Consistent,
    /// The venue saw a newer bulletin: sync later (at a random time, not now).
    Ahead,
    /// The venue saw an older bulletin the phone no longer holds.
    Unknown,
    /// Different bulletins for the same sequence: recorded as an alarm, re-checked
    /// over another path at the next sync; tell the user.
    Conflict,
}

/// An exposure alert in full: a match between a check-in and a published notice.
/// Sealed to the diary key; readable after unlocking.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// The check-in that matched.
    pub check_in: u64,
    /// The notice's nonce (hex); a withdrawal names it.
    pub notice: String,
    /// Venue name.
    pub venue_name: String,
    /// Venue address.
    pub venue_address: String,
    /// The user's arrival.
    pub arrival: u64,
    /// The user's departure.
    pub departure: u64,
    /// Severity slug: `monitor`, `test` or `isolate`.
    pub severity: String,
    /// Severity label in Vietnamese.
    pub severity_vi: String,
    /// Severity label in English.
    pub severity_en: String,
    /// Start of the exposure window the HA published.
    pub window_start: u64,
    /// End of the exposure window (exclusive).
    pub window_end: u64,
    /// The HA's message in Vietnamese.
    pub message_vi: String,
    /// The HA's message in English.
    pub message_en: String,
    /// The authority that published the notice.
    pub authority: u32,
    /// When this phone found the match.
    pub found_at: u64,
}

/// What the phone shows of an alert while locked: that there is one, how serious,
/// and when it was found; where and when the exposure was needs the unlock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AlertSummary {
    /// The check-in that matched.
    pub check_in: u64,
    /// The notice's nonce (hex).
    pub notice: String,
    /// Severity slug: `monitor`, `test` or `isolate`.
    pub severity: String,
    /// Severity label in Vietnamese.
    pub severity_vi: String,
    /// Severity label in English.
    pub severity_en: String,
    /// When this phone found the match.
    pub found_at: u64,
}

impl AlertSummary {
    pub(crate) fn new(check_in: u64, nonce: &[u8; 16], severity: u8, found_at: u64) -> Self {
        let s = Severity::from_byte(severity).ok();
        AlertSummary {
            check_in,
            notice: data_encoding::HEXLOWER.encode(nonce),
            severity: s.map_or("unknown", severity_slug).into(),
            severity_vi: s.map_or("", Severity::label_vi).into(),
            severity_en: s.map_or("", Severity::label_en).into(),
            found_at,
        }
    }
}

/// The stable slug of a severity.
pub(crate) fn severity_slug(s: Severity) -> &'static str {
    match s {
        Severity::Monitor => "monitor",
        Severity::Test => "test",
        Severity::Isolate => "isolate",
    }
}

/// What the phone keeps, in the clear, only while a stay lasts: the signed code
/// (it holds `P_e`, needed to re-seal the token at check-out), the arrival and the
/// planned departure. Erased at check-out or auto check-out.
///
/// ```text
/// u8 version (1) ‖ u64 arrival ‖ u64 planned departure ‖ signed code
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ActiveStay {
    pub arrival: u64,
    pub departure: u64,
    pub code: Vec<u8>,
}

impl ActiveStay {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(17 + self.code.len());
        out.push(1);
        out.extend_from_slice(&self.arrival.to_be_bytes());
        out.extend_from_slice(&self.departure.to_be_bytes());
        out.extend_from_slice(&self.code);
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<ActiveStay> {
        let bad = || ClientError::Storage("corrupt active stay".into());
        let (&version, rest) = bytes.split_first().ok_or_else(bad)?;
        if version != 1 || rest.len() < 16 {
            return Err(bad());
        }
        let (times, code) = rest.split_at(16);
        let (a, d) = times.split_at(8);
        Ok(ActiveStay {
            arrival: u64::from_be_bytes(a.try_into().map_err(|_| bad())?),
            departure: u64::from_be_bytes(d.try_into().map_err(|_| bad())?),
            code: code.to_vec(),
        })
    }

    /// The verified code (it was verified at check-in; this only parses and
    /// re-checks the signature).
    pub fn code(&self) -> Result<CheckInCode> {
        CheckInCode::parse_signed(&self.code)
            .map_err(|_| ClientError::Storage("corrupt active stay code".into()))
    }
}
