//! The venue tool against the real authority server (in-process, loopback) and
//! real phones (the client core, SQLite stores):
//! - a venue-initiated trace from a day-key sheet (`quet-venue trace-keys`) that
//!   holds only the days asked: the trace publishes, the phone that checked in on
//!   one of those days is alerted, the phone from another day is not, and the same
//!   sheet cannot trace a day it lacks;
//! - a registered venue's display codes carry the certificate and the checkpoint of
//!   the published head; once the authority revokes the venue, a phone that synced
//!   refuses the venue's fresh code with a clear message.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use quet_client::{Client, ClientError, SqliteStore, UreqTransport};
use quet_protocol::category::Category;
use quet_protocol::time::{Day, UnixTime};
use quet_venue::display::{Display, Showing, SystemClock};
use quet_venue::{NewVenue, Venue};

const BIN: &str = env!("CARGO_BIN_EXE_quet-venue");
const VN: i32 = 7 * 60;

fn now() -> UnixTime {
    quet_venue::display::Clock::now(&SystemClock)
}

struct Ha {
    server: quet_server::RunningServer,
    base: String,
    staff: String,
    descriptor: Vec<u8>,
}

/// An authority created ten days ago (so its capsule keys cover past visits),
/// serving on a loopback port its descriptor names.
async fn start_ha(dir: &Path) -> Ha {
    let data = dir.join("ha");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    quet_server::keystore::init_at(
        &quet_server::InitOptions {
            data_dir: data.clone(),
            name: "Sở Y tế Hà Nội".into(),
            base_url: base.clone(),
            id: None,
        },
        now().0 - 10 * 86_400,
    )
    .unwrap();
    let staff = quet_server::add_staff(&data, "alice").unwrap();
    let server = quet_server::start(
        quet_server::Config::new(&data, format!("127.0.0.1:{port}").parse().unwrap()),
        false,
    )
    .await
    .unwrap();
    let b = base.clone();
    let descriptor = tokio::task::spawn_blocking(move || {
        quet_venue::http::get_bytes(&format!("{b}/v1/descriptor"), 8192).unwrap()
    })
    .await
    .unwrap();
    Ha {
        server,
        base,
        staff,
        descriptor,
    }
}

/// A staff request; the status and JSON answer.
fn staff(
    ha: &(String, String),
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    quet_venue::http::json_request(
        method,
        &format!("{}{path}", ha.0),
        Some(&ha.1),
        body.as_ref(),
    )
    .unwrap()
}

fn venue(dir: &Path, base: &str, descriptor: &[u8], name: &str) -> Venue {
    let new = NewVenue::new(
        name,
        "12 Hàng Bạc, Hoàn Kiếm, Hà Nội",
        Category::Restaurant,
        base,
        descriptor.to_vec(),
    );
    Venue::create(
        &mut quet_venue::system_rng(),
        &dir.join(format!("{name}.json")),
        &new,
        None,
    )
    .unwrap()
}

fn phone(dir: &Path, name: &str, descriptor: &[u8]) -> Client<SqliteStore> {
    let mut c = Client::open_dir(&dir.join(name)).unwrap();
    c.pin_authority(descriptor).unwrap();
    c
}

fn sync(p: &mut Client<SqliteStore>) {
    p.sync(&UreqTransport::default(), now(), &mut |_| {})
        .unwrap();
}

/// 10:00 local time (UTC+7) on local date `d`.
fn ten_am(d: Day) -> UnixTime {
    UnixTime(d.start().0 + 3 * 3600)
}

fn iso(d: Day) -> String {
    let c = quet_venue::timefmt::civil_from_days(i64::from(d.0));
    format!("{:04}-{:02}-{:02}", c.year, c.month, c.day)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_key_sheet_traces_only_its_days_and_alerts_only_that_days_visitors() {
    let dir = tempfile::tempdir().unwrap();
    let ha = start_ha(dir.path()).await;
    let d = dir.path().to_owned();
    let (base, token, descriptor) = (ha.base.clone(), ha.staff.clone(), ha.descriptor.clone());
    tokio::task::spawn_blocking(move || {
        let h = (base.clone(), token);
        let v = venue(&d, &base, &descriptor, "Bún chả Hàng Bạc");
        let today = quet_venue::timefmt::local_day(now(), VN).unwrap();
        let (day_a, day_b) = (Day(today.0 - 2), Day(today.0 - 5));
        let mut rng = quet_venue::system_rng();
        let mut visit = |p: &mut Client<SqliteStore>, t: UnixTime| {
            let code = v.issuer().unwrap().screen_code(&mut rng, t).unwrap();
            let c = p.check_in(&code.to_url(&base), t).unwrap();
            p.check_out(Some(c.id), UnixTime(t.0 + 30 * 60)).unwrap();
        };
        let mut a = phone(&d, "phone-a", &descriptor);
        let mut b = phone(&d, "phone-b", &descriptor);
        visit(&mut a, ten_am(day_a));
        visit(&mut b, ten_am(day_b)); // same hour, three days earlier

        // The owner writes the sheet for three local dates around day A.
        let sheet_path = d.join("keys.txt");
        let out = std::process::Command::new(BIN)
            .arg("--venue")
            .arg(v.path())
            .args(["trace-keys", "--from", &iso(Day(today.0 - 3)), "--to", &iso(Day(today.0 - 1))])
            .arg("--out")
            .arg(&sheet_path)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let sheet = std::fs::read_to_string(&sheet_path).unwrap();
        let keys = quet_protocol::venue_keys::day_keys_from_text(&sheet).unwrap();
        let days: Vec<u32> = keys.iter().map(|k| k.day.0).collect();
        assert_eq!(days, (today.0 - 4..=today.0 - 1).collect::<Vec<_>>(), "only the days asked (UTC)");
        for k in &keys {
            assert_eq!(k, &v.master().day_key(k.day));
        }
        assert!(
            quet_protocol::venue_keys::VenueMasterKey::from_sheet_text(&sheet).is_err(),
            "the sheet is not the master"
        );
        // Days to come and over-long ranges are refused.
        for (from, to) in [(today.0 - 1, today.0 + 1), (today.0 - 40, today.0)] {
            let out = std::process::Command::new(BIN)
                .arg("--venue")
                .arg(v.path())
                .args(["trace-keys", "--from", &iso(Day(from)), "--to", &iso(Day(to))])
                .arg("--out")
                .arg(d.join(format!("bad-{from}.txt")))
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(1));
            assert!(!d.join(format!("bad-{from}.txt")).exists());
        }

        // The investigator traces 09:45–10:45 of day A with it.
        let trace = |t: UnixTime| {
            staff(
                &h,
                "POST",
                "/admin/v1/traces",
                Some(serde_json::json!({
                    "sheet": sheet, "start": t.0 - 15 * 60, "end": t.0 + 45 * 60,
                    "max_stay_minutes": 120, "severity": "monitor",
                    "message_vi": "Theo dõi sức khỏe 14 ngày.", "message_en": "Monitor your health for 14 days.",
                })),
            )
        };
        let (status, j) = trace(ten_am(day_a));
        assert_eq!(status, 200, "{j}");
        // The same sheet cannot trace day B: it lacks that day's keys.
        let (status, j) = trace(ten_am(day_b));
        assert_eq!(status, 400, "{j}");
        assert!(j["message"].as_str().unwrap().contains("lacks days"), "{j}");
        let (status, j) = staff(&h, "POST", "/admin/v1/publish", None);
        assert_eq!(status, 200, "{j}");

        sync(&mut a);
        sync(&mut b);
        let alerts = a.alerts().unwrap();
        assert_eq!(alerts.len(), 1, "the visitor of day A is alerted");
        assert_eq!(alerts[0].venue_name, "Bún chả Hàng Bạc");
        assert!(b.alerts().unwrap().is_empty(), "the visitor of another day is not");
    })
    .await
    .unwrap();
    ha.server.shutdown().await.unwrap();
}

fn shown_url(d: &Display) -> String {
    match d.showing().unwrap() {
        Showing::Code(c) => c.url,
        other => panic!("no code: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_venues_fresh_code_is_refused_by_a_phone_that_synced() {
    let dir = tempfile::tempdir().unwrap();
    let ha = start_ha(dir.path()).await;
    let d: PathBuf = dir.path().to_owned();
    let (base, token, descriptor) = (ha.base.clone(), ha.staff.clone(), ha.descriptor.clone());
    tokio::task::spawn_blocking(move || {
        let h = (base.clone(), token);
        let mut v = venue(&d, &base, &descriptor, "Cà phê Giảng");
        let reg = quet_venue::registration::register(&mut v, &base, "Hoàn Kiếm").unwrap();
        assert_eq!(reg.status, "pending");
        let (status, j) = staff(
            &h,
            "POST",
            &format!("/admin/v1/registry/{}/approve", reg.id),
            Some(serde_json::json!({})),
        );
        assert_eq!(status, 200, "{j}");
        let reg = quet_venue::registration::refresh(&mut v).unwrap();
        assert_eq!(reg.status, "approved");
        assert!(reg.certificate.is_some());
        let (status, j) = staff(&h, "POST", "/admin/v1/publish", None);
        assert_eq!(status, 200, "{j}");
        let published = j["sequence"].as_u64().unwrap();

        // The display: certificate from the registration, checkpoint of the head.
        let display = Display::new(&v, Arc::new(SystemClock)).unwrap();
        let cp = display
            .refresh_head(&base)
            .unwrap()
            .expect("a bulletin exists");
        assert_eq!(u64::from(cp.sequence), published);
        let url = shown_url(&display);
        let authority = quet_protocol::authority::AuthorityDescriptor::decode(&descriptor).unwrap();
        let (code, _) =
            quet_protocol::code::CheckInCode::parse_text_and_verify(&url, now(), &authority)
                .unwrap();
        assert_eq!(code.checkpoint, Some(cp));
        assert!(matches!(
            code.registration(&authority, now().day().unwrap()),
            quet_protocol::certificate::Registration::Registered { .. }
        ));

        let mut p = phone(&d, "phone", &descriptor);
        sync(&mut p);
        let c = p.check_in(&url, now()).unwrap();
        assert!(c.registered_with.is_some(), "shown as registered");
        p.check_out(Some(c.id), now()).unwrap();

        // The key is reported stolen: the authority revokes it and publishes.
        let (status, j) = staff(
            &h,
            "POST",
            &format!("/admin/v1/registry/{}/revoke", reg.id),
            Some(serde_json::json!({"reason": "khóa bị mất / key stolen"})),
        );
        assert_eq!(status, 204, "{j}");
        let (status, j) = staff(&h, "POST", "/admin/v1/publish", None);
        assert_eq!(status, 200, "{j}");
        sync(&mut p);

        // A fresh code of the venue is refused, clearly.
        let fresh = v
            .issuer()
            .unwrap()
            .screen_code(&mut quet_venue::system_rng(), now())
            .unwrap();
        let err = p.check_in(&fresh.to_url(&base), now()).unwrap_err();
        assert!(
            matches!(err, ClientError::Code(quet_protocol::Error::VenueRevoked)),
            "{err}"
        );
        let msg = err.explain();
        assert!(msg.en.contains("revoked"), "{}", msg.en);
        assert!(msg.vi.contains("thu hồi"), "{}", msg.vi);
        // The venue tool sees the revocation too.
        assert_eq!(
            quet_venue::registration::refresh(&mut v).unwrap().status,
            "revoked"
        );
    })
    .await
    .unwrap();
    ha.server.shutdown().await.unwrap();
}
