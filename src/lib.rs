//! bgcopy: Windows' Background Intelligent Transfer Service (BITS) as a portable library.
//!
//! The crate is layered in one direction: [`ffi`] (the C ABI) wraps [`api`] (manager, jobs,
//! handles), which drives [`engine`] (threads that move bytes), which uses [`transport`] (how
//! bytes are fetched) and [`fsx`] (temp files and renames). [`model`] holds the BITS rules as pure
//! data and functions; [`hresult`] holds every code with its BITS number and message.
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod api;
pub mod engine;
pub mod ffi;
pub mod fsx;
pub mod hresult;
pub mod log;
pub mod model;
pub mod notify;
pub mod store;
pub mod transport;

/// The crate version, equal to `version` in Cargo.toml and to `BGCOPY_VERSION_STRING`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
