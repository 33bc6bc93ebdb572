//! The ground truth and the city-wide model, computed from the synthetic visits
//! alone, independently of any ciphertext.
//!
//! *Ground truth*: a phone visit is exposed to a reported case visit when both are
//! at the same venue and their **true** stays overlap (`a₁ < d₂ ∧ a₂ < d₁`, minute
//! resolution). That is what "shared a place and time with a case" means; it knows
//! nothing of epochs, buffers or auto check-out.
//!
//! *Model* (for the whole city, where running the real matcher on millions of
//! phones is out of reach): a phone visit is alerted when its token's epoch is one
//! the HA publishes for the case visit (`quet_protocol::notice::trace_windows`, as
//! the server calls it) and its **recorded** stay overlaps the notice's exact
//! window. The real matcher is run on a sample and must agree with this model
//! exactly on that sample (`Run::check`), so the model's city-wide counts stand for
//! the protocol's behaviour.

use std::collections::HashMap;

use quet_protocol::time::{Epoch, EpochKind, UnixTime, UtcOffset};
use quet_server::review::plan_segments;

use crate::cases::Cases;
use crate::city::{City, Visit};
use crate::rng::{SimRng, Stream};
use crate::scenario::Scenario;

/// A code is scanned this many seconds after the display signed it (the display
/// re-signs every 30 s; 29 s is the worst case and moves a scan at hh:00 into the
/// previous hour's epoch, which the HA's window must still cover).
pub const CODE_AGE_SECS: u64 = 29;

/// A case's check-in that its upload carries.
#[derive(Clone, Copy, Debug)]
pub struct CaseVisit {
    /// Index in the list of reported case visits.
    pub id: u32,
    /// The case.
    pub case: u32,
    /// Simulated day.
    pub day: u32,
    /// The visit.
    pub visit: Visit,
    /// When the case uploaded it (the HA approves it then).
    pub upload_at: u64,
}

/// Unix arrival and recorded departure of a visit on simulated day `day`.
pub fn unix_times(s: &Scenario, day: u32, v: &Visit) -> (u64, u64) {
    let m = s.local_midnight(day);
    (
        m + u64::from(v.arrival) * 60,
        m + u64::from(v.recorded_departure) * 60,
    )
}

/// The local time of the simulated cities (and of the authority's descriptor).
pub const OFFSET: UtcOffset = UtcOffset::VIETNAM;

/// The epoch of the token a phone stores for visit `v` on `day`: the seeded hour of
/// the screen code it scanned (signed `CODE_AGE_SECS` before), or the local day of
/// the poster (protocol 1.1 codes).
pub fn token_epoch(s: &Scenario, city: &City, day: u32, v: &Visit) -> Epoch {
    let (arrival, _) = unix_times(s, day, v);
    if city.prints_posters(v.venue) {
        Epoch::containing_with(EpochKind::LocalDay, UnixTime(arrival), OFFSET).unwrap_or(Epoch {
            kind: EpochKind::LocalDay,
            index: 0,
        })
    } else {
        Epoch {
            kind: EpochKind::SeededHour,
            index: ((arrival - CODE_AGE_SECS) / 3_600) as u32,
        }
    }
}

/// The epoch kinds a venue's codes announce (what a trace of it publishes).
pub fn venue_kinds(city: &City, venue: u32) -> Vec<EpochKind> {
    if city.prints_posters(venue) {
        vec![EpochKind::LocalDay]
    } else {
        vec![EpochKind::SeededHour]
    }
}

/// What the HA publishes for a case visit approved at its upload: the segments of
/// epochs and the exact window, from the server's own plan
/// (`quet_server::review::plan_segments`, i.e. `quet_protocol::notice::TracePlan`).
pub fn published(s: &Scenario, city: &City, cv: &CaseVisit) -> (Vec<Vec<Epoch>>, (u64, u64)) {
    let (a, d) = unix_times(s, cv.day, &cv.visit);
    let max_stay = u64::from(
        city.profile(cv.visit.venue)
            .category
            .default_max_stay_minutes(),
    ) * 60;
    match plan_segments(
        a,
        d,
        max_stay,
        u64::from(s.buffer_minutes),
        &venue_kinds(city, cv.visit.venue),
        OFFSET,
        cv.upload_at,
    ) {
        Ok(plan) => (plan.segments, (plan.exact.0.0, plan.exact.1.0)),
        // Inputs are in range by construction; nothing published would show up as
        // false negatives, never hide.
        Err(_) => (Vec::new(), (a, d)),
    }
}

/// The (venue, hour) keys a CrowdNotifier-style system (static codes, hourly
/// identities, no posters) would publish for the same case visit: the hours of the
/// same plan as if the venue showed a screen.
pub fn crowdnotifier_hours(s: &Scenario, city: &City, cv: &CaseVisit) -> Vec<Epoch> {
    let (a, d) = unix_times(s, cv.day, &cv.visit);
    let max_stay = u64::from(
        city.profile(cv.visit.venue)
            .category
            .default_max_stay_minutes(),
    ) * 60;
    plan_segments(
        a,
        d,
        max_stay,
        u64::from(s.buffer_minutes),
        &[EpochKind::SeededHour],
        OFFSET,
        cv.upload_at,
    )
    .map(|plan| plan.segments.into_iter().flatten().collect())
    .unwrap_or_default()
}

/// Whether `epoch` is among the published `segments`.
pub fn epoch_published(epoch: Epoch, segments: &[Vec<Epoch>]) -> bool {
    segments.iter().any(|seg| seg.contains(&epoch))
}

/// Why an alert without a true overlap happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FpCause {
    /// The true stays are within the HA's buffer of each other (the notice's exact
    /// window is `[arrival − buffer, departure + buffer]`, end included to the second).
    Buffer,
    /// Only the recorded stays overlap (with the buffer): a phone did not check out,
    /// so its stay runs to the category's maximum.
    NoCheckout,
    /// Neither: a bug.
    Unexplained,
}

/// Classifies an alert of visitor `v` for case visit `c` that has no true overlap.
pub fn false_positive_cause(v: &Visit, c: &Visit, buffer_minutes: u32) -> FpCause {
    let b = u16::try_from(buffer_minutes).unwrap_or(u16::MAX);
    if v.arrival <= c.departure.saturating_add(b) && c.arrival < v.departure.saturating_add(b) {
        FpCause::Buffer
    } else if v.arrival <= c.recorded_departure.saturating_add(b)
        && c.arrival < v.recorded_departure.saturating_add(b)
    {
        FpCause::NoCheckout
    } else {
        FpCause::Unexplained
    }
}

/// Counts over the whole city.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct CityCounts {
    /// Visits generated, all days.
    pub visits: u64,
    /// Of which scanned with a phone.
    pub phone_visits: u64,
    /// Of which checked in by staff.
    pub assisted_visits: u64,
    /// Cases, and of them the ones that uploaded.
    pub cases: u64,
    /// Cases that uploaded.
    pub uploading_cases: u64,
    /// Check-ins carried by uploads.
    pub reported_visits: u64,
    /// Ground truth: (phone visit, case visit) pairs with overlapping true stays.
    pub exposed_pairs: u64,
    /// Distinct people in those pairs.
    pub exposed_people: u64,
    /// Model alerts: (phone visit, case visit) pairs the protocol notifies.
    pub alerted_pairs: u64,
    /// Ground-truth pairs the model does not alert (must be 0).
    pub model_false_negatives: u64,
    /// Alerts without a true overlap that the 30-minute buffer explains.
    pub fp_buffer: u64,
    /// Alerts without a true overlap explained by a missing check-out (the
    /// recorded stay runs to the maximum stay).
    pub fp_no_checkout: u64,
    /// Alerts explained by neither (must be 0).
    pub fp_unexplained: u64,
    /// Staff-checked-in visitors who truly overlapped a reported case (reached by
    /// the venue's assisted log, not by phones).
    pub assisted_exposed: u64,
    /// True overlaps with the check-ins of cases that did not upload (no system
    /// that needs the case's consent can reach them).
    pub exposed_unreported: u64,
    /// PL2, Quét: phone visits that can open a notice (token in a published epoch)
    /// but are not alerted: they learn that a case was at their venue.
    pub learners_quet: u64,
    /// PL2, Quét, of those: at venues printing posters (day epochs).
    pub learners_quet_poster: u64,
    /// PL2, static code, same day: phone visits at the venue that day, not alerted.
    pub learners_static_same_day: u64,
    /// PL2, static code, whole simulated window before the notice.
    pub learners_static_window: u64,
}

/// Sample candidates kept while scanning the city.
#[derive(Clone, Debug, Default)]
pub struct Reservoirs {
    /// People truly exposed (by phone).
    pub exposed: Vec<u32>,
    /// People at a traced venue-day without a true overlap.
    pub near: Vec<u32>,
    seen_exposed: u64,
    seen_near: u64,
}

impl Reservoirs {
    fn offer(slot: &mut Vec<u32>, seen: &mut u64, cap: usize, r: &mut SimRng, p: u32) {
        *seen += 1;
        if slot.len() < cap {
            slot.push(p);
        } else {
            let j = r.below(*seen) as usize;
            if j < cap {
                slot[j] = p;
            }
        }
    }
}

/// Everything phase 1 produces.
#[derive(Clone, Debug, Default)]
pub struct Truth {
    /// The reported case visits.
    pub case_visits: Vec<CaseVisit>,
    /// City-wide counts.
    pub counts: CityCounts,
    /// Ground-truth pairs per day of the case visit, for the report.
    pub exposed_by_day: Vec<u64>,
    /// Sample candidates.
    pub reservoirs: Reservoirs,
}

/// The weekday of simulated day `i`, 0 = Monday.
pub fn weekday(s: &Scenario, i: u32) -> u32 {
    (s.day_number(i) + 3) % 7
}

/// The check-ins each uploading case reports (scanned by phone, within
/// `report_days` before the upload), and every other check-in of a case by
/// venue-day (those no upload carries).
#[allow(clippy::type_complexity)]
pub fn reported_visits(
    s: &Scenario,
    city: &City,
    cases: &Cases,
) -> (Vec<CaseVisit>, HashMap<(u32, u32), Vec<Visit>>) {
    let mut buf = Vec::new();
    let mut reported = Vec::new();
    let mut unreported: HashMap<(u32, u32), Vec<Visit>> = HashMap::new();
    for c in &cases.list {
        for day in 0..c.test_day.min(s.visit_days()) {
            buf.clear();
            city.day_visits(c.person, day, weekday(s, day), &mut buf);
            for v in &buf {
                let (arrival, _) = unix_times(s, day, v);
                match c.upload_at {
                    Some(up)
                        if v.by_phone()
                            && arrival < up
                            && arrival + u64::from(s.report_days) * 86_400 >= up =>
                    {
                        let id = reported.len() as u32;
                        reported.push(CaseVisit {
                            id,
                            case: c.id,
                            day,
                            visit: *v,
                            upload_at: up,
                        });
                    }
                    _ => unreported.entry((day, v.venue)).or_default().push(*v),
                }
            }
        }
    }
    (reported, unreported)
}

/// Everyone's visits of one day, generated on two threads: scans per venue, the
/// visits at venues `keep` selects (by venue), and (visits, by phone, assisted).
#[allow(clippy::type_complexity)]
fn scan_day(
    s: &Scenario,
    city: &City,
    cases: &Cases,
    day: u32,
    keep: impl Fn(u32) -> bool + Sync,
) -> (Vec<u32>, HashMap<u32, Vec<Visit>>, (u64, u64, u64)) {
    let half = s.population / 2;
    let part = |lo: u32, hi: u32| {
        let mut per_venue = vec![0u32; city.venue_count() as usize];
        let mut buckets: HashMap<u32, Vec<Visit>> = HashMap::new();
        let mut counts = (0u64, 0u64, 0u64);
        let mut buf = Vec::new();
        for p in lo..hi {
            if cases.isolating(p, day) {
                continue;
            }
            buf.clear();
            city.day_visits(p, day, weekday(s, day), &mut buf);
            for v in &buf {
                counts.0 += 1;
                if v.by_phone() {
                    counts.1 += 1;
                    per_venue[v.venue as usize] += 1;
                } else if v.flags & crate::city::ASSISTED != 0 {
                    counts.2 += 1;
                }
                if keep(v.venue) {
                    buckets.entry(v.venue).or_default().push(*v);
                }
            }
        }
        (per_venue, buckets, counts)
    };
    let (a, b) = std::thread::scope(|sc| {
        let first = sc.spawn(|| part(0, half));
        let second = part(half, s.population);
        (first.join(), second)
    });
    let Ok(mut a) = a else {
        return b;
    };
    for (x, y) in a.0.iter_mut().zip(&b.0) {
        *x += y;
    }
    for (venue, mut visits) in b.1 {
        a.1.entry(venue).or_default().append(&mut visits);
    }
    a.2 = (a.2.0 + b.2.0, a.2.1 + b.2.1, a.2.2 + b.2.2);
    a
}

/// Runs phase 1: every person's every day, the ground truth and the model counts.
pub fn compute(s: &Scenario, city: &City, cases: &Cases, reservoir_cap: usize) -> Truth {
    let mut t = Truth {
        exposed_by_day: vec![0; s.visit_days() as usize],
        ..Truth::default()
    };
    t.counts.cases = cases.list.len() as u64;
    t.counts.uploading_cases = cases.list.iter().filter(|c| c.upload_at.is_some()).count() as u64;

    let (case_visits, unreported) = reported_visits(s, city, cases);
    t.case_visits = case_visits;
    t.counts.reported_visits = t.case_visits.len() as u64;
    let mut traced: HashMap<(u32, u32), Vec<u32>> = HashMap::new();
    for cv in &t.case_visits {
        traced
            .entry((cv.day, cv.visit.venue))
            .or_default()
            .push(cv.id);
    }

    let mut scans: Vec<Vec<u32>> = Vec::with_capacity(s.visit_days() as usize);
    let mut rng = SimRng::stream(s.seed, Stream::Sample, 1, 0);
    let mut exposed_people = std::collections::HashSet::new();
    for day in 0..s.visit_days() {
        let mut keep = vec![false; city.venue_count() as usize];
        for &(d, v) in traced.keys().chain(unreported.keys()) {
            if d == day {
                keep[v as usize] = true;
            }
        }
        let (per_venue, buckets, day_counts) = scan_day(s, city, cases, day, |v| keep[v as usize]);
        t.counts.visits += day_counts.0;
        t.counts.phone_visits += day_counts.1;
        t.counts.assisted_visits += day_counts.2;
        let mut buckets: Vec<(u32, Vec<Visit>)> = buckets.into_iter().collect();
        // A fixed order, so the reservoirs (and so the sample) are reproducible.
        buckets.sort_unstable_by_key(|b| b.0);
        for (venue, visits) in &buckets {
            if let Some(cvs) = traced.get(&(day, *venue)) {
                for id in cvs {
                    let cv = t.case_visits[*id as usize];
                    let (window, exact) = published(s, city, &cv);
                    let earlier: u64 = scans.iter().map(|d| u64::from(d[*venue as usize])).sum();
                    for v in visits {
                        if v.person == cv.visit.person {
                            continue;
                        }
                        let truly =
                            v.arrival < cv.visit.departure && cv.visit.arrival < v.departure;
                        if !v.by_phone() {
                            if truly && v.flags & crate::city::ASSISTED != 0 {
                                t.counts.assisted_exposed += 1;
                            }
                            continue;
                        }
                        let epoch = token_epoch(s, city, day, v);
                        let (a, d) = unix_times(s, day, v);
                        let can_open = epoch_published(epoch, &window);
                        let alerted = can_open && a < exact.1 && d > exact.0;
                        if truly {
                            t.counts.exposed_pairs += 1;
                            t.exposed_by_day[day as usize] += 1;
                            exposed_people.insert(v.person);
                            Reservoirs::offer(
                                &mut t.reservoirs.exposed,
                                &mut t.reservoirs.seen_exposed,
                                reservoir_cap,
                                &mut rng,
                                v.person,
                            );
                            if !alerted {
                                t.counts.model_false_negatives += 1;
                            }
                        } else {
                            Reservoirs::offer(
                                &mut t.reservoirs.near,
                                &mut t.reservoirs.seen_near,
                                reservoir_cap,
                                &mut rng,
                                v.person,
                            );
                        }
                        if alerted {
                            t.counts.alerted_pairs += 1;
                            if !truly {
                                match false_positive_cause(v, &cv.visit, s.buffer_minutes) {
                                    FpCause::Buffer => t.counts.fp_buffer += 1,
                                    FpCause::NoCheckout => t.counts.fp_no_checkout += 1,
                                    FpCause::Unexplained => t.counts.fp_unexplained += 1,
                                }
                            }
                        } else {
                            if can_open {
                                t.counts.learners_quet += 1;
                                if epoch.kind == EpochKind::LocalDay {
                                    t.counts.learners_quet_poster += 1;
                                }
                            }
                            t.counts.learners_static_same_day += 1;
                        }
                    }
                    // Scans of earlier simulated days at this venue (a static code
                    // lets all of them recognise the notice).
                    t.counts.learners_static_window += earlier;
                }
            }
            if let Some(cvs) = unreported.get(&(day, *venue)) {
                for c in cvs {
                    t.counts.exposed_unreported += visits
                        .iter()
                        .filter(|v| {
                            v.person != c.person
                                && v.by_phone()
                                && v.arrival < c.departure
                                && c.arrival < v.departure
                        })
                        .count() as u64;
                }
            }
        }
        scans.push(per_venue);
    }
    t.counts.learners_static_window += t.counts.learners_static_same_day;
    t.counts.exposed_people = exposed_people.len() as u64;
    t
}
