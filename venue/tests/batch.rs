//! A ward office's bulk registration against a real authority server (in-process,
//! loopback): 1,000 good rows and a few bad ones; the run is killed with SIGKILL
//! halfway and rerun; every good row ends registered exactly once, every bad row
//! is reported with its line number, and a third run changes nothing.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_quet-venue");
const GOOD: usize = 1000;

fn shops_csv(path: &Path) -> Vec<u64> {
    let cats = ["restaurant", "market", "office", "school", "mall", "gym"];
    let mut out = String::from("name,address,category,district\n");
    let mut bad_lines = Vec::new();
    let mut line = 1u64;
    let mut good = 0;
    while good < GOOD {
        line += 1;
        match line {
            10 => {
                out.push_str("Quán thiếu địa chỉ,,restaurant,Hoàn Kiếm\n");
                bad_lines.push(line);
            }
            200 => {
                out.push_str(&format!(
                    "{},1 Hàng Bạc,restaurant,Hoàn Kiếm\n",
                    "Đ".repeat(40)
                ));
                bad_lines.push(line);
            }
            400 => {
                out.push_str("Sân bay mini,2 Hàng Bạc,spaceport,Hoàn Kiếm\n");
                bad_lines.push(line);
            }
            600 => {
                // A duplicate of the first good row (line 2), typed with other spacing.
                out.push_str("Quán  Phở Số 0 , 0 Hàng Bạc Hoàn Kiếm,restaurant,hoàn kiếm\n");
                bad_lines.push(line);
            }
            _ => {
                out.push_str(&format!(
                    "Quán Phở Số {good},{good} Hàng Bạc Hoàn Kiếm,{},Hoàn Kiếm\n",
                    cats[good % cats.len()]
                ));
                good += 1;
            }
        }
    }
    std::fs::write(path, out).unwrap();
    bad_lines
}

fn batch_cmd(dir: &Path, server: &str) -> Command {
    let mut c = Command::new(BIN);
    c.args([
        "batch",
        "--format",
        "html",
        "--from",
        "2026-09-21",
        "--authority",
        server,
    ])
    .arg("--csv")
    .arg(dir.join("shops.csv"))
    .arg("--out")
    .arg(dir.join("out"))
    .arg("--descriptor-file")
    .arg(dir.join("ha.bin"))
    .arg("--token-file")
    .arg(dir.join("officer.token"));
    c
}

fn registered(server: &str, staff: &str) -> Vec<serde_json::Value> {
    let (status, v) = quet_venue::http::json_request(
        "GET",
        &format!("{server}/admin/v1/registry"),
        Some(staff),
        None,
    )
    .unwrap();
    assert_eq!(status, 200);
    v.as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_rows_register_exactly_once_even_after_kill_9_and_reruns() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ha");
    quet_server::init_authority(&quet_server::InitOptions {
        data_dir: data.clone(),
        name: "Sở Y tế Hà Nội".into(),
        base_url: "https://quet.example".into(),
        id: None,
    })
    .unwrap();
    let staff = quet_server::add_staff(&data, "alice").unwrap();
    let officer = quet_server::add_ward_officer(&data, "Phường Hàng Bạc", "Hoàn Kiếm").unwrap();
    std::fs::write(dir.path().join("officer.token"), &officer).unwrap();
    let server = quet_server::start(
        quet_server::Config::new(&data, "127.0.0.1:0".parse().unwrap()),
        false,
    )
    .await
    .unwrap();
    let base = server.base_url();
    let descriptor = reqwest_descriptor(&base);
    std::fs::write(dir.path().join("ha.bin"), descriptor).unwrap();
    let bad_lines = shops_csv(&dir.path().join("shops.csv"));
    let d = dir.path().to_owned();
    let b = base.clone();
    let staff2 = staff.clone();
    tokio::task::spawn_blocking(move || {
        // Run 1: killed with SIGKILL once about half the venue files exist.
        let mut child = batch_cmd(&d, &b)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let venues = d.join("out").join("venues");
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let n = std::fs::read_dir(&venues).map(|r| r.count()).unwrap_or(0);
            if n >= GOOD / 2 || Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let before = registered(&b, &staff2).len();
        assert!(before < GOOD, "killed before the registrations were sent");

        // Run 2: completes; bad rows reported with their line numbers (exit 2).
        let out = batch_cmd(&d, &b).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        for l in &bad_lines {
            assert!(
                stderr.contains(&format!("line {l}:")),
                "line {l} not reported: {stderr}"
            );
        }
        assert!(stderr.contains("duplicate of line 2"), "{stderr}");
        let regs = registered(&b, &staff2);
        assert_eq!(regs.len(), GOOD, "every good row registered once");
        let mut names: Vec<&str> = regs.iter().map(|r| r["name"].as_str().unwrap()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), GOOD, "no venue twice");
        assert!(regs.iter().all(|r| r["status"] == "approved"));
        let results = std::fs::read_to_string(d.join("out").join("results.csv")).unwrap();
        assert_eq!(results.lines().count(), 1 + GOOD + bad_lines.len());
        assert_eq!(
            results.lines().filter(|l| l.contains(",approved,")).count(),
            GOOD
        );
        for dirname in ["venues", "posters", "sheets"] {
            let n = std::fs::read_dir(d.join("out").join(dirname))
                .unwrap()
                .count();
            assert_eq!(n, GOOD, "{dirname}");
        }

        // Run 3: nothing new anywhere.
        let out = batch_cmd(&d, &b).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("(0 mới / new this run, 0 tệp mới / new files)"),
            "{stdout}"
        );
        assert_eq!(registered(&b, &staff2).len(), GOOD);
    })
    .await
    .unwrap();
    server.shutdown().await.unwrap();
}

fn reqwest_descriptor(base: &str) -> Vec<u8> {
    quet_venue::http::get_bytes(&format!("{base}/v1/descriptor"), 4096).unwrap()
}

#[test]
fn the_request_label_is_the_servers() {
    assert_eq!(
        quet_venue::registration::REGISTRATION_SIGNATURE_LABEL,
        quet_server::registry::REGISTRATION_SIGNATURE_LABEL
    );
}
