//! Venue statistics: a chart of active venues per district and day, and the table
//! behind it.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use quet_protocol::time::UnixTime;

use crate::api::admin::do_stats;
use crate::console::auth::{Console, ConsoleError};
use crate::console::html::{self, esc};
use crate::console::{ConsoleState, chart};
use crate::db::now;
use crate::error::ApiError;
use crate::roles::Action;

const DAYS: u32 = 30;

fn today() -> Result<u32, ApiError> {
    Ok(UnixTime(now())
        .day()
        .map_err(|e| ApiError::internal("clock", e))?
        .0)
}

/// `GET /console/stats`.
pub async fn page(State(s): State<ConsoleState>, c: Console) -> Result<Response, ConsoleError> {
    c.require(Action::ReadStats)?;
    let rows = do_stats(&s.app, c.member().name.clone()).await?;
    let svg = chart::svg(&rows, today()?, DAYS);
    let mut table = String::new();
    for r in &rows {
        table.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            crate::console::localtime::format_date(u64::from(r.day) * 86_400, 0),
            esc(&r.district),
            esc(&r.category),
            r.active_venues
        ));
    }
    let body = format!(
        "<p>Số địa điểm gửi tín hiệu hoạt động (tự nguyện, ẩn danh theo ngày) trong {DAYS} ngày qua.<br>\
<span class=\"en\">Venues that sent an opt-in daily heartbeat (a pseudonym that changes every day), last {DAYS} days.</span></p>\
<div class=\"chart\" id=\"chart\">{svg}</div>\
<p><a href=\"/console/stats/chart.svg\">SVG</a></p>\
<details><summary>Bảng số liệu / Data table</summary><div class=\"scroll\"><table id=\"stats\"><tr><th>Ngày / Day (UTC)</th><th>Quận / District</th><th>Loại / Category</th><th>Hoạt động / Active</th></tr>{table}</table></div></details>"
    );
    Ok(html::page(&c.viewer, "/console/stats", "Thống kê địa điểm / Venue statistics", &body))
}

/// `GET /console/stats/chart.svg`.
pub async fn chart(State(s): State<ConsoleState>, c: Console) -> Result<Response, ConsoleError> {
    c.require(Action::ReadStats)?;
    let rows = do_stats(&s.app, c.member().name.clone()).await?;
    Ok((
        [(header::CONTENT_TYPE, "image/svg+xml; charset=utf-8")],
        chart::svg(&rows, today()?, DAYS),
    )
        .into_response())
}
