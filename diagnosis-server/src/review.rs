//! Staff decisions: the review queue, approving (building notices), rejecting,
//! venue-initiated traces from a tracing sheet, and withdrawing notices.
//!
//! Approval re-opens the stored envelope with the capsule key, builds an hour-epoch
//! and a day-epoch notice from the venue-day keys (so visitors who scanned a screen
//! code and those who scanned the poster are both covered), queues both for the next
//! bulletin and deletes the review row with its envelope, in one transaction.

use quet_protocol::envelope::ReportEnvelope;
use quet_protocol::notice::{ExposureNotice, NoticeBody, Severity, trace_windows};
use quet_protocol::time::{Day, Epoch, EpochKind, UnixTime};
use quet_protocol::venue_keys::{DayKey, VenueMasterKey};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};

use crate::db::{hour, ts};
use crate::error::ApiError;
use crate::keystore::Authority;
use crate::rng::system_rng;

/// One pending uploaded check-in, as `GET /admin/v1/reviews` lists it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReviewItem {
    /// Review id.
    pub id: i64,
    /// Receipt of the upload it came in.
    pub receipt: String,
    /// Venue name.
    pub venue_name: String,
    /// Venue address.
    pub venue_address: String,
    /// Category slug.
    pub category: String,
    /// Arrival, Unix seconds.
    pub arrival: u64,
    /// Departure, Unix seconds.
    pub departure: u64,
    /// `hour` (screen code) or `day` (poster).
    pub epoch_kind: String,
    /// Whether the envelope verified.
    pub verified: bool,
    /// The verification problem, if any.
    pub problem: Option<String>,
    /// What the venue registry says about the code's venue (`registry.rs`).
    pub venue_standing: Option<crate::registry::VenueStanding>,
}

/// Pending reviews, oldest first.
pub fn list(conn: &Connection) -> rusqlite::Result<Vec<ReviewItem>> {
    let mut st = conn.prepare(
        "SELECT id, receipt, venue_name, venue_address, category, arrival, departure, epoch_kind, verified, problem FROM reviews ORDER BY id LIMIT 1000",
    )?;
    let rows = st.query_map([], |r| {
        Ok(ReviewItem {
            id: r.get(0)?,
            receipt: r.get(1)?,
            venue_name: r.get(2)?,
            venue_address: r.get(3)?,
            category: r.get(4)?,
            arrival: r.get::<_, i64>(5)?.max(0) as u64,
            departure: r.get::<_, i64>(6)?.max(0) as u64,
            epoch_kind: r.get(7)?,
            verified: r.get(8)?,
            problem: r.get(9)?,
            venue_standing: None,
        })
    })?;
    let mut items = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    for item in &mut items {
        item.venue_standing = crate::registry::review_standing(conn, item.id)?;
    }
    Ok(items)
}

/// What staff decide on an approval or a trace.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticeParams {
    /// `monitor`, `test` or `isolate`.
    pub severity: String,
    /// Message in Vietnamese.
    pub message_vi: String,
    /// Message in English.
    pub message_en: String,
    /// Minutes added before arrival and after departure.
    #[serde(default = "default_buffer")]
    pub buffer_minutes: u64,
}

fn default_buffer() -> u64 {
    30
}

/// Parses a severity slug.
pub fn parse_severity(s: &str) -> Result<Severity, ApiError> {
    match s {
        "monitor" => Ok(Severity::Monitor),
        "test" => Ok(Severity::Test),
        "isolate" => Ok(Severity::Isolate),
        _ => Err(ApiError::bad_request(
            "severity must be monitor, test or isolate",
        )),
    }
}

fn protocol_err(e: quet_protocol::Error) -> ApiError {
    ApiError::bad_request(format!("cannot build the notice: {e}"))
}

/// Builds the hour- and day-epoch notices of one trace.
pub fn build_notices(
    day_keys: &[DayKey],
    arrival: u64,
    departure: u64,
    max_stay_secs: u64,
    p: &NoticeParams,
) -> Result<Vec<ExposureNotice>, ApiError> {
    let severity = parse_severity(&p.severity)?;
    if p.buffer_minutes > 24 * 60 {
        return Err(ApiError::bad_request("buffer_minutes must be at most 1440"));
    }
    let (epoch_window, exact) = trace_windows(
        UnixTime(arrival),
        UnixTime(departure),
        max_stay_secs,
        p.buffer_minutes * 60,
    )
    .map_err(protocol_err)?;
    let body = NoticeBody {
        severity,
        window_start: exact.0,
        window_end: exact.1,
        message_vi: p.message_vi.clone(),
        message_en: p.message_en.clone(),
    };
    let mut rng = system_rng();
    let mut out = Vec::with_capacity(2);
    for kind in [EpochKind::Hour, EpochKind::Day] {
        out.push(
            ExposureNotice::build(&mut rng, day_keys, kind, epoch_window, &body)
                .map_err(protocol_err)?,
        );
    }
    Ok(out)
}

fn queue(
    tx: &rusqlite::Transaction<'_>,
    notices: &[ExposureNotice],
    source: &str,
    now: u64,
) -> Result<Vec<String>, ApiError> {
    let mut ids = Vec::new();
    for n in notices {
        let bytes = n
            .to_bytes()
            .map_err(|e| ApiError::internal("encode notice", e))?;
        tx.execute(
            "INSERT INTO notices (nonce, bytes, source, status, created_hour) VALUES (?1, ?2, ?3, 'queued', ?4)",
            params![n.nonce.as_slice(), bytes, source, hour(now)],
        )?;
        ids.push(data_encoding::HEXLOWER.encode(&n.nonce));
    }
    Ok(ids)
}

/// Approves review `id`: builds and queues its notices, deletes the review and its
/// envelope. Returns the notice nonces (hex).
pub fn approve(
    tx: &Transaction<'_>,
    authority: &Authority,
    id: i64,
    p: &NoticeParams,
    now: u64,
) -> Result<Vec<String>, ApiError> {
    let row: Option<(Option<Vec<u8>>, bool)> = tx
        .query_row(
            "SELECT envelope, verified FROM reviews WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((envelope, verified)) = row else {
        return Err(ApiError::not_found("no pending review with this id"));
    };
    let envelope = match (envelope, verified) {
        (Some(e), true) => e,
        _ => {
            return Err(ApiError::conflict(
                "this check-in did not verify and cannot be approved; reject it",
            ));
        }
    };
    let visit = ReportEnvelope::from_bytes(&envelope)
        .and_then(|e| e.open_and_verify(&authority.keys, &authority.descriptor))
        .map_err(|e| ApiError::internal("re-open stored envelope", e))?
        .ok_or_else(|| ApiError::conflict("padding envelope"))?;
    let notices = build_notices(
        &visit.day_keys,
        visit.arrival.0,
        visit.departure.0,
        visit.code.venue.max_stay_secs(),
        p,
    )?;
    let ids = queue(tx, &notices, "review", now)?;
    tx.execute("DELETE FROM reviews WHERE id = ?1", [id])?;
    Ok(ids)
}

/// Rejects review `id`: deletes it and its envelope.
pub fn reject(tx: &Transaction<'_>, id: i64) -> Result<(), ApiError> {
    let n = tx.execute("DELETE FROM reviews WHERE id = ?1", [id])?;
    if n == 0 {
        return Err(ApiError::not_found("no pending review with this id"));
    }
    Ok(())
}

/// A venue-initiated trace request.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceRequest {
    /// The owner's tracing-sheet text.
    pub sheet: String,
    /// Window start, Unix seconds.
    pub start: u64,
    /// Window end, Unix seconds.
    pub end: u64,
    /// The venue's maximum stay, minutes.
    pub max_stay_minutes: u64,
    /// Buffer, minutes.
    #[serde(default = "default_buffer")]
    pub buffer_minutes: u64,
    /// Severity (publish only).
    #[serde(default)]
    pub severity: Option<String>,
    /// Message in Vietnamese (publish only).
    #[serde(default)]
    pub message_vi: Option<String>,
    /// Message in English (publish only).
    #[serde(default)]
    pub message_en: Option<String>,
}

/// One epoch of a trace preview.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EpochView {
    /// `hour` or `day`.
    pub kind: String,
    /// Epoch index.
    pub index: u32,
    /// Start, Unix seconds.
    pub start: u64,
}

const MAX_TRACE_SECS: u64 = 21 * 86_400;

fn trace_window(req: &TraceRequest) -> Result<(UnixTime, UnixTime), ApiError> {
    if req.end < req.start {
        return Err(ApiError::bad_request("end is before start"));
    }
    if req.end - req.start > MAX_TRACE_SECS
        || req.max_stay_minutes > 24 * 60
        || req.buffer_minutes > 24 * 60
    {
        return Err(ApiError::bad_request(
            "window at most 21 days; max stay and buffer at most 1440 minutes",
        ));
    }
    let (epoch_window, _) = trace_windows(
        UnixTime(req.start),
        UnixTime(req.end),
        req.max_stay_minutes * 60,
        req.buffer_minutes * 60,
    )
    .map_err(protocol_err)?;
    Ok(epoch_window)
}

/// The epochs a trace would publish.
pub fn trace_preview(req: &TraceRequest) -> Result<Vec<EpochView>, ApiError> {
    let w = trace_window(req)?;
    let mut out = Vec::new();
    for kind in [EpochKind::Hour, EpochKind::Day] {
        for e in Epoch::overlapping(kind, w.0, w.1).map_err(protocol_err)? {
            out.push(EpochView {
                kind: match kind {
                    EpochKind::Hour => "hour".into(),
                    EpochKind::Day => "day".into(),
                },
                index: e.index,
                start: e.start().0,
            });
        }
    }
    Ok(out)
}

/// Builds and queues a venue-initiated trace.
pub fn trace(tx: &Transaction<'_>, req: &TraceRequest, now: u64) -> Result<Vec<String>, ApiError> {
    let w = trace_window(req)?;
    let master = VenueMasterKey::from_sheet_text(&req.sheet)
        .map_err(|_| ApiError::bad_request("the tracing sheet text is not valid (checksum)"))?;
    let first = w.0.day().map_err(protocol_err)?;
    let last = w.1.day().map_err(protocol_err)?;
    let day_keys: Vec<DayKey> = (first.0..=last.0).map(|d| master.day_key(Day(d))).collect();
    let p = NoticeParams {
        severity: req.severity.clone().unwrap_or_default(),
        message_vi: req.message_vi.clone().unwrap_or_default(),
        message_en: req.message_en.clone().unwrap_or_default(),
        buffer_minutes: req.buffer_minutes,
    };
    if p.message_vi.is_empty() || p.message_en.is_empty() {
        return Err(ApiError::bad_request(
            "message_vi and message_en are required",
        ));
    }
    let notices = build_notices(&day_keys, req.start, req.end, req.max_stay_minutes * 60, &p)?;
    let ids = queue(tx, &notices, "trace", now)?;
    Ok(ids)
}

/// Withdraws a notice: a queued one is cancelled; a published one is listed as
/// withdrawn by the next bulletin.
pub fn withdraw(tx: &Transaction<'_>, nonce_hex: &str) -> Result<(), ApiError> {
    let nonce = data_encoding::HEXLOWER_PERMISSIVE
        .decode(nonce_hex.as_bytes())
        .ok()
        .filter(|n| n.len() == 16)
        .ok_or_else(|| ApiError::bad_request("the nonce must be 32 hex digits"))?;
    let status: Option<String> = tx
        .query_row(
            "SELECT status FROM notices WHERE nonce = ?1",
            [&nonce],
            |r| r.get(0),
        )
        .optional()?;
    match status.as_deref() {
        None => return Err(ApiError::not_found("no such notice")),
        Some("queued") => {
            tx.execute(
                "UPDATE notices SET status = 'cancelled' WHERE nonce = ?1",
                [&nonce],
            )?;
        }
        Some("published") => {
            tx.execute(
                "UPDATE notices SET status = 'withdraw_queued' WHERE nonce = ?1",
                [&nonce],
            )?;
        }
        Some(_) => return Err(ApiError::conflict("the notice is already withdrawn")),
    }
    Ok(())
}

/// Deletes reviews (with their envelopes) past their deadline. Returns how many.
pub fn purge_expired(tx: &Transaction<'_>, now: u64) -> rusqlite::Result<usize> {
    let n = tx.execute("DELETE FROM reviews WHERE delete_after <= ?1", [ts(now)])?;
    tx.execute(
        "DELETE FROM auth_codes WHERE expires_at <= ?1",
        [ts(now.saturating_sub(86_400))],
    )?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_past_their_deadline_are_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = crate::db::open(&dir.path().join("q.db")).unwrap();
        for (id, deadline) in [(1, 1000), (2, 5000)] {
            conn.execute(
                "INSERT INTO reviews (id, receipt, envelope, venue_name, venue_address, category, arrival, departure, epoch_kind, verified, problem, received_hour, delete_after)
                 VALUES (?1, 'r', x'01', 'v', 'a', 'restaurant', 0, 0, 'hour', 1, NULL, 0, ?2)",
                params![id, deadline],
            )
            .unwrap();
        }
        let tx = conn.transaction().unwrap();
        assert_eq!(purge_expired(&tx, 2000).unwrap(), 1);
        tx.commit().unwrap();
        let left: Vec<i64> = list(&conn).unwrap().iter().map(|r| r.id).collect();
        assert_eq!(left, vec![2]);
    }
}
