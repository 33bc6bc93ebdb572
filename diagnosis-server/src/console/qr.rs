//! QR codes in the console: the slip's code rendered as inline SVG, and a photo of
//! a tracing sheet decoded on the server, in memory. The photo is never written
//! anywhere: it is decoded in a blocking task, one at a time, and dropped; only the
//! sheet text goes back into the trace form.
//!
//! Decoding happens on the server rather than in the page because the page would
//! need a second build of the decoder (the web app's wasm is another crate's
//! artefact); the server uses the same `rqrr` decoder as the venue tool's tests and
//! the client's `--image`.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// The code as an inline `<svg>` (no XML declaration), quiet zone included.
pub fn svg(text: &str) -> Result<String, String> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|e| format!("QR: {e}"))?;
    let xml = code
        .render::<svg::Color<'_>>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build();
    let start = xml.find("<svg").unwrap_or(0);
    Ok(xml.get(start..).unwrap_or_default().to_owned())
}

/// Largest image side decoded; bigger photos are scaled down first.
pub const MAX_SIDE: u32 = 1600;
/// Largest image accepted before scaling, pixels per side.
pub const MAX_INPUT_SIDE: u32 = 12_000;

/// Decodes every QR code in a PNG or JPEG photo; the texts found.
pub fn decode_photo(bytes: &[u8]) -> Result<Vec<String>, String> {
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| "Không đọc được ảnh / Cannot read the image".to_owned())?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_INPUT_SIDE);
    limits.max_image_height = Some(MAX_INPUT_SIDE);
    limits.max_alloc = Some(512 * 1024 * 1024);
    reader.limits(limits);
    let img = reader
        .decode()
        .map_err(|e| format!("Ảnh không hợp lệ / Not a PNG or JPEG image ({e})"))?;
    let img = if img.width().max(img.height()) > MAX_SIDE {
        img.resize(MAX_SIDE, MAX_SIDE, image::imageops::FilterType::Triangle)
    } else {
        img
    };
    let luma = img.to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(luma);
    let mut out = Vec::new();
    for grid in prepared.detect_grids() {
        if let Ok((_, text)) = grid.decode() {
            out.push(text);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rendered_code_decodes_back_and_garbage_is_an_error() {
        let text = "ABCD-EFGH-JKMN-PQRS";
        let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).unwrap();
        let img = code.render::<image::Luma<u8>>().min_dimensions(300, 300).build();
        let mut png = Vec::new();
        image::DynamicImage::ImageLuma8(img)
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        assert_eq!(decode_photo(&png).unwrap(), vec![text.to_owned()]);
        assert!(decode_photo(b"not an image").is_err());
        assert!(decode_photo(&png[..png.len() / 2]).is_err());
        assert!(svg(text).unwrap().starts_with("<svg"));
    }
}
