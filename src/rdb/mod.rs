//! The streaming RDB reader, for every RDB version Redis and Valkey write
//! (FORMATS.md §1), plus the DUMP payload decoder and the RDB writer.
//!
//! * [`Reader`] — pull-style events ([`Event`]) with byte offsets, deep
//!   validation and CRC-64 verification, in bounded memory;
//! * [`Entries`] — a convenience layer assembling whole [`crate::model::Entry`]
//!   values from the events;
//! * [`check`] — folds events into a [`check::Report`] (what `check-rdb` prints);
//! * [`payload`] — DUMP / RESTORE payloads;
//! * [`writer`] — writing RDB files.
//!
//! Supported: `REDIS` magic versions 1–12 fully, 13 (Redis 8.6) including the
//! stream type 26 with its IDMP state, except the undocumented Redis 8.8 stream
//! type 27; `VALKEY` magic versions 80–81 except the
//! undocumented Valkey 9.2 type 23. The magic, not only the version, decides how
//! type bytes 22/23 and opcode 0xF3 are read. Anything else is a clear
//! "unsupported" error, never a misparse.

pub mod check;
pub mod compact;
pub mod dups;
mod entries;
mod error;
pub mod lzf;
pub mod parallel;
pub mod payload;
mod reader;
pub mod rewrite;
pub mod salvage;
pub mod speculative;
pub mod str;
pub mod target;
pub mod types;
pub mod vectorset;
pub mod writer;

pub use entries::{Entries, Item, new_group, push_group_element, push_stream_element};
pub use error::{Error, ErrorKind, KeyContext};
pub use reader::{
    Checksum, EB_EXPIRE_TIME_MAX, Element, Event, KeyEnd, KeyInfo, KeyMetaClass, ModuleRef,
    Options, PendingRef, Reader, StreamConsumerRef, StreamEntryRef, StreamGroupRef, StreamIdmpMeta,
    StreamMeta, StreamProducerRef,
};
pub use str::Str;

/// True when `head` starts like an RDB file (`REDIS` or `VALKEY` magic).
pub fn is_rdb_magic(head: &[u8]) -> bool {
    head.starts_with(b"REDIS") || head.starts_with(b"VALKEY")
}

/// A short, escaped rendering of bytes for error messages (at most 64 bytes).
pub(crate) fn escape_short(b: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    for chunk in b[..b.len().min(64)].utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => s.push_str("\\\""),
                '\\' => s.push_str("\\\\"),
                c if c.is_control() => {
                    let _ = write!(s, "\\x{:02x}", c as u32);
                }
                c => s.push(c),
            }
        }
        for byte in chunk.invalid() {
            let _ = write!(s, "\\x{byte:02x}");
        }
    }
    if b.len() > 64 {
        s.push_str("...");
    }
    s
}
