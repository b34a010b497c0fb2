//! Everything the binary writes: error reporting, binary-safe escaping of keys and
//! values for humans and JSON, human-readable sizes, and the progress bar.
//!
//! Binary-safe conventions (documented in the README):
//! * human output escapes bytes like redis-cli: printable ASCII and valid UTF-8
//!   are kept, `\\`, `\"`, `\n`, `\r`, `\t` are escaped, any other byte is `\xHH`;
//! * JSON output writes a byte string as a JSON string when it is valid UTF-8 and
//!   as `{"hex": "<lowercase hex>"}` otherwise (the same convention as the corpus
//!   `expected*.json` files), so a script can always recover the exact bytes.

pub mod json;
pub mod progress;

use std::fmt::Write as _;
use std::io;

/// True when `err` (or its cause) is a write to a closed pipe.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Prints `redis-persist: error: {message}` as one line on stderr (line breaks
/// in the message become `; `). A failed write is ignored.
pub fn eprint_line(message: &str) {
    use std::io::Write as _;
    let one_line = message.trim_end().replace('\n', "; ");
    let _ = writeln!(io::stderr(), "redis-persist: error: {one_line}");
}

/// An error and its causes as `a: b: c`, each cause once: a cause whose text
/// already ends the message (an error that prints its source, like
/// `read error: No such file or directory (os error 2)`) is not repeated.
pub fn error_message(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for c in err.chain() {
        let text = c.to_string();
        if out.ends_with(&text) || (!out.is_empty() && out.contains(&format!(": {text}"))) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// Escapes bytes for human output (see the module docs).
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if c.is_control() => {
                    let mut b = [0u8; 4];
                    for byte in c.encode_utf8(&mut b).bytes() {
                        let _ = write!(out, "\\x{byte:02x}");
                    }
                }
                c => out.push(c),
            }
        }
        for byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
    out
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// A byte string as JSON: a string when valid UTF-8, else `{"hex": "..."}`.
pub fn json_bytes(bytes: &[u8]) -> serde_json::Value {
    match std::str::from_utf8(bytes) {
        Ok(s) => serde_json::Value::String(s.to_owned()),
        Err(_) => serde_json::json!({ "hex": hex(bytes) }),
    }
}

/// Aux fields as a JSON object: names as text (lossy), values as byte strings.
pub fn json_aux(aux: &[(Vec<u8>, Vec<u8>)]) -> serde_json::Map<String, serde_json::Value> {
    aux.iter()
        .map(|(n, v)| (String::from_utf8_lossy(n).into_owned(), json_bytes(v)))
        .collect()
}

/// A size in human units (`1.5 MiB`).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.1} {}", UNITS[u])
}

/// The width human tables must fit: `COLUMNS` when set, else the width of
/// the terminal on stdout, else 80 (a report piped to a file or a pager).
pub fn width() -> u16 {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<u16>().ok())
        .filter(|&c| c >= 20)
        .or_else(|| comfy_table::Table::new().width())
        .unwrap_or(80)
}

/// `text` with every line longer than `width` characters wrapped at spaces,
/// its continuation lines indented by two spaces (a word longer than a line
/// stays whole).
pub fn wrap_lines(text: &str, width: usize) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let (body, nl) = line.strip_suffix('\n').map_or((line, ""), |b| (b, "\n"));
        if body.chars().count() <= width {
            out.push_str(line);
            continue;
        }
        let mut len = 0;
        for word in body.split(' ') {
            let w = word.chars().count();
            if len > 0 && len + 1 + w > width {
                out.push_str("\n  ");
                len = 2;
            } else if len > 0 {
                out.push(' ');
                len += 1;
            }
            out.push_str(word);
            len += w;
        }
        out.push_str(nl);
    }
    out
}

/// A Unix time in milliseconds as a date (`2026-12-07 14:55:57 UTC`), the
/// milliseconds in parentheses; a negative time is shown as a number.
pub fn date_ms(ms: i64) -> String {
    match u64::try_from(ms) {
        Ok(m) => format!(
            "{} ({ms} ms)",
            redis_persist::aof::repair::utc_datetime(m / 1000)
        ),
        Err(_) => format!("{ms} ms"),
    }
}

/// A table in the house style (comfy-table, condensed UTF-8 borders), with a
/// header row, that fits [`width`] (cells wrap). Used by every human report.
pub fn table<I, S>(header: I) -> comfy_table::Table
where
    I: IntoIterator<Item = S>,
    S: Into<comfy_table::Cell>,
{
    let mut t = comfy_table::Table::new();
    t.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
    t.set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
    t.set_width(width());
    t.set_header(
        header
            .into_iter()
            .map(Into::into)
            .collect::<Vec<comfy_table::Cell>>(),
    );
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(escape_bytes(b"plain"), "plain");
        assert_eq!(escape_bytes(b"a\x00\xff\"\\\n"), "a\\x00\\xff\\\"\\\\\\n");
        assert_eq!(escape_bytes("h\u{e9}".as_bytes()), "h\u{e9}");
        assert_eq!(json_bytes(b"\xc3\x28"), serde_json::json!({"hex": "c328"}));
        assert_eq!(human_size(1536), "1.5 KiB");
    }

    #[test]
    fn an_error_and_its_causes_once() {
        let io = || io::Error::new(io::ErrorKind::NotFound, "No such file or directory");
        // An error that prints its source (`read error: {0}`), with a context:
        // the source is not printed a second time.
        let rdb = redis_persist::rdb::Error::new(0, redis_persist::rdb::ErrorKind::Io(io()));
        let e = anyhow::Error::new(rdb).context("reading dump.rdb");
        assert_eq!(
            error_message(&e),
            "reading dump.rdb: at byte 0: read error: No such file or directory"
        );
        let e = anyhow::Error::new(io()).context("opening x");
        assert_eq!(error_message(&e), "opening x: No such file or directory");
    }

    #[test]
    fn long_lines_wrap_to_the_width() {
        let text = "short\na long line of words that goes past the width\n";
        let w = wrap_lines(text, 20);
        assert_eq!(
            w,
            "short\na long line of words\n  that goes past the\n  width\n"
        );
        assert!(w.lines().all(|l| l.chars().count() <= 20));
    }
}
