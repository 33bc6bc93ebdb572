//! The venue registry against the real `quet-server` binary: self-registration
//! with proof of possession, ward officers limited to their district, idempotent
//! batches, approval, renewal, revocation, statistics joined with heartbeats (JSON
//! and CSV), the console page, and the review queue flagging a self-made code that
//! borrows a registered venue's name.

mod common;
mod console_common;

use common::*;
use data_encoding::{BASE64, HEXLOWER};
use ed25519_dalek::{Signer, SigningKey};
use quet_protocol::testing::test_rng;
use quet_protocol::time::UnixTime;
use quet_protocol::venue_keys::VenueMasterKey;
use quet_server::registry::REGISTRATION_SIGNATURE_LABEL;
use serde_json::{Value, json};

const RELAXED: &[&str] = &["--attempts-per-minute", "1000", "--publish-interval", "0"];

/// A console session of a staff member with a known password, as the console's own
/// pages use it: session cookie from the login form, the CSRF token of the
/// session, same-origin headers on every form.
struct Console<'a> {
    s: &'a Server,
    cookie: String,
    csrf: String,
}

const PASSWORD: &str = "mật khẩu đủ dài 2021";

fn hidden(html: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&needle)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + needle.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

impl<'a> Console<'a> {
    /// Adds `name` (all roles) and logs them in.
    fn login(ha: &Authority, s: &'a Server, name: &str) -> Console<'a> {
        console_common::add_staff(&ha.data(), name, "tracer,publisher,administrator", PASSWORD);
        let page = request("GET", &s.url("/console/login"), &[], None);
        let login_csrf = hidden(&String::from_utf8_lossy(&page.body), "login_csrf");
        let pre = Self::cookies(&page, "");
        let mut c = Console {
            s,
            cookie: pre,
            csrf: String::new(),
        };
        let r = c.post(
            "/console/login",
            &[
                ("name", name),
                ("password", PASSWORD),
                ("login_csrf", &login_csrf),
            ],
        );
        assert_eq!(r.status, 303, "login");
        c.cookie = Self::cookies(&r, &c.cookie);
        let account = c.get("/console/account");
        assert_eq!(account.status, 200);
        c.csrf = hidden(&String::from_utf8_lossy(&account.body), "csrf");
        c
    }

    fn cookies(r: &Resp, old: &str) -> String {
        let mut jar: Vec<(String, String)> = old
            .split("; ")
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        for (k, v) in &r.headers {
            if k.eq_ignore_ascii_case("set-cookie") {
                let (name, value) = v.split(';').next().unwrap().split_once('=').unwrap();
                jar.retain(|(n, _)| n != name);
                if !value.is_empty() && !v.contains("Max-Age=0") {
                    jar.push((name.to_owned(), value.to_owned()));
                }
            }
        }
        jar.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn get(&self, path: &str) -> Resp {
        request(
            "GET",
            &self.s.url(path),
            &[("Cookie", self.cookie.as_str())],
            None,
        )
    }

    fn post(&self, path: &str, form: &[(&str, &str)]) -> Resp {
        let origin = self.s.base.clone();
        let mut fields: Vec<(&str, &str)> = form.to_vec();
        if !self.csrf.is_empty() {
            fields.push(("csrf", &self.csrf));
        }
        request(
            "POST",
            &self.s.url(path),
            &[
                ("Cookie", self.cookie.as_str()),
                ("Origin", origin.as_str()),
                ("Sec-Fetch-Site", "same-origin"),
            ],
            Some((
                "application/x-www-form-urlencoded",
                serde_urlencoded::to_string(&fields).unwrap().into_bytes(),
            )),
        )
    }
}

fn key(seed: u8) -> SigningKey {
    VenueMasterKey::generate(&mut test_rng(seed)).signing_key()
}

fn signed(k: &SigningKey, name: &str, district: &str) -> Value {
    signed_with(k, name, "13 Lò Đúc, Hà Nội", "restaurant", district)
}

fn signed_with(k: &SigningKey, name: &str, address: &str, category: &str, district: &str) -> Value {
    let req = json!({
        "venue_key": HEXLOWER.encode(k.verifying_key().as_bytes()),
        "name": name,
        "address": address,
        "category": category,
        "district": district,
        "max_stay_minutes": 120,
    });
    let bytes = serde_json::to_vec(&req).unwrap();
    let mut msg = REGISTRATION_SIGNATURE_LABEL.to_vec();
    msg.extend_from_slice(&bytes);
    json!({
        "request": BASE64.encode(&bytes),
        "signature": HEXLOWER.encode(&k.sign(&msg).to_bytes()),
    })
}

fn ward_officer(ha: &Authority, name: &str, district: &str) -> String {
    cli(&[
        "ward-officer",
        "add",
        name,
        "--district",
        district,
        "--data",
        ha.data().to_str().unwrap(),
    ])
    .trim()
    .to_owned()
}

fn status_of(s: &Server, k: &SigningKey) -> Value {
    let r = get(&s.url(&format!(
        "/v1/registrations/{}",
        HEXLOWER.encode(k.verifying_key().as_bytes())
    )));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    r.json()
}

#[test]
fn self_registration_needs_the_key_and_a_resubmission_stores_nothing_new() {
    let ha = Authority::new();
    let s = Server::start(&ha.data(), RELAXED);
    let k = key(1);
    // A request signed by another key (someone registering a key they do not hold).
    let mut forged = signed(&k, "Phở Thìn", "Hai Bà Trưng");
    let other = signed(&key(2), "Phở Thìn", "Hai Bà Trưng");
    forged["signature"] = other["signature"].clone();
    post_json(&s.url("/v1/registrations"), &forged).assert_error(400, "bad_request");
    // Bad fields are refused even with a good signature.
    let long = "Đ".repeat(40);
    post_json(
        &s.url("/v1/registrations"),
        &signed(&k, &long, "Hai Bà Trưng"),
    )
    .assert_error(400, "bad_request");
    post_json(
        &s.url("/v1/registrations"),
        &signed_with(&k, "Phở Thìn", "13 Lò Đúc", "spaceport", "Hai Bà Trưng"),
    )
    .assert_error(400, "bad_request");
    let unknown = get(&s.url(&format!(
        "/v1/registrations/{}",
        HEXLOWER.encode(k.verifying_key().as_bytes())
    )));
    unknown.assert_error(404, "not_found");

    let r = post_json(
        &s.url("/v1/registrations"),
        &signed(&k, "Phở Thìn", "Hai Bà Trưng"),
    );
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    let id = r.json()["id"].as_i64().unwrap();
    assert_eq!(r.json()["status"], "pending");
    let again = post_json(
        &s.url("/v1/registrations"),
        &signed(&k, "Phở Thìn", "Hai Bà Trưng"),
    );
    assert_eq!(again.status, 200);
    assert_eq!(again.json()["id"], id);
    assert_eq!(again.json()["created"], false);
    // The same key with other details is a conflict, not a second venue.
    post_json(
        &s.url("/v1/registrations"),
        &signed(&k, "Phở Thìn 2", "Hai Bà Trưng"),
    )
    .assert_error(409, "conflict");
    let st = status_of(&s, &k);
    assert_eq!(st["status"], "pending");
    assert!(st["serial"].is_null() && st["certificate"].is_null());
    let list = admin(&s, &ha.token, "GET", "/admin/v1/registry", None).json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["submitted_by"], "venue");
}

#[test]
fn ward_officer_acts_only_in_their_district_and_a_batch_rerun_changes_nothing() {
    let ha = Authority::new();
    let s = Server::start(&ha.data(), RELAXED);
    let officer = ward_officer(&ha, "Cán bộ phường Hàng Bạc", "Hoàn Kiếm");
    let items: Vec<Value> = (0..3u8)
        .map(|i| {
            let district = if i == 2 { "Ba Đình" } else { "Hoàn Kiếm" };
            let mut v = signed(&key(10 + i), &format!("Quán {i}"), district);
            v["idempotency_key"] = json!(format!("row-{i}"));
            v
        })
        .collect();
    let body = json!({"registrations": items, "approve": true, "validity_days": 30});
    let r = admin(
        &s,
        &officer,
        "POST",
        "/admin/v1/registry/batch",
        Some(body.clone()),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let res = r.json()["results"].clone();
    assert_eq!(res[0]["status"], "approved");
    assert_eq!(res[0]["created"], true);
    assert!(res[0]["serial"].as_u64().unwrap() >= 1);
    assert_eq!(res[1]["status"], "approved");
    assert_ne!(res[0]["serial"], res[1]["serial"]);
    assert_eq!(res[2]["error"], "out_of_scope");
    // The validity is what was asked: 30 days from the start of today.
    let today_start = now() - now() % 86_400;
    assert_eq!(res[0]["valid_until"], today_start + 30 * 86_400);

    // A rerun (after a crash, say) registers nothing twice.
    let again =
        admin(&s, &officer, "POST", "/admin/v1/registry/batch", Some(body)).json()["results"]
            .clone();
    for i in 0..2 {
        assert_eq!(again[i]["id"], res[i]["id"]);
        assert_eq!(again[i]["created"], false);
        assert_eq!(again[i]["serial"], res[i]["serial"]);
    }
    // The same row key with a new venue key (the file was lost and re-made) is a
    // conflict, not a second registration.
    let mut remade = signed(&key(99), "Quán 0", "Hoàn Kiếm");
    remade["idempotency_key"] = json!("row-0");
    let r = admin(
        &s,
        &officer,
        "POST",
        "/admin/v1/registry/batch",
        Some(json!({"registrations": [remade], "approve": true})),
    );
    assert_eq!(r.json()["results"][0]["error"], "conflict");

    // Ba Đình's own self-registration: invisible and untouchable for this officer.
    let k = key(50);
    let id = post_json(
        &s.url("/v1/registrations"),
        &signed(&k, "Chợ Ngọc Hà", "Ba Đình"),
    )
    .json()["id"]
        .as_i64()
        .unwrap();
    admin(
        &s,
        &officer,
        "POST",
        &format!("/admin/v1/registry/{id}/approve"),
        None,
    )
    .assert_error(404, "not_found");
    let seen = admin(&s, &officer, "GET", "/admin/v1/registry", None).json();
    assert_eq!(seen.as_array().unwrap().len(), 2);
    assert!(
        seen.as_array()
            .unwrap()
            .iter()
            .all(|r| r["district"] == "Hoàn Kiếm")
    );
    // Staff can; every call is audited under the actor's name.
    let r = admin(
        &s,
        &ha.token,
        "POST",
        &format!("/admin/v1/registry/{id}/approve"),
        None,
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"], "approved");
    assert_eq!(status_of(&s, &k)["status"], "approved");
    let audit = admin(&s, &ha.token, "GET", "/admin/v1/audit", None).json();
    let actions: Vec<(String, String)> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["staff"].as_str().unwrap().to_owned(),
                a["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(actions.contains(&(
        "ward:Cán bộ phường Hàng Bạc".into(),
        "registry.batch".into()
    )));
    assert!(actions.contains(&("alice".into(), "registry.approve".into())));
    // A disabled officer is locked out.
    cli(&[
        "ward-officer",
        "disable",
        "Cán bộ phường Hàng Bạc",
        "--data",
        ha.data().to_str().unwrap(),
    ]);
    admin(&s, &officer, "GET", "/admin/v1/registry", None).assert_error(401, "unauthorized");
    get(&s.url("/admin/v1/registry")).assert_error(401, "unauthorized");
}

#[test]
fn renewal_gives_a_new_serial_and_revocation_is_final() {
    let ha = Authority::new();
    let s = Server::start(&ha.data(), RELAXED);
    let d = descriptor(&s);
    let k = key(3);
    let id = post_json(
        &s.url("/v1/registrations"),
        &signed(&k, "Nhà thuốc An Khang", "Cầu Giấy"),
    )
    .json()["id"]
        .as_i64()
        .unwrap();
    admin(
        &s,
        &ha.token,
        "POST",
        &format!("/admin/v1/registry/{id}/renew"),
        None,
    )
    .assert_error(409, "conflict");
    let a = admin(
        &s,
        &ha.token,
        "POST",
        &format!("/admin/v1/registry/{id}/approve"),
        Some(json!({"validity_days": 10})),
    )
    .json();
    let b = admin(
        &s,
        &ha.token,
        "POST",
        &format!("/admin/v1/registry/{id}/renew"),
        Some(json!({"validity_days": 300})),
    )
    .json();
    assert!(b["serial"].as_u64() > a["serial"].as_u64());
    // The certificate verifies for exactly this key and these details.
    let cert_b64 = status_of(&s, &k)["certificate"]
        .as_str()
        .unwrap()
        .to_owned();
    let cert = quet_protocol::certificate::VenueCertificate::from_bytes(
        &BASE64.decode(cert_b64.as_bytes()).unwrap(),
    )
    .unwrap();
    assert_eq!(u64::from(cert.serial), b["serial"].as_u64().unwrap());
    let today = UnixTime(now()).day().unwrap();
    let verdict = |name: &str| {
        cert.verify(
            &d,
            &k.verifying_key().to_bytes(),
            quet_protocol::category::Category::Restaurant,
            name,
            "13 Lò Đúc, Hà Nội",
            today,
        )
    };
    assert!(matches!(
        verdict("Nhà thuốc An Khang"),
        quet_protocol::certificate::Registration::Registered { .. }
    ));
    assert!(matches!(
        verdict("Nhà thuốc Long Châu"),
        quet_protocol::certificate::Registration::Unregistered(_)
    ));
    assert_eq!(
        b["valid_until"].as_u64().unwrap() - b["valid_from"].as_u64().unwrap(),
        300 * 86_400
    );
    admin(
        &s,
        &ha.token,
        "POST",
        &format!("/admin/v1/registry/{id}/approve"),
        Some(json!({"validity_days": 5000})),
    )
    .assert_error(400, "bad_request");
    admin(
        &s,
        &ha.token,
        "POST",
        &format!("/admin/v1/registry/{id}/revoke"),
        Some(json!({"reason": ""})),
    )
    .assert_error(400, "bad_request");
    let r = admin(
        &s,
        &ha.token,
        "POST",
        &format!("/admin/v1/registry/{id}/revoke"),
        Some(json!({"reason": "khoá bị lộ / key stolen"})),
    );
    assert_eq!(r.status, 204);
    let st = status_of(&s, &k);
    assert_eq!(st["status"], "revoked");
    assert!(
        st["serial"].is_null(),
        "a revoked venue shows no certificate"
    );
    for path in ["approve", "renew", "revoke"] {
        let body = (path == "revoke").then(|| json!({"reason": "again"}));
        admin(
            &s,
            &ha.token,
            "POST",
            &format!("/admin/v1/registry/{id}/{path}"),
            body,
        )
        .assert_error(409, "conflict");
    }
    // The revocation list the bulletins carry holds exactly this key, until the
    // certificate would have expired (400 days from today).
    let conn = quet_server::db::open(&ha.data().join("quet.db")).unwrap();
    let live = quet_server::publish::live_revocations(&conn, now()).unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].venue_key, k.verifying_key().to_bytes());
    assert_eq!(u64::from(live[0].until.0), now() / 86_400 + 300);
}

#[test]
fn statistics_join_registrations_with_heartbeats_as_json_csv_and_a_chart() {
    let ha = Authority::new();
    let list = ha.dir.path().join("districts.txt");
    std::fs::write(&list, "Hoàn Kiếm\nBa Đình\nHai Bà Trưng\n").unwrap();
    cli(&[
        "districts",
        "import",
        list.to_str().unwrap(),
        "--data",
        ha.data().to_str().unwrap(),
    ]);
    let s = Server::start(&ha.data(), RELAXED);
    let officer = ward_officer(&ha, "Phường Hàng Trống", "Hoàn Kiếm");
    let items: Vec<Value> = (0..2u8)
        .map(|i| {
            let mut v = signed(&key(20 + i), &format!("Quán phở {i}"), "Hoàn Kiếm");
            v["idempotency_key"] = json!(format!("k{i}"));
            v
        })
        .collect();
    let r = admin(
        &s,
        &officer,
        "POST",
        "/admin/v1/registry/batch",
        Some(json!({"registrations": items, "approve": true})),
    );
    assert_eq!(r.status, 200);
    // One pending venue elsewhere.
    post_json(
        &s.url("/v1/registrations"),
        &signed(&key(30), "Chợ Hôm", "Hai Bà Trưng"),
    );
    // Heartbeats: one registered phở shop, one market nobody registered.
    let today = UnixTime(now()).day().unwrap().0;
    for (p, cat, district) in [(1u8, "restaurant", "Hoàn Kiếm"), (2, "market", "Ba Đình")] {
        let hb = post_json(
            &s.url("/v1/heartbeats"),
            &json!({"day": today, "pseudonym": HEXLOWER.encode(&[p; 16]), "category": cat, "district": district}),
        );
        assert_eq!(hb.status, 204);
    }
    let st = admin(
        &s,
        &ha.token,
        "GET",
        "/admin/v1/registry/stats?days=7",
        None,
    )
    .json();
    let district = |d: &str| {
        st["districts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["district"] == d)
            .cloned()
            .unwrap()
    };
    assert_eq!(district("Hoàn Kiếm")["registered"], 2);
    assert_eq!(district("Hai Bà Trưng")["pending"], 1);
    assert_eq!(district("Hai Bà Trưng")["registered"], 0);
    let day_row = |d: &str| {
        st["days"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["district"] == d && x["day"] == today)
            .cloned()
            .unwrap()
    };
    assert_eq!(day_row("Hoàn Kiếm")["registered"], 2);
    assert_eq!(day_row("Hoàn Kiếm")["active"], 1);
    assert_eq!(day_row("Ba Đình")["registered"], 0);
    assert_eq!(day_row("Ba Đình")["active"], 1);
    // The officer's view is their district only.
    let mine = admin(&s, &officer, "GET", "/admin/v1/registry/stats", None).json();
    assert!(
        mine["days"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["district"] == "Hoàn Kiếm")
    );
    // CSV.
    let csv = admin(
        &s,
        &ha.token,
        "GET",
        "/admin/v1/registry/stats?format=csv",
        None,
    );
    assert_eq!(csv.status, 200);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    let text = String::from_utf8(csv.body).unwrap();
    let date = quet_server::registry::iso_date(today);
    assert!(text.starts_with("day,date,district,category,registered,active\r\n"));
    assert!(
        text.contains(&format!("{today},{date},Hoàn Kiếm,restaurant,2,1\r\n")),
        "{text}"
    );
    let regs = admin(&s, &ha.token, "GET", "/admin/v1/registry?format=csv", None);
    let text = String::from_utf8(regs.body).unwrap();
    assert_eq!(text.lines().count(), 4, "{text}");
    assert!(text.contains("Quán phở 1"));
    admin(&s, &ha.token, "GET", "/admin/v1/registry?format=xml", None)
        .assert_error(400, "bad_request");
    // The console page: chart, tables and decision forms.
    let page = Console::login(&ha, &s, "bob").get("/console/registry");
    assert_eq!(page.status, 200);
    let html = String::from_utf8(page.body).unwrap();
    assert!(html.contains("<svg"), "chart");
    assert!(html.contains("Hoàn Kiếm") && html.contains("Chợ Hôm"));
    assert!(html.contains("/console/registry/"), "decision forms");
    if let Ok(dir) = std::env::var("QUET_SHOTS") {
        std::fs::write(
            std::path::Path::new(&dir).join("console-registry.html"),
            &html,
        )
        .unwrap();
    }
}

#[test]
fn console_decisions_go_through_the_same_audited_rules() {
    let ha = Authority::new();
    let s = Server::start(&ha.data(), RELAXED);
    let k = key(4);
    let id = post_json(
        &s.url("/v1/registrations"),
        &signed(&k, "Tiệm vàng Kim", "Đống Đa"),
    )
    .json()["id"]
        .as_i64()
        .unwrap();
    let console = Console::login(&ha, &s, "bob");
    let r = console.post(
        &format!("/console/registry/{id}/approve"),
        &[("validity_days", "90")],
    );
    assert_eq!(r.status, 303);
    assert_eq!(status_of(&s, &k)["status"], "approved");
    let r = console.post(
        &format!("/console/registry/{id}/revoke"),
        &[("reason", "gian lận")],
    );
    assert_eq!(r.status, 303);
    assert_eq!(status_of(&s, &k)["status"], "revoked");
    // Without the session nothing happens.
    let r = request(
        "POST",
        &s.url(&format!("/console/registry/{id}/reject")),
        &[],
        Some(("application/x-www-form-urlencoded", Vec::new())),
    );
    assert!(
        r.status == 401 || r.status == 303 || r.status == 403,
        "{}",
        r.status
    );
    assert_eq!(status_of(&s, &k)["status"], "revoked");
}

#[test]
fn review_queue_flags_a_self_made_code_that_borrows_a_registered_name() {
    let ha = Authority::new();
    let s = Server::start(&ha.data(), RELAXED);
    let d = descriptor(&s);
    let mut rng = test_rng(77);
    // The genuine clinic registers and is approved.
    let mut genuine = venue(5, &d, "Phòng khám Đa khoa Hà Nội");
    let gk = genuine.issuer.venue_key();
    let req = {
        let master = VenueMasterKey::generate(&mut test_rng(5));
        signed(
            &master.signing_key(),
            "Phòng khám Đa khoa Hà Nội",
            "Hai Bà Trưng",
        )
    };
    assert_eq!(HEXLOWER.encode(gk.as_bytes()).len(), 64);
    let id = post_json(&s.url("/v1/registrations"), &req).json()["id"]
        .as_i64()
        .unwrap();
    admin(
        &s,
        &ha.token,
        "POST",
        &format!("/admin/v1/registry/{id}/approve"),
        None,
    );
    // A cheater makes their own code with the same name; an unrelated shop never
    // registered.
    let mut cheat = venue(6, &d, "Phòng khám Đa khoa Hà Nội");
    let mut unknown = venue(7, &d, "Quán nước chè");
    let mut envs = Vec::new();
    for v in [&mut genuine, &mut cheat, &mut unknown] {
        let (e, _) = envelopes(&mut rng, &d, v, 1);
        envs.push(e[0].clone());
    }
    let (pad, _) = envelopes(&mut rng, &d, &mut unknown, 0);
    envs.extend(pad.into_iter().take(100 - envs.len()));
    let code = issue_code(&s, &ha.token);
    assert_eq!(upload(&s, &code, &envs, false).status, 202);
    let reviews = admin(&s, &ha.token, "GET", "/admin/v1/reviews", None).json();
    let standings: Vec<Value> = reviews
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["venue_standing"].clone())
        .collect();
    assert_eq!(standings[0], json!({"status": "registered", "id": id}));
    assert_eq!(standings[1], json!({"status": "impostor", "of": id}));
    assert_eq!(standings[2], json!({"status": "unregistered"}));
    let page = Console::login(&ha, &s, "bob").get("/console/reviews");
    let html = String::from_utf8(page.body).unwrap();
    assert!(
        html.contains(&format!(
            "Impostor? A self-made code with the name of registered venue #{id}"
        )) && html.contains("Mạo danh?"),
        "the console flags the impostor: {html}"
    );
    // Revoking the genuine venue shows up in its review too.
    admin(
        &s,
        &ha.token,
        "POST",
        &format!("/admin/v1/registry/{id}/revoke"),
        Some(json!({"reason": "test"})),
    );
    let reviews = admin(&s, &ha.token, "GET", "/admin/v1/reviews", None).json();
    assert_eq!(reviews[0]["venue_standing"]["status"], "revoked");
}
