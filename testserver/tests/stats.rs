//! Byte/request counters, /__stats JSON and reset.

mod common;
use bgcopy_testserver::TestServer;
use common::*;

#[test]
fn counters_track_bytes_requests_and_ranges() {
    let srv = TestServer::start(false).unwrap();
    let mut c = Client::connect(srv.port);
    c.get("/data/1m?seed=1");
    c.request("GET", "/data/1m?seed=2", &[("Range", "bytes=1048000-")]);
    c.request("HEAD", "/data/1m", &[("X-Custom", "abc")]);
    let s = srv.stats("/data/1m");
    assert_eq!(s.requests, 3);
    assert_eq!(s.heads, 1);
    assert_eq!(s.bytes, 1048576 + 576);
    assert_eq!(s.ranges, vec!["1048000-".to_string()]);
    assert_eq!(s.statuses, vec![200, 206, 200]);
    assert_eq!(s.last_header("x-custom"), Some("abc"));
    assert_eq!(s.last_header("User-Agent"), Some("testserver-tests"));
    assert_eq!(srv.stats("/never"), Default::default());

    // The same over HTTP.
    let j = c.get("/__stats?path=/data/1m").body_str();
    assert_eq!(j.trim(), s.to_json());
    assert!(
        j.starts_with("{\"requests\":3,\"heads\":1,\"bytes\":1049152,\"ranges\":[\"1048000-\"],"),
        "{j}"
    );
    let all = c.get("/__stats").body_str();
    assert!(all.starts_with("{\"/data/1m\":{\"requests\":3,"), "{all}");
    // Control paths are not counted.
    assert_eq!(srv.all_stats().len(), 1);
}

#[test]
fn drop_counts_exactly_and_reset_clears_state() {
    let srv = TestServer::start(false).unwrap();
    let url = "/data/10000?status=503&status_times=1&drop=777&drop_times=1";
    assert_eq!(fetch(srv.port, url, &[]).status, 503);
    let r = fetch(srv.port, url, &[]);
    assert_eq!((r.status, r.body.len()), (200, 777));
    assert_eq!(srv.stats("/data/10000").bytes, 777);
    assert_eq!(fetch(srv.port, url, &[]).body.len(), 10000);

    // Reset over HTTP (POST with a body, and GET) clears counters and the *_times state.
    let mut c = Client::connect(srv.port);
    c.send_raw(b"POST /__reset HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}");
    assert_eq!(c.read_response(false).status, 200);
    assert_eq!(srv.stats("/data/10000"), Default::default());
    assert_eq!(fetch(srv.port, url, &[]).status, 503);
    assert_eq!(c.get("/__reset").status, 200);
    assert!(srv.all_stats().is_empty());
    srv.reset();
    assert_eq!(fetch(srv.port, url, &[]).status, 503);
    assert_eq!(c.get("/__health").body_str(), "ok\n");
}

#[test]
fn stats_json_escapes() {
    let srv = TestServer::start(false).unwrap();
    fetch(srv.port, "/data/10", &[("X-Q", "a\"b\\c")]);
    let j = fetch(srv.port, "/__stats?path=%2Fdata%2F10", &[]).body_str();
    assert!(j.contains("\"x-q\":\"a\\\"b\\\\c\""), "{j}");
}

#[test]
fn group_counts_requests_in_flight_and_their_peak() {
    let srv = TestServer::start(false).unwrap();
    let stats = |c: &mut Client<std::net::TcpStream>| c.get("/__stats?group=g").body_str();
    let mut ctl = Client::connect(srv.port);
    assert_eq!(
        stats(&mut ctl).trim(),
        "{\"in_flight\":0,\"peak\":0,\"requests\":0}"
    );
    // Two requests held by a delay, on two connections.
    let mut a = Client::connect(srv.port);
    let mut b = Client::connect(srv.port);
    a.send("GET", "/data/10/a?group=g&delay=400", &[]);
    b.send("GET", "/data/10/b?group=g&delay=400", &[]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !stats(&mut ctl).contains("\"in_flight\":2") {
        assert!(std::time::Instant::now() < deadline, "{}", stats(&mut ctl));
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(a.read_response(false).status, 200);
    assert_eq!(b.read_response(false).status, 200);
    // One more, answered at once, after the other two.
    assert_eq!(a.get("/data/10/c?group=g").status, 200);
    while !stats(&mut ctl).contains("\"in_flight\":0") {
        assert!(std::time::Instant::now() < deadline, "{}", stats(&mut ctl));
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(
        stats(&mut ctl).trim(),
        "{\"in_flight\":0,\"peak\":2,\"requests\":3}"
    );
    // Other groups and requests without one are not counted.
    assert_eq!(a.get("/data/10/d?group=h").status, 200);
    assert_eq!(a.get("/data/10/e").status, 200);
    assert_eq!(
        stats(&mut ctl).trim(),
        "{\"in_flight\":0,\"peak\":2,\"requests\":3}"
    );
}
