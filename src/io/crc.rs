//! CRC-64/Jones ("CRC-64/REDIS"), the checksum of RDB trailers and DUMP payloads.
//!
//! Computed with `crc-fast` (SIMD folding) and custom parameters: polynomial
//! `0xad93d23594c935a9`, reflected, init 0, no final xor. Note that the `crc64fast`
//! crate computes CRC-64/XZ, a different CRC, and would be wrong here.

use crc_fast::{CrcParams, Digest};

/// Check value of CRC-64/Jones over the ASCII bytes `123456789`.
pub const CHECK_VALUE: u64 = 0xe9c6_d914_c4b8_d9ca;

/// The parameters, made once: `CrcParams::new` computes folding keys and goes
/// through a lock-protected cache, which cost a measurable share of guessing
/// chunk boundaries (one reader, hence one CRC, per probe).
fn params() -> CrcParams {
    static PARAMS: std::sync::OnceLock<CrcParams> = std::sync::OnceLock::new();
    *PARAMS.get_or_init(make_params)
}

fn make_params() -> CrcParams {
    CrcParams::new(
        "CRC-64/REDIS",
        64,
        0xad93_d235_94c9_35a9,
        0,
        true,
        0,
        CHECK_VALUE,
    )
}

/// An incremental CRC-64/Jones computation.
#[derive(Clone)]
pub struct Crc64 {
    digest: Digest,
}

impl Default for Crc64 {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Crc64 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Crc64({:016x})", self.value())
    }
}

impl Crc64 {
    /// A new computation over zero bytes (value 0).
    pub fn new() -> Self {
        Self {
            digest: Digest::new_with_params(params()),
        }
    }

    /// Feeds more bytes.
    pub fn update(&mut self, data: &[u8]) {
        self.digest.update(data);
    }

    /// The CRC of every byte fed so far.
    pub fn value(&self) -> u64 {
        self.digest.finalize()
    }

    /// Appends the bytes `other` was fed, as if fed here after this one's
    /// (the CRC of a file from the CRCs of its parts, computed apart).
    pub fn combine(&mut self, other: &Self) {
        self.digest.combine(&other.digest);
    }
}

/// The CRC-64/Jones of `data`.
pub fn crc64(data: &[u8]) -> u64 {
    let mut c = Crc64::new();
    c.update(data);
    c.value()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_value() {
        assert_eq!(crc64(b"123456789"), 0xe9c6_d914_c4b8_d9ca);
        assert_eq!(crc64(b""), 0);
    }

    #[test]
    fn incremental_equals_one_shot() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 31 % 251) as u8).collect();
        let mut c = Crc64::new();
        for chunk in data.chunks(7) {
            c.update(chunk);
        }
        assert_eq!(c.value(), crc64(&data));
    }

    #[test]
    fn combined_parts_equal_the_whole() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 131 % 253) as u8).collect();
        for cuts in [
            &[0usize][..],
            &[1, 2, 3],
            &[0, 0, 4096],
            &[17, 65_536, 99_999, 100_000],
        ] {
            let mut whole = Crc64::new();
            let mut from = 0;
            for &c in cuts.iter().chain(std::iter::once(&data.len())) {
                let mut part = Crc64::new();
                part.update(&data[from..c]);
                whole.combine(&part);
                from = c;
            }
            assert_eq!(whole.value(), crc64(&data), "cuts {cuts:?}");
        }
        // Combining into a CRC that was fed before.
        let mut c = Crc64::new();
        c.update(&data[..12_345]);
        let mut rest = Crc64::new();
        rest.update(&data[12_345..]);
        c.combine(&rest);
        assert_eq!(c.value(), crc64(&data));
    }

    #[test]
    fn lorem_vector_from_upstream() {
        // The upstream crc64 test: the 445-character "Lorem ipsum" sentence including
        // its trailing NUL byte.
        let li = b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur. Excepteur sint occaecat cupidatat non proident, sunt in culpa qui officia deserunt mollit anim id est laborum.\0";
        assert_eq!(li.len(), 446);
        assert_eq!(crc64(li), 0xc779_4709_e696_83b3);
    }
}
