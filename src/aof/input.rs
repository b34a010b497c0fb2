//! Input resolution: what a PATH given on the command line is (a single AOF file, a
//! manifest, or the directory holding a manifest), and the files to read in load
//! order.
//!
//! Deliberate differences from `redis-check-aof` 7.0, which decides "manifest" when
//! any non-`#` line of the file starts with the four bytes `file` (so an AOF holding
//! a `$4\r\nfile` argument is taken for a manifest, the bug behind upstream test
//! C10), and which treats an upper-case manifest as an AOF (its `--fix` then
//! truncates the manifest to 0 bytes):
//! * a file starting with an RDB magic or whose first non-`#` line starts with `*`
//!   is an AOF;
//! * a file whose first non-`#` line starts with `file`, `seq` or `type` (any case,
//!   as the server accepts) followed by white space is a manifest;
//! * otherwise (0 bytes, only comments, or anything else) the name decides: a
//!   `*.manifest` file is a manifest — so an empty manifest is reported as the
//!   server reports it ("Found an empty AOF manifest") — anything else is an AOF.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::io::Source;

use super::manifest::{EntryKind, Manifest};
use super::preamble::{RdbMagic, detect_rdb_preamble};
use super::resp::CommandReader;
use super::{Error, ErrorKind};

/// Largest manifest read (real ones are a few hundred bytes).
const MANIFEST_READ_MAX: u64 = 16 * 1024 * 1024;
/// How much of a file is looked at to tell a manifest from an AOF.
const SNIFF_MAX: u64 = 1024 * 1024;

/// What a PATH is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolved {
    /// A single AOF file (old-style, RESP or hybrid).
    Single(PathBuf),
    /// A multi-part AOF manifest (the files are in its directory).
    Manifest(PathBuf),
}

impl Resolved {
    /// The file named by the resolution.
    pub fn path(&self) -> &Path {
        match self {
            Self::Single(p) | Self::Manifest(p) => p,
        }
    }
}

/// Single file or multi-part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// One file.
    SingleFile,
    /// A manifest and its files.
    MultiPart,
}

/// The role of a file in the load order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    /// An old-style single-file AOF.
    Single,
    /// The BASE of a multi-part set.
    Base,
    /// An INCR file of a multi-part set.
    Incr,
}

impl FileKind {
    /// `single`, `base` or `incr`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Single => "single",
            Self::Base => "base",
            Self::Incr => "incr",
        }
    }
}

/// A file to load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AofFile {
    /// Where it is.
    pub path: PathBuf,
    /// Its name as written in the manifest (the file name for a single file).
    pub name: Vec<u8>,
    /// Its role.
    pub kind: FileKind,
    /// Manifest sequence number.
    pub seq: Option<i64>,
    /// Manifest line.
    pub manifest_line: Option<usize>,
}

impl AofFile {
    /// Opens it (read-only) and looks for an RDB preamble.
    pub fn open(&self) -> Result<Content, Error> {
        Content::open(&self.path)
    }
}

/// An opened AOF file: an optional RDB preamble, then RESP commands.
pub struct Content {
    src: Source<File>,
    magic: Option<RdbMagic>,
}

impl Content {
    /// Opens `path` read-only.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let file = File::open(path).map_err(|e| Error::from(e).in_file(path))?;
        let size = file
            .metadata()
            .map_err(|e| Error::from(e).in_file(path))?
            .len();
        let mut src = Source::new(file).with_size(size);
        let magic = detect_rdb_preamble(&mut src).map_err(|e| match e {
            crate::io::SourceError::Io(e) => Error::from(e).in_file(path),
            crate::io::SourceError::Eof { .. } => {
                Error::new(ErrorKind::Io(std::io::ErrorKind::UnexpectedEof.into())).in_file(path)
            }
        })?;
        Ok(Self { src, magic })
    }

    /// The RDB magic when the file starts with an RDB preamble. Read that part
    /// with `redis_persist::rdb::Reader::new(content.into_source())`, then give
    /// the reader's source to [`CommandReader::new`] for the RESP tail.
    pub fn rdb_preamble(&self) -> Option<RdbMagic> {
        self.magic
    }

    /// The source, positioned at the start of the file.
    pub fn into_source(self) -> Source<File> {
        self.src
    }

    /// A command reader from the start of the file (for files without an RDB
    /// preamble; on a preamble file the first record is a format error).
    pub fn commands(self) -> CommandReader<File> {
        CommandReader::new(self.src)
    }
}

/// A resolved AOF input: its layout, manifest and files in load order.
#[derive(Clone, Debug)]
pub struct AofInput {
    /// How the PATH was resolved.
    pub resolved: Resolved,
    /// The parsed manifest (multi-part only).
    pub manifest: Option<Manifest>,
    files: Vec<AofFile>,
}

impl AofInput {
    /// Single file or multi-part.
    pub fn layout(&self) -> Layout {
        match self.resolved {
            Resolved::Single(_) => Layout::SingleFile,
            Resolved::Manifest(_) => Layout::MultiPart,
        }
    }

    /// The files to load, in order: the BASE, then each INCR in manifest order
    /// (HISTORY files are never loaded). One file for a single-file AOF.
    pub fn files(&self) -> &[AofFile] {
        &self.files
    }
}

/// Resolves `path` and, for a multi-part input, parses its manifest (a manifest
/// the server refuses is an [`ErrorKind::Manifest`] error).
pub fn open(path: &Path) -> Result<AofInput, Error> {
    let resolved = resolve(path)?;
    match &resolved {
        Resolved::Single(p) => {
            let name = p
                .file_name()
                .map(|n| n.as_encoded_bytes().to_vec())
                .unwrap_or_default();
            let files = vec![AofFile {
                path: p.clone(),
                name,
                kind: FileKind::Single,
                seq: None,
                manifest_line: None,
            }];
            Ok(AofInput {
                resolved,
                manifest: None,
                files,
            })
        }
        Resolved::Manifest(p) => {
            let bytes = read_small(p)?;
            let m = Manifest::parse(&bytes)
                .map_err(|e| Error::new(ErrorKind::Manifest(e)).in_file(p))?;
            let dir = p
                .parent()
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
            let files = m
                .load_order()
                .into_iter()
                .map(|e| AofFile {
                    path: dir.join(name_to_path(&e.name)),
                    name: e.name.clone(),
                    kind: if e.kind == EntryKind::Base {
                        FileKind::Base
                    } else {
                        FileKind::Incr
                    },
                    seq: Some(e.seq),
                    manifest_line: Some(e.line),
                })
                .collect();
            Ok(AofInput {
                resolved,
                manifest: Some(m),
                files,
            })
        }
    }
}

/// Decides what `path` is (see the module docs); `-` is standard input, read as a
/// single AOF.
pub fn resolve(path: &Path) -> Result<Resolved, Error> {
    if path.as_os_str() == "-" {
        // Standard input: a single AOF stream.
        return Ok(Resolved::Single(path.to_path_buf()));
    }
    let meta = std::fs::metadata(path).map_err(|e| Error::from(e).in_file(path))?;
    if meta.is_dir() {
        return find_manifest(path);
    }
    let is_manifest_name = path.extension().is_some_and(|e| e == "manifest");
    let mut head = Vec::new();
    File::open(path)
        .and_then(|f| f.take(SNIFF_MAX).read_to_end(&mut head))
        .map_err(|e| Error::from(e).in_file(path))?;
    Ok(match sniff(&head) {
        Sniff::Aof => Resolved::Single(path.to_path_buf()),
        Sniff::Manifest => Resolved::Manifest(path.to_path_buf()),
        Sniff::Unknown if is_manifest_name => Resolved::Manifest(path.to_path_buf()),
        Sniff::Unknown => Resolved::Single(path.to_path_buf()),
    })
}

enum Sniff {
    Aof,
    Manifest,
    Unknown,
}

fn sniff(head: &[u8]) -> Sniff {
    if head.len() >= 8 && (head.starts_with(b"REDIS") || head.starts_with(b"VALKEY")) {
        return Sniff::Aof;
    }
    for line in head.split(|&b| b == b'\n') {
        if line.first() == Some(&b'#') {
            continue;
        }
        if line.first() == Some(&b'*') {
            return Sniff::Aof;
        }
        let t = line.trim_ascii_start();
        let word_end = t
            .iter()
            .position(u8::is_ascii_whitespace)
            .unwrap_or(t.len());
        let (word, rest) = t.split_at(word_end);
        let key = word.eq_ignore_ascii_case(b"file")
            || word.eq_ignore_ascii_case(b"seq")
            || word.eq_ignore_ascii_case(b"type");
        if key && !rest.is_empty() {
            return Sniff::Manifest;
        }
        return Sniff::Unknown;
    }
    Sniff::Unknown
}

/// The manifest in a directory: the one `*.manifest` file (temporary
/// `temp-*.manifest` files, which the server writes before renaming, ignored).
fn find_manifest(dir: &Path) -> Result<Resolved, Error> {
    let mut found = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| Error::from(e).in_file(dir))? {
        let e = e.map_err(|e| Error::from(e).in_file(dir))?;
        let name = e.file_name();
        let n = name.to_string_lossy();
        if n.ends_with(".manifest") && !n.starts_with("temp-") && e.path().is_file() {
            found.push(e.path());
        }
    }
    found.sort();
    match found.len() {
        1 => Ok(Resolved::Manifest(found.remove(0))),
        0 => Err(Error::new(ErrorKind::Resolve(format!(
            "no *.manifest file in directory {} (for a single-file AOF, give the file itself)",
            dir.display()
        )))),
        _ => Err(Error::new(ErrorKind::Resolve(format!(
            "several manifests in directory {}: {}; give the one to check",
            dir.display(),
            found
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )))),
    }
}

/// Reads a small file whole (manifests).
pub(crate) fn read_small(path: &Path) -> Result<Vec<u8>, Error> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|f| f.take(MANIFEST_READ_MAX + 1).read_to_end(&mut bytes))
        .map_err(|e| Error::from(e).in_file(path))?;
    if bytes.len() as u64 > MANIFEST_READ_MAX {
        return Err(Error::new(ErrorKind::Resolve(format!(
            "{} is larger than {MANIFEST_READ_MAX} bytes: not a manifest",
            path.display()
        ))));
    }
    Ok(bytes)
}

/// A manifest file name as a path component.
pub(crate) fn name_to_path(name: &[u8]) -> PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        PathBuf::from(std::ffi::OsStr::from_bytes(name))
    }
    #[cfg(not(unix))]
    {
        PathBuf::from(String::from_utf8_lossy(name).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing() {
        assert!(matches!(sniff(b"*2\r\n$6\r\nSELECT\r\n"), Sniff::Aof));
        assert!(matches!(
            sniff(b"#TS:1\r\n*1\r\n$4\r\nping\r\n"),
            Sniff::Aof
        ));
        assert!(matches!(sniff(b"REDIS0011\xfa"), Sniff::Aof));
        assert!(matches!(sniff(b"file a seq 1 type b\n"), Sniff::Manifest));
        assert!(matches!(
            sniff(b"# c\nFILE a SEQ 1 TYPE b\n"),
            Sniff::Manifest
        ));
        assert!(matches!(
            sniff(b"*3\r\n$3\r\nset\r\n$4\r\nfile\r\n$4\r\nfile\r\n"),
            Sniff::Aof
        ));
        assert!(matches!(sniff(b""), Sniff::Unknown));
        assert!(matches!(sniff(b"# only\n"), Sniff::Unknown));
        assert!(matches!(sniff(b"filx a seq 1 type b\n"), Sniff::Unknown));
    }
}
