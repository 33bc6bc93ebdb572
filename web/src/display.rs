//! The venue's screen in a browser: a venue with only an old tablet or phone opens
//! `/display`, imports its display file once (`quet-venue display-export`,
//! passphrase-protected) and shows the rotating code offline.
//!
//! Every rule is someone else's: the file is opened by the venue crate's parser
//! (`quet_venue::display_file`, the same code as the native tool); the issuer
//! (`quet_venue::screen::issuer_of`: the protocol's `CodeIssuer::from_display_keys`,
//! which holds only the day keys of the file's days and the venue's signing seed,
//! never the master, so it cannot make a code for any other day), the event window
//! and the 30-second slot (`quet_venue::screen::screen_state`) and the QR matrix
//! (`quet_venue::qr_matrix`) are the native display's. This module only keeps the
//! issuer and the current slot's code, and hands the page the QR's modules.

use quet_protocol::authority::AuthorityDescriptor;
use quet_protocol::code::CodeIssuer;
use quet_protocol::time::{Day, UnixTime};
use quet_venue::display_file::{DisplayFile, Event};
use quet_venue::qr_matrix::QrMatrix;
use quet_venue::screen::{ScreenState, screen_state};
use serde_json::{Value, json};

/// Why the screen cannot show a code (for the page: a stable kind and both
/// languages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreenError {
    /// Stable kind.
    pub kind: &'static str,
    /// Vietnamese, then English.
    pub vi: String,
    /// English.
    pub en: String,
}

impl ScreenError {
    fn new(kind: &'static str, vi: impl Into<String>, en: impl Into<String>) -> ScreenError {
        ScreenError {
            kind,
            vi: vi.into(),
            en: en.into(),
        }
    }

    /// As JSON for the page.
    pub fn to_json(&self) -> Value {
        json!({ "kind": self.kind, "vi": self.vi, "en": self.en })
    }
}

/// A venue display running from a display file.
pub struct VenueScreen {
    issuer: CodeIssuer,
    descriptor: AuthorityDescriptor,
    event: Option<Event>,
    first_day: Day,
    last_day: Day,
    utc_offset_minutes: i32,
    registered: bool,
    rng: quet_client::Rng,
    /// The code of the current slot: (slot, JSON shown).
    current: Option<(u64, Value)>,
}

impl core::fmt::Debug for VenueScreen {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("VenueScreen")
            .field("venue", self.issuer.venue())
            .finish_non_exhaustive()
    }
}

impl VenueScreen {
    /// Opens a display file with its passphrase.
    pub fn open(
        text: &str,
        passphrase: &str,
        rng: quet_client::Rng,
    ) -> Result<VenueScreen, ScreenError> {
        let file = DisplayFile::open(text, passphrase).map_err(|e| {
            let kind = match e {
                quet_venue::display_file::DisplayFileError::WrongPassphrase => "wrong_passphrase",
                quet_venue::display_file::DisplayFileError::EmptyPassphrase => "empty_passphrase",
                _ => "bad_display_file",
            };
            // The parser's message is already "Vietnamese / English".
            let text = e.to_string();
            let (vi, en) = text.split_once(" / ").unwrap_or((&text, &text));
            ScreenError::new(
                kind,
                format!("Tệp hiển thị: {vi}"),
                format!("Display file: {en}"),
            )
        })?;
        let registered = file.certificate.is_some();
        let issuer = quet_venue::screen::issuer_of(&file).map_err(|e| {
            ScreenError::new(
                "bad_display_file",
                format!("Tệp hiển thị không dùng được: {e}"),
                format!("The display file cannot be used: {e}"),
            )
        })?;
        Ok(VenueScreen {
            issuer,
            descriptor: file.descriptor.clone(),
            event: file.event,
            first_day: file.first_day,
            last_day: file.last_day,
            utc_offset_minutes: file.utc_offset_minutes,
            registered,
            rng,
            current: None,
        })
    }

    /// What the page shows around the code: the venue, its authority, the days the
    /// file covers (Unix seconds of the first day's start and the last day's end).
    pub fn info(&self) -> Value {
        let v = self.issuer.venue();
        json!({
            "name": v.name,
            "address": v.address,
            "category_vi": v.category.label_vi(),
            "category_en": v.category.label_en(),
            "max_stay_minutes": v.max_stay_minutes,
            "authority": self.descriptor.name,
            "registered": self.registered,
            "from": u64::from(self.first_day.0) * 86_400,
            "until": (u64::from(self.last_day.0) + 1) * 86_400,
            "utc_offset_minutes": self.utc_offset_minutes,
            "event": self.event.map(|e| json!({"start": e.start, "end": e.end})),
        })
    }

    /// What to show at `now`: `{"state": "code", url, size, modules, refresh_in}`
    /// (modules: one `0`/`1` per module, row by row, `size` × `size`), or an event
    /// outside its window. Re-signed once per 30-second slot. A time the file does
    /// not cover is an error (export a new file).
    pub fn showing(&mut self, now: UnixTime) -> Result<Value, ScreenError> {
        let slot = match screen_state(self.event, now) {
            ScreenState::EventNotStarted(ev) => {
                return Ok(json!({"state": "event_not_started", "start": ev.start, "end": ev.end}));
            }
            ScreenState::EventEnded(ev) => {
                return Ok(json!({"state": "event_ended", "start": ev.start, "end": ev.end}));
            }
            ScreenState::Code(slot) => slot,
        };
        let refresh_in = slot.refresh_in(now);
        if let Some((s, shown)) = &self.current
            && *s == slot.index
        {
            let mut shown = shown.clone();
            if let Some(o) = shown.as_object_mut() {
                o.insert("refresh_in".into(), json!(refresh_in));
            }
            return Ok(shown);
        }
        let code = self
            .issuer
            .screen_code(&mut *self.rng, slot.timestamp)
            .map_err(|e| {
                ScreenError::new(
                    "file_does_not_cover_now",
                    format!("Tệp hiển thị không có khóa cho hôm nay ({e}): hãy xuất tệp mới bằng quet-venue display-export."),
                    format!("The display file holds no keys for today ({e}): export a new one with quet-venue display-export."),
                )
            })?;
        let url = code.to_url(&self.descriptor.base_url);
        let qr = QrMatrix::encode(url.as_bytes())
            .map_err(|e| ScreenError::new("qr", format!("Mã QR: {e}"), format!("QR code: {e}")))?;
        let modules: String = qr
            .modules()
            .iter()
            .map(|dark| if *dark { '1' } else { '0' })
            .collect();
        let shown = json!({
            "state": "code",
            "url": url,
            "size": qr.width(),
            "modules": modules,
            "refresh_in": refresh_in,
        });
        self.current = Some((slot.index, shown.clone()));
        Ok(shown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quet_protocol::authority::{AuthorityId, AuthorityKeys};
    use quet_protocol::category::Category;
    use quet_protocol::code::{CheckInCode, VenueInfo};
    use quet_protocol::testing::test_rng;
    use quet_protocol::time::UtcOffset;
    use quet_protocol::venue_keys::VenueMasterKey;
    use zeroize::Zeroizing;

    const NOW: u64 = 1_790_000_000;

    /// A display file for two days from today, as `quet-venue display-export`
    /// writes it, and the descriptor.
    fn file(event: Option<Event>) -> (String, AuthorityDescriptor) {
        file_at(event, 420)
    }

    /// [`file`] for a venue whose local time is `utc_offset_minutes` from UTC.
    fn file_at(event: Option<Event>, utc_offset_minutes: i32) -> (String, AuthorityDescriptor) {
        let mut rng = test_rng(3);
        let ha = AuthorityKeys::generate(&mut rng);
        let d = ha.descriptor(
            AuthorityId(0x0100_0003),
            "Sở Y tế Đà Nẵng",
            "https://qr.example",
        );
        let bytes = ha.sign_descriptor(&d).unwrap();
        let master = VenueMasterKey::generate(&mut rng);
        let today = UnixTime(NOW).day().unwrap();
        let df = DisplayFile {
            venue: VenueInfo {
                name: "Mì Quảng Bà Mua".into(),
                address: "19 Trần Bình Trọng, Đà Nẵng".into(),
                category: Category::Restaurant,
                max_stay_minutes: 60,
            },
            event,
            utc_offset_minutes,
            descriptor_bytes: bytes,
            descriptor: d.clone(),
            signing_seed: Zeroizing::new(master.signing_key().to_bytes()),
            certificate: None,
            first_day: today,
            last_day: Day(today.0 + 1),
            day_keys: (today.0 - 1..=today.0 + 2)
                .map(|x| master.day_key(Day(x)))
                .collect(),
        };
        (
            df.seal_with(&mut rng, "mật khẩu quầy", 8 * 1024, 1, 1)
                .unwrap(),
            d,
        )
    }

    #[test]
    fn shows_codes_that_verify_for_the_files_days_only_and_resigns_per_slot() {
        let (text, d) = file(None);
        assert_eq!(
            VenueScreen::open(&text, "sai", Box::new(test_rng(1)))
                .unwrap_err()
                .kind,
            "wrong_passphrase"
        );
        let mut s = VenueScreen::open(&text, "mật khẩu quầy", Box::new(test_rng(1))).unwrap();
        assert_eq!(s.info()["name"], "Mì Quảng Bà Mua");
        let a = s.showing(UnixTime(NOW)).unwrap();
        let url = a["url"].as_str().unwrap().to_string();
        let bytes = CheckInCode::bytes_from_text(&url).unwrap();
        let code = CheckInCode::parse_signed(&bytes).unwrap();
        assert_eq!(code.venue.name, "Mì Quảng Bà Mua");
        assert_eq!(code.authority, d.id);
        let size = a["size"].as_u64().unwrap() as usize;
        assert_eq!(a["modules"].as_str().unwrap().len(), size * size);
        // Same slot: the same code; next slot: a new one.
        let slot_start = NOW / 30 * 30;
        assert_eq!(s.showing(UnixTime(slot_start + 29)).unwrap()["url"], url);
        assert_ne!(s.showing(UnixTime(slot_start + 30)).unwrap()["url"], url);
        // Three days later the file holds no keys: a clear error, no code.
        let e = s.showing(UnixTime(NOW + 3 * 86_400)).unwrap_err();
        assert_eq!(e.kind, "file_does_not_cover_now");
    }

    #[test]
    fn codes_carry_the_venues_utc_offset_as_the_native_display_s_do() {
        // The issuer is the venue crate's (`screen::issuer_of`), so a venue whose
        // local time is not the authority's gets its own offset in every code.
        let (text, d) = file_at(None, 480);
        assert_ne!(d.utc_offset, UtcOffset(480));
        let mut s = VenueScreen::open(&text, "mật khẩu quầy", Box::new(test_rng(1))).unwrap();
        let shown = s.showing(UnixTime(NOW)).unwrap();
        let bytes = CheckInCode::bytes_from_text(shown["url"].as_str().unwrap()).unwrap();
        let code = CheckInCode::parse_signed(&bytes).unwrap();
        assert_eq!(code.utc_offset, UtcOffset(480));
    }

    #[test]
    fn an_event_shows_no_code_outside_its_window() {
        let (text, _) = file(Some(Event {
            start: NOW + 3600,
            end: NOW + 7200,
        }));
        let mut s = VenueScreen::open(&text, "mật khẩu quầy", Box::new(test_rng(2))).unwrap();
        assert_eq!(
            s.showing(UnixTime(NOW)).unwrap()["state"],
            "event_not_started"
        );
        assert_eq!(s.showing(UnixTime(NOW + 4000)).unwrap()["state"], "code");
        assert_eq!(
            s.showing(UnixTime(NOW + 8000)).unwrap()["state"],
            "event_ended"
        );
    }
}
