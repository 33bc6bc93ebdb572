//! Fuzzes the display-file parser (`quet_venue::display_file`), the file a browser
//! display imports: any text either fails with a typed error or opens; any
//! decrypted payload either fails or yields content within the documented limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quet_venue::display_file::{DisplayFile, MAX_DISPLAY_DAYS};

fuzz_target!(|data: &[u8]| {
    if let Ok(f) = DisplayFile::from_payload(data) {
        assert!(f.first_day <= f.last_day);
        assert!(f.last_day.0 - f.first_day.0 < MAX_DISPLAY_DAYS);
        assert_eq!(
            f.day_keys.len() as u32,
            f.last_day.0 - f.first_day.0 + 3,
            "day keys cover the days shown and one either side"
        );
        assert!(f.venue.check().is_ok());
    }
    if let Ok(text) = core::str::from_utf8(data) {
        // Wrong passphrase or malformed: never a panic.
        let _ = DisplayFile::open(text, "fuzz");
    }
});
