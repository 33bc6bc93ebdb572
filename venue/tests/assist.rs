//! Assisted check-ins matched against bulletins served by an in-test HTTP server
//! that follows spec/api.md (`/v1/bulletins/index.json`, `/v1/bulletins/{n}`),
//! with bulletins built by the protocol crate: visitors inside the exposure window
//! are listed with the HA's message, visitors outside it are not; withdrawn
//! notices, tampered bulletins and rolled-back histories are handled.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path as AxPath, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use common::*;
use quet_protocol::bulletin::{Bulletin, BulletinDraft};
use quet_protocol::category::Category;
use quet_protocol::notice::{ExposureNotice, NoticeBody, Severity, trace_windows};
use quet_protocol::time::{Epoch, EpochKind, UnixTime};
use quet_venue::Venue;
use quet_venue::assist::{AssistLog, AssistedVisit};
use sha2::Digest;

type Served = Arc<Mutex<BTreeMap<u64, Vec<u8>>>>;

async fn index(State(s): State<Served>) -> impl IntoResponse {
    let map = s.lock().unwrap();
    let list: Vec<_> = map
        .iter()
        .map(|(n, b)| {
            serde_json::json!({
                "sequence": n,
                "sha256": data_encoding::HEXLOWER.encode(&sha2::Sha256::digest(b)),
                "size": b.len(),
            })
        })
        .collect();
    axum::Json(serde_json::json!({
        "authority": "01000001",
        "first": map.keys().next().copied().unwrap_or(0),
        "latest": map.keys().last().copied().unwrap_or(0),
        "bulletins": list,
    }))
}

async fn bulletin(State(s): State<Served>, AxPath(n): AxPath<u64>) -> axum::response::Response {
    match s.lock().unwrap().get(&n) {
        Some(b) => b.clone().into_response(),
        None => (
            StatusCode::NOT_FOUND,
            axum::Json(serde_json::json!({"error": "not_found", "message": "no such bulletin"})),
        )
            .into_response(),
    }
}

/// Starts the fake diagnosis server; returns its base URL.
async fn fake_server(served: Served) -> String {
    let app = axum::Router::new()
        .route("/v1/bulletins/index.json", get(index))
        .route("/v1/bulletins/{n}", get(bulletin))
        .with_state(served);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

/// The notice the HA publishes (from the venue's day keys, as from its capsule)
/// for a case present during [arrival, departure).
fn notice(w: &mut World, v: &Venue, arrival: UnixTime, departure: UnixTime) -> ExposureNotice {
    let windows = trace_windows(arrival, departure, v.info().max_stay_secs(), 0).unwrap();
    let exact = windows.exact;
    let hours = Epoch::overlapping(EpochKind::Hour, windows.screen.0, windows.screen.1).unwrap();
    let d = arrival.day().unwrap();
    let day_keys: Vec<_> = [d.prev().unwrap(), d, d.next().unwrap()]
        .iter()
        .map(|d| v.master().day_key(*d))
        .collect();
    let body = NoticeBody {
        severity: Severity::Test,
        window_start: exact.0,
        window_end: exact.1,
        template: 0,
        message_vi: "Bạn có thể đã tiếp xúc. Hãy đi xét nghiệm.".into(),
        message_en: "You may have been exposed. Please get tested.".into(),
    };
    ExposureNotice::build(&mut w.rng, &day_keys, &[hours], &body).unwrap()
}

fn sign(
    w: &World,
    seq: u64,
    prev: [u8; 32],
    notices: Vec<ExposureNotice>,
    withdrawn: Vec<[u8; 16]>,
) -> Bulletin {
    BulletinDraft {
        sequence: seq,
        prev_hash: prev,
        issued_at: at(20, 0),
        expires_at: UnixTime(at(20, 0).0 + 14 * 86_400),
        notices,
        withdrawn,
        revoked: Vec::new(),
    }
    .sign(&w.ha, &w.descriptor)
    .unwrap()
}

fn visit(name: &str, phone: &str, arrival: UnixTime, departure: UnixTime) -> AssistedVisit {
    AssistedVisit {
        name: name.into(),
        phone: phone.into(),
        arrival,
        departure: Some(departure),
    }
}

fn names(r: &quet_venue::assist::MatchReport) -> Vec<String> {
    let mut v: Vec<String> = r.exposures.iter().map(|x| x.visitor.name.clone()).collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assisted_visitors_inside_the_window_are_listed_and_others_are_not() {
    let mut w = World::new();
    let v = w.venue("market.json", Category::Market); // max stay 120 min
    let other = w.venue("other.json", Category::Market);
    let now = at(21, 0);
    let mut log = AssistLog::open(&v).unwrap();
    let mut rng = quet_venue::system_rng();
    // The case was at the market 10:00–11:00.
    let inside = [
        visit("Nguyễn Văn An", "0901 111 111", at(10, 15), at(10, 45)),
        visit("Trần Thị Bình", "0902 222 222", at(9, 30), at(10, 5)), // overlaps the start
        visit("Lê Văn Cường", "0903 333 333", at(10, 59), at(12, 30)), // overlaps the end, next hour
    ];
    let outside = [
        visit("Phạm Thị Dung", "0904 444 444", at(8, 0), at(9, 0)), // left before
        visit("Hoàng Văn Em", "0905 555 555", at(11, 30), at(12, 0)), // same hour-window, after
        visit("Vũ Thị Giang", "0906 666 666", at(15, 0), at(16, 0)), // later, unpublished hour
    ];
    for x in inside.iter().chain(&outside) {
        log.check_in(&v, &mut rng, x, now).unwrap();
    }
    assert_eq!(log.len(), 6);
    // A visitor of another venue's log is never matched by this venue's notice.
    let mut other_log = AssistLog::open(&other).unwrap();
    other_log
        .check_in(
            &other,
            &mut rng,
            &visit("Đỗ Văn Hải", "0907", at(10, 30), at(10, 40)),
            now,
        )
        .unwrap();

    let n1 = notice(&mut w, &v, at(10, 0), at(11, 0));
    let unrelated = notice(&mut w, &other, at(18, 0), at(19, 0));
    let b1 = sign(&w, 1, [0; 32], vec![n1.clone(), unrelated], vec![]);
    let served: Served = Arc::default();
    served.lock().unwrap().insert(1, b1.as_bytes().to_vec());
    let base = fake_server(served.clone()).await;

    let (mut log, report) = {
        let v = Venue::open(v.path(), None).unwrap();
        let base = base.clone();
        tokio::task::spawn_blocking(move || {
            let mut log = AssistLog::open(&v).unwrap();
            let r = log.match_server(&v, &base, now).unwrap();
            (log, r)
        })
        .await
        .unwrap()
    };
    assert_eq!(report.bulletins, vec![1]);
    assert_eq!(
        names(&report),
        vec!["Lê Văn Cường", "Nguyễn Văn An", "Trần Thị Bình"]
    );
    for x in &report.exposures {
        assert_eq!(x.message_vi, "Bạn có thể đã tiếp xúc. Hãy đi xét nghiệm.");
        assert_eq!(
            x.message_en,
            "You may have been exposed. Please get tested."
        );
        assert_eq!(x.severity, Severity::Test);
        assert_eq!(x.notice_nonce, n1.nonce);
    }
    let an = report
        .exposures
        .iter()
        .find(|x| x.visitor.name == "Nguyễn Văn An")
        .unwrap();
    assert_eq!(an.visitor.phone, "0901 111 111");
    assert_eq!(
        (an.visitor.arrival, an.visitor.departure),
        (at(10, 15).0, at(10, 45).0)
    );

    // Bulletin 2 withdraws the notice: nobody to call any more.
    let b2 = sign(&w, 2, b1.hash(), vec![], vec![n1.nonce]);
    served.lock().unwrap().insert(2, b2.as_bytes().to_vec());
    let vv = Venue::open(v.path(), None).unwrap();
    let base2 = base.clone();
    let (log2, report) = tokio::task::spawn_blocking(move || {
        let r = log.match_server(&vv, &base2, now).unwrap();
        (log, r)
    })
    .await
    .unwrap();
    assert_eq!(report.bulletins, vec![1, 2]);
    assert!(
        report.exposures.is_empty(),
        "withdrawn notice still matched"
    );
    drop(log2);

    // A rolled-back server (bulletin 2 gone) is refused: the log remembers 2.
    served.lock().unwrap().remove(&2);
    let vv = Venue::open(v.path(), None).unwrap();
    let base3 = base.clone();
    let err = tokio::task::spawn_blocking(move || {
        AssistLog::open(&vv)
            .unwrap()
            .match_server(&vv, &base3, now)
            .unwrap_err()
    })
    .await
    .unwrap();
    assert!(err.to_string().contains("rolled back"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_or_broken_bulletins_are_refused() {
    let mut w = World::new();
    let v = w.venue("v.json", Category::Restaurant);
    let now = at(21, 0);
    let n = notice(&mut w, &v, at(10, 0), at(11, 0));
    let b1 = sign(&w, 1, [0; 32], vec![n], vec![]);
    let served: Served = Arc::default();
    let base = fake_server(served.clone()).await;
    AssistLog::open(&v)
        .unwrap()
        .check_in(
            &v,
            &mut quet_venue::system_rng(),
            &visit("A", "1", at(10, 10), at(10, 20)),
            now,
        )
        .unwrap();

    let run = |served: &Served, map: Vec<(u64, Vec<u8>)>| {
        *served.lock().unwrap() = map.into_iter().collect();
        let v = Venue::open(v.path(), None).unwrap();
        let base = base.clone();
        tokio::task::spawn_blocking(move || {
            AssistLog::open(&v).unwrap().match_server(&v, &base, now)
        })
    };
    // Tampered byte (index hash recomputed by the server, so the signature catches it).
    let mut bad = b1.as_bytes().to_vec();
    let mid = bad.len() / 2;
    bad[mid] ^= 1;
    let e = run(&served, vec![(1, bad)]).await.unwrap().unwrap_err();
    assert!(e.to_string().contains("bulletin 1"), "{e}");
    // A bulletin 2 that does not chain to 1.
    let b2 = sign(&w, 2, [7; 32], vec![], vec![]);
    let e = run(
        &served,
        vec![(1, b1.as_bytes().to_vec()), (2, b2.as_bytes().to_vec())],
    )
    .await
    .unwrap()
    .unwrap_err();
    assert!(e.to_string().contains("bulletin 2"), "{e}");
    // The genuine bulletin matches.
    let r = run(&served, vec![(1, b1.as_bytes().to_vec())])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.exposures.len(), 1);
}

#[test]
fn contacts_are_encrypted_at_rest_departures_clipped_and_old_entries_dropped() {
    let mut w = World::new();
    let v = w.venue("v.json", Category::Restaurant); // max stay 120
    let mut log = AssistLog::open(&v).unwrap();
    let mut rng = quet_venue::system_rng();
    let now = at(12, 0);
    let id = log
        .check_in(
            &v,
            &mut rng,
            &visit("Ngô Thị Lan", "0912 345 678", at(9, 0), at(18, 0)),
            now,
        )
        .unwrap();
    let raw = std::fs::read_to_string(v.assist_log_path()).unwrap();
    assert!(
        !raw.contains("Ngô") && !raw.contains("0912"),
        "contact stored in clear"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(v.assist_log_path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let list = AssistLog::open(&v).unwrap().visitors().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].0, id);
    assert_eq!(
        list[0].1.departure,
        at(11, 0).0,
        "clipped to arrival + max stay"
    );
    // Check-out re-seals with the real departure.
    let vis = log.check_out(&v, &mut rng, id, at(10, 0)).unwrap();
    assert_eq!(vis.departure, at(10, 0).0);
    // Missing departure: planned at the max stay.
    let mut x = visit("B", "2", at(11, 0), at(11, 0));
    x.departure = None;
    log.check_in(&v, &mut rng, &x, now).unwrap();
    assert_eq!(log.visitors().unwrap()[1].1.departure, at(13, 0).0);
    // Bad input.
    assert!(
        log.check_in(&v, &mut rng, &visit("", "1", at(9, 0), at(10, 0)), now)
            .is_err()
    );
    assert!(
        log.check_in(&v, &mut rng, &visit("C", "1", at(10, 0), at(9, 0)), now)
            .is_err()
    );
    // 15 days later everything is gone.
    assert_eq!(log.prune(UnixTime(now.0 + 15 * 86_400)), 2);
    assert!(log.is_empty());
}
