//! The SQLite store: nothing but the database in the data directory, schema
//! migrations, persistence across reopen, atomic batches, and the migration of a
//! directory written with the old `local.key` file.

mod common;

use common::*;
use quet_client::sqlite::{MIGRATIONS, SqliteStore, schema_version};
use quet_client::store::{ChainRow, Op};
use quet_client::{Client, Store};
use quet_protocol::category::Category;
use quet_protocol::testing::test_rng;

const BASE: &str = "https://quet.soyte.example";

fn open(dir: &std::path::Path, seed: u8) -> Client<SqliteStore> {
    Client::open_dir_with_rng(dir, Box::new(test_rng(seed))).unwrap()
}

#[test]
fn no_key_file_next_to_the_database_and_the_directory_is_private() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = World::new(BASE);
    let mut venue = w.venue("Phở Thìn", Category::Restaurant);
    let mut c = open(dir.path(), 1);
    c.set_argon2_settings(quet_client::Argon2Settings::MINIMUM);
    c.set_up_with_passphrase(b"correct horse").unwrap();
    c.pin_authority(&w.descriptor_bytes()).unwrap();
    let url = w.code_url(&mut venue, at(12, 0));
    c.check_in(&url, at(12, 0)).unwrap();
    drop(c);
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| n.starts_with("quet.db")),
        "only the database (and its WAL) lives in the directory: {names:?}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }
}

#[test]
fn migrations_run_once_and_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("quet.db");
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(s.user_version().unwrap(), schema_version());
    assert_eq!(schema_version() as usize, MIGRATIONS.len());
    drop(s);
    // Reopening does not re-run migrations (which would fail on existing tables).
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(s.user_version().unwrap(), schema_version());
    drop(s);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let e = SqliteStore::open(&path).unwrap_err();
    assert!(e.to_string().contains("newer"), "{e}");
}

#[test]
fn failed_batch_leaves_nothing_and_committed_data_survives() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("quet.db");
    let mut s = SqliteStore::open(&path).unwrap();
    s.apply(vec![Op::PutChain(1, ChainRow { state: vec![4; 8] })])
        .unwrap();
    // A batch whose second op fails (exposure for a missing check-in violates the
    // foreign key) must not apply its first op.
    let r = s.apply(vec![
        Op::PutChain(1, ChainRow { state: vec![5; 8] }),
        Op::InsertExposure(quet_client::store::ExposureRow {
            check_in: 77,
            nonce: [1; 16],
            severity: 2,
            found_at: 1,
            blob: vec![1],
        }),
    ]);
    assert!(r.is_err());
    assert_eq!(s.chain(1).unwrap().unwrap().state, vec![4; 8]);
    drop(s);
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(s.chain(1).unwrap(), Some(ChainRow { state: vec![4; 8] }));
}

/// A directory written by the previous version: rows encrypted under a key in
/// `local.key` beside the database. Opening it asks for a migration; migrating
/// re-seals everything under a passphrase and shreds the key file.
#[test]
fn a_legacy_directory_is_migrated_under_a_passphrase_and_its_key_file_shredded() {
    use quet_client::legacy::LocalKey;
    use quet_client::store::CheckInRow;
    use quet_protocol::envelope::ReportEnvelope;
    use quet_protocol::token::EncounterToken;

    let dir = tempfile::tempdir().unwrap();
    let mut w = World::new(BASE);
    let mut venue = w.venue("Bia Hơi QZXLEGACY", Category::BarKaraoke);
    let mut rng = test_rng(4);
    let key = LocalKey::generate(&mut rng);
    // Two check-ins as schema 1 stored them: one finished, one ongoing.
    let mut store = SqliteStore::open(&dir.path().join("quet.db")).unwrap();
    store
        .apply(vec![Op::PutAuthority(
            w.descriptor.id.0,
            w.descriptor_bytes(),
        )])
        .unwrap();
    for (id, (t, active)) in [(at(12, 0), false), (at(19, 0), true)]
        .into_iter()
        .enumerate()
    {
        let id = id as u64 + 1;
        let code = venue.screen_code(&mut w.rng, t).unwrap();
        let (token, record) = EncounterToken::check_in(&mut rng, &code, t).unwrap();
        let env =
            ReportEnvelope::seal(&mut rng, &w.descriptor, &code, t, record.departure).unwrap();
        let diary = serde_json::json!({
            "authority": w.descriptor.id.0, "poster": false,
            "venue_name": "Bia Hơi QZXLEGACY", "venue_address": "1 Tạ Hiện",
            "category": "bar-karaoke", "max_stay_minutes": 240,
            "arrival": t.0, "departure": record.departure.0, "checked_out": !active,
        });
        let rid = id.to_be_bytes();
        store
            .apply(vec![Op::PutCheckIn(CheckInRow {
                id,
                epoch_kind: 1,
                epoch_index: (t.0 / 3600) as u32,
                token: key
                    .seal(&mut rng, "token", &rid, &token.to_bytes())
                    .unwrap(),
                envelope: key
                    .seal(&mut rng, "envelope", &rid, env.as_bytes())
                    .unwrap(),
                diary: key
                    .seal(&mut rng, "diary", &rid, diary.to_string().as_bytes())
                    .unwrap(),
                active: active
                    .then(|| key.seal(&mut rng, "active", &rid, code.as_bytes()).unwrap()),
            })])
            .unwrap();
    }
    drop(store);
    std::fs::write(dir.path().join("local.key"), key.expose()).unwrap();

    let e = Client::open_dir(dir.path()).unwrap_err();
    assert_eq!(e.kind(), "migration_needed");
    assert_eq!(e.exit_code(), quet_client::exit::LOCKED);
    let (mut c, moved) = Client::migrate_dir(dir.path(), b"new passphrase").unwrap();
    assert_eq!(moved, 2);
    assert!(
        !dir.path().join("local.key").exists(),
        "the key file is gone"
    );
    let diary = c.diary_at_rest().unwrap();
    assert_eq!(diary.len(), 2);
    assert!(diary.iter().all(|d| d.venue_name == "Bia Hơi QZXLEGACY"));
    assert!(diary[0].checked_in, "the ongoing stay is still ongoing");
    // The ongoing stay checks out from its migrated code.
    let out = c.check_out(None, at(19, 30)).unwrap();
    assert_eq!(out.departure, at(19, 30).0);
    drop(c);
    // Nothing readable is left on disk, and the passphrase opens it.
    let mut bytes = Vec::new();
    for e in std::fs::read_dir(dir.path()).unwrap() {
        bytes.extend(std::fs::read(e.unwrap().path()).unwrap());
    }
    assert!(!bytes.windows(9).any(|w| w == b"QZXLEGACY"));
    let mut c = Client::open_dir(dir.path()).unwrap();
    assert!(matches!(
        c.diary_at_rest(),
        Err(quet_client::ClientError::Locked)
    ));
    c.unlock_with_passphrase(b"new passphrase", at(20, 0))
        .unwrap();
    assert_eq!(c.diary_at_rest().unwrap().len(), 2);
}
