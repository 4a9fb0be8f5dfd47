//! HRESULT-style return codes, their messages, and the crate-wide [`Error`] type.
//!
//! Every `bg_*` C function returns a [`bg_hresult`]: a 32-bit signed value where a negative
//! number is a failure, [`S_OK`] (0) is plain success, [`S_FALSE`] (1) is "succeeded, nothing to
//! do", and other positive values are BITS success codes (`BG_S_*`). The numeric values are the
//! Windows ones (`bitsmsg.h`, `winerror.h`; see `bits-semantics.md` §5), so C callers can use
//! `SUCCEEDED(hr)` / `FAILED(hr)` and compare against the documented constants.
//!
//! Every constant below is written as a plain decimal literal (not a `u32 as i32` cast) so the
//! generated C header is a simple `#define NAME -2145386494` that any C parser (including Python
//! cffi) accepts; each constant's doc comment starts with its hexadecimal value.
//!
//! Groups of codes:
//!
//! * generic COM codes ([`S_OK`], [`E_INVALIDARG`], [`E_HANDLE`], ...), unprefixed, as in Windows;
//! * BITS success codes `BG_S_*` (§5.1) and error codes `BG_E_*` (§5.2, `0x802000xx`), including
//!   the mingw-w64 transport codes `0x8020002F`–`0x8020003D` (§5.3);
//! * HTTP status codes `BG_E_HTTP_ERROR_nnn` = `0x80190000 | nnn` (§5.4); any status in
//!   100..=599 maps to that pattern even without a named constant (see [`http_status_code`]);
//! * Win32-derived codes (`HRESULT_FROM_WIN32(ERROR_*)` = `0x8007xxxx`), prefixed `BG_E_WIN32_`,
//!   plus [`BG_E_INSUFFICIENT_BUFFER`] and a few RPC / crypto / WinHTTP codes BITS returns;
//! * bgcopy's own codes, allocated in the range `0x80200100` and up, which BITS does not use.
//!
//! # bgcopy's own codes
//!
//! These values are part of the ABI: a value, once assigned, is never reused for another
//! meaning, and retired codes keep their number.
//!
//! | Name | Value | Meaning |
//! |---|---|---|
//! | [`BG_E_STORE_TOO_NEW`] | `0x80200100` | The state directory's store was written by a newer bgcopy (unknown schema version); the store is refused and nothing is changed. |
//! | [`BG_E_STORE_CORRUPT`] | `0x80200101` | The store is corrupt or truncated; this is reported, never silently "fixed" by emptying the store. (Distinct from BITS' own [`BG_E_DATABASE_CORRUPT`].) |
//! | [`BG_E_STATE_DIR_INVALID`] | `0x80200102` | The state directory path exists but is not a directory, or it cannot be created, or it is not writable. |
//! | [`BG_E_RECURSIVE_CALL`] | `0x80200103` | The call would deadlock if made from inside a bgcopy callback (e.g. waiting on the dispatcher thread, or closing the manager from its own callback). |
//! | [`BG_E_HASH_MISMATCH`] | `0x80200104` | A file's content did not match its expected hash. |
//! | [`BG_E_UNSUPPORTED_PROTOCOL`] | `0x80200105` | The URL's scheme is well formed, but bgcopy has no transport for it. AddFile reports this case as [`E_INVALIDARG`] (as BITS does); this code is used in error descriptions and job errors. |
//! | [`BG_E_MANAGER_CLOSED`] | `0x80200106` | The job's manager was closed; the handle can no longer transfer. |
//!
//! # Messages
//!
//! [`message`] returns a static, NUL-terminated English sentence for every code defined here and
//! for every HTTP code `0x80190000 | status` with a status in 100..=599. The returned pointer is
//! valid for the life of the process.
//!
//! # Error contexts
//!
//! [`bg_error_context`] and the `BG_ERROR_CONTEXT_*` constants (§4.4) say where a job error
//! occurred; [`error_context_message_id`] maps a context to the code whose message describes it.

use std::ffi::{CStr, CString};

use once_cell::sync::Lazy;

/// An HRESULT-style return code (`int32_t` in C).
///
/// A negative value is a failure; `0` ([`S_OK`]) is success; `1` ([`S_FALSE`]) is success with
/// nothing to do; any other positive value is a BITS success code (`BG_S_*`) and also counts as
/// success, so `SUCCEEDED(hr)` is `hr >= 0` (see [`succeeded`] and [`failed`]).
#[allow(non_camel_case_types)]
pub type bg_hresult = i32;

/// Where a job error occurred (`BG_ERROR_CONTEXT`, `int32_t` in C); one of the
/// `BG_ERROR_CONTEXT_*` constants.
#[allow(non_camel_case_types)]
pub type bg_error_context = i32;

// ---- §4.4 error contexts (BG_ERROR_CONTEXT) ----------------------------------------------------

/// Context `0`: no error has occurred.
pub const BG_ERROR_CONTEXT_NONE: bg_error_context = 0;

/// Context `1`: the origin of the error is unknown.
pub const BG_ERROR_CONTEXT_UNKNOWN: bg_error_context = 1;

/// Context `2`: the error occurred in the transfer service itself (the "queue manager"), e.g.
/// [`BG_E_TOKEN_REQUIRED`], [`BG_E_DATABASE_CORRUPT`], [`BG_E_MAXDOWNLOAD_TIMEOUT`].
pub const BG_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER: bg_error_context = 2;

/// Context `3`: the error occurred while launching the notification command line or callback.
pub const BG_ERROR_CONTEXT_QUEUE_MANAGER_NOTIFICATION: bg_error_context = 3;

/// Context `4`: the error occurred while processing the local file (temporary file, rename,
/// permissions, disk full, ...).
pub const BG_ERROR_CONTEXT_LOCAL_FILE: bg_error_context = 4;

/// Context `5`: the error occurred on the server or the remote file (HTTP status codes,
/// [`BG_E_REMOTE_FILE_CHANGED`], [`BG_E_MISSING_FILE_SIZE`], ...).
pub const BG_ERROR_CONTEXT_REMOTE_FILE: bg_error_context = 5;

/// Context `6`: the error occurred in the network transport (connection, proxy, name
/// resolution, TLS, ...).
pub const BG_ERROR_CONTEXT_GENERAL_TRANSPORT: bg_error_context = 6;

/// Context `7`: the error was reported by the server-side application of an upload-reply job.
pub const BG_ERROR_CONTEXT_REMOTE_APPLICATION: bg_error_context = 7;

/// Context `8`: the application's server-certificate validation callback rejected the server.
pub const BG_ERROR_CONTEXT_SERVER_CERTIFICATE_CALLBACK: bg_error_context = 8;

// ---- §5.6 generic COM codes --------------------------------------------------------------------

/// `0x00000000`: success.
pub const S_OK: bg_hresult = 0;

/// `0x00000001`: success, but there was nothing to do (e.g. no match, no items, a short
/// enumeration).
pub const S_FALSE: bg_hresult = 1;

/// `0x80004001`: the value or method is not supported (invalid enum value, or a method not valid
/// for the job type).
pub const E_NOTIMPL: bg_hresult = -2147467263;

/// `0x80004002`: the requested interface is not supported.
pub const E_NOINTERFACE: bg_hresult = -2147467262;

/// `0x80004003`: a required pointer was NULL.
pub const E_POINTER: bg_hresult = -2147467261;

/// `0x80004004`: the operation was aborted.
pub const E_ABORT: bg_hresult = -2147467260;

/// `0x80004005`: unspecified failure.
pub const E_FAIL: bg_hresult = -2147467259;

/// `0x8000000A`: the data is not yet available (e.g. SetValidationState before the file finished).
pub const E_PENDING: bg_hresult = -2147483638;

/// `0x8000FFFF`: catastrophic or internal failure.
pub const E_UNEXPECTED: bg_hresult = -2147418113;

/// `0x80070005`: access denied (not the owner, or no write access to the local directory).
pub const E_ACCESSDENIED: bg_hresult = -2147024891;

/// `0x80070006`: the opaque handle is invalid or stale.
pub const E_HANDLE: bg_hresult = -2147024890;

/// `0x8007000E`: memory allocation failed.
pub const E_OUTOFMEMORY: bg_hresult = -2147024882;

/// `0x80070057`: an argument is invalid (bad value, NULL string or out-pointer, bad path or URL).
pub const E_INVALIDARG: bg_hresult = -2147024809;

// ---- §5.1 BITS success codes (BG_S_*) ----------------------------------------------------------

/// `0x00200006`: message id for error context 0 (`BG_ERROR_CONTEXT_NONE`): no error occurred.
pub const BG_S_ERROR_CONTEXT_NONE: bg_hresult = 2097158;

/// `0x00200017`: Complete kept only the fully transferred files; the rest were discarded.
pub const BG_S_PARTIAL_COMPLETE: bg_hresult = 2097175;

/// `0x0020001A`: Complete/Cancel succeeded, but some temporary files could not be deleted.
pub const BG_S_UNABLE_TO_DELETE_FILES: bg_hresult = 2097178;

/// `0x0020002A`: the proxy settings were applied or changed (informational).
pub const BG_S_PROXY_CHANGED: bg_hresult = 2097194;

/// `0x00200055`: the value was accepted, but a Group Policy setting overrides it.
pub const BG_S_OVERRIDDEN_BY_POLICY: bg_hresult = 2097237;

// ---- §5.2 BITS error codes (BG_E_*, 0x802000xx) ------------------------------------------------

/// `0x80200001`: no job with that GUID (or it is in a final state / not visible to the caller).
pub const BG_E_NOT_FOUND: bg_hresult = -2145386495;

/// `0x80200002`: the operation is not allowed in the job's current state.
pub const BG_E_INVALID_STATE: bg_hresult = -2145386494;

/// `0x80200003`: the job has no files (e.g. Resume on an empty job).
pub const BG_E_EMPTY: bg_hresult = -2145386493;

/// `0x80200004`: the error is not associated with a file.
pub const BG_E_FILE_NOT_AVAILABLE: bg_hresult = -2145386492;

/// `0x80200005`: the error is not associated with a protocol.
pub const BG_E_PROTOCOL_NOT_AVAILABLE: bg_hresult = -2145386491;

/// `0x80200007`: context-text message id: the origin of the error is unknown (context 1).
pub const BG_E_ERROR_CONTEXT_UNKNOWN: bg_hresult = -2145386489;

/// `0x80200008`: context-text message id: the error occurred in the transfer service itself
/// (context 2).
pub const BG_E_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER: bg_hresult = -2145386488;

/// `0x80200009`: context-text message id: the error occurred while processing the local file
/// (context 4).
pub const BG_E_ERROR_CONTEXT_LOCAL_FILE: bg_hresult = -2145386487;

/// `0x8020000A`: context-text message id: the error occurred while processing the remote file
/// (context 5).
pub const BG_E_ERROR_CONTEXT_REMOTE_FILE: bg_hresult = -2145386486;

/// `0x8020000B`: context-text message id: the error occurred in the network transport (context 6).
pub const BG_E_ERROR_CONTEXT_GENERAL_TRANSPORT: bg_hresult = -2145386485;

/// `0x8020000C`: context-text message id: the error occurred while launching the notification
/// command or callback (context 3).
pub const BG_E_ERROR_CONTEXT_QUEUE_MANAGER_NOTIFICATION: bg_hresult = -2145386484;

/// `0x8020000D`: the destination volume is locked (e.g. by a disk check); transient.
pub const BG_E_DESTINATION_LOCKED: bg_hresult = -2145386483;

/// `0x8020000E`: the destination volume changed (different serial number or device).
pub const BG_E_VOLUME_CHANGED: bg_hresult = -2145386482;

/// `0x8020000F`: the job is not in an error state; there is no error object.
pub const BG_E_ERROR_INFORMATION_UNAVAILABLE: bg_hresult = -2145386481;

/// `0x80200010`: no network connection; the job resumes when one becomes available.
pub const BG_E_NETWORK_DISCONNECTED: bg_hresult = -2145386480;

/// `0x80200011`: the server did not report the file size (no Content-Length).
pub const BG_E_MISSING_FILE_SIZE: bg_hresult = -2145386479;

/// `0x80200012`: the server does not support the required HTTP/1.1 features.
pub const BG_E_INSUFFICIENT_HTTP_SUPPORT: bg_hresult = -2145386478;

/// `0x80200013`: the server does not honour Range requests.
pub const BG_E_INSUFFICIENT_RANGE_SUPPORT: bg_hresult = -2145386477;

/// `0x80200014`: remote use of the transfer service is not supported.
pub const BG_E_REMOTE_NOT_SUPPORTED: bg_hresult = -2145386476;

/// `0x80200015`: TakeOwnership: the new owner's drive mappings differ.
pub const BG_E_NEW_OWNER_DIFF_MAPPING: bg_hresult = -2145386475;

/// `0x80200016`: TakeOwnership: the new owner cannot access the job's local files.
pub const BG_E_NEW_OWNER_NO_FILE_ACCESS: bg_hresult = -2145386474;

/// `0x80200018`: the proxy list exceeds its length limit.
pub const BG_E_PROXY_LIST_TOO_LARGE: bg_hresult = -2145386472;

/// `0x80200019`: the proxy bypass list exceeds its length limit.
pub const BG_E_PROXY_BYPASS_LIST_TOO_LARGE: bg_hresult = -2145386471;

/// `0x8020001B`: the server's response was malformed or not what was expected.
pub const BG_E_INVALID_SERVER_RESPONSE: bg_hresult = -2145386469;

/// `0x8020001C`: an upload job may contain only one file.
pub const BG_E_TOO_MANY_FILES: bg_hresult = -2145386468;

/// `0x8020001D`: the local (upload) file changed during the transfer.
pub const BG_E_LOCAL_FILE_CHANGED: bg_hresult = -2145386467;

/// `0x8020001E`: context-text message id: the error was reported by the server-side application
/// (context 7).
pub const BG_E_ERROR_CONTEXT_REMOTE_APPLICATION: bg_hresult = -2145386466;

/// `0x8020001F`: the upload session is unknown to the server (it may have expired).
pub const BG_E_SESSION_NOT_FOUND: bg_hresult = -2145386465;

/// `0x80200020`: the upload or reply is too large (server limit, or reply data over 1 MB).
pub const BG_E_TOO_LARGE: bg_hresult = -2145386464;

/// `0x80200021`: a string argument exceeds its length limit.
pub const BG_E_STRING_TOO_LONG: bg_hresult = -2145386463;

/// `0x80200022`: the client and server share no upload protocol.
pub const BG_E_CLIENT_SERVER_PROTOCOL_MISMATCH: bg_hresult = -2145386462;

/// `0x80200023`: the server's virtual directory has script execute permission enabled; upload
/// refused.
pub const BG_E_SERVER_EXECUTE_ENABLE: bg_hresult = -2145386461;

/// `0x80200023`: alias of [`BG_E_SERVER_EXECUTE_ENABLE`] (the name used by some SDK headers and
/// documentation); same value, same meaning.
pub const BG_E_SERVER_EXECUTE_ENABLED: bg_hresult = -2145386461;

/// `0x80200024`: no progress was made for too long; transient.
pub const BG_E_NO_PROGRESS: bg_hresult = -2145386460;

/// `0x80200025`: the user name is too long (limit 300 characters).
pub const BG_E_USERNAME_TOO_LARGE: bg_hresult = -2145386459;

/// `0x80200026`: the password is too long.
pub const BG_E_PASSWORD_TOO_LARGE: bg_hresult = -2145386458;

/// `0x80200027`: unknown `BG_AUTH_TARGET` value.
pub const BG_E_INVALID_AUTH_TARGET: bg_hresult = -2145386457;

/// `0x80200028`: unknown `BG_AUTH_SCHEME` value.
pub const BG_E_INVALID_AUTH_SCHEME: bg_hresult = -2145386456;

/// `0x80200029`: the specified file is not part of the job.
pub const BG_E_FILE_NOT_FOUND: bg_hresult = -2145386455;

/// `0x8020002B`: a byte range lies outside the file or is otherwise invalid.
pub const BG_E_INVALID_RANGE: bg_hresult = -2145386453;

/// `0x8020002C`: byte ranges overlap or are not sorted.
pub const BG_E_OVERLAPPING_RANGES: bg_hresult = -2145386452;

/// `0x8020002D`: could not connect to the server.
pub const BG_E_CONNECT_FAILURE: bg_hresult = -2145386451;

/// `0x8020002E`: the connection was closed unexpectedly.
pub const BG_E_CONNECTION_CLOSED: bg_hresult = -2145386450;

/// `0x8020003E`: a Group Policy setting blocks the transfer at this time.
pub const BG_E_BLOCKED_BY_POLICY: bg_hresult = -2145386434;

/// `0x8020003F`: the proxy list or proxy bypass list is malformed.
pub const BG_E_INVALID_PROXY_INFO: bg_hresult = -2145386433;

/// `0x80200040`: the credential format is invalid.
pub const BG_E_INVALID_CREDENTIALS: bg_hresult = -2145386432;

/// `0x80200041`: the hash algorithm is not supported (peer cache).
pub const BG_E_INVALID_HASH_ALGORITHM: bg_hresult = -2145386431;

/// `0x80200042`: the peer-cache record was deleted.
pub const BG_E_RECORD_DELETED: bg_hresult = -2145386430;

/// `0x80200043`: a peer-cache commit is in progress.
pub const BG_E_COMMIT_IN_PROGRESS: bg_hresult = -2145386429;

/// `0x80200044`: peer discovery is in progress.
pub const BG_E_DISCOVERY_IN_PROGRESS: bg_hresult = -2145386428;

/// `0x80200045`: the UPnP gateway query failed.
pub const BG_E_UPNP_ERROR: bg_hresult = -2145386427;

/// `0x80200046`: the download was blocked by a test option.
pub const BG_E_TEST_OPTION_BLOCKED_DOWNLOAD: bg_hresult = -2145386426;

/// `0x80200047`: peer caching is disabled.
pub const BG_E_PEERCACHING_DISABLED: bg_hresult = -2145386425;

/// `0x80200048`: the peer-cache record is busy.
pub const BG_E_BUSYCACHERECORD: bg_hresult = -2145386424;

/// `0x80200049`: the per-user job limit (MaxJobsPerUser) was reached.
pub const BG_E_TOO_MANY_JOBS_PER_USER: bg_hresult = -2145386423;

/// `0x80200050`: the per-machine job limit (MaxJobsPerMachine) was reached.
pub const BG_E_TOO_MANY_JOBS_PER_MACHINE: bg_hresult = -2145386416;

/// `0x80200051`: the per-job file limit (MaxFilesPerJob) was reached.
pub const BG_E_TOO_MANY_FILES_IN_JOB: bg_hresult = -2145386415;

/// `0x80200052`: the per-file range limit (MaxRangesPerFile) was reached.
pub const BG_E_TOO_MANY_RANGES_IN_FILE: bg_hresult = -2145386414;

/// `0x80200053`: the application marked the file as invalid (SetValidationState FALSE).
pub const BG_E_VALIDATION_FAILED: bg_hresult = -2145386413;

/// `0x80200054`: the job's maximum download time was exceeded.
pub const BG_E_MAXDOWNLOAD_TIMEOUT: bg_hresult = -2145386412;

/// `0x80200056`: a helper or user token is needed but not available.
pub const BG_E_TOKEN_REQUIRED: bg_hresult = -2145386410;

/// `0x80200057`: unknown `BITS_JOB_PROPERTY_ID`.
pub const BG_E_UNKNOWN_PROPERTY_ID: bg_hresult = -2145386409;

/// `0x80200058`: the property cannot be set.
pub const BG_E_READ_ONLY_PROPERTY: bg_hresult = -2145386408;

/// `0x80200059`: the current network cost is not allowed by the job's transfer policy.
pub const BG_E_BLOCKED_BY_COST_TRANSFER_POLICY: bg_hresult = -2145386407;

/// `0x80200060`: the property is supported for download jobs only.
pub const BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY: bg_hresult = -2145386400;

/// `0x80200061`: the property can no longer be set after the first AddFile.
pub const BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE: bg_hresult = -2145386399;

/// `0x80200062`: the property can no longer be set after the first Resume.
pub const BG_E_READ_ONLY_PROPERTY_AFTER_RESUME: bg_hresult = -2145386398;

/// `0x80200063`: the maximum-download-size value is out of range (0).
pub const BG_E_MAX_DOWNLOAD_SIZE_INVALID_VALUE: bg_hresult = -2145386397;

/// `0x80200064`: the download is larger than the job's maximum download size.
pub const BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED: bg_hresult = -2145386396;

/// `0x80200065`: the machine is in connected standby; transfers are paused.
pub const BG_E_STANDBY_MODE: bg_hresult = -2145386395;

/// `0x80200066`: stored credentials are not supported for that target.
pub const BG_E_USE_STORED_CREDENTIALS_NOT_SUPPORTED: bg_hresult = -2145386394;

/// `0x80200067`: the transfer is blocked while running on battery.
pub const BG_E_BLOCKED_BY_BATTERY_POLICY: bg_hresult = -2145386393;

/// `0x80200068`: the transfer is blocked by battery saver.
pub const BG_E_BLOCKED_BY_BATTERY_SAVER: bg_hresult = -2145386392;

/// `0x80200069`: an internal watchdog timed out the transfer.
pub const BG_E_WATCHDOG_TIMEOUT: bg_hresult = -2145386391;

/// `0x8020006A`: the owning application package is no longer installed.
pub const BG_E_APP_PACKAGE_NOT_FOUND: bg_hresult = -2145386390;

/// `0x8020006B`: the operation is not supported for packaged applications.
pub const BG_E_APP_PACKAGE_SCENARIO_NOT_SUPPORTED: bg_hresult = -2145386389;

/// `0x8020006C`: the job database is corrupt.
pub const BG_E_DATABASE_CORRUPT: bg_hresult = -2145386388;

/// `0x8020006D`: random access to the file is not supported for this job.
pub const BG_E_RANDOM_ACCESS_NOT_SUPPORTED: bg_hresult = -2145386387;

/// `0x8020006E`: the application's background access was revoked.
pub const BG_E_BLOCKED_BY_BACKGROUND_ACCESS_POLICY: bg_hresult = -2145386386;

/// `0x8020006F`: the transfer is blocked while Game Mode is active.
pub const BG_E_BLOCKED_BY_GAME_MODE: bg_hresult = -2145386385;

/// `0x80200070`: the transfer is blocked by a system policy.
pub const BG_E_BLOCKED_BY_SYSTEM_POLICY: bg_hresult = -2145386384;

/// `0x80200071`: the option is incompatible with a custom HTTP method.
pub const BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD: bg_hresult = -2145386383;

/// `0x80200072`: the combination of job options is not supported.
pub const BG_E_UNSUPPORTED_JOB_CONFIGURATION: bg_hresult = -2145386382;

/// `0x80200073`: the remote file changed during the download.
pub const BG_E_REMOTE_FILE_CHANGED: bg_hresult = -2145386381;

/// `0x80200074`: the previously registered server-certificate validation callback is no longer
/// available.
pub const BG_E_SERVER_CERT_VALIDATION_INTERFACE_REQUIRED: bg_hresult = -2145386380;

/// `0x80200075`: the setting can only be changed while the job is suspended, in error, or
/// transferred.
pub const BG_E_READ_ONLY_WHEN_JOB_ACTIVE: bg_hresult = -2145386379;

/// `0x80200076`: context-text message id: the application's server-certificate validation callback
/// rejected the server (context 8).
pub const BG_E_ERROR_CONTEXT_SERVER_CERTIFICATE_CALLBACK: bg_hresult = -2145386378;

// ---- §5.3 mingw-w64 transport codes (0x8020002F-0x8020003D) ------------------------------------

/// `0x8020002F`: a keep-alive connection was closed by the server.
pub const BG_E_KEEP_ALIVE_FAILURE: bg_hresult = -2145386449;

/// `0x80200030`: a message exceeded the allowed length (e.g. the maximum file size).
pub const BG_E_MESSAGE_LENGTH_LIMIT_EXCEEDED: bg_hresult = -2145386448;

/// `0x80200031`: the server's host name could not be resolved.
pub const BG_E_NAME_RESOLUTION_FAILURE: bg_hresult = -2145386447;

/// `0x80200032`: an internal asynchronous request is still pending.
pub const BG_E_PENDING: bg_hresult = -2145386446;

/// `0x80200033`: a pipelined request failed.
pub const BG_E_PIPELINE_FAILURE: bg_hresult = -2145386445;

/// `0x80200034`: a protocol-level error occurred (e.g. HTTP/2 framing).
pub const BG_E_PROTOCOL_ERROR: bg_hresult = -2145386444;

/// `0x80200035`: the proxy server's host name could not be resolved.
pub const BG_E_PROXY_NAME_RESOLUTION_FAILURE: bg_hresult = -2145386443;

/// `0x80200036`: receiving data from the server failed.
pub const BG_E_RECEIVE_FAILURE: bg_hresult = -2145386442;

/// `0x80200037`: the request was cancelled.
pub const BG_E_REQUEST_CANCELED: bg_hresult = -2145386441;

/// `0x80200038`: the secure (TLS) channel could not be established.
pub const BG_E_SECURE_CHANNEL_FAILURE: bg_hresult = -2145386440;

/// `0x80200039`: sending data to the server failed.
pub const BG_E_SEND_FAILURE: bg_hresult = -2145386439;

/// `0x8020003A`: the server's reply violates the protocol.
pub const BG_E_SERVER_PROTOCOL_VIOLATION: bg_hresult = -2145386438;

/// `0x8020003B`: the operation timed out.
pub const BG_E_TIMEOUT: bg_hresult = -2145386437;

/// `0x8020003C`: the server's certificate could not be verified.
pub const BG_E_TRUST_FAILURE: bg_hresult = -2145386436;

/// `0x8020003D`: an unknown transport error occurred (fallback).
pub const BG_E_UNKNOWN_ERROR: bg_hresult = -2145386435;

// ---- bgcopy's own codes (0x80200100 and up; never reuse a value) -------------------------------

/// `0x80200100`: the state directory's store was written by a newer bgcopy (unknown schema
/// version); refused, nothing changed.
pub const BG_E_STORE_TOO_NEW: bg_hresult = -2145386240;

/// `0x80200101`: the store is corrupt or truncated; reported, never silently emptied.
pub const BG_E_STORE_CORRUPT: bg_hresult = -2145386239;

/// `0x80200102`: the state directory path exists but is not a directory, or cannot be created or
/// written.
pub const BG_E_STATE_DIR_INVALID: bg_hresult = -2145386238;

/// `0x80200103`: the call would deadlock if made from inside a bgcopy callback.
pub const BG_E_RECURSIVE_CALL: bg_hresult = -2145386237;

/// `0x80200104`: a file's content did not match its expected hash.
pub const BG_E_HASH_MISMATCH: bg_hresult = -2145386236;

/// `0x80200105`: the URL's scheme is well formed, but bgcopy has no transport for it.
pub const BG_E_UNSUPPORTED_PROTOCOL: bg_hresult = -2145386235;

/// `0x80200106`: the job's manager was closed; the handle can no longer transfer.
pub const BG_E_MANAGER_CLOSED: bg_hresult = -2145386234;

// ---- §5.4 HTTP status codes (0x80190000 | status) ----------------------------------------------

/// `0x80190064`: HTTP 100 Continue: the server returned a status that is not valid for this
/// request.
pub const BG_E_HTTP_ERROR_100: bg_hresult = -2145845148;

/// `0x80190065`: HTTP 101 Switching Protocols: the server returned a status that is not valid for
/// this request.
pub const BG_E_HTTP_ERROR_101: bg_hresult = -2145845147;

/// `0x801900C8`: HTTP 200 OK: the server returned a status that is not valid for this request.
pub const BG_E_HTTP_ERROR_200: bg_hresult = -2145845048;

/// `0x801900C9`: HTTP 201 Created: the server returned a status that is not valid for this request.
pub const BG_E_HTTP_ERROR_201: bg_hresult = -2145845047;

/// `0x801900CA`: HTTP 202 Accepted: the server returned a status that is not valid for this
/// request.
pub const BG_E_HTTP_ERROR_202: bg_hresult = -2145845046;

/// `0x801900CB`: HTTP 203 Non-Authoritative Information: the server returned a status that is not
/// valid for this request.
pub const BG_E_HTTP_ERROR_203: bg_hresult = -2145845045;

/// `0x801900CC`: HTTP 204 No Content: the server returned a status that is not valid for this
/// request.
pub const BG_E_HTTP_ERROR_204: bg_hresult = -2145845044;

/// `0x801900CD`: HTTP 205 Reset Content: the server returned a status that is not valid for this
/// request.
pub const BG_E_HTTP_ERROR_205: bg_hresult = -2145845043;

/// `0x801900CE`: HTTP 206 Partial Content: the server returned a status that is not valid for this
/// request.
pub const BG_E_HTTP_ERROR_206: bg_hresult = -2145845042;

/// `0x8019012C`: HTTP 300 Multiple Choices: the server could not choose a single representation of
/// the requested resource.
pub const BG_E_HTTP_ERROR_300: bg_hresult = -2145844948;

/// `0x8019012D`: HTTP 301 Moved Permanently: the requested resource was assigned a new permanent
/// URL.
pub const BG_E_HTTP_ERROR_301: bg_hresult = -2145844947;

/// `0x8019012E`: HTTP 302 Found: the requested resource resides temporarily under a different URL.
pub const BG_E_HTTP_ERROR_302: bg_hresult = -2145844946;

/// `0x8019012F`: HTTP 303 See Other: the response to the request can be found under a different
/// URL.
pub const BG_E_HTTP_ERROR_303: bg_hresult = -2145844945;

/// `0x80190130`: HTTP 304 Not Modified: the server returned a status that is not valid for this
/// request.
pub const BG_E_HTTP_ERROR_304: bg_hresult = -2145844944;

/// `0x80190131`: HTTP 305 Use Proxy: the requested resource must be accessed through the proxy
/// given by the server.
pub const BG_E_HTTP_ERROR_305: bg_hresult = -2145844943;

/// `0x80190133`: HTTP 307 Temporary Redirect: the requested resource resides temporarily under a
/// different URL.
pub const BG_E_HTTP_ERROR_307: bg_hresult = -2145844941;

/// `0x80190190`: HTTP 400 Bad Request: the server could not process the request because it is
/// malformed.
pub const BG_E_HTTP_ERROR_400: bg_hresult = -2145844848;

/// `0x80190191`: HTTP 401 Unauthorized: the requested resource requires user authentication.
pub const BG_E_HTTP_ERROR_401: bg_hresult = -2145844847;

/// `0x80190192`: HTTP 402 Payment Required: the server requires payment to process the request.
pub const BG_E_HTTP_ERROR_402: bg_hresult = -2145844846;

/// `0x80190193`: HTTP 403 Forbidden: the client does not have sufficient access rights to the
/// requested server object.
pub const BG_E_HTTP_ERROR_403: bg_hresult = -2145844845;

/// `0x80190194`: HTTP 404 Not Found: the requested URL does not exist on the server.
pub const BG_E_HTTP_ERROR_404: bg_hresult = -2145844844;

/// `0x80190195`: HTTP 405 Method Not Allowed: the method used is not allowed for the requested
/// resource.
pub const BG_E_HTTP_ERROR_405: bg_hresult = -2145844843;

/// `0x80190196`: HTTP 406 Not Acceptable: no response acceptable to the client was found.
pub const BG_E_HTTP_ERROR_406: bg_hresult = -2145844842;

/// `0x80190197`: HTTP 407 Proxy Authentication Required: proxy authentication is required.
pub const BG_E_HTTP_ERROR_407: bg_hresult = -2145844841;

/// `0x80190198`: HTTP 408 Request Timeout: the server timed out waiting for the request.
pub const BG_E_HTTP_ERROR_408: bg_hresult = -2145844840;

/// `0x80190199`: HTTP 409 Conflict: the request could not be completed due to a conflict with the
/// current state of the resource.
pub const BG_E_HTTP_ERROR_409: bg_hresult = -2145844839;

/// `0x8019019A`: HTTP 410 Gone: the requested resource is no longer available at the server.
pub const BG_E_HTTP_ERROR_410: bg_hresult = -2145844838;

/// `0x8019019B`: HTTP 411 Length Required: the server refuses to accept the request without a
/// defined content length.
pub const BG_E_HTTP_ERROR_411: bg_hresult = -2145844837;

/// `0x8019019C`: HTTP 412 Precondition Failed: a precondition given in the request header fields
/// evaluated to false on the server.
pub const BG_E_HTTP_ERROR_412: bg_hresult = -2145844836;

/// `0x8019019D`: HTTP 413 Content Too Large: the server refuses to process the request because the
/// request content is too large.
pub const BG_E_HTTP_ERROR_413: bg_hresult = -2145844835;

/// `0x8019019E`: HTTP 414 URI Too Long: the server refuses to service the request because the
/// request URL is too long.
pub const BG_E_HTTP_ERROR_414: bg_hresult = -2145844834;

/// `0x8019019F`: HTTP 415 Unsupported Media Type: the server refuses to service the request because
/// the content is in an unsupported format.
pub const BG_E_HTTP_ERROR_415: bg_hresult = -2145844833;

/// `0x801901A0`: HTTP 416 Range Not Satisfiable: the server could not satisfy the requested byte
/// range.
pub const BG_E_HTTP_ERROR_416: bg_hresult = -2145844832;

/// `0x801901A1`: HTTP 417 Expectation Failed: the server could not meet the expectation given in
/// the Expect request header.
pub const BG_E_HTTP_ERROR_417: bg_hresult = -2145844831;

/// `0x801901C1`: HTTP 449 Retry With: the server asks for the request to be retried after the
/// appropriate action.
pub const BG_E_HTTP_ERROR_449: bg_hresult = -2145844799;

/// `0x801901F4`: HTTP 500 Internal Server Error: an unexpected condition prevented the server from
/// fulfilling the request.
pub const BG_E_HTTP_ERROR_500: bg_hresult = -2145844748;

/// `0x801901F5`: HTTP 501 Not Implemented: the server does not support the functionality required
/// to fulfill the request.
pub const BG_E_HTTP_ERROR_501: bg_hresult = -2145844747;

/// `0x801901F6`: HTTP 502 Bad Gateway: the server, acting as a gateway or proxy, received an
/// invalid response from the upstream server.
pub const BG_E_HTTP_ERROR_502: bg_hresult = -2145844746;

/// `0x801901F7`: HTTP 503 Service Unavailable: the service is temporarily overloaded or
/// unavailable.
pub const BG_E_HTTP_ERROR_503: bg_hresult = -2145844745;

/// `0x801901F8`: HTTP 504 Gateway Timeout: the request timed out waiting for a gateway.
pub const BG_E_HTTP_ERROR_504: bg_hresult = -2145844744;

/// `0x801901F9`: HTTP 505 HTTP Version Not Supported: the server does not support the HTTP protocol
/// version used in the request.
pub const BG_E_HTTP_ERROR_505: bg_hresult = -2145844743;

// ---- Win32-derived codes (HRESULT_FROM_WIN32, 0x8007xxxx) --------------------------------------

/// `0x80070002`: `HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND)`: the file was not found.
pub const BG_E_WIN32_FILE_NOT_FOUND: bg_hresult = -2147024894;

/// `0x80070003`: `HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND)`: the path (or a directory in it) was
/// not found.
pub const BG_E_WIN32_PATH_NOT_FOUND: bg_hresult = -2147024893;

/// `0x80070004`: `HRESULT_FROM_WIN32(ERROR_TOO_MANY_OPEN_FILES)`: too many open files.
pub const BG_E_WIN32_TOO_MANY_OPEN_FILES: bg_hresult = -2147024892;

/// `0x80070011`: `HRESULT_FROM_WIN32(ERROR_NOT_SAME_DEVICE)`: the file cannot be moved to a
/// different device.
pub const BG_E_WIN32_NOT_SAME_DEVICE: bg_hresult = -2147024879;

/// `0x80070013`: `HRESULT_FROM_WIN32(ERROR_WRITE_PROTECT)`: the media (file system) is write
/// protected / read-only.
pub const BG_E_WIN32_WRITE_PROTECT: bg_hresult = -2147024877;

/// `0x80070020`: `HRESULT_FROM_WIN32(ERROR_SHARING_VIOLATION)`: the file is in use.
pub const BG_E_WIN32_SHARING_VIOLATION: bg_hresult = -2147024864;

/// `0x80070070`: `HRESULT_FROM_WIN32(ERROR_DISK_FULL)`: there is not enough space on the disk.
pub const BG_E_WIN32_DISK_FULL: bg_hresult = -2147024784;

/// `0x8007007A`: `HRESULT_FROM_WIN32(ERROR_INSUFFICIENT_BUFFER)`: the caller's buffer is too small.
pub const BG_E_INSUFFICIENT_BUFFER: bg_hresult = -2147024774;

/// `0x800700B7`: `HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS)`: the file already exists.
pub const BG_E_WIN32_ALREADY_EXISTS: bg_hresult = -2147024713;

/// `0x800700CE`: `HRESULT_FROM_WIN32(ERROR_FILENAME_EXCED_RANGE)`: the file name or extension is
/// too long.
pub const BG_E_WIN32_FILENAME_EXCED_RANGE: bg_hresult = -2147024690;

/// `0x8007010B`: `HRESULT_FROM_WIN32(ERROR_DIRECTORY)`: the directory name is invalid (or the path
/// is a directory).
pub const BG_E_WIN32_DIRECTORY: bg_hresult = -2147024629;

/// `0x80070422`: `HRESULT_FROM_WIN32(ERROR_SERVICE_DISABLED)`: the service is disabled.
pub const BG_E_WIN32_SERVICE_DISABLED: bg_hresult = -2147023838;

/// `0x8007045D`: `HRESULT_FROM_WIN32(ERROR_IO_DEVICE)`: an I/O device error occurred.
pub const BG_E_WIN32_IO_DEVICE: bg_hresult = -2147023779;

/// `0x800704C7`: `HRESULT_FROM_WIN32(ERROR_CANCELLED)`: the operation was cancelled.
pub const BG_E_WIN32_CANCELLED: bg_hresult = -2147023673;

/// `0x80070717`: `HRESULT_FROM_WIN32(ERROR_RESOURCE_LANG_NOT_FOUND)`: no message is available in
/// the requested language.
pub const BG_E_WIN32_RESOURCE_LANG_NOT_FOUND: bg_hresult = -2147023081;

// ---- Other codes BITS methods return (§5.6) ----------------------------------------------------

/// `0x800706F4`: a NULL pointer was passed where a reference pointer is required.
pub const RPC_X_NULL_REF_POINTER: bg_hresult = -2147023116;

/// `0x800706F7`: malformed marshalled data (e.g. a certificate hash whose size is not 20 bytes).
pub const RPC_X_BAD_STUB_DATA: bg_hresult = -2147023113;

/// `0x80092004`: the client certificate was not found in the store.
pub const CRYPT_E_NOT_FOUND: bg_hresult = -2146885628;

/// `0x80072F0C`: `ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED`: the server requires a client certificate.
pub const BG_E_WINHTTP_CLIENT_AUTH_CERT_NEEDED: bg_hresult = -2147012852;

/// `0x80072F19`: `ERROR_WINHTTP_SECURE_CERT_REV_FAILED`: the certificate revocation check could not
/// be completed.
pub const BG_E_WINHTTP_SECURE_CERT_REV_FAILED: bg_hresult = -2147012839;

/// `0x80072F8A`: `ERROR_WINHTTP_SECURE_CERT_REVOKED`: the server certificate has been revoked.
pub const BG_E_WINHTTP_SECURE_CERT_REVOKED: bg_hresult = -2147012726;

// ---- Functions ---------------------------------------------------------------------------------

/// `SUCCEEDED(code)`: true for `S_OK`, `S_FALSE` and every other non-negative code.
#[inline]
pub const fn succeeded(code: bg_hresult) -> bool {
    code >= 0
}

/// `FAILED(code)`: true for every negative code.
#[inline]
pub const fn failed(code: bg_hresult) -> bool {
    code < 0
}

/// Base of the HTTP facility codes: `BG_E_HTTP_ERROR_nnn = 0x80190000 | nnn`.
const HTTP_BASE: u32 = 0x8019_0000;
/// Lowest HTTP status mapped to an HTTP facility code.
const HTTP_MIN: u32 = 100;
/// Highest HTTP status mapped to an HTTP facility code.
const HTTP_MAX: u32 = 599;

/// The code for an HTTP status returned by the server: `0x80190000 | status` for a status in
/// 100..=599 (whether or not a `BG_E_HTTP_ERROR_nnn` constant names it).
///
/// A status outside 100..=599 is not a valid HTTP status; it maps to
/// [`BG_E_INVALID_SERVER_RESPONSE`].
pub const fn http_status_code(status: u32) -> bg_hresult {
    if status >= HTTP_MIN && status <= HTTP_MAX {
        (HTTP_BASE | status) as bg_hresult
    } else {
        BG_E_INVALID_SERVER_RESPONSE
    }
}

/// The inverse of [`http_status_code`]: the HTTP status (100..=599) carried by an HTTP facility
/// code `0x80190000 | status`, or `None` for any other code.
pub const fn http_status_of(code: bg_hresult) -> Option<u32> {
    let value = code as u32;
    if value & 0xFFFF_0000 != HTTP_BASE {
        return None;
    }
    let status = value & 0xFFFF;
    if status >= HTTP_MIN && status <= HTTP_MAX {
        Some(status)
    } else {
        None
    }
}

/// The standard reason phrase of an HTTP status (e.g. `404` → `"Not Found"`), or `None` for a
/// status without a registered phrase.
pub fn http_reason_phrase(status: u32) -> Option<&'static str> {
    Some(match status {
        100 => "Continue",
        101 => "Switching Protocols",
        102 => "Processing",
        103 => "Early Hints",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        207 => "Multi-Status",
        208 => "Already Reported",
        226 => "IM Used",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        305 => "Use Proxy",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        418 => "I'm a teapot",
        421 => "Misdirected Request",
        422 => "Unprocessable Content",
        423 => "Locked",
        424 => "Failed Dependency",
        425 => "Too Early",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        449 => "Retry With",
        451 => "Unavailable For Legal Reasons",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        506 => "Variant Also Negotiates",
        507 => "Insufficient Storage",
        508 => "Loop Detected",
        510 => "Not Extended",
        511 => "Network Authentication Required",
        _ => return None,
    })
}

/// A short explanation (lower case, no final period) for the statuses that have a named
/// `BG_E_HTTP_ERROR_nnn` constant.
fn http_explanation(status: u32) -> Option<&'static str> {
    Some(match status {
        100 => "the server returned a status that is not valid for this request",
        101 => "the server returned a status that is not valid for this request",
        200 => "the server returned a status that is not valid for this request",
        201 => "the server returned a status that is not valid for this request",
        202 => "the server returned a status that is not valid for this request",
        203 => "the server returned a status that is not valid for this request",
        204 => "the server returned a status that is not valid for this request",
        205 => "the server returned a status that is not valid for this request",
        206 => "the server returned a status that is not valid for this request",
        300 => "the server could not choose a single representation of the requested resource",
        301 => "the requested resource was assigned a new permanent URL",
        302 => "the requested resource resides temporarily under a different URL",
        303 => "the response to the request can be found under a different URL",
        304 => "the server returned a status that is not valid for this request",
        305 => "the requested resource must be accessed through the proxy given by the server",
        307 => "the requested resource resides temporarily under a different URL",
        400 => "the server could not process the request because it is malformed",
        401 => "the requested resource requires user authentication",
        402 => "the server requires payment to process the request",
        403 => "the client does not have sufficient access rights to the requested server object",
        404 => "the requested URL does not exist on the server",
        405 => "the method used is not allowed for the requested resource",
        406 => "no response acceptable to the client was found",
        407 => "proxy authentication is required",
        408 => "the server timed out waiting for the request",
        409 => "the request could not be completed due to a conflict with the current state of the resource",
        410 => "the requested resource is no longer available at the server",
        411 => "the server refuses to accept the request without a defined content length",
        412 => "a precondition given in the request header fields evaluated to false on the server",
        413 => "the server refuses to process the request because the request content is too large",
        414 => "the server refuses to service the request because the request URL is too long",
        415 => "the server refuses to service the request because the content is in an unsupported format",
        416 => "the server could not satisfy the requested byte range",
        417 => "the server could not meet the expectation given in the Expect request header",
        449 => "the server asks for the request to be retried after the appropriate action",
        500 => "an unexpected condition prevented the server from fulfilling the request",
        501 => "the server does not support the functionality required to fulfill the request",
        502 => "the server, acting as a gateway or proxy, received an invalid response from the upstream server",
        503 => "the service is temporarily overloaded or unavailable",
        504 => "the request timed out waiting for a gateway",
        505 => "the server does not support the HTTP protocol version used in the request",
        _ => return None,
    })
}

/// The message text for an HTTP status in 100..=599.
fn http_message_text(status: u32) -> String {
    match (http_reason_phrase(status), http_explanation(status)) {
        (Some(reason), Some(explanation)) => format!("HTTP {status} {reason}: {explanation}."),
        (Some(reason), None) => format!("HTTP status {status} ({reason}) from the server."),
        (None, _) => format!("HTTP status {status} from the server."),
    }
}

/// Messages for every HTTP status in 100..=599, indexed by `status - 100`; built once and kept
/// for the life of the process so the returned pointers stay valid.
static HTTP_MESSAGES: Lazy<Vec<CString>> = Lazy::new(|| {
    (HTTP_MIN..=HTTP_MAX)
        .map(|status| CString::new(http_message_text(status)).unwrap_or_default())
        .collect()
});

/// Generic message for a failure code this module does not know.
const UNKNOWN_ERROR: &CStr = c"Unknown error code.";
/// Generic message for a success code this module does not know.
const UNKNOWN_SUCCESS: &CStr = c"Unknown success code.";

/// A static English message (one sentence, no trailing newline) describing `code`.
///
/// Every constant of this module has its own text; HTTP codes `0x80190000 | status` (status in
/// 100..=599) get a text naming the status and, where known, its reason phrase. Any other
/// failure code gives `"Unknown error code."`, any other success code `"Unknown success code."`.
/// The returned string lives for the whole process. Never panics.
pub fn message(code: bg_hresult) -> &'static CStr {
    if let Some(status) = http_status_of(code) {
        let messages: &'static Vec<CString> = &HTTP_MESSAGES;
        return match messages.get((status - HTTP_MIN) as usize) {
            Some(text) => text.as_c_str(),
            None => UNKNOWN_ERROR,
        };
    }
    match code {
        S_OK => c"The operation completed successfully.",
        S_FALSE => c"The operation succeeded, but there was nothing to do.",
        E_NOTIMPL => c"The value or operation is not supported.",
        E_NOINTERFACE => c"The requested interface is not supported.",
        E_POINTER => c"A required pointer is null.",
        E_ABORT => c"The operation was aborted.",
        E_FAIL => c"Unspecified error.",
        E_PENDING => c"The data necessary to complete the operation is not yet available.",
        E_UNEXPECTED => c"An unexpected internal error occurred.",
        E_ACCESSDENIED => c"Access is denied.",
        E_HANDLE => c"The handle is invalid.",
        E_OUTOFMEMORY => c"Not enough memory is available to complete the operation.",
        E_INVALIDARG => c"One or more arguments are not valid.",
        BG_S_ERROR_CONTEXT_NONE => c"An error has not occurred.",
        BG_S_PARTIAL_COMPLETE => {
            c"Some of the transferred files were deleted because they were incomplete."
        }
        BG_S_UNABLE_TO_DELETE_FILES => {
            c"The job succeeded, but some of its temporary files could not be deleted."
        }
        BG_S_PROXY_CHANGED => c"The proxy server settings were changed.",
        BG_S_OVERRIDDEN_BY_POLICY => {
            c"The value was accepted, but a policy setting currently overrides it."
        }
        BG_E_NOT_FOUND => c"The requested job was not found.",
        BG_E_INVALID_STATE => c"The requested action is not allowed in the current job state.",
        BG_E_EMPTY => c"The job cannot be resumed because it does not contain any files.",
        BG_E_FILE_NOT_AVAILABLE => c"No file is available because no error has occurred on a file.",
        BG_E_PROTOCOL_NOT_AVAILABLE => {
            c"No protocol is available because the error did not occur in a transfer protocol."
        }
        BG_E_ERROR_CONTEXT_UNKNOWN => c"The origin of the error is unknown.",
        BG_E_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER => {
            c"The error occurred in the background transfer service itself."
        }
        BG_E_ERROR_CONTEXT_LOCAL_FILE => {
            c"The error occurred while the local file was being processed; verify that the file is not in use and try again."
        }
        BG_E_ERROR_CONTEXT_REMOTE_FILE => {
            c"The error occurred while the remote file was being processed."
        }
        BG_E_ERROR_CONTEXT_GENERAL_TRANSPORT => {
            c"The error occurred in the network transport layer."
        }
        BG_E_ERROR_CONTEXT_QUEUE_MANAGER_NOTIFICATION => {
            c"The error occurred while the notification callback or command line was being processed."
        }
        BG_E_DESTINATION_LOCKED => {
            c"The destination volume is locked and cannot be written to at this time."
        }
        BG_E_VOLUME_CHANGED => c"The destination volume has changed since the job was created.",
        BG_E_ERROR_INFORMATION_UNAVAILABLE => {
            c"No error information is available because the job is not in an error state."
        }
        BG_E_NETWORK_DISCONNECTED => {
            c"There are currently no active network connections; the transfer will resume when a connection is available."
        }
        BG_E_MISSING_FILE_SIZE => {
            c"The server did not return the file size, and the URL might point to dynamic content."
        }
        BG_E_INSUFFICIENT_HTTP_SUPPORT => c"The server does not support HTTP 1.1.",
        BG_E_INSUFFICIENT_RANGE_SUPPORT => {
            c"The server does not support the necessary HTTP protocol because it does not support Range requests."
        }
        BG_E_REMOTE_NOT_SUPPORTED => {
            c"Remote use of the background transfer service is not supported."
        }
        BG_E_NEW_OWNER_DIFF_MAPPING => {
            c"The drive mapping for the job differs for the current owner than for the previous owner."
        }
        BG_E_NEW_OWNER_NO_FILE_ACCESS => {
            c"The new owner has insufficient access to the local files for the job."
        }
        BG_E_PROXY_LIST_TOO_LARGE => c"The proxy list exceeds the maximum allowed length.",
        BG_E_PROXY_BYPASS_LIST_TOO_LARGE => {
            c"The proxy bypass list exceeds the maximum allowed length."
        }
        BG_E_INVALID_SERVER_RESPONSE => c"The server returned a response that is not valid.",
        BG_E_TOO_MANY_FILES => {
            c"An upload job can contain only one file, and the job already has a file."
        }
        BG_E_LOCAL_FILE_CHANGED => c"The local file changed during the transfer.",
        BG_E_ERROR_CONTEXT_REMOTE_APPLICATION => {
            c"The error was reported by the server application that processes the upload."
        }
        BG_E_SESSION_NOT_FOUND => {
            c"The server could not find the upload session; it may have expired."
        }
        BG_E_TOO_LARGE => c"The upload or reply is larger than the maximum allowed size.",
        BG_E_STRING_TOO_LONG => c"A string argument is longer than the maximum allowed length.",
        BG_E_CLIENT_SERVER_PROTOCOL_MISMATCH => {
            c"The client and server do not support a common upload protocol."
        }
        BG_E_SERVER_EXECUTE_ENABLE => {
            c"Scripting or execute permissions are enabled on the server's upload directory, so the upload was refused."
        }
        BG_E_NO_PROGRESS => {
            c"The job is not making progress, and the server might be misconfigured."
        }
        BG_E_USERNAME_TOO_LARGE => c"The user name cannot exceed 300 characters.",
        BG_E_PASSWORD_TOO_LARGE => c"The password exceeds the maximum allowed length.",
        BG_E_INVALID_AUTH_TARGET => {
            c"The authentication target specified in the credentials is not valid."
        }
        BG_E_INVALID_AUTH_SCHEME => {
            c"The authentication scheme specified in the credentials is not valid."
        }
        BG_E_FILE_NOT_FOUND => c"The specified file was not found in the job.",
        BG_E_INVALID_RANGE => c"A byte range is outside the file or is not valid.",
        BG_E_OVERLAPPING_RANGES => c"The byte ranges overlap or are not in ascending order.",
        BG_E_CONNECT_FAILURE => c"A connection to the server could not be established.",
        BG_E_CONNECTION_CLOSED => c"The connection to the server was closed unexpectedly.",
        BG_E_BLOCKED_BY_POLICY => c"A policy setting currently prevents the transfer.",
        BG_E_INVALID_PROXY_INFO => c"The proxy list or proxy bypass list is not valid.",
        BG_E_INVALID_CREDENTIALS => c"The format of the supplied credentials is not valid.",
        BG_E_INVALID_HASH_ALGORITHM => c"The specified hash algorithm is not supported.",
        BG_E_RECORD_DELETED => c"The peer-cache record has been deleted.",
        BG_E_COMMIT_IN_PROGRESS => c"A peer-cache commit is in progress.",
        BG_E_DISCOVERY_IN_PROGRESS => c"Peer discovery is in progress.",
        BG_E_UPNP_ERROR => c"The Internet gateway device could not be queried through UPnP.",
        BG_E_TEST_OPTION_BLOCKED_DOWNLOAD => c"The download was blocked by a test option.",
        BG_E_PEERCACHING_DISABLED => c"Peer caching is disabled.",
        BG_E_BUSYCACHERECORD => c"The peer-cache record is in use.",
        BG_E_TOO_MANY_JOBS_PER_USER => {
            c"The maximum number of jobs for this user has been reached."
        }
        BG_E_TOO_MANY_JOBS_PER_MACHINE => {
            c"The maximum number of jobs on this computer has been reached."
        }
        BG_E_TOO_MANY_FILES_IN_JOB => c"The maximum number of files in a job has been reached.",
        BG_E_TOO_MANY_RANGES_IN_FILE => {
            c"The maximum number of byte ranges in a file has been reached."
        }
        BG_E_VALIDATION_FAILED => c"The application marked the downloaded file as not valid.",
        BG_E_MAXDOWNLOAD_TIMEOUT => c"The job did not complete within its maximum download time.",
        BG_E_TOKEN_REQUIRED => {
            c"A user or helper token is required for this operation but is not available."
        }
        BG_E_UNKNOWN_PROPERTY_ID => c"The job property identifier is not recognized.",
        BG_E_READ_ONLY_PROPERTY => c"The job property is read-only and cannot be set.",
        BG_E_BLOCKED_BY_COST_TRANSFER_POLICY => {
            c"The job's transfer policy does not allow transfers on the current network."
        }
        BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY => {
            c"The job property is supported only for download jobs."
        }
        BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE => {
            c"The job property cannot be changed after files have been added to the job."
        }
        BG_E_READ_ONLY_PROPERTY_AFTER_RESUME => {
            c"The job property cannot be changed after the job has been resumed."
        }
        BG_E_MAX_DOWNLOAD_SIZE_INVALID_VALUE => c"The maximum download size value is not valid.",
        BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED => {
            c"The download is larger than the maximum download size allowed for the job."
        }
        BG_E_STANDBY_MODE => c"Transfers are paused because the computer is in standby mode.",
        BG_E_USE_STORED_CREDENTIALS_NOT_SUPPORTED => {
            c"Using stored credentials is not supported for this authentication target."
        }
        BG_E_BLOCKED_BY_BATTERY_POLICY => {
            c"The transfer is blocked while the computer is running on battery power."
        }
        BG_E_BLOCKED_BY_BATTERY_SAVER => c"The transfer is blocked while battery saver is active.",
        BG_E_WATCHDOG_TIMEOUT => {
            c"The transfer was stopped because an internal watchdog timed out."
        }
        BG_E_APP_PACKAGE_NOT_FOUND => {
            c"The application package that owns the job is no longer installed."
        }
        BG_E_APP_PACKAGE_SCENARIO_NOT_SUPPORTED => {
            c"The operation is not supported for packaged applications."
        }
        BG_E_DATABASE_CORRUPT => c"The job database is corrupt.",
        BG_E_RANDOM_ACCESS_NOT_SUPPORTED => {
            c"Random access to the file is not supported for this job."
        }
        BG_E_BLOCKED_BY_BACKGROUND_ACCESS_POLICY => {
            c"The transfer is blocked because the application's background access has been revoked."
        }
        BG_E_BLOCKED_BY_GAME_MODE => c"The transfer is blocked while Game Mode is active.",
        BG_E_BLOCKED_BY_SYSTEM_POLICY => c"The transfer is blocked by a system policy.",
        BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD => {
            c"The option is not supported for jobs that use a custom HTTP method."
        }
        BG_E_UNSUPPORTED_JOB_CONFIGURATION => c"The combination of job options is not supported.",
        BG_E_REMOTE_FILE_CHANGED => c"The remote file changed during the download.",
        BG_E_SERVER_CERT_VALIDATION_INTERFACE_REQUIRED => {
            c"The server certificate validation callback registered for the job is no longer available."
        }
        BG_E_READ_ONLY_WHEN_JOB_ACTIVE => {
            c"The setting can be changed only while the job is suspended, in an error state, or transferred."
        }
        BG_E_ERROR_CONTEXT_SERVER_CERTIFICATE_CALLBACK => {
            c"The error occurred in the application's server certificate validation callback."
        }
        BG_E_KEEP_ALIVE_FAILURE => {
            c"The connection that was expected to be kept alive was closed by the server."
        }
        BG_E_MESSAGE_LENGTH_LIMIT_EXCEEDED => {
            c"A message received from the server exceeded the allowed length."
        }
        BG_E_NAME_RESOLUTION_FAILURE => c"The server name could not be resolved.",
        BG_E_PENDING => c"An internal asynchronous request is still pending.",
        BG_E_PIPELINE_FAILURE => c"A pipelined request failed.",
        BG_E_PROTOCOL_ERROR => c"A protocol error occurred while communicating with the server.",
        BG_E_PROXY_NAME_RESOLUTION_FAILURE => c"The proxy server name could not be resolved.",
        BG_E_RECEIVE_FAILURE => c"An error occurred while receiving data from the server.",
        BG_E_REQUEST_CANCELED => c"The request was cancelled.",
        BG_E_SECURE_CHANNEL_FAILURE => {
            c"A secure connection to the server could not be established."
        }
        BG_E_SEND_FAILURE => c"An error occurred while sending data to the server.",
        BG_E_SERVER_PROTOCOL_VIOLATION => c"The server sent a response that violates the protocol.",
        BG_E_TIMEOUT => c"The operation timed out.",
        BG_E_TRUST_FAILURE => c"The server's certificate could not be verified.",
        BG_E_UNKNOWN_ERROR => c"An unknown transport error occurred.",
        BG_E_STORE_TOO_NEW => {
            c"The job store was written by a newer version of bgcopy and cannot be opened."
        }
        BG_E_STORE_CORRUPT => c"The job store is corrupt or truncated.",
        BG_E_STATE_DIR_INVALID => {
            c"The state directory is not a directory, cannot be created, or is not writable."
        }
        BG_E_RECURSIVE_CALL => {
            c"The call is not allowed from inside a bgcopy callback because it would deadlock."
        }
        BG_E_HASH_MISMATCH => c"The file's content does not match its expected hash.",
        BG_E_UNSUPPORTED_PROTOCOL => c"The URL uses a protocol that bgcopy does not support.",
        BG_E_MANAGER_CLOSED => c"The manager that owns the job has been closed.",
        BG_E_WIN32_FILE_NOT_FOUND => c"The system cannot find the file specified.",
        BG_E_WIN32_PATH_NOT_FOUND => c"The system cannot find the path specified.",
        BG_E_WIN32_TOO_MANY_OPEN_FILES => {
            c"The system cannot open the file because too many files are open."
        }
        BG_E_WIN32_NOT_SAME_DEVICE => c"The system cannot move the file to a different disk drive.",
        BG_E_WIN32_WRITE_PROTECT => c"The media is write protected.",
        BG_E_WIN32_SHARING_VIOLATION => {
            c"The process cannot access the file because it is being used by another process."
        }
        BG_E_WIN32_DISK_FULL => c"There is not enough space on the disk.",
        BG_E_INSUFFICIENT_BUFFER => c"The data area passed to the call is too small.",
        BG_E_WIN32_ALREADY_EXISTS => c"Cannot create a file when that file already exists.",
        BG_E_WIN32_FILENAME_EXCED_RANGE => c"The file name or extension is too long.",
        BG_E_WIN32_DIRECTORY => {
            c"The directory name is invalid, or the path names a directory where a file was expected."
        }
        BG_E_WIN32_SERVICE_DISABLED => c"The service cannot be started because it is disabled.",
        BG_E_WIN32_IO_DEVICE => {
            c"The request could not be performed because of an I/O device error."
        }
        BG_E_WIN32_CANCELLED => c"The operation was cancelled by the user.",
        BG_E_WIN32_RESOURCE_LANG_NOT_FOUND => {
            c"The specified resource language ID cannot be found."
        }
        RPC_X_NULL_REF_POINTER => c"A null reference pointer was passed to the stub.",
        RPC_X_BAD_STUB_DATA => c"The stub received bad data.",
        CRYPT_E_NOT_FOUND => c"Cannot find the object or property.",
        BG_E_WINHTTP_CLIENT_AUTH_CERT_NEEDED => {
            c"The server requires a client certificate for authentication."
        }
        BG_E_WINHTTP_SECURE_CERT_REV_FAILED => {
            c"The revocation check for the server certificate could not be completed."
        }
        BG_E_WINHTTP_SECURE_CERT_REVOKED => c"The server certificate has been revoked.",
        _ if code < 0 => UNKNOWN_ERROR,
        _ => UNKNOWN_SUCCESS,
    }
}

/// The code whose message describes an error context (`IBackgroundCopyError::
/// GetErrorContextDescription`): [`BG_S_ERROR_CONTEXT_NONE`] for context 0 and the matching
/// `BG_E_ERROR_CONTEXT_*` code for contexts 1..=8; `None` for an unknown context.
pub const fn error_context_message_id(context: bg_error_context) -> Option<bg_hresult> {
    Some(match context {
        BG_ERROR_CONTEXT_NONE => BG_S_ERROR_CONTEXT_NONE,
        BG_ERROR_CONTEXT_UNKNOWN => BG_E_ERROR_CONTEXT_UNKNOWN,
        BG_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER => BG_E_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER,
        BG_ERROR_CONTEXT_QUEUE_MANAGER_NOTIFICATION => {
            BG_E_ERROR_CONTEXT_QUEUE_MANAGER_NOTIFICATION
        }
        BG_ERROR_CONTEXT_LOCAL_FILE => BG_E_ERROR_CONTEXT_LOCAL_FILE,
        BG_ERROR_CONTEXT_REMOTE_FILE => BG_E_ERROR_CONTEXT_REMOTE_FILE,
        BG_ERROR_CONTEXT_GENERAL_TRANSPORT => BG_E_ERROR_CONTEXT_GENERAL_TRANSPORT,
        BG_ERROR_CONTEXT_REMOTE_APPLICATION => BG_E_ERROR_CONTEXT_REMOTE_APPLICATION,
        BG_ERROR_CONTEXT_SERVER_CERTIFICATE_CALLBACK => {
            BG_E_ERROR_CONTEXT_SERVER_CERTIFICATE_CALLBACK
        }
        _ => return None,
    })
}

/// The code for a POSIX `errno` value, or `None` if this module has no specific mapping for it.
///
/// | errno | code |
/// |---|---|
/// | `EACCES`, `EPERM`, `ELOOP` (a symlink was refused) | [`E_ACCESSDENIED`] |
/// | `ENOENT`, `ENOTDIR` | [`BG_E_WIN32_PATH_NOT_FOUND`] |
/// | `ENOSPC`, `EDQUOT` | [`BG_E_WIN32_DISK_FULL`] |
/// | `EROFS` | [`BG_E_WIN32_WRITE_PROTECT`] |
/// | `EISDIR` | [`BG_E_WIN32_DIRECTORY`] |
/// | `EEXIST` | [`BG_E_WIN32_ALREADY_EXISTS`] |
/// | `EBUSY`, `ETXTBSY` | [`BG_E_WIN32_SHARING_VIOLATION`] |
/// | `EXDEV` | [`BG_E_WIN32_NOT_SAME_DEVICE`] |
/// | `ENAMETOOLONG` | [`BG_E_WIN32_FILENAME_EXCED_RANGE`] |
/// | `EMFILE`, `ENFILE` | [`BG_E_WIN32_TOO_MANY_OPEN_FILES`] |
/// | `ENOMEM` | [`E_OUTOFMEMORY`] |
/// | `EIO` | [`BG_E_WIN32_IO_DEVICE`] |
/// | `EINTR`, `ECANCELED` | [`BG_E_WIN32_CANCELLED`] |
pub fn hresult_from_errno(errno: i32) -> Option<bg_hresult> {
    Some(match errno {
        libc::EACCES | libc::EPERM | libc::ELOOP => E_ACCESSDENIED,
        libc::ENOENT | libc::ENOTDIR => BG_E_WIN32_PATH_NOT_FOUND,
        libc::ENOSPC | libc::EDQUOT => BG_E_WIN32_DISK_FULL,
        libc::EROFS => BG_E_WIN32_WRITE_PROTECT,
        libc::EISDIR => BG_E_WIN32_DIRECTORY,
        libc::EEXIST => BG_E_WIN32_ALREADY_EXISTS,
        libc::EBUSY | libc::ETXTBSY => BG_E_WIN32_SHARING_VIOLATION,
        libc::EXDEV => BG_E_WIN32_NOT_SAME_DEVICE,
        libc::ENAMETOOLONG => BG_E_WIN32_FILENAME_EXCED_RANGE,
        libc::EMFILE | libc::ENFILE => BG_E_WIN32_TOO_MANY_OPEN_FILES,
        libc::ENOMEM => E_OUTOFMEMORY,
        libc::EIO => BG_E_WIN32_IO_DEVICE,
        libc::EINTR | libc::ECANCELED => BG_E_WIN32_CANCELLED,
        _ => return None,
    })
}

/// The code for an I/O error: its OS error number through [`hresult_from_errno`] if it has one
/// with a mapping, otherwise by [`std::io::ErrorKind`] (`NotFound` →
/// [`BG_E_WIN32_PATH_NOT_FOUND`], `PermissionDenied` → [`E_ACCESSDENIED`], `AlreadyExists` →
/// [`BG_E_WIN32_ALREADY_EXISTS`], `OutOfMemory` → [`E_OUTOFMEMORY`], `Interrupted` →
/// [`BG_E_WIN32_CANCELLED`]), and finally [`E_FAIL`].
pub fn hresult_from_io(err: &std::io::Error) -> bg_hresult {
    if let Some(code) = err.raw_os_error().and_then(hresult_from_errno) {
        return code;
    }
    use std::io::ErrorKind;
    match err.kind() {
        ErrorKind::NotFound => BG_E_WIN32_PATH_NOT_FOUND,
        ErrorKind::PermissionDenied => E_ACCESSDENIED,
        ErrorKind::AlreadyExists => BG_E_WIN32_ALREADY_EXISTS,
        ErrorKind::OutOfMemory => E_OUTOFMEMORY,
        ErrorKind::Interrupted => BG_E_WIN32_CANCELLED,
        _ => E_FAIL,
    }
}

// ---- The crate-wide error type -----------------------------------------------------------------

/// The crate-wide error type; every variant maps to exactly one [`bg_hresult`] through
/// [`Error::code`], which is what the C boundary returns.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An argument is invalid ([`E_INVALIDARG`]); the text names the argument or the problem.
    #[error("invalid argument: {0}")]
    InvalidArg(&'static str),
    /// The opaque handle is invalid or stale ([`E_HANDLE`]).
    #[error("invalid or stale handle")]
    Handle,
    /// The operation is not allowed in the job's current state ([`BG_E_INVALID_STATE`]).
    #[error("the operation is not allowed in the job's current state")]
    InvalidState,
    /// No such job ([`BG_E_NOT_FOUND`]).
    #[error("no such job")]
    NotFound,
    /// The job has no files ([`BG_E_EMPTY`]).
    #[error("the job has no files")]
    Empty,
    /// A string argument exceeds its limit ([`BG_E_STRING_TOO_LONG`]); the text names it.
    #[error("string too long: {0}")]
    StringTooLong(&'static str),
    /// The value or operation is not supported ([`E_NOTIMPL`]); the text names it.
    #[error("value not supported: {0}")]
    NotImpl(&'static str),
    /// The caller's buffer is too small ([`BG_E_INSUFFICIENT_BUFFER`]).
    #[error("buffer too small: {needed} bytes needed")]
    InsufficientBuffer {
        /// The buffer size, in bytes, that the call needs.
        needed: usize,
    },
    /// The job is not in an error state, so there is no error object
    /// ([`BG_E_ERROR_INFORMATION_UNAVAILABLE`]).
    #[error("the job is not in an error state")]
    ErrorInformationUnavailable,
    /// An I/O error; its code is [`hresult_from_io`] of the source.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, e.g. `"creating the temporary file /x/BIT1234.tmp"`.
        context: String,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Any other specific code, with a description.
    #[error("{message}")]
    Code {
        /// The code returned to the caller.
        code: bg_hresult,
        /// A description of the failure.
        message: String,
    },
    /// An internal invariant was broken ([`E_UNEXPECTED`]).
    #[error("internal error: {0}")]
    Unexpected(String),
}

impl Error {
    /// The [`bg_hresult`] this error is reported as.
    pub fn code(&self) -> bg_hresult {
        match self {
            Error::InvalidArg(_) => E_INVALIDARG,
            Error::Handle => E_HANDLE,
            Error::InvalidState => BG_E_INVALID_STATE,
            Error::NotFound => BG_E_NOT_FOUND,
            Error::Empty => BG_E_EMPTY,
            Error::StringTooLong(_) => BG_E_STRING_TOO_LONG,
            Error::NotImpl(_) => E_NOTIMPL,
            Error::InsufficientBuffer { .. } => BG_E_INSUFFICIENT_BUFFER,
            Error::ErrorInformationUnavailable => BG_E_ERROR_INFORMATION_UNAVAILABLE,
            Error::Io { source, .. } => hresult_from_io(source),
            Error::Code { code, .. } => *code,
            Error::Unexpected(_) => E_UNEXPECTED,
        }
    }

    /// An [`Error::Io`] with a description of what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// An [`Error::Code`]: a specific code with a description.
    pub fn with_code(code: bg_hresult, message: impl Into<String>) -> Self {
        Error::Code {
            code,
            message: message.into(),
        }
    }
}

/// The crate-wide result type.
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Every `bg_hresult` constant of this module with its value from the spec.
    #[rustfmt::skip]
    const ALL: &[(&str, bg_hresult, u32)] = &[
        ("S_OK", S_OK, 0x00000000),
        ("S_FALSE", S_FALSE, 0x00000001),
        ("E_NOTIMPL", E_NOTIMPL, 0x80004001),
        ("E_NOINTERFACE", E_NOINTERFACE, 0x80004002),
        ("E_POINTER", E_POINTER, 0x80004003),
        ("E_ABORT", E_ABORT, 0x80004004),
        ("E_FAIL", E_FAIL, 0x80004005),
        ("E_PENDING", E_PENDING, 0x8000000A),
        ("E_UNEXPECTED", E_UNEXPECTED, 0x8000FFFF),
        ("E_ACCESSDENIED", E_ACCESSDENIED, 0x80070005),
        ("E_HANDLE", E_HANDLE, 0x80070006),
        ("E_OUTOFMEMORY", E_OUTOFMEMORY, 0x8007000E),
        ("E_INVALIDARG", E_INVALIDARG, 0x80070057),
        ("BG_S_ERROR_CONTEXT_NONE", BG_S_ERROR_CONTEXT_NONE, 0x00200006),
        ("BG_S_PARTIAL_COMPLETE", BG_S_PARTIAL_COMPLETE, 0x00200017),
        ("BG_S_UNABLE_TO_DELETE_FILES", BG_S_UNABLE_TO_DELETE_FILES, 0x0020001A),
        ("BG_S_PROXY_CHANGED", BG_S_PROXY_CHANGED, 0x0020002A),
        ("BG_S_OVERRIDDEN_BY_POLICY", BG_S_OVERRIDDEN_BY_POLICY, 0x00200055),
        ("BG_E_NOT_FOUND", BG_E_NOT_FOUND, 0x80200001),
        ("BG_E_INVALID_STATE", BG_E_INVALID_STATE, 0x80200002),
        ("BG_E_EMPTY", BG_E_EMPTY, 0x80200003),
        ("BG_E_FILE_NOT_AVAILABLE", BG_E_FILE_NOT_AVAILABLE, 0x80200004),
        ("BG_E_PROTOCOL_NOT_AVAILABLE", BG_E_PROTOCOL_NOT_AVAILABLE, 0x80200005),
        ("BG_E_ERROR_CONTEXT_UNKNOWN", BG_E_ERROR_CONTEXT_UNKNOWN, 0x80200007),
        ("BG_E_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER", BG_E_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER, 0x80200008),
        ("BG_E_ERROR_CONTEXT_LOCAL_FILE", BG_E_ERROR_CONTEXT_LOCAL_FILE, 0x80200009),
        ("BG_E_ERROR_CONTEXT_REMOTE_FILE", BG_E_ERROR_CONTEXT_REMOTE_FILE, 0x8020000A),
        ("BG_E_ERROR_CONTEXT_GENERAL_TRANSPORT", BG_E_ERROR_CONTEXT_GENERAL_TRANSPORT, 0x8020000B),
        ("BG_E_ERROR_CONTEXT_QUEUE_MANAGER_NOTIFICATION", BG_E_ERROR_CONTEXT_QUEUE_MANAGER_NOTIFICATION, 0x8020000C),
        ("BG_E_DESTINATION_LOCKED", BG_E_DESTINATION_LOCKED, 0x8020000D),
        ("BG_E_VOLUME_CHANGED", BG_E_VOLUME_CHANGED, 0x8020000E),
        ("BG_E_ERROR_INFORMATION_UNAVAILABLE", BG_E_ERROR_INFORMATION_UNAVAILABLE, 0x8020000F),
        ("BG_E_NETWORK_DISCONNECTED", BG_E_NETWORK_DISCONNECTED, 0x80200010),
        ("BG_E_MISSING_FILE_SIZE", BG_E_MISSING_FILE_SIZE, 0x80200011),
        ("BG_E_INSUFFICIENT_HTTP_SUPPORT", BG_E_INSUFFICIENT_HTTP_SUPPORT, 0x80200012),
        ("BG_E_INSUFFICIENT_RANGE_SUPPORT", BG_E_INSUFFICIENT_RANGE_SUPPORT, 0x80200013),
        ("BG_E_REMOTE_NOT_SUPPORTED", BG_E_REMOTE_NOT_SUPPORTED, 0x80200014),
        ("BG_E_NEW_OWNER_DIFF_MAPPING", BG_E_NEW_OWNER_DIFF_MAPPING, 0x80200015),
        ("BG_E_NEW_OWNER_NO_FILE_ACCESS", BG_E_NEW_OWNER_NO_FILE_ACCESS, 0x80200016),
        ("BG_E_PROXY_LIST_TOO_LARGE", BG_E_PROXY_LIST_TOO_LARGE, 0x80200018),
        ("BG_E_PROXY_BYPASS_LIST_TOO_LARGE", BG_E_PROXY_BYPASS_LIST_TOO_LARGE, 0x80200019),
        ("BG_E_INVALID_SERVER_RESPONSE", BG_E_INVALID_SERVER_RESPONSE, 0x8020001B),
        ("BG_E_TOO_MANY_FILES", BG_E_TOO_MANY_FILES, 0x8020001C),
        ("BG_E_LOCAL_FILE_CHANGED", BG_E_LOCAL_FILE_CHANGED, 0x8020001D),
        ("BG_E_ERROR_CONTEXT_REMOTE_APPLICATION", BG_E_ERROR_CONTEXT_REMOTE_APPLICATION, 0x8020001E),
        ("BG_E_SESSION_NOT_FOUND", BG_E_SESSION_NOT_FOUND, 0x8020001F),
        ("BG_E_TOO_LARGE", BG_E_TOO_LARGE, 0x80200020),
        ("BG_E_STRING_TOO_LONG", BG_E_STRING_TOO_LONG, 0x80200021),
        ("BG_E_CLIENT_SERVER_PROTOCOL_MISMATCH", BG_E_CLIENT_SERVER_PROTOCOL_MISMATCH, 0x80200022),
        ("BG_E_SERVER_EXECUTE_ENABLE", BG_E_SERVER_EXECUTE_ENABLE, 0x80200023),
        ("BG_E_NO_PROGRESS", BG_E_NO_PROGRESS, 0x80200024),
        ("BG_E_USERNAME_TOO_LARGE", BG_E_USERNAME_TOO_LARGE, 0x80200025),
        ("BG_E_PASSWORD_TOO_LARGE", BG_E_PASSWORD_TOO_LARGE, 0x80200026),
        ("BG_E_INVALID_AUTH_TARGET", BG_E_INVALID_AUTH_TARGET, 0x80200027),
        ("BG_E_INVALID_AUTH_SCHEME", BG_E_INVALID_AUTH_SCHEME, 0x80200028),
        ("BG_E_FILE_NOT_FOUND", BG_E_FILE_NOT_FOUND, 0x80200029),
        ("BG_E_INVALID_RANGE", BG_E_INVALID_RANGE, 0x8020002B),
        ("BG_E_OVERLAPPING_RANGES", BG_E_OVERLAPPING_RANGES, 0x8020002C),
        ("BG_E_CONNECT_FAILURE", BG_E_CONNECT_FAILURE, 0x8020002D),
        ("BG_E_CONNECTION_CLOSED", BG_E_CONNECTION_CLOSED, 0x8020002E),
        ("BG_E_BLOCKED_BY_POLICY", BG_E_BLOCKED_BY_POLICY, 0x8020003E),
        ("BG_E_INVALID_PROXY_INFO", BG_E_INVALID_PROXY_INFO, 0x8020003F),
        ("BG_E_INVALID_CREDENTIALS", BG_E_INVALID_CREDENTIALS, 0x80200040),
        ("BG_E_INVALID_HASH_ALGORITHM", BG_E_INVALID_HASH_ALGORITHM, 0x80200041),
        ("BG_E_RECORD_DELETED", BG_E_RECORD_DELETED, 0x80200042),
        ("BG_E_COMMIT_IN_PROGRESS", BG_E_COMMIT_IN_PROGRESS, 0x80200043),
        ("BG_E_DISCOVERY_IN_PROGRESS", BG_E_DISCOVERY_IN_PROGRESS, 0x80200044),
        ("BG_E_UPNP_ERROR", BG_E_UPNP_ERROR, 0x80200045),
        ("BG_E_TEST_OPTION_BLOCKED_DOWNLOAD", BG_E_TEST_OPTION_BLOCKED_DOWNLOAD, 0x80200046),
        ("BG_E_PEERCACHING_DISABLED", BG_E_PEERCACHING_DISABLED, 0x80200047),
        ("BG_E_BUSYCACHERECORD", BG_E_BUSYCACHERECORD, 0x80200048),
        ("BG_E_TOO_MANY_JOBS_PER_USER", BG_E_TOO_MANY_JOBS_PER_USER, 0x80200049),
        ("BG_E_TOO_MANY_JOBS_PER_MACHINE", BG_E_TOO_MANY_JOBS_PER_MACHINE, 0x80200050),
        ("BG_E_TOO_MANY_FILES_IN_JOB", BG_E_TOO_MANY_FILES_IN_JOB, 0x80200051),
        ("BG_E_TOO_MANY_RANGES_IN_FILE", BG_E_TOO_MANY_RANGES_IN_FILE, 0x80200052),
        ("BG_E_VALIDATION_FAILED", BG_E_VALIDATION_FAILED, 0x80200053),
        ("BG_E_MAXDOWNLOAD_TIMEOUT", BG_E_MAXDOWNLOAD_TIMEOUT, 0x80200054),
        ("BG_E_TOKEN_REQUIRED", BG_E_TOKEN_REQUIRED, 0x80200056),
        ("BG_E_UNKNOWN_PROPERTY_ID", BG_E_UNKNOWN_PROPERTY_ID, 0x80200057),
        ("BG_E_READ_ONLY_PROPERTY", BG_E_READ_ONLY_PROPERTY, 0x80200058),
        ("BG_E_BLOCKED_BY_COST_TRANSFER_POLICY", BG_E_BLOCKED_BY_COST_TRANSFER_POLICY, 0x80200059),
        ("BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY", BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY, 0x80200060),
        ("BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE", BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE, 0x80200061),
        ("BG_E_READ_ONLY_PROPERTY_AFTER_RESUME", BG_E_READ_ONLY_PROPERTY_AFTER_RESUME, 0x80200062),
        ("BG_E_MAX_DOWNLOAD_SIZE_INVALID_VALUE", BG_E_MAX_DOWNLOAD_SIZE_INVALID_VALUE, 0x80200063),
        ("BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED", BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED, 0x80200064),
        ("BG_E_STANDBY_MODE", BG_E_STANDBY_MODE, 0x80200065),
        ("BG_E_USE_STORED_CREDENTIALS_NOT_SUPPORTED", BG_E_USE_STORED_CREDENTIALS_NOT_SUPPORTED, 0x80200066),
        ("BG_E_BLOCKED_BY_BATTERY_POLICY", BG_E_BLOCKED_BY_BATTERY_POLICY, 0x80200067),
        ("BG_E_BLOCKED_BY_BATTERY_SAVER", BG_E_BLOCKED_BY_BATTERY_SAVER, 0x80200068),
        ("BG_E_WATCHDOG_TIMEOUT", BG_E_WATCHDOG_TIMEOUT, 0x80200069),
        ("BG_E_APP_PACKAGE_NOT_FOUND", BG_E_APP_PACKAGE_NOT_FOUND, 0x8020006A),
        ("BG_E_APP_PACKAGE_SCENARIO_NOT_SUPPORTED", BG_E_APP_PACKAGE_SCENARIO_NOT_SUPPORTED, 0x8020006B),
        ("BG_E_DATABASE_CORRUPT", BG_E_DATABASE_CORRUPT, 0x8020006C),
        ("BG_E_RANDOM_ACCESS_NOT_SUPPORTED", BG_E_RANDOM_ACCESS_NOT_SUPPORTED, 0x8020006D),
        ("BG_E_BLOCKED_BY_BACKGROUND_ACCESS_POLICY", BG_E_BLOCKED_BY_BACKGROUND_ACCESS_POLICY, 0x8020006E),
        ("BG_E_BLOCKED_BY_GAME_MODE", BG_E_BLOCKED_BY_GAME_MODE, 0x8020006F),
        ("BG_E_BLOCKED_BY_SYSTEM_POLICY", BG_E_BLOCKED_BY_SYSTEM_POLICY, 0x80200070),
        ("BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD", BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD, 0x80200071),
        ("BG_E_UNSUPPORTED_JOB_CONFIGURATION", BG_E_UNSUPPORTED_JOB_CONFIGURATION, 0x80200072),
        ("BG_E_REMOTE_FILE_CHANGED", BG_E_REMOTE_FILE_CHANGED, 0x80200073),
        ("BG_E_SERVER_CERT_VALIDATION_INTERFACE_REQUIRED", BG_E_SERVER_CERT_VALIDATION_INTERFACE_REQUIRED, 0x80200074),
        ("BG_E_READ_ONLY_WHEN_JOB_ACTIVE", BG_E_READ_ONLY_WHEN_JOB_ACTIVE, 0x80200075),
        ("BG_E_ERROR_CONTEXT_SERVER_CERTIFICATE_CALLBACK", BG_E_ERROR_CONTEXT_SERVER_CERTIFICATE_CALLBACK, 0x80200076),
        ("BG_E_SERVER_EXECUTE_ENABLED", BG_E_SERVER_EXECUTE_ENABLED, 0x80200023),
        ("BG_E_KEEP_ALIVE_FAILURE", BG_E_KEEP_ALIVE_FAILURE, 0x8020002F),
        ("BG_E_MESSAGE_LENGTH_LIMIT_EXCEEDED", BG_E_MESSAGE_LENGTH_LIMIT_EXCEEDED, 0x80200030),
        ("BG_E_NAME_RESOLUTION_FAILURE", BG_E_NAME_RESOLUTION_FAILURE, 0x80200031),
        ("BG_E_PENDING", BG_E_PENDING, 0x80200032),
        ("BG_E_PIPELINE_FAILURE", BG_E_PIPELINE_FAILURE, 0x80200033),
        ("BG_E_PROTOCOL_ERROR", BG_E_PROTOCOL_ERROR, 0x80200034),
        ("BG_E_PROXY_NAME_RESOLUTION_FAILURE", BG_E_PROXY_NAME_RESOLUTION_FAILURE, 0x80200035),
        ("BG_E_RECEIVE_FAILURE", BG_E_RECEIVE_FAILURE, 0x80200036),
        ("BG_E_REQUEST_CANCELED", BG_E_REQUEST_CANCELED, 0x80200037),
        ("BG_E_SECURE_CHANNEL_FAILURE", BG_E_SECURE_CHANNEL_FAILURE, 0x80200038),
        ("BG_E_SEND_FAILURE", BG_E_SEND_FAILURE, 0x80200039),
        ("BG_E_SERVER_PROTOCOL_VIOLATION", BG_E_SERVER_PROTOCOL_VIOLATION, 0x8020003A),
        ("BG_E_TIMEOUT", BG_E_TIMEOUT, 0x8020003B),
        ("BG_E_TRUST_FAILURE", BG_E_TRUST_FAILURE, 0x8020003C),
        ("BG_E_UNKNOWN_ERROR", BG_E_UNKNOWN_ERROR, 0x8020003D),
        ("BG_E_STORE_TOO_NEW", BG_E_STORE_TOO_NEW, 0x80200100),
        ("BG_E_STORE_CORRUPT", BG_E_STORE_CORRUPT, 0x80200101),
        ("BG_E_STATE_DIR_INVALID", BG_E_STATE_DIR_INVALID, 0x80200102),
        ("BG_E_RECURSIVE_CALL", BG_E_RECURSIVE_CALL, 0x80200103),
        ("BG_E_HASH_MISMATCH", BG_E_HASH_MISMATCH, 0x80200104),
        ("BG_E_UNSUPPORTED_PROTOCOL", BG_E_UNSUPPORTED_PROTOCOL, 0x80200105),
        ("BG_E_MANAGER_CLOSED", BG_E_MANAGER_CLOSED, 0x80200106),
        ("BG_E_HTTP_ERROR_100", BG_E_HTTP_ERROR_100, 0x80190064),
        ("BG_E_HTTP_ERROR_101", BG_E_HTTP_ERROR_101, 0x80190065),
        ("BG_E_HTTP_ERROR_200", BG_E_HTTP_ERROR_200, 0x801900C8),
        ("BG_E_HTTP_ERROR_201", BG_E_HTTP_ERROR_201, 0x801900C9),
        ("BG_E_HTTP_ERROR_202", BG_E_HTTP_ERROR_202, 0x801900CA),
        ("BG_E_HTTP_ERROR_203", BG_E_HTTP_ERROR_203, 0x801900CB),
        ("BG_E_HTTP_ERROR_204", BG_E_HTTP_ERROR_204, 0x801900CC),
        ("BG_E_HTTP_ERROR_205", BG_E_HTTP_ERROR_205, 0x801900CD),
        ("BG_E_HTTP_ERROR_206", BG_E_HTTP_ERROR_206, 0x801900CE),
        ("BG_E_HTTP_ERROR_300", BG_E_HTTP_ERROR_300, 0x8019012C),
        ("BG_E_HTTP_ERROR_301", BG_E_HTTP_ERROR_301, 0x8019012D),
        ("BG_E_HTTP_ERROR_302", BG_E_HTTP_ERROR_302, 0x8019012E),
        ("BG_E_HTTP_ERROR_303", BG_E_HTTP_ERROR_303, 0x8019012F),
        ("BG_E_HTTP_ERROR_304", BG_E_HTTP_ERROR_304, 0x80190130),
        ("BG_E_HTTP_ERROR_305", BG_E_HTTP_ERROR_305, 0x80190131),
        ("BG_E_HTTP_ERROR_307", BG_E_HTTP_ERROR_307, 0x80190133),
        ("BG_E_HTTP_ERROR_400", BG_E_HTTP_ERROR_400, 0x80190190),
        ("BG_E_HTTP_ERROR_401", BG_E_HTTP_ERROR_401, 0x80190191),
        ("BG_E_HTTP_ERROR_402", BG_E_HTTP_ERROR_402, 0x80190192),
        ("BG_E_HTTP_ERROR_403", BG_E_HTTP_ERROR_403, 0x80190193),
        ("BG_E_HTTP_ERROR_404", BG_E_HTTP_ERROR_404, 0x80190194),
        ("BG_E_HTTP_ERROR_405", BG_E_HTTP_ERROR_405, 0x80190195),
        ("BG_E_HTTP_ERROR_406", BG_E_HTTP_ERROR_406, 0x80190196),
        ("BG_E_HTTP_ERROR_407", BG_E_HTTP_ERROR_407, 0x80190197),
        ("BG_E_HTTP_ERROR_408", BG_E_HTTP_ERROR_408, 0x80190198),
        ("BG_E_HTTP_ERROR_409", BG_E_HTTP_ERROR_409, 0x80190199),
        ("BG_E_HTTP_ERROR_410", BG_E_HTTP_ERROR_410, 0x8019019A),
        ("BG_E_HTTP_ERROR_411", BG_E_HTTP_ERROR_411, 0x8019019B),
        ("BG_E_HTTP_ERROR_412", BG_E_HTTP_ERROR_412, 0x8019019C),
        ("BG_E_HTTP_ERROR_413", BG_E_HTTP_ERROR_413, 0x8019019D),
        ("BG_E_HTTP_ERROR_414", BG_E_HTTP_ERROR_414, 0x8019019E),
        ("BG_E_HTTP_ERROR_415", BG_E_HTTP_ERROR_415, 0x8019019F),
        ("BG_E_HTTP_ERROR_416", BG_E_HTTP_ERROR_416, 0x801901A0),
        ("BG_E_HTTP_ERROR_417", BG_E_HTTP_ERROR_417, 0x801901A1),
        ("BG_E_HTTP_ERROR_449", BG_E_HTTP_ERROR_449, 0x801901C1),
        ("BG_E_HTTP_ERROR_500", BG_E_HTTP_ERROR_500, 0x801901F4),
        ("BG_E_HTTP_ERROR_501", BG_E_HTTP_ERROR_501, 0x801901F5),
        ("BG_E_HTTP_ERROR_502", BG_E_HTTP_ERROR_502, 0x801901F6),
        ("BG_E_HTTP_ERROR_503", BG_E_HTTP_ERROR_503, 0x801901F7),
        ("BG_E_HTTP_ERROR_504", BG_E_HTTP_ERROR_504, 0x801901F8),
        ("BG_E_HTTP_ERROR_505", BG_E_HTTP_ERROR_505, 0x801901F9),
        ("BG_E_WIN32_FILE_NOT_FOUND", BG_E_WIN32_FILE_NOT_FOUND, 0x80070002),
        ("BG_E_WIN32_PATH_NOT_FOUND", BG_E_WIN32_PATH_NOT_FOUND, 0x80070003),
        ("BG_E_WIN32_TOO_MANY_OPEN_FILES", BG_E_WIN32_TOO_MANY_OPEN_FILES, 0x80070004),
        ("BG_E_WIN32_NOT_SAME_DEVICE", BG_E_WIN32_NOT_SAME_DEVICE, 0x80070011),
        ("BG_E_WIN32_WRITE_PROTECT", BG_E_WIN32_WRITE_PROTECT, 0x80070013),
        ("BG_E_WIN32_SHARING_VIOLATION", BG_E_WIN32_SHARING_VIOLATION, 0x80070020),
        ("BG_E_WIN32_DISK_FULL", BG_E_WIN32_DISK_FULL, 0x80070070),
        ("BG_E_INSUFFICIENT_BUFFER", BG_E_INSUFFICIENT_BUFFER, 0x8007007A),
        ("BG_E_WIN32_ALREADY_EXISTS", BG_E_WIN32_ALREADY_EXISTS, 0x800700B7),
        ("BG_E_WIN32_FILENAME_EXCED_RANGE", BG_E_WIN32_FILENAME_EXCED_RANGE, 0x800700CE),
        ("BG_E_WIN32_DIRECTORY", BG_E_WIN32_DIRECTORY, 0x8007010B),
        ("BG_E_WIN32_SERVICE_DISABLED", BG_E_WIN32_SERVICE_DISABLED, 0x80070422),
        ("BG_E_WIN32_IO_DEVICE", BG_E_WIN32_IO_DEVICE, 0x8007045D),
        ("BG_E_WIN32_CANCELLED", BG_E_WIN32_CANCELLED, 0x800704C7),
        ("BG_E_WIN32_RESOURCE_LANG_NOT_FOUND", BG_E_WIN32_RESOURCE_LANG_NOT_FOUND, 0x80070717),
        ("RPC_X_NULL_REF_POINTER", RPC_X_NULL_REF_POINTER, 0x800706F4),
        ("RPC_X_BAD_STUB_DATA", RPC_X_BAD_STUB_DATA, 0x800706F7),
        ("CRYPT_E_NOT_FOUND", CRYPT_E_NOT_FOUND, 0x80092004),
        ("BG_E_WINHTTP_CLIENT_AUTH_CERT_NEEDED", BG_E_WINHTTP_CLIENT_AUTH_CERT_NEEDED, 0x80072F0C),
        ("BG_E_WINHTTP_SECURE_CERT_REV_FAILED", BG_E_WINHTTP_SECURE_CERT_REV_FAILED, 0x80072F19),
        ("BG_E_WINHTTP_SECURE_CERT_REVOKED", BG_E_WINHTTP_SECURE_CERT_REVOKED, 0x80072F8A),
    ];

    fn text(code: bg_hresult) -> &'static str {
        message(code).to_str().expect("messages are ASCII/UTF-8")
    }

    fn is_generic(code: bg_hresult) -> bool {
        let m = message(code);
        m == UNKNOWN_ERROR || m == UNKNOWN_SUCCESS
    }

    #[test]
    fn values_match_spec() {
        for &(name, code, hex) in ALL {
            assert_eq!(code as u32, hex, "{name}");
        }
    }

    #[test]
    fn table_lists_every_constant() {
        let names: Vec<&str> = ALL.iter().map(|e| e.0).collect();
        let source = include_str!("hresult.rs");
        let mut count = 0;
        for line in source.lines() {
            let Some(rest) = line.strip_prefix("pub const ") else {
                continue;
            };
            let Some((name, tail)) = rest.split_once(':') else {
                continue;
            };
            let is_ident = name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if !is_ident || !tail.trim_start().starts_with("bg_hresult =") {
                continue;
            }
            count += 1;
            assert!(names.contains(&name), "{name} missing from ALL");
        }
        assert_eq!(count, ALL.len());
    }

    #[test]
    fn codes_are_unique() {
        let mut seen: HashMap<bg_hresult, &str> = HashMap::new();
        for &(name, code, _) in ALL {
            if let Some(other) = seen.insert(code, name) {
                let pair = [other, name];
                assert!(
                    pair.contains(&"BG_E_SERVER_EXECUTE_ENABLE")
                        && pair.contains(&"BG_E_SERVER_EXECUTE_ENABLED"),
                    "{other} and {name} share 0x{:08X}",
                    code as u32
                );
            }
        }
        assert_eq!(BG_E_SERVER_EXECUTE_ENABLED, BG_E_SERVER_EXECUTE_ENABLE);
    }

    #[test]
    fn signs_follow_names() {
        for &(name, code, _) in ALL {
            let is_error = name.contains("_E_")
                || name.starts_with("E_")
                || name.starts_with("RPC_X")
                || name.starts_with("CRYPT_E");
            let is_success = name.contains("_S_") || name.starts_with("S_");
            assert!(is_error != is_success, "{name}: ambiguous name");
            if is_error {
                assert!(failed(code) && !succeeded(code), "{name} must be negative");
            } else {
                assert!(succeeded(code) && !failed(code), "{name} must be >= 0");
            }
        }
    }

    #[test]
    fn own_codes_live_in_the_unused_bits_range() {
        for &(name, code, hex) in ALL {
            if (0x8020_0100..0x8020_0200).contains(&hex) {
                assert!(name.starts_with("BG_E_"), "{name}");
                assert!(failed(code));
            }
        }
        assert_eq!(BG_E_STORE_TOO_NEW as u32, 0x8020_0100);
        assert_eq!(BG_E_MANAGER_CLOSED as u32, 0x8020_0106);
    }

    #[test]
    fn every_constant_has_a_message() {
        for &(name, code, _) in ALL {
            assert!(!is_generic(code), "{name} has no specific message");
            let t = text(code);
            assert!(!t.is_empty(), "{name}");
            assert!(!t.ends_with('\n'), "{name}");
            assert!(t.ends_with('.'), "{name}: {t}");
        }
        assert_eq!(
            text(BG_E_HTTP_ERROR_404),
            "HTTP 404 Not Found: the requested URL does not exist on the server."
        );
        assert_eq!(text(S_OK), "The operation completed successfully.");
    }

    #[test]
    fn every_http_status_has_a_message() {
        for status in 100..=599u32 {
            let code = http_status_code(status);
            assert_eq!(code as u32, 0x8019_0000 | status);
            assert_eq!(http_status_of(code), Some(status));
            assert!(!is_generic(code), "{status}");
            assert!(text(code).contains(&status.to_string()), "{status}");
            // Same pointer every time: the text lives for the process.
            assert_eq!(message(code).as_ptr(), message(code).as_ptr());
        }
        assert_eq!(
            text(http_status_code(418)),
            "HTTP status 418 (I'm a teapot) from the server."
        );
        assert_eq!(
            text(http_status_code(499)),
            "HTTP status 499 from the server."
        );
        assert_eq!(http_status_code(99), BG_E_INVALID_SERVER_RESPONSE);
        assert_eq!(http_status_code(600), BG_E_INVALID_SERVER_RESPONSE);
        assert_eq!(http_status_of(BG_E_INVALID_STATE), None);
        assert_eq!(http_status_of(0x8019_0063u32 as i32), None);
        assert_eq!(http_status_of(0x8019_0258u32 as i32), None);
        assert_eq!(http_status_of(0x0019_0194), None);
        assert_eq!(
            http_reason_phrase(407),
            Some("Proxy Authentication Required")
        );
        assert_eq!(http_reason_phrase(499), None);
    }

    #[test]
    fn unknown_codes_get_generic_text() {
        for code in [
            0x8020_0006u32 as i32,
            0x8020_01FFu32 as i32,
            0x8019_0000u32 as i32,
            0x8019_0258u32 as i32,
            0x8019_4000u32 as i32,
            0xC000_0005u32 as i32,
            i32::MIN,
            -1,
        ] {
            assert_eq!(message(code), UNKNOWN_ERROR, "0x{:08X}", code as u32);
            assert_eq!(text(code), "Unknown error code.");
        }
        for code in [2, 0x0020_0001, 0x0019_0194, i32::MAX] {
            assert_eq!(text(code), "Unknown success code.", "0x{code:08X}");
        }
    }

    #[test]
    fn error_contexts() {
        let contexts = [
            BG_ERROR_CONTEXT_NONE,
            BG_ERROR_CONTEXT_UNKNOWN,
            BG_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER,
            BG_ERROR_CONTEXT_QUEUE_MANAGER_NOTIFICATION,
            BG_ERROR_CONTEXT_LOCAL_FILE,
            BG_ERROR_CONTEXT_REMOTE_FILE,
            BG_ERROR_CONTEXT_GENERAL_TRANSPORT,
            BG_ERROR_CONTEXT_REMOTE_APPLICATION,
            BG_ERROR_CONTEXT_SERVER_CERTIFICATE_CALLBACK,
        ];
        for (i, &ctx) in contexts.iter().enumerate() {
            assert_eq!(ctx, i as bg_error_context);
            let id = error_context_message_id(ctx).expect("known context");
            assert!(!is_generic(id));
        }
        assert_eq!(error_context_message_id(0), Some(BG_S_ERROR_CONTEXT_NONE));
        assert_eq!(
            error_context_message_id(4),
            Some(BG_E_ERROR_CONTEXT_LOCAL_FILE)
        );
        assert_eq!(
            error_context_message_id(3),
            Some(BG_E_ERROR_CONTEXT_QUEUE_MANAGER_NOTIFICATION)
        );
        assert_eq!(error_context_message_id(9), None);
        assert_eq!(error_context_message_id(-1), None);
    }

    #[test]
    fn io_errors_map_to_codes() {
        let os = |errno| hresult_from_io(&std::io::Error::from_raw_os_error(errno));
        assert_eq!(os(libc::ENOSPC), BG_E_WIN32_DISK_FULL);
        assert_eq!(os(libc::EDQUOT), BG_E_WIN32_DISK_FULL);
        assert_eq!(os(libc::EACCES), E_ACCESSDENIED);
        assert_eq!(os(libc::EPERM), E_ACCESSDENIED);
        assert_eq!(os(libc::EROFS), BG_E_WIN32_WRITE_PROTECT);
        assert_eq!(os(libc::ENOENT), BG_E_WIN32_PATH_NOT_FOUND);
        assert_eq!(os(libc::EISDIR), BG_E_WIN32_DIRECTORY);
        assert_eq!(os(libc::ELOOP), E_ACCESSDENIED);
        assert_eq!(os(libc::EXDEV), BG_E_WIN32_NOT_SAME_DEVICE);
        assert_eq!(os(libc::EIO), BG_E_WIN32_IO_DEVICE);
        assert_eq!(os(libc::EINTR), BG_E_WIN32_CANCELLED);
        assert_eq!(os(libc::EPIPE), E_FAIL);
        let kind = |k| hresult_from_io(&std::io::Error::from(k));
        assert_eq!(
            kind(std::io::ErrorKind::NotFound),
            BG_E_WIN32_PATH_NOT_FOUND
        );
        assert_eq!(kind(std::io::ErrorKind::PermissionDenied), E_ACCESSDENIED);
        assert_eq!(kind(std::io::ErrorKind::OutOfMemory), E_OUTOFMEMORY);
        assert_eq!(kind(std::io::ErrorKind::Other), E_FAIL);
        // A real failure from the file system.
        let err = std::fs::File::open("/nonexistent-bgcopy-dir/x").unwrap_err();
        assert_eq!(hresult_from_io(&err), BG_E_WIN32_PATH_NOT_FOUND);
    }

    #[test]
    fn error_codes_per_variant() {
        let cases: Vec<(Error, bg_hresult)> = vec![
            (Error::InvalidArg("url"), E_INVALIDARG),
            (Error::Handle, E_HANDLE),
            (Error::InvalidState, BG_E_INVALID_STATE),
            (Error::NotFound, BG_E_NOT_FOUND),
            (Error::Empty, BG_E_EMPTY),
            (Error::StringTooLong("display name"), BG_E_STRING_TOO_LONG),
            (Error::NotImpl("priority"), E_NOTIMPL),
            (
                Error::InsufficientBuffer { needed: 12 },
                BG_E_INSUFFICIENT_BUFFER,
            ),
            (
                Error::ErrorInformationUnavailable,
                BG_E_ERROR_INFORMATION_UNAVAILABLE,
            ),
            (
                Error::io("writing", std::io::Error::from_raw_os_error(libc::ENOSPC)),
                BG_E_WIN32_DISK_FULL,
            ),
            (
                Error::with_code(BG_E_HASH_MISMATCH, "bad hash"),
                BG_E_HASH_MISMATCH,
            ),
            (Error::Unexpected("oops".into()), E_UNEXPECTED),
        ];
        for (err, code) in &cases {
            assert_eq!(err.code(), *code, "{err:?}");
            assert!(!err.to_string().is_empty());
        }
        assert_eq!(
            Error::InsufficientBuffer { needed: 12 }.to_string(),
            "buffer too small: 12 bytes needed"
        );
        let io = Error::io(
            "creating /x",
            std::io::Error::from_raw_os_error(libc::EACCES),
        );
        assert!(io.to_string().starts_with("creating /x: "));
        assert!(std::error::Error::source(&io).is_some());
        assert_eq!(Error::with_code(E_ABORT, "stopped").to_string(), "stopped");
    }

    #[test]
    fn success_helpers() {
        assert!(succeeded(S_OK) && succeeded(S_FALSE) && succeeded(BG_S_PARTIAL_COMPLETE));
        assert!(failed(E_FAIL) && failed(BG_E_HTTP_ERROR_500) && !failed(S_OK));
    }
}
