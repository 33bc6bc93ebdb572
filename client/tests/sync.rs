//! Bulletin sync and private matching against a fake diagnosis server on loopback
//! (`spec/api.md`): alerts once, withdrawals, resumption, and rejection of
//! tampered, truncated, reordered and foreign-key bulletins with nothing stored.

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
    let decoy = quet_protocol::notice::ExposureNotice::decoy(
        &mut s.world.rng,
        quet_protocol::time::Epoch::hour_of(at(12, 0)).unwrap(),
        5,
        128,
    );
    let chain = s
        .world
        .chain(vec![(vec![], vec![]), (vec![notice, decoy], vec![])]);
    s.server.serve_chain(&chain);
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
    s.server.serve_chain(&chain);
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
    s.server.serve_chain(&chain[..1]);
    assert_eq!(sync(&mut s.client).unwrap().new_alerts.len(), 1);
    s.server.serve_chain(&chain[1..]);
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
    s.server.serve_chain(&chain);
    s.server.state.lock().unwrap().failing = vec![2];
    let e = sync(&mut s.client).unwrap_err();
    assert_eq!(e.exit_code(), exit::NETWORK);
    let aid = s.world.descriptor.id.0;
    assert_eq!(
        s.client.store().chain(aid).unwrap().unwrap().sequence,
        1,
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
    s.server.serve_chain(&chain[2..]);
    let r = sync(&mut s.client).unwrap();
    assert_eq!(r.authorities[0].sequence, 3);
    assert_eq!(r.new_alerts.len(), 1);
}

/// Serves `bytes` as bulletin 1 and checks the sync fails with a bulletin
/// rejection and stores nothing.
fn assert_rejected(mut s: Setup, bytes: Vec<u8>, why: &str) -> ClientError {
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
    s.server.serve_chain(&chain[..1]);
    sync(&mut s.client).unwrap();
    s.server
        .state
        .lock()
        .unwrap()
        .bulletins
        .insert(2, chain[2].as_bytes().to_vec());
    let e = sync(&mut s.client).unwrap_err();
    assert_eq!(e.exit_code(), exit::BULLETIN_REJECTED);
    assert_eq!(
        s.client
            .store()
            .chain(s.world.descriptor.id.0)
            .unwrap()
            .unwrap()
            .sequence,
        1
    );
}

#[test]
fn detects_rollback_of_the_index() {
    let mut s = setup();
    let chain = s.world.chain(vec![(vec![], vec![]), (vec![], vec![])]);
    s.server.serve_chain(&chain);
    sync(&mut s.client).unwrap();
    s.server.state.lock().unwrap().bulletins.remove(&2);
    let e = sync(&mut s.client).unwrap_err();
    assert_eq!(e.kind(), "chain_rollback");
}

#[test]
fn ingest_bulletin_for_ui_driven_fetch() {
    let mut s = setup();
    let notice = s.world.notice_for(&s.venue, at(12, 30), at(13, 30));
    let chain = s.world.chain(vec![(vec![notice], vec![])]);
    let aid = s.world.descriptor.id.0;
    let r = s
        .client
        .ingest_bulletin(aid, chain[0].as_bytes(), at(21, 0))
        .unwrap();
    assert_eq!(r.sequence, 1);
    assert_eq!(r.new_alerts.len(), 1);
    assert_eq!(s.client.last_bulletin(aid).unwrap(), Some(1));
    // Replaying the same bulletin is out of order.
    let e = s
        .client
        .ingest_bulletin(aid, chain[0].as_bytes(), at(21, 0))
        .unwrap_err();
    assert_eq!(e.exit_code(), exit::BULLETIN_REJECTED);
    assert_eq!(s.client.alerts().unwrap().len(), 1);
}

#[test]
fn deleting_a_check_in_deletes_its_alert() {
    let mut s = setup();
    let notice = s.world.notice_for(&s.venue, at(12, 30), at(13, 30));
    s.server
        .serve_chain(&s.world.chain(vec![(vec![notice], vec![])]));
    let r = sync(&mut s.client).unwrap();
    s.client.delete_check_in(r.new_alerts[0].check_in).unwrap();
    assert!(s.client.alerts().unwrap().is_empty());
}

#[test]
fn index_of_another_authority_is_refused() {
    let mut s = setup();
    s.server.serve_chain(&s.world.chain(vec![(vec![], vec![])]));
    s.server.state.lock().unwrap().authority = 0x0200_0002;
    let e = sync(&mut s.client).unwrap_err();
    assert_eq!(e.exit_code(), exit::NETWORK);
    assert!(e.to_string().contains("02000002"), "{e}");
    assert_eq!(
        s.client.store().chain(s.world.descriptor.id.0).unwrap(),
        None
    );
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
    s.server.serve_chain(&chain);
    let http = UreqTransport::default();

    let mut session = s.client.sync_start(at(21, 0)).unwrap();
    let first = session.next_request().unwrap();
    assert_eq!(first.method, Method::Get);
    assert_eq!(
        first.url,
        format!("{}/v1/bulletins/index.json", s.server.base)
    );
    assert!(
        s.server.requests().is_empty(),
        "the core fetched nothing itself"
    );
    let index = http.execute(&first).unwrap();
    assert_eq!(s.client.sync_receive(&mut session, index).unwrap(), None);
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
