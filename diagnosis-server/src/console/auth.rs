//! Extractors: [`Console`] (a live session, or a redirect to the login page) and
//! [`ConsoleForm`] (a form body whose CSRF token matches the session), and
//! [`ConsoleError`], which renders failures as a page.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use super::html::{self, Viewer, esc};
use super::{ConsoleState, csrf, session};
use crate::db::now;
use crate::error::ApiError;
use crate::roles::{Action, StaffMember};
use crate::staff;

/// A logged-in staff member (live session).
#[derive(Debug, Clone)]
pub struct Console {
    /// Who and their CSRF token.
    pub viewer: Viewer,
    /// The session id from the cookie (for logout).
    pub session_id: Zeroizing<String>,
}

impl Console {
    /// The staff member.
    pub fn member(&self) -> &StaffMember {
        &self.viewer.member
    }

    /// `Ok` if allowed, else the 403 page.
    pub fn require(&self, action: Action) -> Result<(), ConsoleError> {
        self.viewer.member.require(action).map_err(ConsoleError)
    }
}

/// The session id a request presents, if any.
pub fn presented_session(parts_headers: &axum::http::HeaderMap, secure: bool) -> Option<String> {
    session::cookie(
        parts_headers,
        &session::cookie_name(secure, session::SESSION_COOKIE),
    )
}

impl FromRequestParts<ConsoleState> for Console {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        s: &ConsoleState,
    ) -> Result<Self, Response> {
        let login = || Redirect::to("/console/login").into_response();
        let Some(id) = presented_session(&parts.headers, s.console.secure) else {
            return Err(login());
        };
        let id = Zeroizing::new(id);
        let (idle, absolute) = (s.config().session_idle_secs, s.config().session_absolute_secs);
        let lookup = id.clone();
        let member = s
            .app
            .write(move |tx, _| {
                let Some(staff_id) = session::touch(tx, &lookup, now(), idle, absolute)? else {
                    return Ok(None);
                };
                Ok(staff::member(tx, staff_id)?)
            })
            .await
            .map_err(IntoResponse::into_response)?;
        match member {
            Some(member) => Ok(Console {
                viewer: Viewer {
                    csrf: csrf::session_token(&id),
                    member,
                },
                session_id: id,
            }),
            None => Err(login()),
        }
    }
}

/// Largest urlencoded console form, bytes.
pub const FORM_LIMIT: usize = 32 * 1024;

/// A urlencoded form whose `csrf` field is the session's token.
#[derive(Debug)]
pub struct ConsoleForm<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequest<ConsoleState> for ConsoleForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, s: &ConsoleState) -> Result<Self, Response> {
        let session = presented_session(req.headers(), s.console.secure).map(Zeroizing::new);
        let bytes = axum::body::to_bytes(req.into_body(), FORM_LIMIT)
            .await
            .map_err(|_| ConsoleError(ApiError::too_large(FORM_LIMIT)).into_response())?;
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
        let token = pairs
            .iter()
            .find(|(k, _)| k == "csrf")
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        let valid = session
            .as_ref()
            .is_some_and(|id| csrf::check_session_token(id, token));
        if !valid {
            return Err(csrf_refused());
        }
        serde_urlencoded::from_bytes(&bytes)
            .map(ConsoleForm)
            .map_err(|e| {
                ConsoleError(ApiError::bad_request(format!(
                    "Biểu mẫu không hợp lệ / Invalid form: {e}"
                )))
                .into_response()
            })
    }
}

/// The 403 page for a missing or wrong CSRF token.
pub fn csrf_refused() -> Response {
    (
        StatusCode::FORBIDDEN,
        html::bare_page(
            "Bị từ chối / Refused",
            "<p>Biểu mẫu đã hết hạn hoặc không đến từ trang quản trị. Hãy mở lại trang và thử lại.</p>\
<p class=\"en\">The form expired or did not come from the console (CSRF token missing or wrong). \
Open the page again and retry.</p><p><a href=\"/console/\">Quét console</a></p>",
        ),
    )
        .into_response()
}

/// An error shown as a console page with the error's status.
#[derive(Debug)]
pub struct ConsoleError(pub ApiError);

impl From<ApiError> for ConsoleError {
    fn from(e: ApiError) -> Self {
        ConsoleError(e)
    }
}

impl From<crate::error::ServerError> for ConsoleError {
    fn from(e: crate::error::ServerError) -> Self {
        match e {
            crate::error::ServerError::Other(m) => ConsoleError(ApiError::bad_request(m)),
            e => ConsoleError(ApiError::internal("console", e)),
        }
    }
}

impl From<rusqlite::Error> for ConsoleError {
    fn from(e: rusqlite::Error) -> Self {
        ConsoleError(ApiError::from(e))
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let e = self.0;
        let title = match e.status {
            StatusCode::FORBIDDEN => "Không có quyền / Not allowed",
            StatusCode::NOT_FOUND => "Không tìm thấy / Not found",
            StatusCode::CONFLICT => "Không thực hiện được / Cannot do that",
            s if s.is_server_error() => "Lỗi máy chủ / Server error",
            _ => "Không hợp lệ / Not accepted",
        };
        (
            e.status,
            html::bare_page(
                title,
                &format!(
                    "<div class=\"error\" role=\"alert\">{}</div><p><a href=\"/console/\">← Quay lại bảng điều khiển / Back to the console</a></p>",
                    esc(&e.message)
                ),
            ),
        )
            .into_response()
    }
}
