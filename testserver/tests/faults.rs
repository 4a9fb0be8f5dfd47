//! Fault injection by query parameters.

mod common;
use std::time::{Duration, Instant};

use bgcopy_testserver::{content_etag, content_last_modified, url_encode, TestServer};
use common::*;

#[test]
fn drop_closes_after_exactly_n_body_bytes() {
    let srv = TestServer::start(false).unwrap();
    let mut c = Client::connect(srv.port);
    let r = c.get("/data/100000?drop=1000");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Length"), Some("100000"));
    assert_eq!(r.end, End::Eof);
    assert_eq!(r.body, expected(0, 0, 0, 1000));
    // Default: every request drops.
    let r = fetch(srv.port, "/data/100000?drop=1000", &[]);
    assert_eq!((r.end, r.body.len()), (End::Eof, 1000));
    // Also through a range: N counts body bytes of this response.
    let r = fetch(srv.port, "/data/100000?drop=10", &[("Range", "bytes=500-")]);
    assert_eq!(r.status, 206);
    assert_eq!(r.body, expected(0, 0, 500, 10));
    assert_eq!(srv.stats("/data/100000").bytes, 2010);
}

#[test]
fn drop_times_limits_the_fault() {
    let srv = TestServer::start(false).unwrap();
    let url = "/data/50000?drop=1000&drop_times=1";
    let r = fetch(srv.port, url, &[]);
    assert_eq!((r.end, r.body.len()), (End::Eof, 1000));
    // A HEAD does not consume a drop (only body responses count for drop_times) ...
    let mut c = Client::connect(srv.port);
    let h = c.request("HEAD", url, &[]);
    assert_eq!(h.status, 200);
    // ... and the second GET gets everything, resumable with Range.
    let r = c.request("GET", url, &[("Range", "bytes=1000-")]);
    assert_eq!(r.status, 206);
    assert_eq!(r.end, End::Complete);
    assert_eq!(r.body, expected(0, 0, 1000, 49000));
    // drop=0: headers only, then close.
    let r = fetch(srv.port, "/data/10?drop=0&t=zero", &[]);
    assert_eq!((r.status, r.end, r.body.len()), (200, End::Eof, 0));
    // drop >= body length: no fault.
    let r = fetch(srv.port, "/data/10?drop=10", &[]);
    assert_eq!((r.end, r.body.len()), (End::Complete, 10));
}

#[test]
fn status_with_retry_after_and_times() {
    let srv = TestServer::start(false).unwrap();
    let mut c = Client::connect(srv.port);
    let url = "/data/1000?status=503&retry_after=7&status_times=2";
    for _ in 0..2 {
        let r = c.get(url);
        assert_eq!(r.status, 503);
        assert_eq!(r.header("Retry-After"), Some("7"));
    }
    let r = c.get(url);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, expected(0, 0, 0, 1000));
    // Forever by default; HEAD gets it too.
    for _ in 0..3 {
        assert_eq!(c.get("/data/1000?status=404").status, 404);
    }
    assert_eq!(c.request("HEAD", "/data/1000?status=500", &[]).status, 500);
    let s = srv.stats("/data/1000");
    assert_eq!(s.statuses, vec![503, 503, 200, 404, 404, 404, 500]);
    // Bad parameter -> 400.
    assert_eq!(c.get("/data/1000?status=abc").status, 400);
}

#[test]
fn ignore_range() {
    let srv = TestServer::start(false).unwrap();
    let r = fetch(
        srv.port,
        "/data/2000?ignore_range=1",
        &[("Range", "bytes=1000-")],
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Accept-Ranges"), None);
    assert_eq!(r.header("Content-Range"), None);
    assert_eq!(r.body, expected(0, 0, 0, 2000));
}

#[test]
fn change_after_changes_bytes_and_validators() {
    let srv = TestServer::start(false).unwrap();
    let mut c = Client::connect(srv.port);
    let url = "/data/4096?change_after=1&seed=5";
    let a = c.get(url);
    assert_eq!(a.header("ETag"), Some(content_etag(5, 0, 4096).as_str()));
    assert_eq!(a.body, expected(5, 0, 0, 4096));
    let b = c.get(url);
    assert_eq!(b.header("ETag"), Some(content_etag(5, 1, 4096).as_str()));
    assert_eq!(
        b.header("Last-Modified"),
        Some(content_last_modified(1).as_str())
    );
    assert_ne!(a.header("Last-Modified"), b.header("Last-Modified"));
    assert_eq!(b.body, expected(5, 1, 0, 4096));
    assert_ne!(a.body, b.body);
    // Resume guarded by the old ETag: now a 200 with the new full body.
    let old = content_etag(5, 0, 4096);
    let r = c.request("GET", url, &[("Range", "bytes=100-"), ("If-Range", &old)]);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, expected(5, 1, 0, 4096));

    // change_size: the new version has a different length.
    let url = "/data/1000?change_after=1&change_size=24";
    assert_eq!(c.get(url).body.len(), 1000);
    let r = c.get(url);
    assert_eq!(r.header("Content-Length"), Some("1024"));
    assert_eq!(r.header("ETag"), Some(content_etag(0, 1, 1024).as_str()));
    assert_eq!(r.body, expected(0, 1, 0, 1024));
    let url = "/data/1000?change_after=0&change_size=-100";
    assert_eq!(c.get(url).body.len(), 900);
}

#[test]
fn stall_sends_n_bytes_then_keeps_the_connection_open() {
    let srv = TestServer::start(false).unwrap();
    let mut c = Client::connect(srv.port);
    c.set_timeout(Duration::from_millis(700));
    let r = c.get("/data/100000?stall=1234");
    assert_eq!(r.status, 200);
    assert_eq!(r.end, End::TimedOut);
    assert_eq!(r.body, expected(0, 0, 0, 1234));
    // stall_timeout closes it after the given seconds.
    let mut c = Client::connect(srv.port);
    c.set_timeout(Duration::from_secs(10));
    let t = Instant::now();
    let r = c.get("/data/100000?stall=10&stall_timeout=1");
    assert_eq!((r.end, r.body.len()), (End::Eof, 10));
    assert!(t.elapsed() >= Duration::from_millis(900));
    // stall_times=1: the second request is served in full.
    let r1 = {
        let mut c = Client::connect(srv.port);
        c.set_timeout(Duration::from_millis(300));
        c.get("/data/5000?stall=100&stall_times=1")
    };
    assert_eq!((r1.end, r1.body.len()), (End::TimedOut, 100));
    let r2 = fetch(srv.port, "/data/5000?stall=100&stall_times=1", &[]);
    assert_eq!((r2.end, r2.body.len()), (End::Complete, 5000));
}

#[test]
fn trickle_rate_limits_but_delivers_everything() {
    let srv = TestServer::start(false).unwrap();
    let t = Instant::now();
    let r = fetch(srv.port, "/data/60000?trickle=100000", &[]);
    let took = t.elapsed();
    assert_eq!(r.end, End::Complete);
    assert_eq!(r.body, expected(0, 0, 0, 60000));
    // 60000 B at 100000 B/s = 0.6 s; only a lower bound (never flaky under load).
    assert!(took >= Duration::from_millis(300), "took {took:?}");
}

#[test]
fn redirect_counts_down() {
    let srv = TestServer::start(false).unwrap();
    let mut c = Client::connect(srv.port);
    let mut url = "/data/100?redirect=3&seed=2".to_string();
    for k in (0..3).rev() {
        let r = c.get(&url);
        assert_eq!(r.status, 302);
        let loc = r.header("Location").unwrap().to_string();
        assert_eq!(
            loc,
            format!("http://127.0.0.1/data/100?redirect={k}&seed=2")
        );
        url = loc.strip_prefix("http://127.0.0.1").unwrap().to_string();
    }
    let r = c.get(&url);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, expected(2, 0, 0, 100));
    assert_eq!(srv.stats("/data/100").statuses, vec![302, 302, 302, 200]);
    // Other codes.
    let r = c.get("/data/100?redirect=1&redirect_code=307");
    assert_eq!(r.status, 307);
}

#[test]
fn redirect_loop_and_redirect_to() {
    let srv = TestServer::start(false).unwrap();
    let mut c = Client::connect(srv.port);
    for _ in 0..5 {
        let r = c.get("/data/100?redirect_loop=1");
        assert_eq!(r.status, 302);
        assert_eq!(
            r.header("Location"),
            Some("http://127.0.0.1/data/100?redirect_loop=1")
        );
    }
    let target = "https://127.0.0.1:1/data/100?seed=1&x=y";
    let r = c.get(&format!("/data/100?redirect_to={}", url_encode(target)));
    assert_eq!(r.status, 302);
    assert_eq!(r.header("Location"), Some(target));
}

#[test]
fn chunked_framing() {
    let srv = TestServer::start(false).unwrap();
    let mut c = Client::connect(srv.port);
    let r = c.get("/data/600000?chunked=1&seed=4");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Transfer-Encoding"), Some("chunked"));
    assert_eq!(r.header("Content-Length"), None);
    assert_eq!(r.end, End::Complete);
    assert_eq!(r.body, expected(4, 0, 0, 600000));
    // 256 KiB chunks: 262144 + 262144 + 75712, then the last chunk.
    assert!(r.raw_body.starts_with(b"40000\r\n"));
    assert!(r.raw_body.ends_with(b"\r\n0\r\n\r\n"));
    assert_eq!(
        r.raw_body.len(),
        600000 + "40000\r\n\r\n".len() * 2 + "127c0\r\n\r\n".len() + 5
    );
    // Still keep-alive after a chunked body; ranges work chunked too.
    let r = c.request("GET", "/data/1000?chunked=1", &[("Range", "bytes=10-19")]);
    assert_eq!(r.status, 206);
    assert_eq!(
        r.raw_body,
        [
            b"a\r\n".as_slice(),
            &expected(0, 0, 10, 10),
            b"\r\n0\r\n\r\n"
        ]
        .concat()
    );
}

#[test]
fn overlong_and_no_length() {
    let srv = TestServer::start(false).unwrap();
    let r = fetch(srv.port, "/data/1000?overlong=500", &[]);
    assert_eq!(r.header("Content-Length"), Some("1500"));
    assert_eq!(r.end, End::Eof);
    assert_eq!(r.body, expected(0, 0, 0, 1000));

    let mut c = Client::connect(srv.port);
    let r = c.get("/data/3000?no_length=1");
    assert_eq!(r.header("Content-Length"), None);
    assert_eq!(r.header("Connection"), Some("close"));
    assert_eq!(r.end, End::Eof);
    assert_eq!(r.body, expected(0, 0, 0, 3000));
}

#[test]
fn auth_validators_and_delay() {
    let srv = TestServer::start(false).unwrap();
    let r = fetch(srv.port, "/data/10?auth=user:pass", &[]);
    assert_eq!(r.status, 401);
    assert!(r.header("WWW-Authenticate").unwrap().starts_with("Basic"));
    let r = fetch(
        srv.port,
        "/data/10?auth=user:pass",
        &[("Authorization", "Basic dXNlcjpwYXNz")],
    );
    assert_eq!(r.status, 200);
    let r = fetch(srv.port, "/data/10?no_etag=1&no_last_modified=1", &[]);
    assert_eq!((r.header("ETag"), r.header("Last-Modified")), (None, None));
    let t = Instant::now();
    let r = fetch(srv.port, "/data/10?delay=300", &[]);
    assert_eq!(r.status, 200);
    assert!(t.elapsed() >= Duration::from_millis(300));
}
