//! The `quet` binary end to end against the fake server: authority pinning with the
//! fingerprint, check-in, diary, sync, exposures and report, `--json`, bilingual
//! errors and the documented exit codes.

mod common;

use std::process::{Command, Output};

use common::*;
use quet_protocol::category::Category;

/// Runs `quet` on data directory `data` (its passphrase is in `data`.pass, a file
/// beside the directory, as a script would keep it).
fn quet(data: &std::path::Path, now: quet_protocol::time::UnixTime, args: &[&str]) -> Output {
    let pass = data.with_extension("pass");
    if !pass.exists() {
        std::fs::write(&pass, "cli test passphrase\n").unwrap();
    }
    Command::new(env!("CARGO_BIN_EXE_quet"))
        .arg("--data")
        .arg(data)
        .args(["--now", &now.0.to_string()])
        .args(args)
        .env("LANG", "C")
        .env("QUET_PASSPHRASE_FILE", &pass)
        .env_remove("TZ")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)))
}

#[test]
fn help_documents_exit_codes() {
    let o = Command::new(env!("CARGO_BIN_EXE_quet"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("Exit codes"));
    assert!(text.contains("check-in"));
    assert!(text.contains("bulletin rejected"));
}

#[test]
fn full_journey_through_the_cli() {
    let server = FakeServer::start();
    let mut w = World::new(&server.base);
    let code = quet_client::auth_code::with_check_symbol("ABCDEFGHJKMNPQR").unwrap();
    {
        let mut st = server.state.lock().unwrap();
        st.descriptor = w.descriptor_bytes();
        st.authority = w.descriptor.id.0;
        st.codes
            .insert(code.replace('-', ""), (at(0, 0).0, at(23, 0).0));
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = data.as_path();
    let mut venue = w.venue("Phở Thìn", Category::Restaurant);

    // Unknown authority before pinning: exit 3 with a hint.
    let url = w.code_url(&mut venue, at(12, 0));
    let o = quet(d, at(12, 0), &["check-in", &url]);
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("quet authority add"));

    // Declining the fingerprint prompt pins nothing (stdin is empty): exit 9.
    let o = quet(d, at(12, 0), &["authority", "add", &server.base]);
    assert_eq!(o.status.code(), Some(9));
    assert!(String::from_utf8_lossy(&o.stdout).contains(&w.descriptor.fingerprint()));

    let o = quet(
        d,
        at(12, 0),
        &["--json", "authority", "add", &server.base, "--yes"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(json(&o)["fingerprint"], w.descriptor.fingerprint());

    let o = quet(d, at(12, 0), &["--json", "check-in", &url]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(json(&o)["venue_name"], "Phở Thìn");
    assert_eq!(json(&o)["departure"], at(14, 0).0);
    assert_eq!(json(&o)["registered_with"], serde_json::Value::Null);
    // The test venue has no certificate: the diary warns, in local time.
    let o = quet(d, at(12, 1), &["--lang", "en", "diary"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("unregistered venue"), "{text}");
    assert!(text.contains("2026-09-21 19:00 +07:00"), "{text}");

    // An expired code: exit 3 and a clock hint, in both languages by default.
    let o = quet(d, at(12, 30), &["check-in", &url]);
    assert_eq!(o.status.code(), Some(3));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("clock") && err.contains("đồng hồ"), "{err}");

    let o = quet(d, at(12, 45), &["--json", "check-out"]);
    assert_eq!(json(&o)["departure"], at(12, 45).0);

    let o = quet(d, at(12, 50), &["--json", "diary"]);
    let diary = json(&o);
    assert_eq!(diary.as_array().unwrap().len(), 1);
    assert_eq!(diary[0]["checked_in"], false);

    let notice = w.notice_for(&venue, at(12, 30), at(13, 0));
    let chain = w.chain(vec![(vec![notice], vec![])]);
    server.serve_chain(&w, &chain);
    let o = quet(d, at(21, 0), &["--json", "sync"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        json(&o)["report"]["new_alerts"].as_array().unwrap().len(),
        1
    );
    assert_eq!(json(&o)["feeds"][0]["fresh_until"], at(20, 30).0 + 6 * 3600);
    // `exposures` unlocks with the passphrase file.
    let o = quet(d, at(21, 1), &["--lang", "en", "exposures"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("Phở Thìn"), "{text}");
    // Ten hours later the mirror still serves the same head: exit 12, with the
    // time in local time.
    let o = quet(
        d,
        quet_protocol::time::UnixTime(at(20, 30).0 + 10 * 3600),
        &["--lang", "en", "sync"],
    );
    assert_eq!(
        o.status.code(),
        Some(12),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("Alerts may be out of date since 2026-09-22 03:30 +07:00"),
        "{err}"
    );
    let o = quet(d, at(21, 0), &["--lang", "en", "exposures"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("Phở Thìn") && text.contains("Please get tested"),
        "{text}"
    );
    assert!(!text.contains("Hãy đi xét nghiệm"));

    let o = quet(
        d,
        at(21, 0),
        &["--json", "report", "--code", "wrong", "--yes"],
    );
    assert_eq!(o.status.code(), Some(6));
    assert_eq!(json(&o)["error"], "auth_code_typo");
    let unknown = quet_client::auth_code::with_check_symbol("ZZZZZZZZZZZZZZZ").unwrap();
    let o = quet(
        d,
        at(21, 0),
        &["--json", "report", "--code", &unknown, "--yes"],
    );
    assert_eq!(o.status.code(), Some(6));
    assert_eq!(json(&o)["error"], "auth_code_invalid");

    let o = quet(
        d,
        at(21, 0),
        &["--json", "report", "--code", &code.to_lowercase(), "--yes"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    assert_eq!(json(&o)["receipt"]["sent"], 1);

    let o = quet(d, at(21, 0), &["diary", "delete", "42"]);
    assert_eq!(o.status.code(), Some(10));
    let o = quet(d, at(21, 0), &["--json", "diary", "delete-all", "--yes"]);
    assert!(o.status.success());
    let o = quet(d, at(21, 0), &["--json", "exposures"]);
    assert_eq!(json(&o).as_array().unwrap().len(), 0);
}
