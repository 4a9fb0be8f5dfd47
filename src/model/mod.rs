//! The BITS job model as plain data and pure functions: states, the transition rules, files,
//! progress, errors and times. Nothing here does I/O, so every rule is unit-tested directly.

pub mod guid;
pub mod job;
pub mod limits;
pub mod retry;
pub mod state;
pub mod url;

pub use guid::Guid;
pub use job::{FileRecord, JobError, JobRecord, Validator};
pub use state::{JobState, JobType, Method, Priority};

/// Milliseconds since the Unix epoch, UTC (the unit of every time in the C API).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
