//! Shared fixtures for the venue tool's integration tests: an authority, venues in
//! temporary directories, QR rasterisation and the external tools (zbarimg,
//! chromium), which are skipped with a clear message when missing.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use quet_protocol::authority::{AuthorityDescriptor, AuthorityId, AuthorityKeys};
use quet_protocol::category::Category;
use quet_protocol::testing::{DeterministicRng, test_rng};
use quet_protocol::time::UnixTime;
use quet_venue::{NewVenue, Venue};

/// 2026-09-21 00:00 UTC (a Monday).
pub const DAY0: u64 = 20_717 * 86_400;

/// `DAY0` + hours and minutes.
pub fn at(hour: u64, minute: u64) -> UnixTime {
    UnixTime(DAY0 + hour * 3600 + minute * 60)
}

/// A health authority and its signed descriptor.
pub struct World {
    pub rng: DeterministicRng,
    pub ha: AuthorityKeys,
    pub descriptor: AuthorityDescriptor,
    pub descriptor_bytes: Vec<u8>,
    pub dir: tempfile::TempDir,
}

impl World {
    pub fn new() -> World {
        let mut rng = test_rng(42);
        let ha = AuthorityKeys::generate(&mut rng);
        let descriptor = ha.descriptor(
            AuthorityId(0x0100_0001),
            "Sở Y tế Hà Nội",
            "https://quet.soyte.example",
        );
        let descriptor_bytes = ha.sign_descriptor(&descriptor).unwrap();
        World {
            rng,
            ha,
            descriptor,
            descriptor_bytes,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn new_venue(&self, name: &str, address: &str, category: Category) -> NewVenue {
        NewVenue::new(
            name,
            address,
            category,
            "http://127.0.0.1:9",
            self.descriptor_bytes.clone(),
        )
    }

    /// Creates a venue file `file` in the temp dir.
    pub fn venue(&mut self, file: &str, category: Category) -> Venue {
        let new = self.new_venue("Phở Thìn", "13 Lò Đúc, Hai Bà Trưng, Hà Nội", category);
        Venue::create(&mut self.rng, &self.dir.path().join(file), &new, None).unwrap()
    }
}

/// The longest name and address the code allows (64 and 72 bytes of UTF-8, with
/// Vietnamese letters).
pub fn longest_name_address() -> (String, String) {
    let mut name = String::new();
    while name.len() + "ữ".len() <= quet_protocol::code::MAX_NAME_LEN {
        name.push('ữ');
    }
    while name.len() < quet_protocol::code::MAX_NAME_LEN {
        name.push('A');
    }
    let mut addr = String::new();
    while addr.len() + "Đ".len() <= quet_protocol::code::MAX_ADDRESS_LEN {
        addr.push('Đ');
    }
    while addr.len() < quet_protocol::code::MAX_ADDRESS_LEN {
        addr.push('1');
    }
    (name, addr)
}

/// Whether `tool` runs; prints the skip message if not.
pub fn have_tool(tool: &str, package: &str) -> bool {
    let ok = Command::new(tool)
        .arg("--version")
        .output()
        .map(|o| o.status.success() || !o.stdout.is_empty() || !o.stderr.is_empty())
        .unwrap_or(false);
    if !ok {
        // In CI a missing tool is a failure, never a silent skip (.ci/run installs it).
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{tool} is required under CI=true (apt-get install {package})"
        );
        eprintln!("skipped: {tool} not installed (apt-get install {package})");
    }
    ok
}

/// The text of a PDF (`pdftotext -layout`); `None` if poppler-utils is missing.
pub fn pdftotext(pdf: &Path) -> Option<String> {
    if !have_tool("pdftotext", "poppler-utils") {
        return None;
    }
    let out = Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(pdf)
        .arg("-")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pdftotext failed on {}",
        pdf.display()
    );
    Some(String::from_utf8(out.stdout).unwrap())
}

/// Renders every page of a PDF to PNG at `dpi` (`pdftoppm`); the page files in
/// order. `None` if poppler-utils is missing.
pub fn pdftoppm(pdf: &Path, dpi: u32, dir: &Path) -> Option<Vec<PathBuf>> {
    if !have_tool("pdftoppm", "poppler-utils") {
        return None;
    }
    let prefix = dir.join("page");
    let out = Command::new("pdftoppm")
        .args(["-r", &dpi.to_string(), "-png"])
        .arg(pdf)
        .arg(&prefix)
        .output()
        .unwrap();
    assert!(out.status.success(), "pdftoppm failed on {}", pdf.display());
    let mut pages: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("page"))
        .collect();
    pages.sort();
    Some(pages)
}

/// Rasterises `data` as a QR code (level M, 4-module quiet zone, `scale` px per
/// module) to a PNG file, with the matrix the tool draws.
pub fn qr_png(data: &[u8], scale: u32, path: &Path) {
    let code = quet_venue::qr::make(data).unwrap();
    let w = u32::try_from(code.width()).unwrap();
    let size = (w + 8) * scale;
    let img = image::GrayImage::from_fn(size, size, |x, y| {
        let (mx, my) = (x / scale, y / scale);
        let dark = mx >= 4 && my >= 4 && code.is_dark((mx - 4) as usize, (my - 4) as usize);
        image::Luma([if dark { 0 } else { 255 }])
    });
    img.save(path).unwrap();
}

/// Decodes every QR code in an image with zbarimg; `None` if zbarimg is missing.
pub fn zbarimg(path: &Path) -> Option<Vec<Vec<u8>>> {
    if !have_tool("zbarimg", "zbar-tools") {
        return None;
    }
    let out = Command::new("zbarimg")
        .args(["-q", "--raw", "-Sbinary"])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "zbarimg found no code in {}",
        path.display()
    );
    // With -Sbinary, zbarimg prints the raw bytes of each symbol (one symbol here).
    let mut bytes = out.stdout;
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
    }
    Some(vec![bytes])
}

/// Decodes the QR codes in a PNG with rqrr.
pub fn rqrr_decode(path: &Path) -> Vec<String> {
    let img = image::open(path).unwrap().to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(img);
    prepared
        .detect_grids()
        .into_iter()
        .filter_map(|g| g.decode().ok().map(|(_, s)| s))
        .collect()
}

/// Screenshots `url` with headless chromium; `None` if chromium is missing.
pub fn chromium_screenshot(url: &str, out: &Path, size: (u32, u32)) -> Option<()> {
    if !have_tool("chromium", "chromium") {
        return None;
    }
    let profile = tempfile::tempdir().unwrap();
    let status = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--window-size={},{}", size.0, size.1))
        .arg(format!("--screenshot={}", out.display()))
        .arg(url)
        .output()
        .unwrap();
    assert!(
        out.exists(),
        "chromium wrote no screenshot: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    Some(())
}
