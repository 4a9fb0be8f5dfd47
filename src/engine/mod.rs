//! The engine: a scheduler thread that picks QUEUED jobs by priority and starts their
//! transfers, within the manager's concurrency limit. No C call ever waits for a transfer; the
//! callers only change job state and wake the scheduler.
//!
//! Lock order: the scheduler lock may be held while a job lock is taken, never the reverse.

pub mod job;
mod worker;

pub use job::{Job, RunControl, Runtime};

use crate::model::{JobState, Priority};
use parking_lot::{Condvar, Mutex};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;

/// Default number of background (HIGH/NORMAL/LOW) jobs transferring at once.
pub(crate) const DEFAULT_MAX_BACKGROUND_TRANSFERS: u64 = 4;
/// Upper bound for `BG_OPTION_MAX_BACKGROUND_TRANSFERS`.
pub(crate) const MAX_BACKGROUND_TRANSFERS_LIMIT: u64 = 256;

struct Running {
    thread: JoinHandle<()>,
    foreground: bool,
}

struct Sched {
    /// Jobs the scheduler knows, in the order they were queued (FIFO within a priority).
    jobs: Vec<Arc<Job>>,
    running: Vec<Running>,
    max_background: u64,
    shutdown: bool,
}

/// One manager's transfer engine.
pub struct Engine {
    sched: Mutex<Sched>,
    wake: Condvar,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Engine {
    /// Starts the scheduler thread.
    pub fn start() -> std::io::Result<Arc<Engine>> {
        let engine = Arc::new(Engine {
            sched: Mutex::new(Sched {
                jobs: Vec::new(),
                running: Vec::new(),
                max_background: DEFAULT_MAX_BACKGROUND_TRANSFERS,
                shutdown: false,
            }),
            wake: Condvar::new(),
            thread: Mutex::new(None),
        });
        let weak = Arc::downgrade(&engine);
        let thread = std::thread::Builder::new()
            .name("bgcopy-scheduler".into())
            .spawn(move || scheduler_loop(weak))?;
        *engine.thread.lock() = Some(thread);
        Ok(engine)
    }

    /// Makes a job known to the scheduler (at creation or when found again).
    pub fn register(&self, job: Arc<Job>) {
        let mut sched = self.sched.lock();
        if !sched.jobs.iter().any(|j| Arc::ptr_eq(j, &job)) {
            sched.jobs.push(job);
        }
    }

    /// Tells the scheduler that something changed (a job was queued, a worker left).
    pub fn wake(&self) {
        let _sched = self.sched.lock();
        self.wake.notify_all();
    }

    /// The concurrency limit for background jobs.
    pub fn max_background(&self) -> u64 {
        self.sched.lock().max_background
    }

    /// Changes the concurrency limit; takes effect at the next scheduling round.
    pub fn set_max_background(&self, value: u64) {
        self.sched.lock().max_background = value;
        self.wake.notify_all();
    }

    /// Stops every transfer and joins the scheduler and the workers. Jobs keep their states;
    /// temp files stay for a later resume. Idempotent.
    pub fn shutdown(&self) {
        let running = {
            let mut sched = self.sched.lock();
            sched.shutdown = true;
            for job in &sched.jobs {
                job.lock().stop_run();
            }
            self.wake.notify_all();
            std::mem::take(&mut sched.running)
        };
        for r in running {
            let _ = r.thread.join();
        }
        let thread = self.thread.lock().take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
        // A worker still joining may have been started just before shutdown was seen.
        let late = std::mem::take(&mut self.sched.lock().running);
        for r in late {
            let _ = r.thread.join();
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
        // Reap workers that have left; joining a finished thread does not block.
        let (done, still): (Vec<_>, Vec<_>) = std::mem::take(&mut sched.running)
            .into_iter()
            .partition(|r| r.thread.is_finished());
        sched.running = still;
        for r in done {
            let _ = r.thread.join();
        }
        sched.jobs.retain(|j| !j.lock().rec.state.is_final());

        let mut candidates: Vec<(Priority, usize, Arc<Job>)> = sched
            .jobs
            .iter()
            .enumerate()
            .filter_map(|(order, job)| {
                let rt = job.lock();
                (rt.rec.state == JobState::Queued && !rt.worker_active)
                    .then(|| (rt.rec.priority, order, job.clone()))
            })
            .collect();
        candidates.sort_by_key(|(priority, order, _)| (*priority, *order));
        let mut background = sched.running.iter().filter(|r| !r.foreground).count() as u64;
        for (priority, _, job) in candidates {
            let foreground = priority == Priority::Foreground;
            if !foreground && background >= sched.max_background {
                continue;
            }
            if let Some(thread) = worker::start(&engine, &job) {
                if !foreground {
                    background += 1;
                }
                sched.running.push(Running { thread, foreground });
            }
        }
        engine.wake.wait(&mut sched);
    }
}
