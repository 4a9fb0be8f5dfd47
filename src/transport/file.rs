//! `file://` URLs and absolute local paths as sources: the bytes are copied from a local file.

use super::TransferError;
use crate::hresult::{hresult_from_io, BG_ERROR_CONTEXT_REMOTE_FILE, BG_E_WIN32_DIRECTORY};
use crate::model::Validator;
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// An opened source file and what identifies its content.
pub struct Source {
    /// The open file.
    pub file: File,
    /// Which candidate path was opened.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// Size and modification time, compared on resume to detect a changed source.
    pub validator: Validator,
}

fn remote_error(path: &Path, err: &std::io::Error) -> TransferError {
    TransferError {
        context: BG_ERROR_CONTEXT_REMOTE_FILE,
        code: hresult_from_io(err),
        transient: false,
        description: format!("cannot read the source file {}: {err}", path.display()),
        retry_after_s: None,
    }
}

/// Opens the first candidate that exists (see `model::url::Remote::File`).
pub fn open(candidates: &[PathBuf]) -> Result<Source, TransferError> {
    let mut first_error = None;
    for path in candidates {
        match File::open(path) {
            Ok(file) => {
                let meta = file.metadata().map_err(|e| remote_error(path, &e))?;
                if !meta.is_file() {
                    return Err(TransferError {
                        context: BG_ERROR_CONTEXT_REMOTE_FILE,
                        code: BG_E_WIN32_DIRECTORY,
                        transient: false,
                        description: format!("the source {} is not a regular file", path.display()),
                        retry_after_s: None,
                    });
                }
                let mtime =
                    i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec());
                return Ok(Source {
                    file,
                    path: path.clone(),
                    size: meta.len(),
                    validator: Validator {
                        size: Some(meta.len()),
                        etag: None,
                        last_modified: Some(mtime.to_string()),
                    },
                });
            }
            Err(err) => {
                if first_error.is_none() {
                    first_error = Some(remote_error(path, &err));
                }
            }
        }
    }
    Err(first_error.unwrap_or_else(|| {
        remote_error(
            Path::new(""),
            &std::io::Error::from_raw_os_error(libc::ENOENT),
        )
    }))
}

/// A read failure in the middle of a copy.
pub fn read_error(path: &Path, err: &std::io::Error) -> TransferError {
    remote_error(path, err)
}
