//! What the phone remembers of each authority's feed, beyond its check-ins: the
//! protocol's [`ChainView`] (last bulletin accepted, newest head verified), the
//! venue keys the authority revoked, and the alarms raised when two signed
//! statements about the feed disagree (a fork) or a venue's chain checkpoint
//! contradicts what the phone verified.
//!
//! ```text
//! chain state = u8 version (1)
//!             ‖ u8 0 | u8 1 ‖ u64 sequence ‖ [32] hash ‖ u64 expires at          last bulletin
//!             ‖ u8 0 | u8 1 ‖ u64 latest ‖ [32] latest hash ‖ u64 issued ‖ u64 expires   head
//! revocations = u8 version (1) ‖ n × (u32 authority ‖ [32] venue key ‖ u32 until day)
//! alarms      = u8 version (1) ‖ n × (u32 authority ‖ u8 kind ‖ u64 sequence
//!                                    ‖ [32] our hash ‖ [16] other hash prefix ‖ u64 at)
//! ```

use quet_protocol::bulletin::ChainState;
use quet_protocol::chain::{ChainView, Freshness, HeadState};
use quet_protocol::time::{Day, UnixTime};
use serde::Serialize;

use crate::client::Client;
use crate::error::{ClientError, Result};
use crate::store::{ChainRow, Op, Store};

const META_REVOCATIONS: &str = "revocations";
const META_ALARMS: &str = "chain_alarms";
const VERSION: u8 = 1;

fn corrupt(what: &str) -> ClientError {
    ClientError::Storage(format!("corrupt {what}"))
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let head = self.0.get(..N)?;
        self.0 = self.0.get(N..)?;
        head.try_into().ok()
    }
    fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|[b]| b)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_be_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take().map(u64::from_be_bytes)
    }
}

/// Encodes a chain view for the store.
pub(crate) fn encode_view(view: &ChainView) -> ChainRow {
    let mut out = vec![VERSION];
    match &view.last {
        Some(l) => {
            out.push(1);
            out.extend_from_slice(&l.sequence.to_be_bytes());
            out.extend_from_slice(&l.hash);
            out.extend_from_slice(&l.expires_at.0.to_be_bytes());
        }
        None => out.push(0),
    }
    match &view.head {
        Some(h) => {
            out.push(1);
            out.extend_from_slice(&h.latest_sequence.to_be_bytes());
            out.extend_from_slice(&h.latest_hash);
            out.extend_from_slice(&h.issued_at.0.to_be_bytes());
            out.extend_from_slice(&h.expires_at.0.to_be_bytes());
        }
        None => out.push(0),
    }
    ChainRow { state: out }
}

/// Decodes a stored chain view.
pub fn decode_view(row: &ChainRow) -> Result<ChainView> {
    let bad = || corrupt("chain state");
    let mut r = Reader(&row.state);
    if r.u8().ok_or_else(bad)? != VERSION {
        return Err(bad());
    }
    let last = match r.u8().ok_or_else(bad)? {
        0 => None,
        1 => Some(ChainState {
            sequence: r.u64().ok_or_else(bad)?,
            hash: r.take().ok_or_else(bad)?,
            expires_at: UnixTime(r.u64().ok_or_else(bad)?),
        }),
        _ => return Err(bad()),
    };
    let head = match r.u8().ok_or_else(bad)? {
        0 => None,
        1 => Some(HeadState {
            latest_sequence: r.u64().ok_or_else(bad)?,
            latest_hash: r.take().ok_or_else(bad)?,
            issued_at: UnixTime(r.u64().ok_or_else(bad)?),
            expires_at: UnixTime(r.u64().ok_or_else(bad)?),
        }),
        _ => return Err(bad()),
    };
    if !r.0.is_empty() {
        return Err(bad());
    }
    Ok(ChainView { last, head })
}

/// A venue key the authority revoked, remembered until the end of `until`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RevokedKey {
    pub authority: u32,
    pub venue_key: [u8; 32],
    pub until: Day,
}

/// What kind of disagreement an alarm records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlarmKind {
    /// The authority's own signed statements disagree (a head and a bulletin, or
    /// two heads, name different hashes for one sequence): a proven fork.
    Fork,
    /// A venue's code carried a checkpoint whose hash differs from what this phone
    /// verified for that sequence; the next sync re-checks over another path.
    CheckpointConflict,
    /// The re-check fetched the bulletin again and it matches the venue's view, not
    /// the phone's: two signed bulletins for one sequence, a proven fork.
    ForkConfirmed,
    /// The re-check fetched the bulletin again and it matches the phone's view: the
    /// venue's display saw another history (or lies).
    VenueDisagrees,
}

impl AlarmKind {
    fn byte(self) -> u8 {
        match self {
            AlarmKind::Fork => 1,
            AlarmKind::CheckpointConflict => 2,
            AlarmKind::ForkConfirmed => 3,
            AlarmKind::VenueDisagrees => 4,
        }
    }
    fn from_byte(b: u8) -> Option<AlarmKind> {
        Some(match b {
            1 => AlarmKind::Fork,
            2 => AlarmKind::CheckpointConflict,
            3 => AlarmKind::ForkConfirmed,
            4 => AlarmKind::VenueDisagrees,
            _ => return None,
        })
    }
}

/// A recorded disagreement about an authority's feed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ChainAlarm {
    /// The authority.
    pub authority: u32,
    /// What was seen.
    pub kind: AlarmKind,
    /// The sequence the statements disagree about.
    pub sequence: u64,
    /// The hash this phone verified for it (zero if none).
    #[serde(skip)]
    pub ours: [u8; 32],
    /// The first 16 bytes of the other hash.
    #[serde(skip)]
    pub other_prefix: [u8; 16],
    /// When it was recorded.
    pub at: u64,
}

/// One authority's feed as a status screen shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FeedStatus {
    /// The authority.
    pub authority: u32,
    /// The last bulletin accepted (0: none).
    pub sequence: u64,
    /// Alerts are current until this time (the newest verified head's expiry).
    pub fresh_until: Option<u64>,
    /// Alerts may be out of date since this time (the newest verified head's issue
    /// time), when it has expired; `Some(0)` if no head was ever verified.
    pub stale_since: Option<u64>,
    /// Disagreements recorded about this feed.
    pub alarms: Vec<ChainAlarm>,
}

impl<S: Store> Client<S> {
    /// The stored chain view of `authority` (empty before the first sync).
    pub(crate) fn chain_view(&self, authority: u32) -> Result<ChainView> {
        self.store
            .chain(authority)?
            .map_or(Ok(ChainView::default()), |row| decode_view(&row))
    }

    /// The status of every pinned authority's feed at `now`.
    pub fn feed_status(&self, now: UnixTime) -> Result<Vec<FeedStatus>> {
        let alarms = self.alarms()?;
        let mut out = Vec::new();
        for d in self.authorities()? {
            let id = d.id.0;
            let view = self.chain_view(id)?;
            let (fresh_until, stale_since) = match view.freshness(now) {
                Freshness::Fresh { until } => (Some(until.0), None),
                Freshness::Stale { since } => (None, Some(since.map_or(0, |s| s.0))),
            };
            out.push(FeedStatus {
                authority: id,
                sequence: view.last.map_or(0, |l| l.sequence),
                fresh_until,
                stale_since,
                alarms: alarms
                    .iter()
                    .filter(|a| a.authority == id)
                    .copied()
                    .collect(),
            });
        }
        Ok(out)
    }

    pub(crate) fn revocations(&self) -> Result<Vec<RevokedKey>> {
        let Some(bytes) = self.store.meta(META_REVOCATIONS)? else {
            return Ok(Vec::new());
        };
        let bad = || corrupt("revocations");
        let mut r = Reader(&bytes);
        if r.u8().ok_or_else(bad)? != VERSION {
            return Err(bad());
        }
        let mut out = Vec::new();
        while !r.0.is_empty() {
            out.push(RevokedKey {
                authority: r.u32().ok_or_else(bad)?,
                venue_key: r.take().ok_or_else(bad)?,
                until: Day(r.u32().ok_or_else(bad)?),
            });
        }
        Ok(out)
    }

    /// The op storing `keys` (deduplicated, the latest `until` kept, those whose
    /// day ended before `today` dropped).
    pub(crate) fn revocations_op(&self, mut keys: Vec<RevokedKey>, today: Day) -> Op {
        keys.retain(|k| k.until >= today);
        keys.sort_by_key(|k| (k.authority, k.venue_key, core::cmp::Reverse(k.until)));
        keys.dedup_by(|a, b| a.authority == b.authority && a.venue_key == b.venue_key);
        let mut out = vec![VERSION];
        for k in &keys {
            out.extend_from_slice(&k.authority.to_be_bytes());
            out.extend_from_slice(&k.venue_key);
            out.extend_from_slice(&k.until.0.to_be_bytes());
        }
        Op::PutMeta(META_REVOCATIONS.into(), out)
    }

    /// Every recorded alarm.
    pub fn alarms(&self) -> Result<Vec<ChainAlarm>> {
        let Some(bytes) = self.store.meta(META_ALARMS)? else {
            return Ok(Vec::new());
        };
        let bad = || corrupt("chain alarms");
        let mut r = Reader(&bytes);
        if r.u8().ok_or_else(bad)? != VERSION {
            return Err(bad());
        }
        let mut out = Vec::new();
        while !r.0.is_empty() {
            out.push(ChainAlarm {
                authority: r.u32().ok_or_else(bad)?,
                kind: r.u8().and_then(AlarmKind::from_byte).ok_or_else(bad)?,
                sequence: r.u64().ok_or_else(bad)?,
                ours: r.take().ok_or_else(bad)?,
                other_prefix: r.take().ok_or_else(bad)?,
                at: r.u64().ok_or_else(bad)?,
            });
        }
        Ok(out)
    }

    /// The op storing `alarms`.
    pub(crate) fn alarms_op(alarms: &[ChainAlarm]) -> Op {
        let mut out = vec![VERSION];
        for a in alarms {
            out.extend_from_slice(&a.authority.to_be_bytes());
            out.push(a.kind.byte());
            out.extend_from_slice(&a.sequence.to_be_bytes());
            out.extend_from_slice(&a.ours);
            out.extend_from_slice(&a.other_prefix);
            out.extend_from_slice(&a.at.to_be_bytes());
        }
        Op::PutMeta(META_ALARMS.into(), out)
    }

    /// Records an alarm (once per authority, kind and sequence).
    pub(crate) fn record_alarm(&mut self, alarm: ChainAlarm) -> Result<()> {
        let mut all = self.alarms()?;
        if all.iter().any(|a| {
            a.authority == alarm.authority && a.kind == alarm.kind && a.sequence == alarm.sequence
        }) {
            return Ok(());
        }
        all.push(alarm);
        self.store.apply(vec![Self::alarms_op(&all)])
    }
}
