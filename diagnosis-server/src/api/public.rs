//! Public endpoints: descriptor, bulletins, health, metrics, OpenAPI, case reports
//! and venue heartbeats.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use quet_protocol::envelope::{ENVELOPE_LEN, REPORT_ENVELOPE_COUNT, ReportEnvelope};
use quet_protocol::time::UnixTime;
use serde::Deserialize;

use super::{REPORT_BODY_LIMIT, SMALL_BODY_LIMIT, read_json};
use crate::db::now;
use crate::error::ApiError;
use crate::heartbeat::{self, Heartbeat};
use crate::metrics::inc;
use crate::reports::{self, UploadRefused};
use crate::rng::random_bytes;
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

/// `GET /v1/bulletins/{sequence}`.
pub async fn bulletin(
    State(s): State<AppState>,
    Path(sequence): Path<String>,
    headers: HeaderMap,
) -> Response {
    let cache = s.cache();
    let found = sequence
        .parse::<u64>()
        .ok()
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

/// `GET /metrics`.
pub async fn metrics(State(s): State<AppState>) -> Response {
    let pending = s
        .read(|c, _| Ok(c.query_row("SELECT COUNT(*) FROM reviews", [], |r| r.get::<_, i64>(0))?))
        .await
        .unwrap_or(-1);
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        )],
        s.metrics.render(s.cache().latest, pending),
    )
        .into_response()
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
    /// The authorization code.
    pub auth_code: String,
}

fn limited(s: &AppState, addr: SocketAddr) -> Result<(), ApiError> {
    s.limiter.attempt(addr.ip(), now()).map_err(|retry| {
        inc(&s.metrics.rate_limited);
        ApiError::rate_limited(retry)
    })
}

fn code_failure(s: &AppState, addr: SocketAddr) -> ApiError {
    s.limiter.failure(addr.ip(), now());
    ApiError::auth_code_invalid()
}

/// `POST /v1/reports/preview`.
pub async fn preview(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    limited(&s, addr)?;
    let req: PreviewRequest = read_json(&headers, body, SMALL_BODY_LIMIT).await?;
    let found = s
        .read(move |c, inner| {
            Ok(reports::check_code(
                c,
                &inner.authority.code_key,
                &req.auth_code,
                now(),
            )?)
        })
        .await?;
    match found {
        Some((report_since, expires_at)) => Ok(Json(serde_json::json!({
            "report_since": report_since, "expires_at": expires_at
        }))
        .into_response()),
        None => Err(code_failure(&s, addr)),
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
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let res = upload_inner(&s, addr, headers, body).await;
    if res.is_err() {
        inc(&s.metrics.uploads_rejected);
    }
    res
}

async fn upload_inner(
    s: &AppState,
    addr: SocketAddr,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    limited(s, addr)?;
    let _permit = s.uploads.try_acquire().map_err(|_| ApiError::busy())?;
    let req: UploadRequest = read_json(&headers, body, REPORT_BODY_LIMIT).await?;
    let envelopes = decode_envelopes(&req.envelopes)?;
    let chaff = req.chaff;
    let mut report_since = 0;
    if !chaff {
        let code = req.auth_code.clone();
        let live = s
            .read(move |c, inner| {
                Ok(reports::check_code(
                    c,
                    &inner.authority.code_key,
                    &code,
                    now(),
                )?)
            })
            .await?;
        match live {
            Some((since, _)) => report_since = since,
            None => return Err(code_failure(s, addr)),
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
    let receipt = data_encoding::HEXLOWER.encode(&random_bytes::<16>());
    if chaff {
        drop(opened);
        let wait = s.store_micros.load(std::sync::atomic::Ordering::Relaxed);
        tokio::time::sleep(Duration::from_micros(wait)).await;
        inc(&s.metrics.uploads_chaff);
        return Ok(accepted(&receipt));
    }
    let started = Instant::now();
    let code = req.auth_code;
    let rc = receipt.clone();
    let retention = s.config.envelope_retention_hours;
    let stored = s
        .write(move |tx, inner| {
            reports::store_upload(
                tx,
                &inner.authority.code_key,
                &code,
                &rc,
                &opened,
                now(),
                retention,
            )
            .map_err(|e| match e {
                UploadRefused::Code => ApiError::auth_code_invalid(),
                UploadRefused::Db(e) => ApiError::from(e),
            })
        })
        .await;
    match stored {
        Ok(n) => {
            s.note_store_time(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
            inc(&s.metrics.uploads_accepted);
            tracing::info!(checkins = n, "case report stored");
            Ok(accepted(&receipt))
        }
        Err(e) if e.kind == "auth_code_invalid" => Err(code_failure(s, addr)),
        Err(e) => Err(e),
    }
}

/// `POST /v1/heartbeats`.
pub async fn heartbeat(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    limited(&s, addr)?;
    let hb: Heartbeat = read_json(&headers, body, SMALL_BODY_LIMIT).await?;
    let today = UnixTime(now())
        .day()
        .map_err(|e| ApiError::internal("clock", e))?
        .0;
    s.write(move |tx, _| heartbeat::record(tx, &hb, today))
        .await?;
    inc(&s.metrics.heartbeats);
    Ok(StatusCode::NO_CONTENT.into_response())
}
