//! The one error type of the protocol crate.
//!
//! Every parser and every check returns [`Error`]; nothing in this crate panics on
//! input that came from outside. Each variant says what was rejected so that the
//! client, venue tool and server can explain it to a person.

use core::fmt;

use crate::authority::AuthorityId;
use crate::time::UnixTime;

/// Everything that can go wrong when building, parsing or verifying a Quét object.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The input ended before the object was complete.
    Truncated {
        /// What was being read.
        what: &'static str,
    },
    /// Bytes were left over after a complete object.
    TrailingBytes {
        /// What was being read.
        what: &'static str,
    },
    /// The object's version byte is one this implementation does not know.
    UnsupportedVersion {
        /// What was being read.
        what: &'static str,
        /// The version found.
        version: u8,
    },
    /// A field holds a value outside its allowed set or range.
    InvalidField {
        /// The field.
        field: &'static str,
    },
    /// A text field is not valid UTF-8.
    InvalidUtf8 {
        /// The field.
        field: &'static str,
    },
    /// A field or object is longer than the protocol allows.
    TooLong {
        /// The field or object.
        what: &'static str,
        /// Its maximum length in bytes (or items).
        max: usize,
    },
    /// The text is not a Quét check-in code (wrong URL shape or encoding).
    NotAQuetCode,
    /// A signature did not verify.
    BadSignature {
        /// What was signed.
        what: &'static str,
    },
    /// A screen code's timestamp is too far from the verifier's clock.
    CodeNotFresh {
        /// The code's timestamp.
        code_time: UnixTime,
        /// The verifier's clock.
        now: UnixTime,
    },
    /// A poster code is not for today (UTC day).
    PosterNotToday {
        /// The code's timestamp.
        code_time: UnixTime,
        /// The verifier's clock.
        now: UnixTime,
    },
    /// The object names an authority the verifier does not know.
    UnknownAuthority(AuthorityId),
    /// The object names a key id the authority descriptor does not list.
    UnknownKeyId {
        /// Which kind of key.
        what: &'static str,
        /// The key id found.
        key_id: u8,
    },
    /// Authenticated decryption failed: wrong key or tampered ciphertext.
    DecryptionFailed {
        /// What was being opened.
        what: &'static str,
    },
    /// A Diffie-Hellman result was the identity (small-order public key).
    WeakPublicKey,
    /// Re-derived key material does not match what the object claims.
    KeyMismatch {
        /// What did not match.
        what: &'static str,
    },
    /// A time computation overflowed or a time is out of the supported range.
    TimeOutOfRange,
    /// A time window is empty or inverted.
    InvalidWindow,
    /// A day key needed for an epoch was not supplied.
    MissingDayKey,
    /// A bulletin's sequence number is not the one that follows the last accepted.
    BulletinOutOfOrder {
        /// The sequence number expected next.
        expected: u64,
        /// The sequence number found.
        found: u64,
    },
    /// A bulletin's previous-hash does not match the last accepted bulletin.
    BulletinChainBroken {
        /// Its sequence number.
        sequence: u64,
    },
    /// A bulletin has expired.
    BulletinExpired {
        /// Its sequence number.
        sequence: u64,
    },
    /// Randomness or a checksum did not check out (e.g. a tracing sheet typo).
    BadChecksum,
    /// A descriptor offered as an update does not have a higher serial than the
    /// pinned one (a replayed older descriptor), or has the same serial and
    /// different content.
    DescriptorRollback {
        /// Serial of the pinned descriptor.
        pinned: u64,
        /// Serial of the offered one.
        offered: u64,
    },
    /// No capsule key of the descriptor covers this time; the descriptor needs an
    /// update (the authority pre-announces its weekly keys).
    NoCapsuleKey {
        /// The time a key was needed for.
        at: UnixTime,
    },
    /// A bulletin head has expired: the feed may be frozen.
    HeadExpired {
        /// When it expired.
        expired_at: UnixTime,
    },
    /// A bulletin head is older than one already verified (a replay): it names an
    /// earlier latest bulletin or was issued earlier.
    HeadRollback {
        /// The newest sequence already known.
        known: u64,
        /// The head's latest sequence.
        offered: u64,
    },
    /// A head says bulletins the client has not seen are gone, without signed
    /// evidence that they expired (a mirror hiding bulletins).
    ChainGap {
        /// The last sequence the client accepted.
        have: u64,
        /// The oldest sequence the head lists.
        oldest: u64,
    },
    /// Two signed statements of the authority disagree about the bulletin with
    /// this sequence: a split view (fork).
    ForkDetected {
        /// The sequence both statements name.
        sequence: u64,
    },
    /// The venue's key has been revoked by its health authority.
    VenueRevoked,
    /// The object needs a signing key the descriptor does not list, or a key that
    /// does not match the descriptor.
    DescriptorOutdated {
        /// The descriptor serial the object requires.
        serial: u64,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Truncated { what } => write!(f, "{what} is truncated"),
            Error::TrailingBytes { what } => write!(f, "{what} has trailing bytes"),
            Error::UnsupportedVersion { what, version } => {
                write!(f, "{what} has unsupported version {version}")
            }
            Error::InvalidField { field } => write!(f, "invalid value in field {field}"),
            Error::InvalidUtf8 { field } => write!(f, "field {field} is not valid UTF-8"),
            Error::TooLong { what, max } => write!(f, "{what} is longer than {max}"),
            Error::NotAQuetCode => write!(f, "not a Quét check-in code"),
            Error::BadSignature { what } => write!(f, "the {what} signature does not verify"),
            Error::CodeNotFresh { code_time, now } => write!(
                f,
                "the code's time {} is more than {} s from this device's clock {}; check the clock",
                code_time.0,
                crate::code::SCREEN_FRESHNESS_SECS,
                now.0
            ),
            Error::PosterNotToday { code_time, now } => write!(
                f,
                "the poster code is for UTC day {} but today is {}; check the clock",
                code_time.0 / 86_400,
                now.0 / 86_400
            ),
            Error::UnknownAuthority(id) => write!(f, "unknown health authority {id}"),
            Error::UnknownKeyId { what, key_id } => write!(f, "unknown {what} key id {key_id}"),
            Error::DecryptionFailed { what } => write!(f, "cannot open the {what}"),
            Error::WeakPublicKey => write!(f, "weak (small-order) public key"),
            Error::KeyMismatch { what } => write!(f, "{what} does not match the venue's keys"),
            Error::TimeOutOfRange => write!(f, "time out of the supported range"),
            Error::InvalidWindow => write!(f, "empty or inverted time window"),
            Error::MissingDayKey => write!(f, "a day key needed for this window is missing"),
            Error::BulletinOutOfOrder { expected, found } => {
                write!(f, "bulletin {found} is out of order (expected {expected})")
            }
            Error::BulletinChainBroken { sequence } => {
                write!(
                    f,
                    "bulletin {sequence} does not chain to the previous bulletin"
                )
            }
            Error::BulletinExpired { sequence } => write!(f, "bulletin {sequence} has expired"),
            Error::BadChecksum => write!(f, "checksum mismatch"),
            Error::DescriptorRollback { pinned, offered } => write!(
                f,
                "authority descriptor serial {offered} does not replace the pinned serial {pinned} (rollback)"
            ),
            Error::NoCapsuleKey { at } => write!(
                f,
                "the authority descriptor lists no capsule key for time {}; update it",
                at.0
            ),
            Error::HeadExpired { expired_at } => write!(
                f,
                "the bulletin head expired at {}; alerts may be out of date",
                expired_at.0
            ),
            Error::HeadRollback { known, offered } => write!(
                f,
                "the bulletin head (latest {offered}) is older than what was already verified (latest {known})"
            ),
            Error::ChainGap { have, oldest } => write!(
                f,
                "the server says bulletins after {have} up to {oldest} are gone, but they cannot have expired yet"
            ),
            Error::ForkDetected { sequence } => write!(
                f,
                "the authority's signed statements disagree about bulletin {sequence}: split view"
            ),
            Error::VenueRevoked => write!(
                f,
                "this venue's key has been revoked by its health authority; do not use this code"
            ),
            Error::DescriptorOutdated { serial } => write!(
                f,
                "the authority descriptor is out of date (serial {serial} is needed); update it"
            ),
        }
    }
}

impl std::error::Error for Error {}

/// Result with the protocol [`Error`].
pub type Result<T> = core::result::Result<T, Error>;
