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
//! `assist match` follows the authority's bulletin feed exactly as a phone does
//! ([`follow_feed`]): the signed head (`GET /v1/bulletins/head`) checked with
//! [`ChainView::check_head`] against what the log verified before, then every live
//! bulletin (`GET /v1/bulletins/{n}`) accepted with [`ChainView::accept_bulletin`].
//! The unsigned `index.json` is never read, so a mirror that freezes the feed,
//! rolls it back, forks it or hides bulletins is refused with a clear message
//! ([`VenueError::FeedRefused`]) instead of reporting "nobody to call". It then
//! drops withdrawn notices, runs the protocol's [`Matcher`] over the stored tokens
//! and lists exactly the visitors to call, with the health authority's message.
//! Like a phone, the tool learns of a match only by opening a token with a
//! published key.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use data_encoding::{BASE64, HEXLOWER};
use quet_protocol::authority::AuthorityDescriptor;
use quet_protocol::bulletin::{Bulletin, ChainState, MAX_BULLETIN_LEN};
use quet_protocol::chain::{ChainView, HeadState, SyncPlan};
use quet_protocol::code::{CODE_VERSION, CodeKind};
use quet_protocol::head::{BulletinHead, HEAD_LEN};
use quet_protocol::matching::{Matcher, StoredToken};
use quet_protocol::notice::{ExposureNotice, Severity};
use quet_protocol::time::{Epoch, UnixTime, UtcOffset};
use quet_protocol::token::{EncounterToken, TokenRecord};
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
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
    /// Before the signed head: the last bulletin accepted, (sequence, hash hex).
    /// Read from old logs only (it becomes `view`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    chain: Option<(u64, String)>,
    /// What `assist match` verified of the feed (the protocol's [`ChainView`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    view: Option<StoredView>,
}

/// A [`ChainView`] in the log file.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredView {
    /// Last accepted bulletin: sequence, chain hash (hex), expiry.
    last: Option<(u64, String, u64)>,
    /// Newest verified head: latest sequence, latest hash (hex), issued, expires.
    head: Option<(u64, String, u64, u64)>,
}

fn hash_of(hex: &str) -> Result<[u8; 32]> {
    HEXLOWER
        .decode(hex.as_bytes())
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| VenueError::CorruptVenueFile("assist log: chain state".into()))
}

impl StoredView {
    fn from_view(v: &ChainView) -> StoredView {
        StoredView {
            last: v
                .last
                .map(|l| (l.sequence, HEXLOWER.encode(&l.hash), l.expires_at.0)),
            head: v.head.map(|h| {
                (
                    h.latest_sequence,
                    HEXLOWER.encode(&h.latest_hash),
                    h.issued_at.0,
                    h.expires_at.0,
                )
            }),
        }
    }

    fn to_view(&self) -> Result<ChainView> {
        Ok(ChainView {
            last: match &self.last {
                Some((sequence, hash, expires)) => Some(ChainState {
                    sequence: *sequence,
                    hash: hash_of(hash)?,
                    expires_at: UnixTime(*expires),
                }),
                None => None,
            },
            head: match &self.head {
                Some((latest_sequence, hash, issued, expires)) => Some(HeadState {
                    latest_sequence: *latest_sequence,
                    latest_hash: hash_of(hash)?,
                    issued_at: UnixTime(*issued),
                    expires_at: UnixTime(*expires),
                }),
                None => None,
            },
        })
    }
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
    /// The live bulletins verified (sequence numbers).
    pub bulletins: Vec<u64>,
    /// The verified head's expiry: the list is known complete until then.
    pub fresh_until: UnixTime,
    /// The visitors to call.
    pub exposures: Vec<VisitorExposure>,
    /// The serial of a newer authority descriptor the feed needed and the venue
    /// file now pins ([`Venue::adopt_descriptor`]), if there was one.
    pub descriptor_updated: Option<u64>,
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
                view: None,
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
        // The epoch a screen code of the current version shows at `arrival` (seeded
        // hours in protocol 1.1): what a trace of this venue publishes.
        let offset = i16::try_from(venue.utc_offset_minutes())
            .map(UtcOffset)
            .map_err(|_| quet_protocol::Error::TimeOutOfRange)?
            .check()?;
        let epoch =
            Epoch::containing_with(CodeKind::Screen.epoch_kind(CODE_VERSION), arrival, offset)?;
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

    /// The feed as this log verified it last ([`ChainView::default`] before the
    /// first match).
    fn chain_view(&self) -> Result<ChainView> {
        if let Some(v) = &self.file.view {
            return v.to_view();
        }
        // A log from before signed heads: its last bulletin, of unknown expiry.
        Ok(ChainView {
            last: match &self.file.chain {
                Some((sequence, hash)) => Some(ChainState {
                    sequence: *sequence,
                    hash: hash_of(hash)?,
                    expires_at: UnixTime(0),
                }),
                None => None,
            },
            head: None,
        })
    }

    /// Follows the authority's feed at `server_url` ([`follow_feed`]) from what
    /// this log verified before, matches every live bulletin
    /// ([`AssistLog::match_notices`]) and remembers the new view, so a frozen,
    /// rolled-back or forked feed is refused next time too. A newer descriptor the
    /// feed was signed under is pinned in the venue file.
    pub fn match_server(
        &mut self,
        venue: &mut Venue,
        server_url: &str,
        now: UnixTime,
    ) -> Result<MatchReport> {
        let mut view = self.chain_view()?;
        let feed = follow_feed(server_url, venue.descriptor(), &mut view, now)?;
        let descriptor_updated = match &feed.descriptor_update {
            Some(bytes) if venue.adopt_descriptor(bytes)? => Some(venue.descriptor().serial),
            _ => None,
        };
        let withdrawn: BTreeSet<[u8; 16]> = feed
            .bulletins
            .iter()
            .flat_map(|b| b.withdrawn.iter().copied())
            .collect();
        let exposures = self.match_notices(
            feed.bulletins.iter().flat_map(|b| b.notices.iter()),
            &withdrawn,
        )?;
        self.file.view = Some(StoredView::from_view(&view));
        self.file.chain = None;
        self.prune(now);
        self.save()?;
        Ok(MatchReport {
            bulletins: feed.bulletins.iter().map(|b| b.sequence).collect(),
            fresh_until: feed.head.expires_at,
            exposures,
            descriptor_updated,
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

/// The verified state of an authority's feed.
#[derive(Clone, Debug)]
pub struct Feed {
    /// The signed head, verified.
    pub head: BulletinHead,
    /// Every live bulletin, verified, oldest first.
    pub bulletins: Vec<Bulletin>,
    /// The signed bytes of a newer descriptor of the pinned authority, verified
    /// as its update, when the head was signed under it.
    pub descriptor_update: Option<Vec<u8>>,
}

/// Follows the authority's feed at `server_url` with the protocol's one set of
/// rules ([`quet_protocol::chain`], as the phone applies them):
///
/// 1. `GET /v1/bulletins/head`, checked by [`ChainView::check_head`] against `view`
///    (signature, not expired, no rollback, no fork, skipping only on signed
///    evidence). A head signed under a newer descriptor is checked again after
///    `GET /v1/descriptor`, accepted only as an update of `authority`.
/// 2. Every live bulletin, from the head's oldest to its latest, each accepted by
///    [`ChainView::accept_bulletin`]: a fresh view anchored at the head's oldest
///    checks them all (staff see every current exposure, withdrawals applied), and
///    `view` accepts the ones after its last bulletin, so the chain it verified
///    before must continue.
/// 3. `view` records the head.
///
/// A rule that fails is [`VenueError::FeedRefused`]; `view` is then unchanged in
/// what it recorded (the caller saves it only on success). `index.json` is never
/// read.
pub fn follow_feed(
    server_url: &str,
    authority: &AuthorityDescriptor,
    view: &mut ChainView,
    now: UnixTime,
) -> Result<Feed> {
    let base = crate::venue::validate_base_url(server_url)?;
    let refused = |source: quet_protocol::Error| VenueError::FeedRefused {
        server: base.clone(),
        source,
    };
    let head_bytes = crate::http::get_bytes(
        &format!("{base}/v1/bulletins/head"),
        u64::try_from(HEAD_LEN).unwrap_or(u64::MAX),
    )?;
    let mut authority = authority.clone();
    let mut descriptor_update = None;
    let (head, plan) = match view.check_head(&head_bytes, &authority, now) {
        Err(quet_protocol::Error::DescriptorOutdated { .. }) => {
            let bytes = crate::http::fetch_descriptor(&base)?;
            authority = authority
                .verify_update(&bytes)
                .map_err(|e| VenueError::BadDescriptor(e.to_string()))?;
            let checked = view
                .check_head(&head_bytes, &authority, now)
                .map_err(refused)?;
            descriptor_update = Some(bytes);
            checked
        }
        r => r.map_err(refused)?,
    };
    let new_from = match plan {
        SyncPlan::Fetch { first, .. } => first,
        SyncPlan::UpToDate => u64::MAX,
    };
    let mut live = ChainView::default();
    let mut bulletins = Vec::new();
    if head.has_live_bulletins() {
        for sequence in head.oldest.sequence..=head.latest.sequence {
            let url = format!("{base}/v1/bulletins/{sequence}");
            let bytes = crate::http::get_bytes(&url, MAX_BULLETIN_LEN as u64).map_err(|e| {
                VenueError::BadServerData(format!(
                    "bản tin {sequence} có trong đầu chuỗi đã ký nhưng không tải được / \
                     bulletin {sequence}, listed by the authority's signed head, could not be \
                     fetched: {e}"
                ))
            })?;
            let b = live
                .accept_bulletin(&bytes, &authority, &head, now)
                .map_err(refused)?;
            if sequence >= new_from {
                view.accept_bulletin(&bytes, &authority, &head, now)
                    .map_err(refused)?;
            }
            bulletins.push(b);
        }
    }
    view.record_head(&head).map_err(refused)?;
    Ok(Feed {
        head,
        bulletins,
        descriptor_update,
    })
}
