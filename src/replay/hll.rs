//! `HyperLogLog` strings, byte for byte as Redis builds them (`hyperloglog.c`):
//! the 16-byte `HYLL` header with its cached cardinality, the sparse
//! representation (ZERO / XZERO / VAL opcodes, edited in place with the same
//! splits and merges as `hllSparseSet`), promotion to the 12 KB dense form when a
//! register exceeds 32 or the sparse form grows past `hll-sparse-max-bytes`
//! (3000), `MurmurHash64A` with Redis' seed, and the cardinality estimator whose
//! result `PFCOUNT` caches in the header.
//!
//! Replaying `PFADD`/`PFMERGE`/`PFCOUNT` with this module yields exactly the
//! bytes the server holds, which matters because an HLL is an ordinary string in
//! the RDB.

/// The HLL string is corrupt (its opcodes do not cover exactly the registers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("corrupted HyperLogLog object")]
pub struct Corrupt;

/// Register index bits.
const P: u32 = 14;
/// Number of registers.
pub const REGISTERS: usize = 1 << P;
const Q: u32 = 64 - P;
const HDR: usize = 16;
const BITS: usize = 6;
const REGISTER_MAX: u8 = (1 << BITS) - 1;
const DENSE_SIZE: usize = HDR + (REGISTERS * BITS).div_ceil(8);
const SPARSE_VAL_MAX_VALUE: u8 = 32;
const SPARSE_VAL_MAX_LEN: usize = 4;
const SPARSE_ZERO_MAX_LEN: usize = 64;
/// Redis' default `hll-sparse-max-bytes`.
pub const SPARSE_MAX_BYTES: usize = 3000;
const ENC_DENSE: u8 = 0;
const ENC_SPARSE: u8 = 1;

/// A new, empty HLL in the sparse encoding (what `PFADD` creates).
pub fn new_sparse() -> Vec<u8> {
    let mut v = vec![0u8; HDR + 2];
    v[..4].copy_from_slice(b"HYLL");
    v[4] = ENC_SPARSE;
    set_xzero(&mut v[HDR..], REGISTERS);
    v
}

/// True if `v` has an HLL header with a consistent size (Redis `isHLLObjectOrReply`).
pub fn is_valid(v: &[u8]) -> bool {
    if v.len() < HDR || &v[..4] != b"HYLL" || v[4] > ENC_SPARSE {
        return false;
    }
    !(v[4] == ENC_DENSE && v.len() != DENSE_SIZE)
}

/// True for the dense encoding.
pub fn is_dense(v: &[u8]) -> bool {
    v.get(4) == Some(&ENC_DENSE)
}

/// Marks the cached cardinality as stale.
pub fn invalidate_cache(v: &mut [u8]) {
    v[15] |= 1 << 7;
}

fn cache_valid(v: &[u8]) -> bool {
    v[15] & (1 << 7) == 0
}

/// `MurmurHash64A` as in Redis (little-endian reads).
pub fn murmur64a(key: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (key.len() as u64).wrapping_mul(M);
    let mut chunks = key.chunks_exact(8);
    for c in &mut chunks {
        let mut k = u64::from_le_bytes(c.try_into().expect("8 bytes"));
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        for (i, &b) in rest.iter().enumerate().rev() {
            h ^= u64::from(b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// (register index, run length of the pattern) for an element.
fn pat_len(ele: &[u8]) -> (usize, u8) {
    let mut hash = murmur64a(ele, 0xadc8_3b19);
    let index = (hash & (REGISTERS as u64 - 1)) as usize;
    hash >>= P;
    hash |= 1u64 << Q;
    let mut bit = 1u64;
    let mut count = 1u8;
    while hash & bit == 0 {
        count += 1;
        bit <<= 1;
    }
    (index, count)
}

fn dense_get(regs: &[u8], i: usize) -> u8 {
    let byte = i * BITS / 8;
    let fb = (i * BITS) & 7;
    let fb8 = 8 - fb;
    let b0 = u32::from(regs[byte]);
    let b1 = u32::from(regs.get(byte + 1).copied().unwrap_or(0));
    (((b0 >> fb) | (b1 << fb8)) & u32::from(REGISTER_MAX)) as u8
}

fn dense_set(regs: &mut [u8], i: usize, val: u8) {
    let byte = i * BITS / 8;
    let fb = (i * BITS) & 7;
    let fb8 = 8 - fb;
    let v = u32::from(val);
    regs[byte] &= !((u32::from(REGISTER_MAX) << fb) as u8);
    regs[byte] |= (v << fb) as u8;
    if byte + 1 < regs.len() {
        regs[byte + 1] &= !((u32::from(REGISTER_MAX) >> fb8) as u8);
        regs[byte + 1] |= (v >> fb8) as u8;
    }
}

fn is_zero(b: u8) -> bool {
    b & 0xc0 == 0
}
fn is_xzero(b: u8) -> bool {
    b & 0xc0 == 0x40
}
fn is_val(b: u8) -> bool {
    b & 0x80 != 0
}
fn zero_len(b: u8) -> usize {
    (b & 0x3f) as usize + 1
}
fn xzero_len(b0: u8, b1: u8) -> usize {
    ((((b0 & 0x3f) as usize) << 8) | b1 as usize) + 1
}
fn val_value(b: u8) -> u8 {
    ((b >> 2) & 0x1f) + 1
}
fn val_len(b: u8) -> usize {
    (b & 0x3) as usize + 1
}
fn val_op(val: u8, len: usize) -> u8 {
    (((val - 1) << 2) | (len as u8 - 1)) | 0x80
}
fn set_xzero(p: &mut [u8], len: usize) {
    let l = len - 1;
    p[0] = ((l >> 8) as u8) | 0x40;
    p[1] = (l & 0xff) as u8;
}

/// Converts a sparse HLL to dense in place (Redis `hllSparseToDense`).
pub fn to_dense(v: &mut Vec<u8>) -> Result<(), Corrupt> {
    if v[4] == ENC_DENSE {
        return Ok(());
    }
    let mut dense = vec![0u8; DENSE_SIZE];
    dense[..HDR].copy_from_slice(&v[..HDR]);
    dense[4] = ENC_DENSE;
    let mut idx = 0usize;
    let mut p = HDR;
    while p < v.len() {
        let b = v[p];
        if is_zero(b) {
            idx += zero_len(b);
            p += 1;
        } else if is_xzero(b) {
            let b1 = *v.get(p + 1).ok_or(Corrupt)?;
            idx += xzero_len(b, b1);
            p += 2;
        } else {
            let (runlen, val) = (val_len(b), val_value(b));
            if idx + runlen > REGISTERS {
                return Err(Corrupt);
            }
            for _ in 0..runlen {
                dense_set(&mut dense[HDR..], idx, val);
                idx += 1;
            }
            p += 1;
        }
    }
    if idx != REGISTERS {
        return Err(Corrupt);
    }
    *v = dense;
    Ok(())
}

/// Sets register `index` to `count` if larger (Redis `hllSparseSet` /
/// `hllDenseSet`). Returns whether a register changed.
pub fn set_register(v: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    if v[4] == ENC_DENSE {
        let regs = &mut v[HDR..];
        if count > dense_get(regs, index) {
            dense_set(regs, index, count);
            return Ok(true);
        }
        return Ok(false);
    }
    sparse_set(v, index, count)
}

fn promote(v: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    to_dense(v)?;
    let regs = &mut v[HDR..];
    if count > dense_get(regs, index) {
        dense_set(regs, index, count);
    }
    Ok(true)
}

fn sparse_set(v: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    if count > SPARSE_VAL_MAX_VALUE {
        return promote(v, index, count);
    }
    let end = v.len();
    let mut p = HDR;
    let mut first = 0usize;
    let mut prev: Option<usize> = None;
    let mut span = 0usize;
    while p < end {
        let b = v[p];
        let oplen;
        if is_zero(b) {
            span = zero_len(b);
            oplen = 1;
        } else if is_val(b) {
            span = val_len(b);
            oplen = 1;
        } else {
            span = xzero_len(b, *v.get(p + 1).ok_or(Corrupt)?);
            oplen = 2;
        }
        if index < first + span {
            break;
        }
        prev = Some(p);
        p += oplen;
        first += span;
    }
    if span == 0 || p >= end {
        return Err(Corrupt);
    }
    let b = v[p];
    let (z, xz, vl) = (is_zero(b), is_xzero(b), is_val(b));
    let runlen = if z {
        zero_len(b)
    } else if xz {
        xzero_len(b, v[p + 1])
    } else {
        val_len(b)
    };
    let mut updated_in_place = false;
    if vl {
        let old = val_value(b);
        if old >= count {
            return Ok(false);
        }
        if runlen == 1 {
            v[p] = val_op(count, 1);
            updated_in_place = true;
        }
    }
    if !updated_in_place && z && runlen == 1 {
        v[p] = val_op(count, 1);
        updated_in_place = true;
    }
    if !updated_in_place {
        let mut seq: Vec<u8> = Vec::with_capacity(5);
        let last = first + span - 1;
        if z || xz {
            if index != first {
                push_zero_run(&mut seq, index - first);
            }
            seq.push(val_op(count, 1));
            if index != last {
                push_zero_run(&mut seq, last - index);
            }
        } else {
            let cur = val_value(b);
            if index != first {
                seq.push(val_op(cur, index - first));
            }
            seq.push(val_op(count, 1));
            if index != last {
                seq.push(val_op(cur, last - index));
            }
        }
        let oldlen = if xz { 2 } else { 1 };
        if seq.len() > oldlen && v.len() + (seq.len() - oldlen) > SPARSE_MAX_BYTES {
            return promote(v, index, count);
        }
        v.splice(p..p + oldlen, seq);
    }
    // Step 4: merge adjacent VAL opcodes with the same value, scanning up to 5
    // opcodes from the previous one.
    let mut p = prev.unwrap_or(HDR);
    let mut scan = 5;
    while p < v.len() && scan > 0 {
        scan -= 1;
        let b = v[p];
        if is_xzero(b) {
            p += 2;
            continue;
        } else if is_zero(b) {
            p += 1;
            continue;
        }
        if p + 1 < v.len() && is_val(v[p + 1]) {
            let (v1, v2) = (val_value(b), val_value(v[p + 1]));
            if v1 == v2 {
                let len = val_len(b) + val_len(v[p + 1]);
                if len <= SPARSE_VAL_MAX_LEN {
                    v[p + 1] = val_op(v1, len);
                    v.remove(p);
                    continue;
                }
            }
        }
        p += 1;
    }
    invalidate_cache(v);
    Ok(true)
}

fn push_zero_run(seq: &mut Vec<u8>, len: usize) {
    if len > SPARSE_ZERO_MAX_LEN {
        let mut b = [0u8; 2];
        set_xzero(&mut b, len);
        seq.extend_from_slice(&b);
    } else {
        seq.push((len - 1) as u8);
    }
}

/// Adds one element (Redis `hllAdd`): Ok(true) if a register changed.
pub fn add(v: &mut Vec<u8>, ele: &[u8]) -> Result<bool, Corrupt> {
    let (index, count) = pat_len(ele);
    set_register(v, index, count)
}

/// Folds the registers of HLL `v` into `max` (Redis `hllMerge`).
pub fn merge_into(max: &mut [u8], v: &[u8]) -> Result<(), Corrupt> {
    if v[4] == ENC_DENSE {
        for (i, m) in max.iter_mut().enumerate() {
            let r = dense_get(&v[HDR..], i);
            if r > *m {
                *m = r;
            }
        }
        return Ok(());
    }
    let mut i = 0usize;
    let mut p = HDR;
    while p < v.len() {
        let b = v[p];
        if is_zero(b) {
            i += zero_len(b);
            p += 1;
        } else if is_xzero(b) {
            i += xzero_len(b, *v.get(p + 1).ok_or(Corrupt)?);
            p += 2;
        } else {
            let (runlen, val) = (val_len(b), val_value(b));
            if i + runlen > REGISTERS {
                return Err(Corrupt);
            }
            for _ in 0..runlen {
                if val > max[i] {
                    max[i] = val;
                }
                i += 1;
            }
            p += 1;
        }
    }
    if i != REGISTERS {
        return Err(Corrupt);
    }
    Ok(())
}

#[allow(clippy::float_cmp)] // Redis iterates until the sum stops changing
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let zp = z;
        z += x * y;
        y += y;
        if zp == z {
            return z;
        }
    }
}

#[allow(clippy::float_cmp)] // Redis iterates until the sum stops changing
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let zp = z;
        y *= 0.5;
        z -= (1.0 - x) * (1.0 - x) * y;
        if zp == z {
            return z / 3.0;
        }
    }
}

/// The cardinality estimate (Redis `hllCount`, Ertl's estimator).
pub fn count(v: &[u8]) -> Result<u64, Corrupt> {
    let mut histo = [0u32; 64];
    let mut max = vec![0u8; REGISTERS];
    merge_into(&mut max, v)?;
    for r in max {
        histo[r as usize] += 1;
    }
    let m = REGISTERS as f64;
    let mut z = m * tau((m - f64::from(histo[(Q + 1) as usize])) / m);
    for j in (1..=Q as usize).rev() {
        z += f64::from(histo[j]);
        z *= 0.5;
    }
    z += m * sigma(f64::from(histo[0]) / m);
    const ALPHA_INF: f64 = 0.721_347_520_444_481_7;
    Ok((ALPHA_INF * m * m / z).round() as u64)
}

/// `PFCOUNT key`: recomputes and stores the cached cardinality if it is stale.
pub fn refresh_cache(v: &mut [u8]) -> Result<(), Corrupt> {
    if cache_valid(v) {
        return Ok(());
    }
    let c = count(v)?;
    v[8..16].copy_from_slice(&c.to_le_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_hll_bytes() {
        let v = new_sparse();
        assert_eq!(v.len(), 18);
        assert_eq!(&v[16..], &[0x7f, 0xff]);
        assert_eq!(count(&v), Ok(0));
    }

    #[test]
    fn sparse_and_dense_agree() {
        let mut s = new_sparse();
        for i in 0..500 {
            add(&mut s, format!("e{i}").as_bytes()).unwrap();
        }
        assert!(!is_dense(&s));
        let mut d = s.clone();
        to_dense(&mut d).unwrap();
        assert_eq!(count(&s), count(&d));
        let c = count(&s).unwrap();
        assert!((480..=520).contains(&c), "{c}");
    }
}
