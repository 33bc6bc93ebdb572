//! `GET /console/`: what needs attention today, per role.

use axum::extract::State;
use axum::response::Response;

use crate::console::ConsoleState;
use crate::console::auth::{Console, ConsoleError};
use crate::console::html::{self, esc};
use crate::roles::Action;

/// `GET /console/`.
pub async fn home(State(s): State<ConsoleState>, c: Console) -> Result<Response, ConsoleError> {
    let counts = s
        .app
        .read(|conn, _| {
            let n = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0));
            Ok((
                n("SELECT COUNT(*) FROM reviews")?,
                n("SELECT COUNT(*) FROM proposals WHERE state = 'pending'")?,
                n("SELECT COUNT(*) FROM notices WHERE status IN ('queued', 'withdraw_queued')")?,
                n("SELECT COALESCE(MAX(sequence), 0) FROM bulletins")?,
            ))
        })
        .await?;
    let (reviews, proposals, queued, latest) = counts;
    let m = c.member();
    let mut cards = String::new();
    let mut card = |href: &str, n: i64, vi: &str, en: &str| {
        cards.push_str(&format!(
            "<div class=\"card\"><a href=\"{href}\"><b>{n}</b> {}</a><br><span class=\"en\">{}</span></div>",
            esc(vi),
            esc(en)
        ));
    };
    if m.can(Action::ReadReviews) {
        card("/console/reviews", reviews, "lượt check-in chờ duyệt", "uploaded check-ins to review");
    }
    if m.can(Action::ConfirmTrace) {
        card("/console/proposals", proposals, "truy vết chờ phê duyệt", "traces awaiting confirmation");
        card("/console/bulletins", queued, "thông báo chờ công bố", "notices waiting for the next bulletin");
    }
    if m.can(Action::ReadPublications) {
        card("/console/bulletins", latest, "bản tin mới nhất (số thứ tự)", "latest bulletin (sequence)");
    }
    let four = if s.config().four_eyes {
        html::message(
            "notice",
            "Quy tắc bốn mắt đang bật: mỗi truy vết cần người thứ hai phê duyệt.",
            "Four-eyes rule on: every trace needs a second staff member's confirmation.",
        )
    } else {
        String::new()
    };
    Ok(html::page(
        &c.viewer,
        "/console/",
        "Tổng quan / Overview",
        &format!(
            "<p>Xin chào {name}. <span class=\"en\">Hello {name}.</span></p>{four}{cards}",
            name = esc(&m.name)
        ),
    ))
}
