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

/// Asserts that nothing the page stored holds any of `secrets` (plaintext bytes).
fn assert_stored_nothing(b: &mut Browser, p: &Page, secrets: &[(&str, Vec<u8>)]) -> usize {
    let rows = b.js(p, READ_STORAGE);
    let rows = rows.as_array().unwrap();
    assert!(
        rows.iter().any(|r| r["where"].as_str().unwrap().starts_with("indexeddb:")),
        "the app stored nothing in IndexedDB: {rows:?}"
    );
    for r in rows {
        let key_hex = hex(r["key"].as_str().unwrap().as_bytes());
        let value = r["value"].as_str().unwrap();
        for (what, secret) in secrets {
            let s = hex(secret);
            assert!(
                !value.contains(&s) && !key_hex.contains(&s),
                "{what} found in {} key {}",
                r["where"],
                r["key"]
            );
        }
    }
    rows.len()
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
    let text = b.js(&p, "document.body.innerText").as_str().unwrap().to_string();
    assert!(text.contains(marker), "{text}");
    assert!(text.contains("Tự động check-out lúc"), "{text}");
    assert!(text.contains(&w.fingerprint()), "fingerprint not shown: {text}");
    assert_eq!(
        b.js(&p, "location.hash"),
        Value::String(String::new()),
        "the code stays in the address bar"
    );
    b.screenshot(&p, &screenshot_dir().join("01-check-in-first-visit.png"));

    // The stay is on the home screen after a reload (committed to IndexedDB).
    b.goto(&p, &format!("{}/", w.base));
    b.wait_js(&p, "document.body.dataset.screen === 'home'", 30);
    b.wait_js(&p, &format!("document.body.innerText.includes({marker:?})"), 10);
    b.screenshot(&p, &screenshot_dir().join("02-home-checked-in.png"));

    // What the phone stores: no venue name, no address, no code, in any form.
    let code = code_bytes(&url);
    let payload = url.rsplit_once('#').unwrap().1.as_bytes().to_vec();
    let n = assert_stored_nothing(
        &mut b,
        &p,
        &[
            ("venue name", marker.as_bytes().to_vec()),
            ("venue address", "12 Hàng Bạc".as_bytes().to_vec()),
            ("code bytes", code.clone()),
            ("code text", payload),
            ("the code's venue-time key", code[14..46].to_vec()),
        ],
    );
    eprintln!("storage rows checked: {n}");
}
