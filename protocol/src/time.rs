//! Time in the protocol: Unix seconds, UTC days and epochs.
//!
//! An [`Epoch`] is the unit a venue-time key covers. Screen codes use hour epochs
//! (`floor(unix / 3600)`); poster codes use day epochs. An epoch always carries its
//! kind, on the wire and in every derivation, so an hour and a day with the same
//! number can never be confused. All conversions are checked; out-of-range times
//! are [`Error::TimeOutOfRange`].
//!
//! Four kinds exist. Version 1 codes use [`EpochKind::Hour`] and [`EpochKind::Day`]
//! (a UTC day); their venue-time secrets are published whole (32 bytes). Version 2
//! codes use [`EpochKind::SeededHour`] and [`EpochKind::LocalDay`] (a day of the
//! venue's local time, `floor((unix + offset) / 86400)`, with the UTC offset in the
//! code); their secrets are expanded from a 16-byte seed, and the seed is what a
//! notice publishes.

use core::fmt;

use crate::error::{Error, Result};

/// Seconds in an hour epoch.
pub const HOUR_SECS: u64 = 3_600;
/// Seconds in a UTC day.
pub const DAY_SECS: u64 = 86_400;

/// A point in time, seconds since the Unix epoch (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct UnixTime(pub u64);

impl UnixTime {
    /// Adds seconds, failing on overflow.
    pub fn checked_add(self, secs: u64) -> Result<UnixTime> {
        self.0
            .checked_add(secs)
            .map(UnixTime)
            .ok_or(Error::TimeOutOfRange)
    }

    /// Adds seconds, saturating at the end of time.
    pub fn saturating_add(self, secs: u64) -> UnixTime {
        UnixTime(self.0.saturating_add(secs))
    }

    /// Subtracts seconds, saturating at zero.
    pub fn saturating_sub(self, secs: u64) -> UnixTime {
        UnixTime(self.0.saturating_sub(secs))
    }

    /// The UTC day this time falls in.
    pub fn day(self) -> Result<Day> {
        u32::try_from(self.0 / DAY_SECS)
            .map(Day)
            .map_err(|_| Error::TimeOutOfRange)
    }
}

/// A UTC day number: `floor(unix / 86400)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(pub u32);

impl Day {
    /// The first second of the day.
    pub fn start(self) -> UnixTime {
        UnixTime(u64::from(self.0) * DAY_SECS)
    }

    /// The day before, if any.
    pub fn prev(self) -> Option<Day> {
        self.0.checked_sub(1).map(Day)
    }

    /// The day after, if any.
    pub fn next(self) -> Option<Day> {
        self.0.checked_add(1).map(Day)
    }
}

/// A difference from UTC in minutes, e.g. `UtcOffset(420)` for Vietnam (UTC+7).
/// Local-day posters begin at local midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct UtcOffset(pub i16);

impl UtcOffset {
    /// UTC itself.
    pub const UTC: UtcOffset = UtcOffset(0);
    /// Vietnam, UTC+7 (Asia/Ho_Chi_Minh; no daylight saving).
    pub const VIETNAM: UtcOffset = UtcOffset(7 * 60);
    /// Smallest offset in use on Earth, UTC−12.
    pub const MIN: i16 = -12 * 60;
    /// Largest offset in use on Earth, UTC+14.
    pub const MAX: i16 = 14 * 60;

    /// Checks the range −720..=840 minutes.
    pub fn check(self) -> Result<UtcOffset> {
        if (Self::MIN..=Self::MAX).contains(&self.0) {
            Ok(self)
        } else {
            Err(Error::InvalidField {
                field: "UTC offset",
            })
        }
    }

    /// The offset in seconds.
    pub fn secs(self) -> i64 {
        i64::from(self.0) * 60
    }
}

/// Which kind of epoch: its length, its calendar and its key schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EpochKind {
    /// One hour, version 1 screen codes; the secret is published whole.
    Hour,
    /// One UTC day, version 1 poster codes; the secret is published whole.
    Day,
    /// One hour, version 2 screen codes; a 16-byte seed is published.
    SeededHour,
    /// One day of the venue's local time (UTC offset in the code), version 2
    /// poster codes; a 16-byte seed is published.
    LocalDay,
}

impl EpochKind {
    /// The wire byte.
    pub fn to_byte(self) -> u8 {
        match self {
            EpochKind::Hour => 1,
            EpochKind::Day => 2,
            EpochKind::SeededHour => 3,
            EpochKind::LocalDay => 4,
        }
    }

    /// Parses the wire byte.
    pub fn from_byte(b: u8) -> Result<Self> {
        match b {
            1 => Ok(EpochKind::Hour),
            2 => Ok(EpochKind::Day),
            3 => Ok(EpochKind::SeededHour),
            4 => Ok(EpochKind::LocalDay),
            _ => Err(Error::InvalidField {
                field: "epoch kind",
            }),
        }
    }

    /// Length of one epoch of this kind in seconds.
    pub fn length_secs(self) -> u64 {
        match self {
            EpochKind::Hour | EpochKind::SeededHour => HOUR_SECS,
            EpochKind::Day | EpochKind::LocalDay => DAY_SECS,
        }
    }

    /// Whether a notice publishes a 16-byte seed (version 2 kinds) rather than the
    /// 32-byte secret (version 1 kinds).
    pub fn is_seeded(self) -> bool {
        matches!(self, EpochKind::SeededHour | EpochKind::LocalDay)
    }

    /// Whether this is an hour kind (screen codes).
    pub fn is_hour(self) -> bool {
        matches!(self, EpochKind::Hour | EpochKind::SeededHour)
    }

    /// Every kind, in wire order.
    pub const ALL: [EpochKind; 4] = [
        EpochKind::Hour,
        EpochKind::Day,
        EpochKind::SeededHour,
        EpochKind::LocalDay,
    ];
}

/// An epoch: the time unit one venue-time key covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Epoch {
    /// Hour or day.
    pub kind: EpochKind,
    /// `floor(unix / length)`.
    pub index: u32,
}

impl Epoch {
    /// The epoch of `kind` containing time `t`; a [`EpochKind::LocalDay`] is taken
    /// in UTC (use [`Epoch::containing_with`] for a local day).
    pub fn containing(kind: EpochKind, t: UnixTime) -> Result<Epoch> {
        Epoch::containing_with(kind, t, UtcOffset::UTC)
    }

    /// The epoch of `kind` containing time `t`, local days counted in `offset`
    /// (hour kinds and UTC days ignore the offset).
    pub fn containing_with(kind: EpochKind, t: UnixTime, offset: UtcOffset) -> Result<Epoch> {
        let shifted = if kind == EpochKind::LocalDay {
            u64::try_from(i128::from(t.0) + i128::from(offset.secs()))
                .map_err(|_| Error::TimeOutOfRange)?
        } else {
            t.0
        };
        let index =
            u32::try_from(shifted / kind.length_secs()).map_err(|_| Error::TimeOutOfRange)?;
        Ok(Epoch { kind, index })
    }

    /// First second of the epoch, a local day counted in `offset`.
    pub fn start_with(self, offset: UtcOffset) -> UnixTime {
        let nominal = i128::from(self.index) * i128::from(self.kind.length_secs());
        let shift = if self.kind == EpochKind::LocalDay {
            i128::from(offset.secs())
        } else {
            0
        };
        UnixTime(u64::try_from((nominal - shift).max(0)).unwrap_or(0))
    }

    /// First second after the epoch, a local day counted in `offset`.
    pub fn end_with(self, offset: UtcOffset) -> UnixTime {
        UnixTime(self.start_with(offset).0 + self.kind.length_secs())
    }

    /// Every epoch of `kind` overlapping `[start, end)`, local days in `offset`.
    pub fn overlapping_with(
        kind: EpochKind,
        start: UnixTime,
        end: UnixTime,
        offset: UtcOffset,
    ) -> Result<Vec<Epoch>> {
        if end <= start {
            return Err(Error::InvalidWindow);
        }
        let first = Epoch::containing_with(kind, start, offset)?;
        let last = Epoch::containing_with(kind, UnixTime(end.0 - 1), offset)?;
        Ok((first.index..=last.index)
            .map(|index| Epoch { kind, index })
            .collect())
    }

    /// The hour epoch containing `t`.
    pub fn hour_of(t: UnixTime) -> Result<Epoch> {
        Epoch::containing(EpochKind::Hour, t)
    }

    /// The day epoch containing `t`.
    pub fn day_of(t: UnixTime) -> Result<Epoch> {
        Epoch::containing(EpochKind::Day, t)
    }

    /// First second of the epoch (a local day taken in UTC; see
    /// [`Epoch::start_with`]).
    pub fn start(self) -> UnixTime {
        UnixTime(u64::from(self.index) * self.kind.length_secs())
    }

    /// First second after the epoch (a local day taken in UTC; see
    /// [`Epoch::end_with`]).
    pub fn end(self) -> UnixTime {
        UnixTime((u64::from(self.index) + 1) * self.kind.length_secs())
    }

    /// The day whose day key derives this epoch's keys: the UTC day of an hour,
    /// the day itself for a UTC day or a local day (local day `L` uses `day_key(L)`).
    pub fn day(self) -> Day {
        if self.kind.is_hour() {
            Day(self.index / 24)
        } else {
            Day(self.index)
        }
    }

    /// The five wire bytes: kind, then index big-endian.
    pub fn to_bytes(self) -> [u8; 5] {
        let i = self.index.to_be_bytes();
        [self.kind.to_byte(), i[0], i[1], i[2], i[3]]
    }

    /// Every epoch of `kind` that overlaps the half-open window `[start, end)` (local
    /// days taken in UTC; see [`Epoch::overlapping_with`]).
    pub fn overlapping(kind: EpochKind, start: UnixTime, end: UnixTime) -> Result<Vec<Epoch>> {
        Epoch::overlapping_with(kind, start, end, UtcOffset::UTC)
    }
}

impl fmt::Display for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            EpochKind::Hour => write!(f, "hour {}", self.index),
            EpochKind::Day => write!(f, "day {}", self.index),
            EpochKind::SeededHour => write!(f, "seeded hour {}", self.index),
            EpochKind::LocalDay => write!(f, "local day {}", self.index),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hour_epoch_bounds_and_day() {
        let t = UnixTime(1_700_000_000);
        let e = Epoch::hour_of(t).unwrap();
        assert!(e.start() <= t && t < e.end());
        assert_eq!(e.end().0 - e.start().0, 3600);
        assert_eq!(e.day(), t.day().unwrap());
    }

    #[test]
    fn overlapping_covers_window_exactly() {
        let start = UnixTime(10 * 3600 + 1800);
        let end = UnixTime(12 * 3600);
        let es = Epoch::overlapping(EpochKind::Hour, start, end).unwrap();
        assert_eq!(es.iter().map(|e| e.index).collect::<Vec<_>>(), vec![10, 11]);
        assert_eq!(
            Epoch::overlapping(EpochKind::Hour, end, start),
            Err(Error::InvalidWindow)
        );
    }

    #[test]
    fn local_days_begin_at_local_midnight() {
        // 2026-12-02 00:00 in Vietnam is 2026-12-01 17:00 UTC.
        let local_midnight = UnixTime(1_796_144_400);
        let day = Epoch::containing_with(EpochKind::LocalDay, local_midnight, UtcOffset::VIETNAM)
            .unwrap();
        let before = Epoch::containing_with(
            EpochKind::LocalDay,
            UnixTime(local_midnight.0 - 1),
            UtcOffset::VIETNAM,
        )
        .unwrap();
        assert_eq!(before.index + 1, day.index);
        assert_eq!(day.start_with(UtcOffset::VIETNAM), local_midnight);
        assert_eq!(
            day.end_with(UtcOffset::VIETNAM).0,
            local_midnight.0 + 86_400
        );
        // The UTC day of that instant is the previous one.
        assert_eq!(local_midnight.day().unwrap().0 + 1, day.index);
        assert!(UtcOffset(841).check().is_err() && UtcOffset(-721).check().is_err());
    }

    #[test]
    fn rejects_times_beyond_u32_epochs() {
        assert_eq!(
            Epoch::day_of(UnixTime(u64::MAX)),
            Err(Error::TimeOutOfRange)
        );
        assert_eq!(
            UnixTime(u64::MAX).checked_add(1),
            Err(Error::TimeOutOfRange)
        );
    }
}
