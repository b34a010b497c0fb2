//! LZF decompression (FORMATS.md §3) into a reusable buffer.
//!
//! Why not the `lzf` crate's `decompress`: it allocates a new vector per call and
//! copies back-references one byte at a time, which made it the largest single
//! cost of checking a real RDB (23% of the time on a 187 MB file). This version
//! appends to a caller-owned vector, copies literal runs and non-overlapping
//! back-references as slices, and is safe Rust. It is tested against the `lzf`
//! crate on random and adversarial inputs (same output, same accept/reject).

/// Why a stream does not decompress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LzfError {
    /// A literal run or back-reference extends past the end of the input.
    TruncatedInput,
    /// The output would exceed the expected length.
    OutputTooLong,
    /// A back-reference points before the start of the output.
    BadReference,
    /// The input ended with fewer bytes produced than expected.
    OutputTooShort,
}

impl std::fmt::Display for LzfError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LzfError::TruncatedInput => "a chunk runs past the end of the compressed data",
            LzfError::OutputTooLong => "the output exceeds the declared length",
            LzfError::BadReference => "a back-reference points before the start of the output",
            LzfError::OutputTooShort => "the output is shorter than the declared length",
        })
    }
}

/// Bytes of slack after the output so that literal runs and back-references can
/// be copied in fixed-size chunks (which compile to vector moves) even when the
/// chunk runs past the end of the data being copied.
const SLACK: usize = 64;

/// Declared lengths above which the compressed bytes are checked
/// ([`validate`]) before the output is made.
const CHECK_FIRST: usize = 1 << 20;

/// Decompresses `input` into `out` (replaced), which must end up exactly `ulen`
/// bytes long.
///
/// The output is made `ulen` bytes long before decoding: a declared length
/// above [`CHECK_FIRST`] (chance bytes or damage can claim up to 88 times the
/// compressed length) is first checked against the compressed bytes, so memory
/// follows the value's real size, not its claim.
pub fn decompress_into(input: &[u8], ulen: usize, out: &mut Vec<u8>) -> Result<(), LzfError> {
    if ulen > CHECK_FIRST {
        validate(input, ulen)?;
    }
    // Every byte below `ulen` is written before it is read (back-references
    // only reach behind the output position), so bytes left over from an
    // earlier use need no clearing: only growth is zero-filled.
    if out.len() < ulen + SLACK {
        out.resize(ulen + SLACK, 0);
    } else {
        out.truncate(ulen + SLACK);
    }
    walk(input, ulen, &mut Bytes(out.as_mut_slice()))?;
    out.truncate(ulen);
    Ok(())
}

/// Checks that `input` decompresses to exactly `ulen` bytes without producing
/// them: the same walk and the same verdict as [`decompress_into`] (literal runs
/// and back-references only move positions), for values whose bytes nobody
/// reads (a checker validating a plain string value). No output buffer, no
/// copies: one pass over the control bytes.
pub fn validate(input: &[u8], ulen: usize) -> Result<(), LzfError> {
    walk(input, ulen, &mut Positions)
}

/// Where the walk puts what it decodes. Called only once the run or reference
/// was checked: it lies within the input, behind the output position, and ends
/// at or before `ulen`.
trait Output {
    /// `len` bytes of `input` from `ip` go to the output at `op`.
    fn literal(&mut self, input: &[u8], ip: usize, op: usize, len: usize);
    /// `len` bytes from `off` bytes behind `op` go to the output at `op`.
    fn backref(&mut self, op: usize, off: usize, len: usize);
}

/// Positions only (validation).
struct Positions;

impl Output for Positions {
    #[inline]
    fn literal(&mut self, _: &[u8], _: usize, _: usize, _: usize) {}
    #[inline]
    fn backref(&mut self, _: usize, _: usize, _: usize) {}
}

/// The bytes, into a buffer of `ulen + SLACK` bytes.
struct Bytes<'a>(&'a mut [u8]);

impl Output for Bytes<'_> {
    #[inline]
    fn literal(&mut self, input: &[u8], ip: usize, op: usize, len: usize) {
        let o = &mut *self.0;
        if ip + 32 <= input.len() {
            // op + 32 <= ulen + SLACK because op + len <= ulen.
            o[op..op + 32].copy_from_slice(&input[ip..ip + 32]);
        } else {
            o[op..op + len].copy_from_slice(&input[ip..ip + len]);
        }
    }

    #[inline]
    fn backref(&mut self, op: usize, off: usize, len: usize) {
        let o = &mut *self.0;
        let start = op - off;
        if off >= 16 {
            // Chunks of 16 never overlap their own destination; a chunk may
            // read bytes written by the previous one, as LZ semantics want.
            // The last chunk may write up to 15 bytes past op + len, inside
            // the slack or over bytes that later chunks overwrite.
            let mut k = 0;
            while k < len {
                o.copy_within(start + k..start + k + 16, op + k);
                k += 16;
            }
        } else if off >= 8 {
            let mut k = 0;
            while k < len {
                o.copy_within(start + k..start + k + 8, op + k);
                k += 8;
            }
        } else if off == 1 {
            let b = o[start];
            o[op..op + len].fill(b);
        } else {
            // A period shorter than 8 (`abcabcabc…`, common in real data):
            // eight bytes of the repeating pattern, stored every `step`
            // bytes (the largest multiple of the period that fits in 8). The
            // last store may write up to 7 bytes past op + len, inside the
            // slack or over bytes that later chunks overwrite.
            // The period's bytes (the low `off` of these eight) repeated in
            // a register.
            let mut w = [0u8; 8];
            w.copy_from_slice(&o[start..start + 8]);
            let mut p = u64::from_le_bytes(w) & (u64::MAX >> (64 - 8 * off));
            p |= p << (8 * off);
            if off < 4 {
                p |= p << (16 * off);
            }
            let pat = p.to_le_bytes();
            // off * (8 / off) for off in 2..8, without dividing.
            const STEP: [usize; 8] = [8, 8, 8, 6, 8, 5, 6, 7];
            let step = STEP[off];
            let mut k = 0;
            while k < len {
                o[op + k..op + k + 8].copy_from_slice(&pat);
                k += step;
            }
        }
    }
}

/// The one walk over the control bytes: every check that decides the verdict,
/// with the decoded runs and references handed to `out`.
///
/// A declared length of 0 is the empty string whatever the compressed bytes,
/// as in Redis: liblzf's `lzf_decompress` returns 0 both for an error and for
/// an empty output, and Redis (the loader, `redis-check-rdb`, `RESTORE`)
/// only compares what it returns with the declared length.
#[inline]
fn walk<O: Output>(input: &[u8], ulen: usize, out: &mut O) -> Result<(), LzfError> {
    if ulen == 0 {
        return Ok(());
    }
    let n = input.len();
    let (mut ip, mut op) = (0usize, 0usize);
    while ip < n {
        let ctrl = input[ip] as usize;
        ip += 1;
        if ctrl < 32 {
            let len = ctrl + 1;
            if ip + len > n {
                return Err(LzfError::TruncatedInput);
            }
            if op + len > ulen {
                return Err(LzfError::OutputTooLong);
            }
            out.literal(input, ip, op, len);
            ip += len;
            op += len;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                if ip >= n {
                    return Err(LzfError::TruncatedInput);
                }
                len += input[ip] as usize;
                ip += 1;
            }
            if ip >= n {
                return Err(LzfError::TruncatedInput);
            }
            let off = ((ctrl & 0x1f) << 8) + input[ip] as usize + 1;
            ip += 1;
            let len = len + 2;
            if off > op {
                return Err(LzfError::BadReference);
            }
            if op + len > ulen {
                return Err(LzfError::OutputTooLong);
            }
            out.backref(op, off, len);
            op += len;
        }
    }
    if op != ulen {
        return Err(LzfError::OutputTooShort);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::xorshift;

    #[test]
    fn golden_vector() {
        let c = [0x01, 0x78, 0x78, 0xe0, 0x1b, 0x00, 0x01, 0x78, 0x78];
        let mut out = Vec::new();
        decompress_into(&c, 40, &mut out).unwrap();
        assert_eq!(out, vec![b'x'; 40]);
        assert_eq!(
            decompress_into(&c, 39, &mut out),
            Err(LzfError::OutputTooLong)
        );
        assert_eq!(
            decompress_into(&c, 41, &mut out),
            Err(LzfError::OutputTooShort)
        );
        assert_eq!(validate(&c, 40), Ok(()));
        assert_eq!(validate(&c, 39), Err(LzfError::OutputTooLong));
        assert_eq!(validate(&c, 41), Err(LzfError::OutputTooShort));
        // Declared empty: empty, whatever the bytes (Redis compares liblzf's
        // return value, 0 on any error, with the declared length).
        for garbage in [&c[..], &[0xff, 0x00][..], &[][..]] {
            assert_eq!(decompress_into(garbage, 0, &mut out), Ok(()));
            assert!(out.is_empty());
            assert_eq!(validate(garbage, 0), Ok(()));
        }
    }

    #[test]
    fn periodic_data_of_every_short_period() {
        let mut out = Vec::new();
        for period in 1..=20usize {
            for len in [3usize, 7, 8, 9, 15, 16, 17, 40, 263, 264, 265, 1000] {
                let data: Vec<u8> = (0..len + period)
                    .map(|i| b'a' + (i % period) as u8 * 3)
                    .collect();
                if let Ok(c) = lzf::compress(&data) {
                    decompress_into(&c, data.len(), &mut out).unwrap();
                    assert_eq!(out, data, "period {period}, len {len}");
                }
            }
        }
    }

    #[test]
    fn agrees_with_the_lzf_crate() {
        let mut st = 0x9e37_79b9_7f4a_7c15u64;
        let mut out = Vec::new();
        for round in 0..3000 {
            // Compressible data, compressed by the crate.
            let len = (xorshift(&mut st) % 2000) as usize + 2;
            let alphabet = (xorshift(&mut st) % 6 + 1) as u8;
            let data: Vec<u8> = (0..len)
                .map(|_| b'a' + (xorshift(&mut st) % u64::from(alphabet)) as u8)
                .collect();
            if let Ok(c) = lzf::compress(&data) {
                decompress_into(&c, data.len(), &mut out).unwrap();
                assert_eq!(out, data);
                // Corrupt it: both decoders must agree on accepting it, and on
                // the output when they do.
                let mut bad = c.clone();
                let i = (xorshift(&mut st) as usize) % bad.len();
                bad[i] ^= (xorshift(&mut st) % 255 + 1) as u8;
                if round % 2 == 0 {
                    bad.truncate(bad.len() - (xorshift(&mut st) as usize % bad.len()));
                }
                let theirs = lzf::decompress(&bad, data.len())
                    .ok()
                    .filter(|v| v.len() == data.len());
                let ours = decompress_into(&bad, data.len(), &mut out)
                    .ok()
                    .map(|()| out.clone());
                assert_eq!(
                    validate(&bad, data.len()),
                    decompress_into(&bad, data.len(), &mut out),
                    "round {round}"
                );
                if !bad.is_empty() {
                    assert_eq!(ours, theirs, "round {round}");
                }
            }
            // Random garbage never panics.
            let g: Vec<u8> = (0..(xorshift(&mut st) % 64))
                .map(|_| xorshift(&mut st) as u8)
                .collect();
            let ulen = (xorshift(&mut st) % 300) as usize;
            assert_eq!(validate(&g, ulen), decompress_into(&g, ulen, &mut out));
        }
    }
}
