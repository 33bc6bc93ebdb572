//! Chaff: dummy report pairs that make a real report look like nothing special to
//! an observer of the authority's network (`spec/threat-model.md`, "An observer of
//! the network").
//!
//! Two rules live here, used by every client (the phone web app; the CLI sends
//! none, see the threat model):
//!
//! - **The bodies.** [`preview_body`] and [`upload_body`] build the JSON of
//!   `POST /v1/reports/preview` and `POST /v1/reports` for real reports
//!   (`"chaff": false`) and chaff (`"chaff": true`) alike, padded with trailing
//!   JSON whitespace to one fixed length each ([`PREVIEW_BODY_LEN`],
//!   [`UPLOAD_BODY_LEN`]): the length says nothing about the code's length, the
//!   flag, or how many of the 100 envelopes are real.
//! - **The schedule.** A phone sends a chaff pair (a preview, then an upload) at
//!   random times: the gap between pairs is exponential with a mean of
//!   [`PAIR_MEAN_GAP_SECS`] (clamped to [`PAIR_MIN_GAP_SECS`] ..=
//!   [`PAIR_MAX_GAP_SECS`]), so pairs form a Poisson-like process that an extra
//!   (real) pair does not disturb; the gap between a chaff preview and its upload
//!   is drawn log-uniformly in [`CONSENT_MIN_SECS`] ..= [`CONSENT_MAX_SECS`], the
//!   time a person takes to read the preview, tick the consent box and tap "send".
//!   An upload whose time passed more than [`UPLOAD_GRACE_SECS`] ago (the app was
//!   closed) is dropped, as a person who closed the app does not send either.
//!
//! The schedule is kept in the store's metadata (`chaff_schedule`): two times and
//! an authority id, which say nothing about the user's visits or reports.

use data_encoding::BASE64;
use quet_protocol::envelope::{ENVELOPE_LEN, REPORT_ENVELOPE_COUNT, ReportEnvelope};
use quet_protocol::time::UnixTime;
use serde::Serialize;

use crate::client::Client;
use crate::error::{ClientError, Result};
use crate::store::{Op, Store};
use crate::transport::{Request, Response, join};

/// The longest authorization code the bodies carry (JSON-escaped). Today's codes
/// have 19 characters (`XXXX-XXXX-XXXX-XXXX`).
pub const MAX_AUTH_CODE_LEN: usize = 32;

/// A preview body with an empty code (its fixed part).
const PREVIEW_FRAME: &str = r#"{"auth_code":"","chaff":false}"#;
/// An upload body with an empty code and no envelopes (its fixed part).
const UPLOAD_FRAME: &str = r#"{"auth_code":"","envelopes":[],"chaff":false}"#;
/// One envelope in standard base64.
const ENVELOPE_B64_LEN: usize = ENVELOPE_LEN.div_ceil(3) * 4;

/// Length of every preview body, real or chaff.
pub const PREVIEW_BODY_LEN: usize = PREVIEW_FRAME.len() + MAX_AUTH_CODE_LEN;
/// Length of every upload body, real or chaff: the frame, the longest code, and
/// 100 quoted envelopes separated by commas.
pub const UPLOAD_BODY_LEN: usize = UPLOAD_FRAME.len()
    + MAX_AUTH_CODE_LEN
    + REPORT_ENVELOPE_COUNT * (ENVELOPE_B64_LEN + 2)
    + (REPORT_ENVELOPE_COUNT - 1);

// The server reads at most 16 KiB of a preview and 128 KiB of an upload.
const _: () = assert!(PREVIEW_BODY_LEN <= 16 * 1024 && UPLOAD_BODY_LEN <= 128 * 1024);

/// Mean gap between two chaff pairs (5 days).
pub const PAIR_MEAN_GAP_SECS: u64 = 5 * 86_400;
/// Shortest gap between two chaff pairs.
pub const PAIR_MIN_GAP_SECS: u64 = 3600;
/// Longest gap between two chaff pairs.
pub const PAIR_MAX_GAP_SECS: u64 = 30 * 86_400;
/// Shortest gap between a chaff preview and its upload.
pub const CONSENT_MIN_SECS: u64 = 8;
/// Longest gap between a chaff preview and its upload.
pub const CONSENT_MAX_SECS: u64 = 240;
/// How late a chaff upload may still be sent (the app was in the background).
pub const UPLOAD_GRACE_SECS: u64 = 15 * 60;

/// Largest JSON answer read from the report endpoints.
pub(crate) const MAX_ANSWER_LEN: usize = 1 << 16;

/// The report preview endpoint (real and chaff).
pub(crate) const PREVIEW_PATH: &str = "/v1/reports/preview";
/// The report upload endpoint (real and chaff).
pub(crate) const UPLOAD_PATH: &str = "/v1/reports";

/// The store's metadata key of the schedule.
pub const META_SCHEDULE: &str = "chaff_schedule";
/// Version byte of the stored schedule.
const SCHEDULE_VERSION: u8 = 1;

#[derive(Serialize)]
struct PreviewBody<'a> {
    auth_code: &'a str,
    chaff: bool,
}

#[derive(Serialize)]
struct UploadBody<'a> {
    auth_code: &'a str,
    envelopes: &'a [String],
    chaff: bool,
}

/// JSON of `value` followed by spaces up to exactly `len` bytes.
fn padded<T: Serialize>(value: &T, len: usize) -> Result<Vec<u8>> {
    let mut body = serde_json::to_vec(value).map_err(|e| ClientError::Storage(e.to_string()))?;
    if body.len() > len {
        return Err(ClientError::InvalidSetting(format!(
            "a report body must fit {len} bytes (authorization codes up to {MAX_AUTH_CODE_LEN} characters, {REPORT_ENVELOPE_COUNT} envelopes of {ENVELOPE_LEN} bytes)"
        )));
    }
    body.resize(len, b' ');
    Ok(body)
}

/// The body of `POST /v1/reports/preview`: exactly [`PREVIEW_BODY_LEN`] bytes for
/// any code up to [`MAX_AUTH_CODE_LEN`] characters, real or chaff.
pub fn preview_body(auth_code: &str, chaff: bool) -> Result<Vec<u8>> {
    padded(&PreviewBody { auth_code, chaff }, PREVIEW_BODY_LEN)
}

/// The body of `POST /v1/reports`: exactly [`UPLOAD_BODY_LEN`] bytes. `envelopes`
/// must be [`REPORT_ENVELOPE_COUNT`] envelopes of [`ENVELOPE_LEN`] bytes (real ones
/// first, then padding), as the server requires.
pub fn upload_body(auth_code: &str, envelopes: &[Vec<u8>], chaff: bool) -> Result<Vec<u8>> {
    if envelopes.len() != REPORT_ENVELOPE_COUNT || envelopes.iter().any(|e| e.len() != ENVELOPE_LEN)
    {
        return Err(ClientError::InvalidSetting(format!(
            "a report carries exactly {REPORT_ENVELOPE_COUNT} envelopes of {ENVELOPE_LEN} bytes"
        )));
    }
    let envelopes: Vec<String> = envelopes.iter().map(|e| BASE64.encode(e)).collect();
    padded(
        &UploadBody {
            auth_code,
            envelopes: &envelopes,
            chaff,
        },
        UPLOAD_BODY_LEN,
    )
}

/// A uniform draw in [0, 1).
fn unit(rng: &mut (impl rand_core::CryptoRng + ?Sized)) -> f64 {
    // 53 random bits: exactly representable, strictly below 1.
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// The gap before the next chaff pair: exponential with mean
/// [`PAIR_MEAN_GAP_SECS`], clamped to [`PAIR_MIN_GAP_SECS`] ..= [`PAIR_MAX_GAP_SECS`].
pub fn draw_pair_gap(rng: &mut (impl rand_core::CryptoRng + ?Sized)) -> u64 {
    let exp = -(1.0 - unit(rng)).ln() * PAIR_MEAN_GAP_SECS as f64;
    // `as` saturates (and maps NaN to 0); the clamp bounds it either way.
    (exp as u64).clamp(PAIR_MIN_GAP_SECS, PAIR_MAX_GAP_SECS)
}

/// The gap between a chaff preview and its upload: log-uniform in
/// [`CONSENT_MIN_SECS`] ..= [`CONSENT_MAX_SECS`] (a person reading the preview,
/// ticking the consent box and tapping "send": most take seconds, a few minutes).
pub fn draw_consent_gap(rng: &mut (impl rand_core::CryptoRng + ?Sized)) -> u64 {
    let (lo, hi) = (
        (CONSENT_MIN_SECS as f64).ln(),
        (CONSENT_MAX_SECS as f64).ln(),
    );
    let secs = (lo + unit(rng) * (hi - lo)).exp().round();
    (secs as u64).clamp(CONSENT_MIN_SECS, CONSENT_MAX_SECS)
}

/// Which step of a chaff pair comes next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChaffKind {
    /// A chaff `POST /v1/reports/preview`.
    Preview,
    /// The chaff `POST /v1/reports` that follows an answered chaff preview.
    Upload,
}

/// When the next chaff request is due.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ChaffDue {
    /// Preview or upload.
    pub step: ChaffKind,
    /// Unix seconds from which it may be sent.
    pub at: u64,
}

/// A chaff request to send now, and what it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChaffRequest {
    /// Preview or upload.
    pub step: ChaffKind,
    /// The request (the same endpoint, shape and size as a real report's).
    pub request: Request,
    /// The authority it goes to.
    pub authority: u32,
}

/// The stored schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Schedule {
    /// When the next chaff preview is due.
    next_preview: u64,
    /// A chaff upload due at this time, to this authority (after an answered
    /// chaff preview).
    upload: Option<(u64, u32)>,
}

impl Schedule {
    fn encode(&self) -> Vec<u8> {
        let mut out = vec![SCHEDULE_VERSION];
        out.extend_from_slice(&self.next_preview.to_be_bytes());
        let (at, authority) = self.upload.unwrap_or((0, 0));
        out.extend_from_slice(&at.to_be_bytes());
        out.extend_from_slice(&authority.to_be_bytes());
        out
    }

    /// `None` for anything but a well-formed current row (the schedule is then
    /// drawn again: nothing in it is worth keeping over a corrupt row).
    fn decode(bytes: &[u8]) -> Option<Schedule> {
        let (&version, rest) = bytes.split_first()?;
        if version != SCHEDULE_VERSION || rest.len() != 20 {
            return None;
        }
        let next_preview = u64::from_be_bytes(rest.get(..8)?.try_into().ok()?);
        let at = u64::from_be_bytes(rest.get(8..16)?.try_into().ok()?);
        let authority = u32::from_be_bytes(rest.get(16..20)?.try_into().ok()?);
        Some(Schedule {
            next_preview,
            upload: (at != 0).then_some((at, authority)),
        })
    }
}

/// The stored schedule row ([`META_SCHEDULE`]): the next preview's time and a
/// pending upload's time and authority. Public for tests that move a phone's
/// schedule (the browser test writes it into IndexedDB).
pub fn schedule_row(next_preview: u64, upload: Option<(u64, u32)>) -> Vec<u8> {
    Schedule {
        next_preview,
        upload,
    }
    .encode()
}

impl<S: Store> Client<S> {
    fn chaff_schedule(&mut self, now: UnixTime) -> Result<Schedule> {
        if let Some(s) = self
            .store
            .meta(META_SCHEDULE)?
            .and_then(|b| Schedule::decode(&b))
        {
            return Ok(s);
        }
        // First use (or an unreadable row): the first pair comes one drawn gap
        // from now, never at once.
        let s = Schedule {
            next_preview: now.0.saturating_add(draw_pair_gap(&mut *self.rng)),
            upload: None,
        };
        self.save_chaff_schedule(&s)?;
        Ok(s)
    }

    fn save_chaff_schedule(&mut self, s: &Schedule) -> Result<()> {
        self.store
            .apply(vec![Op::PutMeta(META_SCHEDULE.into(), s.encode())])
    }

    /// Drops a pending chaff upload that is too late to send (the app was
    /// closed), as a person who left the app does not send either.
    fn drop_stale_chaff_upload(&mut self, s: &mut Schedule, now: UnixTime) -> Result<()> {
        if let Some((at, _)) = s.upload
            && now.0 > at.saturating_add(UPLOAD_GRACE_SECS)
        {
            s.upload = None;
            self.save_chaff_schedule(s)?;
        }
        Ok(())
    }

    /// When the next chaff request is due (drawing the schedule on first use).
    pub fn chaff_due(&mut self, now: UnixTime) -> Result<ChaffDue> {
        let mut s = self.chaff_schedule(now)?;
        self.drop_stale_chaff_upload(&mut s, now)?;
        Ok(match s.upload {
            Some((at, _)) => ChaffDue {
                step: ChaffKind::Upload,
                at,
            },
            None => ChaffDue {
                step: ChaffKind::Preview,
                at: s.next_preview,
            },
        })
    }

    /// The chaff request due now, if any: the upload of an answered chaff preview
    /// once its consent gap has passed, else a preview once the pair gap has.
    /// Sending a preview moves the schedule on at once (a crash does not repeat
    /// it); its upload is scheduled by [`Client::chaff_answered`].
    pub fn chaff_request(&mut self, now: UnixTime) -> Result<Option<ChaffRequest>> {
        let mut s = self.chaff_schedule(now)?;
        self.drop_stale_chaff_upload(&mut s, now)?;
        if let Some((at, authority)) = s.upload {
            if now.0 < at {
                return Ok(None);
            }
            s.upload = None;
            self.save_chaff_schedule(&s)?;
            let Ok(descriptor) = self.authority(authority) else {
                return Ok(None); // unpinned since the preview
            };
            let mut envelopes = Vec::with_capacity(REPORT_ENVELOPE_COUNT);
            while envelopes.len() < REPORT_ENVELOPE_COUNT {
                let pad = ReportEnvelope::padding(&mut *self.rng, &descriptor, now)
                    .map_err(ClientError::Code)?;
                envelopes.push(pad.as_bytes().to_vec());
            }
            let code = crate::auth_code::random(&mut *self.rng);
            let body = upload_body(&code, &envelopes, true)?;
            return Ok(Some(ChaffRequest {
                step: ChaffKind::Upload,
                request: Request::post_json(
                    join(&descriptor.base_url, UPLOAD_PATH),
                    body,
                    MAX_ANSWER_LEN,
                ),
                authority,
            }));
        }
        if now.0 < s.next_preview {
            return Ok(None);
        }
        s.next_preview = now.0.saturating_add(draw_pair_gap(&mut *self.rng));
        self.save_chaff_schedule(&s)?;
        let all = self.authorities()?;
        if all.is_empty() {
            return Ok(None);
        }
        let pick = usize::try_from(self.rng.next_u64() % all.len() as u64).unwrap_or(0);
        let Some(descriptor) = all.get(pick) else {
            return Ok(None);
        };
        let code = crate::auth_code::random(&mut *self.rng);
        Ok(Some(ChaffRequest {
            step: ChaffKind::Preview,
            request: Request::post_json(
                join(&descriptor.base_url, PREVIEW_PATH),
                preview_body(&code, true)?,
                MAX_ANSWER_LEN,
            ),
            authority: descriptor.id.0,
        }))
    }

    /// Takes the answer to a chaff request sent at `sent_at`. An answered preview
    /// (200) schedules its upload one drawn consent gap later; any other answer
    /// (an error, a refusal, an upload's 202) ends the pair. Returns when the next
    /// chaff request is due.
    pub fn chaff_answered(
        &mut self,
        sent: &ChaffRequest,
        response: &Response,
        sent_at: UnixTime,
    ) -> Result<ChaffDue> {
        if sent.step == ChaffKind::Preview && response.status == 200 {
            let mut s = self.chaff_schedule(sent_at)?;
            let at = sent_at.0.saturating_add(draw_consent_gap(&mut *self.rng));
            s.upload = Some((at, sent.authority));
            self.save_chaff_schedule(&s)?;
        }
        self.chaff_due(sent_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_row_round_trips_and_refuses_other_shapes() {
        let s = Schedule {
            next_preview: 1_790_000_000,
            upload: Some((1_790_000_100, 0x0100_0002)),
        };
        assert_eq!(Schedule::decode(&s.encode()), Some(s));
        let none = Schedule {
            next_preview: 5,
            upload: None,
        };
        assert_eq!(Schedule::decode(&none.encode()), Some(none));
        let mut bad = s.encode();
        bad[0] = 2;
        assert_eq!(Schedule::decode(&bad), None);
        assert_eq!(Schedule::decode(&s.encode()[..20]), None);
        assert_eq!(Schedule::decode(&[]), None);
    }
}
