//! The panic boundary every C entry point goes through.
//!
//! [`call`] runs the body of an `extern "C"` function under `catch_unwind`: an `Err` becomes its
//! code, a panic becomes `E_UNEXPECTED` and the host process lives on. A panic hook installed on
//! first use keeps the panic message off stderr (it goes to the `BGCOPY_LOG` file instead) for
//! panics raised inside the library; panics elsewhere in a Rust host keep the host's hook.

use crate::hresult::{bg_hresult, Result, E_UNEXPECTED};
use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    /// Depth of bgcopy frames on this thread: > 0 while inside an entry point or a library thread.
    static INSIDE: Cell<u32> = const { Cell::new(0) };
}

static HOOK: Once = Once::new();

fn install_hook() {
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if INSIDE.with(|d| d.get()) > 0 {
                crate::bglog!("panic caught at the C boundary: {info}");
            } else {
                previous(info);
            }
        }));
    });
}

/// Marks the current thread as running bgcopy code while the guard lives.
struct Inside;
impl Inside {
    fn enter() -> Self {
        INSIDE.with(|d| d.set(d.get() + 1));
        Inside
    }
}
impl Drop for Inside {
    fn drop(&mut self) {
        INSIDE.with(|d| d.set(d.get().saturating_sub(1)));
    }
}

/// Runs the body of a C entry point: returns its code, the code of its error, or
/// `E_UNEXPECTED` if it panicked. Never unwinds into the caller.
pub fn call(body: impl FnOnce() -> Result<bg_hresult>) -> bg_hresult {
    install_hook();
    let _inside = Inside::enter();
    match panic::catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(code)) => code,
        Ok(Err(err)) => err.code(),
        Err(_) => E_UNEXPECTED,
    }
}

/// Runs a value-returning body (for the two functions that return static strings) and gives
/// `fallback` if it panics.
pub fn call_or<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    install_hook();
    let _inside = Inside::enter();
    panic::catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

/// Runs `body` on a library thread with the same panic silencing; returns `None` if it panicked.
/// Worker threads wrap each unit of work in this so a bug fails one job, not the process.
pub fn guard<T>(body: impl FnOnce() -> T) -> Option<T> {
    install_hook();
    let _inside = Inside::enter();
    panic::catch_unwind(AssertUnwindSafe(body)).ok()
}
