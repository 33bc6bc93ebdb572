//! # quet-scanner
//!
//! The phone web app's in-app scanner, as a wasm module of its own
//! (`quet_scanner`, built by `web/build.sh`): the page draws camera frames to a
//! canvas and hands their RGBA pixels to [`decode_frame`], which turns them into
//! the grey-scale image that `quet-client`'s QR decoder (rxing) reads. Nothing here
//! knows what a check-in code is: the text goes back to the phone app's core.
//!
//! It is a separate wasm file because the decoder is large (about 250 KB gzip) and
//! only the in-app camera needs it: opening a venue's link (`/C#…`) never
//! downloads it. `web/app/assets/scanner.js` loads it when the camera first opens.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

use quet_client::ClientError;
use wasm_bindgen::prelude::wasm_bindgen;

/// Converts RGBA pixels (`width × height × 4` bytes) to luma (ITU-R BT.601 weights
/// in integers), or says why the buffer does not fit its size.
pub fn rgba_to_luma(width: usize, height: usize, rgba: &[u8]) -> Result<Vec<u8>, ClientError> {
    let expected = width
        .checked_mul(height)
        .and_then(|n| n.checked_mul(4))
        .filter(|&n| n > 0);
    if expected != Some(rgba.len()) {
        return Err(ClientError::Image(
            "pixel buffer does not match its size".into(),
        ));
    }
    Ok(rgba
        .chunks_exact(4)
        .map(|p| match p {
            [r, g, b, _] => {
                ((u32::from(*r) * 299 + u32::from(*g) * 587 + u32::from(*b) * 114) / 1000) as u8
            }
            _ => 255,
        })
        .collect())
}

/// Decodes the first QR code in an RGBA image.
pub fn decode_rgba(width: usize, height: usize, rgba: &[u8]) -> Result<String, ClientError> {
    let luma = rgba_to_luma(width, height, rgba)?;
    quet_client::qr::decode_luma(width, height, &luma)
}

/// Decodes the first QR code in a camera frame (RGBA, `width × height`), for the
/// page; `undefined` when there is none.
#[wasm_bindgen(js_name = decodeFrame)]
pub fn decode_frame(width: u32, height: u32, rgba: &[u8]) -> Option<String> {
    decode_rgba(width as usize, height as usize, rgba).ok()
}

/// Aborts this wasm instance on purpose (a trap, as a decoder bug under
/// `panic = "abort"` would). The page never calls it: the browser test does, to
/// show that `scanner.js` drops a trapped instance, makes a new one and reads the
/// next frame. It can harm nothing but this module's own instance.
#[wasm_bindgen(js_name = trapForTests)]
pub fn trap_for_tests() {
    #[allow(clippy::panic)]
    {
        panic!("trap requested by a test");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_buffers_that_do_not_fit_their_size() {
        assert!(decode_rgba(2, 2, &[0; 15]).is_err());
        assert!(decode_rgba(0, 2, &[]).is_err());
        assert!(decode_rgba(usize::MAX, 2, &[0; 8]).is_err());
        assert_eq!(decode_frame(2, 2, &[0; 17]), None);
    }

    #[test]
    fn blank_frames_give_nothing() {
        assert!(decode_rgba(64, 64, &vec![255; 64 * 64 * 4]).is_err());
        assert!(decode_rgba(1, 1, &[0, 0, 0, 255]).is_err());
    }

    /// A code drawn as RGBA: 4 px per module, a 4-module quiet zone, dark blue on
    /// cream (so the colour conversion matters).
    fn rgba_code(text: &str) -> (usize, Vec<u8>) {
        let code = qrcode::QrCode::new(text.as_bytes()).unwrap();
        let modules = code.width();
        let colors = code.to_colors();
        let side = (modules + 8) * 4;
        let mut rgba = Vec::with_capacity(side * side * 4);
        for y in 0..side {
            for x in 0..side {
                let (mx, my) = ((x / 4).wrapping_sub(4), (y / 4).wrapping_sub(4));
                let dark = mx < modules
                    && my < modules
                    && colors[my * modules + mx] == qrcode::Color::Dark;
                rgba.extend_from_slice(if dark {
                    &[20, 30, 90, 255]
                } else {
                    &[250, 240, 215, 255]
                });
            }
        }
        (side, rgba)
    }

    #[test]
    fn reads_a_code_from_rgba_pixels() {
        let text = "HTTPS://QUET.EXAMPLE/C#ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let (side, rgba) = rgba_code(text);
        assert_eq!(
            decode_frame(side as u32, side as u32, &rgba).as_deref(),
            Some(text)
        );
        // The same pixels with the wrong width are refused, not misread.
        assert_eq!(decode_frame(side as u32 + 1, side as u32, &rgba), None);
    }

    #[test]
    fn luma_uses_bt601_weights() {
        let px = [
            255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 255, 255, 255, 0,
        ];
        assert_eq!(rgba_to_luma(4, 1, &px).unwrap(), vec![76, 149, 29, 255]);
    }
}
