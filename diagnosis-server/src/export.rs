//! `quet-server export`: the descriptor and every live bulletin as static files with
//! the API's URL layout, for any web server or CDN:
//!
//! ```text
//! OUT/v1/descriptor
//! OUT/v1/bulletins/head          a freshly signed head (re-export at least hourly)
//! OUT/v1/bulletins/index.json
//! OUT/v1/bulletins/<sequence>
//! ```
//!
//! Bulletin files are written first (each atomically), then the head and the index;
//! files of bulletins no longer listed are deleted only after the new head is in
//! place, so the head never names a missing file. The head expires
//! ([`quet_protocol::head::DEFAULT_HEAD_LIFETIME_SECS`]): a mirror that is not
//! re-exported shows as "alerts may be out of date" on phones, never as a silent
//! freeze. README.md gives the nginx headers.
//!
//! With `--app DIR`, [`export_app`] also writes the phone web app (the same files
//! `quet-server run --app DIR` serves); `web/deploy/nginx.conf` serves both.

use std::fs;
use std::path::Path;

use crate::error::ServerError;
use crate::keystore::{Authority, replace_file};
use crate::publish::{index_json, live};

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportReport {
    /// Sequences written.
    pub bulletins: Vec<u64>,
    /// Stale bulletin files removed.
    pub removed: usize,
}

/// Exports `data`'s authority into `out`.
pub fn export(data: &Path, out: &Path, now: u64) -> Result<ExportReport, ServerError> {
    let authority: Authority = crate::keystore::load(data)?;
    let conn = crate::db::open(&crate::keystore::db_path(data))?;
    let live = live(&conn, now)?;
    let dir = out.join("v1").join("bulletins");
    fs::create_dir_all(&dir).map_err(|e| ServerError::Io(dir.display().to_string(), e))?;
    replace_file(
        &out.join("v1").join("descriptor"),
        &authority.descriptor_bytes,
    )?;
    for b in &live {
        let path = dir.join(b.sequence.to_string());
        // Bulletins are immutable: an existing file with the right size is kept.
        let same = fs::read(&path).map(|old| old == b.bytes).unwrap_or(false);
        if !same {
            replace_file(&path, &b.bytes)?;
        }
    }
    let head = crate::head::sign(
        &conn,
        &authority,
        now,
        quet_protocol::head::DEFAULT_HEAD_LIFETIME_SECS,
    )?;
    replace_file(&dir.join("head"), head.as_bytes())?;
    replace_file(
        &dir.join("index.json"),
        &index_json(authority.descriptor.id.0, &live),
    )?;
    let mut removed = 0;
    for entry in fs::read_dir(&dir).map_err(|e| ServerError::Io(dir.display().to_string(), e))? {
        let entry = entry.map_err(|e| ServerError::Io(dir.display().to_string(), e))?;
        let name = entry.file_name();
        if let Ok(seq) = name.to_string_lossy().parse::<u64>()
            && !live.iter().any(|b| b.sequence == seq)
        {
            fs::remove_file(entry.path())
                .map_err(|e| ServerError::Io(entry.path().display().to_string(), e))?;
            removed += 1;
        }
    }
    Ok(ExportReport {
        bulletins: live.iter().map(|b| b.sequence).collect(),
        removed,
    })
}

/// Copies the phone web app built by `web/build.sh` into `out` with the paths the
/// server uses (`index.html`, `sw.js`, `manifest.webmanifest`, `a/<version>/…`),
/// each compressible file with a `.gz` sibling for `gzip_static`, and removes
/// versioned asset directories of earlier builds. Files are written atomically,
/// assets before the shell that names them. README.md gives the web server rules
/// (`/C`, `/c` → `index.html`, MIME types, caching). Returns the files written.
pub fn export_app(app_dir: &Path, out: &Path) -> Result<usize, ServerError> {
    let files = crate::api::app::list(app_dir)?;
    // Versioned assets first, then the shell and service worker that refer to them.
    let (assets, shell): (Vec<_>, Vec<_>) = files.iter().partition(|(u, _)| u.starts_with("/a/"));
    for (url, path) in assets.iter().chain(shell.iter()) {
        let bytes = fs::read(path).map_err(|e| ServerError::Io(path.display().to_string(), e))?;
        let dest = out.join(url.trim_start_matches('/'));
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent)
                .map_err(|e| ServerError::Io(parent.display().to_string(), e))?;
        }
        replace_file(&dest, &bytes)?;
        let gz = dest.with_file_name(format!(
            "{}.gz",
            dest.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        ));
        match crate::api::app::gzip(&bytes) {
            Some(z) if !url.ends_with(".png") => replace_file(&gz, &z)?,
            _ => {
                let _ = fs::remove_file(&gz);
            }
        }
    }
    let current: Vec<&str> = assets
        .iter()
        .filter_map(|(u, _)| u.strip_prefix("/a/")?.split('/').next())
        .collect();
    let versions = out.join("a");
    if let Ok(entries) = fs::read_dir(&versions) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !current.contains(&name.as_str()) {
                fs::remove_dir_all(entry.path())
                    .map_err(|e| ServerError::Io(entry.path().display().to_string(), e))?;
            }
        }
    }
    Ok(files.len())
}
