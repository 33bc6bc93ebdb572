//! # quet-tests
//!
//! Cross-crate end-to-end tests and the `quet-demo` one-command run: a real
//! `quet-server` on loopback, real venues and real clients, checked against ground
//! truth computed independently from the simulated visits.

#![forbid(unsafe_code)]

pub mod sim;
