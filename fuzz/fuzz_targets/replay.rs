//! Any commands replayed by the engine of `convert-aof-to-hybrid`, and the
//! dataset written as an RDB file as the conversion writes it: no panic, the
//! writer accepts what the engine holds, and the file it writes passes
//! `check-rdb` (deep checks included). Input: one command per line, arguments
//! separated by spaces (at most 64 commands; commands with string offsets
//! past 2^23 are skipped, see `huge_offset`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use redis_persist::io::Source;
use redis_persist::rdb::Reader;
use redis_persist::rdb::check::{self, CheckOptions};
use redis_persist::rdb::writer::WriterOptions;
use redis_persist::replay::Engine;

const NOW_MS: i64 = 1_700_000_000_000;

/// A string offset past 2^23 (bytes for `SETRANGE`, bits for `SETBIT` and
/// `BITFIELD`): Redis allows strings up to 512 MB, which we replay too (a
/// release build converts `SETRANGE s 385446640 x` in 0.8 s), but under the
/// sanitizers such a string takes longer than the fuzzer's timeout and
/// teaches it nothing.
fn huge_offset(args: &[&[u8]]) -> bool {
    let name = args[0].to_ascii_lowercase();
    matches!(&name[..], b"setrange" | b"setbit" | b"bitfield")
        && args[1..].iter().any(|a| {
            let digits = a.strip_prefix(b"#").unwrap_or(a);
            std::str::from_utf8(digits)
                .ok()
                .and_then(|t| t.parse::<u64>().ok())
                .is_some_and(|n| n > 1 << 23)
        })
}

fuzz_target!(|data: &[u8]| {
    let mut e = Engine::new();
    e.set_now_ms(NOW_MS);
    for line in data.split(|&b| b == b'\n').take(64) {
        let args: Vec<&[u8]> = line
            .split(|&b| b == b' ')
            .filter(|a| !a.is_empty())
            .collect();
        if !args.is_empty() && !huge_offset(&args) {
            let _ = e.apply(&args);
        }
    }
    let mut ds = e.into_dataset();
    ds.remove_expired(NOW_MS);
    let (version, _) = ds.min_rdb_version();
    let bytes = ds
        .write_rdb(Vec::new(), WriterOptions::for_version(version))
        .expect("the writer refuses what the engine holds");
    let opts = CheckOptions {
        now_ms: NOW_MS,
        ..CheckOptions::default()
    };
    let report = check::check(
        Reader::new(Source::new(&bytes[..]).with_size(bytes.len() as u64)),
        opts,
    )
    .0;
    assert!(
        report.is_ok(),
        "the RDB written is not valid: {:?}",
        report.first_error()
    );
});
