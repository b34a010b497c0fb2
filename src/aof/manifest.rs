//! The multi-part AOF manifest (Redis 7.0+, Valkey), parsed exactly like the
//! server's `aofLoadManifestFromFile` (FORMATS.md §5.5), every error with the
//! server's message and manifest line.
//!
//! The grammar, in short: the file is read in `fgets` pieces of at most 1024 bytes;
//! each piece is a "line" (so a longer line splits and the line numbers count the
//! pieces); a piece starting with `#` is a comment; any other piece must contain
//! its `\n` ("too long line" otherwise, which is also what a last line without a
//! final newline gets); it is trimmed of `" \t\r\n"`, split with Redis' quoting
//! rules (`sdssplitargs`), and must hold an even number (≥ 6) of tokens forming
//! key/value pairs. Keys are case-insensitive; `file`, `seq` (parsed with `atoll`,
//! 0 is invalid) and `type` (only its first byte counts: `b`, `h` or `i`) are
//! required; unknown keys are ignored. There may be one BASE; INCR sequence numbers
//! must strictly increase in file order. The text is handled as C strings: a NUL
//! byte ends a line for the server, and a `\x00` escape ends a quoted name.

use std::fmt;

use super::resp::{c_str, memchr, strtol};

/// Longest manifest line the server reads (its `fgets` buffer is 1025 bytes).
pub const MANIFEST_MAX_LINE: usize = 1024;

/// The kind of a manifest entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    /// `type b`: the base snapshot (RDB or RESP).
    Base,
    /// `type h`: a file kept until garbage collection; never loaded.
    History,
    /// `type i`: an incremental file, loaded after the base in manifest order.
    Incr,
}

impl EntryKind {
    /// The manifest letter.
    pub fn letter(self) -> char {
        match self {
            Self::Base => 'b',
            Self::History => 'h',
            Self::Incr => 'i',
        }
    }
}

/// One `file … seq … type …` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The file name (relative to the manifest's directory). Binary-safe; a quoted
    /// name is unescaped.
    pub name: Vec<u8>,
    /// The sequence number (`atoll` of the `seq` value; never 0).
    pub seq: i64,
    /// The kind.
    pub kind: EntryKind,
    /// 1-based manifest line (counted in 1024-byte pieces, as the server does).
    pub line: usize,
    /// Key/value pairs the server ignores (forward compatibility), in order.
    pub extra: Vec<(Vec<u8>, Vec<u8>)>,
    /// The keys were not all written in lower case (the server accepts any case;
    /// `redis-check-aof` then does not recognise the file as a manifest).
    pub non_lowercase_keys: bool,
}

/// A parsed manifest.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    /// Every entry, in file order.
    pub entries: Vec<Entry>,
    /// Number of comment lines.
    pub comments: usize,
    /// Number of lines (pieces) read.
    pub lines: usize,
}

impl Manifest {
    /// The BASE entry, if any.
    pub fn base(&self) -> Option<&Entry> {
        self.entries.iter().find(|e| e.kind == EntryKind::Base)
    }

    /// The INCR entries in load (= manifest) order.
    pub fn incrs(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|e| e.kind == EntryKind::Incr)
    }

    /// The HISTORY entries, in manifest order.
    pub fn history(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|e| e.kind == EntryKind::History)
    }

    /// The files the server loads, in order: the BASE (wherever it is listed), then
    /// every INCR in manifest order.
    pub fn load_order(&self) -> Vec<&Entry> {
        self.base().into_iter().chain(self.incrs()).collect()
    }

    /// Parses a manifest the way the server does.
    pub fn parse(bytes: &[u8]) -> Result<Self, ManifestError> {
        let mut m = Manifest::default();
        let mut pos = 0;
        let mut maxseq: i64 = 0;
        let mut have_base = false;
        loop {
            if pos >= bytes.len() {
                if m.lines == 0 {
                    return Err(ManifestError::new(ManifestErrorKind::Empty, None));
                }
                return Ok(m);
            }
            let window = &bytes[pos..bytes.len().min(pos + MANIFEST_MAX_LINE)];
            let n = memchr(b'\n', window).map_or(window.len(), |i| i + 1);
            let piece = &window[..n];
            pos += n;
            m.lines += 1;
            let linenum = m.lines;
            if piece[0] == b'#' {
                m.comments += 1;
                continue;
            }
            let cs = c_str(piece);
            if memchr(b'\n', cs).is_none() {
                return Err(ManifestError::new(ManifestErrorKind::LineTooLong, None));
            }
            let line = trim(cs);
            let at = |kind| ManifestError::new(kind, Some((linenum, line.to_vec())));
            if line.is_empty() {
                return Err(at(ManifestErrorKind::InvalidFormat));
            }
            let Some(argv) = split_args(line) else {
                return Err(at(ManifestErrorKind::InvalidFormat));
            };
            if argv.len() < 6 || argv.len() % 2 != 0 {
                return Err(at(ManifestErrorKind::InvalidFormat));
            }
            let mut name: Option<Vec<u8>> = None;
            let mut seq: i64 = 0;
            let mut ty: u8 = 0;
            let mut extra = Vec::new();
            let mut non_lower = false;
            for pair in argv.chunks(2) {
                let (k, v) = (c_str(&pair[0]), &pair[1]);
                let lower = k.to_ascii_lowercase();
                if lower.as_slice() == b"file"
                    || lower.as_slice() == b"seq"
                    || lower.as_slice() == b"type"
                {
                    non_lower |= lower.as_slice() != k;
                }
                match lower.as_slice() {
                    b"file" => {
                        // sdsnew(argv[i+1]): the name ends at a NUL.
                        let n = c_str(v).to_vec();
                        if n.contains(&b'/') || n.contains(&b'\\') {
                            return Err(at(ManifestErrorKind::PathInName));
                        }
                        name = Some(n);
                    }
                    b"seq" => seq = strtol(c_str(v)).value,
                    b"type" => ty = v.first().copied().unwrap_or(0),
                    _ => extra.push((pair[0].clone(), v.clone())),
                }
            }
            let (Some(name), true, true) = (name, seq != 0, ty != 0) else {
                return Err(at(ManifestErrorKind::InvalidFormat));
            };
            let kind = match ty {
                b'b' => {
                    if have_base {
                        return Err(at(ManifestErrorKind::DuplicateBase));
                    }
                    have_base = true;
                    EntryKind::Base
                }
                b'h' => EntryKind::History,
                b'i' => {
                    if seq <= maxseq {
                        return Err(at(ManifestErrorKind::NonMonotonic));
                    }
                    maxseq = seq;
                    EntryKind::Incr
                }
                _ => return Err(at(ManifestErrorKind::UnknownType)),
            };
            m.entries.push(Entry {
                name,
                seq,
                kind,
                line: linenum,
                extra,
                non_lowercase_keys: non_lower,
            });
        }
    }
}

/// `sdstrim(s, " \t\r\n")`.
fn trim(s: &[u8]) -> &[u8] {
    let is = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let start = s.iter().position(|b| !is(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|b| !is(b)).map_or(start, |i| i + 1);
    &s[start..end]
}

/// Redis `sdssplitargs` on a C string: `None` for unbalanced quotes or a closing
/// quote not followed by a space.
pub(crate) fn split_args(s: &[u8]) -> Option<Vec<Vec<u8>>> {
    let at = |i: usize| -> u8 { s.get(i).copied().unwrap_or(0) };
    let isspace = |b: u8| b == b' ' || (0x09..=0x0d).contains(&b);
    let hex = |b: u8| -> Option<u8> { (b as char).to_digit(16).map(|d| d as u8) };
    let mut out = Vec::new();
    let mut p = 0;
    loop {
        while at(p) != 0 && isspace(at(p)) {
            p += 1;
        }
        if at(p) == 0 {
            return Some(out);
        }
        let (mut inq, mut insq, mut done) = (false, false, false);
        let mut cur = Vec::new();
        while !done {
            let c = at(p);
            if inq {
                if c == b'\\'
                    && at(p + 1) == b'x'
                    && hex(at(p + 2)).is_some()
                    && hex(at(p + 3)).is_some()
                {
                    cur.push(hex(at(p + 2))? * 16 + hex(at(p + 3))?);
                    p += 3;
                } else if c == b'\\' && at(p + 1) != 0 {
                    p += 1;
                    cur.push(match at(p) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                } else if c == b'"' {
                    if at(p + 1) != 0 && !isspace(at(p + 1)) {
                        return None;
                    }
                    done = true;
                } else if c == 0 {
                    return None;
                } else {
                    cur.push(c);
                }
            } else if insq {
                if c == b'\\' && at(p + 1) == b'\'' {
                    p += 1;
                    cur.push(b'\'');
                } else if c == b'\'' {
                    if at(p + 1) != 0 && !isspace(at(p + 1)) {
                        return None;
                    }
                    done = true;
                } else if c == 0 {
                    return None;
                } else {
                    cur.push(c);
                }
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => done = true,
                    b'"' => inq = true,
                    b'\'' => insq = true,
                    other => cur.push(other),
                }
            }
            if at(p) != 0 {
                p += 1;
            }
        }
        out.push(cur);
    }
}

/// What was wrong with a manifest (the server's message).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ManifestErrorKind {
    /// 0-byte manifest: "Found an empty AOF manifest".
    Empty,
    /// A piece without `\n` within 1024 bytes (including a last line without a final
    /// newline): "The AOF manifest file contains too long line".
    LineTooLong,
    /// "Invalid AOF manifest file format" (blank line, bad quoting, wrong token
    /// count, missing `file`/`seq`/`type`, `seq` 0).
    InvalidFormat,
    /// "File can't be a path, just a filename".
    PathInName,
    /// "Found duplicate base file information".
    DuplicateBase,
    /// "Found a non-monotonic sequence number".
    NonMonotonic,
    /// "Unknown AOF file type".
    UnknownType,
}

impl ManifestErrorKind {
    /// The server's message.
    pub fn message(self) -> &'static str {
        match self {
            Self::Empty => "Found an empty AOF manifest",
            Self::LineTooLong => "The AOF manifest file contains too long line",
            Self::InvalidFormat => "Invalid AOF manifest file format",
            Self::PathInName => "File can't be a path, just a filename",
            Self::DuplicateBase => "Found duplicate base file information",
            Self::NonMonotonic => "Found a non-monotonic sequence number",
            Self::UnknownType => "Unknown AOF file type",
        }
    }

    /// A stable identifier for JSON output.
    pub fn code(self) -> &'static str {
        match self {
            Self::Empty => "manifest-empty",
            Self::LineTooLong => "manifest-line-too-long",
            Self::InvalidFormat => "manifest-invalid-format",
            Self::PathInName => "manifest-path-in-name",
            Self::DuplicateBase => "manifest-duplicate-base",
            Self::NonMonotonic => "manifest-non-monotonic-seq",
            Self::UnknownType => "manifest-unknown-type",
        }
    }
}

/// A manifest the server refuses, with the line it was reading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestError {
    /// What is wrong.
    pub kind: ManifestErrorKind,
    /// The 1-based line number and the trimmed line as the server shows it
    /// (`>>> '<line>'`); `None` for the errors the server reports without a line.
    pub line: Option<(usize, Vec<u8>)>,
}

impl ManifestError {
    fn new(kind: ManifestErrorKind, line: Option<(usize, Vec<u8>)>) -> Self {
        Self { kind, line }
    }
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.line {
            Some((n, text)) => write!(
                f,
                "{} (manifest line {n}: '{}')",
                self.kind.message(),
                crate::aof::escape_for_message(text)
            ),
            None => f.write_str(self.kind.message()),
        }
    }
}

impl std::error::Error for ManifestError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(s: &[u8]) -> ManifestError {
        Manifest::parse(s).unwrap_err()
    }

    #[test]
    fn canonical() {
        let m = Manifest::parse(
            b"file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.1.base.rdb seq 1 type h\nfile appendonly.aof.2.incr.aof seq 2 type i\nfile appendonly.aof.3.incr.aof seq 3 type i\n",
        )
        .unwrap();
        assert_eq!(m.entries.len(), 4);
        assert_eq!(m.base().unwrap().name, b"appendonly.aof.2.base.rdb");
        let order: Vec<_> = m.load_order().iter().map(|e| e.seq).collect();
        assert_eq!(order, vec![2, 2, 3]);
        assert_eq!(m.history().count(), 1);
    }

    #[test]
    fn server_errors() {
        assert_eq!(err(b"").kind, ManifestErrorKind::Empty);
        assert_eq!(
            err(b"file a seq 1 type i").kind,
            ManifestErrorKind::LineTooLong
        );
        let e = err(b"file a seq 1 type i\n\nfile b seq 3 type i\n");
        assert_eq!(e.kind, ManifestErrorKind::InvalidFormat);
        assert_eq!(e.line, Some((2, Vec::new())));
        let e = err(b"file a seq 2 type i\nfile b seq 1 type i\n");
        assert_eq!(e.kind, ManifestErrorKind::NonMonotonic);
        assert_eq!(e.line.as_ref().unwrap().0, 2);
        assert_eq!(
            err(b"file a seq 1 type b\nfile b seq 2 type b\n").kind,
            ManifestErrorKind::DuplicateBase
        );
        assert_eq!(
            err(b"file a seq 1 type x\n").kind,
            ManifestErrorKind::UnknownType
        );
        assert_eq!(
            err(b"file ../x seq 1 type i\n").kind,
            ManifestErrorKind::PathInName
        );
        assert_eq!(
            err(b"file a seq 0 type i\n").kind,
            ManifestErrorKind::InvalidFormat
        );
        assert_eq!(
            err(b"file a seq 1 type i x\n").kind,
            ManifestErrorKind::InvalidFormat
        );
        assert_eq!(
            err(b"file a type i\n").kind,
            ManifestErrorKind::InvalidFormat
        );
        assert_eq!(
            err(b"file \"a seq 1 type i\n").kind,
            ManifestErrorKind::InvalidFormat
        );
        assert_eq!(
            err(b"file \"a\"b seq 1 type i\n").kind,
            ManifestErrorKind::InvalidFormat
        );
        assert_eq!(
            err(b"file a seq -1 type i\n").kind,
            ManifestErrorKind::NonMonotonic
        );
        let long = [b"file a seq 1 type i ".repeat(60), b"\n".to_vec()].concat();
        assert_eq!(err(&long).kind, ManifestErrorKind::LineTooLong);
    }

    #[test]
    fn lenient_forms() {
        let m = Manifest::parse(
            b"# comment\r\nFILE \"my file\\x41.aof\" SEQ 3abc TYPE incr extra value\r\nfile 'b\\'q' seq -5 type base\n",
        )
        .unwrap();
        assert_eq!(m.comments, 1);
        let i = &m.entries[0];
        assert_eq!(
            (i.name.as_slice(), i.seq, i.kind),
            (&b"my fileA.aof"[..], 3, EntryKind::Incr)
        );
        assert!(i.non_lowercase_keys);
        assert_eq!(i.extra, vec![(b"extra".to_vec(), b"value".to_vec())]);
        let b = &m.entries[1];
        assert_eq!(
            (b.name.as_slice(), b.seq, b.kind),
            (&b"b'q"[..], -5, EntryKind::Base)
        );
        // Comment-only and history-only manifests parse (the server then starts empty).
        assert!(Manifest::parse(b"# only\n").unwrap().entries.is_empty());
        assert!(Manifest::parse(b"#no newline").unwrap().entries.is_empty());
    }

    /// Random bytes and random damage to a valid manifest never panic, and an
    /// accepted manifest always has its invariants.
    #[test]
    fn random_input_never_panics() {
        let good = b"file appendonly.aof.2.base.rdb seq 2 type b\nfile \"a b\\x41\" seq 3 type h\nfile appendonly.aof.2.incr.aof seq 2 type i\n";
        let alphabet = b"file seq type bhi0123456789 \t\r\n\"'\\x#/\x00";
        let mut seed = 0x1234_5678_9abc_def1u64;
        let mut rnd = move || crate::testutil::xorshift(&mut seed);
        for round in 0..5000 {
            let data: Vec<u8> = if round % 2 == 0 {
                (0..rnd() % 200)
                    .map(|_| alphabet[(rnd() % alphabet.len() as u64) as usize])
                    .collect()
            } else {
                let mut d = good.to_vec();
                let at = (rnd() % d.len() as u64) as usize;
                d[at] = alphabet[(rnd() % alphabet.len() as u64) as usize];
                d
            };
            if let Ok(m) = Manifest::parse(&data) {
                assert!(
                    m.entries
                        .iter()
                        .filter(|e| e.kind == EntryKind::Base)
                        .count()
                        <= 1
                );
                let seqs: Vec<i64> = m.incrs().map(|e| e.seq).collect();
                assert!(seqs.windows(2).all(|w| w[0] < w[1]));
                assert!(
                    m.entries
                        .iter()
                        .all(|e| e.seq != 0 && !e.name.contains(&b'/'))
                );
            }
        }
    }

    #[test]
    fn split_args_rules() {
        assert_eq!(
            split_args(b"a  b\t'c d'").unwrap(),
            vec![b"a".to_vec(), b"b".to_vec(), b"c d".to_vec()]
        );
        assert_eq!(
            split_args(b"\"\\n\\x00x\"").unwrap(),
            vec![b"\n\x00x".to_vec()]
        );
        assert_eq!(split_args(b"ab\"cd\"").unwrap(), vec![b"abcd".to_vec()]);
        assert!(split_args(b"'abc").is_none());
        assert!(split_args(b"\"a\"b").is_none());
        assert_eq!(split_args(b"").unwrap(), Vec::<Vec<u8>>::new());
    }
}
