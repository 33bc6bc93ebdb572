//! Cross-site request forgery defences of the console, three independent layers:
//!
//! 1. [`same_origin_writes`]: every request other than GET/HEAD is refused (403)
//!    unless the browser says it comes from the console's own origin:
//!    `Sec-Fetch-Site`, when sent, must be `same-origin`, and `Origin`, when sent,
//!    must be the console's origin. A page on another port of the same host is
//!    same-site but not same-origin, so it is refused, as is `Origin: null`.
//! 2. Session forms carry `csrf` = `HMAC-SHA256(session id, "quet/v1/console/csrf")`
//!    (base64url), compared in constant time. It needs no storage and dies with
//!    the session.
//! 3. The login form (no session yet) carries a token bound to a `quet_login`
//!    cookie: `nonce ‖ expiry ‖ HMAC(process key, label ‖ nonce ‖ expiry)`; the
//!    cookie holds the nonce. A page elsewhere cannot read the form, so it cannot
//!    log a browser in as someone else (login CSRF).
//!
//! Cookies are `SameSite=Strict` on top, which keeps them off cross-site requests
//! (but not off same-site ones, hence 1 and 2).

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::ConsoleState;
use super::html;
use crate::rng::random_bytes;

/// Label of session CSRF tokens.
pub const CSRF_LABEL: &[u8] = b"quet/v1/console/csrf";
/// Label of login-form tokens.
pub const LOGIN_LABEL: &[u8] = b"quet/v1/console/login-form";
/// Base name of the login-form cookie.
pub const LOGIN_COOKIE: &str = "quet_login";
/// How long a login form stays usable, seconds.
pub const LOGIN_FORM_SECS: u64 = 3600;

fn mac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| <Hmac<Sha256> as KeyInit>::new(&Default::default()));
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

/// The CSRF token of a session.
pub fn session_token(session_id: &str) -> String {
    data_encoding::BASE64URL_NOPAD.encode(&mac(session_id.as_bytes(), &[CSRF_LABEL]))
}

/// Whether `presented` is the session's token (constant time).
pub fn check_session_token(session_id: &str, presented: &str) -> bool {
    let expected = session_token(session_id);
    expected.len() == presented.len() && bool::from(expected.as_bytes().ct_eq(presented.as_bytes()))
}

/// A fresh login form: `(cookie nonce, form token)`.
pub fn new_login_token(key: &[u8; 32], now: u64) -> (String, String) {
    let nonce: [u8; 16] = random_bytes();
    let expiry = (now + LOGIN_FORM_SECS).to_be_bytes();
    let tag = mac(key, &[LOGIN_LABEL, &nonce, &expiry]);
    let mut token = Vec::with_capacity(56);
    token.extend_from_slice(&nonce);
    token.extend_from_slice(&expiry);
    token.extend_from_slice(&tag);
    (
        data_encoding::BASE64URL_NOPAD.encode(&nonce),
        data_encoding::BASE64URL_NOPAD.encode(&token),
    )
}

/// Whether a login form's token is genuine, unexpired and bound to the cookie.
pub fn check_login_token(key: &[u8; 32], cookie_nonce: Option<&str>, token: &str, now: u64) -> bool {
    let Some(cookie_nonce) = cookie_nonce else {
        return false;
    };
    let Ok(raw) = data_encoding::BASE64URL_NOPAD.decode(token.as_bytes()) else {
        return false;
    };
    let Ok(cookie_raw) = data_encoding::BASE64URL_NOPAD.decode(cookie_nonce.as_bytes()) else {
        return false;
    };
    if raw.len() != 56 {
        return false;
    }
    let (nonce, rest) = raw.split_at(16);
    let (expiry, tag) = rest.split_at(8);
    let expected = mac(key, &[LOGIN_LABEL, nonce, expiry]);
    let genuine = bool::from(expected.ct_eq(tag));
    let bound = cookie_raw.len() == 16 && bool::from(nonce.ct_eq(&cookie_raw));
    let exp = u64::from_be_bytes(expiry.try_into().unwrap_or([0; 8]));
    genuine && bound && now < exp
}

fn is_loopback_host(host: &str) -> bool {
    let h = host.rsplit_once(':').map_or(host, |(h, p)| {
        if p.chars().all(|c| c.is_ascii_digit()) { h } else { host }
    });
    h == "localhost" || h.starts_with("127.") || h == "[::1]"
}

/// Why a write was refused (for the 403 page and the test suite).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// `Sec-Fetch-Site` says the request comes from another origin.
    FetchSite(String),
    /// `Origin` names another origin (or `null`).
    Origin(String),
}

/// Checks the browser's origin headers of a state-changing request.
pub fn check_origin(headers: &HeaderMap, public_origin: Option<&str>, secure: bool) -> Result<(), Refusal> {
    if let Some(site) = headers.get("sec-fetch-site") {
        let site = site.to_str().unwrap_or("?");
        if site != "same-origin" {
            return Err(Refusal::FetchSite(site.to_owned()));
        }
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        // Not a browser, or a very old one: the CSRF token alone decides.
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or("null");
    let ok = match public_origin {
        Some(expected) => origin == expected.trim_end_matches('/'),
        None => {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("");
            !host.is_empty()
                && (origin == format!("https://{host}")
                    || (origin == format!("http://{host}") && (!secure || is_loopback_host(host))))
        }
    };
    if ok { Ok(()) } else { Err(Refusal::Origin(origin.to_owned())) }
}

/// Middleware: refuses cross-origin writes before any handler runs.
pub async fn same_origin_writes(
    State(s): State<ConsoleState>,
    req: Request<Body>,
    next: Next,
) -> Response {
    if req.method() == Method::GET || req.method() == Method::HEAD {
        return next.run(req).await;
    }
    match check_origin(
        req.headers(),
        s.config().public_origin.as_deref(),
        s.console.secure,
    ) {
        Ok(()) => next.run(req).await,
        Err(why) => {
            tracing::warn!(?why, path = %req.uri().path(), "console: cross-origin write refused");
            (
                StatusCode::FORBIDDEN,
                html::bare_page(
                    "Bị từ chối / Refused",
                    "<p>Yêu cầu này không đến từ trang quản trị nên đã bị từ chối.</p>\
<p class=\"en\">This request did not come from the console's own pages and was refused \
(cross-origin request).</p>",
                ),
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn origin_checks_refuse_other_ports_null_and_cross_site() {
        let own = headers(&[("host", "127.0.0.1:8080"), ("origin", "http://127.0.0.1:8080"), ("sec-fetch-site", "same-origin")]);
        assert_eq!(check_origin(&own, None, true), Ok(()));
        let other_port = headers(&[("host", "127.0.0.1:8080"), ("origin", "http://127.0.0.1:9090")]);
        assert!(check_origin(&other_port, None, false).is_err());
        let same_site = headers(&[("host", "127.0.0.1:8080"), ("sec-fetch-site", "same-site")]);
        assert!(check_origin(&same_site, None, false).is_err());
        let null = headers(&[("host", "127.0.0.1:8080"), ("origin", "null")]);
        assert!(check_origin(&null, None, false).is_err());
        // Over TLS, a plain-http origin on a public host is refused.
        let downgrade = headers(&[("host", "quet.example"), ("origin", "http://quet.example")]);
        assert!(check_origin(&downgrade, None, true).is_err());
        assert!(check_origin(&downgrade, None, false).is_ok());
        let tls = headers(&[("host", "quet.example"), ("origin", "https://quet.example")]);
        assert!(check_origin(&tls, None, true).is_ok());
        // An explicit public origin wins over Host.
        assert!(check_origin(&tls, Some("https://console.quet.example"), true).is_err());
        let configured = headers(&[("host", "10.0.0.5:8080"), ("origin", "https://console.quet.example")]);
        assert!(check_origin(&configured, Some("https://console.quet.example/"), true).is_ok());
        // No browser headers at all: left to the token.
        assert!(check_origin(&headers(&[]), None, true).is_ok());
    }

    #[test]
    fn session_tokens_are_bound_to_the_session() {
        let t = session_token("session-a");
        assert!(check_session_token("session-a", &t));
        assert!(!check_session_token("session-b", &t));
        assert!(!check_session_token("session-a", ""));
    }

    #[test]
    fn login_tokens_need_their_cookie_the_key_and_time() {
        let key = [7u8; 32];
        let (nonce, token) = new_login_token(&key, 1000);
        assert!(check_login_token(&key, Some(&nonce), &token, 1001));
        assert!(!check_login_token(&key, None, &token, 1001), "no cookie");
        let (other_nonce, _) = new_login_token(&key, 1000);
        assert!(!check_login_token(&key, Some(&other_nonce), &token, 1001), "another browser's cookie");
        assert!(!check_login_token(&[8u8; 32], Some(&nonce), &token, 1001), "another key");
        assert!(!check_login_token(&key, Some(&nonce), &token, 1000 + LOGIN_FORM_SECS), "expired");
        assert!(!check_login_token(&key, Some(&nonce), "garbage", 1001));
    }
}
