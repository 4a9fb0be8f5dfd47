//! Creates temp files ahead of the HTTP thread. Creating a file is the most expensive
//! file-system call of a small download (an inode, a directory entry), and the HTTP thread is
//! the one every transfer waits for; so while it receives one file of a job, this thread
//! creates the temp file of the job's next file and hands it over open.
//!
//! A prepared temp file is recorded in the file's record (`temp_path`) at once, like one the
//! HTTP thread creates itself, so Cancel, Complete and a crash treat both the same way. The open
//! descriptor waits in `Runtime::prepared` until the HTTP thread takes it; a run that ends drops
//! it (the file stays, and the next run reopens it). Failures are ignored here: the HTTP thread
//! then creates the file itself and reports the error with the file.

use super::job::{Job, RunControl, Runtime};
use crate::fsx;
use crate::model::url::Remote;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

enum Msg {
    /// Prepare the first file after `after` that still needs its bytes.
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

    /// Asks for the temp file of the job's next file after `after` (non-blocking).
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
    let (index, local) = {
        let rt = job.lock();
        if !current(&rt, run) || rt.prepared.is_some() {
            return;
        }
        let next = rt
            .rec
            .files
            .iter()
            .enumerate()
            .skip(after + 1)
            .find(|(_, f)| !f.transferred && !f.discarded);
        match next {
            Some((i, f)) if f.temp_path.is_none() && matches!(f.remote, Remote::Http(_)) => {
                (i, f.local_name.clone())
            }
            _ => return,
        }
    };
    let Ok((file, path)) = fsx::create_temp(&local, &fsx::temp_tag(&job.id)) else {
        return;
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
        return;
    }
    let f = &mut rt.rec.files[index];
    f.temp_path = Some(path);
    f.bytes_transferred = 0;
    rt.prepared = Some((index, file));
    rt.mark_dirty();
}
