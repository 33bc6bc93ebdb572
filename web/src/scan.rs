//! Camera frames for the core's QR decoder. The page draws each video frame to a
//! canvas and passes its RGBA pixels; this module turns them into the grey-scale
//! image the decoder reads. Nothing here knows what a check-in code is.

/// Decodes the first QR code in an RGBA image, or `None`.
pub fn decode_rgba(width: usize, height: usize, rgba: &[u8]) -> Option<String> {
    if width == 0 || height == 0 || rgba.len() != width.checked_mul(height)?.checked_mul(4)? {
        return None;
    }
    let luma: Vec<u8> = rgba
        .chunks_exact(4)
        .map(|p| match p {
            // ITU-R BT.601 weights in integers.
            [r, g, b, _] => {
                ((u32::from(*r) * 299 + u32::from(*g) * 587 + u32::from(*b) * 114) / 1000) as u8
            }
            _ => 255,
        })
        .collect();
    quet_client::qr::decode_luma(width, height, &luma).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_sizes_and_blank_frames_give_nothing() {
        assert_eq!(decode_rgba(2, 2, &[0; 15]), None);
        assert_eq!(decode_rgba(0, 2, &[]), None);
        assert_eq!(decode_rgba(64, 64, &vec![255; 64 * 64 * 4]), None);
    }
}
