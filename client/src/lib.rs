//! # quet-client
//!
//! The citizen side of Quét: check in by scanning a venue's code (offline, no PIN
//! needed), keep a diary sealed to a key only the user unlocks, download and
//! verify the health authority's bulletins, match them privately on the phone
//! (locked or not), and upload report envelopes after a positive test. The `quet`
//! binary exposes all of it on the command line.
//!
//! The core ([`Client`]) is independent of SQLite and HTTP: storage is a [`Store`]
//! (SQLite natively, [`MemoryStore`] in tests and wasm32) and the network is data:
//! sync and report are steps that say which [`Request`] to make and take the
//! [`Response`] back, so a browser drives them with `fetch`; natively a blocking
//! [`Transport`] (ureq) runs the same steps in a loop. Every operation takes
//! `now`, so callers control time. Everything but [`sqlite`], [`http`] and
//! [`native`] builds for `wasm32-unknown-unknown` (`--no-default-features`).
//!
//! ```no_run
//! # #[cfg(feature = "native")] fn demo() -> quet_client::Result<()> {
//! use quet_client::{Client, UreqTransport, UnixTime};
//! let mut client = Client::open_dir(std::path::Path::new("/tmp/quet-demo"))?;
//! # let descriptor_bytes: Vec<u8> = vec![];
//! client.pin_authority(&descriptor_bytes)?;
//! let now = UnixTime(1_790_000_000);
//! let visit = client.check_in("HTTPS://QUET.EXAMPLE/C#…", now)?;   // never asks for a PIN
//! client.set_passphrase(b"a passphrase")?;                        // right after, once
//! client.check_out(Some(visit.id), UnixTime(now.0 + 3600))?;
//! let report = client.sync(&UreqTransport::default(), now, &mut |_| {})?;
//! client.lock();
//! println!("{} new alerts: unlock to see where", report.new_alerts.len());
//! client.unlock_with_passphrase(b"a passphrase", now)?;
//! for alert in client.alerts()? { println!("{}", alert.venue_name); }
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod answers;
pub mod auth_code;
pub mod chaff;
mod checkin;
mod client;
mod diary;
mod error;
pub mod feed;
pub mod legacy;
mod model;
mod report;
mod retention;
pub mod snapshot;
pub mod store;
mod sync;
pub mod text;
pub mod transport;
mod unlock;
pub mod vault;

#[cfg(feature = "native")]
pub mod http;
#[cfg(feature = "native")]
pub mod native;
#[cfg(feature = "qr")]
pub mod qr;
#[cfg(feature = "native")]
pub mod sqlite;

pub use chaff::{ChaffDue, ChaffKind, ChaffRequest};
pub use client::{Client, Rng};
pub use error::{ClientError, Result, exit};
pub use feed::{AlarmKind, ChainAlarm, FeedStatus};
pub use model::{Alert, AlertSummary, CheckIn, CheckpointCheck};
pub use quet_protocol::time::UnixTime;
pub use report::{ReportDraft, ReportPlan, ReportReceipt};
pub use retention::{DEFAULT_RETENTION_DAYS, MAX_RETENTION_DAYS, MIN_RETENTION_DAYS};
pub use store::{MemoryStore, Store};
pub use sync::{AuthoritySync, IngestReport, SyncProgress, SyncReport, SyncSession};
pub use text::Lang;
pub use transport::{Method, Request, Response, Transport};
pub use unlock::Protection;
pub use vault::Argon2Settings;

#[cfg(feature = "native")]
pub use http::UreqTransport;
#[cfg(feature = "native")]
pub use sqlite::SqliteStore;
