//! The C ABI: every `#[no_mangle]` function, each a thin wrapper that checks its arguments,
//! calls the Rust API and writes its out-params, inside the panic boundary of [`boundary`].

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
