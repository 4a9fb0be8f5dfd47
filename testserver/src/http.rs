//! Minimal HTTP/1.1 plumbing: the connection stream (plain or TLS), request-head parsing,
//! query strings, Range headers, and small helpers (JSON, base64, reason phrases).

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};

/// A client connection, plain TCP or TLS over TCP.
pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ServerConnection, TcpStream>>),
}

impl Stream {
    pub(crate) fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => &s.sock,
        }
    }

    /// Graceful close: TLS close_notify (best effort), then FIN.
    pub(crate) fn close_gracefully(&mut self) {
        if let Stream::Tls(s) = self {
            s.conn.send_close_notify();
            let _ = s.flush();
        }
        let _ = self.tcp().shutdown(Shutdown::Write);
    }

    /// Abrupt close (fault injection): no TLS close_notify, both directions shut down.
    pub(crate) fn close_abruptly(&mut self) {
        let _ = self.tcp().shutdown(Shutdown::Both);
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// Stream plus a read buffer (requests may be pipelined).
pub(crate) struct Conn {
    pub(crate) s: Stream,
    rbuf: Vec<u8>,
    rpos: usize,
}

pub(crate) const MAX_HEAD: usize = 64 * 1024;

pub(crate) enum HeadResult {
    Head(Vec<u8>),
    /// Clean EOF before any byte of a new request.
    Eof,
    TooLarge,
}

impl Conn {
    pub(crate) fn new(s: Stream) -> Conn {
        Conn {
            s,
            rbuf: Vec::with_capacity(8192),
            rpos: 0,
        }
    }

    fn fill(&mut self) -> io::Result<usize> {
        if self.rpos > 0 {
            self.rbuf.drain(..self.rpos);
            self.rpos = 0;
        }
        let old = self.rbuf.len();
        self.rbuf.resize(old + 16 * 1024, 0);
        let r = self.s.read(&mut self.rbuf[old..]);
        let n = *r.as_ref().unwrap_or(&0);
        self.rbuf.truncate(old + n);
        r
    }

    /// Read one request head (through the blank line).
    pub(crate) fn read_head(&mut self) -> io::Result<HeadResult> {
        loop {
            let avail = &self.rbuf[self.rpos..];
            if let Some(end) = find_head_end(avail) {
                let head = avail[..end].to_vec();
                self.rpos += end;
                return Ok(HeadResult::Head(head));
            }
            if avail.len() > MAX_HEAD {
                return Ok(HeadResult::TooLarge);
            }
            let had = avail.len();
            match self.fill() {
                Ok(0) => {
                    return if had == 0 {
                        Ok(HeadResult::Eof)
                    } else {
                        Err(io::ErrorKind::UnexpectedEof.into())
                    }
                }
                Ok(_) => {}
                Err(e) if had == 0 && e.kind() == io::ErrorKind::UnexpectedEof => {
                    return Ok(HeadResult::Eof)
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Read and discard exactly `n` body bytes.
    pub(crate) fn discard(&mut self, mut n: u64) -> io::Result<()> {
        while n > 0 {
            if self.rpos >= self.rbuf.len() && self.fill()? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            let take = ((self.rbuf.len() - self.rpos) as u64).min(n) as usize;
            self.rpos += take;
            n -= take as u64;
        }
        Ok(())
    }

    fn read_line(&mut self) -> io::Result<String> {
        loop {
            if let Some(i) = self.rbuf[self.rpos..].iter().position(|&b| b == b'\n') {
                let line =
                    String::from_utf8_lossy(&self.rbuf[self.rpos..self.rpos + i]).into_owned();
                self.rpos += i + 1;
                return Ok(line.trim_end_matches('\r').to_string());
            }
            if self.rbuf.len() - self.rpos > MAX_HEAD {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "line too long"));
            }
            if self.fill()? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
    }

    /// Read and discard a chunked request body (including trailers).
    pub(crate) fn discard_chunked(&mut self) -> io::Result<()> {
        loop {
            let line = self.read_line()?;
            let size_str = line.split(';').next().unwrap_or("").trim();
            let size = u64::from_str_radix(size_str, 16)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
            if size == 0 {
                // trailers until blank line
                while !self.read_line()?.is_empty() {}
                return Ok(());
            }
            self.discard(size)?;
            if !self.read_line()?.is_empty() {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "bad chunk end"));
            }
        }
    }
}

fn find_head_end(b: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\n' {
            if b.get(i + 1) == Some(&b'\n') {
                return Some(i + 2);
            }
            if b.get(i + 1) == Some(&b'\r') && b.get(i + 2) == Some(&b'\n') {
                return Some(i + 3);
            }
        }
        i += 1;
    }
    None
}

/// A parsed request head.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub method: String,
    /// Origin-form target as received: path plus `?query` (absolute-form is reduced to this).
    pub target: String,
    pub path: String,
    pub query: String,
    pub http10: bool,
    pub headers: Vec<(String, String)>,
}

impl Request {
    pub(crate) fn parse(head: &[u8]) -> Option<Request> {
        let text = std::str::from_utf8(head).ok()?;
        let mut lines = text.split('\n').map(|l| l.trim_end_matches('\r'));
        let first = lines.next()?;
        let mut parts = first.split(' ').filter(|p| !p.is_empty());
        let method = parts.next()?.to_string();
        let mut target = parts.next()?.to_string();
        let version = parts.next()?;
        if parts.next().is_some() || !version.starts_with("HTTP/1.") {
            return None;
        }
        let http10 = version == "HTTP/1.0";
        // absolute-form -> origin-form
        if let Some(rest) = target
            .strip_prefix("http://")
            .or_else(|| target.strip_prefix("https://"))
        {
            target = match rest.find('/') {
                Some(i) => rest[i..].to_string(),
                None => "/".to_string(),
            };
        }
        if !target.starts_with('/') {
            return None;
        }
        let (path, query) = match target.find('?') {
            Some(i) => (target[..i].to_string(), target[i + 1..].to_string()),
            None => (target.clone(), String::new()),
        };
        let mut headers = Vec::new();
        for l in lines {
            if l.is_empty() {
                break;
            }
            let (n, v) = l.split_once(':')?;
            headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
        Some(Request {
            method,
            target,
            path,
            query,
            http10,
            headers,
        })
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn has_token(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .any(|(_, v)| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    }
}

/// Decode `%XX` escapes and `+` (application/x-www-form-urlencoded).
pub(crate) fn url_decode(s: &str, plus_is_space: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let h = |c: u8| (c as char).to_digit(16);
                match (h(b[i + 1]), h(b[i + 2])) {
                    (Some(x), Some(y)) => {
                        out.push((x * 16 + y) as u8);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                }
            }
            b'+' if plus_is_space => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encode everything except unreserved characters.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for &c in s.as_bytes() {
        if c.is_ascii_alphanumeric() || b"-._~".contains(&c) {
            out.push(c as char);
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
    out
}

/// Decoded query parameters (later duplicates win on lookup).
#[derive(Debug, Default, Clone)]
pub(crate) struct Query(pub Vec<(String, String)>);

impl Query {
    pub(crate) fn parse(q: &str) -> Query {
        Query(
            q.split('&')
                .filter(|p| !p.is_empty())
                .map(|p| match p.split_once('=') {
                    Some((k, v)) => (url_decode(k, true), url_decode(v, true)),
                    None => (url_decode(p, true), String::new()),
                })
                .collect(),
        )
    }
    pub(crate) fn get(&self, k: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }
    /// Numeric parameter; `Err(name)` when present but not a number (sizes accept k/m/g).
    pub(crate) fn num(&self, k: &'static str) -> Result<Option<u64>, &'static str> {
        match self.get(k) {
            None => Ok(None),
            Some(v) => crate::content::parse_size(v).map(Some).ok_or(k),
        }
    }
    pub(crate) fn flag(&self, k: &str) -> bool {
        matches!(self.get(k), Some(v) if !v.is_empty() && v != "0" && v != "false")
    }
}

/// One byte range resolved against a size: `start..=end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ByteRange {
    pub start: u64,
    pub end: u64,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RangeReq {
    /// Header absent, not `bytes=`, or syntactically invalid: serve the whole body (RFC 9110 §14.2).
    Ignore,
    /// Valid syntax but no range overlaps the content: 416.
    Unsatisfiable,
    /// The satisfiable ranges, in request order.
    Ranges(Vec<ByteRange>),
}

pub(crate) fn parse_range(value: &str, size: u64) -> RangeReq {
    let v = value.trim();
    let Some((unit, set)) = v.split_once('=') else {
        return RangeReq::Ignore;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return RangeReq::Ignore;
    }
    let mut out = Vec::new();
    let mut any = false;
    for spec in set.split(',') {
        let spec = spec.trim();
        if spec.is_empty() {
            continue;
        }
        any = true;
        let Some((a, b)) = spec.split_once('-') else {
            return RangeReq::Ignore;
        };
        let (a, b) = (a.trim(), b.trim());
        let num = |s: &str| -> Option<u64> {
            if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
                None
            } else {
                s.parse().ok()
            }
        };
        if a.is_empty() {
            let Some(n) = num(b) else {
                return RangeReq::Ignore;
            };
            if n > 0 && size > 0 {
                out.push(ByteRange {
                    start: size.saturating_sub(n),
                    end: size - 1,
                });
            }
        } else {
            let Some(first) = num(a) else {
                return RangeReq::Ignore;
            };
            let last = if b.is_empty() {
                u64::MAX
            } else {
                match num(b) {
                    Some(l) => l,
                    None => return RangeReq::Ignore,
                }
            };
            if last < first {
                return RangeReq::Ignore;
            }
            if first < size {
                out.push(ByteRange {
                    start: first,
                    end: last.min(size - 1),
                });
            }
        }
    }
    if !any {
        return RangeReq::Ignore;
    }
    if out.is_empty() {
        RangeReq::Unsatisfiable
    } else {
        RangeReq::Ranges(out)
    }
}

pub(crate) fn reason(code: u16) -> &'static str {
    match code {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        410 => "Gone",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        416 => "Range Not Satisfiable",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

pub(crate) fn json_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

pub(crate) fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut o = String::new();
    for c in data.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        o.push(T[(n >> 18) as usize & 63] as char);
        o.push(T[(n >> 12) as usize & 63] as char);
        o.push(if c.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        o.push(if c.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let r = |s| parse_range(s, 100);
        assert_eq!(
            r("bytes=0-9"),
            RangeReq::Ranges(vec![ByteRange { start: 0, end: 9 }])
        );
        assert_eq!(
            r("bytes=90-"),
            RangeReq::Ranges(vec![ByteRange { start: 90, end: 99 }])
        );
        assert_eq!(
            r("bytes=-10"),
            RangeReq::Ranges(vec![ByteRange { start: 90, end: 99 }])
        );
        assert_eq!(
            r("bytes=-1000"),
            RangeReq::Ranges(vec![ByteRange { start: 0, end: 99 }])
        );
        assert_eq!(
            r("bytes=50-1000"),
            RangeReq::Ranges(vec![ByteRange { start: 50, end: 99 }])
        );
        assert_eq!(r("bytes=100-"), RangeReq::Unsatisfiable);
        assert_eq!(r("bytes=-0"), RangeReq::Unsatisfiable);
        assert_eq!(r("bytes=5-1"), RangeReq::Ignore);
        assert_eq!(r("items=0-1"), RangeReq::Ignore);
        assert_eq!(r("bytes=x-1"), RangeReq::Ignore);
        assert_eq!(
            r("bytes=0-0, 200-300, -1"),
            RangeReq::Ranges(vec![
                ByteRange { start: 0, end: 0 },
                ByteRange { start: 99, end: 99 }
            ])
        );
        assert_eq!(parse_range("bytes=-5", 0), RangeReq::Unsatisfiable);
    }

    #[test]
    fn decode() {
        assert_eq!(
            url_decode("http%3A%2F%2Fa%2Fb%3Fx%3D1", true),
            "http://a/b?x=1"
        );
        assert_eq!(url_decode("a+b%", true), "a b%");
        assert_eq!(url_decode("%4", false), "%4");
        assert_eq!(url_encode("http://a/b?x=1"), "http%3A%2F%2Fa%2Fb%3Fx%3D1");
        assert_eq!(base64(b"user:pass"), "dXNlcjpwYXNz");
        assert_eq!(base64(b"a"), "YQ==");
    }

    #[test]
    fn request() {
        let r = Request::parse(
            b"GET http://h:1/data/1?x=2 HTTP/1.1\r\nHost: h\r\nRange: bytes=0-\r\n\r\n",
        )
        .unwrap();
        assert_eq!(r.path, "/data/1");
        assert_eq!(r.query, "x=2");
        assert_eq!(r.header("range"), Some("bytes=0-"));
        assert!(Request::parse(b"GET /x HTTP/2\r\n\r\n").is_none());
    }
}
