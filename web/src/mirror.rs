//! Persistence for the browser: the core's [`MemoryStore`] mirrored, row by row,
//! into IndexedDB.
//!
//! The client core decides what every write means ([`Store::apply`] on a
//! [`MemoryStore`]); this module only notices which rows changed and hands the page
//! a list of `(key, bytes | delete)` writes to commit in one IndexedDB transaction.
//! The page awaits that transaction before it says "done", so an acknowledged
//! check-in survives closing the tab. On start the page reads every row back and
//! [`MirrorStore::load`] rebuilds the core's state from them.
//!
//! Keys are `meta/<name>`, `authority/<id>`, `chain/<id>`, `checkin/<id>` and
//! `exposure/<check-in id>/<nonce hex>`; values are the versioned encodings below.
//! Every value is what the core's store holds: public (descriptors, chain states,
//! clear epochs, the diary public key), opaque by design (tokens, envelopes),
//! sealed to the diary key (diary entries, alert details; an alert's severity and
//! time found are clear, "unlock to see where"), or a key slot wrapping the diary
//! secret (Argon2id of the PIN, a WebAuthn PRF output; before the PIN is set the
//! core keeps an unprotected slot, which setting the PIN deletes). The active
//! stay's code is kept only during the stay. The mirror never sees a venue name.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use data_encoding::HEXLOWER;
use quet_client::store::{ChainRow, CheckInRow, ExposureRow, MemoryStore, Op, Store};
use quet_client::{ClientError, Result};

/// Version byte of every encoded row (2: protocol 1.1's chain state, alerts with
/// severity and time found).
const ROW_VERSION: u8 = 2;

/// One write for IndexedDB: `Some(bytes)` puts, `None` deletes.
pub type Write = (String, Option<Vec<u8>>);

/// A [`Store`] that keeps the core's rows in memory and records what IndexedDB
/// must write to stay equal to them.
#[derive(Debug, Default)]
pub struct MirrorStore {
    inner: MemoryStore,
    /// Every row as IndexedDB holds it (after the pending writes).
    rows: BTreeMap<String, Vec<u8>>,
    /// Metadata keys ever seen, so a changed or removed one is noticed.
    meta_keys: BTreeSet<String>,
    pending: RefCell<Vec<Write>>,
}

fn corrupt(key: &str) -> ClientError {
    ClientError::Storage(format!("stored row {key} is not readable"))
}

/// Appends a `u32`-length-prefixed byte string.
fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// Reads values written by [`put_bytes`] and fixed-size integers, front to back.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.rest.len() < n {
            return None;
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Some(head)
    }
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
    fn bytes(&mut self) -> Option<Vec<u8>> {
        let n = u32::from_be_bytes(self.array()?);
        Some(self.take(usize::try_from(n).ok()?)?.to_vec())
    }
    fn done(&self) -> bool {
        self.rest.is_empty()
    }
}

fn encode_check_in(r: &CheckInRow) -> Vec<u8> {
    let mut out = vec![ROW_VERSION];
    out.extend_from_slice(&r.id.to_be_bytes());
    out.push(r.epoch_kind);
    out.extend_from_slice(&r.epoch_index.to_be_bytes());
    put_bytes(&mut out, &r.token);
    put_bytes(&mut out, &r.envelope);
    put_bytes(&mut out, &r.diary);
    match &r.active {
        Some(a) => {
            out.push(1);
            put_bytes(&mut out, a);
        }
        None => out.push(0),
    }
    out
}

fn decode_check_in(bytes: &[u8]) -> Option<CheckInRow> {
    let mut r = Reader { rest: bytes };
    if r.array::<1>()? != [ROW_VERSION] {
        return None;
    }
    let row = CheckInRow {
        id: u64::from_be_bytes(r.array()?),
        epoch_kind: r.array::<1>()?[0],
        epoch_index: u32::from_be_bytes(r.array()?),
        token: r.bytes()?,
        envelope: r.bytes()?,
        diary: r.bytes()?,
        active: match r.array::<1>()? {
            [0] => None,
            [1] => Some(r.bytes()?),
            _ => return None,
        },
    };
    r.done().then_some(row)
}

fn encode_exposure(e: &ExposureRow) -> Vec<u8> {
    let mut out = vec![ROW_VERSION];
    out.extend_from_slice(&e.check_in.to_be_bytes());
    out.extend_from_slice(&e.nonce);
    out.push(e.severity);
    out.extend_from_slice(&e.found_at.to_be_bytes());
    put_bytes(&mut out, &e.blob);
    out
}

fn decode_exposure(bytes: &[u8]) -> Option<ExposureRow> {
    let mut r = Reader { rest: bytes };
    if r.array::<1>()? != [ROW_VERSION] {
        return None;
    }
    let row = ExposureRow {
        check_in: u64::from_be_bytes(r.array()?),
        nonce: r.array()?,
        severity: r.array::<1>()?[0],
        found_at: u64::from_be_bytes(r.array()?),
        blob: r.bytes()?,
    };
    r.done().then_some(row)
}

fn encode_chain(c: &ChainRow) -> Vec<u8> {
    let mut out = vec![ROW_VERSION];
    put_bytes(&mut out, &c.state);
    out
}

fn decode_chain(bytes: &[u8]) -> Option<ChainRow> {
    let mut r = Reader { rest: bytes };
    if r.array::<1>()? != [ROW_VERSION] {
        return None;
    }
    let row = ChainRow { state: r.bytes()? };
    r.done().then_some(row)
}

fn exposure_key(check_in: u64, nonce: &[u8; 16]) -> String {
    format!("exposure/{check_in}/{}", HEXLOWER.encode(nonce))
}

impl MirrorStore {
    /// An empty store (first start).
    pub fn new() -> MirrorStore {
        MirrorStore::default()
    }

    /// Rebuilds the store from every row IndexedDB holds. Unknown keys are kept
    /// as they are (a newer app version may have written them); a row under a
    /// known prefix that does not decode is an error, never silently dropped.
    pub fn load(rows: Vec<(String, Vec<u8>)>) -> Result<MirrorStore> {
        let mut ops = Vec::new();
        let mut meta_keys = BTreeSet::new();
        for (key, value) in &rows {
            let (kind, rest) = key.split_once('/').unwrap_or((key.as_str(), ""));
            match kind {
                "meta" => {
                    meta_keys.insert(rest.to_string());
                    ops.push(Op::PutMeta(rest.to_string(), value.clone()));
                }
                "authority" => {
                    let id = rest.parse().map_err(|_| corrupt(key))?;
                    ops.push(Op::PutAuthority(id, value.clone()));
                }
                "chain" => {
                    let id = rest.parse().map_err(|_| corrupt(key))?;
                    ops.push(Op::PutChain(
                        id,
                        decode_chain(value).ok_or_else(|| corrupt(key))?,
                    ));
                }
                "checkin" => {
                    ops.push(Op::PutCheckIn(
                        decode_check_in(value).ok_or_else(|| corrupt(key))?,
                    ));
                }
                "exposure" => {
                    ops.push(Op::InsertExposure(
                        decode_exposure(value).ok_or_else(|| corrupt(key))?,
                    ));
                }
                _ => {}
            }
        }
        let mut inner = MemoryStore::new();
        // Chain states after their authorities, exposures after their check-ins.
        ops.sort_by_key(|op| match op {
            Op::PutMeta(..) | Op::PutAuthority(..) | Op::PutCheckIn(..) => 0,
            _ => 1,
        });
        inner.apply(ops)?;
        let store = MirrorStore {
            inner,
            rows: rows.into_iter().collect(),
            meta_keys,
            pending: RefCell::new(Vec::new()),
        };
        // The rebuilt state must encode to exactly what was read.
        if !store.diff()?.is_empty() {
            return Err(ClientError::Storage(
                "stored rows are inconsistent (an exposure without its check-in?)".into(),
            ));
        }
        Ok(store)
    }

    /// Writes not yet handed to the page, in order; the page commits them in one
    /// IndexedDB transaction.
    /// (Takes `&self`: the client core owns the store and lends it out shared.)
    pub fn take_writes(&self) -> Vec<Write> {
        self.pending.take()
    }

    /// Whether writes are waiting for the page.
    pub fn has_writes(&self) -> bool {
        !self.pending.borrow().is_empty()
    }

    /// The rows as the core's state encodes them now.
    fn current(&self) -> Result<BTreeMap<String, Vec<u8>>> {
        let mut now = BTreeMap::new();
        for k in &self.meta_keys {
            if let Some(v) = self.inner.meta(k)? {
                now.insert(format!("meta/{k}"), v);
            }
        }
        let mut ids: BTreeSet<u32> = BTreeSet::new();
        for (id, bytes) in self.inner.authorities()? {
            ids.insert(id);
            now.insert(format!("authority/{id}"), bytes);
        }
        // Chain states of authorities that were removed are gone from the core:
        // look at every id the rows mention too.
        ids.extend(
            self.rows
                .keys()
                .filter_map(|k| k.strip_prefix("chain/"))
                .filter_map(|id| id.parse::<u32>().ok()),
        );
        for id in ids {
            if let Some(c) = self.inner.chain(id)? {
                now.insert(format!("chain/{id}"), encode_chain(&c));
            }
        }
        for r in self.inner.check_ins()? {
            now.insert(format!("checkin/{}", r.id), encode_check_in(&r));
        }
        for e in self.inner.exposures()? {
            now.insert(exposure_key(e.check_in, &e.nonce), encode_exposure(&e));
        }
        // Rows this version does not understand stay as they are.
        for (k, v) in &self.rows {
            let kind = k.split_once('/').map_or(k.as_str(), |(a, _)| a);
            if !matches!(
                kind,
                "meta" | "authority" | "chain" | "checkin" | "exposure"
            ) {
                now.insert(k.clone(), v.clone());
            }
        }
        Ok(now)
    }

    /// The writes that turn the recorded rows into the current state.
    fn diff(&self) -> Result<Vec<Write>> {
        let now = self.current()?;
        let mut writes = Vec::new();
        for (k, v) in &now {
            if self.rows.get(k) != Some(v) {
                writes.push((k.clone(), Some(v.clone())));
            }
        }
        for k in self.rows.keys() {
            if !now.contains_key(k) {
                writes.push((k.clone(), None));
            }
        }
        Ok(writes)
    }
}

impl Store for MirrorStore {
    fn meta(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.inner.meta(key)
    }
    fn authorities(&self) -> Result<Vec<(u32, Vec<u8>)>> {
        self.inner.authorities()
    }
    fn chain(&self, authority: u32) -> Result<Option<ChainRow>> {
        self.inner.chain(authority)
    }
    fn check_ins(&self) -> Result<Vec<CheckInRow>> {
        self.inner.check_ins()
    }
    fn exposures(&self) -> Result<Vec<ExposureRow>> {
        self.inner.exposures()
    }
    fn apply(&mut self, ops: Vec<Op>) -> Result<()> {
        for op in &ops {
            if let Op::PutMeta(k, _) = op {
                self.meta_keys.insert(k.clone());
            }
        }
        self.inner.apply(ops)?;
        let writes = self.diff()?;
        for (k, v) in &writes {
            match v {
                Some(v) => self.rows.insert(k.clone(), v.clone()),
                None => self.rows.remove(k),
            };
        }
        self.pending.borrow_mut().extend(writes);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: u64, active: bool) -> CheckInRow {
        CheckInRow {
            id,
            epoch_kind: 1,
            epoch_index: 490_000u32.wrapping_add(id as u32),
            token: vec![id as u8; 40],
            envelope: vec![7; 30],
            diary: vec![9; 12],
            active: active.then(|| vec![1, 2, 3]),
        }
    }

    /// Replays writes onto a map, as IndexedDB would hold them.
    fn replay(db: &mut BTreeMap<String, Vec<u8>>, writes: Vec<Write>) {
        for (k, v) in writes {
            match v {
                Some(v) => db.insert(k, v),
                None => db.remove(&k),
            };
        }
    }

    #[test]
    fn writes_replayed_elsewhere_rebuild_the_same_state() {
        let mut s = MirrorStore::new();
        let mut db = BTreeMap::new();
        s.apply(vec![
            Op::PutMeta("next_check_in_id".into(), vec![0, 3]),
            Op::PutAuthority(5, vec![1; 10]),
            Op::PutChain(5, ChainRow { state: vec![8; 45] }),
            Op::PutCheckIn(row(1, false)),
            Op::PutCheckIn(row(2, true)),
            Op::InsertExposure(ExposureRow {
                check_in: 1,
                nonce: [3; 16],
                severity: 2,
                found_at: 1_790_000_000,
                blob: vec![4; 20],
            }),
        ])
        .unwrap();
        replay(&mut db, s.take_writes());
        assert_eq!(db.len(), 6);
        assert!(!s.has_writes());

        // Deleting a check-in deletes its exposure too (the core's rule), and the
        // mirror notices both.
        s.apply(vec![Op::DeleteCheckIn(1)]).unwrap();
        let w = s.take_writes();
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w.iter().all(|(_, v)| v.is_none()));
        replay(&mut db, w);

        // Removing the authority forgets its chain state.
        s.apply(vec![Op::RemoveAuthority(5)]).unwrap();
        replay(&mut db, s.take_writes());
        assert!(
            !db.keys()
                .any(|k| k.starts_with("chain/") || k.starts_with("authority/"))
        );

        let back = MirrorStore::load(db.clone().into_iter().collect()).unwrap();
        assert_eq!(back.check_ins().unwrap(), vec![row(2, true)]);
        assert_eq!(back.meta("next_check_in_id").unwrap(), Some(vec![0, 3]));
        assert!(back.exposures().unwrap().is_empty());
    }

    #[test]
    fn unreadable_rows_are_an_error_and_unknown_ones_are_kept() {
        let bad = vec![("checkin/1".to_string(), vec![1, 2, 3])];
        assert!(matches!(
            MirrorStore::load(bad),
            Err(ClientError::Storage(_))
        ));
        let mut truncated = encode_check_in(&row(1, true));
        truncated.pop();
        assert!(MirrorStore::load(vec![("checkin/1".into(), truncated)]).is_err());
        let mut s = MirrorStore::load(vec![("future/x".into(), vec![5])]).unwrap();
        s.apply(vec![Op::PutCheckIn(row(3, false))]).unwrap();
        let w = s.take_writes();
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].0, "checkin/3");
    }

    #[test]
    fn every_row_kind_round_trips() {
        for r in [row(1, true), row(u64::MAX, false)] {
            assert_eq!(decode_check_in(&encode_check_in(&r)), Some(r));
        }
        let e = ExposureRow {
            check_in: 9,
            nonce: [1; 16],
            severity: 3,
            found_at: u64::MAX,
            blob: vec![],
        };
        assert_eq!(decode_exposure(&encode_exposure(&e)), Some(e));
        let c = ChainRow {
            state: vec![2; 100],
        };
        assert_eq!(decode_chain(&encode_chain(&c)), Some(c));
        assert_eq!(decode_chain(&[2; 41]), None);
        // A row of the pre-release format (version 1) is refused, not misread.
        let mut old = encode_check_in(&row(1, false));
        old[0] = 1;
        assert_eq!(decode_check_in(&old), None);
    }
}
