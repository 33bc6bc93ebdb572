//! # quet-venue
//!
//! The venue tool of Quét: what a shop, office, school, clinic, market stall, bus
//! company or wedding organiser runs. Every screen and printout is in Vietnamese
//! and English.
//!
//! - [`venue`]: the venue file (display info, pinned authority, master key with
//!   optional passphrase), created atomically and never overwritten.
//! - [`display`]: the local full-screen rotating display (HTTP on 127.0.0.1).
//! - [`printables`]: tracing sheet, weekly poster, paper log (HTML + inline SVG).
//! - [`assist`]: assisted check-in for visitors without smartphones and matching
//!   against the authority's bulletins.
//! - [`heartbeat`]: opt-in daily usage heartbeat under a daily pseudonym.
//! - [`qr`]: QR rendering and the base32-vs-base64url size measurement.
//!
//! All cryptography is the protocol crate's (`quet-protocol`); this crate adds the
//! passphrase protection of the venue file (PBKDF2-HMAC-SHA256 + XChaCha20-Poly1305)
//! and the local encryption of assisted visitors' contacts.

#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod assist;
pub mod display;
pub mod error;
pub mod fsutil;
pub mod heartbeat;
pub mod http;
pub mod pages;
pub mod printables;
pub mod qr;
pub mod timefmt;
pub mod venue;

pub use error::{Result, VenueError};
pub use venue::{NewVenue, Venue};

/// The system random number generator (getrandom), infallible wrapper.
pub fn system_rng() -> rand_core::UnwrapErr<getrandom::SysRng> {
    rand_core::UnwrapErr(getrandom::SysRng)
}
