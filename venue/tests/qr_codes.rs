//! The QR codes the tool makes decode, with independent decoders (zbarimg from
//! Debian's zbar-tools, and rqrr), to exactly the payload the protocol crate built;
//! the rotating code of the longest allowed venue stays at or below version 20 at
//! level M; and the base32-vs-base64url measurement the README reports.

mod common;

use common::*;
use quet_protocol::category::Category;
use quet_protocol::code::{CheckInCode, CodeKind};
use quet_venue::printables;
use quet_venue::qr::{self, MAX_SCREEN_QR_VERSION};
use quet_venue::venue::Venue;

fn longest_venue(w: &mut World) -> Venue {
    let (name, addr) = longest_name_address();
    assert_eq!(name.len(), 64);
    assert_eq!(addr.len(), 72);
    let new = w.new_venue(&name, &addr, Category::PublicTransport);
    Venue::create(&mut w.rng, &w.dir.path().join("long.json"), &new, None).unwrap()
}

#[test]
fn longest_rotating_code_fits_version_20_at_level_m_and_base32_beats_base64url() {
    let mut w = World::new();
    let v = longest_venue(&mut w);
    let (code, url) = printables::screen_code(&v, at(9, 0)).unwrap();
    assert_eq!(
        code.as_bytes().len(),
        451,
        "longest code size (protocol 1.1, no certificate or checkpoint)"
    );
    let (b32, b64) = qr::compare_encodings(code.as_bytes(), &url, v.code_base_url()).unwrap();
    println!(
        "longest code: {} bytes; base32 URL {} chars -> QR version {b32} (M); base64url URL -> version {b64} (M)",
        code.as_bytes().len(),
        url.len()
    );
    assert!(
        b32 <= MAX_SCREEN_QR_VERSION,
        "base32 URL needs version {b32}"
    );
    assert!(b32 < b64, "base32 ({b32}) should beat base64url ({b64})");
    // The same code under other authority base URLs (the README's table).
    for base in [
        "https://quet.soyte.example",
        "https://quet.soyte.hanoi.gov.vn",
        "https://q.vn",
    ] {
        let (a, b) = qr::compare_encodings(code.as_bytes(), &code.to_url(base), base).unwrap();
        println!("base {base}: base32 URL version {a}, base64url URL version {b}");
        assert!(a <= MAX_SCREEN_QR_VERSION && a < b);
    }
    // The poster code has the same layout, so the same bound holds.
    let days = printables::poster_codes(&v, at(0, 0).day().unwrap()).unwrap();
    for (_, _, url) in &days {
        assert!(qr::version_of(url.as_bytes()).unwrap() <= MAX_SCREEN_QR_VERSION);
    }
}

#[test]
fn screen_qr_decodes_with_zbarimg_to_the_exact_protocol_payload() {
    let mut w = World::new();
    let v = longest_venue(&mut w);
    let now = at(9, 10);
    let (code, url) = printables::screen_code(&v, now).unwrap();
    let png = w.path("screen.png");
    qr_png(url.as_bytes(), 4, &png);
    // rqrr (pure Rust) always runs.
    assert_eq!(rqrr_decode(&png), vec![url.clone()]);
    let Some(decoded) = zbarimg(&png) else { return };
    assert_eq!(decoded, vec![url.as_bytes().to_vec()]);
    let text = String::from_utf8(decoded[0].clone()).unwrap();
    let (parsed, _) = CheckInCode::parse_text_and_verify(&text, now, &w.descriptor).unwrap();
    assert_eq!(
        parsed.as_bytes(),
        code.as_bytes(),
        "payload differs from the protocol's"
    );
    assert_eq!(parsed.kind, CodeKind::Screen);
}

#[test]
fn poster_and_tracing_sheet_qrs_decode_with_zbarimg() {
    let mut w = World::new();
    let v = w.venue("v.json", Category::Market);
    let first = at(0, 0).day().unwrap();
    let days = printables::poster_codes(&v, first).unwrap();
    assert_eq!(days.len(), 7);
    for (i, (day, code, url)) in days.iter().enumerate() {
        assert_eq!(day.0, first.0 + i as u32);
        // Valid on its own day only.
        let noon = quet_protocol::time::UnixTime(day.start().0 + 12 * 3600);
        let (parsed, _) = CheckInCode::parse_text_and_verify(url, noon, &w.descriptor).unwrap();
        assert_eq!(parsed.kind, CodeKind::Poster);
        assert_eq!(parsed.as_bytes(), code.as_bytes());
        let next_day = quet_protocol::time::UnixTime(noon.0 + 86_400);
        assert!(CheckInCode::parse_text_and_verify(url, next_day, &w.descriptor).is_err());
    }
    let png = w.path("poster.png");
    qr_png(days[3].2.as_bytes(), 4, &png);
    if let Some(d) = zbarimg(&png) {
        assert_eq!(d, vec![days[3].2.as_bytes().to_vec()]);
    }
    // The tracing sheet's QR holds the sheet text, which gives back the master key.
    let sheet = v.master().to_sheet_text();
    let png = w.path("sheet.png");
    qr_png(sheet.as_bytes(), 4, &png);
    if let Some(d) = zbarimg(&png) {
        let text = String::from_utf8(d[0].clone()).unwrap();
        let master = quet_protocol::venue_keys::VenueMasterKey::from_sheet_text(&text).unwrap();
        assert_eq!(&master, v.master());
    }
}

#[test]
fn printables_contain_their_codes_and_bilingual_text() {
    let mut w = World::new();
    let v = w.venue("v.json", Category::Restaurant);
    let first = at(0, 0).day().unwrap();
    let poster = printables::poster_html(&v, first).unwrap();
    assert_eq!(poster.matches("<svg").count(), 7);
    assert!(poster.contains("21/09/2026") && poster.contains("27/09/2026"));
    assert!(poster.contains("Thứ Hai") && poster.contains("Monday"));
    assert!(poster.contains("KHÔNG đăng mã này lên mạng"));
    assert!(poster.contains("Do NOT post this code online"));
    for needle in ["src=\"http", "href=\"http", "url(http", "@import"] {
        assert!(!poster.contains(needle), "no external resources: {needle}");
    }

    let sheet = printables::tracing_sheet_html(&v, at(9, 0)).unwrap();
    assert!(sheet.contains(&v.master().to_sheet_text()));
    assert!(sheet.contains("Giữ kín phiếu này") && sheet.contains("Keep this sheet private"));
    assert!(sheet.contains(&v.descriptor().fingerprint()));

    let log = printables::paper_log_html(&v);
    assert!(log.contains("Số điện thoại") && log.contains("Phone"));
    assert_eq!(log.matches("<tr>").count(), printables::PAPER_LOG_ROWS + 1);
}

#[test]
fn terminal_rendering_decodes_when_read_as_light_text_on_a_dark_terminal() {
    let mut w = World::new();
    let v = w.venue("v.json", Category::BusStation);
    let (_, url) = printables::screen_code(&v, at(8, 0)).unwrap();
    let text = qr::terminal_of(url.as_bytes()).unwrap();
    // Each character is two modules stacked; a block half is lit (light text),
    // a blank half is the dark terminal background.
    let rows: Vec<Vec<char>> = text.lines().map(|l| l.chars().collect()).collect();
    let width = rows[0].len() as u32;
    let scale = 4;
    let img = image::GrayImage::from_fn(width * scale, rows.len() as u32 * 2 * scale, |x, y| {
        let (col, row) = ((x / scale) as usize, (y / scale) as usize);
        let c = rows[row / 2].get(col).copied().unwrap_or(' ');
        let lit = matches!((c, row % 2), ('█', _) | ('▀', 0) | ('▄', 1));
        image::Luma([if lit { 255 } else { 0 }])
    });
    let png = w.path("terminal.png");
    img.save(&png).unwrap();
    assert_eq!(rqrr_decode(&png), vec![url]);
}
