//! Storage behind a trait, so the client core runs on SQLite (native), in memory
//! (tests, wasm32) or on whatever a phone UI provides.
//!
//! A store only ever sees what the core gives it: descriptors (public), chain
//! states (public), the clear epoch of each check-in (for indexing and purging),
//! encounter tokens and report envelopes (opaque by design: sealed to the venue's
//! hour key and to the health authority), the diary and alert details sealed to
//! the diary key ([`crate::vault`]), and, only during a stay, the active code.
//! Writes go through [`Store::apply`], which must apply a batch of [`Op`]s
//! atomically: all or nothing. That is what makes an interrupted sync resume and a
//! crash mid-write lose nothing committed.

use std::collections::BTreeMap;

use crate::error::Result;

/// One stored check-in: the clear epoch and the encrypted blobs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckInRow {
    /// Local id (1, 2, …).
    pub id: u64,
    /// Epoch kind byte (1 hour, 2 day), in the clear for indexing.
    pub epoch_kind: u8,
    /// Epoch index, in the clear for indexing.
    pub epoch_index: u32,
    /// The encounter token (protocol bytes; opaque without the venue's hour key).
    pub token: Vec<u8>,
    /// The report envelope (protocol bytes; sealed to the health authority).
    pub envelope: Vec<u8>,
    /// The diary entry, sealed to the diary key.
    pub diary: Vec<u8>,
    /// Only while checked in: arrival, planned departure and the signed code (it
    /// holds `P_e`, needed to re-seal at check-out). `None` after check-out, so the
    /// code is forgotten.
    pub active: Option<Vec<u8>>,
}

/// One stored exposure: its identity in the clear for deduplication and
/// withdrawal, with what a locked phone shows (severity, when found); where and
/// when the exposure was is sealed to the diary key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExposureRow {
    /// The matched check-in.
    pub check_in: u64,
    /// The notice's nonce.
    pub nonce: [u8; 16],
    /// The notice's severity byte (1 monitor, 2 test, 3 isolate).
    pub severity: u8,
    /// When the phone found the match (Unix seconds).
    pub found_at: u64,
    /// The alert details, sealed to the diary key.
    pub blob: Vec<u8>,
}

/// What a client remembers of an authority's bulletin feed: the protocol's chain
/// view (last bulletin accepted, newest head verified), encoded by the core
/// (`feed.rs`); public data, opaque to the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainRow {
    /// The encoded chain view.
    pub state: Vec<u8>,
}

/// One write in an atomic batch.
#[derive(Clone, Debug)]
pub enum Op {
    /// Sets a metadata value.
    PutMeta(String, Vec<u8>),
    /// Deletes a metadata value.
    DeleteMeta(String),
    /// Pins (or replaces) an authority descriptor.
    PutAuthority(u32, Vec<u8>),
    /// Unpins an authority and forgets its chain state.
    RemoveAuthority(u32),
    /// Sets an authority's chain state.
    PutChain(u32, ChainRow),
    /// Inserts or replaces a check-in.
    PutCheckIn(CheckInRow),
    /// Deletes a check-in and its exposures.
    DeleteCheckIn(u64),
    /// Inserts an exposure unless one with the same (check-in, nonce) exists.
    InsertExposure(ExposureRow),
    /// Inserts or replaces an exposure (migrations).
    PutExposure(ExposureRow),
    /// Deletes every exposure from the notice with this nonce (withdrawal).
    DeleteExposuresByNonce([u8; 16]),
    /// Deletes all check-ins and exposures (not authorities or chain states).
    DeleteAllCheckIns,
}

/// Storage for the client core. Reads may be called at any time; all writes go
/// through [`Store::apply`] and must be atomic.
pub trait Store {
    /// A metadata value.
    fn meta(&self, key: &str) -> Result<Option<Vec<u8>>>;
    /// Every pinned authority: (id, descriptor bytes).
    fn authorities(&self) -> Result<Vec<(u32, Vec<u8>)>>;
    /// An authority's chain state.
    fn chain(&self, authority: u32) -> Result<Option<ChainRow>>;
    /// Every check-in, by id.
    fn check_ins(&self) -> Result<Vec<CheckInRow>>;
    /// Every exposure.
    fn exposures(&self) -> Result<Vec<ExposureRow>>;
    /// Applies the batch atomically.
    fn apply(&mut self, ops: Vec<Op>) -> Result<()>;
}

/// An in-memory store (tests, wasm32, benchmarks). Atomic because `apply` works
/// on a copy and swaps it in only when every op succeeded. A browser persists it
/// with [`MemoryStore::snapshot`] (bytes for IndexedDB) after each write and
/// restores it with [`MemoryStore::from_snapshot`].
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    pub(crate) state: MemoryState,
    /// Writes applied since the last [`MemoryStore::take_dirty`].
    dirty: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct MemoryState {
    pub(crate) meta: BTreeMap<String, Vec<u8>>,
    pub(crate) authorities: BTreeMap<u32, Vec<u8>>,
    pub(crate) chains: BTreeMap<u32, ChainRow>,
    pub(crate) check_ins: BTreeMap<u64, CheckInRow>,
    pub(crate) exposures: BTreeMap<(u64, [u8; 16]), ExposureRow>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    pub(crate) fn from_state(state: MemoryState) -> MemoryStore {
        MemoryStore { state, dirty: 0 }
    }

    /// Whether two stores hold the same data.
    pub fn same_contents(&self, other: &MemoryStore) -> bool {
        self.state == other.state
    }

    /// How many batches were applied since the last call, resetting the count: a
    /// UI persists a new snapshot when this is non-zero.
    pub fn take_dirty(&mut self) -> u64 {
        core::mem::take(&mut self.dirty)
    }
}

impl MemoryState {
    fn apply_one(&mut self, op: Op) {
        match op {
            Op::PutMeta(k, v) => {
                self.meta.insert(k, v);
            }
            Op::DeleteMeta(k) => {
                self.meta.remove(&k);
            }
            Op::PutAuthority(id, bytes) => {
                self.authorities.insert(id, bytes);
            }
            Op::RemoveAuthority(id) => {
                self.authorities.remove(&id);
                self.chains.remove(&id);
            }
            Op::PutChain(id, row) => {
                self.chains.insert(id, row);
            }
            Op::PutCheckIn(row) => {
                self.check_ins.insert(row.id, row);
            }
            Op::DeleteCheckIn(id) => {
                self.check_ins.remove(&id);
                self.exposures.retain(|k, _| k.0 != id);
            }
            Op::InsertExposure(row) => {
                self.exposures
                    .entry((row.check_in, row.nonce))
                    .or_insert(row);
            }
            Op::PutExposure(row) => {
                self.exposures.insert((row.check_in, row.nonce), row);
            }
            Op::DeleteExposuresByNonce(nonce) => {
                self.exposures.retain(|k, _| k.1 != nonce);
            }
            Op::DeleteAllCheckIns => {
                self.check_ins.clear();
                self.exposures.clear();
            }
        }
    }
}

impl Store for MemoryStore {
    fn meta(&self, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.state.meta.get(key).cloned())
    }

    fn authorities(&self) -> Result<Vec<(u32, Vec<u8>)>> {
        Ok(self
            .state
            .authorities
            .iter()
            .map(|(k, v)| (*k, v.clone()))
            .collect())
    }

    fn chain(&self, authority: u32) -> Result<Option<ChainRow>> {
        Ok(self.state.chains.get(&authority).cloned())
    }

    fn check_ins(&self) -> Result<Vec<CheckInRow>> {
        Ok(self.state.check_ins.values().cloned().collect())
    }

    fn exposures(&self) -> Result<Vec<ExposureRow>> {
        Ok(self.state.exposures.values().cloned().collect())
    }

    fn apply(&mut self, ops: Vec<Op>) -> Result<()> {
        let mut next = self.state.clone();
        for op in ops {
            next.apply_one(op);
        }
        self.state = next;
        self.dirty = self.dirty.saturating_add(1);
        Ok(())
    }
}
