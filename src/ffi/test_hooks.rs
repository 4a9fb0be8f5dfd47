//! Test-only entry points, compiled only with the `test-hooks` cargo feature (and declared in
//! the header only under `BGCOPY_TEST_HOOKS`). Production builds do not contain them.

use super::boundary;
use super::types::bg_job;
use crate::api::handles;
use crate::hresult::{bg_hresult, S_OK};

/// Panics inside the boundary on purpose, to prove that a panic becomes E_UNEXPECTED and the
/// process lives on.
///
/// Thread-safe. Returns E_UNEXPECTED, always.
#[no_mangle]
pub extern "C" fn bg_test_panic() -> bg_hresult {
    boundary::call(|| panic!("bg_test_panic: a deliberate panic"))
}

/// Holds the job's transfer when file `file_index` reaches exactly `offset` bytes, until
/// bg_test_release_hold (Suspend, Cancel and Complete still stop it).
///
/// Thread-safe. Returns S_OK; E_HANDLE.
#[no_mangle]
pub extern "C" fn bg_test_hold(job: bg_job, file_index: u32, offset: u64) -> bg_hresult {
    boundary::call(|| {
        handles::job(job)?.set_hold(Some((file_index, offset)));
        Ok(S_OK)
    })
}

/// Releases a hold set with bg_test_hold.
///
/// Thread-safe. Returns S_OK; E_HANDLE.
#[no_mangle]
pub extern "C" fn bg_test_release_hold(job: bg_job) -> bg_hresult {
    boundary::call(|| {
        handles::job(job)?.set_hold(None);
        Ok(S_OK)
    })
}
