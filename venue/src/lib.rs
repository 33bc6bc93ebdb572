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
//! - [`pdf`]: the poster and tracing sheet as A4/A5 PDFs.
//! - [`registration`] and [`batch`]: registering with the authority, one venue or
//!   a ward office's CSV of many.
//! - [`display_file`]: the passphrase-protected display file (day keys and the
//!   signing key, never the master). With the default `native` feature off, it is
//!   all the library holds, and it builds for `wasm32-unknown-unknown`.
//!
//! All cryptography is the protocol crate's (`quet-protocol`); this crate adds the
//! passphrase protection of the venue file (PBKDF2-HMAC-SHA256 + XChaCha20-Poly1305)
//! and the local encryption of assisted visitors' contacts.

#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

#[cfg(feature = "native")]
pub mod assist;
#[cfg(feature = "native")]
pub mod batch;
#[cfg(feature = "native")]
pub mod display;
pub mod display_file;
pub mod error;
#[cfg(feature = "native")]
pub mod fsutil;
#[cfg(feature = "native")]
pub mod heartbeat;
#[cfg(feature = "native")]
pub mod http;
#[cfg(feature = "native")]
pub mod pages;
#[cfg(feature = "native")]
pub mod pdf;
#[cfg(feature = "native")]
pub mod printables;
#[cfg(feature = "native")]
pub mod qr;
#[cfg(feature = "matrix")]
pub mod qr_matrix;
#[cfg(feature = "native")]
pub mod registration;
pub mod screen;
#[cfg(feature = "native")]
pub mod timefmt;
#[cfg(feature = "native")]
pub mod trace_keys;
#[cfg(feature = "native")]
pub mod venue;

pub use error::{Result, VenueError};
#[cfg(feature = "native")]
pub use venue::{NewVenue, Venue};

/// The system random number generator (getrandom), infallible wrapper.
#[cfg(feature = "native")]
pub fn system_rng() -> rand_core::UnwrapErr<getrandom::SysRng> {
    rand_core::UnwrapErr(getrandom::SysRng)
}
