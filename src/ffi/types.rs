//! The C types and constants of the API (everything but the codes, which are in `hresult`).
#![allow(non_camel_case_types)]

/// An open manager: an opaque, generation-checked handle (never 0 when valid).
///
/// Functions: bg_manager_open, bg_manager_close, bg_manager_create_job, bg_manager_get_job,
/// bg_manager_enum_jobs, bg_manager_set_option, bg_manager_get_option.
pub type bg_manager = u64;

/// A job handle: an opaque, generation-checked handle (never 0 when valid). Releasing it never
/// cancels the job; several handles may refer to one job.
///
/// Functions: bg_job_add_file, bg_job_resume, bg_job_suspend, bg_job_cancel, bg_job_complete,
/// bg_job_wait, bg_job_release, bg_job_get_* and bg_job_set_*.
pub type bg_job = u64;

/// `BG_JOB_STATE`: one of the BG_JOB_STATE_* values.
pub type bg_job_state = i32;
/// `BG_JOB_TYPE`: one of the BG_JOB_TYPE_* values.
pub type bg_job_type = i32;
/// `BG_JOB_PRIORITY`: one of the BG_JOB_PRIORITY_* values.
pub type bg_job_priority = i32;

/// A job's persistent identifier (16 bytes, RFC 4122 byte order).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct bg_guid {
    /// The identifier's bytes.
    pub bytes: [u8; 16],
}

/// `BG_JOB_PROGRESS` (spec §4.1).
#[repr(C)]
pub struct bg_job_progress {
    /// Sum of the files' sizes; BG_SIZE_UNKNOWN while any size is unknown; 0 without files.
    pub bytes_total: u64,
    /// Bytes transferred so far (may go down when a changed source restarts a file).
    pub bytes_transferred: u64,
    /// Files in the job.
    pub files_total: u32,
    /// Files whose bytes are all transferred.
    pub files_transferred: u32,
}

/// `BG_FILE_PROGRESS` (spec §4.1).
#[repr(C)]
pub struct bg_file_progress {
    /// The file's size, or BG_SIZE_UNKNOWN until it is known.
    pub bytes_total: u64,
    /// Bytes in the temp file.
    pub bytes_transferred: u64,
    /// 1 once Complete renamed the file into place, else 0.
    pub completed: i32,
}

/// `BG_JOB_TIMES`, in milliseconds since the Unix epoch (UTC); 0 = not yet.
#[repr(C)]
pub struct bg_job_times {
    /// When the job was created.
    pub creation_time: i64,
    /// The last change of any kind (files, properties, state, bytes).
    pub modification_time: i64,
    /// When the job entered TRANSFERRED; 0 until then.
    pub transfer_completion_time: i64,
}

/// A job's error object (spec §4.3).
#[repr(C)]
pub struct bg_job_error {
    /// Where the error arose: one of BG_ERROR_CONTEXT_*.
    pub context: crate::hresult::bg_error_context,
    /// The error code.
    pub code: crate::hresult::bg_hresult,
    /// The file involved, or UINT32_MAX when none.
    pub file_index: u32,
}

/// `BG_SIZE_UNKNOWN`: a size not known yet (UINT64_MAX).
pub const BG_SIZE_UNKNOWN: u64 = 0xFFFF_FFFF_FFFF_FFFF;

/// QUEUED (0): waiting for the scheduler.
pub const BG_JOB_STATE_QUEUED: bg_job_state = 0;
/// CONNECTING (1): opening the source.
pub const BG_JOB_STATE_CONNECTING: bg_job_state = 1;
/// TRANSFERRING (2): moving bytes.
pub const BG_JOB_STATE_TRANSFERRING: bg_job_state = 2;
/// SUSPENDED (3): paused; every new job starts here.
pub const BG_JOB_STATE_SUSPENDED: bg_job_state = 3;
/// ERROR (4): a fatal error; Resume retries, Complete keeps finished files, Cancel ends it.
pub const BG_JOB_STATE_ERROR: bg_job_state = 4;
/// TRANSIENT_ERROR (5): a recoverable error; retried automatically.
pub const BG_JOB_STATE_TRANSIENT_ERROR: bg_job_state = 5;
/// TRANSFERRED (6): every file transferred; call bg_job_complete to get them.
pub const BG_JOB_STATE_TRANSFERRED: bg_job_state = 6;
/// ACKNOWLEDGED (7): Complete succeeded (final).
pub const BG_JOB_STATE_ACKNOWLEDGED: bg_job_state = 7;
/// CANCELLED (8): Cancel succeeded (final).
pub const BG_JOB_STATE_CANCELLED: bg_job_state = 8;

/// Download job (0): one or more files from the server.
pub const BG_JOB_TYPE_DOWNLOAD: bg_job_type = 0;
/// Upload job (1): not supported by this version (bg_manager_create_job returns E_NOTIMPL).
pub const BG_JOB_TYPE_UPLOAD: bg_job_type = 1;
/// Upload-reply job (2): not supported by this version (E_NOTIMPL).
pub const BG_JOB_TYPE_UPLOAD_REPLY: bg_job_type = 2;

/// FOREGROUND (0): transfers at once, unthrottled.
pub const BG_JOB_PRIORITY_FOREGROUND: bg_job_priority = 0;
/// HIGH (1): the highest background priority.
pub const BG_JOB_PRIORITY_HIGH: bg_job_priority = 1;
/// NORMAL (2): the default.
pub const BG_JOB_PRIORITY_NORMAL: bg_job_priority = 2;
/// LOW (3): the lowest background priority.
pub const BG_JOB_PRIORITY_LOW: bg_job_priority = 3;

/// Notify flag 0x1: the job reached TRANSFERRED.
pub const BG_NOTIFY_JOB_TRANSFERRED: u32 = 0x1;
/// Notify flag 0x2: the job reached ERROR.
pub const BG_NOTIFY_JOB_ERROR: u32 = 0x2;
/// Notify flag 0x4: no notifications at all.
pub const BG_NOTIFY_DISABLE: u32 = 0x4;
/// Notify flag 0x8: the job changed (state, progress, properties).
pub const BG_NOTIFY_JOB_MODIFICATION: u32 = 0x8;
/// Notify flag 0x10: one file finished.
pub const BG_NOTIFY_FILE_TRANSFERRED: u32 = 0x10;

/// Manager option 1: background (HIGH/NORMAL/LOW) jobs transferring at once; default 4,
/// 1..=256. Foreground jobs are never limited.
pub const BG_OPTION_MAX_BACKGROUND_TRANSFERS: i32 = 1;
/// Manager option 2: connections to one host at most (libcurl's limit, shared by every job of
/// the manager and split between its HTTP threads, one per core and at most 4; with a limit
/// below the number of threads, new transfers use only that many threads); default 6, 1..=256.
pub const BG_OPTION_MAX_CONNECTIONS_PER_HOST: i32 = 2;
/// Manager option 3: cap on the bytes per second of all background (HIGH/NORMAL/LOW) HTTP
/// transfers together; 0 = none (the default). Transfers over the cap are paused, not dropped.
pub const BG_OPTION_BACKGROUND_RATE_LIMIT_BPS: i32 = 3;
/// Manager option 4: while any foreground job transfers, background jobs get this percentage of
/// the background cap (or, with no cap, of the foreground jobs' own rate), never less than
/// 16 KiB/s; default 10, 1..=100.
pub const BG_OPTION_FOREGROUND_YIELD_PERCENT: i32 = 4;
/// Manager option 5: length of the time slice in which background jobs of equal priority take
/// turns at the slots (round robin); default 60,000 ms, 10..=86,400,000.
pub const BG_OPTION_TIME_SLICE_MS: i32 = 5;
/// Manager option 9: the minute of the day (local time, 0..=1439) from which the background cap
/// applies; with option 10 it makes a daily window (like BITS' bandwidth-limit schedule), past
/// midnight when the end is smaller. Outside the window background transfers are not capped.
/// Default 0 (with end 0: the cap applies all day).
pub const BG_OPTION_RATE_LIMIT_WINDOW_START_MIN: i32 = 9;
/// Manager option 10: the minute of the day (local time, 0..=1439) at which the background cap
/// stops applying (exclusive). Equal to the start: all day. Default 0.
pub const BG_OPTION_RATE_LIMIT_WINDOW_END_MIN: i32 = 10;
/// Manager option 6: a transfer that receives nothing for this many milliseconds (connecting
/// included) fails with a transient BG_E_TIMEOUT and is retried; default 300,000 (5 minutes,
/// BITS' response timeout), 10..=86,400,000.
pub const BG_OPTION_STALL_TIMEOUT_MS: i32 = 6;
/// Manager option 7: no retry from TRANSIENT_ERROR happens sooner than this many milliseconds,
/// whatever the job's MinimumRetryDelay (BITS raises delays under 5 s to 5 s); default 5,000,
/// 0..=86,400,000. Tests lower it.
pub const BG_OPTION_RETRY_DELAY_FLOOR_MS: i32 = 7;

/// Manager option 8: jobs not completed or cancelled within this many seconds of their last
/// change are cancelled and their temp files removed (BITS' JobInactivityTimeout); default
/// 7,776,000 (90 days), 1..=4,294,967,295. Checked when the engine starts and every minute.
pub const BG_OPTION_INACTIVITY_TIMEOUT_S: i32 = 8;

/// Security flag 0x2: accept a server certificate issued for another host name.
pub const BG_SSL_IGNORE_CERT_CN_INVALID: u32 = 0x2;
/// Security flag 0x8: accept a server certificate from an unknown authority. This turns off
/// every check of the certificate chain (libcurl cannot keep date checks alone).
pub const BG_SSL_IGNORE_UNKNOWN_CA: u32 = 0x8;
/// Redirect policy 0x0000 (default): follow redirects; the remote name stays as given.
pub const BG_HTTP_REDIRECT_POLICY_ALLOW_SILENT: u32 = 0x0000;
/// Redirect policy 0x0100: follow redirects and change the file's remote name to the final URL.
pub const BG_HTTP_REDIRECT_POLICY_ALLOW_REPORT: u32 = 0x0100;
/// Redirect policy 0x0200: a redirect is a fatal error (the 3xx status as BG_E_HTTP_ERROR_3xx).
pub const BG_HTTP_REDIRECT_POLICY_DISALLOW: u32 = 0x0200;
/// Mask of the redirect policy bits.
pub const BG_HTTP_REDIRECT_POLICY_MASK: u32 = 0x0700;
/// Flag 0x0800: allow a redirect from https to http (refused by default).
pub const BG_HTTP_REDIRECT_POLICY_ALLOW_HTTPS_TO_HTTP: u32 = 0x0800;

#[cfg(test)]
mod tests {
    #[test]
    fn c_constants_match_the_model() {
        assert_eq!(
            super::BG_OPTION_RATE_LIMIT_WINDOW_START_MIN,
            crate::api::manager::OPTION_RATE_LIMIT_WINDOW_START_MIN
        );
        assert_eq!(
            super::BG_OPTION_RATE_LIMIT_WINDOW_END_MIN,
            crate::api::manager::OPTION_RATE_LIMIT_WINDOW_END_MIN
        );
        assert_eq!(
            super::BG_OPTION_MAX_BACKGROUND_TRANSFERS,
            crate::api::manager::OPTION_MAX_BACKGROUND_TRANSFERS
        );
        assert_eq!(super::BG_SIZE_UNKNOWN, crate::model::job::SIZE_UNKNOWN);
        assert_eq!(
            super::BG_NOTIFY_JOB_TRANSFERRED | super::BG_NOTIFY_JOB_ERROR,
            crate::model::job::DEFAULT_NOTIFY_FLAGS
        );
        assert_eq!(
            super::BG_JOB_STATE_CANCELLED,
            crate::model::JobState::Cancelled as i32
        );
        assert_eq!(
            super::BG_JOB_PRIORITY_LOW,
            crate::model::Priority::Low as i32
        );
    }
}
