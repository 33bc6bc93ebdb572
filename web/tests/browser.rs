//! The phone web app in real headless Chromium at phone size (360×640), against a
//! real `quet-server` on loopback serving the app built by `web/build.sh`.
//! Screenshots go to `web/screenshots/` (linked from web/README.md).
//!
//! Under `CI=true` a missing Chromium fails these tests; elsewhere they print
//! "skipped: chromium missing" and pass.

mod support;

use quet_protocol::category::Category;
use serde_json::Value;
use support::cdp::{self, Browser, Page, requests, screenshot_dir};
use support::world::{self, World, display_code, serve_display};

const W: u32 = 360;
const H: u32 = 640;

/// Everything the page stored, read back from inside the page: IndexedDB (every
/// database, store, key and value), localStorage, sessionStorage and Cache
/// Storage (every cached response's body). Values as lower-case hex.
const READ_STORAGE: &str = r#"(async () => {
  const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  const enc = (v) => v instanceof Uint8Array ? hex(v) : v instanceof ArrayBuffer ? hex(new Uint8Array(v))
    : hex(new TextEncoder().encode(typeof v === "string" ? v : JSON.stringify(v)));
  const req = (r) => new Promise((ok, no) => { r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });
  const out = [];
  for (const info of await indexedDB.databases()) {
    const db = await req(indexedDB.open(info.name));
    for (const name of db.objectStoreNames) {
      const st = db.transaction(name).objectStore(name);
      const keys = await req(st.getAllKeys());
      const vals = await req(st.getAll());
      keys.forEach((k, i) => out.push({ where: `indexeddb:${info.name}/${name}`, key: String(k), value: enc(vals[i]) }));
    }
    db.close();
  }
  for (const [label, s] of [["localStorage", localStorage], ["sessionStorage", sessionStorage]]) {
    for (let i = 0; i < s.length; i++) out.push({ where: label, key: s.key(i), value: enc(s.getItem(s.key(i))) });
  }
  for (const c of await caches.keys()) {
    const cache = await caches.open(c);
    for (const r of await cache.keys()) {
      const body = await (await cache.match(r)).arrayBuffer();
      out.push({ where: `cache:${c}`, key: r.url, value: enc(body) });
    }
  }
  return out;
})()"#;

fn hex(b: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(b)
}

/// The code's bytes from its URL text.
fn code_bytes(url: &str) -> Vec<u8> {
    let payload = url.rsplit_once('#').unwrap().1;
    data_encoding::BASE32_NOPAD
        .decode(payload.to_ascii_uppercase().as_bytes())
        .unwrap()
}

/// Where the page stored any of `secrets` (plaintext bytes): `(what, "where key")`
/// for each hit, and how many stored values were read.
fn stored_secrets(
    b: &mut Browser,
    p: &Page,
    secrets: &[(&str, Vec<u8>)],
) -> (Vec<(String, String)>, usize) {
    let rows = b.js(p, READ_STORAGE);
    let rows = rows.as_array().unwrap();
    assert!(
        rows.iter()
            .any(|r| r["where"].as_str().unwrap().starts_with("indexeddb:")),
        "the app stored nothing in IndexedDB: {rows:?}"
    );
    let mut found = Vec::new();
    for r in rows {
        let key_hex = hex(r["key"].as_str().unwrap().as_bytes());
        let value = r["value"].as_str().unwrap();
        for (what, secret) in secrets {
            let s = hex(secret);
            if value.contains(&s) || key_hex.contains(&s) {
                found.push((
                    what.to_string(),
                    format!(
                        "{} {}",
                        r["where"].as_str().unwrap(),
                        r["key"].as_str().unwrap()
                    ),
                ));
            }
        }
    }
    (found, rows.len())
}

/// Asserts that nothing the page stored holds any of `secrets` (plaintext bytes).
fn assert_stored_nothing(b: &mut Browser, p: &Page, secrets: &[(&str, Vec<u8>)]) -> usize {
    let (found, n) = stored_secrets(b, p, secrets);
    assert!(found.is_empty(), "found in storage: {found:?}");
    n
}

/// A screenshot with `selector` scrolled into view (people look at the part that matters).
fn shot(b: &mut Browser, p: &Page, name: &str, selector: &str) {
    b.js(
        p,
        &format!("document.querySelector({selector:?})?.scrollIntoView({{block: 'center'}}), true"),
    );
    b.screenshot(p, &screenshot_dir().join(name));
}

fn open_link(b: &mut Browser, p: &Page, url: &str) {
    b.goto(p, url);
    b.wait_js(p, "document.body.dataset.screen === 'confirm'", 60);
}

#[test]
fn opening_a_code_link_checks_in_at_once_pins_the_authority_and_stores_no_plaintext() {
    if !cdp::available() {
        return;
    }
    let _one = world::serial();
    let w = World::start();
    let marker = "Quán Độc Nhất 7Q4Z";
    let venue = w.venue(marker, "12 Hàng Bạc, Hoàn Kiếm", Category::Restaurant);
    let url = display_code(&venue);
    let mut b = Browser::launch(&[]);
    let p = b.page(W, H);
    open_link(&mut b, &p, &url);

    // Checked in at once, with the venue and the auto check-out time; the
    // authority that serves the app is pinned and its fingerprint shown.
    let text = b
        .js(&p, "document.body.innerText")
        .as_str()
        .unwrap()
        .to_string();
    assert!(text.contains(marker), "{text}");
    assert!(text.contains("Tự động check-out lúc"), "{text}");
    assert!(
        text.contains(&w.fingerprint()),
        "fingerprint not shown: {text}"
    );
    assert_eq!(
        b.js(&p, "location.hash"),
        Value::String(String::new()),
        "the code stays in the address bar"
    );
    b.screenshot(&p, &screenshot_dir().join("01-check-in-first-visit.png"));

    // The stay is on the home screen after a reload (committed to IndexedDB).
    b.goto(&p, &format!("{}/", w.base));
    b.wait_js(&p, "document.body.dataset.screen === 'home'", 30);
    b.wait_js(
        &p,
        &format!("document.body.innerText.includes({marker:?})"),
        10,
    );
    b.screenshot(&p, &screenshot_dir().join("02-home-checked-in.png"));

    // What the phone stores. During the stay the signed code is kept (the core
    // re-seals the token with it at check-out): in the stay's own row and nowhere
    // else (not in localStorage, sessionStorage, Cache Storage or other rows).
    let code = code_bytes(&url);
    let payload = url.rsplit_once('#').unwrap().1.as_bytes().to_vec();
    let secrets = [
        ("venue name", marker.as_bytes().to_vec()),
        ("venue address", "12 Hàng Bạc".as_bytes().to_vec()),
        ("code bytes", code.clone()),
        ("code text", payload),
        ("the code's venue-time key", code[14..46].to_vec()),
    ];
    let (during, _) = stored_secrets(&mut b, &p, &secrets);
    assert!(
        during
            .iter()
            .all(|(_, at)| at == "indexeddb:quet/rows checkin/1"),
        "the active stay's code outside its row: {during:?}"
    );
    assert!(
        !during.iter().any(|(what, _)| what == "code text"),
        "the code's link text was stored: {during:?}"
    );
    // After check-out: no venue name, no address, no code, in any form.
    b.click(&p, "#check-out");
    b.wait_js(&p, "!document.querySelector('#check-out')", 20);
    let n = assert_stored_nothing(&mut b, &p, &secrets);
    eprintln!("storage rows checked: {n}");
}

/// The scanner's files (its worker, glue and wasm) among request URLs.
fn scanner_files(urls: &[String]) -> Vec<&String> {
    urls.iter()
        .filter(|u| u.contains("/quet_scanner") || u.contains("/scanner-worker.js"))
        .collect()
}

/// Cache Storage entries of the scanner's files.
const CACHED_SCANNER_FILES: &str = r#"(async () => {
  const out = [];
  for (const c of await caches.keys()) for (const r of await (await caches.open(c)).keys())
    if (/quet_scanner|scanner-worker/.test(r.url)) out.push(r.url);
  return out;
})()"#;

/// In the page: the scanner's decoder (scanner.js's `FrameDecoder`) reads a frame
/// of the fake camera; its wasm instance is made to trap, then a frame takes too
/// long (a fuzzer-found slow frame, 511×512, several seconds in rxing), and after
/// each the decoder is dropped and a new one reads the next frame.
const DECODER_RECOVERS: &str = r#"(async () => {
  const src = document.querySelector('script[type=module]').src.replace(/app\.js$/, 'scanner.js');
  const { FrameDecoder } = await import(src);
  const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
  const video = document.createElement('video');
  video.muted = true; video.srcObject = stream; await video.play();
  const frame = () => {
    const c = document.createElement('canvas');
    c.width = video.videoWidth; c.height = video.videoHeight;
    const g = c.getContext('2d'); g.drawImage(video, 0, 0);
    return [c.width, c.height, g.getImageData(0, 0, c.width, c.height).data];
  };
  // The slow frame: fuzz/artifacts' slow-unit for decode_luma, as its raw_frame builds it.
  // (About 22 s in this wasm under Node, 8 s natively.)
  const seed = [0xfe,0xfe,0xff,0xff,0xff,0xff,0xff,0xff,0xff,0xff,0xff,0xff,0xff,0xff,0xff,0xff,0xff,0xff,0xff,0xff,0xff,
    0xff,0xff,0xff,0xff,0xff,0xff,0xfd,0xf5,0x4f,0x01,0x60,0,0,0,0xcc,0x04,0,0,0,0,0xe6,0x32,0,0,0,0,0,0,0,0,0x0f,0xb0,0];
  const rest = seed.slice(1), body = rest.slice(4);
  const sw = 1 + (rest[0] | (rest[1] & 1) << 8), sh = 1 + (rest[2] | (rest[3] & 1) << 8);
  const slow = new Uint8ClampedArray(sw * sh * 4);
  for (let i = 0; i < sw * sh; i++) { const v = body[i % body.length]; slow.set([v, v, v, 255], i * 4); }
  const d = new FrameDecoder({ timeoutMs: 1500 });
  const out = { first: await d.decode(...frame()) };
  await d.trapForTests();
  out.traps = d.traps;
  out.afterTrap = await d.decode(...frame());
  const t0 = performance.now();
  out.slow = await d.decode(sw, sh, slow);
  out.slowMs = performance.now() - t0;
  out.timeouts = d.timeouts;
  out.afterTimeout = await d.decode(...frame());
  out.restarts = d.restarts;
  d.close();
  for (const t of stream.getTracks()) t.stop();
  return out;
})()"#;

#[test]
fn camera_scan_checks_in_offline_and_makes_no_request() {
    if !cdp::available() {
        return;
    }
    let _one = world::serial();
    let w = World::start();
    let venue = w.venue(
        "Bún Chả Camera",
        "5 Lê Văn Hưu, Hai Bà Trưng",
        Category::Restaurant,
    );

    // A picture of the real display screen (the venue tool's page), as a camera
    // would see it, made into the fake camera's video.
    let tmp = tempfile::tempdir().unwrap();
    let shot = tmp.path().join("display.png");
    {
        let display_url = serve_display(&w.rt, &venue);
        let mut d = Browser::launch(&[]);
        let dp = d.page(800, 600);
        d.call(
            "Emulation.setDeviceMetricsOverride",
            serde_json::json!({"width": 800, "height": 600, "deviceScaleFactor": 1, "mobile": false}),
            Some(&dp.session),
        )
        .unwrap();
        d.goto(&dp, &display_url);
        d.wait_js(&dp, "document.querySelector('svg')", 20);
        d.screenshot(&dp, &shot);
        std::fs::copy(
            &shot,
            screenshot_dir().join("venue-display-as-camera-input.png"),
        )
        .unwrap();
    }
    let y4m = tmp.path().join("camera.y4m");
    support::png_to_y4m(&shot, &y4m);

    let mut b = Browser::launch(&[
        "--use-fake-device-for-media-stream".into(),
        "--use-fake-ui-for-media-stream".into(),
        format!("--use-file-for-fake-video-capture={}", y4m.display()),
    ]);
    let p = b.page(W, H);
    // First use: the venue's link (pins the authority, installs the app). The
    // link path never downloads the scanner (nor does the service worker's install).
    b.drain_events();
    open_link(&mut b, &p, &display_code(&venue));
    b.wait_js(&p, "navigator.serviceWorker.controller !== null", 30);
    std::thread::sleep(std::time::Duration::from_secs(1));
    let link_requests = requests(&b.drain_events(), &p.session);
    assert!(
        scanner_files(&link_requests).is_empty(),
        "the link path fetched the scanner: {link_requests:?}"
    );
    assert_eq!(b.js(&p, CACHED_SCANNER_FILES), serde_json::json!([]));
    b.click(&p, "#done");
    b.wait_js(&p, "document.body.dataset.screen === 'home'", 10);

    // The in-app camera opens: now the scanner is fetched (and cached), and it
    // reads the code from the camera's frames.
    b.click(&p, "#scan");
    b.wait_js(&p, "document.body.dataset.screen === 'scan'", 10);
    b.screenshot(&p, &screenshot_dir().join("03-scan.png"));
    b.wait_js(&p, "document.body.dataset.screen === 'confirm'", 60);
    let text = b
        .js(&p, "document.body.innerText")
        .as_str()
        .unwrap()
        .to_string();
    assert!(text.contains("Bún Chả Camera"), "{text}");
    assert!(text.contains("Đã check-in tại"), "{text}");
    let scan_requests = requests(&b.drain_events(), &p.session);
    eprintln!("requests when the camera first opened: {scan_requests:?}");
    assert!(
        !scanner_files(&scan_requests).is_empty(),
        "the scanner was not fetched when the camera opened: {scan_requests:?}"
    );
    let cached = b.js(&p, CACHED_SCANNER_FILES);
    assert!(
        cached
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u.as_str().unwrap().ends_with("/quet_scanner_bg.wasm")),
        "the scanner's wasm was not cached: {cached}"
    );
    b.click(&p, "#done");
    b.wait_js(&p, "document.body.dataset.screen === 'home'", 10);

    // Network cut. Scan a second time with the in-app camera.
    b.offline(&p, true);
    b.drain_events();
    let before = w.traffic.bytes();
    b.click(&p, "#scan");
    b.wait_js(&p, "document.body.dataset.screen === 'confirm'", 60);
    let text = b
        .js(&p, "document.body.innerText")
        .as_str()
        .unwrap()
        .to_string();
    assert!(text.contains("Bún Chả Camera"), "{text}");
    assert!(text.contains("Đã check-in tại"), "{text}");
    b.screenshot(&p, &screenshot_dir().join("04-check-in-scanned.png"));

    // No request reaches the network during the scan: the only one in the page's
    // log is the new scanner worker's script (its answer, from the service
    // worker's cache, goes to the worker's own DevTools target, as do the
    // worker's loads of the decoder from the same cache), and no byte crosses
    // the wire.
    let made = requests(&b.drain_events(), &p.session);
    assert!(
        scanner_files(&made).len() == made.len(),
        "requests during the scan: {made:?}"
    );
    assert_eq!(
        w.traffic.bytes(),
        before,
        "bytes crossed the network during the scan"
    );
    let ms = b.js(&p, "window.__quetLastCheckInMs");
    eprintln!("check-in in the browser (decoded code -> stored): {ms} ms");

    // The diary holds the three visits; each check-in checked out the one before.
    b.click(&p, "nav [data-tab=diary]");
    b.wait_js(
        &p,
        "document.querySelectorAll('#diary-list li').length === 3",
        10,
    );

    // Still offline: the decoder survives a trap and a frame that takes too long.
    let r = b.js(&p, DECODER_RECOVERS);
    eprintln!("decoder recovery: {r}");
    let url = display_code(&venue);
    // The code's URL up to its payload (codes use the upper-case URL form).
    let prefix = format!("{}#", url.split_once('#').unwrap().0).to_ascii_uppercase();
    for key in ["first", "afterTrap", "afterTimeout"] {
        let text = r[key].as_str().unwrap_or_default();
        assert!(text.to_ascii_uppercase().starts_with(&prefix), "{key}: {r}");
    }
    assert_eq!(r["traps"], 1, "{r}");
    assert_eq!(r["slow"], Value::Null, "{r}");
    assert_eq!(r["timeouts"], 1, "{r}");
    assert_eq!(r["restarts"], 2, "{r}");
    // The new instances came from the service worker's cache; the only bytes on
    // the wire are the browser's service-worker update checks (`GET /sw.js`) that
    // each new worker triggers (web/README "Still to do").
    let (up, down) = w.traffic.bytes();
    eprintln!(
        "bytes while the decoder restarted: {} up, {} down",
        up - before.0,
        down - before.1
    );
    assert!(down - before.1 < 4096, "the decoder was fetched again");
}

fn sync_now(b: &mut Browser, p: &Page) {
    b.click(p, "nav [data-tab=alerts]");
    b.wait_js(p, "document.body.dataset.screen === 'alerts'", 10);
    b.click(p, "#sync");
    b.wait_js(
        p,
        "document.querySelector('#synced') || document.querySelector('#sync-status [data-error]')",
        60,
    );
    let err = b.js(
        p,
        "document.querySelector('#sync-status [data-error]')?.innerText || ''",
    );
    assert_eq!(err, Value::String(String::new()), "sync failed");
}

#[test]
fn full_story_report_approve_alert_and_withdraw_against_the_real_server() {
    if !cdp::available() {
        return;
    }
    let _one = world::serial();
    let w = World::start();
    let venue = w.venue(
        "Cà Phê Giảng Story",
        "39 Nguyễn Hữu Huân, Hoàn Kiếm",
        Category::Restaurant,
    );

    // Phone A checks in, then its browser is closed and opened again (the stay
    // must survive in IndexedDB).
    let mut a = Browser::launch(&[]);
    let pa = a.page(W, H);
    open_link(&mut a, &pa, &display_code(&venue));
    let profile = a.close();

    // Phone B was there too, tests positive and reports.
    let mut b = Browser::launch(&[]);
    let pb = b.page(W, H);
    open_link(&mut b, &pb, &display_code(&venue));
    let code = w.auth_code();
    b.click(&pb, "nav [data-tab=more]");
    b.click(&pb, "#go-report");
    b.wait_js(&pb, "document.body.dataset.screen === 'report'", 10);
    // A typo is caught before anything is sent.
    let typo: String = code
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i == 0 {
                if c == 'A' { 'B' } else { 'A' }
            } else {
                c
            }
        })
        .collect();
    b.type_into(&pb, "#auth-code", &typo);
    b.click(&pb, "#preview-button");
    b.wait_js(
        &pb,
        "document.querySelector('#report-out [data-error]')",
        20,
    );
    assert_eq!(
        b.js(
            &pb,
            "document.querySelector('#report-out [data-error]').dataset.error"
        ),
        "auth_code_typo"
    );
    // The real code: preview exactly what will be sent, consent, send, receipt.
    b.type_into(&pb, "#auth-code", &code);
    b.click(&pb, "#preview-button");
    b.wait_js(&pb, "document.querySelector('#preview')", 30);
    let preview = b
        .js(&pb, "document.querySelector('#preview').innerText")
        .as_str()
        .unwrap()
        .to_string();
    assert!(preview.contains("Cà Phê Giảng Story"), "{preview}");
    assert!(preview.contains("1 lượt check-in"), "{preview}");
    assert_eq!(
        b.js(&pb, "document.querySelector('#send').disabled"),
        true,
        "sent without consent"
    );
    shot(&mut b, &pb, "07-report-preview.png", "#preview");
    b.click(&pb, "#consent");
    b.js(
        &pb,
        "document.querySelector('#consent').dispatchEvent(new Event('change')), true",
    );
    b.click(&pb, "#send");
    b.wait_js(
        &pb,
        "document.querySelector('#receipt') || document.querySelector('#report-out [data-error]')",
        30,
    );
    let receipt = b.js(&pb, "document.querySelector('#receipt')?.innerText || document.querySelector('#report-out').innerText");
    assert!(receipt.as_str().unwrap().contains("Biên nhận"), "{receipt}");
    shot(&mut b, &pb, "08-report-receipt.png", "#receipt");
    // The same code again: spent, and the server's answer is shown clearly.
    b.type_into(&pb, "#auth-code", &code);
    b.click(&pb, "#preview-button");
    b.wait_js(
        &pb,
        "document.querySelector('#report-out [data-error]')",
        20,
    );
    assert_eq!(
        b.js(
            &pb,
            "document.querySelector('#report-out [data-error]').dataset.error"
        ),
        "auth_code_invalid"
    );
    shot(&mut b, &pb, "09-report-wrong-code.png", "#report-out");
    drop(b);

    // The HA reviews and approves; the bulletin goes out.
    let notices = w.approve_all(
        "Hãy đi xét nghiệm trong 24 giờ.",
        "Get tested within 24 hours.",
    );
    assert!(!notices.is_empty());
    w.publish();

    // Phone A, reopened, still has its stay, syncs and shows the alert.
    let mut a = Browser::launch_in(profile, &[]);
    let pa = a.page(W, H);
    a.goto(&pa, &format!("{}/", w.base));
    a.wait_js(
        &pa,
        "document.body.innerText.includes('Cà Phê Giảng Story')",
        30,
    );
    sync_now(&mut a, &pa);
    a.wait_js(
        &pa,
        "document.querySelectorAll('#alert-list li').length === 1",
        10,
    );
    let alert = a
        .js(&pa, "document.querySelector('#alert-list').innerText")
        .as_str()
        .unwrap()
        .to_string();
    assert!(alert.contains("Hãy đi xét nghiệm trong 24 giờ."), "{alert}");
    assert!(alert.contains("Get tested within 24 hours."), "{alert}");
    assert!(alert.contains("Cà Phê Giảng Story"), "{alert}");
    shot(&mut a, &pa, "05-alert.png", "#alert-list .message");

    // A sets a PIN (offered after the first check-in, never before it). From the
    // next start the diary and alert details are locked: the phone says there
    // may have been an exposure, and where only after the unlock.
    a.click(&pa, "nav [data-tab=home]");
    a.wait_js(&pa, "document.querySelector('#set-pin')", 10);
    a.click(&pa, "#set-pin");
    a.wait_js(&pa, "document.body.dataset.screen === 'pin'", 10);
    a.type_into(&pa, "#new-pin", "4829");
    a.type_into(&pa, "#new-pin-again", "4829");
    a.click(&pa, "#save-pin");
    a.wait_js(&pa, "document.querySelector('#pin-saved')", 30);
    a.goto(&pa, &format!("{}/", w.base));
    a.wait_js(&pa, "document.querySelector('#exposed')", 30);
    let home = a
        .js(&pa, "document.querySelector('#exposed').innerText")
        .as_str()
        .unwrap()
        .to_string();
    assert!(home.contains("mở khóa để xem nơi nào"), "{home}");
    assert!(home.contains("unlock to see where"), "{home}");
    shot(&mut a, &pa, "15-home-exposed-locked.png", "#exposed");
    a.click(&pa, "nav [data-tab=alerts]");
    a.wait_js(&pa, "document.querySelector('#alert-summaries li')", 10);
    let locked = a
        .js(&pa, "document.querySelector('main').innerText")
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        !locked.contains("Hãy đi xét nghiệm") && !locked.contains("39 Nguyễn Hữu Huân"),
        "alert details shown while locked: {locked}"
    );
    a.screenshot(&pa, &screenshot_dir().join("16-alerts-locked.png"));
    a.click(&pa, "#unlock-alerts");
    a.wait_js(&pa, "document.querySelector('#unlock-pin')", 10);
    a.type_into(&pa, "#unlock-pin", "1111");
    a.click(&pa, "#unlock");
    a.wait_js(
        &pa,
        "document.querySelector('#unlock-out [data-error]')",
        30,
    );
    assert_eq!(
        a.js(
            &pa,
            "document.querySelector('#unlock-out [data-error]').dataset.error"
        ),
        "wrong_passphrase"
    );
    a.screenshot(&pa, &screenshot_dir().join("17-unlock-wrong-pin.png"));
    a.type_into(&pa, "#unlock-pin", "4829");
    a.click(&pa, "#unlock");
    a.wait_js(
        &pa,
        "document.querySelectorAll('#alert-list li').length === 1",
        30,
    );
    let alert = a
        .js(&pa, "document.querySelector('#alert-list').innerText")
        .as_str()
        .unwrap()
        .to_string();
    assert!(alert.contains("Hãy đi xét nghiệm trong 24 giờ."), "{alert}");

    // The HA withdraws (a false alarm): the alert clears at the next sync.
    for n in &notices {
        let (s, j) = w.admin("POST", &format!("/admin/v1/notices/{n}/withdraw"), None);
        assert!(s == 204 || s == 200, "{s} {j}");
    }
    w.publish();
    sync_now(&mut a, &pa);
    a.wait_js(&pa, "document.querySelector('#no-alerts')", 10);
}

/// axe-core (npm, installed by `.ci/run` into web/tests/node_modules), or `None`
/// outside CI when it is not installed.
fn axe_source() -> Option<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/node_modules/axe-core/axe.min.js");
    match std::fs::read_to_string(&path) {
        Ok(s) => Some(s),
        Err(_) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "axe-core missing at {} (npm ci --prefix web/tests)",
                path.display()
            );
            eprintln!("skipped: axe-core missing (npm ci --prefix web/tests)");
            None
        }
    }
}

/// Runs axe-core on the current screen; returns serious or critical violations.
fn axe(b: &mut Browser, p: &Page, source: &str) -> Vec<String> {
    if b.js(p, "typeof axe === 'undefined'") == Value::Bool(true) {
        b.js(p, &format!("{source};\ntrue"));
    }
    let v = b.js(
        p,
        "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations\
         .filter(v => v.impact === 'serious' || v.impact === 'critical')\
         .map(v => v.id + ': ' + v.help + ' [' + v.nodes.map(n => n.target.join(' ')).join(', ') + ']'))",
    );
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn every_screen_at_phone_size_is_labelled_readable_and_has_no_serious_axe_finding() {
    if !cdp::available() {
        return;
    }
    let _one = world::serial();
    let axe_js = axe_source();
    let w = World::start();
    let venue = w.venue(
        "Nhà Sách Tràng Tiền",
        "44 Tràng Tiền, Hoàn Kiếm",
        Category::MallSupermarket,
    );
    let mut b = Browser::launch(&[
        "--use-fake-device-for-media-stream".into(),
        "--use-fake-ui-for-media-stream".into(),
    ]);
    let p = b.page(W, H);
    let mut findings = Vec::new();
    let mut check = |b: &mut Browser, name: &str| {
        b.wait_js(
            &p,
            &format!("document.body.dataset.screen === {name:?}"),
            20,
        );
        // Every control has an accessible name (a label, text or aria-label).
        let unlabelled = b.js(
            &p,
            "[...document.querySelectorAll('button, input, select')].filter(e => {\
               const l = e.labels && e.labels.length ? e.labels[0].innerText : '';\
               return !(e.innerText || '').trim() && !e.getAttribute('aria-label') && !l.trim(); })\
             .map(e => e.outerHTML.slice(0, 80))",
        );
        assert_eq!(
            unlabelled,
            serde_json::json!([]),
            "unlabelled controls on {name}"
        );
        if let Some(src) = &axe_js {
            for v in axe(b, &p, src) {
                findings.push(format!("{name}: {v}"));
            }
        }
    };

    // First open with nothing stored.
    b.goto(&p, &format!("{}/", w.base));
    check(&mut b, "home");
    b.screenshot(&p, &screenshot_dir().join("00-home-first-open.png"));
    b.click(&p, "#scan");
    check(&mut b, "scan");
    std::thread::sleep(std::time::Duration::from_millis(800));
    b.screenshot(&p, &screenshot_dir().join("03-scan.png"));
    open_link(&mut b, &p, &display_code(&venue));
    check(&mut b, "confirm");
    shot(&mut b, &p, "01b-check-in-fingerprint.png", "#first-pin");
    b.click(&p, "#done");
    check(&mut b, "home");
    b.click(&p, "nav [data-tab=diary]");
    check(&mut b, "diary");
    b.screenshot(&p, &screenshot_dir().join("06-diary.png"));
    b.click(&p, "nav [data-tab=alerts]");
    check(&mut b, "alerts");
    b.screenshot(&p, &screenshot_dir().join("05b-alerts-none.png"));
    b.click(&p, "nav [data-tab=more]");
    check(&mut b, "more");
    b.screenshot(&p, &screenshot_dir().join("10-more.png"));
    b.click(&p, "#go-report");
    check(&mut b, "report");
    b.click(&p, "nav [data-tab=more]");
    b.click(&p, "#go-authorities");
    check(&mut b, "authorities");
    b.screenshot(&p, &screenshot_dir().join("11-authorities.png"));
    b.click(&p, "nav [data-tab=more]");
    b.click(&p, "#go-settings");
    check(&mut b, "settings");
    b.screenshot(&p, &screenshot_dir().join("12-settings.png"));

    // The PIN (chosen in settings here), then the lock screen after a restart.
    b.click(&p, "#change-pin");
    check(&mut b, "pin");
    b.screenshot(&p, &screenshot_dir().join("18-set-pin.png"));
    b.type_into(&p, "#new-pin", "2468");
    b.type_into(&p, "#new-pin-again", "2468");
    b.click(&p, "#save-pin");
    b.wait_js(&p, "document.querySelector('#pin-saved')", 30);
    b.goto(&p, &format!("{}/", w.base));
    check(&mut b, "home");
    b.click(&p, "nav [data-tab=diary]");
    check(&mut b, "diary");
    b.wait_js(&p, "document.querySelector('#unlock-pin')", 10);
    b.screenshot(&p, &screenshot_dir().join("19-lock-screen.png"));
    b.type_into(&p, "#unlock-pin", "2468");
    b.click(&p, "#unlock");
    b.wait_js(&p, "document.querySelector('#diary-list')", 30);
    b.click(&p, "nav [data-tab=more]");
    b.click(&p, "#go-settings");
    check(&mut b, "settings");

    // English only, then 200 % zoom (a 360 px phone at 200 %: 180 CSS px wide):
    // nothing wider than the screen.
    b.js(&p, "document.querySelector('#language').value = 'en', true");
    b.click(&p, "#save-settings");
    b.wait_js(&p, "document.body.innerText.includes('Saved.')", 10);
    b.click(&p, "nav [data-tab=home]");
    check(&mut b, "home");
    b.screenshot(&p, &screenshot_dir().join("13-home-english.png"));
    b.call(
        "Emulation.setDeviceMetricsOverride",
        serde_json::json!({"width": W / 2, "height": H / 2, "deviceScaleFactor": 2, "mobile": true}),
        Some(&p.session),
    )
    .unwrap();
    for tab in ["home", "diary", "alerts", "more"] {
        b.click(&p, &format!("nav [data-tab={tab}]"));
        std::thread::sleep(std::time::Duration::from_millis(200));
        let overflow = b.js(
            &p,
            "document.documentElement.scrollWidth - window.innerWidth",
        );
        assert!(
            overflow.as_i64().unwrap() <= 0,
            "{tab} is wider than the screen at 200 %: {overflow}"
        );
    }
    b.click(&p, "nav [data-tab=home]");
    b.screenshot(&p, &screenshot_dir().join("14-home-zoom-200.png"));
    assert!(
        findings.is_empty(),
        "axe-core found:\n{}",
        findings.join("\n")
    );
}

#[test]
fn static_export_served_by_nginx_is_the_same_app_and_checks_in() {
    if !cdp::available() {
        return;
    }
    let nginx = ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    let Some(nginx) = nginx else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "nginx is missing"
        );
        eprintln!("skipped: nginx missing");
        return;
    };
    let _one = world::serial();
    let w = World::start();
    let venue = w.venue("Chè Bà Thìn Export", "1 Hàng Buồm", Category::Restaurant);
    let out = w.dir.path().join("www");
    let data = w.dir.path().join("ha");
    quet_server::export(&data, &out, quet_server::db::now()).unwrap();
    let n = quet_server::export::export_app(&world::app_dir(), &out).unwrap();
    assert!(n >= 8, "{n} files");

    let prefix = w.dir.path().join("nginx");
    std::fs::create_dir_all(prefix.join("tmp")).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let conf = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/nginx.conf"))
        .unwrap()
        .replace("__LISTEN__", &format!("127.0.0.1:{port}"))
        .replace("__ROOT__", out.to_str().unwrap())
        .replace("__PREFIX__", prefix.to_str().unwrap());
    std::fs::write(prefix.join("nginx.conf"), conf).unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _nginx = Kill(
        std::process::Command::new(nginx)
            .args([
                "-c",
                prefix.join("nginx.conf").to_str().unwrap(),
                "-p",
                prefix.to_str().unwrap(),
            ])
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let site = format!("http://127.0.0.1:{port}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "nginx did not start");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }

    // The same files, types and caching as quet-server's own answers.
    // Raw HTTP/1.1, so that nothing between the test and nginx rewrites headers.
    let head = |path: &str, gzip: bool| {
        use std::io::{Read, Write};
        let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let enc = if gzip {
            "Accept-Encoding: gzip\r\n"
        } else {
            ""
        };
        write!(
            c,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{enc}\r\n"
        )
        .unwrap();
        let mut resp = Vec::new();
        c.read_to_end(&mut resp).unwrap();
        let text = String::from_utf8_lossy(&resp);
        let head = text.split("\r\n\r\n").next().unwrap().to_string();
        let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
        let h = |n: &str| {
            head.lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case(n).then(|| v.trim().to_string())
                })
                .unwrap_or_default()
        };
        (
            status,
            h("content-type"),
            h("cache-control"),
            h("content-encoding"),
        )
    };
    for path in ["/C", "/c", "/"] {
        let (s, ct, cc, _) = head(path, false);
        assert_eq!(
            (s, ct.as_str(), cc.as_str()),
            (200, "text/html; charset=utf-8", "no-cache"),
            "{path}"
        );
    }
    let (_, ct, cc, _) = head("/sw.js", false);
    assert!(
        ct.starts_with("text/javascript") && cc == "no-cache",
        "{ct} {cc}"
    );
    let shell = std::fs::read_to_string(out.join("index.html")).unwrap();
    let assets = shell
        .split("/a/")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let (s, ct, cc, ce) = head(&format!("/a/{assets}/quet_web_bg.wasm"), true);
    assert_eq!(
        (s, ct.as_str(), ce.as_str()),
        (200, "application/wasm", "gzip")
    );
    assert_eq!(cc, "public, max-age=31536000, immutable");
    assert_eq!(head("/v1/bulletins/head", false).2, "no-cache");

    // A phone opens a venue's link on the static site: checks in, pins the authority.
    let mut b = Browser::launch(&[]);
    let p = b.page(W, H);
    let url = display_code(&venue);
    let fragment = url.rsplit_once('#').unwrap().1;
    open_link(&mut b, &p, &format!("{site}/C#{fragment}"));
    let text = b
        .js(&p, "document.body.innerText")
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        text.contains("Chè Bà Thìn Export") && text.contains(&w.fingerprint()),
        "{text}"
    );
}

#[test]
fn venue_display_page_shows_scannable_codes_from_a_display_file_offline() {
    if !cdp::available() {
        return;
    }
    let _one = world::serial();
    let w = World::start();
    let venue = w.venue(
        "Tiệm Trà Màn Hình",
        "8 Lý Đạo Thành, Hoàn Kiếm",
        Category::Restaurant,
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let today = quet_protocol::time::UnixTime(now).day().unwrap();
    // What `quet-venue display-export --days 2` writes: day keys, no master.
    let file = venue
        .display_file(today, 2)
        .unwrap()
        .seal(&mut quet_venue::system_rng(), "quầy số 1")
        .unwrap();

    // An old phone at the counter opens /display and imports the file.
    let mut b = Browser::launch(&[]);
    let p = b.page(W, H);
    b.goto(&p, &format!("{}/display", w.base));
    b.wait_js(&p, "document.body.dataset.screen === 'import'", 30);
    b.js(
        &p,
        &format!(
            "(() => {{ const dt = new DataTransfer(); dt.items.add(new File([{file:?}], 'venue.quet-display')); \
             document.querySelector('#display-file').files = dt.files; return true; }})()"
        ),
    );
    b.type_into(&p, "#display-passphrase", "sai mật khẩu");
    b.click(&p, "#display-open");
    b.wait_js(
        &p,
        "document.querySelector('#display-out [data-error]')",
        30,
    );
    assert_eq!(
        b.js(
            &p,
            "document.querySelector('#display-out [data-error]').dataset.error"
        ),
        "wrong_passphrase"
    );
    b.type_into(&p, "#display-passphrase", "quầy số 1");
    b.click(&p, "#display-open");
    b.wait_js(
        &p,
        "document.body.dataset.screen === 'display' && document.querySelector('#qr')",
        30,
    );
    let shown = b
        .js(&p, "document.querySelector('#showing').dataset.url")
        .as_str()
        .unwrap()
        .to_string();
    if let Some(src) = axe_source() {
        let found = axe(&mut b, &p, &src);
        assert!(found.is_empty(), "axe-core on the display: {found:?}");
    }
    let png = screenshot_dir().join("20-venue-display.png");
    b.screenshot(&p, &png);

    // The code on the screen is what the page says, read back from the pixels.
    let read = quet_client::qr::decode_image(&std::fs::read(&png).unwrap()).unwrap();
    assert_eq!(read, shown);

    // A phone scanning it checks in at this venue.
    let phone = b.page(W, H);
    open_link(&mut b, &phone, &read);
    let text = b
        .js(&phone, "document.body.innerText")
        .as_str()
        .unwrap()
        .to_string();
    assert!(text.contains("Tiệm Trà Màn Hình"), "{text}");

    // Offline after a restart: the page comes from the service worker's cache,
    // the file from this device (still encrypted); only the passphrase is asked.
    b.wait_js(&p, "navigator.serviceWorker.controller !== null", 30);
    let cached = "(async () => { for (const k of await caches.keys()) { const c = await caches.open(k); \
        if ((await c.keys()).some((r) => r.url.endsWith('/quet_display_bg.wasm'))) return true; } return false; })()";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while b.js(&p, cached) != Value::Bool(true) {
        assert!(
            std::time::Instant::now() < deadline,
            "the display's wasm was not cached"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    b.offline(&p, true);
    b.goto(&p, &format!("{}/display", w.base));
    b.wait_js(&p, "document.body.dataset.screen === 'import'", 30);
    assert_eq!(
        b.js(&p, "document.querySelector('#display-file') === null"),
        true,
        "the imported file was not kept"
    );
    b.type_into(&p, "#display-passphrase", "quầy số 1");
    b.click(&p, "#display-open");
    b.wait_js(&p, "document.querySelector('#qr')", 30);
    let stored = b.js(&p, "localStorage.getItem('quet.display-file')");
    assert!(
        !stored.as_str().unwrap().contains("Tiệm Trà"),
        "the display file is kept in plaintext"
    );
}

#[test]
fn a_passkey_with_prf_unlocks_the_diary_in_chromiums_virtual_authenticator() {
    if !cdp::available() {
        return;
    }
    let _one = world::serial();
    let w = World::start();
    let venue = w.venue(
        "Bánh Mì Khóa Vân Tay",
        "3 Hàng Cá, Hoàn Kiếm",
        Category::Restaurant,
    );
    // WebAuthn needs a domain (an IP address is not a valid relying party id):
    // the same server as `localhost`.
    let site = w.base.replace("127.0.0.1", "localhost");
    let url = display_code(&venue);
    let fragment = url.rsplit_once('#').unwrap().1;
    let mut b = Browser::launch(&[]);
    let p = b.page(W, H);
    // A platform authenticator with user verification and PRF (hmac-secret), as
    // a phone's fingerprint or face unlock would be.
    b.call("WebAuthn.enable", serde_json::json!({}), Some(&p.session))
        .unwrap();
    b.call(
        "WebAuthn.addVirtualAuthenticator",
        serde_json::json!({"options": {
            "protocol": "ctap2", "ctap2Version": "ctap2_1", "transport": "internal",
            "hasResidentKey": true, "hasUserVerification": true, "isUserVerified": true,
            "hasPrf": true, "automaticPresenceSimulation": true}}),
        Some(&p.session),
    )
    .unwrap();
    open_link(&mut b, &p, &format!("{site}/C#{fragment}"));
    b.click(&p, "#set-pin");
    b.wait_js(&p, "document.body.dataset.screen === 'pin'", 10);
    b.type_into(&p, "#new-pin", "9753");
    b.type_into(&p, "#new-pin-again", "9753");
    b.click(&p, "#save-pin");
    b.wait_js(&p, "document.querySelector('#pin-saved')", 30);
    b.click(&p, "nav [data-tab=more]");
    b.click(&p, "#go-settings");
    b.wait_js(&p, "document.querySelector('#add-passkey')", 10);
    b.click(&p, "#add-passkey");
    b.wait_js(
        &p,
        "document.body.innerText.includes('Đã thêm passkey') || document.querySelector('[data-error]')",
        30,
    );
    let err = b.js(
        &p,
        "document.querySelector('[data-error]')?.innerText || ''",
    );
    assert_eq!(err, Value::String(String::new()), "adding the passkey");

    // Restarted: locked; the passkey (no PIN typed) opens the diary.
    b.goto(&p, &format!("{site}/"));
    b.wait_js(&p, "document.body.dataset.screen === 'home'", 30);
    b.click(&p, "nav [data-tab=diary]");
    b.wait_js(&p, "document.querySelector('#unlock-passkey')", 10);
    b.screenshot(&p, &screenshot_dir().join("21-unlock-passkey.png"));
    b.click(&p, "#unlock-passkey");
    b.wait_js(
        &p,
        "document.querySelector('#diary-list') || document.querySelector('#unlock-out [data-error]')",
        30,
    );
    let diary = b
        .js(&p, "document.querySelector('main').innerText")
        .as_str()
        .unwrap()
        .to_string();
    assert!(diary.contains("Bánh Mì Khóa Vân Tay"), "{diary}");
}
