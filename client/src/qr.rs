//! Reading a check-in code from a photo or screenshot of its QR (PNG), with the
//! pure-Rust `rqrr` decoder (also usable in wasm32 on camera frames).

use crate::error::{ClientError, Result};

/// Decodes every QR code in a grey-scale image (`width × height`, one byte per
/// pixel) and returns the text of the first one that decodes.
pub fn decode_luma(width: usize, height: usize, pixels: &[u8]) -> Result<String> {
    if pixels.len() != width.saturating_mul(height) {
        return Err(ClientError::Image(
            "pixel buffer does not match its size".into(),
        ));
    }
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| {
        pixels.get(y * width + x).copied().unwrap_or(255)
    });
    let grids = img.detect_grids();
    for g in grids {
        if let Ok((_, text)) = g.decode() {
            return Ok(text);
        }
    }
    Err(ClientError::Image(
        "no QR code found / không thấy mã QR".into(),
    ))
}

/// Decodes the first QR code in an image file's bytes: JPEG (phone photos) or PNG
/// (screenshots), recognised by their content.
pub fn decode_image(bytes: &[u8]) -> Result<String> {
    let format = image::guess_format(bytes).map_err(|e| ClientError::Image(e.to_string()))?;
    if !matches!(format, image::ImageFormat::Png | image::ImageFormat::Jpeg) {
        return Err(ClientError::Image(format!(
            "{format:?} images are not supported; use JPEG or PNG"
        )));
    }
    let img = image::load_from_memory_with_format(bytes, format)
        .map_err(|e| ClientError::Image(e.to_string()))?
        .to_luma8();
    let (w, h) = img.dimensions();
    decode_luma(w as usize, h as usize, img.as_raw())
}
