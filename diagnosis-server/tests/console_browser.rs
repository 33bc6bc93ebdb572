//! The console in real headless Chromium at phone size (360×640), against the real
//! server binary: a staff member's whole day, and a hostile page on another port of
//! the same host trying to drive a logged-in browser. Screenshots of every page go
//! to `diagnosis-server/screenshots/` (linked from the README).

mod common;
mod console_common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use common::*;
use console_common::{Chrome, add_staff, chrome, start};
use quet_protocol::testing::test_rng;

const PW: &str = "mật khẩu đủ dài 2021";

fn notices_with_status(c: &Chrome, status: &str) -> usize {
    c.eval(&format!(
        "document.querySelectorAll('tr.notice-row[data-status=\"{status}\"]').length"
    ))
    .as_u64()
    .unwrap_or(0) as usize
}

fn png_of_qr(text: &str, path: &std::path::Path) {
    let code = qrcode::QrCode::new(text.as_bytes()).unwrap();
    let img = code
        .render::<image::Luma<u8>>()
        .min_dimensions(600, 600)
        .build();
    img.save(path).unwrap();
}

fn decode_png(path: &std::path::Path) -> Vec<String> {
    let img = image::open(path).unwrap().to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(img);
    prepared
        .detect_grids()
        .into_iter()
        .filter_map(|g| g.decode().ok().map(|(_, t)| t))
        .collect()
}

#[test]
fn a_staff_members_whole_day_in_the_browser() {
    let Some(c) = chrome() else { return };
    let ha = Authority::new();
    let token = add_staff(&ha.data(), "lan", "tracer,publisher", PW);
    add_staff(&ha.data(), "an", "administrator", PW);
    // The province's districts: the only names heartbeats may claim.
    quet_server::import_districts(&ha.data(), "Hoàn Kiếm\nBa Đình\n").unwrap();
    let s = start(&ha.data(), serde_json::json!({}));
    let d = descriptor(&s);
    // Venues sent heartbeats (for the statistics page).
    let today = now() / 86_400;
    for (i, district) in ["Hoàn Kiếm", "Hoàn Kiếm", "Ba Đình"].iter().enumerate() {
        let hb = serde_json::json!({"day": today, "pseudonym": format!("{:032x}", i + 1),
            "category": "restaurant", "district": district});
        assert_eq!(post_json(&s.url("/v1/heartbeats"), &hb).status, 204);
    }

    // Log in.
    c.goto(&s.url("/console/"));
    assert!(
        c.url().ends_with("/console/login"),
        "not logged in: the login page"
    );
    c.shot("01-login");
    c.login(&s.base, "lan", PW);
    assert!(c.url().ends_with("/console/"), "{} {}", c.url(), c.text());
    assert!(c.text().contains("Xin chào lan"));
    c.shot("02-overview");

    // Issue a code for a confirmed case and print the slip.
    c.goto(&s.url("/console/codes"));
    c.shot("03-issue-code");
    c.click_and_wait("form[action='/console/codes'] button");
    let code = c.eval("document.querySelector('#auth-code').textContent");
    let code = code.as_str().unwrap().to_owned();
    assert_eq!(code.len(), 19, "{code}");
    let slip = c.shot("04-code-slip");
    // The slip's QR code, read from the screenshot, is the bare code text.
    assert_eq!(decode_png(&slip), vec![code.clone()]);

    // The phone uploads its check-in with that code.
    let mut rng = test_rng(5);
    let mut pho = venue(31, &d, "Phở Thìn Lò Đúc");
    assert_eq!(
        upload(&s, &code, &envelopes(&mut rng, &d, &mut pho, 1).0, false).status,
        202
    );

    // Review it: what it claims, verified, approve with a template.
    c.goto(&s.url("/console/reviews"));
    let page = c.text();
    assert!(page.contains("Phở Thìn Lò Đúc"), "{page}");
    c.shot("05-review-queue");
    c.click_and_wait(".review form[action$='/approve'] button");
    assert!(c.url().ends_with("/console/notices"));
    assert_eq!(notices_with_status(&c, "queued"), 1);

    // Trace another venue from a photo of its tracing sheet's QR code.
    let clinic = venue(32, &d, "Phòng khám Hồng Ngọc");
    let photo = ha.dir.path().join("sheet.png");
    png_of_qr(&clinic.sheet, &photo);
    c.goto(&s.url("/console/traces"));
    c.shot("06-trace-form");
    c.fill("#label", "Phòng khám Hồng Ngọc");
    c.tab
        .wait_for_element("#photo")
        .unwrap()
        .set_input_files(&[photo.to_str().unwrap()])
        .unwrap();
    c.click_and_wait("#preview");
    let page = c.text();
    assert!(
        page.contains("Read the sheet's QR code from the photo"),
        "{page}"
    );
    let epochs = c
        .eval("document.querySelectorAll('#epochs tr').length - 1")
        .as_u64()
        .unwrap();
    assert!(epochs >= 4, "hour and day epochs listed: {epochs}");
    c.shot("07-trace-preview");
    c.click_and_wait("form[action='/console/traces'] button");
    assert_eq!(notices_with_status(&c, "queued"), 2);
    c.shot("08-notices-queued");

    // Publish.
    c.goto(&s.url("/console/bulletins"));
    c.click_and_wait("form[action='/console/publish'] button");
    assert!(c.url().contains("published=1"));
    assert_eq!(get(&s.url("/v1/bulletins/index.json")).json()["latest"], 1);
    c.shot("09-bulletins");

    // Withdraw one notice, publish the withdrawal.
    c.goto(&s.url("/console/notices"));
    assert_eq!(notices_with_status(&c, "published"), 2);
    c.click_and_wait("tr.notice-row[data-status='published'] form button");
    assert_eq!(notices_with_status(&c, "withdraw_queued"), 1);
    c.goto(&s.url("/console/bulletins"));
    c.click_and_wait("form[action='/console/publish'] button");
    c.goto(&s.url("/console/notices"));
    assert_eq!(notices_with_status(&c, "withdrawn"), 1);
    c.shot("10-notices-withdrawn");

    // The audit log, filtered to today's withdrawals by lan.
    c.goto(&s.url("/console/audit?staff=lan&action=notice"));
    let rows = c.eval("[...document.querySelectorAll('tr.audit-row')].map(r => r.innerText)");
    let rows: Vec<String> = serde_json::from_value(rows).unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].contains("notice.withdraw"));
    c.goto(&s.url("/console/audit"));
    let all = c.text();
    for action in [
        "console.login",
        "auth_code.issue",
        "review.approve",
        "trace.publish",
        "bulletin.publish",
    ] {
        assert!(all.contains(action), "{action} missing from the audit log");
    }
    c.shot("11-audit-log");

    // Statistics: a chart per district and day.
    c.goto(&s.url("/console/stats"));
    let svg = c.eval("document.querySelector('#chart svg').outerHTML");
    let svg = svg.as_str().unwrap();
    assert!(svg.contains("Hoàn Kiếm") && svg.contains("Ba Đình"));
    assert_eq!(
        svg.matches("<rect").count(),
        2,
        "one bar per district today"
    );
    c.shot("12-statistics");
    c.goto(&s.url("/console/proposals"));
    c.shot("13-approvals");

    // Log out: the session is gone on the server, not just in the browser.
    let sid = c.cookie("__Host-quet_session").expect("session cookie");
    c.goto(&s.url("/console/"));
    c.click_and_wait("#logout");
    assert!(c.text().contains("logged out"));
    c.shot("14-logged-out");
    c.goto(&s.url("/console/reviews"));
    assert!(c.url().ends_with("/console/login"));
    let replay = format!("__Host-quet_session={sid}");
    let r = request(
        "GET",
        &s.url("/console/reviews"),
        &[("Cookie", replay.as_str())],
        None,
    );
    assert_eq!(r.status, 303);

    // The administrator's pages.
    c.login(&s.base, "an", PW);
    c.goto(&s.url("/console/staff"));
    assert!(c.text().contains("lan"));
    c.shot("15-staff");
    c.goto(&s.url("/console/keys"));
    assert!(c.text().contains(&d.fingerprint()));
    c.shot("16-keys");
    c.goto(&s.url("/console/account"));
    c.shot("17-account");
    // What the whole day left in the log, through the API too.
    let log = admin(
        &s,
        &token,
        "GET",
        "/admin/v1/audit?staff=lan&action=bulletin",
        None,
    )
    .json();
    assert_eq!(log.as_array().unwrap().len(), 2);
}

/// A hostile site on another port of the same host (same-site, other origin):
/// serves pages that post forms to the console, fetch it with credentials, and try
/// to log the browser in as the attacker.
fn hostile_site(console: String, login_token: String, login_nonce: String) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let n = stream.read(&mut buf).unwrap_or(0);
            let head = String::from_utf8_lossy(&buf[..n]).into_owned();
            let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
            let mut extra = String::new();
            let body = match path.as_str() {
                "/publish" => format!(
                    "<form method=post action='{console}/console/publish'><input name=csrf value=forged></form>\
<script>document.forms[0].submit()</script>"
                ),
                "/fetch" => format!(
                    "<script>Promise.allSettled([\
fetch('{console}/console/codes', {{method:'POST', mode:'no-cors', credentials:'include', body:new URLSearchParams({{valid_hours:'24'}})}}),\
fetch('{console}/console/reviews/1/approve', {{method:'POST', mode:'no-cors', credentials:'include', body:new URLSearchParams({{template:'isolate', message_vi:'attacker', message_en:'attacker'}})}}),\
fetch('{console}/console/publish', {{method:'POST', credentials:'include'}})\
]).then(() => document.title = 'sent')</script>"
                ),
                "/login" => {
                    // Plant the attacker's login-form cookie (cookies ignore ports),
                    // then post the attacker's genuine login form.
                    extra = format!(
                        "Set-Cookie: __Host-quet_login={login_nonce}; Path=/; Secure; SameSite=Lax\r\n"
                    );
                    format!(
                        "<form method=post action='{console}/console/login'>\
<input name=name value=mallory><input name=password value='{PW}'><input name=login_csrf value='{login_token}'></form>\
<script>document.forms[0].submit()</script>"
                    )
                }
                _ => "hostile".to_owned(),
            };
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(resp.as_bytes());
        }
    });
    port
}

#[test]
fn a_page_on_another_port_cannot_drive_the_logged_in_console() {
    let Some(c) = chrome() else { return };
    let ha = Authority::new();
    let token = add_staff(&ha.data(), "lan", "tracer,publisher", PW);
    add_staff(&ha.data(), "mallory", "tracer", PW);
    let s = start(&ha.data(), serde_json::json!({}));
    let d = descriptor(&s);
    // A pending review the attacker would like approved with their text.
    let code = issue_code(&s, &token);
    let mut v = venue(41, &d, "Karaoke Ánh Sao");
    assert_eq!(
        upload(
            &s,
            &code,
            &envelopes(&mut test_rng(6), &d, &mut v, 1).0,
            false
        )
        .status,
        202
    );
    // The attacker obtains a genuine login form for their own account.
    let form = request("GET", &s.url("/console/login"), &[], None);
    let html = String::from_utf8_lossy(&form.body).into_owned();
    let at = html.find("name=\"login_csrf\" value=\"").unwrap() + 26;
    let login_token = html[at..at + html[at..].find('"').unwrap()].to_owned();
    let nonce = form
        .headers
        .iter()
        .find_map(|(k, v)| {
            (k.eq_ignore_ascii_case("set-cookie") && v.starts_with("__Host-quet_login="))
                .then(|| v["__Host-quet_login=".len()..v.find(';').unwrap()].to_owned())
        })
        .unwrap();
    let port = hostile_site(s.base.clone(), login_token, nonce);
    let hostile = format!("http://127.0.0.1:{port}");

    c.login(&s.base, "lan", PW);
    assert!(c.text().contains("Xin chào lan"));
    let audit_before = admin(&s, &token, "GET", "/admin/v1/audit", None)
        .json()
        .as_array()
        .unwrap()
        .len();

    // 1. A cross-origin form post (with a forged token) lands on the refusal page.
    c.goto(&format!("{hostile}/publish"));
    let console_page = format!(
        "location.href.startsWith({}) && document.readyState === 'complete'",
        serde_json::to_string(&s.base).unwrap()
    );
    assert!(
        c.wait_for(&console_page, 20),
        "the form was posted: {}",
        c.url()
    );
    assert!(c.text().contains("cross-origin request"), "{}", c.text());
    c.shot("20-csrf-refused");

    // 2. Credentialed fetches from that page: issue a code, approve with the
    //    attacker's text, publish.
    c.goto(&format!("{hostile}/fetch"));
    let mut sent = false;
    for _ in 0..50 {
        if c.eval("document.title").as_str() == Some("sent") {
            sent = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(sent, "the hostile fetches ran");

    // 3. Login CSRF: the attacker's genuine form, their cookie planted, posted
    //    from their origin.
    c.goto(&format!("{hostile}/login"));
    assert!(
        c.wait_for(&console_page, 20),
        "the login form was posted: {}",
        c.url()
    );
    assert!(c.text().contains("Refused"), "{}", c.text());
    assert!(!c.text().contains("mallory"), "{}", c.text());

    // Nothing happened on the server: no code, no approval, no bulletin, no login.
    assert_eq!(get(&s.url("/v1/bulletins/index.json")).json()["latest"], 0);
    assert_eq!(
        admin(&s, &token, "GET", "/admin/v1/reviews", None)
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let audit = admin(&s, &token, "GET", "/admin/v1/audit", None).json();
    let entries = audit.as_array().unwrap();
    let new: Vec<String> = entries[..entries.len() - audit_before]
        .iter()
        .map(|e| format!("{} {}", e["staff"], e["action"]))
        .collect();
    for forbidden in [
        "auth_code.issue",
        "review.approve",
        "review.propose",
        "bulletin.publish",
        "console.login",
    ] {
        assert!(
            !new.iter().any(|e| e.ends_with(forbidden)),
            "the hostile page caused {forbidden}: {new:?}"
        );
    }
    // And the browser is still lan's, not mallory's.
    c.goto(&s.url("/console/"));
    assert!(c.text().contains("Xin chào lan"), "{}", c.text());
}
