//! Outbreak-day benchmark, end to end through the library (DESIGN.md budgets):
//!
//! - a phone with 200 check-ins spread over 14 days (SQLite store in a temp dir);
//! - one bulletin with 100,000 published venue-time keys: three real notices that
//!   must match, the rest decoys over the same 14 days;
//! - `Client::sync` = fetch (in-memory transport) the signed head and the bulletin +
//!   verify head, signature and chain + match + store, timed; the budget is ≤ 1 s on this machine.
//!
//! Also times check-in (verify code + seal token + seal envelope + seal the diary
//! entry + store), the diary unlock (one Argon2id of the default parameters), and
//! the constant-time X25519 rate in the same run, so every figure is a ratio.
//! Run: `cargo bench -p quet-client --bench outbreak`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use quet_client::transport::{Response, Transport};
use quet_client::{Client, ClientError, MemoryStore, SqliteStore, UnixTime};
use quet_protocol::authority::{AuthorityId, AuthorityKeys};
use quet_protocol::bulletin::BulletinDraft;
use quet_protocol::category::Category;
use quet_protocol::code::{CodeIssuer, VenueInfo};
use quet_protocol::head::{BulletinHead, ChainPoint, HeadDraft};
use quet_protocol::notice::{
    ExposureNotice, NoticeBody, NoticeShape, Severity, TEMPLATE_TEST, TracePlan,
};
use quet_protocol::testing::test_rng;
use quet_protocol::time::{Epoch, EpochKind, UtcOffset};
use quet_protocol::venue_keys::VenueMasterKey;

const BASE: &str = "https://quet.bench.example";
const DAY0: u64 = 20_717 * 86_400;
const KEYS: usize = 100_000;
const CHECK_INS: usize = 200;

/// Serves an index and bulletins from memory.
struct MemTransport {
    objects: BTreeMap<String, Vec<u8>>,
}

impl Transport for MemTransport {
    fn get(&self, url: &str, _max: usize) -> Result<Response, ClientError> {
        let body = self
            .objects
            .get(url)
            .cloned()
            .ok_or_else(|| ClientError::Network(format!("no {url}")))?;
        Ok(Response {
            status: 200,
            body,
            retry_after: None,
        })
    }
    fn post_json(&self, _url: &str, _body: &[u8]) -> Result<Response, ClientError> {
        Err(ClientError::Network("not served".into()))
    }
}

fn x25519_rate() -> f64 {
    use x25519_dalek::{PublicKey, StaticSecret};
    let mut rng = test_rng(7);
    let s = StaticSecret::random_from_rng(&mut rng);
    let mut p = PublicKey::from(&StaticSecret::random_from_rng(&mut rng));
    let n = 3000;
    let t = Instant::now();
    for _ in 0..n {
        p = PublicKey::from(s.diffie_hellman(&p).to_bytes());
    }
    std::hint::black_box(p);
    n as f64 / t.elapsed().as_secs_f64()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let mut rng = test_rng(1);
    let ha = AuthorityKeys::generate(&mut rng);
    let descriptor = ha.descriptor(AuthorityId(0x0100_0001), "Sở Y tế Hà Nội", BASE);
    let descriptor_bytes = ha.sign_descriptor(&descriptor).unwrap();
    let mut venues: Vec<CodeIssuer> = (0..40)
        .map(|i| {
            let cat = Category::ALL[i % Category::ALL.len()];
            CodeIssuer::new(
                VenueMasterKey::generate(&mut rng),
                VenueInfo {
                    name: format!("Địa điểm {i}"),
                    address: "1 Đinh Tiên Hoàng, Hà Nội".into(),
                    category: cat,
                    max_stay_minutes: 60,
                },
                &descriptor,
            )
            .unwrap()
        })
        .collect();

    let x25519 = x25519_rate();

    // 200 check-ins over 14 days, timed one by one.
    let dir = tempfile::tempdir().unwrap();
    let mut sqlite: Client<SqliteStore> =
        Client::open_dir_with_rng(dir.path(), Box::new(test_rng(2))).unwrap();
    sqlite.pin_authority(&descriptor_bytes).unwrap();
    let mut memory = Client::new(MemoryStore::new(), Box::new(test_rng(3)));
    memory.pin_authority(&descriptor_bytes).unwrap();
    let mut visits = Vec::new(); // (venue index, arrival)
    let mut t_sql = Vec::new();
    let mut t_mem = Vec::new();
    for i in 0..CHECK_INS {
        let day = (i * 14 / CHECK_INS) as u64;
        let hour = 7 + (i as u64 * 5) % 14;
        let arrival = UnixTime(DAY0 + day * 86_400 + hour * 3600 + 600);
        let v = i % venues.len();
        let url = venues[v]
            .screen_code(&mut rng, arrival)
            .unwrap()
            .to_url(BASE);
        let t = Instant::now();
        sqlite.check_in(&url, arrival).unwrap();
        t_sql.push(t.elapsed());
        let t = Instant::now();
        memory.check_in(&url, arrival).unwrap();
        t_mem.push(t.elapsed());
        visits.push((v, arrival));
    }
    let now = UnixTime(DAY0 + 14 * 86_400 + 3600);

    // Three real cases at venues this phone visited, the rest decoys in the shapes
    // of real traces (protocol 1.1 decoys).
    let mut notices = Vec::new();
    for &(v, arrival) in [visits[20], visits[100], visits[190]].iter() {
        let venue = &venues[v];
        let plan = TracePlan::new(
            arrival,
            UnixTime(arrival.0 + 1800),
            venue.venue().max_stay_secs(),
            1800,
            &venue.uses().epoch_kinds(),
            UtcOffset::VIETNAM,
            now,
        )
        .unwrap();
        let master = venue.master().unwrap();
        let day_keys: Vec<_> = plan.days().iter().map(|d| master.day_key(*d)).collect();
        let body = NoticeBody {
            severity: Severity::Isolate,
            window_start: plan.exact.0,
            window_end: plan.exact.1,
            template: TEMPLATE_TEST,
            message_vi: "Hãy cách ly và đi xét nghiệm.".into(),
            message_en: "Isolate and get tested.".into(),
        };
        notices.push(ExposureNotice::build(&mut rng, &day_keys, &plan.segments, &body).unwrap());
    }
    let issued = UnixTime(now.0 - 600);
    let pool: Vec<NoticeShape> = (0..2_000)
        .map(|_| NoticeShape::prior(&mut rng, issued, UtcOffset::VIETNAM).unwrap())
        .collect();
    let mut draft = BulletinDraft {
        sequence: 1,
        prev_hash: [0; 32],
        issued_at: issued,
        expires_at: UnixTime(now.0 + 14 * 86_400),
        notices,
        withdrawn: vec![],
        revoked: vec![],
    };
    draft
        .pad_with_decoys(&mut rng, KEYS, &pool, UtcOffset::VIETNAM)
        .unwrap();
    let bulletin = draft.sign(&ha, &descriptor).unwrap();
    let keys = bulletin.key_count();

    // Candidates: published keys whose epoch holds tokens, times those tokens.
    let mut per_epoch: BTreeMap<Epoch, usize> = BTreeMap::new();
    for (_, arrival) in &visits {
        *per_epoch
            .entry(
                Epoch::containing_with(EpochKind::SeededHour, *arrival, UtcOffset::VIETNAM)
                    .unwrap(),
            )
            .or_default() += 1;
    }
    let candidates: usize = bulletin
        .notices
        .iter()
        .flat_map(|n| n.keys().map(|(_, e, _)| e).collect::<Vec<_>>())
        .map(|e| per_epoch.get(&e).copied().unwrap_or(0))
        .sum();

    let mut objects = BTreeMap::new();
    let head = BulletinHead::sign(
        &HeadDraft {
            descriptor_serial: descriptor.serial,
            latest: ChainPoint {
                sequence: 1,
                hash: bulletin.hash(),
            },
            oldest: ChainPoint {
                sequence: 1,
                hash: bulletin.hash(),
            },
            issued_at: issued,
            expires_at: UnixTime(issued.0 + 6 * 3600),
        },
        &ha,
        &descriptor,
    )
    .unwrap();
    objects.insert(
        format!("{BASE}/v1/bulletins/head"),
        head.as_bytes().to_vec(),
    );
    objects.insert(
        format!("{BASE}/v1/bulletins/1"),
        bulletin.as_bytes().to_vec(),
    );
    let transport = MemTransport { objects };

    // Sync on SQLite (once: it advances the chain) and on fresh in-memory copies.
    let t = Instant::now();
    let r = sqlite.sync(&transport, now, &mut |_| {}).unwrap();
    let sync_sqlite = t.elapsed();
    assert_eq!(r.new_alerts.len(), 3, "the three real notices must match");
    let base_store = memory.store().clone();
    let mut runs = Vec::new();
    for i in 0..5 {
        let mut c = Client::new(base_store.clone(), Box::new(test_rng(50 + i)));
        let t = Instant::now();
        let r = c.sync(&transport, now, &mut |_| {}).unwrap();
        runs.push(t.elapsed());
        assert_eq!(r.new_alerts.len(), 3);
    }
    let sync_mem = median(runs);

    let ci_sql = median(t_sql);
    let ci_mem = median(t_mem);
    let match_rate = candidates as f64 / sync_mem.as_secs_f64();
    println!(
        "outbreak day: {keys} published keys ({} bytes) vs {CHECK_INS} check-ins over 14 days, {candidates} candidates",
        bulletin.as_bytes().len()
    );
    println!(
        "reference: constant-time X25519 {:.0}/s ({:.1} µs)",
        x25519,
        1e6 / x25519
    );
    println!(
        "sync+match, SQLite store (verify+match+store): {:.3} s = {:.2} × the 1 s budget = {:.0} X25519-equivalents",
        sync_sqlite.as_secs_f64(),
        sync_sqlite.as_secs_f64(),
        sync_sqlite.as_secs_f64() * x25519
    );
    println!(
        "sync+match, memory store, median of 5: {:.3} s = {:.2} × budget; candidate throughput {:.0}/s = {:.2} × X25519 rate",
        sync_mem.as_secs_f64(),
        sync_mem.as_secs_f64(),
        match_rate,
        match_rate / x25519
    );
    println!(
        "check-in, SQLite (fsync per commit), median: {:.0} µs = {:.2} × the 200 µs budget",
        ci_sql.as_secs_f64() * 1e6,
        ci_sql.as_secs_f64() * 1e6 / 200.0
    );
    println!(
        "check-in, memory store, median: {:.0} µs = {:.2} × the 200 µs budget = {:.1} X25519-equivalents",
        ci_mem.as_secs_f64() * 1e6,
        ci_mem.as_secs_f64() * 1e6 / 200.0,
        ci_mem.as_secs_f64() * x25519
    );

    // Unlock: one Argon2id of the default parameters (what every PIN guess costs).
    let settings = quet_client::Argon2Settings::DEFAULT;
    let mut locked = Client::new(MemoryStore::new(), Box::new(test_rng(90)));
    locked.set_passphrase(b"482916").unwrap();
    let mut runs = Vec::new();
    for _ in 0..5 {
        locked.lock();
        let t = Instant::now();
        locked.unlock_with_passphrase(b"482916", now).unwrap();
        runs.push(t.elapsed());
    }
    let unlock = median(runs);
    println!(
        "unlock (Argon2id {} MiB, t={}, p={}), median of 5: {:.0} ms = {:.0} X25519-equivalents; \
         all 10^6 six-digit PINs on one core: {:.1} days",
        settings.memory_kib / 1024,
        settings.iterations,
        settings.parallelism,
        unlock.as_secs_f64() * 1e3,
        unlock.as_secs_f64() * x25519,
        unlock.as_secs_f64() * 1e6 / 86_400.0
    );
}
