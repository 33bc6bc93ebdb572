//! The ward-office batch against its reference, measured in the same run on the same
//! in-process authority server (loopback): 1,000 CSV rows through `batch::run`
//! (venue files, registration in chunks of 250, printouts) versus 1,000 venues
//! registering themselves one request at a time (`POST /v1/registrations`, the
//! per-address limit raised for the measurement). Run:
//! `cargo run -p quet-venue --example batch_bench [--release] [-- pdf]`.
use std::time::Instant;

use quet_protocol::category::Category;
use quet_venue::batch::{BatchOptions, run};
use quet_venue::venue::{NewVenue, Venue};

const ROWS: usize = 1000;

fn main() {
    let pdf = std::env::args().any(|a| a == "pdf");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ha");
    quet_server::init_authority(&quet_server::InitOptions {
        data_dir: data.clone(),
        name: "Sở Y tế Hà Nội".into(),
        base_url: "https://quet.example".into(),
        id: None,
    })
    .unwrap();
    let officer = quet_server::add_ward_officer(&data, "Phường Hàng Bạc", "Hoàn Kiếm").unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut config = quet_server::Config::new(&data, "127.0.0.1:0".parse().unwrap());
    config.attempts_per_minute = 1_000_000;
    config.global_attempts_per_second = 1_000_000;
    let server = rt.block_on(quet_server::start(config, false)).unwrap();
    let base = server.base_url();
    let descriptor = quet_venue::http::get_bytes(&format!("{base}/v1/descriptor"), 8192).unwrap();

    // Reference: 1,000 self-registrations, one request each (venue files made
    // beforehand, not timed).
    let venues: Vec<Venue> = (0..ROWS)
        .map(|i| {
            let new = NewVenue::new(
                format!("Tiệm Bánh Số {i}"),
                format!("{i} Hàng Bè, Hoàn Kiếm"),
                Category::Restaurant,
                &base,
                descriptor.clone(),
            );
            Venue::create(
                &mut quet_venue::system_rng(),
                &dir.path().join(format!("self-{i}.json")),
                &new,
                None,
            )
            .unwrap()
        })
        .collect();
    let t = Instant::now();
    for v in &venues {
        let signed = quet_venue::registration::signed_request(v, "Hoàn Kiếm").unwrap();
        let (status, body) = quet_venue::http::json_request(
            "POST",
            &format!("{base}/v1/registrations"),
            None,
            Some(&serde_json::to_value(&signed).unwrap()),
        )
        .unwrap();
        assert_eq!(status, 202, "{body}");
    }
    let reference = t.elapsed().as_secs_f64();

    // The batch: 1,000 rows, everything from the CSV to the printouts.
    let cats = ["restaurant", "market", "office", "school", "mall", "gym"];
    let mut csv = String::from("name,address,category,district\n");
    for i in 0..ROWS {
        csv.push_str(&format!(
            "Quán Phở Số {i},{i} Hàng Bạc Hoàn Kiếm,{},Hoàn Kiếm\n",
            cats[i % cats.len()]
        ));
    }
    let csv_path = dir.path().join("shops.csv");
    std::fs::write(&csv_path, csv).unwrap();
    let today = quet_venue::timefmt::local_day(
        quet_venue::display::Clock::now(&quet_venue::display::SystemClock),
        420,
    )
    .unwrap();
    let opts = BatchOptions {
        csv: csv_path,
        out: dir.path().join("out"),
        server_url: base.clone(),
        descriptor,
        expected_fingerprint: None,
        token: officer,
        pdf,
        paper: quet_venue::pdf::Paper::A4,
        first_day: today,
        validity_days: None,
        utc_offset_minutes: 420,
    };
    let t = Instant::now();
    let report = run(&opts).unwrap();
    let batch = t.elapsed().as_secs_f64();
    assert_eq!(report.registered_now, ROWS);
    assert!(report.rows.iter().all(|r| r.error.is_none()));
    let t = Instant::now();
    let again = run(&opts).unwrap();
    let rerun = t.elapsed().as_secs_f64();
    assert_eq!(again.registered_now, 0);

    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "{ROWS} rows, {} printouts, {cpus} cores, load average {}",
        if pdf { "PDF" } else { "HTML" },
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!("reference: {ROWS} self-registrations one by one: {reference:.2} s");
    println!(
        "batch: {batch:.2} s = {:.2} x the reference; rerun (nothing to do): {rerun:.2} s = {:.3} x",
        batch / reference,
        rerun / reference
    );
    rt.block_on(server.shutdown()).unwrap();
}
