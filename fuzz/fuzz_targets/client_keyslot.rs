//! Fuzzes the diary key-slot parser: it never panics, what it accepts re-encodes
//! to its input, and opening an accepted slot with a guess fails cleanly (Argon2id
//! parameters out of range are refused before any memory is allocated).
#![no_main]

use libfuzzer_sys::fuzz_target;
use quet_client::vault::{DiaryPublicKey, KeySlot};

fuzz_target!(|data: &[u8]| {
    if let Ok(slot) = KeySlot::from_bytes(data) {
        assert_eq!(&slot.to_bytes()[..], data, "key slot re-encoding");
        let pk = DiaryPublicKey([9; 32]);
        let _ = slot.open_prf(&[1; 32], &pk);
        if let KeySlot::Passphrase { settings, .. } = &slot {
            // Only cheap parameters are worth stretching inside a fuzzer.
            if settings.memory_kib <= 8 * 1024 && settings.iterations <= 1 {
                let _ = slot.open_passphrase(b"guess", &pk);
            }
        }
    }
});
