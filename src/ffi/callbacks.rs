//! `bg_job_set_callbacks` and the command-line notification: C function pointers wrapped as a
//! `notify::Listener`.
#![allow(non_camel_case_types)]

use super::args::{check_string_out, out_arg, str_arg, write_string};
use super::boundary;
use super::types::{bg_job, bg_job_error};
use crate::api::handles::{self, Entry};
use crate::api::{JobRef, Manager};
use crate::engine::Job;
use crate::hresult::{bg_hresult, Error, S_FALSE, S_OK};
use crate::model::limits::LOCAL_PATH_MAX_BYTES;
use crate::notify::{CommandLine, Event, Listener};
use std::any::Any;
use std::ffi::{c_char, c_void};
use std::sync::{Arc, Weak};

/// The job's callbacks (spec §3.9). Every member may be NULL. They run on the library's
/// dispatcher thread, one at a time, in event order per job, never while a library lock is
/// held; a callback may call any bgcopy function. The `job` argument is a handle valid for the
/// duration of the call: the handle the callbacks were set through while it is not released,
/// else a temporary one.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct bg_job_callbacks {
    /// The job reached TRANSFERRED (notify flag BG_NOTIFY_JOB_TRANSFERRED).
    pub job_transferred: Option<unsafe extern "C" fn(user_data: *mut c_void, job: bg_job)>,
    /// The job reached ERROR (BG_NOTIFY_JOB_ERROR); `error` is valid during the call.
    pub job_error: Option<
        unsafe extern "C" fn(user_data: *mut c_void, job: bg_job, error: *const bg_job_error),
    >,
    /// The job changed: state, progress, files, properties (BG_NOTIFY_JOB_MODIFICATION);
    /// at most one per the job's minimum notification interval.
    pub job_modification: Option<unsafe extern "C" fn(user_data: *mut c_void, job: bg_job)>,
    /// File `file_index` finished (BG_NOTIFY_FILE_TRANSFERRED), once per file, in order.
    pub file_transferred:
        Option<unsafe extern "C" fn(user_data: *mut c_void, job: bg_job, file_index: u32)>,
}

/// Frees the `user_data` given to bg_job_set_callbacks.
pub type bg_user_data_free = Option<unsafe extern "C" fn(user_data: *mut c_void)>;

/// The C callbacks of one job in this process.
struct CListener {
    fns: bg_job_callbacks,
    user_data: usize,
    /// Taken (and run) by Drop; taken back out when the callbacks could not be set.
    free: parking_lot::Mutex<bg_user_data_free>,
    handle: bg_job,
    manager: Weak<Manager>,
}

impl CListener {
    /// A handle for the call: the one the callbacks were set through, else a temporary one.
    fn with_handle(&self, job: &Arc<Job>, f: impl FnOnce(bg_job)) {
        if handles::job(self.handle).is_ok_and(|j| Arc::ptr_eq(&j.job, job)) {
            return f(self.handle);
        }
        let Some(manager) = self.manager.upgrade() else {
            return;
        };
        let temp = handles::insert(Entry::Job(Arc::new(JobRef {
            job: job.clone(),
            manager,
        })));
        f(temp);
        // The callback may have released it itself.
        let _ = handles::remove_job(temp);
    }
}

impl Listener for CListener {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn deliver(&self, job: &Arc<Job>, event: &Event) {
        let ud = self.user_data as *mut c_void;
        self.with_handle(job, |h| match event {
            // SAFETY (each arm): the caller registered these functions for this user data.
            Event::Transferred => {
                if let Some(f) = self.fns.job_transferred {
                    unsafe { f(ud, h) }
                }
            }
            Event::Error(e) => {
                if let Some(f) = self.fns.job_error {
                    let err = bg_job_error {
                        context: e.context,
                        code: e.code,
                        file_index: e.file_index.unwrap_or(u32::MAX),
                    };
                    unsafe { f(ud, h, &err) }
                }
            }
            Event::Modification => {
                if let Some(f) = self.fns.job_modification {
                    unsafe { f(ud, h) }
                }
            }
            Event::FileTransferred(i) => {
                if let Some(f) = self.fns.file_transferred {
                    unsafe { f(ud, h, *i) }
                }
            }
        });
    }

    fn takes_transferred(&self) -> bool {
        self.fns.job_transferred.is_some()
    }

    fn takes_error(&self) -> bool {
        self.fns.job_error.is_some()
    }
}

impl Drop for CListener {
    fn drop(&mut self) {
        if let Some(free) = self.free.lock().take() {
            let ud = self.user_data;
            // On the dispatcher thread, after the callbacks already queued: exactly once, and
            // never under a library lock.
            // SAFETY: the caller gave this function for this user data.
            crate::notify::run_after_events(Box::new(move || unsafe { free(ud as *mut c_void) }));
        }
    }
}

/// Sets this process's callbacks for a job (BITS' SetNotifyInterface), replacing any earlier
/// ones, or removes them when `callbacks` is NULL (then `user_data` and `user_data_free` are
/// ignored). Which events fire is filtered by the job's notify flags (default: TRANSFERRED and
/// ERROR). Callbacks are not persisted and belong to this process. `user_data_free`, if given,
/// runs exactly once, on the dispatcher thread after the callbacks already queued: when these
/// callbacks are replaced or removed, or when the job's last reference goes (its handles
/// released and its manager closed). A JobError callback fires once per transition to ERROR.
///
/// Thread-safe; may be called from a callback. Returns S_OK; E_HANDLE; BG_E_INVALID_STATE when
/// the job is ACKNOWLEDGED or CANCELLED (nothing is taken: `user_data_free` is not called).
#[no_mangle]
pub unsafe extern "C" fn bg_job_set_callbacks(
    job: bg_job,
    callbacks: *const bg_job_callbacks,
    user_data: *mut c_void,
    user_data_free: bg_user_data_free,
) -> bg_hresult {
    boundary::call(|| {
        let j = handles::job(job)?;
        // SAFETY: NULL checked; otherwise a valid struct per the contract.
        let listener: Option<Arc<CListener>> = unsafe { callbacks.as_ref() }.map(|fns| {
            Arc::new(CListener {
                fns: *fns,
                user_data: user_data as usize,
                free: parking_lot::Mutex::new(user_data_free),
                handle: job,
                manager: Arc::downgrade(&j.manager),
            })
        });
        if let Err(e) = j.set_listener(listener.clone().map(|l| l as Arc<dyn Listener>)) {
            // Nothing was taken: the caller keeps its user data.
            if let Some(l) = &listener {
                l.free.lock().take();
            }
            return Err(e);
        }
        Ok(S_OK)
    })
}

/// Reads this process's callbacks for a job and their user data. With none set: S_OK, every
/// member NULL and `*out_user_data` NULL.
///
/// Thread-safe. Returns S_OK; E_HANDLE; E_INVALIDARG when an out-param is NULL.
#[no_mangle]
pub unsafe extern "C" fn bg_job_get_callbacks(
    job: bg_job,
    out_callbacks: *mut bg_job_callbacks,
    out_user_data: *mut *mut c_void,
) -> bg_hresult {
    boundary::call(|| {
        let j = handles::job(job)?;
        let out_cb = out_arg(out_callbacks, "out_callbacks")?;
        let out_ud = out_arg(out_user_data, "out_user_data")?;
        let (fns, ud) = match j.listener() {
            Some(l) => match l.as_any().downcast_ref::<CListener>() {
                Some(c) => (c.fns, c.user_data as *mut c_void),
                None => (bg_job_callbacks::default(), std::ptr::null_mut()),
            },
            None => (bg_job_callbacks::default(), std::ptr::null_mut()),
        };
        // SAFETY: out-params checked non-NULL.
        unsafe {
            out_cb.write(fns);
            out_ud.write(ud);
        }
        Ok(S_OK)
    })
}

/// Sets the command line run when the job reaches TRANSFERRED or ERROR and no callback of the
/// engine's process takes the event (BITS' SetNotifyCmdLine): `program` (an absolute path,
/// run directly, never through a shell) with `args` (`arg_count` strings: argv[1..]). NULL
/// `program` (with `args` NULL and `arg_count` 0) removes it. It is stored with the job and run
/// by whichever process holds the engine lease, also after a restart; when it exits non-zero
/// and the job is still in that state it runs again after MinimumRetryDelay. Set on a job that
/// already is TRANSFERRED or ERROR, it runs at once.
///
/// Thread-safe. Returns S_OK; E_HANDLE; E_INVALIDARG when `program` is relative or not UTF-8,
/// `program` is NULL while `args` or `arg_count` is not, `args` is NULL with `arg_count` > 0, or
/// an argument is NULL or not UTF-8; BG_E_STRING_TOO_LONG when `program` is over 4,095 bytes or
/// the arguments together are over 4,000 characters; BG_E_INVALID_STATE when the job is
/// ACKNOWLEDGED or CANCELLED.
#[no_mangle]
pub unsafe extern "C" fn bg_job_set_notify_cmd_line(
    job: bg_job,
    program: *const c_char,
    args: *const *const c_char,
    arg_count: usize,
) -> bg_hresult {
    boundary::call(|| {
        let j = handles::job(job)?;
        if program.is_null() {
            if !args.is_null() || arg_count != 0 {
                return Err(Error::InvalidArg("args given without a program"));
            }
            return j.set_notify_cmd_line(None);
        }
        // SAFETY: non-NULL, NUL-terminated per the contract.
        let program = unsafe { str_arg(program, "program") }?;
        if !program.starts_with('/') {
            return Err(Error::InvalidArg("program must be an absolute path"));
        }
        if program.len() > LOCAL_PATH_MAX_BYTES {
            return Err(Error::StringTooLong("program longer than 4,095 bytes"));
        }
        if args.is_null() && arg_count != 0 {
            return Err(Error::InvalidArg("args is NULL but arg_count is not 0"));
        }
        let mut list = Vec::with_capacity(arg_count);
        for i in 0..arg_count {
            // SAFETY: `args` has `arg_count` entries per the contract.
            let a = unsafe { *args.add(i) };
            // SAFETY: NULL checked by str_arg.
            list.push(unsafe { str_arg(a, "argument") }?.to_string());
        }
        if list
            .iter()
            .map(|a| crate::model::limits::utf16_len(a) + 1)
            .sum::<usize>()
            > 4000
        {
            return Err(Error::StringTooLong(
                "arguments longer than 4,000 characters",
            ));
        }
        j.set_notify_cmd_line(Some(CommandLine {
            program: program.to_string(),
            args: list,
        }))
    })
}

/// Copies the notify command line's program path into `buf`.
///
/// Thread-safe. Returns S_OK; S_FALSE and an empty string when none is set; E_HANDLE;
/// E_INVALIDARG when `out_needed` is NULL or `buf` is NULL with `cap` > 0;
/// BG_E_INSUFFICIENT_BUFFER with `*out_needed` set.
#[no_mangle]
pub unsafe extern "C" fn bg_job_get_notify_cmd_line(
    job: bg_job,
    buf: *mut c_char,
    cap: usize,
    out_needed: *mut usize,
) -> bg_hresult {
    boundary::call(|| {
        let j = handles::job(job)?;
        check_string_out(buf, cap, out_needed)?;
        let cmd = j.notify_cmd_line();
        // SAFETY: buffer arguments checked.
        unsafe {
            write_string(
                cmd.as_ref().map_or("", |c| c.program.as_str()),
                buf,
                cap,
                out_needed,
            )
        }?;
        Ok(if cmd.is_some() { S_OK } else { S_FALSE })
    })
}

/// Sets the minimum interval between two JobModification callbacks of the job, in ms
/// (BITS' MINIMUM_NOTIFICATION_INTERVAL_MS; default 500; 0 = every change).
///
/// Thread-safe. Returns S_OK; E_HANDLE; BG_E_INVALID_STATE when ACKNOWLEDGED or CANCELLED.
#[no_mangle]
pub extern "C" fn bg_job_set_minimum_notification_interval(job: bg_job, ms: u32) -> bg_hresult {
    boundary::call(|| handles::job(job)?.set_min_notify_interval(ms))
}

/// Reads the minimum notification interval in ms.
///
/// Thread-safe. Returns S_OK; E_HANDLE; E_INVALIDARG when `out_ms` is NULL.
#[no_mangle]
pub unsafe extern "C" fn bg_job_get_minimum_notification_interval(
    job: bg_job,
    out_ms: *mut u32,
) -> bg_hresult {
    boundary::call(|| {
        let j = handles::job(job)?;
        let out = out_arg(out_ms, "out_ms")?;
        let v = j.min_notify_interval();
        // SAFETY: checked non-NULL.
        unsafe { out.write(v) };
        Ok(S_OK)
    })
}
