//! Issuing an authorization code and printing the slip for the patient: the code
//! as text and as a QR code whose content is exactly the code text
//! (`XXXX-XXXX-XXXX-XXXX`), which the phone app scans.

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;

use crate::api::admin::{IssueRequest, do_issue};
use crate::console::auth::{Console, ConsoleError, ConsoleForm};
use crate::console::html::{self, esc};
use crate::console::{ConsoleState, qr};
use crate::error::ApiError;
use crate::roles::Action;

use super::local;

/// `GET /console/codes`.
pub async fn form(State(s): State<ConsoleState>, c: Console) -> Result<Response, ConsoleError> {
    c.require(Action::IssueCode)?;
    let hours = s.app.config.auth_code_hours;
    let inner = format!(
        "<label for=\"valid_hours\">Hiệu lực (giờ) / Valid for (hours)</label>\
<input type=\"number\" id=\"valid_hours\" name=\"valid_hours\" value=\"{hours}\" min=\"1\" max=\"336\">\
<label for=\"report_days\">Gửi check-in của bao nhiêu ngày / Check-ins of the last (days)</label>\
<input type=\"number\" id=\"report_days\" name=\"report_days\" value=\"14\" min=\"1\" max=\"21\">"
    );
    Ok(html::page(
        &c.viewer,
        "/console/codes",
        "Cấp mã cho ca bệnh / Issue an authorization code",
        &format!(
            "<p>Mã dùng một lần để người bệnh gửi lịch sử check-in của mình. Mã chỉ hiện một lần.<br>\
<span class=\"en\">A one-time code that lets a confirmed case upload their check-ins. It is shown only once.</span></p>\
<div class=\"card\">{}</div>",
            html::form(&c.viewer, "/console/codes", &inner, "Cấp mã / Issue code", "")
        ),
    ))
}

/// The issue form.
#[derive(Debug, Deserialize)]
pub struct IssueForm {
    /// Hours.
    pub valid_hours: Option<String>,
    /// Days.
    pub report_days: Option<String>,
}

fn number(field: &Option<String>) -> Result<Option<u64>, ApiError> {
    match field.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| ApiError::bad_request("Số không hợp lệ / Not a number")),
    }
}

/// `POST /console/codes`: issues the code and shows the printable slip.
pub async fn issue(
    State(s): State<ConsoleState>,
    c: Console,
    ConsoleForm(f): ConsoleForm<IssueForm>,
) -> Result<Response, ConsoleError> {
    c.require(Action::IssueCode)?;
    let req = IssueRequest {
        valid_hours: number(&f.valid_hours)?,
        report_days: number(&f.report_days)?,
    };
    let issued = do_issue(&s.app, c.member().name.clone(), req).await?;
    let code = issued.auth_code.clone();
    let svg = qr::svg(&code).map_err(|e| ApiError::internal("slip QR", e))?;
    let body = format!(
        "<div class=\"slip\" id=\"slip\">\
<p><b>{authority}</b></p>\
<p>Mã gửi lịch sử check-in / Check-in upload code</p>\
<p class=\"code\" id=\"auth-code\">{code}</p>{svg}\
<p>Mở ứng dụng Quét → «Tôi có kết quả dương tính» → quét mã này hoặc nhập mã. \
Mã dùng được một lần, hết hạn lúc {expires}. Chỉ gửi check-in từ {since}.</p>\
<p class=\"en\">Open the Quét app → “I tested positive” → scan this code or type it. \
It works once and expires at {expires}. Only check-ins since {since} are asked for.</p>\
<p class=\"muted\">Giờ Việt Nam / Vietnam time ({zone})</p></div>\
<p class=\"no-print\"><button type=\"button\" data-print id=\"print\">In phiếu / Print slip</button> \
<a href=\"/console/codes\">Cấp mã khác / Issue another</a></p>\
<p class=\"no-print muted\">Mã không được lưu ở dạng đọc được: nếu mất phiếu, hãy cấp mã mới.<br>\
<span class=\"en\">The code is not stored readably: if the slip is lost, issue a new one.</span></p>",
        authority = esc(&s.app.authority.descriptor.name),
        code = esc(&code),
        expires = esc(&local(&s, issued.expires_at)),
        since = esc(&local(&s, issued.report_since)),
        zone = crate::console::localtime::zone_label(s.offset_minutes()),
    );
    Ok(html::page(
        &c.viewer,
        "/console/codes",
        "Phiếu mã / Code slip",
        &body,
    ))
}
