//! # quet-server
//!
//! The Quét diagnosis server: the health authority's service. It publishes signed,
//! hash-chained bulletins of exposure notices, accepts case reports (report
//! envelopes with a one-time authorization code), lets staff review and approve
//! them or trace a venue from its tracing sheet, and counts active venues from
//! opt-in heartbeats. The HTTP contract is `spec/api.md`; every cryptographic step
//! is the `quet_protocol` crate's.
//!
//! Use it as a library (tests, demo) or through the `quet-server` binary:
//!
//! ```no_run
//! # async fn demo() -> Result<(), quet_server::ServerError> {
//! use quet_server::{Config, InitOptions};
//! let dir = std::path::PathBuf::from("/tmp/ha");
//! let report = quet_server::init_authority(&InitOptions {
//!     data_dir: dir.clone(), name: "Sở Y tế Hà Nội".into(),
//!     base_url: "https://quet.example".into(), id: None })?;
//! let token = quet_server::add_staff(&dir, "alice")?;
//! let server = quet_server::start(Config::new(&dir, "127.0.0.1:0".parse().unwrap()), false).await?;
//! println!("{} {} {token}", report.fingerprint, server.base_url());
//! server.shutdown().await?;
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod api;
pub mod audit;
pub mod client_addr;
pub mod codes;
pub mod config;
pub mod connections;
pub mod console;
pub mod db;
pub mod decisions;
pub mod districts;
pub mod error;
pub mod export;
pub mod head;
pub mod heartbeat;
pub mod keystore;
pub mod limiter;
pub mod metrics;
pub mod password;
pub mod publish;
pub mod registry;
pub mod reports;
pub mod retention;
pub mod review;
pub mod rng;
pub mod roles;
pub mod server;
pub mod staff;
pub mod state;

use std::path::Path;

pub use config::Config;
pub use error::{ApiError, ServerError};
pub use export::{ExportReport, export};
pub use keystore::{
    InitOptions, InitReport, activate_signing_key, announce_signing_key, extend_capsule_keys,
};
pub use server::{RunningServer, start};

/// Creates a new authority (keys, descriptor, database) in `opts.data_dir`.
pub fn init_authority(opts: &InitOptions) -> Result<InitReport, ServerError> {
    keystore::init(opts)
}

/// Adds a staff member with the tracer and publisher roles (a district team of
/// one) and a generated console password; returns their API token, shown only
/// this once (only its hash is stored). See [`add_staff_with`] for roles and the
/// password.
pub fn add_staff(data_dir: &Path, name: &str) -> Result<String, ServerError> {
    let creds = add_staff_with(
        data_dir,
        &staff::NewStaff {
            name: name.to_owned(),
            roles: vec![roles::Role::Tracer, roles::Role::Publisher],
            district: None,
            password: None,
        },
    )?;
    Ok(creds.token.to_string())
}

/// Replaces the authority's list of districts with the names in `text` (one per
/// line; see [`districts::parse_list`]); returns how many there are now.
pub fn import_districts(data_dir: &Path, text: &str) -> Result<usize, ServerError> {
    let names = districts::parse_list(text)?;
    let mut conn = db::open(&keystore::db_path(data_dir))?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let n = districts::replace_all(&tx, &names)?;
    staff::record(
        &tx,
        db::now(),
        "cli",
        "districts.import",
        Some(&format!("{n} districts")),
    )?;
    tx.commit()?;
    Ok(n)
}

/// The authority's list of districts.
pub fn list_districts(data_dir: &Path) -> Result<Vec<String>, ServerError> {
    let conn = db::open(&keystore::db_path(data_dir))?;
    Ok(districts::list(&conn)?)
}

/// Adds a staff member; returns their API token and console password (shown once).
pub fn add_staff_with(
    data_dir: &Path,
    new: &staff::NewStaff,
) -> Result<staff::Credentials, ServerError> {
    let mut conn = db::open(&keystore::db_path(data_dir))?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let creds = staff::add(&tx, new, "cli", db::now())?;
    tx.commit()?;
    Ok(creds)
}

/// Runs `f` on the authority's database in one IMMEDIATE transaction (the
/// command-line staff commands).
pub fn with_transaction<T>(
    data_dir: &Path,
    f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, ServerError>,
) -> Result<T, ServerError> {
    let mut conn = db::open(&keystore::db_path(data_dir))?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let out = f(&tx)?;
    tx.commit()?;
    Ok(out)
}

/// Disables a staff member (token, password and sessions).
pub fn disable_staff(data_dir: &Path, name: &str) -> Result<(), ServerError> {
    with_transaction(data_dir, |tx| staff::disable(tx, name, "cli", db::now()))
}

/// Adds a ward officer who registers and approves venues of `district` only (a
/// staff member with the single role `ward-officer`); returns their API token,
/// shown only this once.
pub fn add_ward_officer(
    data_dir: &Path,
    name: &str,
    district: &str,
) -> Result<String, ServerError> {
    let creds = add_staff_with(
        data_dir,
        &staff::NewStaff {
            name: name.to_owned(),
            roles: vec![roles::Role::WardOfficer],
            district: Some(district.trim().to_owned()),
            password: None,
        },
    )?;
    Ok(creds.token.to_string())
}
