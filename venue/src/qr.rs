//! QR rendering: inline SVG for pages and printouts, unicode for terminals, and the
//! size measurement behind the choice of base32 (see the crate README).
//!
//! Every code is made at error-correction level M. The qrcode crate segments the
//! text optimally, so an upper-case URL with a base32 payload is encoded almost
//! entirely in the alphanumeric mode (5.5 bits per character).

use data_encoding::BASE64URL_NOPAD;
use qrcode::render::{svg, unicode};
use qrcode::{EcLevel, QrCode, Version};

use crate::error::{Result, VenueError};

/// Largest QR version a rotating code may need (easily scanned from a screen).
pub const MAX_SCREEN_QR_VERSION: i16 = 20;

/// A QR code for `data` at level M.
pub fn make(data: &[u8]) -> Result<QrCode> {
    QrCode::with_error_correction_level(data, EcLevel::M)
        .map_err(|e| VenueError::InvalidInput(format!("QR: {e}")))
}

/// The version (1..=40) of a normal QR code.
pub fn version_number(code: &QrCode) -> i16 {
    match code.version() {
        Version::Normal(v) | Version::Micro(v) => v,
    }
}

/// The QR version at level M of `data`.
pub fn version_of(data: &[u8]) -> Result<i16> {
    make(data).map(|c| version_number(&c))
}

/// A check-in code text as an SVG QR code (with the 4-module quiet zone),
/// scalable: it fills its container.
pub fn svg_of(data: &[u8]) -> Result<String> {
    let code = make(data)?;
    let svg = code
        .render::<svg::Color<'_>>()
        .min_dimensions(400, 400)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .quiet_zone(true)
        .build();
    Ok(make_responsive(&svg))
}

/// Makes the SVG scale to its container (width/height → 100%, keeping a viewBox).
fn make_responsive(svg: &str) -> String {
    // The qrcode crate writes `width="W" height="H"` with no viewBox.
    let find = |attr: &str| -> Option<String> {
        let start = svg.find(attr)? + attr.len();
        let end = svg.get(start..)?.find('"')? + start;
        svg.get(start..end).map(str::to_owned)
    };
    match (find("width=\""), find("height=\"")) {
        (Some(w), Some(h)) => svg
            .replacen(
                &format!("width=\"{w}\" height=\"{h}\""),
                &format!(
                    "viewBox=\"0 0 {w} {h}\" width=\"100%\" height=\"100%\" \
                     preserveAspectRatio=\"xMidYMid meet\" shape-rendering=\"crispEdges\""
                ),
                1,
            )
            .replacen("<?xml version=\"1.0\" standalone=\"yes\"?>", "", 1),
        _ => svg.to_owned(),
    }
}

/// The code drawn with half-block characters for a terminal (light modules as
/// spaces on a dark background would be inverted, so dark is drawn as blocks on
/// a light quiet zone).
pub fn terminal_of(data: &[u8]) -> Result<String> {
    let code = make(data)?;
    Ok(code
        .render::<unicode::Dense1x2>()
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
