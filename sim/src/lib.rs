//! # quet-sim
//!
//! A city-scale simulation of Quét at the worst weeks of 2021 in Hà Nội and Hồ Chí
//! Minh City. It draws a seeded synthetic city ([`city`]) and its confirmed cases
//! ([`cases`]), computes who truly shared a place and time with a case
//! ([`truth`], independently of any ciphertext), then runs the real code where it
//! costs ([`run`]): real codes, tokens and report envelopes from `quet-protocol`,
//! the health authority's upload, review and publication steps from `quet-server`'s
//! library on its own SQLite database ([`authority`]), and the real matcher on a
//! sample of phones, one thread each. It compares what the matcher finds with the
//! ground truth (false negatives must be 0), measures bytes and times beside
//! reference operations of the same run ([`baselines`]), models a CrowdNotifier-like
//! system and a static-code design side by side, computes a national view
//! ([`national`]) and writes a report with plots ([`report`], [`plots`]).
//!
//! `sim/README.md` gives the commands, the public 2021 figures with their sources and
//! every assumption.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod authority;
pub mod baselines;
pub mod cases;
pub mod city;
pub mod national;
pub mod phones;
pub mod plots;
pub mod report;
pub mod rng;
pub mod run;
pub mod scenario;
pub mod truth;

pub use run::{RunReport, run};
pub use scenario::Scenario;

/// Why a simulation run failed.
#[derive(Debug)]
pub enum SimError {
    /// The protocol crate refused something the simulation made (a bug).
    Protocol(quet_protocol::Error),
    /// The server library refused or failed.
    Server(String),
    /// SQLite failed.
    Db(rusqlite::Error),
    /// Writing the report or plots failed.
    Io(std::io::Error),
    /// Drawing a plot failed.
    Plot(String),
}

impl std::fmt::Display for SimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SimError::Protocol(e) => write!(f, "protocol: {e}"),
            SimError::Server(e) => write!(f, "server: {e}"),
            SimError::Db(e) => write!(f, "database: {e}"),
            SimError::Io(e) => write!(f, "i/o: {e}"),
            SimError::Plot(e) => write!(f, "plot: {e}"),
        }
    }
}

impl std::error::Error for SimError {}

impl From<quet_protocol::Error> for SimError {
    fn from(e: quet_protocol::Error) -> Self {
        SimError::Protocol(e)
    }
}

impl From<quet_server::ServerError> for SimError {
    fn from(e: quet_server::ServerError) -> Self {
        SimError::Server(e.to_string())
    }
}

impl From<rusqlite::Error> for SimError {
    fn from(e: rusqlite::Error) -> Self {
        SimError::Db(e)
    }
}

impl From<std::io::Error> for SimError {
    fn from(e: std::io::Error) -> Self {
        SimError::Io(e)
    }
}
