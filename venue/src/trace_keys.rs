//! The day-key sheet for a venue-initiated trace: the owner hands the investigator
//! the keys of the days asked, never the master (protocol `day_keys_to_text`; the
//! authority's trace endpoint accepts it where it accepts a tracing sheet, and
//! refuses a window that needs a day the sheet lacks).
//!
//! The owner asks in local dates. A local date's hours fall in one or two UTC days
//! (in Vietnam, 00:00–06:59 belongs to the previous UTC day), and a poster's local
//! day `L` uses `day_key(L)`, so the sheet holds every UTC day a listed local date
//! touches, plus the local days themselves: in Vietnam, the day before `from`
//! through `to`. At most [`MAX_SHEET_DAYS`] keys (30 local days in Vietnam), and no
//! day after today: a trace may not publish hours that have not happened.

use quet_protocol::time::{Day, UnixTime};
use quet_protocol::venue_keys::{MAX_SHEET_DAYS, day_keys_to_text};
use zeroize::Zeroizing;

use crate::error::{Result, VenueError};
use crate::timefmt;
use crate::venue::Venue;

const DAY_SECS: i64 = 86_400;

fn date(d: Day) -> String {
    timefmt::format_date(timefmt::civil_from_days(i64::from(d.0)))
}

/// The UTC days whose keys a trace of local dates `from..=to` (offset
/// `offset_minutes`) may need: first and last, inclusive.
pub fn key_days(from: Day, to: Day, offset_minutes: i32) -> Result<(Day, Day)> {
    let off = i64::from(offset_minutes) * 60;
    let start = i64::from(from.0) * DAY_SECS - off;
    let end = (i64::from(to.0) + 1) * DAY_SECS - off - 1;
    let first = start.div_euclid(DAY_SECS).min(i64::from(from.0));
    let last = end.div_euclid(DAY_SECS).max(i64::from(to.0));
    let day = |d: i64| {
        u32::try_from(d)
            .map(Day)
            .map_err(|_| VenueError::InvalidInput("date out of range".into()))
    };
    Ok((day(first)?, day(last)?))
}

/// The day-key sheet of `venue` for local dates `from..=to`, at `now`.
pub fn day_key_sheet(
    venue: &Venue,
    from: Day,
    to: Day,
    now: UnixTime,
) -> Result<Zeroizing<String>> {
    let offset = venue.utc_offset_minutes();
    let today = timefmt::local_day(now, offset)?;
    if to < from {
        return Err(VenueError::InvalidInput(format!(
            "--to {} trước --from {} / --to {} is before --from {}",
            date(to),
            date(from),
            date(to),
            date(from)
        )));
    }
    if to > today {
        return Err(VenueError::InvalidInput(format!(
            "không cấp khóa cho ngày chưa tới ({}; hôm nay {}) / no keys for days to come \
             ({}; today is {})",
            date(to),
            date(today),
            date(to),
            date(today)
        )));
    }
    let (first, last) = key_days(from, to, offset)?;
    let count = usize::try_from(last.0 - first.0 + 1).unwrap_or(usize::MAX);
    if count > MAX_SHEET_DAYS {
        let extra = count - (to.0 - from.0 + 1) as usize;
        let most = MAX_SHEET_DAYS - extra;
        return Err(VenueError::InvalidInput(format!(
            "tối đa {most} ngày mỗi phiếu / at most {most} days per sheet \
             ({} – {} needs {count} day keys, the limit is {MAX_SHEET_DAYS})",
            date(from),
            date(to)
        )));
    }
    let keys: Vec<_> = (first.0..=last.0)
        .map(|d| venue.master().day_key(Day(d)))
        .collect();
    Ok(Zeroizing::new(day_keys_to_text(&keys)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vietnam_local_dates_need_the_previous_utc_day_too() {
        assert_eq!(
            key_days(Day(100), Day(102), 420).unwrap(),
            (Day(99), Day(102))
        );
        assert_eq!(
            key_days(Day(100), Day(100), 0).unwrap(),
            (Day(100), Day(100))
        );
        // West of Greenwich the local date runs into the next UTC day.
        assert_eq!(
            key_days(Day(100), Day(100), -300).unwrap(),
            (Day(100), Day(101))
        );
    }
}
