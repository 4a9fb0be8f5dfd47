//! `bgcopy-testserver` command line: `serve`, `gen`, `verify`.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bgcopy_testserver::{content_byte_block, parse_size, Options, TestServer, CHUNK};

const USAGE: &str = "\
usage:
  bgcopy-testserver serve [--port N] [--tls] [--cert-out PATH] [--port-file PATH]
                          [--root-dir DIR] [--lifetime SECS]
      Serve on 127.0.0.1 (port 0 = ephemeral, the default). Prints
      'listening on http(s)://127.0.0.1:PORT' on stdout, writes the CA certificate PEM to
      --cert-out (with --tls) and then the port number to --port-file (both atomically).
      Stops on SIGINT/SIGTERM, GET /__shutdown, or after --lifetime seconds.
  bgcopy-testserver gen --size N [--seed S] [--version V] [--offset O] > file
      Write the bytes that GET /data/<N>?seed=S&version=V serves (from byte O; sizes take k/m/g).
  bgcopy-testserver verify FILE [--size N] [--seed S] [--version V] [--offset O]
      Exit 0 if FILE holds exactly that content (its whole length, or N bytes when --size is given),
      else print the first differing offset and exit 1.
  (no subcommand = serve)
";

static SIGNALLED: AtomicBool = AtomicBool::new(false);

#[cfg(unix)]
fn install_signal_handlers() {
    extern "C" fn on_signal(_sig: i32) {
        SIGNALLED.store(true, Ordering::SeqCst);
    }
    extern "C" {
        fn signal(signum: i32, handler: extern "C" fn(i32)) -> usize;
    }
    const SIGINT: i32 = 2;
    const SIGTERM: i32 = 15;
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
    }
}

#[cfg(not(unix))]
fn install_signal_handlers() {}

struct Args {
    rest: Vec<String>,
}

impl Args {
    fn flag(&mut self, name: &str) -> bool {
        match self.rest.iter().position(|a| a == name) {
            Some(i) => {
                self.rest.remove(i);
                true
            }
            None => false,
        }
    }
    fn value(&mut self, name: &str) -> Result<Option<String>, String> {
        let eq = format!("{name}=");
        if let Some(i) = self.rest.iter().position(|a| a.starts_with(&eq)) {
            let v = self.rest.remove(i)[eq.len()..].to_string();
            return Ok(Some(v));
        }
        match self.rest.iter().position(|a| a == name) {
            Some(i) if i + 1 < self.rest.len() => {
                self.rest.remove(i);
                Ok(Some(self.rest.remove(i)))
            }
            Some(_) => Err(format!("{name} needs a value")),
            None => Ok(None),
        }
    }
    fn num(&mut self, name: &str) -> Result<Option<u64>, String> {
        match self.value(name)? {
            None => Ok(None),
            Some(v) => parse_size(&v)
                .map(Some)
                .ok_or_else(|| format!("{name}: not a number: {v}")),
        }
    }
    fn finish(&self) -> Result<(), String> {
        match self.rest.first() {
            Some(a) => Err(format!("unexpected argument: {a}")),
            None => Ok(()),
        }
    }
}

fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp.{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

fn serve(mut a: Args) -> Result<(), String> {
    let tls = a.flag("--tls");
    let port = a.num("--port")?.unwrap_or(0);
    let port = u16::try_from(port).map_err(|_| "--port: out of range".to_string())?;
    let cert_out = a.value("--cert-out")?.map(PathBuf::from);
    let port_file = a.value("--port-file")?.map(PathBuf::from);
    let root_dir = a.value("--root-dir")?.map(PathBuf::from);
    let lifetime = a.num("--lifetime")?.map(Duration::from_secs);
    a.finish()?;
    if cert_out.is_some() && !tls {
        return Err("--cert-out needs --tls".into());
    }
    if let Some(d) = &root_dir {
        if !d.is_dir() {
            return Err(format!("--root-dir {}: not a directory", d.display()));
        }
    }

    install_signal_handlers();
    let mut server = TestServer::start_with(Options {
        tls,
        port,
        root_dir,
    })
    .map_err(|e| format!("cannot start: {e}"))?;
    if let (Some(path), Some(pem)) = (&cert_out, &server.cert_pem) {
        write_atomic(path, pem.as_bytes())
            .map_err(|e| format!("--cert-out {}: {e}", path.display()))?;
    }
    if let Some(path) = &port_file {
        write_atomic(path, format!("{}\n", server.port).as_bytes())
            .map_err(|e| format!("--port-file {}: {e}", path.display()))?;
    }
    {
        let mut out = io::stdout().lock();
        let _ = writeln!(out, "listening on {}", server.base_url);
        let _ = out.flush();
    }

    let started = Instant::now();
    while !server.stop_requested() && !SIGNALLED.load(Ordering::SeqCst) {
        if lifetime.is_some_and(|l| started.elapsed() >= l) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    server.stop();
    if let Some(path) = &port_file {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

fn gen(mut a: Args) -> Result<(), String> {
    let size = a.num("--size")?.ok_or("gen needs --size")?;
    let seed = a.num("--seed")?.unwrap_or(0);
    let version = a.num("--version")?.unwrap_or(0);
    let offset = a.num("--offset")?.unwrap_or(0);
    a.finish()?;
    let mut out = io::stdout().lock();
    let mut buf = vec![0u8; CHUNK];
    let mut pos = offset;
    let end = offset
        .checked_add(size)
        .ok_or("--offset + --size overflows")?;
    while pos < end {
        let n = ((end - pos) as usize).min(CHUNK);
        content_byte_block(seed, version, pos, &mut buf[..n]);
        match out.write_all(&buf[..n]) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
            Err(e) => return Err(format!("write: {e}")),
        }
        pos += n as u64;
    }
    out.flush().map_err(|e| format!("write: {e}"))
}

fn verify(mut a: Args) -> Result<bool, String> {
    let size = a.num("--size")?;
    let seed = a.num("--seed")?.unwrap_or(0);
    let version = a.num("--version")?.unwrap_or(0);
    let offset = a.num("--offset")?.unwrap_or(0);
    if a.rest.len() != 1 {
        return Err("verify needs exactly one FILE".into());
    }
    let file = PathBuf::from(a.rest.remove(0));
    let mut f = std::fs::File::open(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    let mut got = vec![0u8; CHUNK];
    let mut want = vec![0u8; CHUNK];
    let mut pos = 0u64;
    loop {
        let mut n = 0;
        while n < CHUNK {
            match f.read(&mut got[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("{}: {e}", file.display())),
            }
        }
        if n == 0 {
            break;
        }
        content_byte_block(seed, version, offset + pos, &mut want[..n]);
        if let Some(i) = got[..n].iter().zip(&want[..n]).position(|(g, w)| g != w) {
            println!("mismatch at offset {}", pos + i as u64);
            return Ok(false);
        }
        pos += n as u64;
    }
    if let Some(s) = size {
        if pos != s {
            println!("size mismatch: file has {pos} bytes, expected {s}");
            return Ok(false);
        }
    }
    Ok(true)
}

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args
        .iter()
        .any(|a| a == "-h" || a == "--help" || a == "help")
    {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let cmd = if args.first().is_some_and(|a| !a.starts_with('-')) {
        args.remove(0)
    } else {
        "serve".into()
    };
    let a = Args { rest: args };
    let r = match cmd.as_str() {
        "serve" => serve(a).map(|_| true),
        "gen" => gen(a).map(|_| true),
        "verify" => verify(a),
        other => Err(format!("unknown command: {other}\n{USAGE}")),
    };
    match r {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("bgcopy-testserver: {e}");
            ExitCode::from(2)
        }
    }
}
