//! Driving the core's blocking network calls from a page that can only `fetch`
//! asynchronously.
//!
//! The core's sync and report take a blocking [`Transport`]. A page cannot block,
//! so [`Exchange`] answers each request from the responses the page has already
//! fetched, and stops the core at the first request it has no answer for
//! ([`Exchange::pending`]). The page fetches that one, hands the answer back with
//! [`Exchange::answer`], and runs the same operation again. Every step the core
//! commits (each verified bulletin with its chain state) stays committed, so each
//! round moves forward by one request and no rule is re-implemented here.
//!
//! This is the adapter until the client core offers sans-I/O sync steps; the page
//! drives both the same way ("what to fetch next", "here are the bytes").

use std::cell::RefCell;
use std::collections::BTreeMap;

use quet_client::transport::{Response, Transport};
use quet_client::{ClientError, Result};
use serde::Serialize;

/// The marker in the [`ClientError::Network`] that stops the core at a request the
/// page has not fetched yet.
const PENDING: &str = "quet-web: request pending";

/// A request the page must make.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Request {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// The absolute URL.
    pub url: String,
    /// The JSON body of a `POST`.
    pub body: Option<String>,
    /// The largest body the core reads from the answer.
    pub max_body: usize,
}

/// Answers the core from fetched responses; records the first unanswered request.
#[derive(Debug, Default)]
pub struct Exchange {
    answers: RefCell<BTreeMap<(&'static str, String), Response>>,
    pending: RefCell<Option<Request>>,
}

impl Exchange {
    /// No answers yet.
    pub fn new() -> Exchange {
        Exchange::default()
    }

    /// Whether `result` stopped at a request the page must fetch; takes it.
    pub fn pending<T>(&self, result: &Result<T>) -> Option<Request> {
        match result {
            Err(ClientError::Network(m)) if m == PENDING => self.pending.borrow_mut().take(),
            _ => None,
        }
    }

    /// Records the page's answer to `method url`.
    pub fn answer(&self, method: &str, url: &str, response: Response) {
        let method = if method.eq_ignore_ascii_case("POST") {
            "POST"
        } else {
            "GET"
        };
        self.answers
            .borrow_mut()
            .insert((method, url.to_string()), response);
    }

    /// Forgets every answer (before a new operation, so nothing stale is reused).
    pub fn clear(&self) {
        self.answers.borrow_mut().clear();
        self.pending.borrow_mut().take();
    }

    fn respond(&self, req: Request) -> Result<Response> {
        if let Some(r) = self.answers.borrow().get(&(req.method, req.url.clone())) {
            let mut r = r.clone();
            r.body.truncate(req.max_body);
            return Ok(r);
        }
        *self.pending.borrow_mut() = Some(req);
        Err(ClientError::Network(PENDING.into()))
    }
}

impl Transport for Exchange {
    fn get(&self, url: &str, max_body: usize) -> Result<Response> {
        self.respond(Request {
            method: "GET",
            url: url.to_string(),
            body: None,
            max_body,
        })
    }

    fn post_json(&self, url: &str, body: &[u8]) -> Result<Response> {
        self.respond(Request {
            method: "POST",
            url: url.to_string(),
            body: Some(String::from_utf8_lossy(body).into_owned()),
            max_body: 1 << 20,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_at_the_first_unanswered_request_then_answers_it() {
        let x = Exchange::new();
        let first = x.get("https://a/1", 10);
        let req = x.pending(&first).unwrap();
        assert_eq!((req.method, req.url.as_str()), ("GET", "https://a/1"));
        assert!(x.pending(&first).is_none(), "taken once");
        x.answer(
            "GET",
            "https://a/1",
            Response {
                status: 200,
                body: vec![1; 20],
                retry_after: None,
            },
        );
        let r = x.get("https://a/1", 10).unwrap();
        assert_eq!(r.body.len(), 10, "bounded like a real transport");
        let post = x.post_json("https://a/1", b"{}");
        assert_eq!(x.pending(&post).unwrap().body.as_deref(), Some("{}"));
        let other: Result<()> = Err(ClientError::Network("refused".into()));
        assert!(x.pending(&other).is_none());
        x.clear();
        assert!(x.pending(&x.get("https://a/1", 10)).is_some());
    }
}
