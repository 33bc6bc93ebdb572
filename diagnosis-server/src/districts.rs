//! The authority's own list of districts (quận/huyện), the only names a venue
//! heartbeat may claim.
//!
//! The list is imported by the authority (`quet-server districts import FILE`) and
//! published at `GET /v1/districts` so venue tools can offer it. A heartbeat's
//! district must equal an entry byte for byte, so look-alikes (a Cyrillic `о` for a
//! Latin `o`, a zero-width joiner, a right-to-left override) are unknown districts.
//! Entries themselves are held to a strict alphabet: Latin letters (Vietnamese
//! letters precomposed, as NFC writes them), digits, single spaces and `-.'()/`;
//! no control, format, bidirectional, zero-width or combining characters.

use rusqlite::{Connection, Transaction, params};

use crate::error::ServerError;

/// Longest district name, bytes.
pub const MAX_DISTRICT_LEN: usize = 64;
/// Most districts in a list (a province has a few dozen).
pub const MAX_DISTRICTS: usize = 1000;

/// Why a district name is not acceptable in the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadDistrict {
    /// Empty after trimming, or over [`MAX_DISTRICT_LEN`] bytes.
    Length,
    /// Leading, trailing or repeated spaces.
    Spacing,
    /// A character outside the allowed alphabet (the character).
    Character(char),
}

impl std::fmt::Display for BadDistrict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BadDistrict::Length => write!(f, "must be 1 to {MAX_DISTRICT_LEN} bytes"),
            BadDistrict::Spacing => f.write_str("no leading, trailing or double spaces"),
            BadDistrict::Character(c) => write!(
                f,
                "character U+{:04X} is not allowed (Latin letters in precomposed form, digits, spaces and -.'()/ only)",
                u32::from(*c)
            ),
        }
    }
}

/// Whether `c` may appear in a district name.
fn allowed(c: char) -> bool {
    matches!(c,
        'a'..='z' | 'A'..='Z' | '0'..='9' | ' ' | '-' | '.' | '\'' | '(' | ')' | '/'
        // Latin-1 letters (not × ÷), Latin Extended-A and -B, Latin Extended Additional
        // (Vietnamese ạ ả ấ ầ … ỹ live there).
        | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{24F}'
        | '\u{1E00}'..='\u{1EFF}')
}

/// Checks one list entry.
pub fn check_name(name: &str) -> Result<(), BadDistrict> {
    if name.is_empty() || name.len() > MAX_DISTRICT_LEN {
        return Err(BadDistrict::Length);
    }
    if name.starts_with(' ') || name.ends_with(' ') || name.contains("  ") {
        return Err(BadDistrict::Spacing);
    }
    match name.chars().find(|&c| !allowed(c)) {
        Some(c) => Err(BadDistrict::Character(c)),
        None => Ok(()),
    }
}

/// Parses a list file: one name per line; blank lines and lines starting with `#`
/// are skipped; surrounding spaces are trimmed. Refuses the whole file on the first
/// bad or duplicate (ignoring case) entry, naming its line.
pub fn parse_list(text: &str) -> Result<Vec<String>, ServerError> {
    let mut out: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, line) in text.lines().enumerate() {
        let name = line.trim_matches(|c: char| c == ' ' || c == '\t' || c == '\r');
        if name.is_empty() || name.starts_with('#') {
            continue;
        }
        check_name(name)
            .map_err(|e| ServerError::Other(format!("line {}: {name:?}: {e}", i + 1)))?;
        if !seen.insert(name.to_lowercase()) {
            return Err(ServerError::Other(format!(
                "line {}: {name:?} is listed twice",
                i + 1
            )));
        }
        out.push(name.to_owned());
    }
    if out.len() > MAX_DISTRICTS {
        return Err(ServerError::Other(format!(
            "{} districts; at most {MAX_DISTRICTS}",
            out.len()
        )));
    }
    Ok(out)
}

/// Replaces the whole list (one transaction, with the caller's audit entry).
pub fn replace_all(tx: &Transaction<'_>, names: &[String]) -> rusqlite::Result<usize> {
    tx.execute("DELETE FROM districts", [])?;
    let mut ins = tx.prepare("INSERT INTO districts (name) VALUES (?1)")?;
    for n in names {
        ins.execute(params![n])?;
    }
    Ok(names.len())
}

/// The list, sorted.
pub fn list(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut st = conn.prepare("SELECT name FROM districts ORDER BY name")?;
    let rows = st.query_map([], |r| r.get::<_, String>(0))?;
    rows.collect()
}

/// Whether `name` is on the list, exactly.
pub fn contains(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS(SELECT 1 FROM districts WHERE name = ?1)",
        [name],
        |r| r.get(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vietnamese_names_pass_and_look_alikes_do_not() {
        for ok in [
            "Hoàn Kiếm",
            "Ba Đình",
            "Quận 1",
            "Thủ Đức",
            "Hạ Long",
            "Mường Tè",
            "Bắc Từ Liêm",
        ] {
            assert_eq!(check_name(ok), Ok(()), "{ok}");
        }
        let bad = [
            ("Hoàn Kiếm\u{202E}", '\u{202E}'), // right-to-left override
            ("Hoàn\u{200B}Kiếm", '\u{200B}'),  // zero-width space
            ("Hoa\u{300}n Kiếm", '\u{300}'),   // decomposed (combining grave)
            ("Hоàn Kiếm", 'о'),                // Cyrillic о
            ("Hoàn\u{A0}Kiếm", '\u{A0}'),      // no-break space
            ("Ho\u{AD}àn", '\u{AD}'),          // soft hyphen
            ("Hoàn\tKiếm", '\t'),
            ("<script>", '<'),
        ];
        for (name, c) in bad {
            assert_eq!(check_name(name), Err(BadDistrict::Character(c)), "{name:?}");
        }
        assert_eq!(check_name(""), Err(BadDistrict::Length));
        assert_eq!(check_name(&"a".repeat(65)), Err(BadDistrict::Length));
        assert_eq!(check_name(" Ba Đình"), Err(BadDistrict::Spacing));
        assert_eq!(check_name("Ba  Đình"), Err(BadDistrict::Spacing));
    }

    #[test]
    fn a_list_file_is_checked_whole() {
        let list = parse_list("# Hà Nội\nHoàn Kiếm\n\n  Ba Đình  \r\n").unwrap();
        assert_eq!(list, ["Hoàn Kiếm", "Ba Đình"]);
        let e = parse_list("Hoàn Kiếm\nhoàn kiếm\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2") && e.contains("twice"), "{e}");
        let e = parse_list("Ba Đình\nHoàn\u{200D}Kiếm\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2") && e.contains("U+200D"), "{e}");
    }
}
