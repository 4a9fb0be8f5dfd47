//! Creates temp files ahead of the HTTP thread. Creating a file is the most expensive
//! file-system call of a small download (an inode, a directory entry), and the HTTP thread is
//! the one every transfer waits for; so while it receives one file of a job, this thread
//! creates the temp files of the job's next [`AHEAD`] files and hands them over open. The HTTP
//! thread asks again only when [`REFILL_AT`] or fewer are left, so this thread wakes once per
//! few files rather than once per file (each wake-up costs both threads a context switch).
//!
//! A prepared temp file is recorded in the file's record (`temp_path`) at once, like one the
//! HTTP thread creates itself, so Cancel, Complete and a crash treat both the same way. The open
//! descriptor waits in `Runtime::prepared` until the HTTP thread takes it; a run that ends drops
//! it (the file stays, empty, and the next run reopens it). Failures are ignored here: the HTTP
//! thread then creates the file itself and reports the error with the file.

use super::job::{Job, RunControl, Runtime};
use crate::fsx;
use crate::model::url::Remote;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Temp files made ahead per running job, at most.
pub(super) const AHEAD: usize = 8;
/// The HTTP thread asks for more when this many or fewer are left.
pub(super) const REFILL_AT: usize = AHEAD / 2;

enum Msg {
    /// Prepare temp files for the files after `after` that still need one, up to [`AHEAD`].
    Next {
        job: Arc<Job>,
        run: Arc<RunControl>,
        after: usize,
    },
    Shutdown,
}

/// The handle of one engine's preparing thread.
pub struct Preparer {
    tx: parking_lot::Mutex<Sender<Msg>>,
    thread: parking_lot::Mutex<Option<JoinHandle<()>>>,
}

impl Preparer {
    /// Starts the thread.
    pub fn start() -> std::io::Result<Preparer> {
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("bgcopy-prepare".into())
            .spawn(move || {
                let _ = crate::ffi::boundary::guard(|| run(rx));
            })?;
        Ok(Preparer {
            tx: parking_lot::Mutex::new(tx),
            thread: parking_lot::Mutex::new(Some(thread)),
        })
    }

    /// Asks for temp files of the job's next files after `after` (non-blocking).
    pub fn next(&self, job: &Arc<Job>, run: &Arc<RunControl>, after: usize) {
        let _ = self.tx.lock().send(Msg::Next {
            job: job.clone(),
            run: run.clone(),
            after,
        });
    }

    /// Stops the thread (requests not started yet are dropped) and joins it.
    pub fn shutdown(&self) {
        let _ = self.tx.lock().send(Msg::Shutdown);
        if let Some(t) = self.thread.lock().take() {
            let _ = t.join();
        }
    }
}

fn run(rx: Receiver<Msg>) {
    while let Ok(msg) = rx.recv() {
        match msg {
            Msg::Next { job, run, after } => prepare(&job, &run, after),
            Msg::Shutdown => return,
        }
    }
}

/// Whether `run` is the job's running run (not stopped, not ended by an error or by its last
/// file) and no Complete or Cancel works on the job's files.
fn current(rt: &Runtime, run: &RunControl) -> bool {
    !run.stopped()
        && !rt.busy
        && rt
            .run
            .as_ref()
            .is_some_and(|r| std::ptr::eq(Arc::as_ptr(r), run))
}

fn prepare(job: &Arc<Job>, run: &RunControl, after: usize) {
    job.lock().prepare_asked = false;
    while prepare_one(job, run, after) {}
}

/// Makes the temp file of the first file without one among the next [`AHEAD`] files after
/// `after` that still need their bytes over HTTP. Returns whether to go on.
///
/// Files in that window that have a temp file already (made here, or holding bytes of an
/// earlier run) count, so a job whose current file keeps failing and is retried (a new run
/// each time) never has more than [`AHEAD`] temp files made ahead of it.
fn prepare_one(job: &Arc<Job>, run: &RunControl, after: usize) -> bool {
    let (index, local) = {
        let rt = job.lock();
        if !current(&rt, run) || rt.prepared.len() >= AHEAD {
            return false;
        }
        let next = rt
            .rec
            .files
            .iter()
            .enumerate()
            .skip(after + 1)
            .filter(|(_, f)| !f.transferred && !f.discarded && matches!(f.remote, Remote::Http(_)))
            .take(AHEAD)
            .find(|(_, f)| f.temp_path.is_none());
        match next {
            Some((i, f)) => (i, f.local_name.clone()),
            None => return false,
        }
    };
    let Ok((file, path)) = fsx::create_temp(&local, &fsx::temp_tag(&job.id)) else {
        return false;
    };
    let mut rt = job.lock();
    // Recorded only while the run that asked still runs and nobody made a temp file meanwhile
    // (Complete and Cancel set `busy` and stop the run before they look at temp files; the
    // HTTP thread, when it was faster, removes what this thread recorded).
    let f = &rt.rec.files[index];
    if !current(&rt, run) || f.temp_path.is_some() || f.transferred || f.discarded {
        drop(rt);
        drop(file);
        let _ = fsx::remove_temp(&path);
        return false;
    }
    let f = &mut rt.rec.files[index];
    f.temp_path = Some(path);
    f.bytes_transferred = 0;
    rt.prepared.push_back((index, file));
    rt.mark_dirty();
    true
}
