//! End-to-end tests: the real `quet-server` binary on loopback, real venues (venue
//! library) and real phones (client library, SQLite stores), each outcome checked
//! against ground truth computed from the visits.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::path::Path;

use quet_client::{Client, ClientError, Response, SqliteStore, Transport, UreqTransport};
use quet_protocol::category::Category;
use quet_protocol::time::UnixTime;
use quet_tests::demo::{DemoConfig, run};
use quet_tests::harness::{Authority, ServerProcess, Staff, fetch_descriptor};
use quet_venue::{NewVenue, Venue};
use rand_core::UnwrapErr;

fn now() -> UnixTime {
    UnixTime(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
}

fn port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An authority serving on a fixed loopback port (so it can be restarted in place).
struct Ha {
    authority: Authority,
    server: ServerProcess,
    base: String,
    descriptor: Vec<u8>,
}

impl Ha {
    fn start(dir: &Path) -> Ha {
        let port = port();
        let base = format!("http://127.0.0.1:{port}");
        let authority = Authority::init(&dir.join("ha"), "Sở Y tế Cần Thơ", &base).unwrap();
        let server =
            ServerProcess::start(&authority.data, Some(&format!("127.0.0.1:{port}")), &[]).unwrap();
        let descriptor = fetch_descriptor(&base).unwrap();
        Ha {
            authority,
            server,
            base,
            descriptor,
        }
    }

    fn staff(&self) -> Staff<'_> {
        Staff {
            base: &self.base,
            token: &self.authority.staff_token,
        }
    }

    fn restart(&mut self) {
        self.server.kill();
        let listen = self.base.trim_start_matches("http://").to_owned();
        self.server = ServerProcess::start(&self.authority.data, Some(&listen), &[]).unwrap();
    }
}

fn venue(dir: &Path, ha: &Ha, name: &str, category: Category) -> Venue {
    let new = NewVenue::new(
        name,
        "Ninh Kiều, Cần Thơ",
        category,
        &ha.base,
        ha.descriptor.clone(),
    );
    Venue::create(
        &mut UnwrapErr(getrandom::SysRng),
        &dir.join(format!("{name}.json")),
        &new,
        None,
    )
    .unwrap()
}

fn phone(dir: &Path, ha: &Ha, n: usize) -> Client<SqliteStore> {
    let mut c = Client::open_dir(&dir.join(format!("phone-{n}"))).unwrap();
    c.pin_authority(&ha.descriptor).unwrap();
    c
}

/// A visit: check in at `arrival` with the venue's screen code, check out later.
fn visit(
    phone: &mut Client<SqliteStore>,
    venue: &Venue,
    base: &str,
    arrival: UnixTime,
    minutes: u64,
) {
    let code = venue
        .issuer()
        .unwrap()
        .screen_code(&mut UnwrapErr(getrandom::SysRng), arrival)
        .unwrap();
    let c = phone.check_in(&code.to_url(base), arrival).unwrap();
    phone
        .check_out(Some(c.id), UnixTime(arrival.0 + minutes * 60))
        .unwrap();
}

fn alerted(phone: &Client<SqliteStore>) -> BTreeSet<String> {
    phone
        .alerts()
        .unwrap()
        .into_iter()
        .map(|a| a.venue_name)
        .collect()
}

/// Three hours ago, on the hour plus ten minutes: safely in the past and today.
fn morning() -> UnixTime {
    UnixTime((now().0 / 3600 - 3) * 3600 + 600)
}

fn report_case(ha: &Ha, case: &mut Client<SqliteStore>) -> String {
    let code = ha.staff().issue_auth_code().unwrap();
    let plan = case
        .report_preview(&UreqTransport::default(), None, &code, now())
        .unwrap();
    case.report_submit(&UreqTransport::default(), &plan)
        .unwrap();
    code
}

fn approve_all(ha: &Ha) -> Vec<String> {
    let mut notices = Vec::new();
    for r in ha.staff().reviews().unwrap() {
        assert_eq!(r["verified"], true, "{r}");
        notices.extend(
            ha.staff()
                .approve(
                    r["id"].as_u64().unwrap(),
                    "isolate",
                    "Cách ly",
                    "Isolate",
                    10,
                )
                .unwrap(),
        );
    }
    notices
}

/// The demo's whole story (screen, poster and assisted venues; case-initiated and
/// venue-initiated traces) with another seed: exactly the ground truth is notified,
/// and the server's database keeps no envelope and no visit data.
#[test]
fn demo_notifies_exactly_those_who_shared_place_and_time() {
    let dir = tempfile::tempdir().unwrap();
    let outcome = run(
        dir.path(),
        &DemoConfig {
            people: 40,
            seed: 3,
            verbose: false,
            buffer_minutes: 20,
        },
    )
    .unwrap();
    assert!(
        !outcome.expected.is_empty(),
        "the simulation must expose someone"
    );
    assert!(
        outcome.same_venue_other_time > 0,
        "and leave someone at the same venue unexposed"
    );
    assert_eq!(outcome.notified, outcome.expected);
    assert_eq!(outcome.envelopes_left, 0);
    assert_eq!(outcome.visit_rows_left, 0);
    assert_eq!(outcome.server_rows.get("bulletins"), Some(&1));
}

/// Case-initiated flow with a withdrawal: the alert appears, then a later bulletin
/// withdraws the notice and the alert is cleared; nobody at another hour is alerted.
#[test]
fn withdrawn_notice_clears_the_alert() {
    let dir = tempfile::tempdir().unwrap();
    let ha = Ha::start(dir.path());
    let cafe = venue(
        dir.path(),
        &ha,
        "Cà phê Bến Ninh Kiều",
        Category::Restaurant,
    );
    let t = morning();
    let (mut case, mut near, mut later) = (
        phone(dir.path(), &ha, 0),
        phone(dir.path(), &ha, 1),
        phone(dir.path(), &ha, 2),
    );
    visit(&mut case, &cafe, &ha.base, t, 30);
    visit(&mut near, &cafe, &ha.base, UnixTime(t.0 + 600), 30);
    visit(&mut later, &cafe, &ha.base, UnixTime(t.0 + 2 * 3600), 20);
    report_case(&ha, &mut case);
    let notices = approve_all(&ha);
    assert!(!notices.is_empty());
    ha.staff().publish().unwrap();
    for p in [&mut near, &mut later] {
        p.sync(&UreqTransport::default(), now(), &mut |_| {})
            .unwrap();
    }
    assert_eq!(
        alerted(&near),
        BTreeSet::from(["Cà phê Bến Ninh Kiều".to_owned()])
    );
    assert!(
        alerted(&later).is_empty(),
        "two hours later is outside the window"
    );

    for n in &notices {
        ha.staff().withdraw(n).unwrap();
    }
    ha.staff().publish().unwrap();
    let report = near
        .sync(&UreqTransport::default(), now(), &mut |_| {})
        .unwrap();
    assert!(report.withdrawn >= 1);
    assert!(
        alerted(&near).is_empty(),
        "the withdrawn notice's alert is cleared"
    );
    // Re-syncing changes nothing: no duplicate or resurrected alert.
    near.sync(&UreqTransport::default(), now(), &mut |_| {})
        .unwrap();
    assert!(alerted(&near).is_empty());
}

/// A transport that flips one byte of every bulletin body: a tampering network.
struct Tampering {
    inner: UreqTransport,
    tampered: Cell<usize>,
}

impl Transport for Tampering {
    fn get(&self, url: &str, max_body: usize) -> quet_client::Result<Response> {
        let mut r = self.inner.get(url, max_body)?;
        if url.contains("/v1/bulletins/")
            && !url.ends_with("index.json")
            && !url.ends_with("/head")
            && !r.body.is_empty()
        {
            let i = r.body.len() / 2;
            r.body[i] ^= 0x01;
            self.tampered.set(self.tampered.get() + 1);
        }
        Ok(r)
    }

    fn post_json(&self, url: &str, body: &[u8]) -> quet_client::Result<Response> {
        self.inner.post_json(url, body)
    }
}

/// A bulletin tampered on the wire is rejected and nothing is stored; the honest
/// download afterwards works. A replayed authorization code is refused.
#[test]
fn tampered_bulletin_and_replayed_auth_code_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let ha = Ha::start(dir.path());
    let shop = venue(
        dir.path(),
        &ha,
        "Siêu thị Cái Khế",
        Category::MallSupermarket,
    );
    let t = morning();
    let (mut case, mut other) = (phone(dir.path(), &ha, 0), phone(dir.path(), &ha, 1));
    visit(&mut case, &shop, &ha.base, t, 40);
    visit(&mut other, &shop, &ha.base, UnixTime(t.0 + 300), 40);
    let code = report_case(&ha, &mut case);
    approve_all(&ha);
    ha.staff().publish().unwrap();

    let evil = Tampering {
        inner: UreqTransport::default(),
        tampered: Cell::new(0),
    };
    let err = other.sync(&evil, now(), &mut |_| {}).unwrap_err();
    assert!(evil.tampered.get() >= 1);
    assert!(matches!(err, ClientError::Bulletin { .. }), "{err:?}");
    assert!(
        alerted(&other).is_empty(),
        "nothing from a tampered bulletin is stored"
    );
    other
        .sync(&UreqTransport::default(), now(), &mut |_| {})
        .unwrap();
    assert_eq!(alerted(&other).len(), 1);

    // The code was spent by the first report.
    let err = case
        .report_preview(&UreqTransport::default(), None, &code, now())
        .unwrap_err();
    assert!(matches!(err, ClientError::AuthCodeInvalid), "{err:?}");
}

/// Codes from a venue of another authority, forged (bit-flipped) codes and stale
/// photos of a screen are refused at check-in, with nothing stored.
#[test]
fn foreign_forged_and_stale_codes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ha = Ha::start(dir.path());
    let other_dir = dir.path().join("other");
    std::fs::create_dir_all(&other_dir).unwrap();
    let other_ha = Ha::start(&other_dir);
    let foreign = venue(&other_dir, &other_ha, "Chợ nổi Cái Răng", Category::Market);
    let home = venue(dir.path(), &ha, "Nhà sách Cần Thơ", Category::Other);
    let mut p = phone(dir.path(), &ha, 0);
    let t = now();
    let mut rng = UnwrapErr(getrandom::SysRng);

    let code = foreign.issuer().unwrap().screen_code(&mut rng, t).unwrap();
    let err = p.check_in(&code.to_url(&other_ha.base), t).unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Code(quet_protocol::Error::UnknownAuthority(_))
        ),
        "{err:?}"
    );

    let code = home.issuer().unwrap().screen_code(&mut rng, t).unwrap();
    let mut forged = code.as_bytes().to_vec();
    forged[20] ^= 0x04; // inside the signed venue-time key
    let err = p.check_in_bytes(&forged, t).unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Code(quet_protocol::Error::BadSignature { .. })
        ),
        "{err:?}"
    );

    let err = p
        .check_in(&code.to_url(&ha.base), UnixTime(t.0 + 600))
        .unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Code(quet_protocol::Error::CodeNotFresh { .. })
        ),
        "{err:?}"
    );
    assert!(p.diary(t).unwrap().is_empty());
    // The genuine code checks in.
    p.check_in(&code.to_url(&ha.base), t).unwrap();
    assert_eq!(p.diary(t).unwrap().len(), 1);
}

/// The server is killed (SIGKILL) after the upload is acknowledged and again after
/// approval; each restart keeps what was acknowledged, and the outcome is the same.
#[test]
fn server_killed_and_restarted_mid_run_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut ha = Ha::start(dir.path());
    let gym = venue(dir.path(), &ha, "Phòng gym Hưng Lợi", Category::Gym);
    let t = morning();
    let mut phones: Vec<_> = (0..4).map(|n| phone(dir.path(), &ha, n)).collect();
    // Case 10:00-11:00; phone 1 overlaps, phone 2 left before, phone 3 came after.
    visit(&mut phones[0], &gym, &ha.base, t, 60);
    visit(&mut phones[1], &gym, &ha.base, UnixTime(t.0 + 1800), 60);
    visit(&mut phones[2], &gym, &ha.base, UnixTime(t.0 - 3 * 3600), 30);
    visit(&mut phones[3], &gym, &ha.base, UnixTime(t.0 + 100 * 60), 30);
    report_case(&ha, &mut phones[0]);

    ha.restart();
    let reviews = ha.staff().reviews().unwrap();
    assert_eq!(
        reviews.len(),
        1,
        "the acknowledged upload survived the crash"
    );
    approve_all(&ha);
    ha.restart();
    assert!(
        ha.staff().reviews().unwrap().is_empty(),
        "approval is not redone after a crash"
    );
    let seq = ha.staff().publish().unwrap();
    assert_eq!(seq, 1);
    ha.restart();

    for p in phones.iter_mut().skip(1) {
        p.sync(&UreqTransport::default(), now(), &mut |_| {})
            .unwrap();
    }
    let got: Vec<bool> = phones
        .iter()
        .skip(1)
        .map(|p| !alerted(p).is_empty())
        .collect();
    assert_eq!(got, vec![true, false, false]);
}
