//! Diagnostics that never reach stdout or stderr.
//!
//! The library must stay silent in its host (installers often have no console), so log lines go
//! only to the file named by the `BGCOPY_LOG` environment variable, read once, when it is set.

use once_cell::sync::Lazy;
use parking_lot::Mutex;
use std::fs::File;
use std::io::Write;

static SINK: Lazy<Option<Mutex<File>>> = Lazy::new(|| {
    let path = std::env::var_os("BGCOPY_LOG")?;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .ok()
        .map(Mutex::new)
});

/// Appends one line to the `BGCOPY_LOG` file, if logging is enabled; otherwise does nothing.
/// Failures to write are ignored: logging must never change the library's behaviour.
pub fn line(args: std::fmt::Arguments<'_>) {
    if let Some(sink) = SINK.as_ref() {
        let ms = crate::model::now_ms();
        let _ = writeln!(sink.lock(), "{ms} bgcopy: {args}");
    }
}

/// Logs a formatted line through [`line`].
#[macro_export]
macro_rules! bglog {
    ($($arg:tt)*) => { $crate::log::line(format_args!($($arg)*)) };
}
