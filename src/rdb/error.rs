//! [`Error`]: every failure of the RDB reader, with the byte offset where it was
//! found and, when it happened inside a key, the db, key and type.

use std::fmt;

use crate::io::SourceError;

/// What went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input ended early.
    #[error("unexpected end of file while reading {reading} ({needed} more bytes needed)")]
    UnexpectedEof {
        /// What was being read.
        reading: &'static str,
        /// Bytes missing (at least).
        needed: u64,
    },
    /// The operating system reported an error.
    #[error("read error: {0}")]
    Io(#[source] std::io::Error),
    /// The file does not start with `REDIS` + 4 digits or `VALKEY` + 3 digits.
    #[error("not an RDB file: bad magic {}", crate::rdb::escape_short(.0))]
    BadMagic(Vec<u8>),
    /// A version this reader does not know.
    #[error("unsupported RDB version {version} (newest supported: {newest})")]
    UnsupportedVersion {
        /// The version in the header.
        version: u32,
        /// The newest version supported for this magic.
        newest: u32,
    },
    /// A type byte that is not a known value type for this file's format.
    #[error(
        "invalid or unsupported type byte {rdb_type} ({name}) in RDB version {version}: \
         the file may be corrupt or written by a newer server than this tool knows"
    )]
    UnsupportedType {
        /// The type byte.
        rdb_type: u8,
        /// A name for it, or `unknown`.
        name: &'static str,
        /// The file's RDB version.
        version: u32,
    },
    /// An opcode this reader does not know (0xF0..0xF3 outside the formats and
    /// versions that define them): a byte no released server writes there, in
    /// the range where a newer server's opcodes go, so unsupported rather than
    /// corrupt.
    #[error(
        "unsupported opcode 0x{0:02x} (not written by any server this tool knows; a newer server may write it)"
    )]
    UnknownOpcode(u8),
    /// A length prefix with an invalid first byte.
    #[error("invalid length encoding 0x{0:02x}")]
    BadLength(u8),
    /// A length larger than what is left of the input.
    #[error(
        "length {len} of {reading} exceeds the {remaining} bytes left in the file (truncated file or corrupt length)"
    )]
    LengthTooLarge {
        /// What was being read.
        reading: &'static str,
        /// The declared length.
        len: u64,
        /// Bytes left.
        remaining: u64,
    },
    /// A string with an invalid special encoding byte.
    #[error("unknown string encoding 0x{0:02x}")]
    BadStringEncoding(u8),
    /// An LZF-compressed string that does not decompress.
    #[error("invalid LZF compressed string: {0}")]
    Lzf(String),
    /// The CRC-64 trailer does not match the file's content.
    #[error("checksum mismatch: the file says {stored:016x} but its content gives {computed:016x}")]
    ChecksumMismatch {
        /// The stored value.
        stored: u64,
        /// The computed value.
        computed: u64,
    },
    /// A structural problem inside a value (listpack, ziplist, intset, zipmap,
    /// stream, module data, duplicates, scores, …).
    #[error("{0}")]
    Corrupt(String),
}

impl ErrorKind {
    /// True when the error belongs to the database being read (so a message
    /// may name it); false for what concerns the whole file: its header, its
    /// checksum trailer, an I/O error.
    pub fn is_within_db(&self) -> bool {
        !matches!(
            self,
            ErrorKind::BadMagic(_)
                | ErrorKind::ChecksumMismatch { .. }
                | ErrorKind::Io(_)
                | ErrorKind::UnsupportedVersion { .. }
        ) && !matches!(self, ErrorKind::UnexpectedEof { reading, .. } if reading.contains("header"))
    }

    /// True when the input may be valid for a newer server than this tool
    /// knows: a newer RDB version, an unknown type byte, an unknown opcode in
    /// the range newer servers use. Such input is "unsupported", never
    /// reported as corrupt.
    pub fn is_unsupported(&self) -> bool {
        match self {
            ErrorKind::UnsupportedVersion { version, newest } => version > newest,
            ErrorKind::UnsupportedType { .. } | ErrorKind::UnknownOpcode(_) => true,
            _ => false,
        }
    }
}

/// Where inside a key an error happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyContext {
    /// Database index.
    pub db: u64,
    /// The key (exact bytes).
    pub key: Vec<u8>,
    /// The RDB type byte of the value.
    pub rdb_type: u8,
    /// The file's format (Valkey 9 gives type 22 another meaning).
    pub format: crate::rdb::types::Format,
}

/// An RDB reading error: a kind, the absolute byte offset, and the key context.
#[derive(Debug)]
pub struct Error {
    inner: Box<Inner>,
}

#[derive(Debug)]
struct Inner {
    offset: u64,
    kind: ErrorKind,
    key: Option<KeyContext>,
    db: Option<u64>,
    within: Option<String>,
}

impl Error {
    /// A new error at `offset`.
    pub fn new(offset: u64, kind: ErrorKind) -> Self {
        Self {
            inner: Box::new(Inner {
                offset,
                kind,
                key: None,
                db: None,
                within: None,
            }),
        }
    }

    /// A [`ErrorKind::Corrupt`] error.
    pub fn corrupt(offset: u64, msg: impl Into<String>) -> Self {
        Self::new(offset, ErrorKind::Corrupt(msg.into()))
    }

    pub(crate) fn from_source(offset: u64, e: SourceError, reading: &'static str) -> Self {
        match e {
            SourceError::Eof { needed } => {
                Self::new(offset, ErrorKind::UnexpectedEof { reading, needed })
            }
            SourceError::Io(e) => Self::new(offset, ErrorKind::Io(e)),
        }
    }

    #[must_use]
    pub(crate) fn with_key(mut self, ctx: KeyContext) -> Self {
        if self.inner.key.is_none() {
            self.inner.db = Some(ctx.db);
            self.inner.key = Some(ctx);
        }
        self
    }

    #[must_use]
    pub(crate) fn with_db(mut self, db: u64) -> Self {
        if self.inner.db.is_none() {
            self.inner.db = Some(db);
        }
        self
    }

    /// Adds what was being read ("listpack entry 17", "consumer group 2").
    #[must_use]
    pub(crate) fn within(mut self, what: impl Into<String>) -> Self {
        let what = what.into();
        self.inner.within = Some(match self.inner.within.take() {
            Some(inner) => format!("{what}, {inner}"),
            None => what,
        });
        self
    }

    /// Absolute byte offset where the problem was found.
    pub fn offset(&self) -> u64 {
        self.inner.offset
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.inner.kind
    }

    /// The key being read, if any.
    pub fn key(&self) -> Option<&KeyContext> {
        self.inner.key.as_ref()
    }

    /// The database the error belongs to, if known: none for what concerns
    /// the whole file (its header, its checksum trailer, an I/O error), even
    /// when it was met while a database was being read.
    pub fn db(&self) -> Option<u64> {
        self.inner.db.filter(|_| self.inner.kind.is_within_db())
    }

    /// What part of a value was being read, if known.
    pub fn context(&self) -> Option<&str> {
        self.inner.within.as_deref()
    }

    /// The message without offset and key (the kind, plus what was being read).
    pub fn message(&self) -> String {
        match &self.inner.within {
            Some(w) => format!("{w}: {}", self.inner.kind),
            None => self.inner.kind.to_string(),
        }
    }

    /// True when the input may be valid for a newer server than this tool
    /// knows ([`ErrorKind::is_unsupported`]).
    pub fn is_unsupported(&self) -> bool {
        self.inner.kind.is_unsupported()
    }

    /// True when the input ended early (a truncated file).
    pub fn is_eof(&self) -> bool {
        matches!(self.inner.kind, ErrorKind::UnexpectedEof { .. })
    }

    /// True when the input ended early or a length runs past the end of the
    /// input (which is what a truncated file looks like).
    pub fn is_truncation(&self) -> bool {
        matches!(
            self.inner.kind,
            ErrorKind::UnexpectedEof { .. } | ErrorKind::LengthTooLarge { .. }
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}", self.inner.offset)?;
        if let Some(k) = &self.inner.key {
            write!(
                f,
                " (db {}, key \"{}\", type {} {})",
                k.db,
                crate::rdb::escape_short(&k.key),
                k.rdb_type,
                crate::rdb::types::type_name_in(k.format, k.rdb_type)
            )?;
        } else if let Some(db) = self.db() {
            write!(f, " (db {db})")?;
        }
        write!(f, ": {}", self.message())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.inner.kind {
            ErrorKind::Io(e) => Some(e),
            _ => None,
        }
    }
}
