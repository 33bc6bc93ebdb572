//! Retention of the HA's own records: nothing is kept longer than its purpose needs.
//!
//! | table | kept | why |
//! | --- | --- | --- |
//! | `notices` | the bulletin lifetime plus a day after creation (queued ones until published); cancelled ones for a day | a notice can be withdrawn while phones can still see it |
//! | `reports` | 14 days | receipts, for staff answering "did my upload arrive" |
//! | `audit` | [`AUDIT_RETENTION_DAYS`] | accountability of staff actions (no personal data is in it) |
//! | `notice_shapes` | 14 days | models for decoys (pruned when publishing) |
//! | `revoked_venue_keys` | until the revocation's last day | repeated in every bulletin until then |
//!
//! Reviews and their envelopes, authorization codes, bulletins and heartbeat
//! pseudonyms have their own rules (`review::purge_expired`, `publish::purge_old`,
//! `heartbeat::purge`).

use rusqlite::Transaction;

use crate::db::ts;

/// Days the audit log is kept.
pub const AUDIT_RETENTION_DAYS: u64 = 180;
/// Days upload receipts are kept.
pub const REPORT_RETENTION_DAYS: u64 = 14;

/// Deletes records past their retention at `now`. Returns how many rows went.
pub fn purge_records(
    tx: &Transaction<'_>,
    now: u64,
    bulletin_lifetime_days: u64,
) -> rusqlite::Result<usize> {
    let day = 86_400;
    let notice_cutoff = now.saturating_sub((bulletin_lifetime_days + 1) * day);
    // Published within the hour of their creation, so their bulletin has expired a
    // day before this cutoff; a withdrawal after that is no longer needed.
    let mut n = tx.execute(
        "DELETE FROM notices WHERE status IN ('published', 'withdrawn') AND created_hour < ?1",
        [ts(notice_cutoff)],
    )?;
    n += tx.execute(
        "DELETE FROM notices WHERE status = 'cancelled' AND created_hour < ?1",
        [ts(now.saturating_sub(day))],
    )?;
    n += tx.execute(
        "DELETE FROM reports WHERE received_hour < ?1",
        [ts(now.saturating_sub(REPORT_RETENTION_DAYS * day))],
    )?;
    n += tx.execute(
        "DELETE FROM audit WHERE at < ?1",
        [ts(now.saturating_sub(AUDIT_RETENTION_DAYS * day))],
    )?;
    n += tx.execute(
        "DELETE FROM revoked_venue_keys WHERE until_day < ?1",
        [i64::try_from(now / day).unwrap_or(i64::MAX)],
    )?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_records_go_and_recent_ones_stay() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = crate::db::open(&dir.path().join("q.db")).unwrap();
        let now: u64 = 1_800_000_000;
        let day = 86_400u64;
        let tx = conn.transaction().unwrap();
        tx.execute_batch(&format!(
            "INSERT INTO bulletins (sequence, bytes, sha256, chain_hash, issued_at, expires_at)
               VALUES (1, x'00', '', x'00', {old}, {old_exp}), (2, x'00', '', x'00', {new}, {new_exp});
             INSERT INTO notices (nonce, bytes, source, status, created_hour, published_in)
               VALUES (x'01', x'00', 'trace', 'published', {old}, 1),
                      (x'02', x'00', 'trace', 'published', {new}, 2),
                      (x'03', x'00', 'trace', 'cancelled', {old}, NULL),
                      (x'04', x'00', 'trace', 'queued', {old}, NULL);
             INSERT INTO reports (receipt, received_hour, checkins) VALUES ('a', {old}, 1), ('b', {new}, 1);
             INSERT INTO audit (at, staff, action) VALUES ({ancient}, 's', 'x'), ({new}, 's', 'y');",
            old = now - 30 * day,
            old_exp = now - 16 * day,
            new = now - day,
            new_exp = now + 13 * day,
            ancient = now - 200 * day,
        ))
        .unwrap();
        assert_eq!(purge_records(&tx, now, 14).unwrap(), 4);
        let left: Vec<Vec<u8>> = tx
            .prepare("SELECT nonce FROM notices ORDER BY nonce")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        // The recent published notice and the still-queued one stay.
        assert_eq!(left, vec![vec![2u8], vec![4u8]]);
    }
}
