//! The real system on loopback for the browser tests: the app built by
//! `web/build.sh`, a real `quet-server` (the library's `start`, in this process)
//! serving it, a counting TCP proxy in front (bytes on the wire, per direction),
//! venues made with the venue tool's library, and staff calls over the admin API.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use quet_protocol::category::Category;
use quet_server::{Config, RunningServer};
use quet_venue::display::{Display, Showing, SystemClock};
use quet_venue::{NewVenue, Venue};
use serde_json::{Value, json};

/// The workspace's target directory (from the running test executable).
fn target_root() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/<test>
    exe.parent()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Builds the app once per test process with `web/build.sh`, in its own target
/// directory (so it never waits on the lock of the cargo running these tests).
/// `.ci/run` builds the same directory before the tests, so this is then a
/// no-op check.
pub fn app_dir() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let root = target_root().join("quet-web-app");
            let out = root.join("dist");
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("build.sh");
            let status = Command::new("bash")
                .arg(&script)
                .arg(&out)
                .env("CARGO_TARGET_DIR", root.join("cargo"))
                .status()
                .expect("running web/build.sh");
            assert!(status.success(), "web/build.sh failed");
            out
        })
        .clone()
}

/// Browser tests share 2 cores: one at a time.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Bytes that crossed the proxy.
#[derive(Default, Debug)]
pub struct Traffic {
    /// Client → server.
    pub up: AtomicU64,
    /// Server → client.
    pub down: AtomicU64,
    /// Connections accepted.
    pub connections: AtomicU64,
}

impl Traffic {
    /// (up, down) so far.
    pub fn bytes(&self) -> (u64, u64) {
        (
            self.up.load(Ordering::SeqCst),
            self.down.load(Ordering::SeqCst),
        )
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream, count: Arc<Traffic>, up: bool) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let c = if up { &count.up } else { &count.down };
                c.fetch_add(n as u64, Ordering::SeqCst);
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Both);
}

/// A loopback TCP proxy that counts bytes each way (threads; lives with the test).
fn proxy(listen: u16, backend: u16) -> Arc<Traffic> {
    let traffic = Arc::new(Traffic::default());
    let l = TcpListener::bind(("127.0.0.1", listen)).unwrap();
    let t = traffic.clone();
    std::thread::spawn(move || {
        for client in l.incoming().flatten() {
            t.connections.fetch_add(1, Ordering::SeqCst);
            let Ok(server) = TcpStream::connect(("127.0.0.1", backend)) else {
                continue;
            };
            let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            let (ta, tb) = (t.clone(), t.clone());
            std::thread::spawn(move || pipe(client, server, ta, true));
            std::thread::spawn(move || pipe(s2, c2, tb, false));
        }
    });
    traffic
}

/// A health authority serving the app, on loopback.
pub struct World {
    /// The tokio runtime the server runs on.
    pub rt: tokio::runtime::Runtime,
    server: Option<RunningServer>,
    /// Temporary directory (authority data, venues).
    pub dir: tempfile::TempDir,
    /// The public base URL (`http://127.0.0.1:PORT`, through the proxy).
    pub base: String,
    /// A staff token.
    pub staff: String,
    /// The signed descriptor as served.
    pub descriptor: Vec<u8>,
    /// What went through the proxy.
    pub traffic: Arc<Traffic>,
}

impl World {
    /// Initialises an authority whose base URL is the proxy's, and starts it.
    pub fn start() -> World {
        let app = app_dir();
        let dir = tempfile::tempdir().unwrap();
        let public = free_port();
        let backend = free_port();
        let base = format!("http://127.0.0.1:{public}");
        let data = dir.path().join("ha");
        quet_server::init_authority(&quet_server::InitOptions {
            data_dir: data.clone(),
            name: "Sở Y tế Hà Nội".into(),
            base_url: base.clone(),
            id: None,
        })
        .unwrap();
        let staff = quet_server::add_staff(&data, "web-test").unwrap();
        let mut config = Config::new(&data, format!("127.0.0.1:{backend}").parse().unwrap());
        config.app_dir = Some(app);
        config.publish_interval_secs = 0;
        config.attempts_per_minute = 1000;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let server = rt.block_on(quet_server::start(config, false)).unwrap();
        let traffic = proxy(public, backend);
        let descriptor = http("GET", &format!("{base}/v1/descriptor"), None, None).1;
        World {
            rt,
            server: Some(server),
            dir,
            base,
            staff,
            descriptor,
            traffic,
        }
    }

    /// The descriptor's fingerprint.
    pub fn fingerprint(&self) -> String {
        quet_protocol::authority::AuthorityDescriptor::decode(&self.descriptor)
            .unwrap()
            .fingerprint()
    }

    /// A venue pinned to this authority, made with the venue tool's library.
    pub fn venue(&self, name: &str, address: &str, category: Category) -> Venue {
        let path = self.dir.path().join(format!("venue-{}.quet", free_port()));
        let new = NewVenue::new(name, address, category, &self.base, self.descriptor.clone());
        Venue::create(&mut quet_venue::system_rng(), &path, &new, None).unwrap()
    }

    /// Staff call to the admin API; returns (status, JSON body or null).
    pub fn admin(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let (status, bytes) = http(
            method,
            &format!("{}{path}", self.base),
            body.as_ref(),
            Some(&self.staff),
        );
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// A fresh authorization code for a confirmed case.
    pub fn auth_code(&self) -> String {
        let (s, j) = self.admin("POST", "/admin/v1/auth-codes", Some(json!({})));
        assert_eq!(s, 200, "{j}");
        j["auth_code"].as_str().unwrap().to_string()
    }

    /// Approves every pending review with `message`; returns the notice ids.
    pub fn approve_all(&self, message_vi: &str, message_en: &str) -> Vec<String> {
        let (s, reviews) = self.admin("GET", "/admin/v1/reviews", None);
        assert_eq!(s, 200);
        let mut notices = Vec::new();
        for r in reviews.as_array().unwrap() {
            let id = r["id"].as_u64().unwrap();
            let (s, j) = self.admin(
                "POST",
                &format!("/admin/v1/reviews/{id}/approve"),
                Some(json!({"severity": "test", "message_vi": message_vi,
                    "message_en": message_en, "buffer_minutes": 30})),
            );
            assert_eq!(s, 200, "{j}");
            for n in j["notices"].as_array().unwrap() {
                notices.push(n.as_str().unwrap().to_string());
            }
        }
        notices
    }

    /// Publishes a bulletin now.
    pub fn publish(&self) -> u64 {
        let (s, j) = self.admin("POST", "/admin/v1/publish", None);
        assert_eq!(s, 200, "{j}");
        j["sequence"].as_u64().unwrap()
    }
}

impl Drop for World {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            let _ = self.rt.block_on(s.shutdown());
        }
    }
}

/// The code a venue's display shows now (URL text).
pub fn display_code(venue: &Venue) -> String {
    let d = Display::new(venue, Arc::new(SystemClock)).unwrap();
    match d.showing().unwrap() {
        Showing::Code(c) => c.url,
        other => panic!("display shows no code: {other:?}"),
    }
}

/// Serves the venue's real display page (`quet-venue display`'s router) on
/// loopback, for a browser to take a picture of. Returns its URL.
pub fn serve_display(rt: &tokio::runtime::Runtime, venue: &Venue) -> String {
    let display = Arc::new(Display::new(venue, Arc::new(SystemClock)).unwrap());
    let app = quet_venue::display::router(display);
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/")
}

/// One HTTP/1.1 request over a fresh connection: (status, body).
pub fn http(method: &str, url: &str, body: Option<&Value>, token: Option<&str>) -> (u16, Vec<u8>) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let auth = token.map(|t| format!("Bearer {t}"));
    let resp = match (method, body) {
        ("GET", _) => {
            let mut r = agent.get(url);
            if let Some(a) = &auth {
                r = r.header("authorization", a);
            }
            r.call()
        }
        (_, b) => {
            let mut r = agent.post(url);
            if let Some(a) = &auth {
                r = r.header("authorization", a);
            }
            match b {
                Some(b) => r
                    .header("content-type", "application/json")
                    .send(b.to_string().as_bytes()),
                None => r.send_empty(),
            }
        }
    };
    let mut resp = resp.unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.body_mut().read_to_vec().unwrap_or_default();
    (status, bytes)
}
