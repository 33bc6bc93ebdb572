//! `quet-sim`: runs a scenario and writes its report and plots.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use quet_sim::{Scenario, report, run};

/// City-scale simulation of Quét on the real protocol and server code.
///
/// Mô phỏng quy mô thành phố: Hà Nội và TP. Hồ Chí Minh ở tuần cao điểm năm 2021.
#[derive(Parser, Debug)]
#[command(
    name = "quet-sim",
    version,
    after_help = "Examples:\n  quet-sim --small --out /tmp/sim\n  quet-sim --scenario hanoi-2021 --out sim-out/hanoi\n  quet-sim --scenario hcmc-2021 --out sim-out/hcmc"
)]
struct Args {
    /// Scenario: hanoi-2021, hcmc-2021 or small.
    #[arg(long, default_value = "hanoi-2021", conflicts_with = "small")]
    scenario: String,
    /// The small scenario (a 20,000-person town; under a minute).
    #[arg(long)]
    small: bool,
    /// Directory for report.md, report.json and the plots (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Overrides the seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Overrides the number of peak days.
    #[arg(long)]
    days: Option<u32>,
    /// Overrides the confirmed cases per day.
    #[arg(long)]
    cases_per_day: Option<u32>,
    /// Share of registered venues that display a code (1.0 = the directive obeyed).
    #[arg(long)]
    scanning_venue_share: Option<f64>,
    /// No progress lines on stderr.
    #[arg(long)]
    quiet: bool,
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let name = if args.small {
        "small"
    } else {
        args.scenario.as_str()
    };
    let Some(mut s) = Scenario::named(name) else {
        eprintln!(
            "quet-sim: không có kịch bản '{name}' / unknown scenario '{name}' (hanoi-2021, hcmc-2021, small)"
        );
        return ExitCode::from(2);
    };
    if let Some(seed) = args.seed {
        s.seed = seed;
    }
    if let Some(d) = args.days {
        s.days = d.max(1);
    }
    if let Some(c) = args.cases_per_day {
        s.cases_per_day = c;
    }
    if let Some(v) = args.scanning_venue_share {
        s.scanning_venue_share = v.clamp(0.0, 1.0);
    }
    let command = if args.small {
        format!(
            "cargo run --release -p quet-sim -- --small --out {}",
            args.out.display()
        )
    } else {
        format!(
            "cargo run --release -p quet-sim -- --scenario {name} --out {}",
            args.out.display()
        )
    };
    let load_start = load();
    let result = run(&s, &args.out, args.quiet).and_then(|r| {
        let written = report::write(&r, &args.out, &command, (load_start, load()))?;
        Ok((r, written))
    });
    match result {
        Ok((r, written)) => {
            println!("{}", report::headline(&r));
            println!("report: {}", written.report.display());
            println!("false negatives: {}", r.sample.false_negatives);
            if r.sample.false_negatives == 0
                && r.sample.model_disagreements == 0
                && r.envelopes_left == 0
            {
                ExitCode::SUCCESS
            } else {
                eprintln!(
                    "quet-sim: kết quả sai / wrong outcome: false negatives {}, model disagreements {}, envelopes left {}",
                    r.sample.false_negatives, r.sample.model_disagreements, r.envelopes_left
                );
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("quet-sim: lỗi / error: {e}");
            ExitCode::FAILURE
        }
    }
}
