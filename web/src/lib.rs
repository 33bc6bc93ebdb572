//! # quet-web
//!
//! The core of the phone web app, compiled to wasm: when a phone's camera opens a
//! venue's URL (`https://<authority>/C#<code>`), the page hands the fragment to
//! [`check_in`], which verifies the code and seals the encounter token and report
//! envelope in the browser; the fragment never reaches a server. [`match_bulletin`]
//! verifies a downloaded bulletin against the pinned authority and matches the
//! stored tokens offline.
//!
//! The functions take and return JSON strings so the JavaScript side stays small
//! (`static/app.js`). Build: `web/build.sh` (cargo for wasm32 + the wasm-bindgen CLI).

#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

pub mod api;

use wasm_bindgen::prelude::wasm_bindgen;

/// Verifies a scanned code and describes the venue (nothing is stored).
#[wasm_bindgen]
pub fn describe_code(text: &str, now_secs: f64, descriptor_b64: &str) -> Result<String, String> {
    api::describe_code(text, now_secs, descriptor_b64)
}

/// Verifies a scanned code and seals the check-in (token + report envelope).
#[wasm_bindgen]
pub fn check_in(text: &str, now_secs: f64, descriptor_b64: &str) -> Result<String, String> {
    api::check_in(text, now_secs, descriptor_b64)
}

/// Verifies the next bulletin and matches the stored tokens against it.
#[wasm_bindgen]
pub fn match_bulletin(
    bulletin_b64: &str,
    descriptor_b64: &str,
    chain_json: &str,
    tokens_json: &str,
    now_secs: f64,
) -> Result<String, String> {
    api::match_bulletin(
        bulletin_b64,
        descriptor_b64,
        chain_json,
        tokens_json,
        now_secs,
    )
}
