//! The admin API for health-authority staff (`/admin/v1/...`, bearer token). Every
//! call is recorded in the audit log in the same transaction as its effect.

use axum::Json;
use axum::body::Body;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use quet_protocol::time::UnixTime;
use serde::Deserialize;

use super::{SMALL_BODY_LIMIT, read_json};
use crate::db::now;
use crate::error::ApiError;
use crate::metrics::inc;
use crate::review::{self, NoticeParams, TraceRequest};
use crate::state::AppState;
use crate::{heartbeat, publish, reports, staff};

/// An authenticated staff member (from `Authorization: Bearer` or the console
/// cookie).
#[derive(Debug, Clone)]
pub struct Staff(pub String);

/// The bearer token or console cookie of a request, if any.
pub fn presented_token(headers: &HeaderMap) -> Option<String> {
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        return v.strip_prefix("Bearer ").map(|t| t.trim().to_owned());
    }
    headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|c| {
            c.split(';')
                .filter_map(|kv| kv.trim().strip_prefix("quet_staff="))
                .next()
                .map(str::to_owned)
        })
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, ApiError> {
        let token = presented_token(&parts.headers).ok_or_else(ApiError::unauthorized)?;
        let name = s
            .read(move |c, _| Ok(staff::authenticate(c, &token)?))
            .await?
            .ok_or_else(ApiError::unauthorized)?;
        Ok(Staff(name))
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
    let days = req.report_days.unwrap_or(14);
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
    let issued = do_issue(&s, who, req).await?;
    Ok(Json(issued).into_response())
}

/// `GET /admin/v1/reviews`.
pub async fn reviews(State(s): State<AppState>, Staff(who): Staff) -> Result<Response, ApiError> {
    let list = s
        .write(move |tx, _| {
            staff::record(tx, now(), &who, "review.list", None)?;
            Ok(review::list(tx)?)
        })
        .await?;
    Ok(Json(list).into_response())
}

/// Approves a review (API and console).
pub async fn do_approve(
    s: &AppState,
    who: String,
    id: i64,
    p: NoticeParams,
) -> Result<Vec<String>, ApiError> {
    s.write(move |tx, inner| {
        let t = now();
        let ids = review::approve(tx, &inner.authority, id, &p, t)?;
        staff::record(
            tx,
            t,
            &who,
            "review.approve",
            Some(&format!("review {id} -> notices {}", ids.join(","))),
        )?;
        Ok(ids)
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
    let ids = do_approve(&s, who, id, p).await?;
    Ok(Json(serde_json::json!({ "notices": ids })).into_response())
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
    do_reject(&s, who, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /admin/v1/traces/preview`.
pub async fn trace_preview(
    State(s): State<AppState>,
    Staff(who): Staff,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let req: TraceRequest = read_json(&headers, body, SMALL_BODY_LIMIT).await?;
    let epochs = review::trace_preview(&req, s.authority.descriptor.utc_offset, now())?;
    s.write(move |tx, _| Ok(staff::record(tx, now(), &who, "trace.preview", None)?))
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
    let req: TraceRequest = read_json(&headers, body, SMALL_BODY_LIMIT).await?;
    let ids = s
        .write(move |tx, inner| {
            let t = now();
            let ids = review::trace(tx, &req, inner.authority.descriptor.utc_offset, t)?;
            staff::record(
                tx,
                t,
                &who,
                "trace.publish",
                Some(&format!("notices {}", ids.join(","))),
            )?;
            Ok(ids)
        })
        .await?;
    Ok(Json(serde_json::json!({ "notices": ids })).into_response())
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
    let p = do_publish(&s, who).await?;
    Ok(Json(serde_json::json!({ "sequence": p.sequence })).into_response())
}

/// `POST /admin/v1/notices/{nonce}/withdraw`.
pub async fn withdraw(
    State(s): State<AppState>,
    Staff(who): Staff,
    Path(nonce): Path<String>,
) -> Result<Response, ApiError> {
    s.write(move |tx, _| {
        review::withdraw(tx, &nonce)?;
        staff::record(tx, now(), &who, "notice.withdraw", Some(&nonce))?;
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /admin/v1/audit`.
pub async fn audit(State(s): State<AppState>, Staff(who): Staff) -> Result<Response, ApiError> {
    let list = s
        .write(move |tx, _| {
            staff::record(tx, now(), &who, "audit.read", None)?;
            Ok(staff::audit(tx, 1000)?)
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
    Ok(Json(do_stats(&s, who).await?).into_response())
}
