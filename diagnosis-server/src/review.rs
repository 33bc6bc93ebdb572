//! Staff decisions: the review queue, approving (building notices), rejecting,
//! venue-initiated traces from a tracing sheet, and withdrawing notices.
//!
//! Approval re-opens the stored envelope with the capsule key and builds one notice
//! from the venue-day keys with a segment per kind of code the venue uses (its
//! hours if it shows a screen, its local days if it prints posters: the code's
//! flags say which), over the smallest epoch windows that still reach every visitor
//! whose stay could overlap the case's (`trace_windows`), queues it for the next
//! bulletin and deletes the review row with its envelope, in one transaction.
//!
//! A venue-initiated trace takes the day keys of only the days it needs: from the
//! venue's day-key sheet (`quet-venue trace-keys`), or, if staff paste the master
//! tracing sheet, derived from it on the spot and the master forgotten at once. It
//! may not reach into the future.

use quet_protocol::code::VenueUses;
use quet_protocol::envelope::ReportEnvelope;
use quet_protocol::notice::{
    ExposureNotice, NoticeBody, Severity, TEMPLATE_ISOLATE, TEMPLATE_MONITOR, TEMPLATE_NONE,
    TEMPLATE_TEST, TracePlan,
};
use quet_protocol::time::{Day, EpochKind, UnixTime, UtcOffset};
use quet_protocol::venue_keys::{DayKey, VenueMasterKey, day_keys_from_text};
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
    /// Whether the venue's code carried a valid certificate of this authority.
    pub registered: bool,
    /// What the certificate says (`registered, serial N` or `unregistered: …`).
    pub registration: String,
    /// How far the claimed arrival is from the code's own time, seconds.
    pub arrival_offset_secs: u64,
    /// Problems for staff to weigh: `unverified`, `arrival far from code time`,
    /// `unregistered venue`, `version 1 code`.
    pub flags: Vec<String>,
}

/// A screen code's arrival further than this from the code's time is flagged (the
/// protocol allows ±120 s; honest phones scan within seconds of display).
pub const ARRIVAL_FLAG_SECS: u64 = 60;

/// Pending reviews, oldest first.
pub fn list(conn: &Connection) -> rusqlite::Result<Vec<ReviewItem>> {
    let mut st = conn.prepare(
        "SELECT id, receipt, venue_name, venue_address, category, arrival, departure, epoch_kind, verified, problem, registration, arrival_offset, code_version FROM reviews ORDER BY id LIMIT 1000",
    )?;
    let rows = st.query_map([], |r| {
        let verified: bool = r.get(8)?;
        let registration: String = r.get(10)?;
        let arrival_offset_secs = r.get::<_, i64>(11)?.max(0) as u64;
        let epoch_kind: String = r.get(7)?;
        let code_version: i64 = r.get(12)?;
        let registered = registration.starts_with("registered");
        let mut flags = Vec::new();
        if !verified {
            flags.push("unverified".to_owned());
        }
        if verified && epoch_kind == "hour" && arrival_offset_secs > ARRIVAL_FLAG_SECS {
            flags.push("arrival far from code time".to_owned());
        }
        if verified && !registered {
            flags.push("unregistered venue".to_owned());
        }
        if code_version == 1 {
            flags.push("version 1 code".to_owned());
        }
        Ok(ReviewItem {
            id: r.get(0)?,
            receipt: r.get(1)?,
            venue_name: r.get(2)?,
            venue_address: r.get(3)?,
            category: r.get(4)?,
            arrival: r.get::<_, i64>(5)?.max(0) as u64,
            departure: r.get::<_, i64>(6)?.max(0) as u64,
            epoch_kind,
            verified,
            problem: r.get(9)?,
            venue_standing: None,
            registered,
            registration,
            arrival_offset_secs,
            flags,
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
    /// Message template: `monitor`, `test`, `isolate` or `none` (default: the one
    /// of the severity). Phones know the templates' bilingual text, so a notice
    /// with no extra text costs 48 bytes of body.
    #[serde(default)]
    pub template: Option<String>,
    /// Extra text in Vietnamese (may be empty with a template).
    #[serde(default)]
    pub message_vi: String,
    /// Extra text in English (may be empty with a template).
    #[serde(default)]
    pub message_en: String,
    /// Minutes added before arrival and after departure.
    #[serde(default = "default_buffer")]
    pub buffer_minutes: u64,
}

fn default_buffer() -> u64 {
    30
}

fn yes() -> bool {
    true
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

/// Parses a template slug (`none` for no template).
pub fn parse_template(s: &str) -> Result<u16, ApiError> {
    match s {
        "none" => Ok(TEMPLATE_NONE),
        "monitor" => Ok(TEMPLATE_MONITOR),
        "test" => Ok(TEMPLATE_TEST),
        "isolate" => Ok(TEMPLATE_ISOLATE),
        _ => Err(ApiError::bad_request(
            "template must be none, monitor, test or isolate",
        )),
    }
}

fn protocol_err(e: quet_protocol::Error) -> ApiError {
    ApiError::bad_request(format!("cannot build the notice: {e}"))
}

/// The body staff asked for.
fn notice_body(p: &NoticeParams, exact: (UnixTime, UnixTime)) -> Result<NoticeBody, ApiError> {
    let severity = parse_severity(&p.severity)?;
    let template = match &p.template {
        Some(t) => parse_template(t)?,
        None => match severity {
            Severity::Monitor => TEMPLATE_MONITOR,
            Severity::Test => TEMPLATE_TEST,
            Severity::Isolate => TEMPLATE_ISOLATE,
        },
    };
    if template == TEMPLATE_NONE
        && (p.message_vi.trim().is_empty() || p.message_en.trim().is_empty())
    {
        return Err(ApiError::bad_request(
            "without a template, message_vi and message_en are required",
        ));
    }
    Ok(NoticeBody {
        severity,
        window_start: exact.0,
        window_end: exact.1,
        template,
        message_vi: p.message_vi.clone(),
        message_en: p.message_en.clone(),
    })
}

/// The epoch kinds a trace publishes for a venue: those of the codes it uses.
/// Version 1 codes: hours and UTC days (their kinds).
pub fn trace_kinds(code_version: u8, uses: VenueUses) -> Vec<EpochKind> {
    if code_version == quet_protocol::code::CODE_VERSION_1 {
        vec![EpochKind::Hour, EpochKind::Day]
    } else {
        uses.epoch_kinds()
    }
}

/// The plan of one trace (protocol: [`TracePlan::new`]).
#[allow(clippy::too_many_arguments)]
pub fn plan_segments(
    arrival: u64,
    departure: u64,
    max_stay_secs: u64,
    buffer_minutes: u64,
    kinds: &[EpochKind],
    offset: UtcOffset,
    now: u64,
) -> Result<TracePlan, ApiError> {
    if buffer_minutes > 24 * 60 {
        return Err(ApiError::bad_request("buffer_minutes must be at most 1440"));
    }
    TracePlan::new(
        UnixTime(arrival),
        UnixTime(departure),
        max_stay_secs,
        buffer_minutes * 60,
        kinds,
        offset,
        UnixTime(now),
    )
    .map_err(|e| match e {
        quet_protocol::Error::InvalidWindow => {
            ApiError::bad_request("nothing to publish: the window is empty or in the future")
        }
        e => protocol_err(e),
    })
}

/// Builds the notice of one trace from a plan.
pub fn build_notice(
    day_keys: &[DayKey],
    plan: &TracePlan,
    p: &NoticeParams,
) -> Result<ExposureNotice, ApiError> {
    let body = notice_body(p, plan.exact)?;
    ExposureNotice::build(&mut system_rng(), day_keys, &plan.segments, &body).map_err(protocol_err)
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
        .and_then(|e| e.open_and_verify(&authority.keys(), &authority.descriptor))
        .map_err(|e| match e {
            quet_protocol::Error::UnknownKeyId { .. } => ApiError::conflict(
                "the capsule key of this check-in has been destroyed (past its retention); it can no longer be traced",
            ),
            e => ApiError::internal("re-open stored envelope", e),
        })?
        .ok_or_else(|| ApiError::conflict("padding envelope"))?;
    let plan = plan_segments(
        visit.arrival.0,
        visit.departure.0,
        visit.code.venue.max_stay_secs(),
        p.buffer_minutes,
        &trace_kinds(visit.code.version, visit.code.uses),
        visit.code.utc_offset,
        now,
    )?;
    let notice = build_notice(&visit.day_keys, &plan, p)?;
    let ids = queue(tx, &[notice], "review", now)?;
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
    /// The venue's day-key sheet (`quet-venue trace-keys`) covering the window, or
    /// its master tracing sheet (only the needed days are derived from it).
    pub sheet: String,
    /// Whether the venue shows a screen (default true).
    #[serde(default = "yes")]
    pub screen: bool,
    /// Whether the venue prints posters (default true).
    #[serde(default = "yes")]
    pub posters: bool,
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
    /// Message template (publish only; default: the severity's).
    #[serde(default)]
    pub template: Option<String>,
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

fn check_trace(req: &TraceRequest, now: u64) -> Result<(), ApiError> {
    if req.end < req.start {
        return Err(ApiError::bad_request("end is before start"));
    }
    if req.end > now {
        return Err(ApiError::bad_request(
            "the window may not reach into the future",
        ));
    }
    if req.end - req.start > MAX_TRACE_SECS
        || req.max_stay_minutes == 0
        || req.max_stay_minutes > 24 * 60
        || req.buffer_minutes > 24 * 60
    {
        return Err(ApiError::bad_request(
            "window at most 21 days; max stay 1..=1440 and buffer at most 1440 minutes",
        ));
    }
    if !req.screen && !req.posters {
        return Err(ApiError::bad_request(
            "the venue must use a screen, posters or both",
        ));
    }
    Ok(())
}

fn trace_uses(req: &TraceRequest) -> VenueUses {
    VenueUses {
        screen: req.screen,
        posters: req.posters,
    }
}

fn trace_plan(req: &TraceRequest, offset: UtcOffset, now: u64) -> Result<TracePlan, ApiError> {
    check_trace(req, now)?;
    plan_segments(
        req.start,
        req.end,
        req.max_stay_minutes * 60,
        req.buffer_minutes,
        &trace_uses(req).epoch_kinds(),
        offset,
        now,
    )
}

/// The epochs a trace would publish (local days in the authority's offset), and
/// the days whose keys it needs.
pub fn trace_preview(
    req: &TraceRequest,
    offset: UtcOffset,
    now: u64,
) -> Result<Vec<EpochView>, ApiError> {
    let plan = trace_plan(req, offset, now)?;
    Ok(plan
        .segments
        .iter()
        .flatten()
        .map(|e| EpochView {
            kind: if e.kind.is_hour() { "hour" } else { "day" }.into(),
            index: e.index,
            start: e.start_with(offset).0,
        })
        .collect())
}

/// The day keys a trace needs, from a day-key sheet (which must cover them) or,
/// deriving only those days and dropping the master at once, from a master sheet.
fn trace_day_keys(sheet: &str, days: &[Day]) -> Result<Vec<DayKey>, ApiError> {
    if let Ok(keys) = day_keys_from_text(sheet) {
        let missing: Vec<String> = days
            .iter()
            .filter(|d| !keys.iter().any(|k| k.day == **d))
            .map(|d| d.0.to_string())
            .collect();
        if !missing.is_empty() {
            return Err(ApiError::bad_request(format!(
                "the day-key sheet lacks days {} (UTC day numbers) that this window needs",
                missing.join(", ")
            )));
        }
        return Ok(keys.into_iter().filter(|k| days.contains(&k.day)).collect());
    }
    let master = VenueMasterKey::from_sheet_text(sheet).map_err(|_| {
        ApiError::bad_request("the sheet text is not a valid day-key or tracing sheet (checksum)")
    })?;
    let keys = days.iter().map(|d| master.day_key(*d)).collect();
    drop(master);
    Ok(keys)
}

/// Builds and queues a venue-initiated trace.
pub fn trace(
    tx: &Transaction<'_>,
    req: &TraceRequest,
    offset: UtcOffset,
    now: u64,
) -> Result<Vec<String>, ApiError> {
    let plan = trace_plan(req, offset, now)?;
    let day_keys = trace_day_keys(&req.sheet, &plan.days())?;
    let p = NoticeParams {
        severity: req.severity.clone().unwrap_or_default(),
        template: req.template.clone(),
        message_vi: req.message_vi.clone().unwrap_or_default(),
        message_en: req.message_en.clone().unwrap_or_default(),
        buffer_minutes: req.buffer_minutes,
    };
    let notice = build_notice(&day_keys, &plan, &p)?;
    let ids = queue(tx, &[notice], "trace", now)?;
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
