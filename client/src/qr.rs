//! Reading a check-in code from a photo (JPEG), a screenshot (PNG) or a camera frame,
//! with `rxing` (a pure-Rust port of ZXing; also built for wasm32, where the phone
//! web app's scanner, `web/scanner`, passes it its camera frames).
//!
//! Chosen by measurement (`tests/decoder.rs`, figures in the crate README): on
//! generated camera frames of a real protocol 1.1 screen code (QR version 19),
//! `rxing` reads far more than `rqrr` and at least as many as `zbarimg`. Only the
//! QR reader is compiled in (`qrcode` + `decoders`); `encoding_rs` is needed
//! because a code URL's `#` is a byte-mode segment and rxing decodes those through
//! its character-set table.

use crate::error::{ClientError, Result};

/// Largest image side accepted (a 48-megapixel photo is about 8000 px wide).
pub const MAX_IMAGE_SIDE: usize = 10_000;

/// Most pixels accepted (a 48-megapixel photo; rxing needs a few bytes for each).
pub const MAX_IMAGE_PIXELS: usize = 50_000_000;

/// Decodes the QR code in a grey-scale image (`width × height`, one byte per
/// pixel, row by row) and returns its text.
pub fn decode_luma(width: usize, height: usize, pixels: &[u8]) -> Result<String> {
    if width == 0 || height == 0 || pixels.len() != width.saturating_mul(height) {
        return Err(ClientError::Image(
            "pixel buffer does not match its size".into(),
        ));
    }
    if width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE || pixels.len() > MAX_IMAGE_PIXELS {
        return Err(ClientError::Image(format!(
            "image larger than {MAX_IMAGE_SIDE} px / ảnh quá lớn"
        )));
    }
    let (Ok(w), Ok(h)) = (u32::try_from(width), u32::try_from(height)) else {
        return Err(ClientError::Image("image too large / ảnh quá lớn".into()));
    };
    match detect(pixels, w, h) {
        Ok(Some(text)) => Ok(text),
        Ok(None) => Err(ClientError::Image(NO_CODE.into())),
        Err(Panicked) => Err(ClientError::Image(DECODER_FAILED.into())),
    }
}

/// The error text when an image holds no readable QR code.
pub const NO_CODE: &str = "no QR code found / không thấy mã QR";

/// The error text when the decoder itself failed (a caught panic: a bug, which
/// the fuzz target and the property tests look for).
pub const DECODER_FAILED: &str = "the QR decoder failed on this image / lỗi bộ đọc mã QR";

/// The decoder panicked (caught natively).
struct Panicked;

/// rxing's QR reader (with `TryHarder`, as its helper sets it).
///
/// On wasm32 rxing stamps each result with chrono's clock, which panics there
/// unless chrono reads the browser's (`rxing/wasm_support`, enabled for wasm32 in
/// Cargo.toml): that, not the frames, is what trapped the browser's first decodes.
/// `fuzz/fuzz_targets/decode_luma.rs` and `tests/decoder.rs` look for any other
/// panic; natively a decoder bug is still caught here, while in a browser build
/// (`panic = "abort"`) the page's scanner drops the trapped instance
/// (web/app/assets/scanner.js).
fn detect(pixels: &[u8], w: u32, h: u32) -> core::result::Result<Option<String>, Panicked> {
    std::panic::catch_unwind(|| {
        rxing::helpers::detect_in_luma_slice(pixels, w, h, Some(rxing::BarcodeFormat::QR_CODE))
            .ok()
            .map(|r| r.getText().to_owned())
    })
    .map_err(|_| Panicked)
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
