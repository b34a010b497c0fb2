//! The compact encodings embedded in RDB strings ("blobs"): listpack, ziplist,
//! intset and zipmap (FORMATS.md §1.11).
//!
//! Each module has one `parse` function that walks the blob once, performing the
//! same deep validation as Redis' `*ValidateIntegrity(..., deep=1)` functions, and
//! records every entry as a [`Val`] (a range of the blob or an integer) in a
//! reusable vector. Callers then read elements from that vector without decoding
//! again. Errors carry the position inside the blob.

pub mod intset;
pub mod listpack;
pub mod ziplist;
pub mod zipmap;

use std::fmt;

use super::str::Str;

/// One decoded entry of a compact structure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Val {
    /// A string: `len` bytes starting at `start` in the blob.
    Str {
        /// Start offset in the blob.
        start: u32,
        /// Length in bytes.
        len: u32,
    },
    /// An integer entry.
    Int(i64),
}

impl Val {
    /// The entry as a [`Str`] borrowing from `blob`.
    #[inline]
    pub fn get<'a>(&self, blob: &'a [u8]) -> Str<'a> {
        match *self {
            Val::Str { start, len } => {
                let s = start as usize;
                Str::Bytes(blob.get(s..s + len as usize).unwrap_or_default())
            }
            Val::Int(i) => Str::Int(i),
        }
    }
}

/// A validation failure inside a blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactError {
    /// Position inside the blob.
    pub pos: usize,
    /// What is wrong.
    pub msg: String,
}

impl CompactError {
    pub(crate) fn new(pos: usize, msg: impl Into<String>) -> Self {
        Self {
            pos,
            msg: msg.into(),
        }
    }
}

impl fmt::Display for CompactError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {} of the blob)", self.msg, self.pos)
    }
}

#[inline]
pub(crate) fn u16le(b: &[u8], p: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(p..p + 2)?.try_into().ok()?))
}

#[inline]
pub(crate) fn u32le(b: &[u8], p: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(p..p + 4)?.try_into().ok()?))
}

#[inline]
pub(crate) fn i64le(b: &[u8], p: usize) -> Option<i64> {
    Some(i64::from_le_bytes(b.get(p..p + 8)?.try_into().ok()?))
}

#[inline]
pub(crate) fn i32le(b: &[u8], p: usize) -> Option<i32> {
    Some(i32::from_le_bytes(b.get(p..p + 4)?.try_into().ok()?))
}

#[inline]
pub(crate) fn i16le(b: &[u8], p: usize) -> Option<i16> {
    Some(i16::from_le_bytes(b.get(p..p + 2)?.try_into().ok()?))
}

/// Sign-extended 24-bit little-endian integer.
#[inline]
pub(crate) fn i24le(b: &[u8], p: usize) -> Option<i64> {
    let s = b.get(p..p + 3)?;
    let v = i32::from_le_bytes([0, s[0], s[1], s[2]]) >> 8;
    Some(i64::from(v))
}
