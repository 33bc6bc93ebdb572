//! The phone web app's operations: the client core over the IndexedDB mirror,
//! JSON out. Plain Rust, so it is tested natively; `lib.rs` exports it to the page.

use quet_client::transport::Response;
use quet_client::{Client, ClientError, LocalKey, ReportPlan, Result, UnixTime};
use serde::Serialize;
use serde_json::{Value, json};

use crate::exchange::{Exchange, Request};
use crate::mirror::{MirrorStore, Write};

/// The row that holds the local storage key (until the core seals the diary to a
/// key the user unlocks; see web/README.md).
const LOCAL_KEY_ROW: &str = "secret/local-key";

/// What an operation that needs the network returns: the next request to make,
/// or the finished result.
#[derive(Debug, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Step {
    /// Fetch this, hand the answer to [`Phone::answer`], call the operation again.
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

/// The app: one client core, its store mirrored to IndexedDB, and the network
/// exchange with the page.
pub struct Phone {
    client: Client<MirrorStore>,
    exchange: Exchange,
    plan: Option<ReportPlan>,
    /// Writes produced outside the store (the local key on first start).
    extra_writes: Vec<Write>,
}

impl core::fmt::Debug for Phone {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Phone").finish_non_exhaustive()
    }
}

impl Phone {
    /// Opens the app over the rows IndexedDB holds (none on first start).
    pub fn open(rows: Vec<(String, Vec<u8>)>, mut rng: quet_client::Rng) -> Result<Phone> {
        let stored_key = rows
            .iter()
            .find(|(k, _)| k == LOCAL_KEY_ROW)
            .map(|(_, v)| v.clone());
        let mut extra_writes = Vec::new();
        let key = match stored_key {
            Some(v) => LocalKey::from_bytes(
                v.as_slice()
                    .try_into()
                    .map_err(|_| ClientError::Storage("local key row is damaged".into()))?,
            ),
            None => {
                let k = LocalKey::generate(&mut *rng);
                extra_writes.push((LOCAL_KEY_ROW.to_string(), Some(k.expose().to_vec())));
                k
            }
        };
        let store = MirrorStore::load(rows)?;
        Ok(Phone {
            client: Client::new(store, key, rng),
            exchange: Exchange::new(),
            plan: None,
            extra_writes,
        })
    }

    /// Writes the page must commit to IndexedDB (in one transaction) before it
    /// tells the user an operation is done.
    pub fn take_writes(&mut self) -> Vec<Write> {
        let mut w = core::mem::take(&mut self.extra_writes);
        w.extend(self.client.store().take_writes());
        w
    }

    /// Everything the home screen shows.
    pub fn state(&mut self, now: UnixTime) -> Result<Value> {
        let ended = self.client.auto_check_out(now)?;
        let purged = self.client.purge(now)?;
        let diary = self.client.diary_at_rest()?;
        let active: Vec<_> = diary.iter().filter(|c| c.checked_in).cloned().collect();
        let authorities: Vec<_> = self
            .client
            .authorities()?
            .iter()
            .map(authority_view)
            .collect();
        Ok(json!({
            "authorities": authorities,
            "active": active,
            "check_ins": diary.len(),
            "alerts": self.client.alerts()?.len(),
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

    /// Pins a descriptor (or follows a rotation signed by a pinned key).
    pub fn pin_authority(&mut self, bytes: &[u8]) -> Result<Value> {
        to_value(&authority_view(&self.client.pin_authority(bytes)?))
    }

    /// Unpins an authority.
    pub fn remove_authority(&mut self, id: u32) -> Result<Value> {
        self.client.remove_authority(id)?;
        Ok(Value::Null)
    }

    /// Checks in from the text of a scanned code or an opened link. Offline.
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

    /// The diary, newest first.
    pub fn diary(&mut self, now: UnixTime) -> Result<Value> {
        to_value(&self.client.diary(now)?)
    }

    /// Deletes one check-in with its alerts.
    pub fn delete_check_in(&mut self, id: u64) -> Result<Value> {
        self.client.delete_check_in(id)?;
        Ok(Value::Null)
    }

    /// Deletes every check-in and alert.
    pub fn delete_all(&mut self) -> Result<Value> {
        self.client.delete_all()?;
        Ok(Value::Null)
    }

    /// Every stored alert.
    pub fn alerts(&self) -> Result<Value> {
        to_value(&self.client.alerts()?)
    }

    /// Sets the retention (10–21 days).
    pub fn set_retention(&mut self, days: u16) -> Result<Value> {
        self.client.set_retention_days(days)?;
        Ok(json!(days))
    }

    /// Hands the page's answer to a [`Step::Need`] back.
    pub fn answer(&mut self, method: &str, url: &str, response: Response) {
        self.exchange.answer(method, url, response);
    }

    /// Turns an operation's result into the next request or its end; a finished
    /// operation (success or error) forgets the fetched answers.
    fn step<T: Serialize>(&self, result: Result<T>) -> Result<Step> {
        if let Some(req) = self.exchange.pending(&result) {
            return Ok(Step::Need(req));
        }
        self.exchange.clear();
        to_value(&result?).map(Step::Done)
    }

    /// One round of a sync: verify and match every bulletin the phone lacks.
    pub fn sync_step(&mut self, now: UnixTime) -> Result<Step> {
        let r = self.client.sync(&self.exchange, now, &mut |_| {});
        self.step(r)
    }

    /// One round of a report preview: what the HA asks for and what will be sent.
    pub fn report_preview_step(
        &mut self,
        authority: Option<u32>,
        auth_code: &str,
        now: UnixTime,
    ) -> Result<Step> {
        let r = self
            .client
            .report_preview(&self.exchange, authority, auth_code, now);
        if let Ok(plan) = &r {
            self.plan = Some(plan.clone());
        }
        self.step(r)
    }

    /// One round of sending the previewed report (after the user's consent).
    pub fn report_submit_step(&mut self) -> Result<Step> {
        let plan = self.plan.clone().ok_or(ClientError::NothingToReport)?;
        let r = self.client.report_submit(&self.exchange, &plan);
        if r.is_ok() {
            self.plan = None;
        }
        self.step(r)
    }

    /// The client core (tests).
    pub fn client(&self) -> &Client<MirrorStore> {
        &self.client
    }
}

/// A check-in error as the page shows it: a stable kind and both languages.
pub fn error_json(e: &ClientError) -> Value {
    let text = e.explain();
    json!({ "kind": e.kind(), "vi": text.vi, "en": text.en })
}
