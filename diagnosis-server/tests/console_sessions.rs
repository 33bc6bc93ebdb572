//! The console's security over plain HTTP against the real binary: sessions
//! (cookie attributes, the API token is not a console credential, logout kills the
//! session server-side), CSRF tokens and origin checks on every write, login CSRF,
//! login backoff that a stranger cannot turn into a lockout of the owner, roles on
//! the admin API and the console, and the four-eyes rule.

mod common;
mod console_common;

use std::collections::BTreeMap;

use common::*;
use console_common::{add_staff, start};
use quet_protocol::testing::test_rng;

/// A browser-like HTTP client: keeps cookies, sends Origin/Sec-Fetch-Site like a
/// same-origin page unless told otherwise.
struct Client {
    base: String,
    host: String,
    cookies: BTreeMap<String, String>,
}

impl Client {
    fn new(s: &Server) -> Client {
        Client {
            base: s.base.clone(),
            host: s.base.trim_start_matches("http://").to_owned(),
            cookies: BTreeMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn absorb(&mut self, r: &Resp) {
        for (k, v) in &r.headers {
            if k.eq_ignore_ascii_case("set-cookie") {
                let first = v.split(';').next().unwrap();
                let (name, value) = first.split_once('=').unwrap();
                if v.contains("Max-Age=0") || value.is_empty() {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.to_owned(), value.to_owned());
                }
            }
        }
    }

    fn get(&mut self, path: &str) -> Resp {
        let c = self.cookie_header();
        let r = request(
            "GET",
            &format!("{}{path}", self.base),
            &[("Cookie", c.as_str())],
            None,
        );
        self.absorb(&r);
        r
    }

    /// POSTs a form as the console's own page would (same origin).
    fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Resp {
        let origin = format!("http://{}", self.host);
        self.post_from(
            path,
            form,
            &[("Origin", &origin), ("Sec-Fetch-Site", "same-origin")],
        )
    }

    fn post_from(&mut self, path: &str, form: &[(&str, &str)], extra: &[(&str, &str)]) -> Resp {
        let c = self.cookie_header();
        let mut headers = vec![("Cookie", c.as_str())];
        headers.extend_from_slice(extra);
        let body = serde_urlencoded::to_string(form).unwrap();
        let r = request(
            "POST",
            &format!("{}{path}", self.base),
            &headers,
            Some(("application/x-www-form-urlencoded", body.into_bytes())),
        );
        self.absorb(&r);
        r
    }

    fn login(&mut self, name: &str, password: &str) -> Resp {
        let page = self.get("/console/login");
        let token = hidden(&page, "login_csrf");
        self.post(
            "/console/login",
            &[
                ("name", name),
                ("password", password),
                ("login_csrf", &token),
            ],
        )
    }

    /// The session's CSRF token, read from a page.
    fn csrf(&mut self) -> String {
        let page = self.get("/console/account");
        assert_eq!(page.status, 200);
        hidden(&page, "csrf")
    }
}

fn hidden(r: &Resp, name: &str) -> String {
    let html = String::from_utf8_lossy(&r.body);
    let needle = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&needle)
        .unwrap_or_else(|| panic!("no hidden {name} in {html}"))
        + needle.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

fn html(r: &Resp) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

const PW: &str = "mật khẩu đủ dài 2021";

#[test]
fn sessions_are_server_side_with_hardened_cookies_and_real_logout() {
    let ha = Authority::new();
    let token = add_staff(&ha.data(), "lan", "tracer,publisher", PW);
    let s = start(&ha.data(), serde_json::json!({}));
    let mut c = Client::new(&s);

    // The login page sets the login-form cookie and its token.
    let r = c.login("lan", PW);
    assert_eq!(r.status, 303, "{}", html(&r));
    let set: Vec<&str> = r
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, v)| v.as_str())
        .collect();
    let session = set
        .iter()
        .find(|v| v.starts_with("__Host-quet_session="))
        .expect("the authority's URL is https, so the cookie has the __Host- prefix");
    for attr in [
        "Path=/",
        "Secure",
        "HttpOnly",
        "SameSite=Strict",
        "Max-Age=43200",
    ] {
        assert!(session.contains(attr), "{attr} missing from {session}");
    }
    let sid = c.cookies["__Host-quet_session"].clone();
    assert_ne!(sid, token, "the API token is not the cookie");
    assert_eq!(sid.len(), 43, "32 random bytes");
    // The database holds no session id, password or token in the clear.
    let db = std::fs::read(ha.data().join("quet.db")).unwrap();
    let wal = std::fs::read(ha.data().join("quet.db-wal")).unwrap_or_default();
    for secret in [sid.as_str(), token.as_str(), PW] {
        for file in [&db, &wal] {
            assert!(!file.windows(secret.len()).any(|w| w == secret.as_bytes()));
        }
    }

    let home = c.get("/console/");
    assert_eq!(home.status, 200);
    assert!(html(&home).contains("lan"));
    let csp = home.header("content-security-policy").unwrap();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
    assert!(csp.contains("frame-ancestors 'none'"));
    assert_eq!(home.header("cache-control"), Some("no-store"));
    assert_eq!(home.header("x-frame-options"), Some("DENY"));
    assert!(home.header("strict-transport-security").is_some());

    // The API token is no console credential, in any cookie name.
    for name in ["__Host-quet_session", "quet_session", "quet_staff"] {
        let cookie = format!("{name}={token}");
        let r = request(
            "GET",
            &s.url("/console/"),
            &[("Cookie", cookie.as_str())],
            None,
        );
        assert_eq!(r.status, 303);
        assert_eq!(r.header("location"), Some("/console/login"));
    }
    // And a session cookie is no API credential.
    let bearer = format!("Bearer {sid}");
    request(
        "GET",
        &s.url("/admin/v1/reviews"),
        &[("Authorization", bearer.as_str())],
        None,
    )
    .assert_error(401, "unauthorized");

    // Logout ends the session on the server: the old cookie, replayed, is dead.
    let csrf = c.csrf();
    let out = c.post("/console/logout", &[("csrf", &csrf)]);
    assert_eq!(out.status, 200);
    let replay = format!("__Host-quet_session={sid}");
    let r = request(
        "GET",
        &s.url("/console/"),
        &[("Cookie", replay.as_str())],
        None,
    );
    assert_eq!(r.status, 303, "a logged-out session must not work");
    let audit = admin(&s, &token, "GET", "/admin/v1/audit?action=console", None).json();
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, vec!["console.logout", "console.login"]);
}

#[test]
fn every_write_needs_the_session_token_and_a_same_origin_request() {
    let ha = Authority::new();
    let token = add_staff(&ha.data(), "lan", "tracer,publisher", PW);
    let s = start(&ha.data(), serde_json::json!({}));
    let mut c = Client::new(&s);
    assert_eq!(c.login("lan", PW).status, 303);
    let csrf = c.csrf();
    let other = c.host.replace(':', ":1"); // 127.0.0.1:1xxxx: another port
    let cross = format!("http://{other}");

    type Pairs<'a> = Vec<(&'a str, &'a str)>;
    let attempts: Vec<(&str, Pairs, Pairs)> = vec![
        // No token at all, from the console's own origin.
        ("/console/publish", vec![], vec![]),
        // A wrong token.
        ("/console/publish", vec![("csrf", "AAAA")], vec![]),
        // The right token, but the request comes from another port of the host.
        (
            "/console/publish",
            vec![("csrf", &csrf)],
            vec![("Origin", &cross)],
        ),
        (
            "/console/codes",
            vec![("csrf", &csrf)],
            vec![("Sec-Fetch-Site", "same-site")],
        ),
        (
            "/console/codes",
            vec![("csrf", &csrf)],
            vec![("Origin", "null")],
        ),
        (
            "/console/codes",
            vec![("csrf", &csrf)],
            vec![("Sec-Fetch-Site", "cross-site")],
        ),
    ];
    for (path, form, headers) in &attempts {
        let r = if headers.is_empty() {
            c.post(path, form)
        } else {
            c.post_from(path, form, headers)
        };
        assert_eq!(r.status, 403, "{path} {form:?} {headers:?}");
    }
    // Nothing happened: no bulletin, no code.
    assert_eq!(get(&s.url("/v1/bulletins/index.json")).json()["latest"], 0);
    let audit = admin(&s, &token, "GET", "/admin/v1/audit", None).json();
    assert!(
        !audit
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "bulletin.publish" || e["action"] == "auth_code.issue")
    );
    // The same write done properly works, and a client that sends no browser
    // headers at all is judged by the token alone.
    assert_eq!(c.post("/console/publish", &[("csrf", &csrf)]).status, 303);
    let r = c.post_from("/console/codes", &[("csrf", &csrf)], &[]);
    assert_eq!(r.status, 200);
    assert!(html(&r).contains("id=\"auth-code\""));
}

#[test]
fn login_csrf_is_refused() {
    let ha = Authority::new();
    add_staff(&ha.data(), "mallory", "tracer", PW);
    let s = start(&ha.data(), serde_json::json!({}));
    // The attacker fetches a genuine login form for themselves...
    let mut attacker = Client::new(&s);
    let form = attacker.get("/console/login");
    let token = hidden(&form, "login_csrf");
    let nonce = attacker.cookies["__Host-quet_login"].clone();
    let fields = [
        ("name", "mallory"),
        ("password", PW),
        ("login_csrf", token.as_str()),
    ];
    // ...the victim's browser posts it without the matching cookie: refused.
    let mut victim = Client::new(&s);
    let r = victim.post("/console/login", &fields);
    assert_eq!(r.status, 403);
    assert!(!victim.cookies.contains_key("__Host-quet_session"));
    // Even with the attacker's cookie planted (cookies ignore ports), a form posted
    // from the attacker's origin is refused by the origin check.
    victim.cookies.insert("__Host-quet_login".into(), nonce);
    let other = format!("http://{}", victim.host.replace(':', ":1"));
    let r = victim.post_from(
        "/console/login",
        &fields,
        &[("Origin", &other), ("Sec-Fetch-Site", "same-site")],
    );
    assert_eq!(r.status, 403);
    assert!(!victim.cookies.contains_key("__Host-quet_session"));
    // A stale or forged token is refused too.
    let r = victim.post(
        "/console/login",
        &[
            ("name", "mallory"),
            ("password", PW),
            ("login_csrf", "AAAA"),
        ],
    );
    assert_eq!(r.status, 403);
    assert!(!victim.cookies.contains_key("__Host-quet_session"));
}

#[test]
fn guessing_backs_off_but_the_owner_on_a_known_browser_still_logs_in() {
    let ha = Authority::new();
    add_staff(&ha.data(), "lan", "tracer", PW);
    let s = start(&ha.data(), serde_json::json!({}));
    // The owner logs in once from their usual browser (it gets a known-device cookie).
    let mut owner = Client::new(&s);
    assert_eq!(owner.login("lan", PW).status, 303);
    assert!(owner.cookies.contains_key("__Host-quet_device"));
    let csrf = owner.csrf();
    assert_eq!(
        owner.post("/console/logout", &[("csrf", &csrf)]).status,
        200
    );

    // A stranger guesses: the first five are answered 401, then 429 with Retry-After.
    let mut stranger = Client::new(&s);
    for _ in 0..5 {
        assert_eq!(stranger.login("lan", "wrong password 123").status, 401);
    }
    let r = stranger.login("lan", "wrong password 123");
    assert_eq!(r.status, 429);
    assert!(r.header("retry-after").is_some());
    assert!(html(&r).contains("Try again in"));
    // Even the right password waits now, for a browser that is not known.
    let mut fresh = Client::new(&s);
    assert_eq!(fresh.login("lan", PW).status, 429);
    // The owner's known browser is not locked out.
    assert_eq!(owner.login("lan", PW).status, 303);
    assert!(owner.get("/console/").status == 200);
}

#[test]
fn roles_gate_the_api_and_the_console() {
    let ha = Authority::new();
    let tracer = add_staff(&ha.data(), "tuan", "tracer", PW);
    let publisher = add_staff(&ha.data(), "phuong", "publisher", PW);
    let administrator = add_staff(&ha.data(), "an", "administrator", PW);
    let s = start(&ha.data(), serde_json::json!({}));
    // API: each role only what it may.
    admin(&s, &tracer, "POST", "/admin/v1/publish", None).assert_error(403, "forbidden");
    admin(&s, &tracer, "GET", "/admin/v1/audit", None).assert_error(403, "forbidden");
    admin(&s, &publisher, "POST", "/admin/v1/auth-codes", None).assert_error(403, "forbidden");
    admin(&s, &administrator, "POST", "/admin/v1/publish", None).assert_error(403, "forbidden");
    admin(&s, &administrator, "GET", "/admin/v1/reviews", None).assert_error(403, "forbidden");
    assert_eq!(
        admin(&s, &tracer, "POST", "/admin/v1/auth-codes", None).status,
        200
    );
    assert_eq!(
        admin(&s, &publisher, "POST", "/admin/v1/publish", None).status,
        200
    );
    assert_eq!(
        admin(&s, &administrator, "GET", "/admin/v1/audit", None).status,
        200
    );
    // Console: the tracer cannot publish or manage staff, and is not shown those pages.
    let mut c = Client::new(&s);
    assert_eq!(c.login("tuan", PW).status, 303);
    let home = html(&c.get("/console/"));
    assert!(home.contains("/console/codes") && !home.contains("/console/staff"));
    let csrf = c.csrf();
    assert_eq!(c.post("/console/publish", &[("csrf", &csrf)]).status, 403);
    assert_eq!(c.get("/console/staff").status, 403);
    assert_eq!(
        c.post(
            "/console/staff",
            &[("csrf", &csrf), ("name", "eve"), ("role", "administrator")]
        )
        .status,
        403
    );
    // The administrator adds a ward officer (district required) from the console.
    let mut a = Client::new(&s);
    assert_eq!(a.login("an", PW).status, 303);
    let csrf = a.csrf();
    let r = a.post(
        "/console/staff",
        &[("csrf", &csrf), ("name", "minh"), ("role", "ward-officer")],
    );
    assert_eq!(r.status, 400, "a ward officer needs a district");
    let r = a.post(
        "/console/staff",
        &[
            ("csrf", &csrf),
            ("name", "minh"),
            ("role", "ward-officer"),
            ("district", "Hoàn Kiếm"),
        ],
    );
    assert_eq!(r.status, 200);
    let page = html(&r);
    assert!(page.contains("id=\"new-password\"") && page.contains("id=\"new-token\""));
    // Disabling someone ends their sessions at once.
    let mut t = Client::new(&s);
    assert_eq!(t.login("tuan", PW).status, 303);
    assert_eq!(t.get("/console/").status, 200);
    assert_eq!(
        a.post("/console/staff/tuan/disable", &[("csrf", &csrf)])
            .status,
        303
    );
    assert_eq!(t.get("/console/").status, 303);
    admin(&s, &tracer, "POST", "/admin/v1/auth-codes", None).assert_error(401, "unauthorized");
    let log = admin(
        &s,
        &administrator,
        "GET",
        "/admin/v1/audit?action=staff",
        None,
    )
    .json();
    let actions: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions[..2], ["staff.disable", "staff.add"]);
}

#[test]
fn four_eyes_needs_a_second_publisher_and_a_tracer_only_proposes() {
    let ha = Authority::new();
    let tracer = add_staff(&ha.data(), "tuan", "tracer", PW);
    let lan = add_staff(&ha.data(), "lan", "publisher", PW);
    let hoa = add_staff(&ha.data(), "hoa", "publisher", PW);
    let s = start(
        &ha.data(),
        serde_json::json!({"console": {"four_eyes": true}}),
    );
    let d = descriptor(&s);
    let mut rng = test_rng(91);
    let mut v = venue(21, &d, "Phở Thìn");
    let code = issue_code(&s, &tracer);
    assert_eq!(
        upload(&s, &code, &envelopes(&mut rng, &d, &mut v, 1).0, false).status,
        202
    );
    let id = admin(&s, &lan, "GET", "/admin/v1/reviews", None).json()[0]["id"]
        .as_i64()
        .unwrap();
    let body = serde_json::json!({"severity": "test", "message_vi": "Xét nghiệm", "message_en": "Get tested"});
    // A publisher's approval is only a proposal under four-eyes.
    let r = admin(
        &s,
        &lan,
        "POST",
        &format!("/admin/v1/reviews/{id}/approve"),
        Some(body.clone()),
    );
    assert_eq!(r.status, 200);
    let proposal = r.json()["proposal"].as_i64().unwrap();
    assert_eq!(r.json()["status"], "proposed");
    // Publishing now carries no real notice.
    assert_eq!(
        admin(&s, &lan, "POST", "/admin/v1/publish", None).status,
        200
    );
    // lan cannot confirm her own proposal in the console; hoa can.
    let mut c = Client::new(&s);
    assert_eq!(c.login("lan", PW).status, 303);
    let csrf = c.csrf();
    let r = c.post(
        &format!("/console/proposals/{proposal}/confirm"),
        &[("csrf", &csrf)],
    );
    assert_eq!(r.status, 403);
    assert!(html(&r).contains("second staff member"));
    let mut h = Client::new(&s);
    assert_eq!(h.login("hoa", PW).status, 303);
    let csrf = h.csrf();
    assert_eq!(
        h.post(
            &format!("/console/proposals/{proposal}/confirm"),
            &[("csrf", &csrf)]
        )
        .status,
        303
    );
    assert_eq!(
        h.post(
            &format!("/console/proposals/{proposal}/confirm"),
            &[("csrf", &csrf)]
        )
        .status,
        409,
        "confirmed once only"
    );
    // A tracer's sheet trace is a proposal too; declining cancels its notices.
    let other = venue(22, &d, "Chợ Hôm");
    let t = now();
    let trace = serde_json::json!({"sheet": other.sheet, "start": t - 7200, "end": t - 3600,
        "max_stay_minutes": 60, "severity": "monitor", "message_vi": "Theo dõi", "message_en": "Monitor"});
    let r = admin(&s, &tracer, "POST", "/admin/v1/traces", Some(trace));
    assert_eq!(r.json()["status"], "proposed");
    let declined = r.json()["proposal"].as_i64().unwrap();
    assert_eq!(
        h.post(
            &format!("/console/proposals/{declined}/decline"),
            &[("csrf", &csrf)]
        )
        .status,
        303
    );
    // The next bulletin carries exactly the confirmed review's notice.
    let p = admin(&s, &hoa, "POST", "/admin/v1/publish", None).json();
    let seq = p["sequence"].as_u64().unwrap();
    let notices = html(&h.get("/console/notices"));
    assert_eq!(
        notices.matches("data-status=\"published\"").count(),
        1,
        "{notices}"
    );
    assert_eq!(notices.matches("data-status=\"cancelled\"").count(), 1);
    assert!(notices.contains(&format!("#{seq}")) && notices.contains("Phở Thìn"));
    let audit = admin(&s, &hoa, "GET", "/admin/v1/audit?action=proposal", None).json();
    let objects: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["object"].as_str().unwrap())
        .collect();
    assert!(
        objects
            .iter()
            .any(|o| o.starts_with(&format!("proposal {proposal} by lan")))
    );
}
