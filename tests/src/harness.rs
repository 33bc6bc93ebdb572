//! Running the real system on loopback: the `quet-server` binary in a temporary
//! directory, staff calls over its admin HTTP API (`spec/api.md`), and helpers for
//! venues and phones built on the venue and client libraries.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

/// Errors of the harness: what failed and why, for a person to read.
pub type HarnessResult<T> = Result<T, String>;

/// The directory holding this build's binaries (`target/<profile>`), found from the
/// running executable (`target/<profile>/deps/…` for tests, `target/<profile>/…`
/// for binaries).
fn profile_dir() -> HarnessResult<PathBuf> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let mut dir = exe
        .parent()
        .ok_or("no parent of current exe")?
        .to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    Ok(dir)
}

/// The real `quet-server` binary of this build. Cargo brings it up to date once per
/// test process (a no-op when `cargo test --workspace` just built it; a rebuild
/// when only this package was built, e.g. `cargo test -p quet-tests` after a
/// change to the server, or `cargo run -p quet-tests --bin quet-demo`), so a stale
/// binary is never what a test runs.
pub fn server_binary() -> HarnessResult<PathBuf> {
    static BUILT: std::sync::OnceLock<HarnessResult<PathBuf>> = std::sync::OnceLock::new();
    BUILT.get_or_init(build_server_binary).clone()
}

fn build_server_binary() -> HarnessResult<PathBuf> {
    let dir = profile_dir()?;
    let bin = dir.join(format!("quet-server{}", std::env::consts::EXE_SUFFIX));
    let release = dir.file_name().is_some_and(|n| n == "release");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "-q", "-p", "quet-server", "--bin", "quet-server"]);
    if release {
        cmd.arg("--release");
    }
    let status = cmd
        .status()
        .map_err(|e| format!("running cargo build: {e}"))?;
    if !status.success() || !bin.exists() {
        return Err(format!("could not build quet-server at {}", bin.display()));
    }
    Ok(bin)
}

/// Runs `quet-server ARGS` to completion and returns its standard output.
pub fn server_cli(args: &[&str]) -> HarnessResult<String> {
    let out = Command::new(server_binary()?)
        .args(args)
        .output()
        .map_err(|e| format!("quet-server {args:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "quet-server {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    String::from_utf8(out.stdout).map_err(|e| e.to_string())
}

/// A health authority created with `quet-server init` in a directory.
pub struct Authority {
    /// The authority's data directory.
    pub data: PathBuf,
    /// What `init` printed (contains the fingerprint).
    pub init_output: String,
    /// A staff token created with `quet-server staff add`.
    pub staff_token: String,
}

impl Authority {
    /// `quet-server init` + `staff add` in `data` (which must not exist yet).
    pub fn init(data: &Path, name: &str, base_url: &str) -> HarnessResult<Authority> {
        let d = data.to_str().ok_or("non-UTF-8 path")?;
        let init_output =
            server_cli(&["init", "--data", d, "--name", name, "--base-url", base_url])?;
        let added = server_cli(&[
            "staff",
            "add",
            "demo-investigator",
            "--role",
            "tracer,publisher",
            "--data",
            d,
        ])?;
        let staff_token = added
            .lines()
            .find_map(|l| l.strip_prefix("api token: "))
            .ok_or("`staff add` printed no api token")?
            .trim()
            .to_owned();
        Ok(Authority {
            data: data.to_path_buf(),
            init_output,
            staff_token,
        })
    }
}

/// The real binary serving on a loopback port. Killed (SIGKILL) on drop.
pub struct ServerProcess {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl ServerProcess {
    /// Starts `quet-server run` on 127.0.0.1 (port 0 unless `listen` is given) and
    /// waits for its `listening on ADDR` line.
    pub fn start(
        data: &Path,
        listen: Option<&str>,
        extra: &[&str],
    ) -> HarnessResult<ServerProcess> {
        let d = data.to_str().ok_or("non-UTF-8 path")?;
        let mut child = Command::new(server_binary()?)
            .args([
                "run",
                "--data",
                d,
                "--listen",
                listen.unwrap_or("127.0.0.1:0"),
            ])
            .args(extra)
            .env("QUET_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("starting quet-server: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .ok_or_else(|| format!("quet-server said {line:?} instead of its address"))?
            .to_owned();
        Ok(ServerProcess {
            child,
            base: format!("http://{addr}"),
        })
    }

    /// The `host:port` it listens on.
    pub fn addr(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    /// Kills the process at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .new_agent()
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as JSON.
    pub fn json(&self) -> HarnessResult<Value> {
        serde_json::from_slice(&self.body).map_err(|_| {
            format!(
                "not JSON ({}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// One HTTP request with an optional bearer token and JSON body.
pub fn http(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> HarnessResult<Answer> {
    let mut b = ureq::http::Request::builder().method(method).uri(url);
    if let Some(t) = token {
        b = b.header("Authorization", format!("Bearer {t}"));
    }
    let resp = match body {
        Some(v) => {
            let bytes = serde_json::to_vec(v).map_err(|e| e.to_string())?;
            let req = b
                .header("Content-Type", "application/json")
                .body(bytes)
                .map_err(|e| e.to_string())?;
            agent().run(req)
        }
        None => agent().run(b.body(()).map_err(|e| e.to_string())?),
    }
    .map_err(|e| format!("{method} {url}: {e}"))?;
    let status = resp.status().as_u16();
    let body = resp.into_body().read_to_vec().map_err(|e| e.to_string())?;
    Ok(Answer { status, body })
}

/// The health authority's staff, over the admin API.
pub struct Staff<'a> {
    /// Server base URL.
    pub base: &'a str,
    /// Bearer token.
    pub token: &'a str,
}

impl Staff<'_> {
    fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        want: u16,
    ) -> HarnessResult<Answer> {
        let a = http(
            method,
            &format!("{}{path}", self.base),
            Some(self.token),
            body.as_ref(),
        )?;
        if a.status != want {
            return Err(format!(
                "{method} {path}: {} {}",
                a.status,
                String::from_utf8_lossy(&a.body)
            ));
        }
        Ok(a)
    }

    /// Issues an authorization code for a confirmed case.
    pub fn issue_auth_code(&self) -> HarnessResult<String> {
        let j = self
            .call(
                "POST",
                "/admin/v1/auth-codes",
                Some(json!({"valid_hours": 24, "report_days": 14})),
                200,
            )?
            .json()?;
        j["auth_code"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("no auth_code in {j}"))
    }

    /// The pending review queue.
    pub fn reviews(&self) -> HarnessResult<Vec<Value>> {
        let j = self.call("GET", "/admin/v1/reviews", None, 200)?.json()?;
        j.as_array()
            .cloned()
            .ok_or_else(|| format!("reviews not a list: {j}"))
    }

    /// Approves a reviewed check-in; returns the notice ids queued.
    pub fn approve(
        &self,
        id: u64,
        severity: &str,
        message_vi: &str,
        message_en: &str,
        buffer_minutes: u64,
    ) -> HarnessResult<Vec<String>> {
        let body = json!({"severity": severity, "message_vi": message_vi, "message_en": message_en, "buffer_minutes": buffer_minutes});
        let j = self
            .call(
                "POST",
                &format!("/admin/v1/reviews/{id}/approve"),
                Some(body),
                200,
            )?
            .json()?;
        Ok(notice_ids(&j))
    }

    /// Rejects a reviewed check-in.
    pub fn reject(&self, id: u64) -> HarnessResult<()> {
        self.call("POST", &format!("/admin/v1/reviews/{id}/reject"), None, 204)
            .map(|_| ())
    }

    /// A venue-initiated trace from the owner's tracing sheet.
    #[allow(clippy::too_many_arguments)]
    pub fn trace(
        &self,
        sheet: &str,
        start: u64,
        end: u64,
        max_stay_minutes: u16,
        buffer_minutes: u64,
        severity: &str,
        message_vi: &str,
        message_en: &str,
    ) -> HarnessResult<Vec<String>> {
        let body = json!({"sheet": sheet, "start": start, "end": end, "max_stay_minutes": max_stay_minutes, "buffer_minutes": buffer_minutes,
            "severity": severity, "message_vi": message_vi, "message_en": message_en});
        let j = self
            .call("POST", "/admin/v1/traces", Some(body), 200)?
            .json()?;
        Ok(notice_ids(&j))
    }

    /// Publishes the queued notices and withdrawals; returns the new sequence number.
    pub fn publish(&self) -> HarnessResult<u64> {
        let j = self.call("POST", "/admin/v1/publish", None, 200)?.json()?;
        j["sequence"]
            .as_u64()
            .ok_or_else(|| format!("no sequence in {j}"))
    }

    /// Withdraws a published notice (by its id) in the next bulletin.
    pub fn withdraw(&self, notice: &str) -> HarnessResult<()> {
        self.call(
            "POST",
            &format!("/admin/v1/notices/{notice}/withdraw"),
            None,
            204,
        )
        .map(|_| ())
    }
}

fn notice_ids(j: &Value) -> Vec<String> {
    j["notices"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|n| n.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The signed descriptor bytes the server serves.
pub fn fetch_descriptor(base: &str) -> HarnessResult<Vec<u8>> {
    let a = http("GET", &format!("{base}/v1/descriptor"), None, None)?;
    if a.status != 200 {
        return Err(format!("GET /v1/descriptor: {}", a.status));
    }
    Ok(a.body)
}
