//! Exposure notices: the published venue-time keys of one trace, and a message only
//! those who were there can read.
//!
//! ```text
//! notice = [16] nonce || u8 epoch kind || u32 first epoch || u16 count
//!          || count × ( [32] venue_time_secret(e) || [16] wrap_e )
//!          || u16 body length || sealed body
//! body_key (16 B, random)
//! wrap_e   = body_key XOR HKDF(salt = nonce, ikm = notice_secret(e), info = "quet/v1/wrap" || e)[..16]
//! sealed body = ChaCha20-Poly1305(HKDF(salt = nonce, ikm = body_key, info = "quet/v1/body"),
//!               nonce 0, aad = notice header, body padded to a multiple of 64 B)
//! body     = u8 version || u8 severity || u64 window start || u64 window end
//!            || str16 message (vi) || str16 message (en)
//! ```
//!
//! 48 bytes per published key, epochs implied by `first + i`. Only someone who saw
//! the code in epoch e holds `notice_secret(e)` and can unwrap the body key; the
//! severity and the exact window are inside the sealed body.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use crate::codec::{Reader, Writer, check_len, check_zero_padding};
use crate::error::{Error, Result};
use crate::kdf::{BODY_LABEL, WRAP_LABEL, derive};
use crate::time::{Epoch, EpochKind, UnixTime};
use crate::venue_keys::{DayKey, NoticeSecret, VenueTimeSecret};

/// Bytes per published venue-time key (key and wrap).
pub const ENTRY_LEN: usize = 48;
/// Most epochs one notice may cover (three weeks of hours).
pub const MAX_NOTICE_EPOCHS: usize = 21 * 24;
/// Longest message per language, in bytes.
pub const MAX_MESSAGE_LEN: usize = 1000;
/// Sealed bodies are padded to a multiple of this.
pub const BODY_PADDING_BLOCK: usize = 64;
const BODY_VERSION: u8 = 1;
const HEADER_LEN: usize = 16 + 1 + 4 + 2;

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

/// The sealed part of a notice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoticeBody {
    /// Advice level.
    pub severity: Severity,
    /// Start of the exact exposure window.
    pub window_start: UnixTime,
    /// End of the exact exposure window (exclusive).
    pub window_end: UnixTime,
    /// Message in Vietnamese.
    pub message_vi: String,
    /// Message in English.
    pub message_en: String,
}

impl NoticeBody {
    fn encode(&self) -> Result<Zeroizing<Vec<u8>>> {
        check_len("message (vi)", &self.message_vi, MAX_MESSAGE_LEN)?;
        check_len("message (en)", &self.message_en, MAX_MESSAGE_LEN)?;
        if self.window_end <= self.window_start {
            return Err(Error::InvalidWindow);
        }
        let mut w = Writer::with_capacity(256);
        w.u8(BODY_VERSION)
            .u8(self.severity.to_byte())
            .u64(self.window_start.0)
            .u64(self.window_end.0)
            .str16(&self.message_vi)
            .str16(&self.message_en);
        let padded = w.len().div_ceil(BODY_PADDING_BLOCK) * BODY_PADDING_BLOCK;
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
        let message_vi = r.str16("message (vi)", MAX_MESSAGE_LEN)?;
        let message_en = r.str16("message (en)", MAX_MESSAGE_LEN)?;
        check_zero_padding(r.take_rest(), "notice body padding")?;
        if window_end <= window_start {
            return Err(Error::InvalidWindow);
        }
        Ok(NoticeBody {
            severity,
            window_start,
            window_end,
            message_vi,
            message_en,
        })
    }
}

/// One published venue-time key and its wrap of the body key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoticeEntry {
    /// `venue_time_secret(e)`, now public.
    pub venue_time_secret: [u8; 32],
    /// The body key wrapped for visitors of epoch e.
    pub wrap: [u8; 16],
}

/// An exposure notice: consecutive epochs of one kind, one sealed body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExposureNotice {
    /// Random id; also how a later bulletin withdraws it.
    pub nonce: [u8; 16],
    /// The epoch of the first entry; entry i is epoch `first + i`.
    pub first_epoch: Epoch,
    /// The published keys.
    pub entries: Vec<NoticeEntry>,
    /// The sealed body.
    pub sealed_body: Vec<u8>,
}

/// The window of epochs to publish for a case's stay: `[arrival − max stay − buffer,
/// departure + buffer)`; and the exact window that goes in the body:
/// `[arrival − buffer, departure + buffer)`. Returns `(epoch window, exact window)`.
pub fn trace_windows(
    arrival: UnixTime,
    departure: UnixTime,
    max_stay_secs: u64,
    buffer_secs: u64,
) -> Result<((UnixTime, UnixTime), (UnixTime, UnixTime))> {
    if departure < arrival {
        return Err(Error::InvalidWindow);
    }
    let exact_start = arrival.saturating_sub(buffer_secs);
    let exact_end = departure.checked_add(buffer_secs)?.checked_add(1)?;
    let epoch_start = exact_start.saturating_sub(max_stay_secs);
    Ok(((epoch_start, exact_end), (exact_start, exact_end)))
}

fn wrap_pad(notice_secret: &NoticeSecret, nonce: &[u8; 16], epoch: Epoch) -> Zeroizing<[u8; 16]> {
    Zeroizing::new(derive(
        Some(nonce),
        notice_secret.expose(),
        WRAP_LABEL,
        &epoch.to_bytes(),
    ))
}

fn body_cipher(body_key: &[u8; 16], nonce: &[u8; 16]) -> ChaCha20Poly1305 {
    let key: Zeroizing<[u8; 32]> = Zeroizing::new(derive(Some(nonce), body_key, BODY_LABEL, &[]));
    ChaCha20Poly1305::new(&Key::from(*key))
}

fn xor16(a: &[u8; 16], b: &[u8; 16]) -> [u8; 16] {
    let mut out = [0u8; 16];
    for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
        *o = x ^ y;
    }
    out
}

impl ExposureNotice {
    fn header(&self) -> Result<[u8; HEADER_LEN]> {
        let count = u16::try_from(self.entries.len()).map_err(|_| Error::TooLong {
            what: "notice epochs",
            max: MAX_NOTICE_EPOCHS,
        })?;
        let mut h = [0u8; HEADER_LEN];
        let mut w = Writer::with_capacity(HEADER_LEN);
        w.bytes(&self.nonce)
            .u8(self.first_epoch.kind.to_byte())
            .u32(self.first_epoch.index)
            .u16(count);
        h.copy_from_slice(w.as_slice());
        Ok(h)
    }

    /// Builds a notice for every epoch of `kind` overlapping `[epoch_start, epoch_end)`,
    /// from the venue's day keys (from a capsule or the tracing sheet).
    pub fn build<R: CryptoRng + ?Sized>(
        rng: &mut R,
        day_keys: &[DayKey],
        kind: EpochKind,
        epoch_window: (UnixTime, UnixTime),
        body: &NoticeBody,
    ) -> Result<ExposureNotice> {
        // Bound the window before enumerating its epochs (an unbounded window would
        // allocate one entry per epoch first); the exact count is checked below.
        let span = epoch_window.1.0.saturating_sub(epoch_window.0.0);
        if span / kind.length_secs() > MAX_NOTICE_EPOCHS as u64 {
            return Err(Error::TooLong {
                what: "notice epochs",
                max: MAX_NOTICE_EPOCHS,
            });
        }
        let epochs = Epoch::overlapping(kind, epoch_window.0, epoch_window.1)?;
        if epochs.len() > MAX_NOTICE_EPOCHS {
            return Err(Error::TooLong {
                what: "notice epochs",
                max: MAX_NOTICE_EPOCHS,
            });
        }
        let first_epoch = *epochs.first().ok_or(Error::InvalidWindow)?;
        let mut nonce = [0u8; 16];
        rng.fill_bytes(&mut nonce);
        let mut body_key = Zeroizing::new([0u8; 16]);
        rng.fill_bytes(body_key.as_mut());
        let mut entries = Vec::with_capacity(epochs.len());
        for e in &epochs {
            let dk = day_keys
                .iter()
                .find(|k| k.day == e.day())
                .ok_or(Error::MissingDayKey)?;
            let secret: VenueTimeSecret = dk.venue_time_secret(*e)?;
            let pad = wrap_pad(&dk.notice_secret(*e)?, &nonce, *e);
            entries.push(NoticeEntry {
                venue_time_secret: *secret.expose(),
                wrap: xor16(&body_key, &pad),
            });
        }
        let mut notice = ExposureNotice {
            nonce,
            first_epoch,
            entries,
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

    /// A decoy notice of random keys, for padding a bulletin. It matches no token
    /// and is indistinguishable from a real notice without the epochs' secrets.
    /// `body_len` is rounded up to a length a real sealed body can have.
    pub fn decoy<R: CryptoRng + ?Sized>(
        rng: &mut R,
        first_epoch: Epoch,
        count: usize,
        body_len: usize,
    ) -> ExposureNotice {
        let mut nonce = [0u8; 16];
        rng.fill_bytes(&mut nonce);
        let entries = (0..count.clamp(1, MAX_NOTICE_EPOCHS))
            .map(|_| {
                let mut e = NoticeEntry {
                    venue_time_secret: [0; 32],
                    wrap: [0; 16],
                };
                rng.fill_bytes(&mut e.venue_time_secret);
                rng.fill_bytes(&mut e.wrap);
                e
            })
            .collect();
        // A real sealed body is whole padding blocks plus the 16-byte tag; round the
        // decoy's to such a length, or its length alone would give it away.
        let blocks = body_len
            .saturating_sub(16)
            .div_ceil(BODY_PADDING_BLOCK)
            .clamp(1, (usize::from(u16::MAX) - 16) / BODY_PADDING_BLOCK);
        let mut sealed_body = vec![0u8; blocks * BODY_PADDING_BLOCK + 16];
        rng.fill_bytes(&mut sealed_body);
        ExposureNotice {
            nonce,
            first_epoch,
            entries,
            sealed_body,
        }
    }

    /// The epoch of entry `i`.
    pub fn epoch_of(&self, i: usize) -> Option<Epoch> {
        let index = self.first_epoch.index.checked_add(u32::try_from(i).ok()?)?;
        Some(Epoch {
            kind: self.first_epoch.kind,
            index,
        })
    }

    /// Opens the body with the notice secret of entry `i`'s epoch.
    pub fn open_body(&self, i: usize, notice_secret: &NoticeSecret) -> Result<NoticeBody> {
        const WHAT: &str = "notice body";
        let entry = self.entries.get(i).ok_or(Error::InvalidField {
            field: "notice entry",
        })?;
        let epoch = self.epoch_of(i).ok_or(Error::TimeOutOfRange)?;
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
        for e in &self.entries {
            w.bytes(&e.venue_time_secret).bytes(&e.wrap);
        }
        let len = u16::try_from(self.sealed_body.len()).map_err(|_| Error::TooLong {
            what: "notice body",
            max: usize::from(u16::MAX),
        })?;
        w.u16(len).bytes(&self.sealed_body);
        Ok(())
    }

    /// The encoded bytes of this notice alone.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut w = Writer::with_capacity(
            HEADER_LEN + self.entries.len() * ENTRY_LEN + 2 + self.sealed_body.len(),
        );
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
        let kind = EpochKind::from_byte(r.u8()?)?;
        let first = r.u32()?;
        let count = usize::from(r.u16()?);
        if count == 0 || count > MAX_NOTICE_EPOCHS {
            return Err(Error::InvalidField {
                field: "notice epoch count",
            });
        }
        first
            .checked_add(u32::try_from(count).map_err(|_| Error::TimeOutOfRange)?)
            .ok_or(Error::TimeOutOfRange)?;
        let mut entries = Vec::with_capacity(count.min(r.remaining() / ENTRY_LEN));
        for _ in 0..count {
            entries.push(NoticeEntry {
                venue_time_secret: r.array()?,
                wrap: r.array()?,
            });
        }
        let body_len = usize::from(r.u16()?);
        let sealed_body = r.take(body_len)?.to_vec();
        Ok(ExposureNotice {
            nonce,
            first_epoch: Epoch { kind, index: first },
            entries,
            sealed_body,
        })
    }
}
