//! Duplicate detection for set members, hash fields, zset members, stream group,
//! consumer and PEL ids, and (optionally) keys.
//!
//! Keys are remembered by a 64-bit hash in a [`KeySet`] (at most 16 bytes per
//! key; equal hashes are confirmed on the key bytes by the caller).
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
///
/// Two tables: members go to a small one (at most [`SMALL`] members, never
/// shrunk) until it is full, then all of them move to a large one. Clearing a
/// hash table resets every control byte, whatever it holds: with one table,
/// every key after a large aggregate paid for clearing the table that aggregate
/// grew (4% of `dump --format resp`'s instructions on the bench file). Now a key
/// with a few members clears a small table, and the large one is cleared only
/// after a key that used it (and shrunk when far larger than that key needed).
#[derive(Default)]
pub struct DupSet {
    small: HashSet<u128, BuildHasherDefault<PassThrough>>,
    large: HashSet<u128, BuildHasherDefault<PassThrough>>,
    /// Members go straight to the large table (more than [`SMALL`] expected).
    direct: bool,
}

/// Members kept in the small table of a [`DupSet`] (a 256-bucket table holds
/// 224 without growing).
const SMALL: usize = 224;

/// When the large table is cleared with more than this many times the room
/// its last use needed (and more than [`SMALL`] members' worth), it is freed,
/// so that one huge value does not make every later large one pay for clearing
/// a huge table, while similar values in a row reuse it.
const SHRINK_FACTOR: usize = 8;

/// A large table above this capacity is freed when cleared (memory is kept
/// for the next value only when it is modest).
const KEEP_AT_MOST: usize = 1 << 16;

impl DupSet {
    /// Forgets every member, before a value of about `n` members: more than
    /// [`SMALL`] go straight to the large table (`n` is only a hint: a count
    /// read from a damaged file may be anything, and nothing is reserved by it).
    pub fn clear_for(&mut self, n: u64) {
        self.clear();
        self.direct = n > SMALL as u64;
    }

    /// Forgets every member.
    pub fn clear(&mut self) {
        self.direct = false;
        if !self.small.is_empty() {
            self.small.clear();
        }
        let used = self.large.len();
        if used > 0 {
            let cap = self.large.capacity();
            if cap > KEEP_AT_MOST || cap > SHRINK_FACTOR * used.max(SMALL) {
                self.large = HashSet::default();
            } else {
                self.large.clear();
            }
        }
    }

    /// Number of members remembered.
    pub fn len(&self) -> usize {
        self.small.len() + self.large.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.small.is_empty() && self.large.is_empty()
    }

    /// Adds `bytes`; returns false if it was already present.
    #[inline]
    pub fn insert_bytes(&mut self, bytes: &[u8]) -> bool {
        self.insert_hash(xxhash_rust::xxh3::xxh3_128(bytes))
    }

    /// Adds a precomputed 128-bit XXH3 hash; returns false if it was present.
    #[inline]
    pub fn insert_hash(&mut self, h: u128) -> bool {
        if self.direct || !self.large.is_empty() {
            return self.large.insert(h);
        }
        if self.small.len() < SMALL {
            if self.small.capacity() == 0 {
                self.small.reserve(SMALL);
            }
            return self.small.insert(h);
        }
        if self.small.contains(&h) {
            return false;
        }
        self.large.reserve(2 * SMALL);
        self.large.extend(self.small.drain());
        self.large.insert(h)
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
        let h = xxhash_rust::xxh3::xxh3_128(bytes);
        self.small.remove(&h) || self.large.remove(&h)
    }

    /// Whether `bytes` is present.
    pub fn contains_bytes(&self, bytes: &[u8]) -> bool {
        let h = xxhash_rust::xxh3::xxh3_128(bytes);
        self.small.contains(&h) || self.large.contains(&h)
    }
}

/// The 64-bit hash of key `key` of database `db` that [`KeySet`] keeps.
#[inline]
pub fn key_hash(db: u64, key: &[u8]) -> u64 {
    with_db(db, name_hash(key))
}

/// The 64-bit hash of a key name: XXH3 with a seed drawn once per process (so
/// that no input can aim at collisions).
#[inline]
pub fn name_hash(key: &[u8]) -> u64 {
    static SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let seed = *SEED.get_or_init(|| {
        use std::hash::BuildHasher;
        std::collections::hash_map::RandomState::new().hash_one(0x6b65_7973_u64)
    });
    xxhash_rust::xxh3::xxh3_64_with_seed(key, seed)
}

/// [`key_hash`] from the [`name_hash`] of a key of database `db` (the same
/// name in two databases gives two hashes).
#[inline]
pub fn with_db(db: u64, name_hash: u64) -> u64 {
    name_hash ^ db.wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// Slots per block of a [`KeySet`] (8 KiB).
const BLOCK: usize = 1 << 10;
/// A [`KeySet`] is split in `1 << PART_BITS` tables by the top bits of the
/// hash, so that growing one moves a small part of the set at a time.
const PART_BITS: u32 = 5;
/// A table grows when more than `LOAD_NUM / LOAD_DEN` of its slots are used.
const LOAD_NUM: usize = 17;
const LOAD_DEN: usize = 20;

/// One table of a [`KeySet`]: open addressing with linear probing over
/// fixed-size blocks; 0 is an empty slot.
#[derive(Default)]
struct Part {
    blocks: Vec<Box<[u64]>>,
    len: usize,
}

impl Part {
    /// Puts `h` (not 0) in its slot; false if it was there already.
    #[inline]
    fn put(&mut self, h: u64) -> bool {
        let n = self.blocks.len();
        // The bits below the part's select the home slot, in hash order.
        let home = ((u128::from(h << PART_BITS) * (n * BLOCK) as u128) >> 64) as usize;
        let (mut b, mut from) = (home / BLOCK, home % BLOCK);
        loop {
            for slot in &mut self.blocks[b][from..] {
                if *slot == 0 {
                    *slot = h;
                    self.len += 1;
                    return true;
                }
                if *slot == h {
                    return false;
                }
            }
            from = 0;
            b = if b + 1 == n { 0 } else { b + 1 };
        }
    }
}

/// A set of 64-bit key hashes ([`key_hash`]) in at most 16 bytes per key,
/// peaks included: 8 bytes per slot, tables at most 85% and at least 56% full
/// (they grow by half: 9.4 to 14.1 bytes per key), made of 8 KiB blocks that a
/// table which grows hands to the next one (no reallocation that needs the old
/// and the new table at once, except for one table of 32). Two distinct keys
/// share a hash with probability about n²/2⁶⁵ (a million keys: 3·10⁻⁸), so
/// equal hashes are only candidates: the caller confirms them on the key bytes
/// ([`super::check::confirm_duplicates`]).
pub struct KeySet {
    parts: Vec<Part>,
    /// Zeroed blocks given back by a table that grew.
    spare: Vec<Box<[u64]>>,
}

impl Default for KeySet {
    fn default() -> Self {
        Self {
            parts: (0..1 << PART_BITS).map(|_| Part::default()).collect(),
            spare: Vec::new(),
        }
    }
}

impl KeySet {
    /// A set sized for `keys` keys (no growing until then).
    pub fn with_capacity(keys: usize) -> Self {
        let mut s = Self::default();
        let per_part = keys.div_ceil(1 << PART_BITS).saturating_mul(LOAD_DEN) / LOAD_NUM;
        let blocks = per_part.div_ceil(BLOCK);
        if blocks > 0 {
            for p in &mut s.parts {
                p.blocks = (0..blocks)
                    .map(|_| vec![0u64; BLOCK].into_boxed_slice())
                    .collect();
            }
        }
        s
    }

    /// Adds hash `h`; returns false if it was already present.
    #[inline]
    pub fn insert(&mut self, h: u64) -> bool {
        // (0 marks an empty slot; 0 and 1 are then one hash, which only
        // makes a candidate that the confirmation drops.)
        let h = h.max(1);
        let part = (h >> (64 - PART_BITS)) as usize;
        let p = &self.parts[part];
        if (p.len + 1) * LOAD_DEN > p.blocks.len() * BLOCK * LOAD_NUM {
            self.grow(part);
        }
        self.parts[part].put(h)
    }

    /// Number of hashes kept.
    pub fn len(&self) -> usize {
        self.parts.iter().map(|p| p.len).sum()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Grows table `part` by half (rounded up to whole blocks).
    #[cold]
    fn grow(&mut self, part: usize) {
        let old = std::mem::take(&mut self.parts[part].blocks);
        let n = (old.len() * 3).div_ceil(2).max(1);
        let mut grown = Part {
            blocks: Vec::with_capacity(n),
            len: 0,
        };
        for _ in 0..n {
            let b = self
                .spare
                .pop()
                .unwrap_or_else(|| vec![0u64; BLOCK].into_boxed_slice());
            grown.blocks.push(b);
        }
        for mut b in old {
            for &h in b.iter().filter(|&&h| h != 0) {
                grown.put(h);
            }
            b.fill(0);
            self.spare.push(b);
        }
        self.parts[part] = grown;
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

    #[test]
    fn members_move_to_the_large_table_without_losing_any() {
        let mut d = DupSet::default();
        for round in 0..3u64 {
            // Around the small table's limit, and well past it.
            for n in [1, SMALL - 1, SMALL, SMALL + 1, 5 * SMALL, 40_000] {
                let n = n as u64;
                for i in 0..n {
                    assert!(d.insert_bytes(&(i + round).to_le_bytes()), "{n} {i}");
                }
                assert_eq!(d.len(), n as usize);
                // Every member is found again, from either table.
                for i in (0..n).step_by(7) {
                    assert!(!d.insert_bytes(&(i + round).to_le_bytes()), "{n} {i}");
                    assert!(d.contains_bytes(&(i + round).to_le_bytes()));
                }
                assert!(!d.contains_bytes(&(n + round).to_le_bytes()));
                assert!(d.remove_bytes(&round.to_le_bytes()));
                assert!(!d.remove_bytes(&round.to_le_bytes()));
                assert_eq!(d.len(), n as usize - 1);
                // Told the size ahead (every other round), or not.
                if round == 1 {
                    d.clear_for(n + 1);
                } else {
                    d.clear();
                }
                assert!(d.is_empty());
                // A large table is kept only when modest.
                assert!(d.large.capacity() <= KEEP_AT_MOST);
            }
        }
        // Removing every member of the large table, then inserting again.
        for i in 0..1000u64 {
            d.insert_bytes(&i.to_le_bytes());
        }
        for i in 0..1000u64 {
            assert!(d.remove_bytes(&i.to_le_bytes()));
        }
        assert!(d.is_empty());
        for i in 0..1000u64 {
            assert!(d.insert_bytes(&i.to_le_bytes()));
        }
        assert!(!d.insert_bytes(&999u64.to_le_bytes()));
        assert_eq!(d.len(), 1000);
    }

    #[test]
    fn key_set_finds_every_repeat() {
        let mut s = KeySet::default();
        let n = 200_000u64;
        for i in 0..n {
            assert!(s.insert(key_hash(0, &i.to_le_bytes())), "{i}");
        }
        // The same names in another database are other keys.
        assert!(s.insert(key_hash(1, &7u64.to_le_bytes())));
        for i in (0..n).step_by(997) {
            assert!(!s.insert(key_hash(0, &i.to_le_bytes())), "{i}");
        }
        assert_eq!(s.len(), n as usize + 1);
        // 0 and 1 are kept as one.
        assert!(s.insert(0));
        assert!(!s.insert(1));
        // At most 16 bytes per key in blocks, spares included.
        let blocks: usize = s.parts.iter().map(|p| p.blocks.len()).sum::<usize>() + s.spare.len();
        assert!(blocks * BLOCK * 8 <= 16 * s.len() + (32 << 13), "{blocks}");
        // Sized ahead: the same answers, no growing.
        let mut t = KeySet::with_capacity(50_000);
        let blocks = t.parts[0].blocks.len();
        for i in 0..50_000u64 {
            assert!(t.insert(key_hash(3, &i.to_le_bytes())));
        }
        assert!(!t.insert(key_hash(3, &9u64.to_le_bytes())));
        assert!(t.parts.iter().all(|p| p.blocks.len() == blocks) && t.spare.is_empty());
    }
}
