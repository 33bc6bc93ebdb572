//! Login backoff against password guessing, without letting a stranger lock staff
//! out for good.
//!
//! Failures are counted per account name, per client address and per known
//! device. The first [`FREE_FAILURES`] of each are free; after that each further
//! attempt must wait `2^(n − FREE_FAILURES)` seconds, at most [`MAX_DELAY_SECS`]
//! (15 minutes), and counts are forgotten after [`FORGET_SECS`] without a failure.
//! A guesser is therefore held to a few guesses per quarter hour per account.
//!
//! A stranger's failures slow down the *account*, which would slow down its owner
//! too; so a browser that logged in successfully before carries a signed "known
//! device" cookie (180 days, bound to the account name), and for it the account's
//! counter does not apply, only the device's own. The owner keeps logging in from
//! their usual browser while someone else hammers the account; a stolen device
//! cookie gives no more than [`FREE_FAILURES`] quick guesses either. Address
//! counters stop one machine guessing across many accounts.
//!
//! The tables live in memory, bounded to [`MAX_ENTRIES`] each (the oldest idle
//! entries go first).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::rng::random_bytes;

/// Failures allowed before backoff starts.
pub const FREE_FAILURES: u32 = 5;
/// Longest wait between attempts, seconds.
pub const MAX_DELAY_SECS: u64 = 900;
/// Failures are forgotten after this long without one, seconds.
pub const FORGET_SECS: u64 = 3600;
/// Entries per table.
pub const MAX_ENTRIES: usize = 50_000;
/// Address failures allowed before backoff (an office may share one address).
pub const FREE_ADDRESS_FAILURES: u32 = 20;
/// Label of known-device cookies.
pub const DEVICE_LABEL: &[u8] = b"quet/v1/console/known-device";
/// Base name of the known-device cookie.
pub const DEVICE_COOKIE: &str = "quet_device";
/// Lifetime of a known-device cookie, seconds.
pub const DEVICE_COOKIE_SECS: u64 = 180 * 86_400;

#[derive(Debug, Clone, Copy, Default)]
struct Counter {
    failures: u32,
    last_failure: u64,
}

impl Counter {
    fn wait(&self, free: u32, now: u64) -> u64 {
        if now >= self.last_failure.saturating_add(FORGET_SECS) || self.failures < free {
            return 0;
        }
        let exp = (self.failures - free).min(20);
        let delay = (1u64 << exp).min(MAX_DELAY_SECS);
        self.last_failure.saturating_add(delay).saturating_sub(now)
    }
    fn fail(&mut self, now: u64) {
        if now >= self.last_failure.saturating_add(FORGET_SECS) {
            self.failures = 0;
        }
        self.failures = self.failures.saturating_add(1);
        self.last_failure = now;
    }
}

#[derive(Debug, Default)]
struct Tables {
    accounts: HashMap<String, Counter>,
    addresses: HashMap<IpAddr, Counter>,
    devices: HashMap<[u8; 16], Counter>,
}

fn bounded<K: std::hash::Hash + Eq + Clone>(m: &mut HashMap<K, Counter>, now: u64) {
    if m.len() < MAX_ENTRIES {
        return;
    }
    m.retain(|_, c| now < c.last_failure.saturating_add(FORGET_SECS));
    if m.len() >= MAX_ENTRIES {
        let mut ages: Vec<u64> = m.values().map(|c| c.last_failure).collect();
        ages.sort_unstable();
        let cut = ages.get(ages.len() / 2).copied().unwrap_or(u64::MAX);
        m.retain(|_, c| c.last_failure > cut);
    }
}

/// The login throttle.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    tables: Mutex<Tables>,
}

/// Who is trying to log in.
#[derive(Debug, Clone)]
pub struct Attempt<'a> {
    /// The account name typed.
    pub account: &'a str,
    /// The client address.
    pub address: IpAddr,
    /// A valid known-device cookie for this account, if presented.
    pub device: Option<[u8; 16]>,
}

impl LoginThrottle {
    /// `Err(seconds to wait)` if this attempt must wait.
    pub fn check(&self, a: &Attempt<'_>, now: u64) -> Result<(), u64> {
        let t = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        let address = t
            .addresses
            .get(&a.address)
            .map_or(0, |c| c.wait(FREE_ADDRESS_FAILURES, now));
        let account = match a.device {
            Some(d) => t.devices.get(&d).map_or(0, |c| c.wait(FREE_FAILURES, now)),
            None => t.accounts.get(a.account).map_or(0, |c| c.wait(FREE_FAILURES, now)),
        };
        match address.max(account) {
            0 => Ok(()),
            n => Err(n),
        }
    }

    /// Records a failed attempt.
    pub fn failure(&self, a: &Attempt<'_>, now: u64) {
        let mut t = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        bounded(&mut t.addresses, now);
        t.addresses.entry(a.address).or_default().fail(now);
        match a.device {
            Some(d) => {
                bounded(&mut t.devices, now);
                t.devices.entry(d).or_default().fail(now);
            }
            None => {
                bounded(&mut t.accounts, now);
                let name: String = a.account.chars().take(64).collect();
                t.accounts.entry(name).or_default().fail(now);
            }
        }
    }

    /// Records a successful login: the device's and address's counts are cleared
    /// (the account's stay: a guesser elsewhere is still slowed down).
    pub fn success(&self, a: &Attempt<'_>) {
        let mut t = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        t.addresses.remove(&a.address);
        if let Some(d) = a.device {
            t.devices.remove(&d);
        }
    }
}

fn device_mac(key: &[u8; 32], account: &str, id: &[u8]) -> [u8; 32] {
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| <Hmac<Sha256> as KeyInit>::new(&Default::default()));
    m.update(DEVICE_LABEL);
    m.update(&(account.len() as u64).to_be_bytes());
    m.update(account.as_bytes());
    m.update(id);
    m.finalize().into_bytes().into()
}

/// A new known-device cookie value for `account`.
pub fn new_device_cookie(key: &[u8; 32], account: &str) -> String {
    let id: [u8; 16] = random_bytes();
    let tag = device_mac(key, account, &id);
    format!(
        "{}.{}",
        data_encoding::BASE64URL_NOPAD.encode(&id),
        data_encoding::BASE64URL_NOPAD.encode(&tag)
    )
}

/// The device id of a cookie value, if it is genuine for `account`.
pub fn check_device_cookie(key: &[u8; 32], account: &str, value: &str) -> Option<[u8; 16]> {
    let (id, tag) = value.split_once('.')?;
    let id: [u8; 16] = data_encoding::BASE64URL_NOPAD
        .decode(id.as_bytes())
        .ok()?
        .try_into()
        .ok()?;
    let tag = data_encoding::BASE64URL_NOPAD.decode(tag.as_bytes()).ok()?;
    let expected = device_mac(key, account, &id);
    bool::from(expected.as_slice().ct_eq(&tag)).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at<'a>(account: &'a str, ip: [u8; 4], device: Option<[u8; 16]>) -> Attempt<'a> {
        Attempt {
            account,
            address: ip.into(),
            device,
        }
    }

    #[test]
    fn guessing_backs_off_exponentially_up_to_fifteen_minutes() {
        let t = LoginThrottle::default();
        let g = at("lan", [203, 0, 113, 9], None);
        let mut now = 1_000_000;
        for _ in 0..FREE_FAILURES {
            assert_eq!(t.check(&g, now), Ok(()));
            t.failure(&g, now);
        }
        assert_eq!(t.check(&g, now), Err(1));
        let mut waits = Vec::new();
        for _ in 0..12 {
            let w = t.check(&g, now).err().unwrap_or(0);
            waits.push(w);
            now += w;
            assert_eq!(t.check(&g, now), Ok(()));
            t.failure(&g, now);
        }
        assert_eq!(&waits[..5], &[1, 2, 4, 8, 16]);
        assert_eq!(*waits.last().unwrap(), MAX_DELAY_SECS);
        // The same account from another address is slowed down too...
        assert!(t.check(&at("lan", [198, 51, 100, 1], None), now).is_err());
        // ...but not another account from another address,
        assert!(t.check(&at("minh", [198, 51, 100, 1], None), now).is_ok());
        // and everything is forgotten after an hour without failures.
        assert!(t.check(&g, now + FORGET_SECS).is_ok());
    }

    #[test]
    fn the_owner_on_a_known_device_is_not_locked_out_by_a_stranger() {
        let key = [3u8; 32];
        let t = LoginThrottle::default();
        let cookie = new_device_cookie(&key, "lan");
        let device = check_device_cookie(&key, "lan", &cookie).unwrap();
        assert!(check_device_cookie(&key, "minh", &cookie).is_none(), "bound to the account");
        assert!(check_device_cookie(&[4u8; 32], "lan", &cookie).is_none());
        let now = 5_000_000;
        let stranger = at("lan", [203, 0, 113, 9], None);
        for i in 0..200 {
            t.failure(&stranger, now + i);
        }
        assert!(t.check(&stranger, now + 200).is_err());
        let owner = at("lan", [192, 0, 2, 7], Some(device));
        assert_eq!(t.check(&owner, now + 200), Ok(()));
        // A stolen device cookie gets only a few quick guesses.
        for _ in 0..FREE_FAILURES {
            t.failure(&owner, now + 201);
        }
        assert!(t.check(&owner, now + 201).is_err());
    }

    #[test]
    fn one_address_guessing_many_accounts_is_slowed() {
        let t = LoginThrottle::default();
        for i in 0..FREE_ADDRESS_FAILURES {
            let name = format!("user{i}");
            t.failure(&at(&name, [203, 0, 113, 9], None), 100);
        }
        assert!(t.check(&at("fresh", [203, 0, 113, 9], None), 100).is_err());
        assert!(t.check(&at("fresh", [203, 0, 113, 10], None), 100).is_ok());
    }
}
