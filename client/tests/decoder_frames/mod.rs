//! Camera-like frames of a real check-in code, made deterministically from a seed.
//!
//! The code is a real protocol 1.1 screen code of a registered venue (certificate
//! and chain checkpoint, as a live `quet-venue display` shows it), drawn at error
//! correction level M with the `qrcode` crate as the venue tool draws it, on the
//! display's white page inside a dark bezel, in front of an unevenly lit wall. A
//! pin-hole camera then looks at that screen from a tilted angle (the screen's plane
//! turned 30–60° away from the camera about a random axis, rolled, off centre, close
//! enough for strong perspective), each pixel integrates 3×3 samples like a sensor,
//! the optics blur, the exposure is low in contrast and uneven, and the sensor adds
//! noise. Nothing here decodes anything: the frames are the same whatever decoder
//! reads them.
#![allow(dead_code)]

use qrcode::{EcLevel, QrCode, Version};
use quet_protocol::authority::{AuthorityDescriptor, AuthorityId, AuthorityKeys};
use quet_protocol::category::Category;
use quet_protocol::certificate::{VenueCertificate, details_hash};
use quet_protocol::chain::ChainCheckpoint;
use quet_protocol::code::{CodeIssuer, VenueInfo};
use quet_protocol::testing::test_rng;
use quet_protocol::time::{Day, UnixTime};
use quet_protocol::venue_keys::VenueMasterKey;

/// 2026-09-21 12:00 UTC: when the code is shown (and checked in, in the CLI test).
pub const SHOWN_AT: u64 = 20_717 * 86_400 + 12 * 3600;

/// The authority's base URL in the code (as long as a real department's).
pub const BASE_URL: &str = "https://quet.soyte.hanoi.gov.vn";

/// A real check-in code and the module grid the venue display draws for it.
pub struct RealCode {
    /// The code text (the upper-case URL the QR holds).
    pub url: String,
    /// The signed descriptor a phone pins to accept the code.
    pub descriptor: Vec<u8>,
    /// The same descriptor, parsed.
    pub authority: AuthorityDescriptor,
    /// QR version at level M.
    pub version: i16,
    /// Modules per side, without the quiet zone.
    pub modules: usize,
    dark: Vec<bool>,
}

impl RealCode {
    /// Whether module `(x, y)` of the grid is dark (outside the grid: light).
    fn is_dark(&self, x: i64, y: i64) -> bool {
        let n = self.modules as i64;
        (0..n).contains(&x)
            && (0..n).contains(&y)
            && self
                .dark
                .get((y * n + x) as usize)
                .copied()
                .unwrap_or(false)
    }
}

/// The screen code a registered restaurant's display shows at [`SHOWN_AT`].
pub fn real_code() -> RealCode {
    let mut rng = test_rng(12);
    let ha = AuthorityKeys::generate(&mut rng);
    let descriptor = ha.descriptor(AuthorityId(0x0100_0001), "Sở Y tế Hà Nội", BASE_URL);
    let info = VenueInfo {
        name: "Phở Thìn Bờ Hồ".into(),
        address: "61 Đinh Tiên Hoàng, Hàng Trống, Hoàn Kiếm, Hà Nội".into(),
        category: Category::Restaurant,
        max_stay_minutes: Category::Restaurant.default_max_stay_minutes(),
    };
    let details = details_hash(info.category, &info.name, &info.address);
    let mut issuer = CodeIssuer::new(VenueMasterKey::generate(&mut rng), info, &descriptor)
        .expect("venue issuer");
    let today = Day((SHOWN_AT / 86_400) as u32);
    let certificate = VenueCertificate::issue(
        &ha,
        &descriptor,
        &issuer.venue_key().to_bytes(),
        &details,
        4_711,
        Day(today.0 - 30),
        Day(today.0 + 335),
    )
    .expect("certificate");
    issuer.set_certificate(Some(certificate));
    issuer.set_checkpoint(ChainCheckpoint::new(1_234, &[0x5a; 32]));
    let url = issuer
        .screen_code(&mut rng, UnixTime(SHOWN_AT))
        .expect("screen code")
        .to_url(&descriptor.base_url);
    let qr = QrCode::with_error_correction_level(url.as_bytes(), EcLevel::M).expect("QR");
    let version = match qr.version() {
        Version::Normal(v) | Version::Micro(v) => v,
    };
    let modules = qr.width();
    let dark = qr
        .to_colors()
        .iter()
        .map(|c| *c == qrcode::Color::Dark)
        .collect();
    RealCode {
        url,
        descriptor: ha.sign_descriptor(&descriptor).expect("descriptor"),
        authority: descriptor,
        version,
        modules,
        dark,
    }
}

/// One grey-scale camera frame (one byte per pixel, row by row).
pub struct Frame {
    /// What made it: size, tilt, blur, contrast, noise.
    pub label: String,
    /// Pixels per row.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// `width × height` grey levels.
    pub luma: Vec<u8>,
}

/// How hard a set of frames is.
#[derive(Clone, Copy, Debug)]
pub struct Conditions {
    /// Frame width range in pixels (portrait frames, 4:3).
    pub width: (usize, usize),
    /// Tilt of the screen away from the camera, degrees.
    pub tilt_deg: (f64, f64),
    /// How much of the frame's width the untilted page (code + quiet zone) fills.
    pub fill: (f64, f64),
    /// Gaussian blur sigma in pixels.
    pub blur_px: (f64, f64),
    /// Grey level of a dark module, and the light-minus-dark difference.
    pub dark_level: (f64, f64),
    /// Light minus dark.
    pub contrast: (f64, f64),
    /// Sensor noise sigma in grey levels.
    pub noise: (f64, f64),
}

/// The hard set: small frames (240–480 px wide), tilted 30–60°, blurred, noisy,
/// low contrast: a cheap phone held at an angle to a dim screen.
pub const HARD: Conditions = Conditions {
    width: (240, 480),
    tilt_deg: (30.0, 60.0),
    fill: (0.9, 1.05),
    blur_px: (0.3, 0.7),
    dark_level: (50.0, 90.0),
    contrast: (60.0, 110.0),
    noise: (2.0, 6.0),
};

/// The milder set: 360–1000 px wide, tilted up to 35°, a little blur and noise.
pub const MILD: Conditions = Conditions {
    width: (360, 1000),
    tilt_deg: (0.0, 35.0),
    fill: (0.5, 0.9),
    blur_px: (0.4, 1.2),
    dark_level: (20.0, 70.0),
    contrast: (90.0, 190.0),
    noise: (2.0, 6.0),
};

/// `count` frames of `code` under `conditions`, the same for the same `seed`.
pub fn frames(code: &RealCode, conditions: &Conditions, count: usize, seed: u64) -> Vec<Frame> {
    let mut rng = SplitMix(seed);
    (0..count)
        .map(|i| {
            // Spread sizes and tilts evenly over their ranges (each frame its own
            // share), the other parameters at random.
            let t = (i as f64 + rng.unit()) / count as f64;
            let (lo, hi) = conditions.width;
            let width = lerp((lo as f64, hi as f64), t).round() as usize & !1;
            let tilt = lerp(conditions.tilt_deg, rng.unit());
            frame(code, conditions, width, tilt, &mut rng)
        })
        .collect()
}

fn lerp((a, b): (f64, f64), t: f64) -> f64 {
    a + (b - a) * t
}

fn frame(
    code: &RealCode,
    c: &Conditions,
    width: usize,
    tilt_deg: f64,
    rng: &mut SplitMix,
) -> Frame {
    let height = (width * 4 / 3) & !1;
    let (w, h) = (width as f64, height as f64);
    let n = code.modules as f64;
    let page = n + 8.0; // the code and its 4-module quiet zone

    // The screen's orientation: rolled in its plane, then tilted about an axis in
    // the image plane at a random direction.
    let roll = rng.range(-25.0, 25.0).to_radians();
    let tilt = tilt_deg.to_radians();
    let axis = rng.range(0.0, 180.0).to_radians();
    let (e1, e2) = orientation(roll, tilt, axis);
    // Close to the screen (strong perspective), sized so the page fills `fill`.
    let distance = page * rng.range(1.6, 3.0);
    let fill = lerp(c.fill, rng.unit());
    let shift = (rng.range(-0.08, 0.08) * w, rng.range(-0.08, 0.08) * h);
    let mut focal = fill * w * distance / page;
    // A person aims at the code: shrink the view until the code and a module of
    // quiet zone lie inside the frame.
    for _ in 0..20 {
        let m = homography(
            e1,
            e2,
            distance,
            focal,
            w / 2.0 + shift.0,
            h / 2.0 + shift.1,
        );
        let corner = n / 2.0 + 1.0;
        let inside = [(-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)]
            .iter()
            .all(|(a, b)| {
                let p = apply(&m, [a * corner, b * corner, 1.0]);
                let (x, y) = (p[0] / p[2], p[1] / p[2]);
                p[2] > 0.0 && x > 0.02 * w && x < 0.98 * w && y > 0.02 * h && y < 0.98 * h
            });
        if inside {
            break;
        }
        focal *= 0.95;
    }
    let m = homography(
        e1,
        e2,
        distance,
        focal,
        w / 2.0 + shift.0,
        h / 2.0 + shift.1,
    );
    let inv = invert(&m);

    // The wall behind the screen: a smooth random brightness.
    let wall = (
        rng.range(0.3, 0.7),
        rng.range(-0.01, 0.01),
        rng.range(-0.01, 0.01),
    );
    let scene = |u: f64, v: f64| -> f64 {
        let (x, y) = (u + n / 2.0, v + n / 2.0);
        let margin = 4.0 + 3.0; // quiet zone, then the rest of the white page
        let bezel = margin + 2.5;
        if x >= -margin && y >= -margin && x < n + margin && y < n + margin + 6.0 {
            if code.is_dark(x.floor() as i64, y.floor() as i64) {
                0.0
            } else {
                1.0
            }
        } else if x >= -bezel && y >= -bezel && x < n + bezel && y < n + bezel + 6.0 {
            0.04
        } else {
            (wall.0 + wall.1 * x + wall.2 * y).clamp(0.1, 0.9)
        }
    };

    // Each pixel integrates 3×3 samples of the scene.
    const SS: usize = 3;
    let mut img = vec![0f64; width * height];
    for (py, row) in img.chunks_exact_mut(width).enumerate() {
        for (px, out) in row.iter_mut().enumerate() {
            let mut sum = 0.0;
            for sy in 0..SS {
                for sx in 0..SS {
                    let x = px as f64 + (sx as f64 + 0.5) / SS as f64;
                    let y = py as f64 + (sy as f64 + 0.5) / SS as f64;
                    let p = apply(&inv, [x, y, 1.0]);
                    sum += if p[2] > 0.0 {
                        scene(p[0] / p[2], p[1] / p[2])
                    } else {
                        0.5
                    };
                }
            }
            *out = sum / (SS * SS) as f64;
        }
    }

    let blur = lerp(c.blur_px, rng.unit());
    let img = gaussian_blur(&img, width, height, blur);

    // Exposure: low contrast, brighter on one side; then sensor noise.
    let dark = lerp(c.dark_level, rng.unit());
    let contrast = lerp(c.contrast, rng.unit());
    let gradient = rng.range(-0.25, 0.25);
    let direction = rng.range(0.0, std::f64::consts::TAU);
    let noise = lerp(c.noise, rng.unit());
    let luma = img
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let (x, y) = ((i % width) as f64 / w - 0.5, (i / width) as f64 / h - 0.5);
            let light = 1.0 + gradient * (x * direction.cos() + y * direction.sin());
            let value = (dark + contrast * r) * light + noise * rng.gaussian();
            value.round().clamp(0.0, 255.0) as u8
        })
        .collect();
    Frame {
        label: format!(
            "{width}x{height} tilt {tilt_deg:.0}° fill {fill:.2} blur {blur:.2}px \
             levels {dark:.0}+{contrast:.0} noise {noise:.1}"
        ),
        width,
        height,
        luma,
    }
}

/// Plane coordinates `(u, v, 1)` (modules, centred on the code) to homogeneous
/// pixel coordinates, for a pin-hole camera at the origin looking along +z at the
/// plane spanned by `e1`, `e2` through `(0, 0, distance)`, principal point `(cx, cy)`.
fn homography(
    e1: [f64; 3],
    e2: [f64; 3],
    distance: f64,
    focal: f64,
    cx: f64,
    cy: f64,
) -> [[f64; 3]; 3] {
    [
        [
            focal * e1[0] + cx * e1[2],
            focal * e2[0] + cx * e2[2],
            cx * distance,
        ],
        [
            focal * e1[1] + cy * e1[2],
            focal * e2[1] + cy * e2[2],
            cy * distance,
        ],
        [e1[2], e2[2], distance],
    ]
}

/// The screen's two in-plane unit vectors after roll, then tilt about `axis`.
fn orientation(roll: f64, tilt: f64, axis: f64) -> ([f64; 3], [f64; 3]) {
    let a1 = [roll.cos(), roll.sin(), 0.0];
    let a2 = [-roll.sin(), roll.cos(), 0.0];
    let k = [axis.cos(), axis.sin(), 0.0];
    (rotate(a1, k, tilt), rotate(a2, k, tilt))
}

/// Rodrigues' rotation of `v` about unit axis `k` by `angle`.
fn rotate(v: [f64; 3], k: [f64; 3], angle: f64) -> [f64; 3] {
    let (s, c) = angle.sin_cos();
    let cross = [
        k[1] * v[2] - k[2] * v[1],
        k[2] * v[0] - k[0] * v[2],
        k[0] * v[1] - k[1] * v[0],
    ];
    let dot = k[0] * v[0] + k[1] * v[1] + k[2] * v[2];
    [0, 1, 2].map(|i| v[i] * c + cross[i] * s + k[i] * dot * (1.0 - c))
}

fn apply(m: &[[f64; 3]; 3], v: [f64; 3]) -> [f64; 3] {
    m.map(|r| r[0] * v[0] + r[1] * v[1] + r[2] * v[2])
}

fn invert(m: &[[f64; 3]; 3]) -> [[f64; 3]; 3] {
    let c = |r: usize, k: usize| {
        let (r1, r2) = ((r + 1) % 3, (r + 2) % 3);
        let (k1, k2) = ((k + 1) % 3, (k + 2) % 3);
        m[r1][k1] * m[r2][k2] - m[r1][k2] * m[r2][k1]
    };
    let det = m[0][0] * c(0, 0) + m[0][1] * c(0, 1) + m[0][2] * c(0, 2);
    // The inverse is the transposed cofactor matrix over the determinant.
    [0, 1, 2].map(|r| [0, 1, 2].map(|k| c(k, r) / det))
}

fn gaussian_blur(img: &[f64], width: usize, height: usize, sigma: f64) -> Vec<f64> {
    let radius = (sigma * 3.0).ceil() as i64;
    let kernel: Vec<f64> = (-radius..=radius)
        .map(|i| (-(i * i) as f64 / (2.0 * sigma * sigma)).exp())
        .collect();
    let total: f64 = kernel.iter().sum();
    let pass = |src: &[f64], horizontal: bool| -> Vec<f64> {
        (0..width * height)
            .map(|i| {
                let (x, y) = ((i % width) as i64, (i / width) as i64);
                kernel
                    .iter()
                    .zip(-radius..=radius)
                    .map(|(k, d)| {
                        let (sx, sy) = if horizontal {
                            ((x + d).clamp(0, width as i64 - 1), y)
                        } else {
                            (x, (y + d).clamp(0, height as i64 - 1))
                        };
                        k * src[(sy * width as i64 + sx) as usize]
                    })
                    .sum::<f64>()
                    / total
            })
            .collect()
    };
    pass(&pass(img, true), false)
}

/// SplitMix64: a small seeded generator, enough for test images.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn range(&mut self, a: f64, b: f64) -> f64 {
        a + (b - a) * self.unit()
    }

    /// Standard normal (Box–Muller).
    fn gaussian(&mut self) -> f64 {
        let u = self.unit().max(1e-12);
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// The frame as a PNG (what a screenshot or `zbarimg` reads).
pub fn png(frame: &Frame) -> Vec<u8> {
    encode(frame, image::ImageFormat::Png)
}

/// The frame as a JPEG (what a phone's camera app saves).
pub fn jpeg(frame: &Frame) -> Vec<u8> {
    encode(frame, image::ImageFormat::Jpeg)
}

fn encode(frame: &Frame, format: image::ImageFormat) -> Vec<u8> {
    let img =
        image::GrayImage::from_raw(frame.width as u32, frame.height as u32, frame.luma.clone())
            .expect("frame size");
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), format)
        .expect("encode");
    out
}
