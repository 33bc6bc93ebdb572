//! Helpers for the console tests: staff accounts through the real CLI, the real
//! server with a settings file, a headless Chromium driven over the DevTools
//! protocol at phone size (360×640), and screenshots saved under
//! `diagnosis-server/screenshots/` for people to look at.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use headless_chrome::protocol::cdp::Page;
use headless_chrome::{Browser, LaunchOptions, Tab};

use crate::common::{BIN, Server};

/// Adds a staff member with the real CLI (password from stdin); returns the API token.
pub fn add_staff(data: &Path, name: &str, roles: &str, password: &str) -> String {
    let mut child = Command::new(BIN)
        .args(["staff", "add", name, "--role", roles, "--password-stdin", "--data"])
        .arg(data)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "staff add: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        !stdout.contains("console password"),
        "a given password is not echoed"
    );
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("api token: "))
        .unwrap()
        .trim()
        .to_owned()
}

/// Starts the real server with a JSON settings file (and on-demand publication).
pub fn start(data: &Path, settings: serde_json::Value) -> Server {
    let path = data.with_extension("settings.json");
    std::fs::write(&path, serde_json::to_vec(&settings).unwrap()).unwrap();
    Server::start(
        data,
        &[
            "--config",
            path.to_str().unwrap(),
            "--publish-interval",
            "0",
            "--attempts-per-minute",
            "1000",
            "--failures-before-lockout",
            "1000",
        ],
    )
}

/// Where screenshots go.
pub fn shots_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("screenshots");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A headless Chromium with a fresh profile and one phone-sized tab.
pub struct Chrome {
    _browser: Browser,
    /// The tab.
    pub tab: Arc<Tab>,
    _profile: tempfile::TempDir,
}

const CHROMIUM: &str = "/usr/bin/chromium";

/// The browser, or `None` (test skipped) when Chromium is missing outside CI.
/// Under `CI=true` a missing Chromium fails the test.
pub fn chrome() -> Option<Chrome> {
    let path = std::env::var("CHROMIUM").unwrap_or_else(|_| CHROMIUM.to_owned());
    if !Path::new(&path).exists() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("chromium is required under CI=true (apt-get install chromium)");
        }
        eprintln!("skipped: chromium missing ({path})");
        return None;
    }
    let profile = tempfile::tempdir().unwrap();
    let flags = [
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--lang=vi-VN",
    ];
    let options = LaunchOptions::default_builder()
        .path(Some(PathBuf::from(path)))
        .headless(true)
        .sandbox(false)
        .window_size(Some((360, 640)))
        .user_data_dir(Some(profile.path().to_owned()))
        .idle_browser_timeout(Duration::from_secs(120))
        .args(flags.iter().map(std::ffi::OsStr::new).collect())
        .build()
        .unwrap();
    let browser = Browser::new(options).unwrap();
    let tab = browser.new_tab().unwrap();
    tab.set_default_timeout(Duration::from_secs(20));
    tab.call_method(headless_chrome::protocol::cdp::Emulation::SetDeviceMetricsOverride {
        width: 360,
        height: 640,
        device_scale_factor: 1.0,
        mobile: true,
        scale: None,
        screen_width: None,
        screen_height: None,
        position_x: None,
        position_y: None,
        dont_set_visible_size: None,
        screen_orientation: None,
        viewport: None,
        display_feature: None,
        device_posture: None,
    })
    .unwrap();
    Some(Chrome {
        _browser: browser,
        tab,
        _profile: profile,
    })
}

impl Chrome {
    /// Navigates and waits for the load.
    pub fn goto(&self, url: &str) {
        self.tab.navigate_to(url).unwrap();
        self.tab.wait_until_navigated().unwrap();
    }

    /// The current URL.
    pub fn url(&self) -> String {
        self.eval("location.href").as_str().unwrap_or("").to_owned()
    }

    /// Evaluates JavaScript (DevTools, not subject to the page's CSP) and returns
    /// its JSON value.
    pub fn eval(&self, js: &str) -> serde_json::Value {
        let wrapped = format!("JSON.stringify((() => {{ return ({js}); }})())");
        let r = self.tab.evaluate(&wrapped, false).unwrap();
        r.value
            .and_then(|v| v.as_str().map(str::to_owned))
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or(serde_json::Value::Null)
    }

    /// The page's visible text.
    pub fn text(&self) -> String {
        self.eval("document.body.innerText")
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    /// Sets a form field's value (long texts: no typing delay).
    pub fn fill(&self, selector: &str, value: &str) {
        let js = format!(
            "(() => {{ const e = document.querySelector({}); e.value = {}; return !!e; }})()",
            serde_json::to_string(selector).unwrap(),
            serde_json::to_string(value).unwrap()
        );
        assert_eq!(self.eval(&js), serde_json::Value::Bool(true), "{selector}");
    }

    /// Clicks an element and waits for the navigation it causes.
    pub fn click_and_wait(&self, selector: &str) {
        self.tab.wait_for_element(selector).unwrap().click().unwrap();
        std::thread::sleep(Duration::from_millis(150));
        self.tab.wait_until_navigated().unwrap();
    }

    /// Saves a full-page screenshot as `screenshots/<name>.png`; returns its path.
    pub fn shot(&self, name: &str) -> PathBuf {
        let height = self
            .eval("Math.ceil(document.documentElement.scrollHeight)")
            .as_f64()
            .unwrap_or(640.0)
            .clamp(640.0, 6000.0);
        let data = self
            .tab
            .call_method(Page::CaptureScreenshot {
                format: Some(Page::CaptureScreenshotFormatOption::Png),
                quality: None,
                clip: Some(Page::Viewport {
                    x: 0.0,
                    y: 0.0,
                    width: 360.0,
                    height,
                    scale: 1.0,
                }),
                from_surface: Some(true),
                capture_beyond_viewport: Some(true),
                optimize_for_speed: None,
            })
            .unwrap()
            .data;
        let png = data_encoding::BASE64.decode(data.as_bytes()).unwrap();
        let path = shots_dir().join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    /// Logs in through the form, typing like a person.
    pub fn login(&self, base: &str, name: &str, password: &str) {
        self.goto(&format!("{base}/console/login"));
        self.tab.wait_for_element("#name").unwrap().click().unwrap();
        self.tab.type_str(name).unwrap();
        self.tab.wait_for_element("#password").unwrap().click().unwrap();
        self.tab.type_str(password).unwrap();
        self.click_and_wait("#login");
    }

    /// The value of a cookie the browser holds for the console.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.tab
            .get_cookies()
            .unwrap()
            .into_iter()
            .find(|c| c.name == name)
            .map(|c| c.value)
    }
}
