//! The staff console (`/console/`): server-rendered pages, Vietnamese first, then
//! English, for the health authority's whole day: issue an authorization code and
//! print its slip, review uploaded check-ins, trace a venue from its tracing sheet,
//! confirm traces (four-eyes), publish, withdraw, read bulletin history, the audit
//! log and venue statistics, manage staff.
//!
//! Security, each piece in its own file:
//! - [`session`]: server-side sessions (random id, stored hashed, idle and absolute
//!   expiry, logout deletes the row); the cookie is `__Host-quet_session`
//!   (`Secure; HttpOnly; SameSite=Strict; Path=/`) when the public URL is https,
//!   `quet_session` (`HttpOnly; SameSite=Strict; Path=/console`) otherwise.
//! - [`csrf`]: a per-session token on every state-changing form, and
//!   `Origin`/`Sec-Fetch-Site` checks on every non-GET request; a signed,
//!   cookie-bound token on the login form (login CSRF).
//! - [`throttle`]: login backoff per account, per address and per known device.
//! - [`headers`]: CSP without inline script (`script-src 'self'`),
//!   `frame-ancestors 'none'`, `no-store`, `nosniff`, no referrer.
//!
//! Every action goes through the same functions as the admin API
//! ([`crate::api::admin`], [`crate::decisions`]) and is audited.

pub mod auth;
pub mod chart;
pub mod csrf;
pub mod headers;
pub mod html;
pub mod localtime;
pub mod pages;
pub mod qr;
pub mod session;
pub mod templates;
pub mod throttle;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use serde::Deserialize;
use tokio::sync::Semaphore;
use zeroize::Zeroizing;

use crate::error::ServerError;
use crate::rng::random_bytes;
use crate::state::AppState;

/// Console settings (the `console` object of the JSON settings file).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsoleConfig {
    /// Four-eyes rule: a trace (review approval or tracing-sheet trace) is queued
    /// for publication only after a second staff member, a publisher other than
    /// the proposer, confirms it.
    pub four_eyes: bool,
    /// A session ends after this many seconds without a request.
    pub session_idle_secs: u64,
    /// A session ends this many seconds after login, whatever happens.
    pub session_absolute_secs: u64,
    /// The console's public origin (`https://quet.example`), if it differs from
    /// what the `Host` header says; decides `Secure` cookies and the `Origin` check.
    /// Default: the authority's base URL decides `Secure`, `Host` the origin.
    pub public_origin: Option<String>,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            four_eyes: false,
            session_idle_secs: 30 * 60,
            session_absolute_secs: 12 * 3600,
            public_origin: None,
        }
    }
}

impl ConsoleConfig {
    /// Rejects settings that would make sessions unbounded or times wrong.
    pub fn validate(&self) -> Result<(), ServerError> {
        let bad = |what: &str| {
            Err(ServerError::Other(format!(
                "invalid console setting: {what}"
            )))
        };
        if self.session_idle_secs < 60 || self.session_idle_secs > 24 * 3600 {
            return bad("session_idle_secs must be 60..=86400");
        }
        if self.session_absolute_secs < self.session_idle_secs
            || self.session_absolute_secs > 7 * 86_400
        {
            return bad("session_absolute_secs must be session_idle_secs..=604800");
        }
        if let Some(o) = &self.public_origin
            && !(o.starts_with("https://") || o.starts_with("http://"))
        {
            return bad("public_origin must start with https:// or http://");
        }
        Ok(())
    }
}

/// Process-wide console state beside the server's.
pub struct ConsoleInner {
    /// Signs login-form tokens (random per process: a restart only makes an open
    /// login form stale).
    pub login_key: Zeroizing<[u8; 32]>,
    /// Signs "known device" cookies (kept in the database, so they survive restarts).
    pub device_key: Zeroizing<[u8; 32]>,
    /// Login backoff.
    pub throttle: throttle::LoginThrottle,
    /// Photo decoding is CPU-heavy: one at a time.
    pub photo_slots: Semaphore,
    /// Whether cookies are `Secure` with the `__Host-` prefix.
    pub secure: bool,
}

/// What console handlers share.
#[derive(Clone)]
pub struct ConsoleState {
    /// The server's state.
    pub app: AppState,
    /// The console's own.
    pub console: Arc<ConsoleInner>,
}

impl ConsoleState {
    /// Console settings.
    pub fn config(&self) -> &ConsoleConfig {
        &self.app.config.console
    }

    /// The authority's UTC offset in minutes (its descriptor's): the local time
    /// staff see and type.
    pub fn offset_minutes(&self) -> i32 {
        i32::from(self.app.authority.descriptor.utc_offset.0)
    }
}

fn device_key(app: &AppState) -> Zeroizing<[u8; 32]> {
    let conn = app.db.lock().unwrap_or_else(|p| p.into_inner());
    let load = || -> rusqlite::Result<[u8; 32]> {
        let fresh: [u8; 32] = random_bytes();
        conn.execute(
            "INSERT OR IGNORE INTO console_secrets (name, secret) VALUES ('device-cookie', ?1)",
            [fresh.as_slice()],
        )?;
        let v: Vec<u8> = conn.query_row(
            "SELECT secret FROM console_secrets WHERE name = 'device-cookie'",
            [],
            |r| r.get(0),
        )?;
        Ok(v.try_into().unwrap_or(fresh))
    };
    match load() {
        Ok(k) => Zeroizing::new(k),
        Err(e) => {
            tracing::error!(error = %e, "console device key; known-device cookies last until restart");
            Zeroizing::new(random_bytes())
        }
    }
}

/// Every console route, as `(method, path)`.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/console/"),
    ("get", "/console/login"),
    ("post", "/console/login"),
    ("post", "/console/logout"),
    ("get", "/console/assets/console.css"),
    ("get", "/console/assets/console.js"),
    ("get", "/console/codes"),
    ("post", "/console/codes"),
    ("get", "/console/reviews"),
    ("post", "/console/reviews/{id}/approve"),
    ("post", "/console/reviews/{id}/reject"),
    ("get", "/console/traces"),
    ("post", "/console/traces/preview"),
    ("post", "/console/traces"),
    ("get", "/console/proposals"),
    ("post", "/console/proposals/{id}/confirm"),
    ("post", "/console/proposals/{id}/decline"),
    ("get", "/console/notices"),
    ("post", "/console/notices/{nonce}/withdraw"),
    ("get", "/console/bulletins"),
    ("post", "/console/publish"),
    ("get", "/console/audit"),
    ("get", "/console/stats"),
    ("get", "/console/stats/chart.svg"),
    ("get", "/console/staff"),
    ("post", "/console/staff"),
    ("post", "/console/staff/{name}/roles"),
    ("post", "/console/staff/{name}/password"),
    ("post", "/console/staff/{name}/disable"),
    ("post", "/console/staff/{name}/enable"),
    ("get", "/console/account"),
    ("post", "/console/account/password"),
    ("get", "/console/keys"),
    ("get", "/console/registry"),
    ("post", "/console/registry/{id}/approve"),
    ("post", "/console/registry/{id}/reject"),
    ("post", "/console/registry/{id}/revoke"),
];

/// Largest photo of a tracing sheet accepted, bytes.
pub const PHOTO_LIMIT: usize = 8 * 1024 * 1024;

/// The console's router (state already applied), to merge into the server's.
pub fn router(app: AppState) -> Router {
    let secure = match &app.config.console.public_origin {
        Some(o) => o.starts_with("https://"),
        None => app.authority.descriptor.base_url.starts_with("https://"),
    };
    let state = ConsoleState {
        console: Arc::new(ConsoleInner {
            login_key: Zeroizing::new(random_bytes()),
            device_key: device_key(&app),
            throttle: throttle::LoginThrottle::default(),
            photo_slots: Semaphore::new(1),
            secure,
        }),
        app,
    };
    use pages::*;
    Router::new()
        .route("/console/", get(home::home))
        .route("/console/login", get(login::form).post(login::login))
        .route("/console/logout", post(login::logout))
        .route("/console/assets/console.css", get(headers::css))
        .route("/console/assets/console.js", get(headers::js))
        .route("/console/codes", get(codes::form).post(codes::issue))
        .route("/console/reviews", get(reviews::list))
        .route("/console/reviews/{id}/approve", post(reviews::approve))
        .route("/console/reviews/{id}/reject", post(reviews::reject))
        .route("/console/traces", get(traces::form).post(traces::submit))
        .route(
            "/console/traces/preview",
            post(traces::preview).layer(DefaultBodyLimit::max(PHOTO_LIMIT + 64 * 1024)),
        )
        .route("/console/proposals", get(proposals::list))
        .route("/console/proposals/{id}/confirm", post(proposals::confirm))
        .route("/console/proposals/{id}/decline", post(proposals::decline))
        .route("/console/notices", get(notices::list))
        .route("/console/notices/{nonce}/withdraw", post(notices::withdraw))
        .route("/console/bulletins", get(bulletins::list))
        .route("/console/publish", post(bulletins::publish))
        .route("/console/audit", get(audit::list))
        .route("/console/stats", get(stats::page))
        .route("/console/stats/chart.svg", get(stats::chart))
        .route("/console/staff", get(staff::list).post(staff::add))
        .route("/console/staff/{name}/roles", post(staff::roles))
        .route(
            "/console/staff/{name}/password",
            post(staff::reset_password),
        )
        .route("/console/staff/{name}/disable", post(staff::disable))
        .route("/console/staff/{name}/enable", post(staff::enable))
        .route("/console/account", get(account::page))
        .route("/console/account/password", post(account::change_password))
        .route("/console/keys", get(keys::page))
        .route("/console/registry", get(registry::home))
        .route("/console/registry/{id}/approve", post(registry::approve))
        .route("/console/registry/{id}/reject", post(registry::reject))
        .route("/console/registry/{id}/revoke", post(registry::revoke))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            csrf::same_origin_writes,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            headers::security_headers,
        ))
        .with_state(state)
}
