//! Server-side console sessions.
//!
//! A session id is 32 random bytes (base64url in the cookie); the database keeps
//! only `SHA-256("quet/v1/console/session" ‖ id)`, so a copy of the database does
//! not let anyone act as staff. A session ends after `session_idle_secs` without a
//! request, `session_absolute_secs` after login, at logout (row deleted: the cookie
//! is then worthless even if kept), and when the account is disabled or its
//! password changes.

use axum::http::{HeaderMap, HeaderValue, header};
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::db::ts;
use crate::rng::random_bytes;

/// Label of the stored session hash.
pub const SESSION_HASH_LABEL: &[u8] = b"quet/v1/console/session";

/// Base name of the session cookie (see [`cookie_name`]).
pub const SESSION_COOKIE: &str = "quet_session";

/// The stored form of a session id.
pub fn id_hash(id: &str) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(SESSION_HASH_LABEL);
    h.update(id.as_bytes());
    h.finalize().to_vec()
}

/// Starts a session for `staff_id`; returns the id for the cookie.
pub fn create(conn: &Connection, staff_id: i64, now: u64) -> rusqlite::Result<Zeroizing<String>> {
    let raw: [u8; 32] = random_bytes();
    let id = Zeroizing::new(data_encoding::BASE64URL_NOPAD.encode(&raw));
    conn.execute(
        "INSERT INTO console_sessions (id_hash, staff_id, created_at, last_seen) VALUES (?1, ?2, ?3, ?3)",
        params![id_hash(&id), staff_id, ts(now)],
    )?;
    Ok(id)
}

/// Looks a session up; if it is live, records the request time and returns the
/// staff id. An expired session is deleted.
pub fn touch(
    conn: &Connection,
    id: &str,
    now: u64,
    idle_secs: u64,
    absolute_secs: u64,
) -> rusqlite::Result<Option<i64>> {
    if id.len() != 43 {
        return Ok(None);
    }
    let h = id_hash(id);
    let row: Option<(i64, i64, i64)> = conn
        .query_row(
            "SELECT staff_id, created_at, last_seen FROM console_sessions WHERE id_hash = ?1",
            [&h],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((staff_id, created, last)) = row else {
        return Ok(None);
    };
    let now_i = ts(now);
    if now_i >= created.saturating_add(ts(absolute_secs)) || now_i >= last.saturating_add(ts(idle_secs))
    {
        conn.execute("DELETE FROM console_sessions WHERE id_hash = ?1", [&h])?;
        return Ok(None);
    }
    conn.execute(
        "UPDATE console_sessions SET last_seen = ?1 WHERE id_hash = ?2",
        params![now_i, h],
    )?;
    Ok(Some(staff_id))
}

/// Ends a session (logout). Returns whether one was found.
pub fn destroy(conn: &Connection, id: &str) -> rusqlite::Result<bool> {
    Ok(conn.execute("DELETE FROM console_sessions WHERE id_hash = ?1", [id_hash(id)])? > 0)
}

/// Deletes every expired session.
pub fn purge(conn: &Connection, now: u64, idle_secs: u64, absolute_secs: u64) -> rusqlite::Result<usize> {
    conn.execute(
        "DELETE FROM console_sessions WHERE last_seen <= ?1 OR created_at <= ?2",
        params![
            ts(now.saturating_sub(idle_secs)),
            ts(now.saturating_sub(absolute_secs))
        ],
    )
}

/// The value of cookie `name` in a request, if present once.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut found = None;
    for v in headers.get_all(header::COOKIE) {
        let Ok(s) = v.to_str() else { continue };
        for kv in s.split(';') {
            if let Some((k, v)) = kv.trim().split_once('=')
                && k == name
            {
                if found.is_some() {
                    // Two cookies of the same name (one planted for another path or
                    // by a sibling origin): trust neither.
                    return None;
                }
                found = Some(v.to_owned());
            }
        }
    }
    found
}

/// A `Set-Cookie` value with the console's attributes: `__Host-` + `Secure` +
/// `Path=/` with TLS, `Path=/console` without; always `HttpOnly; SameSite=Strict`.
pub fn set_cookie(secure: bool, base_name: &str, value: &str, max_age: u64) -> HeaderValue {
    let s = if secure {
        format!("__Host-{base_name}={value}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={max_age}")
    } else {
        format!("{base_name}={value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={max_age}")
    };
    HeaderValue::from_str(&s).unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

/// The cookie name for `base_name` in this mode.
pub fn cookie_name(secure: bool, base_name: &str) -> String {
    if secure {
        format!("__Host-{base_name}")
    } else {
        base_name.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_idle_and_absolute_and_die_at_logout() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::db::open(&dir.path().join("q.db")).unwrap();
        let id = create(&conn, 7, 1000).unwrap();
        assert_eq!(touch(&conn, &id, 1100, 600, 3600).unwrap(), Some(7));
        assert_eq!(touch(&conn, &id, 1650, 600, 3600).unwrap(), Some(7), "idle counts from the last request");
        assert_eq!(touch(&conn, &id, 2300, 600, 3600).unwrap(), None, "idle 650 s > 600 s");
        assert_eq!(touch(&conn, &id, 2301, 600, 3600).unwrap(), None, "and it is gone");
        let id = create(&conn, 7, 10_000).unwrap();
        let mut t = 10_000;
        while t + 500 < 13_600 {
            t += 500;
            assert_eq!(touch(&conn, &id, t, 600, 3600).unwrap(), Some(7));
        }
        assert_eq!(touch(&conn, &id, 13_600, 600, 3600).unwrap(), None, "absolute limit");
        let id = create(&conn, 7, 20_000).unwrap();
        assert!(destroy(&conn, &id).unwrap());
        assert_eq!(touch(&conn, &id, 20_001, 600, 3600).unwrap(), None);
        assert_eq!(touch(&conn, "not a session", 20_001, 600, 3600).unwrap(), None);
    }

    #[test]
    fn the_database_holds_only_a_hash_of_the_id() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::db::open(&dir.path().join("q.db")).unwrap();
        let id = create(&conn, 1, 1).unwrap();
        let stored: Vec<u8> = conn
            .query_row("SELECT id_hash FROM console_sessions", [], |r| r.get(0))
            .unwrap();
        assert_eq!(stored, id_hash(&id));
        assert_ne!(stored, id.as_bytes());
    }

    #[test]
    fn duplicate_cookies_are_not_trusted() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; quet_session=x"));
        assert_eq!(cookie(&h, "quet_session").as_deref(), Some("x"));
        h.append(header::COOKIE, HeaderValue::from_static("quet_session=y"));
        assert_eq!(cookie(&h, "quet_session"), None);
        let c = set_cookie(true, "quet_session", "v", 60);
        assert_eq!(
            c.to_str().unwrap(),
            "__Host-quet_session=v; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=60"
        );
    }
}
