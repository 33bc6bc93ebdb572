//! Venues' code issuers, case phones' envelopes and sampled phones' tokens, all
//! made with the protocol crate exactly as the venue tool and the client make them.

use std::collections::HashMap;

use quet_protocol::authority::AuthorityDescriptor;
use quet_protocol::code::{CheckInCode, CodeIssuer, VenueInfo, VenueUses};
use quet_protocol::envelope::ReportEnvelope;
use quet_protocol::matching::StoredToken;
use quet_protocol::testing::DeterministicRng;
use quet_protocol::time::UnixTime;
use quet_protocol::token::EncounterToken;
use quet_protocol::venue_keys::VenueMasterKey;
use quet_server::rng::{SystemRng, system_rng};

use crate::SimError;
use crate::city::{City, Visit};
use crate::rng::{SimRng, Stream};
use crate::scenario::Scenario;
use crate::truth::{CODE_AGE_SECS, unix_times};

/// Every venue's code issuer, made on first use from a master derived from the seed.
pub struct Venues {
    seed: u64,
    city_name: String,
    issuers: HashMap<u32, CodeIssuer>,
    /// The cryptographic generator for seals and signatures.
    pub rng: SystemRng,
}

impl Venues {
    /// No issuer yet.
    pub fn new(s: &Scenario) -> Venues {
        Venues {
            seed: s.seed,
            city_name: s.title.split(',').next().unwrap_or("Việt Nam").to_owned(),
            issuers: HashMap::new(),
            rng: system_rng(),
        }
    }

    /// The venue's master key (reproducible from the seed).
    pub fn master(&self, v: u32) -> VenueMasterKey {
        let mut r = SimRng::stream(self.seed, Stream::VenueKeys, u64::from(v), 0);
        let mut seed = [0u8; 32];
        for chunk in seed.chunks_mut(8) {
            chunk.copy_from_slice(&r.next_u64().to_le_bytes());
        }
        VenueMasterKey::generate(&mut DeterministicRng::from_seed(seed))
    }

    fn issuer(
        &mut self,
        city: &City,
        descriptor: &AuthorityDescriptor,
        v: u32,
    ) -> Result<&mut CodeIssuer, SimError> {
        if !self.issuers.contains_key(&v) {
            let p = city.profile(v);
            let info = VenueInfo {
                name: format!("{} số {v}", p.category.label_vi()),
                address: format!("Quận {}, {}", city.district_of(v) + 1, self.city_name),
                category: p.category,
                max_stay_minutes: p.category.default_max_stay_minutes(),
            };
            let mut issuer = CodeIssuer::new(self.master(v), info, descriptor)?;
            // Each simulated venue either shows a screen or prints posters, and its
            // codes say so (protocol 1.1 flags), so a trace publishes only that kind.
            let posters = city.prints_posters(v);
            issuer.set_uses(VenueUses {
                screen: !posters,
                posters,
            })?;
            self.issuers.insert(v, issuer);
        }
        self.issuers
            .get_mut(&v)
            .ok_or_else(|| SimError::Server("issuer vanished".into()))
    }

    /// The code a phone scans for `visit` on simulated day `day`: the screen code
    /// signed `CODE_AGE_SECS` before arrival, or the day's poster.
    pub fn code_for(
        &mut self,
        s: &Scenario,
        city: &City,
        descriptor: &AuthorityDescriptor,
        day: u32,
        visit: &Visit,
    ) -> Result<CheckInCode, SimError> {
        let (arrival, _) = unix_times(s, day, visit);
        let poster = city.prints_posters(visit.venue);
        let mut rng = std::mem::replace(&mut self.rng, system_rng());
        let issuer = self.issuer(city, descriptor, visit.venue)?;
        let code = if poster {
            let day = issuer.local_day(UnixTime(arrival))?;
            issuer.poster_code(&mut rng, day)?
        } else {
            issuer.screen_code(&mut rng, UnixTime(arrival - CODE_AGE_SECS))?
        };
        self.rng = rng;
        Ok(code)
    }

    /// A phone checks in: verifies the code as scanned at arrival, seals the token,
    /// and at check-out re-seals it with the recorded departure.
    pub fn check_in(
        &mut self,
        s: &Scenario,
        city: &City,
        descriptor: &AuthorityDescriptor,
        day: u32,
        visit: &Visit,
    ) -> Result<EncounterToken, SimError> {
        let code = self.code_for(s, city, descriptor, day, visit)?;
        let (arrival, departure) = unix_times(s, day, visit);
        let (verified, _) =
            CheckInCode::parse_and_verify(code.as_bytes(), UnixTime(arrival), descriptor)?;
        let (token, mut record) =
            EncounterToken::check_in(&mut self.rng, &verified, UnixTime(arrival))?;
        if record.departure.0 == departure {
            return Ok(token);
        }
        record.set_departure(UnixTime(departure))?;
        Ok(EncounterToken::seal(
            &mut self.rng,
            &verified.venue_time_public,
            verified.epoch()?,
            &record,
        )?)
    }

    /// The report envelope a case's phone sealed at check-in.
    pub fn envelope(
        &mut self,
        s: &Scenario,
        city: &City,
        descriptor: &AuthorityDescriptor,
        day: u32,
        visit: &Visit,
    ) -> Result<ReportEnvelope, SimError> {
        let code = self.code_for(s, city, descriptor, day, visit)?;
        let (arrival, departure) = unix_times(s, day, visit);
        Ok(ReportEnvelope::seal(
            &mut self.rng,
            descriptor,
            &code,
            UnixTime(arrival),
            UnixTime(departure),
        )?)
    }
}

/// A sampled phone: its owner and its tokens with what each stands for.
#[derive(Clone, Debug)]
pub struct Phone {
    /// Person id.
    pub person: u32,
    /// Why it is in the sample: `random`, `exposed` or `near`.
    pub kind: &'static str,
    /// Tokens (id = index into `visits`).
    pub tokens: Vec<StoredToken>,
    /// The visit behind each token, with its simulated day and arrival time.
    pub visits: Vec<(u32, Visit, u64)>,
}

impl Phone {
    /// Seals a token for every phone check-in of `person` over the simulated days.
    pub fn build(
        s: &Scenario,
        city: &City,
        venues: &mut Venues,
        descriptor: &AuthorityDescriptor,
        person: u32,
        kind: &'static str,
    ) -> Result<Phone, SimError> {
        let mut phone = Phone {
            person,
            kind,
            tokens: Vec::new(),
            visits: Vec::new(),
        };
        let mut buf = Vec::new();
        for day in 0..s.visit_days() {
            buf.clear();
            city.day_visits(person, day, crate::truth::weekday(s, day), &mut buf);
            for v in buf.iter().filter(|v| v.by_phone()) {
                let token = venues.check_in(s, city, descriptor, day, v)?;
                let id = phone.visits.len() as u64;
                phone.visits.push((day, *v, unix_times(s, day, v).0));
                phone.tokens.push(StoredToken { id, token });
            }
        }
        Ok(phone)
    }

    /// The tokens a phone holds at `now` (arrived before, within 14 days).
    pub fn tokens_at(&self, now: u64) -> Vec<StoredToken> {
        self.tokens
            .iter()
            .zip(&self.visits)
            .filter(|(_, (_, _, arrival))| *arrival <= now && arrival + 14 * 86_400 > now)
            .map(|(t, _)| t.clone())
            .collect()
    }
}
