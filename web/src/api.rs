//! The web app's operations as plain Rust (JSON in, JSON out), so they are tested
//! natively; `lib.rs` only exports them to JavaScript.

use data_encoding::{BASE64, HEXLOWER};
use quet_protocol::authority::AuthorityDescriptor;
use quet_protocol::bulletin::{Bulletin, ChainState};
use quet_protocol::code::{CheckInCode, CodeKind};
use quet_protocol::envelope::ReportEnvelope;
use quet_protocol::matching::{Matcher, StoredToken};
use quet_protocol::time::UnixTime;
use quet_protocol::token::EncounterToken;
use rand_core::UnwrapErr;
use serde::{Deserialize, Serialize};

/// What the page shows about a venue before and after check-in.
#[derive(Serialize, Deserialize, Debug, PartialEq, Eq)]
pub struct VenueView {
    /// Venue name.
    pub name: String,
    /// Address.
    pub address: String,
    /// Category in Vietnamese.
    pub category_vi: String,
    /// Category in English.
    pub category_en: String,
    /// Maximum stay in minutes (automatic check-out).
    pub max_stay_minutes: u16,
    /// "screen" or "poster".
    pub kind: String,
}

/// A sealed check-in for the page to store (in IndexedDB/localStorage).
#[derive(Serialize, Deserialize, Debug)]
pub struct CheckInView {
    /// The venue, for the user's own diary.
    pub venue: VenueView,
    /// Arrival (Unix seconds).
    pub arrival: u64,
    /// Planned automatic check-out (Unix seconds).
    pub planned_departure: u64,
    /// The encounter token, base64.
    pub token: String,
    /// The report envelope, base64 (sent only if the user tests positive and agrees).
    pub envelope: String,
}

/// A stored token as the page passes it back for matching.
#[derive(Serialize, Deserialize, Debug)]
pub struct TokenInput {
    /// The page's id for the check-in.
    pub id: u64,
    /// The token, base64.
    pub token: String,
}

/// The chain state the page keeps per authority.
#[derive(Serialize, Deserialize, Debug, PartialEq, Eq)]
pub struct ChainView {
    /// Last accepted sequence number.
    pub sequence: u64,
    /// Its hash, hex.
    pub hash: String,
}

/// One exposure for the page to show.
#[derive(Serialize, Deserialize, Debug)]
pub struct ExposureView {
    /// The check-in's id.
    pub id: u64,
    /// The notice id (hex), for withdrawals.
    pub notice: String,
    /// Venue name.
    pub venue: String,
    /// Severity in Vietnamese.
    pub severity_vi: String,
    /// Severity in English.
    pub severity_en: String,
    /// The health authority's message in Vietnamese.
    pub message_vi: String,
    /// The health authority's message in English.
    pub message_en: String,
    /// Exposure window start (Unix seconds).
    pub window_start: u64,
    /// Exposure window end (Unix seconds).
    pub window_end: u64,
}

/// The result of matching one bulletin.
#[derive(Serialize, Deserialize, Debug)]
pub struct MatchView {
    /// The new chain state to keep.
    pub chain: ChainView,
    /// Exposures found.
    pub exposures: Vec<ExposureView>,
    /// Notice ids this bulletin withdraws (hex).
    pub withdrawn: Vec<String>,
}

fn descriptor(b64: &str) -> Result<AuthorityDescriptor, String> {
    let bytes = BASE64
        .decode(b64.trim().as_bytes())
        .map_err(|e| format!("descriptor: {e}"))?;
    AuthorityDescriptor::decode(&bytes).map_err(|e| e.to_string())
}

fn now(secs: f64) -> Result<UnixTime, String> {
    if (0.0..1e15).contains(&secs) {
        Ok(UnixTime(secs as u64))
    } else {
        Err("invalid clock".into())
    }
}

fn view(code: &CheckInCode) -> VenueView {
    VenueView {
        name: code.venue.name.clone(),
        address: code.venue.address.clone(),
        category_vi: code.venue.category.label_vi().into(),
        category_en: code.venue.category.label_en().into(),
        max_stay_minutes: code.venue.max_stay_minutes,
        kind: match code.kind {
            CodeKind::Screen => "screen".into(),
            CodeKind::Poster => "poster".into(),
        },
    }
}

fn json<T: Serialize>(v: &T) -> Result<String, String> {
    serde_json::to_string(v).map_err(|e| e.to_string())
}

/// See [`crate::describe_code`].
pub fn describe_code(text: &str, now_secs: f64, descriptor_b64: &str) -> Result<String, String> {
    let d = descriptor(descriptor_b64)?;
    let (code, _) =
        CheckInCode::parse_text_and_verify(text, now(now_secs)?, &d).map_err(|e| e.to_string())?;
    json(&view(&code))
}

/// See [`crate::check_in`].
pub fn check_in(text: &str, now_secs: f64, descriptor_b64: &str) -> Result<String, String> {
    let d = descriptor(descriptor_b64)?;
    let t = now(now_secs)?;
    let (code, authority) =
        CheckInCode::parse_text_and_verify(text, t, &d).map_err(|e| e.to_string())?;
    let mut rng = UnwrapErr(getrandom::SysRng);
    let (token, record) =
        EncounterToken::check_in(&mut rng, &code, t).map_err(|e| e.to_string())?;
    let envelope =
        ReportEnvelope::seal(&mut rng, authority, &code, record.arrival, record.departure)
            .map_err(|e| e.to_string())?;
    json(&CheckInView {
        venue: view(&code),
        arrival: record.arrival.0,
        planned_departure: record.departure.0,
        token: BASE64.encode(&token.to_bytes()),
        envelope: BASE64.encode(envelope.as_bytes()),
    })
}

/// See [`crate::match_bulletin`].
pub fn match_bulletin(
    bulletin_b64: &str,
    descriptor_b64: &str,
    chain_json: &str,
    tokens_json: &str,
    now_secs: f64,
) -> Result<String, String> {
    let d = descriptor(descriptor_b64)?;
    let bytes = BASE64
        .decode(bulletin_b64.trim().as_bytes())
        .map_err(|e| format!("bulletin: {e}"))?;
    let last = if chain_json.trim().is_empty() {
        None
    } else {
        let c: ChainView = serde_json::from_str(chain_json).map_err(|e| format!("chain: {e}"))?;
        let hash: [u8; 32] = HEXLOWER
            .decode(c.hash.as_bytes())
            .ok()
            .and_then(|h| h.try_into().ok())
            .ok_or("chain: bad hash")?;
        Some(ChainState {
            sequence: c.sequence,
            hash,
            expires_at: quet_protocol::time::UnixTime(0),
        })
    };
    let bulletin = Bulletin::verify_next(&bytes, &d, last.as_ref(), now(now_secs)?)
        .map_err(|e| e.to_string())?;
    let inputs: Vec<TokenInput> =
        serde_json::from_str(tokens_json).map_err(|e| format!("tokens: {e}"))?;
    let mut tokens = Vec::with_capacity(inputs.len());
    for t in inputs {
        let raw = BASE64
            .decode(t.token.as_bytes())
            .map_err(|e| format!("token {}: {e}", t.id))?;
        let token = EncounterToken::from_bytes(&raw).map_err(|e| format!("token {}: {e}", t.id))?;
        tokens.push(StoredToken { id: t.id, token });
    }
    let exposures = Matcher::new(tokens)
        .match_notices(&bulletin.notices)
        .into_iter()
        .map(|e| ExposureView {
            id: e.token_id,
            notice: HEXLOWER.encode(&e.notice_nonce),
            venue: e.record.venue.name,
            severity_vi: e.body.severity.label_vi().into(),
            severity_en: e.body.severity.label_en().into(),
            message_vi: e.body.message_vi,
            message_en: e.body.message_en,
            window_start: e.body.window_start.0,
            window_end: e.body.window_end.0,
        })
        .collect();
    let state = bulletin.chain_state();
    json(&MatchView {
        chain: ChainView {
            sequence: state.sequence,
            hash: HEXLOWER.encode(&state.hash),
        },
        exposures,
        withdrawn: bulletin
            .withdrawn
            .iter()
            .map(|n| HEXLOWER.encode(n))
            .collect(),
    })
}
