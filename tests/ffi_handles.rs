//! The C entry points called directly from Rust: argument checks, handle checks and the panic
//! boundary, exactly as a C caller meets them.
//!
//! - NULL pointers and invalid UTF-8 → `E_INVALIDARG`;
//! - zero, invented, truncated, released, closed and wrong-kind handles → `E_HANDLE`;
//! - out-params are never written on failure (each is pre-filled with a sentinel);
//! - releasing one handle leaves the others (and the job) alone;
//! - 8 threads racing release against use for ~2 s (`BGCOPY_RACE_SECONDS` to change it): every
//!   call returns `S_OK` or `E_HANDLE` and each handle is released successfully exactly once;
//! - with the `test-hooks` feature, `bg_test_panic` returns `E_UNEXPECTED` and the library goes on.
//!
//! The tests of this file run in parallel in one process and share the handle table, so every
//! "invented" handle here is one the table can never issue (tag 0, or a slot near 2^32), never a
//! small slot that another test might hold.
//!
//! Run: `cargo test --features test-hooks --test ffi_handles`.

use bgcopy::ffi::job::{
    bg_job_add_file, bg_job_cancel, bg_job_complete, bg_job_get_description,
    bg_job_get_display_name, bg_job_get_id, bg_job_get_progress, bg_job_get_state, bg_job_release,
    bg_job_resume, bg_job_set_description, bg_job_set_display_name, bg_job_suspend, bg_job_wait,
};
use bgcopy::ffi::library::{bg_guid_from_string, bg_guid_to_string};
use bgcopy::ffi::manager::{
    bg_manager_close, bg_manager_create_job, bg_manager_enum_jobs, bg_manager_get_job,
    bg_manager_get_option, bg_manager_open, bg_manager_set_option,
};
use bgcopy::ffi::{
    bg_guid, bg_job, bg_job_progress, bg_job_state, bg_manager, BG_JOB_STATE_SUSPENDED,
    BG_JOB_TYPE_DOWNLOAD, BG_OPTION_MAX_BACKGROUND_TRANSFERS,
};
use bgcopy::hresult::{
    bg_hresult, BG_E_INSUFFICIENT_BUFFER, BG_E_NOT_FOUND, E_HANDLE, E_INVALIDARG, S_OK,
};
use std::ffi::{c_char, CStr};
use std::ptr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

const SENTINEL_U64: u64 = 0xDEAD_BEEF_CAFE_F00D;
const SENTINEL_STATE: bg_job_state = 0x5A5A_5A5A;
const INVALID_UTF8: &[u8] = b"\xff\xfe\0";

fn cstr(s: &'static CStr) -> *const c_char {
    s.as_ptr()
}

fn bad_utf8() -> *const c_char {
    INVALID_UTF8.as_ptr().cast()
}

fn open_memory() -> bg_manager {
    let mut m: bg_manager = 0;
    assert_eq!(unsafe { bg_manager_open(cstr(c":memory:"), &mut m) }, S_OK);
    assert_ne!(m, 0);
    m
}

fn create(m: bg_manager, id: Option<&mut bg_guid>) -> bg_job {
    let mut j: bg_job = 0;
    let id_ptr = id.map_or(ptr::null_mut(), |g| g as *mut bg_guid);
    let hr = unsafe {
        bg_manager_create_job(
            m,
            cstr(c"ffi_handles"),
            BG_JOB_TYPE_DOWNLOAD,
            id_ptr,
            &mut j,
        )
    };
    assert_eq!(hr, S_OK);
    assert_ne!(j, 0);
    j
}

fn state(j: bg_job) -> Result<bg_job_state, bg_hresult> {
    let mut s: bg_job_state = SENTINEL_STATE;
    match unsafe { bg_job_get_state(j, &mut s) } {
        S_OK => Ok(s),
        hr => {
            assert_eq!(s, SENTINEL_STATE, "out_state written on failure 0x{hr:08X}");
            Err(hr)
        }
    }
}

fn hex(hr: bg_hresult) -> String {
    format!("0x{:08X}", hr as u32)
}

/// Every job call with a handle that must be refused: `E_HANDLE`, nothing written.
fn assert_bad_job(bad: bg_job, what: &str) {
    let ctx = format!("{what} (0x{bad:016X})");
    assert_eq!(state(bad), Err(E_HANDLE), "{ctx}: get_state");
    assert_eq!(bg_job_resume(bad), E_HANDLE, "{ctx}: resume");
    assert_eq!(bg_job_suspend(bad), E_HANDLE, "{ctx}: suspend");
    assert_eq!(bg_job_cancel(bad), E_HANDLE, "{ctx}: cancel");
    assert_eq!(bg_job_complete(bad), E_HANDLE, "{ctx}: complete");
    unsafe {
        assert_eq!(
            bg_job_add_file(
                bad,
                cstr(c"file:///etc/hostname"),
                cstr(c"/tmp/ffi_handles.out")
            ),
            E_HANDLE,
            "{ctx}: add_file"
        );
        assert_eq!(
            bg_job_set_description(bad, cstr(c"x")),
            E_HANDLE,
            "{ctx}: set_description"
        );
        assert_eq!(
            bg_job_set_display_name(bad, cstr(c"x")),
            E_HANDLE,
            "{ctx}: set_display_name"
        );

        let mut buf = [b'Z' as c_char; 32];
        let mut needed = 4242usize;
        assert_eq!(
            bg_job_get_display_name(bad, buf.as_mut_ptr(), buf.len(), &mut needed),
            E_HANDLE,
            "{ctx}: get_display_name"
        );
        assert_eq!(needed, 4242, "{ctx}: out_needed written");
        assert!(
            buf.iter().all(|&c| c == b'Z' as c_char),
            "{ctx}: buf written"
        );

        let mut id = bg_guid { bytes: [0xA5; 16] };
        assert_eq!(bg_job_get_id(bad, &mut id), E_HANDLE, "{ctx}: get_id");
        assert_eq!(id.bytes, [0xA5; 16], "{ctx}: out_id written");

        let mut prog = bg_job_progress {
            bytes_total: SENTINEL_U64,
            bytes_transferred: SENTINEL_U64,
            files_total: 7,
            files_transferred: 7,
        };
        assert_eq!(
            bg_job_get_progress(bad, &mut prog),
            E_HANDLE,
            "{ctx}: get_progress"
        );
        assert_eq!(prog.bytes_total, SENTINEL_U64);
        assert_eq!(prog.files_total, 7);

        let mut st = SENTINEL_STATE;
        assert_eq!(bg_job_wait(bad, 0, &mut st), E_HANDLE, "{ctx}: wait");
        assert_eq!(st, SENTINEL_STATE);
    }
    assert_eq!(bg_job_release(bad), E_HANDLE, "{ctx}: release");
    assert_eq!(bg_job_release(bad), E_HANDLE, "{ctx}: release again");
}

/// Every manager call with a handle that must be refused.
fn assert_bad_manager(bad: bg_manager, what: &str) {
    let ctx = format!("{what} (0x{bad:016X})");
    unsafe {
        let mut out: bg_job = SENTINEL_U64;
        let mut id = bg_guid { bytes: [0xA5; 16] };
        assert_eq!(
            bg_manager_create_job(bad, cstr(c"x"), BG_JOB_TYPE_DOWNLOAD, &mut id, &mut out),
            E_HANDLE,
            "{ctx}: create_job"
        );
        assert_eq!(out, SENTINEL_U64);
        assert_eq!(id.bytes, [0xA5; 16]);

        let any = bg_guid { bytes: [0x11; 16] };
        assert_eq!(
            bg_manager_get_job(bad, &any, &mut out),
            E_HANDLE,
            "{ctx}: get_job"
        );
        assert_eq!(out, SENTINEL_U64);

        let mut count = 999usize;
        assert_eq!(
            bg_manager_enum_jobs(bad, 0, ptr::null_mut(), 0, &mut count),
            E_HANDLE,
            "{ctx}: enum_jobs"
        );
        assert_eq!(count, 999);

        let mut value = SENTINEL_U64;
        assert_eq!(
            bg_manager_get_option(bad, BG_OPTION_MAX_BACKGROUND_TRANSFERS, &mut value),
            E_HANDLE,
            "{ctx}: get_option"
        );
        assert_eq!(value, SENTINEL_U64);
    }
    assert_eq!(
        bg_manager_set_option(bad, BG_OPTION_MAX_BACKGROUND_TRANSFERS, 2),
        E_HANDLE,
        "{ctx}: set_option"
    );
    assert_eq!(bg_manager_close(bad), E_HANDLE, "{ctx}: close");
}

/// Handles the table can never issue: tag 0, or a real tag with a slot near 2^32.
const NEVER_ISSUED: &[u64] = &[
    0,
    1,
    0x0000_0001_0000_0001,
    0x424A_0001_FFFF_FFF0, // a job tag, slot 4,294,967,280
    0x424D_0001_FFFF_FFF0, // a manager tag, same slot
    0x424A_FFFF_FFFF_FFFF,
    0xFFFF_FFFF_FFFF_FFFF,
    0x8000_0000_0000_0000,
];

#[test]
fn zero_invented_and_random_handles_are_refused() {
    for &h in NEVER_ISSUED {
        assert_bad_job(h, "invented");
        assert_bad_manager(h, "invented");
    }
    // Random 64-bit values (a fixed xorshift sequence): with a random tag, or a real tag and a
    // random generation and a slot in the top half of the 32-bit range.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..200 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        for h in [
            x,
            (0x424A << 48) | (x & 0xFFFF_FFFF_FFFF) | 0x8000_0000,
            (0x424D << 48) | (x & 0xFFFF_FFFF_FFFF) | 0x8000_0000,
        ] {
            assert_eq!(state(h), Err(E_HANDLE), "0x{h:016X}");
            assert_eq!(unsafe { bg_job_set_description(h, cstr(c"r")) }, E_HANDLE);
            assert_eq!(bg_job_release(h), E_HANDLE, "0x{h:016X}");
            assert_eq!(bg_manager_close(h), E_HANDLE, "0x{h:016X}");
        }
    }
}

#[test]
fn truncated_released_closed_and_wrong_kind_handles_are_refused() {
    let m = open_memory();
    let j = create(m, None);

    // Cut to 32 bits, shifted, and with another generation.
    assert_bad_job(j & 0xFFFF_FFFF, "job & 0xFFFFFFFF");
    assert_bad_job(j as u32 as i32 as i64 as u64, "job as i32, sign-extended");
    assert_bad_job(j >> 32, "job >> 32");
    assert_bad_manager(m & 0xFFFF_FFFF, "manager & 0xFFFFFFFF");
    assert_bad_job(j ^ (0x8000 << 32), "job, generation bit 15 flipped");

    // Kind confusion (only the calls that would not succeed on the other kind).
    assert_eq!(state(m), Err(E_HANDLE));
    assert_eq!(bg_job_release(m), E_HANDLE);
    assert_eq!(bg_job_cancel(m), E_HANDLE);
    let mut out: bg_job = SENTINEL_U64;
    assert_eq!(
        unsafe {
            bg_manager_create_job(
                j,
                cstr(c"x"),
                BG_JOB_TYPE_DOWNLOAD,
                ptr::null_mut(),
                &mut out,
            )
        },
        E_HANDLE
    );
    assert_eq!(out, SENTINEL_U64);
    assert_eq!(bg_manager_close(j), E_HANDLE);
    assert_eq!(
        state(j),
        Ok(BG_JOB_STATE_SUSPENDED),
        "the job survived all that"
    );

    // Released.
    let r = create(m, None);
    assert_eq!(bg_job_release(r), S_OK);
    assert_bad_job(r, "released job");
    // Its slot may be reused, but never under the old value.
    let r2 = create(m, None);
    assert_ne!(r2, r);
    assert_eq!(state(r), Err(E_HANDLE));
    assert_eq!(state(r2), Ok(BG_JOB_STATE_SUSPENDED));
    assert_eq!(bg_job_release(r2), S_OK);

    // Closed: the manager and the job handles opened through it.
    assert_eq!(bg_manager_close(m), S_OK);
    assert_bad_manager(m, "closed manager");
    assert_bad_job(j, "job of a closed manager");
    assert_eq!(bg_manager_close(m), E_HANDLE, "double close");
}

#[test]
fn null_pointers_and_invalid_utf8_are_invalid_arguments() {
    unsafe {
        // bg_manager_open
        assert_eq!(
            bg_manager_open(cstr(c":memory:"), ptr::null_mut()),
            E_INVALIDARG
        );
        let mut m: bg_manager = SENTINEL_U64;
        assert_eq!(bg_manager_open(bad_utf8(), &mut m), E_INVALIDARG);
        assert_eq!(m, SENTINEL_U64);
        assert_eq!(bg_manager_open(cstr(c"relative/dir"), &mut m), E_INVALIDARG);
        assert_eq!(m, SENTINEL_U64);

        let m = open_memory();
        // bg_manager_create_job
        let mut j: bg_job = SENTINEL_U64;
        let mut id = bg_guid { bytes: [0xA5; 16] };
        assert_eq!(
            bg_manager_create_job(m, ptr::null(), BG_JOB_TYPE_DOWNLOAD, &mut id, &mut j),
            E_INVALIDARG
        );
        assert_eq!(
            bg_manager_create_job(m, bad_utf8(), BG_JOB_TYPE_DOWNLOAD, &mut id, &mut j),
            E_INVALIDARG
        );
        assert_eq!(
            bg_manager_create_job(
                m,
                cstr(c"x"),
                BG_JOB_TYPE_DOWNLOAD,
                &mut id,
                ptr::null_mut()
            ),
            E_INVALIDARG
        );
        assert_eq!(
            bg_manager_create_job(m, cstr(c"x"), 99, &mut id, &mut j),
            E_INVALIDARG
        );
        assert_eq!(j, SENTINEL_U64);
        assert_eq!(id.bytes, [0xA5; 16]);
        let mut count = 0usize;
        assert_eq!(
            bg_manager_enum_jobs(m, 0, ptr::null_mut(), 0, &mut count),
            S_OK
        );
        assert_eq!(count, 0, "no job was created by the failed calls");

        // bg_manager_get_job / enum_jobs / get_option
        assert_eq!(bg_manager_get_job(m, ptr::null(), &mut j), E_INVALIDARG);
        let unknown = bg_guid { bytes: [0x11; 16] };
        assert_eq!(
            bg_manager_get_job(m, &unknown, ptr::null_mut()),
            E_INVALIDARG
        );
        assert_eq!(bg_manager_get_job(m, &unknown, &mut j), BG_E_NOT_FOUND);
        assert_eq!(j, SENTINEL_U64);
        assert_eq!(
            bg_manager_enum_jobs(m, 0, ptr::null_mut(), 0, ptr::null_mut()),
            E_INVALIDARG
        );
        assert_eq!(
            bg_manager_enum_jobs(m, 0, ptr::null_mut(), 4, &mut count),
            E_INVALIDARG
        );
        assert_eq!(
            bg_manager_get_option(m, BG_OPTION_MAX_BACKGROUND_TRANSFERS, ptr::null_mut()),
            E_INVALIDARG
        );

        // Job calls.
        let j = create(m, None);
        assert_eq!(bg_job_get_state(j, ptr::null_mut()), E_INVALIDARG);
        assert_eq!(bg_job_get_id(j, ptr::null_mut()), E_INVALIDARG);
        assert_eq!(bg_job_get_progress(j, ptr::null_mut()), E_INVALIDARG);
        assert_eq!(bg_job_wait(j, 0, ptr::null_mut()), E_INVALIDARG);
        assert_eq!(bg_job_set_description(j, ptr::null()), E_INVALIDARG);
        assert_eq!(bg_job_set_description(j, bad_utf8()), E_INVALIDARG);
        assert_eq!(bg_job_set_display_name(j, ptr::null()), E_INVALIDARG);
        assert_eq!(bg_job_set_display_name(j, bad_utf8()), E_INVALIDARG);
        assert_eq!(
            bg_job_add_file(j, ptr::null(), cstr(c"/tmp/ffi_handles.out")),
            E_INVALIDARG
        );
        assert_eq!(
            bg_job_add_file(j, cstr(c"file:///etc/hostname"), ptr::null()),
            E_INVALIDARG
        );
        assert_eq!(
            bg_job_add_file(j, bad_utf8(), cstr(c"/tmp/ffi_handles.out")),
            E_INVALIDARG
        );
        assert_eq!(
            bg_job_add_file(j, cstr(c"file:///etc/hostname"), bad_utf8()),
            E_INVALIDARG
        );

        // String getters: out_needed NULL, or buf NULL with cap > 0.
        let mut buf = [b'Z' as c_char; 64];
        let mut needed = 4242usize;
        assert_eq!(
            bg_job_get_display_name(j, buf.as_mut_ptr(), 64, ptr::null_mut()),
            E_INVALIDARG
        );
        assert_eq!(
            bg_job_get_display_name(j, ptr::null_mut(), 64, &mut needed),
            E_INVALIDARG
        );
        assert_eq!(needed, 4242);
        assert!(buf.iter().all(|&c| c == b'Z' as c_char));
        // The size query and a short buffer.
        assert_eq!(
            bg_job_get_display_name(j, ptr::null_mut(), 0, &mut needed),
            BG_E_INSUFFICIENT_BUFFER
        );
        assert_eq!(needed, "ffi_handles".len() + 1);
        assert_eq!(
            bg_job_get_display_name(j, buf.as_mut_ptr(), 4, &mut needed),
            BG_E_INSUFFICIENT_BUFFER
        );
        assert!(
            buf.iter().all(|&c| c == b'Z' as c_char),
            "short buffer written"
        );
        assert_eq!(
            bg_job_get_display_name(j, buf.as_mut_ptr(), 64, &mut needed),
            S_OK
        );
        assert_eq!(
            CStr::from_ptr(buf.as_ptr()).to_str().unwrap(),
            "ffi_handles"
        );

        // Nothing changed on the job.
        let mut d = [0 as c_char; 8];
        assert_eq!(
            bg_job_get_description(j, d.as_mut_ptr(), d.len(), &mut needed),
            S_OK
        );
        assert_eq!(needed, 1, "description still empty");
        assert_eq!(state(j), Ok(BG_JOB_STATE_SUSPENDED));

        // GUID text.
        let mut g = bg_guid { bytes: [0xA5; 16] };
        assert_eq!(bg_guid_from_string(ptr::null(), &mut g), E_INVALIDARG);
        assert_eq!(bg_guid_from_string(bad_utf8(), &mut g), E_INVALIDARG);
        assert_eq!(bg_guid_from_string(cstr(c"nope"), &mut g), E_INVALIDARG);
        assert_eq!(
            bg_guid_from_string(
                cstr(c"00000000-0000-0000-0000-000000000000"),
                ptr::null_mut()
            ),
            E_INVALIDARG
        );
        assert_eq!(g.bytes, [0xA5; 16]);
        assert_eq!(
            bg_guid_to_string(ptr::null(), ptr::null_mut(), 0, &mut needed),
            E_INVALIDARG
        );
        assert_eq!(
            bg_guid_to_string(&g, ptr::null_mut(), 0, ptr::null_mut()),
            E_INVALIDARG
        );
        assert_eq!(
            bg_guid_to_string(&g, ptr::null_mut(), 0, &mut needed),
            BG_E_INSUFFICIENT_BUFFER
        );
        assert_eq!(needed, 37);

        assert_eq!(bg_job_release(j), S_OK);
        assert_eq!(bg_manager_close(m), S_OK);
    }
}

#[test]
fn releasing_one_handle_leaves_the_other_and_the_job() {
    let m = open_memory();
    let mut id = bg_guid { bytes: [0; 16] };
    let a = create(m, Some(&mut id));
    let mut b: bg_job = 0;
    assert_eq!(unsafe { bg_manager_get_job(m, &id, &mut b) }, S_OK);
    assert_ne!(a, b);

    assert_eq!(bg_job_release(a), S_OK);
    assert_eq!(bg_job_release(a), E_HANDLE);
    assert_eq!(state(a), Err(E_HANDLE));
    assert_eq!(state(b), Ok(BG_JOB_STATE_SUSPENDED));
    assert_eq!(unsafe { bg_job_set_description(b, cstr(c"via b")) }, S_OK);

    // Releasing the last handle does not cancel: the job is still there by GUID.
    assert_eq!(bg_job_release(b), S_OK);
    let mut c: bg_job = 0;
    assert_eq!(unsafe { bg_manager_get_job(m, &id, &mut c) }, S_OK);
    assert_eq!(state(c), Ok(BG_JOB_STATE_SUSPENDED));
    let mut buf = [0 as c_char; 32];
    let mut needed = 0usize;
    assert_eq!(
        unsafe { bg_job_get_description(c, buf.as_mut_ptr(), buf.len(), &mut needed) },
        S_OK
    );
    assert_eq!(
        unsafe { CStr::from_ptr(buf.as_ptr()) }.to_str().unwrap(),
        "via b"
    );
    let mut count = 0usize;
    assert_eq!(
        unsafe { bg_manager_enum_jobs(m, 0, ptr::null_mut(), 0, &mut count) },
        BG_E_INSUFFICIENT_BUFFER
    );
    assert_eq!(count, 1);
    assert_eq!(bg_job_release(c), S_OK);
    assert_eq!(bg_manager_close(m), S_OK);
    assert_eq!(bg_manager_close(m), E_HANDLE);
}

#[test]
fn eight_threads_race_release_against_use() {
    const THREADS: usize = 8;
    const SLOTS: usize = 32;
    const MAX_JOBS_PER_THREAD: usize = 20_000;
    let seconds: f64 = std::env::var("BGCOPY_RACE_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&v: &f64| v > 0.0 && v < 3600.0)
        .unwrap_or(2.0);

    struct Shared {
        manager: bg_manager,
        slots: Vec<AtomicU64>,
        created: AtomicI64,
        release_ok: AtomicI64,
        release_stale: AtomicI64,
        uses_ok: AtomicI64,
        uses_stale: AtomicI64,
        bad: std::sync::Mutex<Vec<String>>,
        all: std::sync::Mutex<Vec<u64>>,
    }
    let shared = Arc::new(Shared {
        manager: open_memory(),
        slots: (0..SLOTS).map(|_| AtomicU64::new(0)).collect(),
        created: AtomicI64::new(0),
        release_ok: AtomicI64::new(0),
        release_stale: AtomicI64::new(0),
        uses_ok: AtomicI64::new(0),
        uses_stale: AtomicI64::new(0),
        bad: std::sync::Mutex::new(Vec::new()),
        all: std::sync::Mutex::new(Vec::new()),
    });
    fn release(s: &Shared, h: u64) {
        match bg_job_release(h) {
            S_OK => s.release_ok.fetch_add(1, Ordering::SeqCst),
            E_HANDLE => s.release_stale.fetch_add(1, Ordering::SeqCst),
            hr => {
                s.bad.lock().unwrap().push(format!("release: {}", hex(hr)));
                0
            }
        };
    }
    fn used(s: &Shared, what: &str, hr: bg_hresult) {
        match hr {
            S_OK => s.uses_ok.fetch_add(1, Ordering::SeqCst),
            E_HANDLE => s.uses_stale.fetch_add(1, Ordering::SeqCst),
            _ => {
                s.bad.lock().unwrap().push(format!("{what}: {}", hex(hr)));
                0
            }
        };
    }

    let barrier = Arc::new(Barrier::new(THREADS + 1));
    let deadline_cell = Arc::new(std::sync::OnceLock::<Instant>::new());
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let s = shared.clone();
            let barrier = barrier.clone();
            let deadline_cell = deadline_cell.clone();
            std::thread::spawn(move || {
                let mut x: u64 =
                    0x0C0F_FEE1_2345_6789 ^ (t as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                let mut next = move || {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x
                };
                let mut mine = Vec::new();
                barrier.wait();
                let deadline = *deadline_cell
                    .get()
                    .expect("deadline set before the barrier");
                let mut made = 0;
                while made < MAX_JOBS_PER_THREAD && Instant::now() < deadline {
                    let mut h: bg_job = 0;
                    let hr = unsafe {
                        bg_manager_create_job(
                            s.manager,
                            cstr(c"race"),
                            BG_JOB_TYPE_DOWNLOAD,
                            ptr::null_mut(),
                            &mut h,
                        )
                    };
                    if hr != S_OK || h == 0 {
                        s.bad
                            .lock()
                            .unwrap()
                            .push(format!("create_job: {}", hex(hr)));
                        break;
                    }
                    made += 1;
                    s.created.fetch_add(1, Ordering::SeqCst);
                    mine.push(h);
                    let old = s.slots[(next() % SLOTS as u64) as usize].swap(h, Ordering::SeqCst);
                    if old != 0 {
                        release(&s, old);
                    }
                    for _ in 0..4 {
                        let r = next();
                        let target = s.slots[(r % SLOTS as u64) as usize].load(Ordering::SeqCst);
                        if target == 0 {
                            continue;
                        }
                        match (r >> 32) % 4 {
                            0 => {
                                let mut st: bg_job_state = SENTINEL_STATE;
                                let hr = unsafe { bg_job_get_state(target, &mut st) };
                                if hr == S_OK && st != BG_JOB_STATE_SUSPENDED {
                                    s.bad.lock().unwrap().push(format!("state {st}"));
                                }
                                if hr == E_HANDLE && st != SENTINEL_STATE {
                                    s.bad.lock().unwrap().push("state written".into());
                                }
                                used(&s, "get_state", hr);
                            }
                            1 => used(&s, "set_description", unsafe {
                                bg_job_set_description(target, cstr(c"raced"))
                            }),
                            _ => release(&s, target),
                        }
                    }
                }
                s.all.lock().unwrap().extend(mine);
            })
        })
        .collect();
    deadline_cell
        .set(Instant::now() + Duration::from_secs_f64(seconds))
        .unwrap();
    barrier.wait();
    for t in threads {
        t.join().expect("a racing thread panicked");
    }
    for slot in &shared.slots {
        let h = slot.swap(0, Ordering::SeqCst);
        if h != 0 {
            release(&shared, h);
        }
    }

    let created = shared.created.load(Ordering::SeqCst);
    eprintln!(
        "race: {seconds} s, {THREADS} threads, {created} jobs; release ok {} stale {}; uses ok {} stale {}",
        shared.release_ok.load(Ordering::SeqCst),
        shared.release_stale.load(Ordering::SeqCst),
        shared.uses_ok.load(Ordering::SeqCst),
        shared.uses_stale.load(Ordering::SeqCst)
    );
    let bad = shared.bad.lock().unwrap();
    assert!(
        bad.is_empty(),
        "{} unexpected results, first: {:?}",
        bad.len(),
        &bad[..bad.len().min(5)]
    );
    assert!(created > 0);
    assert_eq!(
        shared.release_ok.load(Ordering::SeqCst),
        created,
        "each handle released successfully exactly once"
    );

    let mut all = shared.all.lock().unwrap().clone();
    assert_eq!(all.len() as i64, created);
    all.sort_unstable();
    let before = all.len();
    all.dedup();
    assert_eq!(all.len(), before, "a handle value was handed out twice");
    for &h in &all {
        assert_eq!(
            state(h),
            Err(E_HANDLE),
            "0x{h:016X} still valid after its release"
        );
    }

    // Releasing never cancels: every job is still listed.
    let mut count = 0usize;
    assert_eq!(
        unsafe { bg_manager_enum_jobs(shared.manager, 0, ptr::null_mut(), 0, &mut count) },
        BG_E_INSUFFICIENT_BUFFER
    );
    assert_eq!(count as i64, created);
    assert_eq!(bg_manager_close(shared.manager), S_OK);
}

#[cfg(feature = "test-hooks")]
mod hooks {
    use super::*;
    use bgcopy::ffi::test_hooks::{bg_test_hold, bg_test_panic, bg_test_release_hold};
    use bgcopy::hresult::E_UNEXPECTED;

    #[test]
    fn panic_entry_point_returns_e_unexpected_and_the_library_goes_on() {
        for _ in 0..3 {
            assert_eq!(bg_test_panic(), E_UNEXPECTED);
        }
        let m = open_memory();
        let j = create(m, None);
        assert_eq!(state(j), Ok(BG_JOB_STATE_SUSPENDED));

        // From several threads at once.
        let threads: Vec<_> = (0..4)
            .map(|_| std::thread::spawn(|| (0..10).all(|_| bg_test_panic() == E_UNEXPECTED)))
            .collect();
        for t in threads {
            assert!(t.join().expect("a panic crossed the boundary"));
        }
        assert_eq!(state(j), Ok(BG_JOB_STATE_SUSPENDED));
        assert_eq!(bg_job_release(j), S_OK);
        assert_eq!(bg_manager_close(m), S_OK);
    }

    #[test]
    fn hold_hooks_check_their_handle() {
        for &h in NEVER_ISSUED {
            assert_eq!(bg_test_hold(h, 0, 0), E_HANDLE);
            assert_eq!(bg_test_release_hold(h), E_HANDLE);
        }
        let m = open_memory();
        let j = create(m, None);
        assert_eq!(bg_test_hold(m, 0, 0), E_HANDLE, "a manager is not a job");
        assert_eq!(bg_test_hold(j & 0xFFFF_FFFF, 0, 0), E_HANDLE);
        assert_eq!(bg_test_hold(j, 0, 10), S_OK);
        assert_eq!(bg_test_release_hold(j), S_OK);
        assert_eq!(bg_job_release(j), S_OK);
        assert_eq!(bg_test_hold(j, 0, 10), E_HANDLE);
        assert_eq!(bg_test_release_hold(j), E_HANDLE);
        assert_eq!(bg_manager_close(m), S_OK);
    }
}
