//! `bgcopy get`: one-shot downloads with a progress display, resumable after an interruption.

use crate::bg::{self, Job, Manager};
use crate::output;
use crate::{absolute, open_manager, GetArgs, Global, Outcome};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Signals that stop `get` (and `monitor`, `serve`): the first sets a flag the loop polls;
/// a second one of the same kind terminates at once (signal-hook's conditional shutdown).
pub struct Signals {
    pub which: Arc<AtomicUsize>,
}

impl Signals {
    pub fn install() -> Signals {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let which = Arc::new(AtomicUsize::new(0));
        for (sig, code) in [(SIGINT, 130), (SIGTERM, 143)] {
            let seen = Arc::new(AtomicBool::new(false));
            // The order matters: the shutdown check runs before the flag is set, so it only
            // fires on the second signal.
            let _ = signal_hook::flag::register_conditional_shutdown(sig, code, seen.clone());
            let _ = signal_hook::flag::register(sig, seen);
            let _ = signal_hook::flag::register_usize(sig, which.clone(), sig as usize);
        }
        Signals { which }
    }

    /// The signal received, if any.
    pub fn received(&self) -> Option<i32> {
        match self.which.load(Ordering::SeqCst) {
            0 => None,
            s => Some(s as i32),
        }
    }
}

/// The name that identifies the job of one `get` command: the same URLs and destinations give
/// the same name, so a second run finds the interrupted job.
pub fn job_name(pairs: &[(String, String)]) -> String {
    // FNV-1a, 64 bits: stable across runs, versions and platforms.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (url, dest) in pairs {
        for b in url.bytes().chain([0u8]).chain(dest.bytes()).chain([0u8]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("bgcopy get {h:016x}")
}

/// The file name a URL's last path segment gives (percent-decoded), if any.
pub fn file_name_of(url: &str) -> Option<String> {
    let name = if url.starts_with('/') {
        Path::new(url).file_name()?.to_string_lossy().into_owned()
    } else {
        let u = url::Url::parse(url).ok()?;
        let seg = u.path_segments()?.next_back()?.to_string();
        percent_encoding::percent_decode_str(&seg)
            .decode_utf8()
            .ok()?
            .into_owned()
    };
    if name.is_empty() || name == "." || name == ".." || name.contains('/') {
        return None;
    }
    Some(name)
}

fn usage_error(text: String) -> bg::Error {
    bg::Error::new(bgcopy::hresult::E_INVALIDARG).with(text)
}

/// (url, absolute destination) for every URL.
fn destinations(args: &GetArgs) -> bg::Result<Vec<(String, String)>> {
    let named = |url: &str, dir: &Path| -> bg::Result<String> {
        let name = file_name_of(url).ok_or_else(|| {
            usage_error(format!(
                "cannot name the file of {url}; give a destination with -o"
            ))
        })?;
        Ok(absolute(&dir.join(name)))
    };
    if let Some(out) = &args.output {
        if out.is_dir() {
            return args
                .urls
                .iter()
                .map(|u| Ok((u.clone(), named(u, out)?)))
                .collect();
        }
        if args.urls.len() != 1 {
            return Err(usage_error(
                "-o names one file: give one URL, or use --output-dir".into(),
            ));
        }
        return Ok(vec![(args.urls[0].clone(), absolute(out))]);
    }
    let dir = match &args.output_dir {
        Some(d) => {
            if !d.exists() {
                std::fs::create_dir_all(d).map_err(|e| {
                    bg::Error::new(bgcopy::hresult::BG_E_WIN32_PATH_NOT_FOUND)
                        .with(format!("creating {}: {e}", d.display()))
                })?;
            }
            d.clone()
        }
        None => PathBuf::from("."),
    };
    let pairs: Vec<(String, String)> = args
        .urls
        .iter()
        .map(|u| Ok((u.clone(), named(u, &dir)?)))
        .collect::<bg::Result<_>>()?;
    let mut seen = std::collections::HashSet::new();
    for (_, d) in &pairs {
        if !seen.insert(d) {
            return Err(usage_error(format!("two URLs would be saved as {d}")));
        }
    }
    Ok(pairs)
}

/// The job this command made earlier (same name and same files), if it is still there.
fn find_existing(m: &Manager, name: &str, pairs: &[(String, String)]) -> bg::Result<Option<Job>> {
    for job in m.jobs()? {
        if job.display_name()? != name {
            continue;
        }
        let files = job.files()?;
        let same = files.len() == pairs.len()
            && files
                .iter()
                .zip(pairs)
                .all(|(f, (u, d))| &f.remote_name == u && &f.local_name == d);
        if same {
            return Ok(Some(job));
        }
    }
    Ok(None)
}

/// Applies the settings given on the command line (to a new job, or to the job found again:
/// e.g. a second run with another --max-rate).
fn configure(job: &Job, args: &GetArgs) -> bg::Result<()> {
    job.set_priority(args.priority.value())?;
    if let Some(s) = args.retry_delay {
        job.set_minimum_retry_delay(s)?;
    }
    if let Some(s) = args.no_progress_timeout {
        job.set_no_progress_timeout(s)?;
    }
    if let Some(r) = args.max_rate {
        job.set_max_rate(r)?;
    }
    Ok(())
}

fn create(m: &Manager, name: &str, pairs: &[(String, String)], args: &GetArgs) -> bg::Result<Job> {
    let job = m.create_job(name)?;
    let setup = || -> bg::Result<()> {
        let mut desc = pairs
            .iter()
            .map(|(u, d)| format!("{u} -> {d}"))
            .collect::<Vec<_>>()
            .join("; ");
        if desc.chars().count() > 1000 {
            desc = desc.chars().take(997).collect::<String>() + "...";
        }
        job.set_description(&desc)?;
        configure(&job, args)?;
        for (u, d) in pairs {
            job.add_file(u, d)?;
        }
        Ok(())
    };
    if let Err(e) = setup() {
        let _ = job.cancel(); // never leave a half-built job behind
        return Err(e);
    }
    Ok(job)
}

/// How progress is shown: a bar on a terminal, plain lines otherwise, nothing with --json/-q.
enum Display {
    Bar(ProgressBar),
    Lines {
        last: Option<Instant>,
        last_state: i32,
        last_bytes: u64,
    },
    Silent,
}

impl Display {
    fn new(g: &Global, args: &GetArgs) -> Display {
        if g.json || args.quiet {
            Display::Silent
        } else if std::io::stdout().is_terminal() {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stdout());
            bar.enable_steady_tick(Duration::from_millis(120));
            Display::Bar(bar)
        } else {
            Display::Lines {
                last: None,
                last_state: -1,
                last_bytes: 0,
            }
        }
    }

    fn update(&mut self, state: i32, p: &bg::Progress, note: Option<&str>) {
        match self {
            Display::Silent => {}
            Display::Bar(bar) => {
                match p.bytes_total {
                    Some(t) if bar.length() != Some(t) => {
                        bar.set_length(t);
                        bar.set_style(
                            ProgressStyle::with_template(
                                "{spinner} {msg:>15} [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} eta {eta}",
                            )
                            .expect("template")
                            .progress_chars("=> "),
                        );
                    }
                    None if bar.length().is_some() => {
                        bar.unset_length();
                        bar.set_style(
                            ProgressStyle::with_template(
                                "{spinner} {msg:>15} {binary_bytes} {binary_bytes_per_sec}",
                            )
                            .expect("template"),
                        );
                    }
                    _ => {}
                }
                bar.set_position(p.bytes_transferred);
                let mut msg = format!(
                    "{} {}/{}",
                    bg::state_name(state),
                    p.files_transferred,
                    p.files_total
                );
                if let Some(n) = note {
                    msg.push_str(": ");
                    msg.push_str(n);
                }
                bar.set_message(msg);
            }
            Display::Lines {
                last,
                last_state,
                last_bytes,
            } => {
                // a line when the state changes, at most one a second while bytes move, and one
                // every 30 s when nothing happens (e.g. waiting to retry)
                let since = last.map_or(Duration::MAX, |t| t.elapsed());
                let moved = p.bytes_transferred != *last_bytes;
                if *last_state != state
                    || (moved && since >= Duration::from_secs(1))
                    || since >= Duration::from_secs(30)
                {
                    let mut line =
                        format!("{:<15} {}", bg::state_name(state), output::progress_text(p));
                    if let Some(n) = note {
                        line.push_str(" - ");
                        line.push_str(n);
                    }
                    println!("{line}");
                    *last = Some(Instant::now());
                    *last_state = state;
                    *last_bytes = p.bytes_transferred;
                }
            }
        }
    }

    fn finish(&mut self) {
        if let Display::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }

    fn say(&self, text: &str) {
        match self {
            Display::Silent => {}
            Display::Bar(bar) => bar.println(text),
            Display::Lines { .. } => println!("{text}"),
        }
    }
}

pub fn run(g: &Global, args: &GetArgs) -> bg::Result<Outcome> {
    let signals = Signals::install();
    let pairs = match destinations(args) {
        Ok(p) => p,
        Err(e) => {
            // a usage problem (no file name, -o with several URLs, ...): exit 2 like clap
            crate::output::print_error(g, &e);
            let usage = e.code == bgcopy::hresult::E_INVALIDARG;
            return Ok(Outcome::Exit(if usage { 2 } else { 1 }));
        }
    };
    let name = job_name(&pairs);
    let m = open_manager(g)?;
    let mut display = Display::new(g, args);

    let job = match find_existing(&m, &name, &pairs)? {
        Some(job) => {
            let p = job.progress()?;
            display.say(&format!(
                "resuming job {} ({}, {} already transferred)",
                job.id(),
                bg::state_name(job.state()?),
                output::bytes(p.bytes_transferred)
            ));
            configure(&job, args)?;
            job
        }
        None => create(&m, &name, &pairs, args)?,
    };
    if job.state()? != bg::STATE_TRANSFERRED {
        job.resume()?;
    }

    loop {
        let (_, state) = job.wait(100)?;
        let p = job.progress()?;
        if let Some(sig) = signals.received() {
            display.finish();
            let _ = job.suspend();
            let code = if sig == signal_hook::consts::SIGTERM {
                143
            } else {
                130
            };
            let text = format!(
                "interrupted: job {} suspended at {}; run the same command again to resume",
                job.id(),
                output::bytes(p.bytes_transferred)
            );
            if g.json {
                output::print_json(&json!({
                    "result": "INTERRUPTED",
                    "signal": sig,
                    "job": output::job_json(&job)?,
                }));
            }
            eprintln!("bgcopy: {text}");
            return Ok(Outcome::Exit(code));
        }
        match state {
            bg::STATE_TRANSFERRED => {
                display.update(state, &p, None);
                display.finish();
                let hr = job
                    .complete()
                    .map_err(|e| e.with(format!("completing job {}", job.id())))?;
                if g.json {
                    output::print_json(&json!({
                        "result": bg::result_name(hr),
                        "hresult": bg::hex(hr),
                        "job": output::job_json(&job)?,
                    }));
                } else if !args.quiet {
                    for f in job.files()? {
                        if f.completed {
                            println!(
                                "saved {} ({})",
                                f.local_name,
                                output::bytes(f.bytes_total.unwrap_or(0))
                            );
                        }
                    }
                }
                return Ok(Outcome::Ok);
            }
            bg::STATE_ERROR => {
                display.finish();
                let err = job.error()?;
                let (code, detail) = match &err {
                    Some(e) => (e.code, e.description.clone()),
                    None => (bgcopy::hresult::E_FAIL, "the job is in ERROR".to_string()),
                };
                let json_job = if g.json {
                    Some(output::job_json(&job)?)
                } else {
                    None
                };
                let kept = if args.keep_on_error {
                    format!(
                        "; job {} kept in ERROR (bgcopy resume/cancel {})",
                        job.id(),
                        job.id()
                    )
                } else {
                    let _ = job.cancel();
                    String::new()
                };
                let e = bg::Error::new(code).with(format!("{detail}{kept}"));
                if let Some(j) = json_job {
                    output::print_json(&json!({ "error": output::error_json(&e), "job": j }));
                }
                eprintln!("bgcopy: error: {e}");
                return Ok(Outcome::Exit(1));
            }
            bg::STATE_ACKNOWLEDGED | bg::STATE_CANCELLED => {
                display.finish();
                return Err(
                    bg::Error::new(bgcopy::hresult::BG_E_INVALID_STATE).with(format!(
                        "job {} was {} by another process",
                        job.id(),
                        bg::state_name(state)
                    )),
                );
            }
            bg::STATE_TRANSIENT_ERROR => {
                let note = job
                    .error()?
                    .map(|e| format!("{}, retrying", bg::code_label(e.code)))
                    .unwrap_or_else(|| "retrying".into());
                display.update(state, &p, Some(&note));
            }
            bg::STATE_SUSPENDED => {
                // suspended by someone else (bgcopy suspend): wait for them to resume it
                display.update(state, &p, Some("suspended by another process"));
            }
            _ => display.update(state, &p, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_stable_and_distinct() {
        let a = vec![("http://h/a".to_string(), "/tmp/a".to_string())];
        let b = vec![("http://h/a".to_string(), "/tmp/b".to_string())];
        assert_eq!(job_name(&a), job_name(&a.clone()));
        assert_ne!(job_name(&a), job_name(&b));
        assert_eq!(job_name(&a).len(), "bgcopy get ".len() + 16);
    }

    #[test]
    fn file_names_from_urls() {
        assert_eq!(
            file_name_of("http://h/dir/file.bin?x=1").as_deref(),
            Some("file.bin")
        );
        assert_eq!(file_name_of("http://h/a%20b").as_deref(), Some("a b"));
        assert_eq!(file_name_of("file:///srv/x.tar").as_deref(), Some("x.tar"));
        assert_eq!(file_name_of("/srv/y.tar").as_deref(), Some("y.tar"));
        assert_eq!(file_name_of("http://h/"), None);
        assert_eq!(file_name_of("http://h/a%2Fb"), None);
    }
}
