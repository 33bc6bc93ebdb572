//! Fuzzes the check-in code parser: raw bytes, the same bytes signed by the vectors'
//! venue key (so mutations get past the signature and reach every later check), and
//! the URL/base32 text form. Every accepted code must re-encode to its input.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use quet_protocol::code::{CheckInCode, MAX_CODE_LEN};
use quet_protocol::testing::test_rng;
use quet_protocol::time::UnixTime;
use quet_protocol::token::EncounterToken;
use quet_protocol_fuzz::{AUTHORITY_URL, World, assert_code_round_trips};

static WORLD: LazyLock<World> = LazyLock::new(World::new);

fn check(bytes: &[u8], w: &World) {
    let Ok(code) = CheckInCode::parse_signed(bytes) else {
        return;
    };
    assert_code_round_trips(&code, bytes);
    // The text form carries exactly the same bytes.
    let url = code.to_url(AUTHORITY_URL);
    assert_eq!(CheckInCode::bytes_from_text(&url).expect("own URL"), bytes);
    // What a phone does next must not panic, whatever the clock.
    for now in [code.timestamp, UnixTime(0), UnixTime(u64::MAX)] {
        let _ = CheckInCode::parse_and_verify(bytes, now, &w.descriptor);
    }
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
