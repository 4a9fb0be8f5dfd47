//! Safe wrappers over the library's C functions (`bgcopy::ffi::*`): the CLI uses the same
//! contract as any C program, so it exercises exactly what include/bgcopy.h promises.

use bgcopy::ffi::callbacks as fc;
use bgcopy::ffi::job as fj;
use bgcopy::ffi::library as fl;
use bgcopy::ffi::manager as fm;
use bgcopy::ffi::{
    bg_file_progress, bg_guid, bg_job, bg_job_error, bg_job_progress, bg_job_times, bg_manager,
};
use bgcopy::hresult::{
    bg_hresult, BG_E_ERROR_INFORMATION_UNAVAILABLE, BG_E_INSUFFICIENT_BUFFER, E_INVALIDARG, S_FALSE,
};
use std::ffi::{c_char, CStr, CString};
use std::fmt;

include!(concat!(env!("OUT_DIR"), "/hresult_names.rs"));

/// A failed call: the HRESULT and, optionally, what the CLI was doing.
#[derive(Debug, Clone)]
pub struct Error {
    pub code: bg_hresult,
    pub detail: Option<String>,
}

impl Error {
    pub fn new(code: bg_hresult) -> Self {
        Error { code, detail: None }
    }
    pub fn with(mut self, detail: impl Into<String>) -> Self {
        let d = detail.into();
        self.detail = Some(match self.detail.take() {
            Some(old) => format!("{d}: {old}"),
            None => d,
        });
        self
    }
    pub fn message(&self) -> String {
        message(self.code)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", code_label(self.code), self.message())?;
        if let Some(d) = &self.detail {
            write!(f, " ({d})")?;
        }
        Ok(())
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// `0x80200002 BG_E_INVALID_STATE`.
pub fn code_label(code: bg_hresult) -> String {
    match name(code) {
        Some(n) => format!("{} {n}", hex(code)),
        None => hex(code),
    }
}

/// The HTTP status of a BG_E_HTTP_ERROR_xxx code (0x801900xx), else None.
pub fn http_status(code: bg_hresult) -> Option<u32> {
    let s = (code as u32).wrapping_sub(0x8019_0000);
    (100..=999).contains(&s).then_some(s)
}

pub fn hex(code: bg_hresult) -> String {
    format!("0x{:08X}", code as u32)
}

pub fn name(code: bg_hresult) -> Option<&'static str> {
    HRESULT_NAMES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, n)| *n)
}

/// `bg_hresult_message`.
pub fn message(code: bg_hresult) -> String {
    let p = fl::bg_hresult_message(code);
    // SAFETY: the library returns a static NUL-terminated string, never NULL.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

fn check(hr: bg_hresult) -> Result<bg_hresult> {
    if hr < 0 {
        Err(Error::new(hr))
    } else {
        Ok(hr)
    }
}

fn cstring(s: &str, what: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::new(E_INVALIDARG).with(format!("{what} contains a NUL")))
}

/// Calls a string getter with the (buf, cap, out_needed) convention; returns text and code.
fn read_string(
    mut f: impl FnMut(*mut c_char, usize, *mut usize) -> bg_hresult,
) -> Result<(String, bg_hresult)> {
    let mut cap = 256usize;
    loop {
        let mut buf = vec![0u8; cap];
        let mut needed = 0usize;
        let hr = f(buf.as_mut_ptr().cast(), cap, &mut needed);
        if hr == BG_E_INSUFFICIENT_BUFFER && needed > cap {
            cap = needed;
            continue;
        }
        let hr = check(hr)?;
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        buf.truncate(end);
        return Ok((String::from_utf8_lossy(&buf).into_owned(), hr));
    }
}

/// A job's GUID.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Guid(pub [u8; 16]);

impl Guid {
    pub fn parse(text: &str) -> Result<Guid> {
        let c = cstring(text, "GUID")?;
        let mut g = bg_guid { bytes: [0; 16] };
        // SAFETY: valid C string and out-pointer.
        check(unsafe { fl::bg_guid_from_string(c.as_ptr(), &mut g) })
            .map_err(|e| e.with(format!("not a job GUID: {text:?}")))?;
        Ok(Guid(g.bytes))
    }
    fn c(&self) -> bg_guid {
        bg_guid { bytes: self.0 }
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let g = self.c();
        let mut buf = [0u8; 40];
        let mut needed = 0usize;
        // SAFETY: valid pointers, capacity given.
        let hr =
            unsafe { fl::bg_guid_to_string(&g, buf.as_mut_ptr().cast(), buf.len(), &mut needed) };
        if hr < 0 {
            return write!(f, "{:02x?}", self.0);
        }
        let end = buf.iter().position(|&b| b == 0).unwrap_or(0);
        f.write_str(std::str::from_utf8(&buf[..end]).unwrap_or("?"))
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// An open manager; closed on drop.
pub struct Manager {
    h: bg_manager,
}

impl Manager {
    /// `None`: the per-user default directory.
    pub fn open(state_dir: Option<&str>) -> Result<Manager> {
        let dir = state_dir
            .map(|d| cstring(d, "state directory"))
            .transpose()?;
        let mut h: bg_manager = 0;
        let ptr = dir.as_ref().map_or(std::ptr::null(), |d| d.as_ptr());
        // SAFETY: NULL or a valid C string; valid out-pointer.
        check(unsafe { fm::bg_manager_open(ptr, &mut h) }).map_err(|e| {
            e.with(format!(
                "opening the state directory {}",
                state_dir.unwrap_or("(per-user default)")
            ))
        })?;
        Ok(Manager { h })
    }

    pub fn create_job(&self, name: &str) -> Result<Job> {
        let c = cstring(name, "job name")?;
        let mut g = bg_guid { bytes: [0; 16] };
        let mut j: bg_job = 0;
        // SAFETY: valid pointers.
        check(unsafe {
            fm::bg_manager_create_job(
                self.h,
                c.as_ptr(),
                bgcopy::ffi::BG_JOB_TYPE_DOWNLOAD,
                &mut g,
                &mut j,
            )
        })?;
        Ok(Job {
            h: j,
            id: Guid(g.bytes),
        })
    }

    pub fn get_job(&self, id: Guid) -> Result<Job> {
        let g = id.c();
        let mut j: bg_job = 0;
        // SAFETY: valid pointers.
        check(unsafe { fm::bg_manager_get_job(self.h, &g, &mut j) })
            .map_err(|e| e.with(format!("job {id}")))?;
        Ok(Job { h: j, id })
    }

    pub fn job_ids(&self) -> Result<Vec<Guid>> {
        let mut count = 0usize;
        // SAFETY: NULL with capacity 0 asks for the count.
        let hr =
            unsafe { fm::bg_manager_enum_jobs(self.h, 0, std::ptr::null_mut(), 0, &mut count) };
        if hr != BG_E_INSUFFICIENT_BUFFER {
            check(hr)?;
        }
        loop {
            let cap = count + 8;
            let mut ids: Vec<bg_guid> = (0..cap).map(|_| bg_guid { bytes: [0; 16] }).collect();
            // SAFETY: room for cap GUIDs.
            let hr =
                unsafe { fm::bg_manager_enum_jobs(self.h, 0, ids.as_mut_ptr(), cap, &mut count) };
            if hr == BG_E_INSUFFICIENT_BUFFER {
                continue;
            }
            check(hr)?;
            ids.truncate(count);
            return Ok(ids.into_iter().map(|g| Guid(g.bytes)).collect());
        }
    }

    /// Every job not yet ended, oldest first (jobs that end meanwhile are left out).
    pub fn jobs(&self) -> Result<Vec<Job>> {
        let mut out = Vec::new();
        for id in self.job_ids()? {
            match self.get_job(id) {
                Ok(j) => out.push(j),
                Err(e) if e.code == bgcopy::hresult::BG_E_NOT_FOUND => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }
}

impl Drop for Manager {
    fn drop(&mut self) {
        fm::bg_manager_close(self.h);
    }
}

/// A job handle; released on drop (never cancels the job).
pub struct Job {
    h: bg_job,
    id: Guid,
}

pub struct FileInfo {
    pub remote_name: String,
    pub local_name: String,
    pub temp_name: Option<String>,
    pub bytes_total: Option<u64>,
    pub bytes_transferred: u64,
    pub completed: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Progress {
    pub bytes_total: Option<u64>,
    pub bytes_transferred: u64,
    pub files_total: u32,
    pub files_transferred: u32,
}

pub struct JobError {
    pub context: i32,
    pub code: bg_hresult,
    pub file_index: Option<u32>,
    pub description: String,
}

fn size(v: u64) -> Option<u64> {
    (v != bgcopy::ffi::BG_SIZE_UNKNOWN).then_some(v)
}

macro_rules! get_u32 {
    ($self:ident, $f:path) => {{
        let mut v: u32 = 0;
        // SAFETY: valid out-pointer.
        check(unsafe { $f($self.h, &mut v) })?;
        Ok(v)
    }};
}

impl Job {
    pub fn id(&self) -> Guid {
        self.id
    }

    pub fn add_file(&self, url: &str, local: &str) -> Result<()> {
        let u = cstring(url, "URL")?;
        let l = cstring(local, "local path")?;
        // SAFETY: valid C strings.
        check(unsafe { fj::bg_job_add_file(self.h, u.as_ptr(), l.as_ptr()) })
            .map_err(|e| e.with(format!("adding {url} -> {local}")))?;
        Ok(())
    }
    pub fn resume(&self) -> Result<()> {
        check(fj::bg_job_resume(self.h)).map(|_| ())
    }
    pub fn suspend(&self) -> Result<()> {
        check(fj::bg_job_suspend(self.h)).map(|_| ())
    }
    pub fn cancel(&self) -> Result<bg_hresult> {
        check(fj::bg_job_cancel(self.h))
    }
    pub fn complete(&self) -> Result<bg_hresult> {
        check(fj::bg_job_complete(self.h))
    }
    /// `(settled, state)`: settled is true when the job reached TRANSFERRED, ERROR or a final
    /// state within `timeout_ms`.
    pub fn wait(&self, timeout_ms: u32) -> Result<(bool, i32)> {
        let mut s = 0i32;
        // SAFETY: valid out-pointer.
        let hr = check(unsafe { fj::bg_job_wait(self.h, timeout_ms, &mut s) })?;
        Ok((hr == bgcopy::hresult::S_OK, s))
    }
    pub fn state(&self) -> Result<i32> {
        let mut s = 0i32;
        // SAFETY: valid out-pointer.
        check(unsafe { fj::bg_job_get_state(self.h, &mut s) })?;
        Ok(s)
    }
    pub fn priority(&self) -> Result<i32> {
        let mut p = 0i32;
        // SAFETY: valid out-pointer.
        check(unsafe { fj::bg_job_get_priority(self.h, &mut p) })?;
        Ok(p)
    }
    pub fn set_priority(&self, p: i32) -> Result<()> {
        check(fj::bg_job_set_priority(self.h, p)).map(|_| ())
    }
    pub fn job_type(&self) -> Result<i32> {
        let mut t = 0i32;
        // SAFETY: valid out-pointer.
        check(unsafe { fj::bg_job_get_type(self.h, &mut t) })?;
        Ok(t)
    }
    pub fn progress(&self) -> Result<Progress> {
        let mut p = bg_job_progress {
            bytes_total: 0,
            bytes_transferred: 0,
            files_total: 0,
            files_transferred: 0,
        };
        // SAFETY: valid out-pointer.
        check(unsafe { fj::bg_job_get_progress(self.h, &mut p) })?;
        Ok(Progress {
            bytes_total: size(p.bytes_total),
            bytes_transferred: p.bytes_transferred,
            files_total: p.files_total,
            files_transferred: p.files_transferred,
        })
    }
    /// (creation, modification, transfer completion) in ms since the epoch; 0 = not yet.
    pub fn times(&self) -> Result<(i64, i64, i64)> {
        let mut t = bg_job_times {
            creation_time: 0,
            modification_time: 0,
            transfer_completion_time: 0,
        };
        // SAFETY: valid out-pointer.
        check(unsafe { fj::bg_job_get_times(self.h, &mut t) })?;
        Ok((
            t.creation_time,
            t.modification_time,
            t.transfer_completion_time,
        ))
    }
    pub fn error(&self) -> Result<Option<JobError>> {
        let mut cap = 512usize;
        loop {
            let mut e = bg_job_error {
                context: 0,
                code: 0,
                file_index: 0,
            };
            let mut buf = vec![0u8; cap];
            let mut needed = 0usize;
            // SAFETY: valid pointers, capacity given.
            let hr = unsafe {
                fj::bg_job_get_error(self.h, &mut e, buf.as_mut_ptr().cast(), cap, &mut needed)
            };
            if hr == BG_E_INSUFFICIENT_BUFFER && needed > cap {
                cap = needed;
                continue;
            }
            if hr == BG_E_ERROR_INFORMATION_UNAVAILABLE {
                return Ok(None);
            }
            check(hr)?;
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            buf.truncate(end);
            return Ok(Some(JobError {
                context: e.context,
                code: e.code,
                file_index: (e.file_index != u32::MAX).then_some(e.file_index),
                description: String::from_utf8_lossy(&buf).into_owned(),
            }));
        }
    }
    pub fn error_count(&self) -> Result<u32> {
        get_u32!(self, fj::bg_job_get_error_count)
    }
    pub fn display_name(&self) -> Result<String> {
        // SAFETY: buffer arguments from read_string.
        Ok(read_string(|b, c, n| unsafe { fj::bg_job_get_display_name(self.h, b, c, n) })?.0)
    }
    pub fn description(&self) -> Result<String> {
        // SAFETY: buffer arguments from read_string.
        Ok(read_string(|b, c, n| unsafe { fj::bg_job_get_description(self.h, b, c, n) })?.0)
    }
    pub fn set_description(&self, text: &str) -> Result<()> {
        let c = cstring(text, "description")?;
        // SAFETY: valid C string.
        check(unsafe { fj::bg_job_set_description(self.h, c.as_ptr()) }).map(|_| ())
    }
    pub fn set_minimum_retry_delay(&self, s: u32) -> Result<()> {
        check(fj::bg_job_set_minimum_retry_delay(self.h, s)).map(|_| ())
    }
    pub fn set_no_progress_timeout(&self, s: u32) -> Result<()> {
        check(fj::bg_job_set_no_progress_timeout(self.h, s)).map(|_| ())
    }
    pub fn minimum_retry_delay(&self) -> Result<u32> {
        get_u32!(self, fj::bg_job_get_minimum_retry_delay)
    }
    pub fn no_progress_timeout(&self) -> Result<u32> {
        get_u32!(self, fj::bg_job_get_no_progress_timeout)
    }
    pub fn maximum_download_time(&self) -> Result<u32> {
        get_u32!(self, fj::bg_job_get_maximum_download_time)
    }
    pub fn notify_flags(&self) -> Result<u32> {
        get_u32!(self, fj::bg_job_get_notify_flags)
    }
    pub fn security_flags(&self) -> Result<u32> {
        get_u32!(self, fj::bg_job_get_security_flags)
    }
    pub fn minimum_notification_interval(&self) -> Result<u32> {
        get_u32!(self, fc::bg_job_get_minimum_notification_interval)
    }
    pub fn max_rate(&self) -> Result<u64> {
        let mut v = 0u64;
        // SAFETY: valid out-pointer.
        check(unsafe { fj::bg_job_get_max_rate(self.h, &mut v) })?;
        Ok(v)
    }
    pub fn set_max_rate(&self, bytes_per_second: u64) -> Result<()> {
        check(fj::bg_job_set_max_rate(self.h, bytes_per_second)).map(|_| ())
    }
    /// The notify program, or None.
    pub fn notify_cmd_line(&self) -> Result<Option<String>> {
        // SAFETY: buffer arguments from read_string.
        let (text, hr) =
            read_string(|b, c, n| unsafe { fc::bg_job_get_notify_cmd_line(self.h, b, c, n) })?;
        Ok((hr != S_FALSE && !text.is_empty()).then_some(text))
    }
    pub fn file_count(&self) -> Result<u32> {
        get_u32!(self, fj::bg_job_get_file_count)
    }
    pub fn file(&self, i: u32) -> Result<FileInfo> {
        let mut p = bg_file_progress {
            bytes_total: 0,
            bytes_transferred: 0,
            completed: 0,
        };
        // SAFETY: valid out-pointer.
        check(unsafe { fj::bg_job_get_file_progress(self.h, i, &mut p) })?;
        // SAFETY (the three below): buffer arguments from read_string.
        let (remote, _) =
            read_string(|b, c, n| unsafe { fj::bg_job_get_file_remote_name(self.h, i, b, c, n) })?;
        let (local, _) =
            read_string(|b, c, n| unsafe { fj::bg_job_get_file_local_name(self.h, i, b, c, n) })?;
        let (temp, hr) =
            read_string(|b, c, n| unsafe { fj::bg_job_get_file_temp_name(self.h, i, b, c, n) })?;
        Ok(FileInfo {
            remote_name: remote,
            local_name: local,
            temp_name: (hr != S_FALSE && !temp.is_empty()).then_some(temp),
            bytes_total: size(p.bytes_total),
            bytes_transferred: p.bytes_transferred,
            completed: p.completed != 0,
        })
    }
    pub fn files(&self) -> Result<Vec<FileInfo>> {
        (0..self.file_count()?).map(|i| self.file(i)).collect()
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        fj::bg_job_release(self.h);
    }
}

pub fn state_name(s: i32) -> &'static str {
    match s {
        0 => "QUEUED",
        1 => "CONNECTING",
        2 => "TRANSFERRING",
        3 => "SUSPENDED",
        4 => "ERROR",
        5 => "TRANSIENT_ERROR",
        6 => "TRANSFERRED",
        7 => "ACKNOWLEDGED",
        8 => "CANCELLED",
        _ => "UNKNOWN",
    }
}

pub fn priority_name(p: i32) -> &'static str {
    match p {
        0 => "FOREGROUND",
        1 => "HIGH",
        2 => "NORMAL",
        3 => "LOW",
        _ => "UNKNOWN",
    }
}

pub fn context_name(c: i32) -> &'static str {
    match c {
        0 => "NONE",
        1 => "UNKNOWN",
        2 => "GENERAL_QUEUE_MANAGER",
        3 => "QUEUE_MANAGER_NOTIFICATION",
        4 => "LOCAL_FILE",
        5 => "REMOTE_FILE",
        6 => "GENERAL_TRANSPORT",
        7 => "REMOTE_APPLICATION",
        8 => "SERVER_CERTIFICATE_CALLBACK",
        _ => "UNKNOWN",
    }
}

pub fn type_name(t: i32) -> &'static str {
    match t {
        0 => "DOWNLOAD",
        1 => "UPLOAD",
        2 => "UPLOAD_REPLY",
        _ => "UNKNOWN",
    }
}

/// The name of a Complete/Cancel success code.
pub fn result_name(hr: bg_hresult) -> &'static str {
    match hr {
        bgcopy::hresult::S_OK => "OK",
        bgcopy::hresult::BG_S_PARTIAL_COMPLETE => "PARTIAL",
        bgcopy::hresult::BG_S_UNABLE_TO_DELETE_FILES => "UNABLE_TO_DELETE",
        _ => "OTHER",
    }
}

pub const STATE_ERROR: i32 = bgcopy::ffi::BG_JOB_STATE_ERROR;
pub const STATE_TRANSIENT_ERROR: i32 = bgcopy::ffi::BG_JOB_STATE_TRANSIENT_ERROR;
pub const STATE_TRANSFERRED: i32 = bgcopy::ffi::BG_JOB_STATE_TRANSFERRED;
pub const STATE_ACKNOWLEDGED: i32 = bgcopy::ffi::BG_JOB_STATE_ACKNOWLEDGED;
pub const STATE_CANCELLED: i32 = bgcopy::ffi::BG_JOB_STATE_CANCELLED;
pub const STATE_SUSPENDED: i32 = bgcopy::ffi::BG_JOB_STATE_SUSPENDED;
