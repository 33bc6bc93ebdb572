//! Fuzzes the check-in code parser (v1 and v2): raw bytes, the same bytes signed by
//! the vectors' venue key with the context of their version byte (so mutations get
//! past the signature and reach every later check), and the URL/base32 text form.
//! Every accepted code must re-encode to its input, and what a phone does next
//! (freshness, registration, revocation, sealing a token) must not panic.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use quet_protocol::code::{CheckInCode, MAX_CODE_LEN};
use quet_protocol::testing::test_rng;
use quet_protocol::time::{Day, UnixTime};
use quet_protocol::token::EncounterToken;
use quet_protocol_fuzz::{AUTHORITY_URL, World, assert_code_round_trips};

static WORLD: LazyLock<World> = LazyLock::new(World::new);

fn check(bytes: &[u8], w: &World) {
    let Ok(code) = CheckInCode::parse_signed(bytes) else {
        return;
    };
    assert_code_round_trips(&code, bytes);
    assert!(code.version == 1 || code.version == 2);
    assert!(code.uses.screen || code.uses.posters);
    // The text form carries exactly the same bytes.
    let url = code.to_url(AUTHORITY_URL);
    assert_eq!(CheckInCode::bytes_from_text(&url).expect("own URL"), bytes);
    // What a phone does next must not panic, whatever the clock.
    let epoch = code.epoch().expect("a parsed code has an epoch");
    for now in [
        code.timestamp,
        UnixTime(code.timestamp.0.saturating_add(86_399)),
        UnixTime(0),
        UnixTime(u64::MAX),
    ] {
        if let Ok((c, _)) = CheckInCode::parse_and_verify(bytes, now, &w.descriptor) {
            assert_eq!(c.epoch().expect("epoch"), epoch);
        }
    }
    for today in [Day(0), Day(20_717), Day(u32::MAX)] {
        let _ = code.registration(&w.descriptor, today);
    }
    let _ = code.check_not_revoked(|k| k[0] & 1 == 0);
    let _ = EncounterToken::check_in(&mut test_rng(9), &code, code.timestamp);
}

fuzz_target!(|data: &[u8]| {
    let w = &*WORLD;
    check(data, w);
    if data.len() + 64 <= MAX_CODE_LEN {
        check(&w.sign_as_venue(data), w);
    }
    if let Ok(text) = core::str::from_utf8(data)
        && let Ok(bytes) = CheckInCode::bytes_from_text(text)
    {
        check(&bytes, w);
    }
});
