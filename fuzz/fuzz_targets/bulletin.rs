//! Fuzzes bulletins as clients receive them, and standalone notices: raw bytes, and the same bytes signed by
//! the vectors' HA key so mutations reach the notice and withdrawal parsers behind
//! the signature check. Every accepted bulletin must re-encode to its input (and,
//! when in canonical order, re-sign to it). A third path seals the fuzzed bytes as
//! a notice body with the spec's wrap and body KDFs written independently here.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use quet_protocol::bulletin::{Bulletin, BulletinDraft, ChainState};
use quet_protocol::kdf::{BODY_LABEL, WRAP_LABEL};
use quet_protocol::notice::{ExposureNotice, NoticeEntry};
use quet_protocol::time::{Epoch, EpochKind, UnixTime};
use quet_protocol::venue_keys::NoticeSecret;
use quet_protocol_fuzz::{World, aead_seal, encode_bulletin_signed_part, hkdf};

static WORLD: LazyLock<World> = LazyLock::new(World::new);

fn check(bytes: &[u8], w: &World) {
    let Ok(b) = Bulletin::decode_and_verify_signature(bytes, &w.descriptor) else {
        return;
    };
    let signed = encode_bulletin_signed_part(&b);
    assert_eq!(bytes.len(), signed.len() + 64, "bulletin length");
    assert_eq!(&bytes[..signed.len()], &signed[..], "bulletin re-encoding");
    assert_eq!(b.as_bytes(), bytes);
    assert!(b.sequence >= 1);
    let encoded: Vec<Vec<u8>> = b
        .notices
        .iter()
        .map(|n| n.to_bytes().expect("re-encodes"))
        .collect();
    let canonical =
        encoded.windows(2).all(|p| p[0] <= p[1]) && b.withdrawn.windows(2).all(|p| p[0] <= p[1]);
    if canonical && b.key_id == w.descriptor.current_signing_key {
        let again = BulletinDraft {
            sequence: b.sequence,
            prev_hash: b.prev_hash,
            issued_at: b.issued_at,
            expires_at: b.expires_at,
            notices: b.notices.clone(),
            withdrawn: b.withdrawn.clone(),
        }
        .sign(&w.ha, &w.descriptor)
        .expect("a parsed bulletin re-signs");
        assert_eq!(again.as_bytes(), bytes, "bulletin re-signing");
    }
    let secret = NoticeSecret::from_bytes([1; 16]);
    for n in b.notices.iter().take(4) {
        for i in 0..n.entries.len().min(4) {
            let _ = n.epoch_of(i);
            let _ = n.open_body(i, &secret);
        }
    }
    let last = ChainState {
        sequence: b.sequence.wrapping_sub(1),
        hash: b.prev_hash,
    };
    for now in [UnixTime(0), b.issued_at, UnixTime(u64::MAX)] {
        let _ = Bulletin::verify_next(bytes, &w.descriptor, Some(&last), now);
        let _ = Bulletin::verify_next(bytes, &w.descriptor, None, now);
    }
}

/// Seals `plain` as the body of a one-entry notice and opens it with the secret.
fn check_body(plain: &[u8]) {
    let nonce = [6u8; 16];
    let notice_secret = [1u8; 16];
    let body_key = [2u8; 16];
    let first_epoch = Epoch {
        kind: EpochKind::Hour,
        index: 497_208,
    };
    let pad: [u8; 16] = hkdf(&nonce, &notice_secret, WRAP_LABEL, &first_epoch.to_bytes());
    let mut wrap = [0u8; 16];
    for i in 0..16 {
        wrap[i] = body_key[i] ^ pad[i];
    }
    let mut header = nonce.to_vec();
    header.extend_from_slice(&first_epoch.to_bytes());
    header.extend_from_slice(&1u16.to_be_bytes());
    let key: [u8; 32] = hkdf(&nonce, &body_key, BODY_LABEL, &[]);
    let notice = ExposureNotice {
        nonce,
        first_epoch,
        entries: vec![NoticeEntry {
            venue_time_secret: [0; 32],
            wrap,
        }],
        sealed_body: aead_seal(&key, &header, plain),
    };
    let Ok(body) = notice.open_body(0, &NoticeSecret::from_bytes(notice_secret)) else {
        return;
    };
    // The accepted body is its fields per the spec's layout, then only zeros.
    let mut expect = vec![1u8, body.severity.to_byte()];
    expect.extend_from_slice(&body.window_start.0.to_be_bytes());
    expect.extend_from_slice(&body.window_end.0.to_be_bytes());
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
    assert!(body.window_start < body.window_end);
}

fuzz_target!(|data: &[u8]| {
    let w = &*WORLD;
    // A notice on its own (as the server stores it between bulletins).
    if let Ok(n) = ExposureNotice::from_bytes(data) {
        assert_eq!(
            n.to_bytes().expect("re-encodes"),
            data,
            "notice re-encoding"
        );
    }
    check(data, w);
    check(&w.sign_as_ha_bulletin(data), w);
    if data.len() <= 4096 {
        check_body(data);
    }
});
