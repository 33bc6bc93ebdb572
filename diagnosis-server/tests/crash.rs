//! Crash safety: SIGKILL the real server in the middle of upload, approval and
//! publishing traffic, restart it, and check that the chain is intact, nothing
//! acknowledged was lost and nothing was duplicated.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use quet_protocol::bulletin::Bulletin;
use quet_protocol::testing::test_rng;
use quet_protocol::time::UnixTime;

const RELAXED: &[&str] = &[
    "--attempts-per-minute",
    "100000",
    "--failures-before-lockout",
    "100000",
    "--max-concurrent-uploads",
    "64",
    "--global-attempts-per-second",
    "100000",
    // This test publishes in a loop on purpose.
    "--max-bulletins-per-hour",
    "100000",
    "--max-bulletins-per-day",
    "100000",
];

fn hexes(v: &serde_json::Value) -> Vec<String> {
    v["notices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn sigkill_during_traffic_loses_nothing_acknowledged() {
    let ha = Authority::new();
    let mut s = Server::start(&ha.data(), RELAXED);
    let d = descriptor(&s);
    let token = ha.token.clone();
    // Prepare codes and envelopes up front.
    let mut v = venue(11, &d, "Quán cà phê");
    let mut jobs = Vec::new();
    for i in 0..40u8 {
        let code = issue_code(&s, &token);
        let (envs, _) = envelopes(&mut test_rng(100u8.wrapping_add(i)), &d, &mut v, 1);
        jobs.push((code, envs));
    }
    // Some approved reviews exist before the storm.
    for (code, envs) in jobs.drain(..5) {
        assert_eq!(upload(&s, &code, &envs, false).status, 202);
    }

    let stop = Arc::new(AtomicBool::new(false));
    let acked_receipts = Arc::new(Mutex::new(Vec::<String>::new()));
    let acked_notices = Arc::new(Mutex::new(Vec::<String>::new()));
    let acked_sequences = Arc::new(Mutex::new(Vec::<u64>::new()));
    let base = s.base.clone();

    let mut threads = Vec::new();
    let jobs = Arc::new(Mutex::new(jobs));
    for _ in 0..3 {
        let (stop, acked, jobs, base) = (
            stop.clone(),
            acked_receipts.clone(),
            jobs.clone(),
            base.clone(),
        );
        threads.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let Some((code, envs)) = jobs.lock().unwrap().pop() else {
                    break;
                };
                let body =
                    serde_json::to_vec(&serde_json::json!({"auth_code": code, "envelopes": envs}))
                        .unwrap();
                match try_request(
                    "POST",
                    &format!("{base}/v1/reports"),
                    &[],
                    Some(("application/json", body)),
                ) {
                    Some(r) if r.status == 202 => acked
                        .lock()
                        .unwrap()
                        .push(r.json()["receipt"].as_str().unwrap().to_owned()),
                    Some(r) => panic!("unexpected {}", r.status),
                    None => break,
                }
            }
        }));
    }
    {
        let (stop, notices, seqs, base, token) = (
            stop.clone(),
            acked_notices.clone(),
            acked_sequences.clone(),
            base.clone(),
            token.clone(),
        );
        threads.push(std::thread::spawn(move || {
            let auth = format!("Bearer {token}");
            let h = [("Authorization", auth.as_str())];
            while !stop.load(Ordering::Relaxed) {
                let Some(list) = try_request("GET", &format!("{base}/admin/v1/reviews"), &h, None) else { break };
                for item in list.json().as_array().unwrap().iter().take(2) {
                    let id = item["id"].as_i64().unwrap();
                    let body = serde_json::to_vec(&serde_json::json!({"severity": "test", "message_vi": "Xét nghiệm", "message_en": "Test"})).unwrap();
                    match try_request("POST", &format!("{base}/admin/v1/reviews/{id}/approve"), &h, Some(("application/json", body))) {
                        Some(r) if r.status == 200 => notices.lock().unwrap().extend(hexes(&r.json())),
                        Some(_) => {}
                        None => return,
                    }
                }
                match try_request("POST", &format!("{base}/admin/v1/publish"), &h, None) {
                    Some(r) if r.status == 200 => seqs.lock().unwrap().push(r.json()["sequence"].as_u64().unwrap()),
                    Some(r) => panic!("publish {}", r.status),
                    None => return,
                }
            }
        }));
    }
    // Let traffic run, then SIGKILL mid-flight.
    std::thread::sleep(Duration::from_millis(1500));
    s.kill();
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    let receipts = acked_receipts.lock().unwrap().clone();
    let notices = acked_notices.lock().unwrap().clone();
    let seqs = acked_sequences.lock().unwrap().clone();
    assert!(
        !receipts.is_empty() && !notices.is_empty() && !seqs.is_empty(),
        "traffic ran: {} {} {}",
        receipts.len(),
        notices.len(),
        seqs.len()
    );

    // Restart on the same data.
    let s = Server::start(&ha.data(), RELAXED);
    let conn = quet_server::db::open(&quet_server::keystore::db_path(&ha.data())).unwrap();
    let stored: HashSet<String> = conn
        .prepare("SELECT receipt FROM reports")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for r in &receipts {
        assert!(stored.contains(r), "acknowledged upload {r} lost");
    }
    let kept: HashSet<String> = conn
        .prepare("SELECT nonce FROM notices")
        .unwrap()
        .query_map([], |r| r.get::<_, Vec<u8>>(0))
        .unwrap()
        .map(|n| data_encoding::HEXLOWER.encode(&n.unwrap()))
        .collect();
    for n in &notices {
        assert!(kept.contains(n), "approved notice {n} lost");
    }
    drop(conn);

    // Publish whatever was queued, then walk the whole chain.
    let last_seq = admin(&s, &token, "POST", "/admin/v1/publish", None).json()["sequence"]
        .as_u64()
        .unwrap();
    assert!(
        last_seq > *seqs.iter().max().unwrap(),
        "acknowledged bulletins survive"
    );
    let mut chain = None;
    let mut seen: HashMap<String, u64> = HashMap::new();
    for seq in 1..=last_seq {
        let r = get(&s.url(&format!("/v1/bulletins/{seq}")));
        assert_eq!(r.status, 200, "bulletin {seq} missing");
        let b = Bulletin::verify_next(&r.body, &d, chain.as_ref(), UnixTime(now())).unwrap();
        for n in &b.notices {
            let h = data_encoding::HEXLOWER.encode(&n.nonce);
            assert!(seen.insert(h, seq).is_none(), "notice published twice");
        }
        chain = Some(b.chain_state());
    }
    for n in &notices {
        assert!(seen.contains_key(n), "approved notice {n} never published");
    }
}
