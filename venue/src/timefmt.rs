//! Dates and times for people: civil dates from UTC day numbers, parsing of the
//! times staff type (`2026-11-23T09:30`, `now`, Unix seconds), and formatting in
//! the venue's local offset (Vietnam is UTC+7, the default).

use quet_protocol::time::{DAY_SECS, Day, UnixTime};

use crate::error::{Result, VenueError};

/// Vietnam's offset from UTC in minutes (UTC+7, no daylight saving).
pub const VIETNAM_OFFSET_MINUTES: i32 = 7 * 60;

/// A civil (proleptic Gregorian) date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CivilDate {
    /// Year.
    pub year: i64,
    /// Month, 1..=12.
    pub month: u32,
    /// Day of month, 1..=31.
    pub day: u32,
}

/// The civil date of day number `z` (days since 1970-01-01), Howard Hinnant's algorithm.
pub fn civil_from_days(z: i64) -> CivilDate {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    CivilDate {
        year: if m <= 2 { y + 1 } else { y },
        month: u32::try_from(m).unwrap_or(1),
        day: u32::try_from(d).unwrap_or(1),
    }
}

/// Days since 1970-01-01 of a civil date.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Vietnamese and English weekday names of day number `z` (0 = Thursday 1970-01-01).
pub fn weekday_names(z: i64) -> (&'static str, &'static str) {
    const NAMES: [(&str, &str); 7] = [
        ("Thứ Năm", "Thursday"),
        ("Thứ Sáu", "Friday"),
        ("Thứ Bảy", "Saturday"),
        ("Chủ Nhật", "Sunday"),
        ("Thứ Hai", "Monday"),
        ("Thứ Ba", "Tuesday"),
        ("Thứ Tư", "Wednesday"),
    ];
    let i = usize::try_from(z.rem_euclid(7)).unwrap_or(0);
    NAMES.get(i).copied().unwrap_or(("", ""))
}

fn local_secs(t: UnixTime, offset_minutes: i32) -> i64 {
    i64::try_from(t.0).unwrap_or(i64::MAX) + i64::from(offset_minutes) * 60
}

/// `dd/mm/yyyy HH:MM` in local time.
pub fn format_local(t: UnixTime, offset_minutes: i32) -> String {
    let s = local_secs(t, offset_minutes);
    let day_secs = i64::try_from(DAY_SECS).unwrap_or(86_400);
    let d = civil_from_days(s.div_euclid(day_secs));
    let sod = s.rem_euclid(day_secs);
    format!(
        "{:02}/{:02}/{} {:02}:{:02}",
        d.day,
        d.month,
        d.year,
        sod / 3600,
        (sod % 3600) / 60
    )
}

/// The local calendar day (offset `offset_minutes`) containing `t`: the day a
/// poster printed "from today" starts on (in Vietnam the day begins at 17:00 UTC).
pub fn local_day(t: UnixTime, offset_minutes: i32) -> Result<Day> {
    let day_secs = i64::try_from(DAY_SECS).unwrap_or(86_400);
    u32::try_from(local_secs(t, offset_minutes).div_euclid(day_secs))
        .map(Day)
        .map_err(|_| VenueError::InvalidInput("date out of range".into()))
}

/// `dd/mm/yyyy` of a civil date.
pub fn format_date(d: CivilDate) -> String {
    format!("{:02}/{:02}/{}", d.day, d.month, d.year)
}

/// `±HH:MM` for an offset in minutes.
pub fn format_offset(offset_minutes: i32) -> String {
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let m = offset_minutes.unsigned_abs();
    format!("UTC{sign}{:02}:{:02}", m / 60, m % 60)
}

/// Parses `YYYY-MM-DD` to a UTC day.
pub fn parse_date(s: &str) -> Result<Day> {
    let bad = || VenueError::InvalidInput(format!("ngày / date {s:?} (YYYY-MM-DD)"));
    let mut it = s.trim().split('-');
    let (Some(y), Some(m), Some(d), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err(bad());
    };
    let y: i64 = y.parse().map_err(|_| bad())?;
    let m: u32 = m.parse().map_err(|_| bad())?;
    let d: u32 = d.parse().map_err(|_| bad())?;
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(bad());
    }
    let z = days_from_civil(y, m, d);
    if civil_from_days(z)
        != (CivilDate {
            year: y,
            month: m,
            day: d,
        })
    {
        return Err(bad());
    }
    u32::try_from(z).map(Day).map_err(|_| bad())
}

/// Parses a time typed by staff: `now`, Unix seconds, `YYYY-MM-DDTHH:MM[:SS]` or
/// `YYYY-MM-DD HH:MM` in local time (offset `offset_minutes`), or with a trailing
/// `Z` in UTC.
pub fn parse_time(s: &str, now: UnixTime, offset_minutes: i32) -> Result<UnixTime> {
    let s = s.trim();
    let bad = || {
        VenueError::InvalidInput(format!(
            "thời gian / time {s:?} (now | YYYY-MM-DDTHH:MM | Unix seconds)"
        ))
    };
    if s.eq_ignore_ascii_case("now") {
        return Ok(now);
    }
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().map(UnixTime).map_err(|_| bad());
    }
    let (s, utc) = match s.strip_suffix('Z').or_else(|| s.strip_suffix('z')) {
        Some(rest) => (rest, true),
        None => (s, false),
    };
    let (date, time) = s.split_once(['T', 't', ' ']).ok_or_else(bad)?;
    let day = parse_date(date)?;
    let mut parts = time.split(':');
    let h: u64 = parts.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
    let m: u64 = parts.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
    let sec: u64 = match parts.next() {
        Some(x) => x.parse().map_err(|_| bad())?,
        None => 0,
    };
    if parts.next().is_some() || h > 23 || m > 59 || sec > 59 {
        return Err(bad());
    }
    let local = i64::try_from(day.start().0 + h * 3600 + m * 60 + sec).map_err(|_| bad())?;
    let offset = if utc {
        0
    } else {
        i64::from(offset_minutes) * 60
    };
    u64::try_from(local - offset)
        .map(UnixTime)
        .map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip_and_known_dates() {
        assert_eq!(
            civil_from_days(20_717),
            CivilDate {
                year: 2026,
                month: 9,
                day: 21
            }
        );
        for z in [0, 59, 60, 365, 11_016, 20_717, 30_000] {
            let d = civil_from_days(z);
            assert_eq!(days_from_civil(d.year, d.month, d.day), z);
        }
        assert_eq!(weekday_names(20_717).1, "Monday");
    }

    #[test]
    fn parses_local_and_utc_times() {
        let now = UnixTime(5);
        assert_eq!(parse_time("now", now, 420).unwrap(), now);
        assert_eq!(
            parse_time("1790000000", now, 420).unwrap(),
            UnixTime(1_790_000_000)
        );
        // 2026-09-21 09:30 in Vietnam is 02:30 UTC.
        let t = parse_time("2026-09-21T09:30", now, 420).unwrap();
        assert_eq!(t, UnixTime(20_717 * 86_400 + 2 * 3600 + 1800));
        assert_eq!(parse_time("2026-09-21 02:30Z", now, 420).unwrap(), t);
        assert_eq!(format_local(t, 420), "21/09/2026 09:30");
        for bad in [
            "",
            "yesterday",
            "2026-02-30T10:00",
            "2026-09-21T25:00",
            "2026-09-21",
        ] {
            assert!(parse_time(bad, now, 420).is_err(), "{bad}");
        }
    }
}
