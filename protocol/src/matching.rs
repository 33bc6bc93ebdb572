//! The matching engine: finds which of a phone's tokens a bulletin's notices expose.
//!
//! For each published `(e, venue_time_secret(e))`, only the phone's tokens of epoch
//! `e` are candidates. A candidate is trial-opened: `X25519(secret, R)`, the token
//! key, and one AEAD open. A token that opens and whose stay overlaps the body's
//! exact window is an [`Exposure`].
//!
//! Speed: published keys are public, so the scalar multiplications need not be
//! constant-time in the scalar. Each token's `R` gets a precomputed Edwards table
//! once (the u-coordinate of `k·R` does not depend on the sign chosen for `R`), and
//! every candidate key is a table multiplication; the Montgomery conversions of a
//! batch share one field inversion. With the `parallel` feature, batches are spread
//! over threads. The result equals trial-opening with [`EncounterToken::open_with`]
//! (tested).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use curve25519_dalek::edwards::{EdwardsBasepointTable, EdwardsPoint};
use curve25519_dalek::montgomery::MontgomeryPoint;
use curve25519_dalek::traits::BasepointTable;

use crate::notice::{ExposureNotice, NoticeBody};
use crate::time::Epoch;
use crate::token::{EncounterToken, TokenRecord};

/// How many candidates share one batched inversion.
const BATCH: usize = 128;

/// A token and the caller's id for it.
#[derive(Clone, Debug)]
pub struct StoredToken {
    /// The caller's identifier (e.g. a database row id).
    pub id: u64,
    /// The token.
    pub token: EncounterToken,
}

/// A match: the token, the notice, and what both say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exposure {
    /// The token's caller id.
    pub token_id: u64,
    /// The notice's nonce (its id; withdrawals name it).
    pub notice_nonce: [u8; 16],
    /// The epoch matched.
    pub epoch: Epoch,
    /// The decrypted token record (venue, stay).
    pub record: TokenRecord,
    /// The decrypted notice body (severity, window, messages).
    pub body: NoticeBody,
}

/// A token with its precomputed table, built on first use and kept for later calls
/// (a sync matches bulletin after bulletin against the same tokens).
struct Prepared {
    stored: StoredToken,
    /// Outer `None` until built; inner `None` if `R` is not a valid curve point
    /// (such a token never opens).
    table: OnceLock<Option<Box<EdwardsBasepointTable>>>,
}

impl Prepared {
    fn table(&self) -> Option<&EdwardsBasepointTable> {
        self.table
            .get_or_init(|| {
                MontgomeryPoint(self.stored.token.ephemeral)
                    .to_edwards(0)
                    .map(|p| Box::new(EdwardsBasepointTable::create(&p)))
            })
            .as_deref()
    }
}

/// Tokens indexed by epoch. A token's table is built the first time a notice
/// publishes its epoch, and then kept (a table costs about 20 X25519 operations to
/// build and saves more than that over the hundreds of keys an outbreak publishes
/// per hour).
pub struct Matcher {
    by_epoch: BTreeMap<Epoch, Vec<Prepared>>,
}

impl core::fmt::Debug for Matcher {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Matcher")
            .field("epochs", &self.by_epoch.len())
            .field("tokens", &self.token_count())
            .finish()
    }
}

/// One trial-open to do: entry `entry` of `notice` (scalar `secret`) against
/// prepared token `token`.
#[derive(Clone, Copy)]
struct Candidate<'a> {
    notice: &'a ExposureNotice,
    entry: usize,
    epoch: Epoch,
    secret: &'a [u8; 32],
    token: &'a Prepared,
}

impl Matcher {
    /// Indexes `tokens` by epoch.
    pub fn new(tokens: impl IntoIterator<Item = StoredToken>) -> Matcher {
        let mut by_epoch: BTreeMap<Epoch, Vec<Prepared>> = BTreeMap::new();
        for stored in tokens {
            by_epoch
                .entry(stored.token.epoch)
                .or_default()
                .push(Prepared {
                    stored,
                    table: OnceLock::new(),
                });
        }
        Matcher { by_epoch }
    }

    /// Number of indexed tokens.
    pub fn token_count(&self) -> usize {
        self.by_epoch.values().map(Vec::len).sum()
    }

    /// The published entries whose epoch has tokens: (notice, entry index, epoch,
    /// the entry's scalar). Seeds are expanded here, once per published key that
    /// has candidates; keys of epochs without tokens cost nothing.
    fn published<'a>(
        &self,
        notices: impl IntoIterator<Item = &'a ExposureNotice>,
    ) -> Vec<(&'a ExposureNotice, usize, Epoch, [u8; 32])> {
        let mut out = Vec::new();
        for notice in notices {
            for (entry, epoch, e) in notice.keys() {
                if self.by_epoch.contains_key(&epoch) {
                    out.push((notice, entry, epoch, *e.key.secret(epoch).expose()));
                }
            }
        }
        out
    }

    /// How many trial-opens `notices` would take (candidates).
    pub fn candidate_count<'a>(
        &self,
        notices: impl IntoIterator<Item = &'a ExposureNotice>,
    ) -> usize {
        self.published(notices)
            .iter()
            .map(|(_, _, e, _)| self.by_epoch.get(e).map_or(0, Vec::len))
            .sum()
    }

    /// Every exposure the notices reveal, in a deterministic order.
    pub fn match_notices<'a>(
        &self,
        notices: impl IntoIterator<Item = &'a ExposureNotice>,
    ) -> Vec<Exposure> {
        let published = self.published(notices);
        let epochs: BTreeSet<Epoch> = published.iter().map(|p| p.2).collect();
        let needed: Vec<&Prepared> = epochs
            .iter()
            .filter_map(|e| self.by_epoch.get(e))
            .flatten()
            .collect();
        prepare(&needed);
        let mut candidates = Vec::new();
        for (notice, entry, epoch, secret) in &published {
            if let Some(tokens) = self.by_epoch.get(epoch) {
                candidates.extend(tokens.iter().map(|token| Candidate {
                    notice,
                    entry: *entry,
                    epoch: *epoch,
                    secret,
                    token,
                }));
            }
        }
        let mut out = run_batches(&candidates);
        out.sort_by_key(|e| (e.token_id, e.notice_nonce, e.epoch));
        out.dedup_by(|a, b| a.token_id == b.token_id && a.notice_nonce == b.notice_nonce);
        out
    }
}

/// Number of worker threads for the `parallel` feature (1 without it).
fn workers(items: usize, min_per_worker: usize) -> usize {
    if cfg!(feature = "parallel") {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        cores.min(items / min_per_worker.max(1)).max(1)
    } else {
        1
    }
}

/// Splits `items` over worker threads (scoped std threads; one thread without the
/// `parallel` feature) and concatenates the results in order.
fn fan_out<T: Sync, R: Send>(
    items: &[T],
    min_per_worker: usize,
    f: impl Fn(&[T]) -> Vec<R> + Sync,
) -> Vec<R> {
    fan_out_over(workers(items.len(), min_per_worker), items, f)
}

/// [`fan_out`] over exactly `n` threads. A worker's panic is re-raised here.
fn fan_out_over<T: Sync, R: Send>(
    n: usize,
    items: &[T],
    f: impl Fn(&[T]) -> Vec<R> + Sync,
) -> Vec<R> {
    if n <= 1 {
        return f(items);
    }
    let chunk = items.len().div_ceil(n);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| s.spawn(move || f(part)))
            .collect();
        let mut out = Vec::new();
        for h in handles {
            // A worker that panicked must not silently drop its part of the results
            // (a lost match is a lost alert): re-raise its panic in the caller.
            match h.join() {
                Ok(part) => out.extend(part),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        out
    })
}

/// Builds the missing tables of `tokens`, spread over threads.
fn prepare(tokens: &[&Prepared]) {
    fan_out(tokens, 4, |part| {
        part.iter().for_each(|t| {
            t.table();
        });
        Vec::<()>::new()
    });
}

fn run_batches(candidates: &[Candidate<'_>]) -> Vec<Exposure> {
    fan_out(candidates, 2 * BATCH, run_serial)
}

fn run_serial(candidates: &[Candidate<'_>]) -> Vec<Exposure> {
    let mut out = Vec::new();
    let mut points: Vec<EdwardsPoint> = Vec::with_capacity(BATCH);
    let mut live: Vec<&Candidate<'_>> = Vec::with_capacity(BATCH);
    for batch in candidates.chunks(BATCH) {
        points.clear();
        live.clear();
        for c in batch {
            let Some(table) = c.token.table() else {
                continue;
            };
            points.push(table.mul_base_clamped(*c.secret));
            live.push(c);
        }
        let shared = EdwardsPoint::to_montgomery_batch(&points);
        for (c, u) in live.iter().zip(shared) {
            if let Some(e) = finish_candidate(c, &u.to_bytes()) {
                out.push(e);
            }
        }
    }
    out
}

fn finish_candidate(c: &Candidate<'_>, shared: &[u8; 32]) -> Option<Exposure> {
    let record = c.token.stored.token.open_with_shared(shared).ok()?;
    let body = c.notice.open_body(c.entry, &record.notice_secret).ok()?;
    if !record.overlaps(body.window_start, body.window_end) {
        return None;
    }
    Some(Exposure {
        token_id: c.token.stored.id,
        notice_nonce: c.notice.nonce,
        epoch: c.epoch,
        record,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_worker_is_not_silently_dropped() {
        let items: Vec<u32> = (0..100).collect();
        // Results arrive in order from every worker.
        let all = fan_out_over(4, &items, |part| part.to_vec());
        assert_eq!(all, items);
        // 1.0 returned the other workers' results and dropped the panicking one's
        // (a lost match is a lost alert); now the caller sees the panic.
        let caught = std::panic::catch_unwind(|| {
            fan_out_over(4, &items, |part| {
                assert!(!part.contains(&60), "worker fails");
                part.to_vec()
            })
        });
        assert!(caught.is_err());
    }
}
