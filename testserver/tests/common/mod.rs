//! A tiny raw HTTP/1.1 client for the tests (no curl, no bgcopy).
#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

/// How the body read ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Framing satisfied (Content-Length reached, last chunk seen, or no body expected).
    Complete,
    /// The server closed the connection (EOF) before the framing was satisfied, or the body was
    /// close-delimited (then this is the normal end).
    Eof,
    /// The socket read timed out.
    TimedOut,
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub end: End,
    /// For chunked bodies: the raw bytes as received (framing included).
    pub raw_body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn body_str(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub struct Client<S: Read + Write> {
    pub s: S,
    buf: Vec<u8>,
    pos: usize,
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

impl Client<TcpStream> {
    pub fn connect(port: u16) -> Client<TcpStream> {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        Client::new(s)
    }
    pub fn set_timeout(&self, d: Duration) {
        self.s.set_read_timeout(Some(d)).unwrap();
    }
}

impl<S: Read + Write> Client<S> {
    pub fn new(s: S) -> Client<S> {
        Client {
            s,
            buf: Vec::new(),
            pos: 0,
        }
    }

    /// Read more bytes into the buffer; Ok(0) on EOF.
    fn fill(&mut self) -> io::Result<usize> {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        let old = self.buf.len();
        self.buf.resize(old + 65536, 0);
        let r = self.s.read(&mut self.buf[old..]);
        match r {
            Ok(n) => {
                self.buf.truncate(old + n);
                Ok(n)
            }
            // TLS peer closed without close_notify: treat as EOF.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                self.buf.truncate(old);
                Ok(0)
            }
            Err(e) => {
                self.buf.truncate(old);
                Err(e)
            }
        }
    }

    pub fn send_raw(&mut self, data: &[u8]) {
        self.s.write_all(data).unwrap();
        self.s.flush().unwrap();
    }

    pub fn send(&mut self, method: &str, target: &str, headers: &[(&str, &str)]) {
        let mut r = format!(
            "{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: testserver-tests\r\n"
        );
        for (n, v) in headers {
            r.push_str(&format!("{n}: {v}\r\n"));
        }
        r.push_str("\r\n");
        self.send_raw(r.as_bytes());
    }

    pub fn request(&mut self, method: &str, target: &str, headers: &[(&str, &str)]) -> Resp {
        self.send(method, target, headers);
        self.read_response(method == "HEAD")
    }

    pub fn get(&mut self, target: &str) -> Resp {
        self.request("GET", target, &[])
    }

    /// True when the server has closed the connection (EOF on the next read).
    pub fn at_eof(&mut self) -> bool {
        if self.pos < self.buf.len() {
            return false;
        }
        matches!(self.fill(), Ok(0))
    }

    pub fn read_response(&mut self, head_only: bool) -> Resp {
        // head
        let head_end = loop {
            if let Some(i) = self.buf[self.pos..]
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
            {
                break self.pos + i + 4;
            }
            let n = self.fill().expect("reading response head");
            assert!(n > 0, "connection closed before a response head");
        };
        let head = String::from_utf8(self.buf[self.pos..head_end].to_vec()).expect("utf8 head");
        self.pos = head_end;
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap();
        let mut parts = status_line.splitn(3, ' ');
        assert_eq!(parts.next().unwrap(), "HTTP/1.1");
        let status: u16 = parts.next().unwrap().parse().unwrap();
        let headers: Vec<(String, String)> = lines
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (n, v) = l.split_once(':').unwrap();
                (n.trim().to_string(), v.trim().to_string())
            })
            .collect();
        let get = |n: &str| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(n))
                .map(|(_, v)| v.clone())
        };
        let mut resp = Resp {
            status,
            headers: headers.clone(),
            body: Vec::new(),
            end: End::Complete,
            raw_body: Vec::new(),
        };
        if head_only || status == 204 || status == 304 || status < 200 {
            return resp;
        }
        if get("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
            self.read_chunked(&mut resp);
        } else if let Some(cl) = get("content-length") {
            let want: usize = cl.parse().unwrap();
            resp.end = self.read_n(want, &mut resp.body);
        } else {
            resp.end = self.read_n(usize::MAX, &mut resp.body);
        }
        resp
    }

    fn read_n(&mut self, want: usize, out: &mut Vec<u8>) -> End {
        while out.len() < want {
            if self.pos < self.buf.len() {
                let k = (self.buf.len() - self.pos).min(want - out.len());
                out.extend_from_slice(&self.buf[self.pos..self.pos + k]);
                self.pos += k;
                continue;
            }
            match self.fill() {
                Ok(0) => return End::Eof,
                Ok(_) => {}
                Err(e) if is_timeout(&e) => return End::TimedOut,
                Err(_) => return End::Eof,
            }
        }
        End::Complete
    }

    fn read_line_raw(&mut self, raw: &mut Vec<u8>) -> Result<String, End> {
        loop {
            if let Some(i) = self.buf[self.pos..].windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[self.pos..self.pos + i]).into_owned();
                raw.extend_from_slice(&self.buf[self.pos..self.pos + i + 2]);
                self.pos += i + 2;
                return Ok(line);
            }
            match self.fill() {
                Ok(0) => return Err(End::Eof),
                Ok(_) => {}
                Err(e) if is_timeout(&e) => return Err(End::TimedOut),
                Err(_) => return Err(End::Eof),
            }
        }
    }

    fn read_chunked(&mut self, resp: &mut Resp) {
        loop {
            let mut raw = Vec::new();
            let line = match self.read_line_raw(&mut raw) {
                Ok(l) => l,
                Err(e) => {
                    resp.raw_body.extend_from_slice(&raw);
                    resp.end = e;
                    return;
                }
            };
            resp.raw_body.extend_from_slice(&raw);
            let size = usize::from_str_radix(line.trim(), 16).expect("chunk size");
            if size == 0 {
                let mut raw = Vec::new();
                let trailer = self.read_line_raw(&mut raw);
                resp.raw_body.extend_from_slice(&raw);
                assert_eq!(trailer.as_deref(), Ok(""), "no trailers expected");
                resp.end = End::Complete;
                return;
            }
            let mut data = Vec::new();
            let end = self.read_n(size, &mut data);
            resp.raw_body.extend_from_slice(&data);
            resp.body.extend_from_slice(&data);
            if end != End::Complete {
                resp.end = end;
                return;
            }
            let mut raw = Vec::new();
            let crlf = self.read_line_raw(&mut raw);
            resp.raw_body.extend_from_slice(&raw);
            assert_eq!(crlf.as_deref(), Ok(""), "chunk must end with CRLF");
        }
    }
}

/// One request on a fresh connection with `Connection: close`.
pub fn fetch(port: u16, target: &str, headers: &[(&str, &str)]) -> Resp {
    let mut c = Client::connect(port);
    let mut h: Vec<(&str, &str)> = headers.to_vec();
    h.push(("Connection", "close"));
    c.request("GET", target, &h)
}

pub fn expected(seed: u64, version: u64, offset: u64, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    bgcopy_testserver::content_byte_block(seed, version, offset, &mut v);
    v
}

/// A fresh empty directory under the system temp dir.
pub fn temp_dir(tag: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let d = std::env::temp_dir().join(format!(
        "bgcopy-testserver-{tag}-{}-{}-{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}
