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

/// Today in Vietnam (UTC+7) as `YYYY-MM-DD`: posters are printed from a day the
/// authority's capsule keys cover, which a freshly made authority's do from today.
fn today() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let day = quet_venue::timefmt::local_day(quet_protocol::time::UnixTime(now), 420).unwrap();
    let d = quet_venue::timefmt::civil_from_days(i64::from(day.0));
    format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)
}

fn batch_cmd_from(dir: &Path, server: &str, from: &str) -> Command {
    let mut c = Command::new(BIN);
    c.args([
        "batch",
        "--format",
        "html",
        "--from",
        from,
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

fn batch_cmd(dir: &Path, server: &str) -> Command {
    batch_cmd_from(dir, server, &today())
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

/// An authority with a staff member and a ward officer, served on loopback; the
/// descriptor and officer token written to `dir`.
struct Ha {
    server: quet_server::RunningServer,
    base: String,
    staff: String,
}

async fn start_ha(dir: &Path) -> Ha {
    let data = dir.join("ha");
    quet_server::init_authority(&quet_server::InitOptions {
        data_dir: data.clone(),
        name: "Sở Y tế Hà Nội".into(),
        base_url: "https://quet.example".into(),
        id: None,
    })
    .unwrap();
    let staff = quet_server::add_staff(&data, "alice").unwrap();
    let officer = quet_server::add_ward_officer(&data, "Phường Hàng Bạc", "Hoàn Kiếm").unwrap();
    std::fs::write(dir.join("officer.token"), &officer).unwrap();
    let server = quet_server::start(
        quet_server::Config::new(&data, "127.0.0.1:0".parse().unwrap()),
        false,
    )
    .await
    .unwrap();
    let base = server.base_url();
    std::fs::write(dir.join("ha.bin"), reqwest_descriptor(&base)).unwrap();
    Ha {
        server,
        base,
        staff,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poster_week_without_capsule_keys_fails_before_anything_is_made_or_sent() {
    let dir = tempfile::tempdir().unwrap();
    let ha = start_ha(dir.path()).await;
    shops_csv(&dir.path().join("shops.csv"));
    let d = dir.path().to_owned();
    let (b, staff) = (ha.base.clone(), ha.staff.clone());
    tokio::task::spawn_blocking(move || {
        // A past week: a new authority has no capsule key for it, so no poster could
        // be printed; one clear error, nothing registered, no venue file made.
        let out = batch_cmd_from(&d, &b, "2020-01-06").output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("no capsule key for 06/01/2020") && stderr.contains("--from"),
            "{stderr}"
        );
        assert_eq!(
            stderr.lines().count(),
            1,
            "one error, not one per row: {stderr}"
        );
        assert!(registered(&b, &staff).is_empty());
        let files = std::fs::read_dir(d.join("out").join("venues"))
            .map(|r| r.count())
            .unwrap_or(0);
        assert_eq!(files, 0);
    })
    .await
    .unwrap();
    ha.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_rows_register_exactly_once_even_after_kill_9_and_reruns() {
    let dir = tempfile::tempdir().unwrap();
    let ha = start_ha(dir.path()).await;
    let (server, base, staff) = (ha.server, ha.base, ha.staff);
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
            GOOD,
            "{}",
            results.lines().take(3).collect::<Vec<_>>().join("\n")
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_chunk_of_the_longest_rows_fits_the_servers_body_limit() {
    use quet_protocol::category::Category;
    let dir = tempfile::tempdir().unwrap();
    let ha = start_ha(dir.path()).await;
    let d = dir.path().to_owned();
    let (b, staff) = (ha.base.clone(), ha.staff.clone());
    tokio::task::spawn_blocking(move || {
        // 250 venues (a whole chunk) with the longest name, address and district,
        // with an event window: the largest body `batch` ever sends.
        let descriptor = std::fs::read(d.join("ha.bin")).unwrap();
        let district = "Đ".repeat(32);
        assert_eq!(district.len(), 64);
        let entries: Vec<_> = (0..quet_venue::registration::BATCH_CHUNK)
            .map(|i| {
                let name = format!("{:03}{}", i, "ữ".repeat(20));
                let addr = format!("{:03}{}", i, "Đ".repeat(34));
                assert!(name.len() <= 64 && name.len() > 60 && addr.len() <= 72 && addr.len() > 70);
                let mut new = quet_venue::NewVenue::new(
                    name,
                    addr,
                    Category::Wedding,
                    &b,
                    descriptor.clone(),
                );
                new.event = Some(quet_venue::venue::EventWindow {
                    start: 4_000_000_000,
                    end: 4_000_003_600,
                });
                let v = quet_venue::Venue::create(
                    &mut quet_venue::system_rng(),
                    &d.join(format!("long-{i}.json")),
                    &new,
                    None,
                )
                .unwrap();
                quet_venue::registration::BatchEntry {
                    idempotency_key: format!("{i:016x}"),
                    signed: quet_venue::registration::signed_request(&v, &district).unwrap(),
                }
            })
            .collect();
        let body: usize = entries
            .iter()
            .map(|e| e.signed.request.len() + e.signed.signature.len() + 70)
            .sum();
        println!("largest batch body: about {body} bytes (server limit 262144)");
        let out = quet_venue::registration::submit_batch(&b, &staff, &entries, None).unwrap();
        assert_eq!(out.len(), entries.len());
        assert!(
            out.iter()
                .all(|o| o.error.is_none() && o.status.as_deref() == Some("approved")),
            "{:?}",
            out.iter().find(|o| o.error.is_some())
        );
        assert!(out.iter().all(|o| o.certificate.is_some()));
    })
    .await
    .unwrap();
    ha.server.shutdown().await.unwrap();
}
