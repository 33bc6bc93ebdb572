//! Private files written atomically: a temporary file (mode 0600) in the same
//! directory, synced, then linked or renamed into place. A crash never leaves a
//! half-written venue file, and [`write_new`] never replaces an existing one.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use rand_core::Rng;

use crate::error::{Result, VenueError};

fn temp_path(path: &Path) -> PathBuf {
    let mut rnd = [0u8; 8];
    crate::system_rng().fill_bytes(&mut rnd);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "venue".into());
    let tmp = format!(".{name}.tmp-{}", data_encoding::HEXLOWER.encode(&rnd));
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
