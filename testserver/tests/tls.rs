//! HTTPS with the generated certificate.

mod common;
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use bgcopy_testserver::TestServer;
use common::*;
use rustls::pki_types::{CertificateDer, ServerName};

fn tls_client(
    srv: &TestServer,
    name: &str,
) -> Client<rustls::StreamOwned<rustls::ClientConnection, TcpStream>> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(srv.ca_der.clone().unwrap()))
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let conn = rustls::ClientConnection::new(
        Arc::new(cfg),
        ServerName::try_from(name.to_string()).unwrap(),
    )
    .unwrap();
    let tcp = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    Client::new(rustls::StreamOwned::new(conn, tcp))
}

#[test]
fn https_serves_verified_content() {
    let srv = TestServer::start(true).unwrap();
    assert!(srv.base_url.starts_with("https://127.0.0.1:"));
    let pem = srv.cert_pem.as_ref().unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    for name in ["127.0.0.1", "localhost"] {
        let mut c = tls_client(&srv, name);
        let r = c.get("/data/300000?seed=9");
        assert_eq!(r.status, 200);
        assert_eq!(r.body, expected(9, 0, 0, 300000));
        // keep-alive + range over TLS
        let r = c.request("GET", "/data/300000?seed=9", &[("Range", "bytes=-100")]);
        assert_eq!(r.status, 206);
        assert_eq!(r.body, expected(9, 0, 299900, 100));
    }
    assert_eq!(srv.stats("/data/300000").requests, 4);
}

#[test]
fn https_faults() {
    let srv = TestServer::start(true).unwrap();
    let mut c = tls_client(&srv, "127.0.0.1");
    let r = c.get("/data/100000?drop=5000");
    assert_eq!((r.end, r.body.len()), (End::Eof, 5000));
    let mut c = tls_client(&srv, "127.0.0.1");
    let r = c.get("/data/3000?no_length=1");
    assert_eq!((r.end, r.body.len()), (End::Eof, 3000));
    let mut c = tls_client(&srv, "localhost");
    let r = c.get("/data/70000?chunked=1");
    assert_eq!((r.end, r.body), (End::Complete, expected(0, 0, 0, 70000)));
}

#[test]
fn untrusted_client_is_rejected() {
    let srv = TestServer::start(true).unwrap();
    let other = TestServer::start(true).unwrap();
    // A client trusting a different CA must fail the handshake.
    let mut c = tls_client(&other, "127.0.0.1");
    let tcp = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    c.s.sock = tcp;
    use std::io::Write;
    let res =
        c.s.write_all(b"GET /data/1 HTTP/1.1\r\nHost: x\r\n\r\n")
            .and_then(|_| c.s.flush());
    let mut buf = [0u8; 16];
    let read = std::io::Read::read(&mut c.s, &mut buf);
    assert!(
        res.is_err() || read.is_err(),
        "handshake with the wrong CA must fail"
    );
}

/// libcurl (OpenSSL) accepts the PEM as CAINFO, checked with the curl CLI when it exists.
#[test]
fn curl_cli_trusts_cert_out_pem() {
    if std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("curl CLI not found; skipping");
        return;
    }
    let srv = TestServer::start(true).unwrap();
    let dir = temp_dir("curl");
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, srv.cert_pem.as_ref().unwrap()).unwrap();
    for host in ["127.0.0.1", "localhost"] {
        let out = std::process::Command::new("curl")
            .args(["-sS", "--noproxy", "*", "--cacert"])
            .arg(&ca)
            .arg(format!("https://{host}:{}/data/1000?seed=3", srv.port))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "curl failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.stdout, expected(3, 0, 0, 1000));
    }
    std::fs::remove_dir_all(dir).ok();
}
