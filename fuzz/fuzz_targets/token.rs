//! Fuzzes encounter tokens: the stored-bytes parser (must re-encode to its input),
//! trial-opening, and the record parser behind the AEAD, reached by sealing the
//! fuzzed bytes as a record with the spec's token KDF written independently here,
//! under an epoch whose kind (1–4) the first byte picks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quet_protocol::kdf::TOKEN_LABEL;
use quet_protocol::testing::test_rng;
use quet_protocol::time::{Epoch, EpochKind};
use quet_protocol::token::{EncounterToken, RECORD_LEN, TOKEN_VERSION};
use quet_protocol::venue_keys::VenueTimeSecret;
use quet_protocol_fuzz::{aead_seal, hkdf};

const SHARED: [u8; 32] = [5; 32];
const EPHEMERAL: [u8; 32] = [9; 32];

fuzz_target!(|data: &[u8]| {
    let secret = VenueTimeSecret::from_bytes([3; 32]);
    if let Ok(token) = EncounterToken::from_bytes(data) {
        assert_eq!(token.to_bytes(), data, "token re-encoding");
        let _ = token.open_with(&secret);
    }

    // The record: fuzzed bytes (padded/cut to 192) sealed as the spec says.
    let mut plain = data.to_vec();
    plain.resize(RECORD_LEN, 0);
    let kind = EpochKind::ALL[usize::from(data.first().copied().unwrap_or(0) % 4)];
    let epoch = Epoch {
        kind,
        index: 497_217,
    };
    let e = epoch.to_bytes();
    let key: [u8; 32] = hkdf(&EPHEMERAL, &SHARED, TOKEN_LABEL, &e);
    let aad = [TOKEN_VERSION, e[0], e[1], e[2], e[3], e[4]];
    let token = EncounterToken {
        epoch,
        ephemeral: EPHEMERAL,
        ciphertext: aead_seal(&key, &aad, &plain)
            .try_into()
            .expect("fixed length"),
    };
    let Ok(record) = token.open_with_shared(&SHARED) else {
        return;
    };
    assert!(record.departure >= record.arrival);
    // Re-sealing the parsed record and opening it gives the same record back.
    let again = EncounterToken::seal(&mut test_rng(4), &secret.public(), epoch, &record)
        .expect("a parsed record re-seals");
    assert_eq!(again.open_with(&secret).expect("own token"), record);
});
