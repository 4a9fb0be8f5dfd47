//! The engine: a scheduler thread that picks QUEUED jobs by priority and starts their runs
//! within the manager's limits, retries jobs in TRANSIENT_ERROR when their delay is over, and
//! owns the HTTP thread. No C call ever waits for a transfer; callers change job state and wake
//! the scheduler.
//!
//! Lock order: scheduler lock, then a job lock, then the options lock. The HTTP thread's waker
//! takes no lock.

mod copy;
pub mod http;
pub mod job;
mod lanes;
mod prepare;
mod runner;
pub mod throttle;

pub use job::{Job, RunControl, Runtime};

use crate::model::{JobState, Priority};
use parking_lot::{Condvar, Mutex, MutexGuard};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long closing an engine waits for notify command lines that are still running.
const COMMAND_GRACE: Duration = Duration::from_secs(2);

/// Engine settings (the manager options that exist so far).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// Background (HIGH/NORMAL/LOW) jobs transferring at once.
    pub max_background: u64,
    /// Connections libcurl opens to one host at most.
    pub max_host_connections: u64,
    /// A transfer that receives nothing for this long fails with a transient `BG_E_TIMEOUT`.
    pub stall_timeout_ms: u64,
    /// No retry happens sooner than this (BITS: 5 s); tests lower it.
    pub retry_floor_ms: u64,
    /// Length of a time slice for background jobs of equal priority sharing the slots.
    pub time_slice_ms: u64,
    /// Cap on the bytes per second of all background jobs together (0 = none).
    pub background_rate_bps: u64,
    /// While a foreground job transfers, background jobs get this share (percent) of the cap,
    /// or of the foreground jobs' own rate when there is no cap.
    pub foreground_yield_percent: u64,
    /// The background cap applies from this minute of the day (local time)...
    pub rate_window_start_min: u64,
    /// ...until this one (exclusive; past midnight when smaller). Equal: all day.
    pub rate_window_end_min: u64,
}

impl Options {
    /// The background cap in force now (0 = none): the cap inside its time window, none
    /// outside it (like BITS' bandwidth-limit schedule).
    pub fn background_rate_now(&self) -> u64 {
        // Asked for every chunk received: read the clock only when a window applies.
        if self.background_rate_bps == 0 || self.rate_window_start_min == self.rate_window_end_min {
            return self.background_rate_bps;
        }
        if in_window(
            self.rate_window_start_min,
            self.rate_window_end_min,
            local_minute_of_day(),
        ) {
            self.background_rate_bps
        } else {
            0
        }
    }
}

/// Whether `minute` (of the day) lies in [start, end), wrapping past midnight; start == end
/// means the whole day.
pub fn in_window(start: u64, end: u64, minute: u64) -> bool {
    match start.cmp(&end) {
        std::cmp::Ordering::Equal => true,
        std::cmp::Ordering::Less => (start..end).contains(&minute),
        std::cmp::Ordering::Greater => minute >= start || minute < end,
    }
}

/// The current minute of the day in local time.
fn local_minute_of_day() -> u64 {
    // SAFETY: time() and localtime_r() write only to the locals given.
    unsafe {
        let now = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&now, &mut tm).is_null() {
            return 0;
        }
        (tm.tm_hour as u64) * 60 + tm.tm_min as u64
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_background: 4,
            max_host_connections: 6,
            stall_timeout_ms: 300_000,
            retry_floor_ms: 5_000,
            time_slice_ms: 60_000,
            background_rate_bps: 0,
            foreground_yield_percent: 10,
            rate_window_start_min: 0,
            rate_window_end_min: 0,
        }
    }
}

/// The hook told about every engine-side change of a job (see [`Engine::set_touch`]).
pub type TouchHook = Box<dyn Fn(&Arc<Job>) + Send + Sync>;

struct Sched {
    /// Jobs the scheduler knows, in the order they were created (FIFO within a priority).
    jobs: Vec<Arc<Job>>,
    /// Bumped by every wake, so the scheduler never sleeps through one that came while it
    /// was busy (it starts runs without holding this lock).
    epoch: u64,
    shutdown: bool,
}

/// One manager's transfer engine.
pub struct Engine {
    sched: Mutex<Sched>,
    wake: Condvar,
    options: Mutex<Options>,
    /// The HTTP threads.
    lanes: once_cell::sync::OnceCell<lanes::Lanes>,
    /// Creates temp files ahead of the HTTP thread.
    prepare: prepare::Preparer,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// Called (with no lock held by the caller's job) after every engine-side change of a job,
    /// so the manager can persist it.
    touch: once_cell::sync::OnceCell<TouchHook>,
    /// Whether this engine may start transfers (it holds the state directory's engine lease).
    lease: std::sync::atomic::AtomicBool,
    /// Bandwidth limits of the HTTP transfers.
    pub(crate) throttle: throttle::Throttle,
}

impl Engine {
    /// Starts the scheduler and HTTP threads.
    pub fn start() -> std::io::Result<Arc<Engine>> {
        let engine = Arc::new(Engine {
            sched: Mutex::new(Sched {
                jobs: Vec::new(),
                epoch: 0,
                shutdown: false,
            }),
            wake: Condvar::new(),
            options: Mutex::new(Options::default()),
            lanes: once_cell::sync::OnceCell::new(),
            prepare: prepare::Preparer::start()?,
            thread: Mutex::new(None),
            touch: once_cell::sync::OnceCell::new(),
            lease: std::sync::atomic::AtomicBool::new(true),
            throttle: throttle::Throttle::default(),
        });
        let max_host = engine.options().max_host_connections as usize;
        let lanes = match lanes::Lanes::start(
            Arc::downgrade(&engine),
            lanes::Lanes::default_count(),
            max_host,
        ) {
            Ok(lanes) => lanes,
            Err(e) => {
                engine.prepare.shutdown();
                return Err(e);
            }
        };
        let _ = engine.lanes.set(lanes);
        let weak = Arc::downgrade(&engine);
        let thread = std::thread::Builder::new()
            .name("bgcopy-scheduler".into())
            .spawn(move || {
                let _ = crate::ffi::boundary::guard(|| scheduler_loop(weak));
            });
        match thread {
            Ok(thread) => *engine.thread.lock() = Some(thread),
            Err(e) => {
                engine.lanes().shutdown();
                engine.prepare.shutdown();
                return Err(e);
            }
        }
        Ok(engine)
    }

    /// The HTTP threads.
    pub(crate) fn lanes(&self) -> &lanes::Lanes {
        self.lanes
            .get()
            .expect("the HTTP threads are set when the engine starts")
    }

    /// The thread that creates temp files ahead of the HTTP thread.
    pub(crate) fn preparer(&self) -> &prepare::Preparer {
        &self.prepare
    }

    /// A new run, placed on an HTTP thread; stopping it interrupts that thread's wait.
    pub(crate) fn new_run(&self) -> Arc<job::RunControl> {
        let lane = self.lanes().assign();
        job::RunControl::new(self.lanes().driver(&lane).waker(), lane)
    }

    /// Sets the hook told about every engine-side change of a job (once).
    pub fn set_touch(&self, touch: TouchHook) {
        let _ = self.touch.set(touch);
    }

    /// Tells the manager that the engine changed `job`.
    pub(crate) fn touch(&self, job: &Arc<Job>) {
        if let Some(touch) = self.touch.get() {
            touch(job);
        }
    }

    /// Whether this engine holds the lease and may transfer.
    pub fn has_lease(&self) -> bool {
        self.lease.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Grants or withdraws the right to transfer. Withdrawing stops every run (jobs keep
    /// their states, the new lease holder continues them).
    pub fn set_lease(&self, held: bool) {
        self.lease.store(held, std::sync::atomic::Ordering::SeqCst);
        if !held {
            let jobs = self.sched.lock().jobs.clone();
            for job in jobs {
                job.lock().stop_run();
                job.notify();
            }
        }
        self.wake();
    }

    /// Every job the scheduler knows.
    pub fn jobs(&self) -> Vec<Arc<Job>> {
        self.sched.lock().jobs.clone()
    }

    /// Makes a new job known to the scheduler (once per job).
    pub fn register(self: &Arc<Self>, job: Arc<Job>) {
        job.set_engine(Arc::downgrade(self));
        self.sched.lock().jobs.push(job);
    }

    /// Tells the scheduler that something changed (a job was queued, a run ended).
    pub fn wake(&self) {
        let mut sched = self.sched.lock();
        sched.epoch = sched.epoch.wrapping_add(1);
        self.wake.notify_all();
    }

    /// The current settings.
    pub fn options(&self) -> Options {
        *self.options.lock()
    }

    /// Changes the settings; they take effect at once.
    pub fn set_options(&self, options: Options) {
        {
            let mut current = self.options.lock();
            let old = std::mem::replace(&mut *current, options);
            // Sent under the lock (a channel send each, no wait), so two concurrent changes
            // reach the HTTP threads in the order the options took them.
            if old.max_host_connections != options.max_host_connections {
                self.lanes()
                    .set_max_host_connections(options.max_host_connections as usize);
            }
        }
        self.wake();
        self.lanes().wake();
    }

    /// Stops every transfer and joins the engine's threads. Jobs keep their states; temp files
    /// stay for a later resume. Idempotent.
    pub fn shutdown(&self) {
        let jobs = {
            let mut sched = self.sched.lock();
            sched.shutdown = true;
            self.wake.notify_all();
            sched.jobs.clone()
        };
        for job in &jobs {
            job.lock().stop_run();
            job.notify();
        }
        self.lanes().shutdown();
        self.prepare.shutdown();
        if let Some(thread) = self.thread.lock().take() {
            let _ = thread.join();
        }
        // Copy threads leave at their next chunk; wait until none touches a file any more.
        for job in &jobs {
            let mut rt = job.lock();
            while rt.worker_active {
                job.wait(&mut rt, None);
            }
        }
        // A notify command line that is ending now would lose its outcome with the store
        // closed, and the next lease holder would run it again: give running ones a moment.
        let deadline = Instant::now() + COMMAND_GRACE;
        for job in &jobs {
            let mut rt = job.lock();
            while rt.cmd_running {
                if !job.wait(&mut rt, Some(deadline)) {
                    break;
                }
            }
        }
    }
}

fn scheduler_loop(engine: Weak<Engine>) {
    let Some(engine) = engine.upgrade() else {
        return;
    };
    let mut sched = engine.sched.lock();
    loop {
        if sched.shutdown {
            return;
        }
        sched.jobs.retain(|j| j.sched() != job::Sched::Ended);

        // T13: retry jobs whose delay in TRANSIENT_ERROR is over.
        let now = Instant::now();
        let mut next_retry: Option<Instant> = None;
        for job in &sched.jobs {
            if job.sched() == job::Sched::Idle {
                continue;
            }
            let mut rt = job.lock();
            if rt.rec.state != JobState::TransientError {
                continue;
            }
            match rt.retry_at {
                Some(at) if at <= now => {
                    rt.retry_at = None;
                    rt.set_state(JobState::Queued, crate::model::now_ms());
                    rt.mark_dirty();
                    drop(rt);
                    job.notify();
                    engine.touch(job);
                }
                Some(at) => next_retry = Some(next_retry.map_or(at, |n| n.min(at))),
                None => {}
            }
        }

        let plan = if engine.has_lease() {
            plan_round(&sched.jobs, engine.options(), now)
        } else {
            Plan::default()
        };
        for job in &plan.preempt {
            // T8: back to QUEUED, bytes kept; the run leaves at its next step.
            let mut rt = job.lock();
            if rt.rec.state.is_active() && rt.run.is_some() {
                rt.stop_run();
                rt.set_state(JobState::Queued, crate::model::now_ms());
                rt.mark_dirty();
            }
            drop(rt);
            job.notify();
            engine.touch(job);
        }
        let to_start = plan.start;
        let next_slice = plan.next_slice_end;
        // Start runs without the scheduler lock: a run can end at once (and wake us).
        let seen = sched.epoch;
        let started = !to_start.is_empty();
        MutexGuard::unlocked(&mut sched, || {
            for job in to_start {
                runner::start(&engine, &job);
            }
        });
        // Plan again after starting runs: their slices need a wake-up too.
        if started || sched.epoch != seen || sched.shutdown {
            continue;
        }
        let next_retry = match (next_retry, next_slice) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match next_retry {
            Some(at) => {
                engine.wake.wait_until(&mut sched, at);
            }
            None => engine.wake.wait(&mut sched),
        }
    }
}

/// What one scheduling round decided.
#[derive(Default)]
struct Plan {
    /// QUEUED jobs to start now.
    start: Vec<Arc<Job>>,
    /// Running background jobs to send back to QUEUED (preempted, or their slice is over).
    preempt: Vec<Arc<Job>>,
    /// When a running job's time slice ends while others of its priority wait.
    next_slice_end: Option<Instant>,
}

/// The scheduling rules (spec §1.2): every FOREGROUND job runs at once; background slots go
/// by priority (HIGH > NORMAL > LOW), a higher priority preempting a lower one; jobs of equal
/// priority share the slots in time slices, the one that waited longest going first.
fn plan_round(jobs: &[Arc<Job>], options: Options, now: Instant) -> Plan {
    let slice = Duration::from_millis(options.time_slice_ms.max(1));
    struct Cand {
        job: Arc<Job>,
        priority: Priority,
        running: bool,
        expired: bool,
        since: Option<Instant>,
        order: usize,
        slice_end: Option<Instant>,
    }
    let mut plan = Plan::default();
    let mut cands = Vec::new();
    let mut leaving = 0usize;
    for (order, job) in jobs.iter().enumerate() {
        if job.sched() == job::Sched::Idle {
            continue;
        }
        let rt = job.lock();
        let running = rt.worker_active && rt.run.is_some() && rt.rec.state.is_active();
        let waiting = rt.rec.state == JobState::Queued && !rt.worker_active && !rt.busy;
        if rt.rec.priority == Priority::Foreground {
            if waiting {
                plan.start.push(job.clone());
            }
            continue;
        }
        // A run stopped but not yet gone still occupies a slot: nothing new starts in it, but
        // it takes no part in the ranking (it can preempt no one).
        if rt.worker_active && !running {
            leaving += 1;
            continue;
        }
        if running || waiting {
            let slice_end = rt.run_started.map(|t| t + slice);
            cands.push(Cand {
                job: job.clone(),
                priority: rt.rec.priority,
                running,
                expired: running && slice_end.is_some_and(|e| e <= now),
                since: if running { rt.run_started } else { rt.last_ran },
                order,
                slice_end,
            });
        }
    }
    // Best first: higher priority; within one, running jobs inside their slice, then waiting
    // jobs (longest waiting first), then running jobs whose slice is over.
    cands.sort_by_key(|c| {
        let rank = match (c.running, c.expired) {
            (true, false) => 0,
            (false, _) => 1,
            (true, true) => 2,
        };
        (c.priority, rank, c.since, c.order)
    });
    let slots = options.max_background as usize;
    let busy_slots = cands.iter().filter(|c| c.running).count() + leaving;
    let mut free = slots.saturating_sub(busy_slots);
    for (i, c) in cands.iter().enumerate() {
        let keep = i < slots;
        if c.running && !keep {
            plan.preempt.push(c.job.clone());
        } else if !c.running && keep && free > 0 {
            free -= 1;
            plan.start.push(c.job.clone());
        }
    }
    // Wake when a slice ends, if someone of that priority waits for it.
    for c in cands.iter().filter(|c| c.running && !c.expired) {
        if cands.iter().any(|w| !w.running && w.priority == c.priority) {
            if let Some(end) = c.slice_end {
                plan.next_slice_end =
                    Some(plan.next_slice_end.map_or(end, |n: Instant| n.min(end)));
            }
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::in_window;

    #[test]
    fn rate_windows() {
        assert!(in_window(0, 0, 0) && in_window(0, 0, 1439));
        assert!(in_window(540, 1020, 540) && in_window(540, 1020, 1019));
        assert!(!in_window(540, 1020, 1020) && !in_window(540, 1020, 100));
        assert!(in_window(1320, 360, 1400) && in_window(1320, 360, 10));
        assert!(!in_window(1320, 360, 720));
    }

    /// The scheduler skips `Idle` jobs unlocked: the class must follow every published change.
    #[test]
    fn sched_class_follows_publish() {
        use super::job::{Job, Sched};
        use crate::model::{Guid, JobRecord, JobState, JobType};
        let rec = JobRecord::new(
            Guid::new_random().unwrap(),
            JobType::Download,
            "t".into(),
            0,
        );
        let job = Job::new(rec);
        assert_eq!(job.sched(), Sched::Idle, "a new job is SUSPENDED");
        job.lock().set_state(JobState::Queued, 0);
        assert_eq!(job.sched(), Sched::Idle, "unchanged until published");
        job.notify();
        assert_eq!(job.sched(), Sched::Active);
        let cases = [
            (JobState::Error, Sched::Idle),
            (JobState::Transferred, Sched::Idle),
            (JobState::Connecting, Sched::Active),
            (JobState::Transferring, Sched::Active),
            (JobState::TransientError, Sched::Active),
            (JobState::Suspended, Sched::Idle),
        ];
        for (state, want) in cases {
            job.lock().set_state(state, 0);
            job.notify();
            assert_eq!(job.sched(), want, "{state:?}");
        }
        // A run that is still ending occupies a slot: not idle until it is gone.
        job.lock().worker_active = true;
        job.notify();
        assert_eq!(job.sched(), Sched::Active);
        job.lock().worker_active = false;
        job.notify();
        assert_eq!(job.sched(), Sched::Idle);
        for state in [JobState::Acknowledged, JobState::Cancelled] {
            job.lock().set_state(state, 0);
            job.notify();
            assert_eq!(job.sched(), Sched::Ended, "{state:?}");
        }
        // A job loaded in an active state is active from the start.
        let mut rec = JobRecord::new(
            Guid::new_random().unwrap(),
            JobType::Download,
            "t".into(),
            0,
        );
        rec.state = JobState::Queued;
        assert_eq!(Job::new(rec).sched(), Sched::Active);
    }
}
