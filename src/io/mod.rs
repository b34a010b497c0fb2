//! Input plumbing shared by the RDB and AOF readers: a buffered [`Source`] that knows
//! the absolute byte offset of everything it hands out, optionally computes the
//! CRC-64 of the consumed bytes, and reports progress through the [`Progress`] trait.

mod crc;
mod source;

pub use crc::{Crc64, crc64};
pub use source::{Input, MAX_SLICE, Memory, Progress, Source, SourceError};

/// The directory a path is in (`.` for a bare name).
pub fn parent_dir(p: &std::path::Path) -> std::path::PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    }
}
