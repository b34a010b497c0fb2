//! [`Bytes`]: the byte string stored in the dataset (keys, elements, members,
//! fields, values). Strings of up to 22 bytes live inline in the 24-byte value,
//! longer ones in an exact-size heap box.
//!
//! Why: most elements Redis workloads store are short (a member, a field name, a
//! small counter). As `Vec<u8>` each costs 24 bytes plus a heap block of 32 or
//! more; inline they cost 24 bytes and no allocation, which roughly halves the
//! memory a replayed dataset needs. It compares, hashes and orders exactly like
//! `[u8]` (so maps keyed by it can be queried with `&[u8]`).

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

const INLINE: usize = 22;

/// A byte string with inline storage for short values.
#[derive(Clone)]
pub enum Bytes {
    /// Up to 22 bytes, stored inline.
    #[doc(hidden)]
    Inline(u8, [u8; INLINE]),
    /// Longer values.
    #[doc(hidden)]
    Heap(Box<[u8]>),
}

impl Bytes {
    /// The empty string.
    pub const fn new() -> Self {
        Self::Inline(0, [0; INLINE])
    }

    /// The bytes.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        match self {
            Self::Inline(n, b) => &b[..*n as usize],
            Self::Heap(b) => b,
        }
    }

    /// A copy as a `Vec`.
    pub fn to_vec(&self) -> Vec<u8> {
        self.as_slice().to_vec()
    }
}

impl Default for Bytes {
    fn default() -> Self {
        Self::new()
    }
}

impl Deref for Bytes {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for Bytes {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Borrow<[u8]> for Bytes {
    fn borrow(&self) -> &[u8] {
        self.as_slice()
    }
}

impl From<&[u8]> for Bytes {
    fn from(s: &[u8]) -> Self {
        if s.len() <= INLINE {
            let mut b = [0; INLINE];
            b[..s.len()].copy_from_slice(s);
            Self::Inline(s.len() as u8, b)
        } else {
            Self::Heap(s.into())
        }
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(v: Vec<u8>) -> Self {
        if v.len() <= INLINE {
            v.as_slice().into()
        } else {
            Self::Heap(v.into_boxed_slice())
        }
    }
}

impl From<&Vec<u8>> for Bytes {
    fn from(v: &Vec<u8>) -> Self {
        v.as_slice().into()
    }
}

impl<const N: usize> From<&[u8; N]> for Bytes {
    fn from(v: &[u8; N]) -> Self {
        v.as_slice().into()
    }
}

impl From<Bytes> for Vec<u8> {
    fn from(b: Bytes) -> Self {
        match b {
            Bytes::Heap(h) => h.into_vec(),
            Bytes::Inline(..) => b.to_vec(),
        }
    }
}

impl PartialEq for Bytes {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Bytes {}

impl PartialEq<[u8]> for Bytes {
    fn eq(&self, other: &[u8]) -> bool {
        self.as_slice() == other
    }
}

impl PartialOrd for Bytes {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Bytes {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_slice().cmp(other.as_slice())
    }
}

impl Hash for Bytes {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Must hash like `[u8]` for `Borrow<[u8]>` lookups.
        self.as_slice().hash(state);
    }
}

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn inline_and_heap_behave_like_slices() {
        assert_eq!(std::mem::size_of::<Bytes>(), 24);
        let short: Bytes = b"abc".into();
        let long: Bytes = vec![7u8; 40].into();
        assert!(matches!(short, Bytes::Inline(..)));
        assert!(matches!(long, Bytes::Heap(_)));
        assert_eq!(&*short, b"abc");
        let mut set: HashSet<Bytes> = HashSet::new();
        set.insert(short.clone());
        set.insert(long.clone());
        assert!(set.contains(&b"abc"[..]));
        assert!(set.contains(&[7u8; 40][..]));
        assert!(Bytes::from(b"a") < Bytes::from(b"b"));
        assert_eq!(Vec::from(long), vec![7u8; 40]);
    }
}
