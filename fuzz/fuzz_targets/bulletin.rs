//! Fuzzes bulletins (v2) as clients receive them: raw bytes, and the same bytes
//! signed by the vectors' HA key so mutations reach the notice, withdrawal and
//! revocation parsers and the canonical-order checks behind the signature. Every
//! accepted bulletin must re-encode to its input and re-sign to it; the client's
//! chain rules (`verify_next`, `ChainView::accept_bulletin`) must not panic; a
//! matcher over it must not panic.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use quet_protocol::bulletin::{Bulletin, BulletinDraft, ChainState};
use quet_protocol::chain::ChainView;
use quet_protocol::head::{BulletinHead, ChainPoint, HeadDraft};
use quet_protocol::matching::{Matcher, StoredToken};
use quet_protocol::time::{Epoch, EpochKind, UnixTime};
use quet_protocol::token::EncounterToken;
use quet_protocol_fuzz::{World, encode_bulletin_signed_part};

static WORLD: LazyLock<World> = LazyLock::new(World::new);
static MATCHER: LazyLock<Matcher> = LazyLock::new(|| {
    let epoch = Epoch {
        kind: EpochKind::SeededHour,
        index: 497_217,
    };
    Matcher::new([StoredToken {
        id: 1,
        token: EncounterToken {
            epoch,
            ephemeral: [9; 32],
            ciphertext: [0; 208],
        },
    }])
});

fn check(bytes: &[u8], w: &World) {
    let Ok(b) = Bulletin::decode_and_verify_signature(bytes, &w.descriptor) else {
        return;
    };
    let signed = encode_bulletin_signed_part(&b);
    assert_eq!(bytes.len(), signed.len() + 64, "bulletin length");
    assert_eq!(&bytes[..signed.len()], &signed[..], "bulletin re-encoding");
    assert_eq!(b.as_bytes(), bytes);
    assert!(b.sequence >= 1);
    // Readers enforce the canonical order, so re-signing gives the same bytes.
    if b.key_id == w.descriptor.current_signing_key {
        let again = BulletinDraft {
            sequence: b.sequence,
            prev_hash: b.prev_hash,
            issued_at: b.issued_at,
            expires_at: b.expires_at,
            notices: b.notices.clone(),
            withdrawn: b.withdrawn.clone(),
            revoked: b.revoked.clone(),
        }
        .sign(&w.ha, &w.descriptor)
        .expect("a parsed bulletin re-signs");
        assert_eq!(again.as_bytes(), bytes, "bulletin re-signing");
    }
    let _ = MATCHER.match_notices(b.notices.iter().take(8));
    let last = ChainState {
        sequence: b.sequence.wrapping_sub(1),
        hash: b.prev_hash,
        expires_at: b.issued_at,
    };
    for now in [UnixTime(0), b.issued_at, UnixTime(u64::MAX)] {
        let _ = Bulletin::verify_next(bytes, &w.descriptor, Some(&last), now);
        let _ = Bulletin::verify_next(bytes, &w.descriptor, None, now);
    }
    // Follow it through a head that names it (the HA's key signs the head).
    let point = ChainPoint {
        sequence: b.sequence,
        hash: b.hash(),
    };
    let issued = b.issued_at;
    if let Ok(head) = BulletinHead::sign(
        &HeadDraft {
            descriptor_serial: 1,
            latest: point,
            oldest: point,
            issued_at: issued,
            expires_at: UnixTime(issued.0.saturating_add(3_600)),
        },
        &w.ha,
        &w.descriptor,
    ) {
        let mut view = ChainView::default();
        if view
            .accept_bulletin(bytes, &w.descriptor, &head, issued)
            .is_ok()
        {
            assert_eq!(view.last, Some(b.chain_state()));
            view.record_head(&head).expect("a complete plan records");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let w = &*WORLD;
    check(data, w);
    check(&w.sign_as_ha_bulletin(data), w);
});
