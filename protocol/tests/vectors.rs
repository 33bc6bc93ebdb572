//! The test vectors in `spec/vectors/`: the generator must reproduce every committed
//! file byte for byte (so spec and code cannot drift), and every committed file must
//! check out on its own: sealed objects are opened with the spec's formulas written
//! here independently of the crate (HKDF labels, sealed box, token key, wraps), and
//! every negative vector must fail with exactly the error it names.

#[path = "vector_gen/mod.rs"]
mod vector_gen;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use data_encoding::HEXLOWER;
use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use hkdf::Hkdf;
use quet_protocol::Error;
use quet_protocol::authority::{AuthorityDescriptor, AuthorityKeys};
use quet_protocol::bulletin::{Bulletin, ChainState};
use quet_protocol::code::CheckInCode;
use quet_protocol::envelope::ReportEnvelope;
use quet_protocol::matching::{Matcher, StoredToken};
use quet_protocol::time::{Epoch, EpochKind, UnixTime};
use quet_protocol::token::EncounterToken;
use quet_protocol::venue_keys::{NoticeSecret, VenueMasterKey, VenueTimeSecret};
use sha2::{Digest, Sha256};
use x25519_dalek::{StaticSecret, X25519_BASEPOINT_BYTES, x25519};

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
    // No stale vector files either.
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
        self.get(k).parse().expect("a number")
    }
    /// Asserts `result` is what the vector expects; returns the value on success.
    fn expect<T>(&self, result: Result<T, Error>) -> Option<T> {
        let expect = self.get("expect");
        match result {
            Ok(v) => {
                assert_eq!(expect, "success", "{}: succeeded", self.file);
                Some(v)
            }
            Err(e) => {
                let debug = format!("{e:?}");
                let variant: String = debug.chars().take_while(|c| c.is_alphanumeric()).collect();
                assert_eq!(variant, expect, "{}: wrong error {debug}", self.file);
                assert_eq!(debug, self.get("error"), "{}: error detail", self.file);
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

// --- The spec's formulas, independent of the crate -------------------------------

fn hkdf<const N: usize>(salt: Option<&[u8]>, ikm: &[u8], info: &[&[u8]]) -> [u8; N] {
    let mut out = [0u8; N];
    Hkdf::<Sha256>::new(salt, ikm)
        .expand_multi_info(info, &mut out)
        .expect("short output");
    out
}

fn aead_open(key: &[u8; 32], aad: &[u8], ct: &[u8]) -> Vec<u8> {
    ChaCha20Poly1305::new(&Key::from(*key))
        .decrypt(&Nonce::default(), Payload { msg: ct, aad })
        .expect("the spec's key opens the ciphertext")
}

/// `open(sk, label, aad, E || ct)`: k = HKDF(salt = E || pk, ikm = X25519(sk, E), label).
fn sealed_box_open(sk: &[u8; 32], label: &[u8], aad: &[u8], sealed: &[u8]) -> Vec<u8> {
    let eph: [u8; 32] = sealed[..32].try_into().expect("32 bytes");
    let pk = x25519(*sk, X25519_BASEPOINT_BYTES);
    let shared = x25519(*sk, eph);
    let mut salt = eph.to_vec();
    salt.extend_from_slice(&pk);
    let key: [u8; 32] = hkdf(Some(&salt), &shared, &[label]);
    aead_open(&key, aad, &sealed[32..])
}

fn day_key(master: &[u8], day: u32) -> [u8; 32] {
    hkdf(None, master, &[b"quet/v1/day", &day.to_be_bytes()])
}

fn epoch_keys(master: &[u8], e: &[u8; 5]) -> ([u8; 32], [u8; 16]) {
    let index = u32::from_be_bytes(e[1..].try_into().expect("4 bytes"));
    let day = if e[0] == 1 { index / 24 } else { index };
    let dk = day_key(master, day);
    (
        hkdf(None, &dk, &[b"quet/v1/epoch", e]),
        hkdf(None, &dk, &[b"quet/v1/notice", e]),
    )
}

fn epoch_from(bytes: &[u8; 5]) -> Epoch {
    Epoch {
        kind: EpochKind::from_byte(bytes[0]).expect("kind"),
        index: u32::from_be_bytes(bytes[1..].try_into().expect("4 bytes")),
    }
}

// --- The checks --------------------------------------------------------------------

struct Ctx {
    keys: AuthorityKeys,
    descriptor: AuthorityDescriptor,
    capsule_secret: [u8; 32],
    master: [u8; 32],
    venue_keys: BTreeMap<String, String>,
}

fn context(all: &BTreeMap<String, Fields>) -> Ctx {
    let a = &all["authority.txt"];
    let descriptor = a
        .expect(AuthorityDescriptor::decode(&a.hex("bytes")))
        .expect("authority vector succeeds");
    let capsule_secret = a.arr::<32>("capsule_secret");
    let keys = AuthorityKeys {
        signing: vec![(1, SigningKey::from_bytes(&a.arr("signing_seed")))],
        capsule: vec![(1, StaticSecret::from(capsule_secret))],
    };
    let v = &all["venue-keys.txt"];
    Ctx {
        keys,
        descriptor,
        capsule_secret,
        master: v.arr("master"),
        venue_keys: v.map.clone(),
    }
}

fn check_descriptor(f: &Fields, cx: &Ctx) {
    let Some(d) = f.expect(AuthorityDescriptor::decode(&f.hex("bytes"))) else {
        return;
    };
    assert_eq!(d.fingerprint(), f.get("fingerprint"));
    assert_eq!(d.name, f.get("name"));
    assert_eq!(d.base_url, f.get("base_url"));
    assert_eq!(d.id.0, f.num("id") as u32);
    let seed = f.arr::<32>("signing_seed");
    assert_eq!(
        SigningKey::from_bytes(&seed).verifying_key().as_bytes(),
        &f.arr::<32>("signing_public")
    );
    assert_eq!(
        x25519(f.arr("capsule_secret"), X25519_BASEPOINT_BYTES),
        f.arr::<32>("capsule_public")
    );
    assert_eq!(
        cx.keys.descriptor(d.id, &d.name, &d.base_url),
        d,
        "the descriptor lists exactly the vector's keys"
    );
}

fn check_venue_keys(f: &Fields) {
    let master = f.arr::<32>("master");
    let m = VenueMasterKey::from_bytes(master);
    assert_eq!(m.to_sheet_text(), f.get("sheet_text"));
    assert_eq!(
        VenueMasterKey::from_sheet_text(f.get("sheet_text")).expect("sheet"),
        m
    );
    let seed: [u8; 32] = hkdf(None, &master, &[b"quet/v1/sign"]);
    assert_eq!(
        SigningKey::from_bytes(&seed).verifying_key().as_bytes(),
        &f.arr::<32>("signing_public")
    );
    let day = f.num("day") as u32;
    let hb: [u8; 16] = hkdf(None, &master, &[b"quet/v1/heartbeat", &day.to_be_bytes()]);
    assert_eq!(hb, f.arr::<16>("heartbeat_pseudonym"));
    for d in [day - 1, day, day + 1] {
        assert_eq!(day_key(&master, d), f.arr::<32>(&format!("day_key.{d}")));
    }
    for label in ["hour", "dayepoch"] {
        let e = f.arr::<5>(&format!("{label}.epoch"));
        let (secret, notice) = epoch_keys(&master, &e);
        assert_eq!(secret, f.arr::<32>(&format!("{label}.venue_time_secret")));
        assert_eq!(notice, f.arr::<16>(&format!("{label}.notice_secret")));
        assert_eq!(
            x25519(secret, X25519_BASEPOINT_BYTES),
            f.arr::<32>(&format!("{label}.venue_time_public"))
        );
    }
}

fn check_sheet(f: &Fields, cx: &Ctx) {
    if let Some(m) = f.expect(VenueMasterKey::from_sheet_text(f.get("text"))) {
        assert_eq!(m.expose(), &f.arr::<32>("master"));
        assert_eq!(m.expose(), &cx.master);
    }
}

fn check_code(f: &Fields, cx: &Ctx) {
    let bytes = f.hex("bytes");
    let now = UnixTime(f.num("now"));
    let Some((code, _)) = f.expect(CheckInCode::parse_and_verify(&bytes, now, &cx.descriptor))
    else {
        return;
    };
    assert_eq!(format!("{:?}", code.kind), f.get("kind"));
    assert_eq!(u64::from(code.authority.0), f.num("authority"));
    assert_eq!(code.timestamp.0, f.num("timestamp"));
    assert_eq!(code.epoch().expect("epoch").to_bytes(), f.arr::<5>("epoch"));
    assert_eq!(code.venue_time_public, f.arr::<32>("venue_time_public"));
    assert_eq!(u64::from(code.venue.category.to_byte()), f.num("category"));
    assert_eq!(
        u64::from(code.venue.max_stay_minutes),
        f.num("max_stay_minutes")
    );
    assert_eq!(code.venue.name, f.get("name"));
    assert_eq!(code.venue.address, f.get("address"));
    assert_eq!(code.notice_secret.expose(), &f.arr::<16>("notice_secret"));
    assert_eq!(u64::from(code.capsule.key_id), f.num("capsule_key_id"));
    assert_eq!(code.venue_key.as_bytes(), &f.arr::<32>("venue_key"));
    assert_eq!(bytes.len() as u64, f.num("length"));
    // P_e and the notice secret derive from the venue's master by the spec's formulas.
    let (secret, notice) = epoch_keys(&cx.master, &f.arr("epoch"));
    assert_eq!(
        x25519(secret, X25519_BASEPOINT_BYTES),
        code.venue_time_public
    );
    assert_eq!(&notice, code.notice_secret.expose());
    // The signature is Ed25519 over the context and everything before it.
    let key = VerifyingKey::from_bytes(&f.arr("venue_key")).expect("key");
    let (signed, sig) = bytes.split_at(bytes.len() - 64);
    let mut msg = b"quet/v1/code-signature".to_vec();
    msg.extend_from_slice(signed);
    key.verify_strict(&msg, &Signature::from_slice(sig).expect("64 bytes"))
        .expect("signature");
    // The URL: upper-case base URL, `/C#`, upper-case unpadded base32 of the bytes.
    let url = f.get("url");
    assert_eq!(
        url,
        format!(
            "HTTPS://QUET.SOYTE.EXAMPLE/C#{}",
            data_encoding::BASE32_NOPAD.encode(&bytes)
        )
    );
    assert_eq!(CheckInCode::bytes_from_text(url).expect("url"), bytes);
}

fn check_capsule(f: &Fields, cx: &Ctx) {
    let sealed = f.hex("sealed");
    let mut aad = f.hex("venue_key");
    aad.extend_from_slice(&(f.num("authority") as u32).to_be_bytes());
    let plain = sealed_box_open(&cx.capsule_secret, b"quet/v1/capsule", &aad, &sealed);
    assert_eq!(plain, f.hex("plaintext"));
    let day = f.num("day") as u32;
    assert_eq!(&plain[..4], &day.to_be_bytes());
    for (i, d) in [day - 1, day, day + 1].into_iter().enumerate() {
        assert_eq!(plain[4 + 32 * i..36 + 32 * i], day_key(&cx.master, d));
    }
    assert_eq!(f.num("key_id"), 1);
}

fn check_token(f: &Fields) {
    let bytes = f.hex("bytes");
    let secret = f.arr::<32>("venue_time_secret");
    let opened = EncounterToken::from_bytes(&bytes)
        .and_then(|t| t.open_with(&VenueTimeSecret::from_bytes(secret)));
    let Some(record) = f.expect(opened) else {
        return;
    };
    assert_eq!(record.arrival.0, f.num("arrival"));
    assert_eq!(record.departure.0, f.num("departure"));
    // token = 1 || e || R || AEAD(HKDF(salt R, X25519(s, R), "quet/v1/token" || e), aad 1 || e).
    assert_eq!(bytes.len(), 1 + 5 + 32 + 192 + 16);
    assert_eq!(bytes[0], 1);
    let e: [u8; 5] = bytes[1..6].try_into().expect("5");
    assert_eq!(e, f.arr::<5>("epoch"));
    let r: [u8; 32] = bytes[6..38].try_into().expect("32");
    assert_eq!(r, f.arr::<32>("ephemeral"));
    let key: [u8; 32] = hkdf(Some(&r), &x25519(secret, r), &[b"quet/v1/token", &e]);
    let mut aad = vec![1u8];
    aad.extend_from_slice(&e);
    assert_eq!(aead_open(&key, &aad, &bytes[38..]), f.hex("record"));
}

fn check_envelope(f: &Fields, cx: &Ctx) {
    let bytes = f.hex("bytes");
    let opened = ReportEnvelope::from_bytes(&bytes)
        .and_then(|e| e.open_and_verify(&cx.keys, &cx.descriptor));
    let Some(visit) = f.expect(opened) else {
        return;
    };
    let plain = sealed_box_open(
        &cx.capsule_secret,
        b"quet/v1/envelope",
        &bytes[..2],
        &bytes[2..],
    );
    assert_eq!(plain, f.hex("plaintext"));
    assert_eq!(bytes.len(), 2 + 480 + 48);
    match visit {
        None => assert_eq!(plain[0], 0, "only padding opens to nothing"),
        Some(v) => {
            assert_eq!(v.arrival.0, f.num("arrival"));
            assert_eq!(v.departure.0, f.num("departure"));
            let len = usize::from(u16::from_be_bytes([plain[17], plain[18]]));
            assert_eq!(v.code.as_bytes(), &plain[19..19 + len]);
        }
    }
}

fn check_notice(f: &Fields, all: &BTreeMap<String, Fields>, cx: &Ctx) {
    let bytes = f.hex("bytes");
    // The notice is published in bulletin 1; find it there by its bytes.
    let b1 = &all["bulletin-1.txt"];
    let b = Bulletin::decode_and_verify_signature(&b1.hex("bytes"), &cx.descriptor)
        .expect("bulletin 1");
    let notice = b
        .notices
        .iter()
        .find(|n| n.to_bytes().expect("encode") == bytes)
        .expect("the notice is in bulletin 1");
    let nonce = f.arr::<16>("nonce");
    let body_key = f.arr::<16>("body_key");
    let count = f.num("entries") as usize;
    // Layout: nonce, epoch, count, count × (secret, wrap), u16 length, sealed body.
    assert_eq!(&bytes[..16], &nonce);
    assert_eq!(bytes[16..21], f.arr::<5>("first_epoch"));
    assert_eq!(
        usize::from(u16::from_be_bytes([bytes[21], bytes[22]])),
        count
    );
    let body_at = 23 + 48 * count;
    let body_len = usize::from(u16::from_be_bytes([bytes[body_at], bytes[body_at + 1]]));
    assert_eq!(bytes.len(), body_at + 2 + body_len);
    let first = epoch_from(&f.arr("first_epoch"));
    let key: [u8; 32] = hkdf(Some(&nonce), &body_key, &[b"quet/v1/body"]);
    let body = aead_open(&key, &bytes[..23], &bytes[body_at + 2..]);
    assert_eq!(body, f.hex("body"));
    for i in 0..count {
        let e = Epoch {
            index: first.index + i as u32,
            ..first
        }
        .to_bytes();
        let (secret, notice_secret) = epoch_keys(&cx.master, &e);
        let entry = &bytes[23 + 48 * i..23 + 48 * (i + 1)];
        assert_eq!(
            &entry[..32],
            &secret,
            "entry {i} publishes venue_time_secret(e)"
        );
        let pad: [u8; 16] = hkdf(Some(&nonce), &notice_secret, &[b"quet/v1/wrap", &e]);
        let unwrapped: Vec<u8> = entry[32..].iter().zip(pad).map(|(a, b)| a ^ b).collect();
        assert_eq!(unwrapped, body_key, "entry {i} wraps the body key");
        let opened = notice
            .open_body(i, &NoticeSecret::from_bytes(notice_secret))
            .expect("body opens with the epoch's notice secret");
        assert_eq!(u64::from(opened.severity.to_byte()), f.num("severity"));
        assert_eq!(opened.window_start.0, f.num("exact_start"));
        assert_eq!(opened.window_end.0, f.num("exact_end"));
        assert_eq!(opened.message_vi, f.get("message_vi"));
        assert_eq!(opened.message_en, f.get("message_en"));
    }
}

fn check_bulletin(f: &Fields, cx: &Ctx) {
    let bytes = f.hex("bytes");
    let last = (f.get("last_sequence") != "none").then(|| ChainState {
        sequence: f.num("last_sequence"),
        hash: f.arr("last_hash"),
    });
    let result = Bulletin::verify_next(
        &bytes,
        &cx.descriptor,
        last.as_ref(),
        UnixTime(f.num("now")),
    );
    let Some(b) = f.expect(result) else {
        return;
    };
    assert_eq!(b.sequence, f.num("sequence"));
    assert_eq!(b.prev_hash, f.arr::<32>("prev_hash"));
    assert_eq!(b.issued_at.0, f.num("issued_at"));
    assert_eq!(b.expires_at.0, f.num("expires_at"));
    assert_eq!(b.notices.len() as u64, f.num("notices"));
    assert_eq!(b.key_count() as u64, f.num("published_keys"));
    for (i, n) in b.withdrawn.iter().enumerate() {
        assert_eq!(n, &f.arr::<16>(&format!("withdrawn.{i}")));
    }
    let hash: [u8; 32] = Sha256::new()
        .chain_update(b"quet/v1/bulletin-hash")
        .chain_update(&bytes)
        .finalize()
        .into();
    assert_eq!(hash, f.arr::<32>("hash"));
    assert_eq!(b.hash(), hash);
}

fn check_matching(f: &Fields, all: &BTreeMap<String, Fields>, cx: &Ctx) {
    let labels = ["a", "b", "c"];
    let tokens: Vec<_> = labels
        .iter()
        .enumerate()
        .map(|(i, l)| StoredToken {
            id: i as u64,
            token: EncounterToken::from_bytes(&f.hex(&format!("token.{l}"))).expect("token"),
        })
        .collect();
    let matcher = Matcher::new(tokens.clone());
    for file in ["bulletin-1", "bulletin-2"] {
        let bytes = all[&format!("{file}.txt")].hex("bytes");
        let b = Bulletin::decode_and_verify_signature(&bytes, &cx.descriptor).expect("bulletin");
        let exposures = matcher.match_notices(&b.notices);
        let ids: Vec<&str> = exposures
            .iter()
            .map(|e| labels[e.token_id as usize])
            .collect();
        assert_eq!(ids.join(","), f.get(&format!("{file}.matches")), "{file}");
        for e in &exposures {
            let id = labels[e.token_id as usize];
            let key = |k: &str| format!("{file}.{id}.{k}");
            assert_eq!(e.notice_nonce, f.arr::<16>(&key("notice_nonce")));
            assert_eq!(e.epoch.to_bytes(), f.arr::<5>(&key("epoch")));
            assert_eq!(
                u64::from(e.body.severity.to_byte()),
                f.num(&key("severity"))
            );
            assert_eq!(e.record.venue.name, f.get(&key("venue")));
            // The reference: constant-time trial-opening with the published key.
            let notice = b
                .notices
                .iter()
                .find(|n| n.nonce == e.notice_nonce)
                .expect("notice");
            let i = (e.epoch.index - notice.first_epoch.index) as usize;
            let secret = VenueTimeSecret::from_bytes(notice.entries[i].venue_time_secret);
            assert_eq!(
                tokens[e.token_id as usize]
                    .token
                    .open_with(&secret)
                    .expect("opens"),
                e.record
            );
        }
    }
}

#[test]
fn every_committed_vector_checks_out() {
    let all = load();
    let cx = context(&all);
    let mut checked = 0;
    for f in all.values() {
        match f.get("object") {
            "descriptor" => check_descriptor(f, &cx),
            "venue-keys" => check_venue_keys(f),
            "sheet" => check_sheet(f, &cx),
            "code" => check_code(f, &cx),
            "capsule" => check_capsule(f, &cx),
            "token" => check_token(f),
            "envelope" => check_envelope(f, &cx),
            "notice" => check_notice(f, &all, &cx),
            "bulletin" => check_bulletin(f, &cx),
            "matching" => check_matching(f, &all, &cx),
            other => panic!("{}: unknown object {other}", f.file),
        }
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} vectors");
    assert!(cx.venue_keys.contains_key("sheet_text"));
}

#[test]
fn negative_vectors_cover_each_parser() {
    let all = load();
    let mut negatives: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for f in all.values() {
        if f.get("expect") != "success" {
            negatives
                .entry(f.get("object"))
                .or_default()
                .push(f.get("expect"));
        }
    }
    for object in [
        "descriptor",
        "code",
        "token",
        "envelope",
        "bulletin",
        "sheet",
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
    ] {
        assert!(
            negatives.values().flatten().any(|e| *e == expect),
            "no vector expects {expect}"
        );
    }
}
