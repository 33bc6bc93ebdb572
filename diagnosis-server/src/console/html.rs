//! HTML building blocks of the console: escaping, the page shell with its
//! navigation (only what the person's roles allow), and forms that always carry
//! the session's CSRF token.

use axum::response::{Html, IntoResponse, Response};

use crate::roles::{Action, StaffMember};

/// HTML-escapes text (element content and quoted attribute values).
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Percent-encodes a path segment or query value.
pub fn url_part(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            o.push(char::from(b));
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

/// Who is looking at a page: the person and their session's CSRF token.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The staff member.
    pub member: StaffMember,
    /// The session's CSRF token.
    pub csrf: String,
}

const NAV: &[(&str, &str, Action)] = &[
    ("/console/", "Tổng quan / Overview", Action::ReadStats),
    ("/console/codes", "Cấp mã / Issue code", Action::IssueCode),
    ("/console/reviews", "Duyệt / Review", Action::ReadReviews),
    ("/console/traces", "Truy vết / Trace", Action::ProposeTrace),
    (
        "/console/proposals",
        "Phê duyệt / Approvals",
        Action::ProposeTrace,
    ),
    (
        "/console/notices",
        "Thông báo / Notices",
        Action::ReadPublications,
    ),
    (
        "/console/bulletins",
        "Bản tin / Bulletins",
        Action::ReadPublications,
    ),
    ("/console/audit", "Nhật ký / Audit log", Action::ReadAudit),
    ("/console/stats", "Thống kê / Statistics", Action::ReadStats),
    (
        "/console/registry",
        "Đăng ký địa điểm / Registry",
        Action::ManageVenueRegistrations,
    ),
    ("/console/staff", "Nhân viên / Staff", Action::ManageStaff),
    ("/console/keys", "Khóa / Keys", Action::ManageKeys),
];

fn document(title: &str, header: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{t} — Quét</title><link rel=\"stylesheet\" href=\"/console/assets/console.css\">\
<script src=\"/console/assets/console.js\" defer></script></head>\
<body>{header}<main><h1>{t}</h1>{body}</main></body></html>",
        t = esc(title)
    )
}

/// A page for someone logged in: header with their name and a logout button,
/// navigation, then `body` (already HTML).
pub fn page(v: &Viewer, current: &str, title: &str, body: &str) -> Response {
    let mut nav = String::new();
    for (href, label, action) in NAV {
        if v.member.can(*action) {
            let cur = if *href == current {
                " aria-current=\"page\""
            } else {
                ""
            };
            nav.push_str(&format!("<a href=\"{href}\"{cur}>{}</a>", esc(label)));
        }
    }
    nav.push_str("<a href=\"/console/account\">Tài khoản / Account</a>");
    let header = format!(
        "<header><a href=\"/console/\"><b>Quét</b></a> · Bảng điều khiển / Console \
<span class=\"who\">· {name} ({roles})</span>\
<form class=\"inline\" method=\"post\" action=\"/console/logout\">{csrf}\
<button class=\"secondary\" id=\"logout\">Đăng xuất / Log out</button></form></header><nav>{nav}</nav>",
        name = esc(&v.member.name),
        roles = esc(&v.member.role_slugs()),
        csrf = csrf_field(&v.csrf),
    );
    Html(document(title, &header, body)).into_response()
}

/// A page without navigation (login, refusals).
pub fn bare_page(title: &str, body: &str) -> Response {
    Html(document(
        title,
        "<header><b>Quét</b> · Bảng điều khiển / Console</header>",
        body,
    ))
    .into_response()
}

/// The hidden CSRF input.
pub fn csrf_field(token: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(token)
    )
}

/// A POST form to `action` with the CSRF token, `inner` fields and one button.
pub fn form(v: &Viewer, action: &str, inner: &str, button: &str, class: &str) -> String {
    format!(
        "<form method=\"post\" action=\"{}\">{}{inner}<button class=\"{class}\">{}</button></form>",
        esc(action),
        csrf_field(&v.csrf),
        esc(button)
    )
}

/// A one-button inline POST form.
pub fn button_form(v: &Viewer, action: &str, button: &str, class: &str) -> String {
    format!(
        "<form class=\"inline\" method=\"post\" action=\"{}\">{}<button class=\"{class}\">{}</button></form>",
        esc(action),
        csrf_field(&v.csrf),
        esc(button)
    )
}

/// A message box (`kind` = `notice`, `error` or `success`).
pub fn message(kind: &str, vi: &str, en: &str) -> String {
    format!(
        "<div class=\"{kind}\" role=\"status\">{}<br><span class=\"en\">{}</span></div>",
        esc(vi),
        esc(en)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_attribute_quotes() {
        assert_eq!(
            esc("<b>\"Quán\" & 'Co'</b>"),
            "&lt;b&gt;&quot;Quán&quot; &amp; &#39;Co&#39;&lt;/b&gt;"
        );
        assert_eq!(url_part("Hoàn Kiếm/1"), "Ho%C3%A0n%20Ki%E1%BA%BFm%2F1");
    }
}
