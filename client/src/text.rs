//! User-facing language: every message the client shows exists in Vietnamese and
//! English. [`Lang::Both`] prints Vietnamese with English below (the default when
//! the locale says neither).

use serde::Serialize;

/// The language of user-facing text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Tiếng Việt.
    Vi,
    /// English.
    En,
    /// Vietnamese, then English on the next line.
    Both,
}

impl Lang {
    /// Picks a language from a locale string such as `LANG=en_US.UTF-8`.
    pub fn from_locale(locale: Option<&str>) -> Lang {
        match locale.map(str::to_ascii_lowercase) {
            Some(l) if l.starts_with("en") => Lang::En,
            Some(l) if l.starts_with("vi") => Lang::Vi,
            _ => Lang::Both,
        }
    }

    /// Parses `vi`, `en` or `both`.
    pub fn parse(s: &str) -> Option<Lang> {
        match s.to_ascii_lowercase().as_str() {
            "vi" => Some(Lang::Vi),
            "en" => Some(Lang::En),
            "both" => Some(Lang::Both),
            _ => None,
        }
    }

    /// Chooses between the Vietnamese and English text.
    pub fn pick(self, vi: &str, en: &str) -> String {
        match self {
            Lang::Vi => vi.to_string(),
            Lang::En => en.to_string(),
            Lang::Both => format!("{vi}\n  {en}"),
        }
    }
}

/// Text in both languages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Bilingual {
    /// Vietnamese.
    pub vi: String,
    /// English.
    pub en: String,
}

impl Bilingual {
    /// Builds from the two texts.
    pub fn new(vi: impl Into<String>, en: impl Into<String>) -> Bilingual {
        Bilingual {
            vi: vi.into(),
            en: en.into(),
        }
    }

    /// The text in `lang`.
    pub fn in_lang(&self, lang: Lang) -> String {
        lang.pick(&self.vi, &self.en)
    }
}

/// Formats a Unix time as `YYYY-MM-DD HH:MM UTC` (no time-zone database needed).
pub fn format_time(unix: u64) -> String {
    let days = unix / 86_400;
    let secs = unix % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        secs / 3600,
        (secs % 3600) / 60
    )
}

/// Howard Hinnant's days-to-civil algorithm for non-negative day numbers.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_dates() {
        assert_eq!(format_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(
            format_time(20_717 * 86_400 + 9 * 3600 + 5 * 60),
            "2026-09-21 09:05 UTC"
        );
        assert_eq!(format_time(951_782_400), "2000-02-29 00:00 UTC");
    }

    #[test]
    fn locale_picks_language() {
        assert_eq!(Lang::from_locale(Some("en_US.UTF-8")), Lang::En);
        assert_eq!(Lang::from_locale(Some("vi_VN")), Lang::Vi);
        assert_eq!(Lang::from_locale(None), Lang::Both);
        assert_eq!(Lang::Both.pick("a", "b"), "a\n  b");
    }
}
