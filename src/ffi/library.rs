//! Library-wide functions: version, messages, GUID text.

use super::args::{check_string_out, out_arg, ref_arg, str_arg, write_string};
use super::boundary;
use super::types::bg_guid;
use crate::hresult::{self, bg_hresult, S_OK};
use crate::model::Guid;
use std::ffi::{c_char, CStr};

static VERSION_C: &CStr = {
    const BYTES: &[u8] = concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes();
    match CStr::from_bytes_with_nul(BYTES) {
        Ok(c) => c,
        Err(_) => panic!("version contains a NUL"),
    }
};

/// Returns the library's version, e.g. "0.1.0" (equal to BGCOPY_VERSION_STRING of the header
/// it was built with). The string is static: never free it.
///
/// Thread-safe. Never fails.
#[no_mangle]
pub extern "C" fn bg_version() -> *const c_char {
    VERSION_C.as_ptr()
}

/// Returns a static English message for any code: every BG_S_ / BG_E_ / generic code, any
/// HTTP code 0x801900xx, and a generic text for unknown codes. Never NULL; never free it.
///
/// Thread-safe. Never fails.
#[no_mangle]
pub extern "C" fn bg_hresult_message(hr: bg_hresult) -> *const c_char {
    boundary::call_or(
        c"Internal error while looking up the message.".as_ptr(),
        || hresult::message(hr).as_ptr(),
    )
}

/// Writes a GUID as text, "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (36 characters and a NUL), into
/// `buf` of `cap` bytes, and its size (37) into `*out_needed`.
///
/// Thread-safe. Returns S_OK; BG_E_INSUFFICIENT_BUFFER when `cap` < 37 (with `*out_needed`
/// set; `buf` may be NULL with `cap` 0 to ask); E_INVALIDARG when `id` or `out_needed` is NULL,
/// or `buf` is NULL with `cap` > 0.
#[no_mangle]
pub unsafe extern "C" fn bg_guid_to_string(
    id: *const bg_guid,
    buf: *mut c_char,
    cap: usize,
    out_needed: *mut usize,
) -> bg_hresult {
    boundary::call(|| {
        // SAFETY: NULL is checked; otherwise the caller passes a valid bg_guid.
        let id = unsafe { ref_arg(id, "id") }?;
        check_string_out(buf, cap, out_needed)?;
        // SAFETY: arguments checked above.
        unsafe { write_string(&Guid(id.bytes).to_string(), buf, cap, out_needed) }?;
        Ok(S_OK)
    })
}

/// Parses a GUID written as "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (hex digits in either case,
/// optionally inside braces) into `*out_id`.
///
/// Thread-safe. Returns S_OK; E_INVALIDARG when `text` or `out_id` is NULL, `text` is not
/// UTF-8 or not a GUID.
#[no_mangle]
pub unsafe extern "C" fn bg_guid_from_string(
    text: *const c_char,
    out_id: *mut bg_guid,
) -> bg_hresult {
    boundary::call(|| {
        // SAFETY: NULL is checked; otherwise a NUL-terminated string per the contract.
        let text = unsafe { str_arg(text, "text") }?;
        let out = out_arg(out_id, "out_id")?;
        let guid = Guid::parse(text)?;
        // SAFETY: out checked non-NULL.
        unsafe { out.write(bg_guid { bytes: guid.0 }) };
        Ok(S_OK)
    })
}

#[cfg(test)]
mod tests {
    /// The version macros of the committed header (written in cbindgen.toml) must follow
    /// Cargo.toml: bumping one without the other fails here.
    #[test]
    fn header_version_macros_match_cargo_toml() {
        let header =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/bgcopy.h"))
                .unwrap();
        let define = |name: &str| -> String {
            let line = header
                .lines()
                .find(|l| l.starts_with(&format!("#define {name} ")))
                .unwrap_or_else(|| panic!("{name} missing from include/bgcopy.h"));
            line[format!("#define {name} ").len()..]
                .trim()
                .trim_matches('"')
                .to_string()
        };
        assert_eq!(
            define("BGCOPY_VERSION_MAJOR"),
            env!("CARGO_PKG_VERSION_MAJOR")
        );
        assert_eq!(
            define("BGCOPY_VERSION_MINOR"),
            env!("CARGO_PKG_VERSION_MINOR")
        );
        assert_eq!(
            define("BGCOPY_VERSION_PATCH"),
            env!("CARGO_PKG_VERSION_PATCH")
        );
        assert_eq!(define("BGCOPY_VERSION_STRING"), env!("CARGO_PKG_VERSION"));
        let c = unsafe { std::ffi::CStr::from_ptr(super::bg_version()) };
        assert_eq!(c.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }
}
