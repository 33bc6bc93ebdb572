//! Trace decisions and the four-eyes rule, shared by the admin API and the console.
//!
//! A *trace* is either approving an uploaded check-in (a review) or tracing a venue
//! from its tracing sheet. Tracers and publishers may decide one; what happens next:
//!
//! - a publisher, four-eyes rule off: the notices are queued for the next bulletin
//!   at once;
//! - otherwise (a tracer, or four-eyes on) the decision becomes a **proposal**, and
//!   only a publisher confirms it; with four-eyes on, never the person who proposed
//!   it. For a review, the review row (and its sealed envelope) stays in the queue
//!   until confirmed, and the notice is built then; for a sheet trace, the notices
//!   are built at once (the sheet is not kept) and held in status `proposed`, which
//!   publication ignores, until confirmed (`queued`) or declined (`cancelled`).
//!
//! Every step is audited in the same transaction. Each queued notice gets a label
//! for staff (venue and window, no case identifier) so that it can be recognised
//! on the notices page.

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};

use crate::audit::record;
use crate::console::ConsoleConfig;
use quet_protocol::time::UtcOffset;
use crate::error::ApiError;
use crate::keystore::Authority;
use crate::review::{self, NoticeParams, TraceRequest};
use crate::roles::{Action, StaffMember};

/// What became of a decision.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Decision {
    /// `queued` (in the next bulletin) or `proposed` (awaiting a publisher).
    pub status: String,
    /// The proposal awaiting confirmation, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proposal: Option<i64>,
    /// Nonces (hex) of the notices built so far.
    pub notices: Vec<String>,
}

/// Notice parameters kept with a review proposal (serialisable twin of
/// [`NoticeParams`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredParams {
    severity: String,
    #[serde(default)]
    template: Option<String>,
    message_vi: String,
    message_en: String,
    buffer_minutes: u64,
}

fn queued(notices: Vec<String>) -> Decision {
    Decision {
        status: "queued".into(),
        proposal: None,
        notices,
    }
}

fn decides_alone(actor: &StaffMember, four_eyes: bool) -> bool {
    actor.can(Action::ConfirmTrace) && !four_eyes
}

fn label_notices(
    tx: &Transaction<'_>,
    nonces_hex: &[String],
    label: &str,
    by: &str,
) -> Result<(), ApiError> {
    for n in nonces_hex {
        let nonce = data_encoding::HEXLOWER
            .decode(n.as_bytes())
            .map_err(|e| ApiError::internal("notice nonce", e))?;
        tx.execute(
            "INSERT OR REPLACE INTO notice_labels (nonce, label, created_by) VALUES (?1, ?2, ?3)",
            params![nonce, label, by],
        )?;
    }
    Ok(())
}

/// A review's label: venue, address and claimed stay, in local time.
fn review_label(tx: &Transaction<'_>, id: i64, offset_minutes: i32) -> Result<(String, bool), ApiError> {
    let row: Option<(String, String, i64, i64, bool)> = tx
        .query_row(
            "SELECT venue_name, venue_address, arrival, departure, verified FROM reviews WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?;
    let Some((name, address, a, d, verified)) = row else {
        return Err(ApiError::not_found("no pending review with this id"));
    };
    let fmt = |t: i64| crate::console::localtime::format(t.max(0) as u64, offset_minutes);
    Ok((format!("{name}, {address}: {} – {}", fmt(a), fmt(d)), verified))
}

fn pending_for_review(tx: &Transaction<'_>, id: i64) -> rusqlite::Result<Option<i64>> {
    tx.query_row(
        "SELECT id FROM proposals WHERE kind = 'review' AND review_id = ?1 AND state = 'pending'",
        [id],
        |r| r.get(0),
    )
    .optional()
}

/// Approves review `id` (directly or as a proposal).
pub fn approve_review(
    tx: &Transaction<'_>,
    authority: &Authority,
    actor: &StaffMember,
    console: &ConsoleConfig,
    id: i64,
    p: &NoticeParams,
    now: u64,
) -> Result<Decision, ApiError> {
    actor.require(Action::ProposeTrace)?;
    let four_eyes = console.four_eyes;
    let (label, verified) = review_label(tx, id, i32::from(authority.descriptor.utc_offset.0))?;
    if let Some(pid) = pending_for_review(tx, id)? {
        return Err(ApiError::conflict(format!(
            "this check-in already awaits confirmation (proposal {pid})"
        )));
    }
    if decides_alone(actor, four_eyes) {
        let ids = review::approve(tx, authority, id, p, now)?;
        label_notices(tx, &ids, &label, &actor.name)?;
        record(
            tx,
            now,
            &actor.name,
            "review.approve",
            Some(&format!("review {id} -> notices {}", ids.join(","))),
        )?;
        return Ok(queued(ids));
    }
    if !verified {
        return Err(ApiError::conflict(
            "this check-in did not verify and cannot be approved; reject it",
        ));
    }
    // Check the parameters now, not at confirmation.
    review::parse_severity(&p.severity)?;
    let no_template = match &p.template {
        Some(t) => review::parse_template(t)? == quet_protocol::notice::TEMPLATE_NONE,
        None => false,
    };
    if p.buffer_minutes > 24 * 60
        || (no_template && (p.message_vi.trim().is_empty() || p.message_en.trim().is_empty()))
    {
        return Err(ApiError::bad_request(
            "without a template both messages are required; buffer_minutes is at most 1440",
        ));
    }
    let stored = serde_json::to_string(&StoredParams {
        severity: p.severity.clone(),
        template: p.template.clone(),
        message_vi: p.message_vi.clone(),
        message_en: p.message_en.clone(),
        buffer_minutes: p.buffer_minutes,
    })
    .map_err(|e| ApiError::internal("proposal params", e))?;
    tx.execute(
        "INSERT INTO proposals (kind, review_id, params, label, proposed_by, proposed_at, state)
         VALUES ('review', ?1, ?2, ?3, ?4, ?5, 'pending')",
        params![id, stored, label, actor.name, crate::db::ts(now)],
    )?;
    let pid = tx.last_insert_rowid();
    record(
        tx,
        now,
        &actor.name,
        "review.propose",
        Some(&format!("review {id} -> proposal {pid}")),
    )?;
    Ok(Decision {
        status: "proposed".into(),
        proposal: Some(pid),
        notices: Vec::new(),
    })
}

/// Traces a venue from its sheet (directly or as a proposal). `label` names the
/// venue for staff (the sheet itself carries no name).
pub fn trace(
    tx: &Transaction<'_>,
    actor: &StaffMember,
    four_eyes: bool,
    req: &TraceRequest,
    label: &str,
    offset: UtcOffset,
    now: u64,
) -> Result<Decision, ApiError> {
    actor.require(Action::ProposeTrace)?;
    let ids = review::trace(tx, req, offset, now)?;
    label_notices(tx, &ids, label, &actor.name)?;
    if decides_alone(actor, four_eyes) {
        record(
            tx,
            now,
            &actor.name,
            "trace.publish",
            Some(&format!("notices {}", ids.join(","))),
        )?;
        return Ok(queued(ids));
    }
    tx.execute(
        "INSERT INTO proposals (kind, label, proposed_by, proposed_at, state)
         VALUES ('trace', ?1, ?2, ?3, 'pending')",
        params![label, actor.name, crate::db::ts(now)],
    )?;
    let pid = tx.last_insert_rowid();
    for n in &ids {
        let nonce = data_encoding::HEXLOWER
            .decode(n.as_bytes())
            .map_err(|e| ApiError::internal("notice nonce", e))?;
        tx.execute(
            "UPDATE notices SET status = 'proposed' WHERE nonce = ?1 AND status = 'queued'",
            [&nonce],
        )?;
        tx.execute(
            "INSERT INTO proposal_notices (proposal_id, nonce) VALUES (?1, ?2)",
            params![pid, nonce],
        )?;
    }
    record(
        tx,
        now,
        &actor.name,
        "trace.propose",
        Some(&format!("proposal {pid} -> notices {}", ids.join(","))),
    )?;
    Ok(Decision {
        status: "proposed".into(),
        proposal: Some(pid),
        notices: ids,
    })
}

struct Pending {
    state: String,
    kind: String,
    review_id: Option<i64>,
    params: Option<String>,
    label: String,
    proposed_by: String,
}

fn pending(tx: &Transaction<'_>, id: i64) -> Result<Pending, ApiError> {
    let row = tx
        .query_row(
            "SELECT kind, review_id, params, label, proposed_by, state FROM proposals WHERE id = ?1",
            [id],
            |r| {
                Ok(Pending {
                    kind: r.get(0)?,
                    review_id: r.get(1)?,
                    params: r.get(2)?,
                    label: r.get(3)?,
                    proposed_by: r.get(4)?,
                    state: r.get(5)?,
                })
            },
        )
        .optional()?;
    let Some(p) = row else {
        return Err(ApiError::not_found("no such proposal"));
    };
    if p.state != "pending" {
        return Err(ApiError::conflict(format!(
            "this proposal is already {}",
            p.state
        )));
    }
    Ok(p)
}

fn proposal_nonces(tx: &Transaction<'_>, id: i64) -> rusqlite::Result<Vec<Vec<u8>>> {
    let mut st = tx.prepare("SELECT nonce FROM proposal_notices WHERE proposal_id = ?1")?;
    let rows = st.query_map([id], |r| r.get(0))?;
    rows.collect()
}

/// Confirms proposal `id`: its notices are queued for the next bulletin.
pub fn confirm(
    tx: &Transaction<'_>,
    authority: &Authority,
    actor: &StaffMember,
    four_eyes: bool,
    id: i64,
    now: u64,
) -> Result<Decision, ApiError> {
    actor.require(Action::ConfirmTrace)?;
    let p = pending(tx, id)?;
    if four_eyes && p.proposed_by == actor.name {
        return Err(crate::roles::forbidden(
            "four-eyes rule: a second staff member must confirm what you proposed",
        ));
    }
    let ids = match p.kind.as_str() {
        "review" => {
            let review_id = p
                .review_id
                .ok_or_else(|| ApiError::internal("proposal", "review proposal without review"))?;
            let stored: StoredParams = serde_json::from_str(p.params.as_deref().unwrap_or(""))
                .map_err(|e| ApiError::internal("proposal params", e))?;
            let params = NoticeParams {
                severity: stored.severity,
                template: stored.template,
                message_vi: stored.message_vi,
                message_en: stored.message_en,
                buffer_minutes: stored.buffer_minutes,
            };
            let ids = review::approve(tx, authority, review_id, &params, now).map_err(|e| {
                if e.status == axum::http::StatusCode::NOT_FOUND {
                    ApiError::conflict(
                        "the check-in is gone (its retention deadline passed); decline this proposal",
                    )
                } else {
                    e
                }
            })?;
            label_notices(tx, &ids, &p.label, &p.proposed_by)?;
            ids
        }
        _ => {
            let mut ids = Vec::new();
            for nonce in proposal_nonces(tx, id)? {
                tx.execute(
                    "UPDATE notices SET status = 'queued' WHERE nonce = ?1 AND status = 'proposed'",
                    [&nonce],
                )?;
                ids.push(data_encoding::HEXLOWER.encode(&nonce));
            }
            ids
        }
    };
    tx.execute(
        "UPDATE proposals SET state = 'confirmed', decided_by = ?1, decided_at = ?2 WHERE id = ?3",
        params![actor.name, crate::db::ts(now), id],
    )?;
    record(
        tx,
        now,
        &actor.name,
        "proposal.confirm",
        Some(&format!(
            "proposal {id} by {} -> notices {}",
            p.proposed_by,
            ids.join(",")
        )),
    )?;
    Ok(queued(ids))
}

/// Declines proposal `id`: a sheet trace's notices are cancelled; a review goes
/// back to the queue.
pub fn decline(
    tx: &Transaction<'_>,
    actor: &StaffMember,
    id: i64,
    now: u64,
) -> Result<(), ApiError> {
    actor.require(Action::ConfirmTrace)?;
    let p = pending(tx, id)?;
    for nonce in proposal_nonces(tx, id)? {
        tx.execute(
            "UPDATE notices SET status = 'cancelled' WHERE nonce = ?1 AND status = 'proposed'",
            [&nonce],
        )?;
    }
    tx.execute(
        "UPDATE proposals SET state = 'declined', decided_by = ?1, decided_at = ?2 WHERE id = ?3",
        params![actor.name, crate::db::ts(now), id],
    )?;
    record(
        tx,
        now,
        &actor.name,
        "proposal.decline",
        Some(&format!("proposal {id} ({}) by {}", p.kind, p.proposed_by)),
    )?;
    Ok(())
}

/// One proposal as listed.
#[derive(Debug, Clone, Serialize)]
pub struct ProposalRow {
    /// Id.
    pub id: i64,
    /// `review` or `trace`.
    pub kind: String,
    /// The review it approves.
    pub review_id: Option<i64>,
    /// Venue and window.
    pub label: String,
    /// Who proposed it.
    pub proposed_by: String,
    /// When, Unix seconds.
    pub proposed_at: u64,
    /// `pending`, `confirmed` or `declined`.
    pub state: String,
    /// Who decided.
    pub decided_by: Option<String>,
    /// The message (review proposals): severity, template, extra Vietnamese and
    /// English text.
    pub message: Option<(String, Option<String>, String, String)>,
}

/// Pending proposals first, then the latest decided ones (at most 200 in all).
pub fn list(conn: &Connection) -> rusqlite::Result<Vec<ProposalRow>> {
    let mut st = conn.prepare(
        "SELECT id, kind, review_id, label, proposed_by, proposed_at, state, decided_by, params
         FROM proposals ORDER BY (state = 'pending') DESC, id DESC LIMIT 200",
    )?;
    let rows = st.query_map([], |r| {
        let params: Option<String> = r.get(8)?;
        Ok(ProposalRow {
            id: r.get(0)?,
            kind: r.get(1)?,
            review_id: r.get(2)?,
            label: r.get(3)?,
            proposed_by: r.get(4)?,
            proposed_at: r.get::<_, i64>(5)?.max(0) as u64,
            state: r.get(6)?,
            decided_by: r.get(7)?,
            message: params
                .and_then(|p| serde_json::from_str::<StoredParams>(&p).ok())
                .map(|p| (p.severity, p.template, p.message_vi, p.message_en)),
        })
    })?;
    rows.collect()
}

/// Review ids with a pending proposal.
pub fn reviews_awaiting_confirmation(conn: &Connection) -> rusqlite::Result<Vec<(i64, i64, String)>> {
    let mut st = conn.prepare(
        "SELECT review_id, id, proposed_by FROM proposals WHERE kind = 'review' AND state = 'pending'",
    )?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    rows.collect()
}
