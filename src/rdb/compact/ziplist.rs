//! Ziplist (types 10, 12, 13 and quicklist-v1 nodes).
//!
//! Layout: `zlbytes:u32le zltail:u32le zllen:u16le entry* ff`; each entry is
//! `prevlen encoding data` (FORMATS.md §1.11.1). Validation follows
//! `ziplistValidateIntegrity(deep=1)`: header size, `zlbytes`, final `ff`,
//! `zltail` inside the blob; every entry inside the blob with a valid encoding,
//! each `prevlen` equal to the previous entry's size, the walk ending exactly at the
//! `ff`, `zltail` pointing at the last entry, and `zllen` matching unless 65535.

use super::{CompactError, Val, i16le, i24le, i32le, i64le, u16le, u32le};

/// Header size.
pub const HEADER_SIZE: usize = 10;

/// Validates a ziplist and appends its entries to `out` (cleared first).
pub fn parse(b: &[u8], out: &mut Vec<Val>) -> Result<(), CompactError> {
    out.clear();
    if b.len() < HEADER_SIZE + 1 {
        return Err(CompactError::new(
            0,
            format!("ziplist of {} bytes is shorter than its header", b.len()),
        ));
    }
    let zlbytes = u32le(b, 0).unwrap_or(0) as usize;
    if zlbytes != b.len() {
        return Err(CompactError::new(
            0,
            format!(
                "ziplist header says {zlbytes} bytes but the blob has {}",
                b.len()
            ),
        ));
    }
    let zltail = u32le(b, 4).unwrap_or(0) as usize;
    let zllen = u16le(b, 8).unwrap_or(0);
    let last = b.len() - 1;
    if b[last] != 0xff {
        return Err(CompactError::new(last, "ziplist does not end with 0xff"));
    }
    if zltail > last {
        return Err(CompactError::new(
            4,
            format!("ziplist tail offset {zltail} is outside the blob"),
        ));
    }
    let mut p = HEADER_SIZE;
    let mut prev_size = 0usize;
    let mut prev_start: Option<usize> = None;
    while p < last && b[p] != 0xff {
        let n = out.len();
        let err = |pos: usize, m: String| CompactError::new(pos, format!("ziplist entry {n}: {m}"));
        // prevlen
        let (prevlen, plen) = if b[p] < 254 {
            (b[p] as usize, 1)
        } else {
            if p + 5 > last {
                return Err(err(p, "prevlen runs past the end".into()));
            }
            (u32le(b, p + 1).unwrap_or(0) as usize, 5)
        };
        if prevlen != prev_size {
            return Err(err(
                p,
                format!("prevlen {prevlen} does not match the previous entry size {prev_size}"),
            ));
        }
        let q = p + plen;
        if q >= last {
            return Err(err(q, "encoding runs past the end".into()));
        }
        let c = b[q];
        let (val, hlen, dlen) = match c >> 6 {
            0 => {
                let len = (c & 0x3f) as usize;
                (
                    Val::Str {
                        start: (q + 1) as u32,
                        len: len as u32,
                    },
                    1,
                    len,
                )
            }
            1 => {
                if q + 2 > last {
                    return Err(err(q, "encoding runs past the end".into()));
                }
                let len = (((c & 0x3f) as usize) << 8) | b[q + 1] as usize;
                (
                    Val::Str {
                        start: (q + 2) as u32,
                        len: len as u32,
                    },
                    2,
                    len,
                )
            }
            2 => {
                if q + 5 > last {
                    return Err(err(q, "encoding runs past the end".into()));
                }
                let len = u32::from_be_bytes([b[q + 1], b[q + 2], b[q + 3], b[q + 4]]) as usize;
                (
                    Val::Str {
                        start: (q + 5) as u32,
                        len: len as u32,
                    },
                    5,
                    len,
                )
            }
            _ => {
                let d = q + 1;
                let (v, dlen) = match c {
                    0xc0 => (i16le(b, d).map(i64::from), 2),
                    0xd0 => (i32le(b, d).map(i64::from), 4),
                    0xe0 => (i64le(b, d), 8),
                    0xf0 => (i24le(b, d), 3),
                    0xfe => (b.get(d).map(|&x| i64::from(x as i8)), 1),
                    0xf1..=0xfd => (Some(i64::from(c & 0x0f) - 1), 0),
                    _ => return Err(err(q, format!("invalid encoding 0x{c:02x}"))),
                };
                if d + dlen > last {
                    return Err(err(q, "integer runs past the end".into()));
                }
                (Val::Int(v.unwrap_or(0)), 1, dlen)
            }
        };
        let size = plen + hlen + dlen;
        if p.saturating_add(size) > last {
            return Err(err(
                p,
                format!("entry of {size} bytes runs past the end of the blob"),
            ));
        }
        out.push(val);
        prev_start = Some(p);
        prev_size = size;
        p += size;
    }
    if p != last {
        return Err(CompactError::new(
            p,
            format!("ziplist end marker at byte {p}, expected at {last}"),
        ));
    }
    if let Some(ps) = prev_start {
        if ps != zltail {
            return Err(CompactError::new(
                4,
                format!("ziplist tail offset {zltail} does not point at the last entry ({ps})"),
            ));
        }
    }
    if zllen != u16::MAX && usize::from(zllen) != out.len() {
        return Err(CompactError::new(
            8,
            format!(
                "ziplist header says {zllen} entries but it holds {}",
                out.len()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(entries: &[&[u8]]) -> Vec<u8> {
        let mut zl = crate::rdb::writer::Ziplist::new();
        for e in entries {
            zl.push(e);
        }
        zl.finish()
    }

    fn values(b: &[u8]) -> Vec<Vec<u8>> {
        let mut v = Vec::new();
        parse(b, &mut v).unwrap();
        v.iter().map(|x| x.get(b).to_vec()).collect()
    }

    #[test]
    fn round_trip() {
        let long = vec![b'z'; 300];
        let huge = vec![b'w'; 20000];
        let entries: Vec<&[u8]> = vec![
            b"0",
            b"12",
            b"13",
            b"-1",
            b"127",
            b"-128",
            b"32767",
            b"-32768",
            b"8388607",
            b"-8388608",
            b"2147483647",
            b"-2147483648",
            b"9223372036854775807",
            b"",
            b"abc",
            &long,
            &huge,
            b"+1",
        ];
        let zl = encode(&entries);
        assert_eq!(
            values(&zl),
            entries.iter().map(|e| e.to_vec()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn rejects_corruption_without_panicking() {
        let good = encode(&[b"a", b"12345", b"hello world", b"x"]);
        let mut v = Vec::new();
        for i in 0..good.len() {
            for delta in [1u8, 0x40, 0x80, 0xff] {
                let mut b = good.clone();
                b[i] = b[i].wrapping_add(delta);
                let _ = parse(&b, &mut v);
            }
            assert!(parse(&good[..i], &mut v).is_err());
        }
        let mut b = good.clone();
        b[4] = 10; // tail at the first entry
        assert!(parse(&b, &mut v).is_err());
        let mut b = good.clone();
        b[13] = 5; // prevlen of entry 1 (entry 0 is 3 bytes at 10..13: 00 01 "a")
        assert!(parse(&b, &mut v).is_err());
    }
}
