//! What a province's real traffic does to `quet-server`, against the real binary:
//! thousands of phones behind one carrier address (one client's wrong codes or
//! heartbeats must not lock out the others), clients behind a trusted proxy, idle
//! and slow clients (header, keep-alive and body deadlines; connection caps below
//! the open-file limit), lost answers (idempotent upload), public metrics, publish
//! floods, and heartbeats that invent districts or venues.
//!
//! 127.0.0.1 is one client; `wire::other_client(n)` (127.0.0.n) is another. Every
//! loop here is bounded and every wait is seconds.

mod common;
mod wire;

use std::io::Write;
use std::time::{Duration, Instant};

use common::*;
use quet_protocol::authority::AuthorityDescriptor;
use quet_protocol::envelope::ReportEnvelope;
use quet_protocol::testing::test_rng;
use wire::*;

fn preview_json(code: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "auth_code": code })).unwrap()
}

fn preview_from(s: &Server, from: u8, code: &str, headers: &[(&str, &str)]) -> Answer {
    request_from(
        other_client(from),
        addr_of(&s.base),
        "POST",
        "/v1/reports/preview",
        headers,
        Some(("application/json", &preview_json(code))),
    )
}

fn import_districts(ha: &Authority, names: &str) {
    let file = ha.dir.path().join("districts.txt");
    std::fs::write(&file, names).unwrap();
    let out = cli(&[
        "districts",
        "import",
        file.to_str().unwrap(),
        "--data",
        ha.data().to_str().unwrap(),
    ]);
    assert!(out.contains("districts imported"), "{out}");
}

fn heartbeat_body(pseudonym: &str, district: &str) -> serde_json::Value {
    serde_json::json!({"day": now() / 86_400, "pseudonym": pseudonym, "category": "hospital", "district": district})
}

#[test]
fn one_clients_wrong_codes_do_not_lock_out_others_behind_the_same_address() {
    let ha = Authority::new();
    let s = Server::start(&ha.data(), &["--failures-before-lockout", "3"]);
    let d = descriptor(&s);
    let mut v = venue(21, &d, "Bệnh viện Bạch Mai");
    let valid = issue_code(&s, &ha.token);
    // Someone behind the carrier's address keeps typing wrong codes.
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let r = preview_from(&s, 1, &quet_server::codes::generate(), &[]);
        assert!(r.json()["error"].is_string());
        statuses.push(r.status);
        if r.status == 429 {
            assert!(r.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
        }
    }
    assert_eq!(&statuses[..3], &[401, 401, 401]);
    assert!(statuses[3..].iter().all(|&st| st == 429), "{statuses:?}");
    // A patient behind the same address, with the code the HA gave them, is served.
    assert_eq!(preview_from(&s, 1, &valid, &[]).status, 200);
    let (envs, _) = envelopes(&mut test_rng(21), &d, &mut v, 1);
    let r = upload(&s, &valid, &envs, false);
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    // The wrong-code budget belongs to the address that spent it.
    assert_eq!(
        preview_from(&s, 2, &quet_server::codes::generate(), &[]).status,
        401
    );
}

#[test]
fn heartbeats_do_not_use_up_a_patients_attempts() {
    let ha = Authority::new();
    import_districts(&ha, "Đống Đa\n");
    let s = Server::start(&ha.data(), &["--attempts-per-minute", "3"]);
    for i in 0..30u8 {
        let p = format!("{i:02x}").repeat(16);
        let r = post_json(&s.url("/v1/heartbeats"), &heartbeat_body(&p, "Đống Đa"));
        assert_eq!(r.status, 204, "{}", String::from_utf8_lossy(&r.body));
    }
    let code = issue_code(&s, &ha.token);
    assert_eq!(
        post_json(
            &s.url("/v1/reports/preview"),
            &serde_json::json!({ "auth_code": code })
        )
        .status,
        200
    );
}

#[test]
fn a_trusted_proxy_names_the_client_and_anyone_else_cannot() {
    let ha = Authority::new();
    let s = Server::start(
        &ha.data(),
        &[
            "--attempts-per-minute",
            "2",
            "--trusted-proxy",
            "127.0.0.1/32",
        ],
    );
    let wrong = "0000-0000-0000-0000";
    // Through the proxy (127.0.0.1): each forwarded client has its own budget.
    let via = |client: &str| {
        let xff = format!("203.0.113.50, {client}");
        preview_from(&s, 1, wrong, &[("X-Forwarded-For", xff.as_str())]).status
    };
    assert_eq!([via("198.51.100.1"), via("198.51.100.1")], [401, 401]);
    assert_eq!(via("198.51.100.1"), 429);
    assert_eq!(via("198.51.100.2"), 401, "another client behind the proxy");
    let fwd = |client: &str| {
        let f = format!("for=\"{client}:4711\";proto=https");
        preview_from(&s, 1, wrong, &[("Forwarded", f.as_str())]).status
    };
    assert_eq!(fwd("198.51.100.2"), 401);
    assert_eq!(fwd("198.51.100.2"), 429, "Forwarded names the same client");
    // From an untrusted peer the headers are ignored: 127.0.0.7 is one client
    // whatever it claims.
    let spoof = |claim: &str| preview_from(&s, 7, wrong, &[("X-Forwarded-For", claim)]).status;
    assert_eq!([spoof("192.0.2.1"), spoof("192.0.2.2")], [401, 401]);
    assert_eq!(spoof("192.0.2.3"), 429);
}

#[test]
fn idle_slow_and_keep_alive_connections_are_closed_and_healthz_still_answers() {
    let ha = Authority::new();
    let s = Server::start(
        &ha.data(),
        &[
            "--header-timeout",
            "1",
            "--max-connections-per-address",
            "40",
        ],
    );
    let server = addr_of(&s.base);
    // 60 idle sockets from one machine: 40 are held, the rest closed at once.
    let mut idle: Vec<_> = (0..60)
        .map(|_| connect_from(other_client(1), server))
        .collect();
    std::thread::sleep(Duration::from_millis(150));
    let refused = idle
        .iter_mut()
        .map(|c| closed_within(c, Duration::from_millis(5)))
        .filter(|&closed| closed)
        .count();
    assert_eq!(
        refused, 20,
        "the connections over the per-address cap are closed at once"
    );
    // Another client is served meanwhile.
    let started = Instant::now();
    let r = request_from(other_client(2), server, "GET", "/healthz", &[], None);
    assert_eq!(r.status, 200);
    assert!(started.elapsed() < Duration::from_secs(1));
    // Slow headers: a byte every 200 ms, never finishing.
    let mut slow = connect_from(other_client(3), server);
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let started = Instant::now();
    let mut slow_closed = false;
    for _ in 0..20 {
        if slow.write_all(b"X").is_err() || closed_within(&mut slow, Duration::from_millis(200)) {
            slow_closed = true;
            break;
        }
    }
    assert!(slow_closed, "slow headers were not cut off");
    assert!(started.elapsed() < Duration::from_secs(3));
    // Keep-alive: after one answer, an idle connection is closed too.
    let mut ka = connect_from(other_client(4), server);
    ka.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(
        read_answer(&mut ka, Duration::from_secs(5)).unwrap().status,
        200
    );
    assert!(closed_within(&mut ka, Duration::from_secs(3)));
    // And every idle socket of the first client is gone by now.
    for c in idle.iter_mut() {
        assert!(closed_within(c, Duration::from_secs(3)));
    }
}

#[test]
fn at_the_connection_cap_new_connections_wait_until_idle_ones_time_out() {
    let ha = Authority::new();
    let token = "metrics-token-0123456789";
    let s = Spawned::start(
        &[],
        &ha.data(),
        &["--header-timeout", "2", "--max-connections", "20"],
        &[("QUET_METRICS_TOKEN", token)],
        None,
    );
    let server = s.addr();
    let mut idle: Vec<_> = (0..20)
        .map(|i| connect_from(other_client(10 + (i % 5) as u8), server))
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let r = request_from(other_client(2), server, "GET", "/healthz", &[], None);
    let waited = started.elapsed();
    assert_eq!(r.status, 200);
    assert!(
        waited > Duration::from_millis(800) && waited < Duration::from_secs(6),
        "waited {waited:?}: the 21st connection should wait for a slot, not fail"
    );
    let auth = format!("Bearer {token}");
    let m = request_from(
        other_client(2),
        server,
        "GET",
        "/metrics",
        &[("Authorization", auth.as_str())],
        None,
    );
    let text = String::from_utf8(m.body).unwrap();
    assert!(text.contains("quet_connections_max 20\n"), "{text}");
    assert!(!text.contains("quet_header_timeouts_total 0\n"), "{text}");
    for c in idle.iter_mut() {
        assert!(closed_within(c, Duration::from_secs(4)));
    }
}

fn open_files_soft_limit(pid: u32) -> u64 {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    line.split_whitespace().nth(3).unwrap().parse().unwrap()
}

fn prlimit() -> Option<&'static str> {
    let found = ["/usr/bin/prlimit", "/bin/prlimit"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "prlimit (util-linux) is required under CI"
        );
        eprintln!("skipped: prlimit missing");
    }
    found
}

#[test]
fn the_open_file_limit_is_raised_and_the_connection_cap_stays_below_it() {
    let Some(prlimit) = prlimit() else { return };
    let ha = Authority::new();
    let token = "metrics-token-0123456789";
    // Soft 256, hard 4096: the server raises its soft limit to the hard one.
    let s = Spawned::start(
        &[prlimit, "--nofile=256:4096"],
        &ha.data(),
        &[],
        &[("QUET_METRICS_TOKEN", token)],
        None,
    );
    assert_eq!(open_files_soft_limit(s.child.id()), 4096);
    let auth = format!("Bearer {token}");
    let metrics = |s: &Spawned| {
        String::from_utf8(
            request(
                "GET",
                &s.url("/metrics"),
                &[("Authorization", auth.as_str())],
                None,
            )
            .body,
        )
        .unwrap()
    };
    assert!(metrics(&s).contains("quet_connections_max 4032\n"));
    drop(s);
    // A hard limit of 200: the derived cap fits below it...
    let s = Spawned::start(
        &[prlimit, "--nofile=200:200"],
        &ha.data(),
        &[],
        &[("QUET_METRICS_TOKEN", token)],
        None,
    );
    assert!(metrics(&s).contains("quet_connections_max 136\n"));
    drop(s);
    // ...and a configured cap that does not fit is refused at start, with the reason.
    let out = std::process::Command::new(prlimit)
        .args(["--nofile=200:200", BIN, "run", "--data"])
        .arg(ha.data())
        .args(["--listen", "127.0.0.1:0", "--max-connections", "1000"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("open-file limit"), "{err}");
}

/// Starts an upload whose body trickles in and never completes.
fn slow_upload(from: u8, server: std::net::SocketAddr) -> std::net::TcpStream {
    let mut c = connect_from(other_client(from), server);
    c.write_all(
        b"POST /v1/reports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"auth_code\":",
    )
    .unwrap();
    c
}

#[test]
fn slow_bodies_cannot_hold_the_upload_slots() {
    let ha = Authority::new();
    let s = Server::start(
        &ha.data(),
        &["--max-concurrent-uploads", "1", "--body-timeout", "6"],
    );
    let d = descriptor(&s);
    let server = addr_of(&s.base);
    let mut slow: Vec<_> = (0..6).map(|_| slow_upload(1, server)).collect();
    for c in slow.iter_mut() {
        c.write_all(b" ").unwrap();
    }
    std::thread::sleep(Duration::from_millis(300));
    // A citizen with a valid code, from another address, is served at once.
    let mut v = venue(22, &d, "Chợ Bến Thành");
    let code = issue_code(&s, &ha.token);
    let (envs, _) = envelopes(&mut test_rng(22), &d, &mut v, 1);
    let body =
        serde_json::to_vec(&serde_json::json!({"auth_code": code, "envelopes": envs})).unwrap();
    let started = Instant::now();
    let r = request_from(
        other_client(2),
        server,
        "POST",
        "/v1/reports",
        &[],
        Some(("application/json", &body)),
    );
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    assert!(started.elapsed() < Duration::from_secs(3));
    // The slow ones end with 408 body_timeout (JSON), within the body deadline.
    for c in slow.iter_mut() {
        let a = read_answer(c, Duration::from_secs(10)).expect("an answer");
        assert_eq!(a.status, 408);
        assert_eq!(a.json()["error"], "body_timeout");
    }
}

#[test]
fn upload_bodies_in_flight_are_bounded_per_address() {
    let ha = Authority::new();
    let s = Server::start(&ha.data(), &["--body-timeout", "5"]);
    let server = addr_of(&s.base);
    // The default is 8 bodies per address: the ninth is refused at once.
    let _slow: Vec<_> = (0..8).map(|_| slow_upload(1, server)).collect();
    std::thread::sleep(Duration::from_millis(300));
    let r = request_from(
        other_client(1),
        server,
        "POST",
        "/v1/reports",
        &[],
        Some(("application/json", b"{}")),
    );
    assert_eq!(r.status, 503);
    assert_eq!(r.json()["error"], "busy");
    let r = request_from(
        other_client(2),
        server,
        "POST",
        "/v1/reports",
        &[],
        Some(("application/json", b"{}")),
    );
    assert_eq!(r.status, 400, "another address is not affected");
}

#[test]
fn a_retried_upload_gets_the_same_receipt_and_stores_nothing_new() {
    let ha = Authority::new();
    let s = Server::start(&ha.data(), &[]);
    let d = descriptor(&s);
    let mut v = venue(23, &d, "Nhà văn hoá");
    let code = issue_code(&s, &ha.token);
    let (envs, _) = envelopes(&mut test_rng(23), &d, &mut v, 2);
    let first = upload(&s, &code, &envs, false);
    assert_eq!(first.status, 202);
    let receipt = first.json()["receipt"].as_str().unwrap().to_owned();
    let reviews = || {
        admin(&s, &ha.token, "GET", "/admin/v1/reviews", None)
            .json()
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(reviews(), 2);
    // The answer was lost; the phone sends the same body again (code typed in
    // another case).
    for code_text in [code.clone(), code.to_lowercase().replace('-', " ")] {
        let again = upload(&s, &code_text, &envs, false);
        assert_eq!(again.status, 202);
        assert_eq!(again.body, first.body, "byte-identical answer");
        assert_eq!(again.json()["receipt"], receipt.as_str());
    }
    assert_eq!(reviews(), 2, "nothing stored twice");
    let conn = quet_server::db::open(&quet_server::keystore::db_path(&ha.data())).unwrap();
    let reports: i64 = conn
        .query_row("SELECT COUNT(*) FROM reports", [], |r| r.get(0))
        .unwrap();
    assert_eq!(reports, 1);
    // A different body with the spent code is not a retry.
    let (other, _) = envelopes(&mut test_rng(24), &d, &mut v, 1);
    upload(&s, &code, &other, false).assert_error(401, "auth_code_invalid");
    // Two identical uploads racing: one stores, both get the receipt.
    let code2 = issue_code(&s, &ha.token);
    let (envs2, _) = envelopes(&mut test_rng(25), &d, &mut v, 1);
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
    let answers: Vec<_> = (0..2)
        .map(|_| {
            let (url, code2, envs2, barrier) = (
                s.url("/v1/reports"),
                code2.clone(),
                envs2.clone(),
                barrier.clone(),
            );
            std::thread::spawn(move || {
                barrier.wait();
                post_json(
                    &url,
                    &serde_json::json!({"auth_code": code2, "envelopes": envs2}),
                )
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    let ok: Vec<_> = answers.iter().filter(|a| a.status == 202).collect();
    assert!(!ok.is_empty());
    assert!(
        answers.iter().all(|a| a.status == 202 || a.status == 503),
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    assert!(ok.windows(2).all(|w| w[0].body == w[1].body));
    assert_eq!(reviews(), 3);
}

#[test]
fn one_code_queues_at_most_its_real_check_ins() {
    let ha = Authority::new();
    let s = Server::start(&ha.data(), &[]);
    let d = descriptor(&s);
    let mut v = venue(26, &d, "Quán cà phê");
    let code = issue_code(&s, &ha.token);
    let (mut envs, _) = envelopes(&mut test_rng(26), &d, &mut v, 2);
    // 98 envelopes that do not verify (a padding envelope with a flipped byte).
    let mut rng = test_rng(27);
    for e in envs.iter_mut().skip(2) {
        let mut bytes = ReportEnvelope::padding(&mut rng, &d, quet_protocol::time::UnixTime(now()))
            .unwrap()
            .as_bytes()
            .to_vec();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        *e = data_encoding::BASE64.encode(&bytes);
    }
    assert_eq!(upload(&s, &code, &envs, false).status, 202);
    let list = admin(&s, &ha.token, "GET", "/admin/v1/reviews", None).json();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 3, "two check-ins and one summary, not 100 rows");
    assert_eq!(list.iter().filter(|r| r["verified"] == true).count(), 2);
    let summary = list.iter().find(|r| r["verified"] == false).unwrap();
    let problem = summary["problem"].as_str().unwrap();
    assert!(problem.starts_with("98 envelope(s)"), "{problem}");
}

#[test]
fn metrics_need_a_token_or_the_private_listener_and_do_not_tell_chaff_from_cases() {
    let ha = Authority::new();
    let token = "metrics-token-0123456789";
    // No token configured: not served publicly.
    let s = Server::start(&ha.data(), &[]);
    get(&s.url("/metrics")).assert_error(404, "not_found");
    drop(s);
    // A token: required and checked.
    let s = Spawned::start(
        &[],
        &ha.data(),
        &["--metrics-listen", "127.0.0.1:0"],
        &[("QUET_METRICS_TOKEN", token)],
        None,
    );
    let r = request("GET", &s.url("/metrics"), &[], None);
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (401, Some("unauthorized"))
    );
    let r = request(
        "GET",
        &s.url("/metrics"),
        &[("Authorization", "Bearer metrics-token-wrong-0000")],
        None,
    );
    assert_eq!(r.status, 401);
    let auth = format!("Bearer {token}");
    let public = request(
        "GET",
        &s.url("/metrics"),
        &[("Authorization", auth.as_str())],
        None,
    );
    assert_eq!(public.status, 200);
    // The private listener serves it without a token, and nothing else.
    let private = format!("http://{}", s.metrics.unwrap());
    let text = String::from_utf8(get(&format!("{private}/metrics")).body).unwrap();
    assert!(text.contains("quet_uploads_answered_total"));
    get(&format!("{private}/v1/descriptor")).assert_error(404, "not_found");
    // Real and chaff uploads move one counter together; nothing counts reviews.
    let d = AuthorityDescriptor::decode(&get(&s.url("/v1/descriptor")).body).unwrap();
    let staff = ha.token.clone();
    let code = {
        let r = request(
            "POST",
            &s.url("/admin/v1/auth-codes"),
            &[("Authorization", format!("Bearer {staff}").as_str())],
            None,
        );
        r.json()["auth_code"].as_str().unwrap().to_owned()
    };
    let mut v = venue(28, &d, "Tiệm thuốc");
    let (envs, _) = envelopes(&mut test_rng(28), &d, &mut v, 1);
    let post = |code: &str, chaff: bool| {
        post_json(
            &s.url("/v1/reports"),
            &serde_json::json!({"auth_code": code, "envelopes": envs, "chaff": chaff}),
        )
        .status
    };
    assert_eq!(post(&code, false), 202);
    assert_eq!(post("chaff", true), 202);
    let text = String::from_utf8(get(&format!("{private}/metrics")).body).unwrap();
    assert!(text.contains("quet_uploads_answered_total 2\n"), "{text}");
    for leak in ["chaff_total", "accepted_total", "reviews", "pending"] {
        assert!(!text.contains(leak), "{leak} in {text}");
    }
}

#[test]
fn heartbeats_claim_only_listed_districts_once_per_pseudonym_within_limits() {
    let ha = Authority::new();
    import_districts(&ha, "# Hà Nội\nHoàn Kiếm\nBa Đình\n");
    let s = Server::start(
        &ha.data(),
        &[
            "--heartbeats-per-minute",
            "2",
            "--heartbeats-per-pseudonym-per-hour",
            "3",
        ],
    );
    let listed = get(&s.url("/v1/districts")).json();
    assert_eq!(
        listed,
        serde_json::json!({"districts": ["Ba Đình", "Hoàn Kiếm"]})
    );
    let hb = |from: u8, p: &str, district: &str| {
        let body = serde_json::to_vec(&heartbeat_body(p, district)).unwrap();
        request_from(
            other_client(from),
            addr_of(&s.base),
            "POST",
            "/v1/heartbeats",
            &[],
            Some(("application/json", &body)),
        )
    };
    let p1 = "11".repeat(16);
    assert_eq!(hb(1, &p1, "Hoàn Kiếm").status, 204);
    // Look-alikes of a listed name are unknown districts.
    for (i, fake) in [
        "Hoàn Kiếm\u{202E}",
        "Hoàn\u{200B} Kiếm",
        "Hoa\u{300}n Kiếm",
        "Hоàn Kiếm",
        " Hoàn Kiếm",
        "Tây Hồ",
    ]
    .into_iter()
    .enumerate()
    {
        let r = hb(2, &format!("{:02x}", 0x20 + i).repeat(16), fake);
        assert_eq!(r.status, 400, "{fake:?}");
        assert_eq!(r.json()["error"], "unknown_district");
    }
    // A pseudonym is counted once a day, in its first district and category.
    assert_eq!(hb(3, &p1, "Hoàn Kiếm").status, 204, "repeat is harmless");
    let r = hb(3, &p1, "Ba Đình");
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (409, Some("conflict"))
    );
    // ... and may not send more than three an hour.
    let r = hb(3, &p1, "Hoàn Kiếm");
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (429, Some("rate_limited"))
    );
    // One address inventing venues: at most the burst (five minutes' worth).
    let mut counted = 0;
    for i in 0..40u8 {
        if hb(4, &format!("{:02x}", 0x40 + i).repeat(16), "Ba Đình").status == 204 {
            counted += 1;
        }
    }
    assert_eq!(counted, 10);
    let stats = admin(&s, &ha.token, "GET", "/admin/v1/stats/venues", None).json();
    let ba_dinh = stats
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["district"] == "Ba Đình")
        .unwrap()["active_venues"]
        .as_u64();
    assert_eq!(ba_dinh, Some(10));
}

#[test]
fn district_lists_with_look_alikes_are_refused_whole() {
    let ha = Authority::new();
    let file = ha.dir.path().join("bad.txt");
    std::fs::write(&file, "Hoàn Kiếm\nBa\u{200D}Đình\n").unwrap();
    let out = std::process::Command::new(BIN)
        .args(["districts", "import", file.to_str().unwrap(), "--data"])
        .arg(ha.data())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 2") && err.contains("U+200D"), "{err}");
    let listed = cli(&["districts", "list", "--data", ha.data().to_str().unwrap()]);
    assert_eq!(listed, "", "nothing imported");
}

#[test]
fn publishing_is_throttled_and_a_restart_does_not_reset_it() {
    let ha = Authority::new();
    let mut s = Server::start(&ha.data(), &["--max-bulletins-per-hour", "3"]);
    for n in 1..=3 {
        let r = admin(&s, &ha.token, "POST", "/admin/v1/publish", None);
        assert_eq!(r.json()["sequence"], n);
    }
    let r = admin(&s, &ha.token, "POST", "/admin/v1/publish", None);
    r.assert_error(429, "publish_throttled");
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((3500..=3600).contains(&retry), "{retry}");
    s.kill();
    let s = Server::start(&ha.data(), &["--max-bulletins-per-hour", "3"]);
    admin(&s, &ha.token, "POST", "/admin/v1/publish", None).assert_error(429, "publish_throttled");
    assert_eq!(get(&s.url("/v1/bulletins/index.json")).json()["latest"], 3);
    // The daily bound applies too.
    drop(s);
    let s = Server::start(
        &ha.data(),
        &[
            "--max-bulletins-per-hour",
            "100",
            "--max-bulletins-per-day",
            "4",
        ],
    );
    assert_eq!(
        admin(&s, &ha.token, "POST", "/admin/v1/publish", None).status,
        200
    );
    admin(&s, &ha.token, "POST", "/admin/v1/publish", None).assert_error(429, "publish_throttled");
}

#[test]
fn a_trusted_proxy_is_exempt_from_the_per_address_connection_cap() {
    let ha = Authority::new();
    let s = Server::start(
        &ha.data(),
        &[
            "--trusted-proxy",
            "127.0.0.1",
            "--max-connections-per-address",
            "2",
        ],
    );
    let server = addr_of(&s.base);
    let mut from_proxy: Vec<_> = (0..6)
        .map(|_| connect_from(other_client(1), server))
        .collect();
    let mut from_client: Vec<_> = (0..6)
        .map(|_| connect_from(other_client(2), server))
        .collect();
    std::thread::sleep(Duration::from_millis(150));
    let closed = |v: &mut Vec<std::net::TcpStream>| {
        v.iter_mut()
            .map(|c| closed_within(c, Duration::from_millis(5)))
            .filter(|&closed| closed)
            .count()
    };
    assert_eq!(
        closed(&mut from_proxy),
        0,
        "all its clients share its address"
    );
    assert_eq!(closed(&mut from_client), 4);
}
