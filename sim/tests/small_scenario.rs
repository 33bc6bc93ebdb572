//! The small scenario, in process: the real protocol and server code on a
//! 20,000-person town; zero false negatives against the ground truth, the report
//! and every plot written.

use quet_sim::{Scenario, report, run};

#[test]
fn small_scenario_notifies_everyone_who_shared_place_and_time_and_writes_its_report() {
    let out = tempfile::tempdir().unwrap();
    let s = Scenario::small();
    let r = run(&s, out.path(), true).unwrap();

    // The comparison is meaningful: the sample holds true exposures, and the real
    // matcher found every one of them.
    assert!(
        r.sample.truth_pairs > 0,
        "no exposure in the sample: the test would prove nothing"
    );
    assert_eq!(r.sample.false_negatives, 0, "{:?}", r.sample);
    assert_eq!(r.sample.fp_unexplained, 0, "{:?}", r.sample);
    assert_eq!(r.sample.model_disagreements, 0, "{:?}", r.sample);
    // City-wide, the model (checked against the matcher above) misses nobody either.
    assert!(r.counts.exposed_pairs > 0);
    assert_eq!(r.counts.model_false_negatives, 0);
    assert_eq!(r.counts.fp_unexplained, 0);
    // The server processed every upload and kept no envelope.
    assert_eq!(r.envelopes_left, 0);
    // Every peak day published real keys, and every phone downloaded them.
    assert_eq!(r.days.len(), s.days as usize);
    for d in &r.days {
        assert!(d.real_keys > 0 && d.keys >= d.real_keys, "{d:?}");
        assert!(d.bytes as usize > d.keys as usize * quet_sim::run::entry_bytes() as usize);
        assert_eq!(
            d.match_secs.len(),
            r.sample.phones.iter().map(|p| p.1).sum::<usize>()
        );
    }
    assert_eq!(r.sweep.len(), s.sweep_rates.len());
    assert!(
        r.sweep.windows(2).all(|w| w[1].real_keys > w[0].real_keys),
        "more cases, more keys"
    );

    let written = report::write(&r, out.path(), "test", ("-".into(), "-".into())).unwrap();
    let md = std::fs::read_to_string(&written.report).unwrap();
    assert!(md.contains("**false negatives: 0**"), "{md}");
    assert!(md.contains("## National view"));
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&written.json).unwrap()).unwrap();
    assert_eq!(json["run"]["sample"]["false_negatives"], 0);
    for stem in ["downloads_vs_cases", "matching_vs_cases", "venues", "daily"] {
        let svg = std::fs::read_to_string(out.path().join(format!("{stem}.svg"))).unwrap();
        assert!(
            svg.contains("<svg") && svg.contains("<text"),
            "{stem}.svg has no text"
        );
        let png = std::fs::read(out.path().join(format!("{stem}.png"))).unwrap();
        assert!(
            png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
            "{stem}.png"
        );
        assert!(
            written
                .plots
                .iter()
                .any(|p| p.ends_with(format!("{stem}.png")))
        );
    }
}
