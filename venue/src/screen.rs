//! What a venue's screen shows, as one rule for the native display
//! ([`crate::display`], `quet-venue display`) and the browser display (`quet-web`):
//! the code issuer a display file gives, and the state of the screen at a moment
//! (an event outside its window, or the 30-second slot whose code is shown). No
//! I/O, no clock; builds for wasm32.

use quet_protocol::certificate::VenueCertificate;
use quet_protocol::code::{CodeIssuer, SCREEN_RESIGN_SECS};
use quet_protocol::time::{UnixTime, UtcOffset};
use quet_protocol::venue_keys::{DisplayKeys, VenueSigningSeed};

use crate::display_file::{DisplayFile, Event};
use crate::error::{Result, VenueError};

/// The code issuer of a display file: from its day keys and signing seed only
/// (never a master), with the venue's UTC offset and, when the authority
/// approved the venue, its certificate.
pub fn issuer_of(df: &DisplayFile) -> Result<CodeIssuer> {
    let keys = DisplayKeys {
        signing: VenueSigningSeed::from_bytes(*df.signing_seed),
        day_keys: df.day_keys.clone(),
    };
    let mut issuer = CodeIssuer::from_display_keys(keys, df.venue.clone(), &df.descriptor)?;
    let offset = i16::try_from(df.utc_offset_minutes)
        .map_err(|_| VenueError::InvalidInput("UTC offset".into()))?;
    issuer.set_utc_offset(UtcOffset(offset))?;
    let certificate = df
        .certificate
        .as_deref()
        .map(VenueCertificate::from_bytes)
        .transpose()?;
    issuer.set_certificate(certificate);
    Ok(issuer)
}

/// The 30-second slot a screen code is signed for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    /// Slot number: Unix seconds / 30.
    pub index: u64,
    /// The code's signed timestamp: the slot's start.
    pub timestamp: UnixTime,
}

impl Slot {
    /// The slot of `now`.
    pub fn of(now: UnixTime) -> Slot {
        let index = now.0 / SCREEN_RESIGN_SECS;
        Slot {
            index,
            timestamp: UnixTime(index.saturating_mul(SCREEN_RESIGN_SECS)),
        }
    }

    /// Seconds from `now` until the next slot (1 to 30): when the screen re-signs.
    pub fn refresh_in(&self, now: UnixTime) -> u64 {
        (self.timestamp.0 + SCREEN_RESIGN_SECS)
            .saturating_sub(now.0)
            .clamp(1, SCREEN_RESIGN_SECS)
    }
}

/// What a screen shows at a moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScreenState {
    /// An event before its start: no code yet.
    EventNotStarted(Event),
    /// An event after its end: no code any more.
    EventEnded(Event),
    /// The code of this slot (within the event's window, if any, ends included).
    Code(Slot),
}

/// The state of a screen with `event` (if the venue is an event) at `now`.
pub fn screen_state(event: Option<Event>, now: UnixTime) -> ScreenState {
    match event {
        Some(ev) if now.0 < ev.start => ScreenState::EventNotStarted(ev),
        Some(ev) if now.0 > ev.end => ScreenState::EventEnded(ev),
        _ => ScreenState::Code(Slot::of(now)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_turn_every_half_minute_and_refresh_counts_down() {
        let s = Slot::of(UnixTime(1_790_000_015));
        assert_eq!(s.timestamp, UnixTime(1_790_000_010));
        assert_eq!(s.refresh_in(UnixTime(1_790_000_015)), 25);
        assert_eq!(s.refresh_in(UnixTime(1_790_000_039)), 1);
        assert_eq!(Slot::of(UnixTime(1_790_000_040)).index, s.index + 1);
    }

    #[test]
    fn an_event_shows_codes_only_inside_its_window_ends_included() {
        let ev = Event {
            start: 1_000,
            end: 2_000,
        };
        assert_eq!(
            screen_state(Some(ev), UnixTime(999)),
            ScreenState::EventNotStarted(ev)
        );
        assert!(matches!(
            screen_state(Some(ev), UnixTime(1_000)),
            ScreenState::Code(_)
        ));
        assert!(matches!(
            screen_state(Some(ev), UnixTime(2_000)),
            ScreenState::Code(_)
        ));
        assert_eq!(
            screen_state(Some(ev), UnixTime(2_001)),
            ScreenState::EventEnded(ev)
        );
        assert!(matches!(
            screen_state(None, UnixTime(5)),
            ScreenState::Code(_)
        ));
    }
}
