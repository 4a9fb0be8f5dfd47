//! Argument checks shared by every entry point: pointers, UTF-8 strings, caller buffers.
//!
//! BITS answers a NULL pointer or an invalid string with `E_INVALIDARG`, and so do these.

use crate::hresult::{Error, Result};
use std::ffi::{c_char, CStr};

/// Borrows a required UTF-8 string argument. NULL or invalid UTF-8 → `E_INVALIDARG`.
///
/// # Safety
/// `ptr` must be NULL or point to a NUL-terminated string that outlives the returned borrow.
pub unsafe fn str_arg<'a>(ptr: *const c_char, what: &'static str) -> Result<&'a str> {
    if ptr.is_null() {
        return Err(Error::InvalidArg(what));
    }
    // SAFETY: non-NULL and NUL-terminated per the caller's contract.
    unsafe { CStr::from_ptr(ptr) }
        .to_str()
        .map_err(|_| Error::InvalidArg(what))
}

/// Borrows an optional UTF-8 string argument: NULL gives `None`; invalid UTF-8 → `E_INVALIDARG`.
///
/// # Safety
/// As [`str_arg`].
pub unsafe fn opt_str_arg<'a>(ptr: *const c_char, what: &'static str) -> Result<Option<&'a str>> {
    if ptr.is_null() {
        Ok(None)
    } else {
        // SAFETY: forwarded contract.
        unsafe { str_arg(ptr, what) }.map(Some)
    }
}

/// Checks that an out-param is not NULL (→ `E_INVALIDARG`), before any work is done.
pub fn out_arg<T>(ptr: *mut T, what: &'static str) -> Result<*mut T> {
    if ptr.is_null() {
        Err(Error::InvalidArg(what))
    } else {
        Ok(ptr)
    }
}

/// Checks a reference argument that is only read. NULL → `E_INVALIDARG`.
///
/// # Safety
/// `ptr` must be NULL or point to a valid `T` for the duration of the returned borrow.
pub unsafe fn ref_arg<'a, T>(ptr: *const T, what: &'static str) -> Result<&'a T> {
    // SAFETY: caller's contract.
    unsafe { ptr.as_ref() }.ok_or(Error::InvalidArg(what))
}

/// Checks a caller buffer for a string result: `out_needed` must not be NULL and `buf` may be
/// NULL only with `cap == 0`. Call before doing the work, so bad arguments change nothing.
pub fn check_string_out(buf: *mut c_char, cap: usize, out_needed: *mut usize) -> Result<()> {
    if out_needed.is_null() {
        return Err(Error::InvalidArg("out_needed"));
    }
    if buf.is_null() && cap != 0 {
        return Err(Error::InvalidArg("buf is NULL but cap is not 0"));
    }
    Ok(())
}

/// Copies `text` and a NUL into the caller's buffer and sets `*out_needed` to its size in bytes
/// (including the NUL). A buffer that is too small gets nothing written into it, `*out_needed`
/// still set, and `BG_E_INSUFFICIENT_BUFFER`.
///
/// # Safety
/// The arguments must have passed [`check_string_out`]; `buf` must point to `cap` writable bytes.
pub unsafe fn write_string(
    text: &str,
    buf: *mut c_char,
    cap: usize,
    out_needed: *mut usize,
) -> Result<()> {
    let needed = text.len() + 1;
    // SAFETY: out_needed checked non-NULL by check_string_out.
    unsafe { out_needed.write(needed) };
    if cap < needed {
        return Err(Error::InsufficientBuffer { needed });
    }
    // SAFETY: buf has cap >= needed writable bytes; the regions cannot overlap (text is ours).
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), text.len());
        buf.add(text.len()).write(0);
    }
    Ok(())
}
