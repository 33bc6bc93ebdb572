//! The audit log with filters (staff, action, local date range, object text) and
//! paging.

use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use crate::audit::{self, AuditFilter};
use crate::console::auth::{Console, ConsoleError};
use crate::console::html::{self, esc, url_part};
use crate::console::{ConsoleState, localtime};
use crate::db::now;
use crate::roles::Action;

use super::local;

/// Query string of `GET /console/audit` (dates are local `yyyy-mm-dd`).
#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    /// Staff name.
    pub staff: Option<String>,
    /// Action or prefix.
    pub action: Option<String>,
    /// First local day.
    pub from: Option<String>,
    /// Last local day (inclusive).
    pub to: Option<String>,
    /// Object text.
    pub object: Option<String>,
    /// Paging: entries below this id.
    pub before: Option<i64>,
}

const PAGE: u32 = 100;

fn options(values: &[String], selected: Option<&str>) -> String {
    let mut s = String::from("<option value=\"\">— tất cả / all —</option>");
    for v in values {
        s.push_str(&format!(
            "<option{}>{}</option>",
            if Some(v.as_str()) == selected { " selected" } else { "" },
            esc(v)
        ));
    }
    s
}

/// `GET /console/audit`.
pub async fn list(
    State(s): State<ConsoleState>,
    c: Console,
    Query(q): Query<AuditQuery>,
) -> Result<Response, ConsoleError> {
    c.require(Action::ReadAudit)?;
    let off = s.offset_minutes();
    let day = |v: &Option<String>| v.as_deref().filter(|d| !d.is_empty()).and_then(|d| localtime::parse(d, off));
    let filter = AuditFilter {
        staff: q.staff.clone().filter(|v| !v.is_empty()),
        action: q.action.clone().filter(|v| !v.is_empty()),
        since: day(&q.from),
        until: day(&q.to).map(|t| t + 86_400),
        object: q.object.clone().filter(|v| !v.is_empty()),
        before: q.before,
        limit: Some(PAGE),
    };
    let who = c.member().name.clone();
    let f2 = filter.clone();
    let (entries, (staff_names, actions)) = s
        .app
        .write(move |tx, _| {
            audit::record(tx, now(), &who, "audit.read", None)?;
            Ok((audit::query(tx, &f2)?, audit::facets(tx)?))
        })
        .await?;
    let mut rows = String::new();
    for e in &entries {
        rows.push_str(&format!(
            "<tr class=\"audit-row\"><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
            esc(&local(&s, e.at)),
            esc(&e.staff),
            esc(&e.action),
            esc(e.object.as_deref().unwrap_or(""))
        ));
    }
    let keep = |k: &str, v: &Option<String>| {
        v.as_deref()
            .filter(|v| !v.is_empty())
            .map(|v| format!("&{k}={}", url_part(v)))
            .unwrap_or_default()
    };
    let next = match entries.last() {
        Some(last) if entries.len() == PAGE as usize => format!(
            "<p><a href=\"/console/audit?before={}{}{}{}{}{}\">Cũ hơn / Older →</a></p>",
            last.id,
            keep("staff", &q.staff),
            keep("action", &q.action),
            keep("from", &q.from),
            keep("to", &q.to),
            keep("object", &q.object)
        ),
        _ => String::new(),
    };
    let val = |v: &Option<String>| esc(v.as_deref().unwrap_or(""));
    let body = format!(
        "<form method=\"get\" action=\"/console/audit\" class=\"card filters\" id=\"audit-filters\">\
<label>Nhân viên / Staff<br><select name=\"staff\">{so}</select></label>\
<label>Thao tác / Action<br><select name=\"action\">{ao}</select></label>\
<label>Từ ngày / From<br><input type=\"date\" name=\"from\" value=\"{from}\"></label>\
<label>Đến ngày / To<br><input type=\"date\" name=\"to\" value=\"{to}\"></label>\
<label>Đối tượng chứa / Object contains<br><input type=\"text\" name=\"object\" value=\"{obj}\"></label>\
<button>Lọc / Filter</button> <a href=\"/console/audit\">Bỏ lọc / Clear</a></form>\
<p class=\"muted\">{n} mục (mới nhất trước) / {n} entries, newest first. Giờ / times {zone}.</p>\
<div class=\"scroll\"><table id=\"audit\"><tr><th>Lúc / When</th><th>Ai / Who</th><th>Thao tác / Action</th><th>Đối tượng / Object</th></tr>{rows}</table></div>{next}",
        so = options(&staff_names, filter.staff.as_deref()),
        ao = options(&actions, filter.action.as_deref()),
        from = val(&q.from),
        to = val(&q.to),
        obj = val(&q.object),
        n = entries.len(),
        zone = localtime::zone_label(off),
    );
    Ok(html::page(&c.viewer, "/console/audit", "Nhật ký / Audit log", &body))
}
