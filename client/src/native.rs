//! Native conveniences: a data directory holding `quet.db` (and nothing else: the
//! diary key is wrapped inside the database, never in a file beside it), the
//! system RNG, and the migration of a directory written by an older version with a
//! `local.key` file.

use std::fs;
use std::io::Write;
use std::path::Path;

use crate::client::{Client, Rng};
use crate::error::{ClientError, Result};
use crate::legacy::LocalKey;
use crate::sqlite::SqliteStore;

/// File name of the legacy local storage key (schema 1), migrated away.
pub const LEGACY_KEY_FILE: &str = "local.key";
/// File name of the database inside the data directory.
pub const DB_FILE: &str = "quet.db";

/// The operating system's RNG.
pub fn system_rng() -> Rng {
    Box::new(rand_core::UnwrapErr(getrandom::SysRng))
}

fn io(e: std::io::Error) -> ClientError {
    ClientError::Storage(e.to_string())
}

/// Overwrites a file with zeros, syncs it, and removes it.
fn shred(path: &Path) -> Result<()> {
    let len = fs::metadata(path).map_err(io)?.len();
    let mut f = fs::OpenOptions::new().write(true).open(path).map_err(io)?;
    f.write_all(&vec![0u8; usize::try_from(len).unwrap_or(0)])
        .map_err(io)?;
    f.sync_all().map_err(io)?;
    drop(f);
    fs::remove_file(path).map_err(io)
}

impl Client<SqliteStore> {
    /// Opens the client in data directory `dir` (created `0700` if needed) with the
    /// database `quet.db` and the system RNG. A directory still holding the legacy
    /// `local.key` must be migrated first: [`ClientError::MigrationNeeded`], then
    /// [`Client::migrate_dir`].
    pub fn open_dir(dir: &Path) -> Result<Client<SqliteStore>> {
        Self::open_dir_with_rng(dir, system_rng())
    }

    /// As [`Client::open_dir`] with a caller-supplied RNG (deterministic tests).
    pub fn open_dir_with_rng(dir: &Path, rng: Rng) -> Result<Client<SqliteStore>> {
        fs::create_dir_all(dir).map_err(io)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io)?;
        }
        let store = SqliteStore::open(&dir.join(DB_FILE))?;
        let client = Client::new(store, rng);
        let legacy = dir.join(LEGACY_KEY_FILE);
        if legacy.exists() {
            if client.diary_public()?.is_some() {
                // A migration committed but the key file outlived it (a crash in
                // between): finish the job.
                shred(&legacy)?;
            } else {
                return Err(ClientError::MigrationNeeded);
            }
        }
        Ok(client)
    }

    /// Migrates a directory written with a `local.key` file: re-seals the diary and
    /// alerts to a new diary key protected by `passphrase`, then shreds the key
    /// file. Returns the opened (unlocked) client and how many check-ins moved.
    pub fn migrate_dir(dir: &Path, passphrase: &[u8]) -> Result<(Client<SqliteStore>, usize)> {
        let legacy = dir.join(LEGACY_KEY_FILE);
        let bytes = zeroize::Zeroizing::new(fs::read(&legacy).map_err(io)?);
        let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
            ClientError::Storage(format!("{} is not a 32-byte key", legacy.display()))
        })?;
        let key = LocalKey::from_bytes(key);
        let store = SqliteStore::open(&dir.join(DB_FILE))?;
        let mut client = Client::new(store, system_rng());
        let moved = client.migrate_local_key(&key, passphrase)?;
        shred(&legacy)?;
        Ok((client, moved))
    }
}
