//! Raw-socket helpers for the open-internet tests: connect from a chosen loopback
//! address (127.0.0.2 is "another client"), send bytes, read one HTTP/1.1 answer,
//! and tell whether the server closed a socket. Every wait here is bounded.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// A TCP connection to `server` whose source address is `from` (any 127.x.y.z).
pub fn connect_from(from: IpAddr, server: SocketAddr) -> TcpStream {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(server),
        socket2::Type::STREAM,
        None,
    )
    .unwrap();
    socket.bind(&SocketAddr::new(from, 0).into()).unwrap();
    socket
        .connect_timeout(&server.into(), Duration::from_secs(5))
        .unwrap();
    let s: TcpStream = socket.into();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    s
}

/// The server address of a base URL `http://host:port`.
pub fn addr_of(base: &str) -> SocketAddr {
    base.trim_start_matches("http://").parse().unwrap()
}

/// One parsed HTTP answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| {
            panic!(
                "not JSON ({}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// Reads one answer (headers, then a `Content-Length` body) within `limit`.
pub fn read_answer(s: &mut TcpStream, limit: Duration) -> Option<Answer> {
    let end = Instant::now() + limit;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        let left = end.checked_duration_since(Instant::now())?;
        s.set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .ok()?;
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let mut a = Answer {
        status,
        head,
        body: buf[head_end..].to_vec(),
    };
    let len: usize = a
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while a.body.len() < len {
        let left = end.checked_duration_since(Instant::now())?;
        s.set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .ok()?;
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => a.body.extend_from_slice(&chunk[..n]),
        }
    }
    Some(a)
}

/// Sends one request from `from` and reads its answer.
pub fn request_from(
    from: IpAddr,
    server: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, &[u8])>,
) -> Answer {
    let mut s = connect_from(from, server);
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {server}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some((ct, b)) = body {
        req.push_str(&format!(
            "Content-Type: {ct}\r\nContent-Length: {}\r\n",
            b.len()
        ));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    if let Some((_, b)) = body {
        bytes.extend_from_slice(b);
    }
    s.write_all(&bytes).unwrap();
    read_answer(&mut s, Duration::from_secs(20))
        .unwrap_or_else(|| panic!("no answer to {method} {path}"))
}

/// Whether the server has closed `s` (EOF or reset) within `limit`; reads and
/// discards anything it sends first.
pub fn closed_within(s: &mut TcpStream, limit: Duration) -> bool {
    let end = Instant::now() + limit;
    let mut chunk = [0u8; 4096];
    loop {
        let Some(left) = end.checked_duration_since(Instant::now()) else {
            return false;
        };
        s.set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .unwrap();
        match s.read(&mut chunk) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return false;
            }
            Err(_) => return true,
        }
    }
}

/// Another loopback client address than the tests' default 127.0.0.1.
pub fn other_client(n: u8) -> IpAddr {
    IpAddr::from([127, 0, 0, n])
}

/// The real binary started with a wrapper (e.g. `prlimit ...`), environment
/// variables and flags; reads `listening on` and, if present, `metrics on`.
pub struct Spawned {
    pub child: std::process::Child,
    pub base: String,
    pub metrics: Option<SocketAddr>,
    pub stderr: Option<std::path::PathBuf>,
}

impl Spawned {
    pub fn start(
        wrapper: &[&str],
        data: &std::path::Path,
        extra: &[&str],
        env: &[(&str, &str)],
        stderr_to: Option<&std::path::Path>,
    ) -> Spawned {
        use std::io::BufRead;
        let bin = env!("CARGO_BIN_EXE_quet-server");
        let mut cmd = match wrapper.split_first() {
            Some((first, rest)) => {
                let mut c = std::process::Command::new(first);
                c.args(rest).arg(bin);
                c
            }
            None => std::process::Command::new(bin),
        };
        cmd.args([
            "run",
            "--data",
            data.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .args(extra)
        .env("QUET_LOG", "warn")
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped());
        match stderr_to {
            Some(p) => cmd.stderr(std::fs::File::create(p).unwrap()),
            None => cmd.stderr(std::process::Stdio::inherit()),
        };
        let mut child = cmd.spawn().unwrap();
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        let base = format!(
            "http://{}",
            line.trim()
                .strip_prefix("listening on ")
                .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        );
        let metrics = extra.contains(&"--metrics-listen").then(|| {
            let mut m = String::new();
            out.read_line(&mut m).unwrap();
            m.trim()
                .strip_prefix("metrics on ")
                .unwrap_or_else(|| panic!("unexpected second line {m:?}"))
                .parse()
                .unwrap()
        });
        Spawned {
            child,
            base,
            metrics,
            stderr: stderr_to.map(|p| p.to_owned()),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        addr_of(&self.base)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        self.stop();
    }
}
