//! The native [`Store`]: one SQLite file, WAL journal with `synchronous = FULL`, so
//! a committed batch survives a crash and a crash mid-batch leaves nothing of it.
//!
//! Schema versions are tracked in `PRAGMA user_version`; [`MIGRATIONS`] upgrades an
//! older file in place, one transaction per step. The diary and alert details are
//! sealed to the diary key; tokens and envelopes are opaque protocol objects; the
//! active stay lives only while it lasts. `secure_delete` overwrites what is
//! deleted (an erased stay or diary entry does not linger in free pages).

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use crate::error::{ClientError, Result};
use crate::store::{ChainRow, CheckInRow, ExposureRow, Op, Store};

/// Schema migrations: entry `i` upgrades from version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // 1: initial schema.
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
     CREATE TABLE authority (id INTEGER PRIMARY KEY, descriptor BLOB NOT NULL);
     CREATE TABLE chain (authority INTEGER PRIMARY KEY, sequence INTEGER NOT NULL, hash BLOB NOT NULL);
     CREATE TABLE check_in (
         id INTEGER PRIMARY KEY,
         epoch_kind INTEGER NOT NULL,
         epoch_index INTEGER NOT NULL,
         token BLOB NOT NULL,
         envelope BLOB NOT NULL,
         diary BLOB NOT NULL,
         active BLOB);
     CREATE INDEX check_in_epoch ON check_in (epoch_kind, epoch_index);
     CREATE TABLE exposure (
         check_in INTEGER NOT NULL REFERENCES check_in (id) ON DELETE CASCADE,
         nonce BLOB NOT NULL,
         blob BLOB NOT NULL,
         PRIMARY KEY (check_in, nonce));
     CREATE INDEX exposure_nonce ON exposure (nonce);",
    // 2: the diary key. Alerts keep what a locked phone shows in the clear
    // (severity, when found); rows written under schema 1 are re-sealed by
    // `Client::migrate_local_key` (the legacy local key file).
    "ALTER TABLE exposure ADD COLUMN severity INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE exposure ADD COLUMN found_at INTEGER NOT NULL DEFAULT 0;",
    // 3: protocol 1.1. The chain state is the protocol's chain view (last bulletin
    // with its expiry, newest verified head), encoded by the core. A 1.0 chain
    // position cannot be carried over (1.0 bulletins do not verify under 1.1):
    // the next sync anchors on the head's oldest live bulletin.
    "DROP TABLE chain;
     CREATE TABLE chain_state (authority INTEGER PRIMARY KEY, state BLOB NOT NULL);",
];

/// The schema version this build writes.
pub fn schema_version() -> u32 {
    u32::try_from(MIGRATIONS.len()).unwrap_or(u32::MAX)
}

fn db(e: rusqlite::Error) -> ClientError {
    ClientError::Storage(e.to_string())
}

/// A SQLite-backed store.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
}

impl SqliteStore {
    /// Opens (creating if needed) and migrates the database at `path`.
    pub fn open(path: &Path) -> Result<SqliteStore> {
        let conn = Connection::open(path).map_err(db)?;
        Self::setup(conn)
    }

    /// An in-memory SQLite database (tests).
    pub fn open_in_memory() -> Result<SqliteStore> {
        Self::setup(Connection::open_in_memory().map_err(db)?)
    }

    fn setup(mut conn: Connection) -> Result<SqliteStore> {
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(db)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(db)?;
        conn.pragma_update(None, "secure_delete", "ON")
            .map_err(db)?;
        let version: u32 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(db)?;
        if version > schema_version() {
            return Err(ClientError::Storage(format!(
                "database schema {version} is newer than this app ({}); update the app",
                schema_version()
            )));
        }
        for (i, step) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = conn.transaction().map_err(db)?;
            tx.execute_batch(step).map_err(db)?;
            tx.pragma_update(
                None,
                "user_version",
                i64::try_from(i + 1).unwrap_or(i64::MAX),
            )
            .map_err(db)?;
            tx.commit().map_err(db)?;
        }
        Ok(SqliteStore { conn })
    }

    /// The schema version of the open file.
    pub fn user_version(&self) -> Result<u32> {
        self.conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(db)
    }
}

fn apply_op(tx: &rusqlite::Transaction<'_>, op: &Op) -> rusqlite::Result<()> {
    match op {
        Op::PutMeta(k, v) => {
            tx.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
                params![k, v],
            )?;
        }
        Op::DeleteMeta(k) => {
            tx.execute("DELETE FROM meta WHERE key = ?1", params![k])?;
        }
        Op::PutAuthority(id, bytes) => {
            tx.execute(
                "INSERT OR REPLACE INTO authority (id, descriptor) VALUES (?1, ?2)",
                params![id, bytes],
            )?;
        }
        Op::RemoveAuthority(id) => {
            tx.execute("DELETE FROM authority WHERE id = ?1", params![id])?;
            tx.execute("DELETE FROM chain_state WHERE authority = ?1", params![id])?;
        }
        Op::PutChain(id, row) => {
            tx.execute(
                "INSERT OR REPLACE INTO chain_state (authority, state) VALUES (?1, ?2)",
                params![id, row.state],
            )?;
        }
        Op::PutCheckIn(r) => {
            tx.execute(
                "INSERT INTO check_in (id, epoch_kind, epoch_index, token, envelope, diary, active)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (id) DO UPDATE SET epoch_kind = excluded.epoch_kind,
                   epoch_index = excluded.epoch_index, token = excluded.token,
                   envelope = excluded.envelope, diary = excluded.diary, active = excluded.active",
                params![
                    i(r.id)?,
                    r.epoch_kind,
                    r.epoch_index,
                    r.token,
                    r.envelope,
                    r.diary,
                    r.active
                ],
            )?;
        }
        Op::DeleteCheckIn(id) => {
            tx.execute("DELETE FROM exposure WHERE check_in = ?1", params![i(*id)?])?;
            tx.execute("DELETE FROM check_in WHERE id = ?1", params![i(*id)?])?;
        }
        Op::InsertExposure(e) => {
            tx.execute(
                "INSERT OR IGNORE INTO exposure (check_in, nonce, severity, found_at, blob)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    i(e.check_in)?,
                    &e.nonce[..],
                    e.severity,
                    i(e.found_at)?,
                    e.blob
                ],
            )?;
        }
        Op::PutExposure(e) => {
            tx.execute(
                "INSERT OR REPLACE INTO exposure (check_in, nonce, severity, found_at, blob)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    i(e.check_in)?,
                    &e.nonce[..],
                    e.severity,
                    i(e.found_at)?,
                    e.blob
                ],
            )?;
        }
        Op::DeleteExposuresByNonce(n) => {
            tx.execute("DELETE FROM exposure WHERE nonce = ?1", params![&n[..]])?;
        }
        Op::DeleteAllCheckIns => {
            tx.execute("DELETE FROM exposure", [])?;
            tx.execute("DELETE FROM check_in", [])?;
        }
    }
    Ok(())
}

/// Whether an op removes something a seized phone must not give up afterwards.
fn erases(op: &Op) -> bool {
    match op {
        Op::PutCheckIn(row) => row.active.is_none(),
        Op::DeleteMeta(_)
        | Op::RemoveAuthority(_)
        | Op::DeleteCheckIn(_)
        | Op::DeleteExposuresByNonce(_)
        | Op::DeleteAllCheckIns => true,
        Op::PutMeta(..) | Op::PutAuthority(..) | Op::PutChain(..) => false,
        Op::InsertExposure(_) | Op::PutExposure(_) => false,
    }
}

fn i(v: u64) -> rusqlite::Result<i64> {
    i64::try_from(v).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

fn u(v: i64) -> Result<u64> {
    u64::try_from(v).map_err(|_| ClientError::Storage("negative id in database".into()))
}

fn array<const N: usize>(v: Vec<u8>) -> Result<[u8; N]> {
    v.try_into()
        .map_err(|_| ClientError::Storage("corrupt fixed-size column".into()))
}

impl Store for SqliteStore {
    fn meta(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", params![key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(db)
    }

    fn authorities(&self) -> Result<Vec<(u32, Vec<u8>)>> {
        let mut st = self
            .conn
            .prepare("SELECT id, descriptor FROM authority ORDER BY id")
            .map_err(db)?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(db)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db)
    }

    fn chain(&self, authority: u32) -> Result<Option<ChainRow>> {
        self.conn
            .query_row(
                "SELECT state FROM chain_state WHERE authority = ?1",
                params![authority],
                |r| Ok(ChainRow { state: r.get(0)? }),
            )
            .optional()
            .map_err(db)
    }

    fn check_ins(&self) -> Result<Vec<CheckInRow>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT id, epoch_kind, epoch_index, token, envelope, diary, active
                 FROM check_in ORDER BY id",
            )
            .map_err(db)?;
        let rows = st
            .query_map([], |r| {
                Ok(CheckInRow {
                    id: r.get::<_, i64>(0)?.cast_unsigned(),
                    epoch_kind: r.get(1)?,
                    epoch_index: r.get(2)?,
                    token: r.get(3)?,
                    envelope: r.get(4)?,
                    diary: r.get(5)?,
                    active: r.get(6)?,
                })
            })
            .map_err(db)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db)
    }

    fn exposures(&self) -> Result<Vec<ExposureRow>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT check_in, nonce, severity, found_at, blob FROM exposure
                 ORDER BY check_in, nonce",
            )
            .map_err(db)?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, u8>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get(4)?,
                ))
            })
            .map_err(db)?;
        let mut out = Vec::new();
        for row in rows {
            let (check_in, nonce, severity, found_at, blob) = row.map_err(db)?;
            out.push(ExposureRow {
                check_in: u(check_in)?,
                nonce: array(nonce)?,
                severity,
                found_at: u(found_at)?,
                blob,
            });
        }
        Ok(out)
    }

    fn apply(&mut self, ops: Vec<Op>) -> Result<()> {
        let tx = self.conn.transaction().map_err(db)?;
        for op in &ops {
            apply_op(&tx, op).map_err(db)?;
        }
        tx.commit().map_err(db)?;
        if ops.iter().any(erases) {
            // The WAL still holds the pages as they were before this batch (an
            // active stay's code, a deleted diary entry): copy it into the
            // database, where `secure_delete` zeroed what was freed, and truncate
            // it to nothing.
            self.conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                .map_err(db)?;
        }
        Ok(())
    }
}
