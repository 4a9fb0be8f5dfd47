//! The `bgcopy` command, run as a process: help, downloads (file:// and HTTP from the in-process
//! test server), error exit codes, JSON output, Ctrl-C, and the job-by-job commands.

use assert_cmd::Command;
use bgcopy_testserver::TestServer;
use serde_json::Value;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

const NOT_FOUND: &str = "0x80200001";

fn bgcopy(state_dir: &Path) -> Command {
    let mut c = Command::cargo_bin("bgcopy").expect("the bgcopy binary");
    c.env_remove("BGCOPY_STATE_DIR")
        .arg("--state-dir")
        .arg(state_dir);
    c.timeout(Duration::from_secs(120));
    c
}

fn memory() -> Command {
    let mut c = Command::cargo_bin("bgcopy").expect("the bgcopy binary");
    c.env_remove("BGCOPY_STATE_DIR")
        .args(["--state-dir", ":memory:"]);
    c.timeout(Duration::from_secs(120));
    c
}

fn signal(child: &std::process::Child, sig: i32) {
    // SAFETY: kill(2) on our own child's pid.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, sig) };
    assert_eq!(rc, 0, "kill({}, {sig})", child.id());
}

fn json_of(out: &[u8]) -> Value {
    let text = String::from_utf8_lossy(out);
    serde_json::from_str(text.trim())
        .unwrap_or_else(|e| panic!("not one JSON object ({e}): {text}"))
}

fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".bgcopy-"))
        .collect()
}

fn assert_content(file: &Path, size: usize, seed: u64) {
    let data = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    assert_eq!(data.len(), size, "{}", file.display());
    assert_eq!(
        bgcopy_testserver::verify_content(seed, 0, 0, &data),
        None,
        "{}",
        file.display()
    );
}

#[test]
fn help_everywhere() {
    let out = memory()
        .arg("--help")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8_lossy(&out);
    for cmd in [
        "get", "create", "addfile", "resume", "suspend", "cancel", "complete", "info", "list",
        "monitor", "serve",
    ] {
        assert!(text.contains(cmd), "--help lacks {cmd}");
        let sub = memory()
            .args([cmd, "--help"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let sub = String::from_utf8_lossy(&sub);
        assert!(sub.contains("Usage: bgcopy"), "{cmd} --help: {sub}");
        assert!(
            sub.contains("--state-dir") && sub.contains("--json"),
            "{cmd} --help lacks the globals"
        );
    }
    memory().arg("--version").assert().success();
    memory().assert().failure().code(2); // no command
    memory().arg("get").assert().failure().code(2); // no URL
}

#[test]
fn get_file_url_is_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("source.bin");
    let data: Vec<u8> = (0..3_000_001u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&src, &data).unwrap();
    let out_dir = dir.path().join("out");
    let out = memory()
        .arg("get")
        .arg(format!("file://{}", src.display()))
        .arg("--output-dir")
        .arg(&out_dir)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8_lossy(&out);
    // stdout is not a terminal here: plain progress lines, then the result
    assert!(text.contains("TRANSFERRED"), "{text}");
    assert!(
        text.contains(&format!("saved {}", out_dir.join("source.bin").display())),
        "{text}"
    );
    assert_eq!(std::fs::read(out_dir.join("source.bin")).unwrap(), data);
    assert!(temp_files(&out_dir).is_empty());
}

#[test]
fn get_http_is_byte_identical_and_json_shape() {
    let srv = TestServer::start(false).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("three.bin");
    let out = memory()
        .arg("--json")
        .arg("get")
        .arg(srv.url("/data/3m/three?seed=9"))
        .arg("-o")
        .arg(&dest)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_content(&dest, 3 << 20, 9);
    let v = json_of(&out);
    assert_eq!(v["result"], "OK");
    assert_eq!(v["hresult"], "0x00000000");
    let job = &v["job"];
    assert_eq!(job["state"], "ACKNOWLEDGED");
    assert_eq!(job["type"], "DOWNLOAD");
    assert_eq!(job["priority"], "FOREGROUND");
    assert!(job["display_name"]
        .as_str()
        .unwrap()
        .starts_with("bgcopy get "));
    assert_eq!(job["id"].as_str().unwrap().len(), 36);
    assert_eq!(job["progress"]["bytes_total"], 3 << 20);
    assert_eq!(job["progress"]["bytes_transferred"], 3 << 20);
    assert_eq!(job["progress"]["files_total"], 1);
    assert_eq!(job["progress"]["files_transferred"], 1);
    assert!(job["error"].is_null());
    assert!(job["times"]["creation_ms"].as_i64().unwrap() > 0);
    assert!(job["times"]["transfer_completion_ms"].as_i64().unwrap() > 0);
    let f = &job["files"][0];
    assert_eq!(f["remote_name"], srv.url("/data/3m/three?seed=9"));
    assert_eq!(f["local_name"], dest.to_str().unwrap());
    assert_eq!(f["completed"], true);
    assert!(f["temp_name"].is_null());
    for key in [
        "minimum_retry_delay_s",
        "no_progress_timeout_s",
        "maximum_download_time_s",
        "notify_flags",
        "security_flags",
        "error_count",
        "description",
    ] {
        assert!(!job[key].is_null(), "job.{key} missing");
    }
}

#[test]
fn get_several_urls_into_a_directory() {
    let srv = TestServer::start(false).unwrap();
    let dir = tempfile::tempdir().unwrap();
    memory()
        .arg("get")
        .arg(srv.url("/data/10k/a.bin?seed=1"))
        .arg(srv.url("/data/20k/b.bin?seed=2"))
        .arg("-d")
        .arg(dir.path())
        .assert()
        .success();
    assert_content(&dir.path().join("a.bin"), 10 << 10, 1);
    assert_content(&dir.path().join("b.bin"), 20 << 10, 2);
}

#[test]
fn get_404_exits_non_zero_with_the_hresult() {
    let srv = TestServer::start(false).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("missing.bin");
    let out = memory()
        .arg("get")
        .arg(srv.url("/no/such/file"))
        .arg("-o")
        .arg(&dest)
        .assert()
        .failure()
        .code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        err.contains("0x80190194") && err.contains("BG_E_HTTP_ERROR_404"),
        "{err}"
    );
    assert!(!dest.exists());
    assert!(
        temp_files(dir.path()).is_empty(),
        "the failed job was not cancelled"
    );

    // the same with --json: an error object on stdout, the job in ERROR
    let out = memory()
        .arg("--json")
        .arg("get")
        .arg(srv.url("/no/such/file"))
        .arg("-o")
        .arg(&dest)
        .assert()
        .failure()
        .code(1);
    let v = json_of(&out.get_output().stdout);
    assert_eq!(v["error"]["hresult"], "0x80190194");
    assert_eq!(v["error"]["code"], -2145844844i64);
    assert_eq!(v["error"]["name"], "BG_E_HTTP_ERROR_404");
    assert!(v["error"]["message"].as_str().unwrap().len() > 5);
    assert_eq!(v["job"]["state"], "ERROR");
    assert_eq!(v["job"]["error"]["context"], "REMOTE_FILE");
    assert_eq!(v["job"]["error"]["http_status"], 404);
    assert_eq!(v["job"]["error"]["file_index"], 0);
}

#[test]
fn usage_and_library_errors() {
    let dir = tempfile::tempdir().unwrap();
    // -o names one file
    memory()
        .args(["get", "http://127.0.0.1:1/a", "http://127.0.0.1:1/b", "-o"])
        .arg(dir.path().join("x"))
        .assert()
        .code(2);
    // no file name in the URL
    memory()
        .args(["get", "http://127.0.0.1:1/"])
        .current_dir(dir.path())
        .assert()
        .code(2);
    // a state directory that is a file
    let file = dir.path().join("plain");
    std::fs::write(&file, "x").unwrap();
    let out = bgcopy(&file).arg("list").assert().code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("BG_E_STATE_DIR_INVALID"), "{err}");
    // an unknown job
    let out = memory()
        .args(["--json", "info", "6f1d2b3c-0000-4000-8000-000000000000"])
        .assert()
        .code(1);
    assert_eq!(
        json_of(&out.get_output().stdout)["error"]["hresult"],
        NOT_FOUND
    );
    // not a GUID
    memory().args(["info", "zz"]).assert().code(1);
    // a bad URL, reported with E_INVALIDARG; nothing is left behind
    let out = memory()
        .args(["get", "ftp://127.0.0.1/x.bin", "-d"])
        .arg(dir.path())
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("0x80070057"), "{err}");
}

#[test]
fn list_and_create_json_shape() {
    let out = memory()
        .args(["--json", "list"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(json_of(&out), serde_json::json!({ "jobs": [] }));
    let out = memory()
        .args([
            "--json",
            "create",
            "named",
            "--priority",
            "low",
            "--description",
            "d",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v = json_of(&out);
    assert_eq!(v["job"]["display_name"], "named");
    assert_eq!(v["job"]["description"], "d");
    assert_eq!(v["job"]["priority"], "LOW");
    assert_eq!(v["job"]["state"], "SUSPENDED");
    assert_eq!(v["job"]["files"], serde_json::json!([]));
    let out = memory()
        .args(["create", "plain"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(String::from_utf8_lossy(&out).trim().len(), 36);
}

/// The job-by-job commands across processes on one state directory (the persistent store).
#[test]
fn job_commands_across_processes() {
    let srv = TestServer::start(false).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let dest = dir.path().join("f.bin");
    let out = bgcopy(&state)
        .args(["--json", "create", "by hand"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let id = json_of(&out)["job"]["id"].as_str().unwrap().to_string();

    let out = bgcopy(&state)
        .args(["--json", "addfile", &id, &srv.url("/data/200k/f?seed=4")])
        .arg(&dest)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v = json_of(&out);
    assert_eq!(v["job"]["files"][0]["local_name"], dest.to_str().unwrap());
    bgcopy(&state).args(["resume", &id[..8]]).assert().success(); // a unique prefix works
                                                                  // transfers run while a process has the queue open: monitor until the job settles
    bgcopy(&state)
        .args(["monitor", &id, "--until-done", "--interval", "50"])
        .assert()
        .success();
    let out = bgcopy(&state)
        .args(["--json", "info", &id])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(json_of(&out)["job"]["state"], "TRANSFERRED");
    let out = bgcopy(&state)
        .args(["--json", "list"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert!(json_of(&out)["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|j| j["id"] == id.as_str()));
    let out = bgcopy(&state)
        .args(["--json", "complete", &id])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(json_of(&out)["result"], "OK");
    assert_content(&dest, 200 << 10, 4);
    bgcopy(&state).args(["info", &id]).assert().code(1); // ended jobs are gone
}

/// Ctrl-C during `get` suspends the job, keeps the temp file and exits 130; running the same
/// command again resumes it with a Range request.
#[test]
fn sigint_suspends_and_a_second_run_resumes() {
    let srv = TestServer::start(false).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let dest = dir.path().join("slow.bin");
    let path = "/data/2m/slow";
    let url = srv.url(path);
    let bin = assert_cmd::cargo::cargo_bin("bgcopy");
    let child = std::process::Command::new(&bin)
        .env_remove("BGCOPY_STATE_DIR")
        .arg("--state-dir")
        .arg(&state)
        .args(["get", &url, "--max-rate", "262144", "-o"])
        .arg(&dest)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // wait for bytes in the temp file
    let start = Instant::now();
    loop {
        let temps = temp_files(dir.path());
        let size = temps.first().map(|t| {
            std::fs::metadata(dir.path().join(t))
                .map(|m| m.len())
                .unwrap_or(0)
        });
        if size.unwrap_or(0) >= 64 * 1024 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no bytes arrived"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    signal(&child, libc::SIGINT);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(130), "stderr: {err}");
    assert!(err.contains("suspended"), "{err}");
    assert!(!dest.exists());
    assert_eq!(
        temp_files(dir.path()).len(),
        1,
        "the temp file must stay for the next run"
    );

    // run it again, faster
    let out = bgcopy(&state)
        .args(["get", &url, "--max-rate", "0", "-o"])
        .arg(&dest)
        .timeout(Duration::from_secs(60))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8_lossy(&out).into_owned();
    assert_content(&dest, 2 << 20, 0);
    assert!(text.contains("resuming job"), "{text}");
    let ranges = srv.stats(path).ranges;
    assert!(
        !ranges.is_empty(),
        "the second run should continue with a Range request"
    );
    assert!(temp_files(dir.path()).is_empty());
}

/// Waits until `info --json` shows `want` (or panics after 30 s).
fn wait_for_state(state: &Path, id: &str, want: &str) {
    let start = Instant::now();
    loop {
        let out = bgcopy(state).args(["--json", "info", id]).output().unwrap();
        if out.status.success() && json_of(&out.stdout)["job"]["state"] == want {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "job {id} never reached {want}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A `bgcopy serve` child, killed if a test fails before stopping it.
struct Serve(Option<std::process::Child>);

impl Drop for Serve {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn spawn_serve(state: &Path) -> Serve {
    Serve(Some(
        std::process::Command::new(assert_cmd::cargo::cargo_bin("bgcopy"))
            .env_remove("BGCOPY_STATE_DIR")
            .arg("--state-dir")
            .arg(state)
            .args(["serve", "--verbose"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    ))
}

/// SIGTERM: serve stops with exit code 0 and says so.
fn stop_serve(mut serve: Serve) -> String {
    let child = serve.0.take().unwrap();
    signal(&child, libc::SIGTERM);
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "serve: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("stopped"), "{text}");
    text
}

/// `serve` holds the queue open: a job queued before it started transfers, and SIGTERM stops
/// it with exit code 0.
#[test]
fn serve_transfers_queued_jobs_until_sigterm() {
    let srv = TestServer::start(false).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let dest = dir.path().join("served.bin");
    let out = bgcopy(&state)
        .args(["create", "served"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let id = String::from_utf8_lossy(&out).trim().to_string();
    bgcopy(&state)
        .args(["addfile", &id, &srv.url("/data/300k/served?seed=6")])
        .arg(&dest)
        .assert()
        .success();
    bgcopy(&state).args(["resume", &id]).assert().success();
    let serve = spawn_serve(&state);
    wait_for_state(&state, &id, "TRANSFERRED");
    let log = stop_serve(serve);
    assert!(
        log.contains(&id),
        "serve --verbose should name the job: {log}"
    );
    bgcopy(&state).args(["complete", &id]).assert().success();
    assert_content(&dest, 300 << 10, 6);
}

/// A job resumed by another process while `serve` holds the engine lease should transfer.
#[test]
fn serve_transfers_a_job_resumed_while_serving() {
    let srv = TestServer::start(false).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let dest = dir.path().join("later.bin");
    let serve = spawn_serve(&state);
    std::thread::sleep(Duration::from_millis(500));
    let out = bgcopy(&state)
        .args(["create", "later"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let id = String::from_utf8_lossy(&out).trim().to_string();
    bgcopy(&state)
        .args(["addfile", &id, &srv.url("/data/300k/later?seed=8")])
        .arg(&dest)
        .assert()
        .success();
    bgcopy(&state).args(["resume", &id]).assert().success();
    wait_for_state(&state, &id, "TRANSFERRED");
    stop_serve(serve);
    bgcopy(&state).args(["complete", &id]).assert().success();
    assert_content(&dest, 300 << 10, 8);
}

/// On a terminal `get` draws a progress bar (indicatif, with cursor control); the test runs it
/// under `script`, which gives it a pseudo-terminal. Off a terminal (every other test) it prints
/// plain lines without escape sequences.
#[test]
fn get_draws_a_progress_bar_on_a_terminal() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: util-linux `script` is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("source.bin");
    let data: Vec<u8> = (0..40_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&src, &data).unwrap();
    let dst = dir.path().join("copy.bin");
    let exe = assert_cmd::cargo::cargo_bin("bgcopy");
    let cmd = format!(
        "{} --state-dir :memory: get file://{} -o {}",
        exe.display(),
        src.display(),
        dst.display()
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("TERM", "xterm")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains('\u{1b}') || text.contains('\r'),
        "no terminal drawing in: {text:?}"
    );
    assert!(
        text.contains("=") && text.contains('['),
        "no bar in: {text:?}"
    );
    assert_eq!(std::fs::read(&dst).unwrap(), data);

    // The same command off a terminal: plain lines only.
    let plain = std::process::Command::new(&exe)
        .args([
            "--state-dir",
            ":memory:",
            "get",
            &format!("file://{}", src.display()),
            "-o",
        ])
        .arg(dir.path().join("copy2.bin"))
        .output()
        .unwrap();
    let plain_text = String::from_utf8_lossy(&plain.stdout);
    assert!(plain.status.success());
    assert!(
        !plain_text.contains('\u{1b}') && !plain_text.contains('\r'),
        "{plain_text:?}"
    );
}
