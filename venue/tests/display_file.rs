//! The display file holds only what a display needs (day keys of its days and their
//! neighbours, the signing seed; never the master), opens only with its passphrase,
//! and refuses every altered or malformed input with a typed error.

mod common;

use common::*;
use quet_protocol::category::Category;
use quet_protocol::time::Day;
use quet_venue::display_file::{DisplayFile, DisplayFileError};

#[test]
fn export_holds_exactly_the_days_shown_and_their_neighbours_and_no_master() {
    let mut w = World::new();
    let v = w.venue("pho.json", Category::Restaurant);
    let first = Day(20_717);
    let df = v.display_file(first, 3).unwrap();
    // Cheap parameters keep the test fast; the format records them.
    let text = df
        .seal_with(&mut w.rng, "mật khẩu màn hình", 8 * 1024, 1, 1)
        .unwrap();
    let opened = DisplayFile::open(&text, "mật khẩu màn hình").unwrap();
    assert_eq!(opened.venue, *v.info());
    assert_eq!(opened.first_day, first);
    assert_eq!(opened.last_day, Day(20_719));
    let days: Vec<u32> = opened.day_keys.iter().map(|k| k.day.0).collect();
    assert_eq!(days, vec![20_716, 20_717, 20_718, 20_719, 20_720]);
    for k in &opened.day_keys {
        assert_eq!(*k, v.master().day_key(k.day), "the venue's own day keys");
    }
    assert!(opened.day_key(Day(20_721)).is_none() && opened.day_key(Day(20_715)).is_none());
    assert!(opened.covers(Day(20_719)) && !opened.covers(Day(20_720)));
    assert_eq!(
        *opened.signing_seed,
        v.master().signing_key().to_bytes(),
        "the display signs as the venue"
    );
    // Nothing in the file is the master, in any encoding the payload uses.
    let master_hex = data_encoding::HEXLOWER.encode(v.master().expose());
    assert!(!text.contains(&master_hex));
    assert!(
        opened
            .day_keys
            .iter()
            .all(|k| k.key.expose() != v.master().expose())
    );
}

#[test]
fn wrong_passphrase_altered_or_malformed_files_are_refused_with_typed_errors() {
    let mut w = World::new();
    let v = w.venue("pho.json", Category::Market);
    let df = v.display_file(Day(20_717), 1).unwrap();
    let text = df.seal_with(&mut w.rng, "pass", 8 * 1024, 1, 1).unwrap();
    assert_eq!(
        DisplayFile::open(&text, "wrong").unwrap_err(),
        DisplayFileError::WrongPassphrase
    );
    assert_eq!(
        DisplayFile::open(&text, "").unwrap_err(),
        DisplayFileError::EmptyPassphrase
    );
    let mut j: serde_json::Value = serde_json::from_str(&text).unwrap();
    // Parameters are bound to the ciphertext: changing them fails the AEAD.
    j["t"] = 2.into();
    assert_eq!(
        DisplayFile::open(&j.to_string(), "pass").unwrap_err(),
        DisplayFileError::WrongPassphrase
    );
    j["t"] = 1000.into();
    assert_eq!(
        DisplayFile::open(&j.to_string(), "pass").unwrap_err(),
        DisplayFileError::BadParameters
    );
    let mut j: serde_json::Value = serde_json::from_str(&text).unwrap();
    j["format"] = "quet-display-file/v2".into();
    assert!(matches!(
        DisplayFile::open(&j.to_string(), "pass").unwrap_err(),
        DisplayFileError::UnsupportedFormat(_)
    ));
    let mut j: serde_json::Value = serde_json::from_str(&text).unwrap();
    let ct = j["ciphertext"].as_str().unwrap().to_owned();
    let mut bytes = data_encoding::BASE64.decode(ct.as_bytes()).unwrap();
    bytes[10] ^= 1;
    j["ciphertext"] = data_encoding::BASE64.encode(&bytes).into();
    assert_eq!(
        DisplayFile::open(&j.to_string(), "pass").unwrap_err(),
        DisplayFileError::WrongPassphrase
    );
    assert!(matches!(
        DisplayFile::open("{}", "pass").unwrap_err(),
        DisplayFileError::Malformed(_)
    ));
    assert_eq!(
        DisplayFile::open(&" ".repeat(70_000), "pass").unwrap_err(),
        DisplayFileError::TooLarge
    );
    // A payload whose day keys skip a day is refused after decryption.
    assert!(matches!(
        DisplayFile::from_payload(br#"{"venue":{"name":"A","address":"B","category":"market","max_stay_minutes":60,"event":null,"utc_offset_minutes":420},"descriptor":"","signing_seed":"","certificate":null,"first_day":5,"last_day":5,"day_keys":[]}"#)
            .unwrap_err(),
        DisplayFileError::Invalid(_)
    ));
    assert!(v.display_file(Day(20_717), 0).is_err());
    assert!(v.display_file(Day(20_717), 32).is_err());
}

#[test]
fn arbitrary_bytes_never_panic_the_parsers() {
    // A cheap deterministic sweep (the fuzz target explores further).
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for len in 0..400usize {
        let mut bytes = Vec::with_capacity(len);
        for _ in 0..len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            bytes.push((x & 0xff) as u8);
        }
        assert!(DisplayFile::from_payload(&bytes).is_err());
        if let Ok(t) = std::str::from_utf8(&bytes) {
            assert!(DisplayFile::open(t, "p").is_err());
        }
    }
}
