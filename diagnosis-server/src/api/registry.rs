//! HTTP routes of the venue registry (`registry.rs`; contract in `spec/api.md`,
//! "Venue registry"): public self-registration and status, and the admin API for
//! staff (every district) and ward officers (their district only). Every admin call
//! is audited in the same transaction as its effect.

use axum::Json;
use axum::body::Body;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use data_encoding::{BASE64, HEXLOWER_PERMISSIVE};
use quet_protocol::time::UnixTime;
use serde::{Deserialize, Serialize};

use super::admin::Staff;
use super::{SMALL_BODY_LIMIT, read_json};
use crate::client_addr::Client;
use crate::db::now;
use crate::error::ApiError;
use crate::metrics::inc;
use crate::registry::{self, Actor, ListFilter, SignedRegistration};
use crate::roles::StaffMember;
use crate::staff;
use crate::state::AppState;

/// Body limit of `POST /admin/v1/registry/batch` (250 signed requests).
pub const BATCH_BODY_LIMIT: usize = 256 * 1024;

/// A staff member or a ward officer, from `Authorization: Bearer`.
#[derive(Debug, Clone)]
pub struct RegistryActor(pub Actor);

impl FromRequestParts<AppState> for RegistryActor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, ApiError> {
        let Staff(member) = Staff::from_request_parts(parts, s).await?;
        Ok(RegistryActor(actor_of(&member)?))
    }
}

/// The registry actor a staff member acts as: every district for publishers and
/// administrators, their own district for a ward officer.
pub fn actor_of(member: &StaffMember) -> Result<Actor, ApiError> {
    Ok(match member.registry_scope()? {
        None => Actor::Staff(member.name.clone()),
        Some(district) => Actor::WardOfficer {
            name: member.name.clone(),
            district: district.to_owned(),
        },
    })
}

fn audit(
    tx: &rusqlite::Transaction<'_>,
    actor: &Actor,
    action: &str,
    object: Option<&str>,
) -> Result<(), ApiError> {
    staff::record(tx, now(), &actor.label(), action, object)?;
    Ok(())
}

/// `POST /v1/registrations`: a venue registers itself (pending until approved).
pub async fn submit(
    State(s): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    s.limits.attempt(client.key()).map_err(|retry| {
        inc(&s.metrics.rate_limited);
        ApiError::rate_limited(retry.0)
    })?;
    let signed: SignedRegistration = read_json(&headers, body, SMALL_BODY_LIMIT).await?;
    let reg = registry::verify(&signed)?;
    let out = s
        .write(move |tx, _| registry::submit(tx, &reg, &Actor::Venue, None, now()))
        .await?;
    let status = if out.created {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(out)).into_response())
}

/// The public status of a venue key: `GET /v1/registrations/{venue_key}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PublicStatus {
    /// Registration id.
    pub id: i64,
    /// `pending`, `approved`, `rejected` or `revoked`.
    pub status: String,
    /// Certificate serial.
    pub serial: Option<u64>,
    /// Validity start, Unix seconds.
    pub valid_from: Option<u64>,
    /// Validity end, Unix seconds.
    pub valid_until: Option<u64>,
    /// The certificate (base64), once issued.
    pub certificate: Option<String>,
}

/// `GET /v1/registrations/{venue_key}`.
pub async fn status(
    State(s): State<AppState>,
    Path(key): Path<String>,
) -> Result<Response, ApiError> {
    let key: [u8; 32] = HEXLOWER_PERMISSIVE
        .decode(key.as_bytes())
        .ok()
        .and_then(|k| k.try_into().ok())
        .ok_or_else(|| ApiError::bad_request("the venue key must be 64 hex digits"))?;
    let found = s
        .read(move |c, _| {
            let Some(r) = registry::by_key(c, &key)? else {
                return Ok(None);
            };
            let cert: Option<Vec<u8>> = c.query_row(
                "SELECT certificate FROM venue_registrations WHERE id = ?1",
                [r.id],
                |row| row.get(0),
            )?;
            Ok(Some((r, cert)))
        })
        .await?;
    let (r, cert) = found.ok_or_else(|| ApiError::not_found("this venue key is not registered"))?;
    let certified = r.status == "approved";
    Ok((
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Json(PublicStatus {
            id: r.id,
            status: r.status,
            serial: r.serial.filter(|_| certified),
            valid_from: r.valid_from.filter(|_| certified),
            valid_until: r.valid_until.filter(|_| certified),
            certificate: cert.filter(|_| certified).map(|c| BASE64.encode(&c)),
        }),
    )
        .into_response())
}

fn csv_response(name: &str, body: String) -> Response {
    let disposition = format!("attachment; filename=\"{name}\"");
    let mut r = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        )],
        body,
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

fn wants_csv(format: Option<&str>) -> Result<bool, ApiError> {
    match format {
        None | Some("json") => Ok(false),
        Some("csv") => Ok(true),
        Some(_) => Err(ApiError::bad_request("format must be json or csv")),
    }
}

/// `GET /admin/v1/registry?status=&district=&format=json|csv`.
pub async fn list(
    State(s): State<AppState>,
    RegistryActor(actor): RegistryActor,
    Query(filter): Query<ListFilter>,
) -> Result<Response, ApiError> {
    let csv = wants_csv(filter.format.as_deref())?;
    let list = s
        .write(move |tx, _| {
            audit(tx, &actor, "registry.list", None)?;
            Ok(registry::list(tx, &actor, &filter)?)
        })
        .await?;
    if csv {
        return Ok(csv_response(
            "registrations.csv",
            registry::registrations_csv(&list),
        ));
    }
    Ok(Json(list).into_response())
}

/// One item of a batch.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchItem {
    /// The submitter's key for this venue (e.g. a hash of its CSV row); a rerun
    /// with the same key never registers a second venue.
    pub idempotency_key: String,
    /// Base64 of the request JSON.
    pub request: String,
    /// Hex signature by the venue key.
    pub signature: String,
}

/// `POST /admin/v1/registry/batch` body.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// Up to 250 registrations.
    pub registrations: Vec<BatchItem>,
    /// Approve each one at once (within the actor's district).
    #[serde(default)]
    pub approve: bool,
    /// Certificate validity, days (default 365).
    #[serde(default)]
    pub validity_days: Option<u32>,
}

/// One result of a batch, in the order of the request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BatchResult {
    /// The item's idempotency key.
    pub idempotency_key: String,
    /// Registration id (absent on error).
    pub id: Option<i64>,
    /// Status after this request (absent on error).
    pub status: Option<String>,
    /// Whether this request created it (false: it already existed).
    pub created: bool,
    /// Certificate serial, when approved.
    pub serial: Option<u64>,
    /// Validity end, when approved.
    pub valid_until: Option<u64>,
    /// The certificate (base64), when approved: the venue's codes carry it.
    #[serde(default)]
    pub certificate: Option<String>,
    /// Error kind (`bad_request`, `conflict`, `out_of_scope`), if this item failed.
    pub error: Option<String>,
    /// Error message.
    pub message: Option<String>,
}

/// `POST /admin/v1/registry/batch`: many registrations in one transaction; each
/// item succeeds or fails on its own, and a rerun of the same items changes
/// nothing.
pub async fn batch(
    State(s): State<AppState>,
    RegistryActor(actor): RegistryActor,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let req: BatchRequest = read_json(&headers, body, BATCH_BODY_LIMIT).await?;
    if req.registrations.is_empty() || req.registrations.len() > registry::MAX_BATCH {
        return Err(ApiError::bad_request(format!(
            "a batch holds 1 to {} registrations",
            registry::MAX_BATCH
        )));
    }
    // Signatures are checked outside the database lock.
    let verified: Vec<_> = req
        .registrations
        .iter()
        .map(|i| {
            registry::verify(&SignedRegistration {
                request: i.request.clone(),
                signature: i.signature.clone(),
            })
        })
        .collect();
    let keys: Vec<String> = req
        .registrations
        .into_iter()
        .map(|i| i.idempotency_key)
        .collect();
    let (approve, validity) = (req.approve, req.validity_days);
    let results = s
        .write(move |tx, inner| {
            let t = now();
            let mut out = Vec::with_capacity(keys.len());
            let (mut created, mut approved) = (0usize, 0usize);
            for (key, v) in keys.into_iter().zip(verified) {
                let res = v.and_then(|reg| {
                    let sub = registry::submit(tx, &reg, &actor, Some(&key), t)?;
                    let mut r = registry::get(tx, sub.id)?
                        .ok_or_else(|| ApiError::not_found("registration vanished"))?;
                    if approve && r.status == "pending" {
                        r = registry::approve(tx, &inner.authority, sub.id, &actor, validity, t)?;
                        approved += 1;
                    }
                    created += usize::from(sub.created);
                    let cert: Option<Vec<u8>> = if r.status == "approved" {
                        tx.query_row(
                            "SELECT certificate FROM venue_registrations WHERE id = ?1",
                            [r.id],
                            |row| row.get(0),
                        )?
                    } else {
                        None
                    };
                    Ok((sub.created, r, cert))
                });
                out.push(match res {
                    Ok((was_created, r, cert)) => BatchResult {
                        idempotency_key: key,
                        id: Some(r.id),
                        created: was_created,
                        serial: r.serial.filter(|_| r.status == "approved"),
                        valid_until: r.valid_until.filter(|_| r.status == "approved"),
                        certificate: cert.map(|c| BASE64.encode(&c)),
                        status: Some(r.status),
                        error: None,
                        message: None,
                    },
                    Err(e) if e.status.is_server_error() => return Err(e),
                    Err(e) => BatchResult {
                        idempotency_key: key,
                        id: None,
                        status: None,
                        created: false,
                        serial: None,
                        valid_until: None,
                        certificate: None,
                        error: Some(e.kind.to_owned()),
                        message: Some(e.message),
                    },
                });
            }
            audit(
                tx,
                &actor,
                "registry.batch",
                Some(&format!(
                    "{} items, {created} new, {approved} approved",
                    out.len()
                )),
            )?;
            Ok(out)
        })
        .await?;
    Ok(Json(serde_json::json!({ "results": results })).into_response())
}

/// Body of approve and renew.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidityBody {
    /// Certificate validity, days (default 365, at most 400).
    #[serde(default)]
    pub validity_days: Option<u32>,
}

async fn optional_json<T: Default + serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: Body,
) -> Result<T, ApiError> {
    let bare = headers.get(header::CONTENT_TYPE).is_none()
        && headers
            .get(header::CONTENT_LENGTH)
            .is_none_or(|v| v.as_bytes() == b"0");
    if bare {
        Ok(T::default())
    } else {
        read_json(headers, body, SMALL_BODY_LIMIT).await
    }
}

/// Approves (API and console).
pub async fn do_approve(
    s: &AppState,
    actor: Actor,
    id: i64,
    validity_days: Option<u32>,
) -> Result<registry::Registration, ApiError> {
    s.write(move |tx, inner| {
        let r = registry::approve(tx, &inner.authority, id, &actor, validity_days, now())?;
        audit(
            tx,
            &actor,
            "registry.approve",
            Some(&format!(
                "registration {id} serial {}",
                r.serial.unwrap_or(0)
            )),
        )?;
        Ok(r)
    })
    .await
}

/// `POST /admin/v1/registry/{id}/approve`.
pub async fn approve(
    State(s): State<AppState>,
    RegistryActor(actor): RegistryActor,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let b: ValidityBody = optional_json(&headers, body).await?;
    Ok(Json(do_approve(&s, actor, id, b.validity_days).await?).into_response())
}

/// Rejects (API and console).
pub async fn do_reject(s: &AppState, actor: Actor, id: i64) -> Result<(), ApiError> {
    s.write(move |tx, _| {
        registry::reject(tx, id, &actor, now())?;
        audit(
            tx,
            &actor,
            "registry.reject",
            Some(&format!("registration {id}")),
        )
    })
    .await
}

/// `POST /admin/v1/registry/{id}/reject`.
pub async fn reject(
    State(s): State<AppState>,
    RegistryActor(actor): RegistryActor,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    do_reject(&s, actor, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /admin/v1/registry/{id}/renew`.
pub async fn renew(
    State(s): State<AppState>,
    RegistryActor(actor): RegistryActor,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let b: ValidityBody = optional_json(&headers, body).await?;
    let r = s
        .write(move |tx, inner| {
            let r = registry::renew(tx, &inner.authority, id, &actor, b.validity_days, now())?;
            audit(
                tx,
                &actor,
                "registry.renew",
                Some(&format!(
                    "registration {id} serial {}",
                    r.serial.unwrap_or(0)
                )),
            )?;
            Ok(r)
        })
        .await?;
    Ok(Json(r).into_response())
}

/// `POST /admin/v1/registry/{id}/revoke` body.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeBody {
    /// Why (key stolen, fraudulent registration, venue closed...).
    pub reason: String,
}

/// Revokes (API and console).
pub async fn do_revoke(
    s: &AppState,
    actor: Actor,
    id: i64,
    reason: String,
) -> Result<(), ApiError> {
    s.write(move |tx, _| {
        registry::revoke(tx, id, &actor, &reason, now())?;
        audit(
            tx,
            &actor,
            "registry.revoke",
            Some(&format!("registration {id}")),
        )
    })
    .await
}

/// `POST /admin/v1/registry/{id}/revoke`.
pub async fn revoke(
    State(s): State<AppState>,
    RegistryActor(actor): RegistryActor,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let b: RevokeBody = read_json(&headers, body, SMALL_BODY_LIMIT).await?;
    do_revoke(&s, actor, id, b.reason).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Query of `GET /admin/v1/registry/stats`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatsQuery {
    /// Days back from today (1..=366, default 30).
    pub days: Option<u32>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// Statistics (API and console).
pub async fn do_stats(
    s: &AppState,
    actor: Actor,
    days: u32,
) -> Result<registry::RegistryStats, ApiError> {
    let t = now();
    let today = UnixTime(t)
        .day()
        .map_err(|e| ApiError::internal("clock", e))?
        .0;
    s.write(move |tx, _| {
        audit(tx, &actor, "registry.stats", None)?;
        Ok(registry::stats(tx, &actor, today, days, t)?)
    })
    .await
}

/// `GET /admin/v1/registry/stats?days=30&format=json|csv`.
pub async fn stats(
    State(s): State<AppState>,
    RegistryActor(actor): RegistryActor,
    Query(q): Query<StatsQuery>,
) -> Result<Response, ApiError> {
    let csv = wants_csv(q.format.as_deref())?;
    let days = q.days.unwrap_or(30);
    if !(1..=366).contains(&days) {
        return Err(ApiError::bad_request("days must be 1..=366"));
    }
    let st = do_stats(&s, actor, days).await?;
    if csv {
        return Ok(csv_response("registry-stats.csv", registry::stats_csv(&st)));
    }
    Ok(Json(st).into_response())
}
