//! Tracing a venue from its tracing sheet: paste the sheet's text or upload a
//! photo of its QR code (decoded on the server, in memory, never stored), give the
//! window, see exactly which epochs would be published, then confirm with a
//! bilingual message.

use axum::extract::{Multipart, State};
use axum::response::{IntoResponse, Redirect, Response};
use quet_protocol::venue_keys::VenueMasterKey;
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::console::auth::{Console, ConsoleError, ConsoleForm, csrf_refused};
use crate::console::html::{self, esc};
use crate::console::{ConsoleState, PHOTO_LIMIT, csrf, localtime, qr, templates};
use crate::db::now;
use crate::decisions;
use crate::error::ApiError;
use crate::review::{self, TraceRequest};
use crate::roles::Action;
use crate::staff;

use super::local;

fn zone(s: &ConsoleState) -> String {
    localtime::zone_label(s.config().utc_offset_minutes)
}

/// `GET /console/traces`.
pub async fn form(State(s): State<ConsoleState>, c: Console) -> Result<Response, ConsoleError> {
    c.require(Action::ProposeTrace)?;
    let off = s.config().utc_offset_minutes;
    let t = now();
    let body = format!(
        "<p>Dùng phiếu truy vết của chủ địa điểm để cảnh báo những người đã có mặt. \
Dán nội dung chữ của phiếu, hoặc chụp mã QR trên phiếu. Ảnh chỉ được giải mã trong bộ nhớ máy chủ, không lưu lại.<br>\
<span class=\"en\">Use the venue owner's tracing sheet to warn the people who were there. Paste the sheet's text, \
or upload a photo of its QR code: the photo is decoded in the server's memory and never stored.</span></p>\
<form method=\"post\" action=\"/console/traces/preview\" enctype=\"multipart/form-data\" class=\"card\">{csrf}\
<label for=\"label\">Tên địa điểm (để ghi nhớ) / Venue name (for your records)</label>\
<input type=\"text\" id=\"label\" name=\"label\" maxlength=\"200\" required>\
<label for=\"sheet\">Nội dung phiếu / Sheet text</label>\
<textarea id=\"sheet\" name=\"sheet\" autocomplete=\"off\" spellcheck=\"false\"></textarea>\
<label for=\"photo\">hoặc ảnh mã QR của phiếu / or a photo of the sheet's QR code (PNG, JPEG ≤ 8 MB)</label>\
<input type=\"file\" id=\"photo\" name=\"photo\" accept=\"image/png,image/jpeg\">\
<label for=\"start\">Từ / From ({zone})</label><input type=\"datetime-local\" id=\"start\" name=\"start\" value=\"{start}\" required>\
<label for=\"end\">Đến / Until ({zone})</label><input type=\"datetime-local\" id=\"end\" name=\"end\" value=\"{end}\" required>\
<label for=\"max_stay\">Thời gian ở tối đa (phút) / Maximum stay (minutes)</label>\
<input type=\"number\" id=\"max_stay\" name=\"max_stay_minutes\" value=\"120\" min=\"0\" max=\"1440\">\
<label for=\"buffer\">Thêm trước/sau (phút) / Buffer (minutes)</label>\
<input type=\"number\" id=\"buffer\" name=\"buffer_minutes\" value=\"30\" min=\"0\" max=\"1440\">\
<button id=\"preview\">Xem trước / Preview</button></form>",
        csrf = html::csrf_field(&c.viewer.csrf),
        zone = zone(&s),
        start = localtime::input_value(t - t % 3600 - 3 * 3600, off),
        end = localtime::input_value(t - t % 3600, off),
    );
    Ok(html::page(&c.viewer, "/console/traces", "Truy vết theo phiếu / Trace from a tracing sheet", &body))
}

#[derive(Default)]
struct PreviewFields {
    csrf: String,
    label: String,
    sheet: Zeroizing<String>,
    photo: Vec<u8>,
    start: String,
    end: String,
    max_stay_minutes: String,
    buffer_minutes: String,
}

async fn read_fields(mut mp: Multipart) -> Result<PreviewFields, ApiError> {
    let mut f = PreviewFields::default();
    let bad = |e: axum::extract::multipart::MultipartError| {
        ApiError::bad_request(format!("Biểu mẫu không hợp lệ / Invalid form: {e}"))
    };
    while let Some(field) = mp.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or("").to_owned();
        if name == "photo" {
            f.photo = field.bytes().await.map_err(bad)?.to_vec();
            if f.photo.len() > PHOTO_LIMIT {
                return Err(ApiError::too_large(PHOTO_LIMIT));
            }
            continue;
        }
        let text = field.text().await.map_err(bad)?;
        if text.len() > 16 * 1024 {
            return Err(ApiError::too_large(16 * 1024));
        }
        match name.as_str() {
            "csrf" => f.csrf = text,
            "label" => f.label = text,
            "sheet" => f.sheet = Zeroizing::new(text),
            "start" => f.start = text,
            "end" => f.end = text,
            "max_stay_minutes" => f.max_stay_minutes = text,
            "buffer_minutes" => f.buffer_minutes = text,
            _ => {}
        }
    }
    Ok(f)
}

fn minutes(v: &str, default: u64) -> Result<u64, ApiError> {
    match v.trim() {
        "" => Ok(default),
        v => v
            .parse()
            .map_err(|_| ApiError::bad_request("Số phút không hợp lệ / Minutes: not a number")),
    }
}

fn times(s: &ConsoleState, start: &str, end: &str) -> Result<(u64, u64), ApiError> {
    let off = s.config().utc_offset_minutes;
    let start = localtime::parse(start, off)
        .ok_or_else(|| ApiError::bad_request("Thời điểm bắt đầu không hợp lệ / Invalid start time"))?;
    let end = localtime::parse(end, off)
        .ok_or_else(|| ApiError::bad_request("Thời điểm kết thúc không hợp lệ / Invalid end time"))?;
    Ok((start, end))
}

async fn sheet_from_photo(s: &ConsoleState, photo: Vec<u8>) -> Result<Zeroizing<String>, ApiError> {
    let _slot = s
        .console
        .photo_slots
        .acquire()
        .await
        .map_err(|e| ApiError::internal("photo slot", e))?;
    let texts = tokio::task::spawn_blocking(move || qr::decode_photo(&photo))
        .await
        .map_err(|e| ApiError::internal("photo decoding", e))?
        .map_err(ApiError::bad_request)?;
    let found = texts
        .into_iter()
        .map(Zeroizing::new)
        .find(|t| VenueMasterKey::from_sheet_text(t).is_ok());
    found.ok_or_else(|| {
        ApiError::bad_request(
            "Không tìm thấy mã QR của phiếu truy vết trong ảnh / No tracing-sheet QR code found in the photo",
        )
    })
}

/// `POST /console/traces/preview` (multipart): which epochs would be published.
pub async fn preview(
    State(s): State<ConsoleState>,
    c: Console,
    mp: Multipart,
) -> Result<Response, ConsoleError> {
    let f = read_fields(mp).await?;
    if !csrf::check_session_token(&c.session_id, &f.csrf) {
        return Ok(csrf_refused());
    }
    c.require(Action::ProposeTrace)?;
    let from_photo = !f.photo.is_empty();
    let sheet = if from_photo {
        sheet_from_photo(&s, f.photo).await?
    } else {
        f.sheet.clone()
    };
    VenueMasterKey::from_sheet_text(&sheet).map_err(|_| {
        ApiError::bad_request(
            "Nội dung phiếu không hợp lệ (sai mã kiểm tra) / The sheet text is not valid (checksum)",
        )
    })?;
    let (start, end) = times(&s, &f.start, &f.end)?;
    let req = TraceRequest {
        sheet: sheet.to_string(),
        start,
        end,
        max_stay_minutes: minutes(&f.max_stay_minutes, 120)?,
        buffer_minutes: minutes(&f.buffer_minutes, 30)?,
        severity: None,
        message_vi: None,
        message_en: None,
    };
    let epochs = review::trace_preview(&req)?;
    let who = c.member().name.clone();
    s.app
        .write(move |tx, _| Ok(staff::record(tx, now(), &who, "trace.preview", None)?))
        .await?;
    let mut rows = String::new();
    let (mut hours, mut days) = (0, 0);
    for e in &epochs {
        if e.kind == "hour" {
            hours += 1;
        } else {
            days += 1;
        }
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            if e.kind == "hour" { "giờ / hour" } else { "ngày / day (poster)" },
            e.index,
            esc(&local(&s, e.start))
        ));
    }
    let off = s.config().utc_offset_minutes;
    let hidden = format!(
        "<input type=\"hidden\" name=\"label\" value=\"{label}\"><input type=\"hidden\" name=\"sheet\" value=\"{sheet}\">\
<input type=\"hidden\" name=\"start\" value=\"{start}\"><input type=\"hidden\" name=\"end\" value=\"{end}\">\
<input type=\"hidden\" name=\"max_stay_minutes\" value=\"{ms}\"><input type=\"hidden\" name=\"buffer_minutes\" value=\"{bm}\">",
        label = esc(f.label.trim()),
        sheet = esc(&sheet),
        start = localtime::input_value(start, off),
        end = localtime::input_value(end, off),
        ms = req.max_stay_minutes,
        bm = req.buffer_minutes,
    );
    let decides_alone = c.member().can(Action::ConfirmTrace) && !s.config().four_eyes;
    let button = if decides_alone {
        "Xếp hàng công bố / Queue for publication"
    } else {
        "Đề xuất truy vết / Propose (needs a publisher)"
    };
    let mut choices = String::from("<fieldset class=\"templates\"><legend>Mẫu tin nhắn / Message template</legend>");
    for (i, t) in templates::TEMPLATES.iter().enumerate() {
        choices.push_str(&format!(
            "<label><input type=\"radio\" name=\"template\" value=\"{}\"{}> <b>{}</b>: {}<br><span class=\"en\">{}</span></label>",
            t.id,
            if i == 0 { " checked" } else { "" },
            esc(t.severity),
            esc(t.vi),
            esc(t.en)
        ));
    }
    choices.push_str("</fieldset>");
    let body = format!(
        "{source}<div class=\"card\"><p><b>{label}</b>: {a} – {b} ({zone})<br>\
Thời gian ở tối đa / maximum stay {ms} phút/min · thêm / buffer {bm} phút/min</p>\
<p id=\"epoch-summary\">{hours} giờ và {days} ngày sẽ được công bố. <span class=\"en\">{hours} hour epochs and {days} day epochs will be published.</span></p>\
<div class=\"scroll\"><table id=\"epochs\"><tr><th>Loại / Kind</th><th>Số / Index</th><th>Bắt đầu / Starts</th></tr>{rows}</table></div></div>\
<div class=\"card\">{form}</div>",
        source = if from_photo {
            html::message("success", "Đã đọc mã QR của phiếu từ ảnh (ảnh không được lưu).", "Read the sheet's QR code from the photo (the photo was not stored).")
        } else {
            String::new()
        },
        label = esc(f.label.trim()),
        a = esc(&local(&s, start)),
        b = esc(&local(&s, end)),
        zone = zone(&s),
        ms = req.max_stay_minutes,
        bm = req.buffer_minutes,
        form = html::form(&c.viewer, "/console/traces", &format!("{hidden}{choices}"), button, ""),
    );
    Ok(html::page(&c.viewer, "/console/traces", "Xem trước truy vết / Trace preview", &body))
}

/// The confirm form.
#[derive(Debug, Deserialize)]
pub struct TraceForm {
    /// Venue label.
    pub label: String,
    /// Sheet text.
    pub sheet: String,
    /// Local start.
    pub start: String,
    /// Local end.
    pub end: String,
    /// Minutes.
    pub max_stay_minutes: String,
    /// Minutes.
    pub buffer_minutes: String,
    /// Template id.
    pub template: String,
}

/// `POST /console/traces`: queues the trace (or proposes it).
pub async fn submit(
    State(s): State<ConsoleState>,
    c: Console,
    ConsoleForm(f): ConsoleForm<TraceForm>,
) -> Result<Response, ConsoleError> {
    c.require(Action::ProposeTrace)?;
    let sheet = Zeroizing::new(f.sheet);
    let (start, end) = times(&s, &f.start, &f.end)?;
    let (severity, vi, en) =
        templates::resolve(&f.template, None, None).map_err(ApiError::bad_request)?;
    let label = {
        let l = f.label.trim();
        let l = if l.is_empty() { "(không tên / unnamed)" } else { l };
        format!("{l}: {} – {}", local(&s, start), local(&s, end))
    };
    let req = TraceRequest {
        sheet: sheet.to_string(),
        start,
        end,
        max_stay_minutes: minutes(&f.max_stay_minutes, 120)?,
        buffer_minutes: minutes(&f.buffer_minutes, 30)?,
        severity: Some(severity),
        message_vi: Some(vi),
        message_en: Some(en),
    };
    let actor = c.member().clone();
    let four_eyes = s.config().four_eyes;
    let d = s
        .app
        .write(move |tx, _| decisions::trace(tx, &actor, four_eyes, &req, &label, now()))
        .await?;
    Ok(match d.proposal {
        Some(_) => Redirect::to("/console/proposals").into_response(),
        None => Redirect::to("/console/notices").into_response(),
    })
}
