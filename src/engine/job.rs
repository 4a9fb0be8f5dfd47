//! The shared, lockable job: its record plus what the engine needs to run and stop it.

use crate::model::{Guid, JobRecord, JobState, JobType};
use parking_lot::{Condvar, Mutex, MutexGuard};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Wakes the thread that runs a transfer so it notices a stop at once.
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// One run of a job's transfer. Setting `stop` (always under the job lock) tells the transfer
/// to leave at its next step without touching the job's state again.
pub struct RunControl {
    stop: AtomicBool,
    waker: Waker,
}

impl RunControl {
    /// A run whose stop wakes the transfer thread through `waker` (lock-free: it may be
    /// called with the job lock held).
    pub fn new(waker: Waker) -> Arc<Self> {
        Arc::new(RunControl {
            stop: AtomicBool::new(false),
            waker,
        })
    }

    /// Asks the transfer to stop, and wakes the thread that runs it.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        (self.waker)();
    }
    /// Whether the worker has been asked to stop.
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

/// A job's mutable state, behind the job lock.
pub struct Runtime {
    /// The BITS-visible record.
    pub rec: JobRecord,
    /// The current worker run, if one was started and not stopped.
    pub run: Option<Arc<RunControl>>,
    /// A worker thread is still inside this job (even after being told to stop).
    pub worker_active: bool,
    /// Complete or Cancel is working on the job's files; other life-cycle calls wait.
    pub busy: bool,
    /// Test hook: hold the transfer when file `.0` reaches offset `.1`.
    pub hold: Option<(u32, u64)>,
    /// When a job in TRANSIENT_ERROR is retried (T13).
    pub retry_at: Option<Instant>,
    /// Since when the job has made no progress, counted from its first transient error (T14).
    pub no_progress_since: Option<Instant>,
    /// Restarts from zero of the current file in a row (a server that keeps changing).
    pub restarts: u32,
    /// The store revision this record is based on (0: not stored).
    pub rev: i64,
    /// The state as last written to the store, to tell another process's change from ours.
    pub saved_state: JobState,
    /// Bumped by every engine-side change; `saved_gen` is the one last written.
    pub dirty_gen: u64,
    /// The `dirty_gen` the store has.
    pub saved_gen: u64,
    /// Byte progress changed since it was last written.
    pub progress_dirty: bool,
}

impl Runtime {
    /// Notes an engine-side change the store must learn (the manager's sync thread writes it).
    pub fn mark_dirty(&mut self) {
        self.dirty_gen += 1;
    }

    /// Whether there are engine-side changes the store does not have.
    pub fn is_dirty(&self) -> bool {
        self.dirty_gen != self.saved_gen
    }
}

impl Runtime {
    /// Tells the current worker run, if any, to stop.
    pub fn stop_run(&mut self) {
        if let Some(run) = self.run.take() {
            run.stop();
        }
    }
}

/// A job shared by handles, the manager and the engine.
pub struct Job {
    /// Persistent id (also in the record; kept here to read without the lock).
    pub id: Guid,
    /// Job type (immutable).
    pub job_type: JobType,
    state: Mutex<Runtime>,
    changed: Condvar,
}

impl Job {
    /// Wraps a record.
    pub fn new(rec: JobRecord) -> Arc<Self> {
        Arc::new(Job {
            id: rec.id,
            job_type: rec.job_type,
            state: Mutex::new(Runtime {
                rec,
                run: None,
                worker_active: false,
                busy: false,
                hold: None,
                retry_at: None,
                no_progress_since: None,
                restarts: 0,
                rev: 0,
                saved_state: JobState::Suspended,
                dirty_gen: 0,
                saved_gen: 0,
                progress_dirty: false,
            }),
            changed: Condvar::new(),
        })
    }

    /// Locks the job. Never hold this across file I/O, libcurl or a callback.
    pub fn lock(&self) -> MutexGuard<'_, Runtime> {
        self.state.lock()
    }

    /// Wakes every thread waiting for a change of this job.
    pub fn notify(&self) {
        self.changed.notify_all();
    }

    /// Waits (releasing the lock meanwhile) for a change; returns `false` at `deadline`.
    pub fn wait(&self, guard: &mut MutexGuard<'_, Runtime>, deadline: Option<Instant>) -> bool {
        match deadline {
            Some(d) => !self.changed.wait_until(guard, d).timed_out(),
            None => {
                self.changed.wait(guard);
                true
            }
        }
    }

    /// Claims the job for a life-cycle operation that works on its files outside the lock:
    /// waits for any other such operation, stops the worker and waits until it has left.
    pub fn claim_files(&self, guard: &mut MutexGuard<'_, Runtime>) {
        while guard.busy {
            self.wait(guard, None);
        }
        guard.busy = true;
        guard.stop_run();
        // A transfer held by a test hook waits on this condition variable.
        self.notify();
        while guard.worker_active {
            self.wait(guard, None);
        }
    }

    /// Ends a claim taken with [`Job::claim_files`].
    pub fn release_files(&self, guard: &mut MutexGuard<'_, Runtime>) {
        guard.busy = false;
        self.notify();
    }
}
