//! Any bytes read as an RDB file by every path the tool has (the sequential
//! check, the walk-first parallel check streamed and mapped, the guessed
//! chunks, `dump`'s entries and `stats --deep`): no panic, no hang, and the
//! agreements `tests/it/rdb_mutations.rs` asserts (same verdict and report from
//! every path, offsets inside the file, dump and stats read a valid file
//! whole). The CRC-64 trailer is recomputed unless it is zero (checksum
//! disabled), so that the deep checks, not the checksum, decide.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/it/common/paths.rs"]
#[allow(dead_code)]
mod paths;

fuzz_target!(|data: &[u8]| {
    let mut bytes = data.to_vec();
    paths::fix_crc_trailer(&mut bytes);
    let d = paths::disagreements(&bytes);
    assert!(d.is_empty(), "{d:#?}");
});
