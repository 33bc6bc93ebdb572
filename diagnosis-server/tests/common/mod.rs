//! Shared helpers for the integration tests: run the real `quet-server` binary on a
//! loopback port, talk HTTP to it, and make real report envelopes.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use quet_protocol::authority::AuthorityDescriptor;
use quet_protocol::category::Category;
use quet_protocol::code::{CheckInCode, CodeIssuer, VenueInfo};
use quet_protocol::envelope::{REPORT_ENVELOPE_COUNT, ReportEnvelope};
use quet_protocol::testing::{DeterministicRng, test_rng};
use quet_protocol::time::UnixTime;
use quet_protocol::venue_keys::VenueMasterKey;

pub const BIN: &str = env!("CARGO_BIN_EXE_quet-server");

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Runs the CLI to completion, returning stdout; panics on failure.
pub fn cli(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "quet-server {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// An authority in a temp dir plus one staff token.
pub struct Authority {
    pub dir: tempfile::TempDir,
    pub token: String,
}

impl Authority {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("ha");
        let out = cli(&[
            "init",
            "--data",
            data.to_str().unwrap(),
            "--name",
            "Sở Y tế Hà Nội",
            "--base-url",
            "https://quet.example",
        ]);
        assert!(out.contains("fingerprint"));
        let token = cli(&["staff", "add", "alice", "--data", data.to_str().unwrap()])
            .trim()
            .to_owned();
        Authority { dir, token }
    }

    /// An authority created (capsule keys starting) at `start`, through the library.
    pub fn new_at(start: u64) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("ha");
        quet_server::keystore::init_at(
            &quet_server::InitOptions {
                data_dir: data.clone(),
                name: "Sở Y tế Hà Nội".into(),
                base_url: "https://quet.example".into(),
                id: None,
            },
            start,
        )
        .unwrap();
        let token = quet_server::add_staff(&data, "alice").unwrap();
        Authority { dir, token }
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("ha")
    }
}

/// The real binary, serving on 127.0.0.1:0. Killed on drop.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Server {
    pub fn start(data: &Path, extra: &[&str]) -> Server {
        let mut child = Command::new(BIN)
            .args([
                "run",
                "--data",
                data.to_str().unwrap(),
                "--listen",
                "127.0.0.1:0",
            ])
            .args(extra)
            .env("QUET_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Server {
            child,
            base: format!("http://{addr}"),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// An HTTP answer.
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&self.body)))
    }
    /// Asserts a documented JSON error.
    pub fn assert_error(&self, status: u16, kind: &str) {
        assert_eq!(
            self.status,
            status,
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
        let j = self.json();
        assert_eq!(j["error"], kind);
        assert!(j["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .new_agent()
}

/// One request. `body` with `content_type`.
pub fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, Vec<u8>)>,
) -> Resp {
    try_request(method, url, headers, body).unwrap()
}

/// One request; `None` if the connection failed (server killed).
pub fn try_request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, Vec<u8>)>,
) -> Option<Resp> {
    let mut b = ureq::http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let resp = match body {
        Some((ct, bytes)) => agent()
            .run(b.header("Content-Type", ct).body(bytes).unwrap())
            .ok()?,
        None => agent().run(b.body(()).unwrap()).ok()?,
    };
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let body = resp.into_body().read_to_vec().ok()?;
    Some(Resp {
        status,
        headers,
        body,
    })
}

pub fn get(url: &str) -> Resp {
    request("GET", url, &[], None)
}

pub fn post_json(url: &str, v: &serde_json::Value) -> Resp {
    request(
        "POST",
        url,
        &[],
        Some(("application/json", serde_json::to_vec(v).unwrap())),
    )
}

pub fn admin(
    s: &Server,
    token: &str,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> Resp {
    let auth = format!("Bearer {token}");
    request(
        method,
        &s.url(path),
        &[("Authorization", auth.as_str())],
        body.map(|v| ("application/json", serde_json::to_vec(&v).unwrap())),
    )
}

pub fn descriptor(s: &Server) -> AuthorityDescriptor {
    let r = get(&s.url("/v1/descriptor"));
    assert_eq!(r.status, 200);
    AuthorityDescriptor::decode(&r.body).unwrap()
}

pub fn issue_code(s: &Server, token: &str) -> String {
    let r = admin(
        s,
        token,
        "POST",
        "/admin/v1/auth-codes",
        Some(serde_json::json!({"valid_hours": 24, "report_days": 14})),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    r.json()["auth_code"].as_str().unwrap().to_owned()
}

/// A venue with a screen-code issuer.
pub struct Venue {
    pub issuer: CodeIssuer,
    pub sheet: String,
}

pub fn venue(seed: u8, d: &AuthorityDescriptor, name: &str) -> Venue {
    let master = VenueMasterKey::generate(&mut test_rng(seed));
    let sheet = master.to_sheet_text();
    let info = VenueInfo {
        name: name.into(),
        address: "13 Lò Đúc, Hà Nội".into(),
        category: Category::Restaurant,
        max_stay_minutes: 120,
    };
    Venue {
        issuer: CodeIssuer::new(master, info, d).unwrap(),
        sheet,
    }
}

/// `real` check-in envelopes at `venue` (arriving now, staying 30 min) + padding.
pub fn envelopes(
    rng: &mut DeterministicRng,
    d: &AuthorityDescriptor,
    venue: &mut Venue,
    real: usize,
) -> (Vec<String>, Vec<CheckInCode>) {
    let t = now();
    let mut out = Vec::new();
    let mut codes = Vec::new();
    for _ in 0..real {
        let code = venue.issuer.screen_code(rng, UnixTime(t)).unwrap();
        let env = ReportEnvelope::seal(rng, d, &code, UnixTime(t), UnixTime(t + 1800)).unwrap();
        out.push(data_encoding::BASE64.encode(env.as_bytes()));
        codes.push(code);
    }
    while out.len() < REPORT_ENVELOPE_COUNT {
        let env = ReportEnvelope::padding(rng, d, UnixTime(t)).unwrap();
        out.push(data_encoding::BASE64.encode(env.as_bytes()));
    }
    (out, codes)
}

pub fn upload(s: &Server, code: &str, envs: &[String], chaff: bool) -> Resp {
    post_json(
        &s.url("/v1/reports"),
        &serde_json::json!({"auth_code": code, "envelopes": envs, "chaff": chaff}),
    )
}

pub fn wait_until(mut f: impl FnMut() -> bool, secs: u64) -> bool {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}
