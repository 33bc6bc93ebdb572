//! Writes a seed corpus for every fuzz target into `fuzz/corpus/<target>/`: the
//! `bytes:` (or sheet `text:`) of every vector in `spec/vectors/`, positive and
//! negative, plus the inputs the targets' deeper paths take (unsigned code and
//! bulletin bodies to be re-signed, envelope/record/notice-body plaintexts), built
//! from the same fixed world as the vectors. Run `cargo run --example make_seeds` in
//! `fuzz/` (smoke.sh does).

use std::fs;
use std::path::Path;

use quet_protocol::bulletin::BulletinDraft;
use quet_protocol::category::Category;
use quet_protocol::code::{CodeIssuer, VenueInfo};
use quet_protocol::envelope::ReportEnvelope;
use quet_protocol::notice::{ExposureNotice, NoticeBody, Severity, trace_windows};
use quet_protocol::testing::test_rng;
use quet_protocol::time::{Day, EpochKind, UnixTime};
use quet_protocol::token::EncounterToken;
use quet_protocol::venue_keys::VenueMasterKey;
use quet_protocol_fuzz::World;

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
            Some("descriptor") => "descriptor",
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
    let master = VenueMasterKey::generate(&mut test_rng(2));
    let venue = VenueInfo {
        name: "Phở Thìn Lò Đúc".into(),
        address: "13 Lò Đúc, Hai Bà Trưng, Hà Nội".into(),
        category: Category::Restaurant,
        max_stay_minutes: 120,
    };
    let mut issuer = CodeIssuer::new(master, venue, &w.descriptor).expect("issuer");
    let now = UnixTime(20_717 * 86_400 + 9 * 3600 + 600);
    let code = issuer.screen_code(&mut rng, now).expect("code");
    let poster = issuer.poster_code(&mut rng, Day(20_717)).expect("poster");
    for (n, c) in [("screen", &code), ("poster", &poster)] {
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
    let env = ReportEnvelope::seal(&mut rng, &w.descriptor, &code, now, UnixTime(now.0 + 1800))
        .expect("envelope");
    put("envelope", "envelope", env.as_bytes());
    let mut plain = vec![1u8];
    plain.extend_from_slice(&now.0.to_be_bytes());
    plain.extend_from_slice(&(now.0 + 1800).to_be_bytes());
    plain.extend_from_slice(
        &u16::try_from(code.as_bytes().len())
            .expect("short")
            .to_be_bytes(),
    );
    plain.extend_from_slice(code.as_bytes());
    // The plaintext seed must reach the end of the HA's checks in the target's
    // plaintext mode (sealed with the world's key, as the target does).
    let mut padded = plain.clone();
    padded.resize(quet_protocol::envelope::ENVELOPE_PLAINTEXT_LEN, 0);
    let (kid, key) = w.descriptor.current_capsule().expect("key");
    let mut sealed = vec![quet_protocol::envelope::ENVELOPE_VERSION, kid];
    sealed.extend(
        quet_protocol::sealed_box::seal(
            &mut test_rng(5),
            key,
            quet_protocol::kdf::ENVELOPE_LABEL,
            &sealed.clone(),
            &padded,
        )
        .expect("seal"),
    );
    let visit = ReportEnvelope::from_bytes(&sealed)
        .and_then(|e| e.open_and_verify(&w.ha, &w.descriptor))
        .expect("the plaintext seed passes every HA check");
    assert!(visit.is_some(), "the plaintext seed is a check-in");
    put("envelope", "plaintext", &plain);
    put(
        "envelope",
        "padding",
        ReportEnvelope::padding(&mut rng, &w.descriptor)
            .expect("pad")
            .as_bytes(),
    );
    let (window, exact) = trace_windows(now, UnixTime(now.0 + 1800), 7200, 900).expect("w");
    let day_keys: Vec<_> = [Day(20_716), Day(20_717), Day(20_718)]
        .iter()
        .map(|d| issuer.master().day_key(*d))
        .collect();
    let body = NoticeBody {
        severity: Severity::Test,
        window_start: exact.0,
        window_end: exact.1,
        message_vi: "Hãy đi xét nghiệm.".into(),
        message_en: "Please get tested.".into(),
    };
    let notice =
        ExposureNotice::build(&mut rng, &day_keys, EpochKind::Hour, window, &body).expect("notice");
    let b1 = BulletinDraft {
        sequence: 1,
        prev_hash: [0; 32],
        issued_at: UnixTime(now.0 + 36_000),
        expires_at: UnixTime(now.0 + 36_000 + 14 * 86_400),
        notices: vec![notice.clone()],
        withdrawn: vec![[7; 16]],
    }
    .sign(&w.ha, &w.descriptor)
    .expect("bulletin");
    let bb = b1.as_bytes();
    put("bulletin", "bulletin", bb);
    put("bulletin", "bulletin-unsigned", &bb[..bb.len() - 64]);
    let mut bodyplain = vec![1u8, 2];
    bodyplain.extend_from_slice(&exact.0.0.to_be_bytes());
    bodyplain.extend_from_slice(&exact.1.0.to_be_bytes());
    for m in [&body.message_vi, &body.message_en] {
        bodyplain.extend_from_slice(&u16::try_from(m.len()).expect("short").to_be_bytes());
        bodyplain.extend_from_slice(m.as_bytes());
    }
    bodyplain.resize(bodyplain.len().div_ceil(64) * 64, 0);
    put("bulletin", "notice-body-plaintext", &bodyplain);
    let d = w
        .descriptor
        .sign(1, w.ha.signing_key(1).expect("key"))
        .expect("descriptor");
    put("descriptor", "descriptor", &d);
    put("descriptor", "descriptor-unsigned", &d[..d.len() - 64]);
    put("sheet", "sheet", issuer.master().to_sheet_text().as_bytes());
    put(
        "sheet",
        "sheet-lower",
        issuer.master().to_sheet_text().to_lowercase().as_bytes(),
    );
    client_seeds(&d, &mut issuer);
}

/// Seeds for the client's parsers: a store snapshot holding a pinned authority, a
/// check-in and a key slot; and one slot of each kind (cheapest Argon2id).
fn client_seeds(descriptor: &[u8], issuer: &mut CodeIssuer) {
    use quet_client::vault::{Argon2Settings, DiarySecret, KeySlot};
    use quet_client::{Client, MemoryStore};
    let now = UnixTime(1_790_000_000);
    let mut client = Client::new(MemoryStore::new(), Box::new(test_rng(7)));
    client.set_argon2_settings(Argon2Settings::MINIMUM);
    client.pin_authority(descriptor).expect("pin");
    let base = client.authorities().expect("authorities")[0].base_url.clone();
    let url = issuer
        .screen_code(&mut test_rng(8), now)
        .expect("code")
        .to_url(&base);
    client.check_in(&url, now).expect("check-in");
    client.set_passphrase(b"1234").expect("passphrase");
    put("client_snapshot", "one-check-in", &client.store().snapshot());
    put("client_snapshot", "empty", &MemoryStore::new().snapshot());
    let mut rng = test_rng(9);
    let secret = DiarySecret::generate(&mut rng);
    let pass = KeySlot::passphrase(&mut rng, Argon2Settings::MINIMUM, b"1234", &secret)
        .expect("slot");
    put("client_keyslot", "passphrase", &pass.to_bytes());
    put(
        "client_keyslot",
        "prf",
        &KeySlot::prf(&mut rng, &[3; 32], &secret).expect("slot").to_bytes(),
    );
    put("client_keyslot", "unprotected", &secret.unprotected_slot().to_bytes());
}
