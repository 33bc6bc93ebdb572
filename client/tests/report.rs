//! Case reports against a fake diagnosis server: the preview chooses the days,
//! exactly 100 envelopes go up with the real ones first, the HA can open them;
//! wrong, used and rate-limited codes explain themselves.

mod common;

use common::*;
use data_encoding::BASE64;
use quet_client::{ClientError, UreqTransport, exit};
use quet_protocol::category::Category;
use quet_protocol::envelope::{ENVELOPE_LEN, REPORT_ENVELOPE_COUNT, ReportEnvelope};

fn code() -> String {
    quet_client::auth_code::with_check_symbol("ABCDEFGHJKMNPQR").unwrap()
}

#[test]
fn report_sends_the_requested_days_padded_to_100() {
    let server = FakeServer::start();
    let mut w = World::new(&server.base);
    let mut old = w.venue("Quán cũ", Category::Restaurant);
    let mut venue = w.venue("Phở Thìn", Category::Restaurant);
    let mut c = pinned_client(&w, 5);
    let u = w.code_url(&mut old, at(8, 0));
    c.check_in(&u, at(8, 0)).unwrap();
    let u = w.code_url(&mut venue, at(12, 0));
    c.check_in(&u, at(12, 0)).unwrap();
    c.check_out(None, at(12, 30)).unwrap();
    {
        let mut st = server.state.lock().unwrap();
        st.codes
            .insert(code().replace('-', ""), (at(10, 0).0, at(23, 0).0));
    }
    let http = UreqTransport::default();
    let plan = c.report_preview(&http, None, &code(), at(13, 0)).unwrap();
    assert_eq!(plan.report_since, at(10, 0).0);
    assert_eq!(plan.check_ins.len(), 1, "only check-ins since report_since");
    assert_eq!(plan.check_ins[0].venue_name, "Phở Thìn");
    let receipt = c.report_submit(&http, &plan).unwrap();
    assert_eq!(receipt.sent, 1);
    assert_eq!(receipt.receipt, "00ff");

    let body = server.state.lock().unwrap().reports[0].clone();
    assert_eq!(body["chaff"], false);
    let envs: Vec<Vec<u8>> = body["envelopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| BASE64.decode(e.as_str().unwrap().as_bytes()).unwrap())
        .collect();
    assert_eq!(envs.len(), REPORT_ENVELOPE_COUNT);
    assert!(envs.iter().all(|e| e.len() == ENVELOPE_LEN));
    let first = ReportEnvelope::from_bytes(&envs[0])
        .unwrap()
        .open_and_verify(&w.ha, &w.descriptor)
        .unwrap()
        .expect("the real envelope comes first");
    assert_eq!(first.code.venue.name, "Phở Thìn");
    assert_eq!(first.arrival, at(12, 0));
    assert_eq!(first.departure, at(12, 30), "re-sealed at check-out");
    for e in &envs[1..] {
        let opened = ReportEnvelope::from_bytes(e)
            .unwrap()
            .open_and_verify(&w.ha, &w.descriptor)
            .unwrap();
        assert!(opened.is_none(), "the rest is padding");
    }

    // The code is single-use.
    let e = c.report_submit(&http, &plan).unwrap_err();
    assert!(matches!(e, ClientError::AuthCodeInvalid));
}

#[test]
fn wrong_code_explains_itself() {
    let server = FakeServer::start();
    let mut w = World::new(&server.base);
    let mut venue = w.venue("Phở Thìn", Category::Restaurant);
    let mut c = pinned_client(&w, 5);
    let u = w.code_url(&mut venue, at(12, 0));
    c.check_in(&u, at(12, 0)).unwrap();
    let unknown = quet_client::auth_code::with_check_symbol("ZZZZZZZZZZZZZZZ").unwrap();
    let e = c
        .report_preview(&UreqTransport::default(), None, &unknown, at(13, 0))
        .unwrap_err();
    assert!(matches!(e, ClientError::AuthCodeInvalid));
    assert_eq!(e.exit_code(), exit::AUTH_CODE);
    assert!(e.explain().en.contains("wrong, already used or expired"));
    assert!(e.explain().vi.contains("hết hạn"));
    assert!(server.state.lock().unwrap().reports.is_empty());
}

#[test]
fn rate_limit_says_when_to_retry() {
    let server = FakeServer::start();
    let w = World::new(&server.base);
    let mut c = pinned_client(&w, 5);
    server.state.lock().unwrap().rate_limited = true;
    let e = c
        .report_preview(&UreqTransport::default(), None, &code(), at(13, 0))
        .unwrap_err();
    assert!(
        matches!(
            e,
            ClientError::RateLimited {
                retry_after: Some(60)
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.exit_code(), exit::TRY_LATER);
    assert!(e.explain().en.contains("60 s"));
}

#[test]
fn nothing_to_report_sends_nothing() {
    let server = FakeServer::start();
    let w = World::new(&server.base);
    let mut c = pinned_client(&w, 5);
    server
        .state
        .lock()
        .unwrap()
        .codes
        .insert(code().replace('-', ""), (at(10, 0).0, at(23, 0).0));
    let http = UreqTransport::default();
    let plan = c.report_preview(&http, None, &code(), at(13, 0)).unwrap();
    assert!(plan.check_ins.is_empty());
    assert!(matches!(
        c.report_submit(&http, &plan),
        Err(ClientError::NothingToReport)
    ));
    assert!(server.state.lock().unwrap().reports.is_empty());
}

#[test]
fn mistyped_code_is_caught_before_sending() {
    let server = FakeServer::start();
    let w = World::new(&server.base);
    let mut c = pinned_client(&w, 5);
    let mut typo = code();
    typo.replace_range(0..1, "B");
    let e = c
        .report_preview(&UreqTransport::default(), None, &typo, at(13, 0))
        .unwrap_err();
    assert!(matches!(e, ClientError::AuthCodeTypo));
    assert!(e.explain().en.contains("typo"));
    assert!(
        server.requests().is_empty(),
        "nothing sent, no attempt spent"
    );
}

#[test]
fn the_reporting_phone_is_not_alerted_by_its_own_report() {
    let server = FakeServer::start();
    let mut w = World::new(&server.base);
    {
        let mut st = server.state.lock().unwrap();
        st.descriptor = w.descriptor_bytes();
        st.authority = w.descriptor.id.0;
        st.codes
            .insert(code().replace('-', ""), (at(0, 0).0, at(23, 0).0));
    }
    let mut venue = w.venue("Phở Thìn", Category::Restaurant);
    let mut case = pinned_client(&w, 5);
    let mut contact = pinned_client(&w, 6);
    let u = w.code_url(&mut venue, at(12, 0));
    case.check_in(&u, at(12, 0)).unwrap();
    contact.check_in(&u, at(12, 1)).unwrap();
    case.check_out(None, at(12, 40)).unwrap();
    contact.check_out(None, at(12, 50)).unwrap();
    // A copy of the case's phone taken before the report: it would match.
    let before_report = case.store().clone();

    let http = UreqTransport::default();
    let plan = case
        .report_preview(&http, None, &code(), at(13, 0))
        .unwrap();
    case.report_submit(&http, &plan).unwrap();
    assert!(case.diary(at(13, 0)).unwrap()[0].reported);

    // The HA publishes the case's stay.
    let notice = w.notice_for(&venue, at(12, 0), at(12, 40));
    let chain = w.chain(vec![(vec![notice], vec![])]);
    server.serve_chain(&w, &chain);
    let r = case.sync(&http, at(21, 0), &mut |_| {}).unwrap();
    assert!(r.new_alerts.is_empty(), "no alert from its own report");
    assert!(case.alerts().unwrap().is_empty());
    let r = contact.sync(&http, at(21, 0), &mut |_| {}).unwrap();
    assert_eq!(r.new_alerts.len(), 1, "the contact is alerted");
    let mut unreported = quet_client::Client::new(
        before_report,
        Box::new(quet_protocol::testing::test_rng(77)),
    );
    let r = unreported.sync(&http, at(21, 0), &mut |_| {}).unwrap();
    assert_eq!(
        r.new_alerts.len(),
        1,
        "without the report's token replacement it would have alerted itself"
    );
}

#[test]
fn more_than_100_check_ins_send_the_most_recent_100() {
    let server = FakeServer::start();
    let mut w = World::new(&server.base);
    let mut venue = w.venue("Chợ Đồng Xuân", Category::Market);
    let mut c = pinned_client(&w, 5);
    // One check-in before the report window, then 101 inside it, an hour apart.
    let u = w.code_url(&mut venue, at(0, 0));
    c.check_in(&u, at(0, 0)).unwrap();
    let start = at(2, 0).0;
    for h in 0..101 {
        let t = quet_client::UnixTime(start + h * 3600);
        let u = w.code_url(&mut venue, t);
        c.check_in(&u, t).unwrap();
    }
    let now = quet_client::UnixTime(start + 101 * 3600);
    {
        let mut st = server.state.lock().unwrap();
        st.codes
            .insert(code().replace('-', ""), (at(1, 0).0, now.0 + 3600));
    }
    let http = UreqTransport::default();
    let plan = c.report_preview(&http, None, &code(), now).unwrap();
    assert_eq!(plan.check_ins.len(), REPORT_ENVELOPE_COUNT);
    let arrivals: Vec<u64> = plan.check_ins.iter().map(|c| c.arrival).collect();
    assert_eq!(arrivals[0], start + 100 * 3600, "newest first");
    assert_eq!(
        *arrivals.last().unwrap(),
        start + 3600,
        "the oldest in the window is the one left out"
    );
    let receipt = c.report_submit(&http, &plan).unwrap();
    assert_eq!(receipt.sent, 100);
    let body = server.state.lock().unwrap().reports[0].clone();
    let mut opened: Vec<u64> = body["envelopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let bytes = BASE64.decode(e.as_str().unwrap().as_bytes()).unwrap();
            ReportEnvelope::from_bytes(&bytes)
                .unwrap()
                .open_and_verify(&w.ha, &w.descriptor)
                .unwrap()
                .expect("all 100 are real")
                .arrival
                .0
        })
        .collect();
    opened.sort_unstable();
    assert_eq!(
        opened,
        (1..=100).map(|h| start + h * 3600).collect::<Vec<_>>()
    );
}
