//! Printable PDFs (A4 or A5) of the weekly poster and the private tracing sheet,
//! for a shop that prints a file rather than a web page. Made with `krilla`; the
//! text is set in DejaVu Sans, bundled in `venue/fonts/` (Bitstream Vera licence,
//! `fonts/LICENSE-DejaVu.txt`), which has every Vietnamese letter precomposed, and
//! embedded as a subset with a ToUnicode map so the text can be searched and
//! copied (`pdftotext` gives back exactly the Vietnamese typed). QR codes are
//! drawn as vector squares, one per run of dark modules, so they stay sharp at any
//! print resolution.

use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Transform};
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{LineCap, LineJoin, Stroke};
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};
use quet_protocol::time::{Day, UnixTime};
use zeroize::Zeroizing;

use crate::error::{Result, VenueError};
use crate::printables;
use crate::qr;
use crate::timefmt::{civil_from_days, format_date, format_local, format_offset, weekday_names};
use crate::venue::Venue;

const REGULAR: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
const BOLD: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold.ttf");

/// Paper sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Paper {
    /// 210 × 297 mm.
    #[default]
    A4,
    /// 148 × 210 mm.
    A5,
}

impl Paper {
    /// Parses `a4` / `a5` (any case).
    pub fn parse(s: &str) -> Result<Paper> {
        match s.trim().to_ascii_lowercase().as_str() {
            "a4" => Ok(Paper::A4),
            "a5" => Ok(Paper::A5),
            _ => Err(VenueError::InvalidInput(format!(
                "khổ giấy / paper size {s:?} (a4 | a5)"
            ))),
        }
    }

    /// Width and height in PDF points (1/72 in).
    pub fn size(self) -> (f32, f32) {
        match self {
            Paper::A4 => (595.28, 841.89),
            Paper::A5 => (419.53, 595.28),
        }
    }
}

/// Metadata of a printed venue, beyond its codes.
#[derive(Clone, Debug, Default)]
pub struct PrintExtras {
    /// "Đã đăng ký với … / registered with …" line, when the venue is certified.
    pub registration: Option<String>,
    /// The generated passphrase of the venue file (batch output), printed on the
    /// private tracing sheet only.
    pub venue_file_passphrase: Option<Zeroizing<String>>,
}

struct Typeset {
    regular: Font,
    bold: Font,
    regular_face: ttf_parser::Face<'static>,
    bold_face: ttf_parser::Face<'static>,
}

fn font_err() -> VenueError {
    VenueError::InvalidInput("bundled font unreadable".into())
}

impl Typeset {
    fn new() -> Result<Typeset> {
        Ok(Typeset {
            regular: Font::new(REGULAR.into(), 0).ok_or_else(font_err)?,
            bold: Font::new(BOLD.into(), 0).ok_or_else(font_err)?,
            regular_face: ttf_parser::Face::parse(REGULAR, 0).map_err(|_| font_err())?,
            bold_face: ttf_parser::Face::parse(BOLD, 0).map_err(|_| font_err())?,
        })
    }

    fn width(&self, bold: bool, size: f32, text: &str) -> f32 {
        let face = if bold {
            &self.bold_face
        } else {
            &self.regular_face
        };
        let upem = f32::from(face.units_per_em());
        let units: u32 = text
            .chars()
            .map(|c| {
                face.glyph_index(c)
                    .and_then(|g| face.glyph_hor_advance(g))
                    .map(u32::from)
                    .unwrap_or(u32::from(face.units_per_em()) / 2)
            })
            .sum();
        units as f32 * size / upem
    }

    /// Greedy word wrap to `max` points.
    fn wrap(&self, bold: bool, size: f32, text: &str, max: f32) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line = String::new();
        for word in text.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_owned()
            } else {
                format!("{line} {word}")
            };
            if self.width(bold, size, &candidate) <= max || line.is_empty() {
                line = candidate;
            } else {
                lines.push(std::mem::take(&mut line));
                line = word.to_owned();
            }
        }
        if !line.is_empty() {
            lines.push(line);
        }
        lines
    }
}

/// A page being laid out top to bottom.
struct Layout<'a, 'b> {
    surface: &'a mut Surface<'b>,
    fonts: &'a Typeset,
    width: f32,
    margin: f32,
    scale: f32,
    y: f32,
}

impl Layout<'_, '_> {
    fn text_at(&mut self, x: f32, baseline: f32, bold: bool, size: f32, text: &str) {
        let font = if bold {
            self.fonts.bold.clone()
        } else {
            self.fonts.regular.clone()
        };
        self.surface.draw_text(
            Point::from_xy(x, baseline),
            font,
            size,
            text,
            false,
            TextDirection::LeftToRight,
        );
    }

    /// Centred, wrapped paragraph; advances `y`.
    fn centered(&mut self, bold: bool, size: f32, text: &str) {
        let size = size * self.scale;
        let max = self.width - 2.0 * self.margin;
        for line in self.fonts.wrap(bold, size, text, max) {
            let w = self.fonts.width(bold, size, &line);
            self.y += size * 1.25;
            self.text_at((self.width - w) / 2.0, self.y, bold, size, &line);
        }
    }

    /// Left-aligned, wrapped paragraph; advances `y`.
    fn left(&mut self, bold: bool, size: f32, text: &str) {
        let size = size * self.scale;
        let max = self.width - 2.0 * self.margin;
        for line in self.fonts.wrap(bold, size, text, max) {
            self.y += size * 1.3;
            self.text_at(self.margin, self.y, bold, size, &line);
        }
    }

    fn gap(&mut self, points: f32) {
        self.y += points * self.scale;
    }

    /// A QR code `side` points wide, centred, below `y`; advances `y`.
    fn qr(&mut self, data: &[u8], side: f32) -> Result<()> {
        let x = (self.width - side) / 2.0;
        draw_qr(self.surface, data, x, self.y, side)?;
        self.y += side;
        Ok(())
    }
}

/// Draws the QR code of `data` (level M) with its 4-module quiet zone in a square
/// of `side` points at (`x`, `y`) (top left). Each row's dark runs are one stroke
/// of one module's width with butt caps (exactly the run's rectangle), written in
/// module units under one transform so every coordinate is a small integer: a
/// poster's seven codes take a quarter of the bytes, and of the compression time,
/// of filled rectangles in points.
fn draw_qr(surface: &mut Surface<'_>, data: &[u8], x: f32, y: f32, side: f32) -> Result<()> {
    let code = qr::make(data)?;
    let quiet = qr::QUIET_ZONE;
    let module = side / (code.width() + 2 * quiet) as f32;
    let mut pb = PathBuilder::new();
    for row in 0..code.width() {
        let y = (row + quiet) as f32;
        for (start, len) in code.dark_runs(row) {
            pb.move_to((start + quiet) as f32, y);
            pb.line_to((start + quiet + len) as f32, y);
        }
    }
    if let Some(path) = pb.finish() {
        let fill = surface.get_fill().cloned();
        let stroke = surface.get_stroke().cloned();
        // Half a module down, so the strokes' centre lines sit on integers.
        surface.push_transform(&Transform::from_row(
            module,
            0.0,
            0.0,
            module,
            x,
            y + module / 2.0,
        ));
        surface.set_fill(None);
        surface.set_stroke(Some(Stroke {
            paint: rgb::Color::black().into(),
            width: 1.0,
            miter_limit: 4.0,
            line_cap: LineCap::Butt,
            line_join: LineJoin::Miter,
            opacity: NormalizedF32::ONE,
            dash: None,
        }));
        surface.draw_path(&path);
        surface.pop();
        surface.set_fill(fill);
        surface.set_stroke(stroke);
    }
    Ok(())
}

fn finish(doc: Document) -> Result<Vec<u8>> {
    doc.finish()
        .map_err(|e| VenueError::InvalidInput(format!("PDF: {e:?}")))
}

fn page_layout<'a, 'b>(
    surface: &'a mut Surface<'b>,
    fonts: &'a Typeset,
    paper: Paper,
) -> Layout<'a, 'b> {
    let (w, _) = paper.size();
    let scale = w / Paper::A4.size().0;
    Layout {
        surface,
        fonts,
        width: w,
        margin: 42.0 * scale,
        scale,
        y: 36.0 * scale,
    }
}

/// The weekly poster as a PDF: one page per day with its code, the date, the
/// validity window in local time and bilingual instructions.
pub fn poster_pdf(
    venue: &Venue,
    first: Day,
    paper: Paper,
    extras: &PrintExtras,
) -> Result<Vec<u8>> {
    let fonts = Typeset::new()?;
    let codes = printables::poster_codes(venue, first)?;
    let offset = venue.utc_offset_minutes();
    let info = venue.info();
    let (w, h) = paper.size();
    let mut doc = Document::new();
    for (day, _, url) in &codes {
        let z = i64::from(day.0);
        let (wd_vi, wd_en) = weekday_names(z);
        let date = format_date(civil_from_days(z));
        let from = format_local(day.start(), offset);
        let to = format_local(UnixTime(day.start().0 + 86_399), offset);
        let mut page = doc.start_page_with(
            PageSettings::from_wh(w, h).ok_or_else(|| VenueError::InvalidInput("page".into()))?,
        );
        let mut surface = page.surface();
        {
            let mut l = page_layout(&mut surface, &fonts, paper);
            l.centered(true, 26.0, "QUÉT MÃ ĐỂ KHAI BÁO");
            l.centered(false, 15.0, "Scan to check in");
            l.gap(8.0);
            l.centered(true, 20.0, &info.name);
            l.centered(false, 12.0, &info.address);
            l.centered(
                false,
                11.0,
                &format!(
                    "{} / {}",
                    info.category.label_vi(),
                    info.category.label_en()
                ),
            );
            l.gap(6.0);
            let side = (w - 2.0 * l.margin).min(h * 0.47);
            l.qr(url.as_bytes(), side)?;
            l.centered(true, 15.0, &format!("{wd_vi} {date} / {wd_en} {date}"));
            l.centered(
                false,
                10.5,
                &format!(
                    "Dùng được từ {from} đến {to} ({o}) / valid from {from} to {to} ({o})",
                    o = format_offset(offset)
                ),
            );
            if let Some(r) = &extras.registration {
                l.centered(false, 10.5, r);
            }
            l.gap(6.0);
            l.centered(
                false,
                10.5,
                "Dùng camera điện thoại. Không ai biết bạn đã quét: điện thoại chỉ lưu một mã kín.",
            );
            l.centered(
                false,
                10.5,
                "Use your phone camera. Nobody learns that you scanned: the phone keeps only a sealed token.",
            );
            l.gap(4.0);
            l.centered(
                true,
                10.5,
                "Chỉ treo tại địa điểm trong ngày ghi trên tờ. KHÔNG đăng mã này lên mạng.",
            );
            l.centered(
                true,
                10.5,
                "Post at the venue only, on the day printed. Do NOT post this code online.",
            );
        }
        surface.finish();
        page.finish();
    }
    finish(doc)
}

/// The private tracing sheet as a PDF: the master key as a QR code and as 56
/// characters with a checksum, and, for a venue file made by `batch`, its
/// passphrase. The one export of the key: write it only where the user asked.
pub fn tracing_sheet_pdf(
    venue: &Venue,
    now: UnixTime,
    paper: Paper,
    extras: &PrintExtras,
) -> Result<Zeroizing<Vec<u8>>> {
    let fonts = Typeset::new()?;
    let text = Zeroizing::new(venue.master().to_sheet_text());
    let info = venue.info();
    let offset = venue.utc_offset_minutes();
    let (w, h) = paper.size();
    let mut doc = Document::new();
    let mut page = doc.start_page_with(
        PageSettings::from_wh(w, h).ok_or_else(|| VenueError::InvalidInput("page".into()))?,
    );
    let mut surface = page.surface();
    {
        let mut l = page_layout(&mut surface, &fonts, paper);
        l.centered(true, 20.0, "PHIẾU TRUY VẾT — BÍ MẬT");
        l.centered(false, 13.0, "Tracing sheet — private");
        l.gap(6.0);
        l.centered(true, 16.0, &info.name);
        l.centered(false, 11.0, &info.address);
        l.gap(8.0);
        l.left(
            true,
            10.5,
            "Giữ kín phiếu này. Chỉ trao cho cơ quan y tế khi có điều tra dịch tễ. \
             Không chụp ảnh, không đăng lên mạng, không gửi qua tin nhắn.",
        );
        l.left(
            false,
            10.0,
            "Keep this sheet private. Hand it only to the health authority during an \
             investigation. Do not photograph it, post it online or send it by message.",
        );
        l.gap(8.0);
        let side = (w - 2.0 * l.margin).min(h * 0.3);
        l.qr(text.as_bytes(), side)?;
        l.gap(4.0);
        // The key in four lines of 14 characters (3–4 groups each).
        let groups: Vec<&str> = text.split('-').collect();
        for chunk in groups.chunks(4) {
            l.centered(true, 14.0, &chunk.join("-"));
        }
        l.gap(6.0);
        l.left(
            false,
            9.5,
            "Mã khóa gồm 56 ký tự; 4 ký tự cuối là mã kiểm tra nên cán bộ y tế sẽ phát hiện lỗi gõ. \
             The key is 56 characters; the last four are a checksum, so typing errors are caught.",
        );
        l.left(
            false,
            9.5,
            "Khi có ca bệnh đã đến địa điểm, cán bộ y tế có thể đề nghị bạn cung cấp phiếu này để \
             thông báo cho những người có mặt trong khung giờ liên quan. Không ai biết ai đã quét mã. \
             When a case visited your venue, the health authority may ask for this sheet to warn \
             the people present in the hours concerned. Nobody learns who scanned.",
        );
        l.left(
            false,
            9.5,
            "Ai có phiếu này có thể mở các khung giờ của địa điểm: cất như chìa khóa két sắt; nếu \
             nghi bị lộ, tạo địa điểm mới. Whoever holds this sheet can unlock the venue's hours: \
             store it like a safe key; if it leaked, create a new venue.",
        );
        if let Some(p) = &extras.venue_file_passphrase {
            l.gap(6.0);
            l.left(true, 11.0, "Mật khẩu tệp địa điểm / venue file passphrase:");
            l.left(true, 13.0, p);
        }
        l.gap(6.0);
        l.left(
            false,
            9.5,
            &format!(
                "Cơ quan y tế / health authority: {}",
                venue.descriptor().name
            ),
        );
        l.left(
            false,
            9.5,
            &format!(
                "Dấu vân tay / fingerprint: {}",
                venue.descriptor().fingerprint()
            ),
        );
        if let Some(r) = &extras.registration {
            l.left(false, 9.5, r);
        }
        l.left(
            false,
            9.5,
            &format!(
                "In lúc / printed: {} ({})",
                format_local(now, offset),
                format_offset(offset)
            ),
        );
    }
    surface.finish();
    page.finish();
    finish(doc).map(Zeroizing::new)
}
