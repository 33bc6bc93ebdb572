//! Fuzzes the QR decoder on camera frames (`quet_client::qr::decode_luma`, rxing):
//! the phone's in-app scanner feeds it whatever the camera sees, and in the
//! browser (`panic = "abort"`) a panic would trap the scanner's wasm instance.
//! Two kinds of frame, chosen by the first byte:
//!
//! - raw: the fuzzer's bytes as a grey-scale frame of a fuzzed size (1–512 px a
//!   side), so every binariser and finder-pattern path sees arbitrary pixels;
//! - a real code (a check-in URL of QR version 10, 2–4 px per module, quiet zone
//!   of 0–4 modules) painted over by fuzzed rectangles, stripes and grey levels,
//!   so the detector, the sampling grid, the format/version readers, Reed–Solomon
//!   and the byte-mode decoder see almost-valid codes.
//!
//! Any outcome is a typed result; a panic (libfuzzer's hook aborts, so the
//! decoder's native `catch_unwind` does not hide it) is a crash. A buffer that
//! does not match its size is always refused.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use quet_client::qr::decode_luma;

/// A check-in URL (upper case, base32, as codes are) and its modules.
const URL: &str = "HTTPS://QUET.SOYTE.EXAMPLE/C#AIAQHFPA3VDAAAAAABVRALMEAGSM4LIUI65OCR3GQRVPVSMOTNZ6IBABFWR7DZT7S4T5IZNJQ4RXMQIDAB4BCQWDXJXCAQ3I4G5KGICDMFWWK4TBD42SATGDVIQFNREDNYQERRVQOUWCASDBNEQEFQ5AEBKHFRVQNZTQJEZKLBC6AAOJ53KE";

static CODE: LazyLock<(usize, Vec<bool>)> = LazyLock::new(|| {
    let code = qrcode::QrCode::new(URL.as_bytes()).expect("the URL fits a QR code");
    let dark = code
        .to_colors()
        .into_iter()
        .map(|c| c == qrcode::Color::Dark)
        .collect();
    (code.width(), dark)
});

fn byte(data: &[u8], i: usize) -> u8 {
    data.get(i).copied().unwrap_or(0)
}

/// The fuzzer's bytes as a frame of a fuzzed size, cycled to fill it.
fn raw_frame(data: &[u8]) -> (usize, usize, Vec<u8>) {
    let w = 1 + (usize::from(byte(data, 0)) | (usize::from(byte(data, 1)) & 1) << 8);
    let h = 1 + (usize::from(byte(data, 2)) | (usize::from(byte(data, 3)) & 1) << 8);
    let body = data.get(4..).unwrap_or(&[]);
    let pixels = if body.is_empty() {
        vec![0; w * h]
    } else {
        body.iter().copied().cycle().take(w * h).collect()
    };
    (w, h, pixels)
}

/// The real code drawn at a fuzzed scale and quiet zone, then painted over by
/// five-byte operations `(kind, x, y, size, level)`.
fn painted_code(data: &[u8]) -> (usize, usize, Vec<u8>) {
    let (modules, dark) = &*CODE;
    let scale = 2 + usize::from(byte(data, 0) % 3);
    let quiet = usize::from(byte(data, 1) % 5);
    let (ink, paper) = (byte(data, 2) / 2, 128 + byte(data, 3) / 2);
    let side = (modules + 2 * quiet) * scale;
    let mut px = vec![paper; side * side];
    for y in 0..side {
        for x in 0..side {
            let (mx, my) = ((x / scale).wrapping_sub(quiet), (y / scale).wrapping_sub(quiet));
            if mx < *modules && my < *modules && dark[my * modules + mx] {
                px[y * side + x] = ink;
            }
        }
    }
    let at = |v: u8| usize::from(v) * side / 256;
    for op in data.get(4..).unwrap_or(&[]).chunks(5).take(64) {
        let [kind, x, y, size, level] = [0, 1, 2, 3, 4].map(|i| byte(op, i));
        let (x0, y0, n) = (at(x), at(y), 1 + usize::from(size) % 24);
        match kind % 4 {
            // A filled square (a finger, a glare spot, a sticker).
            0 => {
                for yy in y0..(y0 + n).min(side) {
                    for xx in x0..(x0 + n).min(side) {
                        px[yy * side + xx] = level;
                    }
                }
            }
            // A row band.
            1 => {
                for yy in y0..(y0 + n).min(side) {
                    px[yy * side..(yy + 1) * side].fill(level);
                }
            }
            // A column band.
            2 => {
                for yy in 0..side {
                    for xx in x0..(x0 + n).min(side) {
                        px[yy * side + xx] = level;
                    }
                }
            }
            // Inverted pixels in a square (a module flipped, a reflection).
            _ => {
                for yy in y0..(y0 + n).min(side) {
                    for xx in x0..(x0 + n).min(side) {
                        px[yy * side + xx] = 255 - px[yy * side + xx];
                    }
                }
            }
        }
    }
    (side, side, px)
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let (w, h, pixels) = if mode & 1 == 0 {
        raw_frame(rest)
    } else {
        painted_code(rest)
    };
    if let Ok(text) = decode_luma(w, h, &pixels) {
        assert!(!text.is_empty(), "a decoded code has text");
    }
    // A buffer that does not match its size is refused, never read past.
    assert!(decode_luma(w + 1, h, &pixels).is_err());
    assert!(decode_luma(w, h, &pixels[..pixels.len() - 1]).is_err());
});
