//! Shared fixtures of the Quét fuzz targets (protocol 1.1).
//!
//! - A fixed world built from the same seeds as `spec/vectors/` (authority keys from
//!   `test_rng(1)` with three weekly capsule keys from 2026-09-18, venue master from
//!   `test_rng(2)`), so the vectors' bytes verify here, make a good seed corpus, and
//!   the targets can re-sign what they parse.
//! - Independent encoders written from the byte layouts of `spec/protocol.md`. A
//!   target that parses a valid object re-serialises it with these and asserts byte
//!   equality (the age habit): the parser accepts exactly the spec's bytes, and no
//!   two encodings parse to the same object.

use ed25519_dalek::{Signer, SigningKey};
use quet_protocol::authority::{AuthorityDescriptor, AuthorityId, AuthorityKeys};
use quet_protocol::bulletin::Bulletin;
use quet_protocol::code::CheckInCode;
use quet_protocol::head::BulletinHead;
use quet_protocol::notice::{ExposureNotice, PublishedKey};
use quet_protocol::testing::test_rng;
use quet_protocol::time::UnixTime;
use quet_protocol::venue_keys::VenueMasterKey;

/// The vectors' authority id.
pub const AUTHORITY_ID: AuthorityId = AuthorityId(0x0100_0001);
/// The vectors' authority name.
pub const AUTHORITY_NAME: &str = "Sở Y tế Hà Nội / Hanoi Department of Health";
/// The vectors' authority base URL.
pub const AUTHORITY_URL: &str = "https://quet.soyte.example";
/// UTC day 20717 (2026-09-21), the vectors' day.
pub const DAY: u32 = 20_717;
/// 09:10 UTC on that day, the vectors' screen-code time.
pub const T_CODE: u64 = DAY as u64 * 86_400 + 9 * 3_600 + 600;

/// The fixed world every target uses.
pub struct World {
    /// The HA's secret keys (`test_rng(1)`, root held).
    pub ha: AuthorityKeys,
    /// Its descriptor (serial 1).
    pub descriptor: AuthorityDescriptor,
    /// The vectors' venue master (`test_rng(2)`).
    pub master: VenueMasterKey,
    /// The venue's signing key.
    pub venue_signing: SigningKey,
}

impl World {
    /// Builds the world (cheap: a few key derivations).
    pub fn new() -> World {
        let ha = AuthorityKeys::generate_scheduled(
            &mut test_rng(1),
            UnixTime(u64::from(DAY - 3) * 86_400),
            3,
        );
        let descriptor = ha.descriptor(AUTHORITY_ID, AUTHORITY_NAME, AUTHORITY_URL);
        let master = VenueMasterKey::generate(&mut test_rng(2));
        let venue_signing = master.signing_key();
        World {
            ha,
            descriptor,
            master,
            venue_signing,
        }
    }

    /// The HA's bulletin-signing key 1.
    pub fn ha_signing(&self) -> &SigningKey {
        &self.ha.signing[0].1
    }

    /// Signs `body` as a venue code of the version in its first byte would be.
    pub fn sign_as_venue(&self, body: &[u8]) -> Vec<u8> {
        let context = if body.first() == Some(&1) {
            quet_protocol::kdf::CODE_SIGNATURE_CONTEXT
        } else {
            quet_protocol::kdf::CODE_SIGNATURE_V2_CONTEXT
        };
        sign_with(&self.venue_signing, context, body)
    }

    /// Signs `body` as the HA signs bulletins.
    pub fn sign_as_ha_bulletin(&self, body: &[u8]) -> Vec<u8> {
        sign_with(
            self.ha_signing(),
            quet_protocol::kdf::BULLETIN_SIGNATURE_V2_CONTEXT,
            body,
        )
    }

    /// Signs `body` as the HA signs heads.
    pub fn sign_as_ha_head(&self, body: &[u8]) -> Vec<u8> {
        sign_with(
            self.ha_signing(),
            quet_protocol::kdf::HEAD_SIGNATURE_CONTEXT,
            body,
        )
    }

    /// Signs `body` with the root key as descriptors are signed.
    pub fn sign_as_root(&self, body: &[u8]) -> Vec<u8> {
        let root = self
            .ha
            .root
            .as_ref()
            .expect("the fuzz world holds the root");
        sign_with(
            root,
            quet_protocol::kdf::DESCRIPTOR_SIGNATURE_V2_CONTEXT,
            body,
        )
    }
}

impl Default for World {
    fn default() -> Self {
        World::new()
    }
}

/// `body ‖ Ed25519(key, context ‖ body)`.
pub fn sign_with(key: &SigningKey, context: &[u8], body: &[u8]) -> Vec<u8> {
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

/// The signed part of a code (everything but the signature), per §9.1 / §9.7.
pub fn encode_code_signed_part(c: &CheckInCode) -> Vec<u8> {
    let mut o = vec![c.version, c.kind.to_byte()];
    if c.version == 2 {
        let flags = u8::from(c.uses.posters)
            | (u8::from(c.uses.screen) << 1)
            | (u8::from(c.checkpoint.is_some()) << 2)
            | (u8::from(c.certificate.is_some()) << 3);
        o.push(flags);
    }
    o.extend_from_slice(&c.authority.0.to_be_bytes());
    o.extend_from_slice(&c.timestamp.0.to_be_bytes());
    if c.version == 2 {
        o.extend_from_slice(&c.utc_offset.0.to_be_bytes());
    }
    o.extend_from_slice(&c.venue_time_public);
    o.push(c.venue.category.to_byte());
    o.extend_from_slice(&c.venue.max_stay_minutes.to_be_bytes());
    str8(&mut o, &c.venue.name);
    str8(&mut o, &c.venue.address);
    o.extend_from_slice(c.notice_secret.expose());
    o.push(c.capsule.key_id);
    o.extend_from_slice(&c.capsule.sealed);
    o.extend_from_slice(c.venue_key.as_bytes());
    if let Some(cp) = &c.checkpoint {
        o.extend_from_slice(&cp.sequence.to_be_bytes());
        o.extend_from_slice(&cp.hash_prefix);
    }
    if let Some(cert) = &c.certificate {
        o.extend_from_slice(&encode_certificate(cert));
    }
    o
}

/// A certificate's 77 bytes, per §8.
pub fn encode_certificate(c: &quet_protocol::certificate::VenueCertificate) -> Vec<u8> {
    let mut o = vec![c.key_id];
    o.extend_from_slice(&c.serial.to_be_bytes());
    o.extend_from_slice(&c.valid_from.0.to_be_bytes());
    o.extend_from_slice(&c.valid_until.0.to_be_bytes());
    o.extend_from_slice(&c.signature);
    o
}

/// Asserts a parsed code is exactly its input bytes re-serialised.
pub fn assert_code_round_trips(code: &CheckInCode, input: &[u8]) {
    let signed = encode_code_signed_part(code);
    assert_eq!(input.len(), signed.len() + 64, "code length");
    assert_eq!(&input[..signed.len()], &signed[..], "code re-encoding");
    assert_eq!(code.as_bytes(), input, "code keeps its bytes");
}

/// The signed body of a descriptor (through the flags byte), per §7.1.
pub fn encode_descriptor_body(d: &AuthorityDescriptor, cross_signed: bool) -> Vec<u8> {
    let mut o = vec![2u8];
    o.extend_from_slice(&d.id.0.to_be_bytes());
    o.extend_from_slice(&d.serial.to_be_bytes());
    str8(&mut o, &d.name);
    str8(&mut o, &d.base_url);
    o.extend_from_slice(&d.utc_offset.0.to_be_bytes());
    o.extend_from_slice(d.root_key.as_bytes());
    o.push(u8::try_from(d.signing_keys.len()).expect("at most 8 keys"));
    for k in &d.signing_keys {
        o.push(k.key_id);
        o.extend_from_slice(k.key.as_bytes());
    }
    o.push(d.current_signing_key);
    o.push(u8::try_from(d.capsule_keys.len()).expect("at most 32 keys"));
    for k in &d.capsule_keys {
        o.push(k.key_id);
        o.extend_from_slice(&k.key);
        o.extend_from_slice(&k.not_before.0.to_be_bytes());
        o.extend_from_slice(&k.not_after.0.to_be_bytes());
    }
    o.push(u8::from(cross_signed));
    o
}

/// A notice's encoding, per §13.1.
pub fn encode_notice(n: &ExposureNotice) -> Vec<u8> {
    let mut o = n.nonce.to_vec();
    o.push(u8::try_from(n.segments.len()).expect("1 or 2 segments"));
    for s in &n.segments {
        o.push(s.first.kind.to_byte());
        o.extend_from_slice(&s.first.index.to_be_bytes());
        o.extend_from_slice(
            &u16::try_from(s.entries.len())
                .expect("at most 504")
                .to_be_bytes(),
        );
    }
    for s in &n.segments {
        for e in &s.entries {
            match &e.key {
                PublishedKey::Seed(k) => o.extend_from_slice(k),
                PublishedKey::Secret(k) => o.extend_from_slice(k),
            }
            o.extend_from_slice(&e.wrap);
        }
    }
    o.extend_from_slice(
        &u16::try_from(n.sealed_body.len())
            .expect("u16 body")
            .to_be_bytes(),
    );
    o.extend_from_slice(&n.sealed_body);
    o
}

/// The signed part of a bulletin (everything but the signature), per §15.1.
pub fn encode_bulletin_signed_part(b: &Bulletin) -> Vec<u8> {
    let mut o = vec![2u8];
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
        o.extend_from_slice(&encode_notice(n));
    }
    o.extend_from_slice(
        &u16::try_from(b.withdrawn.len())
            .expect("u16 count")
            .to_be_bytes(),
    );
    for w in &b.withdrawn {
        o.extend_from_slice(w);
    }
    o.extend_from_slice(
        &u16::try_from(b.revoked.len())
            .expect("u16 count")
            .to_be_bytes(),
    );
    for r in &b.revoked {
        o.extend_from_slice(&r.venue_key);
        o.extend_from_slice(&r.until.0.to_be_bytes());
    }
    o
}

/// The signed part of a head, per §16.
pub fn encode_head_signed_part(h: &BulletinHead) -> Vec<u8> {
    let mut o = vec![1u8];
    o.extend_from_slice(&h.authority.0.to_be_bytes());
    o.push(h.key_id);
    o.extend_from_slice(&h.descriptor_serial.to_be_bytes());
    o.extend_from_slice(&h.latest.sequence.to_be_bytes());
    o.extend_from_slice(&h.latest.hash);
    o.extend_from_slice(&h.oldest.sequence.to_be_bytes());
    o.extend_from_slice(&h.oldest.hash);
    o.extend_from_slice(&h.issued_at.0.to_be_bytes());
    o.extend_from_slice(&h.expires_at.0.to_be_bytes());
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
