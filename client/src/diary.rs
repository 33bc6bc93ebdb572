//! The diary: every check-in, decrypted with the diary key (so only after the
//! user unlocked), and deletion of one check-in or all (which needs no unlock).

use quet_protocol::time::UnixTime;

use crate::client::Client;
use crate::error::{ClientError, Result};
use crate::model::{CheckIn, DiaryEntry};
use crate::store::{CheckInRow, Op, Store};
use crate::vault::{DIARY_LABEL, DiarySecret};

impl<S: Store> Client<S> {
    /// Opens the diary entry of a row with the diary secret.
    pub(crate) fn open_entry(secret: &DiarySecret, row: &CheckInRow) -> Result<DiaryEntry> {
        let plain = secret.open(DIARY_LABEL, &row.id.to_be_bytes(), &row.diary)?;
        serde_json::from_slice(&plain).map_err(|_| ClientError::LocalDecrypt)
    }

    /// The diary, newest first, after auto check-out and purge at `now`. Needs the
    /// unlock ([`ClientError::Locked`] otherwise).
    pub fn diary(&mut self, now: UnixTime) -> Result<Vec<CheckIn>> {
        self.auto_check_out(now)?;
        self.purge(now)?;
        self.diary_at_rest()
    }

    /// The diary as stored, without auto check-out or purge. Needs the unlock.
    pub fn diary_at_rest(&self) -> Result<Vec<CheckIn>> {
        let rows = self.store.check_ins()?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let secret = self.secret()?;
        let mut out = Vec::new();
        for row in rows {
            let d = Self::open_entry(&secret, &row)?;
            out.push(d.view(row.id, row.active.is_some()));
        }
        out.sort_by_key(|c| core::cmp::Reverse((c.arrival, c.id)));
        Ok(out)
    }

    /// How many check-ins are stored (readable locked: the rows are visible).
    pub fn check_in_count(&self) -> Result<usize> {
        Ok(self.store.check_ins()?.len())
    }

    /// Deletes one check-in: its token, envelope, diary entry and alerts together.
    pub fn delete_check_in(&mut self, id: u64) -> Result<()> {
        if !self.store.check_ins()?.iter().any(|r| r.id == id) {
            return Err(ClientError::NoSuchCheckIn(id));
        }
        self.store.apply(vec![Op::DeleteCheckIn(id)])
    }

    /// Deletes every check-in and alert.
    pub fn delete_all(&mut self) -> Result<()> {
        self.store.apply(vec![Op::DeleteAllCheckIns])
    }
}
