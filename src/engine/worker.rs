//! A worker runs one job: its files one after another, each into a temp file beside its
//! destination, updating progress under the job lock after every chunk and leaving at once
//! when its run is stopped (Suspend, Cancel, Complete, shutdown).

use super::job::{Job, RunControl};
use super::Engine;
use crate::ffi::boundary;
use crate::fsx;
use crate::hresult::{
    hresult_from_io, BG_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER, BG_ERROR_CONTEXT_LOCAL_FILE,
    BG_ERROR_CONTEXT_REMOTE_FILE, BG_E_MAXDOWNLOAD_TIMEOUT, BG_E_UNSUPPORTED_PROTOCOL,
    E_UNEXPECTED,
};
use crate::model::job::JobError;
use crate::model::url::Remote;
use crate::model::{now_ms, JobState};
use crate::transport::{file, TransferError};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

/// Bytes moved between two progress updates (and stop checks).
const CHUNK: usize = 1 << 20;

/// Starts a worker for a QUEUED job that has none. Called by the scheduler with its lock held.
pub(super) fn start(engine: &Arc<Engine>, job: &Arc<Job>) -> Option<JoinHandle<()>> {
    let run = Arc::new(RunControl::default());
    {
        let mut rt = job.lock();
        if rt.rec.state != JobState::Queued || rt.worker_active {
            return None;
        }
        rt.run = Some(run.clone());
        rt.worker_active = true;
        rt.rec.set_state(JobState::Connecting, now_ms());
    }
    job.notify();
    let (weak, job2, run2) = (Arc::downgrade(engine), job.clone(), run.clone());
    let spawned = std::thread::Builder::new()
        .name("bgcopy-transfer".into())
        .spawn(move || {
            let panicked = boundary::guard(|| run_files(&job2, &run2)).is_none();
            let mut rt = job2.lock();
            if panicked && !run2.stopped() {
                fail(
                    &mut rt,
                    &TransferError {
                        context: BG_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER,
                        code: E_UNEXPECTED,
                        transient: false,
                        description: "internal error in the transfer worker".into(),
                    },
                    None,
                );
                rt.run = None;
            }
            rt.worker_active = false;
            if rt.run.as_ref().is_some_and(|r| Arc::ptr_eq(r, &run2)) {
                rt.run = None;
            }
            drop(rt);
            job2.notify();
            if let Some(engine) = weak.upgrade() {
                engine.wake();
            }
        });
    match spawned {
        Ok(thread) => Some(thread),
        Err(_) => {
            let mut rt = job.lock();
            rt.run = None;
            rt.worker_active = false;
            rt.rec.set_state(JobState::Queued, now_ms());
            None
        }
    }
}

/// Puts the job into ERROR or TRANSIENT_ERROR with `err` (spec §4.3: ErrorCount + 1).
fn fail(rt: &mut super::Runtime, err: &TransferError, file_index: Option<u32>) {
    let now = now_ms();
    rt.rec.error = Some(JobError {
        context: err.context,
        code: err.code,
        file_index,
        description: err.description.clone(),
    });
    rt.rec.error_count = rt.rec.error_count.saturating_add(1);
    rt.rec.set_state(
        if err.transient {
            JobState::TransientError
        } else {
            JobState::Error
        },
        now,
    );
}

enum Step {
    Done,
    Stopped,
}

fn run_files(job: &Arc<Job>, run: &Arc<RunControl>) {
    loop {
        let next = {
            let mut rt = job.lock();
            if run.stopped() {
                return;
            }
            match rt
                .rec
                .files
                .iter()
                .position(|f| !f.transferred && !f.discarded)
            {
                None => {
                    let now = now_ms();
                    rt.rec.transfer_completion_time = now;
                    rt.rec.set_state(JobState::Transferred, now);
                    rt.run = None;
                    drop(rt);
                    job.notify();
                    return;
                }
                Some(index) => (index, rt.rec.files[index].remote.clone()),
            }
        };
        let (index, remote) = next;
        let result = match &remote {
            Remote::File { paths } => copy_file(job, run, index, paths),
            Remote::Http(url) => Err(TransferError {
                context: BG_ERROR_CONTEXT_REMOTE_FILE,
                code: BG_E_UNSUPPORTED_PROTOCOL,
                transient: false,
                description: format!("no HTTP transport in this build for {url}"),
            }),
        };
        match result {
            Ok(Step::Done) => continue,
            Ok(Step::Stopped) => return,
            Err(err) => {
                let mut rt = job.lock();
                if !run.stopped() {
                    fail(&mut rt, &err, Some(index as u32));
                    rt.run = None;
                }
                drop(rt);
                job.notify();
                return;
            }
        }
    }
}

fn local_error(what: &str, path: &std::path::Path, err: &std::io::Error) -> TransferError {
    TransferError {
        context: BG_ERROR_CONTEXT_LOCAL_FILE,
        code: hresult_from_io(err),
        transient: false,
        description: format!("cannot {what} {}: {err}", path.display()),
    }
}

/// Opens (or creates) the file's temp file and decides where the copy resumes.
fn prepare_temp(
    job: &Job,
    run: &RunControl,
    index: usize,
    validator: (u64, i128),
    size: u64,
) -> Result<Option<(File, PathBuf, u64)>, TransferError> {
    let (temp, local, mut offset) = {
        let mut rt = job.lock();
        if run.stopped() {
            return Ok(None);
        }
        rt.rec.set_state(JobState::Transferring, now_ms());
        let f = &mut rt.rec.files[index];
        f.bytes_total = size;
        // Resume only the same content: a changed source restarts the file from zero.
        let same = f.validator == Some(validator) && f.bytes_transferred <= size;
        if !same {
            f.bytes_transferred = 0;
            f.validator = Some(validator);
        }
        (
            f.temp_path.clone(),
            f.local_name.clone(),
            f.bytes_transferred,
        )
    };
    job.notify();
    let opened = match &temp {
        Some(path) => match fsx::reopen_temp(path) {
            Ok(file) => Some((file, path.clone())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(local_error("reopen the temp file", path, &e)),
        },
        None => None,
    };
    let (mut file, path) = match opened {
        Some(found) => found,
        None => {
            offset = 0;
            let (file, path) = fsx::create_temp(&local)
                .map_err(|e| local_error("create a temp file beside", &local, &e))?;
            let mut rt = job.lock();
            let f = &mut rt.rec.files[index];
            f.temp_path = Some(path.clone());
            f.bytes_transferred = 0;
            (file, path)
        }
    };
    file.set_len(offset)
        .map_err(|e| local_error("truncate", &path, &e))?;
    file.seek(SeekFrom::Start(offset))
        .map_err(|e| local_error("seek in", &path, &e))?;
    Ok(Some((file, path, offset)))
}

fn copy_file(
    job: &Arc<Job>,
    run: &RunControl,
    index: usize,
    paths: &[PathBuf],
) -> Result<Step, TransferError> {
    let mut source = file::open(paths)?;
    let Some((mut temp, temp_path, mut offset)) =
        prepare_temp(job, run, index, source.validator, source.size)?
    else {
        return Ok(Step::Stopped);
    };
    source
        .file
        .seek(SeekFrom::Start(offset))
        .map_err(|e| file::read_error(&source.path, &e))?;
    let mut buf = vec![0u8; CHUNK];
    let mut last = Instant::now();
    loop {
        // Read no further than a test hold point, so a test can stop a file at an exact offset.
        let mut want = CHUNK;
        {
            let mut rt = job.lock();
            loop {
                if run.stopped() {
                    return Ok(Step::Stopped);
                }
                match rt.hold {
                    Some((file_index, at)) if file_index as usize == index && offset >= at => {
                        job.wait(&mut rt, None);
                    }
                    Some((file_index, at)) if file_index as usize == index => {
                        want = want.min((at - offset) as usize);
                        break;
                    }
                    _ => break,
                }
            }
        }
        let n = match source.file.read(&mut buf[..want]) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(file::read_error(&source.path, &e)),
        };
        if n == 0 {
            break;
        }
        temp.write_all(&buf[..n])
            .map_err(|e| local_error("write", &temp_path, &e))?;
        offset += n as u64;
        let mut rt = job.lock();
        if run.stopped() {
            return Ok(Step::Stopped);
        }
        let now = Instant::now();
        rt.rec.active_ms += now.duration_since(last).as_millis() as u64;
        last = now;
        let f = &mut rt.rec.files[index];
        f.bytes_transferred = offset;
        if offset > f.bytes_total {
            f.bytes_total = offset;
        }
        rt.rec.modification_time = now_ms();
        // The error object lives until data flows again (spec §4.3).
        rt.rec.error = None;
        let limit_s = rt.rec.max_download_time_s;
        if limit_s != 0 && rt.rec.active_ms > u64::from(limit_s) * 1000 {
            return Err(TransferError {
                context: BG_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER,
                code: BG_E_MAXDOWNLOAD_TIMEOUT,
                transient: false,
                description: "the job exceeded its maximum download time".into(),
            });
        }
        drop(rt);
        job.notify();
    }
    temp.sync_data()
        .map_err(|e| local_error("flush", &temp_path, &e))?;
    let mut rt = job.lock();
    if run.stopped() {
        return Ok(Step::Stopped);
    }
    let f = &mut rt.rec.files[index];
    f.bytes_transferred = offset;
    f.bytes_total = offset;
    f.transferred = true;
    rt.rec.modification_time = now_ms();
    drop(rt);
    job.notify();
    Ok(Step::Done)
}
