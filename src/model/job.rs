//! A job's data: its files, properties, state, error, counters and times. Plain data guarded by
//! the job's lock in `api::job`; the rules that change it live in [`super::state`].

use super::state::{JobState, JobType, Priority};
use super::url::Remote;
use super::Guid;
use crate::hresult::bg_hresult;
use std::path::PathBuf;

/// `BG_SIZE_UNKNOWN`: a size not learned yet.
pub(crate) const SIZE_UNKNOWN: u64 = u64::MAX;

/// Default `BG_NOTIFY_JOB_TRANSFERRED | BG_NOTIFY_JOB_ERROR`.
pub(crate) const DEFAULT_NOTIFY_FLAGS: u32 = 0x3;
/// Every notify flag bgcopy knows (0x1 | 0x2 | 0x4 | 0x8 | 0x10).
pub(crate) const KNOWN_NOTIFY_FLAGS: u32 = 0x1F;
/// Default MinimumRetryDelay: 600 s.
pub(crate) const DEFAULT_MIN_RETRY_DELAY_S: u32 = 600;
/// Default NoProgressTimeout: 1,209,600 s (14 days).
pub(crate) const DEFAULT_NO_PROGRESS_TIMEOUT_S: u32 = 1_209_600;
/// Default minimum notification interval: 500 ms (BITS' MINIMUM_NOTIFICATION_INTERVAL_MS).
pub(crate) const DEFAULT_MIN_NOTIFY_INTERVAL_MS: u32 = 500;
/// Default MaxDownloadTime: 7,776,000 s (90 days).
pub(crate) const DEFAULT_MAX_DOWNLOAD_TIME_S: u32 = 7_776_000;

/// One file of a job.
#[derive(Clone, Debug, Hash)]
pub struct FileRecord {
    /// The remote name as given.
    pub remote_name: String,
    /// The parsed remote name.
    pub remote: Remote,
    /// The destination (absolute).
    pub local_name: PathBuf,
    /// Size, or [`SIZE_UNKNOWN`].
    pub bytes_total: u64,
    /// Bytes in the temp file.
    pub bytes_transferred: u64,
    /// All bytes transferred (counts in FilesTransferred).
    pub transferred: bool,
    /// Renamed into place by Complete (`BG_FILE_PROGRESS.Completed`).
    pub completed: bool,
    /// Thrown away by a Complete that came before the file finished.
    pub discarded: bool,
    /// Complete is renaming this file into place (recorded before the rename, so an engine
    /// that finds it after a crash finishes the rename).
    pub rename_pending: bool,
    /// The temp file beside the destination, once the transfer has created it.
    pub temp_path: Option<PathBuf>,
    /// What the source looked like when the temp file was started, so a resume can tell
    /// whether it still continues the same content.
    pub validator: Option<Validator>,
}

impl FileRecord {
    /// A file as AddFile makes it: nothing transferred, size unknown.
    pub fn new(remote_name: String, remote: Remote, local_name: PathBuf) -> Self {
        FileRecord {
            remote_name,
            remote,
            local_name,
            bytes_total: SIZE_UNKNOWN,
            bytes_transferred: 0,
            transferred: false,
            completed: false,
            discarded: false,
            rename_pending: false,
            temp_path: None,
            validator: None,
        }
    }
}

/// What identifies one version of a remote file (spec §6.3): its size and validators.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Validator {
    /// Size in bytes, when the source said.
    pub size: Option<u64>,
    /// The entity tag, as sent (strong or `W/` weak).
    pub etag: Option<String>,
    /// `Last-Modified` (HTTP) or the modification time in ns (local files).
    pub last_modified: Option<String>,
}

impl Validator {
    /// The value to send in `If-Range`: a strong ETag, else Last-Modified (weak tags cannot be
    /// used for ranges, RFC 9110 §13.1.5).
    pub fn if_range(&self) -> Option<&str> {
        match &self.etag {
            Some(tag) if !tag.starts_with("W/") => Some(tag),
            _ => self.last_modified.as_deref(),
        }
    }

    /// Whether a partial temp file of this version may be continued: only with a known size
    /// and a validator that makes the server refuse to splice another version.
    pub fn resumable(&self) -> bool {
        self.size.is_some() && self.if_range().is_some()
    }
}

/// The error object of a job in ERROR or TRANSIENT_ERROR (spec §4.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobError {
    /// `BG_ERROR_CONTEXT_*`.
    pub context: i32,
    /// The HRESULT.
    pub code: bg_hresult,
    /// The file involved, if any.
    pub file_index: Option<u32>,
    /// A description: the cause and the file's names (never credentials).
    pub description: String,
}

/// Everything about one job.
#[derive(Clone, Debug)]
pub struct JobRecord {
    /// Persistent id.
    pub id: Guid,
    /// Download, upload or upload-reply.
    pub job_type: JobType,
    /// Display name (≤ 256 characters).
    pub display_name: String,
    /// Description (≤ 1,024 characters).
    pub description: String,
    /// Scheduling priority.
    pub priority: Priority,
    /// Current state.
    pub state: JobState,
    /// Files, in the order added.
    pub files: Vec<FileRecord>,
    /// `BG_NOTIFY_*` flags.
    pub notify_flags: u32,
    /// MinimumRetryDelay in seconds.
    pub min_retry_delay_s: u32,
    /// NoProgressTimeout in seconds.
    pub no_progress_timeout_s: u32,
    /// MaxDownloadTime in seconds.
    pub max_download_time_s: u32,
    /// `BG_SSL_*` and `BG_HTTP_REDIRECT_POLICY_*` flags (spec §3.10); 0 by default.
    pub security_flags: u32,
    /// The job's own bandwidth cap, bytes/s (0 = none; bgcopy's addition).
    pub max_rate_bps: u64,
    /// Minimum time between two JobModification events, ms (default 500).
    pub min_notify_interval_ms: u32,
    /// The program run on TRANSFERRED or ERROR when no callback takes the event.
    pub notify_cmd: Option<crate::notify::CommandLine>,
    /// The state for which the command line already ran successfully (reset on leaving it).
    pub notify_cmd_done: Option<JobState>,
    /// The error object, present only in ERROR / TRANSIENT_ERROR.
    pub error: Option<JobError>,
    /// Transitions to (TRANSIENT_)ERROR so far; never reset.
    pub error_count: u32,
    /// Creation time, ms since the epoch.
    pub creation_time: i64,
    /// Last change, ms since the epoch.
    pub modification_time: i64,
    /// When the job entered TRANSFERRED; 0 until then.
    pub transfer_completion_time: i64,
    /// Milliseconds spent in CONNECTING + TRANSFERRING since the last Resume (MaxDownloadTime).
    pub active_ms: u64,
}

impl JobRecord {
    /// A copy of the record with no files (copying none of them).
    pub fn clone_without_files(&self) -> JobRecord {
        let JobRecord {
            id,
            job_type,
            display_name,
            description,
            priority,
            state,
            files: _,
            notify_flags,
            min_retry_delay_s,
            no_progress_timeout_s,
            max_download_time_s,
            security_flags,
            max_rate_bps,
            min_notify_interval_ms,
            notify_cmd,
            notify_cmd_done,
            error,
            error_count,
            creation_time,
            modification_time,
            transfer_completion_time,
            active_ms,
        } = self;
        JobRecord {
            id: *id,
            job_type: *job_type,
            display_name: display_name.clone(),
            description: description.clone(),
            priority: *priority,
            state: *state,
            files: Vec::new(),
            notify_flags: *notify_flags,
            min_retry_delay_s: *min_retry_delay_s,
            no_progress_timeout_s: *no_progress_timeout_s,
            max_download_time_s: *max_download_time_s,
            security_flags: *security_flags,
            max_rate_bps: *max_rate_bps,
            min_notify_interval_ms: *min_notify_interval_ms,
            notify_cmd: notify_cmd.clone(),
            notify_cmd_done: *notify_cmd_done,
            error: error.clone(),
            error_count: *error_count,
            creation_time: *creation_time,
            modification_time: *modification_time,
            transfer_completion_time: *transfer_completion_time,
            active_ms: *active_ms,
        }
    }

    /// A new job (spec §2.2 T1): SUSPENDED, no files, BITS' defaults.
    pub fn new(id: Guid, job_type: JobType, display_name: String, now: i64) -> Self {
        JobRecord {
            id,
            job_type,
            display_name,
            description: String::new(),
            priority: Priority::Normal,
            state: JobState::Suspended,
            files: Vec::new(),
            notify_flags: DEFAULT_NOTIFY_FLAGS,
            min_retry_delay_s: DEFAULT_MIN_RETRY_DELAY_S,
            no_progress_timeout_s: DEFAULT_NO_PROGRESS_TIMEOUT_S,
            max_download_time_s: DEFAULT_MAX_DOWNLOAD_TIME_S,
            security_flags: 0,
            max_rate_bps: 0,
            min_notify_interval_ms: DEFAULT_MIN_NOTIFY_INTERVAL_MS,
            notify_cmd: None,
            notify_cmd_done: None,
            error: None,
            error_count: 0,
            creation_time: now,
            modification_time: now,
            transfer_completion_time: 0,
            active_ms: 0,
        }
    }

    /// Files whose bytes are not all transferred yet (and that Complete has not discarded).
    pub fn untransferred(&self) -> usize {
        self.files
            .iter()
            .filter(|f| !f.transferred && !f.discarded)
            .count()
    }

    /// `BG_JOB_PROGRESS` (spec §4.1): BytesTotal is unknown while any file's size is.
    pub fn progress(&self) -> (u64, u64, u32, u32) {
        let mut total: u64 = 0;
        for f in &self.files {
            if f.bytes_total == SIZE_UNKNOWN {
                total = SIZE_UNKNOWN;
                break;
            }
            total = total.saturating_add(f.bytes_total);
        }
        let transferred = self
            .files
            .iter()
            .map(|f| f.bytes_transferred)
            .fold(0u64, u64::saturating_add);
        let files_done = self.files.iter().filter(|f| f.transferred).count();
        (
            total,
            transferred,
            self.files.len() as u32,
            files_done as u32,
        )
    }

    /// Moves to `state` and stamps the modification time.
    pub fn set_state(&mut self, state: JobState, now: i64) {
        self.state = state;
        self.modification_time = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validators() {
        let strong = Validator {
            size: Some(5),
            etag: Some("\"a\"".into()),
            last_modified: Some("lm".into()),
        };
        assert_eq!(strong.if_range(), Some("\"a\""));
        assert!(strong.resumable());
        let weak = Validator {
            etag: Some("W/\"a\"".into()),
            ..strong.clone()
        };
        assert_eq!(weak.if_range(), Some("lm"));
        let none = Validator {
            size: Some(5),
            etag: Some("W/\"a\"".into()),
            last_modified: None,
        };
        assert!(!none.resumable());
        assert!(!Validator {
            size: None,
            ..strong
        }
        .resumable());
    }

    #[test]
    fn new_job_defaults_and_progress() {
        let mut j = JobRecord::new(Guid::default(), JobType::Download, "n".into(), 5);
        assert_eq!(j.state, JobState::Suspended);
        assert_eq!(j.notify_flags, 0x3);
        assert_eq!(j.priority, Priority::Normal);
        assert_eq!(j.min_retry_delay_s, 600);
        assert_eq!(j.no_progress_timeout_s, 1_209_600);
        assert_eq!(j.progress(), (0, 0, 0, 0));
        let remote = Remote::File {
            paths: vec!["/a".into()],
        };
        j.files
            .push(FileRecord::new("/a".into(), remote.clone(), "/b".into()));
        assert_eq!(j.progress(), (SIZE_UNKNOWN, 0, 1, 0));
        j.files[0].bytes_total = 10;
        j.files[0].bytes_transferred = 10;
        j.files[0].transferred = true;
        j.files
            .push(FileRecord::new("/a".into(), remote, "/c".into()));
        j.files[1].bytes_total = 5;
        assert_eq!(j.progress(), (15, 10, 2, 1));
        assert_eq!(j.untransferred(), 1);
    }
}
