//! quet-tests: cross-crate end-to-end tests and the demo (work in progress).
