//! Case reports, as steps a caller drives (like sync): the preview request asks
//! the HA which check-ins it wants (`POST /v1/reports/preview`, which does not
//! spend the code); the plan lists exactly what will be sent, for consent; the
//! upload request sends the envelopes (`POST /v1/reports`), real ones first, then
//! padding up to [`REPORT_ENVELOPE_COUNT`].
//!
//! **Which check-ins.** Those of the chosen authority whose arrival lies in the
//! HA's report window (`report_since` ≤ arrival ≤ the time of the preview); when
//! more than [`REPORT_ENVELOPE_COUNT`] qualify, the most recent 100.
//!
//! **No self-alert.** Once the upload is accepted, each reported check-in's
//! encounter token is replaced by random bytes of the same shape, so the notices
//! the HA publishes for this case never alert the phone that reported it; the
//! diary entry records "reported".

use quet_protocol::envelope::{REPORT_ENVELOPE_COUNT, ReportEnvelope};
use quet_protocol::time::UnixTime;
use quet_protocol::token::EncounterToken;
use serde::{Deserialize, Serialize};

use crate::answers::{parse_json, server_error};
use crate::chaff::{MAX_ANSWER_LEN, PREVIEW_PATH, UPLOAD_PATH, preview_body, upload_body};
use crate::client::Client;
use crate::error::{ClientError, Result};
use crate::model::{ActiveStay, CheckIn};
use crate::store::{Op, Store};
use crate::transport::{Request, Response, Transport, join};

/// A report being prepared: the authority and the normalized authorization code,
/// between the preview request and its answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportDraft {
    authority: u32,
    auth_code: String,
}

/// What a case report will send, for the user to confirm.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReportPlan {
    /// The authority the report goes to.
    pub authority: u32,
    /// The HA asks for check-ins with arrival at or after this time.
    pub report_since: u64,
    /// When the authorization code expires.
    pub expires_at: u64,
    /// When the plan was made (the end of the report window).
    pub prepared_at: u64,
    /// The check-ins whose envelopes will be sent (at most 100, newest first).
    pub check_ins: Vec<CheckIn>,
    #[serde(skip)]
    auth_code: String,
}

/// The server's receipt for an accepted report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReportReceipt {
    /// The receipt id the server returned.
    pub receipt: String,
    /// Real envelopes sent (the rest of the 100 were padding).
    pub sent: usize,
}

#[derive(Deserialize)]
struct PreviewJson {
    report_since: u64,
    expires_at: u64,
}

#[derive(Deserialize)]
struct ReceiptJson {
    receipt: String,
}

impl<S: Store> Client<S> {
    /// Step 1: the preview request for `auth_code` (checked locally for typos first,
    /// so a typo costs none of the server's attempts).
    pub fn report_preview_request(
        &self,
        authority: Option<u32>,
        auth_code: &str,
    ) -> Result<(ReportDraft, Request)> {
        let descriptor = self.pick_authority(authority)?;
        let auth_code = crate::auth_code::normalize(auth_code).ok_or(ClientError::AuthCodeTypo)?;
        // Padded to the one length chaff previews have too (chaff.rs).
        let request = Request::post_json(
            join(&descriptor.base_url, PREVIEW_PATH),
            preview_body(&auth_code, false)?,
            MAX_ANSWER_LEN,
        );
        Ok((
            ReportDraft {
                authority: descriptor.id.0,
                auth_code,
            },
            request,
        ))
    }

    /// Step 2: the plan from the preview's answer: the check-ins in the HA's
    /// window, for the user to review. Needs the unlock (it shows the diary).
    pub fn report_plan(
        &mut self,
        draft: ReportDraft,
        response: &Response,
        now: UnixTime,
    ) -> Result<ReportPlan> {
        if response.status != 200 {
            return Err(server_error(response));
        }
        let p: PreviewJson = parse_json(response, "bad_preview")?;
        self.auto_check_out(now)?;
        let mut check_ins: Vec<CheckIn> = self
            .diary_at_rest()?
            .into_iter()
            .filter(|c| {
                c.authority == draft.authority && c.arrival >= p.report_since && c.arrival <= now.0
            })
            .collect();
        // Newest first (diary order); the most recent 100 when more qualify.
        check_ins.truncate(REPORT_ENVELOPE_COUNT);
        Ok(ReportPlan {
            authority: draft.authority,
            report_since: p.report_since,
            expires_at: p.expires_at,
            prepared_at: now.0,
            check_ins,
            auth_code: draft.auth_code,
        })
    }

    /// Step 3: the upload request: the plan's envelopes, then padding envelopes up
    /// to [`REPORT_ENVELOPE_COUNT`]. An ongoing stay in the plan is checked out
    /// first, so its envelope carries the real departure.
    pub fn report_upload_request(&mut self, plan: &ReportPlan) -> Result<Request> {
        if plan.check_ins.is_empty() {
            return Err(ClientError::NothingToReport);
        }
        let descriptor = self.authority(plan.authority)?;
        let now = UnixTime(plan.prepared_at);
        for c in &plan.check_ins {
            if self
                .store
                .check_ins()?
                .iter()
                .any(|r| r.id == c.id && r.active.is_some())
            {
                self.check_out(Some(c.id), now)?;
            }
        }
        let rows = self.store.check_ins()?;
        let mut envelopes = Vec::with_capacity(REPORT_ENVELOPE_COUNT);
        for c in &plan.check_ins {
            let row = rows
                .iter()
                .find(|r| r.id == c.id)
                .ok_or(ClientError::NoSuchCheckIn(c.id))?;
            envelopes.push(row.envelope.clone());
        }
        while envelopes.len() < REPORT_ENVELOPE_COUNT {
            // Sealed to the capsule key in force now (the HA can open it; the
            // network sees only TLS).
            let pad = ReportEnvelope::padding(&mut *self.rng, &descriptor, now)
                .map_err(ClientError::Code)?;
            envelopes.push(pad.as_bytes().to_vec());
        }
        // Padded to the one length chaff uploads have too (chaff.rs).
        Ok(Request::post_json(
            join(&descriptor.base_url, UPLOAD_PATH),
            upload_body(&plan.auth_code, &envelopes, false)?,
            MAX_ANSWER_LEN,
        ))
    }

    /// Step 4: the upload's answer. On success the reported check-ins stop
    /// matching (their tokens are replaced by random bytes of the same shape) and
    /// their diary entries record the report.
    pub fn report_receipt(
        &mut self,
        plan: &ReportPlan,
        response: &Response,
    ) -> Result<ReportReceipt> {
        if response.status != 202 && response.status != 200 {
            return Err(server_error(response));
        }
        let r: ReceiptJson = parse_json(response, "bad_receipt")?;
        self.mark_reported(plan)?;
        Ok(ReportReceipt {
            receipt: r.receipt,
            sent: plan.check_ins.len(),
        })
    }

    fn mark_reported(&mut self, plan: &ReportPlan) -> Result<()> {
        let secret = self.secret()?;
        let pk = secret.public();
        let mut ops = Vec::new();
        for mut row in self.store.check_ins()? {
            if !plan.check_ins.iter().any(|c| c.id == row.id) {
                continue;
            }
            row.token = dummy_token(&mut *self.rng, &row.token)?;
            let mut entry = match &row.active {
                Some(a) => self.stay_entry(&ActiveStay::from_bytes(a)?)?,
                None => Self::open_entry(&secret, &row)?,
            };
            entry.reported_at = Some(plan.prepared_at);
            row.diary = self.seal_entry(&pk, row.id, &entry)?;
            row.active = None;
            ops.push(Op::PutCheckIn(row));
        }
        self.store.apply(ops)
    }

    /// Asks the HA which check-ins it wants and lists the ones that will be sent
    /// (blocking: steps 1 and 2).
    pub fn report_preview(
        &mut self,
        transport: &dyn Transport,
        authority: Option<u32>,
        auth_code: &str,
        now: UnixTime,
    ) -> Result<ReportPlan> {
        let (draft, request) = self.report_preview_request(authority, auth_code)?;
        let response = transport.execute(&request)?;
        self.report_plan(draft, &response, now)
    }

    /// Uploads the plan's envelopes (blocking: steps 3 and 4).
    pub fn report_submit(
        &mut self,
        transport: &dyn Transport,
        plan: &ReportPlan,
    ) -> Result<ReportReceipt> {
        let request = self.report_upload_request(plan)?;
        let response = transport.execute(&request)?;
        self.report_receipt(plan, &response)
    }
}

/// Random bytes in the shape of `token` (same version and clear epoch), which no
/// published key opens. Without the venue's master nobody can tell it from a real
/// token (tokens are key-private), so a seized phone does not show which
/// check-ins were reported.
fn dummy_token(rng: &mut (impl rand_core::CryptoRng + ?Sized), token: &[u8]) -> Result<Vec<u8>> {
    let bad = || ClientError::Storage("bad stored token".into());
    let header = token.get(..6).ok_or_else(bad)?;
    let mut out = header.to_vec();
    let mut rest = vec![0u8; token.len().saturating_sub(6)];
    rng.fill_bytes(&mut rest);
    out.extend_from_slice(&rest);
    EncounterToken::from_bytes(&out).map_err(|_| bad())?;
    Ok(out)
}
