//! Check-in, check-out, changing the stay, and auto check-out.
//!
//! A check-in stores the encounter token and the report envelope as the protocol
//! made them (opaque), the diary entry sealed to the diary public key (no unlock
//! needed), and, only while the stay lasts, the signed code with the arrival and
//! planned departure ([`crate::model::ActiveStay`]): check-out re-seals the token
//! and envelope from it and then erases it.

use quet_protocol::code::CheckInCode;
use quet_protocol::envelope::ReportEnvelope;
use quet_protocol::time::UnixTime;
use quet_protocol::token::{EncounterToken, TokenRecord};

use quet_protocol::certificate::Registration;
use quet_protocol::chain::CheckpointVerdict;

use crate::client::Client;
use crate::error::{ClientError, Result};
use crate::feed::{AlarmKind, ChainAlarm};
use crate::model::{ActiveStay, CheckIn, CheckpointCheck, DiaryEntry};
use crate::store::{CheckInRow, Op, Store};
use crate::vault::{DIARY_LABEL, DiaryPublicKey};

const META_NEXT_ID: &str = "next_check_in_id";

impl<S: Store> Client<S> {
    /// Checks in from the text of a code: its URL (`https://…/c#…`) or bare payload.
    /// Works offline and locked. Any ongoing check-in elsewhere is checked out at
    /// `now`.
    pub fn check_in(&mut self, text: &str, now: UnixTime) -> Result<CheckIn> {
        let bytes = CheckInCode::bytes_from_text(text).map_err(ClientError::Code)?;
        self.check_in_bytes(&bytes, now)
    }

    /// Checks in from the code's bytes (e.g. decoded from a QR in byte mode).
    pub fn check_in_bytes(&mut self, bytes: &[u8], now: UnixTime) -> Result<CheckIn> {
        let authorities = self.authorities()?;
        let (code, authority) =
            CheckInCode::parse_and_verify(bytes, now, &authorities).map_err(ClientError::Code)?;
        let today = now.day().map_err(ClientError::Code)?;
        let revoked = self.revocations()?;
        code.check_not_revoked(|key| {
            revoked
                .iter()
                .any(|r| r.authority == code.authority.0 && &r.venue_key == key && r.until >= today)
        })
        .map_err(ClientError::Code)?;
        let registered_with = registered_with(&code, authority, today);
        let chain_check = self.check_checkpoint(&code, now)?;
        let (token, record) =
            EncounterToken::check_in(&mut *self.rng, &code, now).map_err(ClientError::Code)?;
        let envelope =
            ReportEnvelope::seal(&mut *self.rng, authority, &code, now, record.departure)
                .map_err(ClientError::Code)?;
        let epoch = code.epoch().map_err(ClientError::Code)?;
        let (pk, mut ops) = self.ensure_diary_key()?;

        // Check out of any other ongoing stay, in the same transaction.
        ops.extend(self.expire_ops(now)?);
        for row in self.store.check_ins()? {
            let Some(active) = &row.active else { continue };
            let stay = ActiveStay::from_bytes(active)?;
            if stay.departure > now.0 {
                ops.push(Op::PutCheckIn(self.reseal(&pk, &row, &stay, now, true)?.0));
            }
        }

        let id = self.next_id()?;
        let mut entry = DiaryEntry::for_code(&code, record.arrival.0, record.departure.0);
        entry.registered_with = registered_with;
        let stay = ActiveStay {
            arrival: record.arrival.0,
            departure: record.departure.0,
            code: code.as_bytes().to_vec(),
        };
        let row = CheckInRow {
            id,
            epoch_kind: epoch.kind.to_byte(),
            epoch_index: epoch.index,
            token: token.to_bytes(),
            envelope: envelope.as_bytes().to_vec(),
            diary: self.seal_entry(&pk, id, &entry)?,
            active: Some(stay.to_bytes()),
        };
        ops.push(Op::PutMeta(
            META_NEXT_ID.into(),
            (id + 1).to_be_bytes().to_vec(),
        ));
        ops.push(Op::PutCheckIn(row));
        self.store.apply(ops)?;
        let mut view = entry.view(id, true);
        view.chain_check = chain_check;
        Ok(view)
    }

    /// Compares a code's chain checkpoint with what this phone verified; a
    /// conflict is recorded as an alarm (re-checked at the next sync).
    fn check_checkpoint(
        &mut self,
        code: &CheckInCode,
        now: UnixTime,
    ) -> Result<Option<CheckpointCheck>> {
        let Some(cp) = code.checkpoint else {
            return Ok(None);
        };
        let view = self.chain_view(code.authority.0)?;
        let verdict = view.check_checkpoint(&cp);
        if verdict == CheckpointVerdict::Conflict {
            let seq = u64::from(cp.sequence);
            let ours = view
                .last
                .filter(|l| l.sequence == seq)
                .map(|l| l.hash)
                .or(view.head.map(|h| h.latest_hash))
                .unwrap_or([0; 32]);
            self.record_alarm(ChainAlarm {
                authority: code.authority.0,
                kind: AlarmKind::CheckpointConflict,
                sequence: seq,
                ours,
                other_prefix: cp.hash_prefix,
                at: now.0,
            })?;
        }
        Ok(Some(match verdict {
            CheckpointVerdict::Consistent => CheckpointCheck::Consistent,
            CheckpointVerdict::Ahead => CheckpointCheck::Ahead,
            CheckpointVerdict::Unknown => CheckpointCheck::Unknown,
            CheckpointVerdict::Conflict => CheckpointCheck::Conflict,
        }))
    }

    /// The diary entry a stay leaves (venue, times, registration).
    pub(crate) fn stay_entry(&self, stay: &ActiveStay) -> Result<DiaryEntry> {
        let code = stay.code()?;
        let mut entry = DiaryEntry::for_code(&code, stay.arrival, stay.departure);
        if let Ok(authority) = self.authority(code.authority.0)
            && let Ok(day) = UnixTime(stay.arrival).day()
        {
            entry.registered_with = registered_with(&code, &authority, day);
        }
        Ok(entry)
    }

    /// Seals a diary entry of check-in `id` to the diary key.
    pub(crate) fn seal_entry(
        &mut self,
        pk: &DiaryPublicKey,
        id: u64,
        entry: &DiaryEntry,
    ) -> Result<Vec<u8>> {
        pk.seal(
            &mut *self.rng,
            DIARY_LABEL,
            &id.to_be_bytes(),
            &entry.to_padded()?,
        )
    }

    fn next_id(&self) -> Result<u64> {
        let stored = self.meta_u64(META_NEXT_ID)?.unwrap_or(1);
        let max = self
            .store
            .check_ins()?
            .iter()
            .map(|r| r.id)
            .max()
            .unwrap_or(0);
        Ok(stored.max(max + 1))
    }

    /// Ops that auto check out every stay whose planned departure has passed: the
    /// sealed token, envelope and diary entry already carry that departure, so only
    /// the active stay (the code) is erased.
    pub(crate) fn expire_ops(&self, now: UnixTime) -> Result<Vec<Op>> {
        let mut ops = Vec::new();
        for mut row in self.store.check_ins()? {
            let Some(active) = &row.active else { continue };
            if ActiveStay::from_bytes(active)?.departure <= now.0 {
                row.active = None;
                ops.push(Op::PutCheckIn(row));
            }
        }
        Ok(ops)
    }

    /// Auto check-out: ends every stay whose planned departure (at most the venue's
    /// max stay) has passed. Returns the stays ended.
    pub fn auto_check_out(&mut self, now: UnixTime) -> Result<Vec<CheckIn>> {
        let mut ended = Vec::new();
        for row in self.store.check_ins()? {
            let Some(active) = &row.active else { continue };
            let stay = ActiveStay::from_bytes(active)?;
            if stay.departure <= now.0 {
                ended.push(self.stay_entry(&stay)?.view(row.id, false));
            }
        }
        let ops = self.expire_ops(now)?;
        if !ops.is_empty() {
            self.store.apply(ops)?;
        }
        Ok(ended)
    }

    /// The ongoing stay, if any (readable locked: the phone holds its code anyway
    /// until check-out).
    pub fn current_stay(&self, now: UnixTime) -> Result<Option<CheckIn>> {
        let mut best: Option<CheckIn> = None;
        for row in self.store.check_ins()? {
            let Some(active) = &row.active else { continue };
            let stay = ActiveStay::from_bytes(active)?;
            if stay.departure > now.0 && best.as_ref().is_none_or(|b| b.id < row.id) {
                best = Some(self.stay_entry(&stay)?.view(row.id, true));
            }
        }
        Ok(best)
    }

    /// Re-seals an active row's token, envelope and diary entry with departure
    /// `departure` (clipped to `[arrival, arrival + max stay]`); erases the active
    /// stay if `finish`.
    fn reseal(
        &mut self,
        pk: &DiaryPublicKey,
        row: &CheckInRow,
        stay: &ActiveStay,
        departure: UnixTime,
        finish: bool,
    ) -> Result<(CheckInRow, DiaryEntry)> {
        let code = stay.code()?;
        let authority = self.authority(code.authority.0)?;
        let mut record =
            TokenRecord::for_check_in(&code, UnixTime(stay.arrival)).map_err(ClientError::Code)?;
        record.set_departure(departure).map_err(ClientError::Code)?;
        let epoch = code.epoch().map_err(ClientError::Code)?;
        let token = EncounterToken::seal(&mut *self.rng, &code.venue_time_public, epoch, &record)
            .map_err(ClientError::Code)?;
        let envelope = ReportEnvelope::seal(
            &mut *self.rng,
            &authority,
            &code,
            record.arrival,
            record.departure,
        )
        .map_err(ClientError::Code)?;
        let entry = self.stay_entry(&ActiveStay {
            departure: record.departure.0,
            ..stay.clone()
        })?;
        let new = CheckInRow {
            id: row.id,
            epoch_kind: row.epoch_kind,
            epoch_index: row.epoch_index,
            token: token.to_bytes(),
            envelope: envelope.as_bytes().to_vec(),
            diary: self.seal_entry(pk, row.id, &entry)?,
            active: if finish {
                None
            } else {
                Some(
                    ActiveStay {
                        departure: record.departure.0,
                        ..stay.clone()
                    }
                    .to_bytes(),
                )
            },
        };
        Ok((new, entry))
    }

    fn find_active(&mut self, id: Option<u64>, now: UnixTime) -> Result<(CheckInRow, ActiveStay)> {
        self.auto_check_out(now)?;
        let rows = self.store.check_ins()?;
        let row = match id {
            Some(id) => {
                let row = rows
                    .into_iter()
                    .find(|r| r.id == id)
                    .ok_or(ClientError::NoSuchCheckIn(id))?;
                if row.active.is_none() {
                    return Err(ClientError::NotCheckedIn);
                }
                row
            }
            None => rows
                .into_iter()
                .filter(|r| r.active.is_some())
                .max_by_key(|r| r.id)
                .ok_or(ClientError::NotCheckedIn)?,
        };
        let stay = ActiveStay::from_bytes(row.active.as_deref().unwrap_or_default())?;
        Ok((row, stay))
    }

    /// Checks out of the stay `id` (or the latest ongoing one) at `now`. Works
    /// locked.
    pub fn check_out(&mut self, id: Option<u64>, now: UnixTime) -> Result<CheckIn> {
        let (row, stay) = self.find_active(id, now)?;
        let (pk, _) = self.ensure_diary_key()?;
        let (new, entry) = self.reseal(&pk, &row, &stay, now, true)?;
        self.store.apply(vec![Op::PutCheckIn(new)])?;
        Ok(entry.view(row.id, false))
    }

    /// Extends or shortens an ongoing stay: the planned departure becomes
    /// `arrival + minutes`, clipped to the venue's max stay. If that is not after
    /// `now`, the stay ends (check-out). Works locked.
    pub fn set_stay(&mut self, id: Option<u64>, minutes: u64, now: UnixTime) -> Result<CheckIn> {
        let (row, stay) = self.find_active(id, now)?;
        let (pk, _) = self.ensure_diary_key()?;
        let departure = UnixTime(stay.arrival.saturating_add(minutes.saturating_mul(60)));
        let finish = departure <= now;
        let (new, entry) = self.reseal(
            &pk,
            &row,
            &stay,
            departure.max(UnixTime(stay.arrival)),
            finish,
        )?;
        self.store.apply(vec![Op::PutCheckIn(new)])?;
        Ok(entry.view(row.id, !finish))
    }
}

/// The name of the authority the code's venue is registered with on `day`, if
/// its certificate is genuine and names exactly the details the code shows.
fn registered_with(
    code: &CheckInCode,
    authority: &quet_protocol::authority::AuthorityDescriptor,
    day: quet_protocol::time::Day,
) -> Option<String> {
    match code.registration(authority, day) {
        Registration::Registered { .. } => Some(authority.name.clone()),
        Registration::Unregistered(_) => None,
    }
}
