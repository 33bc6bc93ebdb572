//! Confirmed cases: who, on which day, whether they upload, and when.
//!
//! Cases are drawn uniformly from the population (the simulation models what the
//! system costs and whom it reaches, not how the virus spreads). A case makes no
//! visits from its test day on. A case with a smartphone consents to upload with
//! `consent_rate`; the upload happens between 08:00 and 20:00 local time on the
//! test day, or the next day with `next_day_upload_share`.

use std::collections::HashMap;

use crate::city::City;
use crate::rng::{SimRng, Stream};
use crate::scenario::Scenario;

/// One confirmed case.
#[derive(Clone, Copy, Debug)]
pub struct Case {
    /// Index in the case list.
    pub id: u32,
    /// The person.
    pub person: u32,
    /// Simulated day index of the positive test.
    pub test_day: u32,
    /// Upload time (Unix seconds), if the case has a phone and consents.
    pub upload_at: Option<u64>,
}

/// All cases of a run.
#[derive(Clone, Debug, Default)]
pub struct Cases {
    /// The cases, by id.
    pub list: Vec<Case>,
    /// Person → case id.
    pub by_person: HashMap<u32, u32>,
}

impl Cases {
    /// Draws `per_day` cases for each day from the day before the peak to its last
    /// day (the day before, so the first peak day sees next-day uploads too).
    pub fn draw(s: &Scenario, city: &City, per_day: u32) -> Cases {
        let mut r = SimRng::stream(s.seed, Stream::Cases, u64::from(per_day), 0);
        let mut out = Cases::default();
        let first = s.warmup_days() - 1;
        for day in first..s.visit_days() {
            let mut drawn = 0;
            while drawn < per_day && out.by_person.len() < s.population as usize {
                let person = r.below(u64::from(s.population)) as u32;
                if out.by_person.contains_key(&person) {
                    continue;
                }
                let id = out.list.len() as u32;
                let phone = city.person(person).smartphone;
                let upload_at = if phone && r.chance(s.consent_rate) {
                    let upload_day = day + u32::from(r.chance(s.next_day_upload_share));
                    let secs = 8 * 3600 + r.below(12 * 3600);
                    Some(s.local_midnight(upload_day) + secs)
                } else {
                    None
                };
                out.list.push(Case {
                    id,
                    person,
                    test_day: day,
                    upload_at,
                });
                out.by_person.insert(person, id);
                drawn += 1;
            }
        }
        out
    }

    /// Whether `person` is, on simulated day `day`, a case already tested (and so
    /// isolating).
    pub fn isolating(&self, person: u32, day: u32) -> bool {
        self.by_person
            .get(&person)
            .and_then(|id| self.list.get(*id as usize))
            .is_some_and(|c| c.test_day <= day)
    }
}
