//! Key derivation: every HKDF-SHA256 label of the protocol, and the one helper that
//! uses them.
//!
//! Labels are versioned (`quet/v1/…`, `quet/v2/…`); a new protocol version gets new labels, so keys
//! of different versions can never coincide. The spec lists each label with its
//! inputs (`spec/protocol.md`, "Key schedule").

use hkdf::Hkdf;
use sha2::Sha256;

/// `day_key(d) = HKDF(ikm = venue_master, info = DAY_LABEL || d)`.
pub const DAY_LABEL: &[u8] = b"quet/v1/day";
/// Venue-time secret for epoch e, from the day key.
pub const EPOCH_LABEL: &[u8] = b"quet/v1/epoch";
/// Notice secret for epoch e, from the day key.
pub const NOTICE_LABEL: &[u8] = b"quet/v1/notice";
/// The venue's Ed25519 signing key seed, from the master.
pub const SIGN_LABEL: &[u8] = b"quet/v1/sign";
/// The AEAD key of an encounter token, from the X25519 shared secret.
pub const TOKEN_LABEL: &[u8] = b"quet/v1/token";
/// The AEAD key of a trace capsule sealed box.
pub const CAPSULE_LABEL: &[u8] = b"quet/v1/capsule";
/// The AEAD key of a report envelope sealed box.
pub const ENVELOPE_LABEL: &[u8] = b"quet/v1/envelope";
/// The key stream that wraps a notice body key for one epoch.
pub const WRAP_LABEL: &[u8] = b"quet/v1/wrap";
/// The AEAD key of a notice body, from the body key.
pub const BODY_LABEL: &[u8] = b"quet/v1/body";
/// The venue's daily usage-statistics pseudonym, from the master.
pub const HEARTBEAT_LABEL: &[u8] = b"quet/v1/heartbeat";
/// The checksum of the tracing-sheet text (SHA-256 prefix, not a key).
pub const SHEET_CHECKSUM_LABEL: &[u8] = b"quet/v1/sheet-checksum";
/// Domain separation of code signatures.
pub const CODE_SIGNATURE_CONTEXT: &[u8] = b"quet/v1/code-signature";
/// Domain separation of bulletin signatures.
pub const BULLETIN_SIGNATURE_CONTEXT: &[u8] = b"quet/v1/bulletin-signature";
/// Domain separation of descriptor signatures.
pub const DESCRIPTOR_SIGNATURE_CONTEXT: &[u8] = b"quet/v1/descriptor-signature";
/// Domain separation of bulletin hashes (the chain).
pub const BULLETIN_HASH_CONTEXT: &[u8] = b"quet/v1/bulletin-hash";
/// Domain separation of authority fingerprints (v1 descriptors; no longer produced).
pub const FINGERPRINT_CONTEXT: &[u8] = b"quet/v1/fingerprint";

// Protocol 1.1. Objects whose layout changed use `quet/v2/…` labels; new objects
// (head, certificate) start at `quet/v1/…` of their own names. The key schedule of
// hour and UTC-day epochs is unchanged; the seeded epoch kinds use the two labels
// below.

/// The 16-byte published seed of a seeded epoch (v2 codes), from the day key.
pub const EPOCH_SEED_LABEL: &[u8] = b"quet/v2/epoch-seed";
/// The X25519 scalar of a seeded epoch, from its seed.
pub const EPOCH_SECRET_LABEL: &[u8] = b"quet/v2/epoch-secret";
/// The key stream that wraps a v2 notice body key for one epoch.
pub const WRAP_V2_LABEL: &[u8] = b"quet/v2/wrap";
/// The AEAD key of a v2 notice body, from the body key.
pub const BODY_V2_LABEL: &[u8] = b"quet/v2/body";
/// The AEAD key of a v2 report envelope sealed box.
pub const ENVELOPE_V2_LABEL: &[u8] = b"quet/v2/envelope";
/// Domain separation of v2 code signatures.
pub const CODE_SIGNATURE_V2_CONTEXT: &[u8] = b"quet/v2/code-signature";
/// Domain separation of v2 bulletin signatures.
pub const BULLETIN_SIGNATURE_V2_CONTEXT: &[u8] = b"quet/v2/bulletin-signature";
/// Domain separation of v2 bulletin hashes (the chain).
pub const BULLETIN_HASH_V2_CONTEXT: &[u8] = b"quet/v2/bulletin-hash";
/// Domain separation of v2 descriptor signatures (root key and cross-signature).
pub const DESCRIPTOR_SIGNATURE_V2_CONTEXT: &[u8] = b"quet/v2/descriptor-signature";
/// Domain separation of v2 authority fingerprints (id, root key, base URL).
pub const FINGERPRINT_V2_CONTEXT: &[u8] = b"quet/v2/fingerprint";
/// Domain separation of bulletin-head signatures.
pub const HEAD_SIGNATURE_CONTEXT: &[u8] = b"quet/v1/head-signature";
/// Domain separation of venue-certificate signatures.
pub const CERTIFICATE_SIGNATURE_CONTEXT: &[u8] = b"quet/v1/venue-certificate";
/// Domain separation of the hash of a venue's certified public details.
pub const VENUE_DETAILS_CONTEXT: &[u8] = b"quet/v1/venue-details";
/// The checksum of a day-key sheet (SHA-256 prefix, not a key).
pub const DAY_KEYS_CHECKSUM_LABEL: &[u8] = b"quet/v1/keysheet-checksum";

/// `HKDF-SHA256(salt, ikm, info = label || context)` into `N` bytes.
pub(crate) fn derive<const N: usize>(
    salt: Option<&[u8]>,
    ikm: &[u8],
    label: &[u8],
    context: &[u8],
) -> [u8; N] {
    let hk = Hkdf::<Sha256>::new(salt, ikm);
    let mut out = [0u8; N];
    // N is at most 255 * 32 for every caller (all are <= 64), so expand cannot fail;
    // an impossible failure leaves zeros, which every caller's AEAD would reject.
    let _ = hk.expand_multi_info(&[label, context], &mut out);
    out
}

/// SHA-256 of the concatenation of `parts`.
pub(crate) fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    use sha2::Digest;
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_versioned_and_distinct() {
        let labels = [
            DAY_LABEL,
            EPOCH_LABEL,
            NOTICE_LABEL,
            SIGN_LABEL,
            HEARTBEAT_LABEL,
            SHEET_CHECKSUM_LABEL,
            crate::testing::TEST_RNG_LABEL,
            TOKEN_LABEL,
            CAPSULE_LABEL,
            ENVELOPE_LABEL,
            WRAP_LABEL,
            BODY_LABEL,
            CODE_SIGNATURE_CONTEXT,
            BULLETIN_SIGNATURE_CONTEXT,
            DESCRIPTOR_SIGNATURE_CONTEXT,
            BULLETIN_HASH_CONTEXT,
            FINGERPRINT_CONTEXT,
            EPOCH_SEED_LABEL,
            EPOCH_SECRET_LABEL,
            WRAP_V2_LABEL,
            BODY_V2_LABEL,
            ENVELOPE_V2_LABEL,
            CODE_SIGNATURE_V2_CONTEXT,
            BULLETIN_SIGNATURE_V2_CONTEXT,
            BULLETIN_HASH_V2_CONTEXT,
            DESCRIPTOR_SIGNATURE_V2_CONTEXT,
            FINGERPRINT_V2_CONTEXT,
            HEAD_SIGNATURE_CONTEXT,
            CERTIFICATE_SIGNATURE_CONTEXT,
            VENUE_DETAILS_CONTEXT,
            DAY_KEYS_CHECKSUM_LABEL,
        ];
        for (i, a) in labels.iter().enumerate() {
            assert!(a.starts_with(b"quet/v1/") || a.starts_with(b"quet/v2/"));
            // No label is a prefix of another, so `label || context` is unambiguous.
            for (j, b) in labels.iter().enumerate() {
                if i != j {
                    assert!(!b.starts_with(a), "{a:?} is a prefix of {b:?}");
                }
            }
        }
    }

    #[test]
    fn derive_separates_labels_and_contexts() {
        let a: [u8; 32] = derive(None, b"ikm", DAY_LABEL, b"x");
        let b: [u8; 32] = derive(None, b"ikm", EPOCH_LABEL, b"x");
        let c: [u8; 32] = derive(None, b"ikm", DAY_LABEL, b"y");
        assert_ne!(a, b);
        assert_ne!(a, c);
    }
}
