//! Every reading path over one RDB held in memory, and how they must agree.
//!
//! Shared by the mutation sweep (`tests/it/rdb_mutations.rs`) and the fuzz
//! targets (`fuzz/fuzz_targets/rdb_read.rs` includes this file by path), so it
//! uses nothing but the library: the sequential check, the walk-first parallel
//! check (streamed and mapped), the guessed chunks, the entries adaptor
//! (`dump`) and the statistics (`stats --deep`).

use redis_persist::io::Source;
use redis_persist::rdb::check::{self, CheckOptions, Report};
use redis_persist::rdb::parallel::Mapped;
use redis_persist::rdb::{Entries, Reader};

/// `stats --deep` of an RDB held in memory, on 2 threads with chunks of
/// `chunk_size` bytes.
pub fn stats_deep(bytes: &[u8], chunk_size: u64) -> redis_persist::stats::rdb::Analysis {
    let settings = redis_persist::stats::rdb::Settings {
        threads: 2,
        chunk_size,
        deep: true,
        ..Default::default()
    };
    redis_persist::stats::rdb::analyze(
        redis_persist::io::Source::new(bytes).with_size(bytes.len() as u64),
        &redis_persist::stats::Options::default(),
        settings,
    )
    .0
}

/// Rewrites the CRC-64 trailer of an RDB file to match its bytes, unless the
/// trailer is zero (a file written without a checksum) or there is none.
pub fn fix_crc_trailer(b: &mut [u8]) {
    let n = b.len();
    if n >= 9 && b[n - 8..] != [0; 8] {
        let c = redis_persist::io::crc64(&b[..n - 8]);
        b[n - 8..].copy_from_slice(&c.to_le_bytes());
    }
}

/// A source over bytes in memory, with its size known.
pub fn src(b: &[u8]) -> Source<&[u8]> {
    Source::new(b).with_size(b.len() as u64)
}

/// The first problem of a report, for messages.
pub fn first_error(r: &Report) -> String {
    r.first_error()
        .map_or_else(|| "-".into(), |p| format!("{} at {}", p.message, p.offset))
}

/// Every path over `bytes`; the disagreements found (empty when none).
pub fn disagreements(bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let len = bytes.len() as u64;
    let opts = CheckOptions {
        now_ms: 0,
        chunk_size: 512,
        ..CheckOptions::default()
    };
    let seq = check::check(Reader::new(src(bytes)), opts).0;
    let par = check::check_parallel(src(bytes), opts, 3).0;
    let mapped = Mapped {
        data: bytes,
        release: &|_| {},
        pages: None,
    };
    let mapped_rep = check::check_parallel_in(src(bytes), Some(mapped), opts, 3).0;
    let guessed = check::check_guessed(mapped, opts, 3);
    if seq.is_ok() != par.is_ok() {
        out.push(format!(
            "sequential ({}) and parallel ({}) verdicts differ",
            first_error(&seq),
            first_error(&par)
        ));
    }
    if seq.is_ok() && (seq.keys, &seq.dbs, &seq.aux) != (par.keys, &par.dbs, &par.aux) {
        out.push("sequential and parallel counts differ".into());
    }
    if format!("{mapped_rep:?}") != format!("{par:?}") {
        out.push("the mapped report differs from the streamed one".into());
    }
    match &guessed {
        Some(g) if format!("{g:?}") != format!("{par:?}") => {
            out.push("the guessed report differs from the walk's".into());
        }
        // No keys: the guessed path declines and the walk reports.
        None if par.is_ok() && par.keys > 0 => {
            out.push("a valid file with keys got no guessed report".into());
        }
        _ => {}
    }
    for (what, r) in [("sequential", &seq), ("parallel", &par)] {
        if let Some(p) = r.first_error() {
            if p.offset > len || p.message.is_empty() {
                out.push(format!("{what}: bad problem {p:?}"));
            }
        }
    }
    // dump's adaptor reads every key of a file the check finds valid.
    let mut e = Entries::new(Reader::new(src(bytes)));
    let dump_error = loop {
        match e.next_item() {
            Ok(Some(_)) => {}
            Ok(None) => break None,
            Err(err) => break Some(err.to_string()),
        }
    };
    if let (true, Some(d)) = (seq.is_ok(), &dump_error) {
        out.push(format!("valid for check, dump fails: {d}"));
    }
    // stats --deep reads the whole of a valid file, and stops where the check
    // finds a value or the framing broken (the check's own judgements of a
    // readable file, empty and duplicate keys, are not the statistics').
    let an = stats_deep(bytes, 700);
    if seq.is_ok() && !an.is_complete() {
        out.push(format!(
            "valid for check, stats incomplete: {:?}",
            an.problems.first()
        ));
    }
    let judgement = |m: &str| m.contains("Redis skips such keys") || m.contains("duplicate key");
    if an.is_complete() && seq.first_error().is_some_and(|p| !judgement(&p.message)) {
        out.push(format!(
            "broken for check ({}), stats complete",
            first_error(&seq)
        ));
    }
    out
}
