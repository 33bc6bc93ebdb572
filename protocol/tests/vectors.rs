//! The test vectors in `spec/vectors/` (protocol 1.1).
//!
//! 1. `committed_vectors_match_the_generator`: the generator must reproduce every
//!    committed file byte for byte, so the spec's examples and the code cannot drift.
//! 2. `every_committed_vector_checks_out`: every committed file is read **as data**
//!    and checked twice: against the crate (the result and the exact error), and
//!    against `spec_impl`, a second implementation written from `spec/protocol.md`
//!    alone with the raw primitives. It re-derives every key (including seeded
//!    epochs), re-parses every layout, re-verifies every signature (descriptor root
//!    and cross-signature, code, certificate, head, bulletin), re-opens every sealed
//!    object, re-runs the trace plan, the decoy draws and the chain rules, and
//!    re-does matching by trial-opening. Negative vectors must fail in both with the
//!    error they name.
//! 3. `negative_vectors_cover_each_parser` and `spec_text_edge_cases`: coverage,
//!    and the spec's stated edge cases (base32 lengths, trailing slashes).

#[path = "spec_impl/mod.rs"]
mod spec_impl;
#[path = "vector_gen/mod.rs"]
mod vector_gen;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use data_encoding::HEXLOWER;
use quet_protocol::Error;
use quet_protocol::authority::AuthorityDescriptor;
use quet_protocol::bulletin::{Bulletin, ChainState};
use quet_protocol::category::Category;
use quet_protocol::certificate::VenueCertificate;
use quet_protocol::chain::{ChainCheckpoint, ChainView, HeadState};
use quet_protocol::code::CheckInCode;
use quet_protocol::envelope::ReportEnvelope;
use quet_protocol::head::BulletinHead;
use quet_protocol::matching::{Matcher, StoredToken};
use quet_protocol::notice::ExposureNotice;
use quet_protocol::time::{Day, UnixTime};
use quet_protocol::token::EncounterToken;
use quet_protocol::venue_keys::{VenueMasterKey, VenueTimeSecret, day_keys_from_text};
use spec_impl as spec;
use spec_impl::{Desc, Ep, TestRng, View};

const REGENERATE: &str = "cargo run -p quet-protocol --example gen_vectors";

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/vectors")
}

#[test]
fn committed_vectors_match_the_generator() {
    let vectors = vector_gen::generate();
    for v in &vectors {
        let path = dir().join(&v.file);
        let want = v.render();
        let have = std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "spec/vectors/{} cannot be read ({e}); regenerate with `{REGENERATE}`",
                v.file
            )
        });
        if have != want.as_bytes() {
            let at = have
                .iter()
                .zip(want.as_bytes())
                .position(|(a, b)| a != b)
                .unwrap_or(have.len().min(want.len()));
            let line = want.as_bytes()[..at.min(want.len())]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            panic!(
                "spec/vectors/{} differs from the generator at byte {at} (line {line}); \
                 if the change is intended, regenerate with `{REGENERATE}` and review the diff",
                v.file
            );
        }
    }
    let mut names: Vec<String> = vectors.iter().map(|v| v.file.clone()).collect();
    names.sort();
    let mut on_disk: Vec<String> = std::fs::read_dir(dir())
        .expect("spec/vectors exists")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".txt"))
        .collect();
    on_disk.sort();
    assert_eq!(
        on_disk, names,
        "stale or missing vector files in spec/vectors"
    );
}

/// One vector file's fields.
struct Fields {
    file: String,
    map: BTreeMap<String, String>,
}

impl Fields {
    fn get(&self, k: &str) -> &str {
        self.map
            .get(k)
            .unwrap_or_else(|| panic!("{}: no field {k}", self.file))
    }
    fn opt(&self, k: &str) -> Option<&str> {
        self.map.get(k).map(String::as_str)
    }
    fn hex(&self, k: &str) -> Vec<u8> {
        HEXLOWER
            .decode(self.get(k).as_bytes())
            .unwrap_or_else(|e| panic!("{}: field {k} is not hex: {e}", self.file))
    }
    fn arr<const N: usize>(&self, k: &str) -> [u8; N] {
        self.hex(k)
            .try_into()
            .unwrap_or_else(|_| panic!("{}: field {k} is not {N} bytes", self.file))
    }
    fn num(&self, k: &str) -> u64 {
        self.get(k)
            .parse()
            .unwrap_or_else(|_| panic!("{}: field {k} is not a number", self.file))
    }
    fn success(&self) -> bool {
        self.get("expect") == "success"
    }
    /// Asserts the crate's `result` is what the vector expects (variant and full
    /// error); returns the value on success.
    fn expect<T>(&self, result: Result<T, Error>) -> Option<T> {
        let expect = self.get("expect");
        match result {
            Ok(v) => {
                assert_eq!(expect, "success", "{}: the crate succeeded", self.file);
                Some(v)
            }
            Err(e) => {
                let debug = format!("{e:?}");
                let variant: String = debug.chars().take_while(|c| c.is_alphanumeric()).collect();
                assert_eq!(variant, expect, "{}: the crate said {debug}", self.file);
                assert_eq!(debug, self.get("error"), "{}: error payload", self.file);
                None
            }
        }
    }
    /// Asserts the independent implementation agrees with the vector.
    fn spec_agrees<T>(&self, result: spec::R<T>) -> Option<T> {
        match result {
            Ok(v) => {
                assert!(
                    self.success(),
                    "{}: spec_impl succeeded, vector expects {}",
                    self.file,
                    self.get("expect")
                );
                Some(v)
            }
            Err(e) => {
                assert_eq!(e, self.get("expect"), "{}: spec_impl says {e}", self.file);
                None
            }
        }
    }
}

fn load() -> BTreeMap<String, Fields> {
    let mut all = BTreeMap::new();
    for entry in std::fs::read_dir(dir()).expect("spec/vectors exists") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "txt") {
            continue;
        }
        let file = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(&path).expect("utf-8 vector");
        let map = vector_gen::parse(&text).into_iter().collect();
        all.insert(file.clone(), Fields { file, map });
    }
    all
}

/// The fixed world, rebuilt from the vectors and the README's RNG draw order.
struct Ctx {
    descriptor: AuthorityDescriptor,
    desc: Desc,
    desc_bytes: Vec<u8>,
    keys: quet_protocol::authority::AuthorityKeys,
    capsule_secrets: BTreeMap<u8, [u8; 32]>,
    master: [u8; 32],
}

fn context(all: &BTreeMap<String, Fields>) -> Ctx {
    let a = &all["authority.txt"];
    let desc_bytes = a.hex("bytes");
    let descriptor = AuthorityDescriptor::decode(&desc_bytes).expect("authority verifies");
    let desc = spec::decode_descriptor(&desc_bytes).expect("spec: authority verifies");
    // README: test_rng(1) gives the root seed, signing seed 1, a discarded capsule
    // secret, then the capsule secrets 1, 2, 3.
    let mut rng = TestRng::new(1);
    let root_seed = rng.b32();
    let signing_seed = rng.b32();
    rng.skip(32);
    let mut capsule_secrets = BTreeMap::new();
    for id in 1..=3u8 {
        capsule_secrets.insert(id, rng.b32());
    }
    assert_eq!(a.arr::<32>("root_seed"), root_seed);
    assert_eq!(a.arr::<32>("signing_seed.1"), signing_seed);
    let keys = quet_protocol::authority::AuthorityKeys {
        root_public: descriptor.root_key,
        root: Some(ed25519_dalek::SigningKey::from_bytes(&root_seed)),
        signing: vec![(1, ed25519_dalek::SigningKey::from_bytes(&signing_seed))],
        capsule: desc
            .capsule
            .iter()
            .map(|(id, _, nb, na)| quet_protocol::authority::CapsuleSecret {
                key_id: *id,
                secret: x25519_dalek::StaticSecret::from(capsule_secrets[id]),
                not_before: UnixTime(*nb),
                not_after: UnixTime(*na),
            })
            .collect(),
    };
    let master: [u8; 32] = TestRng::new(2).b32();
    assert_eq!(all["venue-keys.txt"].arr::<32>("master"), master);
    Ctx {
        descriptor,
        desc,
        desc_bytes,
        keys,
        capsule_secrets,
        master,
    }
}

fn parse_view(f: &Fields, prefix: &str) -> View {
    let last = f.get(&format!("{prefix}.last"));
    let head = f.get(&format!("{prefix}.head"));
    let h32 = |s: &str| -> [u8; 32] { HEXLOWER.decode(s.as_bytes()).unwrap().try_into().unwrap() };
    View {
        last: (last != "none").then(|| {
            let p: Vec<&str> = last.split(' ').collect();
            (p[0].parse().unwrap(), h32(p[1]), p[2].parse().unwrap())
        }),
        head: (head != "none").then(|| {
            let p: Vec<&str> = head.split(' ').collect();
            (
                p[0].parse().unwrap(),
                h32(p[1]),
                p[2].parse().unwrap(),
                p[3].parse().unwrap(),
            )
        }),
    }
}

fn crate_view(v: &View) -> ChainView {
    ChainView {
        last: v.last.map(|(sequence, hash, e)| ChainState {
            sequence,
            hash,
            expires_at: UnixTime(e),
        }),
        head: v.head.map(|(s, hash, i, e)| HeadState {
            latest_sequence: s,
            latest_hash: hash,
            issued_at: UnixTime(i),
            expires_at: UnixTime(e),
        }),
    }
}

fn spec_view(v: &ChainView) -> View {
    View {
        last: v.last.map(|l| (l.sequence, l.hash, l.expires_at.0)),
        head: v.head.map(|h| {
            (
                h.latest_sequence,
                h.latest_hash,
                h.issued_at.0,
                h.expires_at.0,
            )
        }),
    }
}

fn rng_at(spec_field: &str) -> [u8; 32] {
    let (seed, offset) = spec_field.split_once(' ').expect("'<seed> <offset>'");
    let mut rng = TestRng::new(seed.parse().expect("seed"));
    rng.skip(offset.parse().expect("offset"));
    rng.b32()
}

// --- descriptors -------------------------------------------------------------------------

fn check_descriptor_fields(f: &Fields, d: &Desc, crate_d: &AuthorityDescriptor) {
    assert_eq!(u64::from(d.id), f.num("id"));
    assert_eq!(d.serial, f.num("serial"));
    assert_eq!(d.name, f.get("name"));
    assert_eq!(d.base_url, f.get("base_url"));
    assert_eq!(
        i64::from(d.offset),
        f.get("utc_offset").parse::<i64>().unwrap()
    );
    assert_eq!(d.root, f.arr::<32>("root_public"));
    for (id, key) in &d.signing {
        assert_eq!(*key, f.arr::<32>(&format!("signing_key.{id}")));
    }
    assert_eq!(u64::from(d.current), f.num("current_signing_key"));
    for (id, key, nb, na) in &d.capsule {
        assert_eq!(
            f.get(&format!("capsule_key.{id}")),
            format!("{} {nb} {na}", HEXLOWER.encode(key))
        );
    }
    assert_eq!(d.fingerprint(), f.get("fingerprint"));
    assert_eq!(crate_d.fingerprint(), d.fingerprint());
    assert_eq!(crate_d.serial, d.serial);
}

fn check_descriptor(f: &Fields, cx: &Ctx) {
    let bytes = f.hex("bytes");
    let crate_result = f.expect(AuthorityDescriptor::decode(&bytes));
    let spec_result = f.spec_agrees(spec::decode_descriptor(&bytes));
    let (Some(cd), Some(d)) = (crate_result, spec_result) else {
        return;
    };
    check_descriptor_fields(f, &d, &cd);
    // The keys are those of the README's draw order, and each capsule secret is
    // destroyed 24 days after its period.
    let root = ed25519_dalek::SigningKey::from_bytes(&f.arr("root_seed"));
    assert_eq!(root.verifying_key().to_bytes(), d.root);
    let s1 = ed25519_dalek::SigningKey::from_bytes(&f.arr("signing_seed.1"));
    assert_eq!(Some(s1.verifying_key().to_bytes()), d.signing_key(1));
    for (id, key, _, na) in &d.capsule {
        let secret = f.arr::<32>(&format!("capsule_secret.{id}"));
        assert_eq!(spec::public(secret), *key);
        assert_eq!(secret, cx.capsule_secrets[id]);
        assert_eq!(f.num(&format!("destroy_after.{id}")), na + 24 * 86_400);
    }
    // Weekly periods, back to back.
    for w in d.capsule.windows(2) {
        assert_eq!(w[0].3, w[1].2);
        assert_eq!(w[0].3 - w[0].2, 7 * 86_400);
    }
}

fn check_descriptor_update(f: &Fields) {
    let pinned_bytes = f.hex("pinned");
    let bytes = f.hex("bytes");
    let pinned = AuthorityDescriptor::decode(&pinned_bytes).expect("pinned");
    let crate_result = f.expect(pinned.verify_update(&bytes));
    let spec_pinned = spec::decode_descriptor(&pinned_bytes).expect("spec: pinned");
    let spec_result = f.spec_agrees(spec::verify_update(&spec_pinned, &bytes));
    // Every offered descriptor verifies by itself (§7.3: an update must).
    let alone = spec::decode_descriptor(&bytes).expect("the offered descriptor verifies alone");
    if let (Some(cd), Some(d)) = (crate_result, spec_result) {
        check_descriptor_fields(f, &d, &cd);
        // The new keys are the README's draws from test_rng(10).
        let mut rng = TestRng::new(10);
        let s2 = ed25519_dalek::SigningKey::from_bytes(&rng.b32());
        let new_root = ed25519_dalek::SigningKey::from_bytes(&rng.b32());
        assert_eq!(d.signing_key(2), Some(s2.verifying_key().to_bytes()));
        if d.root != spec_pinned.root {
            assert_eq!(d.root, new_root.verifying_key().to_bytes());
            assert_ne!(d.fingerprint(), spec_pinned.fingerprint());
            assert!(d.cross_sig.is_some());
        }
    } else if f.get("expect") == "BadSignature" {
        assert_ne!(
            alone.root, spec_pinned.root,
            "only a root rotation lacks a signature"
        );
        assert!(alone.cross_sig.is_none());
    }
}

// --- venue keys and sheets ------------------------------------------------------------------

fn check_venue_keys(f: &Fields, cx: &Ctx) {
    let master = f.arr::<32>("master");
    assert_eq!(master, cx.master);
    let m = VenueMasterKey::from_bytes(master);
    let check: [u8; 32] = spec::sha256(&[b"quet/v1/sheet-checksum", &master]);
    let mut payload = master.to_vec();
    payload.extend_from_slice(&check[..3]);
    assert_eq!(spec::groups4(&spec::base32(&payload)), f.get("sheet_text"));
    assert_eq!(m.to_sheet_text(), f.get("sheet_text"));
    let seed: [u8; 32] = spec::hkdf(None, &master, &[b"quet/v1/sign"]);
    assert_eq!(seed, f.arr::<32>("signing_seed"));
    assert_eq!(
        ed25519_dalek::SigningKey::from_bytes(&seed)
            .verifying_key()
            .to_bytes(),
        f.arr::<32>("signing_public")
    );
    let day = f.num("day") as u32;
    let hb: [u8; 16] = spec::hkdf(None, &master, &[b"quet/v1/heartbeat", &day.to_be_bytes()]);
    assert_eq!(hb, f.arr::<16>("heartbeat_pseudonym"));
    assert_eq!(m.heartbeat_pseudonym(Day(day)), hb);
    for d in [day - 1, day, day + 1] {
        assert_eq!(
            spec::day_key(&master, d),
            f.arr::<32>(&format!("day_key.{d}"))
        );
    }
    for (label, kind) in [
        ("seeded_hour", 3),
        ("local_day", 4),
        ("hour", 1),
        ("day", 2),
    ] {
        let e = Ep::from(&f.hex(&format!("{label}.epoch")));
        assert_eq!(e.kind, kind);
        let secret = spec::venue_time_secret(&master, e);
        if kind >= 3 {
            let seed = spec::seed_from_day_key(&spec::day_key(&master, e.day()), e);
            assert_eq!(seed, f.arr::<16>(&format!("{label}.seed")));
        }
        assert_eq!(secret, f.arr::<32>(&format!("{label}.venue_time_secret")));
        assert_eq!(
            spec::notice_secret(&master, e),
            f.arr::<16>(&format!("{label}.notice_secret"))
        );
        assert_eq!(
            spec::public(secret),
            f.arr::<32>(&format!("{label}.venue_time_public"))
        );
    }
    // The epochs are those of 2026-09-21 09:10 UTC (16:10 in Hà Nội).
    let t = vector_gen::T_CODE;
    assert_eq!(
        Ep::from(&f.hex("seeded_hour.epoch")),
        Ep::containing(3, t, 420).unwrap()
    );
    assert_eq!(
        Ep::from(&f.hex("local_day.epoch")),
        Ep::containing(4, t, 420).unwrap()
    );
}

fn check_sheet(f: &Fields, cx: &Ctx) {
    let text = f.get("text");
    if let Some(m) = f.expect(VenueMasterKey::from_sheet_text(text)) {
        assert_eq!(m.expose(), &f.arr::<32>("master"));
        assert_eq!(m.expose(), &cx.master);
    }
    // Independently (§5.2).
    let bytes = spec::unbase32(&spec::clean_sheet(text)).expect("35 bytes of base32");
    assert_eq!(bytes.len(), 35);
    let ok = spec::sha256(&[b"quet/v1/sheet-checksum", &bytes[..32]])[..3] == bytes[32..];
    assert_eq!(ok, f.success(), "{}", f.file);
}

fn check_daykeys(f: &Fields, cx: &Ctx) {
    let text = f.get("text");
    if let Some(keys) = f.expect(day_keys_from_text(text)) {
        assert_eq!(keys.len() as u64, f.num("count"));
        assert_eq!(u64::from(keys[0].day.0), f.num("first_day"));
    }
    // Independently (§5.3).
    let bytes = spec::unbase32(&spec::clean_sheet(text)).expect("base32");
    let (payload, check) = bytes.split_at(bytes.len() - 3);
    let count = usize::from(payload[4]);
    assert_eq!(payload.len(), 5 + 32 * count);
    let ok = spec::sha256(&[b"quet/v1/keysheet-checksum", payload])[..3] == *check;
    assert_eq!(ok, f.success(), "{}", f.file);
    if ok {
        let first = u32::from_be_bytes(payload[..4].try_into().unwrap());
        assert_eq!(u64::from(first), f.num("first_day"));
        for i in 0..count {
            let d = first + i as u32;
            let key = &payload[5 + 32 * i..37 + 32 * i];
            assert_eq!(key, spec::day_key(&cx.master, d));
            assert_eq!(key, f.arr::<32>(&format!("day_key.{d}")));
        }
        assert_eq!(spec::groups4(&spec::base32(&bytes)), text, "canonical text");
    }
}

// --- certificates -----------------------------------------------------------------------------

fn check_certificate(f: &Fields, cx: &Ctx) {
    let bytes = f.hex("bytes");
    let cert = VenueCertificate::from_bytes(&bytes).expect("77 bytes");
    assert_eq!(cert.to_bytes(), bytes);
    let venue_key = f.arr::<32>("venue_key");
    let category = f.num("category") as u8;
    let today = f.num("today") as u32;
    let verdict = cert.verify(
        &cx.descriptor,
        &venue_key,
        Category::from_byte(category).expect("category"),
        f.get("name"),
        f.get("address"),
        Day(today),
    );
    assert_eq!(format!("{verdict:?}"), f.get("registration"));
    assert!(f.get("registration").starts_with(f.get("expect")));
    assert_eq!(
        spec::details_hash(category, f.get("name"), f.get("address")),
        f.arr::<32>("details_hash")
    );
    let spec_verdict = spec::certificate_verdict(
        &cx.desc,
        &venue_key,
        category,
        f.get("name"),
        f.get("address"),
        Some(&bytes),
        today,
    );
    assert_eq!(spec_verdict, f.get("registration"), "{}", f.file);
    // The layout: key id, serial, days, signature.
    assert_eq!(u64::from(bytes[0]), f.num("key_id"));
    assert_eq!(
        u64::from(u32::from_be_bytes(bytes[1..5].try_into().unwrap())),
        f.num("serial")
    );
    assert_eq!(
        u64::from(u32::from_be_bytes(bytes[5..9].try_into().unwrap())),
        f.num("valid_from")
    );
    assert_eq!(
        u64::from(u32::from_be_bytes(bytes[9..13].try_into().unwrap())),
        f.num("valid_until")
    );
}

// --- codes ------------------------------------------------------------------------------------

fn revoked_by(
    f: &Fields,
    all: &BTreeMap<String, Fields>,
    cx: &Ctx,
    venue_key: &[u8; 32],
    now: u64,
) -> bool {
    let Some(file) = f.opt("revoked_by") else {
        return false;
    };
    let b = spec::parse_bulletin(&all[file].hex("bytes"), &cx.desc).expect("revoking bulletin");
    b.revoked
        .iter()
        .any(|(k, until)| k == venue_key && now / 86_400 <= u64::from(*until))
}

fn check_code(f: &Fields, all: &BTreeMap<String, Fields>, cx: &Ctx) {
    let bytes = f.hex("bytes");
    let now = f.num("now");
    // The crate: parse, verify, then revocation as the caller does it.
    let crate_result = CheckInCode::parse_and_verify(&bytes, UnixTime(now), &cx.descriptor)
        .and_then(|(c, _)| {
            c.check_not_revoked(|k| revoked_by(f, all, cx, k, now))
                .map(|()| c)
        });
    let code = f.expect(crate_result);
    // The spec: §9.4 steps 1–17.
    let spec_result = spec::parse_code(&bytes).and_then(|c| {
        let revoked = revoked_by(f, all, cx, &c.venue_key, now);
        spec::phone_check(&c, now, &cx.desc, revoked).map(|()| c)
    });
    let spec_code = f.spec_agrees(spec_result);
    let (Some(code), Some(c)) = (code, spec_code) else {
        return;
    };
    let e = c.epoch().unwrap();
    assert_eq!(u64::from(c.version), f.num("version"));
    assert_eq!(f.get("kind"), if c.kind == 1 { "Screen" } else { "Poster" });
    if c.version == 2 {
        assert_eq!(format!("{:02x}", c.flags), f.get("flags"));
        assert_eq!(
            i64::from(c.offset),
            f.get("utc_offset").parse::<i64>().unwrap()
        );
    }
    assert_eq!(u64::from(c.authority), f.num("authority"));
    assert_eq!(c.timestamp, f.num("timestamp"));
    assert_eq!(e.bytes(), f.arr::<5>("epoch"));
    assert_eq!(code.epoch().unwrap().to_bytes(), e.bytes());
    assert_eq!(c.p_e, f.arr::<32>("venue_time_public"));
    assert_eq!(u64::from(c.category), f.num("category"));
    assert_eq!(u64::from(c.max_stay), f.num("max_stay_minutes"));
    assert_eq!(c.name, f.get("name"));
    assert_eq!(c.address, f.get("address"));
    assert_eq!(c.notice_secret, f.arr::<16>("notice_secret"));
    assert_eq!(u64::from(c.capsule_id), f.num("capsule_key_id"));
    assert_eq!(c.venue_key, f.arr::<32>("venue_key"));
    assert_eq!(bytes.len() as u64, f.num("length"));
    let extra = c.checkpoint.map_or(0, |_| 20) + c.certificate.as_ref().map_or(0, |_| 77);
    let base = if c.version == 2 { 315 } else { 312 };
    assert_eq!(bytes.len(), base + c.name.len() + c.address.len() + extra);
    if let Some((seq, prefix)) = c.checkpoint {
        assert_eq!(u64::from(seq), f.num("checkpoint_sequence"));
        assert_eq!(prefix, f.arr::<16>("checkpoint_hash_prefix"));
    }
    if let Some(cert) = &c.certificate {
        assert_eq!(cert, &f.hex("certificate"));
    }
    // P_e and the notice secret derive from the venue's master (§5).
    assert_eq!(spec::public(spec::venue_time_secret(&cx.master, e)), c.p_e);
    assert_eq!(spec::notice_secret(&cx.master, e), c.notice_secret);
    // The capsule key is the one whose period contains the start of UTC day day(e).
    assert_eq!(
        cx.desc.capsule_for(u64::from(e.day()) * 86_400),
        Some(c.capsule_id)
    );
    // A v2 poster's timestamp is local midnight.
    if c.version == 2 && c.kind == 2 {
        assert_eq!(c.timestamp, e.start(c.offset));
        assert_eq!(e.kind, 4);
    }
    // Registration (§8), on the phone's UTC day.
    let today = (now / 86_400) as u32;
    assert_eq!(
        spec::certificate_verdict(
            &cx.desc,
            &c.venue_key,
            c.category,
            &c.name,
            &c.address,
            c.certificate.as_deref(),
            today
        ),
        f.get("registration")
    );
    assert_eq!(
        format!("{:?}", code.registration(&cx.descriptor, Day(today))),
        f.get("registration")
    );
    // The URL (§9.5), both ways.
    let url = f.get("url");
    assert_eq!(url, spec::to_url(vector_gen::AUTHORITY_URL, &bytes));
    assert_eq!(spec::bytes_from_text(url).unwrap(), bytes);
    assert_eq!(CheckInCode::bytes_from_text(url).unwrap(), bytes);
}

fn check_capsule(f: &Fields, cx: &Ctx) {
    let sealed = f.hex("sealed");
    let key_id = f.num("key_id") as u8;
    let mut aad = f.hex("venue_key");
    aad.extend_from_slice(&(f.num("authority") as u32).to_be_bytes());
    let plain = spec::sealed_open(
        cx.capsule_secrets[&key_id],
        b"quet/v1/capsule",
        &aad,
        &sealed,
    )
    .expect("the capsule opens with its key's secret");
    assert_eq!(plain, f.hex("plaintext"));
    let day = f.num("day") as u32;
    assert_eq!(&plain[..4], &day.to_be_bytes());
    for (i, d) in [day - 1, day, day + 1].into_iter().enumerate() {
        assert_eq!(plain[4 + 32 * i..36 + 32 * i], spec::day_key(&cx.master, d));
    }
    assert_eq!(cx.desc.capsule_for(u64::from(day) * 86_400), Some(key_id));
    // The ephemeral key is the README's draw.
    assert_eq!(
        spec::public(rng_at(f.get("ephemeral_rng"))),
        <[u8; 32]>::try_from(&sealed[..32]).unwrap()
    );
    for other in cx.capsule_secrets.keys().filter(|k| **k != key_id) {
        assert!(
            spec::sealed_open(cx.capsule_secrets[other], b"quet/v1/capsule", &aad, &sealed)
                .is_none()
        );
    }
}

// --- tokens and envelopes ---------------------------------------------------------------------

fn check_token(f: &Fields, cx: &Ctx) {
    let bytes = f.hex("bytes");
    let secret = f.arr::<32>("venue_time_secret");
    let opened = EncounterToken::from_bytes(&bytes)
        .and_then(|t| t.open_with(&VenueTimeSecret::from_bytes(secret)));
    let crate_ok = f.expect(opened);
    let spec_ok = f.spec_agrees(spec::open_token(&bytes, secret));
    let (Some(record), Some(plain)) = (crate_ok, spec_ok) else {
        return;
    };
    assert_eq!(plain, f.hex("record"));
    assert_eq!(record.arrival.0, f.num("arrival"));
    assert_eq!(record.departure.0, f.num("departure"));
    let e = Ep::from(&f.hex("epoch"));
    // The published seed expands to the secret, whose public key is the code's P_e.
    assert_eq!(spec::scalar_of(&f.hex("seed"), e), secret);
    assert_eq!(spec::public(secret), f.arr::<32>("venue_time_public"));
    assert_eq!(spec::venue_time_secret(&cx.master, e), secret);
    // The check-in token and the check-out token: same epoch and P_e, fresh r (the
    // README's two draws), departure clipped on check-out.
    let checkin = f.hex("checkin.bytes");
    let checkin_plain = spec::open_token(&checkin, secret).expect("check-in token opens");
    assert_eq!(checkin_plain, f.hex("checkin.record"));
    let (a, d_in, ns) = spec::record_fields(&checkin_plain);
    let (a2, d_out, ns2) = spec::record_fields(&plain);
    assert_eq!((a, ns), (a2, ns2));
    assert_eq!(d_in, f.num("checkin.departure"));
    assert_eq!(
        d_in,
        a + 120 * 60,
        "check-in: departure = arrival + max stay"
    );
    assert!(d_out < d_in && d_out >= a);
    assert_eq!(checkin[1..6], bytes[1..6]);
    let r_in = spec::public(rng_at(f.get("checkin.ephemeral_rng")));
    let r_out = spec::public(rng_at(f.get("ephemeral_rng")));
    assert_eq!(checkin[6..38], r_in);
    assert_eq!(bytes[6..38], r_out);
    assert_ne!(r_in, r_out, "check-out uses a fresh r");
    assert_eq!(r_out, f.arr::<32>("ephemeral"));
    assert_eq!(r_in, f.arr::<32>("checkin.ephemeral"));
}

fn check_envelope(f: &Fields, cx: &Ctx) {
    let bytes = f.hex("bytes");
    let opened = ReportEnvelope::from_bytes(&bytes)
        .and_then(|e| e.open_and_verify(&cx.keys, &cx.descriptor));
    let crate_result = f.expect(opened);
    let Some(plaintext) = f.opt("plaintext") else {
        // Tampered or truncated: the spec's open fails too.
        let ok = bytes.len() == 690
            && spec::sealed_open(
                cx.capsule_secrets[&bytes[1]],
                b"quet/v2/envelope",
                &bytes[..2],
                &bytes[2..],
            )
            .is_some();
        assert!(!ok);
        return;
    };
    assert_eq!(bytes.len(), 2 + 640 + 48);
    assert_eq!(bytes[0], 2);
    let key_id = bytes[1];
    let plain = spec::sealed_open(
        cx.capsule_secrets[&key_id],
        b"quet/v2/envelope",
        &bytes[..2],
        &bytes[2..],
    )
    .expect("the envelope opens with its key's secret");
    assert_eq!(HEXLOWER.encode(&plain), plaintext);
    // Sealed to the capsule key whose period contains the arrival (or, for
    // padding, the upload time), with the README's draw.
    assert_eq!(cx.desc.capsule_for(f.num("sealed_at")), Some(key_id));
    assert_eq!(
        spec::public(rng_at(f.get("ephemeral_rng"))),
        <[u8; 32]>::try_from(&bytes[2..34]).unwrap()
    );
    if plain[0] == 0 {
        assert!(plain.iter().all(|&b| b == 0));
        assert!(matches!(crate_result, Some(None)));
        return;
    }
    // §11 checks 5–11 on the plaintext.
    let arrival = u64::from_be_bytes(plain[1..9].try_into().unwrap());
    let departure = u64::from_be_bytes(plain[9..17].try_into().unwrap());
    let len = usize::from(u16::from_be_bytes([plain[17], plain[18]]));
    let c = spec::parse_code(&plain[19..19 + len]).expect("the code inside verifies");
    assert!(plain[19 + len..].iter().all(|&b| b == 0));
    let e = c.epoch().unwrap();
    let (lo, hi) = if c.kind == 1 {
        (c.timestamp - 120, c.timestamp + 120)
    } else {
        (e.start(c.offset), e.start(c.offset) + 86_399)
    };
    let arrival_ok = (lo..=hi).contains(&arrival);
    let departure_ok = departure >= arrival && departure <= arrival + u64::from(c.max_stay) * 60;
    let spec_verdict = if arrival_ok && departure_ok {
        Ok(())
    } else {
        Err("InvalidField")
    };
    f.spec_agrees(spec_verdict);
    let Some(Some(visit)) = crate_result else {
        return;
    };
    assert_eq!(visit.arrival.0, arrival);
    assert_eq!(visit.departure.0, departure);
    assert_eq!(u64::from(c.version), f.num("code_version"));
    assert_eq!(e.bytes(), f.arr::<5>("epoch"));
    assert_eq!(arrival.abs_diff(c.timestamp), f.num("arrival_offset_secs"));
    let kinds = if c.version == 1 {
        "1,2".to_owned()
    } else {
        let mut k = Vec::new();
        if c.flags & 2 != 0 {
            k.push("3");
        }
        if c.flags & 1 != 0 {
            k.push("4");
        }
        k.join(",")
    };
    assert_eq!(kinds, f.get("trace_kinds"));
    assert_eq!(
        spec::certificate_verdict(
            &cx.desc,
            &c.venue_key,
            c.category,
            &c.name,
            &c.address,
            c.certificate.as_deref(),
            (arrival / 86_400) as u32
        ),
        f.get("registration")
    );
}

// --- notices, decoys, bulletins ---------------------------------------------------------------

fn check_notice(f: &Fields, all: &BTreeMap<String, Fields>, cx: &Ctx) {
    let bytes = f.hex("bytes");
    let crate_notice = ExposureNotice::from_bytes(&bytes).expect("the crate parses it");
    let mut r = spec::Rd::new(&bytes);
    let n = spec::read_notice(&mut r).expect("spec: the notice parses");
    assert_eq!(r.left(), 0);
    // The nonce and the body key are the README's draws.
    let mut rng = TestRng::new(
        f.get("nonce_rng")
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap(),
    );
    assert_eq!(n.nonce.to_vec(), rng.bytes(16));
    assert_eq!(f.hex("nonce"), n.nonce);
    let body_key = rng.bytes(16);
    assert_eq!(f.hex("body_key"), body_key);
    // The segments are the trace plan of §12.
    let kinds: Vec<u8> = f
        .get("kinds")
        .split(',')
        .map(|k| k.parse().unwrap())
        .collect();
    let offset: i16 = f.get("utc_offset").parse().unwrap();
    let plan = spec::trace_plan(
        f.num("arrival"),
        f.num("departure"),
        f.num("max_stay_secs"),
        f.num("buffer_secs"),
        &kinds,
        offset,
        f.num("now"),
    );
    assert_eq!(n.segments, plan, "{}: segments are the trace plan", f.file);
    assert_eq!(n.segments.len() as u64, f.num("segments"));
    for (i, (first, count)) in n.segments.iter().enumerate() {
        assert_eq!(
            f.get(&format!("segment.{i}")),
            format!("{} {} {count}", first.kind, first.index)
        );
    }
    let w = spec::trace_windows(
        f.num("arrival"),
        f.num("departure"),
        f.num("max_stay_secs"),
        f.num("buffer_secs"),
    );
    assert_eq!(f.get("exact"), format!("{} {}", w[0].0, w[0].1));
    if let Some(s) = f.opt("screen_window") {
        assert_eq!(s, format!("{} {}", w[1].0, w[1].1));
        assert_eq!(f.get("poster_window"), format!("{} {}", w[2].0, w[2].1));
    }
    // The body: its plaintext, and its sealing under the body key.
    let key: [u8; 32] = spec::hkdf(Some(&n.nonce), &body_key, &[b"quet/v2/body"]);
    let plain = spec::aead_open(&key, n.header(), &n.sealed).expect("body key opens the body");
    assert_eq!(plain, f.hex("body"));
    assert_eq!(n.sealed.len(), plain.len() + 16);
    // Every entry publishes the epoch's seed (or v1 secret) and wraps the body key
    // for that epoch's notice secret alone.
    for (i, (e, published, wrap)) in n.entries.iter().enumerate() {
        assert_eq!(*published, spec::published_key(&cx.master, *e), "entry {i}");
        let ns = spec::notice_secret(&cx.master, *e);
        let pad: [u8; 16] = spec::hkdf(Some(&n.nonce), &ns, &[b"quet/v2/wrap", &e.bytes()]);
        let unwrapped: Vec<u8> = wrap.iter().zip(pad).map(|(a, b)| a ^ b).collect();
        assert_eq!(unwrapped, body_key, "entry {i} wraps the body key");
        assert_eq!(
            f.get(&format!("entry.{i}")),
            format!(
                "{} {} {} {}",
                HEXLOWER.encode(&e.bytes()),
                HEXLOWER.encode(published),
                HEXLOWER.encode(wrap),
                HEXLOWER.encode(&ns)
            )
        );
        let (body, _) = spec::open_body(&n, i, &ns).expect("opens");
        assert_eq!(u64::from(body.severity), f.num("severity"));
        assert_eq!(format!("{} {}", body.start, body.end), f.get("exact"));
        assert_eq!(u64::from(body.template), f.num("template"));
        assert_eq!(body.vi, f.get("message_vi"));
        assert_eq!(body.en, f.get("message_en"));
        let crate_body = crate_notice
            .open_body(i, &quet_protocol::venue_keys::NoticeSecret::from_bytes(ns))
            .expect("crate opens");
        assert_eq!(crate_body.window_start.0, body.start);
        // Another epoch's notice secret does not open this entry.
        let other = spec::notice_secret(&cx.master, e.plus(1));
        assert_eq!(
            spec::open_body(&n, i, &other).unwrap_err(),
            "DecryptionFailed"
        );
    }
    // It is published in a bulletin.
    let published = all
        .values()
        .filter(|b| b.opt("object") == Some("bulletin") && b.success())
        .any(|b| {
            spec::parse_bulletin(&b.hex("bytes"), &cx.desc)
                .is_ok_and(|x| x.notices.iter().any(|m| m.bytes == bytes))
        });
    assert!(published, "{} is in a bulletin", f.file);
}

fn check_decoy(f: &Fields, all: &BTreeMap<String, Fields>, cx: &Ctx) {
    let bytes = f.hex("bytes");
    let t = f.num("issued_at");
    let offset: i16 = f.get("utc_offset").parse().unwrap();
    let read_shape = |label: &str| {
        let mut segs = Vec::new();
        let mut i = 0;
        while let Some(s) = f.opt(&format!("{label}.{i}")) {
            let p: Vec<u64> = s.split(' ').map(|x| x.parse().unwrap()).collect();
            segs.push((p[0] as u8, p[1] as u16, p[2]));
            i += 1;
        }
        (segs, f.num(&format!("{label}.sealed_body_len")) as usize)
    };
    let model = read_shape("model");
    let jittered = read_shape("jittered");
    let shape = read_shape("shape");
    // The model is the real notice's shape.
    let real = spec::read_notice(&mut spec::Rd::new(&all["notice.txt"].hex("bytes"))).unwrap();
    assert_eq!(spec::shape(&real, t, offset), model);
    // Redraw it (README: a u64 for the model, two u32s for the jitter, the decoy).
    let mut rng = TestRng::new(vector_gen::SEED_BULLETIN_2);
    let _ = rng.u64();
    let mut peek = TestRng::new(vector_gen::SEED_BULLETIN_2);
    peek.skip(8);
    assert_eq!(f.get("jitter"), format!("{} {}", peek.u32(), peek.u32()));
    assert_eq!(spec::jitter(&mut rng, &model), jittered);
    assert_eq!(spec::decoy(&mut rng, &jittered, t, offset), bytes);
    // It has the jittered kinds, counts and body length, an age within an epoch of
    // the jittered one, and parses like a real notice.
    for (j, o) in jittered.0.iter().zip(&shape.0) {
        assert_eq!((j.0, j.1), (o.0, o.1));
        assert!(
            o.2 <= j.2
                && j.2 - o.2
                    < Ep {
                        kind: j.0,
                        index: 0
                    }
                    .len()
        );
    }
    let mut r = spec::Rd::new(&bytes);
    let n = spec::read_notice(&mut r).expect("parses");
    assert_eq!(spec::shape(&n, t, offset), shape);
    assert_eq!(
        n.segments.iter().map(|s| s.0.kind).collect::<Vec<_>>(),
        vec![3, 4]
    );
    let crate_decoy = ExposureNotice::from_bytes(&bytes).expect("crate parses");
    assert_eq!(crate_decoy.to_bytes().unwrap(), bytes);
    // No visitor of the epochs it covers can open it.
    for (i, (e, _, _)) in n.entries.iter().enumerate() {
        let ns = spec::notice_secret(&cx.master, *e);
        assert_eq!(spec::open_body(&n, i, &ns).unwrap_err(), "DecryptionFailed");
    }
    let b2 = spec::parse_bulletin(&all["bulletin-2.txt"].hex("bytes"), &cx.desc).unwrap();
    assert!(b2.notices.iter().any(|m| m.bytes == bytes));
    assert_eq!(b2.notices.len() as u64, 1 + f.num("decoys_in_bulletin"));
}

/// §14: the decoys of a bulletin, redrawn from its generator seed.
fn redraw_decoys(seed: u8, real: &[spec::Notice], t: u64, min: usize) -> Vec<Vec<u8>> {
    let mut rng = TestRng::new(seed);
    let shapes: Vec<_> = real.iter().map(|n| spec::shape(n, t, 420)).collect();
    let mut have: usize = real.iter().map(|n| n.entries.len()).sum();
    let target = spec::key_bucket(have, min);
    let mut out = Vec::new();
    while have < target {
        let shape = if shapes.is_empty() {
            spec::prior(&mut rng, t, 420)
        } else {
            let i = (rng.u64() % shapes.len() as u64) as usize;
            spec::jitter(&mut rng, &shapes[i])
        };
        let d = spec::decoy(&mut rng, &shape, t, 420);
        have += shape
            .0
            .iter()
            .map(|s| usize::from(s.1.max(1)))
            .sum::<usize>();
        out.push(d);
    }
    out
}

fn check_bulletin(f: &Fields, all: &BTreeMap<String, Fields>, cx: &Ctx) {
    let bytes = f.hex("bytes");
    let now = f.num("now");
    let last = (f.get("last_sequence") != "none")
        .then(|| (f.num("last_sequence"), f.arr::<32>("last_hash")));
    let crate_result = Bulletin::verify_next(
        &bytes,
        &cx.descriptor,
        last.map(|(sequence, hash)| ChainState {
            sequence,
            hash,
            expires_at: UnixTime(0),
        })
        .as_ref(),
        UnixTime(now),
    );
    let b = f.expect(crate_result);
    let x = f.spec_agrees(spec::verify_next(&bytes, &cx.desc, last, now));
    let (Some(b), Some(x)) = (b, x) else {
        return;
    };
    assert_eq!(x.sequence, f.num("sequence"));
    assert_eq!(x.prev, f.arr::<32>("prev_hash"));
    assert_eq!(x.issued, f.num("issued_at"));
    assert_eq!(x.expires, f.num("expires_at"));
    assert_eq!(x.notices.len() as u64, f.num("notices"));
    let keys: usize = x.notices.iter().map(|n| n.entries.len()).sum();
    assert_eq!(keys as u64, f.num("published_keys"));
    assert_eq!(b.key_count(), keys);
    for (i, n) in x.notices.iter().enumerate() {
        assert_eq!(n.nonce, f.arr::<16>(&format!("notice.{i}.nonce")));
    }
    for (i, w) in x.withdrawn.iter().enumerate() {
        assert_eq!(*w, f.arr::<16>(&format!("withdrawn.{i}")));
    }
    for (i, (k, until)) in x.revoked.iter().enumerate() {
        assert_eq!(
            f.get(&format!("revoked.{i}")),
            format!("{} {until}", HEXLOWER.encode(k))
        );
    }
    assert_eq!(x.hash, f.arr::<32>("hash"));
    assert_eq!(b.hash(), x.hash);
    // The bulletin is exactly its real notices and the decoys §14 draws, in the
    // canonical order, padded to the 16-key bucket.
    let real: Vec<spec::Notice> = ["notice.txt", "notice-v1.txt"]
        .iter()
        .filter_map(|file| {
            let nb = all[*file].hex("bytes");
            x.notices.iter().find(|n| n.bytes == nb).cloned()
        })
        .collect();
    let seed = match x.sequence {
        1 => Some(vector_gen::SEED_BULLETIN_1),
        2 => Some(vector_gen::SEED_BULLETIN_2),
        3 => Some(vector_gen::SEED_BULLETIN_3),
        _ => None,
    };
    if let Some(seed) = seed {
        let mut expected: Vec<Vec<u8>> = real.iter().map(|n| n.bytes.clone()).collect();
        expected.extend(redraw_decoys(seed, &real, x.issued, vector_gen::MIN_KEYS));
        expected.sort();
        let have: Vec<Vec<u8>> = x.notices.iter().map(|n| n.bytes.clone()).collect();
        assert_eq!(
            have, expected,
            "{}: real notices and redrawn decoys",
            f.file
        );
        assert!(keys >= spec::key_bucket(keys.min(vector_gen::MIN_KEYS), vector_gen::MIN_KEYS));
        // Nothing covers the future.
        for n in &x.notices {
            for (e, _, _) in &n.entries {
                assert!(
                    e.start(420) <= x.issued,
                    "{}: {e:?} is after the issue time",
                    f.file
                );
            }
        }
    } else {
        assert!(x.notices.is_empty());
    }
}

// --- heads, syncs, checkpoints -----------------------------------------------------------------

fn check_head(f: &Fields, cx: &Ctx) {
    let view = parse_view(f, "view");
    let bytes = f.hex("bytes");
    let now = f.num("now");
    let crate_result =
        f.expect(crate_view(&view).check_head(&bytes, &cx.descriptor, UnixTime(now)));
    let spec_result = f.spec_agrees(spec::check_head(&view, &bytes, &cx.desc, now));
    if let Some((h, plan)) = spec_result {
        let (ch, cplan) = crate_result.expect("both succeed");
        assert_eq!(plan.render(), f.get("plan"));
        assert_eq!(vector_gen::render_plan(&cplan), f.get("plan"));
        assert_eq!(h.latest.0, f.num("latest_sequence"));
        assert_eq!(h.latest.1, f.arr::<32>("latest_hash"));
        assert_eq!(h.oldest.0, f.num("oldest_sequence"));
        assert_eq!(h.oldest.1, f.arr::<32>("oldest_hash"));
        assert_eq!(h.issued, f.num("issued_at"));
        assert_eq!(h.expires, f.num("expires_at"));
        assert_eq!(h.serial, f.num("descriptor_serial"));
        assert_eq!(ch.as_bytes(), bytes);
        assert_eq!(bytes.len(), 174);
        assert_eq!(u64::from(bytes[5]), f.num("key_id"));
    }
    // A head from a newer descriptor is signed with a key of that descriptor: it
    // verifies against descriptor-update.txt's serial 2.
    if f.get("expect") == "DescriptorOutdated" {
        let all = load();
        let serial2 =
            AuthorityDescriptor::decode(&all["descriptor-update.txt"].hex("bytes")).unwrap();
        BulletinHead::decode_and_verify(&bytes, &serial2).expect("verifies under serial 2");
        let d2 = spec::decode_descriptor(&all["descriptor-update.txt"].hex("bytes")).unwrap();
        spec::parse_head(&bytes, &d2).expect("spec: verifies under serial 2");
    }
}

fn check_sync(f: &Fields, all: &BTreeMap<String, Fields>, cx: &Ctx) {
    let view = parse_view(f, "view");
    let head = f.hex("head");
    let now = f.num("now");
    let mut cv = crate_view(&view);
    let (ch, cplan) = cv
        .check_head(&head, &cx.descriptor, UnixTime(now))
        .expect("crate: head");
    let mut sv = view;
    let (sh, splan) = spec::check_head(&sv, &head, &cx.desc, now).expect("spec: head");
    assert_eq!(vector_gen::render_plan(&cplan), f.get("plan"));
    assert_eq!(splan.render(), f.get("plan"));
    let mut failure: Option<(String, &str)> = None;
    let mut i = 0;
    while let Some(file) = f.opt(&format!("bulletin.{i}")) {
        let bytes = all[file].hex("bytes");
        let want = f.get(&format!("result.{i}"));
        let c = cv.accept_bulletin(&bytes, &cx.descriptor, &ch, UnixTime(now));
        let s = spec::accept(&mut sv, &bytes, &cx.desc, &sh, now);
        match (&c, &s) {
            (Ok(_), Ok(())) => assert_eq!(want, "success", "{} bulletin {i}", f.file),
            (Err(e), Err(name)) => {
                assert_eq!(format!("{e:?}"), want, "{} bulletin {i}", f.file);
                assert!(want.starts_with(name), "{}: spec says {name}", f.file);
                failure = Some((format!("{e:?}"), name));
                break;
            }
            _ => panic!(
                "{}: crate {c:?} and spec {s:?} disagree on bulletin {i}",
                f.file
            ),
        }
        assert_eq!(spec_view(&cv), sv, "{}: views after bulletin {i}", f.file);
        i += 1;
    }
    match failure {
        Some((debug, name)) => {
            assert_eq!(f.get("expect"), name);
            assert_eq!(f.get("error"), debug);
        }
        None => {
            assert!(f.success());
            cv.record_head(&ch).expect("crate: record");
            spec::record(&mut sv, &sh).expect("spec: record");
            assert_eq!(spec_view(&cv), sv);
            assert_eq!(parse_view(f, "final"), sv);
            for (k, v) in f.map.iter().filter(|(k, _)| k.starts_with("freshness.")) {
                let t: u64 = k["freshness.".len()..].parse().unwrap();
                assert_eq!(&spec::freshness(&sv, t), v);
                assert_eq!(&vector_gen::render_freshness(&cv.freshness(UnixTime(t))), v);
            }
        }
    }
}

fn check_checkpoint(f: &Fields, all: &BTreeMap<String, Fields>) {
    let view = parse_view(f, "view");
    let cv = crate_view(&view);
    let mut i = 0;
    while let Some(line) = f.opt(&format!("checkpoint.{i}")) {
        let p: Vec<&str> = line.split(' ').collect();
        let seq: u32 = p[0].parse().unwrap();
        let prefix: [u8; 16] = HEXLOWER
            .decode(p[1].as_bytes())
            .unwrap()
            .try_into()
            .unwrap();
        assert_eq!(spec::checkpoint(&view, seq, &prefix), p[2]);
        let verdict = cv.check_checkpoint(&ChainCheckpoint {
            sequence: seq,
            hash_prefix: prefix,
        });
        assert_eq!(format!("{verdict:?}"), p[2]);
        i += 1;
    }
    assert_eq!(i, 4);
    let new_phone = View::default();
    for i in 0..2 {
        let line = f.get(&format!("new_phone.{i}"));
        let p: Vec<&str> = line.split(' ').collect();
        let prefix: [u8; 16] = HEXLOWER
            .decode(p[1].as_bytes())
            .unwrap()
            .try_into()
            .unwrap();
        assert_eq!(
            spec::checkpoint(&new_phone, p[0].parse().unwrap(), &prefix),
            p[2]
        );
    }
    // The screen code's checkpoint, seen by a phone that holds bulletin 1.
    let code = &all["code-screen.txt"];
    let b1 = &all["bulletin-1.txt"];
    let phone = View {
        last: Some((1, b1.arr("hash"), b1.num("expires_at"))),
        head: None,
    };
    let verdict = spec::checkpoint(
        &phone,
        code.num("checkpoint_sequence") as u32,
        &code.arr("checkpoint_hash_prefix"),
    );
    assert_eq!(verdict, f.get("code-screen.checkpoint"));
}

fn check_trace_plan(f: &Fields) {
    let mut i = 0;
    while let Some(line) = f.opt(&format!("case.{i}")) {
        let (inputs, want) = line.split_once(" => ").expect("=>");
        let p: Vec<&str> = inputs.split(' ').collect();
        let n = |j: usize| -> u64 { p[j].parse().unwrap() };
        let kinds: Vec<u8> = p[4].split(',').map(|k| k.parse().unwrap()).collect();
        let offset: i16 = p[5].parse().unwrap();
        let plan = spec::trace_plan(n(0), n(1), n(2), n(3), &kinds, offset, n(6));
        let got = if plan.is_empty() {
            "InvalidWindow".to_owned()
        } else {
            plan.iter()
                .map(|(e, c)| format!("{}:{}+{c}", e.kind, e.index))
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(got, want, "trace-plan case {i}");
        let crate_kinds: Vec<quet_protocol::time::EpochKind> = kinds
            .iter()
            .map(|k| quet_protocol::time::EpochKind::from_byte(*k).unwrap())
            .collect();
        let crate_plan = quet_protocol::notice::TracePlan::new(
            UnixTime(n(0)),
            UnixTime(n(1)),
            n(2),
            n(3),
            &crate_kinds,
            quet_protocol::time::UtcOffset(offset),
            UnixTime(n(6)),
        );
        match crate_plan {
            Ok(p) => assert_eq!(p.segments.len(), plan.len()),
            Err(e) => assert_eq!(format!("{e:?}"), want),
        }
        i += 1;
    }
    assert!(i >= 8);
}

// --- matching ---------------------------------------------------------------------------------

fn check_matching(f: &Fields, all: &BTreeMap<String, Fields>, cx: &Ctx) {
    let labels = ["a", "b", "c", "d"];
    let raw: Vec<Vec<u8>> = labels
        .iter()
        .map(|l| f.hex(&format!("token.{l}")))
        .collect();
    let tokens: Vec<StoredToken> = raw
        .iter()
        .enumerate()
        .map(|(i, b)| StoredToken {
            id: i as u64,
            token: EncounterToken::from_bytes(b).expect("token"),
        })
        .collect();
    let matcher = Matcher::new(tokens.clone());
    for file in ["bulletin-1", "bulletin-2", "bulletin-3", "bulletin-4"] {
        let bytes = all[&format!("{file}.txt")].hex("bytes");
        let b = Bulletin::decode_and_verify_signature(&bytes, &cx.descriptor).expect("bulletin");
        let exposures = matcher.match_notices(&b.notices);
        let ids: Vec<&str> = exposures
            .iter()
            .map(|e| labels[e.token_id as usize])
            .collect();
        assert_eq!(ids.join(","), f.get(&format!("{file}.matches")), "{file}");
        // The spec's trial-opening finds exactly the same.
        let x = spec::parse_bulletin(&bytes, &cx.desc).unwrap();
        let spec_matches = spec::matches(&raw, &x.notices);
        assert_eq!(spec_matches.len(), exposures.len(), "{file}");
        for (e, (t, nonce, ep, severity)) in exposures.iter().zip(&spec_matches) {
            let id = labels[*t];
            assert_eq!(e.token_id as usize, *t);
            let key = |k: &str| format!("{file}.{id}.{k}");
            assert_eq!(e.notice_nonce, f.arr::<16>(&key("notice_nonce")));
            assert_eq!(*nonce, e.notice_nonce);
            assert_eq!(ep.bytes(), f.arr::<5>(&key("epoch")));
            assert_eq!(e.epoch.to_bytes(), ep.bytes());
            assert_eq!(u64::from(*severity), f.num(&key("severity")));
            assert_eq!(e.record.venue.name, f.get(&key("venue")));
        }
    }
}

#[test]
fn every_committed_vector_checks_out() {
    let all = load();
    let cx = context(&all);
    assert_eq!(
        cx.desc_bytes,
        AuthorityDescriptor::decode(&cx.desc_bytes)
            .map(|_| cx.desc_bytes.clone())
            .unwrap()
    );
    let mut checked = 0;
    for f in all.values() {
        match f.get("object") {
            "descriptor" => check_descriptor(f, &cx),
            "descriptor-update" => check_descriptor_update(f),
            "venue-keys" => check_venue_keys(f, &cx),
            "sheet" => check_sheet(f, &cx),
            "daykeys" => check_daykeys(f, &cx),
            "certificate" => check_certificate(f, &cx),
            "code" => check_code(f, &all, &cx),
            "capsule" => check_capsule(f, &cx),
            "token" => check_token(f, &cx),
            "envelope" => check_envelope(f, &cx),
            "notice" => check_notice(f, &all, &cx),
            "decoy" => check_decoy(f, &all, &cx),
            "bulletin" => check_bulletin(f, &all, &cx),
            "head" => check_head(f, &cx),
            "sync" => check_sync(f, &all, &cx),
            "checkpoint" => check_checkpoint(f, &all),
            "matching" => check_matching(f, &all, &cx),
            "trace-plan" => check_trace_plan(f),
            other => panic!("{}: unknown object {other}", f.file),
        }
        checked += 1;
    }
    assert_eq!(checked, all.len());
    assert!(checked >= 60, "only {checked} vectors");
}

#[test]
fn negative_vectors_cover_each_parser() {
    let all = load();
    let mut negatives: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for f in all.values() {
        if !f.success() {
            negatives
                .entry(f.get("object"))
                .or_default()
                .push(f.get("expect"));
        }
    }
    for object in [
        "descriptor",
        "descriptor-update",
        "code",
        "token",
        "envelope",
        "bulletin",
        "head",
        "sync",
        "sheet",
        "daykeys",
        "certificate",
    ] {
        assert!(
            negatives.contains_key(object),
            "no negative {object} vector"
        );
    }
    for expect in [
        "BadSignature",
        "BulletinOutOfOrder",
        "BulletinChainBroken",
        "BulletinExpired",
        "CodeNotFresh",
        "PosterNotToday",
        "UnknownAuthority",
        "DecryptionFailed",
        "DescriptorRollback",
        "HeadExpired",
        "HeadRollback",
        "ChainGap",
        "ForkDetected",
        "DescriptorOutdated",
        "VenueRevoked",
        "BadChecksum",
        "Unregistered(NotValid)",
        "Unregistered(Expired)",
    ] {
        assert!(
            negatives.values().flatten().any(|e| *e == expect),
            "no vector expects {expect}"
        );
    }
}

/// Edge cases the spec states in words: base32 lengths 1, 3 and 6 mod 8 and
/// non-zero trailing bits are not codes; `to_url` strips every trailing slash; a
/// poster's last second is start + 86 399.
#[test]
fn spec_text_edge_cases() {
    let all = load();
    let code = all["code-screen.txt"].hex("bytes");
    // 470 bytes (a multiple of 5) are 752 characters, a multiple of 8.
    let b32 = spec::base32(&code[..470]);
    assert_eq!(b32.len() % 8, 0);
    for cut in 1..8 {
        let text = &b32[..b32.len() - cut];
        let len_mod_8 = text.len() % 8;
        let decodes = CheckInCode::bytes_from_text(text).is_ok();
        assert_eq!(spec::bytes_from_text(text).is_ok(), decodes);
        if [1, 3, 6].contains(&len_mod_8) {
            assert!(!decodes, "a length of {len_mod_8} mod 8 is rejected");
        }
    }
    // Non-zero trailing bits: "AB" decodes one byte only if the last 2 bits are 0.
    assert!(CheckInCode::bytes_from_text("AA").is_ok());
    assert_eq!(CheckInCode::bytes_from_text("AB"), Err(Error::NotAQuetCode));
    assert_eq!(
        CheckInCode::bytes_from_text("AA======"),
        Err(Error::NotAQuetCode)
    );
    // Every trailing slash is stripped.
    let parsed = CheckInCode::parse_signed(&code).unwrap();
    for base in [
        "https://q.example",
        "https://q.example/",
        "https://q.example///",
    ] {
        assert!(parsed.to_url(base).starts_with("HTTPS://Q.EXAMPLE/C#"));
        assert_eq!(spec::to_url(base, &code), parsed.to_url(base));
    }
    // The URL prefix rule.
    for bad in [
        "https://q.example/x#AA",
        "ftp://q.example/c#AA",
        "https://q.example/c #AA",
    ] {
        assert_eq!(
            CheckInCode::bytes_from_text(bad),
            Err(Error::NotAQuetCode),
            "{bad}"
        );
        assert!(spec::bytes_from_text(bad).is_err());
    }
    assert!(CheckInCode::bytes_from_text("  http://LOCALHOST:8/C#aa \n").is_ok());
}
