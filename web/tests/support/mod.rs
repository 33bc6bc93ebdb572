//! Shared by the browser tests and the browser benchmark.
#![allow(dead_code)]

pub mod cdp;
pub mod world;

use std::path::Path;

/// Writes a Y4M (I420, `C420jpeg`) one-frame video from a PNG, for Chromium's
/// `--use-file-for-fake-video-capture` (the frame loops).
pub fn png_to_y4m(png: &Path, y4m: &Path) {
    let img = image::open(png).unwrap().to_rgb8();
    let (w, h) = (img.width() & !1, img.height() & !1);
    let mut y = Vec::with_capacity((w * h) as usize);
    let mut u = Vec::with_capacity((w * h / 4) as usize);
    let mut v = Vec::with_capacity((w * h / 4) as usize);
    let px = |x: u32, yy: u32| {
        let p = img.get_pixel(x, yy);
        (f32::from(p[0]), f32::from(p[1]), f32::from(p[2]))
    };
    for yy in 0..h {
        for x in 0..w {
            let (r, g, b) = px(x, yy);
            y.push(
                (0.299 * r + 0.587 * g + 0.114 * b)
                    .round()
                    .clamp(0.0, 255.0) as u8,
            );
        }
    }
    for yy in (0..h).step_by(2) {
        for x in (0..w).step_by(2) {
            let (mut r, mut g, mut b) = (0.0, 0.0, 0.0);
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let (pr, pg, pb) = px(x + dx, yy + dy);
                r += pr / 4.0;
                g += pg / 4.0;
                b += pb / 4.0;
            }
            u.push(
                (128.0 - 0.168_736 * r - 0.331_264 * g + 0.5 * b)
                    .round()
                    .clamp(0.0, 255.0) as u8,
            );
            v.push(
                (128.0 + 0.5 * r - 0.418_688 * g - 0.081_312 * b)
                    .round()
                    .clamp(0.0, 255.0) as u8,
            );
        }
    }
    let mut out = format!("YUV4MPEG2 W{w} H{h} F10:1 Ip A1:1 C420jpeg\nFRAME\n").into_bytes();
    out.extend_from_slice(&y);
    out.extend_from_slice(&u);
    out.extend_from_slice(&v);
    std::fs::write(y4m, out).unwrap();
}
