//! Exposure notices (version 2): the published venue-time keys of one trace, and a
//! message only those who were there can read.
//!
//! ```text
//! notice   = [16] nonce || u8 segment count S (1 or 2)
//!            || S × ( u8 epoch kind || u32 first epoch || u16 count )
//!            || for each segment, count × ( key || [16] wrap_e )
//!            || u16 sealed body length || sealed body
//! key      = venue_time_seed(e) (16 B) for seeded kinds, venue_time_secret(e) (32 B)
//!            for the version 1 kinds (hour, UTC day)
//! body_key = 16 random bytes
//! wrap_e   = body_key XOR HKDF(salt = nonce, ikm = notice_secret(e), info = "quet/v2/wrap" || e)[..16]
//! sealed   = ChaCha20-Poly1305(HKDF(salt = nonce, ikm = body_key, info = "quet/v2/body"),
//!            nonce 0, aad = nonce || S || segment headers, body)
//! body     = u8 version (2) || u8 severity || u64 window start || u64 window end
//!            || u16 template || str16 extra text (vi) || str16 extra text (en)
//!            || zero bytes up to 32 · 2^k bytes (the smallest that fits)
//! ```
//!
//! A trace of a venue that shows a screen and prints posters is one notice with two
//! segments (its hours and its local days): one body, one nonce. 32 bytes per
//! published key for version 2 codes (16-byte seed and 16-byte wrap); 48 for version
//! 1 codes. Only someone who saw the code in epoch e holds `notice_secret(e)` and
//! can unwrap the body key; severity, window and text are inside the sealed body.
//! The text is a bilingual template the phone knows ([`template_text`]) plus an
//! optional extra text, so most bodies are 48 bytes sealed.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use crate::codec::{Reader, Writer, check_len, check_zero_padding};
use crate::error::{Error, Result};
use crate::kdf::{BODY_V2_LABEL, WRAP_V2_LABEL, derive};
use crate::time::{Epoch, EpochKind, UnixTime, UtcOffset};
use crate::venue_keys::{DayKey, NoticeSecret, VenueTimeSecret, VenueTimeSeed};

/// Bytes of a wrap.
pub const WRAP_LEN: usize = 16;
/// Most epochs one notice may cover, over all its segments (three weeks of hours).
pub const MAX_NOTICE_EPOCHS: usize = 21 * 24;
/// Most segments in one notice (one per epoch kind a venue uses: hours and days).
pub const MAX_SEGMENTS: usize = 2;
/// Longest extra text per language, in bytes.
pub const MAX_MESSAGE_LEN: usize = 1000;
/// Smallest padded body; bodies are padded to this times a power of two.
pub const BODY_BLOCK: usize = 32;
const AEAD_TAG: usize = 16;
const BODY_VERSION: u8 = 2;
const SEGMENT_HEADER_LEN: usize = 1 + 4 + 2;

/// Bytes per published key and wrap for epochs of `kind`: 32 for seeded kinds,
/// 48 for version 1 kinds.
pub fn entry_len(kind: EpochKind) -> usize {
    if kind.is_seeded() {
        16 + WRAP_LEN
    } else {
        32 + WRAP_LEN
    }
}

/// The padded length of a body whose content is `content_len` bytes: the smallest
/// `32 · 2^k` that holds it.
pub fn padded_body_len(content_len: usize) -> usize {
    let mut len = BODY_BLOCK;
    while len < content_len {
        len *= 2;
    }
    len
}

/// Whether `sealed_len` is a length a sealed body can have (`32 · 2^k + 16`).
pub fn is_sealed_body_len(sealed_len: usize) -> bool {
    sealed_len
        .checked_sub(AEAD_TAG)
        .is_some_and(|b| b >= BODY_BLOCK && b.is_power_of_two())
}

/// How strongly the HA advises those exposed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Watch for symptoms.
    Monitor,
    /// Get tested.
    Test,
    /// Isolate and get tested.
    Isolate,
}

impl Severity {
    /// The wire byte.
    pub fn to_byte(self) -> u8 {
        match self {
            Severity::Monitor => 1,
            Severity::Test => 2,
            Severity::Isolate => 3,
        }
    }

    /// Parses the wire byte.
    pub fn from_byte(b: u8) -> Result<Severity> {
        match b {
            1 => Ok(Severity::Monitor),
            2 => Ok(Severity::Test),
            3 => Ok(Severity::Isolate),
            _ => Err(Error::InvalidField { field: "severity" }),
        }
    }

    /// Vietnamese label.
    pub fn label_vi(self) -> &'static str {
        match self {
            Severity::Monitor => "Theo dõi sức khỏe",
            Severity::Test => "Đi xét nghiệm",
            Severity::Isolate => "Cách ly và xét nghiệm",
        }
    }

    /// English label.
    pub fn label_en(self) -> &'static str {
        match self {
            Severity::Monitor => "Monitor your health",
            Severity::Test => "Get tested",
            Severity::Isolate => "Isolate and get tested",
        }
    }
}

/// Template 0: no template, the extra text is the whole message.
pub const TEMPLATE_NONE: u16 = 0;
/// Template 1: monitor your health.
pub const TEMPLATE_MONITOR: u16 = 1;
/// Template 2: get tested.
pub const TEMPLATE_TEST: u16 = 2;
/// Template 3: isolate and get tested.
pub const TEMPLATE_ISOLATE: u16 = 3;

/// The bilingual text of a message template, `(vi, en)`. Phones show it followed by
/// the notice's extra text. An id this version does not know gets a general text,
/// so an authority may add templates before every phone knows them.
pub fn template_text(template: u16) -> (&'static str, &'static str) {
    match template {
        TEMPLATE_NONE => ("", ""),
        TEMPLATE_MONITOR => (
            "Bạn có thể đã tiếp xúc với một ca bệnh tại địa điểm này. Hãy theo dõi sức khỏe trong 14 ngày và báo cho trạm y tế nếu có triệu chứng.",
            "You may have been exposed to a case at this place. Monitor your health for 14 days and tell your health station if you have symptoms.",
        ),
        TEMPLATE_TEST => (
            "Bạn có thể đã tiếp xúc với một ca bệnh tại địa điểm này. Hãy đi xét nghiệm càng sớm càng tốt và theo dõi sức khỏe trong 14 ngày.",
            "You may have been exposed to a case at this place. Get tested as soon as possible and monitor your health for 14 days.",
        ),
        TEMPLATE_ISOLATE => (
            "Bạn có thể đã tiếp xúc với một ca bệnh tại địa điểm này. Hãy tự cách ly tại nhà và liên hệ trạm y tế để được xét nghiệm.",
            "You may have been exposed to a case at this place. Isolate at home and contact your health station to be tested.",
        ),
        _ => (
            "Cơ quan y tế có thông báo cho những người đã đến địa điểm này. Hãy liên hệ trạm y tế.",
            "The health authority has a notice for people who were at this place. Contact your health station.",
        ),
    }
}

/// The sealed part of a notice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoticeBody {
    /// Advice level.
    pub severity: Severity,
    /// Start of the exact exposure window.
    pub window_start: UnixTime,
    /// End of the exact exposure window (exclusive).
    pub window_end: UnixTime,
    /// Message template id ([`template_text`]).
    pub template: u16,
    /// Extra text in Vietnamese (may be empty).
    pub message_vi: String,
    /// Extra text in English (may be empty).
    pub message_en: String,
}

impl NoticeBody {
    /// The whole Vietnamese message: the template's text, then the extra text.
    pub fn text_vi(&self) -> String {
        join_text(template_text(self.template).0, &self.message_vi)
    }

    /// The whole English message: the template's text, then the extra text.
    pub fn text_en(&self) -> String {
        join_text(template_text(self.template).1, &self.message_en)
    }

    fn encode(&self) -> Result<Zeroizing<Vec<u8>>> {
        check_len("message (vi)", &self.message_vi, MAX_MESSAGE_LEN)?;
        check_len("message (en)", &self.message_en, MAX_MESSAGE_LEN)?;
        if self.window_end <= self.window_start {
            return Err(Error::InvalidWindow);
        }
        let mut w = Writer::with_capacity(64);
        w.u8(BODY_VERSION)
            .u8(self.severity.to_byte())
            .u64(self.window_start.0)
            .u64(self.window_end.0)
            .u16(self.template)
            .str16(&self.message_vi)
            .str16(&self.message_en);
        let padded = padded_body_len(w.len());
        w.pad_to(padded);
        Ok(Zeroizing::new(w.into_vec()))
    }

    fn decode(bytes: &[u8]) -> Result<NoticeBody> {
        const WHAT: &str = "notice body";
        let mut r = Reader::new(bytes, WHAT);
        let version = r.u8()?;
        if version != BODY_VERSION {
            return Err(Error::UnsupportedVersion {
                what: WHAT,
                version,
            });
        }
        let severity = Severity::from_byte(r.u8()?)?;
        let window_start = UnixTime(r.u64()?);
        let window_end = UnixTime(r.u64()?);
        let template = r.u16()?;
        let message_vi = r.str16("message (vi)", MAX_MESSAGE_LEN)?;
        let message_en = r.str16("message (en)", MAX_MESSAGE_LEN)?;
        let content = bytes.len() - r.remaining();
        if bytes.len() != padded_body_len(content) {
            return Err(Error::InvalidField {
                field: "notice body padding",
            });
        }
        check_zero_padding(r.take_rest(), "notice body padding")?;
        if window_end <= window_start {
            return Err(Error::InvalidWindow);
        }
        Ok(NoticeBody {
            severity,
            window_start,
            window_end,
            template,
            message_vi,
            message_en,
        })
    }
}

fn join_text(template: &str, extra: &str) -> String {
    match (template.is_empty(), extra.is_empty()) {
        (true, _) => extra.to_owned(),
        (false, true) => template.to_owned(),
        (false, false) => format!("{template}\n{extra}"),
    }
}

/// A published key: the 16-byte seed of a seeded epoch, or the 32-byte secret of a
/// version 1 epoch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublishedKey {
    /// `venue_time_seed(e)`.
    Seed([u8; 16]),
    /// `venue_time_secret(e)`.
    Secret([u8; 32]),
}

impl PublishedKey {
    /// The X25519 scalar for epoch `e`.
    pub fn secret(&self, epoch: Epoch) -> VenueTimeSecret {
        match self {
            PublishedKey::Seed(s) => VenueTimeSeed::from_bytes(*s).secret(epoch),
            PublishedKey::Secret(s) => VenueTimeSecret::from_bytes(*s),
        }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            PublishedKey::Seed(s) => s,
            PublishedKey::Secret(s) => s,
        }
    }
}

/// One published key and its wrap of the body key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoticeEntry {
    /// The key, now public.
    pub key: PublishedKey,
    /// The body key wrapped for visitors of this epoch.
    pub wrap: [u8; 16],
}

/// Consecutive epochs of one kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoticeSegment {
    /// The epoch of the first entry; entry i is epoch `first + i`.
    pub first: Epoch,
    /// The entries.
    pub entries: Vec<NoticeEntry>,
}

impl NoticeSegment {
    /// The last epoch of the segment.
    pub fn last(&self) -> Epoch {
        let n = u32::try_from(self.entries.len().saturating_sub(1)).unwrap_or(0);
        Epoch {
            kind: self.first.kind,
            index: self.first.index.saturating_add(n),
        }
    }
}

/// An exposure notice: one or two segments of epochs, one sealed body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExposureNotice {
    /// Random id; also how a later bulletin withdraws it.
    pub nonce: [u8; 16],
    /// The segments, in increasing order of epoch kind.
    pub segments: Vec<NoticeSegment>,
    /// The sealed body.
    pub sealed_body: Vec<u8>,
}

/// What a trace publishes, given a verified stay: the exact window (in the body)
/// and, per code kind, the window of epochs whose visitors could have overlapped it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceWindows {
    /// `[arrival − buffer, departure + buffer + 1)`: the exposure window in the body.
    pub exact: (UnixTime, UnixTime),
    /// Screen codes: a visitor who arrived up to one maximum stay before the exact
    /// window may still have been there; a screen code's time may differ from the
    /// arrival by the freshness slack. `[exact start − max stay − slack, exact end +
    /// slack)`.
    pub screen: (UnixTime, UnixTime),
    /// Poster codes: the poster's day is the arrival's day. `[exact start − max
    /// stay, exact end)`.
    pub poster: (UnixTime, UnixTime),
}

/// The smallest windows that still reach every visitor whose stay (clipped to the
/// venue's maximum) overlaps the case's stay widened by `buffer_secs`.
pub fn trace_windows(
    arrival: UnixTime,
    departure: UnixTime,
    max_stay_secs: u64,
    buffer_secs: u64,
) -> Result<TraceWindows> {
    if departure < arrival {
        return Err(Error::InvalidWindow);
    }
    let slack = crate::code::SCREEN_FRESHNESS_SECS;
    let exact_start = arrival.saturating_sub(buffer_secs);
    let exact_end = departure.checked_add(buffer_secs)?.checked_add(1)?;
    let poster_start = exact_start.saturating_sub(max_stay_secs);
    Ok(TraceWindows {
        exact: (exact_start, exact_end),
        screen: (
            poster_start.saturating_sub(slack),
            exact_end.checked_add(slack)?,
        ),
        poster: (poster_start, exact_end),
    })
}

impl TraceWindows {
    /// The epochs of `kind` to publish (a local day counted in `offset`).
    pub fn epochs(&self, kind: EpochKind, offset: UtcOffset) -> Result<Vec<Epoch>> {
        let (start, end) = if kind.is_hour() {
            self.screen
        } else {
            self.poster
        };
        let span = end.0.saturating_sub(start.0);
        if span / kind.length_secs() > MAX_NOTICE_EPOCHS as u64 {
            return Err(Error::TooLong {
                what: "notice epochs",
                max: MAX_NOTICE_EPOCHS,
            });
        }
        Epoch::overlapping_with(kind, start, end, offset)
    }
}

/// What one trace publishes: a run of epochs per kind, and the exact window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TracePlan {
    /// One run of consecutive epochs per kind (in increasing kind order).
    pub segments: Vec<Vec<Epoch>>,
    /// The exact exposure window, for the body.
    pub exact: (UnixTime, UnixTime),
}

impl TracePlan {
    /// The plan for a stay `[arrival, departure]` at a venue with `max_stay_secs`,
    /// widened by `buffer_secs`, publishing the epoch kinds in `kinds` (local days
    /// counted in `offset`), without any epoch that starts after `now`: nothing is
    /// ever published for the future. [`trace_windows`] gives the windows.
    pub fn new(
        arrival: UnixTime,
        departure: UnixTime,
        max_stay_secs: u64,
        buffer_secs: u64,
        kinds: &[EpochKind],
        offset: UtcOffset,
        now: UnixTime,
    ) -> Result<TracePlan> {
        let windows = trace_windows(arrival, departure, max_stay_secs, buffer_secs)?;
        let mut kinds = kinds.to_vec();
        kinds.sort_unstable();
        kinds.dedup();
        let mut segments = Vec::with_capacity(kinds.len());
        for kind in kinds {
            let epochs: Vec<Epoch> = windows
                .epochs(kind, offset)?
                .into_iter()
                .filter(|e| e.start_with(offset) <= now)
                .collect();
            if !epochs.is_empty() {
                segments.push(epochs);
            }
        }
        if segments.is_empty() {
            return Err(Error::InvalidWindow);
        }
        Ok(TracePlan {
            segments,
            exact: windows.exact,
        })
    }

    /// The days whose keys the plan needs.
    pub fn days(&self) -> Vec<crate::time::Day> {
        let mut days: Vec<_> = self.segments.iter().flatten().map(|e| e.day()).collect();
        days.sort_unstable();
        days.dedup();
        days
    }
}

fn wrap_pad(notice_secret: &NoticeSecret, nonce: &[u8; 16], epoch: Epoch) -> Zeroizing<[u8; 16]> {
    Zeroizing::new(derive(
        Some(nonce),
        notice_secret.expose(),
        WRAP_V2_LABEL,
        &epoch.to_bytes(),
    ))
}

fn body_cipher(body_key: &[u8; 16], nonce: &[u8; 16]) -> ChaCha20Poly1305 {
    let key: Zeroizing<[u8; 32]> =
        Zeroizing::new(derive(Some(nonce), body_key, BODY_V2_LABEL, &[]));
    ChaCha20Poly1305::new(&Key::from(*key))
}

fn xor16(a: &[u8; 16], b: &[u8; 16]) -> [u8; 16] {
    let mut out = [0u8; 16];
    for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
        *o = x ^ y;
    }
    out
}

/// Checks the segment list: 1–2 segments of strictly increasing kind, each of
/// 1 or more epochs, at most [`MAX_NOTICE_EPOCHS`] in all, no index overflow.
fn check_segments(kinds_counts: &[(Epoch, usize)]) -> Result<()> {
    if kinds_counts.is_empty() || kinds_counts.len() > MAX_SEGMENTS {
        return Err(Error::InvalidField {
            field: "notice segment count",
        });
    }
    let mut total = 0usize;
    let mut prev: Option<EpochKind> = None;
    for (first, count) in kinds_counts {
        if *count == 0 {
            return Err(Error::InvalidField {
                field: "notice epoch count",
            });
        }
        if prev.is_some_and(|p| p >= first.kind) {
            return Err(Error::InvalidField {
                field: "notice segment order",
            });
        }
        prev = Some(first.kind);
        total = total.saturating_add(*count);
        first
            .index
            .checked_add(u32::try_from(*count).map_err(|_| Error::TimeOutOfRange)?)
            .ok_or(Error::TimeOutOfRange)?;
    }
    if total > MAX_NOTICE_EPOCHS {
        return Err(Error::InvalidField {
            field: "notice epoch count",
        });
    }
    Ok(())
}

impl ExposureNotice {
    /// The authenticated header: nonce, segment count and segment headers.
    fn header(&self) -> Result<Vec<u8>> {
        let mut w = Writer::with_capacity(17 + SEGMENT_HEADER_LEN * self.segments.len());
        w.bytes(&self.nonce)
            .u8(
                u8::try_from(self.segments.len()).map_err(|_| Error::InvalidField {
                    field: "notice segment count",
                })?,
            );
        for s in &self.segments {
            let count = u16::try_from(s.entries.len()).map_err(|_| Error::TooLong {
                what: "notice epochs",
                max: MAX_NOTICE_EPOCHS,
            })?;
            w.u8(s.first.kind.to_byte()).u32(s.first.index).u16(count);
        }
        Ok(w.into_vec())
    }

    /// Every published key with its global entry index and epoch, segment by segment.
    pub fn keys(&self) -> impl Iterator<Item = (usize, Epoch, &NoticeEntry)> {
        self.segments
            .iter()
            .flat_map(|s| {
                s.entries.iter().enumerate().map(move |(i, e)| {
                    let index = s
                        .first
                        .index
                        .saturating_add(u32::try_from(i).unwrap_or(u32::MAX));
                    (
                        Epoch {
                            kind: s.first.kind,
                            index,
                        },
                        e,
                    )
                })
            })
            .enumerate()
            .map(|(i, (epoch, e))| (i, epoch, e))
    }

    /// Number of published keys.
    pub fn key_count(&self) -> usize {
        self.segments.iter().map(|s| s.entries.len()).sum()
    }

    /// The epoch of global entry `i`.
    pub fn epoch_of(&self, i: usize) -> Option<Epoch> {
        self.keys().nth(i).map(|(_, e, _)| e)
    }

    /// Builds a notice for `segments` (each a run of consecutive epochs of one kind,
    /// kinds different), from the venue's day keys (from a capsule or the venue).
    pub fn build<R: CryptoRng + ?Sized>(
        rng: &mut R,
        day_keys: &[DayKey],
        segments: &[Vec<Epoch>],
        body: &NoticeBody,
    ) -> Result<ExposureNotice> {
        let mut plan: Vec<&Vec<Epoch>> = segments.iter().filter(|s| !s.is_empty()).collect();
        plan.sort_by_key(|s| s.first().map(|e| e.kind));
        let heads: Vec<(Epoch, usize)> = plan
            .iter()
            .filter_map(|s| s.first().map(|f| (*f, s.len())))
            .collect();
        check_segments(&heads)?;
        for s in &plan {
            let consecutive = s
                .windows(2)
                .all(|w| matches!(w, [a, b] if a.kind == b.kind && a.index.checked_add(1) == Some(b.index)));
            if !consecutive {
                return Err(Error::InvalidField {
                    field: "notice segment epochs",
                });
            }
        }
        let mut nonce = [0u8; 16];
        rng.fill_bytes(&mut nonce);
        let mut body_key = Zeroizing::new([0u8; 16]);
        rng.fill_bytes(body_key.as_mut());
        let mut out_segments = Vec::with_capacity(plan.len());
        for s in plan {
            let mut entries = Vec::with_capacity(s.len());
            for e in s {
                let dk = day_keys
                    .iter()
                    .find(|k| k.day == e.day())
                    .ok_or(Error::MissingDayKey)?;
                let key = if e.kind.is_seeded() {
                    PublishedKey::Seed(*dk.venue_time_seed(*e)?.expose())
                } else {
                    PublishedKey::Secret(*dk.venue_time_secret(*e)?.expose())
                };
                let pad = wrap_pad(&dk.notice_secret(*e)?, &nonce, *e);
                entries.push(NoticeEntry {
                    key,
                    wrap: xor16(&body_key, &pad),
                });
            }
            out_segments.push(NoticeSegment {
                first: *s.first().ok_or(Error::InvalidWindow)?,
                entries,
            });
        }
        let mut notice = ExposureNotice {
            nonce,
            segments: out_segments,
            sealed_body: Vec::new(),
        };
        let plain = body.encode()?;
        let header = notice.header()?;
        notice.sealed_body = body_cipher(&body_key, &nonce)
            .encrypt(
                &Nonce::default(),
                Payload {
                    msg: &plain,
                    aad: &header,
                },
            )
            .map_err(|_| Error::InvalidField {
                field: "notice body",
            })?;
        Ok(notice)
    }

    /// The shape of this notice as seen by anyone: per segment its kind, its count
    /// and how long before `issued_at` it ends; and the sealed body's length.
    /// Decoys are made in the shapes of real notices ([`ExposureNotice::decoy_like`]).
    pub fn shape(&self, issued_at: UnixTime, offset: UtcOffset) -> NoticeShape {
        NoticeShape {
            segments: self
                .segments
                .iter()
                .map(|s| SegmentShape {
                    kind: s.first.kind,
                    count: u16::try_from(s.entries.len()).unwrap_or(u16::MAX),
                    ends_before: issued_at.0.saturating_sub(s.last().end_with(offset).0),
                })
                .collect(),
            sealed_body_len: self.sealed_body.len(),
        }
    }

    /// A decoy notice in `shape`, ending as long before `issued_at` as the shape
    /// says (never after it): random nonce, keys, wraps and body. It matches no
    /// token, and without the epochs' notice secrets it cannot be told from a real
    /// notice of the same shape.
    pub fn decoy_like<R: CryptoRng + ?Sized>(
        rng: &mut R,
        shape: &NoticeShape,
        issued_at: UnixTime,
        offset: UtcOffset,
    ) -> Result<ExposureNotice> {
        let mut nonce = [0u8; 16];
        rng.fill_bytes(&mut nonce);
        let mut segments = Vec::with_capacity(shape.segments.len());
        for s in &shape.segments {
            let count = usize::from(s.count.max(1));
            let end = issued_at.saturating_sub(s.ends_before);
            let last = Epoch::containing_with(s.kind, end.saturating_sub(1), offset)?;
            let first_index = last
                .index
                .checked_sub(u32::try_from(count - 1).map_err(|_| Error::TimeOutOfRange)?)
                .ok_or(Error::TimeOutOfRange)?;
            let entries = (0..count)
                .map(|_| {
                    let key = if s.kind.is_seeded() {
                        let mut k = [0u8; 16];
                        rng.fill_bytes(&mut k);
                        PublishedKey::Seed(k)
                    } else {
                        let mut k = [0u8; 32];
                        rng.fill_bytes(&mut k);
                        PublishedKey::Secret(k)
                    };
                    let mut wrap = [0u8; 16];
                    rng.fill_bytes(&mut wrap);
                    NoticeEntry { key, wrap }
                })
                .collect();
            segments.push(NoticeSegment {
                first: Epoch {
                    kind: s.kind,
                    index: first_index,
                },
                entries,
            });
        }
        segments.sort_by_key(|s| s.first.kind);
        let heads: Vec<(Epoch, usize)> = segments
            .iter()
            .map(|s| (s.first, s.entries.len()))
            .collect();
        check_segments(&heads)?;
        if !is_sealed_body_len(shape.sealed_body_len)
            || shape.sealed_body_len > usize::from(u16::MAX)
        {
            return Err(Error::InvalidField {
                field: "notice body length",
            });
        }
        let mut sealed_body = vec![0u8; shape.sealed_body_len];
        rng.fill_bytes(&mut sealed_body);
        Ok(ExposureNotice {
            nonce,
            segments,
            sealed_body,
        })
    }

    /// Opens the body with the notice secret of global entry `i`'s epoch.
    pub fn open_body(&self, i: usize, notice_secret: &NoticeSecret) -> Result<NoticeBody> {
        const WHAT: &str = "notice body";
        let (_, epoch, entry) = self.keys().nth(i).ok_or(Error::InvalidField {
            field: "notice entry",
        })?;
        let pad = wrap_pad(notice_secret, &self.nonce, epoch);
        let body_key = Zeroizing::new(xor16(&entry.wrap, &pad));
        let header = self.header()?;
        let plain = body_cipher(&body_key, &self.nonce)
            .decrypt(
                &Nonce::default(),
                Payload {
                    msg: &self.sealed_body,
                    aad: &header,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| Error::DecryptionFailed { what: WHAT })?;
        NoticeBody::decode(&plain)
    }

    pub(crate) fn encode(&self, w: &mut Writer) -> Result<()> {
        w.bytes(&self.header()?);
        for s in &self.segments {
            for e in &s.entries {
                w.bytes(e.key.bytes()).bytes(&e.wrap);
            }
        }
        let len = u16::try_from(self.sealed_body.len()).map_err(|_| Error::TooLong {
            what: "notice body",
            max: usize::from(u16::MAX),
        })?;
        w.u16(len).bytes(&self.sealed_body);
        Ok(())
    }

    /// The encoded length.
    pub fn encoded_len(&self) -> usize {
        17 + self
            .segments
            .iter()
            .map(|s| SEGMENT_HEADER_LEN + s.entries.len() * entry_len(s.first.kind))
            .sum::<usize>()
            + 2
            + self.sealed_body.len()
    }

    /// The encoded bytes of this notice alone.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut w = Writer::with_capacity(self.encoded_len());
        self.encode(&mut w)?;
        Ok(w.into_vec())
    }

    /// Parses the encoding of a single notice ([`ExposureNotice::to_bytes`]), as a
    /// server stores queued notices between approval and publication.
    pub fn from_bytes(bytes: &[u8]) -> Result<ExposureNotice> {
        let mut r = Reader::new(bytes, "exposure notice");
        let notice = ExposureNotice::read(&mut r)?;
        r.finish()?;
        Ok(notice)
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<ExposureNotice> {
        let nonce = r.array()?;
        let segment_count = usize::from(r.u8()?);
        if segment_count == 0 || segment_count > MAX_SEGMENTS {
            return Err(Error::InvalidField {
                field: "notice segment count",
            });
        }
        let mut heads = Vec::with_capacity(segment_count);
        for _ in 0..segment_count {
            let kind = EpochKind::from_byte(r.u8()?)?;
            let index = r.u32()?;
            let count = usize::from(r.u16()?);
            heads.push((Epoch { kind, index }, count));
        }
        check_segments(&heads)?;
        let mut segments = Vec::with_capacity(segment_count);
        for (first, count) in heads {
            let mut entries = Vec::with_capacity(count.min(r.remaining() / 32));
            for _ in 0..count {
                let key = if first.kind.is_seeded() {
                    PublishedKey::Seed(r.array()?)
                } else {
                    PublishedKey::Secret(r.array()?)
                };
                entries.push(NoticeEntry {
                    key,
                    wrap: r.array()?,
                });
            }
            segments.push(NoticeSegment { first, entries });
        }
        let body_len = usize::from(r.u16()?);
        if !is_sealed_body_len(body_len) {
            return Err(Error::InvalidField {
                field: "notice body length",
            });
        }
        let sealed_body = r.take(body_len)?.to_vec();
        Ok(ExposureNotice {
            nonce,
            segments,
            sealed_body,
        })
    }
}

/// One segment's shape: what anyone sees of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SegmentShape {
    /// Epoch kind.
    pub kind: EpochKind,
    /// Number of epochs.
    pub count: u16,
    /// Seconds from the end of its last epoch to the bulletin's issue time.
    pub ends_before: u64,
}

/// What anyone sees of a notice: its segments' shapes and its sealed body length.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NoticeShape {
    /// Per segment.
    pub segments: Vec<SegmentShape>,
    /// Sealed body length.
    pub sealed_body_len: usize,
}

impl NoticeShape {
    /// A plausible shape for when an authority has no real notices yet to copy:
    /// the shape of a trace of a random category's venue (using its default
    /// maximum stay), a stay of 10 minutes to that maximum, a 30-minute buffer, a
    /// report 1 to 7 days later, posters with probability 1/3, and a template body.
    /// It is made by [`trace_windows`], the same function real traces use.
    pub fn prior<R: CryptoRng + ?Sized>(
        rng: &mut R,
        issued_at: UnixTime,
        offset: UtcOffset,
    ) -> Result<NoticeShape> {
        let categories = crate::category::Category::ALL;
        let category = categories
            .get(usize::try_from(rng.next_u32()).unwrap_or(0) % categories.len())
            .copied()
            .unwrap_or(crate::category::Category::Other);
        let max_stay = u64::from(category.default_max_stay_minutes()) * 60;
        let stay = 600 + u64::from(rng.next_u32()) % max_stay.saturating_sub(600).max(1);
        let delay = 86_400 + u64::from(rng.next_u32()) % (6 * 86_400);
        let departure = issued_at.saturating_sub(delay);
        let arrival = departure.saturating_sub(stay);
        let windows = trace_windows(arrival, departure, max_stay, 1_800)?;
        let mut segments = Vec::with_capacity(2);
        let mut kinds = vec![EpochKind::SeededHour];
        if rng.next_u32().is_multiple_of(3) {
            kinds.push(EpochKind::LocalDay);
        }
        for kind in kinds {
            let epochs = windows.epochs(kind, offset)?;
            let last = epochs.last().ok_or(Error::InvalidWindow)?;
            segments.push(SegmentShape {
                kind,
                count: u16::try_from(epochs.len()).unwrap_or(u16::MAX),
                ends_before: issued_at.0.saturating_sub(last.end_with(offset).0),
            });
        }
        Ok(NoticeShape {
            segments,
            sealed_body_len: BODY_BLOCK + AEAD_TAG,
        })
    }

    /// Published keys in this shape.
    pub fn key_count(&self) -> usize {
        self.segments.iter().map(|s| usize::from(s.count)).sum()
    }

    /// A copy with its age moved by up to ±12 hours (all segments together) and its
    /// hour segment one epoch longer or shorter, so that a decoy is not an exact
    /// replica of an earlier real notice: an observer holding every bulletin cannot
    /// tell the original (real) from its copies by which came first.
    pub fn jittered<R: CryptoRng + ?Sized>(&self, rng: &mut R) -> NoticeShape {
        const SPREAD: u64 = 12 * 3_600;
        let shift = u64::from(rng.next_u32()) % (2 * SPREAD + 1);
        let step = rng.next_u32() % 3;
        let mut out = self.clone();
        for s in &mut out.segments {
            s.ends_before = (s.ends_before + shift).saturating_sub(SPREAD);
            if s.kind.is_hour() {
                s.count = match step {
                    0 => s.count.saturating_sub(1).max(1),
                    1 => s.count,
                    _ => s.count.saturating_add(1),
                };
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::test_rng;
    use crate::venue_keys::VenueMasterKey;

    fn body() -> NoticeBody {
        NoticeBody {
            severity: Severity::Test,
            window_start: UnixTime(1_790_000_000),
            window_end: UnixTime(1_790_003_600),
            template: TEMPLATE_TEST,
            message_vi: String::new(),
            message_en: String::new(),
        }
    }

    #[test]
    fn a_template_body_seals_to_48_bytes_and_seeded_keys_take_32() {
        let mut rng = test_rng(1);
        let m = VenueMasterKey::generate(&mut rng);
        let t = UnixTime(1_790_000_000);
        let day = t.day().unwrap();
        let keys = [m.day_key(day)];
        let h = Epoch::containing(EpochKind::SeededHour, t).unwrap();
        let hours = vec![
            h,
            Epoch {
                index: h.index + 1,
                ..h
            },
        ];
        let n = ExposureNotice::build(&mut rng, &keys, &[hours], &body()).unwrap();
        assert_eq!(n.sealed_body.len(), 48);
        assert_eq!(n.encoded_len(), 17 + 7 + 2 * 32 + 2 + 48);
        assert_eq!(n.to_bytes().unwrap().len(), n.encoded_len());
        let notice_secret = keys[0].notice_secret(h).unwrap();
        let opened = n.open_body(0, &notice_secret).unwrap();
        assert_eq!(opened, body());
        assert!(opened.text_vi().contains("xét nghiệm"));
        // The seed expands to the secret whose public key the code shows.
        let PublishedKey::Seed(seed) = &n.segments[0].entries[0].key else {
            panic!("seeded epoch published a secret")
        };
        assert_eq!(
            VenueTimeSeed::from_bytes(*seed).secret(h),
            keys[0].venue_time_secret(h).unwrap()
        );
    }

    #[test]
    fn segments_must_be_ordered_and_bodies_canonically_padded() {
        let mut rng = test_rng(2);
        let shape = NoticeShape {
            segments: vec![SegmentShape {
                kind: EpochKind::SeededHour,
                count: 3,
                ends_before: 7200,
            }],
            sealed_body_len: 48,
        };
        let d = ExposureNotice::decoy_like(
            &mut rng,
            &shape,
            UnixTime(1_790_000_000),
            UtcOffset::VIETNAM,
        )
        .unwrap();
        let bytes = d.to_bytes().unwrap();
        assert_eq!(ExposureNotice::from_bytes(&bytes).unwrap(), d);
        assert_eq!(
            d.shape(UnixTime(1_790_000_000), UtcOffset::VIETNAM)
                .segments[0]
                .count,
            3
        );
        // A body length no real body has is refused.
        let mut bad = d.clone();
        bad.sealed_body.push(0);
        assert!(ExposureNotice::from_bytes(&bad.to_bytes().unwrap()).is_err());
        // Two segments of the same kind, or out of order, are refused.
        let mut twice = d.clone();
        twice.segments.push(d.segments[0].clone());
        assert!(ExposureNotice::from_bytes(&twice.to_bytes().unwrap()).is_err());
        assert!(padded_body_len(33) == 64 && padded_body_len(32) == 32);
        assert!(is_sealed_body_len(48) && is_sealed_body_len(80) && !is_sealed_body_len(64));
    }
}
