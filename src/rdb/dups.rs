//! Duplicate detection for set members, hash fields, zset members, stream group,
//! consumer and PEL ids, and (optionally) keys.
//!
//! Members are remembered by their 128-bit XXH3 hash, so memory stays at about
//! 16-32 bytes per member whatever its length and nothing is copied. Two distinct
//! members collide with probability about n²/2¹²⁹ (for a billion members, below
//! 10⁻²¹); a collision would report a duplicate that is not one, never hide a real
//! duplicate.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

use super::str::Str;

/// A hasher for values that are already uniformly distributed hashes.
#[derive(Default)]
pub struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.0 ^= u64::from_le_bytes(b);
        }
    }
    fn write_u128(&mut self, v: u128) {
        self.0 = v as u64 ^ (v >> 64) as u64;
    }
}

/// A set of 128-bit hashes of byte strings.
#[derive(Default)]
pub struct DupSet {
    set: HashSet<u128, BuildHasherDefault<PassThrough>>,
}

/// Above this capacity, `clear` shrinks the table so that one huge value does not
/// make every later small value pay for clearing a huge table.
const SHRINK_ABOVE: usize = 1 << 16;

impl DupSet {
    /// Forgets every member.
    pub fn clear(&mut self) {
        if self.set.capacity() > SHRINK_ABOVE {
            self.set = HashSet::default();
        } else if !self.set.is_empty() {
            // (Clearing resets every control byte even when nothing is
            // there: after one large value, every later key would pay it.)
            self.set.clear();
        }
    }

    /// Number of members remembered.
    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    /// Adds `bytes`; returns false if it was already present.
    #[inline]
    pub fn insert_bytes(&mut self, bytes: &[u8]) -> bool {
        self.set.insert(xxhash_rust::xxh3::xxh3_128(bytes))
    }

    /// Adds a precomputed 128-bit XXH3 hash; returns false if it was present.
    #[inline]
    pub fn insert_hash(&mut self, h: u128) -> bool {
        self.set.insert(h)
    }

    /// Adds the string value of `s`; returns false if it was already present.
    #[inline]
    pub fn insert(&mut self, s: Str<'_>) -> bool {
        match s {
            Str::Bytes(b) => self.insert_bytes(b),
            Str::Int(i) => self.insert_bytes(itoa::Buffer::new().format(i).as_bytes()),
        }
    }

    /// Removes `bytes`; returns whether it was present.
    pub fn remove_bytes(&mut self, bytes: &[u8]) -> bool {
        self.set.remove(&xxhash_rust::xxh3::xxh3_128(bytes))
    }

    /// Whether `bytes` is present.
    pub fn contains_bytes(&self, bytes: &[u8]) -> bool {
        self.set.contains(&xxhash_rust::xxh3::xxh3_128(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints_and_text_are_the_same_member() {
        let mut d = DupSet::default();
        assert!(d.insert(Str::Int(12)));
        assert!(!d.insert(Str::Bytes(b"12")));
        assert!(d.insert(Str::Bytes(b"012")));
        d.clear();
        assert!(d.is_empty());
    }
}
