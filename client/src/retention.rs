//! Retention: everything a check-in left (token, envelope, diary entry, alerts) is
//! deleted once its epoch ended more than the retention period ago.

use quet_protocol::time::{Epoch, EpochKind, UnixTime};

use crate::client::Client;
use crate::error::{ClientError, Result};
use crate::store::{CheckInRow, Op, Store};

/// Default retention in days.
pub const DEFAULT_RETENTION_DAYS: u16 = 14;
/// Shortest retention a user may choose, in days.
pub const MIN_RETENTION_DAYS: u16 = 10;
/// Longest retention a user may choose, in days.
pub const MAX_RETENTION_DAYS: u16 = 21;

const META_RETENTION: &str = "retention_days";

impl<S: Store> Client<S> {
    /// The retention period in days.
    pub fn retention_days(&self) -> Result<u16> {
        Ok(match self.store.meta(META_RETENTION)? {
            Some(v) => v
                .as_slice()
                .try_into()
                .map(u16::from_be_bytes)
                .unwrap_or(DEFAULT_RETENTION_DAYS),
            None => DEFAULT_RETENTION_DAYS,
        })
    }

    /// Sets the retention period (10–21 days).
    pub fn set_retention_days(&mut self, days: u16) -> Result<()> {
        if !(MIN_RETENTION_DAYS..=MAX_RETENTION_DAYS).contains(&days) {
            return Err(ClientError::InvalidSetting(format!(
                "retention {days} days: must be {MIN_RETENTION_DAYS}–{MAX_RETENTION_DAYS}"
            )));
        }
        self.store.apply(vec![Op::PutMeta(
            META_RETENTION.into(),
            days.to_be_bytes().to_vec(),
        )])
    }

    /// Deletes every check-in (token, envelope, diary, alerts) whose epoch ended
    /// more than the retention period before `now`. Returns how many. Works locked.
    pub fn purge(&mut self, now: UnixTime) -> Result<usize> {
        let cutoff = now.saturating_sub(u64::from(self.retention_days()?) * 86_400);
        let ops: Vec<Op> = self
            .store
            .check_ins()?
            .iter()
            .filter(|r| row_epoch(r).is_none_or(|e| e.end() <= cutoff))
            .map(|r| Op::DeleteCheckIn(r.id))
            .collect();
        let n = ops.len();
        if n > 0 {
            self.store.apply(ops)?;
        }
        Ok(n)
    }
}

/// The clear epoch of a stored check-in.
pub(crate) fn row_epoch(row: &CheckInRow) -> Option<Epoch> {
    let kind = EpochKind::from_byte(row.epoch_kind).ok()?;
    Some(Epoch {
        kind,
        index: row.epoch_index,
    })
}
