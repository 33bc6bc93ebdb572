//! # quet-web
//!
//! The phone web app and the browser venue display, as thin
//! [wasm-bindgen](https://docs.rs/wasm-bindgen) bindings over the one client core,
//! `quet-client` (and, for the display, the venue crate): no rule is written here
//! or in the page's JavaScript. What this crate adds is only what a browser needs:
//!
//! - [`display`]: the venue's screen from a display file ([`VenueDisplay`]);
//! - [`mirror`]: the core's store mirrored row by row into IndexedDB;
//! - [`phone`]: the app's operations, JSON out (tested natively);
//! - [`PhoneApp`]: the JavaScript interface.
//!
//! Build the app with `web/build.sh` (cargo for wasm32 + the pinned wasm-bindgen
//! CLI); `web/README.md` explains the app, its storage, its network behaviour and
//! its tests.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

#[cfg(feature = "display")]
pub mod display;
pub mod mirror;
pub mod phone;

use js_sys::{Array, Uint8Array};
use quet_client::text::LocalZone;
use quet_client::transport::Response;
use quet_client::{ClientError, UnixTime};
use wasm_bindgen::prelude::{JsValue, wasm_bindgen};

use crate::phone::{Phone, error_json};

thread_local! {
    /// The device's UTC offset in seconds, for times in the core's messages
    /// (Vietnam's until the page says otherwise).
    static UTC_OFFSET: core::cell::Cell<i32> = const { core::cell::Cell::new(7 * 3600) };
}

/// An error for the page: the JSON `{"kind", "vi", "en", "retry_at"}` of the
/// core's error, times in the device's zone.
fn js_error(e: &ClientError) -> JsValue {
    let zone = LocalZone::fixed(UTC_OFFSET.with(core::cell::Cell::get));
    JsValue::from_str(&error_json(e, &zone).to_string())
}

fn time(now_secs: f64) -> Result<UnixTime, JsValue> {
    if now_secs.is_finite() && (0.0..1e12).contains(&now_secs) {
        Ok(UnixTime(now_secs as u64))
    } else {
        Err(js_error(&ClientError::InvalidSetting("clock".into())))
    }
}

fn json(r: quet_client::Result<serde_json::Value>) -> Result<String, JsValue> {
    r.map(|v| v.to_string()).map_err(|e| js_error(&e))
}

fn step(r: quet_client::Result<phone::Step>) -> Result<String, JsValue> {
    r.and_then(|s| serde_json::to_string(&s).map_err(|e| ClientError::Storage(e.to_string())))
        .map_err(|e| js_error(&e))
}

fn id(v: f64) -> Option<u64> {
    (v.is_finite() && v >= 1.0).then_some(v as u64)
}

/// The phone app's core, as the page sees it. Every method that changes state
/// leaves writes for [`PhoneApp::take_writes`]; the page commits them to IndexedDB
/// before it tells the user the operation is done.
#[wasm_bindgen]
pub struct PhoneApp {
    phone: Phone,
}

#[wasm_bindgen]
impl PhoneApp {
    /// Opens the app over the rows read from IndexedDB: an array of
    /// `[key, Uint8Array]` pairs.
    pub fn open(rows: Array) -> Result<PhoneApp, JsValue> {
        let mut list = Vec::with_capacity(rows.length() as usize);
        for pair in rows.iter() {
            let pair = Array::from(&pair);
            let key = pair.get(0).as_string().unwrap_or_default();
            let value = Uint8Array::new(&pair.get(1)).to_vec();
            list.push((key, value));
        }
        let rng: quet_client::Rng = Box::new(rand_core::UnwrapErr(getrandom::SysRng));
        Phone::open(list, rng)
            .map(|phone| PhoneApp { phone })
            .map_err(|e| js_error(&e))
    }

    /// Sets the device's UTC offset (minutes east), for times in error messages.
    #[wasm_bindgen(js_name = setUtcOffset)]
    pub fn set_utc_offset(minutes: i32) {
        if (-14 * 60..=14 * 60).contains(&minutes) {
            UTC_OFFSET.with(|c| c.set(minutes * 60));
        }
    }

    /// The writes to commit: an array of `[key, Uint8Array | null]` (null deletes).
    #[wasm_bindgen(js_name = takeWrites)]
    pub fn take_writes(&mut self) -> Array {
        let out = Array::new();
        for (key, value) in self.phone.take_writes() {
            let pair = Array::new();
            pair.push(&JsValue::from_str(&key));
            match value {
                Some(v) => pair.push(&Uint8Array::from(v.as_slice())),
                None => pair.push(&JsValue::NULL),
            };
            out.push(&pair);
        }
        out
    }

    /// The home screen's state (JSON).
    pub fn state(&mut self, now_secs: f64) -> Result<String, JsValue> {
        json(self.phone.state(time(now_secs)?))
    }

    /// Decodes a descriptor without pinning it (JSON with its fingerprint).
    #[wasm_bindgen(js_name = inspectDescriptor)]
    pub fn inspect_descriptor(bytes: &[u8]) -> Result<String, JsValue> {
        json(Phone::inspect_descriptor(bytes))
    }

    /// Pins a descriptor, or follows a rotation signed by a pinned key.
    #[wasm_bindgen(js_name = pinAuthority)]
    pub fn pin_authority(&mut self, bytes: &[u8]) -> Result<String, JsValue> {
        json(self.phone.pin_authority(bytes))
    }

    /// Unpins an authority.
    #[wasm_bindgen(js_name = removeAuthority)]
    pub fn remove_authority(&mut self, id: u32) -> Result<String, JsValue> {
        json(self.phone.remove_authority(id))
    }

    /// Checks in from a scanned code's text or an opened link. Offline.
    #[wasm_bindgen(js_name = checkIn)]
    pub fn check_in(&mut self, text: &str, now_secs: f64) -> Result<String, JsValue> {
        json(self.phone.check_in(text, time(now_secs)?))
    }

    /// Checks out of stay `id` (0: the latest ongoing one).
    #[wasm_bindgen(js_name = checkOut)]
    pub fn check_out(&mut self, id_or_zero: f64, now_secs: f64) -> Result<String, JsValue> {
        json(self.phone.check_out(id(id_or_zero), time(now_secs)?))
    }

    /// Plans the departure of stay `id` (0: the latest) at arrival + `minutes`.
    #[wasm_bindgen(js_name = setStay)]
    pub fn set_stay(
        &mut self,
        id_or_zero: f64,
        minutes: u32,
        now_secs: f64,
    ) -> Result<String, JsValue> {
        json(
            self.phone
                .set_stay(id(id_or_zero), u64::from(minutes), time(now_secs)?),
        )
    }

    /// The diary, newest first (JSON).
    pub fn diary(&mut self, now_secs: f64) -> Result<String, JsValue> {
        json(self.phone.diary(time(now_secs)?))
    }

    /// Deletes one check-in and its alerts.
    #[wasm_bindgen(js_name = deleteCheckIn)]
    pub fn delete_check_in(&mut self, id: f64) -> Result<String, JsValue> {
        let id = self::id(id).ok_or_else(|| js_error(&ClientError::NoSuchCheckIn(0)))?;
        json(self.phone.delete_check_in(id))
    }

    /// Deletes every check-in and alert.
    #[wasm_bindgen(js_name = deleteAll)]
    pub fn delete_all(&mut self) -> Result<String, JsValue> {
        json(self.phone.delete_all())
    }

    /// Every alert (JSON).
    pub fn alerts(&self) -> Result<String, JsValue> {
        json(self.phone.alerts())
    }

    /// Sets the retention in days (10–21).
    #[wasm_bindgen(js_name = setRetention)]
    pub fn set_retention(&mut self, days: u16) -> Result<String, JsValue> {
        json(self.phone.set_retention(days))
    }

    /// Sets (or changes) the PIN; returns the protection (JSON).
    #[wasm_bindgen(js_name = setPin)]
    pub fn set_pin(&mut self, pin: &str) -> Result<String, JsValue> {
        json(self.phone.set_pin(pin))
    }

    /// Adds the passkey slot opened by a 32-byte WebAuthn PRF output.
    #[wasm_bindgen(js_name = setPrf)]
    pub fn set_prf(&mut self, output: &[u8]) -> Result<String, JsValue> {
        json(self.phone.set_prf(output))
    }

    /// Unlocks the diary with the PIN (wrong PINs are counted and slowed).
    #[wasm_bindgen(js_name = unlockWithPin)]
    pub fn unlock_with_pin(&mut self, pin: &str, now_secs: f64) -> Result<String, JsValue> {
        json(self.phone.unlock_with_pin(pin, time(now_secs)?))
    }

    /// Unlocks the diary with a WebAuthn PRF output.
    #[wasm_bindgen(js_name = unlockWithPrf)]
    pub fn unlock_with_prf(&mut self, output: &[u8], now_secs: f64) -> Result<String, JsValue> {
        json(self.phone.unlock_with_prf(output, time(now_secs)?))
    }

    /// Locks the diary (forgets its secret).
    pub fn lock(&mut self) {
        self.phone.lock();
    }

    /// Begins a sync: `{"need": request}` or `{"done": report}`.
    #[wasm_bindgen(js_name = syncBegin)]
    pub fn sync_begin(&mut self, now_secs: f64) -> Result<String, JsValue> {
        step(self.phone.sync_begin(time(now_secs)?))
    }

    /// Begins a report preview: `{"need": request}` (a typo is refused here).
    #[wasm_bindgen(js_name = reportPreviewBegin)]
    pub fn report_preview_begin(
        &mut self,
        authority: Option<u32>,
        auth_code: &str,
    ) -> Result<String, JsValue> {
        step(self.phone.report_preview_begin(authority, auth_code))
    }

    /// Begins sending the previewed report: `{"need": request}`.
    #[wasm_bindgen(js_name = reportSubmitBegin)]
    pub fn report_submit_begin(&mut self) -> Result<String, JsValue> {
        step(self.phone.report_submit_begin())
    }

    /// When the next chaff request is due: `{"step", "at"}` (JSON).
    #[wasm_bindgen(js_name = chaffDue)]
    pub fn chaff_due(&mut self, now_secs: f64) -> Result<String, JsValue> {
        json(self.phone.chaff_due(time(now_secs)?))
    }

    /// Begins the chaff request due now: `{"need": request}`, or `{"done": due}`
    /// when none is due.
    #[wasm_bindgen(js_name = chaffBegin)]
    pub fn chaff_begin(&mut self, now_secs: f64) -> Result<String, JsValue> {
        step(self.phone.chaff_begin(time(now_secs)?))
    }

    /// Hands back the answer to the last `need`; returns the next step.
    pub fn answer(
        &mut self,
        status: u16,
        body: &[u8],
        retry_after: Option<u32>,
        now_secs: f64,
    ) -> Result<String, JsValue> {
        let response = Response {
            status,
            body: body.to_vec(),
            retry_after: retry_after.map(u64::from),
        };
        step(self.phone.answer(response, time(now_secs)?))
    }

    /// Abandons the pending operation (its request could not be made).
    pub fn abandon(&mut self) {
        self.phone.abandon();
    }
}

/// The browser venue display, as the page sees it (`/display`).
#[cfg(feature = "display")]
#[wasm_bindgen]
pub struct VenueDisplay {
    screen: display::VenueScreen,
}

#[cfg(feature = "display")]
#[wasm_bindgen]
impl VenueDisplay {
    /// Opens a display file (its JSON text) with its passphrase.
    pub fn open(text: &str, passphrase: &str) -> Result<VenueDisplay, JsValue> {
        let rng: quet_client::Rng = Box::new(rand_core::UnwrapErr(getrandom::SysRng));
        display::VenueScreen::open(text, passphrase, rng)
            .map(|screen| VenueDisplay { screen })
            .map_err(|e| JsValue::from_str(&e.to_json().to_string()))
    }

    /// The venue, its authority and the days the file covers (JSON).
    pub fn info(&self) -> String {
        self.screen.info().to_string()
    }

    /// What to show now (JSON; see `display::VenueScreen::showing`).
    pub fn showing(&mut self, now_secs: f64) -> Result<String, JsValue> {
        let now = time(now_secs)?;
        self.screen
            .showing(now)
            .map(|v| v.to_string())
            .map_err(|e| JsValue::from_str(&e.to_json().to_string()))
    }
}
