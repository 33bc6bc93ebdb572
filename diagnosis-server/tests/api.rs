//! Integration tests against the real `quet-server` binary on a loopback port: the
//! whole case flow, error handling, limits, chaff, traces, withdrawals, heartbeats.

mod common;

use common::*;
use quet_protocol::bulletin::Bulletin;
use quet_protocol::envelope::ENVELOPE_LEN;
use quet_protocol::testing::test_rng;
use quet_protocol::time::{Epoch, EpochKind, UnixTime};
use quet_protocol::venue_keys::VenueMasterKey;

const RELAXED: &[&str] = &[
    "--attempts-per-minute",
    "1000",
    "--failures-before-lockout",
    "1000",
];

fn approve_body() -> serde_json::Value {
    serde_json::json!({"severity": "test", "message_vi": "Hãy đi xét nghiệm", "message_en": "Please get tested", "buffer_minutes": 30})
}

fn fetch_bulletin(s: &Server, seq: u64) -> Vec<u8> {
    let r = get(&s.url(&format!("/v1/bulletins/{seq}")));
    assert_eq!(r.status, 200);
    r.body
}

#[test]
fn case_flow_upload_review_approve_publish_gives_verifiable_chain() {
    let ha = Authority::new();
    let s = Server::start(&ha.data(), RELAXED);
    let d = descriptor(&s);
    let mut rng = test_rng(1);
    let mut v = venue(7, &d, "Phở Thìn");
    let code = issue_code(&s, &ha.token);

    // Preview does not spend the code.
    let p = post_json(
        &s.url("/v1/reports/preview"),
        &serde_json::json!({"auth_code": code.to_lowercase()}),
    );
    assert_eq!(p.status, 200);
    assert!(p.json()["report_since"].as_u64().unwrap() < now());

    let (envs, codes) = envelopes(&mut rng, &d, &mut v, 2);
    let r = upload(&s, &code, &envs, false);
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.body.len(), quet_server::api::public::RECEIPT_RESPONSE_LEN);
    let receipt = r.json()["receipt"].as_str().unwrap().to_owned();

    // The same code again with another body: spent. (The same body again is a
    // retry and gets the same receipt: tests/open_internet.rs.)
    let (other, _) = envelopes(&mut rng, &d, &mut v, 1);
    upload(&s, &code, &other, false).assert_error(401, "auth_code_invalid");
    // Stored times say only the hour.
    {
        let conn = quet_server::db::open(&quet_server::keystore::db_path(&ha.data())).unwrap();
        let hours: Vec<i64> = conn
            .prepare("SELECT received_hour FROM reports UNION ALL SELECT received_hour FROM reviews UNION ALL SELECT issued_hour FROM auth_codes")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(hours.len(), 1 + 2 + 1);
        assert!(hours.iter().all(|h| h % 3600 == 0), "{hours:?}");
    }

    let list = admin(&s, &ha.token, "GET", "/admin/v1/reviews", None).json();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2, "padding envelopes are dropped");
    assert_eq!(list[0]["venue_name"], "Phở Thìn");
    assert_eq!(list[0]["category"], "restaurant");
    assert_eq!(list[0]["verified"], true);
    assert_eq!(list[0]["epoch_kind"], "hour");
    assert_eq!(list[0]["receipt"], receipt.as_str());
    let id0 = list[0]["id"].as_i64().unwrap();
    let id1 = list[1]["id"].as_i64().unwrap();

    let a = admin(
        &s,
        &ha.token,
        "POST",
        &format!("/admin/v1/reviews/{id0}/approve"),
        Some(approve_body()),
    );
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    let nonces: Vec<String> = a.json()["notices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        nonces.len(),
        1,
        "one notice: a segment of hours and one of local days"
    );
    assert_eq!(
        admin(
            &s,
            &ha.token,
            "POST",
            &format!("/admin/v1/reviews/{id1}/reject"),
            None
        )
        .status,
        204
    );
    // Processed reviews (and their envelopes) are gone.
    assert_eq!(
        admin(&s, &ha.token, "GET", "/admin/v1/reviews", None)
            .json()
            .as_array()
            .unwrap()
            .len(),
        0
    );
    admin(
        &s,
        &ha.token,
        "POST",
        &format!("/admin/v1/reviews/{id0}/approve"),
        Some(approve_body()),
    )
    .assert_error(404, "not_found");

    let idx0 = get(&s.url("/v1/bulletins/index.json")).json();
    assert_eq!(idx0["latest"], 0);
    let pubd = admin(&s, &ha.token, "POST", "/admin/v1/publish", None);
    assert_eq!(pubd.json()["sequence"], 1);

    let idx = get(&s.url("/v1/bulletins/index.json"));
    assert_eq!(idx.header("cache-control"), Some("no-cache"));
    let idx = idx.json();
    assert_eq!(idx["first"], 1);
    assert_eq!(idx["latest"], 1);
    assert_eq!(idx["authority"], format!("{:08x}", d.id.0));

    let r = get(&s.url("/v1/bulletins/1"));
    assert_eq!(
        r.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    let etag = r.header("etag").unwrap().to_owned();
    assert_eq!(
        etag,
        format!("\"{}\"", idx["bulletins"][0]["sha256"].as_str().unwrap())
    );
    let b1 = Bulletin::verify_next(&r.body, &d, None, UnixTime(now())).unwrap();
    assert_eq!(b1.sequence, 1);
    assert!(b1.key_count() >= 256, "padded with decoys");
    let hex = |n: &[u8; 16]| data_encoding::HEXLOWER.encode(n);
    let ours: Vec<_> = b1
        .notices
        .iter()
        .filter(|n| nonces.contains(&hex(&n.nonce)))
        .collect();
    // One notice per check-in, with a segment per kind of code the venue uses.
    assert_eq!(ours.len(), 1);
    let hour = ours[0];
    assert_eq!(hour.segments[0].first.kind, EpochKind::SeededHour);
    // The hour segment publishes the seed of the venue-time secret of the visit's
    // epoch: expanded, it is the key the code showed.
    let epoch = codes[0].epoch().unwrap();
    let (i, _, entry) = hour.keys().find(|(_, e, _)| *e == epoch).unwrap();
    assert_eq!(entry.key.secret(epoch).public(), codes[0].venue_time_public);
    // Visitors of that hour can read the message.
    let body = hour.open_body(i, &codes[0].notice_secret).unwrap();
    assert_eq!(body.message_en, "Please get tested");

    // 304 on revalidation.
    let nm = request(
        "GET",
        &s.url("/v1/bulletins/1"),
        &[("If-None-Match", etag.as_str())],
        None,
    );
    assert_eq!(nm.status, 304);
    assert!(nm.body.is_empty());
    get(&s.url("/v1/bulletins/2")).assert_error(404, "not_found");
    get(&s.url("/v1/bulletins/zzz")).assert_error(404, "not_found");

    // A second bulletin extends the chain.
    assert_eq!(
        admin(&s, &ha.token, "POST", "/admin/v1/publish", None).json()["sequence"],
        2
    );
    let b2 = Bulletin::verify_next(
        &fetch_bulletin(&s, 2),
        &d,
        Some(&b1.chain_state()),
        UnixTime(now()),
    )
    .unwrap();
    assert!(
        b2.notices.iter().all(|n| !nonces.contains(&hex(&n.nonce))),
        "published once"
    );

    // The audit log names who did what, never envelope contents.
    let audit = admin(&s, &ha.token, "GET", "/admin/v1/audit", None);
    let text = String::from_utf8_lossy(&audit.body).to_string();
    for action in [
        "auth_code.issue",
        "review.approve",
        "review.reject",
        "bulletin.publish",
    ] {
        assert!(text.contains(action), "{action} missing from audit");
    }
    assert!(text.contains("alice"));
    assert!(!text.contains(&envs[0][..40]));
    assert!(!text.contains(&code));
}

#[test]
fn wrong_used_and_expired_codes_get_one_answer_and_lock_out() {
    let ha = Authority::new();
    // Insert an expired code directly (time cannot be advanced in the binary).
    let auth = quet_server::keystore::load(&ha.data()).unwrap();
    let expired = quet_server::codes::generate();
    let conn = quet_server::db::open(&quet_server::keystore::db_path(&ha.data())).unwrap();
    let h = quet_server::codes::code_hash(
        &auth.code_key,
        &quet_server::codes::normalize(&expired).unwrap(),
    );
    conn.execute("INSERT INTO auth_codes (hash, issued_hour, expires_at, report_since) VALUES (?1, 0, ?2, 0)", rusqlite::params![h, (now() - 10) as i64]).unwrap();
    drop(conn);

    let s = Server::start(
        &ha.data(),
        &[
            "--failures-before-lockout",
            "4",
            "--attempts-per-minute",
            "1000",
        ],
    );
    let d = descriptor(&s);
    let mut v = venue(3, &d, "Chợ Đồng Xuân");
    let (envs, _) = envelopes(&mut test_rng(2), &d, &mut v, 1);
    let good = issue_code(&s, &ha.token);
    assert_eq!(upload(&s, &good, &envs, false).status, 202);

    let wrong = quet_server::codes::generate();
    // Another body than the stored one (the same body would be a retry).
    let (envs, _) = envelopes(&mut test_rng(3), &d, &mut v, 1);
    let answers: Vec<Resp> = vec![
        upload(&s, &wrong, &envs, false),
        upload(&s, &good, &envs, false),
        upload(&s, &expired, &envs, false),
    ];
    for a in &answers {
        a.assert_error(401, "auth_code_invalid");
    }
    assert!(
        answers.windows(2).all(|w| w[0].body == w[1].body),
        "indistinguishable answers"
    );
    // The fourth failure (a preview) spends the address's wrong-code budget; from
    // then on its wrong codes get 429 with Retry-After.
    let preview = |code: &str| {
        post_json(
            &s.url("/v1/reports/preview"),
            &serde_json::json!({ "auth_code": code }),
        )
    };
    preview("0000-0000-0000-0000").assert_error(401, "auth_code_invalid");
    let locked = preview("0000-0000-0000-0000");
    locked.assert_error(429, "rate_limited");
    assert!(
        locked
            .header("retry-after")
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 0
    );
    // A valid code is never refused by that budget (others share the address).
    let fresh = issue_code(&s, &ha.token);
    assert_eq!(upload(&s, &fresh, &envs, false).status, 202);
    // Nothing was stored by the refused attempts: the two good uploads' reviews.
    assert_eq!(
        admin(&s, &ha.token, "GET", "/admin/v1/reviews", None)
            .json()
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn attempts_are_rate_limited_per_minute() {
    let ha = Authority::new();
    let s = Server::start(&ha.data(), &["--attempts-per-minute", "3"]);
    for _ in 0..3 {
        assert_eq!(
            post_json(
                &s.url("/v1/reports/preview"),
                &serde_json::json!({"auth_code": "x"})
            )
            .status,
            401
        );
    }
    post_json(
        &s.url("/v1/reports/preview"),
        &serde_json::json!({"auth_code": "x"}),
    )
    .assert_error(429, "rate_limited");
}

#[test]
fn two_concurrent_uploads_cannot_both_spend_a_code() {
    let ha = Authority::new();
    let s = Server::start(&ha.data(), RELAXED);
    let d = descriptor(&s);
    let mut v = venue(4, &d, "Bến xe Giáp Bát");
    for round in 0..5u8 {
        let code = issue_code(&s, &ha.token);
        // Two different bodies (the same body twice would be one upload and its retry).
        let bodies: Vec<Vec<String>> = (0..2u8)
            .map(|i| envelopes(&mut test_rng(10 + 2 * round + i), &d, &mut v, 1).0)
            .collect();
        let url = s.url("/v1/reports");
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
        let handles: Vec<_> = bodies
            .into_iter()
            .map(|envs| {
                let (code, url, barrier) = (code.clone(), url.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    post_json(
                        &url,
                        &serde_json::json!({"auth_code": code, "envelopes": envs}),
                    )
                    .status
                })
            })
            .collect();
        let mut statuses: Vec<u16> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        statuses.sort();
        assert!(
            statuses == vec![202, 401] || statuses == vec![202, 503],
            "round {round}: {statuses:?}"
        );
    }
    let n = admin(&s, &ha.token, "GET", "/admin/v1/reviews", None)
        .json()
        .as_array()
        .unwrap()
        .len();
    assert_eq!(n, 5, "exactly one upload per code stored");
}

#[test]
fn malformed_inputs_get_documented_errors_and_change_nothing() {
    let ha = Authority::new();
    let s = Server::start(&ha.data(), RELAXED);
    let d = descriptor(&s);
    let mut v = venue(5, &d, "Trường THPT");
    let code = issue_code(&s, &ha.token);
    let (envs, _) = envelopes(&mut test_rng(3), &d, &mut v, 1);
    let url = s.url("/v1/reports");
    let body = |envs: &[String]| {
        serde_json::to_vec(&serde_json::json!({"auth_code": code, "envelopes": envs})).unwrap()
    };

    request("POST", &url, &[], Some(("text/plain", body(&envs))))
        .assert_error(415, "unsupported_media_type");
    request("POST", &url, &[], None).assert_error(415, "unsupported_media_type");
    let full = body(&envs);
    request(
        "POST",
        &url,
        &[],
        Some(("application/json", full[..full.len() / 2].to_vec())),
    )
    .assert_error(400, "bad_request");
    request(
        "POST",
        &url,
        &[],
        Some(("application/json", b"{not json".to_vec())),
    )
    .assert_error(400, "bad_request");
    request(
        "POST",
        &url,
        &[],
        Some(("application/json", vec![b' '; 200 * 1024])),
    )
    .assert_error(413, "payload_too_large");
    request(
        "POST",
        &url,
        &[],
        Some(("application/json", body(&envs[..99]))),
    )
    .assert_error(400, "bad_request");
    let mut more = envs.clone();
    more.push(envs[1].clone());
    request("POST", &url, &[], Some(("application/json", body(&more))))
        .assert_error(400, "bad_request");
    let mut bad64 = envs.clone();
    bad64[5] = "!!!not base64!!!".into();
    request("POST", &url, &[], Some(("application/json", body(&bad64))))
        .assert_error(400, "bad_request");
    let mut short = envs.clone();
    short[3] = data_encoding::BASE64.encode(&vec![1u8; ENVELOPE_LEN - 1]);
    request("POST", &url, &[], Some(("application/json", body(&short))))
        .assert_error(422, "malformed_envelope");
    let mut version = envs.clone();
    version[3] = data_encoding::BASE64.encode(&vec![9u8; ENVELOPE_LEN]);
    request(
        "POST",
        &url,
        &[],
        Some(("application/json", body(&version))),
    )
    .assert_error(422, "malformed_envelope");
    let mut unknown = serde_json::json!({"auth_code": code, "envelopes": envs, "extra": 1});
    post_json(&url, &unknown).assert_error(400, "bad_request");
    unknown["envelopes"] = serde_json::json!("not a list");
    post_json(&url, &unknown).assert_error(400, "bad_request");

    // Nothing was stored and the code is still unspent.
    assert_eq!(
        admin(&s, &ha.token, "GET", "/admin/v1/reviews", None)
            .json()
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        post_json(
            &s.url("/v1/reports/preview"),
            &serde_json::json!({"auth_code": code})
        )
        .status,
        200
    );
    assert_eq!(upload(&s, &code, &envs, false).status, 202);

    // Admin endpoints: no token, wrong token.
    get(&s.url("/admin/v1/reviews")).assert_error(401, "unauthorized");
    admin(&s, "qst_wrong", "GET", "/admin/v1/reviews", None).assert_error(401, "unauthorized");
    admin(
        &s,
        &ha.token,
        "POST",
        "/admin/v1/reviews/1/approve",
        Some(serde_json::json!({"severity": "panic", "message_vi": "a", "message_en": "b"})),
    )
    .assert_error(400, "bad_request");
    get(&s.url("/nope")).assert_error(404, "not_found");
}

#[test]
fn chaff_answers_like_an_upload_and_stores_nothing() {
    let ha = Authority::new();
    let s = Server::start(&ha.data(), RELAXED);
    let d = descriptor(&s);
    let mut v = venue(6, &d, "Đám cưới");
    let code = issue_code(&s, &ha.token);
    let (envs, _) = envelopes(&mut test_rng(4), &d, &mut v, 1);
    let chaff = upload(&s, "anything at all", &envs, true);
    assert_eq!(chaff.status, 202);
    let chaff2 = upload(&s, &code, &envs, true);
    assert_eq!(chaff2.status, 202);
    assert_eq!(
        admin(&s, &ha.token, "GET", "/admin/v1/reviews", None)
            .json()
            .as_array()
            .unwrap()
            .len(),
        0
    );
    // The code was not spent by the chaff request that carried it.
    let real = upload(&s, &code, &envs, false);
    assert_eq!(real.status, 202);
    assert_eq!(real.body.len(), chaff.body.len());
    assert_eq!(real.header("content-type"), chaff.header("content-type"));
    assert_eq!(
        admin(&s, &ha.token, "GET", "/admin/v1/reviews", None)
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn venue_trace_from_tracing_sheet_and_withdrawal() {
    let ha = Authority::new();
    let s = Server::start(&ha.data(), RELAXED);
    let d = descriptor(&s);
    let v = venue(8, &d, "Bệnh viện");
    let t = now() - 3 * 3600;
    let req = serde_json::json!({"sheet": v.sheet, "start": t, "end": t + 3600, "max_stay_minutes": 60, "buffer_minutes": 0});
    let prev = admin(
        &s,
        &ha.token,
        "POST",
        "/admin/v1/traces/preview",
        Some(req.clone()),
    )
    .json();
    let epochs = prev["epochs"].as_array().unwrap();
    let hours: Vec<u64> = epochs
        .iter()
        .filter(|e| e["kind"] == "hour")
        .map(|e| e["index"].as_u64().unwrap())
        .collect();
    // Screen codes: one maximum stay before, plus the 120 s freshness slack each side.
    let first = (t - 3600 - 120) / 3600;
    assert_eq!(hours.first().copied(), Some(first));
    assert_eq!(hours.last().copied(), Some((t + 3600 + 120) / 3600));
    // A window reaching into the future is refused.
    let mut future = req.clone();
    future["end"] = (now() + 7200).into();
    admin(
        &s,
        &ha.token,
        "POST",
        "/admin/v1/traces/preview",
        Some(future),
    )
    .assert_error(400, "bad_request");

    let mut bad = req.clone();
    bad["sheet"] = "AAAA-BBBB".into();
    bad["severity"] = "test".into();
    bad["message_vi"] = "x".into();
    bad["message_en"] = "x".into();
    admin(&s, &ha.token, "POST", "/admin/v1/traces", Some(bad)).assert_error(400, "bad_request");

    let mut publish = req.clone();
    publish["severity"] = "isolate".into();
    publish["message_vi"] = "Cách ly".into();
    publish["message_en"] = "Isolate".into();
    let r = admin(&s, &ha.token, "POST", "/admin/v1/traces", Some(publish));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let nonces: Vec<String> = r.json()["notices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        admin(&s, &ha.token, "POST", "/admin/v1/publish", None).json()["sequence"],
        1
    );
    let b1 = Bulletin::verify_next(
        &get(&s.url("/v1/bulletins/1")).body,
        &d,
        None,
        UnixTime(now()),
    )
    .unwrap();
    let master = VenueMasterKey::from_sheet_text(&v.sheet).unwrap();
    let hour = b1
        .notices
        .iter()
        .find(|n| data_encoding::HEXLOWER.encode(&n.nonce) == nonces[0])
        .unwrap();
    let e0 = hour.segments[0].first;
    let dk = master.day_key(e0.day());
    assert_eq!(
        hour.segments[0].entries[0].key.secret(e0),
        dk.venue_time_secret(e0).unwrap()
    );

    // Withdraw the published notice: the next bulletin lists it.
    assert_eq!(
        admin(
            &s,
            &ha.token,
            "POST",
            &format!("/admin/v1/notices/{}/withdraw", nonces[0]),
            None
        )
        .status,
        204
    );
    admin(
        &s,
        &ha.token,
        "POST",
        &format!("/admin/v1/notices/{}/withdraw", nonces[0]),
        None,
    )
    .assert_error(409, "conflict");
    admin(
        &s,
        &ha.token,
        "POST",
        &format!("/admin/v1/notices/{}/withdraw", "00".repeat(16)),
        None,
    )
    .assert_error(404, "not_found");
    assert_eq!(
        admin(&s, &ha.token, "POST", "/admin/v1/publish", None).json()["sequence"],
        2
    );
    let b2 = Bulletin::verify_next(
        &get(&s.url("/v1/bulletins/2")).body,
        &d,
        Some(&b1.chain_state()),
        UnixTime(now()),
    )
    .unwrap();
    let w: Vec<String> = b2
        .withdrawn
        .iter()
        .map(|n| data_encoding::HEXLOWER.encode(n))
        .collect();
    assert_eq!(w, vec![nonces[0].clone()]);
    let _ = Epoch::containing(EpochKind::Hour, UnixTime(t));
}

#[test]
fn heartbeats_count_distinct_venues_per_day_category_district() {
    let ha = Authority::new();
    // Districts come from the authority's own list.
    let list = ha.dir.path().join("districts.txt");
    std::fs::write(&list, "Hoàn Kiếm\n").unwrap();
    let data = ha.data();
    cli(&[
        "districts",
        "import",
        list.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ]);
    let s = Server::start(&ha.data(), RELAXED);
    let today = now() / 86_400;
    let hb = |p: &str, day: u64, cat: &str| {
        post_json(
            &s.url("/v1/heartbeats"),
            &serde_json::json!({"day": day, "pseudonym": p, "category": cat, "district": "Hoàn Kiếm"}),
        )
    };
    let p1 = "11".repeat(16);
    let p2 = "22".repeat(16);
    assert_eq!(hb(&p1, today, "restaurant").status, 204);
    assert_eq!(hb(&p1, today, "restaurant").status, 204);
    assert_eq!(hb(&p2, today, "restaurant").status, 204);
    assert_eq!(hb(&p2, today - 1, "restaurant").status, 204);
    // (Another pseudonym: each may send only a few heartbeats an hour.)
    let p3 = "33".repeat(16);
    hb(&p3, today - 2, "restaurant").assert_error(400, "bad_request");
    hb(&p3, today + 1, "restaurant").assert_error(400, "bad_request");
    hb("zz", today, "restaurant").assert_error(400, "bad_request");
    hb(&p3, today, "spaceport").assert_error(400, "bad_request");
    let stats = admin(&s, &ha.token, "GET", "/admin/v1/stats/venues", None).json();
    let rows = stats.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["day"], today);
    assert_eq!(rows[0]["active_venues"], 2);
    assert_eq!(rows[1]["active_venues"], 1);
    let page = admin(&s, &ha.token, "GET", "/console/stats", None);
    assert_eq!(page.status, 200);
    assert!(String::from_utf8_lossy(&page.body).contains("Hoàn Kiếm"));
}

#[test]
fn health_metrics_and_openapi_cover_every_route() {
    let ha = Authority::new();
    let s = Server::start(&ha.data(), RELAXED);
    assert_eq!(get(&s.url("/healthz")).body, b"ok");
    assert_eq!(get(&s.url("/readyz")).status, 200);
    // No metrics token configured: /metrics is not public (tests/open_internet.rs).
    get(&s.url("/metrics")).assert_error(404, "not_found");
    let doc = get(&s.url("/openapi.json")).json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for (method, path) in quet_server::api::ROUTES {
        let op = &doc["paths"][*path][*method];
        assert!(op.is_object(), "{method} {path} missing from openapi.json");
        assert!(
            op["responses"].is_object(),
            "{method} {path} has no responses"
        );
    }
    // And nothing documented that the server does not route.
    let documented: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p.as_object().unwrap().len())
        .sum();
    assert_eq!(documented, quet_server::api::ROUTES.len());
}

#[test]
fn init_refuses_to_overwrite_and_keys_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let ha = Authority::new();
    let out = std::process::Command::new(BIN)
        .args(["init", "--data", ha.data().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing to overwrite"));
    for f in ["signing-1.key", "capsule-1.key", "code-hash.key"] {
        let mode = std::fs::metadata(ha.data().join("keys").join(f))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{f}");
    }
    // The staff token is stored only hashed.
    let db = std::fs::read(ha.data().join("quet.db")).unwrap();
    let needle = ha.token.as_bytes();
    assert!(!db.windows(needle.len()).any(|w| w == needle));
}

#[test]
fn key_rotation_announces_before_use_and_old_bulletins_still_verify() {
    let ha = Authority::new();
    let data = ha.data();
    let data_s = data.to_str().unwrap();
    let mut s = Server::start(&data, RELAXED);
    let d1 = descriptor(&s);
    assert_eq!(
        admin(&s, &ha.token, "POST", "/admin/v1/publish", None).json()["sequence"],
        1
    );
    let b1_bytes = get(&s.url("/v1/bulletins/1")).body;
    s.kill();

    // Announce: the descriptor lists key 2 but still signs with key 1.
    assert!(cli(&["keys", "announce", "--data", data_s]).contains("announced signing key 2"));
    let mut s = Server::start(&data, RELAXED);
    let d2 = d1
        .verify_update(&get(&s.url("/v1/descriptor")).body)
        .unwrap();
    assert_eq!(d2.signing_keys.len(), 2);
    assert_eq!(d2.current_signing_key, 1);
    assert_eq!(
        admin(&s, &ha.token, "POST", "/admin/v1/publish", None).json()["sequence"],
        2
    );
    let b2 =
        Bulletin::decode_and_verify_signature(&get(&s.url("/v1/bulletins/2")).body, &d2).unwrap();
    assert_eq!(b2.key_id, 1);
    s.kill();

    // Activate: signed by the old key, so a phone pinned to d2 accepts it.
    cli(&["keys", "activate", "--data", data_s, "--key-id", "2"]);
    let s = Server::start(&data, RELAXED);
    let d3 = d2
        .verify_update(&get(&s.url("/v1/descriptor")).body)
        .unwrap();
    assert_eq!(d3.current_signing_key, 2);
    assert_eq!(
        admin(&s, &ha.token, "POST", "/admin/v1/publish", None).json()["sequence"],
        3
    );
    let b1 = Bulletin::verify_next(&b1_bytes, &d3, None, UnixTime(now())).unwrap();
    assert_eq!(b1.key_id, 1);
    let b2 = Bulletin::verify_next(
        &get(&s.url("/v1/bulletins/2")).body,
        &d3,
        Some(&b1.chain_state()),
        UnixTime(now()),
    )
    .unwrap();
    let b3 = Bulletin::verify_next(
        &get(&s.url("/v1/bulletins/3")).body,
        &d3,
        Some(&b2.chain_state()),
        UnixTime(now()),
    )
    .unwrap();
    assert_eq!(b3.key_id, 2);
}

#[test]
fn concurrent_uploads_beyond_the_bound_get_busy_and_change_nothing() {
    let ha = Authority::new();
    let s = Server::start(
        &ha.data(),
        &[
            "--attempts-per-minute",
            "1000",
            "--max-concurrent-uploads",
            "1",
        ],
    );
    let d = descriptor(&s);
    let mut v = venue(12, &d, "Nhà thờ");
    let mut busy_seen = false;
    let mut accepted = 0;
    for round in 0..5u8 {
        let jobs: Vec<(String, Vec<String>)> = (0..6u8)
            .map(|i| {
                (
                    issue_code(&s, &ha.token),
                    envelopes(&mut test_rng(50 + round * 8 + i), &d, &mut v, 1).0,
                )
            })
            .collect();
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(jobs.len()));
        let handles: Vec<_> = jobs
            .into_iter()
            .map(|(code, envs)| {
                let (url, barrier) = (s.url("/v1/reports"), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    let r = post_json(
                        &url,
                        &serde_json::json!({"auth_code": code, "envelopes": envs}),
                    );
                    (
                        r.status,
                        r.json()["error"].as_str().map(str::to_owned),
                        code,
                        envs,
                    )
                })
            })
            .collect();
        for h in handles {
            let (status, kind, code, envs) = h.join().unwrap();
            match status {
                202 => accepted += 1,
                503 => {
                    assert_eq!(kind.as_deref(), Some("busy"));
                    busy_seen = true;
                    // The refused upload did not spend its code.
                    assert!(wait_until(
                        || upload(&s, &code, &envs, false).status == 202,
                        10
                    ));
                    accepted += 1;
                }
                other => panic!("unexpected {other}"),
            }
        }
        if busy_seen {
            break;
        }
    }
    assert!(
        busy_seen,
        "six simultaneous uploads never exceeded one slot"
    );
    let stored = admin(&s, &ha.token, "GET", "/admin/v1/reviews", None)
        .json()
        .as_array()
        .unwrap()
        .len();
    assert_eq!(stored, accepted);
}

#[test]
fn console_login_review_page_and_escaping() {
    let ha = Authority::new();
    let s = Server::start(&ha.data(), RELAXED);
    let d = descriptor(&s);
    let mut v = venue(13, &d, "<b>Quán</b> & Co");
    let code = issue_code(&s, &ha.token);
    assert_eq!(
        upload(
            &s,
            &code,
            &envelopes(&mut test_rng(77), &d, &mut v, 1).0,
            false
        )
        .status,
        202
    );

    let bad = request(
        "POST",
        &s.url("/console/login"),
        &[],
        Some((
            "application/x-www-form-urlencoded",
            b"token=qst_nope".to_vec(),
        )),
    );
    assert_eq!(bad.status, 401);
    let login = format!("token={}", ha.token);
    let ok = request(
        "POST",
        &s.url("/console/login"),
        &[],
        Some(("application/x-www-form-urlencoded", login.into_bytes())),
    );
    assert_eq!(ok.status, 303);
    let set = ok.header("set-cookie").unwrap();
    assert!(set.starts_with(&format!("quet_staff={}", ha.token)));
    assert!(
        set.contains("HttpOnly")
            && set.contains("SameSite=Strict")
            && set.contains("Path=/console")
    );
    let cookie = format!("quet_staff={}", ha.token);
    let page = request(
        "GET",
        &s.url("/console/reviews"),
        &[("Cookie", cookie.as_str())],
        None,
    );
    assert_eq!(page.status, 200);
    let html = String::from_utf8(page.body).unwrap();
    assert!(html.contains("&lt;b&gt;Quán&lt;/b&gt; &amp; Co"));
    assert!(!html.contains("<b>Quán</b>"));
    get(&s.url("/console/reviews")).assert_error(401, "unauthorized");
}

#[test]
fn sigterm_shuts_down_gracefully() {
    let ha = Authority::new();
    let mut s = Server::start(&ha.data(), &[]);
    assert_eq!(get(&s.url("/healthz")).status, 200);
    let pid = s.child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let mut exited = None;
    assert!(wait_until(
        || {
            exited = s.child.try_wait().unwrap();
            exited.is_some()
        },
        10
    ));
    assert!(exited.unwrap().success(), "clean exit on SIGTERM");
    assert!(try_request("GET", &s.url("/healthz"), &[], None).is_none());
}

#[test]
fn scheduler_publishes_queued_notices_by_itself() {
    let ha = Authority::new();
    let s = Server::start(&ha.data(), &["--publish-interval", "1"]);
    let d = descriptor(&s);
    // A bare POST issues a code with the defaults.
    let bare = admin(&s, &ha.token, "POST", "/admin/v1/auth-codes", None);
    assert_eq!(bare.status, 200);
    assert!(bare.json()["expires_at"].as_u64().unwrap() >= now() + 23 * 3600);
    // Nothing queued: nothing published.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    assert_eq!(get(&s.url("/v1/bulletins/index.json")).json()["latest"], 0);
    let v = venue(14, &d, "Chợ");
    let t = now() - 3600;
    let trace = serde_json::json!({"sheet": v.sheet, "start": t, "end": t + 600, "max_stay_minutes": 30,
        "severity": "monitor", "message_vi": "Theo dõi", "message_en": "Monitor"});
    assert_eq!(
        admin(&s, &ha.token, "POST", "/admin/v1/traces", Some(trace)).status,
        200
    );
    assert!(wait_until(
        || get(&s.url("/v1/bulletins/index.json")).json()["latest"] == 1,
        10
    ));
    let b = Bulletin::verify_next(
        &get(&s.url("/v1/bulletins/1")).body,
        &d,
        None,
        UnixTime(now()),
    )
    .unwrap();
    assert!(b.key_count() >= 256);
    let audit =
        String::from_utf8(admin(&s, &ha.token, "GET", "/admin/v1/audit", None).body).unwrap();
    assert!(audit.contains("scheduler"));
}

#[test]
fn a_stalled_upload_body_times_out_and_changes_nothing() {
    use std::io::{Read, Write};
    let ha = Authority::new();
    let s = Server::start(&ha.data(), &["--request-timeout", "1"]);
    let code = issue_code(&s, &ha.token);
    let addr = s.base.trim_start_matches("http://").to_owned();
    let mut tcp = std::net::TcpStream::connect(&addr).unwrap();
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let head = format!(
        "POST /v1/reports HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{{\"auth_code\":\"{code}\""
    );
    tcp.write_all(head.as_bytes()).unwrap();
    let started = std::time::Instant::now();
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    while let Ok(n) = tcp.read(&mut buf) {
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
        if answer.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 503"), "{text}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // The code is still unspent.
    assert_eq!(
        post_json(
            &s.url("/v1/reports/preview"),
            &serde_json::json!({"auth_code": code})
        )
        .status,
        200
    );
}
