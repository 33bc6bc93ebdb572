//! Prometheus counters, rendered as text at `GET /metrics`. No label carries data
//! about a person, a code or a venue.

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
    /// Accepted real uploads.
    pub uploads_accepted: AtomicU64,
    /// Chaff uploads answered.
    pub uploads_chaff: AtomicU64,
    /// Uploads rejected (any reason).
    pub uploads_rejected: AtomicU64,
    /// Requests refused by the rate limiter.
    pub rate_limited: AtomicU64,
    /// Bulletins published.
    pub bulletins_published: AtomicU64,
    /// Heartbeats accepted.
    pub heartbeats: AtomicU64,
}

/// Adds one to a counter.
pub fn inc(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

impl Metrics {
    /// Prometheus text exposition; `latest` is the latest bulletin sequence.
    pub fn render(&self, latest: u64, pending_reviews: i64) -> String {
        let mut out = String::with_capacity(1024);
        let mut counter = |name: &str, help: &str, v: &AtomicU64| {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}\n",
                v.load(Ordering::Relaxed)
            ));
        };
        counter(
            "quet_bulletin_downloads_total",
            "Bulletin bodies served.",
            &self.bulletin_downloads,
        );
        counter(
            "quet_bulletin_not_modified_total",
            "Bulletin requests answered 304.",
            &self.bulletin_not_modified,
        );
        counter(
            "quet_index_downloads_total",
            "Bulletin index downloads.",
            &self.index_downloads,
        );
        counter(
            "quet_uploads_accepted_total",
            "Case report uploads accepted.",
            &self.uploads_accepted,
        );
        counter(
            "quet_uploads_chaff_total",
            "Chaff uploads answered.",
            &self.uploads_chaff,
        );
        counter(
            "quet_uploads_rejected_total",
            "Case report uploads rejected.",
            &self.uploads_rejected,
        );
        counter(
            "quet_rate_limited_total",
            "Requests refused by the rate limiter.",
            &self.rate_limited,
        );
        counter(
            "quet_bulletins_published_total",
            "Bulletins published by this process.",
            &self.bulletins_published,
        );
        counter(
            "quet_heartbeats_total",
            "Venue heartbeats accepted.",
            &self.heartbeats,
        );
        out.push_str(&format!(
            "# HELP quet_bulletin_latest_sequence Latest live bulletin.\n# TYPE quet_bulletin_latest_sequence gauge\nquet_bulletin_latest_sequence {latest}\n"
        ));
        out.push_str(&format!(
            "# HELP quet_reviews_pending Uploaded check-ins awaiting review.\n# TYPE quet_reviews_pending gauge\nquet_reviews_pending {pending_reviews}\n"
        ));
        out
    }
}
