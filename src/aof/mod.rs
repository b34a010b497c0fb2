//! AOF reading: the RESP command reader, the multi-part manifest, input resolution,
//! and the checker behind `check-aof` (with what `--fix` would cut).
//!
//! # Layout of an AOF input
//!
//! An AOF input is one of:
//! * a single file (Redis ≤ 6.2 "old-style" AOF): RESP commands, optionally after an
//!   RDB preamble (hybrid AOF);
//! * a Redis 7+ multi-part set: a manifest (`appendonly.aof.manifest`) listing a
//!   BASE (RDB, RESP or hybrid), INCR files (RESP) and HISTORY files (never
//!   loaded), all in the manifest's directory. The PATH given may be the manifest
//!   or the directory holding it.
//!
//! [`open`] resolves a PATH and parses the manifest; [`AofInput::files`] then lists
//! the files in load order (BASE, then every INCR in manifest order), and
//! [`AofFile::open`] opens one for reading:
//!
//! ```no_run
//! use redis_persist::aof::{self, Content};
//! let input = aof::open(std::path::Path::new("appendonlydir"))?;
//! for file in input.files() {
//!     let mut content = file.open()?;
//!     if content.rdb_preamble().is_some() {
//!         // Read the RDB part with `redis_persist::rdb` from `content.into_source()`,
//!         // then continue with `CommandReader::new(source)` right after the
//!         // trailer: RESP offsets stay absolute.
//!         continue;
//!     }
//!     let mut reader = content.commands();
//!     while let Some(cmd) = reader.next_command()? {
//!         // cmd.offset, cmd.line, cmd.args
//!         let _ = cmd;
//!     }
//! }
//! # Ok::<(), redis_persist::aof::Error>(())
//! ```
//!
//! # Grammar
//!
//! [`CommandReader`] implements the record grammar of `redis-check-aof` exactly
//! (see [`resp`]); the checker ([`check`]) adds the MULTI/EXEC rules, the offsets and
//! line counter `redis-check-aof` reports, and what it does not check (command
//! names and arities, records the server refuses although the checker accepts
//! them).

pub mod check;
mod commands;
mod commands_table;
mod input;
pub mod loader;
pub mod manifest;
mod preamble;
pub mod repair;
pub mod resp;
pub mod salvage;

use std::fmt;
use std::path::{Path, PathBuf};

pub use commands::{Spec as CommandSpec, Verdict as CommandVerdict, check as check_command};
pub use input::{AofFile, AofInput, Content, FileKind, Layout, Resolved, open, resolve};
pub use manifest::{Entry, EntryKind, Manifest, ManifestError, ManifestErrorKind};
pub use preamble::{RdbMagic, detect_rdb_preamble};
pub use resp::{Annotation, Command, CommandReader, Inconsistency, Record};

/// An AOF reading error, with the file and byte offset when known.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    path: Option<PathBuf>,
    offset: Option<u64>,
    record: Option<u64>,
}

/// What went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input ends inside a record.
    #[error("truncated: {}", .0.describe())]
    Truncated(Inconsistency),
    /// The bytes do not follow the grammar.
    #[error("{}", .0.describe())]
    Syntax(Inconsistency),
    /// The manifest is refused.
    #[error("manifest: {0}")]
    Manifest(ManifestError),
    /// The PATH could not be resolved to an AOF input.
    #[error("{0}")]
    Resolve(String),
    /// The RDB preamble could not be read.
    #[error("RDB preamble: {0}")]
    Rdb(String),
    /// The operating system reported an error.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    /// An error of `kind` with no position.
    pub fn new(kind: ErrorKind) -> Self {
        Self {
            kind,
            path: None,
            offset: None,
            record: None,
        }
    }

    /// Sets the byte offset.
    #[must_use]
    pub fn at(mut self, offset: u64) -> Self {
        self.offset = Some(offset);
        self
    }

    /// Sets the offset of the record being read.
    #[must_use]
    pub fn record(mut self, offset: u64) -> Self {
        self.record = Some(offset);
        self
    }

    /// Sets the file.
    #[must_use]
    pub fn in_file(mut self, path: &Path) -> Self {
        self.path = Some(path.to_path_buf());
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// Byte offset of the problem (start of the bad line or payload), when known.
    pub fn offset(&self) -> Option<u64> {
        self.offset
    }

    /// Offset of the record that was being read: the input is valid up to there.
    pub fn record_offset(&self) -> Option<u64> {
        self.record
    }

    /// The file, when known.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// True when the input merely ends early (a crash or a full disk while
    /// appending), as opposed to bytes that are wrong.
    pub fn is_truncated(&self) -> bool {
        matches!(self.kind, ErrorKind::Truncated(_))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = &self.path {
            write!(f, "{}: ", p.display())?;
        }
        if let Some(o) = self.offset {
            write!(f, "at byte {o}: ")?;
        }
        write!(f, "{}", self.kind)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ErrorKind::Io(e) => Some(e),
            ErrorKind::Manifest(e) => Some(e),
            _ => None,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Self::new(ErrorKind::Io(e))
    }
}

/// Escapes bytes for an error message: printable ASCII kept, `\r`, `\n`, `\t`,
/// `\\`, `'` escaped, anything else `\xHH`.
pub(crate) fn escape_for_message(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            b'\\' => s.push_str("\\\\"),
            b'\'' => s.push_str("\\'"),
            0x20..=0x7e => s.push(b as char),
            _ => {
                let _ = write!(s, "\\x{b:02x}");
            }
        }
    }
    s
}
