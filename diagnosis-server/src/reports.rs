//! Case reports: issuing authorization codes, previewing, and storing uploads.
//!
//! Verification of the envelopes ([`open_envelopes`]) runs before the database
//! transaction; [`store_upload`] then spends the code and stores the review rows in
//! one transaction, so two concurrent uploads cannot both spend a code, and a
//! rejected upload changes nothing.

use quet_protocol::authority::{AuthorityDescriptor, AuthorityKeys};
use quet_protocol::certificate::{Registration, UnregisteredReason};
use quet_protocol::code::CodeKind;
use quet_protocol::envelope::ReportEnvelope;
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::codes;
use crate::db::{hour, ts};

/// A newly issued authorization code (the only time it exists in clear).
#[derive(Debug, Clone, serde::Serialize)]
pub struct IssuedCode {
    /// The code, `XXXX-XXXX-XXXX-XXXX`.
    pub auth_code: String,
    /// Expiry, Unix seconds.
    pub expires_at: u64,
    /// Check-ins with arrival at or after this are asked for.
    pub report_since: u64,
}

/// Days of check-ins a code asks for unless staff choose otherwise (also the
/// window a chaff preview's answer names, so it has a real answer's shape).
pub const DEFAULT_REPORT_DAYS: u64 = 14;

/// Issues a code valid `valid_hours` asking for `report_days` days of check-ins.
pub fn issue_code(
    tx: &Transaction<'_>,
    code_key: &[u8; 32],
    now: u64,
    valid_hours: u64,
    report_days: u64,
) -> rusqlite::Result<IssuedCode> {
    let code = codes::generate();
    let normalized = codes::normalize(&code).unwrap_or_default();
    let expires_at = now + valid_hours * 3600;
    let report_since = now.saturating_sub(report_days * 86_400);
    tx.execute(
        "INSERT INTO auth_codes (hash, issued_hour, expires_at, report_since) VALUES (?1, ?2, ?3, ?4)",
        params![codes::code_hash(code_key, &normalized), hour(now), ts(expires_at), ts(report_since)],
    )?;
    Ok(IssuedCode {
        auth_code: code,
        expires_at,
        report_since,
    })
}

/// `(report_since, expires_at)` of a live, unused code, or `None`.
pub fn check_code(
    conn: &Connection,
    code_key: &[u8; 32],
    text: &str,
    now: u64,
) -> rusqlite::Result<Option<(u64, u64)>> {
    let Some(normalized) = codes::normalize(text) else {
        return Ok(None);
    };
    conn.query_row(
        "SELECT report_since, expires_at FROM auth_codes WHERE hash = ?1 AND used = 0 AND expires_at > ?2",
        params![codes::code_hash(code_key, &normalized), ts(now)],
        |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
    )
    .optional()
}

/// What one envelope turned out to be.
#[derive(Debug)]
pub enum Opened {
    /// A padding envelope: dropped.
    Padding,
    /// A verified check-in, with its (still sealed) envelope kept for approval.
    Visit {
        /// Venue display info and times.
        row: ReviewRow,
        /// The sealed envelope bytes.
        envelope: Vec<u8>,
    },
    /// An envelope that failed verification: shown to staff with the problem.
    Invalid(ReviewRow),
}

/// The displayable part of an uploaded check-in.
#[derive(Debug, Clone, Default)]
pub struct ReviewRow {
    /// Venue name.
    pub venue_name: String,
    /// Venue address.
    pub venue_address: String,
    /// Category slug.
    pub category: String,
    /// Arrival.
    pub arrival: u64,
    /// Departure.
    pub departure: u64,
    /// `hour` or `day`.
    pub epoch_kind: &'static str,
    /// Verification problem, if any.
    pub problem: Option<String>,
    /// The code's venue key and timestamp (for the registry check, `registry.rs`).
    pub venue: Option<([u8; 32], u64)>,
    /// What the code's certificate says.
    pub registration: String,
    /// |arrival − code time|, seconds.
    pub arrival_offset: u64,
    /// The code's wire version.
    pub code_version: u8,
}

/// How a certificate's verdict is shown to staff.
pub fn registration_text(r: &Registration) -> String {
    match r {
        Registration::Registered {
            serial,
            valid_until,
        } => format!(
            "registered, serial {serial}, until UTC day {}",
            valid_until.0
        ),
        Registration::Unregistered(UnregisteredReason::NoCertificate) => {
            "unregistered: no certificate".into()
        }
        Registration::Unregistered(UnregisteredReason::Expired) => {
            "unregistered: certificate expired".into()
        }
        Registration::Unregistered(UnregisteredReason::NotValid) => {
            "unregistered: certificate not valid for these details".into()
        }
    }
}

/// Opens and verifies every envelope (CPU work; call off the async runtime). A
/// check-in whose arrival is before `report_since` (the window the authorization
/// code asks for) is not approvable: it comes back `Invalid`, and nothing of it is
/// kept but the problem.
pub fn open_envelopes(
    envelopes: &[ReportEnvelope],
    keys: &AuthorityKeys,
    descriptor: &AuthorityDescriptor,
    report_since: u64,
) -> Vec<Opened> {
    envelopes
        .iter()
        .map(|env| match env.open_and_verify(keys, descriptor) {
            Ok(None) => Opened::Padding,
            Ok(Some(v)) if v.arrival.0 < report_since => Opened::Invalid(ReviewRow {
                epoch_kind: "hour",
                problem: Some("check-in before the window this authorization code asks for".into()),
                registration: "unknown".into(),
                code_version: v.code.version,
                ..ReviewRow::default()
            }),
            Ok(Some(v)) => Opened::Visit {
                row: ReviewRow {
                    venue_name: v.code.venue.name.clone(),
                    venue_address: v.code.venue.address.clone(),
                    category: v.code.venue.category.slug().to_owned(),
                    arrival: v.arrival.0,
                    departure: v.departure.0,
                    epoch_kind: match v.code.kind {
                        CodeKind::Screen => "hour",
                        CodeKind::Poster => "day",
                    },
                    problem: None,
                    venue: Some((v.code.venue_key.to_bytes(), v.code.timestamp.0)),
                    registration: registration_text(&v.registration),
                    arrival_offset: v.arrival_offset_secs(),
                    code_version: v.code.version,
                },
                envelope: env.as_bytes().to_vec(),
            },
            Err(e) => Opened::Invalid(ReviewRow {
                epoch_kind: "hour",
                problem: Some(format!("verification failed: {e}")),
                registration: "unknown".into(),
                code_version: 2,
                ..ReviewRow::default()
            }),
        })
        .collect()
}

/// Why an upload was not stored.
#[derive(Debug)]
pub enum UploadRefused {
    /// Wrong, used or expired code.
    Code,
    /// Database failure.
    Db(rusqlite::Error),
}

impl From<rusqlite::Error> for UploadRefused {
    fn from(e: rusqlite::Error) -> Self {
        UploadRefused::Db(e)
    }
}

/// The receipt of an upload: `HMAC-SHA256(code key, label ‖ code ‖ envelopes)`
/// cut to 16 bytes, hex. The same body (same code, same envelopes) always gets the
/// same receipt, so a retry after a lost answer can be recognised; it names
/// nothing but the upload.
pub fn receipt(code_key: &[u8; 32], code_text: &str, envelopes: &[ReportEnvelope]) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let code = codes::normalize(code_text).unwrap_or_else(|| code_text.to_owned());
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(code_key)
        .unwrap_or_else(|_| <Hmac<sha2::Sha256> as KeyInit>::new(&Default::default()));
    mac.update(b"quet/v1/server/receipt");
    mac.update(&u64::try_from(code.len()).unwrap_or(u64::MAX).to_be_bytes());
    mac.update(code.as_bytes());
    for e in envelopes {
        mac.update(e.as_bytes());
    }
    let tag = mac.finalize().into_bytes();
    data_encoding::HEXLOWER.encode(tag.get(..16).unwrap_or(&[]))
}

/// Whether an upload with this receipt is stored (a retry of it is answered with
/// the same receipt and stores nothing).
pub fn has_receipt(conn: &Connection, receipt: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS(SELECT 1 FROM reports WHERE receipt = ?1)",
        [receipt],
        |r| r.get(0),
    )
}

/// Spends the code and stores the review rows, in one transaction. Returns the
/// number of rows stored: one per verified check-in, plus at most one row that
/// sums up the envelopes that failed verification (so one code queues at most its
/// real check-ins and one summary, never a row per bad envelope).
pub fn store_upload(
    tx: &Transaction<'_>,
    code_key: &[u8; 32],
    code_text: &str,
    receipt: &str,
    opened: &[Opened],
    now: u64,
    retention_hours: u64,
) -> Result<usize, UploadRefused> {
    let normalized = codes::normalize(code_text).ok_or(UploadRefused::Code)?;
    let spent = tx.execute(
        "UPDATE auth_codes SET used = 1 WHERE hash = ?1 AND used = 0 AND expires_at > ?2",
        params![codes::code_hash(code_key, &normalized), ts(now)],
    )?;
    if spent != 1 {
        return Err(UploadRefused::Code);
    }
    let delete_after = ts(now + retention_hours * 3600);
    let failed: Vec<&ReviewRow> = opened
        .iter()
        .filter_map(|o| match o {
            Opened::Invalid(row) => Some(row),
            _ => None,
        })
        .collect();
    let summary = (!failed.is_empty()).then(|| {
        let mut problems: Vec<&str> = failed
            .iter()
            .filter_map(|r| r.problem.as_deref())
            .map(|p| p.trim_start_matches("verification failed: "))
            .collect();
        problems.sort_unstable();
        problems.dedup();
        let shown: Vec<&str> = problems.iter().take(3).copied().collect();
        ReviewRow {
            epoch_kind: "hour",
            problem: Some(format!(
                "{} envelope(s) of this upload failed verification: {}{}",
                failed.len(),
                shown.join("; "),
                if problems.len() > shown.len() {
                    "; …"
                } else {
                    ""
                }
            )),
            ..ReviewRow::default()
        }
    });
    let mut stored = 0;
    {
        let mut ins = tx.prepare(
            "INSERT INTO reviews (receipt, envelope, venue_name, venue_address, category, arrival, departure, epoch_kind, verified, problem, received_hour, delete_after, registration, arrival_offset, code_version)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        )?;
        let visits = opened.iter().filter_map(|o| match o {
            Opened::Visit { row, envelope } => Some((row, Some(envelope.as_slice()), true)),
            _ => None,
        });
        for (row, envelope, verified) in visits.chain(summary.as_ref().map(|r| (r, None, false))) {
            ins.execute(params![
                receipt,
                envelope,
                row.venue_name,
                row.venue_address,
                row.category,
                ts(row.arrival),
                ts(row.departure),
                row.epoch_kind,
                verified,
                row.problem,
                hour(now),
                delete_after,
                row.registration,
                ts(row.arrival_offset),
                row.code_version
            ])?;
            if let Some((key, at)) = row.venue {
                crate::registry::note_review_venue(tx, tx.last_insert_rowid(), &key, at)?;
            }
            stored += 1;
        }
    }
    tx.execute(
        "INSERT INTO reports (receipt, received_hour, checkins) VALUES (?1, ?2, ?3)",
        params![
            receipt,
            hour(now),
            i64::try_from(stored).unwrap_or(i64::MAX)
        ],
    )?;
    Ok(stored)
}
