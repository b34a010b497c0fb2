//! Whole AOF inputs as `check-aof` sees them on disk: a multi-part directory
//! (manifest, BASE and INCR files; RDB or RESP base) or a single file (RESP or
//! hybrid), checked, and the `--fix` plan applied with the library's backup and
//! truncation. What must hold: no panic; a cut stays within the file it names;
//! the backup holds the original bytes; the file keeps exactly the bytes before
//! the cut; no other file changes; checked again, the input has nothing left
//! to cut.
//!
//! Input layout: parts separated by `\n--8<--\n`. The first part is the
//! manifest; the next ones are written as `appendonly.aof.1.base.rdb`,
//! `appendonly.aof.1.base.aof`, `appendonly.aof.1.incr.aof` and
//! `appendonly.aof.2.incr.aof` (the manifest says which are used). An empty
//! first part means a single file: the second part is checked as
//! `appendonly.aof` on its own.
#![no_main]

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use libfuzzer_sys::fuzz_target;
use redis_persist::aof::check::{FixPlan, InputReport, Options, check_input};
use redis_persist::aof::resolve;
use redis_persist::aof::repair::{Identity, NoHook, truncate, write_backup};

const SEP: &[u8] = b"\n--8<--\n";
const NAMES: [&str; 4] = [
    "appendonly.aof.1.base.rdb",
    "appendonly.aof.1.base.aof",
    "appendonly.aof.1.incr.aof",
    "appendonly.aof.2.incr.aof",
];

fn split(data: &[u8]) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    let mut rest = data;
    while let Some(i) = rest.windows(SEP.len()).position(|w| w == SEP) {
        parts.push(&rest[..i]);
        rest = &rest[i + SEP.len()..];
    }
    parts.push(rest);
    parts
}

/// A fresh directory in memory-backed storage when there is one.
fn scratch() -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let base = if Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let d = base.join(format!(
        "rp-fuzz-aof-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

fn files_in(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut v: Vec<(PathBuf, Vec<u8>)> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let b = fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    v.sort();
    v
}

fn check(path: &Path) -> Option<InputReport> {
    let resolved = resolve(path).ok()?;
    check_input(&resolved, &Options::default()).ok()
}

fn run(dir: &Path, target: &Path) {
    let Some(report) = check(target) else { return };
    // Every view of the report must be computable.
    let _ = report.findings(true);
    let _ = report.is_ok(false);
    let _ = report.timestamp_plan();
    let FixPlan::Cut { file, from, to, .. } = report.fix_plan() else {
        return;
    };
    let path = report.files[file].path.clone();
    // The manifest names files by base name: a cut is always in the directory.
    assert_eq!(path.parent(), Some(dir), "cut outside the input: {path:?}");
    let before = files_in(dir);
    let original = fs::read(&path).unwrap();
    assert_eq!(from, original.len() as u64, "the plan's size is the file's");
    assert!(to <= from, "cut to {to} past the end {from}");
    let identity = Identity::of(&path).unwrap();
    let backup_dir = dir.with_extension("bak");
    fs::create_dir_all(&backup_dir).unwrap();
    let backup = write_backup(&path, &identity, &backup_dir.join("b"), &NoHook).unwrap();
    assert_eq!(fs::read(&backup.path).unwrap(), original, "backup bytes");
    truncate(&path, &identity, to, &NoHook).unwrap();
    let _ = fs::remove_dir_all(&backup_dir);
    for (p, bytes) in &before {
        let now = fs::read(p).unwrap();
        if *p == path {
            assert_eq!(now, original[..to as usize], "the cut file keeps its prefix");
        } else {
            assert_eq!(&now, bytes, "{p:?} changed");
        }
    }
    let again = check(target).expect("the fixed input checks");
    let plan = again.fix_plan();
    assert!(
        !matches!(plan, FixPlan::Cut { .. }),
        "a second --fix would cut again: {plan:?}"
    );
}

fuzz_target!(|data: &[u8]| {
    let parts = split(data);
    let dir = scratch();
    if parts[0].is_empty() {
        let single = dir.join("appendonly.aof");
        fs::write(&single, parts.get(1).copied().unwrap_or_default()).unwrap();
        run(&dir, &single);
    } else {
        fs::write(dir.join("appendonly.aof.manifest"), parts[0]).unwrap();
        for (name, bytes) in NAMES.iter().zip(&parts[1..]) {
            fs::write(dir.join(name), bytes).unwrap();
        }
        run(&dir, &dir);
    }
    let _ = fs::remove_dir_all(&dir);
});
