//! The rotating check-in code a venue shows, and its verification by phones.
//!
//! Layout (version 1, all integers big-endian; see `spec/protocol.md`):
//!
//! ```text
//! u8  version = 1        u8  kind (1 screen, 2 poster)     u32 authority id
//! u64 timestamp          [32] P_e                          u8  category
//! u16 max stay (min)     str8 name (≤ 64 B)                str8 address (≤ 72 B)
//! [16] notice_secret(e)  capsule (u8 key id + 148 B)       [32] venue Ed25519 key
//! [64] Ed25519 signature over "quet/v1/code-signature" || all of the above
//! ```
//!
//! The epoch is derived from the timestamp: the hour for screen codes, the UTC day
//! for posters. The text form is `https://<authority host>/c#<BASE32>`; base32
//! (upper case, no padding) keeps the payload in the QR alphanumeric mode, which
//! makes a smaller QR than base64url in byte mode (measured in `spec/`).

use data_encoding::BASE32_NOPAD;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rand_core::CryptoRng;

use crate::authority::{AuthorityDescriptor, AuthorityId, AuthorityLookup};
use crate::capsule::{CAPSULE_LEN, TraceCapsule};
use crate::category::Category;
use crate::codec::{Reader, Writer, check_len};
use crate::error::{Error, Result};
use crate::kdf::CODE_SIGNATURE_CONTEXT;
use crate::time::{Day, Epoch, EpochKind, UnixTime};
use crate::venue_keys::{NoticeSecret, VenueMasterKey};

/// Code wire version.
pub const CODE_VERSION: u8 = 1;
/// Longest venue name in bytes.
pub const MAX_NAME_LEN: usize = 64;
/// Longest venue address in bytes.
pub const MAX_ADDRESS_LEN: usize = 72;
/// Longest venue stay a code may set, in minutes (one day).
pub const MAX_STAY_LIMIT_MINUTES: u16 = 24 * 60;
/// Largest encoded code in bytes.
pub const MAX_CODE_LEN: usize = 450;
/// How far a screen code's timestamp may be from the phone's clock.
pub const SCREEN_FRESHNESS_SECS: u64 = 120;
/// How often the venue display re-signs its code.
pub const SCREEN_RESIGN_SECS: u64 = 30;
/// Bytes of a code before name and address.
const FIXED_LEN: usize = 1 + 1 + 4 + 8 + 32 + 1 + 2 + 1 + 1 + 16 + CAPSULE_LEN + 32 + 64;

/// What a code tells visitors about the venue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VenueInfo {
    /// Venue name (≤ 64 bytes UTF-8).
    pub name: String,
    /// Address (≤ 72 bytes UTF-8).
    pub address: String,
    /// Kind of venue.
    pub category: Category,
    /// Maximum stay in minutes: departure is clipped to arrival + this.
    pub max_stay_minutes: u16,
}

impl VenueInfo {
    /// Checks the field limits.
    pub fn check(&self) -> Result<()> {
        check_len("venue name", &self.name, MAX_NAME_LEN)?;
        check_len("venue address", &self.address, MAX_ADDRESS_LEN)?;
        if self.max_stay_minutes == 0 || self.max_stay_minutes > MAX_STAY_LIMIT_MINUTES {
            return Err(Error::InvalidField { field: "max stay" });
        }
        Ok(())
    }

    /// Maximum stay in seconds.
    pub fn max_stay_secs(&self) -> u64 {
        u64::from(self.max_stay_minutes) * 60
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.u8(self.category.to_byte())
            .u16(self.max_stay_minutes)
            .str8(&self.name)
            .str8(&self.address);
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<VenueInfo> {
        let category = Category::from_byte(r.u8()?)?;
        let max_stay_minutes = r.u16()?;
        let name = r.str8("venue name", MAX_NAME_LEN)?;
        let address = r.str8("venue address", MAX_ADDRESS_LEN)?;
        let info = VenueInfo {
            name,
            address,
            category,
            max_stay_minutes,
        };
        info.check()?;
        Ok(info)
    }
}

/// Screen (rotating) or poster (printed, one per day).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CodeKind {
    /// Shown on a screen, re-signed every ~30 s, new key every hour.
    Screen,
    /// Printed, valid for one UTC day.
    Poster,
}

impl CodeKind {
    /// The wire byte.
    pub fn to_byte(self) -> u8 {
        match self {
            CodeKind::Screen => 1,
            CodeKind::Poster => 2,
        }
    }

    /// Parses the wire byte.
    pub fn from_byte(b: u8) -> Result<CodeKind> {
        match b {
            1 => Ok(CodeKind::Screen),
            2 => Ok(CodeKind::Poster),
            _ => Err(Error::InvalidField { field: "code kind" }),
        }
    }

    /// The epoch kind of this code kind.
    pub fn epoch_kind(self) -> EpochKind {
        match self {
            CodeKind::Screen => EpochKind::Hour,
            CodeKind::Poster => EpochKind::Day,
        }
    }
}

/// A parsed check-in code. Obtain one with [`CheckInCode::parse_and_verify`] (phones)
/// or [`CheckInCode::parse_signed`] (HA, no clock check), or from a [`CodeIssuer`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckInCode {
    /// Screen or poster.
    pub kind: CodeKind,
    /// The authority the venue registered with.
    pub authority: AuthorityId,
    /// When the code was signed.
    pub timestamp: UnixTime,
    /// The epoch's venue-time public key `P_e`.
    pub venue_time_public: [u8; 32],
    /// Display info.
    pub venue: VenueInfo,
    /// `notice_secret(e)`: lets visitors of this epoch read the HA's message.
    pub notice_secret: NoticeSecret,
    /// The trace capsule for the HA.
    pub capsule: TraceCapsule,
    /// The venue's Ed25519 key.
    pub venue_key: VerifyingKey,
    bytes: Vec<u8>,
}

impl CheckInCode {
    /// The epoch this code belongs to.
    pub fn epoch(&self) -> Result<Epoch> {
        Epoch::containing(self.kind.epoch_kind(), self.timestamp)
    }

    /// The encoded, signed bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The base32 text of the bytes (upper case, no padding).
    pub fn to_base32(&self) -> String {
        BASE32_NOPAD.encode(&self.bytes)
    }

    /// The URL a phone camera opens: `<BASE_URL upper-cased>/C#<BASE32>`. Upper case
    /// keeps the QR in alphanumeric mode; hosts and the path are case-insensitive.
    pub fn to_url(&self, base_url: &str) -> String {
        let base = base_url.trim_end_matches('/').to_ascii_uppercase();
        format!("{base}/C#{}", self.to_base32())
    }

    /// Extracts the code bytes from a URL (`…/c#PAYLOAD`, any case) or bare base32.
    pub fn bytes_from_text(text: &str) -> Result<Vec<u8>> {
        let text = text.trim();
        let payload = match text.rsplit_once('#') {
            Some((prefix, payload)) => {
                let p = prefix.to_ascii_lowercase();
                if !(p.starts_with("https://") || p.starts_with("http://")) || !p.ends_with("/c") {
                    return Err(Error::NotAQuetCode);
                }
                payload
            }
            None => text,
        };
        if payload.len() > MAX_CODE_LEN * 2 {
            return Err(Error::NotAQuetCode);
        }
        BASE32_NOPAD
            .decode(payload.to_ascii_uppercase().as_bytes())
            .map_err(|_| Error::NotAQuetCode)
    }

    /// Parses and checks the signature, without any clock or authority rule. The HA
    /// uses this on uploaded codes; phones use [`CheckInCode::parse_and_verify`].
    pub fn parse_signed(bytes: &[u8]) -> Result<CheckInCode> {
        const WHAT: &str = "check-in code";
        if bytes.len() > MAX_CODE_LEN {
            return Err(Error::TooLong {
                what: WHAT,
                max: MAX_CODE_LEN,
            });
        }
        let mut r = Reader::new(bytes, WHAT);
        let version = r.u8()?;
        if version != CODE_VERSION {
            return Err(Error::UnsupportedVersion {
                what: WHAT,
                version,
            });
        }
        let kind = CodeKind::from_byte(r.u8()?)?;
        let authority = AuthorityId(r.u32()?);
        let timestamp = UnixTime(r.u64()?);
        let venue_time_public = r.array()?;
        let venue = VenueInfo::read(&mut r)?;
        let notice_secret = NoticeSecret::from_bytes(r.array()?);
        let capsule = TraceCapsule::read(&mut r)?;
        let venue_key = VerifyingKey::from_bytes(&r.array()?)
            .map_err(|_| Error::InvalidField { field: "venue key" })?;
        let signed_len = bytes.len() - r.remaining();
        let signature = Signature::from_bytes(&r.array()?);
        r.finish()?;
        let signed = bytes
            .get(..signed_len)
            .ok_or(Error::Truncated { what: WHAT })?;
        venue_key
            .verify_strict(&signed_message(signed), &signature)
            .map_err(|_| Error::BadSignature { what: "code" })?;
        let code = CheckInCode {
            kind,
            authority,
            timestamp,
            venue_time_public,
            venue,
            notice_secret,
            capsule,
            venue_key,
            bytes: bytes.to_vec(),
        };
        code.epoch()?;
        Ok(code)
    }

    /// What a phone does on scanning: parse, check the authority is pinned and lists
    /// the capsule key, verify the signature, and check freshness against `now`
    /// (screen: within ±120 s; poster: same UTC day).
    pub fn parse_and_verify<'a>(
        bytes: &[u8],
        now: UnixTime,
        authorities: &'a (impl AuthorityLookup + ?Sized),
    ) -> Result<(CheckInCode, &'a AuthorityDescriptor)> {
        let code = CheckInCode::parse_signed(bytes)?;
        let authority = authorities
            .authority(code.authority)
            .ok_or(Error::UnknownAuthority(code.authority))?;
        authority.capsule_key(code.capsule.key_id)?;
        code.check_fresh(now)?;
        Ok((code, authority))
    }

    /// Parses text (URL or base32) and verifies as [`CheckInCode::parse_and_verify`].
    pub fn parse_text_and_verify<'a>(
        text: &str,
        now: UnixTime,
        authorities: &'a (impl AuthorityLookup + ?Sized),
    ) -> Result<(CheckInCode, &'a AuthorityDescriptor)> {
        let bytes = CheckInCode::bytes_from_text(text)?;
        CheckInCode::parse_and_verify(&bytes, now, authorities)
    }

    /// The freshness rule alone.
    pub fn check_fresh(&self, now: UnixTime) -> Result<()> {
        match self.kind {
            CodeKind::Screen => {
                if now.0.abs_diff(self.timestamp.0) > SCREEN_FRESHNESS_SECS {
                    return Err(Error::CodeNotFresh {
                        code_time: self.timestamp,
                        now,
                    });
                }
            }
            CodeKind::Poster => {
                if now.day()? != self.timestamp.day()? {
                    return Err(Error::PosterNotToday {
                        code_time: self.timestamp,
                        now,
                    });
                }
            }
        }
        Ok(())
    }
}

fn signed_message(bytes: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(CODE_SIGNATURE_CONTEXT.len() + bytes.len());
    m.extend_from_slice(CODE_SIGNATURE_CONTEXT);
    m.extend_from_slice(bytes);
    m
}

/// Builds and signs a venue's codes. Keeps the day's trace capsule so every code of
/// a day carries the same capsule, as the spec requires.
pub struct CodeIssuer {
    master: VenueMasterKey,
    signing: SigningKey,
    authority: AuthorityId,
    capsule_key: (u8, [u8; 32]),
    venue: VenueInfo,
    capsule_cache: Option<(Day, TraceCapsule)>,
}

impl core::fmt::Debug for CodeIssuer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CodeIssuer")
            .field("venue", &self.venue)
            .field("authority", &self.authority)
            .finish_non_exhaustive()
    }
}

impl CodeIssuer {
    /// An issuer for `venue` registered with `authority` (its current capsule key).
    pub fn new(
        master: VenueMasterKey,
        venue: VenueInfo,
        authority: &AuthorityDescriptor,
    ) -> Result<Self> {
        venue.check()?;
        let (kid, key) = authority.current_capsule()?;
        let signing = master.signing_key();
        Ok(CodeIssuer {
            master,
            signing,
            authority: authority.id,
            capsule_key: (kid, *key),
            venue,
            capsule_cache: None,
        })
    }

    /// The venue's display info.
    pub fn venue(&self) -> &VenueInfo {
        &self.venue
    }

    /// The venue's public signing key.
    pub fn venue_key(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    /// The master key (for the tracing sheet and assisted check-in).
    pub fn master(&self) -> &VenueMasterKey {
        &self.master
    }

    /// The screen code for time `now`.
    pub fn screen_code<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        now: UnixTime,
    ) -> Result<CheckInCode> {
        self.build(rng, CodeKind::Screen, now)
    }

    /// The poster code for UTC day `day`.
    pub fn poster_code<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        day: Day,
    ) -> Result<CheckInCode> {
        self.build(rng, CodeKind::Poster, day.start())
    }

    fn capsule<R: CryptoRng + ?Sized>(&mut self, rng: &mut R, day: Day) -> Result<TraceCapsule> {
        if let Some((d, c)) = &self.capsule_cache
            && *d == day
        {
            return Ok(c.clone());
        }
        let venue_key = self.signing.verifying_key().to_bytes();
        let c = TraceCapsule::seal(
            rng,
            &self.master,
            day,
            &venue_key,
            self.authority,
            (self.capsule_key.0, &self.capsule_key.1),
        )?;
        self.capsule_cache = Some((day, c.clone()));
        Ok(c)
    }

    fn build<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        kind: CodeKind,
        t: UnixTime,
    ) -> Result<CheckInCode> {
        let epoch = Epoch::containing(kind.epoch_kind(), t)?;
        let day_key = self.master.day_key(epoch.day());
        let venue_time_public = day_key.venue_time_secret(epoch)?.public();
        let notice_secret = day_key.notice_secret(epoch)?;
        let capsule = self.capsule(rng, epoch.day())?;
        let mut w = Writer::with_capacity(FIXED_LEN + MAX_NAME_LEN + MAX_ADDRESS_LEN);
        w.u8(CODE_VERSION)
            .u8(kind.to_byte())
            .u32(self.authority.0)
            .u64(t.0)
            .bytes(&venue_time_public);
        self.venue.encode(&mut w);
        w.bytes(notice_secret.expose());
        capsule.encode(&mut w);
        w.bytes(self.signing.verifying_key().as_bytes());
        let signature = self.signing.sign(&signed_message(w.as_slice()));
        w.bytes(&signature.to_bytes());
        let bytes = w.into_vec();
        if bytes.len() > MAX_CODE_LEN {
            return Err(Error::TooLong {
                what: "check-in code",
                max: MAX_CODE_LEN,
            });
        }
        Ok(CheckInCode {
            kind,
            authority: self.authority,
            timestamp: t,
            venue_time_public,
            venue: self.venue.clone(),
            notice_secret,
            capsule,
            venue_key: self.signing.verifying_key(),
            bytes,
        })
    }
}
