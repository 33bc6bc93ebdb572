//! The HTTP interface: routes of `spec/api.md`, limits and shared helpers.

pub mod admin;
pub mod app;
pub mod guard;
pub mod public;
pub mod registry;

use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, header};
use axum::routing::{get, post};
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;
use tower::limit::ConcurrencyLimitLayer;
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::state::AppState;

/// Body limit of `POST /v1/reports` (spec: 128 KiB).
pub const REPORT_BODY_LIMIT: usize = 128 * 1024;
/// Body limit of every other JSON body.
pub const SMALL_BODY_LIMIT: usize = 16 * 1024;

/// Every API route the server answers, as `(method, path)` (used by the OpenAPI
/// test). The console's HTML pages are listed in [`crate::console::ROUTES`].
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/v1/descriptor"),
    ("get", "/v1/bulletins/index.json"),
    ("get", "/v1/bulletins/head"),
    ("get", "/v1/bulletins/{sequence}"),
    ("get", "/v1/districts"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
    ("post", "/v1/reports/preview"),
    ("post", "/v1/reports"),
    ("post", "/v1/heartbeats"),
    ("post", "/admin/v1/auth-codes"),
    ("get", "/admin/v1/reviews"),
    ("post", "/admin/v1/reviews/{id}/approve"),
    ("post", "/admin/v1/reviews/{id}/reject"),
    ("post", "/admin/v1/traces/preview"),
    ("post", "/admin/v1/traces"),
    ("post", "/admin/v1/publish"),
    ("post", "/admin/v1/notices/{nonce}/withdraw"),
    ("get", "/admin/v1/audit"),
    ("get", "/admin/v1/stats/venues"),
    ("post", "/v1/registrations"),
    ("get", "/v1/registrations/{venue_key}"),
    ("get", "/admin/v1/registry"),
    ("post", "/admin/v1/registry/batch"),
    ("post", "/admin/v1/registry/{id}/approve"),
    ("post", "/admin/v1/registry/{id}/reject"),
    ("post", "/admin/v1/registry/{id}/renew"),
    ("post", "/admin/v1/registry/{id}/revoke"),
    ("get", "/admin/v1/registry/stats"),
];

/// The full router with its limits.
pub fn router(state: AppState) -> Router {
    let in_flight = state.config.max_in_flight;
    // Downloads are the hot path (every phone, every few hours): no per-request
    // tracing span there; the counters in /metrics cover them.
    let downloads = Router::new()
        .route("/v1/descriptor", get(public::descriptor))
        .route("/v1/bulletins/index.json", get(public::index))
        .route("/v1/bulletins/head", get(public::head))
        .route("/v1/bulletins/{sequence}", get(public::bulletin))
        .route("/v1/districts", get(public::districts))
        .route("/healthz", get(public::healthz))
        .merge(app::router(state.config.app_dir.as_deref()));
    let rest = Router::new()
        .route("/readyz", get(public::readyz))
        .route("/metrics", get(public::metrics))
        .route("/openapi.json", get(public::openapi))
        .route("/v1/reports/preview", post(public::preview))
        .route("/v1/reports", post(public::upload))
        .route("/v1/heartbeats", post(public::heartbeat))
        .route("/admin/v1/auth-codes", post(admin::issue_code))
        .route("/admin/v1/reviews", get(admin::reviews))
        .route("/admin/v1/reviews/{id}/approve", post(admin::approve))
        .route("/admin/v1/reviews/{id}/reject", post(admin::reject))
        .route("/admin/v1/traces/preview", post(admin::trace_preview))
        .route("/admin/v1/traces", post(admin::trace))
        .route("/admin/v1/publish", post(admin::publish))
        .route("/admin/v1/notices/{nonce}/withdraw", post(admin::withdraw))
        .route("/admin/v1/audit", get(admin::audit))
        .route("/admin/v1/stats/venues", get(admin::stats))
        .merge(registry_routes())
        .fallback(|| async { ApiError::not_found("no such resource") })
        .layer(
            // Method and path only: query strings may carry anything a client put
            // there and are never logged.
            TraceLayer::new_for_http().make_span_with(|req: &Request<Body>| {
                tracing::debug_span!("request", method = %req.method(), path = %req.uri().path())
            }),
        );
    let console = crate::console::router(state.clone());
    downloads
        .merge(rest)
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .with_state(state.clone())
        .merge(console)
        .layer(ConcurrencyLimitLayer::new(in_flight))
        .layer(axum::middleware::from_fn_with_state(state, guard::guard))
}

/// The venue registry's routes (`api/registry.rs`; its console page is
/// `console/pages/registry.rs`).
fn registry_routes() -> Router<AppState> {
    Router::new()
        .route("/v1/registrations", post(registry::submit))
        .route("/v1/registrations/{venue_key}", get(registry::status))
        .route("/admin/v1/registry", get(registry::list))
        .route("/admin/v1/registry/batch", post(registry::batch))
        .route("/admin/v1/registry/{id}/approve", post(registry::approve))
        .route("/admin/v1/registry/{id}/reject", post(registry::reject))
        .route("/admin/v1/registry/{id}/renew", post(registry::renew))
        .route("/admin/v1/registry/{id}/revoke", post(registry::revoke))
        .route("/admin/v1/registry/stats", get(registry::stats))
}

/// The router of the private metrics listener (`metrics_listen`): `/metrics`
/// without a token, nothing else.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(public::metrics_private))
        .fallback(|| async { ApiError::not_found("only /metrics is served here") })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .with_state(state.clone())
        .layer(axum::middleware::from_fn_with_state(state, guard::guard))
}

/// Reads a whole body of at most `limit` bytes. Its deadline is the one
/// [`guard::guard`] set on the request; a body that misses it is 408
/// `body_timeout`, one over `limit` is 413.
pub async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(n) = declared
        && n > limit as u64
    {
        // Read (and drop) a moderately oversized body so that the client, which is
        // still sending, sees the 413 instead of a connection reset. Bounded: 4×.
        if n <= 4 * limit as u64 {
            let _ = drain(body, 4 * limit).await;
        }
        return Err(ApiError::too_large(limit));
    }
    let capacity = declared
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(0)
        .min(limit);
    let mut out = Vec::with_capacity(capacity);
    let mut body = body;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(guard::body_error)?;
        if let Ok(data) = frame.into_data() {
            if out.len() + data.len() > limit {
                return Err(ApiError::too_large(limit));
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(out))
}

async fn drain(mut body: Body, limit: usize) -> Result<(), ()> {
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| ())?;
        if let Ok(d) = frame.into_data() {
            seen += d.len();
            if seen > limit {
                return Err(());
            }
        }
    }
    Ok(())
}

/// Reads a JSON body: 415 unless `application/json`, 413 over `limit`, 408 if it
/// arrives too slowly, 400 if it does not parse (truncated, malformed, wrong types,
/// unknown fields).
pub async fn read_json<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<T, ApiError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().eq_ignore_ascii_case("application/json"))
        .unwrap_or(false);
    if !is_json {
        return Err(ApiError::unsupported_media_type());
    }
    let bytes = read_body(headers, body, limit).await?;
    serde_json::from_slice(&bytes).map_err(|e| {
        // Position and class only: never echo the body back (it may hold a code).
        ApiError::bad_request(format!(
            "malformed JSON body ({:?} error at line {} column {})",
            e.classify(),
            e.line(),
            e.column()
        ))
    })
}

/// Seconds in a duration, for messages.
pub(crate) fn secs(d: Duration) -> u64 {
    d.as_secs().max(1)
}
