//! What a phone would see: the display page opened in headless Chromium, the
//! screenshot's QR decoded (rqrr, and zbarimg when installed) to a code that
//! verifies with the protocol crate.

mod common;

use std::sync::Arc;

use common::*;
use quet_protocol::category::Category;
use quet_protocol::code::CheckInCode;
use quet_venue::display::{Display, SystemClock};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_screenshot_of_the_display_decodes_to_a_verifying_code() {
    if !have_tool("chromium", "chromium") {
        return;
    }
    let mut w = World::new();
    let (name, addr) = longest_name_address();
    let new = w.new_venue(&name, &addr, Category::MallSupermarket);
    let v =
        quet_venue::Venue::create(&mut w.rng, &w.dir.path().join("v.json"), &new, None).unwrap();
    let d = Arc::new(Display::new(&v, Arc::new(SystemClock)).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(quet_venue::display::serve(listener, d));

    for (i, size) in [(1000, 1000), (1280, 720)].into_iter().enumerate() {
        let png = w.path(&format!("shot{i}.png"));
        let url = format!("http://127.0.0.1:{port}/");
        let png2 = png.clone();
        tokio::task::spawn_blocking(move || chromium_screenshot(&url, &png2, size))
            .await
            .unwrap()
            .unwrap();
        // To look at the page: QUET_VENUE_SHOTS=/some/dir cargo test --test chromium
        if let Ok(dir) = std::env::var("QUET_VENUE_SHOTS") {
            std::fs::copy(
                &png,
                std::path::Path::new(&dir).join(format!("display-{i}.png")),
            )
            .unwrap();
        }
        let now = quet_venue::display::Clock::now(&SystemClock);
        let mut texts = rqrr_decode(&png);
        if let Some(z) = zbarimg(&png) {
            texts.extend(z.into_iter().map(|b| String::from_utf8(b).unwrap()));
        }
        assert!(
            !texts.is_empty(),
            "no QR decoded from the {size:?} screenshot"
        );
        for text in texts {
            let (code, _) = CheckInCode::parse_text_and_verify(&text, now, &w.descriptor)
                .unwrap_or_else(|e| panic!("{size:?}: {e}: {text}"));
            assert_eq!(code.venue.name, name);
        }
    }
}

/// A clock that moves 30 s forward each time it is read: the page is rendered in
/// one slot and the page's own refresh (after its countdown) lands in the next.
struct StepClock(std::sync::atomic::AtomicU64);

impl quet_venue::display::Clock for StepClock {
    fn now(&self) -> quet_protocol::time::UnixTime {
        quet_protocol::time::UnixTime(self.0.fetch_add(30, std::sync::atomic::Ordering::SeqCst))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_fetches_the_next_code_when_its_countdown_ends() {
    if !have_tool("chromium", "chromium") {
        return;
    }
    let mut w = World::new();
    let v = w.venue("v.json", Category::Office);
    let t0 = at(9, 0).0;
    let d = Arc::new(Display::new(&v, Arc::new(StepClock(t0.into()))).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(quet_venue::display::serve(listener, d.clone()));
    let url = format!("http://127.0.0.1:{port}/");
    let out = tokio::task::spawn_blocking(move || {
        let profile = tempfile::tempdir().unwrap();
        std::process::Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--virtual-time-budget=45000",
                "--dump-dom",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(url)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    let first_slot = t0 / 30;
    // The page was rendered with slot s0; after its 30-s countdown the script
    // fetched /api/code and swapped in the code of slot s0 + 1.
    assert!(
        dom.contains(&format!("data-serial=\"{}\"", first_slot + 1)),
        "page did not refresh: {}",
        &dom[..dom.len().min(600)]
    );
    let next = match d
        .showing_at(quet_protocol::time::UnixTime(t0 + 30))
        .unwrap()
    {
        quet_venue::display::Showing::Code(c) => c,
        other => panic!("{other:?}"),
    };
    assert_eq!(next.slot, first_slot + 1);
    CheckInCode::parse_and_verify(&next.bytes, next.timestamp, &w.descriptor).unwrap();
}
