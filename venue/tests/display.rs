//! The rotating display, driven by an injected clock: the same code within a
//! 30-second slot, a fresh code when the half-minute turns, a new venue-time key
//! when the hour turns, the day's capsule reused, codes that verify with
//! `CheckInCode::parse_and_verify`, and the HTTP endpoints the page uses.

mod common;

use std::sync::Arc;

use common::*;
use quet_protocol::category::Category;
use quet_protocol::code::CheckInCode;
use quet_protocol::time::UnixTime;
use quet_venue::display::{Display, ManualClock, Showing};
use quet_venue::venue::EventWindow;

fn code_of(s: Showing) -> quet_venue::display::CurrentCode {
    match s {
        Showing::Code(c) => c,
        other => panic!("expected a code, got {other:?}"),
    }
}

fn verify(bytes: &[u8], now: UnixTime, w: &World) -> CheckInCode {
    CheckInCode::parse_and_verify(bytes, now, &w.descriptor)
        .unwrap()
        .0
}

#[test]
fn code_is_resigned_when_the_half_minute_turns_and_rekeyed_when_the_hour_turns() {
    let mut w = World::new();
    let v = w.venue("v.json", Category::Office);
    let clock = Arc::new(ManualClock::new(at(9, 59)));
    let d = Display::new(&v, clock.clone()).unwrap();

    let a = code_of(d.showing().unwrap());
    clock.advance(29); // 09:59:29, same slot
    let a2 = code_of(d.showing().unwrap());
    assert_eq!(a.bytes, a2.bytes, "same slot, same code");
    assert_eq!(a.refresh_in(at(9, 59)), 30);
    assert_eq!(a2.refresh_in(clock_now(&clock)), 1);

    clock.advance(1); // 09:59:30, new slot, same hour
    let b = code_of(d.showing().unwrap());
    assert_ne!(a.bytes, b.bytes, "new slot, new signature");
    let (ca, cb) = (
        verify(&a.bytes, at(9, 59), &w),
        verify(&b.bytes, clock_now(&clock), &w),
    );
    assert_eq!(cb.timestamp, UnixTime(at(9, 59).0 + 30));
    assert_eq!(
        ca.venue_time_public, cb.venue_time_public,
        "same hour, same P_e"
    );
    assert_eq!(ca.capsule, cb.capsule, "the day's capsule is reused");

    clock.advance(30); // 10:00:00, the hour turns
    let c = code_of(d.showing().unwrap());
    let cc = verify(&c.bytes, at(10, 0), &w);
    assert_ne!(
        cc.venue_time_public, cb.venue_time_public,
        "new hour, new P_e"
    );
    assert_ne!(cc.notice_secret, cb.notice_secret);
    assert_eq!(cc.epoch().unwrap().index, cb.epoch().unwrap().index + 1);
    assert_eq!(cc.capsule, cb.capsule, "same UTC day, same capsule");
    // The displayed code is the protocol's URL of those bytes.
    assert_eq!(c.url, cc.to_url(&w.descriptor.base_url));
    assert!(c.qr_version <= quet_venue::qr::MAX_SCREEN_QR_VERSION);
    // Old codes expire: a phone three minutes later refuses the 09:59 code.
    assert!(CheckInCode::parse_and_verify(&a.bytes, at(10, 3), &w.descriptor).is_err());
}

fn clock_now(c: &ManualClock) -> UnixTime {
    quet_venue::display::Clock::now(c)
}

#[test]
fn event_display_shows_codes_only_during_the_event() {
    let mut w = World::new();
    let mut new = w.new_venue(
        "Tiệc cưới Lan & Minh",
        "Nhà hàng Hoa Sen",
        Category::Wedding,
    );
    new.event = Some(EventWindow {
        start: at(10, 0).0,
        end: at(14, 0).0,
    });
    let v =
        quet_venue::Venue::create(&mut w.rng, &w.dir.path().join("wed.json"), &new, None).unwrap();
    assert_eq!(
        v.info().max_stay_minutes,
        240,
        "event length is the max stay"
    );
    let clock = Arc::new(ManualClock::new(at(9, 0)));
    let d = Display::new(&v, clock.clone()).unwrap();
    assert!(matches!(d.showing().unwrap(), Showing::EventNotStarted(_)));
    clock.set(at(11, 0));
    let c = code_of(d.showing().unwrap());
    verify(&c.bytes, at(11, 0), &w);
    clock.set(at(15, 0));
    assert!(matches!(d.showing().unwrap(), Showing::EventEnded(_)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_endpoints_serve_the_current_code_and_follow_the_clock() {
    let mut w = World::new();
    let v = w.venue("v.json", Category::Restaurant);
    let clock = Arc::new(ManualClock::new(at(12, 0)));
    let d = Arc::new(Display::new(&v, clock.clone()).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(quet_venue::display::serve(listener, d));
    let base = format!("http://{addr}");

    let get = |path: &str| {
        let url = format!("{base}{path}");
        tokio::task::spawn_blocking(move || quet_venue::http::get_bytes(&url, 1 << 20).unwrap())
    };
    let j1: serde_json::Value = serde_json::from_slice(&get("/api/code").await.unwrap()).unwrap();
    assert_eq!(j1["active"], true);
    assert_eq!(j1["refresh_in"], 30);
    let url1 = j1["url"].as_str().unwrap().to_owned();
    let (c1, _) = CheckInCode::parse_text_and_verify(&url1, at(12, 0), &w.descriptor).unwrap();
    assert_eq!(c1.timestamp, at(12, 0));

    clock.advance(12);
    let j2: serde_json::Value = serde_json::from_slice(&get("/api/code").await.unwrap()).unwrap();
    assert_eq!(j2["url"], j1["url"]);
    assert_eq!(j2["refresh_in"], 18, "countdown to the next re-sign");

    clock.advance(18); // the half-minute turns
    let j3: serde_json::Value = serde_json::from_slice(&get("/api/code").await.unwrap()).unwrap();
    assert_ne!(j3["url"], j1["url"]);
    assert_ne!(j3["serial"], j1["serial"]);
    let (c3, _) = CheckInCode::parse_text_and_verify(
        j3["url"].as_str().unwrap(),
        at(12, 0).checked_add(30).unwrap(),
        &w.descriptor,
    )
    .unwrap();
    assert_eq!(c3.venue_time_public, c1.venue_time_public);

    clock.set(at(13, 0)); // the hour turns
    let j4: serde_json::Value = serde_json::from_slice(&get("/api/code").await.unwrap()).unwrap();
    let (c4, _) =
        CheckInCode::parse_text_and_verify(j4["url"].as_str().unwrap(), at(13, 0), &w.descriptor)
            .unwrap();
    assert_ne!(c4.venue_time_public, c1.venue_time_public);

    let page = String::from_utf8(get("/").await.unwrap()).unwrap();
    assert!(page.contains("<svg") && page.contains(&j4["serial"].as_str().unwrap().to_string()));
    assert!(page.contains("Quét mã để khai báo khi vào") && page.contains("Scan to check in"));
    assert!(page.contains("Phở Thìn"));
    assert!(
        !page.contains("src=\"http") && !page.contains("href=\"http"),
        "the page must not load anything from elsewhere"
    );
    let svg = String::from_utf8(get("/code.svg").await.unwrap()).unwrap();
    assert_eq!(svg, j4["svg"].as_str().unwrap());
}

/// A head signed by the world's authority naming `latest` as its newest bulletin.
fn head_bytes(w: &World, latest: u64, hash: [u8; 32], issued: UnixTime) -> Vec<u8> {
    use quet_protocol::head::{BulletinHead, ChainPoint, HeadDraft};
    BulletinHead::sign(
        &HeadDraft {
            descriptor_serial: w.descriptor.serial,
            latest: ChainPoint {
                sequence: latest,
                hash,
            },
            oldest: ChainPoint {
                sequence: latest,
                hash,
            },
            issued_at: issued,
            expires_at: UnixTime(issued.0 + 6 * 3600),
        },
        &w.ha,
        &w.descriptor,
    )
    .unwrap()
    .as_bytes()
    .to_vec()
}

#[test]
fn a_display_file_display_shows_codes_for_its_days_only_from_its_day_keys() {
    let mut w = World::new();
    let v = w.venue("v.json", Category::Office);
    let day0 = at(0, 0).day().unwrap();
    let df = v.display_file(day0, 2).unwrap();
    let clock = Arc::new(ManualClock::new(at(10, 0)));
    let d = Display::from_display_file(&df, clock.clone()).unwrap();
    drop(v); // the display holds no venue, no master
    let c = verify(&code_of(d.showing().unwrap()).bytes, at(10, 0), &w);
    // The same P_e and capsule day as the master would give: same keys, not a copy.
    let master = quet_venue::Venue::open(&w.path("v.json"), None).unwrap();
    let epoch = c.epoch().unwrap();
    assert_eq!(
        c.venue_time_public,
        master
            .master()
            .day_key(day0)
            .venue_time_secret(epoch)
            .unwrap()
            .public()
    );
    clock.set(at(47, 59)); // the second day, its last slot
    verify(&code_of(d.showing().unwrap()).bytes, at(47, 59), &w);
    clock.set(at(48, 0)); // a third day: the file holds no keys for it
    assert!(matches!(
        d.showing().unwrap(),
        Showing::OutsideDays { first, last } if first == day0 && last.0 == day0.0 + 1
    ));
    // The venue-file display renews its day keys when the day turns.
    let clock2 = Arc::new(ManualClock::new(at(10, 0)));
    let dv = Display::new(&master, clock2.clone()).unwrap();
    clock2.set(at(24 * 9 + 3, 0));
    verify(&code_of(dv.showing().unwrap()).bytes, at(24 * 9 + 3, 0), &w);
}

#[test]
fn codes_carry_the_checkpoint_of_the_newest_verified_head_and_refuse_a_rolled_back_one() {
    let mut w = World::new();
    let v = w.venue("v.json", Category::Office);
    let clock = Arc::new(ManualClock::new(at(10, 0)));
    let d = Display::new(&v, clock.clone()).unwrap();
    // Offline: no checkpoint, codes as usual.
    assert!(d.refresh_head("http://127.0.0.1:9").is_err());
    let c = verify(&code_of(d.showing().unwrap()).bytes, at(10, 0), &w);
    assert_eq!(c.checkpoint, None);
    // A verified head: the code of the same slot is re-signed with its checkpoint.
    let h5 = [5u8; 32];
    let cp = d.accept_head(&head_bytes(&w, 5, h5, at(9, 30))).unwrap();
    let c = verify(&code_of(d.showing().unwrap()).bytes, at(10, 0), &w);
    assert_eq!(c.checkpoint, cp);
    assert_eq!(c.checkpoint.unwrap().sequence, 5);
    assert_eq!(c.checkpoint.unwrap().hash_prefix, [5u8; 16]);
    // An older head (replayed), an expired one, a forged one: refused, checkpoint kept.
    assert!(
        d.accept_head(&head_bytes(&w, 4, [4; 32], at(9, 0)))
            .is_err()
    );
    assert!(
        d.accept_head(&head_bytes(&w, 6, [6; 32], at(3, 0)))
            .is_err()
    );
    let mut forged = head_bytes(&w, 7, [7; 32], at(9, 45));
    let n = forged.len();
    forged[n - 1] ^= 1;
    assert!(d.accept_head(&forged).is_err());
    assert_eq!(d.checkpoint(), cp);
    // A newer head moves it on.
    d.accept_head(&head_bytes(&w, 6, [6; 32], at(9, 50)))
        .unwrap();
    clock.advance(30);
    let c = verify(
        &code_of(d.showing().unwrap()).bytes,
        at(10, 0).saturating_add(30),
        &w,
    );
    assert_eq!(c.checkpoint.unwrap().sequence, 6);
}

#[test]
fn longest_code_with_certificate_and_checkpoint_fits_version_20_at_level_m() {
    use quet_protocol::certificate::{Registration, VenueCertificate, details_hash};
    let mut w = World::new();
    let (name, addr) = longest_name_address();
    let new = w.new_venue(&name, &addr, Category::PublicTransport);
    let path = w.path("long.json");
    let v = quet_venue::Venue::create(&mut w.rng, &path, &new, None).unwrap();
    let day0 = at(0, 0).day().unwrap();
    let venue_key = v.master().signing_key().verifying_key().to_bytes();
    let cert = VenueCertificate::issue(
        &w.ha,
        &w.descriptor,
        &venue_key,
        &details_hash(Category::PublicTransport, &name, &addr),
        u32::MAX,
        day0,
        quet_protocol::time::Day(day0.0 + 400),
    )
    .unwrap();
    let mut df = v.display_file(day0, 1).unwrap();
    df.certificate = Some(cert.to_bytes());
    let clock = Arc::new(ManualClock::new(at(9, 0)));
    let d = Display::from_display_file(&df, clock).unwrap();
    d.accept_head(&head_bytes(&w, u64::from(u32::MAX), [0xff; 32], at(8, 30)))
        .unwrap();
    let shown = code_of(d.showing().unwrap());
    let c = verify(&shown.bytes, at(9, 0), &w);
    assert!(c.checkpoint.is_some() && c.certificate.is_some());
    assert!(matches!(
        c.registration(&w.descriptor, day0),
        Registration::Registered { .. }
    ));
    println!(
        "longest code with certificate and checkpoint: {} bytes, {} URL characters, QR version {} (M)",
        shown.bytes.len(),
        shown.url.len(),
        shown.qr_version
    );
    assert!(shown.qr_version <= quet_venue::qr::MAX_SCREEN_QR_VERSION);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_display_follows_a_signed_descriptor_rotation_into_the_venue_file() {
    use axum::routing::get;
    use quet_protocol::authority::AuthorityKeys;
    use quet_venue::{Venue, VenueError};

    let mut w = World::new();
    let v = w.venue("v.json", Category::Office);
    let pinned = w.descriptor.serial;
    let clock = Arc::new(ManualClock::new(at(10, 0)));
    let d = Arc::new(Display::new(&v, clock.clone()).unwrap());
    verify(&code_of(d.showing().unwrap()).bytes, at(10, 0), &w);

    // A "newer" descriptor under another root key is refused; nothing changes.
    let forger = AuthorityKeys::generate(&mut w.rng);
    let mut forged = forger.descriptor(w.descriptor.id, &w.descriptor.name, &w.descriptor.base_url);
    forged.serial = pinned + 1;
    let before = std::fs::read(v.path()).unwrap();
    let err = d
        .adopt_descriptor(&forger.sign_descriptor(&forged).unwrap())
        .unwrap_err();
    assert!(matches!(err, VenueError::BadDescriptor(_)), "{err}");
    assert_eq!(std::fs::read(v.path()).unwrap(), before);
    assert_eq!(d.descriptor_serial(), Some(pinned));

    // The authority rotates its descriptor; the head is signed under the new one.
    // Its capsule keys get new ids, so a code says which descriptor sealed it.
    let mut rotated = w.descriptor.clone();
    rotated.serial = pinned + 1;
    for k in &mut rotated.capsule_keys {
        k.key_id = k.key_id.wrapping_add(100);
    }
    let rotated_ids: Vec<u8> = rotated.capsule_keys.iter().map(|k| k.key_id).collect();
    let rotated_bytes = w.ha.sign_descriptor(&rotated).unwrap();
    w.descriptor = rotated;
    let head = head_bytes(&w, 3, [7; 32], at(9, 30));
    let served = rotated_bytes.clone();
    let app = axum::Router::new()
        .route("/v1/bulletins/head", get(move || async move { head }))
        .route("/v1/descriptor", get(move || async move { served }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let following = Arc::clone(&d);
    let checkpoint = tokio::task::spawn_blocking(move || following.refresh_head(&base))
        .await
        .unwrap()
        .unwrap();
    assert!(
        checkpoint.is_some(),
        "the head under the new descriptor is accepted"
    );
    assert_eq!(d.descriptor_serial(), Some(pinned + 1));
    let reopened = Venue::open(v.path(), None).unwrap();
    assert_eq!(reopened.descriptor().serial, pinned + 1);
    assert_eq!(reopened.descriptor_bytes().unwrap(), rotated_bytes);
    // Codes go on, from the next day's renewed keys too, sealed to the new
    // descriptor's capsule keys.
    let now_code = verify(&code_of(d.showing().unwrap()).bytes, at(10, 0), &w);
    assert!(rotated_ids.contains(&now_code.capsule.key_id));
    clock.set(at(34, 0));
    let next_day = verify(&code_of(d.showing().unwrap()).bytes, at(34, 0), &w);
    assert!(rotated_ids.contains(&next_day.capsule.key_id));
}
