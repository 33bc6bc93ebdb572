//! Bulletin sync and private matching, as steps a caller drives.
//!
//! The core never does network I/O. [`Client::sync_start`] returns a
//! [`SyncSession`]; [`SyncSession::next_request`] says what to fetch next;
//! the caller fetches it (a browser with `fetch`, natively a blocking
//! [`Transport`]) and hands the answer to [`Client::sync_receive`], which verifies
//! it and commits what it accepts. [`Client::sync`] is the blocking loop over the
//! same steps.
//!
//! Each accepted bulletin is verified (`Bulletin::verify_next`: signature under
//! the pinned key, expiry, sequence and previous hash), matched against every
//! stored token, and committed with its alerts, withdrawals and the new chain
//! state in **one** batch, so an interrupted sync resumes at the next bulletin.
//! Matching needs no unlock: alert details are sealed to the diary public key.

use std::collections::{BTreeSet, VecDeque};

use data_encoding::HEXLOWER;
use quet_protocol::authority::AuthorityDescriptor;
use quet_protocol::bulletin::{Bulletin, ChainState, MAX_BULLETIN_LEN};
use quet_protocol::matching::{Matcher, StoredToken};
use quet_protocol::time::UnixTime;
use quet_protocol::token::EncounterToken;
use serde::{Deserialize, Serialize};

use crate::answers::{parse_json, server_error};
use crate::client::Client;
use crate::error::{ClientError, Result};
use crate::model::{ALERT_PAD, Alert, AlertSummary, padded_json, severity_slug};
use crate::store::{ChainRow, ExposureRow, Op, Store};
use crate::transport::{Request, Response, Transport, join};
use crate::vault::ALERT_LABEL;

/// Largest index answer read.
const MAX_INDEX_LEN: usize = 4 << 20;

/// Progress of a sync, for a progress bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
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
    /// Alerts found in this sync that were not known before (details need the
    /// unlock: [`Client::alerts`]).
    pub new_alerts: Vec<AlertSummary>,
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
    pub new_alerts: Vec<AlertSummary>,
    /// Alerts cleared by withdrawals.
    pub withdrawn: usize,
}

#[derive(Deserialize)]
struct IndexJson {
    #[serde(default)]
    authority: Option<String>,
    first: u64,
    latest: u64,
}

/// What the session waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Awaiting {
    Index,
    Bulletin(u64),
}

/// One authority's part of a sync.
struct AuthorityRun {
    descriptor: AuthorityDescriptor,
    /// The next bulletin to fetch and the last one listed (after the index).
    next: u64,
    latest: u64,
    last: Option<ChainState>,
    total: u64,
    result: AuthoritySync,
    awaiting: Awaiting,
}

/// A sync in progress: which request comes next, and what was done so far. Drive
/// it with [`SyncSession::next_request`] and [`Client::sync_receive`]; dropping it
/// midway loses nothing already committed.
pub struct SyncSession {
    now: UnixTime,
    matcher: Matcher,
    queue: VecDeque<AuthorityDescriptor>,
    current: Option<AuthorityRun>,
    report: SyncReport,
}

impl core::fmt::Debug for SyncSession {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SyncSession")
            .field("now", &self.now)
            .field("report", &self.report)
            .finish_non_exhaustive()
    }
}

impl SyncSession {
    /// The next request to make, or `None` when the sync is complete.
    pub fn next_request(&mut self) -> Option<Request> {
        loop {
            if self.current.is_none() {
                let descriptor = self.queue.pop_front()?;
                let id = descriptor.id.0;
                self.current = Some(AuthorityRun {
                    descriptor,
                    next: 0,
                    latest: 0,
                    last: None,
                    total: 0,
                    result: AuthoritySync {
                        authority: id,
                        accepted: 0,
                        sequence: 0,
                        reanchored: false,
                    },
                    awaiting: Awaiting::Index,
                });
            }
            let run = self.current.as_mut()?;
            let base = &run.descriptor.base_url;
            match run.awaiting {
                Awaiting::Index => {
                    return Some(Request::get(
                        join(base, "/v1/bulletins/index.json"),
                        MAX_INDEX_LEN,
                    ));
                }
                Awaiting::Bulletin(seq) if seq <= run.latest => {
                    return Some(Request::get(
                        join(base, &format!("/v1/bulletins/{seq}")),
                        MAX_BULLETIN_LEN,
                    ));
                }
                Awaiting::Bulletin(_) => {
                    if let Some(run) = self.current.take() {
                        self.report.authorities.push(run.result);
                    }
                }
            }
        }
    }

    /// What the sync did so far (all of it once [`SyncSession::next_request`]
    /// returned `None`).
    pub fn report(&self) -> &SyncReport {
        &self.report
    }

    /// Ends the session and returns its report.
    pub fn finish(mut self) -> SyncReport {
        if let Some(run) = self.current.take() {
            self.report.authorities.push(run.result);
        }
        self.report
    }
}

impl<S: Store> Client<S> {
    /// A matcher over every stored token.
    fn matcher(&self) -> Result<Matcher> {
        let mut tokens = Vec::new();
        for row in self.store.check_ins()? {
            let token = EncounterToken::from_bytes(&row.token)
                .map_err(|_| ClientError::Storage(format!("check-in {}: bad token", row.id)))?;
            tokens.push(StoredToken { id: row.id, token });
        }
        Ok(Matcher::new(tokens))
    }

    /// Starts a sync of every pinned authority at `now`: auto check-out and purge
    /// first, then the tokens are loaded for matching.
    pub fn sync_start(&mut self, now: UnixTime) -> Result<SyncSession> {
        self.auto_check_out(now)?;
        self.purge(now)?;
        Ok(SyncSession {
            now,
            matcher: self.matcher()?,
            queue: self.authorities()?.into(),
            current: None,
            report: SyncReport {
                authorities: Vec::new(),
                new_alerts: Vec::new(),
                withdrawn: 0,
            },
        })
    }

    /// Hands the answer to the session's last request to the client: verifies and
    /// commits what it accepts. Returns the progress after a bulletin. An error
    /// stops the sync (drop the session); what was committed before stays.
    pub fn sync_receive(
        &mut self,
        session: &mut SyncSession,
        response: Response,
    ) -> Result<Option<SyncProgress>> {
        let now = session.now;
        let run = session
            .current
            .as_mut()
            .ok_or_else(|| ClientError::InvalidSetting("no request is pending".into()))?;
        if response.status != 200 {
            return Err(server_error(&response));
        }
        let id = run.descriptor.id.0;
        match run.awaiting {
            Awaiting::Index => {
                let index: IndexJson = parse_json(&response, "bad_index")?;
                // spec/api.md: "authority": "<8 hex>"; anything else is not checked.
                if let Some(a) = index.authority.as_deref()
                    && a.len() == 8
                    && u32::from_str_radix(a, 16).is_ok_and(|a| a != id)
                {
                    return Err(ClientError::Server {
                        status: response.status,
                        kind: "wrong_authority".into(),
                        message: format!("index is for authority {a}, expected {id:08x}"),
                    });
                }
                let chain = self.store.chain(id)?;
                run.last = chain.map(|c| ChainState {
                    sequence: c.sequence,
                    hash: c.hash,
                });
                run.result.sequence = chain.map_or(0, |c| c.sequence);
                let start = match run.last {
                    Some(c) if c.sequence > index.latest => {
                        return Err(ClientError::ChainRollback {
                            authority: id,
                            have: c.sequence,
                            latest: index.latest,
                        });
                    }
                    Some(c) if c.sequence.saturating_add(1) < index.first => {
                        // Bulletins expired while offline: their notices are past
                        // the retention period; anchor again on the first live one.
                        run.last = None;
                        run.result.reanchored = true;
                        index.first
                    }
                    Some(c) => c.sequence.saturating_add(1),
                    None => index.first.max(1),
                };
                run.next = start;
                run.latest = if index.latest == 0 { 0 } else { index.latest };
                run.total = run.latest.saturating_add(1).saturating_sub(start);
                run.awaiting = Awaiting::Bulletin(start);
                Ok(None)
            }
            Awaiting::Bulletin(seq) => {
                let r = self.ingest(
                    &run.descriptor,
                    &session.matcher,
                    &response.body,
                    run.last.as_ref(),
                    seq,
                    now,
                )?;
                session.report.new_alerts.extend(r.new_alerts);
                session.report.withdrawn += r.withdrawn;
                run.last = self.store.chain(id)?.map(|c| ChainState {
                    sequence: c.sequence,
                    hash: c.hash,
                });
                run.result.accepted += 1;
                run.result.sequence = r.sequence;
                run.awaiting = Awaiting::Bulletin(seq.saturating_add(1));
                Ok(Some(SyncProgress {
                    authority: id,
                    done: run.result.accepted,
                    total: run.total,
                }))
            }
        }
    }

    /// Downloads, verifies and matches every bulletin this phone lacks from every
    /// pinned authority: the blocking loop over [`Client::sync_start`],
    /// [`SyncSession::next_request`] and [`Client::sync_receive`]. The first error
    /// stops the sync; everything accepted before it stays.
    pub fn sync(
        &mut self,
        transport: &dyn Transport,
        now: UnixTime,
        progress: &mut dyn FnMut(SyncProgress),
    ) -> Result<SyncReport> {
        let mut session = self.sync_start(now)?;
        while let Some(request) = session.next_request() {
            let response = transport.execute(&request)?;
            if let Some(p) = self.sync_receive(&mut session, response)? {
                progress(p);
            }
        }
        Ok(session.finish())
    }

    /// The sequence of the last bulletin accepted from `authority` (`None` before
    /// the first sync).
    pub fn last_bulletin(&self, authority: u32) -> Result<Option<u64>> {
        Ok(self.store.chain(authority)?.map(|c| c.sequence))
    }

    /// Verifies one bulletin of `authority` against the stored chain (or anchors the
    /// chain on it if there is none), matches its notices, and stores the alerts,
    /// withdrawals and new chain state in one transaction.
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
        let (pk, mut ops) = self.ensure_diary_key()?;
        let known: BTreeSet<(u64, [u8; 16])> = self
            .store
            .exposures()?
            .iter()
            .map(|e| (e.check_in, e.nonce))
            .collect();
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
            let blob = pk.seal(
                &mut *self.rng,
                ALERT_LABEL,
                &exposure_row_id(m.token_id, &m.notice_nonce),
                &padded_json(&alert, ALERT_PAD)?,
            )?;
            let severity = m.body.severity.to_byte();
            ops.push(Op::InsertExposure(ExposureRow {
                check_in: m.token_id,
                nonce: m.notice_nonce,
                severity,
                found_at: now.0,
                blob,
            }));
            new_alerts.push(AlertSummary::new(
                m.token_id,
                &m.notice_nonce,
                severity,
                now.0,
            ));
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

    /// Every stored alert in full, newest stay first. Needs the unlock.
    pub fn alerts(&self) -> Result<Vec<Alert>> {
        let rows = self.store.exposures()?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let secret = self.secret()?;
        let mut out = Vec::new();
        for row in rows {
            let plain = secret.open(
                ALERT_LABEL,
                &exposure_row_id(row.check_in, &row.nonce),
                &row.blob,
            )?;
            out.push(serde_json::from_slice(&plain).map_err(|_| ClientError::LocalDecrypt)?);
        }
        out.sort_by_key(|a: &Alert| core::cmp::Reverse((a.arrival, a.check_in)));
        Ok(out)
    }

    /// What a locked phone shows of its alerts ("unlock to see where"), newest
    /// found first.
    pub fn alert_summaries(&self) -> Result<Vec<AlertSummary>> {
        let mut out: Vec<AlertSummary> = self
            .store
            .exposures()?
            .iter()
            .map(|r| AlertSummary::new(r.check_in, &r.nonce, r.severity, r.found_at))
            .collect();
        out.sort_by_key(|a| core::cmp::Reverse((a.found_at, a.check_in)));
        Ok(out)
    }
}

/// The associated data of an alert: check-in id ‖ notice nonce.
pub(crate) fn exposure_row_id(check_in: u64, nonce: &[u8; 16]) -> Vec<u8> {
    let mut v = check_in.to_be_bytes().to_vec();
    v.extend_from_slice(nonce);
    v
}
