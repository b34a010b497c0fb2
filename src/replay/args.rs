//! Argument parsing with Redis' own strictness: integers as `string2ll` reads them
//! (no `+`, no leading zeros, no spaces), doubles as `strtod` with `inf` and
//! without NaN, stream ids, and the error texts Redis replies with.

use crate::model::StreamId;

pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
pub const NOT_INT: &str = "ERR value is not an integer or out of range";
pub const NOT_FLOAT: &str = "ERR value is not a valid float";
pub const SYNTAX: &str = "ERR syntax error";

pub type CmdResult = Result<(), String>;

/// Parses a canonical decimal `i64` (Redis `string2ll`).
pub use crate::rdb::str::parse_canonical_i64 as parse_i64_strict;

/// Parses an integer argument or returns Redis' error.
pub fn int(b: &[u8]) -> Result<i64, String> {
    parse_i64_strict(b).ok_or_else(|| NOT_INT.to_string())
}

/// Parses a non-negative integer argument.
pub fn uint(b: &[u8]) -> Result<u64, String> {
    let v = int(b)?;
    u64::try_from(v).map_err(|_| "ERR value is out of range, must be positive".to_string())
}

/// Parses a double the way Redis' `getDoubleFromObject` does (strtod, no
/// leading space, no NaN, the whole string).
pub fn parse_f64(b: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(b).ok()?;
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_whitespace()) {
        return None;
    }
    let lower = s.to_ascii_lowercase();
    let v = match lower.trim_start_matches(['+', '-']) {
        "inf" | "infinity" => {
            if lower.starts_with('-') {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            }
        }
        t if t.contains("nan") || t.contains("inf") => return None,
        _ => lower.parse::<f64>().ok()?,
    };
    if v.is_nan() { None } else { Some(v) }
}

/// `strtod` as SORT uses it: the whole C string (up to a NUL byte) must be
/// consumed (leading whitespace allowed), the empty string is 0, NaN and out-of-range values
/// (`ERANGE`) are errors.
pub fn strtod_full(b: &[u8]) -> Option<f64> {
    // Redis hands the C string to strtod: it ends at the first NUL byte.
    let b = b.split(|&c| c == 0).next().unwrap_or_default();
    if b.is_empty() {
        return Some(0.0);
    }
    let s = std::str::from_utf8(b).ok()?;
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let lower = t.to_ascii_lowercase();
    let unsigned = lower.trim_start_matches(['+', '-']);
    if unsigned.starts_with("nan") || unsigned.is_empty() {
        return None;
    }
    let v: f64 = lower.parse().ok()?;
    let literal_inf = unsigned == "inf" || unsigned == "infinity";
    if v.is_infinite() && !literal_inf {
        return None;
    }
    if v == 0.0
        && unsigned
            .split(['e', 'E'])
            .next()
            .is_some_and(|m| m.bytes().any(|c| (b'1'..=b'9').contains(&c)))
    {
        return None;
    }
    Some(v)
}

/// Parses a float argument or returns Redis' error.
pub fn float(b: &[u8]) -> Result<f64, String> {
    parse_f64(b).ok_or_else(|| NOT_FLOAT.to_string())
}

/// Case-insensitive comparison of an argument with a lower-case keyword.
pub fn is(arg: &[u8], kw: &str) -> bool {
    arg.eq_ignore_ascii_case(kw.as_bytes())
}

/// Formats an integer as Redis stores it.
pub fn itoa(v: i64) -> Vec<u8> {
    v.to_string().into_bytes()
}

/// Parses a strict stream id `ms-seq` or `ms` (seq defaults to `missing_seq`).
pub fn stream_id(b: &[u8], missing_seq: u64) -> Option<StreamId> {
    let s = std::str::from_utf8(b).ok()?;
    if s == "-" {
        return Some(StreamId::new(0, 0));
    }
    if s == "+" {
        return Some(StreamId::new(u64::MAX, u64::MAX));
    }
    let (ms, seq) = match s.split_once('-') {
        Some((a, b)) => (a, Some(b)),
        None => (s, None),
    };
    let ms = parse_u64(ms)?;
    let seq = match seq {
        Some(q) => parse_u64(q)?,
        None => missing_seq,
    };
    Some(StreamId::new(ms, seq))
}

fn parse_u64(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parses a stream id argument or returns Redis' error.
pub fn sid(b: &[u8]) -> Result<StreamId, String> {
    stream_id(b, 0)
        .ok_or_else(|| "ERR Invalid stream ID specified as stream command argument".to_string())
}

/// Normalises a Redis range index (negative from the end) for a length `len`;
/// returns (start, end) inclusive, or None for an empty range.
pub fn range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut s = if start < 0 { len + start } else { start };
    let mut e = if end < 0 { len + end } else { end };
    if s < 0 {
        s = 0;
    }
    if s > e || s >= len {
        return None;
    }
    if e >= len {
        e = len - 1;
    }
    Some((s as usize, e as usize))
}

/// What [`mpop_args`] parsed.
pub struct MpopArgs<'a> {
    /// The keys to try, in order.
    pub keys: Vec<&'a [u8]>,
    /// The direction word (`LEFT`/`RIGHT`, `MIN`/`MAX`), checked by the caller.
    pub dir: &'a [u8],
    /// How many elements to pop.
    pub count: usize,
}

/// The arguments of LMPOP/ZMPOP and their blocking forms from `a[first]` on
/// (`numkeys key… direction [COUNT n]`): the keys, the direction word (checked by
/// the caller) and the count (1 when absent; positive, and last).
pub fn mpop_args<'a>(a: &[&'a [u8]], first: usize) -> Result<MpopArgs<'a>, String> {
    let numkeys = int(a[first])?;
    if numkeys <= 0 || first + 1 + numkeys as usize > a.len() {
        return Err("ERR numkeys should be greater than 0".into());
    }
    let end = first + 1 + numkeys as usize;
    let keys = a[first + 1..end].to_vec();
    let Some(&dir) = a.get(end) else {
        return Err(SYNTAX.into());
    };
    let i = end + 1;
    if i >= a.len() {
        return Ok(MpopArgs {
            keys,
            dir,
            count: 1,
        });
    }
    if is(a[i], "count") && i + 2 == a.len() {
        let c = int(a[i + 1])?;
        if c <= 0 {
            return Err("ERR count should be greater than 0".into());
        }
        return Ok(MpopArgs {
            keys,
            dir,
            count: c as usize,
        });
    }
    Err(SYNTAX.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_ints() {
        assert_eq!(parse_i64_strict(b"0"), Some(0));
        assert_eq!(parse_i64_strict(b"-12"), Some(-12));
        assert_eq!(parse_i64_strict(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64_strict(b"9223372036854775808"), None);
        for bad in [&b"007"[..], b"+1", b"-0", b" 1", b"", b"1.5", b"-"] {
            assert_eq!(parse_i64_strict(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn floats() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_f64(b"+inf"), Some(f64::INFINITY));
        assert_eq!(parse_f64(b"1e3"), Some(1000.0));
        assert_eq!(parse_f64(b"nan"), None);
        assert_eq!(parse_f64(b" 1"), None);
    }

    #[test]
    fn ranges() {
        assert_eq!(range(0, -1, 5), Some((0, 4)));
        assert_eq!(range(-2, 100, 5), Some((3, 4)));
        assert_eq!(range(3, 1, 5), None);
        assert_eq!(range(0, 0, 0), None);
    }
}
