//! Local times for staff: the console shows and reads times in the authority's
//! zone (default Asia/Ho_Chi_Minh, UTC+7, no daylight saving), as
//! `dd/mm/yyyy HH:MM` and the `yyyy-mm-ddTHH:MM` of `<input type=datetime-local>`.

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) → days since 1970-01-01.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The local wall-clock fields of a Unix time.
pub fn fields(unix: u64, offset_minutes: i32) -> (i64, u32, u32, u32, u32) {
    let t = i64::try_from(unix).unwrap_or(i64::MAX / 2) + i64::from(offset_minutes) * 60;
    let (y, m, d) = civil_from_days(t.div_euclid(86_400));
    let secs = t.rem_euclid(86_400);
    (y, m, d, (secs / 3600) as u32, (secs % 3600 / 60) as u32)
}

/// `dd/mm/yyyy HH:MM` in local time.
pub fn format(unix: u64, offset_minutes: i32) -> String {
    let (y, m, d, hh, mm) = fields(unix, offset_minutes);
    format!("{d:02}/{m:02}/{y} {hh:02}:{mm:02}")
}

/// `dd/mm/yyyy` in local time.
pub fn format_date(unix: u64, offset_minutes: i32) -> String {
    let (y, m, d, _, _) = fields(unix, offset_minutes);
    format!("{d:02}/{m:02}/{y}")
}

/// `yyyy-mm-ddTHH:MM` (for a `datetime-local` input's value).
pub fn input_value(unix: u64, offset_minutes: i32) -> String {
    let (y, m, d, hh, mm) = fields(unix, offset_minutes);
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}")
}

/// `UTC+7`.
pub fn zone_label(offset_minutes: i32) -> String {
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let a = offset_minutes.unsigned_abs();
    if a.is_multiple_of(60) {
        format!("UTC{sign}{}", a / 60)
    } else {
        format!("UTC{sign}{}:{:02}", a / 60, a % 60)
    }
}

/// Parses `yyyy-mm-ddTHH:MM` (optionally `:SS`) or `yyyy-mm-dd` (midnight) in
/// local time to Unix seconds.
pub fn parse(text: &str, offset_minutes: i32) -> Option<u64> {
    let text = text.trim();
    let (date, time) = match text.split_once(['T', ' ']) {
        Some((d, t)) => (d, t),
        None => (text, "00:00"),
    };
    let mut dp = date.split('-');
    let y: i64 = dp.next()?.parse().ok()?;
    let m: u32 = dp.next()?.parse().ok()?;
    let d: u32 = dp.next()?.parse().ok()?;
    if dp.next().is_some() || !(1970..=9999).contains(&y) || !(1..=12).contains(&m) {
        return None;
    }
    let mut tp = time.split(':');
    let hh: u32 = tp.next()?.parse().ok()?;
    let mm: u32 = tp.next()?.parse().ok()?;
    let ss: u32 = tp.next().map_or(Some(0), |s| s.parse().ok())?;
    if tp.next().is_some() || hh > 23 || mm > 59 || ss > 59 {
        return None;
    }
    let days = days_from_civil(y, m, d);
    if civil_from_days(days) != (y, m, d) {
        return None; // 31 February and the like
    }
    let local = days * 86_400 + i64::from(hh * 3600 + mm * 60 + ss);
    u64::try_from(local - i64::from(offset_minutes) * 60).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_vietnam_time() {
        // 2021-08-09 00:00 UTC = 07:00 in Hà Nội.
        let t = 1_628_467_200;
        assert_eq!(format(t, 420), "09/08/2021 07:00");
        assert_eq!(input_value(t, 420), "2021-08-09T07:00");
        assert_eq!(parse("2021-08-09T07:00", 420), Some(t));
        assert_eq!(parse("2021-08-09", 420), Some(t - 7 * 3600));
        assert_eq!(format(0, 0), "01/01/1970 00:00");
        assert_eq!(zone_label(420), "UTC+7");
        assert_eq!(zone_label(-210), "UTC-3:30");
        for bad in ["2021-02-30T10:00", "2021-13-01", "2021-08-09T24:00", "yesterday", "1969-12-31"] {
            assert_eq!(parse(bad, 420), None, "{bad}");
        }
        for u in [1_600_000_000u64, 1_700_000_123, 4_102_444_800] {
            let u = u - u % 60;
            assert_eq!(parse(&input_value(u, 420), 420), Some(u));
        }
    }
}
