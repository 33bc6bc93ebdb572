//! The server's error type and its JSON rendering `{"error", "message"}`.
//!
//! Every failure a handler can meet maps to one [`ApiError`] with the status and
//! the snake_case kind that `spec/api.md` documents. Messages never contain secrets
//! or envelope contents.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// An error answered to an HTTP client.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Machine-readable kind (`bad_request`, `auth_code_invalid`, ...).
    pub kind: &'static str,
    /// Human-readable explanation.
    pub message: String,
    /// Seconds for a `Retry-After` header (429).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// A new error.
    pub fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            kind,
            message: message.into(),
            retry_after: None,
        }
    }
    /// 400 `bad_request`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    /// 409 `conflict`.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }
    /// 401 `unauthorized` (staff token missing or wrong).
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid staff token is required",
        )
    }
    /// 401 `auth_code_invalid`: the same answer for a wrong, used or expired code.
    pub fn auth_code_invalid() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "auth_code_invalid",
            "the authorization code is wrong, already used or expired",
        )
    }
    /// 413 `payload_too_large`.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body is larger than {limit} bytes"),
        )
    }
    /// 415 `unsupported_media_type`.
    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the body must be application/json",
        )
    }
    /// 429 `rate_limited` with `Retry-After`.
    pub fn rate_limited(retry_after: u64) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many attempts; try again later",
        );
        e.retry_after = Some(retry_after.max(1));
        e
    }
    /// 503 `busy`.
    pub fn busy() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "too many concurrent uploads; try again shortly",
        )
    }
    /// 503 `busy` for any bounded resource, with its own message.
    pub fn busy_with(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "busy", message)
    }
    /// 408 `body_timeout`: the request body did not arrive in time.
    pub fn body_timeout(secs: u64) -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "body_timeout",
            format!("the request body did not arrive within {secs} s"),
        )
    }
    /// 503 `timeout`: the request took longer than the server's time limit.
    pub fn timeout(secs: u64) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            format!("the request took longer than {secs} s; try again"),
        )
    }
    /// 405 `method_not_allowed`.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this path does not answer this method",
        )
    }
    /// 400 `unknown_district`: not on the authority's list of districts.
    pub fn unknown_district() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "unknown_district",
            "the district is not on the authority's list (GET /v1/districts)",
        )
    }
    /// 429 `publish_throttled` with `Retry-After`.
    pub fn publish_throttled(retry_after: u64, limit: &str) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "publish_throttled",
            format!(
                "at most {limit}: every phone downloads every bulletin; queued notices go out with the next one"
            ),
        );
        e.retry_after = Some(retry_after.max(1));
        e
    }
    /// The JSON error for a status produced outside the handlers (a framework
    /// rejection, a layer): a generic kind per status, the reason phrase as message.
    pub fn from_status(status: StatusCode) -> Self {
        let kind = match status {
            StatusCode::BAD_REQUEST => "bad_request",
            StatusCode::UNAUTHORIZED => "unauthorized",
            StatusCode::FORBIDDEN => "forbidden",
            StatusCode::NOT_FOUND => "not_found",
            StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
            StatusCode::REQUEST_TIMEOUT => "body_timeout",
            StatusCode::CONFLICT => "conflict",
            StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            StatusCode::UNPROCESSABLE_ENTITY => "unprocessable",
            StatusCode::TOO_MANY_REQUESTS => "rate_limited",
            StatusCode::SERVICE_UNAVAILABLE => "unavailable",
            s if s.is_server_error() => "internal",
            _ => "bad_request",
        };
        Self::new(
            status,
            kind,
            status.canonical_reason().unwrap_or("request refused"),
        )
    }
    /// 500 `internal`: details go to the log, not to the client.
    pub fn internal(context: &str, err: impl std::fmt::Display) -> Self {
        tracing::error!(%context, error = %err, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal server error",
        )
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        ApiError::internal("database", e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.kind, "message": self.message });
        let mut resp = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        resp
    }
}

/// Errors of the command-line and start-up paths (not HTTP).
#[derive(Debug)]
pub enum ServerError {
    /// File-system trouble, with the path concerned.
    Io(String, std::io::Error),
    /// Database trouble.
    Db(rusqlite::Error),
    /// A protocol-level failure (keys, descriptor, bulletin).
    Protocol(quet_protocol::Error),
    /// Anything else, explained.
    Other(String),
}

impl std::fmt::Display for ServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServerError::Io(p, e) => write!(f, "{p}: {e}"),
            ServerError::Db(e) => write!(f, "database: {e}"),
            ServerError::Protocol(e) => write!(f, "protocol: {e:?}"),
            ServerError::Other(s) => f.write_str(s),
        }
    }
}

impl std::error::Error for ServerError {}

impl From<rusqlite::Error> for ServerError {
    fn from(e: rusqlite::Error) -> Self {
        ServerError::Db(e)
    }
}

impl From<quet_protocol::Error> for ServerError {
    fn from(e: quet_protocol::Error) -> Self {
        ServerError::Protocol(e)
    }
}
