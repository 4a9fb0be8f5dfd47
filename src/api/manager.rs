//! Managers: one per state directory per process, owning an engine and the jobs it knows.

use crate::engine::{Engine, Job};
use crate::hresult::{Error, Result, BG_E_STATE_DIR_INVALID};
use crate::model::limits::{check_len, DISPLAY_NAME_MAX};
use crate::model::{now_ms, Guid, JobRecord, JobType};
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
        let engine = Engine::start().map_err(|e| Error::io("starting the scheduler thread", e))?;
        Ok(Arc::new(Manager {
            state_dir,
            engine,
            jobs: Mutex::new(Jobs::default()),
            opens: Mutex::new(1),
        }))
    }

    /// Closes one open handle; the last one stops every transfer cleanly and joins the engine's
    /// threads. Returns whether this was the last.
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
        self.jobs.lock().insert(job.clone());
        self.engine.register(job.clone());
        Ok(job)
    }

    /// Finds a job by GUID; ended jobs (ACKNOWLEDGED, CANCELLED) → `BG_E_NOT_FOUND`.
    pub fn get_job(&self, id: &Guid) -> Result<Arc<Job>> {
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
    pub fn enum_jobs(&self) -> Vec<Guid> {
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
            _ => return Err(Error::InvalidArg("unknown manager option")),
        })
    }

    /// Sets a manager option; unknown option or value out of range → `E_INVALIDARG`.
    pub fn set_option(&self, option: i32, value: u64) -> Result<()> {
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
            _ => return Err(Error::InvalidArg("unknown manager option")),
        }
        self.engine.set_options(o);
        Ok(())
    }
}
