//! Fuzzes the client's store snapshot parser (what a browser reads back from
//! IndexedDB): it never panics, and whatever it accepts re-serialises to exactly
//! its input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quet_client::MemoryStore;

fuzz_target!(|data: &[u8]| {
    if let Ok(store) = MemoryStore::from_snapshot(data) {
        assert_eq!(store.snapshot(), data, "snapshot re-encoding");
    }
});
