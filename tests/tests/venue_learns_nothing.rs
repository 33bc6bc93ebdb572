//! Property 4: the venue learns nothing about who scanned. The real display server
//! serves its code; phones read it and check in; the display has no route that
//! accepts anything, phones send the venue nothing, and the venue's files are
//! byte-for-byte unchanged afterwards.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use quet_client::Client;
use quet_protocol::authority::{AuthorityId, AuthorityKeys};
use quet_protocol::category::Category;
use quet_protocol::time::UnixTime;
use quet_tests::harness::http;
use quet_venue::display::{Display, SystemClock};
use quet_venue::{NewVenue, Venue};
use rand_core::UnwrapErr;

fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

#[test]
fn scans_leave_no_trace_at_the_venue() {
    let dir = tempfile::tempdir().unwrap();
    let venue_dir = dir.path().join("venue");
    std::fs::create_dir_all(&venue_dir).unwrap();
    let mut rng = UnwrapErr(getrandom::SysRng);
    let ha = AuthorityKeys::generate(&mut rng);
    let desc = ha.descriptor(AuthorityId(77), "Sở Y tế Huế", "http://127.0.0.1:9");
    let desc_bytes = ha.sign_descriptor(&desc).unwrap();
    let new = NewVenue::new(
        "Bún bò Mụ Rơi",
        "Nguyễn Du, Huế",
        Category::Restaurant,
        "http://127.0.0.1:9",
        desc_bytes.clone(),
    );
    let venue = Venue::create(&mut rng, &venue_dir.join("venue.json"), &new, None).unwrap();
    let before = snapshot(&venue_dir);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let display = Arc::new(Display::new(&venue, Arc::new(SystemClock)).unwrap());
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    runtime.spawn(quet_venue::display::serve(listener, display));

    // Three phones scan what the screen shows and check in, offline.
    for n in 0..3 {
        let code = http("GET", &format!("{base}/api/code"), None, None)
            .unwrap()
            .json()
            .unwrap();
        let url = code["url"].as_str().unwrap().to_owned();
        let mut phone = Client::open_dir(&dir.path().join(format!("phone-{n}"))).unwrap();
        phone.pin_authority(&desc_bytes).unwrap();
        let now = UnixTime(code["timestamp"].as_u64().unwrap());
        let checked = phone.check_in(&url, now).unwrap();
        assert_eq!(checked.venue_name, "Bún bò Mụ Rơi");
    }

    // Nothing can be sent to the display: every path refuses other methods.
    for path in [
        "/",
        "/api/code",
        "/code.svg",
        "/healthz",
        "/api/checkin",
        "/scan",
    ] {
        for method in ["POST", "PUT"] {
            let a = http(
                method,
                &format!("{base}{path}"),
                None,
                Some(&serde_json::json!({"token": "x"})),
            )
            .unwrap();
            assert!(
                a.status == 404 || a.status == 405,
                "{method} {path} answered {}",
                a.status
            );
        }
    }
    // The venue's files are exactly as before the scans; nothing new appeared.
    assert_eq!(snapshot(&venue_dir), before);
    drop(runtime);
}
