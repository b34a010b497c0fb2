//! Listpack (types 16, 17, 20, 23, 25, quicklist-v2 PACKED nodes, stream nodes).
//!
//! Layout: `total_bytes:u32le num_elements:u16le entry* ff`; each entry is
//! `encoding+data` followed by a backlen (FORMATS.md §1.11.2). Validation follows
//! `lpValidateIntegrity(deep=1)` / `lpValidateNext`: the header size matches the
//! blob, every entry lies inside the blob with a valid encoding, its backlen decodes
//! (backwards, as Redis reads it) to the entry size, the walk ends exactly at the
//! final `ff`, and the element count matches unless it is 65535.

use super::{CompactError, Val, i16le, i24le, i32le, i64le, u32le};

/// Header size (`total_bytes` + `num_elements`).
pub const HEADER_SIZE: usize = 6;

/// Number of backlen bytes Redis uses for an entry of `l` bytes.
#[inline]
pub fn backlen_size(l: usize) -> usize {
    if l <= 127 {
        1
    } else if l < 16383 {
        2
    } else if l < 2_097_151 {
        3
    } else if l < 268_435_455 {
        4
    } else {
        5
    }
}

/// Decodes a backlen whose last byte is at `p`, reading backwards as Redis'
/// `lpDecodeBacklen` does. `None` when it runs past the start or over 5 bytes.
#[inline]
fn decode_backlen(b: &[u8], mut p: usize) -> Option<u64> {
    let mut val: u64 = 0;
    let mut shift = 0;
    loop {
        let byte = *b.get(p)?;
        val |= u64::from(byte & 127) << shift;
        if byte & 128 == 0 {
            return Some(val);
        }
        shift += 7;
        if shift > 28 || p == 0 {
            return None;
        }
        p -= 1;
    }
}

/// Decodes the entry at `p` (which is not the end marker): returns the value and
/// the size of `encoding+data`.
#[inline]
fn decode_entry(b: &[u8], p: usize, end: usize) -> Result<(Val, usize), CompactError> {
    let e = |m: &str| CompactError::new(p, m.to_string());
    let c = b[p];
    let (val, size) = if c & 0x80 == 0 {
        (Val::Int(i64::from(c & 0x7f)), 1)
    } else if c & 0xc0 == 0x80 {
        let len = (c & 0x3f) as usize;
        (
            Val::Str {
                start: (p + 1) as u32,
                len: len as u32,
            },
            1 + len,
        )
    } else if c & 0xe0 == 0xc0 {
        let lo = *b
            .get(p + 1)
            .filter(|_| p + 1 < end)
            .ok_or_else(|| e("listpack entry header runs past the end"))?;
        let u = (u16::from(c & 0x1f) << 8) | u16::from(lo);
        let v = if u >= 4096 {
            i64::from(u) - 8192
        } else {
            i64::from(u)
        };
        (Val::Int(v), 2)
    } else if c & 0xf0 == 0xe0 {
        let lo = *b
            .get(p + 1)
            .filter(|_| p + 1 < end)
            .ok_or_else(|| e("listpack entry header runs past the end"))?;
        let len = ((usize::from(c & 0x0f)) << 8) | usize::from(lo);
        (
            Val::Str {
                start: (p + 2) as u32,
                len: len as u32,
            },
            2 + len,
        )
    } else {
        let need = |n: usize| -> Result<(), CompactError> {
            if p + n > end {
                Err(e("listpack entry header runs past the end"))
            } else {
                Ok(())
            }
        };
        match c {
            0xf0 => {
                need(5)?;
                let len = u32le(b, p + 1).unwrap_or(u32::MAX) as usize;
                (
                    Val::Str {
                        start: (p + 5) as u32,
                        len: len as u32,
                    },
                    5usize.saturating_add(len),
                )
            }
            0xf1 => {
                need(3)?;
                (Val::Int(i64::from(i16le(b, p + 1).unwrap_or(0))), 3)
            }
            0xf2 => {
                need(4)?;
                (Val::Int(i24le(b, p + 1).unwrap_or(0)), 4)
            }
            0xf3 => {
                need(5)?;
                (Val::Int(i64::from(i32le(b, p + 1).unwrap_or(0))), 5)
            }
            0xf4 => {
                need(9)?;
                (Val::Int(i64le(b, p + 1).unwrap_or(0)), 9)
            }
            _ => return Err(e(&format!("invalid listpack entry encoding 0x{c:02x}"))),
        }
    };
    Ok((val, size))
}

/// Validates a listpack and appends its entries to `out` (which is cleared first).
pub fn parse(b: &[u8], out: &mut Vec<Val>) -> Result<(), CompactError> {
    out.clear();
    if b.len() < HEADER_SIZE + 1 {
        return Err(CompactError::new(
            0,
            format!("listpack of {} bytes is shorter than its header", b.len()),
        ));
    }
    let total = u32le(b, 0).unwrap_or(0) as usize;
    if total != b.len() {
        return Err(CompactError::new(
            0,
            format!(
                "listpack header says {total} bytes but the blob has {}",
                b.len()
            ),
        ));
    }
    let declared = u16::from_le_bytes([b[4], b[5]]);
    let last = b.len() - 1;
    if b[last] != 0xff {
        return Err(CompactError::new(last, "listpack does not end with 0xff"));
    }
    let mut p = HEADER_SIZE;
    while p < last {
        // Fast paths for the two commonest entries, whose 1-byte backlen is
        // their size: a 7-bit unsigned integer, a string of up to 63 bytes.
        // Anything else, or any mismatch, goes through the general checks
        // below (which then report it).
        let c = b[p];
        if c < 0x80 {
            if p + 2 <= last && b[p + 1] == 1 {
                out.push(Val::Int(i64::from(c)));
                p += 2;
                continue;
            }
        } else if c & 0xc0 == 0x80 {
            let size = 1 + usize::from(c & 0x3f);
            if p + size < last && usize::from(b[p + size]) == size {
                out.push(Val::Str {
                    start: (p + 1) as u32,
                    len: (size - 1) as u32,
                });
                p += size + 1;
                continue;
            }
        }
        if b[p] == 0xff {
            return Err(CompactError::new(
                p,
                format!(
                    "listpack end marker at byte {p} before the end of the blob ({} bytes)",
                    b.len()
                ),
            ));
        }
        let (val, size) = decode_entry(b, p, last).map_err(|e| {
            CompactError::new(e.pos, format!("listpack entry {}: {}", out.len(), e.msg))
        })?;
        let blen = backlen_size(size);
        // The entry and its backlen must end before the end marker.
        if p.saturating_add(size).saturating_add(blen) > last {
            return Err(CompactError::new(
                p,
                format!(
                    "listpack entry {} of {size} bytes runs past the end of the blob",
                    out.len()
                ),
            ));
        }
        let decoded = decode_backlen(b, p + size + blen - 1);
        if decoded != Some(size as u64) {
            return Err(CompactError::new(
                p + size,
                format!(
                    "listpack entry {}: back-length does not match the entry size {size}",
                    out.len()
                ),
            ));
        }
        out.push(val);
        p += size + blen;
    }
    if declared != u16::MAX && usize::from(declared) != out.len() {
        return Err(CompactError::new(
            4,
            format!(
                "listpack header says {declared} elements but it holds {}",
                out.len()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rdb::str::Str;

    fn encode(entries: &[&[u8]]) -> Vec<u8> {
        let mut lp = crate::rdb::writer::Listpack::new();
        for e in entries {
            lp.push(e);
        }
        lp.finish()
    }

    fn values(b: &[u8]) -> Vec<Vec<u8>> {
        let mut v = Vec::new();
        parse(b, &mut v).unwrap();
        v.iter().map(|x| x.get(b).to_vec()).collect()
    }

    #[test]
    fn dump_vector_list_a_b() {
        // From the DUMP golden vector of list [a, b] (FORMATS.md §4).
        let lp = [
            0x0d, 0, 0, 0, 2, 0, 0x81, 0x61, 0x02, 0x81, 0x62, 0x02, 0xff,
        ];
        assert_eq!(values(&lp), vec![b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(encode(&[b"a", b"b"]), lp);
    }

    #[test]
    fn round_trip_every_width() {
        let big = vec![b'x'; 5000];
        let huge = vec![b'y'; 70000];
        let entries: Vec<&[u8]> = vec![
            b"0",
            b"127",
            b"128",
            b"-1",
            b"-4096",
            b"4095",
            b"4096",
            b"-32768",
            b"32767",
            b"8388607",
            b"-8388608",
            b"2147483647",
            b"-2147483648",
            b"9223372036854775807",
            b"-9223372036854775808",
            b"",
            b"abc",
            &big,
            &huge,
            b"007",
        ];
        let lp = encode(&entries);
        let got = values(&lp);
        assert_eq!(got, entries.iter().map(|e| e.to_vec()).collect::<Vec<_>>());
        let mut v = Vec::new();
        parse(&lp, &mut v).unwrap();
        assert_eq!(v[3].get(&lp), Str::Int(-1));
    }

    #[test]
    fn backlen_thresholds() {
        assert_eq!(backlen_size(127), 1);
        assert_eq!(backlen_size(128), 2);
        assert_eq!(backlen_size(16382), 2);
        assert_eq!(backlen_size(16383), 3);
        // An entry of exactly 16383 bytes (string of 16378 bytes + 5-byte header).
        let s = vec![b'q'; 16378];
        let lp = encode(&[&s]);
        assert_eq!(values(&lp), vec![s]);
    }

    #[test]
    fn rejects_corruption() {
        let good = encode(&[b"hello", b"12", b"world"]);
        let mut v = Vec::new();
        // Every single-byte change and every truncation must be caught or harmless:
        // never panic.
        for i in 0..good.len() {
            for delta in [1u8, 0x80, 0xff] {
                let mut b = good.clone();
                b[i] = b[i].wrapping_add(delta);
                let _ = parse(&b, &mut v);
            }
            let _ = parse(&good[..i], &mut v);
        }
        let mut b = good.clone();
        b[4] = 9; // wrong count
        assert!(parse(&b, &mut v).is_err());
        let mut b = good.clone();
        b[0] += 1; // wrong total
        assert!(parse(&b, &mut v).is_err());
        let mut b = good.clone();
        let last = b.len() - 1;
        b[last] = 0; // no end marker
        assert!(parse(&b, &mut v).is_err());
        let mut b = good.clone();
        b[6 + 6] = 9; // backlen of "hello" entry
        assert!(parse(&b, &mut v).is_err());
        assert!(parse(&[7, 0, 0, 0, 0, 0, 0xff], &mut v).is_ok());
        assert!(v.is_empty());
    }
}
