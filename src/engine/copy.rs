//! Local sources (`file://` URLs and absolute paths): each file is copied on a short-lived
//! thread of its own, in chunks, with progress and stop checks between chunks.

use super::job::{Job, RunControl};
use super::runner::{self, local_error, FileOutcome};
use super::Engine;
use crate::ffi::boundary;
use crate::hresult::{BG_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER, E_UNEXPECTED};
use crate::model::JobState;
use crate::transport::{file, TransferError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// Bytes moved between two progress updates (and stop checks).
const CHUNK: usize = 1 << 20;

/// Starts copying file `index` of `job` on a new thread.
pub(super) fn spawn(
    engine: Arc<Engine>,
    job: Arc<Job>,
    run: Arc<RunControl>,
    index: usize,
    paths: Vec<PathBuf>,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("bgcopy-copy".into())
        .spawn(move || {
            let outcome = boundary::guard(|| copy(&engine, &job, &run, index, &paths))
                .unwrap_or_else(|| {
                    FileOutcome::Failed(TransferError {
                        context: BG_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER,
                        code: E_UNEXPECTED,
                        transient: false,
                        description: "internal error in the copy thread".into(),
                        retry_after_s: None,
                    })
                });
            runner::finished(&engine, &job, &run, index, outcome);
        })?;
    Ok(())
}

fn copy(
    engine: &Engine,
    job: &Arc<Job>,
    run: &RunControl,
    index: usize,
    paths: &[PathBuf],
) -> FileOutcome {
    match try_copy(engine, job, run, index, paths) {
        Ok(outcome) => outcome,
        Err(err) => FileOutcome::Failed(err),
    }
}

fn try_copy(
    engine: &Engine,
    job: &Arc<Job>,
    run: &RunControl,
    index: usize,
    paths: &[PathBuf],
) -> Result<FileOutcome, TransferError> {
    let mut source = file::open(paths)?;
    {
        let mut rt = job.lock();
        // A run stopped meanwhile (Suspend, preemption) must not touch the job's state.
        if run.stopped() {
            return Ok(FileOutcome::Stopped);
        }
        rt.set_state(JobState::Transferring, crate::model::now_ms());
        let f = &mut rt.rec.files[index];
        f.bytes_total = source.size;
        // Only the same content may be continued: a changed source restarts the file from zero.
        if f.validator.as_ref() != Some(&source.validator) {
            f.bytes_transferred = 0;
            f.validator = Some(source.validator.clone());
        }
        rt.mark_dirty();
    }
    job.notify();
    engine.touch(job);
    let Some((mut temp, mut offset)) = runner::open_temp(job, run, index, |_| true)? else {
        return Ok(FileOutcome::Stopped);
    };
    let temp_path = job.lock().rec.files[index]
        .temp_path
        .clone()
        .unwrap_or_default();
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
                    return Ok(FileOutcome::Stopped);
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
        let now = Instant::now();
        let tick = runner::progress(
            engine,
            &mut job.lock(),
            run,
            index,
            offset,
            now.duration_since(last),
        );
        last = now;
        job.publish();
        if tick.first {
            engine.touch(job);
        }
        if !tick.go {
            return Ok(FileOutcome::Stopped);
        }
    }
    Ok(FileOutcome::Done {
        size: offset,
        final_url: None,
    })
}
