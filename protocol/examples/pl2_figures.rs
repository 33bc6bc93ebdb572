//! The figures behind the threat model's statement of PL2 ("a visitor at 9:00
//! learns nothing about a notice for 15:00") and behind the decision not to add an
//! exit scan in protocol 1.1.
//!
//! ```sh
//! cargo run --release -p quet-protocol --example pl2_figures
//! ```
//!
//! For a case who stayed 60 minutes, with the HA's usual 30-minute buffer, at a
//! venue of each category (its default maximum stay), it uses the real
//! [`TracePlan`] to count the hour keys a trace publishes, then simulates visitors
//! arriving uniformly over the day around the case with stays uniform between 10
//! minutes and the maximum, and counts:
//!
//! - *contacts*: visitors whose stay overlaps the exact window (they are alerted);
//! - *readers*: visitors who can open the notice's body (their scan's hour is
//!   published), and so learn that a case was there and when;
//! - with an exit scan (a second scan on leaving, body wrapped under the pair of
//!   arrival- and leaving-hour secrets), the wraps a notice needs (one per pair of
//!   hours a stay can span) and the bytes per published key that costs, and the
//!   readers it would leave (visitors present in a published hour of the window).
//!
//! It prints a Markdown table; `spec/threat-model.md` quotes it.

use quet_protocol::category::Category;
use quet_protocol::notice::TracePlan;
use quet_protocol::testing::test_rng;
use quet_protocol::time::{EpochKind, UnixTime, UtcOffset};
use rand_core::Rng;

const HOUR: u64 = 3_600;
const CASE_ARRIVAL: u64 = 20_717 * 86_400 + 15 * HOUR;
const CASE_STAY: u64 = HOUR;
const BUFFER: u64 = 1_800;
const VISITORS: u64 = 200_000;

fn main() {
    let mut rng = test_rng(7);
    println!(
        "| category (max stay) | hour keys | contacts | readers per contact (one scan) | readers per contact (exit scan) | wraps per notice (exit scan) | B/key, one scan | B/key, exit scan |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut cats: Vec<Category> = Category::ALL.to_vec();
    cats.sort_by_key(|c| c.default_max_stay_minutes());
    cats.dedup_by_key(|c| c.default_max_stay_minutes());
    for c in cats {
        let max_stay = u64::from(c.default_max_stay_minutes()) * 60;
        let arrival = UnixTime(CASE_ARRIVAL);
        let departure = UnixTime(CASE_ARRIVAL + CASE_STAY);
        let plan = TracePlan::new(
            arrival,
            departure,
            max_stay,
            BUFFER,
            &[EpochKind::SeededHour],
            UtcOffset::VIETNAM,
            UnixTime(u64::MAX / 2),
        )
        .unwrap();
        let hours: Vec<u64> = plan.segments[0]
            .iter()
            .map(|e| u64::from(e.index))
            .collect();
        let (first, last) = (hours[0], hours[hours.len() - 1]);
        let (exact_start, exact_end) = (plan.exact.0.0, plan.exact.1.0);
        let exact_hours = (exact_start / HOUR)..=((exact_end - 1) / HOUR);
        let (mut contacts, mut readers, mut exit_readers) = (0u64, 0u64, 0u64);
        for _ in 0..VISITORS {
            let a = CASE_ARRIVAL - 12 * HOUR + rng.next_u64() % (24 * HOUR);
            let stay = 600 + rng.next_u64() % (max_stay - 600).max(1);
            let d = a + stay;
            if (first..=last).contains(&(a / HOUR)) {
                readers += 1;
            }
            if a < exact_end && d > exact_start {
                contacts += 1;
            }
            // With an exit scan, only stays spanning an hour of the window open it.
            let present = (a / HOUR)..=(d / HOUR);
            if present.start() <= exact_hours.end() && present.end() >= exact_hours.start() {
                exit_readers += 1;
            }
        }
        // Pairs (arrival hour, leaving hour) whose span can include the window.
        let max_hours = max_stay.div_ceil(HOUR);
        let mut wraps = 0u64;
        for a in first..=last {
            for l in a..=a + max_hours {
                if l >= *exact_hours.start() && a <= *exact_hours.end() {
                    wraps += 1;
                }
            }
        }
        let keys = hours.len() as u64;
        let overhead = 16 + 1 + 7 + 2 + 48; // nonce, segment header, body length, body
        let one_scan = (keys * 32 + overhead) as f64 / keys as f64;
        let exit_scan = (keys * 16 + wraps * 16 + overhead) as f64 / keys as f64;
        println!(
            "| {} ({} min) | {} | {} | {:.1} | {:.1} | {} | {:.0} | {:.0} |",
            c.slug(),
            max_stay / 60,
            keys,
            contacts,
            readers as f64 / contacts as f64,
            exit_readers as f64 / contacts as f64,
            wraps,
            one_scan,
            exit_scan
        );
    }
    println!();
    println!(
        "Case stay {} min, buffer {} min, {VISITORS} visitors arriving uniformly within 12 h of the case, stays uniform 10 min..max. With an exit scan and no fallback, a visitor who forgets it is never alerted: n% forgetting = n% of contacts missed; with a fallback for them, the one-scan readers come back.",
        CASE_STAY / 60,
        BUFFER / 60
    );
}
