//! One run: phase 1 (synthetic city and ground truth), phase 2 (the real code),
//! the comparison, the cost model, the sweeps, the report.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Instant;

use quet_protocol::bulletin::{Bulletin, ChainState};
use quet_protocol::envelope::{REPORT_ENVELOPE_COUNT, ReportEnvelope};
use quet_protocol::matching::Matcher;
use quet_protocol::notice::{ExposureNotice, entry_len};
use quet_protocol::time::{Epoch, EpochKind, UnixTime};

use crate::SimError;
use crate::authority::{Ha, HaTimes, Trace};
use crate::baselines::{self, References};
use crate::cases::Cases;
use crate::city::City;
use crate::phones::{Phone, Venues};
use crate::rng::{SimRng, Stream};
use crate::scenario::Scenario;
use crate::truth::{self, CaseVisit, CityCounts};

/// Bytes a CrowdNotifier-style bulletin spends per published (venue, hour) key.
pub const CROWDNOTIFIER_BYTES_PER_KEY: u64 = 80;
/// Local hour at which phones sync (after the HA's 20:00–21:00 publication).
pub const SYNC_HOUR: u64 = 21;

/// A peak day's sync time, keys per epoch (all, decoys included) and real hour
/// keys per epoch (what a CrowdNotifier-style system would publish).
type DayHistogram = (u64, HashMap<Epoch, u64>, HashMap<Epoch, u64>);

/// One measured peak day.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct DayReport {
    /// Local date, `YYYY-MM-DD`.
    pub date: String,
    /// Cases confirmed that day.
    pub cases: u64,
    /// Uploads processed that day.
    pub uploads: u64,
    /// Bulletins published that day.
    pub bulletins: u64,
    /// Their bytes: what every phone downloads that day.
    pub bytes: u64,
    /// Published keys (real and decoy).
    pub keys: u64,
    /// Real published keys.
    pub real_keys: u64,
    /// Real keys of hour epochs (screen codes).
    pub real_hour_keys: u64,
    /// Real keys of day epochs published for venues that never print posters: no
    /// phone holds a day token there, so these bytes reach nobody (protocol 1.0
    /// publishes both kinds for every trace).
    pub unusable_day_keys: u64,
    /// Real notices.
    pub real_notices: u64,
    /// Decoy notices.
    pub decoy_notices: u64,
    /// The HA's CPU time that day.
    pub ha: HaTimes,
    /// Seconds one phone spends verifying and parsing the day's bulletins.
    pub phone_verify_secs: f64,
    /// Matching seconds of each timed phone (real matcher, one thread).
    pub match_secs: Vec<f64>,
    /// Candidates (trial-opens) of each timed phone.
    pub candidates: Vec<u64>,
    /// Modelled matching seconds for the model phones (candidates × measured cost).
    pub model_match_secs: Vec<f64>,
    /// CrowdNotifier model: pairing candidates for the model phones.
    pub cn_candidates: Vec<u64>,
}

/// The comparison of the real matcher with the ground truth on the sample.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct SampleCheck {
    /// Phones in the sample, by kind.
    pub phones: Vec<(String, usize)>,
    /// Tokens they hold.
    pub tokens: u64,
    /// Ground-truth pairs among them.
    pub truth_pairs: u64,
    /// Pairs the real matcher alerted.
    pub matched_pairs: u64,
    /// Ground truth the matcher missed.
    pub false_negatives: u64,
    /// Matches without a true overlap.
    pub false_positives: u64,
    /// Of which explained by the buffer.
    pub fp_buffer: u64,
    /// Of which explained by a missing check-out.
    pub fp_no_checkout: u64,
    /// Of which unexplained.
    pub fp_unexplained: u64,
    /// Pairs where the real matcher and the city-wide model disagree (must be 0).
    pub model_disagreements: u64,
}

/// One point of the cases-per-day sweep.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct SweepPoint {
    /// Confirmed cases per day.
    pub cases_per_day: u32,
    /// Venue traces published that day.
    pub traces: u64,
    /// Bulletins.
    pub bulletins: u64,
    /// Bytes every phone downloads.
    pub bytes: u64,
    /// Published keys (with decoys).
    pub keys: u64,
    /// Real keys.
    pub real_keys: u64,
    /// Real hour keys (what a CrowdNotifier-style system would publish).
    pub real_hour_keys: u64,
    /// Median matching seconds of the timed phones.
    pub match_secs_median: f64,
    /// Median candidates of the timed phones.
    pub candidates_median: u64,
    /// Median pairing candidates (CrowdNotifier model) of the timed phones.
    pub cn_candidates_median: u64,
    /// The HA's CPU seconds for the traces and publications.
    pub ha_secs: f64,
}

/// One point of the venue sweep (a tenth-size city, venues scaled by `factor`).
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct VenuePoint {
    /// Venues in the tenth-size city.
    pub venues: u32,
    /// Multiple of the scenario's venue density.
    pub factor: f64,
    /// Cases.
    pub cases: u64,
    /// True (phone) exposures per case.
    pub exposed_per_case: f64,
    /// Alerts per case.
    pub alerts_per_case: f64,
    /// Quét learners (PL2) per case.
    pub learners_quet_per_case: f64,
    /// Static-code learners, same day, per case.
    pub learners_static_per_case: f64,
    /// Real published keys per case.
    pub keys_per_case: f64,
}

/// Everything a run measured.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RunReport {
    /// The scenario.
    pub scenario: Scenario,
    /// Reference operations.
    pub references: References,
    /// City-wide counts (ground truth and model).
    pub counts: CityCounts,
    /// Peak days.
    pub days: Vec<DayReport>,
    /// Real matcher vs ground truth.
    pub sample: SampleCheck,
    /// Seconds per candidate, measured on the sample.
    pub secs_per_candidate: f64,
    /// The cases-per-day sweep.
    pub sweep: Vec<SweepPoint>,
    /// The venue sweep.
    pub venue_sweep: Vec<VenuePoint>,
    /// Phones in the city (people with a smartphone).
    pub phones_in_city: u64,
    /// Envelopes left on the server at the end (must be 0).
    pub envelopes_left: i64,
    /// Seconds per durable SQLite commit on the output directory's disk (the run's
    /// own database is on tmpfs when available).
    pub disk_commit_secs: f64,
    /// Where the run's HA database was.
    pub db_dir: String,
    /// Wall-clock seconds of each phase.
    pub phase_secs: Vec<(String, f64)>,
}

/// `YYYY-MM-DD` of a day number (days since 1970-01-01).
pub fn date_of(day: u32) -> String {
    // Civil-from-days (proleptic Gregorian).
    let z = i64::from(day) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn log(quiet: bool, msg: impl AsRef<str>) {
    if !quiet {
        eprintln!("[quet-sim] {}", msg.as_ref());
    }
}

/// Whether an epoch kind counts days (posters).
fn is_day(kind: EpochKind) -> bool {
    matches!(kind, EpochKind::Day | EpochKind::LocalDay)
}

/// Where the simulated HA keeps its database: tmpfs (`/dev/shm`) when there is one,
/// so that a week of a city's durable commits fits the run's time budget; the cost
/// of a durable commit on the output's disk is measured separately
/// (`RunReport::disk_commit_secs`) and added where it matters.
fn db_base(out: &Path) -> std::path::PathBuf {
    let shm = Path::new("/dev/shm");
    if std::env::var_os("QUET_SIM_DB_ON_DISK").is_none()
        && shm.is_dir()
        && tempfile::tempdir_in(shm).is_ok()
    {
        shm.to_path_buf()
    } else {
        out.to_path_buf()
    }
}

/// Notices published in one bulletin, with what the run knows about them.
struct Published {
    notices: Vec<ExposureNotice>,
}

/// Runs `s` and writes the report and plots into `out`.
pub fn run(s: &Scenario, out: &Path, quiet: bool) -> Result<RunReport, SimError> {
    std::fs::create_dir_all(out)?;
    let mut phase_secs = Vec::new();
    let t = Instant::now();
    let references = baselines::measure();
    phase_secs.push(("reference operations".to_owned(), t.elapsed().as_secs_f64()));
    log(
        quiet,
        format!(
            "references: X25519 {:.1} µs, Ed25519 verify {:.1} µs, BLS12-381 pairing {:.0} µs",
            references.x25519 * 1e6,
            references.ed25519_verify * 1e6,
            references.pairing * 1e6
        ),
    );

    // Phase 1: the synthetic city and the ground truth.
    let t = Instant::now();
    let city = City::new(s, 1.0);
    let cases = Cases::draw(s, &city, s.cases_per_day);
    let cap = 4 * s.sample_exposed.max(s.sample_near).max(1);
    let truth = truth::compute(s, &city, &cases, cap);
    phase_secs.push((
        "phase 1: city and ground truth".to_owned(),
        t.elapsed().as_secs_f64(),
    ));
    log(
        quiet,
        format!(
            "phase 1: {} people, {} venues, {} visits ({} by phone), {} cases, {} reported check-ins, {} true exposures, in {:.1} s",
            s.population,
            city.venue_count(),
            truth.counts.visits,
            truth.counts.phone_visits,
            truth.counts.cases,
            truth.counts.reported_visits,
            truth.counts.exposed_pairs,
            t.elapsed().as_secs_f64()
        ),
    );

    // Phase 2: the real code.
    let t = Instant::now();
    let disk_commit_secs = crate::authority::durable_commit_secs(out, 100)?;
    let work = tempfile::tempdir_in(db_base(out))?;
    // The authority was set up a week before the first simulated day.
    let init_at = s.local_midnight(0).saturating_sub(7 * 86_400);
    let mut ha = Ha::create(
        work.path(),
        init_at,
        0x0000_1021,
        "Sở Y tế (mô phỏng)",
        s.min_bulletin_keys,
        s.buffer_minutes,
    )?;
    let descriptor = ha.authority.descriptor.clone();
    let mut venues = Venues::new(s);
    let padding: Vec<ReportEnvelope> = (0..REPORT_ENVELOPE_COUNT)
        .map(|_| {
            ReportEnvelope::padding(
                &mut venues.rng,
                &descriptor,
                UnixTime(s.local_midnight(s.warmup_days())),
            )
        })
        .collect::<Result<_, _>>()?;
    let phones = sample_phones(s, &city, &cases, &truth, &mut venues, &descriptor)?;
    phase_secs.push((
        "phase 2: sampled phones check in".to_owned(),
        t.elapsed().as_secs_f64(),
    ));
    log(
        quiet,
        format!(
            "phase 2: {} sampled phones hold {} tokens",
            phones.len(),
            phones.iter().map(|p| p.tokens.len()).sum::<usize>()
        ),
    );

    let t = Instant::now();
    let mut by_case: HashMap<u32, Vec<&CaseVisit>> = HashMap::new();
    for cv in &truth.case_visits {
        by_case.entry(cv.case).or_default().push(cv);
    }
    let mut uploads: Vec<(u64, u32)> = cases
        .list
        .iter()
        .filter_map(|c| c.upload_at.map(|u| (u, c.id)))
        .collect();
    uploads.sort_unstable();
    let mut next_upload = 0usize;
    let mut nonce_to_visit: HashMap<[u8; 16], u32> = HashMap::new();
    let mut chain: Option<ChainState> = None;
    let mut pending: Vec<Published> = Vec::new();
    let mut matched: HashSet<(usize, u64, u32)> = HashSet::new();
    let mut days: Vec<DayReport> = Vec::new();
    let mut secs_total = 0.0;
    let mut cands_total = 0u64;
    let mut model_hist: Vec<DayHistogram> = Vec::new();
    let first_day = s.warmup_days() - 1;
    for day in first_day..=s.visit_days() {
        let mut rep = DayReport {
            date: date_of(s.day_number(day)),
            ..DayReport::default()
        };
        rep.cases = cases.list.iter().filter(|c| c.test_day == day).count() as u64;
        let mut hist_all: HashMap<Epoch, u64> = HashMap::new();
        let mut hist_cn: HashMap<Epoch, u64> = HashMap::new();
        for hour in 0..24u64 {
            let hour_end = s.local_midnight(day) + (hour + 1) * 3_600;
            while let Some(&(at, case)) = uploads.get(next_upload) {
                if at >= hour_end {
                    break;
                }
                next_upload += 1;
                let visits = by_case.get(&case).cloned().unwrap_or_default();
                let mut envelopes = Vec::with_capacity(REPORT_ENVELOPE_COUNT);
                let mut keyed = HashMap::new();
                for cv in visits.iter().take(REPORT_ENVELOPE_COUNT) {
                    envelopes.push(venues.envelope(s, &city, &descriptor, cv.day, &cv.visit)?);
                    keyed.insert(truth::unix_times(s, cv.day, &cv.visit).0, cv.id);
                }
                envelopes.extend(
                    padding
                        .iter()
                        .take(REPORT_ENVELOPE_COUNT - envelopes.len())
                        .cloned(),
                );
                let receipt = format!("case-{case}");
                ha.upload(at, s.report_days, &envelopes, &receipt)?;
                rep.uploads += 1;
                for a in ha.approve_all(at)? {
                    let cv = a
                        .item
                        .receipt
                        .strip_prefix("case-")
                        .and_then(|c| c.parse::<u32>().ok())
                        .filter(|c| *c == case)
                        .and_then(|_| keyed.get(&a.item.arrival).copied())
                        .ok_or_else(|| {
                            SimError::Server(format!(
                                "review {} matches no reported check-in",
                                a.item.id
                            ))
                        })?;
                    for e in truth::crowdnotifier_hours(s, &city, &truth.case_visits[cv as usize]) {
                        rep.real_hour_keys += 1;
                        *hist_cn.entry(e).or_default() += 1;
                    }
                    for n in &a.notices {
                        let bytes = data_encoding::HEXLOWER
                            .decode(n.as_bytes())
                            .ok()
                            .and_then(|b| <[u8; 16]>::try_from(b).ok())
                            .ok_or_else(|| {
                                SimError::Server("notice id is not 32 hex digits".into())
                            })?;
                        nonce_to_visit.insert(bytes, cv);
                    }
                }
            }
            if let Some(stored) = ha.publish_if_queued(hour_end)? {
                let t_verify = Instant::now();
                let b = Bulletin::verify_next(
                    &stored.bytes,
                    &descriptor,
                    chain.as_ref(),
                    UnixTime(hour_end),
                )?;
                rep.phone_verify_secs += t_verify.elapsed().as_secs_f64();
                chain = Some(b.chain_state());
                rep.bulletins += 1;
                rep.bytes += stored.bytes.len() as u64;
                for n in &b.notices {
                    let keys = n.key_count() as u64;
                    rep.keys += keys;
                    for (_, e, _) in n.keys() {
                        *hist_all.entry(e).or_default() += 1;
                    }
                    if let Some(cv) = nonce_to_visit.get(&n.nonce) {
                        rep.real_notices += 1;
                        rep.real_keys += keys;
                        let venue = truth.case_visits[*cv as usize].visit.venue;
                        for (_, e, _) in n.keys() {
                            if is_day(e.kind) && !city.prints_posters(venue) {
                                rep.unusable_day_keys += 1;
                            }
                        }
                    } else {
                        rep.decoy_notices += 1;
                    }
                }
                pending.push(Published { notices: b.notices });
            }
            if hour + 1 == SYNC_HOUR {
                // Every sampled phone syncs: the day's bulletins, matched on one thread.
                let now = hour_end;
                let notices: Vec<&ExposureNotice> =
                    pending.iter().flat_map(|p| p.notices.iter()).collect();
                // Two phones at a time, one thread each (each phone's time is its own
                // thread's wall time).
                let results = std::thread::scope(|sc| {
                    let (a, b) = phones.split_at(phones.len() / 2);
                    let other = sc.spawn(|| sync_phones(a, 0, &notices, now));
                    let mine = sync_phones(b, a.len(), &notices, now);
                    let mut all = other.join().unwrap_or_default();
                    all.extend(mine);
                    all
                });
                for (j, secs, candidates, found) in results {
                    for (token, nonce) in found {
                        if let Some(cv) = nonce_to_visit.get(&nonce) {
                            matched.insert((j, token, *cv));
                        }
                    }
                    if s.is_peak(day) {
                        rep.match_secs.push(secs);
                        rep.candidates.push(candidates);
                        secs_total += secs;
                        cands_total += candidates;
                    }
                }
                pending.clear();
                if s.is_peak(day) {
                    model_hist.push((
                        now,
                        std::mem::take(&mut hist_all),
                        std::mem::take(&mut hist_cn),
                    ));
                }
            }
        }
        rep.ha = ha.take_times();
        if s.is_peak(day) {
            log(
                quiet,
                format!(
                    "{}: {} cases, {} uploads, {} bulletins, {:.1} MB, {} keys ({} real); HA {:.1} s",
                    rep.date,
                    rep.cases,
                    rep.uploads,
                    rep.bulletins,
                    rep.bytes as f64 / 1e6,
                    rep.keys,
                    rep.real_keys,
                    rep.ha.total().as_secs_f64()
                ),
            );
            days.push(rep);
        }
    }
    let envelopes_left = ha.pending_envelopes()?;
    phase_secs.push((
        "phase 2: uploads, reviews, bulletins, matching".to_owned(),
        t.elapsed().as_secs_f64(),
    ));

    let sample = check_sample(s, &city, &truth, &phones, &matched);
    let secs_per_candidate = if cands_total > 0 {
        secs_total / cands_total as f64
    } else {
        f64::NAN
    };

    // City-wide cost model: the model phones' candidates against the real bulletins.
    let t = Instant::now();
    model_costs(s, &city, &cases, &model_hist, secs_per_candidate, &mut days);
    phase_secs.push((
        "cost model over the city".to_owned(),
        t.elapsed().as_secs_f64(),
    ));

    let t = Instant::now();
    let sweep_phones: Vec<&Phone> = phones
        .iter()
        .filter(|p| p.kind == "random")
        .take(s.sweep_phones)
        .collect();
    let sweep = sweep(s, &city, &mut venues, &sweep_phones, out, quiet)?;
    phase_secs.push(("cases-per-day sweep".to_owned(), t.elapsed().as_secs_f64()));
    let t = Instant::now();
    let venue_sweep = venue_sweep(s);
    phase_secs.push(("venue sweep".to_owned(), t.elapsed().as_secs_f64()));

    let phones_in_city = (0..s.population)
        .filter(|p| city.person(*p).smartphone)
        .count() as u64;
    Ok(RunReport {
        scenario: s.clone(),
        references,
        counts: truth.counts,
        days,
        sample,
        secs_per_candidate,
        sweep,
        venue_sweep,
        phones_in_city,
        envelopes_left,
        disk_commit_secs,
        db_dir: db_base(out).display().to_string(),
        phase_secs,
    })
}

/// One sync of `phones` (indices from `first`): (index, seconds, candidates,
/// matches as (token id, notice nonce)).
#[allow(clippy::type_complexity)]
fn sync_phones(
    phones: &[Phone],
    first: usize,
    notices: &[&ExposureNotice],
    now: u64,
) -> Vec<(usize, f64, u64, Vec<(u64, [u8; 16])>)> {
    phones
        .iter()
        .enumerate()
        .map(|(i, phone)| {
            let t = Instant::now();
            let matcher = Matcher::new(phone.tokens_at(now));
            let found = matcher.match_notices(notices.iter().copied());
            let secs = t.elapsed().as_secs_f64();
            let candidates = matcher.candidate_count(notices.iter().copied()) as u64;
            (
                first + i,
                secs,
                candidates,
                found
                    .into_iter()
                    .map(|e| (e.token_id, e.notice_nonce))
                    .collect(),
            )
        })
        .collect()
}

/// Chooses and builds the sampled phones: random smartphone owners, truly exposed
/// people and people at a traced venue on the same day without a true overlap.
fn sample_phones(
    s: &Scenario,
    city: &City,
    cases: &Cases,
    truth: &truth::Truth,
    venues: &mut Venues,
    descriptor: &quet_protocol::authority::AuthorityDescriptor,
) -> Result<Vec<Phone>, SimError> {
    let mut chosen: Vec<(u32, &'static str)> = Vec::new();
    let mut taken = HashSet::new();
    let eligible = |p: u32| !cases.by_person.contains_key(&p) && city.person(p).smartphone;
    let mut r = SimRng::stream(s.seed, Stream::Sample, 2, 0);
    let mut tries = 0;
    while chosen.iter().filter(|c| c.1 == "random").count() < s.sample_random && tries < 100_000 {
        tries += 1;
        let p = r.below(u64::from(s.population)) as u32;
        if eligible(p) && taken.insert(p) {
            chosen.push((p, "random"));
        }
    }
    for (pool, kind, n) in [
        (&truth.reservoirs.exposed, "exposed", s.sample_exposed),
        (&truth.reservoirs.near, "near", s.sample_near),
    ] {
        let mut added = 0;
        for p in pool {
            if added < n && eligible(*p) && taken.insert(*p) {
                chosen.push((*p, kind));
                added += 1;
            }
        }
    }
    chosen
        .into_iter()
        .map(|(p, kind)| Phone::build(s, city, venues, descriptor, p, kind))
        .collect()
}

/// The real matcher's pairs against the ground truth and the model, on the sample.
fn check_sample(
    s: &Scenario,
    city: &City,
    truth: &truth::Truth,
    phones: &[Phone],
    matched: &HashSet<(usize, u64, u32)>,
) -> SampleCheck {
    let mut by_venue_day: HashMap<(u32, u32), Vec<&CaseVisit>> = HashMap::new();
    for cv in &truth.case_visits {
        by_venue_day
            .entry((cv.day, cv.visit.venue))
            .or_default()
            .push(cv);
    }
    let mut c = SampleCheck::default();
    let mut kinds: HashMap<&str, usize> = HashMap::new();
    let mut truth_set = HashSet::new();
    let mut model_set = HashSet::new();
    for (j, phone) in phones.iter().enumerate() {
        *kinds.entry(phone.kind).or_default() += 1;
        c.tokens += phone.tokens.len() as u64;
        for (k, (day, v, _)) in phone.visits.iter().enumerate() {
            for cv in by_venue_day.get(&(*day, v.venue)).into_iter().flatten() {
                if cv.visit.person == v.person {
                    continue;
                }
                let key = (j, k as u64, cv.id);
                if v.arrival < cv.visit.departure && cv.visit.arrival < v.departure {
                    truth_set.insert(key);
                }
                let (window, exact) = truth::published(s, city, cv);
                let (a, d) = truth::unix_times(s, *day, v);
                if truth::epoch_published(truth::token_epoch(s, city, *day, v), &window)
                    && a < exact.1
                    && d > exact.0
                {
                    model_set.insert(key);
                }
            }
        }
    }
    c.phones = kinds.into_iter().map(|(k, n)| (k.to_owned(), n)).collect();
    c.phones.sort();
    c.truth_pairs = truth_set.len() as u64;
    c.matched_pairs = matched.len() as u64;
    c.false_negatives = truth_set.difference(matched).count() as u64;
    c.model_disagreements = model_set.symmetric_difference(matched).count() as u64;
    for key in matched.difference(&truth_set) {
        c.false_positives += 1;
        let (_, v, _) = phones[key.0].visits[key.1 as usize];
        let cv = truth.case_visits[key.2 as usize].visit;
        match truth::false_positive_cause(&v, &cv, s.buffer_minutes) {
            truth::FpCause::Buffer => c.fp_buffer += 1,
            truth::FpCause::NoCheckout => c.fp_no_checkout += 1,
            truth::FpCause::Unexplained => c.fp_unexplained += 1,
        }
    }
    c
}

/// Candidates of `model_phones` random phones against each peak day's real key
/// histogram; matching time = candidates × the sample's measured cost per
/// candidate; CrowdNotifier candidates = real hour keys × the phone's check-ins of
/// that hour.
fn model_costs(
    s: &Scenario,
    city: &City,
    cases: &Cases,
    hist: &[DayHistogram],
    secs_per_candidate: f64,
    days: &mut [DayReport],
) {
    let mut r = SimRng::stream(s.seed, Stream::Sample, 3, 0);
    let mut buf = Vec::new();
    let mut done = 0;
    let mut tries = 0;
    while done < s.model_phones && tries < 50 * s.model_phones.max(1) {
        tries += 1;
        let p = r.below(u64::from(s.population)) as u32;
        if cases.by_person.contains_key(&p) || !city.person(p).smartphone {
            continue;
        }
        done += 1;
        let mut tokens: Vec<(u64, Epoch, Epoch)> = Vec::new();
        for day in 0..s.visit_days() {
            buf.clear();
            city.day_visits(p, day, truth::weekday(s, day), &mut buf);
            for v in buf.iter().filter(|v| v.by_phone()) {
                let (a, _) = truth::unix_times(s, day, v);
                let hour = Epoch {
                    kind: EpochKind::SeededHour,
                    index: (a / 3_600) as u32,
                };
                tokens.push((a, truth::token_epoch(s, city, day, v), hour));
            }
        }
        for (rep, (now, all, cn)) in days.iter_mut().zip(hist) {
            let held = tokens
                .iter()
                .filter(|(a, _, _)| a <= now && a + 14 * 86_400 > *now);
            let (mut cand, mut cn_cand) = (0u64, 0u64);
            for (_, e, h) in held {
                cand += all.get(e).copied().unwrap_or(0);
                cn_cand += cn.get(h).copied().unwrap_or(0);
            }
            rep.model_match_secs.push(cand as f64 * secs_per_candidate);
            rep.cn_candidates.push(cn_cand);
        }
    }
}

/// Cases-per-day sweep: for each rate, one day of real venue traces (the HA's
/// tracing-sheet path builds the same notices as an approval), real bulletins, and
/// the timed phones matching them.
fn sweep(
    s: &Scenario,
    city: &City,
    venues: &mut Venues,
    phones: &[&Phone],
    out: &Path,
    quiet: bool,
) -> Result<Vec<SweepPoint>, SimError> {
    let mut points = Vec::new();
    let day = s.warmup_days();
    for &rate in &s.sweep_rates {
        let cases = Cases::draw(s, city, rate);
        let case_visits = truth::reported_visits(s, city, &cases).0;
        let work = tempfile::tempdir_in(db_base(out))?;
        let mut ha = Ha::create(
            work.path(),
            s.local_midnight(0).saturating_sub(7 * 86_400),
            0x0000_1021,
            "Sở Y tế (mô phỏng)",
            s.min_bulletin_keys,
            s.buffer_minutes,
        )?;
        let descriptor = ha.authority.descriptor.clone();
        let mut upload_of: HashMap<u32, u64> = HashMap::new();
        for c in &cases.list {
            if let Some(u) = c.upload_at {
                upload_of.insert(c.id, u);
            }
        }
        let start = s.local_midnight(day);
        let mut by_hour: Vec<Vec<&CaseVisit>> = vec![Vec::new(); 24];
        for cv in &case_visits {
            if let Some(u) = upload_of.get(&cv.case)
                && *u >= start
                && *u < start + 86_400
            {
                by_hour[((u - start) / 3_600) as usize].push(cv);
            }
        }
        let mut p = SweepPoint {
            cases_per_day: rate,
            ..SweepPoint::default()
        };
        let mut notices: Vec<ExposureNotice> = Vec::new();
        let mut real: HashSet<[u8; 16]> = HashSet::new();
        let mut chain: Option<ChainState> = None;
        let mut hour_keys: HashMap<Epoch, u64> = HashMap::new();
        for (hour, cvs) in by_hour.iter().enumerate() {
            let now = start + (hour as u64 + 1) * 3_600;
            let mut traces = Vec::with_capacity(cvs.len());
            for cv in cvs {
                let (a, d) = truth::unix_times(s, cv.day, &cv.visit);
                let max_stay = u64::from(
                    city.profile(cv.visit.venue)
                        .category
                        .default_max_stay_minutes(),
                );
                let posters = city.prints_posters(cv.visit.venue);
                traces.push(Trace {
                    sheet: venues.master(cv.visit.venue).to_sheet_text(),
                    screen: !posters,
                    posters,
                    start: a.min(now),
                    // The trace endpoint refuses a window reaching past `now` (a
                    // phone that did not check out records up to the maximum stay,
                    // which may end after the upload); staff enter the window up to now.
                    end: d.min(now),
                    max_stay_minutes: max_stay,
                });
                for e in truth::crowdnotifier_hours(s, city, cv) {
                    p.real_hour_keys += 1;
                    *hour_keys.entry(e).or_default() += 1;
                }
            }
            for id in ha.trace_batch(&traces, now)? {
                if let Some(b) = data_encoding::HEXLOWER
                    .decode(id.as_bytes())
                    .ok()
                    .and_then(|b| <[u8; 16]>::try_from(b).ok())
                {
                    real.insert(b);
                }
            }
            p.traces += traces.len() as u64;
            if let Some(stored) = ha.publish_if_queued(now)? {
                let b = Bulletin::verify_next(
                    &stored.bytes,
                    &descriptor,
                    chain.as_ref(),
                    UnixTime(now),
                )?;
                chain = Some(b.chain_state());
                p.bulletins += 1;
                p.bytes += stored.bytes.len() as u64;
                notices.extend(b.notices);
            }
        }
        for n in &notices {
            p.keys += n.key_count() as u64;
            if real.contains(&n.nonce) {
                p.real_keys += n.key_count() as u64;
            }
        }
        p.ha_secs = ha.take_times().total().as_secs_f64();
        let now = start + SYNC_HOUR * 3_600;
        let mut secs = Vec::new();
        let mut cands = Vec::new();
        let mut cn = Vec::new();
        for phone in phones {
            let t = Instant::now();
            let matcher = Matcher::new(phone.tokens_at(now));
            cands.push(matcher.candidate_count(notices.iter()) as u64);
            let _ = matcher.match_notices(notices.iter());
            secs.push(t.elapsed().as_secs_f64());
            cn.push(
                phone
                    .visits
                    .iter()
                    .filter(|(_, _, a)| *a <= now && a + 14 * 86_400 > now)
                    .map(|(_, _, a)| {
                        hour_keys
                            .get(&Epoch {
                                kind: EpochKind::SeededHour,
                                index: (a / 3_600) as u32,
                            })
                            .copied()
                            .unwrap_or(0)
                    })
                    .sum(),
            );
        }
        p.match_secs_median = percentile_f64(&secs, 50.0);
        p.candidates_median = percentile_u64(&cands, 50.0);
        p.cn_candidates_median = percentile_u64(&cn, 50.0);
        log(
            quiet,
            format!(
                "sweep {rate} cases/day: {} traces, {:.2} MB, {} keys, matching {:.3} s",
                p.traces,
                p.bytes as f64 / 1e6,
                p.keys,
                p.match_secs_median
            ),
        );
        points.push(p);
    }
    Ok(points)
}

/// The venue sweep on a tenth-size city: the same people per venue at factor 1.
fn venue_sweep(s: &Scenario) -> Vec<VenuePoint> {
    let mut small = s.clone();
    small.population = (s.population / 10).max(2_000);
    let scale = f64::from(small.population) / f64::from(s.population.max(1));
    small.registered_venues = ((f64::from(s.registered_venues) * scale).round() as u32).max(50);
    small.days = s.days.min(2);
    let per_day = ((f64::from(s.cases_per_day) * scale).round() as u32).max(3);
    s.venue_factors
        .iter()
        .map(|&factor| {
            let city = City::new(&small, factor);
            let cases = Cases::draw(&small, &city, per_day);
            let t = truth::compute(&small, &city, &cases, 1);
            let n = t.counts.cases.max(1) as f64;
            let keys: u64 = t
                .case_visits
                .iter()
                .map(|cv| {
                    let (segments, _) = truth::published(&small, &city, cv);
                    segments.iter().map(|seg| seg.len() as u64).sum::<u64>()
                })
                .sum();
            VenuePoint {
                venues: city.venue_count(),
                factor,
                cases: t.counts.cases,
                exposed_per_case: t.counts.exposed_pairs as f64 / n,
                alerts_per_case: t.counts.alerted_pairs as f64 / n,
                learners_quet_per_case: t.counts.learners_quet as f64 / n,
                learners_static_per_case: t.counts.learners_static_same_day as f64 / n,
                keys_per_case: keys as f64 / n,
            }
        })
        .collect()
}

/// Nearest-rank percentile of `v` (0 if empty).
pub fn percentile_f64(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * s.len() as f64).ceil().max(1.0) as usize;
    s[rank.min(s.len()) - 1]
}

/// Nearest-rank percentile of `v` (0 if empty).
pub fn percentile_u64(v: &[u64], p: f64) -> u64 {
    if v.is_empty() {
        return 0;
    }
    let mut s = v.to_vec();
    s.sort_unstable();
    let rank = ((p / 100.0) * s.len() as f64).ceil().max(1.0) as usize;
    s[rank.min(s.len()) - 1]
}

/// Bytes of a CrowdNotifier-style bulletin for `hour_keys` keys.
pub fn crowdnotifier_bytes(hour_keys: u64) -> u64 {
    hour_keys * CROWDNOTIFIER_BYTES_PER_KEY
}

/// Bytes per published key on the wire for protocol 1.1 screen codes (seed and wrap).
pub fn entry_bytes() -> u64 {
    entry_len(EpochKind::SeededHour) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::city::{PHONE, Visit};
    use crate::truth::Truth;

    fn visit(person: u32, arrival: u16, departure: u16) -> Visit {
        Visit {
            venue: 0,
            person,
            arrival,
            departure,
            recorded_departure: departure,
            flags: PHONE,
        }
    }

    /// The comparison itself can fail: a missed true overlap is a false negative, a
    /// match nobody can explain is counted as such.
    #[test]
    fn sample_check_counts_misses_and_unexplained_matches() {
        let s = Scenario::small();
        let city = City::new(&s, 1.0);
        let case = visit(1, 600, 700);
        let truth = Truth {
            case_visits: vec![CaseVisit {
                id: 0,
                case: 0,
                day: 3,
                visit: case,
                upload_at: s.local_midnight(4) + 9 * 3_600,
            }],
            ..Truth::default()
        };
        let phone = Phone {
            person: 2,
            kind: "exposed",
            tokens: Vec::new(),
            visits: vec![(3, visit(2, 650, 800), 0), (3, visit(2, 760, 800), 0)],
        };
        let phones = vec![phone];
        let missed = check_sample(&s, &city, &truth, &phones, &HashSet::new());
        assert_eq!((missed.truth_pairs, missed.false_negatives), (1, 1));
        let right: HashSet<(usize, u64, u32)> = [(0, 0, 0)].into_iter().collect();
        let ok = check_sample(&s, &city, &truth, &phones, &right);
        assert_eq!((ok.false_negatives, ok.false_positives), (0, 0));
        let wrong: HashSet<(usize, u64, u32)> = [(0, 0, 0), (0, 1, 0)].into_iter().collect();
        let bad = check_sample(&s, &city, &truth, &phones, &wrong);
        assert_eq!((bad.false_positives, bad.fp_unexplained), (1, 1));
        assert!(bad.model_disagreements >= 1);
    }

    #[test]
    fn dates_and_percentiles() {
        assert_eq!(date_of(18_985), "2021-12-24");
        assert_eq!(date_of(18_877), "2021-09-07");
        assert_eq!(percentile_f64(&[3.0, 1.0, 2.0, 4.0], 50.0), 2.0);
        assert_eq!(percentile_u64(&[5, 1, 9], 99.0), 9);
        assert_eq!(percentile_u64(&[], 50.0), 0);
    }
}
