//! Following the feed against a lying mirror, a frozen feed, a replayed head, a
//! phone offline for weeks and a split view (protocol 1.1, `chain.rs`). Each test is
//! one adversary of the 2026-12 review; on protocol 1.0 (an unsigned index that said
//! which bulletins exist) each of these attacks succeeded silently.

mod common;

use common::{World, at};
use quet_protocol::Error;
use quet_protocol::bulletin::{Bulletin, BulletinDraft};
use quet_protocol::chain::{ChainCheckpoint, ChainView, CheckpointVerdict, Freshness, SyncPlan};
use quet_protocol::head::{BulletinHead, ChainPoint, DEFAULT_HEAD_LIFETIME_SECS, HeadDraft};
use quet_protocol::time::UnixTime;

const DAY: u64 = 86_400;
const LIFETIME: u64 = 14 * DAY;

/// The authority's published history: bulletins 1..=n, issued a day apart from
/// `start`, each living 14 days.
struct Feed {
    w: World,
    bulletins: Vec<Bulletin>,
}

impl Feed {
    fn new(n: u64, start: UnixTime) -> Feed {
        let mut w = World::new();
        let mut bulletins: Vec<Bulletin> = Vec::new();
        for seq in 1..=n {
            let prev = bulletins.last().map_or([0; 32], Bulletin::hash);
            let issued = UnixTime(start.0 + (seq - 1) * DAY);
            bulletins.push(sign(&mut w, seq, prev, issued));
        }
        Feed { w, bulletins }
    }

    fn get(&self, seq: u64) -> &Bulletin {
        &self.bulletins[usize::try_from(seq - 1).unwrap()]
    }

    /// The head the authority signs at `now`: latest issued, oldest still live.
    fn head(&self, now: UnixTime) -> BulletinHead {
        let latest = self.bulletins.last().unwrap();
        let oldest = self.bulletins.iter().find(|b| b.expires_at > now).map_or(
            ChainPoint {
                sequence: latest.sequence + 1,
                hash: [0; 32],
            },
            |b| ChainPoint {
                sequence: b.sequence,
                hash: b.hash(),
            },
        );
        self.head_with(now, latest.chain_point(), oldest)
    }

    fn head_with(&self, now: UnixTime, latest: ChainPoint, oldest: ChainPoint) -> BulletinHead {
        BulletinHead::sign(
            &HeadDraft {
                descriptor_serial: self.w.descriptor.serial,
                latest,
                oldest,
                issued_at: now,
                expires_at: UnixTime(now.0 + DEFAULT_HEAD_LIFETIME_SECS),
            },
            &self.w.ha,
            &self.w.descriptor,
        )
        .unwrap()
    }

    /// A full sync through the one set of rules, fetching from `serve`.
    fn sync(
        &self,
        view: &mut ChainView,
        head: &BulletinHead,
        now: UnixTime,
        serve: impl Fn(u64) -> Option<Vec<u8>>,
    ) -> Result<Vec<u64>, Error> {
        let (head, plan) = view.check_head(head.as_bytes(), &self.w.descriptor, now)?;
        let mut got = Vec::new();
        if let SyncPlan::Fetch { first, last, .. } = plan {
            for seq in first..=last {
                let bytes = serve(seq).ok_or(Error::Truncated { what: "missing" })?;
                got.push(
                    view.accept_bulletin(&bytes, &self.w.descriptor, &head, now)?
                        .sequence,
                );
            }
        }
        view.record_head(&head)?;
        Ok(got)
    }

    fn honest(&self) -> impl Fn(u64) -> Option<Vec<u8>> + '_ {
        |seq| {
            self.bulletins
                .iter()
                .find(|b| b.sequence == seq)
                .map(|b| b.as_bytes().to_vec())
        }
    }
}

trait Point {
    fn chain_point(&self) -> ChainPoint;
}

impl Point for Bulletin {
    fn chain_point(&self) -> ChainPoint {
        ChainPoint {
            sequence: self.sequence,
            hash: self.hash(),
        }
    }
}

fn sign(w: &mut World, seq: u64, prev: [u8; 32], issued: UnixTime) -> Bulletin {
    BulletinDraft {
        sequence: seq,
        prev_hash: prev,
        issued_at: issued,
        expires_at: UnixTime(issued.0 + LIFETIME),
        notices: vec![],
        withdrawn: vec![],
        revoked: vec![],
    }
    .sign(&w.ha, &w.descriptor)
    .unwrap()
}

/// The honest path: first contact anchors at the oldest live bulletin, later syncs
/// extend the chain, and the view is fresh until the head expires.
#[test]
fn honest_feed_is_followed_and_fresh() {
    let start = at(8, 0);
    let feed = Feed::new(3, start);
    let now = UnixTime(start.0 + 2 * DAY + 3_600);
    let mut view = ChainView::default();
    assert_eq!(
        feed.sync(&mut view, &feed.head(now), now, feed.honest()),
        Ok(vec![1, 2, 3])
    );
    assert_eq!(view.last.unwrap().sequence, 3);
    assert_eq!(
        view.freshness(now),
        Freshness::Fresh {
            until: UnixTime(now.0 + DEFAULT_HEAD_LIFETIME_SECS)
        }
    );
    // A later head with nothing new: up to date, still fresh.
    let later = UnixTime(now.0 + 3_600);
    assert_eq!(
        feed.sync(&mut view, &feed.head(later), later, feed.honest()),
        Ok(vec![])
    );
}

/// 1.0: a mirror's index saying `first = 3` made a phone at bulletin 1 re-anchor and
/// silently skip bulletin 2. Now a mirror cannot sign a head, and serving bulletin 3
/// (or nothing) where 2 is due fails the sync instead of skipping.
#[test]
fn a_lying_mirror_cannot_make_a_phone_skip_a_bulletin() {
    let start = at(8, 0);
    let feed = Feed::new(3, start);
    let t1 = UnixTime(start.0 + 3_600);
    let mut view = ChainView::default();
    let one_only = |seq: u64| (seq == 1).then(|| feed.get(1).as_bytes().to_vec());
    let head1 = feed.head_with(t1, feed.get(1).chain_point(), feed.get(1).chain_point());
    assert_eq!(feed.sync(&mut view, &head1, t1, one_only), Ok(vec![1]));

    let now = UnixTime(start.0 + 2 * DAY + 3_600);
    let head = feed.head(now);
    // The mirror hands out bulletin 3 where 2 is due.
    let skip = |seq: u64| Some(feed.get(if seq == 2 { 3 } else { seq }).as_bytes().to_vec());
    let mut attacked = view;
    assert_eq!(
        feed.sync(&mut attacked, &head, now, skip),
        Err(Error::BulletinOutOfOrder {
            expected: 2,
            found: 3
        })
    );
    assert_eq!(attacked.last.unwrap().sequence, 1, "nothing was skipped");
    // The mirror rewrites the head to say bulletin 3 is the oldest: not signed.
    let mut forged = head.as_bytes().to_vec();
    forged[14 + 8 + 32 + 7] = 3; // oldest sequence, low byte
    assert!(matches!(
        view.check_head(&forged, &feed.w.descriptor, now),
        Err(Error::BadSignature { .. })
    ));
    // Even a genuinely signed head claiming 2 is gone is refused while 2 cannot
    // have expired (a compromised or buggy publisher): no signed evidence.
    let lying = feed.head_with(now, feed.get(3).chain_point(), feed.get(3).chain_point());
    assert_eq!(
        view.check_head(lying.as_bytes(), &feed.w.descriptor, now),
        Err(Error::ChainGap { have: 1, oldest: 3 })
    );
    // The honest mirror: 2 then 3.
    assert_eq!(
        feed.sync(&mut view, &head, now, feed.honest()),
        Ok(vec![2, 3])
    );
}

/// 1.0: a mirror that kept `latest = 1` froze a phone forever while `quet sync`
/// reported success. Now the head expires within hours: the phone says it is stale
/// (and since when), and an older head replayed after a newer one is refused.
#[test]
fn a_frozen_feed_shows_as_stale_and_old_heads_are_refused() {
    let start = at(8, 0);
    let feed = Feed::new(2, start);
    let t1 = UnixTime(start.0 + 3_600);
    let old_head = feed.head_with(t1, feed.get(1).chain_point(), feed.get(1).chain_point());
    let mut view = ChainView::default();
    feed.sync(&mut view, &old_head, t1, feed.honest()).unwrap();
    // The mirror keeps serving that head: once it expires, sync fails loudly.
    let later = UnixTime(t1.0 + DEFAULT_HEAD_LIFETIME_SECS);
    assert!(matches!(
        view.check_head(old_head.as_bytes(), &feed.w.descriptor, later),
        Err(Error::HeadExpired { .. })
    ));
    assert_eq!(view.freshness(later), Freshness::Stale { since: Some(t1) });
    // A newer head moves the phone on; replaying the older one is a rollback.
    let now = UnixTime(start.0 + DAY + 3_600);
    feed.sync(&mut view, &feed.head(now), now, feed.honest())
        .unwrap();
    assert_eq!(view.last.unwrap().sequence, 2);
    assert!(matches!(
        view.check_head(old_head.as_bytes(), &feed.w.descriptor, UnixTime(t1.0 + 60)),
        Err(Error::HeadRollback {
            known: 2,
            offered: 1
        })
    ));
    // A phone that never saw a head is stale from the start.
    assert_eq!(
        ChainView::default().freshness(now),
        Freshness::Stale { since: None }
    );
}

/// Spec "offline longer than the bulletin lifetime": a phone whose last bulletin
/// expired while it was away re-anchors at the oldest live bulletin, but only on a
/// head issued after its last bulletin expired (signed evidence that everything it
/// missed expired too), and only at exactly the hash the head names.
#[test]
fn a_phone_offline_for_weeks_reanchors_on_signed_evidence_only() {
    let start = at(8, 0);
    let feed = Feed::new(25, start);
    let mut view = ChainView::default();
    let t1 = UnixTime(start.0 + 3_600);
    let head1 = feed.head_with(t1, feed.get(1).chain_point(), feed.get(1).chain_point());
    feed.sync(&mut view, &head1, t1, feed.honest()).unwrap();
    // 24 days later: bulletins 1..=11 have expired (each lives 14 days).
    let now = UnixTime(start.0 + 24 * DAY + 3_600);
    let head = feed.head(now);
    assert_eq!(head.oldest.sequence, 12);
    let (_, plan) = view
        .check_head(head.as_bytes(), &feed.w.descriptor, now)
        .unwrap();
    assert_eq!(
        plan,
        SyncPlan::Fetch {
            first: 12,
            last: 25,
            reanchor: true
        }
    );
    // A mirror that offers a different "bulletin 12" is caught by the head's hash.
    let mut w2 = World::new();
    let other12 = sign(&mut w2, 12, [9; 32], UnixTime(start.0 + 11 * DAY));
    let mut v2 = view;
    let swap = |seq: u64| {
        Some(if seq == 12 {
            other12.as_bytes().to_vec()
        } else {
            feed.get(seq).as_bytes().to_vec()
        })
    };
    assert!(matches!(
        feed.sync(&mut v2, &head, now, swap),
        Err(Error::ForkDetected { sequence: 12 })
    ));
    let got = feed.sync(&mut view, &head, now, feed.honest()).unwrap();
    assert_eq!(got, (12..=25).collect::<Vec<_>>());
    // When nothing is live any more, the head itself anchors the chain: the next
    // bulletin must still chain to the head's latest hash.
    let quiet = UnixTime(start.0 + 60 * DAY);
    let mut idle = ChainView::default();
    feed.sync(&mut idle, &feed.head(quiet), quiet, feed.honest())
        .unwrap();
    assert_eq!(idle.last.unwrap().sequence, 25);
    assert_eq!(idle.last.unwrap().hash, feed.get(25).hash());
}

/// Split views: two signed statements about one sequence with different hashes
/// are a fork, whichever path each came by; a venue's checkpoint is compared too.
#[test]
fn forks_are_detected_across_paths_and_by_venue_checkpoints() {
    let start = at(8, 0);
    let mut feed = Feed::new(2, start);
    let now = UnixTime(start.0 + DAY + 3_600);
    // The publisher (or a thief of its key) shows this phone another bulletin 2.
    let prev = feed.get(1).hash();
    let fork2 = sign(&mut feed.w, 2, prev, UnixTime(start.0 + DAY + 60));
    let forked_head = feed.head_with(now, fork2.chain_point(), feed.get(1).chain_point());
    let mut phone = ChainView::default();
    let serve_fork = |seq: u64| {
        Some(if seq == 2 {
            fork2.as_bytes().to_vec()
        } else {
            feed.get(seq).as_bytes().to_vec()
        })
    };
    feed.sync(&mut phone, &forked_head, now, serve_fork)
        .unwrap();
    // Another path (the origin, or a second mirror) carries the other history.
    let honest_head = feed.head(UnixTime(now.0 + 60));
    assert_eq!(
        phone.check_head(
            honest_head.as_bytes(),
            &feed.w.descriptor,
            UnixTime(now.0 + 60)
        ),
        Err(Error::ForkDetected { sequence: 2 })
    );
    // A venue whose display verified the honest bulletin 2 carries its checkpoint.
    let venue_saw = ChainCheckpoint::new(2, &feed.get(2).hash()).unwrap();
    assert_eq!(
        phone.check_checkpoint(&venue_saw),
        CheckpointVerdict::Conflict
    );
    let same = ChainCheckpoint::new(2, &fork2.hash()).unwrap();
    assert_eq!(phone.check_checkpoint(&same), CheckpointVerdict::Consistent);
    let ahead = ChainCheckpoint::new(5, &[0; 32]).unwrap();
    assert_eq!(phone.check_checkpoint(&ahead), CheckpointVerdict::Ahead);
    let older = ChainCheckpoint::new(1, &feed.get(1).hash()).unwrap();
    assert_eq!(phone.check_checkpoint(&older), CheckpointVerdict::Unknown);
}

/// A head signed under a newer descriptor (after a key rotation) asks for the
/// descriptor first instead of failing as an unknown key; a replayed older
/// descriptor cannot roll the phone back (authority.rs unit tests show the serial
/// rule itself).
#[test]
fn a_head_from_a_rotated_key_asks_for_the_new_descriptor() {
    let start = at(8, 0);
    let feed = Feed::new(1, start);
    let mut rotated = feed.w.descriptor.clone();
    rotated.serial = 2;
    let mut keys = quet_protocol::authority::AuthorityKeys::generate(
        &mut quet_protocol::testing::test_rng(50),
    );
    keys.root = feed.w.ha.root.clone();
    keys.root_public = feed.w.ha.root_public;
    keys.signing[0].0 = 2;
    rotated
        .signing_keys
        .push(quet_protocol::authority::SigningKeyEntry {
            key_id: 2,
            key: keys.signing[0].1.verifying_key(),
        });
    rotated.current_signing_key = 2;
    let now = UnixTime(start.0 + 3_600);
    let head = BulletinHead::sign(
        &HeadDraft {
            descriptor_serial: 2,
            latest: feed.get(1).chain_point(),
            oldest: feed.get(1).chain_point(),
            issued_at: now,
            expires_at: UnixTime(now.0 + DEFAULT_HEAD_LIFETIME_SECS),
        },
        &keys,
        &rotated,
    )
    .unwrap();
    let view = ChainView::default();
    assert_eq!(
        view.check_head(head.as_bytes(), &feed.w.descriptor, now)
            .map(|_| ()),
        Err(Error::DescriptorOutdated { serial: 2 })
    );
    let update = rotated
        .sign(feed.w.ha.root.as_ref().unwrap(), None)
        .unwrap();
    let pinned = feed.w.descriptor.verify_update(&update).unwrap();
    assert!(view.check_head(head.as_bytes(), &pinned, now).is_ok());
    let old = feed
        .w
        .descriptor
        .sign(feed.w.ha.root.as_ref().unwrap(), None)
        .unwrap();
    assert!(matches!(
        pinned.verify_update(&old),
        Err(Error::DescriptorRollback {
            pinned: 2,
            offered: 1
        })
    ));
}
