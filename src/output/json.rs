//! Hand-written JSON for byte strings, appended to a `Vec<u8>`: the wire
//! helpers of `dump` (which writes millions of values and cannot afford a
//! `serde_json::Value` per element) and of anything else that streams JSON.
//!
//! Byte-string conventions (the corpus `expected*.json` conventions, documented in
//! the README):
//! * **value form** ([`write_bytes`]): a JSON string when the bytes are valid
//!   UTF-8, otherwise `{"hex":"<lowercase hex>"}`;
//! * **object-key form** ([`write_key`]): the UTF-8 text when the bytes are valid
//!   UTF-8 and do not start with `hex:`, otherwise `"hex:"` followed by the
//!   lowercase hex of the bytes.
//!
//! Strings are written as UTF-8 (not `\u`-escaped); `"`, `\` and the control
//! characters U+0000–U+001F are escaped (`\n`, `\r`, `\t`, `\b`, `\f`, else
//! `\u00XX`), so every output is valid JSON that a script decodes back to the
//! exact bytes.

use redis_persist::rdb::Str;

/// Per byte: 0 = copy as is, otherwise the escape letter (`u` = `\u00XX`).
static ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends the escaped contents of `s` (valid UTF-8), without quotes.
#[inline]
pub fn write_escaped(out: &mut Vec<u8>, s: &[u8]) {
    let mut start = 0;
    for (i, &b) in s.iter().enumerate() {
        let e = ESCAPE[b as usize];
        if e == 0 {
            continue;
        }
        out.extend_from_slice(&s[start..i]);
        out.push(b'\\');
        out.push(e);
        if e == b'u' {
            out.extend_from_slice(b"00");
            out.push(HEX[(b >> 4) as usize]);
            out.push(HEX[(b & 15) as usize]);
        }
        start = i + 1;
    }
    out.extend_from_slice(&s[start..]);
}

/// Appends `"<escaped s>"` (`s` must be valid UTF-8).
#[inline]
pub fn write_str(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    write_escaped(out, s);
    out.push(b'"');
}

/// Appends the lowercase hex of `b`.
#[inline]
pub fn write_hex(out: &mut Vec<u8>, b: &[u8]) {
    out.reserve(b.len() * 2);
    for &x in b {
        out.push(HEX[(x >> 4) as usize]);
        out.push(HEX[(x & 15) as usize]);
    }
}

#[inline]
fn is_utf8(b: &[u8]) -> bool {
    b.is_ascii() || std::str::from_utf8(b).is_ok()
}

/// Index of the first byte that is not plain printable ASCII: a control
/// character, `"`, `\`, or a byte ≥ 0x80. Eight bytes at a time (SWAR): most
/// keys and values are plain ASCII and are then copied in one piece. The last
/// 1 to 7 bytes are one more word: the last eight bytes of the string, or for
/// a string shorter than eight, two overlapping halves of it (most keys,
/// members and fields are that short), so no string is scanned byte by byte
/// unless it has a special byte in its tail.
// Measured: the fat-LTO build calls it out of line otherwise (40 instructions
// a string in calls and register saves).
#[allow(clippy::inline_always)]
#[inline(always)]
pub fn plain_prefix(b: &[u8]) -> usize {
    let n = b.len();
    let mut i = 0;
    while i + 8 <= n {
        let m = special(word(&b[i..i + 8]));
        if m != 0 {
            // The lowest flag is exact (see `special`).
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    if i == n {
        return n;
    }
    if n >= 8 {
        // The last eight bytes: those before `i` are known to be plain.
        let m = special(word(&b[n - 8..]));
        return if m == 0 {
            n
        } else {
            n - 8 + (m.trailing_zeros() / 8) as usize
        };
    }
    // 1 to 7 bytes: both halves (overlapping, or a byte twice) in one word.
    let w = if n >= 4 {
        u64::from(quarter(&b[..4])) | u64::from(quarter(&b[n - 4..])) << 32
    } else {
        // First, last and middle byte, and spaces (plain) above.
        u64::from(b[0])
            | u64::from(b[n - 1]) << 8
            | u64::from(b[n / 2]) << 16
            | 0x2020_2020_2000_0000
    };
    if special(w) == 0 {
        return n;
    }
    b.iter()
        .position(|&c| c >= 0x80 || ESCAPE[c as usize] != 0)
        .unwrap_or(n)
}

/// Eight bytes as a little-endian word.
#[inline]
fn word(b: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(b);
    u64::from_le_bytes(w)
}

/// Four bytes as a little-endian word.
#[inline]
fn quarter(b: &[u8]) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(b);
    u32::from_le_bytes(w)
}

/// The high bit of each byte of `w` that is `< 0x20`, `"`, `\` or `>= 0x80`
/// is set (and maybe of bytes above such a byte, through the borrow: the
/// lowest flag always marks the first special byte).
#[inline]
fn special(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let ctrl = w.wrapping_sub(ONES * 0x20) & !w;
    let quote = (w ^ (ONES * 0x22)).wrapping_sub(ONES) & !(w ^ (ONES * 0x22));
    let bslash = (w ^ (ONES * 0x5c)).wrapping_sub(ONES) & !(w ^ (ONES * 0x5c));
    (ctrl | quote | bslash | w) & HIGH
}

/// Appends `b` in value form: a JSON string, or `{"hex":"…"}` when not UTF-8.
#[inline]
pub fn write_bytes(out: &mut Vec<u8>, b: &[u8]) {
    write_text_or_hex(out, b, b"{\"hex\":\"", b"\"}");
}

/// Appends `b` in object-key form (a JSON string: the text, or `hex:…`).
#[inline]
pub fn write_key(out: &mut Vec<u8>, b: &[u8]) {
    if b.starts_with(b"hex:") {
        write_hex_between(out, b, b"\"hex:", b"\"");
    } else {
        write_text_or_hex(out, b, b"\"hex:", b"\"");
    }
}

/// How a byte string is written ([`form`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// As JSON text: the first `plain` bytes as they are, the rest escaped
    /// ([`write_escaped`]).
    Text {
        /// Length of the prefix that needs no escaping.
        plain: usize,
    },
    /// As hex (not UTF-8).
    Hex,
}

/// The form of `b`: text when it is valid UTF-8, else hex (the choice
/// [`write_bytes`] and [`write_key`] make).
pub fn form(b: &[u8]) -> Form {
    let plain = plain_prefix(b);
    if plain == b.len() || is_utf8(&b[plain..]) {
        Form::Text { plain }
    } else {
        Form::Hex
    }
}

/// Appends `b` as a JSON string when it is UTF-8, else its hex between `open`
/// and `close` (the [`form`] of `b`).
/// The plain case (no escape) is inlined into the renderers; the others are
/// out of line, so that the common path saves no registers.
// Measured: the fat-LTO build calls it out of line otherwise.
#[allow(clippy::inline_always)]
#[inline(always)]
fn write_text_or_hex(out: &mut Vec<u8>, b: &[u8], open: &[u8], close: &[u8]) {
    let plain = plain_prefix(b);
    if plain == b.len() {
        out.reserve(b.len() + 2);
        out.push(b'"');
        out.extend_from_slice(b);
        out.push(b'"');
    } else {
        write_escaped_or_hex(out, b, plain, open, close);
    }
}

/// [`write_text_or_hex`] of `b`, whose first byte to escape (or first non-ASCII
/// byte) is at `plain`.
#[inline(never)]
fn write_escaped_or_hex(out: &mut Vec<u8>, b: &[u8], plain: usize, open: &[u8], close: &[u8]) {
    if is_utf8(&b[plain..]) {
        out.push(b'"');
        out.extend_from_slice(&b[..plain]);
        write_escaped(out, &b[plain..]);
        out.push(b'"');
    } else {
        write_hex_between(out, b, open, close);
    }
}

#[inline]
fn write_hex_between(out: &mut Vec<u8>, b: &[u8], open: &[u8], close: &[u8]) {
    out.extend_from_slice(open);
    write_hex(out, b);
    out.extend_from_slice(close);
}

/// Appends a string element in value form (an integer as its decimal text, in
/// quotes: it is a string in Redis).
#[inline]
pub fn write_value_str(out: &mut Vec<u8>, s: Str<'_>) {
    match s {
        Str::Bytes(b) => write_bytes(out, b),
        Str::Int(i) => {
            out.push(b'"');
            write_i64(out, i);
            out.push(b'"');
        }
    }
}

/// Appends a string element in object-key form.
#[inline]
pub fn write_key_str(out: &mut Vec<u8>, s: Str<'_>) {
    match s {
        Str::Bytes(b) => write_key(out, b),
        Str::Int(i) => {
            out.push(b'"');
            write_i64(out, i);
            out.push(b'"');
        }
    }
}

/// Appends a signed integer (a JSON number).
#[inline]
pub fn write_i64(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Appends an unsigned integer (a JSON number).
#[inline]
pub fn write_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Appends an optional signed integer (`null` when absent).
#[inline]
pub fn write_opt_i64(out: &mut Vec<u8>, v: Option<i64>) {
    match v {
        Some(v) => write_i64(out, v),
        None => out.extend_from_slice(b"null"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn value_form() {
        assert_eq!(v(|o| write_bytes(o, b"plain")), r#""plain""#);
        let got = v(|o| write_bytes(o, b"a\"b\\c\n\r\t\x08\x0c\x00\x1f\x7f"));
        assert_eq!(got, "\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0000\\u001f\u{7f}\"");
        assert_eq!(
            v(|o| write_bytes(o, "h\u{e9}\u{1f600}".as_bytes())),
            "\"h\u{e9}\u{1f600}\""
        );
        assert_eq!(v(|o| write_bytes(o, b"\xc3\x28")), r#"{"hex":"c328"}"#);
        assert_eq!(v(|o| write_bytes(o, b"")), r#""""#);
        assert_eq!(v(|o| write_value_str(o, Str::Int(-12))), r#""-12""#);
    }

    #[test]
    fn key_form() {
        assert_eq!(v(|o| write_key(o, b"field")), r#""field""#);
        assert_eq!(
            v(|o| write_key(o, b"hex:6869")),
            r#""hex:6865783a36383639""#
        );
        assert_eq!(v(|o| write_key(o, b"\xff")), r#""hex:ff""#);
        assert_eq!(v(|o| write_key(o, b"")), r#""""#);
    }

    #[test]
    fn plain_prefix_finds_the_first_special_byte() {
        for special in [0u8, 0x1f, b'"', b'\\', 0x80, 0xff] {
            for len in 0..40 {
                for pos in 0..len {
                    let mut b = vec![b'a'; len];
                    b[pos] = special;
                    assert_eq!(plain_prefix(&b), pos, "byte {special:#x} at {pos} of {len}");
                }
            }
        }
        for c in 0x20..0x80u8 {
            if c != b'"' && c != b'\\' {
                assert_eq!(plain_prefix(&[c; 17]), 17, "{c:#x}");
            }
        }
    }

    /// Against a byte-by-byte scan, on strings mixing plain bytes next to the
    /// special ones (`!`, `#`, `[`, `]`, DEL, space) with several special bytes.
    #[test]
    fn plain_prefix_agrees_with_a_byte_scan() {
        let alphabet = [
            b'a', b' ', b'!', b'#', b'[', b']', 0x7f, b'~', 0x1f, b'"', b'\\', 0x80, 0xc3, 0,
        ];
        let mut st = 0x9e37_79b9_7f4a_7c15u64;
        for round in 0..200_000 {
            let len = round % 41;
            let plain_odds = (round / 41) % 4 * 8 + 2; // 2, 10, 18 or 26 in 32
            let b: Vec<u8> = (0..len)
                .map(|_| {
                    st ^= st << 13;
                    st ^= st >> 7;
                    st ^= st << 17;
                    let r = st;
                    if r % 32 < plain_odds {
                        b'a'
                    } else {
                        alphabet[(r >> 8) as usize % alphabet.len()]
                    }
                })
                .collect();
            let want = b
                .iter()
                .position(|&c| c >= 0x80 || ESCAPE[c as usize] != 0)
                .unwrap_or(b.len());
            assert_eq!(plain_prefix(&b), want, "{b:?}");
        }
    }

    /// Whatever the bytes, the output parses as JSON and decodes back to them.
    #[test]
    fn round_trip_every_byte() {
        let mut all: Vec<u8> = (0..=255u8).collect();
        all.extend_from_slice("é😀".as_bytes());
        for s in [&all[..], &all[..128], &all[..32], &all[256..]] {
            let text = v(|o| write_bytes(o, s));
            let j: serde_json::Value = serde_json::from_str(&text).unwrap();
            let back = match &j {
                serde_json::Value::String(t) => t.as_bytes().to_vec(),
                serde_json::Value::Object(o) => {
                    let h = o["hex"].as_str().unwrap();
                    (0..h.len())
                        .step_by(2)
                        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
                        .collect()
                }
                other => panic!("{other}"),
            };
            assert_eq!(back, s);
        }
    }
}
