//! The national view, computed from the city run's measured figures: 63 provinces,
//! each running its own authority; phones sync their home province and the
//! provinces they visited in the last 14 days; a CDN carries the downloads.
//!
//! Inputs and their sources are in `sim/README.md`: Vietnam's 2021 population
//! (98.5 M), the national peak (16,110 cases on 19 Dec 2021), the two cities'
//! populations. Provinces other than Hà Nội and HCMC are sized by a rank-size rule
//! (an assumption: no per-province table was at hand), cases are spread in
//! proportion to population, and travel shares are assumptions.

use crate::run::RunReport;

/// Vietnam's 2021 average population (National Statistics Office).
pub const VIETNAM_POPULATION_2021: f64 = 98_504_400.0;
/// Cases reported nationally on 19 December 2021 (16,110; Ministry of Health via
/// VNS), among the highest days of 2021.
pub const NATIONAL_PEAK_CASES: f64 = 16_110.0;
/// Share of people with a smartphone (Hà Nội 74.5 %, HCMC 75.7 % of adults).
pub const SMARTPHONE_SHARE: f64 = 0.745;
/// Rank-size exponent of the other 61 provinces (assumption).
pub const RANK_SIZE_EXPONENT: f64 = 0.6;
/// Share of phones that visited one other province in 14 days (assumption).
pub const TRAVELLED_ONE: f64 = 0.10;
/// Share of phones that visited two other provinces in 14 days (assumption).
pub const TRAVELLED_TWO: f64 = 0.03;
/// Hours over which the day's uploads arrive (08:00–20:00).
pub const UPLOAD_HOURS: f64 = 12.0;
/// Peak-hour factor over the mean upload hour (assumption).
pub const PEAK_FACTOR: f64 = 2.0;

/// One province.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Province {
    /// Name (the two cities) or rank.
    pub name: String,
    /// Population.
    pub population: f64,
    /// Cases on the national peak day.
    pub cases: f64,
    /// Bytes its authority publishes that day.
    pub bytes: f64,
    /// Phones that sync it (residents and recent visitors).
    pub subscribers: f64,
}

/// The national view.
#[derive(Clone, Debug, serde::Serialize)]
pub struct National {
    /// The 63 provinces.
    pub provinces: Vec<Province>,
    /// Phones in the country.
    pub phones: f64,
    /// Bytes per confirmed case on a peak day (measured in the city run).
    pub bytes_per_case: f64,
    /// Daily floor of an authority with cases (decoy-padded hourly bulletins).
    pub bytes_floor: f64,
    /// A phone's daily download: median, p95, p99, max (bytes).
    pub download_percentiles: [f64; 4],
    /// CDN egress on the national peak day (bytes).
    pub cdn_egress: f64,
    /// Uploads on the peak day, nationally.
    pub uploads: f64,
    /// Approvals (verified check-ins) on the peak day, nationally.
    pub approvals: f64,
    /// HA CPU seconds per upload (verify 100 envelopes, store) and per approval.
    pub cpu_per_upload: f64,
    /// HA CPU seconds per approval.
    pub cpu_per_approval: f64,
    /// CPU cores one server hosting every authority needs at the peak hour.
    pub cores_at_peak_hour: f64,
    /// SQLite write transactions per second needed at the peak hour (all authorities).
    pub tx_per_sec_needed: f64,
    /// Write transactions per second one SQLite database sustained in the run (the
    /// writer lock is held through each approval's crypto).
    pub tx_per_sec_measured: f64,
    /// National cases per day at which one SQLite database reaches its measured rate.
    pub sqlite_limit_cases_per_day: f64,
    /// Bulletin bytes stored over 14 days by all authorities at the peak rate.
    pub storage_14_days: f64,
    /// Origin egress if phones fetched from quet-server directly, Gbit/s, with
    /// half of the day's syncs in the two evening hours.
    pub origin_gbit_per_sec_without_cdn: f64,
}

/// Computes the national view from a city run.
pub fn compute(r: &RunReport) -> National {
    let days = r.days.len().max(1) as f64;
    let cases: f64 = r.days.iter().map(|d| d.cases as f64).sum::<f64>().max(1.0);
    let bytes: f64 = r.days.iter().map(|d| d.bytes as f64).sum();
    let keys: f64 = r.days.iter().map(|d| d.keys as f64).sum::<f64>().max(1.0);
    let bytes_per_case = bytes / cases;
    let bytes_per_key = bytes / keys;
    let min_keys = r.scenario.min_bulletin_keys as f64;
    let bytes_floor = UPLOAD_HOURS * min_keys * (1.0 + 1.0 / 16.0) * bytes_per_key;

    let hn = 8_330_800.0;
    let hcmc = 9_166_800.0;
    let rest = VIETNAM_POPULATION_2021 - hn - hcmc;
    let weights: Vec<f64> = (3..=63)
        .map(|k: i32| f64::from(k).powf(-RANK_SIZE_EXPONENT))
        .collect();
    let wsum: f64 = weights.iter().sum();
    let mut provinces = vec![
        Province {
            name: "Hồ Chí Minh".into(),
            population: hcmc,
            cases: 0.0,
            bytes: 0.0,
            subscribers: 0.0,
        },
        Province {
            name: "Hà Nội".into(),
            population: hn,
            cases: 0.0,
            bytes: 0.0,
            subscribers: 0.0,
        },
    ];
    for (i, w) in weights.iter().enumerate() {
        provinces.push(Province {
            name: format!("tỉnh hạng {}", i + 3),
            population: rest * w / wsum,
            cases: 0.0,
            bytes: 0.0,
            subscribers: 0.0,
        });
    }
    let phones = VIETNAM_POPULATION_2021 * SMARTPHONE_SHARE;
    for p in &mut provinces {
        p.cases = NATIONAL_PEAK_CASES * p.population / VIETNAM_POPULATION_2021;
        p.bytes = (p.cases * bytes_per_case).max(if p.cases >= 1.0 { bytes_floor } else { 0.0 });
        let residents = p.population * SMARTPHONE_SHARE;
        // Visitors from elsewhere, in proportion to this province's population.
        let share = p.population / VIETNAM_POPULATION_2021;
        p.subscribers =
            residents + (phones - residents) * (TRAVELLED_ONE + 2.0 * TRAVELLED_TWO) * share;
    }
    let cdn_egress: f64 = provinces.iter().map(|p| p.bytes * p.subscribers).sum();

    // A phone's download: its home province plus 0, 1 or 2 others (population-weighted).
    let mean_bytes: f64 = provinces
        .iter()
        .map(|p| p.bytes * p.population)
        .sum::<f64>()
        / VIETNAM_POPULATION_2021;
    let max_bytes = provinces.iter().map(|p| p.bytes).fold(0.0, f64::max);
    let mut dist: Vec<(f64, f64)> = Vec::new();
    for p in &provinces {
        let w = p.population / VIETNAM_POPULATION_2021;
        dist.push((p.bytes, w * (1.0 - TRAVELLED_ONE - TRAVELLED_TWO)));
        dist.push((p.bytes + mean_bytes, w * TRAVELLED_ONE));
        dist.push((p.bytes + max_bytes + mean_bytes, w * TRAVELLED_TWO));
    }
    dist.sort_by(|a, b| a.0.total_cmp(&b.0));
    let pct = |q: f64| {
        let mut acc = 0.0;
        for (b, w) in &dist {
            acc += w;
            if acc >= q {
                return *b;
            }
        }
        dist.last().map_or(0.0, |d| d.0)
    };
    let download_percentiles = [
        pct(0.5),
        pct(0.95),
        pct(0.99),
        dist.last().map_or(0.0, |d| d.0),
    ];

    let ha_uploads: f64 = r
        .days
        .iter()
        .map(|d| d.ha.uploads as f64)
        .sum::<f64>()
        .max(1.0);
    let ha_approvals: f64 = r
        .days
        .iter()
        .map(|d| d.ha.approvals as f64)
        .sum::<f64>()
        .max(1.0);
    let verify_store: f64 = r
        .days
        .iter()
        .map(|d| (d.ha.verify + d.ha.store).as_secs_f64())
        .sum();
    let approve: f64 = r.days.iter().map(|d| d.ha.approve.as_secs_f64()).sum();
    let store: f64 = r.days.iter().map(|d| d.ha.store.as_secs_f64()).sum();
    let publish: f64 = r.days.iter().map(|d| d.ha.publish.as_secs_f64()).sum();
    let bulletins: f64 = r
        .days
        .iter()
        .map(|d| d.ha.bulletins as f64)
        .sum::<f64>()
        .max(1.0);
    let cpu_per_upload = verify_store / ha_uploads;
    let cpu_per_approval = approve / ha_approvals;
    let uploads_per_case = ha_uploads / cases;
    let approvals_per_upload = ha_approvals / ha_uploads;
    let uploads = NATIONAL_PEAK_CASES * uploads_per_case;
    let approvals = uploads * approvals_per_upload;
    let peak_hour = PEAK_FACTOR / UPLOAD_HOURS;
    let publish_per_hour = 63.0 * publish / bulletins;
    let cores_at_peak_hour = (uploads * cpu_per_upload + approvals * cpu_per_approval) * peak_hour
        / 3_600.0
        + publish_per_hour / 3_600.0;
    let tx_per_case = (2.0 * uploads + approvals) / NATIONAL_PEAK_CASES;
    let tx_per_sec_needed = (2.0 * uploads + approvals) * peak_hour / 3_600.0 + 63.0 / 3_600.0;
    // SQLite has one writer: an approval holds the write lock while it re-opens the
    // envelope and builds the notices, so the rate one database sustains is the
    // number of write transactions over the time spent inside them.
    let transactions: f64 = r.days.iter().map(|d| d.ha.transactions as f64).sum();
    // The run's database may sit on tmpfs; each commit on a real disk costs the
    // measured durable-commit time on top.
    let tx_per_sec_measured =
        transactions / (store + approve + publish + transactions * r.disk_commit_secs).max(1e-9);
    let sqlite_limit_cases_per_day =
        tx_per_sec_measured * 3_600.0 / peak_hour / tx_per_case.max(1e-9);
    let storage_14_days = 14.0 * provinces.iter().map(|p| p.bytes).sum::<f64>();
    let origin_gbit_per_sec_without_cdn = cdn_egress * 0.5 / (2.0 * 3_600.0) * 8.0 / 1e9;
    let _ = days;
    National {
        provinces,
        phones,
        bytes_per_case,
        bytes_floor,
        download_percentiles,
        cdn_egress,
        uploads,
        approvals,
        cpu_per_upload,
        cpu_per_approval,
        cores_at_peak_hour,
        tx_per_sec_needed,
        tx_per_sec_measured,
        sqlite_limit_cases_per_day,
        storage_14_days,
        origin_gbit_per_sec_without_cdn,
    }
}
