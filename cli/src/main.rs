//! `bgcopy`: BITS-style background downloads from the command line.
//!
//! One-shot: `bgcopy get URL... [-o DEST | --output-dir DIR]` creates (or finds again) a job,
//! transfers it with a progress display, and completes it. Job by job, like bitsadmin:
//! `create`, `addfile`, `resume`, `suspend`, `cancel`, `complete`, `info`, `list`, `monitor`,
//! and `serve`, a process that keeps the queue open so queued jobs transfer.
//!
//! Exit codes: 0 success; 1 a bgcopy call or the job failed (the HRESULT is printed);
//! 2 usage errors; 130 / 143 `get` was interrupted by SIGINT / SIGTERM (the job is suspended
//! and its temp files kept, so running the same command again resumes it).

mod bg;
mod get;
mod output;
mod watch;

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

/// BITS-style background downloads (HTTP(S), file://) that survive interruptions.
#[derive(Parser, Debug)]
#[command(name = "bgcopy", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct Global {
    /// State directory of the job queue (created if missing; ":memory:" keeps nothing).
    /// Default: $XDG_STATE_HOME/bgcopy, else ~/.local/state/bgcopy.
    #[arg(long, global = true, env = "BGCOPY_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<String>,
    /// Print machine-readable JSON on stdout (one object; `monitor` prints one per line).
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Download URLs now: create (or find again) a job, show progress, complete it.
    ///
    /// The job is named after the URLs and destinations, so running the same command again
    /// after an interruption (Ctrl-C suspends the job and keeps its temp files) resumes it.
    Get(GetArgs),
    /// Create an empty job (SUSPENDED) and print its GUID.
    Create {
        /// Display name of the job.
        name: String,
        /// Description of the job.
        #[arg(long)]
        description: Option<String>,
        /// Priority of the job.
        #[arg(long, value_enum)]
        priority: Option<PriorityArg>,
    },
    /// Add a file to a job: URL (http://, https://, file:// or an absolute path) -> DEST.
    #[command(name = "addfile", visible_alias = "add-file")]
    AddFile {
        /// The job's GUID (or a unique prefix of it).
        guid: String,
        /// The source: http://, https://, file:// or an absolute local path.
        url: String,
        /// The destination file (its directory must exist).
        dest: PathBuf,
    },
    /// Queue a job for transfer (transfers run while a bgcopy process has the queue open).
    Resume {
        /// The job's GUID (or a unique prefix of it).
        guid: String,
    },
    /// Suspend a job, keeping the bytes transferred so far.
    Suspend {
        /// The job's GUID (or a unique prefix of it).
        guid: String,
    },
    /// Cancel a job: delete its temp files and end it.
    Cancel {
        /// The job's GUID (or a unique prefix of it).
        guid: String,
    },
    /// Complete a job: move its transferred files into place and end it.
    Complete {
        /// The job's GUID (or a unique prefix of it).
        guid: String,
    },
    /// Show everything about a job.
    Info {
        /// The job's GUID (or a unique prefix of it).
        guid: String,
    },
    /// List the jobs not yet completed or cancelled.
    List,
    /// Watch jobs (all, or one) and show their progress until interrupted.
    Monitor {
        /// Only this job (GUID or a unique prefix).
        guid: Option<String>,
        /// Refresh interval in milliseconds.
        #[arg(long, default_value_t = 500, value_name = "MS")]
        interval: u64,
        /// Stop once the job (or every job) is TRANSFERRED, in ERROR or ended.
        #[arg(long)]
        until_done: bool,
    },
    /// Keep the job queue open so queued jobs transfer, until SIGTERM or SIGINT.
    Serve {
        /// Print a line whenever a job changes state.
        #[arg(short, long)]
        verbose: bool,
    },
}

#[derive(Args, Debug)]
pub struct GetArgs {
    /// URLs to download (http://, https://, file:// or absolute local paths).
    #[arg(required = true, value_name = "URL")]
    pub urls: Vec<String>,
    /// Destination file (one URL only; an existing directory receives the URL's file name).
    #[arg(
        short = 'o',
        long = "output",
        value_name = "DEST",
        conflicts_with = "output_dir"
    )]
    pub output: Option<PathBuf>,
    /// Directory for the files, named after the URLs (created if missing). Default: the
    /// current directory.
    #[arg(short = 'd', long = "output-dir", value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// Priority of the job.
    #[arg(long, value_enum, default_value_t = PriorityArg::Foreground)]
    pub priority: PriorityArg,
    /// Seconds between retries after a transient error (BITS' MinimumRetryDelay).
    #[arg(long, value_name = "SECS")]
    pub retry_delay: Option<u32>,
    /// Seconds without progress after which a transient error becomes fatal.
    #[arg(long, value_name = "SECS")]
    pub no_progress_timeout: Option<u32>,
    /// Bandwidth cap of the job in bytes per second (0: none).
    #[arg(long, value_name = "BPS")]
    pub max_rate: Option<u64>,
    /// On a fatal error keep the job (in ERROR, with its temp files) instead of cancelling it.
    #[arg(long)]
    pub keep_on_error: bool,
    /// No progress output (errors are still printed).
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PriorityArg {
    Foreground,
    High,
    Normal,
    Low,
}

impl PriorityArg {
    pub fn value(self) -> i32 {
        match self {
            PriorityArg::Foreground => bgcopy::ffi::BG_JOB_PRIORITY_FOREGROUND,
            PriorityArg::High => bgcopy::ffi::BG_JOB_PRIORITY_HIGH,
            PriorityArg::Normal => bgcopy::ffi::BG_JOB_PRIORITY_NORMAL,
            PriorityArg::Low => bgcopy::ffi::BG_JOB_PRIORITY_LOW,
        }
    }
}

/// How a command ended: success, a failure to report, or a signal.
pub enum Outcome {
    Ok,
    Failed(bg::Error),
    Exit(u8),
}

impl From<bg::Error> for Outcome {
    fn from(e: bg::Error) -> Self {
        Outcome::Failed(e)
    }
}

/// The state directory argument made absolute (the library wants absolute paths).
pub fn state_dir(g: &Global) -> Option<String> {
    let d = g.state_dir.as_deref()?;
    if d == ":memory:" || d.starts_with('/') {
        return Some(d.to_string());
    }
    let abs = std::env::current_dir()
        .map(|c| c.join(d))
        .unwrap_or_else(|_| PathBuf::from(d));
    Some(abs.to_string_lossy().into_owned())
}

pub fn open_manager(g: &Global) -> bg::Result<bg::Manager> {
    bg::Manager::open(state_dir(g).as_deref())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match run(&cli) {
        Ok(o) => o,
        Err(e) => Outcome::Failed(e),
    };
    match outcome {
        Outcome::Ok => ExitCode::SUCCESS,
        Outcome::Exit(code) => ExitCode::from(code),
        Outcome::Failed(e) => {
            output::print_error(&cli.global, &e);
            ExitCode::from(1)
        }
    }
}

fn run(cli: &Cli) -> bg::Result<Outcome> {
    let g = &cli.global;
    match &cli.command {
        Command::Get(args) => get::run(g, args),
        Command::Create {
            name,
            description,
            priority,
        } => {
            let m = open_manager(g)?;
            let job = m.create_job(name)?;
            if let Some(d) = description {
                job.set_description(d)?;
            }
            if let Some(p) = priority {
                job.set_priority(p.value())?;
            }
            if g.json {
                output::print_json(&serde_json::json!({ "job": output::job_json(&job)? }));
            } else {
                println!("{}", job.id());
            }
            Ok(Outcome::Ok)
        }
        Command::AddFile { guid, url, dest } => {
            let m = open_manager(g)?;
            let job = find_job(&m, guid)?;
            let dest = absolute(dest);
            job.add_file(url, &dest)?;
            report_job(
                g,
                &job,
                &format!("added {url} -> {dest} to job {}", job.id()),
            )
        }
        Command::Resume { guid } => {
            let m = open_manager(g)?;
            let job = find_job(&m, guid)?;
            job.resume()?;
            report_job(
                g,
                &job,
                &format!(
                    "job {} queued ({}); it transfers while a bgcopy process (serve, monitor, get) has the queue open",
                    job.id(),
                    bg::state_name(job.state()?)
                ),
            )
        }
        Command::Suspend { guid } => {
            let m = open_manager(g)?;
            let job = find_job(&m, guid)?;
            job.suspend()?;
            report_job(g, &job, &format!("job {} suspended", job.id()))
        }
        Command::Cancel { guid } => {
            let m = open_manager(g)?;
            let job = find_job(&m, guid)?;
            let hr = job.cancel()?;
            report_result(g, &job, hr, "cancelled")
        }
        Command::Complete { guid } => {
            let m = open_manager(g)?;
            let job = find_job(&m, guid)?;
            let hr = job.complete()?;
            report_result(g, &job, hr, "completed")
        }
        Command::Info { guid } => {
            let m = open_manager(g)?;
            let job = find_job(&m, guid)?;
            if g.json {
                output::print_json(&serde_json::json!({ "job": output::job_json(&job)? }));
            } else {
                output::print_info(&job)?;
            }
            Ok(Outcome::Ok)
        }
        Command::List => {
            let m = open_manager(g)?;
            let jobs = m.jobs()?;
            if g.json {
                let list = jobs
                    .iter()
                    .map(output::job_json)
                    .collect::<bg::Result<Vec<_>>>()?;
                output::print_json(&serde_json::json!({ "jobs": list }));
            } else {
                output::print_list(&jobs)?;
            }
            Ok(Outcome::Ok)
        }
        Command::Monitor {
            guid,
            interval,
            until_done,
        } => watch::monitor(g, guid.as_deref(), *interval, *until_done),
        Command::Serve { verbose } => watch::serve(g, *verbose),
    }
}

fn report_job(g: &Global, job: &bg::Job, text: &str) -> bg::Result<Outcome> {
    if g.json {
        output::print_json(&serde_json::json!({ "job": output::job_json(job)? }));
    } else {
        println!("{text}");
    }
    Ok(Outcome::Ok)
}

fn report_result(g: &Global, job: &bg::Job, hr: i32, verb: &str) -> bg::Result<Outcome> {
    if g.json {
        output::print_json(&serde_json::json!({
            "result": bg::result_name(hr),
            "hresult": bg::hex(hr),
            "job": output::job_json(job)?,
        }));
    } else {
        let note = match bg::result_name(hr) {
            "OK" => String::new(),
            _ => format!(" ({}: {})", bg::code_label(hr), bg::message(hr)),
        };
        println!("job {} {verb}{note}", job.id());
    }
    Ok(Outcome::Ok)
}

/// Finds a job by GUID, or by a unique prefix (at least 4 characters) of one.
pub fn find_job(m: &bg::Manager, text: &str) -> bg::Result<bg::Job> {
    if let Ok(id) = bg::Guid::parse(text) {
        return m.get_job(id);
    }
    let needle = text.trim_start_matches('{').to_ascii_lowercase();
    if needle.len() >= 4 && needle.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        let hits: Vec<bg::Guid> = m
            .job_ids()?
            .into_iter()
            .filter(|id| id.to_string().starts_with(&needle))
            .collect();
        match hits.len() {
            1 => return m.get_job(hits[0]),
            0 => {
                return Err(bg::Error::new(bgcopy::hresult::BG_E_NOT_FOUND)
                    .with(format!("no job whose GUID starts with {text}")))
            }
            n => {
                return Err(bg::Error::new(bgcopy::hresult::E_INVALIDARG)
                    .with(format!("{n} jobs have GUIDs starting with {text}")))
            }
        }
    }
    Err(bg::Error::new(bgcopy::hresult::E_INVALIDARG).with(format!("not a job GUID: {text:?}")))
}

pub fn absolute(p: &std::path::Path) -> String {
    if p.is_absolute() {
        return p.to_string_lossy().into_owned();
    }
    std::env::current_dir()
        .map(|c| c.join(p))
        .unwrap_or_else(|_| p.to_path_buf())
        .to_string_lossy()
        .into_owned()
}
