//! Staff accounts: a unique name, roles ([`crate::roles`]), an optional district
//! (ward officers), an API bearer token (stored as a hash) for `/admin/v1`, and a
//! console password (Argon2id, [`crate::password`]). Disabling an account or
//! changing its password ends its console sessions.
//!
//! The audit log lives in [`crate::audit`]; [`record`] is re-exported here for the
//! callers that write it.

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::codes::{new_staff_token, token_hash};
use crate::db::ts;
use crate::error::ServerError;
use crate::password;
use crate::roles::{Role, StaffMember};

pub use crate::audit::{AuditEntry, audit, record};

/// What a new account gets.
#[derive(Debug, Clone)]
pub struct NewStaff {
    /// Unique name, 1 to 64 printable characters.
    pub name: String,
    /// At least one role.
    pub roles: Vec<Role>,
    /// A ward officer's district.
    pub district: Option<String>,
    /// The console password; `None` generates one (returned once).
    pub password: Option<Zeroizing<String>>,
}

/// The secrets of a new account, shown once.
#[derive(Debug)]
pub struct Credentials {
    /// The API bearer token (`qst_…`).
    pub token: Zeroizing<String>,
    /// The console password (generated, or the one given).
    pub password: Zeroizing<String>,
}

fn check_name(name: &str) -> Result<(), ServerError> {
    if name.is_empty()
        || name.chars().count() > 64
        || name.chars().any(|c| c.is_control() || is_invisible(c))
        || name.trim() != name
    {
        return Err(ServerError::Other(
            "a staff name is 1 to 64 printable characters, without leading or trailing spaces"
                .into(),
        ));
    }
    Ok(())
}

/// Format and zero-width characters that would let two names look alike.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}')
}

fn check_district(roles: &[Role], district: &Option<String>) -> Result<(), ServerError> {
    if let Some(d) = district
        && (d.trim().is_empty()
            || d.chars().count() > 64
            || d.chars().any(|c| c.is_control() || is_invisible(c)))
    {
        return Err(ServerError::Other(
            "a district is 1 to 64 printable characters".into(),
        ));
    }
    if roles.contains(&Role::WardOfficer) && district.is_none() {
        return Err(ServerError::Other(
            "a ward officer needs --district (the district whose venues they register)".into(),
        ));
    }
    Ok(())
}

fn set_roles_rows(tx: &Transaction<'_>, id: i64, roles: &[Role]) -> rusqlite::Result<()> {
    tx.execute("DELETE FROM staff_roles WHERE staff_id = ?1", [id])?;
    for r in roles {
        tx.execute(
            "INSERT INTO staff_roles (staff_id, role) VALUES (?1, ?2)",
            params![id, r.slug()],
        )?;
    }
    Ok(())
}

/// Creates a staff member; returns their token and console password (shown once,
/// stored hashed). `by` is who did it (`cli` or an administrator's name).
pub fn add(
    tx: &Transaction<'_>,
    new: &NewStaff,
    by: &str,
    now: u64,
) -> Result<Credentials, ServerError> {
    check_name(&new.name)?;
    if new.roles.is_empty() {
        return Err(ServerError::Other(
            "at least one role is needed: tracer, publisher, administrator, ward-officer".into(),
        ));
    }
    check_district(&new.roles, &new.district)?;
    let pw = match &new.password {
        Some(p) => {
            password::check_policy(p).map_err(ServerError::Other)?;
            p.clone()
        }
        None => password::generate(),
    };
    let pw_hash = password::hash(&pw).map_err(ServerError::Other)?;
    let token = Zeroizing::new(new_staff_token());
    tx.execute(
        "INSERT INTO staff (name, token_hash, created_at) VALUES (?1, ?2, ?3)",
        params![new.name, token_hash(&token), ts(now)],
    )
    .map_err(|e| match e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            ServerError::Other(format!("staff member {:?} already exists", new.name))
        }
        e => ServerError::Db(e),
    })?;
    let id = tx.last_insert_rowid();
    set_roles_rows(tx, id, &new.roles)?;
    tx.execute(
        "INSERT INTO staff_console (staff_id, password_hash, district) VALUES (?1, ?2, ?3)",
        params![id, pw_hash, new.district.as_deref().map(str::trim)],
    )?;
    let roles: Vec<&str> = new.roles.iter().map(|r| r.slug()).collect();
    record(
        tx,
        now,
        by,
        "staff.add",
        Some(&format!("{} ({})", new.name, roles.join(","))),
    )?;
    Ok(Credentials {
        token,
        password: pw,
    })
}

fn id_of(conn: &Connection, name: &str) -> Result<i64, ServerError> {
    conn.query_row("SELECT id FROM staff WHERE name = ?1", [name], |r| r.get(0))
        .optional()?
        .ok_or_else(|| ServerError::Other(format!("no staff member {name:?}")))
}

/// Disables a staff member (token and password stop working) and ends their
/// console sessions.
pub fn disable(tx: &Transaction<'_>, name: &str, by: &str, now: u64) -> Result<(), ServerError> {
    let id = id_of(tx, name)?;
    tx.execute("UPDATE staff SET disabled = 1 WHERE id = ?1", [id])?;
    tx.execute("DELETE FROM console_sessions WHERE staff_id = ?1", [id])?;
    record(tx, now, by, "staff.disable", Some(name))?;
    Ok(())
}

/// Re-enables a disabled staff member.
pub fn enable(tx: &Transaction<'_>, name: &str, by: &str, now: u64) -> Result<(), ServerError> {
    let id = id_of(tx, name)?;
    tx.execute("UPDATE staff SET disabled = 0 WHERE id = ?1", [id])?;
    record(tx, now, by, "staff.enable", Some(name))?;
    Ok(())
}

/// Replaces a staff member's roles (and district).
pub fn set_roles(
    tx: &Transaction<'_>,
    name: &str,
    roles: &[Role],
    district: Option<String>,
    by: &str,
    now: u64,
) -> Result<(), ServerError> {
    if roles.is_empty() {
        return Err(ServerError::Other("at least one role is needed".into()));
    }
    check_district(roles, &district)?;
    let id = id_of(tx, name)?;
    set_roles_rows(tx, id, roles)?;
    tx.execute(
        "INSERT INTO staff_console (staff_id, district) VALUES (?1, ?2)
         ON CONFLICT (staff_id) DO UPDATE SET district = excluded.district",
        params![id, district.as_deref().map(str::trim)],
    )?;
    let slugs: Vec<&str> = roles.iter().map(|r| r.slug()).collect();
    record(
        tx,
        now,
        by,
        "staff.roles",
        Some(&format!("{name} ({})", slugs.join(","))),
    )?;
    Ok(())
}

/// Sets a console password (`None` generates one, returned) and ends every
/// console session of that person.
pub fn set_password(
    tx: &Transaction<'_>,
    name: &str,
    new_password: Option<Zeroizing<String>>,
    by: &str,
    now: u64,
) -> Result<Zeroizing<String>, ServerError> {
    let id = id_of(tx, name)?;
    let pw = match new_password {
        Some(p) => {
            password::check_policy(&p).map_err(ServerError::Other)?;
            p
        }
        None => password::generate(),
    };
    let h = password::hash(&pw).map_err(ServerError::Other)?;
    tx.execute(
        "INSERT INTO staff_console (staff_id, password_hash) VALUES (?1, ?2)
         ON CONFLICT (staff_id) DO UPDATE SET password_hash = excluded.password_hash",
        params![id, h],
    )?;
    tx.execute("DELETE FROM console_sessions WHERE staff_id = ?1", [id])?;
    record(tx, now, by, "staff.password", Some(name))?;
    Ok(pw)
}

/// Issues a new API token for a staff member (the old one stops working).
pub fn new_token(
    tx: &Transaction<'_>,
    name: &str,
    by: &str,
    now: u64,
) -> Result<Zeroizing<String>, ServerError> {
    let id = id_of(tx, name)?;
    let token = Zeroizing::new(new_staff_token());
    tx.execute(
        "UPDATE staff SET token_hash = ?1 WHERE id = ?2",
        params![token_hash(&token), id],
    )?;
    record(tx, now, by, "staff.token", Some(name))?;
    Ok(token)
}

fn roles_of(conn: &Connection, id: i64) -> rusqlite::Result<Vec<Role>> {
    let mut st = conn.prepare("SELECT role FROM staff_roles WHERE staff_id = ?1")?;
    let rows = st.query_map([id], |r| r.get::<_, String>(0))?;
    let mut roles = Vec::new();
    for r in rows {
        if let Some(role) = Role::from_slug(&r?) {
            roles.push(role);
        }
    }
    roles.sort();
    Ok(roles)
}

/// The enabled staff member with this row id.
pub fn member(conn: &Connection, id: i64) -> rusqlite::Result<Option<StaffMember>> {
    let row: Option<(String, Option<String>)> = conn
        .query_row(
            "SELECT s.name, c.district FROM staff s LEFT JOIN staff_console c ON c.staff_id = s.id
             WHERE s.id = ?1 AND s.disabled = 0",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((name, district)) = row else {
        return Ok(None);
    };
    Ok(Some(StaffMember {
        id,
        name,
        roles: roles_of(conn, id)?,
        district,
    }))
}

/// The enabled staff member holding this API token.
pub fn authenticate(conn: &Connection, token: &str) -> rusqlite::Result<Option<StaffMember>> {
    if token.len() > 128 {
        return Ok(None);
    }
    let id: Option<i64> = conn
        .query_row(
            "SELECT id FROM staff WHERE token_hash = ?1 AND disabled = 0",
            [token_hash(token)],
            |r| r.get(0),
        )
        .optional()?;
    match id {
        Some(id) => member(conn, id),
        None => Ok(None),
    }
}

/// The stored password hash and id of an enabled account, for a login check.
pub fn login_record(conn: &Connection, name: &str) -> rusqlite::Result<Option<(i64, String)>> {
    if name.len() > 256 {
        return Ok(None);
    }
    conn.query_row(
        "SELECT s.id, c.password_hash FROM staff s JOIN staff_console c ON c.staff_id = s.id
         WHERE s.name = ?1 AND s.disabled = 0 AND c.password_hash IS NOT NULL",
        [name],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
}

/// One account as the staff page lists it.
#[derive(Debug, Clone, Serialize)]
pub struct StaffRow {
    /// Name.
    pub name: String,
    /// Roles.
    pub roles: Vec<Role>,
    /// District (ward officers).
    pub district: Option<String>,
    /// Disabled accounts cannot log in or use their token.
    pub disabled: bool,
    /// Created, Unix seconds.
    pub created_at: u64,
    /// Open console sessions.
    pub sessions: u64,
}

/// Every account, by name.
pub fn list(conn: &Connection) -> rusqlite::Result<Vec<StaffRow>> {
    let mut st = conn.prepare(
        "SELECT s.id, s.name, c.district, s.disabled, s.created_at,
                (SELECT COUNT(*) FROM console_sessions x WHERE x.staff_id = s.id)
         FROM staff s LEFT JOIN staff_console c ON c.staff_id = s.id ORDER BY s.name LIMIT 1000",
    )?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            StaffRow {
                name: r.get(1)?,
                roles: Vec::new(),
                district: r.get(2)?,
                disabled: r.get(3)?,
                created_at: r.get::<_, i64>(4)?.max(0) as u64,
                sessions: r.get::<_, i64>(5)?.max(0) as u64,
            },
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, mut s) = row?;
        s.roles = roles_of(conn, id)?;
        out.push(s);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::db::open(&dir.path().join("q.db")).unwrap();
        (dir, conn)
    }

    fn new(name: &str, roles: &[Role]) -> NewStaff {
        NewStaff {
            name: name.into(),
            roles: roles.to_vec(),
            district: None,
            password: None,
        }
    }

    #[test]
    fn accounts_authenticate_by_token_and_password_until_disabled() {
        let (_d, mut conn) = db();
        let tx = conn.transaction().unwrap();
        let c = add(&tx, &new("lan", &[Role::Tracer, Role::Publisher]), "cli", 100).unwrap();
        tx.commit().unwrap();
        let m = authenticate(&conn, &c.token).unwrap().unwrap();
        assert_eq!(m.name, "lan");
        assert_eq!(m.roles, vec![Role::Tracer, Role::Publisher]);
        let (id, phc) = login_record(&conn, "lan").unwrap().unwrap();
        assert_eq!(id, m.id);
        assert!(password::verify(&c.password, Some(&phc)));
        let tx = conn.transaction().unwrap();
        disable(&tx, "lan", "cli", 200).unwrap();
        tx.commit().unwrap();
        assert!(authenticate(&conn, &c.token).unwrap().is_none());
        assert!(login_record(&conn, "lan").unwrap().is_none());
    }

    #[test]
    fn refuses_bad_names_duplicates_and_ward_officers_without_district() {
        let (_d, mut conn) = db();
        let tx = conn.transaction().unwrap();
        add(&tx, &new("lan", &[Role::Tracer]), "cli", 1).unwrap();
        assert!(add(&tx, &new("lan", &[Role::Tracer]), "cli", 1).is_err());
        assert!(add(&tx, &new("la\u{200B}n", &[Role::Tracer]), "cli", 1).is_err());
        assert!(add(&tx, &new(" lan", &[Role::Tracer]), "cli", 1).is_err());
        assert!(add(&tx, &new("minh", &[]), "cli", 1).is_err());
        assert!(add(&tx, &new("minh", &[Role::WardOfficer]), "cli", 1).is_err());
        let mut w = new("minh", &[Role::WardOfficer]);
        w.district = Some("Hoàn Kiếm".into());
        add(&tx, &w, "cli", 1).unwrap();
        let mut weak = new("hoa", &[Role::Tracer]);
        weak.password = Some(Zeroizing::new("short".into()));
        assert!(add(&tx, &weak, "cli", 1).is_err());
    }

    #[test]
    fn secrets_are_stored_only_hashed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.db");
        let mut conn = crate::db::open(&path).unwrap();
        let tx = conn.transaction().unwrap();
        let c = add(&tx, &new("lan", &[Role::Tracer]), "cli", 1).unwrap();
        tx.commit().unwrap();
        drop(conn);
        let bytes = std::fs::read(&path).unwrap();
        for secret in [c.token.as_bytes(), c.password.as_bytes()] {
            assert!(!bytes.windows(secret.len()).any(|w| w == secret));
        }
    }
}
