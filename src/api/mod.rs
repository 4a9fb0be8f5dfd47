//! The Rust API the C functions wrap: managers, jobs and the handle table. No raw pointers here.

pub mod handles;
pub mod job;
pub mod manager;
pub mod persist;

pub use job::JobRef;
pub use manager::Manager;
