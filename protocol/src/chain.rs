//! How a client follows an authority's bulletin feed: the one implementation of the
//! rules for heads and bulletins that the phone (CLI and web app) and the venue's
//! assisted-visitor matcher all apply.
//!
//! A [`ChainView`] is what a client remembers per authority: the last bulletin it
//! accepted and the newest head it verified. A sync is:
//!
//! 1. fetch the head (`GET /v1/bulletins/head`) and [`ChainView::check_head`] it:
//!    signature, not expired, not older than a head already seen (no rollback),
//!    agreeing with every bulletin already accepted (no fork), naming the
//!    descriptor in force; the result is a [`SyncPlan`];
//! 2. fetch the bulletins the plan names, in order, and [`ChainView::accept_bulletin`]
//!    each: it must extend the chain (sequence + 1, previous hash), or, when the
//!    client has none or the bulletins after its last one are gone, start at the
//!    head's oldest live bulletin with exactly the hash the head gives; the last one
//!    must have exactly the head's latest hash;
//! 3. [`ChainView::record_head`] once every planned bulletin is in.
//!
//! **Skipping** bulletins is allowed only on signed evidence that they expired: the
//! head must say they are gone *and* be issued no earlier than the expiry of the
//! client's last bulletin (every later bulletin expires no earlier than that).
//! Otherwise it is [`Error::ChainGap`]: a mirror hiding bulletins. A client whose
//! newest verified head has expired is **stale** ([`ChainView::freshness`]): it must
//! tell the user that alerts may be out of date since that head's issue time.
//!
//! **Forks.** Two signed statements about the same sequence with different hashes
//! (a head and a bulletin, two heads from two paths) are [`Error::ForkDetected`]. A
//! venue's code may carry a [`ChainCheckpoint`] (the newest bulletin its display
//! verified); [`ChainView::check_checkpoint`] compares it with what the client
//! verified. The spec (`spec/protocol.md`, "Following the chain") says what a
//! client does on each outcome.

use crate::authority::AuthorityDescriptor;
use crate::bulletin::{Bulletin, ChainState};
use crate::error::{Error, Result};
use crate::head::{BulletinHead, HEAD_CLOCK_SKEW_SECS};
use crate::secret::ct_eq_bytes;
use crate::time::UnixTime;

/// What a client remembers of the newest head it verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeadState {
    /// The head's latest sequence.
    pub latest_sequence: u64,
    /// The head's latest hash.
    pub latest_hash: [u8; 32],
    /// Issue time.
    pub issued_at: UnixTime,
    /// Expiry.
    pub expires_at: UnixTime,
}

impl From<&BulletinHead> for HeadState {
    fn from(h: &BulletinHead) -> HeadState {
        HeadState {
            latest_sequence: h.latest.sequence,
            latest_hash: h.latest.hash,
            issued_at: h.issued_at,
            expires_at: h.expires_at,
        }
    }
}

/// What a client remembers of one authority's feed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChainView {
    /// The last bulletin accepted (or the point the chain was anchored at).
    pub last: Option<ChainState>,
    /// The newest head verified.
    pub head: Option<HeadState>,
}

/// What to fetch after a verified head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncPlan {
    /// Nothing new.
    UpToDate,
    /// Fetch bulletins `first..=last` in order. `reanchor` says the chain starts
    /// afresh at `first` (first contact, or signed evidence that the bulletins after
    /// the client's last one expired).
    Fetch {
        /// First sequence to fetch.
        first: u64,
        /// Last sequence to fetch (the head's latest).
        last: u64,
        /// Whether `first` is a new anchor rather than `last accepted + 1`.
        reanchor: bool,
    },
}

/// Whether the client's view of the feed is current.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freshness {
    /// The newest verified head is valid until this time.
    Fresh {
        /// The head's expiry.
        until: UnixTime,
    },
    /// No valid head: alerts may be out of date since `since` (the newest verified
    /// head's issue time; `None` if no head was ever verified).
    Stale {
        /// Issue time of the newest verified head.
        since: Option<UnixTime>,
    },
}

/// The newest bulletin a venue display verified, carried in its codes: the
/// sequence and the first 16 bytes of that bulletin's chain hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainCheckpoint {
    /// Sequence number.
    pub sequence: u32,
    /// First 16 bytes of the bulletin's chain hash.
    pub hash_prefix: [u8; 16],
}

impl ChainCheckpoint {
    /// The checkpoint of a bulletin position.
    pub fn new(sequence: u64, hash: &[u8; 32]) -> Option<ChainCheckpoint> {
        let mut hash_prefix = [0u8; 16];
        hash_prefix.copy_from_slice(hash.get(..16)?);
        Some(ChainCheckpoint {
            sequence: u32::try_from(sequence).ok()?,
            hash_prefix,
        })
    }

    fn matches(&self, hash: &[u8; 32]) -> bool {
        ct_eq_bytes(&self.hash_prefix, hash.get(..16).unwrap_or_default())
    }
}

/// How a venue's checkpoint compares with what the client verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckpointVerdict {
    /// The same hash for the same sequence.
    Consistent,
    /// The venue saw a later bulletin than the client knows: sync (at a random
    /// later time, never right after the scan).
    Ahead,
    /// The venue saw an earlier bulletin whose hash the client no longer holds.
    Unknown,
    /// Different hashes for the same sequence: a split view (or a lying venue).
    Conflict,
}

impl ChainView {
    /// The newest sequence known from an accepted bulletin or a verified head.
    pub fn known_sequence(&self) -> u64 {
        let last = self.last.map_or(0, |l| l.sequence);
        let head = self.head.map_or(0, |h| h.latest_sequence);
        last.max(head)
    }

    /// Verifies a head (signature and structure by [`BulletinHead::decode_and_verify`])
    /// against this view and the clock, and says what to fetch. Does not change the
    /// view: call [`ChainView::record_head`] once the planned bulletins are in.
    pub fn check_head(
        &self,
        bytes: &[u8],
        authority: &AuthorityDescriptor,
        now: UnixTime,
    ) -> Result<(BulletinHead, SyncPlan)> {
        let head = BulletinHead::decode_and_verify(bytes, authority)?;
        if head.expires_at <= now {
            return Err(Error::HeadExpired {
                expired_at: head.expires_at,
            });
        }
        if head.issued_at.0 > now.0.saturating_add(HEAD_CLOCK_SKEW_SECS) {
            return Err(Error::InvalidField {
                field: "head issue time",
            });
        }
        if let Some(prev) = &self.head {
            if head.latest.sequence < prev.latest_sequence || head.issued_at < prev.issued_at {
                return Err(Error::HeadRollback {
                    known: prev.latest_sequence,
                    offered: head.latest.sequence,
                });
            }
            if head.latest.sequence == prev.latest_sequence
                && !ct_eq_bytes(&head.latest.hash, &prev.latest_hash)
            {
                return Err(Error::ForkDetected {
                    sequence: head.latest.sequence,
                });
            }
        }
        let plan = match &self.last {
            Some(last) if head.latest.sequence < last.sequence => {
                return Err(Error::HeadRollback {
                    known: last.sequence,
                    offered: head.latest.sequence,
                });
            }
            Some(last) if head.latest.sequence == last.sequence => {
                if !ct_eq_bytes(&head.latest.hash, &last.hash) {
                    return Err(Error::ForkDetected {
                        sequence: last.sequence,
                    });
                }
                SyncPlan::UpToDate
            }
            Some(last) => {
                let next = last.sequence.saturating_add(1);
                if next >= head.oldest.sequence {
                    SyncPlan::Fetch {
                        first: next,
                        last: head.latest.sequence,
                        reanchor: false,
                    }
                } else {
                    if head.issued_at < last.expires_at {
                        return Err(Error::ChainGap {
                            have: last.sequence,
                            oldest: head.oldest.sequence,
                        });
                    }
                    Self::anchor_plan(&head)
                }
            }
            None => Self::anchor_plan(&head),
        };
        Ok((head, plan))
    }

    fn anchor_plan(head: &BulletinHead) -> SyncPlan {
        if head.has_live_bulletins() {
            SyncPlan::Fetch {
                first: head.oldest.sequence,
                last: head.latest.sequence,
                reanchor: true,
            }
        } else {
            SyncPlan::UpToDate
        }
    }

    /// Accepts the next bulletin of a plan from `head` (already checked): verifies
    /// its signature, that it has not expired, and that it extends the chain, or
    /// anchors it exactly where the head says; the head's latest bulletin must have
    /// exactly the head's latest hash. On success the view's `last` advances.
    pub fn accept_bulletin(
        &mut self,
        bytes: &[u8],
        authority: &AuthorityDescriptor,
        head: &BulletinHead,
        now: UnixTime,
    ) -> Result<Bulletin> {
        let b = Bulletin::decode_and_verify_signature(bytes, authority)?;
        if b.expires_at <= now {
            return Err(Error::BulletinExpired {
                sequence: b.sequence,
            });
        }
        let hash = b.hash();
        let reanchor = match &self.last {
            None => true,
            Some(last) => last.sequence.saturating_add(1) < head.oldest.sequence,
        };
        if reanchor {
            if let Some(last) = &self.last
                && head.issued_at < last.expires_at
            {
                return Err(Error::ChainGap {
                    have: last.sequence,
                    oldest: head.oldest.sequence,
                });
            }
            if b.sequence != head.oldest.sequence {
                return Err(Error::BulletinOutOfOrder {
                    expected: head.oldest.sequence,
                    found: b.sequence,
                });
            }
            if !ct_eq_bytes(&hash, &head.oldest.hash) {
                return Err(Error::ForkDetected {
                    sequence: b.sequence,
                });
            }
            if b.sequence == 1 && b.prev_hash != [0u8; 32] {
                return Err(Error::BulletinChainBroken { sequence: 1 });
            }
        } else if let Some(last) = &self.last {
            let expected = last.sequence.saturating_add(1);
            if b.sequence != expected {
                return Err(Error::BulletinOutOfOrder {
                    expected,
                    found: b.sequence,
                });
            }
            if !ct_eq_bytes(&b.prev_hash, &last.hash) {
                return Err(Error::BulletinChainBroken {
                    sequence: b.sequence,
                });
            }
        }
        if b.sequence > head.latest.sequence {
            return Err(Error::BulletinOutOfOrder {
                expected: head.latest.sequence,
                found: b.sequence,
            });
        }
        if b.sequence == head.latest.sequence && !ct_eq_bytes(&hash, &head.latest.hash) {
            return Err(Error::ForkDetected {
                sequence: b.sequence,
            });
        }
        self.last = Some(b.chain_state());
        Ok(b)
    }

    /// Records a head whose plan is complete. When the head says no bulletin is live
    /// any more, the chain is anchored at its latest point (signed by the head), so
    /// the next bulletin still has to chain to it.
    pub fn record_head(&mut self, head: &BulletinHead) -> Result<()> {
        let have = self.last.map_or(0, |l| l.sequence);
        if have < head.latest.sequence {
            if head.has_live_bulletins() {
                return Err(Error::BulletinOutOfOrder {
                    expected: head.latest.sequence,
                    found: have,
                });
            }
            self.last = Some(ChainState {
                sequence: head.latest.sequence,
                hash: head.latest.hash,
                expires_at: head.issued_at,
            });
        }
        self.head = Some(HeadState::from(head));
        Ok(())
    }

    /// Whether alerts are current at `now`: fresh while the newest verified head
    /// has not expired.
    pub fn freshness(&self, now: UnixTime) -> Freshness {
        match &self.head {
            Some(h) if h.expires_at > now => Freshness::Fresh {
                until: h.expires_at,
            },
            Some(h) => Freshness::Stale {
                since: Some(h.issued_at),
            },
            None => Freshness::Stale { since: None },
        }
    }

    /// Compares a venue's checkpoint with the bulletin and head this client verified.
    pub fn check_checkpoint(&self, cp: &ChainCheckpoint) -> CheckpointVerdict {
        let seq = u64::from(cp.sequence);
        let known = [
            self.last.map(|l| (l.sequence, l.hash)),
            self.head.map(|h| (h.latest_sequence, h.latest_hash)),
        ];
        for (s, hash) in known.into_iter().flatten() {
            if s == seq && s > 0 {
                return if cp.matches(&hash) {
                    CheckpointVerdict::Consistent
                } else {
                    CheckpointVerdict::Conflict
                };
            }
        }
        if seq > self.known_sequence() {
            CheckpointVerdict::Ahead
        } else {
            CheckpointVerdict::Unknown
        }
    }
}
