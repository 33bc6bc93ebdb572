//! The module matrix of a check-in code's QR symbol, at error-correction level M.
//!
//! The `qrcode` crate does the encoding (segmentation, Reed–Solomon, placement,
//! masks); this module only chooses the mask faster. The crate scores each of the
//! eight masks with ISO/IEC 18004's penalty rules through a boxed closure per
//! module position, which made mask choice about 60 % of a ward office's batch
//! (eight codes per venue: a week of posters and the tracing sheet). Here the same
//! four rules, with the crate's exact scoring and tie-break (first lowest score in
//! the standard's mask order), run over a flat array of booleans, so the matrix is
//! identical, module for module, to `QrCode::with_error_correction_level(data,
//! EcLevel::M)` (`tests::same_matrix_as_the_qrcode_crate`), only cheaper to make.
//!
//! This module builds for wasm32 (the browser venue display draws its codes with it).

use qrcode::canvas::{Canvas, MaskPattern};
use qrcode::types::Version;
use qrcode::{EcLevel, bits, ec};

use crate::error::{Result, VenueError};

/// The eight masks of a normal QR symbol, in the standard's order (000 to 111),
/// which is also the order the tie-break follows.
const MASKS: [MaskPattern; 8] = [
    MaskPattern::Checkerboard,
    MaskPattern::HorizontalLines,
    MaskPattern::VerticalLines,
    MaskPattern::DiagonalLines,
    MaskPattern::LargeCheckerboard,
    MaskPattern::Fields,
    MaskPattern::Diamonds,
    MaskPattern::Meadow,
];

/// A QR symbol's modules: `width` × `width`, row by row, `true` for dark.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QrMatrix {
    width: usize,
    version: i16,
    dark: Vec<bool>,
}

impl QrMatrix {
    /// Encodes `data` at level M in the smallest version that holds it.
    pub fn encode(data: &[u8]) -> Result<QrMatrix> {
        let bits = bits::encode_auto(data, EcLevel::M).map_err(qr_error)?;
        let version = bits.version();
        let Version::Normal(number) = version else {
            return Err(VenueError::InvalidInput("QR: micro version".into()));
        };
        let (data_codewords, ec_codewords) =
            ec::construct_codewords(&bits.into_bytes(), version, EcLevel::M).map_err(qr_error)?;
        let mut canvas = Canvas::new(version, EcLevel::M);
        canvas.draw_all_functional_patterns();
        canvas.draw_data(&data_codewords, &ec_codewords);
        let width = usize::try_from(version.width())
            .map_err(|_| VenueError::InvalidInput("QR: width".into()))?;
        let mut best: Option<(u32, Vec<bool>)> = None;
        for mask in MASKS {
            let mut masked = canvas.clone();
            masked.apply_mask(mask);
            let dark = modules_of(&masked, width);
            let score = penalty(&dark, width);
            // Strictly lower only: the first mask with the lowest score wins.
            if best.as_ref().is_none_or(|(s, _)| score < *s) {
                best = Some((score, dark));
            }
        }
        let (_, dark) = best.ok_or_else(|| VenueError::InvalidInput("QR: no mask".into()))?;
        Ok(QrMatrix {
            width,
            version: number,
            dark,
        })
    }

    /// Modules per side (without the quiet zone).
    pub fn width(&self) -> usize {
        self.width
    }

    /// The QR version, 1 to 40.
    pub fn version(&self) -> i16 {
        self.version
    }

    /// Whether the module in column `x`, row `y` is dark (outside: light, as the
    /// quiet zone is).
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.width && y < self.width && self.dark.get(y * self.width + x) == Some(&true)
    }

    /// The modules row by row, `true` for dark.
    pub fn modules(&self) -> &[bool] {
        &self.dark
    }

    /// The dark runs of row `y`: `(first column, length)`, left to right.
    pub fn dark_runs(&self, y: usize) -> Vec<(usize, usize)> {
        let mut runs = Vec::new();
        let mut x = 0;
        while x < self.width {
            if !self.is_dark(x, y) {
                x += 1;
                continue;
            }
            let start = x;
            while x < self.width && self.is_dark(x, y) {
                x += 1;
            }
            runs.push((start, x - start));
        }
        runs
    }
}

fn qr_error(e: qrcode::types::QrError) -> VenueError {
    VenueError::InvalidInput(format!("QR: {e}"))
}

/// The masked canvas as booleans (after `apply_mask` every module is a masked
/// colour, so comparing colours is what the crate's scoring compares).
fn modules_of(canvas: &Canvas, width: usize) -> Vec<bool> {
    let w = i16::try_from(width).unwrap_or(i16::MAX);
    let mut dark = Vec::with_capacity(width * width);
    for y in 0..w {
        for x in 0..w {
            dark.push(canvas.get(x, y).is_dark());
        }
    }
    dark
}

/// One row or column of at most 192 modules as bits (bit `j` is module `j`, 1 for
/// dark); positions past the symbol are 0 (light, like the quiet zone).
#[derive(Clone, Copy, Default)]
struct Line([u64; 3]);

impl Line {
    /// Sets bit `j` if `dark` (branch-free: modules are random).
    fn put(&mut self, j: usize, dark: bool) {
        if let Some(w) = self.0.get_mut(j / 64) {
            *w |= u64::from(dark) << (j % 64);
        }
    }

    fn get(self, j: usize) -> bool {
        self.0.get(j / 64).is_some_and(|w| w >> (j % 64) & 1 == 1)
    }

    /// Bit `j` of the result is bit `j + k` of `self` (`k` < 64).
    fn shifted(self, k: u32) -> Line {
        let [a, b, c] = self.0;
        if k == 0 {
            return self;
        }
        Line([a >> k | b << (64 - k), b >> k | c << (64 - k), c >> k])
    }

    fn and(self, o: Line) -> Line {
        Line([self.0[0] & o.0[0], self.0[1] & o.0[1], self.0[2] & o.0[2]])
    }

    fn xor(self, o: Line) -> Line {
        Line([self.0[0] ^ o.0[0], self.0[1] ^ o.0[1], self.0[2] ^ o.0[2]])
    }

    fn not(self) -> Line {
        Line([!self.0[0], !self.0[1], !self.0[2]])
    }

    /// Only the bits below `n`.
    fn below(self, n: usize) -> Line {
        let mut out = self;
        for (i, w) in out.0.iter_mut().enumerate() {
            let lo = i * 64;
            if n <= lo {
                *w = 0;
            } else if n < lo + 64 {
                *w &= (1u64 << (n - lo)) - 1;
            }
        }
        out
    }

    fn count(self) -> u32 {
        self.0.iter().map(|w| w.count_ones()).sum()
    }

    /// The positions of the set bits, ascending.
    fn ones(self) -> impl Iterator<Item = usize> {
        self.0.into_iter().enumerate().flat_map(|(i, mut w)| {
            std::iter::from_fn(move || {
                (w != 0).then(|| {
                    let j = w.trailing_zeros() as usize;
                    w &= w - 1;
                    i * 64 + j
                })
            })
        })
    }
}

/// The total penalty of a masked symbol, as the `qrcode` crate scores it.
fn penalty(dark: &[bool], width: usize) -> u32 {
    let mut rows = vec![Line::default(); width];
    let mut columns = vec![Line::default(); width];
    for ((y, row), line) in dark.chunks_exact(width).enumerate().zip(rows.iter_mut()) {
        for ((x, d), column) in row.iter().enumerate().zip(columns.iter_mut()) {
            line.put(x, *d);
            column.put(y, *d);
        }
    }
    let lines = || rows.iter().chain(columns.iter());
    let runs: u32 = lines().map(|l| runs_penalty(*l, width)).sum();
    let finders_rows: u32 = rows.iter().map(|l| finder_like_penalty(*l, width)).sum();
    let finders_columns: u32 = columns.iter().map(|l| finder_like_penalty(*l, width)).sum();
    let blocks: u32 = rows
        .windows(2)
        .map(|pair| match pair {
            [top, bottom] => blocks_penalty(*top, *bottom, width),
            _ => 0,
        })
        .sum();
    let dark_modules: u32 = rows.iter().map(|l| l.count()).sum();
    // The crate subtracts the three real finder patterns' 9 matches per direction.
    runs + blocks
        + finders_rows.saturating_sub(360)
        + finders_columns.saturating_sub(360)
        + balance_penalty(dark_modules as usize, dark.len())
}

/// Rule 1: each run of `5 + n` same-coloured modules in a line scores `3 + n`.
fn runs_penalty(line: Line, width: usize) -> u32 {
    // A run ends at `j` where module `j + 1` differs (and at the last module).
    let ends = line.xor(line.shifted(1)).below(width.saturating_sub(1));
    let mut score = 0;
    let mut start = 0;
    let mut add = |len: usize| {
        if len >= 5 {
            score += u32::try_from(len - 2).unwrap_or(0);
        }
    };
    for end in ends.ones() {
        add(end + 1 - start);
        start = end + 1;
    }
    add(width - start);
    score
}

/// Rule 2: each 2 × 2 block of one colour (overlapping ones counted) scores 3.
fn blocks_penalty(top: Line, bottom: Line, width: usize) -> u32 {
    let same_right = |l: Line| l.xor(l.shifted(1)).not();
    let same_below = top.xor(bottom).not();
    3 * same_right(top)
        .and(same_right(bottom))
        .and(same_below)
        .below(width.saturating_sub(1))
        .count()
}

/// Rule 3: each 1:1:3:1:1 finder-like pattern in a line without a dark module in
/// the four modules on one of its sides scores 40.
fn finder_like_penalty(line: Line, width: usize) -> u32 {
    const PATTERN: [bool; 7] = [true, false, true, true, true, false, true];
    let mut starts = Line([u64::MAX; 3]);
    for (k, dark) in (0u32..).zip(PATTERN) {
        let s = line.shifted(k);
        starts = starts.and(if dark { s } else { s.not() });
    }
    let any_dark = |from: usize, to: usize| (from..to.min(width)).any(|j| line.get(j));
    let mut score = 0;
    for j in starts.below(width.saturating_sub(6)).ones() {
        if !any_dark(j.saturating_sub(4), j) || !any_dark(j + 7, j + 11) {
            score += 40;
        }
    }
    score
}

/// Rule 4: the distance of the dark share from one half, in whole per cent.
fn balance_penalty(dark: usize, total: usize) -> u32 {
    let ratio = dark * 200 / total.max(1);
    u32::try_from(ratio.abs_diff(100)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use qrcode::{Color, QrCode};

    fn reference(data: &[u8]) -> (usize, Vec<bool>) {
        let code = QrCode::with_error_correction_level(data, EcLevel::M).unwrap();
        let dark = code.to_colors().iter().map(|c| *c == Color::Dark).collect();
        (code.width(), dark)
    }

    fn same_as_reference(data: &[u8]) {
        let ours = QrMatrix::encode(data).unwrap();
        let (width, dark) = reference(data);
        assert_eq!(ours.width(), width);
        assert_eq!(ours.modules(), &dark[..], "data {data:?}");
    }

    #[test]
    fn same_matrix_as_the_qrcode_crate() {
        // Real code shapes: upper-case URLs with base32 payloads of every length a
        // code takes (a bare 1.0 code to a 1.1 code with certificate and checkpoint).
        for len in (40..=900).step_by(37) {
            let payload: String = (0..len)
                .map(|i| char::from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[(i * 7 + len) % 32]))
                .collect();
            same_as_reference(format!("HTTPS://QR.EXAMPLE/C#{payload}").as_bytes());
        }
        // A tracing sheet's text (lower-case words and digits).
        same_as_reference(b"quet-master-v1 alpha bravo charlie 0123 4567 89ab cdef");
    }

    #[test]
    fn version_and_runs_describe_the_matrix() {
        let m = QrMatrix::encode(b"HTTPS://QR.EXAMPLE/C#ABCDEFGH").unwrap();
        assert_eq!(m.version(), 2);
        assert_eq!(m.width(), 25);
        // The top-left finder: seven dark modules, then the separator.
        assert_eq!(m.dark_runs(0).first(), Some(&(0, 7)));
        for y in 0..m.width() {
            let from_runs: usize = m.dark_runs(y).iter().map(|(_, n)| n).sum();
            let counted = (0..m.width()).filter(|&x| m.is_dark(x, y)).count();
            assert_eq!(from_runs, counted);
        }
        assert!(!m.is_dark(m.width(), 0));
    }

    #[test]
    fn too_long_is_an_error() {
        assert!(QrMatrix::encode(&vec![b'x'; 3000]).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn any_bytes_give_the_crates_matrix(data in proptest::collection::vec(any::<u8>(), 1..400)) {
            same_as_reference(&data);
        }
    }
}
