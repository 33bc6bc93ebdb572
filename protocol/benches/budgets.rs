//! Benchmarks of DESIGN.md's performance budgets, each reported as a ratio to
//! reference operations measured in the same run (these machines are noisy).
//!
//! ```sh
//! cargo bench -p quet-protocol --bench budgets                                # serial matching
//! cargo bench -p quet-protocol --bench budgets --features parallel,pairing-baseline
//! ```
//!
//! Rounds of all operations are interleaved and the median round is reported, so
//! a burst of load from elsewhere hits references and subjects alike.

use std::hint::black_box;
use std::time::{Duration, Instant};

use ed25519_dalek::{Signer, SigningKey};
use quet_protocol::authority::{AuthorityId, AuthorityKeys};
use quet_protocol::bulletin::{Bulletin, BulletinDraft};
use quet_protocol::category::Category;
use quet_protocol::code::{CheckInCode, CodeIssuer, VenueInfo};
use quet_protocol::envelope::ReportEnvelope;
use quet_protocol::matching::{Matcher, StoredToken};
use quet_protocol::notice::{
    ExposureNotice, NoticeBody, NoticeShape, SegmentShape, Severity, TEMPLATE_TEST, TracePlan,
    entry_len,
};
use quet_protocol::time::{Epoch, EpochKind, UnixTime, UtcOffset};
use quet_protocol::token::EncounterToken;
use quet_protocol::venue_keys::{VenueMasterKey, VenueTimeSecret};
use rand_core::{Rng, UnwrapErr};

type SysRng = UnwrapErr<getrandom::SysRng>;

const DAY0: u64 = 20_717 * 86_400;

/// Median over rounds of the per-operation time of `f` run `iters` times.
struct Meter {
    name: &'static str,
    samples: Vec<Duration>,
}

impl Meter {
    fn new(name: &'static str) -> Meter {
        Meter {
            name,
            samples: Vec::new(),
        }
    }

    fn round(&mut self, iters: u32, mut f: impl FnMut()) {
        let start = Instant::now();
        for _ in 0..iters {
            f();
        }
        self.samples.push(start.elapsed() / iters);
    }

    fn median(&self) -> Duration {
        let mut s = self.samples.clone();
        s.sort();
        s[s.len() / 2]
    }
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn venue(
    rng: &mut SysRng,
    descriptor: &quet_protocol::authority::AuthorityDescriptor,
    i: usize,
) -> CodeIssuer {
    let info = VenueInfo {
        name: format!("Quán phở số {i}"),
        address: "Phố Hàng Bông, Hoàn Kiếm, Hà Nội".into(),
        category: Category::Restaurant,
        max_stay_minutes: 120,
    };
    CodeIssuer::new(VenueMasterKey::generate(rng), info, descriptor).unwrap()
}

fn main() {
    let mut rng: SysRng = UnwrapErr(getrandom::SysRng);
    let ha = AuthorityKeys::generate(&mut rng);
    let descriptor = ha.descriptor(AuthorityId(1), "Sở Y tế", "https://quet.example");
    let now = UnixTime(DAY0 + 10 * 3600);

    // Fixtures for the per-operation meters.
    let mut issuer = venue(&mut rng, &descriptor, 0);
    let code = issuer.screen_code(&mut rng, now).unwrap();
    let code_bytes = code.as_bytes().to_vec();
    let (token, _) = EncounterToken::check_in(&mut rng, &code, now).unwrap();
    let wrong_secret = VenueTimeSecret::from_bytes([7u8; 32]);
    let signer = SigningKey::from_bytes(&[3u8; 32]);
    let msg = [0u8; 400];
    let sig = signer.sign(&msg);
    let vk = signer.verifying_key();

    // Matching: 8 tokens in one epoch against 300 keys of that epoch = 2,400
    // candidates, the ratio of an outbreak day (100,000 keys over 14 × 24 hours).
    let epoch = code.epoch().unwrap();
    let tokens: Vec<StoredToken> = (0..8)
        .map(|i| StoredToken {
            id: i,
            token: EncounterToken::check_in(&mut rng, &code, now).unwrap().0,
        })
        .collect();
    let decoys: Vec<ExposureNotice> = (0..300).map(|_| decoy_at(&mut rng, epoch)).collect();
    let matcher = Matcher::new(tokens.clone());
    let candidates = matcher.candidate_count(&decoys);

    let mut x25519 = Meter::new("X25519 constant-time (reference)");
    let mut ed_verify = Meter::new("Ed25519 verify_strict (reference)");
    let mut check_in = Meter::new("check-in: verify code + seal token + seal envelope");
    let mut trial_ct = Meter::new("trial-open, constant-time X25519 + AEAD");
    let mut per_candidate = Meter::new("matching, per candidate (table build included)");
    #[cfg(feature = "pairing-baseline")]
    let mut pairing = Meter::new("BLS12-381 pairing, blst (CrowdNotifier-style baseline)");
    #[cfg(feature = "pairing-baseline")]
    let (g1, g2) = {
        let sk = blst::min_pk::SecretKey::key_gen(&[9u8; 32], &[]).unwrap();
        let p1: blst::blst_p1_affine = sk.sk_to_pk().into();
        let p2: blst::blst_p2_affine = sk.sign(b"quet", b"BENCH", &[]).into();
        (p1, p2)
    };

    let mut k = [5u8; 32];
    let u = *token.ephemeral.first_chunk::<32>().unwrap();
    for _ in 0..9 {
        x25519.round(2000, || {
            k = x25519_dalek::x25519(black_box(k), black_box(u));
        });
        ed_verify.round(2000, || {
            black_box(vk.verify_strict(black_box(&msg), &sig)).unwrap();
        });
        check_in.round(500, || {
            let (c, _) =
                CheckInCode::parse_and_verify(black_box(&code_bytes), now, &descriptor).unwrap();
            let t = EncounterToken::check_in(&mut rng, &c, now).unwrap();
            let e = ReportEnvelope::seal(&mut rng, &descriptor, &c, now, now).unwrap();
            black_box((t, e));
        });
        trial_ct.round(2000, || {
            black_box(token.open_with(black_box(&wrong_secret))).ok();
        });
        per_candidate.round(1, || {
            // One pass = `candidates` trial-opens; divided below. A fresh matcher
            // each time, so the tables' build is counted (a matcher keeps them).
            let fresh = Matcher::new(tokens.clone());
            black_box(fresh.match_notices(black_box(&decoys)));
        });
        #[cfg(feature = "pairing-baseline")]
        pairing.round(200, || {
            black_box(blst::blst_fp12::miller_loop(black_box(&g2), black_box(&g1)).final_exp());
        });
    }

    let x = micros(x25519.median());
    let cand = micros(per_candidate.median()) / candidates as f64;
    println!(
        "Quét protocol budgets ({} matching)\n",
        if cfg!(feature = "parallel") {
            "parallel"
        } else {
            "serial"
        }
    );
    println!("{:<58} {:>10}", "operation", "µs/op");
    for m in [&x25519, &ed_verify, &check_in, &trial_ct] {
        println!("{:<58} {:>10.2}", m.name, micros(m.median()));
    }
    println!("{:<58} {:>10.2}", per_candidate.name, cand);
    #[cfg(feature = "pairing-baseline")]
    println!("{:<58} {:>10.2}", pairing.name, micros(pairing.median()));
    println!();
    println!(
        "check-in: {:.1} µs = {:.2}× X25519 (budget ≤ 200 µs)",
        micros(check_in.median()),
        micros(check_in.median()) / x
    );
    println!(
        "matching throughput: {:.0} candidates/s = {:.2}× the constant-time X25519 rate (budget ≥ 2×)",
        1e6 / cand,
        x / cand
    );
    #[cfg(feature = "pairing-baseline")]
    println!(
        "matching vs pairing-per-candidate baseline: {:.1}× faster (budget ≥ 20×)",
        micros(pairing.median()) / cand
    );

    outbreak_day(&mut rng, &ha, &descriptor, x);
}

/// A one-key decoy notice whose only epoch is `epoch`.
fn decoy_at(rng: &mut SysRng, epoch: Epoch) -> ExposureNotice {
    let shape = NoticeShape {
        segments: vec![SegmentShape {
            kind: epoch.kind,
            count: 1,
            ends_before: 0,
        }],
        sealed_body_len: 48,
    };
    ExposureNotice::decoy_like(rng, &shape, epoch.end(), UtcOffset::VIETNAM).unwrap()
}

/// The shape of a real trace: a random category's venue, a stay of 10 minutes to
/// its maximum ending at a random time in the 14 days before `issued`, 30-minute
/// buffer, posters at one venue in three (what `TracePlan` publishes for it).
fn trace_shape(rng: &mut SysRng, issued: UnixTime) -> NoticeShape {
    let cats = Category::ALL;
    let c = cats[(rng.next_u32() as usize) % cats.len()];
    let max_stay = u64::from(c.default_max_stay_minutes()) * 60;
    let stay = 600 + rng.next_u64() % max_stay;
    let departure = UnixTime(issued.0 - 3_600 - rng.next_u64() % (13 * 86_400));
    let mut kinds = vec![EpochKind::SeededHour];
    if rng.next_u32().is_multiple_of(3) {
        kinds.push(EpochKind::LocalDay);
    }
    let plan = TracePlan::new(
        departure.saturating_sub(stay.min(max_stay)),
        departure,
        max_stay,
        1_800,
        &kinds,
        UtcOffset::VIETNAM,
        issued,
    )
    .unwrap();
    let master = VenueMasterKey::from_bytes([1; 32]);
    let keys: Vec<_> = plan.days().iter().map(|d| master.day_key(*d)).collect();
    let body = NoticeBody {
        severity: Severity::Test,
        window_start: plan.exact.0,
        window_end: plan.exact.1,
        template: TEMPLATE_TEST,
        message_vi: String::new(),
        message_en: String::new(),
    };
    ExposureNotice::build(rng, &keys, &plan.segments, &body)
        .unwrap()
        .shape(issued, UtcOffset::VIETNAM)
}

/// 100,000 newly published keys against a 14-day history of 200 check-ins.
fn outbreak_day(
    rng: &mut SysRng,
    ha: &AuthorityKeys,
    descriptor: &quet_protocol::authority::AuthorityDescriptor,
    x25519_us: f64,
) {
    let first_day = DAY0 / 86_400;
    let mut venues: Vec<CodeIssuer> = (0..40).map(|i| venue(rng, descriptor, i)).collect();
    // 200 check-ins spread over 14 days, 07:00-21:59.
    let mut visits = Vec::new();
    for i in 0..200u64 {
        let day = first_day + i % 14;
        let t = UnixTime(day * 86_400 + (7 + rng.next_u64() % 15) * 3600 + rng.next_u64() % 3600);
        let v = (rng.next_u32() % 40) as usize;
        let code = venues[v].screen_code(rng, t).unwrap();
        let (token, _) = EncounterToken::check_in(rng, &code, t).unwrap();
        visits.push((v, t, StoredToken { id: i, token }));
    }
    // Three real traces that hit visits 0, 1, 2; the rest of the 100,000 keys are
    // decoys in the shapes of 2,000 real-looking traces over the same 14 days (what
    // the server does with its recent real notices).
    let issued = UnixTime(DAY0 + 14 * 86_400);
    let mut notices = Vec::new();
    for (v, t, _) in visits.iter().take(3) {
        let plan = TracePlan::new(
            *t,
            UnixTime(t.0 + 1800),
            7200,
            0,
            &[EpochKind::SeededHour],
            UtcOffset::VIETNAM,
            issued,
        )
        .unwrap();
        let master = venues[*v].master().unwrap();
        let day_keys: Vec<_> = plan.days().iter().map(|d| master.day_key(*d)).collect();
        let body = NoticeBody {
            severity: Severity::Test,
            window_start: plan.exact.0,
            window_end: plan.exact.1,
            template: TEMPLATE_TEST,
            message_vi: String::new(),
            message_en: String::new(),
        };
        notices.push(ExposureNotice::build(rng, &day_keys, &plan.segments, &body).unwrap());
    }
    let pool: Vec<NoticeShape> = (0..2_000).map(|_| trace_shape(rng, issued)).collect();
    let mut draft = BulletinDraft {
        sequence: 1,
        prev_hash: [0; 32],
        issued_at: issued,
        expires_at: UnixTime(DAY0 + 28 * 86_400),
        notices,
        withdrawn: vec![],
        revoked: vec![],
    };
    draft
        .pad_with_decoys(rng, 100_000, &pool, UtcOffset::VIETNAM)
        .unwrap();
    let keys = draft.key_count();
    let bulletin = draft.sign(ha, descriptor).unwrap();
    let bytes = bulletin.as_bytes().to_vec();
    let body_bytes: usize = bulletin
        .notices
        .iter()
        .flat_map(|n| n.segments.iter())
        .map(|s| s.entries.len() * entry_len(s.first.kind))
        .sum();

    let mut times = Vec::new();
    let mut found = 0;
    let mut cands = 0;
    for _ in 0..5 {
        let start = Instant::now();
        let b = Bulletin::verify_next(&bytes, descriptor, None, issued).unwrap();
        let verified = start.elapsed();
        let matcher = Matcher::new(visits.iter().map(|v| v.2.clone()));
        let prepared = start.elapsed();
        let ex = matcher.match_notices(&b.notices);
        let total = start.elapsed();
        times.push((total, verified, prepared - verified, total - prepared));
        found = ex.len();
        cands = matcher.candidate_count(&b.notices);
    }
    times.sort();
    let (t, verify, prepare, matching) = times[times.len() / 2];
    println!(
        "outbreak day breakdown: verify+parse {:.0} ms, prepare tables {:.0} ms, match {:.0} ms",
        verify.as_secs_f64() * 1e3,
        prepare.as_secs_f64() * 1e3,
        matching.as_secs_f64() * 1e3
    );
    println!(
        "outbreak day: {keys} keys vs 200 check-ins: verify + match {:.0} ms ({} candidates, {} exposures found; budget ≤ 1000 ms) = {:.0}× one X25519",
        t.as_secs_f64() * 1e3,
        cands,
        found,
        t.as_secs_f64() * 1e6 / x25519_us
    );
    println!(
        "wire size: {:.1} bytes per published key over the whole bulletin, decoys included (budget ≤ 64); {} bytes key+wrap (CrowdNotifier: 80)",
        bytes.len() as f64 / keys as f64,
        body_bytes / keys
    );
    // A quiet day: one real trace, padded to the smallest bucket (256 keys).
    let mut quiet = BulletinDraft {
        sequence: 2,
        prev_hash: bulletin.hash(),
        issued_at: issued,
        expires_at: UnixTime(issued.0 + 14 * 86_400),
        notices: bulletin.notices.iter().take(1).cloned().collect(),
        withdrawn: vec![],
        revoked: vec![],
    };
    quiet
        .pad_with_decoys(rng, 256, &pool, UtcOffset::VIETNAM)
        .unwrap();
    let qkeys = quiet.key_count();
    let qbytes = quiet.sign(ha, descriptor).unwrap().as_bytes().len();
    println!(
        "quiet day: {qkeys} keys, {qbytes} bytes = {:.1} bytes per published key, decoys included",
        qbytes as f64 / qkeys as f64
    );
}
