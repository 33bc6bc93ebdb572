//! A small client of the Chrome DevTools Protocol: headless Chromium started with
//! the project's flags, one WebSocket to its browser endpoint, pages attached in
//! flat mode (`sessionId`), commands sent as JSON and answered in order, events
//! kept for the tests to read.
//!
//! The protocol is JSON over one WebSocket; the tests use about twenty methods in
//! eight domains (Target, Page, Runtime, Network, Emulation, Storage, WebAuthn,
//! Browser). Speaking it directly gives every domain with one small dependency
//! (tungstenite) instead of generated bindings for all of them.

use std::collections::VecDeque;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

/// Where Debian installs Chromium.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// The flags every test browser gets (HELPERS.md).
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-port=0",
    "--hide-scrollbars",
    "--mute-audio",
];

/// Whether Chromium is installed. Under `CI=true` a missing browser is a failure;
/// elsewhere the caller prints "skipped" and returns.
pub fn available() -> bool {
    if Path::new(CHROMIUM).exists() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "chromium is missing at {CHROMIUM} (apt-get install chromium): browser tests cannot be skipped in CI"
    );
    eprintln!("skipped: chromium missing ({CHROMIUM})");
    false
}

/// A running headless Chromium with its own fresh profile. Killed on drop.
pub struct Browser {
    child: Child,
    ws: WebSocket<TcpStream>,
    next_id: u64,
    events: VecDeque<Value>,
    _profile: tempfile::TempDir,
}

/// One tab, attached in flat mode.
pub struct Page {
    /// The DevTools session of this tab.
    pub session: String,
}

impl Browser {
    /// Starts Chromium with the standard flags plus `extra` (e.g. a fake camera).
    pub fn launch(extra: &[String]) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        Self::launch_in(profile, extra)
    }

    /// Starts Chromium on an existing profile directory (to reopen a "phone").
    pub fn launch_in(profile: tempfile::TempDir, extra: &[String]) -> Browser {
        let port_file = profile.path().join("DevToolsActivePort");
        let _ = std::fs::remove_file(&port_file);
        let child = Command::new(CHROMIUM)
            .args(FLAGS)
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(extra)
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting chromium");
        let deadline = Instant::now() + Duration::from_secs(30);
        let text = loop {
            if let Ok(t) = std::fs::read_to_string(&port_file)
                && t.lines().count() >= 2
            {
                break t;
            }
            assert!(Instant::now() < deadline, "chromium did not open DevTools");
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut lines = text.lines();
        let port = lines.next().unwrap().trim().to_string();
        let path = lines.next().unwrap().trim().to_string();
        let stream = TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
        let (ws, _) =
            tungstenite::client::client(format!("ws://127.0.0.1:{port}{path}"), stream).unwrap();
        // Reads poll, so that events can be collected between commands.
        ws.get_ref()
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        Browser {
            child,
            ws,
            next_id: 1,
            events: VecDeque::new(),
            _profile: profile,
        }
    }

    /// Stops the browser and hands back its profile (to launch it again).
    pub fn close(mut self) -> tempfile::TempDir {
        let _ = self.call("Browser.close", json!({}), None);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let placeholder = tempfile::tempdir().unwrap();
        std::mem::replace(&mut self._profile, placeholder)
    }

    fn read(&mut self) -> Option<Value> {
        match self.ws.read() {
            Ok(Message::Text(t)) => serde_json::from_str(t.as_str()).ok(),
            Ok(_) => None,
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                None
            }
            Err(e) => panic!("DevTools connection: {e}"),
        }
    }

    /// Sends a command and waits for its answer; an error answer is `Err`.
    pub fn call(
        &mut self,
        method: &str,
        params: Value,
        session: Option<&str>,
    ) -> Result<Value, String> {
        let id = self.next_id;
        self.next_id += 1;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        self.ws.send(Message::text(msg.to_string())).unwrap();
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            assert!(Instant::now() < deadline, "no answer to {method}");
            let Some(v) = self.read() else { continue };
            if v.get("id").and_then(Value::as_u64) == Some(id) {
                return match v.get("error") {
                    Some(e) => Err(format!("{method}: {e}")),
                    None => Ok(v["result"].clone()),
                };
            }
            if v.get("method").is_some() {
                self.events.push_back(v);
            }
        }
    }

    /// Reads what has arrived without waiting long.
    pub fn pump(&mut self) {
        while let Some(v) = self.read() {
            if v.get("method").is_some() {
                self.events.push_back(v);
            }
        }
    }

    /// Takes every event received so far.
    pub fn drain_events(&mut self) -> Vec<Value> {
        self.pump();
        self.events.drain(..).collect()
    }

    /// Opens a tab at `about:blank` with the given viewport, attached, with the
    /// Page, Runtime and Network domains on.
    pub fn page(&mut self, width: u32, height: u32) -> Page {
        let target = self
            .call("Target.createTarget", json!({"url": "about:blank"}), None)
            .unwrap()["targetId"]
            .as_str()
            .unwrap()
            .to_string();
        let session = self
            .call(
                "Target.attachToTarget",
                json!({"targetId": target, "flatten": true}),
                None,
            )
            .unwrap()["sessionId"]
            .as_str()
            .unwrap()
            .to_string();
        let page = Page { session };
        for m in ["Page.enable", "Runtime.enable", "Network.enable"] {
            self.call(m, json!({}), Some(&page.session)).unwrap();
        }
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": true}),
            Some(&page.session),
        )
        .unwrap();
        self.call(
            "Emulation.setTimezoneOverride",
            json!({"timezoneId": "Asia/Ho_Chi_Minh"}),
            Some(&page.session),
        )
        .unwrap();
        page
    }

    /// Navigates and waits for the load event.
    pub fn goto(&mut self, page: &Page, url: &str) {
        self.call("Page.navigate", json!({"url": url}), Some(&page.session))
            .unwrap();
        self.wait_js(page, "document.readyState === 'complete'", 30);
    }

    /// Evaluates an expression in the page (awaiting a promise) and returns its
    /// JSON value; a thrown exception is `Err` with its text.
    pub fn eval(&mut self, page: &Page, expr: &str) -> Result<Value, String> {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expr, "awaitPromise": true, "returnByValue": true, "userGesture": true}),
            Some(&page.session),
        )?;
        if let Some(ex) = r.get("exceptionDetails") {
            return Err(format!(
                "{}: {}",
                ex["text"],
                ex["exception"]["description"].as_str().unwrap_or("")
            ));
        }
        Ok(r["result"]["value"].clone())
    }

    /// Evaluates and unwraps, naming the expression on failure.
    pub fn js(&mut self, page: &Page, expr: &str) -> Value {
        self.eval(page, expr)
            .unwrap_or_else(|e| panic!("{expr}: {e}"))
    }

    /// Waits until `cond` is truthy in the page.
    pub fn wait_js(&mut self, page: &Page, cond: &str, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Ok(Value::Bool(true)) = self.eval(page, &format!("!!({cond})")) {
                return;
            }
            if Instant::now() > deadline {
                let body = self
                    .eval(page, "document.body ? document.body.innerText : ''")
                    .unwrap_or_default();
                panic!("timed out waiting for {cond}; page says: {body}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Types into an input the way a user does (value + input event).
    pub fn type_into(&mut self, page: &Page, selector: &str, text: &str) {
        self.wait_js(page, &format!("document.querySelector({selector:?})"), 10);
        self.js(
            page,
            &format!(
                "(() => {{ const e = document.querySelector({selector:?}); e.value = {text:?}; \
                 e.dispatchEvent(new Event('input', {{bubbles: true}})); return true; }})()"
            ),
        );
    }

    /// Clicks the element matching a CSS selector (as a user's tap would).
    pub fn click(&mut self, page: &Page, selector: &str) {
        self.wait_js(page, &format!("document.querySelector({selector:?})"), 20);
        self.js(
            page,
            &format!("document.querySelector({selector:?}).click(), true"),
        );
    }

    /// Cuts or restores the page's network (DevTools offline emulation).
    pub fn offline(&mut self, page: &Page, offline: bool) {
        self.call(
            "Network.emulateNetworkConditions",
            json!({"offline": offline, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}),
            Some(&page.session),
        )
        .unwrap();
    }

    /// Saves a PNG screenshot of the viewport.
    pub fn screenshot(&mut self, page: &Page, path: &Path) {
        let r = self
            .call(
                "Page.captureScreenshot",
                json!({"format": "png"}),
                Some(&page.session),
            )
            .unwrap();
        let png = data_encoding::BASE64
            .decode(r["data"].as_str().unwrap().as_bytes())
            .unwrap();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(path, png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Requests the page started, from `Network.requestWillBeSent` events.
pub fn requests(events: &[Value], session: &str) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["method"] == "Network.requestWillBeSent" && e["sessionId"] == session)
        .map(|e| {
            e["params"]["request"]["url"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .filter(|u| !u.starts_with("data:") && !u.starts_with("blob:"))
        .collect()
}

/// Where the tests save screenshots for people to look at (linked from web/README.md).
pub fn screenshot_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("screenshots")
}
