//! Fuzzes venue certificates: the 77-byte parser (must re-encode to its input) and
//! verification against the pinned descriptor for fuzzed details and days; a second
//! path has the vectors' HA key sign the fuzzed fields for the vectors' venue, so
//! the validity-day branches are reached. Only a certificate the HA signed for
//! exactly these details can be `Registered`.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use quet_protocol::category::Category;
use quet_protocol::certificate::{CERTIFICATE_LEN, Registration, VenueCertificate, details_hash};
use quet_protocol::time::Day;
use quet_protocol_fuzz::{World, encode_certificate, sign_with};

static WORLD: LazyLock<World> = LazyLock::new(World::new);

const NAME: &str = "Phở Thìn Lò Đúc";
const ADDRESS: &str = "13 Lò Đúc, Hai Bà Trưng, Hà Nội";

fn check(bytes: &[u8], w: &World, text: &str, today: Day) -> Option<Registration> {
    let cert = VenueCertificate::from_bytes(bytes).ok()?;
    assert_eq!(bytes.len(), CERTIFICATE_LEN);
    assert_eq!(encode_certificate(&cert), bytes, "certificate re-encoding");
    assert_eq!(cert.to_bytes(), bytes);
    let key = w.venue_signing.verifying_key().to_bytes();
    // Fuzzed details never verify unless they are the signed ones.
    let other = cert.verify(&w.descriptor, &key, Category::Other, text, text, today);
    if text != NAME {
        assert!(!matches!(other, Registration::Registered { .. }));
    }
    Some(cert.verify(
        &w.descriptor,
        &key,
        Category::Restaurant,
        NAME,
        ADDRESS,
        today,
    ))
}

fuzz_target!(|data: &[u8]| {
    let w = &*WORLD;
    let text = core::str::from_utf8(data.get(77..).unwrap_or_default()).unwrap_or("");
    let day = |i: usize| {
        Day(u32::from_be_bytes([
            data.get(i).copied().unwrap_or(0),
            data.get(i + 1).copied().unwrap_or(0),
            data.get(i + 2).copied().unwrap_or(0),
            data.get(i + 3).copied().unwrap_or(0),
        ]))
    };
    let _ = check(data.get(..77).unwrap_or(data), w, text, day(5));
    // The HA signs the fuzzed serial and days for the vectors' venue.
    if data.len() >= 13 {
        let venue_key = w.venue_signing.verifying_key().to_bytes();
        let details = details_hash(Category::Restaurant, NAME, ADDRESS);
        let mut msg = w.descriptor.id.0.to_be_bytes().to_vec();
        msg.extend_from_slice(&venue_key);
        msg.extend_from_slice(&details);
        msg.extend_from_slice(&data[1..13]);
        let signed = sign_with(
            w.ha_signing(),
            quet_protocol::kdf::CERTIFICATE_SIGNATURE_CONTEXT,
            &msg,
        );
        let mut cert = vec![1u8];
        cert.extend_from_slice(&data[1..13]);
        cert.extend_from_slice(&signed[msg.len()..]);
        let from = day(5);
        let until = day(9);
        for today in [from, until, day(0), Day(until.0.wrapping_add(1))] {
            let r = check(&cert, w, text, today).expect("a signed certificate parses");
            let valid = from <= today && today <= until;
            assert_eq!(matches!(r, Registration::Registered { .. }), valid, "{r:?}");
        }
    }
});
