//! # quet-client
//!
//! The citizen side of Quét: check in by scanning a venue's code (offline), keep an
//! encrypted diary, download and verify the health authority's bulletins, match
//! them privately on the phone, and upload report envelopes after a positive test.
//! The `quet` binary exposes all of it on the command line.
//!
//! The core ([`Client`]) is independent of SQLite and HTTP: storage is a [`Store`]
//! (SQLite natively, [`MemoryStore`] in tests and wasm32) and HTTP a [`Transport`]
//! (ureq natively). Every operation takes `now`, so callers control time.
//! Everything but [`sqlite`], [`http`] and [`native`] builds for
//! `wasm32-unknown-unknown` (`--no-default-features`).
//!
//! ```no_run
//! # #[cfg(feature = "native")] fn demo() -> quet_client::Result<()> {
//! use quet_client::{Client, UreqTransport, UnixTime};
//! let mut client = Client::open_dir(std::path::Path::new("/tmp/quet-demo"))?;
//! # let descriptor_bytes: Vec<u8> = vec![];
//! client.pin_authority(&descriptor_bytes)?;
//! let now = UnixTime(1_790_000_000);
//! let visit = client.check_in("HTTPS://QUET.EXAMPLE/C#…", now)?;
//! client.check_out(Some(visit.id), UnixTime(now.0 + 3600))?;
//! let report = client.sync(&UreqTransport::default(), now, &mut |_| {})?;
//! for alert in client.alerts()? { println!("{}", alert.venue_name); }
//! # let _ = report; Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod auth_code;
mod client;
mod error;
pub mod local_key;
pub mod store;
pub mod text;
pub mod transport;

#[cfg(feature = "native")]
pub mod http;
#[cfg(feature = "native")]
pub mod native;
#[cfg(feature = "qr")]
pub mod qr;
#[cfg(feature = "native")]
pub mod sqlite;

pub use client::{
    Alert, AuthoritySync, CheckIn, Client, DEFAULT_RETENTION_DAYS, IngestReport,
    MAX_RETENTION_DAYS, MIN_RETENTION_DAYS, ReportPlan, ReportReceipt, Rng, SyncProgress,
    SyncReport,
};
pub use error::{ClientError, Result, exit};
pub use local_key::LocalKey;
pub use quet_protocol::time::UnixTime;
pub use store::{MemoryStore, Store};
pub use text::Lang;
pub use transport::{Response, Transport};

#[cfg(feature = "native")]
pub use http::UreqTransport;
#[cfg(feature = "native")]
pub use sqlite::SqliteStore;
