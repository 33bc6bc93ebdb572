//! The report page (`report.md`), its data (`report.json`) and its plots.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::SimError;
use crate::national::{self, National};
use crate::plots::{self, Chart, Series};
use crate::run::{self, RunReport, percentile_f64};

/// What was written.
#[derive(Clone, Debug)]
pub struct Written {
    /// The Markdown report.
    pub report: PathBuf,
    /// The JSON data.
    pub json: PathBuf,
    /// Every plot file (SVG and PNG).
    pub plots: Vec<PathBuf>,
}

fn mb(b: f64) -> String {
    if b >= 1e12 {
        format!("{:.1} TB", b / 1e12)
    } else if b >= 1e9 {
        format!("{:.2} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.2} MB", b / 1e6)
    } else {
        format!("{:.1} kB", b / 1e3)
    }
}

fn secs(s: f64) -> String {
    if s >= 1.0 {
        format!("{s:.2} s")
    } else {
        format!("{:.1} ms", s * 1e3)
    }
}

fn mean(v: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = v.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    if n == 0 { 0.0 } else { s / n as f64 }
}

/// The plots of a run.
pub fn charts(r: &RunReport) -> Vec<Chart> {
    let pairing = r.references.pairing;
    let sweep = &r.sweep;
    vec![
        Chart {
            stem: "downloads_vs_cases".into(),
            title: "Bulletin download per phone per day".into(),
            x_label: "confirmed cases per day".into(),
            y_label: "MB per phone per day".into(),
            log_x: true,
            log_y: true,
            series: vec![
                Series {
                    name: "Quét (real bulletins, decoys included)".into(),
                    points: sweep
                        .iter()
                        .map(|p| (f64::from(p.cases_per_day), p.bytes as f64 / 1e6))
                        .collect(),
                },
                Series {
                    name: "CrowdNotifier-style model (80 B per hour key)".into(),
                    points: sweep
                        .iter()
                        .map(|p| {
                            (
                                f64::from(p.cases_per_day),
                                run::crowdnotifier_bytes(p.real_hour_keys) as f64 / 1e6,
                            )
                        })
                        .collect(),
                },
            ],
        },
        Chart {
            stem: "matching_vs_cases".into(),
            title: "Matching time per phone per day (one core)".into(),
            x_label: "confirmed cases per day".into(),
            y_label: "seconds per phone per day".into(),
            log_x: true,
            log_y: true,
            series: vec![
                Series {
                    name: "Quét (real matcher, median phone)".into(),
                    points: sweep
                        .iter()
                        .map(|p| (f64::from(p.cases_per_day), p.match_secs_median))
                        .collect(),
                },
                Series {
                    name: "CrowdNotifier-style model (one pairing per candidate)".into(),
                    points: sweep
                        .iter()
                        .map(|p| {
                            (
                                f64::from(p.cases_per_day),
                                p.cn_candidates_median as f64 * pairing,
                            )
                        })
                        .collect(),
                },
            ],
        },
        Chart {
            stem: "venues".into(),
            title: "People per case as the number of venues grows (tenth-size city)".into(),
            x_label: "venues".into(),
            y_label: "people per confirmed case".into(),
            log_x: true,
            log_y: true,
            series: vec![
                Series {
                    name: "truly shared place and time (ground truth)".into(),
                    points: r
                        .venue_sweep
                        .iter()
                        .map(|p| (f64::from(p.venues), p.exposed_per_case))
                        .collect(),
                },
                Series {
                    name: "alerted by Quét".into(),
                    points: r
                        .venue_sweep
                        .iter()
                        .map(|p| (f64::from(p.venues), p.alerts_per_case))
                        .collect(),
                },
                Series {
                    name: "learn of the case, not alerted: Quét".into(),
                    points: r
                        .venue_sweep
                        .iter()
                        .map(|p| (f64::from(p.venues), p.learners_quet_per_case))
                        .collect(),
                },
                Series {
                    name: "learn of the case, not alerted: static code (same day)".into(),
                    points: r
                        .venue_sweep
                        .iter()
                        .map(|p| (f64::from(p.venues), p.learners_static_per_case))
                        .collect(),
                },
            ],
        },
        Chart {
            stem: "daily".into(),
            title: format!("{}: each peak day", r.scenario.title),
            x_label: "peak day".into(),
            y_label: "MB per phone / seconds per phone".into(),
            log_x: false,
            log_y: false,
            series: vec![
                Series {
                    name: "download, MB".into(),
                    points: r
                        .days
                        .iter()
                        .enumerate()
                        .map(|(i, d)| ((i + 1) as f64, d.bytes as f64 / 1e6))
                        .collect(),
                },
                Series {
                    name: "matching p95, s (timed phones)".into(),
                    points: r
                        .days
                        .iter()
                        .enumerate()
                        .map(|(i, d)| ((i + 1) as f64, percentile_f64(&d.match_secs, 95.0)))
                        .collect(),
                },
                Series {
                    name: "CrowdNotifier-style download, MB".into(),
                    points: r
                        .days
                        .iter()
                        .enumerate()
                        .map(|(i, d)| {
                            (
                                (i + 1) as f64,
                                run::crowdnotifier_bytes(d.real_hour_keys) as f64 / 1e6,
                            )
                        })
                        .collect(),
                },
            ],
        },
    ]
}

/// Writes the report, its JSON and its plots into `out`.
pub fn write(
    r: &RunReport,
    out: &Path,
    command: &str,
    load: (String, String),
) -> Result<Written, SimError> {
    let mut plot_files = Vec::new();
    for c in charts(r) {
        let (svg, png) = plots::write(out, &c)?;
        plot_files.push(svg);
        plot_files.push(png);
    }
    let nat = national::compute(r);
    let json = out.join("report.json");
    let value = serde_json::json!({ "run": r, "national": nat });
    std::fs::write(
        &json,
        serde_json::to_vec_pretty(&value).map_err(|e| SimError::Plot(e.to_string()))?,
    )?;
    let report = out.join("report.md");
    std::fs::write(&report, markdown(r, &nat, command, load))?;
    Ok(Written {
        report,
        json,
        plots: plot_files,
    })
}

/// The headline figures as Markdown table rows (also used by the root README).
pub fn headline(r: &RunReport) -> String {
    let s = &r.scenario;
    let days = r.days.len().max(1) as f64;
    let bytes = mean(r.days.iter().map(|d| d.bytes as f64));
    let keys: u64 = r.days.iter().map(|d| d.keys).sum();
    let real: u64 = r.days.iter().map(|d| d.real_keys).sum();
    let total_bytes: u64 = r.days.iter().map(|d| d.bytes).sum();
    let hour_keys = mean(r.days.iter().map(|d| d.real_hour_keys as f64));
    let all_match: Vec<f64> = r
        .days
        .iter()
        .flat_map(|d| d.match_secs.iter().copied())
        .collect();
    let model: Vec<f64> = r
        .days
        .iter()
        .flat_map(|d| d.model_match_secs.iter().copied())
        .collect();
    let cn: Vec<f64> = r
        .days
        .iter()
        .flat_map(|d| {
            d.cn_candidates
                .iter()
                .map(|c| *c as f64 * r.references.pairing)
        })
        .collect();
    let ha = mean(r.days.iter().map(|d| d.ha.total().as_secs_f64()));
    let publish = mean(
        r.days
            .iter()
            .map(|d| d.ha.publish.as_secs_f64() / d.ha.bulletins.max(1) as f64),
    );
    let cases = r.counts.cases.max(1) as f64;
    let mut t = String::new();
    let _ = writeln!(
        t,
        "| figure ({}, {} cases/day, {} peak days) | Quét (measured) | CrowdNotifier-style model |",
        s.name, s.cases_per_day, s.days
    );
    let _ = writeln!(t, "| --- | --- | --- |");
    let _ = writeln!(
        t,
        "| bulletin download per phone per day (every phone of the city downloads the same) | {} | {} |",
        mb(bytes),
        mb(hour_keys * run::CROWDNOTIFIER_BYTES_PER_KEY as f64)
    );
    let _ = writeln!(
        t,
        "| published keys per day (real / with decoys) | {:.0} / {:.0} | {:.0} (hour keys only) |",
        real as f64 / days,
        keys as f64 / days,
        hour_keys
    );
    let _ = writeln!(
        t,
        "| bytes per published key, whole bulletin, decoys included | {:.1} | {} |",
        total_bytes as f64 / keys.max(1) as f64,
        run::CROWDNOTIFIER_BYTES_PER_KEY
    );
    let unusable: u64 = r.days.iter().map(|d| d.unusable_day_keys).sum();
    let _ = writeln!(
        t,
        "| real keys no phone can use (day keys of venues without posters) | {:.0} % | — |",
        100.0 * unusable as f64 / real.max(1) as f64
    );
    let _ = writeln!(
        t,
        "| matching per phone per day, p50 / p95 / p99 (timed sample, 1 core) | {} / {} / {} | — |",
        secs(percentile_f64(&all_match, 50.0)),
        secs(percentile_f64(&all_match, 95.0)),
        secs(percentile_f64(&all_match, 99.0))
    );
    let _ = writeln!(
        t,
        "| matching per phone per day, p50 / p95 / p99 ({} phones, candidates × measured cost) | {} / {} / {} | {} / {} / {} |",
        s.model_phones,
        secs(percentile_f64(&model, 50.0)),
        secs(percentile_f64(&model, 95.0)),
        secs(percentile_f64(&model, 99.0)),
        secs(percentile_f64(&cn, 50.0)),
        secs(percentile_f64(&cn, 95.0)),
        secs(percentile_f64(&cn, 99.0))
    );
    let _ = writeln!(
        t,
        "| CDN egress per day ({:.2} M phones) | {} | {} |",
        r.phones_in_city as f64 / 1e6,
        mb(bytes * r.phones_in_city as f64),
        mb(hour_keys * 80.0 * r.phones_in_city as f64)
    );
    let _ = writeln!(
        t,
        "| HA CPU per day (verify, store, approve, publish; 1 core) | {} | — |",
        secs(ha)
    );
    let _ = writeln!(
        t,
        "| HA time per bulletin published | {} | — |",
        secs(publish)
    );
    let _ = writeln!(
        t,
        "| alerts per confirmed case (whole city) | {:.1} | same rule |",
        r.counts.alerted_pairs as f64 / cases
    );
    let _ = writeln!(
        t,
        "| people not alerted who learn of a case at their venue, per case (PL2) | {:.1} | {:.1} (static code, same day); {:.1} (over the simulated days) |",
        r.counts.learners_quet as f64 / cases,
        r.counts.learners_static_same_day as f64 / cases,
        r.counts.learners_static_window as f64 / cases
    );
    let _ = writeln!(
        t,
        "| false negatives (real matcher vs ground truth) | {} | — |",
        r.sample.false_negatives
    );
    t
}

fn markdown(r: &RunReport, nat: &National, command: &str, load: (String, String)) -> String {
    let s = &r.scenario;
    let refs = &r.references;
    let mut m = String::new();
    let _ = writeln!(m, "# quet-sim report: {}\n", s.title);
    let _ = writeln!(
        m,
        "Regenerate with `{command}`. Scenario parameters and their sources: `sim/README.md`; all data: `report.json`.\n"
    );
    let _ = writeln!(
        m,
        "Load average of the machine (1, 5, 15 min) at the start: {}; at the end: {}.\n",
        load.0, load.1
    );
    let _ = writeln!(m, "## Headline\n\n{}", headline(r));
    let _ = writeln!(
        m,
        "\nReference operations measured in this run (one core): constant-time X25519 {:.1} µs, Ed25519 `verify_strict` {:.1} µs, one BLS12-381 pairing (blst) {:.0} µs. Matching cost per candidate on the timed phones: {:.1} µs = {:.2}× one X25519, {:.0}× cheaper than a pairing.\n",
        refs.x25519 * 1e6,
        refs.ed25519_verify * 1e6,
        refs.pairing * 1e6,
        r.secs_per_candidate * 1e6,
        r.secs_per_candidate / refs.x25519,
        refs.pairing / r.secs_per_candidate
    );

    let _ = writeln!(
        m,
        "## Does everyone who shared a place and time get notified?\n"
    );
    let sc = &r.sample;
    let _ = writeln!(
        m,
        "Real matcher on {} phones ({}) holding {} real tokens, against the real bulletins:\n",
        sc.phones.iter().map(|p| p.1).sum::<usize>(),
        sc.phones
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect::<Vec<_>>()
            .join(", "),
        sc.tokens
    );
    let _ = writeln!(
        m,
        "- ground-truth pairs (phone check-in, case check-in with overlapping true stays): {}",
        sc.truth_pairs
    );
    let _ = writeln!(m, "- pairs the matcher alerted: {}", sc.matched_pairs);
    let _ = writeln!(m, "- **false negatives: {}**", sc.false_negatives);
    let _ = writeln!(
        m,
        "- false positives: {} ({} within the {}-minute buffer the HA adds, {} from a stay recorded to the maximum because the phone did not check out, {} unexplained)",
        sc.false_positives, sc.fp_buffer, s.buffer_minutes, sc.fp_no_checkout, sc.fp_unexplained
    );
    let _ = writeln!(
        m,
        "- pairs where the real matcher and the city-wide model differ: {}\n",
        sc.model_disagreements
    );
    let c = &r.counts;
    let _ = writeln!(
        m,
        "Whole city (model checked against the matcher above): {} visits ({} scanned by phone, {} checked in by staff), {} cases of which {} uploaded {} check-ins; {} true phone exposures ({} people); {} alerts; model false negatives {}; false positives {} by the buffer, {} by missing check-outs, {} unexplained. Staff-checked-in visitors who truly overlapped a reported case: {} (reached through the venue's assisted log, not by phones). True overlaps with check-ins that no upload carried (case without a phone, no consent, or outside the report window): {}.\n",
        c.visits,
        c.phone_visits,
        c.assisted_visits,
        c.cases,
        c.uploading_cases,
        c.reported_visits,
        c.exposed_pairs,
        c.exposed_people,
        c.alerted_pairs,
        c.model_false_negatives,
        c.fp_buffer,
        c.fp_no_checkout,
        c.fp_unexplained,
        c.assisted_exposed,
        c.exposed_unreported
    );
    let _ = writeln!(
        m,
        "What PL2 costs. With Quét, someone who was at the venue in a published hour (or scanned its poster that day) can open the notice, so learns that a case was there, without being alerted: {} such person-notices ({} at poster venues). With a static code (CrowdNotifier, Corona-Warn-App, NHS), everyone who ever scanned the venue recognises the notice: {} person-notices from the same day alone, {} counting every scan of the simulated days before it.\n",
        c.learners_quet,
        c.learners_quet_poster,
        c.learners_static_same_day,
        c.learners_static_window
    );

    let _ = writeln!(m, "## Each peak day\n");
    let _ = writeln!(
        m,
        "| date | cases | uploads | bulletins | download per phone | keys (real) | bytes/key | phone verify | matching p50 / p95 / p99 (timed) | HA CPU (verify / store / approve / publish) | CrowdNotifier bytes |"
    );
    let _ = writeln!(
        m,
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    );
    for d in &r.days {
        let _ = writeln!(
            m,
            "| {} | {} | {} | {} | {} | {} ({}) | {:.1} | {} | {} / {} / {} | {} / {} / {} / {} | {} |",
            d.date,
            d.cases,
            d.uploads,
            d.bulletins,
            mb(d.bytes as f64),
            d.keys,
            d.real_keys,
            d.bytes as f64 / d.keys.max(1) as f64,
            secs(d.phone_verify_secs),
            secs(percentile_f64(&d.match_secs, 50.0)),
            secs(percentile_f64(&d.match_secs, 95.0)),
            secs(percentile_f64(&d.match_secs, 99.0)),
            secs(d.ha.verify.as_secs_f64()),
            secs(d.ha.store.as_secs_f64()),
            secs(d.ha.approve.as_secs_f64()),
            secs(d.ha.publish.as_secs_f64()),
            mb(run::crowdnotifier_bytes(d.real_hour_keys) as f64)
        );
    }
    let _ = writeln!(m, "\n![daily](daily.png)\n");

    let _ = writeln!(m, "## From 10 to 10,000 cases a day\n");
    let _ = writeln!(
        m,
        "One day of real venue traces at each rate (the HA's tracing-sheet path, which builds the same notices as an approval), published hourly by the server library, matched by {} timed phones.\n",
        s.sweep_phones
    );
    let _ = writeln!(
        m,
        "| cases/day | traces | bulletins | download per phone | keys (real) | matching, median phone | candidates | CrowdNotifier bytes | CrowdNotifier matching | HA CPU |"
    );
    let _ = writeln!(
        m,
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    );
    for p in &r.sweep {
        let _ = writeln!(
            m,
            "| {} | {} | {} | {} | {} ({}) | {} | {} | {} | {} | {} |",
            p.cases_per_day,
            p.traces,
            p.bulletins,
            mb(p.bytes as f64),
            p.keys,
            p.real_keys,
            secs(p.match_secs_median),
            p.candidates_median,
            mb(run::crowdnotifier_bytes(p.real_hour_keys) as f64),
            secs(p.cn_candidates_median as f64 * refs.pairing),
            secs(p.ha_secs)
        );
    }
    let _ = writeln!(
        m,
        "\n![downloads](downloads_vs_cases.png)\n\n![matching](matching_vs_cases.png)\n"
    );

    let _ = writeln!(m, "## As the number of venues grows\n");
    let _ = writeln!(
        m,
        "A tenth-size city (same people per venue at ×1), venues multiplied by the factor.\n"
    );
    let _ = writeln!(
        m,
        "| venues | ×density | cases | truly exposed / case | alerted / case | learn, Quét / case | learn, static code (same day) / case | real keys / case |"
    );
    let _ = writeln!(m, "| --- | --- | --- | --- | --- | --- | --- | --- |");
    for p in &r.venue_sweep {
        let _ = writeln!(
            m,
            "| {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
            p.venues,
            p.factor,
            p.cases,
            p.exposed_per_case,
            p.alerts_per_case,
            p.learners_quet_per_case,
            p.learners_static_per_case,
            p.keys_per_case
        );
    }
    let _ = writeln!(m, "\n![venues](venues.png)\n");

    let _ = writeln!(m, "## National view (computed from this run's figures)\n");
    let _ = writeln!(
        m,
        "63 provincial authorities; {:.1} M phones; {:.0} cases on the national peak day spread by population; phones sync their province and those visited in 14 days. Provinces other than the two cities sized by a rank-size rule (assumption; see `sim/README.md`).\n",
        nat.phones / 1e6,
        national::NATIONAL_PEAK_CASES
    );
    let _ = writeln!(m, "| figure | value |\n| --- | --- |");
    let _ = writeln!(
        m,
        "| bytes per confirmed case (this run) | {} |",
        mb(nat.bytes_per_case)
    );
    let _ = writeln!(
        m,
        "| a phone's daily download, median / p95 / p99 / max | {} / {} / {} / {} |",
        mb(nat.download_percentiles[0]),
        mb(nat.download_percentiles[1]),
        mb(nat.download_percentiles[2]),
        mb(nat.download_percentiles[3])
    );
    let _ = writeln!(m, "| CDN egress on the peak day | {} |", mb(nat.cdn_egress));
    let _ = writeln!(
        m,
        "| origin egress without a CDN (half the syncs in two evening hours) | {:.1} Gbit/s |",
        nat.origin_gbit_per_sec_without_cdn
    );
    let _ = writeln!(
        m,
        "| uploads / approved check-ins on the peak day | {:.0} / {:.0} |",
        nat.uploads, nat.approvals
    );
    let _ = writeln!(
        m,
        "| HA CPU per upload (100 envelopes) / per approval | {} / {} |",
        secs(nat.cpu_per_upload),
        secs(nat.cpu_per_approval)
    );
    let _ = writeln!(
        m,
        "| cores one quet-server hosting all 63 authorities needs at the peak hour | {:.3} |",
        nat.cores_at_peak_hour
    );
    let _ = writeln!(
        m,
        "| SQLite write transactions needed at the peak hour (all authorities) | {:.1}/s |",
        nat.tx_per_sec_needed
    );
    let _ = writeln!(
        m,
        "| SQLite write transactions one database sustained in this run | {:.0}/s |",
        nat.tx_per_sec_measured
    );
    let _ = writeln!(
        m,
        "| national cases/day at which one SQLite database saturates | {:.0} |",
        nat.sqlite_limit_cases_per_day
    );
    let _ = writeln!(
        m,
        "| bulletins stored by all authorities over 14 days | {} |",
        mb(nat.storage_14_days)
    );
    let _ = writeln!(m, "\n## Run\n\n| phase | seconds |\n| --- | --- |");
    for (name, t) in &r.phase_secs {
        let _ = writeln!(m, "| {name} | {t:.1} |");
    }
    let _ = writeln!(
        m,
        "\nEnvelopes left on the server after every upload was reviewed: {} (must be 0).",
        r.envelopes_left
    );
    let _ = writeln!(
        m,
        "\nThe HA's database was in `{}`; a durable commit (WAL, `synchronous = FULL`) on the output directory's disk took {} (measured, 100 commits), which the national view adds to every write transaction.",
        r.db_dir,
        secs(r.disk_commit_secs)
    );
    m
}
