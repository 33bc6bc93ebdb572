//! A simulated day of visits in a Vietnamese city, and the ground truth of who
//! must be notified, computed independently of the protocol's own overlap rule.
//!
//! Visit times follow each kind of venue's rhythm in local time (UTC+7): a phở shop
//! at breakfast, lunch and dinner, a market at dawn, a clinic through office hours.
//! The simulation is seeded, so a run can be repeated exactly.

use std::collections::BTreeSet;

use quet_protocol::category::Category;
use quet_protocol::testing::DeterministicRng;
use quet_protocol::time::{Day, UnixTime};
use rand_core::Rng;

/// Vietnam's offset from UTC.
pub const LOCAL_OFFSET_SECS: i64 = 7 * 3600;

/// How visitors check in at a venue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckInMode {
    /// Phones scan the rotating screen code.
    Screen,
    /// Phones scan the printed daily poster.
    Poster,
    /// Staff check visitors in on the venue's device.
    Assisted,
}

/// A venue in the simulation.
#[derive(Clone, Debug)]
pub struct VenueProfile {
    /// Display name.
    pub name: &'static str,
    /// Address.
    pub address: &'static str,
    /// Category.
    pub category: Category,
    /// How visitors check in.
    pub mode: CheckInMode,
    /// Busy periods as (start hour, end hour) in local time, with weights.
    pub rush: &'static [(u32, u32, u32)],
    /// Shortest and longest stay in minutes.
    pub stay_minutes: (u32, u32),
}

/// The demo city: Hà Nội venues of different kinds.
pub fn hanoi_venues() -> Vec<VenueProfile> {
    vec![
        VenueProfile {
            name: "Phở Thìn Lò Đúc",
            address: "13 Lò Đúc, Hai Bà Trưng, Hà Nội",
            category: Category::Restaurant,
            mode: CheckInMode::Screen,
            rush: &[(6, 9, 3), (11, 13, 4), (18, 20, 3)],
            stay_minutes: (15, 60),
        },
        VenueProfile {
            name: "Chợ Hôm",
            address: "79 Phố Huế, Hai Bà Trưng, Hà Nội",
            category: Category::Market,
            mode: CheckInMode::Poster,
            rush: &[(5, 9, 5), (15, 18, 2)],
            stay_minutes: (10, 90),
        },
        VenueProfile {
            name: "Phòng khám Đa khoa Phố Huế",
            address: "45 Phố Huế, Hai Bà Trưng, Hà Nội",
            category: Category::HospitalClinic,
            mode: CheckInMode::Assisted,
            rush: &[(7, 11, 4), (13, 16, 3)],
            stay_minutes: (20, 180),
        },
    ]
}

/// One visit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Visit {
    /// Who (index of the person).
    pub person: usize,
    /// Where (index into the venue list).
    pub venue: usize,
    /// Arrival.
    pub arrival: UnixTime,
    /// Departure.
    pub departure: UnixTime,
}

/// UTC time of `hour:minute` local time on local day `local_day` (days since epoch).
pub fn local_time(local_day: u32, hour: u32, minute: u32) -> UnixTime {
    let local = i64::from(local_day) * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60;
    UnixTime(u64::try_from(local - LOCAL_OFFSET_SECS).unwrap_or(0))
}

/// The local calendar day of a UTC time.
pub fn local_day_of(t: UnixTime) -> u32 {
    u32::try_from((t.0 as i64 + LOCAL_OFFSET_SECS) / 86_400).unwrap_or(0)
}

fn pick(rng: &mut DeterministicRng, n: u32) -> u32 {
    rng.next_u32() % n.max(1)
}

/// Simulates `people` people each making one to three visits on local day
/// `local_day`, following each venue's rush hours.
pub fn simulate_day(
    seed: u8,
    local_day: u32,
    people: usize,
    venues: &[VenueProfile],
) -> Vec<Visit> {
    let mut rng = DeterministicRng::from_seed([seed; 32]);
    let mut visits = Vec::new();
    for person in 0..people {
        let n = 1 + pick(&mut rng, 3);
        let mut busy_until = UnixTime(0);
        for _ in 0..n {
            let venue = pick(&mut rng, venues.len() as u32) as usize;
            let Some(profile) = venues.get(venue) else {
                continue;
            };
            let total: u32 = profile.rush.iter().map(|r| r.2).sum();
            let mut w = pick(&mut rng, total);
            let &(start_h, end_h, _) = profile
                .rush
                .iter()
                .find(|r| {
                    if w < r.2 {
                        true
                    } else {
                        w -= r.2;
                        false
                    }
                })
                .unwrap_or(&(8, 17, 1));
            let minute_of_rush = pick(&mut rng, (end_h - start_h) * 60);
            let arrival = local_time(local_day, start_h, 0).0
                + u64::from(minute_of_rush) * 60
                + u64::from(pick(&mut rng, 60));
            let (lo, hi) = profile.stay_minutes;
            let stay = u64::from(lo + pick(&mut rng, hi - lo + 1)) * 60;
            let arrival = UnixTime(arrival);
            // One place at a time: skip visits that overlap this person's previous one.
            if arrival < busy_until {
                continue;
            }
            let departure = UnixTime(arrival.0 + stay);
            busy_until = departure;
            visits.push(Visit {
                person,
                venue,
                arrival,
                departure,
            });
        }
    }
    visits.sort_by_key(|v| (v.arrival, v.person));
    visits
}

/// Who must be notified: every (person, venue) whose stay shares any second with
/// a case's stay at the same venue widened by `buffer_secs` on both sides.
/// Written from the definition, not from the protocol's code.
pub fn expected_notified(
    visits: &[Visit],
    case_visits: &[Visit],
    buffer_secs: u64,
) -> BTreeSet<(usize, usize)> {
    let mut out = BTreeSet::new();
    for case in case_visits {
        let from = case.arrival.0.saturating_sub(buffer_secs);
        let to = case.departure.0 + buffer_secs;
        for v in visits {
            if v.person == case.person || v.venue != case.venue {
                continue;
            }
            // Two intervals [a1, b1) and [a2, b2) intersect iff max(a) < min(b).
            if v.arrival.0.max(from) < v.departure.0.min(to + 1) {
                out.insert((v.person, v.venue));
            }
        }
    }
    out
}

/// The UTC days a local day touches.
pub fn utc_days_of_local_day(local_day: u32) -> (Day, Day) {
    let start = local_time(local_day, 0, 0);
    let end = UnixTime(start.0 + 86_399);
    (start.day().unwrap_or(Day(0)), end.day().unwrap_or(Day(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulation_is_repeatable_and_respects_rush_hours() {
        let venues = hanoi_venues();
        let a = simulate_day(1, 20_000, 50, &venues);
        assert_eq!(a, simulate_day(1, 20_000, 50, &venues));
        assert!(a.len() >= 50);
        for v in &a {
            let local_hour = ((v.arrival.0 as i64 + LOCAL_OFFSET_SECS) % 86_400) / 3600;
            let rush = venues[v.venue].rush;
            assert!(
                rush.iter()
                    .any(|r| (i64::from(r.0)..i64::from(r.1)).contains(&local_hour)),
                "{v:?}"
            );
            assert!(v.departure > v.arrival);
            assert!(
                v.departure.0 - v.arrival.0
                    <= u64::from(venues[v.venue].category.default_max_stay_minutes()) * 60
            );
        }
    }

    #[test]
    fn ground_truth_includes_overlaps_and_excludes_the_rest() {
        let t = |m: u64| UnixTime(1_000_000 + m * 60);
        let case = Visit {
            person: 0,
            venue: 1,
            arrival: t(60),
            departure: t(90),
        };
        let visits = vec![
            case,
            Visit {
                person: 1,
                venue: 1,
                arrival: t(80),
                departure: t(120),
            }, // overlaps
            Visit {
                person: 2,
                venue: 1,
                arrival: t(0),
                departure: t(50),
            }, // before, outside buffer 5
            Visit {
                person: 3,
                venue: 1,
                arrival: t(0),
                departure: t(57),
            }, // within the buffer
            Visit {
                person: 4,
                venue: 2,
                arrival: t(60),
                departure: t(90),
            }, // other venue
            Visit {
                person: 5,
                venue: 1,
                arrival: t(96),
                departure: t(99),
            }, // after the buffer
        ];
        let got = expected_notified(&visits, &[case], 5 * 60);
        assert_eq!(got, BTreeSet::from([(1, 1), (3, 1)]));
    }
}
