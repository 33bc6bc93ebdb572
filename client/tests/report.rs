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
