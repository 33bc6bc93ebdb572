//! Sync and report against the real diagnosis server (`quet-server`) on loopback:
//! pin its descriptor, check in, report with a staff-issued authorization code,
//! staff approve and publish, then sync and see the alert; a phone that was not
//! there sees nothing.

use std::net::{SocketAddr, TcpListener};

use quet_client::{Client, SqliteStore, Transport, UnixTime, UreqTransport};
use quet_protocol::authority::AuthorityDescriptor;
use quet_protocol::category::Category;
use quet_protocol::code::{CodeIssuer, VenueInfo};
use quet_protocol::testing::test_rng;
use quet_protocol::venue_keys::VenueMasterKey;

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn admin(base: &str, token: &str, path: &str, body: serde_json::Value) -> serde_json::Value {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut resp = agent
        .post(&format!("{base}{path}"))
        .header("authorization", &format!("Bearer {token}"))
        .header("content-type", "application/json")
        .send(body.to_string().as_bytes())
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap();
    assert!(status < 300, "{path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
}

fn admin_get(base: &str, token: &str, path: &str) -> serde_json::Value {
    let mut resp = ureq::get(&format!("{base}{path}"))
        .header("authorization", &format!("Bearer {token}"))
        .call()
        .unwrap();
    serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap()
}

#[test]
fn sync_and_report_against_the_real_server() {
    // A free loopback port, so the signed descriptor can carry the real base URL.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let ha_dir = tempfile::tempdir().unwrap();
    let data = ha_dir.path().join("ha");
    let init = quet_server::init_authority(&quet_server::InitOptions {
        data_dir: data.clone(),
        name: "Sở Y tế Hà Nội".into(),
        base_url: base.clone(),
        id: None,
    })
    .unwrap();
    let token = quet_server::add_staff(&data, "alice").unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let server = rt
        .block_on(quet_server::start(
            quet_server::Config::new(&data, addr),
            false,
        ))
        .unwrap();

    let http = UreqTransport::default();
    let descriptor_bytes = http
        .get(&format!("{base}/v1/descriptor"), 65_536)
        .unwrap()
        .body;
    let descriptor = AuthorityDescriptor::decode(&descriptor_bytes).unwrap();
    assert_eq!(descriptor.fingerprint(), init.fingerprint);

    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    let mut case: Client<SqliteStore> = Client::open_dir(dir_a.path()).unwrap();
    let mut contact: Client<SqliteStore> = Client::open_dir(dir_b.path()).unwrap();
    let mut bystander = Client::open_dir(&dir_b.path().join("other")).unwrap();
    for c in [&mut case, &mut contact, &mut bystander] {
        c.pin_authority(&descriptor_bytes).unwrap();
    }

    let mut rng = test_rng(11);
    let mut venue = CodeIssuer::new(
        VenueMasterKey::generate(&mut rng),
        VenueInfo {
            name: "Phở Thìn".into(),
            address: "13 Lò Đúc, Hà Nội".into(),
            category: Category::Restaurant,
            max_stay_minutes: 120,
        },
        &descriptor,
    )
    .unwrap();
    let t = UnixTime(now() - 3000);
    let url = venue.screen_code(&mut rng, t).unwrap().to_url(&base);
    case.check_in(&url, t).unwrap();
    contact.check_in(&url, UnixTime(t.0 + 30)).unwrap();
    case.check_out(None, UnixTime(t.0 + 1800)).unwrap();
    contact.check_out(None, UnixTime(t.0 + 1200)).unwrap();

    // The case reports with a staff-issued code.
    let code = admin(&base, &token, "/admin/v1/auth-codes", serde_json::json!({}));
    let code = code["auth_code"].as_str().unwrap().to_string();
    let plan = case
        .report_preview(&http, None, &code, UnixTime(now()))
        .unwrap();
    assert_eq!(plan.check_ins.len(), 1);
    let receipt = case.report_submit(&http, &plan).unwrap();
    assert_eq!(receipt.sent, 1);
    // The code is spent.
    let e = case.report_submit(&http, &plan).unwrap_err();
    assert_eq!(e.kind(), "auth_code_invalid");

    // Staff approve and publish.
    let reviews = admin_get(&base, &token, "/admin/v1/reviews");
    assert_eq!(reviews.as_array().unwrap().len(), 1, "{reviews}");
    assert_eq!(reviews[0]["venue_name"], "Phở Thìn");
    let id = reviews[0]["id"].as_u64().unwrap();
    admin(
        &base,
        &token,
        &format!("/admin/v1/reviews/{id}/approve"),
        serde_json::json!({"severity": "isolate", "message_vi": "Hãy cách ly.",
            "message_en": "Please isolate.", "buffer_minutes": 30}),
    );
    admin(&base, &token, "/admin/v1/publish", serde_json::json!({}));

    let later = UnixTime(now() + 60);
    let r = contact.sync(&http, later, &mut |_| {}).unwrap();
    assert_eq!(r.new_alerts.len(), 1, "{r:?}");
    assert_eq!(r.new_alerts[0].severity, "isolate");
    let alerts = contact.alerts().unwrap();
    assert_eq!(alerts[0].venue_name, "Phở Thìn");
    assert_eq!(alerts[0].severity, "isolate");
    assert_eq!(alerts[0].message_en, "Please isolate.");
    // Re-sync: no duplicate.
    let r = contact.sync(&http, later, &mut |_| {}).unwrap();
    assert!(r.new_alerts.is_empty());
    assert_eq!(contact.alerts().unwrap().len(), 1);
    // Someone who was never there learns nothing.
    let r = bystander.sync(&http, later, &mut |_| {}).unwrap();
    assert!(r.new_alerts.is_empty());
    assert!(r.authorities[0].accepted >= 1);

    rt.block_on(server.shutdown()).unwrap();
}
