//! Writes a seed corpus for every fuzz target into `fuzz/corpus/<target>/`: the
//! `bytes:` (or sheet `text:`) of every vector in `spec/vectors/`, positive and
//! negative, plus the inputs the targets' deeper paths take (unsigned code, head,
//! descriptor and bulletin bodies to be re-signed; envelope, record and notice-body
//! plaintexts; certificate fields), built from the same fixed world as the
//! vectors. Run `cargo run --example make_seeds` in `fuzz/` (smoke.sh does).

use std::fs;
use std::path::Path;

use quet_protocol::bulletin::BulletinDraft;
use quet_protocol::category::Category;
use quet_protocol::certificate::{VenueCertificate, details_hash};
use quet_protocol::code::{CodeIssuer, VenueInfo};
use quet_protocol::envelope::ReportEnvelope;
use quet_protocol::head::{BulletinHead, ChainPoint, DEFAULT_HEAD_LIFETIME_SECS, HeadDraft};
use quet_protocol::notice::{NoticeBody, Severity, TEMPLATE_NONE, TracePlan};
use quet_protocol::testing::test_rng;
use quet_protocol::time::{Day, EpochKind, UnixTime, UtcOffset};
use quet_protocol::token::EncounterToken;
use quet_protocol::venue_keys::day_keys_to_text;
use quet_protocol_fuzz::{DAY, T_CODE, World};

fn put(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new("corpus").join(target);
    fs::create_dir_all(&dir).expect("corpus dir");
    fs::write(dir.join(name), bytes).expect("write seed");
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Every vector's input becomes a seed of the target that parses that object.
fn seeds_from_vectors() {
    let Ok(dir) = fs::read_dir("../spec/vectors") else {
        eprintln!("no ../spec/vectors: vector seeds skipped");
        return;
    };
    for entry in dir.flatten() {
        let path = entry.path();
        let Ok(text) = fs::read_to_string(&path) else {
            continue;
        };
        let field = |k: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(k).map(str::to_owned))
        };
        let target = match field("object: ").as_deref() {
            Some("code") => "code",
            Some("token") => "token",
            Some("envelope") => "envelope",
            Some("bulletin") => "bulletin",
            Some("descriptor" | "descriptor-update") => "descriptor",
            Some("head") => "head",
            Some("notice" | "decoy") => "notice",
            Some("sync") => {
                if let Some(h) = field("head: ").as_deref().and_then(unhex) {
                    put("head", &format!("vector-{}", stem(&path)), &h);
                }
                continue;
            }
            Some("certificate") => "certificate",
            Some("daykeys") => {
                if let Some(t) = field("text: ") {
                    put("daykeys", &format!("vector-{}", stem(&path)), t.as_bytes());
                }
                continue;
            }
            Some("sheet") => {
                if let Some(t) = field("text: ") {
                    put("sheet", &format!("vector-{}", stem(&path)), t.as_bytes());
                }
                continue;
            }
            _ => continue,
        };
        if let Some(bytes) = field("bytes: ").as_deref().and_then(unhex) {
            put(target, &format!("vector-{}", stem(&path)), &bytes);
        }
    }
}

fn stem(p: &Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn main() {
    seeds_from_vectors();
    let w = World::new();
    let mut rng = test_rng(3);
    let venue = VenueInfo {
        name: "Phở Thìn Lò Đúc".into(),
        address: "13 Lò Đúc, Hai Bà Trưng, Hà Nội".into(),
        category: Category::Restaurant,
        max_stay_minutes: 120,
    };
    let mut issuer =
        CodeIssuer::new(w.master.clone(), venue.clone(), &w.descriptor).expect("issuer");
    let details = details_hash(venue.category, &venue.name, &venue.address);
    let cert = VenueCertificate::issue(
        &w.ha,
        &w.descriptor,
        &issuer.venue_key().to_bytes(),
        &details,
        7,
        Day(DAY - 10),
        Day(DAY + 355),
    )
    .expect("certificate");
    put("certificate", "certificate", &cert.to_bytes());
    let mut with_name = cert.to_bytes();
    with_name.extend_from_slice(venue.name.as_bytes());
    put("certificate", "certificate-with-name", &with_name);
    issuer.set_certificate(Some(cert));
    let now = UnixTime(T_CODE);
    let code = issuer.screen_code(&mut rng, now).expect("code");
    let poster = issuer.poster_code(&mut rng, Day(DAY)).expect("poster");
    let v1 = issuer
        .v1_code(&mut rng, quet_protocol::code::CodeKind::Screen, now)
        .expect("v1 code");
    for (n, c) in [("screen", &code), ("poster", &poster), ("v1", &v1)] {
        let b = c.as_bytes();
        put("code", n, b);
        put("code", &format!("{n}-unsigned"), &b[..b.len() - 64]);
        put(
            "code",
            &format!("{n}-url"),
            c.to_url(&w.descriptor.base_url).as_bytes(),
        );
    }
    let (token, record) = EncounterToken::check_in(&mut rng, &code, now).expect("token");
    put("token", "token", &token.to_bytes());
    let mut rec = vec![1u8];
    rec.extend_from_slice(&record.arrival.0.to_be_bytes());
    rec.extend_from_slice(&record.departure.0.to_be_bytes());
    rec.extend_from_slice(&record.authority.0.to_be_bytes());
    rec.push(1);
    rec.extend_from_slice(record.notice_secret.expose());
    rec.push(record.venue.category.to_byte());
    rec.extend_from_slice(&record.venue.max_stay_minutes.to_be_bytes());
    for s in [&record.venue.name, &record.venue.address] {
        rec.push(u8::try_from(s.len()).expect("short"));
        rec.extend_from_slice(s.as_bytes());
    }
    put("token", "record-plaintext", &rec);
    let departure = UnixTime(now.0 + 1800);
    let env =
        ReportEnvelope::seal(&mut rng, &w.descriptor, &code, now, departure).expect("envelope");
    put("envelope", "envelope", env.as_bytes());
    let mut plain = vec![1u8];
    plain.extend_from_slice(&now.0.to_be_bytes());
    plain.extend_from_slice(&departure.0.to_be_bytes());
    plain.extend_from_slice(
        &u16::try_from(code.as_bytes().len())
            .expect("short")
            .to_be_bytes(),
    );
    plain.extend_from_slice(code.as_bytes());
    // The plaintext seed must reach the end of the HA's checks in the target's
    // plaintext mode (sealed as the target seals it).
    let mut padded = plain.clone();
    padded.resize(quet_protocol::envelope::ENVELOPE_PLAINTEXT_LEN, 0);
    let (kid, key) = w.descriptor.capsule_for(now).expect("key");
    let mut sealed = vec![quet_protocol::envelope::ENVELOPE_VERSION, kid];
    sealed.extend(
        quet_protocol::sealed_box::seal(
            &mut test_rng(5),
            key,
            quet_protocol::kdf::ENVELOPE_V2_LABEL,
            &sealed.clone(),
            &padded,
        )
        .expect("seal"),
    );
    let visit = ReportEnvelope::from_bytes(&sealed)
        .and_then(|e| e.open_and_verify(&w.ha, &w.descriptor))
        .expect("the plaintext seed passes every HA check");
    let visit = visit.expect("the plaintext seed is a check-in");
    put("envelope", "plaintext", &plain);
    put(
        "envelope",
        "padding",
        ReportEnvelope::padding(&mut rng, &w.descriptor, now)
            .expect("pad")
            .as_bytes(),
    );
    let plan = TracePlan::new(
        visit.arrival,
        visit.departure,
        7200,
        900,
        &[EpochKind::SeededHour, EpochKind::LocalDay],
        UtcOffset::VIETNAM,
        UnixTime(now.0 + 36_000),
    )
    .expect("plan");
    let body = NoticeBody {
        severity: Severity::Test,
        window_start: plan.exact.0,
        window_end: plan.exact.1,
        template: TEMPLATE_NONE,
        message_vi: "Hãy đi xét nghiệm.".into(),
        message_en: "Please get tested.".into(),
    };
    let notice = quet_protocol::notice::ExposureNotice::build(
        &mut rng,
        &visit.day_keys,
        &plan.segments,
        &body,
    )
    .expect("notice");
    put("notice", "notice", &notice.to_bytes().expect("encode"));
    let mut draft = BulletinDraft {
        sequence: 1,
        prev_hash: [0; 32],
        issued_at: UnixTime(now.0 + 36_000),
        expires_at: UnixTime(now.0 + 36_000 + 14 * 86_400),
        notices: vec![notice.clone()],
        withdrawn: vec![[7; 16]],
        revoked: vec![quet_protocol::bulletin::Revocation {
            venue_key: [3; 32],
            until: Day(DAY + 30),
        }],
    };
    let shape = notice.shape(draft.issued_at, UtcOffset::VIETNAM);
    draft
        .pad_with_decoys(&mut rng, 16, &[shape], UtcOffset::VIETNAM)
        .expect("decoys");
    let b1 = draft.sign(&w.ha, &w.descriptor).expect("bulletin");
    let bb = b1.as_bytes();
    put("bulletin", "bulletin", bb);
    put("bulletin", "bulletin-unsigned", &bb[..bb.len() - 64]);
    let mut bodyplain = vec![2u8, 2];
    bodyplain.extend_from_slice(&plan.exact.0.0.to_be_bytes());
    bodyplain.extend_from_slice(&plan.exact.1.0.to_be_bytes());
    bodyplain.extend_from_slice(&TEMPLATE_NONE.to_be_bytes());
    for m in [&body.message_vi, &body.message_en] {
        bodyplain.extend_from_slice(&u16::try_from(m.len()).expect("short").to_be_bytes());
        bodyplain.extend_from_slice(m.as_bytes());
    }
    let mut len = 32;
    while len < bodyplain.len() {
        len *= 2;
    }
    bodyplain.resize(len, 0);
    put("notice", "body-plaintext", &bodyplain);
    let point = ChainPoint {
        sequence: 1,
        hash: b1.hash(),
    };
    let head = BulletinHead::sign(
        &HeadDraft {
            descriptor_serial: 1,
            latest: point,
            oldest: point,
            issued_at: b1.issued_at,
            expires_at: UnixTime(b1.issued_at.0 + DEFAULT_HEAD_LIFETIME_SECS),
        },
        &w.ha,
        &w.descriptor,
    )
    .expect("head");
    let hb = head.as_bytes();
    put("head", "head", hb);
    put("head", "head-unsigned", &hb[..hb.len() - 64]);
    let d = w.ha.sign_descriptor(&w.descriptor).expect("descriptor");
    put("descriptor", "descriptor", &d);
    put("descriptor", "descriptor-unsigned", &d[..d.len() - 64]);
    put("sheet", "sheet", w.master.to_sheet_text().as_bytes());
    put(
        "sheet",
        "sheet-lower",
        w.master.to_sheet_text().to_lowercase().as_bytes(),
    );
    let days: Vec<_> = (DAY - 1..=DAY + 1)
        .map(|d| w.master.day_key(Day(d)))
        .collect();
    let text = day_keys_to_text(&days).expect("day-key sheet");
    put("daykeys", "daykeys", text.as_bytes());
    let raw = data_encoding::BASE32_NOPAD
        .decode(text.replace('-', "").as_bytes())
        .expect("base32");
    put("daykeys", "daykeys-payload", &raw[..raw.len() - 3]);
    client_seeds(&d, &mut issuer);
    decoder_seeds();
}

/// Seeds for the camera-frame decoder (`decode_luma`): the real code untouched at
/// each scale (it decodes, so the fuzzer starts past the detector), the code with a
/// glare spot and with a flipped square, and a small raw frame of stripes.
fn decoder_seeds() {
    for scale in 0..3u8 {
        put("decode_luma", &format!("code-scale-{scale}"), &[1, scale, 4, 20, 230]);
    }
    put("decode_luma", "code-glare", &[1, 1, 4, 20, 230, 0, 120, 120, 10, 250]);
    put("decode_luma", "code-flipped", &[1, 1, 2, 10, 240, 3, 60, 200, 4, 0]);
    let mut stripes = vec![0, 63, 0, 63, 0];
    stripes.extend((0..64u8).map(|i| if i % 8 < 4 { 0 } else { 255 }));
    put("decode_luma", "raw-stripes", &stripes);
}

/// Seeds for the client's parsers: a store snapshot holding a pinned authority, a
/// check-in and a key slot; and one slot of each kind (cheapest Argon2id).
fn client_seeds(descriptor: &[u8], issuer: &mut CodeIssuer) {
    use quet_client::vault::{Argon2Settings, DiarySecret, KeySlot};
    use quet_client::{Client, MemoryStore};
    let now = UnixTime(T_CODE);
    let mut client = Client::new(MemoryStore::new(), Box::new(test_rng(7)));
    client.set_argon2_settings(Argon2Settings::MINIMUM);
    client.pin_authority(descriptor).expect("pin");
    let base = client.authorities().expect("authorities")[0]
        .base_url
        .clone();
    let url = issuer
        .screen_code(&mut test_rng(8), now)
        .expect("code")
        .to_url(&base);
    client.check_in(&url, now).expect("check-in");
    client.set_passphrase(b"1234").expect("passphrase");
    put(
        "client_snapshot",
        "one-check-in",
        &client.store().snapshot(),
    );
    put("client_snapshot", "empty", &MemoryStore::new().snapshot());
    let mut rng = test_rng(9);
    let secret = DiarySecret::generate(&mut rng);
    let pass =
        KeySlot::passphrase(&mut rng, Argon2Settings::MINIMUM, b"1234", &secret).expect("slot");
    put("client_keyslot", "passphrase", &pass.to_bytes());
    put(
        "client_keyslot",
        "prf",
        &KeySlot::prf(&mut rng, &[3; 32], &secret)
            .expect("slot")
            .to_bytes(),
    );
    put(
        "client_keyslot",
        "unprotected",
        &secret.unprotected_slot().to_bytes(),
    );
}
