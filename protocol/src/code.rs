//! The rotating check-in code a venue shows, and its verification by phones.
//!
//! Version 2 layout (all integers big-endian; see `spec/protocol.md` §7):
//!
//! ```text
//! u8  version = 2        u8  kind (1 screen, 2 poster)      u8 flags
//! u32 authority id       u64 timestamp                      i16 UTC offset (minutes)
//! [32] P_e               u8  category                       u16 max stay (min)
//! str8 name (≤ 64 B)     str8 address (≤ 72 B)              [16] notice_secret(e)
//! capsule (u8 key id + 148 B)                               [32] venue Ed25519 key
//! [chain checkpoint: u32 sequence + [16] hash prefix]       (flag 0x04)
//! [venue certificate, 77 B]                                 (flag 0x08)
//! [64] Ed25519 signature over "quet/v2/code-signature" || all of the above
//! ```
//!
//! Flags: `0x01` the venue prints posters, `0x02` the venue shows a rotating screen
//! (the HA publishes the epoch kinds of what the venue uses), `0x04` checkpoint
//! present, `0x08` certificate present. A screen code's epoch is its
//! hour ([`EpochKind::SeededHour`]); a poster's is its local day
//! ([`EpochKind::LocalDay`], the offset in the code; the timestamp is local
//! midnight). Version 1 codes (printed before protocol 1.1) are still accepted: no
//! flags (both uses assumed), no offset (UTC days), no checkpoint, no certificate.
//! The text form is `https://<authority host>/c#<BASE32>`; base32 (upper case, no
//! padding) keeps the payload in the QR alphanumeric mode, which makes a smaller QR
//! than base64url in byte mode (measured in `spec/`).

use data_encoding::BASE32_NOPAD;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rand_core::CryptoRng;

use crate::authority::{AuthorityDescriptor, AuthorityId, AuthorityLookup};
use crate::capsule::{CAPSULE_LEN, TraceCapsule};
use crate::category::Category;
use crate::certificate::{Registration, UnregisteredReason, VenueCertificate};
use crate::chain::ChainCheckpoint;
use crate::codec::{Reader, Writer, check_len};
use crate::error::{Error, Result};
use crate::kdf::{CODE_SIGNATURE_CONTEXT, CODE_SIGNATURE_V2_CONTEXT};
use crate::time::{Day, Epoch, EpochKind, UnixTime, UtcOffset};
use crate::venue_keys::{DayKey, DisplayKeys, NoticeSecret, VenueMasterKey};

/// Version of the codes this implementation makes.
pub const CODE_VERSION: u8 = 2;
/// The version of codes printed before protocol 1.1, still accepted.
pub const CODE_VERSION_1: u8 = 1;
/// Longest venue name in bytes.
pub const MAX_NAME_LEN: usize = 64;
/// Longest venue address in bytes.
pub const MAX_ADDRESS_LEN: usize = 72;
/// Longest venue stay a code may set, in minutes (one day).
pub const MAX_STAY_LIMIT_MINUTES: u16 = 24 * 60;
/// Largest encoded code in bytes.
pub const MAX_CODE_LEN: usize = 600;
/// How far a screen code's timestamp may be from the phone's clock.
pub const SCREEN_FRESHNESS_SECS: u64 = 120;
/// How often the venue display re-signs its code.
pub const SCREEN_RESIGN_SECS: u64 = 30;

const FLAG_POSTERS: u8 = 0x01;
const FLAG_SCREEN: u8 = 0x02;
const FLAG_CHECKPOINT: u8 = 0x04;
const FLAG_CERTIFICATE: u8 = 0x08;
const CHECKPOINT_LEN: usize = 4 + 16;

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

    /// The epoch kind of this code kind in a code of `version`.
    pub fn epoch_kind(self, version: u8) -> EpochKind {
        match (self, version) {
            (CodeKind::Screen, CODE_VERSION_1) => EpochKind::Hour,
            (CodeKind::Poster, CODE_VERSION_1) => EpochKind::Day,
            (CodeKind::Screen, _) => EpochKind::SeededHour,
            (CodeKind::Poster, _) => EpochKind::LocalDay,
        }
    }
}

/// Which kinds of code a venue uses; the HA publishes the epoch kinds of each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VenueUses {
    /// The venue shows a rotating screen code.
    pub screen: bool,
    /// The venue prints posters.
    pub posters: bool,
}

impl VenueUses {
    /// Both screen and posters (what version 1 codes are assumed to mean).
    pub const BOTH: VenueUses = VenueUses {
        screen: true,
        posters: true,
    };

    fn flags(self) -> u8 {
        (if self.posters { FLAG_POSTERS } else { 0 }) | (if self.screen { FLAG_SCREEN } else { 0 })
    }

    /// The epoch kinds a trace of this venue publishes (version 2 codes).
    pub fn epoch_kinds(self) -> Vec<EpochKind> {
        let mut kinds = Vec::with_capacity(2);
        if self.screen {
            kinds.push(EpochKind::SeededHour);
        }
        if self.posters {
            kinds.push(EpochKind::LocalDay);
        }
        kinds
    }
}

/// A parsed check-in code. Obtain one with [`CheckInCode::parse_and_verify`] (phones)
/// or [`CheckInCode::parse_signed`] (HA, no clock check), or from a [`CodeIssuer`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckInCode {
    /// Wire version (1 or 2).
    pub version: u8,
    /// Screen or poster.
    pub kind: CodeKind,
    /// What the venue uses (version 1: assumed both).
    pub uses: VenueUses,
    /// The authority the venue registered with.
    pub authority: AuthorityId,
    /// When the code was signed (poster: the start of its day).
    pub timestamp: UnixTime,
    /// The venue's local time (version 1: UTC).
    pub utc_offset: UtcOffset,
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
    /// The newest bulletin the venue's display verified, if it had one.
    pub checkpoint: Option<ChainCheckpoint>,
    /// The HA's certificate of the venue's registration, if any.
    pub certificate: Option<VenueCertificate>,
    bytes: Vec<u8>,
}

impl CheckInCode {
    /// The epoch this code belongs to.
    pub fn epoch(&self) -> Result<Epoch> {
        Epoch::containing_with(
            self.kind.epoch_kind(self.version),
            self.timestamp,
            self.utc_offset,
        )
    }

    /// The day whose capsule this code carries (the day of its epoch).
    pub fn capsule_day(&self) -> Result<Day> {
        Ok(self.epoch()?.day())
    }

    /// What the code's certificate says, for a phone that pinned `authority`, on
    /// `today`: "registered" only for a genuine certificate of exactly the details
    /// the code shows.
    pub fn registration(&self, authority: &AuthorityDescriptor, today: Day) -> Registration {
        match &self.certificate {
            None => Registration::Unregistered(UnregisteredReason::NoCertificate),
            Some(c) => c.verify(
                authority,
                self.venue_key.as_bytes(),
                self.venue.category,
                &self.venue.name,
                &self.venue.address,
                today,
            ),
        }
    }

    /// Refuses the code if `is_revoked` says its venue key was revoked.
    pub fn check_not_revoked(&self, is_revoked: impl Fn(&[u8; 32]) -> bool) -> Result<()> {
        if is_revoked(self.venue_key.as_bytes()) {
            Err(Error::VenueRevoked)
        } else {
            Ok(())
        }
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
    /// Dispatches on the version byte: 1 and 2 are accepted.
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
        if version != CODE_VERSION && version != CODE_VERSION_1 {
            return Err(Error::UnsupportedVersion {
                what: WHAT,
                version,
            });
        }
        let kind = CodeKind::from_byte(r.u8()?)?;
        let flags = if version == CODE_VERSION {
            let f = r.u8()?;
            let needed = match kind {
                CodeKind::Screen => FLAG_SCREEN,
                CodeKind::Poster => FLAG_POSTERS,
            };
            if f & 0xF0 != 0 || f & needed == 0 {
                return Err(Error::InvalidField {
                    field: "code flags",
                });
            }
            f
        } else {
            FLAG_POSTERS | FLAG_SCREEN
        };
        let authority = AuthorityId(r.u32()?);
        let timestamp = UnixTime(r.u64()?);
        let utc_offset = if version == CODE_VERSION {
            UtcOffset(r.u16()?.cast_signed()).check()?
        } else {
            UtcOffset::UTC
        };
        let venue_time_public = r.array()?;
        let venue = VenueInfo::read(&mut r)?;
        let notice_secret = NoticeSecret::from_bytes(r.array()?);
        let capsule = TraceCapsule::read(&mut r)?;
        let venue_key = VerifyingKey::from_bytes(&r.array()?)
            .map_err(|_| Error::InvalidField { field: "venue key" })?;
        let checkpoint = if flags & FLAG_CHECKPOINT != 0 {
            Some(ChainCheckpoint {
                sequence: r.u32()?,
                hash_prefix: r.array()?,
            })
        } else {
            None
        };
        let certificate = if flags & FLAG_CERTIFICATE != 0 {
            Some(VenueCertificate::read(&mut r)?)
        } else {
            None
        };
        let signed_len = bytes.len() - r.remaining();
        let signature = Signature::from_bytes(&r.array()?);
        r.finish()?;
        let signed = bytes
            .get(..signed_len)
            .ok_or(Error::Truncated { what: WHAT })?;
        venue_key
            .verify_strict(&signed_message(version, signed), &signature)
            .map_err(|_| Error::BadSignature { what: "code" })?;
        let code = CheckInCode {
            version,
            kind,
            uses: VenueUses {
                screen: flags & FLAG_SCREEN != 0,
                posters: flags & FLAG_POSTERS != 0,
            },
            authority,
            timestamp,
            utc_offset,
            venue_time_public,
            venue,
            notice_secret,
            capsule,
            venue_key,
            checkpoint,
            certificate,
            bytes: bytes.to_vec(),
        };
        let epoch = code.epoch()?;
        if version == CODE_VERSION
            && kind == CodeKind::Poster
            && epoch.start_with(utc_offset) != timestamp
        {
            return Err(Error::InvalidField {
                field: "poster time",
            });
        }
        Ok(code)
    }

    /// What a phone does on scanning: parse, check the authority is pinned and lists
    /// the capsule key (for a version 2 code, one whose period covers the capsule's
    /// day), verify the signature, and check freshness against `now` (screen: within
    /// ±120 s; poster: the same local day, or UTC day for version 1). Registration
    /// ([`CheckInCode::registration`]) and revocation
    /// ([`CheckInCode::check_not_revoked`]) are the caller's next steps.
    pub fn parse_and_verify<'a>(
        bytes: &[u8],
        now: UnixTime,
        authorities: &'a (impl AuthorityLookup + ?Sized),
    ) -> Result<(CheckInCode, &'a AuthorityDescriptor)> {
        let code = CheckInCode::parse_signed(bytes)?;
        let authority = authorities
            .authority(code.authority)
            .ok_or(Error::UnknownAuthority(code.authority))?;
        let entry = authority.capsule_entry(code.capsule.key_id)?;
        if code.version == CODE_VERSION && !entry.covers(code.capsule_day()?.start()) {
            return Err(Error::InvalidField {
                field: "capsule key period",
            });
        }
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
                let epoch = self.epoch()?;
                if Epoch::containing_with(epoch.kind, now, self.utc_offset)? != epoch {
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

fn signed_message(version: u8, bytes: &[u8]) -> Vec<u8> {
    let context = if version == CODE_VERSION_1 {
        CODE_SIGNATURE_CONTEXT
    } else {
        CODE_SIGNATURE_V2_CONTEXT
    };
    let mut m = Vec::with_capacity(context.len() + bytes.len());
    m.extend_from_slice(context);
    m.extend_from_slice(bytes);
    m
}

/// The secrets a [`CodeIssuer`] derives codes from.
enum IssuerKeys {
    /// The venue master (the venue tool on the owner's computer).
    Master(VenueMasterKey),
    /// A display's day keys and signing seed (the master stays on the tracing sheet).
    Display(DisplayKeys),
}

/// Builds and signs a venue's codes. Keeps the day's trace capsule so every code of
/// a day carries the same capsule, as the spec requires.
pub struct CodeIssuer {
    keys: IssuerKeys,
    signing: SigningKey,
    authority: AuthorityDescriptor,
    venue: VenueInfo,
    uses: VenueUses,
    utc_offset: UtcOffset,
    certificate: Option<VenueCertificate>,
    checkpoint: Option<ChainCheckpoint>,
    capsule_cache: Option<(Day, TraceCapsule)>,
}

impl core::fmt::Debug for CodeIssuer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CodeIssuer")
            .field("venue", &self.venue)
            .field("authority", &self.authority.id)
            .field("uses", &self.uses)
            .field("certified", &self.certificate.is_some())
            .finish_non_exhaustive()
    }
}

impl CodeIssuer {
    /// An issuer from the venue master for `venue` registered with `authority`;
    /// both screen and posters assumed, the authority's UTC offset.
    pub fn new(
        master: VenueMasterKey,
        venue: VenueInfo,
        authority: &AuthorityDescriptor,
    ) -> Result<Self> {
        venue.check()?;
        let signing = master.signing_key();
        Ok(CodeIssuer {
            keys: IssuerKeys::Master(master),
            signing,
            authority: authority.clone(),
            venue,
            uses: VenueUses::BOTH,
            utc_offset: authority.utc_offset,
            certificate: None,
            checkpoint: None,
            capsule_cache: None,
        })
    }

    /// An issuer for a display that holds only `keys` (day keys and signing seed):
    /// it can make codes for the days [`DisplayKeys::code_days`] covers, nothing else.
    pub fn from_display_keys(
        keys: DisplayKeys,
        venue: VenueInfo,
        authority: &AuthorityDescriptor,
    ) -> Result<Self> {
        venue.check()?;
        let signing = keys.signing.signing_key();
        Ok(CodeIssuer {
            keys: IssuerKeys::Display(keys),
            signing,
            authority: authority.clone(),
            venue,
            uses: VenueUses::BOTH,
            utc_offset: authority.utc_offset,
            certificate: None,
            checkpoint: None,
            capsule_cache: None,
        })
    }

    /// Sets what the venue uses (the HA publishes only those epoch kinds).
    pub fn set_uses(&mut self, uses: VenueUses) -> Result<()> {
        if !uses.screen && !uses.posters {
            return Err(Error::InvalidField {
                field: "code flags",
            });
        }
        self.uses = uses;
        Ok(())
    }

    /// Sets the venue's local time for poster days.
    pub fn set_utc_offset(&mut self, offset: UtcOffset) -> Result<()> {
        self.utc_offset = offset.check()?;
        Ok(())
    }

    /// Attaches the HA's certificate to every code from now on.
    pub fn set_certificate(&mut self, certificate: Option<VenueCertificate>) {
        self.certificate = certificate;
    }

    /// Puts this chain checkpoint (the newest bulletin the display verified) in every
    /// code from now on.
    pub fn set_checkpoint(&mut self, checkpoint: Option<ChainCheckpoint>) {
        self.checkpoint = checkpoint;
    }

    /// Replaces the pinned descriptor (after a verified update).
    pub fn set_authority(&mut self, authority: &AuthorityDescriptor) -> Result<()> {
        if authority.id != self.authority.id {
            return Err(Error::UnknownAuthority(authority.id));
        }
        self.authority = authority.clone();
        self.capsule_cache = None;
        Ok(())
    }

    /// The venue's display info.
    pub fn venue(&self) -> &VenueInfo {
        &self.venue
    }

    /// What the venue uses.
    pub fn uses(&self) -> VenueUses {
        self.uses
    }

    /// The venue's public signing key.
    pub fn venue_key(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    /// The master key, if this issuer holds it (for the tracing sheet and assisted
    /// check-in); a display issuer does not.
    pub fn master(&self) -> Option<&VenueMasterKey> {
        match &self.keys {
            IssuerKeys::Master(m) => Some(m),
            IssuerKeys::Display(_) => None,
        }
    }

    fn day_key(&self, day: Day) -> Result<DayKey> {
        match &self.keys {
            IssuerKeys::Master(m) => Ok(m.day_key(day)),
            IssuerKeys::Display(d) => d.day_key(day).cloned(),
        }
    }

    /// The screen code for time `now`.
    pub fn screen_code<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        now: UnixTime,
    ) -> Result<CheckInCode> {
        self.build(rng, CODE_VERSION, CodeKind::Screen, now)
    }

    /// The poster code for local day `day` (counted in the issuer's UTC offset).
    pub fn poster_code<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        day: Day,
    ) -> Result<CheckInCode> {
        let start = Epoch {
            kind: EpochKind::LocalDay,
            index: day.0,
        }
        .start_with(self.utc_offset);
        self.build(rng, CODE_VERSION, CodeKind::Poster, start)
    }

    /// The local day (in the issuer's offset) containing `t`, for printing posters.
    pub fn local_day(&self, t: UnixTime) -> Result<Day> {
        Ok(Day(Epoch::containing_with(
            EpochKind::LocalDay,
            t,
            self.utc_offset,
        )?
        .index))
    }

    /// A version 1 code (as printed before protocol 1.1), for compatibility tests
    /// and vectors: no flags, no offset, no checkpoint, no certificate; a poster's
    /// `t` is the start of its UTC day.
    pub fn v1_code<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        kind: CodeKind,
        t: UnixTime,
    ) -> Result<CheckInCode> {
        self.build(rng, CODE_VERSION_1, kind, t)
    }

    fn capsule<R: CryptoRng + ?Sized>(&mut self, rng: &mut R, day: Day) -> Result<TraceCapsule> {
        if let Some((d, c)) = &self.capsule_cache
            && *d == day
        {
            return Ok(c.clone());
        }
        let venue_key = self.signing.verifying_key().to_bytes();
        let prev = day.prev().ok_or(Error::TimeOutOfRange)?;
        let next = day.next().ok_or(Error::TimeOutOfRange)?;
        let keys = [self.day_key(prev)?, self.day_key(day)?, self.day_key(next)?];
        let (kid, key) = self.authority.capsule_for(day.start())?;
        let key = *key;
        let c = TraceCapsule::seal(rng, &keys, day, &venue_key, self.authority.id, (kid, &key))?;
        self.capsule_cache = Some((day, c.clone()));
        Ok(c)
    }

    fn build<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        version: u8,
        kind: CodeKind,
        t: UnixTime,
    ) -> Result<CheckInCode> {
        let offset = if version == CODE_VERSION_1 {
            UtcOffset::UTC
        } else {
            self.utc_offset
        };
        let epoch = Epoch::containing_with(kind.epoch_kind(version), t, offset)?;
        let day_key = self.day_key(epoch.day())?;
        let venue_time_public = day_key.venue_time_secret(epoch)?.public();
        let notice_secret = day_key.notice_secret(epoch)?;
        let capsule = self.capsule(rng, epoch.day())?;
        let (checkpoint, certificate) = if version == CODE_VERSION_1 {
            (None, None)
        } else {
            (self.checkpoint, self.certificate.clone())
        };
        let mut w = Writer::with_capacity(MAX_CODE_LEN);
        w.u8(version).u8(kind.to_byte());
        if version == CODE_VERSION {
            let flags = self.uses.flags()
                | match kind {
                    CodeKind::Screen => FLAG_SCREEN,
                    CodeKind::Poster => FLAG_POSTERS,
                }
                | if checkpoint.is_some() {
                    FLAG_CHECKPOINT
                } else {
                    0
                }
                | if certificate.is_some() {
                    FLAG_CERTIFICATE
                } else {
                    0
                };
            w.u8(flags);
        }
        w.u32(self.authority.id.0).u64(t.0);
        if version == CODE_VERSION {
            w.u16(offset.0.cast_unsigned());
        }
        w.bytes(&venue_time_public);
        self.venue.encode(&mut w);
        w.bytes(notice_secret.expose());
        capsule.encode(&mut w);
        w.bytes(self.signing.verifying_key().as_bytes());
        if let Some(cp) = &checkpoint {
            w.u32(cp.sequence).bytes(&cp.hash_prefix);
        }
        if let Some(c) = &certificate {
            c.encode(&mut w);
        }
        let signature = self.signing.sign(&signed_message(version, w.as_slice()));
        w.bytes(&signature.to_bytes());
        let bytes = w.into_vec();
        if bytes.len() > MAX_CODE_LEN {
            return Err(Error::TooLong {
                what: "check-in code",
                max: MAX_CODE_LEN,
            });
        }
        // Parse what was built, so a built code is exactly what a reader accepts.
        CheckInCode::parse_signed(&bytes)
    }
}

/// Bytes of a version 2 code with empty name and address, no checkpoint and no
/// certificate (add `n + a`, 20 with a checkpoint and 77 with a certificate).
pub const V2_FIXED_LEN: usize =
    1 + 1 + 1 + 4 + 8 + 2 + 32 + 1 + 2 + 1 + 1 + 16 + CAPSULE_LEN + 32 + 64;
/// The longest version 2 code: longest name and address, checkpoint, certificate.
pub const V2_LONGEST_LEN: usize = V2_FIXED_LEN
    + MAX_NAME_LEN
    + MAX_ADDRESS_LEN
    + CHECKPOINT_LEN
    + crate::certificate::CERTIFICATE_LEN;

const _: () = assert!(V2_LONGEST_LEN <= MAX_CODE_LEN);
