//! The C ABI: every `#[no_mangle]` function, each a thin wrapper that checks its arguments,
//! calls the Rust API and writes its out-params, inside the panic boundary of [`boundary`].
//!
//! # Safety
//!
//! One contract covers every `unsafe extern "C"` function here, so it is written once instead
//! of on each (hence the module-wide allowance of `clippy::missing_safety_doc`):
//!
//! - A pointer argument is NULL (the function then returns `E_INVALIDARG`, or ignores it where
//!   its doc says NULL is allowed) or valid for what the doc says: a string is NUL-terminated
//!   and readable up to its NUL; `buf` has `cap` writable bytes; an out-param points to one
//!   writable value of its type; an array has `count` readable elements.
//! - Memory passed in is not written by another thread during the call.
//! - The callbacks' `user_data` pointer is the caller's business: bgcopy only passes it back
//!   (and to `user_data_free`).
//!
//! Handles need no such care: a zero, stale, released or invented handle is detected and gives
//! `E_HANDLE`. Invalid UTF-8 and malformed values are detected too (`E_INVALIDARG`).
#![allow(clippy::missing_safety_doc)]

pub mod args;
pub mod boundary;
pub mod callbacks;
pub mod job;
pub mod library;
pub mod manager;
#[cfg(feature = "test-hooks")]
pub mod test_hooks;
pub mod types;

pub use callbacks::*;
pub use job::*;
pub use library::*;
pub use manager::*;
#[cfg(feature = "test-hooks")]
pub use test_hooks::*;
pub use types::*;
