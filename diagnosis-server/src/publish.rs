//! Publishing bulletins and keeping the chain: queued notices, withdrawals and live
//! revocations go into the next bulletin, padded with decoys in the shapes of the
//! authority's recent real notices up to a key-count bucket, signed, and stored in
//! the same transaction that marks the notices published and re-signs the head.
//!
//! Retention: a bulletin is live (listed and served) while `expires_at > now`
//! (`issued_at + lifetime`). Rows are deleted only a day after they stop being
//! live, so nothing the index lists is ever missing.

use quet_protocol::bulletin::{BulletinDraft, Revocation};
use quet_protocol::notice::{NoticeShape, SegmentShape};
use quet_protocol::time::{Day, EpochKind, UnixTime};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use sha2::{Digest, Sha256};

use crate::db::ts;
use crate::error::ServerError;
use crate::keystore::Authority;
use crate::rng::system_rng;
use quet_protocol::notice::ExposureNotice;

/// A stored bulletin.
#[derive(Debug, Clone)]
pub struct StoredBulletin {
    /// Sequence number.
    pub sequence: u64,
    /// Signed bytes.
    pub bytes: Vec<u8>,
    /// Hex SHA-256 of the bytes.
    pub sha256: String,
    /// Expiry, Unix seconds.
    pub expires_at: u64,
}

/// Result of one publication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    /// The new bulletin's sequence.
    pub sequence: u64,
    /// Real notices it carries.
    pub notices: usize,
    /// Notices it withdraws.
    pub withdrawn: usize,
}

/// Whether anything is waiting to be published.
pub fn has_queued(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS(SELECT 1 FROM notices WHERE status IN ('queued', 'withdraw_queued'))",
        [],
        |r| r.get(0),
    )
}

/// How long the shapes of real notices are kept as models for decoys.
const SHAPE_RETENTION_SECS: u64 = 14 * 86_400;

/// Encodes a notice shape for the `notice_shapes` table:
/// `kind:count:ends_before[,…]/sealed_body_len`.
fn shape_text(shape: &NoticeShape) -> String {
    let segs: Vec<String> = shape
        .segments
        .iter()
        .map(|s| format!("{}:{}:{}", s.kind.to_byte(), s.count, s.ends_before))
        .collect();
    format!("{}/{}", segs.join(","), shape.sealed_body_len)
}

fn parse_shape(text: &str) -> Option<NoticeShape> {
    let (segs, body) = text.split_once('/')?;
    let mut segments = Vec::new();
    for seg in segs.split(',') {
        let mut parts = seg.split(':');
        let kind = EpochKind::from_byte(parts.next()?.parse().ok()?).ok()?;
        let count = parts.next()?.parse().ok()?;
        let ends_before = parts.next()?.parse().ok()?;
        segments.push(SegmentShape {
            kind,
            count,
            ends_before,
        });
    }
    Some(NoticeShape {
        segments,
        sealed_body_len: body.parse().ok()?,
    })
}

/// The shapes of the real notices published in the last 14 days.
pub fn recent_shapes(conn: &Connection, now: u64) -> rusqlite::Result<Vec<NoticeShape>> {
    let mut st = conn.prepare("SELECT shape FROM notice_shapes WHERE published_at > ?1")?;
    let rows = st.query_map([ts(now.saturating_sub(SHAPE_RETENTION_SECS))], |r| {
        r.get::<_, String>(0)
    })?;
    let mut out = Vec::new();
    for text in rows {
        if let Some(shape) = parse_shape(&text?) {
            out.push(shape);
        }
    }
    Ok(out)
}

/// Revocations still to be repeated (`until` not yet past).
pub fn live_revocations(conn: &Connection, now: u64) -> rusqlite::Result<Vec<Revocation>> {
    let today = i64::try_from(now / 86_400).unwrap_or(i64::MAX);
    let mut st = conn.prepare(
        "SELECT venue_key, until_day FROM revoked_venue_keys WHERE until_day >= ?1 ORDER BY venue_key",
    )?;
    let rows = st.query_map([today], |r| {
        Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, i64>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (key, until) = row?;
        if let (Ok(venue_key), Ok(until)) = (key.try_into(), u32::try_from(until)) {
            out.push(Revocation {
                venue_key,
                until: Day(until),
            });
        }
    }
    Ok(out)
}

/// Revokes a venue key until the end of day `until` (UTC): phones refuse its codes
/// once they sync a bulletin published after this. Idempotent; a later `until`
/// extends it.
pub fn revoke_venue_key(
    tx: &Transaction<'_>,
    venue_key: &[u8; 32],
    until: Day,
    now: u64,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO revoked_venue_keys (venue_key, until_day, revoked_at) VALUES (?1, ?2, ?3)
         ON CONFLICT(venue_key) DO UPDATE SET until_day = MAX(until_day, excluded.until_day)",
        params![venue_key.as_slice(), i64::from(until.0), ts(now)],
    )?;
    Ok(())
}

/// Publishes the next bulletin (even if nothing is queued: it is then all decoys)
/// and re-signs the head in the same transaction.
pub fn publish(
    tx: &Transaction<'_>,
    authority: &Authority,
    now: u64,
    lifetime_days: u64,
    min_keys: usize,
) -> Result<Published, ServerError> {
    publish_with_head(
        tx,
        authority,
        now,
        lifetime_days,
        min_keys,
        quet_protocol::head::DEFAULT_HEAD_LIFETIME_SECS,
    )
}

/// [`publish`] with the head lifetime of the server's settings.
pub fn publish_with_head(
    tx: &Transaction<'_>,
    authority: &Authority,
    now: u64,
    lifetime_days: u64,
    min_keys: usize,
    head_lifetime_secs: u64,
) -> Result<Published, ServerError> {
    let last: Option<(i64, Vec<u8>)> = tx
        .query_row(
            "SELECT sequence, chain_hash FROM bulletins ORDER BY sequence DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (sequence, prev_hash) = match last {
        None => (1u64, [0u8; 32]),
        Some((seq, hash)) => (
            u64::try_from(seq).unwrap_or(0) + 1,
            hash.try_into()
                .map_err(|_| ServerError::Other("stored chain hash is not 32 bytes".into()))?,
        ),
    };
    let mut notices = Vec::new();
    {
        let mut st = tx.prepare("SELECT bytes FROM notices WHERE status = 'queued'")?;
        let rows = st.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
        for bytes in rows {
            let bytes = bytes?;
            notices.push(ExposureNotice::from_bytes(&bytes).map_err(|e| {
                ServerError::Other(format!("a stored notice does not decode: {e}"))
            })?);
        }
    }
    let mut withdrawn = Vec::new();
    {
        let mut st = tx.prepare("SELECT nonce FROM notices WHERE status = 'withdraw_queued'")?;
        let rows = st.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
        for n in rows {
            let n: [u8; 16] = n?
                .try_into()
                .map_err(|_| ServerError::Other("stored nonce is not 16 bytes".into()))?;
            withdrawn.push(n);
        }
    }
    let real = notices.len();
    let n_withdrawn = withdrawn.len();
    let issued_at = UnixTime(now);
    let expires_at = issued_at.checked_add(lifetime_days * 86_400)?;
    let offset = authority.descriptor.utc_offset;
    // The shapes of this bulletin's real notices join the models for later decoys;
    // decoys of this one are drawn from the earlier ones (or the prior).
    let shapes = recent_shapes(tx, now)?;
    for n in &notices {
        tx.execute(
            "INSERT INTO notice_shapes (published_at, shape) VALUES (?1, ?2)",
            params![ts(now), shape_text(&n.shape(issued_at, offset))],
        )?;
    }
    tx.execute(
        "DELETE FROM notice_shapes WHERE published_at <= ?1",
        [ts(now.saturating_sub(SHAPE_RETENTION_SECS))],
    )?;
    let revoked = live_revocations(tx, now)?;
    let mut draft = BulletinDraft {
        sequence,
        prev_hash,
        issued_at,
        expires_at,
        notices,
        withdrawn,
        revoked,
    };
    let mut rng = system_rng();
    draft.pad_with_decoys(&mut rng, min_keys, &shapes, offset)?;
    let bulletin = draft.sign(&authority.keys(), &authority.descriptor)?;
    let bytes = bulletin.as_bytes();
    let sha = data_encoding::HEXLOWER.encode(&Sha256::digest(bytes));
    let seq_i =
        i64::try_from(sequence).map_err(|_| ServerError::Other("sequence overflow".into()))?;
    tx.execute(
        "INSERT INTO bulletins (sequence, bytes, sha256, chain_hash, issued_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![seq_i, bytes, sha, bulletin.hash().as_slice(), ts(now), ts(expires_at.0)],
    )?;
    tx.execute(
        "UPDATE notices SET status = 'published', published_in = ?1 WHERE status = 'queued'",
        [seq_i],
    )?;
    tx.execute(
        "UPDATE notices SET status = 'withdrawn', withdrawn_in = ?1 WHERE status = 'withdraw_queued'",
        [seq_i],
    )?;
    crate::head::refresh(tx, authority, now, head_lifetime_secs)?;
    Ok(Published {
        sequence,
        notices: real,
        withdrawn: n_withdrawn,
    })
}

/// Live bulletins (`expires_at > now`), oldest first.
pub fn live(conn: &Connection, now: u64) -> rusqlite::Result<Vec<StoredBulletin>> {
    let mut st = conn.prepare(
        "SELECT sequence, bytes, sha256, expires_at FROM bulletins WHERE expires_at > ?1 ORDER BY sequence",
    )?;
    let rows = st.query_map([ts(now)], |r| {
        Ok(StoredBulletin {
            sequence: r.get::<_, i64>(0)?.max(0) as u64,
            bytes: r.get(1)?,
            sha256: r.get(2)?,
            expires_at: r.get::<_, i64>(3)?.max(0) as u64,
        })
    })?;
    rows.collect()
}

/// Deletes bulletin rows that stopped being live more than a day ago. The newest
/// bulletin is always kept: the chain continues from its hash.
pub fn purge_old(tx: &Transaction<'_>, now: u64) -> rusqlite::Result<usize> {
    let n = tx.execute(
        "DELETE FROM bulletins WHERE expires_at <= ?1 AND sequence < (SELECT MAX(sequence) FROM bulletins)",
        [ts(now.saturating_sub(86_400))],
    )?;
    Ok(n)
}

/// The index JSON of `spec/api.md`: a convenience listing for people and tools.
/// Clients do not trust it: which bulletins exist is what the signed head says.
pub fn index_json(authority_id: u32, live: &[StoredBulletin]) -> Vec<u8> {
    let list: Vec<serde_json::Value> = live
        .iter()
        .map(|b| serde_json::json!({"sequence": b.sequence, "sha256": b.sha256, "size": b.bytes.len()}))
        .collect();
    let v = serde_json::json!({
        "authority": format!("{authority_id:08x}"),
        "first": live.first().map(|b| b.sequence).unwrap_or(0),
        "latest": live.last().map(|b| b.sequence).unwrap_or(0),
        "bulletins": list,
    });
    serde_json::to_vec(&v).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keystore::{InitOptions, db_path, init, load};
    use quet_protocol::bulletin::Bulletin;

    const DAY: u64 = 86_400;

    fn publish_at(conn: &mut Connection, a: &Authority, t: u64) -> Published {
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .unwrap();
        let p = publish(&tx, a, t, 14, 32).unwrap();
        tx.commit().unwrap();
        p
    }

    #[test]
    fn retention_drops_old_bulletins_from_index_then_files_and_chain_continues() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("ha");
        init(&InitOptions {
            data_dir: data.clone(),
            name: "HA".into(),
            base_url: "https://quet.example".into(),
            id: Some(5),
        })
        .unwrap();
        let a = load(&data).unwrap();
        let mut conn = crate::db::open(&db_path(&data)).unwrap();
        let t = 1_790_000_000;
        assert_eq!(publish_at(&mut conn, &a, t - 20 * DAY).sequence, 1);
        assert_eq!(publish_at(&mut conn, &a, t - 10 * DAY).sequence, 2);
        let out = dir.path().join("www");
        let early = crate::export::export(&data, &out, t - 10 * DAY).unwrap();
        assert_eq!(early.bulletins, vec![1, 2]);
        assert_eq!(publish_at(&mut conn, &a, t).sequence, 3);
        // At t, bulletin 1 (expired at t - 6 days) is no longer listed.
        let seqs: Vec<u64> = live(&conn, t).unwrap().iter().map(|b| b.sequence).collect();
        assert_eq!(seqs, vec![2, 3]);
        let idx: serde_json::Value =
            serde_json::from_slice(&index_json(5, &live(&conn, t).unwrap())).unwrap();
        assert_eq!(
            (idx["first"].as_u64(), idx["latest"].as_u64()),
            (Some(2), Some(3))
        );
        // The export rewrites the index first, then removes the unlisted file.
        let late = crate::export::export(&data, &out, t).unwrap();
        assert_eq!((late.bulletins, late.removed), (vec![2, 3], 1));
        assert!(!out.join("v1/bulletins/1").exists());
        assert!(out.join("v1/bulletins/2").exists());
        // Rows go only after they stopped being listed, and never the newest one.
        let tx = conn.transaction().unwrap();
        assert_eq!(purge_old(&tx, t).unwrap(), 1);
        tx.commit().unwrap();
        let tx = conn.transaction().unwrap();
        assert_eq!(
            purge_old(&tx, t + 100 * DAY).unwrap(),
            1,
            "bulletin 2 goes, 3 stays"
        );
        tx.commit().unwrap();
        // The chain continues from the newest bulletin.
        let b3 = Bulletin::decode_and_verify_signature(
            &conn
                .query_row("SELECT bytes FROM bulletins WHERE sequence = 3", [], |r| {
                    r.get::<_, Vec<u8>>(0)
                })
                .unwrap(),
            &a.descriptor,
        )
        .unwrap();
        assert_eq!(publish_at(&mut conn, &a, t + 100 * DAY).sequence, 4);
        let b4_bytes: Vec<u8> = conn
            .query_row("SELECT bytes FROM bulletins WHERE sequence = 4", [], |r| {
                r.get(0)
            })
            .unwrap();
        Bulletin::verify_next(
            &b4_bytes,
            &a.descriptor,
            Some(&b3.chain_state()),
            UnixTime(t + 100 * DAY),
        )
        .unwrap();
    }
}
