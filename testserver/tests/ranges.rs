//! Content, headers, Range / If-Range, HEAD and keep-alive.

mod common;
use bgcopy_testserver::{content_etag, content_last_modified, verify_content, TestServer};
use common::*;

#[test]
fn full_get_headers_and_content() {
    let srv = TestServer::start(false).unwrap();
    let r = fetch(srv.port, "/data/100000", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Length"), Some("100000"));
    assert_eq!(r.header("Accept-Ranges"), Some("bytes"));
    assert_eq!(r.header("Content-Type"), Some("application/octet-stream"));
    assert_eq!(r.header("ETag"), Some("\"0-0-100000\""));
    assert_eq!(
        r.header("Last-Modified"),
        Some("Wed, 01 Jan 2020 00:00:00 GMT")
    );
    assert_eq!(r.body.len(), 100000);
    assert_eq!(verify_content(0, 0, 0, &r.body), None);
}

#[test]
fn size_suffixes_and_seed() {
    let srv = TestServer::start(false).unwrap();
    let r = fetch(srv.port, "/data/4k?seed=7", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), 4096);
    assert_eq!(r.body, expected(7, 0, 0, 4096));
    assert_eq!(r.header("ETag"), Some(content_etag(7, 0, 4096).as_str()));
    let r0 = fetch(srv.port, "/data/4k", &[]);
    assert_ne!(r0.body, r.body);
    // Trailing name segments are allowed and ignored for the content.
    let named = fetch(srv.port, "/data/4k/some/file.bin?seed=7", &[]);
    assert_eq!(named.body, r.body);
    // 1m works too (only the length is checked here).
    let m = fetch(srv.port, "/data/1m", &[]);
    assert_eq!(m.header("Content-Length"), Some("1048576"));
    assert_eq!(m.body.len(), 1048576);
    assert_eq!(fetch(srv.port, "/data/12x", &[]).status, 404);
    assert_eq!(fetch(srv.port, "/nothing", &[]).status, 404);
}

#[test]
fn range_forms() {
    let srv = TestServer::start(false).unwrap();
    let p = srv.port;
    let r = fetch(p, "/data/1000", &[("Range", "bytes=100-199")]);
    assert_eq!(r.status, 206);
    assert_eq!(r.header("Content-Range"), Some("bytes 100-199/1000"));
    assert_eq!(r.header("Content-Length"), Some("100"));
    assert_eq!(r.body, expected(0, 0, 100, 100));

    let r = fetch(p, "/data/1000", &[("Range", "bytes=900-")]);
    assert_eq!(r.status, 206);
    assert_eq!(r.header("Content-Range"), Some("bytes 900-999/1000"));
    assert_eq!(r.body, expected(0, 0, 900, 100));

    let r = fetch(p, "/data/1000", &[("Range", "bytes=-10")]);
    assert_eq!(r.status, 206);
    assert_eq!(r.header("Content-Range"), Some("bytes 990-999/1000"));
    assert_eq!(r.body, expected(0, 0, 990, 10));

    // Last byte position past the end is clamped.
    let r = fetch(p, "/data/1000", &[("Range", "bytes=995-5000")]);
    assert_eq!(r.status, 206);
    assert_eq!(r.header("Content-Range"), Some("bytes 995-999/1000"));

    // Unsatisfiable.
    let r = fetch(p, "/data/1000", &[("Range", "bytes=1000-")]);
    assert_eq!(r.status, 416);
    assert_eq!(r.header("Content-Range"), Some("bytes */1000"));
    assert_eq!(r.body.len(), 0);

    // Syntactically invalid -> ignored -> 200.
    let r = fetch(p, "/data/1000", &[("Range", "bytes=5-1")]);
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), 1000);
}

#[test]
fn multi_range_is_multipart() {
    let srv = TestServer::start(false).unwrap();
    let r = fetch(
        srv.port,
        "/data/1000?seed=3",
        &[("Range", "bytes=0-9,500-509")],
    );
    assert_eq!(r.status, 206);
    let ct = r.header("Content-Type").unwrap();
    let boundary = ct
        .strip_prefix("multipart/byteranges; boundary=")
        .expect(ct);
    assert_eq!(
        r.header("Content-Length")
            .unwrap()
            .parse::<usize>()
            .unwrap(),
        r.body.len()
    );
    let mut want = Vec::new();
    for (a, b) in [(0u64, 9u64), (500, 509)] {
        want.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes {a}-{b}/1000\r\n\r\n"
            )
            .as_bytes(),
        );
        want.extend_from_slice(&expected(3, 0, a, (b - a + 1) as usize));
        want.extend_from_slice(b"\r\n");
    }
    want.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    assert_eq!(r.body, want);
}

#[test]
fn if_range() {
    let srv = TestServer::start(false).unwrap();
    let p = srv.port;
    let etag = content_etag(0, 0, 5000);
    let lm = content_last_modified(0);
    let r = fetch(
        p,
        "/data/5000",
        &[("Range", "bytes=1000-"), ("If-Range", &etag)],
    );
    assert_eq!(r.status, 206);
    assert_eq!(r.body, expected(0, 0, 1000, 4000));
    let r = fetch(
        p,
        "/data/5000",
        &[("Range", "bytes=1000-"), ("If-Range", &lm)],
    );
    assert_eq!(r.status, 206);
    // Mismatch: full body, 200.
    let r = fetch(
        p,
        "/data/5000",
        &[("Range", "bytes=1000-"), ("If-Range", "\"0-9-5000\"")],
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.body, expected(0, 0, 0, 5000));
    let r = fetch(
        p,
        "/data/5000",
        &[
            ("Range", "bytes=1000-"),
            ("If-Range", "Thu, 01 Jan 1970 00:00:00 GMT"),
        ],
    );
    assert_eq!(r.status, 200);
    // A weak validator never matches.
    let weak = format!("W/{etag}");
    let r = fetch(
        p,
        "/data/5000",
        &[("Range", "bytes=1000-"), ("If-Range", &weak)],
    );
    assert_eq!(r.status, 200);
}

#[test]
fn head_and_keep_alive() {
    let srv = TestServer::start(false).unwrap();
    let mut c = Client::connect(srv.port);
    let h = c.request("HEAD", "/data/2m", &[]);
    assert_eq!(h.status, 200);
    assert_eq!(h.header("Content-Length"), Some("2097152"));
    assert_eq!(h.header("ETag"), Some("\"0-0-2097152\""));
    assert!(h.body.is_empty());
    // Same connection: two GETs.
    let a = c.request("GET", "/data/3000", &[("Range", "bytes=0-999")]);
    assert_eq!(a.status, 206);
    assert_eq!(a.body, expected(0, 0, 0, 1000));
    let b = c.request("GET", "/data/3000", &[("Range", "bytes=1000-")]);
    assert_eq!(b.status, 206);
    assert_eq!(b.body, expected(0, 0, 1000, 2000));
    assert_eq!(b.header("Connection"), Some("keep-alive"));
    // Connection: close is honoured.
    let last = c.request("GET", "/data/10", &[("Connection", "close")]);
    assert_eq!(last.status, 200);
    assert_eq!(last.header("Connection"), Some("close"));
    assert!(c.at_eof());
    let s = srv.stats("/data/3000");
    assert_eq!(s.requests, 2);
    assert_eq!(srv.stats("/data/2m").heads, 1);
    assert_eq!(srv.stats("/data/2m").bytes, 0);
}

#[test]
fn pipelined_requests() {
    let srv = TestServer::start(false).unwrap();
    let mut c = Client::connect(srv.port);
    c.send_raw(
        b"GET /data/10 HTTP/1.1\r\nHost: x\r\n\r\nGET /data/20?seed=1 HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    let a = c.read_response(false);
    let b = c.read_response(false);
    assert_eq!(a.body, expected(0, 0, 0, 10));
    assert_eq!(b.body, expected(1, 0, 0, 20));
}

#[test]
fn http10_closes_and_methods() {
    let srv = TestServer::start(false).unwrap();
    let mut c = Client::connect(srv.port);
    c.send_raw(b"GET /data/10 HTTP/1.0\r\n\r\n");
    let a = c.read_response(false);
    assert_eq!(a.status, 200);
    assert_eq!(a.body.len(), 10);
    assert!(c.at_eof());

    let mut c = Client::connect(srv.port);
    c.send_raw(b"POST /data/10 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
    let r = c.read_response(false);
    assert_eq!(r.status, 405);
    // The request body was consumed: the connection still works.
    let r = c.get("/data/10");
    assert_eq!(r.status, 200);
}
