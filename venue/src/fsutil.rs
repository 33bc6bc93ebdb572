//! Private files written atomically: a temporary file (mode 0600) in the same
//! directory, synced, then linked or renamed into place. A crash never leaves a
//! half-written venue file, and [`write_new`] never replaces an existing one.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use rand_core::Rng;

use crate::error::{Result, VenueError};

/// Marks a temporary file name: `.<name>.tmp-<16 hex digits>`.
const TEMP_MARK: &str = ".tmp-";

fn temp_path(path: &Path) -> PathBuf {
    let mut rnd = [0u8; 8];
    crate::system_rng().fill_bytes(&mut rnd);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "venue".into());
    let tmp = format!(".{name}{TEMP_MARK}{}", data_encoding::HEXLOWER.encode(&rnd));
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(tmp),
        _ => PathBuf::from(tmp),
    }
}

fn open_private(path: &Path) -> std::io::Result<File> {
    let mut o = OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)
}

fn write_temp(path: &Path, bytes: &[u8]) -> Result<PathBuf> {
    let tmp = temp_path(path);
    let res = open_private(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    if let Err(e) = res {
        let _ = fs::remove_file(&tmp);
        return Err(VenueError::io(format!("writing {}", tmp.display()), e));
    }
    Ok(tmp)
}

/// Writes `bytes` to a new file at `path` (mode 0600). Fails with
/// [`VenueError::VenueFileExists`] if anything exists there, without touching it.
pub fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    if fs::symlink_metadata(path).is_ok() {
        return Err(VenueError::VenueFileExists(path.to_path_buf()));
    }
    let tmp = write_temp(path, bytes)?;
    // A hard link fails atomically if the target exists: no overwrite race.
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Err(VenueError::VenueFileExists(path.to_path_buf()))
        }
        Err(e) => Err(VenueError::io(format!("creating {}", path.display()), e)),
    }
}

/// Atomically replaces (or creates) the file at `path` with `bytes` (mode 0600).
pub fn replace(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = write_temp(path, bytes)?;
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        VenueError::io(format!("replacing {}", path.display()), e)
    })
}

/// Reads a whole file, with a size limit.
pub fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let meta = fs::metadata(path).map_err(|e| VenueError::io(format!("{}", path.display()), e))?;
    if meta.len() > limit {
        return Err(VenueError::CorruptVenueFile(format!(
            "{} is larger than {limit} bytes",
            path.display()
        )));
    }
    fs::read(path).map_err(|e| VenueError::io(format!("{}", path.display()), e))
}

/// Whether `name` is one of [`write_new`]'s or [`replace`]'s temporary files.
fn is_temp_name(name: &str) -> bool {
    name.starts_with('.')
        && name
            .rsplit_once(TEMP_MARK)
            .is_some_and(|(_, hex)| hex.len() == 16 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Removes the temporary files a killed writer left in `dir` (never anything
/// else). Call it only while holding [`lock_dir`] on the directory's owner, so
/// that no live writer's file is swept.
pub fn remove_stale_temps(dir: &Path) -> Result<usize> {
    let entries = fs::read_dir(dir).map_err(|e| VenueError::io(format!("{}", dir.display()), e))?;
    let mut removed = 0;
    for entry in entries {
        let entry = entry.map_err(|e| VenueError::io(format!("{}", dir.display()), e))?;
        if is_temp_name(&entry.file_name().to_string_lossy()) {
            fs::remove_file(entry.path())
                .map_err(|e| VenueError::io(format!("{}", entry.path().display()), e))?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// An exclusive lock on a directory (on its `.lock` file), held until dropped.
/// Fails at once, with a clear message, if another process holds it.
pub fn lock_dir(dir: &Path) -> Result<File> {
    let path = dir.join(".lock");
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| VenueError::io(format!("{}", path.display()), e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(VenueError::InvalidInput(format!(
            "một lần chạy khác đang dùng {d} / another run is using {d}",
            d = dir.display()
        ))),
        Err(fs::TryLockError::Error(e)) => {
            Err(VenueError::io(format!("locking {}", path.display()), e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_temporary_names_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        let keep = [
            "a.json",
            ".batch-secret",
            ".a.json.tmp-12",
            "x.tmp-0123456789abcdef",
        ];
        for k in keep {
            fs::write(dir.path().join(k), b"keep").unwrap();
        }
        write_new(&dir.path().join("b.json"), b"b").unwrap();
        let stale = temp_path(&dir.path().join("c.json"));
        fs::write(&stale, b"half").unwrap();
        assert_eq!(remove_stale_temps(dir.path()).unwrap(), 1);
        assert!(!stale.exists());
        for k in keep.iter().chain(&["b.json"]) {
            assert!(dir.path().join(k).exists(), "{k}");
        }
    }

    #[test]
    fn a_locked_directory_is_refused_until_released() {
        let dir = tempfile::tempdir().unwrap();
        let held = lock_dir(dir.path()).unwrap();
        assert!(
            matches!(lock_dir(dir.path()), Err(VenueError::InvalidInput(m)) if m.contains("another run"))
        );
        drop(held);
        lock_dir(dir.path()).unwrap();
    }
}
