//! The venue registry: which venues exist, who vouched for them, and which keys are
//! revoked. It never holds anything about visitors.
//!
//! A venue registers its public Ed25519 signing key with its public details (name,
//! address, category, district, optional event window). The request is signed by
//! that key (proof of possession: nobody can register, and so block, a key they do
//! not hold). Staff approve any registration; a **ward officer** (own token, one
//! district) approves only within their district, and may submit many at once
//! (`POST /admin/v1/registry/batch`) with an idempotency key per venue, so a
//! resubmitted batch registers nothing twice.
//!
//! Approval gives the registration a certificate serial and a validity period;
//! renewal gives a new serial and period; both sign a protocol
//! [`VenueCertificate`](quet_protocol::certificate::VenueCertificate) over the venue
//! key and the hash of its category, name and address, which the venue fetches and
//! puts in its codes. Revocation puts the venue key on the list that the next
//! bulletins carry (`publish::revoke_venue_key`) until the certificate would have
//! expired anyway.
//!
//! The signed request (`spec/api.md`, "Venue registry"): the client sends
//! `{"request": base64(R), "signature": hex(sig)}` where `R` is the UTF-8 JSON of
//! [`RegistrationRequest`] and `sig` is the venue key's Ed25519 signature over
//! [`REGISTRATION_SIGNATURE_LABEL`] ‖ `R`. The server verifies the exact bytes it
//! received, then parses them.

use std::fmt::Write as _;

use data_encoding::{BASE64, HEXLOWER, HEXLOWER_PERMISSIVE};
use ed25519_dalek::{Signature, VerifyingKey};
use quet_protocol::category::Category;
use quet_protocol::code::{MAX_ADDRESS_LEN, MAX_NAME_LEN, MAX_STAY_LIMIT_MINUTES};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};

use quet_protocol::certificate::{VenueCertificate, details_hash};
use quet_protocol::time::Day;

use crate::db::{hour, ts};
use crate::error::ApiError;
use crate::keystore::Authority;

/// Domain-separation prefix of the Ed25519 signature on a registration request.
pub const REGISTRATION_SIGNATURE_LABEL: &[u8] = b"quet/v1/registry/request";
/// Longest district name in bytes (as for heartbeats).
pub const MAX_DISTRICT_LEN: usize = 64;
/// Longest idempotency key in bytes.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 64;
/// Most registrations in one batch request.
pub const MAX_BATCH: usize = 250;
/// Default and longest certificate validity, days.
pub const DEFAULT_VALIDITY_DAYS: u32 = 365;
/// Longest certificate validity, days (the protocol's limit).
pub const MAX_VALIDITY_DAYS: u32 = quet_protocol::certificate::MAX_CERTIFICATE_DAYS;
/// Largest encoded request accepted (base64-decoded).
pub const MAX_REQUEST_LEN: usize = 2048;

/// What a venue states about itself (signed by its key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrationRequest {
    /// The venue's Ed25519 public key, 64 hex digits.
    pub venue_key: String,
    /// Name, as in its codes (≤ 64 bytes).
    pub name: String,
    /// Address, as in its codes (≤ 72 bytes).
    pub address: String,
    /// Category slug.
    pub category: String,
    /// District (≤ 64 bytes), e.g. "Hoàn Kiếm".
    pub district: String,
    /// Maximum stay, minutes (1..=1440).
    pub max_stay_minutes: u16,
    /// Event start, Unix seconds (events only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_start: Option<u64>,
    /// Event end, Unix seconds (events only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_end: Option<u64>,
}

/// The wire form: the request bytes and the venue key's signature over them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedRegistration {
    /// Base64 (standard) of the request's UTF-8 JSON.
    pub request: String,
    /// Hex Ed25519 signature over `REGISTRATION_SIGNATURE_LABEL ‖ request bytes`.
    pub signature: String,
}

/// A checked request.
#[derive(Debug, Clone)]
pub struct VerifiedRegistration {
    /// The venue key bytes.
    pub venue_key: [u8; 32],
    /// The request.
    pub request: RegistrationRequest,
    /// The category.
    pub category: Category,
}

fn text_ok(s: &str, max: usize) -> bool {
    !s.trim().is_empty() && s.len() <= max && !s.chars().any(char::is_control)
}

/// Verifies the signature over the exact bytes, then parses and checks every field.
pub fn verify(signed: &SignedRegistration) -> Result<VerifiedRegistration, ApiError> {
    let bytes = BASE64
        .decode(signed.request.as_bytes())
        .map_err(|_| ApiError::bad_request("request is not base64"))?;
    if bytes.len() > MAX_REQUEST_LEN {
        return Err(ApiError::bad_request("request too long"));
    }
    let request: RegistrationRequest = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request(format!("request: {e}")))?;
    let key: [u8; 32] = HEXLOWER_PERMISSIVE
        .decode(request.venue_key.as_bytes())
        .ok()
        .and_then(|k| k.try_into().ok())
        .ok_or_else(|| ApiError::bad_request("venue_key must be 64 hex digits"))?;
    let vk = VerifyingKey::from_bytes(&key)
        .map_err(|_| ApiError::bad_request("venue_key is not a valid Ed25519 key"))?;
    let sig: [u8; 64] = HEXLOWER_PERMISSIVE
        .decode(signed.signature.as_bytes())
        .ok()
        .and_then(|k| k.try_into().ok())
        .ok_or_else(|| ApiError::bad_request("signature must be 128 hex digits"))?;
    let mut msg = Vec::with_capacity(REGISTRATION_SIGNATURE_LABEL.len() + bytes.len());
    msg.extend_from_slice(REGISTRATION_SIGNATURE_LABEL);
    msg.extend_from_slice(&bytes);
    vk.verify_strict(&msg, &Signature::from_bytes(&sig))
        .map_err(|_| ApiError::bad_request("the signature does not verify with venue_key"))?;
    let category = Category::from_slug(&request.category)
        .ok_or_else(|| ApiError::bad_request("unknown category"))?;
    if !text_ok(&request.name, MAX_NAME_LEN) || request.name.trim() != request.name {
        return Err(ApiError::bad_request("name must be 1 to 64 bytes of text"));
    }
    if !text_ok(&request.address, MAX_ADDRESS_LEN) || request.address.trim() != request.address {
        return Err(ApiError::bad_request(
            "address must be 1 to 72 bytes of text",
        ));
    }
    if !text_ok(&request.district, MAX_DISTRICT_LEN) {
        return Err(ApiError::bad_request(
            "district must be 1 to 64 bytes of text",
        ));
    }
    if request.max_stay_minutes == 0 || request.max_stay_minutes > MAX_STAY_LIMIT_MINUTES {
        return Err(ApiError::bad_request("max_stay_minutes must be 1..=1440"));
    }
    match (request.event_start, request.event_end) {
        (None, None) => {}
        (Some(s), Some(e)) if s < e => {}
        _ => {
            return Err(ApiError::bad_request(
                "event_start and event_end go together, start before end",
            ));
        }
    }
    Ok(VerifiedRegistration {
        venue_key: key,
        request,
        category,
    })
}

/// Who acts on the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A health-authority staff member: every district.
    Staff(String),
    /// A ward officer: their own district only.
    WardOfficer {
        /// Officer name.
        name: String,
        /// The one district they may act in.
        district: String,
    },
    /// The venue itself (public self-registration).
    Venue,
}

impl Actor {
    /// The name written to the audit log and `submitted_by` / `decided_by`.
    pub fn label(&self) -> String {
        match self {
            Actor::Staff(n) => n.clone(),
            Actor::WardOfficer { name, .. } => format!("ward:{name}"),
            Actor::Venue => "venue".into(),
        }
    }

    /// Whether this actor may decide on a registration in `district`.
    pub fn may_decide(&self, district: &str) -> bool {
        match self {
            Actor::Staff(_) => true,
            Actor::WardOfficer { district: d, .. } => same_text(d, district),
            Actor::Venue => false,
        }
    }

    fn scope(&self) -> Option<&str> {
        match self {
            Actor::WardOfficer { district, .. } => Some(district),
            _ => None,
        }
    }
}

/// Compares names as people type them: trimmed, case-folded, spaces collapsed.
pub fn normalize_text(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn same_text(a: &str, b: &str) -> bool {
    normalize_text(a) == normalize_text(b)
}

/// A registration as the admin API and the console list it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Registration {
    /// Registration id.
    pub id: i64,
    /// Venue key, hex.
    pub venue_key: String,
    /// Name.
    pub name: String,
    /// Address.
    pub address: String,
    /// Category slug.
    pub category: String,
    /// District.
    pub district: String,
    /// Maximum stay, minutes.
    pub max_stay_minutes: u16,
    /// Event start.
    pub event_start: Option<u64>,
    /// Event end.
    pub event_end: Option<u64>,
    /// `pending`, `approved`, `rejected` or `revoked`.
    pub status: String,
    /// Who submitted it (`venue`, `ward:<name>` or a staff name).
    pub submitted_by: String,
    /// Idempotency key given by a batch submitter.
    pub idempotency_key: Option<String>,
    /// Hour it was submitted (Unix seconds, floored).
    pub submitted_hour: u64,
    /// Who decided.
    pub decided_by: Option<String>,
    /// Certificate serial (approved or revoked).
    pub serial: Option<u64>,
    /// Certificate validity start.
    pub valid_from: Option<u64>,
    /// Certificate validity end.
    pub valid_until: Option<u64>,
    /// Revocation reason.
    pub revoke_reason: Option<String>,
    /// The id of an earlier live registration with the same name, address and
    /// district, if any (a possible duplicate or impostor for staff to check).
    pub duplicate_of: Option<i64>,
}

const COLUMNS: &str = "id, venue_key, name, address, category, district, max_stay_minutes, \
    event_start, event_end, status, submitted_by, idempotency_key, submitted_hour, decided_by, \
    serial, valid_from, valid_until, revoke_reason, duplicate_of";

fn opt_u64(v: Option<i64>) -> Option<u64> {
    v.map(|x| x.max(0) as u64)
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Registration> {
    let key: Vec<u8> = r.get(1)?;
    Ok(Registration {
        id: r.get(0)?,
        venue_key: HEXLOWER.encode(&key),
        name: r.get(2)?,
        address: r.get(3)?,
        category: r.get(4)?,
        district: r.get(5)?,
        max_stay_minutes: r.get(6)?,
        event_start: opt_u64(r.get(7)?),
        event_end: opt_u64(r.get(8)?),
        status: r.get(9)?,
        submitted_by: r.get(10)?,
        idempotency_key: r.get(11)?,
        submitted_hour: r.get::<_, i64>(12)?.max(0) as u64,
        decided_by: r.get(13)?,
        serial: opt_u64(r.get(14)?),
        valid_from: opt_u64(r.get(15)?),
        valid_until: opt_u64(r.get(16)?),
        revoke_reason: r.get(17)?,
        duplicate_of: r.get(18)?,
    })
}

/// One registration by id.
pub fn get(conn: &Connection, id: i64) -> rusqlite::Result<Option<Registration>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM venue_registrations WHERE id = ?1"),
        [id],
        row,
    )
    .optional()
}

/// One registration by venue key.
pub fn by_key(conn: &Connection, key: &[u8; 32]) -> rusqlite::Result<Option<Registration>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM venue_registrations WHERE venue_key = ?1"),
        [key.as_slice()],
        row,
    )
    .optional()
}

/// Filters for [`list`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListFilter {
    /// Only this status.
    pub status: Option<String>,
    /// Only this district.
    pub district: Option<String>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// Registrations, newest first (at most 10 000), restricted to the actor's district.
pub fn list(
    conn: &Connection,
    actor: &Actor,
    filter: &ListFilter,
) -> rusqlite::Result<Vec<Registration>> {
    let mut st = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM venue_registrations
         WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR district = ?2) AND (?3 IS NULL OR district = ?3)
         ORDER BY id DESC LIMIT 10000"
    ))?;
    let rows = st.query_map(
        params![
            filter.status.as_deref(),
            filter.district.as_deref(),
            actor.scope()
        ],
        row,
    )?;
    rows.collect()
}

/// The outcome of a submission.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Submitted {
    /// Registration id.
    pub id: i64,
    /// Its status now.
    pub status: String,
    /// False if this exact venue key (or idempotency key) was already registered:
    /// nothing new was stored.
    pub created: bool,
}

fn live_duplicate(
    tx: &Transaction<'_>,
    req: &RegistrationRequest,
    except_key: &[u8; 32],
) -> rusqlite::Result<Option<i64>> {
    let mut st = tx.prepare(
        "SELECT id, name, address, district FROM venue_registrations
         WHERE status IN ('pending', 'approved') AND venue_key != ?1 AND name_norm = ?2",
    )?;
    let name = normalize_text(&req.name);
    let mut rows = st.query(params![except_key.as_slice(), name])?;
    while let Some(r) = rows.next()? {
        let (id, _, address, district): (i64, String, String, String) =
            (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
        if same_text(&address, &req.address) && same_text(&district, &req.district) {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

/// Stores a verified registration, or returns the existing one for the same venue
/// key (a resubmission) or the same `(submitter, idempotency key)`; a different key
/// under a known idempotency key is a conflict (the venue file was lost and
/// re-made: staff must revoke the old one first).
pub fn submit(
    tx: &Transaction<'_>,
    reg: &VerifiedRegistration,
    actor: &Actor,
    idempotency_key: Option<&str>,
    now: u64,
) -> Result<Submitted, ApiError> {
    if let Some(k) = idempotency_key
        && (k.is_empty() || k.len() > MAX_IDEMPOTENCY_KEY_LEN || k.chars().any(char::is_control))
    {
        return Err(ApiError::bad_request(
            "idempotency_key must be 1 to 64 printable bytes",
        ));
    }
    if let Some(existing) = by_key(tx, &reg.venue_key)? {
        if existing.name != reg.request.name
            || existing.address != reg.request.address
            || !same_text(&existing.district, &reg.request.district)
        {
            return Err(ApiError::conflict(
                "this venue key is already registered with other details",
            ));
        }
        return Ok(Submitted {
            id: existing.id,
            status: existing.status,
            created: false,
        });
    }
    let submitter = actor.label();
    if let Some(k) = idempotency_key {
        let other: Option<(i64, String)> = tx
            .query_row(
                "SELECT id, status FROM venue_registrations WHERE submitted_by = ?1 AND idempotency_key = ?2",
                params![submitter, k],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if let Some((id, _)) = other {
            return Err(ApiError::conflict(format!(
                "idempotency key {k:?} is already registration {id} with another venue key"
            )));
        }
    }
    if let Some(scope) = actor.scope()
        && !same_text(scope, &reg.request.district)
    {
        return Err(ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "out_of_scope",
            format!("this ward officer registers venues of {scope} only"),
        ));
    }
    let duplicate_of = live_duplicate(tx, &reg.request, &reg.venue_key)?;
    let r = &reg.request;
    tx.execute(
        "INSERT INTO venue_registrations (venue_key, name, name_norm, address, category, district,
             max_stay_minutes, event_start, event_end, status, submitted_by, idempotency_key,
             submitted_hour, duplicate_of)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'pending', ?10, ?11, ?12, ?13)",
        params![
            reg.venue_key.as_slice(),
            r.name,
            normalize_text(&r.name),
            r.address,
            reg.category.slug(),
            r.district.trim(),
            r.max_stay_minutes,
            r.event_start.map(ts),
            r.event_end.map(ts),
            submitter,
            idempotency_key,
            hour(now),
            duplicate_of,
        ],
    )?;
    let id = tx.last_insert_rowid();
    Ok(Submitted {
        id,
        status: "pending".into(),
        created: true,
    })
}

fn require(tx: &Transaction<'_>, id: i64, actor: &Actor) -> Result<Registration, ApiError> {
    let reg = get(tx, id)?.ok_or_else(|| ApiError::not_found("no such registration"))?;
    if !actor.may_decide(&reg.district) {
        // A ward officer does not learn about other districts' registrations.
        return Err(ApiError::not_found("no such registration"));
    }
    Ok(reg)
}

fn check_validity(days: Option<u32>) -> Result<u32, ApiError> {
    let d = days.unwrap_or(DEFAULT_VALIDITY_DAYS);
    if d == 0 || d > MAX_VALIDITY_DAYS {
        return Err(ApiError::bad_request(format!(
            "validity_days must be 1..={MAX_VALIDITY_DAYS}"
        )));
    }
    Ok(d)
}

fn next_serial(tx: &Transaction<'_>) -> rusqlite::Result<i64> {
    tx.query_row(
        "SELECT COALESCE(MAX(serial), 0) + 1 FROM venue_registrations",
        [],
        |r| r.get(0),
    )
}

fn certify(
    tx: &Transaction<'_>,
    authority: &Authority,
    id: i64,
    actor: &Actor,
    validity_days: u32,
    now: u64,
) -> Result<(), ApiError> {
    let reg = get(tx, id)?.ok_or_else(|| ApiError::not_found("no such registration"))?;
    let serial = next_serial(tx)?;
    // Validity starts at the start of today (UTC), so a certificate issued at any
    // time of day covers that day's posters; `until` is exclusive here, the
    // certificate's last day inclusive.
    let from = now - now % 86_400;
    let until = from + u64::from(validity_days) * 86_400;
    let key: [u8; 32] = HEXLOWER
        .decode(reg.venue_key.as_bytes())
        .ok()
        .and_then(|k| k.try_into().ok())
        .ok_or_else(|| ApiError::internal("stored venue key", "not 32 bytes"))?;
    let category = Category::from_slug(&reg.category)
        .ok_or_else(|| ApiError::internal("stored category", &reg.category))?;
    let day = |t: u64| u32::try_from(t / 86_400).unwrap_or(u32::MAX);
    let certificate = {
        let keys = authority
            .keys
            .read()
            .map_err(|_| ApiError::internal("keys", "poisoned"))?;
        VenueCertificate::issue(
            &keys,
            &authority.descriptor,
            &key,
            &details_hash(category, &reg.name, &reg.address),
            u32::try_from(serial).map_err(|e| ApiError::internal("serial", e))?,
            Day(day(from)),
            Day(day(until).saturating_sub(1)),
        )
        .map_err(|e| ApiError::internal("certificate", e))?
    };
    tx.execute(
        "UPDATE venue_registrations SET status = 'approved', decided_by = ?2, decided_at = ?3,
             serial = ?4, valid_from = ?5, valid_until = ?6, certificate = ?7
         WHERE id = ?1",
        params![
            id,
            actor.label(),
            ts(now),
            serial,
            ts(from),
            ts(until),
            certificate.to_bytes()
        ],
    )?;
    Ok(())
}

/// Approves a pending registration and certifies it for `validity_days`.
pub fn approve(
    tx: &Transaction<'_>,
    authority: &Authority,
    id: i64,
    actor: &Actor,
    validity_days: Option<u32>,
    now: u64,
) -> Result<Registration, ApiError> {
    let days = check_validity(validity_days)?;
    let reg = require(tx, id, actor)?;
    match reg.status.as_str() {
        "pending" => {}
        "approved" => return Ok(reg),
        s => return Err(ApiError::conflict(format!("the registration is {s}"))),
    }
    certify(tx, authority, id, actor, days, now)?;
    get(tx, id)?.ok_or_else(|| ApiError::not_found("no such registration"))
}

/// Rejects a pending registration.
pub fn reject(tx: &Transaction<'_>, id: i64, actor: &Actor, now: u64) -> Result<(), ApiError> {
    let reg = require(tx, id, actor)?;
    if reg.status != "pending" {
        return Err(ApiError::conflict(format!(
            "the registration is {}",
            reg.status
        )));
    }
    tx.execute(
        "UPDATE venue_registrations SET status = 'rejected', decided_by = ?2, decided_at = ?3 WHERE id = ?1",
        params![id, actor.label(), ts(now)],
    )?;
    Ok(())
}

/// Renews an approved registration: new serial, validity from today.
pub fn renew(
    tx: &Transaction<'_>,
    authority: &Authority,
    id: i64,
    actor: &Actor,
    validity_days: Option<u32>,
    now: u64,
) -> Result<Registration, ApiError> {
    let days = check_validity(validity_days)?;
    let reg = require(tx, id, actor)?;
    if reg.status != "approved" {
        return Err(ApiError::conflict(format!(
            "only an approved registration can be renewed (this one is {})",
            reg.status
        )));
    }
    certify(tx, authority, id, actor, days, now)?;
    get(tx, id)?.ok_or_else(|| ApiError::not_found("no such registration"))
}

/// Revokes a registration (stolen key, fraudulent registration): its venue key goes
/// on the revocation list the next bulletins carry.
pub fn revoke(
    tx: &Transaction<'_>,
    id: i64,
    actor: &Actor,
    reason: &str,
    now: u64,
) -> Result<(), ApiError> {
    if !text_ok(reason, 200) {
        return Err(ApiError::bad_request(
            "reason must be 1 to 200 bytes of text",
        ));
    }
    let reg = require(tx, id, actor)?;
    if reg.status == "revoked" {
        return Err(ApiError::conflict("the registration is already revoked"));
    }
    tx.execute(
        "UPDATE venue_registrations SET status = 'revoked', revoked_at = ?2, revoke_reason = ?3 WHERE id = ?1",
        params![id, ts(now), reason.trim()],
    )?;
    let key: [u8; 32] = HEXLOWER
        .decode(reg.venue_key.as_bytes())
        .ok()
        .and_then(|k| k.try_into().ok())
        .ok_or_else(|| ApiError::internal("stored venue key", "not 32 bytes"))?;
    // Bulletins carry the revocation until the certificate would have expired
    // anyway (at least the retention period, for an uncertified key).
    let last_day = reg
        .valid_until
        .map(|u| u / 86_400)
        .unwrap_or(0)
        .max(now / 86_400 + REVOCATION_MIN_DAYS);
    crate::publish::revoke_venue_key(
        tx,
        &key,
        Day(u32::try_from(last_day).unwrap_or(u32::MAX)),
        now,
    )?;
    Ok(())
}

/// Days a revocation of an uncertified key stays in bulletins (the retention).
pub const REVOCATION_MIN_DAYS: u64 = 21;

/// What the registry says about the venue of a reported code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum VenueStanding {
    /// The code's key is registered, approved and valid at the code's time, with
    /// the same name and address.
    Registered {
        /// Registration id.
        id: i64,
    },
    /// The key is registered but revoked.
    Revoked {
        /// Registration id.
        id: i64,
    },
    /// The key is registered but the code's name or address differ, or the
    /// registration is pending, rejected or out of its validity.
    NotCertified {
        /// Registration id.
        id: i64,
        /// What is wrong.
        why: String,
    },
    /// The key is unknown, but a registered venue has the same name (and address):
    /// likely a self-made code impersonating it.
    Impostor {
        /// The genuine registration's id.
        of: i64,
    },
    /// Unknown key, no registered venue of that name.
    Unregistered,
}

/// Classifies the venue of a code (`key`, `name`, `address`, code time `at`).
pub fn standing(
    conn: &Connection,
    key: &[u8; 32],
    name: &str,
    address: &str,
    at: u64,
) -> rusqlite::Result<VenueStanding> {
    if let Some(r) = by_key(conn, key)? {
        return Ok(match r.status.as_str() {
            "revoked" => VenueStanding::Revoked { id: r.id },
            "approved" if r.name != name || r.address != address => VenueStanding::NotCertified {
                id: r.id,
                why: "name or address differ from the registration".into(),
            },
            "approved"
                if r.valid_from.is_some_and(|f| at < f)
                    || r.valid_until.is_some_and(|u| at >= u) =>
            {
                VenueStanding::NotCertified {
                    id: r.id,
                    why: "outside the certificate's validity".into(),
                }
            }
            "approved" => VenueStanding::Registered { id: r.id },
            s => VenueStanding::NotCertified {
                id: r.id,
                why: format!("registration {s}"),
            },
        });
    }
    let found: Option<i64> = conn
        .query_row(
            "SELECT id FROM venue_registrations WHERE name_norm = ?1 AND status = 'approved'
             ORDER BY id LIMIT 1",
            [normalize_text(name)],
            |r| r.get(0),
        )
        .optional()?;
    Ok(match found {
        Some(of) => VenueStanding::Impostor { of },
        None => VenueStanding::Unregistered,
    })
}

/// Remembers the venue key of a reported code next to its review row (deleted with
/// it), so the review queue can show the venue's standing.
pub fn note_review_venue(
    tx: &Transaction<'_>,
    review_id: i64,
    key: &[u8; 32],
    code_time: u64,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO review_venues (review_id, venue_key, code_time) VALUES (?1, ?2, ?3)",
        params![review_id, key.as_slice(), ts(code_time)],
    )?;
    Ok(())
}

/// The standing of a review's venue, if the review verified.
pub fn review_standing(
    conn: &Connection,
    review_id: i64,
) -> rusqlite::Result<Option<VenueStanding>> {
    let found: Option<(Vec<u8>, i64, String, String)> = conn
        .query_row(
            "SELECT v.venue_key, v.code_time, r.venue_name, r.venue_address
             FROM review_venues v JOIN reviews r ON r.id = v.review_id WHERE v.review_id = ?1",
            [review_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let Some((key, at, name, address)) = found else {
        return Ok(None);
    };
    let Ok(key) = <[u8; 32]>::try_from(key.as_slice()) else {
        return Ok(None);
    };
    standing(conn, &key, &name, &address, at.max(0) as u64).map(Some)
}

/// Registered venues per district and category, now.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DistrictCount {
    /// District.
    pub district: String,
    /// Category slug.
    pub category: String,
    /// Approved and within validity.
    pub registered: u64,
    /// Waiting for a decision.
    pub pending: u64,
    /// Revoked.
    pub revoked: u64,
}

/// Registered and active venues on one day (active from the opt-in heartbeats).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DayActivity {
    /// UTC day number.
    pub day: u32,
    /// District.
    pub district: String,
    /// Category slug.
    pub category: String,
    /// Venues registered (approved, valid that day, not revoked before it).
    pub registered: u64,
    /// Venues that sent a heartbeat that day (registered or not).
    pub active: u64,
}

/// `GET /admin/v1/registry/stats`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RegistryStats {
    /// Per district × category, now.
    pub districts: Vec<DistrictCount>,
    /// Per day × district × category over the last `days` days.
    pub days: Vec<DayActivity>,
}

/// Registry statistics over the last `days` days up to `today` (UTC day),
/// restricted to the actor's district.
pub fn stats(
    conn: &Connection,
    actor: &Actor,
    today: u32,
    days: u32,
    now: u64,
) -> rusqlite::Result<RegistryStats> {
    let scope = actor.scope();
    let mut st = conn.prepare(
        "SELECT district, category,
                SUM(status = 'approved' AND valid_from <= ?1 AND ?1 < valid_until),
                SUM(status = 'pending'), SUM(status = 'revoked')
         FROM venue_registrations WHERE (?2 IS NULL OR district = ?2)
         GROUP BY district, category ORDER BY district, category",
    )?;
    let districts = st
        .query_map(params![ts(now), scope], |r| {
            Ok(DistrictCount {
                district: r.get(0)?,
                category: r.get(1)?,
                registered: r.get::<_, i64>(2)?.max(0) as u64,
                pending: r.get::<_, i64>(3)?.max(0) as u64,
                revoked: r.get::<_, i64>(4)?.max(0) as u64,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let first = today.saturating_sub(days.saturating_sub(1));
    // Every (day, district, category) that has registrations or heartbeats.
    let mut st = conn.prepare(
        "WITH RECURSIVE d(day) AS (SELECT ?1 UNION ALL SELECT day + 1 FROM d WHERE day < ?2),
         reg AS (
           SELECT d.day AS day, r.district AS district, r.category AS category, COUNT(*) AS n
           FROM d JOIN venue_registrations r
             ON r.valid_from IS NOT NULL AND r.valid_from < (d.day + 1) * 86400
            AND r.valid_until > d.day * 86400
            AND (r.revoked_at IS NULL OR r.revoked_at > d.day * 86400)
            AND r.status IN ('approved', 'revoked')
           WHERE (?3 IS NULL OR r.district = ?3)
           GROUP BY d.day, r.district, r.category),
         act AS (
           SELECT day, district, category, active AS n FROM venue_counts
           WHERE day BETWEEN ?1 AND ?2 AND (?3 IS NULL OR district = ?3)),
         keys AS (SELECT day, district, category FROM reg UNION SELECT day, district, category FROM act)
         SELECT k.day, k.district, k.category, COALESCE(reg.n, 0), COALESCE(act.n, 0)
         FROM keys k
         LEFT JOIN reg ON reg.day = k.day AND reg.district = k.district AND reg.category = k.category
         LEFT JOIN act ON act.day = k.day AND act.district = k.district AND act.category = k.category
         ORDER BY k.day DESC, k.district, k.category LIMIT 20000",
    )?;
    let days = st
        .query_map(params![first, today, scope], |r| {
            Ok(DayActivity {
                day: r.get(0)?,
                district: r.get(1)?,
                category: r.get(2)?,
                registered: r.get::<_, i64>(3)?.max(0) as u64,
                active: r.get::<_, i64>(4)?.max(0) as u64,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(RegistryStats { districts, days })
}

/// Quotes one CSV field (RFC 4180), and defuses spreadsheet formulas.
pub fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn opt(v: Option<u64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

/// Registrations as CSV (header line first).
pub fn registrations_csv(list: &[Registration]) -> String {
    let mut out = String::from(
        "id,status,district,category,name,address,max_stay_minutes,event_start,event_end,venue_key,submitted_by,serial,valid_from,valid_until,duplicate_of,revoke_reason\r\n",
    );
    for r in list {
        let _ = write!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\r\n",
            r.id,
            r.status,
            csv_field(&r.district),
            r.category,
            csv_field(&r.name),
            csv_field(&r.address),
            r.max_stay_minutes,
            opt(r.event_start),
            opt(r.event_end),
            r.venue_key,
            csv_field(&r.submitted_by),
            opt(r.serial),
            opt(r.valid_from),
            opt(r.valid_until),
            r.duplicate_of.map(|x| x.to_string()).unwrap_or_default(),
            csv_field(r.revoke_reason.as_deref().unwrap_or("")),
        );
    }
    out
}

/// Statistics as CSV: one line per day × district × category.
pub fn stats_csv(s: &RegistryStats) -> String {
    let mut out = String::from("day,date,district,category,registered,active\r\n");
    for d in &s.days {
        let _ = write!(
            out,
            "{},{},{},{},{},{}\r\n",
            d.day,
            iso_date(d.day),
            csv_field(&d.district),
            d.category,
            d.registered,
            d.active
        );
    }
    out
}

/// `YYYY-MM-DD` of a UTC day number (proleptic Gregorian).
pub fn iso_date(day: u32) -> String {
    // Howard Hinnant's civil-from-days.
    let z = i64::from(day) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("Phở Thìn"), "Phở Thìn");
        assert_eq!(csv_field("13, Lò Đúc"), "\"13, Lò Đúc\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
    }

    #[test]
    fn iso_dates() {
        assert_eq!(iso_date(0), "1970-01-01");
        assert_eq!(iso_date(20_717), "2026-09-21");
    }

    #[test]
    fn names_compare_as_typed() {
        assert!(same_text("  Phở  Thìn ", "phở thìn"));
        assert!(!same_text("Phở Thìn", "Pho Thin"));
    }
}
