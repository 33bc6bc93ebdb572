//! HTTP as data, so the core never blocks: it says which [`Request`] to make and
//! takes the [`Response`] back. The browser (the web app) performs requests with
//! `fetch`; natively a blocking [`Transport`] (ureq) performs them in a loop over
//! the same steps.
//!
//! Only the two request shapes of `spec/api.md` that a phone makes are needed:
//! GET of a public object and POST of a JSON body.

use crate::error::Result;

/// The HTTP method of a [`Request`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    /// `GET`, no body.
    Get,
    /// `POST` with `Content-Type: application/json`.
    Post,
}

/// A request the core wants made.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Request {
    /// GET or POST.
    pub method: Method,
    /// The absolute URL.
    pub url: String,
    /// The JSON body of a POST (empty for a GET).
    #[serde(with = "body_text")]
    pub body: Vec<u8>,
    /// The caller must not read more than this many bytes of the answer's body
    /// (a longer answer is a network error).
    pub max_response: usize,
}

/// Serializes the JSON body as text, so a browser can pass it to `fetch` as is.
mod body_text {
    pub fn serialize<S: serde::Serializer>(body: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&String::from_utf8_lossy(body))
    }
}

impl Request {
    /// A GET of `url`, reading at most `max_response` bytes.
    pub fn get(url: String, max_response: usize) -> Request {
        Request {
            method: Method::Get,
            url,
            body: Vec::new(),
            max_response,
        }
    }

    /// A POST of a JSON body.
    pub fn post_json(url: String, body: Vec<u8>, max_response: usize) -> Request {
        Request {
            method: Method::Post,
            url,
            body,
            max_response,
        }
    }
}

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
    /// Performs a [`Request`] the core asked for.
    fn execute(&self, request: &Request) -> Result<Response> {
        match request.method {
            Method::Get => self.get(&request.url, request.max_response),
            Method::Post => self.post_json(&request.url, &request.body),
        }
    }
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
