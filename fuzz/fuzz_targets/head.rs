//! Fuzzes the signed bulletin head and the chain rules that follow it: raw bytes,
//! and the same bytes signed by the vectors' HA key (so every field check and every
//! outcome of `ChainView::check_head` is reached), checked against several client
//! views and clocks. An accepted head re-encodes to its input; a plan never asks
//! for bulletins the head does not name; recording a live-empty head anchors the
//! chain at its latest point.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use quet_protocol::bulletin::ChainState;
use quet_protocol::chain::{ChainCheckpoint, ChainView, HeadState, SyncPlan};
use quet_protocol::head::{BulletinHead, HEAD_LEN};
use quet_protocol::time::UnixTime;
use quet_protocol_fuzz::{World, encode_head_signed_part};

static WORLD: LazyLock<World> = LazyLock::new(World::new);

fn views(seed: &[u8]) -> Vec<ChainView> {
    let b = |i: usize| seed.get(i).copied().unwrap_or(0);
    let seq = |i: usize| u64::from(b(i) % 8);
    let time = |i: usize| u64::from(b(i)) * 3_600;
    let hash = [b(3); 32];
    vec![
        ChainView::default(),
        ChainView {
            last: Some(ChainState {
                sequence: seq(0),
                hash,
                expires_at: UnixTime(time(1)),
            }),
            head: None,
        },
        ChainView {
            last: Some(ChainState {
                sequence: seq(0),
                hash,
                expires_at: UnixTime(time(1)),
            }),
            head: Some(HeadState {
                latest_sequence: seq(2),
                latest_hash: hash,
                issued_at: UnixTime(time(4)),
                expires_at: UnixTime(time(5)),
            }),
        },
    ]
}

fn check(bytes: &[u8], w: &World, seed: &[u8]) {
    let Ok(head) = BulletinHead::decode_and_verify(bytes, &w.descriptor) else {
        for v in views(seed) {
            assert!(v.check_head(bytes, &w.descriptor, UnixTime(0)).is_err());
        }
        return;
    };
    assert_eq!(bytes.len(), HEAD_LEN);
    let signed = encode_head_signed_part(&head);
    assert_eq!(&bytes[..signed.len()], &signed[..], "head re-encoding");
    assert_eq!(head.as_bytes(), bytes);
    assert!(head.expires_at > head.issued_at);
    for mut v in views(seed) {
        for now in [
            head.issued_at,
            UnixTime(head.expires_at.0.saturating_sub(1)),
            head.expires_at,
            UnixTime(u64::MAX),
        ] {
            let Ok((h, plan)) = v.check_head(bytes, &w.descriptor, now) else {
                continue;
            };
            assert_eq!(h, head);
            assert!(now < head.expires_at);
            match plan {
                SyncPlan::UpToDate => {}
                SyncPlan::Fetch { first, last, .. } => {
                    assert!(first <= last && last == head.latest.sequence);
                    assert!(first >= head.oldest.sequence);
                }
            }
            let mut after = v;
            if after.record_head(&h).is_ok() {
                assert_eq!(
                    after.known_sequence(),
                    h.latest.sequence.max(v.known_sequence())
                );
                let cp = ChainCheckpoint::new(h.latest.sequence, &h.latest.hash);
                if let Some(cp) = cp {
                    let _ = after.check_checkpoint(&cp);
                }
            }
        }
        let _ = v.record_head(&head);
        let _ = v.freshness(UnixTime(0));
    }
}

fuzz_target!(|data: &[u8]| {
    let w = &*WORLD;
    check(data, w, data);
    if data.len() + 64 <= HEAD_LEN {
        check(&w.sign_as_ha_head(data), w, data);
    }
});
