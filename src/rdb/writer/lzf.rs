//! An LZF compressor producing the same streams as liblzf 3.6 as built into
//! Redis (`HLOG 16`, `VERY_FAST`, no `ULTRA_FAST`).
//!
//! Why not the `lzf` crate: its `compress` allocates and zeroes a fresh 64K-entry
//! hash table on every call, which dominates the cost of writing millions of
//! short strings. This compressor keeps one table for the life of the writer and
//! invalidates it with a generation offset instead of clearing it, which gives
//! exactly the output of a freshly zeroed table (a zero slot in liblzf points at
//! input position 0, which liblzf never uses as a match; a stale slot here is
//! treated the same way). Redis itself leaves the table uninitialised, so its
//! output can differ from run to run; any valid LZF stream loads.

const HLOG: u32 = 16;
const HSIZE: usize = 1 << HLOG;
const MAX_LIT: usize = 1 << 5;
const MAX_OFF: usize = 1 << 13;
const MAX_REF: usize = (1 << 8) + (1 << 3);

/// A reusable LZF compressor.
pub struct Compressor {
    /// (A fixed-size array: the masked hash indexes it without bounds checks.)
    table: Box<[u32; HSIZE]>,
    /// Positions stored in the table are `generation + pos`; anything below the
    /// current generation is stale.
    generation: u32,
    out: Vec<u8>,
}

impl Default for Compressor {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Compressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compressor").finish_non_exhaustive()
    }
}

#[inline]
fn idx(h: u32) -> usize {
    ((h >> (3 * 8 - HLOG)).wrapping_sub(h.wrapping_mul(5)) as usize) & (HSIZE - 1)
}

/// How far the match at `ip` against `r` goes, given that its first 3 bytes
/// are equal: liblzf's `do len++; while (len < maxlen && ref[len] ==
/// ip[len])` from `len = 2` (so at least 3, at most `maxlen`), comparing 8
/// bytes at a time (a long match in compressible data, a quicklist node of
/// repeated words, costs an eighth of the byte loop). `ip + maxlen` is within
/// the input.
#[inline]
fn match_len(input: &[u8], r: usize, ip: usize, maxlen: usize) -> usize {
    let mut len = 3;
    while len + 8 <= maxlen {
        let (a, b) = (&input[r + len..r + len + 8], &input[ip + len..ip + len + 8]);
        let x = u64::from_le_bytes(a.try_into().unwrap_or_default())
            ^ u64::from_le_bytes(b.try_into().unwrap_or_default());
        if x != 0 {
            return len + (x.trailing_zeros() / 8) as usize;
        }
        len += 8;
    }
    while len < maxlen && input[r + len] == input[ip + len] {
        len += 1;
    }
    len.max(3)
}

impl Compressor {
    /// A compressor with its table.
    pub fn new() -> Self {
        Self {
            table: vec![0; HSIZE]
                .into_boxed_slice()
                .try_into()
                .expect("HSIZE entries"),
            generation: 1,
            out: Vec::new(),
        }
    }

    /// Frees the output buffer when a large value left it above `keep` bytes
    /// of capacity, so that one huge string does not pin its size for the rest
    /// of the file.
    pub fn shrink_output(&mut self, keep: usize) {
        if self.out.capacity() > keep {
            self.out = Vec::new();
        }
    }

    /// Compresses `input` into at most `out_len` bytes, as `lzf_compress`;
    /// `None` when it does not fit (or the input is shorter than 3 bytes).
    pub fn compress(&mut self, input: &[u8], out_len: usize) -> Option<&[u8]> {
        let n = input.len();
        if n < 3 || out_len == 0 {
            return None;
        }
        // Start a new generation; wipe the table when the offsets would wrap.
        let span = u32::try_from(n).ok()?.checked_add(1)?;
        if self
            .generation
            .checked_add(span)
            .is_none_or(|g| g == u32::MAX)
        {
            self.table.iter_mut().for_each(|s| *s = 0);
            self.generation = 1;
        }
        let generation = self.generation;
        self.generation += span;

        let need = out_len + 2 * MAX_LIT + 8;
        if self.out.capacity() < need {
            // A fresh zeroed allocation: for a large value the allocator maps
            // zero pages, and only the pages the output reaches are touched
            // (a very compressible 400 MB string costs its compressed size,
            // not 400 MB more).
            self.out = vec![0; need];
        } else if self.out.len() < need {
            // Within the capacity: what the last call left is not cleared
            // (every byte returned is written first).
            self.out.resize(need, 0);
        }
        let out = &mut self.out;
        let mut op: usize = 1;
        let mut lit: usize = 0;
        let mut ip: usize = 0;
        let mut hval: u32 = (u32::from(input[0]) << 8) | u32::from(input[1]);
        let table = &mut self.table;
        while ip < n - 2 {
            hval = (hval << 8) | u32::from(input[ip + 2]);
            let slot = idx(hval);
            let stored = table[slot];
            table[slot] = generation + ip as u32;
            let ref_pos = if stored >= generation {
                Some((stored - generation) as usize)
            } else {
                None
            };
            let matched = ref_pos.filter(|&r| {
                r < ip
                    && ip - r - 1 < MAX_OFF
                    && r > 0
                    && input[r + 2] == input[ip + 2]
                    && input[r] == input[ip]
                    && input[r + 1] == input[ip + 1]
            });
            if let Some(r) = matched {
                let off = ip - r - 1;
                let mut len: usize = 2;
                let maxlen = (n - ip - len).min(MAX_REF);
                if op + 3 + 1 >= out_len && op - usize::from(lit == 0) + 3 + 1 >= out_len {
                    return None;
                }
                out[op - lit - 1] = (lit as u8).wrapping_sub(1);
                op -= usize::from(lit == 0);
                len = match_len(input, r, ip, maxlen);
                len -= 2;
                ip += 1;
                if len < 7 {
                    out[op] = ((off >> 8) + (len << 5)) as u8;
                    op += 1;
                } else {
                    out[op] = ((off >> 8) + (7 << 5)) as u8;
                    out[op + 1] = (len - 7) as u8;
                    op += 2;
                }
                out[op] = off as u8;
                op += 1;
                lit = 0;
                op += 1;
                ip += len + 1;
                if ip >= n - 2 {
                    break;
                }
                ip -= 2;
                hval = (u32::from(input[ip]) << 8) | u32::from(input[ip + 1]);
                for _ in 0..2 {
                    hval = (hval << 8) | u32::from(input[ip + 2]);
                    table[idx(hval)] = generation + ip as u32;
                    ip += 1;
                }
            } else {
                if op >= out_len {
                    return None;
                }
                lit += 1;
                out[op] = input[ip];
                op += 1;
                ip += 1;
                if lit == MAX_LIT {
                    out[op - lit - 1] = (lit - 1) as u8;
                    lit = 0;
                    op += 1;
                }
            }
        }
        if op + 3 > out_len {
            return None;
        }
        while ip < n {
            lit += 1;
            out[op] = input[ip];
            op += 1;
            ip += 1;
            if lit == MAX_LIT {
                out[op - lit - 1] = (lit - 1) as u8;
                lit = 0;
                op += 1;
            }
        }
        out[op - lit - 1] = (lit as u8).wrapping_sub(1);
        op -= usize::from(lit == 0);
        if op > out_len {
            return None;
        }
        Some(&out[..op])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forty_x_matches_redis() {
        // FORMATS.md §3: DUMP of 40 × 'x' holds `01 78 78 e0 1b 00 01 78 78`.
        let mut c = Compressor::new();
        let out = c.compress(&[b'x'; 40], 36).unwrap().to_vec();
        assert_eq!(out, [0x01, 0x78, 0x78, 0xe0, 0x1b, 0x00, 0x01, 0x78, 0x78]);
        // Same result on reuse (the table is invalidated, not carried over).
        assert_eq!(c.compress(&[b'x'; 40], 36).unwrap(), &out[..]);
    }

    /// The 8-bytes-at-a-time match length is liblzf's byte loop's, at every
    /// position and bound (matches ending anywhere in or after a word).
    #[test]
    fn match_len_is_the_byte_loop() {
        let byte_loop = |input: &[u8], r: usize, ip: usize, maxlen: usize| {
            let mut len = 2;
            loop {
                len += 1;
                if !(len < maxlen && input[r + len] == input[ip + len]) {
                    break len;
                }
            }
        };
        let mut data: Vec<u8> = b"w12w12w12w12".repeat(40);
        data[300] = b'x';
        data.extend_from_slice(&super::super::random_bytes(50));
        for ip in 1..data.len() - 3 {
            for r in 0..ip {
                if data[r..r + 3] != data[ip..ip + 3] {
                    continue;
                }
                for maxlen in [1, 3, 4, 9, 11, 17, 64, data.len() - ip - 2] {
                    let maxlen = maxlen.min(data.len() - ip - 2).min(MAX_REF);
                    assert_eq!(
                        match_len(&data, r, ip, maxlen),
                        byte_loop(&data, r, ip, maxlen),
                        "r {r} ip {ip} maxlen {maxlen}"
                    );
                }
            }
        }
    }

    #[test]
    fn round_trips_through_lzf_crate() {
        let mut c = Compressor::new();
        let mut seed = 7u32;
        for size in [21usize, 64, 100, 1000, 5000, 70_000] {
            let data: Vec<u8> = (0..size)
                .map(|i| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    if i % 7 < 4 {
                        b'a' + (i % 5) as u8
                    } else {
                        (seed >> 24) as u8
                    }
                })
                .collect();
            if let Some(out) = c.compress(&data, size - 4) {
                let back = lzf::decompress(out, size).unwrap();
                assert_eq!(back, data, "size {size}");
            }
        }
        let random = super::super::random_bytes(300);
        assert!(c.compress(&random, 296).is_none());
    }
}
