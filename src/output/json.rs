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
/// keys and values are plain ASCII and are then copied in one piece.
#[inline]
pub fn plain_prefix(b: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut i = 0;
    while i + 8 <= b.len() {
        let mut w = [0u8; 8];
        w.copy_from_slice(&b[i..i + 8]);
        let w = u64::from_le_bytes(w);
        // A byte < 0x20, == 0x22, == 0x5c or >= 0x80 sets its high bit here.
        let ctrl = w.wrapping_sub(ONES * 0x20) & !w;
        let quote = (w ^ (ONES * 0x22)).wrapping_sub(ONES) & !(w ^ (ONES * 0x22));
        let bslash = (w ^ (ONES * 0x5c)).wrapping_sub(ONES) & !(w ^ (ONES * 0x5c));
        if (ctrl | quote | bslash | w) & HIGH != 0 {
            break;
        }
        i += 8;
    }
    while i < b.len() {
        let c = b[i];
        if c >= 0x80 || ESCAPE[c as usize] != 0 {
            return i;
        }
        i += 1;
    }
    i
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
#[inline]
fn write_text_or_hex(out: &mut Vec<u8>, b: &[u8], open: &[u8], close: &[u8]) {
    let plain = plain_prefix(b);
    if plain == b.len() {
        out.reserve(b.len() + 2);
        out.push(b'"');
        out.extend_from_slice(b);
        out.push(b'"');
    } else if is_utf8(&b[plain..]) {
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
