//! `quet-server-bench`: a loopback load benchmark of the diagnosis server.
//!
//! It creates a throw-away authority in a temporary directory, starts the server
//! in-process on 127.0.0.1:0, publishes one bulletin (padded to the default minimum
//! key count), then:
//!
//! 1. downloads that bulletin over `--connections` keep-alive connections for at
//!    most `--seconds` seconds or `--max-requests` requests, whichever comes first,
//!    and reports downloads/s and latency percentiles;
//! 2. uploads `--uploads` real case reports (100 envelopes each, fresh codes) with
//!    as many workers as the server allows concurrent uploads, and reports uploads/s.
//!
//! Everything is bounded in count and time and stops by itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use quet_protocol::authority::AuthorityDescriptor;
use quet_protocol::category::Category;
use quet_protocol::code::{CodeIssuer, VenueInfo};
use quet_protocol::envelope::{REPORT_ENVELOPE_COUNT, ReportEnvelope};
use quet_protocol::time::UnixTime;
use quet_protocol::venue_keys::VenueMasterKey;
use quet_server::{Config, InitOptions};

#[derive(Parser)]
#[command(about = "Loopback load benchmark of quet-server")]
struct Args {
    /// Concurrent keep-alive connections for downloads.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Upper bound on the download phase, seconds.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Upper bound on download requests.
    #[arg(long, default_value_t = 2_000_000)]
    max_requests: u64,
    /// Case reports to upload (0 skips the upload phase).
    #[arg(long, default_value_t = 200)]
    uploads: usize,
    /// Server worker threads (0 = one per core).
    #[arg(long, default_value_t = 0)]
    server_threads: usize,
}

type HttpClient = Client<HttpConnector, Full<Bytes>>;

fn fail(msg: impl std::fmt::Display) -> ! {
    eprintln!("quet-server-bench: {msg}");
    std::process::exit(1)
}

async fn send(
    client: &HttpClient,
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<Vec<u8>>,
) -> (u16, Bytes) {
    let mut b = hyper::Request::builder().method(method).uri(url);
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    if body.is_some() {
        b = b.header("content-type", "application/json");
    }
    let req = b
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .unwrap_or_else(|e| fail(e));
    let resp = client.request(req).await.unwrap_or_else(|e| fail(e));
    let status = resp.status().as_u16();
    let body = resp
        .into_body()
        .collect()
        .await
        .unwrap_or_else(|e| fail(e))
        .to_bytes();
    (status, body)
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted.get(i).copied().unwrap_or(0)) / 1000.0
}

fn main() {
    let args = Args::parse();
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if args.server_threads > 0 {
        rt.worker_threads(args.server_threads);
    }
    let rt = rt.enable_all().build().unwrap_or_else(|e| fail(e));
    rt.block_on(run(args));
}

async fn run(args: Args) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| fail(e));
    let data = dir.path().join("ha");
    quet_server::init_authority(&InitOptions {
        data_dir: data.clone(),
        name: "Bench".into(),
        base_url: "https://quet.example".into(),
        id: Some(1),
    })
    .unwrap_or_else(|e| fail(e));
    let token = quet_server::add_staff(&data, "bench").unwrap_or_else(|e| fail(e));
    let mut config = Config::new(&data, ([127, 0, 0, 1], 0).into());
    config.attempts_per_minute = 1_000_000;
    config.global_attempts_per_second = 1_000_000;
    config.publish_interval_secs = 0;
    let uploads_at_once = config.max_concurrent_uploads;
    let server = quet_server::start(config, false)
        .await
        .unwrap_or_else(|e| fail(e));
    let base = server.base_url();
    let client: HttpClient = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(args.connections.max(8))
        .build_http();

    let (st, body) = send(
        &client,
        "POST",
        &format!("{base}/admin/v1/publish"),
        Some(&token),
        None,
    )
    .await;
    if st != 200 {
        fail(format!("publish: {st} {body:?}"));
    }
    let (_, bulletin) = send(
        &client,
        "GET",
        &format!("{base}/v1/bulletins/1"),
        None,
        None,
    )
    .await;
    println!(
        "bulletin: {} bytes; {} connections, at most {} s / {} requests",
        bulletin.len(),
        args.connections,
        args.seconds,
        args.max_requests
    );

    // Phase 1: downloads.
    let issued = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let expected_len = bulletin.len();
    let started = Instant::now();
    let mut tasks = Vec::new();
    let addr = server.addr();
    for _ in 0..args.connections {
        let issued = issued.clone();
        let max = args.max_requests;
        tasks.push(tokio::spawn(async move {
            // One raw HTTP/1.1 keep-alive connection per task: the cheapest client,
            // so that more of the shared CPU goes to the server.
            let stream = tokio::net::TcpStream::connect(addr)
                .await
                .unwrap_or_else(|e| fail(e));
            let _ = stream.set_nodelay(true);
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                    .await
                    .unwrap_or_else(|e| fail(e));
            tokio::spawn(conn);
            let mut lat = Vec::with_capacity(100_000);
            let mut errors = 0u64;
            while Instant::now() < deadline && issued.fetch_add(1, Ordering::Relaxed) < max {
                let t = Instant::now();
                let req = hyper::Request::get("/v1/bulletins/1")
                    .header("host", "127.0.0.1")
                    .body(Full::new(Bytes::new()))
                    .unwrap_or_else(|e| fail(e));
                let ok = match sender.send_request(req).await {
                    Ok(resp) => {
                        let st = resp.status().as_u16();
                        let body = resp.into_body().collect().await.map(|b| b.to_bytes());
                        st == 200 && body.is_ok_and(|b| b.len() == expected_len)
                    }
                    Err(_) => false,
                };
                if !ok {
                    errors += 1;
                }
                lat.push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
            }
            (lat, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.unwrap_or_else(|e| fail(e));
        all.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_unstable();
    println!(
        "downloads: {} in {:.2} s = {:.0}/s; latency ms p50 {:.2} p90 {:.2} p99 {:.2} max {:.2}; errors {}",
        all.len(),
        elapsed,
        all.len() as f64 / elapsed,
        percentile(&all, 0.50),
        percentile(&all, 0.90),
        percentile(&all, 0.99),
        percentile(&all, 1.0),
        errors
    );

    // Phase 2: uploads.
    if args.uploads > 0 {
        let (_, desc) = send(&client, "GET", &format!("{base}/v1/descriptor"), None, None).await;
        let desc = AuthorityDescriptor::decode(&desc).unwrap_or_else(|e| fail(e));
        let mut rng = quet_server::rng::system_rng();
        let venue = VenueInfo {
            name: "Bench venue".into(),
            address: "1 Bench street".into(),
            category: Category::Restaurant,
            max_stay_minutes: 60,
        };
        let mut issuer = CodeIssuer::new(VenueMasterKey::generate(&mut rng), venue, &desc)
            .unwrap_or_else(|e| fail(e));
        let mut bodies = Vec::new();
        for _ in 0..args.uploads {
            let (_, code) = send(
                &client,
                "POST",
                &format!("{base}/admin/v1/auth-codes"),
                Some(&token),
                Some(b"{}".to_vec()),
            )
            .await;
            let code: serde_json::Value = serde_json::from_slice(&code).unwrap_or_else(|e| fail(e));
            let now = quet_server::db::now();
            let checkin = issuer
                .screen_code(&mut rng, UnixTime(now))
                .unwrap_or_else(|e| fail(e));
            let mut envs = vec![
                data_encoding::BASE64.encode(
                    ReportEnvelope::seal(
                        &mut rng,
                        &desc,
                        &checkin,
                        UnixTime(now),
                        UnixTime(now + 600),
                    )
                    .unwrap_or_else(|e| fail(e))
                    .as_bytes(),
                ),
            ];
            while envs.len() < REPORT_ENVELOPE_COUNT {
                envs.push(
                    data_encoding::BASE64.encode(
                        ReportEnvelope::padding(&mut rng, &desc, UnixTime(now))
                            .unwrap_or_else(|e| fail(e))
                            .as_bytes(),
                    ),
                );
            }
            bodies.push(
                serde_json::to_vec(
                    &serde_json::json!({"auth_code": code["auth_code"], "envelopes": envs}),
                )
                .unwrap_or_else(|e| fail(e)),
            );
        }
        let queue = Arc::new(std::sync::Mutex::new(bodies));
        let started = Instant::now();
        let deadline = started + Duration::from_secs(60);
        let mut tasks = Vec::new();
        for _ in 0..uploads_at_once {
            let (client, queue, url) =
                (client.clone(), queue.clone(), format!("{base}/v1/reports"));
            tasks.push(tokio::spawn(async move {
                let (mut ok, mut other) = (0u64, 0u64);
                loop {
                    let next = queue.lock().unwrap_or_else(|p| p.into_inner()).pop();
                    let Some(body) = next else { break };
                    if Instant::now() > deadline {
                        break;
                    }
                    let (st, _) = send(&client, "POST", &url, None, Some(body)).await;
                    if st == 202 { ok += 1 } else { other += 1 }
                }
                (ok, other)
            }));
        }
        let (mut ok, mut other) = (0, 0);
        for t in tasks {
            let (a, b) = t.await.unwrap_or_else(|e| fail(e));
            ok += a;
            other += b;
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "uploads: {ok} accepted ({other} refused) in {secs:.2} s = {:.1}/s with {uploads_at_once} at once",
            ok as f64 / secs
        );
    }
    if let Err(e) = server.shutdown().await {
        fail(e);
    }
}
