//! The health authority, run as `quet-server` runs it: its own library functions on
//! its own SQLite database (WAL, `synchronous = FULL`) in a temporary directory.
//!
//! Each upload goes through the same steps as `POST /v1/reports` (issue an
//! authorization code, open and verify every envelope with
//! `ReportEnvelope::open_and_verify`, spend the code and store the review rows in
//! one transaction); each verified check-in is approved as `POST
//! /admin/v1/reviews/{id}/approve` does (one transaction: re-open the envelope, build
//! the hour and day notices, queue them, delete the envelope); and bulletins are
//! published as the server's scheduler does, every hour when something is queued,
//! padded with decoys to `min_bulletin_keys`. Only HTTP is skipped: its cost is
//! measured by the server's own benchmark (`quet-server-bench`).

use std::path::Path;
use std::time::{Duration, Instant};

use quet_protocol::envelope::ReportEnvelope;
use quet_server::keystore::{self, Authority, InitOptions};
use quet_server::publish::{self, StoredBulletin};
use quet_server::reports::{self, Opened};
use quet_server::review::{self, NoticeParams, ReviewItem};
use rusqlite::{Connection, TransactionBehavior};

use crate::SimError;

/// Wall-clock time spent in each server step (one core).
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct HaTimes {
    /// Opening and verifying envelopes (all 100 of each upload).
    pub verify: Duration,
    /// Issuing codes and storing uploads (SQLite transactions).
    pub store: Duration,
    /// Approving check-ins (re-open, build notices, queue: one transaction each).
    pub approve: Duration,
    /// Publishing bulletins (decode queued notices, pad, sort, sign, store).
    pub publish: Duration,
    /// Number of uploads.
    pub uploads: u64,
    /// Number of approvals.
    pub approvals: u64,
    /// Number of bulletins.
    pub bulletins: u64,
    /// SQLite transactions committed.
    pub transactions: u64,
}

impl HaTimes {
    /// Adds `o` into `self`.
    pub fn add(&mut self, o: &HaTimes) {
        self.verify += o.verify;
        self.store += o.store;
        self.approve += o.approve;
        self.publish += o.publish;
        self.uploads += o.uploads;
        self.approvals += o.approvals;
        self.bulletins += o.bulletins;
        self.transactions += o.transactions;
    }

    /// Everything the HA's CPU did.
    pub fn total(&self) -> Duration {
        self.verify + self.store + self.approve + self.publish
    }
}

/// One approved check-in: what staff saw and the notices it produced (hex nonces).
#[derive(Clone, Debug)]
pub struct Approved {
    /// The review item (receipt, venue, times).
    pub item: ReviewItem,
    /// Nonces (hex) of the notices queued for it.
    pub notices: Vec<String>,
}

/// The simulated authority.
pub struct Ha {
    /// Keys and descriptor, as the server loads them.
    pub authority: Authority,
    conn: Connection,
    min_keys: usize,
    params: NoticeParams,
    /// Times since the last [`Ha::take_times`].
    pub times: HaTimes,
}

/// Measures durable write transactions on the file system of `dir`: the server's
/// own database (`quet_server::db::open`: WAL, `synchronous = FULL`), `n`
/// authorization codes issued one transaction each. Returns seconds per commit.
pub fn durable_commit_secs(dir: &Path, n: u32) -> Result<f64, SimError> {
    let data = tempfile::tempdir_in(dir)?;
    let mut conn = quet_server::db::open(&data.path().join("calibration.db"))?;
    let key = [7u8; 32];
    let t = Instant::now();
    for i in 0..n {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        reports::issue_code(&tx, &key, 1_700_000_000 + u64::from(i), 24, 3)?;
        tx.commit()?;
    }
    Ok(t.elapsed().as_secs_f64() / f64::from(n.max(1)))
}

impl Ha {
    /// Creates an authority in `dir` as of time `init_at` (`quet-server init`; its
    /// weekly capsule keys start with that week and run eight weeks ahead).
    pub fn create(
        dir: &Path,
        init_at: u64,
        id: u32,
        name: &str,
        min_keys: usize,
        buffer_minutes: u32,
    ) -> Result<Ha, SimError> {
        let data = dir.join("ha");
        keystore::init_at(
            &InitOptions {
                data_dir: data.clone(),
                name: name.into(),
                base_url: "https://quet.soyte.example".into(),
                id: Some(id),
            },
            init_at,
        )?;
        let authority = keystore::load(&data)?;
        let conn = quet_server::db::open(&keystore::db_path(&data))?;
        Ok(Ha {
            authority,
            conn,
            min_keys,
            // Protocol 1.1: the bilingual template the phones know, no extra text
            // (the compact body the HA sends by default).
            params: NoticeParams {
                severity: "test".into(),
                template: Some("test".into()),
                message_vi: String::new(),
                message_en: String::new(),
                buffer_minutes: u64::from(buffer_minutes),
            },
            times: HaTimes::default(),
        })
    }

    /// Takes and resets the accumulated times.
    pub fn take_times(&mut self) -> HaTimes {
        std::mem::take(&mut self.times)
    }

    /// One case upload at `now`: code issued, envelopes verified, stored under
    /// `receipt`. Returns the number of check-ins stored for review.
    pub fn upload(
        &mut self,
        now: u64,
        report_days: u32,
        envelopes: &[ReportEnvelope],
        receipt: &str,
    ) -> Result<usize, SimError> {
        let t = Instant::now();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let issued = reports::issue_code(
            &tx,
            &self.authority.code_key,
            now,
            24,
            u64::from(report_days),
        )?;
        tx.commit()?;
        let mut store = t.elapsed();
        // The server opens an upload's envelopes off its async runtime; two uploads
        // in flight use both cores. Here one upload's envelopes are split over two
        // threads, and the CPU time of both is counted.
        let since = issued.report_since;
        let opened = {
            let guard = self.authority.keys();
            let (keys, descriptor) = (&*guard, &self.authority.descriptor);
            let timed = |part: &[ReportEnvelope]| {
                let t = Instant::now();
                let o = reports::open_envelopes(part, keys, descriptor, since);
                (o, t.elapsed())
            };
            let half = envelopes.len() / 2;
            let ((mut opened, t1), (rest, t2)) = std::thread::scope(|sc| {
                let second = sc.spawn(|| timed(&envelopes[half..]));
                let first = timed(&envelopes[..half]);
                let second = second.join().unwrap_or_else(|_| timed(&envelopes[half..]));
                (first, second)
            });
            opened.extend(rest);
            self.times.verify += t1 + t2;
            opened
        };
        let t = Instant::now();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let stored = reports::store_upload(
            &tx,
            &self.authority.code_key,
            &issued.auth_code,
            receipt,
            &opened,
            now,
            72,
        )
        .map_err(|e| SimError::Server(format!("upload refused: {e:?}")))?;
        tx.commit()?;
        store += t.elapsed();
        self.times.store += store;
        self.times.uploads += 1;
        self.times.transactions += 2;
        if let Some(bad) = opened.iter().find_map(|o| match o {
            Opened::Invalid(row) => row.problem.clone(),
            _ => None,
        }) {
            return Err(SimError::Server(format!(
                "an honest envelope failed verification: {bad}"
            )));
        }
        Ok(stored)
    }

    /// Approves every pending review (staff approve each verified check-in).
    pub fn approve_all(&mut self, now: u64) -> Result<Vec<Approved>, SimError> {
        let t = Instant::now();
        let items = review::list(&self.conn)?;
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            let notices = review::approve(&tx, &self.authority, item.id, &self.params, now)
                .map_err(|e| SimError::Server(format!("approve {}: {e:?}", item.id)))?;
            tx.commit()?;
            self.times.transactions += 1;
            self.times.approvals += 1;
            out.push(Approved { item, notices });
        }
        self.times.approve += t.elapsed();
        Ok(out)
    }

    /// Publishes a bulletin at `now` if anything is queued (the scheduler's rule).
    pub fn publish_if_queued(&mut self, now: u64) -> Result<Option<StoredBulletin>, SimError> {
        if !publish::has_queued(&self.conn)? {
            return Ok(None);
        }
        self.publish_now(now).map(Some)
    }

    /// Publishes a bulletin at `now` (`POST /admin/v1/publish`).
    pub fn publish_now(&mut self, now: u64) -> Result<StoredBulletin, SimError> {
        let t = Instant::now();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let p = publish::publish(&tx, &self.authority, now, 14, self.min_keys)?;
        tx.commit()?;
        self.times.publish += t.elapsed();
        self.times.bulletins += 1;
        self.times.transactions += 1;
        let live = publish::live(&self.conn, now)?;
        live.into_iter()
            .find(|b| b.sequence == p.sequence)
            .ok_or_else(|| SimError::Server("the bulletin just published is not live".into()))
    }

    /// Rows left in the server's `reviews` table (envelopes not yet processed).
    pub fn pending_envelopes(&self) -> Result<i64, SimError> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM reviews", [], |r| r.get(0))?)
    }
}

/// One venue-initiated trace request.
#[derive(Clone, Debug)]
pub struct Trace {
    /// The venue's tracing sheet text.
    pub sheet: String,
    /// The venue shows a screen.
    pub screen: bool,
    /// The venue prints posters.
    pub posters: bool,
    /// Window start (Unix seconds).
    pub start: u64,
    /// Window end (Unix seconds).
    pub end: u64,
    /// The venue's maximum stay.
    pub max_stay_minutes: u64,
}

impl Ha {
    /// Queues many venue-initiated traces in
    /// one transaction (a batch of `POST /admin/v1/traces`; the sweep uses it to
    /// reach 10,000 cases a day without one disk flush per trace).
    pub fn trace_batch(&mut self, traces: &[Trace], now: u64) -> Result<Vec<String>, SimError> {
        let t = Instant::now();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut ids = Vec::new();
        for t in traces {
            let req = review::TraceRequest {
                sheet: t.sheet.clone(),
                screen: t.screen,
                posters: t.posters,
                start: t.start,
                end: t.end,
                max_stay_minutes: t.max_stay_minutes,
                buffer_minutes: self.params.buffer_minutes,
                severity: Some(self.params.severity.clone()),
                template: self.params.template.clone(),
                message_vi: Some(self.params.message_vi.clone()),
                message_en: Some(self.params.message_en.clone()),
            };
            ids.extend(
                review::trace(&tx, &req, self.authority.descriptor.utc_offset, now)
                    .map_err(|e| SimError::Server(format!("trace: {e:?}")))?,
            );
        }
        tx.commit()?;
        self.times.approve += t.elapsed();
        self.times.approvals += traces.len() as u64;
        self.times.transactions += 1;
        Ok(ids)
    }
}
