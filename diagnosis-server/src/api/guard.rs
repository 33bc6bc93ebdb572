//! The layer every request passes: a whole-request time limit (503 `timeout`), a
//! deadline on the request body (408 `body_timeout`), JSON for every error, and the
//! security headers (`X-Content-Type-Options: nosniff` always,
//! `Strict-Transport-Security` when clients come over TLS).
//!
//! Errors that a framework layer or extractor produces in plain text (an
//! unparseable path parameter, a form that does not decode, an unknown method) are
//! rewritten here as `{"error", "message"}` with the same status and headers, so a
//! client never has to parse anything but JSON. HTML pages of the console keep
//! their HTML.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::BoxError;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::{Frame, SizeHint};

use crate::error::ApiError;
use crate::metrics::inc;
use crate::state::AppState;

/// `Strict-Transport-Security` value: one year, this host only.
pub const HSTS: &str = "max-age=31536000";

/// The error a request body yields once its deadline has passed.
#[derive(Debug, Clone, Copy)]
pub struct BodyDeadline(pub u64);

impl std::fmt::Display for BodyDeadline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "request body not received within {} s", self.0)
    }
}

impl std::error::Error for BodyDeadline {}

/// A request body that fails with [`BodyDeadline`] once its deadline passes.
struct DeadlineBody {
    inner: Body,
    deadline: Pin<Box<tokio::time::Sleep>>,
    secs: u64,
}

impl http_body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|r| r.map_err(BoxError::from)));
        }
        if this.deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(Box::new(BodyDeadline(this.secs)))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        http_body::Body::is_end_stream(&self.inner)
    }

    fn size_hint(&self) -> SizeHint {
        http_body::Body::size_hint(&self.inner)
    }
}

/// Maps an error met while reading a body: 408 after the deadline, 400 otherwise
/// (the connection broke, the framing was wrong).
pub fn body_error(e: axum::Error) -> ApiError {
    match e.into_inner().downcast::<BodyDeadline>() {
        Ok(d) => ApiError::body_timeout(d.0),
        Err(_) => ApiError::bad_request("the request body could not be read"),
    }
}

fn may_have_body(m: &Method) -> bool {
    !matches!(
        *m,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::DELETE
    )
}

/// The middleware (see the module documentation).
pub async fn guard(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let total = Duration::from_secs(s.config.request_timeout_secs);
    let req = if may_have_body(req.method()) {
        let secs = s.config.body_timeout_secs;
        req.map(|inner| {
            Body::new(DeadlineBody {
                inner,
                deadline: Box::pin(tokio::time::sleep(Duration::from_secs(secs))),
                secs,
            })
        })
    } else {
        req
    };
    let mut resp = match tokio::time::timeout(total, next.run(req)).await {
        Ok(r) => r,
        Err(_) => {
            inc(&s.metrics.request_timeouts);
            ApiError::timeout(super::secs(total)).into_response()
        }
    };
    let status = resp.status();
    if status.is_client_error() || status.is_server_error() {
        if status == axum::http::StatusCode::REQUEST_TIMEOUT {
            inc(&s.metrics.body_timeouts);
        }
        let content_type = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let is_json = content_type.starts_with("application/json");
        let is_html = content_type.starts_with("text/html");
        if !is_json && !is_html {
            let mut json = ApiError::from_status(status).into_response();
            for (name, value) in resp.headers() {
                if name != header::CONTENT_TYPE
                    && name != header::CONTENT_LENGTH
                    && name != header::CACHE_CONTROL
                {
                    json.headers_mut().append(name.clone(), value.clone());
                }
            }
            resp = json;
        }
    }
    let h = resp.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if s.https {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    resp
}
