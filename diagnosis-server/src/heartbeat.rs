//! Venue usage statistics from opt-in heartbeats.
//!
//! A heartbeat carries a daily pseudonym, a category and a district. The server
//! keeps the pseudonyms of today and yesterday only (to count each venue once) and
//! a count per day × category × district; pseudonyms of older days are deleted, so
//! nothing links a venue across days.
//!
//! A district must be on the authority's own list ([`crate::districts`]), exactly;
//! a pseudonym is counted once a day, in the first category and district it claims
//! (a different claim the same day is 409 `conflict`); and heartbeats are rate
//! limited per address, per pseudonym and overall (`crate::limiter`). Heartbeats
//! are not signed, so the counts are what venues say: one client can still invent
//! pseudonyms within those rate limits (see `spec/threat-model.md`).

use quet_protocol::category::Category;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};

use crate::districts;
use crate::error::ApiError;

/// `POST /v1/heartbeats` body.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Heartbeat {
    /// UTC day number.
    pub day: u32,
    /// 32 hex digits.
    pub pseudonym: String,
    /// Category slug.
    pub category: String,
    /// District, exactly as on the authority's list (`GET /v1/districts`).
    pub district: String,
}

/// The heartbeat's pseudonym (400 unless 32 hex digits).
pub fn pseudonym(hb: &Heartbeat) -> Result<[u8; 16], ApiError> {
    data_encoding::HEXLOWER_PERMISSIVE
        .decode(hb.pseudonym.as_bytes())
        .ok()
        .and_then(|p| <[u8; 16]>::try_from(p).ok())
        .ok_or_else(|| ApiError::bad_request("pseudonym must be 32 hex digits"))
}

/// Validates and records a heartbeat (one transaction). `today` is the UTC day.
pub fn record(tx: &Transaction<'_>, hb: &Heartbeat, today: u32) -> Result<(), ApiError> {
    if hb.day != today && Some(hb.day) != today.checked_sub(1) {
        return Err(ApiError::bad_request(
            "only today's or yesterday's day is accepted",
        ));
    }
    let pseudonym = pseudonym(hb)?.to_vec();
    let category = Category::from_slug(&hb.category)
        .ok_or_else(|| ApiError::bad_request("unknown category"))?;
    let district = hb.district.as_str();
    if district.len() > districts::MAX_DISTRICT_LEN || !districts::contains(tx, district)? {
        return Err(ApiError::unknown_district());
    }
    let earlier: Option<(String, String)> = tx
        .query_row(
            "SELECT category, district FROM heartbeat_seen WHERE day = ?1 AND pseudonym = ?2 LIMIT 1",
            params![hb.day, pseudonym],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    if let Some((c, d)) = earlier {
        if c == category.slug() && d == district {
            return Ok(());
        }
        return Err(ApiError::conflict(
            "this venue was already counted today under another category or district",
        ));
    }
    let new = tx.execute(
        "INSERT OR IGNORE INTO heartbeat_seen (day, category, district, pseudonym) VALUES (?1, ?2, ?3, ?4)",
        params![hb.day, category.slug(), district, pseudonym],
    )?;
    if new == 1 {
        tx.execute(
            "INSERT INTO venue_counts (day, category, district, active) VALUES (?1, ?2, ?3, 1)
             ON CONFLICT (day, category, district) DO UPDATE SET active = active + 1",
            params![hb.day, category.slug(), district],
        )?;
    }
    Ok(())
}

/// Deletes pseudonyms older than yesterday.
pub fn purge(tx: &Transaction<'_>, today: u32) -> rusqlite::Result<usize> {
    tx.execute(
        "DELETE FROM heartbeat_seen WHERE day < ?1",
        [today.saturating_sub(1)],
    )
}

/// One row of `GET /admin/v1/stats/venues`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct VenueStat {
    /// UTC day.
    pub day: u32,
    /// Category slug.
    pub category: String,
    /// District.
    pub district: String,
    /// Distinct venues that sent a heartbeat that day.
    pub active_venues: u64,
}

/// Counts of the last 60 days, newest first.
pub fn stats(conn: &Connection, today: u32) -> rusqlite::Result<Vec<VenueStat>> {
    let mut st = conn.prepare(
        "SELECT day, category, district, active FROM venue_counts WHERE day >= ?1 ORDER BY day DESC, category, district LIMIT 5000",
    )?;
    let rows = st.query_map([today.saturating_sub(60)], |r| {
        Ok(VenueStat {
            day: r.get(0)?,
            category: r.get(1)?,
            district: r.get(2)?,
            active_venues: r.get::<_, i64>(3)?.max(0) as u64,
        })
    })?;
    rows.collect()
}
