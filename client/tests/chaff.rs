//! Chaff: a real report's requests and a chaff pair's have one byte length each
//! (for any code and any number of check-ins), the schedule's draws stay in their
//! bounds, and the schedule walks preview → upload → next preview as
//! `client/src/chaff.rs` says.

mod common;

use common::*;
use data_encoding::BASE64;
use proptest::prelude::*;
use quet_client::chaff::{
    self, CONSENT_MAX_SECS, CONSENT_MIN_SECS, PAIR_MAX_GAP_SECS, PAIR_MEAN_GAP_SECS,
    PAIR_MIN_GAP_SECS, PREVIEW_BODY_LEN, UPLOAD_BODY_LEN, UPLOAD_GRACE_SECS,
};
use quet_client::{ChaffKind, Client, MemoryStore, Request, Response, UnixTime};
use quet_protocol::category::Category;
use quet_protocol::envelope::{ENVELOPE_LEN, REPORT_ENVELOPE_COUNT, ReportEnvelope};
use quet_protocol::testing::test_rng;

const BASE: &str = "https://quet.test.example";

fn ok(status: u16, body: &str) -> Response {
    Response {
        status,
        body: body.as_bytes().to_vec(),
        retry_after: None,
    }
}

fn json(r: &Request) -> serde_json::Value {
    serde_json::from_slice(&r.body).expect("a padded body is still JSON")
}

/// Runs the schedule until its next chaff request of `kind` (moving the clock
/// to its due time), returning it and the time it was made.
fn next_chaff(c: &mut Client<MemoryStore>, now: UnixTime) -> (quet_client::ChaffRequest, u64) {
    let due = c.chaff_due(now).unwrap();
    assert!(due.at > now.0, "nothing is due at once: {due:?}");
    assert!(
        c.chaff_request(UnixTime(due.at - 1)).unwrap().is_none(),
        "sent before it was due"
    );
    let sent = c.chaff_request(UnixTime(due.at)).unwrap().expect("due now");
    assert_eq!(sent.step, due.step);
    (sent, due.at)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any code (of the characters a person types, up to the longest allowed),
    /// real or chaff: one preview length, one upload length, valid JSON.
    #[test]
    fn real_and_chaff_bodies_have_one_length_for_any_code(
        code in "[0-9A-Za-z -]{0,32}",
        other in "[0-9A-Z-]{0,32}",
        fill in any::<u8>(),
    ) {
        let real = chaff::preview_body(&code, false).unwrap();
        let fake = chaff::preview_body(&other, true).unwrap();
        prop_assert_eq!(real.len(), PREVIEW_BODY_LEN);
        prop_assert_eq!(fake.len(), PREVIEW_BODY_LEN);
        let v: serde_json::Value = serde_json::from_slice(&real).unwrap();
        prop_assert_eq!(v["auth_code"].as_str(), Some(code.as_str()));
        prop_assert_eq!(v["chaff"].as_bool(), Some(false));

        let envelopes = vec![vec![fill; ENVELOPE_LEN]; REPORT_ENVELOPE_COUNT];
        let real = chaff::upload_body(&code, &envelopes, false).unwrap();
        let fake = chaff::upload_body(&other, &envelopes, true).unwrap();
        prop_assert_eq!(real.len(), UPLOAD_BODY_LEN);
        prop_assert_eq!(fake.len(), UPLOAD_BODY_LEN);
        let v: serde_json::Value = serde_json::from_slice(&fake).unwrap();
        prop_assert_eq!(v["chaff"].as_bool(), Some(true));
        prop_assert_eq!(v["envelopes"].as_array().unwrap().len(), REPORT_ENVELOPE_COUNT);
    }

    /// The schedule's draws stay in their bounds for any randomness.
    #[test]
    fn the_schedule_draws_stay_in_bounds(seed in any::<u8>(), n in 1usize..200) {
        let mut rng = test_rng(seed);
        for _ in 0..n {
            let pair = chaff::draw_pair_gap(&mut rng);
            prop_assert!((PAIR_MIN_GAP_SECS..=PAIR_MAX_GAP_SECS).contains(&pair), "{}", pair);
            let consent = chaff::draw_consent_gap(&mut rng);
            prop_assert!((CONSENT_MIN_SECS..=CONSENT_MAX_SECS).contains(&consent), "{}", consent);
        }
    }
}

#[test]
fn bodies_that_cannot_have_the_fixed_length_are_refused() {
    assert!(chaff::preview_body(&"A".repeat(33), false).is_err());
    // A quote is escaped in JSON: 17 of them take 34 bytes.
    assert!(chaff::preview_body(&"\"".repeat(17), true).is_err());
    let short = vec![vec![0; ENVELOPE_LEN]; REPORT_ENVELOPE_COUNT - 1];
    assert!(chaff::upload_body("X", &short, false).is_err());
    let mut odd = vec![vec![0; ENVELOPE_LEN]; REPORT_ENVELOPE_COUNT];
    odd[3].push(0);
    assert!(chaff::upload_body("X", &odd, false).is_err());
}

#[test]
fn the_pair_gap_averages_its_mean_and_consent_gaps_spread_over_their_range() {
    let mut rng = test_rng(9);
    let n = 20_000u64;
    let total: u64 = (0..n).map(|_| chaff::draw_pair_gap(&mut rng)).sum();
    let mean = total as f64 / n as f64;
    let want = PAIR_MEAN_GAP_SECS as f64;
    assert!(
        (mean - want).abs() < want * 0.05,
        "mean gap {mean} s, want about {want} s"
    );
    // Log-uniform: as many draws under the geometric middle (~44 s) as over it.
    let middle = ((CONSENT_MIN_SECS * CONSENT_MAX_SECS) as f64).sqrt() as u64;
    let under = (0..n)
        .filter(|_| chaff::draw_consent_gap(&mut rng) < middle)
        .count() as f64;
    assert!(
        (under / n as f64 - 0.5).abs() < 0.03,
        "{under} of {n} under {middle} s"
    );
}

/// A real report of `n` check-ins and a chaff pair from the same phone: the same
/// endpoints, methods and body lengths.
fn compare_real_and_chaff(n: usize) {
    let mut w = World::with_seed(11, BASE);
    let mut venue = w.venue("Chợ Đồng Xuân", Category::Market);
    let mut c = pinned_client(&w, 3);
    for i in 0..n as u64 {
        let t = at(0, 0).0 + i * 300;
        let u = w.code_url(&mut venue, UnixTime(t));
        c.check_in(&u, UnixTime(t)).unwrap();
        c.check_out(None, UnixTime(t + 120)).unwrap();
    }
    let done = UnixTime(at(0, 0).0 + n as u64 * 300 + 60);
    let code = quet_client::auth_code::with_check_symbol("ABCDEFGHJKMNPQR").unwrap();
    let (draft, real_preview) = c.report_preview_request(None, &code).unwrap();
    let answer = format!(
        r#"{{"expires_at":{},"report_since":{}}}"#,
        done.0 + 86_400,
        at(0, 0).0 - 86_400
    );
    let plan = c.report_plan(draft, &ok(200, &answer), done).unwrap();
    assert_eq!(plan.check_ins.len(), n.min(REPORT_ENVELOPE_COUNT));
    let real_upload = c.report_upload_request(&plan).unwrap();

    let (preview, t) = next_chaff(&mut c, done);
    assert_eq!(preview.step, ChaffKind::Preview);
    c.chaff_answered(&preview, &ok(200, &answer), UnixTime(t))
        .unwrap();
    let (upload, _) = next_chaff(&mut c, UnixTime(t));
    assert_eq!(upload.step, ChaffKind::Upload);

    for (real, fake) in [
        (&real_preview, &preview.request),
        (&real_upload, &upload.request),
    ] {
        assert_eq!(real.url, fake.url);
        assert_eq!(real.method, fake.method);
        assert_eq!(real.max_response, fake.max_response);
        assert_eq!(real.body.len(), fake.body.len(), "{n} check-ins");
        assert_eq!(json(real)["chaff"], false);
        assert_eq!(json(fake)["chaff"], true);
    }
    assert_eq!(real_preview.body.len(), PREVIEW_BODY_LEN);
    assert_eq!(real_upload.body.len(), UPLOAD_BODY_LEN);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    #[test]
    fn a_real_report_and_a_chaff_pair_have_the_same_lengths_for_any_number_of_check_ins(
        n in 1usize..=100,
    ) {
        compare_real_and_chaff(n);
    }
}

#[test]
fn the_extremes_one_and_more_than_a_hundred_check_ins() {
    compare_real_and_chaff(1);
    compare_real_and_chaff(REPORT_ENVELOPE_COUNT + 3);
}

#[test]
fn the_schedule_walks_preview_upload_next_preview_and_chaff_is_padding_to_the_ha() {
    let w = World::with_seed(12, BASE);
    let mut c = pinned_client(&w, 4);
    let t0 = at(9, 0);
    let (preview, t1) = next_chaff(&mut c, t0);
    assert!(t1 >= t0.0 + PAIR_MIN_GAP_SECS && t1 <= t0.0 + PAIR_MAX_GAP_SECS);
    assert_eq!(preview.step, ChaffKind::Preview);
    assert_eq!(preview.request.url, format!("{BASE}/v1/reports/preview"));
    let code = json(&preview.request)["auth_code"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        quet_client::auth_code::normalize(&code).as_deref(),
        Some(code.as_str()),
        "chaff carries a well-formed code"
    );
    // The same preview is not sent twice (the schedule moved on when it was made).
    assert!(c.chaff_request(UnixTime(t1)).unwrap().is_none());

    let due = c
        .chaff_answered(&preview, &ok(200, "{}"), UnixTime(t1))
        .unwrap();
    assert_eq!(due.step, ChaffKind::Upload);
    assert!((t1 + CONSENT_MIN_SECS..=t1 + CONSENT_MAX_SECS).contains(&due.at));
    let (upload, t2) = next_chaff(&mut c, UnixTime(t1));
    assert_eq!(upload.request.url, format!("{BASE}/v1/reports"));
    // Every chaff envelope is a well-formed padding envelope the HA opens as such.
    let body = json(&upload.request);
    let envs = body["envelopes"].as_array().unwrap();
    assert_eq!(envs.len(), REPORT_ENVELOPE_COUNT);
    for e in envs {
        let bytes = BASE64.decode(e.as_str().unwrap().as_bytes()).unwrap();
        let opened = ReportEnvelope::from_bytes(&bytes)
            .unwrap()
            .open_and_verify(&w.ha, &w.descriptor)
            .unwrap();
        assert!(opened.is_none(), "a chaff envelope opened as a check-in");
    }
    // The upload's answer ends the pair; the next preview is a pair gap later.
    let due = c
        .chaff_answered(
            &upload,
            &ok(202, r#"{"receipt":"00","padding":""}"#),
            UnixTime(t2),
        )
        .unwrap();
    assert_eq!(due.step, ChaffKind::Preview);
    assert!(due.at >= t1 + PAIR_MIN_GAP_SECS);
}

#[test]
fn a_refused_preview_ends_the_pair_and_a_late_upload_is_dropped() {
    let w = World::with_seed(13, BASE);
    let mut c = pinned_client(&w, 5);
    let (preview, t1) = next_chaff(&mut c, at(9, 0));
    // 429: no upload follows, as none follows a real preview that was refused.
    let due = c
        .chaff_answered(&preview, &ok(429, "{}"), UnixTime(t1))
        .unwrap();
    assert_eq!(due.step, ChaffKind::Preview);

    let (preview, t2) = next_chaff(&mut c, UnixTime(t1));
    let due = c
        .chaff_answered(&preview, &ok(200, "{}"), UnixTime(t2))
        .unwrap();
    assert_eq!(due.step, ChaffKind::Upload);
    // The app was closed past the grace time: the upload is dropped.
    let late = UnixTime(due.at + UPLOAD_GRACE_SECS + 1);
    assert!(c.chaff_request(late).unwrap().is_none());
    assert_eq!(c.chaff_due(late).unwrap().step, ChaffKind::Preview);
}

#[test]
fn no_authority_no_chaff() {
    let mut c = memory_client(6);
    let due = c.chaff_due(at(9, 0)).unwrap();
    assert!(c.chaff_request(UnixTime(due.at)).unwrap().is_none());
    assert!(c.chaff_due(UnixTime(due.at)).unwrap().at > due.at);
}
