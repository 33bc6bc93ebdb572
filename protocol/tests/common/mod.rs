//! Shared fixtures for the protocol's integration tests.
#![allow(dead_code)]

use quet_protocol::authority::{AuthorityDescriptor, AuthorityId, AuthorityKeys};
use quet_protocol::bulletin::{Bulletin, BulletinDraft};
use quet_protocol::category::Category;
use quet_protocol::code::{CodeIssuer, VenueInfo};
use quet_protocol::notice::{ExposureNotice, NoticeBody, Severity};
use quet_protocol::testing::{DeterministicRng, test_rng};
use quet_protocol::time::{EpochKind, UnixTime};
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

    /// The notice the HA would publish for a case at `venue` during [arrival, departure).
    pub fn notice_for(
        &mut self,
        venue: &CodeIssuer,
        arrival: UnixTime,
        departure: UnixTime,
        kind: EpochKind,
    ) -> ExposureNotice {
        let (epoch_window, exact) = quet_protocol::notice::trace_windows(
            arrival,
            departure,
            venue.venue().max_stay_secs(),
            0,
        )
        .unwrap();
        let day_keys: Vec<_> = [arrival.day().unwrap(), departure.day().unwrap()]
            .iter()
            .flat_map(|d| [d.prev().unwrap(), *d, d.next().unwrap()])
            .map(|d| venue.master().day_key(d))
            .collect();
        let body = NoticeBody {
            severity: Severity::Test,
            window_start: exact.0,
            window_end: exact.1,
            message_vi: "Bạn có thể đã tiếp xúc. Hãy đi xét nghiệm.".into(),
            message_en: "You may have been exposed. Please get tested.".into(),
        };
        ExposureNotice::build(&mut self.rng, &day_keys, kind, epoch_window, &body).unwrap()
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
        }
        .sign(&self.ha, &self.descriptor)
        .unwrap()
    }
}
