//! The synthetic city: venues by district and category, people with routines, and
//! each person's visits of a day, regenerated on demand from the seed.
//!
//! Nothing per person is stored: a person's role, home district, workplace and
//! phone habits are drawn from the stream `(seed, City, person)`, and a day's visits
//! from `(seed, PersonDay, person, day)`. Times are minutes after local midnight
//! (UTC+7); a stay never crosses local midnight (an evening at home in an apartment
//! block is cut at 23:59, which only shortens it).

use quet_protocol::category::Category;

use crate::rng::{SimRng, Stream};
use crate::scenario::Scenario;

/// How a category of venue is used: its share of the registered venues, when
/// people arrive and how long they stay, and how often its venues print posters
/// instead of showing a screen. Assumptions (no public figure was found).
#[derive(Clone, Copy, Debug)]
pub struct CategoryProfile {
    /// The protocol category.
    pub category: Category,
    /// Share of registered venues.
    pub venue_share: f64,
    /// Arrival windows, local hours `[from, to)`, chosen with equal chance.
    pub arrivals: &'static [(f64, f64)],
    /// Stay in minutes, uniform in `[min, max]` (never above the category's
    /// default maximum stay).
    pub stay: (u32, u32),
    /// Share of venues of this category that print daily posters.
    pub poster_share: f64,
}

/// The categories the simulated city uses, in venue-id order within a district.
pub const PROFILES: &[CategoryProfile] = &[
    CategoryProfile {
        category: Category::Office,
        venue_share: 0.22,
        arrivals: &[(7.5, 8.75)],
        stay: (420, 535),
        poster_share: 0.2,
    },
    CategoryProfile {
        category: Category::Factory,
        venue_share: 0.03,
        arrivals: &[(6.5, 7.5)],
        stay: (480, 595),
        poster_share: 0.3,
    },
    CategoryProfile {
        category: Category::Restaurant,
        venue_share: 0.20,
        arrivals: &[(6.0, 9.0), (11.0, 13.0), (17.5, 20.5)],
        stay: (15, 90),
        poster_share: 0.3,
    },
    CategoryProfile {
        category: Category::BarKaraoke,
        venue_share: 0.04,
        arrivals: &[(18.0, 22.0)],
        stay: (60, 200),
        poster_share: 0.2,
    },
    CategoryProfile {
        category: Category::Gym,
        venue_share: 0.02,
        arrivals: &[(5.5, 7.0), (17.0, 20.0)],
        stay: (45, 110),
        poster_share: 0.3,
    },
    CategoryProfile {
        category: Category::Meeting,
        venue_share: 0.01,
        arrivals: &[(8.0, 14.0)],
        stay: (60, 240),
        poster_share: 0.1,
    },
    CategoryProfile {
        category: Category::HospitalClinic,
        venue_share: 0.02,
        arrivals: &[(7.0, 16.0)],
        stay: (30, 200),
        poster_share: 0.1,
    },
    CategoryProfile {
        category: Category::Apartment,
        venue_share: 0.03,
        arrivals: &[(17.0, 22.0)],
        stay: (120, 700),
        poster_share: 0.5,
    },
    CategoryProfile {
        category: Category::School,
        venue_share: 0.03,
        arrivals: &[(6.75, 7.5)],
        stay: (300, 535),
        poster_share: 0.4,
    },
    CategoryProfile {
        category: Category::BusStation,
        venue_share: 0.002,
        arrivals: &[(5.0, 20.0)],
        stay: (20, 110),
        poster_share: 0.2,
    },
    CategoryProfile {
        category: Category::PublicTransport,
        venue_share: 0.02,
        arrivals: &[(6.0, 19.0)],
        stay: (10, 60),
        poster_share: 0.9,
    },
    CategoryProfile {
        category: Category::MallSupermarket,
        venue_share: 0.03,
        arrivals: &[(9.0, 21.0)],
        stay: (30, 150),
        poster_share: 0.1,
    },
    CategoryProfile {
        category: Category::Market,
        venue_share: 0.02,
        arrivals: &[(5.5, 10.0), (15.0, 18.0)],
        stay: (20, 90),
        poster_share: 0.6,
    },
    CategoryProfile {
        category: Category::Wedding,
        venue_share: 0.005,
        arrivals: &[(11.0, 12.0), (17.0, 19.0)],
        stay: (90, 200),
        poster_share: 0.5,
    },
    CategoryProfile {
        category: Category::Funeral,
        venue_share: 0.005,
        arrivals: &[(8.0, 16.0)],
        stay: (30, 120),
        poster_share: 0.5,
    },
    CategoryProfile {
        category: Category::TouristSite,
        venue_share: 0.01,
        arrivals: &[(8.0, 17.0)],
        stay: (60, 200),
        poster_share: 0.4,
    },
    CategoryProfile {
        category: Category::ReligiousSite,
        venue_share: 0.02,
        arrivals: &[(5.0, 8.0), (17.0, 20.0)],
        stay: (30, 120),
        poster_share: 0.5,
    },
    CategoryProfile {
        category: Category::Other,
        venue_share: 0.288,
        arrivals: &[(7.0, 21.0)],
        stay: (5, 40),
        poster_share: 0.4,
    },
];

/// Index of a category in [`PROFILES`].
fn profile_index(c: Category) -> usize {
    PROFILES
        .iter()
        .position(|p| p.category == c)
        .unwrap_or(PROFILES.len() - 1)
}

/// Errand categories and their weights (a day's errands are drawn from these).
const ERRANDS: &[(Category, f64)] = &[
    (Category::Restaurant, 0.30),
    (Category::Other, 0.20),
    (Category::Market, 0.14),
    (Category::MallSupermarket, 0.10),
    (Category::PublicTransport, 0.08),
    (Category::BarKaraoke, 0.04),
    (Category::Gym, 0.03),
    (Category::HospitalClinic, 0.03),
    (Category::ReligiousSite, 0.03),
    (Category::TouristSite, 0.02),
    (Category::BusStation, 0.01),
    (Category::Meeting, 0.01),
    (Category::Wedding, 0.006),
    (Category::Funeral, 0.004),
];

/// What a person does on weekdays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Works in an office.
    OfficeWorker,
    /// Works in a factory or industrial zone.
    FactoryWorker,
    /// Goes to school.
    Student,
    /// Stays around home (retired, home workers, small traders).
    AtHome,
}

/// A person's fixed traits.
#[derive(Clone, Copy, Debug)]
pub struct Person {
    /// Home district.
    pub district: u32,
    /// Weekday role.
    pub role: Role,
    /// The workplace or school, if any.
    pub anchor: Option<u32>,
    /// The apartment block they live in, if it scans residents.
    pub apartment: Option<u32>,
    /// Owns a smartphone (otherwise staff check them in).
    pub smartphone: bool,
}

/// One visit of a day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Visit {
    /// Venue id.
    pub venue: u32,
    /// Person id.
    pub person: u32,
    /// Arrival, minutes after local midnight.
    pub arrival: u16,
    /// True departure, minutes after local midnight (≤ 1439).
    pub departure: u16,
    /// Departure the phone records: the true one if checked out, else arrival plus
    /// the category's maximum stay (may pass midnight).
    pub recorded_departure: u16,
    /// [`PHONE`], [`ASSISTED`] flags.
    pub flags: u8,
}

/// The visitor scanned with a phone: a token exists.
pub const PHONE: u8 = 1;
/// The visitor was checked in by staff (no smartphone).
pub const ASSISTED: u8 = 2;

impl Visit {
    /// Whether a phone token exists for this visit.
    pub fn by_phone(&self) -> bool {
        self.flags & PHONE != 0
    }
}

/// The venues of the city and the rules that place people.
#[derive(Clone, Debug)]
pub struct City {
    seed: u64,
    districts: u32,
    /// Venues per (district, profile), and the first id of each block.
    per_block: Vec<u32>,
    block_start: Vec<u32>,
    venue_count: u32,
    smartphone_share: f64,
    scan_rate: f64,
    checkout_rate: f64,
    poster_factor: f64,
    scanning_share: f64,
}

impl City {
    /// Lays out `scenario.registered_venues × venue_factor` venues over the districts.
    pub fn new(s: &Scenario, venue_factor: f64) -> City {
        let total = (f64::from(s.registered_venues) * venue_factor).max(1.0);
        let mut per_block = Vec::new();
        let mut block_start = Vec::new();
        let mut next = 0u32;
        for _d in 0..s.districts {
            for p in PROFILES {
                let n = ((total * p.venue_share / f64::from(s.districts)).round() as u32).max(1);
                block_start.push(next);
                per_block.push(n);
                next += n;
            }
        }
        City {
            seed: s.seed,
            districts: s.districts.max(1),
            per_block,
            block_start,
            venue_count: next,
            smartphone_share: s.smartphone_share,
            scan_rate: s.scan_rate,
            checkout_rate: s.checkout_rate,
            poster_factor: s.poster_factor,
            scanning_share: s.scanning_venue_share,
        }
    }

    /// Number of venues.
    pub fn venue_count(&self) -> u32 {
        self.venue_count
    }

    fn block(&self, district: u32, c: Category) -> usize {
        (district % self.districts) as usize * PROFILES.len() + profile_index(c)
    }

    /// The category profile of venue `v`.
    pub fn profile(&self, v: u32) -> &'static CategoryProfile {
        let b = match self.block_start.binary_search(&v) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        &PROFILES[b % PROFILES.len()]
    }

    /// The district of venue `v`.
    pub fn district_of(&self, v: u32) -> u32 {
        let b = match self.block_start.binary_search(&v) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        (b / PROFILES.len()) as u32
    }

    /// Whether venue `v` prints posters (day epochs) rather than a screen (hours).
    pub fn prints_posters(&self, v: u32) -> bool {
        let mut r = SimRng::stream(self.seed, Stream::City, u64::from(v), 1);
        r.chance(self.profile(v).poster_share * self.poster_factor)
    }

    /// Whether venue `v` displays a code at all.
    pub fn scans(&self, v: u32) -> bool {
        let mut r = SimRng::stream(self.seed, Stream::City, u64::from(v), 2);
        r.chance(self.scanning_share)
    }

    /// A venue of category `c`, in `district`, popular ones more often.
    fn pick(&self, r: &mut SimRng, district: u32, c: Category) -> u32 {
        let b = self.block(district, c);
        self.block_start[b] + r.skewed(u64::from(self.per_block[b])) as u32
    }

    /// A district: home with probability `stay_home`, else any.
    fn district_near(&self, r: &mut SimRng, home: u32, stay_home: f64) -> u32 {
        if r.chance(stay_home) {
            home
        } else {
            r.below(u64::from(self.districts)) as u32
        }
    }

    /// Person `p`'s fixed traits.
    pub fn person(&self, p: u32) -> Person {
        let mut r = SimRng::stream(self.seed, Stream::City, u64::from(p), 0);
        let district = r.below(u64::from(self.districts)) as u32;
        let role = match r.weighted(&[0.30, 0.10, 0.22, 0.38]) {
            0 => Role::OfficeWorker,
            1 => Role::FactoryWorker,
            2 => Role::Student,
            _ => Role::AtHome,
        };
        let anchor = match role {
            Role::OfficeWorker => {
                let d = self.district_near(&mut r, district, 0.5);
                Some(self.pick(&mut r, d, Category::Office))
            }
            Role::FactoryWorker => {
                let d = self.district_near(&mut r, district, 0.4);
                Some(self.pick(&mut r, d, Category::Factory))
            }
            Role::Student => Some(self.pick(&mut r, district, Category::School)),
            Role::AtHome => None,
        };
        let apartment = if r.chance(0.10) {
            Some(self.pick(&mut r, district, Category::Apartment))
        } else {
            None
        };
        let smartphone = r.chance(self.smartphone_share);
        Person {
            district,
            role,
            anchor,
            apartment,
            smartphone,
        }
    }

    /// Person `p`'s visits on simulated day `day` (`weekday` 0 = Monday), sorted by
    /// arrival. A confirmed case makes no visits from its test day on.
    pub fn day_visits(&self, p: u32, day: u32, weekday: u32, out: &mut Vec<Visit>) {
        let person = self.person(p);
        let mut r = SimRng::stream(self.seed, Stream::PersonDay, u64::from(p), u64::from(day));
        let start = out.len();
        let working_day = weekday < 5 || (weekday == 5 && person.role == Role::FactoryWorker);
        let mut errands = match person.role {
            Role::AtHome => 1.6,
            _ if working_day => 0.9,
            _ => 1.8,
        };
        if let (Some(anchor), true) = (person.anchor, working_day) {
            self.push(&mut r, &person, p, anchor, out);
            // Lunch near work now and then.
            if r.chance(0.25) {
                let d = self.district_of(anchor);
                let v = self.pick(&mut r, d, Category::Restaurant);
                self.push_at(&mut r, &person, p, v, 11.0, 13.0, out);
                errands -= 0.25;
            }
        }
        for _ in 0..r.poisson(errands) {
            let weights: Vec<f64> = ERRANDS.iter().map(|e| e.1).collect();
            let c = ERRANDS[r.weighted(&weights)].0;
            let d = self.district_near(&mut r, person.district, 0.8);
            let v = self.pick(&mut r, d, c);
            self.push(&mut r, &person, p, v, out);
        }
        if let Some(home) = person.apartment {
            self.push(&mut r, &person, p, home, out);
        }
        out[start..].sort_by_key(|v| v.arrival);
    }

    fn push(&self, r: &mut SimRng, person: &Person, p: u32, v: u32, out: &mut Vec<Visit>) {
        let prof = self.profile(v);
        let (from, to) = prof.arrivals[r.below(prof.arrivals.len() as u64) as usize];
        self.push_at(r, person, p, v, from, to, out);
    }

    #[allow(clippy::too_many_arguments)]
    fn push_at(
        &self,
        r: &mut SimRng,
        person: &Person,
        p: u32,
        v: u32,
        from: f64,
        to: f64,
        out: &mut Vec<Visit>,
    ) {
        let prof = self.profile(v);
        let arrival = ((from + r.unit() * (to - from)) * 60.0) as u32;
        let max_stay = u32::from(prof.category.default_max_stay_minutes());
        let stay = r.between(prof.stay.0, prof.stay.1.min(max_stay));
        let departure = (arrival + stay).min(1439);
        let arrival = arrival.min(departure);
        let mut flags = 0;
        let mut recorded = departure;
        if self.scans(v) {
            if person.smartphone {
                if r.chance(self.scan_rate) {
                    flags |= PHONE;
                    if !r.chance(self.checkout_rate) {
                        recorded = arrival + max_stay;
                    }
                }
            } else {
                flags |= ASSISTED;
            }
        }
        out.push(Visit {
            venue: v,
            person: p,
            arrival: arrival as u16,
            departure: departure as u16,
            recorded_departure: recorded as u16,
            flags,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_covers_every_category_and_district() {
        let s = Scenario::small();
        let c = City::new(&s, 1.0);
        assert!(c.venue_count() >= s.registered_venues / 2);
        for d in 0..s.districts {
            for p in PROFILES {
                let v = c.block_start[c.block(d, p.category)];
                assert_eq!(c.profile(v).category, p.category);
                assert_eq!(c.district_of(v), d);
            }
        }
    }

    #[test]
    fn days_are_reproducible_and_plausible() {
        let s = Scenario::small();
        let c = City::new(&s, 1.0);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let mut total = 0usize;
        for p in 0..2_000 {
            a.clear();
            b.clear();
            c.day_visits(p, 3, 1, &mut a);
            c.day_visits(p, 3, 1, &mut b);
            assert_eq!(a, b);
            for v in &a {
                assert!(v.arrival <= v.departure && v.departure <= 1439);
                assert!(v.recorded_departure >= v.departure || !v.by_phone());
                assert!(v.venue < c.venue_count());
            }
            total += a.len();
        }
        let mean = total as f64 / 2_000.0;
        assert!((1.0..5.0).contains(&mean), "visits per person-day {mean}");
    }
}
