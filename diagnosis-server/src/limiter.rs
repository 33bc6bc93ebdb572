//! Rate limits of the public write endpoints, on `governor`'s GCRA limiters.
//!
//! Keys are client addresses as [`crate::client_addr`] resolves them (IPv6 cut to
//! its /64) and, for heartbeats, the venue's daily pseudonym. The budgets are sized
//! for a carrier-grade NAT: thousands of phones share one public address, and one
//! of them sending wrong codes must not stop the others.
//!
//! - **Code attempts** (previews and uploads, chaff included): a per-address bucket
//!   and a global bucket. The global one is what bounds guessing: at its default of
//!   100 checks per second, a year of non-stop guessing against 100,000 live 75-bit
//!   codes succeeds with probability about 10⁻⁸.
//! - **Wrong codes**: a per-address budget. Once an address has spent it, its
//!   further *wrong* codes are answered 429 (`Retry-After`) instead of 401 until the
//!   budget refills. A valid code is never refused by this budget, so a client
//!   behind the same address as someone typing wrong codes is not locked out. The
//!   budget is not a defence against guessing (see above); it tells a client that
//!   keeps sending wrong codes (a broken retry loop, a script, a person trying codes)
//!   to stop, and shows it in the logs and metrics.
//! - **Heartbeats**: a per-address bucket, a global bucket and a per-pseudonym
//!   bucket, separate from code attempts so heartbeats never use up a patient's
//!   upload.
//!
//! Keyed tables are bounded: [`Limits::housekeeping`] (every minute) forgets keys
//! whose buckets are full again.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, NotUntil, Quota, RateLimiter};

use crate::config::Config;

/// A refusal: try again after this many seconds (at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct RetryAfter(pub u64);

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

/// `n` cells per `period`, burst `burst`.
fn quota(n: u32, period: Duration, burst: u32) -> Quota {
    let per_cell = period / n.max(1);
    Quota::with_period(per_cell.max(Duration::from_nanos(1)))
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(nz(burst))
}

/// Every limit of the public write endpoints.
#[derive(Debug)]
pub struct Limits {
    clock: DefaultClock,
    attempts: DefaultKeyedRateLimiter<IpAddr>,
    global_attempts: DefaultDirectRateLimiter,
    failures: DefaultKeyedRateLimiter<IpAddr>,
    heartbeats: DefaultKeyedRateLimiter<IpAddr>,
    global_heartbeats: DefaultDirectRateLimiter,
    pseudonyms: DefaultKeyedRateLimiter<[u8; 16]>,
}

impl Limits {
    /// The limits of `config`.
    pub fn new(c: &Config) -> Self {
        let minute = Duration::from_secs(60);
        let second = Duration::from_secs(1);
        Limits {
            clock: DefaultClock::default(),
            attempts: RateLimiter::keyed(quota(
                c.attempts_per_minute,
                minute,
                c.attempts_per_minute,
            )),
            global_attempts: RateLimiter::direct(quota(
                c.global_attempts_per_second,
                second,
                c.global_attempts_per_second.saturating_mul(2),
            )),
            failures: RateLimiter::keyed(quota(
                c.failures_before_lockout,
                Duration::from_secs(c.lockout_secs),
                c.failures_before_lockout,
            )),
            heartbeats: RateLimiter::keyed(quota(
                c.heartbeats_per_minute,
                minute,
                c.heartbeats_per_minute.saturating_mul(5),
            )),
            global_heartbeats: RateLimiter::direct(quota(
                c.global_heartbeats_per_second,
                second,
                c.global_heartbeats_per_second.saturating_mul(2),
            )),
            pseudonyms: RateLimiter::keyed(quota(
                c.heartbeats_per_pseudonym_per_hour,
                Duration::from_secs(3600),
                c.heartbeats_per_pseudonym_per_hour,
            )),
        }
    }

    fn retry(&self, n: NotUntil<<DefaultClock as Clock>::Instant>) -> RetryAfter {
        let wait = n.wait_time_from(self.clock.now());
        RetryAfter(wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(RetryAfter(1))
    }

    /// Counts a code-bearing attempt (preview or upload) from `client`.
    pub fn attempt(&self, client: IpAddr) -> Result<(), RetryAfter> {
        self.attempts
            .check_key(&client)
            .map_err(|n| self.retry(n))?;
        self.global_attempts.check().map_err(|n| self.retry(n))
    }

    /// Records a wrong, used or expired code from `client`. `Err` once the
    /// address's wrong-code budget is spent: answer 429 instead of 401.
    pub fn wrong_code(&self, client: IpAddr) -> Result<(), RetryAfter> {
        self.failures.check_key(&client).map_err(|n| self.retry(n))
    }

    /// Counts a heartbeat from `client` (before its body is read).
    pub fn heartbeat(&self, client: IpAddr) -> Result<(), RetryAfter> {
        self.heartbeats
            .check_key(&client)
            .map_err(|n| self.retry(n))?;
        self.global_heartbeats.check().map_err(|n| self.retry(n))
    }

    /// Counts a heartbeat of the venue pseudonym `pseudonym`.
    pub fn pseudonym(&self, pseudonym: [u8; 16]) -> Result<(), RetryAfter> {
        self.pseudonyms
            .check_key(&pseudonym)
            .map_err(|n| self.retry(n))
    }

    /// Forgets keys whose buckets are full again (bounds the tables' memory).
    pub fn housekeeping(&self) {
        for t in [&self.attempts, &self.failures, &self.heartbeats] {
            t.retain_recent();
            t.shrink_to_fit();
        }
        self.pseudonyms.retain_recent();
        self.pseudonyms.shrink_to_fit();
    }

    /// Keys currently remembered, all tables together (for tests and metrics).
    pub fn remembered(&self) -> usize {
        self.attempts.len() + self.failures.len() + self.heartbeats.len() + self.pseudonyms.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(f: impl FnOnce(&mut Config)) -> Config {
        let mut c = Config::default();
        f(&mut c);
        c
    }

    #[test]
    fn attempts_are_limited_per_address() {
        let l = Limits::new(&config(|c| c.attempts_per_minute = 3));
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        for _ in 0..3 {
            assert!(l.attempt(a).is_ok());
        }
        let RetryAfter(wait) = l.attempt(a).unwrap_err();
        assert!((1..=20).contains(&wait), "{wait}");
        assert!(l.attempt(b).is_ok());
    }

    #[test]
    fn the_global_bucket_caps_all_addresses_together() {
        let l = Limits::new(&config(|c| {
            c.attempts_per_minute = 1000;
            c.global_attempts_per_second = 2;
        }));
        let ok = (0..10u8)
            .filter(|i| l.attempt([10, 0, 0, *i].into()).is_ok())
            .count();
        assert_eq!(ok, 4, "burst is twice the per-second rate");
    }

    #[test]
    fn wrong_codes_spend_a_per_address_budget() {
        let l = Limits::new(&config(|c| {
            c.failures_before_lockout = 2;
            c.lockout_secs = 600;
        }));
        let a: IpAddr = [10, 0, 0, 1].into();
        assert!(l.wrong_code(a).is_ok());
        assert!(l.wrong_code(a).is_ok());
        let RetryAfter(wait) = l.wrong_code(a).unwrap_err();
        assert!((250..=300).contains(&wait), "one cell per 300 s: {wait}");
        assert!(l.wrong_code([10, 0, 0, 2].into()).is_ok());
        // Attempts are a separate budget.
        assert!(l.attempt(a).is_ok());
    }

    #[test]
    fn heartbeats_have_their_own_budgets() {
        let l = Limits::new(&config(|c| {
            c.attempts_per_minute = 1;
            c.heartbeats_per_minute = 1;
            c.heartbeats_per_pseudonym_per_hour = 2;
        }));
        let a: IpAddr = [10, 0, 0, 1].into();
        for _ in 0..5 {
            assert!(l.heartbeat(a).is_ok(), "burst of five minutes");
        }
        assert!(l.heartbeat(a).is_err());
        assert!(
            l.attempt(a).is_ok(),
            "heartbeats did not use the code budget"
        );
        assert!(l.pseudonym([1; 16]).is_ok());
        assert!(l.pseudonym([1; 16]).is_ok());
        assert!(l.pseudonym([1; 16]).is_err());
        assert!(l.pseudonym([2; 16]).is_ok());
    }

    #[test]
    fn housekeeping_forgets_full_buckets() {
        let l = Limits::new(&config(|c| {
            c.attempts_per_minute = 600_000;
            c.global_attempts_per_second = 1_000_000;
        }));
        for i in 0..200u8 {
            l.attempt([10, 0, 1, i].into()).unwrap();
        }
        assert_eq!(l.remembered(), 200);
        std::thread::sleep(Duration::from_millis(20));
        l.housekeeping();
        assert_eq!(l.remembered(), 0);
    }
}
