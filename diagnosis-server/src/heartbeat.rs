//! Venue usage statistics from opt-in heartbeats.
//!
//! A heartbeat carries a daily pseudonym, a category and a district. The server
//! keeps the pseudonyms of today and yesterday only (to count each venue once) and
//! a count per day × category × district; pseudonyms of older days are deleted, so
//! nothing links a venue across days.

use quet_protocol::category::Category;
use rusqlite::{Connection, Transaction, params};
use serde::{Deserialize, Serialize};

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
    /// District, at most 64 bytes.
    pub district: String,
}

/// Validates and records a heartbeat (one transaction). `today` is the UTC day.
pub fn record(tx: &Transaction<'_>, hb: &Heartbeat, today: u32) -> Result<(), ApiError> {
    if hb.day != today && Some(hb.day) != today.checked_sub(1) {
        return Err(ApiError::bad_request(
            "only today's or yesterday's day is accepted",
        ));
    }
    let pseudonym = data_encoding::HEXLOWER_PERMISSIVE
        .decode(hb.pseudonym.as_bytes())
        .ok()
        .filter(|p| p.len() == 16)
        .ok_or_else(|| ApiError::bad_request("pseudonym must be 32 hex digits"))?;
    let category = Category::from_slug(&hb.category)
        .ok_or_else(|| ApiError::bad_request("unknown category"))?;
    let district = hb.district.trim();
    if district.is_empty() || district.len() > 64 || district.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "district must be 1 to 64 bytes of text",
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
