//! Input plumbing shared by the RDB and AOF readers: a buffered [`Source`] that knows
//! the absolute byte offset of everything it hands out, optionally computes the
//! CRC-64 of the consumed bytes, and reports progress through the [`Progress`] trait.

mod crc;
mod source;

pub use crc::{Crc64, crc64};
pub use source::{Input, MAX_SLICE, Memory, Progress, Source, SourceError};
