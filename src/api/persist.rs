//! A manager's persistence: the store of its state directory, the engine lease, and the sync
//! thread that writes engine-side changes, reads other processes' changes, takes the lease over
//! when its holder goes, and cancels inactive jobs.
//!
//! Every process that opens a state directory sees the same jobs: API calls write through to
//! the store inside a transaction (see `JobRef::mutate`), engine-side changes are written here
//! within ~100 ms (byte progress at most every 500 ms), and
//! changes made by other processes are merged into this process's jobs within ~100 ms.

use super::manager::Manager;
use crate::engine::{Job, Runtime};
use crate::fsx;
use crate::hresult::Result;
use crate::model::{now_ms, Guid, JobState};
use crate::store::{FileProgress, JobWrite, Store, StoredJob};
use parking_lot::{Condvar, Mutex};
use std::collections::HashMap;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The lock file whose `flock` is the engine lease.
pub const LEASE_FILE: &str = "engine.lock";
/// How often the sync thread looks for other processes' changes and for the lease.
const POLL: Duration = Duration::from_millis(100);
/// Byte progress is written at most this often per job.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(500);
/// How long a job that entered TRANSFERRED or ERROR waits to be written until that entry is
/// published (normally microseconds; see `Persist::flush_all`).
const UNPUBLISHED_MAX: Duration = Duration::from_millis(500);
/// Tombstones of ended jobs are kept this long (ms), so other processes learn how they ended.
const TOMBSTONE_AGE_MS: i64 = 24 * 3600 * 1000;

/// What the engine touched since the sync thread last looked.
#[derive(Default)]
struct Touched {
    /// Each job at most once (`Job::sync_queued`).
    jobs: Vec<Arc<Job>>,
    /// One of them changed state: write at once instead of at the next poll.
    urgent: bool,
}

/// Persistence of one manager.
pub struct Persist {
    /// The store.
    pub store: Store,
    dir: PathBuf,
    lease: Mutex<Option<File>>,
    taking: Mutex<()>,
    /// Jobs touched since the sync thread last looked.
    touched: Mutex<Touched>,
    /// Wakes the sync thread early: a state change to write, or shutdown.
    wake: Condvar,
    thread: Mutex<Option<JoinHandle<()>>>,
    stop: AtomicBool,
}

impl Persist {
    /// Opens the store of `dir`.
    pub fn open(dir: &Path) -> Result<Persist> {
        let store = Store::open(dir)?;
        Ok(Persist {
            store,
            dir: dir.to_path_buf(),
            lease: Mutex::new(None),
            taking: Mutex::new(()),
            touched: Mutex::new(Touched::default()),
            wake: Condvar::new(),
            thread: Mutex::new(None),
            stop: AtomicBool::new(false),
        })
    }

    /// Queues a job whose engine-side state changed. Cheap, because the engine calls it for
    /// every file: a job already queued is not queued again, and the sync thread is woken only
    /// for a state change (written at once); other changes wait for its next poll. Call it
    /// without the job lock held.
    pub fn touch(&self, job: &Arc<Job>) {
        let urgent = {
            let rt = job.lock();
            rt.rec.state != rt.saved_state
        };
        let queued = job.sync_queued.swap(true, Ordering::AcqRel);
        if queued && !urgent {
            return;
        }
        let mut touched = self.touched.lock();
        if !queued {
            touched.jobs.push(job.clone());
        }
        if urgent {
            touched.urgent = true;
            self.wake.notify_one();
        }
    }

    /// Whether this process holds the engine lease.
    pub fn has_lease(&self) -> bool {
        self.lease.lock().is_some()
    }

    /// Tries to take the engine lease (an exclusive `flock` on `engine.lock`).
    fn try_lease(&self) -> bool {
        let mut lease = self.lease.lock();
        if lease.is_some() {
            return true;
        }
        use std::os::unix::fs::OpenOptionsExt;
        let Ok(file) = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_CLOEXEC)
            .open(self.dir.join(LEASE_FILE))
        else {
            return false;
        };
        // SAFETY: a valid descriptor.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            *lease = Some(file);
            true
        } else {
            false
        }
    }

    /// Starts the sync thread.
    pub fn start(self: &Arc<Self>, manager: Weak<Manager>) -> std::io::Result<()> {
        let me = self.clone();
        let thread = std::thread::Builder::new()
            .name("bgcopy-sync".into())
            .spawn(move || {
                let _ = crate::ffi::boundary::guard(|| me.run(manager));
            })?;
        *self.thread.lock() = Some(thread);
        Ok(())
    }

    /// Stops the sync thread after a last write of every pending change; releases the lease.
    pub fn shutdown(&self) {
        {
            // Under the queue lock, so the thread cannot miss the wake between its check of
            // `stop` and its wait.
            let _queue = self.touched.lock();
            self.stop.store(true, Ordering::SeqCst);
            self.wake.notify_one();
        }
        if let Some(thread) = self.thread.lock().take() {
            let _ = thread.join();
        }
        *self.lease.lock() = None;
    }

    fn run(&self, manager: Weak<Manager>) {
        let mut pending: HashMap<Guid, Arc<Job>> = HashMap::new();
        let mut last_progress: HashMap<Guid, Instant> = HashMap::new();
        let mut unpublished_since: HashMap<Guid, Instant> = HashMap::new();
        // Unknown at first: the first poll reads every job again, so a change another process
        // committed between our load and this thread's start is not missed.
        let mut data_version = i64::MIN;
        let mut next_poll = Instant::now() + POLL;
        let mut next_sweep = Instant::now() + Duration::from_secs(60);
        loop {
            let (batch, stopping) = {
                let mut touched = self.touched.lock();
                if !touched.urgent
                    && !self.stop.load(Ordering::SeqCst)
                    && Instant::now() < next_poll
                {
                    self.wake.wait_until(&mut touched, next_poll);
                }
                touched.urgent = false;
                (
                    std::mem::take(&mut touched.jobs),
                    self.stop.load(Ordering::SeqCst),
                )
            };
            for job in batch {
                // Cleared before the job is looked at, so a touch from now on queues it again.
                job.sync_queued.store(false, Ordering::Release);
                pending.insert(job.id, job);
            }
            let Some(manager) = manager.upgrade() else {
                return;
            };
            if stopping {
                // The last write: every job with unwritten changes, touched or not (a change
                // made while the engine shut down may not have reached the queue).
                for job in manager.engine().jobs() {
                    pending.entry(job.id).or_insert(job);
                }
            }
            // Write what the engine changed; byte progress at most every PROGRESS_INTERVAL.
            self.flush_all(
                &mut pending,
                &mut last_progress,
                &mut unpublished_since,
                stopping,
            );
            if stopping {
                return;
            }
            if Instant::now() >= next_poll {
                next_poll = Instant::now() + POLL;
                if let Ok(v) = self.store.data_version() {
                    if v != data_version {
                        data_version = v;
                        self.pull(&manager);
                    }
                }
                if !manager.engine().has_lease() {
                    self.take_lease(&manager);
                }
            }
            if Instant::now() >= next_sweep && self.has_lease() {
                next_sweep = Instant::now() + Duration::from_secs(60);
                manager.cancel_inactive();
            }
        }
    }

    /// Takes the engine lease if it is free, and then makes this engine the one that
    /// transfers: reads every job again, recovers what a previous engine left half done,
    /// cancels inactive jobs, starts transferring, and runs pending command lines. Returns
    /// whether this process holds the lease now.
    pub fn take_lease(&self, manager: &Arc<Manager>) -> bool {
        // One taker at a time (the opening thread and the sync thread may both try).
        let _taking = self.taking.lock();
        if manager.engine().has_lease() {
            return true;
        }
        if !self.try_lease() {
            return false;
        }
        self.pull(manager);
        self.recover(manager);
        manager.cancel_inactive();
        manager.engine().set_lease(true);
        // Command lines that never succeeded for the state their job is in run now, in the
        // new lease holder (spec §3.3: even after the creator exited).
        for job in manager.engine().jobs() {
            let pending = {
                let rt = job.lock();
                let state = rt.rec.state;
                crate::notify::command_wanted(rt.rec.notify_flags, state)
                    .then(|| {
                        rt.rec
                            .notify_cmd
                            .clone()
                            .filter(|_| rt.rec.notify_cmd_done != Some(state))
                            .map(|c| (c, state))
                    })
                    .flatten()
            };
            if let Some((cmd, state)) = pending {
                job.run_command(cmd, state);
            }
        }
        true
    }

    /// Writes the pending jobs' engine-side changes in one transaction (one fsync for all):
    /// every dirty job whole (only its changed file rows), and byte progress of the others
    /// when due. A job another process changed meanwhile is merged instead (ours is written on
    /// the next round). On failure nothing is lost: the jobs stay pending.
    ///
    /// A job that entered TRANSFERRED or ERROR is written once that entry is published:
    /// publishing decides whether a callback takes the event, and that decision
    /// (`notify_cmd_done`) must reach the store together with the state. Written apart, a
    /// process killed in between would leave a state that says TRANSFERRED and no record of the
    /// callback, and the next lease holder would run the command line for an event that was
    /// taken. Publishing follows the change at once and touches the job again; in case it does
    /// not, the job waits at most [`UNPUBLISHED_MAX`] (`unpublished_since`).
    fn flush_all(
        &self,
        pending: &mut HashMap<Guid, Arc<Job>>,
        last_progress: &mut HashMap<Guid, Instant>,
        unpublished_since: &mut HashMap<Guid, Instant>,
        stopping: bool,
    ) {
        let mut full = Vec::new();
        let mut progress = Vec::new();
        pending.retain(|id, job| {
            let (dirty, moved, state_changed, unpublished) = {
                let rt = job.lock();
                (
                    rt.is_dirty(),
                    rt.progress_dirty,
                    rt.rec.state != rt.saved_state,
                    rt.entered
                        .iter()
                        .any(|s| matches!(s, JobState::Transferred | JobState::Error)),
                )
            };
            if dirty && unpublished && !stopping {
                let since = *unpublished_since.entry(*id).or_insert_with(Instant::now);
                if since.elapsed() < UNPUBLISHED_MAX {
                    return true;
                }
            }
            unpublished_since.remove(id);
            if dirty {
                // A state change is written at once; other engine-side changes (a file done, a
                // temp file made, a validator) at most every PROGRESS_INTERVAL per job: a crash
                // in between costs a 416 or a short re-transfer, never a wrong file.
                let due = stopping
                    || state_changed
                    || last_progress
                        .get(id)
                        .map_or(true, |t| t.elapsed() >= PROGRESS_INTERVAL);
                if !due {
                    return true;
                }
                full.push(job.clone());
                return false;
            }
            if !moved {
                return false;
            }
            if stopping
                || last_progress
                    .get(id)
                    .map_or(true, |t| t.elapsed() >= PROGRESS_INTERVAL)
            {
                progress.push(job.clone());
                return false;
            }
            true
        });
        if full.is_empty() && progress.is_empty() {
            return;
        }
        // What each written job was before, to undo it if the commit fails.
        let mut undo: Vec<(Arc<Job>, i64, JobState, u64)> = Vec::new();
        let mut ended: Vec<(Arc<Job>, Vec<PathBuf>)> = Vec::new();
        let result = self.store.transaction(|tx| {
            for job in &full {
                let db_rev = tx.rev(&job.id)?.unwrap_or(0);
                let mut rt = job.lock();
                if db_rev != rt.rev {
                    drop(rt);
                    if let Some(db) = tx.load(&job.id)? {
                        ended.push((job.clone(), merge(&mut job.lock(), db)));
                    }
                    continue;
                }
                undo.push((job.clone(), rt.rev, rt.saved_state, rt.saved_gen));
                // A copy of what changed, written without the job lock so the engine does not
                // wait for SQLite. Engine changes made meanwhile leave `dirty_gen` ahead of
                // `gen` and are written next round. No other write of this job can come in
                // between: this process's writes all run inside a store transaction.
                let gen = rt.dirty_gen;
                let rev = rt.rev + 1;
                let state = rt.rec.state;
                let w = JobWrite::new(&rt.rec, &rt.written).to_owned();
                rt.progress_dirty = false;
                drop(rt);
                let saved = tx.write(&w, rev);
                let mut rt = job.lock();
                if let Err(e) = saved {
                    rt.written.clear();
                    return Err(e);
                }
                w.mark_written(&mut rt.written);
                rt.rev = rev;
                rt.saved_state = state;
                rt.saved_gen = gen;
            }
            for job in &progress {
                // No fsync of the temp file here (it would stall behind a fast writer): a
                // restart continues from min(recorded bytes, temp file length), and on ext4's
                // ordered mode a file's length never covers data that did not reach the disk.
                let (files, modified) = {
                    let mut rt = job.lock();
                    rt.progress_dirty = false;
                    let files: Vec<FileProgress> = rt
                        .rec
                        .files
                        .iter()
                        .enumerate()
                        .filter(|(_, f)| !f.transferred && f.temp_path.is_some())
                        .map(|(i, f)| FileProgress {
                            index: i as u32,
                            bytes_transferred: f.bytes_transferred,
                            bytes_total: f.bytes_total,
                        })
                        .collect();
                    (files, rt.rec.modification_time)
                };
                let progress_rev = tx.save_progress(&job.id, &files, modified)?;
                job.lock().progress_rev = progress_rev;
            }
            Ok(())
        });
        match result {
            Ok(()) => {
                let now = Instant::now();
                for job in full.iter().chain(progress.iter()) {
                    last_progress.insert(job.id, now);
                }
                for job in full.iter().chain(progress.iter()) {
                    job.notify();
                }
                for (job, leftovers) in ended {
                    finish_ended(&job, leftovers);
                    // Ours is still dirty: written next round on top of theirs.
                    pending.insert(job.id, job);
                }
            }
            Err(e) => {
                crate::bglog!("writing jobs to the store failed: {e}");
                for (job, rev, state, gen) in undo {
                    let mut rt = job.lock();
                    rt.rev = rev;
                    rt.saved_state = state;
                    rt.saved_gen = gen;
                    rt.written.clear();
                }
                for job in full.into_iter().chain(progress) {
                    job.lock().progress_dirty = true;
                    pending.insert(job.id, job);
                }
            }
        }
    }

    /// Reads the jobs other processes created or changed, and merges them in.
    pub fn pull(&self, manager: &Arc<Manager>) {
        let Ok(revs) = self.store.revisions() else {
            return;
        };
        for (id, (rev, progress_rev)) in revs {
            match manager.find(&id) {
                Some(job) => {
                    {
                        let rt = job.lock();
                        if rt.rev == rev && rt.progress_rev == progress_rev {
                            continue;
                        }
                    }
                    if let Ok(Some(db)) = self.store.load(&id) {
                        let mut rt = job.lock();
                        // The revisions were read before the load: a write of this process in
                        // between (an API call, a flush) may have made the store equal to
                        // ours. Merging that would replace engine-side changes not yet
                        // written (finished files, recovered renames) with the older rows.
                        if db.rev == rt.rev && db.progress_rev == rt.progress_rev {
                            continue;
                        }
                        let leftovers = merge(&mut rt, db);
                        drop(rt);
                        job.notify();
                        // A Resume made elsewhere must start here if this process transfers.
                        manager.engine().wake();
                        finish_ended(&job, leftovers);
                    }
                }
                None => {
                    if let Ok(Some(db)) = self.store.load(&id) {
                        if !db.rec.state.is_final() {
                            manager.adopt(db);
                            manager.engine().wake();
                        }
                    }
                }
            }
        }
    }

    /// After taking the lease: transfers the previous engine left half done go back to QUEUED,
    /// retries are rescheduled, renames a crashed Complete had started are finished, and temp
    /// files of ended jobs are removed.
    pub fn recover(&self, manager: &Arc<Manager>) {
        let floor = manager.engine().options().retry_floor_ms;
        for job in manager.engine().jobs() {
            let mut rt = job.lock();
            if rt.worker_active {
                continue;
            }
            match rt.rec.state {
                JobState::Connecting | JobState::Transferring => {
                    rt.set_state(JobState::Queued, now_ms());
                    rt.mark_dirty();
                }
                JobState::TransientError if rt.retry_at.is_none() => {
                    rt.retry_at = Some(Instant::now() + Duration::from_millis(floor));
                }
                _ => {}
            }
            // A Complete that crashed between its intent and its renames: finish them.
            let mut changed = false;
            for f in rt.rec.files.iter_mut().filter(|f| f.rename_pending) {
                if let Some(temp) = f.temp_path.clone() {
                    if temp.exists() {
                        if fsx::rename_into_place(&temp, &f.local_name).is_err() {
                            f.rename_pending = false;
                            changed = true;
                            continue;
                        }
                    } else if !f.local_name.exists() {
                        // Neither the temp file nor the result: the bytes are gone.
                        f.rename_pending = false;
                        f.transferred = false;
                        f.bytes_transferred = 0;
                        f.temp_path = None;
                        changed = true;
                        continue;
                    }
                    f.temp_path = None;
                }
                f.rename_pending = false;
                f.completed = true;
                changed = true;
            }
            if changed {
                rt.rescan_files = true;
                rt.mark_dirty();
            }
            drop(rt);
            self.touch(&job);
        }
        self.remove_stray_temps(manager);
        let _ = self.store.purge_ended(now_ms(), TOMBSTONE_AGE_MS);
    }

    /// Deletes `.bgcopy-<job>-*.tmp` files, in the directories of known jobs, that belong to a
    /// job that has ended or that no live job records.
    fn remove_stray_temps(&self, _manager: &Manager) {
        let Ok(all) = self.store.load_all() else {
            return;
        };
        let mut dirs: HashMap<PathBuf, ()> = HashMap::new();
        let mut live_temps: HashMap<PathBuf, ()> = HashMap::new();
        let mut ended: HashMap<String, bool> = HashMap::new();
        for j in &all {
            ended.insert(fsx::temp_tag(&j.rec.id), j.rec.state.is_final());
            for f in &j.rec.files {
                if let Some(dir) = f.local_name.parent() {
                    dirs.insert(dir.to_path_buf(), ());
                }
                if let (Some(t), false) = (&f.temp_path, j.rec.state.is_final()) {
                    live_temps.insert(t.clone(), ());
                }
            }
        }
        for dir in dirs.keys() {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for e in entries.flatten() {
                let name = e.file_name();
                let Some(tag) = fsx::temp_tag_of(&name) else {
                    continue;
                };
                let path = e.path();
                // Only our own jobs' temp files: another state directory's stay.
                if ended.contains_key(&tag) && !live_temps.contains_key(&path) {
                    let _ = fsx::remove_temp(&path);
                }
            }
        }
    }
}

/// Merges the stored version of a job (written by another process) into ours. Their
/// job-level changes win; our transfer progress of files they did not end stays. Returns the
/// temp files to delete once our transfer has stopped, when they ended the job.
pub fn merge(rt: &mut Runtime, db: StoredJob) -> Vec<PathBuf> {
    let theirs_changed_state = db.rec.state != rt.saved_state;
    let mut rec = db.rec;
    // Engine-side changes of ours not written yet (a file finished after the last write,
    // renames that recovery finished) are newer than anything the store has for them, unless
    // the other process ended the job.
    let unsaved = rt.is_dirty() && !rec.state.is_final();
    for (i, f) in rec.files.iter_mut().enumerate() {
        let Some(ours) = rt.rec.files.get(i) else {
            continue;
        };
        if f.completed || f.discarded {
            continue;
        }
        if ours.completed || ours.discarded {
            if unsaved {
                *f = ours.clone();
            }
            continue;
        }
        // Our transfer progress wins while our own transfer of the job runs or is not written.
        if (rt.worker_active || unsaved)
            && (ours.transferred
                || ours.bytes_transferred >= f.bytes_transferred
                || ours.temp_path != f.temp_path)
        {
            f.bytes_total = ours.bytes_total;
            f.bytes_transferred = ours.bytes_transferred;
            f.transferred = ours.transferred;
            f.temp_path = ours.temp_path.clone();
            f.validator = ours.validator.clone();
        }
    }
    if !theirs_changed_state {
        rec.state = rt.rec.state;
        rec.error = rt.rec.error.clone();
        rec.error_count = rec.error_count.max(rt.rec.error_count);
        rec.transfer_completion_time = rt
            .rec
            .transfer_completion_time
            .max(rec.transfer_completion_time);
        rec.active_ms = rec.active_ms.max(rt.rec.active_ms);
    }
    let mut leftovers = Vec::new();
    if rec.state.is_final() {
        leftovers = rt
            .rec
            .files
            .iter()
            .zip(rec.files.iter())
            .filter(|(_, theirs)| !theirs.completed)
            .filter_map(|(ours, _)| ours.temp_path.clone())
            .collect();
    }
    if theirs_changed_state && !rec.state.is_active() {
        rt.stop_run();
    }
    if rec.state != rt.rec.state {
        rt.entered.push(rec.state);
    }
    rt.rec = rec;
    rt.rescan_files = true;
    rt.next_file = 0;
    rt.written.clear();
    rt.rev = db.rev;
    rt.progress_rev = db.progress_rev;
    rt.saved_state = rt.rec.state;
    if rt.rec.state != JobState::TransientError {
        rt.retry_at = None;
    }
    leftovers
}

/// Once a job ended by another process has no transfer running here, deletes the temp files
/// our transfer had and theirs did not know.
pub fn finish_ended(job: &Arc<Job>, leftovers: Vec<PathBuf>) {
    if leftovers.is_empty() {
        return;
    }
    {
        let mut rt = job.lock();
        while rt.worker_active {
            job.wait(&mut rt, None);
        }
    }
    for t in leftovers {
        let _ = fsx::remove_temp(&t);
    }
}

/// Marks a job's changes as not yet in the store (used when a write failed).
pub fn mark_unsaved(rt: &mut Runtime) {
    rt.saved_gen = rt.dirty_gen.wrapping_sub(1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::job::FileRecord;
    use crate::model::url::parse_remote;
    use crate::model::{JobRecord, JobType};

    fn job_with_files(n: usize) -> JobRecord {
        let mut rec = JobRecord::new(Guid([3; 16]), JobType::Download, "j".into(), 1);
        for i in 0..n {
            let url = format!("http://127.0.0.1/{i}");
            let mut f = FileRecord::new(
                url.clone(),
                parse_remote(&url).unwrap(),
                format!("/tmp/m{i}").into(),
            );
            f.temp_path = Some(format!("/tmp/.bgcopy-m{i}.tmp").into());
            rec.files.push(f);
        }
        rec.state = JobState::Transferring;
        rec
    }

    /// Ours: the last file finished and the job TRANSFERRED, not written yet, no transfer
    /// running. The store (changed meanwhile by another process) still has the file
    /// unfinished.
    fn unsaved_finish() -> (Arc<Job>, StoredJob) {
        let stored = job_with_files(2);
        let job = Job::new(stored.clone());
        {
            let mut rt = job.lock();
            rt.rev = 4;
            rt.saved_state = JobState::Transferring;
            rt.file_transferred(1);
            rt.rec.files[1].bytes_transferred = 10;
            rt.rec.state = JobState::Transferred;
            rt.mark_dirty();
        }
        let mut theirs = stored;
        theirs.description = "changed elsewhere".into();
        let db = StoredJob {
            rec: theirs,
            rev: 5,
            progress_rev: 0,
        };
        (job, db)
    }

    #[test]
    fn unsaved_engine_changes_survive_a_merge() {
        let (job, db) = unsaved_finish();
        let mut rt = job.lock();
        merge(&mut rt, db);
        assert_eq!(rt.rec.description, "changed elsewhere");
        assert_eq!(rt.rec.state, JobState::Transferred);
        assert!(
            rt.rec.files[1].transferred,
            "the finished file was merged away"
        );
        assert_eq!(rt.rec.files[1].bytes_transferred, 10);
        assert!(rt.is_dirty(), "ours must still be written");
    }

    #[test]
    fn a_completion_recovery_made_survives_a_merge() {
        let (job, db) = unsaved_finish();
        let mut rt = job.lock();
        rt.rec.files[0].completed = true;
        rt.rec.files[0].temp_path = None;
        merge(&mut rt, db);
        assert!(rt.rec.files[0].completed);
        assert_eq!(rt.rec.files[0].temp_path, None);
    }

    #[test]
    fn a_job_ended_elsewhere_wins_over_unsaved_changes() {
        let (job, mut db) = unsaved_finish();
        db.rec.state = JobState::Cancelled;
        let mut rt = job.lock();
        let leftovers = merge(&mut rt, db);
        assert_eq!(rt.rec.state, JobState::Cancelled);
        assert!(!rt.rec.files[1].transferred);
        // Our temp files are left for the caller to delete.
        assert_eq!(leftovers.len(), 2);
    }
}
