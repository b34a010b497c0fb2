//! Intset (type 11): `encoding:u32le length:u32le contents` with 2-, 4- or 8-byte
//! little-endian integers in strictly ascending order (FORMATS.md §1.11.3).
//! Validation follows `intsetValidateIntegrity(deep=1)`; an empty intset is
//! rejected as Redis does ("Intset integrity check failed.").

use super::{CompactError, Val, i16le, i32le, i64le, u32le};

/// Validates an intset and appends its members to `out` (cleared first).
pub fn parse(b: &[u8], out: &mut Vec<Val>) -> Result<(), CompactError> {
    out.clear();
    if b.len() < 8 {
        return Err(CompactError::new(
            0,
            format!("intset of {} bytes is shorter than its header", b.len()),
        ));
    }
    let width = u32le(b, 0).unwrap_or(0) as usize;
    if !matches!(width, 2 | 4 | 8) {
        return Err(CompactError::new(
            0,
            format!("invalid intset encoding {width}"),
        ));
    }
    let count = u32le(b, 4).unwrap_or(0) as usize;
    if count == 0 {
        return Err(CompactError::new(4, "empty intset"));
    }
    if count.checked_mul(width).and_then(|n| n.checked_add(8)) != Some(b.len()) {
        return Err(CompactError::new(
            4,
            format!(
                "intset of {count} members of {width} bytes does not fill the {} bytes blob",
                b.len()
            ),
        ));
    }
    out.reserve(count);
    let mut prev: Option<i64> = None;
    for i in 0..count {
        let p = 8 + i * width;
        let v = match width {
            2 => i16le(b, p).map(i64::from),
            4 => i32le(b, p).map(i64::from),
            _ => i64le(b, p),
        }
        .unwrap_or(0);
        if let Some(pv) = prev {
            if v <= pv {
                return Err(CompactError::new(
                    p,
                    format!("intset member {i} ({v}) is not greater than the previous one ({pv})"),
                ));
            }
        }
        prev = Some(v);
        out.push(Val::Int(v));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rdb::writer::intset as encode;

    #[test]
    fn widths_and_order() {
        let mut v = Vec::new();
        for set in [
            vec![-5, 1, 2],
            vec![-70000, 1, 70000],
            vec![i64::MIN, 0, i64::MAX],
        ] {
            let b = encode(&set);
            parse(&b, &mut v).unwrap();
            assert_eq!(
                v.iter()
                    .map(|x| match x {
                        Val::Int(i) => *i,
                        Val::Str { .. } => 0,
                    })
                    .collect::<Vec<_>>(),
                set
            );
        }
        assert!(parse(&encode(&[2, 1]), &mut v).is_err());
        assert!(parse(&encode(&[1, 1]), &mut v).is_err());
        assert!(parse(&encode(&[]), &mut v).is_err());
        let mut b = encode(&[1, 2]);
        b[0] = 3;
        assert!(parse(&b, &mut v).is_err());
        assert!(parse(&encode(&[1, 2])[..11], &mut v).is_err());
    }
}
