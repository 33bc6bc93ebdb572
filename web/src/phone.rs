//! The phone web app's operations: the client core over the IndexedDB mirror,
//! JSON out. Plain Rust, so it is tested natively; `lib.rs` exports it to the page.
//!
//! Network operations are the core's sans-I/O steps. An operation begins with
//! one call that returns a [`Step`]: the request to make (`need`), or its result
//! (`done`). The page fetches the request and hands the answer to
//! [`Phone::answer`], which returns the next step. Only one such operation runs
//! at a time; beginning another abandons the previous one (what the core already
//! committed stays).

use quet_client::text::LocalZone;
use quet_client::transport::{Request, Response};
use quet_client::{
    ChaffRequest, Client, ClientError, ReportDraft, ReportPlan, Result, SyncReport, SyncSession,
    UnixTime,
};
use serde::Serialize;
use serde_json::{Value, json};

use crate::mirror::{MirrorStore, Write};

/// The row the pre-release app kept its storage key in (before the diary key).
const PRE_RELEASE_KEY_ROW: &str = "secret/local-key";

/// What an operation that needs the network returns: the next request to make,
/// or the finished result.
#[derive(Debug, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Step {
    /// Fetch this, hand the answer to [`Phone::answer`].
    Need(Request),
    /// The operation finished.
    Done(Value),
}

/// A pinned authority as the page shows it.
#[derive(Debug, Serialize)]
pub struct AuthorityView {
    /// Authority id.
    pub id: u32,
    /// Its name.
    pub name: String,
    /// Its base URL.
    pub base_url: String,
    /// The fingerprint to compare over a second channel.
    pub fingerprint: String,
}

/// The network operation in progress, with the request it waits for.
enum Pending {
    /// A sync: the core's session and the first error met (the session goes on
    /// with the next authority after an error, as the core's own loop does).
    Sync {
        session: Box<SyncSession>,
        request: Request,
        first_error: Option<ClientError>,
    },
    /// A report preview, waiting for `POST /v1/reports/preview`.
    Preview {
        draft: ReportDraft,
        request: Request,
    },
    /// A report upload, waiting for `POST /v1/reports`.
    Upload { plan: ReportPlan, request: Request },
    /// A chaff preview or upload (the core's schedule), waiting for its answer.
    Chaff { sent: ChaffRequest },
}

impl Pending {
    fn request(&self) -> &Request {
        match self {
            Pending::Sync { request, .. }
            | Pending::Preview { request, .. }
            | Pending::Upload { request, .. } => request,
            Pending::Chaff { sent } => &sent.request,
        }
    }
}

fn to_value<T: Serialize>(v: &T) -> Result<Value> {
    serde_json::to_value(v).map_err(|e| ClientError::Storage(e.to_string()))
}

fn authority_view(d: &quet_protocol::authority::AuthorityDescriptor) -> AuthorityView {
    AuthorityView {
        id: d.id.0,
        name: d.name.clone(),
        base_url: d.base_url.clone(),
        fingerprint: d.fingerprint(),
    }
}

/// A WebAuthn PRF output as the core takes it.
fn prf_output(bytes: &[u8]) -> Result<[u8; 32]> {
    bytes
        .try_into()
        .map_err(|_| ClientError::InvalidSetting("a passkey output is 32 bytes".into()))
}

/// The app: one client core, its store mirrored to IndexedDB, the network
/// operation in progress and the report plan the user is looking at.
pub struct Phone {
    client: Client<MirrorStore>,
    pending: Option<Pending>,
    /// The plan last previewed, sent only after the user's consent.
    plan: Option<ReportPlan>,
}

impl core::fmt::Debug for Phone {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Phone").finish_non_exhaustive()
    }
}

impl Phone {
    /// Opens the app over the rows IndexedDB holds (none on first start). The
    /// diary starts locked (or readable, while no PIN is set yet: the core's rule).
    pub fn open(rows: Vec<(String, Vec<u8>)>, rng: quet_client::Rng) -> Result<Phone> {
        if rows.iter().any(|(k, _)| k == PRE_RELEASE_KEY_ROW) {
            return Err(ClientError::Storage(
                "this phone's data was written by a pre-release version of the app; clear the site's data to start again".into(),
            ));
        }
        let store = MirrorStore::load(rows)?;
        Ok(Phone {
            client: Client::new(store, rng),
            pending: None,
            plan: None,
        })
    }

    /// Writes the page must commit to IndexedDB (in one transaction) before it
    /// tells the user an operation is done.
    pub fn take_writes(&mut self) -> Vec<Write> {
        self.client.store().take_writes()
    }

    /// Everything the home screen shows, locked or not: the ongoing stay, how many
    /// check-ins and alerts (with severity and when found: "unlock to see where"),
    /// how the diary is protected, and whether alerts may be out of date.
    pub fn state(&mut self, now: UnixTime) -> Result<Value> {
        let ended = self.client.auto_check_out(now)?;
        let purged = self.client.purge(now)?;
        let active: Vec<_> = self.client.current_stay(now)?.into_iter().collect();
        let authorities: Vec<_> = self
            .client
            .authorities()?
            .iter()
            .map(authority_view)
            .collect();
        Ok(json!({
            "authorities": authorities,
            "active": active,
            "check_ins": self.client.check_in_count()?,
            "alerts": self.client.alert_summaries()?,
            "feeds": self.client.feed_status(now)?,
            "protection": self.client.protection()?,
            "unlock_retry_at": self.client.unlock_retry_at(now)?,
            "retention_days": self.client.retention_days()?,
            "auto_checked_out": ended,
            "purged": purged,
        }))
    }

    /// Decodes a descriptor without pinning it (to show its fingerprint).
    pub fn inspect_descriptor(bytes: &[u8]) -> Result<Value> {
        to_value(&authority_view(&Client::<MirrorStore>::inspect_descriptor(
            bytes,
        )?))
    }

    /// Pins a descriptor (or follows an update signed by the pinned root).
    pub fn pin_authority(&mut self, bytes: &[u8]) -> Result<Value> {
        to_value(&authority_view(&self.client.pin_authority(bytes)?))
    }

    /// Unpins an authority.
    pub fn remove_authority(&mut self, id: u32) -> Result<Value> {
        self.client.remove_authority(id)?;
        Ok(Value::Null)
    }

    /// Checks in from the text of a scanned code or an opened link. Offline, and
    /// never asks for the PIN.
    pub fn check_in(&mut self, text: &str, now: UnixTime) -> Result<Value> {
        to_value(&self.client.check_in(text, now)?)
    }

    /// Checks out of stay `id` (or the latest ongoing one).
    pub fn check_out(&mut self, id: Option<u64>, now: UnixTime) -> Result<Value> {
        to_value(&self.client.check_out(id, now)?)
    }

    /// Sets the planned departure of an ongoing stay to `arrival + minutes`.
    pub fn set_stay(&mut self, id: Option<u64>, minutes: u64, now: UnixTime) -> Result<Value> {
        to_value(&self.client.set_stay(id, minutes, now)?)
    }

    /// The diary, newest first. Needs the unlock.
    pub fn diary(&mut self, now: UnixTime) -> Result<Value> {
        to_value(&self.client.diary(now)?)
    }

    /// Deletes one check-in with its alerts (no unlock needed).
    pub fn delete_check_in(&mut self, id: u64) -> Result<Value> {
        self.client.delete_check_in(id)?;
        Ok(Value::Null)
    }

    /// Deletes every check-in and alert (no unlock needed).
    pub fn delete_all(&mut self) -> Result<Value> {
        self.client.delete_all()?;
        Ok(Value::Null)
    }

    /// Every stored alert in full. Needs the unlock.
    pub fn alerts(&self) -> Result<Value> {
        to_value(&self.client.alerts()?)
    }

    /// Sets the retention (10–21 days).
    pub fn set_retention(&mut self, days: u16) -> Result<Value> {
        self.client.set_retention_days(days)?;
        Ok(json!(days))
    }

    // ----- the diary key -----

    /// Sets (or changes) the PIN. Needs the diary readable (unlocked, or no PIN
    /// yet).
    pub fn set_pin(&mut self, pin: &str) -> Result<Value> {
        self.client.set_passphrase(pin.as_bytes())?;
        to_value(&self.client.protection()?)
    }

    /// Adds (or replaces) the passkey slot opened by a WebAuthn PRF output.
    pub fn set_prf(&mut self, output: &[u8]) -> Result<Value> {
        self.client.set_prf(&prf_output(output)?)?;
        to_value(&self.client.protection()?)
    }

    /// Unlocks with the PIN; wrong PINs are counted and slowed by the core.
    pub fn unlock_with_pin(&mut self, pin: &str, now: UnixTime) -> Result<Value> {
        self.client.unlock_with_passphrase(pin.as_bytes(), now)?;
        to_value(&self.client.protection()?)
    }

    /// Unlocks with a WebAuthn PRF output.
    pub fn unlock_with_prf(&mut self, output: &[u8], now: UnixTime) -> Result<Value> {
        self.client.unlock_with_prf(&prf_output(output)?, now)?;
        to_value(&self.client.protection()?)
    }

    /// Forgets the diary secret (the page locks when hidden or idle).
    pub fn lock(&mut self) {
        self.client.lock();
    }

    // ----- network operations -----

    /// Turns the sync session's next request into a step, or finishes it.
    fn sync_next(
        &mut self,
        mut session: Box<SyncSession>,
        first_error: Option<ClientError>,
    ) -> Result<Step> {
        match session.next_request() {
            Some(request) => {
                self.pending = Some(Pending::Sync {
                    session,
                    request: request.clone(),
                    first_error,
                });
                Ok(Step::Need(request))
            }
            None => {
                let report: SyncReport = (*session).finish();
                match first_error {
                    Some(e) => Err(e),
                    None => to_value(&report).map(Step::Done),
                }
            }
        }
    }

    /// Begins a sync of every pinned authority (the core's steps: signed head,
    /// then the bulletins it names, each verified, matched and committed).
    pub fn sync_begin(&mut self, now: UnixTime) -> Result<Step> {
        self.pending = None;
        let session = Box::new(self.client.sync_start(now)?);
        self.sync_next(session, None)
    }

    /// Begins a report: the preview request for `auth_code` (a typo is caught
    /// here, before anything is sent).
    pub fn report_preview_begin(
        &mut self,
        authority: Option<u32>,
        auth_code: &str,
    ) -> Result<Step> {
        self.pending = None;
        self.plan = None;
        let (draft, request) = self.client.report_preview_request(authority, auth_code)?;
        self.pending = Some(Pending::Preview {
            draft,
            request: request.clone(),
        });
        Ok(Step::Need(request))
    }

    /// Sends the previewed report (after the user's consent).
    pub fn report_submit_begin(&mut self) -> Result<Step> {
        self.pending = None;
        let plan = self.plan.clone().ok_or(ClientError::NothingToReport)?;
        let request = self.client.report_upload_request(&plan)?;
        self.pending = Some(Pending::Upload {
            plan,
            request: request.clone(),
        });
        Ok(Step::Need(request))
    }

    /// When the next chaff request is due: `{"step": "preview"|"upload", "at": unix}`
    /// (the core draws the schedule on first use).
    pub fn chaff_due(&mut self, now: UnixTime) -> Result<Value> {
        to_value(&self.client.chaff_due(now)?)
    }

    /// Begins the chaff request due now, if any: `Need` a request with the same
    /// endpoint, shape and size as a real report's, or `Done` with when the next
    /// one is due. The report plan the user may be looking at is left alone.
    pub fn chaff_begin(&mut self, now: UnixTime) -> Result<Step> {
        self.pending = None;
        match self.client.chaff_request(now)? {
            Some(sent) => {
                let request = sent.request.clone();
                self.pending = Some(Pending::Chaff { sent });
                Ok(Step::Need(request))
            }
            None => to_value(&self.client.chaff_due(now)?).map(Step::Done),
        }
    }

    /// Hands the answer to the pending request to the core; returns the next step.
    /// An answer longer than the request allowed is a network error and ends the
    /// operation, as a failed fetch does ([`Phone::abandon`]).
    pub fn answer(&mut self, response: Response, now: UnixTime) -> Result<Step> {
        let pending = self
            .pending
            .take()
            .ok_or_else(|| ClientError::InvalidSetting("no request is pending".into()))?;
        let too_long = response.body.len() > pending.request().max_response;
        match pending {
            Pending::Sync {
                mut session,
                first_error,
                ..
            } => {
                if too_long {
                    // Like a failed fetch: the sync stops here (what the core
                    // committed stays; the next sync resumes).
                    return Err(ClientError::Network("answer too large".into()));
                }
                let outcome = self.client.sync_receive(&mut session, response);
                let first_error = match outcome.map(|_| ()) {
                    Ok(()) => first_error,
                    Err(e) => first_error.or(Some(e)),
                };
                self.sync_next(session, first_error)
            }
            Pending::Preview { draft, .. } => {
                if too_long {
                    return Err(ClientError::Network("answer too large".into()));
                }
                let plan = self.client.report_plan(draft, &response, now)?;
                self.plan = Some(plan.clone());
                to_value(&plan).map(Step::Done)
            }
            Pending::Upload { plan, .. } => {
                if too_long {
                    return Err(ClientError::Network("answer too large".into()));
                }
                let receipt = self.client.report_receipt(&plan, &response)?;
                self.plan = None;
                to_value(&receipt).map(Step::Done)
            }
            Pending::Chaff { sent } => {
                // Whatever the answer (too long included), the pair goes on or
                // ends by the core's rule; nothing is shown.
                let due = self.client.chaff_answered(&sent, &response, now)?;
                to_value(&due).map(Step::Done)
            }
        }
    }

    /// Abandons the pending operation (the page could not fetch its request).
    pub fn abandon(&mut self) {
        self.pending = None;
    }

    /// The client core (tests, benchmarks).
    pub fn client(&self) -> &Client<MirrorStore> {
        &self.client
    }

    /// The client core, mutably (tests, benchmarks: cheaper Argon2id settings).
    pub fn client_mut(&mut self) -> &mut Client<MirrorStore> {
        &mut self.client
    }
}

/// An error as the page shows it: a stable kind, both languages, and when the
/// next unlock attempt is allowed if attempts are paused.
/// Times in it are in `zone`.
pub fn error_json(e: &ClientError, zone: &LocalZone) -> Value {
    let text = e.explain_in(zone);
    let retry_at = match e {
        ClientError::WrongPassphrase { retry_at, .. } => *retry_at,
        ClientError::UnlockThrottled { retry_at } => Some(*retry_at),
        _ => None,
    };
    json!({ "kind": e.kind(), "vi": text.vi, "en": text.en, "retry_at": retry_at })
}

#[cfg(test)]
mod tests {
    use super::*;
    use quet_client::Argon2Settings;
    use quet_protocol::authority::{AuthorityId, AuthorityKeys};
    use quet_protocol::category::Category;
    use quet_protocol::code::{CodeIssuer, VenueInfo};
    use quet_protocol::testing::test_rng;
    use quet_protocol::venue_keys::VenueMasterKey;
    use std::collections::BTreeMap;

    const BASE: &str = "https://quet.test.example";
    const NOW: u64 = 1_790_000_000;

    /// A pinned authority's descriptor and a code of one of its venues.
    fn setup() -> (Vec<u8>, String) {
        let mut rng = test_rng(7);
        let ha = AuthorityKeys::generate(&mut rng);
        let d = ha.descriptor(AuthorityId(0x0100_0002), "Sở Y tế Huế", BASE);
        let bytes = ha.sign_descriptor(&d).unwrap();
        let mut venue = CodeIssuer::new(
            VenueMasterKey::generate(&mut rng),
            VenueInfo {
                name: "Bún Bò Mụ Rơi".into(),
                address: "2 Đinh Công Tráng, Huế".into(),
                category: Category::Restaurant,
                max_stay_minutes: 90,
            },
            &d,
        )
        .unwrap();
        let url = venue
            .screen_code(&mut rng, UnixTime(NOW))
            .unwrap()
            .to_url(BASE);
        (bytes, url)
    }

    fn open(rows: &BTreeMap<String, Vec<u8>>, seed: u8) -> Phone {
        let mut p = Phone::open(
            rows.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            Box::new(test_rng(seed)),
        )
        .unwrap();
        p.client_mut().set_argon2_settings(Argon2Settings::MINIMUM);
        p
    }

    /// Commits the phone's writes to `rows`, as the page does to IndexedDB.
    fn commit(p: &mut Phone, rows: &mut BTreeMap<String, Vec<u8>>) {
        for (k, v) in p.take_writes() {
            match v {
                Some(v) => rows.insert(k, v),
                None => rows.remove(&k),
            };
        }
    }

    #[test]
    fn check_in_needs_no_pin_and_the_pin_locks_the_diary_across_a_reopen() {
        let (descriptor, url) = setup();
        let mut rows = BTreeMap::new();
        let mut p = open(&rows, 1);
        p.pin_authority(&descriptor).unwrap();
        let c = p.check_in(&url, UnixTime(NOW + 5)).unwrap();
        assert_eq!(c["venue_name"], "Bún Bò Mụ Rơi");
        let s = p.state(UnixTime(NOW + 6)).unwrap();
        assert_eq!(s["protection"]["unprotected"], true, "{s}");
        assert_eq!(s["active"][0]["venue_name"], "Bún Bò Mụ Rơi");
        p.set_pin("4829").unwrap();
        commit(&mut p, &mut rows);
        assert!(
            !rows.keys().any(|k| k.contains("unprotected")),
            "the unprotected slot outlived the PIN: {:?}",
            rows.keys().collect::<Vec<_>>()
        );

        // Reopened from the committed rows: locked; the stay and the count show,
        // the diary does not.
        let mut p = open(&rows, 2);
        let s = p.state(UnixTime(NOW + 60)).unwrap();
        assert_eq!(s["protection"]["unlocked"], false, "{s}");
        assert_eq!(s["check_ins"], 1);
        assert_eq!(s["active"][0]["venue_name"], "Bún Bò Mụ Rơi");
        let e = p.diary(UnixTime(NOW + 60)).unwrap_err();
        assert_eq!(e.kind(), "locked");

        // Wrong PINs are counted in the store (so a reload does not reset them)
        // and paused from the third.
        for n in 1..=3u64 {
            let e = p
                .unlock_with_pin("0000", UnixTime(NOW + 60 + n))
                .unwrap_err();
            assert_eq!(e.kind(), "wrong_passphrase");
            let j = error_json(&e, &LocalZone::vietnam());
            assert_eq!(j["retry_at"].is_null(), n < 3, "{j}");
            commit(&mut p, &mut rows);
        }
        let mut p = open(&rows, 3);
        let e = p.unlock_with_pin("4829", UnixTime(NOW + 70)).unwrap_err();
        assert_eq!(e.kind(), "unlock_throttled");
        p.unlock_with_pin("4829", UnixTime(NOW + 70 + 3600))
            .unwrap();
        let d = p.diary(UnixTime(NOW + 70 + 3600)).unwrap();
        assert_eq!(d[0]["venue_name"], "Bún Bò Mụ Rơi");
        p.lock();
        assert_eq!(
            p.diary(UnixTime(NOW + 70 + 3600)).unwrap_err().kind(),
            "locked"
        );
    }

    #[test]
    fn a_passkey_output_unlocks_and_a_wrong_one_does_not() {
        let (descriptor, url) = setup();
        let mut rows = BTreeMap::new();
        let mut p = open(&rows, 4);
        p.pin_authority(&descriptor).unwrap();
        p.check_in(&url, UnixTime(NOW + 5)).unwrap();
        p.set_pin("4829").unwrap();
        assert!(p.set_prf(&[1; 31]).is_err(), "a PRF output is 32 bytes");
        p.set_prf(&[7; 32]).unwrap();
        commit(&mut p, &mut rows);
        let mut p = open(&rows, 5);
        assert_eq!(
            p.unlock_with_prf(&[8; 32], UnixTime(NOW + 9))
                .unwrap_err()
                .kind(),
            "wrong_passphrase"
        );
        let prot = p.unlock_with_prf(&[7; 32], UnixTime(NOW + 10)).unwrap();
        assert_eq!(prot["unlocked"], true);
        assert_eq!(prot["prf"], true);
    }

    #[test]
    fn steps_refuse_answers_out_of_turn_or_too_long() {
        let (descriptor, _) = setup();
        let mut p = open(&BTreeMap::new(), 6);
        let ok = |body: Vec<u8>| Response {
            status: 200,
            body,
            retry_after: None,
        };
        assert!(
            p.answer(ok(vec![]), UnixTime(NOW)).is_err(),
            "nothing pending"
        );
        p.pin_authority(&descriptor).unwrap();
        let Step::Need(req) = p.sync_begin(UnixTime(NOW)).unwrap() else {
            panic!("a sync starts with a request")
        };
        assert!(req.url.ends_with("/v1/bulletins/head"), "{}", req.url);
        // An answer longer than allowed ends the sync with a network error.
        let e = p
            .answer(ok(vec![0; req.max_response + 1]), UnixTime(NOW))
            .unwrap_err();
        assert_eq!(e.kind(), "network");
        assert!(p.answer(ok(vec![]), UnixTime(NOW)).is_err(), "sync ended");
        // A head that does not verify is refused by the core, and the sync ends.
        p.sync_begin(UnixTime(NOW)).unwrap();
        let e = p.answer(ok(vec![1; 20]), UnixTime(NOW)).unwrap_err();
        assert_ne!(e.kind(), "network", "{e:?}");
        // A typo in the code is refused before any request.
        assert_eq!(
            p.report_preview_begin(None, "ABCD").unwrap_err().kind(),
            "auth_code_typo"
        );
        // No plan previewed: nothing to send.
        assert_eq!(
            p.report_submit_begin().unwrap_err().kind(),
            "nothing_to_report"
        );
    }

    #[test]
    fn a_pre_release_store_is_refused_with_a_clear_error() {
        let rows = vec![("secret/local-key".to_string(), vec![0; 32])];
        let e = Phone::open(rows, Box::new(test_rng(9))).unwrap_err();
        assert_eq!(e.kind(), "storage");
    }
}
