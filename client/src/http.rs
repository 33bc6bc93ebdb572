//! The native [`Transport`]: blocking HTTP with ureq, with timeouts and bounded bodies.

use std::time::Duration;

use crate::error::{ClientError, Result};
use crate::transport::{Response, Transport};

/// Largest JSON answer read from the server.
const MAX_JSON_BODY: u64 = 1 << 20;

/// Blocking HTTP over ureq.
#[derive(Debug, Clone)]
pub struct UreqTransport {
    agent: ureq::Agent,
}

impl Default for UreqTransport {
    fn default() -> Self {
        UreqTransport::new(Duration::from_secs(30))
    }
}

impl UreqTransport {
    /// A transport whose every request gives up after `timeout`.
    pub fn new(timeout: Duration) -> UreqTransport {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .user_agent("quet-client/0.1")
            .build()
            .into();
        UreqTransport { agent }
    }

    fn finish(mut resp: ureq::http::Response<ureq::Body>, max: u64) -> Result<Response> {
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        let body = resp
            .body_mut()
            .with_config()
            .limit(max)
            .read_to_vec()
            .map_err(|e| ClientError::Network(e.to_string()))?;
        Ok(Response {
            status,
            body,
            retry_after,
        })
    }
}

impl Transport for UreqTransport {
    fn get(&self, url: &str, max_body: usize) -> Result<Response> {
        let resp = self
            .agent
            .get(url)
            .call()
            .map_err(|e| ClientError::Network(e.to_string()))?;
        Self::finish(resp, u64::try_from(max_body).unwrap_or(u64::MAX))
    }

    fn post_json(&self, url: &str, body: &[u8]) -> Result<Response> {
        let resp = self
            .agent
            .post(url)
            .header("content-type", "application/json")
            .send(body)
            .map_err(|e| ClientError::Network(e.to_string()))?;
        Self::finish(resp, MAX_JSON_BODY)
    }
}
