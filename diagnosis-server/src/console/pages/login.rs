//! Logging in and out. The login form is protected against CSRF by a token bound
//! to a cookie ([`super::super::csrf`]) and against guessing by
//! [`super::super::throttle`]; a successful login starts a server-side session and
//! leaves a known-device cookie.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::Empty;
use crate::console::auth::{Console, ConsoleForm, presented_session};
use crate::console::html::{self, esc};
use crate::console::throttle::{self, Attempt};
use crate::console::{ConsoleState, csrf, session};
use crate::db::now;
use crate::{audit, password, staff};

fn login_page(s: &ConsoleState, status: StatusCode, notice: &str, name: &str) -> Response {
    let (nonce, token) = csrf::new_login_token(&s.console.login_key, now());
    let body = format!(
        "{notice}<form method=\"post\" action=\"/console/login\" class=\"card\">\
<input type=\"hidden\" name=\"login_csrf\" value=\"{token}\">\
<label for=\"name\">Tên đăng nhập / Name</label><input type=\"text\" id=\"name\" name=\"name\" value=\"{name}\" autocomplete=\"username\" required>\
<label for=\"password\">Mật khẩu / Password</label><input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>\
<button id=\"login\">Đăng nhập / Log in</button></form>\
<p class=\"muted\">Chỉ dành cho nhân viên Sở Y tế. Mọi thao tác đều được ghi nhật ký.<br>\
<span class=\"en\">Health-authority staff only. Every action is recorded in the audit log.</span></p>",
        name = esc(name)
    );
    let mut r = (status, html::bare_page("Đăng nhập / Log in", &body)).into_response();
    r.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(s.console.secure, csrf::LOGIN_COOKIE, &nonce, csrf::LOGIN_FORM_SECS),
    );
    r
}

/// `GET /console/login`.
pub async fn form(State(s): State<ConsoleState>, headers: HeaderMap) -> Response {
    if let Some(id) = presented_session(&headers, s.console.secure) {
        let (idle, abs) = (s.config().session_idle_secs, s.config().session_absolute_secs);
        let live = s
            .app
            .read(move |c, _| Ok(session::touch(c, &id, now(), idle, abs)?))
            .await
            .ok()
            .flatten()
            .is_some();
        if live {
            return Redirect::to("/console/").into_response();
        }
    }
    login_page(&s, StatusCode::OK, "", "")
}

/// The login form's fields.
#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    login_csrf: String,
}

/// `POST /console/login`.
pub async fn login(
    State(s): State<ConsoleState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(mut f) = serde_urlencoded::from_bytes::<LoginForm>(&body) else {
        return login_page(&s, StatusCode::BAD_REQUEST, &html::message("error", "Biểu mẫu không hợp lệ.", "Invalid form."), "");
    };
    let t = now();
    let login_cookie = session::cookie(&headers, &session::cookie_name(s.console.secure, csrf::LOGIN_COOKIE));
    if !csrf::check_login_token(&s.console.login_key, login_cookie.as_deref(), &f.login_csrf, t) {
        tracing::warn!("console: login form without a valid login token refused");
        return login_page(
            &s,
            StatusCode::FORBIDDEN,
            &html::message(
                "error",
                "Biểu mẫu đăng nhập đã hết hạn hoặc không đến từ trang này. Hãy thử lại.",
                "The login form expired or did not come from this page (login CSRF check). Please try again.",
            ),
            "",
        );
    }
    let name = f.name.trim().to_owned();
    let device = session::cookie(&headers, &session::cookie_name(s.console.secure, throttle::DEVICE_COOKIE))
        .and_then(|v| throttle::check_device_cookie(&s.console.device_key, &name, &v));
    let attempt = Attempt {
        account: &name,
        address: peer.ip(),
        device,
    };
    if let Err(wait) = s.console.throttle.check(&attempt, t) {
        let mut r = login_page(
            &s,
            StatusCode::TOO_MANY_REQUESTS,
            &html::message(
                "error",
                &format!("Quá nhiều lần đăng nhập sai. Hãy thử lại sau {wait} giây."),
                &format!("Too many failed logins. Try again in {wait} seconds."),
            ),
            &name,
        );
        if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return r;
    }
    let lookup = name.clone();
    let record = s
        .app
        .read(move |c, _| Ok(staff::login_record(c, &lookup)?))
        .await
        .ok()
        .flatten();
    let pw = Zeroizing::new(std::mem::take(&mut f.password));
    let stored = record.as_ref().map(|(_, h)| h.clone());
    let ok = tokio::task::spawn_blocking(move || password::verify(&pw, stored.as_deref()))
        .await
        .unwrap_or(false);
    let (idle, abs) = (s.config().session_idle_secs, s.config().session_absolute_secs);
    match (ok, record) {
        (true, Some((staff_id, _))) => {
            s.console.throttle.success(&attempt);
            let who = name.clone();
            let created = s
                .app
                .write(move |tx, _| {
                    session::purge(tx, t, idle, abs)?;
                    let id = session::create(tx, staff_id, t)?;
                    audit::record(tx, t, &who, "console.login", None)?;
                    Ok(id)
                })
                .await;
            let Ok(id) = created else {
                return login_page(&s, StatusCode::INTERNAL_SERVER_ERROR, &html::message("error", "Lỗi máy chủ.", "Server error."), &name);
            };
            let mut r = Redirect::to("/console/").into_response();
            let h = r.headers_mut();
            h.append(header::SET_COOKIE, session::set_cookie(s.console.secure, session::SESSION_COOKIE, &id, abs));
            h.append(header::SET_COOKIE, session::set_cookie(s.console.secure, csrf::LOGIN_COOKIE, "", 0));
            if device.is_none() {
                let v = throttle::new_device_cookie(&s.console.device_key, &name);
                h.append(header::SET_COOKIE, session::set_cookie(s.console.secure, throttle::DEVICE_COOKIE, &v, throttle::DEVICE_COOKIE_SECS));
            }
            r
        }
        (_, record) => {
            s.console.throttle.failure(&attempt, t);
            if record.is_some() {
                let who = name.clone();
                let _ = s
                    .app
                    .write(move |tx, _| Ok(audit::record(tx, t, &who, "console.login_failed", Some(&peer.ip().to_string()))?))
                    .await;
            }
            login_page(
                &s,
                StatusCode::UNAUTHORIZED,
                &html::message("error", "Sai tên đăng nhập hoặc mật khẩu.", "Wrong name or password."),
                &name,
            )
        }
    }
}

/// `POST /console/logout`: deletes the session row, so the cookie is worthless
/// from now on even if someone kept a copy.
pub async fn logout(State(s): State<ConsoleState>, c: Console, ConsoleForm(_): ConsoleForm<Empty>) -> Response {
    let id = c.session_id.clone();
    let who = c.member().name.clone();
    let _ = s
        .app
        .write(move |tx, _| {
            session::destroy(tx, &id)?;
            audit::record(tx, now(), &who, "console.logout", None)?;
            Ok(())
        })
        .await;
    let mut r = html::bare_page(
        "Đã đăng xuất / Logged out",
        "<p>Bạn đã đăng xuất. Phiên làm việc đã bị hủy trên máy chủ.</p>\
<p class=\"en\">You are logged out; the session was ended on the server.</p>\
<p><a href=\"/console/login\" id=\"login-again\">Đăng nhập lại / Log in again</a></p>",
    );
    r.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(s.console.secure, session::SESSION_COOKIE, "", 0),
    );
    r
}
