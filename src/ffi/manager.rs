//! `bg_manager_*`: opening and closing managers, creating and finding jobs, options.

use super::args::{opt_str_arg, out_arg, ref_arg, str_arg};
use super::boundary;
use super::types::{bg_guid, bg_job, bg_job_type, bg_manager};
use crate::api::handles::{self, Entry};
use crate::api::{JobRef, Manager};
use crate::hresult::{bg_hresult, Error, BG_E_INSUFFICIENT_BUFFER, S_OK};
use crate::model::{Guid, JobType};
use std::ffi::c_char;
use std::sync::Arc;

/// Opens the job queue of a state directory and returns a manager handle in `*out_manager`.
///
/// `state_dir`: an absolute directory (created with mode 0700 if missing), NULL for the per-user
/// default (`$XDG_STATE_HOME/bgcopy`, else `$HOME/.local/state/bgcopy`), or ":memory:" for a
/// queue that persists nothing. Opening a directory that is already open in this process returns
/// a new handle to the same manager (one engine per directory per process); each handle is
/// closed with bg_manager_close.
///
/// Thread-safe. Returns S_OK; E_INVALIDARG when `out_manager` is NULL or `state_dir` is not
/// UTF-8 or not absolute; BG_E_STRING_TOO_LONG for a path over 4,095 bytes;
/// BG_E_STATE_DIR_INVALID when the path is not a directory, cannot be created or is not
/// writable; E_OUTOFMEMORY or another failure code if the engine's thread cannot start.
#[no_mangle]
pub unsafe extern "C" fn bg_manager_open(
    state_dir: *const c_char,
    out_manager: *mut bg_manager,
) -> bg_hresult {
    boundary::call(|| {
        // SAFETY: NULL allowed; otherwise NUL-terminated per the contract.
        let dir = unsafe { opt_str_arg(state_dir, "state_dir") }?;
        let out = out_arg(out_manager, "out_manager")?;
        let manager = Manager::open(dir)?;
        let handle = handles::insert(Entry::Manager(manager));
        // SAFETY: out checked non-NULL.
        unsafe { out.write(handle) };
        Ok(S_OK)
    })
}

/// Closes a manager handle. Closing the last handle of a manager stops its transfers cleanly
/// (waits for the transfer threads to leave; no file is left half-renamed) and invalidates
/// every job handle opened through it (they then return E_HANDLE). Jobs themselves are not
/// cancelled.
///
/// Thread-safe; blocks until transfers have stopped (at most one chunk of I/O per transfer),
/// and up to 2 s for notify command lines that are still running (so the outcome of one that
/// ends now is stored, and the next process does not run it again). Returns S_OK; E_HANDLE for
/// a bad, closed or non-manager handle.
#[no_mangle]
pub extern "C" fn bg_manager_close(manager: bg_manager) -> bg_hresult {
    boundary::call(|| {
        let m = handles::remove_manager(manager)?;
        if m.close() {
            let doomed = handles::remove_jobs_where(|j| Arc::ptr_eq(&j.manager, &m));
            drop(doomed);
        }
        Ok(S_OK)
    })
}

fn job_handle(manager: &Arc<Manager>, job: Arc<crate::engine::Job>) -> bg_job {
    handles::insert(Entry::Job(Arc::new(JobRef {
        job,
        manager: manager.clone(),
    })))
}

/// Creates a download job in SUSPENDED (notify flags 0x3, priority NORMAL, MinimumRetryDelay
/// 600 s, NoProgressTimeout 1,209,600 s) and returns its GUID in `*out_id` and a handle in
/// `*out_job`. `out_id` may be NULL when the GUID is not wanted (bg_job_get_id reads it later).
///
/// Thread-safe. Returns S_OK; E_HANDLE for a bad manager; E_INVALIDARG when `display_name` or
/// `out_job` is NULL, the name is not UTF-8, or `type` is not a BG_JOB_TYPE_* value;
/// BG_E_STRING_TOO_LONG for a name over 256 characters (UTF-16 units, as in BITS); E_NOTIMPL
/// for upload and upload-reply jobs (not supported by this version).
#[no_mangle]
pub unsafe extern "C" fn bg_manager_create_job(
    manager: bg_manager,
    display_name: *const c_char,
    r#type: bg_job_type,
    out_id: *mut bg_guid,
    out_job: *mut bg_job,
) -> bg_hresult {
    boundary::call(|| {
        let m = handles::manager(manager)?;
        // SAFETY: NULL checked; NUL-terminated per the contract.
        let name = unsafe { str_arg(display_name, "display_name") }?;
        let job_type = JobType::from_i32(r#type).ok_or(Error::InvalidArg("unknown job type"))?;
        let out = out_arg(out_job, "out_job")?;
        let job = m.create_job(name, job_type)?;
        let id = job.id;
        let handle = job_handle(&m, job);
        // SAFETY: out checked non-NULL; out_id checked before writing.
        unsafe {
            if !out_id.is_null() {
                out_id.write(bg_guid { bytes: id.0 });
            }
            out.write(handle);
        }
        Ok(S_OK)
    })
}

/// Finds a job by GUID and returns a new handle to it in `*out_job` (release it with
/// bg_job_release; the job is not affected).
///
/// Thread-safe. Returns S_OK; E_HANDLE for a bad manager; E_INVALIDARG when `id` or `out_job`
/// is NULL; BG_E_NOT_FOUND when no such job exists or it has ended (ACKNOWLEDGED or CANCELLED).
#[no_mangle]
pub unsafe extern "C" fn bg_manager_get_job(
    manager: bg_manager,
    id: *const bg_guid,
    out_job: *mut bg_job,
) -> bg_hresult {
    boundary::call(|| {
        let m = handles::manager(manager)?;
        // SAFETY: NULL checked.
        let id = unsafe { ref_arg(id, "id") }?;
        let out = out_arg(out_job, "out_job")?;
        let job = m.get_job(&Guid(id.bytes))?;
        let handle = job_handle(&m, job);
        // SAFETY: out checked non-NULL.
        unsafe { out.write(handle) };
        Ok(S_OK)
    })
}

/// Takes a snapshot of the GUIDs of the jobs not yet ended (oldest first) into `out_ids`
/// (room for `capacity`), and their number into `*out_count`. `flags` must be 0.
/// Pass `out_ids` NULL with `capacity` 0 to ask for the count: the answer is
/// BG_E_INSUFFICIENT_BUFFER with the count when there are jobs, S_OK with 0 when there are none
/// (a capacity of 0 is then enough), as for any other capacity.
///
/// Thread-safe. Returns S_OK; E_HANDLE for a bad manager; E_INVALIDARG when `out_count` is
/// NULL, `out_ids` is NULL with `capacity` > 0, or `flags` is not 0; BG_E_INSUFFICIENT_BUFFER
/// when `capacity` is too small (with `*out_count` = the number needed, `out_ids` untouched).
#[no_mangle]
pub unsafe extern "C" fn bg_manager_enum_jobs(
    manager: bg_manager,
    flags: u32,
    out_ids: *mut bg_guid,
    capacity: usize,
    out_count: *mut usize,
) -> bg_hresult {
    boundary::call(|| {
        let m = handles::manager(manager)?;
        let count_out = out_arg(out_count, "out_count")?;
        if out_ids.is_null() && capacity != 0 {
            return Err(Error::InvalidArg("out_ids is NULL but capacity is not 0"));
        }
        if flags != 0 {
            return Err(Error::InvalidArg("flags must be 0"));
        }
        let ids = m.enum_jobs();
        // SAFETY: count_out checked non-NULL; out_ids has room for `capacity` entries.
        unsafe {
            count_out.write(ids.len());
            if ids.len() > capacity {
                return Ok(BG_E_INSUFFICIENT_BUFFER);
            }
            for (i, id) in ids.iter().enumerate() {
                out_ids.add(i).write(bg_guid { bytes: id.0 });
            }
        }
        Ok(S_OK)
    })
}

/// Sets a manager option (a BG_OPTION_* value) for this manager's engine; takes effect at once.
///
/// Thread-safe. Returns S_OK; E_HANDLE for a bad manager; E_INVALIDARG for an unknown option or
/// a value out of its documented range.
#[no_mangle]
pub extern "C" fn bg_manager_set_option(
    manager: bg_manager,
    option: i32,
    value: u64,
) -> bg_hresult {
    boundary::call(|| {
        handles::manager(manager)?.set_option(option, value)?;
        Ok(S_OK)
    })
}

/// Reads a manager option (a BG_OPTION_* value) into `*out_value`.
///
/// Thread-safe. Returns S_OK; E_HANDLE for a bad manager; E_INVALIDARG for an unknown option or
/// a NULL `out_value`.
#[no_mangle]
pub unsafe extern "C" fn bg_manager_get_option(
    manager: bg_manager,
    option: i32,
    out_value: *mut u64,
) -> bg_hresult {
    boundary::call(|| {
        let m = handles::manager(manager)?;
        let out = out_arg(out_value, "out_value")?;
        let v = m.get_option(option)?;
        // SAFETY: out checked non-NULL.
        unsafe { out.write(v) };
        Ok(S_OK)
    })
}
