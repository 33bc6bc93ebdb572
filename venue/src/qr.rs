//! QR rendering: inline SVG for pages and printouts, unicode for terminals, and the
//! size measurement behind the choice of base32 (see the crate README).
//!
//! Every code is made at error-correction level M. The qrcode crate segments the
//! text optimally, so an upper-case URL with a base32 payload is encoded almost
//! entirely in the alphanumeric mode (5.5 bits per character).

use std::fmt::Write as _;

use data_encoding::BASE64URL_NOPAD;
use qrcode::Color;
use qrcode::render::{Renderer, unicode};

use crate::error::Result;
pub use crate::qr_matrix::QrMatrix;

/// Largest QR version a rotating code may need (easily scanned from a screen).
pub const MAX_SCREEN_QR_VERSION: i16 = 20;

/// Modules of quiet zone around every code drawn (the standard's minimum).
pub const QUIET_ZONE: usize = 4;

/// A QR code for `data` at level M.
pub fn make(data: &[u8]) -> Result<QrMatrix> {
    QrMatrix::encode(data)
}

/// The QR version at level M of `data`.
pub fn version_of(data: &[u8]) -> Result<i16> {
    make(data).map(|c| c.version())
}

/// A check-in code text as an SVG QR code (with the 4-module quiet zone),
/// scalable: it fills its container.
pub fn svg_of(data: &[u8]) -> Result<String> {
    Ok(svg_of_matrix(&make(data)?))
}

/// The SVG of a matrix: one unit per module, a white square with the quiet zone,
/// and one black path of the dark runs, row by row (a screen or printer draws it
/// with crisp edges at any size).
pub fn svg_of_matrix(code: &QrMatrix) -> String {
    let side = code.width() + 2 * QUIET_ZONE;
    let mut path = String::with_capacity(code.width() * code.width());
    for y in 0..code.width() {
        for (x, len) in code.dark_runs(y) {
            let _ = write!(
                path,
                "M{} {}h{len}v1h-{len}z",
                x + QUIET_ZONE,
                y + QUIET_ZONE
            );
        }
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" \
         viewBox=\"0 0 {side} {side}\" width=\"100%\" height=\"100%\" \
         preserveAspectRatio=\"xMidYMid meet\" shape-rendering=\"crispEdges\">\
         <rect width=\"{side}\" height=\"{side}\" fill=\"#ffffff\"/>\
         <path fill=\"#000000\" d=\"{path}\"/></svg>"
    )
}

/// The code drawn with half-block characters for a terminal (light modules as
/// spaces on a dark background would be inverted, so dark is drawn as blocks on
/// a light quiet zone).
pub fn terminal_of(data: &[u8]) -> Result<String> {
    let code = make(data)?;
    let colors: Vec<Color> = code
        .modules()
        .iter()
        .map(|d| if *d { Color::Dark } else { Color::Light })
        .collect();
    Ok(Renderer::<unicode::Dense1x2>::new(&colors, code.width(), 4)
        .dark_color(unicode::Dense1x2::Light)
        .light_color(unicode::Dense1x2::Dark)
        .quiet_zone(true)
        .build())
}

/// The same URL with the payload in base64url instead of base32: what the design
/// compares against.
pub fn base64url_variant(code_bytes: &[u8], base_url: &str) -> String {
    format!(
        "{}/c#{}",
        base_url.trim_end_matches('/'),
        BASE64URL_NOPAD.encode(code_bytes)
    )
}

/// QR versions at level M of one code: `(base32 URL, base64url URL)`.
pub fn compare_encodings(
    code_bytes: &[u8],
    base32_url: &str,
    base_url: &str,
) -> Result<(i16, i16)> {
    let a = version_of(base32_url.as_bytes())?;
    let b = version_of(base64url_variant(code_bytes, base_url).as_bytes())?;
    Ok((a, b))
}
