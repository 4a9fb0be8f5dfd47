//! Job handles and the BITS job methods: each checks the method × state matrix, changes the
//! record under the job lock, and does any file work (Complete, Cancel) outside it.

use super::manager::Manager;
use super::persist;
use crate::engine::{Job, Runtime};
use crate::fsx;
use crate::hresult::{
    bg_hresult, hresult_from_io, Error, Result, BG_S_PARTIAL_COMPLETE, BG_S_UNABLE_TO_DELETE_FILES,
    S_OK,
};
use crate::model::job::{FileRecord, JobError, KNOWN_NOTIFY_FLAGS};
use crate::model::limits::{check_len, DESCRIPTION_MAX, DISPLAY_NAME_MAX};
use crate::model::state::{self, Method};
use crate::model::url::{check_local_syntax, parse_remote};
use crate::model::{now_ms, Guid, JobState, JobType, Priority};
use parking_lot::MutexGuard;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a `bg_job` handle holds: the job and the manager it was opened through.
pub struct JobRef {
    /// The job.
    pub job: Arc<Job>,
    /// Its manager (kept alive while the handle is).
    pub manager: Arc<Manager>,
}

/// `BG_FILE_PROGRESS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileProgress {
    /// Size, or `BG_SIZE_UNKNOWN`.
    pub bytes_total: u64,
    /// Bytes transferred.
    pub bytes_transferred: u64,
    /// Renamed into place by Complete.
    pub completed: bool,
}

/// `BG_JOB_PROGRESS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JobProgress {
    /// Sum of the files' sizes, or `BG_SIZE_UNKNOWN`.
    pub bytes_total: u64,
    /// Bytes transferred.
    pub bytes_transferred: u64,
    /// Files in the job.
    pub files_total: u32,
    /// Files whose bytes are all transferred.
    pub files_transferred: u32,
}

fn checked<'a>(job: &'a Job, method: Method) -> Result<MutexGuard<'a, Runtime>> {
    let rt = job.lock();
    state::check(method, job.job_type, rt.rec.state)?;
    Ok(rt)
}

impl JobRef {
    fn engine_wake(&self) {
        self.manager.engine().wake();
    }

    /// Applies a change: checks the method × state matrix on the freshest record, runs `f`,
    /// stamps the modification time and, for a state directory, writes the job to the store in
    /// one transaction before returning (merging first what another process wrote). The job
    /// lock is held while the rows are written into the open transaction, so that a failed
    /// write can put the record back exactly as it was (the engine's own writes, on the sync
    /// thread, copy the rows and write them without it); the commit's fsync happens after it
    /// is released. A failed `f` changes nothing.
    fn mutate<T>(&self, method: Method, f: impl FnOnce(&mut Runtime) -> Result<T>) -> Result<T> {
        let out = match self.manager.persist() {
            None => {
                let mut rt = self.job.lock();
                state::check(method, self.job.job_type, rt.rec.state)?;
                let out = f(&mut rt)?;
                rt.rec.modification_time = now_ms();
                rt.changes += 1;
                out
            }
            Some(p) => {
                let mut leftovers = Vec::new();
                let result = p.store.transaction(|tx| {
                    // Read the stored job back only when another process changed it.
                    let rev = tx.rev(&self.job.id)?;
                    let db = match rev {
                        Some(rev) if rev != self.job.lock().rev => tx.load(&self.job.id)?,
                        _ => None,
                    };
                    let mut rt = self.job.lock();
                    if let Some(db) = db {
                        if db.rev != rt.rev {
                            leftovers = persist::merge(&mut rt, db);
                        }
                    }
                    state::check(method, self.job.job_type, rt.rec.state)?;
                    let before = rt.rec.clone();
                    let out = f(&mut rt)?;
                    rt.rec.modification_time = now_ms();
                    rt.changes += 1;
                    let rev = rt.rev + 1;
                    let mut written = std::mem::take(&mut rt.written);
                    if let Err(e) = tx.save(&rt.rec, rev, &mut written) {
                        rt.rec = before;
                        rt.rescan_files = true;
                        return Err(e);
                    }
                    rt.written = written;
                    rt.rev = rev;
                    rt.saved_state = rt.rec.state;
                    rt.saved_gen = rt.dirty_gen;
                    rt.progress_dirty = false;
                    Ok(out)
                });
                persist::finish_ended(&self.job, leftovers);
                match result {
                    Ok(out) => out,
                    Err(e) => {
                        self.job.lock().written.clear();
                        // A failed commit leaves memory ahead of the store: the sync thread
                        // finds the revisions differ and reads the store's truth back.
                        persist::mark_unsaved(&mut self.job.lock());
                        p.touch(&self.job);
                        self.job.notify();
                        return Err(e);
                    }
                }
            }
        };
        self.job.notify();
        Ok(out)
    }

    /// A setter: `f` changes a property (setters are refused only in the final states).
    fn set(&self, f: impl FnOnce(&mut Runtime)) -> Result<bg_hresult> {
        self.mutate(Method::SetProperty, |rt| {
            f(rt);
            Ok(S_OK)
        })
    }

    /// Reads the record.
    fn get<T>(&self, f: impl FnOnce(&Runtime) -> T) -> T {
        f(&self.job.lock())
    }

    /// AddFile (spec §3.2): validates both names, then appends the file.
    pub fn add_file(&self, remote_url: &str, local_path: &str) -> Result<bg_hresult> {
        self.add_files(&[(remote_url, local_path)])
    }

    /// AddFileSet (spec §3.2): validates every pair first, then appends them all in one
    /// change (one commit for a state directory); any invalid pair adds none of them.
    pub fn add_files(&self, pairs: &[(&str, &str)]) -> Result<bg_hresult> {
        if pairs.is_empty() {
            // A no-op, but the method must still be allowed in the job's state.
            let rt = self.job.lock();
            state::check(Method::AddFile, self.job.job_type, rt.rec.state)?;
            return Ok(S_OK);
        }
        let mut files = Vec::with_capacity(pairs.len());
        // A set of files usually goes to one directory: check it once.
        let mut checked_dir: Option<fsx::DirProbe> = None;
        for (remote_url, local_path) in pairs {
            let remote = parse_remote(remote_url)?;
            check_local_syntax(local_path)?;
            let local = PathBuf::from(local_path);
            check_destination(&local, &mut checked_dir, pairs.len())?;
            files.push(FileRecord::new(remote_url.to_string(), remote, local));
        }
        self.mutate(Method::AddFile, |rt| {
            rt.rec.files.extend(files);
            Ok(S_OK)
        })
    }

    /// Number of files.
    pub fn file_count(&self) -> u32 {
        self.get(|rt| rt.rec.files.len() as u32)
    }

    fn file<T>(&self, index: u32, f: impl FnOnce(&FileRecord) -> T) -> Result<T> {
        let rt = self.job.lock();
        rt.rec
            .files
            .get(index as usize)
            .map(f)
            .ok_or(Error::InvalidArg("file index out of range"))
    }

    /// `BG_FILE_PROGRESS` of file `index` (`E_INVALIDARG` when out of range).
    pub fn file_progress(&self, index: u32) -> Result<FileProgress> {
        self.file(index, |f| FileProgress {
            bytes_total: f.bytes_total,
            bytes_transferred: f.bytes_transferred,
            completed: f.completed,
        })
    }

    /// The remote name of file `index`.
    pub fn file_remote_name(&self, index: u32) -> Result<String> {
        self.file(index, |f| f.remote_name.clone())
    }

    /// The local name of file `index`.
    pub fn file_local_name(&self, index: u32) -> Result<String> {
        self.file(index, |f| f.local_name.to_string_lossy().into_owned())
    }

    /// The temp file of file `index` (BITS File3::GetTemporaryName); `None` before the transfer
    /// created it or after Complete/Cancel removed it.
    pub fn file_temp_name(&self, index: u32) -> Result<Option<String>> {
        self.file(index, |f| {
            f.temp_path
                .as_ref()
                .map(|p| p.to_string_lossy().into_owned())
        })
    }

    /// Resume (T2–T4): QUEUED when there is something to transfer; `BG_E_EMPTY` without files.
    pub fn resume(&self) -> Result<bg_hresult> {
        self.mutate(Method::Resume, |rt| {
            let target = state::resume(rt.rec.state, rt.rec.files.len(), rt.rec.untransferred())?;
            if let Some(target) = target {
                rt.rec.error = None;
                rt.rec.active_ms = 0;
                rt.retry_at = None;
                rt.set_state(target, now_ms());
            }
            Ok(())
        })?;
        self.engine_wake();
        Ok(S_OK)
    }

    /// Suspend (T20): stops the transfer; the temp file stays for a later Resume.
    pub fn suspend(&self) -> Result<bg_hresult> {
        self.mutate(Method::Suspend, |rt| {
            if let Some(target) = state::suspend(rt.rec.state)? {
                rt.stop_run();
                rt.set_state(target, now_ms());
            }
            Ok(())
        })?;
        self.engine_wake();
        Ok(S_OK)
    }

    /// Claims the job's files for Complete or Cancel: waits for any other such call, stops the
    /// transfer and waits until it has let go of its temp file. Runs `body`, then releases.
    fn with_files_claimed<T>(&self, method: Method, body: impl FnOnce() -> Result<T>) -> Result<T> {
        {
            let mut rt = checked(&self.job, method)?;
            self.job.claim_files(&mut rt);
        }
        let out = body();
        self.job.release_files(&mut self.job.lock());
        self.engine_wake();
        out
    }

    /// Cancel (spec §2.5): stops the transfer and deletes the job's temp files and nothing
    /// else. `S_OK`, or `BG_S_UNABLE_TO_DELETE_FILES` when a temp file could not be removed.
    /// CANCELLED is durable before the files are deleted (a crash in between leaves only temp
    /// files of an ended job, which the next engine removes).
    pub fn cancel(&self) -> Result<bg_hresult> {
        self.with_files_claimed(Method::Cancel, || {
            let temps = self.mutate(Method::Cancel, |rt| {
                rt.rec.error = None;
                rt.retry_at = None;
                rt.set_state(JobState::Cancelled, now_ms());
                Ok(rt
                    .rec
                    .files
                    .iter()
                    .enumerate()
                    .filter_map(|(i, f)| f.temp_path.clone().map(|t| (i, t)))
                    .collect::<Vec<_>>())
            })?;
            let mut undeleted = Vec::new();
            for (i, t) in &temps {
                if fsx::remove_temp(t).is_err() {
                    undeleted.push(*i);
                }
            }
            let mut rt = self.job.lock();
            for (i, f) in rt.rec.files.iter_mut().enumerate() {
                if !undeleted.contains(&i) {
                    f.temp_path = None;
                }
            }
            rt.mark_dirty();
            drop(rt);
            self.touch();
            Ok(if undeleted.is_empty() {
                S_OK
            } else {
                BG_S_UNABLE_TO_DELETE_FILES
            })
        })
    }

    fn touch(&self) {
        if let Some(p) = self.manager.persist() {
            p.touch(&self.job);
        }
    }

    /// Complete (spec §2.4 and the seeds): renames every transferred file into place, discards
    /// the rest, and ends the job. `S_OK` when every file was kept, `BG_S_PARTIAL_COMPLETE` when
    /// some were discarded, `BG_S_UNABLE_TO_DELETE_FILES` when a discarded temp file could not
    /// be removed. When a rename fails the job stays (or becomes) TRANSFERRED with the files
    /// already renamed marked completed, and the rename's error is returned; Complete may then
    /// be called again.
    ///
    /// Crash safety: the renames about to happen are recorded first (`rename_pending`, stored
    /// as one flag of the job: the store writes no file row for it), the
    /// bytes are flushed (`syncfs`), the renames done, and only then the outcome recorded; an
    /// engine that finds a pending rename at start finishes it.
    pub fn complete(&self) -> Result<bg_hresult> {
        struct Plan {
            index: usize,
            temp: Option<PathBuf>,
            local: PathBuf,
            keep: bool,
        }
        self.with_files_claimed(Method::Complete, || {
            let plan: Vec<Plan> = self.mutate(Method::Complete, |rt| {
                let mut plan = Vec::new();
                for (index, f) in rt
                    .rec
                    .files
                    .iter_mut()
                    .enumerate()
                    .filter(|(_, f)| !f.completed)
                {
                    let keep = f.transferred && f.temp_path.is_some();
                    f.rename_pending = keep;
                    plan.push(Plan {
                        index,
                        temp: f.temp_path.clone(),
                        local: f.local_name.clone(),
                        keep,
                    });
                }
                Ok(plan)
            })?;
            // Make the transferred bytes durable once, before any rename can expose them.
            let mut dirs: Vec<&Path> = plan
                .iter()
                .filter(|p| p.keep)
                .filter_map(|p| p.local.parent())
                .collect();
            dirs.sort();
            dirs.dedup();
            for dir in &dirs {
                let _ = fsx::sync_filesystem(dir);
            }
            let mut renamed = Vec::new();
            let mut failed = Vec::new();
            let mut discarded = Vec::new();
            let mut undeleted = Vec::new();
            let mut rename_error: Option<Error> = None;
            let mut renamer = fsx::Renamer::default();
            for p in &plan {
                match (&p.temp, p.keep) {
                    (Some(temp), true) => match renamer.rename(temp, &p.local) {
                        Ok(()) => renamed.push(p.index),
                        Err(e) => {
                            failed.push(p.index);
                            if rename_error.is_none() {
                                rename_error = Some(Error::Io {
                                    context: format!(
                                        "renaming {} to {}",
                                        temp.display(),
                                        p.local.display()
                                    ),
                                    source: e,
                                });
                            }
                        }
                    },
                    (temp, _) => {
                        if let Some(temp) = temp {
                            if fsx::remove_temp(temp).is_err() {
                                undeleted.push(p.index);
                            }
                        }
                        discarded.push(p.index);
                    }
                }
            }
            for dir in &dirs {
                let _ = fsx::sync_dir(dir);
            }
            let failed_rename = rename_error.is_some();
            let code = self.mutate(Method::Complete, |rt| {
                let now = now_ms();
                for &i in &renamed {
                    let f = &mut rt.rec.files[i];
                    f.completed = true;
                    f.rename_pending = false;
                    f.temp_path = None;
                }
                for &i in &failed {
                    rt.rec.files[i].rename_pending = false;
                }
                for &i in &discarded {
                    let f = &mut rt.rec.files[i];
                    f.discarded = true;
                    f.bytes_transferred = 0;
                    if !undeleted.contains(&i) {
                        f.temp_path = None;
                    }
                }
                rt.rec.error = None;
                rt.retry_at = None;
                if failed_rename {
                    // T22: the job stays TRANSFERRED until a later Complete or Cancel.
                    if rt.rec.state != JobState::Transferred {
                        rt.rec.transfer_completion_time = now;
                    }
                    rt.set_state(JobState::Transferred, now);
                    return Ok(S_OK);
                }
                rt.set_state(JobState::Acknowledged, now);
                let partial = rt.rec.files.iter().any(|f| f.discarded);
                Ok(if partial {
                    BG_S_PARTIAL_COMPLETE
                } else if !undeleted.is_empty() {
                    BG_S_UNABLE_TO_DELETE_FILES
                } else {
                    S_OK
                })
            })?;
            match rename_error {
                Some(e) => Err(e),
                None => Ok(code),
            }
        })
    }

    /// Waits until the job reaches TRANSFERRED, ERROR, ACKNOWLEDGED or CANCELLED (`S_OK`) or
    /// `timeout_ms` passes (`S_FALSE`); returns the state at return either way.
    pub fn wait(&self, timeout_ms: u32) -> (bg_hresult, JobState) {
        let deadline = Instant::now() + Duration::from_millis(u64::from(timeout_ms));
        let mut rt = self.job.lock();
        loop {
            if rt.rec.state.is_settled() {
                return (S_OK, rt.rec.state);
            }
            if !self.job.wait(&mut rt, Some(deadline)) && !rt.rec.state.is_settled() {
                return (crate::hresult::S_FALSE, rt.rec.state);
            }
        }
    }

    /// The job's GUID.
    pub fn id(&self) -> Guid {
        self.job.id
    }
    /// The job's type.
    pub fn job_type(&self) -> JobType {
        self.job.job_type
    }
    /// The job's state.
    pub fn state(&self) -> JobState {
        self.get(|rt| rt.rec.state)
    }
    /// `BG_JOB_PROGRESS`.
    pub fn progress(&self) -> JobProgress {
        self.get(|rt| {
            let (bytes_total, bytes_transferred, files_total, files_transferred) =
                rt.rec.progress();
            JobProgress {
                bytes_total,
                bytes_transferred,
                files_total,
                files_transferred,
            }
        })
    }
    /// Creation, modification and transfer-completion times (ms since the epoch; 0 = not yet).
    pub fn times(&self) -> (i64, i64, i64) {
        self.get(|rt| {
            (
                rt.rec.creation_time,
                rt.rec.modification_time,
                rt.rec.transfer_completion_time,
            )
        })
    }
    /// The error object; `BG_E_ERROR_INFORMATION_UNAVAILABLE` outside ERROR / TRANSIENT_ERROR.
    pub fn error(&self) -> Result<JobError> {
        self.get(|rt| match (&rt.rec.error, rt.rec.state) {
            (Some(e), JobState::Error | JobState::TransientError) => Ok(e.clone()),
            _ => Err(Error::ErrorInformationUnavailable),
        })
    }
    /// ErrorCount.
    pub fn error_count(&self) -> u32 {
        self.get(|rt| rt.rec.error_count)
    }

    /// SetDisplayName: ≤ 256 characters.
    pub fn set_display_name(&self, name: &str) -> Result<bg_hresult> {
        check_len(
            name,
            DISPLAY_NAME_MAX,
            "display name longer than 256 characters",
        )?;
        self.set(|rt| rt.rec.display_name = name.to_string())
    }
    /// GetDisplayName.
    pub fn display_name(&self) -> String {
        self.get(|rt| rt.rec.display_name.clone())
    }
    /// SetDescription: ≤ 1,024 characters.
    pub fn set_description(&self, text: &str) -> Result<bg_hresult> {
        check_len(
            text,
            DESCRIPTION_MAX,
            "description longer than 1,024 characters",
        )?;
        self.set(|rt| rt.rec.description = text.to_string())
    }
    /// GetDescription (empty until set).
    pub fn description(&self) -> String {
        self.get(|rt| rt.rec.description.clone())
    }
    /// SetPriority; an unknown value → `E_NOTIMPL` (spec §3.2). Takes effect at the next
    /// scheduling round.
    pub fn set_priority(&self, value: i32) -> Result<bg_hresult> {
        let priority = Priority::from_i32(value).ok_or(Error::NotImpl("unknown priority"))?;
        let r = self.set(|rt| rt.rec.priority = priority)?;
        self.engine_wake();
        Ok(r)
    }
    /// GetPriority.
    pub fn priority(&self) -> Priority {
        self.get(|rt| rt.rec.priority)
    }
    /// SetMinimumRetryDelay (seconds).
    pub fn set_min_retry_delay(&self, seconds: u32) -> Result<bg_hresult> {
        self.set(|rt| rt.rec.min_retry_delay_s = seconds)
    }
    /// GetMinimumRetryDelay.
    pub fn min_retry_delay(&self) -> u32 {
        self.get(|rt| rt.rec.min_retry_delay_s)
    }
    /// SetNoProgressTimeout (seconds).
    pub fn set_no_progress_timeout(&self, seconds: u32) -> Result<bg_hresult> {
        self.set(|rt| rt.rec.no_progress_timeout_s = seconds)
    }
    /// GetNoProgressTimeout.
    pub fn no_progress_timeout(&self) -> u32 {
        self.get(|rt| rt.rec.no_progress_timeout_s)
    }
    /// SetNotifyFlags; an unknown bit → `E_NOTIMPL` (spec §3.2).
    pub fn set_notify_flags(&self, flags: u32) -> Result<bg_hresult> {
        if flags & !KNOWN_NOTIFY_FLAGS != 0 {
            return Err(Error::NotImpl("unknown notify flag"));
        }
        self.set(|rt| rt.rec.notify_flags = flags)
    }
    /// GetNotifyFlags.
    pub fn notify_flags(&self) -> u32 {
        self.get(|rt| rt.rec.notify_flags)
    }
    /// SetMaximumDownloadTime (seconds; 0 = no limit).
    pub fn set_max_download_time(&self, seconds: u32) -> Result<bg_hresult> {
        self.set(|rt| rt.rec.max_download_time_s = seconds)
    }
    /// GetMaximumDownloadTime.
    pub fn max_download_time(&self) -> u32 {
        self.get(|rt| rt.rec.max_download_time_s)
    }

    /// SetSecurityFlags (spec §3.10): `BG_SSL_IGNORE_CERT_CN_INVALID`, `BG_SSL_IGNORE_UNKNOWN_CA`
    /// and the redirect policy. Flags libcurl cannot honour on their own (CRL check, ignore
    /// date, ignore usage) and unknown bits → `E_NOTIMPL`; an invalid redirect policy →
    /// `E_NOTIMPL`. Applies from the next request.
    pub fn set_security_flags(&self, flags: u32) -> Result<bg_hresult> {
        use crate::transport::http::{REDIRECT_DISALLOW, REDIRECT_MASK, SUPPORTED_SECURITY_FLAGS};
        if flags & !SUPPORTED_SECURITY_FLAGS != 0 || flags & REDIRECT_MASK > REDIRECT_DISALLOW {
            return Err(Error::NotImpl("security flag not supported"));
        }
        self.set(|rt| rt.rec.security_flags = flags)
    }
    /// GetSecurityFlags.
    pub fn security_flags(&self) -> u32 {
        self.get(|rt| rt.rec.security_flags)
    }

    /// Sets (or, with `None`, removes) this process's callbacks for the job. Refused in the
    /// final states. Events that happened before are not replayed. The old listener is dropped
    /// after the job lock is released (its finaliser runs on the dispatcher thread).
    pub fn set_listener(
        &self,
        listener: Option<Arc<dyn crate::notify::Listener>>,
    ) -> Result<bg_hresult> {
        let old = {
            let mut rt = self.job.lock();
            state::check(Method::SetProperty, self.job.job_type, rt.rec.state)?;
            let n = rt.rec.files.len();
            let done: Vec<bool> = rt.rec.files.iter().map(|f| f.transferred).collect();
            rt.announced_files = done;
            rt.announced_files.resize(n, false);
            rt.announced_changes = rt.changes;
            std::mem::replace(&mut rt.listener, listener)
        };
        drop(old);
        Ok(S_OK)
    }

    /// This process's listener for the job, if any.
    pub fn listener(&self) -> Option<Arc<dyn crate::notify::Listener>> {
        self.job.lock().listener.clone()
    }

    /// SetNotifyCmdLine (spec §3.3): `None` removes. When the job already is TRANSFERRED or
    /// ERROR, the command runs now (as in BITS, it runs even if set after the event).
    pub fn set_notify_cmd_line(
        &self,
        cmd: Option<crate::notify::CommandLine>,
    ) -> Result<bg_hresult> {
        let run = self.mutate(Method::SetProperty, |rt| {
            rt.rec.notify_cmd = cmd.clone();
            rt.rec.notify_cmd_done = None;
            let state = rt.rec.state;
            let taken = rt.listener.as_ref().is_some_and(|l| match state {
                JobState::Transferred => {
                    l.takes_transferred()
                        && rt.rec.notify_flags & crate::notify::FLAG_TRANSFERRED != 0
                }
                JobState::Error => {
                    l.takes_error() && rt.rec.notify_flags & crate::notify::FLAG_ERROR != 0
                }
                _ => false,
            });
            let wanted = crate::notify::command_wanted(rt.rec.notify_flags, state);
            Ok(cmd.filter(|_| wanted && !taken).map(|c| (c, state)))
        })?;
        if let Some((cmd, state)) = run {
            self.job.run_command(cmd, state);
        }
        Ok(S_OK)
    }

    /// GetNotifyCmdLine.
    pub fn notify_cmd_line(&self) -> Option<crate::notify::CommandLine> {
        self.get(|rt| rt.rec.notify_cmd.clone())
    }

    /// Sets the minimum interval between two JobModification callbacks (ms).
    pub fn set_min_notify_interval(&self, ms: u32) -> Result<bg_hresult> {
        self.set(|rt| rt.rec.min_notify_interval_ms = ms)
    }

    /// Reads the minimum notification interval (ms).
    pub fn min_notify_interval(&self) -> u32 {
        self.get(|rt| rt.rec.min_notify_interval_ms)
    }

    /// Sets the job's own bandwidth cap in bytes/s (0 = none); applies at once.
    pub fn set_max_rate(&self, bps: u64) -> Result<bg_hresult> {
        self.set(|rt| rt.rec.max_rate_bps = bps)
    }

    /// The job's own bandwidth cap.
    pub fn max_rate(&self) -> u64 {
        self.get(|rt| rt.rec.max_rate_bps)
    }

    /// Test hook: hold the transfer when file `index` reaches `offset` bytes (`None` releases).
    pub fn set_hold(&self, hold: Option<(u32, u64)>) {
        self.job.lock().hold = hold;
        self.job.notify();
    }
}

/// AddFile's checks on the destination: its directory exists and is a directory, and the name
/// is not itself a directory. `checked_dir` is the directory a previous call for the same set
/// of `set_len` files found good (then it is not looked at again, and a large set's directory
/// is listed once: with no directory in it, no name needs a lookup).
fn check_destination(
    local: &Path,
    checked_dir: &mut Option<fsx::DirProbe>,
    set_len: usize,
) -> Result<()> {
    /// From this many files in a set, their directory is listed once, which spares the
    /// lookup per file when it holds no directory.
    const LIST_FROM: usize = 64;
    let dir = local
        .parent()
        .ok_or(Error::InvalidArg("local path has no directory"))?;
    if checked_dir.as_ref().map(fsx::DirProbe::dir) != Some(dir) {
        check_directory(dir)?;
        *checked_dir = fsx::DirProbe::open(dir).ok();
        if set_len >= LIST_FROM {
            if let Some(probe) = checked_dir.as_mut() {
                // Worth it while the directory is not much larger than the set.
                probe.check_for_subdirs(set_len.saturating_mul(8));
            }
        }
    }
    let is_dir = match (checked_dir.as_ref(), local.file_name()) {
        (Some(probe), Some(name)) => probe.is_dir(name),
        _ => std::fs::symlink_metadata(local).is_ok_and(|m| m.is_dir()),
    };
    if is_dir {
        return Err(Error::InvalidArg("the local path names a directory"));
    }
    Ok(())
}

fn check_directory(dir: &Path) -> Result<()> {
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return Err(Error::InvalidArg(
                "the local path's directory is not a directory",
            ))
        }
        Err(e) => {
            return Err(Error::Code {
                code: hresult_from_io(&e),
                message: format!("{}: {e}", dir.display()),
            })
        }
    }
    Ok(())
}
