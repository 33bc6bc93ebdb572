//! Venue statistics as a server-rendered SVG: one row of daily bars per district
//! (all categories summed), days on a shared axis, one shared scale. No script.

use std::collections::{BTreeMap, BTreeSet};

use super::html::esc;
use super::localtime;
use crate::heartbeat::VenueStat;

/// Active venues per district and day (categories summed): district → day → count.
pub fn by_district_and_day(rows: &[VenueStat]) -> BTreeMap<String, BTreeMap<u32, u64>> {
    let mut m: BTreeMap<String, BTreeMap<u32, u64>> = BTreeMap::new();
    for r in rows {
        *m.entry(r.district.clone())
            .or_default()
            .entry(r.day)
            .or_default() += r.active_venues;
    }
    m
}

const ROW: u32 = 56;
const LEFT: u32 = 150;
const WIDTH: u32 = 760;
const TOP: u32 = 24;
const BOTTOM: u32 = 34;

/// The chart of the last `days` days up to `today` (UTC day numbers).
pub fn svg(rows: &[VenueStat], today: u32, days: u32) -> String {
    let data = by_district_and_day(rows);
    let first = today.saturating_sub(days.saturating_sub(1));
    let axis: Vec<u32> = (first..=today).collect();
    let max = data
        .values()
        .flat_map(|d| d.values())
        .copied()
        .max()
        .unwrap_or(0)
        .max(1);
    let n_rows = u32::try_from(data.len()).unwrap_or(u32::MAX).max(1);
    let height = TOP + n_rows * ROW + BOTTOM;
    let slot = (WIDTH - LEFT - 10) as f64 / axis.len().max(1) as f64;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" \
font-family=\"DejaVu Sans, sans-serif\" font-size=\"11\" aria-label=\"Địa điểm hoạt động theo quận và ngày / Active venues per district and day\">\
<text x=\"4\" y=\"14\" font-size=\"12\" font-weight=\"bold\">Địa điểm hoạt động / Active venues (max {max})</text>"
    );
    if data.is_empty() {
        s.push_str(&format!(
            "<text x=\"{LEFT}\" y=\"{}\">Chưa có dữ liệu / No data yet</text>",
            TOP + ROW / 2
        ));
    }
    let mut districts = BTreeSet::new();
    for (i, (district, per_day)) in data.iter().enumerate() {
        districts.insert(district.clone());
        let y0 = TOP + u32::try_from(i).unwrap_or(0) * ROW;
        let base = y0 + ROW - 8;
        s.push_str(&format!(
            "<text x=\"4\" y=\"{}\">{}</text><line x1=\"{LEFT}\" x2=\"{}\" y1=\"{base}\" y2=\"{base}\" stroke=\"#99a\"/>",
            base - 4,
            esc(&district.chars().take(22).collect::<String>()),
            WIDTH - 10
        ));
        for (j, day) in axis.iter().enumerate() {
            let v = per_day.get(day).copied().unwrap_or(0);
            if v == 0 {
                continue;
            }
            let h = ((ROW - 14) as f64 * v as f64 / max as f64).max(1.0);
            let x = LEFT as f64 + j as f64 * slot + slot * 0.15;
            s.push_str(&format!(
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"#0b5d3b\"><title>{}: {v}</title></rect>",
                base as f64 - h,
                slot * 0.7,
                esc(&format!(
                    "{} {}",
                    district,
                    localtime::format_date(u64::from(*day) * 86_400, 0)
                )),
            ));
        }
    }
    let label_every = (axis.len() / 8).max(1);
    for (j, day) in axis.iter().enumerate() {
        if j % label_every == 0 || j + 1 == axis.len() {
            let x = LEFT as f64 + j as f64 * slot + slot / 2.0;
            let (_, m, d, _, _) = localtime::fields(u64::from(*day) * 86_400, 0);
            s.push_str(&format!(
                "<text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\">{d:02}/{m:02}</text>",
                height - BOTTOM + 16
            ));
        }
    }
    s.push_str(&format!(
        "<text x=\"{LEFT}\" y=\"{}\" fill=\"#556\">Ngày (UTC) / Day (UTC)</text></svg>",
        height - 4
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(day: u32, cat: &str, district: &str, n: u64) -> VenueStat {
        VenueStat {
            day,
            category: cat.into(),
            district: district.into(),
            active_venues: n,
        }
    }

    #[test]
    fn sums_categories_per_district_and_day_and_escapes_names() {
        let rows = vec![
            row(100, "restaurant", "Hoàn Kiếm", 2),
            row(100, "market", "Hoàn Kiếm", 3),
            row(99, "market", "<script>", 1),
        ];
        let m = by_district_and_day(&rows);
        assert_eq!(m["Hoàn Kiếm"][&100], 5);
        let s = svg(&rows, 100, 7);
        assert!(s.contains("Hoàn Kiếm") && s.contains("&lt;script&gt;"));
        assert!(!s.contains("<script>"));
        assert_eq!(s.matches("<rect").count(), 2);
        assert!(s.contains("(max 5)"));
        assert!(svg(&[], 100, 7).contains("No data yet"));
    }
}
