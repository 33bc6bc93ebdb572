//! Time in the protocol: Unix seconds, UTC days and epochs.
//!
//! An [`Epoch`] is the unit a venue-time key covers. Screen codes use hour epochs
//! (`floor(unix / 3600)`); poster codes use day epochs (`floor(unix / 86400)`). An
//! epoch always carries its kind, on the wire and in every derivation, so an hour
//! and a day with the same number can never be confused. All conversions are
//! checked; out-of-range times are [`Error::TimeOutOfRange`].

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

/// Whether an epoch is an hour (screen codes) or a day (poster codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EpochKind {
    /// One hour: rotating screen codes.
    Hour,
    /// One UTC day: printed poster codes.
    Day,
}

impl EpochKind {
    /// The wire byte.
    pub fn to_byte(self) -> u8 {
        match self {
            EpochKind::Hour => 1,
            EpochKind::Day => 2,
        }
    }

    /// Parses the wire byte.
    pub fn from_byte(b: u8) -> Result<Self> {
        match b {
            1 => Ok(EpochKind::Hour),
            2 => Ok(EpochKind::Day),
            _ => Err(Error::InvalidField {
                field: "epoch kind",
            }),
        }
    }

    /// Length of one epoch of this kind in seconds.
    pub fn length_secs(self) -> u64 {
        match self {
            EpochKind::Hour => HOUR_SECS,
            EpochKind::Day => DAY_SECS,
        }
    }
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
    /// The epoch of `kind` containing time `t`.
    pub fn containing(kind: EpochKind, t: UnixTime) -> Result<Epoch> {
        let index = u32::try_from(t.0 / kind.length_secs()).map_err(|_| Error::TimeOutOfRange)?;
        Ok(Epoch { kind, index })
    }

    /// The hour epoch containing `t`.
    pub fn hour_of(t: UnixTime) -> Result<Epoch> {
        Epoch::containing(EpochKind::Hour, t)
    }

    /// The day epoch containing `t`.
    pub fn day_of(t: UnixTime) -> Result<Epoch> {
        Epoch::containing(EpochKind::Day, t)
    }

    /// First second of the epoch.
    pub fn start(self) -> UnixTime {
        UnixTime(u64::from(self.index) * self.kind.length_secs())
    }

    /// First second after the epoch.
    pub fn end(self) -> UnixTime {
        UnixTime((u64::from(self.index) + 1) * self.kind.length_secs())
    }

    /// The UTC day the epoch lies in.
    pub fn day(self) -> Day {
        match self.kind {
            EpochKind::Hour => Day(self.index / 24),
            EpochKind::Day => Day(self.index),
        }
    }

    /// The five wire bytes: kind, then index big-endian.
    pub fn to_bytes(self) -> [u8; 5] {
        let i = self.index.to_be_bytes();
        [self.kind.to_byte(), i[0], i[1], i[2], i[3]]
    }

    /// Every epoch of `kind` that overlaps the half-open window `[start, end)`.
    pub fn overlapping(kind: EpochKind, start: UnixTime, end: UnixTime) -> Result<Vec<Epoch>> {
        if end <= start {
            return Err(Error::InvalidWindow);
        }
        let first = Epoch::containing(kind, start)?;
        let last = Epoch::containing(kind, UnixTime(end.0 - 1))?;
        Ok((first.index..=last.index)
            .map(|index| Epoch { kind, index })
            .collect())
    }
}

impl fmt::Display for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            EpochKind::Hour => write!(f, "hour {}", self.index),
            EpochKind::Day => write!(f, "day {}", self.index),
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
