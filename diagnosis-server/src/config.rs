//! Server settings: defaults, an optional JSON file, then flags and environment
//! variables (which win). See README.md for every setting.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

use crate::client_addr::TrustedProxies;
use crate::error::ServerError;

/// File descriptors kept free for the database, logs, the listeners and the
/// runtime when the connection cap is derived from the open-file limit.
pub const RESERVED_DESCRIPTORS: u64 = 64;

/// The connection cap when none is configured and the open-file limit allows it.
pub const DEFAULT_MAX_CONNECTIONS: usize = 8192;

/// Everything `run` needs. Construct with [`Config::new`] and adjust fields.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Data directory made by `init`.
    pub data_dir: PathBuf,
    /// Address to listen on (port 0 picks a free port).
    pub listen: SocketAddr,
    /// Seconds between scheduled publications (only when notices are queued); 0 = off.
    pub publish_interval_secs: u64,
    /// Minimum number of venue-time keys in a bulletin (random decoys fill up).
    pub min_bulletin_keys: usize,
    /// Bulletins are listed and served for this many days.
    pub bulletin_lifetime_days: u64,
    /// Uploaded envelopes not processed within this many hours are deleted.
    pub envelope_retention_hours: u64,
    /// Default validity of authorization codes, hours.
    pub auth_code_hours: u64,
    /// Uploads verified and stored at once (after their bodies are read); more get
    /// 503 `busy`.
    pub max_concurrent_uploads: usize,
    /// Upload bodies being received at once, all clients together; more get 503 `busy`.
    pub max_upload_bodies: usize,
    /// Upload bodies being received at once from one client address.
    pub max_upload_bodies_per_address: usize,
    /// Whole-request time limit (handler included), seconds; 503 `timeout` after it.
    pub request_timeout_secs: u64,
    /// A request body must arrive completely within this many seconds of the
    /// request's headers; 408 `body_timeout` after it.
    pub body_timeout_secs: u64,
    /// A connection must deliver a request's complete headers within this many
    /// seconds of opening or of its previous response (idle keep-alive included),
    /// or it is closed.
    pub header_timeout_secs: u64,
    /// Open connections at once; `None` derives it from the open-file limit
    /// (at most [`DEFAULT_MAX_CONNECTIONS`]). Must stay below that limit.
    pub max_connections: Option<usize>,
    /// Open connections from one client address (trusted proxies exempt).
    pub max_connections_per_address: usize,
    /// Requests in flight at once (all routes).
    pub max_in_flight: usize,
    /// Code-bearing attempts (previews and uploads, chaff included) allowed per
    /// client address per minute (also the burst).
    pub attempts_per_minute: u32,
    /// Code-bearing attempts allowed per second, all clients together (the burst
    /// is twice this).
    pub global_attempts_per_second: u32,
    /// Wrong codes one client address may send before its further wrong codes are
    /// answered 429 (valid codes are never refused by this).
    pub failures_before_lockout: u32,
    /// Time for an address's wrong-code budget to refill completely, seconds.
    pub lockout_secs: u64,
    /// Heartbeats allowed per client address per minute (burst: five times this).
    pub heartbeats_per_minute: u32,
    /// Heartbeats allowed per second, all clients together (burst: twice this).
    pub global_heartbeats_per_second: u32,
    /// Heartbeats allowed per venue pseudonym per hour (also the burst).
    pub heartbeats_per_pseudonym_per_hour: u32,
    /// At most this many bulletins published in any hour.
    pub max_bulletins_per_hour: u32,
    /// At most this many bulletins published in any 24 hours.
    pub max_bulletins_per_day: u32,
    /// `max-age` for the descriptor, seconds.
    pub descriptor_max_age_secs: u64,
    /// Proxies whose `Forwarded` / `X-Forwarded-For` headers name the client
    /// (CIDR or single addresses). Empty: the TCP peer is the client.
    pub trusted_proxies: Vec<String>,
    /// Where `/metrics` is served without a token (a separate, private listener).
    pub metrics_listen: Option<SocketAddr>,
    /// Bearer token that unlocks `/metrics` on the public listener. Without it
    /// (and without `metrics_listen`), `/metrics` is not served publicly.
    pub metrics_token: Option<String>,
    /// Whether clients reach the server over TLS (through a proxy): adds
    /// `Strict-Transport-Security`. `None`: when the authority's base URL is https.
    pub https: Option<bool>,
    /// Seconds between signed bulletin heads (also re-signed on every publication).
    pub head_interval_secs: u64,
    /// Lifetime of a signed head, seconds (at most a day; longer than the interval,
    /// with room for a static mirror's re-export).
    pub head_lifetime_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("quet-data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            publish_interval_secs: 3600,
            min_bulletin_keys: 256,
            bulletin_lifetime_days: 14,
            envelope_retention_hours: 72,
            auth_code_hours: 24,
            max_concurrent_uploads: 4,
            max_upload_bodies: 64,
            max_upload_bodies_per_address: 8,
            request_timeout_secs: 30,
            body_timeout_secs: 20,
            header_timeout_secs: 10,
            max_connections: None,
            max_connections_per_address: 512,
            max_in_flight: 2048,
            attempts_per_minute: 60,
            global_attempts_per_second: 100,
            failures_before_lockout: 20,
            lockout_secs: 900,
            heartbeats_per_minute: 60,
            global_heartbeats_per_second: 100,
            heartbeats_per_pseudonym_per_hour: 4,
            max_bulletins_per_hour: 6,
            max_bulletins_per_day: 48,
            descriptor_max_age_secs: 300,
            trusted_proxies: Vec::new(),
            metrics_listen: None,
            metrics_token: None,
            https: None,
            head_interval_secs: quet_protocol::head::DEFAULT_HEAD_INTERVAL_SECS,
            head_lifetime_secs: quet_protocol::head::DEFAULT_HEAD_LIFETIME_SECS,
        }
    }
}

impl Config {
    /// Defaults for `data_dir`, listening on `listen`.
    pub fn new(data_dir: impl Into<PathBuf>, listen: SocketAddr) -> Self {
        Config {
            data_dir: data_dir.into(),
            listen,
            ..Config::default()
        }
    }

    /// Reads a JSON settings file (unknown keys are an error).
    pub fn from_file(path: &std::path::Path) -> Result<Self, ServerError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ServerError::Io(path.display().to_string(), e))?;
        serde_json::from_str(&text)
            .map_err(|e| ServerError::Other(format!("{}: {e}", path.display())))
    }

    /// The parsed trusted-proxy list.
    pub fn trusted(&self) -> Result<TrustedProxies, ServerError> {
        TrustedProxies::parse(&self.trusted_proxies)
            .map_err(|e| ServerError::Other(format!("invalid setting: trusted_proxies: {e}")))
    }

    /// Rejects settings that would leave something unbounded.
    pub fn validate(&self) -> Result<(), ServerError> {
        let bad = |what: &str| Err(ServerError::Other(format!("invalid setting: {what}")));
        if self.max_concurrent_uploads == 0
            || self.max_in_flight == 0
            || self.max_upload_bodies == 0
            || self.max_upload_bodies_per_address == 0
            || self.max_connections_per_address == 0
            || self.max_connections == Some(0)
        {
            return bad("concurrency and connection limits must be at least 1");
        }
        for (name, v) in [
            ("request_timeout_secs", self.request_timeout_secs),
            ("body_timeout_secs", self.body_timeout_secs),
            ("header_timeout_secs", self.header_timeout_secs),
        ] {
            if v == 0 || v > 600 {
                return bad(&format!("{name} must be 1..=600"));
            }
        }
        if self.attempts_per_minute == 0
            || self.failures_before_lockout == 0
            || self.global_attempts_per_second == 0
            || self.heartbeats_per_minute == 0
            || self.global_heartbeats_per_second == 0
            || self.heartbeats_per_pseudonym_per_hour == 0
        {
            return bad("rate limits must be at least 1");
        }
        if self.max_bulletins_per_hour == 0 || self.max_bulletins_per_day == 0 {
            return bad("max_bulletins_per_hour and max_bulletins_per_day must be at least 1");
        }
        if self.bulletin_lifetime_days == 0 || self.bulletin_lifetime_days > 60 {
            return bad("bulletin_lifetime_days must be 1..=60");
        }
        if self.min_bulletin_keys > 100_000 {
            return bad("min_bulletin_keys must be at most 100000");
        }
        if self.auth_code_hours == 0 || self.auth_code_hours > 24 * 14 {
            return bad("auth_code_hours must be 1..=336");
        }
        // Capsule secrets are destroyed 24 days after their week: 21 days of phone
        // retention plus at most 3 days for staff to review an upload.
        if self.envelope_retention_hours == 0 || self.envelope_retention_hours > 72 {
            return bad("envelope_retention_hours must be 1..=72");
        }
        if self.head_interval_secs < 60
            || self.head_lifetime_secs <= self.head_interval_secs
            || self.head_lifetime_secs > quet_protocol::head::MAX_HEAD_LIFETIME_SECS
        {
            return bad(
                "head_interval_secs must be at least 60 and below head_lifetime_secs, which is at most 86400",
            );
        }
        if self.lockout_secs == 0 || self.lockout_secs > 7 * 86_400 {
            return bad("lockout_secs must be 1..=604800");
        }
        if self.publish_interval_secs > 7 * 86_400 || self.descriptor_max_age_secs > 7 * 86_400 {
            return bad("publish_interval_secs and descriptor_max_age_secs must be at most a week");
        }
        if let Some(t) = &self.metrics_token
            && (t.len() < 16 || t.len() > 256 || !t.bytes().all(|b| b.is_ascii_graphic()))
        {
            return bad("metrics_token must be 16 to 256 printable ASCII characters");
        }
        if self
            .metrics_listen
            .is_some_and(|m| m == self.listen && m.port() != 0)
        {
            return bad("metrics_listen must differ from listen");
        }
        self.trusted()?;
        Ok(())
    }

    /// The connection cap for an open-file soft limit of `nofile`: the configured
    /// cap if it fits below the limit (minus [`RESERVED_DESCRIPTORS`]), else an
    /// error; without a configured cap, the most that fits, at most
    /// [`DEFAULT_MAX_CONNECTIONS`].
    pub fn connection_cap(&self, nofile: u64) -> Result<usize, ServerError> {
        let fits =
            usize::try_from(nofile.saturating_sub(RESERVED_DESCRIPTORS)).unwrap_or(usize::MAX);
        match self.max_connections {
            Some(n) if n <= fits => Ok(n),
            Some(n) => Err(ServerError::Other(format!(
                "max_connections {n} does not fit below the open-file limit ({nofile}, of which \
                 {RESERVED_DESCRIPTORS} are kept for the server itself); raise the hard limit \
                 (ulimit -Hn, systemd LimitNOFILE=) or lower max_connections"
            ))),
            None if fits == 0 => Err(ServerError::Other(format!(
                "the open-file limit ({nofile}) leaves no room for connections"
            ))),
            None => Ok(fits.min(DEFAULT_MAX_CONNECTIONS)),
        }
    }

    /// Whether responses carry `Strict-Transport-Security`.
    pub fn served_over_tls(&self, base_url: &str) -> bool {
        self.https.unwrap_or_else(|| {
            base_url
                .get(..8)
                .is_some_and(|p| p.eq_ignore_ascii_case("https://"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_unbounded_settings_are_refused() {
        assert!(Config::default().validate().is_ok());
        let bad: [fn(&mut Config); 11] = [
            |c| c.max_concurrent_uploads = 0,
            |c| c.request_timeout_secs = 0,
            |c| c.header_timeout_secs = 601,
            |c| c.body_timeout_secs = 0,
            |c| c.attempts_per_minute = 0,
            |c| c.lockout_secs = u64::MAX,
            |c| c.envelope_retention_hours = u64::MAX,
            |c| c.publish_interval_secs = u64::MAX,
            |c| c.max_connections = Some(0),
            |c| c.trusted_proxies = vec!["10.0.0.0/33".into()],
            |c| c.metrics_token = Some("short".into()),
        ];
        for f in bad {
            let mut c = Config::default();
            f(&mut c);
            assert!(c.validate().is_err());
        }
    }

    #[test]
    fn file_rejects_unknown_keys() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.json");
        std::fs::write(
            &p,
            r#"{"min_bulletin_keys": 64, "trusted_proxies": ["127.0.0.1", "10.0.0.0/8"]}"#,
        )
        .unwrap();
        let c = Config::from_file(&p).unwrap();
        assert_eq!(c.min_bulletin_keys, 64);
        assert!(c.validate().is_ok());
        std::fs::write(&p, r#"{"min_bulletin_key": 64}"#).unwrap();
        assert!(Config::from_file(&p).is_err());
    }

    #[test]
    fn connection_cap_stays_below_the_open_file_limit() {
        let mut c = Config::default();
        assert_eq!(c.connection_cap(1024).unwrap(), 1024 - 64);
        assert_eq!(c.connection_cap(1 << 20).unwrap(), DEFAULT_MAX_CONNECTIONS);
        assert!(c.connection_cap(64).is_err());
        c.max_connections = Some(2000);
        assert!(c.connection_cap(1024).is_err());
        assert_eq!(c.connection_cap(4096).unwrap(), 2000);
    }

    #[test]
    fn hsts_follows_the_public_url_unless_set() {
        let mut c = Config::default();
        assert!(c.served_over_tls("https://quet.example"));
        assert!(c.served_over_tls("HTTPS://QUET.EXAMPLE"));
        assert!(!c.served_over_tls("http://quet.example"));
        c.https = Some(true);
        assert!(c.served_over_tls("http://quet.example"));
        c.https = Some(false);
        assert!(!c.served_over_tls("https://quet.example"));
    }
}
