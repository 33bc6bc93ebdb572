//! Where a batch row's time goes: making a venue file, a poster PDF and a tracing
//! sheet PDF, each timed over a few venues (run with `--release`; the figures go in
//! the README beside the batch's own time).
use std::time::Instant;

use quet_protocol::authority::{AuthorityId, AuthorityKeys};
use quet_protocol::category::Category;
use quet_protocol::testing::test_rng;
use quet_protocol::time::{Day, UnixTime};
use quet_venue::pdf::{self, Paper, PrintExtras};
use quet_venue::venue::{NewVenue, Protection, Venue, generate_passphrase};

fn main() {
    let mut rng = test_rng(1);
    let ha = AuthorityKeys::generate(&mut rng);
    let d = ha.descriptor(AuthorityId(1), "Sở Y tế Hà Nội", "https://quet.example");
    let bytes = ha.sign_descriptor(&d).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let n = 20;
    let mut venues = Vec::new();
    let t = Instant::now();
    for i in 0..n {
        let new = NewVenue::new(
            format!("Quán Phở Số {i}"),
            format!("{i} Hàng Bạc, Hoàn Kiếm, Hà Nội"),
            Category::Restaurant,
            "https://quet.example",
            bytes.clone(),
        );
        let pass = generate_passphrase(&mut rng);
        venues.push(
            Venue::create_protected(
                &mut rng,
                &dir.path().join(format!("{i}.json")),
                &new,
                Protection::Generated(&pass),
            )
            .unwrap(),
        );
    }
    let make = t.elapsed() / n;
    let t = Instant::now();
    for v in &venues {
        pdf::poster_pdf(v, Day(20_717), Paper::A4, &PrintExtras::default()).unwrap();
    }
    let poster = t.elapsed() / n;
    let t = Instant::now();
    for v in &venues {
        quet_venue::printables::poster_html(v, Day(20_717)).unwrap();
    }
    let poster_html = t.elapsed() / n;
    let t = Instant::now();
    for v in &venues {
        pdf::tracing_sheet_pdf(
            v,
            UnixTime(1_790_000_000),
            Paper::A4,
            &PrintExtras::default(),
        )
        .unwrap();
    }
    let sheet = t.elapsed() / n;
    let t = Instant::now();
    for v in &venues {
        quet_venue::printables::poster_codes(v, Day(20_717)).unwrap();
    }
    let codes = t.elapsed() / n;
    println!(
        "per venue: file {make:?}, poster PDF {poster:?} (its 7 codes alone {codes:?}), poster HTML {poster_html:?}, tracing sheet PDF {sheet:?}"
    );
}
