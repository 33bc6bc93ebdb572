//! Fuzzes the tracing-sheet text parser (typed by investigators): any text either
//! fails or yields a key whose canonical sheet text parses back to the same key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quet_protocol::venue_keys::VenueMasterKey;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = core::str::from_utf8(data) else {
        return;
    };
    if let Ok(master) = VenueMasterKey::from_sheet_text(text) {
        let canonical = master.to_sheet_text();
        assert_eq!(canonical.len(), 56 + 13, "14 groups of four");
        assert_eq!(
            VenueMasterKey::from_sheet_text(&canonical).expect("canonical text"),
            master
        );
    }
});
