//! Property tests (proptest) of every wire format: encode → decode round trips,
//! "arbitrary bytes → error, never panic" for every parser, and mutations of valid
//! objects (bit flips, truncations, extensions) that must fail rather than yield a
//! different valid object. Case counts are modest so the suite runs in seconds in a
//! debug build; the fuzz targets in `fuzz/` explore the same parsers for longer.

use std::sync::LazyLock;

use ed25519_dalek::SigningKey;
use proptest::collection::vec;
use proptest::prelude::*;
use quet_protocol::authority::{
    AuthorityDescriptor, AuthorityId, AuthorityKeys, CapsuleKeyEntry, SigningKeyEntry,
};
use quet_protocol::bulletin::{Bulletin, BulletinDraft};
use quet_protocol::category::Category;
use quet_protocol::code::{CheckInCode, CodeIssuer, CodeKind, VenueInfo};
use quet_protocol::envelope::{ENVELOPE_LEN, ReportEnvelope};
use quet_protocol::notice::{ExposureNotice, NoticeBody, Severity};
use quet_protocol::testing::{DeterministicRng, test_rng};
use quet_protocol::time::{Day, Epoch, EpochKind, UnixTime};
use quet_protocol::token::{EncounterToken, TOKEN_LEN, TokenRecord};
use quet_protocol::venue_keys::{NoticeSecret, VenueMasterKey, VenueTimeSecret};

/// The QR alphanumeric-mode character set.
const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/// 2026-09-21 00:00 UTC.
const DAY0: u64 = 20_717 * 86_400;

struct Fixture {
    ha: AuthorityKeys,
    descriptor: AuthorityDescriptor,
    master: VenueMasterKey,
    code: CheckInCode,
    token: EncounterToken,
    token_secret: VenueTimeSecret,
    envelope: ReportEnvelope,
    bulletin: Bulletin,
    descriptor_bytes: Vec<u8>,
}

/// One valid object of each kind, built once for the mutation tests.
static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let mut rng = test_rng(77);
    let ha = AuthorityKeys::generate(&mut rng);
    let descriptor = ha.descriptor(AuthorityId(9), "Sở Y tế", "https://quet.example");
    let master = VenueMasterKey::generate(&mut rng);
    let venue = VenueInfo {
        name: "Bún chả Hương Liên".into(),
        address: "24 Lê Văn Hưu, Hà Nội".into(),
        category: Category::Restaurant,
        max_stay_minutes: 120,
    };
    let mut issuer = CodeIssuer::new(master.clone(), venue, &descriptor).unwrap();
    let now = UnixTime(DAY0 + 12 * 3600);
    let code = issuer.screen_code(&mut rng, now).unwrap();
    let (token, _) = EncounterToken::check_in(&mut rng, &code, now).unwrap();
    let epoch = code.epoch().unwrap();
    let token_secret = master
        .day_key(epoch.day())
        .venue_time_secret(epoch)
        .unwrap();
    let envelope =
        ReportEnvelope::seal(&mut rng, &descriptor, &code, now, UnixTime(now.0 + 600)).unwrap();
    let notice = notice_for(
        &master,
        &mut rng,
        now,
        EpochKind::SeededHour,
        3,
        &body("a", "b"),
    );
    let bulletin = BulletinDraft {
        sequence: 1,
        prev_hash: [0; 32],
        issued_at: now,
        expires_at: UnixTime(now.0 + 86_400),
        notices: vec![notice],
        withdrawn: vec![[3; 16]],
    }
    .sign(&ha, &descriptor)
    .unwrap();
    let descriptor_bytes = descriptor.sign(ha.root.as_ref().unwrap(), None).unwrap();
    Fixture {
        ha,
        descriptor,
        master,
        code,
        token,
        token_secret,
        envelope,
        bulletin,
        descriptor_bytes,
    }
});

fn body(vi: &str, en: &str) -> NoticeBody {
    NoticeBody {
        severity: Severity::Isolate,
        window_start: UnixTime(DAY0),
        window_end: UnixTime(DAY0 + 86_400),
        message_vi: vi.into(),
        message_en: en.into(),
    }
}

/// A notice for `hours` epochs of `kind` starting at `start`, from `master`'s keys.
fn notice_for(
    master: &VenueMasterKey,
    rng: &mut DeterministicRng,
    start: UnixTime,
    kind: EpochKind,
    epochs: u64,
    body: &NoticeBody,
) -> ExposureNotice {
    let end = UnixTime(start.0 + epochs * kind.length_secs());
    let first = start.day().unwrap();
    let day_keys: Vec<_> = (first.0.saturating_sub(1)..=end.day().unwrap().0 + 1)
        .map(|d| master.day_key(Day(d)))
        .collect();
    ExposureNotice::build(rng, &day_keys, kind, (start, end), body).unwrap()
}

/// A UTF-8 string of at most `max` bytes (cut at a character boundary).
fn text(max: usize) -> impl Strategy<Value = String> {
    "\\PC{0,80}".prop_map(move |s: String| {
        let mut end = s.len().min(max);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s[..end].to_owned()
    })
}

fn venue_info() -> impl Strategy<Value = VenueInfo> {
    (text(64), text(72), 0..Category::ALL.len(), 1u16..=24 * 60).prop_map(
        |(name, address, c, max_stay_minutes)| VenueInfo {
            name,
            address,
            category: Category::ALL[c],
            max_stay_minutes,
        },
    )
}

fn any_time() -> impl Strategy<Value = UnixTime> {
    // Any time whose neighbouring days exist and whose hour fits the u32 epoch index
    // (year ~490,000: later times are `TimeOutOfRange`).
    (86_400u64..u64::from(u32::MAX) * 3_600 - 86_400).prop_map(UnixTime)
}

/// `cases` cases; failures are reported, not persisted (the suite is deterministic
/// enough to re-run, and integration tests have no `lib.rs` to persist next to).
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// The three mutations of `bytes`: one byte XORed with a non-zero value, a strict
/// prefix, and the bytes with a non-empty tail appended.
fn mutate_check(bytes: &[u8], pos: usize, flip: u8, cut: usize, extra: &[u8]) -> [Vec<u8>; 3] {
    let mut flipped = bytes.to_vec();
    let at = pos % flipped.len();
    flipped[at] ^= flip.max(1);
    let truncated = bytes[..cut % bytes.len()].to_vec();
    let mut extended = bytes.to_vec();
    extended.extend_from_slice(extra);
    [flipped, truncated, extended]
}

proptest! {
    #![proptest_config(config(64))]

    // --- Round trips ------------------------------------------------------------

    #[test]
    fn epochs_round_trip_and_cover_their_time(t in 0u64..u64::from(u32::MAX) * 3_600, day in any::<bool>()) {
        let kind = if day { EpochKind::LocalDay } else { EpochKind::SeededHour };
        let t = UnixTime(t);
        let e = Epoch::containing(kind, t).unwrap();
        prop_assert!(e.start() <= t && t < e.end());
        prop_assert_eq!(e.end().0 - e.start().0, kind.length_secs());
        let b = e.to_bytes();
        prop_assert_eq!(EpochKind::from_byte(b[0]).unwrap(), kind);
        prop_assert_eq!(u32::from_be_bytes([b[1], b[2], b[3], b[4]]), e.index);
        prop_assert!(e.day().start() <= e.start());
        let within = Epoch::overlapping(kind, t, UnixTime(t.0 + 1)).unwrap();
        prop_assert_eq!(within, vec![e]);
    }

    #[test]
    fn descriptor_round_trips(
        id in any::<u32>(),
        name in text(128),
        host in "[a-z0-9.-]{1,60}",
        signing_seeds in vec(any::<[u8; 32]>(), 1..=3),
        capsule_keys in vec(any::<[u8; 32]>(), 1..=3),
        signer in 0usize..3,
    ) {
        let signers: Vec<SigningKey> = signing_seeds.iter().map(SigningKey::from_bytes).collect();
        let d = AuthorityDescriptor {
            id: AuthorityId(id),
            name,
            base_url: format!("https://{host}"),
            signing_keys: signers
                .iter()
                .enumerate()
                .map(|(i, k)| SigningKeyEntry { key_id: i as u8 + 1, key: k.verifying_key() })
                .collect(),
            capsule_keys: capsule_keys
                .iter()
                .enumerate()
                .map(|(i, k)| CapsuleKeyEntry { key_id: i as u8 + 10, key: *k })
                .collect(),
            current_signing_key: signers.len() as u8,
            current_capsule_key: 10,
        };
        let s = signer % signers.len();
        let bytes = d.sign(s as u8 + 1, &signers[s]).unwrap();
        prop_assert_eq!(AuthorityDescriptor::decode(&bytes).unwrap(), d.clone());
        prop_assert_eq!(d.verify_update(&bytes).unwrap(), d);
    }

    #[test]
    fn codes_round_trip_as_bytes_and_url(
        venue in venue_info(),
        seed in any::<u8>(),
        t in any_time(),
        poster in any::<bool>(),
    ) {
        let f = &*FIXTURE;
        let mut rng = test_rng(seed);
        let mut issuer = CodeIssuer::new(VenueMasterKey::generate(&mut rng), venue.clone(), &f.descriptor).unwrap();
        let code = if poster {
            issuer.poster_code(&mut rng, t.day().unwrap()).unwrap()
        } else {
            issuer.screen_code(&mut rng, t).unwrap()
        };
        prop_assert!(code.as_bytes().len() <= 450);
        let parsed = CheckInCode::parse_signed(code.as_bytes()).unwrap();
        prop_assert_eq!(&parsed, &code);
        prop_assert_eq!(&parsed.venue, &venue);
        prop_assert_eq!(parsed.kind, if poster { CodeKind::Poster } else { CodeKind::Screen });
        let url = code.to_url(&f.descriptor.base_url);
        // Everything but the one '#' is in the QR alphanumeric set (0-9 A-Z space
        // $ % * + - . / :); '#' is not, so an encoder spends one short byte-mode
        // segment on it.
        let (before, payload) = url.split_once('#').unwrap();
        prop_assert!(before.bytes().chain(payload.bytes()).all(|b| ALNUM.contains(&b)),
            "URL leaves the QR alphanumeric set: {}", url);
        prop_assert_eq!(CheckInCode::bytes_from_text(&url).unwrap(), code.as_bytes());
        prop_assert_eq!(CheckInCode::bytes_from_text(&url.to_lowercase()).unwrap(), code.as_bytes());
        prop_assert_eq!(CheckInCode::bytes_from_text(&code.to_base32()).unwrap(), code.as_bytes());
        let (verified, _) = CheckInCode::parse_and_verify(code.as_bytes(), code.timestamp, &f.descriptor).unwrap();
        prop_assert_eq!(verified, code);
    }

    #[test]
    fn tokens_round_trip_and_open(
        venue in venue_info(),
        secret in any::<[u8; 32]>(),
        notice in any::<[u8; 16]>(),
        arrival in 0u64..u64::from(u32::MAX) * 3_600,
        stay in 0u64..=86_400,
        poster in any::<bool>(),
        authority in any::<u32>(),
    ) {
        let secret = VenueTimeSecret::from_bytes(secret);
        let kind = if poster { EpochKind::LocalDay } else { EpochKind::SeededHour };
        let epoch = Epoch::containing(kind, UnixTime(arrival)).unwrap();
        let record = TokenRecord {
            arrival: UnixTime(arrival),
            departure: UnixTime(arrival + stay),
            authority: AuthorityId(authority),
            code_kind: if poster { CodeKind::Poster } else { CodeKind::Screen },
            notice_secret: NoticeSecret::from_bytes(notice),
            venue,
        };
        let token = EncounterToken::seal(&mut test_rng(4), &secret.public(), epoch, &record).unwrap();
        let bytes = token.to_bytes();
        prop_assert_eq!(bytes.len(), TOKEN_LEN);
        let parsed = EncounterToken::from_bytes(&bytes).unwrap();
        prop_assert_eq!(&parsed, &token);
        prop_assert_eq!(parsed.open_with(&secret).unwrap(), record);
    }

    #[test]
    fn envelopes_round_trip_through_the_ha(
        venue in venue_info(),
        seed in any::<u8>(),
        minute in 0u64..24 * 60,
        stay in 0u64..=60,
    ) {
        let f = &*FIXTURE;
        let mut rng = test_rng(seed);
        let mut issuer = CodeIssuer::new(VenueMasterKey::generate(&mut rng), venue.clone(), &f.descriptor).unwrap();
        let t = UnixTime(DAY0 + minute * 60);
        let code = issuer.screen_code(&mut rng, t).unwrap();
        let departure = UnixTime(t.0 + stay.min(venue.max_stay_secs() / 60) * 60);
        let env = ReportEnvelope::seal(&mut rng, &f.descriptor, &code, t, departure).unwrap();
        prop_assert_eq!(env.as_bytes().len(), ENVELOPE_LEN);
        let parsed = ReportEnvelope::from_bytes(env.as_bytes()).unwrap();
        prop_assert_eq!(&parsed, &env);
        let visit = parsed.open_and_verify(&f.ha, &f.descriptor).unwrap().unwrap();
        prop_assert_eq!(visit.code, code);
        prop_assert_eq!(visit.arrival, t);
        prop_assert_eq!(visit.departure, departure);
        let pad = ReportEnvelope::padding(&mut rng, &f.descriptor, UnixTime(1_790_000_000)).unwrap();
        prop_assert_eq!(pad.as_bytes().len(), ENVELOPE_LEN);
        prop_assert!(pad.open_and_verify(&f.ha, &f.descriptor).unwrap().is_none());
    }

    #[test]
    fn notices_round_trip_through_a_bulletin(
        vi in text(300),
        en in text(300),
        severity in 1u8..=3,
        hours in 1u64..=30,
        start_hour in 0u64..48,
        poster in any::<bool>(),
        seed in any::<u8>(),
    ) {
        let f = &*FIXTURE;
        let mut rng = test_rng(seed);
        let kind = if poster { EpochKind::LocalDay } else { EpochKind::SeededHour };
        let b = NoticeBody {
            severity: Severity::from_byte(severity).unwrap(),
            window_start: UnixTime(DAY0 + start_hour * 3600),
            window_end: UnixTime(DAY0 + (start_hour + hours) * 3600),
            message_vi: vi,
            message_en: en,
        };
        let count = if poster { 1 } else { hours };
        let notice = notice_for(&f.master, &mut rng, b.window_start, kind, count, &b);
        let bulletin = BulletinDraft {
            sequence: 1,
            prev_hash: [0; 32],
            issued_at: UnixTime(DAY0),
            expires_at: UnixTime(DAY0 + 86_400),
            notices: vec![notice.clone()],
            withdrawn: vec![],
            revoked: vec![],
        }
        .sign(&f.ha, &f.descriptor)
        .unwrap();
        let parsed = Bulletin::decode_and_verify_signature(bulletin.as_bytes(), &f.descriptor).unwrap();
        prop_assert_eq!(&parsed.notices, &vec![notice.clone()]);
        for i in 0..notice.entries.len() {
            let e = notice.epoch_of(i).unwrap();
            let ns = f.master.day_key(e.day()).notice_secret(e).unwrap();
            prop_assert_eq!(parsed.notices[0].open_body(i, &ns).unwrap(), b.clone());
        }
    }

    #[test]
    fn bulletins_round_trip(
        sequence in 1u64..u64::MAX,
        prev_hash in any::<[u8; 32]>(),
        issued in any::<u64>(),
        life in 1u64..=30 * 86_400,
        withdrawn in vec(any::<[u8; 16]>(), 0..8),
        decoys in vec((0u32..1_000_000, 1usize..6, 80usize..300), 0..4),
        seed in any::<u8>(),
    ) {
        let f = &*FIXTURE;
        let mut rng = test_rng(seed);
        let notices = decoys
            .into_iter()
            .map(|(index, n, len)| {
                ExposureNotice::decoy(&mut rng, Epoch { kind: EpochKind::SeededHour, index }, n, len)
            })
            .collect();
        let b = BulletinDraft {
            sequence,
            prev_hash,
            issued_at: UnixTime(issued),
            expires_at: UnixTime(issued.saturating_add(life)),
            notices,
            withdrawn,
        }
        .sign(&f.ha, &f.descriptor)
        .unwrap();
        let parsed = Bulletin::decode_and_verify_signature(b.as_bytes(), &f.descriptor).unwrap();
        prop_assert_eq!(&parsed, &b);
        prop_assert_eq!(parsed.hash(), b.hash());
        // Sorted on the wire, whatever order they were added in.
        prop_assert!(parsed.withdrawn.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn sheet_text_round_trips(master in any::<[u8; 32]>(), lower in any::<bool>(), spaces in any::<bool>()) {
        let m = VenueMasterKey::from_bytes(master);
        let mut text = m.to_sheet_text();
        prop_assert_eq!(text.len(), 56 + 13);
        if lower { text = text.to_lowercase(); }
        if spaces { text = text.replace('-', " "); }
        prop_assert_eq!(VenueMasterKey::from_sheet_text(&text).unwrap(), m);
    }

    #[test]
    fn sheet_text_catches_any_single_substitution(master in any::<[u8; 32]>(), pos in 0usize..56, sym in 0usize..32) {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let m = VenueMasterKey::from_bytes(master);
        let mut chars: Vec<u8> = m.to_sheet_text().replace('-', "").into_bytes();
        let new = ALPHABET[sym];
        prop_assume!(chars[pos] != new);
        chars[pos] = new;
        let typo = String::from_utf8(chars).unwrap();
        prop_assert!(VenueMasterKey::from_sheet_text(&typo).is_err());
    }

    // --- Mutations of valid objects ---------------------------------------------------

    #[test]
    fn mutated_codes_are_rejected(pos in any::<usize>(), flip in any::<u8>(), cut in any::<usize>(), extra in vec(any::<u8>(), 1..8)) {
        let f = &*FIXTURE;
        for m in mutate_check(f.code.as_bytes(), pos, flip, cut, &extra) {
            prop_assert!(CheckInCode::parse_signed(&m).is_err());
        }
    }

    #[test]
    fn mutated_tokens_do_not_open(pos in any::<usize>(), flip in any::<u8>(), cut in any::<usize>(), extra in vec(any::<u8>(), 1..8)) {
        let f = &*FIXTURE;
        for m in mutate_check(&f.token.to_bytes(), pos, flip, cut, &extra) {
            let opened = EncounterToken::from_bytes(&m).and_then(|t| t.open_with(&f.token_secret));
            prop_assert!(opened.is_err());
        }
    }

    #[test]
    fn mutated_envelopes_are_rejected(pos in any::<usize>(), flip in any::<u8>(), cut in any::<usize>(), extra in vec(any::<u8>(), 1..8)) {
        let f = &*FIXTURE;
        for m in mutate_check(f.envelope.as_bytes(), pos, flip, cut, &extra) {
            let opened = ReportEnvelope::from_bytes(&m).and_then(|e| e.open_and_verify(&f.ha, &f.descriptor));
            prop_assert!(opened.is_err());
        }
    }

    #[test]
    fn mutated_bulletins_are_rejected(pos in any::<usize>(), flip in any::<u8>(), cut in any::<usize>(), extra in vec(any::<u8>(), 1..8)) {
        let f = &*FIXTURE;
        for m in mutate_check(f.bulletin.as_bytes(), pos, flip, cut, &extra) {
            prop_assert!(Bulletin::decode_and_verify_signature(&m, &f.descriptor).is_err());
        }
    }

    #[test]
    fn mutated_descriptors_are_rejected(pos in any::<usize>(), flip in any::<u8>(), cut in any::<usize>(), extra in vec(any::<u8>(), 1..8)) {
        let f = &*FIXTURE;
        for m in mutate_check(&f.descriptor_bytes, pos, flip, cut, &extra) {
            prop_assert!(AuthorityDescriptor::decode(&m).is_err());
            prop_assert!(f.descriptor.verify_update(&m).is_err());
        }
    }
}

proptest! {
    #![proptest_config(config(512))]

    // --- Arbitrary input: an error, never a panic ---------------------------------------

    #[test]
    fn arbitrary_bytes_are_not_a_code(bytes in vec(any::<u8>(), 0..600)) {
        prop_assert!(CheckInCode::parse_signed(&bytes).is_err());
        let f = &*FIXTURE;
        prop_assert!(CheckInCode::parse_and_verify(&bytes, UnixTime(DAY0), &f.descriptor).is_err());
    }

    #[test]
    fn arbitrary_text_is_not_a_code(text in "\\PC{0,700}", url in "(?i)https?://[a-z.]{0,20}/c#[A-Z2-7a-z]{0,80}") {
        // Text may decode to bytes (it is only base32), but those bytes are no code.
        for t in [text.as_str(), url.as_str()] {
            if let Ok(bytes) = CheckInCode::bytes_from_text(t) {
                prop_assert!(CheckInCode::parse_signed(&bytes).is_err());
            }
        }
        let f = &*FIXTURE;
        prop_assert!(CheckInCode::parse_text_and_verify(&text, UnixTime(DAY0), &f.descriptor).is_err());
    }

    #[test]
    fn arbitrary_bytes_are_not_a_token(bytes in vec(any::<u8>(), 0..300), body in vec(any::<u8>(), TOKEN_LEN - 6..=TOKEN_LEN - 6), kind in 0u8..4) {
        let f = &*FIXTURE;
        // Random lengths: a parse error. The right length with a valid header parses
        // (a token has no structure to check before the AEAD) but never opens.
        let mut framed = vec![1u8, kind, 0, 0, 1, 0];
        framed.extend_from_slice(&body);
        for b in [&bytes, &framed] {
            match EncounterToken::from_bytes(b) {
                Ok(t) => {
                    prop_assert_eq!(b.len(), TOKEN_LEN);
                    prop_assert_eq!(&t.to_bytes(), b);
                    prop_assert!(t.open_with(&f.token_secret).is_err());
                }
                Err(_) => prop_assert!(b.len() != TOKEN_LEN || b[0] != 1 || !(1..=2).contains(&b[1])),
            }
        }
    }

    #[test]
    fn arbitrary_bytes_are_not_an_envelope(bytes in vec(any::<u8>(), 0..600), sealed in vec(any::<u8>(), ENVELOPE_LEN - 2..=ENVELOPE_LEN - 2), key_id in 0u8..3) {
        let f = &*FIXTURE;
        let mut framed = vec![1u8, key_id];
        framed.extend_from_slice(&sealed);
        for b in [&bytes, &framed] {
            let opened = ReportEnvelope::from_bytes(b).and_then(|e| e.open_and_verify(&f.ha, &f.descriptor));
            prop_assert!(opened.is_err());
        }
    }

    #[test]
    fn arbitrary_bytes_are_not_a_bulletin(bytes in vec(any::<u8>(), 0..600), tail in vec(any::<u8>(), 0..400)) {
        let f = &*FIXTURE;
        // With the right header the parser reaches the signature check.
        let mut framed = vec![1u8, 0, 0, 0, 9, 1];
        framed.extend_from_slice(&tail);
        for b in [&bytes, &framed] {
            prop_assert!(Bulletin::decode_and_verify_signature(b, &f.descriptor).is_err());
            prop_assert!(Bulletin::verify_next(b, &f.descriptor, None, UnixTime(DAY0)).is_err());
        }
    }

    #[test]
    fn a_standalone_notice_parses_only_its_own_encoding(bytes in vec(any::<u8>(), 0..400), count in 1u16..4, body in vec(any::<u8>(), 0..100)) {
        // Notices are not signed on their own (the server stores them between
        // bulletins): any bytes either fail or are exactly a notice's encoding.
        let mut framed = vec![7u8; 16];
        framed.extend_from_slice(&[1, 0, 7, 150, 65]);
        framed.extend_from_slice(&count.to_be_bytes());
        framed.extend(std::iter::repeat_n(9u8, 48 * usize::from(count)));
        framed.extend_from_slice(&(body.len() as u16).to_be_bytes());
        framed.extend_from_slice(&body);
        for b in [&bytes, &framed] {
            if let Ok(n) = ExposureNotice::from_bytes(b) {
                prop_assert_eq!(&n.to_bytes().unwrap(), b);
            }
        }
        prop_assert!(ExposureNotice::from_bytes(&framed).is_ok());
        framed.push(0);
        prop_assert!(ExposureNotice::from_bytes(&framed).is_err());
    }

    #[test]
    fn arbitrary_bytes_are_not_a_descriptor(bytes in vec(any::<u8>(), 0..600)) {
        let f = &*FIXTURE;
        prop_assert!(AuthorityDescriptor::decode(&bytes).is_err());
        prop_assert!(f.descriptor.verify_update(&bytes).is_err());
    }

    #[test]
    fn arbitrary_text_is_not_a_sheet(text in "\\PC{0,100}", b32 in "[A-Z2-7]{56}") {
        prop_assert!(VenueMasterKey::from_sheet_text(&text).is_err());
        // 56 random base32 characters decode to 35 bytes; the 3-byte checksum fails
        // except with probability 2^-24.
        prop_assert!(VenueMasterKey::from_sheet_text(&b32).is_err());
    }
}

#[test]
fn fixture_objects_are_valid() {
    // The mutation tests above are only meaningful if the originals are accepted.
    let f = &*FIXTURE;
    assert!(CheckInCode::parse_signed(f.code.as_bytes()).is_ok());
    assert!(f.token.open_with(&f.token_secret).is_ok());
    assert!(
        f.envelope
            .open_and_verify(&f.ha, &f.descriptor)
            .unwrap()
            .is_some()
    );
    assert!(Bulletin::decode_and_verify_signature(f.bulletin.as_bytes(), &f.descriptor).is_ok());
    assert_eq!(
        AuthorityDescriptor::decode(&f.descriptor_bytes).unwrap(),
        f.descriptor
    );
}

/// Property 2: a bulletin carries nothing that names the venue to someone who never
/// saw its codes in the hours covered: not the name, address, venue key, any `P_e`,
/// notice secret or capsule of any code of that day; and a decoy notice of the same
/// size is byte-for-byte the same shape as the real one.
#[test]
fn bulletin_bytes_carry_no_venue_identifier() {
    let f = &*FIXTURE;
    let n = &f.bulletin.notices[0];
    let bytes = f.bulletin.as_bytes();
    let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    assert!(!contains(f.code.venue.name.as_bytes()));
    assert!(!contains(f.code.venue.address.as_bytes()));
    assert!(!contains(f.code.venue_key.as_bytes()));
    assert!(!contains(&f.code.capsule.sealed[..32]));
    let day = f.code.epoch().unwrap().day();
    let dk = f.master.day_key(day);
    for index in day.0 * 24..(day.0 + 1) * 24 {
        let e = Epoch {
            kind: EpochKind::SeededHour,
            index,
        };
        assert!(!contains(&dk.venue_time_secret(e).unwrap().public()));
        assert!(!contains(dk.notice_secret(e).unwrap().expose()));
    }
    assert!(!contains(dk.key.expose()));
    // A decoy of the same epochs and body size encodes to the same length, with the
    // same clear header layout: an observer cannot tell real from padding.
    let decoy = ExposureNotice::decoy(
        &mut test_rng(1),
        n.first_epoch,
        n.entries.len(),
        n.sealed_body.len(),
    );
    assert_eq!(decoy.to_bytes().unwrap().len(), n.to_bytes().unwrap().len());
    assert_eq!(decoy.first_epoch, n.first_epoch);
}

/// Regression: `ExposureNotice::build` used to enumerate every epoch of the window
/// before checking the 504-epoch limit, so a mistyped window (here all of time)
/// made it try to allocate ~34 GB and abort instead of returning `TooLong`.
#[test]
fn rejects_notice_window_beyond_max_epochs_without_enumerating_it() {
    let f = &*FIXTURE;
    let keys = [f.master.day_key(Day(0))];
    for kind in [EpochKind::SeededHour, EpochKind::LocalDay] {
        let end = UnixTime(u64::from(u32::MAX) * kind.length_secs());
        let built = ExposureNotice::build(
            &mut test_rng(1),
            &keys,
            kind,
            (UnixTime(0), end),
            &body("a", "b"),
        );
        assert!(
            matches!(built, Err(quet_protocol::Error::TooLong { .. })),
            "{built:?}"
        );
    }
    // Exactly 504 aligned hours is still allowed (and needs its 22 days of keys).
    let start = UnixTime(DAY0);
    let end = UnixTime(DAY0 + 504 * 3_600);
    let keys: Vec<_> = (20_717..20_717 + 21)
        .map(|d| f.master.day_key(Day(d)))
        .collect();
    let n = ExposureNotice::build(
        &mut test_rng(1),
        &keys,
        EpochKind::SeededHour,
        (start, end),
        &body("a", "b"),
    )
    .unwrap();
    assert_eq!(n.entries.len(), 504);
    // 505 is not.
    let built = ExposureNotice::build(
        &mut test_rng(1),
        &keys,
        EpochKind::SeededHour,
        (start, UnixTime(end.0 + 1)),
        &body("a", "b"),
    );
    assert!(matches!(built, Err(quet_protocol::Error::TooLong { .. })));
}

proptest! {
    #![proptest_config(config(64))]

    /// Regression: decoys were given a 128-byte sealed body (`pad_with_decoys` asks
    /// for 128), a length no real body can have (real ones are 64·k + 16), so anyone
    /// could count the real notices in a bulletin. Every decoy length must be one a
    /// real notice can have, and every real notice has that form.
    #[test]
    fn decoy_bodies_have_lengths_real_bodies_can_have(requested in 0usize..70_000, vi in text(1000), en in text(1000)) {
        let first = Epoch { kind: EpochKind::SeededHour, index: 497_208 };
        let decoy = ExposureNotice::decoy(&mut test_rng(1), first, 1, requested);
        let len = decoy.sealed_body.len();
        prop_assert_eq!(len % 64, 16, "decoy body length {}", len);
        prop_assert!(len >= 80 && len <= usize::from(u16::MAX));
        // Rounded up to the next real length (up to the largest, 1023 blocks + tag).
        prop_assert!(len >= requested.min(65_488) && len < requested.max(80) + 64);
        let f = &*FIXTURE;
        let real = notice_for(&f.master, &mut test_rng(2), UnixTime(DAY0), EpochKind::SeededHour, 1, &body(&vi, &en));
        prop_assert_eq!(real.sealed_body.len() % 64, 16);
    }
}

#[test]
fn padded_bulletins_decoys_look_like_real_notices() {
    let f = &*FIXTURE;
    let mut draft = BulletinDraft {
        sequence: 1,
        prev_hash: [0; 32],
        issued_at: UnixTime(DAY0),
        expires_at: UnixTime(DAY0 + 86_400),
        notices: f.bulletin.notices.clone(),
        withdrawn: vec![],
        revoked: vec![],
    };
    draft.pad_with_decoys(
        &mut test_rng(3),
        100,
        Epoch::hour_of(UnixTime(DAY0)).unwrap(),
        24,
    );
    assert!(draft.key_count() >= 100);
    for n in &draft.notices {
        assert_eq!(n.sealed_body.len() % 64, 16, "a decoy stands out by length");
    }
}

/// Regression: day-epoch decoys were placed up to 335 *days* back (the 14 × 24
/// look-back was meant for hours), far outside retention, where no real notice can
/// be: every such decoy was recognisable. Decoys of either kind stay within 14 days.
#[test]
fn decoys_start_within_fourteen_days_of_now() {
    for (kind, per_day) in [(EpochKind::SeededHour, 24), (EpochKind::LocalDay, 1)] {
        let around = Epoch::containing(kind, UnixTime(DAY0)).unwrap();
        let mut draft = BulletinDraft::default();
        draft.pad_with_decoys(&mut test_rng(5), 400, around, 3);
        assert!(draft.notices.len() > 100);
        for n in &draft.notices {
            assert_eq!(n.first_epoch.kind, kind);
            assert!(n.first_epoch.index <= around.index);
            assert!(
                around.index - n.first_epoch.index < 14 * per_day,
                "{kind:?} decoy starts {} epochs back",
                around.index - n.first_epoch.index
            );
        }
    }
}
