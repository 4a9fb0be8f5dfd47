//! An HTTP thread: the HTTP(S) transfers of the runs placed on it (see [`super::lanes`]) run
//! here, on one libcurl multi handle, so many concurrent jobs share the thread and its connection
//! cache (keep-alive across files and jobs). It also detects stalls: a transfer that receives
//! nothing for the manager's stall timeout fails with a transient `BG_E_TIMEOUT` instead of
//! hanging.

use super::job::{Job, RunControl};
use super::prepare;
use super::runner::{self, FileOutcome};
use super::Engine;
use crate::ffi::boundary;
use crate::hresult::{BG_ERROR_CONTEXT_GENERAL_TRANSPORT, BG_E_TIMEOUT};
use crate::model::job::SIZE_UNKNOWN;
use crate::model::retry::Failure;
use crate::model::Validator;
use crate::transport::http::{self, Outcome, Request, Sink, Slot};
use crate::transport::TransferError;
use curl::easy::Easy2;
use curl::multi::{Easy2Handle, Multi, MultiWaker};
use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A file to fetch.
pub struct Transfer {
    /// The job.
    pub job: Arc<Job>,
    /// The run it belongs to.
    pub run: Arc<RunControl>,
    /// Which file.
    pub index: usize,
    /// Its URL.
    pub url: String,
}

/// How long an HTTP thread with no transfer waits before it looks again (it is woken for
/// anything new before that).
const IDLE_WAIT: Duration = Duration::from_secs(5);

/// Idle libcurl handles kept for reuse, at most.
const POOL_MAX: usize = 64;

thread_local! {
    /// On an HTTP thread: its driver's id and the files submitted from the thread itself
    /// (a finished file's job starting its next one), started without a channel or a wake-up.
    static LOCAL: RefCell<Option<(usize, Vec<Transfer>)>> = const { RefCell::new(None) };
}

enum Cmd {
    Start(Transfer),
    MaxHostConnections(usize),
    Shutdown,
}

/// The handle other threads use to reach the HTTP thread.
pub struct HttpDriver {
    /// Tells this driver's thread from other managers' HTTP threads.
    id: usize,
    tx: parking_lot::Mutex<Sender<Cmd>>,
    waker: Arc<MultiWaker>,
    thread: parking_lot::Mutex<Option<JoinHandle<()>>>,
}

impl HttpDriver {
    /// Starts an HTTP thread for `engine`, with libcurl's limit of connections per host at
    /// `max_host` (at least 1).
    pub(super) fn start(engine: Weak<Engine>, max_host: usize) -> std::io::Result<HttpDriver> {
        static NEXT_ID: AtomicUsize = AtomicUsize::new(1);
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel();
        let (waker_tx, waker_rx) = mpsc::sync_channel(1);
        let thread = std::thread::Builder::new()
            .name("bgcopy-http".into())
            .spawn(move || {
                let mut multi = Multi::new();
                let _ = multi.set_max_host_connections(max_host.max(1));
                let _ = waker_tx.send(multi.waker());
                let _ = boundary::guard(|| {
                    LOCAL.with(|l| *l.borrow_mut() = Some((id, Vec::new())));
                    run(engine, multi, rx)
                });
            })?;
        let waker = waker_rx
            .recv()
            .map_err(|_| std::io::Error::other("the HTTP thread did not start"))?;
        Ok(HttpDriver {
            id,
            tx: parking_lot::Mutex::new(tx),
            waker: Arc::new(waker),
            thread: parking_lot::Mutex::new(Some(thread)),
        })
    }

    fn send(&self, cmd: Cmd) {
        let _ = self.tx.lock().send(cmd);
        self.wake();
    }

    /// Hands a file to the HTTP thread.
    pub fn submit(&self, transfer: Transfer) {
        let me = self.id;
        let transfer = LOCAL.with(|local| match local.borrow_mut().as_mut() {
            Some((driver, queue)) if *driver == me => {
                queue.push(transfer);
                None
            }
            _ => Some(transfer),
        });
        if let Some(transfer) = transfer {
            self.send(Cmd::Start(transfer));
        }
    }

    /// Wakes the HTTP thread (lock-free; safe with any lock held).
    pub fn wake(&self) {
        let _ = self.waker.wakeup();
    }

    /// A waker for runs, so stopping one interrupts the HTTP thread's wait.
    pub fn waker(&self) -> Arc<dyn Fn() + Send + Sync> {
        let w = self.waker.clone();
        Arc::new(move || {
            let _ = w.wakeup();
        })
    }

    /// Sets libcurl's limit of connections per host.
    pub fn set_max_host_connections(&self, n: usize) {
        self.send(Cmd::MaxHostConnections(n));
    }

    /// Stops every transfer (each ends as stopped) and joins the thread.
    pub fn shutdown(&self) {
        self.send(Cmd::Shutdown);
        if let Some(t) = self.thread.lock().take() {
            let _ = t.join();
        }
    }
}

/// The engine's side of a download: progress into the job record.
struct JobSink {
    engine: Weak<Engine>,
    job: Arc<Job>,
    run: Arc<RunControl>,
    index: usize,
    last: Instant,
}

impl JobSink {
    fn ask(&self, engine: &Engine) -> super::throttle::Ask {
        let (foreground, job_rate) = {
            let rt = self.job.lock();
            (
                rt.rec.priority == crate::model::Priority::Foreground,
                rt.rec.max_rate_bps,
            )
        };
        let o = engine.options();
        super::throttle::Ask {
            job: self.job.id,
            foreground,
            job_rate,
            background_rate: o.background_rate_now(),
            yield_percent: o.foreground_yield_percent,
        }
    }
}

impl Sink for JobSink {
    fn admit(&mut self, n: usize) -> bool {
        match self.engine.upgrade() {
            Some(engine) => engine.throttle.admit(&self.ask(&engine), n),
            None => true,
        }
    }

    fn ready(&self) -> bool {
        match self.engine.upgrade() {
            Some(engine) => engine.throttle.ready(&self.ask(&engine)),
            None => true,
        }
    }

    fn begin(&mut self, start: u64, total: Option<u64>, validator: &Validator) {
        let mut rt = self.job.lock();
        if self.run.stopped() {
            return;
        }
        let f = &mut rt.rec.files[self.index];
        f.bytes_transferred = start;
        f.bytes_total = total.unwrap_or(crate::model::job::SIZE_UNKNOWN);
        f.validator = Some(validator.clone());
        rt.set_state(crate::model::JobState::Transferring, crate::model::now_ms());
        // The validator must reach the store: a resume after a restart sends it as If-Range.
        rt.mark_dirty();
        drop(rt);
        self.job.notify();
        if let Some(engine) = self.engine.upgrade() {
            engine.touch(&self.job);
        }
    }

    fn progress(&mut self, pos: u64) -> bool {
        let Some(engine) = self.engine.upgrade() else {
            return false;
        };
        let now = Instant::now();
        let tick = runner::progress(
            &engine,
            &mut self.job.lock(),
            &self.run,
            self.index,
            pos,
            now.duration_since(self.last),
        );
        self.last = now;
        self.job.publish();
        if tick.first {
            engine.touch(&self.job);
        }
        tick.go
    }
}

struct Active {
    handle: Easy2Handle<Slot>,
    job: Arc<Job>,
    run: Arc<RunControl>,
    index: usize,
}

fn run(engine: Weak<Engine>, mut multi: Multi, rx: Receiver<Cmd>) {
    let mut slots: Vec<Option<Active>> = Vec::new();
    let mut pool: Vec<Easy2<Slot>> = Vec::new();
    let mut rotation: usize = 0;
    loop {
        let Some(strong) = engine.upgrade() else {
            return;
        };
        let mut shutdown = false;
        while let Ok(cmd) = rx.try_recv() {
            match cmd {
                Cmd::Start(t) => start(&strong, &multi, &mut slots, &mut pool, t),
                Cmd::MaxHostConnections(n) => {
                    let _ = multi.set_max_host_connections(n);
                }
                Cmd::Shutdown => shutdown = true,
            }
        }
        for t in take_local() {
            start(&strong, &multi, &mut slots, &mut pool, t);
        }
        let stall = Duration::from_millis(strong.options().stall_timeout_ms.max(1));
        let now = Instant::now();
        for slot in slots.iter_mut() {
            let Some(a) = slot.as_ref() else { continue };
            let outcome = if shutdown || a.run.stopped() {
                Some(None)
            } else if !a.handle.get_ref().paused()
                && a.handle
                    .get_ref()
                    .last_activity()
                    .is_some_and(|t| now.saturating_duration_since(t) > stall)
            {
                Some(Some(TransferError::new(
                    Failure {
                        context: BG_ERROR_CONTEXT_GENERAL_TRANSPORT,
                        code: BG_E_TIMEOUT,
                        transient: true,
                    },
                    format!(
                        "no data for {} ms from {}",
                        stall.as_millis(),
                        http::redact(&a.job.lock().rec.files[a.index].remote_name)
                    ),
                )))
            } else {
                None
            };
            if let Some(failure) = outcome {
                let a = slot.take().expect("slot checked above");
                if let Ok(mut easy) = multi.remove2(a.handle) {
                    easy.get_mut().clear(); // closes the temp file
                    recycle(&mut pool, easy);
                }
                let outcome = failure.map_or(FileOutcome::Stopped, FileOutcome::Failed);
                runner::finished(&strong, &a.job, &a.run, a.index, outcome);
            }
        }
        if shutdown {
            return;
        }
        // Resume transfers a bandwidth limit paused, once their budget allows.
        // Start from a different slot each round, so a shared budget is shared fairly.
        let mut any_paused = false;
        rotation = rotation.wrapping_add(1);
        let n = slots.len().max(1);
        for i in 0..slots.len() {
            let Some(slot) = slots[(i + rotation) % n].as_mut() else {
                continue;
            };
            if slot.handle.get_ref().paused() {
                if slot
                    .handle
                    .get_mut()
                    .download()
                    .is_some_and(|d| d.try_resume())
                {
                    let _ = slot.handle.unpause_write();
                } else {
                    any_paused = true;
                }
            }
        }
        let _ = multi.perform();
        let mut done = Vec::new();
        multi.messages(|m| {
            if let (Ok(token), Some(result)) = (m.token(), m.result()) {
                done.push((token, result));
            }
        });
        for (token, result) in done {
            let Some(a) = slots.get_mut(token).and_then(Option::take) else {
                continue;
            };
            let Ok(mut easy) = multi.remove2(a.handle) else {
                continue;
            };
            let final_url = easy.effective_url().ok().flatten().map(str::to_string);
            let outcome = match easy
                .get_mut()
                .download()
                .map(|d| d.finish(result, final_url))
            {
                Some(Outcome::Done { size, final_url }) => FileOutcome::Done { size, final_url },
                Some(Outcome::Restart) => FileOutcome::Restart,
                Some(Outcome::Stopped) | None => FileOutcome::Stopped,
                Some(Outcome::Failed(e)) => FileOutcome::Failed(e),
            };
            // Closes the temp file before the job learns the file is done.
            easy.get_mut().clear();
            recycle(&mut pool, easy);
            runner::finished(&strong, &a.job, &a.run, a.index, outcome);
        }
        // A finished file's job usually has a next one: start it without waiting.
        if LOCAL.with(|l| l.borrow().as_ref().is_some_and(|(_, q)| !q.is_empty())) {
            continue;
        }
        // Transfers paused during this perform need the short wake-up too.
        any_paused = any_paused || slots.iter().flatten().any(|a| a.handle.get_ref().paused());
        let mut wait = Duration::from_millis(200)
            .min(stall / 4)
            .max(Duration::from_millis(5));
        // With no transfer there is nothing to check: new work, a stop and a shutdown all
        // wake the thread (libcurl keeps a wake-up that comes before the wait).
        if slots.iter().all(Option::is_none) {
            wait = IDLE_WAIT;
        }
        if any_paused {
            wait = wait.min(Duration::from_millis(10));
        }
        drop(strong);
        let _ = multi.poll(&mut [], wait);
    }
}

/// The files submitted from this thread since the last call.
fn take_local() -> Vec<Transfer> {
    LOCAL.with(|l| {
        l.borrow_mut()
            .as_mut()
            .map(|(_, q)| std::mem::take(q))
            .unwrap_or_default()
    })
}

/// Keeps an idle handle for the next request, up to [`POOL_MAX`].
fn recycle(pool: &mut Vec<Easy2<Slot>>, easy: Easy2<Slot>) {
    if pool.len() < POOL_MAX {
        pool.push(easy);
    }
}

fn start(
    engine: &Arc<Engine>,
    multi: &Multi,
    slots: &mut Vec<Option<Active>>,
    pool: &mut Vec<Easy2<Slot>>,
    t: Transfer,
) {
    let fail = |err: TransferError| {
        runner::finished(engine, &t.job, &t.run, t.index, FileOutcome::Failed(err))
    };
    // Continue the bytes on disk only when they belong to a version the server can vouch for.
    let mut validator = None;
    let opened = runner::open_temp(&t.job, &t.run, t.index, |f| {
        let ok = f.validator.as_ref().is_some_and(Validator::resumable);
        validator = f.validator.clone().filter(|_| ok);
        ok
    });
    let (file, offset) = match opened {
        Ok(Some(opened)) => {
            // While this file transfers, the next ones' temp files are made elsewhere: asked
            // for in batches, so the preparing thread is woken once per few files.
            let ask = {
                let mut rt = t.job.lock();
                let ask = !rt.prepare_asked && rt.prepared.len() <= prepare::REFILL_AT;
                rt.prepare_asked |= ask;
                ask
            };
            if ask {
                engine.preparer().next(&t.job, &t.run, t.index);
            }
            opened
        }
        Ok(None) => return runner::finished(engine, &t.job, &t.run, t.index, FileOutcome::Stopped),
        Err(err) => return fail(err),
    };
    let (flags, size_hint) = {
        let rt = t.job.lock();
        let known = |i: usize| {
            rt.rec
                .files
                .get(i)
                .map(|f| f.bytes_total)
                .filter(|&n| n != SIZE_UNKNOWN)
        };
        // A file's own size once learned, else its predecessor's: files of one job tend to
        // be alike.
        let hint = known(t.index).or_else(|| t.index.checked_sub(1).and_then(known));
        (rt.rec.security_flags, hint)
    };
    let req = Request {
        url: t.url.clone(),
        offset,
        validator: if offset > 0 { validator } else { None },
        security_flags: flags,
        connect_timeout_ms: engine.options().stall_timeout_ms,
        size_hint,
    };
    let sink = Box::new(JobSink {
        engine: Arc::downgrade(engine),
        job: t.job.clone(),
        run: t.run.clone(),
        index: t.index,
        last: Instant::now(),
    });
    let mut easy = pool.pop().unwrap_or_else(Slot::handle);
    match http::prepare(&mut easy, &req, file, sink) {
        Ok(()) => {}
        Err(e) => {
            crate::bglog!(
                "cannot set up the request for {}: {e}",
                http::redact(&t.url)
            );
            easy.get_mut().clear();
            return fail(TransferError::new(
                #[allow(clippy::unnecessary_cast)] // CURLcode is not u32 on every platform
                crate::model::retry::curl_code(e.code() as u32),
                format!("{} ({})", e.description(), http::redact(&t.url)),
            ));
        }
    };
    let token = slots.iter().position(Option::is_none).unwrap_or_else(|| {
        slots.push(None);
        slots.len() - 1
    });
    match multi.add2(easy) {
        Ok(mut handle) => {
            let _ = handle.set_token(token);
            slots[token] = Some(Active {
                handle,
                job: t.job,
                run: t.run,
                index: t.index,
            });
        }
        Err(e) => fail(TransferError::new(
            Failure {
                context: BG_ERROR_CONTEXT_GENERAL_TRANSPORT,
                code: crate::hresult::E_OUTOFMEMORY,
                transient: true,
            },
            format!("libcurl refused the transfer: {e}"),
        )),
    }
}
