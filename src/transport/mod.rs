//! How bytes are fetched. Each transport reports failures as a [`TransferError`] carrying the
//! BITS context, code and whether a retry may help; job-state decisions stay with the engine.

pub mod file;
pub mod http;

use crate::hresult::bg_hresult;
use crate::model::retry::Failure;

/// A failed transfer step, as the engine needs it to set the job's error object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferError {
    /// `BG_ERROR_CONTEXT_*`.
    pub context: i32,
    /// The HRESULT.
    pub code: bg_hresult,
    /// Whether the job goes to TRANSIENT_ERROR (retried) rather than ERROR.
    pub transient: bool,
    /// What happened, naming the file (never credentials).
    pub description: String,
    /// The server's `Retry-After`, in seconds, when it sent one.
    pub retry_after_s: Option<u64>,
}

impl TransferError {
    /// An error from a classified failure and a description.
    pub fn new(failure: Failure, description: impl Into<String>) -> Self {
        TransferError {
            context: failure.context,
            code: failure.code,
            transient: failure.transient,
            description: description.into(),
            retry_after_s: None,
        }
    }
}
