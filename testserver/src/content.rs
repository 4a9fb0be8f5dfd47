//! Deterministic content, validators and size parsing.
//!
//! Byte `i` of the resource with `(seed, version)` is
//!
//! ```text
//! key    = splitmix64(seed ^ splitmix64(version))
//! word   = splitmix64((i >> 3) ^ key)
//! byte_i = (word >> (8 * (i & 7))) & 0xff        // little-endian byte i%8 of the word
//! ```
//!
//! The bytes do not depend on the size, so `/data/100` is a prefix of `/data/1000` (same seed and
//! version), and a test can verify any downloaded file with [`content_byte_block`] alone.

/// splitmix64 finaliser (Steele, Lea, Flood 2014), as used by `java.util.SplittableRandom`.
#[inline(always)]
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[inline(always)]
fn content_key(seed: u64, version: u64) -> u64 {
    splitmix64(seed ^ splitmix64(version))
}

/// Fill `buf` with the content bytes `offset .. offset + buf.len()` of the resource generated
/// from `(seed, version)`.
pub fn content_byte_block(seed: u64, version: u64, offset: u64, buf: &mut [u8]) {
    let key = content_key(seed, version);
    let mut pos = offset;
    let mut out = &mut buf[..];
    // Unaligned head.
    let head = ((8 - (pos & 7)) & 7) as usize;
    if head > 0 {
        let n = head.min(out.len());
        let w = splitmix64((pos >> 3) ^ key).to_le_bytes();
        let start = (pos & 7) as usize;
        out[..n].copy_from_slice(&w[start..start + n]);
        pos += n as u64;
        out = &mut out[n..];
    }
    // Aligned body, 8 bytes per word.
    let mut block = pos >> 3;
    let mut chunks = out.chunks_exact_mut(8);
    for c in &mut chunks {
        c.copy_from_slice(&splitmix64(block ^ key).to_le_bytes());
        block += 1;
    }
    // Tail.
    let rest = chunks.into_remainder();
    if !rest.is_empty() {
        let w = splitmix64(block ^ key).to_le_bytes();
        let n = rest.len();
        rest.copy_from_slice(&w[..n]);
    }
}

/// One content byte (slow path, for spot checks).
pub fn content_byte(seed: u64, version: u64, index: u64) -> u8 {
    (splitmix64((index >> 3) ^ content_key(seed, version)) >> (8 * (index & 7))) as u8
}

/// Compare `data` against the generated content starting at `offset`; returns the index (within
/// `data`) of the first mismatching byte, or `None` when everything matches.
pub fn verify_content(seed: u64, version: u64, offset: u64, data: &[u8]) -> Option<usize> {
    let mut buf = vec![0u8; 256 * 1024];
    let mut done = 0usize;
    while done < data.len() {
        let n = (data.len() - done).min(buf.len());
        content_byte_block(seed, version, offset + done as u64, &mut buf[..n]);
        if buf[..n] != data[done..done + n] {
            let i = buf[..n]
                .iter()
                .zip(&data[done..done + n])
                .position(|(a, b)| a != b)
                .unwrap();
            return Some(done + i);
        }
        done += n;
    }
    None
}

/// Strong ETag (with the quotes) of `/data/<size>` for `(seed, version)`: `"<seed>-<version>-<size>"`.
pub fn content_etag(seed: u64, version: u64, size: u64) -> String {
    format!("\"{seed}-{version}-{size}\"")
}

/// Unix time of the `Last-Modified` of content version `version`: 2020-01-01T00:00:00Z + version hours.
pub fn content_mtime(version: u64) -> u64 {
    1_577_836_800 + version * 3600
}

/// `Last-Modified` header value of content version `version` (IMF-fixdate).
pub fn content_last_modified(version: u64) -> String {
    http_date(content_mtime(version))
}

/// Parse a size with an optional binary suffix: `123`, `4k` (4096), `256m`, `1g`; case-insensitive.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let (num, mult) = match s.as_bytes()[s.len() - 1].to_ascii_lowercase() {
        b'k' => (&s[..s.len() - 1], 1u64 << 10),
        b'm' => (&s[..s.len() - 1], 1u64 << 20),
        b'g' => (&s[..s.len() - 1], 1u64 << 30),
        b't' => (&s[..s.len() - 1], 1u64 << 40),
        _ => (s, 1),
    };
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    num.parse::<u64>().ok()?.checked_mul(mult)
}

/// IMF-fixdate (RFC 9110 §5.6.7) of a Unix time: `Wed, 01 Jan 2020 00:00:00 GMT`.
pub fn http_date(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    let (y, m, d) = civil_from_days(days);
    const WD: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MO: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        WD[(days % 7) as usize],
        d,
        MO[(m - 1) as usize],
        y,
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = (z - era * 146_097) as u64;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe as i64 + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_matches_bytewise() {
        for &(seed, ver) in &[(0u64, 0u64), (7, 3), (u64::MAX, 1)] {
            for off in [0u64, 1, 5, 8, 13, 1 << 33] {
                for len in [0usize, 1, 3, 8, 9, 31, 100] {
                    let mut b = vec![0u8; len];
                    content_byte_block(seed, ver, off, &mut b);
                    for (i, x) in b.iter().enumerate() {
                        assert_eq!(*x, content_byte(seed, ver, off + i as u64));
                    }
                }
            }
        }
    }

    #[test]
    fn seeds_and_versions_differ() {
        let mut a = [0u8; 64];
        let mut b = [0u8; 64];
        content_byte_block(0, 0, 0, &mut a);
        content_byte_block(1, 0, 0, &mut b);
        assert_ne!(a, b);
        content_byte_block(0, 1, 0, &mut b);
        assert_ne!(a, b);
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1048576"), Some(1048576));
        assert_eq!(parse_size("1k"), Some(1024));
        assert_eq!(parse_size("256M"), Some(256 << 20));
        assert_eq!(parse_size("1g"), Some(1 << 30));
        assert_eq!(parse_size("k"), None);
        assert_eq!(parse_size("-1"), None);
        assert_eq!(parse_size("1x"), None);
    }

    #[test]
    fn dates() {
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(content_last_modified(0), "Wed, 01 Jan 2020 00:00:00 GMT");
        assert_eq!(content_last_modified(25), "Thu, 02 Jan 2020 01:00:00 GMT");
        assert_eq!(http_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
    }
}
