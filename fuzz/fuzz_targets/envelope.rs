//! Fuzzes report envelopes (v2) as the HA receives them: the wire parser and
//! opening with the vectors' HA keys, and the plaintext parser and every HA check
//! behind the AEAD, reached by sealing the fuzzed bytes (padded/cut to 640) to the
//! capsule key of the vectors' day with the spec's label and associated data.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use quet_protocol::envelope::{ENVELOPE_PLAINTEXT_LEN, ENVELOPE_VERSION, ReportEnvelope};
use quet_protocol::kdf::ENVELOPE_V2_LABEL;
use quet_protocol::sealed_box::seal;
use quet_protocol::testing::test_rng;
use quet_protocol::time::UnixTime;
use quet_protocol_fuzz::{T_CODE, World};

static WORLD: LazyLock<World> = LazyLock::new(World::new);

fuzz_target!(|data: &[u8]| {
    let w = &*WORLD;
    if let Ok(env) = ReportEnvelope::from_bytes(data) {
        assert_eq!(env.as_bytes(), data);
        let _ = env.open_and_verify(&w.ha, &w.descriptor);
    }

    let mut plain = data.to_vec();
    plain.resize(ENVELOPE_PLAINTEXT_LEN, 0);
    let (key_id, key) = w
        .descriptor
        .capsule_for(UnixTime(T_CODE))
        .expect("the world's day has a capsule key");
    let aad = [ENVELOPE_VERSION, key_id];
    let mut bytes = aad.to_vec();
    bytes.extend(seal(&mut test_rng(5), key, ENVELOPE_V2_LABEL, &aad, &plain).expect("seal"));
    let env = ReportEnvelope::from_bytes(&bytes).expect("well-formed envelope");
    match env.open_and_verify(&w.ha, &w.descriptor) {
        Ok(None) => assert!(plain.iter().all(|&b| b == 0), "padding is all zero"),
        Ok(Some(visit)) => {
            // The accepted plaintext is exactly kind 1, the stay, the code, zeros.
            let code = visit.code.as_bytes();
            let mut expect = vec![1u8];
            expect.extend_from_slice(&visit.arrival.0.to_be_bytes());
            expect.extend_from_slice(&visit.departure.0.to_be_bytes());
            expect.extend_from_slice(&u16::try_from(code.len()).expect("short").to_be_bytes());
            expect.extend_from_slice(code);
            expect.resize(ENVELOPE_PLAINTEXT_LEN, 0);
            assert_eq!(expect, plain, "envelope plaintext re-encoding");
            assert!(visit.arrival <= visit.departure);
            assert!(
                visit.departure.0 - visit.arrival.0 <= visit.code.venue.max_stay_secs(),
                "departure clipped to the maximum stay"
            );
            // The capsule's day key reproduces the code's P_e.
            let dk = visit
                .day_keys
                .iter()
                .find(|k| k.day == visit.epoch.day())
                .expect("day key");
            assert_eq!(
                dk.venue_time_secret(visit.epoch).expect("epoch").public(),
                visit.code.venue_time_public
            );
        }
        Err(_) => {}
    }
});
