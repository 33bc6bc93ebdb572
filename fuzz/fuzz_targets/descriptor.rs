//! Fuzzes the authority descriptor parser: raw bytes, the same bytes signed by the
//! vectors' HA key (so mutations of a descriptor listing that key verify), and the
//! update rule against the pinned descriptor. Accepted descriptors re-encode.
#![no_main]

use std::sync::LazyLock;

use ed25519_dalek::Signer;
use libfuzzer_sys::fuzz_target;
use quet_protocol::authority::AuthorityDescriptor;
use quet_protocol::kdf::DESCRIPTOR_SIGNATURE_CONTEXT;
use quet_protocol_fuzz::{World, encode_descriptor_body};

static WORLD: LazyLock<World> = LazyLock::new(World::new);

fn check(bytes: &[u8], w: &World) {
    if let Ok(d) = AuthorityDescriptor::decode(bytes) {
        let body = encode_descriptor_body(&d);
        assert_eq!(bytes.len(), body.len() + 1 + 64, "descriptor length");
        assert_eq!(&bytes[..body.len()], &body[..], "descriptor re-encoding");
        assert!(d.signing_key(d.current_signing_key).is_ok());
        assert!(d.current_capsule().is_ok());
        assert_eq!(d.fingerprint().len(), 39);
    }
    if let Ok(d) = w.descriptor.verify_update(bytes) {
        assert_eq!(d.id, w.descriptor.id);
    }
}

fuzz_target!(|data: &[u8]| {
    let w = &*WORLD;
    check(data, w);
    if data.len() <= 4096 - 64 {
        let mut msg = DESCRIPTOR_SIGNATURE_CONTEXT.to_vec();
        msg.extend_from_slice(data);
        let mut signed = data.to_vec();
        signed.extend_from_slice(&w.ha.signing[0].1.sign(&msg).to_bytes());
        check(&signed, w);
    }
});
