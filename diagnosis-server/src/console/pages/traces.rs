//! Tracing a venue from its tracing sheet: paste the sheet's text or upload a
//! photo of its QR code (decoded on the server, in memory, never stored), give the
//! window, see exactly which epochs would be published, then confirm with a
//! bilingual message.

use axum::extract::{Multipart, State};
use axum::response::{IntoResponse, Redirect, Response};
use quet_protocol::venue_keys::{VenueMasterKey, day_keys_from_text};
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::console::auth::{Console, ConsoleError, ConsoleForm, csrf_refused};
use crate::console::html::{self, esc};
use crate::console::templates::{self, MessageFields};
use crate::console::{ConsoleState, PHOTO_LIMIT, csrf, localtime, qr};
use crate::db::now;
use crate::decisions;
use crate::error::ApiError;
use crate::review::{self, TraceRequest};
use crate::roles::Action;
use crate::staff;

use super::local;

/// Whether text is a tracing sheet: a day-key sheet (`quet-venue trace-keys`) or
/// the master sheet.
fn is_sheet(text: &str) -> bool {
    day_keys_from_text(text).is_ok() || VenueMasterKey::from_sheet_text(text).is_ok()
}

fn zone(s: &ConsoleState) -> String {
    localtime::zone_label(s.offset_minutes())
}

/// `GET /console/traces`.
pub async fn form(State(s): State<ConsoleState>, c: Console) -> Result<Response, ConsoleError> {
    c.require(Action::ProposeTrace)?;
    let off = s.offset_minutes();
    let t = now();
    let body = format!(
        "<p>Dùng phiếu truy vết của chủ địa điểm để cảnh báo những người đã có mặt. \
Dán nội dung chữ của phiếu, hoặc chụp mã QR trên phiếu. Ảnh chỉ được giải mã trong bộ nhớ máy chủ, không lưu lại.<br>\
<span class=\"en\">Use the venue owner's tracing sheet to warn the people who were there. Paste the sheet's text, \
or upload a photo of its QR code: the photo is decoded in the server's memory and never stored.</span></p>\
<form method=\"post\" action=\"/console/traces/preview\" enctype=\"multipart/form-data\" class=\"card\">{csrf}\
<label for=\"label\">Tên địa điểm (để ghi nhớ) / Venue name (for your records)</label>\
<input type=\"text\" id=\"label\" name=\"label\" maxlength=\"200\" required>\
<label for=\"sheet\">Nội dung phiếu (phiếu khóa theo ngày hoặc phiếu truy vết) / Sheet text (day-key sheet or tracing sheet)</label>\
<textarea id=\"sheet\" name=\"sheet\" autocomplete=\"off\" spellcheck=\"false\"></textarea>\
<label for=\"photo\">hoặc ảnh mã QR của phiếu / or a photo of the sheet's QR code (PNG, JPEG ≤ 8 MB)</label>\
<input type=\"file\" id=\"photo\" name=\"photo\" accept=\"image/png,image/jpeg\">\
<label for=\"start\">Từ / From ({zone})</label><input type=\"datetime-local\" id=\"start\" name=\"start\" value=\"{start}\" required>\
<label for=\"end\">Đến / Until ({zone})</label><input type=\"datetime-local\" id=\"end\" name=\"end\" value=\"{end}\" required>\
<fieldset><legend>Địa điểm dùng / The venue uses</legend>\
<label><input type=\"checkbox\" name=\"screen\" value=\"1\" checked> màn hình (mã đổi mỗi giờ) / a screen (hourly codes)</label>\
<label><input type=\"checkbox\" name=\"posters\" value=\"1\" checked> áp phích in (mã theo ngày) / printed posters (daily codes)</label></fieldset>\
<label for=\"max_stay\">Thời gian ở tối đa (phút) / Maximum stay (minutes)</label>\
<input type=\"number\" id=\"max_stay\" name=\"max_stay_minutes\" value=\"120\" min=\"1\" max=\"1440\">\
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
    screen: bool,
    posters: bool,
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
            "screen" => f.screen = true,
            "posters" => f.posters = true,
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
    let off = s.offset_minutes();
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
        .find(|t| is_sheet(t));
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
    if !is_sheet(&sheet) {
        return Err(ApiError::bad_request(
            "Nội dung phiếu không hợp lệ (sai mã kiểm tra) / The sheet text is not valid (checksum)",
        )
        .into());
    }
    let (start, end) = times(&s, &f.start, &f.end)?;
    let req = TraceRequest {
        sheet: sheet.to_string(),
        screen: f.screen,
        posters: f.posters,
        start,
        end,
        max_stay_minutes: minutes(&f.max_stay_minutes, 120)?,
        buffer_minutes: minutes(&f.buffer_minutes, 30)?,
        severity: None,
        template: None,
        message_vi: None,
        message_en: None,
    };
    let epochs = review::trace_preview(&req, s.app.authority.descriptor.utc_offset, now())?;
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
    let off = s.offset_minutes();
    let hidden = format!(
        "<input type=\"hidden\" name=\"label\" value=\"{label}\"><input type=\"hidden\" name=\"sheet\" value=\"{sheet}\">\
<input type=\"hidden\" name=\"start\" value=\"{start}\"><input type=\"hidden\" name=\"end\" value=\"{end}\">\
<input type=\"hidden\" name=\"max_stay_minutes\" value=\"{ms}\"><input type=\"hidden\" name=\"buffer_minutes\" value=\"{bm}\">\
<input type=\"hidden\" name=\"screen\" value=\"{screen}\"><input type=\"hidden\" name=\"posters\" value=\"{posters}\">",
        label = esc(f.label.trim()),
        sheet = esc(&sheet),
        start = localtime::input_value(start, off),
        end = localtime::input_value(end, off),
        ms = req.max_stay_minutes,
        bm = req.buffer_minutes,
        screen = req.screen,
        posters = req.posters,
    );
    let decides_alone = c.member().can(Action::ConfirmTrace) && !s.config().four_eyes;
    let button = if decides_alone {
        "Xếp hàng công bố / Queue for publication"
    } else {
        "Đề xuất truy vết / Propose (needs a publisher)"
    };
    let choices = templates::choices_html();
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
    /// `true` if the venue shows a screen.
    pub screen: String,
    /// `true` if it prints posters.
    pub posters: String,
    /// The message.
    #[serde(flatten)]
    pub message: MessageFields,
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
    let buffer_minutes = minutes(&f.buffer_minutes, 30)?;
    let p = templates::params(&f.message, buffer_minutes)?;
    let label = {
        let l = f.label.trim();
        let l = if l.is_empty() { "(không tên / unnamed)" } else { l };
        format!("{l}: {} – {}", local(&s, start), local(&s, end))
    };
    let req = TraceRequest {
        sheet: sheet.to_string(),
        screen: f.screen == "true",
        posters: f.posters == "true",
        start,
        end,
        max_stay_minutes: minutes(&f.max_stay_minutes, 120)?,
        buffer_minutes,
        severity: Some(p.severity),
        template: p.template,
        message_vi: Some(p.message_vi),
        message_en: Some(p.message_en),
    };
    let actor = c.member().clone();
    let four_eyes = s.config().four_eyes;
    let offset = s.app.authority.descriptor.utc_offset;
    let d = s
        .app
        .write(move |tx, _| decisions::trace(tx, &actor, four_eyes, &req, &label, offset, now()))
        .await?;
    Ok(match d.proposal {
        Some(_) => Redirect::to("/console/proposals").into_response(),
        None => Redirect::to("/console/notices").into_response(),
    })
}
