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
    s.apply(vec![Op::PutChain(
        1,
        ChainRow {
            sequence: 4,
            hash: [4; 32],
        },
    )])
    .unwrap();
    // A batch whose second op fails (exposure for a missing check-in violates the
    // foreign key) must not apply its first op.
    let r = s.apply(vec![
        Op::PutChain(
            1,
            ChainRow {
                sequence: 5,
                hash: [5; 32],
            },
        ),
        Op::InsertExposure(quet_client::store::ExposureRow {
            check_in: 77,
            nonce: [1; 16],
            severity: 2,
            found_at: 1,
            blob: vec![1],
        }),
    ]);
    assert!(r.is_err());
    assert_eq!(s.chain(1).unwrap().unwrap().sequence, 4);
    drop(s);
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(
        s.chain(1).unwrap(),
        Some(ChainRow {
            sequence: 4,
            hash: [4; 32]
        })
    );
}
