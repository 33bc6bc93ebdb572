//! Assisted check-in for visitors without smartphones.
//!
//! Staff enter name, phone, arrival and departure. Each entry becomes an encounter
//! token sealed, exactly as a phone would, to the venue-time key `P_e` of the
//! arrival hour, with a [`TokenRecord`] (arrival, departure clipped to the max stay,
//! `notice_secret(e)`, display info). The visitor's name and phone are stored next
//! to it, encrypted with XChaCha20-Poly1305 under
//! `HKDF-SHA256(venue master, info = "quet-venue/v1/assist-contacts")`. Entries are
//! deleted 14 days after their hour.
//!
//! `assist match` downloads the authority's bulletins (`GET /v1/bulletins/index.json`,
//! `GET /v1/bulletins/{n}`), verifies signature and chain with
//! [`Bulletin::verify_next`], drops withdrawn notices, runs the protocol's
//! [`Matcher`] over the stored tokens and lists exactly the visitors to call, with
//! the health authority's message. Like a phone, the tool learns of a match only by
//! opening a token with a published key.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use data_encoding::{BASE64, HEXLOWER};
use quet_protocol::authority::AuthorityDescriptor;
use quet_protocol::bulletin::{Bulletin, ChainState, MAX_BULLETIN_LEN};
use quet_protocol::code::CodeKind;
use quet_protocol::matching::{Matcher, StoredToken};
use quet_protocol::notice::{ExposureNotice, Severity};
use quet_protocol::time::{Epoch, UnixTime};
use quet_protocol::token::{EncounterToken, TokenRecord};
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use sha2::Digest;
use zeroize::Zeroizing;

use crate::error::{Result, VenueError};
use crate::fsutil;
use crate::venue::Venue;

/// How long assisted check-ins are kept.
pub const RETENTION_SECS: u64 = 14 * 86_400;
/// HKDF info of the contact encryption key.
const CONTACT_KEY_LABEL: &[u8] = b"quet-venue/v1/assist-contacts";
/// Format of the log file.
const LOG_FORMAT: &str = "quet-venue-assist/v1";
/// Longest visitor name / phone in bytes.
pub const MAX_CONTACT_FIELD: usize = 100;
/// Largest log file read.
const MAX_LOG_FILE: u64 = 64 * 1024 * 1024;

/// A visitor checked in by staff.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visitor {
    /// Name as written.
    pub name: String,
    /// Phone number as written.
    pub phone: String,
    /// Arrival (Unix seconds).
    pub arrival: u64,
    /// Departure (Unix seconds), clipped to the venue's max stay.
    pub departure: u64,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    id: u64,
    /// The encounter token bytes, base64.
    token: String,
    /// nonce (24) || XChaCha20-Poly1305(contact JSON), base64.
    contact: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogFile {
    format: String,
    next_id: u64,
    entries: Vec<Entry>,
    /// Last bulletin accepted by `assist match`: (sequence, hash hex).
    chain: Option<(u64, String)>,
}

/// What staff enter for an assisted check-in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssistedVisit {
    /// Visitor's name.
    pub name: String,
    /// Visitor's phone number.
    pub phone: String,
    /// Arrival.
    pub arrival: UnixTime,
    /// Departure; `None` = arrival + the venue's max stay.
    pub departure: Option<UnixTime>,
}

/// One visitor to call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VisitorExposure {
    /// The entry id.
    pub id: u64,
    /// Who to call.
    pub visitor: Visitor,
    /// The notice's severity.
    pub severity: Severity,
    /// The window the notice concerns.
    pub window: (UnixTime, UnixTime),
    /// The health authority's message in Vietnamese.
    pub message_vi: String,
    /// The health authority's message in English.
    pub message_en: String,
    /// The notice id.
    pub notice_nonce: [u8; 16],
}

/// What `assist match` found.
#[derive(Clone, Debug)]
pub struct MatchReport {
    /// The bulletins verified (sequence numbers).
    pub bulletins: Vec<u64>,
    /// The visitors to call.
    pub exposures: Vec<VisitorExposure>,
}

/// The venue's assisted check-in log.
pub struct AssistLog {
    path: PathBuf,
    key: Zeroizing<[u8; 32]>,
    file: LogFile,
}

impl std::fmt::Debug for AssistLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssistLog")
            .field("path", &self.path)
            .field("entries", &self.file.entries.len())
            .finish_non_exhaustive()
    }
}

fn contact_key(venue: &Venue) -> Zeroizing<[u8; 32]> {
    let mut key = Zeroizing::new([0u8; 32]);
    let hk = hkdf::Hkdf::<sha2::Sha256>::new(None, venue.master().expose());
    // 32 bytes is always a valid HKDF-SHA256 output length.
    let _ = hk.expand(CONTACT_KEY_LABEL, &mut *key);
    key
}

fn check_field(what: &str, s: &str) -> Result<String> {
    let s = s.trim();
    if s.is_empty() || s.len() > MAX_CONTACT_FIELD || s.chars().any(char::is_control) {
        return Err(VenueError::InvalidInput(format!(
            "{what}: 1..={MAX_CONTACT_FIELD} bytes"
        )));
    }
    Ok(s.to_owned())
}

impl AssistLog {
    /// Opens the log of `venue` (empty if there is none yet).
    pub fn open(venue: &Venue) -> Result<AssistLog> {
        Self::open_at(venue, &venue.assist_log_path())
    }

    /// Opens a log at an explicit path.
    pub fn open_at(venue: &Venue, path: &Path) -> Result<AssistLog> {
        let key = contact_key(venue);
        let file = if path.exists() {
            let bytes = fsutil::read_limited(path, MAX_LOG_FILE)?;
            let file: LogFile = serde_json::from_slice(&bytes)
                .map_err(|e| VenueError::CorruptVenueFile(format!("{}: {e}", path.display())))?;
            if file.format != LOG_FORMAT {
                return Err(VenueError::CorruptVenueFile(format!(
                    "{}: unknown format",
                    path.display()
                )));
            }
            file
        } else {
            LogFile {
                format: LOG_FORMAT.into(),
                next_id: 1,
                entries: Vec::new(),
                chain: None,
            }
        };
        Ok(AssistLog {
            path: path.to_path_buf(),
            key,
            file,
        })
    }

    fn save(&self) -> Result<()> {
        let json = serde_json::to_vec_pretty(&self.file)
            .map_err(|e| VenueError::InvalidInput(e.to_string()))?;
        fsutil::replace(&self.path, &json)
    }

    fn seal_contact<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        id: u64,
        v: &Visitor,
    ) -> Result<String> {
        let mut nonce = [0u8; 24];
        rng.fill_bytes(&mut nonce);
        let plain = Zeroizing::new(
            serde_json::to_vec(v).map_err(|e| VenueError::InvalidInput(e.to_string()))?,
        );
        let ct = XChaCha20Poly1305::new(&Key::from(*self.key))
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &plain,
                    aad: &id.to_be_bytes(),
                },
            )
            .map_err(|_| VenueError::InvalidInput("encryption failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        Ok(BASE64.encode(&out))
    }

    fn open_contact(&self, e: &Entry) -> Result<Visitor> {
        let corrupt = || VenueError::CorruptVenueFile(format!("assisted check-in #{}", e.id));
        let raw = BASE64.decode(e.contact.as_bytes()).map_err(|_| corrupt())?;
        let (nonce, ct) = raw.split_at_checked(24).ok_or_else(corrupt)?;
        let nonce: [u8; 24] = nonce.try_into().map_err(|_| corrupt())?;
        let plain = Zeroizing::new(
            XChaCha20Poly1305::new(&Key::from(*self.key))
                .decrypt(
                    &XNonce::from(nonce),
                    Payload {
                        msg: ct,
                        aad: &e.id.to_be_bytes(),
                    },
                )
                .map_err(|_| corrupt())?,
        );
        serde_json::from_slice(&plain).map_err(|_| corrupt())
    }

    fn token_of(e: &Entry) -> Result<EncounterToken> {
        let corrupt = || VenueError::CorruptVenueFile(format!("assisted check-in #{}", e.id));
        let raw = BASE64.decode(e.token.as_bytes()).map_err(|_| corrupt())?;
        EncounterToken::from_bytes(&raw).map_err(|_| corrupt())
    }

    fn seal_token<R: CryptoRng + ?Sized>(
        venue: &Venue,
        rng: &mut R,
        arrival: UnixTime,
        departure: UnixTime,
    ) -> Result<(EncounterToken, TokenRecord)> {
        let epoch = Epoch::hour_of(arrival)?;
        let day_key = venue.master().day_key(epoch.day());
        let p_e = day_key.venue_time_secret(epoch)?.public();
        let mut record = TokenRecord {
            arrival,
            departure: arrival,
            authority: venue.descriptor().id,
            code_kind: CodeKind::Screen,
            notice_secret: day_key.notice_secret(epoch)?,
            venue: venue.info().clone(),
        };
        record.set_departure(departure)?;
        let token = EncounterToken::seal(rng, &p_e, epoch, &record)?;
        Ok((token, record))
    }

    /// Checks a visitor in: seals a token to the venue-time key of the arrival
    /// hour and stores it with the encrypted contact. `departure` defaults to
    /// arrival + max stay and is clipped to it. Returns the entry id.
    pub fn check_in<R: CryptoRng + ?Sized>(
        &mut self,
        venue: &Venue,
        rng: &mut R,
        visit: &AssistedVisit,
        now: UnixTime,
    ) -> Result<u64> {
        let name = check_field("họ tên / name", &visit.name)?;
        let phone = check_field("số điện thoại / phone", &visit.phone)?;
        let (arrival, departure) = (visit.arrival, visit.departure);
        if arrival.0.saturating_add(RETENTION_SECS) < now.0 || arrival.0 > now.0 + 86_400 {
            return Err(VenueError::InvalidInput(
                "giờ vào phải trong 14 ngày qua / arrival must be within the last 14 days".into(),
            ));
        }
        let planned = arrival.checked_add(venue.info().max_stay_secs())?;
        let departure = departure.unwrap_or(planned);
        if departure < arrival {
            return Err(VenueError::InvalidInput(
                "giờ ra trước giờ vào / departure before arrival".into(),
            ));
        }
        let (token, record) = Self::seal_token(venue, rng, arrival, departure)?;
        let id = self.file.next_id;
        let visitor = Visitor {
            name,
            phone,
            arrival: record.arrival.0,
            departure: record.departure.0,
        };
        let contact = self.seal_contact(rng, id, &visitor)?;
        self.prune(now);
        self.file.entries.push(Entry {
            id,
            token: BASE64.encode(&token.to_bytes()),
            contact,
        });
        self.file.next_id = id.saturating_add(1);
        self.save()?;
        Ok(id)
    }

    /// Records a departure: re-seals the entry's token (as a phone does at
    /// check-out) with the new departure, clipped to the max stay.
    pub fn check_out<R: CryptoRng + ?Sized>(
        &mut self,
        venue: &Venue,
        rng: &mut R,
        id: u64,
        departure: UnixTime,
    ) -> Result<Visitor> {
        let idx = self
            .file
            .entries
            .iter()
            .position(|e| e.id == id)
            .ok_or_else(|| VenueError::InvalidInput(format!("không có / no entry #{id}")))?;
        let entry = self
            .file
            .entries
            .get(idx)
            .cloned()
            .ok_or_else(|| VenueError::InvalidInput(format!("không có / no entry #{id}")))?;
        let mut visitor = self.open_contact(&entry)?;
        let arrival = UnixTime(visitor.arrival);
        if departure < arrival {
            return Err(VenueError::InvalidInput(
                "giờ ra trước giờ vào / departure before arrival".into(),
            ));
        }
        let (token, record) = Self::seal_token(venue, rng, arrival, departure)?;
        visitor.departure = record.departure.0;
        let contact = self.seal_contact(rng, id, &visitor)?;
        if let Some(e) = self.file.entries.get_mut(idx) {
            e.token = BASE64.encode(&token.to_bytes());
            e.contact = contact;
        }
        self.save()?;
        Ok(visitor)
    }

    /// Drops entries whose hour ended more than 14 days before `now`.
    pub fn prune(&mut self, now: UnixTime) -> usize {
        let before = self.file.entries.len();
        self.file.entries.retain(|e| {
            Self::token_of(e)
                .map(|t| t.epoch.end().0.saturating_add(RETENTION_SECS) > now.0)
                .unwrap_or(true)
        });
        before - self.file.entries.len()
    }

    /// Prunes and saves.
    pub fn prune_and_save(&mut self, now: UnixTime) -> Result<usize> {
        let n = self.prune(now);
        self.save()?;
        Ok(n)
    }

    /// Every stored visitor with its id, oldest first.
    pub fn visitors(&self) -> Result<Vec<(u64, Visitor)>> {
        self.file
            .entries
            .iter()
            .map(|e| Ok((e.id, self.open_contact(e)?)))
            .collect()
    }

    /// Matches the stored check-ins against `notices`, skipping `withdrawn` ones.
    pub fn match_notices<'a>(
        &self,
        notices: impl IntoIterator<Item = &'a ExposureNotice>,
        withdrawn: &BTreeSet<[u8; 16]>,
    ) -> Result<Vec<VisitorExposure>> {
        let tokens = self
            .file
            .entries
            .iter()
            .map(|e| {
                Ok(StoredToken {
                    id: e.id,
                    token: Self::token_of(e)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let matcher = Matcher::new(tokens);
        let live: Vec<&ExposureNotice> = notices
            .into_iter()
            .filter(|n| !withdrawn.contains(&n.nonce))
            .collect();
        let mut out = Vec::new();
        for x in matcher.match_notices(live) {
            let Some(entry) = self.file.entries.iter().find(|e| e.id == x.token_id) else {
                continue;
            };
            out.push(VisitorExposure {
                id: x.token_id,
                visitor: self.open_contact(entry)?,
                severity: x.body.severity,
                window: (x.body.window_start, x.body.window_end),
                message_vi: x.body.message_vi,
                message_en: x.body.message_en,
                notice_nonce: x.notice_nonce,
            });
        }
        Ok(out)
    }

    /// Downloads and verifies the authority's live bulletins from `server_url`
    /// and matches them ([`fetch_bulletins`], [`AssistLog::match_notices`]).
    /// Remembers the last accepted bulletin so a rolled-back or forked history is
    /// refused next time.
    pub fn match_server(
        &mut self,
        venue: &Venue,
        server_url: &str,
        now: UnixTime,
    ) -> Result<MatchReport> {
        let last = match &self.file.chain {
            Some((sequence, hash)) => {
                let h: [u8; 32] = HEXLOWER
                    .decode(hash.as_bytes())
                    .ok()
                    .and_then(|v| v.try_into().ok())
                    .ok_or_else(|| VenueError::CorruptVenueFile("assist chain state".into()))?;
                Some(ChainState {
                    sequence: *sequence,
                    hash: h,
                    expires_at: UnixTime(0),
                })
            }
            None => None,
        };
        let bulletins = fetch_bulletins(server_url, venue.descriptor(), last.as_ref(), now)?;
        let withdrawn: BTreeSet<[u8; 16]> = bulletins
            .iter()
            .flat_map(|b| b.withdrawn.iter().copied())
            .collect();
        let exposures =
            self.match_notices(bulletins.iter().flat_map(|b| b.notices.iter()), &withdrawn)?;
        if let Some(b) = bulletins.last() {
            self.file.chain = Some((b.sequence, HEXLOWER.encode(&b.hash())));
        }
        self.prune(now);
        self.save()?;
        Ok(MatchReport {
            bulletins: bulletins.iter().map(|b| b.sequence).collect(),
            exposures,
        })
    }

    /// Number of stored entries.
    pub fn len(&self) -> usize {
        self.file.entries.len()
    }

    /// Whether the log is empty.
    pub fn is_empty(&self) -> bool {
        self.file.entries.is_empty()
    }
}

#[derive(Deserialize)]
struct IndexEntry {
    sequence: u64,
    sha256: String,
    size: u64,
}

#[derive(Deserialize)]
struct Index {
    authority: String,
    #[allow(dead_code)]
    first: u64,
    #[allow(dead_code)]
    latest: u64,
    bulletins: Vec<IndexEntry>,
}

/// Downloads every live bulletin listed at `{server}/v1/bulletins/index.json`,
/// checks each against its listed SHA-256 and size, and verifies signature, expiry
/// and chain with [`Bulletin::verify_next`] (the oldest live one is the anchor).
/// If `last` (a bulletin accepted before) is still listed, its hash must match;
/// if the server's latest is older than `last`, the history was rolled back.
pub fn fetch_bulletins(
    server_url: &str,
    authority: &AuthorityDescriptor,
    last: Option<&ChainState>,
    now: UnixTime,
) -> Result<Vec<Bulletin>> {
    let base = crate::venue::validate_base_url(server_url)?;
    let index_bytes = crate::http::get_bytes(&format!("{base}/v1/bulletins/index.json"), 4 << 20)?;
    let index: Index = serde_json::from_slice(&index_bytes)
        .map_err(|e| VenueError::BadServerData(format!("bulletin index: {e}")))?;
    if !index
        .authority
        .eq_ignore_ascii_case(&format!("{:08x}", authority.id.0))
    {
        return Err(VenueError::BadServerData(format!(
            "bulletin index is for authority {}, not {:08x}",
            index.authority, authority.id.0
        )));
    }
    // An empty list is not a rollback: every bulletin may simply have expired.
    let latest = index.bulletins.last().map_or(u64::MAX, |b| b.sequence);
    if let Some(l) = last
        && latest < l.sequence
    {
        return Err(VenueError::BadServerData(format!(
            "bulletins rolled back: server's latest is {latest}, we accepted {}",
            l.sequence
        )));
    }
    let mut out: Vec<Bulletin> = Vec::new();
    for item in &index.bulletins {
        if item.size > MAX_BULLETIN_LEN as u64 {
            return Err(VenueError::BadServerData(format!(
                "bulletin {} too large",
                item.sequence
            )));
        }
        let bytes = crate::http::get_bytes(
            &format!("{base}/v1/bulletins/{}", item.sequence),
            item.size.saturating_add(1),
        )?;
        let digest = sha2::Sha256::digest(&bytes);
        if !HEXLOWER.encode(&digest).eq_ignore_ascii_case(&item.sha256)
            || bytes.len() as u64 != item.size
        {
            return Err(VenueError::BadServerData(format!(
                "bulletin {} does not match the index",
                item.sequence
            )));
        }
        let prev = out.last().map(Bulletin::chain_state);
        let b = match Bulletin::verify_next(&bytes, authority, prev.as_ref(), now) {
            Ok(b) => b,
            // An expired bulletin at the start of the list is just old: skip it.
            Err(quet_protocol::Error::BulletinExpired { .. }) if out.is_empty() => continue,
            Err(e) => {
                return Err(VenueError::BadServerData(format!(
                    "bulletin {}: {e}",
                    item.sequence
                )));
            }
        };
        if b.sequence != item.sequence {
            return Err(VenueError::BadServerData(format!(
                "bulletin {} claims sequence {}",
                item.sequence, b.sequence
            )));
        }
        if let Some(l) = last
            && l.sequence == b.sequence
            && l.hash != b.hash()
        {
            return Err(VenueError::BadServerData(format!(
                "bulletin {} differs from the one accepted before",
                b.sequence
            )));
        }
        out.push(b);
    }
    Ok(out)
}
