//! `kerafold serve`: the JSON API the bounty web app calls ([`api`]), over HTTP, and the web
//! app's files (`--web DIR`, the build of `web/`) on every other path.
//!
//! The server binds to loopback unless told otherwise, reads no body larger than its upload
//! limit (answering `413` before reading one whose declared length is larger), answers each
//! request on its own thread, and never takes or returns a secret key: a Baby Jubjub key stays in
//! the browser or in the user's own files, and an upload holding one is refused.

pub mod api;
mod workspace;

use crate::{Error, Result};
use api::{Api, ApiRequest, ApiResponse};
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The default upload limit: 64 MiB (a bounty's dataset or a model file).
pub const DEFAULT_MAX_UPLOAD: usize = 64 << 20;

/// How `kerafold serve` runs.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// The address to listen on (port 0: any free port).
    pub bind: SocketAddr,
    /// Serve on a non-loopback address (anyone who reaches it can use the API).
    pub allow_remote: bool,
    /// Largest request body, bytes.
    pub max_upload: usize,
    /// The verifier's parameter cache.
    pub params_dir: PathBuf,
    /// The `.ptau` directory HyperKZG accuracy proofs are verified over.
    pub ptau: Option<PathBuf>,
    /// The web app's files (a directory with `index.html`), served on paths outside `/api/`.
    pub web: Option<PathBuf>,
}

/// Listens on `opts.bind`, calls `ready` with the bound address, and answers requests until the
/// process ends.
pub fn serve(opts: &ServeOptions, ready: &mut dyn FnMut(SocketAddr)) -> Result<()> {
    if !opts.bind.ip().is_loopback() && !opts.allow_remote {
        return Err(Error::Usage(format!(
            "{} is not a loopback address: anyone who reaches it could use this API; pass \
             --allow-remote if that is what you want",
            opts.bind
        )));
    }
    let web = opts
        .web
        .as_ref()
        .map(|dir| {
            let index = dir.join("index.html");
            if index.is_file() {
                dir.canonicalize().map_err(|e| Error::io(dir, e))
            } else {
                Err(Error::Usage(format!(
                    "{}: no index.html (build the web app: cd web && npm ci && npm run build)",
                    dir.display()
                )))
            }
        })
        .transpose()?;
    let server = tiny_http::Server::http(opts.bind)
        .map_err(|e| Error::Usage(format!("cannot listen on {}: {e}", opts.bind)))?;
    let addr = server
        .server_addr()
        .to_ip()
        .ok_or_else(|| Error::Usage(format!("{} is not an IP address", opts.bind)))?;
    ready(addr);
    let api = Arc::new(Api {
        max_upload: opts.max_upload,
        params_dir: opts.params_dir.clone(),
        ptau: opts.ptau.clone(),
    });
    let loopback_only = !opts.allow_remote;
    let web = Arc::new(web);
    for request in server.incoming_requests() {
        let api = Arc::clone(&api);
        let web = Arc::clone(&web);
        std::thread::spawn(move || answer(&api, web.as_deref(), request, loopback_only));
    }
    Ok(())
}

/// Reads one request (within the upload limit), answers it: the API under `/api/`, the web
/// app's files elsewhere.
fn answer(api: &Api, web: Option<&Path>, mut request: tiny_http::Request, loopback_only: bool) {
    let url = request.url().to_string();
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    let method = request.method().as_str().to_string();
    let host = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("Host"))
        .map(|h| h.value.as_str().to_string());
    // a page of another site the browser was sent to, resolving its own name to 127.0.0.1
    // (DNS rebinding), names that site as the host: only loopback names are served
    if loopback_only && !host.as_deref().is_some_and(is_loopback_host) {
        let refused = ApiResponse::error(
            403,
            format!(
                "Host {}: this server answers requests to localhost only",
                host.as_deref().unwrap_or("(none)")
            ),
        );
        return respond_json(request, &refused);
    }
    if let (Some(dir), false) = (web, path.starts_with("/api/")) {
        return match static_file(dir, &method, path) {
            Ok((bytes, mime)) => {
                let _ = request.respond(
                    tiny_http::Response::from_data(bytes)
                        .with_header(header("Content-Type", mime))
                        .with_header(header("X-Content-Type-Options", "nosniff")),
                );
            }
            Err(r) => respond_json(request, &r),
        };
    }
    let response = match read_body(&mut request, api.max_upload) {
        Ok(body) => api.handle(ApiRequest {
            method: &method,
            path,
            query,
            body: &body,
        }),
        Err(r) => r,
    };
    respond_json(request, &response);
}

fn respond_json(request: tiny_http::Request, response: &ApiResponse) {
    let body = serde_json::to_vec(&response.body).unwrap_or_default();
    let _ = request.respond(
        tiny_http::Response::from_data(body)
            .with_status_code(response.status)
            .with_header(header("Content-Type", "application/json")),
    );
}

fn header(name: &str, value: &str) -> tiny_http::Header {
    tiny_http::Header::from_bytes(name, value).expect("a valid header")
}

/// The web app's file at URL `path` (`/` is `index.html`) under `dir` (canonical), with its
/// content type. Only plain names are followed: no `..`, no hidden files, nothing that resolves
/// outside `dir`.
fn static_file(
    dir: &Path,
    method: &str,
    path: &str,
) -> std::result::Result<(Vec<u8>, &'static str), ApiResponse> {
    if method != "GET" && method != "HEAD" {
        return Err(ApiResponse::error(405, format!("{path} takes GET")));
    }
    let rel = match path.trim_start_matches('/') {
        "" => "index.html",
        p => p,
    };
    let not_found = || ApiResponse::error(404, format!("no file {path}"));
    let plain = |seg: &str| {
        !seg.is_empty()
            && !seg.starts_with('.')
            && seg
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    };
    if !rel.split('/').all(plain) {
        return Err(not_found());
    }
    let file = dir
        .join(rel)
        .canonicalize()
        .ok()
        .filter(|f| f.starts_with(dir) && f.is_file())
        .ok_or_else(not_found)?;
    let bytes = std::fs::read(&file).map_err(|_| not_found())?;
    let mime = match file.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "wasm" => "application/wasm",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    };
    Ok((bytes, mime))
}

/// Whether a `Host` header names this machine: `localhost`, `127.x.y.z` or `[::1]`, any port.
fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The body, or the `413` for one over `max` bytes.
fn read_body(
    request: &mut tiny_http::Request,
    max: usize,
) -> std::result::Result<Vec<u8>, ApiResponse> {
    let declared = request.body_length();
    read_limited(request.as_reader(), declared, max)
}

/// At most `max` bytes of `body`: refused before reading when the declared length is larger,
/// and after reading `max + 1` bytes of a body that did not declare one (chunked).
fn read_limited(
    body: &mut dyn Read,
    declared: Option<usize>,
    max: usize,
) -> std::result::Result<Vec<u8>, ApiResponse> {
    let too_large = |size: &str| {
        ApiResponse::error(
            413,
            format!(
                "the upload is {size} bytes; this server takes at most {max} \
                 (kerafold serve --max-upload)"
            ),
        )
    };
    if let Some(n) = declared.filter(|&n| n > max) {
        return Err(too_large(&n.to_string()));
    }
    let mut bytes = Vec::new();
    body.take(max as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| ApiResponse::error(400, format!("reading the body: {e}")))?;
    if bytes.len() > max {
        return Err(too_large(&format!("more than {max}")));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_hosts_are_served() {
        for host in [
            "localhost:8700",
            "127.0.0.1:8700",
            "127.0.0.1",
            "[::1]:8700",
            "LOCALHOST",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "evil.example:8700",
            "10.0.0.1:8700",
            "localhost.evil.example",
            "[fe80::1]:80",
            "",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn the_web_app_serves_plain_names_under_its_directory_only() {
        let root = std::env::temp_dir().join(format!("kerafold-web-{}", std::process::id()));
        let dir = root.join("site");
        std::fs::create_dir_all(dir.join("assets")).unwrap();
        std::fs::write(dir.join("index.html"), "<p>app</p>").unwrap();
        std::fs::write(dir.join("assets/app-1.js"), "1").unwrap();
        std::fs::write(dir.join(".env"), "secret").unwrap();
        std::fs::write(root.join("outside.txt"), "outside").unwrap();
        let dir = dir.canonicalize().unwrap();
        let (bytes, mime) = static_file(&dir, "GET", "/").unwrap();
        assert_eq!(
            (bytes.as_slice(), mime),
            (&b"<p>app</p>"[..], "text/html; charset=utf-8")
        );
        let (_, mime) = static_file(&dir, "GET", "/assets/app-1.js").unwrap();
        assert!(mime.starts_with("text/javascript"));
        for path in [
            "/../outside.txt",
            "/assets/../../outside.txt",
            "/.env",
            "/assets",
            "/nope.js",
            "//etc/passwd",
            "/a%2e%2e/x",
        ] {
            assert_eq!(
                static_file(&dir, "GET", path).unwrap_err().status,
                404,
                "{path}"
            );
        }
        assert_eq!(static_file(&dir, "POST", "/").unwrap_err().status, 405);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn bodies_over_the_limit_are_refused_declared_or_not() {
        let ten = [7u8; 10];
        assert_eq!(read_limited(&mut &ten[..], Some(10), 10).unwrap(), ten);
        assert_eq!(read_limited(&mut &ten[..], None, 10).unwrap(), ten);
        let r = read_limited(&mut &ten[..], Some(10), 9).unwrap_err();
        assert_eq!(r.status, 413);
        assert!(r.body.to_string().contains("is 10 bytes"), "{}", r.body);
        // a chunked body declares nothing: read up to one byte over the limit, then refused
        let r = read_limited(&mut &ten[..], None, 9).unwrap_err();
        assert_eq!(r.status, 413);
        assert!(r.body.to_string().contains("more than 9"), "{}", r.body);
    }
}
