//! The client's own parsers (store snapshot, diary key slot) on arbitrary and
//! mutated input: an error, never a panic; what they accept re-encodes exactly.
//! Fuzz targets: `fuzz/fuzz_targets/client_{snapshot,keyslot}.rs`.

mod common;

use common::*;
use proptest::prelude::*;
use quet_client::MemoryStore;
use quet_client::snapshot::SnapshotError;
use quet_client::vault::{Argon2Settings, DiarySecret, KeySlot, SlotError};
use quet_protocol::category::Category;
use quet_protocol::testing::test_rng;

/// A snapshot of a phone with an authority, two check-ins (one ongoing) and a PIN
/// (made once: proptest cases share it).
fn sample_snapshot() -> Vec<u8> {
    static SAMPLE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    SAMPLE.get_or_init(make_snapshot).clone()
}

fn make_snapshot() -> Vec<u8> {
    let mut w = World::new("https://quet.soyte.example");
    let mut venue = w.venue("Phở Thìn", Category::Restaurant);
    let mut c = pinned_client(&w, 3);
    let u = w.code_url(&mut venue, at(12, 0));
    c.check_in(&u, at(12, 0)).unwrap();
    c.check_out(None, at(12, 30)).unwrap();
    let u = w.code_url(&mut venue, at(14, 0));
    c.check_in(&u, at(14, 0)).unwrap();
    c.set_passphrase(b"2468").unwrap();
    c.store().snapshot()
}

fn sample_slots() -> Vec<Vec<u8>> {
    static SAMPLE: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    SAMPLE.get_or_init(make_slots).clone()
}

fn make_slots() -> Vec<Vec<u8>> {
    let mut rng = test_rng(4);
    let secret = DiarySecret::generate(&mut rng);
    vec![
        KeySlot::passphrase(&mut rng, Argon2Settings::MINIMUM, b"2468", &secret)
            .unwrap()
            .to_bytes()
            .to_vec(),
        KeySlot::prf(&mut rng, &[1; 32], &secret)
            .unwrap()
            .to_bytes()
            .to_vec(),
        secret.unprotected_slot().to_bytes().to_vec(),
    ]
}

#[test]
fn snapshot_rejects_by_class() {
    let snap = sample_snapshot();
    let store = MemoryStore::from_snapshot(&snap).unwrap();
    assert_eq!(store.snapshot(), snap);
    assert_eq!(
        MemoryStore::from_snapshot(b"NOTASNAP").unwrap_err(),
        SnapshotError::NotASnapshot
    );
    let mut v2 = snap.clone();
    v2[8] = 2;
    assert_eq!(
        MemoryStore::from_snapshot(&v2).unwrap_err(),
        SnapshotError::UnsupportedVersion(2)
    );
    assert_eq!(
        MemoryStore::from_snapshot(&snap[..snap.len() - 1]).unwrap_err(),
        SnapshotError::Truncated
    );
    let mut longer = snap.clone();
    longer.push(0);
    assert_eq!(
        MemoryStore::from_snapshot(&longer).unwrap_err(),
        SnapshotError::TrailingBytes
    );
    // A count claiming four billion entries fails on the bytes, not on memory.
    let mut huge = snap[..9].to_vec();
    huge.extend_from_slice(&u32::MAX.to_be_bytes());
    assert_eq!(
        MemoryStore::from_snapshot(&huge).unwrap_err(),
        SnapshotError::Truncated
    );
}

#[test]
fn key_slot_rejects_by_class() {
    for slot in sample_slots() {
        assert_eq!(
            KeySlot::from_bytes(&slot).unwrap().to_bytes().to_vec(),
            slot
        );
    }
    assert_eq!(KeySlot::from_bytes(&[]).unwrap_err(), SlotError::Truncated);
    assert_eq!(
        KeySlot::from_bytes(&[2, 0]).unwrap_err(),
        SlotError::UnsupportedVersion(2)
    );
    assert_eq!(
        KeySlot::from_bytes(&[1, 9]).unwrap_err(),
        SlotError::UnknownKind(9)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_are_not_a_snapshot_or_reencode(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut input = b"QUETSNAP\x01".to_vec();
        input.extend_from_slice(&data);
        for bytes in [&data[..], &input[..]] {
            if let Ok(store) = MemoryStore::from_snapshot(bytes) {
                prop_assert_eq!(store.snapshot(), bytes.to_vec());
            }
        }
    }

    #[test]
    fn mutated_snapshots_fail_or_reencode(pos in any::<prop::sample::Index>(), bit in 0u8..8, cut in any::<prop::sample::Index>()) {
        let snap = sample_snapshot();
        let mut flipped = snap.clone();
        let i = pos.index(flipped.len());
        flipped[i] ^= 1 << bit;
        if let Ok(store) = MemoryStore::from_snapshot(&flipped) {
            prop_assert_eq!(store.snapshot(), flipped);
        }
        let n = cut.index(snap.len());
        prop_assert!(MemoryStore::from_snapshot(&snap[..n]).is_err());
    }

    #[test]
    fn arbitrary_and_mutated_key_slots(data in proptest::collection::vec(any::<u8>(), 0..200), pos in any::<prop::sample::Index>(), bit in 0u8..8) {
        if let Ok(slot) = KeySlot::from_bytes(&data) {
            prop_assert_eq!(slot.to_bytes().to_vec(), data.clone());
        }
        for slot in sample_slots() {
            let mut m = slot.clone();
            let i = pos.index(m.len());
            m[i] ^= 1 << bit;
            if let Ok(parsed) = KeySlot::from_bytes(&m) {
                prop_assert_eq!(parsed.to_bytes().to_vec(), m);
            }
            prop_assert!(KeySlot::from_bytes(&slot[..slot.len() - 1]).is_err());
        }
    }
}
