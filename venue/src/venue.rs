//! The venue file: display info, the pinned authority descriptor and the venue
//! master key, in one JSON file of mode 0600.
//!
//! The master key is stored either in hex (the file's permissions protect it) or,
//! with a passphrase, encrypted: `key = PBKDF2-HMAC-SHA256(passphrase, salt,
//! 600 000 iterations)`, `XChaCha20-Poly1305(key, random 24-byte nonce)` over the
//! 32 key bytes with the associated data `quet-venue/v1/master-key`. A wrong
//! passphrase fails the AEAD tag and is reported as such; the file is never
//! rewritten by opening it.

use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use data_encoding::{BASE64, HEXLOWER};
use quet_protocol::authority::AuthorityDescriptor;
use quet_protocol::category::Category;
use quet_protocol::code::{CodeIssuer, MAX_STAY_LIMIT_MINUTES, VenueInfo};
use quet_protocol::time::UnixTime;
use quet_protocol::venue_keys::VenueMasterKey;
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::{Result, VenueError};
use crate::fsutil;
use crate::timefmt::VIETNAM_OFFSET_MINUTES;

/// The `format` field of version 1 venue files.
pub const VENUE_FILE_FORMAT: &str = "quet-venue-file/v1";
/// PBKDF2-HMAC-SHA256 iterations for a new passphrase (OWASP 2023 guidance).
pub const PBKDF2_ITERATIONS: u32 = 600_000;
/// Fewest iterations a venue file may claim (refuses downgraded files).
const MIN_PBKDF2_ITERATIONS: u32 = 100_000;
/// Most iterations a venue file may claim (refuses files that would hang us).
const MAX_PBKDF2_ITERATIONS: u32 = 20_000_000;
/// Associated data of the encrypted master key.
const MASTER_KEY_AAD: &[u8] = b"quet-venue/v1/master-key";
/// Name of the protected key scheme in the file.
const PROTECTED_SCHEME: &str = "pbkdf2-hmac-sha256+xchacha20poly1305";
/// Largest venue file we read.
const MAX_VENUE_FILE: u64 = 64 * 1024;

/// A fixed start and end, for events such as weddings and conferences.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventWindow {
    /// Start (Unix seconds).
    pub start: u64,
    /// End (Unix seconds).
    pub end: u64,
}

impl EventWindow {
    /// Whether `t` lies in `[start, end]`.
    pub fn contains(&self, t: UnixTime) -> bool {
        self.start <= t.0 && t.0 <= self.end
    }
}

/// What `create` needs.
#[derive(Clone, Debug)]
pub struct NewVenue {
    /// Venue name (≤ 64 bytes UTF-8).
    pub name: String,
    /// Address (≤ 72 bytes UTF-8).
    pub address: String,
    /// Kind of venue.
    pub category: Category,
    /// Maximum stay in minutes; `None` takes the category default (or, for an
    /// event, its length, up to one day).
    pub max_stay_minutes: Option<u16>,
    /// For events: the fixed start and end.
    pub event: Option<EventWindow>,
    /// The authority's server URL (where bulletins and heartbeats go).
    pub server_url: String,
    /// The signed descriptor bytes as served at `GET /v1/descriptor`.
    pub descriptor: Vec<u8>,
    /// If given, the descriptor's fingerprint must equal it (compared ignoring
    /// case, spaces and dashes).
    pub expected_fingerprint: Option<String>,
    /// Local time offset for printouts, minutes east of UTC (Vietnam: 420).
    pub utc_offset_minutes: i32,
}

impl NewVenue {
    /// A venue with the category's default stay, no event, Vietnam time.
    pub fn new(
        name: impl Into<String>,
        address: impl Into<String>,
        category: Category,
        server_url: impl Into<String>,
        descriptor: Vec<u8>,
    ) -> Self {
        NewVenue {
            name: name.into(),
            address: address.into(),
            category,
            max_stay_minutes: None,
            event: None,
            server_url: server_url.into(),
            descriptor,
            expected_fingerprint: None,
            utc_offset_minutes: VIETNAM_OFFSET_MINUTES,
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileVenue {
    name: String,
    address: String,
    category: String,
    max_stay_minutes: u16,
    event: Option<EventWindow>,
    utc_offset_minutes: i32,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileAuthority {
    server_url: String,
    descriptor: String,
    fingerprint: String,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "protection", rename_all = "snake_case", deny_unknown_fields)]
enum FileKey {
    None {
        master: String,
    },
    Passphrase {
        scheme: String,
        iterations: u32,
        salt: String,
        nonce: String,
        ciphertext: String,
    },
    /// A machine-generated passphrase of ≥ 100 bits (`batch`): no stretching needed.
    Generated {
        scheme: String,
        salt: String,
        nonce: String,
        ciphertext: String,
    },
}

/// How `create` protects the master key.
#[derive(Clone, Copy, Debug)]
pub enum Protection<'a> {
    /// Hex in the file; the file's permissions protect it.
    None,
    /// A passphrase a person chose: PBKDF2-HMAC-SHA256, 600 000 iterations.
    Passphrase(&'a str),
    /// A passphrase from [`generate_passphrase`] (100 bits): HKDF-SHA256, because
    /// stretching adds nothing to a random 100-bit secret and `batch` makes
    /// thousands of files.
    Generated(&'a str),
}

/// Name of the generated-passphrase scheme in the file.
const GENERATED_SCHEME: &str = "hkdf-sha256+xchacha20poly1305";
/// HKDF info of the generated-passphrase key.
const GENERATED_INFO: &[u8] = b"quet-venue/v1/generated-passphrase";
/// Characters of a generated passphrase (base32, 5 bits each: 100 bits).
pub const GENERATED_PASSPHRASE_CHARS: usize = 20;

/// A random passphrase for a venue file: 20 base32 characters in groups of four
/// (`ABCD-EFGH-IJKL-MNOP-QRST`), 100 bits.
pub fn generate_passphrase<R: CryptoRng + ?Sized>(rng: &mut R) -> Zeroizing<String> {
    let mut raw = Zeroizing::new([0u8; 13]);
    rng.fill_bytes(&mut *raw);
    passphrase_from_bytes(&raw)
}

/// The generated-passphrase text of 13 random (or pseudorandom) bytes.
pub fn passphrase_from_bytes(raw: &[u8; 13]) -> Zeroizing<String> {
    let text = Zeroizing::new(data_encoding::BASE32_NOPAD.encode(raw));
    let chars: Vec<char> = text.chars().take(GENERATED_PASSPHRASE_CHARS).collect();
    Zeroizing::new(
        chars
            .chunks(4)
            .map(|c| c.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join("-"),
    )
}

fn normalize_generated(p: &str) -> Option<Zeroizing<String>> {
    let s: Zeroizing<String> = Zeroizing::new(
        p.chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect(),
    );
    (s.len() == GENERATED_PASSPHRASE_CHARS
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)))
    .then_some(s)
}

fn generated_key(passphrase: &str, salt: &[u8]) -> Result<Zeroizing<[u8; 32]>> {
    let norm = normalize_generated(passphrase).ok_or(VenueError::WrongPassphrase)?;
    let mut key = Zeroizing::new([0u8; 32]);
    hkdf::Hkdf::<sha2::Sha256>::new(Some(salt), norm.as_bytes())
        .expand(GENERATED_INFO, &mut *key)
        .map_err(|_| VenueError::InvalidInput("hkdf".into()))?;
    Ok(key)
}

/// What registering with the authority gave (`quet-venue register`, `batch`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    /// The server it was submitted to.
    pub server_url: String,
    /// District given at registration.
    pub district: String,
    /// Registration id at the authority.
    pub id: i64,
    /// `pending`, `approved`, `rejected` or `revoked`.
    pub status: String,
    /// Certificate serial, when approved.
    #[serde(default)]
    pub serial: Option<u64>,
    /// Certificate validity end (Unix seconds), when approved.
    #[serde(default)]
    pub valid_until: Option<u64>,
    /// The certificate (base64), once the authority issues one.
    #[serde(default)]
    pub certificate: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct VenueFile {
    format: String,
    venue: FileVenue,
    authority: FileAuthority,
    key: FileKey,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    registration: Option<Registration>,
}

/// An opened venue: settings, pinned authority and master key.
#[derive(Clone)]
pub struct Venue {
    path: PathBuf,
    info: VenueInfo,
    event: Option<EventWindow>,
    utc_offset_minutes: i32,
    server_url: String,
    descriptor: AuthorityDescriptor,
    master: VenueMasterKey,
    registration: Option<Registration>,
}

impl std::fmt::Debug for Venue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Venue")
            .field("path", &self.path)
            .field("info", &self.info)
            .field("event", &self.event)
            .field("server_url", &self.server_url)
            .field("authority", &self.descriptor.id)
            .finish_non_exhaustive()
    }
}

/// Checks an authority URL: `http(s)://host[:port][/path]`, no query, fragment,
/// spaces or user info. Returns it without a trailing slash.
pub fn validate_base_url(url: &str) -> Result<String> {
    let bad = || VenueError::BadAuthorityUrl(url.to_owned());
    let u = url.trim();
    let rest = u
        .strip_prefix("https://")
        .or_else(|| u.strip_prefix("http://"))
        .ok_or_else(bad)?;
    let host_port = rest.split('/').next().unwrap_or_default();
    let host = match host_port.rsplit_once(':') {
        Some((h, port)) if !h.ends_with(']') || host_port.starts_with('[') => {
            if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) || port.len() > 5 {
                return Err(bad());
            }
            h
        }
        _ => host_port,
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'));
    if !host_ok
        || u.len() > quet_protocol::authority::MAX_BASE_URL
        || u.chars()
            .any(|c| c.is_whitespace() || matches!(c, '?' | '#' | '@' | '\\'))
    {
        return Err(bad());
    }
    Ok(u.trim_end_matches('/').to_owned())
}

/// Parses a category slug (e.g. `restaurant`, `bar-karaoke`).
pub fn parse_category(slug: &str) -> Result<Category> {
    Category::from_slug(slug.trim()).ok_or_else(|| VenueError::UnknownCategory(slug.to_owned()))
}

fn normalize_fingerprint(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn hex32(s: &str, what: &str) -> Result<Zeroizing<[u8; 32]>> {
    let v = Zeroizing::new(
        HEXLOWER
            .decode(s.as_bytes())
            .map_err(|_| VenueError::CorruptVenueFile(format!("{what} is not hex")))?,
    );
    let mut out = Zeroizing::new([0u8; 32]);
    if v.len() != 32 {
        return Err(VenueError::CorruptVenueFile(format!(
            "{what} is not 32 bytes"
        )));
    }
    out.copy_from_slice(&v);
    Ok(out)
}

fn passphrase_key(passphrase: &str, salt: &[u8], iterations: u32) -> Zeroizing<[u8; 32]> {
    let mut key = Zeroizing::new([0u8; 32]);
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(passphrase.as_bytes(), salt, iterations, &mut *key);
    key
}

impl Venue {
    /// Creates a venue: checks every field, verifies the authority descriptor,
    /// generates a master key and writes a new venue file at `path`. Never
    /// overwrites an existing file ([`VenueError::VenueFileExists`]).
    pub fn create<R: CryptoRng + ?Sized>(
        rng: &mut R,
        path: &Path,
        new: &NewVenue,
        passphrase: Option<&str>,
    ) -> Result<Venue> {
        let protection = match passphrase {
            Some(p) => Protection::Passphrase(p),
            None => Protection::None,
        };
        Venue::create_protected(rng, path, new, protection)
    }

    /// [`Venue::create`] with any [`Protection`].
    pub fn create_protected<R: CryptoRng + ?Sized>(
        rng: &mut R,
        path: &Path,
        new: &NewVenue,
        protection: Protection<'_>,
    ) -> Result<Venue> {
        if std::fs::symlink_metadata(path).is_ok() {
            return Err(VenueError::VenueFileExists(path.to_path_buf()));
        }
        let server_url = validate_base_url(&new.server_url)?;
        let descriptor = AuthorityDescriptor::decode(&new.descriptor)
            .map_err(|e| VenueError::BadDescriptor(e.to_string()))?;
        if let Some(expected) = &new.expected_fingerprint
            && normalize_fingerprint(expected) != normalize_fingerprint(&descriptor.fingerprint())
        {
            return Err(VenueError::BadDescriptor(format!(
                "dấu vân tay / fingerprint {} ≠ expected {expected}",
                descriptor.fingerprint()
            )));
        }
        let max_stay = match (new.max_stay_minutes, new.event) {
            (Some(m), _) => m,
            (None, Some(ev)) => {
                let mins = ev.end.saturating_sub(ev.start).div_ceil(60);
                u16::try_from(mins.clamp(1, u64::from(MAX_STAY_LIMIT_MINUTES)))
                    .unwrap_or(MAX_STAY_LIMIT_MINUTES)
            }
            (None, None) => new.category.default_max_stay_minutes(),
        };
        if let Some(ev) = new.event
            && ev.end <= ev.start
        {
            return Err(VenueError::InvalidInput(
                "sự kiện phải kết thúc sau khi bắt đầu / the event must end after it starts".into(),
            ));
        }
        if !(-12 * 60..=14 * 60).contains(&new.utc_offset_minutes) {
            return Err(VenueError::InvalidInput("UTC offset".into()));
        }
        let info = VenueInfo {
            name: new.name.trim().to_owned(),
            address: new.address.trim().to_owned(),
            category: new.category,
            max_stay_minutes: max_stay,
        };
        check_info(&info)?;
        match protection {
            Protection::Passphrase("") => {
                return Err(VenueError::InvalidInput(
                    "mật khẩu rỗng / empty passphrase".into(),
                ));
            }
            Protection::Generated(p) if normalize_generated(p).is_none() => {
                return Err(VenueError::InvalidInput(
                    "not a generated passphrase (generate_passphrase)".into(),
                ));
            }
            _ => {}
        }
        let master = VenueMasterKey::generate(rng);
        let venue = Venue {
            path: path.to_path_buf(),
            info,
            event: new.event,
            utc_offset_minutes: new.utc_offset_minutes,
            server_url,
            descriptor,
            master,
            registration: None,
        };
        // Fail now, not at display time, if the descriptor has no usable capsule key.
        venue.issuer()?;
        let json = venue.to_file_json(rng, &new.descriptor, protection)?;
        fsutil::write_new(path, json.as_bytes())?;
        Ok(venue)
    }

    fn to_file_json<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        descriptor_bytes: &[u8],
        protection: Protection<'_>,
    ) -> Result<Zeroizing<String>> {
        let key = match protection {
            Protection::None => FileKey::None {
                master: HEXLOWER.encode(self.master.expose()),
            },
            Protection::Generated(p) => {
                let mut salt = [0u8; 16];
                let mut nonce = [0u8; 24];
                rng.fill_bytes(&mut salt);
                rng.fill_bytes(&mut nonce);
                let key = generated_key(p, &salt)?;
                let ct = XChaCha20Poly1305::new(&Key::from(*key))
                    .encrypt(
                        &XNonce::from(nonce),
                        Payload {
                            msg: self.master.expose(),
                            aad: MASTER_KEY_AAD,
                        },
                    )
                    .map_err(|_| VenueError::InvalidInput("encryption failed".into()))?;
                FileKey::Generated {
                    scheme: GENERATED_SCHEME.into(),
                    salt: HEXLOWER.encode(&salt),
                    nonce: HEXLOWER.encode(&nonce),
                    ciphertext: HEXLOWER.encode(&ct),
                }
            }
            Protection::Passphrase(p) => {
                let mut salt = [0u8; 16];
                let mut nonce = [0u8; 24];
                rng.fill_bytes(&mut salt);
                rng.fill_bytes(&mut nonce);
                let key = passphrase_key(p, &salt, PBKDF2_ITERATIONS);
                let ct = XChaCha20Poly1305::new(&Key::from(*key))
                    .encrypt(
                        &XNonce::from(nonce),
                        Payload {
                            msg: self.master.expose(),
                            aad: MASTER_KEY_AAD,
                        },
                    )
                    .map_err(|_| VenueError::InvalidInput("encryption failed".into()))?;
                FileKey::Passphrase {
                    scheme: PROTECTED_SCHEME.into(),
                    iterations: PBKDF2_ITERATIONS,
                    salt: HEXLOWER.encode(&salt),
                    nonce: HEXLOWER.encode(&nonce),
                    ciphertext: HEXLOWER.encode(&ct),
                }
            }
        };
        let file = VenueFile {
            format: VENUE_FILE_FORMAT.into(),
            venue: FileVenue {
                name: self.info.name.clone(),
                address: self.info.address.clone(),
                category: self.info.category.slug().into(),
                max_stay_minutes: self.info.max_stay_minutes,
                event: self.event,
                utc_offset_minutes: self.utc_offset_minutes,
            },
            authority: FileAuthority {
                server_url: self.server_url.clone(),
                descriptor: BASE64.encode(descriptor_bytes),
                fingerprint: self.descriptor.fingerprint(),
            },
            key,
            registration: self.registration.clone(),
        };
        let mut s = serde_json::to_string_pretty(&file)
            .map_err(|e| VenueError::InvalidInput(e.to_string()))?;
        s.push('\n');
        Ok(Zeroizing::new(s))
    }

    /// Opens a venue file. `passphrase` is needed if the file is protected
    /// ([`VenueError::PassphraseRequired`], [`VenueError::WrongPassphrase`]).
    pub fn open(path: &Path, passphrase: Option<&str>) -> Result<Venue> {
        let bytes = Zeroizing::new(fsutil::read_limited(path, MAX_VENUE_FILE)?);
        let corrupt =
            |what: &str| VenueError::CorruptVenueFile(format!("{}: {what}", path.display()));
        let file: VenueFile =
            serde_json::from_slice(&bytes).map_err(|e| corrupt(&e.to_string()))?;
        if file.format != VENUE_FILE_FORMAT {
            return Err(corrupt(&format!("unknown format {:?}", file.format)));
        }
        let category = Category::from_slug(&file.venue.category)
            .ok_or_else(|| corrupt(&format!("unknown category {:?}", file.venue.category)))?;
        let info = VenueInfo {
            name: file.venue.name,
            address: file.venue.address,
            category,
            max_stay_minutes: file.venue.max_stay_minutes,
        };
        info.check().map_err(|e| corrupt(&e.to_string()))?;
        let server_url =
            validate_base_url(&file.authority.server_url).map_err(|e| corrupt(&e.to_string()))?;
        let descriptor_bytes = BASE64
            .decode(file.authority.descriptor.as_bytes())
            .map_err(|_| corrupt("descriptor is not base64"))?;
        let descriptor =
            AuthorityDescriptor::decode(&descriptor_bytes).map_err(|e| corrupt(&e.to_string()))?;
        if descriptor.fingerprint() != file.authority.fingerprint {
            return Err(corrupt("descriptor does not match its pinned fingerprint"));
        }
        let master = match file.key {
            FileKey::None { master } => VenueMasterKey::from_bytes(*hex32(&master, "master key")?),
            FileKey::Passphrase {
                scheme,
                iterations,
                salt,
                nonce,
                ciphertext,
            } => {
                if scheme != PROTECTED_SCHEME
                    || !(MIN_PBKDF2_ITERATIONS..=MAX_PBKDF2_ITERATIONS).contains(&iterations)
                {
                    return Err(corrupt("unsupported key protection"));
                }
                let passphrase = passphrase.ok_or(VenueError::PassphraseRequired)?;
                let salt = HEXLOWER
                    .decode(salt.as_bytes())
                    .map_err(|_| corrupt("salt is not hex"))?;
                let nonce: [u8; 24] = HEXLOWER
                    .decode(nonce.as_bytes())
                    .ok()
                    .and_then(|n| n.try_into().ok())
                    .ok_or_else(|| corrupt("bad nonce"))?;
                let ct = HEXLOWER
                    .decode(ciphertext.as_bytes())
                    .map_err(|_| corrupt("ciphertext is not hex"))?;
                if salt.len() < 16 || ct.len() != 48 {
                    return Err(corrupt("bad key protection fields"));
                }
                let key = passphrase_key(passphrase, &salt, iterations);
                let plain = Zeroizing::new(
                    XChaCha20Poly1305::new(&Key::from(*key))
                        .decrypt(
                            &XNonce::from(nonce),
                            Payload {
                                msg: &ct,
                                aad: MASTER_KEY_AAD,
                            },
                        )
                        .map_err(|_| VenueError::WrongPassphrase)?,
                );
                let arr: [u8; 32] = plain
                    .as_slice()
                    .try_into()
                    .map_err(|_| corrupt("bad master key length"))?;
                VenueMasterKey::from_bytes(arr)
            }
            FileKey::Generated {
                scheme,
                salt,
                nonce,
                ciphertext,
            } => {
                if scheme != GENERATED_SCHEME {
                    return Err(corrupt("unsupported key protection"));
                }
                let passphrase = passphrase.ok_or(VenueError::PassphraseRequired)?;
                let salt = HEXLOWER
                    .decode(salt.as_bytes())
                    .map_err(|_| corrupt("salt is not hex"))?;
                let nonce: [u8; 24] = HEXLOWER
                    .decode(nonce.as_bytes())
                    .ok()
                    .and_then(|n| n.try_into().ok())
                    .ok_or_else(|| corrupt("bad nonce"))?;
                let ct = HEXLOWER
                    .decode(ciphertext.as_bytes())
                    .map_err(|_| corrupt("ciphertext is not hex"))?;
                if salt.len() < 16 || ct.len() != 48 {
                    return Err(corrupt("bad key protection fields"));
                }
                let key = generated_key(passphrase, &salt)?;
                let plain = Zeroizing::new(
                    XChaCha20Poly1305::new(&Key::from(*key))
                        .decrypt(
                            &XNonce::from(nonce),
                            Payload {
                                msg: &ct,
                                aad: MASTER_KEY_AAD,
                            },
                        )
                        .map_err(|_| VenueError::WrongPassphrase)?,
                );
                let arr: [u8; 32] = plain
                    .as_slice()
                    .try_into()
                    .map_err(|_| corrupt("bad master key length"))?;
                VenueMasterKey::from_bytes(arr)
            }
        };
        if let Some(ev) = file.venue.event
            && ev.end <= ev.start
        {
            return Err(corrupt("event ends before it starts"));
        }
        Ok(Venue {
            path: path.to_path_buf(),
            info,
            event: file.venue.event,
            utc_offset_minutes: file.venue.utc_offset_minutes.clamp(-12 * 60, 14 * 60),
            server_url,
            descriptor,
            master,
            registration: file.registration,
        })
    }

    /// What a display needs for `days` days from `first`: the day keys of those
    /// days and one either side, and the signing seed; never the master.
    pub fn display_file(
        &self,
        first: quet_protocol::time::Day,
        days: u32,
    ) -> Result<crate::display_file::DisplayFile> {
        use crate::display_file::{DisplayFile, Event, MAX_DISPLAY_DAYS};
        use quet_protocol::time::Day;
        if days == 0 || days > MAX_DISPLAY_DAYS {
            return Err(VenueError::InvalidInput(format!(
                "số ngày / days: 1..={MAX_DISPLAY_DAYS}"
            )));
        }
        let range = || VenueError::InvalidInput("date out of range".into());
        let last = first.0.checked_add(days - 1).ok_or_else(range)?;
        let from = first.0.checked_sub(1).ok_or_else(range)?;
        let to = last.checked_add(1).ok_or_else(range)?;
        let certificate = self
            .registration
            .as_ref()
            .filter(|r| r.status == "approved")
            .and_then(|r| r.certificate.as_ref())
            .map(|c| BASE64.decode(c.as_bytes()))
            .transpose()
            .map_err(|_| VenueError::CorruptVenueFile("certificate is not base64".into()))?;
        Ok(DisplayFile {
            venue: self.info.clone(),
            event: self.event.map(|e| Event {
                start: e.start,
                end: e.end,
            }),
            utc_offset_minutes: self.utc_offset_minutes,
            descriptor_bytes: self.descriptor_bytes()?,
            descriptor: self.descriptor.clone(),
            signing_seed: Zeroizing::new(self.master.signing_key().to_bytes()),
            certificate,
            first_day: first,
            last_day: Day(last),
            day_keys: (from..=to).map(|d| self.master.day_key(Day(d))).collect(),
        })
    }

    /// The signed descriptor bytes as pinned in the venue file.
    pub fn descriptor_bytes(&self) -> Result<Vec<u8>> {
        let bytes = Zeroizing::new(fsutil::read_limited(&self.path, MAX_VENUE_FILE)?);
        let file: VenueFile = serde_json::from_slice(&bytes)
            .map_err(|e| VenueError::CorruptVenueFile(format!("{}: {e}", self.path.display())))?;
        BASE64
            .decode(file.authority.descriptor.as_bytes())
            .map_err(|_| VenueError::CorruptVenueFile("descriptor is not base64".into()))
    }

    /// The registration state stored in the venue file, if any.
    pub fn registration(&self) -> Option<&Registration> {
        self.registration.as_ref()
    }

    /// Stores `reg` in the venue file (atomic replace; everything else, the key
    /// included, is kept byte for byte as parsed).
    pub fn save_registration(&mut self, reg: Registration) -> Result<()> {
        self.rewrite_file(|file| file.registration = Some(reg.clone()))?;
        self.registration = Some(reg);
        Ok(())
    }

    /// Adopts a newer signed descriptor of the pinned authority (from `GET
    /// /v1/descriptor`, when a signed head or the feed says the pinned one is
    /// outdated): it must pass [`AuthorityDescriptor::verify_update`] (same
    /// authority, higher serial, signed by the pinned root key or through its
    /// cross-signature). The venue file is rewritten in one step with the new
    /// descriptor and fingerprint, so the next display, poster or assist run seals
    /// to the capsule keys it announces. Returns whether anything changed (the
    /// same descriptor again is `false`).
    pub fn adopt_descriptor(&mut self, bytes: &[u8]) -> Result<bool> {
        let newer = self
            .descriptor
            .verify_update(bytes)
            .map_err(|e| VenueError::BadDescriptor(e.to_string()))?;
        if newer == self.descriptor {
            return Ok(false);
        }
        let fingerprint = newer.fingerprint();
        let encoded = BASE64.encode(bytes);
        self.rewrite_file(|file| {
            file.authority.descriptor = encoded.clone();
            file.authority.fingerprint = fingerprint.clone();
        })?;
        self.descriptor = newer;
        Ok(true)
    }

    /// Reads the venue file, changes its plaintext parts and replaces it in one
    /// step (a crash leaves the old file or the new one, never half of either).
    fn rewrite_file(&self, change: impl FnOnce(&mut VenueFile)) -> Result<()> {
        let bytes = Zeroizing::new(fsutil::read_limited(&self.path, MAX_VENUE_FILE)?);
        let mut file: VenueFile = serde_json::from_slice(&bytes)
            .map_err(|e| VenueError::CorruptVenueFile(format!("{}: {e}", self.path.display())))?;
        change(&mut file);
        let mut s = Zeroizing::new(
            serde_json::to_string_pretty(&file)
                .map_err(|e| VenueError::InvalidInput(e.to_string()))?,
        );
        s.push('\n');
        fsutil::replace(&self.path, s.as_bytes())
    }

    /// What printouts say beyond the codes: the registration line, if certified.
    pub fn print_extras(&self) -> crate::pdf::PrintExtras {
        crate::pdf::PrintExtras {
            registration: self.registration_line(),
            venue_file_passphrase: None,
        }
    }

    /// "Đã đăng ký với … / registered with …" when approved.
    pub fn registration_line(&self) -> Option<String> {
        let r = self
            .registration
            .as_ref()
            .filter(|r| r.status == "approved")?;
        let until = r
            .valid_until
            .map(|u| crate::timefmt::format_local(UnixTime(u), self.utc_offset_minutes))
            .unwrap_or_default();
        Some(format!(
            "Đã đăng ký với {a} (số {s}, đến {until}) / registered with {a} (serial {s}, until {until})",
            a = self.descriptor.name,
            s = r.serial.unwrap_or(0),
        ))
    }

    /// The authority's certificate of this venue, once approved (codes carry it).
    pub fn certificate(&self) -> Result<Option<quet_protocol::certificate::VenueCertificate>> {
        self.registration
            .as_ref()
            .filter(|r| r.status == "approved")
            .and_then(|r| r.certificate.as_ref())
            .map(|c| {
                let bytes = BASE64.decode(c.as_bytes()).map_err(|_| {
                    VenueError::CorruptVenueFile("certificate is not base64".into())
                })?;
                Ok(quet_protocol::certificate::VenueCertificate::from_bytes(
                    &bytes,
                )?)
            })
            .transpose()
    }

    /// A code issuer for this venue (keeps the day's trace capsule once created);
    /// its codes carry the certificate once the authority approved the venue.
    pub fn issuer(&self) -> Result<CodeIssuer> {
        let mut issuer = CodeIssuer::new(self.master.clone(), self.info.clone(), &self.descriptor)?;
        let offset = i16::try_from(self.utc_offset_minutes)
            .map_err(|_| VenueError::InvalidInput("UTC offset".into()))?;
        issuer.set_utc_offset(quet_protocol::time::UtcOffset(offset))?;
        issuer.set_certificate(self.certificate()?);
        Ok(issuer)
    }

    /// Where the venue file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the assisted check-in log of this venue is kept: next to the venue
    /// file, `<file>.assist.json`.
    pub fn assist_log_path(&self) -> PathBuf {
        let mut name = self
            .path
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_else(|| "venue".into());
        name.push(".assist.json");
        self.path.with_file_name(name)
    }

    /// Display info shown in codes.
    pub fn info(&self) -> &VenueInfo {
        &self.info
    }

    /// The event window, for events.
    pub fn event(&self) -> Option<EventWindow> {
        self.event
    }

    /// Local offset from UTC in minutes, for printouts.
    pub fn utc_offset_minutes(&self) -> i32 {
        self.utc_offset_minutes
    }

    /// The authority server URL (bulletins, heartbeats).
    pub fn server_url(&self) -> &str {
        &self.server_url
    }

    /// The pinned authority descriptor.
    pub fn descriptor(&self) -> &AuthorityDescriptor {
        &self.descriptor
    }

    /// The base URL codes point to (the descriptor's, where the web client lives).
    pub fn code_base_url(&self) -> &str {
        &self.descriptor.base_url
    }

    /// The venue master key. Export it only on the tracing sheet.
    pub fn master(&self) -> &VenueMasterKey {
        &self.master
    }
}

fn check_info(info: &VenueInfo) -> Result<()> {
    if info.name.is_empty() {
        return Err(VenueError::InvalidInput("tên trống / empty name".into()));
    }
    info.check().map_err(|e| {
        VenueError::InvalidInput(format!(
            "{e} (tên ≤ {} byte, địa chỉ ≤ {} byte, thời gian ở tối đa 1..={} phút / name ≤ {} bytes, \
             address ≤ {} bytes, max stay 1..={} minutes)",
            quet_protocol::code::MAX_NAME_LEN,
            quet_protocol::code::MAX_ADDRESS_LEN,
            MAX_STAY_LIMIT_MINUTES,
            quet_protocol::code::MAX_NAME_LEN,
            quet_protocol::code::MAX_ADDRESS_LEN,
            MAX_STAY_LIMIT_MINUTES
        ))
    })
}
