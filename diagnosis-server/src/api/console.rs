//! Server-rendered console pages for staff (`/console/`): log in with a staff token
//! (kept in an `HttpOnly`, `SameSite=Strict` cookie scoped to `/console`), review
//! uploaded check-ins, approve or reject, issue codes, publish, and see
//! active-venue counts. Every action goes through the same audited functions as the
//! admin API.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::admin::{Staff, do_approve, do_publish, do_reject, do_stats};
use crate::error::ApiError;
use crate::review::{self, NoticeParams};
use crate::staff;
use crate::state::AppState;

/// HTML-escapes text.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn page(title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\"><title>Quét — {t}</title>\
<style>body{{font-family:sans-serif;max-width:60em;margin:1em auto}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.3em}}</style></head>\
<body><nav><a href=\"/console/\">Quét console</a> · <a href=\"/console/reviews\">Reviews</a> · <a href=\"/console/stats\">Venues</a></nav><h1>{t}</h1>{body}</body></html>",
        t = esc(title)
    );
    (
        [
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
                ),
            ),
            (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        ],
        Html(html),
    )
        .into_response()
}

fn time(t: u64) -> String {
    let secs = t % 86_400;
    let day = t / 86_400;
    format!("day {day} {:02}:{:02} UTC", secs / 3600, secs % 3600 / 60)
}

/// `GET /console/`: login form, or the dashboard when logged in.
pub async fn home(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let token = super::admin::presented_token(&headers);
    let who = match token {
        Some(t) => s
            .read(move |c, _| Ok(staff::authenticate(c, &t)?))
            .await
            .ok()
            .flatten(),
        None => None,
    };
    match who {
        None => page(
            "Đăng nhập / Log in",
            "<form method=\"post\" action=\"/console/login\"><label>Staff token <input name=\"token\" type=\"password\" autocomplete=\"off\"></label> <button>Log in</button></form>",
        ),
        Some(name) => page(
            "Console",
            &format!(
                "<p>Logged in as {}.</p><form method=\"post\" action=\"/console/publish\"><button>Publish now</button></form>\
<form method=\"post\" action=\"/console/logout\"><button>Log out</button></form>",
                esc(&name)
            ),
        ),
    }
}

/// Login form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    /// Staff token.
    pub token: String,
}

/// `POST /console/login`.
pub async fn login(State(s): State<AppState>, Form(f): Form<LoginForm>) -> Response {
    let t = f.token.trim().to_owned();
    let tc = t.clone();
    let ok = s
        .read(move |c, _| Ok(staff::authenticate(c, &tc)?))
        .await
        .ok()
        .flatten()
        .is_some();
    if !ok || t.chars().any(|c| !c.is_ascii_alphanumeric() && c != '_') {
        return (
            StatusCode::UNAUTHORIZED,
            page(
                "Đăng nhập / Log in",
                "<p>Wrong token.</p><a href=\"/console/\">Try again</a>",
            ),
        )
            .into_response();
    }
    let cookie = format!("quet_staff={t}; Path=/console; HttpOnly; SameSite=Strict; Max-Age=28800");
    let mut r = Redirect::to("/console/reviews").into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// `POST /console/logout`.
pub async fn logout() -> Response {
    let mut r = Redirect::to("/console/").into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "quet_staff=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0",
        ),
    );
    r
}

/// `GET /console/reviews`: the review queue with approve/reject forms.
pub async fn reviews(State(s): State<AppState>, Staff(who): Staff) -> Result<Response, ApiError> {
    let list = s
        .write(move |tx, _| {
            staff::record(tx, crate::db::now(), &who, "review.list", None)?;
            Ok(review::list(tx)?)
        })
        .await?;
    let mut rows = String::new();
    for r in &list {
        let status = if r.verified {
            "verified".to_owned()
        } else {
            format!("NOT verified: {}", esc(r.problem.as_deref().unwrap_or("")))
        };
        let status = format!(
            "{status}<br>{}",
            crate::registry::standing_html(r.venue_standing.as_ref())
        );
        rows.push_str(&format!(
            "<tr><td>{id}</td><td>{name}<br><small>{addr}</small></td><td>{cat}</td><td>{a}<br>{d}</td><td>{kind}</td><td>{status}</td><td>\
<form method=\"post\" action=\"/console/reviews/{id}/approve\"><select name=\"severity\"><option>monitor</option><option selected>test</option><option>isolate</option></select>\
<input name=\"message_vi\" placeholder=\"Tin nhắn (VI)\" required><input name=\"message_en\" placeholder=\"Message (EN)\" required>\
<input name=\"buffer_minutes\" value=\"30\" size=\"3\"><button>Approve</button></form>\
<form method=\"post\" action=\"/console/reviews/{id}/reject\"><button>Reject</button></form></td></tr>",
            id = r.id,
            name = esc(&r.venue_name),
            addr = esc(&r.venue_address),
            cat = esc(&r.category),
            a = time(r.arrival),
            d = time(r.departure),
            kind = esc(&r.epoch_kind),
        ));
    }
    let body = format!(
        "<p>{} pending check-ins.</p><table><tr><th>#</th><th>Venue</th><th>Category</th><th>Arrival / departure</th><th>Code</th><th>Verification</th><th>Decision</th></tr>{rows}</table>\
",
        list.len()
    );
    Ok(page("Review queue", &body))
}

/// Approve form.
#[derive(Debug, Deserialize)]
pub struct ApproveForm {
    /// Severity slug.
    pub severity: String,
    /// Vietnamese message.
    pub message_vi: String,
    /// English message.
    pub message_en: String,
    /// Buffer minutes.
    pub buffer_minutes: u64,
}

/// `POST /console/reviews/{id}/approve`.
pub async fn approve(
    State(s): State<AppState>,
    Staff(who): Staff,
    Path(id): Path<i64>,
    Form(f): Form<ApproveForm>,
) -> Result<Response, ApiError> {
    let p = NoticeParams {
        template: None,
        severity: f.severity,
        message_vi: f.message_vi,
        message_en: f.message_en,
        buffer_minutes: f.buffer_minutes,
    };
    do_approve(&s, who, id, p).await?;
    Ok(Redirect::to("/console/reviews").into_response())
}

/// `POST /console/reviews/{id}/reject`.
pub async fn reject(
    State(s): State<AppState>,
    Staff(who): Staff,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    do_reject(&s, who, id).await?;
    Ok(Redirect::to("/console/reviews").into_response())
}

/// `POST /console/publish`.
pub async fn publish(State(s): State<AppState>, Staff(who): Staff) -> Result<Response, ApiError> {
    let p = do_publish(&s, who).await?;
    Ok(page(
        "Published",
        &format!("<p>Bulletin {} published.</p>", p.sequence),
    ))
}

/// `GET /console/stats`: active venues per day, category and district.
pub async fn stats(State(s): State<AppState>, Staff(who): Staff) -> Result<Response, ApiError> {
    let list = do_stats(&s, who).await?;
    let mut rows = String::new();
    for r in &list {
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            r.day,
            esc(&r.category),
            esc(&r.district),
            r.active_venues
        ));
    }
    Ok(page(
        "Active venues",
        &format!(
            "<table><tr><th>Day</th><th>Category</th><th>District</th><th>Active venues</th></tr>{rows}</table>"
        ),
    ))
}
