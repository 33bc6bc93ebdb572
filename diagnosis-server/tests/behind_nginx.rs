//! `quet-server` behind Debian's nginx as a TLS-terminating reverse proxy would be
//! deployed (README: "Deployment behind nginx"), minus the TLS: nginx on one
//! loopback port proxies to the real binary, which trusts nginx's address only.
//! Clients reach nginx from different loopback addresses (127.0.0.2, 127.0.0.3),
//! and the server must tell them apart by the `X-Forwarded-For` nginx sets, never
//! by what a client claims.
//!
//! Needs nginx (`apt-get install nginx-light` or `nginx`); under `CI=true` a
//! missing nginx is a failure, elsewhere the test says "skipped".

mod common;
mod wire;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use wire::*;

fn nginx_binary() -> Option<&'static str> {
    let found = ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "nginx is required under CI (apt-get install nginx)"
        );
        eprintln!("skipped: nginx missing (apt-get install nginx-light)");
    }
    found
}

struct Nginx(std::process::Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The proxy part of the README's nginx configuration, on loopback ports.
pub fn proxy_config(prefix: &std::path::Path, listen: u16, upstream: &str) -> String {
    let p = prefix.display();
    format!(
        r#"daemon off; master_process off; worker_processes 1; pid {p}/nginx.pid; error_log {p}/error.log;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {p}/tmp; proxy_temp_path {p}/tmp; fastcgi_temp_path {p}/tmp; uwsgi_temp_path {p}/tmp; scgi_temp_path {p}/tmp;
  upstream quet {{
    server {upstream};
    keepalive 16;
    keepalive_timeout 5s;
  }}
  server {{
    listen 127.0.0.1:{listen};
    client_max_body_size 160k;
    client_header_timeout 10s;
    client_body_timeout 10s;
    keepalive_timeout 30s;
    send_timeout 20s;
    location / {{
      proxy_pass http://quet;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header Forwarded "";
      proxy_read_timeout 40s;
    }}
  }}
}}
"#
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn clients_behind_nginx_get_their_own_budgets_and_cannot_spoof_them() {
    let Some(nginx) = nginx_binary() else { return };
    let ha = Authority::new();
    let s = Server::start(
        &ha.data(),
        &["--trusted-proxy", "127.0.0.1", "--attempts-per-minute", "2"],
    );
    let prefix = ha.dir.path().join("nginx");
    std::fs::create_dir_all(prefix.join("tmp")).unwrap();
    let port = free_port();
    let upstream = s.base.trim_start_matches("http://").to_owned();
    std::fs::write(
        prefix.join("nginx.conf"),
        proxy_config(&prefix, port, &upstream),
    )
    .unwrap();
    let _nginx = Nginx(
        Command::new(nginx)
            .args(["-c", prefix.join("nginx.conf").to_str().unwrap()])
            .args(["-p", prefix.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let proxy: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    assert!(
        wait_until(
            || try_request("GET", &format!("http://{proxy}/healthz"), &[], None)
                .is_some_and(|r| r.status == 200),
            10
        ),
        "nginx did not start"
    );
    let body =
        serde_json::to_vec(&serde_json::json!({"auth_code": "0000-0000-0000-0000"})).unwrap();
    let preview = |from: u8, claim: Option<&str>| {
        let headers: Vec<(&str, &str)> = claim
            .map(|c| vec![("X-Forwarded-For", c)])
            .unwrap_or_default();
        let a = request_from(
            other_client(from),
            proxy,
            "POST",
            "/v1/reports/preview",
            &headers,
            Some(("application/json", &body)),
        );
        assert!(a.json()["error"].is_string());
        a.status
    };
    // Client .2 spends its budget, even while claiming to be someone else each time.
    assert_eq!(preview(2, Some("198.51.100.1")), 401);
    assert_eq!(preview(2, Some("198.51.100.2")), 401);
    assert_eq!(preview(2, Some("198.51.100.3")), 429);
    // Client .3, behind the same proxy, still has its own.
    assert_eq!(preview(3, None), 401);
    // The real server is still answering through the proxy, with its JSON errors.
    let a = request_from(other_client(3), proxy, "GET", "/v1/bulletins/01", &[], None);
    assert_eq!(a.status, 404);
    assert_eq!(a.json()["error"], "not_found");
    std::thread::sleep(Duration::from_millis(50));
}
