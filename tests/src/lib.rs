//! # quet-tests
//!
//! Cross-crate end-to-end tests and the `quet-demo` one-command run: a real
//! `quet-server` on loopback, real venues and real clients, checked against ground
//! truth computed independently from the simulated visits.
//!
//! - [`sim`]: the simulated day and the ground truth.
//! - [`harness`]: the server binary, staff calls, descriptors.
//! - [`demo`]: the whole story, used by `quet-demo` and by the tests.

#![forbid(unsafe_code)]

pub mod demo;
pub mod harness;
pub mod sim;
