//! Encounter tokens: what a phone stores per check-in, opaque even to someone who
//! saw the same code.
//!
//! ```text
//! r random; R = X25519(r, 9); s = X25519(r, P_e)
//! k = HKDF(salt = R, ikm = s, info = "quet/v1/token" || e)
//! token = u8 version || e (5 B) || R || ChaCha20-Poly1305(k, nonce 0, aad = version || e, record)
//! ```
//!
//! The record is padded to a fixed 192 bytes so a token's length says nothing about
//! the venue. `P_e` is deliberately not in the KDF: matching would otherwise need a
//! base-point multiplication per published key; `R` is fresh per token, and the AEAD
//! tag rejects any wrong key. Opening needs `venue_time_secret(e)` (published by the
//! HA) or `r` (forgotten after sealing), so a holder of the code learns nothing.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand_core::CryptoRng;
use x25519_dalek::{EphemeralSecret, PublicKey, StaticSecret};
use zeroize::Zeroizing;

use crate::authority::AuthorityId;
use crate::code::{CheckInCode, CodeKind, VenueInfo};
use crate::codec::{Reader, Writer, check_zero_padding};
use crate::error::{Error, Result};
use crate::kdf::{TOKEN_LABEL, derive};
use crate::time::{Epoch, EpochKind, UnixTime};
use crate::venue_keys::{NoticeSecret, VenueTimeSecret};

/// Token wire version.
pub const TOKEN_VERSION: u8 = 1;
/// Fixed plaintext record length.
pub const RECORD_LEN: usize = 192;
/// Encoded token length.
pub const TOKEN_LEN: usize = 1 + 5 + 32 + RECORD_LEN + 16;
const RECORD_VERSION: u8 = 1;

/// What a token holds, readable only with the epoch's secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRecord {
    /// When the visitor arrived.
    pub arrival: UnixTime,
    /// When the visitor left (planned: arrival + max stay until check-out).
    pub departure: UnixTime,
    /// The venue's authority.
    pub authority: AuthorityId,
    /// Screen or poster code.
    pub code_kind: CodeKind,
    /// `notice_secret(e)`, to read the HA's message.
    pub notice_secret: NoticeSecret,
    /// Venue display info.
    pub venue: VenueInfo,
}

impl TokenRecord {
    /// The record for a check-in at `arrival`, with departure planned at the max stay.
    pub fn for_check_in(code: &CheckInCode, arrival: UnixTime) -> Result<TokenRecord> {
        let departure = arrival.checked_add(code.venue.max_stay_secs())?;
        Ok(TokenRecord {
            arrival,
            departure,
            authority: code.authority,
            code_kind: code.kind,
            notice_secret: code.notice_secret.clone(),
            venue: code.venue.clone(),
        })
    }

    /// Sets the departure, clipped to `[arrival, arrival + max stay]`.
    pub fn set_departure(&mut self, departure: UnixTime) -> Result<()> {
        let latest = self.arrival.checked_add(self.venue.max_stay_secs())?;
        self.departure = departure.clamp(self.arrival, latest);
        Ok(())
    }

    /// Whether the stay overlaps the half-open window `[start, end)`.
    pub fn overlaps(&self, start: UnixTime, end: UnixTime) -> bool {
        self.arrival < end && self.departure > start
    }

    fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut w = Writer::with_capacity(RECORD_LEN);
        w.u8(RECORD_VERSION)
            .u64(self.arrival.0)
            .u64(self.departure.0)
            .u32(self.authority.0)
            .u8(self.code_kind.to_byte())
            .bytes(self.notice_secret.expose());
        self.venue.encode(&mut w);
        w.pad_to(RECORD_LEN);
        Zeroizing::new(w.into_vec())
    }

    fn decode(bytes: &[u8]) -> Result<TokenRecord> {
        const WHAT: &str = "token record";
        let mut r = Reader::new(bytes, WHAT);
        let version = r.u8()?;
        if version != RECORD_VERSION {
            return Err(Error::UnsupportedVersion {
                what: WHAT,
                version,
            });
        }
        let arrival = UnixTime(r.u64()?);
        let departure = UnixTime(r.u64()?);
        let authority = AuthorityId(r.u32()?);
        let code_kind = CodeKind::from_byte(r.u8()?)?;
        let notice_secret = NoticeSecret::from_bytes(r.array()?);
        let venue = VenueInfo::read(&mut r)?;
        check_zero_padding(r.take_rest(), "token record padding")?;
        if departure < arrival {
            return Err(Error::InvalidWindow);
        }
        Ok(TokenRecord {
            arrival,
            departure,
            authority,
            code_kind,
            notice_secret,
            venue,
        })
    }
}

/// A sealed encounter token, as stored on the phone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncounterToken {
    /// The epoch, in the clear for indexing.
    pub epoch: Epoch,
    /// The ephemeral public key `R`.
    pub ephemeral: [u8; 32],
    /// The AEAD ciphertext of the padded record.
    pub ciphertext: [u8; RECORD_LEN + 16],
}

fn aad(epoch: Epoch) -> [u8; 6] {
    let e = epoch.to_bytes();
    [TOKEN_VERSION, e[0], e[1], e[2], e[3], e[4]]
}

/// The AEAD key of a token from the X25519 shared secret.
pub(crate) fn token_key(
    shared: &[u8; 32],
    ephemeral: &[u8; 32],
    epoch: Epoch,
) -> Zeroizing<[u8; 32]> {
    Zeroizing::new(derive(
        Some(ephemeral),
        shared,
        TOKEN_LABEL,
        &epoch.to_bytes(),
    ))
}

impl EncounterToken {
    /// Seals `record` to the epoch key `P_e` (the phone keeps `P_e` only while checked
    /// in, so it can re-seal at check-out).
    pub fn seal<R: CryptoRng + ?Sized>(
        rng: &mut R,
        venue_time_public: &[u8; 32],
        epoch: Epoch,
        record: &TokenRecord,
    ) -> Result<EncounterToken> {
        let eph = EphemeralSecret::random_from_rng(rng);
        let ephemeral = PublicKey::from(&eph).to_bytes();
        let shared = eph.diffie_hellman(&PublicKey::from(*venue_time_public));
        if !shared.was_contributory() {
            return Err(Error::WeakPublicKey);
        }
        let key = token_key(shared.as_bytes(), &ephemeral, epoch);
        let plaintext = record.encode();
        let ct = ChaCha20Poly1305::new(&Key::from(*key))
            .encrypt(
                &Nonce::default(),
                Payload {
                    msg: &plaintext,
                    aad: &aad(epoch),
                },
            )
            .map_err(|_| Error::InvalidField {
                field: "token record",
            })?;
        let ciphertext = ct.try_into().map_err(|_| Error::InvalidField {
            field: "token record",
        })?;
        Ok(EncounterToken {
            epoch,
            ephemeral,
            ciphertext,
        })
    }

    /// Seals the check-in token for `code` at `arrival`.
    pub fn check_in<R: CryptoRng + ?Sized>(
        rng: &mut R,
        code: &CheckInCode,
        arrival: UnixTime,
    ) -> Result<(EncounterToken, TokenRecord)> {
        let record = TokenRecord::for_check_in(code, arrival)?;
        let token = EncounterToken::seal(rng, &code.venue_time_public, code.epoch()?, &record)?;
        Ok((token, record))
    }

    /// Trial-opens with a venue-time secret (constant-time X25519).
    pub fn open_with(&self, secret: &VenueTimeSecret) -> Result<TokenRecord> {
        let shared =
            StaticSecret::from(*secret.expose()).diffie_hellman(&PublicKey::from(self.ephemeral));
        self.open_with_shared(shared.as_bytes())
    }

    /// Opens with an already computed shared secret `X25519(secret, R)`.
    pub fn open_with_shared(&self, shared: &[u8; 32]) -> Result<TokenRecord> {
        const WHAT: &str = "encounter token";
        let key = token_key(shared, &self.ephemeral, self.epoch);
        let plain = ChaCha20Poly1305::new(&Key::from(*key))
            .decrypt(
                &Nonce::default(),
                Payload {
                    msg: &self.ciphertext,
                    aad: &aad(self.epoch),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| Error::DecryptionFailed { what: WHAT })?;
        TokenRecord::decode(&plain)
    }

    /// The stored bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(TOKEN_LEN);
        w.u8(TOKEN_VERSION)
            .bytes(&self.epoch.to_bytes())
            .bytes(&self.ephemeral)
            .bytes(&self.ciphertext);
        w.into_vec()
    }

    /// Parses stored bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<EncounterToken> {
        const WHAT: &str = "encounter token";
        let mut r = Reader::new(bytes, WHAT);
        let version = r.u8()?;
        if version != TOKEN_VERSION {
            return Err(Error::UnsupportedVersion {
                what: WHAT,
                version,
            });
        }
        let kind = EpochKind::from_byte(r.u8()?)?;
        let index = r.u32()?;
        let ephemeral = r.array()?;
        let ciphertext = r.array()?;
        r.finish()?;
        Ok(EncounterToken {
            epoch: Epoch { kind, index },
            ephemeral,
            ciphertext,
        })
    }
}
