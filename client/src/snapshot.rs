//! A [`MemoryStore`] as bytes, so a browser can keep it in IndexedDB (or a test can
//! look at exactly what a seized phone's storage holds).
//!
//! ```text
//! snapshot = "QUETSNAP" ‖ u8 version (1)
//!          ‖ u32 n ‖ n × (bytes key ‖ bytes value)                       meta
//!          ‖ u32 n ‖ n × (u32 id ‖ bytes descriptor)                     authorities
//!          ‖ u32 n ‖ n × (u32 id ‖ bytes chain state)                   chain states
//!          ‖ u32 n ‖ n × (u64 id ‖ u8 epoch kind ‖ u32 epoch index
//!                         ‖ bytes token ‖ bytes envelope ‖ bytes diary
//!                         ‖ u8 0 | u8 1 ‖ bytes active)                   check-ins
//!          ‖ u32 n ‖ n × (u64 check-in ‖ [16] nonce ‖ u8 severity
//!                         ‖ u64 found at ‖ bytes details)                 exposures
//! bytes    = u32 length ‖ length bytes
//! ```
//!
//! Integers are big-endian. The snapshot holds exactly what the store holds (no
//! secret the store does not have); parsing never panics and rejects trailing
//! bytes, keys out of order (each table strictly ascending, so a store has one
//! encoding) and a meta key that is not UTF-8.

use crate::store::{ChainRow, CheckInRow, ExposureRow, MemoryState, MemoryStore};

const MAGIC: &[u8; 8] = b"QUETSNAP";
const VERSION: u8 = 1;

/// Why snapshot bytes were refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SnapshotError {
    /// Not starting with `QUETSNAP`.
    NotASnapshot,
    /// A version this build does not read.
    UnsupportedVersion(u8),
    /// Shorter than its contents say.
    Truncated,
    /// Bytes after the last table.
    TrailingBytes,
    /// A field that is not valid (named).
    Invalid(&'static str),
}

impl core::fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SnapshotError::NotASnapshot => f.write_str("not a Quét store snapshot"),
            SnapshotError::UnsupportedVersion(v) => write!(f, "snapshot version {v} unsupported"),
            SnapshotError::Truncated => f.write_str("snapshot truncated"),
            SnapshotError::TrailingBytes => f.write_str("bytes after the snapshot"),
            SnapshotError::Invalid(what) => write!(f, "invalid {what} in snapshot"),
        }
    }
}

impl std::error::Error for SnapshotError {}

type Res<T> = core::result::Result<T, SnapshotError>;

struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn count(&mut self, n: usize) {
        self.u32(u32::try_from(n).unwrap_or(u32::MAX));
    }
    fn bytes(&mut self, b: &[u8]) {
        self.count(b.len());
        self.0.extend_from_slice(b);
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Res<&'a [u8]> {
        if self.0.len() < n {
            return Err(SnapshotError::Truncated);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn array<const N: usize>(&mut self) -> Res<[u8; N]> {
        self.take(N)?
            .try_into()
            .map_err(|_| SnapshotError::Truncated)
    }
    fn u8(&mut self) -> Res<u8> {
        Ok(self.array::<1>()?[0])
    }
    fn u32(&mut self) -> Res<u32> {
        self.array().map(u32::from_be_bytes)
    }
    fn u64(&mut self) -> Res<u64> {
        self.array().map(u64::from_be_bytes)
    }
    fn bytes(&mut self) -> Res<Vec<u8>> {
        let n = usize::try_from(self.u32()?).map_err(|_| SnapshotError::Truncated)?;
        Ok(self.take(n)?.to_vec())
    }
}

/// Inserts in canonical order: each key strictly after the previous one (what
/// [`MemoryStore::snapshot`] writes), so one store has exactly one snapshot.
fn insert_new<K: Ord + Clone, V>(
    map: &mut std::collections::BTreeMap<K, V>,
    key: K,
    value: V,
    what: &'static str,
) -> Res<()> {
    if map.last_key_value().is_some_and(|(last, _)| *last >= key) {
        return Err(SnapshotError::Invalid(what));
    }
    map.insert(key, value);
    Ok(())
}

impl MemoryStore {
    /// The store as bytes (module docs).
    pub fn snapshot(&self) -> Vec<u8> {
        let s = &self.state;
        let mut w = Writer(MAGIC.to_vec());
        w.u8(VERSION);
        w.count(s.meta.len());
        for (k, v) in &s.meta {
            w.bytes(k.as_bytes());
            w.bytes(v);
        }
        w.count(s.authorities.len());
        for (id, d) in &s.authorities {
            w.u32(*id);
            w.bytes(d);
        }
        w.count(s.chains.len());
        for (id, c) in &s.chains {
            w.u32(*id);
            w.bytes(&c.state);
        }
        w.count(s.check_ins.len());
        for r in s.check_ins.values() {
            w.u64(r.id);
            w.u8(r.epoch_kind);
            w.u32(r.epoch_index);
            w.bytes(&r.token);
            w.bytes(&r.envelope);
            w.bytes(&r.diary);
            match &r.active {
                Some(a) => {
                    w.u8(1);
                    w.bytes(a);
                }
                None => w.u8(0),
            }
        }
        w.count(s.exposures.len());
        for e in s.exposures.values() {
            w.u64(e.check_in);
            w.0.extend_from_slice(&e.nonce);
            w.u8(e.severity);
            w.u64(e.found_at);
            w.bytes(&e.blob);
        }
        w.0
    }

    /// A store from [`MemoryStore::snapshot`] bytes.
    pub fn from_snapshot(bytes: &[u8]) -> Res<MemoryStore> {
        let mut r = Reader(bytes);
        if r.take(MAGIC.len())
            .map_err(|_| SnapshotError::NotASnapshot)?
            != MAGIC
        {
            return Err(SnapshotError::NotASnapshot);
        }
        let version = r.u8()?;
        if version != VERSION {
            return Err(SnapshotError::UnsupportedVersion(version));
        }
        let mut s = MemoryState::default();
        for _ in 0..r.u32()? {
            let k =
                String::from_utf8(r.bytes()?).map_err(|_| SnapshotError::Invalid("meta key"))?;
            let v = r.bytes()?;
            insert_new(&mut s.meta, k, v, "meta key order")?;
        }
        for _ in 0..r.u32()? {
            let id = r.u32()?;
            let d = r.bytes()?;
            insert_new(&mut s.authorities, id, d, "authority order")?;
        }
        for _ in 0..r.u32()? {
            let id = r.u32()?;
            let row = ChainRow { state: r.bytes()? };
            insert_new(&mut s.chains, id, row, "chain state order")?;
        }
        for _ in 0..r.u32()? {
            let id = r.u64()?;
            let row = CheckInRow {
                id,
                epoch_kind: r.u8()?,
                epoch_index: r.u32()?,
                token: r.bytes()?,
                envelope: r.bytes()?,
                diary: r.bytes()?,
                active: match r.u8()? {
                    0 => None,
                    1 => Some(r.bytes()?),
                    _ => return Err(SnapshotError::Invalid("active flag")),
                },
            };
            insert_new(&mut s.check_ins, id, row, "check-in order")?;
        }
        for _ in 0..r.u32()? {
            let row = ExposureRow {
                check_in: r.u64()?,
                nonce: r.array()?,
                severity: r.u8()?,
                found_at: r.u64()?,
                blob: r.bytes()?,
            };
            insert_new(
                &mut s.exposures,
                (row.check_in, row.nonce),
                row,
                "exposure order",
            )?;
        }
        if !r.0.is_empty() {
            return Err(SnapshotError::TrailingBytes);
        }
        Ok(MemoryStore::from_state(s))
    }
}
