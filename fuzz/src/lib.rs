//! Shared fixtures of the Quét fuzz targets.
//!
//! - A fixed world built from the same seeds as `spec/vectors/` (authority keys from
//!   `test_rng(1)`, venue master from `test_rng(2)`), so the vectors' bytes make a
//!   good seed corpus and the targets can open and re-sign what they parse.
//! - Independent encoders written from the byte layouts of `spec/protocol.md`. A
//!   target that parses a valid object re-serialises it with these and asserts byte
//!   equality (the age habit): the parser accepts exactly the spec's bytes, and no
//!   two encodings parse to the same object.

use ed25519_dalek::{Signer, SigningKey};
use quet_protocol::authority::{AuthorityDescriptor, AuthorityId, AuthorityKeys};
use quet_protocol::bulletin::Bulletin;
use quet_protocol::code::CheckInCode;
use quet_protocol::testing::test_rng;
use quet_protocol::venue_keys::VenueMasterKey;

/// The vectors' authority id.
pub const AUTHORITY_ID: AuthorityId = AuthorityId(0x0100_0001);
/// The vectors' authority name.
pub const AUTHORITY_NAME: &str = "Sở Y tế Hà Nội / Hanoi Department of Health";
/// The vectors' authority base URL.
pub const AUTHORITY_URL: &str = "https://quet.soyte.example";

/// The fixed world every target uses.
pub struct World {
    /// The HA's secret keys (`test_rng(1)`).
    pub ha: AuthorityKeys,
    /// Its descriptor.
    pub descriptor: AuthorityDescriptor,
    /// The vectors' venue signing key (master from `test_rng(2)`).
    pub venue_signing: SigningKey,
}

impl World {
    /// Builds the world (cheap: a few key derivations).
    pub fn new() -> World {
        let ha = AuthorityKeys::generate(&mut test_rng(1));
        let descriptor = ha.descriptor(AUTHORITY_ID, AUTHORITY_NAME, AUTHORITY_URL);
        let venue_signing = VenueMasterKey::generate(&mut test_rng(2)).signing_key();
        World {
            ha,
            descriptor,
            venue_signing,
        }
    }

    /// Signs `body` as a venue code would: `body || Ed25519(CODE_CONTEXT || body)`.
    pub fn sign_as_venue(&self, body: &[u8]) -> Vec<u8> {
        sign_with(
            &self.venue_signing,
            quet_protocol::kdf::CODE_SIGNATURE_CONTEXT,
            body,
        )
    }

    /// Signs `body` as the HA signs bulletins.
    pub fn sign_as_ha_bulletin(&self, body: &[u8]) -> Vec<u8> {
        let key = &self.ha.signing[0].1;
        sign_with(key, quet_protocol::kdf::BULLETIN_SIGNATURE_CONTEXT, body)
    }
}

impl Default for World {
    fn default() -> Self {
        World::new()
    }
}

fn sign_with(key: &SigningKey, context: &[u8], body: &[u8]) -> Vec<u8> {
    let mut msg = context.to_vec();
    msg.extend_from_slice(body);
    let sig = key.sign(&msg);
    let mut out = body.to_vec();
    out.extend_from_slice(&sig.to_bytes());
    out
}

fn str8(out: &mut Vec<u8>, s: &str) {
    out.push(u8::try_from(s.len()).expect("parsed strings fit a u8 length"));
    out.extend_from_slice(s.as_bytes());
}

/// The signed part of a code (everything but the signature), per the spec's table.
pub fn encode_code_signed_part(c: &CheckInCode) -> Vec<u8> {
    let mut o = vec![1u8, c.kind.to_byte()];
    o.extend_from_slice(&c.authority.0.to_be_bytes());
    o.extend_from_slice(&c.timestamp.0.to_be_bytes());
    o.extend_from_slice(&c.venue_time_public);
    o.push(c.venue.category.to_byte());
    o.extend_from_slice(&c.venue.max_stay_minutes.to_be_bytes());
    str8(&mut o, &c.venue.name);
    str8(&mut o, &c.venue.address);
    o.extend_from_slice(c.notice_secret.expose());
    o.push(c.capsule.key_id);
    o.extend_from_slice(&c.capsule.sealed);
    o.extend_from_slice(c.venue_key.as_bytes());
    o
}

/// Asserts a parsed code is exactly its input bytes re-serialised.
pub fn assert_code_round_trips(code: &CheckInCode, input: &[u8]) {
    let signed = encode_code_signed_part(code);
    assert_eq!(input.len(), signed.len() + 64, "code length");
    assert_eq!(&input[..signed.len()], &signed[..], "code re-encoding");
    assert_eq!(code.as_bytes(), input, "code keeps its bytes");
}

/// The signed body of a descriptor, before the signer id and signature.
pub fn encode_descriptor_body(d: &AuthorityDescriptor) -> Vec<u8> {
    let mut o = vec![1u8];
    o.extend_from_slice(&d.id.0.to_be_bytes());
    str8(&mut o, &d.name);
    str8(&mut o, &d.base_url);
    o.push(u8::try_from(d.signing_keys.len()).expect("at most 8 keys"));
    for k in &d.signing_keys {
        o.push(k.key_id);
        o.extend_from_slice(k.key.as_bytes());
    }
    o.push(u8::try_from(d.capsule_keys.len()).expect("at most 8 keys"));
    for k in &d.capsule_keys {
        o.push(k.key_id);
        o.extend_from_slice(&k.key);
    }
    o.push(d.current_signing_key);
    o.push(d.current_capsule_key);
    o
}

/// The signed part of a bulletin (everything but the signature).
pub fn encode_bulletin_signed_part(b: &Bulletin) -> Vec<u8> {
    let mut o = vec![1u8];
    o.extend_from_slice(&b.authority.0.to_be_bytes());
    o.push(b.key_id);
    o.extend_from_slice(&b.sequence.to_be_bytes());
    o.extend_from_slice(&b.prev_hash);
    o.extend_from_slice(&b.issued_at.0.to_be_bytes());
    o.extend_from_slice(&b.expires_at.0.to_be_bytes());
    o.extend_from_slice(
        &u32::try_from(b.notices.len())
            .expect("u32 count")
            .to_be_bytes(),
    );
    for n in &b.notices {
        o.extend_from_slice(&n.to_bytes().expect("a parsed notice re-encodes"));
    }
    o.extend_from_slice(
        &u16::try_from(b.withdrawn.len())
            .expect("u16 count")
            .to_be_bytes(),
    );
    for w in &b.withdrawn {
        o.extend_from_slice(w);
    }
    o
}

/// `HKDF-SHA256(salt, ikm, info = label || context)`, written from the spec.
pub fn hkdf<const N: usize>(salt: &[u8], ikm: &[u8], label: &[u8], context: &[u8]) -> [u8; N] {
    let hk = hkdf::Hkdf::<sha2::Sha256>::new(Some(salt), ikm);
    let mut out = [0u8; N];
    hk.expand_multi_info(&[label, context], &mut out)
        .expect("short output");
    out
}

/// ChaCha20-Poly1305 with the all-zero nonce, as every protocol AEAD uses it.
pub fn aead_seal(key: &[u8; 32], aad: &[u8], msg: &[u8]) -> Vec<u8> {
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    chacha20poly1305::ChaCha20Poly1305::new(&chacha20poly1305::Key::from(*key))
        .encrypt(&chacha20poly1305::Nonce::default(), Payload { msg, aad })
        .expect("in-memory encryption")
}
