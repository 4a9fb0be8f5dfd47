//! The accept loop, per-connection threads and request handling with fault injection.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::content::{
    content_byte_block, content_etag, content_last_modified, http_date, parse_size,
};
use crate::http::{
    base64, json_str, parse_range, reason, ByteRange, Conn, HeadResult, Query, RangeReq, Request,
    Stream,
};
use crate::Stats;

/// Body bytes are generated / read and written in chunks of this size.
pub const CHUNK: usize = 256 * 1024;
/// How long an idle keep-alive connection (or a half-sent request head) may wait.
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// Default time a `stall` keeps the connection open.
const STALL_DEFAULT: Duration = Duration::from_secs(60);
const BOUNDARY: &str = "BGCOPY_TESTSERVER_BYTERANGES";

pub(crate) struct PathStats {
    requests: u64,
    heads: u64,
    bytes: Arc<AtomicU64>,
    ranges: Vec<String>,
    statuses: Vec<u16>,
    last_headers: Vec<(String, String)>,
}

impl PathStats {
    fn new() -> PathStats {
        PathStats {
            requests: 0,
            heads: 0,
            bytes: Arc::new(AtomicU64::new(0)),
            ranges: Vec::new(),
            statuses: Vec::new(),
            last_headers: Vec::new(),
        }
    }
    fn snapshot(&self) -> Stats {
        Stats {
            requests: self.requests,
            heads: self.heads,
            bytes: self.bytes.load(Ordering::SeqCst),
            ranges: self.ranges.clone(),
            statuses: self.statuses.clone(),
            last_headers: self.last_headers.clone(),
        }
    }
}

/// Request counters of one full `path?query` (drive `*_times` and `change_after`).
#[derive(Default)]
struct KeyState {
    /// Every request (GET and HEAD, any outcome).
    hits: u64,
    /// GET responses that reached the body phase (200/206 with a body).
    bodies: u64,
}

/// Requests of one `group=` name being answered now, and the most there ever were at once.
#[derive(Default, Clone, Copy)]
struct GroupState {
    in_flight: u64,
    peak: u64,
    requests: u64,
}

/// Counts its request in a group until the request has been answered (or failed).
struct InFlight {
    sh: Arc<Shared>,
    group: String,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(g) = lock(&self.sh.groups).get_mut(&self.group) {
            g.in_flight -= 1;
        }
    }
}

pub(crate) struct Shared {
    stats: Mutex<BTreeMap<String, PathStats>>,
    keys: Mutex<HashMap<String, KeyState>>,
    groups: Mutex<HashMap<String, GroupState>>,
    pub(crate) stop: AtomicBool,
    conns: Mutex<HashMap<u64, TcpStream>>,
    next_conn: AtomicU64,
    root_dir: Option<PathBuf>,
    tls: Option<Arc<rustls::ServerConfig>>,
    pub(crate) local: SocketAddr,
    pub(crate) base_url: String,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    pub(crate) fn new(
        local: SocketAddr,
        base_url: String,
        tls: Option<Arc<rustls::ServerConfig>>,
        root_dir: Option<PathBuf>,
    ) -> Shared {
        Shared {
            stats: Mutex::new(BTreeMap::new()),
            keys: Mutex::new(HashMap::new()),
            groups: Mutex::new(HashMap::new()),
            stop: AtomicBool::new(false),
            conns: Mutex::new(HashMap::new()),
            next_conn: AtomicU64::new(1),
            root_dir,
            tls,
            local,
            base_url,
        }
    }

    pub(crate) fn stats(&self, path: &str) -> Stats {
        lock(&self.stats)
            .get(path)
            .map(PathStats::snapshot)
            .unwrap_or_default()
    }

    pub(crate) fn all_stats(&self) -> BTreeMap<String, Stats> {
        lock(&self.stats)
            .iter()
            .map(|(k, v)| (k.clone(), v.snapshot()))
            .collect()
    }

    pub(crate) fn reset(&self) {
        lock(&self.stats).clear();
        lock(&self.keys).clear();
        // Requests being answered keep their groups (their guards still count down).
        lock(&self.groups).retain(|_, g| g.in_flight > 0);
    }

    /// Ask the accept loop to stop (wakes it with a loopback connection).
    pub(crate) fn request_stop(&self) {
        if !self.stop.swap(true, Ordering::SeqCst) {
            let _ = TcpStream::connect_timeout(&self.local, Duration::from_secs(1));
        }
    }

    /// Shut down every open client socket (their threads then end promptly).
    pub(crate) fn close_all(&self) {
        for (_, s) in lock(&self.conns).drain() {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }

    fn record_request(&self, req: &Request) -> Arc<AtomicU64> {
        let mut st = lock(&self.stats);
        let e = st.entry(req.path.clone()).or_insert_with(PathStats::new);
        e.requests += 1;
        if req.method == "HEAD" {
            e.heads += 1;
        }
        if let Some(r) = req.header("range") {
            let v = match r.split_once('=') {
                Some((u, rest)) if u.trim().eq_ignore_ascii_case("bytes") => rest.trim(),
                _ => r,
            };
            e.ranges.push(v.to_string());
        }
        e.last_headers = req.headers.clone();
        e.bytes.clone()
    }

    fn record_status(&self, path: &str, status: u16) {
        if let Some(e) = lock(&self.stats).get_mut(path) {
            e.statuses.push(status);
        }
    }

    /// Counts a request of `group` as being answered until the guard is dropped.
    fn enter_group(self: &Arc<Self>, group: &str) -> InFlight {
        let mut groups = lock(&self.groups);
        let g = groups.entry(group.to_string()).or_default();
        g.in_flight += 1;
        g.requests += 1;
        g.peak = g.peak.max(g.in_flight);
        InFlight {
            sh: self.clone(),
            group: group.to_string(),
        }
    }

    fn group_json(&self, group: &str) -> String {
        let g = lock(&self.groups).get(group).copied().unwrap_or_default();
        format!(
            "{{\"in_flight\":{},\"peak\":{},\"requests\":{}}}",
            g.in_flight, g.peak, g.requests
        )
    }

    fn hit(&self, key: &str) -> u64 {
        let mut k = lock(&self.keys);
        let e = k.entry(key.to_string()).or_default();
        e.hits += 1;
        e.hits - 1
    }

    fn body_hit(&self, key: &str) -> u64 {
        let mut k = lock(&self.keys);
        let e = k.entry(key.to_string()).or_default();
        e.bodies += 1;
        e.bodies - 1
    }
}

pub(crate) fn stats_json(s: &Stats) -> String {
    let ranges: Vec<String> = s.ranges.iter().map(|r| json_str(r)).collect();
    let statuses: Vec<String> = s.statuses.iter().map(|c| c.to_string()).collect();
    let mut hdrs: Vec<(String, String)> = Vec::new();
    for (n, v) in &s.last_headers {
        match hdrs.iter_mut().find(|(m, _)| m == n) {
            Some((_, old)) => {
                old.push_str(", ");
                old.push_str(v);
            }
            None => hdrs.push((n.clone(), v.clone())),
        }
    }
    let hdrs: Vec<String> = hdrs
        .iter()
        .map(|(n, v)| format!("{}:{}", json_str(n), json_str(v)))
        .collect();
    format!(
        "{{\"requests\":{},\"heads\":{},\"bytes\":{},\"ranges\":[{}],\"statuses\":[{}],\"last_headers\":{{{}}}}}",
        s.requests,
        s.heads,
        s.bytes,
        ranges.join(","),
        statuses.join(","),
        hdrs.join(",")
    )
}

/// Accept loop; returns when `request_stop` was called.
pub(crate) fn accept_loop(shared: Arc<Shared>, listener: TcpListener) {
    for incoming in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        let tcp = match incoming {
            Ok(t) => t,
            Err(_) => {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        let id = shared.next_conn.fetch_add(1, Ordering::Relaxed);
        if let Ok(c) = tcp.try_clone() {
            lock(&shared.conns).insert(id, c);
        }
        let sh = shared.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("testserver-conn-{id}"))
            .spawn(move || {
                handle_conn(&sh, tcp);
                lock(&sh.conns).remove(&id);
            });
        if spawned.is_err() {
            lock(&shared.conns).remove(&id);
        }
    }
}

enum Next {
    KeepAlive,
    /// Close gracefully (TLS close_notify, FIN).
    Close,
    /// The socket was already closed (or abandoned) by a fault.
    Aborted,
}

fn handle_conn(sh: &Arc<Shared>, tcp: TcpStream) {
    let _ = tcp.set_nodelay(true);
    let _ = tcp.set_read_timeout(Some(IDLE_TIMEOUT));
    let stream = match &sh.tls {
        Some(cfg) => match rustls::ServerConnection::new(cfg.clone()) {
            Ok(c) => Stream::Tls(Box::new(rustls::StreamOwned::new(c, tcp))),
            Err(_) => return,
        },
        None => Stream::Plain(tcp),
    };
    let mut conn = Conn::new(stream);
    let mut buf: Vec<u8> = Vec::new();
    loop {
        if sh.stop.load(Ordering::SeqCst) {
            break;
        }
        let head = match conn.read_head() {
            Ok(HeadResult::Head(h)) => h,
            Ok(HeadResult::Eof) => {
                conn.s.close_gracefully();
                return;
            }
            Ok(HeadResult::TooLarge) => {
                let _ = simple(
                    &mut conn,
                    431,
                    &[],
                    "text/plain",
                    b"request head too large\n",
                    false,
                    true,
                );
                break;
            }
            Err(_) => return,
        };
        let Some(req) = Request::parse(&head) else {
            let _ = simple(
                &mut conn,
                400,
                &[],
                "text/plain",
                b"bad request\n",
                false,
                true,
            );
            break;
        };
        // Consume any request body so the next request on this connection parses.
        let expect_continue = req.has_token("expect", "100-continue");
        if req.has_token("transfer-encoding", "chunked") {
            if expect_continue && conn.s.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").is_err() {
                return;
            }
            if conn.discard_chunked().is_err() {
                let _ = simple(
                    &mut conn,
                    400,
                    &[],
                    "text/plain",
                    b"bad chunked body\n",
                    false,
                    true,
                );
                break;
            }
        } else if let Some(cl) = req.header("content-length") {
            let Ok(n) = cl.trim().parse::<u64>() else {
                let _ = simple(
                    &mut conn,
                    400,
                    &[],
                    "text/plain",
                    b"bad content-length\n",
                    false,
                    true,
                );
                break;
            };
            if n > 0 {
                if expect_continue && conn.s.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").is_err() {
                    return;
                }
                if conn.discard(n).is_err() {
                    return;
                }
            }
        }
        match handle_request(sh, &mut conn, &req, &mut buf) {
            Ok(Next::KeepAlive) => continue,
            Ok(Next::Close) => break,
            Ok(Next::Aborted) | Err(_) => return,
        }
    }
    conn.s.close_gracefully();
}

fn date_now() -> String {
    http_date(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    )
}

/// Write a status line plus headers (Date, Server, Connection added here).
fn write_head(
    conn: &mut Conn,
    status: u16,
    headers: &[(&str, String)],
    close: bool,
) -> io::Result<()> {
    let mut h = format!("HTTP/1.1 {} {}\r\n", status, reason(status));
    h.push_str(&format!(
        "Date: {}\r\nServer: bgcopy-testserver\r\n",
        date_now()
    ));
    for (n, v) in headers {
        h.push_str(n);
        h.push_str(": ");
        h.push_str(v);
        h.push_str("\r\n");
    }
    h.push_str(if close {
        "Connection: close\r\n\r\n"
    } else {
        "Connection: keep-alive\r\n\r\n"
    });
    conn.s.write_all(h.as_bytes())
}

/// A complete small response with Content-Length.
fn simple(
    conn: &mut Conn,
    status: u16,
    extra: &[(&str, String)],
    ctype: &str,
    body: &[u8],
    is_head: bool,
    close: bool,
) -> io::Result<()> {
    let mut hs: Vec<(&str, String)> = extra.to_vec();
    let no_body = status == 204 || status == 304 || (100..200).contains(&status);
    if !no_body {
        hs.push(("Content-Type", ctype.to_string()));
        hs.push(("Content-Length", body.len().to_string()));
    }
    write_head(conn, status, &hs, close)?;
    if !is_head && !no_body {
        conn.s.write_all(body)?;
    }
    conn.s.flush()
}

fn next_after(close: bool) -> Next {
    if close {
        Next::Close
    } else {
        Next::KeepAlive
    }
}

fn sleep_unless_stopped(sh: &Shared, d: Duration) {
    let end = Instant::now() + d;
    while !sh.stop.load(Ordering::SeqCst) {
        let now = Instant::now();
        if now >= end {
            break;
        }
        std::thread::sleep((end - now).min(Duration::from_millis(50)));
    }
}

/// The body source of one resource.
enum Source {
    Gen { seed: u64, version: u64 },
    File(File),
}

struct Resource {
    size: u64,
    etag: Option<String>,
    last_modified: Option<String>,
    source: Source,
}

enum Seg {
    Lit(Vec<u8>),
    Content { start: u64, len: u64 },
}

fn parse_signed(v: &str) -> Option<i64> {
    match v.strip_prefix('-') {
        Some(rest) => parse_size(rest)
            .and_then(|n| i64::try_from(n).ok())
            .map(|n| -n),
        None => parse_size(v).and_then(|n| i64::try_from(n).ok()),
    }
}

/// Replace (or append) `name=value` in a raw query string, keeping every other parameter as is.
fn set_param(raw_query: &str, name: &str, value: &str) -> String {
    let mut found = false;
    let mut parts: Vec<String> = raw_query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let k = p.split_once('=').map(|(k, _)| k).unwrap_or(p);
            if k == name {
                found = true;
                format!("{name}={value}")
            } else {
                p.to_string()
            }
        })
        .collect();
    if !found {
        parts.push(format!("{name}={value}"));
    }
    parts.join("&")
}

fn handle_request(
    sh: &Arc<Shared>,
    conn: &mut Conn,
    req: &Request,
    buf: &mut Vec<u8>,
) -> io::Result<Next> {
    let client_close = req.has_token("connection", "close")
        || (req.http10 && !req.has_token("connection", "keep-alive"));
    let is_head = req.method == "HEAD";

    if req.path.starts_with("/__") {
        return internal(sh, conn, req, client_close);
    }

    let counter = sh.record_request(req);
    let n = sh.hit(&req.target);
    let path = req.path.as_str();
    let status_rec = |code: u16| sh.record_status(path, code);

    let q = Query::parse(&req.query);
    let _in_flight = q.get("group").map(|g| sh.enter_group(g));
    macro_rules! bad_param {
        ($name:expr) => {{
            status_rec(400);
            let msg = format!("bad query parameter {}\n", $name);
            simple(
                conn,
                400,
                &[],
                "text/plain",
                msg.as_bytes(),
                is_head,
                client_close,
            )?;
            return Ok(next_after(client_close));
        }};
    }
    macro_rules! num {
        ($name:expr) => {
            match q.num($name) {
                Ok(v) => v,
                Err(k) => bad_param!(k),
            }
        };
    }

    if req.method != "GET" && req.method != "HEAD" {
        status_rec(405);
        simple(
            conn,
            405,
            &[("Allow", "GET, HEAD".into())],
            "text/plain",
            b"method not allowed\n",
            false,
            client_close,
        )?;
        return Ok(next_after(client_close));
    }

    if let Some(ms) = num!("delay") {
        sleep_unless_stopped(sh, Duration::from_millis(ms));
    }

    // Redirects.
    let redirect_code = match num!("redirect_code") {
        None => 302,
        Some(c) if (300..400).contains(&c) => c as u16,
        Some(_) => bad_param!("redirect_code"),
    };
    let host_base = match req.header("host") {
        Some(h) if !h.is_empty() => {
            format!(
                "{}://{}",
                if sh.tls.is_some() { "https" } else { "http" },
                h
            )
        }
        _ => sh.base_url.clone(),
    };
    let mut location: Option<String> = None;
    if q.flag("redirect_loop") {
        location = Some(format!("{host_base}{}", req.target));
    } else if let Some(to) = q.get("redirect_to") {
        location = Some(to.to_string());
    } else if let Some(k) = num!("redirect") {
        if k > 0 {
            let nq = set_param(&req.query, "redirect", &(k - 1).to_string());
            location = Some(format!("{host_base}{}?{}", req.path, nq));
        }
    }
    if let Some(loc) = location {
        status_rec(redirect_code);
        let body = format!("redirect to {loc}\n");
        simple(
            conn,
            redirect_code,
            &[("Location", loc)],
            "text/plain",
            body.as_bytes(),
            is_head,
            client_close,
        )?;
        return Ok(next_after(client_close));
    }

    // Basic authentication (credentials only checked, never required pre-emptively by us).
    if let Some(cred) = q.get("auth") {
        let want = format!("Basic {}", base64(cred.as_bytes()));
        let ok = req.header("authorization").is_some_and(|a| {
            a.split_once(' ').is_some_and(|(s, v)| {
                s.eq_ignore_ascii_case("basic") && format!("Basic {}", v.trim()) == want
            })
        });
        if !ok {
            status_rec(401);
            simple(
                conn,
                401,
                &[(
                    "WWW-Authenticate",
                    "Basic realm=\"bgcopy-testserver\"".into(),
                )],
                "text/plain",
                b"authentication required\n",
                is_head,
                client_close,
            )?;
            return Ok(next_after(client_close));
        }
    }

    // Injected status.
    if let Some(code) = num!("status") {
        if !(100..1000).contains(&code) {
            bad_param!("status");
        }
        let times = num!("status_times");
        if times.is_none_or(|t| n < t) {
            let code = code as u16;
            status_rec(code);
            let mut hs: Vec<(&str, String)> = Vec::new();
            if let Some(ra) = q.get("retry_after") {
                hs.push(("Retry-After", ra.to_string()));
            }
            let body = format!("injected status {code}\n");
            simple(
                conn,
                code,
                &hs,
                "text/plain",
                body.as_bytes(),
                is_head,
                client_close,
            )?;
            return Ok(next_after(client_close));
        }
    }

    // Resolve the resource.
    let res = if let Some(rest) = path.strip_prefix("/data/") {
        let size_seg = rest.split('/').next().unwrap_or("");
        let Some(base_size) = parse_size(size_seg) else {
            status_rec(404);
            simple(
                conn,
                404,
                &[],
                "text/plain",
                b"bad size in /data/<size>\n",
                is_head,
                client_close,
            )?;
            return Ok(next_after(client_close));
        };
        let seed = num!("seed").unwrap_or(0);
        let mut version = num!("version").unwrap_or(0);
        let mut size = base_size;
        if let Some(k) = num!("change_after") {
            if n >= k {
                version += 1;
                if let Some(d) = q.get("change_size") {
                    let Some(d) = parse_signed(d) else {
                        bad_param!("change_size")
                    };
                    size = (size as i64).saturating_add(d).max(0) as u64;
                }
            }
        }
        Resource {
            size,
            etag: (!q.flag("no_etag")).then(|| content_etag(seed, version, size)),
            last_modified: (!q.flag("no_last_modified")).then(|| content_last_modified(version)),
            source: Source::Gen { seed, version },
        }
    } else if let (Some(rest), Some(root)) = (path.strip_prefix("/files/"), sh.root_dir.as_ref()) {
        match open_file(root, rest) {
            Some((f, size, mtime)) => Resource {
                size,
                etag: (!q.flag("no_etag")).then(|| {
                    format!(
                        "\"f-{:x}-{:x}-{}\"",
                        mtime.as_secs(),
                        mtime.subsec_nanos(),
                        size
                    )
                }),
                last_modified: (!q.flag("no_last_modified")).then(|| http_date(mtime.as_secs())),
                source: Source::File(f),
            },
            None => {
                status_rec(404);
                simple(
                    conn,
                    404,
                    &[],
                    "text/plain",
                    b"no such file\n",
                    is_head,
                    client_close,
                )?;
                return Ok(next_after(client_close));
            }
        }
    } else {
        status_rec(404);
        simple(
            conn,
            404,
            &[],
            "text/plain",
            b"not found\n",
            is_head,
            client_close,
        )?;
        return Ok(next_after(client_close));
    };

    // Range / If-Range.
    let ignore_range = q.flag("ignore_range");
    let mut rr = match req.header("range") {
        Some(v) if !ignore_range => parse_range(v, res.size),
        _ => RangeReq::Ignore,
    };
    if rr != RangeReq::Ignore {
        if let Some(ir) = req.header("if-range") {
            let ir = ir.trim();
            let etag_match = !ir.starts_with("W/") && res.etag.as_deref() == Some(ir);
            let date_match = res.last_modified.as_deref() == Some(ir);
            if !etag_match && !date_match {
                rr = RangeReq::Ignore;
            }
        }
    }

    let mut hs: Vec<(&str, String)> = Vec::new();
    if !ignore_range {
        hs.push(("Accept-Ranges", "bytes".into()));
    }
    if let Some(e) = &res.etag {
        hs.push(("ETag", e.clone()));
    }
    if let Some(lm) = &res.last_modified {
        hs.push(("Last-Modified", lm.clone()));
    }

    let (status, segs, ctype) = match rr {
        RangeReq::Unsatisfiable => {
            status_rec(416);
            hs.push(("Content-Range", format!("bytes */{}", res.size)));
            simple(conn, 416, &hs, "text/plain", b"", is_head, client_close)?;
            return Ok(next_after(client_close));
        }
        RangeReq::Ignore => (
            200u16,
            vec![Seg::Content {
                start: 0,
                len: res.size,
            }],
            "application/octet-stream".to_string(),
        ),
        RangeReq::Ranges(rs) if rs.len() == 1 => {
            let ByteRange { start, end } = rs[0];
            hs.push(("Content-Range", format!("bytes {start}-{end}/{}", res.size)));
            (
                206,
                vec![Seg::Content {
                    start,
                    len: end - start + 1,
                }],
                "application/octet-stream".to_string(),
            )
        }
        RangeReq::Ranges(rs) => {
            let mut segs = Vec::new();
            for r in &rs {
                segs.push(Seg::Lit(
                    format!(
                        "--{BOUNDARY}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes {}-{}/{}\r\n\r\n",
                        r.start, r.end, res.size
                    )
                    .into_bytes(),
                ));
                segs.push(Seg::Content {
                    start: r.start,
                    len: r.end - r.start + 1,
                });
                segs.push(Seg::Lit(b"\r\n".to_vec()));
            }
            segs.push(Seg::Lit(format!("--{BOUNDARY}--\r\n").into_bytes()));
            (
                206,
                segs,
                format!("multipart/byteranges; boundary={BOUNDARY}"),
            )
        }
    };
    let body_len: u64 = segs
        .iter()
        .map(|s| match s {
            Seg::Lit(v) => v.len() as u64,
            Seg::Content { len, .. } => *len,
        })
        .sum();
    hs.insert(0, ("Content-Type", ctype));

    // Framing.
    let chunked = q.flag("chunked");
    let no_length = !chunked && q.flag("no_length");
    let overlong = if chunked || no_length {
        None
    } else {
        num!("overlong")
    };
    let mut close = client_close;
    if chunked {
        hs.push(("Transfer-Encoding", "chunked".into()));
    } else if no_length {
        close = true;
    } else if let Some(d) = overlong {
        hs.push(("Content-Length", body_len.saturating_add(d).to_string()));
        close = true;
    } else {
        hs.push(("Content-Length", body_len.to_string()));
    }

    status_rec(status);
    if is_head {
        write_head(conn, status, &hs, close)?;
        conn.s.flush()?;
        return Ok(next_after(close));
    }

    // Body faults (counted over GET responses that send a body, per full path?query).
    let drop = num!("drop");
    let drop_times = num!("drop_times");
    let stall = num!("stall");
    let stall_times = num!("stall_times");
    let stall_for = num!("stall_timeout")
        .map(Duration::from_secs)
        .unwrap_or(STALL_DEFAULT);
    let trickle = match num!("trickle") {
        Some(0) => bad_param!("trickle"),
        t => t,
    };
    let m = sh.body_hit(&req.target);
    enum Cut {
        Drop,
        Stall,
    }
    let mut cut: Option<(u64, Cut)> = None;
    if let Some(d) = drop {
        if drop_times.is_none_or(|t| m < t) && d < body_len {
            cut = Some((d, Cut::Drop));
        }
    }
    if cut.is_none() {
        if let Some(s) = stall {
            if stall_times.is_none_or(|t| m < t) && s < body_len {
                cut = Some((s, Cut::Stall));
            }
        }
    }

    write_head(conn, status, &hs, close)?;
    if buf.len() < CHUNK {
        buf.resize(CHUNK, 0);
    }
    let mut w = BodyWriter {
        sh,
        s: &mut conn.s,
        counter: &counter,
        sent: 0,
        cut: cut.as_ref().map(|c| c.0),
        trickle,
        start: Instant::now(),
        chunked,
    };
    let mut source = res.source;
    let mut reached_cut = false;
    'segs: for seg in &segs {
        match seg {
            Seg::Lit(v) => {
                if !w.write(v)? {
                    reached_cut = true;
                    break 'segs;
                }
            }
            Seg::Content { start, len } => {
                if let Source::File(f) = &mut source {
                    f.seek(SeekFrom::Start(*start))?;
                }
                let mut off = *start;
                let end = start + len;
                while off < end {
                    let k = ((end - off) as usize).min(CHUNK);
                    match &mut source {
                        Source::Gen { seed, version } => {
                            content_byte_block(*seed, *version, off, &mut buf[..k])
                        }
                        Source::File(f) => f.read_exact(&mut buf[..k])?,
                    }
                    if !w.write(&buf[..k])? {
                        reached_cut = true;
                        break 'segs;
                    }
                    off += k as u64;
                }
            }
        }
    }
    if reached_cut || cut.as_ref().is_some_and(|c| w.sent >= c.0) {
        conn.s.flush()?;
        match cut.map(|c| c.1) {
            Some(Cut::Stall) => {
                stall_wait(sh, &mut conn.s, stall_for);
                conn.s.close_abruptly();
            }
            _ => conn.s.close_abruptly(),
        }
        return Ok(Next::Aborted);
    }
    if chunked {
        conn.s.write_all(b"0\r\n\r\n")?;
    }
    conn.s.flush()?;
    Ok(next_after(close))
}

/// After a stall: keep the connection open, reading and discarding, until the client closes it,
/// `limit` passes or the server stops.
fn stall_wait(sh: &Shared, s: &mut Stream, limit: Duration) {
    let _ = s.tcp().set_read_timeout(Some(Duration::from_millis(100)));
    let end = Instant::now() + limit;
    let mut scratch = [0u8; 4096];
    while Instant::now() < end && !sh.stop.load(Ordering::SeqCst) {
        match s.read(&mut scratch) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(_) => return,
        }
    }
}

struct BodyWriter<'a> {
    sh: &'a Shared,
    s: &'a mut Stream,
    counter: &'a AtomicU64,
    sent: u64,
    cut: Option<u64>,
    trickle: Option<u64>,
    start: Instant,
    chunked: bool,
}

impl BodyWriter<'_> {
    /// Write body payload; returns `Ok(false)` once the cut point is reached.
    fn write(&mut self, data: &[u8]) -> io::Result<bool> {
        let mut data = data;
        if let Some(c) = self.cut {
            let room = (c - self.sent.min(c)) as usize;
            if data.len() >= room {
                data = &data[..room];
            }
        }
        let piece_max = match self.trickle {
            Some(bps) => ((bps / 20) as usize).clamp(1, CHUNK),
            None => CHUNK.max(1),
        };
        for piece in data.chunks(piece_max) {
            if self.sh.stop.load(Ordering::SeqCst) {
                return Err(io::Error::new(
                    io::ErrorKind::Interrupted,
                    "server stopping",
                ));
            }
            if self.chunked {
                self.s
                    .write_all(format!("{:x}\r\n", piece.len()).as_bytes())?;
            }
            // Count before writing, so a client never sees bytes that are not yet counted.
            self.counter.fetch_add(piece.len() as u64, Ordering::SeqCst);
            let mut off = 0;
            while off < piece.len() {
                match self.s.write(&piece[off..]) {
                    Ok(0) => {
                        self.counter
                            .fetch_sub((piece.len() - off) as u64, Ordering::SeqCst);
                        return Err(io::ErrorKind::WriteZero.into());
                    }
                    Ok(k) => off += k,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        self.counter
                            .fetch_sub((piece.len() - off) as u64, Ordering::SeqCst);
                        return Err(e);
                    }
                }
            }
            if self.chunked {
                self.s.write_all(b"\r\n")?;
            }
            self.sent += piece.len() as u64;
            if let Some(bps) = self.trickle {
                self.s.flush()?;
                let due = self.start + Duration::from_secs_f64(self.sent as f64 / bps as f64);
                let now = Instant::now();
                if due > now {
                    sleep_unless_stopped(self.sh, due - now);
                }
            }
        }
        Ok(self.cut.is_none_or(|c| self.sent < c))
    }
}

/// Open `<root>/<rel>` (percent-decoded) refusing anything that escapes `root`.
fn open_file(root: &Path, rel: &str) -> Option<(File, u64, Duration)> {
    let rel = crate::http::url_decode(rel, false);
    let relp = Path::new(&rel);
    if rel.contains('\0')
        || relp
            .components()
            .any(|c| !matches!(c, Component::Normal(_)))
    {
        return None;
    }
    let croot = root.canonicalize().ok()?;
    let full = croot.join(relp).canonicalize().ok()?;
    if !full.starts_with(&croot) {
        return None;
    }
    let f = File::open(&full).ok()?;
    let md = f.metadata().ok()?;
    if !md.is_file() {
        return None;
    }
    let mtime = md
        .modified()
        .ok()?
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Some((f, md.len(), mtime))
}

fn internal(sh: &Arc<Shared>, conn: &mut Conn, req: &Request, close: bool) -> io::Result<Next> {
    let q = Query::parse(&req.query);
    let is_head = req.method == "HEAD";
    let json = "application/json";
    match req.path.as_str() {
        "/__stats" => {
            let body = match (q.get("path"), q.get("group")) {
                (Some(p), _) => stats_json(&sh.stats(p)),
                (None, Some(g)) => sh.group_json(g),
                (None, None) => {
                    let all: Vec<String> = sh
                        .all_stats()
                        .iter()
                        .map(|(p, s)| format!("{}:{}", json_str(p), stats_json(s)))
                        .collect();
                    format!("{{{}}}", all.join(","))
                }
            };
            simple(
                conn,
                200,
                &[("Cache-Control", "no-store".into())],
                json,
                format!("{body}\n").as_bytes(),
                is_head,
                close,
            )?;
            Ok(next_after(close))
        }
        "/__reset" => {
            sh.reset();
            simple(conn, 200, &[], json, b"{\"ok\":true}\n", is_head, close)?;
            Ok(next_after(close))
        }
        "/__health" => {
            simple(conn, 200, &[], "text/plain", b"ok\n", is_head, close)?;
            Ok(next_after(close))
        }
        "/__shutdown" => {
            simple(conn, 200, &[], json, b"{\"ok\":true}\n", is_head, true)?;
            conn.s.close_gracefully();
            sh.request_stop();
            Ok(Next::Aborted)
        }
        _ => {
            simple(
                conn,
                404,
                &[],
                "text/plain",
                b"unknown control path\n",
                is_head,
                close,
            )?;
            Ok(next_after(close))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_param_rewrites_in_place() {
        assert_eq!(
            set_param("a=1&redirect=3&b=2", "redirect", "2"),
            "a=1&redirect=2&b=2"
        );
        assert_eq!(set_param("", "redirect", "0"), "redirect=0");
        assert_eq!(parse_signed("-1k"), Some(-1024));
        assert_eq!(parse_signed("7"), Some(7));
    }
}
