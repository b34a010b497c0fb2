//! Issue 19, "Nothing lost, nothing unbounded": the tool never aborts on an
//! out-of-range setting, never destroys an input by writing over it, never
//! panics on a failed write to its output streams.
#![allow(clippy::print_stderr)]

mod common;

use std::path::{Path, PathBuf};

/// A copy of the small test RDB in `dir`.
fn rdb_copy(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::copy(common::testdata("rdb/redis-7.0-types.rdb"), &p).unwrap();
    p
}

/// `--threads` out of range (0, or more than the tool accepts) is a usage
/// error (exit 2) for every subcommand that has it; it used to abort with
/// exit 134 (`--threads 100000`) when spawning the threads failed.
#[test]
fn threads_out_of_range_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let rdb = rdb_copy(dir.path(), "dump.rdb");
    let rdb = rdb.to_str().unwrap();
    for sub in ["check-rdb", "dump", "stats"] {
        for n in ["0", "100000", "18446744073709551616", "x"] {
            let out = common::run(&[sub, "--threads", n, rdb]);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{sub} --threads {n}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                String::from_utf8_lossy(&out.stderr).contains("--threads"),
                "{sub} --threads {n}: the error names the option"
            );
        }
        // In range: it runs (the file is valid).
        let out = common::run(&[sub, "--threads", "1024", rdb]);
        assert_eq!(out.status.code(), Some(0), "{sub} --threads 1024");
    }
}
