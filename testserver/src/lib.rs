//! Loopback HTTP(S) test server for bgcopy: deterministic content, Range/If-Range, byte counters
//! and fault injection chosen by query parameters. See `README.md` beside this crate for the URL
//! grammar; the same server runs in-process ([`TestServer`]) or as the `bgcopy-testserver` binary.
//!
//! It binds 127.0.0.1 only, on an ephemeral port unless told otherwise.

use std::collections::BTreeMap;
use std::io;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;

pub mod content;
mod http;
mod server;
pub mod tls;

pub use content::{
    content_byte, content_byte_block, content_etag, content_last_modified, content_mtime,
    http_date, parse_size, splitmix64, verify_content,
};
pub use http::url_encode;
pub use server::CHUNK;

/// Counters of one path (the request path without its query).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Requests seen for the path (GET and HEAD, any outcome, faults included).
    pub requests: u64,
    /// Of which HEAD requests.
    pub heads: u64,
    /// Body bytes written to clients (payload only: no headers, no chunk framing).
    pub bytes: u64,
    /// Every `Range` header value seen, without the `bytes=` prefix, in arrival order.
    pub ranges: Vec<String>,
    /// Status code of every response, in order.
    pub statuses: Vec<u16>,
    /// Headers of the most recent request (names lower-cased), in arrival order.
    pub last_headers: Vec<(String, String)>,
}

impl Stats {
    /// The JSON form served by `GET /__stats?path=...`.
    pub fn to_json(&self) -> String {
        server::stats_json(self)
    }

    /// Value of a header of the most recent request (name case-insensitive).
    pub fn last_header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.last_headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// How to start a server.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Serve HTTPS with a freshly generated certificate (see [`TestServer::cert_pem`]).
    pub tls: bool,
    /// Port on 127.0.0.1; 0 (the default) picks an ephemeral one.
    pub port: u16,
    /// Serve regular files below this directory under `/files/<relative path>`.
    pub root_dir: Option<PathBuf>,
}

/// A running server; dropping it stops it.
pub struct TestServer {
    /// The bound port on 127.0.0.1.
    pub port: u16,
    /// `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT` (no trailing slash).
    pub base_url: String,
    /// With TLS: PEM of the CA certificate that signed the server certificate (trust this one).
    pub cert_pem: Option<String>,
    /// With TLS: PEM of the server certificate chain (leaf then CA).
    pub chain_pem: Option<String>,
    /// With TLS: DER of the CA certificate (for rustls root stores).
    pub ca_der: Option<Vec<u8>>,
    shared: Arc<server::Shared>,
    accept: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Start a server on 127.0.0.1 with an ephemeral port, plain HTTP or HTTPS.
    pub fn start(tls: bool) -> io::Result<TestServer> {
        TestServer::start_with(Options {
            tls,
            ..Options::default()
        })
    }

    /// Start a server with explicit options.
    pub fn start_with(opts: Options) -> io::Result<TestServer> {
        let material = if opts.tls {
            Some(tls::generate()?)
        } else {
            None
        };
        let listener = TcpListener::bind(("127.0.0.1", opts.port))?;
        let local = listener.local_addr()?;
        let scheme = if opts.tls { "https" } else { "http" };
        let base_url = format!("{scheme}://127.0.0.1:{}", local.port());
        let shared = Arc::new(server::Shared::new(
            local,
            base_url.clone(),
            material.as_ref().map(|m| m.config.clone()),
            opts.root_dir.clone(),
        ));
        let sh = shared.clone();
        let accept = std::thread::Builder::new()
            .name("testserver-accept".into())
            .spawn(move || server::accept_loop(sh, listener))?;
        Ok(TestServer {
            port: local.port(),
            base_url,
            cert_pem: material.as_ref().map(|m| m.ca_pem.clone()),
            chain_pem: material.as_ref().map(|m| m.chain_pem.clone()),
            ca_der: material.as_ref().map(|m| m.ca_der.to_vec()),
            shared,
            accept: Some(accept),
        })
    }

    /// `base_url` + `path_and_query` (which should start with `/`).
    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{}", self.base_url, path_and_query)
    }

    /// Counters of one path (without query); all zero if never requested.
    pub fn stats(&self, path: &str) -> Stats {
        self.shared.stats(path)
    }

    /// Counters of every path requested since start or the last reset.
    pub fn all_stats(&self) -> BTreeMap<String, Stats> {
        self.shared.all_stats()
    }

    /// Clear counters and per-URL fault state (same as `GET /__reset`).
    pub fn reset(&self) {
        self.shared.reset()
    }

    /// True once a stop was requested (`GET /__shutdown` or [`TestServer::stop`]).
    pub fn stop_requested(&self) -> bool {
        self.shared.stop.load(Ordering::SeqCst)
    }

    /// Stop accepting, close every open connection and join the accept thread. Idempotent.
    pub fn stop(&mut self) {
        self.shared.request_stop();
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
        self.shared.close_all();
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop();
    }
}
