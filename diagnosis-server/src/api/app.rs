//! Serves the phone web app (built by `web/build.sh`) where venue codes point.
//!
//! A venue's QR code is the URL `https://<authority>/C#<code>`: the phone's camera
//! opens it, so `GET /C` (and `/c`, `/`) must answer with the app shell. The app
//! directory (`--app DIR`, setting `app_dir`) is read into memory once at start,
//! each file compressed once with gzip; nothing under it is looked up per request,
//! so no request can reach any other file.
//!
//! | path | file | `Cache-Control` |
//! | --- | --- | --- |
//! | `/`, `/C`, `/c`, `/index.html` | `index.html` (app shell) | `no-cache` (revalidated; `ETag`) |
//! | `/display` | `display.html` (venue display shell), if built | `no-cache` |
//! | `/sw.js` | the service worker | `no-cache`: browsers must see a new version |
//! | `/manifest.webmanifest` | install manifest | `no-cache` |
//! | `/a/<version>/…` | versioned assets (`<version>` is a digest of their bytes) | `public, max-age=31536000, immutable` |
//!
//! MIME types come from the extension (`application/wasm` for WebAssembly, which
//! browsers require for streaming compilation). Without an app directory the shell
//! paths answer 503 with a page that says how to install the app.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use crate::error::ServerError;

/// Largest app directory served (files × bytes), so a wrong `--app` cannot eat memory.
pub const MAX_APP_FILES: usize = 256;
/// Largest total size of the app directory.
pub const MAX_APP_BYTES: u64 = 32 << 20;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";
/// The page's own policy, also in its `<meta>`; the header adds `frame-ancestors`.
const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
img-src 'self' data: blob:; media-src 'self' blob: mediastream:; connect-src *; object-src 'none'; \
base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// One file ready to serve.
#[derive(Debug, Clone)]
pub struct AppFile {
    /// The bytes.
    pub bytes: Bytes,
    /// The bytes gzip-compressed, when that is smaller.
    pub gzip: Option<Bytes>,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// `Cache-Control`.
    pub cache: &'static str,
    /// Strong `ETag` (SHA-256 of the bytes).
    pub etag: HeaderValue,
}

/// The app, loaded: URL path → file.
#[derive(Debug, Default)]
pub struct App {
    files: HashMap<String, AppFile>,
}

/// The MIME type of a file name, by extension.
pub fn content_type(name: &str) -> &'static str {
    match name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .as_deref()
    {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("webmanifest") => "application/manifest+json",
        Some("png") => "image/png",
        Some("svg") => "image/svg+xml",
        Some("ico") => "image/x-icon",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The `Cache-Control` of an app path: versioned assets forever, the rest revalidated.
pub fn cache_control(path: &str) -> &'static str {
    if path.starts_with("/a/") {
        IMMUTABLE
    } else {
        REVALIDATE
    }
}

/// Gzip at the best level; `None` when it does not make the file smaller.
pub fn gzip(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes).ok()?;
    let out = enc.finish().ok()?;
    (out.len() < bytes.len()).then_some(out)
}

/// Every file under `dir` as `(URL path, file path)`, bounded in count and size;
/// symbolic links and hidden files are skipped.
pub fn list(dir: &Path) -> Result<Vec<(String, PathBuf)>, ServerError> {
    let io = |p: &Path, e| ServerError::Io(p.display().to_string(), e);
    if !dir.join("index.html").is_file() {
        return Err(ServerError::Other(format!(
            "{} is not a built app (no index.html): run web/build.sh {}",
            dir.display(),
            dir.display()
        )));
    }
    let mut out = Vec::new();
    let mut total = 0u64;
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((path, url)) = stack.pop() {
        for entry in std::fs::read_dir(&path).map_err(|e| io(&path, e))? {
            let entry = entry.map_err(|e| io(&path, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let kind = entry.file_type().map_err(|e| io(&entry.path(), e))?;
            if name.starts_with('.') || kind.is_symlink() {
                continue;
            }
            let child = format!("{url}/{name}");
            if kind.is_dir() {
                stack.push((entry.path(), child));
            } else if kind.is_file() {
                total += entry.metadata().map_err(|e| io(&entry.path(), e))?.len();
                out.push((child, entry.path()));
                if out.len() > MAX_APP_FILES || total > MAX_APP_BYTES {
                    return Err(ServerError::Other(format!(
                        "{}: more than {MAX_APP_FILES} files or {MAX_APP_BYTES} bytes; is this the app?",
                        dir.display()
                    )));
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

impl App {
    /// Reads and compresses every file of a built app directory.
    pub fn load(dir: &Path) -> Result<App, ServerError> {
        let mut files = HashMap::new();
        for (url, path) in list(dir)? {
            let bytes =
                std::fs::read(&path).map_err(|e| ServerError::Io(path.display().to_string(), e))?;
            let etag = HeaderValue::from_str(&format!(
                "\"{}\"",
                data_encoding::HEXLOWER.encode(&Sha256::digest(&bytes))
            ))
            .map_err(|e| ServerError::Other(e.to_string()))?;
            files.insert(
                url.clone(),
                AppFile {
                    gzip: gzip(&bytes).map(Bytes::from),
                    bytes: Bytes::from(bytes),
                    content_type: content_type(&url),
                    cache: cache_control(&url),
                    etag,
                },
            );
        }
        Ok(App { files })
    }

    /// The file served at a request path.
    pub fn file(&self, path: &str) -> Option<&AppFile> {
        let key = match path {
            "/" | "/C" | "/c" => "/index.html",
            "/display" => "/display.html",
            p => p,
        };
        self.files.get(key)
    }
}

fn not_installed() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        "<!doctype html><html lang=\"vi\"><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Quét</title>\
<h1>Quét</h1><p>Ứng dụng điện thoại chưa được cài trên máy chủ này.</p>\
<p lang=\"en\">The phone app is not installed on this server: build it with \
<code>web/build.sh DIR</code> and start <code>quet-server run --app DIR</code>.</p></html>",
    )
        .into_response()
}

async fn serve(State(app): State<Option<Arc<App>>>, uri: Uri, headers: HeaderMap) -> Response {
    let Some(app) = app else {
        return not_installed();
    };
    let Some(f) = app.file(uri.path()) else {
        return crate::error::ApiError::not_found("no such resource").into_response();
    };
    let mut h = HeaderMap::new();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(f.cache));
    h.insert(header::ETAG, f.etag.clone());
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if f.content_type.starts_with("text/html") {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
    }
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim() == f.etag.to_str().unwrap_or("") || t.trim() == "*")
        });
    if fresh {
        return (StatusCode::NOT_MODIFIED, h).into_response();
    }
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(f.content_type),
    );
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    let gzip_ok = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',').any(|e| {
                let mut parts = e.split(';');
                let name = parts.next().unwrap_or("").trim();
                let refused = parts.any(|p| p.trim().replace(' ', "") == "q=0");
                name.eq_ignore_ascii_case("gzip") && !refused
            })
        });
    match (&f.gzip, gzip_ok) {
        (Some(z), true) => {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            (h, z.clone()).into_response()
        }
        _ => (h, f.bytes.clone()).into_response(),
    }
}

/// The app's routes. `dir` is the built app (`None`: the shell paths explain how
/// to install it). [`crate::Config::validate`] refuses to start with a directory
/// that is not a built app; one that breaks after that is logged and not served.
pub fn router<S: Clone + Send + Sync + 'static>(dir: Option<&Path>) -> Router<S> {
    let app = dir.and_then(|d| match App::load(d) {
        Ok(app) => Some(Arc::new(app)),
        Err(e) => {
            tracing::error!(error = %e, "the phone app is not served");
            None
        }
    });
    Router::new()
        .route("/", get(serve))
        .route("/C", get(serve))
        .route("/c", get(serve))
        .route("/index.html", get(serve))
        .route("/display", get(serve))
        .route("/sw.js", get(serve))
        .route("/manifest.webmanifest", get(serve))
        .route("/a/{*path}", get(serve))
        .with_state(app)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    fn built_app() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::create_dir_all(p.join("a/0123abcd/icons")).unwrap();
        std::fs::write(
            p.join("index.html"),
            "<!doctype html><title>Quét</title>".repeat(20),
        )
        .unwrap();
        std::fs::write(p.join("sw.js"), "self.addEventListener('fetch', () => {});").unwrap();
        std::fs::write(p.join("manifest.webmanifest"), "{}").unwrap();
        std::fs::write(
            p.join("a/0123abcd/quet_web_bg.wasm"),
            [0u8, 97, 115, 109].repeat(500),
        )
        .unwrap();
        std::fs::write(p.join("a/0123abcd/app.js"), "export {};").unwrap();
        std::fs::write(p.join("a/0123abcd/icons/icon-192.png"), [137u8, 80, 78, 71]).unwrap();
        std::fs::write(p.join(".secret"), "not served").unwrap();
        dir
    }

    async fn get(app: &Router, path: &str, headers: &[(&str, &str)]) -> Response {
        let mut req = Request::get(path);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        app.clone()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    fn header<'a>(r: &'a Response, name: &str) -> &'a str {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    #[tokio::test]
    async fn serves_the_shell_where_codes_point_and_assets_with_their_types() {
        let dir = built_app();
        let app: Router = router(Some(dir.path()));
        for path in ["/", "/C", "/c", "/index.html"] {
            let r = get(&app, path, &[]).await;
            assert_eq!(r.status(), StatusCode::OK, "{path}");
            assert_eq!(header(&r, "content-type"), "text/html; charset=utf-8");
            assert_eq!(header(&r, "cache-control"), "no-cache");
            assert!(header(&r, "content-security-policy").contains("frame-ancestors 'none'"));
            assert_eq!(header(&r, "referrer-policy"), "no-referrer");
        }
        let cases = [
            ("/sw.js", "text/javascript; charset=utf-8", "no-cache"),
            (
                "/manifest.webmanifest",
                "application/manifest+json",
                "no-cache",
            ),
            (
                "/a/0123abcd/quet_web_bg.wasm",
                "application/wasm",
                IMMUTABLE,
            ),
            (
                "/a/0123abcd/app.js",
                "text/javascript; charset=utf-8",
                IMMUTABLE,
            ),
            ("/a/0123abcd/icons/icon-192.png", "image/png", IMMUTABLE),
        ];
        for (path, mime, cache) in cases {
            let r = get(&app, path, &[]).await;
            assert_eq!(r.status(), StatusCode::OK, "{path}");
            assert_eq!(header(&r, "content-type"), mime, "{path}");
            assert_eq!(header(&r, "cache-control"), cache, "{path}");
            assert_eq!(header(&r, "x-content-type-options"), "nosniff");
        }
        for path in [
            "/.secret",
            "/a/0123abcd/../../.secret",
            "/a/other/app.js",
            "/display",
        ] {
            assert_eq!(
                get(&app, path, &[]).await.status(),
                StatusCode::NOT_FOUND,
                "{path}"
            );
        }
    }

    #[tokio::test]
    async fn compresses_when_asked_and_revalidates_with_the_etag() {
        let dir = built_app();
        let app: Router = router(Some(dir.path()));
        let plain = get(&app, "/a/0123abcd/quet_web_bg.wasm", &[]).await;
        assert_eq!(header(&plain, "content-encoding"), "");
        let etag = header(&plain, "etag").to_string();
        let plain = axum::body::to_bytes(plain.into_body(), usize::MAX)
            .await
            .unwrap();
        assert_eq!(plain.len(), 2000);
        let z = get(
            &app,
            "/a/0123abcd/quet_web_bg.wasm",
            &[("accept-encoding", "br, gzip")],
        )
        .await;
        assert_eq!(header(&z, "content-encoding"), "gzip");
        assert_eq!(header(&z, "vary"), "accept-encoding");
        let z = axum::body::to_bytes(z.into_body(), usize::MAX)
            .await
            .unwrap();
        assert!(z.len() < 100, "{}", z.len());
        let mut back = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&z[..]), &mut back).unwrap();
        assert_eq!(back, plain);
        let refused = get(
            &app,
            "/a/0123abcd/quet_web_bg.wasm",
            &[("accept-encoding", "gzip;q=0")],
        )
        .await;
        assert_eq!(header(&refused, "content-encoding"), "");
        let again = get(&app, "/", &[]).await;
        let tag = header(&again, "etag").to_string();
        let r = get(&app, "/C", &[("if-none-match", &tag)]).await;
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
        assert_ne!(tag, etag);
    }

    #[tokio::test]
    async fn without_an_app_the_shell_says_how_to_install_it() {
        let app: Router = router(None);
        let r = get(&app, "/C", &[]).await;
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = axum::body::to_bytes(r.into_body(), usize::MAX)
            .await
            .unwrap();
        assert!(String::from_utf8_lossy(&body).contains("web/build.sh"));
        assert!(list(Path::new("/nonexistent")).is_err());
        let empty = tempfile::tempdir().unwrap();
        assert!(
            list(empty.path())
                .unwrap_err()
                .to_string()
                .contains("index.html")
        );
    }
}
