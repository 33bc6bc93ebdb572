//! `quet-server export` writes the API's URL layout as static files; a real nginx
//! (Debian's, started here on loopback) serves them and clients verify the chain.

mod common;

use std::process::{Command, Stdio};

use common::*;
use quet_protocol::authority::AuthorityDescriptor;
use quet_protocol::bulletin::Bulletin;
use quet_protocol::time::UnixTime;

fn nginx_binary() -> Option<&'static str> {
    ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Nginx(std::process::Child);
impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn exported_files_served_by_nginx_form_a_verifiable_chain() {
    let ha = Authority::new();
    let s = Server::start(&ha.data(), &[]);
    let d = descriptor(&s);
    let v = venue(9, &d, "Siêu thị");
    let t = now() - 7200;
    let trace = serde_json::json!({"sheet": v.sheet, "start": t, "end": t + 1800, "max_stay_minutes": 60,
        "buffer_minutes": 15, "severity": "monitor", "message_vi": "Theo dõi", "message_en": "Monitor"});
    assert_eq!(
        admin(&s, &ha.token, "POST", "/admin/v1/traces", Some(trace)).status,
        200
    );
    for _ in 0..3 {
        assert_eq!(
            admin(&s, &ha.token, "POST", "/admin/v1/publish", None).status,
            200
        );
    }
    let out = ha.dir.path().join("www");
    let text = cli(&[
        "export",
        "--data",
        ha.data().to_str().unwrap(),
        "--to",
        out.to_str().unwrap(),
    ]);
    assert!(text.contains("exported 3 bulletins"), "{text}");
    // Same bytes as the API, same paths.
    for path in [
        "/v1/descriptor",
        "/v1/bulletins/index.json",
        "/v1/bulletins/1",
        "/v1/bulletins/3",
    ] {
        let file = std::fs::read(out.join(path.trim_start_matches('/'))).unwrap();
        assert_eq!(file, get(&s.url(path)).body, "{path}");
    }
    // Exporting again is idempotent and removes nothing that is still listed.
    let text = cli(&[
        "export",
        "--data",
        ha.data().to_str().unwrap(),
        "--to",
        out.to_str().unwrap(),
    ]);
    assert!(text.contains("removed 0"), "{text}");

    let Some(nginx) = nginx_binary() else {
        eprintln!(
            "SKIPPED: nginx is not installed (apt-get install nginx-light); the export itself was checked above"
        );
        return;
    };
    let prefix = ha.dir.path().join("nginx");
    std::fs::create_dir_all(prefix.join("tmp")).unwrap();
    let port = free_port();
    let p = prefix.display();
    let conf = format!(
        r#"daemon off; master_process off; worker_processes 1; pid {p}/nginx.pid; error_log {p}/error.log;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {p}/tmp; proxy_temp_path {p}/tmp; fastcgi_temp_path {p}/tmp; uwsgi_temp_path {p}/tmp; scgi_temp_path {p}/tmp;
  types {{ application/json json; }}
  default_type application/octet-stream;
  server {{
    listen 127.0.0.1:{port};
    root {root};
    location = /v1/bulletins/index.json {{ add_header Cache-Control "no-cache"; }}
    location = /v1/descriptor {{ add_header Cache-Control "public, max-age=300"; }}
    location /v1/bulletins/ {{ add_header Cache-Control "public, max-age=31536000, immutable"; }}
  }}
}}
"#,
        root = out.display()
    );
    std::fs::write(prefix.join("nginx.conf"), conf).unwrap();
    let _nginx = Nginx(
        Command::new(nginx)
            .args([
                "-c",
                prefix.join("nginx.conf").to_str().unwrap(),
                "-p",
                prefix.to_str().unwrap(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    assert!(
        wait_until(
            || try_request("GET", &format!("{base}/v1/descriptor"), &[], None).is_some(),
            10
        ),
        "nginx did not start"
    );
    // A client that knows only the static site.
    let desc = get(&format!("{base}/v1/descriptor"));
    assert_eq!(AuthorityDescriptor::decode(&desc.body).unwrap(), d);
    let idx = get(&format!("{base}/v1/bulletins/index.json"));
    assert_eq!(idx.header("cache-control"), Some("no-cache"));
    assert!(
        idx.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    let idx = idx.json();
    assert_eq!(
        (idx["first"].as_u64(), idx["latest"].as_u64()),
        (Some(1), Some(3))
    );
    let mut last = None;
    let mut keys = 0;
    for entry in idx["bulletins"].as_array().unwrap() {
        let seq = entry["sequence"].as_u64().unwrap();
        let r = get(&format!("{base}/v1/bulletins/{seq}"));
        assert_eq!(r.status, 200);
        assert_eq!(
            r.header("cache-control"),
            Some("public, max-age=31536000, immutable")
        );
        assert!(r.header("etag").is_some());
        assert_eq!(r.body.len() as u64, entry["size"].as_u64().unwrap());
        let b = Bulletin::verify_next(&r.body, &d, last.as_ref(), UnixTime(now())).unwrap();
        keys += b.key_count();
        last = Some(b.chain_state());
    }
    assert_eq!(last.unwrap().sequence, 3);
    assert!(keys >= 3 * 256);
    assert_eq!(get(&format!("{base}/v1/bulletins/4")).status, 404);
}
