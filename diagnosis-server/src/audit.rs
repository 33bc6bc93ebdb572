//! The audit log: who did what to which object and when, written in the same
//! transaction as the effect. Callers pass only ids and names (review id, notice
//! nonce, bulletin sequence, staff name), never envelope contents, messages,
//! passwords or tracing-sheet text.
//!
//! [`query`] filters by staff, action prefix, time range and object text, newest
//! first, with keyset paging (`before`).

use rusqlite::{Connection, params_from_iter, types::Value};
use serde::{Deserialize, Serialize};

use crate::db::ts;

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
        rusqlite::params![ts(now), staff, action, object],
    )?;
    Ok(())
}

/// One audit entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Entry id.
    pub id: i64,
    /// Unix seconds.
    pub at: u64,
    /// Staff name (or `cli`, `scheduler`).
    pub staff: String,
    /// Action, e.g. `review.approve`.
    pub action: String,
    /// Object id, if any.
    pub object: Option<String>,
}

/// Filters of [`query`]; every field is optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditFilter {
    /// Exact staff name.
    pub staff: Option<String>,
    /// Action or action prefix (`review` matches `review.approve`).
    pub action: Option<String>,
    /// Entries at or after this Unix time.
    pub since: Option<u64>,
    /// Entries before this Unix time.
    pub until: Option<u64>,
    /// Text the object contains.
    pub object: Option<String>,
    /// Entries with an id below this (paging).
    pub before: Option<i64>,
    /// At most this many (default and maximum 1000).
    pub limit: Option<u32>,
}

fn like_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            o.push('\\');
        }
        o.push(c);
    }
    o
}

/// Entries matching `f`, newest first.
pub fn query(conn: &Connection, f: &AuditFilter) -> rusqlite::Result<Vec<AuditEntry>> {
    let mut sql = String::from("SELECT id, at, staff, action, object FROM audit WHERE 1=1");
    let mut args: Vec<Value> = Vec::new();
    if let Some(s) = f.staff.as_deref().filter(|s| !s.is_empty()) {
        sql.push_str(" AND staff = ?");
        args.push(Value::Text(s.to_owned()));
    }
    if let Some(a) = f.action.as_deref().filter(|s| !s.is_empty()) {
        sql.push_str(" AND (action = ? OR action LIKE ? ESCAPE '\\')");
        args.push(Value::Text(a.to_owned()));
        args.push(Value::Text(format!(
            "{}.%",
            like_escape(a.trim_end_matches('.'))
        )));
    }
    if let Some(t) = f.since {
        sql.push_str(" AND at >= ?");
        args.push(Value::Integer(ts(t)));
    }
    if let Some(t) = f.until {
        sql.push_str(" AND at < ?");
        args.push(Value::Integer(ts(t)));
    }
    if let Some(o) = f.object.as_deref().filter(|s| !s.is_empty()) {
        sql.push_str(" AND object LIKE ? ESCAPE '\\'");
        args.push(Value::Text(format!("%{}%", like_escape(o))));
    }
    if let Some(b) = f.before {
        sql.push_str(" AND id < ?");
        args.push(Value::Integer(b));
    }
    sql.push_str(" ORDER BY id DESC LIMIT ?");
    args.push(Value::Integer(i64::from(f.limit.unwrap_or(1000).clamp(1, 1000))));
    let mut st = conn.prepare(&sql)?;
    let rows = st.query_map(params_from_iter(args), |r| {
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

/// The latest `limit` audit entries, newest first.
pub fn audit(conn: &Connection, limit: u32) -> rusqlite::Result<Vec<AuditEntry>> {
    query(
        conn,
        &AuditFilter {
            limit: Some(limit),
            ..AuditFilter::default()
        },
    )
}

/// Distinct staff names and action names that appear in the log (for filter menus).
pub fn facets(conn: &Connection) -> rusqlite::Result<(Vec<String>, Vec<String>)> {
    let col = |sql: &str| -> rusqlite::Result<Vec<String>> {
        let mut st = conn.prepare(sql)?;
        let rows = st.query_map([], |r| r.get::<_, String>(0))?;
        rows.collect()
    };
    Ok((
        col("SELECT DISTINCT staff FROM audit ORDER BY staff LIMIT 500")?,
        col("SELECT DISTINCT action FROM audit ORDER BY action LIMIT 500")?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_combine_and_page() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::db::open(&dir.path().join("q.db")).unwrap();
        record(&conn, 100, "lan", "review.list", None).unwrap();
        record(&conn, 200, "lan", "review.approve", Some("review 3 -> notices ab")).unwrap();
        record(&conn, 300, "minh", "review.reject", Some("review 4")).unwrap();
        record(&conn, 400, "minh", "reviewer.odd", Some("100%_")).unwrap();
        record(&conn, 500, "lan", "bulletin.publish", Some("sequence 1")).unwrap();
        let ids = |f: AuditFilter| -> Vec<i64> {
            query(&conn, &f).unwrap().iter().map(|e| e.id).collect()
        };
        assert_eq!(ids(AuditFilter::default()), vec![5, 4, 3, 2, 1]);
        let by = |s: &str| AuditFilter {
            staff: Some(s.into()),
            ..Default::default()
        };
        assert_eq!(ids(by("lan")), vec![5, 2, 1]);
        let action = AuditFilter {
            action: Some("review".into()),
            ..Default::default()
        };
        assert_eq!(ids(action), vec![3, 2, 1], "prefix is per dotted segment");
        let window = AuditFilter {
            since: Some(200),
            until: Some(400),
            ..Default::default()
        };
        assert_eq!(ids(window), vec![3, 2]);
        let obj = AuditFilter {
            object: Some("%_".into()),
            ..Default::default()
        };
        assert_eq!(ids(obj), vec![4], "LIKE wildcards are literal");
        let page = AuditFilter {
            before: Some(3),
            limit: Some(1),
            ..Default::default()
        };
        assert_eq!(ids(page), vec![2]);
        let (staff, actions) = facets(&conn).unwrap();
        assert_eq!(staff, vec!["lan", "minh"]);
        assert_eq!(actions.len(), 5);
    }
}
