//! The display file: what a screen at the venue needs to show codes for a few
//! days, and nothing more. `quet-venue display-export --days N` writes it; the
//! browser display page (web/) and `quet-venue display --display-file` read it with
//! this module, which does no I/O and builds for `wasm32-unknown-unknown` (the
//! crate's `native` feature off), so the browser runs this exact parser.
//!
//! It holds the venue's public details, the authority descriptor, the venue's
//! Ed25519 signing seed and the **day keys** of the days shown plus one day either
//! side (each day's trace capsule carries `day_key(d−1)`, `day_key(d)`,
//! `day_key(d+1)`). It never holds the master key: a stolen display unlocks only
//! those days, not the venue's past or future, and cannot print a tracing sheet.
//! The signing seed does let its holder sign codes; a venue whose display is
//! stolen asks the authority to revoke its key.
//!
//! Format (version 1), UTF-8 JSON:
//!
//! ```text
//! {"format": "quet-display-file/v1", "kdf": "argon2id", "m_kib": u32, "t": u32, "p": u32,
//!  "salt": hex(16), "nonce": hex(24), "ciphertext": base64}
//! key        = Argon2id(passphrase, salt, m_kib, t, p) → 32 bytes
//! ciphertext = XChaCha20-Poly1305(key, nonce, aad, JSON payload)
//! aad        = "quet-venue/v1/display-file" ‖ u32 m_kib ‖ u32 t ‖ u32 p ‖ salt
//! payload    = {"venue": {"name", "address", "category", "max_stay_minutes",
//!                         "event": {"start", "end"} | null, "utc_offset_minutes"},
//!               "descriptor": base64 (signed authority descriptor),
//!               "signing_seed": hex(32),
//!               "certificate": base64 | null,
//!               "first_day": u32, "last_day": u32,
//!               "day_keys": [{"day": u32, "key": hex(32)}, …]   // first_day−1 ..= last_day+1, in order
//!              }
//! ```
//!
//! Limits checked before any work: text ≤ 64 KiB, `m_kib` 8 192..=262 144, `t`
//! 1..=10, `p` 1..=4, 1..=[`MAX_DISPLAY_DAYS`] days. Every failure is a
//! [`DisplayFileError`]; nothing panics on any input (property tests and the
//! `display_file` fuzz target).

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use data_encoding::{BASE64, HEXLOWER, HEXLOWER_PERMISSIVE};
use quet_protocol::authority::AuthorityDescriptor;
use quet_protocol::category::Category;
use quet_protocol::code::VenueInfo;
use quet_protocol::time::Day;
use quet_protocol::venue_keys::{DayKey, DayKeyBytes};
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

/// The `format` of version 1.
pub const DISPLAY_FILE_FORMAT: &str = "quet-display-file/v1";
/// Most days one display file may cover.
pub const MAX_DISPLAY_DAYS: u32 = 31;
/// Largest display file accepted, bytes.
pub const MAX_DISPLAY_FILE_LEN: usize = 64 * 1024;
/// Argon2id memory for new files, KiB (OWASP's 19 MiB, t = 2).
pub const ARGON2_M_KIB: u32 = 19 * 1024;
/// Argon2id passes for new files.
pub const ARGON2_T: u32 = 2;
const AAD_LABEL: &[u8] = b"quet-venue/v1/display-file";

/// Why a display file was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisplayFileError {
    /// Larger than [`MAX_DISPLAY_FILE_LEN`].
    TooLarge,
    /// Not JSON of the expected shape (with what was wrong).
    Malformed(String),
    /// Another `format` (e.g. a newer version).
    UnsupportedFormat(String),
    /// KDF parameters out of the accepted range.
    BadParameters,
    /// The passphrase is wrong, or the file was altered.
    WrongPassphrase,
    /// The decrypted content fails a check (with what).
    Invalid(String),
    /// The passphrase is empty.
    EmptyPassphrase,
}

impl core::fmt::Display for DisplayFileError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            DisplayFileError::TooLarge => write!(
                f,
                "tệp hiển thị quá lớn / display file too large (> {MAX_DISPLAY_FILE_LEN} bytes)"
            ),
            DisplayFileError::Malformed(s) => {
                write!(f, "tệp hiển thị hỏng / malformed display file: {s}")
            }
            DisplayFileError::UnsupportedFormat(s) => write!(
                f,
                "định dạng không hỗ trợ / unsupported display file format {s:?}"
            ),
            DisplayFileError::BadParameters => write!(
                f,
                "tham số mật khẩu không hợp lệ / display file passphrase parameters out of range"
            ),
            DisplayFileError::WrongPassphrase => write!(
                f,
                "sai mật khẩu (hoặc tệp bị sửa) / wrong passphrase (or the file was altered)"
            ),
            DisplayFileError::Invalid(s) => {
                write!(f, "nội dung không hợp lệ / invalid display file: {s}")
            }
            DisplayFileError::EmptyPassphrase => write!(f, "mật khẩu rỗng / empty passphrase"),
        }
    }
}

impl std::error::Error for DisplayFileError {}

/// An event's fixed window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// Start, Unix seconds.
    pub start: u64,
    /// End, Unix seconds.
    pub end: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Outer {
    format: String,
    kdf: String,
    m_kib: u32,
    t: u32,
    p: u32,
    salt: String,
    nonce: String,
    ciphertext: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PayloadVenue {
    name: String,
    address: String,
    category: String,
    max_stay_minutes: u16,
    event: Option<Event>,
    utc_offset_minutes: i32,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PayloadDayKey {
    day: u32,
    key: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PayloadJson {
    venue: PayloadVenue,
    descriptor: String,
    signing_seed: String,
    certificate: Option<String>,
    first_day: u32,
    last_day: u32,
    day_keys: Vec<PayloadDayKey>,
}

/// The opened content of a display file.
pub struct DisplayFile {
    /// The venue's public details.
    pub venue: VenueInfo,
    /// An event's window, if the venue is an event.
    pub event: Option<Event>,
    /// Local offset for the page, minutes east of UTC.
    pub utc_offset_minutes: i32,
    /// The signed authority descriptor bytes.
    pub descriptor_bytes: Vec<u8>,
    /// The parsed descriptor.
    pub descriptor: AuthorityDescriptor,
    /// The venue's Ed25519 signing seed.
    pub signing_seed: Zeroizing<[u8; 32]>,
    /// The venue certificate from the authority (bytes), if registered.
    pub certificate: Option<Vec<u8>>,
    /// First day codes may be shown (UTC day).
    pub first_day: Day,
    /// Last day codes may be shown.
    pub last_day: Day,
    /// Day keys of `first_day − 1 ..= last_day + 1`, in order.
    pub day_keys: Vec<DayKey>,
}

impl core::fmt::Debug for DisplayFile {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DisplayFile")
            .field("venue", &self.venue)
            .field("first_day", &self.first_day)
            .field("last_day", &self.last_day)
            .finish_non_exhaustive()
    }
}

fn malformed(e: impl core::fmt::Display) -> DisplayFileError {
    DisplayFileError::Malformed(e.to_string())
}

fn invalid(s: &str) -> DisplayFileError {
    DisplayFileError::Invalid(s.to_owned())
}

fn hex_array<const N: usize>(s: &str, what: &str) -> Result<[u8; N], DisplayFileError> {
    let v = Zeroizing::new(
        HEXLOWER_PERMISSIVE
            .decode(s.as_bytes())
            .map_err(|_| invalid(what))?,
    );
    let mut out = [0u8; N];
    if v.len() != N {
        return Err(invalid(what));
    }
    out.copy_from_slice(&v);
    Ok(out)
}

fn aad(m: u32, t: u32, p: u32, salt: &[u8]) -> Vec<u8> {
    let mut a = AAD_LABEL.to_vec();
    for x in [m, t, p] {
        a.extend_from_slice(&x.to_be_bytes());
    }
    a.extend_from_slice(salt);
    a
}

fn derive_key(
    passphrase: &str,
    salt: &[u8],
    m: u32,
    t: u32,
    p: u32,
) -> Result<Zeroizing<[u8; 32]>, DisplayFileError> {
    if passphrase.is_empty() {
        return Err(DisplayFileError::EmptyPassphrase);
    }
    if !(8 * 1024..=256 * 1024).contains(&m) || !(1..=10).contains(&t) || !(1..=4).contains(&p) {
        return Err(DisplayFileError::BadParameters);
    }
    let params = Params::new(m, t, p, Some(32)).map_err(|_| DisplayFileError::BadParameters)?;
    let mut key = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase.as_bytes(), salt, &mut *key)
        .map_err(|_| DisplayFileError::BadParameters)?;
    Ok(key)
}

impl DisplayFile {
    /// Opens a display file with its passphrase: every check of the module docs.
    pub fn open(text: &str, passphrase: &str) -> Result<DisplayFile, DisplayFileError> {
        if text.len() > MAX_DISPLAY_FILE_LEN {
            return Err(DisplayFileError::TooLarge);
        }
        let outer: Outer = serde_json::from_str(text).map_err(malformed)?;
        if outer.format != DISPLAY_FILE_FORMAT {
            return Err(DisplayFileError::UnsupportedFormat(outer.format));
        }
        if outer.kdf != "argon2id" {
            return Err(DisplayFileError::BadParameters);
        }
        let salt: [u8; 16] = hex_array(&outer.salt, "salt")?;
        let nonce: [u8; 24] = hex_array(&outer.nonce, "nonce")?;
        let ct = BASE64
            .decode(outer.ciphertext.as_bytes())
            .map_err(|_| invalid("ciphertext is not base64"))?;
        let key = derive_key(passphrase, &salt, outer.m_kib, outer.t, outer.p)?;
        let plain = Zeroizing::new(
            XChaCha20Poly1305::new(&Key::from(*key))
                .decrypt(
                    &XNonce::from(nonce),
                    Payload {
                        msg: &ct,
                        aad: &aad(outer.m_kib, outer.t, outer.p, &salt),
                    },
                )
                .map_err(|_| DisplayFileError::WrongPassphrase)?,
        );
        DisplayFile::from_payload(&plain)
    }

    /// Parses and checks the decrypted payload (what [`DisplayFile::open`] does after
    /// decryption; public for the fuzz target and tests).
    pub fn from_payload(plain: &[u8]) -> Result<DisplayFile, DisplayFileError> {
        if plain.len() > MAX_DISPLAY_FILE_LEN {
            return Err(DisplayFileError::TooLarge);
        }
        let p: PayloadJson = serde_json::from_slice(plain).map_err(malformed)?;
        let category =
            Category::from_slug(&p.venue.category).ok_or_else(|| invalid("unknown category"))?;
        let venue = VenueInfo {
            name: p.venue.name,
            address: p.venue.address,
            category,
            max_stay_minutes: p.venue.max_stay_minutes,
        };
        venue
            .check()
            .map_err(|e| DisplayFileError::Invalid(e.to_string()))?;
        if let Some(ev) = p.venue.event
            && ev.end <= ev.start
        {
            return Err(invalid("event ends before it starts"));
        }
        if !(-12 * 60..=14 * 60).contains(&p.venue.utc_offset_minutes) {
            return Err(invalid("UTC offset"));
        }
        let descriptor_bytes = BASE64
            .decode(p.descriptor.as_bytes())
            .map_err(|_| invalid("descriptor is not base64"))?;
        let descriptor = AuthorityDescriptor::decode(&descriptor_bytes)
            .map_err(|e| DisplayFileError::Invalid(format!("descriptor: {e}")))?;
        let signing_seed = Zeroizing::new(hex_array::<32>(&p.signing_seed, "signing seed")?);
        let certificate = p
            .certificate
            .map(|c| BASE64.decode(c.as_bytes()))
            .transpose()
            .map_err(|_| invalid("certificate is not base64"))?;
        if p.last_day < p.first_day || p.last_day - p.first_day >= MAX_DISPLAY_DAYS {
            return Err(invalid("days"));
        }
        let from = p.first_day.checked_sub(1).ok_or_else(|| invalid("days"))?;
        let to = p.last_day.checked_add(1).ok_or_else(|| invalid("days"))?;
        let expected = usize::try_from(to - from + 1).map_err(|_| invalid("days"))?;
        if p.day_keys.len() != expected {
            return Err(invalid(
                "day keys do not cover the days shown and their neighbours",
            ));
        }
        let mut day_keys = Vec::with_capacity(expected);
        for (d, k) in (from..=to).zip(&p.day_keys) {
            if k.day != d {
                return Err(invalid("day keys out of order"));
            }
            let mut bytes = hex_array::<32>(&k.key, "day key")?;
            day_keys.push(DayKey {
                day: Day(d),
                key: DayKeyBytes::from_bytes(bytes),
            });
            bytes.zeroize();
        }
        Ok(DisplayFile {
            venue,
            event: p.venue.event,
            utc_offset_minutes: p.venue.utc_offset_minutes,
            descriptor_bytes,
            descriptor,
            signing_seed,
            certificate,
            first_day: Day(p.first_day),
            last_day: Day(p.last_day),
            day_keys,
        })
    }

    /// Whether codes may be shown on `day`.
    pub fn covers(&self, day: Day) -> bool {
        self.first_day <= day && day <= self.last_day
    }

    /// The key of `day`, if the file holds it.
    pub fn day_key(&self, day: Day) -> Option<&DayKey> {
        self.day_keys.iter().find(|k| k.day == day)
    }

    /// Seals this content under `passphrase` (Argon2id with the default cost).
    pub fn seal<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        passphrase: &str,
    ) -> Result<String, DisplayFileError> {
        self.seal_with(rng, passphrase, ARGON2_M_KIB, ARGON2_T, 1)
    }

    /// [`DisplayFile::seal`] with explicit Argon2id parameters.
    pub fn seal_with<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        passphrase: &str,
        m_kib: u32,
        t: u32,
        p: u32,
    ) -> Result<String, DisplayFileError> {
        let payload = PayloadJson {
            venue: PayloadVenue {
                name: self.venue.name.clone(),
                address: self.venue.address.clone(),
                category: self.venue.category.slug().to_owned(),
                max_stay_minutes: self.venue.max_stay_minutes,
                event: self.event,
                utc_offset_minutes: self.utc_offset_minutes,
            },
            descriptor: BASE64.encode(&self.descriptor_bytes),
            signing_seed: HEXLOWER.encode(&*self.signing_seed),
            certificate: self.certificate.as_ref().map(|c| BASE64.encode(c)),
            first_day: self.first_day.0,
            last_day: self.last_day.0,
            day_keys: self
                .day_keys
                .iter()
                .map(|k| PayloadDayKey {
                    day: k.day.0,
                    key: HEXLOWER.encode(k.key.expose()),
                })
                .collect(),
        };
        let plain = Zeroizing::new(serde_json::to_vec(&payload).map_err(malformed)?);
        drop(payload);
        let mut salt = [0u8; 16];
        let mut nonce = [0u8; 24];
        rng.fill_bytes(&mut salt);
        rng.fill_bytes(&mut nonce);
        let key = derive_key(passphrase, &salt, m_kib, t, p)?;
        let ct = XChaCha20Poly1305::new(&Key::from(*key))
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &plain,
                    aad: &aad(m_kib, t, p, &salt),
                },
            )
            .map_err(|_| invalid("encryption failed"))?;
        let outer = Outer {
            format: DISPLAY_FILE_FORMAT.into(),
            kdf: "argon2id".into(),
            m_kib,
            t,
            p,
            salt: HEXLOWER.encode(&salt),
            nonce: HEXLOWER.encode(&nonce),
            ciphertext: BASE64.encode(&ct),
        };
        let text = serde_json::to_string_pretty(&outer).map_err(malformed)?;
        if text.len() > MAX_DISPLAY_FILE_LEN {
            return Err(DisplayFileError::TooLarge);
        }
        Ok(text)
    }
}
