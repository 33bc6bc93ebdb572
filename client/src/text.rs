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

/// The time zone times are shown in. Vietnam's (Asia/Ho_Chi_Minh, UTC+7 all
/// year since 1975) by default; natively from `TZ` (an IANA name such as
/// `Europe/Paris`, read from the system's time-zone database, or a POSIX rule);
/// in a browser a fixed offset from the device.
#[derive(Clone, Debug)]
pub struct LocalZone {
    kind: ZoneKind,
}

#[derive(Clone, Debug)]
enum ZoneKind {
    Fixed(i32),
    #[cfg(feature = "native")]
    Tz(Box<jiff::tz::TimeZone>),
}

/// Vietnam's offset from UTC, in seconds.
pub const VIETNAM_OFFSET_SECS: i32 = 7 * 3600;

impl Default for LocalZone {
    fn default() -> Self {
        LocalZone::vietnam()
    }
}

impl LocalZone {
    /// Asia/Ho_Chi_Minh (UTC+7, no daylight saving).
    pub fn vietnam() -> LocalZone {
        LocalZone::fixed(VIETNAM_OFFSET_SECS)
    }

    /// A fixed offset east of UTC, in seconds (clamped to ±18 h).
    pub fn fixed(offset_secs: i32) -> LocalZone {
        LocalZone {
            kind: ZoneKind::Fixed(offset_secs.clamp(-18 * 3600, 18 * 3600)),
        }
    }

    /// The zone named by a `TZ` value: `None`/empty gives Vietnam's; otherwise an
    /// IANA name or a POSIX rule, or an error naming the value.
    #[cfg(feature = "native")]
    pub fn from_tz(tz: Option<&str>) -> core::result::Result<LocalZone, String> {
        let Some(name) = tz
            .map(|t| t.trim_start_matches(':'))
            .filter(|t| !t.is_empty())
        else {
            return Ok(LocalZone::vietnam());
        };
        jiff::tz::TimeZone::get(name)
            .or_else(|_| jiff::tz::TimeZone::posix(name))
            .map(|tz| LocalZone {
                kind: ZoneKind::Tz(Box::new(tz)),
            })
            .map_err(|e| format!("TZ={name}: {e}"))
    }

    /// The zone of this process's `TZ`, or Vietnam's (with the reason) when `TZ`
    /// names no zone this system knows.
    #[cfg(feature = "native")]
    pub fn from_env() -> (LocalZone, Option<String>) {
        match LocalZone::from_tz(std::env::var("TZ").ok().as_deref()) {
            Ok(z) => (z, None),
            Err(e) => (LocalZone::vietnam(), Some(e)),
        }
    }

    /// The offset from UTC at `unix`, in seconds.
    pub fn offset_at(&self, unix: u64) -> i32 {
        match &self.kind {
            ZoneKind::Fixed(o) => {
                let _ = unix;
                *o
            }
            #[cfg(feature = "native")]
            ZoneKind::Tz(tz) => i64::try_from(unix)
                .ok()
                .and_then(|s| jiff::Timestamp::from_second(s).ok())
                .map_or(0, |ts| tz.to_offset(ts).seconds()),
        }
    }

    /// Formats a Unix time as `YYYY-MM-DD HH:MM ±HH:MM` in this zone.
    pub fn format(&self, unix: u64) -> String {
        let offset = self.offset_at(unix);
        let local = if offset >= 0 {
            unix.saturating_add(u64::from(offset.unsigned_abs()))
        } else {
            unix.saturating_sub(u64::from(offset.unsigned_abs()))
        };
        let days = local / 86_400;
        let secs = local % 86_400;
        let (y, m, d) = civil_from_days(days);
        let sign = if offset < 0 { '-' } else { '+' };
        let abs = offset.unsigned_abs();
        format!(
            "{y:04}-{m:02}-{d:02} {:02}:{:02} {sign}{:02}:{:02}",
            secs / 3600,
            (secs % 3600) / 60,
            abs / 3600,
            (abs % 3600) / 60
        )
    }

    /// The start of the local day containing `unix`, as a Unix time.
    pub fn day_start(&self, unix: u64) -> u64 {
        let offset = i64::from(self.offset_at(unix));
        let local = i64::try_from(unix)
            .unwrap_or(i64::MAX)
            .saturating_add(offset);
        let start = local - local.rem_euclid(86_400) - offset;
        u64::try_from(start).unwrap_or(0)
    }
}

/// Formats a Unix time in Vietnam's time zone (the default); UIs with another
/// zone use [`LocalZone::format`].
pub fn format_time(unix: u64) -> String {
    LocalZone::vietnam().format(unix)
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
    fn formats_known_dates_in_vietnam_time_by_default() {
        assert_eq!(format_time(0), "1970-01-01 07:00 +07:00");
        assert_eq!(
            format_time(20_717 * 86_400 + 9 * 3600 + 5 * 60),
            "2026-09-21 16:05 +07:00"
        );
        // 17:00 UTC on 28 Feb 2000 is already the leap day in Hà Nội.
        assert_eq!(
            format_time(951_782_400 - 7 * 3600),
            "2000-02-29 00:00 +07:00"
        );
        let utc = LocalZone::fixed(0);
        assert_eq!(utc.format(951_782_400), "2000-02-29 00:00 +00:00");
        assert_eq!(
            LocalZone::fixed(-5 * 3600).format(2 * 86_400),
            "1970-01-02 19:00 -05:00"
        );
    }

    #[test]
    fn local_day_starts_at_local_midnight() {
        let t = 20_717 * 86_400 + 20 * 3600; // 20:00 UTC = 03:00 the next day in Hà Nội
        assert_eq!(
            LocalZone::vietnam().day_start(t),
            20_718 * 86_400 - 7 * 3600
        );
        assert_eq!(LocalZone::fixed(0).day_start(t), 20_717 * 86_400);
    }

    #[cfg(feature = "native")]
    #[test]
    fn tz_names_and_rules_are_followed() {
        assert_eq!(
            LocalZone::from_tz(None).unwrap().format(0),
            "1970-01-01 07:00 +07:00"
        );
        let hcm = LocalZone::from_tz(Some("Asia/Ho_Chi_Minh")).unwrap();
        assert_eq!(hcm.offset_at(1_790_000_000), 7 * 3600);
        assert_eq!(LocalZone::from_tz(Some("UTC")).unwrap().offset_at(0), 0);
        // Daylight saving: Paris is +02:00 in July, +01:00 in January.
        let paris = LocalZone::from_tz(Some("Europe/Paris")).unwrap();
        assert_eq!(paris.offset_at(1_783_000_000), 2 * 3600);
        assert_eq!(paris.offset_at(1_767_500_000), 3600);
        // A POSIX rule (ICT-7 = seven hours east of UTC).
        assert_eq!(
            LocalZone::from_tz(Some("ICT-7")).unwrap().offset_at(0),
            7 * 3600
        );
        assert!(LocalZone::from_tz(Some("Not/AZone")).is_err());
    }

    #[test]
    fn locale_picks_language() {
        assert_eq!(Lang::from_locale(Some("en_US.UTF-8")), Lang::En);
        assert_eq!(Lang::from_locale(Some("vi_VN")), Lang::Vi);
        assert_eq!(Lang::from_locale(None), Lang::Both);
        assert_eq!(Lang::Both.pick("a", "b"), "a\n  b");
    }
}
