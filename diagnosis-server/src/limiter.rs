//! Per-client rate limiting with lockout for the public write endpoints.
//!
//! Each client IP gets `attempts_per_minute` attempts (uploads, previews,
//! heartbeats) per fixed one-minute window; `failures_before_lockout` wrong, used
//! or expired authorization codes within an hour lock it out for `lockout_secs`.
//! The table is bounded: when it holds too many addresses, stale entries are
//! dropped first, then (under a flood) everything, which fails open for attempts
//! but never forgets an active lockout unless the flood exceeds the cap.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Default, Clone, Copy)]
struct Entry {
    window_start: u64,
    attempts: u32,
    failure_window_start: u64,
    failures: u32,
    locked_until: u64,
}

/// The limiter.
#[derive(Debug)]
pub struct Limiter {
    attempts_per_minute: u32,
    failures_before_lockout: u32,
    lockout_secs: u64,
    table: Mutex<HashMap<IpAddr, Entry>>,
}

impl Limiter {
    /// A limiter with these limits.
    pub fn new(attempts_per_minute: u32, failures_before_lockout: u32, lockout_secs: u64) -> Self {
        Limiter {
            attempts_per_minute,
            failures_before_lockout,
            lockout_secs,
            table: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt at `now`; `Err(retry_after_secs)` if it is not allowed.
    pub fn attempt(&self, ip: IpAddr, now: u64) -> Result<(), u64> {
        let mut t = self.table.lock().unwrap_or_else(|p| p.into_inner());
        if t.len() >= MAX_ENTRIES && !t.contains_key(&ip) {
            t.retain(|_, e| e.locked_until > now || e.window_start.saturating_add(60) > now);
            if t.len() >= MAX_ENTRIES {
                t.clear();
            }
        }
        let e = t.entry(ip).or_default();
        if e.locked_until > now {
            return Err(e.locked_until - now);
        }
        if now >= e.window_start.saturating_add(60) {
            e.window_start = now;
            e.attempts = 0;
        }
        if e.attempts >= self.attempts_per_minute {
            return Err(e.window_start.saturating_add(60).saturating_sub(now));
        }
        e.attempts += 1;
        Ok(())
    }

    /// Records a failed authorization code; may start a lockout.
    pub fn failure(&self, ip: IpAddr, now: u64) {
        let mut t = self.table.lock().unwrap_or_else(|p| p.into_inner());
        let e = t.entry(ip).or_default();
        if now >= e.failure_window_start.saturating_add(3600) {
            e.failure_window_start = now;
            e.failures = 0;
        }
        e.failures += 1;
        if e.failures >= self.failures_before_lockout {
            e.locked_until = now.saturating_add(self.lockout_secs);
            e.failures = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_are_limited_per_minute_and_per_ip() {
        let l = Limiter::new(3, 100, 60);
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        for _ in 0..3 {
            assert!(l.attempt(a, 1000).is_ok());
        }
        assert_eq!(l.attempt(a, 1010), Err(50));
        assert!(l.attempt(b, 1010).is_ok());
        assert!(l.attempt(a, 1060).is_ok());
    }

    #[test]
    fn failures_lock_out() {
        let l = Limiter::new(100, 2, 900);
        let a: IpAddr = [10, 0, 0, 1].into();
        l.failure(a, 1000);
        assert!(l.attempt(a, 1001).is_ok());
        l.failure(a, 1002);
        assert_eq!(l.attempt(a, 1003), Err(899));
        assert!(l.attempt(a, 1902).is_ok());
    }
}
