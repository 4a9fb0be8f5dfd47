//! `bg_job_*`: files, life cycle, state and properties of one job.

use super::args::{check_string_out, out_arg, str_arg, write_string};
use super::boundary;
use super::types::{
    bg_file_progress, bg_guid, bg_job, bg_job_error, bg_job_priority, bg_job_progress,
    bg_job_state, bg_job_times, bg_job_type,
};
use crate::api::handles;
use crate::api::JobRef;
use crate::hresult::{bg_hresult, Result, S_OK};
use std::ffi::c_char;
use std::sync::Arc;

/// Looks up `job`, checks `out` and writes `f(job)` into it: the shape of every simple getter.
fn get_into<T>(job: bg_job, out: *mut T, f: impl FnOnce(&Arc<JobRef>) -> Result<T>) -> bg_hresult {
    boundary::call(|| {
        let j = handles::job(job)?;
        let out = out_arg(out, "out-param")?;
        let value = f(&j)?;
        // SAFETY: out checked non-NULL; the caller passes a writable T.
        unsafe { out.write(value) };
        Ok(S_OK)
    })
}

/// Looks up `job`, checks the caller buffer and copies `f(job)` into it: every string getter.
fn get_string(
    job: bg_job,
    buf: *mut c_char,
    cap: usize,
    out_needed: *mut usize,
    f: impl FnOnce(&Arc<JobRef>) -> Result<String>,
) -> bg_hresult {
    boundary::call(|| {
        let j = handles::job(job)?;
        check_string_out(buf, cap, out_needed)?;
        let text = f(&j)?;
        // SAFETY: buffer arguments checked above.
        unsafe { write_string(&text, buf, cap, out_needed) }?;
        Ok(S_OK)
    })
}

/// Looks up `job` and runs a call that returns a code: setters and life-cycle methods.
fn with_job(job: bg_job, f: impl FnOnce(&Arc<JobRef>) -> Result<bg_hresult>) -> bg_hresult {
    boundary::call(|| f(&handles::job(job)?))
}

/// Adds a file to the job: `remote_url` (http://, https://, file:// or an absolute local path)
/// is fetched into `local_path` (absolute; its directory must exist). Files transfer in the
/// order added. The names are checked now, so a job never holds a name it cannot transfer.
///
/// Thread-safe. Returns S_OK; E_HANDLE; E_INVALIDARG when a string is NULL or not UTF-8, the
/// URL is malformed, relative or of an unsupported scheme (ftp:, smb hosts, ...), contains
/// characters that must be percent-encoded, or the local path is relative, names a directory, or
/// has . or .. components; BG_E_STRING_TOO_LONG for a URL over 2,200 characters (or a segment
/// over 260), a local path over 4,095 bytes or a component over 255; BG_E_WIN32_PATH_NOT_FOUND
/// (or the matching file-system code) when the local directory does not exist;
/// BG_E_INVALID_STATE when the job is ACKNOWLEDGED or CANCELLED.
#[no_mangle]
pub unsafe extern "C" fn bg_job_add_file(
    job: bg_job,
    remote_url: *const c_char,
    local_path: *const c_char,
) -> bg_hresult {
    with_job(job, |j| {
        // SAFETY: NULL checked; NUL-terminated per the contract.
        let (remote, local) = unsafe {
            (
                str_arg(remote_url, "remote_url")?,
                str_arg(local_path, "local_path")?,
            )
        };
        j.add_file(remote, local)
    })
}

/// Adds `count` files in one call (BITS' AddFileSet): `remote_urls[i]` is fetched into
/// `local_paths[i]`, with the checks of bg_job_add_file for each pair. All or nothing: if any
/// pair is invalid, no file is added. For a state directory this is one commit, so it is the
/// fast way to add many files. `count` 0 is a no-op.
///
/// Thread-safe. Returns S_OK; E_HANDLE; E_INVALIDARG when an array is NULL with `count` > 0 or
/// any string is NULL or invalid as for bg_job_add_file; the other codes of bg_job_add_file.
#[no_mangle]
pub unsafe extern "C" fn bg_job_add_file_set(
    job: bg_job,
    count: usize,
    remote_urls: *const *const c_char,
    local_paths: *const *const c_char,
) -> bg_hresult {
    with_job(job, |j| {
        if count > 0 && (remote_urls.is_null() || local_paths.is_null()) {
            return Err(crate::hresult::Error::InvalidArg(
                "remote_urls or local_paths is NULL",
            ));
        }
        let mut pairs = Vec::with_capacity(count);
        for i in 0..count {
            // SAFETY: both arrays have `count` entries per the contract; strings checked.
            let (r, l) = unsafe { (*remote_urls.add(i), *local_paths.add(i)) };
            // SAFETY: NULL checked by str_arg; NUL-terminated per the contract.
            pairs.push(unsafe { (str_arg(r, "remote_urls[i]")?, str_arg(l, "local_paths[i]")?) });
        }
        j.add_files(&pairs)
    })
}

/// Reads the number of files in the job.
///
/// Thread-safe. Returns S_OK; E_HANDLE; E_INVALIDARG when `out_count` is NULL.
#[no_mangle]
pub unsafe extern "C" fn bg_job_get_file_count(job: bg_job, out_count: *mut u32) -> bg_hresult {
    get_into(job, out_count, |j| Ok(j.file_count()))
}

/// Reads the progress of file `index` (0-based, in the order added). Before its transfer starts
/// a file reports bytes_total = BG_SIZE_UNKNOWN, bytes_transferred 0, completed 0.
///
/// Thread-safe. Returns S_OK; E_HANDLE; E_INVALIDARG when `out_progress` is NULL or `index` is
/// out of range.
#[no_mangle]
pub unsafe extern "C" fn bg_job_get_file_progress(
    job: bg_job,
    index: u32,
    out_progress: *mut bg_file_progress,
) -> bg_hresult {
    get_into(job, out_progress, |j| {
        let p = j.file_progress(index)?;
        Ok(bg_file_progress {
            bytes_total: p.bytes_total,
            bytes_transferred: p.bytes_transferred,
            completed: i32::from(p.completed),
        })
    })
}

/// Copies the remote name of file `index` into `buf` (see the string-buffer convention).
///
/// Thread-safe. Returns S_OK; E_HANDLE; E_INVALIDARG when `out_needed` is NULL, `buf` is NULL
/// with `cap` > 0, or `index` is out of range; BG_E_INSUFFICIENT_BUFFER with `*out_needed` set.
#[no_mangle]
pub unsafe extern "C" fn bg_job_get_file_remote_name(
    job: bg_job,
    index: u32,
    buf: *mut c_char,
    cap: usize,
    out_needed: *mut usize,
) -> bg_hresult {
    get_string(job, buf, cap, out_needed, |j| j.file_remote_name(index))
}

/// Copies the local name of file `index` into `buf`.
///
/// Thread-safe. Returns as bg_job_get_file_remote_name.
#[no_mangle]
pub unsafe extern "C" fn bg_job_get_file_local_name(
    job: bg_job,
    index: u32,
    buf: *mut c_char,
    cap: usize,
    out_needed: *mut usize,
) -> bg_hresult {
    get_string(job, buf, cap, out_needed, |j| j.file_local_name(index))
}

/// Copies the path of the temp file of file `index` (BITS' File3::GetTemporaryName): a hidden
/// file beside the destination, created when the file's transfer starts (over HTTP(S), while
/// earlier files of the job transfer: up to 8 files ahead, empty until their turn) and removed
/// by Complete or Cancel.
///
/// Thread-safe. Returns S_OK; S_FALSE and an empty string when the file has no temp file now;
/// otherwise as bg_job_get_file_remote_name.
#[no_mangle]
pub unsafe extern "C" fn bg_job_get_file_temp_name(
    job: bg_job,
    index: u32,
    buf: *mut c_char,
    cap: usize,
    out_needed: *mut usize,
) -> bg_hresult {
    boundary::call(|| {
        let j = handles::job(job)?;
        check_string_out(buf, cap, out_needed)?;
        let name = j.file_temp_name(index)?;
        // SAFETY: buffer arguments checked above.
        unsafe { write_string(name.as_deref().unwrap_or(""), buf, cap, out_needed) }?;
        Ok(if name.is_some() {
            S_OK
        } else {
            crate::hresult::S_FALSE
        })
    })
}

/// Queues the job for transfer (SUSPENDED, ERROR or TRANSIENT_ERROR → QUEUED; a TRANSFERRED job
/// with files added since → QUEUED); a no-op while QUEUED, CONNECTING or TRANSFERRING. Clears
/// the error object. Never waits for the transfer.
///
/// Thread-safe. Returns S_OK; E_HANDLE; BG_E_EMPTY when the job has no files (it stays
/// SUSPENDED); BG_E_INVALID_STATE when ACKNOWLEDGED or CANCELLED.
#[no_mangle]
pub extern "C" fn bg_job_resume(job: bg_job) -> bg_hresult {
    with_job(job, |j| j.resume())
}

/// Suspends the job: its transfer stops (the bytes so far are kept for a later Resume) and it
/// goes to SUSPENDED; a no-op when already SUSPENDED.
///
/// Thread-safe. Returns S_OK; E_HANDLE; BG_E_INVALID_STATE when ACKNOWLEDGED or CANCELLED.
#[no_mangle]
pub extern "C" fn bg_job_suspend(job: bg_job) -> bg_hresult {
    with_job(job, |j| j.suspend())
}

/// Cancels the job: stops its transfer, deletes its temp files and nothing else (files that
/// existed at the destinations, and files an earlier Complete already renamed, stay), and ends
/// it in CANCELLED. Waits for the transfer thread to leave the job (at most one chunk of I/O).
///
/// Thread-safe. Returns S_OK; BG_S_UNABLE_TO_DELETE_FILES when some temp file could not be
/// deleted (the job is cancelled all the same; bg_job_get_file_temp_name names them);
/// E_HANDLE; BG_E_INVALID_STATE when already ACKNOWLEDGED or CANCELLED.
#[no_mangle]
pub extern "C" fn bg_job_cancel(job: bg_job) -> bg_hresult {
    with_job(job, |j| j.cancel())
}

/// Completes the job: renames every fully transferred file from its temp file to its local
/// name (atomically replacing what is there, never following a symlink planted there), deletes
/// the temp files of the others, and ends the job in ACKNOWLEDGED. Callable in any state but the
/// final ones; files still in flight are discarded (BITS: Complete while file 3 of 5 transfers
/// keeps files 1 and 2).
///
/// Thread-safe. Returns S_OK when every file was kept; BG_S_PARTIAL_COMPLETE when some were
/// discarded; BG_S_UNABLE_TO_DELETE_FILES when a discarded temp file could not be deleted;
/// the rename's failure code (E_ACCESSDENIED, BG_E_WIN32_DIRECTORY, BG_E_WIN32_DISK_FULL, ...)
/// when a rename failed: then the job stays TRANSFERRED, files already renamed stay in place
/// with `completed` = 1, and Complete can be called again once the cause is fixed;
/// E_HANDLE; BG_E_INVALID_STATE when ACKNOWLEDGED or CANCELLED.
#[no_mangle]
pub extern "C" fn bg_job_complete(job: bg_job) -> bg_hresult {
    with_job(job, |j| j.complete())
}

/// Waits until the job is TRANSFERRED, ERROR, ACKNOWLEDGED or CANCELLED, or `timeout_ms`
/// passes, and writes the state at return into `*out_state`. Does not spin.
///
/// Thread-safe; any number of threads may wait on one job. Returns S_OK when the job reached
/// one of those states; S_FALSE when the timeout passed first; E_HANDLE; E_INVALIDARG when
/// `out_state` is NULL.
#[no_mangle]
pub unsafe extern "C" fn bg_job_wait(
    job: bg_job,
    timeout_ms: u32,
    out_state: *mut bg_job_state,
) -> bg_hresult {
    boundary::call(|| {
        let j = handles::job(job)?;
        let out = out_arg(out_state, "out_state")?;
        let (code, state) = j.wait(timeout_ms);
        // SAFETY: out checked non-NULL.
        unsafe { out.write(state as i32) };
        Ok(code)
    })
}

/// Releases a job handle. The job itself goes on (as in BITS, releasing never cancels);
/// other handles to it stay valid. The handle is invalid afterwards.
///
/// Thread-safe. Returns S_OK; E_HANDLE for a bad or already released handle.
#[no_mangle]
pub extern "C" fn bg_job_release(job: bg_job) -> bg_hresult {
    boundary::call(|| {
        drop(handles::remove_job(job)?);
        Ok(S_OK)
    })
}

/// Reads the job's persistent GUID.
///
/// Thread-safe. Returns S_OK; E_HANDLE; E_INVALIDARG when `out_id` is NULL.
#[no_mangle]
pub unsafe extern "C" fn bg_job_get_id(job: bg_job, out_id: *mut bg_guid) -> bg_hresult {
    get_into(job, out_id, |j| Ok(bg_guid { bytes: j.id().0 }))
}

/// Reads the job's type (BG_JOB_TYPE_*).
///
/// Thread-safe. Returns S_OK; E_HANDLE; E_INVALIDARG when `out_type` is NULL.
#[no_mangle]
pub unsafe extern "C" fn bg_job_get_type(job: bg_job, out_type: *mut bg_job_type) -> bg_hresult {
    get_into(job, out_type, |j| Ok(j.job_type() as i32))
}

/// Reads the job's state (BG_JOB_STATE_*); works in every state, final ones included.
///
/// Thread-safe. Returns S_OK; E_HANDLE; E_INVALIDARG when `out_state` is NULL.
#[no_mangle]
pub unsafe extern "C" fn bg_job_get_state(job: bg_job, out_state: *mut bg_job_state) -> bg_hresult {
    get_into(job, out_state, |j| Ok(j.state() as i32))
}

/// Reads the job's progress (bytes and files; live while transferring).
///
/// Thread-safe. Returns S_OK; E_HANDLE; E_INVALIDARG when `out_progress` is NULL.
#[no_mangle]
pub unsafe extern "C" fn bg_job_get_progress(
    job: bg_job,
    out_progress: *mut bg_job_progress,
) -> bg_hresult {
    get_into(job, out_progress, |j| {
        let p = j.progress();
        Ok(bg_job_progress {
            bytes_total: p.bytes_total,
            bytes_transferred: p.bytes_transferred,
            files_total: p.files_total,
            files_transferred: p.files_transferred,
        })
    })
}

/// Reads the job's creation, last modification and transfer completion times.
///
/// Thread-safe. Returns S_OK; E_HANDLE; E_INVALIDARG when `out_times` is NULL.
#[no_mangle]
pub unsafe extern "C" fn bg_job_get_times(job: bg_job, out_times: *mut bg_job_times) -> bg_hresult {
    get_into(job, out_times, |j| {
        let (creation_time, modification_time, transfer_completion_time) = j.times();
        Ok(bg_job_times {
            creation_time,
            modification_time,
            transfer_completion_time,
        })
    })
}

/// Reads the job's error object: context, code and file into `*out_error`, and a description
/// (the cause and the file's names; never credentials) into `desc_buf`. Pass `desc_buf` NULL,
/// `desc_cap` 0 and `out_needed` NULL to skip the description.
///
/// Thread-safe. Returns S_OK; BG_E_ERROR_INFORMATION_UNAVAILABLE unless the job is in ERROR or
/// TRANSIENT_ERROR; E_HANDLE; E_INVALIDARG when `out_error` is NULL, or `desc_buf` is non-NULL
/// and `out_needed` NULL, or `desc_buf` is NULL with `desc_cap` > 0; BG_E_INSUFFICIENT_BUFFER
/// when the description does not fit (`*out_needed` set, `*out_error` untouched).
#[no_mangle]
pub unsafe extern "C" fn bg_job_get_error(
    job: bg_job,
    out_error: *mut bg_job_error,
    desc_buf: *mut c_char,
    desc_cap: usize,
    out_needed: *mut usize,
) -> bg_hresult {
    boundary::call(|| {
        let j = handles::job(job)?;
        let out = out_arg(out_error, "out_error")?;
        let want_text = !(desc_buf.is_null() && desc_cap == 0 && out_needed.is_null());
        if want_text {
            check_string_out(desc_buf, desc_cap, out_needed)?;
        }
        let e = j.error()?;
        if want_text {
            // SAFETY: buffer arguments checked above.
            unsafe { write_string(&e.description, desc_buf, desc_cap, out_needed) }?;
        }
        // SAFETY: out checked non-NULL.
        unsafe {
            out.write(bg_job_error {
                context: e.context,
                code: e.code,
                file_index: e.file_index.unwrap_or(u32::MAX),
            });
        }
        Ok(S_OK)
    })
}

/// Reads how many times the job went to TRANSIENT_ERROR or ERROR (never reset).
///
/// Thread-safe. Returns S_OK; E_HANDLE; E_INVALIDARG when `out_count` is NULL.
#[no_mangle]
pub unsafe extern "C" fn bg_job_get_error_count(job: bg_job, out_count: *mut u32) -> bg_hresult {
    get_into(job, out_count, |j| Ok(j.error_count()))
}

/// Sets the display name (at most 256 characters, counted in UTF-16 units as BITS does).
///
/// Thread-safe. Returns S_OK; E_HANDLE; E_INVALIDARG when `name` is NULL or not UTF-8;
/// BG_E_STRING_TOO_LONG; BG_E_INVALID_STATE when ACKNOWLEDGED or CANCELLED.
#[no_mangle]
pub unsafe extern "C" fn bg_job_set_display_name(job: bg_job, name: *const c_char) -> bg_hresult {
    // SAFETY: NULL checked; NUL-terminated per the contract.
    with_job(job, |j| {
        j.set_display_name(unsafe { str_arg(name, "name") }?)
    })
}

/// Copies the display name into `buf`.
///
/// Thread-safe. Returns S_OK; E_HANDLE; E_INVALIDARG when `out_needed` is NULL or `buf` is NULL
/// with `cap` > 0; BG_E_INSUFFICIENT_BUFFER with `*out_needed` set.
#[no_mangle]
pub unsafe extern "C" fn bg_job_get_display_name(
    job: bg_job,
    buf: *mut c_char,
    cap: usize,
    out_needed: *mut usize,
) -> bg_hresult {
    get_string(job, buf, cap, out_needed, |j| Ok(j.display_name()))
}

/// Sets the description (at most 1,024 characters; empty until set).
///
/// Thread-safe. Returns S_OK; E_HANDLE; E_INVALIDARG when `text` is NULL or not UTF-8;
/// BG_E_STRING_TOO_LONG; BG_E_INVALID_STATE when ACKNOWLEDGED or CANCELLED.
#[no_mangle]
pub unsafe extern "C" fn bg_job_set_description(job: bg_job, text: *const c_char) -> bg_hresult {
    // SAFETY: NULL checked; NUL-terminated per the contract.
    with_job(job, |j| {
        j.set_description(unsafe { str_arg(text, "text") }?)
    })
}

/// Copies the description into `buf`.
///
/// Thread-safe. Returns as bg_job_get_display_name.
#[no_mangle]
pub unsafe extern "C" fn bg_job_get_description(
    job: bg_job,
    buf: *mut c_char,
    cap: usize,
    out_needed: *mut usize,
) -> bg_hresult {
    get_string(job, buf, cap, out_needed, |j| Ok(j.description()))
}

/// Sets the priority (BG_JOB_PRIORITY_*); the scheduler applies it at once.
///
/// Thread-safe. Returns S_OK; E_HANDLE; E_NOTIMPL for a value that is not a BG_JOB_PRIORITY_*
/// (as BITS); BG_E_INVALID_STATE when ACKNOWLEDGED or CANCELLED.
#[no_mangle]
pub extern "C" fn bg_job_set_priority(job: bg_job, priority: bg_job_priority) -> bg_hresult {
    with_job(job, |j| j.set_priority(priority))
}

/// Reads the priority.
///
/// Thread-safe. Returns S_OK; E_HANDLE; E_INVALIDARG when `out_priority` is NULL.
#[no_mangle]
pub unsafe extern "C" fn bg_job_get_priority(
    job: bg_job,
    out_priority: *mut bg_job_priority,
) -> bg_hresult {
    get_into(job, out_priority, |j| Ok(j.priority() as i32))
}

/// Sets MinimumRetryDelay: seconds to wait in TRANSIENT_ERROR before retrying (default 600).
/// The engine never retries sooner than the manager's retry floor (5 s by default, as in BITS).
///
/// Thread-safe. Returns S_OK; E_HANDLE; BG_E_INVALID_STATE when ACKNOWLEDGED or CANCELLED.
#[no_mangle]
pub extern "C" fn bg_job_set_minimum_retry_delay(job: bg_job, seconds: u32) -> bg_hresult {
    with_job(job, |j| j.set_min_retry_delay(seconds))
}

/// Reads MinimumRetryDelay in seconds.
///
/// Thread-safe. Returns S_OK; E_HANDLE; E_INVALIDARG when `out_seconds` is NULL.
#[no_mangle]
pub unsafe extern "C" fn bg_job_get_minimum_retry_delay(
    job: bg_job,
    out_seconds: *mut u32,
) -> bg_hresult {
    get_into(job, out_seconds, |j| Ok(j.min_retry_delay()))
}

/// Sets NoProgressTimeout: seconds without progress after which TRANSIENT_ERROR becomes ERROR
/// (default 1,209,600 = 14 days; 0 makes every error fatal).
///
/// Thread-safe. Returns S_OK; E_HANDLE; BG_E_INVALID_STATE when ACKNOWLEDGED or CANCELLED.
#[no_mangle]
pub extern "C" fn bg_job_set_no_progress_timeout(job: bg_job, seconds: u32) -> bg_hresult {
    with_job(job, |j| j.set_no_progress_timeout(seconds))
}

/// Reads NoProgressTimeout in seconds.
///
/// Thread-safe. Returns S_OK; E_HANDLE; E_INVALIDARG when `out_seconds` is NULL.
#[no_mangle]
pub unsafe extern "C" fn bg_job_get_no_progress_timeout(
    job: bg_job,
    out_seconds: *mut u32,
) -> bg_hresult {
    get_into(job, out_seconds, |j| Ok(j.no_progress_timeout()))
}

/// Sets the notify flags (an OR of BG_NOTIFY_*; default 0x3).
///
/// Thread-safe. Returns S_OK; E_HANDLE; E_NOTIMPL for an unknown bit (as BITS);
/// BG_E_INVALID_STATE when ACKNOWLEDGED or CANCELLED.
#[no_mangle]
pub extern "C" fn bg_job_set_notify_flags(job: bg_job, flags: u32) -> bg_hresult {
    with_job(job, |j| j.set_notify_flags(flags))
}

/// Reads the notify flags.
///
/// Thread-safe. Returns S_OK; E_HANDLE; E_INVALIDARG when `out_flags` is NULL.
#[no_mangle]
pub unsafe extern "C" fn bg_job_get_notify_flags(job: bg_job, out_flags: *mut u32) -> bg_hresult {
    get_into(job, out_flags, |j| Ok(j.notify_flags()))
}

/// Sets MaxDownloadTime: seconds the job may spend in CONNECTING and TRANSFERRING since its last
/// Resume before it goes to ERROR with BG_E_MAXDOWNLOAD_TIMEOUT (default 7,776,000 = 90 days;
/// 0 = no limit).
///
/// Thread-safe. Returns S_OK; E_HANDLE; BG_E_INVALID_STATE when ACKNOWLEDGED or CANCELLED.
#[no_mangle]
pub extern "C" fn bg_job_set_maximum_download_time(job: bg_job, seconds: u32) -> bg_hresult {
    with_job(job, |j| j.set_max_download_time(seconds))
}

/// Reads MaxDownloadTime in seconds.
///
/// Thread-safe. Returns S_OK; E_HANDLE; E_INVALIDARG when `out_seconds` is NULL.
#[no_mangle]
pub unsafe extern "C" fn bg_job_get_maximum_download_time(
    job: bg_job,
    out_seconds: *mut u32,
) -> bg_hresult {
    get_into(job, out_seconds, |j| Ok(j.max_download_time()))
}

/// Sets the job's security flags (BITS SetSecurityFlags): BG_SSL_IGNORE_CERT_CN_INVALID,
/// BG_SSL_IGNORE_UNKNOWN_CA, one BG_HTTP_REDIRECT_POLICY_* value and
/// BG_HTTP_REDIRECT_POLICY_ALLOW_HTTPS_TO_HTTP. Default 0: certificates fully verified,
/// redirects followed, https → http refused. Applies from the job's next request.
///
/// Thread-safe. Returns S_OK; E_HANDLE; E_NOTIMPL for flags bgcopy does not implement
/// (BITS' CRL check 0x1, ignore date 0x4, ignore usage 0x10, unknown bits, redirect policy
/// values above DISALLOW); BG_E_INVALID_STATE when ACKNOWLEDGED or CANCELLED.
#[no_mangle]
pub extern "C" fn bg_job_set_security_flags(job: bg_job, flags: u32) -> bg_hresult {
    with_job(job, |j| j.set_security_flags(flags))
}

/// Reads the job's security flags.
///
/// Thread-safe. Returns S_OK; E_HANDLE; E_INVALIDARG when `out_flags` is NULL.
#[no_mangle]
pub unsafe extern "C" fn bg_job_get_security_flags(job: bg_job, out_flags: *mut u32) -> bg_hresult {
    get_into(job, out_flags, |j| Ok(j.security_flags()))
}

/// Sets the job's own bandwidth cap in bytes per second (0 = none, the default; bgcopy's
/// addition to BITS). It applies at once to the job's HTTP transfers, foreground or not, on top
/// of the manager's background cap. Local (`file://`) copies are not throttled.
///
/// Thread-safe. Returns S_OK; E_HANDLE; BG_E_INVALID_STATE when ACKNOWLEDGED or CANCELLED.
#[no_mangle]
pub extern "C" fn bg_job_set_max_rate(job: bg_job, bytes_per_second: u64) -> bg_hresult {
    with_job(job, |j| j.set_max_rate(bytes_per_second))
}

/// Reads the job's own bandwidth cap (bytes per second; 0 = none).
///
/// Thread-safe. Returns S_OK; E_HANDLE; E_INVALIDARG when `out_bytes_per_second` is NULL.
#[no_mangle]
pub unsafe extern "C" fn bg_job_get_max_rate(
    job: bg_job,
    out_bytes_per_second: *mut u64,
) -> bg_hresult {
    get_into(job, out_bytes_per_second, |j| Ok(j.max_rate()))
}
