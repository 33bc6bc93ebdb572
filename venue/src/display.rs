//! The rotating display: a local HTTP server (127.0.0.1 by default) serving a
//! full-screen page with the current screen code, and `/api/code` (JSON) and
//! `/code.svg` for the page's refresh. The code is re-signed when the 30-second
//! slot turns (so a new venue-time key appears exactly when the hour turns, an
//! hour being 120 slots); the issuer is kept, so the day's trace capsule is reused.
//! Nothing here needs the network: the page has no external resources.
//!
//! **Keys.** The display makes its codes from [`DisplayKeys`] (the day keys of the
//! days it shows, one either side, and the venue's signing seed), never from the
//! master: from a display file ([`Display::from_display_file`], `quet-venue display
//! --display-file`), or from the venue file, whose master derives the next days'
//! display keys when the day turns ([`Display::new`]) and is never handed to the
//! code issuer. Outside a display file's days it shows nothing
//! ([`Showing::OutsideDays`]).
//!
//! **What codes carry.** The venue's certificate, when the authority approved it
//! (from the venue file's registration or the display file), and, when the display
//! can reach the server, the chain checkpoint of the newest bulletin head it
//! verified ([`Display::accept_head`], [`Display::refresh_head`]) with the
//! protocol's rule ([`ChainView::check_head`]: signature, expiry, no rollback).
//! Offline, codes simply carry no checkpoint.
//!
//! The clock is injected ([`Clock`]) so tests can turn the half-minute and the hour.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use quet_protocol::authority::AuthorityDescriptor;
use quet_protocol::chain::{ChainCheckpoint, ChainView, HeadState};
use quet_protocol::code::{CodeIssuer, VenueInfo};
use quet_protocol::head::HEAD_LEN;
use quet_protocol::time::{Day, Epoch, UnixTime};
use serde::Serialize;

use crate::display_file::{DisplayFile, Event};
use crate::error::{Result, VenueError};
use crate::screen::{self, ScreenState};
use crate::venue::{EventWindow, Venue};
use crate::{pages, qr};

/// Where the display gets the time.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> UnixTime;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        UnixTime(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        )
    }
}

/// A clock tests and demos set by hand.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    /// A clock showing `t`.
    pub fn new(t: UnixTime) -> Self {
        ManualClock(AtomicU64::new(t.0))
    }

    /// Sets the time.
    pub fn set(&self, t: UnixTime) {
        self.0.store(t.0, Ordering::SeqCst);
    }

    /// Moves the time forward by `secs`.
    pub fn advance(&self, secs: u64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixTime {
        UnixTime(self.0.load(Ordering::SeqCst))
    }
}

/// The code on screen during one 30-second slot.
#[derive(Clone, Debug)]
pub struct CurrentCode {
    /// `floor(timestamp / 30)`.
    pub slot: u64,
    /// The code's signed timestamp (start of the slot).
    pub timestamp: UnixTime,
    /// The hour epoch (whose `P_e` the code carries).
    pub epoch: Epoch,
    /// The code text the QR holds (`CheckInCode::to_url`).
    pub url: String,
    /// The signed code bytes.
    pub bytes: Vec<u8>,
    /// QR version at level M.
    pub qr_version: i16,
    /// The QR as SVG.
    pub svg: String,
}

impl CurrentCode {
    /// Seconds from `now` until the next re-sign.
    pub fn refresh_in(&self, now: UnixTime) -> u64 {
        screen::Slot::of(self.timestamp).refresh_in(now)
    }
}

/// What the display shows at some moment.
#[derive(Clone, Debug)]
pub enum Showing {
    /// A code.
    Code(CurrentCode),
    /// An event before its start.
    EventNotStarted(EventWindow),
    /// An event after its end.
    EventEnded(EventWindow),
    /// A day the display holds no keys for (its display file ended or has not
    /// begun): export a new display file.
    OutsideDays {
        /// First day it holds (UTC day).
        first: Day,
        /// Last day it holds.
        last: Day,
    },
}

/// Days of display keys the venue-file display derives at a time.
const VENUE_FILE_DISPLAY_DAYS: u32 = 2;

/// Derives a display file for the days from a given day (the venue-file display's
/// way to renew its keys; it holds the master, the issuer never does).
type Renew = Box<dyn Fn(Day) -> Result<DisplayFile> + Send + Sync>;

/// Keeps a newer descriptor the display adopted (the venue-file display writes it
/// into the venue file).
type KeepDescriptor = Box<dyn Fn(&[u8]) -> Result<()> + Send + Sync>;

struct Inner {
    /// The authority's descriptor the codes are sealed under: the pinned one, or a
    /// newer one verified as its update ([`Display::adopt_descriptor`]).
    descriptor: AuthorityDescriptor,
    /// `None` until the venue-file display derives its first days' keys.
    issuer: Option<CodeIssuer>,
    first_day: Day,
    last_day: Day,
    current: Option<CurrentCode>,
    checkpoint: Option<ChainCheckpoint>,
    head: Option<HeadState>,
}

/// The display's state: the issuer and the code of the current slot.
pub struct Display {
    info: VenueInfo,
    base_url: String,
    authority_name: String,
    event: Option<Event>,
    utc_offset_minutes: i32,
    clock: Arc<dyn Clock>,
    renew: Option<Renew>,
    keep_descriptor: Option<KeepDescriptor>,
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for Display {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Display")
            .field("venue", &self.info.name)
            .finish_non_exhaustive()
    }
}

impl Display {
    /// A display for `venue` reading time from `clock`. Its codes come from the
    /// display keys of today and tomorrow (UTC days), derived again from the
    /// venue's master when the day turns; the code issuer never holds the master.
    pub fn new(venue: &Venue, clock: Arc<dyn Clock>) -> Result<Self> {
        // The venue's details are checked now; the keys of the days shown are
        // derived at the first code (the clock is read only then).
        let df = venue.display_file(Day(1), 1)?;
        let venue = Arc::new(Mutex::new(venue.clone()));
        let renewing = Arc::clone(&venue);
        let renew: Renew = Box::new(move |day| {
            renewing
                .lock()
                .map_err(|_| VenueError::InvalidInput("venue state poisoned".into()))?
                .display_file(day, VENUE_FILE_DISPLAY_DAYS)
        });
        let keep: KeepDescriptor = Box::new(move |bytes| {
            venue
                .lock()
                .map_err(|_| VenueError::InvalidInput("venue state poisoned".into()))?
                .adopt_descriptor(bytes)
                .map(|_| ())
        });
        let mut d = Self::build(&df, clock, Some(renew))?;
        d.keep_descriptor = Some(keep);
        d.lock()?.issuer = None;
        Ok(d)
    }

    /// A display that holds only a display file: codes for its days, nothing else.
    /// A newer descriptor it adopts lives in memory for the run (the display file
    /// is sealed and not rewritten; the next run follows the update again).
    pub fn from_display_file(df: &DisplayFile, clock: Arc<dyn Clock>) -> Result<Self> {
        Self::build(df, clock, None)
    }

    fn build(df: &DisplayFile, clock: Arc<dyn Clock>, renew: Option<Renew>) -> Result<Self> {
        Ok(Display {
            info: df.venue.clone(),
            base_url: df.descriptor.base_url.clone(),
            authority_name: df.descriptor.name.clone(),
            event: df.event,
            utc_offset_minutes: df.utc_offset_minutes,
            clock,
            renew,
            keep_descriptor: None,
            inner: Mutex::new(Inner {
                descriptor: df.descriptor.clone(),
                issuer: Some(screen::issuer_of(df)?),
                first_day: df.first_day,
                last_day: df.last_day,
                current: None,
                checkpoint: None,
                head: None,
            }),
        })
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Inner>> {
        self.inner
            .lock()
            .map_err(|_| VenueError::InvalidInput("display state poisoned".into()))
    }

    /// Checks a bulletin head (`GET /v1/bulletins/head`) with the protocol's rule
    /// ([`ChainView::check_head`]: signature by the pinned authority, not expired,
    /// not older than the head verified before) and, if its latest bulletin exists,
    /// puts that bulletin's checkpoint in every code from now on (the current slot
    /// is re-signed). Returns the checkpoint.
    pub fn accept_head(&self, bytes: &[u8]) -> Result<Option<ChainCheckpoint>> {
        let now = self.clock.now();
        let mut inner = self.lock()?;
        let view = ChainView {
            last: None,
            head: inner.head,
        };
        let (head, _) = view.check_head(bytes, &inner.descriptor, now)?;
        let checkpoint = if head.latest.sequence > 0 {
            ChainCheckpoint::new(head.latest.sequence, &head.latest.hash)
        } else {
            None
        };
        inner.head = Some(HeadState::from(&head));
        if checkpoint != inner.checkpoint {
            inner.checkpoint = checkpoint;
            if let Some(issuer) = inner.issuer.as_mut() {
                issuer.set_checkpoint(checkpoint);
            }
            inner.current = None;
        }
        Ok(checkpoint)
    }

    /// Fetches the head from `server_url` and [`Display::accept_head`]s it. A head
    /// signed under a newer descriptor than the display's makes it fetch `GET
    /// /v1/descriptor` and [`Display::adopt_descriptor`] it first (a descriptor
    /// that is not a signed update is refused, and the display keeps its own).
    pub fn refresh_head(&self, server_url: &str) -> Result<Option<ChainCheckpoint>> {
        let base = crate::venue::validate_base_url(server_url)?;
        let bytes = crate::http::get_bytes(
            &format!("{base}/v1/bulletins/head"),
            u64::try_from(HEAD_LEN).unwrap_or(u64::MAX),
        )?;
        match self.accept_head(&bytes) {
            Err(VenueError::Protocol(quet_protocol::Error::DescriptorOutdated { .. })) => {
                self.adopt_descriptor(&crate::http::fetch_descriptor(&base)?)?;
                self.accept_head(&bytes)
            }
            r => r,
        }
    }

    /// Adopts a newer descriptor of the display's authority, verified as its update
    /// ([`AuthorityDescriptor::verify_update`]): codes from the next slot on are
    /// sealed to the capsule keys it announces, and a venue-file display writes it
    /// into the venue file ([`Venue::adopt_descriptor`]). Returns whether it was
    /// newer.
    pub fn adopt_descriptor(&self, bytes: &[u8]) -> Result<bool> {
        let mut inner = self.lock()?;
        let newer = inner
            .descriptor
            .verify_update(bytes)
            .map_err(|e| VenueError::BadDescriptor(e.to_string()))?;
        if newer == inner.descriptor {
            return Ok(false);
        }
        if let Some(keep) = &self.keep_descriptor {
            keep(bytes)?;
        }
        if let Some(issuer) = inner.issuer.as_mut() {
            issuer.set_authority(&newer)?;
        }
        inner.descriptor = newer;
        inner.current = None;
        Ok(true)
    }

    /// The serial of the descriptor the codes are sealed under now.
    pub fn descriptor_serial(&self) -> Option<u64> {
        self.lock().ok().map(|i| i.descriptor.serial)
    }

    /// The checkpoint codes carry now, if any.
    pub fn checkpoint(&self) -> Option<ChainCheckpoint> {
        self.lock().ok().and_then(|i| i.checkpoint)
    }

    /// The clock's time.
    pub fn now(&self) -> UnixTime {
        self.clock.now()
    }

    /// What to show now.
    pub fn showing(&self) -> Result<Showing> {
        self.showing_at(self.clock.now())
    }

    /// What to show at `now`: the code of `now`'s 30-second slot, re-signed only
    /// when the slot changes.
    pub fn showing_at(&self, now: UnixTime) -> Result<Showing> {
        let window = |e: Event| EventWindow {
            start: e.start,
            end: e.end,
        };
        let (slot, timestamp) = match screen::screen_state(self.event, now) {
            ScreenState::EventNotStarted(e) => return Ok(Showing::EventNotStarted(window(e))),
            ScreenState::EventEnded(e) => return Ok(Showing::EventEnded(window(e))),
            ScreenState::Code(s) => (s.index, s.timestamp),
        };
        let mut inner = self.lock()?;
        if let Some(c) = &inner.current
            && c.slot == slot
        {
            return Ok(Showing::Code(c.clone()));
        }
        let day = timestamp.day()?;
        if inner.issuer.is_none() || day < inner.first_day || day > inner.last_day {
            let Some(renew) = &self.renew else {
                return Ok(Showing::OutsideDays {
                    first: inner.first_day,
                    last: inner.last_day,
                });
            };
            let df = renew(day)?;
            // The venue's descriptor is the display's: an adopted one was written
            // into the venue (`keep_descriptor`) before the display took it.
            let mut issuer = screen::issuer_of(&df)?;
            issuer.set_checkpoint(inner.checkpoint);
            inner.issuer = Some(issuer);
            inner.first_day = df.first_day;
            inner.last_day = df.last_day;
        }
        let code = inner
            .issuer
            .as_mut()
            .ok_or_else(|| VenueError::InvalidInput("no display keys".into()))?
            .screen_code(&mut crate::system_rng(), timestamp)?;
        let url = code.to_url(&self.base_url);
        let qr_code = qr::make(url.as_bytes())?;
        let current = CurrentCode {
            slot,
            timestamp,
            epoch: code.epoch()?,
            qr_version: qr_code.version(),
            svg: qr::svg_of_matrix(&qr_code),
            url,
            bytes: code.as_bytes().to_vec(),
        };
        inner.current = Some(current.clone());
        Ok(Showing::Code(current))
    }

    /// The venue's display info.
    pub fn info(&self) -> &VenueInfo {
        &self.info
    }
}

/// The JSON of `GET /api/code`.
#[derive(Clone, Debug, Serialize)]
pub struct CodeJson {
    /// Whether a code is shown (false outside an event's window).
    pub active: bool,
    /// Changes whenever the code changes.
    pub serial: String,
    /// The code text.
    pub url: String,
    /// Signed timestamp (Unix seconds).
    pub timestamp: u64,
    /// Hour epoch index.
    pub epoch: u32,
    /// Seconds until the next re-sign (the countdown).
    pub refresh_in: u64,
    /// QR version at level M.
    pub qr_version: i16,
    /// The QR as SVG.
    pub svg: String,
}

/// The display's routes: `/` (page), `/api/code` (JSON), `/code.svg`, `/healthz`.
pub fn router(display: Arc<Display>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/api/code", get(code_json))
        .route("/code.svg", get(code_svg))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(display)
}

/// Serves the display on `listener` until the future is dropped.
pub async fn serve(
    listener: tokio::net::TcpListener,
    display: Arc<Display>,
) -> std::io::Result<()> {
    axum::serve(listener, router(display)).await
}

fn error_response(e: &VenueError) -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response()
}

fn days_text(d: Day) -> String {
    crate::timefmt::format_date(crate::timefmt::civil_from_days(i64::from(d.0)))
}

const NO_STORE: (header::HeaderName, &str) = (header::CACHE_CONTROL, "no-store");

async fn page(State(d): State<Arc<Display>>) -> Response {
    let now = d.now();
    match d.showing_at(now) {
        Ok(Showing::Code(c)) => (
            [NO_STORE],
            Html(pages::display_page(
                &d.info,
                &c.svg,
                &c.slot.to_string(),
                c.refresh_in(now),
                &d.authority_name,
            )),
        )
            .into_response(),
        Ok(Showing::EventNotStarted(ev)) => {
            let at = crate::timefmt::format_local(UnixTime(ev.start), d.utc_offset_minutes);
            Html(pages::display_idle_page(
                &d.info,
                &format!("Sự kiện chưa bắt đầu (bắt đầu {at})."),
                &format!("The event has not started yet (starts {at})."),
            ))
            .into_response()
        }
        Ok(Showing::EventEnded(_)) => Html(pages::display_idle_page(
            &d.info,
            "Sự kiện đã kết thúc.",
            "The event has ended.",
        ))
        .into_response(),
        Ok(Showing::OutsideDays { first, last }) => {
            let (a, b) = (days_text(first), days_text(last));
            Html(pages::display_idle_page(
                &d.info,
                &format!("Tệp hiển thị chỉ có mã cho {a} – {b}. Hãy xuất tệp mới."),
                &format!("The display file holds codes for {a} – {b} only. Export a new one."),
            ))
            .into_response()
        }
        Err(e) => error_response(&e),
    }
}

async fn code_json(State(d): State<Arc<Display>>) -> Response {
    let now = d.now();
    match d.showing_at(now) {
        Ok(Showing::Code(c)) => (
            [NO_STORE],
            axum::Json(CodeJson {
                active: true,
                serial: c.slot.to_string(),
                refresh_in: c.refresh_in(now),
                timestamp: c.timestamp.0,
                epoch: c.epoch.index,
                qr_version: c.qr_version,
                svg: c.svg,
                url: c.url,
            }),
        )
            .into_response(),
        Ok(_) => ([NO_STORE], axum::Json(serde_json::json!({"active": false}))).into_response(),
        Err(e) => error_response(&e),
    }
}

async fn code_svg(State(d): State<Arc<Display>>) -> Response {
    match d.showing() {
        Ok(Showing::Code(c)) => {
            ([NO_STORE, (header::CONTENT_TYPE, "image/svg+xml")], c.svg).into_response()
        }
        Ok(_) => (StatusCode::NOT_FOUND, "no code now / không có mã lúc này").into_response(),
        Err(e) => error_response(&e),
    }
}
