//! Fuzzes a standalone exposure notice (as the HA stores queued notices between
//! approval and publication, and as a bulletin carries them): the parser must
//! accept exactly the spec's encoding; its shape must give a decoy of the same
//! shape. A second path seals the fuzzed bytes as the **body** of a two-segment
//! notice, with the v2 wrap and body KDFs and the header as associated data written
//! independently here, so the body parser behind the AEAD is fuzzed: an accepted
//! body is its fields per the spec's layout, then only zeros, padded to `32·2^k`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quet_protocol::kdf::{BODY_V2_LABEL, WRAP_V2_LABEL};
use quet_protocol::notice::{
    ExposureNotice, NoticeEntry, NoticeSegment, PublishedKey, is_sealed_body_len,
};
use quet_protocol::testing::test_rng;
use quet_protocol::time::{Epoch, EpochKind, UnixTime, UtcOffset};
use quet_protocol::venue_keys::NoticeSecret;
use quet_protocol_fuzz::{aead_seal, encode_notice, hkdf};

fn check_notice(data: &[u8]) {
    let Ok(n) = ExposureNotice::from_bytes(data) else {
        return;
    };
    assert_eq!(encode_notice(&n), data, "notice re-encoding");
    assert_eq!(n.to_bytes().expect("re-encodes"), data);
    assert_eq!(n.encoded_len(), data.len());
    assert!(is_sealed_body_len(n.sealed_body.len()));
    assert!(!n.segments.is_empty() && n.segments.len() <= 2);
    assert_eq!(n.keys().count(), n.key_count());
    for (i, epoch, _) in n.keys().take(4) {
        assert_eq!(n.epoch_of(i), Some(epoch));
        assert!(n.open_body(i, &NoticeSecret::from_bytes([1; 16])).is_err());
    }
    // A decoy in this notice's shape has the same shape (when it fits in time).
    for issued in [
        UnixTime(1_790_020_800),
        UnixTime(u64::from(u32::MAX) * 3_600),
    ] {
        let shape = n.shape(issued, UtcOffset::VIETNAM);
        if let Ok(d) =
            ExposureNotice::decoy_like(&mut test_rng(13), &shape, issued, UtcOffset::VIETNAM)
        {
            assert_eq!(
                d.shape(issued, UtcOffset::VIETNAM).sealed_body_len,
                shape.sealed_body_len
            );
            assert_eq!(d.key_count(), shape.key_count());
            let bytes = d.to_bytes().expect("a decoy encodes");
            assert_eq!(
                ExposureNotice::from_bytes(&bytes).expect("a decoy parses"),
                d
            );
        }
    }
}

/// Seals `plain` as the body of a two-segment notice and opens it.
fn check_body(plain: &[u8]) {
    let nonce = [6u8; 16];
    let body_key = [2u8; 16];
    let notice_secret = [1u8; 16];
    let hour = Epoch {
        kind: EpochKind::SeededHour,
        index: 497_217,
    };
    let day = Epoch {
        kind: EpochKind::LocalDay,
        index: 20_717,
    };
    let wrap_for = |e: Epoch| {
        let pad: [u8; 16] = hkdf(&nonce, &notice_secret, WRAP_V2_LABEL, &e.to_bytes());
        let mut wrap = [0u8; 16];
        for i in 0..16 {
            wrap[i] = body_key[i] ^ pad[i];
        }
        wrap
    };
    let mut header = nonce.to_vec();
    header.push(2);
    for e in [hour, day] {
        header.extend_from_slice(&e.to_bytes());
        header.extend_from_slice(&1u16.to_be_bytes());
    }
    let key: [u8; 32] = hkdf(&nonce, &body_key, BODY_V2_LABEL, &[]);
    let notice = ExposureNotice {
        nonce,
        segments: [hour, day]
            .into_iter()
            .map(|e| NoticeSegment {
                first: e,
                entries: vec![NoticeEntry {
                    key: PublishedKey::Seed([0; 16]),
                    wrap: wrap_for(e),
                }],
            })
            .collect(),
        sealed_body: aead_seal(&key, &header, plain),
    };
    let secret = NoticeSecret::from_bytes(notice_secret);
    let Ok(body) = notice.open_body(0, &secret) else {
        assert!(notice.open_body(1, &secret).is_err(), "both entries agree");
        return;
    };
    assert_eq!(
        notice
            .open_body(1, &secret)
            .expect("the day entry opens too"),
        body
    );
    let mut expect = vec![2u8, body.severity.to_byte()];
    expect.extend_from_slice(&body.window_start.0.to_be_bytes());
    expect.extend_from_slice(&body.window_end.0.to_be_bytes());
    expect.extend_from_slice(&body.template.to_be_bytes());
    for m in [&body.message_vi, &body.message_en] {
        expect.extend_from_slice(&u16::try_from(m.len()).expect("short").to_be_bytes());
        expect.extend_from_slice(m.as_bytes());
    }
    assert_eq!(
        &plain[..expect.len()],
        &expect[..],
        "notice body re-encoding"
    );
    assert!(plain[expect.len()..].iter().all(|&b| b == 0));
    assert!(plain.len() >= 32 && plain.len().is_power_of_two());
    assert!(
        plain.len() == 32 || plain.len() / 2 < expect.len(),
        "smallest padding"
    );
    assert!(body.window_start < body.window_end);
    let _ = (body.text_vi(), body.text_en());
}

fuzz_target!(|data: &[u8]| {
    check_notice(data);
    if data.len() <= 4096 {
        check_body(data);
    }
});
