//! The client core: check-in, check-out, diary, bulletin sync and matching, case
//! reports and retention, over any [`Store`] and [`Transport`].
//!
//! Every operation takes `now` so that callers (and tests) control time. While a
//! check-in is ongoing the client keeps the signed code (which holds `P_e`) so it
//! can re-seal the token and the envelope when the stay changes; at check-out or
//! auto check-out it forgets it. Per check-in it stores the sealed token, the
//! sealed report envelope and the diary entry, each encrypted again under the
//! local key; only the epoch is in the clear.

use std::collections::BTreeSet;

use data_encoding::{BASE64, HEXLOWER};
use quet_protocol::authority::AuthorityDescriptor;
use quet_protocol::bulletin::{Bulletin, ChainState, MAX_BULLETIN_LEN};
use quet_protocol::category::Category;
use quet_protocol::code::{CheckInCode, CodeKind};
use quet_protocol::envelope::{REPORT_ENVELOPE_COUNT, ReportEnvelope};
use quet_protocol::matching::{Matcher, StoredToken};
use quet_protocol::notice::Severity;
use quet_protocol::time::{Epoch, EpochKind, UnixTime};
use quet_protocol::token::{EncounterToken, TokenRecord};
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::{ClientError, Result};
use crate::local_key::LocalKey;
use crate::store::{ChainRow, CheckInRow, ExposureRow, Op, Store};
use crate::transport::{Response, Transport, join};

/// Default retention in days.
pub const DEFAULT_RETENTION_DAYS: u16 = 14;
/// Shortest retention a user may choose, in days.
pub const MIN_RETENTION_DAYS: u16 = 10;
/// Longest retention a user may choose, in days.
pub const MAX_RETENTION_DAYS: u16 = 21;
/// Diary plaintexts are padded to a multiple of this, so their length says
/// nothing about the venue's name.
const DIARY_PAD: usize = 512;
const META_NEXT_ID: &str = "next_check_in_id";
const META_RETENTION: &str = "retention_days";

/// The randomness source the client uses (the system RNG natively).
pub type Rng = Box<dyn CryptoRng + Send>;

/// The decrypted diary entry of one check-in.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct DiaryEntry {
    authority: u32,
    poster: bool,
    venue_name: String,
    venue_address: String,
    category: String,
    max_stay_minutes: u16,
    arrival: u64,
    departure: u64,
    checked_out: bool,
}

/// A check-in as the user sees it (decrypted locally).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckIn {
    /// Local id, for `check-out`, `stay` and `diary delete`.
    pub id: u64,
    /// The venue's health authority.
    pub authority: u32,
    /// Venue name.
    pub venue_name: String,
    /// Venue address.
    pub venue_address: String,
    /// Category slug (e.g. `restaurant`).
    pub category: String,
    /// Category label in Vietnamese.
    pub category_vi: String,
    /// Category label in English.
    pub category_en: String,
    /// The venue's maximum stay in minutes.
    pub max_stay_minutes: u16,
    /// Whether the code was a printed poster (day epoch) rather than a screen.
    pub poster: bool,
    /// Arrival (Unix seconds).
    pub arrival: u64,
    /// Departure (Unix seconds): planned auto check-out while checked in.
    pub departure: u64,
    /// Whether the stay is still ongoing.
    pub checked_in: bool,
}

/// An exposure alert: a match between a check-in and a published notice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// The check-in that matched.
    pub check_in: u64,
    /// The notice's nonce (hex); a withdrawal names it.
    pub notice: String,
    /// Venue name.
    pub venue_name: String,
    /// Venue address.
    pub venue_address: String,
    /// The user's arrival.
    pub arrival: u64,
    /// The user's departure.
    pub departure: u64,
    /// Severity slug: `monitor`, `test` or `isolate`.
    pub severity: String,
    /// Severity label in Vietnamese.
    pub severity_vi: String,
    /// Severity label in English.
    pub severity_en: String,
    /// Start of the exposure window the HA published.
    pub window_start: u64,
    /// End of the exposure window (exclusive).
    pub window_end: u64,
    /// The HA's message in Vietnamese.
    pub message_vi: String,
    /// The HA's message in English.
    pub message_en: String,
    /// The authority that published the notice.
    pub authority: u32,
    /// When this phone found the match.
    pub found_at: u64,
}

/// Progress of a sync, for a progress bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncProgress {
    /// The authority being synced.
    pub authority: u32,
    /// Bulletins accepted so far from it in this sync.
    pub done: u64,
    /// Bulletins to fetch from it in this sync.
    pub total: u64,
}

/// What a sync did for one authority.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuthoritySync {
    /// The authority.
    pub authority: u32,
    /// Bulletins accepted in this sync.
    pub accepted: u64,
    /// The last accepted sequence number afterwards (0 if none).
    pub sequence: u64,
    /// Whether the chain had to be re-anchored because bulletins expired while the
    /// phone was offline.
    pub reanchored: bool,
}

/// The outcome of a sync.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    /// Per authority.
    pub authorities: Vec<AuthoritySync>,
    /// Alerts found in this sync that were not known before.
    pub new_alerts: Vec<Alert>,
    /// Alerts cleared because their notice was withdrawn.
    pub withdrawn: usize,
}

/// The outcome of ingesting one bulletin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IngestReport {
    /// The accepted bulletin's sequence.
    pub sequence: u64,
    /// Published keys in it.
    pub keys: usize,
    /// New alerts.
    pub new_alerts: Vec<Alert>,
    /// Alerts cleared by withdrawals.
    pub withdrawn: usize,
}

/// What a case report will send, for the user to confirm.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReportPlan {
    /// The authority the report goes to.
    pub authority: u32,
    /// The HA asks for check-ins with arrival at or after this time.
    pub report_since: u64,
    /// When the authorization code expires.
    pub expires_at: u64,
    /// The check-ins whose envelopes will be sent (at most 100, newest first).
    pub check_ins: Vec<CheckIn>,
    #[serde(skip)]
    auth_code: String,
}

/// The server's receipt for an accepted report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReportReceipt {
    /// The receipt id the server returned.
    pub receipt: String,
    /// Real envelopes sent (the rest of the 100 were padding).
    pub sent: usize,
}

#[derive(Deserialize)]
struct IndexJson {
    #[serde(default)]
    authority: Option<String>,
    first: u64,
    latest: u64,
}

#[derive(Deserialize)]
struct PreviewJson {
    report_since: u64,
    expires_at: u64,
}

#[derive(Deserialize)]
struct ReceiptJson {
    receipt: String,
}

#[derive(Deserialize)]
struct ErrorJson {
    #[serde(default)]
    error: String,
    #[serde(default)]
    message: String,
}

fn storage(e: impl core::fmt::Display) -> ClientError {
    ClientError::Storage(e.to_string())
}

fn severity_slug(s: Severity) -> &'static str {
    match s {
        Severity::Monitor => "monitor",
        Severity::Test => "test",
        Severity::Isolate => "isolate",
    }
}

/// Parses a JSON answer the server sent with a success status; a body that is not
/// the documented shape is a server error of kind `kind`.
fn parse_json<T: serde::de::DeserializeOwned>(resp: &Response, kind: &str) -> Result<T> {
    serde_json::from_slice(&resp.body).map_err(|e| ClientError::Server {
        status: resp.status,
        kind: kind.into(),
        message: e.to_string(),
    })
}

/// Maps an unexpected HTTP answer to the client error spec/api.md implies.
fn server_error(resp: &Response) -> ClientError {
    let parsed: Option<ErrorJson> = serde_json::from_slice(&resp.body).ok();
    let (kind, message) = parsed.map_or_else(
        || {
            (
                String::new(),
                String::from_utf8_lossy(&resp.body)
                    .chars()
                    .take(200)
                    .collect(),
            )
        },
        |e| (e.error, e.message),
    );
    match (resp.status, kind.as_str()) {
        (401, _) | (_, "auth_code_invalid") => ClientError::AuthCodeInvalid,
        (429, _) => ClientError::RateLimited {
            retry_after: resp.retry_after,
        },
        (503, _) => ClientError::Busy,
        _ => ClientError::Server {
            status: resp.status,
            kind,
            message,
        },
    }
}

/// The citizen client over a store `S`.
pub struct Client<S: Store> {
    store: S,
    key: LocalKey,
    rng: Rng,
}

impl<S: Store> core::fmt::Debug for Client<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}

impl<S: Store> Client<S> {
    /// A client over `store`, encrypting rows under `key`, drawing randomness from
    /// `rng` (pass `Box::new(rand_core::UnwrapErr(getrandom::SysRng))` natively).
    pub fn new(store: S, key: LocalKey, rng: Rng) -> Client<S> {
        Client { store, key, rng }
    }

    /// The underlying store (for inspection in tests).
    pub fn store(&self) -> &S {
        &self.store
    }

    // ----- authorities -----

    /// Every pinned authority descriptor.
    pub fn authorities(&self) -> Result<Vec<AuthorityDescriptor>> {
        self.store
            .authorities()?
            .iter()
            .map(|(_, bytes)| AuthorityDescriptor::decode(bytes).map_err(ClientError::Descriptor))
            .collect()
    }

    /// The pinned descriptor of `id`.
    pub fn authority(&self, id: u32) -> Result<AuthorityDescriptor> {
        self.authorities()?
            .into_iter()
            .find(|d| d.id.0 == id)
            .ok_or(ClientError::UnknownAuthority(id))
    }

    /// Decodes a signed descriptor without pinning it (to show its fingerprint
    /// before the user confirms).
    pub fn inspect_descriptor(bytes: &[u8]) -> Result<AuthorityDescriptor> {
        AuthorityDescriptor::decode(bytes).map_err(ClientError::Descriptor)
    }

    /// Pins a signed descriptor. If the authority is already pinned, the new
    /// descriptor must be signed by a key the pinned one lists (key rotation).
    pub fn pin_authority(&mut self, bytes: &[u8]) -> Result<AuthorityDescriptor> {
        let new = AuthorityDescriptor::decode(bytes).map_err(ClientError::Descriptor)?;
        let pinned = self.authorities()?;
        let accepted = match pinned.iter().find(|d| d.id == new.id) {
            Some(old) => old.verify_update(bytes).map_err(ClientError::Descriptor)?,
            None => new,
        };
        self.store
            .apply(vec![Op::PutAuthority(accepted.id.0, bytes.to_vec())])?;
        Ok(accepted)
    }

    /// Unpins an authority (and forgets its bulletin chain).
    pub fn remove_authority(&mut self, id: u32) -> Result<()> {
        if !self.store.authorities()?.iter().any(|(a, _)| *a == id) {
            return Err(ClientError::UnknownAuthority(id));
        }
        self.store.apply(vec![Op::RemoveAuthority(id)])
    }

    // ----- settings and retention -----

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
    /// more than the retention period before `now`. Returns how many.
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

    // ----- check-in -----

    fn open_diary(&self, row: &CheckInRow) -> Result<DiaryEntry> {
        let plain = self.key.open("diary", &row.id.to_be_bytes(), &row.diary)?;
        serde_json::from_slice(&plain).map_err(|_| ClientError::LocalDecrypt)
    }

    fn seal_diary(&mut self, id: u64, entry: &DiaryEntry) -> Result<Vec<u8>> {
        let mut plain = Zeroizing::new(serde_json::to_vec(entry).map_err(storage)?);
        let padded = plain.len().div_ceil(DIARY_PAD) * DIARY_PAD;
        plain.resize(padded, b' ');
        self.key
            .seal(&mut *self.rng, "diary", &id.to_be_bytes(), &plain)
    }

    fn view(id: u64, d: &DiaryEntry, active: bool) -> CheckIn {
        let cat = Category::from_slug(&d.category);
        CheckIn {
            id,
            authority: d.authority,
            venue_name: d.venue_name.clone(),
            venue_address: d.venue_address.clone(),
            category: d.category.clone(),
            category_vi: cat.map_or("", Category::label_vi).to_string(),
            category_en: cat.map_or("", Category::label_en).to_string(),
            max_stay_minutes: d.max_stay_minutes,
            poster: d.poster,
            arrival: d.arrival,
            departure: d.departure,
            checked_in: active,
        }
    }

    /// Checks in from the text of a code: its URL (`https://…/c#…`) or bare payload.
    /// Works offline. Any ongoing check-in elsewhere is checked out at `now`.
    pub fn check_in(&mut self, text: &str, now: UnixTime) -> Result<CheckIn> {
        let bytes = CheckInCode::bytes_from_text(text).map_err(ClientError::Code)?;
        self.check_in_bytes(&bytes, now)
    }

    /// Checks in from the code's bytes (e.g. decoded from a QR in byte mode).
    pub fn check_in_bytes(&mut self, bytes: &[u8], now: UnixTime) -> Result<CheckIn> {
        let authorities = self.authorities()?;
        let (code, authority) =
            CheckInCode::parse_and_verify(bytes, now, &authorities).map_err(ClientError::Code)?;
        let (token, record) =
            EncounterToken::check_in(&mut *self.rng, &code, now).map_err(ClientError::Code)?;
        let envelope =
            ReportEnvelope::seal(&mut *self.rng, authority, &code, now, record.departure)
                .map_err(ClientError::Code)?;
        let epoch = code.epoch().map_err(ClientError::Code)?;

        // Check out of any other ongoing stay, in the same transaction.
        let mut ops = self.expire_ops(now)?;
        for (row, _) in self.active_rows()? {
            if !ops
                .iter()
                .any(|op| matches!(op, Op::PutCheckIn(r) if r.id == row.id))
            {
                ops.push(Op::PutCheckIn(self.reseal(&row, now, true)?.0));
            }
        }

        let id = self.next_id()?;
        let entry = DiaryEntry {
            authority: code.authority.0,
            poster: code.kind == CodeKind::Poster,
            venue_name: code.venue.name.clone(),
            venue_address: code.venue.address.clone(),
            category: code.venue.category.slug().to_string(),
            max_stay_minutes: code.venue.max_stay_minutes,
            arrival: record.arrival.0,
            departure: record.departure.0,
            checked_out: false,
        };
        let rid = id.to_be_bytes();
        let row = CheckInRow {
            id,
            epoch_kind: epoch.kind.to_byte(),
            epoch_index: epoch.index,
            token: self
                .key
                .seal(&mut *self.rng, "token", &rid, &token.to_bytes())?,
            envelope: self
                .key
                .seal(&mut *self.rng, "envelope", &rid, envelope.as_bytes())?,
            diary: self.seal_diary(id, &entry)?,
            active: Some(
                self.key
                    .seal(&mut *self.rng, "active", &rid, code.as_bytes())?,
            ),
        };
        ops.push(Op::PutMeta(
            META_NEXT_ID.into(),
            (id + 1).to_be_bytes().to_vec(),
        ));
        ops.push(Op::PutCheckIn(row));
        self.store.apply(ops)?;
        Ok(Self::view(id, &entry, true))
    }

    fn next_id(&self) -> Result<u64> {
        let stored = self
            .store
            .meta(META_NEXT_ID)?
            .and_then(|v| v.as_slice().try_into().ok().map(u64::from_be_bytes))
            .unwrap_or(1);
        let max = self
            .store
            .check_ins()?
            .iter()
            .map(|r| r.id)
            .max()
            .unwrap_or(0);
        Ok(stored.max(max + 1))
    }

    fn active_rows(&self) -> Result<Vec<(CheckInRow, DiaryEntry)>> {
        let mut out = Vec::new();
        for row in self.store.check_ins()? {
            if row.active.is_some() {
                let d = self.open_diary(&row)?;
                out.push((row, d));
            }
        }
        Ok(out)
    }

    /// Ops that auto check out every stay whose planned departure has passed: the
    /// sealed token and envelope already carry that departure, so only `P_e` and
    /// the code are forgotten.
    fn expire_ops(&mut self, now: UnixTime) -> Result<Vec<Op>> {
        let mut ops = Vec::new();
        for (mut row, mut d) in self.active_rows()? {
            if d.departure <= now.0 {
                d.checked_out = true;
                row.active = None;
                row.diary = self.seal_diary(row.id, &d)?;
                ops.push(Op::PutCheckIn(row));
            }
        }
        Ok(ops)
    }

    /// Auto check-out: ends every stay whose planned departure (at most the venue's
    /// max stay) has passed. Returns the stays ended.
    pub fn auto_check_out(&mut self, now: UnixTime) -> Result<Vec<CheckIn>> {
        let ops = self.expire_ops(now)?;
        let mut ended = Vec::new();
        for op in &ops {
            if let Op::PutCheckIn(row) = op {
                ended.push(Self::view(row.id, &self.open_diary(row)?, false));
            }
        }
        if !ops.is_empty() {
            self.store.apply(ops)?;
        }
        Ok(ended)
    }

    /// Re-seals an active row's token and envelope with departure `departure`
    /// (clipped to `[arrival, arrival + max stay]`); forgets `P_e` if `finish`.
    fn reseal(
        &mut self,
        row: &CheckInRow,
        departure: UnixTime,
        finish: bool,
    ) -> Result<(CheckInRow, DiaryEntry)> {
        let rid = row.id.to_be_bytes();
        let active = row.active.as_ref().ok_or(ClientError::NotCheckedIn)?;
        let code_bytes = self.key.open("active", &rid, active)?;
        let code = CheckInCode::parse_signed(&code_bytes).map_err(|_| ClientError::LocalDecrypt)?;
        let mut d = self.open_diary(row)?;
        let authority = self.authority(code.authority.0)?;
        let mut record =
            TokenRecord::for_check_in(&code, UnixTime(d.arrival)).map_err(ClientError::Code)?;
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
        d.departure = record.departure.0;
        d.checked_out = finish;
        let new = CheckInRow {
            id: row.id,
            epoch_kind: row.epoch_kind,
            epoch_index: row.epoch_index,
            token: self
                .key
                .seal(&mut *self.rng, "token", &rid, &token.to_bytes())?,
            envelope: self
                .key
                .seal(&mut *self.rng, "envelope", &rid, envelope.as_bytes())?,
            diary: self.seal_diary(row.id, &d)?,
            active: if finish {
                None
            } else {
                Some(self.key.seal(&mut *self.rng, "active", &rid, &code_bytes)?)
            },
        };
        Ok((new, d))
    }

    fn find_active(&mut self, id: Option<u64>, now: UnixTime) -> Result<CheckInRow> {
        self.auto_check_out(now)?;
        let rows = self.store.check_ins()?;
        match id {
            Some(id) => {
                let row = rows
                    .into_iter()
                    .find(|r| r.id == id)
                    .ok_or(ClientError::NoSuchCheckIn(id))?;
                if row.active.is_none() {
                    return Err(ClientError::NotCheckedIn);
                }
                Ok(row)
            }
            None => rows
                .into_iter()
                .filter(|r| r.active.is_some())
                .max_by_key(|r| r.id)
                .ok_or(ClientError::NotCheckedIn),
        }
    }

    /// Checks out of the stay `id` (or the latest ongoing one) at `now`.
    pub fn check_out(&mut self, id: Option<u64>, now: UnixTime) -> Result<CheckIn> {
        let row = self.find_active(id, now)?;
        let (new, d) = self.reseal(&row, now, true)?;
        self.store.apply(vec![Op::PutCheckIn(new)])?;
        Ok(Self::view(row.id, &d, false))
    }

    /// Extends or shortens an ongoing stay: the planned departure becomes
    /// `arrival + minutes`, clipped to the venue's max stay. If that is not after
    /// `now`, the stay ends (check-out).
    pub fn set_stay(&mut self, id: Option<u64>, minutes: u64, now: UnixTime) -> Result<CheckIn> {
        let row = self.find_active(id, now)?;
        let d = self.open_diary(&row)?;
        let departure = UnixTime(d.arrival.saturating_add(minutes.saturating_mul(60)));
        let finish = departure <= now;
        let (new, d) = self.reseal(&row, departure.max(UnixTime(d.arrival)), finish)?;
        self.store.apply(vec![Op::PutCheckIn(new)])?;
        Ok(Self::view(row.id, &d, !finish))
    }

    // ----- diary -----

    /// The diary, newest first, after auto check-out and purge at `now`.
    pub fn diary(&mut self, now: UnixTime) -> Result<Vec<CheckIn>> {
        self.auto_check_out(now)?;
        self.purge(now)?;
        self.diary_at_rest()
    }

    /// The diary as stored, without auto check-out or purge.
    pub fn diary_at_rest(&self) -> Result<Vec<CheckIn>> {
        let mut out = Vec::new();
        for row in self.store.check_ins()? {
            let d = self.open_diary(&row)?;
            out.push(Self::view(row.id, &d, row.active.is_some()));
        }
        out.sort_by_key(|c| core::cmp::Reverse((c.arrival, c.id)));
        Ok(out)
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

    // ----- sync and matching -----

    /// A matcher over every stored token.
    fn matcher(&self) -> Result<Matcher> {
        let mut tokens = Vec::new();
        for row in self.store.check_ins()? {
            let bytes = self.key.open("token", &row.id.to_be_bytes(), &row.token)?;
            let token =
                EncounterToken::from_bytes(&bytes).map_err(|_| ClientError::LocalDecrypt)?;
            tokens.push(StoredToken { id: row.id, token });
        }
        Ok(Matcher::new(tokens))
    }

    /// The sequence of the last bulletin accepted from `authority` (`None` before
    /// the first sync), for UIs that fetch bulletins themselves: fetch the index,
    /// then `last + 1 ..= latest` (or from `first` when `None`), and hand each to
    /// [`Client::ingest_bulletin`] in order.
    pub fn last_bulletin(&self, authority: u32) -> Result<Option<u64>> {
        Ok(self.store.chain(authority)?.map(|c| c.sequence))
    }

    /// Verifies one bulletin of `authority` against the stored chain (or anchors the
    /// chain on it if there is none), matches its notices, and stores the alerts,
    /// withdrawals and new chain state in one transaction. For UIs that fetch
    /// bulletins themselves (the web app); [`Client::sync`] does all of it.
    pub fn ingest_bulletin(
        &mut self,
        authority: u32,
        bytes: &[u8],
        now: UnixTime,
    ) -> Result<IngestReport> {
        let descriptor = self.authority(authority)?;
        let last = self.store.chain(authority)?.map(|c| ChainState {
            sequence: c.sequence,
            hash: c.hash,
            expires_at: UnixTime(0),
        });
        let expected = last.map_or(0, |c| c.sequence.saturating_add(1));
        let matcher = self.matcher()?;
        self.ingest(&descriptor, &matcher, bytes, last.as_ref(), expected, now)
    }

    fn ingest(
        &mut self,
        descriptor: &AuthorityDescriptor,
        matcher: &Matcher,
        bytes: &[u8],
        last: Option<&ChainState>,
        expected: u64,
        now: UnixTime,
    ) -> Result<IngestReport> {
        let authority = descriptor.id.0;
        let reject = |source| ClientError::Bulletin {
            authority,
            sequence: expected,
            source,
        };
        let bulletin = Bulletin::verify_next(bytes, descriptor, last, now).map_err(reject)?;
        if expected != 0 && bulletin.sequence != expected {
            return Err(reject(quet_protocol::Error::BulletinOutOfOrder {
                expected,
                found: bulletin.sequence,
            }));
        }
        let known: BTreeSet<(u64, [u8; 16])> = self
            .store
            .exposures()?
            .iter()
            .map(|e| (e.check_in, e.nonce))
            .collect();
        let mut ops = Vec::new();
        let mut new_alerts = Vec::new();
        for m in matcher.match_notices(&bulletin.notices) {
            if known.contains(&(m.token_id, m.notice_nonce))
                || bulletin.withdrawn.contains(&m.notice_nonce)
            {
                continue;
            }
            let alert = Alert {
                check_in: m.token_id,
                notice: HEXLOWER.encode(&m.notice_nonce),
                venue_name: m.record.venue.name.clone(),
                venue_address: m.record.venue.address.clone(),
                arrival: m.record.arrival.0,
                departure: m.record.departure.0,
                severity: severity_slug(m.body.severity).into(),
                severity_vi: m.body.severity.label_vi().into(),
                severity_en: m.body.severity.label_en().into(),
                window_start: m.body.window_start.0,
                window_end: m.body.window_end.0,
                message_vi: m.body.message_vi.clone(),
                message_en: m.body.message_en.clone(),
                authority,
                found_at: now.0,
            };
            let plain = Zeroizing::new(serde_json::to_vec(&alert).map_err(storage)?);
            let blob = self.key.seal(
                &mut *self.rng,
                "exposure",
                &exposure_row_id(m.token_id, &m.notice_nonce),
                &plain,
            )?;
            ops.push(Op::InsertExposure(ExposureRow {
                check_in: m.token_id,
                nonce: m.notice_nonce,
                blob,
            }));
            new_alerts.push(alert);
        }
        let withdrawn = known
            .iter()
            .filter(|(_, n)| bulletin.withdrawn.contains(n))
            .count();
        ops.extend(
            bulletin
                .withdrawn
                .iter()
                .map(|n| Op::DeleteExposuresByNonce(*n)),
        );
        let state = bulletin.chain_state();
        ops.push(Op::PutChain(
            authority,
            ChainRow {
                sequence: state.sequence,
                hash: state.hash,
            },
        ));
        self.store.apply(ops)?;
        Ok(IngestReport {
            sequence: bulletin.sequence,
            keys: bulletin.key_count(),
            new_alerts,
            withdrawn,
        })
    }

    /// Downloads, verifies and matches every bulletin this phone lacks from every
    /// pinned authority. Each bulletin is committed with its chain state, so an
    /// interrupted sync resumes where it stopped. The first error stops the sync;
    /// everything accepted before it stays.
    pub fn sync(
        &mut self,
        transport: &dyn Transport,
        now: UnixTime,
        progress: &mut dyn FnMut(SyncProgress),
    ) -> Result<SyncReport> {
        self.auto_check_out(now)?;
        self.purge(now)?;
        let matcher = self.matcher()?;
        let mut report = SyncReport {
            authorities: Vec::new(),
            new_alerts: Vec::new(),
            withdrawn: 0,
        };
        for descriptor in self.authorities()? {
            let id = descriptor.id.0;
            let resp = transport.get(
                &join(&descriptor.base_url, "/v1/bulletins/index.json"),
                4 << 20,
            )?;
            if resp.status != 200 {
                return Err(server_error(&resp));
            }
            let index: IndexJson = parse_json(&resp, "bad_index")?;
            // spec/api.md: "authority": "<8 hex>"; anything else is not checked.
            if let Some(a) = index.authority.as_deref()
                && a.len() == 8
                && u32::from_str_radix(a, 16).is_ok_and(|a| a != id)
            {
                return Err(ClientError::Server {
                    status: resp.status,
                    kind: "wrong_authority".into(),
                    message: format!("index is for authority {a}, expected {id:08x}"),
                });
            }
            let chain = self.store.chain(id)?;
            let mut last = chain.map(|c| ChainState {
                sequence: c.sequence,
                hash: c.hash,
                expires_at: UnixTime(0),
            });
            let mut reanchored = false;
            let start = match last {
                Some(c) if c.sequence > index.latest => {
                    return Err(ClientError::ChainRollback {
                        authority: id,
                        have: c.sequence,
                        latest: index.latest,
                    });
                }
                Some(c) if c.sequence.saturating_add(1) < index.first => {
                    // Bulletins expired while offline: their notices are past the
                    // retention period; anchor again on the first live one.
                    last = None;
                    reanchored = true;
                    index.first
                }
                Some(c) => c.sequence.saturating_add(1),
                None => index.first.max(1),
            };
            let mut sync = AuthoritySync {
                authority: id,
                accepted: 0,
                sequence: chain.map_or(0, |c| c.sequence),
                reanchored,
            };
            if index.latest == 0 || start > index.latest {
                report.authorities.push(sync);
                continue;
            }
            let total = index.latest - start + 1;
            progress(SyncProgress {
                authority: id,
                done: 0,
                total,
            });
            for seq in start..=index.latest {
                let resp = transport.get(
                    &join(&descriptor.base_url, &format!("/v1/bulletins/{seq}")),
                    MAX_BULLETIN_LEN,
                )?;
                if resp.status != 200 {
                    return Err(server_error(&resp));
                }
                let r = self.ingest(&descriptor, &matcher, &resp.body, last.as_ref(), seq, now)?;
                report.new_alerts.extend(r.new_alerts);
                report.withdrawn += r.withdrawn;
                let c = self.store.chain(id)?.ok_or(ClientError::Storage(
                    "chain state missing after commit".into(),
                ))?;
                last = Some(ChainState {
                    sequence: c.sequence,
                    hash: c.hash,
                    expires_at: UnixTime(0),
                });
                sync.accepted += 1;
                sync.sequence = c.sequence;
                progress(SyncProgress {
                    authority: id,
                    done: sync.accepted,
                    total,
                });
            }
            report.authorities.push(sync);
        }
        Ok(report)
    }

    /// Every stored alert, newest stay first.
    pub fn alerts(&self) -> Result<Vec<Alert>> {
        let mut out = Vec::new();
        for row in self.store.exposures()? {
            let plain = self.key.open(
                "exposure",
                &exposure_row_id(row.check_in, &row.nonce),
                &row.blob,
            )?;
            out.push(serde_json::from_slice(&plain).map_err(|_| ClientError::LocalDecrypt)?);
        }
        out.sort_by_key(|a: &Alert| core::cmp::Reverse((a.arrival, a.check_in)));
        Ok(out)
    }

    // ----- case report -----

    fn pick_authority(&self, authority: Option<u32>) -> Result<AuthorityDescriptor> {
        match authority {
            Some(id) => self.authority(id),
            None => {
                let all = self.authorities()?;
                match all.len() {
                    0 => Err(ClientError::NoAuthority),
                    1 => all.into_iter().next().ok_or(ClientError::NoAuthority),
                    _ => Err(ClientError::AmbiguousAuthority),
                }
            }
        }
    }

    /// Asks the HA which check-ins it wants (`POST /v1/reports/preview`, which does
    /// not spend the code) and lists the ones that will be sent.
    pub fn report_preview(
        &mut self,
        transport: &dyn Transport,
        authority: Option<u32>,
        auth_code: &str,
        now: UnixTime,
    ) -> Result<ReportPlan> {
        self.auto_check_out(now)?;
        let descriptor = self.pick_authority(authority)?;
        let auth_code = crate::auth_code::normalize(auth_code).ok_or(ClientError::AuthCodeTypo)?;
        let body = serde_json::json!({ "auth_code": auth_code });
        let resp = transport.post_json(
            &join(&descriptor.base_url, "/v1/reports/preview"),
            body.to_string().as_bytes(),
        )?;
        if resp.status != 200 {
            return Err(server_error(&resp));
        }
        let p: PreviewJson = parse_json(&resp, "bad_preview")?;
        let mut check_ins: Vec<CheckIn> = self
            .diary_at_rest()?
            .into_iter()
            .filter(|c| c.authority == descriptor.id.0 && c.arrival >= p.report_since)
            .collect();
        check_ins.truncate(REPORT_ENVELOPE_COUNT);
        Ok(ReportPlan {
            authority: descriptor.id.0,
            report_since: p.report_since,
            expires_at: p.expires_at,
            check_ins,
            auth_code,
        })
    }

    /// Uploads the plan's envelopes, padded to [`REPORT_ENVELOPE_COUNT`] with
    /// padding envelopes, real ones first (`POST /v1/reports`).
    pub fn report_submit(
        &mut self,
        transport: &dyn Transport,
        plan: &ReportPlan,
    ) -> Result<ReportReceipt> {
        if plan.check_ins.is_empty() {
            return Err(ClientError::NothingToReport);
        }
        let descriptor = self.authority(plan.authority)?;
        let rows = self.store.check_ins()?;
        let mut envelopes = Vec::with_capacity(REPORT_ENVELOPE_COUNT);
        for c in &plan.check_ins {
            let row = rows
                .iter()
                .find(|r| r.id == c.id)
                .ok_or(ClientError::NoSuchCheckIn(c.id))?;
            let bytes = self
                .key
                .open("envelope", &row.id.to_be_bytes(), &row.envelope)?;
            envelopes.push(BASE64.encode(&bytes));
        }
        let sent = envelopes.len();
        while envelopes.len() < REPORT_ENVELOPE_COUNT {
            let pad = ReportEnvelope::padding(
                &mut *self.rng,
                &descriptor,
                UnixTime(plan.expires_at.saturating_sub(1)),
            )
            .map_err(ClientError::Code)?;
            envelopes.push(BASE64.encode(pad.as_bytes()));
        }
        let body = serde_json::json!({
            "auth_code": plan.auth_code,
            "envelopes": envelopes,
            "chaff": false,
        });
        let resp = transport.post_json(
            &join(&descriptor.base_url, "/v1/reports"),
            body.to_string().as_bytes(),
        )?;
        if resp.status != 202 && resp.status != 200 {
            return Err(server_error(&resp));
        }
        let r: ReceiptJson = parse_json(&resp, "bad_receipt")?;
        Ok(ReportReceipt {
            receipt: r.receipt,
            sent,
        })
    }
}

fn row_epoch(row: &CheckInRow) -> Option<Epoch> {
    let kind = EpochKind::from_byte(row.epoch_kind).ok()?;
    Some(Epoch {
        kind,
        index: row.epoch_index,
    })
}

fn exposure_row_id(check_in: u64, nonce: &[u8; 16]) -> Vec<u8> {
    let mut v = check_in.to_be_bytes().to_vec();
    v.extend_from_slice(nonce);
    v
}
