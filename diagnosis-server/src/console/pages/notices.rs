//! Notices: queued, published, withdrawn; withdrawal.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};

use crate::api::admin::do_withdraw;
use crate::console::ConsoleState;
use crate::console::auth::{Console, ConsoleError, ConsoleForm};
use crate::console::html::{self, esc};
use crate::roles::Action;

use super::Empty;

/// One notice as listed.
#[derive(Debug, Clone)]
pub struct NoticeRow {
    /// Hex nonce.
    pub nonce: String,
    /// `review` or `trace`.
    pub source: String,
    /// Status.
    pub status: String,
    /// Hour it was created.
    pub created_hour: u64,
    /// Bulletin that published it.
    pub published_in: Option<i64>,
    /// Bulletin that withdrew it.
    pub withdrawn_in: Option<i64>,
    /// Staff label (venue and window).
    pub label: Option<String>,
}

/// The latest 500 notices, newest first.
pub fn list_notices(conn: &rusqlite::Connection) -> rusqlite::Result<Vec<NoticeRow>> {
    let mut st = conn.prepare(
        "SELECT n.nonce, n.source, n.status, n.created_hour, n.published_in, n.withdrawn_in, l.label
         FROM notices n LEFT JOIN notice_labels l ON l.nonce = n.nonce
         ORDER BY n.created_hour DESC, n.published_in DESC LIMIT 500",
    )?;
    let rows = st.query_map([], |r| {
        Ok(NoticeRow {
            nonce: data_encoding::HEXLOWER.encode(&r.get::<_, Vec<u8>>(0)?),
            source: r.get(1)?,
            status: r.get(2)?,
            created_hour: r.get::<_, i64>(3)?.max(0) as u64,
            published_in: r.get(4)?,
            withdrawn_in: r.get(5)?,
            label: r.get(6)?,
        })
    })?;
    rows.collect()
}

fn status_label(s: &str) -> &'static str {
    match s {
        "queued" => "chờ công bố / queued",
        "published" => "đã công bố / published",
        "withdraw_queued" => "chờ rút lại / withdrawal queued",
        "withdrawn" => "đã rút lại / withdrawn",
        "cancelled" => "đã hủy / cancelled",
        "proposed" => "chờ phê duyệt / awaiting confirmation",
        _ => "?",
    }
}

/// `GET /console/notices`.
pub async fn list(State(s): State<ConsoleState>, c: Console) -> Result<Response, ConsoleError> {
    c.require(Action::ReadPublications)?;
    let rows = s.app.read(|conn, _| Ok(list_notices(conn)?)).await?;
    let can_withdraw = c.member().can(Action::Withdraw);
    let mut table = String::new();
    for n in &rows {
        let action = if can_withdraw && matches!(n.status.as_str(), "queued" | "published") {
            html::button_form(
                &c.viewer,
                &format!("/console/notices/{}/withdraw", n.nonce),
                "Rút lại / Withdraw",
                "danger",
            )
        } else {
            String::new()
        };
        table.push_str(&format!(
            "<tr class=\"notice-row\" data-nonce=\"{nonce}\" data-status=\"{status}\"><td>{label}<br><code class=\"muted\">{short}…</code></td>\
<td>{source}</td><td>{st}</td><td>{pubd}</td><td>{action}</td></tr>",
            nonce = n.nonce,
            status = esc(&n.status),
            label = esc(n.label.as_deref().unwrap_or("—")),
            short = n.nonce.get(..12).unwrap_or(""),
            source = if n.source == "review" { "check-in" } else { "phiếu / sheet" },
            st = status_label(&n.status),
            pubd = match (n.published_in, n.withdrawn_in) {
                (Some(p), Some(w)) => format!("#{p} → #{w}"),
                (Some(p), None) => format!("#{p}"),
                _ => "—".into(),
            },
        ));
    }
    let _ = &s;
    let body = format!(
        "<p>Mỗi truy vết công bố hai thông báo: một cho mã màn hình (theo giờ), một cho áp phích (theo ngày). \
Rút lại một thông báo đã công bố sẽ được ghi trong bản tin kế tiếp.<br>\
<span class=\"en\">Each trace publishes two notices: one for screen codes (hours), one for posters (days). \
Withdrawing a published notice is announced in the next bulletin.</span></p>\
<div class=\"scroll\"><table id=\"notices\"><tr><th>Địa điểm, thời gian / Venue, window</th><th>Nguồn / Source</th>\
<th>Trạng thái / Status</th><th>Bản tin / Bulletin</th><th></th></tr>{table}</table></div>"
    );
    Ok(html::page(&c.viewer, "/console/notices", "Thông báo / Notices", &body))
}

/// `POST /console/notices/{nonce}/withdraw`.
pub async fn withdraw(
    State(s): State<ConsoleState>,
    c: Console,
    Path(nonce): Path<String>,
    ConsoleForm(_): ConsoleForm<Empty>,
) -> Result<Response, ConsoleError> {
    c.require(Action::Withdraw)?;
    do_withdraw(&s.app, c.member().name.clone(), nonce).await?;
    Ok(Redirect::to("/console/notices").into_response())
}
