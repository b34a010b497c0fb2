//! [`Str`]: a byte string as stored in an RDB, either bytes or an integer that
//! stands for its decimal text (integer-encoded strings, listpack/ziplist/intset
//! integers). Keeping integers as integers avoids formatting them when a consumer
//! does not need the text.

use std::fmt;

/// A string element: raw bytes, or an integer meaning its canonical decimal text.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum Str<'a> {
    /// Raw bytes.
    Bytes(&'a [u8]),
    /// An integer; its string value is the decimal text (`-5`, `0`, `12345`).
    Int(i64),
}

impl fmt::Debug for Str<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Str::Bytes(b) => write!(f, "Bytes({:?})", String::from_utf8_lossy(b)),
            Str::Int(i) => write!(f, "Int({i})"),
        }
    }
}

impl<'a> Str<'a> {
    /// Length in bytes of the string value.
    pub fn len(&self) -> usize {
        match self {
            Str::Bytes(b) => b.len(),
            Str::Int(i) => itoa::Buffer::new().format(*i).len(),
        }
    }

    /// True for the empty string.
    pub fn is_empty(&self) -> bool {
        matches!(self, Str::Bytes(b) if b.is_empty())
    }

    /// Appends the string value to `out`.
    pub fn append_to(&self, out: &mut Vec<u8>) {
        match self {
            Str::Bytes(b) => out.extend_from_slice(b),
            Str::Int(i) => out.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes()),
        }
    }

    /// The string value as an owned vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.len());
        self.append_to(&mut v);
        v
    }

    /// Calls `f` with the string value as bytes (no allocation).
    pub fn with_bytes<T>(&self, f: impl FnOnce(&[u8]) -> T) -> T {
        match self {
            Str::Bytes(b) => f(b),
            Str::Int(i) => f(itoa::Buffer::new().format(*i).as_bytes()),
        }
    }

    /// The integer value: an `Int`, or bytes that are the canonical decimal text of
    /// an `i64` (no sign `+`, no leading zeros, no spaces).
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Str::Int(i) => Some(*i),
            Str::Bytes(b) => parse_canonical_i64(b),
        }
    }

    /// The raw bytes, if this is not an integer.
    pub fn as_bytes(&self) -> Option<&'a [u8]> {
        match self {
            Str::Bytes(b) => Some(b),
            Str::Int(_) => None,
        }
    }
}

/// Parses `b` as Redis' `string2ll` does: the canonical decimal form of an `i64`.
pub fn parse_canonical_i64(b: &[u8]) -> Option<i64> {
    if b.is_empty() || b.len() > 20 {
        return None;
    }
    if b == b"0" {
        return Some(0);
    }
    let (neg, digits) = match b[0] {
        b'-' => (true, &b[1..]),
        _ => (false, b),
    };
    if digits.is_empty() || digits[0] == b'0' || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    if neg {
        if v > (i64::MAX as u64) + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_ints() {
        assert_eq!(parse_canonical_i64(b"0"), Some(0));
        assert_eq!(parse_canonical_i64(b"-5"), Some(-5));
        assert_eq!(parse_canonical_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_canonical_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b"007"[..],
            b"+1",
            b"-0",
            b" 42",
            b"9223372036854775808",
            b"1.5",
            b"",
            b"-",
        ] {
            assert_eq!(parse_canonical_i64(bad), None, "{bad:?}");
        }
        assert_eq!(Str::Int(-12).to_vec(), b"-12");
        assert_eq!(Str::Int(-12).len(), 3);
    }
}
