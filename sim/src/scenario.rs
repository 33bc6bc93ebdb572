//! Scenarios: the parameters of a simulated city and week, with their sources.
//!
//! The two named scenarios take their population and case counts from public 2021
//! figures and their venue counts from the Hà Nội directive of 10 August 2021
//! (`shared/seeds/003_…`); `sim/README.md` lists every number with its source and
//! every assumption where no source was found. Everything else (routines, stays,
//! shares) is an assumption stated here and in the README.

use quet_protocol::time::Day;

/// Every parameter of one run.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Scenario {
    /// Short name (`hanoi-2021`, `hcmc-2021`, `small`).
    pub name: String,
    /// Title for the report.
    pub title: String,
    /// Master seed: the same seed gives the same city, cases and samples.
    pub seed: u64,
    /// People simulated (every one of them, each day).
    pub population: u32,
    /// Urban districts (people mostly move within theirs).
    pub districts: u32,
    /// Venues that created a QR code (directive: 191,872 in Hà Nội, 9 Aug 2021).
    pub registered_venues: u32,
    /// Venues that saw at least one scan on one day in 2021 (directive: 14,245), for
    /// the report only: the simulation assumes the directive obeyed (every
    /// registered venue displays its code) unless `scanning_venue_share` says less.
    pub venues_in_use_2021: u32,
    /// Share of registered venues that display a code.
    pub scanning_venue_share: f64,
    /// Share of people with a smartphone (the others are checked in by staff).
    pub smartphone_share: f64,
    /// Share of visits by smartphone owners at which they scan.
    pub scan_rate: f64,
    /// Share of phone check-ins that are checked out on leaving (the others end at
    /// the category's maximum stay).
    pub checkout_rate: f64,
    /// Multiplier on each category's share of venues that print posters.
    pub poster_factor: f64,
    /// First day of the peak week (UTC day number).
    #[serde(serialize_with = "day_number")]
    pub start_day: Day,
    /// Peak days simulated and measured.
    pub days: u32,
    /// Confirmed cases per peak day.
    pub cases_per_day: u32,
    /// Share of confirmed cases with a phone who consent to upload.
    pub consent_rate: f64,
    /// Share of uploads made the day after the test (the rest the same day).
    pub next_day_upload_share: f64,
    /// Days of check-ins the HA asks a case for (`report_days` of an auth code).
    pub report_days: u32,
    /// Minutes the HA adds before arrival and after departure.
    pub buffer_minutes: u32,
    /// Minimum keys per bulletin (the server's `min_bulletin_keys`, 256).
    pub min_bulletin_keys: usize,
    /// Phones drawn at random whose matching is timed with the real matcher.
    pub sample_random: usize,
    /// Phones drawn among those who truly shared a place and time with a case.
    pub sample_exposed: usize,
    /// Phones drawn among those at a traced venue on the same day but not at an
    /// overlapping time (they test false positives).
    pub sample_near: usize,
    /// Phones whose daily candidates are counted against the real bulletins (cost
    /// model for the whole city, calibrated by the timed sample).
    pub model_phones: usize,
    /// Cases per day of the sweep (real notices and bulletins for one day each).
    pub sweep_rates: Vec<u32>,
    /// Phones timed at each sweep rate.
    pub sweep_phones: usize,
    /// Venue counts of the venue sweep, as multiples of `registered_venues`.
    pub venue_factors: Vec<f64>,
}

fn day_number<S: serde::Serializer>(d: &Day, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u32(d.0)
}

/// Vietnam's offset from UTC, seconds (Asia/Ho_Chi_Minh).
pub const LOCAL_OFFSET_SECS: i64 = 7 * 3600;

impl Scenario {
    /// Hà Nội, 17–23 December 2021 at 1,774 cases a day (23 Dec 2021, the city's
    /// record at the time; 12,277 cases over 16–23 Dec), population 8.33 M (2021),
    /// 30 districts, 191,872 registered venues.
    pub fn hanoi_2021() -> Scenario {
        Scenario {
            name: "hanoi-2021".into(),
            title: "Hà Nội, peak week of December 2021".into(),
            seed: 20_211_217,
            population: 8_330_800,
            districts: 30,
            registered_venues: 191_872,
            venues_in_use_2021: 14_245,
            smartphone_share: 0.745,
            start_day: Day(18_978),
            cases_per_day: 1_774,
            ..Scenario::defaults()
        }
    }

    /// Hồ Chí Minh City, 4–10 September 2021 at 7,310 cases a day (7 Sep 2021),
    /// population 9,166,800 (2021), 22 districts; registered venues assumed in
    /// proportion to Hà Nội's per person (no published figure found).
    pub fn hcmc_2021() -> Scenario {
        let population = 9_166_800u32;
        let venues = (191_872.0 * f64::from(population) / 8_330_800.0).round() as u32;
        Scenario {
            name: "hcmc-2021".into(),
            title: "Hồ Chí Minh City, peak week of September 2021".into(),
            seed: 20_210_904,
            population,
            districts: 22,
            registered_venues: venues,
            venues_in_use_2021: (14_245.0 * f64::from(population) / 8_330_800.0).round() as u32,
            smartphone_share: 0.757,
            start_day: Day(18_874),
            cases_per_day: 7_310,
            ..Scenario::defaults()
        }
    }

    /// A small town at Hà Nội's rates, for tests and a quick look: under a minute.
    pub fn small() -> Scenario {
        Scenario {
            name: "small".into(),
            title: "Small town (20,000 people) at Hà Nội's December 2021 case rate".into(),
            seed: 11,
            population: 20_000,
            districts: 3,
            registered_venues: 461,
            venues_in_use_2021: 34,
            smartphone_share: 0.745,
            start_day: Day(18_978),
            days: 2,
            // Hà Nội's 1,774/day per 8.33 M people, times 5 so a small town has
            // enough cases to test anything.
            cases_per_day: 21,
            sample_random: 4,
            sample_exposed: 6,
            sample_near: 3,
            model_phones: 2_000,
            sweep_rates: vec![10, 100, 300],
            sweep_phones: 2,
            venue_factors: vec![0.5, 1.0, 2.0],
            ..Scenario::defaults()
        }
    }

    /// The named scenario, if it exists.
    pub fn named(name: &str) -> Option<Scenario> {
        match name {
            "hanoi-2021" => Some(Scenario::hanoi_2021()),
            "hcmc-2021" => Some(Scenario::hcmc_2021()),
            "small" => Some(Scenario::small()),
            _ => None,
        }
    }

    fn defaults() -> Scenario {
        Scenario {
            name: String::new(),
            title: String::new(),
            seed: 1,
            population: 0,
            districts: 1,
            registered_venues: 1,
            venues_in_use_2021: 0,
            scanning_venue_share: 1.0,
            smartphone_share: 0.75,
            scan_rate: 0.9,
            checkout_rate: 0.5,
            poster_factor: 1.0,
            start_day: Day(0),
            days: 7,
            cases_per_day: 0,
            consent_rate: 0.8,
            next_day_upload_share: 0.3,
            report_days: 3,
            buffer_minutes: 30,
            min_bulletin_keys: 256,
            sample_random: 12,
            sample_exposed: 8,
            sample_near: 4,
            model_phones: 20_000,
            sweep_rates: vec![10, 30, 100, 300, 1_000, 3_000, 10_000],
            sweep_phones: 3,
            venue_factors: vec![0.25, 0.5, 1.0, 2.0, 4.0],
        }
    }

    /// Days before the peak whose check-ins cases may still report (report window
    /// plus a day of upload delay plus a day of margin).
    pub fn warmup_days(&self) -> u32 {
        self.report_days + 2
    }

    /// All simulated days with visits: warm-up then peak.
    pub fn visit_days(&self) -> u32 {
        self.warmup_days() + self.days
    }

    /// The UTC day number of simulated day index `i` (0 = first warm-up day).
    pub fn day_number(&self, i: u32) -> u32 {
        self.start_day.0 - self.warmup_days() + i
    }

    /// Unix time of local (UTC+7) midnight starting simulated day `i`.
    pub fn local_midnight(&self, i: u32) -> u64 {
        (i64::from(self.day_number(i)) * 86_400 - LOCAL_OFFSET_SECS) as u64
    }

    /// Whether simulated day `i` is a measured peak day.
    pub fn is_peak(&self, i: u32) -> bool {
        i >= self.warmup_days() && i < self.visit_days()
    }
}
