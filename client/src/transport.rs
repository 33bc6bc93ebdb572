//! HTTP behind a trait, so the core can sync and report from native code (ureq),
//! from a browser (the web app's `fetch`), or against an in-test server.
//!
//! Only the two request shapes of `spec/api.md` that a phone makes are needed:
//! GET of a public object and POST of a JSON body.

use crate::error::Result;

/// An HTTP answer, as much of it as the client uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// The body (bounded by the transport).
    pub body: Vec<u8>,
    /// `Retry-After` in seconds, if present.
    pub retry_after: Option<u64>,
}

/// Blocking HTTP. Implementations map connection failures to
/// [`crate::ClientError::Network`] and return every HTTP status as a [`Response`].
pub trait Transport {
    /// `GET url`, reading at most `max_body` bytes of body.
    fn get(&self, url: &str, max_body: usize) -> Result<Response>;
    /// `POST url` with a JSON body.
    fn post_json(&self, url: &str, body: &[u8]) -> Result<Response>;
}

impl<T: Transport + ?Sized> Transport for &T {
    fn get(&self, url: &str, max_body: usize) -> Result<Response> {
        (**self).get(url, max_body)
    }
    fn post_json(&self, url: &str, body: &[u8]) -> Result<Response> {
        (**self).post_json(url, body)
    }
}

/// Joins a base URL and an absolute API path.
pub fn join(base: &str, path: &str) -> String {
    format!("{}{}", base.trim_end_matches('/'), path)
}
