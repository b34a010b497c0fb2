//! Crash safety of `check-aof --fix`: the process is stopped at every step of the
//! repair (aborted there, or paused there and killed with SIGKILL), and killed at
//! arbitrary moments of a long repair. Afterwards the AOF is either the original or
//! the truncated file, a backup under its final name is always complete, a backup
//! that was reported exists and is complete, and running `--fix` again finishes
//! the job.
//!
//! The stops use the test-only `REDIS_PERSIST_TEST_FIX_FAULT=<step>:abort|pause`
//! variable (documented in `src/commands/check_aof.rs`).

#![allow(clippy::print_stderr)]

use crate::aof_support;
use crate::common;

use std::fs;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use aof_support::rs;
use redis_persist::aof::repair::Step;

/// A damaged AOF: `n` commands then a cut-off one. Returns (bytes, valid length).
fn damaged(n: usize, value_len: usize) -> (Vec<u8>, usize) {
    let v = "v".repeat(value_len);
    let mut data = Vec::new();
    for i in 0..n {
        data.extend(rs(&format!("set key:{i} {v}")));
    }
    let good = data.len();
    let mut last = rs("set last value");
    last.truncate(last.len() - 3);
    data.extend(last);
    (data, good)
}

fn spawn_fix(file: &Path, fault: Option<&str>) -> Child {
    let mut c = common::bin();
    c.args(["--no-progress", "check-aof", "--fix", "--yes"])
        .arg(file);
    if let Some(f) = fault {
        c.env("REDIS_PERSIST_TEST_FIX_FAULT", f);
    }
    c.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// What a crash may leave: checks the invariants, returns whether the AOF was
/// already truncated.
fn check_invariants(
    dir: &Path,
    file: &Path,
    orig: &[u8],
    good: usize,
    reported: Option<&str>,
    ctx: &str,
) -> bool {
    let now = fs::read(file).unwrap();
    let truncated = if now == orig {
        false
    } else {
        assert_eq!(
            now,
            orig[..good],
            "{ctx}: the AOF is neither the original nor the truncated file"
        );
        true
    };
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.contains(".bak-") && !name.ends_with(".partial") {
            assert_eq!(
                fs::read(&p).unwrap(),
                orig,
                "{ctx}: backup {name} is not whole"
            );
        }
    }
    if let Some(r) = reported {
        assert_eq!(
            fs::read(r).unwrap(),
            orig,
            "{ctx}: the reported backup {r} is not whole"
        );
    }
    if truncated {
        // Truncation only happens after a complete backup exists.
        let whole = fs::read_dir(dir).unwrap().any(|e| {
            let n = e.unwrap().file_name().to_string_lossy().into_owned();
            n.contains(".bak-") && !n.ends_with(".partial")
        });
        assert!(whole, "{ctx}: truncated without a complete backup");
    }
    truncated
}

/// The `backup written: PATH (N bytes)` line, if the process printed it.
fn reported_backup(stderr: &str) -> Option<String> {
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("backup written: "))
        .map(|rest| rest.rsplit_once(" (").map_or(rest, |x| x.0).to_owned())
}

fn finish_and_verify(dir: &Path, file: &Path, orig: &[u8], good: usize, ctx: &str) {
    let out = spawn_fix(file, None).wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{ctx}: re-running --fix: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        fs::read(file).unwrap(),
        orig[..good],
        "{ctx}: after re-running --fix"
    );
    let _ = dir;
}

#[test]
fn abort_at_every_step() {
    let (orig, good) = damaged(2000, 100);
    for step in Step::ALL {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("appendonly.aof");
        fs::write(&file, &orig).unwrap();
        let out = spawn_fix(&file, Some(&format!("{}:abort", step.name())))
            .wait_with_output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            out.status.code().is_none(),
            "{}: the process should have aborted: {stderr}",
            step.name()
        );
        let reported = reported_backup(&stderr);
        let truncated = check_invariants(
            tmp.path(),
            &file,
            &orig,
            good,
            reported.as_deref(),
            step.name(),
        );
        assert_eq!(
            truncated,
            matches!(step, Step::Truncated | Step::TruncateSynced),
            "{}",
            step.name()
        );
        assert_eq!(
            reported.is_some(),
            matches!(
                step,
                Step::BeforeTruncate | Step::Truncated | Step::TruncateSynced
            ),
            "{}: {stderr}",
            step.name()
        );
        finish_and_verify(tmp.path(), &file, &orig, good, step.name());
    }
}

#[test]
fn sigkill_while_paused_at_every_step() {
    let (orig, good) = damaged(2000, 100);
    for step in Step::ALL {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("appendonly.aof");
        fs::write(&file, &orig).unwrap();
        let mut child = spawn_fix(&file, Some(&format!("{}:pause", step.name())));
        let (_err, seen) = aof_support::wait_paused(&mut child, step.name());
        child.kill().unwrap();
        child.wait().unwrap();
        let reported = reported_backup(&seen);
        check_invariants(
            tmp.path(),
            &file,
            &orig,
            good,
            reported.as_deref(),
            step.name(),
        );
        finish_and_verify(tmp.path(), &file, &orig, good, step.name());
    }
}

#[test]
fn sigkill_at_arbitrary_moments() {
    // A larger file so that the copy takes a while.
    let (orig, good) = damaged(40_000, 500);
    let mut delays: Vec<u64> = (0..12).map(|i| i * 15).collect();
    delays.extend([250, 400, 700]);
    let mut outcomes = [0usize; 2];
    for ms in delays {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("appendonly.aof");
        fs::write(&file, &orig).unwrap();
        let mut child = spawn_fix(&file, None);
        let start = Instant::now();
        while start.elapsed() < Duration::from_millis(ms) {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let _ = child.kill();
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let ctx = format!("killed after {ms} ms");
        let truncated = check_invariants(
            tmp.path(),
            &file,
            &orig,
            good,
            reported_backup(&stderr).as_deref(),
            &ctx,
        );
        outcomes[usize::from(truncated)] += 1;
        finish_and_verify(tmp.path(), &file, &orig, good, &ctx);
    }
    eprintln!("killed before/after the truncation: {outcomes:?}");
    assert!(
        outcomes[0] > 0,
        "some kills must land before the truncation"
    );
}
