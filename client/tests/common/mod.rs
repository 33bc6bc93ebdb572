//! Shared fixtures for the client's integration tests: a health authority and
//! venues built with the protocol crate, clients over memory or SQLite stores, and
//! a fake diagnosis server on loopback that follows `spec/api.md`.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use quet_client::{Argon2Settings, Client, MemoryStore};
use quet_protocol::authority::{AuthorityDescriptor, AuthorityId, AuthorityKeys};
use quet_protocol::bulletin::{Bulletin, BulletinDraft};
use quet_protocol::category::Category;
use quet_protocol::code::{CodeIssuer, VenueInfo};
use quet_protocol::head::{BulletinHead, ChainPoint, DEFAULT_HEAD_LIFETIME_SECS, HeadDraft};
use quet_protocol::notice::{ExposureNotice, NoticeBody, Severity, TEMPLATE_TEST, TracePlan};
use quet_protocol::testing::{DeterministicRng, test_rng};
use quet_protocol::time::{UnixTime, UtcOffset};
use quet_protocol::venue_keys::VenueMasterKey;

/// 2026-09-21 00:00 UTC.
pub const DAY0: u64 = 20_717 * 86_400;

/// A time on DAY0.
pub fn at(hour: u64, minute: u64) -> UnixTime {
    UnixTime(DAY0 + hour * 3600 + minute * 60)
}

/// A health authority and a deterministic RNG.
pub struct World {
    pub rng: DeterministicRng,
    pub ha: AuthorityKeys,
    pub descriptor: AuthorityDescriptor,
}

impl World {
    pub fn new(base_url: &str) -> World {
        Self::with_seed(42, base_url)
    }

    pub fn with_seed(seed: u8, base_url: &str) -> World {
        let mut rng = test_rng(seed);
        let ha = AuthorityKeys::generate(&mut rng);
        let descriptor = ha.descriptor(AuthorityId(0x0100_0001), "Sở Y tế Hà Nội", base_url);
        World {
            rng,
            ha,
            descriptor,
        }
    }

    /// The signed descriptor a phone pins.
    pub fn descriptor_bytes(&self) -> Vec<u8> {
        self.ha.sign_descriptor(&self.descriptor).unwrap()
    }

    pub fn venue(&mut self, name: &str, category: Category) -> CodeIssuer {
        let info = VenueInfo {
            name: name.into(),
            address: "12 Tràng Tiền, Hoàn Kiếm, Hà Nội".into(),
            category,
            max_stay_minutes: category.default_max_stay_minutes(),
        };
        CodeIssuer::new(
            VenueMasterKey::generate(&mut self.rng),
            info,
            &self.descriptor,
        )
        .unwrap()
    }

    /// The URL a phone scans at `venue` at time `t`.
    pub fn code_url(&mut self, venue: &mut CodeIssuer, t: UnixTime) -> String {
        venue
            .screen_code(&mut self.rng, t)
            .unwrap()
            .to_url(&self.descriptor.base_url)
    }

    /// The notice the HA would publish for a case at `venue` during [arrival,
    /// departure) over the venue's screen (hour) epochs.
    pub fn notice_for(
        &mut self,
        venue: &CodeIssuer,
        arrival: UnixTime,
        departure: UnixTime,
    ) -> ExposureNotice {
        self.notice_with(
            venue,
            arrival,
            departure,
            Severity::Test,
            "Hãy đi xét nghiệm.",
            "Please get tested.",
        )
    }

    /// As [`World::notice_for`] with a given severity and message.
    pub fn notice_with(
        &mut self,
        venue: &CodeIssuer,
        arrival: UnixTime,
        departure: UnixTime,
        severity: Severity,
        vi: &str,
        en: &str,
    ) -> ExposureNotice {
        let plan = TracePlan::new(
            arrival,
            departure,
            venue.venue().max_stay_secs(),
            0,
            &venue.uses().epoch_kinds(),
            UtcOffset::VIETNAM,
            UnixTime(u64::MAX / 2),
        )
        .unwrap();
        let master = venue.master().expect("test venues hold their master");
        let day_keys: Vec<_> = plan.days().iter().map(|d| master.day_key(*d)).collect();
        let body = NoticeBody {
            severity,
            window_start: plan.exact.0,
            window_end: plan.exact.1,
            template: TEMPLATE_TEST,
            message_vi: format!("Bạn có thể đã tiếp xúc. {vi}"),
            message_en: format!("You may have been exposed. {en}"),
        };
        ExposureNotice::build(&mut self.rng, &day_keys, &plan.segments, &body).unwrap()
    }

    pub fn bulletin(
        &mut self,
        sequence: u64,
        prev: [u8; 32],
        notices: Vec<ExposureNotice>,
        withdrawn: Vec<[u8; 16]>,
    ) -> Bulletin {
        self.bulletin_at(sequence, prev, notices, withdrawn, at(20, 0))
    }

    pub fn bulletin_at(
        &mut self,
        sequence: u64,
        prev: [u8; 32],
        notices: Vec<ExposureNotice>,
        withdrawn: Vec<[u8; 16]>,
        issued: UnixTime,
    ) -> Bulletin {
        BulletinDraft {
            sequence,
            prev_hash: prev,
            issued_at: issued,
            expires_at: UnixTime(issued.0 + 14 * 86_400),
            notices,
            withdrawn,
            revoked: vec![],
        }
        .sign(&self.ha, &self.descriptor)
        .unwrap()
    }

    /// The head the authority signs at `now` for `bulletins` (its whole history,
    /// oldest first): latest issued, oldest still live.
    pub fn head(&self, bulletins: &[Bulletin], now: UnixTime) -> BulletinHead {
        let point = |b: &Bulletin| ChainPoint {
            sequence: b.sequence,
            hash: b.hash(),
        };
        let latest = bulletins.last().map_or(ChainPoint::default(), point);
        let oldest = bulletins.iter().find(|b| b.expires_at > now).map_or(
            ChainPoint {
                sequence: latest.sequence + 1,
                hash: [0; 32],
            },
            point,
        );
        BulletinHead::sign(
            &HeadDraft {
                descriptor_serial: self.descriptor.serial,
                latest,
                oldest,
                issued_at: now,
                expires_at: UnixTime(now.0 + DEFAULT_HEAD_LIFETIME_SECS),
            },
            &self.ha,
            &self.descriptor,
        )
        .unwrap()
    }

    /// A chain of bulletins, one per entry of `batches`.
    pub fn chain(&mut self, batches: Vec<(Vec<ExposureNotice>, Vec<[u8; 16]>)>) -> Vec<Bulletin> {
        let mut out: Vec<Bulletin> = Vec::new();
        for (i, (notices, withdrawn)) in batches.into_iter().enumerate() {
            let prev = out.last().map_or([0; 32], Bulletin::hash);
            out.push(self.bulletin(i as u64 + 1, prev, notices, withdrawn));
        }
        out
    }
}

/// A client over an in-memory store with a deterministic RNG, and the cheapest
/// Argon2id parameters a slot may carry (tests set PINs often).
pub fn memory_client(seed: u8) -> Client<MemoryStore> {
    let mut c = Client::new(
        MemoryStore::new(),
        Box::new(test_rng(seed.wrapping_add(100))),
    );
    c.set_argon2_settings(Argon2Settings::MINIMUM);
    c
}

/// A client with `world`'s authority pinned.
pub fn pinned_client(world: &World, seed: u8) -> Client<MemoryStore> {
    let mut c = memory_client(seed);
    c.pin_authority(&world.descriptor_bytes()).unwrap();
    c
}

/// What the fake server serves and what it received.
#[derive(Default)]
pub struct ServerState {
    pub descriptor: Vec<u8>,
    pub authority: u32,
    /// Live bulletins by the sequence number they are served under.
    pub bulletins: BTreeMap<u64, Vec<u8>>,
    /// The signed head served at `/v1/bulletins/head` (404 when `None`).
    pub head: Option<Vec<u8>>,
    /// Sequences answered with 500 (simulated interruption).
    pub failing: Vec<u64>,
    /// Valid auth codes: code → (report_since, expires_at).
    pub codes: HashMap<String, (u64, u64)>,
    /// Answer every report call with 429.
    pub rate_limited: bool,
    /// Every request line received.
    pub requests: Vec<String>,
    /// Every accepted report body.
    pub reports: Vec<serde_json::Value>,
}

/// A minimal HTTP/1.1 server on 127.0.0.1 following `spec/api.md`.
pub struct FakeServer {
    pub base: String,
    pub state: Arc<Mutex<ServerState>>,
}

impl FakeServer {
    pub fn start() -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(ServerState::default()));
        let s = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let s = s.clone();
                std::thread::spawn(move || {
                    let _ = handle(stream, &s);
                });
            }
        });
        FakeServer { base, state }
    }

    /// Serves `bulletins` (added to what is served) and a head for the whole
    /// served history signed at 20:30 on DAY0 (fresh until 02:30 the next day).
    pub fn serve_chain(&self, world: &World, bulletins: &[Bulletin]) {
        self.serve_chain_at(world, bulletins, at(20, 30));
    }

    /// As [`FakeServer::serve_chain`] with the head signed at `now`.
    pub fn serve_chain_at(&self, world: &World, bulletins: &[Bulletin], now: UnixTime) {
        let mut st = self.state.lock().unwrap();
        for b in bulletins {
            st.bulletins.insert(b.sequence, b.as_bytes().to_vec());
        }
        let all: Vec<Bulletin> = st
            .bulletins
            .values()
            .map(|b| Bulletin::decode_and_verify_signature(b, &world.descriptor).unwrap())
            .collect();
        st.head = Some(world.head(&all, now).as_bytes().to_vec());
    }

    /// Serves exactly `head`.
    pub fn serve_head(&self, head: &BulletinHead) {
        self.state.lock().unwrap().head = Some(head.as_bytes().to_vec());
    }

    pub fn requests(&self) -> Vec<String> {
        self.state.lock().unwrap().requests.clone()
    }
}

fn respond(stream: &mut TcpStream, status: u16, ctype: &str, extra: &str, body: &[u8]) {
    let head = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\nconnection: close\r\n{extra}\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
    let _ = stream.flush();
}

fn error(stream: &mut TcpStream, status: u16, kind: &str, extra: &str) {
    let body = serde_json::json!({"error": kind, "message": kind}).to_string();
    respond(stream, status, "application/json", extra, body.as_bytes());
}

fn handle(mut stream: TcpStream, state: &Mutex<ServerState>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut len = 0usize;
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        if h == "\r\n" || h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            len = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    let mut st = state.lock().unwrap();
    st.requests.push(format!("{method} {path}"));
    match (method.as_str(), path.as_str()) {
        ("GET", "/v1/descriptor") => {
            let d = st.descriptor.clone();
            respond(&mut stream, 200, "application/octet-stream", "", &d);
        }
        ("GET", "/v1/bulletins/head") => match st.head.clone() {
            Some(h) => respond(&mut stream, 200, "application/octet-stream", "", &h),
            None => error(&mut stream, 404, "not_found", ""),
        },
        ("GET", "/v1/bulletins/index.json") => {
            let list: Vec<_> = st
                .bulletins
                .iter()
                .map(|(s, b)| serde_json::json!({"sequence": s, "sha256": "", "size": b.len()}))
                .collect();
            let first = st.bulletins.keys().next().copied().unwrap_or(0);
            let latest = st.bulletins.keys().last().copied().unwrap_or(0);
            let j = serde_json::json!({
                "authority": format!("{:08x}", st.authority),
                "first": first, "latest": latest, "bulletins": list,
            });
            respond(
                &mut stream,
                200,
                "application/json",
                "",
                j.to_string().as_bytes(),
            );
        }
        ("GET", p) if p.starts_with("/v1/bulletins/") => {
            let seq: u64 = p
                .trim_start_matches("/v1/bulletins/")
                .split('?')
                .next()
                .unwrap_or("")
                .parse()
                .unwrap_or(0);
            if st.failing.contains(&seq) {
                error(&mut stream, 500, "internal", "");
            } else if let Some(b) = st.bulletins.get(&seq).cloned() {
                respond(&mut stream, 200, "application/octet-stream", "", &b);
            } else {
                error(&mut stream, 404, "not_found", "");
            }
        }
        ("POST", "/v1/reports/preview") | ("POST", "/v1/reports") => {
            if st.rate_limited {
                error(&mut stream, 429, "rate_limited", "retry-after: 60\r\n");
                return Ok(());
            }
            let Ok(j) = serde_json::from_slice::<serde_json::Value>(&body) else {
                error(&mut stream, 400, "bad_request", "");
                return Ok(());
            };
            let code = j["auth_code"]
                .as_str()
                .unwrap_or("")
                .to_uppercase()
                .replace('-', "");
            let Some(&(since, expires)) = st.codes.get(&code) else {
                error(&mut stream, 401, "auth_code_invalid", "");
                return Ok(());
            };
            if path == "/v1/reports/preview" {
                let a = serde_json::json!({"report_since": since, "expires_at": expires});
                respond(
                    &mut stream,
                    200,
                    "application/json",
                    "",
                    a.to_string().as_bytes(),
                );
            } else {
                let n = j["envelopes"].as_array().map_or(0, Vec::len);
                if n != quet_protocol::envelope::REPORT_ENVELOPE_COUNT {
                    error(&mut stream, 400, "bad_request", "");
                    return Ok(());
                }
                st.codes.remove(&code);
                st.reports.push(j);
                let a = serde_json::json!({"receipt": "00ff", "padding": ""});
                respond(
                    &mut stream,
                    202,
                    "application/json",
                    "",
                    a.to_string().as_bytes(),
                );
            }
        }
        _ => error(&mut stream, 404, "not_found", ""),
    }
    Ok(())
}
