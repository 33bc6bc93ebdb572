//! The server's side of protocol 1.1, against the real binary where it matters:
//! the signed head, the report window against photographed codes, review flags,
//! capsule secrets destroyed after their retention (forward secrecy), revocations
//! repeated in bulletins, and venue-initiated traces that take only the days they
//! need.

mod common;

use common::*;
use quet_protocol::bulletin::Bulletin;
use quet_protocol::chain::{ChainView, SyncPlan};
use quet_protocol::envelope::{REPORT_ENVELOPE_COUNT, ReportEnvelope};
use quet_protocol::head::BulletinHead;
use quet_protocol::testing::test_rng;
use quet_protocol::time::{Day, UnixTime};
use quet_protocol::venue_keys::{VenueMasterKey, day_keys_to_text};

const RELAXED: &[&str] = &["--attempts-per-minute", "1000", "--publish-interval", "0"];

fn approve_body() -> serde_json::Value {
    serde_json::json!({"severity": "test", "buffer_minutes": 30})
}

fn upload_at(
    s: &Server,
    code: &str,
    d: &quet_protocol::authority::AuthorityDescriptor,
    v: &mut Venue,
    code_time: u64,
    arrival: u64,
) -> Resp {
    let mut rng = test_rng(40);
    let c = v.issuer.screen_code(&mut rng, UnixTime(code_time)).unwrap();
    let mut envs = vec![
        data_encoding::BASE64.encode(
            ReportEnvelope::seal(&mut rng, d, &c, UnixTime(arrival), UnixTime(arrival + 600))
                .unwrap()
                .as_bytes(),
        ),
    ];
    while envs.len() < REPORT_ENVELOPE_COUNT {
        envs.push(
            data_encoding::BASE64.encode(
                ReportEnvelope::padding(&mut rng, d, UnixTime(now()))
                    .unwrap()
                    .as_bytes(),
            ),
        );
    }
    upload(s, code, &envs, false)
}

/// Clients follow the signed head, never the index: it is served, verifies under
/// the pinned descriptor, and names exactly the published bulletins.
#[test]
fn the_head_is_served_signed_and_names_the_published_chain() {
    let ha = Authority::new();
    let s = Server::start(&ha.data(), RELAXED);
    let d = descriptor(&s);
    let t = now();
    let view = ChainView::default();
    let head0 = get(&s.url("/v1/bulletins/head"));
    assert_eq!(head0.status, 200);
    assert_eq!(head0.header("cache-control"), Some("public, max-age=60"));
    let (h0, plan) = view.check_head(&head0.body, &d, UnixTime(t)).unwrap();
    assert_eq!((h0.latest.sequence, plan), (0, SyncPlan::UpToDate));
    assert_eq!(
        admin(&s, &ha.token, "POST", "/admin/v1/publish", None).json()["sequence"],
        1
    );
    // The publication re-signed the head in the same transaction; the cache follows.
    assert!(wait_until(
        || {
            let h = get(&s.url("/v1/bulletins/head"));
            BulletinHead::decode_and_verify(&h.body, &d).is_ok_and(|h| h.latest.sequence == 1)
        },
        70
    ));
    let head =
        BulletinHead::decode_and_verify(&get(&s.url("/v1/bulletins/head")).body, &d).unwrap();
    let b1 =
        Bulletin::decode_and_verify_signature(&get(&s.url("/v1/bulletins/1")).body, &d).unwrap();
    assert_eq!(head.latest.hash, b1.hash());
    assert_eq!(head.oldest.hash, b1.hash());
    assert_eq!(head.descriptor_serial, d.serial);
}

/// A photo of a screen code checked in later by a phone with a wrong clock yields
/// an envelope whose arrival is the photo's time; one older than the window the
/// authorization code asks for is refused for approval, and an arrival more than a
/// minute from the code's time is flagged for staff.
#[test]
fn report_window_is_enforced_and_odd_arrivals_are_flagged() {
    // An authority running for a week, so codes from two days ago exist.
    let ha = Authority::new_at(now() - 7 * 86_400);
    let s = Server::start(&ha.data(), RELAXED);
    let d = descriptor(&s);
    let mut v = venue(21, &d, "Quán Ốc");
    let t = now();
    let narrow = admin(
        &s,
        &ha.token,
        "POST",
        "/admin/v1/auth-codes",
        Some(serde_json::json!({"valid_hours": 24, "report_days": 1})),
    )
    .json();
    let code = narrow["auth_code"].as_str().unwrap().to_owned();
    // Two days old: the code and arrival agree, but it is outside the window.
    let old = t - 2 * 86_400;
    assert_eq!(upload_at(&s, &code, &d, &mut v, old, old + 30).status, 202);
    let code2 = issue_code(&s, &ha.token);
    // Within the window but 100 s away from the code's time (allowed, flagged).
    assert_eq!(
        upload_at(&s, &code2, &d, &mut v, t - 3_600, t - 3_500).status,
        202
    );
    let list = admin(&s, &ha.token, "GET", "/admin/v1/reviews", None).json();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["verified"], false);
    assert!(
        list[0]["problem"]
            .as_str()
            .unwrap()
            .contains("before the window"),
        "{}",
        list[0]
    );
    let id0 = list[0]["id"].as_i64().unwrap();
    admin(
        &s,
        &ha.token,
        "POST",
        &format!("/admin/v1/reviews/{id0}/approve"),
        Some(approve_body()),
    )
    .assert_error(409, "conflict");
    assert_eq!(list[1]["verified"], true);
    assert_eq!(list[1]["arrival_offset_secs"], 100);
    let flags: Vec<&str> = list[1]["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(flags.contains(&"arrival far from code time"), "{flags:?}");
    assert!(flags.contains(&"unregistered venue"), "{flags:?}");
    assert_eq!(list[1]["registered"], false);
}

/// Forward secrecy: an authority created 60 days ago has weekly capsule keys; the
/// running server destroys every secret whose week ended more than 24 days ago
/// (files gone), and an envelope sealed to such a key can no longer be opened by
/// anyone, the HA included.
#[test]
fn capsule_secrets_are_destroyed_after_their_retention() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ha");
    let t = now();
    let start = t - 60 * 86_400;
    quet_server::keystore::init_at(
        &quet_server::InitOptions {
            data_dir: data.clone(),
            name: "HA".into(),
            base_url: "https://quet.example".into(),
            id: Some(3),
        },
        start,
    )
    .unwrap();
    let token = quet_server::add_staff(&data, "bob").unwrap();
    let before = quet_server::keystore::load(&data).unwrap();
    let old_key = before
        .descriptor
        .capsule_for(UnixTime(start + 60))
        .unwrap()
        .0;
    let key_file = data.join("keys").join(format!("capsule-{old_key}.key"));
    assert!(key_file.exists());
    let expected_gone: Vec<u8> = before
        .keys()
        .capsule
        .iter()
        .filter(|k| k.destroy_after().0 <= t)
        .map(|k| k.key_id)
        .collect();
    assert!(expected_gone.contains(&old_key) && expected_gone.len() >= 4);
    // An envelope a phone sealed in the first week, still on the phone.
    let mut rng = test_rng(9);
    let mut v = venue(22, &before.descriptor, "Cà phê");
    let c = v
        .issuer
        .screen_code(&mut rng, UnixTime(start + 3_600))
        .unwrap();
    let old_env = ReportEnvelope::seal(
        &mut rng,
        &before.descriptor,
        &c,
        UnixTime(start + 3_600),
        UnixTime(start + 4_000),
    )
    .unwrap();
    assert_eq!(old_env.as_bytes()[1], old_key);
    assert!(
        old_env
            .open_and_verify(&before.keys(), &before.descriptor)
            .is_ok()
    );
    drop(before);

    let s = Server::start(&data, RELAXED);
    assert!(
        wait_until(|| !key_file.exists(), 70),
        "secret not destroyed"
    );
    for id in &expected_gone {
        assert!(!data.join("keys").join(format!("capsule-{id}.key")).exists());
    }
    let after = quet_server::keystore::load(&data).unwrap();
    assert!(matches!(
        old_env.open_and_verify(&after.keys(), &after.descriptor),
        Err(quet_protocol::Error::UnknownKeyId { .. })
    ));
    // The current week's key is still there: today's reports work.
    assert!(after.descriptor.capsule_for(UnixTime(t)).is_ok());
    let d = descriptor(&s);
    let code = issue_code(&s, &token);
    assert_eq!(upload_at(&s, &code, &d, &mut v, t - 60, t).status, 202);
}

/// A venue-initiated trace takes a day-key sheet holding only the days the trace
/// needs; a sheet that lacks one is refused, naming it.
#[test]
fn a_venue_trace_takes_only_the_days_it_needs() {
    let ha = Authority::new();
    let s = Server::start(&ha.data(), RELAXED);
    let master = VenueMasterKey::generate(&mut test_rng(33));
    let t = now() - 6 * 3_600;
    let req = |sheet: String| {
        serde_json::json!({
            "sheet": sheet, "start": t, "end": t + 1_800, "max_stay_minutes": 60,
            "buffer_minutes": 0, "posters": false, "severity": "monitor",
        })
    };
    let preview = admin(
        &s,
        &ha.token,
        "POST",
        "/admin/v1/traces/preview",
        Some(req(master.to_sheet_text())),
    )
    .json();
    let epochs = preview["epochs"].as_array().unwrap();
    assert!(epochs.iter().all(|e| e["kind"] == "hour"), "screen only");
    let mut days: Vec<u32> = epochs
        .iter()
        .map(|e| u32::try_from(e["index"].as_u64().unwrap() / 24).unwrap())
        .collect();
    days.dedup();
    let keys: Vec<_> = days.iter().map(|d| master.day_key(Day(*d))).collect();
    let ok = admin(
        &s,
        &ha.token,
        "POST",
        "/admin/v1/traces",
        Some(req(day_keys_to_text(&keys).unwrap())),
    );
    assert_eq!(ok.status, 200, "{}", String::from_utf8_lossy(&ok.body));
    // A sheet for the day before only: refused, naming the missing day.
    let wrong = [master.day_key(Day(days[0] - 1))];
    let r = admin(
        &s,
        &ha.token,
        "POST",
        "/admin/v1/traces",
        Some(req(day_keys_to_text(&wrong).unwrap())),
    );
    r.assert_error(400, "bad_request");
    assert!(String::from_utf8_lossy(&r.body).contains(&days[0].to_string()));
}

/// Revoked venue keys are repeated in every bulletin until their last day.
#[test]
fn revocations_are_repeated_in_bulletins_until_they_end() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ha");
    quet_server::init_authority(&quet_server::InitOptions {
        data_dir: data.clone(),
        name: "HA".into(),
        base_url: "https://quet.example".into(),
        id: Some(4),
    })
    .unwrap();
    let a = quet_server::keystore::load(&data).unwrap();
    let mut conn = quet_server::db::open(&quet_server::keystore::db_path(&data)).unwrap();
    let t = now();
    let today = Day(u32::try_from(t / 86_400).unwrap());
    let publish_at = |conn: &mut rusqlite::Connection, at: u64| {
        let tx = conn.transaction().unwrap();
        quet_server::publish::publish(&tx, &a, at, 14, 32).unwrap();
        tx.commit().unwrap();
        let bytes: Vec<u8> = conn
            .query_row(
                "SELECT bytes FROM bulletins ORDER BY sequence DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        Bulletin::decode_and_verify_signature(&bytes, &a.descriptor).unwrap()
    };
    let tx = conn.transaction().unwrap();
    quet_server::publish::revoke_venue_key(&tx, &[7; 32], Day(today.0 + 2), t).unwrap();
    tx.commit().unwrap();
    for at in [t, t + 86_400, t + 2 * 86_400] {
        let b = publish_at(&mut conn, at);
        assert_eq!(b.revoked.len(), 1, "still listed at {at}");
        assert_eq!(b.revoked[0].venue_key, [7; 32]);
    }
    assert!(publish_at(&mut conn, t + 3 * 86_400).revoked.is_empty());
}
