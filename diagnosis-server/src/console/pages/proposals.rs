//! Traces awaiting a publisher's confirmation (the four-eyes rule, and every
//! trace a tracer proposes).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};

use crate::console::ConsoleState;
use crate::console::auth::{Console, ConsoleError, ConsoleForm};
use crate::console::html::{self, esc};
use crate::db::now;
use crate::decisions;
use crate::roles::Action;

use super::{Empty, local};

/// `GET /console/proposals`.
pub async fn list(State(s): State<ConsoleState>, c: Console) -> Result<Response, ConsoleError> {
    c.require(Action::ProposeTrace)?;
    let rows = s.app.read(|conn, _| Ok(decisions::list(conn)?)).await?;
    let m = c.member();
    let mut body = String::from(
        "<p>Mỗi truy vết do truy vết viên đề xuất (hoặc mọi truy vết, khi quy tắc bốn mắt bật) chỉ được công bố sau khi một người công bố khác xác nhận.<br>\
<span class=\"en\">A trace proposed by a tracer (or any trace, with the four-eyes rule on) is published only after a publisher, someone else, confirms it.</span></p>",
    );
    if rows.is_empty() {
        body.push_str("<p class=\"muted\">Không có đề xuất nào / No proposals.</p>");
    }
    for p in &rows {
        let message = p
            .message
            .as_ref()
            .map(|(sev, template, vi, en)| {
                format!(
                    "<p><b>{}</b> · mẫu / template {} · {}<br><span class=\"en\">{}</span></p>",
                    esc(sev),
                    esc(template.as_deref().unwrap_or("-")),
                    esc(vi),
                    esc(en)
                )
            })
            .unwrap_or_default();
        let mut actions = String::new();
        if p.state == "pending" && m.can(Action::ConfirmTrace) {
            if s.config().four_eyes && p.proposed_by == m.name {
                actions.push_str("<p class=\"notice\">Bạn đã đề xuất: cần người khác xác nhận. <span class=\"en\">You proposed this: someone else must confirm it.</span></p>");
            } else {
                actions.push_str(&html::button_form(
                    &c.viewer,
                    &format!("/console/proposals/{}/confirm", p.id),
                    "Xác nhận / Confirm",
                    "",
                ));
            }
            actions.push_str(&html::button_form(
                &c.viewer,
                &format!("/console/proposals/{}/decline", p.id),
                "Từ chối / Decline",
                "danger",
            ));
        }
        body.push_str(&format!(
            "<div class=\"card\" id=\"proposal-{id}\"><b>#{id}</b> {kind} · {label}<br>\
<span class=\"muted\">{by} · {at} · <b>{state}</b>{decided}</span>{message}{actions}</div>",
            id = p.id,
            kind = if p.kind == "review" { "check-in đã gửi / uploaded check-in" } else { "phiếu truy vết / tracing sheet" },
            label = esc(&p.label),
            by = esc(&p.proposed_by),
            at = esc(&local(&s, p.proposed_at)),
            state = esc(&p.state),
            decided = p.decided_by.as_deref().map(|d| format!(" · {}", esc(d))).unwrap_or_default(),
        ));
    }
    Ok(html::page(&c.viewer, "/console/proposals", "Phê duyệt truy vết / Trace approvals", &body))
}

/// `POST /console/proposals/{id}/confirm`.
pub async fn confirm(
    State(s): State<ConsoleState>,
    c: Console,
    Path(id): Path<i64>,
    ConsoleForm(_): ConsoleForm<Empty>,
) -> Result<Response, ConsoleError> {
    let actor = c.member().clone();
    let four_eyes = s.config().four_eyes;
    s.app
        .write(move |tx, inner| decisions::confirm(tx, &inner.authority, &actor, four_eyes, id, now()))
        .await?;
    Ok(Redirect::to("/console/notices").into_response())
}

/// `POST /console/proposals/{id}/decline`.
pub async fn decline(
    State(s): State<ConsoleState>,
    c: Console,
    Path(id): Path<i64>,
    ConsoleForm(_): ConsoleForm<Empty>,
) -> Result<Response, ConsoleError> {
    let actor = c.member().clone();
    s.app
        .write(move |tx, _| decisions::decline(tx, &actor, id, now()))
        .await?;
    Ok(Redirect::to("/console/proposals").into_response())
}
