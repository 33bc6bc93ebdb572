//! Fuzzes the day-key sheet parser (typed or scanned by investigators for a
//! venue-initiated trace): any text either fails, or yields 1–31 consecutive day
//! keys whose canonical sheet text parses back to the same keys. A second path
//! builds a well-checksummed sheet from the fuzzed bytes, so the checks behind the
//! checksum (count, length, day overflow) are reached.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quet_protocol::venue_keys::{MAX_SHEET_DAYS, day_keys_from_text, day_keys_to_text};
use sha2::Digest;

fn check(text: &str) {
    let Ok(keys) = day_keys_from_text(text) else {
        return;
    };
    assert!(!keys.is_empty() && keys.len() <= MAX_SHEET_DAYS);
    for pair in keys.windows(2) {
        assert_eq!(pair[0].day.0 + 1, pair[1].day.0, "consecutive days");
    }
    let canonical = day_keys_to_text(&keys).expect("parsed keys re-encode");
    assert_eq!(
        day_keys_from_text(&canonical).expect("canonical text"),
        keys
    );
    assert_eq!(
        day_keys_from_text(&canonical.to_lowercase().replace('-', " ")).expect("sloppy"),
        keys
    );
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = core::str::from_utf8(data) {
        check(text);
    }
    // The fuzzed bytes as a payload with a correct checksum (§5.3).
    if data.len() <= 2048 {
        let mut payload = data.to_vec();
        let sum = sha2::Sha256::new()
            .chain_update(quet_protocol::kdf::DAY_KEYS_CHECKSUM_LABEL)
            .chain_update(&payload)
            .finalize();
        payload.extend_from_slice(&sum[..3]);
        check(&data_encoding::BASE32_NOPAD.encode(&payload));
    }
});
