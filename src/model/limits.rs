//! String and size limits (spec §3.12). BITS counts characters in UTF-16 code units; bgcopy
//! takes UTF-8 and counts the same UTF-16 units, so a name BITS accepts bgcopy accepts too.
//! Local paths are POSIX paths, so they are limited in bytes by PATH_MAX and NAME_MAX instead of
//! Windows' MAX_PATH (260).

use crate::hresult::{Error, Result};

/// Display name: at most 256 characters.
pub(crate) const DISPLAY_NAME_MAX: usize = 256;
/// Description: at most 1,024 characters.
pub(crate) const DESCRIPTION_MAX: usize = 1024;
/// Remote URL: at most 2,200 characters.
pub(crate) const URL_MAX: usize = 2200;
/// One path segment of a remote URL: at most MAX_PATH (260) characters.
pub(crate) const URL_SEGMENT_MAX: usize = 260;
/// Local path: at most PATH_MAX - 1 bytes (4,095).
pub(crate) const LOCAL_PATH_MAX_BYTES: usize = 4095;
/// One component of a local path: at most NAME_MAX bytes (255).
pub(crate) const LOCAL_NAME_MAX_BYTES: usize = 255;

/// Length of `s` in UTF-16 code units, the unit of BITS' limits.
pub fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// `BG_E_STRING_TOO_LONG` when `s` has more than `max` UTF-16 units.
pub fn check_len(s: &str, max: usize, what: &'static str) -> Result<()> {
    if utf16_len(s) > max {
        Err(Error::StringTooLong(what))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_utf16_units() {
        assert_eq!(utf16_len("abc"), 3);
        assert_eq!(utf16_len("é"), 1);
        assert_eq!(utf16_len("😀"), 2);
        assert!(check_len(&"x".repeat(256), DISPLAY_NAME_MAX, "n").is_ok());
        assert!(matches!(
            check_len(&"x".repeat(257), DISPLAY_NAME_MAX, "n"),
            Err(Error::StringTooLong(_))
        ));
    }
}
