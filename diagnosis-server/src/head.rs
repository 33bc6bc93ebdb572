//! The signed bulletin head served at `/v1/bulletins/head` (protocol §11.2).
//!
//! One head is stored (table `heads`, one row). It is re-signed in the transaction of
//! every publication, by the maintenance task every `head_interval_secs` even when
//! nothing is published (so a frozen mirror shows within hours), and on demand when
//! the stored one has expired (a server that was down). The static export signs its
//! own fresh head from the same database.

use quet_protocol::head::{BulletinHead, ChainPoint, HeadDraft};
use quet_protocol::time::UnixTime;
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::db::ts;
use crate::error::ServerError;
use crate::keystore::Authority;

/// A stored head.
#[derive(Debug, Clone)]
pub struct StoredHead {
    /// Signed bytes.
    pub bytes: Vec<u8>,
    /// Issue time.
    pub issued_at: u64,
    /// Expiry.
    pub expires_at: u64,
}

fn point(conn: &Connection, sql: &str, now: u64) -> rusqlite::Result<Option<ChainPoint>> {
    conn.query_row(sql, [ts(now)], |r| {
        let seq: i64 = r.get(0)?;
        let hash: Vec<u8> = r.get(1)?;
        Ok((seq, hash))
    })
    .optional()
    .map(|o| {
        o.and_then(|(seq, hash)| {
            Some(ChainPoint {
                sequence: u64::try_from(seq).ok()?,
                hash: hash.try_into().ok()?,
            })
        })
    })
}

/// The head as of `now`, from the bulletins table: the newest bulletin ever issued
/// (the newest row is never purged) and the oldest one still live.
pub fn draft(
    conn: &Connection,
    authority: &Authority,
    now: u64,
    lifetime_secs: u64,
) -> Result<HeadDraft, ServerError> {
    let latest = point(
        conn,
        "SELECT sequence, chain_hash FROM bulletins WHERE ?1 = ?1 ORDER BY sequence DESC LIMIT 1",
        now,
    )?
    .unwrap_or_default();
    let oldest = point(
        conn,
        "SELECT sequence, chain_hash FROM bulletins WHERE expires_at > ?1 ORDER BY sequence LIMIT 1",
        now,
    )?
    .unwrap_or(ChainPoint {
        sequence: latest.sequence + 1,
        hash: [0; 32],
    });
    Ok(HeadDraft {
        descriptor_serial: authority.descriptor.serial,
        latest,
        oldest,
        issued_at: UnixTime(now),
        expires_at: UnixTime(now.saturating_add(lifetime_secs)),
    })
}

/// Signs a head as of `now` (no storing): what the static export writes.
pub fn sign(
    conn: &Connection,
    authority: &Authority,
    now: u64,
    lifetime_secs: u64,
) -> Result<BulletinHead, ServerError> {
    let d = draft(conn, authority, now, lifetime_secs)?;
    Ok(BulletinHead::sign(
        &d,
        &authority.keys(),
        &authority.descriptor,
    )?)
}

/// Signs a head as of `now` and stores it (inside the caller's transaction).
pub fn refresh(
    tx: &Transaction<'_>,
    authority: &Authority,
    now: u64,
    lifetime_secs: u64,
) -> Result<StoredHead, ServerError> {
    let head = sign(tx, authority, now, lifetime_secs)?;
    tx.execute(
        "INSERT INTO heads (id, bytes, issued_at, expires_at) VALUES (1, ?1, ?2, ?3)
         ON CONFLICT(id) DO UPDATE SET bytes = excluded.bytes, issued_at = excluded.issued_at, expires_at = excluded.expires_at",
        params![head.as_bytes(), ts(head.issued_at.0), ts(head.expires_at.0)],
    )?;
    Ok(StoredHead {
        bytes: head.as_bytes().to_vec(),
        issued_at: head.issued_at.0,
        expires_at: head.expires_at.0,
    })
}

/// The stored head, if any.
pub fn stored(conn: &Connection) -> rusqlite::Result<Option<StoredHead>> {
    conn.query_row(
        "SELECT bytes, issued_at, expires_at FROM heads WHERE id = 1",
        [],
        |r| {
            Ok(StoredHead {
                bytes: r.get(0)?,
                issued_at: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                expires_at: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
            })
        },
    )
    .optional()
}

/// Whether the stored head should be replaced at `now`: none, older than the
/// interval, or expired.
pub fn is_due(head: Option<&StoredHead>, now: u64, interval_secs: u64) -> bool {
    head.is_none_or(|h| now >= h.issued_at.saturating_add(interval_secs) || now >= h.expires_at)
}
