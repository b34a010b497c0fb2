//! The RESP record grammar of `redis-check-aof`, byte for byte.
//!
//! `redis-check-aof` (Redis 7.0 – 7.4, Valkey 7.2 – 8.x: the code is the same) reads
//! an AOF with stdio: header lines with `fgets` into a 128-byte buffer parsed by
//! `strtol`, bulk payloads with `fread`, and it insists on `\r\n` after every header
//! and payload. This module reproduces that grammar exactly (FORMATS.md §6.1),
//! including its quirks, because `--fix` must cut where `redis-check-aof --fix` cuts:
//!
//! * a header line is at most 127 bytes (`fgets(buf, 128)`); the number is parsed
//!   by C `strtol` (leading white space, a sign and leading zeros are accepted, an
//!   overflow saturates, no digits at all reads as 0: `*\r\n` is an empty array);
//! * the text is a C string: a NUL byte ends it (`$3\0\r\n` is not a valid header);
//! * `*0` and `*-1` are accepted with no arguments (the server refuses them);
//! * a bulk length must be in `0 ..= i64::MAX - 2`;
//! * the line counter (`ok_up_to_line`) starts at 1 and counts every `\r\n` the
//!   parser accepted, annotations excluded;
//! * a record whose input ends exactly where a `$` header should start stops
//!   silently (no error line), any other short read is an error.
//!
//! Two readers share this grammar: the allocation-free scanner used by the
//! checker (`Scanner`, crate-private, with a fast path for canonical records in
//! the buffer), and the public [`CommandReader`] that yields every command with its
//! arguments for replay and conversion.

use crate::io::{Input, Source, SourceError};

use super::{Error, ErrorKind};

/// Longest header line `redis-check-aof` reads in one `fgets` (buffer of 128).
pub(crate) const HEADER_LINE_MAX: usize = 127;
/// Longest annotation line read in one piece (`fgets` with a 1024-byte buffer, as
/// both the checker and the server loader do).
pub(crate) const ANNOTATION_LINE_MAX: usize = 1023;
/// Bulk payloads up to this size are examined in the buffer; larger ones are
/// streamed (so memory stays bounded whatever the declared lengths).
const IN_PLACE_MAX: usize = 1 << 20;

/// Result of C `strtol(s, &end, 10)` on a C string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StrtolResult {
    /// The value (saturated on overflow, like glibc).
    pub value: i64,
    /// Index in `s` of the first byte not consumed (0 when no digits were found).
    pub end: usize,
    /// The value overflowed (`errno == ERANGE`).
    pub overflow: bool,
}

/// C `isspace` in the "C" locale.
#[inline]
fn c_isspace(b: u8) -> bool {
    b == b' ' || (0x09..=0x0d).contains(&b)
}

/// The part of `s` a C function would see: up to the first NUL byte.
#[inline]
pub(crate) fn c_str(s: &[u8]) -> &[u8] {
    match memchr(0, s) {
        Some(i) => &s[..i],
        None => s,
    }
}

/// Position of the first `needle` byte in `hay`.
#[inline]
pub(crate) fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&b| b == needle)
}

/// C `strtol(s, &end, 10)`; `s` must already be cut at its first NUL.
pub(crate) fn strtol(s: &[u8]) -> StrtolResult {
    let mut i = 0;
    while i < s.len() && c_isspace(s[i]) {
        i += 1;
    }
    let mut neg = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        neg = s[i] == b'-';
        i += 1;
    }
    let digits_start = i;
    // Accumulate as a negative number so that i64::MIN is representable.
    let mut acc: i64 = 0;
    let mut overflow = false;
    while i < s.len() && s[i].is_ascii_digit() {
        let d = i64::from(s[i] - b'0');
        if !overflow {
            match acc.checked_mul(10).and_then(|v| v.checked_sub(d)) {
                Some(v) => acc = v,
                None => overflow = true,
            }
        }
        i += 1;
    }
    if i == digits_start {
        return StrtolResult {
            value: 0,
            end: 0,
            overflow: false,
        };
    }
    let value = if overflow {
        if neg { i64::MIN } else { i64::MAX }
    } else if neg {
        acc
    } else if acc == i64::MIN {
        overflow = true;
        i64::MAX
    } else {
        -acc
    };
    StrtolResult {
        value,
        end: i,
        overflow,
    }
}

/// C `strcasecmp(arg, word) == 0` where `arg` is a NUL-terminated copy of a bulk
/// payload (so `multi\0junk` equals `multi`) and `word` is lower-case ASCII.
#[inline]
pub(crate) fn c_eq_ignore_case(arg: &[u8], word: &[u8]) -> bool {
    let arg = if arg.len() > word.len() && arg[word.len()] == 0 {
        &arg[..word.len()]
    } else {
        arg
    };
    arg.len() == word.len()
        && arg
            .iter()
            .zip(word)
            .all(|(a, w)| a.to_ascii_lowercase() == *w)
}

/// Is this first argument `MULTI` for the checker?
#[inline]
pub(crate) fn is_multi(arg0: &[u8]) -> bool {
    (arg0.len() == 5 || arg0.get(5) == Some(&0)) && c_eq_ignore_case(arg0, b"multi")
}

/// Is this first argument `EXEC` for the checker?
#[inline]
pub(crate) fn is_exec(arg0: &[u8]) -> bool {
    (arg0.len() == 4 || arg0.get(4) == Some(&0)) && c_eq_ignore_case(arg0, b"exec")
}

/// A byte printed by C `printf("%02x", (char)b)` (signed char, so bytes ≥ 0x80 are
/// sign-extended: `ffffff80`).
pub(crate) fn c_hex_signed(b: u8) -> String {
    if b < 0x80 {
        format!("{b:02x}")
    } else {
        format!("ffffff{b:02x}")
    }
}

/// Why the checker's grammar rejected a record (the message `redis-check-aof`
/// prints after `0x<offset>: `, or `format error`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inconsistency {
    /// A header line did not start with the expected `*` or `$`.
    ExpectedPrefix {
        /// `*` or `$`.
        expected: u8,
        /// The byte found (0 when the line was empty).
        got: u8,
    },
    /// A header or payload was not followed by `\r\n`; `got` are the two bytes found
    /// (0 stands for the end of the data read).
    ExpectedCrlf {
        /// The two bytes in place of `\r\n`.
        got: [u8; 2],
    },
    /// The input ended inside a bulk payload (or its trailing `\r\n`).
    ShortPayload {
        /// Bytes needed: declared length + 2.
        expected: i64,
        /// Bytes available.
        got: u64,
    },
    /// A bulk length outside `0 ..= i64::MAX - 2`.
    BadLength(i64),
    /// `MULTI` while a transaction is already open.
    UnexpectedMulti,
    /// `EXEC` with no open transaction.
    UnexpectedExec,
    /// The input ended while a `MULTI` was open.
    EofInMulti,
    /// The input ended exactly where an argument's `$` header should start
    /// (`redis-check-aof` prints no error line for this one).
    Truncated,
    /// A record starts with a byte that is neither `*` nor `#`.
    FormatError {
        /// The byte.
        byte: u8,
    },
}

impl Inconsistency {
    /// The text `redis-check-aof` prints for it (after `0x<offset>: `), with `path`
    /// as the file name it would show; `None` when it prints no error line.
    pub fn upstream_message(&self, path: &str) -> Option<String> {
        Some(match self {
            Self::ExpectedPrefix { expected, got } => {
                // %c prints the raw byte; a non-ASCII one is shown as U+FFFD (what a
                // lossy UTF-8 reading of the upstream output gives).
                let g = if got.is_ascii() {
                    *got as char
                } else {
                    char::REPLACEMENT_CHARACTER
                };
                format!("Expected prefix '{}', got: '{g}'", *expected as char)
            }
            Self::ExpectedCrlf { got } => {
                format!(
                    "Expected \\r\\n, got: {}{}",
                    c_hex_signed(got[0]),
                    c_hex_signed(got[1])
                )
            }
            Self::ShortPayload { expected, got } => {
                format!("Expected to read {expected} bytes, got {got} bytes")
            }
            Self::BadLength(n) => {
                format!("Expected to read string of {n} bytes, which is not in the suitable range")
            }
            Self::UnexpectedMulti => format!("Unexpected MULTI in AOF {path}"),
            Self::UnexpectedExec => format!("Unexpected EXEC in AOF {path}"),
            Self::EofInMulti => "Reached EOF before reading EXEC for MULTI".to_owned(),
            Self::Truncated | Self::FormatError { .. } => return None,
        })
    }

    /// A short explanation for humans.
    pub fn describe(&self) -> String {
        match self {
            Self::ExpectedPrefix { expected, got } => format!(
                "expected a '{}' header line, found {}",
                *expected as char,
                describe_byte(*got)
            ),
            Self::ExpectedCrlf { got: [0, 0] } => {
                "expected \\r\\n, found the end of the data (or a NUL byte)".to_owned()
            }
            Self::ExpectedCrlf { got } => {
                format!(
                    "expected \\r\\n, found {}",
                    crate::aof::escape_for_message(got)
                )
            }
            Self::ShortPayload { expected, got } => format!(
                "the input ends inside an argument: {expected} bytes expected (payload + \\r\\n), {got} left"
            ),
            Self::BadLength(n) => format!("invalid argument length {n}"),
            Self::UnexpectedMulti => "MULTI inside an open MULTI".to_owned(),
            Self::UnexpectedExec => "EXEC without MULTI".to_owned(),
            Self::EofInMulti => "the input ends inside a MULTI block (no EXEC)".to_owned(),
            Self::Truncated => "the input ends inside a command (arguments missing)".to_owned(),
            Self::FormatError { byte } => {
                format!(
                    "a record must start with '*' or '#', found {}",
                    describe_byte(*byte)
                )
            }
        }
    }

    /// True for the kinds that mean "the data stops early" (as opposed to bytes
    /// that are wrong).
    pub fn is_truncation(&self) -> bool {
        matches!(
            self,
            Self::ShortPayload { .. } | Self::EofInMulti | Self::Truncated
        )
    }

    /// A stable identifier for JSON output.
    pub fn code(&self) -> &'static str {
        match self {
            Self::ExpectedPrefix { .. } => "expected-prefix",
            Self::ExpectedCrlf { .. } => "expected-crlf",
            Self::ShortPayload { .. } => "short-payload",
            Self::BadLength(_) => "bad-length",
            Self::UnexpectedMulti => "unexpected-multi",
            Self::UnexpectedExec => "unexpected-exec",
            Self::EofInMulti => "eof-in-multi",
            Self::Truncated => "truncated",
            Self::FormatError { .. } => "format-error",
        }
    }
}

fn describe_byte(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("'{}'", b as char)
    } else {
        format!("byte 0x{b:02x}")
    }
}

/// Outcome of reading one header line.
#[derive(Debug)]
pub(crate) enum Header {
    /// The parsed number.
    Value(i64),
    /// End of input before the line (`fgets` returned NULL).
    Eof,
    /// The line was rejected.
    Bad(Inconsistency),
}

/// Parses one header line exactly like `readLong` (`fgets` of at most 127 bytes,
/// prefix check, `strtol`, `\r\n` check). `line` is what `fgets` returned: up to and
/// including the first `\n`, at most 127 bytes.
pub(crate) fn parse_header_line(line: &[u8], prefix: u8) -> Result<i64, Inconsistency> {
    let s = c_str(line);
    let first = s.first().copied().unwrap_or(0);
    if first != prefix {
        return Err(Inconsistency::ExpectedPrefix {
            expected: prefix,
            got: first,
        });
    }
    let r = strtol(&s[1..]);
    let eptr = if r.end == 0 { 1 } else { 1 + r.end };
    // strncmp(eptr, "\r\n", 2) then printf of eptr[0], eptr[1]: these are bytes of
    // the fgets buffer, which holds the line and then a NUL. (When eptr is that
    // final NUL, C prints a stale byte after it; we print 0.)
    let at = |i: usize| -> u8 { line.get(i).copied().unwrap_or(0) };
    let a = at(eptr);
    let b = if a == 0 && eptr >= line.len() {
        0
    } else {
        at(eptr + 1)
    };
    if a == b'\r' && b == b'\n' {
        Ok(r.value)
    } else {
        Err(Inconsistency::ExpectedCrlf { got: [a, b] })
    }
}

/// Low-level reader over a [`Source`] with the checker's state: the line counter
/// and the offset of the last read (`epos`, the position printed in error lines).
pub(crate) struct Scanner<R> {
    pub src: Source<R>,
    /// `redis-check-aof`'s `line` counter.
    pub line: u64,
    /// Offset where the last header line, payload or annotation read started.
    pub epos: u64,
}

/// Where an argument goes while a record is parsed.
pub(crate) trait ArgSink {
    /// A vector to receive argument `index` (cleared first), or `None` to only
    /// [`ArgSink::inspect`] it when it is small, and skip it otherwise.
    fn target(&mut self, index: u64) -> Option<&mut Vec<u8>>;
    /// Sees argument `index` in place (only when no target was given and the
    /// argument fitted in the buffer).
    fn inspect(&mut self, index: u64, data: &[u8]);
}

/// Outcome of reading one bulk argument.
pub(crate) enum Bulk {
    /// Read; the first bytes of the payload (up to 6) for the MULTI/EXEC check.
    Ok { head: [u8; 6], head_len: usize },
    /// Rejected.
    Bad(Inconsistency),
}

impl<R: Input> Scanner<R> {
    pub fn new(src: Source<R>, line: u64) -> Self {
        let epos = src.offset();
        Self { src, line, epos }
    }

    /// `readLong`: reads a header line starting with `prefix`.
    pub fn read_header(&mut self, prefix: u8) -> Result<Header, SourceError> {
        self.epos = self.src.offset();
        // Fast path: `<prefix><1-18 digits>\r\n` in the buffer.
        {
            let b = self.src.buffered();
            if b.len() >= 4 && b[0] == prefix {
                let mut i = 1;
                let mut v: i64 = 0;
                while i < b.len() && i <= 18 && b[i].is_ascii_digit() {
                    v = v * 10 + i64::from(b[i] - b'0');
                    i += 1;
                }
                if i > 1 && i + 1 < b.len() && b[i] == b'\r' && b[i + 1] == b'\n' {
                    self.src.consume(i + 2);
                    self.line += 1;
                    return Ok(Header::Value(v));
                }
            }
        }
        let buf = self.src.fill_buf(HEADER_LINE_MAX)?;
        if buf.is_empty() {
            return Ok(Header::Eof);
        }
        let window = &buf[..buf.len().min(HEADER_LINE_MAX)];
        let n = memchr(b'\n', window).map_or(window.len(), |i| i + 1);
        let res = parse_header_line(&window[..n], prefix);
        self.src.consume(n);
        Ok(match res {
            Ok(v) => {
                self.line += 1;
                Header::Value(v)
            }
            Err(e) => Header::Bad(e),
        })
    }

    /// `readBytes` + `consumeNewline`: reads a payload of `len` bytes and its
    /// `\r\n` (`len` already checked to be in range).
    pub fn read_bulk(
        &mut self,
        len: i64,
        index: u64,
        sink: &mut dyn ArgSink,
    ) -> Result<Bulk, SourceError> {
        self.epos = self.src.offset();
        let len_u = len as u64;
        let total = len_u + 2;
        let mut head = [0u8; 6];
        let mut tail = [0u8; 2];
        if let Some(target) = sink.target(index) {
            target.clear();
            match self.src.read_into(len_u, target) {
                Ok(()) => {}
                Err(SourceError::Eof { .. }) => {
                    let got = target.len() as u64 + self.drain()?;
                    return Ok(Bulk::Bad(Inconsistency::ShortPayload {
                        expected: len + 2,
                        got,
                    }));
                }
                Err(e) => return Err(e),
            }
            let h = target.len().min(6);
            head[..h].copy_from_slice(&target[..h]);
            let b = self.src.fill_buf(2)?;
            if b.len() < 2 {
                let got = len_u + b.len() as u64;
                let n = b.len();
                self.src.consume(n);
                return Ok(Bulk::Bad(Inconsistency::ShortPayload {
                    expected: len + 2,
                    got,
                }));
            }
            tail.copy_from_slice(&b[..2]);
            self.src.consume(2);
            return Ok(self.finish_bulk(head, h, tail));
        }
        if total <= IN_PLACE_MAX as u64 {
            let n = total as usize;
            let b = self.src.fill_buf(n)?;
            if b.len() < n {
                let got = b.len() as u64;
                let k = b.len();
                self.src.consume(k);
                return Ok(Bulk::Bad(Inconsistency::ShortPayload {
                    expected: len + 2,
                    got,
                }));
            }
            let data = &b[..n - 2];
            let h = data.len().min(6);
            head[..h].copy_from_slice(&data[..h]);
            tail.copy_from_slice(&b[n - 2..n]);
            sink.inspect(index, data);
            self.src.consume(n);
            return Ok(self.finish_bulk(head, h, tail));
        }
        // Large payload: stream through it.
        let mut left = total;
        let mut seen: u64 = 0;
        let mut last = [0u8; 2];
        while left > 0 {
            let b = self.src.fill_buf(1)?;
            if b.is_empty() {
                return Ok(Bulk::Bad(Inconsistency::ShortPayload {
                    expected: len + 2,
                    got: seen,
                }));
            }
            let k = (b.len() as u64).min(left) as usize;
            if seen == 0 {
                let h = k.min(6);
                head[..h].copy_from_slice(&b[..h]);
            }
            // Keep the last two bytes seen (the would-be \r\n).
            if k >= 2 {
                last.copy_from_slice(&b[k - 2..k]);
            } else {
                last = [last[1], b[0]];
            }
            self.src.consume(k);
            left -= k as u64;
            seen += k as u64;
        }
        Ok(self.finish_bulk(head, 6, last))
    }

    fn finish_bulk(&mut self, head: [u8; 6], head_len: usize, tail: [u8; 2]) -> Bulk {
        if tail == *b"\r\n" {
            self.line += 1;
            Bulk::Ok { head, head_len }
        } else {
            Bulk::Bad(Inconsistency::ExpectedCrlf { got: tail })
        }
    }

    /// Consumes everything left; returns how many bytes that was.
    fn drain(&mut self) -> Result<u64, SourceError> {
        let mut n = 0u64;
        loop {
            let k = self.src.fill_buf(1)?.len();
            if k == 0 {
                return Ok(n);
            }
            self.src.consume(k);
            n += k as u64;
        }
    }

    /// `readString`: a `$` header and its payload. `Ok(None)` = read fine.
    pub fn read_string(
        &mut self,
        index: u64,
        sink: &mut dyn ArgSink,
    ) -> Result<StringOutcome, SourceError> {
        let len = match self.read_header(b'$')? {
            Header::Value(v) => v,
            Header::Eof => return Ok(StringOutcome::Bad(Inconsistency::Truncated)),
            Header::Bad(e) => return Ok(StringOutcome::Bad(e)),
        };
        if !(0..=i64::MAX - 2).contains(&len) {
            return Ok(StringOutcome::Bad(Inconsistency::BadLength(len)));
        }
        Ok(match self.read_bulk(len, index, sink)? {
            Bulk::Ok { head, head_len } => StringOutcome::Ok { head, head_len },
            Bulk::Bad(e) => StringOutcome::Bad(e),
        })
    }

    /// Reads an annotation line (the `#` is the next byte): at most 1023 bytes up
    /// to and including the first `\n`. Returns its bytes through `f`.
    pub fn read_annotation<T>(&mut self, f: impl FnOnce(&[u8]) -> T) -> Result<T, SourceError> {
        self.epos = self.src.offset();
        let buf = self.src.fill_buf(ANNOTATION_LINE_MAX)?;
        let window = &buf[..buf.len().min(ANNOTATION_LINE_MAX)];
        let n = memchr(b'\n', window).map_or(window.len(), |i| i + 1);
        let out = f(&window[..n]);
        self.src.consume(n);
        Ok(out)
    }
}

/// Outcome of [`Scanner::read_string`].
pub(crate) enum StringOutcome {
    /// Read; `head` holds its first bytes.
    Ok { head: [u8; 6], head_len: usize },
    /// Rejected.
    Bad(Inconsistency),
}

/// A canonical record found entirely in the buffer by [`fast_record`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct FastRecord {
    /// Bytes of the whole record.
    pub len: usize,
    /// Number of arguments.
    pub argc: u64,
    /// `\r\n` counted by the checker for it (1 + 2 per argument).
    pub lines: u64,
    /// Range of the first argument in the buffer (empty when argc = 0).
    pub arg0: (usize, usize),
    /// Range of the second argument, when there is one.
    pub arg1: (usize, usize),
    /// Start of the last argument's payload (0 when argc = 0).
    pub last_data: usize,
}

/// Parses a canonical record (`*N\r\n` then N × `$L\r\n<L bytes>\r\n`, plain
/// decimal numbers) that lies entirely in `b`. Returns `None` for anything else
/// (incomplete, unusual or wrong), which the exact slow path then handles: for the
/// inputs it accepts this gives exactly the slow path's result.
#[inline]
pub(crate) fn fast_record(b: &[u8]) -> Option<FastRecord> {
    #[inline]
    fn number(b: &[u8], mut i: usize, max_digits: usize) -> Option<(u64, usize)> {
        let start = i;
        let mut v: u64 = 0;
        while i < b.len() {
            let c = b[i];
            if !c.is_ascii_digit() {
                break;
            }
            v = v * 10 + u64::from(c - b'0');
            i += 1;
            if i - start > max_digits {
                return None;
            }
        }
        if i == start || i + 1 >= b.len() || b[i] != b'\r' || b[i + 1] != b'\n' {
            return None;
        }
        Some((v, i + 2))
    }
    if b.first() != Some(&b'*') {
        return None;
    }
    let (argc, mut i) = number(b, 1, 9)?;
    let mut arg0 = (0, 0);
    let mut arg1 = (0, 0);
    let mut last_data = 0;
    for k in 0..argc {
        if b.get(i) != Some(&b'$') {
            return None;
        }
        let (len, j) = number(b, i + 1, 15)?;
        let end = j + len as usize;
        if end + 2 > b.len() || b[end] != b'\r' || b[end + 1] != b'\n' {
            return None;
        }
        last_data = j;
        if k == 0 {
            arg0 = (j, end);
        } else if k == 1 {
            arg1 = (j, end);
        }
        i = end + 2;
    }
    Some(FastRecord {
        len: i,
        argc,
        lines: 1 + 2 * argc,
        arg0,
        arg1,
        last_data,
    })
}

/// One command read from an AOF.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Command {
    /// Absolute offset of the record's `*` in its file.
    pub offset: u64,
    /// `redis-check-aof`'s line counter at the start of the record (counts `\r\n`,
    /// not annotation lines; starts at the value given to the reader).
    pub line: u64,
    /// The arguments; `args[0]` is the command name as written. Empty for the
    /// `*0` / `*-1` records that `redis-check-aof` accepts but the server refuses.
    pub args: Vec<Vec<u8>>,
}

/// A `#` annotation line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Annotation {
    /// Absolute offset of the `#`.
    pub offset: u64,
    /// The line without the `#` and without the line ending.
    pub text: Vec<u8>,
    /// The value of a well-formed `#TS:<seconds>\r\n` annotation.
    pub timestamp: Option<i64>,
}

/// One record of an AOF: a command or an annotation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// A RESP command.
    Command(Command),
    /// A `#` line.
    Annotation(Annotation),
}

/// Parses `#TS:<n>\r…` the way `redis-check-aof --truncate-to-timestamp` does:
/// `Some(Ok(n))` for a valid one, `Some(Err(()))` for a `#TS:` line it rejects
/// ("Invalid timestamp annotation"), `None` for other annotations.
pub(crate) fn parse_ts_annotation(line: &[u8]) -> Option<Result<i64, ()>> {
    let s = c_str(line);
    let rest = s.strip_prefix(b"#TS:")?;
    let r = strtol(rest);
    let end = if r.end == 0 { 0 } else { r.end };
    if r.overflow || rest.get(end) != Some(&b'\r') {
        return Some(Err(()));
    }
    Some(Ok(r.value))
}

/// Reads the commands of one AOF file (or of the RESP part of a hybrid file) with
/// the strict grammar of `redis-check-aof`, yielding each command with its
/// arguments.
///
/// The reader does not track `MULTI`/`EXEC` (that is the checker's and the replay
/// engine's business) and does not stop on `*0`/`*-1` (it yields an empty
/// command). Any other deviation from the grammar is an [`Error`] whose
/// [`Error::offset`] is where the bad line or payload starts and whose kind tells
/// whether the input was merely cut short ([`ErrorKind::Truncated`]).
///
/// ```no_run
/// use redis_persist::aof::CommandReader;
/// use redis_persist::io::Source;
/// let file = std::fs::File::open("appendonly.aof.1.incr.aof")?;
/// let mut reader = CommandReader::new(Source::new(file));
/// while let Some(cmd) = reader.next_command()? {
///     println!("{} args at offset {}", cmd.args.len(), cmd.offset);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct CommandReader<R> {
    scanner: Scanner<R>,
    /// Spare argument buffers reused across commands.
    spare: Vec<Vec<u8>>,
}

struct VecSink<'a> {
    args: &'a mut Vec<Vec<u8>>,
    spare: &'a mut Vec<Vec<u8>>,
}

impl ArgSink for VecSink<'_> {
    fn target(&mut self, index: u64) -> Option<&mut Vec<u8>> {
        let index = index as usize;
        while self.args.len() <= index {
            let v = self.spare.pop().unwrap_or_default();
            self.args.push(v);
        }
        Some(&mut self.args[index])
    }
    fn inspect(&mut self, _index: u64, _data: &[u8]) {}
}

impl<R: Input> CommandReader<R> {
    /// A reader starting at the source's current position, with the line counter at
    /// 1 (what `redis-check-aof` uses for the first file).
    pub fn new(source: Source<R>) -> Self {
        Self::with_line(source, 1)
    }

    /// A reader whose line counter starts at `line` (to continue the counter across
    /// the files of a multi-part AOF, as `redis-check-aof` does).
    pub fn with_line(mut source: Source<R>, line: u64) -> Self {
        // An RDB reader that handed over the source leaves its CRC running; the
        // RESP part has none.
        source.stop_crc();
        Self {
            scanner: Scanner::new(source, line),
            spare: Vec::new(),
        }
    }

    /// Absolute offset of the next unread byte.
    pub fn offset(&self) -> u64 {
        self.scanner.src.offset()
    }

    /// The current value of the line counter.
    pub fn line(&self) -> u64 {
        self.scanner.line
    }

    /// Gives the source back (positioned after the last record read).
    pub fn into_source(self) -> Source<R> {
        self.scanner.src
    }

    /// The next command, skipping annotations; `None` at a clean end of input.
    pub fn next_command(&mut self) -> Result<Option<Command>, Error> {
        let mut cmd = Command::default();
        Ok(if self.read_command_into(&mut cmd)? {
            Some(cmd)
        } else {
            None
        })
    }

    /// Like [`CommandReader::next_command`] but reuses `cmd`'s allocations (its
    /// argument vectors are recycled). Returns `false` at a clean end of input.
    pub fn read_command_into(&mut self, cmd: &mut Command) -> Result<bool, Error> {
        loop {
            match self.read_record_into(cmd)? {
                None => return Ok(false),
                Some(true) => return Ok(true),
                Some(false) => {}
            }
        }
    }

    /// The next record (command or annotation); `None` at a clean end of input.
    pub fn next_record(&mut self) -> Result<Option<Record>, Error> {
        let b = self.peek_byte()?;
        match b {
            None => Ok(None),
            Some(b'#') => {
                let offset = self.offset();
                let ann = self
                    .scanner
                    .read_annotation(|line| {
                        let timestamp = parse_ts_annotation(line).and_then(Result::ok);
                        let mut text = &line[1..];
                        if let Some(t) = text.strip_suffix(b"\n") {
                            text = t.strip_suffix(b"\r").unwrap_or(t);
                        }
                        Annotation {
                            offset,
                            text: text.to_vec(),
                            timestamp,
                        }
                    })
                    .map_err(|e| self.io_error(e))?;
                Ok(Some(Record::Annotation(ann)))
            }
            Some(_) => {
                let mut cmd = Command::default();
                match self.read_record_into(&mut cmd)? {
                    Some(true) => Ok(Some(Record::Command(cmd))),
                    _ => unreachable!("a non-# byte is a command or an error"),
                }
            }
        }
    }

    fn peek_byte(&mut self) -> Result<Option<u8>, Error> {
        match self.scanner.src.fill_buf(1) {
            Ok(b) => Ok(b.first().copied()),
            Err(e) => Err(self.io_error(e)),
        }
    }

    fn io_error(&self, e: SourceError) -> Error {
        Error::new(ErrorKind::Io(match e {
            SourceError::Io(e) => e,
            SourceError::Eof { .. } => std::io::ErrorKind::UnexpectedEof.into(),
        }))
        .at(self.scanner.src.offset())
    }

    /// Reads one record: `Some(true)` a command (in `cmd`), `Some(false)` an
    /// annotation (skipped), `None` end of input.
    fn read_record_into(&mut self, cmd: &mut Command) -> Result<Option<bool>, Error> {
        let Some(first) = self.peek_byte()? else {
            return Ok(None);
        };
        let start = self.offset();
        match first {
            b'#' => {
                self.scanner
                    .read_annotation(|_| ())
                    .map_err(|e| self.io_error(e))?;
                return Ok(Some(false));
            }
            b'*' => {}
            byte => {
                return Err(
                    Error::new(ErrorKind::Syntax(Inconsistency::FormatError { byte }))
                        .at(start)
                        .record(start),
                );
            }
        }
        cmd.offset = start;
        cmd.line = self.scanner.line;
        self.spare.append(&mut cmd.args);
        let argc = match self
            .scanner
            .read_header(b'*')
            .map_err(|e| self.io_error(e))?
        {
            Header::Value(v) => v,
            Header::Eof => unreachable!("the '*' was peeked"),
            Header::Bad(e) => return Err(self.syntax(e, start)),
        };
        let mut i: u64 = 0;
        while i128::from(i) < i128::from(argc) {
            let mut sink = VecSink {
                args: &mut cmd.args,
                spare: &mut self.spare,
            };
            match self
                .scanner
                .read_string(i, &mut sink)
                .map_err(|e| self.io_error(e))?
            {
                StringOutcome::Ok { .. } => {}
                StringOutcome::Bad(e) => return Err(self.syntax(e, start)),
            }
            i += 1;
        }
        Ok(Some(true))
    }

    fn syntax(&self, e: Inconsistency, record: u64) -> Error {
        let kind = if e.is_truncation() {
            ErrorKind::Truncated(e)
        } else {
            ErrorKind::Syntax(e)
        };
        Error::new(kind).at(self.scanner.epos).record(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtol_like_c() {
        assert_eq!(
            strtol(b"42\r\n"),
            StrtolResult {
                value: 42,
                end: 2,
                overflow: false
            }
        );
        assert_eq!(
            strtol(b"  -7x"),
            StrtolResult {
                value: -7,
                end: 4,
                overflow: false
            }
        );
        assert_eq!(
            strtol(b"+0"),
            StrtolResult {
                value: 0,
                end: 2,
                overflow: false
            }
        );
        assert_eq!(strtol(b"\r\n").end, 0);
        assert_eq!(strtol(b"-").end, 0);
        assert_eq!(strtol(b" ").end, 0);
        let big = strtol(b"99999999999999999999\r\n");
        assert_eq!((big.value, big.end, big.overflow), (i64::MAX, 20, true));
        let small = strtol(b"-99999999999999999999");
        assert_eq!((small.value, small.overflow), (i64::MIN, true));
        assert_eq!(strtol(b"-9223372036854775808").value, i64::MIN);
        assert!(!strtol(b"-9223372036854775808").overflow);
        assert!(strtol(b"9223372036854775808").overflow);
        // \r is white space for strtol.
        assert_eq!(strtol(b"\r5\r\n").value, 5);
    }

    #[test]
    fn header_lines() {
        assert_eq!(parse_header_line(b"*3\r\n", b'*'), Ok(3));
        assert_eq!(parse_header_line(b"*\r\n", b'*'), Ok(0));
        assert_eq!(parse_header_line(b"*-1\r\n", b'*'), Ok(-1));
        assert_eq!(parse_header_line(b"$ 5\r\n", b'$'), Ok(5));
        assert_eq!(
            parse_header_line(b"*3abc\r\n", b'*'),
            Err(Inconsistency::ExpectedCrlf { got: *b"ab" })
        );
        assert_eq!(
            parse_header_line(b"$3\n", b'$'),
            Err(Inconsistency::ExpectedCrlf { got: [b'\n', 0] })
        );
        assert_eq!(
            parse_header_line(b"$3\0\r\n", b'$'),
            Err(Inconsistency::ExpectedCrlf { got: [0, b'\r'] })
        );
        assert_eq!(
            parse_header_line(b"$3", b'$'),
            Err(Inconsistency::ExpectedCrlf { got: [0, 0] })
        );
        assert_eq!(
            parse_header_line(b"x3\r\n", b'$'),
            Err(Inconsistency::ExpectedPrefix {
                expected: b'$',
                got: b'x'
            })
        );
        assert_eq!(
            parse_header_line(b"$ \r\n", b'$'),
            Err(Inconsistency::ExpectedCrlf { got: *b" \r" })
        );
        assert_eq!(
            parse_header_line(b"$3\r", b'$'),
            Err(Inconsistency::ExpectedCrlf { got: [b'\r', 0] })
        );
    }

    #[test]
    fn multi_exec_names() {
        assert!(is_multi(b"MULTI"));
        assert!(is_multi(b"multi\0junk"));
        assert!(!is_multi(b"multix"));
        assert!(is_exec(b"Exec"));
        assert!(!is_exec(b"exe"));
    }

    #[test]
    fn signed_hex_like_printf() {
        assert_eq!(c_hex_signed(0x0a), "0a");
        assert_eq!(c_hex_signed(0xff), "ffffffff");
        assert_eq!(
            Inconsistency::ExpectedCrlf { got: [0x78, 0x78] }
                .upstream_message("x")
                .unwrap(),
            "Expected \\r\\n, got: 7878"
        );
    }

    #[test]
    fn fast_record_canonical_only() {
        let r = fast_record(b"*2\r\n$3\r\nget\r\n$1\r\nk\r\nrest").unwrap();
        assert_eq!(
            (r.len, r.argc, r.lines, r.arg0, r.arg1),
            (20, 2, 5, (8, 11), (17, 18))
        );
        assert!(fast_record(b"*2\r\n$3\r\nget\r\n$1\r\nk\r").is_none());
        assert!(fast_record(b"*-1\r\n").is_none());
        assert!(fast_record(b"*3abc\r\n").is_none());
        assert_eq!(fast_record(b"*0\r\n").unwrap().len, 4);
    }

    /// A reader that returns one byte per call.
    struct OneByte<'a>(&'a [u8]);
    impl crate::io::Input for OneByte<'_> {}
    impl std::io::Read for OneByte<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            if self.0.is_empty() || out.is_empty() {
                return Ok(0);
            }
            out[0] = self.0[0];
            self.0 = &self.0[1..];
            Ok(1)
        }
    }

    fn read_all(data: &[u8], small: bool) -> (Vec<Record>, Option<Error>) {
        let src = if small {
            Source::with_capacity(OneByte(data), 16)
        } else {
            Source::new(OneByte(data))
        };
        let mut r = CommandReader::new(src);
        let mut out = Vec::new();
        loop {
            match r.next_record() {
                Ok(Some(rec)) => out.push(rec),
                Ok(None) => return (out, None),
                Err(e) => return (out, Some(e)),
            }
        }
    }

    #[test]
    fn command_reader_reads_commands_and_annotations() {
        let data =
            b"#TS:1628217470\r\n*3\r\n$3\r\nset\r\n$1\r\nk\r\n$5\r\nv\r\n\x00x\r\n*0\r\n#note\n";
        for small in [false, true] {
            let (recs, err) = read_all(data, small);
            assert!(err.is_none(), "{err:?}");
            assert_eq!(recs.len(), 4);
            assert_eq!(
                recs[0],
                Record::Annotation(Annotation {
                    offset: 0,
                    text: b"TS:1628217470".to_vec(),
                    timestamp: Some(1_628_217_470)
                })
            );
            let Record::Command(c) = &recs[1] else {
                panic!()
            };
            assert_eq!(c.offset, 16);
            assert_eq!(c.line, 1);
            assert_eq!(
                c.args,
                vec![b"set".to_vec(), b"k".to_vec(), b"v\r\n\x00x".to_vec()]
            );
            let Record::Command(c) = &recs[2] else {
                panic!()
            };
            assert!(c.args.is_empty());
            assert_eq!(c.line, 8);
        }
    }

    #[test]
    fn command_reader_errors_carry_offsets() {
        // Truncated inside the second command's payload.
        let data = b"*1\r\n$4\r\nping\r\n*2\r\n$3\r\nget\r\n$5\r\nab";
        let (recs, err) = read_all(data, true);
        assert_eq!(recs.len(), 1);
        let err = err.unwrap();
        assert!(err.is_truncated());
        assert_eq!(err.offset(), Some(31));
        assert_eq!(err.record_offset(), Some(14));
        // Junk after the count.
        let (_, err) = read_all(b"*1abc\r\n", false);
        let err = err.unwrap();
        assert!(!err.is_truncated());
        assert_eq!(err.offset(), Some(0));
    }

    #[test]
    fn huge_declared_length_is_a_short_payload() {
        let data = b"*1\r\n$9000000000000\r\nabc";
        let (_, err) = read_all(data, false);
        let err = err.unwrap();
        assert!(err.is_truncated());
        assert_eq!(err.offset(), Some(20));
    }
}
