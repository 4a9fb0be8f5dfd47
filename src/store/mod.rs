//! Crash-safe persistence of jobs and files: SQLite (bundled) in WAL mode with
//! `synchronous=FULL`, so a committed change survives a crash or a power loss; every change is
//! one transaction. Several processes may open the same store: SQLite's locks serialise their
//! writes, each job row carries a revision that every write bumps, and `PRAGMA data_version`
//! tells a process cheaply that another one wrote.
//!
//! The store holds the BITS-visible record of each job (`model::JobRecord`); ended jobs stay as
//! tombstones for a day so other processes learn how they ended, then are purged.

mod schema;

use crate::hresult::{Error, Result, BG_E_STORE_CORRUPT, BG_E_STORE_TOO_NEW};
use crate::model::job::{FileRecord, JobError, Validator};
use crate::model::url::parse_remote;
use crate::model::{Guid, JobRecord, JobState, JobType, Priority};
use parking_lot::{Mutex, MutexGuard};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::borrow::Cow;
use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

pub(crate) use schema::SCHEMA_VERSION;

/// The database file inside a state directory.
pub const DB_FILE: &str = "bgcopy.db";

/// A job as stored: its record and revision.
#[derive(Clone, Debug)]
pub struct StoredJob {
    /// The record.
    pub rec: JobRecord,
    /// Bumped by every write of the job.
    pub rev: i64,
    /// Bumped by every write of byte progress alone.
    pub progress_rev: i64,
}

/// Byte progress of one file, written without bumping the job's revision.
#[derive(Clone, Copy, Debug)]
pub struct FileProgress {
    /// File index.
    pub index: u32,
    /// Bytes safely on disk.
    pub bytes_transferred: u64,
    /// Size or `BG_SIZE_UNKNOWN`.
    pub bytes_total: u64,
}

/// One state directory's database.
pub struct Store {
    conn: Mutex<Connection>,
    path: PathBuf,
}

fn corrupt(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::with_code(
        BG_E_STORE_CORRUPT,
        format!("the job store {} is unreadable: {e}", path.display()),
    )
}

fn sql(path: &Path) -> impl Fn(rusqlite::Error) -> Error + '_ {
    move |e| match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(
                f.code,
                rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase
            ) =>
        {
            corrupt(path, e)
        }
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::DiskFull => {
            Error::with_code(
                crate::hresult::BG_E_WIN32_DISK_FULL,
                format!("job store {}: {e}", path.display()),
            )
        }
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(
                f.code,
                rusqlite::ErrorCode::ReadOnly
                    | rusqlite::ErrorCode::PermissionDenied
                    | rusqlite::ErrorCode::CannotOpen
            ) =>
        {
            Error::with_code(
                crate::hresult::E_ACCESSDENIED,
                format!("job store {}: {e}", path.display()),
            )
        }
        _ => Error::with_code(
            crate::hresult::E_FAIL,
            format!("job store {}: {e}", path.display()),
        ),
    }
}

impl Store {
    /// Opens (or creates, mode 0600) the store of a state directory. A store written by a newer
    /// bgcopy → `BG_E_STORE_TOO_NEW`; a corrupt or truncated one → `BG_E_STORE_CORRUPT`; neither
    /// is modified.
    pub fn open(dir: &Path) -> Result<Store> {
        let path = dir.join(DB_FILE);
        let existed = path.exists();
        if !existed {
            // Create it owner-only before SQLite opens it (SQLite would use the umask).
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .or_else(|e| {
                    if e.kind() == std::io::ErrorKind::AlreadyExists {
                        Ok(std::fs::File::open(&path)?)
                    } else {
                        Err(e)
                    }
                })
                .map_err(|e| Error::io(format!("creating {}", path.display()), e))?;
        }
        let conn = Connection::open(&path).map_err(sql(&path))?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(sql(&path))?;
        // Detect a file that is not a database (or truncated) before anything writes to it.
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| corrupt(&path, e))?;
        if version > SCHEMA_VERSION {
            return Err(Error::with_code(
                BG_E_STORE_TOO_NEW,
                format!("the job store {} has schema {version}; this bgcopy knows up to {SCHEMA_VERSION}", path.display()),
            ));
        }
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| corrupt(&path, e))?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(sql(&path))?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(sql(&path))?;
        let store = Store {
            conn: Mutex::new(conn),
            path,
        };
        store.migrate(version)?;
        store.check_tables()?;
        for file in ["-wal", "-shm"] {
            let p = PathBuf::from(format!("{}{file}", store.path.display()));
            let _ =
                std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o600));
        }
        Ok(store)
    }

    fn migrate(&self, version: i64) -> Result<()> {
        if version == SCHEMA_VERSION {
            return Ok(());
        }
        let mut conn = self.conn.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql(&self.path))?;
        // Another process may have created the schema meanwhile.
        let now: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(sql(&self.path))?;
        if now == 0 {
            tx.execute_batch(schema::V1).map_err(sql(&self.path))?;
        }
        if now < 2 {
            tx.execute_batch(schema::V2).map_err(sql(&self.path))?;
        }
        // Version 3 changes no table (see `schema`).
        if now < SCHEMA_VERSION {
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)
                .map_err(sql(&self.path))?;
        }
        tx.commit().map_err(sql(&self.path))
    }

    /// A store whose tables are missing or malformed (a damaged file) is refused, not emptied.
    fn check_tables(&self) -> Result<()> {
        let conn = self.conn.lock();
        conn.query_row("SELECT count(*) FROM jobs", [], |r| r.get::<_, i64>(0))
            .map_err(|e| corrupt(&self.path, e))?;
        conn.query_row("SELECT count(*) FROM files", [], |r| r.get::<_, i64>(0))
            .map_err(|e| corrupt(&self.path, e))?;
        Ok(())
    }

    /// The database path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// SQLite's `data_version`: changes when another connection committed.
    pub fn data_version(&self) -> Result<i64> {
        self.conn
            .lock()
            .prepare_cached("PRAGMA data_version")
            .and_then(|mut s| s.query_row([], |r| r.get(0)))
            .map_err(sql(&self.path))
    }

    /// Every job's revision and progress revision.
    pub fn revisions(&self) -> Result<HashMap<Guid, (i64, i64)>> {
        let conn = self.conn.lock();
        let mut stmt = conn
            .prepare_cached("SELECT id, rev, progress_rev FROM jobs")
            .map_err(sql(&self.path))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    guid(r.get_ref(0)?.as_blob()?)?,
                    (r.get::<_, i64>(1)?, r.get::<_, i64>(2)?),
                ))
            })
            .map_err(sql(&self.path))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(sql(&self.path))
    }

    /// Loads every job, in creation order.
    pub fn load_all(&self) -> Result<Vec<StoredJob>> {
        let conn = self.conn.lock();
        load(&conn, None).map_err(|e| corrupt(&self.path, e))
    }

    /// Loads one job.
    pub fn load(&self, id: &Guid) -> Result<Option<StoredJob>> {
        let conn = self.conn.lock();
        load(&conn, Some(id))
            .map(|mut v| v.pop())
            .map_err(sql(&self.path))
    }

    /// Runs `f` in an immediate transaction (the store's write lock, across processes).
    pub fn transaction<T>(&self, f: impl FnOnce(&Tx<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.conn.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql(&self.path))?;
        let out = f(&Tx {
            tx: &tx,
            path: &self.path,
        })?;
        tx.commit().map_err(sql(&self.path))?;
        Ok(out)
    }

    /// Writes byte progress of some files of a job (see [`Tx::save_progress`]).
    pub fn save_progress(
        &self,
        id: &Guid,
        files: &[FileProgress],
        modification_time: i64,
    ) -> Result<i64> {
        self.transaction(|tx| tx.save_progress(id, files, modification_time))
    }

    /// The manager settings stored with the state directory (option number → value).
    pub fn settings(&self) -> Result<Vec<(i32, u64)>> {
        let conn = self.conn.lock();
        let mut stmt = conn
            .prepare_cached("SELECT option, value FROM settings")
            .map_err(sql(&self.path))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, i32>(0)?, u64_of(r.get(1)?))))
            .map_err(sql(&self.path))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(sql(&self.path))
    }

    /// Stores one manager setting.
    pub fn set_setting(&self, option: i32, value: u64) -> Result<()> {
        let conn = self.conn.lock();
        conn.execute(
            "INSERT INTO settings (option, value) VALUES (?1, ?2) ON CONFLICT(option) DO UPDATE SET value = ?2",
            params![option, value as i64],
        )
        .map(|_| ())
        .map_err(sql(&self.path))
    }

    /// Forgets tombstones of jobs that ended more than `age_ms` ago.
    pub fn purge_ended(&self, now_ms: i64, age_ms: i64) -> Result<usize> {
        let conn = self.conn.lock();
        conn.execute(
            "DELETE FROM jobs WHERE state IN (7, 8) AND modification_time < ?1",
            params![now_ms - age_ms],
        )
        .map_err(sql(&self.path))
    }

    #[doc(hidden)]
    pub fn lock_conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock()
    }
}

/// An open write transaction.
pub struct Tx<'a> {
    tx: &'a rusqlite::Transaction<'a>,
    path: &'a Path,
}

impl Tx<'_> {
    /// The stored revision of a job (`None` if absent).
    pub fn rev(&self, id: &Guid) -> Result<Option<i64>> {
        self.tx
            .prepare_cached("SELECT rev FROM jobs WHERE id = ?1")
            .and_then(|mut s| s.query_row([&id.0[..]], |r| r.get(0)).optional())
            .map_err(sql(self.path))
    }

    /// Loads a job inside the transaction.
    pub fn load(&self, id: &Guid) -> Result<Option<StoredJob>> {
        load(self.tx, Some(id))
            .map(|mut v| v.pop())
            .map_err(sql(self.path))
    }

    /// Writes the job with revision `rev`: its row, and the rows of the files whose content
    /// changed since the last write (`written` holds a fingerprint per file, updated here; an
    /// empty one writes every file).
    pub fn save(&self, rec: &JobRecord, rev: i64, written: &mut Vec<u64>) -> Result<()> {
        let w = JobWrite::new(rec, written);
        self.write(&w, rev)?;
        w.mark_written(written);
        Ok(())
    }

    /// Writes `w` (see [`JobWrite`]) with revision `rev`.
    pub fn write(&self, w: &JobWrite<'_>, rev: i64) -> Result<()> {
        save(self.tx, w, rev).map_err(sql(self.path))
    }

    /// Writes byte progress of some files of a job and its modification time; bumps the
    /// job's progress revision (not its revision) and returns it.
    pub fn save_progress(
        &self,
        id: &Guid,
        files: &[FileProgress],
        modification_time: i64,
    ) -> Result<i64> {
        save_progress(self.tx, id, files, modification_time).map_err(sql(self.path))
    }
}

fn guid(bytes: &[u8]) -> rusqlite::Result<Guid> {
    let b: [u8; 16] = bytes.try_into().map_err(|_| {
        rusqlite::Error::InvalidColumnType(0, "id".into(), rusqlite::types::Type::Blob)
    })?;
    Ok(Guid(b))
}

fn path_of(bytes: Vec<u8>) -> PathBuf {
    PathBuf::from(std::ffi::OsStr::from_bytes(&bytes))
}

/// Arguments are stored NUL-separated (they come from C strings, so none contains a NUL).
fn join_args(args: &[String]) -> Vec<u8> {
    let mut out = Vec::new();
    for a in args {
        out.extend_from_slice(a.as_bytes());
        out.push(0);
    }
    out
}

fn split_args(bytes: Vec<u8>) -> Vec<String> {
    let mut args: Vec<String> = bytes
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    args.pop(); // the empty piece after the last NUL
    args
}

fn u64_of(v: i64) -> u64 {
    v as u64
}

fn load(conn: &Connection, id: Option<&Guid>) -> rusqlite::Result<Vec<StoredJob>> {
    let mut jobs = Vec::new();
    let mut index: HashMap<Guid, usize> = HashMap::new();
    let cols = "id, rev, type, display_name, description, priority, state, notify_flags, min_retry_delay, \
                no_progress_timeout, max_download_time, security_flags, error_context, error_code, error_file, \
                error_desc, error_count, creation_time, modification_time, transfer_completion_time, active_ms, \
                min_notify_interval, notify_program, notify_args, notify_cmd_done, max_rate, progress_rev, \
                complete_intent";
    let mut stmt = match id {
        Some(_) => conn.prepare_cached(&format!("SELECT {cols} FROM jobs WHERE id = ?1"))?,
        None => conn.prepare_cached(&format!("SELECT {cols} FROM jobs ORDER BY seq"))?,
    };
    let map = |r: &rusqlite::Row<'_>| -> rusqlite::Result<(StoredJob, bool)> {
        let bad = |i: usize| {
            rusqlite::Error::InvalidColumnType(i, "value".into(), rusqlite::types::Type::Integer)
        };
        let id = guid(r.get_ref(0)?.as_blob()?)?;
        let error = match r.get::<_, Option<i32>>(13)? {
            Some(code) => Some(JobError {
                context: r.get(12)?,
                code,
                file_index: r.get::<_, Option<u32>>(14)?,
                description: r.get::<_, Option<String>>(15)?.unwrap_or_default(),
            }),
            None => None,
        };
        let rec = JobRecord {
            id,
            job_type: JobType::from_i32(r.get(2)?).ok_or_else(|| bad(2))?,
            display_name: r.get(3)?,
            description: r.get(4)?,
            priority: Priority::from_i32(r.get(5)?).ok_or_else(|| bad(5))?,
            state: JobState::from_i32(r.get(6)?).ok_or_else(|| bad(6))?,
            files: Vec::new(),
            notify_flags: r.get(7)?,
            min_retry_delay_s: r.get(8)?,
            no_progress_timeout_s: r.get(9)?,
            max_download_time_s: r.get(10)?,
            security_flags: r.get(11)?,
            error,
            error_count: r.get(16)?,
            creation_time: r.get(17)?,
            modification_time: r.get(18)?,
            transfer_completion_time: r.get(19)?,
            active_ms: u64_of(r.get(20)?),
            min_notify_interval_ms: r.get(21)?,
            notify_cmd: match r.get::<_, Option<String>>(22)? {
                Some(program) => Some(crate::notify::CommandLine {
                    program,
                    args: split_args(r.get::<_, Option<Vec<u8>>>(23)?.unwrap_or_default()),
                }),
                None => None,
            },
            notify_cmd_done: r.get::<_, Option<i32>>(24)?.and_then(JobState::from_i32),
            max_rate_bps: u64_of(r.get(25)?),
        };
        Ok((
            StoredJob {
                rec,
                rev: r.get(1)?,
                progress_rev: r.get(26)?,
            },
            r.get(27)?,
        ))
    };
    let rows: Vec<(StoredJob, bool)> = match id {
        Some(id) => stmt
            .query_map([&id.0[..]], map)?
            .collect::<rusqlite::Result<_>>()?,
        None => stmt.query_map([], map)?.collect::<rusqlite::Result<_>>()?,
    };
    let mut intents = Vec::with_capacity(rows.len());
    for (i, (job, intent)) in rows.into_iter().enumerate() {
        index.insert(job.rec.id, i);
        jobs.push(job);
        intents.push(intent);
    }
    let fcols = "job_id, idx, remote_name, local_name, bytes_total, bytes_transferred, transferred, completed, discarded, \
                 temp_path, v_size, v_etag, v_last_modified, rename_pending";
    let mut fstmt = match id {
        Some(_) => conn.prepare_cached(&format!(
            "SELECT {fcols} FROM files WHERE job_id = ?1 ORDER BY idx"
        ))?,
        None => conn.prepare_cached(&format!("SELECT {fcols} FROM files ORDER BY job_id, idx"))?,
    };
    let fmap = |r: &rusqlite::Row<'_>| -> rusqlite::Result<(Guid, FileRecord)> {
        let remote_name: String = r.get(2)?;
        let remote = parse_remote(&remote_name).map_err(|_| {
            rusqlite::Error::InvalidColumnType(2, "remote_name".into(), rusqlite::types::Type::Text)
        })?;
        let v_size: Option<i64> = r.get(10)?;
        let v_etag: Option<String> = r.get(11)?;
        let v_lm: Option<String> = r.get(12)?;
        let validator =
            (v_size.is_some() || v_etag.is_some() || v_lm.is_some()).then(|| Validator {
                size: v_size.map(u64_of),
                etag: v_etag,
                last_modified: v_lm,
            });
        Ok((
            guid(r.get_ref(0)?.as_blob()?)?,
            FileRecord {
                remote_name,
                remote,
                local_name: path_of(r.get(3)?),
                bytes_total: u64_of(r.get(4)?),
                bytes_transferred: u64_of(r.get(5)?),
                transferred: r.get(6)?,
                completed: r.get(7)?,
                discarded: r.get(8)?,
                rename_pending: r.get(13)?,
                temp_path: r.get::<_, Option<Vec<u8>>>(9)?.map(path_of),
                validator,
            },
        ))
    };
    let files: Vec<(Guid, FileRecord)> = match id {
        Some(id) => fstmt
            .query_map([&id.0[..]], fmap)?
            .collect::<rusqlite::Result<_>>()?,
        None => fstmt
            .query_map([], fmap)?
            .collect::<rusqlite::Result<_>>()?,
    };
    for (job_id, mut file) in files {
        if let Some(&i) = index.get(&job_id) {
            // Schema 3: Complete does not rewrite the rows of the files it renamed.
            if jobs[i].rec.state == JobState::Acknowledged && !file.discarded {
                file.completed = true;
                file.temp_path = None;
            }
            // A Complete that recorded its intent renames every transferred file that still
            // has its temp file (see `JobRef::complete`).
            file.rename_pending |= intents[i]
                && file.transferred
                && file.temp_path.is_some()
                && !file.completed
                && !file.discarded;
            jobs[i].rec.files.push(file);
        }
    }
    Ok(jobs)
}

fn save_progress(
    tx: &rusqlite::Transaction<'_>,
    id: &Guid,
    files: &[FileProgress],
    modification_time: i64,
) -> rusqlite::Result<i64> {
    let mut stmt = tx.prepare_cached(
        "UPDATE files SET bytes_transferred = ?3, bytes_total = ?4 WHERE job_id = ?1 AND idx = ?2 AND transferred = 0",
    )?;
    for f in files {
        stmt.execute(params![
            &id.0[..],
            f.index,
            f.bytes_transferred as i64,
            f.bytes_total as i64
        ])?;
    }
    tx.prepare_cached(
        "UPDATE jobs SET progress_rev = progress_rev + 1, modification_time = max(modification_time, ?2) \
         WHERE id = ?1 RETURNING progress_rev",
    )?
    .query_row(params![&id.0[..], modification_time], |r| r.get(0))
}

/// A fingerprint of what can change in a file's row. It runs for every file of a job on each
/// write, so it mixes a word at a time: each step `h = (rotl(h) ^ word) * K` is a bijection of
/// `h`, so two rows whose words differ in one place (a byte count, a flag, a temp path of the
/// same length) never share a fingerprint. The local name never changes and the parsed remote
/// follows the remote name.
fn fingerprint(f: &FileRecord) -> u64 {
    struct Mix(u64);
    impl Mix {
        fn word(&mut self, w: u64) {
            self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
        /// The length first, so ("ab", "c") and ("a", "bc") differ.
        fn bytes(&mut self, b: &[u8]) {
            self.word(b.len() as u64);
            let mut chunks = b.chunks_exact(8);
            for c in &mut chunks {
                self.word(u64::from_le_bytes(c.try_into().expect("8 bytes")));
            }
            let mut last = [0u8; 8];
            last[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
            self.word(u64::from_le_bytes(last));
        }
        fn opt(&mut self, b: Option<&[u8]>) {
            match b {
                None => self.word(u64::MAX),
                Some(b) => self.bytes(b),
            }
        }
    }
    let mut m = Mix(0);
    m.word(f.bytes_total);
    m.word(f.bytes_transferred);
    m.word(u64::from(f.transferred) | u64::from(f.completed) << 1 | u64::from(f.discarded) << 2);
    m.bytes(f.remote_name.as_bytes());
    m.opt(f.temp_path.as_ref().map(|p| p.as_os_str().as_bytes()));
    match &f.validator {
        None => m.word(0),
        Some(v) => {
            m.word(1);
            m.word(v.size.unwrap_or(u64::MAX));
            m.opt(v.etag.as_deref().map(str::as_bytes));
            m.opt(v.last_modified.as_deref().map(str::as_bytes));
        }
    }
    m.0
}

/// One write of a job: the job's row, and the rows of the files that differ from what the
/// store holds. It borrows them from the record; [`JobWrite::to_owned`] copies them, so that
/// the write can run without the job lock and the engine never waits for SQLite.
pub struct JobWrite<'a> {
    /// The record (its files are not read from here).
    job: Cow<'a, JobRecord>,
    /// How many files the job has.
    file_count: usize,
    /// Whether Complete's renames are under way (schema 2: a flag of the job's row).
    complete_intent: bool,
    /// The files to write: index, content, fingerprint, and whether a row for it was
    /// written before (then an update finds it).
    files: Vec<(usize, Cow<'a, FileRecord>, u64, bool)>,
}

impl<'a> JobWrite<'a> {
    /// What `rec` needs written, given the fingerprints of the rows last written (`written`;
    /// empty or 0: unknown, the row is written). The completed files of an ACKNOWLEDGED job
    /// are not written: loading infers them (schema 3).
    pub fn new(rec: &'a JobRecord, written: &[u64]) -> JobWrite<'a> {
        let acknowledged = rec.state == JobState::Acknowledged;
        let files = rec
            .files
            .iter()
            .enumerate()
            .filter(|(_, f)| !(acknowledged && f.completed))
            .filter_map(|(i, f)| {
                let fp = fingerprint(f);
                let before = written.get(i).copied().unwrap_or(0);
                (before != fp).then_some((i, Cow::Borrowed(f), fp, before != 0))
            })
            .collect();
        JobWrite {
            job: Cow::Borrowed(rec),
            file_count: rec.files.len(),
            complete_intent: rec.files.iter().any(|f| f.rename_pending),
            files,
        }
    }

    /// A copy that borrows nothing (the record's files only where they are written).
    pub fn to_owned(&self) -> JobWrite<'static> {
        JobWrite {
            job: Cow::Owned(self.job.clone_without_files()),
            file_count: self.file_count,
            complete_intent: self.complete_intent,
            files: self
                .files
                .iter()
                .map(|(i, f, fp, had_row)| (*i, Cow::Owned(f.as_ref().clone()), *fp, *had_row))
                .collect(),
        }
    }

    /// Records in `written` the fingerprints of the rows this write stored (after it
    /// succeeded).
    pub fn mark_written(&self, written: &mut Vec<u64>) {
        written.resize(self.file_count, 0);
        for (i, _, fp, _) in &self.files {
            written[*i] = *fp;
        }
    }
}

fn save(tx: &rusqlite::Transaction<'_>, w: &JobWrite<'_>, rev: i64) -> rusqlite::Result<()> {
    let rec = w.job.as_ref();
    let e = rec.error.as_ref();
    tx.prepare_cached(
        "INSERT INTO jobs (id, seq, rev, type, display_name, description, priority, state, notify_flags, min_retry_delay, \
         no_progress_timeout, max_download_time, security_flags, error_context, error_code, error_file, error_desc, \
         error_count, creation_time, modification_time, transfer_completion_time, active_ms, min_notify_interval, \
         notify_program, notify_args, notify_cmd_done, max_rate, complete_intent) \
         VALUES (?1, (SELECT coalesce(max(seq), 0) + 1 FROM jobs), ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27) \
         ON CONFLICT(id) DO UPDATE SET rev = ?2, display_name = ?4, description = ?5, priority = ?6, state = ?7, \
         notify_flags = ?8, min_retry_delay = ?9, no_progress_timeout = ?10, max_download_time = ?11, security_flags = ?12, \
         error_context = ?13, error_code = ?14, error_file = ?15, error_desc = ?16, error_count = ?17, \
         modification_time = ?19, transfer_completion_time = ?20, active_ms = ?21, min_notify_interval = ?22, \
         notify_program = ?23, notify_args = ?24, notify_cmd_done = ?25, max_rate = ?26, complete_intent = ?27",
    )?
    .execute(params![
        &rec.id.0[..],
        rev,
        rec.job_type as i32,
        rec.display_name,
        rec.description,
        rec.priority as i32,
        rec.state as i32,
        rec.notify_flags,
        rec.min_retry_delay_s,
        rec.no_progress_timeout_s,
        rec.max_download_time_s,
        rec.security_flags,
        e.map(|e| e.context),
        e.map(|e| e.code),
        e.and_then(|e| e.file_index),
        e.map(|e| e.description.as_str()),
        rec.error_count,
        rec.creation_time,
        rec.modification_time,
        rec.transfer_completion_time,
        rec.active_ms as i64,
        rec.min_notify_interval_ms,
        rec.notify_cmd.as_ref().map(|c| c.program.as_str()),
        rec.notify_cmd.as_ref().map(|c| join_args(&c.args)),
        rec.notify_cmd_done.map(|s| s as i32),
        rec.max_rate_bps as i64,
        w.complete_intent,
    ])?;
    tx.prepare_cached("DELETE FROM files WHERE job_id = ?1 AND idx >= ?2")?
        .execute(params![&rec.id.0[..], w.file_count as i64])?;
    let mut upsert = tx.prepare_cached(
        "INSERT INTO files (job_id, idx, remote_name, local_name, bytes_total, bytes_transferred, transferred, completed, \
         discarded, temp_path, v_size, v_etag, v_last_modified, rename_pending) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) \
         ON CONFLICT(job_id, idx) DO UPDATE SET remote_name = ?3, bytes_total = ?5, bytes_transferred = ?6, transferred = ?7, \
         completed = ?8, discarded = ?9, temp_path = ?10, v_size = ?11, v_etag = ?12, v_last_modified = ?13, rename_pending = ?14",
    )?;
    // A row written before needs only an update (one index lookup instead of the upsert's
    // failed insert and update). Both take the same parameters; the local name never changes.
    let mut update = tx.prepare_cached(
        "UPDATE files SET remote_name = ?3, local_name = ?4, bytes_total = ?5, bytes_transferred = ?6, \
         transferred = ?7, completed = ?8, discarded = ?9, temp_path = ?10, v_size = ?11, v_etag = ?12, \
         v_last_modified = ?13, rename_pending = ?14 WHERE job_id = ?1 AND idx = ?2",
    )?;
    for (i, f, _, had_row) in &w.files {
        let v = f.validator.as_ref();
        let row = params![
            &rec.id.0[..],
            *i as i64,
            f.remote_name,
            f.local_name.as_os_str().as_bytes(),
            f.bytes_total as i64,
            f.bytes_transferred as i64,
            f.transferred,
            f.completed,
            f.discarded,
            f.temp_path.as_ref().map(|p| p.as_os_str().as_bytes()),
            v.and_then(|v| v.size).map(|s| s as i64),
            v.and_then(|v| v.etag.as_deref()),
            v.and_then(|v| v.last_modified.as_deref()),
            false, // schema 2: the job's complete_intent says it
        ];
        if !had_row || update.execute(row)? != 1 {
            upsert.execute(row)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::url::parse_remote;
    use crate::model::JobType;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("bgcopy-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn file(name: &str, transferred: bool) -> FileRecord {
        let url = format!("http://127.0.0.1/{name}");
        let mut f = FileRecord::new(
            url.clone(),
            parse_remote(&url).unwrap(),
            format!("/tmp/{name}").into(),
        );
        f.transferred = transferred;
        f.temp_path = Some(format!("/tmp/.bgcopy-{name}.tmp").into());
        f
    }

    #[test]
    fn every_change_of_a_row_changes_its_fingerprint() {
        let base = file("a", false);
        let mut changed = Vec::new();
        let mut f = base.clone();
        f.bytes_transferred = 1;
        changed.push(f);
        let mut f = base.clone();
        f.bytes_total = 7;
        changed.push(f);
        for flag in 0..3 {
            let mut f = base.clone();
            *[&mut f.transferred, &mut f.completed, &mut f.discarded][flag] = true;
            changed.push(f);
        }
        let mut f = base.clone();
        f.temp_path = None;
        changed.push(f);
        let mut f = base.clone();
        f.temp_path = Some("/tmp/.bgcopy-b.tmp".into());
        changed.push(f);
        let mut f = base.clone();
        f.remote_name.push('x');
        changed.push(f);
        let mut f = base.clone();
        f.validator = Some(Validator {
            size: Some(1),
            etag: Some("\"e\"".into()),
            last_modified: None,
        });
        changed.push(f.clone());
        f.validator.as_mut().unwrap().etag = Some("\"f\"".into());
        changed.push(f);
        let mut seen = vec![fingerprint(&base)];
        for f in &changed {
            let fp = fingerprint(f);
            assert!(!seen.contains(&fp), "{f:?}");
            seen.push(fp);
        }
        assert_eq!(fingerprint(&base.clone()), seen[0]);
    }

    #[test]
    fn complete_intent_is_one_flag_of_the_job() {
        let dir = scratch("intent");
        let store = Store::open(&dir).unwrap();
        let mut rec = JobRecord::new(Guid([7; 16]), JobType::Download, "j".into(), 1);
        rec.files = vec![file("a", true), file("b", false), file("c", true)];
        rec.files[0].rename_pending = true;
        rec.files[2].rename_pending = true;
        let mut written = Vec::new();
        store
            .transaction(|tx| tx.save(&rec, 1, &mut written))
            .unwrap();
        // No file row carries the flag; the job's does, and loading gives it back to the
        // transferred files that still have a temp file.
        let rows: i64 = store
            .lock_conn()
            .query_row(
                "SELECT count(*) FROM files WHERE rename_pending != 0",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(rows, 0);
        let back = store.load(&rec.id).unwrap().unwrap().rec;
        let pending: Vec<bool> = back.files.iter().map(|f| f.rename_pending).collect();
        assert_eq!(pending, [true, false, true]);
        // Complete done: the flag is gone with the last pending file.
        for f in &mut rec.files {
            f.rename_pending = false;
        }
        rec.files[0].completed = true;
        store
            .transaction(|tx| tx.save(&rec, 2, &mut written))
            .unwrap();
        let back = store.load(&rec.id).unwrap().unwrap().rec;
        assert!(back.files.iter().all(|f| !f.rename_pending));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_acknowledged_job_loads_its_renamed_files_as_completed_without_rewriting_them() {
        let dir = scratch("ack");
        let store = Store::open(&dir).unwrap();
        let mut rec = JobRecord::new(Guid([8; 16]), JobType::Download, "j".into(), 1);
        rec.state = JobState::Transferred;
        rec.files = vec![file("a", true), file("b", true), file("c", false)];
        let mut written = Vec::new();
        store
            .transaction(|tx| tx.save(&rec, 1, &mut written))
            .unwrap();
        // Complete: two files renamed, the third discarded.
        rec.state = JobState::Acknowledged;
        for f in &mut rec.files[..2] {
            f.completed = true;
            f.temp_path = None;
        }
        rec.files[2].discarded = true;
        rec.files[2].temp_path = None;
        store
            .transaction(|tx| tx.save(&rec, 2, &mut written))
            .unwrap();
        let (completed_rows, discarded_rows): (i64, i64) = store
            .lock_conn()
            .query_row(
                "SELECT sum(completed), sum(discarded) FROM files",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((completed_rows, discarded_rows), (0, 1));
        let back = store.load(&rec.id).unwrap().unwrap().rec;
        let view = |r: &JobRecord| -> Vec<(bool, bool, bool, bool)> {
            r.files
                .iter()
                .map(|f| {
                    (
                        f.completed,
                        f.discarded,
                        f.temp_path.is_some(),
                        f.rename_pending,
                    )
                })
                .collect()
        };
        assert_eq!(view(&back), view(&rec));
        assert_eq!(
            view(&back),
            [
                (true, false, false, false),
                (true, false, false, false),
                (false, true, false, false)
            ]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_version_1_store_is_migrated_and_keeps_its_pending_renames() {
        let dir = scratch("v1");
        {
            let conn = Connection::open(dir.join(DB_FILE)).unwrap();
            conn.execute_batch(schema::V1).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
        }
        // A version 1 store left by a crash inside Complete: the flag is on the file row.
        {
            let store = Store {
                conn: Mutex::new(Connection::open(dir.join(DB_FILE)).unwrap()),
                path: dir.join(DB_FILE),
            };
            let conn = store.lock_conn();
            let cols = "id, seq, rev, type, display_name, description, priority, state, notify_flags, \
                        min_retry_delay, no_progress_timeout, max_download_time, security_flags, error_count, \
                        creation_time, modification_time, transfer_completion_time, active_ms, \
                        min_notify_interval, max_rate";
            conn.execute(
                &format!("INSERT INTO jobs ({cols}) VALUES (?1, 1, 3, 0, 'old', '', 2, 6, 3, 600, 1209600, 0, 0, 0, 1, 2, 2, 0, 0, 0)"),
                [&[9u8; 16][..]],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO files (job_id, idx, remote_name, local_name, bytes_total, bytes_transferred, \
                 transferred, completed, discarded, rename_pending, temp_path) \
                 VALUES (?1, 0, 'http://127.0.0.1/a', CAST('/tmp/a' AS BLOB), 1, 1, 1, 0, 0, 1, \
                 CAST('/tmp/.bgcopy-a.tmp' AS BLOB))",
                [&[9u8; 16][..]],
            )
            .unwrap();
        }
        let store = Store::open(&dir).unwrap();
        let version: i64 = store
            .lock_conn()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let back = store.load(&Guid([9; 16])).unwrap().unwrap();
        assert_eq!(back.rev, 3);
        assert!(back.rec.files[0].rename_pending);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
