//! [`PackedMap`]: the field → (value, TTL) map of a replayed hash, stored the
//! way a server's listpack stores a small hash: every field and value back to
//! back in one byte buffer, with a hash table of 4-byte record offsets to find
//! a field. A field costs its bytes plus 2 to 4 bytes of lengths and a flag
//! byte, plus about 8 bytes of table; as a `HashMap<Bytes, HashValue>` it cost
//! 64 bytes a slot (and up to twice that many slots), so hashes take a quarter
//! of the memory they did, less than a server needs for the same hash.
//!
//! Records are appended; a removed or rewritten record is marked dead and the
//! buffer is compacted once dead records make up half of it (amortised O(1) a
//! change). Iteration follows the buffer (insertion order): callers that need
//! a canonical order sort, as the writer does.
//!
//! [`FastHash`] is the hasher of the replay's tables (this one and the keys of
//! each database, sets and sorted sets): the `foldhash` crate's fast hash,
//! keyed with a random seed per process. `SipHash` (std's default) resists an
//! attacker who sees the hashes and adapts his keys; an offline replay of a
//! file has no such attacker, and the random seed still keeps a crafted file
//! from making the tables degenerate in a way that can be planned in advance.
//! `FastHash` is zero-sized (the seed is global), so the many small sets and
//! maps of a dataset carry no hasher state.

use std::hash::BuildHasher;
use std::sync::OnceLock;

use foldhash::fast::{FixedState, FoldHasher};
use hashbrown::HashTable;

/// The per-process state of [`FastHash`]: a random seed.
fn state() -> &'static FixedState {
    static STATE: OnceLock<FixedState> = OnceLock::new();
    STATE.get_or_init(|| FixedState::with_seed(std::hash::RandomState::new().hash_one(0x5eed_u64)))
}

/// A byte string's hash in the tables of this module.
#[inline]
fn hash_of(b: &[u8]) -> u64 {
    state().hash_one(b)
}

/// A zero-sized [`BuildHasher`] for the replay's hash maps and sets (see the
/// module documentation).
#[derive(Clone, Copy, Debug, Default)]
pub struct FastHash;

impl BuildHasher for FastHash {
    type Hasher = FoldHasher<'static>;
    #[inline]
    fn build_hasher(&self) -> FoldHasher<'static> {
        state().build_hasher()
    }
}

/// A `HashMap` with [`FastHash`].
pub type FastMap<K, V> = std::collections::HashMap<K, V, FastHash>;
/// A `HashSet` with [`FastHash`].
pub type FastSet<K> = std::collections::HashSet<K, FastHash>;

const LIVE: u8 = 1;
const TTL: u8 = 2;

/// A hash's fields (see the module documentation).
#[derive(Clone, Default)]
pub struct PackedMap {
    /// Offsets of the live records in `buf`.
    table: HashTable<u32>,
    /// Records: flags, field length, field, value length, value, TTL (8
    /// bytes, little endian) when flagged.
    buf: Vec<u8>,
    /// Bytes of dead records in `buf`.
    dead: usize,
}

/// One record, borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field<'a> {
    /// The field.
    pub field: &'a [u8],
    /// Its value.
    pub value: &'a [u8],
    /// Its expiry, absolute Unix ms.
    pub expire_ms: Option<i64>,
}

fn put_len(buf: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        buf.push((n as u8) | 0x80);
        n >>= 7;
    }
    buf.push(n as u8);
}

#[inline]
fn get_len(buf: &[u8], pos: &mut usize) -> usize {
    let mut n = 0usize;
    let mut shift = 0;
    loop {
        let b = buf[*pos];
        *pos += 1;
        n |= usize::from(b & 0x7f) << shift;
        if b < 0x80 {
            return n;
        }
        shift += 7;
    }
}

/// Appends `b` with its length before it.
fn put_bytes(buf: &mut Vec<u8>, b: &[u8]) {
    put_len(buf, b.len());
    buf.extend_from_slice(b);
}

/// The bytes at `pos` (a length, then that many bytes); `pos` moves past them.
#[inline]
fn get_bytes<'a>(buf: &'a [u8], pos: &mut usize) -> &'a [u8] {
    let len = get_len(buf, pos);
    let b = &buf[*pos..*pos + len];
    *pos += len;
    b
}

/// Appends the record of a live field to `buf`.
fn encode(buf: &mut Vec<u8>, f: Field<'_>) {
    buf.push(LIVE | if f.expire_ms.is_some() { TTL } else { 0 });
    put_bytes(buf, f.field);
    put_bytes(buf, f.value);
    if let Some(t) = f.expire_ms {
        buf.extend_from_slice(&t.to_le_bytes());
    }
}

/// The record at `at`: (flags, field, value, TTL, end offset).
fn record(buf: &[u8], at: usize) -> (u8, Field<'_>, usize) {
    let flags = buf[at];
    let mut pos = at + 1;
    let field = get_bytes(buf, &mut pos);
    let value = get_bytes(buf, &mut pos);
    let expire_ms = if flags & TTL != 0 {
        let mut t = [0u8; 8];
        t.copy_from_slice(&buf[pos..pos + 8]);
        pos += 8;
        Some(i64::from_le_bytes(t))
    } else {
        None
    };
    (
        flags,
        Field {
            field,
            value,
            expire_ms,
        },
        pos,
    )
}

/// The field of the record at `at` (what the table compares and hashes).
#[inline]
fn field_at(buf: &[u8], at: u32) -> &[u8] {
    get_bytes(buf, &mut (at as usize + 1))
}

impl PackedMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    fn find(&self, field: &[u8]) -> Option<u32> {
        let buf = &self.buf;
        self.table
            .find(hash_of(field), |&at| field_at(buf, at) == field)
            .copied()
    }

    /// The field's value and TTL.
    pub fn get(&self, field: &[u8]) -> Option<Field<'_>> {
        self.find(field).map(|at| record(&self.buf, at as usize).1)
    }

    /// True when the field exists.
    pub fn contains_key(&self, field: &[u8]) -> bool {
        self.find(field).is_some()
    }

    /// Appends a live record; returns its offset. Records beyond 4 GiB of
    /// buffer cannot be addressed: the buffer is compacted first, and a hash
    /// whose live fields alone pass 4 GiB is refused.
    fn append(&mut self, f: Field<'_>) -> Result<u32, String> {
        let size = f.field.len() + f.value.len() + 21;
        if self.buf.len() + size > u32::MAX as usize && self.dead > 0 {
            self.compact();
        }
        if self.buf.len() + size > u32::MAX as usize {
            return Err("ERR hash larger than 4 GiB (more than this tool holds)".into());
        }
        let at = self.buf.len() as u32;
        encode(&mut self.buf, f);
        Ok(at)
    }

    /// Marks the record at `at` dead.
    fn kill(&mut self, at: u32) {
        let (_, _, end) = record(&self.buf, at as usize);
        self.buf[at as usize] &= !LIVE;
        self.dead += end - at as usize;
    }

    /// Rewrites the buffer with the live records only.
    fn compact(&mut self) {
        let old = std::mem::take(&mut self.buf);
        let mut buf = Vec::with_capacity(old.len() - self.dead);
        let mut pos = 0;
        self.table.clear();
        while pos < old.len() {
            let (flags, _, end) = record(&old, pos);
            if flags & LIVE != 0 {
                let at = buf.len() as u32;
                buf.extend_from_slice(&old[pos..end]);
                let h = hash_of(field_at(&buf, at));
                let b = &buf;
                self.table
                    .insert_unique(h, at, |&x| hash_of(field_at(b, x)));
            }
            pos = end;
        }
        self.buf = buf;
        self.dead = 0;
    }

    fn maybe_compact(&mut self) {
        if self.dead > 64 && self.dead * 2 > self.buf.len() {
            self.compact();
        }
    }

    /// Sets a field (replacing its value and TTL); returns true when it was new.
    pub fn insert(
        &mut self,
        field: &[u8],
        value: &[u8],
        expire_ms: Option<i64>,
    ) -> Result<bool, String> {
        let h = hash_of(field);
        let f = Field {
            field,
            value,
            expire_ms,
        };
        if let Some(old) = self.find(field) {
            let (_, cur, end) = record(&self.buf, old as usize);
            if cur.value == value && cur.expire_ms == expire_ms {
                return Ok(false);
            }
            if cur.value.len() == value.len() && cur.expire_ms.is_some() == expire_ms.is_some() {
                // Same size (an HINCRBY, a new TTL): rewritten in place.
                let mut rec = Vec::with_capacity(end - old as usize);
                encode(&mut rec, f);
                self.buf[old as usize..end].copy_from_slice(&rec);
                return Ok(false);
            }
            let at = self.append(f)?;
            // The append may have compacted the buffer: look the field up again.
            if let Some(old) = self.find(field) {
                self.kill(old);
                let buf = &self.buf;
                if let Ok(e) = self.table.find_entry(h, |&x| field_at(buf, x) == field) {
                    *e.into_mut() = at;
                }
            }
            self.maybe_compact();
            return Ok(false);
        }
        let at = self.append(f)?;
        let buf = &self.buf;
        self.table
            .insert_unique(h, at, |&x| hash_of(field_at(buf, x)));
        Ok(true)
    }

    /// Sets the TTL of an existing field; returns false when it does not exist.
    pub fn set_expire(&mut self, field: &[u8], expire_ms: Option<i64>) -> Result<bool, String> {
        match self.get(field) {
            None => Ok(false),
            Some(f) if f.expire_ms == expire_ms => Ok(true),
            Some(f) => {
                let value = f.value.to_vec();
                self.insert(field, &value, expire_ms).map(|_| true)
            }
        }
    }

    /// Removes a field; returns true when it existed.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        let buf = &self.buf;
        let Ok(e) = self
            .table
            .find_entry(hash_of(field), |&x| field_at(buf, x) == field)
        else {
            return false;
        };
        let (at, _) = e.remove();
        self.kill(at);
        if self.table.is_empty() {
            *self = Self::default();
        } else {
            self.maybe_compact();
        }
        true
    }

    /// Every field, in the order they were last set.
    pub fn iter(&self) -> impl Iterator<Item = Field<'_>> + '_ {
        let buf = &self.buf;
        let mut pos = 0;
        std::iter::from_fn(move || {
            while pos < buf.len() {
                let (flags, f, end) = record(buf, pos);
                pos = end;
                if flags & LIVE != 0 {
                    return Some(f);
                }
            }
            None
        })
    }

    /// Keeps the fields `keep` accepts; returns how many were removed.
    pub fn retain(&mut self, mut keep: impl FnMut(Field<'_>) -> bool) -> usize {
        let mut gone = Vec::new();
        let mut pos = 0;
        while pos < self.buf.len() {
            let (flags, f, end) = record(&self.buf, pos);
            if flags & LIVE != 0 && !keep(f) {
                gone.push(f.field.to_vec());
            }
            pos = end;
        }
        for f in &gone {
            self.remove(f);
        }
        gone.len()
    }

    /// Releases spare capacity (after a bulk load).
    pub fn shrink_to_fit(&mut self) {
        self.buf.shrink_to_fit();
        let buf = &self.buf;
        self.table.shrink_to_fit(|&x| hash_of(field_at(buf, x)));
    }
}

impl PartialEq for PackedMap {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|f| other.get(f.field) == Some(f))
    }
}

impl std::fmt::Debug for PackedMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|x| {
                (
                    String::from_utf8_lossy(x.field),
                    String::from_utf8_lossy(x.value),
                    x.expire_ms,
                )
            }))
            .finish()
    }
}

/// A set's members, packed as a [`PackedMap`] of members without values.
#[derive(Clone, Default, PartialEq)]
pub struct PackedSet(PackedMap);

impl PackedSet {
    /// The set of `members` (duplicates once).
    pub fn from_members<'a>(members: impl IntoIterator<Item = &'a [u8]>) -> Result<Self, String> {
        let mut s = Self::default();
        for m in members {
            s.insert(m)?;
        }
        s.0.shrink_to_fit();
        Ok(s)
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True when `member` is in the set.
    pub fn contains(&self, member: &[u8]) -> bool {
        self.0.contains_key(member)
    }

    /// Adds a member; returns true when it was new.
    pub fn insert(&mut self, member: &[u8]) -> Result<bool, String> {
        self.0.insert(member, b"", None)
    }

    /// Removes a member; returns true when it existed.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        self.0.remove(member)
    }

    /// The members, in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.0.iter().map(|f| f.field)
    }
}

impl std::fmt::Debug for PackedSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set()
            .entries(self.iter().map(String::from_utf8_lossy))
            .finish()
    }
}

/// A stream entry's field/value pairs packed in one exact-size buffer
/// (lengths and bytes, as the server's stream listpack keeps them): about 30
/// bytes for a two-pair entry where a vector of pairs took 112.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct PackedPairs(Box<[u8]>);

impl PackedPairs {
    /// Packs pairs.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a [u8], &'a [u8])>) -> Self {
        let mut buf = Vec::new();
        for (f, v) in pairs {
            put_bytes(&mut buf, f);
            put_bytes(&mut buf, v);
        }
        Self(buf.into_boxed_slice())
    }

    /// The pairs, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        let buf = &self.0;
        let mut pos = 0;
        std::iter::from_fn(move || {
            if pos >= buf.len() {
                return None;
            }
            let f = get_bytes(buf, &mut pos);
            Some((f, get_bytes(buf, &mut pos)))
        })
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// True without pairs.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for PackedPairs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(
                self.iter()
                    .map(|(a, b)| (String::from_utf8_lossy(a), String::from_utf8_lossy(b))),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn behaves_like_a_hash_map() {
        // Random operations against a HashMap model, with compactions.
        let mut m = PackedMap::new();
        let mut model: HashMap<Vec<u8>, (Vec<u8>, Option<i64>)> = HashMap::new();
        let mut x: u64 = 12345;
        for i in 0..20_000u64 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let k = format!("f{}", (x >> 33) % 300).into_bytes();
            let v = vec![b'v'; ((x >> 20) % 200) as usize];
            match (x >> 60) % 4 {
                0 | 1 => {
                    let ttl = (i % 3 == 0).then_some(i as i64);
                    let new = m.insert(&k, &v, ttl).unwrap();
                    assert_eq!(new, model.insert(k, (v, ttl)).is_none());
                }
                2 => assert_eq!(m.remove(&k), model.remove(&k).is_some()),
                _ => {
                    let ttl = Some(-(i as i64));
                    let found = m.set_expire(&k, ttl).unwrap();
                    assert_eq!(found, model.contains_key(&k));
                    if let Some(e) = model.get_mut(&k) {
                        e.1 = ttl;
                    }
                }
            }
            assert_eq!(m.len(), model.len());
        }
        for (k, (v, t)) in &model {
            let f = m.get(k).unwrap();
            assert_eq!((f.value, f.expire_ms), (v.as_slice(), *t));
        }
        assert_eq!(m.iter().count(), model.len());
        let removed = m.retain(|f| f.expire_ms.is_none());
        model.retain(|_, v| v.1.is_none());
        assert_eq!(
            (removed + m.len(), m.len()),
            (removed + model.len(), model.len())
        );
        let c = m.clone();
        assert_eq!(c, m);
        assert!(m.buf.len() < 2 * (m.buf.len() - m.dead) + 100);
    }

    #[test]
    fn pairs_round_trip() {
        let long = vec![b'x'; 300];
        let pairs: Vec<(&[u8], &[u8])> = vec![(b"field", b"v"), (b"", &long), (b"n", b"")];
        let p = PackedPairs::from_pairs(pairs.iter().copied());
        assert_eq!(p.iter().collect::<Vec<_>>(), pairs);
        assert_eq!(p.len(), 3);
        assert!(PackedPairs::from_pairs([]).is_empty());
    }

    #[test]
    fn fast_hash_hashes_like_bytes() {
        use std::hash::BuildHasher;
        let s = FastHash;
        assert_eq!(s.hash_one(&b"abc"[..]), s.hash_one(&b"abc"[..]));
        assert_ne!(s.hash_one(&b"abc"[..]), s.hash_one(&b"abd"[..]));
        assert_ne!(s.hash_one(&b""[..]), s.hash_one(&b"\0"[..]));
    }
}
