//! Chaff in the phone web app, in real headless Chromium against the real
//! `quet-server`: a chaff pair and a real report look the same on the wire
//! (the same endpoints in the same order, the same request body and header
//! lengths, the same statuses and response lengths, from the DevTools request
//! log), and the chaff stores nothing on the server while the real report does.
//!
//! The chaff pair is made due by writing the core's schedule row
//! (`quet_client::chaff::schedule_row`) into the app's IndexedDB, as a phone whose
//! schedule came due would hold it, then running the app's own timer callback
//! (`net.chaffTick()`): no hook in the app.
//!
//! Under `CI=true` a missing Chromium fails this test; elsewhere it prints
//! "skipped: chromium missing" and passes.

mod support;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use quet_protocol::authority::AuthorityDescriptor;
use quet_protocol::category::Category;
use serde_json::{Value, json};
use support::cdp::{self, Browser, Page};
use support::world::{self, World, display_code};

const W: u32 = 360;
const H: u32 = 640;

/// What the network saw of one request to the report endpoints.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    method: String,
    path: String,
    /// Request body bytes.
    body_len: usize,
    /// Bytes of the request's header names and values (as the page sent them).
    header_len: usize,
    status: u64,
    /// Bytes received for the answer, headers included (`Network.loadingFinished`).
    encoded_len: u64,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The page's requests to `/v1/reports*` since the last drain, once each has
/// finished loading.
fn report_traffic(b: &mut Browser, p: &Page, base: &str) -> Vec<Seen> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut events = Vec::new();
    loop {
        events.extend(b.drain_events());
        let of = |m: &str| {
            events
                .iter()
                .filter(|e| e["method"] == m && e["sessionId"] == p.session.as_str())
                .collect::<Vec<_>>()
        };
        let sent: Vec<&Value> = of("Network.requestWillBeSent")
            .into_iter()
            .filter(|e| {
                e["params"]["request"]["url"]
                    .as_str()
                    .is_some_and(|u| u.starts_with(&format!("{base}/v1/reports")))
            })
            .collect();
        let finished = of("Network.loadingFinished");
        let responses = of("Network.responseReceived");
        let find = |list: &[&Value], id: &Value| {
            list.iter()
                .find(|e| &e["params"]["requestId"] == id)
                .map(|e| (*e).clone())
        };
        let all_done = sent
            .iter()
            .all(|s| find(&finished, &s["params"]["requestId"]).is_some());
        if !all_done {
            assert!(
                Instant::now() < deadline,
                "requests did not finish: {sent:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
            continue;
        }
        let sent: Vec<Value> = sent.into_iter().cloned().collect();
        return sent
            .iter()
            .map(|s| {
                let id = &s["params"]["requestId"];
                let req = &s["params"]["request"];
                let body_len = match req["postData"].as_str() {
                    Some(d) => d.len(),
                    // Large bodies are not in the event: ask for them.
                    None => b
                        .call(
                            "Network.getRequestPostData",
                            json!({"requestId": id}),
                            Some(&p.session),
                        )
                        .map(|r| r["postData"].as_str().unwrap_or("").len())
                        .expect("Network.getRequestPostData: the body a page sent"),
                };
                let header_len = req["headers"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| k.len() + v.as_str().unwrap_or("").len())
                    .sum();
                let url = req["url"].as_str().unwrap();
                Seen {
                    method: req["method"].as_str().unwrap().to_string(),
                    path: url.strip_prefix(base).unwrap().to_string(),
                    body_len,
                    header_len,
                    status: find(&responses, id).unwrap()["params"]["response"]["status"]
                        .as_u64()
                        .unwrap(),
                    encoded_len: find(&finished, id).unwrap()["params"]["encodedDataLength"]
                        .as_f64()
                        .unwrap() as u64,
                }
            })
            .collect();
    }
}

/// Writes the core's chaff schedule row into the app's IndexedDB (with a new
/// store generation, so the core reloads its rows), then runs the app's chaff
/// timer callback; returns what it resolved to (when the next step is due).
fn chaff_tick_with_schedule(b: &mut Browser, p: &Page, row: &[u8]) -> Value {
    let row: Vec<String> = row.iter().map(u8::to_string).collect();
    b.js(
        p,
        &format!(
            r#"(async () => {{
  const req = (r) => new Promise((ok, no) => {{ r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); }});
  const db = await req(indexedDB.open("quet"));
  await new Promise((ok, no) => {{
    const tx = db.transaction("rows", "readwrite");
    tx.objectStore("rows").put(new Uint8Array([{}]), "meta/{}");
    tx.objectStore("rows").put(crypto.getRandomValues(new Uint8Array(8)), "gen/store");
    tx.oncomplete = ok; tx.onerror = () => no(tx.error);
  }});
  db.close();
  return await window.__quet.net.chaffTick();
}})()"#,
            row.join(","),
            quet_client::chaff::META_SCHEDULE
        ),
    )
}

fn pending_reviews(w: &World) -> usize {
    let (s, list) = w.admin("GET", "/admin/v1/reviews", None);
    assert_eq!(s, 200, "{list}");
    list.as_array().unwrap().len()
}

#[test]
fn a_chaff_pair_looks_like_a_real_report_on_the_wire_and_stores_nothing() {
    if !cdp::available() {
        return;
    }
    let _one = world::serial();
    let w = World::start();
    let authority = AuthorityDescriptor::decode(&w.descriptor).unwrap().id.0;
    let venue = w.venue(
        "Nhà sách Tràng Tiền",
        "44 Tràng Tiền",
        Category::MallSupermarket,
    );

    let mut b = Browser::launch(&[]);
    let p = b.page(W, H);
    b.goto(&p, &display_code(&venue));
    b.wait_js(&p, "document.body.dataset.screen === 'confirm'", 60);
    b.wait_js(&p, "window.__quet && window.__quet.net", 20);
    // On opening, the app drew its schedule: the first pair is at least an hour
    // away, so nothing was sent yet.
    let due = b.js(&p, "window.__quet.core.chaffDue()");
    assert_eq!(due["step"], "preview", "{due}");
    assert!(due["at"].as_u64().unwrap() >= unix_now() + 3500, "{due}");
    b.drain_events();

    // The chaff pair: the preview comes due, then (after its drawn consent gap,
    // here made due at once) the upload.
    let after_preview =
        chaff_tick_with_schedule(&mut b, &p, &quet_client::chaff::schedule_row(1, None));
    assert_eq!(after_preview["step"], "upload", "{after_preview}");
    let gap = after_preview["at"]
        .as_u64()
        .unwrap()
        .saturating_sub(unix_now());
    assert!(gap <= 240, "consent gap {gap} s");
    let after_upload = chaff_tick_with_schedule(
        &mut b,
        &p,
        &quet_client::chaff::schedule_row(unix_now() + 30 * 86_400, Some((unix_now(), authority))),
    );
    assert_eq!(after_upload["step"], "preview", "{after_upload}");
    let chaff = report_traffic(&mut b, &p, &w.base);
    assert_eq!(pending_reviews(&w), 0, "chaff stored something");

    // A real report from the same phone, through the screens.
    let code = w.auth_code();
    b.click(&p, "nav [data-tab=more]");
    b.click(&p, "#go-report");
    b.wait_js(&p, "document.body.dataset.screen === 'report'", 10);
    b.type_into(&p, "#auth-code", &code);
    b.click(&p, "#preview-button");
    b.wait_js(&p, "document.querySelector('#preview')", 30);
    b.click(&p, "#consent");
    b.js(
        &p,
        "document.querySelector('#consent').dispatchEvent(new Event('change')), true",
    );
    b.click(&p, "#send");
    b.wait_js(
        &p,
        "document.querySelector('#receipt') || document.querySelector('#report-out [data-error]')",
        30,
    );
    assert!(
        b.js(&p, "!!document.querySelector('#receipt')") == Value::Bool(true),
        "the real report failed: {}",
        b.js(&p, "document.querySelector('#report-out').innerText")
    );
    let real = report_traffic(&mut b, &p, &w.base);
    assert_eq!(pending_reviews(&w), 1, "the real report is pending review");

    eprintln!("real:  {real:?}\nchaff: {chaff:?}");
    assert_eq!(real.len(), 2, "{real:?}");
    assert_eq!(real[0].path, "/v1/reports/preview");
    assert_eq!(real[1].path, "/v1/reports");
    assert_eq!(real[0].status, 200);
    assert_eq!(real[1].status, 202);
    assert!(real[1].body_len > 100 * 800, "{real:?}");
    assert_eq!(real[0].body_len, quet_client::chaff::PREVIEW_BODY_LEN);
    assert_eq!(real[1].body_len, quet_client::chaff::UPLOAD_BODY_LEN);
    // What an observer of the connection could measure is the same.
    assert_eq!(chaff, real);
}
