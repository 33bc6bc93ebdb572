//! # quet-protocol
//!
//! The cryptographic core and wire formats of Quét, privacy-preserving exposure
//! notification by QR check-in. The normative description is `spec/protocol.md`;
//! each module's documentation gives its part of the spec in the spec's notation.
//!
//! - [`time`]: Unix time, UTC days and hour/day epochs.
//! - [`authority`]: the health authority's descriptor (pinned by phones and venues)
//!   and its keys.
//! - [`venue_keys`]: the venue key schedule (master → day keys → venue-time keys).
//! - [`code`]: the rotating check-in code: build, sign, encode, parse, verify.
//! - [`token`]: encounter tokens a phone stores per check-in.
//! - [`envelope`]: report envelopes a confirmed case uploads; HA-side verification.
//! - [`certificate`]: the HA's certificate of a registered venue's key.
//! - [`notice`] and [`bulletin`]: what the HA publishes.
//! - [`head`] and [`chain`]: the signed head of the feed, and the one set of rules
//!   by which clients follow it (no rollback, no freeze, no silent skip, forks seen).
//! - [`matching`]: the fast, private, offline matching engine.
//!
//! The crate does no I/O and has no async; it builds for `wasm32-unknown-unknown`.
//! Randomness is always passed in as a `rand_core::CryptoRng`.
//!
//! ```
//! use quet_protocol::{authority::*, code::*, category::Category, time::UnixTime,
//!     token::EncounterToken, venue_keys::VenueMasterKey, testing::test_rng};
//!
//! let mut rng = test_rng(1); // use the system RNG in real code
//! let ha = AuthorityKeys::generate(&mut rng);
//! let descriptor = ha.descriptor(AuthorityId(1), "Sở Y tế Hà Nội", "https://quet.example");
//! let venue = VenueInfo { name: "Phở Thìn".into(), address: "13 Lò Đúc, Hà Nội".into(),
//!     category: Category::Restaurant, max_stay_minutes: 120 };
//! let mut issuer = CodeIssuer::new(VenueMasterKey::generate(&mut rng), venue, &descriptor)?;
//! let now = UnixTime(1_790_000_000);
//! let url = issuer.screen_code(&mut rng, now)?.to_url(&descriptor.base_url);
//!
//! // The phone scans the URL, verifies it and stores only an opaque token.
//! let (code, _) = CheckInCode::parse_text_and_verify(&url, now, &descriptor)?;
//! let (token, record) = EncounterToken::check_in(&mut rng, &code, now)?;
//! assert_eq!(record.venue.name, "Phở Thìn");
//! # Ok::<(), quet_protocol::Error>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub mod authority;
pub mod bulletin;
pub mod capsule;
pub mod category;
pub mod certificate;
pub mod chain;
pub mod code;
mod codec;
pub mod envelope;
mod error;
pub mod head;
pub mod kdf;
pub mod matching;
pub mod notice;
pub mod sealed_box;
pub mod secret;
pub mod testing;
pub mod time;
pub mod token;
pub mod venue_keys;

pub use error::{Error, Result};
