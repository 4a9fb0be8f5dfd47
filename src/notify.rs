//! Notifications: one process-wide dispatcher thread delivers job events to listeners (the C
//! callbacks) outside every library lock, in event order per job; and the command line a job
//! runs on TRANSFERRED or ERROR when no callback takes the event (BITS' SetNotifyCmdLine).
//!
//! Events are queued (never delivered) under the job lock, so a slow callback only delays later
//! callbacks, never a transfer, and a callback may call any bgcopy function. JobModification
//! events are coalesced per job to the job's minimum notification interval.

use crate::engine::Job;
use crate::model::job::JobError;
use crate::model::Guid;
use once_cell::sync::Lazy;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// `BG_NOTIFY_JOB_TRANSFERRED`.
pub(crate) const FLAG_TRANSFERRED: u32 = 0x1;
/// `BG_NOTIFY_JOB_ERROR`.
pub(crate) const FLAG_ERROR: u32 = 0x2;
/// `BG_NOTIFY_DISABLE`.
pub(crate) const FLAG_DISABLE: u32 = 0x4;
/// `BG_NOTIFY_JOB_MODIFICATION`.
pub(crate) const FLAG_MODIFICATION: u32 = 0x8;
/// `BG_NOTIFY_FILE_TRANSFERRED`.
pub(crate) const FLAG_FILE_TRANSFERRED: u32 = 0x10;

/// A job event (spec §3.9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The job reached TRANSFERRED.
    Transferred,
    /// The job reached ERROR.
    Error(JobError),
    /// The job changed (state, progress, files, properties).
    Modification,
    /// File `.0` finished.
    FileTransferred(u32),
}

/// Who hears a job's events: the C callbacks of the process that set them.
pub trait Listener: Send + Sync + std::any::Any {
    /// The listener as `Any`, so the C layer can read its callbacks back.
    fn as_any(&self) -> &dyn std::any::Any;
    /// Delivers one event (on the dispatcher thread, no library lock held).
    fn deliver(&self, job: &Arc<Job>, event: &Event);
    /// Whether a callback takes TRANSFERRED (else the command line runs).
    fn takes_transferred(&self) -> bool;
    /// Whether a callback takes ERROR (else the command line runs).
    fn takes_error(&self) -> bool;
}

enum Msg {
    Event {
        listener: Arc<dyn Listener>,
        job: Arc<Job>,
        event: Event,
        interval: Duration,
    },
    /// Runs a finaliser (a listener's `user_data_free`) after the events queued before it.
    Run(Box<dyn FnOnce() + Send>),
}

struct Dispatcher {
    tx: Mutex<Sender<Msg>>,
}

static DISPATCHER: Lazy<Dispatcher> = Lazy::new(|| {
    let (tx, rx) = mpsc::channel();
    let _ = std::thread::Builder::new()
        .name("bgcopy-notify".into())
        .spawn(move || run(rx));
    Dispatcher { tx: Mutex::new(tx) }
});

thread_local! {
    static ON_DISPATCHER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether the current thread is the dispatcher (a callback is running on it).
pub fn on_dispatcher_thread() -> bool {
    ON_DISPATCHER.with(|c| c.get())
}

/// Queues an event (cheap; may be called with the job lock held). Events already queued are
/// delivered even if the callbacks are replaced meanwhile (their `user_data_free` runs after
/// them); only a JobModification held back by the coalescing is dropped then.
pub fn post(listener: Arc<dyn Listener>, job: Arc<Job>, event: Event, interval: Duration) {
    let _ = DISPATCHER.tx.lock().send(Msg::Event {
        listener,
        job,
        event,
        interval,
    });
}

/// Runs `f` on the dispatcher thread after every event queued so far (used to free user data
/// exactly once, never under a library lock and never before a queued callback that uses it).
pub fn run_after_events(f: Box<dyn FnOnce() + Send>) {
    let _ = DISPATCHER.tx.lock().send(Msg::Run(f));
}

struct Pending {
    listener: Weak<dyn Listener>,
    job: Arc<Job>,
    due: Instant,
}

fn run(rx: Receiver<Msg>) {
    ON_DISPATCHER.with(|c| c.set(true));
    // Per job: when its last modification event went out, and one held back until then.
    let mut last_mod: HashMap<Guid, Instant> = HashMap::new();
    let mut pending: HashMap<Guid, Pending> = HashMap::new();
    loop {
        let next_due = pending.values().map(|p| p.due).min();
        let msg = match next_due {
            Some(due) => match rx.recv_timeout(due.saturating_duration_since(Instant::now())) {
                Ok(m) => Some(m),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return,
            },
            None => match rx.recv() {
                Ok(m) => Some(m),
                Err(_) => return,
            },
        };
        let now = Instant::now();
        let due: Vec<Guid> = pending
            .iter()
            .filter(|(_, p)| p.due <= now)
            .map(|(k, _)| *k)
            .collect();
        for key in due {
            if let Some(p) = pending.remove(&key) {
                last_mod.insert(key, Instant::now());
                deliver(&p.listener, &p.job, &Event::Modification);
            }
        }
        match msg {
            None => {}
            Some(Msg::Run(f)) => {
                let _ = crate::ffi::boundary::guard(f);
            }
            Some(Msg::Event {
                listener,
                job,
                event,
                interval,
            }) => {
                let key = job.id;
                if event == Event::Modification {
                    let earliest = last_mod.get(&key).map(|t| *t + interval);
                    match earliest {
                        Some(t) if t > now => {
                            // Held back weakly: replacing the callbacks drops it.
                            pending.entry(key).or_insert(Pending {
                                listener: Arc::downgrade(&listener),
                                job,
                                due: t,
                            });
                        }
                        _ => {
                            pending.remove(&key);
                            last_mod.insert(key, now);
                            deliver(&Arc::downgrade(&listener), &job, &event);
                        }
                    }
                } else {
                    // A state or file event goes out at once, after a held-back modification
                    // of the same job (event order per job).
                    if let Some(p) = pending.remove(&key) {
                        last_mod.insert(key, now);
                        deliver(&p.listener, &p.job, &Event::Modification);
                    }
                    deliver(&Arc::downgrade(&listener), &job, &event);
                }
            }
        }
        if last_mod.len() > 4096 {
            let cutoff = Instant::now() - Duration::from_secs(60);
            last_mod.retain(|_, t| *t > cutoff);
        }
    }
}

fn deliver(listener: &Weak<dyn Listener>, job: &Arc<Job>, event: &Event) {
    // Callbacks removed or replaced meanwhile get nothing more.
    let Some(listener) = listener.upgrade() else {
        return;
    };
    // A panicking (or, from C, unwinding) callback must not take the dispatcher down.
    let _ = crate::ffi::boundary::guard(|| listener.deliver(job, event));
    // The last reference may go here: its finaliser then runs after the queued events.
    drop(listener);
}

/// Whether the command line runs for entering `state` under notify `flags` (spec §3.3, §3.9):
/// TRANSFERRED needs `BG_NOTIFY_JOB_TRANSFERRED`, ERROR needs `BG_NOTIFY_JOB_ERROR`, and
/// `BG_NOTIFY_DISABLE` stops both; the modification and file flags do not matter.
pub fn command_wanted(flags: u32, state: crate::model::JobState) -> bool {
    use crate::model::JobState;
    if flags & FLAG_DISABLE != 0 {
        return false;
    }
    match state {
        JobState::Transferred => flags & FLAG_TRANSFERRED != 0,
        JobState::Error => flags & FLAG_ERROR != 0,
        _ => false,
    }
}

/// A command line to run (spec §3.3): an absolute program and its arguments, passed as an argv
/// array (never through a shell).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CommandLine {
    /// The program (absolute path).
    pub program: String,
    /// Its arguments (argv[1..]).
    pub args: Vec<String>,
}

/// Runs `cmd` on a thread of its own; calls `done(success)` when it has exited.
pub fn spawn_command(cmd: CommandLine, done: Box<dyn FnOnce(bool) + Send>) {
    let _ = std::thread::Builder::new()
        .name("bgcopy-cmdline".into())
        .spawn(move || {
            let status = std::process::Command::new(&cmd.program)
                .args(&cmd.args)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
            done(matches!(status, Ok(s) if s.success()));
        });
}
