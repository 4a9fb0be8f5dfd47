//! HTTP(S) downloads through libcurl: one request of one file, resumed with `Range` and guarded
//! by `If-Range`, written straight into the file's temp file.
//!
//! This module builds the request and reads the response; it never decides job states. The
//! engine drives many of these at once on one thread through curl's multi interface and hears
//! about bytes through a [`Sink`].

use super::TransferError;
use crate::hresult::{
    hresult_from_io, BG_ERROR_CONTEXT_LOCAL_FILE, BG_ERROR_CONTEXT_REMOTE_FILE,
    BG_E_CONNECTION_CLOSED, BG_E_INVALID_SERVER_RESPONSE,
};
use crate::model::retry::{self, Failure};
use crate::model::Validator;
use curl::easy::{Easy2, Handler, List, WriteError};
use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::time::Instant;

/// `BG_SSL_IGNORE_CERT_CN_INVALID`: accept a certificate for another host name.
pub(crate) const SSL_IGNORE_CERT_CN_INVALID: u32 = 0x2;
/// `BG_SSL_IGNORE_UNKNOWN_CA`: accept a certificate from an unknown authority (disables every
/// certificate-chain check, dates included: libcurl cannot separate them).
pub(crate) const SSL_IGNORE_UNKNOWN_CA: u32 = 0x8;
/// `BG_HTTP_REDIRECT_POLICY_ALLOW_REPORT`: follow, and rewrite the remote name to the final URL.
pub(crate) const REDIRECT_ALLOW_REPORT: u32 = 0x0100;
/// `BG_HTTP_REDIRECT_POLICY_DISALLOW`: a redirect is a fatal error.
pub(crate) const REDIRECT_DISALLOW: u32 = 0x0200;
/// `BG_HTTP_REDIRECT_POLICY_MASK`.
pub(crate) const REDIRECT_MASK: u32 = 0x0700;
/// `BG_HTTP_REDIRECT_POLICY_ALLOW_HTTPS_TO_HTTP`: allow a redirect from https to http.
pub(crate) const REDIRECT_ALLOW_HTTPS_TO_HTTP: u32 = 0x0800;
/// Every security flag bgcopy implements.
pub(crate) const SUPPORTED_SECURITY_FLAGS: u32 = SSL_IGNORE_CERT_CN_INVALID
    | SSL_IGNORE_UNKNOWN_CA
    | REDIRECT_ALLOW_REPORT
    | REDIRECT_DISALLOW
    | REDIRECT_ALLOW_HTTPS_TO_HTTP;

/// Redirects followed at most (WinHTTP's default).
const MAX_REDIRECTS: u32 = 10;
/// libcurl's receive buffer: large, so a fast transfer costs few callbacks.
const BUFFER_SIZE: usize = 512 * 1024;
/// The receive buffer for a file expected to be smaller than [`SMALL_FILE`] (libcurl's default
/// size). libcurl 7.88 allocates its buffer for each transfer and frees it at the end, and glibc
/// hands a freed block of 64 KiB or more in a thread's arena back to the kernel (`madvise`):
/// with the large buffer every small file paid that call and the page faults of touching the
/// buffer again, about a tenth of the HTTP thread's time on 4 KiB files.
const SMALL_BUFFER_SIZE: usize = 16 * 1024;
/// Files expected to be smaller than this get [`SMALL_BUFFER_SIZE`].
const SMALL_FILE: u64 = 64 * 1024;

/// What the engine hears while a response arrives.
pub trait Sink: Send {
    /// The body of an accepted response starts at byte `start` of the file (0 when the file
    /// restarts); `total` is the file's size when the server said; `validator` identifies
    /// the version being received.
    fn begin(&mut self, start: u64, total: Option<u64>, validator: &Validator);
    /// The temp file now holds `pos` bytes. Returns `false` when the transfer must stop.
    fn progress(&mut self, pos: u64) -> bool;
    /// Whether `n` more bytes may be written now (bandwidth limits); `false` pauses the
    /// transfer until [`Sink::ready`] says it may go on.
    fn admit(&mut self, n: usize) -> bool;
    /// Whether a paused transfer may go on.
    fn ready(&self) -> bool;
}

/// One request.
pub struct Request {
    /// The URL.
    pub url: String,
    /// Bytes already in the temp file that this request continues.
    pub offset: u64,
    /// The version those bytes belong to (sent as `If-Range`), required when `offset` > 0.
    pub validator: Option<Validator>,
    /// `BG_SSL_*` and `BG_HTTP_REDIRECT_POLICY_*` flags.
    pub security_flags: u32,
    /// Connect timeout, ms.
    pub connect_timeout_ms: u64,
    /// The size the file is expected to have (learned by an earlier request, or the size of
    /// the job's previous file), which picks the receive buffer; `None`: unknown.
    pub size_hint: Option<u64>,
}

/// A parsed `Content-Range`: the byte range (`None` for `bytes */total`) and the total (`None`
/// for `*`).
type ContentRange = (Option<(u64, u64)>, Option<u64>);

#[derive(Default, Debug)]
struct Head {
    status: u32,
    content_length: Option<u64>,
    /// `Content-Range: bytes a-b/total` (`total` None for `*`), or `bytes */total` as (None).
    content_range: Option<ContentRange>,
    etag: Option<String>,
    last_modified: Option<String>,
    retry_after: Option<String>,
}

/// How a response ended, for the engine.
#[derive(Debug)]
pub enum Outcome {
    /// The file is whole: `size` bytes; `final_url` when a redirect was followed.
    Done {
        /// Bytes in the file.
        size: u64,
        /// The URL the body came from (after redirects).
        final_url: Option<String>,
    },
    /// The server sent another version or an unusable range: request again from byte 0 at once.
    Restart,
    /// The engine stopped it (Suspend, Cancel, Complete, shutdown, stall).
    Stopped,
    /// It failed.
    Failed(TransferError),
}

/// The libcurl handler of one request: parses the head, writes the body into the temp file.
pub struct Download {
    url: String,
    file: File,
    requested: u64,
    expected_size: Option<u64>,
    pos: u64,
    head: Head,
    accepted: bool,
    restart: bool,
    stopped: bool,
    local_error: Option<std::io::Error>,
    last_activity: Instant,
    paused: bool,
    sink: Box<dyn Sink>,
}

impl Download {
    /// When bytes (or headers) last arrived: the engine's stall detector reads this.
    pub fn last_activity(&self) -> Instant {
        self.last_activity
    }

    /// Whether the transfer is paused by a bandwidth limit (not stalled).
    pub fn paused(&self) -> bool {
        self.paused
    }

    /// If paused and the limits allow it again, marks it running; the caller then unpauses
    /// the libcurl handle. Paused time does not count as a stall.
    pub fn try_resume(&mut self) -> bool {
        if self.paused && self.sink.ready() {
            self.paused = false;
            self.last_activity = Instant::now();
            return true;
        }
        false
    }

    fn validator(&self, total: Option<u64>) -> Validator {
        Validator {
            size: total,
            etag: self.head.etag.clone(),
            last_modified: self.head.last_modified.clone(),
        }
    }

    /// Decides, at the first byte of a body, whether it continues the file, restarts it, or is
    /// an error to be reported after the transfer. Returns whether to write it.
    fn accept(&mut self) -> bool {
        let h = &self.head;
        match h.status {
            200 => {
                // A full body: the server ignored the range or the If-Range validator changed.
                // Take it from byte 0, never spliced onto the old bytes.
                if self.requested > 0 || self.pos > 0 {
                    if let Err(e) = self
                        .file
                        .set_len(0)
                        .and_then(|_| self.file.seek(SeekFrom::Start(0)).map(|_| ()))
                    {
                        self.local_error = Some(e);
                        return false;
                    }
                    self.pos = 0;
                }
                let total = h.content_length;
                let v = self.validator(total);
                self.sink.begin(0, total, &v);
                true
            }
            206 => match h.content_range {
                Some((Some((start, _end)), total)) if start == self.requested => {
                    if let (Some(expected), Some(total)) = (self.expected_size, total) {
                        if expected != total {
                            self.restart = true;
                            return false;
                        }
                    }
                    let v = self.validator(total);
                    self.sink.begin(start, total, &v);
                    true
                }
                _ => {
                    self.restart = true;
                    false
                }
            },
            _ => false,
        }
    }

    /// Classifies the finished transfer.
    pub fn finish(
        &mut self,
        result: Result<(), curl::Error>,
        final_url: Option<String>,
    ) -> Outcome {
        if self.stopped {
            return Outcome::Stopped;
        }
        if let Some(e) = self.local_error.take() {
            return Outcome::Failed(TransferError {
                context: BG_ERROR_CONTEXT_LOCAL_FILE,
                code: hresult_from_io(&e),
                transient: false,
                description: format!("cannot write the temp file for {}: {e}", redact(&self.url)),
                retry_after_s: None,
            });
        }
        if self.restart {
            return Outcome::Restart;
        }
        let status = self.head.status;
        // 416 on a resume of a file that is already whole: done, once the size checks out.
        if status == 416 && self.requested > 0 {
            return match self.head.content_range {
                Some((None, Some(total)))
                    if Some(total) == self.expected_size && total == self.requested =>
                {
                    Outcome::Done {
                        size: total,
                        final_url,
                    }
                }
                _ => Outcome::Restart,
            };
        }
        if status != 0 && status != 200 && status != 206 {
            let mut failure = retry::http_status(status);
            // A redirect that ends the request was refused (policy, loop, https → http):
            // retrying cannot help.
            if (300..400).contains(&status) {
                failure.transient = false;
            }
            let mut err =
                TransferError::new(failure, format!("HTTP {status} from {}", redact(&self.url)));
            err.retry_after_s = self
                .head
                .retry_after
                .as_deref()
                .and_then(|v| retry::parse_retry_after(v, crate::model::now_ms() / 1000));
            return Outcome::Failed(err);
        }
        match result {
            Err(e) => {
                let extra = e
                    .extra_description()
                    .map(|d| format!(": {d}"))
                    .unwrap_or_default();
                Outcome::Failed(TransferError::new(
                    #[allow(clippy::unnecessary_cast)] // CURLcode is not u32 on every platform
                    retry::curl_code(e.code() as u32),
                    format!("{}{extra} ({})", e.description(), redact(&self.url)),
                ))
            }
            Ok(()) if !self.accepted => {
                // An empty 200/206 body: accept it now (zero-length files have no write call).
                if self.accept() {
                    self.finish_ok(final_url)
                } else if self.restart {
                    Outcome::Restart
                } else {
                    Outcome::Failed(TransferError::new(
                        Failure {
                            context: BG_ERROR_CONTEXT_REMOTE_FILE,
                            code: BG_E_INVALID_SERVER_RESPONSE,
                            transient: true,
                        },
                        format!("unexpected response from {}", redact(&self.url)),
                    ))
                }
            }
            Ok(()) => self.finish_ok(final_url),
        }
    }

    fn finish_ok(&mut self, final_url: Option<String>) -> Outcome {
        let expected_end = match (self.head.status, self.head.content_range) {
            (206, Some((_, Some(total)))) => Some(total),
            (206, Some((Some((_, end)), None))) => Some(end + 1),
            _ => self.head.content_length,
        };
        if let Some(total) = expected_end {
            if self.pos != total {
                return Outcome::Failed(TransferError::new(
                    Failure {
                        context: BG_ERROR_CONTEXT_REMOTE_FILE,
                        code: BG_E_CONNECTION_CLOSED,
                        transient: true,
                    },
                    format!(
                        "the connection closed after {} of {total} bytes ({})",
                        self.pos,
                        redact(&self.url)
                    ),
                ));
            }
        }
        if let Err(e) = self.file.flush() {
            self.local_error = Some(e);
            return self.finish(Ok(()), final_url);
        }
        Outcome::Done {
            size: self.pos,
            final_url,
        }
    }
}

impl Handler for Download {
    fn header(&mut self, data: &[u8]) -> bool {
        let line = trim_ascii(data);
        if line.is_empty() {
            // The end of a head: one clock read per response, not one per header line (a
            // head arrives in one piece in practice; a stall inside one still shows).
            self.last_activity = Instant::now();
            return true;
        }
        if let Some(rest) = line.strip_prefix(b"HTTP/") {
            self.last_activity = Instant::now();
            // A new response (after a redirect or a 100 Continue): forget the previous head.
            self.head = Head::default();
            self.head.status = rest
                .split(u8::is_ascii_whitespace)
                .filter(|w| !w.is_empty())
                .nth(1)
                .and_then(|s| std::str::from_utf8(s).ok()?.parse().ok())
                .unwrap_or(0);
            return true;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return true;
        };
        let name = trim_ascii(&line[..colon]);
        // Header values are ASCII in practice; anything else is kept, replaced, not refused.
        let value = || String::from_utf8_lossy(trim_ascii(&line[colon + 1..]));
        let is = |h: &str| name.eq_ignore_ascii_case(h.as_bytes());
        if is("content-length") {
            self.head.content_length = value().parse().ok();
        } else if is("content-range") {
            self.head.content_range = parse_content_range(&value());
        } else if is("etag") {
            self.head.etag = Some(value().into_owned());
        } else if is("last-modified") {
            self.head.last_modified = Some(value().into_owned());
        } else if is("retry-after") {
            self.head.retry_after = Some(value().into_owned());
        }
        true
    }

    fn write(&mut self, data: &[u8]) -> Result<usize, WriteError> {
        self.last_activity = Instant::now();
        if !self.accepted {
            if !self.accept() {
                return Ok(0);
            }
            self.accepted = true;
        }
        if !self.sink.admit(data.len()) {
            self.paused = true;
            return Err(WriteError::Pause);
        }
        if let Err(e) = self.file.write_all(data) {
            self.local_error = Some(e);
            return Ok(0);
        }
        self.pos += data.len() as u64;
        if !self.sink.progress(self.pos) {
            self.stopped = true;
            return Ok(0);
        }
        Ok(data.len())
    }
}

/// `bytes` without leading and trailing ASCII white space (`<[u8]>::trim_ascii` needs Rust
/// 1.80; the crate's minimum is 1.77).
fn trim_ascii(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    &bytes[start..end.max(start)]
}

/// Parses `bytes a-b/total`, `bytes a-b/*` and `bytes */total`.
fn parse_content_range(value: &str) -> Option<ContentRange> {
    let rest = value.strip_prefix("bytes")?.trim_start();
    let (range, total) = rest.split_once('/')?;
    let total = if total.trim() == "*" {
        None
    } else {
        Some(total.trim().parse().ok()?)
    };
    if range.trim() == "*" {
        return Some((None, total));
    }
    let (a, b) = range.trim().split_once('-')?;
    let (a, b) = (a.parse().ok()?, b.parse().ok()?);
    (a <= b).then_some((Some((a, b)), total))
}

/// The URL without user name and password, for error descriptions.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        _ => url.to_string(),
    }
}

/// A libcurl handle that is kept for the next request when one ends: reusing handles keeps
/// libcurl's receive buffer and per-handle caches, which matters when files are small. It
/// holds the [`Download`] of the request it runs, or nothing between requests.
pub struct Slot(Option<Download>);

impl Slot {
    /// A handle with no request, to be set up by [`prepare`].
    pub fn handle() -> Easy2<Slot> {
        Easy2::new(Slot(None))
    }

    /// The request this handle runs.
    pub fn download(&mut self) -> Option<&mut Download> {
        self.0.as_mut()
    }

    /// Ends the request: drops its [`Download`], which closes the temp file.
    pub fn clear(&mut self) -> Option<Download> {
        self.0.take()
    }

    /// Whether the request is paused by a bandwidth limit.
    pub fn paused(&self) -> bool {
        self.0.as_ref().is_some_and(Download::paused)
    }

    /// When bytes (or headers) of the request last arrived.
    pub fn last_activity(&self) -> Option<Instant> {
        self.0.as_ref().map(Download::last_activity)
    }
}

impl Handler for Slot {
    fn header(&mut self, data: &[u8]) -> bool {
        self.0.as_mut().map_or(true, |d| d.header(data))
    }

    fn write(&mut self, data: &[u8]) -> Result<usize, WriteError> {
        match self.0.as_mut() {
            Some(d) => d.write(data),
            None => Ok(0),
        }
    }
}

/// Sets `easy` (new or used before) up for one request that writes into `file` (positioned
/// by the caller at `req.offset`). Every option is set again after a reset, so nothing of the
/// previous request (a range, a redirect policy, TLS flags) carries over.
pub fn prepare(
    easy: &mut Easy2<Slot>,
    req: &Request,
    file: File,
    sink: Box<dyn Sink>,
) -> Result<(), curl::Error> {
    let expected_size = req.validator.as_ref().and_then(|v| v.size);
    easy.reset();
    let buffer_size = match req.size_hint {
        Some(size) if size < SMALL_FILE => SMALL_BUFFER_SIZE,
        _ => BUFFER_SIZE,
    };
    if easy.buffer_size(buffer_size).is_err() {
        // libcurl refuses a new buffer size while it still holds the last request's buffer
        // (a request that ended inside a redirect does not free it): use a fresh handle.
        *easy = Slot::handle();
        easy.buffer_size(buffer_size)?;
    }
    easy.get_mut().0 = Some(Download {
        url: req.url.clone(),
        file,
        requested: req.offset,
        expected_size,
        pos: req.offset,
        head: Head::default(),
        accepted: false,
        restart: false,
        stopped: false,
        local_error: None,
        last_activity: Instant::now(),
        paused: false,
        sink,
    });
    easy.url(&req.url)?;
    easy.useragent(concat!("bgcopy/", env!("CARGO_PKG_VERSION")))?;
    easy.connect_timeout(std::time::Duration::from_millis(
        req.connect_timeout_ms.max(1),
    ))?;
    easy.tcp_nodelay(true)?;
    easy.signal(false)?;
    let mut headers = List::new();
    headers.append("Accept-Encoding: identity")?;
    if req.offset > 0 {
        easy.range(&format!("{}-", req.offset))?;
        if let Some(v) = req.validator.as_ref().and_then(|v| v.if_range()) {
            headers.append(&format!("If-Range: {v}"))?;
        }
    }
    easy.http_headers(headers)?;
    let policy = req.security_flags & REDIRECT_MASK;
    easy.follow_location(policy != REDIRECT_DISALLOW)?;
    easy.max_redirections(MAX_REDIRECTS)?;
    let https_origin = req
        .url
        .get(..6)
        .is_some_and(|s| s.eq_ignore_ascii_case("https:"));
    let allowed = if https_origin && req.security_flags & REDIRECT_ALLOW_HTTPS_TO_HTTP == 0 {
        "https"
    } else {
        "http,https"
    };
    set_redir_protocols(easy, allowed)?;
    easy.ssl_verify_peer(req.security_flags & SSL_IGNORE_UNKNOWN_CA == 0)?;
    easy.ssl_verify_host(req.security_flags & SSL_IGNORE_CERT_CN_INVALID == 0)?;
    Ok(())
}

fn set_redir_protocols(easy: &mut Easy2<Slot>, protocols: &str) -> Result<(), curl::Error> {
    let value = std::ffi::CString::new(protocols).expect("no NUL in protocol list");
    // CURLOPT_REDIR_PROTOCOLS_STR = CURLOPTTYPE_STRINGPOINT (10000) + 319 (libcurl 7.85+).
    const CURLOPT_REDIR_PROTOCOLS_STR: curl_sys::CURLoption = 10_319;
    // SAFETY: a valid easy handle and a NUL-terminated string libcurl copies.
    let rc = unsafe {
        curl_sys::curl_easy_setopt(easy.raw(), CURLOPT_REDIR_PROTOCOLS_STR, value.as_ptr())
    };
    if rc == curl_sys::CURLE_OK {
        Ok(())
    } else {
        Err(curl::Error::new(rc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_forms() {
        assert_eq!(
            parse_content_range("bytes 0-99/1000"),
            Some((Some((0, 99)), Some(1000)))
        );
        assert_eq!(
            parse_content_range("bytes 10-19/*"),
            Some((Some((10, 19)), None))
        );
        assert_eq!(
            parse_content_range("bytes */1000"),
            Some((None, Some(1000)))
        );
        assert_eq!(parse_content_range("bytes 9-1/10"), None);
        assert_eq!(parse_content_range("items 0-1/2"), None);
    }

    #[test]
    fn redacts_credentials() {
        assert_eq!(
            redact("http://user:secret@127.0.0.1/x"),
            "http://127.0.0.1/x"
        );
        assert_eq!(redact("http://127.0.0.1/x"), "http://127.0.0.1/x");
    }
}
