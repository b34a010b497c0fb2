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
    /// The CRC of the bytes before those fed to `digest` (from
    /// [`Crc64::combine`]; 0 when none), and their number.
    base: u64,
    base_len: u64,
    /// The bytes fed since.
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
            base: 0,
            base_len: 0,
            digest: Digest::new_with_params(params()),
        }
    }

    /// Feeds more bytes.
    pub fn update(&mut self, data: &[u8]) {
        self.digest.update(data);
    }

    /// The CRC of every byte fed so far.
    pub fn value(&self) -> u64 {
        let tail = self.digest.finalize();
        if self.base == 0 {
            // (0 times anything is 0: bytes whose CRC is 0 before the tail.)
            tail
        } else {
            mul_mod(x_pow_8n(self.digest.get_amount()), self.base) ^ tail
        }
    }

    /// The number of bytes fed so far.
    pub fn len(&self) -> u64 {
        self.base_len + self.digest.get_amount()
    }

    /// Whether no byte was fed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends the bytes `other` was fed, as if fed here after this one's
    /// (the CRC of a file from the CRCs of its parts, computed apart by
    /// several threads).
    ///
    /// With init 0 and no final xor, the CRC is linear: `crc(A ‖ B) =
    /// crc(A)·x^(8|B|) ⊕ crc(B)` modulo the polynomial. The product is taken
    /// here with a table of `x^(2^k)` (a few dozen 64-bit carry-less
    /// products, about 5,000 instructions): `crc-fast`'s own
    /// `Digest::combine` multiplies 64×64 bit matrices, about 550,000
    /// instructions per call (measured with callgrind), a share that showed in
    /// a parallel dump combining one CRC per 256 KiB chunk.
    pub fn combine(&mut self, other: &Self) {
        let v = mul_mod(x_pow_8n(other.len()), self.value()) ^ other.value();
        self.base = v;
        self.base_len = self.len() + other.len();
        self.digest = Digest::new_with_params(params());
    }
}

/// The polynomial, reflected (bit 63 is the coefficient of `x^0`, as in the
/// CRC's own register).
const POLY_REFLECTED: u64 = 0x95ac_9329_ac4b_c9b5;

/// `a·b` modulo the polynomial, both reflected.
fn mul_mod(a: u64, mut b: u64) -> u64 {
    let mut product = 0;
    let mut m = 1u64 << 63;
    while m != 0 && a & (m | (m - 1)) != 0 {
        if a & m != 0 {
            product ^= b;
        }
        // b·x
        b = if b & 1 == 0 {
            b >> 1
        } else {
            (b >> 1) ^ POLY_REFLECTED
        };
        m >>= 1;
    }
    product
}

/// `x^(8n)` modulo the polynomial, reflected.
fn x_pow_8n(n: u64) -> u64 {
    // X2N[k] = x^(2^k); 8n < 2^67.
    static X2N: std::sync::OnceLock<[u64; 67]> = std::sync::OnceLock::new();
    let t = X2N.get_or_init(|| {
        let mut t = [0u64; 67];
        t[0] = 1 << 62; // x^1
        for k in 1..t.len() {
            t[k] = mul_mod(t[k - 1], t[k - 1]);
        }
        t
    });
    let mut p = 1u64 << 63; // x^0
    let mut n = n;
    let mut k = 3; // 8n: bit j of n is bit j + 3 of 8n
    while n != 0 {
        if n & 1 != 0 {
            p = mul_mod(t[k], p);
        }
        n >>= 1;
        k += 1;
    }
    p
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
        // Combining into a CRC that was fed before, feeding it after, and
        // combining CRCs that were combined themselves.
        let mut c = Crc64::new();
        c.update(&data[..12_345]);
        let mut rest = Crc64::new();
        rest.update(&data[12_345..50_000]);
        let mut last = Crc64::new();
        last.update(&data[50_000..70_000]);
        rest.combine(&last);
        c.combine(&rest);
        assert_eq!(c.len(), 70_000);
        c.update(&data[70_000..]);
        assert_eq!(c.value(), crc64(&data));
        assert_eq!(c.len(), data.len() as u64);
        // The same as crc-fast's own combine.
        let (mut a, mut b) = (
            Digest::new_with_params(params()),
            Digest::new_with_params(params()),
        );
        a.update(&data[..777]);
        b.update(&data[777..]);
        a.combine(&b);
        assert_eq!(a.finalize(), crc64(&data));
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
