//! What a failure means for a job (spec §2.2 T12–T17, §2.6, §4.5, §4.6): the code and context
//! of an HTTP status or a libcurl error, whether a retry may help, and when to retry.

use crate::hresult::{
    bg_hresult, http_status_code, BG_ERROR_CONTEXT_GENERAL_TRANSPORT, BG_ERROR_CONTEXT_REMOTE_FILE,
    BG_E_CONNECTION_CLOSED, BG_E_CONNECT_FAILURE, BG_E_INVALID_SERVER_RESPONSE,
    BG_E_NAME_RESOLUTION_FAILURE, BG_E_PROXY_NAME_RESOLUTION_FAILURE, BG_E_RECEIVE_FAILURE,
    BG_E_SECURE_CHANNEL_FAILURE, BG_E_SEND_FAILURE, BG_E_SERVER_PROTOCOL_VIOLATION, BG_E_TIMEOUT,
    BG_E_TRUST_FAILURE, BG_E_UNKNOWN_ERROR, BG_E_UNSUPPORTED_PROTOCOL,
};

/// A classified failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failure {
    /// `BG_ERROR_CONTEXT_*`.
    pub context: i32,
    /// The HRESULT.
    pub code: bg_hresult,
    /// TRANSIENT_ERROR (retried) rather than ERROR.
    pub transient: bool,
}

/// An HTTP status that ended a request (spec §4.5–4.6): `BG_E_HTTP_ERROR_nnn` in the
/// REMOTE_FILE context; 5xx (but 501, 505), 408, 409 and 429 are transient; other 4xx, 501,
/// 505 and the unhandled redirects 300–305 and 307 are fatal; anything else unexpected is
/// transient.
pub fn http_status(status: u32) -> Failure {
    let transient = match status {
        501 | 505 => false,
        500..=599 => true,
        408 | 409 | 429 => true,
        400..=499 => false,
        300..=305 | 307 => false,
        _ => true,
    };
    Failure {
        context: BG_ERROR_CONTEXT_REMOTE_FILE,
        code: http_status_code(status),
        transient,
    }
}

/// A libcurl error code (`CURLcode`) that ended a transfer. Connection and timeout failures are
/// transient; a certificate the job does not accept, a refused redirect or an unsupported
/// protocol are fatal.
pub fn curl_code(code: u32) -> Failure {
    let (context, hr, transient) = match code {
        1 | 4 => (
            BG_ERROR_CONTEXT_GENERAL_TRANSPORT,
            BG_E_UNSUPPORTED_PROTOCOL,
            false,
        ), // unsupported protocol / not built in
        5 => (
            BG_ERROR_CONTEXT_GENERAL_TRANSPORT,
            BG_E_PROXY_NAME_RESOLUTION_FAILURE,
            true,
        ),
        6 => (
            BG_ERROR_CONTEXT_GENERAL_TRANSPORT,
            BG_E_NAME_RESOLUTION_FAILURE,
            true,
        ),
        7 => (
            BG_ERROR_CONTEXT_GENERAL_TRANSPORT,
            BG_E_CONNECT_FAILURE,
            true,
        ),
        8 | 8_000..=8_999 => (
            BG_ERROR_CONTEXT_REMOTE_FILE,
            BG_E_SERVER_PROTOCOL_VIOLATION,
            true,
        ), // weird server reply
        16 | 92 => (
            BG_ERROR_CONTEXT_GENERAL_TRANSPORT,
            BG_E_SERVER_PROTOCOL_VIOLATION,
            true,
        ), // HTTP/2, HTTP/3 framing
        18 => (BG_ERROR_CONTEXT_REMOTE_FILE, BG_E_CONNECTION_CLOSED, true), // partial file: body shorter than announced
        28 => (BG_ERROR_CONTEXT_GENERAL_TRANSPORT, BG_E_TIMEOUT, true),
        35 => (
            BG_ERROR_CONTEXT_GENERAL_TRANSPORT,
            BG_E_SECURE_CHANNEL_FAILURE,
            true,
        ),
        47 => (
            BG_ERROR_CONTEXT_REMOTE_FILE,
            BG_E_INVALID_SERVER_RESPONSE,
            false,
        ), // too many redirects
        52 => (
            BG_ERROR_CONTEXT_GENERAL_TRANSPORT,
            BG_E_CONNECTION_CLOSED,
            true,
        ), // empty reply
        55 => (BG_ERROR_CONTEXT_GENERAL_TRANSPORT, BG_E_SEND_FAILURE, true),
        56 => (
            BG_ERROR_CONTEXT_GENERAL_TRANSPORT,
            BG_E_RECEIVE_FAILURE,
            true,
        ),
        58 | 59 | 60 | 77 | 80 | 83 | 90 | 91 => (
            BG_ERROR_CONTEXT_GENERAL_TRANSPORT,
            BG_E_TRUST_FAILURE,
            false,
        ),
        _ => (BG_ERROR_CONTEXT_GENERAL_TRANSPORT, BG_E_UNKNOWN_ERROR, true),
    };
    Failure {
        context,
        code: hr,
        transient,
    }
}

/// The job properties and engine settings a retry decision needs.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// The job's MinimumRetryDelay, seconds.
    pub min_retry_delay_s: u32,
    /// The job's NoProgressTimeout, seconds.
    pub no_progress_timeout_s: u32,
    /// The manager's floor under every retry delay, ms (BITS: 5 s).
    pub floor_ms: u64,
}

/// What to do after a transient failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryDecision {
    /// Stay in TRANSIENT_ERROR and retry after this many ms.
    RetryAfterMs(u64),
    /// Go to ERROR now (T14–T16).
    Fatal,
}

/// Decides between a retry and ERROR for a transient failure (T13–T16): NoProgressTimeout 0
/// makes every error fatal; a retry delay longer than the time left before NoProgressTimeout
/// expires means no retry at all; otherwise retry after max(MinimumRetryDelay, floor,
/// Retry-After).
pub fn decide(policy: RetryPolicy, stalled_ms: u64, retry_after_s: Option<u64>) -> RetryDecision {
    if policy.no_progress_timeout_s == 0 {
        return RetryDecision::Fatal;
    }
    let timeout_ms = u64::from(policy.no_progress_timeout_s) * 1000;
    let delay = (u64::from(policy.min_retry_delay_s) * 1000)
        .max(policy.floor_ms)
        .max(retry_after_s.unwrap_or(0).saturating_mul(1000));
    if stalled_ms >= timeout_ms || stalled_ms.saturating_add(delay) > timeout_ms {
        return RetryDecision::Fatal;
    }
    RetryDecision::RetryAfterMs(delay)
}

/// Parses a `Retry-After` value: delta-seconds, or an HTTP date (returns the seconds from
/// `now_unix_s`, 0 when in the past). `None` when unparsable.
pub fn parse_retry_after(value: &str, now_unix_s: i64) -> Option<u64> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(seconds);
    }
    let when = httpdate::parse_http_date(value).ok()?;
    let when = when.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs() as i64;
    Some(when.saturating_sub(now_unix_s).max(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hresult::*;

    #[test]
    fn http_classification() {
        assert_eq!(
            http_status(404),
            Failure {
                context: BG_ERROR_CONTEXT_REMOTE_FILE,
                code: BG_E_HTTP_ERROR_404,
                transient: false
            }
        );
        assert!(!http_status(401).transient);
        assert!(!http_status(403).transient);
        assert!(http_status(500).transient);
        assert!(http_status(503).transient);
        assert!(!http_status(501).transient);
        assert!(!http_status(505).transient);
        assert!(http_status(408).transient);
        assert!(http_status(429).transient);
        assert!(!http_status(302).transient);
        assert!(http_status(308).transient);
        assert!(http_status(204).transient);
        assert_eq!(http_status(503).code, BG_E_HTTP_ERROR_503);
    }

    #[test]
    fn curl_classification() {
        assert_eq!(curl_code(7).code, BG_E_CONNECT_FAILURE);
        assert!(curl_code(7).transient);
        assert!(curl_code(28).transient);
        assert!(curl_code(18).transient);
        assert!(!curl_code(60).transient);
        assert!(!curl_code(47).transient);
    }

    #[test]
    fn retry_decisions() {
        let p = RetryPolicy {
            min_retry_delay_s: 600,
            no_progress_timeout_s: 1_209_600,
            floor_ms: 5000,
        };
        assert_eq!(decide(p, 0, None), RetryDecision::RetryAfterMs(600_000));
        let fast = RetryPolicy {
            min_retry_delay_s: 0,
            no_progress_timeout_s: 60,
            floor_ms: 50,
        };
        assert_eq!(decide(fast, 0, None), RetryDecision::RetryAfterMs(50));
        assert_eq!(decide(fast, 0, Some(2)), RetryDecision::RetryAfterMs(2000));
        assert_eq!(decide(fast, 60_000, None), RetryDecision::Fatal);
        assert_eq!(
            decide(
                RetryPolicy {
                    no_progress_timeout_s: 0,
                    ..fast
                },
                0,
                None
            ),
            RetryDecision::Fatal
        );
        // T15: a delay longer than NoProgressTimeout means no retry at all.
        assert_eq!(
            decide(
                RetryPolicy {
                    min_retry_delay_s: 120,
                    no_progress_timeout_s: 60,
                    floor_ms: 0
                },
                0,
                None
            ),
            RetryDecision::Fatal
        );
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after(" 7 ", 0), Some(7));
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 1970 00:01:40 GMT", 40),
            Some(60)
        );
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 1970 00:01:40 GMT", 400),
            Some(0)
        );
        assert_eq!(parse_retry_after("soon", 0), None);
    }
}
