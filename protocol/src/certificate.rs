//! Venue certificates: the health authority's signature on a registered venue's key.
//!
//! ```text
//! details_hash = SHA-256("quet/v1/venue-details" || u8 category || str8 name || str8 address)
//! signed       = "quet/v1/venue-certificate" || u32 authority id || [32] venue key
//!                || [32] details_hash || u32 serial || u32 valid from || u32 valid until
//! certificate  = u8 signing key id || u32 serial || u32 valid from (day) || u32 valid until (day)
//!                || [64] Ed25519 signature over `signed`        (77 bytes, carried in v2 codes)
//! ```
//!
//! A venue registers its public signing key with its name, address, category and
//! district; the HA (staff, or a ward officer for its district) approves it and
//! signs a certificate with one of its bulletin-signing keys. A phone that scans a
//! version 2 code with a certificate checks it against the pinned descriptor and the
//! code's own name, address and category ([`VenueCertificate::verify`]): a valid one
//! shows "registered with <authority>"; none, an expired one, or one that does not
//! verify for these details (a renamed venue, a forged or copied certificate) shows
//! a clear "unregistered venue" warning. Only a genuine certificate for exactly the
//! details shown gives "registered", so attaching a bogus one gains nothing over
//! attaching none. A revoked venue key is refused outright (bulletins carry
//! revocations). The district is part of the registration, not of the certificate:
//! phones do not need it. Registration tells the HA which venues exist, never who
//! visits them.

use ed25519_dalek::{Signature, Signer};

use crate::authority::{AuthorityDescriptor, AuthorityId, AuthorityKeys};
use crate::category::Category;
use crate::codec::{Reader, Writer};
use crate::error::{Error, Result};
use crate::kdf::{CERTIFICATE_SIGNATURE_CONTEXT, VENUE_DETAILS_CONTEXT, sha256};
use crate::time::Day;

/// Encoded certificate length.
pub const CERTIFICATE_LEN: usize = 1 + 4 + 4 + 4 + 64;
/// Longest validity the HA may give, in days (a little over a year).
pub const MAX_CERTIFICATE_DAYS: u32 = 400;

/// The HA's signature on a venue key and its public details.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VenueCertificate {
    /// The HA signing key id.
    pub key_id: u8,
    /// The registration's serial number at the HA.
    pub serial: u32,
    /// First valid day (UTC).
    pub valid_from: Day,
    /// Last valid day (UTC), inclusive.
    pub valid_until: Day,
    /// The signature.
    pub signature: [u8; 64],
}

/// What a certificate says about a code, as a phone shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Registration {
    /// Registered with the code's authority, certificate valid today.
    Registered {
        /// Registration serial.
        serial: u32,
        /// Last valid day.
        valid_until: Day,
    },
    /// Not registered: no certificate, or one that is expired or not yet valid, or
    /// one for other details (a renamed venue must renew).
    Unregistered(UnregisteredReason),
}

/// Why a code counts as unregistered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnregisteredReason {
    /// The code carries no certificate (all version 1 codes).
    NoCertificate,
    /// The certificate's validity does not include today.
    Expired,
    /// The certificate does not verify for this venue key and the name, address and
    /// category the code shows (renamed venue, copied or forged certificate), or its
    /// signing key is not in the pinned descriptor.
    NotValid,
}

/// The public details a certificate covers.
pub fn details_hash(category: Category, name: &str, address: &str) -> [u8; 32] {
    let mut w = Writer::with_capacity(160);
    w.u8(category.to_byte()).str8(name).str8(address);
    sha256(&[VENUE_DETAILS_CONTEXT, w.as_slice()])
}

fn signed_message(
    authority: AuthorityId,
    venue_key: &[u8; 32],
    details: &[u8; 32],
    serial: u32,
    from: Day,
    until: Day,
) -> Vec<u8> {
    let mut w = Writer::with_capacity(128);
    w.bytes(CERTIFICATE_SIGNATURE_CONTEXT)
        .u32(authority.0)
        .bytes(venue_key)
        .bytes(details)
        .u32(serial)
        .u32(from.0)
        .u32(until.0);
    w.into_vec()
}

impl VenueCertificate {
    /// The HA signs a certificate for `venue_key` with these details, valid
    /// `valid_from..=valid_until` (at most [`MAX_CERTIFICATE_DAYS`]).
    #[allow(clippy::too_many_arguments)]
    pub fn issue(
        keys: &AuthorityKeys,
        authority: &AuthorityDescriptor,
        venue_key: &[u8; 32],
        details: &[u8; 32],
        serial: u32,
        valid_from: Day,
        valid_until: Day,
    ) -> Result<VenueCertificate> {
        if valid_until < valid_from || valid_until.0 - valid_from.0 > MAX_CERTIFICATE_DAYS {
            return Err(Error::InvalidField {
                field: "certificate validity",
            });
        }
        let key_id = authority.current_signing_key;
        let signer = keys.signing_key(key_id)?;
        if authority.signing_key(key_id)? != &signer.verifying_key() {
            return Err(Error::KeyMismatch {
                what: "certificate signer",
            });
        }
        let sig = signer.sign(&signed_message(
            authority.id,
            venue_key,
            details,
            serial,
            valid_from,
            valid_until,
        ));
        Ok(VenueCertificate {
            key_id,
            serial,
            valid_from,
            valid_until,
            signature: sig.to_bytes(),
        })
    }

    /// What this certificate says about a code of `venue_key` showing these details,
    /// on `today`, for a phone that pinned `authority`: `Registered` only if an HA
    /// signing key the descriptor lists signed exactly these details and today is
    /// within the validity; otherwise `Unregistered` with the reason.
    pub fn verify(
        &self,
        authority: &AuthorityDescriptor,
        venue_key: &[u8; 32],
        category: Category,
        name: &str,
        address: &str,
        today: Day,
    ) -> Registration {
        let Ok(key) = authority.signing_key(self.key_id) else {
            return Registration::Unregistered(UnregisteredReason::NotValid);
        };
        let sig = Signature::from_bytes(&self.signature);
        let details = details_hash(category, name, address);
        let message = signed_message(
            authority.id,
            venue_key,
            &details,
            self.serial,
            self.valid_from,
            self.valid_until,
        );
        if key.verify_strict(&message, &sig).is_err() {
            return Registration::Unregistered(UnregisteredReason::NotValid);
        }
        if today < self.valid_from || today > self.valid_until {
            return Registration::Unregistered(UnregisteredReason::Expired);
        }
        Registration::Registered {
            serial: self.serial,
            valid_until: self.valid_until,
        }
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.u8(self.key_id)
            .u32(self.serial)
            .u32(self.valid_from.0)
            .u32(self.valid_until.0)
            .bytes(&self.signature);
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<VenueCertificate> {
        Ok(VenueCertificate {
            key_id: r.u8()?,
            serial: r.u32()?,
            valid_from: Day(r.u32()?),
            valid_until: Day(r.u32()?),
            signature: r.array()?,
        })
    }

    /// The 77 encoded bytes (as carried in a code; also how a registry stores it).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(CERTIFICATE_LEN);
        self.encode(&mut w);
        w.into_vec()
    }

    /// Parses the 77 bytes of [`VenueCertificate::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<VenueCertificate> {
        let mut r = Reader::new(bytes, "venue certificate");
        let c = VenueCertificate::read(&mut r)?;
        r.finish()?;
        Ok(c)
    }
}
