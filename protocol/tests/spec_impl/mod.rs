//! A second implementation of protocol 1.1, written from `spec/protocol.md` alone,
//! with the raw primitives (HKDF-SHA256, SHA-256, X25519, ChaCha20-Poly1305,
//! Ed25519 strict verification, RFC 4648 base32) and nothing of `quet-protocol`.
//! `tests/vectors.rs` checks every committed vector with it *and* with the crate:
//! where they disagree, the spec text or the crate is wrong.
//!
//! Errors are the spec's error names (`&'static str`, the variant), so the
//! independent verdict can be compared with the vector's `expect:` line.
#![allow(dead_code, clippy::too_many_arguments)]

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use curve25519_dalek::edwards::CompressedEdwardsY;
use ed25519_dalek::{Signature, VerifyingKey};
use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use x25519_dalek::{X25519_BASEPOINT_BYTES, x25519 as raw_x25519};

/// A spec error: the variant's name.
pub type Fail = &'static str;
/// A spec result.
pub type R<T> = Result<T, Fail>;

// --- §1 primitives ----------------------------------------------------------------

/// `HKDF(salt, ikm, info)[N]`.
pub fn hkdf<const N: usize>(salt: Option<&[u8]>, ikm: &[u8], info: &[&[u8]]) -> [u8; N] {
    let mut out = [0u8; N];
    Hkdf::<Sha256>::new(salt, ikm)
        .expand_multi_info(info, &mut out)
        .expect("short output");
    out
}

/// `SHA-256(a ‖ b ‖ …)`.
pub fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// `X25519(k, u)`.
pub fn x25519(k: [u8; 32], u: [u8; 32]) -> [u8; 32] {
    raw_x25519(k, u)
}

/// `X25519(k, 9)`.
pub fn public(k: [u8; 32]) -> [u8; 32] {
    raw_x25519(k, X25519_BASEPOINT_BYTES)
}

/// `AEAD` open with the zero nonce.
pub fn aead_open(key: &[u8; 32], aad: &[u8], ct: &[u8]) -> Option<Vec<u8>> {
    ChaCha20Poly1305::new(&Key::from(*key))
        .decrypt(&Nonce::default(), Payload { msg: ct, aad })
        .ok()
}

/// §1 "valid point".
pub fn valid_point(b: &[u8; 32]) -> bool {
    CompressedEdwardsY(*b).decompress().is_some()
}

/// §1 strict verification of `sig` by `pk` over `context ‖ body`.
pub fn verifies(pk: &[u8; 32], context: &[u8], body: &[u8], sig: &[u8]) -> bool {
    let mut msg = context.to_vec();
    msg.extend_from_slice(body);
    let (Ok(key), Ok(sig)) = (VerifyingKey::from_bytes(pk), Signature::from_slice(sig)) else {
        return false;
    };
    key.verify_strict(&msg, &sig).is_ok()
}

/// RFC 4648 base32, upper case, no padding.
pub fn base32(b: &[u8]) -> String {
    data_encoding::BASE32_NOPAD.encode(b)
}

/// §1 base32 decoding: strict (no padding, lengths 1/3/6 mod 8 and non-zero
/// trailing bits rejected).
pub fn unbase32(s: &str) -> Option<Vec<u8>> {
    data_encoding::BASE32_NOPAD.decode(s.as_bytes()).ok()
}

/// §1 "in groups of four".
pub fn groups4(s: &str) -> String {
    s.as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).expect("ascii"))
        .collect::<Vec<_>>()
        .join("-")
}

/// §5.2 cleaning of typed sheet text.
pub fn clean_sheet(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_uppercase() {
            '0' => 'O',
            '1' => 'I',
            '8' => 'B',
            c => c,
        })
        .collect()
}

/// A front-to-back reader; `None` is "the input ended".
pub struct Rd<'a> {
    /// The input.
    pub b: &'a [u8],
    /// Bytes read.
    pub i: usize,
}

impl<'a> Rd<'a> {
    /// Starts reading.
    pub fn new(b: &'a [u8]) -> Rd<'a> {
        Rd { b, i: 0 }
    }
    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> R<&'a [u8]> {
        let s = self.b.get(self.i..self.i + n).ok_or("Truncated")?;
        self.i += n;
        Ok(s)
    }
    /// The next `N` bytes as an array.
    pub fn arr<const N: usize>(&mut self) -> R<[u8; N]> {
        Ok(self.take(N)?.try_into().expect("N bytes"))
    }
    /// `u8`.
    pub fn u8(&mut self) -> R<u8> {
        Ok(self.take(1)?[0])
    }
    /// `u16`.
    pub fn u16(&mut self) -> R<u16> {
        Ok(u16::from_be_bytes(self.arr()?))
    }
    /// `u32`.
    pub fn u32(&mut self) -> R<u32> {
        Ok(u32::from_be_bytes(self.arr()?))
    }
    /// `u64`.
    pub fn u64(&mut self) -> R<u64> {
        Ok(u64::from_be_bytes(self.arr()?))
    }
    /// `str8`/`str16` with a limit: `TooLong`, `Truncated`, `InvalidUtf8`.
    pub fn text(&mut self, len: usize, max: usize) -> R<String> {
        if len > max {
            return Err("TooLong");
        }
        let b = self.take(len)?;
        String::from_utf8(b.to_vec()).map_err(|_| "InvalidUtf8")
    }
    /// Bytes left.
    pub fn left(&self) -> usize {
        self.b.len() - self.i
    }
}

/// The deterministic test RNG of `spec/vectors/README.md`: block `i` =
/// `HKDF(ikm = [seed; 32], info = "quet/v1/test-rng" ‖ u64 i)[32]`, concatenated.
pub struct TestRng {
    seed: [u8; 32],
    buf: Vec<u8>,
    pos: usize,
}

impl TestRng {
    /// `test_rng(n)`.
    pub fn new(n: u8) -> TestRng {
        TestRng {
            seed: [n; 32],
            buf: Vec::new(),
            pos: 0,
        }
    }
    /// The next `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        while self.buf.len() < self.pos + n {
            let i = (self.buf.len() / 32) as u64;
            let block: [u8; 32] = hkdf(None, &self.seed, &[b"quet/v1/test-rng", &i.to_be_bytes()]);
            self.buf.extend_from_slice(&block);
        }
        let out = self.buf[self.pos..self.pos + n].to_vec();
        self.pos += n;
        out
    }
    /// The next 32 bytes.
    pub fn b32(&mut self) -> [u8; 32] {
        self.bytes(32).try_into().expect("32")
    }
    /// A `u32`: four bytes, little-endian.
    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.bytes(4).try_into().expect("4"))
    }
    /// A `u64`: eight bytes, little-endian.
    pub fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.bytes(8).try_into().expect("8"))
    }
    /// Skips `n` bytes.
    pub fn skip(&mut self, n: usize) {
        let _ = self.bytes(n);
    }
}

// --- §4 time and epochs -------------------------------------------------------------

/// An epoch `(kind, index)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ep {
    /// Kind byte 1–4.
    pub kind: u8,
    /// Index.
    pub index: u32,
}

impl Ep {
    /// The 5 wire bytes.
    pub fn bytes(self) -> [u8; 5] {
        let i = self.index.to_be_bytes();
        [self.kind, i[0], i[1], i[2], i[3]]
    }
    /// From 5 bytes.
    pub fn from(b: &[u8]) -> Ep {
        Ep {
            kind: b[0],
            index: u32::from_be_bytes(b[1..5].try_into().expect("4")),
        }
    }
    /// Length in seconds.
    pub fn len(self) -> u64 {
        if self.kind == 1 || self.kind == 3 {
            3_600
        } else {
            86_400
        }
    }
    /// `day(e)`.
    pub fn day(self) -> u32 {
        if self.kind == 1 || self.kind == 3 {
            self.index / 24
        } else {
            self.index
        }
    }
    /// The epoch of `kind` containing `t` (local days in `offset` minutes).
    pub fn containing(kind: u8, t: u64, offset: i16) -> R<Ep> {
        let shifted = if kind == 4 {
            u64::try_from(i128::from(t) + 60 * i128::from(offset)).map_err(|_| "TimeOutOfRange")?
        } else {
            t
        };
        let len = Ep { kind, index: 0 }.len();
        let index = u32::try_from(shifted / len).map_err(|_| "TimeOutOfRange")?;
        Ok(Ep { kind, index })
    }
    /// First second.
    pub fn start(self, offset: i16) -> u64 {
        let nominal = i128::from(self.index) * i128::from(self.len());
        let shift = if self.kind == 4 {
            60 * i128::from(offset)
        } else {
            0
        };
        u64::try_from((nominal - shift).max(0)).expect("fits")
    }
    /// First second after.
    pub fn end(self, offset: i16) -> u64 {
        self.start(offset) + self.len()
    }
    /// The next epoch.
    pub fn plus(self, n: u32) -> Ep {
        Ep {
            kind: self.kind,
            index: self.index + n,
        }
    }
}

/// Every epoch of `kind` overlapping `[start, end)`.
pub fn overlapping(kind: u8, start: u64, end: u64, offset: i16) -> Vec<Ep> {
    let first = Ep::containing(kind, start, offset).expect("range");
    let last = Ep::containing(kind, end - 1, offset).expect("range");
    (first.index..=last.index)
        .map(|index| Ep { kind, index })
        .collect()
}

// --- §5 key schedule ------------------------------------------------------------------

/// `day_key(d)`.
pub fn day_key(master: &[u8], d: u32) -> [u8; 32] {
    hkdf(None, master, &[b"quet/v1/day", &d.to_be_bytes()])
}

/// `venue_time_seed(e)` from the day key (kinds 3, 4).
pub fn seed_from_day_key(dk: &[u8], e: Ep) -> [u8; 16] {
    hkdf(None, dk, &[b"quet/v2/epoch-seed", &e.bytes()])
}

/// The scalar of a published key of epoch `e`: the 32-byte secret itself (kinds 1,
/// 2) or `HKDF(ikm = seed, info = "quet/v2/epoch-secret" ‖ e)`.
pub fn scalar_of(key: &[u8], e: Ep) -> [u8; 32] {
    if e.kind == 1 || e.kind == 2 {
        key.try_into().expect("32-byte secret")
    } else {
        hkdf(None, key, &[b"quet/v2/epoch-secret", &e.bytes()])
    }
}

/// The published key of `e`: the seed (kinds 3, 4) or the secret (kinds 1, 2).
pub fn published_key(master: &[u8], e: Ep) -> Vec<u8> {
    let dk = day_key(master, e.day());
    if e.kind == 1 || e.kind == 2 {
        hkdf::<32>(None, &dk, &[b"quet/v1/epoch", &e.bytes()]).to_vec()
    } else {
        seed_from_day_key(&dk, e).to_vec()
    }
}

/// `venue_time_secret(e)`.
pub fn venue_time_secret(master: &[u8], e: Ep) -> [u8; 32] {
    scalar_of(&published_key(master, e), e)
}

/// `notice_secret(e)`.
pub fn notice_secret(master: &[u8], e: Ep) -> [u8; 16] {
    hkdf(
        None,
        &day_key(master, e.day()),
        &[b"quet/v1/notice", &e.bytes()],
    )
}

/// §6 sealed-box open.
pub fn sealed_open(sk: [u8; 32], label: &[u8], aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() < 48 {
        return None;
    }
    let eph: [u8; 32] = sealed[..32].try_into().expect("32");
    let shared = x25519(sk, eph);
    if shared == [0; 32] {
        return None;
    }
    let mut salt = eph.to_vec();
    salt.extend_from_slice(&public(sk));
    let key: [u8; 32] = hkdf(Some(&salt), &shared, &[label]);
    aead_open(&key, aad, &sealed[32..])
}

// --- §7 descriptor ------------------------------------------------------------------

/// A parsed descriptor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Desc {
    /// Id.
    pub id: u32,
    /// Serial.
    pub serial: u64,
    /// Name.
    pub name: String,
    /// Base URL.
    pub base_url: String,
    /// Offset (minutes).
    pub offset: i16,
    /// Root key.
    pub root: [u8; 32],
    /// Signing keys.
    pub signing: Vec<(u8, [u8; 32])>,
    /// Current signing key id.
    pub current: u8,
    /// Capsule keys with their periods.
    pub capsule: Vec<(u8, [u8; 32], u64, u64)>,
    /// Flags.
    pub flags: u8,
    /// Bytes covered by the signatures.
    pub signed_len: usize,
    /// Root signature.
    pub root_sig: Vec<u8>,
    /// Cross-signature.
    pub cross_sig: Option<Vec<u8>>,
}

impl Desc {
    /// The signing key with this id.
    pub fn signing_key(&self, id: u8) -> Option<[u8; 32]> {
        self.signing.iter().find(|k| k.0 == id).map(|k| k.1)
    }
    /// §7.1 the capsule key to seal to at `t`.
    pub fn capsule_for(&self, t: u64) -> Option<u8> {
        self.capsule
            .iter()
            .filter(|k| k.2 <= t && t < k.3)
            .max_by_key(|k| (k.2, k.0))
            .map(|k| k.0)
    }
    /// §7.2 fingerprint.
    pub fn fingerprint(&self) -> String {
        let mut m = self.id.to_be_bytes().to_vec();
        m.extend_from_slice(&self.root);
        m.push(self.base_url.len() as u8);
        m.extend_from_slice(self.base_url.as_bytes());
        let d = sha256(&[b"quet/v2/fingerprint", &m]);
        groups4(&base32(&d[..20]))
    }
    /// Every field but the flags and signatures (what "identical content" compares).
    fn same_content(&self, o: &Desc) -> bool {
        self.id == o.id
            && self.serial == o.serial
            && self.name == o.name
            && self.base_url == o.base_url
            && self.offset == o.offset
            && self.root == o.root
            && self.signing == o.signing
            && self.current == o.current
            && self.capsule == o.capsule
    }
}

/// §7.2 base URL rule.
pub fn base_url_allowed(url: &str) -> bool {
    if let Some(rest) = url.strip_prefix("https://") {
        return !rest.is_empty();
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let host_port = rest.split('/').next().unwrap_or("");
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        host_port.split(':').next().unwrap_or("")
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// §7.2 checks 1–7 (no signature).
pub fn parse_descriptor(b: &[u8]) -> R<Desc> {
    if b.len() > 4096 {
        return Err("TooLong");
    }
    let mut r = Rd::new(b);
    if r.u8()? != 2 {
        return Err("UnsupportedVersion");
    }
    let id = r.u32()?;
    let serial = r.u64()?;
    let n = usize::from(r.u8()?);
    let name = r.text(n, 128)?;
    let n = usize::from(r.u8()?);
    let base_url = r.text(n, 200)?;
    let offset = r.u16()? as i16;
    let root: [u8; 32] = r.arr()?;
    if !valid_point(&root) {
        return Err("InvalidField");
    }
    let k = usize::from(r.u8()?);
    if k > 8 {
        return Err("TooLong");
    }
    let mut signing = Vec::new();
    for _ in 0..k {
        let id = r.u8()?;
        let key: [u8; 32] = r.arr()?;
        if !valid_point(&key) {
            return Err("InvalidField");
        }
        signing.push((id, key));
    }
    let current = r.u8()?;
    let c = usize::from(r.u8()?);
    if c > 32 {
        return Err("TooLong");
    }
    let mut capsule = Vec::new();
    for _ in 0..c {
        capsule.push((r.u8()?, r.arr()?, r.u64()?, r.u64()?));
    }
    let flags = r.u8()?;
    if flags & !1 != 0 {
        return Err("InvalidField");
    }
    let signed_len = r.i;
    let root_sig = r.take(64)?.to_vec();
    let cross_sig = if flags & 1 != 0 {
        Some(r.take(64)?.to_vec())
    } else {
        None
    };
    if r.left() != 0 {
        return Err("TrailingBytes");
    }
    let dup = |ids: Vec<u8>| {
        let mut s = ids.clone();
        s.sort_unstable();
        s.dedup();
        s.len() != ids.len()
    };
    if !(-720..=840).contains(&offset)
        || k == 0
        || c == 0
        || dup(signing.iter().map(|k| k.0).collect())
        || dup(capsule.iter().map(|k| k.0).collect())
        || capsule.iter().any(|k| k.2 >= k.3)
    {
        return Err("InvalidField");
    }
    if !signing.iter().any(|k| k.0 == current) {
        return Err("UnknownKeyId");
    }
    if !base_url_allowed(&base_url) {
        return Err("InvalidField");
    }
    Ok(Desc {
        id,
        serial,
        name,
        base_url,
        offset,
        root,
        signing,
        current,
        capsule,
        flags,
        signed_len,
        root_sig,
        cross_sig,
    })
}

/// §7.2 with check 8.
pub fn decode_descriptor(b: &[u8]) -> R<Desc> {
    let d = parse_descriptor(b)?;
    if !verifies(
        &d.root,
        b"quet/v2/descriptor-signature",
        &b[..d.signed_len],
        &d.root_sig,
    ) {
        return Err("BadSignature");
    }
    Ok(d)
}

/// §7.3.
pub fn verify_update(pinned: &Desc, b: &[u8]) -> R<Desc> {
    let d = decode_descriptor(b)?;
    if d.id != pinned.id {
        return Err("UnknownAuthority");
    }
    if d.serial < pinned.serial || (d.serial == pinned.serial && !d.same_content(pinned)) {
        return Err("DescriptorRollback");
    }
    if d.root != pinned.root {
        let Some(cross) = &d.cross_sig else {
            return Err("BadSignature");
        };
        if !verifies(
            &pinned.root,
            b"quet/v2/descriptor-signature",
            &b[..d.signed_len],
            cross,
        ) {
            return Err("BadSignature");
        }
    }
    Ok(d)
}

// --- §8 certificate -------------------------------------------------------------------

/// `details_hash`.
pub fn details_hash(category: u8, name: &str, address: &str) -> [u8; 32] {
    let mut m = vec![category, name.len() as u8];
    m.extend_from_slice(name.as_bytes());
    m.push(address.len() as u8);
    m.extend_from_slice(address.as_bytes());
    sha256(&[b"quet/v1/venue-details", &m])
}

/// §8 verification, rendered as the crate renders a registration.
pub fn certificate_verdict(
    d: &Desc,
    venue_key: &[u8; 32],
    category: u8,
    name: &str,
    address: &str,
    cert: Option<&[u8]>,
    today: u32,
) -> String {
    let Some(cert) = cert else {
        return "Unregistered(NoCertificate)".into();
    };
    assert_eq!(cert.len(), 77);
    let key_id = cert[0];
    let serial = u32::from_be_bytes(cert[1..5].try_into().expect("4"));
    let from = u32::from_be_bytes(cert[5..9].try_into().expect("4"));
    let until = u32::from_be_bytes(cert[9..13].try_into().expect("4"));
    let Some(key) = d.signing_key(key_id) else {
        return "Unregistered(NotValid)".into();
    };
    let mut signed = d.id.to_be_bytes().to_vec();
    signed.extend_from_slice(venue_key);
    signed.extend_from_slice(&details_hash(category, name, address));
    signed.extend_from_slice(&cert[1..13]);
    if !verifies(&key, b"quet/v1/venue-certificate", &signed, &cert[13..]) {
        return "Unregistered(NotValid)".into();
    }
    if today < from || today > until {
        return "Unregistered(Expired)".into();
    }
    format!("Registered {{ serial: {serial}, valid_until: Day({until}) }}")
}

// --- §9 codes -----------------------------------------------------------------------------

/// A parsed code.
#[derive(Clone, Debug)]
pub struct Code {
    /// 1 or 2.
    pub version: u8,
    /// 1 screen, 2 poster.
    pub kind: u8,
    /// Flags (v1: 0x03).
    pub flags: u8,
    /// Authority.
    pub authority: u32,
    /// Timestamp.
    pub timestamp: u64,
    /// Offset (v1: 0).
    pub offset: i16,
    /// `P_e`.
    pub p_e: [u8; 32],
    /// Category.
    pub category: u8,
    /// Max stay (minutes).
    pub max_stay: u16,
    /// Name.
    pub name: String,
    /// Address.
    pub address: String,
    /// Notice secret.
    pub notice_secret: [u8; 16],
    /// Capsule key id.
    pub capsule_id: u8,
    /// Sealed capsule.
    pub capsule: Vec<u8>,
    /// Venue key.
    pub venue_key: [u8; 32],
    /// Checkpoint.
    pub checkpoint: Option<(u32, [u8; 16])>,
    /// Certificate bytes.
    pub certificate: Option<Vec<u8>>,
}

impl Code {
    /// §9.2 / §9.7 the epoch.
    pub fn epoch(&self) -> R<Ep> {
        let kind = match (self.version, self.kind) {
            (1, 1) => 1,
            (1, _) => 2,
            (_, 1) => 3,
            _ => 4,
        };
        Ep::containing(kind, self.timestamp, self.offset)
    }
}

/// §9.4 steps 1–12.
pub fn parse_code(b: &[u8]) -> R<Code> {
    if b.len() > 600 {
        return Err("TooLong");
    }
    let mut r = Rd::new(b);
    let version = r.u8()?;
    if version != 1 && version != 2 {
        return Err("UnsupportedVersion");
    }
    let kind = r.u8()?;
    if kind != 1 && kind != 2 {
        return Err("InvalidField");
    }
    let flags = if version == 2 {
        let f = r.u8()?;
        if f & 0xF0 != 0 || f & (if kind == 1 { 2 } else { 1 }) == 0 {
            return Err("InvalidField");
        }
        f
    } else {
        3
    };
    let authority = r.u32()?;
    let timestamp = r.u64()?;
    let offset = if version == 2 {
        let o = r.u16()? as i16;
        if !(-720..=840).contains(&o) {
            return Err("InvalidField");
        }
        o
    } else {
        0
    };
    let p_e = r.arr()?;
    let category = r.u8()?;
    if !(1..=18).contains(&category) {
        return Err("InvalidField");
    }
    let max_stay = r.u16()?;
    let n = usize::from(r.u8()?);
    let name = r.text(n, 64)?;
    let n = usize::from(r.u8()?);
    let address = r.text(n, 72)?;
    if max_stay == 0 || max_stay > 1440 {
        return Err("InvalidField");
    }
    let notice_secret = r.arr()?;
    let capsule_id = r.u8()?;
    let capsule = r.take(148)?.to_vec();
    let venue_key: [u8; 32] = r.arr()?;
    if !valid_point(&venue_key) {
        return Err("InvalidField");
    }
    let checkpoint = if flags & 4 != 0 && version == 2 {
        Some((r.u32()?, r.arr()?))
    } else {
        None
    };
    let certificate = if flags & 8 != 0 && version == 2 {
        Some(r.take(77)?.to_vec())
    } else {
        None
    };
    let signed_len = r.i;
    let sig = r.take(64)?;
    if r.left() != 0 {
        return Err("TrailingBytes");
    }
    let context: &[u8] = if version == 1 {
        b"quet/v1/code-signature"
    } else {
        b"quet/v2/code-signature"
    };
    if !verifies(&venue_key, context, &b[..signed_len], sig) {
        return Err("BadSignature");
    }
    let code = Code {
        version,
        kind,
        flags,
        authority,
        timestamp,
        offset,
        p_e,
        category,
        max_stay,
        name,
        address,
        notice_secret,
        capsule_id,
        capsule,
        venue_key,
        checkpoint,
        certificate,
    };
    let e = code.epoch()?;
    if version == 2 && kind == 2 && e.start(offset) != timestamp {
        return Err("InvalidField");
    }
    Ok(code)
}

/// §9.4 steps 13–17 (revocation: `revoked` says whether the venue key is listed).
pub fn phone_check(c: &Code, now: u64, d: &Desc, revoked: bool) -> R<()> {
    if c.authority != d.id {
        return Err("UnknownAuthority");
    }
    let Some(entry) = d.capsule.iter().find(|k| k.0 == c.capsule_id) else {
        return Err("UnknownKeyId");
    };
    let e = c.epoch()?;
    let day_start = u64::from(e.day()) * 86_400;
    if c.version == 2 && !(entry.2 <= day_start && day_start < entry.3) {
        return Err("InvalidField");
    }
    if c.kind == 1 {
        if now.abs_diff(c.timestamp) > 120 {
            return Err("CodeNotFresh");
        }
    } else {
        let start = e.start(c.offset);
        if now < start || now > start + 86_399 {
            return Err("PosterNotToday");
        }
    }
    if revoked {
        return Err("VenueRevoked");
    }
    Ok(())
}

/// §9.5 the URL.
pub fn to_url(base: &str, code: &[u8]) -> String {
    format!(
        "{}/C#{}",
        base.trim_end_matches('/').to_ascii_uppercase(),
        base32(code)
    )
}

/// §9.5 parsing.
pub fn bytes_from_text(text: &str) -> R<Vec<u8>> {
    let text = text.trim();
    let payload = match text.rfind('#') {
        Some(i) => {
            let p = text[..i].to_ascii_lowercase();
            if !(p.starts_with("https://") || p.starts_with("http://")) || !p.ends_with("/c") {
                return Err("NotAQuetCode");
            }
            &text[i + 1..]
        }
        None => text,
    };
    if payload.len() > 1200 {
        return Err("NotAQuetCode");
    }
    unbase32(&payload.to_ascii_uppercase()).ok_or("NotAQuetCode")
}

// --- §12 tracing ------------------------------------------------------------------------

/// `(exact, screen, poster)` windows.
pub fn trace_windows(a: u64, d: u64, m: u64, b: u64) -> [(u64, u64); 3] {
    let es = a.saturating_sub(b);
    let ee = d + b + 1;
    let ps = es.saturating_sub(m);
    [(es, ee), (ps.saturating_sub(120), ee + 120), (ps, ee)]
}

/// §12 `TracePlan`: runs `(first epoch, count)` per kind.
pub fn trace_plan(
    a: u64,
    d: u64,
    m: u64,
    b: u64,
    kinds: &[u8],
    offset: i16,
    now: u64,
) -> Vec<(Ep, u16)> {
    let w = trace_windows(a, d, m, b);
    let mut kinds = kinds.to_vec();
    kinds.sort_unstable();
    kinds.dedup();
    let mut out = Vec::new();
    for k in kinds {
        let (s, e) = if k == 1 || k == 3 { w[1] } else { w[2] };
        let eps: Vec<Ep> = overlapping(k, s, e, offset)
            .into_iter()
            .filter(|x| x.start(offset) <= now)
            .collect();
        if let Some(f) = eps.first() {
            out.push((*f, eps.len() as u16));
        }
    }
    out
}

// --- §13 notices --------------------------------------------------------------------------

/// A parsed notice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// Nonce.
    pub nonce: [u8; 16],
    /// Segments `(first, count)`.
    pub segments: Vec<(Ep, u16)>,
    /// Entries `(epoch, key, wrap)` in global order.
    pub entries: Vec<(Ep, Vec<u8>, [u8; 16])>,
    /// Sealed body.
    pub sealed: Vec<u8>,
    /// Its encoding.
    pub bytes: Vec<u8>,
}

impl Notice {
    /// The authenticated header (first `17 + 7·S` bytes).
    pub fn header(&self) -> &[u8] {
        &self.bytes[..17 + 7 * self.segments.len()]
    }
}

/// Whether `n = 32·2^k + 16`.
pub fn sealed_len_ok(n: usize) -> bool {
    n >= 48 && (n - 16).is_power_of_two()
}

/// §13.3 parse checks.
pub fn read_notice(r: &mut Rd<'_>) -> R<Notice> {
    let start = r.i;
    let nonce = r.arr()?;
    let s = usize::from(r.u8()?);
    if s == 0 || s > 2 {
        return Err("InvalidField");
    }
    let mut heads = Vec::new();
    for _ in 0..s {
        let kind = r.u8()?;
        if !(1..=4).contains(&kind) {
            return Err("InvalidField");
        }
        heads.push((
            Ep {
                kind,
                index: r.u32()?,
            },
            r.u16()?,
        ));
    }
    let mut total = 0usize;
    let mut prev = 0u8;
    for (first, count) in &heads {
        if *count == 0 || first.kind <= prev {
            return Err("InvalidField");
        }
        prev = first.kind;
        total += usize::from(*count);
        if u64::from(first.index) + u64::from(*count) > u64::from(u32::MAX) {
            return Err("TimeOutOfRange");
        }
    }
    if total > 504 {
        return Err("InvalidField");
    }
    let mut entries = Vec::new();
    for (first, count) in &heads {
        let klen = if first.kind <= 2 { 32 } else { 16 };
        for i in 0..*count {
            let key = r.take(klen)?.to_vec();
            entries.push((first.plus(u32::from(i)), key, r.arr()?));
        }
    }
    let blen = usize::from(r.u16()?);
    if !sealed_len_ok(blen) {
        return Err("InvalidField");
    }
    let sealed = r.take(blen)?.to_vec();
    Ok(Notice {
        nonce,
        segments: heads,
        entries,
        sealed,
        bytes: r.b[start..r.i].to_vec(),
    })
}

/// A notice body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Body {
    /// Severity.
    pub severity: u8,
    /// Window.
    pub start: u64,
    /// Window end.
    pub end: u64,
    /// Template.
    pub template: u16,
    /// Texts.
    pub vi: String,
    /// Texts.
    pub en: String,
}

/// §13.2 unwrap with `notice_secret` of global entry `i` and open the body.
pub fn open_body(n: &Notice, i: usize, ns: &[u8; 16]) -> R<(Body, Vec<u8>)> {
    let (e, _, wrap) = n.entries.get(i).ok_or("InvalidField")?;
    let pad: [u8; 16] = hkdf(Some(&n.nonce), ns, &[b"quet/v2/wrap", &e.bytes()]);
    let body_key: Vec<u8> = wrap.iter().zip(pad).map(|(a, b)| a ^ b).collect();
    let key: [u8; 32] = hkdf(Some(&n.nonce), &body_key, &[b"quet/v2/body"]);
    let plain = aead_open(&key, n.header(), &n.sealed).ok_or("DecryptionFailed")?;
    let mut r = Rd::new(&plain);
    if r.u8()? != 2 {
        return Err("UnsupportedVersion");
    }
    let severity = r.u8()?;
    if !(1..=3).contains(&severity) {
        return Err("InvalidField");
    }
    let start = r.u64()?;
    let end = r.u64()?;
    let template = r.u16()?;
    let n1 = usize::from(r.u16()?);
    let vi = r.text(n1, 1000)?;
    let n2 = usize::from(r.u16()?);
    let en = r.text(n2, 1000)?;
    let mut padded = 32;
    while padded < r.i {
        padded *= 2;
    }
    if plain.len() != padded || plain[r.i..].iter().any(|&b| b != 0) {
        return Err("InvalidField");
    }
    if end <= start {
        return Err("InvalidWindow");
    }
    Ok((
        Body {
            severity,
            start,
            end,
            template,
            vi,
            en,
        },
        plain,
    ))
}

// --- §14 decoys ----------------------------------------------------------------------------

/// A segment's shape `(kind, count, ends_before)`.
pub type SegShape = (u8, u16, u64);

/// The shape of a notice at issue time `t`.
pub fn shape(n: &Notice, t: u64, offset: i16) -> (Vec<SegShape>, usize) {
    (
        n.segments
            .iter()
            .map(|(f, c)| {
                (
                    f.kind,
                    *c,
                    t.saturating_sub(f.plus(u32::from(*c) - 1).end(offset)),
                )
            })
            .collect(),
        n.sealed.len(),
    )
}

/// §14 prior shape, drawing from `rng`.
pub fn prior(rng: &mut TestRng, t: u64, offset: i16) -> (Vec<SegShape>, usize) {
    const STAYS: [u64; 18] = [
        540, 600, 120, 240, 120, 480, 240, 720, 540, 120, 240, 180, 120, 300, 240, 240, 180, 180,
    ];
    let m = STAYS[(rng.u32() as usize) % 18] * 60;
    let stay = 600 + u64::from(rng.u32()) % (m.saturating_sub(600)).max(1);
    let delay = 86_400 + u64::from(rng.u32()) % (6 * 86_400);
    let departure = t - delay;
    let arrival = departure - stay;
    let w = trace_windows(arrival, departure, m, 1_800);
    let mut kinds = vec![3u8];
    if rng.u32().is_multiple_of(3) {
        kinds.push(4);
    }
    let segs = kinds
        .into_iter()
        .map(|k| {
            let (s, e) = if k == 3 { w[1] } else { w[2] };
            let eps = overlapping(k, s, e, offset);
            let last = *eps.last().expect("non-empty");
            (k, eps.len() as u16, t.saturating_sub(last.end(offset)))
        })
        .collect();
    (segs, 48)
}

/// §14 a model shape jittered, drawing two `u32`s from `rng`: the age moves by
/// `(u32 mod 86401) − 43200` seconds (not below 0), an hour segment's count by
/// `u32 mod 3 − 1` (not below 1).
pub fn jitter(rng: &mut TestRng, shape: &(Vec<SegShape>, usize)) -> (Vec<SegShape>, usize) {
    const SPREAD: u64 = 12 * 3_600;
    let shift = u64::from(rng.u32()) % (2 * SPREAD + 1);
    let step = rng.u32() % 3;
    let segs = shape
        .0
        .iter()
        .map(|(kind, count, ends_before)| {
            let count = if *kind == 1 || *kind == 3 {
                match step {
                    0 => count.saturating_sub(1).max(1),
                    1 => *count,
                    _ => count + 1,
                }
            } else {
                *count
            };
            (*kind, count, (ends_before + shift).saturating_sub(SPREAD))
        })
        .collect();
    (segs, shape.1)
}

/// §14 a decoy of a shape, drawing from `rng`: its encoding.
pub fn decoy(rng: &mut TestRng, shape: &(Vec<SegShape>, usize), t: u64, offset: i16) -> Vec<u8> {
    let nonce = rng.bytes(16);
    let mut heads = Vec::new();
    let mut entries = Vec::new();
    for (kind, count, ends_before) in &shape.0 {
        let count = (*count).max(1);
        let end = t.saturating_sub(*ends_before);
        let last = Ep::containing(*kind, end.saturating_sub(1), offset).expect("range");
        heads.push((*kind, last.index - (u32::from(count) - 1), count));
        let klen = if *kind <= 2 { 32 } else { 16 };
        for _ in 0..count {
            entries.extend(rng.bytes(klen + 16));
        }
    }
    let body = rng.bytes(shape.1);
    let mut o = nonce;
    o.push(heads.len() as u8);
    for (k, f, c) in heads {
        o.push(k);
        o.extend_from_slice(&f.to_be_bytes());
        o.extend_from_slice(&c.to_be_bytes());
    }
    o.extend(entries);
    o.extend_from_slice(&(body.len() as u16).to_be_bytes());
    o.extend(body);
    o
}

/// §14 key bucket.
pub fn key_bucket(n: usize, min: usize) -> usize {
    let mut b = min.max(1);
    while b < n {
        b += b.div_ceil(4);
    }
    b
}

// --- §15 bulletins ---------------------------------------------------------------------

/// A parsed bulletin.
#[derive(Clone, Debug)]
pub struct Bulletin {
    /// Sequence.
    pub sequence: u64,
    /// Previous hash.
    pub prev: [u8; 32],
    /// Issued.
    pub issued: u64,
    /// Expires.
    pub expires: u64,
    /// Notices.
    pub notices: Vec<Notice>,
    /// Withdrawn nonces.
    pub withdrawn: Vec<[u8; 16]>,
    /// Revoked keys and days.
    pub revoked: Vec<([u8; 32], u32)>,
    /// Its hash.
    pub hash: [u8; 32],
}

/// §15.2 checks 1–10.
pub fn parse_bulletin(b: &[u8], d: &Desc) -> R<Bulletin> {
    if b.len() > 32 * 1024 * 1024 {
        return Err("TooLong");
    }
    let mut r = Rd::new(b);
    if r.u8()? != 2 {
        return Err("UnsupportedVersion");
    }
    if r.u32()? != d.id {
        return Err("UnknownAuthority");
    }
    let key = d.signing_key(r.u8()?).ok_or("UnknownKeyId")?;
    if b.len() < 64 {
        return Err("Truncated");
    }
    let (signed, sig) = b.split_at(b.len() - 64);
    if !verifies(&key, b"quet/v2/bulletin-signature", signed, sig) {
        return Err("BadSignature");
    }
    let mut r = Rd { b: signed, i: r.i };
    let sequence = r.u64()?;
    let prev = r.arr()?;
    let issued = r.u64()?;
    let expires = r.u64()?;
    let m = r.u32()?;
    let mut notices: Vec<Notice> = Vec::new();
    for _ in 0..m {
        let n = read_notice(&mut r)?;
        if notices.last().is_some_and(|p| p.bytes >= n.bytes) {
            return Err("InvalidField");
        }
        notices.push(n);
    }
    let w = usize::from(r.u16()?);
    if w > 10_000 {
        return Err("TooLong");
    }
    let mut withdrawn: Vec<[u8; 16]> = Vec::new();
    for _ in 0..w {
        let x = r.arr()?;
        if withdrawn.last().is_some_and(|p| *p >= x) {
            return Err("InvalidField");
        }
        withdrawn.push(x);
    }
    let v = usize::from(r.u16()?);
    if v > 10_000 {
        return Err("TooLong");
    }
    let mut revoked: Vec<([u8; 32], u32)> = Vec::new();
    for _ in 0..v {
        let k: [u8; 32] = r.arr()?;
        let until = r.u32()?;
        if revoked.last().is_some_and(|p| p.0 >= k) {
            return Err("InvalidField");
        }
        revoked.push((k, until));
    }
    if r.left() != 0 {
        return Err("TrailingBytes");
    }
    if sequence == 0 {
        return Err("InvalidField");
    }
    Ok(Bulletin {
        sequence,
        prev,
        issued,
        expires,
        notices,
        withdrawn,
        revoked,
        hash: sha256(&[b"quet/v2/bulletin-hash", b]),
    })
}

/// §15.2 chain extension.
pub fn verify_next(b: &[u8], d: &Desc, last: Option<(u64, [u8; 32])>, now: u64) -> R<Bulletin> {
    let x = parse_bulletin(b, d)?;
    if x.expires <= now {
        return Err("BulletinExpired");
    }
    match last {
        Some((seq, hash)) => {
            if x.sequence != seq + 1 {
                return Err("BulletinOutOfOrder");
            }
            if x.prev != hash {
                return Err("BulletinChainBroken");
            }
        }
        None => {
            if x.sequence == 1 && x.prev != [0; 32] {
                return Err("BulletinChainBroken");
            }
        }
    }
    Ok(x)
}

// --- §16, §17 heads and the chain ------------------------------------------------------------

/// A verified head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    /// Descriptor serial.
    pub serial: u64,
    /// Latest.
    pub latest: (u64, [u8; 32]),
    /// Oldest live.
    pub oldest: (u64, [u8; 32]),
    /// Issued.
    pub issued: u64,
    /// Expires.
    pub expires: u64,
}

impl Head {
    fn live(&self) -> bool {
        self.oldest.0 <= self.latest.0 && self.latest.0 > 0
    }
}

/// §16 checks 1–9.
pub fn parse_head(b: &[u8], d: &Desc) -> R<Head> {
    if b.len() > 174 {
        return Err("TooLong");
    }
    let mut r = Rd::new(b);
    if r.u8()? != 1 {
        return Err("UnsupportedVersion");
    }
    if r.u32()? != d.id {
        return Err("UnknownAuthority");
    }
    let key_id = r.u8()?;
    let serial = r.u64()?;
    let latest = (r.u64()?, r.arr()?);
    let oldest = (r.u64()?, r.arr()?);
    let issued = r.u64()?;
    let expires = r.u64()?;
    let signed = r.i;
    let sig = r.take(64)?;
    let key = match d.signing_key(key_id) {
        Some(k) => k,
        None if serial > d.serial => return Err("DescriptorOutdated"),
        None => return Err("UnknownKeyId"),
    };
    if !verifies(&key, b"quet/v1/head-signature", &b[..signed], sig) {
        return Err("BadSignature");
    }
    if serial > d.serial {
        return Err("DescriptorOutdated");
    }
    if expires <= issued || expires - issued > 86_400 {
        return Err("InvalidField");
    }
    let z = [0u8; 32];
    let consistent = if latest.0 == 0 {
        latest.1 == z && oldest.0 == 1 && oldest.1 == z
    } else if oldest.0 == latest.0 + 1 {
        oldest.1 == z
    } else {
        oldest.0 >= 1 && oldest.0 <= latest.0
    };
    if !consistent {
        return Err("InvalidField");
    }
    Ok(Head {
        serial,
        latest,
        oldest,
        issued,
        expires,
    })
}

/// §17.1 a view.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct View {
    /// `(sequence, hash, expires)`.
    pub last: Option<(u64, [u8; 32], u64)>,
    /// `(latest, hash, issued, expires)`.
    pub head: Option<(u64, [u8; 32], u64, u64)>,
}

/// A plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Nothing to fetch.
    UpToDate,
    /// Fetch `first..=last`.
    Fetch(u64, u64, bool),
}

impl Plan {
    /// As the vectors render it.
    pub fn render(&self) -> String {
        match self {
            Plan::UpToDate => "UpToDate".into(),
            Plan::Fetch(a, b, re) => {
                format!("Fetch {a}..={b}{}", if *re { " reanchor" } else { "" })
            }
        }
    }
}

fn anchor(h: &Head) -> Plan {
    if h.live() {
        Plan::Fetch(h.oldest.0, h.latest.0, true)
    } else {
        Plan::UpToDate
    }
}

/// §17.3.
pub fn check_head(v: &View, b: &[u8], d: &Desc, now: u64) -> R<(Head, Plan)> {
    let h = parse_head(b, d)?;
    if h.expires <= now {
        return Err("HeadExpired");
    }
    if h.issued > now + 300 {
        return Err("InvalidField");
    }
    if let Some((latest, hash, issued, _)) = v.head {
        if h.latest.0 < latest || h.issued < issued {
            return Err("HeadRollback");
        }
        if h.latest.0 == latest && h.latest.1 != hash {
            return Err("ForkDetected");
        }
    }
    let plan = match v.last {
        Some((seq, hash, expires)) => {
            if h.latest.0 < seq {
                return Err("HeadRollback");
            } else if h.latest.0 == seq {
                if h.latest.1 != hash {
                    return Err("ForkDetected");
                }
                Plan::UpToDate
            } else if seq + 1 >= h.oldest.0 {
                Plan::Fetch(seq + 1, h.latest.0, false)
            } else if h.issued < expires {
                return Err("ChainGap");
            } else {
                anchor(&h)
            }
        }
        None => anchor(&h),
    };
    Ok((h, plan))
}

/// §17.4.
pub fn accept(v: &mut View, b: &[u8], d: &Desc, h: &Head, now: u64) -> R<()> {
    let x = parse_bulletin(b, d)?;
    if x.expires <= now {
        return Err("BulletinExpired");
    }
    let reanchor = match v.last {
        None => true,
        Some((seq, _, _)) => seq + 1 < h.oldest.0,
    };
    if reanchor {
        if let Some((_, _, expires)) = v.last
            && h.issued < expires
        {
            return Err("ChainGap");
        }
        if x.sequence != h.oldest.0 {
            return Err("BulletinOutOfOrder");
        }
        if x.hash != h.oldest.1 {
            return Err("ForkDetected");
        }
        if x.sequence == 1 && x.prev != [0; 32] {
            return Err("BulletinChainBroken");
        }
    } else if let Some((seq, hash, _)) = v.last {
        if x.sequence != seq + 1 {
            return Err("BulletinOutOfOrder");
        }
        if x.prev != hash {
            return Err("ForkDetected");
        }
    }
    if x.sequence > h.latest.0 {
        return Err("BulletinOutOfOrder");
    }
    if x.sequence == h.latest.0 && x.hash != h.latest.1 {
        return Err("ForkDetected");
    }
    v.last = Some((x.sequence, x.hash, x.expires));
    Ok(())
}

/// §17.5.
pub fn record(v: &mut View, h: &Head) -> R<()> {
    let have = v.last.map_or(0, |l| l.0);
    if have < h.latest.0 {
        if h.live() {
            return Err("BulletinOutOfOrder");
        }
        v.last = Some((h.latest.0, h.latest.1, h.issued));
    }
    v.head = Some((h.latest.0, h.latest.1, h.issued, h.expires));
    Ok(())
}

/// §17.5 freshness, rendered as the vectors do.
pub fn freshness(v: &View, now: u64) -> String {
    match v.head {
        Some((_, _, _, expires)) if expires > now => format!("Fresh {expires}"),
        Some((_, _, issued, _)) => format!("Stale {issued}"),
        None => "Stale none".into(),
    }
}

/// §17.6 checkpoint verdict.
pub fn checkpoint(v: &View, seq: u32, prefix: &[u8; 16]) -> &'static str {
    let s = u64::from(seq);
    let known = [v.last.map(|l| (l.0, l.1)), v.head.map(|h| (h.0, h.1))];
    for (ks, hash) in known.into_iter().flatten() {
        if ks == s && ks > 0 {
            return if &hash[..16] == prefix {
                "Consistent"
            } else {
                "Conflict"
            };
        }
    }
    let newest = v.last.map_or(0, |l| l.0).max(v.head.map_or(0, |h| h.0));
    if s > newest { "Ahead" } else { "Unknown" }
}

// --- §10, §18 tokens and matching ---------------------------------------------------------

/// A parsed token `(epoch, R, ciphertext)`.
pub fn parse_token(b: &[u8]) -> R<(Ep, [u8; 32], Vec<u8>)> {
    let mut r = Rd::new(b);
    if r.u8()? != 1 {
        return Err("UnsupportedVersion");
    }
    let kind = r.u8()?;
    if !(1..=4).contains(&kind) {
        return Err("InvalidField");
    }
    let e = Ep {
        kind,
        index: r.u32()?,
    };
    let eph = r.arr()?;
    let ct = r.take(208)?.to_vec();
    if r.left() != 0 {
        return Err("TrailingBytes");
    }
    Ok((e, eph, ct))
}

/// §10 open a token with a scalar: the 192-byte record.
pub fn open_token(b: &[u8], scalar: [u8; 32]) -> R<Vec<u8>> {
    let (e, eph, ct) = parse_token(b)?;
    let key: [u8; 32] = hkdf(
        Some(&eph),
        &x25519(scalar, eph),
        &[b"quet/v1/token", &e.bytes()],
    );
    let mut aad = vec![1u8];
    aad.extend_from_slice(&e.bytes());
    aead_open(&key, &aad, &ct).ok_or("DecryptionFailed")
}

/// A record's `(arrival, departure, notice secret)`.
pub fn record_fields(rec: &[u8]) -> (u64, u64, [u8; 16]) {
    (
        u64::from_be_bytes(rec[1..9].try_into().expect("8")),
        u64::from_be_bytes(rec[9..17].try_into().expect("8")),
        rec[22..38].try_into().expect("16"),
    )
}

/// §18 every exposure: `(token index, notice nonce, epoch, severity)`, de-duplicated
/// per (token, notice), ordered by token then nonce.
pub fn matches(tokens: &[Vec<u8>], notices: &[Notice]) -> Vec<(usize, [u8; 16], Ep, u8)> {
    let mut out: Vec<(usize, [u8; 16], Ep, u8)> = Vec::new();
    for n in notices {
        for (i, (e, key, _)) in n.entries.iter().enumerate() {
            for (t, tok) in tokens.iter().enumerate() {
                let Ok((te, _, _)) = parse_token(tok) else {
                    continue;
                };
                if te != *e {
                    continue;
                }
                let Ok(rec) = open_token(tok, scalar_of(key, *e)) else {
                    continue;
                };
                let (a, dep, ns) = record_fields(&rec);
                let Ok((body, _)) = open_body(n, i, &ns) else {
                    continue;
                };
                if a < body.end && dep > body.start {
                    out.push((t, n.nonce, *e, body.severity));
                }
            }
        }
    }
    out.sort_by_key(|x| (x.0, x.1, x.2));
    out.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
    out
}
