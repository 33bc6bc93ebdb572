//! Bulletin sync and private matching (protocol 1.1), as steps a caller drives.
//!
//! The core never does network I/O. [`Client::sync_start`] returns a
//! [`SyncSession`]; [`SyncSession::next_request`] says what to fetch next; the
//! caller fetches it (a browser with `fetch`, natively a blocking [`Transport`])
//! and hands the answer to [`Client::sync_receive`], which verifies it and commits
//! what it accepts. [`Client::sync`] is the blocking loop over the same steps.
//!
//! Per pinned authority, the rules are the protocol's one implementation
//! (`quet_protocol::chain`), applied to the stored chain view:
//!
//! 1. `GET /v1/bulletins/head`, verified by `ChainView::check_head` (signature, not
//!    expired, no rollback, no fork, descriptor serial). A head signed under a
//!    newer descriptor makes the client fetch `GET /v1/descriptor`, accept it only
//!    as an update of the pinned one (higher serial, signed by the pinned root),
//!    and check the same head again. `index.json` is never read.
//! 2. The bulletins the head's plan names, in order, each accepted by
//!    `ChainView::accept_bulletin` (chain, or re-anchoring exactly where the head
//!    says on signed evidence that the skipped bulletins expired), matched against
//!    every stored token, and committed with its alerts, withdrawals, revocations
//!    and the new chain view in **one** batch, so an interrupted sync resumes.
//! 3. The head is recorded once its plan is complete; the feed is then fresh until
//!    the head expires ([`Client::feed_status`]).
//! 4. A venue checkpoint that conflicted with this phone's view is re-checked: the
//!    bulletin of that sequence is fetched again with a cache-busting query (so a
//!    CDN in the way forwards it to the origin) and compared with both hashes.
//!
//! Matching needs no unlock: alert details are sealed to the diary public key.
//! An error for one authority is returned at once; the caller may keep driving the
//! session, which moves on to the next authority.

use std::collections::{BTreeSet, VecDeque};

use data_encoding::HEXLOWER;
use quet_protocol::authority::AuthorityDescriptor;
use quet_protocol::bulletin::{Bulletin, MAX_BULLETIN_LEN};
use quet_protocol::chain::{ChainView, SyncPlan};
use quet_protocol::head::{BulletinHead, HEAD_LEN};
use quet_protocol::matching::{Matcher, StoredToken};
use quet_protocol::time::UnixTime;
use quet_protocol::token::EncounterToken;
use serde::Serialize;

use crate::answers::server_error;
use crate::client::Client;
use crate::error::{ClientError, Result};
use crate::feed::{AlarmKind, ChainAlarm, RevokedKey, encode_view};
use crate::model::{ALERT_PAD, Alert, AlertSummary, padded_json, severity_slug};
use crate::store::{ExposureRow, Op, Store};
use crate::transport::{Request, Response, Transport, join};
use crate::vault::ALERT_LABEL;

/// Largest descriptor answer read.
const MAX_DESCRIPTOR_LEN: usize = 64 * 1024;

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
    /// Whether the chain was (re-)anchored at the head's oldest live bulletin
    /// (first contact, or signed evidence that the bulletins in between expired).
    pub reanchored: bool,
    /// Whether the pinned descriptor was updated (the head named a newer serial).
    pub descriptor_updated: bool,
    /// The feed is current until this time (the verified head's expiry), if the
    /// sync of this authority completed.
    pub fresh_until: Option<u64>,
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

/// What the session waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Awaiting {
    Head,
    Descriptor,
    Bulletin(u64),
    Recheck(u64),
    Done,
}

/// One authority's part of a sync.
struct AuthorityRun {
    descriptor: AuthorityDescriptor,
    view: ChainView,
    head_bytes: Vec<u8>,
    head: Option<BulletinHead>,
    latest: u64,
    total: u64,
    result: AuthoritySync,
    awaiting: Awaiting,
    rechecks: Vec<ChainAlarm>,
}

/// A sync in progress: which request comes next, and what was done so far. Drive
/// it with [`SyncSession::next_request`] and [`Client::sync_receive`]; dropping it
/// midway loses nothing already committed.
pub struct SyncSession {
    now: UnixTime,
    matcher: Matcher,
    queue: VecDeque<(AuthorityDescriptor, ChainView, Vec<ChainAlarm>)>,
    current: Option<AuthorityRun>,
    report: SyncReport,
    nonce: u64,
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
                let (descriptor, view, rechecks) = self.queue.pop_front()?;
                let id = descriptor.id.0;
                self.current = Some(AuthorityRun {
                    descriptor,
                    result: AuthoritySync {
                        authority: id,
                        accepted: 0,
                        sequence: view.last.map_or(0, |l| l.sequence),
                        reanchored: false,
                        descriptor_updated: false,
                        fresh_until: None,
                    },
                    view,
                    head_bytes: Vec::new(),
                    head: None,
                    latest: 0,
                    total: 0,
                    awaiting: Awaiting::Head,
                    rechecks,
                });
            }
            let run = self.current.as_mut()?;
            let base = run.descriptor.base_url.clone();
            match run.awaiting {
                Awaiting::Head => {
                    return Some(Request::get(join(&base, "/v1/bulletins/head"), HEAD_LEN));
                }
                Awaiting::Descriptor => {
                    return Some(Request::get(
                        join(&base, "/v1/descriptor"),
                        MAX_DESCRIPTOR_LEN,
                    ));
                }
                Awaiting::Bulletin(seq) => {
                    return Some(Request::get(
                        join(&base, &format!("/v1/bulletins/{seq}")),
                        MAX_BULLETIN_LEN,
                    ));
                }
                Awaiting::Recheck(seq) => {
                    self.nonce = self.nonce.wrapping_add(1);
                    return Some(Request::get(
                        join(
                            &base,
                            &format!("/v1/bulletins/{seq}?recheck={}-{}", self.now.0, self.nonce),
                        ),
                        MAX_BULLETIN_LEN,
                    ));
                }
                Awaiting::Done => {
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

impl AuthorityRun {
    /// After the head's plan (and the re-checks): done.
    fn after_plan(&mut self) {
        self.awaiting = self
            .rechecks
            .first()
            .map_or(Awaiting::Done, |a| Awaiting::Recheck(a.sequence));
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
        let alarms = self.alarms()?;
        let mut queue = VecDeque::new();
        for d in self.authorities()? {
            let view = self.chain_view(d.id.0)?;
            let rechecks = alarms
                .iter()
                .filter(|a| a.authority == d.id.0 && a.kind == AlarmKind::CheckpointConflict)
                .copied()
                .collect();
            queue.push_back((d, view, rechecks));
        }
        Ok(SyncSession {
            now,
            matcher: self.matcher()?,
            queue,
            current: None,
            report: SyncReport {
                authorities: Vec::new(),
                new_alerts: Vec::new(),
                withdrawn: 0,
            },
            nonce: 0,
        })
    }

    /// Hands the answer to the session's last request to the client: verifies and
    /// commits what it accepts. Returns the progress after a bulletin. An error
    /// ends this authority's part (what was committed stays); the session moves on
    /// to the next authority if the caller keeps driving it.
    pub fn sync_receive(
        &mut self,
        session: &mut SyncSession,
        response: Response,
    ) -> Result<Option<SyncProgress>> {
        let result = self.receive(session, response);
        if result.is_err()
            && let Some(run) = session.current.take()
        {
            session.report.authorities.push(run.result);
        }
        result
    }

    fn receive(
        &mut self,
        session: &mut SyncSession,
        response: Response,
    ) -> Result<Option<SyncProgress>> {
        let now = session.now;
        let run = session
            .current
            .as_mut()
            .ok_or_else(|| ClientError::InvalidSetting("no request is pending".into()))?;
        let id = run.descriptor.id.0;
        match run.awaiting {
            Awaiting::Head => {
                if response.status != 200 {
                    return Err(server_error(&response));
                }
                run.head_bytes = response.body;
                self.plan_from_head(run, now)?;
                Ok(None)
            }
            Awaiting::Descriptor => {
                if response.status != 200 {
                    return Err(server_error(&response));
                }
                let updated = run
                    .descriptor
                    .verify_update(&response.body)
                    .map_err(ClientError::Descriptor)?;
                self.store
                    .apply(vec![Op::PutAuthority(id, response.body.clone())])?;
                run.descriptor = updated;
                run.result.descriptor_updated = true;
                self.plan_from_head(run, now)?;
                Ok(None)
            }
            Awaiting::Bulletin(seq) => {
                if response.status != 200 {
                    return Err(server_error(&response));
                }
                let head = run
                    .head
                    .clone()
                    .ok_or_else(|| ClientError::InvalidSetting("no verified head".into()))?;
                let bulletin =
                    match run
                        .view
                        .accept_bulletin(&response.body, &run.descriptor, &head, now)
                    {
                        Ok(b) => b,
                        Err(source) => {
                            if let quet_protocol::Error::ForkDetected { sequence } = source {
                                self.record_alarm(ChainAlarm {
                                    authority: id,
                                    kind: AlarmKind::Fork,
                                    sequence,
                                    ours: head.latest.hash,
                                    other_prefix: [0; 16],
                                    at: now.0,
                                })?;
                            }
                            return Err(ClientError::Bulletin {
                                authority: id,
                                sequence: seq,
                                source,
                            });
                        }
                    };
                let complete = bulletin.sequence >= run.latest;
                if complete {
                    run.view
                        .record_head(&head)
                        .map_err(|source| ClientError::Bulletin {
                            authority: id,
                            sequence: seq,
                            source,
                        })?;
                    run.result.fresh_until = Some(head.expires_at.0);
                }
                let r = self.ingest(id, &session.matcher, &bulletin, &run.view, now)?;
                session.report.new_alerts.extend(r.new_alerts);
                session.report.withdrawn += r.withdrawn;
                run.result.accepted += 1;
                run.result.sequence = r.sequence;
                if complete {
                    run.after_plan();
                } else {
                    run.awaiting = Awaiting::Bulletin(seq.saturating_add(1));
                }
                Ok(Some(SyncProgress {
                    authority: id,
                    done: run.result.accepted,
                    total: run.total,
                }))
            }
            Awaiting::Recheck(seq) => {
                let pending = run.rechecks.remove(0);
                let verdict = if response.status == 200 {
                    quet_protocol::bulletin::Bulletin::decode_and_verify_signature(
                        &response.body,
                        &run.descriptor,
                    )
                    .ok()
                    .map(|b| b.hash())
                    .and_then(|hash| {
                        if hash.get(..16) == Some(&pending.other_prefix[..]) && hash != pending.ours
                        {
                            Some(AlarmKind::ForkConfirmed)
                        } else if hash == pending.ours {
                            Some(AlarmKind::VenueDisagrees)
                        } else {
                            None
                        }
                    })
                } else {
                    None
                };
                if let Some(kind) = verdict {
                    let mut all = self.alarms()?;
                    for a in &mut all {
                        if a.authority == id
                            && a.sequence == seq
                            && a.kind == AlarmKind::CheckpointConflict
                        {
                            a.kind = kind;
                            a.at = now.0;
                        }
                    }
                    self.store.apply(vec![Self::alarms_op(&all)])?;
                }
                run.after_plan();
                Ok(None)
            }
            Awaiting::Done => Err(ClientError::InvalidSetting("no request is pending".into())),
        }
    }

    /// Checks the run's head bytes against its view and plans the fetches.
    fn plan_from_head(&mut self, run: &mut AuthorityRun, now: UnixTime) -> Result<()> {
        let id = run.descriptor.id.0;
        match run.view.check_head(&run.head_bytes, &run.descriptor, now) {
            Ok((head, plan)) => {
                match plan {
                    SyncPlan::UpToDate => {
                        run.view
                            .record_head(&head)
                            .map_err(|source| ClientError::Feed {
                                authority: id,
                                source,
                            })?;
                        self.store
                            .apply(vec![Op::PutChain(id, encode_view(&run.view))])?;
                        run.result.fresh_until = Some(head.expires_at.0);
                        run.after_plan();
                    }
                    SyncPlan::Fetch {
                        first,
                        last,
                        reanchor,
                    } => {
                        run.latest = last;
                        run.total = last.saturating_add(1).saturating_sub(first);
                        run.result.reanchored = reanchor;
                        run.awaiting = Awaiting::Bulletin(first);
                    }
                }
                run.head = Some(head);
                Ok(())
            }
            Err(quet_protocol::Error::DescriptorOutdated { .. })
                if !run.result.descriptor_updated =>
            {
                run.awaiting = Awaiting::Descriptor;
                Ok(())
            }
            Err(source) => {
                if let quet_protocol::Error::ForkDetected { sequence } = source {
                    let ours = run
                        .view
                        .last
                        .filter(|l| l.sequence == sequence)
                        .map(|l| l.hash)
                        .or(run.view.head.map(|h| h.latest_hash))
                        .unwrap_or([0; 32]);
                    self.record_alarm(ChainAlarm {
                        authority: id,
                        kind: AlarmKind::Fork,
                        sequence,
                        ours,
                        other_prefix: [0; 16],
                        at: now.0,
                    })?;
                }
                Err(ClientError::Feed {
                    authority: id,
                    source,
                })
            }
        }
    }

    /// Downloads, verifies and matches every bulletin this phone lacks from every
    /// pinned authority: the blocking loop over [`Client::sync_start`],
    /// [`SyncSession::next_request`] and [`Client::sync_receive`]. Every authority
    /// is tried; the first error is returned after the others were synced
    /// (everything accepted stays). Whether alerts are current is
    /// [`Client::feed_status`].
    pub fn sync(
        &mut self,
        transport: &dyn Transport,
        now: UnixTime,
        progress: &mut dyn FnMut(SyncProgress),
    ) -> Result<SyncReport> {
        let mut session = self.sync_start(now)?;
        let mut first_error = None;
        while let Some(request) = session.next_request() {
            let outcome = transport
                .execute(&request)
                .and_then(|response| self.sync_receive(&mut session, response));
            match outcome {
                Ok(Some(p)) => progress(p),
                Ok(None) => {}
                Err(e) => {
                    if let Some(run) = session.current.take() {
                        session.report.authorities.push(run.result);
                    }
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(session.finish()),
        }
    }

    /// The sequence of the last bulletin accepted from `authority` (`None` before
    /// the first sync).
    pub fn last_bulletin(&self, authority: u32) -> Result<Option<u64>> {
        Ok(self.chain_view(authority)?.last.map(|l| l.sequence))
    }

    /// Matches an accepted bulletin and commits its alerts, withdrawals,
    /// revocations and the new chain view in one batch.
    fn ingest(
        &mut self,
        authority: u32,
        matcher: &Matcher,
        bulletin: &Bulletin,
        view: &ChainView,
        now: UnixTime,
    ) -> Result<IngestReport> {
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
        if !bulletin.revoked.is_empty() {
            let mut keys = self.revocations()?;
            keys.extend(bulletin.revoked.iter().map(|r| RevokedKey {
                authority,
                venue_key: r.venue_key,
                until: r.until,
            }));
            let today = now.day().map_err(ClientError::Code)?;
            ops.push(self.revocations_op(keys, today));
        }
        ops.push(Op::PutChain(authority, encode_view(view)));
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
