//! Prometheus counters, rendered as text at `GET /metrics` (on a private listener
//! or behind a token; see `spec/api.md`).
//!
//! No label carries data about a person, a code or a venue, and nothing here tells
//! a real upload from chaff or counts cases: uploads are counted together, whatever
//! they carry, and nothing about the review queue is exported.

use std::sync::atomic::{AtomicU64, Ordering};

/// The server's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Bulletin bodies served (200).
    pub bulletin_downloads: AtomicU64,
    /// Bulletin revalidations answered 304.
    pub bulletin_not_modified: AtomicU64,
    /// Index downloads.
    pub index_downloads: AtomicU64,
    /// Uploads answered 202 (real and chaff together).
    pub uploads_answered: AtomicU64,
    /// Uploads refused (any reason).
    pub uploads_refused: AtomicU64,
    /// Requests refused by a rate limit (429).
    pub rate_limited: AtomicU64,
    /// Requests refused because the server was busy (503 `busy`).
    pub busy: AtomicU64,
    /// Bulletins published.
    pub bulletins_published: AtomicU64,
    /// Heartbeats accepted.
    pub heartbeats: AtomicU64,
    /// Connections open now.
    pub connections_open: AtomicU64,
    /// The connection cap in force.
    pub connections_max: AtomicU64,
    /// Connections closed at once because their address held too many.
    pub connections_refused: AtomicU64,
    /// Connections closed because a request's headers did not arrive in time
    /// (slow headers or an idle keep-alive connection).
    pub header_timeouts: AtomicU64,
    /// Requests whose body did not arrive in time (408).
    pub body_timeouts: AtomicU64,
    /// Requests that exceeded the whole-request time limit (503 `timeout`).
    pub request_timeouts: AtomicU64,
}

/// Adds one to a counter.
pub fn inc(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

impl Metrics {
    /// Prometheus text exposition; `latest` is the latest bulletin sequence.
    pub fn render(&self, latest: u64) -> String {
        let mut out = String::with_capacity(2048);
        let mut line = |kind: &str, name: &str, help: &str, v: u64| {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}\n"
            ));
        };
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let counters: [(&str, &str, &AtomicU64); 13] = [
            (
                "quet_bulletin_downloads_total",
                "Bulletin bodies served.",
                &self.bulletin_downloads,
            ),
            (
                "quet_bulletin_not_modified_total",
                "Bulletin requests answered 304.",
                &self.bulletin_not_modified,
            ),
            (
                "quet_index_downloads_total",
                "Bulletin index downloads.",
                &self.index_downloads,
            ),
            (
                "quet_uploads_answered_total",
                "Report uploads answered 202 (real and chaff together).",
                &self.uploads_answered,
            ),
            (
                "quet_uploads_refused_total",
                "Report uploads refused (any reason).",
                &self.uploads_refused,
            ),
            (
                "quet_rate_limited_total",
                "Requests refused by a rate limit.",
                &self.rate_limited,
            ),
            (
                "quet_busy_total",
                "Requests refused because too many were in progress.",
                &self.busy,
            ),
            (
                "quet_bulletins_published_total",
                "Bulletins published by this process.",
                &self.bulletins_published,
            ),
            (
                "quet_heartbeats_total",
                "Venue heartbeats accepted.",
                &self.heartbeats,
            ),
            (
                "quet_connections_refused_total",
                "Connections closed at once: their address held too many.",
                &self.connections_refused,
            ),
            (
                "quet_header_timeouts_total",
                "Connections closed: request headers late or idle keep-alive.",
                &self.header_timeouts,
            ),
            (
                "quet_body_timeouts_total",
                "Requests whose body arrived too slowly.",
                &self.body_timeouts,
            ),
            (
                "quet_request_timeouts_total",
                "Requests over the whole-request time limit.",
                &self.request_timeouts,
            ),
        ];
        for (name, help, c) in counters {
            line("counter", name, help, get(c));
        }
        line(
            "gauge",
            "quet_connections_open",
            "Connections open now.",
            get(&self.connections_open),
        );
        line(
            "gauge",
            "quet_connections_max",
            "Connection cap in force.",
            get(&self.connections_max),
        );
        line(
            "gauge",
            "quet_bulletin_latest_sequence",
            "Latest live bulletin.",
            latest,
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_rendered_separates_real_from_chaff_or_counts_reviews() {
        let m = Metrics::default();
        inc(&m.uploads_answered);
        let text = m.render(3);
        assert!(text.contains("quet_uploads_answered_total 1\n"));
        assert!(text.contains("quet_bulletin_latest_sequence 3\n"));
        for word in ["chaff_total", "accepted", "review", "pending", "case"] {
            let leaked = text
                .lines()
                .filter(|l| !l.starts_with('#'))
                .any(|l| l.contains(word));
            assert!(!leaked, "{word}");
        }
    }
}
