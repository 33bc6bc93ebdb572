//! Registering the venue with its health authority (`spec/api.md`, "Venue
//! registry"): the venue signs its public details with its own key (proof of
//! possession), submits them, and later fetches its status and certificate, which
//! it keeps in the venue file. A ward office submits many venues at once with
//! [`submit_batch`] and its officer token; each venue carries an idempotency key so
//! that a rerun registers nothing twice.
//!
//! Registration tells the authority which venues exist, never who visits them.

use data_encoding::{BASE64, HEXLOWER};
use ed25519_dalek::Signer;
use serde::{Deserialize, Serialize};

use crate::error::{Result, VenueError};
use crate::heartbeat::check_district;
use crate::http::{json_request, server_error};
use crate::venue::{Registration, Venue, validate_base_url};

/// Domain-separation prefix of the request signature (the server's
/// `quet_server::registry::REGISTRATION_SIGNATURE_LABEL`; a test checks they agree).
pub const REGISTRATION_SIGNATURE_LABEL: &[u8] = b"quet/v1/registry/request";

/// The signed form of a registration: `{"request": base64, "signature": hex}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SignedRequest {
    /// Base64 of the request JSON.
    pub request: String,
    /// Hex Ed25519 signature by the venue key over label ‖ request bytes.
    pub signature: String,
}

/// The venue's registration request for `district`, signed with its key.
pub fn signed_request(venue: &Venue, district: &str) -> Result<SignedRequest> {
    let district = check_district(district)?;
    let signing = venue.master().signing_key();
    let info = venue.info();
    let mut req = serde_json::json!({
        "venue_key": HEXLOWER.encode(signing.verifying_key().as_bytes()),
        "name": info.name,
        "address": info.address,
        "category": info.category.slug(),
        "district": district,
        "max_stay_minutes": info.max_stay_minutes,
    });
    if let Some(ev) = venue.event() {
        req["event_start"] = ev.start.into();
        req["event_end"] = ev.end.into();
    }
    let bytes = serde_json::to_vec(&req).map_err(|e| VenueError::InvalidInput(e.to_string()))?;
    let mut msg = REGISTRATION_SIGNATURE_LABEL.to_vec();
    msg.extend_from_slice(&bytes);
    Ok(SignedRequest {
        request: BASE64.encode(&bytes),
        signature: HEXLOWER.encode(&signing.sign(&msg).to_bytes()),
    })
}

/// The venue key in hex (how the server names a registration).
pub fn venue_key_hex(venue: &Venue) -> String {
    HEXLOWER.encode(venue.master().signing_key().verifying_key().as_bytes())
}

/// Submits the venue's own registration (pending until the authority approves),
/// stores the answer in the venue file and returns it.
pub fn register(venue: &mut Venue, server: &str, district: &str) -> Result<Registration> {
    let base = validate_base_url(server)?;
    let signed = signed_request(venue, district)?;
    let url = format!("{base}/v1/registrations");
    let body =
        serde_json::to_value(&signed).map_err(|e| VenueError::InvalidInput(e.to_string()))?;
    let (status, v) = json_request("POST", &url, None, Some(&body))?;
    if status != 200 && status != 202 {
        return Err(server_error(&url, status, &v));
    }
    let id = v["id"]
        .as_i64()
        .ok_or_else(|| VenueError::BadServerData(format!("{url}: no id")))?;
    let reg = Registration {
        server_url: base,
        district: check_district(district)?,
        id,
        status: v["status"].as_str().unwrap_or("pending").to_owned(),
        serial: None,
        valid_until: None,
        certificate: None,
    };
    venue.save_registration(reg.clone())?;
    refresh(venue)
}

/// Fetches the current status (and certificate) of the venue's registration and
/// stores it in the venue file.
pub fn refresh(venue: &mut Venue) -> Result<Registration> {
    let mut reg = venue.registration().cloned().ok_or_else(|| {
        VenueError::InvalidInput(
            "địa điểm chưa đăng ký; chạy / not registered yet; run: quet-venue register --district …"
                .into(),
        )
    })?;
    let url = format!(
        "{}/v1/registrations/{}",
        reg.server_url,
        venue_key_hex(venue)
    );
    let (status, v) = json_request("GET", &url, None, None)?;
    if status != 200 {
        return Err(server_error(&url, status, &v));
    }
    reg.status = v["status"].as_str().unwrap_or("").to_owned();
    reg.serial = v["serial"].as_u64();
    reg.valid_until = v["valid_until"].as_u64();
    reg.certificate = v["certificate"].as_str().map(str::to_owned);
    venue.save_registration(reg.clone())?;
    Ok(reg)
}

/// One venue of a batch submission.
#[derive(Clone, Debug)]
pub struct BatchEntry {
    /// The submitter's stable key for this venue (the CSV row's key).
    pub idempotency_key: String,
    /// Its signed request.
    pub signed: SignedRequest,
}

/// The server's answer for one venue of a batch.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct BatchOutcome {
    /// The entry's idempotency key.
    pub idempotency_key: String,
    /// Registration id.
    pub id: Option<i64>,
    /// Status after the request.
    pub status: Option<String>,
    /// Whether this request created it.
    #[serde(default)]
    pub created: bool,
    /// Certificate serial, when approved.
    pub serial: Option<u64>,
    /// Validity end, when approved.
    pub valid_until: Option<u64>,
    /// The certificate (base64), when approved.
    #[serde(default)]
    pub certificate: Option<String>,
    /// Error kind, if refused.
    pub error: Option<String>,
    /// Error message.
    pub message: Option<String>,
}

/// Most venues per batch request (the server's limit).
pub const BATCH_CHUNK: usize = 250;

/// Submits up to [`BATCH_CHUNK`] venues with a ward officer's (or staff) token,
/// approving them at once within the officer's district.
pub fn submit_batch(
    server: &str,
    token: &str,
    entries: &[BatchEntry],
    validity_days: Option<u32>,
) -> Result<Vec<BatchOutcome>> {
    let base = validate_base_url(server)?;
    let url = format!("{base}/admin/v1/registry/batch");
    let items: Vec<serde_json::Value> = entries
        .iter()
        .map(|e| {
            serde_json::json!({
                "idempotency_key": e.idempotency_key,
                "request": e.signed.request,
                "signature": e.signed.signature,
            })
        })
        .collect();
    let mut body = serde_json::json!({"registrations": items, "approve": true});
    if let Some(d) = validity_days {
        body["validity_days"] = d.into();
    }
    let (status, v) = json_request("POST", &url, Some(token), Some(&body))?;
    if status != 200 {
        return Err(server_error(&url, status, &v));
    }
    let out: Vec<BatchOutcome> = serde_json::from_value(v["results"].clone())
        .map_err(|e| VenueError::BadServerData(format!("{url}: {e}")))?;
    if out.len() != entries.len() {
        return Err(VenueError::BadServerData(format!(
            "{url}: {} results for {} venues",
            out.len(),
            entries.len()
        )));
    }
    Ok(out)
}
