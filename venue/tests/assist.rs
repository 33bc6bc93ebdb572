//! Assisted check-ins matched against bulletins served by an in-test HTTP server
//! (a mirror the test controls) that follows spec/api.md (`/v1/bulletins/head`,
//! `/v1/bulletins/{n}`, and an `index.json` that may lie), with bulletins and
//! heads built by the protocol crate: visitors inside the exposure window are
//! listed with the HA's message, visitors outside it are not; withdrawn notices
//! are dropped; tampered, frozen, rolled-back, forked or hidden feeds are refused;
//! a rotated descriptor is pinned in the venue file only when the root key signed it.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path as AxPath, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use common::*;
use quet_protocol::authority::{AuthorityDescriptor, AuthorityKeys};
use quet_protocol::bulletin::{Bulletin, BulletinDraft};
use quet_protocol::category::Category;
use quet_protocol::head::{BulletinHead, ChainPoint, HeadDraft};
use quet_protocol::notice::{ExposureNotice, NoticeBody, Severity, trace_windows};
use quet_protocol::time::{Epoch, EpochKind, UnixTime};
use quet_venue::Venue;
use quet_venue::VenueError;
use quet_venue::assist::{AssistLog, AssistedVisit, MatchReport};

/// What the mirror serves: bulletins by sequence, a head, and an index.
#[derive(Default)]
struct Mirror {
    bulletins: BTreeMap<u64, Vec<u8>>,
    head: Vec<u8>,
    /// `index.json` as the mirror chooses to write it (never trusted).
    index: serde_json::Value,
    /// `GET /v1/descriptor`.
    descriptor: Vec<u8>,
}

type Served = Arc<Mutex<Mirror>>;

fn not_found() -> axum::response::Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(serde_json::json!({"error": "not_found", "message": "no such bulletin"})),
    )
        .into_response()
}

async fn index(State(s): State<Served>) -> impl IntoResponse {
    axum::Json(s.lock().unwrap().index.clone())
}

async fn descriptor(State(s): State<Served>) -> axum::response::Response {
    s.lock().unwrap().descriptor.clone().into_response()
}

async fn head(State(s): State<Served>) -> axum::response::Response {
    s.lock().unwrap().head.clone().into_response()
}

async fn bulletin(State(s): State<Served>, AxPath(n): AxPath<u64>) -> axum::response::Response {
    match s.lock().unwrap().bulletins.get(&n) {
        Some(b) => b.clone().into_response(),
        None => not_found(),
    }
}

/// Starts the mirror; returns its base URL.
async fn fake_server(served: Served) -> String {
    let app = axum::Router::new()
        .route("/v1/bulletins/index.json", get(index))
        .route("/v1/bulletins/head", get(head))
        .route("/v1/bulletins/{n}", get(bulletin))
        .route("/v1/descriptor", get(descriptor))
        .with_state(served);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

/// The HA's signed head over `bulletins` (oldest first; empty: none yet), issued
/// at `issued` for six hours.
fn sign_head(w: &World, bulletins: &[&Bulletin], issued: UnixTime) -> Vec<u8> {
    sign_head_as(&w.ha, &w.descriptor, bulletins, issued)
}

/// A head signed by `ha` under `descriptor` (an honest or a forging authority).
fn sign_head_as(
    ha: &AuthorityKeys,
    descriptor: &AuthorityDescriptor,
    bulletins: &[&Bulletin],
    issued: UnixTime,
) -> Vec<u8> {
    let point = |b: &Bulletin| ChainPoint {
        sequence: b.sequence,
        hash: b.hash(),
    };
    let (latest, oldest) = match (bulletins.first(), bulletins.last()) {
        (Some(o), Some(l)) => (point(l), point(o)),
        _ => (
            ChainPoint::default(),
            ChainPoint {
                sequence: 1,
                hash: [0; 32],
            },
        ),
    };
    BulletinHead::sign(
        &HeadDraft {
            descriptor_serial: descriptor.serial,
            latest,
            oldest,
            issued_at: issued,
            expires_at: UnixTime(issued.0 + 6 * 3600),
        },
        ha,
        descriptor,
    )
    .unwrap()
    .as_bytes()
    .to_vec()
}

/// Serves `bulletins` with an honest head issued at `issued` and an honest index.
fn serve(w: &World, served: &Served, bulletins: &[&Bulletin], issued: UnixTime) {
    let mut m = served.lock().unwrap();
    m.bulletins = bulletins
        .iter()
        .map(|b| (b.sequence, b.as_bytes().to_vec()))
        .collect();
    m.head = sign_head(w, bulletins, issued);
    m.index = serde_json::json!({
        "authority": "01000001",
        "first": bulletins.first().map_or(0, |b| b.sequence),
        "latest": bulletins.last().map_or(0, |b| b.sequence),
        "bulletins": bulletins.iter().map(|b| serde_json::json!({
            "sequence": b.sequence,
            "sha256": data_encoding::HEXLOWER.encode(&b.hash()),
            "size": b.as_bytes().len(),
        })).collect::<Vec<_>>(),
    });
}

/// Runs `assist match` for the venue file at `path` against `base` at `now`.
async fn run_match(
    path: &std::path::Path,
    base: &str,
    now: UnixTime,
) -> Result<MatchReport, VenueError> {
    let mut v = Venue::open(path, None).unwrap();
    let base = base.to_owned();
    tokio::task::spawn_blocking(move || {
        AssistLog::open(&v)
            .unwrap()
            .match_server(&mut v, &base, now)
    })
    .await
    .unwrap()
}

/// The notice the HA publishes (from the venue's day keys, as from its capsule)
/// for a case present during [arrival, departure).
fn notice(w: &mut World, v: &Venue, arrival: UnixTime, departure: UnixTime) -> ExposureNotice {
    let windows = trace_windows(arrival, departure, v.info().max_stay_secs(), 0).unwrap();
    let exact = windows.exact;
    let hours =
        Epoch::overlapping(EpochKind::SeededHour, windows.screen.0, windows.screen.1).unwrap();
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

fn names(r: &MatchReport) -> Vec<String> {
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
    serve(&w, &served, &[&b1], at(20, 30));
    let base = fake_server(served.clone()).await;

    let report = run_match(v.path(), &base, now).await.unwrap();
    assert_eq!(report.bulletins, vec![1]);
    assert_eq!(report.fresh_until, at(26, 30));
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
    // Matching again lists the same visitors: every live bulletin is matched.
    let again = run_match(v.path(), &base, at(21, 30)).await.unwrap();
    assert_eq!(names(&again), names(&report));

    // Bulletin 2 withdraws the notice: nobody to call any more.
    let b2 = sign(&w, 2, b1.hash(), vec![], vec![n1.nonce]);
    serve(&w, &served, &[&b1, &b2], at(21, 45));
    let report = run_match(v.path(), &base, at(22, 0)).await.unwrap();
    assert_eq!(report.bulletins, vec![1, 2]);
    assert!(
        report.exposures.is_empty(),
        "withdrawn notice still matched"
    );

    // A mirror that goes back to the old state (bulletin 2 gone, the old head,
    // still within its lifetime) is refused: the log remembers 2.
    serve(&w, &served, &[&b1], at(20, 30));
    let err = run_match(v.path(), &base, at(22, 30)).await.unwrap_err();
    assert!(
        matches!(
            err,
            VenueError::FeedRefused {
                source: quet_protocol::Error::HeadRollback { .. },
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("rolled back"), "{err}");
}

/// A log with one visitor at 10:10–10:20, a bulletin 1 without them and a bulletin 2
/// whose notice concerns them.
struct Feed {
    w: World,
    path: std::path::PathBuf,
    b1: Bulletin,
    b2: Bulletin,
}

fn feed() -> Feed {
    let mut w = World::new();
    let v = w.venue("v.json", Category::Restaurant);
    AssistLog::open(&v)
        .unwrap()
        .check_in(
            &v,
            &mut quet_venue::system_rng(),
            &visit("Ngô Văn Tú", "0913", at(10, 10), at(10, 20)),
            at(10, 20),
        )
        .unwrap();
    let other = w.venue("other.json", Category::Restaurant);
    let n_other = notice(&mut w, &other, at(8, 0), at(9, 0));
    let b1 = sign(&w, 1, [0; 32], vec![n_other], vec![]);
    let n = notice(&mut w, &v, at(10, 0), at(11, 0));
    let b2 = sign(&w, 2, b1.hash(), vec![n], vec![]);
    Feed {
        path: v.path().to_owned(),
        w,
        b1,
        b2,
    }
}

fn refusal(r: Result<MatchReport, VenueError>) -> (quet_protocol::Error, String) {
    match r {
        Err(VenueError::FeedRefused { server, source }) => {
            let e = VenueError::FeedRefused {
                server,
                source: source.clone(),
            };
            (source, e.to_string())
        }
        Err(e) => panic!("not a feed refusal: {e}"),
        Ok(r) => panic!("accepted: {:?}", r.bulletins),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lying_index_is_ignored_and_a_frozen_feed_is_refused() {
    let f = feed();
    let served: Served = Arc::default();
    let base = fake_server(served.clone()).await;
    serve(&f.w, &served, &[&f.b1], at(20, 0));
    assert!(
        run_match(&f.path, &base, at(20, 5))
            .await
            .unwrap()
            .exposures
            .is_empty()
    );

    // The HA publishes bulletin 2; the mirror's index still says only 1 (or says 2
    // is gone, first = 3): the signed head decides, and the visitor is found.
    serve(&f.w, &served, &[&f.b1, &f.b2], at(21, 0));
    for lie in [
        serde_json::json!({"authority": "01000001", "first": 1, "latest": 1, "bulletins": []}),
        serde_json::json!({"authority": "01000001", "first": 3, "latest": 3, "bulletins": []}),
    ] {
        served.lock().unwrap().index = lie;
        let r = run_match(&f.path, &base, at(21, 5)).await.unwrap();
        assert_eq!(r.bulletins, vec![1, 2]);
        assert_eq!(names(&r), vec!["Ngô Văn Tú"]);
    }

    // A mirror that freezes the feed keeps serving that head: once it expires
    // (six hours), the feed is refused, never reported as "nobody to call".
    let (e, msg) = refusal(run_match(&f.path, &base, at(27, 1)).await);
    assert!(matches!(e, quet_protocol::Error::HeadExpired { .. }), "{e}");
    assert!(msg.contains("frozen") && msg.contains("đóng băng"), "{msg}");
    assert!(msg.contains("may be out of date"), "{msg}");

    // A head with a flipped byte does not verify.
    let mut bad = sign_head(&f.w, &[&f.b1, &f.b2], at(27, 0));
    let last = bad.len() - 1;
    bad[last] ^= 1;
    served.lock().unwrap().head = bad;
    let (e, _) = refusal(run_match(&f.path, &base, at(27, 5)).await);
    assert!(
        matches!(e, quet_protocol::Error::BadSignature { .. }),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mirror_cannot_hide_roll_back_or_fork_the_feed() {
    let mut f = feed();
    let served: Served = Arc::default();
    let base = fake_server(served.clone()).await;

    // Hiding: the genuine head names bulletin 2, the mirror answers 404 for it.
    serve(&f.w, &served, &[&f.b1, &f.b2], at(21, 0));
    served.lock().unwrap().bulletins.remove(&2);
    let err = run_match(&f.path, &base, at(21, 5)).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("bulletin 2, listed by the authority's signed head"),
        "{err}"
    );

    // Hiding by serving bulletin 1 in place of 2.
    let b1_bytes = f.b1.as_bytes().to_vec();
    served.lock().unwrap().bulletins.insert(2, b1_bytes);
    refusal(run_match(&f.path, &base, at(21, 5)).await);
    // A tampered bulletin 2 (one flipped byte) does not verify.
    let mut bad = f.b2.as_bytes().to_vec();
    let mid = bad.len() / 2;
    bad[mid] ^= 1;
    served.lock().unwrap().bulletins.insert(2, bad);
    refusal(run_match(&f.path, &base, at(21, 5)).await);

    // The honest feed is accepted and remembered.
    serve(&f.w, &served, &[&f.b1, &f.b2], at(21, 0));
    let r = run_match(&f.path, &base, at(21, 5)).await.unwrap();
    assert_eq!(names(&r), vec!["Ngô Văn Tú"]);

    // Rollback: the older genuine head (latest 1), replayed while still unexpired.
    serve(&f.w, &served, &[&f.b1], at(20, 0));
    let (e, msg) = refusal(run_match(&f.path, &base, at(21, 10)).await);
    assert!(
        matches!(
            e,
            quet_protocol::Error::HeadRollback {
                known: 2,
                offered: 1
            }
        ),
        "{e}"
    );
    assert!(
        msg.contains("rolled back") && msg.contains("quay lui"),
        "{msg}"
    );

    // Skipping without evidence: a head (signed) that says only bulletin 4 is
    // live, issued before bulletin 3 could have expired (3 is hidden).
    let b3 = sign(&f.w, 3, f.b2.hash(), vec![], vec![]);
    let b4 = sign(&f.w, 4, b3.hash(), vec![], vec![]);
    serve(&f.w, &served, &[&b4], at(22, 0));
    let (e, msg) = refusal(run_match(&f.path, &base, at(22, 5)).await);
    assert!(
        matches!(e, quet_protocol::Error::ChainGap { have: 2, oldest: 4 }),
        "{e}"
    );
    assert!(msg.contains("hides bulletins"), "{msg}");

    // A fork: another history signed by the authority (a split view) whose
    // bulletin 2 is not the one this log accepted.
    let n = notice(
        &mut f.w,
        &Venue::open(&f.path, None).unwrap(),
        at(15, 0),
        at(16, 0),
    );
    let b2_other = sign(&f.w, 2, f.b1.hash(), vec![n], vec![]);
    assert_ne!(b2_other.hash(), f.b2.hash());
    serve(&f.w, &served, &[&f.b1, &b2_other], at(22, 10));
    let (e, msg) = refusal(run_match(&f.path, &base, at(22, 15)).await);
    assert!(
        matches!(e, quet_protocol::Error::ForkDetected { sequence: 2 }),
        "{e}"
    );
    assert!(msg.contains("fork"), "{msg}");

    // After all that, the honest feed still works from where the log was.
    serve(&f.w, &served, &[&f.b1, &f.b2, &b3, &b4], at(22, 20));
    let r = run_match(&f.path, &base, at(22, 25)).await.unwrap();
    assert_eq!(r.bulletins, vec![1, 2, 3, 4]);
    assert_eq!(names(&r), vec!["Ngô Văn Tú"]);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_descriptor_is_pinned_in_the_venue_file_only_when_the_root_key_signed_it() {
    let mut w = World::new();
    let v = w.venue("market.json", Category::Market);
    let pinned = w.descriptor.serial;
    let now = at(21, 0);
    let served: Served = Arc::default();
    let base = fake_server(served.clone()).await;

    // A lying mirror: a "newer" descriptor of the same authority under the
    // mirror's own root key. With a head the mirror signed, the head is refused;
    // with the authority's genuine head of a newer serial, the descriptor is.
    let forger = AuthorityKeys::generate(&mut w.rng);
    let mut forged = forger.descriptor(w.descriptor.id, &w.descriptor.name, &w.descriptor.base_url);
    forged.serial = pinned + 1;
    let before = std::fs::read(v.path()).unwrap();
    let genuine_newer = {
        let mut d = w.descriptor.clone();
        d.serial = pinned + 1;
        d
    };
    for (head, refused_as_descriptor) in [
        (sign_head_as(&forger, &forged, &[], at(20, 30)), false),
        (sign_head_as(&w.ha, &genuine_newer, &[], at(20, 30)), true),
    ] {
        {
            let mut m = served.lock().unwrap();
            m.descriptor = forger.sign_descriptor(&forged).unwrap();
            m.head = head;
        }
        let err = run_match(v.path(), &base, now).await.unwrap_err();
        if refused_as_descriptor {
            assert!(matches!(err, VenueError::BadDescriptor(_)), "{err}");
        } else {
            assert!(matches!(err, VenueError::FeedRefused { .. }), "{err}");
        }
        assert_eq!(
            std::fs::read(v.path()).unwrap(),
            before,
            "venue file changed"
        );
    }

    // The authority rotates its descriptor (new capsule keys), signed by its root.
    let mut rotated = w.descriptor.clone();
    rotated.serial = pinned + 1;
    w.descriptor_bytes = w.ha.sign_descriptor(&rotated).unwrap();
    w.descriptor = rotated;
    serve(&w, &served, &[], at(20, 30));
    served.lock().unwrap().descriptor = w.descriptor_bytes.clone();
    let report = run_match(v.path(), &base, now).await.unwrap();
    assert_eq!(report.descriptor_updated, Some(pinned + 1));
    let reopened = Venue::open(v.path(), None).unwrap();
    assert_eq!(reopened.descriptor().serial, pinned + 1);
    assert_eq!(reopened.descriptor_bytes().unwrap(), w.descriptor_bytes);
    // The next run finds the head at the pinned serial: nothing to adopt.
    let again = run_match(v.path(), &base, now).await.unwrap();
    assert_eq!(again.descriptor_updated, None);
}
