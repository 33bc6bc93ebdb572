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
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct VenueFile {
    format: String,
    venue: FileVenue,
    authority: FileAuthority,
    key: FileKey,
}

/// An opened venue: settings, pinned authority and master key.
pub struct Venue {
    path: PathBuf,
    info: VenueInfo,
    event: Option<EventWindow>,
    utc_offset_minutes: i32,
    server_url: String,
    descriptor: AuthorityDescriptor,
    master: VenueMasterKey,
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
        if passphrase.is_some_and(str::is_empty) {
            return Err(VenueError::InvalidInput(
                "mật khẩu rỗng / empty passphrase".into(),
            ));
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
        };
        // Fail now, not at display time, if the descriptor has no usable capsule key.
        venue.issuer()?;
        let json = venue.to_file_json(rng, &new.descriptor, passphrase)?;
        fsutil::write_new(path, json.as_bytes())?;
        Ok(venue)
    }

    fn to_file_json<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        descriptor_bytes: &[u8],
        passphrase: Option<&str>,
    ) -> Result<Zeroizing<String>> {
        let key = match passphrase {
            None => FileKey::None {
                master: HEXLOWER.encode(self.master.expose()),
            },
            Some(p) => {
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
        })
    }

    /// A code issuer for this venue (keeps the day's trace capsule once created).
    pub fn issuer(&self) -> Result<CodeIssuer> {
        Ok(CodeIssuer::new(
            self.master.clone(),
            self.info.clone(),
            &self.descriptor,
        )?)
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
