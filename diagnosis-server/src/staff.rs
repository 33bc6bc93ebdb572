//! Staff accounts (bearer tokens stored as hashes) and the audit log.
//!
//! The audit log records who did what to which object and when. Callers pass only
//! ids (review id, notice nonce, bulletin sequence), never envelope contents,
//! messages or tracing-sheet text.

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;

use crate::codes::{new_staff_token, token_hash};
use crate::db::ts;
use crate::error::ServerError;

/// Creates a staff member and returns their token (shown once, stored hashed).
pub fn add(tx: &Transaction<'_>, name: &str, now: u64) -> Result<String, ServerError> {
    if name.is_empty() || name.len() > 64 || name.chars().any(char::is_control) {
        return Err(ServerError::Other(
            "a staff name is 1 to 64 printable characters".into(),
        ));
    }
    let token = new_staff_token();
    tx.execute(
        "INSERT INTO staff (name, token_hash, created_at) VALUES (?1, ?2, ?3)",
        params![name, token_hash(&token), ts(now)],
    )
    .map_err(|e| match e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            ServerError::Other(format!("staff member {name:?} already exists"))
        }
        e => ServerError::Db(e),
    })?;
    record(tx, now, "cli", "staff.add", Some(name))?;
    Ok(token)
}

/// Disables a staff member's token.
pub fn disable(tx: &Transaction<'_>, name: &str, now: u64) -> Result<(), ServerError> {
    let n = tx.execute("UPDATE staff SET disabled = 1 WHERE name = ?1", [name])?;
    if n == 0 {
        return Err(ServerError::Other(format!("no staff member {name:?}")));
    }
    record(tx, now, "cli", "staff.disable", Some(name))?;
    Ok(())
}

/// The staff name for a token, if it is valid and enabled.
pub fn authenticate(conn: &Connection, token: &str) -> rusqlite::Result<Option<String>> {
    if token.len() > 128 {
        return Ok(None);
    }
    conn.query_row(
        "SELECT name FROM staff WHERE token_hash = ?1 AND disabled = 0",
        [token_hash(token)],
        |r| r.get(0),
    )
    .optional()
}

/// Appends an audit entry (inside the caller's transaction or connection).
pub fn record(
    conn: &Connection,
    now: u64,
    staff: &str,
    action: &str,
    object: Option<&str>,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO audit (at, staff, action, object) VALUES (?1, ?2, ?3, ?4)",
        params![ts(now), staff, action, object],
    )?;
    Ok(())
}

/// One audit entry.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct AuditEntry {
    /// Entry id.
    pub id: i64,
    /// Unix seconds.
    pub at: u64,
    /// Staff name (or `cli`).
    pub staff: String,
    /// Action, e.g. `review.approve`.
    pub action: String,
    /// Object id, if any.
    pub object: Option<String>,
}

/// The latest `limit` audit entries, newest first.
pub fn audit(conn: &Connection, limit: u32) -> rusqlite::Result<Vec<AuditEntry>> {
    let mut st =
        conn.prepare("SELECT id, at, staff, action, object FROM audit ORDER BY id DESC LIMIT ?1")?;
    let rows = st.query_map([limit], |r| {
        Ok(AuditEntry {
            id: r.get(0)?,
            at: r.get::<_, i64>(1)?.max(0) as u64,
            staff: r.get(2)?,
            action: r.get(3)?,
            object: r.get(4)?,
        })
    })?;
    rows.collect()
}
