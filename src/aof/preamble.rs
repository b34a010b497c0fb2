//! RDB preambles: detecting a file that starts with an RDB (hybrid AOF, `.base.rdb`)
//! and validating that part with the RDB reader before the RESP tail is read.

use crate::io::{Input, Source, SourceError};
use crate::rdb;

/// Which RDB magic a file starts with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RdbMagic {
    /// `REDIS` (every Redis version, Valkey ≤ 8).
    Redis,
    /// `VALKEY` (Valkey 9+).
    Valkey,
}

/// Looks at the next bytes of `src` without consuming them: `Some` when they are an
/// RDB magic.
///
/// `redis-check-aof` treats a file as RDB-preamble only when it is at least 8 bytes
/// long and starts with `REDIS`; the same rule is used here (a shorter file cannot
/// hold an RDB), extended to the `VALKEY` magic that Valkey 9 loaders recognise.
/// Unlike `redis-check-aof` 7.x, which only looks for a preamble in a BASE or
/// single file, this is meant for every file, as the server loader does.
pub fn detect_rdb_preamble<R: Input>(src: &mut Source<R>) -> Result<Option<RdbMagic>, SourceError> {
    let head = src.fill_buf(9)?;
    if head.len() < 8 {
        return Ok(None);
    }
    Ok(if head.starts_with(b"REDIS") {
        Some(RdbMagic::Redis)
    } else if head.starts_with(b"VALKEY") {
        Some(RdbMagic::Valkey)
    } else {
        None
    })
}

/// Validates the RDB at the current position of `src` (deep, with the checksum)
/// and returns the source positioned right after its trailer with the report. The
/// report's `first_error()` / `is_ok()` say whether it is sane.
pub(crate) fn check_rdb<R: Input>(src: Source<R>) -> (Source<R>, rdb::check::Report) {
    let reader = rdb::Reader::with_options(src, rdb::Options::default());
    let opts = rdb::check::CheckOptions {
        count_trailing: false,
        ..Default::default()
    };
    let (report, reader) = rdb::check::check(reader, opts);
    let mut src = reader.into_source();
    // The reader computes a CRC over what it consumes; the RESP tail needs none.
    src.stop_crc();
    (src, report)
}
