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
