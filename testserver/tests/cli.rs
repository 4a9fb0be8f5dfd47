//! The binary: serve (port file, cert-out, shutdown, signals), gen, verify, --root-dir.

mod common;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bgcopy_testserver::{Options, TestServer};
use common::*;

const BIN: &str = env!("CARGO_BIN_EXE_bgcopy-testserver");

fn spawn_serve(args: &[&str]) -> (Child, String) {
    let mut child = Command::new(BIN)
        .arg("serve")
        .args(args)
        // Safety net: a failing test must not leave a server behind.
        .args(["--lifetime", "120"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line.trim().to_string())
}

fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if Instant::now() > end {
            child.kill().ok();
            panic!("server did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn serve_port_file_cert_out_and_shutdown() {
    let dir = temp_dir("cli");
    let pf = dir.join("port");
    let ca = dir.join("ca.pem");
    let (mut child, line) = spawn_serve(&[
        "--port",
        "0",
        "--tls",
        "--cert-out",
        ca.to_str().unwrap(),
        "--port-file",
        pf.to_str().unwrap(),
    ]);
    let port: u16 = std::fs::read_to_string(&pf)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(line, format!("listening on https://127.0.0.1:{port}"));
    assert!(std::fs::read_to_string(&ca)
        .unwrap()
        .contains("BEGIN CERTIFICATE"));
    // (Shutdown over HTTP and by signal are checked on plain servers below.)
    child.kill().ok();
    child.wait().ok();

    let (mut child, line) = spawn_serve(&["--port-file", pf.to_str().unwrap()]);
    let port: u16 = std::fs::read_to_string(&pf)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(line, format!("listening on http://127.0.0.1:{port}"));
    let r = fetch(port, "/data/1k", &[]);
    assert_eq!(r.body, expected(0, 0, 0, 1024));
    assert_eq!(fetch(port, "/__shutdown", &[]).status, 200);
    assert!(wait_exit(&mut child).success());
    assert!(!pf.exists(), "port file removed on exit");
    std::fs::remove_dir_all(dir).ok();
}

#[cfg(unix)]
#[test]
fn sigterm_stops_the_server() {
    let (mut child, line) = spawn_serve(&[]);
    let port: u16 = line.rsplit(':').next().unwrap().parse().unwrap();
    // An idle keep-alive connection must not keep the process alive.
    let mut idle = Client::connect(port);
    assert_eq!(idle.get("/data/10").status, 200);
    let st = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    assert!(wait_exit(&mut child).success());
}

#[test]
fn gen_and_verify() {
    let out = Command::new(BIN)
        .args(["gen", "--size", "300000", "--seed", "3", "--version", "2"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout, expected(3, 2, 0, 300000));
    let out2 = Command::new(BIN)
        .args(["gen", "--size", "1k", "--offset", "100"])
        .output()
        .unwrap();
    assert_eq!(out2.stdout, expected(0, 0, 100, 1024));

    let dir = temp_dir("gen");
    let f = dir.join("x.bin");
    std::fs::write(&f, &out.stdout).unwrap();
    let v = |extra: &[&str]| {
        Command::new(BIN)
            .arg("verify")
            .arg(&f)
            .args(extra)
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(
        v(&["--seed", "3", "--version", "2", "--size", "300000"]),
        Some(0)
    );
    assert_eq!(
        v(&["--seed", "3", "--version", "2", "--size", "300001"]),
        Some(1)
    );
    assert_eq!(v(&["--seed", "3"]), Some(1));
    let mut bad = out.stdout.clone();
    bad[123456] ^= 1;
    std::fs::File::create(&f).unwrap().write_all(&bad).unwrap();
    let o = Command::new(BIN)
        .arg("verify")
        .arg(&f)
        .args(["--seed", "3", "--version", "2"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "mismatch at offset 123456"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn root_dir_serves_files_with_ranges() {
    let dir = temp_dir("root");
    std::fs::create_dir_all(dir.join("sub dir")).unwrap();
    let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(dir.join("sub dir/f.bin"), &data).unwrap();
    let srv = TestServer::start_with(Options {
        root_dir: Some(dir.clone()),
        ..Default::default()
    })
    .unwrap();
    let r = fetch(srv.port, "/files/sub%20dir/f.bin", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, data);
    let etag = r.header("ETag").unwrap().to_string();
    assert!(r.header("Last-Modified").is_some());
    let r = fetch(
        srv.port,
        "/files/sub%20dir/f.bin",
        &[("Range", "bytes=99990-"), ("If-Range", &etag)],
    );
    assert_eq!(r.status, 206);
    assert_eq!(r.header("Content-Range"), Some("bytes 99990-99999/100000"));
    assert_eq!(r.body, &data[99990..]);
    let r = fetch(srv.port, "/files/sub%20dir/f.bin?drop=100", &[]);
    assert_eq!((r.end, r.body.as_slice()), (End::Eof, &data[..100]));
    for bad in [
        "/files/../x",
        "/files/sub%20dir/../../etc/passwd",
        "/files/%2Fetc%2Fpasswd",
        "/files/sub%20dir",
        "/files/none",
    ] {
        assert_eq!(fetch(srv.port, bad, &[]).status, 404, "{bad}");
    }
    drop(srv);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn bad_cli_arguments() {
    let o = Command::new(BIN)
        .args(["serve", "--bogus"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let o = Command::new(BIN).args(["gen"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let o = Command::new(BIN).arg("--help").output().unwrap();
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("usage:"));
}
