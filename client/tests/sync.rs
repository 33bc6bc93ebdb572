//! Bulletin sync and private matching (protocol 1.1) against a fake diagnosis
//! server on loopback: alerts once, withdrawals, resumption; the signed head on
//! every sync (a lying index, a frozen feed, a replayed head, a fork, a newer
//! descriptor); venue checkpoints and revocations; and rejection of tampered,
//! truncated, reordered and foreign-key bulletins with nothing stored.

mod common;

use common::*;
use quet_client::{Client, ClientError, MemoryStore, Store, UreqTransport, exit};
use quet_protocol::category::Category;
use quet_protocol::code::CodeIssuer;

struct Setup {
    server: FakeServer,
    world: World,
    venue: CodeIssuer,
    client: Client<MemoryStore>,
}

/// A phone that visited "Phở Thìn" 12:00–12:45 and another venue at 15:00.
fn setup() -> Setup {
    let server = FakeServer::start();
    let mut world = World::new(&server.base);
    {
        let mut st = server.state.lock().unwrap();
        st.descriptor = world.descriptor_bytes();
        st.authority = world.descriptor.id.0;
    }
    let mut venue = world.venue("Phở Thìn", Category::Restaurant);
    let mut other = world.venue("Trường THCS Ngô Sĩ Liên", Category::School);
    let mut client = pinned_client(&world, 3);
    let u = world.code_url(&mut venue, at(12, 0));
    client.check_in(&u, at(12, 0)).unwrap();
    client.check_out(None, at(12, 45)).unwrap();
    let u = world.code_url(&mut other, at(15, 0));
    client.check_in(&u, at(15, 0)).unwrap();
    client.check_out(None, at(16, 0)).unwrap();
    Setup {
        server,
        world,
        venue,
        client,
    }
}

fn sync(c: &mut Client<MemoryStore>) -> quet_client::Result<quet_client::SyncReport> {
    c.sync(&UreqTransport::default(), at(21, 0), &mut |_| {})
}

#[test]
fn sync_matches_once_and_shows_message() {
    let mut s = setup();
    let notice = s.world.notice_for(&s.venue, at(12, 30), at(13, 30));
    let chain = s
        .world
        .chain(vec![(vec![], vec![]), (vec![notice], vec![])]);
    s.server.serve_chain(&s.world, &chain);
    let mut steps = Vec::new();
    let r = s
        .client
        .sync(&UreqTransport::default(), at(21, 0), &mut |p| {
            steps.push((p.done, p.total))
        })
        .unwrap();
    assert_eq!(steps.last(), Some(&(2, 2)), "progress reaches the end");
    assert_eq!(r.authorities[0].accepted, 2);
    assert_eq!(r.new_alerts.len(), 1);
    assert_eq!(r.new_alerts[0].severity, "test");
    assert_eq!(s.client.alert_summaries().unwrap(), r.new_alerts);
    let alerts = s.client.alerts().unwrap();
    let a = &alerts[0];
    assert_eq!(alerts.len(), 1);
    assert_eq!(a.venue_name, "Phở Thìn");
    assert_eq!(a.severity, "test");
    assert_eq!(a.severity_vi, "Đi xét nghiệm");
    assert!(a.message_vi.contains("xét nghiệm"));
    assert!(a.message_en.contains("get tested"));
    assert_eq!(a.notice, r.new_alerts[0].notice);

    // Re-sync: nothing new, no duplicate alert.
    let r = sync(&mut s.client).unwrap();
    assert_eq!(r.authorities[0].accepted, 0);
    assert!(r.new_alerts.is_empty());
    assert_eq!(s.client.alerts().unwrap().len(), 1);
}

#[test]
fn a_case_after_check_out_is_not_an_exposure() {
    let mut s = setup();
    // The case arrived at 12:50, after this phone checked out at 12:45; the hour
    // key is the same, but the stays do not overlap.
    let notice = s.world.notice_for(&s.venue, at(12, 50), at(13, 30));
    let chain = s.world.chain(vec![(vec![notice], vec![])]);
    s.server.serve_chain(&s.world, &chain);
    let r = sync(&mut s.client).unwrap();
    assert!(r.new_alerts.is_empty());
}

#[test]
fn withdrawn_notice_clears_alert() {
    let mut s = setup();
    let notice = s.world.notice_for(&s.venue, at(12, 30), at(13, 30));
    let nonce = notice.nonce;
    let chain = s
        .world
        .chain(vec![(vec![notice], vec![]), (vec![], vec![nonce])]);
    s.server.serve_chain(&s.world, &chain[..1]);
    assert_eq!(sync(&mut s.client).unwrap().new_alerts.len(), 1);
    s.server.serve_chain(&s.world, &chain[1..]);
    let r = sync(&mut s.client).unwrap();
    assert_eq!(r.withdrawn, 1);
    assert!(s.client.alerts().unwrap().is_empty());
}

#[test]
fn sync_resumes_after_interruption() {
    let mut s = setup();
    let notice = s.world.notice_for(&s.venue, at(12, 30), at(13, 30));
    let chain = s.world.chain(vec![
        (vec![], vec![]),
        (vec![], vec![]),
        (vec![notice], vec![]),
    ]);
    s.server.serve_chain(&s.world, &chain);
    s.server.state.lock().unwrap().failing = vec![2];
    let e = sync(&mut s.client).unwrap_err();
    assert_eq!(e.exit_code(), exit::NETWORK);
    let aid = s.world.descriptor.id.0;
    assert_eq!(
        s.client.last_bulletin(aid).unwrap(),
        Some(1),
        "bulletin 1 kept"
    );
    s.server.state.lock().unwrap().failing.clear();
    let before = s.server.requests().len();
    let r = sync(&mut s.client).unwrap();
    assert_eq!(r.authorities[0].accepted, 2);
    assert_eq!(r.new_alerts.len(), 1);
    let fetched: Vec<_> = s.server.requests()[before..].to_vec();
    assert!(
        !fetched.contains(&"GET /v1/bulletins/1".to_string()),
        "{fetched:?}"
    );
    assert!(fetched.contains(&"GET /v1/bulletins/2".to_string()));
}

#[test]
fn anchors_on_first_live_bulletin() {
    let mut s = setup();
    let notice = s.world.notice_for(&s.venue, at(12, 30), at(13, 30));
    let chain = s.world.chain(vec![
        (vec![], vec![]),
        (vec![], vec![]),
        (vec![notice], vec![]),
    ]);
    s.server.serve_chain(&s.world, &chain[2..]);
    let r = sync(&mut s.client).unwrap();
    assert_eq!(r.authorities[0].sequence, 3);
    assert_eq!(r.new_alerts.len(), 1);
}

/// Serves `bytes` as bulletin 1 and checks the sync fails with a bulletin
/// rejection and stores nothing.
fn assert_rejected(mut s: Setup, bytes: Vec<u8>, why: &str) -> ClientError {
    // The genuine head names a genuine bulletin 1; the server serves `bytes`.
    let genuine = s.world.chain(vec![(vec![], vec![])]);
    s.server.serve_chain(&s.world, &genuine);
    s.server.state.lock().unwrap().bulletins.insert(1, bytes);
    let e = sync(&mut s.client).unwrap_err();
    assert_eq!(e.exit_code(), exit::BULLETIN_REJECTED, "{why}: {e:?}");
    assert!(e.explain().en.contains("nothing was stored"));
    assert!(e.explain().vi.contains("không lưu gì"));
    assert_eq!(
        s.client.store().chain(s.world.descriptor.id.0).unwrap(),
        None
    );
    assert!(s.client.alerts().unwrap().is_empty());
    e
}

#[test]
fn rejects_tampered_bulletin() {
    let mut s = setup();
    let notice = s.world.notice_for(&s.venue, at(12, 30), at(13, 30));
    let mut bytes = s.world.chain(vec![(vec![notice], vec![])])[0]
        .as_bytes()
        .to_vec();
    bytes[60] ^= 0x40;
    let e = assert_rejected(s, bytes, "tampered");
    assert!(matches!(
        e,
        ClientError::Bulletin {
            source: quet_protocol::Error::BadSignature { .. },
            ..
        }
    ));
}

#[test]
fn rejects_truncated_bulletin() {
    let mut s = setup();
    let notice = s.world.notice_for(&s.venue, at(12, 30), at(13, 30));
    let bytes = s.world.chain(vec![(vec![notice], vec![])])[0]
        .as_bytes()
        .to_vec();
    let cut = bytes[..bytes.len() - 100].to_vec();
    assert_rejected(s, cut, "truncated");
}

#[test]
fn rejects_foreign_key_bulletin() {
    let s = setup();
    // Same authority id and base URL, different (attacker's) keys.
    let mut forger = World::with_seed(99, &s.server.base);
    let notice = forger.notice_for(&s.venue, at(12, 30), at(13, 30));
    let bytes = forger.chain(vec![(vec![notice], vec![])])[0]
        .as_bytes()
        .to_vec();
    assert_rejected(s, bytes, "foreign key");
}

#[test]
fn rejects_reordered_bulletins() {
    let mut s = setup();
    let chain = s
        .world
        .chain(vec![(vec![], vec![]), (vec![], vec![]), (vec![], vec![])]);
    // Bulletin 2's bytes served as bulletin 1: out of order, nothing stored.
    let b2 = chain[1].as_bytes().to_vec();
    let e = assert_rejected(s, b2, "reordered");
    assert!(matches!(
        e,
        ClientError::Bulletin {
            source: quet_protocol::Error::BulletinOutOfOrder { .. },
            ..
        }
    ));

    // A phone at bulletin 1 offered bulletin 3 as the next one: rejected, stays at 1.
    let mut s = setup();
    let chain = s
        .world
        .chain(vec![(vec![], vec![]), (vec![], vec![]), (vec![], vec![])]);
    s.server.serve_chain(&s.world, &chain[..1]);
    sync(&mut s.client).unwrap();
    s.server.serve_chain(&s.world, &chain[1..2]);
    s.server
        .state
        .lock()
        .unwrap()
        .bulletins
        .insert(2, chain[2].as_bytes().to_vec());
    let e = sync(&mut s.client).unwrap_err();
    assert_eq!(e.exit_code(), exit::BULLETIN_REJECTED);
    assert_eq!(
        s.client.last_bulletin(s.world.descriptor.id.0).unwrap(),
        Some(1)
    );
}

#[test]
fn deleting_a_check_in_deletes_its_alert() {
    let mut s = setup();
    let notice = s.world.notice_for(&s.venue, at(12, 30), at(13, 30));
    let c = s.world.chain(vec![(vec![notice], vec![])]);
    s.server.serve_chain(&s.world, &c);
    let r = sync(&mut s.client).unwrap();
    s.client.delete_check_in(r.new_alerts[0].check_in).unwrap();
    assert!(s.client.alerts().unwrap().is_empty());
}

/// The browser's way: the core says which request to make, the caller fetches it
/// (here with ureq standing in for `fetch`) and hands the answer back; nothing is
/// fetched by the core itself, and a session dropped midway keeps what it
/// committed.
#[test]
fn sync_steps_can_be_driven_by_the_caller() {
    use quet_client::{Method, Transport};
    let mut s = setup();
    let notice = s.world.notice_for(&s.venue, at(12, 30), at(13, 30));
    let chain = s.world.chain(vec![
        (vec![], vec![]),
        (vec![notice], vec![]),
        (vec![], vec![]),
    ]);
    s.server.serve_chain(&s.world, &chain);
    let http = UreqTransport::default();

    let mut session = s.client.sync_start(at(21, 0)).unwrap();
    let first = session.next_request().unwrap();
    assert_eq!(first.method, Method::Get);
    assert_eq!(first.url, format!("{}/v1/bulletins/head", s.server.base));
    assert!(
        s.server.requests().is_empty(),
        "the core fetched nothing itself"
    );
    let head = http.execute(&first).unwrap();
    assert_eq!(s.client.sync_receive(&mut session, head).unwrap(), None);
    let mut urls = Vec::new();
    // Fetch two bulletins, then stop (the page was closed).
    for _ in 0..2 {
        let req = session.next_request().unwrap();
        urls.push(req.url.clone());
        let resp = http.execute(&req).unwrap();
        let p = s.client.sync_receive(&mut session, resp).unwrap().unwrap();
        assert_eq!(p.total, 3);
    }
    assert_eq!(
        urls,
        vec![
            format!("{}/v1/bulletins/1", s.server.base),
            format!("{}/v1/bulletins/2", s.server.base)
        ]
    );
    assert_eq!(session.report().new_alerts.len(), 1);
    drop(session);
    assert_eq!(
        s.client.last_bulletin(s.world.descriptor.id.0).unwrap(),
        Some(2)
    );
    assert_eq!(s.client.alert_summaries().unwrap().len(), 1);

    // A new session resumes at bulletin 3 and ends.
    let mut session = s.client.sync_start(at(21, 5)).unwrap();
    let mut fetched = Vec::new();
    while let Some(req) = session.next_request() {
        fetched.push(req.url.clone());
        let resp = http.execute(&req).unwrap();
        s.client.sync_receive(&mut session, resp).unwrap();
    }
    assert_eq!(
        fetched.last().unwrap(),
        &format!("{}/v1/bulletins/3", s.server.base)
    );
    let report = session.finish();
    assert_eq!(report.authorities[0].accepted, 1);
    assert_eq!(report.authorities[0].sequence, 3);
    // A request serializes for JavaScript as method, url, body text and a bound.
    let json = serde_json::to_value(&first).unwrap();
    assert_eq!(json["method"], "GET");
    assert_eq!(json["body"], "");
}

fn aid(s: &Setup) -> u32 {
    s.world.descriptor.id.0
}

/// An index that lies is never read: a mirror saying `first = 3` cannot make the
/// phone skip bulletin 2, and one saying `latest = 1` cannot freeze it; only the
/// signed head decides.
#[test]
fn the_index_is_never_read() {
    let mut s = setup();
    let notice = s.world.notice_for(&s.venue, at(12, 30), at(13, 30));
    let chain = s.world.chain(vec![
        (vec![], vec![]),
        (vec![notice], vec![]),
        (vec![], vec![]),
    ]);
    s.server.serve_chain(&s.world, &chain);
    let r = sync(&mut s.client).unwrap();
    assert_eq!(r.authorities[0].sequence, 3);
    assert_eq!(r.new_alerts.len(), 1, "bulletin 2 was not skipped");
    assert!(
        !s.server.requests().iter().any(|r| r.contains("index.json")),
        "{:?}",
        s.server.requests()
    );
}

/// A mirror that keeps serving an old head freezes nothing silently: once the head
/// expires the sync fails and the phone says since when alerts may be out of date.
#[test]
fn a_frozen_feed_is_reported_as_stale() {
    let mut s = setup();
    let chain = s.world.chain(vec![(vec![], vec![])]);
    s.server.serve_chain(&s.world, &chain);
    sync(&mut s.client).unwrap();
    let status = s.client.feed_status(at(21, 0)).unwrap();
    assert_eq!(status[0].fresh_until, Some(at(20, 30).0 + 6 * 3600));
    assert_eq!(status[0].stale_since, None);
    // Ten hours later the same head is still all the mirror serves.
    let later = quet_client::UnixTime(at(20, 30).0 + 10 * 3600);
    let e = s
        .client
        .sync(&UreqTransport::default(), later, &mut |_| {})
        .unwrap_err();
    assert_eq!(e.kind(), "head_expired");
    assert_eq!(e.exit_code(), exit::STALE);
    let status = s.client.feed_status(later).unwrap();
    assert_eq!(status[0].stale_since, Some(at(20, 30).0));
    assert_eq!(status[0].fresh_until, None);
}

/// A replayed older head (after a newer one was verified) is refused.
#[test]
fn a_replayed_older_head_is_refused() {
    let mut s = setup();
    let chain = s.world.chain(vec![(vec![], vec![]), (vec![], vec![])]);
    let old_head = s.world.head(&chain[..1], at(20, 10));
    s.server.serve_chain(&s.world, &chain);
    sync(&mut s.client).unwrap();
    s.server.serve_head(&old_head);
    let e = sync(&mut s.client).unwrap_err();
    assert_eq!(e.kind(), "head_rollback");
    assert_eq!(s.client.last_bulletin(aid(&s)).unwrap(), Some(2));
}

/// Bulletins may be skipped only on signed evidence that they expired: a head
/// that hides bulletin 2 while it is still live is a gap, refused; after three
/// weeks offline the phone re-anchors at the head's oldest live bulletin.
#[test]
fn skipping_needs_signed_evidence_that_the_skipped_bulletins_expired() {
    let mut s = setup();
    let b1 = s.world.bulletin_at(1, [0; 32], vec![], vec![], at(8, 0));
    let b2 = s.world.bulletin_at(2, b1.hash(), vec![], vec![], at(9, 0));
    s.server.serve_chain(&s.world, std::slice::from_ref(&b1));
    sync(&mut s.client).unwrap();
    // A lying mirror: the genuine head of a later day whose oldest is bulletin 3
    // cannot exist while 2 is live; an old-style skip is refused.
    let b3 = s.world.bulletin_at(3, b2.hash(), vec![], vec![], at(10, 0));
    let lying = {
        let draft = quet_protocol::head::HeadDraft {
            descriptor_serial: s.world.descriptor.serial,
            latest: quet_protocol::head::ChainPoint {
                sequence: 3,
                hash: b3.hash(),
            },
            oldest: quet_protocol::head::ChainPoint {
                sequence: 3,
                hash: b3.hash(),
            },
            issued_at: at(20, 30),
            expires_at: quet_client::UnixTime(at(20, 30).0 + 3600),
        };
        quet_protocol::head::BulletinHead::sign(&draft, &s.world.ha, &s.world.descriptor).unwrap()
    };
    {
        let mut st = s.server.state.lock().unwrap();
        st.bulletins.insert(3, b3.as_bytes().to_vec());
    }
    s.server.serve_head(&lying);
    let e = sync(&mut s.client).unwrap_err();
    assert_eq!(e.kind(), "chain_gap");
    assert_eq!(s.client.last_bulletin(aid(&s)).unwrap(), Some(1));

    // Three weeks later, bulletins 1–3 expired; 4 is live: the head says so.
    let weeks = quet_client::UnixTime(at(10, 0).0 + 21 * 86_400);
    let b4 = s.world.bulletin_at(
        4,
        b3.hash(),
        vec![],
        vec![],
        quet_client::UnixTime(weeks.0 - 3600),
    );
    {
        let mut st = s.server.state.lock().unwrap();
        st.bulletins.clear();
        st.bulletins.insert(4, b4.as_bytes().to_vec());
    }
    s.server.serve_head(&s.world.head(&[b1, b2, b3, b4], weeks));
    let r = s
        .client
        .sync(&UreqTransport::default(), weeks, &mut |_| {})
        .unwrap();
    assert!(r.authorities[0].reanchored);
    assert_eq!(r.authorities[0].sequence, 4);
}

/// A head and a bulletin that name different hashes for one sequence are a fork:
/// refused, and recorded for the user.
#[test]
fn a_fork_between_head_and_bulletin_is_recorded() {
    let mut s = setup();
    let chain = s.world.chain(vec![(vec![], vec![])]);
    // Another bulletin 1, genuinely signed, shown to others.
    let other = s.world.bulletin_at(1, [0; 32], vec![], vec![], at(20, 1));
    s.server.serve_head(&s.world.head(&[other], at(20, 30)));
    s.server
        .state
        .lock()
        .unwrap()
        .bulletins
        .insert(1, chain[0].as_bytes().to_vec());
    let e = sync(&mut s.client).unwrap_err();
    assert_eq!(e.kind(), "bulletin_rejected");
    assert!(matches!(
        e,
        ClientError::Bulletin {
            source: quet_protocol::Error::ForkDetected { sequence: 1 },
            ..
        }
    ));
    let alarms = s.client.alarms().unwrap();
    assert_eq!(alarms.len(), 1);
    assert_eq!(alarms[0].kind, quet_client::AlarmKind::Fork);
    assert_eq!(s.client.last_bulletin(aid(&s)).unwrap(), None);
}

/// A head signed under a newer descriptor (higher serial) makes the phone fetch
/// the descriptor, accept it as an update of the pinned one, and go on.
#[test]
fn a_newer_descriptor_named_by_the_head_is_followed() {
    let mut s = setup();
    let mut newer = s.world.descriptor.clone();
    newer.serial += 1;
    newer.name = "Sở Y tế Hà Nội (mới)".into();
    let newer_bytes = s.world.ha.sign_descriptor(&newer).unwrap();
    s.world.descriptor = newer;
    s.server.state.lock().unwrap().descriptor = newer_bytes;
    let chain = s.world.chain(vec![(vec![], vec![])]);
    s.server.serve_chain(&s.world, &chain);
    let r = sync(&mut s.client).unwrap();
    assert!(r.authorities[0].descriptor_updated);
    assert_eq!(r.authorities[0].sequence, 1);
    assert_eq!(
        s.client.authority(aid(&s)).unwrap().name,
        "Sở Y tế Hà Nội (mới)"
    );
    assert!(
        s.server
            .requests()
            .contains(&"GET /v1/descriptor".to_string())
    );
}

/// A venue code whose chain checkpoint disagrees with what the phone verified is
/// recorded and shown at check-in; the next sync fetches that bulletin again past
/// any cache and classifies it.
#[test]
fn a_venue_checkpoint_that_disagrees_is_recorded_and_rechecked() {
    use quet_protocol::chain::ChainCheckpoint;
    let mut s = setup();
    let chain = s.world.chain(vec![(vec![], vec![])]);
    s.server.serve_chain(&s.world, &chain);
    sync(&mut s.client).unwrap();

    // Consistent: same bulletin.
    s.venue
        .set_checkpoint(ChainCheckpoint::new(1, &chain[0].hash()));
    let u = s.world.code_url(&mut s.venue, at(21, 10));
    let c = s.client.check_in(&u, at(21, 10)).unwrap();
    assert_eq!(
        c.chain_check,
        Some(quet_client::CheckpointCheck::Consistent)
    );
    // Ahead: the venue saw bulletin 5.
    s.venue.set_checkpoint(ChainCheckpoint::new(5, &[7; 32]));
    let u = s.world.code_url(&mut s.venue, at(21, 12));
    let c = s.client.check_in(&u, at(21, 12)).unwrap();
    assert_eq!(c.chain_check, Some(quet_client::CheckpointCheck::Ahead));
    assert!(s.client.alarms().unwrap().is_empty());

    // Conflict: another hash for bulletin 1 (here a genuinely signed fork).
    let fork = s.world.bulletin_at(1, [0; 32], vec![], vec![], at(20, 2));
    s.venue
        .set_checkpoint(ChainCheckpoint::new(1, &fork.hash()));
    let u = s.world.code_url(&mut s.venue, at(21, 14));
    let c = s.client.check_in(&u, at(21, 14)).unwrap();
    assert_eq!(c.chain_check, Some(quet_client::CheckpointCheck::Conflict));
    let alarms = s.client.alarms().unwrap();
    assert_eq!(alarms[0].kind, quet_client::AlarmKind::CheckpointConflict);

    // Re-check over another path: the origin serves the phone's bulletin 1, so
    // the venue's view is the odd one out.
    let before = s.server.requests().len();
    sync(&mut s.client).unwrap();
    let recheck: Vec<_> = s.server.requests()[before..]
        .iter()
        .filter(|r| r.starts_with("GET /v1/bulletins/1?recheck="))
        .cloned()
        .collect();
    assert_eq!(recheck.len(), 1, "{:?}", s.server.requests());
    assert_eq!(
        s.client.alarms().unwrap()[0].kind,
        quet_client::AlarmKind::VenueDisagrees
    );

    // Another phone that meets the same conflict, but the origin now serves the
    // fork: two signed bulletins for one sequence, a proven fork.
    let mut s2 = setup();
    let chain2 = s2.world.chain(vec![(vec![], vec![])]);
    s2.server.serve_chain(&s2.world, &chain2);
    sync(&mut s2.client).unwrap();
    let fork2 = s2.world.bulletin_at(1, [0; 32], vec![], vec![], at(20, 3));
    s2.venue
        .set_checkpoint(ChainCheckpoint::new(1, &fork2.hash()));
    let u = s2.world.code_url(&mut s2.venue, at(21, 14));
    s2.client.check_in(&u, at(21, 14)).unwrap();
    s2.server
        .state
        .lock()
        .unwrap()
        .bulletins
        .insert(1, fork2.as_bytes().to_vec());
    sync(&mut s2.client).unwrap();
    assert_eq!(
        s2.client.alarms().unwrap()[0].kind,
        quet_client::AlarmKind::ForkConfirmed
    );
}

/// A bulletin that revokes a venue key makes the phone refuse that venue's fresh
/// codes with a clear message.
#[test]
fn a_revoked_venue_is_refused_at_check_in() {
    let mut s = setup();
    let key = *s.venue.venue_key().as_bytes();
    let b = quet_protocol::bulletin::BulletinDraft {
        sequence: 1,
        prev_hash: [0; 32],
        issued_at: at(20, 0),
        expires_at: quet_client::UnixTime(at(20, 0).0 + 14 * 86_400),
        notices: vec![],
        withdrawn: vec![],
        revoked: vec![quet_protocol::bulletin::Revocation {
            venue_key: key,
            until: at(0, 0).day().unwrap().next().unwrap(),
        }],
    }
    .sign(&s.world.ha, &s.world.descriptor)
    .unwrap();
    s.server.serve_chain(&s.world, &[b]);
    sync(&mut s.client).unwrap();
    let u = s.world.code_url(&mut s.venue, at(21, 30));
    let e = s.client.check_in(&u, at(21, 30)).unwrap_err();
    assert_eq!(e.kind(), "venue_revoked");
    assert_eq!(e.exit_code(), exit::BAD_CODE);
    assert!(e.explain().en.contains("revoked"), "{}", e.explain().en);
    assert!(e.explain().vi.contains("thu hồi"), "{}", e.explain().vi);
    // Another venue still works.
    let mut other = s.world.venue(
        "Bún chả Hương Liên",
        quet_protocol::category::Category::Restaurant,
    );
    let u = s.world.code_url(&mut other, at(21, 31));
    assert!(s.client.check_in(&u, at(21, 31)).is_ok());
}
