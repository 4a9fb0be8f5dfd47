//! The shared, lockable job: its record plus what the engine needs to run and stop it.

use super::lanes::Lane;
use crate::model::job::JobError;
use crate::model::{Guid, JobRecord, JobState, JobType};
use crate::notify::{self, Event, Listener};
use parking_lot::{Condvar, Mutex, MutexGuard};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// Wakes the thread that runs a transfer so it notices a stop at once.
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// One run of a job's transfer. Setting `stop` (always under the job lock) tells the transfer
/// to leave at its next step without touching the job's state again.
pub struct RunControl {
    stop: AtomicBool,
    waker: Waker,
    lane: Lane,
}

impl RunControl {
    /// A run on HTTP lane `lane` whose stop wakes the transfer thread through `waker`
    /// (lock-free: it may be called with the job lock held).
    pub fn new(waker: Waker, lane: Lane) -> Arc<Self> {
        Arc::new(RunControl {
            stop: AtomicBool::new(false),
            waker,
            lane,
        })
    }

    /// The HTTP thread this run's HTTP files go to.
    pub fn lane(&self) -> &Lane {
        &self.lane
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
    /// Open temp files the preparing thread made ahead, by file index in ascending order (see
    /// `engine::prepare`), until the transfer takes them; dropped when the run ends.
    pub prepared: std::collections::VecDeque<(usize, std::fs::File)>,
    /// A request to the preparing thread is on its way (so the HTTP thread asks once).
    pub prepare_asked: bool,
    /// Every file before this one is transferred or discarded (where the run looks for its
    /// next file; reset when a run starts or the files change under it).
    pub next_file: usize,
    /// The store revision this record is based on (0: not stored).
    pub rev: i64,
    /// The store's progress revision last read or written.
    pub progress_rev: i64,
    /// A fingerprint of each file as last written to the store (empty: unknown).
    pub written: Vec<u64>,
    /// The state as last written to the store, to tell another process's change from ours.
    pub saved_state: JobState,
    /// Bumped by every engine-side change; `saved_gen` is the one last written.
    pub dirty_gen: u64,
    /// The `dirty_gen` the store has.
    pub saved_gen: u64,
    /// Byte progress changed since it was last written.
    pub progress_dirty: bool,
    /// This process's callbacks for the job (not persisted, as in BITS).
    pub listener: Option<Arc<dyn Listener>>,
    /// States entered since the last [`Job::publish`], in order.
    pub entered: Vec<JobState>,
    /// Files whose FILE_TRANSFERRED event went out.
    pub announced_files: Vec<bool>,
    /// Files the engine finished since the last [`Job::publish`], in order (so publishing
    /// costs nothing per file of a job with many files).
    pub finished_files: Vec<usize>,
    /// Files may have changed in a way `finished_files` does not record (a merge with the
    /// store, an undone API call): the next [`Job::publish`] looks at every file.
    pub rescan_files: bool,
    /// What the job's waiters last saw (see [`Job::notify`]).
    woken: Option<WakeKey>,
    /// Bumped by every change of the job (state, files, bytes, properties), for
    /// JobModification events (a modification time in ms cannot tell two changes apart).
    pub changes: u64,
    /// The `changes` the last JobModification event reported.
    pub announced_changes: u64,
    /// The notify command line is running.
    pub cmd_running: bool,
    /// When the current run started (its time slice counts from here).
    pub run_started: Option<Instant>,
    /// When the job last stopped running (round robin serves the longest-waiting first).
    pub last_ran: Option<Instant>,
}

/// What the threads waiting on a job's condition variable wait for: a state, the end of a
/// worker or of a Complete/Cancel, a stopped run, a test hold point.
#[derive(Clone, Copy, PartialEq, Eq)]
struct WakeKey {
    state: JobState,
    worker_active: bool,
    busy: bool,
    running: bool,
    hold: Option<(u32, u64)>,
}

impl Runtime {
    /// Marks file `index` transferred, for the FILE_TRANSFERRED notification.
    pub fn file_transferred(&mut self, index: usize) {
        self.rec.files[index].transferred = true;
        self.finished_files.push(index);
    }

    /// The job's [`Sched`] class now.
    pub fn sched_class(&self) -> Sched {
        let state = self.rec.state;
        if state.is_final() {
            Sched::Ended
        } else if matches!(
            state,
            JobState::Suspended | JobState::Error | JobState::Transferred
        ) && !self.worker_active
            && self.run.is_none()
        {
            Sched::Idle
        } else {
            Sched::Active
        }
    }

    fn wake_key(&self) -> WakeKey {
        WakeKey {
            state: self.rec.state,
            worker_active: self.worker_active,
            busy: self.busy,
            running: self.run.is_some(),
            hold: self.hold,
        }
    }

    /// Moves the job to `state` (stamping the modification time) and records the transition
    /// for the notifications.
    pub fn set_state(&mut self, state: JobState, now_ms: i64) {
        if state != self.rec.state {
            self.entered.push(state);
        }
        self.changes += 1;
        self.rec.set_state(state, now_ms);
        if !matches!(state, JobState::Transferred | JobState::Error) {
            self.rec.notify_cmd_done = None;
        }
    }

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
    /// The job waits in the store's queue of changes to write (set and cleared by it).
    pub sync_queued: AtomicBool,
    /// The engine that runs the job (set when it is registered).
    engine: once_cell::sync::OnceCell<Weak<crate::engine::Engine>>,
    /// The job's [`Sched`] class as of its last [`Job::publish`], readable without the lock.
    sched: AtomicU8,
}

/// What the scheduler has to do with a job, so that a round can pass over the jobs that need
/// nothing (most of a large queue is usually SUSPENDED) without locking each of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Sched {
    /// Nothing: SUSPENDED, ERROR or TRANSFERRED with no transfer (running or ending). Only an
    /// API call or another process changes that, and either publishes the job and wakes the
    /// scheduler afterwards.
    Idle = 0,
    /// Waiting to start, running, ending a run, or waiting for a retry.
    Active = 1,
    /// ACKNOWLEDGED or CANCELLED: the scheduler forgets it.
    Ended = 2,
}

impl Job {
    /// Wraps a record.
    pub fn new(rec: JobRecord) -> Arc<Self> {
        let job = Arc::new(Job {
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
                next_file: 0,
                prepared: std::collections::VecDeque::new(),
                prepare_asked: false,
                rev: 0,
                progress_rev: 0,
                written: Vec::new(),
                saved_state: JobState::Suspended,
                dirty_gen: 0,
                saved_gen: 0,
                progress_dirty: false,
                listener: None,
                entered: Vec::new(),
                announced_files: Vec::new(),
                finished_files: Vec::new(),
                rescan_files: false,
                woken: None,
                changes: 0,
                announced_changes: 0,
                cmd_running: false,
                run_started: None,
                last_ran: None,
            }),
            changed: Condvar::new(),
            sync_queued: AtomicBool::new(false),
            engine: once_cell::sync::OnceCell::new(),
            sched: AtomicU8::new(Sched::Active as u8),
        });
        let class = job.lock().sched_class();
        job.sched.store(class as u8, Ordering::Release);
        job
    }

    /// The job's [`Sched`] class as of its last publish: the scheduler skips `Idle` jobs and
    /// forgets `Ended` ones without taking their locks. A change that makes a job `Active`
    /// publishes it before it wakes the scheduler, so the next round sees it.
    pub fn sched(&self) -> Sched {
        match self.sched.load(Ordering::Acquire) {
            0 => Sched::Idle,
            2 => Sched::Ended,
            _ => Sched::Active,
        }
    }

    /// Locks the job. Never hold this across file I/O, libcurl or a callback.
    pub fn lock(&self) -> MutexGuard<'_, Runtime> {
        self.state.lock()
    }

    /// Wakes the threads waiting for a change of this job, and queues the notifications the
    /// change calls for. Call it after every change, without holding the job lock. Waiters
    /// are woken only when something they wait for changed (see `WakeKey`), so byte progress
    /// and finished files of a running job do not wake a thread blocked in `bg_job_wait`.
    pub fn notify(self: &Arc<Self>) {
        self.publish();
    }

    /// Wakes the threads waiting on this job's condition variable (no notifications).
    pub fn wake_waiters(&self) {
        self.changed.notify_all();
    }

    /// Ties the job to its engine (once).
    pub fn set_engine(&self, engine: Weak<crate::engine::Engine>) {
        let _ = self.engine.set(engine);
    }

    /// Compares the job with what was last announced and queues the events (spec §3.9):
    /// JobTransferred / JobError on entering those states, FileTransferred per finished file in
    /// order, JobModification for any other change (coalesced by the dispatcher). Also starts
    /// the notify command line when TRANSFERRED or ERROR is entered and no callback takes it.
    pub fn publish(self: &Arc<Self>) {
        let command = {
            let mut rt = self.lock();
            self.sched.store(rt.sched_class() as u8, Ordering::Release);
            let key = rt.wake_key();
            if rt.woken != Some(key) {
                rt.woken = Some(key);
                self.changed.notify_all();
            }
            let entered = std::mem::take(&mut rt.entered);
            let flags = rt.rec.notify_flags;
            let interval = Duration::from_millis(u64::from(rt.rec.min_notify_interval_ms));
            let listener = rt
                .listener
                .clone()
                .filter(|_| flags & notify::FLAG_DISABLE == 0);
            let mut state_event = false;
            let mut command = None;
            let mut touch = false;
            for state in &entered {
                let event = match state {
                    JobState::Transferred => {
                        state_event = true;
                        (flags & notify::FLAG_TRANSFERRED != 0).then_some(Event::Transferred)
                    }
                    JobState::Error => {
                        state_event = true;
                        let err = rt.rec.error.clone().unwrap_or(JobError {
                            context: 0,
                            code: 0,
                            file_index: None,
                            description: String::new(),
                        });
                        (flags & notify::FLAG_ERROR != 0).then_some(Event::Error(err))
                    }
                    _ => None,
                };
                if matches!(state, JobState::Transferred | JobState::Error) {
                    let taken = listener.as_ref().is_some_and(|l| {
                        event.is_some()
                            && if *state == JobState::Transferred {
                                l.takes_transferred()
                            } else {
                                l.takes_error()
                            }
                    });
                    if taken {
                        // A callback took the event: the command line must not run for it,
                        // not even in the process that takes the lease after a restart.
                        if rt.rec.notify_cmd.is_some() && rt.rec.notify_cmd_done != Some(*state) {
                            rt.rec.notify_cmd_done = Some(*state);
                            rt.mark_dirty();
                            touch = true;
                        }
                    } else if notify::command_wanted(flags, *state) {
                        command = rt.rec.notify_cmd.clone().map(|c| (c, *state));
                    }
                }
                if let (Some(l), Some(e)) = (&listener, event) {
                    notify::post(l.clone(), self.clone(), e, interval);
                }
            }
            let n = rt.rec.files.len();
            rt.announced_files.resize(n, false);
            let look_at: Vec<usize> = if std::mem::take(&mut rt.rescan_files) {
                rt.finished_files.clear();
                (0..n).collect()
            } else {
                std::mem::take(&mut rt.finished_files)
            };
            for i in look_at.into_iter().filter(|&i| i < n) {
                let done = rt.rec.files[i].transferred;
                if done && !rt.announced_files[i] {
                    rt.announced_files[i] = true;
                    if let Some(l) = listener
                        .as_ref()
                        .filter(|_| flags & notify::FLAG_FILE_TRANSFERRED != 0)
                    {
                        notify::post(
                            l.clone(),
                            self.clone(),
                            Event::FileTransferred(i as u32),
                            interval,
                        );
                    }
                } else if !done {
                    rt.announced_files[i] = false;
                }
            }
            if rt.changes != rt.announced_changes {
                rt.announced_changes = rt.changes;
                // Not for the transitions to TRANSFERRED or ERROR (spec §3.9).
                if !state_event
                    || entered
                        .iter()
                        .any(|s| !matches!(s, JobState::Transferred | JobState::Error))
                {
                    if let Some(l) = listener
                        .as_ref()
                        .filter(|_| flags & notify::FLAG_MODIFICATION != 0)
                    {
                        notify::post(l.clone(), self.clone(), Event::Modification, interval);
                    }
                }
            }
            (command, touch || state_event)
        };
        let (command, touch) = command;
        // After entering TRANSFERRED or ERROR, the sync thread writes the job only once this
        // ran (see `Persist::flush_all`): tell it, so the write follows at once.
        if touch {
            if let Some(engine) = self.engine.get().and_then(Weak::upgrade) {
                engine.touch(self);
            }
        }
        if let Some((cmd, state)) = command {
            self.run_command(cmd, state);
        }
    }

    /// Runs the notify command line for `state` if this process's engine holds the lease and it
    /// has not succeeded for this entry of the state yet; reruns it after MinimumRetryDelay
    /// while it fails and the job stays in that state.
    pub fn run_command(self: &Arc<Self>, cmd: notify::CommandLine, state: JobState) {
        let Some(engine) = self.engine.get().and_then(Weak::upgrade) else {
            return;
        };
        if !engine.has_lease() {
            return;
        }
        {
            let mut rt = self.lock();
            if rt.rec.state != state || rt.rec.notify_cmd_done == Some(state) || rt.cmd_running {
                return;
            }
            rt.cmd_running = true;
        }
        let job = self.clone();
        notify::spawn_command(
            cmd,
            Box::new(move |ok| {
                let retry = {
                    let mut rt = job.lock();
                    rt.cmd_running = false;
                    if ok {
                        if rt.rec.state == state {
                            rt.rec.notify_cmd_done = Some(state);
                            rt.mark_dirty();
                        }
                        None
                    } else if rt.rec.state == state {
                        let floor = engine.options().retry_floor_ms;
                        Some(Duration::from_millis(
                            (u64::from(rt.rec.min_retry_delay_s) * 1000).max(floor),
                        ))
                    } else {
                        None
                    }
                };
                // A closing engine waits for this (see `Engine::shutdown`).
                job.wake_waiters();
                engine.touch(&job);
                if let Some(delay) = retry {
                    std::thread::sleep(delay);
                    let cmd = job.lock().rec.notify_cmd.clone();
                    if let Some(cmd) = cmd {
                        job.run_command(cmd, state);
                    }
                }
            }),
        );
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
        self.wake_waiters();
        while guard.worker_active {
            self.wait(guard, None);
        }
    }

    /// Ends a claim taken with [`Job::claim_files`].
    pub fn release_files(&self, guard: &mut MutexGuard<'_, Runtime>) {
        guard.busy = false;
        self.wake_waiters();
    }
}
