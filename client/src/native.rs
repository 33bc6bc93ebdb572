//! Native conveniences: a data directory holding `quet.db` and the local key in a
//! `0600` file, and the system RNG.

use std::fs;
use std::io::Write;
use std::path::Path;

use crate::client::{Client, Rng};
use crate::error::{ClientError, Result};
use crate::local_key::LocalKey;
use crate::sqlite::SqliteStore;

/// File name of the local storage key inside the data directory.
pub const KEY_FILE: &str = "local.key";
/// File name of the database inside the data directory.
pub const DB_FILE: &str = "quet.db";

/// The operating system's RNG.
pub fn system_rng() -> Rng {
    Box::new(rand_core::UnwrapErr(getrandom::SysRng))
}

fn io(e: std::io::Error) -> ClientError {
    ClientError::Storage(e.to_string())
}

/// Reads the local key from `path`, or creates it (mode 0600) if absent.
pub fn load_or_create_key(path: &Path, rng: &mut Rng) -> Result<LocalKey> {
    match fs::read(path) {
        Ok(bytes) => {
            let arr: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
                ClientError::Storage(format!("{} is not a 32-byte key", path.display()))
            })?;
            Ok(LocalKey::from_bytes(arr))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = LocalKey::generate(&mut **rng);
            let mut opts = fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            let mut f = opts.open(path).map_err(io)?;
            f.write_all(key.expose()).map_err(io)?;
            f.sync_all().map_err(io)?;
            Ok(key)
        }
        Err(e) => Err(io(e)),
    }
}

impl Client<SqliteStore> {
    /// Opens the client in data directory `dir` (created `0700` if needed), with
    /// the database `quet.db`, the key file `local.key` (`0600`) and the system RNG.
    pub fn open_dir(dir: &Path) -> Result<Client<SqliteStore>> {
        Self::open_dir_with_rng(dir, system_rng())
    }

    /// As [`Client::open_dir`] with a caller-supplied RNG (deterministic tests).
    pub fn open_dir_with_rng(dir: &Path, mut rng: Rng) -> Result<Client<SqliteStore>> {
        fs::create_dir_all(dir).map_err(io)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io)?;
        }
        let key = load_or_create_key(&dir.join(KEY_FILE), &mut rng)?;
        let store = SqliteStore::open(&dir.join(DB_FILE))?;
        Ok(Client::new(store, key, rng))
    }
}
