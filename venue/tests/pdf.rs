//! The PDF printouts, checked with the tools a print shop's reader would meet:
//! `pdftotext` gives back the Vietnamese exactly (diacritics included), and every
//! QR code, rendered by `pdftoppm` at 150 dpi, decodes with `zbarimg` to a code the
//! protocol verifies (posters) or to the venue's key (tracing sheet), on A4 and A5.

mod common;

use common::*;
use quet_protocol::category::Category;
use quet_protocol::code::{CheckInCode, CodeKind};
use quet_protocol::time::{Day, UnixTime};
use quet_protocol::venue_keys::VenueMasterKey;
use quet_venue::pdf::{self, Paper, PrintExtras};
use quet_venue::venue::Venue;

fn venue(w: &mut World) -> Venue {
    let new = w.new_venue(
        "Phở Thìn Lò Đúc — Bún chả Hương Liên",
        "13 Lò Đúc, P. Phạm Đình Hổ, Q. Hai Bà Trưng, Hà Nội",
        Category::Restaurant,
    );
    let path = w.path("pho.json");
    Venue::create(&mut w.rng, &path, &new, None).unwrap()
}

fn save_shot(path: &std::path::Path) {
    if let Ok(dir) = std::env::var("QUET_VENUE_SHOTS") {
        let _ = std::fs::copy(
            path,
            std::path::Path::new(&dir).join(path.file_name().unwrap()),
        );
    }
}

/// pdftotext keeps the words but may break lines differently; compare without
/// white space.
fn squeeze(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

#[test]
fn poster_pdf_text_is_exact_vietnamese_and_every_page_qr_verifies_on_a4_and_a5() {
    let mut w = World::new();
    let v = venue(&mut w);
    let first = at(0, 0).day().unwrap();
    for paper in [Paper::A4, Paper::A5] {
        let bytes = pdf::poster_pdf(&v, first, paper, &PrintExtras::default()).unwrap();
        assert!(bytes.starts_with(b"%PDF-"));
        let file = w.path(&format!("poster-{paper:?}.pdf"));
        std::fs::write(&file, &bytes).unwrap();
        save_shot(&file);
        let Some(text) = pdftotext(&file) else { return };
        let flat = squeeze(&text);
        for needle in [
            "QUÉT MÃ ĐỂ KHAI BÁO",
            "Phở Thìn Lò Đúc — Bún chả Hương Liên",
            "13 Lò Đúc, P. Phạm Đình Hổ, Q. Hai Bà Trưng, Hà Nội",
            "Thứ Hai 21/09/2026",
            "KHÔNG đăng mã này lên mạng",
            "Do NOT post this code online",
        ] {
            assert!(
                flat.contains(&squeeze(needle)),
                "{paper:?}: {needle:?} not in\n{text}"
            );
        }
        let pages_dir = tempfile::tempdir().unwrap();
        let pages = pdftoppm(&file, 150, pages_dir.path()).unwrap();
        assert_eq!(pages.len(), 7, "one page per day");
        for (i, page) in pages.iter().enumerate() {
            if i == 0 {
                let named = w.path(&format!("poster-{paper:?}-page1.png"));
                std::fs::copy(page, &named).unwrap();
                save_shot(&named);
            }
            let Some(decoded) = zbarimg(page) else { return };
            let url = String::from_utf8(decoded[0].clone()).unwrap();
            let day = Day(first.0 + i as u32);
            let noon = UnixTime(day.start().0 + 12 * 3600);
            let (code, _) = CheckInCode::parse_text_and_verify(&url, noon, &w.descriptor)
                .unwrap_or_else(|e| panic!("{paper:?} page {}: {e}", i + 1));
            assert_eq!(code.kind, CodeKind::Poster);
            // Posters are valid per local day (protocol 1.1): from local midnight.
            let local_midnight =
                i64::try_from(day.start().0).unwrap() - i64::from(v.utc_offset_minutes()) * 60;
            assert_eq!(code.timestamp.0, u64::try_from(local_midnight).unwrap());
            assert_eq!(code.venue, *v.info());
            assert_eq!(code.venue_key, v.master().signing_key().verifying_key());
        }
    }
}

#[test]
fn tracing_sheet_pdf_gives_back_the_master_from_its_qr_and_its_text() {
    let mut w = World::new();
    let v = venue(&mut w);
    let extras = PrintExtras {
        venue_file_passphrase: Some(zeroize::Zeroizing::new("ABCD-EFGH-IJKL-MNOP-QRST".into())),
        ..PrintExtras::default()
    };
    for paper in [Paper::A4, Paper::A5] {
        let bytes = pdf::tracing_sheet_pdf(&v, at(9, 0), paper, &extras).unwrap();
        let file = w.path(&format!("sheet-{paper:?}.pdf"));
        std::fs::write(&file, &*bytes).unwrap();
        let Some(text) = pdftotext(&file) else { return };
        // Printed four groups a line: compare without the line breaks and dashes.
        let flat = squeeze(&text).replace('-', "");
        let sheet = v.master().to_sheet_text().replace('-', "");
        assert!(
            flat.contains(&sheet),
            "the key text is printed whole: {text}"
        );
        assert_eq!(
            VenueMasterKey::from_sheet_text(&text_key_lines(&text)).unwrap(),
            *v.master(),
            "the printed characters type back to the key"
        );
        for needle in [
            "PHIẾU TRUY VẾT — BÍ MẬT",
            "Sở Y tế Hà Nội",
            "ABCD-EFGH-IJKL-MNOP-QRST",
        ] {
            let needle = squeeze(needle).replace('-', "");
            assert!(flat.contains(&needle), "{needle:?} not in {text}");
        }
        let pages_dir = tempfile::tempdir().unwrap();
        let pages = pdftoppm(&file, 150, pages_dir.path()).unwrap();
        assert_eq!(pages.len(), 1);
        let Some(decoded) = zbarimg(&pages[0]) else {
            return;
        };
        let qr_text = String::from_utf8(decoded[0].clone()).unwrap();
        assert_eq!(
            VenueMasterKey::from_sheet_text(&qr_text).unwrap(),
            *v.master()
        );
    }
}

/// The key lines of the sheet text: those made only of base32 groups.
fn text_key_lines(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty()
                && l.split('-').all(|g| {
                    (3..=4).contains(&g.len())
                        && g.bytes()
                            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
                })
        })
        .filter(|l| l.len() >= 9 && !l.starts_with("ABCD-EFGH"))
        .collect::<Vec<_>>()
        .join("-")
}

#[test]
fn cli_writes_pdf_on_request_and_html_otherwise() {
    let mut w = World::new();
    let v = venue(&mut w);
    let bin = env!("CARGO_BIN_EXE_quet-venue");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(bin)
            .arg("--venue")
            .arg(v.path())
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let a5 = w.path("a5.pdf");
    run(&[
        "poster",
        "--from",
        "2026-09-21",
        "--pdf",
        "--paper",
        "a5",
        "--out",
        a5.to_str().unwrap(),
    ]);
    let by_ext = w.path("poster.pdf");
    run(&[
        "poster",
        "--from",
        "2026-09-21",
        "--out",
        by_ext.to_str().unwrap(),
    ]);
    let html = w.path("poster.html");
    run(&[
        "poster",
        "--from",
        "2026-09-21",
        "--out",
        html.to_str().unwrap(),
    ]);
    let sheet = w.path("sheet.out");
    run(&[
        "tracing-sheet",
        "--format",
        "pdf",
        "--out",
        sheet.to_str().unwrap(),
    ]);
    for p in [&a5, &by_ext, &sheet] {
        assert!(
            std::fs::read(p).unwrap().starts_with(b"%PDF-"),
            "{}",
            p.display()
        );
    }
    assert!(
        std::fs::read_to_string(&html)
            .unwrap()
            .starts_with("<!DOCTYPE html>")
    );
    // A5 pages are A5 and A4 pages A4 (pdfinfo's page size in points; poppler 22
    // does not always name the size).
    if have_tool("pdfinfo", "poppler-utils") {
        let size = |pdf: &std::path::Path| -> (f64, f64) {
            let out = std::process::Command::new("pdfinfo")
                .arg(pdf)
                .output()
                .unwrap();
            let info = String::from_utf8_lossy(&out.stdout).into_owned();
            let line = info
                .lines()
                .find(|l| l.starts_with("Page size:"))
                .unwrap_or_else(|| panic!("{info}"));
            let nums: Vec<f64> = line
                .split_whitespace()
                .filter_map(|t| t.parse().ok())
                .collect();
            (nums[0], nums[1])
        };
        let near =
            |(w, h): (f64, f64), (ew, eh): (f64, f64)| (w - ew).abs() < 1.0 && (h - eh).abs() < 1.0;
        assert!(near(size(&a5), (419.53, 595.28)), "A5: {:?}", size(&a5));
        assert!(
            near(size(&by_ext), (595.28, 841.89)),
            "A4: {:?}",
            size(&by_ext)
        );
    }
    let bad = std::process::Command::new(bin)
        .arg("--venue")
        .arg(v.path())
        .args(["poster", "--pdf", "--paper", "letter", "--out"])
        .arg(w.path("x.pdf"))
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("a4 | a5"));
}
