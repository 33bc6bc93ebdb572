//! The console's registry page (`/console/registry`): registrations waiting for a
//! decision (approve / reject), registered and active venues per district and
//! category as a table and a chart (inline SVG, no script), recent registrations
//! with revocation, and links to the CSV exports. Every action goes through the
//! same audited functions as the admin API (`api/registry.rs`), as the logged-in staff
//! member: a ward officer sees and decides their district only.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::api::registry::{actor_of, do_approve, do_reject, do_revoke, do_stats};
use crate::console::ConsoleState;
use crate::console::auth::{Console, ConsoleError, ConsoleForm};
use crate::console::html::{self, Viewer, esc};
use crate::registry::{self, Actor, ListFilter, RegistryStats};
use crate::roles::Action;

use super::Empty;

/// Per district: (registered now, active on the newest day with data).
fn district_totals(st: &RegistryStats) -> (Option<u32>, BTreeMap<String, (u64, u64)>) {
    let mut m: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for d in &st.districts {
        m.entry(d.district.clone()).or_default().0 += d.registered;
    }
    let newest = st.days.iter().map(|d| d.day).max();
    for d in st.days.iter().filter(|d| Some(d.day) == newest) {
        m.entry(d.district.clone()).or_default().1 += d.active;
    }
    (newest, m)
}

/// A horizontal bar chart: per district, registered (dark) and active (light).
pub fn chart_svg(totals: &BTreeMap<String, (u64, u64)>) -> String {
    let max = totals
        .values()
        .map(|(r, a)| (*r).max(*a))
        .max()
        .unwrap_or(0)
        .max(1);
    let (label_w, bar_w, row_h) = (180.0, 420.0, 34.0);
    let height = 30.0 + row_h * totals.len() as f64;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"{w}\" height=\"{height}\" \
         viewBox=\"0 0 {w} {height}\" font-family=\"sans-serif\" font-size=\"12\">\
         <title>Đã đăng ký và đang dùng theo quận / registered and active per district</title>\
         <rect x=\"0\" y=\"4\" width=\"10\" height=\"10\" fill=\"#1f4e79\"/><text x=\"14\" y=\"13\">đã đăng ký / registered</text>\
         <rect x=\"190\" y=\"4\" width=\"10\" height=\"10\" fill=\"#7fb3e0\"/><text x=\"204\" y=\"13\">đang dùng / active</text>",
        w = label_w + bar_w + 60.0
    );
    for (i, (district, (reg, act))) in totals.iter().enumerate() {
        let y = 24.0 + row_h * i as f64;
        let rw = bar_w * (*reg as f64) / (max as f64);
        let aw = bar_w * (*act as f64) / (max as f64);
        let _ = write!(
            s,
            "<text x=\"0\" y=\"{ty}\">{name}</text>\
             <rect x=\"{label_w}\" y=\"{y}\" width=\"{rw:.1}\" height=\"13\" fill=\"#1f4e79\"/>\
             <text x=\"{rx:.1}\" y=\"{ry}\">{reg}</text>\
             <rect x=\"{label_w}\" y=\"{y2}\" width=\"{aw:.1}\" height=\"13\" fill=\"#7fb3e0\"/>\
             <text x=\"{ax:.1}\" y=\"{ay}\">{act}</text>",
            ty = y + 18.0,
            name = esc(district),
            rx = label_w + rw + 4.0,
            ry = y + 11.0,
            y2 = y + 15.0,
            ax = label_w + aw + 4.0,
            ay = y + 26.0,
        );
    }
    s.push_str("</svg>");
    s
}

fn decision_forms(v: &Viewer, r: &registry::Registration) -> String {
    let approve = html::form(
        v,
        &format!("/console/registry/{}/approve", r.id),
        "<label>Hiệu lực (ngày) / Valid (days) <input name=\"validity_days\" value=\"365\" size=\"4\" inputmode=\"numeric\"></label>",
        "Duyệt / Approve",
        "",
    );
    let reject = html::button_form(
        v,
        &format!("/console/registry/{}/reject", r.id),
        "Từ chối / Reject",
        "danger",
    );
    format!("{approve} {reject}")
}

fn revoke_form(v: &Viewer, r: &registry::Registration) -> String {
    html::form(
        v,
        &format!("/console/registry/{}/revoke", r.id),
        "<label>Lý do / Reason <input name=\"reason\" required size=\"14\"></label>",
        "Thu hồi / Revoke",
        "danger",
    )
}

fn registration_row(r: &registry::Registration, action: &str) -> String {
    let dup = r
        .duplicate_of
        .map(|d| {
            format!(
                "<br><span class=\"warn\">trùng với / same details as #{d} — kiểm tra / check</span>"
            )
        })
        .unwrap_or_default();
    format!(
        "<tr><td>{id}</td><td>{name}<br><small>{addr}</small>{dup}</td><td>{cat}</td><td>{district}</td><td>{by}</td><td>{status}</td><td>{action}</td></tr>",
        id = r.id,
        name = esc(&r.name),
        addr = esc(&r.address),
        cat = esc(&r.category),
        district = esc(&r.district),
        by = esc(&r.submitted_by),
        status = esc(&r.status),
    )
}

/// `GET /console/registry`.
pub async fn home(State(s): State<ConsoleState>, c: Console) -> Result<Response, ConsoleError> {
    c.require(Action::ManageVenueRegistrations)?;
    let actor = actor_of(c.member())?;
    let st = do_stats(&s.app, actor.clone(), 30).await?;
    let a = actor.clone();
    let (pending, recent) = s
        .app
        .read(move |c, _| {
            let pending = registry::list(
                c,
                &a,
                &ListFilter {
                    status: Some("pending".into()),
                    ..ListFilter::default()
                },
            )?;
            let recent = registry::list(
                c,
                &a,
                &ListFilter {
                    status: Some("approved".into()),
                    ..ListFilter::default()
                },
            )?;
            Ok((pending, recent))
        })
        .await?;
    let scope = match &actor {
        Actor::WardOfficer { district, .. } => format!(" ({})", esc(district)),
        _ => String::new(),
    };
    let mut body = format!(
        "<p>Phạm vi / scope: {}{scope}. Xuất / export: <a href=\"/admin/v1/registry?format=csv\">registrations.csv</a> · \
<a href=\"/admin/v1/registry/stats?format=csv\">registry-stats.csv</a> (30 ngày / days)</p>",
        esc(&actor.label())
    );
    let (newest, totals) = district_totals(&st);
    let _ = write!(
        body,
        "<h2>Theo quận / per district</h2><p>Đang dùng = địa điểm gửi tín hiệu ngày {} (tự nguyện) / active = venues that sent the opt-in heartbeat on {}.</p>{}",
        newest.map(registry::iso_date).unwrap_or_else(|| "—".into()),
        newest.map(registry::iso_date).unwrap_or_else(|| "—".into()),
        chart_svg(&totals)
    );
    body.push_str(
        "<div class=\"scroll\"><table><tr><th>Quận / district</th><th>Loại / category</th><th>Đã đăng ký / registered</th><th>Chờ duyệt / pending</th><th>Thu hồi / revoked</th></tr>",
    );
    for d in &st.districts {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&d.district),
            esc(&d.category),
            d.registered,
            d.pending,
            d.revoked
        );
    }
    body.push_str("</table></div>");
    body.push_str("<h2>Theo ngày / per day</h2><div class=\"scroll\"><table><tr><th>Ngày / day</th><th>Quận / district</th><th>Loại / category</th><th>Đã đăng ký / registered</th><th>Đang dùng / active</th></tr>");
    for d in st.days.iter().take(200) {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            registry::iso_date(d.day),
            esc(&d.district),
            esc(&d.category),
            d.registered,
            d.active
        );
    }
    body.push_str("</table></div>");
    let _ = write!(
        body,
        "<h2>Chờ duyệt / pending ({})</h2><div class=\"scroll\"><table><tr><th>#</th><th>Địa điểm / venue</th><th>Loại</th><th>Quận</th><th>Gửi bởi / by</th><th>Trạng thái</th><th></th></tr>",
        pending.len()
    );
    for r in pending.iter().take(500) {
        body.push_str(&registration_row(r, &decision_forms(&c.viewer, r)));
    }
    body.push_str("</table></div>");
    let _ = write!(
        body,
        "<h2>Đã duyệt / approved ({})</h2><div class=\"scroll\"><table><tr><th>#</th><th>Địa điểm / venue</th><th>Loại</th><th>Quận</th><th>Gửi bởi / by</th><th>Trạng thái</th><th></th></tr>",
        recent.len()
    );
    for r in recent.iter().take(200) {
        body.push_str(&registration_row(r, &revoke_form(&c.viewer, r)));
    }
    body.push_str("</table></div>");
    Ok(html::page(
        &c.viewer,
        "/console/registry",
        "Đăng ký địa điểm / Venue registry",
        &body,
    ))
}

/// Approve form.
#[derive(Debug, Deserialize)]
pub struct ApproveForm {
    /// Validity, days.
    pub validity_days: Option<u32>,
}

/// `POST /console/registry/{id}/approve`.
pub async fn approve(
    State(s): State<ConsoleState>,
    c: Console,
    Path(id): Path<i64>,
    ConsoleForm(f): ConsoleForm<ApproveForm>,
) -> Result<Response, ConsoleError> {
    c.require(Action::ManageVenueRegistrations)?;
    do_approve(&s.app, actor_of(c.member())?, id, f.validity_days).await?;
    Ok(Redirect::to("/console/registry").into_response())
}

/// `POST /console/registry/{id}/reject`.
pub async fn reject(
    State(s): State<ConsoleState>,
    c: Console,
    Path(id): Path<i64>,
    ConsoleForm(_): ConsoleForm<Empty>,
) -> Result<Response, ConsoleError> {
    c.require(Action::ManageVenueRegistrations)?;
    do_reject(&s.app, actor_of(c.member())?, id).await?;
    Ok(Redirect::to("/console/registry").into_response())
}

/// Revoke form.
#[derive(Debug, Deserialize)]
pub struct RevokeForm {
    /// Why.
    pub reason: String,
}

/// `POST /console/registry/{id}/revoke`.
pub async fn revoke(
    State(s): State<ConsoleState>,
    c: Console,
    Path(id): Path<i64>,
    ConsoleForm(f): ConsoleForm<RevokeForm>,
) -> Result<Response, ConsoleError> {
    c.require(Action::ManageVenueRegistrations)?;
    do_revoke(&s.app, actor_of(c.member())?, id, f.reason).await?;
    Ok(Redirect::to("/console/registry").into_response())
}
