//! Plots, each written as SVG and PNG with `plotters`.
//!
//! SVG needs no system library. PNG text is drawn with `ab_glyph` from DejaVu Sans
//! (Debian `fonts-dejavu-core`), read at run time, so no fontconfig or freetype is
//! linked; the path can be changed with `QUET_SIM_FONT`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::SimError;

/// Where DejaVu Sans is on Debian.
pub const DEFAULT_FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

static FONT: OnceLock<Result<(), String>> = OnceLock::new();

/// Registers the font once per process (plotters keeps a `'static` reference).
pub fn register_font() -> Result<(), SimError> {
    FONT.get_or_init(|| {
        let path = std::env::var("QUET_SIM_FONT").unwrap_or_else(|_| DEFAULT_FONT.to_owned());
        let bytes = std::fs::read(&path)
            .map_err(|e| format!("cannot read the plot font {path} ({e}); install fonts-dejavu-core or set QUET_SIM_FONT"))?;
        let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
            .map_err(|_| format!("{path} is not a usable TrueType font"))
    })
    .clone()
    .map_err(SimError::Plot)
}

/// One line of a chart.
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// Points (x, y).
    pub points: Vec<(f64, f64)>,
}

/// A chart: title, axis labels, log or linear axes, series.
#[derive(Clone, Debug)]
pub struct Chart {
    /// File stem (`downloads_vs_cases` → `.svg` and `.png`).
    pub stem: String,
    /// Title.
    pub title: String,
    /// X axis label.
    pub x_label: String,
    /// Y axis label.
    pub y_label: String,
    /// Logarithmic x axis.
    pub log_x: bool,
    /// Logarithmic y axis.
    pub log_y: bool,
    /// The lines.
    pub series: Vec<Series>,
}

const COLORS: [RGBColor; 5] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x94, 0x67, 0xbd),
];

fn bounds(c: &Chart) -> ((f64, f64), (f64, f64)) {
    let pts = c.series.iter().flat_map(|s| s.points.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for (x, y) in pts {
        if (c.log_x && *x <= 0.0) || (c.log_y && *y <= 0.0) || !x.is_finite() || !y.is_finite() {
            continue;
        }
        x0 = x0.min(*x);
        x1 = x1.max(*x);
        y0 = y0.min(*y);
        y1 = y1.max(*y);
    }
    if x0 > x1 {
        (x0, x1) = (1.0, 10.0);
    }
    if y0 > y1 {
        (y0, y1) = (1.0, 10.0);
    }
    let pad = |lo: f64, hi: f64, log: bool| {
        if log {
            (lo / 1.5, hi * 1.5)
        } else {
            let span = (hi - lo).max(hi.abs() * 0.1).max(1e-9);
            (
                (lo - 0.05 * span).min(0.0f64.max(lo - 0.05 * span)),
                hi + 0.1 * span,
            )
        }
    };
    (pad(x0, x1, c.log_x), pad(y0, y1, c.log_y))
}

/// A tick label: compact, and on a log axis only at 1, 2 and 5 times a power of ten.
fn tick(v: f64, log: bool) -> String {
    if !v.is_finite() {
        return String::new();
    }
    if log {
        let p = 10f64.powf(v.abs().log10().floor());
        let m = v / p;
        if ![1.0, 2.0, 5.0].iter().any(|k| (m - k).abs() < 0.02) {
            return String::new();
        }
    }
    let a = v.abs();
    if a >= 1e6 {
        format!("{}M", trim(v / 1e6))
    } else if a >= 1e3 {
        format!("{}k", trim(v / 1e3))
    } else {
        trim(v)
    }
}

fn trim(v: f64) -> String {
    let s = if v.abs() >= 10.0 || v == v.round() {
        format!("{v:.0}")
    } else if v.abs() >= 0.1 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    };
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, c: &Chart) -> Result<(), String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let ((x0, x1), (y0, y1)) = bounds(c);
    let mut builder = ChartBuilder::on(root);
    builder
        .caption(&c.title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(80);
    macro_rules! finish {
        ($chart:expr) => {{
            let mut chart = $chart;
            let fx = |v: &f64| tick(*v, c.log_x);
            let fy = |v: &f64| tick(*v, c.log_y);
            chart
                .configure_mesh()
                .x_desc(c.x_label.as_str())
                .y_desc(c.y_label.as_str())
                .label_style(("sans-serif", 14))
                .x_label_formatter(&fx)
                .y_label_formatter(&fy)
                .light_line_style(WHITE)
                .draw()
                .map_err(|e| e.to_string())?;
            for (i, s) in c.series.iter().enumerate() {
                let color = COLORS[i % COLORS.len()];
                let pts: Vec<(f64, f64)> = s
                    .points
                    .iter()
                    .copied()
                    .filter(|(x, y)| {
                        x.is_finite()
                            && y.is_finite()
                            && (!c.log_x || *x > 0.0)
                            && (!c.log_y || *y > 0.0)
                    })
                    .collect();
                chart
                    .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
                    .map_err(|e| e.to_string())?
                    .label(s.name.as_str())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                    });
                chart
                    .draw_series(pts.iter().map(|p| Circle::new(*p, 4, color.filled())))
                    .map_err(|e| e.to_string())?;
            }
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .label_font(("sans-serif", 14))
                .position(SeriesLabelPosition::UpperLeft)
                .draw()
                .map_err(|e| e.to_string())?;
        }};
    }
    match (c.log_x, c.log_y) {
        (true, true) => finish!(
            builder
                .build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())
                .map_err(|e| e.to_string())?
        ),
        (true, false) => finish!(
            builder
                .build_cartesian_2d((x0..x1).log_scale(), y0..y1)
                .map_err(|e| e.to_string())?
        ),
        (false, true) => finish!(
            builder
                .build_cartesian_2d(x0..x1, (y0..y1).log_scale())
                .map_err(|e| e.to_string())?
        ),
        (false, false) => finish!(
            builder
                .build_cartesian_2d(x0..x1, y0..y1)
                .map_err(|e| e.to_string())?
        ),
    }
    root.present().map_err(|e| e.to_string())?;
    Ok(())
}

/// Writes `dir/<stem>.svg` and `dir/<stem>.png`; returns both paths.
pub fn write(dir: &Path, c: &Chart) -> Result<(PathBuf, PathBuf), SimError> {
    register_font()?;
    let svg = dir.join(format!("{}.svg", c.stem));
    let png = dir.join(format!("{}.png", c.stem));
    {
        let root = SVGBackend::new(&svg, (900, 560)).into_drawing_area();
        draw(&root, c).map_err(|e| SimError::Plot(format!("{}: {e}", svg.display())))?;
    }
    {
        let root = BitMapBackend::new(&png, (900, 560)).into_drawing_area();
        draw(&root, c).map_err(|e| SimError::Plot(format!("{}: {e}", png.display())))?;
    }
    Ok((svg, png))
}
