//! The SQLite database: opening it (WAL, full sync, busy timeout) and its schema.
//!
//! Every write the server makes is one transaction; nothing is acknowledged before
//! its transaction commits. Stored times that say when something happened are
//! coarsened to the hour (`*_hour` columns hold `floor(unix / 3600) * 3600`).

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

use crate::error::ServerError;

// 2: protocol 1.1 (heads, notice shapes, revocations, review flags).
const SCHEMA_VERSION: i64 = 2;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS auth_codes (
    hash        BLOB PRIMARY KEY,           -- HMAC-SHA256(code key, normalized code)
    issued_hour INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    report_since INTEGER NOT NULL,
    used        INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS reports (
    receipt       TEXT PRIMARY KEY,
    received_hour INTEGER NOT NULL,
    checkins      INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS reviews (
    id            INTEGER PRIMARY KEY,
    receipt       TEXT NOT NULL,
    envelope      BLOB,                     -- sealed, deleted once processed
    venue_name    TEXT NOT NULL,
    venue_address TEXT NOT NULL,
    category      TEXT NOT NULL,
    arrival       INTEGER NOT NULL,
    departure     INTEGER NOT NULL,
    epoch_kind    TEXT NOT NULL,
    verified      INTEGER NOT NULL,
    problem       TEXT,
    received_hour INTEGER NOT NULL,
    delete_after  INTEGER NOT NULL,
    registration  TEXT NOT NULL DEFAULT 'unregistered: no certificate',
    arrival_offset INTEGER NOT NULL DEFAULT 0,  -- |arrival - code time|, seconds
    code_version  INTEGER NOT NULL DEFAULT 2
);
CREATE TABLE IF NOT EXISTS notices (
    nonce        BLOB PRIMARY KEY,
    bytes        BLOB NOT NULL,
    source       TEXT NOT NULL,             -- 'review' or 'trace'
    status       TEXT NOT NULL,             -- queued, published, withdraw_queued, withdrawn, cancelled
    created_hour INTEGER NOT NULL,
    published_in INTEGER,
    withdrawn_in INTEGER
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS notices_status ON notices(status);
CREATE TABLE IF NOT EXISTS bulletins (
    sequence   INTEGER PRIMARY KEY,
    bytes      BLOB NOT NULL,
    sha256     TEXT NOT NULL,               -- hex SHA-256 of bytes (ETag, index)
    chain_hash BLOB NOT NULL,               -- Bulletin::hash
    issued_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS staff (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    token_hash BLOB NOT NULL UNIQUE,        -- SHA-256 of the token
    created_at INTEGER NOT NULL,
    disabled   INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS audit (
    id     INTEGER PRIMARY KEY,
    at     INTEGER NOT NULL,
    staff  TEXT NOT NULL,
    action TEXT NOT NULL,
    object TEXT
);
CREATE TABLE IF NOT EXISTS heartbeat_seen (
    day       INTEGER NOT NULL,
    category  TEXT NOT NULL,
    district  TEXT NOT NULL,
    pseudonym BLOB NOT NULL,
    PRIMARY KEY (day, category, district, pseudonym)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS heartbeat_seen_pseudonym ON heartbeat_seen(day, pseudonym);
CREATE TABLE IF NOT EXISTS districts (
    name TEXT PRIMARY KEY                   -- the authority's own list (districts.rs)
) WITHOUT ROWID;
-- Protocol 1.1: the signed head, the shapes of recent real notices (models for
-- decoys; no venue, no time of day), and revoked venue keys repeated in bulletins.
CREATE TABLE IF NOT EXISTS heads (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    bytes      BLOB NOT NULL,
    issued_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS notice_shapes (
    id           INTEGER PRIMARY KEY,
    published_at INTEGER NOT NULL,
    shape        TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS revoked_venue_keys (
    venue_key  BLOB PRIMARY KEY,
    until_day  INTEGER NOT NULL,
    revoked_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS venue_counts (
    day      INTEGER NOT NULL,
    category TEXT NOT NULL,
    district TEXT NOT NULL,
    active   INTEGER NOT NULL,
    PRIMARY KEY (day, category, district)
) WITHOUT ROWID;
"#;

// ---- Console block (staff roles and passwords, sessions, four-eyes proposals,
// notice labels). Owned by the console; kept apart to ease merges. Everything here
// is `IF NOT EXISTS`, so it also upgrades a database made before it existed.
const CONSOLE_SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS staff_roles (
    staff_id INTEGER NOT NULL,
    role     TEXT NOT NULL,                 -- tracer, publisher, administrator, ward-officer
    PRIMARY KEY (staff_id, role)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS staff_console (
    staff_id      INTEGER PRIMARY KEY,
    password_hash TEXT,                     -- Argon2id PHC string; NULL = no console login
    district      TEXT                      -- a ward officer's district
);
CREATE TABLE IF NOT EXISTS console_sessions (
    id_hash    BLOB PRIMARY KEY,            -- SHA-256 of the session id (the cookie holds the id)
    staff_id   INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS console_sessions_staff ON console_sessions(staff_id);
CREATE TABLE IF NOT EXISTS console_secrets (
    name   TEXT PRIMARY KEY,                -- e.g. 'device-cookie'
    secret BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS proposals (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,              -- 'review' or 'trace'
    review_id   INTEGER,                    -- kind 'review': the review to approve on confirmation
    params      TEXT,                       -- kind 'review': the notice parameters (JSON)
    label       TEXT NOT NULL,              -- what staff see: venue and window
    proposed_by TEXT NOT NULL,
    proposed_at INTEGER NOT NULL,
    state       TEXT NOT NULL,              -- pending, confirmed, declined
    decided_by  TEXT,
    decided_at  INTEGER
);
CREATE TABLE IF NOT EXISTS proposal_notices (
    proposal_id INTEGER NOT NULL,
    nonce       BLOB NOT NULL,              -- notices held in status 'proposed'
    PRIMARY KEY (proposal_id, nonce)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS notice_labels (
    nonce      BLOB PRIMARY KEY,            -- notices.nonce
    label      TEXT NOT NULL,               -- venue and window, for staff; no case identifier
    created_by TEXT NOT NULL
) WITHOUT ROWID;
"#;

/// The venue registry's tables (`registry.rs`): registrations with their
/// certificates and the venue keys of reported
/// codes (revoked keys are `revoked_venue_keys`, shared with publishing).
const REGISTRY_SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS venue_registrations (
    id               INTEGER PRIMARY KEY,
    venue_key        BLOB NOT NULL UNIQUE,      -- Ed25519 public key (32 bytes)
    name             TEXT NOT NULL,
    name_norm        TEXT NOT NULL,             -- trimmed, case-folded (impostor checks)
    address          TEXT NOT NULL,
    category         TEXT NOT NULL,
    district         TEXT NOT NULL,
    max_stay_minutes INTEGER NOT NULL,
    event_start      INTEGER,
    event_end        INTEGER,
    status           TEXT NOT NULL,             -- pending, approved, rejected, revoked
    submitted_by     TEXT NOT NULL,             -- 'venue', 'ward:<name>' or a staff name
    idempotency_key  TEXT,                      -- a batch submitter's key for the row
    submitted_hour   INTEGER NOT NULL,
    decided_by       TEXT,
    decided_at       INTEGER,
    serial           INTEGER UNIQUE,            -- certificate serial
    valid_from       INTEGER,
    valid_until      INTEGER,
    certificate      BLOB,                      -- the signed certificate, once issued
    revoked_at       INTEGER,
    revoke_reason    TEXT,
    duplicate_of     INTEGER,                   -- a live registration with the same details
    UNIQUE (submitted_by, idempotency_key)
);
CREATE INDEX IF NOT EXISTS venue_registrations_district ON venue_registrations(district, category, status);
CREATE INDEX IF NOT EXISTS venue_registrations_name ON venue_registrations(name_norm);
CREATE TABLE IF NOT EXISTS review_venues (   -- the venue key of a reported code, deleted with its review
    review_id INTEGER PRIMARY KEY REFERENCES reviews(id) ON DELETE CASCADE,
    venue_key BLOB NOT NULL,
    code_time INTEGER NOT NULL
);
"#;

/// Opens (creating if needed) the database with the server's settings. The file
/// (and SQLite's `-wal`/`-shm` files beside it) is made 0600 and its directory 0700
/// before anything is written.
pub fn open(path: &Path) -> Result<Connection, ServerError> {
    make_private(path)?;
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(ServerError::Other(format!(
            "database schema {version} is newer than this server ({SCHEMA_VERSION})"
        )));
    }
    if version != 0 && version < SCHEMA_VERSION {
        return Err(ServerError::Other(format!(
            "database schema {version} is from protocol 1.0, whose bulletins 1.1 phones cannot read; initialise a new authority (quet-server init)"
        )));
    }
    conn.execute_batch(&format!(
        "BEGIN IMMEDIATE; {SCHEMA} {CONSOLE_SCHEMA} {REGISTRY_SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
    ))?;
    Ok(conn)
}

/// Makes the database's directory 0700 and the database file (created empty if
/// missing) and any `-wal`/`-shm`/`-journal` files 0600. SQLite creates its side
/// files with the database file's mode, so they stay private too.
pub fn make_private(path: &Path) -> Result<(), ServerError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let io = |p: &Path| {
        let p = p.display().to_string();
        move |e| ServerError::Io(p, e)
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io(dir))?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(io(path))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let p = path.with_file_name(format!("{name}{suffix}"));
        if p.exists() {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).map_err(io(&p))?;
        }
    }
    Ok(())
}

/// Floors a Unix time to the hour (what gets stored for "when").
pub fn hour(t: u64) -> i64 {
    i64::try_from(t - t % 3600).unwrap_or(i64::MAX)
}

/// Converts a Unix time to SQLite's integer.
pub fn ts(t: u64) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

/// The current Unix time in seconds.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
