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
