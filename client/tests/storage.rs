//! The SQLite store: encryption at rest (no plaintext venue data in the file), the
//! 0600 key file, schema migrations, persistence across reopen, and atomic batches.

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

fn all_bytes(dir: &std::path::Path) -> Vec<u8> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        out.extend(std::fs::read(e.unwrap().path()).unwrap());
    }
    out
}

#[test]
fn no_plaintext_venue_data_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = World::new(BASE);
    let mut venue = w.venue("Quán Bia Hơi Đặc Biệt", Category::BarKaraoke);
    let mut c = open(dir.path(), 1);
    c.pin_authority(&w.descriptor_bytes()).unwrap();
    let url = w.code_url(&mut venue, at(19, 0));
    c.check_in(&url, at(19, 0)).unwrap();
    c.check_out(None, at(20, 0)).unwrap();
    drop(c);
    let bytes = all_bytes(dir.path());
    for needle in ["Quán Bia Hơi Đặc Biệt", "Tràng Tiền", "bar-karaoke"] {
        assert!(
            !bytes.windows(needle.len()).any(|x| x == needle.as_bytes()),
            "{needle} found in plaintext"
        );
    }
    // The diary still decrypts after reopening.
    let mut c = open(dir.path(), 2);
    let d = c.diary(at(20, 1)).unwrap();
    assert_eq!(d[0].venue_name, "Quán Bia Hơi Đặc Biệt");
    assert_eq!(d[0].departure, at(20, 0).0);
}

#[cfg(unix)]
#[test]
fn key_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path(), 1));
    let meta = std::fs::metadata(dir.path().join(quet_client::native::KEY_FILE)).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(meta.len(), 32);
}

#[test]
fn wrong_key_cannot_read_the_diary() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = World::new(BASE);
    let mut venue = w.venue("Phở Thìn", Category::Restaurant);
    let mut c = open(dir.path(), 1);
    c.pin_authority(&w.descriptor_bytes()).unwrap();
    let url = w.code_url(&mut venue, at(12, 0));
    c.check_in(&url, at(12, 0)).unwrap();
    drop(c);
    std::fs::write(dir.path().join(quet_client::native::KEY_FILE), [0u8; 32]).unwrap();
    let c = open(dir.path(), 1);
    assert_eq!(c.diary_at_rest().unwrap_err().kind(), "local_decrypt");
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
