//! The few HTTP calls the venue tool makes to the authority's server
//! (`spec/api.md`): fetch the descriptor, the bulletin index and bulletins, and
//! post heartbeats. Blocking (ureq), with timeouts and size limits.

use std::time::Duration;

use crate::error::{Result, VenueError};

/// Largest descriptor accepted.
const MAX_DESCRIPTOR: u64 = 4096;

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        .build()
        .into()
}

fn net(url: &str, e: impl std::fmt::Display) -> VenueError {
    VenueError::Network(format!("{url}: {e}"))
}

/// `GET url`, the body up to `limit` bytes; non-2xx statuses are errors.
pub fn get_bytes(url: &str, limit: u64) -> Result<Vec<u8>> {
    let mut resp = agent().get(url).call().map_err(|e| net(url, e))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(VenueError::Network(format!("{url}: HTTP {status}")));
    }
    resp.body_mut()
        .with_config()
        .limit(limit)
        .read_to_vec()
        .map_err(|e| net(url, e))
}

/// `POST url` with a JSON body; returns the status code.
pub fn post_json(url: &str, body: &serde_json::Value) -> Result<u16> {
    let resp = agent()
        .post(url)
        .header("content-type", "application/json")
        .send(body.to_string())
        .map_err(|e| net(url, e))?;
    Ok(resp.status().as_u16())
}

/// Fetches the signed descriptor from `{server}/v1/descriptor`.
pub fn fetch_descriptor(server_url: &str) -> Result<Vec<u8>> {
    let base = crate::venue::validate_base_url(server_url)?;
    get_bytes(&format!("{base}/v1/descriptor"), MAX_DESCRIPTOR)
}

/// Largest JSON answer read from the server.
const MAX_JSON_ANSWER: u64 = 4 * 1024 * 1024;

/// A JSON request (`GET` without a body, `POST` with one), optionally with a bearer
/// token; returns the status and the parsed JSON answer (`null` if empty).
pub fn json_request(
    method: &str,
    url: &str,
    bearer: Option<&str>,
    body: Option<&serde_json::Value>,
) -> Result<(u16, serde_json::Value)> {
    let a = agent();
    let auth = bearer.map(|t| format!("Bearer {t}"));
    let resp = match (method, body) {
        ("GET", _) => {
            let mut r = a.get(url);
            if let Some(h) = &auth {
                r = r.header("authorization", h);
            }
            r.call()
        }
        (_, body) => {
            let mut r = a.post(url).header("content-type", "application/json");
            if let Some(h) = &auth {
                r = r.header("authorization", h);
            }
            r.send(body.map(|b| b.to_string()).unwrap_or_default())
        }
    };
    let mut resp = resp.map_err(|e| net(url, e))?;
    let status = resp.status().as_u16();
    let bytes = resp
        .body_mut()
        .with_config()
        .limit(MAX_JSON_ANSWER)
        .read_to_vec()
        .map_err(|e| net(url, e))?;
    let value = if bytes.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .map_err(|e| VenueError::BadServerData(format!("{url}: {e}")))?
    };
    Ok((status, value))
}

/// The server's `{"error", "message"}` as a readable error.
pub fn server_error(url: &str, status: u16, v: &serde_json::Value) -> VenueError {
    VenueError::Network(format!(
        "{url}: HTTP {status} {} {}",
        v["error"].as_str().unwrap_or(""),
        v["message"].as_str().unwrap_or("")
    ))
}
