//! The web app's budgets, measured in real headless Chromium on loopback (not a
//! timed test): `cargo bench -p quet-web --bench browser_budgets`.
//!
//! - first load of the app (opening a venue's link) over loopback: bytes on the
//!   wire, counted by a TCP proxy, and the wasm's transferred (gzip) size;
//! - repeat loads: bytes on the wire when the app is opened again;
//! - the in-app scanner's first opening: its decoder (worker, glue, wasm) fetched
//!   once, bytes on the wire and the wasm's transferred (gzip) size; then 0 bytes;
//! - check-in in the browser (code text → verified, sealed, committed to IndexedDB);
//! - outbreak day (100,000+ published keys vs 200 check-ins over 14 days) matched by
//!   the same app core natively (one thread) and in Chromium's wasm, same inputs,
//!   same run: the figure is the ratio.

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::time::Instant;

use quet_client::UnixTime;
use quet_client::transport::Response;
use quet_protocol::authority::{AuthorityId, AuthorityKeys};
use quet_protocol::bulletin::BulletinDraft;
use quet_protocol::category::Category;
use quet_protocol::code::{CodeIssuer, VenueInfo};
use quet_protocol::head::{BulletinHead, ChainPoint, HeadDraft};
use quet_protocol::notice::{
    ExposureNotice, NoticeBody, NoticeShape, Severity, TEMPLATE_TEST, TracePlan,
};
use quet_protocol::time::UtcOffset;
use quet_protocol::venue_keys::VenueMasterKey;
use quet_web::phone::{Phone, Step};
use serde_json::{Value, json};
use support::cdp::{self, Browser};
use support::world::{World, display_code};

const BASE: &str = "https://quet.bench.example";
const DAY0: u64 = 20_717 * 86_400;

struct Outbreak {
    descriptor: Vec<u8>,
    visits: Vec<(String, u64)>,
    objects: BTreeMap<String, Vec<u8>>,
    now: u64,
    keys: usize,
}

fn outbreak() -> Outbreak {
    let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    let ha = AuthorityKeys::generate(&mut rng);
    let d = ha.descriptor(AuthorityId(0x0100_0001), "Sở Y tế Hà Nội", BASE);
    let descriptor = ha.sign_descriptor(&d).unwrap();
    let mut venues: Vec<CodeIssuer> = (0..40)
        .map(|i| {
            CodeIssuer::new(
                VenueMasterKey::generate(&mut rng),
                VenueInfo {
                    name: format!("Địa điểm {i}"),
                    address: "1 Đinh Tiên Hoàng, Hà Nội".into(),
                    category: Category::Restaurant,
                    max_stay_minutes: 60,
                },
                &d,
            )
            .unwrap()
        })
        .collect();
    let mut visits = Vec::new();
    let mut arrivals = Vec::new();
    for i in 0..200u64 {
        let t = UnixTime(DAY0 + (i % 14) * 86_400 + (7 + (i * 5) % 14) * 3600 + 600);
        let v = (i % 40) as usize;
        let code = venues[v].screen_code(&mut rng, t).unwrap();
        arrivals.push((v, t));
        visits.push((code.to_url(BASE), t.0));
    }
    let now = UnixTime(DAY0 + 14 * 86_400 + 3600);
    // Three real traces on visits the phone made; decoys in the shapes of real
    // traces (protocol 1.1), as in quet-client's outbreak bench.
    let mut notices = Vec::new();
    for &(v, arrival) in [arrivals[20], arrivals[100], arrivals[190]].iter() {
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
            severity: Severity::Test,
            window_start: plan.exact.0,
            window_end: plan.exact.1,
            template: TEMPLATE_TEST,
            message_vi: "Đi xét nghiệm".into(),
            message_en: "Get tested".into(),
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
        .pad_with_decoys(&mut rng, 100_000, &pool, UtcOffset::VIETNAM)
        .unwrap();
    let keys = draft.key_count();
    let bulletin = draft.sign(&ha, &d).unwrap();
    let point = ChainPoint {
        sequence: 1,
        hash: bulletin.hash(),
    };
    let head = BulletinHead::sign(
        &HeadDraft {
            descriptor_serial: d.serial,
            latest: point,
            oldest: point,
            issued_at: issued,
            expires_at: UnixTime(issued.0 + 6 * 3600),
        },
        &ha,
        &d,
    )
    .unwrap();
    let mut objects = BTreeMap::new();
    objects.insert(
        format!("{BASE}/v1/bulletins/head"),
        head.as_bytes().to_vec(),
    );
    objects.insert(
        format!("{BASE}/v1/bulletins/1"),
        bulletin.as_bytes().to_vec(),
    );
    let now = now.0;
    Outbreak {
        descriptor,
        visits,
        objects,
        now,
        keys,
    }
}

/// The same steps as the page: fresh app, pin, 200 check-ins, then a timed sync.
fn native_sync(o: &Outbreak) -> (f64, usize) {
    let mut phone = Phone::open(vec![], Box::new(rand_core::UnwrapErr(getrandom::SysRng))).unwrap();
    phone.pin_authority(&o.descriptor).unwrap();
    for (url, t) in &o.visits {
        phone.check_in(url, UnixTime(t + 5)).unwrap();
    }
    let t = Instant::now();
    let mut step = phone.sync_begin(UnixTime(o.now)).unwrap();
    loop {
        match step {
            Step::Done(report) => {
                let ms = t.elapsed().as_secs_f64() * 1e3;
                return (ms, report["new_alerts"].as_array().map_or(0, Vec::len));
            }
            Step::Need(req) => {
                let body = o.objects[&req.url].clone();
                let response = Response {
                    status: 200,
                    body,
                    retry_after: None,
                };
                step = phone.answer(response, UnixTime(o.now)).unwrap();
            }
        }
    }
}

const WASM_SYNC: &str = r#"(async () => {
  const src = document.querySelector('script[type=module]').src.replace(/app\.js$/, 'quet_web.js');
  const m = await import(src);
  const b64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  const o = window.__outbreak;
  const app = m.PhoneApp.open([]);
  app.pinAuthority(b64(o.descriptor));
  for (const [url, t] of o.visits) app.checkIn(url, t + 5);
  const objects = Object.fromEntries(Object.entries(o.objects).map(([k, v]) => [k, b64(v)]));
  const t0 = performance.now();
  let r = JSON.parse(app.syncBegin(o.now));
  for (;;) {
    if ('done' in r) { const ms = performance.now() - t0; app.free(); return [ms, r.done.new_alerts.length]; }
    r = JSON.parse(app.answer(200, objects[r.need.url], undefined, o.now));
  }
})()"#;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    if !cdp::available() {
        return;
    }
    let w = World::start();
    let venue = w.venue("Phở Đo Lường", "2 Lý Quốc Sư", Category::Restaurant);

    // First load: a phone that never saw the app opens a venue's link.
    let mut b = Browser::launch(&[]);
    let p = b.page(360, 640);
    b.drain_events();
    let before = w.traffic.bytes();
    b.goto(&p, &display_code(&venue));
    b.wait_js(&p, "document.body.dataset.screen === 'confirm'", 60);
    b.wait_js(&p, "navigator.serviceWorker.controller !== null", 30);
    std::thread::sleep(std::time::Duration::from_secs(2));
    let first = w.traffic.bytes().1 - before.1;
    let events = b.drain_events();
    let mut urls = BTreeMap::new();
    let mut wasm_bytes = 0.0;
    for e in &events {
        let id = e["params"]["requestId"].as_str().unwrap_or("").to_string();
        if e["method"] == "Network.requestWillBeSent" {
            urls.insert(
                id,
                e["params"]["request"]["url"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            );
        } else if e["method"] == "Network.loadingFinished"
            && urls.get(&id).is_some_and(|u| u.ends_with(".wasm"))
        {
            wasm_bytes = e["params"]["encodedDataLength"].as_f64().unwrap_or(0.0);
        }
    }

    // Repeat loads: the app opened again, and another venue link opened.
    let before = w.traffic.bytes();
    b.goto(&p, &format!("{}/", w.base));
    b.wait_js(&p, "document.body.dataset.screen === 'home'", 30);
    std::thread::sleep(std::time::Duration::from_secs(1));
    let repeat_home = w.traffic.bytes().1 - before.1;
    let before = w.traffic.bytes();
    b.goto(&p, &display_code(&venue));
    b.wait_js(&p, "document.body.dataset.screen === 'confirm'", 30);
    std::thread::sleep(std::time::Duration::from_secs(1));
    let after = w.traffic.bytes();
    let repeat_link = (after.0 - before.0, after.1 - before.1);

    // The in-app camera's first opening loads the scanner (the decoder in its worker);
    // a second opening loads nothing.
    const LOAD_SCANNER: &str = r#"(async () => {
      const src = document.querySelector('script[type=module]').src.replace(/app\.js$/, 'scanner.js');
      const { FrameDecoder } = await import(src);
      const d = new FrameDecoder();
      const t0 = performance.now();
      await d.ready();
      const ms = performance.now() - t0;
      d.close();
      return ms;
    })()"#;
    b.drain_events();
    let before = w.traffic.bytes();
    let scanner_ms = b.js(&p, LOAD_SCANNER).as_f64().unwrap();
    std::thread::sleep(std::time::Duration::from_secs(1));
    let scanner_first = w.traffic.bytes().1 - before.1;
    let mut urls = BTreeMap::new();
    let mut scanner_wasm = 0.0;
    for e in &b.drain_events() {
        let id = e["params"]["requestId"].as_str().unwrap_or("").to_string();
        if e["method"] == "Network.requestWillBeSent" {
            let url = e["params"]["request"]["url"].as_str().unwrap_or("");
            urls.insert(id, url.to_string());
        } else if e["method"] == "Network.loadingFinished"
            && urls
                .get(&id)
                .is_some_and(|u| u.ends_with("quet_scanner_bg.wasm"))
        {
            scanner_wasm = e["params"]["encodedDataLength"].as_f64().unwrap_or(0.0);
        }
    }
    let before = w.traffic.bytes();
    b.js(&p, LOAD_SCANNER);
    std::thread::sleep(std::time::Duration::from_secs(1));
    let scanner_again = w.traffic.bytes().1 - before.1;

    // Check-in in the browser: the code's text to a committed IndexedDB write.
    let url = display_code(&venue);
    let times = b.js(
        &p,
        &format!(
            "(async () => {{ const out = []; for (let i = 0; i < 30; i++) {{ const t = performance.now(); \
             await window.__quet.core.checkIn({url:?}); out.push(performance.now() - t); }} return out; }})()"
        ),
    );
    let mut ci: Vec<f64> = times
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    ci.sort_by(f64::total_cmp);

    // Outbreak day, native then wasm, three runs each.
    let o = outbreak();
    let enc = |b: &[u8]| data_encoding::BASE64.encode(b);
    let payload = json!({
        "descriptor": enc(&o.descriptor),
        "visits": o.visits.iter().map(|(u, t)| json!([u, t])).collect::<Vec<_>>(),
        "objects": o.objects.iter().map(|(k, v)| (k.clone(), Value::String(enc(v)))).collect::<serde_json::Map<_, _>>(),
        "now": o.now,
    });
    b.js(&p, &format!("window.__outbreak = {payload}; true"));
    let mut native = Vec::new();
    let mut wasm = Vec::new();
    for _ in 0..3 {
        let (ms, found) = native_sync(&o);
        assert_eq!(found, 3, "native: the three real notices must match");
        native.push(ms);
        let r = b.js(&p, WASM_SYNC);
        assert_eq!(
            r[1].as_u64(),
            Some(3),
            "wasm: the three real notices must match"
        );
        wasm.push(r[0].as_f64().unwrap());
    }
    let (n, wm) = (median(native), median(wasm));
    let bulletin_len = o.objects[&format!("{BASE}/v1/bulletins/1")].len();

    println!(
        "quet-web budgets (Chromium {} headless, loopback)",
        cdp::CHROMIUM
    );
    println!(
        "first load (open a venue link, app installs): {:.0} KB on the wire (budget ≤ 600 KB); wasm transferred {:.0} KB gzip (budget ≤ 400 KB)",
        first as f64 / 1024.0,
        wasm_bytes / 1024.0
    );
    println!("repeat load of the app: {repeat_home} bytes from the network (budget 0)");
    println!(
        "repeat: opening another venue link: {} bytes up, {} bytes down",
        repeat_link.0, repeat_link.1
    );
    println!(
        "scanner, first camera opening: {:.0} KB on the wire, its wasm {} gzip (loaded and compiled in {scanner_ms:.0} ms); second opening: {scanner_again} bytes",
        scanner_first as f64 / 1024.0,
        if scanner_wasm > 0.0 {
            format!("{:.0} KB", scanner_wasm / 1024.0)
        } else {
            "(not in the page's request log)".into()
        }
    );
    println!(
        "check-in in the browser (text → verified, sealed, committed): median {:.1} ms, p90 {:.1} ms, max {:.1} ms over {} (budget ≤ 50 ms)",
        ci[ci.len() / 2],
        ci[ci.len() * 9 / 10],
        ci[ci.len() - 1],
        ci.len()
    );
    println!(
        "outbreak day: {} keys ({bulletin_len} bytes) vs 200 check-ins over 14 days, verify + match through the app core:",
        o.keys
    );
    println!(
        "  native, one thread: {n:.0} ms; Chromium wasm, one thread: {wm:.0} ms; wasm/native = {:.2} (budget ≤ 2)",
        wm / n
    );
}
