//! Persistent job identifiers: random (version 4) GUIDs in the usual text form.

use crate::hresult::{Error, Result};
use std::fmt;

/// A job's persistent 16-byte identifier.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Guid(pub [u8; 16]);

impl Guid {
    /// A new random version-4 GUID from the operating system's random source.
    pub fn new_random() -> Result<Self> {
        let mut bytes = [0u8; 16];
        let mut filled = 0;
        while filled < bytes.len() {
            // SAFETY: writes at most bytes.len() - filled bytes into our own buffer.
            let n = unsafe {
                libc::getrandom(bytes[filled..].as_mut_ptr().cast(), bytes.len() - filled, 0)
            };
            if n < 0 {
                let err = std::io::Error::last_os_error();
                if err.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(Error::io("reading random bytes for a job id", err));
            }
            filled += n as usize;
        }
        bytes[6] = (bytes[6] & 0x0F) | 0x40;
        bytes[8] = (bytes[8] & 0x3F) | 0x80;
        Ok(Guid(bytes))
    }

    /// Parses `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, optionally inside `{}` (as Windows prints
    /// GUIDs); hex digits in either case. Anything else → `E_INVALIDARG`.
    pub fn parse(text: &str) -> Result<Self> {
        let inner = text
            .strip_prefix('{')
            .and_then(|t| t.strip_suffix('}'))
            .unwrap_or(text);
        let bad = || Error::InvalidArg("GUID text is not xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx");
        if inner.len() != 36 {
            return Err(bad());
        }
        let mut bytes = [0u8; 16];
        let mut nibbles = 0;
        for (i, c) in inner.char_indices() {
            if matches!(i, 8 | 13 | 18 | 23) {
                if c != '-' {
                    return Err(bad());
                }
                continue;
            }
            let v = c.to_digit(16).ok_or_else(bad)? as u8;
            bytes[nibbles / 2] |= if nibbles % 2 == 0 { v << 4 } else { v };
            nibbles += 1;
        }
        Ok(Guid(bytes))
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejects() {
        let g = Guid::new_random().unwrap();
        let text = g.to_string();
        assert_eq!(text.len(), 36);
        assert_eq!(Guid::parse(&text).unwrap(), g);
        assert_eq!(
            Guid::parse(&format!("{{{}}}", text.to_uppercase())).unwrap(),
            g
        );
        assert_eq!(text.as_bytes()[14], b'4');
        for bad in [
            "",
            "x",
            "0123456789abcdef0123456789abcdef0123",
            "01234567-89ab-cdef-0123-456789abcdeg",
            "01234567+89ab-cdef-0123-456789abcdef",
            "{01234567-89ab-cdef-0123-456789abcdef",
        ] {
            assert!(Guid::parse(bad).is_err(), "{bad}");
        }
        assert_ne!(Guid::new_random().unwrap(), g);
    }
}
