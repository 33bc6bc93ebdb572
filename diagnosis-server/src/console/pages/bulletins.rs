//! Bulletin history and "publish now".

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::api::admin::do_publish;
use crate::console::ConsoleState;
use crate::console::auth::{Console, ConsoleError, ConsoleForm};
use crate::console::html::{self, esc};
use crate::roles::Action;

use super::{Empty, local};

/// `?published=N` after publishing.
#[derive(Debug, Deserialize)]
pub struct Published {
    /// The sequence just published.
    pub published: Option<u64>,
}

/// `GET /console/bulletins`.
pub async fn list(
    State(s): State<ConsoleState>,
    c: Console,
    Query(q): Query<Published>,
) -> Result<Response, ConsoleError> {
    c.require(Action::ReadPublications)?;
    let notice = q
        .published
        .map(|n| {
            html::message(
                "success",
                &format!("Đã công bố bản tin #{n}."),
                &format!("Bulletin #{n} published."),
            )
        })
        .unwrap_or_default();
    render(&s, &c, &notice).await
}

async fn render(s: &ConsoleState, c: &Console, notice: &str) -> Result<Response, ConsoleError> {
    type Row = (i64, i64, i64, i64, i64, i64, i64);
    let (rows, queued, withdrawals): (Vec<Row>, i64, i64) = s
        .app
        .read(|conn, _| {
            let mut st = conn.prepare(
                "SELECT b.sequence, b.issued_at, b.expires_at, length(b.bytes),
                        (SELECT COUNT(*) FROM notices n WHERE n.published_in = b.sequence),
                        (SELECT COUNT(*) FROM notices n WHERE n.withdrawn_in = b.sequence),
                        b.expires_at > strftime('%s','now')
                 FROM bulletins b ORDER BY b.sequence DESC LIMIT 500",
            )?;
            let rows = st
                .query_map([], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
                })?
                .collect::<rusqlite::Result<Vec<Row>>>()?;
            let q = conn.query_row("SELECT COUNT(*) FROM notices WHERE status = 'queued'", [], |r| r.get(0))?;
            let w = conn.query_row("SELECT COUNT(*) FROM notices WHERE status = 'withdraw_queued'", [], |r| r.get(0))?;
            Ok((rows, q, w))
        })
        .await?;
    let mut table = String::new();
    for (seq, issued, expires, size, notices, withdrawn, live) in &rows {
        table.push_str(&format!(
            "<tr class=\"bulletin-row\" data-sequence=\"{seq}\"><td>#{seq}</td><td>{}</td><td>{}{}</td><td>{notices}</td><td>{withdrawn}</td><td>{size}</td></tr>",
            esc(&local(s, (*issued).max(0) as u64)),
            esc(&local(s, (*expires).max(0) as u64)),
            if *live == 1 { "" } else { " (hết hạn / expired)" },
        ));
    }
    let publish = if c.member().can(Action::Publish) {
        html::form(
            &c.viewer,
            "/console/publish",
            "",
            "Công bố ngay / Publish now",
            "",
        )
    } else {
        String::new()
    };
    let body = format!(
        "{notice}<div class=\"card\"><p id=\"queue-summary\">{queued} thông báo và {withdrawals} lệnh rút lại chờ bản tin kế tiếp.<br>\
<span class=\"en\">{queued} notices and {withdrawals} withdrawals wait for the next bulletin.</span></p>{publish}</div>\
<div class=\"scroll\"><table id=\"bulletins\"><tr><th>Số / Seq.</th><th>Phát hành / Issued</th><th>Hết hạn / Expires</th>\
<th>Thông báo / Notices</th><th>Rút lại / Withdrawn</th><th>Byte</th></tr>{table}</table></div>"
    );
    Ok(html::page(&c.viewer, "/console/bulletins", "Bản tin / Bulletins", &body))
}

/// `POST /console/publish`.
pub async fn publish(
    State(s): State<ConsoleState>,
    c: Console,
    ConsoleForm(_): ConsoleForm<Empty>,
) -> Result<Response, ConsoleError> {
    c.require(Action::Publish)?;
    let p = do_publish(&s.app, c.member().name.clone()).await?;
    Ok(Redirect::to(&format!("/console/bulletins?published={}", p.sequence)).into_response())
}
