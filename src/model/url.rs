//! Validation of remote names and local paths at AddFile (spec §3.2, §3.12): the scheme, the
//! syntax and the limits, so a job never holds a name that cannot be transferred.

use super::limits::{
    check_len, LOCAL_NAME_MAX_BYTES, LOCAL_PATH_MAX_BYTES, URL_MAX, URL_SEGMENT_MAX,
};
use crate::hresult::{Error, Result};
use std::path::{Component, Path, PathBuf};

/// Where a file's bytes come from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Remote {
    /// An `http://` or `https://` URL, kept exactly as given.
    Http(String),
    /// A local file: a `file://` URL or an absolute path. `paths` lists the candidates in order
    /// (the percent-decoded path, then the text as written, for `file://` + native path).
    File {
        /// Candidate source paths, tried in order.
        paths: Vec<PathBuf>,
    },
}

/// Characters allowed in an http(s) URL as given (RFC 3986; BITS does no escaping of its own).
fn is_url_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~:/?#[]@!$&'()*+,;=%".contains(c)
}

/// Parses and validates a remote name. Over-long → `BG_E_STRING_TOO_LONG`; empty, relative,
/// malformed or of an unsupported scheme → `E_INVALIDARG`.
pub fn parse_remote(text: &str) -> Result<Remote> {
    check_len(text, URL_MAX, "remote URL longer than 2,200 characters")?;
    if text.is_empty() {
        return Err(Error::InvalidArg("remote URL is empty"));
    }
    if text.starts_with('/') {
        check_local_syntax(text)?;
        return Ok(Remote::File {
            paths: vec![PathBuf::from(text)],
        });
    }
    let Some((scheme, _)) = text.split_once(':') else {
        return Err(Error::InvalidArg(
            "remote name is neither a URL nor an absolute path",
        ));
    };
    match scheme.to_ascii_lowercase().as_str() {
        "http" | "https" => parse_http(text),
        "file" => parse_file(text),
        _ => Err(Error::InvalidArg(
            "unsupported URL scheme (http, https and file are supported)",
        )),
    }
}

fn parse_http(text: &str) -> Result<Remote> {
    if !text.chars().all(is_url_char) {
        return Err(Error::InvalidArg(
            "URL contains characters that must be percent-encoded",
        ));
    }
    // The URL parser would forgive "http:/host" and "http:///host"; BITS wants the authority.
    let after_scheme = &text[text.find(':').unwrap_or(0) + 1..];
    match after_scheme.strip_prefix("//") {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') => {}
        _ => return Err(Error::InvalidArg("URL has no host")),
    }
    let url = url::Url::parse(text).map_err(|_| Error::InvalidArg("malformed URL"))?;
    if url.host_str().map_or(true, str::is_empty) {
        return Err(Error::InvalidArg("URL has no host"));
    }
    if url
        .path_segments()
        .is_some_and(|mut s| s.any(|seg| seg.len() > URL_SEGMENT_MAX))
    {
        return Err(Error::StringTooLong(
            "URL path segment longer than 260 characters",
        ));
    }
    Ok(Remote::Http(text.to_string()))
}

fn parse_file(text: &str) -> Result<Remote> {
    let rest = &text[5..];
    let rest = rest
        .strip_prefix("//")
        .ok_or(Error::InvalidArg("file URL must start with file://"))?;
    let path = if let Some(stripped) = rest.strip_prefix("localhost") {
        stripped
    } else {
        rest
    };
    if !path.starts_with('/') {
        return Err(Error::InvalidArg(
            "file URL must name an absolute local path (no remote hosts)",
        ));
    }
    // "file://" + a native path may hold characters a URL would escape (spaces, '%'), so the
    // decoded path is tried first and the text as written second.
    let mut paths = Vec::new();
    if let Ok(decoded) = percent_encoding::percent_decode_str(path).decode_utf8() {
        if decoded != path && !decoded.contains('\0') {
            check_local_syntax(&decoded)?;
            paths.push(PathBuf::from(decoded.as_ref()));
        }
    }
    match check_local_syntax(path) {
        Ok(()) => paths.push(PathBuf::from(path)),
        Err(err) if paths.is_empty() => return Err(err),
        Err(_) => {}
    }
    Ok(Remote::File { paths })
}

/// Checks a local path's syntax: absolute, a file name (not `/` or ending in `/`), no `.` or `..`
/// components, within PATH_MAX and NAME_MAX.
pub fn check_local_syntax(text: &str) -> Result<()> {
    if text.len() > LOCAL_PATH_MAX_BYTES {
        return Err(Error::StringTooLong("local path longer than 4,095 bytes"));
    }
    if !text.starts_with('/') {
        return Err(Error::InvalidArg("local path must be absolute"));
    }
    if text.ends_with('/') {
        return Err(Error::InvalidArg(
            "local path must name a file, not a directory",
        ));
    }
    for component in Path::new(text).components() {
        match component {
            Component::RootDir => {}
            Component::Normal(name) => {
                if name.len() > LOCAL_NAME_MAX_BYTES {
                    return Err(Error::StringTooLong(
                        "local path component longer than 255 bytes",
                    ));
                }
            }
            _ => {
                return Err(Error::InvalidArg(
                    "local path must not contain . or .. components",
                ))
            }
        }
    }
    if text.split('/').any(|c| c == "." || c == "..") {
        return Err(Error::InvalidArg(
            "local path must not contain . or .. components",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_supported_forms() {
        assert_eq!(
            parse_remote("http://127.0.0.1:8080/a/b?x=1").unwrap(),
            Remote::Http("http://127.0.0.1:8080/a/b?x=1".into())
        );
        assert!(matches!(
            parse_remote("HTTPS://[::1]/x").unwrap(),
            Remote::Http(_)
        ));
        assert_eq!(
            parse_remote("/tmp/src").unwrap(),
            Remote::File {
                paths: vec!["/tmp/src".into()]
            }
        );
        assert_eq!(
            parse_remote("file:///tmp/a%20b").unwrap(),
            Remote::File {
                paths: vec!["/tmp/a b".into(), "/tmp/a%20b".into()]
            }
        );
        assert_eq!(
            parse_remote("file:///tmp/a b").unwrap(),
            Remote::File {
                paths: vec!["/tmp/a b".into()]
            }
        );
        assert_eq!(
            parse_remote("file://localhost/tmp/x").unwrap(),
            Remote::File {
                paths: vec!["/tmp/x".into()]
            }
        );
    }

    #[test]
    fn rejects_bad_names() {
        for bad in [
            "",
            "relative/path",
            "ftp://host/x",
            "gopher://h/",
            "http://",
            "http:///nohost",
            "http://h/a b",
            "http://h/\u{e9}",
            "file://server/share/x",
            "file:relative",
            "mailto:x@y",
            "/tmp/dir/",
            "/tmp/../etc/x",
            "file:///tmp/./x",
        ] {
            assert!(
                matches!(parse_remote(bad), Err(Error::InvalidArg(_))),
                "{bad:?}"
            );
        }
        let long = format!("http://h/{}", "a".repeat(2200));
        assert!(matches!(parse_remote(&long), Err(Error::StringTooLong(_))));
        let seg = format!("http://h/{}", "a".repeat(261));
        assert!(matches!(parse_remote(&seg), Err(Error::StringTooLong(_))));
    }

    #[test]
    fn local_paths() {
        assert!(check_local_syntax("/a/b").is_ok());
        assert!(matches!(
            check_local_syntax("a/b"),
            Err(Error::InvalidArg(_))
        ));
        assert!(matches!(
            check_local_syntax(&format!("/{}", "x".repeat(256))),
            Err(Error::StringTooLong(_))
        ));
        assert!(matches!(
            check_local_syntax(&"/abc".repeat(1100)),
            Err(Error::StringTooLong(_))
        ));
    }
}
