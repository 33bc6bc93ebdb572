//! Chaff previews against the real `quet-server` binary: what a network observer
//! could compare (status, body size, headers) is the same for a real and a chaff
//! preview; chaff stores nothing, checks no code and never counts towards the
//! wrong-code lockout, but it does spend the ordinary per-address rate limit, so
//! it cannot be used to flood. (Chaff uploads: `tests/api.rs`,
//! `chaff_answers_like_an_upload_and_stores_nothing`.)

mod common;

use common::*;

fn preview(s: &Server, code: &str, chaff: bool) -> Resp {
    post_json(
        &s.url("/v1/reports/preview"),
        &serde_json::json!({"auth_code": code, "chaff": chaff}),
    )
}

/// The headers an observer's TLS record sizes depend on, minus the clock.
fn header_shape(r: &Resp) -> Vec<(String, usize)> {
    let mut h: Vec<(String, usize)> = r
        .headers
        .iter()
        .filter(|(k, _)| k != "date")
        .map(|(k, v)| (k.clone(), v.len()))
        .collect();
    h.sort();
    h
}

#[test]
fn a_chaff_preview_answers_like_a_real_one_and_spends_no_lockout() {
    let ha = Authority::new();
    // Two wrong codes lock an address out; chaff must not bring it closer.
    let s = Server::start(
        &ha.data(),
        &[
            "--attempts-per-minute",
            "1000",
            "--failures-before-lockout",
            "2",
        ],
    );
    let code = issue_code(&s, &ha.token);
    let real = preview(&s, &code, false);
    assert_eq!(real.status, 200, "{}", String::from_utf8_lossy(&real.body));
    let window = real.json();

    // Chaff with anything as its code: a wrong code, a garbage string, even the
    // live code. Every one is a 200 of the real answer's exact size and headers.
    let wrong = quet_server::codes::generate();
    for c in [wrong.as_str(), "not a code", "", code.as_str()] {
        for _ in 0..3 {
            let chaff = preview(&s, c, true);
            assert_eq!(chaff.status, 200, "chaff with {c:?}");
            assert_eq!(chaff.body.len(), real.body.len(), "chaff with {c:?}");
            assert_eq!(header_shape(&chaff), header_shape(&real));
            let j = chaff.json();
            let mut keys: Vec<_> = j.as_object().unwrap().keys().collect();
            keys.sort();
            assert_eq!(keys, ["expires_at", "report_since"]);
            // A plausible window: today's defaults (14 days back, the code lifetime ahead).
            let since = j["report_since"].as_u64().unwrap();
            let expires = j["expires_at"].as_u64().unwrap();
            assert!(since.abs_diff(now() - 14 * 86_400) < 120, "{j}");
            assert!(expires.abs_diff(now() + 24 * 3600) < 120, "{j}");
        }
    }

    // Twelve chaff previews later the address has its whole wrong-code budget:
    // two wrong codes answer 401, only the third is refused.
    preview(&s, &wrong, false).assert_error(401, "auth_code_invalid");
    preview(&s, &wrong, false).assert_error(401, "auth_code_invalid");
    preview(&s, &wrong, false).assert_error(429, "rate_limited");
    // Chaff is still answered from a locked-out address (it checks no code)...
    assert_eq!(preview(&s, &wrong, true).status, 200);
    // ... and the real code was neither spent nor changed by any of it.
    let again = preview(&s, &code, false);
    assert_eq!(again.status, 200);
    assert_eq!(again.json(), window);
    // Nothing stored: no review.
    let reviews = admin(&s, &ha.token, "GET", "/admin/v1/reviews", None).json();
    assert_eq!(reviews.as_array().unwrap().len(), 0, "{reviews}");
}

#[test]
fn chaff_previews_spend_the_per_address_rate_limit() {
    let ha = Authority::new();
    let s = Server::start(&ha.data(), &["--attempts-per-minute", "3"]);
    for _ in 0..3 {
        assert_eq!(preview(&s, "x", true).status, 200);
    }
    let r = preview(&s, "x", true);
    r.assert_error(429, "rate_limited");
    assert!(r.header("retry-after").is_some());
}

#[test]
fn a_chaff_preview_is_bounded_like_any_preview() {
    let ha = Authority::new();
    let s = Server::start(&ha.data(), &["--attempts-per-minute", "1000"]);
    // Over the small-body limit: 413, with chaff as with a real code.
    let huge = "A".repeat(20 * 1024);
    preview(&s, &huge, true).assert_error(413, "payload_too_large");
    // Unknown fields and a chaff flag that is not a boolean are refused.
    post_json(
        &s.url("/v1/reports/preview"),
        &serde_json::json!({"auth_code": "x", "chaff": true, "more": 1}),
    )
    .assert_error(400, "bad_request");
    post_json(
        &s.url("/v1/reports/preview"),
        &serde_json::json!({"auth_code": "x", "chaff": "yes"}),
    )
    .assert_error(400, "bad_request");
}
