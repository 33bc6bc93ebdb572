//! A seized or unlocked phone, from the attacker's side: a copy of the store (the
//! SQLite files, or a `MemoryStore` snapshot as the web app keeps it) without the
//! PIN gives up no venue name, address or code, and no alert detail; with the
//! PIN, everything. Check-in and matching never need the PIN; a wrong PIN is
//! refused and, after three, paused; the active stay's code lives only as long as
//! the stay. `spec/threat-model.md`, "A seized or unlocked phone", states the
//! same with these tests' names.

mod common;

use common::*;
use quet_client::vault::KeySlot;
use quet_client::{
    Argon2Settings, Client, ClientError, MemoryStore, SqliteStore, Store, UnixTime, UreqTransport,
};
use quet_protocol::category::Category;
use quet_protocol::code::CheckInCode;
use quet_protocol::testing::test_rng;

const NAME: &str = "Quán QZXMARKER Bún Chả";
const ADDRESS: &str = "99 Phố QZXADDRESS, Hà Nội";
const PIN: &[u8] = b"482916";

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Everything that identifies the venue or the code, as an attacker would grep.
fn needles(url: &str) -> Vec<Vec<u8>> {
    let code = CheckInCode::bytes_from_text(url).unwrap();
    let payload = url.rsplit('#').next().unwrap().to_string();
    vec![
        b"QZXMARKER".to_vec(),
        b"QZXADDRESS".to_vec(),
        NAME.as_bytes().to_vec(),
        // The signed code, its signature alone, and its text form.
        code.clone(),
        code[code.len() - 64..].to_vec(),
        payload.as_bytes()[..64].to_vec(),
        b"ALERTMARKER".to_vec(),
    ]
}

fn assert_reveals_nothing(bytes: &[u8], needles: &[Vec<u8>], what: &str) {
    for n in needles {
        assert!(
            !contains(bytes, n),
            "{what} reveals {:?}",
            String::from_utf8_lossy(&n[..n.len().min(40)])
        );
    }
}

fn dir_bytes(dir: &std::path::Path) -> Vec<u8> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        out.extend(std::fs::read(e.unwrap().path()).unwrap());
    }
    out
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

struct Scene {
    server: FakeServer,
    world: World,
    venue: quet_protocol::code::CodeIssuer,
    url: String,
}

/// A venue named with unique markers, a server publishing a notice for 12:00–13:00
/// there whose message carries another marker.
fn scene() -> Scene {
    let server = FakeServer::start();
    let mut world = World::new(&server.base);
    {
        let mut st = server.state.lock().unwrap();
        st.descriptor = world.descriptor_bytes();
        st.authority = world.descriptor.id.0;
    }
    let info = quet_protocol::code::VenueInfo {
        name: NAME.into(),
        address: ADDRESS.into(),
        category: Category::Restaurant,
        max_stay_minutes: 120,
    };
    let mut venue = quet_protocol::code::CodeIssuer::new(
        quet_protocol::venue_keys::VenueMasterKey::generate(&mut world.rng),
        info,
        &world.descriptor,
    )
    .unwrap();
    let url = world.code_url(&mut venue, at(12, 0));
    Scene {
        server,
        world,
        venue,
        url,
    }
}

fn publish_notice(s: &mut Scene) {
    let notice = s.world.notice_with(
        &s.venue,
        at(12, 10),
        at(12, 50),
        quet_protocol::notice::Severity::Isolate,
        "Cách ly ALERTMARKER",
        "Isolate ALERTMARKER",
    );
    let chain = s.world.chain(vec![(vec![notice], vec![])]);
    s.server.serve_chain(&s.world, &chain);
}

fn sqlite_phone(dir: &std::path::Path, seed: u8) -> Client<SqliteStore> {
    let mut c = Client::open_dir_with_rng(dir, Box::new(test_rng(seed))).unwrap();
    c.set_argon2_settings(Argon2Settings::MINIMUM);
    c
}

#[test]
fn seized_sqlite_store_without_the_pin_reveals_no_venue_code_or_alert() {
    let mut s = scene();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("phone");
    let mut phone = sqlite_phone(&data, 1);
    phone.set_up_with_passphrase(PIN).unwrap();
    phone.pin_authority(&s.world.descriptor_bytes()).unwrap();
    phone.lock();
    // Check-in, check-out and sync all work locked.
    phone.check_in(&s.url, at(12, 0)).unwrap();
    phone.check_out(None, at(12, 40)).unwrap();
    publish_notice(&mut s);
    let r = phone
        .sync(&UreqTransport::default(), at(21, 0), &mut |_| {})
        .unwrap();
    assert_eq!(r.new_alerts.len(), 1, "matching works locked");
    assert_eq!(r.new_alerts[0].severity, "isolate");
    assert!(matches!(phone.alerts(), Err(ClientError::Locked)));
    assert!(matches!(phone.diary(at(21, 0)), Err(ClientError::Locked)));
    drop(phone);

    // The attacker copies the files.
    let seized = dir.path().join("seized");
    copy_dir(&data, &seized);
    assert_reveals_nothing(
        &dir_bytes(&seized),
        &needles(&s.url),
        "the seized SQLite files",
    );
    let mut thief = sqlite_phone(&seized, 2);
    assert!(matches!(thief.diary(at(21, 0)), Err(ClientError::Locked)));
    assert!(matches!(thief.alerts(), Err(ClientError::Locked)));
    assert!(matches!(
        thief.unlock_with_passphrase(b"000000", at(21, 0)),
        Err(ClientError::WrongPassphrase { failures: 1, .. })
    ));
    // What a locked phone shows: an alert exists, its severity; not where.
    let summaries = thief.alert_summaries().unwrap();
    assert_eq!(summaries.len(), 1);
    assert_eq!(summaries[0].severity, "isolate");

    // With the PIN, everything.
    thief.unlock_with_passphrase(PIN, at(21, 0)).unwrap();
    let diary = thief.diary_at_rest().unwrap();
    assert_eq!(diary[0].venue_name, NAME);
    assert_eq!(diary[0].venue_address, ADDRESS);
    assert_eq!(diary[0].departure, at(12, 40).0);
    let alerts = thief.alerts().unwrap();
    assert_eq!(alerts[0].venue_name, NAME);
    assert!(alerts[0].message_en.contains("ALERTMARKER"));
}

#[test]
fn the_active_code_lives_only_during_the_stay() {
    let s = scene();
    let dir = tempfile::tempdir().unwrap();
    let mut phone = sqlite_phone(dir.path(), 1);
    phone.set_up_with_passphrase(PIN).unwrap();
    phone.pin_authority(&s.world.descriptor_bytes()).unwrap();
    phone.lock();
    phone.check_in(&s.url, at(12, 0)).unwrap();
    let code = CheckInCode::bytes_from_text(&s.url).unwrap();
    // During the stay the code (with the venue's name) is on the phone, readable
    // without the PIN: check-out needs it. The threat model says so.
    assert!(contains(&dir_bytes(dir.path()), &code));
    let stay = phone.current_stay(at(12, 30)).unwrap().unwrap();
    assert_eq!(stay.venue_name, NAME);
    phone.check_out(None, at(12, 40)).unwrap();
    // After check-out, nothing of it remains: not in the database, not in its WAL.
    assert_reveals_nothing(
        &dir_bytes(dir.path()),
        &needles(&s.url),
        "the store after check-out",
    );
    assert!(phone.current_stay(at(12, 41)).unwrap().is_none());

    // Auto check-out erases it too, the first time the app runs after the stay.
    let mut s = scene();
    let url = s.world.code_url(&mut s.venue, at(15, 0));
    let dir = tempfile::tempdir().unwrap();
    let mut phone = sqlite_phone(dir.path(), 3);
    phone.set_up_with_passphrase(PIN).unwrap();
    phone.pin_authority(&s.world.descriptor_bytes()).unwrap();
    phone.check_in(&url, at(15, 0)).unwrap();
    assert_eq!(phone.auto_check_out(at(17, 1)).unwrap().len(), 1);
    assert_reveals_nothing(
        &dir_bytes(dir.path()),
        &needles(&url),
        "the store after auto check-out",
    );
}

#[test]
fn memory_snapshot_without_the_pin_reveals_nothing_and_with_it_everything() {
    let mut s = scene();
    let mut phone = memory_client(5);
    phone.pin_authority(&s.world.descriptor_bytes()).unwrap();
    // First use: the check-in asks for nothing.
    phone.check_in(&s.url, at(12, 0)).unwrap();
    let p = phone.protection().unwrap();
    assert!(p.set_up && p.unprotected && !p.passphrase);
    // Right after, the user picks a PIN; the unprotected slot is gone.
    phone.set_passphrase(PIN).unwrap();
    let p = phone.protection().unwrap();
    assert!(p.passphrase && !p.unprotected);
    phone.check_out(None, at(12, 40)).unwrap();
    publish_notice(&mut s);
    phone.lock();
    phone
        .sync(&UreqTransport::default(), at(21, 0), &mut |_| {})
        .unwrap();

    let snapshot = phone.store().snapshot();
    assert_reveals_nothing(&snapshot, &needles(&s.url), "the snapshot");
    let mut thief = Client::new(
        MemoryStore::from_snapshot(&snapshot).unwrap(),
        Box::new(test_rng(9)),
    );
    assert!(matches!(thief.diary_at_rest(), Err(ClientError::Locked)));
    assert!(matches!(thief.alerts(), Err(ClientError::Locked)));
    assert!(thief.unlock_with_passphrase(b"111111", at(21, 0)).is_err());
    thief.unlock_with_passphrase(PIN, at(21, 0)).unwrap();
    assert_eq!(thief.diary_at_rest().unwrap()[0].venue_name, NAME);
    assert!(
        thief.alerts().unwrap()[0]
            .message_vi
            .contains("ALERTMARKER")
    );
    // The snapshot round-trips exactly.
    assert!(
        MemoryStore::from_snapshot(&snapshot)
            .unwrap()
            .same_contents(phone.store())
    );
}

#[test]
fn a_wrong_pin_is_refused_and_slowed() {
    let s = scene();
    let mut phone = memory_client(6);
    phone.pin_authority(&s.world.descriptor_bytes()).unwrap();
    phone.set_passphrase(PIN).unwrap();
    phone.check_in(&s.url, at(12, 0)).unwrap();
    phone.lock();
    let t = at(20, 0);
    for n in 1..=2 {
        match phone.unlock_with_passphrase(b"123456", t) {
            Err(ClientError::WrongPassphrase { failures, retry_at }) => {
                assert_eq!((failures, retry_at), (n, None));
            }
            other => panic!("{other:?}"),
        }
    }
    // The third wrong PIN pauses attempts for 30 s…
    let retry_at = match phone.unlock_with_passphrase(b"123456", t) {
        Err(ClientError::WrongPassphrase {
            failures: 3,
            retry_at: Some(r),
        }) => r,
        other => panic!("{other:?}"),
    };
    assert_eq!(retry_at, t.0 + 30);
    // …during which even the right PIN is refused without being tried…
    assert!(matches!(
        phone.unlock_with_passphrase(PIN, UnixTime(t.0 + 10)),
        Err(ClientError::UnlockThrottled { retry_at: r }) if r == retry_at
    ));
    assert!(!phone.is_unlocked());
    // …and the pause doubles with each further failure.
    assert!(matches!(
        phone.unlock_with_passphrase(b"654321", UnixTime(retry_at)),
        Err(ClientError::WrongPassphrase { failures: 4, retry_at: Some(r) }) if r == retry_at + 60
    ));
    phone
        .unlock_with_passphrase(PIN, UnixTime(retry_at + 60))
        .unwrap();
    assert!(phone.is_unlocked());
    // Success resets the count.
    phone.lock();
    assert!(matches!(
        phone.unlock_with_passphrase(b"000000", UnixTime(retry_at + 61)),
        Err(ClientError::WrongPassphrase { failures: 1, .. })
    ));
}

#[test]
fn a_pin_costs_an_argon2id_of_the_stated_parameters() {
    // A phone made with the defaults stores them in its slot, so every guess
    // against a copy of the store costs 64 MiB and 3 passes of Argon2id.
    let mut phone = Client::new(MemoryStore::new(), Box::new(test_rng(8)));
    phone.set_passphrase(PIN).unwrap();
    let slot = phone.store().meta("slot.passphrase").unwrap().unwrap();
    match KeySlot::from_bytes(&slot).unwrap() {
        KeySlot::Passphrase { settings, .. } => {
            assert_eq!(settings, Argon2Settings::DEFAULT);
            assert_eq!(settings.memory_kib, 65_536);
            assert_eq!(settings.iterations, 3);
        }
        other => panic!("{other:?}"),
    }
    phone.lock();
    phone.unlock_with_passphrase(PIN, at(1, 0)).unwrap();
    // A slot whose parameters were weakened below the minimum is refused, so an
    // attacker with write access cannot downgrade the PIN's cost for later.
    let mut bytes = slot.clone();
    bytes[2..6].copy_from_slice(&64u32.to_be_bytes());
    assert!(
        KeySlot::from_bytes(&bytes)
            .unwrap()
            .open_passphrase(PIN, &quet_client::vault::DiaryPublicKey([0; 32]))
            .is_err()
    );
}

#[test]
fn a_passkey_and_a_pin_open_the_same_diary() {
    let s = scene();
    let mut phone = memory_client(7);
    phone.pin_authority(&s.world.descriptor_bytes()).unwrap();
    phone.check_in(&s.url, at(12, 0)).unwrap();
    let prf = [0x5a; 32];
    phone.set_prf(&prf).unwrap();
    assert!(!phone.protection().unwrap().unprotected);
    phone.set_passphrase(PIN).unwrap();
    phone.lock();
    assert!(matches!(
        phone.unlock_with_prf(&[0x5b; 32], at(13, 0)),
        Err(ClientError::WrongPassphrase { .. })
    ));
    phone.unlock_with_prf(&prf, at(13, 0)).unwrap();
    assert_eq!(phone.diary_at_rest().unwrap()[0].venue_name, NAME);
    phone.lock();
    phone.unlock_with_passphrase(PIN, at(13, 0)).unwrap();
    assert_eq!(phone.diary_at_rest().unwrap()[0].venue_name, NAME);
    phone.remove_prf().unwrap();
    phone.lock();
    assert!(phone.unlock_with_prf(&prf, at(13, 1)).is_err());
}
