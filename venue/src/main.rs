//! `quet-venue`: the venue tool's command line. See the crate README.
fn main() {}
