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
use quet_protocol::bulletin::{Bulletin, BulletinDraft, Revocation};
use quet_protocol::category::Category;
use quet_protocol::code::{CheckInCode, CodeIssuer, CodeKind, MAX_CODE_LEN, VenueInfo};
use quet_protocol::envelope::{ENVELOPE_LEN, ReportEnvelope};
use quet_protocol::notice::{
    ExposureNotice, NoticeBody, NoticeShape, SegmentShape, Severity, TEMPLATE_NONE, TracePlan,
};
use quet_protocol::testing::{DeterministicRng, test_rng};
use quet_protocol::time::{Day, Epoch, EpochKind, UnixTime, UtcOffset};
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
        UnixTime(now.0 - 3 * 3_600),
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
        revoked: vec![Revocation {
            venue_key: [5; 32],
            until: Day(20_800),
        }],
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
        template: TEMPLATE_NONE,
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
    let first = Epoch::containing_with(kind, start, UtcOffset::VIETNAM).unwrap();
    let segment: Vec<Epoch> = (0..u32::try_from(epochs).unwrap())
        .map(|i| Epoch {
            kind,
            index: first.index + i,
        })
        .collect();
    let day_keys: Vec<_> = segment.iter().map(|e| master.day_key(e.day())).collect();
    ExposureNotice::build(rng, &day_keys, &[segment], body).unwrap()
}

/// A decoy of one segment of `count` epochs of `kind`, whose sealed body is the
/// smallest real length at or above `len`.
fn decoy(
    rng: &mut DeterministicRng,
    kind: EpochKind,
    count: u16,
    len: usize,
    issued_at: UnixTime,
) -> ExposureNotice {
    let shape = NoticeShape {
        segments: vec![SegmentShape {
            kind,
            count,
            ends_before: 3_600,
        }],
        sealed_body_len: quet_protocol::notice::padded_body_len(len) + 16,
    };
    ExposureNotice::decoy_like(rng, &shape, issued_at, UtcOffset::VIETNAM).unwrap()
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
        capsule_keys in vec((any::<[u8; 32]>(), any::<u32>(), 1u32..100_000_000), 1..=12),
        root_seed in any::<[u8; 32]>(),
        serial in any::<u64>(),
        offset in -720i16..=840,
    ) {
        let signers: Vec<SigningKey> = signing_seeds.iter().map(SigningKey::from_bytes).collect();
        let root = SigningKey::from_bytes(&root_seed);
        let d = AuthorityDescriptor {
            id: AuthorityId(id),
            serial,
            name,
            base_url: format!("https://{host}"),
            utc_offset: UtcOffset(offset),
            root_key: root.verifying_key(),
            signing_keys: signers
                .iter()
                .enumerate()
                .map(|(i, k)| SigningKeyEntry { key_id: i as u8 + 1, key: k.verifying_key() })
                .collect(),
            current_signing_key: signers.len() as u8,
            capsule_keys: capsule_keys
                .iter()
                .enumerate()
                .map(|(i, (k, start, len))| CapsuleKeyEntry {
                    key_id: i as u8 + 10,
                    key: *k,
                    not_before: UnixTime(u64::from(*start)),
                    not_after: UnixTime(u64::from(*start) + u64::from(*len)),
                })
                .collect(),
        };
        let bytes = d.sign(&root, None).unwrap();
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
            issuer.poster_code(&mut rng, issuer.local_day(t).unwrap()).unwrap()
        } else {
            issuer.screen_code(&mut rng, t).unwrap()
        };
        prop_assert!(code.as_bytes().len() <= MAX_CODE_LEN);
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
            template: u16::from(severity),
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
        for (i, e, _) in notice.keys() {
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
        revoked in vec((any::<[u8; 32]>(), any::<u32>()), 0..5),
        decoys in vec((1u16..6, 0usize..300, any::<bool>()), 0..4),
        seed in any::<u8>(),
    ) {
        let f = &*FIXTURE;
        let mut rng = test_rng(seed);
        let issued = issued.max(30 * 86_400) % (u64::from(u32::MAX) * 3_600);
        let notices = decoys
            .into_iter()
            .map(|(n, len, day)| {
                let kind = if day { EpochKind::LocalDay } else { EpochKind::SeededHour };
                decoy(&mut rng, kind, n, len, UnixTime(issued))
            })
            .collect();
        let b = BulletinDraft {
            sequence,
            prev_hash,
            issued_at: UnixTime(issued),
            expires_at: UnixTime(issued.saturating_add(life)),
            notices,
            withdrawn,
            revoked: revoked
                .into_iter()
                .map(|(venue_key, until)| Revocation { venue_key, until: Day(until) })
                .collect(),
        }
        .sign(&f.ha, &f.descriptor)
        .unwrap();
        let parsed = Bulletin::decode_and_verify_signature(b.as_bytes(), &f.descriptor).unwrap();
        prop_assert_eq!(&parsed, &b);
        prop_assert_eq!(parsed.hash(), b.hash());
        // Sorted on the wire, whatever order they were added in, each once.
        prop_assert!(parsed.withdrawn.windows(2).all(|w| w[0] < w[1]));
        prop_assert!(parsed.revoked.windows(2).all(|w| w[0].venue_key < w[1].venue_key));
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
                Err(_) => prop_assert!(b.len() != TOKEN_LEN || b[0] != 1 || !(1..=4).contains(&b[1])),
            }
        }
    }

    #[test]
    fn arbitrary_bytes_are_not_an_envelope(bytes in vec(any::<u8>(), 0..600), sealed in vec(any::<u8>(), ENVELOPE_LEN - 2..=ENVELOPE_LEN - 2), key_id in 0u8..3) {
        let f = &*FIXTURE;
        let mut framed = vec![2u8, key_id];
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
        let mut framed = vec![2u8, 0, 0, 0, 9, 1];
        framed.extend_from_slice(&tail);
        for b in [&bytes, &framed] {
            prop_assert!(Bulletin::decode_and_verify_signature(b, &f.descriptor).is_err());
            prop_assert!(Bulletin::verify_next(b, &f.descriptor, None, UnixTime(DAY0)).is_err());
        }
    }

    #[test]
    fn a_standalone_notice_parses_only_its_own_encoding(bytes in vec(any::<u8>(), 0..400), count in 1u16..4, block in 0u32..4, seeded in any::<bool>()) {
        // Notices are not signed on their own (the server stores them between
        // bulletins): any bytes either fail or are exactly a notice's encoding.
        let mut framed = vec![7u8; 16];
        let (kind, entry) = if seeded { (3u8, 32) } else { (1u8, 48) };
        framed.extend_from_slice(&[1, kind, 0, 7, 150, 65]);
        framed.extend_from_slice(&count.to_be_bytes());
        framed.extend(std::iter::repeat_n(9u8, entry * usize::from(count)));
        let body_len = (32usize << block) + 16;
        framed.extend_from_slice(&(body_len as u16).to_be_bytes());
        framed.extend(std::iter::repeat_n(5u8, body_len));
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
    // A decoy in the shape of the real notice encodes to the same length, with the
    // same clear header: an observer cannot tell real from padding.
    let issued = f.bulletin.issued_at;
    let shape = n.shape(issued, UtcOffset::VIETNAM);
    let decoy =
        ExposureNotice::decoy_like(&mut test_rng(1), &shape, issued, UtcOffset::VIETNAM).unwrap();
    assert_eq!(decoy.to_bytes().unwrap().len(), n.to_bytes().unwrap().len());
    assert_eq!(decoy.segments[0].first, n.segments[0].first);
    assert_eq!(decoy.shape(issued, UtcOffset::VIETNAM), shape);
}

/// Regression: building a notice used to enumerate every epoch of the window
/// before checking the 504-epoch limit, so a mistyped window (here all of time)
/// made it try to allocate ~34 GB and abort instead of returning `TooLong`.
#[test]
fn rejects_notice_window_beyond_max_epochs_without_enumerating_it() {
    let f = &*FIXTURE;
    for kind in [EpochKind::SeededHour, EpochKind::LocalDay] {
        let end = UnixTime(u64::from(u32::MAX) * kind.length_secs());
        let plan = TracePlan::new(UnixTime(0), end, 0, 0, &[kind], UtcOffset::UTC, end);
        assert!(
            matches!(plan, Err(quet_protocol::Error::TooLong { .. })),
            "{plan:?}"
        );
    }
    // Exactly 504 aligned hours is still allowed (and needs its 21 days of keys).
    let segment: Vec<Epoch> = (0..504)
        .map(|i| Epoch {
            kind: EpochKind::SeededHour,
            index: 20_717 * 24 + i,
        })
        .collect();
    let keys: Vec<_> = (20_717..20_717 + 21)
        .map(|d| f.master.day_key(Day(d)))
        .collect();
    let n = ExposureNotice::build(
        &mut test_rng(1),
        &keys,
        std::slice::from_ref(&segment),
        &body("a", "b"),
    )
    .unwrap();
    assert_eq!(n.key_count(), 504);
    // 505 is not (over both segments together, too).
    let mut longer = segment.clone();
    longer.push(Epoch {
        kind: EpochKind::SeededHour,
        index: 20_717 * 24 + 504,
    });
    let keys22: Vec<_> = (20_717..20_717 + 22)
        .map(|d| f.master.day_key(Day(d)))
        .collect();
    assert!(ExposureNotice::build(&mut test_rng(1), &keys22, &[longer], &body("a", "b")).is_err());
    let days = vec![Epoch {
        kind: EpochKind::LocalDay,
        index: 20_717,
    }];
    assert!(
        ExposureNotice::build(&mut test_rng(1), &keys22, &[segment, days], &body("a", "b"))
            .is_err()
    );
}

proptest! {
    #![proptest_config(config(64))]

    /// Every sealed body, real or decoy, has a length of the form `32 · 2^k + 16`;
    /// a decoy asked for any other length is refused, so no decoy can stand out by
    /// its length (the 1.0 decoys had a fixed 144-byte body).
    #[test]
    fn bodies_real_and_decoy_have_only_bucket_lengths(vi in text(1000), en in text(1000), asked in 0usize..70_000) {
        let f = &*FIXTURE;
        let real = notice_for(&f.master, &mut test_rng(2), UnixTime(DAY0), EpochKind::SeededHour, 1, &body(&vi, &en));
        prop_assert!(quet_protocol::notice::is_sealed_body_len(real.sealed_body.len()));
        let shape = NoticeShape {
            segments: vec![SegmentShape { kind: EpochKind::SeededHour, count: 1, ends_before: 0 }],
            sealed_body_len: asked,
        };
        let d = ExposureNotice::decoy_like(&mut test_rng(1), &shape, UnixTime(DAY0), UtcOffset::VIETNAM);
        prop_assert_eq!(d.is_ok(), quet_protocol::notice::is_sealed_body_len(asked) && asked <= usize::from(u16::MAX));
    }

    /// No decoy ever covers an epoch after the bulletin's issue time (a real trace
    /// cannot), whatever the shape it copies.
    #[test]
    fn decoys_never_reach_the_future(count in 1u16..200, ends_before in 0u64..20 * 86_400, day in any::<bool>(), t in 40u64 * 86_400..u64::from(u32::MAX)) {
        let kind = if day { EpochKind::LocalDay } else { EpochKind::SeededHour };
        let shape = NoticeShape {
            segments: vec![SegmentShape { kind, count, ends_before }],
            sealed_body_len: 48,
        };
        let issued = UnixTime(t);
        let d = ExposureNotice::decoy_like(&mut test_rng(3), &shape, issued, UtcOffset::VIETNAM).unwrap();
        let last = d.segments[0].last();
        prop_assert!(last.start_with(UtcOffset::VIETNAM) < issued);
        prop_assert_eq!(d.shape(issued, UtcOffset::VIETNAM).segments[0].count, count);
    }
}

#[test]
fn padding_reaches_a_key_bucket_with_decoys_in_real_shapes() {
    let f = &*FIXTURE;
    let issued = f.bulletin.issued_at;
    let shapes: Vec<NoticeShape> = f
        .bulletin
        .notices
        .iter()
        .map(|n| n.shape(issued, UtcOffset::VIETNAM))
        .collect();
    let mut draft = BulletinDraft {
        sequence: 1,
        prev_hash: [0; 32],
        issued_at: issued,
        expires_at: UnixTime(issued.0 + 86_400),
        notices: f.bulletin.notices.clone(),
        withdrawn: vec![],
        revoked: vec![],
    };
    let added = draft
        .pad_with_decoys(&mut test_rng(3), 100, &shapes, UtcOffset::VIETNAM)
        .unwrap();
    assert!(added > 0);
    assert!(draft.key_count() >= quet_protocol::bulletin::key_bucket(3, 100));
    // Every decoy is a real shape within the jitter: same kinds and body length,
    // hour count within one, age within 12 hours.
    for n in &draft.notices {
        let got = n.shape(issued, UtcOffset::VIETNAM);
        assert!(
            shapes.iter().any(|s| {
                s.sealed_body_len == got.sealed_body_len
                    && s.segments.len() == got.segments.len()
                    && s.segments.iter().zip(&got.segments).all(|(a, b)| {
                        a.kind == b.kind
                            && a.count.abs_diff(b.count) <= 1
                            && a.ends_before.abs_diff(b.ends_before) <= 12 * 3_600 + 3_600
                    })
            }),
            "{got:?}"
        );
    }
    // Without any real shape to copy, the prior is used: still never the future.
    let mut empty = BulletinDraft {
        issued_at: issued,
        ..BulletinDraft::default()
    };
    empty
        .pad_with_decoys(&mut test_rng(4), 256, &[], UtcOffset::VIETNAM)
        .unwrap();
    assert!(empty.key_count() >= 256);
    for n in &empty.notices {
        for seg in &n.segments {
            assert!(seg.last().start_with(UtcOffset::VIETNAM) < issued);
        }
    }
}
