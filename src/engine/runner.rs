//! Runs one job: its files in order, each by the transport its URL needs (a copy thread for
//! local files, the shared HTTP thread for URLs), until every file is transferred, a transfer
//! fails, or the run is stopped.
//!
//! A run begins in [`start`] (called by the scheduler) and ends in [`leave`], which clears
//! `worker_active` only after the last touch of a temp file, so Complete and Cancel, which wait
//! for that flag, never race a write.

use super::copy;
use super::http::Transfer;
use super::job::{Job, RunControl, Runtime};
use super::Engine;
use crate::fsx;
use crate::hresult::{
    hresult_from_io, BG_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER, BG_ERROR_CONTEXT_LOCAL_FILE,
    BG_ERROR_CONTEXT_REMOTE_FILE, BG_E_INVALID_SERVER_RESPONSE, E_OUTOFMEMORY,
};
use crate::model::job::{FileRecord, JobError, SIZE_UNKNOWN};
use crate::model::retry::{decide, Failure, RetryDecision, RetryPolicy};
use crate::model::url::{parse_remote, Remote};
use crate::model::{now_ms, JobState};
use crate::transport::TransferError;
use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How one file's transfer ended.
#[derive(Debug)]
pub enum FileOutcome {
    /// Whole: `size` bytes; `final_url` when redirects moved it.
    Done {
        /// Bytes in the temp file.
        size: u64,
        /// The URL after redirects, if different.
        final_url: Option<String>,
    },
    /// The source changed or answered with an unusable range: start the file again from 0.
    Restart,
    /// Stopped by Suspend, Cancel, Complete, shutdown (the job's state is someone else's).
    Stopped,
    /// Failed; the job goes to TRANSIENT_ERROR or ERROR.
    Failed(TransferError),
}

/// How many times in a row one file may restart from zero before it counts as an error.
const MAX_RESTARTS: u32 = 3;

/// Starts a QUEUED job that has no transfer running. Called by the scheduler.
pub(super) fn start(engine: &Arc<Engine>, job: &Arc<Job>) -> bool {
    let run = engine.new_run();
    {
        let mut rt = job.lock();
        // A job whose files Complete or Cancel is working on must not start a transfer.
        if rt.rec.state != JobState::Queued || rt.worker_active || rt.busy {
            return false;
        }
        rt.run = Some(run.clone());
        rt.worker_active = true;
        rt.run_started = Some(std::time::Instant::now());
        rt.restarts = 0;
        rt.next_file = 0;
        rt.set_state(JobState::Connecting, now_ms());
        rt.mark_dirty();
    }
    job.notify();
    engine.touch(job);
    dispatch(engine, job, &run);
    true
}

/// Starts the job's next untransferred file, or ends the run when there is none.
fn dispatch(engine: &Arc<Engine>, job: &Arc<Job>, run: &Arc<RunControl>) {
    let next = {
        let mut rt = job.lock();
        if run.stopped() {
            None
        } else {
            let from = rt.next_file.min(rt.rec.files.len());
            match rt.rec.files[from..]
                .iter()
                .position(|f| !f.transferred && !f.discarded)
            {
                Some(i) => {
                    let index = from + i;
                    rt.next_file = index;
                    Some((index, rt.rec.files[index].remote.clone()))
                }
                None => {
                    let now = now_ms();
                    rt.rec.transfer_completion_time = now;
                    rt.set_state(JobState::Transferred, now);
                    rt.no_progress_since = None;
                    rt.run = None;
                    rt.mark_dirty();
                    None
                }
            }
        }
    };
    let Some((index, remote)) = next else {
        engine.touch(job);
        return leave(engine, job, run);
    };
    match remote {
        Remote::File { paths } => {
            if let Err(e) = copy::spawn(engine.clone(), job.clone(), run.clone(), index, paths) {
                let err = TransferError {
                    context: BG_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER,
                    code: E_OUTOFMEMORY,
                    transient: true,
                    description: format!("cannot start a copy thread: {e}"),
                    retry_after_s: None,
                };
                finished(engine, job, run, index, FileOutcome::Failed(err));
            }
        }
        Remote::Http(url) => engine.lanes().driver(run.lane()).submit(Transfer {
            job: job.clone(),
            run: run.clone(),
            index,
            url,
        }),
    }
}

/// Ends a run: the transfer no longer touches the job's files.
fn leave(engine: &Arc<Engine>, job: &Arc<Job>, run: &Arc<RunControl>) {
    // The descriptors of temp files made ahead are closed without the job lock, and before
    // `worker_active` is cleared (the run's last touch of its temp files). The preparing thread
    // adds none meanwhile: every way here has stopped the run or taken it off the job, and it
    // only adds for the job's current, unstopped run.
    let prepared = std::mem::take(&mut job.lock().prepared);
    drop(prepared);
    {
        let mut rt = job.lock();
        rt.worker_active = false;
        rt.prepare_asked = false;
        rt.run_started = None;
        rt.last_ran = Some(std::time::Instant::now());
        if rt.run.as_ref().is_some_and(|r| Arc::ptr_eq(r, run)) {
            rt.run = None;
        }
    }
    job.notify();
    engine.throttle.forget(&job.id);
    engine.wake();
}

/// A file's transfer ended (called on the thread that ran it, after it let go of the file).
pub(super) fn finished(
    engine: &Arc<Engine>,
    job: &Arc<Job>,
    run: &Arc<RunControl>,
    index: usize,
    outcome: FileOutcome,
) {
    let next = {
        let mut rt = job.lock();
        if run.stopped() {
            false
        } else {
            rt.mark_dirty();
            match outcome {
                FileOutcome::Done { size, final_url } => {
                    let report = rt.rec.security_flags & crate::transport::http::REDIRECT_MASK
                        == crate::transport::http::REDIRECT_ALLOW_REPORT;
                    rt.file_transferred(index);
                    let f = &mut rt.rec.files[index];
                    f.bytes_transferred = size;
                    f.bytes_total = size;
                    if let (true, Some(url)) = (report, final_url) {
                        if let Ok(remote) = parse_remote(&url) {
                            f.remote_name = url;
                            f.remote = remote;
                        }
                    }
                    rt.restarts = 0;
                    rt.rec.modification_time = now_ms();
                    rt.changes += 1;
                    true
                }
                FileOutcome::Restart => {
                    rt.restarts += 1;
                    if rt.restarts > MAX_RESTARTS {
                        let err = TransferError::new(
                            Failure {
                                context: BG_ERROR_CONTEXT_REMOTE_FILE,
                                code: BG_E_INVALID_SERVER_RESPONSE,
                                transient: true,
                            },
                            format!(
                                "the server kept answering with another version of {}",
                                crate::transport::http::redact(&rt.rec.files[index].remote_name)
                            ),
                        );
                        fail(engine, &mut rt, &err, Some(index as u32));
                        rt.run = None;
                        false
                    } else {
                        let f = &mut rt.rec.files[index];
                        f.bytes_transferred = 0;
                        f.validator = None;
                        true
                    }
                }
                FileOutcome::Stopped => false,
                FileOutcome::Failed(err) => {
                    fail(engine, &mut rt, &err, Some(index as u32));
                    rt.run = None;
                    false
                }
            }
        }
    };
    job.notify();
    engine.touch(job);
    if next {
        dispatch(engine, job, run);
    } else {
        leave(engine, job, run);
    }
}

/// Puts the job into TRANSIENT_ERROR (with a retry time) or ERROR (spec §2.2 T12–T17, §4.3).
pub(super) fn fail(
    engine: &Engine,
    rt: &mut Runtime,
    err: &TransferError,
    file_index: Option<u32>,
) {
    let now = Instant::now();
    rt.rec.error = Some(JobError {
        context: err.context,
        code: err.code,
        file_index,
        description: err.description.clone(),
    });
    rt.rec.error_count = rt.rec.error_count.saturating_add(1);
    let state = if err.transient {
        let since = *rt.no_progress_since.get_or_insert(now);
        let policy = RetryPolicy {
            min_retry_delay_s: rt.rec.min_retry_delay_s,
            no_progress_timeout_s: rt.rec.no_progress_timeout_s,
            floor_ms: engine.options().retry_floor_ms,
        };
        match decide(
            policy,
            now.duration_since(since).as_millis() as u64,
            err.retry_after_s,
        ) {
            RetryDecision::RetryAfterMs(ms) => {
                rt.retry_at = Some(now + Duration::from_millis(ms));
                JobState::TransientError
            }
            RetryDecision::Fatal => JobState::Error,
        }
    } else {
        JobState::Error
    };
    rt.set_state(state, now_ms());
}

/// What [`progress`] tells the transfer.
pub(super) struct Tick {
    /// Go on (false: the run was stopped, or MaxDownloadTime put the job in ERROR).
    pub go: bool,
    /// The progress is the first since the store last wrote it: tell the manager (once).
    pub first: bool,
}

/// Notes progress of file `index`: `pos` bytes on disk. Cheap by design (it runs for every
/// chunk): it wakes no waiter (nobody waits for bytes) and asks for a store write only once
/// until the sync thread has written it.
pub(super) fn progress(
    engine: &Engine,
    rt: &mut Runtime,
    run: &RunControl,
    index: usize,
    pos: u64,
    active: Duration,
) -> Tick {
    if run.stopped() {
        return Tick {
            go: false,
            first: false,
        };
    }
    let f = &mut rt.rec.files[index];
    f.bytes_transferred = pos;
    if f.bytes_total != SIZE_UNKNOWN && pos > f.bytes_total {
        f.bytes_total = pos;
    }
    rt.rec.modification_time = now_ms();
    if rt.rec.state != JobState::Transferring {
        rt.set_state(JobState::Transferring, rt.rec.modification_time);
        rt.mark_dirty();
    }
    // The error object lives until data flows again (spec §4.3); progress resets T14's clock.
    rt.rec.error = None;
    rt.no_progress_since = None;
    let first = !rt.progress_dirty;
    rt.progress_dirty = true;
    rt.changes += 1;
    rt.rec.active_ms = rt.rec.active_ms.saturating_add(active.as_millis() as u64);
    let limit_s = rt.rec.max_download_time_s;
    if limit_s != 0 && rt.rec.active_ms > u64::from(limit_s) * 1000 {
        let err = TransferError {
            context: BG_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER,
            code: crate::hresult::BG_E_MAXDOWNLOAD_TIMEOUT,
            transient: false,
            description: "the job exceeded its maximum download time".into(),
            retry_after_s: None,
        };
        fail(engine, rt, &err, Some(index as u32));
        rt.mark_dirty();
        rt.stop_run();
        return Tick {
            go: false,
            first: true,
        };
    }
    Tick { go: true, first }
}

/// An error about the local temp file.
pub(super) fn local_error(what: &str, path: &Path, err: &std::io::Error) -> TransferError {
    TransferError {
        context: BG_ERROR_CONTEXT_LOCAL_FILE,
        code: hresult_from_io(err),
        transient: false,
        description: format!("cannot {what} {}: {err}", path.display()),
        retry_after_s: None,
    }
}

/// Opens the temp file of file `index` for writing, creating it beside the destination when
/// there is none (or it vanished). `resume` says whether the bytes already there may be
/// continued; if not, the file starts again from 0. Returns the file positioned at the offset
/// to continue from, or `None` when the run was stopped meanwhile.
pub(super) fn open_temp(
    job: &Job,
    run: &RunControl,
    index: usize,
    resume: impl FnOnce(&FileRecord) -> bool,
) -> Result<Option<(File, u64)>, TransferError> {
    // Descriptors no longer needed, closed after the job lock is released (declared first, so
    // dropped after the guard on every return).
    let mut unneeded = Vec::new();
    let (temp, local, mut offset) = {
        let mut rt = job.lock();
        if run.stopped() {
            return Ok(None);
        }
        // Files run in index order: what was made for a file before this one is not needed.
        while rt.prepared.front().is_some_and(|(i, _)| *i < index) {
            unneeded.extend(rt.prepared.pop_front());
        }
        let prepared = match rt.prepared.front() {
            Some((i, _)) if *i == index => rt.prepared.pop_front().map(|(_, file)| file),
            _ => None,
        };
        let f = &mut rt.rec.files[index];
        if !resume(f) {
            f.bytes_transferred = 0;
        }
        if let Some(file) = prepared {
            // Made by the preparing thread for this run: new, empty and recorded.
            f.bytes_transferred = 0;
            return Ok(Some((file, 0)));
        }
        (
            f.temp_path.clone(),
            f.local_name.clone(),
            f.bytes_transferred,
        )
    };
    let reopened = match &temp {
        Some(path) => match fsx::reopen_temp(path) {
            Ok(file) => Some((file, path.clone())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(local_error("reopen the temp file", path, &e)),
        },
        None => None,
    };
    let (mut file, path): (File, PathBuf) = match reopened {
        Some(found) => found,
        None => {
            let (file, path) = fsx::create_temp(&local, &fsx::temp_tag(&job.id))
                .map_err(|e| local_error("create a temp file beside", &local, &e))?;
            let other = {
                let mut rt = job.lock();
                // The preparing thread may have made one for this file meanwhile: ours is the
                // one written, so theirs goes (its descriptor and its file).
                if let Some(at) = rt.prepared.iter().position(|(i, _)| *i == index) {
                    unneeded.extend(rt.prepared.remove(at));
                }
                let f = &mut rt.rec.files[index];
                let other = f.temp_path.replace(path.clone()).filter(|p| *p != path);
                f.bytes_transferred = 0;
                rt.mark_dirty();
                other
            };
            if let Some(other) = other {
                let _ = fsx::remove_temp(&other);
            }
            // New and empty: nothing to measure, cut or seek.
            return Ok(Some((file, 0)));
        }
    };
    // A temp file shorter than the recorded progress (e.g. after a crash) resumes from its end.
    let on_disk = file
        .metadata()
        .map_err(|e| local_error("inspect", &path, &e))?
        .len();
    offset = offset.min(on_disk);
    file.set_len(offset)
        .map_err(|e| local_error("truncate", &path, &e))?;
    file.seek(SeekFrom::Start(offset))
        .map_err(|e| local_error("seek in", &path, &e))?;
    job.lock().rec.files[index].bytes_transferred = offset;
    Ok(Some((file, offset)))
}
