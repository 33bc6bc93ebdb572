//! `quet-demo`: the whole system end to end on loopback, on embedded defaults.
//! Exits non-zero if anyone is notified who should not be, or missed.

use std::process::ExitCode;

use quet_tests::demo::{DemoConfig, run};

fn main() -> ExitCode {
    let dir = match tempfile::Builder::new().prefix("quet-demo-").tempdir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("cannot create a temporary directory: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "Quét demo — thư mục tạm / temporary directory: {}\n",
        dir.path().display()
    );
    match run(dir.path(), &DemoConfig::default()) {
        Ok(outcome) if outcome.is_correct() => {
            println!(
                "\nĐÚNG: mọi người cần báo đều được báo, không ai khác. / OK: everyone who shared a place and time with the case was notified, nobody else."
            );
            ExitCode::SUCCESS
        }
        Ok(outcome) => {
            let missed: Vec<_> = outcome.expected.difference(&outcome.notified).collect();
            let extra: Vec<_> = outcome.notified.difference(&outcome.expected).collect();
            eprintln!(
                "\nSAI / WRONG: missed {missed:?}, wrongly notified {extra:?}, envelopes left {}, visit rows left {}",
                outcome.envelopes_left, outcome.visit_rows_left
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("\nLỗi / error: {e}");
            ExitCode::FAILURE
        }
    }
}
