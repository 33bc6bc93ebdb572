//! The admin API for health-authority staff (`/admin/v1/...`, bearer token). Every
//! call is recorded in the audit log in the same transaction as its effect.

use axum::Json;
use axum::body::Body;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use quet_protocol::time::UnixTime;
use serde::Deserialize;

use super::{SMALL_BODY_LIMIT, read_json};
use crate::audit::AuditFilter;
use crate::db::now;
use crate::error::ApiError;
use crate::metrics::inc;
use crate::review::{self, NoticeParams, TraceRequest};
use crate::roles::{Action, StaffMember};
use crate::state::AppState;
use crate::{decisions, heartbeat, publish, reports, staff};

/// An authenticated staff member (from `Authorization: Bearer <token>`; the console
/// uses its own sessions, never the token).
#[derive(Debug, Clone)]
pub struct Staff(pub StaffMember);

/// The bearer token of a request, if any.
pub fn presented_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned())
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, ApiError> {
        let token = presented_token(&parts.headers).ok_or_else(ApiError::unauthorized)?;
        let member = s
            .read(move |c, _| Ok(staff::authenticate(c, &token)?))
            .await?
            .ok_or_else(ApiError::unauthorized)?;
        Ok(Staff(member))
    }
}

/// `POST /admin/v1/auth-codes` body.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct IssueRequest {
    /// Hours the code stays valid (default: server setting, 24).
    pub valid_hours: Option<u64>,
    /// Days of check-ins asked for (default 14).
    pub report_days: Option<u64>,
}

/// Issues a code (shared by the API and the console).
pub async fn do_issue(
    s: &AppState,
    who: String,
    req: IssueRequest,
) -> Result<reports::IssuedCode, ApiError> {
    let hours = req.valid_hours.unwrap_or(s.config.auth_code_hours);
    let days = req.report_days.unwrap_or(reports::DEFAULT_REPORT_DAYS);
    if hours == 0 || hours > 24 * 14 || days == 0 || days > 21 {
        return Err(ApiError::bad_request(
            "valid_hours must be 1..=336 and report_days 1..=21",
        ));
    }
    s.write(move |tx, inner| {
        let t = now();
        let issued = reports::issue_code(tx, &inner.authority.code_key, t, hours, days)?;
        staff::record(tx, t, &who, "auth_code.issue", None)?;
        Ok(issued)
    })
    .await
}

/// `POST /admin/v1/auth-codes`.
pub async fn issue_code(
    State(s): State<AppState>,
    Staff(who): Staff,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    who.require(Action::IssueCode)?;
    // A bare POST (no body, no content type) takes the defaults.
    let bare = headers.get(header::CONTENT_TYPE).is_none()
        && headers
            .get(header::CONTENT_LENGTH)
            .is_none_or(|v| v.as_bytes() == b"0");
    let req: IssueRequest = if bare {
        IssueRequest::default()
    } else {
        read_json(&headers, body, SMALL_BODY_LIMIT).await?
    };
    let issued = do_issue(&s, who.name, req).await?;
    Ok(Json(issued).into_response())
}

/// `GET /admin/v1/reviews`.
pub async fn reviews(State(s): State<AppState>, Staff(who): Staff) -> Result<Response, ApiError> {
    who.require(Action::ReadReviews)?;
    let list = s
        .write(move |tx, _| {
            staff::record(tx, now(), &who.name, "review.list", None)?;
            Ok(review::list(tx)?)
        })
        .await?;
    Ok(Json(list).into_response())
}

/// Approves a review (API and console): queued at once, or a proposal awaiting a
/// publisher's confirmation ([`decisions`]).
pub async fn do_approve(
    s: &AppState,
    who: StaffMember,
    id: i64,
    p: NoticeParams,
) -> Result<decisions::Decision, ApiError> {
    s.write(move |tx, inner| {
        decisions::approve_review(
            tx,
            &inner.authority,
            &who,
            &inner.config.console,
            id,
            &p,
            now(),
        )
    })
    .await
}

/// `POST /admin/v1/reviews/{id}/approve`.
pub async fn approve(
    State(s): State<AppState>,
    Staff(who): Staff,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let p: NoticeParams = read_json(&headers, body, SMALL_BODY_LIMIT).await?;
    let decision = do_approve(&s, who, id, p).await?;
    Ok(Json(decision).into_response())
}

/// Rejects a review (API and console).
pub async fn do_reject(s: &AppState, who: String, id: i64) -> Result<(), ApiError> {
    s.write(move |tx, _| {
        review::reject(tx, id)?;
        staff::record(
            tx,
            now(),
            &who,
            "review.reject",
            Some(&format!("review {id}")),
        )?;
        Ok(())
    })
    .await
}

/// `POST /admin/v1/reviews/{id}/reject`.
pub async fn reject(
    State(s): State<AppState>,
    Staff(who): Staff,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    who.require(Action::RejectReview)?;
    do_reject(&s, who.name, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /admin/v1/traces/preview`.
pub async fn trace_preview(
    State(s): State<AppState>,
    Staff(who): Staff,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    who.require(Action::ProposeTrace)?;
    let req: TraceRequest = read_json(&headers, body, SMALL_BODY_LIMIT).await?;
    let epochs = review::trace_preview(&req, s.authority.descriptor.utc_offset, now())?;
    s.write(move |tx, _| Ok(staff::record(tx, now(), &who.name, "trace.preview", None)?))
        .await?;
    Ok(Json(serde_json::json!({ "epochs": epochs })).into_response())
}

/// `POST /admin/v1/traces`.
pub async fn trace(
    State(s): State<AppState>,
    Staff(who): Staff,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    who.require(Action::ProposeTrace)?;
    let req: TraceRequest = read_json(&headers, body, SMALL_BODY_LIMIT).await?;
    let decision = s
        .write(move |tx, inner| {
            decisions::trace(
                tx,
                &who,
                inner.config.console.four_eyes,
                &req,
                "tracing sheet (API)",
                inner.authority.descriptor.utc_offset,
                now(),
            )
        })
        .await?;
    Ok(Json(decision).into_response())
}

/// The publish throttle: every phone downloads every bulletin for its whole
/// lifetime, so at most `per_hour` bulletins in any hour and `per_day` in any 24
/// hours (429 `publish_throttled` with `Retry-After` otherwise; queued notices wait
/// for the next bulletin). Counted from the stored bulletins, so a restart does not
/// reset it.
pub fn check_publish_throttle(
    conn: &rusqlite::Connection,
    now: u64,
    per_hour: u32,
    per_day: u32,
) -> Result<(), ApiError> {
    for (window, limit, what) in [(3600u64, per_hour, "hour"), (86_400, per_day, "24 hours")] {
        let since = i64::try_from(now.saturating_sub(window)).unwrap_or(0);
        let (count, oldest): (i64, Option<i64>) = conn.query_row(
            "SELECT COUNT(*), MIN(issued_at) FROM (SELECT issued_at FROM bulletins WHERE issued_at > ?1 ORDER BY issued_at DESC LIMIT ?2)",
            rusqlite::params![since, i64::from(limit)],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if count >= i64::from(limit) {
            let oldest = u64::try_from(oldest.unwrap_or(0)).unwrap_or(0);
            let retry = (oldest + window).saturating_sub(now);
            return Err(ApiError::publish_throttled(
                retry,
                &format!("{limit} bulletins per {what}"),
            ));
        }
    }
    Ok(())
}

/// Publishes now and refreshes the cache (API, console and scheduler).
pub async fn do_publish(s: &AppState, who: String) -> Result<publish::Published, ApiError> {
    let published = s
        .write(move |tx, inner| {
            let t = now();
            check_publish_throttle(
                tx,
                t,
                inner.config.max_bulletins_per_hour,
                inner.config.max_bulletins_per_day,
            )?;
            let p = publish::publish(
                tx,
                &inner.authority,
                t,
                inner.config.bulletin_lifetime_days,
                inner.config.min_bulletin_keys,
            )
            .map_err(|e| ApiError::internal("publish", e))?;
            staff::record(
                tx,
                t,
                &who,
                "bulletin.publish",
                Some(&format!("sequence {}", p.sequence)),
            )?;
            Ok(p)
        })
        .await?;
    inc(&s.metrics.bulletins_published);
    tracing::info!(
        sequence = published.sequence,
        notices = published.notices,
        withdrawn = published.withdrawn,
        "bulletin published"
    );
    s.refresh_cache().await?;
    Ok(published)
}

/// `POST /admin/v1/publish`.
pub async fn publish(State(s): State<AppState>, Staff(who): Staff) -> Result<Response, ApiError> {
    who.require(Action::Publish)?;
    let p = do_publish(&s, who.name).await?;
    Ok(Json(serde_json::json!({ "sequence": p.sequence })).into_response())
}

/// Withdraws a notice (API and console).
pub async fn do_withdraw(s: &AppState, who: String, nonce: String) -> Result<(), ApiError> {
    s.write(move |tx, _| {
        review::withdraw(tx, &nonce)?;
        staff::record(tx, now(), &who, "notice.withdraw", Some(&nonce))?;
        Ok(())
    })
    .await
}

/// `POST /admin/v1/notices/{nonce}/withdraw`.
pub async fn withdraw(
    State(s): State<AppState>,
    Staff(who): Staff,
    Path(nonce): Path<String>,
) -> Result<Response, ApiError> {
    who.require(Action::Withdraw)?;
    do_withdraw(&s, who.name, nonce).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /admin/v1/audit?staff=&action=&since=&until=&object=&before=&limit=`:
/// filtered, newest first.
pub async fn audit(
    State(s): State<AppState>,
    Staff(who): Staff,
    Query(filter): Query<AuditFilter>,
) -> Result<Response, ApiError> {
    who.require(Action::ReadAudit)?;
    let list = s
        .write(move |tx, _| {
            staff::record(tx, now(), &who.name, "audit.read", None)?;
            Ok(crate::audit::query(tx, &filter)?)
        })
        .await?;
    Ok(Json(list).into_response())
}

/// Venue statistics (API and console).
pub async fn do_stats(s: &AppState, who: String) -> Result<Vec<heartbeat::VenueStat>, ApiError> {
    let today = UnixTime(now())
        .day()
        .map_err(|e| ApiError::internal("clock", e))?
        .0;
    s.write(move |tx, _| {
        staff::record(tx, now(), &who, "stats.read", None)?;
        Ok(heartbeat::stats(tx, today)?)
    })
    .await
}

/// `GET /admin/v1/stats/venues`.
pub async fn stats(State(s): State<AppState>, Staff(who): Staff) -> Result<Response, ApiError> {
    who.require(Action::ReadStats)?;
    Ok(Json(do_stats(&s, who.name).await?).into_response())
}
