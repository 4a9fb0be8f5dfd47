//! Managers: one per state directory per process, owning an engine and the jobs it knows.

use super::persist::Persist;
use crate::engine::{Engine, Job};
use crate::hresult::{Error, Result, BG_E_STATE_DIR_INVALID};
use crate::model::limits::{check_len, DISPLAY_NAME_MAX};
use crate::model::{now_ms, Guid, JobRecord, JobType};
use crate::store::StoredJob;
use once_cell::sync::Lazy;
use parking_lot::Mutex;
use std::collections::{BTreeMap, HashMap};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};

/// The name that asks for a manager that persists nothing.
pub const MEMORY: &str = ":memory:";

/// `BG_OPTION_MAX_BACKGROUND_TRANSFERS`: background jobs transferring at once.
pub(crate) const OPTION_MAX_BACKGROUND_TRANSFERS: i32 = 1;
/// `BG_OPTION_MAX_CONNECTIONS_PER_HOST`.
pub(crate) const OPTION_MAX_CONNECTIONS_PER_HOST: i32 = 2;
/// `BG_OPTION_STALL_TIMEOUT_MS`.
pub(crate) const OPTION_STALL_TIMEOUT_MS: i32 = 6;
/// `BG_OPTION_RETRY_DELAY_FLOOR_MS`.
pub(crate) const OPTION_RETRY_DELAY_FLOOR_MS: i32 = 7;
/// `BG_OPTION_BACKGROUND_RATE_LIMIT_BPS`.
pub(crate) const OPTION_BACKGROUND_RATE_LIMIT_BPS: i32 = 3;
/// `BG_OPTION_FOREGROUND_YIELD_PERCENT`.
pub(crate) const OPTION_FOREGROUND_YIELD_PERCENT: i32 = 4;
/// `BG_OPTION_TIME_SLICE_MS`.
pub(crate) const OPTION_TIME_SLICE_MS: i32 = 5;
/// `BG_OPTION_RATE_LIMIT_WINDOW_START_MIN`.
pub(crate) const OPTION_RATE_LIMIT_WINDOW_START_MIN: i32 = 9;
/// `BG_OPTION_RATE_LIMIT_WINDOW_END_MIN`.
pub(crate) const OPTION_RATE_LIMIT_WINDOW_END_MIN: i32 = 10;
/// `BG_OPTION_INACTIVITY_TIMEOUT_S`.
pub(crate) const OPTION_INACTIVITY_TIMEOUT_S: i32 = 8;
/// Default JobInactivityTimeout: 90 days (spec §2.6).
pub(crate) const DEFAULT_INACTIVITY_TIMEOUT_S: u64 = 90 * 24 * 3600;

/// Managers open in this process, by canonical state directory: a second open of the same
/// directory shares the first one's engine and jobs.
static OPEN: Lazy<Mutex<HashMap<PathBuf, Weak<Manager>>>> =
    Lazy::new(|| Mutex::new(HashMap::new()));

/// The jobs a manager knows: by id, and in creation order (EnumJobs lists oldest first).
#[derive(Default)]
struct Jobs {
    by_id: HashMap<Guid, (u64, Arc<Job>)>,
    order: BTreeMap<u64, Guid>,
    next: u64,
}

impl Jobs {
    fn insert(&mut self, job: Arc<Job>) {
        let seq = self.next;
        self.next += 1;
        self.order.insert(seq, job.id);
        self.by_id.insert(job.id, (seq, job));
    }

    fn remove(&mut self, id: &Guid) {
        if let Some((seq, _)) = self.by_id.remove(id) {
            self.order.remove(&seq);
        }
    }
}

/// A job queue and the engine that runs it.
pub struct Manager {
    /// The state directory, or `None` for `":memory:"`.
    pub state_dir: Option<PathBuf>,
    engine: Arc<Engine>,
    jobs: Mutex<Jobs>,
    /// Open handles to this manager; the last close stops the engine.
    opens: Mutex<usize>,
    /// The store, lease and sync thread of a state directory (`None` for `":memory:"`).
    persist: Option<Arc<Persist>>,
    /// Jobs not completed or cancelled within this many seconds of their last change are
    /// cancelled (BITS' JobInactivityTimeout).
    inactivity_timeout_s: std::sync::atomic::AtomicU64,
}

/// The per-user default state directory: `$XDG_STATE_HOME/bgcopy`, else
/// `$HOME/.local/state/bgcopy`.
pub fn default_state_dir() -> Result<PathBuf> {
    if let Some(x) = std::env::var_os("XDG_STATE_HOME").filter(|v| Path::new(v).is_absolute()) {
        return Ok(PathBuf::from(x).join("bgcopy"));
    }
    let home = std::env::var_os("HOME")
        .filter(|v| Path::new(v).is_absolute())
        .ok_or_else(|| {
            Error::with_code(
                BG_E_STATE_DIR_INVALID,
                "neither XDG_STATE_HOME nor HOME is set",
            )
        })?;
    Ok(PathBuf::from(home).join(".local/state/bgcopy"))
}

/// Creates the state directory (mode 0700) if missing and checks that it is a usable directory.
fn prepare_state_dir(dir: &Path) -> Result<PathBuf> {
    match std::fs::symlink_metadata(dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(meta) if meta.file_type().is_symlink() && dir.is_dir() => {}
        Ok(_) => {
            return Err(Error::with_code(
                BG_E_STATE_DIR_INVALID,
                format!("{} exists and is not a directory", dir.display()),
            ))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| {
                    Error::with_code(
                        BG_E_STATE_DIR_INVALID,
                        format!("cannot create {}: {e}", dir.display()),
                    )
                })?;
        }
        Err(e) => {
            return Err(Error::with_code(
                BG_E_STATE_DIR_INVALID,
                format!("cannot use {}: {e}", dir.display()),
            ))
        }
    }
    let c = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes())
        .map_err(|_| Error::InvalidArg("state_dir"))?;
    // SAFETY: valid NUL-terminated path.
    if unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) } != 0 {
        return Err(Error::with_code(
            BG_E_STATE_DIR_INVALID,
            format!("{} is not writable", dir.display()),
        ));
    }
    dir.canonicalize()
        .map_err(|e| Error::io(format!("resolving {}", dir.display()), e))
}

impl Manager {
    /// Opens the manager of `state_dir` (`None` = the per-user default, `":memory:"` = nothing
    /// persisted). A directory already open in this process returns the same manager.
    pub fn open(state_dir: Option<&str>) -> Result<Arc<Manager>> {
        let dir = match state_dir {
            Some(MEMORY) => return Self::new(None),
            Some(text) => {
                if !text.starts_with('/') {
                    return Err(Error::InvalidArg(
                        "state_dir must be an absolute path or \":memory:\"",
                    ));
                }
                if text.len() > crate::model::limits::LOCAL_PATH_MAX_BYTES {
                    return Err(Error::StringTooLong("state_dir longer than 4,095 bytes"));
                }
                PathBuf::from(text)
            }
            None => default_state_dir()?,
        };
        let dir = prepare_state_dir(&dir)?;
        let mut open = OPEN.lock();
        if let Some(existing) = open.get(&dir).and_then(Weak::upgrade) {
            let mut opens = existing.opens.lock();
            if *opens > 0 {
                *opens += 1;
                drop(opens);
                return Ok(existing);
            }
        }
        let manager = Self::new(Some(dir.clone()))?;
        open.insert(dir, Arc::downgrade(&manager));
        Ok(manager)
    }

    fn new(state_dir: Option<PathBuf>) -> Result<Arc<Manager>> {
        let persist = match &state_dir {
            Some(dir) => Some(Arc::new(Persist::open(dir)?)),
            None => None,
        };
        let stored = match &persist {
            Some(p) => p.store.load_all()?,
            None => Vec::new(),
        };
        let engine = Engine::start().map_err(|e| Error::io("starting the engine's threads", e))?;
        let manager = Arc::new(Manager {
            state_dir,
            engine,
            jobs: Mutex::new(Jobs::default()),
            opens: Mutex::new(1),
            persist: persist.clone(),
            inactivity_timeout_s: std::sync::atomic::AtomicU64::new(DEFAULT_INACTIVITY_TIMEOUT_S),
        });
        let Some(persist) = persist else {
            return Ok(manager);
        };
        // Settings stored with the directory by an earlier set_option.
        for (option, value) in persist.store.settings()? {
            let _ = manager.apply_option(option, value);
        }
        // A store-backed engine transfers only while it holds the lease.
        manager.engine.set_lease(false);
        let weak = Arc::downgrade(&persist);
        manager.engine.set_touch(Box::new(move |job| {
            if let Some(p) = weak.upgrade() {
                p.touch(job);
            }
        }));
        for job in stored {
            if !job.rec.state.is_final() {
                manager.adopt(job);
            }
        }
        // One wake-up for all of them: a scheduler round per adopted job made opening a store
        // of n jobs O(n²) (each round scans every job, under the lock adopt needs).
        manager.engine.wake();
        if let Err(e) = persist.start(Arc::downgrade(&manager)) {
            manager.engine.shutdown();
            return Err(Error::io("starting the sync thread", e));
        }
        // Take the lease now if it is free (so transfers start at once); otherwise the sync
        // thread takes it when its holder goes.
        persist.take_lease(&manager);
        Ok(manager)
    }

    /// Adds a job read from the store (created by another process, or found at open). The
    /// caller wakes the engine (once, after adopting all it has).
    pub(crate) fn adopt(&self, stored: StoredJob) -> Arc<Job> {
        let mut jobs = self.jobs.lock();
        if let Some((_, job)) = jobs.by_id.get(&stored.rec.id) {
            return job.clone();
        }
        let job = Job::new(stored.rec);
        {
            let mut rt = job.lock();
            rt.rev = stored.rev;
            rt.progress_rev = stored.progress_rev;
            rt.saved_state = rt.rec.state;
        }
        jobs.insert(job.clone());
        drop(jobs);
        self.engine.register(job.clone());
        job
    }

    /// The job with `id`, if this manager knows it (ended or not).
    pub(crate) fn find(&self, id: &Guid) -> Option<Arc<Job>> {
        self.jobs.lock().by_id.get(id).map(|(_, j)| j.clone())
    }

    /// The persistence of a state directory (`None` for `":memory:"`).
    pub fn persist(&self) -> Option<&Arc<Persist>> {
        self.persist.as_ref()
    }

    /// Cancels the jobs whose last change is older than the inactivity timeout (spec T24).
    pub fn cancel_inactive(self: &Arc<Self>) {
        let timeout_ms = self
            .inactivity_timeout_s
            .load(std::sync::atomic::Ordering::SeqCst)
            .saturating_mul(1000);
        let now = now_ms();
        let stale: Vec<Arc<Job>> = self
            .engine
            .jobs()
            .into_iter()
            .filter(|j| {
                let rt = j.lock();
                !rt.rec.state.is_final() && (now - rt.rec.modification_time) as u64 >= timeout_ms
            })
            .collect();
        for job in stale {
            let _ = super::JobRef {
                job,
                manager: self.clone(),
            }
            .cancel();
        }
    }

    /// Closes one open handle; the last one stops every transfer cleanly, writes every pending
    /// change to the store, releases the engine lease and joins the threads. Returns whether
    /// this was the last.
    pub fn close(self: &Arc<Self>) -> bool {
        {
            let mut opens = self.opens.lock();
            *opens = opens.saturating_sub(1);
            if *opens > 0 {
                return false;
            }
        }
        if let Some(dir) = &self.state_dir {
            let mut open = OPEN.lock();
            if open
                .get(dir)
                .is_some_and(|w| std::ptr::eq(w.as_ptr(), Arc::as_ptr(self)))
            {
                open.remove(dir);
            }
        }
        self.engine.shutdown();
        if let Some(p) = &self.persist {
            p.shutdown();
        }
        true
    }

    /// The manager's engine.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Creates a job (spec §2.2 T1): SUSPENDED, a new GUID. Display name NULL →
    /// `E_INVALIDARG` (at the boundary), over 256 characters → `BG_E_STRING_TOO_LONG`; upload
    /// types → `E_NOTIMPL` (not supported by this build).
    pub fn create_job(&self, display_name: &str, job_type: JobType) -> Result<Arc<Job>> {
        check_len(
            display_name,
            DISPLAY_NAME_MAX,
            "display name longer than 256 characters",
        )?;
        if job_type != JobType::Download {
            return Err(Error::NotImpl(
                "upload and upload-reply jobs are not supported yet",
            ));
        }
        let id = Guid::new_random()?;
        let job = Job::new(JobRecord::new(
            id,
            job_type,
            display_name.to_string(),
            now_ms(),
        ));
        if let Some(p) = &self.persist {
            let rec = job.lock().rec.clone();
            let mut written = Vec::new();
            p.store.transaction(|tx| tx.save(&rec, 1, &mut written))?;
            let mut rt = job.lock();
            rt.written = written;
            rt.rev = 1;
            rt.saved_state = rt.rec.state;
        }
        self.jobs.lock().insert(job.clone());
        self.engine.register(job.clone());
        Ok(job)
    }

    /// Finds a job by GUID; ended jobs (ACKNOWLEDGED, CANCELLED) → `BG_E_NOT_FOUND`.
    pub fn get_job(self: &Arc<Self>, id: &Guid) -> Result<Arc<Job>> {
        if self.find(id).is_none() {
            // Created by another process since our last look: read it now.
            if let Some(p) = &self.persist {
                if let Some(stored) = p.store.load(id)? {
                    if !stored.rec.state.is_final() {
                        self.adopt(stored);
                        self.engine.wake();
                    }
                }
            }
        }
        let mut jobs = self.jobs.lock();
        let job = jobs
            .by_id
            .get(id)
            .map(|(_, j)| j.clone())
            .ok_or(Error::NotFound)?;
        if job.lock().rec.state.is_final() {
            jobs.remove(id);
            return Err(Error::NotFound);
        }
        Ok(job)
    }

    /// A snapshot of the ids of jobs not yet ended, oldest first. Ended jobs are forgotten here.
    pub fn enum_jobs(self: &Arc<Self>) -> Vec<Guid> {
        if let Some(p) = &self.persist {
            p.pull(self);
        }
        let mut jobs = self.jobs.lock();
        let mut live = Vec::with_capacity(jobs.order.len());
        let mut ended = Vec::new();
        for id in jobs.order.values() {
            let (_, job) = &jobs.by_id[id];
            if job.lock().rec.state.is_final() {
                ended.push(*id);
            } else {
                live.push(*id);
            }
        }
        for id in &ended {
            jobs.remove(id);
        }
        live
    }

    /// Reads a manager option (`E_INVALIDARG` for an unknown one).
    pub fn get_option(&self, option: i32) -> Result<u64> {
        let o = self.engine.options();
        Ok(match option {
            OPTION_MAX_BACKGROUND_TRANSFERS => o.max_background,
            OPTION_MAX_CONNECTIONS_PER_HOST => o.max_host_connections,
            OPTION_STALL_TIMEOUT_MS => o.stall_timeout_ms,
            OPTION_RETRY_DELAY_FLOOR_MS => o.retry_floor_ms,
            OPTION_BACKGROUND_RATE_LIMIT_BPS => o.background_rate_bps,
            OPTION_FOREGROUND_YIELD_PERCENT => o.foreground_yield_percent,
            OPTION_TIME_SLICE_MS => o.time_slice_ms,
            OPTION_RATE_LIMIT_WINDOW_START_MIN => o.rate_window_start_min,
            OPTION_RATE_LIMIT_WINDOW_END_MIN => o.rate_window_end_min,
            OPTION_INACTIVITY_TIMEOUT_S => self
                .inactivity_timeout_s
                .load(std::sync::atomic::Ordering::SeqCst),
            _ => return Err(Error::InvalidArg("unknown manager option")),
        })
    }

    /// Sets a manager option; unknown option or value out of range → `E_INVALIDARG`. For a
    /// state directory the value is stored with it and applies to later opens too.
    pub fn set_option(&self, option: i32, value: u64) -> Result<()> {
        self.apply_option(option, value)?;
        if let Some(p) = &self.persist {
            p.store.set_setting(option, value)?;
        }
        Ok(())
    }

    fn apply_option(&self, option: i32, value: u64) -> Result<()> {
        let mut o = self.engine.options();
        let in_range = |lo: u64, hi: u64, what: &'static str| {
            if (lo..=hi).contains(&value) {
                Ok(value)
            } else {
                Err(Error::InvalidArg(what))
            }
        };
        match option {
            OPTION_MAX_BACKGROUND_TRANSFERS => {
                o.max_background = in_range(1, 256, "max background transfers must be 1..=256")?
            }
            OPTION_MAX_CONNECTIONS_PER_HOST => {
                o.max_host_connections =
                    in_range(1, 256, "max connections per host must be 1..=256")?
            }
            OPTION_STALL_TIMEOUT_MS => {
                o.stall_timeout_ms =
                    in_range(10, 86_400_000, "stall timeout must be 10 ms..=1 day")?
            }
            OPTION_RETRY_DELAY_FLOOR_MS => {
                o.retry_floor_ms = in_range(0, 86_400_000, "retry floor must be 0..=1 day")?
            }
            OPTION_BACKGROUND_RATE_LIMIT_BPS => o.background_rate_bps = in_range(0, u64::MAX, "")?,
            OPTION_FOREGROUND_YIELD_PERCENT => {
                o.foreground_yield_percent =
                    in_range(1, 100, "foreground yield must be 1..=100 percent")?
            }
            OPTION_TIME_SLICE_MS => {
                o.time_slice_ms = in_range(10, 86_400_000, "time slice must be 10 ms..=1 day")?
            }
            OPTION_RATE_LIMIT_WINDOW_START_MIN => {
                o.rate_window_start_min = in_range(
                    0,
                    1439,
                    "window start must be a minute of the day, 0..=1439",
                )?
            }
            OPTION_RATE_LIMIT_WINDOW_END_MIN => {
                o.rate_window_end_min =
                    in_range(0, 1439, "window end must be a minute of the day, 0..=1439")?
            }
            OPTION_INACTIVITY_TIMEOUT_S => {
                let v = in_range(
                    1,
                    u64::from(u32::MAX),
                    "inactivity timeout must be 1..=4,294,967,295 s",
                )?;
                self.inactivity_timeout_s
                    .store(v, std::sync::atomic::Ordering::SeqCst);
                return Ok(());
            }
            _ => return Err(Error::InvalidArg("unknown manager option")),
        }
        self.engine.set_options(o);
        Ok(())
    }
}
