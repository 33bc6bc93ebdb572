//! The HTML the tool produces: the full-screen display page and the printables
//! (tracing sheet, weekly poster, paper log). All self-contained (inline CSS, JS
//! and SVG; no fonts, scripts or images from elsewhere), so they work offline and
//! print from any browser. Every text is in Vietnamese and English.

use quet_protocol::code::VenueInfo;
use quet_protocol::time::{Day, UnixTime};

use crate::timefmt::{civil_from_days, format_date, format_local, format_offset, weekday_names};

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const PRINT_CSS: &str = r#"
*{box-sizing:border-box}
body{font-family:"Noto Sans","DejaVu Sans",Arial,sans-serif;margin:0;color:#111;background:#fff}
.page{width:190mm;margin:0 auto;padding:10mm 0;page-break-after:always;break-after:page}
.page:last-child{page-break-after:auto;break-after:auto}
h1{font-size:22pt;margin:0 0 2mm}
h2{font-size:15pt;margin:4mm 0 2mm}
.en{color:#444;font-style:italic}
.muted{color:#555;font-size:10pt}
.qr{width:120mm;height:120mm;margin:4mm auto}
.qr svg{width:100%;height:100%;display:block}
.warn{border:2px solid #b00;padding:3mm;margin:3mm 0;color:#700;font-weight:bold}
.words{font-family:"DejaVu Sans Mono",monospace;font-size:16pt;letter-spacing:1px;word-spacing:6px;
 border:1px dashed #333;padding:4mm;text-align:center;margin:3mm 0}
table{border-collapse:collapse;width:100%}
td,th{border:1px solid #333;padding:2mm;font-size:11pt;text-align:left;vertical-align:top}
th{background:#eee}
.log td{height:11mm}
@media print{.noprint{display:none}}
"#;

fn page_shell(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"vi\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{}</title><style>{PRINT_CSS}</style></head><body>{body}</body></html>\n",
        escape(title)
    )
}

fn venue_header(info: &VenueInfo) -> String {
    format!(
        "<h1>{}</h1><div>{}</div><div class=\"muted\">{} / {}</div>",
        escape(&info.name),
        escape(&info.address),
        escape(info.category.label_vi()),
        escape(info.category.label_en()),
    )
}

/// The private tracing sheet: the master key as a QR code and as words with a
/// checksum, and bilingual instructions.
pub fn tracing_sheet(
    info: &VenueInfo,
    authority_name: &str,
    fingerprint: &str,
    sheet_text: &str,
    qr_svg: &str,
    created: UnixTime,
    offset_minutes: i32,
) -> String {
    let body = format!(
        "<div class=\"page\">{header}\
<h2>PHIẾU TRUY VẾT — BÍ MẬT <span class=\"en\">/ TRACING SHEET — PRIVATE</span></h2>\
<div class=\"warn\">Giữ kín phiếu này. Chỉ trao cho cơ quan y tế khi có điều tra dịch tễ. \
Không chụp ảnh, không đăng lên mạng, không gửi qua tin nhắn.<br>\
<span class=\"en\">Keep this sheet private. Hand it only to the health authority during an \
investigation. Do not photograph it, post it online or send it by message.</span></div>\
<div class=\"qr\" style=\"width:80mm;height:80mm\">{qr_svg}</div>\
<div class=\"words\">{words}</div>\
<p>Mã khóa gồm 56 ký tự; 4 ký tự cuối là mã kiểm tra nên cán bộ y tế sẽ phát hiện lỗi gõ. \
<span class=\"en\">The key is 56 characters; the last four are a checksum, so typing errors \
are caught.</span></p>\
<h2>Dùng khi nào? <span class=\"en\">/ When is it used?</span></h2>\
<ol><li>Khi có ca bệnh đã đến địa điểm, cán bộ y tế có thể đề nghị bạn cung cấp phiếu này để \
thông báo cho những người đã có mặt trong khung giờ liên quan. Họ không biết ai đã quét mã; \
điện thoại của từng người tự đối chiếu.<br><span class=\"en\">When a case visited your venue, \
the health authority may ask for this sheet to warn the people who were present in the hours \
concerned. Nobody learns who scanned; each phone checks by itself.</span></li>\
<li>Ai có phiếu này có thể làm lộ thông tin về khung giờ của địa điểm: hãy cất như chìa khóa \
két sắt. Nếu nghi bị lộ, tạo địa điểm mới.<br><span class=\"en\">Whoever holds this sheet can \
unlock the venue's hours: store it like a safe key. If you think it leaked, create a new \
venue.</span></li></ol>\
<table><tr><th>Cơ quan y tế / Health authority</th><td>{authority}</td></tr>\
<tr><th>Dấu vân tay / Fingerprint</th><td style=\"font-family:monospace\">{fingerprint}</td></tr>\
<tr><th>In lúc / Printed</th><td>{created} ({offset})</td></tr></table>\
</div>",
        header = venue_header(info),
        words = escape(sheet_text),
        authority = escape(authority_name),
        fingerprint = escape(fingerprint),
        created = format_local(created, offset_minutes),
        offset = format_offset(offset_minutes),
    );
    page_shell("Phiếu truy vết / Tracing sheet", &body)
}

/// One day of the weekly poster.
#[derive(Clone, Debug)]
pub struct PosterDay {
    /// The UTC day the code is valid on.
    pub day: Day,
    /// The QR SVG.
    pub svg: String,
}

/// The weekly poster: one printed page per daily code, with dates, the validity
/// window in local time and bilingual instructions.
pub fn poster(info: &VenueInfo, days: &[PosterDay], offset_minutes: i32) -> String {
    let mut body = String::new();
    for d in days {
        let z = i64::from(d.day.0);
        let (wd_vi, wd_en) = weekday_names(z);
        let date = format_date(civil_from_days(z));
        let from = format_local(d.day.start(), offset_minutes);
        let to = format_local(UnixTime(d.day.start().0 + 86_399), offset_minutes);
        body.push_str(&format!(
            "<div class=\"page\">{header}\
<h2>{wd_vi} {date} <span class=\"en\">/ {wd_en} {date}</span></h2>\
<div class=\"muted\">Dùng được từ {from} đến {to} ({offset}) · \
<span class=\"en\">valid from {from} to {to} ({offset})</span></div>\
<div class=\"qr\">{svg}</div>\
<p style=\"font-size:16pt;text-align:center\"><b>Quét mã để khai báo khi vào.</b><br>\
<span class=\"en\">Scan to check in.</span></p>\
<p style=\"text-align:center\">Dùng camera điện thoại. Không ai biết bạn đã quét: điện thoại \
chỉ lưu một mã kín. <span class=\"en\">Use your phone camera. Nobody learns that you \
scanned: the phone keeps only a sealed token.</span></p>\
<div class=\"warn\">Chỉ treo tại địa điểm trong ngày ghi trên tờ. KHÔNG đăng mã này lên mạng \
hay gửi cho người khác. <span class=\"en\">Post at the venue only, on the day printed. Do NOT \
post this code online or send it to anyone.</span></div>\
</div>",
            header = venue_header(info),
            offset = format_offset(offset_minutes),
            svg = d.svg,
        ));
    }
    page_shell("Mã QR theo tuần / Weekly QR poster", &body)
}

/// The paper log for check-ins when no device is at hand: a printable table to
/// type in later with `assist add`.
pub fn paper_log(info: &VenueInfo, rows: usize) -> String {
    let mut trs = String::new();
    for i in 1..=rows {
        trs.push_str(&format!(
            "<tr><td>{i}</td><td></td><td></td><td></td><td></td><td></td></tr>"
        ));
    }
    let body = format!(
        "<div class=\"page\">{header}\
<h2>Sổ khai báo ra vào <span class=\"en\">/ Paper check-in log</span></h2>\
<p>Cho khách không có điện thoại thông minh. Nhân viên ghi thông tin, sau đó nhập vào máy \
(<code>quet-venue assist add</code>) và hủy tờ giấy. Chỉ dùng để cơ quan y tế liên hệ khi \
cần; giữ kín, hủy sau 14 ngày.<br><span class=\"en\">For visitors without a smartphone. Staff \
fill it in, later type it into the venue tool (<code>quet-venue assist add</code>) and destroy \
the paper. Used only so the health authority can reach visitors; keep it private, destroy \
it after 14 days.</span></p>\
<table class=\"log\"><tr><th>#</th><th>Họ tên<br><span class=\"en\">Name</span></th>\
<th>Số điện thoại<br><span class=\"en\">Phone</span></th>\
<th>Giờ vào<br><span class=\"en\">Arrival</span></th>\
<th>Giờ ra<br><span class=\"en\">Departure</span></th>\
<th>Ngày<br><span class=\"en\">Date</span></th></tr>{trs}</table></div>",
        header = venue_header(info),
    );
    page_shell("Sổ khai báo / Paper log", &body)
}

const DISPLAY_CSS: &str = r#"
*{box-sizing:border-box}
html,body{margin:0;height:100%;background:#fff;color:#111;
 font-family:"Noto Sans","DejaVu Sans",Arial,sans-serif}
main{display:flex;flex-direction:column;align-items:center;justify-content:center;height:100vh;padding:1vh}
#qr{width:min(76vh,96vw);height:min(76vh,96vw);flex:none}
#qr svg{width:100%;height:100%;display:block}
.side{text-align:center;overflow-wrap:anywhere}
.name{font-size:3.2vh;font-weight:bold;margin:0.5vh 0}
.addr{font-size:1.8vh;color:#333;margin-bottom:0.5vh}
.scan{font-size:2.4vh;text-align:center}
.en{color:#444;font-style:italic}
.count{font-size:2vh;color:#333;margin-top:0.5vh}
#off{color:#b00;font-size:2vh}
.idle{font-size:4vh;text-align:center;padding:10vh 5vw}
@media (min-aspect-ratio: 4/3){
 main{flex-direction:row;gap:3vw}
 #qr{width:min(94vh,60vw);height:min(94vh,60vw)}
 .side{max-width:34vw}
 .name{font-size:5vh}.addr{font-size:2.6vh}.scan{font-size:3.4vh}.count{font-size:2.6vh}
}
"#;

const DISPLAY_JS: &str = r#"
(function(){
  var left = Number(document.body.dataset.refresh || 30);
  var serial = document.body.dataset.serial || "";
  var cds = document.querySelectorAll(".cd");
  var off = document.getElementById("off");
  var busy = false;
  function refresh(){
    if (busy) return; busy = true;
    fetch("/api/code", {cache: "no-store"}).then(function(r){ return r.json(); }).then(function(c){
      busy = false; off.textContent = "";
      if (!c.active) { location.reload(); return; }
      if (c.serial !== serial) {
        document.getElementById("qr").innerHTML = c.svg; serial = c.serial;
        document.body.dataset.serial = serial;
      }
      left = c.refresh_in;
    }).catch(function(){
      busy = false; left = 2;
      off.textContent = "Mất kết nối với máy hiển thị / display server unreachable";
    });
  }
  setInterval(function(){
    left = Math.max(0, left - 1);
    for (var i = 0; i < cds.length; i++) cds[i].textContent = left;
    if (left <= 0) refresh();
  }, 1000);
})();
"#;

/// The full-screen display page with the current code inline; a small script
/// refreshes the code from `/api/code` when the countdown ends.
pub fn display_page(
    info: &VenueInfo,
    svg: &str,
    serial: &str,
    refresh_in: u64,
    authority_name: &str,
) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"vi\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>{name} — Quét</title><style>{DISPLAY_CSS}</style></head>\
<body data-refresh=\"{refresh_in}\" data-serial=\"{serial}\">\
<main><div id=\"qr\">{svg}</div><div class=\"side\">\
<div class=\"name\">{name}</div><div class=\"addr\">{address}</div>\
<div class=\"scan\"><b>Quét mã để khai báo khi vào</b><br><span class=\"en\">Scan to check in</span></div>\
<div class=\"scan\">Dùng camera điện thoại · <span class=\"en\">use your phone camera</span></div>\
<div class=\"count\">Mã mới sau <b class=\"cd\">{refresh_in}</b> giây · \
<span class=\"en\">new code in <b class=\"cd\">{refresh_in}</b> s</span></div>\
<div class=\"count\">{authority}</div><div id=\"off\"></div>\
</div></main><script>{DISPLAY_JS}</script></body></html>\n",
        name = escape(&info.name),
        address = escape(&info.address),
        authority = escape(authority_name),
        serial = escape(serial),
    )
}

/// The display page when no code is shown (an event outside its window).
pub fn display_idle_page(info: &VenueInfo, why_vi: &str, why_en: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"vi\"><head><meta charset=\"utf-8\">\
<meta http-equiv=\"refresh\" content=\"30\"><title>{name} — Quét</title>\
<style>{DISPLAY_CSS}</style></head><body><div class=\"idle\"><b>{name}</b><br>{vi}<br>\
<span class=\"en\">{en}</span></div></body></html>\n",
        name = escape(&info.name),
        vi = escape(why_vi),
        en = escape(why_en),
    )
}
