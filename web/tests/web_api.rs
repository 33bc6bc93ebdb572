//! The web app's core, driven as the page drives it: JSON and base64 in and out.

use data_encoding::BASE64;
use quet_protocol::authority::{AuthorityId, AuthorityKeys};
use quet_protocol::bulletin::BulletinDraft;
use quet_protocol::category::Category;
use quet_protocol::code::{CodeIssuer, VenueInfo};
use quet_protocol::notice::{ExposureNotice, NoticeBody, Severity, trace_windows};
use quet_protocol::testing::test_rng;
use quet_protocol::time::{EpochKind, UnixTime};
use quet_protocol::venue_keys::VenueMasterKey;
use quet_web::api::{CheckInView, MatchView, TokenInput, VenueView};

const T: u64 = 20_717 * 86_400 + 3 * 3600;

#[test]
fn scan_check_in_and_match_in_the_browser_core() {
    let mut rng = test_rng(5);
    let ha = AuthorityKeys::generate(&mut rng);
    let desc = ha.descriptor(
        AuthorityId(3),
        "Sở Y tế Đà Nẵng",
        "https://quet.danang.example",
    );
    let desc_b64 = BASE64.encode(&desc.sign(1, ha.signing_key(1).unwrap()).unwrap());
    let info = VenueInfo {
        name: "Bánh mì Bà Lan".into(),
        address: "Hải Châu, Đà Nẵng".into(),
        category: Category::Restaurant,
        max_stay_minutes: 60,
    };
    let mut venue = CodeIssuer::new(VenueMasterKey::generate(&mut rng), info, &desc).unwrap();
    let url = venue
        .screen_code(&mut rng, UnixTime(T))
        .unwrap()
        .to_url(&desc.base_url);

    let seen: VenueView =
        serde_json::from_str(&quet_web::api::describe_code(&url, T as f64, &desc_b64).unwrap())
            .unwrap();
    assert_eq!(seen.name, "Bánh mì Bà Lan");
    assert_eq!(seen.category_vi, "Nhà hàng, quán ăn");
    let stored: CheckInView =
        serde_json::from_str(&quet_web::api::check_in(&url, T as f64 + 5.0, &desc_b64).unwrap())
            .unwrap();
    assert_eq!(stored.planned_departure, T + 5 + 3600);

    // A stale photo of the code is refused with the clock hint.
    let err = quet_web::api::check_in(&url, (T + 600) as f64, &desc_b64).unwrap_err();
    assert!(err.contains("clock"), "{err}");

    // The HA traces the venue; the page matches the bulletin offline.
    let (window, exact) = trace_windows(UnixTime(T), UnixTime(T + 1200), 3600, 0).unwrap();
    let day = UnixTime(T).day().unwrap();
    let keys = vec![
        venue.master().day_key(day.prev().unwrap()),
        venue.master().day_key(day),
        venue.master().day_key(day.next().unwrap()),
    ];
    let body = NoticeBody {
        severity: Severity::Test,
        window_start: exact.0,
        window_end: exact.1,
        message_vi: "Hãy đi xét nghiệm".into(),
        message_en: "Please get tested".into(),
    };
    let notice = ExposureNotice::build(&mut rng, &keys, EpochKind::Hour, window, &body).unwrap();
    let bulletin = BulletinDraft {
        sequence: 1,
        prev_hash: [0; 32],
        issued_at: UnixTime(T),
        expires_at: UnixTime(T + 86_400),
        notices: vec![notice],
        withdrawn: vec![],
    }
    .sign(&ha, &desc)
    .unwrap();
    let tokens = serde_json::to_string(&vec![TokenInput {
        id: 9,
        token: stored.token.clone(),
    }])
    .unwrap();
    let result: MatchView = serde_json::from_str(
        &quet_web::api::match_bulletin(
            &BASE64.encode(bulletin.as_bytes()),
            &desc_b64,
            "",
            &tokens,
            (T + 7200) as f64,
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(result.chain.sequence, 1);
    assert_eq!(result.exposures.len(), 1);
    assert_eq!(result.exposures[0].id, 9);
    assert_eq!(result.exposures[0].message_en, "Please get tested");

    // The same bulletin again is a replay once the chain has moved on.
    let chain = serde_json::to_string(&result.chain).unwrap();
    let replay = quet_web::api::match_bulletin(
        &BASE64.encode(bulletin.as_bytes()),
        &desc_b64,
        &chain,
        &tokens,
        (T + 7200) as f64,
    );
    assert!(replay.unwrap_err().contains("out of order"));
}

#[test]
fn rejects_garbage_inputs_with_errors() {
    assert!(quet_web::api::describe_code("x", 0.0, "not base64!").is_err());
    assert!(quet_web::api::check_in("HTTPS://A/C#AAAA", f64::NAN, "").is_err());
    assert!(quet_web::api::match_bulletin("", "", "{", "[]", 0.0).is_err());
}
