//! The console's pages, one file per job.

pub mod account;
pub mod audit;
pub mod bulletins;
pub mod codes;
pub mod home;
pub mod keys;
pub mod login;
pub mod notices;
pub mod proposals;
pub mod registry;
pub mod reviews;
pub mod staff;
pub mod stats;
pub mod traces;

use serde::Deserialize;

/// A form with nothing but its CSRF token.
#[derive(Debug, Deserialize)]
pub struct Empty {}

/// The local time of `unix` in the console's zone.
pub fn local(s: &super::ConsoleState, unix: u64) -> String {
    super::localtime::format(unix, s.offset_minutes())
}
