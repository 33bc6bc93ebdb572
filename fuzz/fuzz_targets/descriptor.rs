//! Fuzzes the authority descriptor parser (v2): raw bytes, and the same bytes
//! signed by the vectors' root key (so mutations of a descriptor naming that root
//! verify and reach every consistency check), then the update rule against the
//! pinned serial-1 descriptor. Accepted descriptors re-encode to their input.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use quet_protocol::authority::AuthorityDescriptor;
use quet_protocol::time::UnixTime;
use quet_protocol_fuzz::{World, encode_descriptor_body};

static WORLD: LazyLock<World> = LazyLock::new(World::new);

fn check(bytes: &[u8], w: &World) {
    if let Ok(d) = AuthorityDescriptor::decode(bytes) {
        let plain = encode_descriptor_body(&d, false);
        let cross = bytes.get(plain.len() - 1) == Some(&1);
        let body = encode_descriptor_body(&d, cross);
        assert_eq!(
            bytes.len(),
            body.len() + 64 * (1 + usize::from(cross)),
            "descriptor length"
        );
        assert_eq!(&bytes[..body.len()], &body[..], "descriptor re-encoding");
        assert!(d.signing_key(d.current_signing_key).is_ok());
        assert_eq!(d.fingerprint().len(), 39);
        for t in [0, 1_789_981_800, u64::MAX] {
            if let Ok((id, _)) = d.capsule_for(UnixTime(t)) {
                assert!(d.capsule_entry(id).expect("listed").covers(UnixTime(t)));
            }
        }
    }
    if let Ok(d) = w.descriptor.verify_update(bytes) {
        assert_eq!(d.id, w.descriptor.id);
        assert!(d.serial >= w.descriptor.serial);
        assert_eq!(
            AuthorityDescriptor::decode(bytes),
            Ok(d),
            "an update verifies alone"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let w = &*WORLD;
    check(data, w);
    if data.len() <= 4096 - 128 {
        let signed = w.sign_as_root(data);
        check(&signed, w);
        // Also as cross-signed by the same root (flag byte set by the input).
        let twice = w.sign_as_root(data);
        let mut both = signed.clone();
        both.extend_from_slice(&twice[data.len()..]);
        check(&both, w);
    }
});
