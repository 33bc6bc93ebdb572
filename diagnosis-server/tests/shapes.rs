//! The server's shapes, against the real binary: every error is JSON (framework
//! rejections and timeouts included), the OpenAPI document lists every status the
//! server answers on every route and allows no unlisted properties, bulletin URLs
//! are canonical, the database and data directory are private, logs never carry
//! query strings, and responses carry `nosniff` (and HSTS when clients come over
//! TLS).

mod common;
mod wire;

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;

use common::*;
use wire::*;

fn concrete(path: &str) -> String {
    path.replace("{sequence}", "1")
        .replace("{id}", "999999")
        .replace("{nonce}", &"00".repeat(16))
}

fn with_bad_parameter(path: &str) -> Option<String> {
    if path.contains('{') {
        Some(
            path.replace("{sequence}", "01")
                .replace("{id}", "abc")
                .replace("{nonce}", "not-hex"),
        )
    } else {
        None
    }
}

/// Asserts an error answer is `{"error": kind, "message": text}` and nothing else.
fn assert_json_error(what: &str, r: &Resp) {
    let j: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_else(|_| {
        panic!(
            "{what}: {} is not JSON: {:?} ({:?})",
            r.status,
            String::from_utf8_lossy(&r.body),
            r.header("content-type")
        )
    });
    let obj = j.as_object().unwrap_or_else(|| panic!("{what}: {j}"));
    let keys: BTreeSet<&str> = obj.keys().map(String::as_str).collect();
    assert_eq!(keys, BTreeSet::from(["error", "message"]), "{what}: {j}");
    assert!(j["error"].as_str().is_some_and(|k| !k.is_empty()), "{what}");
    assert!(
        j["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}"
    );
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "{what}"
    );
}

#[test]
fn every_answer_is_documented_and_every_error_is_json() {
    let ha = Authority::new();
    let s = Server::start(&ha.data(), &[]);
    let doc = get(&s.url("/openapi.json")).json();
    let bearer = format!("Bearer {}", ha.token);
    let mut undocumented = Vec::new();
    for (method, path) in quet_server::api::ROUTES {
        let url = s.url(&concrete(path));
        let m = method.to_uppercase();
        let auth: &[(&str, &str)] = &[("Authorization", bearer.as_str())];
        let mut answers: Vec<(String, Resp)> = vec![
            ("no auth".into(), request(&m, &url, &[], None)),
            ("staff token".into(), request(&m, &url, auth, None)),
        ];
        if *method == "post" {
            // Just over the route's limit (a moderately oversized body is read and
            // answered 413; a huge one is cut off).
            let limit = if *path == "/v1/reports" {
                quet_server::api::REPORT_BODY_LIMIT
            } else {
                quet_server::api::SMALL_BODY_LIMIT
            };
            let big = vec![b' '; limit + 1024];
            for (label, ct, body) in [
                ("{}", "application/json", b"{}".to_vec()),
                (
                    "unknown field",
                    "application/json",
                    br#"{"zzz": 1}"#.to_vec(),
                ),
                ("malformed", "application/json", b"{not json".to_vec()),
                ("text/plain", "text/plain", b"hello".to_vec()),
                ("form", "application/x-www-form-urlencoded", b"a=b".to_vec()),
                ("oversized", "application/json", big),
            ] {
                let r = try_request(&m, &url, auth, Some((ct, body)))
                    .unwrap_or_else(|| panic!("{m} {path} ({label}): no answer"));
                answers.push((label.into(), r));
            }
        }
        let wrong = if *method == "get" { "POST" } else { "GET" };
        let r = request(wrong, &url, auth, None);
        assert_eq!(r.status, 405, "{wrong} {path}");
        assert!(r.header("allow").is_some(), "{wrong} {path}: Allow header");
        answers.push(("wrong method".into(), r));
        if let Some(bad) = with_bad_parameter(path) {
            answers.push((
                "bad parameter".into(),
                request(&m, &s.url(&bad), auth, None),
            ));
        }
        let documented = &doc["paths"][*path][*method]["responses"];
        for (label, r) in &answers {
            let what = format!("{m} {path} ({label})");
            if r.status >= 400 {
                let html = r
                    .header("content-type")
                    .is_some_and(|c| c.starts_with("text/html"));
                // Console pages may answer a person with an HTML page.
                if !(html && path.starts_with("/console/")) {
                    assert_json_error(&what, r);
                }
            }
            if documented.get(r.status.to_string()).is_none() {
                undocumented.push(format!("{what} -> {}", r.status));
            }
        }
    }
    assert!(
        undocumented.is_empty(),
        "answers missing from openapi.json:\n{}",
        undocumented.join("\n")
    );
}

#[test]
fn the_openapi_document_is_closed_and_lists_errors_everywhere() {
    let doc: serde_json::Value = serde_json::from_str(quet_server::api::public::OPENAPI).unwrap();
    fn walk(v: &serde_json::Value, at: &str, open: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(o) => {
                let is_object_schema = o.get("type") == Some(&serde_json::json!("object"))
                    || o.contains_key("properties");
                if is_object_schema
                    && o.get("additionalProperties") != Some(&serde_json::json!(false))
                {
                    open.push(at.to_owned());
                }
                for (k, child) in o {
                    walk(child, &format!("{at}/{k}"), open);
                }
            }
            serde_json::Value::Array(a) => {
                for (i, child) in a.iter().enumerate() {
                    walk(child, &format!("{at}/{i}"), open);
                }
            }
            _ => {}
        }
    }
    let mut open = Vec::new();
    walk(&doc, "#", &mut open);
    assert!(
        open.is_empty(),
        "object schemas without additionalProperties: false: {open:#?}"
    );
    // Every operation lists 405 and 503, and each error answer is the Error shape.
    let error_ref = serde_json::json!({"$ref": "#/components/responses/Error"});
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            for must in ["405", "503"] {
                assert!(responses.contains_key(must), "{method} {path} lacks {must}");
            }
            for (status, r) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    assert_eq!(r, &error_ref, "{method} {path} {status}");
                }
            }
        }
    }
    let error = &doc["components"]["responses"]["Error"]["content"]["application/json"]["schema"];
    assert_eq!(error["additionalProperties"], false);
    assert_eq!(error["required"], serde_json::json!(["error", "message"]));
}

#[test]
fn timeouts_and_framework_rejections_answer_json() {
    use std::io::Write;
    let ha = Authority::new();
    let s = Server::start(
        &ha.data(),
        &["--request-timeout", "1", "--body-timeout", "10"],
    );
    // A body that stalls past the whole-request limit: 503 timeout, as JSON.
    let mut c = connect_from(other_client(1), addr_of(&s.base));
    c.write_all(
        b"POST /v1/reports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{",
    )
    .unwrap();
    let a = read_answer(&mut c, std::time::Duration::from_secs(5)).expect("an answer");
    assert_eq!(a.status, 503);
    assert_eq!(a.json()["error"], "timeout");
    // Path parameters that do not parse, a form that does not decode, a method the
    // path does not have: all JSON.
    let bearer = format!("Bearer {}", ha.token);
    let r = request(
        "POST",
        &s.url("/admin/v1/reviews/abc/reject"),
        &[("Authorization", bearer.as_str())],
        None,
    );
    assert_eq!(r.status, 400);
    assert_json_error("bad id", &r);
    let r = request(
        "POST",
        &s.url("/console/reviews/1/approve"),
        &[("Authorization", bearer.as_str())],
        Some((
            "application/x-www-form-urlencoded",
            b"severity=test".to_vec(),
        )),
    );
    assert!(r.status == 400 || r.status == 422, "{}", r.status);
    assert_json_error("form", &r);
    let r = request("DELETE", &s.url("/v1/descriptor"), &[], None);
    assert_eq!(r.status, 405);
    assert_json_error("405", &r);
}

#[test]
fn bulletin_urls_are_canonical() {
    let ha = Authority::new();
    let s = Server::start(&ha.data(), &[]);
    assert_eq!(
        admin(&s, &ha.token, "POST", "/admin/v1/publish", None).json()["sequence"],
        1
    );
    assert_eq!(get(&s.url("/v1/bulletins/1")).status, 200);
    for spelling in [
        "01",
        "+1",
        "%31",
        "%2B1",
        "1.0",
        "1%20",
        "0",
        "-1",
        "1e0",
        "00000000000000000001",
        "18446744073709551617",
    ] {
        let r = get(&s.url(&format!("/v1/bulletins/{spelling}")));
        assert_eq!(r.status, 404, "/v1/bulletins/{spelling}");
        assert_json_error(spelling, &r);
    }
    assert_eq!(get(&s.url("/v1/bulletins/1/")).status, 404);
}

fn mode(p: &std::path::Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn the_database_and_data_directory_are_private() {
    let ha = Authority::new();
    let data = ha.data();
    let db = data.join("quet.db");
    assert_eq!(mode(&data), 0o700, "data directory after init");
    assert_eq!(mode(&db), 0o600, "database after init");
    // Loosened by hand (a restore, a careless copy): tightened again at start.
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let s = Server::start(&data, &[]);
    let _code = issue_code(&s, &ha.token);
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&db), 0o600);
    for side in ["quet.db-wal", "quet.db-shm"] {
        let p = data.join(side);
        assert!(p.exists(), "{side} exists while running (WAL)");
        assert_eq!(mode(&p), 0o600, "{side}");
    }
}

#[test]
fn logs_never_carry_query_strings() {
    let ha = Authority::new();
    for level in ["debug", "trace"] {
        let log = ha.dir.path().join(format!("{level}.log"));
        let code = {
            let s = Server::start(&ha.data(), &[]);
            issue_code(&s, &ha.token)
        };
        let mut s = Spawned::start(&[], &ha.data(), &[], &[("QUET_LOG", level)], Some(&log));
        for (m, path) in [
            ("GET", "/v1/descriptor?secret=SECRETQUERY1"),
            ("GET", "/nope?x=SECRETQUERY2"),
            ("GET", "/openapi.json?SECRETQUERY3"),
        ] {
            request(m, &s.url(path), &[], None);
        }
        let body = serde_json::json!({ "auth_code": code });
        request(
            "POST",
            &s.url("/v1/reports/preview?code=SECRETQUERY4"),
            &[],
            Some(("application/json", serde_json::to_vec(&body).unwrap())),
        );
        s.stop();
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(
            text.contains("/v1/reports/preview"),
            "{level} logging ran: {text}"
        );
        assert!(
            !text.contains("SECRETQUERY"),
            "{level}: a query string was logged"
        );
        assert!(
            !text.contains(&code),
            "{level}: an authorization code was logged"
        );
    }
}

#[test]
fn nosniff_always_and_hsts_only_over_tls() {
    // The default test authority's public URL is https.
    let ha = Authority::new();
    let s = Server::start(&ha.data(), &[]);
    for path in ["/healthz", "/v1/descriptor", "/nope"] {
        let r = get(&s.url(path));
        assert_eq!(
            r.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(
            r.header("strict-transport-security"),
            Some("max-age=31536000"),
            "{path}"
        );
    }
    drop(s);
    // An authority served over plain http (loopback only, for tests): no HSTS.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ha");
    cli(&[
        "init",
        "--data",
        data.to_str().unwrap(),
        "--base-url",
        "http://127.0.0.1:9",
    ]);
    let s = Server::start(&data, &[]);
    let r = get(&s.url("/healthz"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(r.header("strict-transport-security"), None);
    drop(s);
    // Behind a TLS proxy whatever the URL says: the flag.
    let s = Server::start(&data, &["--https", "true"]);
    assert!(
        get(&s.url("/healthz"))
            .header("strict-transport-security")
            .is_some()
    );
}
