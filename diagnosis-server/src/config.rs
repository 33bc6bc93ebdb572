//! Server settings: defaults, an optional JSON file, then flags and environment
//! variables (which win). See README.md for every setting.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

use crate::error::ServerError;

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
    /// Uploads processed at once; more get 503 `busy`.
    pub max_concurrent_uploads: usize,
    /// Whole-request time limit, seconds.
    pub request_timeout_secs: u64,
    /// Requests in flight at once (all routes).
    pub max_in_flight: usize,
    /// Report/preview/heartbeat attempts allowed per client IP per minute.
    pub attempts_per_minute: u32,
    /// Failed authorization codes per IP before a lockout.
    pub failures_before_lockout: u32,
    /// Lockout length, seconds.
    pub lockout_secs: u64,
    /// `max-age` for the descriptor, seconds.
    pub descriptor_max_age_secs: u64,
    /// Seconds between signed bulletin heads (also re-signed on every publication).
    pub head_interval_secs: u64,
    /// Lifetime of a signed head, seconds (at most a day; longer than the interval,
    /// with room for a static mirror's re-export).
    pub head_lifetime_secs: u64,
    /// The phone web app built by `web/build.sh`, served at `/`, `/C`, `/c`.
    pub app_dir: Option<PathBuf>,
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
            request_timeout_secs: 15,
            max_in_flight: 2048,
            attempts_per_minute: 20,
            failures_before_lockout: 5,
            lockout_secs: 900,
            descriptor_max_age_secs: 300,
            head_interval_secs: quet_protocol::head::DEFAULT_HEAD_INTERVAL_SECS,
            head_lifetime_secs: quet_protocol::head::DEFAULT_HEAD_LIFETIME_SECS,
            app_dir: None,
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

    /// Rejects settings that would leave something unbounded.
    pub fn validate(&self) -> Result<(), ServerError> {
        let bad = |what: &str| Err(ServerError::Other(format!("invalid setting: {what}")));
        if self.max_concurrent_uploads == 0 || self.max_in_flight == 0 {
            return bad("concurrency limits must be at least 1");
        }
        if self.request_timeout_secs == 0 || self.request_timeout_secs > 600 {
            return bad("request_timeout_secs must be 1..=600");
        }
        if self.attempts_per_minute == 0 || self.failures_before_lockout == 0 {
            return bad("rate limits must be at least 1");
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
        if let Some(dir) = &self.app_dir {
            crate::api::app::list(dir)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_unbounded_settings_are_refused() {
        assert!(Config::default().validate().is_ok());
        let bad: [fn(&mut Config); 6] = [
            |c| c.max_concurrent_uploads = 0,
            |c| c.request_timeout_secs = 0,
            |c| c.attempts_per_minute = 0,
            |c| c.lockout_secs = u64::MAX,
            |c| c.envelope_retention_hours = u64::MAX,
            |c| c.publish_interval_secs = u64::MAX,
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
        std::fs::write(&p, r#"{"min_bulletin_keys": 64}"#).unwrap();
        assert_eq!(Config::from_file(&p).unwrap().min_bulletin_keys, 64);
        std::fs::write(&p, r#"{"min_bulletin_key": 64}"#).unwrap();
        assert!(Config::from_file(&p).is_err());
    }
}
