//! Public endpoints: descriptor, bulletins, health, metrics, OpenAPI, case reports
//! and venue heartbeats.

use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use quet_protocol::envelope::{ENVELOPE_LEN, REPORT_ENVELOPE_COUNT, ReportEnvelope};
use quet_protocol::time::UnixTime;
use serde::Deserialize;

use super::{REPORT_BODY_LIMIT, SMALL_BODY_LIMIT, read_json};
use crate::client_addr::{Client, ClientAddr};
use crate::db::now;
use crate::error::ApiError;
use crate::heartbeat::{self, Heartbeat};
use crate::limiter::RetryAfter;
use crate::metrics::inc;
use crate::reports::{self, UploadRefused};
use crate::state::AppState;

/// The OpenAPI document.
pub const OPENAPI: &str = include_str!("../../openapi.json");

/// Size of every 202 answer to `POST /v1/reports`, bytes.
pub const RECEIPT_RESPONSE_LEN: usize = 160;

fn octets(bytes: axum::body::Bytes, cache: &'static str) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        bytes,
    )
        .into_response()
}

/// `GET /v1/descriptor`.
pub async fn descriptor(State(s): State<AppState>) -> Response {
    let mut r = octets(s.descriptor.clone(), "public, max-age=300");
    if let Ok(v) = HeaderValue::from_str(&format!(
        "public, max-age={}",
        s.config.descriptor_max_age_secs
    )) {
        r.headers_mut().insert(header::CACHE_CONTROL, v);
    }
    r
}

/// `GET /v1/bulletins/index.json`.
pub async fn index(State(s): State<AppState>) -> Response {
    inc(&s.metrics.index_downloads);
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        s.cache().index.clone(),
    )
        .into_response()
}

/// `GET /v1/bulletins/head`: the signed head, the only statement clients trust
/// about which bulletins exist. Cacheable for a minute.
pub async fn head(State(s): State<AppState>) -> Response {
    inc(&s.metrics.index_downloads);
    match s.cache().head.clone() {
        Some(bytes) => octets(bytes, "public, max-age=60"),
        None => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "no head has been signed yet",
        )
        .into_response(),
    }
}

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The sequence named by a bulletin path, only in its canonical spelling: decimal
/// digits without a leading zero, sign or percent-encoding (`/1`, never `/01`,
/// `/+1` or `/%31`), so each bulletin has exactly one URL and caches hold one copy.
pub fn canonical_sequence(path: &str) -> Option<u64> {
    let segment = path.strip_prefix("/v1/bulletins/")?;
    let canonical = !segment.is_empty()
        && segment.len() <= 20
        && segment.bytes().all(|b| b.is_ascii_digit())
        && !segment.starts_with('0');
    if !canonical {
        return None;
    }
    segment.parse().ok()
}

/// `GET /v1/bulletins/{sequence}`.
pub async fn bulletin(State(s): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    let cache = s.cache();
    let found = canonical_sequence(uri.path())
        // Served exactly while the cached index lists it (the cache is rebuilt every
        // minute), so index and files never disagree.
        .and_then(|n| cache.bulletins.get(&n));
    let Some(b) = found else {
        return ApiError::not_found("no live bulletin with this sequence").into_response();
    };
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim() == b.etag.to_str().unwrap_or("") || t.trim() == "*")
        });
    if matches {
        inc(&s.metrics.bulletin_not_modified);
        return (
            StatusCode::NOT_MODIFIED,
            [
                (header::ETAG, b.etag.clone()),
                (header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE)),
            ],
        )
            .into_response();
    }
    inc(&s.metrics.bulletin_downloads);
    let mut r = octets(b.bytes.clone(), IMMUTABLE);
    r.headers_mut().insert(header::ETAG, b.etag.clone());
    r
}

/// `GET /healthz`.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: 200 when the database answers, 503 otherwise.
pub async fn readyz(State(s): State<AppState>) -> Response {
    let probe = tokio::time::timeout(
        Duration::from_secs(2),
        s.read(|c, _| Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?)),
    )
    .await;
    match probe {
        Ok(Ok(1)) => (StatusCode::OK, "ready").into_response(),
        _ => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "the database does not answer",
        )
        .into_response(),
    }
}

/// `GET /v1/districts`: the authority's list of districts, the only names a
/// heartbeat may claim.
pub async fn districts(State(s): State<AppState>) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            ),
        ],
        s.cache().districts.clone(),
    )
        .into_response()
}

fn render_metrics(s: &AppState) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        s.metrics.render(s.cache().latest),
    )
        .into_response()
}

/// `GET /metrics` on the public listener: only with `Authorization: Bearer
/// <metrics_token>` (401 otherwise); 404 when no token is configured.
pub async fn metrics(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let Some(expected) = s.config.metrics_token.as_deref() else {
        return ApiError::not_found("metrics are served on the private metrics listener only")
            .into_response();
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let hash = |t: &str| -> [u8; 32] {
        use sha2::Digest;
        sha2::Sha256::digest(t.as_bytes()).into()
    };
    let ok: bool = subtle::ConstantTimeEq::ct_eq(&hash(presented)[..], &hash(expected)[..]).into();
    if !ok {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "the metrics token is required",
        )
        .into_response();
    }
    render_metrics(&s)
}

/// `GET /metrics` on the private metrics listener (no token).
pub async fn metrics_private(State(s): State<AppState>) -> Response {
    render_metrics(&s)
}

/// `GET /openapi.json`.
pub async fn openapi() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        OPENAPI,
    )
        .into_response()
}

/// `POST /v1/reports/preview` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    /// The authorization code (any string for chaff).
    pub auth_code: String,
    /// Marks a fake preview: answered like a real one, checks no code, counts
    /// towards no lockout.
    #[serde(default)]
    pub chaff: bool,
}

fn rate_limited(s: &AppState, RetryAfter(secs): RetryAfter) -> ApiError {
    inc(&s.metrics.rate_limited);
    ApiError::rate_limited(secs)
}

/// Counts a code-bearing attempt against the client's and the global budgets.
fn limited(s: &AppState, client: ClientAddr) -> Result<(), ApiError> {
    s.limits
        .attempt(client.key())
        .map_err(|r| rate_limited(s, r))
}

/// The answer to a wrong, used or expired code: 401, or 429 once the client's
/// address has spent its wrong-code budget.
fn code_failure(s: &AppState, client: ClientAddr) -> ApiError {
    match s.limits.wrong_code(client.key()) {
        Ok(()) => ApiError::auth_code_invalid(),
        Err(r) => rate_limited(s, r),
    }
}

/// `POST /v1/reports/preview`.
pub async fn preview(
    State(s): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    limited(&s, client)?;
    let req: PreviewRequest = read_json(&headers, body, SMALL_BODY_LIMIT).await?;
    let chaff = req.chaff;
    // The code is looked up for chaff too (and the answer thrown away), so both
    // cost the same database read.
    let checked_at = now();
    let found = s
        .read(move |c, inner| {
            Ok(reports::check_code(
                c,
                &inner.authority.code_key,
                &req.auth_code,
                checked_at,
            )?)
        })
        .await?;
    // A chaff answer names the window a fresh code with the defaults gets, so it
    // has the shape and size of a real one.
    let window = if chaff {
        Some((
            checked_at.saturating_sub(reports::DEFAULT_REPORT_DAYS * 86_400),
            checked_at.saturating_add(s.config.auth_code_hours.saturating_mul(3600)),
        ))
    } else {
        found
    };
    match window {
        Some((report_since, expires_at)) => Ok(Json(serde_json::json!({
            "report_since": report_since, "expires_at": expires_at
        }))
        .into_response()),
        // Only a real preview's wrong code counts towards the address's budget:
        // chaff never locks out the patients behind the same carrier address.
        None => Err(code_failure(&s, client)),
    }
}

/// `POST /v1/reports` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadRequest {
    /// The authorization code (any string for chaff).
    pub auth_code: String,
    /// Exactly `REPORT_ENVELOPE_COUNT` base64 envelopes.
    pub envelopes: Vec<String>,
    /// Marks a fake request.
    #[serde(default)]
    pub chaff: bool,
}

fn accepted(receipt: &str) -> Response {
    let base = serde_json::json!({ "receipt": receipt, "padding": "" }).to_string();
    let fill = RECEIPT_RESPONSE_LEN.saturating_sub(base.len());
    let body = serde_json::json!({ "receipt": receipt, "padding": " ".repeat(fill) }).to_string();
    (
        StatusCode::ACCEPTED,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response()
}

/// Decodes and length-checks the envelopes: 400 for count/base64, 422 for a bad
/// envelope.
pub fn decode_envelopes(list: &[String]) -> Result<Vec<ReportEnvelope>, ApiError> {
    if list.len() != REPORT_ENVELOPE_COUNT {
        return Err(ApiError::bad_request(format!(
            "exactly {REPORT_ENVELOPE_COUNT} envelopes are required, got {}",
            list.len()
        )));
    }
    let mut out = Vec::with_capacity(list.len());
    for (i, text) in list.iter().enumerate() {
        if text.len() > ENVELOPE_LEN * 2 {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "malformed_envelope",
                format!("envelope {i} is too long"),
            ));
        }
        let bytes = data_encoding::BASE64
            .decode(text.as_bytes())
            .map_err(|_| ApiError::bad_request(format!("envelope {i} is not standard base64")))?;
        out.push(ReportEnvelope::from_bytes(&bytes).map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "malformed_envelope",
                format!("envelope {i}: {e}"),
            )
        })?);
    }
    Ok(out)
}

/// `POST /v1/reports`.
pub async fn upload(
    State(s): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let res = upload_inner(&s, client, headers, body).await;
    match &res {
        Ok(_) => inc(&s.metrics.uploads_answered),
        Err(e) => {
            if e.kind == "busy" {
                inc(&s.metrics.busy);
            }
            inc(&s.metrics.uploads_refused);
        }
    }
    res
}

async fn upload_inner(
    s: &AppState,
    client: ClientAddr,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    limited(s, client)?;
    // Receive the whole body first, within its deadline and under bounds on bodies
    // in flight (per address and overall); only then take a verification slot, so
    // slow senders cannot hold the slots that finished uploads need.
    let _address_body = s
        .upload_bodies_per_address
        .try_take(client.key())
        .ok_or_else(|| {
            ApiError::busy_with("too many uploads from this address at once; try again shortly")
        })?;
    let _body = s
        .upload_bodies
        .try_acquire()
        .map_err(|_| ApiError::busy())?;
    let req: UploadRequest = read_json(&headers, body, REPORT_BODY_LIMIT).await?;
    let _permit = s.uploads.try_acquire().map_err(|_| ApiError::busy())?;
    let envelopes = decode_envelopes(&req.envelopes)?;
    let receipt = reports::receipt(&s.authority.code_key, &req.auth_code, &envelopes);
    let chaff = req.chaff;
    let mut report_since = 0;
    if !chaff {
        let code = req.auth_code.clone();
        let r = receipt.clone();
        let (live, stored_before) = s
            .read(move |c, inner| {
                let live = reports::check_code(c, &inner.authority.code_key, &code, now())?;
                let stored = live.is_none() && reports::has_receipt(c, &r)?;
                Ok((live, stored))
            })
            .await?;
        if stored_before {
            // A retry of an upload that was stored (its answer was lost): the same
            // receipt, nothing new stored.
            return Ok(accepted(&receipt));
        }
        match live {
            Some((since, _)) => report_since = since,
            None => return Err(code_failure(s, client)),
        }
    }
    // Verification runs for chaff too, so both cost the same.
    let st = s.clone();
    let opened = tokio::task::spawn_blocking(move || {
        reports::open_envelopes(
            &envelopes,
            &st.authority.keys(),
            &st.authority.descriptor,
            report_since,
        )
    })
    .await
    .map_err(|e| ApiError::internal("verify envelopes", e))?;
    if chaff {
        drop(opened);
        let wait = s.store_micros.load(std::sync::atomic::Ordering::Relaxed);
        tokio::time::sleep(Duration::from_micros(wait)).await;
        return Ok(accepted(&receipt));
    }
    let started = Instant::now();
    let code = req.auth_code;
    let rc = receipt.clone();
    let retention = s.config.envelope_retention_hours;
    let stored = s
        .write(move |tx, inner| {
            match reports::store_upload(
                tx,
                &inner.authority.code_key,
                &code,
                &rc,
                &opened,
                now(),
                retention,
            ) {
                Ok(n) => Ok(Some(n)),
                // The same body raced in on another connection and won.
                Err(UploadRefused::Code) if reports::has_receipt(tx, &rc)? => Ok(None),
                Err(UploadRefused::Code) => Err(ApiError::auth_code_invalid()),
                Err(UploadRefused::Db(e)) => Err(ApiError::from(e)),
            }
        })
        .await;
    match stored {
        Ok(Some(n)) => {
            s.note_store_time(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
            tracing::info!(rows = n, "case report stored");
            Ok(accepted(&receipt))
        }
        Ok(None) => Ok(accepted(&receipt)),
        Err(e) if e.kind == "auth_code_invalid" => Err(code_failure(s, client)),
        Err(e) => Err(e),
    }
}

/// `POST /v1/heartbeats`.
pub async fn heartbeat(
    State(s): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    s.limits
        .heartbeat(client.key())
        .map_err(|r| rate_limited(&s, r))?;
    let hb: Heartbeat = read_json(&headers, body, SMALL_BODY_LIMIT).await?;
    let pseudonym = heartbeat::pseudonym(&hb)?;
    s.limits
        .pseudonym(pseudonym)
        .map_err(|r| rate_limited(&s, r))?;
    let today = UnixTime(now())
        .day()
        .map_err(|e| ApiError::internal("clock", e))?
        .0;
    s.write(move |tx, _| heartbeat::record(tx, &hb, today))
        .await?;
    inc(&s.metrics.heartbeats);
    Ok(StatusCode::NO_CONTENT.into_response())
}
