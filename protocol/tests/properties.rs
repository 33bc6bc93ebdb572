//! The design's security properties, shown directly (DESIGN.md properties 2, 3, 5, 6),
//! plus the check-in → report → notice → match flow.

mod common;

use common::{World, at};
use quet_protocol::Error;
use quet_protocol::bulletin::Bulletin;
use quet_protocol::category::Category;
use quet_protocol::code::CheckInCode;
use quet_protocol::envelope::ReportEnvelope;
use quet_protocol::matching::{Matcher, StoredToken};
use quet_protocol::time::{EpochKind, UnixTime};
use quet_protocol::token::EncounterToken;

#[test]
fn full_flow_case_report_to_notification() {
    let mut w = World::new();
    let mut cafe = w.venue("Cà phê Giảng", Category::Restaurant);
    let now = at(9, 10);
    let code = cafe.screen_code(&mut w.rng, now).unwrap();
    let url = code.to_url(&w.descriptor.base_url);
    let (scanned, _) = CheckInCode::parse_text_and_verify(&url, at(9, 11), &w.descriptor).unwrap();

    // The case and a visitor check in; the case reports.
    let (_case_token, _) = EncounterToken::check_in(&mut w.rng, &scanned, at(9, 11)).unwrap();
    let envelope =
        ReportEnvelope::seal(&mut w.rng, &w.descriptor, &scanned, at(9, 11), at(9, 50)).unwrap();
    let (visitor_token, _) = EncounterToken::check_in(&mut w.rng, &scanned, at(9, 30)).unwrap();

    // The HA opens the envelope and builds a notice from the capsule's day keys.
    let visit = ReportEnvelope::from_bytes(envelope.as_bytes())
        .unwrap()
        .open_and_verify(&w.ha, &w.descriptor)
        .unwrap()
        .expect("a real envelope");
    assert_eq!(visit.code.venue.name, "Cà phê Giảng");
    assert_eq!(visit.arrival, at(9, 11));
    let plan = quet_protocol::notice::TracePlan::new(
        visit.arrival,
        visit.departure,
        visit.code.venue.max_stay_secs(),
        900,
        &visit.code.uses.epoch_kinds(),
        visit.code.utc_offset,
        at(20, 0),
    )
    .unwrap();
    let body = quet_protocol::notice::NoticeBody {
        severity: quet_protocol::notice::Severity::Isolate,
        window_start: plan.exact.0,
        window_end: plan.exact.1,
        template: quet_protocol::notice::TEMPLATE_ISOLATE,
        message_vi: "Cách ly".into(),
        message_en: "Isolate".into(),
    };
    let notice = quet_protocol::notice::ExposureNotice::build(
        &mut w.rng,
        &visit.day_keys,
        &plan.segments,
        &body,
    )
    .unwrap();
    // A screen-and-poster venue: one notice, a segment of hours and one of days.
    assert_eq!(notice.segments.len(), 2);
    let bulletin = w.bulletin(1, [0; 32], vec![notice]);

    // The visitor's phone verifies the bulletin and matches.
    let b = Bulletin::verify_next(bulletin.as_bytes(), &w.descriptor, None, at(21, 0)).unwrap();
    let matcher = Matcher::new([StoredToken {
        id: 7,
        token: visitor_token,
    }]);
    let exposures = matcher.match_notices(&b.notices);
    assert_eq!(exposures.len(), 1);
    assert_eq!(exposures[0].token_id, 7);
    assert_eq!(exposures[0].record.venue.name, "Cà phê Giảng");
    assert_eq!(exposures[0].body.message_en, "Isolate");
}

#[test]
fn padding_envelope_opens_to_nothing() {
    let mut w = World::new();
    let env = ReportEnvelope::padding(&mut w.rng, &w.descriptor, UnixTime(1_790_000_000)).unwrap();
    assert!(env.open_and_verify(&w.ha, &w.descriptor).unwrap().is_none());
}

/// Property 3: a token made at venue A does not open with B's key, and a holder of
/// A's code (who knows P_e and the notice secret) cannot open or even attribute it.
#[test]
fn token_is_opaque_to_code_holders_and_other_venues() {
    let mut w = World::new();
    let mut a = w.venue("A", Category::Market);
    let b = w.venue("B", Category::Market);
    let t = at(10, 5);
    let code_a = a.screen_code(&mut w.rng, t).unwrap();
    let e = code_a.epoch().unwrap();
    let (token, _) = EncounterToken::check_in(&mut w.rng, &code_a, t).unwrap();
    // B's venue-time key for the same epoch does not open A's token.
    let b_secret = b
        .master()
        .unwrap()
        .day_key(e.day())
        .venue_time_secret(e)
        .unwrap();
    assert!(matches!(
        token.open_with(&b_secret),
        Err(Error::DecryptionFailed { .. })
    ));
    // What a code holder has: P_e (a public key, not a secret) and the notice secret.
    // Trying them as if they were the secret fails too.
    let as_secret =
        quet_protocol::venue_keys::VenueTimeSecret::from_bytes(code_a.venue_time_public);
    assert!(token.open_with(&as_secret).is_err());
    // Two tokens of the same code share no bytes but the epoch: nothing to link them.
    let (token2, _) = EncounterToken::check_in(&mut w.rng, &code_a, t).unwrap();
    assert_ne!(token.ephemeral, token2.ephemeral);
    assert_ne!(token.ciphertext[..16], token2.ciphertext[..16]);
    assert_eq!(token.to_bytes().len(), token2.to_bytes().len());
    // Only A's own secret (the HA after a trace, or the owner) opens it.
    let a_secret = a
        .master()
        .unwrap()
        .day_key(e.day())
        .venue_time_secret(e)
        .unwrap();
    assert_eq!(token.open_with(&a_secret).unwrap().venue.name, "A");
}

/// Property 3 continued: token length does not depend on the venue.
#[test]
fn token_length_is_fixed() {
    let mut w = World::new();
    let mut short = w.venue("X", Category::Other);
    let mut long = w.venue(&"Nhà hàng Ẩm thực ".repeat(2), Category::Other);
    let t = at(8, 0);
    let c1 = short.screen_code(&mut w.rng, t).unwrap();
    let c2 = long.screen_code(&mut w.rng, t).unwrap();
    let (t1, _) = EncounterToken::check_in(&mut w.rng, &c1, t).unwrap();
    let (t2, _) = EncounterToken::check_in(&mut w.rng, &c2, t).unwrap();
    assert_eq!(t1.to_bytes().len(), t2.to_bytes().len());
    let e1 = ReportEnvelope::seal(&mut w.rng, &w.descriptor, &c1, t, t).unwrap();
    let e2 = ReportEnvelope::seal(&mut w.rng, &w.descriptor, &c2, t, t).unwrap();
    let pad = ReportEnvelope::padding(&mut w.rng, &w.descriptor, UnixTime(1_790_000_000)).unwrap();
    assert_eq!(e1.as_bytes().len(), e2.as_bytes().len());
    assert_eq!(e1.as_bytes().len(), pad.as_bytes().len());
}

/// Property 2: someone holding A's 9:00 code learns nothing from a notice for A at
/// 15:00: its keys open none of their tokens and its body stays sealed to them.
#[test]
fn notice_for_another_hour_is_unreadable_to_earlier_visitors() {
    let mut w = World::new();
    let mut a = w.venue("A", Category::Restaurant);
    let nine = a.screen_code(&mut w.rng, at(9, 0)).unwrap();
    let (token9, rec9) = EncounterToken::check_in(&mut w.rng, &nine, at(9, 0)).unwrap();
    let notice15 = w.notice_for(&a, at(15, 0), at(15, 30), EpochKind::SeededHour);
    // Their notice secret (from the 9:00 code) does not open the 15:00 body.
    for (i, _, _) in notice15.keys() {
        assert!(notice15.open_body(i, &rec9.notice_secret).is_err());
    }
    // No 15:00-window key opens the 9:00 token, and the matcher finds nothing.
    for (_, epoch, entry) in notice15.keys() {
        assert!(token9.open_with(&entry.key.secret(epoch)).is_err());
    }
    let m = Matcher::new([StoredToken {
        id: 1,
        token: token9,
    }]);
    assert!(m.match_notices([&notice15]).is_empty());
    // Nor are the published keys related to the 9:00 code's public key.
    let first15 = notice15.segments[0].first;
    assert!(first15.index > nine.epoch().unwrap().index);
    assert!(
        notice15
            .keys()
            .all(|(_, epoch, e)| e.key.secret(epoch).public() != nine.venue_time_public)
    );
}

/// Property 2: the body of a notice is readable by visitors of its hours, and a
/// visitor at the same venue outside the exact window is not notified.
#[test]
fn overlap_rule_uses_the_exact_window() {
    let mut w = World::new();
    let mut a = w.venue("A", Category::Restaurant); // max stay 120 min
    let code13 = a.screen_code(&mut w.rng, at(13, 0)).unwrap();
    let (inside, _) = EncounterToken::check_in(&mut w.rng, &code13, at(13, 0)).unwrap(); // 13:00-15:00 overlaps 14:30
    let mut rec_out = quet_protocol::token::TokenRecord::for_check_in(&code13, at(13, 1)).unwrap();
    rec_out.set_departure(at(13, 20)).unwrap(); // left before the case came
    let outside = EncounterToken::seal(
        &mut w.rng,
        &code13.venue_time_public,
        code13.epoch().unwrap(),
        &rec_out,
    )
    .unwrap();
    let notice = w.notice_for(&a, at(14, 30), at(15, 0), EpochKind::SeededHour);
    let m = Matcher::new([
        StoredToken {
            id: 1,
            token: inside,
        },
        StoredToken {
            id: 2,
            token: outside,
        },
    ]);
    let ex = m.match_notices([&notice]);
    assert_eq!(ex.iter().map(|e| e.token_id).collect::<Vec<_>>(), vec![1]);
}

/// Property 5: codes are unforgeable and screen codes expire within minutes.
#[test]
fn forged_expired_and_foreign_codes_are_rejected() {
    let mut w = World::new();
    let mut a = w.venue("A", Category::Office);
    let t = at(11, 0);
    let code = a.screen_code(&mut w.rng, t).unwrap();
    let bytes = code.as_bytes().to_vec();
    // Any flipped bit in the signed part fails (name, time, key, capsule...).
    for i in [7usize, 20, 50, 100, 200, bytes.len() - 70] {
        let mut forged = bytes.clone();
        forged[i] ^= 0x01;
        assert!(
            CheckInCode::parse_and_verify(&forged, t, &w.descriptor).is_err(),
            "byte {i}"
        );
    }
    // Photo posted online: fine at +2 min, refused at +3 min (and before).
    assert!(CheckInCode::parse_and_verify(&bytes, UnixTime(t.0 + 120), &w.descriptor).is_ok());
    assert!(matches!(
        CheckInCode::parse_and_verify(&bytes, UnixTime(t.0 + 181), &w.descriptor),
        Err(Error::CodeNotFresh { .. })
    ));
    assert!(matches!(
        CheckInCode::parse_and_verify(&bytes, UnixTime(t.0 - 181), &w.descriptor),
        Err(Error::CodeNotFresh { .. })
    ));
    // Unknown authority.
    let mut other = World::new();
    other.descriptor.id = quet_protocol::authority::AuthorityId(99);
    assert!(matches!(
        CheckInCode::parse_and_verify(&bytes, t, &other.descriptor),
        Err(Error::UnknownAuthority(_))
    ));
    // Unsupported version and truncation.
    let mut v3 = bytes.clone();
    v3[0] = 3;
    assert!(matches!(
        CheckInCode::parse_and_verify(&v3, t, &w.descriptor),
        Err(Error::UnsupportedVersion { version: 3, .. })
    ));
    assert!(matches!(
        CheckInCode::parse_and_verify(&bytes[..bytes.len() - 1], t, &w.descriptor),
        Err(Error::Truncated { .. })
    ));
    // Not a Quét code at all.
    assert_eq!(
        CheckInCode::parse_text_and_verify("https://example.com/menu", t, &w.descriptor)
            .unwrap_err(),
        Error::NotAQuetCode
    );
    // Posters are valid on their local day only (Vietnam, UTC+7): at(11, 0) UTC is
    // 18:00 in Hà Nội; the poster is good until 23:59:59 local (16:59:59 UTC) and
    // refused from local midnight, not from UTC midnight.
    let day = a.local_day(t).unwrap();
    let poster = a.poster_code(&mut w.rng, day).unwrap();
    assert!(
        CheckInCode::parse_and_verify(
            poster.as_bytes(),
            at(17, 0).saturating_sub(1),
            &w.descriptor
        )
        .is_ok()
    );
    assert!(matches!(
        CheckInCode::parse_and_verify(poster.as_bytes(), at(17, 0), &w.descriptor),
        Err(Error::PosterNotToday { .. })
    ));
    assert!(
        CheckInCode::parse_and_verify(poster.as_bytes(), poster.timestamp, &w.descriptor).is_ok()
    );
    assert_eq!(poster.timestamp, at(17, 0).saturating_sub(86_400));
}

/// A venue cannot pass another venue's capsule off as its own; the HA detects
/// re-signed codes whose keys do not derive from the capsule.
#[test]
fn ha_rejects_code_whose_keys_do_not_match_capsule() {
    let mut w = World::new();
    let mut a = w.venue("A", Category::Office);
    let mut b = w.venue("B", Category::Office);
    let t = at(11, 0);
    let code_a = a.screen_code(&mut w.rng, t).unwrap();
    let code_b = b.screen_code(&mut w.rng, t).unwrap();
    // Splice B's capsule into a code signed by A: the capsule's AAD binds B's key.
    let mut spliced = code_a.clone();
    spliced.capsule = code_b.capsule.clone();
    let opened = spliced.capsule.open(
        w.ha.capsule_secret(1).unwrap(),
        code_a.venue_key.as_bytes(),
        w.descriptor.id,
    );
    assert!(opened.is_err());
}

/// Property 6: forged, truncated, replayed, dropped, reordered bulletins are rejected.
#[test]
fn bad_bulletins_are_rejected() {
    let mut w = World::new();
    let a = w.venue("A", Category::Office);
    let n1 = w.notice_for(&a, at(9, 0), at(10, 0), EpochKind::SeededHour);
    let n2 = w.notice_for(&a, at(11, 0), at(12, 0), EpochKind::SeededHour);
    let b1 = w.bulletin(1, [0; 32], vec![n1]);
    let b2 = w.bulletin(2, b1.hash(), vec![n2.clone()]);
    let b3 = w.bulletin(3, b2.hash(), vec![]);
    let now = at(21, 0);
    let s1 = Bulletin::verify_next(b1.as_bytes(), &w.descriptor, None, now)
        .unwrap()
        .chain_state();
    // One flipped bit anywhere.
    for i in [
        0usize,
        5,
        30,
        b2.as_bytes().len() / 2,
        b2.as_bytes().len() - 1,
    ] {
        let mut bad = b2.as_bytes().to_vec();
        bad[i] ^= 0x10;
        assert!(
            Bulletin::verify_next(&bad, &w.descriptor, Some(&s1), now).is_err(),
            "byte {i}"
        );
    }
    // Truncated.
    let bytes = b2.as_bytes();
    assert!(
        Bulletin::verify_next(&bytes[..bytes.len() - 1], &w.descriptor, Some(&s1), now).is_err()
    );
    // Dropped (3 after 1) and replayed (1 after 1).
    assert_eq!(
        Bulletin::verify_next(b3.as_bytes(), &w.descriptor, Some(&s1), now),
        Err(Error::BulletinOutOfOrder {
            expected: 2,
            found: 3
        })
    );
    assert!(matches!(
        Bulletin::verify_next(b1.as_bytes(), &w.descriptor, Some(&s1), now),
        Err(Error::BulletinOutOfOrder { .. })
    ));
    // Right sequence, wrong chain: a bulletin 2 built on another history.
    let fork = w.bulletin(2, [7; 32], vec![n2]);
    assert_eq!(
        Bulletin::verify_next(fork.as_bytes(), &w.descriptor, Some(&s1), now),
        Err(Error::BulletinChainBroken { sequence: 2 })
    );
    // Signed by another authority's key.
    let mut evil = World::new();
    evil.ha = quet_protocol::authority::AuthorityKeys::generate(
        &mut quet_protocol::testing::test_rng(66),
    );
    evil.descriptor = evil
        .ha
        .descriptor(w.descriptor.id, "evil", "https://evil.example");
    let forged = evil.bulletin(2, s1.hash, vec![]);
    assert!(matches!(
        Bulletin::verify_next(forged.as_bytes(), &w.descriptor, Some(&s1), now),
        Err(Error::BadSignature { .. })
    ));
    // Expired.
    assert!(matches!(
        Bulletin::verify_next(
            b2.as_bytes(),
            &w.descriptor,
            Some(&s1),
            UnixTime(now.0 + 15 * 86_400)
        ),
        Err(Error::BulletinExpired { .. })
    ));
    // And the good one passes.
    assert!(Bulletin::verify_next(b2.as_bytes(), &w.descriptor, Some(&s1), now).is_ok());
}

/// The fast matcher agrees with constant-time trial-opening, on random data.
#[test]
fn fast_matcher_agrees_with_reference_trial_open() {
    let mut w = World::new();
    let mut venues: Vec<_> = (0..4)
        .map(|i| w.venue(&format!("V{i}"), Category::Market))
        .collect();
    let mut tokens = Vec::new();
    for (vi, v) in venues.iter_mut().enumerate() {
        for h in [8u64, 9, 10, 14] {
            let code = v.screen_code(&mut w.rng, at(h, 5 * vi as u64)).unwrap();
            let (t, _) = EncounterToken::check_in(&mut w.rng, &code, at(h, 5 * vi as u64)).unwrap();
            tokens.push(t);
        }
    }
    let mut notices = vec![
        w.notice_for(&venues[0], at(9, 0), at(9, 30), EpochKind::SeededHour),
        w.notice_for(&venues[2], at(14, 0), at(14, 30), EpochKind::SeededHour),
    ];
    let shape = notices[0].shape(at(20, 0), quet_protocol::time::UtcOffset::VIETNAM);
    notices.push(
        quet_protocol::notice::ExposureNotice::decoy_like(
            &mut w.rng,
            &shape,
            at(20, 0),
            quet_protocol::time::UtcOffset::VIETNAM,
        )
        .unwrap(),
    );
    let stored: Vec<_> = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| StoredToken {
            id: i as u64,
            token: t.clone(),
        })
        .collect();
    let fast: Vec<u64> = Matcher::new(stored)
        .match_notices(&notices)
        .iter()
        .map(|e| e.token_id)
        .collect();
    let mut slow = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        'n: for n in &notices {
            for (j, epoch, entry) in n.keys() {
                if epoch != t.epoch {
                    continue;
                }
                if let Ok(rec) = t.open_with(&entry.key.secret(epoch)) {
                    let body = n.open_body(j, &rec.notice_secret).unwrap();
                    if rec.overlaps(body.window_start, body.window_end) {
                        slow.push(i as u64);
                        break 'n;
                    }
                }
            }
        }
    }
    slow.sort();
    assert!(!slow.is_empty());
    assert_eq!(fast, slow);
}

#[test]
fn check_out_reseals_and_clips_to_max_stay() {
    let mut w = World::new();
    let mut a = w.venue("A", Category::Gym); // 120 min
    let code = a.screen_code(&mut w.rng, at(7, 0)).unwrap();
    let (token, mut rec) = EncounterToken::check_in(&mut w.rng, &code, at(7, 0)).unwrap();
    assert_eq!(rec.departure, at(9, 0));
    rec.set_departure(at(12, 0)).unwrap();
    assert_eq!(rec.departure, at(9, 0), "clipped to max stay");
    rec.set_departure(at(6, 0)).unwrap();
    assert_eq!(rec.departure, at(7, 0), "never before arrival");
    rec.set_departure(at(7, 45)).unwrap();
    let resealed =
        EncounterToken::seal(&mut w.rng, &code.venue_time_public, token.epoch, &rec).unwrap();
    assert_ne!(resealed.ephemeral, token.ephemeral);
    let e = token.epoch;
    let s = a
        .master()
        .unwrap()
        .day_key(e.day())
        .venue_time_secret(e)
        .unwrap();
    assert_eq!(resealed.open_with(&s).unwrap().departure, at(7, 45));
}

#[test]
fn code_payload_stays_within_the_limit_with_longest_fields() {
    let mut w = World::new();
    let info = quet_protocol::code::VenueInfo {
        name: "Đ".repeat(32),    // 64 bytes
        address: "ệ".repeat(24), // 72 bytes
        category: Category::Wedding,
        max_stay_minutes: 300,
    };
    let mut issuer = quet_protocol::code::CodeIssuer::new(
        quet_protocol::venue_keys::VenueMasterKey::generate(&mut w.rng),
        info,
        &w.descriptor,
    )
    .unwrap();
    let code = issuer.screen_code(&mut w.rng, at(10, 0)).unwrap();
    assert_eq!(
        code.as_bytes().len(),
        312 + 3 + 136,
        "v2, no certificate, no checkpoint"
    );
    issuer.set_checkpoint(quet_protocol::chain::ChainCheckpoint::new(9, &[7; 32]));
    issuer.set_certificate(Some(quet_protocol::certificate::VenueCertificate {
        key_id: 1,
        serial: 1,
        valid_from: quet_protocol::time::Day(0),
        valid_until: quet_protocol::time::Day(1),
        signature: [0; 64],
    }));
    let longest = issuer.screen_code(&mut w.rng, at(10, 0)).unwrap();
    assert_eq!(
        longest.as_bytes().len(),
        quet_protocol::code::V2_LONGEST_LEN
    );
    assert!(longest.as_bytes().len() <= quet_protocol::code::MAX_CODE_LEN);
    let too_long = quet_protocol::code::VenueInfo {
        name: "x".repeat(65),
        ..issuer.venue().clone()
    };
    assert!(matches!(too_long.check(), Err(Error::TooLong { .. })));
}

/// A queued notice survives storage as bytes, and damaged bytes are refused.
#[test]
fn notice_bytes_round_trip_and_rejects_truncated_or_trailing() {
    let mut w = World::new();
    let a = w.venue("A", Category::Office);
    let n = w.notice_for(&a, at(9, 0), at(10, 0), EpochKind::SeededHour);
    let bytes = n.to_bytes().unwrap();
    assert_eq!(
        quet_protocol::notice::ExposureNotice::from_bytes(&bytes).unwrap(),
        n
    );
    assert!(matches!(
        quet_protocol::notice::ExposureNotice::from_bytes(&bytes[..bytes.len() - 1]),
        Err(Error::Truncated { .. })
    ));
    let mut long = bytes.clone();
    long.push(0);
    assert!(matches!(
        quet_protocol::notice::ExposureNotice::from_bytes(&long),
        Err(Error::TrailingBytes { .. })
    ));
}

/// A sync matches bulletin after bulletin with one matcher, whose token tables are
/// built once and reused: each call must find exactly what a fresh matcher finds.
#[test]
fn reused_matcher_finds_what_a_fresh_one_finds() {
    let mut w = World::new();
    let mut a = w.venue("A", Category::Restaurant);
    let mut b = w.venue("B", Category::Restaurant);
    let mut tokens = Vec::new();
    for (i, (v, h)) in [(0u8, 9u64), (0, 14), (1, 9), (1, 14)]
        .into_iter()
        .enumerate()
    {
        let venue = if v == 0 { &mut a } else { &mut b };
        let code = venue.screen_code(&mut w.rng, at(h, 10)).unwrap();
        let (t, _) = EncounterToken::check_in(&mut w.rng, &code, at(h, 10)).unwrap();
        tokens.push(StoredToken {
            id: i as u64,
            token: t,
        });
    }
    let first = vec![w.notice_for(&a, at(9, 0), at(9, 30), EpochKind::SeededHour)];
    let second = vec![
        w.notice_for(&b, at(14, 0), at(14, 30), EpochKind::SeededHour),
        w.notice_for(&a, at(9, 0), at(9, 30), EpochKind::SeededHour),
    ];
    let reused = Matcher::new(tokens.clone());
    let ids = |m: &Matcher, n: &[quet_protocol::notice::ExposureNotice]| {
        m.match_notices(n)
            .iter()
            .map(|e| e.token_id)
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&reused, &first), vec![0]);
    assert_eq!(
        ids(&reused, &second),
        ids(&Matcher::new(tokens.clone()), &second)
    );
    assert_eq!(ids(&reused, &second), vec![0, 3]);
}

/// PL2 as it truly holds (threat model, "What a notice reveals, and to whom"). With
/// one scan at arrival, nothing tells a visitor who came at 9:00 and left at 9:30
/// from one who stayed the venue's whole maximum stay, so a trace publishes every
/// hour whose visitors *could* still have been there. At an office (maximum stay
/// 540 min) the 9:00 visitor therefore can open the body of a 15:00 notice (and
/// learn its window) though they are rightly not alerted; at a restaurant (120 min)
/// they cannot. A screen-only venue's trace has no day segment, so nobody holding a
/// photo of a poster reads it; a venue that prints posters gets one, readable by
/// whoever scanned (or photographed) that day's poster.
#[test]
fn what_a_notice_reveals_depends_on_the_maximum_stay_and_posters() {
    let mut w = World::new();
    for (category, readable) in [(Category::Office, true), (Category::Restaurant, false)] {
        let mut v = w.venue("V", category);
        let nine = v.screen_code(&mut w.rng, at(9, 0)).unwrap();
        let (token, mut rec) = EncounterToken::check_in(&mut w.rng, &nine, at(9, 0)).unwrap();
        rec.set_departure(at(9, 30)).unwrap();
        let left_early =
            EncounterToken::seal(&mut w.rng, &nine.venue_time_public, token.epoch, &rec).unwrap();
        let notice = w.notice_for(&v, at(15, 0), at(15, 30), EpochKind::SeededHour);
        let opens = notice
            .keys()
            .filter(|(_, e, _)| *e == token.epoch)
            .any(|(i, _, _)| notice.open_body(i, &rec.notice_secret).is_ok());
        assert_eq!(opens, readable, "{category:?}");
        // Either way the early leaver is not alerted: the overlap is checked on the
        // phone against the exact window.
        let m = Matcher::new([StoredToken {
            id: 1,
            token: left_early,
        }]);
        assert!(m.match_notices([&notice]).is_empty(), "{category:?}");
    }
    // Posters: a screen-only venue's trace has only hour keys.
    let mut v = w.venue("Quán", Category::Restaurant);
    v.set_uses(quet_protocol::code::VenueUses {
        screen: true,
        posters: false,
    })
    .unwrap();
    let code = v.screen_code(&mut w.rng, at(10, 0)).unwrap();
    assert_eq!(code.uses.epoch_kinds(), vec![EpochKind::SeededHour]);
    let screen_only = w.notice_for_kinds(&v, at(10, 0), at(10, 30), &code.uses.epoch_kinds());
    assert!(
        screen_only
            .segments
            .iter()
            .all(|s| s.first.kind == EpochKind::SeededHour)
    );
    // A venue that prints posters: whoever holds that day's poster reads the body.
    let mut p = w.venue("Chợ", Category::Market);
    let day = p.local_day(at(10, 0)).unwrap();
    let poster = p.poster_code(&mut w.rng, day).unwrap();
    let both = w.notice_for_kinds(
        &p,
        at(10, 0),
        at(10, 30),
        &[EpochKind::SeededHour, EpochKind::LocalDay],
    );
    let (i, _, _) = both
        .keys()
        .find(|(_, e, _)| *e == poster.epoch().unwrap())
        .unwrap();
    assert!(both.open_body(i, &poster.notice_secret).is_ok());
}
