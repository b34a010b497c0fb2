//! Zipmap (type 9, Redis 2.4 hashes): `zmlen:u8 (len key len free value pad)* ff`
//! (FORMATS.md §1.11.4). Validation follows `zipmapValidateIntegrity(deep=1)`;
//! an empty zipmap is rejected as Redis does. Entries are appended as field, value,
//! field, value, …

use super::{CompactError, Val, u32le};

fn decode_len(b: &[u8], p: usize, last: usize) -> Result<(usize, usize), CompactError> {
    match b[p] {
        c @ 0..=253 => Ok((c as usize, 1)),
        254 => {
            if p + 5 > last {
                return Err(CompactError::new(p, "zipmap length runs past the end"));
            }
            Ok((u32le(b, p + 1).unwrap_or(0) as usize, 5))
        }
        _ => Err(CompactError::new(p, "unexpected zipmap end marker")),
    }
}

/// Validates a zipmap and appends field/value entries to `out` (cleared first).
pub fn parse(b: &[u8], out: &mut Vec<Val>) -> Result<(), CompactError> {
    out.clear();
    if b.len() < 2 {
        return Err(CompactError::new(0, "zipmap shorter than 2 bytes"));
    }
    let last = b.len() - 1;
    if b[last] != 0xff {
        return Err(CompactError::new(last, "zipmap does not end with 0xff"));
    }
    let zmlen = b[0];
    let mut p = 1;
    let mut pairs = 0usize;
    while p < last && b[p] != 0xff {
        let (klen, s) = decode_len(b, p, last)?;
        p += s;
        if p.saturating_add(klen) > last {
            return Err(CompactError::new(
                p,
                format!("zipmap field {pairs} runs past the end"),
            ));
        }
        out.push(Val::Str {
            start: p as u32,
            len: klen as u32,
        });
        p += klen;
        if p >= last {
            return Err(CompactError::new(
                p,
                format!("zipmap value {pairs} is missing"),
            ));
        }
        let (vlen, s) = decode_len(b, p, last)?;
        p += s;
        if p >= last {
            return Err(CompactError::new(
                p,
                format!("zipmap free byte of value {pairs} is missing"),
            ));
        }
        let free = b[p] as usize;
        p += 1;
        if p.saturating_add(vlen).saturating_add(free) > last {
            return Err(CompactError::new(
                p,
                format!("zipmap value {pairs} runs past the end"),
            ));
        }
        out.push(Val::Str {
            start: p as u32,
            len: vlen as u32,
        });
        p += vlen + free;
        pairs += 1;
    }
    if p != last {
        return Err(CompactError::new(
            p,
            "zipmap end marker before the end of the blob",
        ));
    }
    if pairs == 0 {
        return Err(CompactError::new(0, "empty zipmap"));
    }
    // `zipmapValidateIntegrity`: the count byte is 254 ("unknown", ZIPMAP_BIGLEN)
    // or the real count; 255 is not "unknown" (Redis refuses it unless the
    // zipmap holds exactly 255 pairs).
    if zmlen != 254 && zmlen as usize != pairs {
        return Err(CompactError::new(
            0,
            format!("zipmap header says {zmlen} pairs but it holds {pairs}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_hash_zipmap() {
        // The zipmap of tests/assets/hash-zipmap.rdb: f1 -> v1, f2 -> v2.
        let zm = [
            2, 2, b'f', b'1', 2, 0, b'v', b'1', 2, b'f', b'2', 2, 0, b'v', b'2', 0xff,
        ];
        let mut v = Vec::new();
        parse(&zm, &mut v).unwrap();
        let got: Vec<_> = v.iter().map(|x| x.get(&zm).to_vec()).collect();
        assert_eq!(
            got,
            vec![
                b"f1".to_vec(),
                b"v1".to_vec(),
                b"f2".to_vec(),
                b"v2".to_vec()
            ]
        );
        for i in 0..zm.len() {
            assert!(parse(&zm[..i], &mut v).is_err());
            let mut b = zm;
            b[i] ^= 0x55;
            let _ = parse(&b, &mut v);
        }
        assert!(parse(&[0, 0xff], &mut v).is_err());
    }

    #[test]
    fn the_count_byte_is_254_or_the_real_count() {
        // One pair f -> v, with every possible count byte: Redis'
        // zipmapValidateIntegrity accepts only 1 and 254 (ZIPMAP_BIGLEN).
        let mut v = Vec::new();
        for zmlen in 0..=255u8 {
            let zm = [zmlen, 1, b'f', 1, 0, b'v', 0xff];
            let ok = parse(&zm, &mut v).is_ok();
            assert_eq!(ok, zmlen == 1 || zmlen == 254, "count byte {zmlen}");
        }
        // 255 pairs with a count byte of 255 is the real count.
        let mut zm = vec![255u8];
        for i in 0..255u8 {
            zm.extend_from_slice(&[1, i, 1, 0, i]);
        }
        zm.push(0xff);
        parse(&zm, &mut v).unwrap();
        assert_eq!(v.len(), 510);
        zm.truncate(zm.len() - 6);
        zm.push(0xff);
        assert!(parse(&zm, &mut v).is_err(), "255 with 254 pairs");
    }
}
