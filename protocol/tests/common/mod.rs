//! Shared fixtures for the protocol's integration tests.
#![allow(dead_code, clippy::expect_used)]

use quet_protocol::authority::{AuthorityDescriptor, AuthorityId, AuthorityKeys};
use quet_protocol::bulletin::{Bulletin, BulletinDraft};
use quet_protocol::category::Category;
use quet_protocol::code::{CodeIssuer, VenueInfo};
use quet_protocol::notice::{ExposureNotice, NoticeBody, Severity, TEMPLATE_TEST, TracePlan};
use quet_protocol::testing::{DeterministicRng, test_rng};
use quet_protocol::time::{EpochKind, UnixTime, UtcOffset};
use quet_protocol::venue_keys::VenueMasterKey;

/// 2026-09-21 00:00 UTC.
pub const DAY0: u64 = 20_717 * 86_400;

pub fn at(hour: u64, minute: u64) -> UnixTime {
    UnixTime(DAY0 + hour * 3600 + minute * 60)
}

pub struct World {
    pub rng: DeterministicRng,
    pub ha: AuthorityKeys,
    pub descriptor: AuthorityDescriptor,
}

impl World {
    pub fn new() -> World {
        let mut rng = test_rng(42);
        let ha = AuthorityKeys::generate(&mut rng);
        let descriptor = ha.descriptor(
            AuthorityId(0x0100_0001),
            "Sở Y tế Hà Nội",
            "https://quet.soyte.example",
        );
        World {
            rng,
            ha,
            descriptor,
        }
    }

    /// A venue, with its master so tests can play the HA or the owner.
    pub fn venue_with_master(
        &mut self,
        name: &str,
        category: Category,
    ) -> (CodeIssuer, VenueMasterKey) {
        let master = VenueMasterKey::generate(&mut self.rng);
        let issuer = CodeIssuer::new(
            master.clone(),
            VenueInfo {
                name: name.into(),
                address: "12 Tràng Tiền, Hoàn Kiếm, Hà Nội".into(),
                category,
                max_stay_minutes: category.default_max_stay_minutes(),
            },
            &self.descriptor,
        )
        .unwrap();
        (issuer, master)
    }

    pub fn venue(&mut self, name: &str, category: Category) -> CodeIssuer {
        let info = VenueInfo {
            name: name.into(),
            address: "12 Tràng Tiền, Hoàn Kiếm, Hà Nội".into(),
            category,
            max_stay_minutes: category.default_max_stay_minutes(),
        };
        CodeIssuer::new(
            VenueMasterKey::generate(&mut self.rng),
            info,
            &self.descriptor,
        )
        .unwrap()
    }

    /// The notice the HA would publish for a case at `venue` during [arrival,
    /// departure), covering the epochs of `kind` (and no buffer).
    pub fn notice_for(
        &mut self,
        venue: &CodeIssuer,
        arrival: UnixTime,
        departure: UnixTime,
        kind: EpochKind,
    ) -> ExposureNotice {
        self.notice_for_kinds(venue, arrival, departure, &[kind])
    }

    /// The notice for several epoch kinds at once (one segment each).
    pub fn notice_for_kinds(
        &mut self,
        venue: &CodeIssuer,
        arrival: UnixTime,
        departure: UnixTime,
        kinds: &[EpochKind],
    ) -> ExposureNotice {
        let plan = TracePlan::new(
            arrival,
            departure,
            venue.venue().max_stay_secs(),
            0,
            kinds,
            UtcOffset::VIETNAM,
            UnixTime(u64::MAX / 2),
        )
        .unwrap();
        let master = venue.master().expect("test venues hold their master");
        let day_keys: Vec<_> = plan.days().iter().map(|d| master.day_key(*d)).collect();
        let body = NoticeBody {
            severity: Severity::Test,
            window_start: plan.exact.0,
            window_end: plan.exact.1,
            template: TEMPLATE_TEST,
            message_vi: "Bạn có thể đã tiếp xúc. Hãy đi xét nghiệm.".into(),
            message_en: "You may have been exposed. Please get tested.".into(),
        };
        ExposureNotice::build(&mut self.rng, &day_keys, &plan.segments, &body).unwrap()
    }

    pub fn bulletin(
        &mut self,
        sequence: u64,
        prev: [u8; 32],
        notices: Vec<ExposureNotice>,
    ) -> Bulletin {
        BulletinDraft {
            sequence,
            prev_hash: prev,
            issued_at: at(20, 0),
            expires_at: UnixTime(at(20, 0).0 + 14 * 86_400),
            notices,
            withdrawn: vec![],
            revoked: vec![],
        }
        .sign(&self.ha, &self.descriptor)
        .unwrap()
    }
}
