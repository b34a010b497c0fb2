//! Byte mutations for the mutation tests (`rdb_mutations.rs`,
//! `rdb_payload_mutations.rs`): each alters `b` around position `at` (from
//! [`position`]), draws what it needs from the generator, and says what it did.

use super::Rng;

/// A position in `b` (its length when empty, so insertions still work).
pub fn position(r: &mut Rng, b: &[u8]) -> usize {
    (r.below(b.len().max(1) as u64) as usize).min(b.len())
}

/// Flips some bits of the byte at `at`.
pub fn flip(r: &mut Rng, b: &mut [u8], at: usize) -> String {
    let m = (r.below(255) + 1) as u8;
    if let Some(x) = b.get_mut(at) {
        *x ^= m;
    }
    format!("flip {m:#04x} at {at}")
}

/// Sets the byte at `at` to one of `markers`.
pub fn set_marker(r: &mut Rng, b: &mut [u8], at: usize, markers: &[u8]) -> String {
    let v = markers[r.below(markers.len() as u64) as usize];
    if let Some(x) = b.get_mut(at) {
        *x = v;
    }
    format!("set {v:#04x} at {at}")
}

/// Deletes 1 to `max` bytes at `at`.
pub fn delete(r: &mut Rng, b: &mut Vec<u8>, at: usize, max: u64) -> String {
    let k = r.below(max) as usize + 1;
    b.drain(at..(at + k).min(b.len()));
    format!("delete {k} at {at}")
}

/// Inserts 1 to `max` random bytes at `at`.
pub fn insert(r: &mut Rng, b: &mut Vec<u8>, at: usize, max: u64) -> String {
    let k = r.below(max) as usize + 1;
    let ins: Vec<u8> = (0..k).map(|_| r.next() as u8).collect();
    b.splice(at..at, ins);
    format!("insert {k} at {at}")
}

/// Inserts at `at` a copy of 1 to `max` bytes from elsewhere in `b`.
pub fn copy(r: &mut Rng, b: &mut Vec<u8>, at: usize, max: u64) -> String {
    let s = r.below(b.len().max(1) as u64) as usize;
    let e = (s + r.below(max) as usize + 1).min(b.len());
    let piece = b[s.min(e)..e].to_vec();
    b.splice(at..at, piece);
    format!("copy {s}..{e} to {at}")
}

/// Swaps 1 to `max` bytes at `at` with as many from elsewhere in `b` (nothing
/// when either range runs past the end).
pub fn swap(r: &mut Rng, b: &mut [u8], at: usize, max: u64) -> String {
    let k = r.below(max) as usize + 1;
    let s = r.below(b.len().max(1) as u64) as usize;
    if s + k <= b.len() && at + k <= b.len() {
        for i in 0..k {
            b.swap(s + i, at + i);
        }
    }
    format!("swap {k} at {s} and {at}")
}
