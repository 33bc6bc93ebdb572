//! Decoys that nobody can tell from real notices (issue 13).
//!
//! In protocol 1.0 decoys always had a 144-byte body and 24 (hour) or 3 (day)
//! entries, and some covered hours after the bulletin's issue time: "count the day
//! notices and subtract 6" gave the exact number of real traces in every bulletin.
//! Here an authority publishes two months of bulletins the way `quet-server` does
//! (real traces of random venues, stays, buffers and report delays; decoys drawn
//! from the shapes of its earlier real notices up to a key bucket), and an observer
//! who holds every bulletin tries every rule we know of. Each rule is trained on one
//! half of the notices and scored on the other, like a real attacker would have to;
//! none beats guessing "decoy" for all of them by more than a hair. The same
//! observer, given 1.0-style decoys, catches them, so the test can fail.

use std::collections::{BTreeMap, HashSet};

use quet_protocol::authority::{AuthorityId, AuthorityKeys};
use quet_protocol::bulletin::{Bulletin, BulletinDraft};
use quet_protocol::category::Category;
use quet_protocol::notice::{
    ExposureNotice, NoticeBody, NoticeShape, Severity, TEMPLATE_NONE, TEMPLATE_TEST, TracePlan,
};
use quet_protocol::testing::{DeterministicRng, test_rng};
use quet_protocol::time::{Epoch, EpochKind, UnixTime, UtcOffset};
use quet_protocol::venue_keys::VenueMasterKey;
use rand_core::Rng;

const DAY: u64 = 86_400;
const START: u64 = 20_717 * DAY + 13 * 3_600;
const DAYS: u64 = 60;
const MIN_KEYS: usize = 1_024;
const OFFSET: UtcOffset = UtcOffset::VIETNAM;

/// What an observer sees of one notice, and whether it was real.
#[derive(Clone, Debug)]
struct Seen {
    bulletin: u64,
    real: bool,
    /// Visible tuple: (kinds, per-segment count, age of the last epoch in hours,
    /// sealed body length).
    kinds: Vec<u8>,
    counts: Vec<u16>,
    age_hours: u64,
    body_len: usize,
    future: bool,
}

impl Seen {
    fn tuple(&self) -> (Vec<u8>, Vec<u16>, u64, usize) {
        (
            self.kinds.clone(),
            self.counts.clone(),
            self.age_hours,
            self.body_len,
        )
    }
}

/// A real trace as the HA builds it for a random venue and case.
fn real_notice(rng: &mut DeterministicRng, issued: UnixTime) -> ExposureNotice {
    let categories = Category::ALL;
    let category = categories[(rng.next_u32() as usize) % categories.len()];
    let max_stay = u64::from(category.default_max_stay_minutes()) * 60;
    let stay = 300 + u64::from(rng.next_u32()) % max_stay;
    let delay = DAY + u64::from(rng.next_u32()) % (6 * DAY);
    let departure = issued.saturating_sub(delay);
    let arrival = departure.saturating_sub(stay.min(max_stay));
    let mut kinds = vec![EpochKind::SeededHour];
    if rng.next_u32() % 10 < 3 {
        kinds.push(EpochKind::LocalDay);
    }
    let buffer = [0, 900, 1_800, 3_600][(rng.next_u32() % 4) as usize];
    let plan =
        TracePlan::new(arrival, departure, max_stay, buffer, &kinds, OFFSET, issued).expect("plan");
    let master = VenueMasterKey::generate(rng);
    let keys: Vec<_> = plan.days().iter().map(|d| master.day_key(*d)).collect();
    let custom = rng.next_u32().is_multiple_of(5);
    let text: String =
        "Khu vực phong tỏa; liên hệ trạm y tế phường. ".repeat(1 + (rng.next_u32() % 6) as usize);
    let body = NoticeBody {
        severity: Severity::Test,
        window_start: plan.exact.0,
        window_end: plan.exact.1,
        template: if custom { TEMPLATE_NONE } else { TEMPLATE_TEST },
        message_vi: if custom { text.clone() } else { String::new() },
        message_en: if custom { text } else { String::new() },
    };
    ExposureNotice::build(rng, &keys, &plan.segments, &body).expect("notice")
}

fn observe(b: &Bulletin, real: &HashSet<[u8; 16]>) -> Vec<Seen> {
    let issue_hour = Epoch::containing(EpochKind::SeededHour, b.issued_at)
        .unwrap()
        .index;
    b.notices
        .iter()
        .map(|n| {
            let last = n.segments[0].last();
            let last_hour = last.start_with(OFFSET).0 / 3_600;
            Seen {
                bulletin: b.sequence,
                real: real.contains(&n.nonce),
                kinds: n.segments.iter().map(|s| s.first.kind.to_byte()).collect(),
                counts: n
                    .segments
                    .iter()
                    .map(|s| u16::try_from(s.entries.len()).unwrap())
                    .collect(),
                age_hours: u64::from(issue_hour).saturating_sub(last_hour),
                body_len: n.sealed_body.len(),
                future: n
                    .segments
                    .iter()
                    .any(|s| s.last().start_with(OFFSET) > b.issued_at),
            }
        })
        .collect()
}

/// Two months of bulletins; `decoys` pads a draft given the pool of earlier real
/// shapes. Returns what the observer saw, and the real count per bulletin.
fn publish_months(
    decoys: impl Fn(&mut BulletinDraft, &mut DeterministicRng, &[NoticeShape]),
) -> (Vec<Seen>, Vec<(usize, Vec<Seen>)>) {
    let mut rng = test_rng(31);
    let ha = AuthorityKeys::generate(&mut rng);
    let d = ha.descriptor(AuthorityId(1), "HA", "https://q.example");
    let mut pool: Vec<NoticeShape> = Vec::new();
    let mut all = Vec::new();
    let mut per_bulletin = Vec::new();
    for day in 0..DAYS {
        let issued = UnixTime(START + day * DAY + u64::from(rng.next_u32() % 7_200));
        let n_real = 20 + (rng.next_u32() % 60) as usize;
        let reals: Vec<ExposureNotice> =
            (0..n_real).map(|_| real_notice(&mut rng, issued)).collect();
        let real_nonces: HashSet<[u8; 16]> = reals.iter().map(|n| n.nonce).collect();
        let shapes_now: Vec<NoticeShape> = reals.iter().map(|n| n.shape(issued, OFFSET)).collect();
        let mut draft = BulletinDraft {
            sequence: day + 1,
            issued_at: issued,
            expires_at: UnixTime(issued.0 + 14 * DAY),
            notices: reals,
            ..BulletinDraft::default()
        };
        decoys(&mut draft, &mut rng, &pool);
        pool.extend(shapes_now);
        let b = draft.sign(&ha, &d).unwrap();
        let seen = observe(&b, &real_nonces);
        per_bulletin.push((n_real, seen.clone()));
        all.extend(seen);
    }
    (all, per_bulletin)
}

/// The best an observer can do with one feature: learn, on even bulletins, the
/// majority label of each feature value; predict odd bulletins with it (unseen
/// values: the overall majority). Returns (accuracy, baseline accuracy).
fn held_out<K: Ord + Clone>(seen: &[Seen], feature: impl Fn(&Seen) -> K) -> (f64, f64) {
    let (train, test): (Vec<&Seen>, Vec<&Seen>) = seen.iter().partition(|s| s.bulletin % 2 == 0);
    let mut votes: BTreeMap<K, (u32, u32)> = BTreeMap::new();
    for s in &train {
        let e = votes.entry(feature(s)).or_default();
        if s.real {
            e.0 += 1;
        } else {
            e.1 += 1;
        }
    }
    let reals = train.iter().filter(|s| s.real).count();
    let default_real = reals * 2 > train.len();
    let correct = test
        .iter()
        .filter(|s| {
            let guess = votes.get(&feature(s)).map_or(default_real, |(r, d)| r > d);
            guess == s.real
        })
        .count();
    let base_real = test.iter().filter(|s| s.real).count();
    let baseline = base_real.max(test.len() - base_real);
    (
        correct as f64 / test.len() as f64,
        baseline as f64 / test.len() as f64,
    )
}

/// "A shape seen for the first time is a real one": the original precedes its
/// copies. Accuracy of predicting real exactly for first occurrences.
fn first_occurrence(seen: &[Seen]) -> (f64, f64) {
    let mut met = HashSet::new();
    let mut correct = 0;
    for s in seen {
        let first = met.insert(s.tuple());
        if first == s.real {
            correct += 1;
        }
    }
    let reals = seen.iter().filter(|s| s.real).count();
    (
        f64::from(correct) / seen.len() as f64,
        reals.max(seen.len() - reals) as f64 / seen.len() as f64,
    )
}

fn pearson(xs: &[f64], ys: &[f64]) -> f64 {
    let n = xs.len() as f64;
    let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
    let cov: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let vx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
    let vy: f64 = ys.iter().map(|y| (y - my).powi(2)).sum();
    if vx == 0.0 || vy == 0.0 {
        0.0
    } else {
        cov / (vx.sqrt() * vy.sqrt())
    }
}

/// A rule's name, its held-out accuracy and the baseline.
type RuleScore = (&'static str, f64, f64);
/// A per-bulletin count's name and its correlation with the real count.
type EstimatorScore = (&'static str, f64);

/// Every rule an observer tries; and per-bulletin counts that might estimate the
/// number of real notices.
fn attack(
    seen: &[Seen],
    per_bulletin: &[(usize, Vec<Seen>)],
) -> (Vec<RuleScore>, Vec<EstimatorScore>) {
    let rules = vec![
        ("body length", held_out(seen, |s| s.body_len)),
        ("segment kinds", held_out(seen, |s| s.kinds.clone())),
        ("entry counts", held_out(seen, |s| s.counts.clone())),
        ("age in hours", held_out(seen, |s| s.age_hours)),
        ("whole visible shape", held_out(seen, Seen::tuple)),
        ("covers the future", held_out(seen, |s| s.future)),
        ("first occurrence", first_occurrence(seen)),
    ]
    .into_iter()
    .map(|(n, (a, b))| (n, a, b))
    .collect();
    let reals: Vec<f64> = per_bulletin.iter().map(|(r, _)| *r as f64).collect();
    let count = |f: &dyn Fn(&Seen) -> bool| -> Vec<f64> {
        per_bulletin
            .iter()
            .map(|(_, s)| s.iter().filter(|x| f(x)).count() as f64)
            .collect()
    };
    let estimators = vec![
        ("notices", pearson(&reals, &count(&|_| true))),
        (
            "notices with a day segment",
            pearson(&reals, &count(&|s| s.kinds.len() == 2)),
        ),
        (
            "template-sized bodies",
            pearson(&reals, &count(&|s| s.body_len == 48)),
        ),
    ];
    (rules, estimators)
}

#[test]
fn no_rule_tells_decoys_from_real_notices() {
    let (seen, per_bulletin) = publish_months(|draft, rng, pool| {
        draft.pad_with_decoys(rng, MIN_KEYS, pool, OFFSET).unwrap();
    });
    let decoys = seen.iter().filter(|s| !s.real).count();
    assert!(decoys > 2_000, "enough decoys to judge: {decoys}");
    assert!(
        seen.iter().all(|s| !s.future),
        "no notice covers the future"
    );
    let (rules, estimators) = attack(&seen, &per_bulletin);
    for (name, accuracy, baseline) in &rules {
        println!("{name}: {accuracy:.3} vs baseline {baseline:.3}");
        assert!(
            accuracy - baseline < 0.03,
            "the rule '{name}' tells decoys apart: {accuracy:.3} vs {baseline:.3}"
        );
    }
    for (name, r) in &estimators {
        println!("corr(real notices, {name}) = {r:.2}");
        assert!(
            r.abs() < 0.5,
            "'{name}' per bulletin estimates the number of real traces (r = {r:.2})"
        );
    }
}

/// The same observer against decoys made the 1.0 way (fixed 24-hour and 3-day
/// shapes, one fixed body length, first epoch anywhere in the last 14 days): caught.
#[test]
fn the_observer_catches_decoys_made_the_old_way() {
    let (seen, per_bulletin) = publish_months(|draft, rng, _| {
        let issued = draft.issued_at;
        let mut i = 0;
        while draft.key_count() < MIN_KEYS {
            let kind = if i % 9 == 8 {
                EpochKind::LocalDay
            } else {
                EpochKind::SeededHour
            };
            let (count, span) = if kind == EpochKind::LocalDay {
                (3, 14)
            } else {
                (24, 14 * 24)
            };
            let back = u64::from(rng.next_u32() % span) * kind.length_secs();
            let shape = NoticeShape {
                segments: vec![quet_protocol::notice::SegmentShape {
                    kind,
                    count,
                    // 1.0 placed the *first* epoch up to 14 days back: the rest could
                    // reach past the issue time.
                    ends_before: back.saturating_sub(u64::from(count) * kind.length_secs()),
                }],
                sealed_body_len: 80,
            };
            let mut d = ExposureNotice::decoy_like(rng, &shape, issued, OFFSET).unwrap();
            // Let the segment run into the future as 1.0 did.
            let start = Epoch::containing_with(kind, issued.saturating_sub(back), OFFSET).unwrap();
            d.segments[0].first = start;
            draft.notices.push(d);
            i += 1;
        }
    });
    let (rules, _) = attack(&seen, &per_bulletin);
    let best = rules.iter().map(|(_, a, b)| a - b).fold(f64::MIN, f64::max);
    assert!(
        best > 0.2,
        "the distinguisher must catch 1.0 decoys ({best:.3})"
    );
}
